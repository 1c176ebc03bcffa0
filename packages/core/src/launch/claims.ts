/**
 * Claims: at most one worker trains a job at a time, whatever started it (two array tasks, two
 * submissions of the same table, a local `reproduce` beside a cluster one), as long as they
 * share one results root.
 *
 *   <resultsRoot>/claims/<key>.json    { key, job, host, pid, slurm, startedAt, refreshedAt, token }
 *
 * A worker claims a job by creating its claim file with an exclusive create (O_CREAT|O_EXCL,
 * atomic on local file systems and on NFSv3+), refreshes it while it trains, and removes it when
 * it stops. A claim whose holder is gone is taken over:
 *   - its host is this machine and its pid is dead (a kill -9, the out-of-memory killer);
 *   - it names a Slurm job that Slurm says has ended (the node died, the job was cancelled);
 *   - it names this very Slurm job and array task in an earlier life (the task was requeued since);
 *   - it was not refreshed for `staleSeconds` (a holder on another machine that died silently).
 * A takeover happens under a short lock (`<key>.json.takeover`, a directory: mkdir is atomic), in
 * which the claim is read again and judged again, and then replaced by one rename, so two workers
 * that both found it dead cannot both take it: the second finds the first one's fresh claim.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { slurmIdsFromEnv, type SlurmIds } from '../train/run-record.ts';

export { slurmIdsFromEnv, type SlurmIds };

export interface ClaimInfo {
  key: string;
  /** The job, in words (its id in the table). */
  job: string;
  host: string;
  pid: number;
  slurm?: SlurmIds;
  startedAt: string;
  refreshedAt: string;
  /** Tells this holder's claim from a later one on the same key. */
  token: string;
}

/** How a claim's holder stands, as far as this machine can tell. */
export type HolderState = 'alive' | 'dead' | 'stale';

export interface ClaimOptions {
  /** Holder facts; default this process (and SLURM_* from the environment). */
  host?: string;
  pid?: number;
  slurm?: SlurmIds | null;
  /** A claim not refreshed for this long is taken over. Default 600 s. */
  staleSeconds?: number;
  /** Whether a pid of this host exists (tests inject it). */
  pidAlive?: (pid: number) => boolean;
  /** Whether a Slurm job has ended: true/false, or undefined when Slurm cannot tell (no Slurm here). */
  slurmEnded?: (ids: SlurmIds) => boolean | undefined;
  now?: () => number;
}

export const DEFAULT_STALE_SECONDS = 600;

/** A file-name-safe claim key for a job identity (any string: config path, sets, seed). */
export function claimKey(identity: string, label = ''): string {
  const hash = crypto.createHash('sha256').update(identity).digest('hex').slice(0, 16);
  const safe = label.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
  return safe ? `${safe}-${hash}` : hash;
}

export function claimsDir(resultsRoot: string): string {
  return path.join(resultsRoot, 'claims');
}

function claimPath(dir: string, key: string): string {
  return path.join(dir, `${key}.json`);
}

/** Whether a process exists on this machine (EPERM: it exists, owned by someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readClaim(dir: string, key: string): ClaimInfo | null {
  try {
    return JSON.parse(fs.readFileSync(claimPath(dir, key), 'utf8')) as ClaimInfo;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    // A claim cut while being written (its holder died in that instant): no holder to wait for.
    if (e instanceof SyntaxError) return { key, job: '?', host: '?', pid: -1, startedAt: new Date(0).toISOString(), refreshedAt: new Date(0).toISOString(), token: 'corrupt' };
    throw e;
  }
}

/** All claims under `dir`. */
export function listClaims(dir: string): ClaimInfo[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => {
      const c = readClaim(dir, f.slice(0, -'.json'.length));
      return c ? [c] : [];
    });
}

/** Whether `b` is a later life of the Slurm task `a`: the same task, requeued since (SLURM_RESTART_COUNT grew). */
const laterLife = (a: SlurmIds | undefined, b: SlurmIds | undefined | null): boolean =>
  !!a && !!b && (a.arrayJobId && b.arrayJobId ? a.arrayJobId === b.arrayJobId && a.arrayTaskId === b.arrayTaskId : a.jobId === b.jobId) && (b.restartCount ?? 0) > (a.restartCount ?? 0);

/** Whether a claim's holder is alive, dead, or silent too long (see the file's comment). */
export function holderState(c: ClaimInfo, o: ClaimOptions = {}): HolderState {
  const host = o.host ?? os.hostname();
  const me = o.slurm === undefined ? slurmIdsFromEnv() : (o.slurm ?? undefined);
  const now = (o.now ?? Date.now)();
  if (c.token === 'corrupt') return 'dead';
  // A requeued array task finds the claim of its own earlier life: that life is over.
  if (laterLife(c.slurm, me)) return 'dead';
  if (c.host === host && !(o.pidAlive ?? pidAlive)(c.pid)) return 'dead';
  if (c.slurm && (o.slurmEnded ?? (() => undefined))(c.slurm) === true) return 'dead';
  const age = (now - Date.parse(c.refreshedAt)) / 1000;
  if (!(age <= (o.staleSeconds ?? DEFAULT_STALE_SECONDS))) return 'stale';
  return 'alive';
}

