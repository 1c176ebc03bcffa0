/**
 * Losses, each the mean over examples, as PyTorch computes them (the numbers in our run
 * records must be comparable to the paper's logs).
 */
import { tf } from '../tf.ts';

export interface CrossEntropyArgs {
  /** torch.nn.CrossEntropyLoss(label_smoothing=...): the target is (1 - e) one-hot + e / C uniform. Default 0. */
  labelSmoothing?: number;
}

/**
 * Cross-entropy of logits `[N, C]` against integer labels `[N]`, averaged over N.
 * With smoothing e: (1 - e) * nll + e * mean_c(-log p_c), as torch does.
 */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor, args: CrossEntropyArgs = {}): tf.Scalar {
  const e = args.labelSmoothing ?? 0;
  return tf.tidy(() => {
    const [, C] = logits.shape as [number, number];
    const logp = tf.logSoftmax(logits); // [N, C]
    const onehot = tf.oneHot(tf.cast(labels, 'int32'), C); // [N, C]
    const nll = tf.neg(tf.sum(tf.mul(logp, onehot), -1)); // [N]
    if (e === 0) return tf.mean(nll) as tf.Scalar;
    const smooth = tf.neg(tf.mean(logp, -1)); // [N]
    return tf.mean(tf.add(tf.mul(nll, 1 - e), tf.mul(smooth, e))) as tf.Scalar;
  });
}

/** Cross-entropy against soft targets `[N, C]` (rows sum to 1; mixup/cutmix), averaged over N (timm's SoftTargetCrossEntropy). */
export function softTargetCrossEntropy(logits: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), -1))) as tf.Scalar);
}

/**
 * Mean squared error over the positions where `mask` is 1: pred and target `[..., D]`, mask
 * `[...]`. Equal to torch.mean((pred[mask > 0] - target[mask > 0]) ** 2), the Decision
 * Transformer's action loss: a sum over the kept rows and their D features, divided by (kept rows * D).
 */
export function maskedMse(pred: tf.Tensor, target: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const D = pred.shape[pred.rank - 1]!;
    const m = tf.expandDims(tf.cast(mask, 'float32'), -1); // [..., 1]
    const sq = tf.mul(tf.square(tf.sub(pred, target)), m);
    const count = tf.mul(tf.maximum(tf.sum(m), 1), D); // an all-masked batch gives 0, not NaN
    return tf.div(tf.sum(sq), count) as tf.Scalar;
  });
}

/** Fraction of rows of logits `[N, C]` whose argmax equals the label (a helper for task metrics). */
export function accuracy(logits: tf.Tensor, labels: tf.Tensor): number {
  const t = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(logits, -1), tf.cast(labels, 'int32')), 'float32')));
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
}
