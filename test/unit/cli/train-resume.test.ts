// The command line end to end: `reposer train` killed with SIGKILL at a random moment, then `--resume`d, reaches
// bitwise the weights of an uninterrupted run; `reposer report` then renders the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import { listCheckpoints } from '../../../src/train/index.js';

const CLI = join(import.meta.dirname, '..', '..', '..', 'src', 'cli', 'main.js');
const reposer = (...args: string[]): ReturnType<typeof spawnSync> => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

function tensorsOf(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.safetensors')).sort()) {
    const { tensors } = torch.io.loadSafetensors(join(dir, f));
    for (const [k, t] of tensors) out.set(`${f}:${k}`, Buffer.from((t.data() as Uint8Array).buffer).toString('base64'));
    torch.dispose([...tensors.values()]);
  }
  return out;
}

test('train, kill -9 at a random moment, resume: the weights equal an uninterrupted run; report renders it', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'cli-train-'));
  try {
    const data = join(root, 'data');
    let r = reposer('data', 'synth', '--out', data, '--size', '32x16', '--identities', '5', '--poses', '2', '--seed', '4');
    assert.equal(r.status, 0, String(r.stderr));
    const args = (out: string): string[] => ['train', '--data', data, '--out', out, '--steps', '10', '--seed', '5', '--save-every', '1',
      '--sample-every', '5', '--workers', '0'];
    r = reposer(...args(join(root, 'a')), '--model', 'patn', '--preset', 'tiny');
    assert.equal(r.status, 0, String(r.stderr));
    assert.match(String(r.stdout), /finished at step 10\/10/);

    const b = join(root, 'b');
    const child = spawn(process.execPath, [CLI, ...args(b), '--model', 'patn', '--preset', 'tiny'], { stdio: 'ignore' });
    const exited = new Promise((res) => child.once('exit', res));
    // Kill it at a random moment after its second checkpoint, and before it ends.
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && (listCheckpoints(b).at(-1)?.[0] ?? 0) < 2) await new Promise((res) => setTimeout(res, 20));
    await new Promise((res) => setTimeout(res, Math.floor(Math.random() * 400)));
    child.kill('SIGKILL');
    await exited;
    const at = listCheckpoints(b).at(-1)?.[0] ?? 0;
    assert.ok(at >= 2, 'a checkpoint survived the kill');
    t.diagnostic(`killed after checkpoint ${at}`);
    if (at < 10) {
      r = reposer(...args(b), '--resume');
      assert.equal(r.status, 0, String(r.stderr));
      assert.match(String(r.stdout), /finished at step 10\/10/);
    }
    const [ta, tb] = [tensorsOf(listCheckpoints(join(root, 'a')).at(-1)![1]), tensorsOf(listCheckpoints(b).at(-1)![1])];
    assert.deepEqual([...tb.keys()], [...ta.keys()]);
    for (const [k, v] of ta) assert.equal(tb.get(k), v, `${k} differs from the uninterrupted run`);
    assert.deepEqual(readdirSync(join(b, 'samples')).sort(), ['step-00000005.png', 'step-00000010.png']);

    r = reposer('report', b);
    assert.equal(r.status, 0, String(r.stderr));
    assert.ok(existsSync(join(b, 'report.html')));
    assert.match(readFileSync(join(b, 'report.html'), 'utf8'), /G_L1/);
    r = reposer('train', '--data', data, '--out', b, '--resume', '--model', 'pg2');
    assert.equal(r.status, 1);
    assert.match(String(r.stderr), /--resume continues with .*config\.json; drop --model/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('SIGTERM during training writes a checkpoint at the current step and exits 0', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cli-term-'));
  try {
    const data = join(root, 'data');
    assert.equal(reposer('data', 'synth', '--out', data, '--size', '32x16', '--identities', '4', '--poses', '2', '--seed', '4').status, 0);
    const out = join(root, 'run');
    const child = spawn(process.execPath, [CLI, 'train', '--model', 'patn', '--preset', 'tiny', '--data', data, '--out', out,
      '--steps', '100000', '--save-every', '100000', '--sample-every', '0', '--workers', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && !/step \d+/.test(stdout) && !existsSync(join(out, 'log.jsonl'))) await new Promise((res) => setTimeout(res, 50));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /SIGTERM: writing a checkpoint and stopping/);
    const m = /stopped at step (\d+)\/\d+/.exec(stdout);
    assert.ok(m, stdout);
    assert.deepEqual(listCheckpoints(out).map(([s]) => s), [Number(m[1])]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
