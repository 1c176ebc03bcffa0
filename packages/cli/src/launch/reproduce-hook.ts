/**
 * What `flowformer reproduce` gains from the launchers, kept apart from the table logic:
 *   --launcher slurm [--partition ... --wait --dry-run]   submit the table to Slurm
 *   --status                                           where every job stands
 *   --run-job ID                                       one array task (the batch script calls it)
 *   --gpus 0,1,2,3                                     local --jobs N: one GPU per worker, round-robin
 * `reproduceLaunch` handles the first three and returns true; otherwise the local path runs.
 */
import path from 'node:path';
import type { Argv } from 'yargs';
import { slurmIdsFromEnv } from '@flowformer/core/results';
import { gpuOfSlot, parseGpuList } from '@flowformer/core/launch';
import { runClaimedJob, type LaunchJob } from './jobs.ts';
import { logDirOf, readSubmissions, submissionStates, submit, slurmStateEnded, type SlurmOptions, type Submission, type SubmitPlan } from './slurm.ts';
import { jobStatuses, printStatuses } from './status.ts';
import { execFileSync } from 'node:child_process';

export interface LaunchArgs {
  launcher?: 'local' | 'slurm';
  partition?: string;
  'gpus-per-job'?: number;
  'gpu-flag'?: 'gres' | 'gpus';
  'cpus-per-job'?: number;
  mem?: string;
  time?: string;
  'max-parallel'?: number;
  'sbatch-arg'?: string[];
  'signal-grace'?: number;
  requeue?: boolean;
  wait?: boolean;
  status?: boolean;
  'run-job'?: string;
  gpus?: string;
}

export function launchOptions<T>(y: Argv<T>): Argv<T> {
  return y
    .option('launcher', { choices: ['local', 'slurm'] as const, default: 'local' as const, describe: 'local: child processes here (--jobs N); slurm: one job array (a task per job) plus a collect job that writes the table' })
    .option('partition', { type: 'string', describe: '(slurm) the partition, e.g. gpu' })
    .option('gpus-per-job', { type: 'number', describe: '(slurm) GPUs per array task: --gres=gpu:N (or --gpus=N with --gpu-flag gpus)' })
    .option('gpu-flag', { choices: ['gres', 'gpus'] as const, default: 'gres' as const, describe: '(slurm) how GPUs are asked for: --gres=gpu:N (every Slurm) or --gpus=N' })
    .option('cpus-per-job', { type: 'number', describe: "(slurm) cores per array task (--cpus-per-task); the trainer's threads follow it" })
    .option('mem', { type: 'string', describe: '(slurm) memory per array task, e.g. 32G' })
    .option('time', { type: 'string', describe: '(slurm) time limit per array task, e.g. 1-00:00:00; a task that reaches it saves ckpt/last and resumes on --requeue or the next submission' })
    .option('max-parallel', { type: 'number', describe: '(slurm) at most N array tasks at once (--array=...%N)' })
    .option('sbatch-arg', { type: 'string', array: true, describe: "(slurm) passed through to both batch scripts, e.g. --sbatch-arg=--account=proj42 --sbatch-arg='--constraint=a100'" })
    .option('signal-grace', { type: 'number', default: 120, describe: '(slurm) seconds before the time limit at which the trainer is told to save and stop (--signal=B:USR2@N)' })
    .option('requeue', { type: 'boolean', describe: '(slurm) a task stopped by its time limit or preempted is requeued and resumes from ckpt/last' })
    .option('wait', { type: 'boolean', describe: '(slurm) block until the collect job has ended, showing each job\'s progress; exit 1 if a job failed' })
    .option('status', { type: 'boolean', describe: 'list every job: not started, queued (Slurm id), running (update k of n, node), completed, interrupted, failed (last lines of its log), abandoned' })
    .option('run-job', { type: 'string', hidden: true, describe: 'run one job by id under its claim (what each Slurm array task does)' })
    .option('gpus', { type: 'string', describe: '(local) GPUs for --jobs N, one per worker round-robin through CUDA_VISIBLE_DEVICES, e.g. --gpus 0,1,2,3' });
}

/** What the hook needs: the submission's facts (slurm.ts's SubmitPlan, without the sbatch options), the backend, --dry-run. */
export interface HookContext extends Omit<SubmitPlan, 'slurm'> {
  backend?: string;
  dryRun?: boolean;
}

