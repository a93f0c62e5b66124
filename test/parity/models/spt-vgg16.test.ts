// SPT's VGG16 front through the .pth importer against PyTorch: python builds torchvision's vgg16 `features` layout
// (configuration 'D') with random weights, torch.save()s its state dict with classifier keys, as torchvision's
// vgg16-397923af.pth has, and computes relu2_1 (the official VGG_multi's features[0:7]) and relu3_3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import { makeVgg16 } from '../../../src/models/spt/index.js';
import { assertClose, fromWire, runOracle, type WireTensor } from '../../helpers/oracle.js';

test('makeVgg16 reads torch.save(vgg16 state dict) and matches PyTorch at relu2_1 and relu3_3', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vgg16-parity-'));
  const path = join(dir, 'vgg16-397923af.pth');
  const x = torch.rand([2, 3, 24, 16]).mul(2).sub(1);
  try {
    const [res] = runOracle([{
      code: `
import collections
torch.manual_seed(0)
cfg = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M']
layers, c = [], 3
for v in cfg:
    if v == 'M':
        layers.append(nn.MaxPool2d(2, 2))
    else:
        layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=False)]
        c = v
features = nn.Sequential(*layers)
sd = collections.OrderedDict(('features.' + k, v) for k, v in features.state_dict().items())
sd['classifier.0.weight'] = torch.randn(4, 8)
torch.save(sd, ${JSON.stringify(path)})
x = inputs['x']
h = ((x + 1) / 2 - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
taps = {}
with torch.no_grad():
    for i, layer in enumerate(features):
        h = layer(h)
        taps[i] = h
        if i == 15: break
out = {'relu2_1': taps[6], 'relu3_3': taps[15]}
`,
      inputs: { x },
    }]);
    const vgg = makeVgg16({ weights: path, layers: ['relu2_1', 'relu3_3'] });
    try {
      torch.scope(() => {
        const [r21, r33] = vgg.forward(x, ['relu2_1', 'relu3_3']) as [torch.Tensor, torch.Tensor];
        assertClose(r21, fromWire(res!.relu2_1 as WireTensor), 'VGG16 relu2_1', { atol: 1e-4 });
        assertClose(r33, fromWire(res!.relu3_3 as WireTensor), 'VGG16 relu3_3', { atol: 1e-4 });
      });
    } finally {
      vgg.dispose();
    }
    assert.throws(() => makeVgg16({ weights: path, layers: ['relu4_1'] }), /beyond relu3_3/);
  } finally {
    x.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
