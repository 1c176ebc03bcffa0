/**
 * Reading text exactly as fairseq's Python does, so that our token streams (and hence our
 * perplexities) are the ones fairseq would compute on the same file.
 *
 * - Lines: fairseq opens files in Python text mode (`open(path, "r", encoding="utf-8")`),
 *   whose universal newlines end a line at `\n`, `\r\n` or a lone `\r`. A last line without a
 *   terminator still counts; a file that ends with a terminator has no extra empty line.
 *   Python keeps a leading byte-order mark as the character U+FEFF, and so do we.
 * - Tokens: `fairseq.tokenizer.tokenize_line` collapses runs of `\s` into one space, strips
 *   and splits. Python's `\s` (= `str.isspace`) is not JavaScript's `\s`: Python adds
 *   U+001C..U+001F and U+0085, JavaScript adds U+FEFF. We spell Python's set out.
 *
 * Files are streamed in chunks: WikiText-103's train file (about 540 MB) is longer than the
 * longest string V8 can hold.
 */
import fs from 'node:fs';

/** Python's `str.isspace()` characters (identical to what `re`'s `\s` matches on str). */
const PY_WHITESPACE = '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_WS_RUN = new RegExp(`[${PY_WHITESPACE}]+`);

/** fairseq's `tokenize_line`: whitespace-separated tokens, no empty strings. */
export function tokenizeLine(line: string): string[] {
  const parts = line.split(PY_WS_RUN);
  // Only the first and the last part can be empty (leading/trailing whitespace).
  let lo = 0;
  let hi = parts.length;
  if (hi > 0 && parts[0] === '') lo = 1;
  if (hi > lo && parts[hi - 1] === '') hi -= 1;
  return lo === 0 && hi === parts.length ? parts : parts.slice(lo, hi);
}

const LINE_BREAK = /\r\n|\r|\n/;

/**
 * Calls `onLine(line, lineNumber)` (1-based, without its terminator) for every line of a
 * UTF-8 file, reading `chunkBytes` at a time. Invalid UTF-8 is an error (as in Python).
 */
export function forEachLine(path: string, onLine: (line: string, lineNumber: number) => void, chunkBytes = 8 << 20): void {
  const fd = fs.openSync(path, 'r');
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const buf = Buffer.allocUnsafe(chunkBytes);
  let carry = '';
  let lineNumber = 0;
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, chunkBytes, null);
      const eof = n === 0;
      let text: string;
      try {
        text = carry + (eof ? decoder.decode() : decoder.decode(buf.subarray(0, n), { stream: true }));
      } catch (e) {
        throw new Error(`${path}: not valid UTF-8 near line ${lineNumber + 1} (${(e as Error).message}). WikiText files are UTF-8; re-download the file.`);
      }
      // A '\r' at the end of a chunk may be the first half of '\r\n': decide with the next chunk.
      if (!eof && text.endsWith('\r')) {
        carry = '\r';
        text = text.slice(0, -1);
      } else {
        carry = '';
      }
      const parts = text.split(LINE_BREAK);
      // The last part has no terminator yet: keep it unless the file has ended.
      const last = parts.pop()!;
      for (const line of parts) onLine(line, ++lineNumber);
      if (eof) {
        if (last !== '') onLine(last, ++lineNumber);
        return;
      }
      carry = last + carry;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** The Python code points of a string (`list(s)` in Python), which differ from UTF-16 units for astral characters. */
export function codePoints(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) out.push(ch.codePointAt(0)!);
  return out;
}

/** Python's `<` on str: compares code points, not UTF-16 code units (they differ for U+E000..U+FFFF vs astral). */
export function comparePython(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    const sa = ca >= 0xd800 && ca <= 0xdfff;
    const sb = cb >= 0xd800 && cb <= 0xdfff;
    // A surrogate starts a code point above U+FFFF, so it beats any BMP character.
    if (sa !== sb) return sa ? 1 : -1;
    return ca - cb;
  }
  return a.length - b.length;
}
