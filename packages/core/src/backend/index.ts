/** The backend layer: run-time backend choice, our wasm kernels, gradient fixes. */
export {
  initBackend,
  backendInfo,
  shutdownBackend,
  sameEngineAsRequire,
  parseBackendRequest,
  parseThreadCount,
  threadsFromEnv,
  BACKEND_NAMES,
  BackendError,
  type BackendFailure,
  type BackendName,
  type BackendRequest,
  type BackendInfo,
  type BackendAttempt,
  type InitBackendOptions,
} from './select.ts';
export { registerWasmKernels, useStockBatchMatMul, WASM_KERNELS, wasmKernelOptions } from './wasm-kernels.ts';
export { registerGradientFixes } from './gradients.ts';
export { registerCpuKernels } from './cpu-kernels.ts';
export * from './tensorflow-setup.ts';
