// Two PATN training iterations against the official procedure written out in python3-torch (models/PATN.py
// optimize_parameters: G update, then D_PP, then D_PB; L1 + perceptual L1 on VGG19 relu1_2; λ_GAN·mean of the two
// GAN terms; D loss λ_GAN·(real + fake)/2), from identical weights. Dropout and the image pool are off so both sides
// are deterministic. Step 1 checks the forward losses; step 2 also checks that the three Adam updates agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import { runOracle, type OracleValue } from '../../helpers/oracle.js';
import { resolveConfig } from '../../../src/models/config.js';
import { patnDefaults, type PATNConfig } from '../../../src/models/patn/config.js';
import { PATNModel } from '../../../src/models/patn/model.js';
import { loadOfficialDiscriminator, loadOfficialGenerator } from '../../../src/models/patn/official.js';

const LOSS_ORDER = ['G_L1', 'G_perceptual', 'G_GAN_PB', 'G_GAN_PP', 'G_GAN', 'G_total', 'D_PP', 'D_PB'];

function pythonCode(dir: string, o: { norm: string; gan: string; lamA: number; lamB: number; lamG: number }): string {
  return `
torch.manual_seed(1)
ngf, nb, ndf, nbD, nd = 8, 2, 8, 1, 2
norm, gan, lamA, lamB, lamG, lr = '${o.norm}', '${o.gan}', ${o.lamA}, ${o.lamB}, ${o.lamG}, 2e-4
bias = norm == 'instance'
N = (lambda c: nn.BatchNorm2d(c)) if norm == 'batch' else (lambda c: nn.InstanceNorm2d(c))
def down(cin, width):
    L = [nn.ReflectionPad2d(3), nn.Conv2d(cin, width, 7, bias=bias), N(width), nn.ReLU()]
    for i in range(nd):
        c = width * 2 ** i
        L += [nn.Conv2d(c, 2 * c, 3, 2, 1, bias=bias), N(2 * c), nn.ReLU()]
    return L
def branch(cin, cout, last_norm):
    L = [nn.ReflectionPad2d(1), nn.Conv2d(cin, cin, 3, bias=bias), N(cin), nn.ReLU(), nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3, bias=bias)]
    if last_norm: L.append(N(cout))
    return nn.Sequential(*L)
class Block(nn.Module):
    def __init__(s, w, cated):
        super().__init__()
        s.conv_block_stream1 = branch(w, w, True)
        s.conv_block_stream2 = branch(2 * w if cated else w, w, False)
    def forward(s, x1, x2):
        a = s.conv_block_stream2(x2)
        o = x1 + s.conv_block_stream1(x1) * torch.sigmoid(a)
        return o, torch.cat([a, o], 1)
class G(nn.Module):
    def __init__(s):
        super().__init__()
        s.stream1_down = nn.Sequential(*down(3, ngf))
        s.stream2_down = nn.Sequential(*down(36, ngf))
        w = ngf * 2 ** nd
        s.att = nn.ModuleList([Block(w, k > 0) for k in range(nb)])
        U = []
        for i in range(nd):
            c = ngf * 2 ** (nd - i)
            U += [nn.ConvTranspose2d(c, c // 2, 3, 2, 1, 1, bias=bias), N(c // 2), nn.ReLU()]
        U += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
        s.stream1_up = nn.Sequential(*U)
    def forward(s, x1, x2):
        x1, x2 = s.stream1_down(x1), s.stream2_down(x2)
        for b in s.att: x1, x2 = b(x1, x2)
        return s.stream1_up(x1)
class Res(nn.Module):
    def __init__(s, w):
        super().__init__()
        s.conv_block = branch(w, w, True)
    def forward(s, x): return x + s.conv_block(x)
class D(nn.Module):
    def __init__(s, cin):
        super().__init__()
        L = down(cin, ndf) + [Res(ndf * 2 ** nd) for _ in range(nbD)]
        if gan == 'bce': L.append(nn.Sigmoid())
        s.model = nn.Sequential(*L)
    def forward(s, x): return s.model(x)
class Wrap(nn.Module):
    def __init__(s, m):
        super().__init__()
        s.model = m
g, dpb, dpp = G(), D(21), D(6)
conv1, conv2 = nn.Conv2d(3, 64, 3, padding=1), nn.Conv2d(64, 64, 3, padding=1)
torch.save(Wrap(g).state_dict(), '${dir}/G.pth')
torch.save(dpb.state_dict(), '${dir}/PB.pth')
torch.save(dpp.state_dict(), '${dir}/PP.pth')
torch.save({'features.0.weight': conv1.weight.data, 'features.0.bias': conv1.bias.data, 'features.2.weight': conv2.weight.data, 'features.2.bias': conv2.bias.data}, '${dir}/vgg.pth')
for p in list(conv1.parameters()) + list(conv2.parameters()): p.requires_grad_(False)
mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
def vgg(x): return F.relu(conv2(F.relu(conv1(((x + 1) / 2 - mean) / std))))
crit = nn.BCELoss() if gan == 'bce' else nn.MSELoss()
def ganl(pred, real): return crit(pred, torch.full_like(pred, 1.0 if real else 0.0))
opt = lambda m: torch.optim.Adam(m.parameters(), lr=lr, betas=(0.5, 0.999))
oG, oPB, oPP = opt(g), opt(dpb), opt(dpp)
P1, P2, BP1, BP2 = inputs['P1'], inputs['P2'], inputs['BP1'], inputs['BP2']
rows = []
for step in range(2):
    fake = g(P1, torch.cat([BP1, BP2], 1))
    l1 = F.l1_loss(fake, P2) * lamA
    per = F.l1_loss(vgg(fake), vgg(P2).detach()) * lamB
    gpb = ganl(dpb(torch.cat([fake, BP2], 1)), True)
    gpp = ganl(dpp(torch.cat([fake, P1], 1)), True)
    gl = (gpb * lamG + gpp * lamG) / 2
    total = l1 + per + gl
    oG.zero_grad(); total.backward(); oG.step()
    oPP.zero_grad()
    lpp = (ganl(dpp(torch.cat([P2, P1], 1)), True) * lamG + ganl(dpp(torch.cat([fake, P1], 1).detach()), False) * lamG) * 0.5
    lpp.backward(); oPP.step()
    oPB.zero_grad()
    lpb = (ganl(dpb(torch.cat([P2, BP2], 1)), True) * lamG + ganl(dpb(torch.cat([fake, BP2], 1).detach()), False) * lamG) * 0.5
    lpb.backward(); oPB.step()
    rows.append([float(v) for v in (l1, per, gpb, gpp, gl, total, lpp, lpb)])
out = {'losses': rows}
`;
}

