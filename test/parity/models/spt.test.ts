// SPT's networks and gradient-carrying losses against PyTorch, fed our state dicts by name:
// - the appearance generator against a transcription of the official Global_Generator (GlobalLocalPRDemo_models.py:
//   Block = activation, conv, InstanceNorm3d(1, eps 1e-3, affine) i.e. per-sample norm over (C,H,W) with a scalar
//   affine; streams cat(image, parsing, pose) and cat(target pose, target parsing); masked part warps on the first
//   skips), at the frame's resolution (the official global generator's last nearest x2 upsampling is the global-local
//   split we do not build); masks are resized by nearest neighbour (the official cv2.resize is bilinear);
// - the discriminators against the official NLayerDiscriminator (networks.py) with InstanceNorm2d(affine=False);
// - the semantic generator and the pose estimator (our designs) against functional transcriptions;
// - masked cross-entropy, the region Gram style loss (official patch_gram_matrix and loss_patch_style) and the pose
//   loss, values and gradients.
import { test } from 'node:test';
import * as torch from '../../../src/torch/index.js';
import { AppearanceGenerator, PatchDiscriminator, discriminatorLoss, PoseEstimator, SemanticGenerator, maskedCrossEntropy, poseLoss, sptDefaults, styleLoss } from '../../../src/models/spt/index.js';
import { assertClose, fromWire, runOracle, type WireTensor } from '../../helpers/oracle.js';

const PY = `
P = inputs
def inorm(x):
    return F.instance_norm(x, eps=1e-5)
def rconv(x, name, k):
    p = k // 2
    return F.conv2d(F.pad(x, (p, p, p, p), mode='reflect'), P[name + '.weight'], P[name + '.bias'])
def sconv(x, name):
    return F.conv2d(x, P[name + '.weight'], P[name + '.bias'], 2, 1)
def upconv(x, name):
    return F.conv_transpose2d(x, P[name + '.weight'], P[name + '.bias'], 2, 1, 1)
def res(x, name):
    h = F.relu(inorm(rconv(x, name + '.conv1.conv', 3)))
    return x + inorm(rconv(h, name + '.conv2', 3))
def semantic(x, downs, blocks):
    skips = [F.relu(inorm(rconv(x, 'stem.conv', 7)))]
    for i in range(downs):
        skips.append(F.relu(inorm(sconv(skips[-1], 'downs.%d.conv' % i))))
    h = skips[-1]
    for i in range(blocks):
        h = res(h, 'blocks.%d' % i)
    for j in range(downs):
        inp = h if j == 0 else torch.cat([h, skips[-1 - j]], 1)
        h = F.relu(inorm(upconv(inp, 'ups.%d.conv' % j)))
    return rconv(torch.cat([h, skips[0]], 1), 'head', 7)
def estimator(x, blocks):
    h = F.relu(inorm(rconv(x, 'stem.conv', 7)))
    for i in range(2):
        h = F.relu(inorm(sconv(h, 'downs.%d.conv' % i)))
    for i in range(blocks):
        h = res(h, 'blocks.%d' % i)
    for i in range(2):
        h = F.relu(inorm(upconv(h, 'ups.%d.conv' % i)))
    return torch.sigmoid(rconv(h, 'head', 7))
def nlayer(x, layers):
    h = F.leaky_relu(F.conv2d(x, P['convs.0.weight'], P['convs.0.bias'], 2, 1), 0.2)
    for i in range(1, layers + 1):
        s = 2 if i < layers else 1
        h = F.leaky_relu(inorm(F.conv2d(h, P['convs.%d.weight' % i], P['convs.%d.bias' % i], s, 1)), 0.2)
    return F.conv2d(h, P['convs.%d.weight' % (layers + 1)], P['convs.%d.bias' % (layers + 1)], 1, 1)
def snorm(x, name):
    # the official Block's InstanceNorm3d(1, eps=1e-3, affine=True) on x.unsqueeze(1)
    return F.instance_norm(x.unsqueeze(1), weight=P[name + '.weight'], bias=P[name + '.bias'], eps=1e-3).squeeze(1)
def block_down(x, name, bn):
    h = F.conv2d(F.leaky_relu(x, 0.2), P[name + '.conv.weight'], None, 2, 1)
    return snorm(h, name + '.norm') if bn else h
def block_up(x, name):
    # ConvTranspose2d(k4, s2) then Cropping2D(1) = padding 1
    return snorm(F.conv_transpose2d(F.relu(x), P[name + '.conv.weight'], None, 2, 1), name + '.norm')
def encoder(x, name, L):
    out = [F.conv2d(x, P[name + '.convIn.weight'], P[name + '.convIn.bias'], 1, 1)]
    for i in range(1, L):
        out.append(block_down(out[-1], '%s.blocks.%d' % (name, i - 1), i != L - 1))
    return out
def warp(f, theta, masks):
    n, c, h, w = f.shape
    k = theta.shape[1]
    g = F.affine_grid(theta.reshape(n * k, 2, 3), [n * k, c, h, w], align_corners=False)
    y = F.grid_sample(f.unsqueeze(1).repeat(1, k, 1, 1, 1).view(n * k, c, h, w), g, align_corners=False)
    m = F.interpolate(masks, size=(h, w), mode='nearest').unsqueeze(2)
    return torch.max(y.view(n, k, c, h, w) * m, 1)[0]
def global_generator(img, pa, posea, pb, poseb, theta, masks, L, nwarp):
    app = encoder(torch.cat([img, pa, posea], 1), 'net.encoderApp', L)
    pose = encoder(torch.cat([poseb, pb], 1), 'net.encoderPose', L)
    skips = [torch.cat([warp(a, theta, masks) if i < nwarp else a, p], 1) for i, (a, p) in enumerate(zip(app, pose))]
    out = block_up(skips[-1], 'net.decoder.0')
    for i in range(1, L - 1):
        out = block_up(torch.cat([out, skips[-(i + 1)]], 1), 'net.decoder.%d' % i)
    out = F.conv2d(F.relu(torch.cat([out, skips[0]], 1)), P['net.convOut.weight'], P['net.convOut.bias'], 1, 1)
    return torch.tanh(out)
`;

