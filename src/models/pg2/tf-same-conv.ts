// Conv2d with TensorFlow's 'SAME' padding: the output is ceil(in / stride) and, when the total padding is odd, the
// extra row and column go at the bottom and right. PyTorch's symmetric padding shifts stride-2 outputs by half a
// pixel against the official TF models (PG2); this keeps their sampling grid. Parameters are a plain Conv2d's.
import * as torch from '../../torch/index.js';

/** (left, right, top, bottom) padding of TF 'SAME' for one input size. */
export function tfSamePadding(h: number, w: number, kernel: number, stride: number, dilation = 1): [number, number, number, number] {
  const k = (kernel - 1) * dilation + 1;
  const total = (n: number): number => Math.max((Math.ceil(n / stride) - 1) * stride + k - n, 0);
  const th = total(h);
  const tw = total(w);
  return [Math.floor(tw / 2), tw - Math.floor(tw / 2), Math.floor(th / 2), th - Math.floor(th / 2)];
}

export class TfSameConv2d extends torch.nn.Conv2d {
  constructor(inC: number, outC: number, kernel: number, stride = 1, options: { bias?: boolean } = {}) {
    super(inC, outC, kernel, { stride, padding: 0, bias: options.bias ?? true });
  }

  override forward(x: torch.Tensor): torch.Tensor {
    const pad = tfSamePadding(x.shape[2] as number, x.shape[3] as number, this.kernelSize[0], this.stride[0]);
    if (pad.every((p) => p === 0)) return super.forward(x);
    return torch.scope(() => super.forward(torch.pad(x, pad)));
  }
}
