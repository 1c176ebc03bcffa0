/**
 * Run records: `<resultsRoot>/runs/<task>/<config-name>/<run-id>/` holding
 *
 *   config.yaml     the resolved config the run used (loadable again: `--resume` reads it)
 *   metrics.jsonl   one JSON object per line: {"type":"train",...} per logged step,
 *                   {"type":"eval",...} per evaluation, {"type":"test",...} for the best checkpoint on test,
 *                   {"type":"final",...} for the task's final protocol on the last model (Task.finalEval)
 *   summary.json    what `reproduce` and people read (see RunSummary)
 *   ckpt/best, ckpt/last
 *   curves.png      training loss and the evaluation metric against the step
 *   tb/             TensorBoard event files, derived from metrics.jsonl (tensorboard.ts)
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chartsSvg, svgToPng, type Series } from './plot.ts';
import { checkpointExists } from './checkpoint.ts';
import { TensorBoardWriter, type TensorBoardRunArgs } from './tensorboard.ts';

/** The repository root, found from this file's location (configs and results are relative to it). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

/**
 * A JSON.stringify replacer that writes every absolute path inside `repoRoot` relative to it,
 * also within a string (a command line, files joined with ' + '). Records and tables are
 * committed and read in other clones, where the absolute path of the machine that wrote them
 * points nowhere (or at another checkout); commands become what one runs from the repository.
 */
export function repoRelativePaths(repoRoot = REPO_ROOT): (key: string, v: unknown) => unknown {
  const root = repoRoot.endsWith(path.sep) ? repoRoot.slice(0, -1) : repoRoot;
  const escape = (x: string) => x.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  // The root followed by a separator, where a path starts: at the start, after a space, '=', '+', ',' or a quote.
  const inside = new RegExp(`(^|[\\s=+,'"])${escape(root + path.sep)}`, 'g');
  return (_key, v) => (typeof v === 'string' ? v.replace(inside, '$1') : v);
}

/** A path as a record stores it: relative to the repository when inside it, absolute otherwise. */
export function recordedPath(p: string, repoRoot = REPO_ROOT): string {
  return repoRelativePaths(repoRoot)('', path.resolve(p)) as string;
}

/**
 * A path read from a record, made absolute: a relative one is taken from the repository. An
 * absolute one that does not exist here (written in another checkout, or before records stored
 * relative paths) is mapped onto this repository by its part from `configs/` or `results/` on,
 * when that file exists here; otherwise it is returned as it was.
 */
export function resolveRecordedPath(p: string, repoRoot = REPO_ROOT): string {
  if (!path.isAbsolute(p)) return path.resolve(repoRoot, p);
  if (fs.existsSync(p)) return p;
  const parts = p.split(/[\\/]/);
  for (let i = parts.length - 2; i >= 0; i--) {
    if (parts[i] !== 'configs' && parts[i] !== 'results') continue;
    const here = path.join(repoRoot, ...parts.slice(i));
    if (fs.existsSync(here)) return here;
  }
  return p;
}

/**
 * A summary as read from `file`: `runDir` is where the file lies (the recorded one may be another
 * machine's path) and `configPath` is absolute on this machine (resolveRecordedPath).
 */
export function readSummaryFile(file: string, repoRoot = REPO_ROOT): RunSummary {
  const s = JSON.parse(fs.readFileSync(file, 'utf8')) as RunSummary;
  return { ...s, runDir: path.dirname(path.resolve(file)), configPath: s.configPath ? resolveRecordedPath(s.configPath, repoRoot) : s.configPath };
}

export interface MetricsLine {
  type: 'train' | 'eval' | 'test' | 'final';
  step: number;
  [k: string]: unknown;
}

