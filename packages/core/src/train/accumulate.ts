/**
 * The forward and backward passes of one update: the loss and the gradients over its
 * micro-batches, each weighted by its share of the update's examples, so that `gradAccum`
 * micro-batches of b examples give the update of one batch of gradAccum x b.
 */
import { tf } from '../tf.ts';
import type { Batch, TaskModel } from './task-contract.ts';
import { variableGrads } from './grads.ts';
import type { Rng } from '../rng.ts';

export interface AccumulateArgs {
  model: TaskModel;
  /** The variables to differentiate, and the parameter name of each variable. */
  trainable: tf.Variable[];
  paramName: Map<string, string>;
  /** The example indices of each micro-batch. */
  micro: Int32Array[];
  /** Builds (or hands over the prefetched) micro-batch k; its tensors are disposed here. */
  batch: (k: number) => Batch | Promise<Batch>;
  /** The dropout stream, drawn in micro-batch order. */
  dropout: Rng;
}

export interface Accumulated {
  /** The update's loss: the example-weighted mean of the micro-batch losses. */
  loss: number;
  /** By parameter name; the caller owns them. */
  grads: Record<string, tf.Tensor>;
  /** Tokens in the update (0 when the task does not count them). */
  tokens: number;
}

export async function accumulateGradients(a: AccumulateArgs): Promise<Accumulated> {
  const examples = a.micro.reduce((s, m) => s + m.length, 0);
  const grads: Record<string, tf.Tensor> = {};
  let loss = 0;
  let tokens = 0;
  for (let k = 0; k < a.micro.length; k++) {
    const batch = await a.batch(k);
    const weight = a.micro[k]!.length / examples;
    try {
      // tfjs's gradients, with a backward pass that frees each gradient and saved activation once used (grads.ts).
      const { value, grads: g } = variableGrads(() => a.model.loss(batch, { training: true, rng: a.dropout }), a.trainable);
      loss += value.dataSync()[0]! * weight;
      value.dispose();
      for (const [vname, gt] of Object.entries(g)) {
        const name = a.paramName.get(vname) ?? vname;
        const scaled = weight === 1 ? gt : tf.mul(gt, weight);
        if (scaled !== gt) gt.dispose();
        const prev = grads[name];
        grads[name] = prev ? tf.add(prev, scaled) : scaled;
        if (prev) {
          prev.dispose();
          scaled.dispose();
        }
      }
      tokens += batch.tokens ?? 0;
    } catch (e) {
      tf.dispose(Object.values(grads));
      throw e;
    } finally {
      for (const t of batch.tensors) t.dispose();
    }
  }
  return { loss, grads, tokens };
}
