/**
 * `variableGrads` for the trainer: tfjs's `tf.variableGrads` with the backward pass of
 * nn/backward.ts, which frees each intermediate gradient and each saved activation as soon as
 * the walk is past it (tfjs's own pass keeps both to the end; see there).
 */
import { tf } from '../tf.ts';
import { gradientsFreeingAsYouGo, type AfterForward } from '../nn/backward.ts';

export { gradientsFreeingAsYouGo, nodesFromXsToY, type AfterForward, type TapeNode } from '../nn/backward.ts';

/**
 * Drop-in for `tf.variableGrads(f, varList)`: the value of the scalar `f()` and the gradient of
 * every trainable variable of `varList` it depends on, keyed by variable name; the backward pass
 * is `gradientsFreeingAsYouGo`.
 */
export function variableGrads(f: () => tf.Scalar, varList: tf.Variable[], afterForward?: AfterForward): { value: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const trainable = varList.filter((v) => v.trainable);
  if (trainable.length === 0) throw new Error(`variableGrads: none of the ${varList.length} variables is trainable`);
  const { value, grads } = gradientsFreeingAsYouGo(f, trainable, afterForward);
  if (value.rank !== 0) {
    value.dispose();
    tf.dispose(grads.filter((g): g is tf.Tensor => g !== null));
    throw new Error(`variableGrads: f must return a scalar, but returned a rank-${value.rank} tensor`);
  }
  if (grads.every((g) => g === null)) {
    value.dispose();
    throw new Error('variableGrads: the loss does not depend on any of the variables (are the ops that use them inside f?)');
  }
  const named: Record<string, tf.Tensor> = {};
  trainable.forEach((v, i) => {
    if (grads[i]) named[v.name] = grads[i]!;
  });
  return { value: value as tf.Scalar, grads: named };
}
