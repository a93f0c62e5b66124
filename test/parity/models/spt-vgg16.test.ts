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
# torchvision vgg16 'features': conv indices of configuration D (every conv is followed by a ReLU, 'M' is a pool).
sd, i, c = collections.OrderedDict(), 0, 3
for v in [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M']:
    if v == 'M':
        i += 1
        continue
    sd['features.%d.weight' % i] = torch.randn(v, c, 3, 3) * (2.0 / (9 * c)) ** 0.5
    sd['features.%d.bias' % i] = torch.randn(v) * 0.01
    c, i = v, i + 2
sd['classifier.0.weight'] = torch.randn(4, 8)
torch.save(sd, ${JSON.stringify(path)})
def conv_relu(h, k):
    return F.relu(F.conv2d(h, sd['features.%d.weight' % k], sd['features.%d.bias' % k], padding=1))
x = inputs['x']
h = ((x + 1) / 2 - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
with torch.no_grad():
    relu2_1 = conv_relu(F.max_pool2d(conv_relu(conv_relu(h, 0), 2), 2), 5)
    relu3_3 = conv_relu(conv_relu(conv_relu(F.max_pool2d(conv_relu(relu2_1, 7), 2), 10), 12), 14)
out = {'relu2_1': relu2_1, 'relu3_3': relu3_3}
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
