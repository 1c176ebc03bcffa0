/**
 * Byte-level tokenisation, as LRA's Text and Retrieval tasks use it (tfds' ByteTextEncoder):
 * a document is its UTF-8 bytes, token id = byte + 1, id 0 is padding, so the vocabulary
 * has 257 entries. Documents are kept as raw bytes (1 byte per token in memory) and turned
 * into ids only when a batch is built.
 */
import { createReadStream } from 'node:fs';

export const BYTE_PAD_ID = 0;
export const BYTE_VOCAB_SIZE = 257;

/** Writes the ids of `bytes` (truncated to `maxLength`) into `out` at `offset`, padding with 0 up to `maxLength`. */
export function encodeBytesInto(bytes: Uint8Array, maxLength: number, out: Int32Array, offset: number): void {
  const n = Math.min(maxLength, bytes.length);
  for (let i = 0; i < n; i++) out[offset + i] = bytes[i]! + 1;
  out.fill(BYTE_PAD_ID, offset + n, offset + maxLength);
}

/** Ids of `text`'s UTF-8 bytes, truncated to and padded up to `maxLength`. */
export function encodeBytes(text: string | Uint8Array, maxLength: number): Int32Array {
  const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text;
  const out = new Int32Array(maxLength);
  encodeBytesInto(bytes, maxLength, out, 0);
  return out;
}

/** Inverse of the byte encoding (pads dropped), for inspection and tests. */
export function decodeBytes(ids: ArrayLike<number>): string {
  const b: number[] = [];
  for (let i = 0; i < ids.length; i++) if (ids[i]! > 0) b.push(ids[i]! - 1);
  return new TextDecoder().decode(new Uint8Array(b));
}

/**
 * The lines of a (possibly multi-gigabyte) file as raw bytes, with 1-based line numbers,
 * without decoding to a JavaScript string (so byte values survive exactly and no string
 * length limit applies). A trailing CR is removed; a final line without LF is yielded too.
 */
export async function* readByteLines(file: string): AsyncGenerator<{ line: number; bytes: Buffer }> {
  let carry: Buffer | null = null;
  let line = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break;
      let end = nl;
      if (end > start && buf[end - 1] === 0x0d) end--;
      line++;
      yield { line, bytes: buf.subarray(start, end) };
      start = nl + 1;
    }
    carry = start < buf.length ? Buffer.from(buf.subarray(start)) : null;
    buf = Buffer.alloc(0);
  }
  if (carry && carry.length > 0) {
    line++;
    let end = carry.length;
    if (carry[end - 1] === 0x0d) end--;
    yield { line, bytes: carry.subarray(0, end) };
  }
}

/** Splits a byte line on TAB (0x09). */
export function splitTabs(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (;;) {
    const t = bytes.indexOf(0x09, start);
    if (t < 0) break;
    out.push(bytes.subarray(start, t));
    start = t + 1;
  }
  out.push(bytes.subarray(start));
  return out;
}
