// The official PATN generator layout, built in python3-torch from its published structure (Sequential indices
// included), saved with torch.save(OrderedDict) at test time with random values; `reposer import` must map every
// name onto ours, and the imported generator must compute what PyTorch's does on the same input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import { runOracle, fromWire, assertClose, type WireTensor } from '../../helpers/oracle.js';
import { loadResolvedConfig } from '../../../src/models/config.js';
import { buildDiscriminators, buildGenerator } from '../../../src/models/patn/model.js';
import { officialGeneratorTable } from '../../../src/models/patn/official.js';
import type { PATNConfig } from '../../../src/models/patn/config.js';
import { getModel, type OfficialImportResult } from '../../../src/models/index.js';

/** Python: build the official layout (names as models/model_variants.py PATNetwork), fill, save, run. */
function officialCode(o: { path: string; ngf: number; nb: number; norm: string; dropout: boolean; legacyInstanceStats: boolean; corrupt?: string; drop?: string; legacyFile?: boolean }): string {
  return `
import collections
torch.manual_seed(0)
ngf, nb, nd, norm, dropout = ${o.ngf}, ${o.nb}, 2, '${o.norm}', ${o.dropout ? 'True' : 'False'}
bias = norm == 'instance'
N = (lambda c: nn.BatchNorm2d(c)) if norm == 'batch' else (lambda c: nn.InstanceNorm2d(c))
def down(cin):
    L = [nn.ReflectionPad2d(3), nn.Conv2d(cin, ngf, 7, bias=bias), N(ngf), nn.ReLU()]
    for i in range(nd):
        c = ngf * 2 ** i
        L += [nn.Conv2d(c, 2 * c, 3, 2, 1, bias=bias), N(2 * c), nn.ReLU()]
    return nn.Sequential(*L)
def branch(cin, cout, last_norm):
    L = [nn.ReflectionPad2d(1), nn.Conv2d(cin, cin, 3, bias=bias), N(cin), nn.ReLU()]
    if dropout: L.append(nn.Dropout(0.5))
    L += [nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3, bias=bias)]
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
class M(nn.Module):
    def __init__(s):
        super().__init__()
        s.stream1_down = down(3)
        s.stream2_down = down(36)
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
class Net(nn.Module):
    def __init__(s):
        super().__init__()
        s.model = M()
net = Net()
with torch.no_grad():
    for k, v in net.state_dict().items():
        if k.endswith('running_var'): v.uniform_(0.5, 1.5)
        elif k.endswith('running_mean'): v.normal_(0, 0.1)
        elif k.endswith('num_batches_tracked'): v.fill_(1234)
        elif k.endswith('bias'): v.normal_(0, 0.05)
        elif v.dim() == 1: v.normal_(1, 0.1)
        else: v.normal_(0, 0.03)
sd = collections.OrderedDict(net.state_dict())
if ${o.legacyInstanceStats ? 'True' : 'False'}:
    # PyTorch 0.3 files carry running stats for every InstanceNorm2d.
    for name, m in net.named_modules():
        if isinstance(m, nn.InstanceNorm2d):
            sd[name + '.running_mean'] = torch.zeros(m.num_features)
            sd[name + '.running_var'] = torch.ones(m.num_features)
${o.corrupt ? `sd['${o.corrupt}'] = torch.zeros(list(sd['${o.corrupt}'].shape)[:-1] + [1])` : ''}
${o.drop ? `del sd['${o.drop}']` : ''}
torch.save(sd, '${o.path}', _use_new_zipfile_serialization=${o.legacyFile ? 'False' : 'True'})
net.eval()
with torch.no_grad():
    y = net.model(inputs['x1'], inputs['x2'])
out = {'y': y, 'names': len(sd), 'w': sd['model.att.1.conv_block_stream2.${o.dropout ? 6 : 5}.weight'][:2, :3, 1, 1].contiguous()}
`;
}

/** The library's import of an official release (what `reposer import` dispatches to). */
function importPatn(files: Record<string, string>, out: string, sets: readonly string[], log: (line: string) => void = () => undefined): OfficialImportResult {
  const family = getModel('patn');
  if (!family.importOfficial) throw new Error('patn lost its importOfficial');
  return family.importOfficial({ files: new Map(Object.entries(files)), out, sets, log });
}

