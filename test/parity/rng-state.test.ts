// The generator state that checkpoints save: equal to PyTorch's torch.get_rng_state() for the same seed, and
// restoring it replays the same draws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { assertClose, fromWire, runOracle, type WireTensor } from '../helpers/oracle.js';

test('getRngState equals torch.get_rng_state() after the same seed; setRngState replays the draws', () => {
  torch.manualSeed(42);
  const state = torch.getRngState();
  try {
    const [res] = runOracle([{
      code: `torch.manual_seed(42)\ns = torch.get_rng_state()\nx = torch.rand(5)\nout = {'state': s, 'x': x}`,
      inputs: {},
    }]);
    const r = res as Record<string, WireTensor>;
    torch.scope(() => {
      assertClose(state, fromWire(r.state as WireTensor), 'rng state', { atol: 0, rtol: 0 });
      torch.rand([9]);
      torch.setRngState(state);
      assertClose(torch.rand([5]), fromWire(r.x as WireTensor), 'draws after setRngState', { atol: 0, rtol: 0 });
      assert.throws(() => torch.setRngState(torch.zeros([3])), /expected the 1-D uint8 tensor/);
    });
  } finally {
    state.dispose();
  }
});
