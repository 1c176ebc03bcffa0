/**
 * A pool of worker threads (node:worker_threads) for CPU-bound work per item, such as decoding
 * and augmenting images: `run(request)` hands the request to the least busy worker and resolves
 * with its answer. Both ends of the protocol live here: the worker module calls
 * `serveWorkerTasks(handler)`; the main thread builds a `WorkerPool` on that module's URL.
 *
 * The worker module is loaded the way the calling module was: a `.ts` entry (our packages run
 * from their TypeScript sources under tsx, with the "source" export condition) is started through
 * a small bootstrap that registers both in the new thread; a `.js` entry (the dist/ build) is
 * started as it is. `siblingEntry` picks the right file next to the calling module.
 *
 * Idle workers do not keep the process alive (they are unref'd while they have no task), so a
 * run that ends or stops on Ctrl-C exits without closing the pool; `close()` ends them at once.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, Worker, type TransferListItem } from 'node:worker_threads';

/** One worker per core the process may use (the default size of a pool). */
export const availableCores = (): number => (typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);

/**
 * The worker module `<base>.ts` beside `moduleUrl` when that module runs from its TypeScript
 * source, else `<base>.js` (the build), e.g. `siblingEntry(import.meta.url, 'worker')`.
 */
export function siblingEntry(moduleUrl: string, base: string): URL {
  return new URL(`./${base}${new URL(moduleUrl).pathname.endsWith('.ts') ? '.ts' : '.js'}`, moduleUrl);
}

export interface WorkerPoolArgs {
  /** The worker module (file: URL of a .ts or .js file that calls `serveWorkerTasks`). */
  entry: URL;
  /** Worker threads (>= 1). */
  size: number;
  /** Names the pool in errors, e.g. 'imagenet data'. */
  name: string;
  /**
   * Tasks given to one worker at a time (default 2): while one computes, the next one's
   * asynchronous part (file reads, native decoding on libuv's threads) is already under way.
   */
  perWorker?: number;
}

/** What a worker answers for one task. */
type Reply<R> = { id: number; ok: true; result: R } | { id: number; ok: false; message: string };

interface Task<Q, R> {
  id: number;
  request: Q;
  /** Names the task in errors (e.g. the file it reads). */
  label: string;
  transfer: TransferListItem[];
  resolve: (r: R) => void;
  reject: (e: Error) => void;
}

interface Slot<Q, R> {
  worker: Worker;
  running: Map<number, Task<Q, R>>;
}

// A resolve hook adding the "source" export condition (as the CLI's bin does for the main thread).
const SOURCE_CONDITION_HOOK =
  'data:text/javascript,' +
  encodeURIComponent(
    "export async function resolve(s, c, next) { return next(s, { ...c, conditions: c.conditions.includes('source') ? c.conditions : ['source', ...c.conditions] }); }",
  );

/** The file: URL of tsx's ESM register API (`tsx/esm/api`), from tsx's own export map. */
function tsxApiUrl(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('tsx/package.json');
  } catch {
    throw new Error('worker pool: a TypeScript worker module needs tsx (a dependency of @flowformer/cli), which cannot be found; build the packages (npm run build) to run from dist/');
  }
  const api = JSON.parse(fs.readFileSync(pkg, 'utf8'))?.exports?.['./esm/api']?.import;
  const rel = typeof api === 'string' ? api : api?.default;
  if (typeof rel !== 'string') throw new Error(`worker pool: ${pkg} has no "./esm/api" import export`);
  return pathToFileURL(path.join(path.dirname(pkg), rel)).href;
}

function startWorker(entry: URL): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry);
  const boot = [
    "const { register } = await import('node:module');",
    `register(${JSON.stringify(SOURCE_CONDITION_HOOK)});`,
    `(await import(${JSON.stringify(tsxApiUrl())})).register();`,
    `await import(${JSON.stringify(entry.href)});`,
  ].join('\n');
  // An eval'd worker is a script: the bootstrap runs in an async function.
  return new Worker(`(async () => {\n${boot}\n})().catch((e) => { throw e; });`, { eval: true });
}