/** Handles --run-job, --status and --launcher slurm; false when the local launcher should run. */
export async function reproduceLaunch(a: LaunchArgs, c: HookContext): Promise<boolean> {
  const logDir = logDirOf(c.resultsRoot, c.table);
  if (a['run-job'] !== undefined) {
    const job = c.jobs.find((j) => j.id === a['run-job']);
    if (!job) throw new Error(`--run-job: no job '${a['run-job']}' in table ${c.table}; jobs: ${c.jobs.map((j) => j.id).join(', ')}`);
    const ids = slurmIdsFromEnv();
    const say = (l: string) => console.log(`[${new Date().toISOString()}${ids ? ` slurm ${ids.arrayJobId ?? ids.jobId}_${ids.arrayTaskId ?? ''} on ${ids.node}` : ''}] ${l}`);
    let timeLimit = false;
    const r = await runClaimedJob(job, { repoRoot: c.repoRoot, resultsRoot: c.resultsRoot, log: path.join(logDir, `${job.id}.log`), backend: c.backend, say, onSignal: (s) => { timeLimit ||= s === 'SIGUSR2'; } });
    if (r.outcome !== 'trained') return true;
    if (r.code === 130 && timeLimit && a.requeue && ids) {
      // Near the time limit: the trainer saved ckpt/last; go back to the queue to resume from it.
      say(`requeueing Slurm job ${ids.jobId} (time limit near; ckpt/last saved)`);
      execFileSync('scontrol', ['requeue', ids.jobId], { stdio: 'inherit' });
    }
    process.exitCode = r.code;
    return true;
  }
  if (a.status) {
    printStatuses(jobStatuses(c.jobs, { repoRoot: c.repoRoot, resultsRoot: c.resultsRoot, stem: c.stem, logDir }), `${c.jobs.length} jobs of table ${c.stem}; results root ${c.resultsRoot}`);
    return true;
  }
  if (a.launcher !== 'slurm') return false;
  const slurm: SlurmOptions = {
    partition: a.partition,
    gpusPerJob: a['gpus-per-job'],
    gpuFlag: a['gpu-flag'],
    cpusPerJob: a['cpus-per-job'],
    mem: a.mem,
    time: a.time,
    maxParallel: a['max-parallel'],
    sbatchArgs: a['sbatch-arg'],
    requeue: a.requeue,
    signalGrace: a['signal-grace'],
  };
  // Completed jobs are not submitted again; every other job gets a task (a job trained by
  // another worker right now gets one too: it finds the claim taken and does nothing).
  const todo = c.jobs.filter((j) => j.standing().kind !== 'done');
  console.log(`${c.jobs.length} jobs for table ${c.stem}, ${c.jobs.length - todo.length} completed already, ${todo.length} to submit`);
  if (todo.length === 0 && !c.dryRun) {
    console.log('nothing to train; writing the table with --collect');
    return false;
  }
  const sub = submit({ command: c.command, table: c.table, stem: c.stem, repoRoot: c.repoRoot, resultsRoot: c.resultsRoot, jobs: todo, reproduceArgs: c.reproduceArgs, slurm }, !!c.dryRun);
  if (!sub) return true;
  console.log(`submitted job array ${sub.arrayJobId} (${todo.length} task${todo.length === 1 ? '' : 's'}: ${todo.map((j, i) => `${i}=${j.id}`).join(', ')})`);
  console.log(`submitted collect job ${sub.collectJobId} (afterany:${sub.arrayJobId}), which writes the table`);
  console.log(`logs: ${logDir}/  scripts: ${path.dirname(sub.scripts.array)}/`);
  console.log(`watch: squeue -j ${sub.arrayJobId},${sub.collectJobId}   or   flowformer ${c.command ?? 'reproduce'} ${c.reproduceArgs.join(' ')} --status`);
  if (a.wait) process.exitCode = await waitFor(sub, c, logDir);
  return true;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until the collect job ends, printing each job's status when it changes; 1 when a job did not complete. */
async function waitFor(sub: Submission, c: HookContext, logDir: string): Promise<number> {
  const poll = Number(process.env.FLOWFORMER_SLURM_POLL_SECONDS ?? 10) * 1000;
  const subJobs = c.jobs.filter((j) => sub.jobs.includes(j.id));
  const shown = new Map<string, string>();
  for (;;) {
    const st = submissionStates(sub);
    if (!st) throw new Error('squeue failed while waiting; the jobs go on: see --status');
    for (const s of jobStatuses(subJobs, { repoRoot: c.repoRoot, resultsRoot: c.resultsRoot, stem: c.stem, logDir })) {
      const line = `${s.kind.padEnd(11)} ${s.id} ${s.detail}`.trimEnd();
      if (shown.get(s.id) !== line) console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
      shown.set(s.id, line);
    }
    const collect = st.collect;
    if (!collect || slurmStateEnded(collect.state)) {
      const final = jobStatuses(subJobs, { repoRoot: c.repoRoot, resultsRoot: c.resultsRoot, stem: c.stem, logDir });
      const bad = final.filter((s) => s.kind !== 'completed');
      console.log(`collect job ${sub.collectJobId}: ${collect?.state.toLowerCase() ?? 'gone'}; ${final.length - bad.length} of ${final.length} jobs completed`);
      for (const b of bad) {
        console.error(`  ${b.kind} ${b.id} ${b.detail}`);
        for (const l of b.tail ?? []) console.error(`    | ${l}`);
      }
      return bad.length || (collect && collect.state !== 'COMPLETED') ? 1 : 0;
    }
    await sleep(poll);
  }
}

/** The GPU of local worker `slot` from --gpus (validated). */
export function localGpu(a: LaunchArgs, slot: number): string | undefined {
  return gpuOfSlot(parseGpuList(a.gpus), slot);
}

export { readSubmissions };