export interface RunSummary {
  task: string;
  dataset: string;
  model: string;
  attention: string;
  configName: string;
  configPath: string;
  runId: string;
  runDir: string;
  /** 'running' while training (rewritten at every evaluation), then how it ended. */
  status: 'running' | 'completed' | 'interrupted' | 'stopped' | 'diverged';
  metric: { name: string; mode: 'max' | 'min'; split: string };
  /** Best evaluation by the task's metric (the `ckpt/best` checkpoint). */
  best: { value: number; step: number; epoch: number; metrics: Record<string, number> } | null;
  /** The last evaluation. */
  final: { step: number; epoch: number; metrics: Record<string, number> } | null;
  /** The best checkpoint evaluated on the test split (when selection used the validation split). */
  test: { step: number; metrics: Record<string, number> } | null;
  /** The task's final protocol on the last model (`Task.finalEval`), in the task's own shape. */
  finalEval?: Record<string, unknown>;
  steps: number;
  totalSteps: number;
  epochs: number;
  /** Training loss averaged over the last logging window. */
  lastLoss: number | null;
  params: number;
  wallSeconds: number;
  backend: string;
  seed: number;
  /** The command line that started the run (a resumed run keeps it: its `--set`s are part of the setting). */
  command: string;
  /** The command lines that resumed it, oldest first. */
  resumeCommands?: string[];
  /** The commit when the run started (`-dirty` if tracked files were modified), null outside git. */
  gitCommit: string | null;
  /** Set when the run was resumed on other commits than it started on. */
  resumedCommits?: string[];
  /**
   * While 'running': the process and machine writing the record, so that a reader can tell a
   * live run from one whose process is gone (see `runState`).
   */
  pid?: number;
  host?: string;
  /**
   * Under Slurm: the job, array task and node of the process that last wrote the record, and
   * (`earlier`) those of the jobs that trained it before (a requeued or resubmitted task).
   */
  slurm?: SlurmIds & { earlier?: SlurmIds[] };
  dataInfo: Record<string, unknown>;
  startedAt: string;
  finishedAt: string;
}

/** The Slurm ids of a process running under Slurm (from its SLURM_* variables). */
export interface SlurmIds {
  /** SLURM_JOB_ID: the task's own job id (an array task has one of its own). */
  jobId: string;
  /** SLURM_ARRAY_JOB_ID and SLURM_ARRAY_TASK_ID for an array task. */
  arrayJobId?: string;
  arrayTaskId?: string;
  /** SLURMD_NODENAME: the node it runs on. */
  node?: string;
  /** SLURM_RESTART_COUNT: how often the job was requeued. */
  restartCount?: number;
}

/** The Slurm ids of this process, from its environment; undefined outside a Slurm job. */
export function slurmIdsFromEnv(env: NodeJS.ProcessEnv = process.env): SlurmIds | undefined {
  const jobId = env.SLURM_JOB_ID;
  if (!jobId) return undefined;
  const restart = env.SLURM_RESTART_COUNT !== undefined ? Number(env.SLURM_RESTART_COUNT) : undefined;
  return {
    jobId,
    ...(env.SLURM_ARRAY_JOB_ID ? { arrayJobId: env.SLURM_ARRAY_JOB_ID } : {}),
    ...(env.SLURM_ARRAY_TASK_ID ? { arrayTaskId: env.SLURM_ARRAY_TASK_ID } : {}),
    ...(env.SLURMD_NODENAME ? { node: env.SLURMD_NODENAME } : {}),
    ...(restart !== undefined && Number.isFinite(restart) ? { restartCount: restart } : {}),
  };
}

/** How a run stands: its recorded status, or 'abandoned' for a 'running' record whose process is gone. */
export type RunState = RunSummary['status'] | 'abandoned';

/** Whether a process exists (EPERM: it exists, owned by someone else). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A run's state as a reader should take it. A record says 'running' until its process writes
 * how it ended; a process that was killed (SIGKILL, out of memory) or crashed never does. Such a
 * record, written on this machine by a process that no longer exists, is 'abandoned': its
 * ckpt/last (if any) can be resumed. A record from another machine, or from before records
 * named their process, cannot be told apart and stays 'running'.
 */
