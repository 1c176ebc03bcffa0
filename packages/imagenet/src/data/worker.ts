/**
 * The worker thread of the image pipeline (`ImageFolderSplit` with `data.workers` > 0): computes
 * one image's normalised view per task and moves its pixels back to the main thread.
 */
import { serveWorkerTasks } from '@flowformer/core/io';
import { normalizedView, type ViewRequest } from './views.ts';

serveWorkerTasks(async (req: ViewRequest) => {
  const x = await normalizedView(req);
  return { result: x, transfer: [x.buffer] };
});
