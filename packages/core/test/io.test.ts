import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import * as tar from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { archiveKind, download, extract, startTestServer, type TestServer } from '../src/io/index.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** 200 kB of deterministic, incompressible-looking bytes. */
function payload(n = 200_000): Uint8Array {
  const b = new Uint8Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    b[i] = s >>> 24;
  }
  return b;
}

let dir: string;
let server: TestServer | null = null;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'io-test-'));
});
afterEach(async () => {
  await server?.close();
  server = null;
  rmSync(dir, { recursive: true, force: true });
});

describe('download', () => {
  const body = payload();

  it('fetches, checks the sha256, renames into place, then serves from the cache', async () => {
    server = await startTestServer({ '/a.bin': body });
    const dest = join(dir, 'sub', 'a.bin');
    const seen: number[] = [];
    const r = await download(`${server.url}/a.bin`, dest, { sha256: sha(body), onProgress: (p) => seen.push(p.received) });
    expect(r).toMatchObject({ path: dest, bytes: body.length, sha256: sha(body), cached: false, resumed: false });
    expect(Buffer.compare(readFileSync(dest), body)).toBe(0);
    expect(existsSync(`${dest}.part`)).toBe(false);
    expect(seen.at(-1)).toBe(body.length);
    const again = await download(`${server.url}/a.bin`, dest, { sha256: sha(body) });
    expect(again.cached).toBe(true);
    expect(server.requests.length).toBe(1);
  });

  it('resumes with a Range request after the connection drops', async () => {
    server = await startTestServer({ '/a.bin': body }, { dropAfterBytes: 70_000 });
    const dest = join(dir, 'a.bin');
    const r = await download(`${server.url}/a.bin`, dest, { sha256: sha(body), retries: 2, retryDelayMs: 5 });
    expect(r.resumed).toBe(true);
    expect(Buffer.compare(readFileSync(dest), body)).toBe(0);
    expect(server.requests.length).toBe(2);
    expect(server.requests[0]).toMatchObject({ range: null, status: 200 });
    const m = /^bytes=(\d+)-$/.exec(server.requests[1]!.range ?? '');
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(server.requests[1]!.status).toBe(206);
  });

  it('resumes a .part file left by an earlier run', async () => {
    server = await startTestServer({ '/a.bin': body });
    const dest = join(dir, 'a.bin');
    writeFileSync(`${dest}.part`, body.subarray(0, 123_456));
    const r = await download(`${server.url}/a.bin`, dest, { sha256: sha(body) });
    expect(r.resumed).toBe(true);
    expect(server.requests).toEqual([{ path: '/a.bin', range: 'bytes=123456-', status: 206 }]);
    expect(Buffer.compare(readFileSync(dest), body)).toBe(0);
  });

  it('accepts a complete .part when the server answers 416', async () => {
    server = await startTestServer({ '/a.bin': body });
    const dest = join(dir, 'a.bin');
    writeFileSync(`${dest}.part`, body);
    await download(`${server.url}/a.bin`, dest, { sha256: sha(body) });
    expect(server.requests[0]!.status).toBe(416);
    expect(Buffer.compare(readFileSync(dest), body)).toBe(0);
  });

  it('starts over when the server ignores Range', async () => {
    server = await startTestServer({ '/a.bin': body }, { ranges: false });
    const dest = join(dir, 'a.bin');
    writeFileSync(`${dest}.part`, body.subarray(0, 5000));
    const r = await download(`${server.url}/a.bin`, dest, { sha256: sha(body) });
    expect(r.resumed).toBe(false);
    expect(server.requests[0]).toMatchObject({ range: 'bytes=5000-', status: 200 });
    expect(Buffer.compare(readFileSync(dest), body)).toBe(0);
  });

  it('rejects a wrong checksum and leaves nothing behind', async () => {
    server = await startTestServer({ '/a.bin': body });
    const dest = join(dir, 'a.bin');
    const wrong = '0'.repeat(64);
    await expect(download(`${server.url}/a.bin`, dest, { sha256: wrong })).rejects.toThrow(
      new RegExp(`download of ${server.url}/a\\.bin has sha256 ${sha(body)}, expected ${wrong}; the file was deleted`),
    );
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(`${dest}.part`)).toBe(false);
  });

  it('reports HTTP errors with status and URL, without retrying a 404', async () => {
    server = await startTestServer({});
    const dest = join(dir, 'x.zip');
    await expect(download(`${server.url}/x.zip`, dest, { retries: 3, retryDelayMs: 5 })).rejects.toThrow(`download failed: HTTP 404 Not Found for ${server.url}/x.zip`);
    expect(server.requests.length).toBe(1);
    expect(existsSync(dest)).toBe(false);
  });

  it('refuses an existing destination whose checksum differs', async () => {
    const dest = join(dir, 'a.bin');
    writeFileSync(dest, 'something else');
    await expect(download('http://127.0.0.1:9/a.bin', dest, { sha256: sha(body) })).rejects.toThrow(/exists but its sha256 is .*; delete it to download/);
  });
});

