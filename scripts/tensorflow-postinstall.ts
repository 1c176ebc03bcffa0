/**
 * npm `postinstall` of the root package: when FLOWFORMER_TENSORFLOW_FROM names a local
 * TensorFlow wheel, libtensorflow tarball or directory, set up the tensorflow backend from it
 * (what `flowformer setup tensorflow --from` does), so that `npm install` on an air-gapped
 * machine ends with a working @tensorflow/tfjs-node. Set FLOWFORMER_TENSORFLOW_GPU=1 for
 * @tensorflow/tfjs-node-gpu.
 *
 * Without the variable it does nothing. A failure is reported loudly but does not fail
 * `npm install`: the project keeps working on wasm and cpu.
 */
import { setupTensorflow } from '../packages/core/src/backend/tensorflow-setup.ts';

const from = process.env.FLOWFORMER_TENSORFLOW_FROM;
if (from) {
  const variant = process.env.FLOWFORMER_TENSORFLOW_GPU === '1' ? 'gpu' : 'cpu';
  try {
    const r = await setupTensorflow({ from, variant, log: (s) => console.error(`flowformer setup tensorflow: ${s}`) });
    const steps = Object.entries(r.seconds).map(([k, v]) => `${k} ${v}s`).join(', ');
    console.error(`flowformer setup tensorflow: ${r.packageName} ready (${r.did.join(', ') || 'already set up'}; ${steps}): ${r.verified}`);
  } catch (e) {
    console.error(
      `\nflowformer setup tensorflow FAILED (FLOWFORMER_TENSORFLOW_FROM=${from}):\n${(e as Error).message}\n` +
        `npm install itself succeeded; the project computes on wasm/cpu. Fix the cause and run ` +
        `\`npx flowformer setup tensorflow --from ${from}\`.\n`,
    );
  }
}
