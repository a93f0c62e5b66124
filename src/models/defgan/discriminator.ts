// Deformable GAN's conditional discriminator (make_discriminator, disc_type 'call', the default): a patch
// discriminator on concat(source image, source pose, image, target pose). A 4x4 stride-2 conv without padding
// (with bias), then DownBlocks to 2x, 4x, 8x the width and a last one to 1 channel without norm.
// forward() returns logits; the official model applies a sigmoid and log(p + 1e-7), which BCE-with-logits equals
// without the epsilon.
import * as torch from '../../torch/index.js';
import { DownBlock } from './layers.js';

export class DefGanDiscriminator extends torch.nn.Module {
  readonly convIn: torch.nn.Conv2d;
  readonly blocks: torch.nn.ModuleList<DownBlock>;

  constructor(inChannels: number, dim: number) {
    super();
    this.convIn = this.module('convIn', new torch.nn.Conv2d(inChannels, dim, 4, { stride: 2 }));
    this.blocks = this.module('blocks', new torch.nn.ModuleList<DownBlock>([
      new DownBlock(dim, dim * 2), new DownBlock(dim * 2, dim * 4), new DownBlock(dim * 4, dim * 8), new DownBlock(dim * 8, 1, false),
    ]));
  }

  /** sourceImage (N,3,H,W), sourcePose (N,18,H,W), image (N,3,H,W), targetPose (N,18,H,W) -> patch logits (N,P). */
  forward(sourceImage: torch.Tensor, sourcePose: torch.Tensor, image: torch.Tensor, targetPose: torch.Tensor): torch.Tensor {
    return torch.scope(() => {
      const [hh, ww] = [image.shape[2] as number, image.shape[3] as number];
      if (hh < 64 || ww < 64) throw new Error(`defgan D: image ${hh}x${ww} is too small for the patch discriminator; it needs at least 64x64`);
      let h = this.convIn.forward(torch.cat([sourceImage, sourcePose, image, targetPose], 1));
      for (const b of this.blocks) h = b.forward(h);
      return h.flatten(1);
    });
  }
}
