/**
 * The plan of a table: every job `flowformer reproduce --table T --scale S` would run, in the
 * order it runs them, each with its fully resolved config (what a job trains is decided here,
 * once: `reproduce --plan` prints it, `reproduce` runs it, and a cluster launcher submits
 * exactly these jobs in this order). Nothing is trained or written.
 *
 * A paper table refuses to train a paper column on generated data taken as the release: when a
 * job's default data folder holds a regeneration, planning fails with the folder and how to get
 * the release. A user who points `data.dir` at a generated folder explicitly (`--set
 * <row>:data.dir=...`) gets the job, marked generated, and its cell says so.
 */
import path from 'node:path';
import { loadConfig } from '../config/load.ts';
import { registeredTasks } from '../config/tasks.ts';
import { REPO_ROOT } from '../train/run-record.ts';
import { settingKeyOf } from './report.ts';
import { tableColumns, tableJobs, tableSpec, tableSpecs, type Job, type JobOptions } from './tables.ts';
import type { TableColumn, TableSpec, TableTask } from './table-spec.ts';

export interface PlannedJob {
  id: string;
  table: string;
  row: string;
  task: string;
  /** The column (recipe) key, its recipe and source, and whether it is a paper column. */
  column: string;
  recipe: string;
  source: string;
  kind: TableColumn['kind'];
  paperMethod: string | null;
  attention: string;
  seed: number;
  /** The config file, relative to the repository root (absolute outside it). */
  configPath: string;
  /** The `--set`s of the job's `flowformer train` (attention, seed, the table's and the user's). */
  overrides: string[];
  /** The command that runs the job (from the repository root). */
  command: string;
  /** What identifies the job's runs (config, attention, overrides; with `seed`): `settingKeyOf`. */
  runKey: string;
  /** The data the job reads: its folder, and whether it is the dataset's release or a regeneration; 'unknown' when the table cannot tell. */
  dataFolder: string | null;
  dataKind: 'release' | 'generated' | 'unknown';
  /** The config as the job resolves it (every default filled in): attention options, model sizes, steps, seeds. */
  config: Record<string, unknown>;
}

export interface PlanOptions extends JobOptions {
  /** `--data-root` (else the config's data.root, else $FLOWFORMER_DATA_ROOT, else `<repo>/data`). */
  dataRoot?: string;
  /** The tasks whose schemas resolve the configs; default the registered tasks. */
  tasks?: TableTask[];
}

/** A job's data root, as `flowformer train` resolves it when run from the repository root. */
function jobDataRoot(flag: string | undefined, config: Record<string, unknown>, repoRoot: string): string {
  const fromConfig = (config.data as { root?: string } | undefined)?.root;
  return path.resolve(repoRoot, flag ?? fromConfig ?? process.env.FLOWFORMER_DATA_ROOT ?? path.join(repoRoot, 'data'));
}

/** Whether the user chose the job's data folder (a `data.dir` override of theirs, not the table's default). */
const setsDataDir = (job: Job) => job.sets.some((s) => s.startsWith('data.dir='));

/** The plan of a table: every job in order, with its resolved config and data (see the file's comment). */
export function planTable(o: PlanOptions): PlannedJob[] {
  const specs: TableSpec[] = o.specs ?? tableSpecs(o.tasks);
  const repoRoot = o.repoRoot ?? REPO_ROOT;
  const tasks = o.tasks ?? registeredTasks<TableTask>();
  const jobs = tableJobs({ ...o, specs, repoRoot });
  const columnsOf = new Map<string, TableColumn[]>();
  const refused: string[] = [];
  const plan = jobs.map((job): PlannedJob => {
    const spec = tableSpec(job.table, specs);
    if (!columnsOf.has(job.table)) columnsOf.set(job.table, tableColumns(job.table, o.scale, o.table === 'main' ? undefined : o.attentions, specs));
    const col = columnsOf.get(job.table)!.find((c) => c.key === job.column) ?? tableColumns(job.table, o.scale, [job.column], specs)[0]!;
    const task = tasks.find((t) => t.name === job.task);
    if (!task) throw new Error(`table ${job.table}: its rows train task '${job.task}', which is not installed (tasks: ${tasks.map((t) => t.name).join(', ') || 'none'})`);
    const { config } = loadConfig(path.resolve(repoRoot, job.config), { task, sets: job.sets });
    const cfg = config as unknown as Record<string, unknown>;
    const data = spec.dataSource?.(cfg, jobDataRoot(o.dataRoot, cfg, repoRoot));
    if (data?.kind === 'generated' && o.scale === 'paper' && col.kind === 'paper' && !setsDataDir(job))
      refused.push(
        `${job.id}: ${data.folder} holds generated data, not the ${job.row} release this paper cell needs${data.release ? `; get the release with '${data.release}'` : ''}, ` +
          `or train on the generated set knowingly with --set ${job.row}:data.dir=<folder> (its cell then says 'generated data')`,
      );
    return {
      id: job.id, table: job.table, row: job.row, task: job.task,
      column: job.column, recipe: col.recipe, source: col.source, kind: col.kind, paperMethod: col.kind === 'paper' ? col.paperMethod : null,
      attention: job.attention, seed: job.seed, configPath: job.config, overrides: job.sets,
      command: `flowformer train --config ${job.config}${job.sets.map((s) => ` --set ${s}`).join('')}`,
      runKey: settingKeyOf(job.config, job.attention, job.sets, repoRoot),
      dataFolder: data ? data.folder : null,
      dataKind: data ? data.kind : 'unknown',
      config: cfg,
    };
  });
  if (refused.length) throw new Error(`the ${o.table} table (scale paper) would train on generated data as the release:\n  ${refused.join('\n  ')}`);
  return plan;
}

/** A plan as text: one block per job with the settings that decide its number. */
export function planText(plan: PlannedJob[], repoRoot = REPO_ROOT): string {
  const L: string[] = [];
  const rel = (p: string | null) => (p === null ? 'unknown' : path.relative(repoRoot, p).startsWith('..') ? p : path.relative(repoRoot, p));
  plan.forEach((j, i) => {
    const c = j.config as Record<string, any>;
    L.push(`${i + 1}. ${j.id}  [${j.kind === 'paper' ? `paper column: ${j.paperMethod}` : 'extra column'}]`);
    L.push(`   recipe:    ${j.recipe}`);
    L.push(`   source:    ${j.source}`);
    L.push(`   command:   ${j.command}`);
    L.push(`   attention: ${JSON.stringify(c.attention)}`);
    L.push(`   model:     ${JSON.stringify(c.model)}`);
    L.push(`   training:  ${JSON.stringify(c.training)}`);
    if (c.optimizer) L.push(`   optimizer: ${JSON.stringify(c.optimizer)}`);
    L.push(`   seed:      ${j.seed}`);
    L.push(`   data:      ${rel(j.dataFolder)} (${j.dataKind})`);
  });
  return L.join('\n') + '\n';
}
