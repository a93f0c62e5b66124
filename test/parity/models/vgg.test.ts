// VGG19 through the .pth importer against PyTorch: python builds torchvision's vgg19 `features` layout with random
// weights, torch.save()s the state dict (with classifier keys, as torchvision's file has) and computes the taps.
import { test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import { loadVgg19 } from '../../../src/models/layers/vgg.js';
import { assertClose, fromWire, runOracle, type WireTensor } from '../../helpers/oracle.js';

test('loadVgg19 reads torch.save(vgg19 state dict) and matches PyTorch at relu1_2, relu2_1, relu3_1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vgg-parity-'));
  const path = join(dir, 'vgg19.pth');
  const x = torch.rand([2, 3, 24, 16]).mul(2).sub(1);
  try {
    const [res] = runOracle([{
      code: `
import collections
torch.manual_seed(0)
cfg = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M']
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
        if i in (3, 6, 11): taps[i] = h
        if i == 11: break
out = {'relu1_2': taps[3], 'relu2_1': taps[6], 'relu3_1': taps[11]}
`,
      inputs: { x },
    }]);
    const vgg = loadVgg19(path, { lastLayer: 'relu3_1' });
    try {
      torch.scope(() => {
        const got = vgg.forward(x, ['relu1_2', 'relu2_1', 'relu3_1']);
        ['relu1_2', 'relu2_1', 'relu3_1'].forEach((name, i) => {
          assertClose(got[i]!, fromWire(res![name] as WireTensor), `VGG19 ${name}`, { atol: 1e-4, rtol: 1e-4 });
        });
      });
    } finally {
      vgg.dispose();
    }
  } finally {
    x.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
