/**
 * GPU hygiene for jobs that run side by side: each job sees only its GPU, and TensorFlow grows
 * GPU memory on demand instead of taking all of it at start (which would starve the other jobs
 * on a shared GPU and makes out-of-memory errors appear in the wrong job).
 *
 * Under Slurm the allocation sets CUDA_VISIBLE_DEVICES (with --gres=gpu:N / --gpus); locally,
 * `reproduce --jobs N --gpus 0,1,2,3` gives worker k the GPU gpus[k mod 4].
 *
 * And, for `flowformer info`, what the installed @tensorflow/tfjs-node-gpu needs: its package
 * names the libtensorflow it downloads (scripts/deps-constants.js), and that libtensorflow was
 * built against one CUDA and one cuDNN (TensorFlow's tested build configurations), whose shared
 * libraries must be found by the dynamic loader.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The GPU of worker `slot` (0-based) among `gpus`, round-robin; undefined without a list. */
export function gpuOfSlot(gpus: string[] | undefined, slot: number): string | undefined {
  if (!gpus?.length) return undefined;
  return gpus[slot % gpus.length];
}

/** Parses `--gpus 0,1,2,3` (indices or UUIDs as CUDA_VISIBLE_DEVICES takes them). */
export function parseGpuList(s: string | undefined, source = '--gpus'): string[] | undefined {
  if (s === undefined || s === '') return undefined;
  const list = s.split(',').map((x) => x.trim());
  const bad = list.filter((x) => !/^(\d+|GPU-[0-9a-fA-F-]+|MIG-[0-9a-zA-Z/-]+)$/.test(x));
  if (bad.length) throw new Error(`${source}: '${bad.join("', '")}' is not a GPU index or UUID (e.g. ${source} 0,1,2,3)`);
  return list;
}

/**
 * The environment of a job: CUDA_VISIBLE_DEVICES set to its GPU when one is assigned (Slurm's
 * own setting is kept otherwise), and TF_FORCE_GPU_ALLOW_GROWTH=true for tensorflow-gpu unless
 * the user set it.
 */
export function jobGpuEnv(env: NodeJS.ProcessEnv, o: { gpu?: string; backend?: string }): NodeJS.ProcessEnv {
  const out = { ...env };
  if (o.gpu !== undefined) out.CUDA_VISIBLE_DEVICES = o.gpu;
  const backend = o.backend ?? env.FLOWFORMER_BACKEND;
  if (backend === 'tensorflow-gpu' && out.TF_FORCE_GPU_ALLOW_GROWTH === undefined) out.TF_FORCE_GPU_ALLOW_GROWTH = 'true';
  return out;
}

export interface GpuInfo {
  index: string;
  name: string;
  uuid?: string;
}

/**
 * The GPUs this process can see: `nvidia-smi -L` (which honours CUDA_VISIBLE_DEVICES only by
 * index, so the list is filtered here), else the driver's /proc entries. Empty without a driver.
 */
export function visibleGpus(env: NodeJS.ProcessEnv = process.env): GpuInfo[] {
  let all: GpuInfo[] = [];
  try {
    const out = execFileSync('nvidia-smi', ['-L'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10000, env: { ...env, CUDA_VISIBLE_DEVICES: '' } });
    all = out
      .split('\n')
      .map((l) => /^GPU (\d+): (.*?)(?: \(UUID: (\S+)\))?$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => ({ index: m[1]!, name: m[2]!, ...(m[3] ? { uuid: m[3] } : {}) }));
  } catch {
    const dir = '/proc/driver/nvidia/gpus';
    if (fs.existsSync(dir))
      all = fs.readdirSync(dir).sort().map((bus, i) => {
        const info = safeRead(path.join(dir, bus, 'information'));
        return { index: String(i), name: /Model:\s*(.*)/.exec(info)?.[1]?.trim() ?? bus };
      });
  }
  const visible = env.CUDA_VISIBLE_DEVICES;
  if (visible === undefined) return all;
  const want = visible.split(',').map((x) => x.trim()).filter(Boolean);
  return want.flatMap((w) => all.filter((g) => g.index === w || g.uuid === w));
}