/** The module's state dict as oracle inputs (plus extra named inputs). */
function withState(m: torch.nn.Module, extra: Record<string, torch.Tensor>): Record<string, torch.Tensor> {
  const out: Record<string, torch.Tensor> = { ...extra };
  for (const [k, v] of m.stateDict()) if (!k.includes('running') && !k.includes('num_batches')) out[k] = v.detach();
  return out;
}

/** Random biases and norm scalars, so that a misplaced bias or norm shows. */
function perturb(m: torch.nn.Module): void {
  torch.noGrad(() => {
    for (const [k, v] of m.stateDict()) {
      if (k.endsWith('.bias')) v.copy_(torch.randn(v.shape as number[]).mul(0.1));
      if (k.includes('norm') && k.endsWith('.weight')) v.copy_(torch.randn(v.shape as number[]).mul(0.3).add(1));
    }
  });
}

test('SPT appearance generator (eval) matches a transcription of the official Global_Generator', () => {
  torch.manualSeed(21);
  const cfg = sptDefaults('tiny').generator.appearance;
  const g = new AppearanceGenerator(cfg).eval();
  try {
    perturb(g);
    torch.scope(() => {
      const [n, h, w] = [2, 64, 32];
      const x = {
        image: torch.randn([n, 3, h, w]), parsingA: torch.rand([n, 9, h, w]), parsingB: torch.rand([n, 9, h, w]),
        poseA: torch.rand([n, 18, h, w]), poseB: torch.rand([n, 18, h, w]),
        affines: torch.eye(2, 3).view([1, 1, 2, 3]).add(torch.rand([n, 10, 2, 3]).sub(0.5).mul(0.4)),
        masks: torch.rand([n, 10, h, w]).gt(0.3).to('float32'),
      };
      const inputs = withState(g, { img: x.image, pa: x.parsingA, pb: x.parsingB, posea: x.poseA, poseb: x.poseB, theta: x.affines, masks: x.masks });
      const [res] = runOracle([{
        code: `${PY}\nwith torch.no_grad():\n    out = {'y': global_generator(P['img'], P['pa'], P['posea'], P['pb'], P['poseb'], P['theta'], P['masks'], ${cfg.encoderChannels.length}, ${cfg.deformableSkips})}`,
        inputs,
      }]);
      assertClose(torch.noGrad(() => g.forward(x)), fromWire(res!.y as WireTensor), 'G_A', { atol: 1e-4 });
    });
  } finally {
    g.dispose();
  }
});

