// Load time of a ~40 MB state dict saved in the legacy format and in the zip format (REPOSER_SLOW=1 only): both are
// read storage by storage, so the legacy reader should cost about what the zip reader does. Python's torch.load
// times for the same files are printed beside ours for reference.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import { PYTHON } from '../../helpers/oracle.js';

const slow = process.env.REPOSER_SLOW === '1';
const dir = mkdtempSync(join(tmpdir(), 'reposer-pth-speed-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// PATN-like shapes: 3x3 convs at 256 channels and their biases and norms, 10.1 M float32 parameters (40.5 MB).
const WRITE = `
import collections, sys, time, torch
torch.manual_seed(0)
sd = collections.OrderedDict()
for i in range(17):
    sd[f'model.{i}.conv.weight'] = torch.randn(256, 256, 3, 3)
    sd[f'model.{i}.conv.bias'] = torch.randn(256)
    sd[f'model.{i}.norm.running_mean'] = torch.randn(256)
    sd[f'model.{i}.norm.num_batches_tracked'] = torch.tensor(i)
torch.save(sd, sys.argv[1] + '/zip.pth')
torch.save(sd, sys.argv[1] + '/legacy.pth', _use_new_zipfile_serialization=False)
for name in ('zip', 'legacy'):
    torch.load(sys.argv[1] + '/' + name + '.pth')
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        torch.load(sys.argv[1] + '/' + name + '.pth')
        times.append(time.perf_counter() - t0)
    print(name, sorted(times)[2] * 1000)
`;

/** The median of five timed runs after one untimed one (the first pays for growing the heap). */
function medianMs(fn: () => void): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times.sort((a, b) => a - b)[2] as number;
}

test('a 40 MB legacy state dict loads about as fast as its zip save, and to the same tensors', { skip: !slow && 'set REPOSER_SLOW=1' }, (t) => {
  const r = spawnSync(PYTHON, ['-c', WRITE, dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `writing the checkpoints failed: ${r.stderr}`);
  const python = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split(' ')).map(([k, v]) => [k, Number(v)]));
  const before = torch.memory().numTensors;
  const ms: Record<string, number> = {};
  for (const name of ['zip', 'legacy']) ms[name] = medianMs(() => torch.dispose(torch.io.loadPthStateDict(join(dir, `${name}.pth`))));
  const [zip, legacy] = [torch.io.loadPthStateDict(join(dir, 'zip.pth')), torch.io.loadPthStateDict(join(dir, 'legacy.pth'))];
  assert.deepEqual([...legacy.keys()], [...zip.keys()]);
  for (const [k, a] of zip) assert.ok(Buffer.from(torch.io.tensorBytes(a)).equals(torch.io.tensorBytes(legacy.get(k) as torch.Tensor)), k);
  torch.dispose([zip, legacy]);
  assert.equal(torch.memory().numTensors, before);
  const figures = {
    bench: 'pth-load', megabytes: +(statSync(join(dir, 'legacy.pth')).size / 1e6).toFixed(1),
    legacyMs: +ms.legacy!.toFixed(1), zipMs: +ms.zip!.toFixed(1),
    pythonLegacyMs: +python.legacy!.toFixed(1), pythonZipMs: +python.zip!.toFixed(1),
  };
  t.diagnostic(JSON.stringify(figures));
  assert.ok(figures.legacyMs < 2 * figures.zipMs + 50, `legacy ${figures.legacyMs} ms vs zip ${figures.zipMs} ms`);
});
