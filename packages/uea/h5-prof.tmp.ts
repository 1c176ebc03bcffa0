import { initBackend, tf, Rng, FlowAttention, SoftmaxAttention } from '@flowformer/core';
import { UeaClassifier } from './src/model.ts';
await initBackend((process.env.BK as any) ?? 'wasm');
const rng = new Rng(0);
for (const att of ['flow', 'softmax']) {
  const m = new UeaClassifier(rng, { numDims: 6, maxLen: 100, numClasses: 4, dModel: 32, nHeads: 4, nLayers: 2, dFF: 64, dropout: 0.1, activation: 'gelu', posEncoding: 'learnable', maskAttention: false,
    attention: (r) => att === 'flow' ? new FlowAttention(r, { dModel: 32, nHeads: 4, clamp: null }) : new SoftmaxAttention(r, { dModel: 32, nHeads: 4 }) });
  const x = tf.randomNormal([16, 100, 6]) as tf.Tensor3D; const mask = tf.ones([16, 100]) as tf.Tensor2D; const y = tf.zeros([16], 'int32') as tf.Tensor1D;
  const vars = m.trainableVariables();
  for (let i = 0; i < 4; i++) {
    let t0 = performance.now();
    const o = m.forward(x, mask, { training: false }); o.dataSync(); o.dispose();
    const tf_ = performance.now() - t0; t0 = performance.now();
    const { value, grads } = tf.variableGrads(() => m.loss({ x, mask, y, size: 16, tensors: [] }, { training: true, rng }), vars);
    value.dataSync(); Object.values(grads).forEach((g) => g.dataSync());
    tf.dispose([value, ...Object.values(grads)]);
    console.log(att, 'fwd', tf_.toFixed(0), 'ms; fwd+bwd', (performance.now() - t0).toFixed(0), 'ms');
  }
}
process.exit(0);
