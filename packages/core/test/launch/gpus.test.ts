import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkCudaLibraries, gpuOfSlot, jobGpuEnv, parseGpuList, TENSORFLOW_CUDA } from '../../src/launch/gpus.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowformer-gpus-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('GPU assignment', () => {
  it('gives local workers their GPUs round-robin', () => {
    const gpus = parseGpuList('0,1,2,3');
    expect([0, 1, 2, 3, 4, 5].map((k) => gpuOfSlot(gpus, k))).toEqual(['0', '1', '2', '3', '0', '1']);
    expect(gpuOfSlot(undefined, 3)).toBeUndefined();
    expect(parseGpuList('GPU-8f2c1a3e-1111-2222-3333-444455556666')).toEqual(['GPU-8f2c1a3e-1111-2222-3333-444455556666']);
    expect(() => parseGpuList('0,x')).toThrow(/--gpus: 'x' is not a GPU index or UUID/);
  });

  it('sets CUDA_VISIBLE_DEVICES to the job\'s GPU and lets tensorflow-gpu grow memory unless the user chose', () => {
    expect(jobGpuEnv({}, { gpu: '2', backend: 'tensorflow-gpu' })).toEqual({ CUDA_VISIBLE_DEVICES: '2', TF_FORCE_GPU_ALLOW_GROWTH: 'true' });
    expect(jobGpuEnv({ TF_FORCE_GPU_ALLOW_GROWTH: 'false' }, { backend: 'tensorflow-gpu' })).toEqual({ TF_FORCE_GPU_ALLOW_GROWTH: 'false' });
    // Slurm's own allocation is kept when no GPU is assigned here; other backends get no TF setting.
    expect(jobGpuEnv({ CUDA_VISIBLE_DEVICES: '5' }, { backend: 'tensorflow' })).toEqual({ CUDA_VISIBLE_DEVICES: '5' });
    expect(jobGpuEnv({ FLOWFORMER_BACKEND: 'tensorflow-gpu' }, {})).toMatchObject({ TF_FORCE_GPU_ALLOW_GROWTH: 'true' });
  });
});

describe('CUDA libraries of tfjs-node-gpu', () => {
  const fakePackage = (version: string, libtensorflow: string) => {
    const dir = path.join(tmp, `tfjs-node-gpu-${version}`);
    fs.mkdirSync(path.join(dir, 'scripts'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: '@tensorflow/tfjs-node-gpu', version }));
    fs.writeFileSync(path.join(dir, 'scripts', 'deps-constants.js'), `const LIBTENSORFLOW_VERSION = '${libtensorflow}';\nmodule.exports = { LIBTENSORFLOW_VERSION };\n`);
    return dir;
  };

  it('names exactly the libraries missing from the searched folders', () => {
    const pkg = fakePackage('4.22.0', '2.9.1');
    const cuda = path.join(tmp, 'cuda', 'lib64');
    const cudnn = path.join(tmp, 'cudnn', 'lib');
    fs.mkdirSync(cuda, { recursive: true });
    fs.mkdirSync(cudnn, { recursive: true });
    const need = TENSORFLOW_CUDA['2.9']!.libraries;
    for (const l of need.filter((l) => l !== 'libcudnn.so.8' && l !== 'libcufft.so.10')) fs.writeFileSync(path.join(cuda, l), '');
    const c = checkCudaLibraries(pkg, [cuda, cudnn]);
    expect(c).toMatchObject({ packageVersion: '4.22.0', libtensorflow: '2.9.1', cuda: '11.2', cudnn: '8.1' });
    expect(c.missing).toEqual(['libcufft.so.10', 'libcudnn.so.8']);
    expect(c.libraries.find((l) => l.name === 'libcudart.so.11.0')?.found).toBe(path.join(cuda, 'libcudart.so.11.0'));
    fs.writeFileSync(path.join(cudnn, 'libcudnn.so.8'), '');
    fs.writeFileSync(path.join(cuda, 'libcufft.so.10'), '');
    expect(checkCudaLibraries(pkg, [cuda, cudnn]).missing).toEqual([]);
  });

  it('says when the package is absent or its libtensorflow is not in the table', () => {
    expect(checkCudaLibraries(null, []).problem).toMatch(/not installed/);
    expect(checkCudaLibraries(fakePackage('9.9.9', '3.1.0'), []).problem).toMatch(/libtensorflow 3\.1\.0: its CUDA\/cuDNN versions are not in our table/);
  });
});
