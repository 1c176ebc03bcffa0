/**
 * Run-time choice of the TensorFlow.js backend.
 *
 *   auto order: tensorflow-gpu (@tensorflow/tfjs-node-gpu) -> tensorflow (@tensorflow/tfjs-node)
 *               -> wasm (multi-threaded when possible) -> cpu
 *   precedence: explicit argument > FLOWFORMER_BACKEND > auto
 *   threads:    options.threads > FLOWFORMER_THREADS > the backend's default. wasm: the
 *               pthread pool (default os.availableParallelism()); tensorflow: libtensorflow's
 *               intra-op pool, through TF_NUM_INTRAOP_THREADS (default: one per core), set only
 *               when given and only before libtensorflow loads. Jobs that share a machine
 *               should split its cores: two wasm jobs of 2 threads each on 2 cores run at half
 *               the speed of two jobs of 1 thread (docs/reproduce.md, "Parallel jobs").
 *
 * `initBackend` also registers what the stock backends lack (our wasm kernels, the fast
 * batched matmul) so that every caller computes with the same kernels. `backendInfo()` says
 * what was chosen and why; `shutdownBackend()` releases the wasm pthread workers.
 *
 * Dual-package hazard: under Node, `import '@tensorflow/tfjs'` and `require('@tensorflow/tfjs')`
 * both resolve to the CommonJS bundle `dist/tf.node.js` (the package has no `exports` map, so
 * ESM follows `main`; its `module` field is only read by bundlers). tfjs-node does
 * `require('@tensorflow/tfjs')`, hence registers its backend into the same engine as our `tf`.
 * `sameEngineAsRequire()` checks this at run time and `initBackend` refuses a backend package
 * that registered into another engine instead of silently computing on cpu.
 */
