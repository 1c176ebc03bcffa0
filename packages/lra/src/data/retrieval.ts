/**
 * LRA "Retrieval": ACL Anthology Network citation matching, byte level.
 *
 * Files `new_aan_pairs.{train,eval,test}.tsv` from the LRA release (`lra_release/tsv_data/`):
 * no header, five TAB-separated columns `label, id1, id2, text1, text2`. LRA reads them with
 * `use_quote_delim=False`, so quotes are ordinary characters. The label is parsed as a float
 * (files hold `0`/`1` or `0.0`/`1.0`) and cast to an integer class. Each document is cut to
 * its first `maxLength` bytes (4000 in LRA; LRA first cuts the text at 10,000 bytes, which
 * changes nothing for lengths <= 10,000).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readByteLines, splitTabs } from './bytes.ts';
import { DataFormatError, MissingDataError } from './errors.ts';

export interface PairDocs {
  docs1: Uint8Array[];
  docs2: Uint8Array[];
  labels: Int32Array;
}

export const AAN_HOW_TO_GET =
  'The files come with the LRA release: download https://storage.googleapis.com/long-range-arena/lra_release.gz ' +
  "and unpack lra_release/tsv_data/ there (or run 'flowformer data download --task lra --dataset retrieval').";

export type AanSplit = 'train' | 'eval' | 'test';

export function aanFile(dir: string, split: AanSplit): string {
  return path.join(dir, `new_aan_pairs.${split}.tsv`);
}

/** Reads one AAN split, streaming (the train file is large). Bad lines fail with file, line and reason. */
export async function readAanSplit(dir: string, split: AanSplit, maxLength: number): Promise<PairDocs> {
  const file = aanFile(dir, split);
  if (!existsSync(file)) throw new MissingDataError(`AAN retrieval split '${split}'`, file, AAN_HOW_TO_GET);
  const docs1: Uint8Array[] = [];
  const docs2: Uint8Array[] = [];
  const labels: number[] = [];
  for await (const { line, bytes } of readByteLines(file)) {
    if (bytes.length === 0) continue; // a blank line (e.g. at the end) carries no example
    const f = splitTabs(bytes);
    if (f.length !== 5) {
      throw new DataFormatError(file, line, `expected 5 TAB-separated fields (label, id1, id2, text1, text2), found ${f.length}`);
    }
    const labelText = f[0]!.toString('latin1').trim();
    const v = Number(labelText);
    if (labelText === '' || !Number.isFinite(v) || (v !== 0 && v !== 1)) {
      throw new DataFormatError(file, line, `label must be 0 or 1, found '${labelText.slice(0, 20)}'`);
    }
    docs1.push(Uint8Array.prototype.slice.call(f[3]!, 0, Math.min(maxLength, f[3]!.length)));
    docs2.push(Uint8Array.prototype.slice.call(f[4]!, 0, Math.min(maxLength, f[4]!.length)));
    labels.push(v);
  }
  if (labels.length === 0) throw new DataFormatError(file, undefined, 'the file holds no examples');
  return { docs1, docs2, labels: Int32Array.from(labels) };
}

/** Writes pairs in the release's form (used by tests and the tiny synthetic fixtures). */
export function formatAanTsv(rows: { label: number; id1: string; id2: string; text1: string; text2: string }[]): string {
  return rows.map((r) => `${r.label}\t${r.id1}\t${r.id2}\t${r.text1}\t${r.text2}`).join('\n') + '\n';
}