export class WorkerPool<Q, R> {
  readonly size: number;
  private readonly args: Required<WorkerPoolArgs>;
  private slots: Slot<Q, R>[] = [];
  private queue: Task<Q, R>[] = [];
  private nextId = 0;
  private closed = false;
  /** Set when a worker died: every later task fails with it. */
  private broken: Error | null = null;

  constructor(args: WorkerPoolArgs) {
    if (!(Number.isInteger(args.size) && args.size >= 1)) throw new Error(`${args.name} worker pool: size ${args.size}: expected a whole number >= 1`);
    this.args = { perWorker: 2, ...args };
    this.size = args.size;
  }

  /** Runs one task in a worker; `transfer` lists buffers of the request to move rather than copy. */
  run(request: Q, label: string, transfer: TransferListItem[] = []): Promise<R> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closed) return Promise.reject(new Error(`${this.args.name} worker pool: closed; cannot run ${label}`));
    if (this.slots.length === 0) this.start();
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, request, label, transfer, resolve, reject });
      this.dispatch();
    });
  }

  /** Ends the workers; tasks still queued or running fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail(new Error(`${this.args.name} worker pool: closed`));
    const slots = this.slots;
    this.slots = [];
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private start(): void {
    for (let k = 0; k < this.size; k++) {
      const slot: Slot<Q, R> = { worker: startWorker(this.args.entry), running: new Map() };
      slot.worker.unref();
      slot.worker.on('message', (m: Reply<R>) => this.reply(slot, m));
      slot.worker.on('error', (e) => this.died(slot, `failed: ${e instanceof Error ? e.message : String(e)}`));
      slot.worker.on('exit', (code) => this.died(slot, `exited with code ${code}`));
      this.slots.push(slot);
    }
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let best: Slot<Q, R> | null = null;
      for (const s of this.slots) if (s.running.size < this.args.perWorker && (!best || s.running.size < best.running.size)) best = s;
      if (!best) return;
      const t = this.queue.shift()!;
      if (best.running.size === 0) best.worker.ref(); // a task in flight keeps the process alive
      best.running.set(t.id, t);
      best.worker.postMessage({ id: t.id, request: t.request }, t.transfer);
    }
  }

  private reply(slot: Slot<Q, R>, m: Reply<R>): void {
    const t = slot.running.get(m.id);
    if (!t) return;
    slot.running.delete(m.id);
    if (slot.running.size === 0) slot.worker.unref();
    if (m.ok) t.resolve(m.result);
    else t.reject(new Error(m.message));
    this.dispatch();
  }

  private died(slot: Slot<Q, R>, how: string): void {
    if (this.closed || !this.slots.includes(slot)) return;
    const labels = [...slot.running.values()].map((t) => t.label);
    this.broken = new Error(`${this.args.name} worker (${this.args.entry.pathname}) ${how}${labels.length ? ` while processing ${labels.join(', ')}` : ''}`);
    // Its tasks, the other workers' and the queued ones fail with it; the other workers end.
    this.fail(this.broken);
    void this.close();
  }

  private fail(e: Error): void {
    for (const s of this.slots) {
      for (const t of s.running.values()) t.reject(e);
      s.running.clear();
    }
    for (const t of this.queue.splice(0)) t.reject(e);
  }
}

/**
 * The worker side: answers each task with `handle(request)`. The handler returns the result and
 * the buffers to transfer (moved, not copied, to the main thread). A thrown error becomes the
 * task's rejection, its message unchanged (so it still names the file, line or field).
 */
export function serveWorkerTasks<Q, R>(handle: (request: Q) => Promise<{ result: R; transfer?: TransferListItem[] }>): void {
  if (!parentPort) throw new Error('serveWorkerTasks: this module must run in a worker thread (WorkerPool), not in the main thread');
  const port = parentPort;
  port.on('message', async ({ id, request }: { id: number; request: Q }) => {
    try {
      const { result, transfer } = await handle(request);
      port.postMessage({ id, ok: true, result }, transfer ?? []);
    } catch (e) {
      port.postMessage({ id, ok: false, message: e instanceof Error ? e.message : String(e) });
    }
  });
}