test('SPT semantic generator matches its functional transcription, at the network size and through predict() (scale 2)', () => {
  torch.manualSeed(22);
  const o = { ngf: 8, downs: 2, blocks: 2, scale: 2 };
  const g = new SemanticGenerator(o);
  try {
    perturb(g);
    torch.scope(() => {
      const hot = torch.oneHot(torch.randint(0, 10, [2, 32, 16]), 10).permute([0, 3, 1, 2]).to('float32');
      const [pa, pb] = [torch.rand([2, 18, 32, 16]), torch.rand([2, 18, 32, 16])];
      const [ma, mb] = [torch.rand([2, 1, 32, 16]).gt(0.5).to('float32'), torch.rand([2, 1, 32, 16]).gt(0.5).to('float32')];
      const x = torch.cat([hot, pa, ma, pb, mb], 1);
      const [res] = runOracle([{
        code: `${PY}
with torch.no_grad():
    y = semantic(P['x'], ${o.downs}, ${o.blocks})
    z = F.interpolate(semantic(F.avg_pool2d(P['x'], 2, 2), ${o.downs}, ${o.blocks}), size=(32, 16), mode='bilinear', align_corners=False)
out = {'y': y, 'z': z}`,
        inputs: withState(g, { x }),
      }]);
      assertClose(torch.noGrad(() => g.forward(x)), fromWire(res!.y as WireTensor), 'G_S logits', { atol: 1e-4 });
      assertClose(torch.noGrad(() => g.predict(hot, pa, ma, pb, mb)), fromWire(res!.z as WireTensor), 'G_S predict (scale 2)', { atol: 1e-4 });
    });
  } finally {
    g.dispose();
  }
});

test('SPT pose estimator and PatchGAN discriminators match their PyTorch transcriptions', () => {
  torch.manualSeed(23);
  const est = new PoseEstimator(4, 2);
  const ds = [new PatchDiscriminator(12, 8, 2), new PatchDiscriminator(3, 8, 1), new PatchDiscriminator(28, 8, 3)];
  try {
    perturb(est);
    for (const d of ds) perturb(d);
    torch.scope(() => {
      const img = torch.randn([2, 3, 32, 16]);
      const cases = [{ code: `${PY}\nwith torch.no_grad():\n    out = {'y': estimator(P['x'], 2)}`, inputs: withState(est, { x: img }) }];
      const xs = [torch.randn([2, 12, 64, 32]), torch.randn([2, 3, 16, 16]), torch.randn([2, 28, 64, 32])];
      ds.forEach((d, i) => cases.push({ code: `${PY}\nwith torch.no_grad():\n    out = {'y': nlayer(P['x'], ${d.layers})}`, inputs: withState(d, { x: xs[i] as torch.Tensor }) }));
      const res = runOracle(cases);
      assertClose(torch.noGrad(() => est.forward(img)), fromWire(res[0]!.y as WireTensor), 'pose estimator', { atol: 1e-5 });
      ds.forEach((d, i) => assertClose(torch.noGrad(() => d.forward(xs[i] as torch.Tensor)), fromWire(res[i + 1]!.y as WireTensor), `PatchGAN (${d.layers} layers)`, { atol: 1e-5 }));
    });
  } finally {
    est.dispose();
    for (const d of ds) d.dispose();
  }
});

