import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { siblingEntry, WorkerPool } from '../src/io/index.ts';
import { tempDir } from '../src/testing.ts';

const tmp = tempDir('flowformer-worker-pool-');
afterAll(() => tmp.cleanup());

// A plain JavaScript worker (as a dist/ build is): the protocol of serveWorkerTasks, written out
// so that the file needs no package resolution from the temporary folder.
const entry = path.join(tmp.dir, 'square.mjs');
writeFileSync(
  entry,
  `import { parentPort, threadId } from 'node:worker_threads';
parentPort.on('message', ({ id, request }) => {
  if (request === 'exit') process.exit(3);
  if (request < 0) parentPort.postMessage({ id, ok: false, message: 'negative input ' + request });
  else parentPort.postMessage({ id, ok: true, result: { square: request * request, thread: threadId } });
});
`,
);

describe('WorkerPool', () => {
  it('runs tasks in several threads, answers in order of the requests, and passes on a task error as it is', async () => {
    const pool = new WorkerPool<number | string, { square: number; thread: number }>({ entry: pathToFileURL(entry), size: 2, name: 'test' });
    try {
      const r = await Promise.all(Array.from({ length: 12 }, (_, i) => pool.run(i, `item ${i}`)));
      expect(r.map((x) => x.square)).toEqual(Array.from({ length: 12 }, (_, i) => i * i));
      expect(new Set(r.map((x) => x.thread)).size).toBe(2);
      await expect(pool.run(-2, 'item -2')).rejects.toThrow(/^negative input -2$/);
      expect((await pool.run(5, 'item 5')).square).toBe(25); // still usable after a task's error
    } finally {
      await pool.close();
    }
    await expect(pool.run(1, 'late')).rejects.toThrow(/test worker pool: closed; cannot run late/);
  });

  it('a worker that dies fails its task and every later one, naming the entry and the task', async () => {
    const pool = new WorkerPool<number | string, unknown>({ entry: pathToFileURL(entry), size: 1, name: 'test' });
    await expect(pool.run('exit', 'file-7.jpg')).rejects.toThrow(/test worker \(.*square\.mjs\) exited with code 3 while processing file-7\.jpg/);
    await expect(pool.run(2, 'file-8.jpg')).rejects.toThrow(/exited with code 3/);
    await pool.close();
  });

  it('picks the .ts worker beside a module run from its source and the .js one beside a built module', () => {
    expect(siblingEntry('file:///repo/packages/x/src/data/split.ts', 'worker').href).toBe('file:///repo/packages/x/src/data/worker.ts');
    expect(siblingEntry('file:///repo/packages/x/dist/data/split.js', 'worker').href).toBe('file:///repo/packages/x/dist/data/worker.js');
    expect(() => new WorkerPool({ entry: pathToFileURL(entry), size: 0, name: 'test' })).toThrow(/size 0: expected a whole number >= 1/);
  });
});
