/**
 * Unpacking downloaded archives: `.zip` (fflate) and `.tar`, `.tar.gz`/`.tgz` (node-tar).
 * The format is recognised from the file's first bytes, not its name. An entry whose path
 * would land outside `destDir` (absolute, or climbing with `..`) is an error, never written.
 */
import { mkdirSync, readFileSync, writeFileSync, openSync, readSync, closeSync } from 'node:fs';
import { dirname, isAbsolute, normalize, relative, resolve, sep } from 'node:path';
import { unzipSync } from 'fflate';
import * as tar from 'tar';

export type ArchiveKind = 'zip' | 'tar' | 'tar.gz';

/** Recognises an archive from its magic bytes; null when it is none of the supported kinds. */
export function archiveKind(path: string): ArchiveKind | null {
  const head = Buffer.alloc(512);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, 512, 0);
  } finally {
    closeSync(fd);
  }
  if (n >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5) && (head[3] === 4 || head[3] === 6)) return 'zip';
  if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
  if (n >= 262 && head.toString('latin1', 257, 262) === 'ustar') return 'tar';
  return null;
}

/** The safe absolute target of an archive entry, or an error when it would escape `destDir`. */
function safeTarget(archive: string, destDir: string, entry: string): string {
  const norm = normalize(entry.replace(/\\/g, '/'));
  const target = resolve(destDir, norm);
  const rel = relative(destDir, target);
  if (isAbsolute(entry) || /^[a-zA-Z]:/.test(entry) || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new Error(`${archive}: entry '${entry}' would be written outside ${destDir}; refusing to extract this archive`);
  }
  return target;
}

/**
 * Extracts `archive` into `destDir` (created if needed) and returns the paths of the files
 * written, relative to `destDir`, in archive order.
 */
export async function extract(archive: string, destDir: string): Promise<string[]> {
  const kind = archiveKind(archive);
  if (!kind) throw new Error(`${archive}: not a .zip, .tar or .tar.gz archive (unrecognised first bytes); was the download an HTML error page?`);
  const root = resolve(destDir);
  mkdirSync(root, { recursive: true });
  const written: string[] = [];
  if (kind === 'zip') {
    let entries: Record<string, Uint8Array>;
    try {
      entries = unzipSync(readFileSync(archive));
    } catch (e) {
      throw new Error(`${archive}: corrupt or unsupported zip archive (${(e as Error).message})`);
    }
    // Check every path before writing anything.
    const targets = Object.keys(entries).map((name) => [name, safeTarget(archive, root, name)] as const);
    for (const [name, target] of targets) {
      if (name.endsWith('/')) {
        mkdirSync(target, { recursive: true });
        continue;
      }
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, entries[name]!);
      written.push(relative(root, target).split(sep).join('/'));
    }
    return written;
  }
  // tar / tar.gz: node-tar detects gzip itself. Pass 1 lists and checks every path.
  const names: string[] = [];
  try {
    await tar.t({ file: archive, strict: true, onReadEntry: (e) => void names.push(e.path) });
  } catch (e) {
    throw new Error(`${archive}: corrupt tar archive (${(e as Error).message})`);
  }
  for (const n of names) safeTarget(archive, root, n);
  try {
    await tar.x({
      file: archive,
      cwd: root,
      strict: true,
      onReadEntry: (e) => {
        if (e.type === 'File' || e.type === 'OldFile' || e.type === 'ContiguousFile') written.push(normalize(e.path).split(sep).join('/'));
      },
    });
  } catch (e) {
    throw new Error(`${archive}: extraction into ${root} failed (${(e as Error).message})`);
  }
  return written;
}
