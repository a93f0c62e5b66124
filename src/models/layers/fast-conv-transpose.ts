// A 4x4, stride-2, padding-1 transposed convolution (the x2 upsampler of pix2pix-style decoders) computed as one
// 3x3 convolution to 4x the channels followed by a pixel shuffle. libtorch 1.13's CPU conv_transpose2d takes the
// slow im2col path: on 2 cores a 1024->256 layer at 16x8 (batch 4) took 3.1 s against 0.2 s for this form.
//
// Why it is exact: output row 2m+a of the transposed conv gathers input rows m+d with kernel row
//   a = 0: d = 0 -> ky 1, d = -1 -> ky 3;   a = 1: d = +1 -> ky 0, d = 0 -> ky 2,
// (the same for columns), which is a 3x3 cross-correlation over d in {-1, 0, 1} per output phase (a, b).
// Parameters keep ConvTranspose2d's layout and names (weight (inC, outC, 4, 4), bias (outC)), so state dicts are
// interchangeable with torch.nn.ConvTranspose2d's.
import * as torch from '../../torch/index.js';

// PHASES[a][d + 1] = the kernel index that tap offset d uses for output phase a (-1: none).
const PHASES = [[3, 1, -1], [-1, 2, 0]];
/** (2, 3, 4) 0/1 selection of kernel rows per phase and tap, flattened. */
const SELECT = new Float32Array(2 * 3 * 4);
PHASES.forEach((row, a) => row.forEach((k, t) => { if (k >= 0) SELECT[(a * 3 + t) * 4 + k] = 1; }));

export class ConvTranspose4x4s2 extends torch.nn.ConvTranspose2d {
  constructor(inC: number, outC: number, options: { bias?: boolean } = {}) {
    super(inC, outC, 4, { stride: 2, padding: 1, bias: options.bias ?? true });
  }

  /** input (N, inC, H, W) -> (N, outC, 2H, 2W), equal to conv_transpose2d(input, weight, bias, 2, 1). */
  override forward(input: torch.Tensor): torch.Tensor {
    if (input.ndim !== 4 || input.shape[1] !== this.inChannels) {
      throw new Error(`ConvTranspose4x4s2(${this.inChannels}, ${this.outChannels}): expected (N,${this.inChannels},H,W), got [${input.shape.join(',')}]`);
    }
    return torch.scope(() => {
      const [inC, outC] = [this.inChannels, this.outChannels];
      const w = this.weight;
      // Made per call (24 numbers) rather than held: Module.dispose() releases only registered tensors.
      let sel = torch.tensor(SELECT, [2, 3, 4]);
      if (w.dtype !== 'float32') sel = sel.to(w.dtype);
      if (w.device !== 'cpu') sel = sel.toDevice(w.device);
      // k[o, a, b, i, y, x] = sum_{k,l} S[a, y, k] S[b, x, l] W[i, o, k, l]
      const k = torch.einsum('ayk,bxl,iokl->oabiyx', [sel, sel, w]).reshape([outC * 4, inC, 3, 3]);
      const bias = this.bias ? this.bias.repeatInterleave(4) : null;
      return torch.pixelShuffle(torch.conv2d(input, k, bias, 1, 1), 2);
    });
  }
}
