/**
 * Word-level corpora: a token file binarised once into a flat `Int32Array` of dictionary
 * indices (every line's tokens followed by `</s>`, as `fairseq-preprocess` writes them), and
 * cached on disk so that reruns start instantly.
 *
 * The cache key hashes the source's absolute path, size and modification time together with
 * the dictionary's content: editing the file (or building another dictionary) makes a new
 * key, so a stale cache is never read. A cache entry is `<key>.i32` (raw little-endian
 * int32) plus `<key>.json` (its metadata), the JSON written last, so an interrupted write is
 * never mistaken for a finished one.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Dictionary, type FinalizeArgs } from './dictionary.ts';
import { forEachLine, tokenizeLine } from './text.ts';

export interface EncodedCorpus {
  /** Dictionary indices, `</s>` after every line. */
  tokens: Int32Array;
  /** Number of lines (= number of `</s>`). */
  lines: number;
  /** Tokens mapped to `<unk>` that were not spelled `<unk>` in the file (fairseq's "replaced by <unk>"). */
  replaced: number;
  /** True when read from the cache. */
  cached: boolean;
}

function sha256(s: string): string {
  return crypto.createHash('sha256').update(s).digest('hex');
}

/** Identity of a source file for cache keys: absolute path, size, mtime. */
export function fileStamp(file: string): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new Error(`data file ${file} does not exist. Check data.dir / data.root, or run 'flowformer data download --task wikitext'.`);
  }
  return JSON.stringify({ path: path.resolve(file), size: st.size, mtimeMs: st.mtimeMs });
}

/** Tokenises and indexes a file (no cache). */
export function encodeFile(file: string, dict: Dictionary): Omit<EncodedCorpus, 'cached'> {
  let buf = new Int32Array(1 << 20);
  let n = 0;
  let lines = 0;
  let replaced = 0;
  const push = (id: number) => {
    if (n === buf.length) {
      const bigger = new Int32Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
    buf[n++] = id;
  };
  forEachLine(file, (line) => {
    lines++;
    for (const w of tokenizeLine(line)) {
      const id = dict.index(w);
      if (id === dict.unkIndex && w !== Dictionary.UNK) replaced++;
      push(id);
    }
    push(dict.eosIndex);
  });
  return { tokens: buf.slice(0, n), lines, replaced };
}

function writeAtomic(file: string, data: Uint8Array | string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/** `encodeFile` through the on-disk cache in `cacheDir` (created if needed). */
export function encodeFileCached(file: string, dict: Dictionary, cacheDir: string): EncodedCorpus {
  if (os.endianness() !== 'LE') throw new Error('the token cache stores little-endian int32; this machine is big-endian');
  const key = sha256(`${fileStamp(file)}\n${sha256(dict.toText())}`).slice(0, 24);
  const base = path.join(cacheDir, `${path.basename(file)}.${key}`);
  const metaFile = `${base}.json`;
  const binFile = `${base}.i32`;
  if (fs.existsSync(metaFile) && fs.existsSync(binFile)) {
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf-8')) as { count: number; lines: number; replaced: number };
    const bytes = fs.readFileSync(binFile);
    if (bytes.byteLength === meta.count * 4) {
      const tokens = new Int32Array(meta.count);
      new Uint8Array(tokens.buffer).set(bytes);
      return { tokens, lines: meta.lines, replaced: meta.replaced, cached: true };
    }
    // A truncated entry: fall through and rebuild it.
  }
  const enc = encodeFile(file, dict);
  fs.mkdirSync(cacheDir, { recursive: true });
  writeAtomic(binFile, new Uint8Array(enc.tokens.buffer, enc.tokens.byteOffset, enc.tokens.byteLength));
  writeAtomic(metaFile, JSON.stringify({ source: path.resolve(file), count: enc.tokens.length, lines: enc.lines, replaced: enc.replaced }));
  return { ...enc, cached: false };
}

/** A dictionary built from `trainFile` (as fairseq-preprocess), cached as a fairseq `dict.txt` in `cacheDir`. */
export function buildDictionaryCached(trainFile: string, cacheDir: string, args: FinalizeArgs = {}): { dict: Dictionary; file: string; cached: boolean } {
  const key = sha256(`${fileStamp(trainFile)}\n${JSON.stringify(args)}`).slice(0, 24);
  const file = path.join(cacheDir, `dict.${path.basename(trainFile)}.${key}.txt`);
  if (fs.existsSync(file)) return { dict: Dictionary.load(file), file, cached: true };
  const dict = Dictionary.build(trainFile, args);
  dict.save(file);
  return { dict, file, cached: false };
}
