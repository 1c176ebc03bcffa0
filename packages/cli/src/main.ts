/**
 * The `flowformer` CLI. Each command lives in `src/commands/<name>.ts` and exports a yargs
 * CommandModule; this file only assembles them and turns errors into short, useful messages.
 */
import yargs, { type Argv, type CommandModule } from 'yargs';
import { shutdownBackend } from '@flowformer/core';
import { parseThreadCount } from '@flowformer/core/backend';
import { infoCommand } from './commands/info.ts';
import { listCommand } from './commands/list.ts';
import { dataCommand } from './commands/data.ts';
import { trainCommand, evalCommand } from './commands/train.ts';
import { configCommand } from './commands/config.ts';
import { generateCommand } from './commands/generate.ts';
import { benchCommand } from './commands/bench.ts';
import { visualizeCommand } from './commands/visualize.ts';
import { setupCommand } from './commands/setup.ts';
import { reproduceCommand } from './commands/reproduce.ts';
import { checkCommand } from './commands/check.ts';
import { importCommand } from './commands/import.ts';
import { tensorboardCommand } from './commands/tensorboard.ts';
import { sweepCommand } from './commands/sweep.ts';
import { discoverTasks } from './discover.ts';

export const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;

/** Options every command accepts. */
export function withGlobalOptions<T>(y: Argv<T>) {
  return y
    .option('backend', {
      choices: BACKENDS,
      describe: 'compute backend; default: $FLOWFORMER_BACKEND or auto (tensorflow-gpu > tensorflow > wasm > cpu)',
      type: 'string',
    })
    .option('data-root', {
      type: 'string',
      describe: "where datasets live; default: $FLOWFORMER_DATA_ROOT, else the config's data.root, else <repo>/data",
    })
    .option('threads', {
      type: 'number',
      describe: 'threads to compute with (wasm: pthreads; tensorflow: intra-op pool); default: $FLOWFORMER_THREADS, else one per core; reproduce --jobs N gives each job cores/N',
    })
    .middleware((a) => {
      // Passed on as FLOWFORMER_THREADS, which initBackend reads and the jobs of `reproduce` inherit.
      if (a.threads !== undefined) process.env.FLOWFORMER_THREADS = String(parseThreadCount(a.threads, '--threads'));
    });
}


export async function main(argv: string[]): Promise<void> {
  const tasks = await discoverTasks();
  const commands: CommandModule<any, any>[] = [trainCommand(tasks), evalCommand, configCommand, generateCommand, visualizeCommand(tasks), dataCommand(tasks), benchCommand(tasks), setupCommand, reproduceCommand, checkCommand(tasks), importCommand(tasks), tensorboardCommand, sweepCommand, listCommand, infoCommand];
  const cli = withGlobalOptions(yargs(argv))
    .scriptName('flowformer')
    .usage('$0 <command> [options]\n\nFlowformer (ICML 2022) in TypeScript: train, evaluate, benchmark and reproduce the paper.')
    .strict()
    .demandCommand(1, 'Name a command (see the list above), e.g. `flowformer train --task lra`.')
    .recommendCommands()
    .epilogue('Each command has its own --help with examples. Docs: README.md, docs/.')
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, err, y) => {
      if (err) throw err;
      console.error(y.help().toString?.() ?? '');
      console.error(`\nerror: ${msg}`);
      process.exit(2);
    });
  for (const c of commands) cli.command(c);
  try {
    await cli.parseAsync();
  } catch (e) {
    const err = e as Error;
    console.error(`error: ${err.message}`);
    if (process.env.FLOWFORMER_DEBUG) console.error(err.stack);
    process.exitCode = 1;
  } finally {
    await shutdownBackend();
  }
}
