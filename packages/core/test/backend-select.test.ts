/**
 * Backend choice: precedence (argument > FLOWFORMER_BACKEND > auto), the auto order, clear
 * errors for the optional tfjs-node packages that are not installed here, idempotence,
 * switching, the wasm thread count, one engine for ESM and CommonJS, and shutdown.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import * as wasmPkg from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../src/tf.ts';
import { backendInfo, initBackend, parseBackendRequest, sameEngineAsRequire, shutdownBackend } from '../src/backend/select.ts';
import { findAddon } from '../src/backend/tensorflow-setup.ts';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const installed = (name: string) => {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
};
const hasTfjsNode = installed('@tensorflow/tfjs-node');
const hasTfjsNodeGpu = installed('@tensorflow/tfjs-node-gpu');

const savedEnv = process.env.FLOWFORMER_BACKEND;
afterEach(() => {
  if (savedEnv == null) delete process.env.FLOWFORMER_BACKEND;
  else process.env.FLOWFORMER_BACKEND = savedEnv;
});
afterAll(() => shutdownBackend());

describe('initBackend', () => {
  it('importing the core leaves tfjs on cpu until initBackend is called (wasm registered below cpu)', () => {
    // tfjs' implicit choice must stay synchronous: an async-only highest-priority backend
    // makes every op before initBackend throw.
    expect(tf.engine().registryFactory['wasm']?.priority).toBe(0);
    expect(tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)).dataSync()[0])).toBe(3);
    expect(tf.getBackend()).toBe('cpu');
  });

  it('uses one tfjs engine for ESM imports and CommonJS requires (what tfjs-node loads)', () => {
    expect(sameEngineAsRequire()).toBe(true);
    expect(require('@tensorflow/tfjs').Tensor).toBe(tf.Tensor);
  });

  it('initialises wasm with one thread per core, as the backend reports', async () => {
    const info = await initBackend('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.backend).toBe('wasm');
    expect(info.simd).toBe(true);
    const cores = os.availableParallelism();
    // What XNNPACK's pthreadpool was created with, read back from the C++ side.
    console.log(`wasm threads: ${wasmPkg.getThreadsCount()} (cores: ${cores})`);
    expect(wasmPkg.getThreadsCount()).toBe(cores);
    expect(info.threads).toBe(cores);
    expect(info.versions.backendPackage).toMatch(/^@tensorflow\/tfjs-backend-wasm@4\.22\.0$/);
    // and it computes
    const y = tf.tidy(() => tf.matMul(tf.ones([3, 4]), tf.ones([4, 2])).dataSync());
    expect(Array.from(y)).toEqual([4, 4, 4, 4, 4, 4]);
  });

  it('re-creates wasm for another thread count (FLOWFORMER_THREADS / options.threads)', async () => {
    const one = await initBackend('wasm', { threads: 1 });
    expect(one.threads).toBe(1);
    expect(wasmPkg.getThreadsCount()).toBe(1);
    const y = tf.tidy(() => Array.from(tf.matMul(tf.ones([2, 3, 4]), tf.ones([2, 4, 2]), false, false).dataSync()));
    expect(y).toEqual(new Array(12).fill(4));
    const back = await initBackend('wasm', { threads: os.availableParallelism() });
    expect(back.threads).toBe(os.availableParallelism());
    await expect(initBackend('wasm', { threads: 0 })).rejects.toThrow(/options.threads: expected a positive integer, got '0'/);
  });

  it('is idempotent for the same name and switches for another', async () => {
    const a = await initBackend('wasm');
    const b = await initBackend('wasm');
    expect(b).toBe(a);
    const backendObj = tf.backend();
    const c = await initBackend('cpu');
    expect(c.backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    await initBackend('wasm');
    expect(tf.backend()).toBe(backendObj); // the wasm instance (and its threads) is reused
  });

  it('honours FLOWFORMER_BACKEND, and an explicit argument beats it', async () => {
    process.env.FLOWFORMER_BACKEND = 'cpu';
    const env = await initBackend();
    expect(env.backend).toBe('cpu');
    expect(env.requestedBy).toBe('env FLOWFORMER_BACKEND');
    const arg = await initBackend('wasm');
    expect(arg.backend).toBe('wasm');
    expect(arg.requestedBy).toBe('argument');
  });

  it('rejects an unknown name, saying where it came from and what is allowed', async () => {
    process.env.FLOWFORMER_BACKEND = 'gpu';
    await expect(initBackend()).rejects.toThrow(/FLOWFORMER_BACKEND: unknown backend 'gpu'. Use one of: auto, tensorflow-gpu, tensorflow, wasm, cpu/);
    expect(() => parseBackendRequest('tpu', '--backend')).toThrow(/--backend: unknown backend 'tpu'/);
  });

  it.skipIf(hasTfjsNode)('explains how to get tfjs-node when it is asked for but missing', async () => {
    await expect(initBackend('tensorflow')).rejects.toThrow(
      /needs the optional package @tensorflow\/tfjs-node, which is not installed.*npm install @tensorflow\/tfjs-node.*flowformer setup tensorflow --from/,
    );
    await expect(initBackend('tensorflow')).rejects.toMatchObject({ name: 'BackendError', failure: 'not-installed' });
    // a failed explicit request leaves the previous backend in place
    expect(['wasm', 'cpu']).toContain(tf.getBackend());
  });

  it.skipIf(hasTfjsNodeGpu)('explains how to get tfjs-node-gpu when it is asked for but missing', async () => {
    await expect(initBackend('tensorflow-gpu')).rejects.toThrow(/@tensorflow\/tfjs-node-gpu, which is not installed.*for CUDA/);
    await expect(initBackend('tensorflow-gpu')).rejects.toMatchObject({ name: 'BackendError', failure: 'not-installed' });
  });

  it.skipIf(hasTfjsNode || hasTfjsNodeGpu)('auto falls through tensorflow-gpu and tensorflow to wasm and says why', async () => {
    delete process.env.FLOWFORMER_BACKEND;
    const info = await initBackend('auto');
    expect(info.backend).toBe('wasm');
    expect(info.attempts.map((a) => [a.backend, a.ok])).toEqual([
      ['tensorflow-gpu', false],
      ['tensorflow', false],
      ['wasm', true],
    ]);
    expect(info.attempts.map((a) => a.failure)).toEqual(['not-installed', 'not-installed', undefined]);
    expect(info.reason).toMatch(/auto.*tensorflow-gpu > tensorflow > wasm > cpu.*skipped tensorflow-gpu: .*not installed.*tensorflow: .*not installed/);
    expect(backendInfo()).toBe(info);
    expect(info.versions.tfjs).toBe('4.22.0');
    expect(info.versions.node).toBe(process.versions.node);
  });

  it('shutdownBackend releases wasm, and initBackend brings it back', async () => {
    await initBackend('wasm');
    await shutdownBackend();
    expect(tf.engine().registry['wasm']).toBeUndefined();
    expect(tf.getBackend()).toBe('cpu');
    const info = await initBackend('wasm');
    expect(info.threads).toBe(os.availableParallelism());
    expect(tf.tidy(() => tf.sum(tf.ones([5])).dataSync()[0])).toBe(5);
    await shutdownBackend();
    await shutdownBackend(); // safe twice
  });
});

describe('a tfjs-node package installed without its addon', () => {
  // npm leaves @tensorflow/tfjs-node-gpu in place when its install script cannot download
  // (as on this project's machines); loading it would register its kernels, then fail.
  const gpuDir = (() => {
    try {
      return path.dirname(require.resolve('@tensorflow/tfjs-node-gpu/package.json'));
    } catch {
      return null;
    }
  })();
  const addonless = gpuDir !== null && findAddon(gpuDir) === null;
  it.skipIf(!addonless)('is passed over without loading it: no kernel is registered twice', () => {
    const script = "import { initBackend } from './packages/core/src/backend/select.ts'; const i = await initBackend('auto'); console.log('BACKEND', i.backend);";
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: path.resolve(here, '../../..'), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/BACKEND /);
    expect(r.stderr + r.stdout).not.toMatch(/already registered/);
  });
});
