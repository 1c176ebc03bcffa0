/**
 * The GPU part of `flowformer info`: the GPUs this process sees (after CUDA_VISIBLE_DEVICES),
 * and, where tensorflow-gpu is wanted or installed, the CUDA and cuDNN libraries the installed
 * @tensorflow/tfjs-node-gpu needs, found or missing, by name.
 */
import { type BackendInfo } from '@flowformer/core';
import { checkCudaLibraries, tfjsNodeGpuDir, visibleGpus, type CudaCheck } from '@flowformer/core/launch';

function wantsGpu(info: Pick<BackendInfo, 'backend' | 'requested'>, pkg: string | null): boolean {
  return info.backend === 'tensorflow-gpu' || info.requested === 'tensorflow-gpu' || pkg !== null;
}

/** The CUDA check in words: one line for what tfjs-node-gpu needs, one for what is missing. */
export function cudaRows(c: CudaCheck): [string, string][] {
  if (c.problem) return [['cuda', c.problem]];
  const rows: [string, string][] = [['cuda needed', `@tensorflow/tfjs-node-gpu ${c.packageVersion} runs libtensorflow ${c.libtensorflow}: CUDA ${c.cuda}, cuDNN ${c.cudnn}`]];
  const found = c.libraries.filter((l) => l.found);
  if (found.length) rows.push(['cuda found', found.map((l) => l.found).join(', ')]);
  rows.push(['cuda missing', c.missing.length ? `${c.missing.join(', ')} (searched ${c.searched.join(':')}; install CUDA ${c.cuda} and cuDNN ${c.cudnn}, or add their lib folders to LD_LIBRARY_PATH)` : 'none']);
  return rows;
}

export function gpuRows(info: Pick<BackendInfo, 'backend' | 'requested'>, env: NodeJS.ProcessEnv = process.env): [string, string][] {
  const gpus = visibleGpus(env);
  const rows: [string, string][] = [['gpus', gpus.length ? gpus.map((g) => `${g.index}: ${g.name}${g.uuid ? ` (${g.uuid})` : ''}`).join('; ') : `none visible${env.CUDA_VISIBLE_DEVICES !== undefined ? ` (CUDA_VISIBLE_DEVICES=${env.CUDA_VISIBLE_DEVICES})` : ''}`]];
  const pkg = tfjsNodeGpuDir();
  if (wantsGpu(info, pkg)) rows.push(...cudaRows(checkCudaLibraries(pkg)));
  return rows;
}

export function gpuJson(info: Pick<BackendInfo, 'backend' | 'requested'>, env: NodeJS.ProcessEnv = process.env): { gpus: ReturnType<typeof visibleGpus>; cuda?: CudaCheck } {
  const pkg = tfjsNodeGpuDir();
  return { gpus: visibleGpus(env), ...(wantsGpu(info, pkg) ? { cuda: checkCudaLibraries(pkg) } : {}) };
}
