/**
 * The worker thread of the image pipeline (`ImageFolderSplit` with `data.workers` > 0): writes one
 * image's normalised view per task into the batch's shared buffer; the answer carries no pixels.
 */
import { serveWorkerTasks } from '@flowformer/core/io';
import { writeView, type ViewRequest } from './views.ts';

serveWorkerTasks(async (req: ViewRequest) => {
  await writeView(req);
  return { result: null };
});