test('SPT losses: masked cross-entropy, the official region-Gram style loss, the pose loss and LSGAN, values and gradients', () => {
  torch.manualSeed(24);
  torch.scope(() => {
    const logits = torch.randn([2, 10, 8, 6]);
    const target = torch.randint(0, 10, [2, 8, 6]);
    const mask = torch.rand([2, 1, 8, 6]).gt(0.4).to('float32');
    const [fB, rA, fA] = [torch.randn([2, 5, 8, 6]), torch.randn([2, 5, 8, 6]), torch.randn([2, 5, 8, 6])];
    // Region maps with one region absent from A in sample 0, so the visibility switch matters.
    const regB = torch.rand([2, 4, 8, 6]);
    const regA = torch.rand([2, 4, 8, 6]).mul(torch.tensor([0, 1, 1, 1, 1, 1, 1, 1], [2, 4, 1, 1]));
    const [hA, hB, pA, pB] = [torch.rand([2, 18, 8, 6]), torch.rand([2, 18, 8, 6]), torch.rand([2, 18, 8, 6]), torch.rand([2, 18, 8, 6])];
    const [dR, dF] = [torch.randn([2, 1, 5, 3]), torch.randn([2, 1, 5, 3])];
    const [res] = runOracle([{
      code: `
logits, target, mask = inputs['logits'], inputs['target'], inputs['mask']
ce = (F.cross_entropy(logits, target, reduction='none') * mask[:, 0]).sum() / mask.sum().clamp(min=1)
def gram(x):
    a, b, c, d = x.size()
    f = x.view(a, b, c * d)
    return torch.bmm(f, f.transpose(2, 1)).div(c * d)
def patch_gram(x, regions):
    n, k, c, d = regions.size()
    a, b = x.size(0), x.size(1)
    out = []
    for i in range(k):
        m = regions[:, i].reshape(n, 1, c * d)
        out.append(gram((m * x.reshape(a, b, c * d)).view(a, b, c, d)))
    return torch.cat([g.unsqueeze(1) for g in out], 1)
fB, rA, fA, regB, regA = inputs['fB'], inputs['rA'], inputs['fA'], inputs['regB'], inputs['regA']
vis = torch.max(torch.max(regA, 2, True)[0], 3, True)[0] * torch.max(torch.max(regB, 2, True)[0], 3, True)[0]
s1 = F.mse_loss(vis * patch_gram(fB, regB), vis * patch_gram(rA, regA))
s2 = ((vis * patch_gram(fA, regA) - vis * patch_gram(fB, regB)) ** 2).mean()
style = s1 + s2
pose = F.mse_loss(inputs['hA'], inputs['pA']) + F.mse_loss(inputs['hB'], inputs['pB'])
# networks.GANLoss(use_lsgan=True) and backward_D_basic's (real + fake) * 0.5
gan = F.mse_loss(inputs['dR'], torch.ones_like(inputs['dR'])) * 0.5 + F.mse_loss(inputs['dF'], torch.zeros_like(inputs['dF'])) * 0.5
(ce + style + pose + gan).backward()
out = {'ce': ce.detach(), 'style': style.detach(), 'pose': pose.detach(), 'gan': gan.detach(), 'g_logits': logits.grad, 'g_fB': fB.grad, 'g_fA': fA.grad, 'g_hA': inputs['hA'].grad, 'g_dF': inputs['dF'].grad}
`,
      inputs: { logits, target, mask, fB, rA, fA, regB, regA, hA, hB, pA, pB, dR, dF },
      grad: ['logits', 'fB', 'fA', 'hA', 'hB', 'dR', 'dF'],
    }]);
    const [lg, gfB, gfA, ghA, ghB, gdF] = [logits, fB, fA, hA, hB, dF].map((t) => t.detach().requiresGrad_()) as torch.Tensor[] as [torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor];
    const ce = maskedCrossEntropy(lg, target, mask);
    const style = styleLoss(gfB, rA, gfA, regB, regA);
    const pose = poseLoss(ghA, pA, ghB, pB);
    const gan = discriminatorLoss(dR, gdF);
    ce.add(style).add(pose).add(gan).backward();
    assertClose(gan, fromWire(res!.gan as WireTensor), 'LSGAN discriminator loss');
    assertClose(gdF.grad!, fromWire(res!.g_dF as WireTensor), 'd D loss / d fake scores', { atol: 1e-6 });
    assertClose(ce, fromWire(res!.ce as WireTensor), 'masked cross-entropy');
    assertClose(style, fromWire(res!.style as WireTensor), 'style loss');
    assertClose(pose, fromWire(res!.pose as WireTensor), 'pose loss');
    assertClose(lg.grad!, fromWire(res!.g_logits as WireTensor), 'd CE / d logits', { atol: 1e-6 });
    assertClose(gfB.grad!, fromWire(res!.g_fB as WireTensor), 'd style / d fakeB features', { atol: 1e-6 });
    assertClose(gfA.grad!, fromWire(res!.g_fA as WireTensor), 'd style / d fakeA features', { atol: 1e-6 });
    assertClose(ghA.grad!, fromWire(res!.g_hA as WireTensor), 'd pose / d heat maps', { atol: 1e-6 });
  });
});