import { createRequire } from 'node:module';
import { writeFileSync, existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as wasmPkg from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../tf.ts';
import { registerWasmKernels } from './wasm-kernels.ts';
import { registerTensorflowKernels } from './tensorflow-kernels.ts';
import { loadXlaKernels, unloadXlaKernels, xlaKernelsStatus } from './xla-kernels.ts';
import { findAddon } from './tensorflow-setup.ts';
import './gradients.ts';
import './cpu-kernels.ts';

const require = createRequire(import.meta.url);

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export type BackendRequest = 'auto' | BackendName;
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
const AUTO_ORDER: readonly BackendName[] = BACKEND_NAMES;

export interface InitBackendOptions {
  /**
   * Threads to compute with (else FLOWFORMER_THREADS): wasm's pthread pool (default
   * `os.availableParallelism()`), tensorflow's intra-op pool (default: libtensorflow's, one per
   * core; only before libtensorflow loads in this process, and not over TF_NUM_INTRAOP_THREADS).
   */
  threads?: number;
}

/**
 * Why a backend did not load: its optional package is absent (`not-installed`), present but
 * broken (`load-failed`: native addon or libtensorflow missing), registered into another copy of
 * tfjs-core (`other-engine`), or tfjs could not set it up (`init-failed`).
 */
export type BackendFailure = 'not-installed' | 'load-failed' | 'other-engine' | 'init-failed';

/** A backend that could not be activated, with the kind of failure for callers to branch on. */
export class BackendError extends Error {
  constructor(
    readonly failure: BackendFailure,
    message: string,
  ) {
    super(message);
    this.name = 'BackendError';
  }
}

export interface BackendAttempt {
  backend: BackendName;
  ok: boolean;
  /** What went wrong, in words (absent when ok). */
  error?: string;
  /** What went wrong, as a kind (absent when ok). */
  failure?: BackendFailure;
}

export interface BackendInfo {
  /** The backend we compute on. */
  backend: BackendName;
  /** What was asked for (after env/argument precedence). */
  requested: BackendRequest;
  /** Where the request came from. */
  requestedBy: 'argument' | 'env FLOWFORMER_BACKEND' | 'default';
  /** Why this backend: the request, and every backend tried before it with its failure. */
  reason: string;
  attempts: BackendAttempt[];
  /** Threads the backend computes with (wasm: what XNNPACK reports; tensorflow: TF_NUM_INTRAOP_THREADS when set, else null: libtensorflow's default, one per core). */
  threads: number | null;
  /** wasm only: whether the SIMD binary is in use. */
  simd: boolean | null;
  /** tensorflow (CPU) only: whether the fused XLA kernels are on, or why not (xla-kernels.ts). */
  xla: string | null;
  versions: { tfjs: string; node: string; backendPackage: string | null };
}

/** tfjs' own name of each of our backends (tfjs-node and tfjs-node-gpu both register 'tensorflow'). */
const TFJS_NAME: Record<BackendName, string> = {
  'tensorflow-gpu': 'tensorflow',
  tensorflow: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};
const NODE_PACKAGE: Partial<Record<BackendName, string>> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

let current: BackendInfo | null = null;
let pending: Promise<BackendInfo> | null = null;

/** Parse a backend request (argument or env value); throws naming the source and the allowed values. */
export function parseBackendRequest(value: string, source: string): BackendRequest {
  const v = value.trim().toLowerCase();
  if (v === 'auto' || (BACKEND_NAMES as readonly string[]).includes(v)) return v as BackendRequest;
  throw new Error(
    `${source}: unknown backend '${value}'. Use one of: auto, ${BACKEND_NAMES.join(', ')}.`,
  );
}

/**
 * Choose and initialise the backend. Idempotent: calling again with the same resolved request
 * is a no-op; another name switches. Concurrent calls are serialised.
 */
export async function initBackend(name?: BackendRequest, options: InitBackendOptions = {}): Promise<BackendInfo> {
  const run = async (): Promise<BackendInfo> => {
    let requested: BackendRequest;
    let requestedBy: BackendInfo['requestedBy'];
    if (name != null) {
      requested = parseBackendRequest(name, 'initBackend(name)');
      requestedBy = 'argument';
    } else if (process.env.FLOWFORMER_BACKEND) {
      requested = parseBackendRequest(process.env.FLOWFORMER_BACKEND, 'environment variable FLOWFORMER_BACKEND');
      requestedBy = 'env FLOWFORMER_BACKEND';
    } else {
      requested = 'auto';
      requestedBy = 'default';
    }
    const given = options.threads != null ? parseThreadCount(options.threads, 'initBackend options.threads') : threadsFromEnv();
    const threads = given ?? os.availableParallelism();
    if (
      current != null && current.requested === requested && tf.getBackend() === TFJS_NAME[current.backend] &&
      (current.backend !== 'wasm' || wasmState.requestedThreads === threads)
    ) {
      return current;
    }
    registerWasmKernels();

    const candidates = requested === 'auto' ? AUTO_ORDER : [requested];
    const attempts: BackendAttempt[] = [];
    for (const candidate of candidates) {
      try {
        const extra = await activate(candidate, threads, given !== undefined);
        attempts.push({ backend: candidate, ok: true });
        const tried = attempts.filter((a) => !a.ok).map((a) => `${a.backend}: ${a.error}`);
        const why =
          requested === 'auto'
            ? `auto (${requestedBy === 'default' ? 'no --backend and no FLOWFORMER_BACKEND' : requestedBy}); first that loaded in order ${AUTO_ORDER.join(' > ')}`
            : `requested by ${requestedBy}`;
        current = {
          backend: candidate,
          requested,
          requestedBy,
          reason:
            (tried.length ? `${why}; skipped ${tried.join('; ')}` : why) +
            (candidate === 'wasm' && wasmState.note ? `; ${wasmState.note}` : ''),
          attempts,
          threads: extra.threads,
          simd: extra.simd,
          xla: candidate === 'tensorflow' ? xlaKernelsStatus().detail : null,
          versions: { tfjs: tf.version.tfjs, node: process.versions.node, backendPackage: extra.pkg },
        };
        return current;
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        attempts.push({ backend: candidate, ok: false, error: msg, failure: e instanceof BackendError ? e.failure : 'init-failed' });
        if (requested !== 'auto') throw e instanceof Error ? e : new Error(msg);
      }
    }
    throw new Error(`No backend could be initialised: ${attempts.map((a) => `${a.backend}: ${a.error}`).join('; ')}`);
  };
  const prev = pending ?? Promise.resolve(null as unknown as BackendInfo);
  const next = prev.catch(() => undefined).then(run);
  pending = next;
  try {
    return await next;
  } finally {
    if (pending === next) pending = null;
  }
}

/** What `initBackend` chose and why; throws if no backend was initialised yet. */
export function backendInfo(): BackendInfo {
  if (current == null) {
    throw new Error('backendInfo(): no backend initialised yet. Call `await initBackend()` first.');
  }
  return current;
}

/**
 * Release the backend's resources so that the process can exit: the wasm pthread workers
 * keep Node alive until the wasm backend is removed. Safe to call more than once; a later
 * `initBackend()` re-creates the backend.
 */
export async function shutdownBackend(): Promise<void> {
  if (pending) await pending.catch(() => undefined);
  if (tf.engine().registry['wasm'] != null) {
    // removeBackend disposes the instance (terminating the pthread workers) and forgets the
    // factory; register ours again so that a later initBackend('wasm') works.
    tf.removeBackend('wasm');
    tf.registerBackend('wasm', wasmFactory, WASM_PRIORITY);
  }
  if (current?.backend === 'wasm') current = null;
  // removeBackend left the engine without a backend if wasm was the active one.
  if (tf.engine().backendName == null) await tf.setBackend('cpu');
}

/**
 * True when `require('@tensorflow/tfjs-core')` (what tfjs-node and other CommonJS backend
 * packages load) is the very module instance behind our `tf`.
 */
export function sameEngineAsRequire(): boolean {
  const cjsCore = require('@tensorflow/tfjs-core') as typeof tf;
  return cjsCore.Tensor === tf.Tensor && cjsCore.engine() === tf.engine();
}

/** A thread count from `what` (a flag, a variable, an option): a positive integer, else an error naming it. */
export function parseThreadCount(value: unknown, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what}: expected a positive integer, got '${value}'.`);
  return n;
}

/** FLOWFORMER_THREADS (set by `--threads` and by `reproduce --jobs` for its jobs), checked; undefined when unset. */
export function threadsFromEnv(): number | undefined {
  const env = process.env.FLOWFORMER_THREADS;
  return env ? parseThreadCount(env, 'environment variable FLOWFORMER_THREADS') : undefined;
}

interface Activated {
  threads: number | null;
  simd: boolean | null;
  pkg: string | null;
}

async function activate(name: BackendName, threads: number, threadsGiven: boolean): Promise<Activated> {
  if (name === 'cpu') {
    await setBackendOrThrow('cpu');
    // The cpu backend greets its first tensor with advice to install tfjs-node; our own
    // backend report (`flowformer info`, the reason) already says what runs and why.
    (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
    return { threads: 1, simd: null, pkg: `@tensorflow/tfjs-backend-cpu@${tf.version.tfjs}` };
  }
  if (name === 'wasm') {
    wasmThreadsWanted = threads;
    installWasmFactory();
    // A different thread count needs a new module instance.
    const inst = tf.engine().registry['wasm'];
    if (inst != null && wasmState.requestedThreads !== threads) {
      tf.removeBackend('wasm');
      tf.registerBackend('wasm', wasmFactory, WASM_PRIORITY);
    }
    await setBackendOrThrow('wasm');
    return {
      threads: wasmPkg.getThreadsCount(),
      simd: wasmState.simd,
      pkg: `@tensorflow/tfjs-backend-wasm@${wasmPkg.version_wasm}` + (wasmState.note ? ` (${wasmState.note})` : ''),
    };
  }
  const pkgName = NODE_PACKAGE[name]!;
  // libtensorflow logs to stderr at INFO level (e.g. its CPU-feature notes); keep warnings and
  // errors only, unless the user chose a level. Its absl and oneDNN lines at load time ignore
  // this (docs/tensorflow-offline.md, "Two lines at start-up").
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  // libtensorflow's C API leaves its oneDNN kernels off unless asked; on x86 they make the large
  // matrix products faster and a training step's resident memory lower (docs/backends.md,
  // "oneDNN"). Read once, when libtensorflow loads; a user's TF_ENABLE_ONEDNN_OPTS wins.
  process.env.TF_ENABLE_ONEDNN_OPTS ??= '1';
  // libtensorflow sizes its intra-op pool from TF_NUM_INTRAOP_THREADS when its eager context is
  // made, i.e. once per process: a count given to us goes there before the package first loads
  // (an explicit TF_NUM_INTRAOP_THREADS of the user's wins).
  if (threadsGiven && process.env.TF_NUM_INTRAOP_THREADS == null && !isLoaded(pkgName)) process.env.TF_NUM_INTRAOP_THREADS = String(threads);
  let mod: { version?: { 'tfjs-node'?: string }; node?: { loadSavedModel?: Parameters<typeof loadXlaKernels>[0] } };
  // tfjs-node finds its addon with node-pre-gyp, which parses process.argv as its own options:
  // a flag of ours it takes for one of them (`--dir` for its `--directory`, `--target`,
  // `--debug`, ...) sends it to the wrong folder, and auto quietly fell back to wasm. It sees
  // only the program while it loads.
  const argv = process.argv;
  try {
    process.argv = argv.slice(0, 2);
    // tfjs-node registers its ~150 kernels before it looks for its addon: without one, loading
    // it fails and the next package's registrations each warn "already registered".
    const pkgDir = installedDir(pkgName);
    if (pkgDir && !findAddon(pkgDir)) {
      throw Object.assign(new Error(`its native addon (${path.join(pkgDir, 'lib', 'napi-v*', 'tfjs_binding.node')}) is missing`), { code: 'NO_ADDON' });
    }
    mod = require(pkgName);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'MODULE_NOT_FOUND' && String(err.message).includes(pkgName)) {
      throw new BackendError(
        'not-installed',
        `backend '${name}' needs the optional package ${pkgName}, which is not installed. ` +
          `With internet: \`npm install ${pkgName}\` (its install script downloads libtensorflow` +
          (name === 'tensorflow-gpu' ? ' for CUDA' : '') +
          `). Offline: \`flowformer setup tensorflow --from <libtensorflow tarball | tensorflow_cpu wheel>\`. ` +
          `Or pick another backend: --backend wasm (or FLOWFORMER_BACKEND=wasm).`,
      );
    }
    throw new BackendError(
      'load-failed',
      `backend '${name}': ${pkgName} is installed but failed to load (${err.message}). ` +
        `Its native addon or libtensorflow is probably missing or built for another Node. If it was set up ` +
        `offline, run \`flowformer setup tensorflow --from <wheel|tarball|dir>\` again (it restores .cache/tensorflow ` +
        `and rebuilds the addon); if it came from npm with internet, \`npm rebuild ${pkgName}\`. Or pick another ` +
        `backend: --backend wasm.`,
    );
  } finally {
    process.argv = argv;
  }
  if (tf.findBackendFactory('tensorflow') == null) {
    throw new BackendError(
      'other-engine',
      `backend '${name}': ${pkgName} loaded but registered its backend into another copy of ` +
        `@tensorflow/tfjs-core (dual-package hazard: sameEngineAsRequire()=${sameEngineAsRequire()}). ` +
        `Make sure a single @tensorflow/tfjs 4.22.0 is installed (\`npm ls @tensorflow/tfjs-core\`).`,
    );
  }
  registerTensorflowKernels();
  await setBackendOrThrow('tensorflow');
  if (name === 'tensorflow' && mod.node?.loadSavedModel) await loadXlaKernels(mod.node.loadSavedModel);
  else unloadXlaKernels(name === 'tensorflow' ? 'off: this tfjs-node has no loadSavedModel' : 'off: not used on tensorflow-gpu');
  const ver = mod.version?.['tfjs-node'];
  const intraOp = Number(process.env.TF_NUM_INTRAOP_THREADS);
  return { threads: Number.isInteger(intraOp) && intraOp > 0 ? intraOp : null, simd: null, pkg: `${pkgName}@${ver ?? 'unknown'}` };
}

