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
