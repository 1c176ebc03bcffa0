/**
 * A tiny HTTP file server on 127.0.0.1 (random port) for tests of downloaders: it serves
 * fixed byte arrays, honours `Range: bytes=<from>-` (206 / 416) unless told not to, logs
 * every request, and can drop a connection part-way to test resuming. Not for production.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestServerArgs {
  /** Answer Range requests with 206 (default true); false = always send the whole file with 200. */
  ranges?: boolean;
  /** For the first `dropCount` GETs of a file, destroy the socket after this many body bytes. */
  dropAfterBytes?: number;
  dropCount?: number;
}

export interface TestRequest {
  path: string;
  range: string | null;
  status: number;
}

export interface TestServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  url: string;
  requests: TestRequest[];
  /** Adds or replaces a served file (path starts with '/'). */
  set(path: string, body: Uint8Array): void;
  close(): Promise<void>;
}

export async function startTestServer(files: Record<string, Uint8Array>, args: TestServerArgs = {}): Promise<TestServer> {
  const served = new Map(Object.entries(files));
  const requests: TestRequest[] = [];
  let drops = args.dropCount ?? (args.dropAfterBytes !== undefined ? 1 : 0);
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const range = req.headers.range ?? null;
    const body = served.get(path);
    const log = (status: number) => requests.push({ path, range, status });
    if (!body) {
      log(404);
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    let start = 0;
    let status = 200;
    if (range && (args.ranges ?? true)) {
      const m = /^bytes=(\d+)-$/.exec(range);
      if (!m) {
        log(400);
        res.writeHead(400).end('bad range');
        return;
      }
      start = Number(m[1]);
      if (start >= body.length) {
        log(416);
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      status = 206;
    }
    log(status);
    const chunk = body.subarray(start);
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream', 'content-length': chunk.length, 'accept-ranges': 'bytes' };
    if (status === 206) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    res.writeHead(status, headers);
    if (drops > 0 && args.dropAfterBytes !== undefined && args.dropAfterBytes < chunk.length) {
      drops--;
      res.write(chunk.subarray(0, args.dropAfterBytes), () => {
        // Give the bytes a moment to reach the client, then cut the connection.
        setTimeout(() => res.socket?.destroy(), 20);
      });
      return;
    }
    res.end(chunk);
  };
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    set: (path, body) => void served.set(path, body),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