/** The folder of an installed package, or null when it is not installed. */
function installedDir(pkgName: string): string | null {
  try {
    return path.dirname(require.resolve(`${pkgName}/package.json`));
  } catch {
    return null;
  }
}

/** Whether a package's main module is already in this process's CommonJS cache. */
function isLoaded(pkgName: string): boolean {
  try {
    return require.cache[require.resolve(pkgName)] != null;
  } catch {
    return false;
  }
}

async function setBackendOrThrow(tfjsName: string): Promise<void> {
  const ok = await tf.setBackend(tfjsName);
  if (!ok || tf.getBackend() !== tfjsName) {
    throw new Error(`tf.setBackend('${tfjsName}') failed (see the warning printed above by TensorFlow.js).`);
  }
}

// ---------------------------------------------------------------------------------------------
// wasm with threads in Node.
//
// The stock backend never uses threads in Node: its flag WASM_HAS_MULTITHREAD_SUPPORT returns
// false when IS_NODE, and even if forced true, it hands Emscripten the pthread worker as a
// `blob:` URL, which Node's worker_threads cannot load. We therefore register our own factory
// for 'wasm' that instantiates the threaded-SIMD Emscripten module shipped in the package
// (wasm-out/) with its worker script written to a file on disk, and wraps it in the package's
// own `BackendWasm` class, so every stock wasm kernel (and ours) works unchanged.
// The thread count goes through `setThreadsCount` (read by the BackendWasm constructor, passed
// to XNNPACK's pthreadpool); an explicit count is not capped at half the cores (only the
// default, used when the count is unset, is).
// ---------------------------------------------------------------------------------------------

