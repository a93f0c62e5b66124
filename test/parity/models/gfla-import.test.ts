// Importing a GFLA release: python3-torch builds the official module layout (gfla_reference.py: PoseGenerator and
// ResDiscriminator on CPU rewrites of the three CUDA ops), randomises it, saves the state dicts in the legacy
// (pre-1.6) format as the released latest_net_G.pth / latest_net_D.pth, and computes the outputs; `importOfficial`
// converts the files, and our networks loaded from the written safetensors compute the same outputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import { getModel, loadResolvedConfig } from '../../../src/models/index.js';
import { buildGflaNetworks, type GflaConfig } from '../../../src/models/gfla/index.js';
import { assertClose, fromWire, runOracle, type WireTensor } from '../../helpers/oracle.js';
import { GFLA_REFERENCE } from './gfla-reference.js';

// Small widths over the presets' structure, so that both sides run in seconds.
const SMALL = ['generator.ngf=8', 'generator.imgF=32', 'generator.flowNgf=8', 'generator.flowImgF=16', 'image.height=64', 'image.width=32',
  'discriminator.ndf=8', 'discriminator.imgF=16', 'loss.vgg.weights=random'];

function pythonRelease(gPath: string, dPath: string, fashion: boolean, dLayers: number): string {
  const attn = fashion ? '(2, 3)' : '(2,)';
  const kz = fashion ? '{2: 5, 3: 3}' : '{2: 3}';
  return `${GFLA_REFERENCE}
torch.manual_seed(3)
g = PoseGenerator(ngf=8, img_f=32, layers=3, num_blocks=2, attn_layer=${attn}, kz=${kz}, flow_ngf=8, flow_img_f=16, flow_layers=5)
for m in g.modules():
    if isinstance(m, nn.InstanceNorm2d):
        m.weight.data.uniform_(0.5, 1.5)
        m.bias.data.uniform_(-0.3, 0.3)
# Flows of a few pixels, so that the block extractor samples well away from the identity.
for name, m in g.flow_net.named_children():
    if name.startswith('output'):
        m.weight.data.mul_(30)
        m.bias.data.uniform_(-2, 2)
d = ResDiscriminator(3, 8, 16, ${dLayers})
torch.save(g.state_dict(), '${gPath}', _use_new_zipfile_serialization=False)
torch.save(d.state_dict(), '${dPath}', _use_new_zipfile_serialization=False)
g.eval(); d.eval()
with torch.no_grad():
    img, flows, masks = g(inputs['x'], inputs['pa'], inputs['pb'])
    score = d(inputs['x'])
out = {'img': img, 'flow0': flows[0], 'mask0': masks[0], 'score': score, 'nG': len(g.state_dict()), 'nD': len(d.state_dict())}
`;
}

for (const fashion of [true, false]) {
  const preset = fashion ? 'deepfashion' : 'market';
  test(`a legacy-format ${preset} release imports by name and our generator and discriminator match PyTorch's`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'gfla-import-'));
    const before = torch.memory().numTensors;
    try {
      const gPath = join(dir, 'latest_net_G.pth');
      const dPath = join(dir, 'latest_net_D.pth');
      torch.manualSeed(7);
      const inputs = torch.scope(() => ({
        x: torch.rand([2, 3, 64, 32]).mul(2).sub(1), pa: torch.rand([2, 18, 64, 32]), pb: torch.rand([2, 18, 64, 32]),
      }));
      const dLayers = fashion ? 4 : 3;
      const [res] = runOracle([{ code: pythonRelease(gPath, dPath, fashion, dLayers), inputs }]);
      const r = res as Record<string, WireTensor | number>;
      const family = getModel('gfla');
      const lines: string[] = [];
      const result = (family.importOfficial as NonNullable<typeof family.importOfficial>)({
        files: new Map([['netG', gPath], ['netD', dPath]]), out: join(dir, 'run'), sets: SMALL, log: (l) => lines.push(l),
      });
      assert.equal(result.preset, preset, 'the preset follows the file\'s attention blocks');
      assert.equal(result.loaded, r.nG, 'every entry of the file is loaded');
      const cfg = loadResolvedConfig(result.dir) as unknown as GflaConfig;
      const { generator, discriminator } = buildGflaNetworks(cfg);
      try {
        for (const [m, file] of [[generator, result.written.netG], [discriminator, result.written.netD]] as const) {
          const { tensors } = torch.io.loadSafetensors(file as string);
          m.loadStateDict(tensors);
          torch.dispose([...tensors.values()]);
        }
        assert.equal(discriminator.stateDict().size, r.nD);
        generator.eval();
        discriminator.eval();
        torch.noGrad(() => torch.scope(() => {
          const { image, flows, masks } = generator.forwardWithFlows(inputs.x, inputs.pa, inputs.pb);
          assertClose(flows[0] as torch.Tensor, fromWire(r.flow0 as WireTensor), `${preset} flow (coarsest)`, { atol: 1e-4, rtol: 1e-4 });
          assertClose(masks[0] as torch.Tensor, fromWire(r.mask0 as WireTensor), `${preset} occlusion mask`, { atol: 1e-5, rtol: 1e-4 });
          assert.ok(flows[0]!.abs().max().item() > 1, 'the flows move features by pixels');
          // Float32 convs through two encoders, the flow net and the decoder, summed in other orders.
          assertClose(image, fromWire(r.img as WireTensor), `${preset} generated image`, { atol: 1e-4, rtol: 1e-3 });
          assert.ok(image.std().item() > 0.01, 'the output is not constant');
          assertClose(discriminator.forward(inputs.x), fromWire(r.score as WireTensor), `${preset} discriminator`, { atol: 1e-5, rtol: 1e-4 });
        }));
      } finally {
        generator.dispose();
        discriminator.dispose();
      }
      torch.dispose(inputs);
      assert.equal(torch.memory().numTensors, before, 'the import leaves no tensors behind');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a file of another architecture fails naming the mismatched keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gfla-import-'));
  try {
    const gPath = join(dir, 'latest_net_G.pth');
    runOracle([{ code: `${GFLA_REFERENCE}\ng = PoseGenerator(ngf=8, img_f=32, attn_layer=(2, 3), kz={2: 3, 3: 3}, flow_ngf=8, flow_img_f=16)\ntorch.save(g.state_dict(), '${gPath}', _use_new_zipfile_serialization=False)\nout = {}` }]);
    const family = getModel('gfla');
    assert.throws(() => (family.importOfficial as NonNullable<typeof family.importOfficial>)({ files: new Map([['netG', gPath]]), out: join(dir, 'run'), sets: SMALL }),
      /target\.attn1\.fully_connect_layer\.0\.weight' is \[128,32,3,3\], expected \[128,32,5,5\]/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
