import type { CommandModule } from 'yargs';
import { backendInfo, initBackend } from '@flowformer/core';
import { gpuRows, gpuJson } from '../launch/gpu-info.ts';
import { mallocText, tensorflowMissing, threadsText } from '../backend-text.ts';

interface InfoArgs {
  backend?: string;
  json?: boolean;
}

export const infoCommand: CommandModule<object, InfoArgs> = {
  command: 'info',
  describe: 'Show the compute backend that would be used, why, its thread count and versions',
  builder: (y) =>
    y
      .option('json', { type: 'boolean', describe: 'print machine-readable JSON' })
      .example('$0 info', 'which backend runs here, and why')
      .example('$0 info --backend cpu', 'force the pure-JS backend')
      .example('FLOWFORMER_BACKEND=wasm $0 info', 'the same through the environment') as never,
  handler: async (args) => {
    try {
      await initBackend(args.backend as never);
    } catch (e) {
      // tensorflow-gpu asked for and not loadable: still say which GPUs and CUDA libraries are here.
      if ((args.backend ?? process.env.FLOWFORMER_BACKEND) !== 'tensorflow-gpu') throw e;
      console.error((e as Error).message);
      for (const [k, v] of gpuRows({ backend: 'tensorflow-gpu', requested: 'tensorflow-gpu' })) console.log(`${k.padEnd(12)}  ${v}`);
      process.exitCode = 1;
      return;
    }
    const info = backendInfo();
    if (args.json) {
      console.log(JSON.stringify({ ...info, malloc: mallocText(), ...gpuJson(info) }, null, 2));
      return;
    }
    const rows: [string, string][] = [
      ['backend', info.backend],
      ['requested', `${info.requested} (${info.requestedBy})`],
      ...info.attempts.map(
        (a) => [`tried ${a.backend}`, a.ok ? 'ok' : `no: ${firstSentence(a.error ?? 'failed')}`] as [string, string],
      ),
      ['threads', threadsText(info)],
      ['simd', String(info.simd)],
      ...(info.xla != null ? [['xla kernels', info.xla] as [string, string]] : []),
      ['malloc', mallocText()],
      ...Object.entries(info.versions).map(([k, v]) => [`version ${k}`, String(v)] as [string, string]),
      ...gpuRows(info),
    ];
    // On wasm or cpu because tfjs-node is missing: say how to get the faster backend, which the
    // first sentence of its error above leaves out.
    if (tensorflowMissing(info))
      rows.push(['hint', 'the tensorflow backend trains several times faster than wasm: `flowformer setup tensorflow --from <tensorflow_cpu wheel | libtensorflow tarball>` offline, or `npm install @tensorflow/tfjs-node` with internet (docs/tensorflow-offline.md)']);
    const w = Math.max(...rows.map((r) => r[0].length));
    for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
  },
};

/** The first sentence of a long error (the full text is in `--json`). */
function firstSentence(s: string): string {
  const i = s.search(/\.\s/);
  return i > 0 ? s.slice(0, i + 1) : s;
}