describe('extract', () => {
  const files: Record<string, string> = {
    'Toy/Toy_TRAIN.ts': '@problemName Toy\n@data\n',
    'Toy/Toy_TEST.ts': 'test split\n',
    'README.txt': 'hello',
  };

  it('unpacks a zip with folders', async () => {
    const zipPath = join(dir, 'toy.zip');
    const tree: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(files)) tree[k] = strToU8(v);
    writeFileSync(zipPath, zipSync(tree));
    expect(archiveKind(zipPath)).toBe('zip');
    const out = join(dir, 'out');
    const written = await extract(zipPath, out);
    expect(written.sort()).toEqual(Object.keys(files).sort());
    for (const [k, v] of Object.entries(files)) expect(readFileSync(join(out, k), 'utf8')).toBe(v);
  });

  for (const gzip of [false, true]) {
    it(`unpacks a ${gzip ? '.tar.gz' : '.tar'}`, async () => {
      const src = join(dir, 'src');
      for (const [k, v] of Object.entries(files)) {
        mkdirSync(join(src, k, '..'), { recursive: true });
        writeFileSync(join(src, k), v);
      }
      const archive = join(dir, gzip ? 'toy.tar.gz' : 'toy.tar');
      await tar.c({ file: archive, cwd: src, gzip, portable: true }, ['Toy', 'README.txt']);
      expect(archiveKind(archive)).toBe(gzip ? 'tar.gz' : 'tar');
      const out = join(dir, 'out');
      const written = await extract(archive, out);
      expect(written.sort()).toEqual(Object.keys(files).sort());
      for (const [k, v] of Object.entries(files)) expect(readFileSync(join(out, k), 'utf8')).toBe(v);
    });
  }

  it('refuses zip entries that would escape the destination, writing nothing', async () => {
    const zipPath = join(dir, 'evil.zip');
    writeFileSync(zipPath, zipSync({ 'ok.txt': strToU8('ok'), '../evil.txt': strToU8('x') }));
    const out = join(dir, 'out');
    await expect(extract(zipPath, out)).rejects.toThrow(`${zipPath}: entry '../evil.txt' would be written outside ${out}; refusing to extract this archive`);
    expect(existsSync(join(dir, 'evil.txt'))).toBe(false);
    expect(existsSync(join(out, 'ok.txt'))).toBe(false);
  });

  it('refuses tar entries that would escape the destination', async () => {
    const inner = join(dir, 'a', 'b');
    mkdirSync(inner, { recursive: true });
    writeFileSync(join(dir, 'a', 'evil.txt'), 'x');
    const archive = join(dir, 'evil.tar');
    await tar.c({ file: archive, cwd: inner, preservePaths: true }, ['../evil.txt']);
    const out = join(dir, 'out');
    await expect(extract(archive, out)).rejects.toThrow(/entry '\.\.\/evil\.txt' would be written outside/);
  });

  it('names a file that is not an archive', async () => {
    const p = join(dir, 'page.zip');
    writeFileSync(p, '<html>Not Found</html>');
    await expect(extract(p, join(dir, 'out'))).rejects.toThrow(`${p}: not a .zip, .tar or .tar.gz archive (unrecognised first bytes); was the download an HTML error page?`);
  });
});
