// Scratch: ListOps mini learning check (not committed).
import { tf, Rng, FlowAttention, makeOptimizer, initBackend } from './core-shim.ts';
import { LraClassifier } from './scratch-model.ts';
import { generateListOpsSplits, encodeListOps, LISTOPS_VOCAB_SIZE } from './src/data/listops.ts';
import { LISTOPS_MINI_RULES } from './src/data/generate.ts';
import { LraSplit, classCounts } from './src/data/splits.ts';

const info = await initBackend(process.env.BK as any ?? 'wasm');
console.log('backend', info.name ?? info);
const L = 64;
const data = generateListOpsSplits(new Rng(1), { train: Number(process.env.NTRAIN ?? 8000), val: 500, test: 1000 }, LISTOPS_MINI_RULES);
const mk = (ex: typeof data.train) => new LraSplit({ seqs: ex.map((e) => Uint8Array.from(encodeListOps(e.source, L, false))), offset: 0 }, Int32Array.from(ex.map((e) => e.target)), L);
const train = mk(data.train), test = mk(data.test);
const cc = classCounts(train.labels, 10);
const maj = cc.indexOf(Math.max(...cc));
console.log('train class counts', cc, 'test majority rate', test.labels.filter((l) => l === maj).length / test.size);
const E = Number(process.env.E ?? 128), H = Number(process.env.H ?? 4), MLP = Number(process.env.MLP ?? 256), NL = Number(process.env.NL ?? 2);
const rng = new Rng(0);
const model = new LraClassifier(rng, {
  vocabSize: LISTOPS_VOCAB_SIZE, maxLength: L, numClasses: 10, embDim: E, nLayers: NL, mlpDim: MLP, dropout: 0.1,
  pool: 'cls', positions: 'sinusoidal', maskPadding: true, dual: false,
  attention: (r) => new FlowAttention(r, { dModel: E, nHeads: H, dInput: E, dOutput: E, ...(process.env.LRAFLOW ? { featureMap: 'relu', clamp: null, competitionAxis: 'heads' } : {}) }),
});
console.log('params', model.numParams());
const opt = makeOptimizer({ type: 'adamw', lr: 1e-3, betas: [0.9, 0.98], eps: 1e-9, weightDecay: 0.01, decayAll: false } as any, model.namedParams());
const B = 32, steps = Number(process.env.STEPS ?? 600), warm = 100, peak = Number(process.env.LR ?? 1e-3);
const drng = new Rng(5), dropRng = new Rng(6);
let perm = drng.permutation(train.size), pos = 0;
const names = model.namedParams().filter((p) => p.trainable);
const t0 = Date.now();
const evalAcc = (split: LraSplit) => {
  let correct = 0;
  for (let s = 0; s < split.size; s += 100) {
    const idx = Int32Array.from({ length: Math.min(100, split.size - s) }, (_, i) => s + i);
    const b = split.batch(idx);
    const c = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(model.forward(b, { training: false }), -1), b.labels), 'float32')));
    correct += c.dataSync()[0]!; c.dispose(); b.tensors.forEach((t) => t.dispose());
  }
  return correct / split.size;
};
let lossAvg = 0;
for (let step = 1; step <= steps; step++) {
  if (pos + B > train.size) { perm = drng.permutation(train.size); pos = 0; }
  const b = train.batch(perm.subarray(pos, pos + B)); pos += B;
  const { value, grads } = tf.variableGrads(() => model.loss(b, { training: true, rng: dropRng }), names.map((p) => p.variable));
  const g: Record<string, tf.Tensor> = {};
  for (const p of names) g[p.name] = grads[p.variable.name]!;
  const lr = step < warm ? (peak * step) / warm : peak * Math.sqrt(warm / step);
  opt.step(g, lr);
  lossAvg = 0.98 * lossAvg + 0.02 * value.dataSync()[0]!;
  value.dispose(); Object.values(grads).forEach((t) => t.dispose()); b.tensors.forEach((t) => t.dispose());
  if (step % Number(process.env.EVERY ?? 100) === 0) console.log(`step ${step} loss ${(lossAvg / (1 - 0.98 ** step)).toFixed(3)} ${((Date.now() - t0) / 1000).toFixed(0)}s tensors ${tf.memory().numTensors}`);
}
console.log('test acc', evalAcc(test), 'time', ((Date.now() - t0) / 1000).toFixed(0), 's');
