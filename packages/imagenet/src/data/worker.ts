/**
 * The worker thread of the image pipeline (`ImageFolderSplit` with `data.workers` > 0): writes the
 * normalised views of one image, or of a pair that Mixup/CutMix mixes, into the batch's shared
 * buffer and mixes the pair there; the answer carries no pixels.
 */
import { serveWorkerTasks } from '@flowformer/core/io';
import { writeTask, type ViewTask } from './views.ts';

serveWorkerTasks(async (task: ViewTask) => {
  await writeTask(task);
  return { result: null };
});