export function runState(s: Pick<RunSummary, 'status' | 'pid' | 'host'>, alive: (pid: number) => boolean = processAlive): RunState {
  if (s.status !== 'running' || s.pid === undefined || s.host !== os.hostname()) return s.status;
  return alive(s.pid) ? 'running' : 'abandoned';
}

/** A run that has not completed and may go on: interrupted, stopped early, running, or abandoned. */
export function isUnfinished(state: RunState): boolean {
  return state === 'interrupted' || state === 'stopped' || state === 'running' || state === 'abandoned';
}

/** A run that `--resume` can continue, given its ckpt/last: interrupted, stopped early, or abandoned. */
export function isResumable(state: RunState): boolean {
  return state === 'interrupted' || state === 'stopped' || state === 'abandoned';
}

/**
 * Whether `--resume` can continue this run here: a resumable state and a ckpt/last on disk.
 * An abandoned run may have died before its first checkpoint, and a record committed or copied
 * from another machine comes without its checkpoints.
 */
export function canResume(s: RunSummary, state: RunState = runState(s)): boolean {
  return isResumable(state) && checkpointExists(path.join(s.runDir, 'ckpt', 'last'));
}

/** A state in words, for tables: 'abandoned' says why. */
export function stateText(state: RunState): string {
  return state === 'abandoned' ? 'abandoned (its process is gone)' : state;
}

/**
 * The current commit of the repository at `cwd`, with `-dirty` when tracked files are modified,
 * or null outside git. Changes under the top-level `results/` do not count: they are outputs
 * (`reproduce` rewrites the committed tables), not the code that made a run.
 */
export function gitCommit(cwd = process.cwd()): string | null {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', ':(top)', ':(top,exclude)results'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    return dirty ? `${head}-dirty` : head;
  } catch {
    return null;
  }
}

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '').replace('T', '-');

export class RunRecord {
  readonly dir: string;
  /** Mirrors metrics.jsonl into `tb/` once startTensorBoard is called. */
  private tensorboard: TensorBoardWriter | null = null;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** A new, unique run folder: `<root>/runs/<task>/<config>/<yyyymmdd-hhmmss>-s<seed>[-n]`. */
  static create(resultsRoot: string, task: string, configName: string, seed: number, now = new Date()): RunRecord {
    const parent = path.join(path.resolve(resultsRoot), 'runs', task, configName);
    fs.mkdirSync(parent, { recursive: true });
    const base = `${stamp(now)}-s${seed}`;
    for (let n = 1; ; n++) {
      const dir = path.join(parent, n === 1 ? base : `${base}-${n}`);
      try {
        fs.mkdirSync(dir); // fails if it exists: two runs started in the same second get different ids
        return new RunRecord(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
  }

  get runId(): string {
    return path.basename(this.dir);
  }
  get configPath(): string {
    return path.join(this.dir, 'config.yaml');
  }
  get metricsPath(): string {
    return path.join(this.dir, 'metrics.jsonl');
  }
  get summaryPath(): string {
    return path.join(this.dir, 'summary.json');
  }
  get curvesPath(): string {
    return path.join(this.dir, 'curves.png');
  }
  ckpt(which: 'best' | 'last'): string {
    return path.join(this.dir, 'ckpt', which);
  }

  writeConfig(yaml: string): void {
    fs.writeFileSync(this.configPath, yaml);
  }

  appendMetrics(line: MetricsLine): void {
    fs.appendFileSync(this.metricsPath, JSON.stringify(line) + '\n');
    this.tensorboard?.append(line);
  }

  /**
   * Starts `tb/` from metrics.jsonl as it stands (empty for a new run, the kept lines of a resumed
   * one), then mirrors every line appended or truncated.
   */
  startTensorBoard(args: Omit<TensorBoardRunArgs, 'runDir'>): void {
    this.tensorboard = new TensorBoardWriter({ runDir: this.dir, ...args });
    this.tensorboard.rewrite(this.readMetrics());
  }

  readMetrics(): MetricsLine[] {
    if (!fs.existsSync(this.metricsPath)) return [];
    return fs
      .readFileSync(this.metricsPath, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as MetricsLine];
        } catch {
          return []; // a line cut by a crash
        }
      });
  }

