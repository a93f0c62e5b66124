// Initialisations of the official TF / Keras code, applied over a module tree after construction (PyTorch's
// default kaiming-uniform(a=sqrt(5)) is not what those models trained from).
import * as torch from '../../torch/index.js';

type Weighted = torch.nn.Conv2d | torch.nn.ConvTranspose2d | torch.nn.Linear;

function weighted(m: torch.nn.Module): m is Weighted {
  return m instanceof torch.nn.Conv2d || m instanceof torch.nn.ConvTranspose2d || m instanceof torch.nn.Linear;
}

/**
 * Glorot-uniform weights and zero biases for every conv, transposed conv and linear layer: the default of Keras
 * layers and of tf.contrib.slim's conv2d / fully_connected (xavier_initializer). Glorot's bound depends on
 * fanIn + fanOut only, so the weight layout (Keras HWIO, TF, PyTorch OIHW) does not matter.
 */
export function glorotInit<M extends torch.nn.Module>(module: M): M {
  for (const [, m] of module.namedModules()) {
    if (!weighted(m)) continue;
    torch.nn.init.xavierUniform_(m.weight);
    if (m.bias) torch.nn.init.zeros_(m.bias);
  }
  return module;
}

/**
 * tflib's weights under set_weights_stdev(s) (PG2's DCGAN discriminator, s = 0.02): U(-s*sqrt(3), s*sqrt(3)),
 * zero biases.
 */
export function tflibStdevInit<M extends torch.nn.Module>(module: M, stdev = 0.02): M {
  const a = stdev * Math.sqrt(3);
  for (const [, m] of module.namedModules()) {
    if (!weighted(m)) continue;
    torch.nn.init.uniform_(m.weight, -a, a);
    if (m.bias) torch.nn.init.zeros_(m.bias);
  }
  return module;
}
