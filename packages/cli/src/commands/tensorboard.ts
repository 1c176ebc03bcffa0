/**
 * `flowformer tensorboard [RUNS...]`: the `tensorboard` command that shows the event files of the
 * runs asked for (every run writes `<run>/tb/`), started when TensorBoard is on the PATH.
 *
 * One folder becomes `--logdir` (TensorBoard finds every run below it and names it by its path);
 * several become `--logdir_spec name:folder,...`, each named by its path under results/runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { runRoots } from './train.ts';

interface TensorboardArgs {
  runs?: string[];
  'results-root'?: string;
  port?: number;
  print?: boolean;
}

/** The folders to show: those given (each must exist and hold event files), else the results root's runs/. */
export function logdirsOf(runs: string[] | undefined, resultsRoot: string): string[] {
  const dirs = runs?.length ? runs.map((r) => path.resolve(r)) : [path.join(resultsRoot, 'runs')];
  for (const d of dirs) {
    if (!fs.existsSync(d)) throw new Error(`${d} does not exist: name run folders (results/runs/<task>/<config>/<run-id>) or folders that hold them`);
    if (!hasEventFiles(d)) throw new Error(`${d} holds no TensorBoard event files (runs write <run>/tb/ unless trained with --no-tensorboard)`);
  }
  return dirs;
}

function hasEventFiles(dir: string): boolean {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).some((f) => path.basename(f).includes('tfevents'));
}

/** The arguments of `tensorboard` for these folders; run names are their paths under `<results>/runs`. */
export function tensorboardArgs(dirs: string[], resultsRoot: string, port?: number): string[] {
  const runsRoot = path.join(resultsRoot, 'runs');
  const name = (d: string) => (d.startsWith(runsRoot + path.sep) ? path.relative(runsRoot, d) : path.basename(d)).replaceAll(path.sep, '/');
  const where = dirs.length === 1 ? ['--logdir', dirs[0]!] : ['--logdir_spec', dirs.map((d) => `${name(d)}:${d}`).join(',')];
  return [...where, ...(port ? ['--port', String(port)] : [])];
}

const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`);

export const tensorboardCommand: CommandModule<object, TensorboardArgs> = {
  command: 'tensorboard [runs..]',
  describe: 'Show runs in TensorBoard: prints the exact `tensorboard` command, and starts it when TensorBoard is installed',
  builder: (y) =>
    y
      .positional('runs', { type: 'string', array: true, describe: 'run folders, or folders that hold runs (default: every run under results/runs)' })
      .option('results-root', { type: 'string', describe: 'where runs/ is; default $FLOWFORMER_RESULTS_ROOT or <repo>/results' })
      .option('port', { type: 'number', describe: "TensorBoard's port (its default: 6006)" })
      .option('print', { type: 'boolean', default: false, describe: 'only print the command, even when tensorboard is on the PATH' })
      .example('$0 tensorboard', 'every run under results/runs')
      .example('$0 tensorboard results/runs/lra', "all of one task's runs, named by config and run id")
      .example('$0 tensorboard results/runs/lra/listops-mini/<run-a> results/runs/lra/listops-mini/<run-b>', 'two runs side by side')
      .epilogue('TensorBoard itself is Python: `pip install tensorboard`. The HParams tab compares runs by their config settings.') as never,
  handler: async (args) => {
    const { resultsRoot } = runRoots(args);
    const tbArgs = tensorboardArgs(logdirsOf(args.runs, resultsRoot), resultsRoot, args.port);
    console.log(['tensorboard', ...tbArgs].map(quote).join(' '));
    const installed = spawnSync('tensorboard', ['--version_tb'], { stdio: 'ignore' }).status === 0;
    if (args.print) return;
    if (!installed) {
      console.error('tensorboard is not on the PATH: install it (`pip install tensorboard`) and run the command above.');
      return;
    }
    const child = spawn('tensorboard', tbArgs, { stdio: 'inherit' });
    await new Promise<void>((resolve) => child.on('exit', (code) => ((process.exitCode = code ?? 0), resolve())));
  },
};