for (const variant of [
  { name: 'Market recipe (batch norm, BCE, λ 10/10/5)', norm: 'batch', gan: 'bce', lamA: 10, lamB: 10, lamG: 5 },
  { name: 'DeepFashion recipe (instance norm, LSGAN, λ 1/1/5)', norm: 'instance', gan: 'lsgan', lamA: 1, lamB: 1, lamG: 5 },
] as const) {
  test(`two PATN training iterations match the official procedure: ${variant.name}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'patn-train-'));
    const before = torch.memory().numTensors;
    try {
      torch.manualSeed(2);
      const inputs = torch.scope(() => ({
        P1: torch.rand([2, 3, 32, 16]).mul(2).sub(1),
        P2: torch.rand([2, 3, 32, 16]).mul(2).sub(1),
        BP1: torch.rand([2, 18, 32, 16]),
        BP2: torch.rand([2, 18, 32, 16]),
      }));
      const [res] = runOracle([{ code: pythonCode(dir, variant), inputs }]);
      const expected = (res as { losses: OracleValue }).losses as number[][];
      const cfg = resolveConfig(patnDefaults('tiny'), {
        sets: [
          'generator.ngf=8', 'generator.nBlocks=2', 'generator.dropout=false', `generator.norm=${variant.norm}`,
          'discriminator.ndf=8', 'discriminator.nBlocks=1', 'discriminator.dropout=false', `discriminator.norm=${variant.norm}`,
          'discriminator.poolSize=0', 'schedule.stages=[{"name":"main","epochs":500,"decayEpochs":2}]', `loss.gan=${variant.gan}`, `loss.lambdaL1=${variant.lamA}`, `loss.lambdaPerceptual=${variant.lamB}`,
          `loss.lambdaGAN=${variant.lamG}`, `loss.vgg.weights=${join(dir, 'vgg.pth')}`,
        ],
      }) as PATNConfig;
      const model = new PATNModel(cfg);
      try {
        const load = (file: string, fn: (s: Map<string, torch.Tensor>) => void): void => {
          const s = torch.io.loadPthStateDict(join(dir, file));
          try {
            fn(s);
          } finally {
            torch.dispose([...s.values()]);
          }
        };
        load('G.pth', (s) => loadOfficialGenerator(model.generator, cfg, s));
        load('PB.pth', (s) => loadOfficialDiscriminator(model.discriminators.get('shape') as never, cfg, s));
        load('PP.pth', (s) => loadOfficialDiscriminator(model.discriminators.get('appearance') as never, cfg, s));
        const batch = { imageA: inputs.P1, imageB: inputs.P2, poseMapA: inputs.BP1, poseMapB: inputs.BP2, keypointsA: inputs.BP1, keypointsB: inputs.BP2 };
        for (let step = 0; step < 2; step++) {
          const got = model.trainStep(batch);
          // Step 1: forward values (float32 sums in another order: rtol 1e-4). Step 2 follows three Adam updates whose
          // first step moves each weight by about ±lr whatever the gradient's size: rtol 1e-3.
          const rtol = step === 0 ? 1e-4 : 1e-3;
          LOSS_ORDER.forEach((k, i) => {
            const e = (expected[step] as number[])[i] as number;
            const a = got[k] as number;
            assert.ok(Math.abs(a - e) <= 1e-5 + rtol * Math.abs(e), `step ${step + 1} ${k}: ours ${a}, PyTorch ${e}`);
          });
        }
      } finally {
        model.dispose();
        torch.dispose(inputs);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(torch.memory().numTensors, before);
  });
}
