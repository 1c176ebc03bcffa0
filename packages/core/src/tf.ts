/**
 * The one TensorFlow.js namespace the whole project computes with.
 *
 * Every package imports `tf` from `@flowformer/core` (never from `@tensorflow/tfjs`
 * directly) so that library users, task packages and outside scripts share one engine,
 * one backend and one set of registered kernels and gradients.
 */
import * as tf from '@tensorflow/tfjs';

export { tf };
export type Tensor = tf.Tensor;
export type Rank = tf.Rank;