function safeRead(f: string): string {
  try {
    return fs.readFileSync(f, 'utf8');
  } catch {
    return '';
  }
}

/**
 * CUDA and cuDNN of each libtensorflow that tfjs-node-gpu has shipped, from TensorFlow's tested
 * build configurations (tensorflow.org/install/source#gpu), with the shared libraries its GPU
 * kernels open (the sonames libtensorflow's stream executor dlopens).
 */
export const TENSORFLOW_CUDA: Readonly<Record<string, { cuda: string; cudnn: string; libraries: readonly string[] }>> = {
  '2.7': { cuda: '11.2', cudnn: '8.1', libraries: ['libcudart.so.11.0', 'libcublas.so.11', 'libcublasLt.so.11', 'libcufft.so.10', 'libcurand.so.10', 'libcusolver.so.11', 'libcusparse.so.11', 'libcudnn.so.8'] },
  '2.9': { cuda: '11.2', cudnn: '8.1', libraries: ['libcudart.so.11.0', 'libcublas.so.11', 'libcublasLt.so.11', 'libcufft.so.10', 'libcurand.so.10', 'libcusolver.so.11', 'libcusparse.so.11', 'libcudnn.so.8'] },
};

export interface CudaCheck {
  /** Where @tensorflow/tfjs-node-gpu is, or null when it is not installed. */
  packageDir: string | null;
  packageVersion?: string;
  libtensorflow?: string;
  cuda?: string;
  cudnn?: string;
  /** Each library it needs, with where it was found (null: missing). */
  libraries: { name: string; found: string | null }[];
  missing: string[];
  /** The folders searched, in order. */
  searched: string[];
  problem?: string;
}

/** The folders the dynamic loader searches: LD_LIBRARY_PATH, the usual CUDA homes, the system library folders. */
export function librarySearchDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs = [
    ...(env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    ...(env.CUDA_HOME ? [path.join(env.CUDA_HOME, 'lib64')] : []),
    '/usr/local/cuda/lib64',
    '/usr/local/cuda/targets/x86_64-linux/lib',
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
  ];
  return [...new Set(dirs)];
}

/** Checks the CUDA and cuDNN libraries the installed tfjs-node-gpu needs against `dirs`. */
export function checkCudaLibraries(packageDir: string | null, dirs: string[] = librarySearchDirs()): CudaCheck {
  if (!packageDir || !fs.existsSync(path.join(packageDir, 'package.json'))) return { packageDir: null, libraries: [], missing: [], searched: dirs, problem: '@tensorflow/tfjs-node-gpu is not installed' };
  const pkg = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version?: string };
  const constants = safeRead(path.join(packageDir, 'scripts', 'deps-constants.js'));
  const libtensorflow = /LIBTENSORFLOW_VERSION\s*=\s*['"]([\d.]+)['"]/.exec(constants)?.[1];
  const base = { packageDir, packageVersion: pkg.version, libtensorflow, searched: dirs };
  if (!libtensorflow) return { ...base, libraries: [], missing: [], problem: `${path.join(packageDir, 'scripts', 'deps-constants.js')}: no LIBTENSORFLOW_VERSION found` };
  const need = TENSORFLOW_CUDA[libtensorflow.split('.').slice(0, 2).join('.')];
  if (!need) return { ...base, libraries: [], missing: [], problem: `libtensorflow ${libtensorflow}: its CUDA/cuDNN versions are not in our table (TENSORFLOW_CUDA in packages/core/src/launch/gpus.ts)` };
  const libraries = need.libraries.map((name) => ({ name, found: dirs.map((d) => path.join(d, name)).find((f) => fs.existsSync(f)) ?? null }));
  return { ...base, cuda: need.cuda, cudnn: need.cudnn, libraries, missing: libraries.filter((l) => !l.found).map((l) => l.name) };
}

/** Where @tensorflow/tfjs-node-gpu is installed (as the backend would load it), or null. */
export function tfjsNodeGpuDir(): string | null {
  try {
    return path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-node-gpu/package.json'));
  } catch {
    return null;
  }
}
