/**
 * `flowformer setup tensorflow --from PATH`: install the TensorFlow backend offline (see
 * packages/core/src/backend/tensorflow-setup.ts for what it does and why).
 */
import type { CommandModule } from 'yargs';
import { setupTensorflow, type TensorflowVariant } from '@flowformer/core/backend';

interface SetupArgs {
  what?: string;
  from?: string;
  gpu?: boolean;
  force?: boolean;
}

export const setupCommand: CommandModule<object, SetupArgs> = {
  command: 'setup <what>',
  describe: 'Install an optional component offline: `setup tensorflow --from <wheel | libtensorflow tarball | dir>`',
  builder: (y) =>
    y
      .positional('what', { choices: ['tensorflow'], describe: 'the component to set up', type: 'string' })
      .option('from', {
        type: 'string',
        describe: 'tensorflow_cpu-*.whl, libtensorflow-*.tar.gz or an unpacked libtensorflow directory; default: $FLOWFORMER_TENSORFLOW_FROM',
      })
      .option('gpu', { type: 'boolean', default: false, describe: 'set up @tensorflow/tfjs-node-gpu (needs a GPU build of libtensorflow)' })
      .option('force', { type: 'boolean', default: false, describe: 'rebuild the addon even if it is up to date' })
      .example('$0 setup tensorflow --from /opt/pypi/files/tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl', 'build tfjs-node against the wheel\'s libtensorflow')
      .example('$0 setup tensorflow --gpu --from libtensorflow-gpu-linux-x86_64-2.9.1.tar.gz', 'the same for tfjs-node-gpu') as never,
  handler: async (args) => {
    const from = args.from ?? process.env.FLOWFORMER_TENSORFLOW_FROM;
    if (!from) {
      throw new Error('setup tensorflow: give --from <tensorflow_cpu-*.whl | libtensorflow tarball | directory> (or set FLOWFORMER_TENSORFLOW_FROM).');
    }
    const variant: TensorflowVariant = args.gpu ? 'gpu' : 'cpu';
    const r = await setupTensorflow({ from, variant, force: args.force, log: (s) => console.error(s) });
    const steps = Object.entries(r.seconds).map(([k, v]) => `${k} ${v}s`).join(', ');
    console.log(`${r.packageName}: ${r.did.length ? r.did.join(', ') : 'already set up'} (${steps})`);
    console.log(`  package    ${r.linkedAt}${r.linkedAt !== r.packageDir ? ` -> ${r.packageDir}` : ''}`);
    console.log(`  library    ${r.libtensorflowDir}`);
    console.log(`  addon      ${r.addon}`);
    console.log(`  verified   ${r.verified}`);
    console.log(`Use it with --backend ${variant === 'gpu' ? 'tensorflow-gpu' : 'tensorflow'} (auto picks it first).`);
  },
};