  /** Keeps only lines up to `step` (a resumed run rewrites what came after its checkpoint). */
  truncateMetrics(step: number): void {
    const kept = this.readMetrics().filter((l) => l.step <= step && l.type !== 'test');
    fs.writeFileSync(this.metricsPath, kept.map((l) => JSON.stringify(l) + '\n').join(''));
    this.tensorboard?.rewrite(kept);
  }

  /**
   * Writes summary.json with every path inside the repository relative to it (recordedPath):
   * configPath, runDir and the data files in dataInfo. Records are committed and read in other
   * clones; readSummary makes configPath and runDir absolute again.
   */
  writeSummary(s: RunSummary, repoRoot = REPO_ROOT): void {
    const tmp = this.summaryPath + '.tmp';
    const slurm = this.slurmField(s);
    fs.writeFileSync(tmp, JSON.stringify({ ...s, runDir: s.runDir ?? this.dir, ...(slurm ? { slurm } : {}) }, repoRelativePaths(repoRoot), 2) + '\n');
    fs.renameSync(tmp, this.summaryPath);
  }

  /**
   * The summary's `slurm` field when this process runs under Slurm: its ids, with those of the
   * earlier jobs that trained this run (read from the summary on disk) under `earlier`.
   */
  private slurmField(s: RunSummary, env: NodeJS.ProcessEnv = process.env): RunSummary['slurm'] {
    const now = slurmIdsFromEnv(env);
    let before: RunSummary['slurm'] = s.slurm;
    if (!before && fs.existsSync(this.summaryPath)) {
      try {
        before = (JSON.parse(fs.readFileSync(this.summaryPath, 'utf8')) as RunSummary).slurm;
      } catch {
        before = undefined;
      }
    }
    if (!now) return before;
    if (!before) return now;
    const { earlier = [], ...last } = before;
    const same = last.jobId === now.jobId && last.restartCount === now.restartCount;
    return same ? { ...now, ...(earlier.length ? { earlier } : {}) } : { ...now, earlier: [...earlier, last] };
  }

  /** The summary with its paths made absolute here (readSummaryFile). */
  readSummary(repoRoot = REPO_ROOT): RunSummary | null {
    return fs.existsSync(this.summaryPath) ? readSummaryFile(this.summaryPath, repoRoot) : null;
  }

  /** Draws curves.png from metrics.jsonl: training loss, and the metric on the evaluated split. */
  async writeCurves(metric: string, title: string): Promise<void> {
    const lines = this.readMetrics();
    const loss: Series = { name: 'train loss', points: lines.filter((l) => l.type === 'train' && typeof l.loss === 'number').map((l) => [l.step, l.loss as number]) };
    const evals = lines.filter((l) => l.type === 'eval');
    const splits = [...new Set(evals.map((l) => String(l.split)))];
    const metricSeries: Series[] = splits.map((s) => ({
      name: `${s} ${metric}`,
      points: evals.filter((l) => l.split === s && typeof l[metric] === 'number').map((l) => [l.step, l[metric] as number]),
    }));
    const evalLoss: Series[] = splits
      .map((s) => ({ name: `${s} loss`, points: evals.filter((l) => l.split === s && typeof l.loss === 'number').map((l) => [l.step, l.loss as number] as [number, number]) }))
      .filter((s) => s.points.length > 0);
    const svg = chartsSvg([
      { series: [loss, ...evalLoss], opts: { title: `${title}: loss`, xLabel: 'update', yLabel: 'loss' } },
      { series: metricSeries, opts: { title: `${title}: ${metric}`, xLabel: 'update', yLabel: metric } },
    ]);
    await svgToPng(svg, this.curvesPath);
  }
}
