/** Download, archive, bounded-concurrency and test-server helpers shared by the task packages. */
export { download, sha256File, type DownloadArgs, type DownloadProgress, type DownloadResult } from './download.ts';
export { extract, archiveKind, type ArchiveKind } from './archive.ts';
export { startTestServer, type TestServer, type TestServerArgs, type TestRequest } from './test-server.ts';
export { mapLimit } from './map-limit.ts';
export { parseSafetensors, readSafetensors, serializeSafetensors, writeSafetensors, safeToNumbers, type SafeDtype, type SafeTensor, type SafetensorsFile } from './safetensors.ts';
export { WorkerPool, serveWorkerTasks, siblingEntry, availableCores, type WorkerPoolArgs } from './worker-pool.ts';