/**
 * Below cpu's 1. The stock package registers wasm at 2, which makes tfjs' implicit backend
 * choice (any op before `initBackend`/`setBackend`) throw "The highest priority backend 'wasm'
 * has not yet been initialized" because wasm initialises asynchronously. At 0, code that never
 * calls initBackend keeps computing on cpu as with plain @tensorflow/tfjs.
 */
const WASM_PRIORITY = 0;
let wasmThreadsWanted = 1;
/** What the live wasm instance was asked for and got (a failed threaded init falls back to 1). */
const wasmState: { requestedThreads: number; threads: number; simd: boolean | null; note: string } = {
  requestedThreads: 0,
  threads: 0,
  simd: null,
  note: '',
};
let stockWasmFactory: (() => tf.KernelBackend | Promise<tf.KernelBackend>) | null = null;

type EmscriptenModule = Record<string, unknown> & {
  cwrap: (name: string, ret: string | null, args: string[]) => (...a: unknown[]) => unknown;
  PThread?: { runningWorkers: { unref(): void }[]; unusedWorkers: { unref(): void; terminate(): Promise<number> }[] };
};

function installWasmFactory(): void {
  const factory = tf.findBackendFactory('wasm');
  if (factory === wasmFactory) return;
  stockWasmFactory = factory as typeof stockWasmFactory;
  if (factory != null) tf.removeBackend('wasm');
  tf.registerBackend('wasm', wasmFactory, WASM_PRIORITY);
}

