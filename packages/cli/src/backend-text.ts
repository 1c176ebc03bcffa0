/**
 * The backend in words, for `flowformer info` and the first line of a run's log.
 */
import { backendInfo, type BackendInfo } from '@flowformer/core';

/** Threads as a count, or what null means: libtensorflow sizes its own pool (one thread per core). */
export function threadsText(info: BackendInfo): string {
  return info.threads === null ? "libtensorflow's default (one per core)" : `${info.threads} thread${info.threads === 1 ? '' : 's'}`;
}

/** On wasm or cpu because @tensorflow/tfjs-node is not installed (not because it was asked for). */
export function tensorflowMissing(info: BackendInfo): boolean {
  return (info.backend === 'wasm' || info.backend === 'cpu') && info.attempts.some((a) => a.backend === 'tensorflow' && a.failure === 'not-installed');
}

/**
 * The backend a run computes on, first thing in its log: which, chosen how, with how many
 * threads; on wasm or cpu for want of tfjs-node, a pointer to the faster backend.
 */
export function backendLine(info: BackendInfo = backendInfo()): string {
  const how = info.requested === 'auto' ? 'automatic choice' : info.requestedBy === 'argument' ? '--backend' : info.requestedBy;
  const slower = tensorflowMissing(info) ? '; the tensorflow backend is not installed (faster: see flowformer info)' : '';
  return `backend ${info.backend} (${how}), ${threadsText(info)}${slower}`;
}

/**
 * How this process allocates memory: bin/flowformer.js starts the command with glibc's malloc
 * kept off mmap on Linux (large activations then reuse freed memory instead of page-faulting it
 * in anew), unless FLOWFORMER_MALLOC=system.
 */
export function mallocText(env: NodeJS.ProcessEnv = process.env, platform: string = process.platform): string {
  if (env.MALLOC_MMAP_MAX_ === '0') return "glibc, large blocks kept off mmap and reused (MALLOC_MMAP_MAX_=0; FLOWFORMER_MALLOC=system for glibc's defaults)";
  if (env.MALLOC_MMAP_MAX_ !== undefined) return `glibc with MALLOC_MMAP_MAX_=${env.MALLOC_MMAP_MAX_} (set by you)`;
  if (platform !== 'linux') return "the platform's default";
  return env.FLOWFORMER_MALLOC === 'system' ? "glibc's defaults (FLOWFORMER_MALLOC=system)" : "glibc's defaults (not started through bin/flowformer.js)";
}
