// PG2's networks against PyTorch functional code written from the official TF graph (models.py, models256.py,
// wgan_gp_128x64.py), fed our state dict by name. This checks the wiring: TF 'SAME' padding, residual adds, which
// skip meets which decoder level, where ReLUs go, G2's skipped full-resolution level, D's norms.
import { test } from 'node:test';
import * as torch from '../../../src/torch/index.js';
import { Pg2Discriminator, Pg2Generator, pg2Defaults } from '../../../src/models/pg2/index.js';
import { assertClose, fromWire, runOracle, type WireTensor } from '../../helpers/oracle.js';

const PY = `
P = {k: v for k, v in inputs.items()}
relu = F.relu
def same(x, name, s=1):
    w, b = P[name + '.weight'], P[name + '.bias']
    k = w.shape[-1]
    def tot(n):
        return max((-(-n // s) - 1) * s + k - n, 0)
    th, tw = tot(x.shape[2]), tot(x.shape[3])
    return F.conv2d(F.pad(x, (tw // 2, tw - tw // 2, th // 2, th - th // 2)), w, b, s)
def up2(x):
    return F.interpolate(x, scale_factor=2, mode='nearest')
def g1(x, pose, R, n, bh, bw):
    h = relu(same(torch.cat([x, pose], 1), 'g1.convIn'))
    enc = []
    for i in range(R):
        res = h
        h = relu(same(relu(same(h, 'g1.enc.%d.conv1' % i)), 'g1.enc.%d.conv2' % i)) + res
        enc.append(h)
        if i < R - 1:
            h = relu(same(h, 'g1.down.%d' % i, 2))
    z = F.linear(h.flatten(1), P['g1.fcEnc.weight'], P['g1.fcEnc.bias'])
    h = F.linear(z, P['g1.fcDec.weight'], P['g1.fcDec.bias']).view(-1, n, bh, bw)
    for i in range(R):
        h = torch.cat([h, enc[R - 1 - i]], 1)
        res = h
        h = relu(same(relu(same(h, 'g1.dec.%d.conv1' % i)), 'g1.dec.%d.conv2' % i)) + res
        if i < R - 1:
            h = relu(same(up2(h), 'g1.up.%d' % i))
    return same(h, 'g1.convOut')
def g2(x, src, R, skip_first):
    h = relu(same(torch.cat([x, src], 1), 'g2.convIn'))
    enc = []
    for i in range(R):
        h = relu(same(relu(same(h, 'g2.enc.%d.conv1' % i)), 'g2.enc.%d.conv2' % i))
        if i > 0 or not skip_first:
            enc.append(h)
        if i < R - 1:
            h = relu(same(h, 'g2.down.%d' % i, 2))
    for i in range(R):
        if (not skip_first) or i < R - 1:
            h = torch.cat([h, enc[-1 - i]], 1)
        h = relu(same(relu(same(h, 'g2.dec.%d.conv1' % i)), 'g2.dec.%d.conv2' % i))
        if i < R - 1:
            h = up2(h)
    return same(h, 'g2.convOut')
def disc(x, L):
    h = x
    for i in range(L):
        h = same(h, 'convs.%d' % i, 2)
        if i > 0:
            j = 'norms.%d.' % (i - 1)
            h = F.batch_norm(h, None, None, P[j + 'weight'], P[j + 'bias'], True, 0.1, 1e-5)
        h = F.leaky_relu(h, 0.2)
    return F.linear(h.flatten(1), P['fc.weight'], P['fc.bias']).view(-1)
`;

for (const skips of ['skipFirst', 'all'] as const) {
  test(`PG2 G1 + G2 (${skips}) match a PyTorch transcription of the TF graph`, () => {
    torch.manualSeed(5);
    const cfg = { ...pg2Defaults('tiny').generator, g2Skips: skips };
    const g = new Pg2Generator({ ...cfg, imageSize: [64, 32] });
    try {
      torch.scope(() => {
        const x = torch.randn([2, 3, 64, 32]);
        const pose = torch.randn([2, 18, 64, 32]);
        const inputs: Record<string, torch.Tensor> = { x, pose };
        for (const [k, v] of g.stateDict()) if (k.startsWith('g')) inputs[k] = v.detach();
        const [res] = runOracle([{
          code: `${PY}
with torch.no_grad():
    o1 = g1(inputs['x'], inputs['pose'], ${cfg.repeatNum}, ${cfg.hidden}, 8, 4)
    o2 = o1 + g2(o1, inputs['x'], ${cfg.repeatNum - 2}, ${skips === 'skipFirst' ? 'True' : 'False'})
out = {'g1': o1, 'g2': o2}`,
          inputs,
        }]);
        const o1 = torch.noGrad(() => g.g1.forward(x, pose));
        assertClose(o1, fromWire(res!.g1 as WireTensor), 'G1', { atol: 1e-4 });
        assertClose(torch.noGrad(() => g.forward(x, pose)), fromWire(res!.g2 as WireTensor), 'G1 + G2', { atol: 1e-4 });
      });
    } finally {
      g.dispose();
    }
  });
}

test('PG2 DCGAN D (training-mode batch norm) matches a PyTorch transcription of tflib DCGANDiscriminator', () => {
  torch.manualSeed(6);
  const d = new Pg2Discriminator({ imageSize: [64, 32], dim: 8, layers: 3 });
  try {
    torch.scope(() => {
      const x = torch.randn([4, 3, 64, 32]);
      const inputs: Record<string, torch.Tensor> = { x };
      for (const [k, v] of d.stateDict()) if (!k.includes('running') && !k.includes('num_batches')) inputs[k] = v.detach();
      const [res] = runOracle([{ code: `${PY}\nwith torch.no_grad():\n    out = {'y': disc(inputs['x'], 3)}`, inputs }]);
      assertClose(torch.noGrad(() => d.forward(x)), fromWire(res!.y as WireTensor), 'D logits', { atol: 1e-4 });
    });
  } finally {
    d.dispose();
  }
});