async function wasmFactory(): Promise<tf.KernelBackend> {
  const threads = wasmThreadsWanted;
  wasmState.requestedThreads = threads;
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
  wasmState.simd = simd;
  wasmState.note = '';
  if (threads > 1 && simd) {
    try {
      const module = await withLogicalCores(2 * threads, createThreadedModule);
      wasmPkg.setThreadsCount(threads);
      const backend = await withLogicalCores(2 * threads, async () => new wasmPkg.BackendWasm(module as never));
      // XNNPACK's pool threads now live as long as the backend; they must not keep the process
      // alive once the program is done (shutdownBackend still terminates them explicitly).
      for (const w of module.PThread?.runningWorkers ?? []) w.unref();
      // Emscripten pre-spawned 8 workers; XNNPACK's pool took threads-1 of them and never
      // creates more. The idle ones are whole V8 isolates with a compiled module each: end them
      // (Emscripten would spawn a new one on demand).
      const idle = module.PThread?.unusedWorkers ?? [];
      for (const w of idle.splice(0, idle.length)) void w.terminate();
      wasmState.threads = threads;
      return backend;
    } catch (e) {
      wasmState.note = `threads unavailable, single-threaded: ${e instanceof Error ? e.message : String(e)}`;
    }
  } else if (threads > 1) {
    wasmState.note = 'no WebAssembly SIMD in this runtime, so no threaded binary: single-threaded';
  }
  // Single-threaded: the stock factory (SIMD binary when supported).
  if (stockWasmFactory == null) throw new Error('the stock wasm backend factory was not registered');
  wasmPkg.setThreadsCount(1);
  wasmState.threads = 1;
  return stockWasmFactory();
}

