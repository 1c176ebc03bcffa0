/**
 * Kernel overrides for the tensorflow backend (tfjs-node).
 *
 * Cast to the dtype a tensor already has: tfjs-core's gradients and LayerNorm cast float32 to
 * float32 (about a hundred times in a training step of the tiny char GPT), and tfjs-node runs
 * each as a TensorFlow Cast op, a copy of the tensor and one more kernel launch. A same-dtype
 * cast is the identity, so it shares the input's buffer as tfjs-node's own Identity kernel does
 * (one more reference to the data); any other cast goes to tfjs-node's kernel unchanged.
 */
import { tf } from '../tf.ts';

interface NodeBackend {
  incRef(dataId: tf.DataId): void;
}

let registered = false;

/** Installs the overrides once tfjs-node has registered its kernels; idempotent. */
export function registerTensorflowKernels(): void {
  if (registered) return;
  const stock = tf.getKernel(tf.Cast, 'tensorflow');
  if (stock == null) return; // tfjs-node not loaded into this engine: nothing to override
  tf.unregisterKernel(tf.Cast, 'tensorflow');
  tf.registerKernel({
    ...stock,
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (x.dtype === (args.attrs as { dtype: tf.DataType }).dtype) {
        (args.backend as unknown as NodeBackend).incRef(x.dataId);
        return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
      }
      return stock.kernelFunc(args);
    },
  });
  registered = true;
}
