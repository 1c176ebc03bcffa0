/**
 * `flowformer tensorboard [RUNS...] [--table T --scale S]`: the `tensorboard` command that shows
 * the event files of the runs asked for, or of the runs behind a table's cells (every run writes
 * `<run>/tb/`), started when TensorBoard is on the PATH.
 *
 * One folder becomes `--logdir` (TensorBoard finds every run below it and names it by its path);
 * several become `--logdir_spec name:folder,...`, each named by its path under results/runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { parse as parseYaml } from 'yaml';
import { flattenHParams, readRunSummaries, RunRecord, runsOfJob, tableJobs, tableNames, type Scale } from '@flowformer/core/results';
import { repoRoot } from '../paths.ts';
import { runRoots } from './train.ts';

interface TensorboardArgs {
  runs?: string[];
  table?: string;
  scale?: Scale;
  'results-root'?: string;
  port?: number;
  print?: boolean;
}

/**
 * The folders to show: those given, else the results root's runs/. A run in them without event
 * files (trained before runs wrote them, or with --no-tensorboard) gets them now, from its
 * metrics.jsonl and config.yaml, as the trainer would have written them.
 */
export function logdirsOf(runs: string[] | undefined, resultsRoot: string, log: (m: string) => void = () => {}): string[] {
  const dirs = runs?.length ? runs.map((r) => path.resolve(r)) : [path.join(resultsRoot, 'runs')];
  let written = 0;
  for (const d of dirs) {
    if (!fs.existsSync(d)) throw new Error(`${d} does not exist: name run folders (results/runs/<task>/<config>/<run-id>) or folders that hold them`);
    written += runFoldersIn(d).filter((r) => !hasEventFiles(r) && writeEventFiles(r)).length;
    if (!hasEventFiles(d)) throw new Error(`${d} holds no TensorBoard event files and no run to write them for (a run folder holds summary.json and metrics.jsonl)`);
  }
  if (written) log(`wrote tb/ from metrics.jsonl for ${written} run${written === 1 ? '' : 's'} without event files (trained before runs wrote them, or with --no-tensorboard)`);
  return dirs;
}

/** Run folders at or below `dir`: those holding a summary.json and a metrics.jsonl. */
function runFoldersIn(dir: string): string[] {
  const isRun = (d: string) => fs.existsSync(path.join(d, 'summary.json')) && fs.existsSync(path.join(d, 'metrics.jsonl'));
  if (isRun(dir)) return [dir];
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => path.basename(f) === 'summary.json')
    .map((f) => path.join(dir, path.dirname(f)))
    .filter(isRun);
}

/** Writes `<run>/tb/` from the run's record; false when it has no config.yaml to describe it. */
function writeEventFiles(runDir: string): boolean {
  const configFile = path.join(runDir, 'config.yaml');
  if (!fs.existsSync(configFile)) return false;
  const configYaml = fs.readFileSync(configFile, 'utf8');
  new RunRecord(runDir).startTensorBoard({ configYaml, hparams: flattenHParams(parseYaml(configYaml)) });
  return true;
}

function hasEventFiles(dir: string): boolean {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).some((f) => path.basename(f).includes('tfevents'));
}

/** The run folders behind a table's cells: every completed run of each of its jobs. */
export function tableRunDirs(table: string, scale: Scale, resultsRoot: string, root: string): string[] {
  const runs = readRunSummaries(resultsRoot, root);
  const dirs = tableJobs({ table, scale, repoRoot: root }).flatMap((j) => runsOfJob(j, runs, root).map((r) => r.runDir));
  if (!dirs.length) throw new Error(`table ${table} (scale ${scale}) has no completed runs under ${resultsRoot} (see 'flowformer reproduce --table ${table} --scale ${scale} --dry-run')`);
  return [...new Set(dirs)];
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
      .option('table', { type: 'string', choices: tableNames(), describe: "the runs behind a table's cells (with --scale), instead of RUNS" })
      .option('scale', { choices: ['paper', 'mini'] as const, default: 'paper' as const, describe: 'with --table: the paper or the mini table' })
      .option('results-root', { type: 'string', describe: 'where runs/ is; default $FLOWFORMER_RESULTS_ROOT or <repo>/results' })
      .option('port', { type: 'number', describe: "TensorBoard's port (its default: 6006)" })
      .option('print', { type: 'boolean', default: false, describe: 'only print the command, even when tensorboard is on the PATH' })
      .example('$0 tensorboard', 'every run under results/runs')
      .example('$0 tensorboard results/runs/lra', "all of one task's runs, named by config and run id")
      .example('$0 tensorboard --table uea --scale mini', 'the runs behind the UEA mini table')
      .example('$0 tensorboard results/runs/lra/listops-mini/<run-a> results/runs/lra/listops-mini/<run-b>', 'two runs side by side')
      .epilogue('TensorBoard itself is Python: `pip install tensorboard`. The HParams tab compares runs by their config settings.') as never,
  handler: async (args) => {
    const { resultsRoot } = runRoots(args);
    if (args.table && args.runs?.length) throw new Error('give run folders or --table, not both');
    const runs = args.table ? tableRunDirs(args.table, args.scale ?? 'paper', resultsRoot, repoRoot()) : args.runs;
    const tbArgs = tensorboardArgs(logdirsOf(runs, resultsRoot, (m) => console.error(m)), resultsRoot, args.port);
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
