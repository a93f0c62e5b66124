// VGG16 features for SPT's content and style losses (the official VGG_multi: torchvision vgg16 features[0:7],
// i.e. up to relu2_1). torchvision's vgg16 and vgg19 `features` are the same layers, with the same indices, up to
// relu3_3 (index 15): so the VGG19 extractor of src/models/layers/vgg.ts, built up to such a layer, is exactly VGG16
// there and loads vgg16-397923af.pth by name through the same .pth importer.
import { existsSync } from 'node:fs';
import * as torch from '../../torch/index.js';
import { Vgg19Features, randomVgg19StateDict, vgg19TapIndex, VGG_WEIGHTS_KEY } from '../layers/vgg.js';
import type { VggSection } from '../sections.js';
import { DEFAULT_VGG16_WEIGHTS } from './config.js';

export const VGG16_URL = 'https://download.pytorch.org/models/vgg16-397923af.pth';
/** The deepest tap VGG16 shares with VGG19 (features.15). */
const LAST_SHARED = 'relu3_3';

/**
 * The frozen VGG16 front the config's `loss.vgg` names: torchvision's vgg16 weights from `weights` ("random": the fixed
 * random network of randomVgg19StateDict), built up to the deepest of `layers` (at most relu3_3). forward() takes images in
 * [-1,1] and applies ImageNet normalisation, as for VGG19.
 */
export function makeVgg16(section: VggSection): Vgg19Features {
  if (section.layers.length === 0) throw new Error('spt: loss.vgg.layers is empty: name the VGG16 layers the losses read, e.g. ["relu2_1"]');
  const lastLayer = section.layers.reduce((a, b) => (vgg19TapIndex(b) > vgg19TapIndex(a) ? b : a));
  if (vgg19TapIndex(lastLayer) > vgg19TapIndex(LAST_SHARED)) {
    throw new Error(`spt: loss.vgg.layers asks for '${lastLayer}', beyond ${LAST_SHARED}; SPT's VGG16 extractor serves layers up to ${LAST_SHARED}`);
  }
  let state: Map<string, torch.Tensor>;
  if (section.weights === 'random') {
    state = randomVgg19StateDict(lastLayer);
  } else {
    if (!existsSync(section.weights)) {
      throw new Error(
        `VGG16 weights not found at '${section.weights}'. SPT's content and style losses need torchvision's VGG16 ImageNet ` +
          `weights (vgg16-397923af.pth, 528 MB). Download ${VGG16_URL} and save it as '${DEFAULT_VGG16_WEIGHTS}' (the ` +
          `default), or point the config key '${VGG_WEIGHTS_KEY}' at it, e.g. --set ${VGG_WEIGHTS_KEY}=/path/to/vgg16-397923af.pth`,
      );
    }
    state = torch.io.loadPthStateDict(section.weights);
  }
  const vgg = new Vgg19Features({ lastLayer });
  try {
    return vgg.loadTorchvision(state);
  } catch (err) {
    vgg.dispose();
    throw new Error(`spt: '${section.weights}' is not torchvision's vgg16 state dict: ${(err as Error).message}`);
  } finally {
    torch.dispose([...state.values()]);
  }
}