function importAndCompare(preset: 'market' | 'deepfashion', h: number, w: number, o: { ngf: number; nb: number; sets: string[]; legacy: boolean }): void {
  const dir = mkdtempSync(join(tmpdir(), 'patn-import-'));
  const before = torch.memory().numTensors;
  try {
    const pth = join(dir, 'latest_net_netG.pth');
    torch.manualSeed(5);
    const x1 = torch.scope(() => torch.rand([1, 3, h, w]).mul(2).sub(1));
    const x2 = torch.rand([1, 36, h, w]);
    const norm = preset === 'market' ? 'batch' : 'instance';
    const [res] = runOracle([{ code: officialCode({ path: pth, ngf: o.ngf, nb: o.nb, norm, dropout: true, legacyInstanceStats: o.legacy, legacyFile: o.legacy }), inputs: { x1, x2 } }]);
    const lines: string[] = [];
    const r = importPatn({ netG: pth }, join(dir, 'run'), o.sets, (l) => lines.push(l));
    assert.equal(r.preset, preset, 'the preset follows the file\'s norm');
    const cfg = loadResolvedConfig(r.dir) as unknown as PATNConfig;
    assert.equal(cfg.model, 'patn');
    assert.equal(cfg.generator.norm, norm);
    assert.deepEqual(cfg.data.pose, preset === 'deepfashion' ? { kind: 'peak' } : { kind: 'gaussian', sigma: 6 }, 'the imported model reads the pose maps it was trained on');
    const table = officialGeneratorTable(cfg);
    const names = (res as { names: number }).names;
    assert.equal(r.loaded + r.dropped.length, names, `every one of the file's ${names} entries is mapped or explicitly dropped`);
    if (o.legacy) assert.ok(r.dropped.length > 0 && r.dropped.every((k) => /running_(mean|var)$/.test(k)));
    assert.ok(table.filter((e) => !e.optional).length <= names);

    // A fresh generator loaded from the written safetensors computes PyTorch's output.
    const g = buildGenerator(cfg);
    const { tensors } = torch.io.loadSafetensors(r.written.netG as string);
    g.loadStateDict(tensors);
    torch.dispose([...tensors.values()]);
    g.eval();
    torch.noGrad(() => torch.scope(() => {
      const y = g.forward(x1, x2);
      const expected = fromWire((res as { y: WireTensor }).y);
      // Nine residual attention blocks of float32 convs summed in different orders: 1e-4 absolute on tanh outputs.
      assertClose(y, expected, `${preset} imported generator output`, { atol: 1e-4, rtol: 1e-3 });
      assert.ok(y.std().item() > 0.01, 'output is not trivially constant');
      // One value traced by name: official att.1 stream2's attention conv lands in our blocks.1.poseConv2.
      const wOfficial = fromWire((res as { w: WireTensor }).w);
      assertClose(g.blocks.at(1).poseConv2.weight.narrow(0, 0, 2).narrow(1, 0, 3).select(3, 1).select(2, 1), wOfficial, 'att.1.conv_block_stream2 weight');
    }));
    g.dispose();
    torch.dispose([x1, x2]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(torch.memory().numTensors, before, 'import leaked tensors');
}

test('official Market PATN generator (full size, batch norm, dropout) imports and matches PyTorch at 128x64', () => {
  importAndCompare('market', 128, 64, { ngf: 64, nb: 9, sets: [], legacy: false });
});

test('official DeepFashion PATN generator (instance norm, 0.3-style running stats, legacy pre-1.6 file format) imports and matches PyTorch', () => {
  // Full width under REPOSER_SLOW=1; otherwise ngf 16 (same names, same 9 blocks, a sixteenth of the weights).
  const full = process.env.REPOSER_SLOW === '1';
  const ngf = full ? 64 : 16;
  importAndCompare('deepfashion', 64, 32, { ngf, nb: 9, sets: full ? [] : [`generator.ngf=${ngf}`], legacy: true });
});

test('import names the offending key for a wrong shape or a missing entry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'patn-import-'));
  try {
    const small = ['generator.ngf=4', 'generator.nBlocks=2'];
    const x1 = torch.zeros([1, 3, 16, 8]);
    const x2 = torch.zeros([1, 36, 16, 8]);
    const bad = join(dir, 'bad.pth');
    const missing = join(dir, 'missing.pth');
    runOracle([
      { code: officialCode({ path: bad, ngf: 4, nb: 2, norm: 'batch', dropout: true, legacyInstanceStats: false, corrupt: 'model.att.1.conv_block_stream1.1.weight' }), inputs: { x1, x2 } },
      { code: officialCode({ path: missing, ngf: 4, nb: 2, norm: 'batch', dropout: true, legacyInstanceStats: false, drop: 'model.stream1_up.0.weight' }), inputs: { x1, x2 } },
    ]);
    const run = (p: string): unknown => importPatn({ netG: p }, join(dir, 'run'), small);
    assert.throws(() => run(bad), /'model\.att\.1\.conv_block_stream1\.1\.weight' has shape \[16,16,3,1\], expected \[16,16,3,3\]/);
    assert.throws(() => run(missing), /missing 'model\.stream1_up\.0\.weight'/);
    assert.equal(getModel('pg2').importOfficial, undefined, 'PG2 released TensorFlow checkpoints only: no import');
    torch.dispose([x1, x2]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('import --netD-PB/--netD-PP converts the official discriminators, which then match PyTorch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'patn-import-'));
  const before = torch.memory().numTensors;
  try {
    torch.manualSeed(9);
    const inputs = torch.scope(() => ({ x1: torch.zeros([1, 3, 16, 8]), x2: torch.zeros([1, 36, 16, 8]), pb: torch.randn([2, 21, 16, 8]), pp: torch.randn([2, 6, 16, 8]) }));
    // The G file comes from officialCode; the Ds are the official ResnetDiscriminator layout with instance norm.
    const gCode = officialCode({ path: join(dir, 'G.pth'), ngf: 4, nb: 2, norm: 'instance', dropout: true, legacyInstanceStats: false });
    const dCode = `
def resnet_d(cin, ndf=4, nb=1):
    L = [nn.ReflectionPad2d(3), nn.Conv2d(cin, ndf, 7, bias=True), nn.InstanceNorm2d(ndf), nn.ReLU()]
    for i in range(2):
        c = ndf * 2 ** i
        L += [nn.Conv2d(c, 2 * c, 3, 2, 1, bias=True), nn.InstanceNorm2d(2 * c), nn.ReLU()]
    class Res(nn.Module):
        def __init__(s, w):
            super().__init__()
            s.conv_block = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(w, w, 3, bias=True), nn.InstanceNorm2d(w), nn.ReLU(), nn.Dropout(0.5),
                                         nn.ReflectionPad2d(1), nn.Conv2d(w, w, 3, bias=True), nn.InstanceNorm2d(w))
        def forward(s, x): return x + s.conv_block(x)
    class D(nn.Module):
        def __init__(s):
            super().__init__()
            s.model = nn.Sequential(*(L + [Res(ndf * 4) for _ in range(nb)]))
        def forward(s, x): return s.model(x)
    return D()
dpb, dpp = resnet_d(21), resnet_d(6)
torch.save(dpb.state_dict(), '${join(dir, 'PB.pth')}')
torch.save(dpp.state_dict(), '${join(dir, 'PP.pth')}')
dpb.eval(); dpp.eval()
with torch.no_grad():
    out['pb'] = dpb(inputs['pb'])
    out['pp'] = dpp(inputs['pp'])
`;
    const [res] = runOracle([{ code: gCode + dCode, inputs }]);
    const sets = ['generator.ngf=4', 'generator.nBlocks=2', 'discriminator.ndf=4', 'discriminator.nBlocks=1'];
    const lines: string[] = [];
    const r = importPatn({ netG: join(dir, 'G.pth'), netD_PB: join(dir, 'PB.pth'), netD_PP: join(dir, 'PP.pth') }, join(dir, 'run'), sets, (l) => lines.push(l));
    assert.deepEqual(Object.keys(r.written).sort(), ['netD_PB', 'netD_PP', 'netG']);
    const cfg = loadResolvedConfig(r.dir) as unknown as PATNConfig;
    assert.equal(cfg.discriminator.norm, 'instance', 'the saved config follows the files');
    const ds = buildDiscriminators(cfg);
    for (const [name, label, key] of [['shape', 'netD_PB', 'pb'], ['appearance', 'netD_PP', 'pp']] as const) {
      const d = ds.get(name) as torch.nn.Module & { forward(x: torch.Tensor): torch.Tensor };
      const { tensors } = torch.io.loadSafetensors(r.written[label] as string);
      d.loadStateDict(tensors);
      torch.dispose([...tensors.values()]);
      d.eval();
      torch.noGrad(() => torch.scope(() => {
        assertClose(d.forward(inputs[key]), fromWire((res as Record<string, WireTensor>)[key] as WireTensor), `${label} output`, { atol: 1e-4, rtol: 1e-3 });
      }));
      d.dispose();
    }
    torch.dispose(inputs);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(torch.memory().numTensors, before);
});
