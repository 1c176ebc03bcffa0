/**
 * LRA "Text": IMDB sentiment classification at the byte level.
 *
 * Reads the aclImdb release folders (`aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt`;
 * `train/unsup` is ignored). Label 1 = pos, 0 = neg, as tfds' `imdb_reviews`. LRA used
 * tfds, which has no validation split, and evaluated on the test split; so do we.
 * Each review keeps only its first `maxLength` bytes (1000 in the Flowformer runs, 4000 in
 * LRA's definition; a config value).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { DataFormatError, MissingDataError } from './errors.ts';

export interface ByteDocs {
  /** Raw UTF-8 bytes of each document, already cut at `maxLength`. */
  docs: Uint8Array[];
  labels: Int32Array;
  /** Source file of each document (for messages). */
  files: string[];
}

export const IMDB_HOW_TO_GET =
  'Download https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz and unpack it there ' +
  "(or run 'flowformer data download --task lra --dataset text').";

/** `<id>_<rating>.txt` sorted by the numeric id, so the order does not depend on the file system. */
function sortedReviewFiles(dir: string): string[] {
  const names = readdirSync(dir).filter((n) => n.endsWith('.txt'));
  const key = (n: string) => {
    const m = /^(\d+)_(\d+)\.txt$/.exec(n);
    return m ? Number(m[1]) : Number.POSITIVE_INFINITY;
  };
  return names.sort((a, b) => key(a) - key(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Reads one split (`train` or `test`) of an aclImdb folder. An empty review or an unreadable
 * file is an error naming the file; a missing folder says how to get the data.
 */
export function readImdbSplit(root: string, split: 'train' | 'test', maxLength: number): ByteDocs {
  const docs: Uint8Array[] = [];
  const labels: number[] = [];
  const files: string[] = [];
  for (const [cls, label] of [
    ['neg', 0],
    ['pos', 1],
  ] as const) {
    const dir = path.join(root, split, cls);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new MissingDataError(`IMDB folder ${split}/${cls}`, dir, IMDB_HOW_TO_GET);
    const names = sortedReviewFiles(dir);
    if (names.length === 0) throw new DataFormatError(dir, undefined, 'no review files (*.txt) in this folder');
    for (const n of names) {
      const f = path.join(dir, n);
      let bytes: Buffer;
      try {
        bytes = readFileSync(f);
      } catch (e) {
        throw new DataFormatError(f, undefined, `cannot read the review (${(e as Error).message})`);
      }
      if (bytes.length === 0) throw new DataFormatError(f, 1, 'empty review');
      // Keep a copy of only the bytes we use: the file buffer itself may be large.
      docs.push(Uint8Array.prototype.slice.call(bytes, 0, Math.min(maxLength, bytes.length)));
      labels.push(label);
      files.push(f);
    }
  }
  return { docs, labels: Int32Array.from(labels), files };
}
