import { test } from 'node:test';
import * as torch from '../../src/torch/index.js';
import { runOracle, fromWire, assertClose, type WireTensor } from '../helpers/oracle.js';

test('add, mul and their gradients match PyTorch', () => {
  torch.scope(() => {
    const a = torch.randn([3, 4]).requiresGrad_();
    const b = torch.randn([4]).requiresGrad_();
    const y = a.mul(b).add(a, 0.5).sum();
    y.backward();
    const [res] = runOracle([{
      code: 'a, b = inputs["a"], inputs["b"]\ny = (a * b + 0.5 * a).sum()\ny.backward()\nout = {"y": y, "ga": a.grad, "gb": b.grad}',
      inputs: { a: a.detach(), b: b.detach() }, grad: ['a', 'b'],
    }]);
    const r = res as Record<string, WireTensor>;
    assertClose(y, fromWire(r.y as WireTensor), 'y');
    assertClose(a.grad as torch.Tensor, fromWire(r.ga as WireTensor), 'grad a');
    assertClose(b.grad as torch.Tensor, fromWire(r.gb as WireTensor), 'grad b');
  });
});