export type ClaimResult = { ok: true; claim: Claim; tookOver?: ClaimInfo & { state: HolderState } } | { ok: false; holder: ClaimInfo };

/**
 * Claims `key` for this process, or says who holds it. Never blocks: a live holder makes it
 * return `{ ok: false, holder }`.
 */
export function acquireClaim(resultsRoot: string, key: string, job: string, o: ClaimOptions = {}): ClaimResult {
  const dir = claimsDir(resultsRoot);
  fs.mkdirSync(dir, { recursive: true });
  const file = claimPath(dir, key);
  const nowIso = () => new Date((o.now ?? Date.now)()).toISOString();
  const slurm = o.slurm === undefined ? slurmIdsFromEnv() : (o.slurm ?? undefined);
  const info = (): ClaimInfo => ({ key, job, host: o.host ?? os.hostname(), pid: o.pid ?? process.pid, ...(slurm ? { slurm } : {}), startedAt: nowIso(), refreshedAt: nowIso(), token: crypto.randomBytes(8).toString('hex') });

  for (let attempt = 0; attempt < 5; attempt++) {
    const mine = info();
    if (createExclusive(file, mine)) return { ok: true, claim: new Claim(dir, mine, o) };
    const held = readClaim(dir, key);
    if (!held) continue; // released in between: try the create again
    const state = holderState(held, o);
    if (state === 'alive') return { ok: false, holder: held };
    // Dead or stale: take it over under the takeover lock, judging it again there.
    const lock = `${file}.takeover`;
    if (!takeLock(lock, o)) return { ok: false, holder: held }; // another worker is taking it over now
    try {
      const again = readClaim(dir, key);
      if (again && (again.token !== held.token || holderState(again, o) === 'alive')) return { ok: false, holder: again };
      const taken = info();
      // Replace the dead claim in one rename: were it removed first, a racing worker could find no
      // file in between, create its own and win without the lock (still one winner, but then two
      // workers' ideas of who took over disagree).
      if (again) replaceAtomic(file, taken);
      else if (!createExclusive(file, taken)) continue;
      return { ok: true, claim: new Claim(dir, taken, o), tookOver: { ...held, state } };
    } finally {
      fs.rmSync(lock, { recursive: true, force: true });
    }
  }
  const holder = readClaim(dir, key);
  if (holder) return { ok: false, holder };
  throw new Error(`${file}: could not claim it (it keeps changing hands)`);
}

function createExclusive(file: string, c: ClaimInfo): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  writeClaimTo(fd, c);
  return true;
}

/** Writes `c` beside `file` and renames it over `file`: readers see the old claim or the new one, never none. */
function replaceAtomic(file: string, c: ClaimInfo): void {
  const tmp = `${file}.${c.token}.tmp`;
  writeClaimTo(fs.openSync(tmp, 'w'), c);
  fs.renameSync(tmp, file);
}

/** Writes the claim to the open file, flushes it to disk and closes it. */
function writeClaimTo(fd: number, c: ClaimInfo): void {
  try {
    fs.writeSync(fd, JSON.stringify(c, null, 2) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The takeover lock: a directory (mkdir is atomic). One left by a worker killed inside the few milliseconds it is held is removed after 30 s. */
function takeLock(lock: string, o: ClaimOptions): boolean {
  try {
    fs.mkdirSync(lock);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  try {
    const age = ((o.now ?? Date.now)() - fs.statSync(lock).mtimeMs) / 1000;
    if (age > 30) {
      fs.rmSync(lock, { recursive: true, force: true });
      fs.mkdirSync(lock);
      return true;
    }
  } catch {
    // gone or taken in between
  }
  return false;
}

/** A held claim: refresh it while working, release it when done. */
export class Claim {
  readonly info: ClaimInfo;
  private readonly dir: string;
  private readonly o: ClaimOptions;
  private timer: NodeJS.Timeout | undefined;

  constructor(dir: string, info: ClaimInfo, o: ClaimOptions) {
    this.dir = dir;
    this.info = info;
    this.o = o;
  }

  get file(): string {
    return claimPath(this.dir, this.info.key);
  }

  /** Whether the claim file is still ours (another worker may have taken a stale claim over). */
  held(): boolean {
    return readClaim(this.dir, this.info.key)?.token === this.info.token;
  }

  /** Writes a new refreshedAt; false when the claim is no longer ours. */
  refresh(): boolean {
    if (!this.held()) return false;
    const next = { ...this.info, refreshedAt: new Date((this.o.now ?? Date.now)()).toISOString() };
    replaceAtomic(this.file, next);
    this.info.refreshedAt = next.refreshedAt;
    return true;
  }

  /** Refreshes every `seconds` (default a tenth of the stale timeout) until released; `onLost` when another worker took it. */
  keepAlive(onLost: () => void, seconds = (this.o.staleSeconds ?? DEFAULT_STALE_SECONDS) / 10): void {
    this.timer = setInterval(() => {
      let ok = false;
      try {
        ok = this.refresh();
      } catch {
        ok = true; // a passing file-system error: try again next time
      }
      if (!ok) {
        this.stop();
        onLost();
      }
    }, Math.max(0.05, seconds) * 1000);
    this.timer.unref();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops refreshing and removes the claim file if it is still ours. */
  release(): void {
    this.stop();
    if (this.held()) fs.rmSync(this.file, { force: true });
  }
}
