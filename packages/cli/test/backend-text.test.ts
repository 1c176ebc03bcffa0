/** The backend in words: the first line of a run's log and `flowformer info`. */
import { describe, expect, it } from 'vitest';
import type { BackendInfo } from '@flowformer/core';
import { backendLine, tensorflowMissing, threadsText } from '../src/backend-text.ts';

const base: BackendInfo = {
  backend: 'wasm',
  requested: 'auto',
  requestedBy: 'default',
  reason: '',
  attempts: [],
  threads: 2,
  simd: true,
  versions: {},
} as unknown as BackendInfo;
const notInstalled = (b: 'tensorflow' | 'tensorflow-gpu') => ({ backend: b, ok: false, error: `backend '${b}' needs the optional package @tensorflow/tfjs-node, which is not installed. More.`, failure: 'not-installed' as const });

describe('backendLine', () => {
  it('names the backend, how it was chosen and its threads', () => {
    expect(backendLine({ ...base, backend: 'cpu', requested: 'cpu', requestedBy: 'argument', threads: 1 } as BackendInfo)).toBe('backend cpu (--backend), 1 thread');
    expect(backendLine({ ...base, requested: 'wasm', requestedBy: 'env FLOWFORMER_BACKEND' } as BackendInfo)).toBe('backend wasm (env FLOWFORMER_BACKEND), 2 threads');
  });

  it("says libtensorflow's default when no thread count was given to tensorflow (threads null), not 'null threads'", () => {
    const tf = { ...base, backend: 'tensorflow', threads: null, attempts: [notInstalled('tensorflow-gpu'), { backend: 'tensorflow', ok: true }] } as BackendInfo;
    expect(threadsText(tf)).toBe("libtensorflow's default (one per core)");
    expect(backendLine(tf)).toBe("backend tensorflow (automatic choice), libtensorflow's default (one per core)");
  });

  it('on wasm for want of tfjs-node, points at the faster backend; not when wasm was asked for', () => {
    const fell = { ...base, attempts: [notInstalled('tensorflow-gpu'), notInstalled('tensorflow'), { backend: 'wasm', ok: true }] } as BackendInfo;
    expect(tensorflowMissing(fell)).toBe(true);
    expect(backendLine(fell)).toBe('backend wasm (automatic choice), 2 threads; the tensorflow backend is not installed (faster: see flowformer info)');
    const asked = { ...base, requested: 'wasm', requestedBy: 'argument', attempts: [{ backend: 'wasm', ok: true }] } as BackendInfo;
    expect(tensorflowMissing(asked)).toBe(false);
    // tfjs-node present but broken is not "not installed": the hint would mislead
    const broken = { ...base, attempts: [notInstalled('tensorflow-gpu'), { backend: 'tensorflow', ok: false, error: 'is installed but failed to load (not installed libs)', failure: 'load-failed' }, { backend: 'wasm', ok: true }] } as BackendInfo;
    expect(tensorflowMissing(broken)).toBe(false);
  });
});
