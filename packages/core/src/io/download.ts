/**
 * Downloading a file so that an interrupted transfer is never mistaken for a complete one:
 *
 * - bytes go to `<dest>.part`; an existing `.part` is resumed with an HTTP `Range` request
 *   (a server that ignores Range answers 200 and we start over);
 * - a dropped connection is retried, resuming each time;
 * - the finished file is checked against its sha256 (when given) and only then renamed to
 *   `dest` (a rename in one folder is atomic), so `dest` either is complete or does not exist.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';

export interface DownloadProgress {
  /** Bytes in the file so far (including resumed bytes). */
  received: number;
  /** Expected size, when the server said. */
  total: number | null;
}

export interface DownloadArgs {
  /** Expected sha256 (hex). The file is rejected and deleted if it differs. */
  sha256?: string;
  onProgress?: (p: DownloadProgress) => void;
  /** Attempts after a dropped or stalled connection, each resuming where the last stopped. Default 3. */
  retries?: number;
  /** Give up on an attempt when no byte arrives for this long. Default 60 s. */
  idleTimeoutMs?: number;
  /** Delay before a retry. Default 1 s. */
  retryDelayMs?: number;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  /** True when `dest` already existed (and matched `sha256`, if given): nothing was fetched. */
  cached: boolean;
  /** True when some bytes came from an earlier, interrupted transfer. */
  resumed: boolean;
}

/** The sha256 (hex) of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

class HttpError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

const sizeOf = (p: string) => (existsSync(p) ? statSync(p).size : 0);

/** One HTTP attempt that appends to (or restarts) `part`. Returns the expected total, when known. */
async function attempt(url: string, part: string, args: DownloadArgs, onStart: (resumedFrom: number) => void): Promise<number | null> {
  const start = sizeOf(part);
  const ctrl = new AbortController();
  const idleMs = args.idleTimeoutMs ?? 60_000;
  let timer = setTimeout(() => ctrl.abort(), idleMs);
  const poke = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ctrl.abort(), idleMs);
  };
  try {
    let res: Response;
    try {
      res = await fetch(url, { headers: start > 0 ? { Range: `bytes=${start}-` } : {}, signal: ctrl.signal, redirect: 'follow' });
    } catch (e) {
      throw new HttpError(`cannot reach ${url}: ${(e as Error).message}${ctrl.signal.aborted ? ` (no answer within ${idleMs} ms)` : ''}`, true);
    }
    let append = false;
    let total: number | null = null;
    const length = res.headers.get('content-length');
    if (res.status === 206) {
      // Content-Range: bytes <first>-<last>/<total or *>
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
      if (!m || Number(m[1]) !== start) {
        await res.body?.cancel();
        unlinkSync(part);
        throw new HttpError(`${url}: the server answered the resume request for bytes ${start}- with Content-Range '${res.headers.get('content-range')}'; restarting from 0`, true);
      }
      append = true;
      total = m[3] === '*' ? null : Number(m[3]);
    } else if (res.status === 416 && start > 0) {
      // Nothing left to send: the part file may already be complete ("bytes */<total>").
      await res.body?.cancel();
      const m = /^bytes \*\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
      if (m && Number(m[1]) === start) return start;
      unlinkSync(part);
      throw new HttpError(`${url}: the server cannot resume from byte ${start} (HTTP 416); restarting from 0`, true);
    } else if (res.status === 200) {
      total = length !== null ? Number(length) : null;
    } else {
      await res.body?.cancel();
      const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
      throw new HttpError(`HTTP ${res.status} ${res.statusText} for ${url}`, retryable);
    }
    onStart(append ? start : 0);
    if (!res.body) throw new HttpError(`${url}: empty response body`, true);

    const out = createWriteStream(part, { flags: append ? 'a' : 'w' });
    const outDone = new Promise<void>((resolve, reject) => {
      out.on('finish', resolve);
      out.on('error', reject);
    });
    let received = append ? start : 0;
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        poke();
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
        received += chunk.length;
        args.onProgress?.({ received, total });
      }
    } catch (e) {
      out.end();
      await outDone;
      throw new HttpError(`${url}: connection lost after ${received} bytes: ${(e as Error).message}`, true);
    } finally {
      if (!out.writableEnded) out.end();
    }
    await outDone;
    if (total !== null && received !== total) {
      throw new HttpError(`${url}: connection ended after ${received} of ${total} bytes`, true);
    }
    return total;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Downloads `url` to `dest` (see the module comment). If `dest` already exists it is kept
 * when it matches `sha256` (or when no sha256 is given) and rejected otherwise.
 */
export async function download(url: string, dest: string, args: DownloadArgs = {}): Promise<DownloadResult> {
  const want = args.sha256?.toLowerCase();
  if (existsSync(dest)) {
    const got = await sha256File(dest);
    if (want && got !== want) {
      throw new Error(`${dest} exists but its sha256 is ${got}, not the expected ${want}; delete it to download ${url} again`);
    }
    return { path: dest, bytes: statSync(dest).size, sha256: got, cached: true, resumed: false };
  }
  mkdirSync(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const retries = args.retries ?? 3;
  let resumed = false;
  for (let i = 0; ; i++) {
    try {
      await attempt(url, part, args, (from) => {
        if (from > 0) resumed = true;
      });
      break;
    } catch (e) {
      if (!(e instanceof HttpError) || !e.retryable || i >= retries) {
        const kept = existsSync(part) ? ` (${sizeOf(part)} bytes kept in ${part}; run again to resume)` : '';
        throw new Error(`download failed: ${(e as Error).message}${i > 0 ? ` after ${i + 1} attempts` : ''}${kept}`);
      }
      await new Promise((r) => setTimeout(r, args.retryDelayMs ?? 1000));
    }
  }
  const got = await sha256File(part);
  if (want && got !== want) {
    unlinkSync(part);
    throw new Error(`download of ${url} has sha256 ${got}, expected ${want}; the file was deleted. The source may have changed or the transfer was corrupted: check the URL and the checksum`);
  }
  renameSync(part, dest);
  return { path: dest, bytes: statSync(dest).size, sha256: got, cached: false, resumed };
}