async function createThreadedModule(): Promise<EmscriptenModule> {
  const wasmOut = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
  const mainScript = path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js');
  const wasmBinary = path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.wasm');
  // The package ships the pthread worker as a JS string; Node needs it as a CommonJS file.
  // Its template literal turned the source's `"\n"` escapes into raw newlines inside string
  // literals; restore them (the stock init() does the same before making its Blob).
  const { wasmWorkerContents: raw } = require(path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js')) as {
    wasmWorkerContents: string;
  };
  const wasmWorkerContents = raw.replace(/\n/g, '\\n');
  const dir = path.join(os.tmpdir(), 'flowformer-tfjs-wasm');
  const workerFile = path.join(dir, `tfjs-backend-wasm-threaded-simd-${wasmPkg.version_wasm}-${hash(wasmWorkerContents)}.worker.cjs`);
  if (!existsSync(workerFile)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${workerFile}.${process.pid}.tmp`;
    writeFileSync(tmp, wasmWorkerContents);
    (await import('node:fs')).renameSync(tmp, workerFile);
  }
  const factory = require(mainScript) as (cfg: object) => Promise<EmscriptenModule>;
  const module = await factory({
    mainScriptUrlOrBlob: mainScript,
    locateFile: (p: string, prefix: string) =>
      p.endsWith('.worker.js') ? workerFile : p.endsWith('.wasm') ? wasmBinary : prefix + p,
  });
  // Same bridge the stock init() builds.
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  return module;
}

/**
 * The backend's C++ sizes XNNPACK's pool from half of `emscripten_num_logical_cores()` (at
 * static-initialisation time, i.e. while the module is created, and again as a cap in
 * `init_with_threads_count`). In Node that is `require('os').cpus().length`: hyper-threads make
 * "half" sensible in a browser, but a 2-core VM gets a single thread. Node's `os` module is one
 * shared object, so while the threaded module and the BackendWasm are being created (and only
 * then) we report `n` logical cores.
 */
async function withLogicalCores<T>(n: number, fn: () => T | Promise<T>): Promise<T> {
  const real = os.cpus;
  const cpus = real.call(os);
  const fake = Array.from({ length: Math.max(n, cpus.length) }, (_, i) => cpus[i % Math.max(cpus.length, 1)]!);
  os.cpus = () => fake;
  try {
    return await fn();
  } finally {
    os.cpus = real;
  }
}

function hash(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0).toString(16);
}

// Replace the stock wasm factory now (see WASM_PRIORITY), so that importing the core never
// changes what tfjs picks implicitly.
installWasmFactory();
