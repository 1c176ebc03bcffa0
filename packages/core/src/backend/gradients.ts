/**
 * Gradient fixes, registered for every backend when @flowformer/core is imported.
 *
 * Cumsum: tfjs 4.22's gradient transposes the result when `axis` is not the last one, which
 * throws for non-square shapes and is silently wrong for square ones. The true adjoint of an
 * (exclusive / reverse) prefix sum along `axis` is the same prefix sum run the other way along
 * the same axis:
 *   y = cumsum(x, axis, exclusive, reverse)  =>  dx = cumsum(dy, axis, exclusive, !reverse)
 * (inclusive: y_i = sum_{j<=i} x_j, so dx_j = sum_{i>=j} dy_i; exclusive: strict inequalities).
 */
import { tf } from '../tf.ts';

const cumsumGradConfig: tf.GradConfig = {
  kernelName: tf.Cumsum,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const { axis, exclusive, reverse } = attrs as unknown as { axis: number; exclusive: boolean; reverse: boolean };
    const ax = axis < 0 ? axis + x!.rank : axis;
    return { x: () => tf.cumsum(dy as tf.Tensor, ax, exclusive, !reverse) };
  },
};

let registered = false;

/** Re-register our gradients (idempotent; runs on import). */
export function registerGradientFixes(): void {
  if (registered) return;
  // unregister first: registerGradient would otherwise warn about the duplicate.
  if (tf.getGradient(tf.Cumsum) != null) tf.unregisterGradient(tf.Cumsum);
  tf.registerGradient(cumsumGradConfig);
  registered = true;
}

registerGradientFixes();
