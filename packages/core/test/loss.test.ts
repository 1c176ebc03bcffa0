import { describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { accuracy, crossEntropy, maskedMse, softTargetCrossEntropy } from '../src/train/loss.ts';

const logits = [
  [2, 0.5, -1],
  [0, 0, 3],
];
const labels = [0, 1];
const logSoftmax = (row: number[]) => {
  const m = Math.max(...row);
  const lse = m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
  return row.map((x) => x - lse);
};
const num = (t: tf.Tensor) => {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
};

describe('losses', () => {
  it('cross-entropy with and without label smoothing (torch definition)', () => {
    const lp = logits.map(logSoftmax);
    const nll = (lp[0]![0]! * -1 + lp[1]![1]! * -1) / 2;
    const e = 0.1;
    const smooth = lp.reduce((s, row, i) => s + (1 - e) * -row[labels[i]!]! + e * -(row.reduce((a, b) => a + b) / 3), 0) / 2;
    const L = tf.tensor2d(logits);
    const y = tf.tensor1d(labels, 'int32');
    expect(num(crossEntropy(L, y))).toBeCloseTo(nll, 5);
    expect(num(crossEntropy(L, y, { labelSmoothing: e }))).toBeCloseTo(smooth, 5);
    // Smoothing equals soft-target CE with targets (1 - e) onehot + e / C.
    const soft = tf.tensor2d([
      [1 - e + e / 3, e / 3, e / 3],
      [e / 3, 1 - e + e / 3, e / 3],
    ]);
    expect(num(softTargetCrossEntropy(L, soft))).toBeCloseTo(smooth, 5);
    expect(accuracy(L, y)).toBe(0.5);
    tf.dispose([L, y, soft]);
  });

  it('gradient of cross-entropy is (softmax - onehot) / N', () => {
    const L = tf.tensor2d(logits);
    const y = tf.tensor1d(labels, 'int32');
    const g = tf.grad((x: tf.Tensor) => crossEntropy(x, y))(L);
    const expected = logits.map((row, i) => logSoftmax(row).map((l, c) => (Math.exp(l) - (c === labels[i] ? 1 : 0)) / 2));
    Array.from(g.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected.flat()[i]!, 5));
    tf.dispose([L, y, g]);
  });

  it('masked MSE averages over kept rows and features (Decision Transformer)', () => {
    // [B=1, T=3, D=2], the last step padded.
    const pred = tf.tensor3d([[[1, 2], [3, 4], [100, 100]]]);
    const target = tf.tensor3d([[[0, 0], [3, 2], [0, 0]]]);
    const mask = tf.tensor2d([[1, 1, 0]]);
    expect(num(maskedMse(pred, target, mask))).toBeCloseTo((1 + 4 + 0 + 4) / 4, 6);
    const none = tf.zeros([1, 3]);
    expect(num(maskedMse(pred, target, none))).toBe(0);
    tf.dispose([pred, target, mask, none]);
  });
});
