/**
 * What Slurm says about jobs, through its own commands (squeue): no Slurm library, no daemon
 * protocol. Used by claims (has a holder's job ended?) and by `reproduce --status`/`--wait`.
 */
import { execFileSync } from 'node:child_process';
import type { SlurmIds } from './claims.ts';

/** Slurm job states that mean the job will not run (again) by itself. */
const ENDED = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'PREEMPTED', 'NODE_FAIL', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE', 'SPECIAL_EXIT', 'REVOKED']);

export interface SlurmJobState {
  /** The id squeue shows: `<array job>_<task>` for an array task, else the job id. */
  id: string;
  jobId: string;
  arrayJobId?: string;
  arrayTaskId?: string;
  /** PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, ... */
  state: string;
  node: string;
  reason: string;
}

export function slurmStateEnded(state: string): boolean {
  return ENDED.has(state.split(/\s/)[0]!.toUpperCase());
}

/**
 * The jobs squeue knows (all states: ended jobs stay listed for MinJobAge), optionally only
 * those of `ids` (job ids or array job ids). Undefined when squeue is missing or fails.
 */
export function squeue(ids?: string[]): SlurmJobState[] | undefined {
  const args = ['-h', '-r', '-t', 'all', '-o', '%i|%A|%F|%K|%T|%N|%r'];
  if (ids?.length) args.push('-j', ids.join(','));
  let out: string;
  try {
    out = execFileSync('squeue', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15000 });
  } catch (e) {
    // An id Slurm has forgotten (older than MinJobAge) makes squeue fail with this message.
    const err = String((e as { stderr?: unknown }).stderr ?? '');
    if (/Invalid job id/i.test(err)) return [];
    return undefined;
  }
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [id, jobId, arrayJobId, arrayTaskId, state, node, reason] = l.split('|');
      const isArray = arrayTaskId && arrayTaskId !== 'N/A';
      return { id: id!, jobId: jobId!, ...(isArray ? { arrayJobId, arrayTaskId } : {}), state: state!, node: node ?? '', reason: reason ?? '' };
    });
}

/**
 * Whether the Slurm job of a claim holder has ended: true when squeue lists it as ended or no
 * longer knows it, false when it is pending or running, undefined when Slurm cannot be asked.
 */
export function slurmJobEnded(ids: SlurmIds): boolean | undefined {
  const q = squeue([ids.jobId]);
  if (!q) return undefined;
  const mine = q.find((j) => j.jobId === ids.jobId || (ids.arrayJobId !== undefined && j.arrayJobId === ids.arrayJobId && j.arrayTaskId === ids.arrayTaskId));
  return mine ? slurmStateEnded(mine.state) : true;
}
