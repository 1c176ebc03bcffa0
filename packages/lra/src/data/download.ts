/**
 * `flowformer data download --task lra [--dataset release|text|image]`: fetches the LRA
 * release archive and the two datasets LRA took from elsewhere (IMDB, CIFAR-10), unpacks
 * them with the core's io helpers (resumable download, safe extraction), and puts the
 * files where the readers look (data/README.md):
 *
 *   release  lra_release.gz (a tar.gz, about 7.7 GB): ListOps -> lra/listops/,
 *            AAN pairs -> lra/aan/, Pathfinder-32 -> lra/pathfinder32/
 *   text     aclImdb_v1.tar.gz -> lra/imdb/aclImdb/
 *   image    cifar-10-binary.tar.gz -> lra/cifar10/cifar-10-batches-bin/
 *
 * The release archive's inner folder names are found by their files (basic_train.tsv,
 * new_aan_pairs.train.tsv, the curv_* folders) rather than assumed.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { download, extract } from '@flowformer/core/io';

export type LraDownloadable = 'release' | 'text' | 'image';

export const LRA_SOURCES: Record<LraDownloadable, { url: string; file: string; description: string }> = {
  release: {
    url: 'https://storage.googleapis.com/long-range-arena/lra_release.gz',
    file: 'lra_release.tar.gz',
    description: 'the LRA release (ListOps, AAN retrieval pairs, Pathfinder)',
  },
  text: {
    url: 'https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz',
    file: 'aclImdb_v1.tar.gz',
    description: 'IMDB reviews (Maas et al. 2011) for LRA Text',
  },
  image: {
    url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
    file: 'cifar-10-binary.tar.gz',
    description: 'CIFAR-10 binary batches for LRA Image',
  },
};

export interface LraDownloadArgs {
  dataRoot: string;
  /** Default: all three. */
  datasets?: LraDownloadable[];
  /** URL overrides (tests use a local server). */
  urls?: Partial<Record<LraDownloadable, string>>;
  /** Keep the downloaded archives in `<dataRoot>/lra/downloads/` (default false: deleted after unpacking). */
  keepArchives?: boolean;
  log?: (msg: string) => void;
}

/** The first folder below `dir` (breadth-first) for which `test` is true. */
function findDir(dir: string, test: (d: string) => boolean): string | null {
  const queue = [dir];
  while (queue.length) {
    const d = queue.shift()!;
    if (test(d)) return d;
    for (const n of readdirSync(d).sort()) {
      const p = path.join(d, n);
      if (statSync(p).isDirectory()) queue.push(p);
    }
  }
  return null;
}

/** Moves `from` to `to`, replacing `to`. */
function moveInto(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true });
  mkdirSync(path.dirname(to), { recursive: true });
  renameSync(from, to);
}

/** Downloads and unpacks; returns the folders it filled. */
export async function downloadLraData(args: LraDownloadArgs): Promise<Record<string, string>> {
  const log = args.log ?? (() => {});
  const lra = path.join(args.dataRoot, 'lra');
  const dl = path.join(lra, 'downloads');
  mkdirSync(dl, { recursive: true });
  const out: Record<string, string> = {};
  for (const which of args.datasets ?? (['release', 'text', 'image'] as LraDownloadable[])) {
    const src = LRA_SOURCES[which];
    const url = args.urls?.[which] ?? src.url;
    const archive = path.join(dl, src.file);
    log(`downloading ${src.description} from ${url}`);
    let lastPct = -10;
    await download(url, archive, {
      onProgress: ({ received, total }) => {
        if (!total) return;
        const pct = Math.floor((100 * received) / total);
        if (pct >= lastPct + 10) {
          lastPct = pct;
          log(`  ${pct}% of ${(total / 1e6).toFixed(0)} MB`);
        }
      },
    });
    const tmp = path.join(dl, `${which}.unpacked`);
    rmSync(tmp, { recursive: true, force: true });
    log(`unpacking ${archive}`);
    await extract(archive, tmp);
    if (which === 'text') {
      const d = findDir(tmp, (p) => existsSync(path.join(p, 'train', 'pos')) && existsSync(path.join(p, 'test', 'neg')));
      if (!d) throw new Error(`${archive}: no aclImdb folder (train/pos, test/neg) inside; is the download complete?`);
      moveInto(d, (out.text = path.join(lra, 'imdb', 'aclImdb')));
    } else if (which === 'image') {
      const d = findDir(tmp, (p) => existsSync(path.join(p, 'data_batch_1.bin')));
      if (!d) throw new Error(`${archive}: no data_batch_1.bin inside; is this the CIFAR-10 *binary* version?`);
      moveInto(d, (out.image = path.join(lra, 'cifar10', 'cifar-10-batches-bin')));
    } else {
      const listops = findDir(tmp, (p) => existsSync(path.join(p, 'basic_train.tsv')));
      const aan = findDir(tmp, (p) => existsSync(path.join(p, 'new_aan_pairs.train.tsv')));
      const pf = findDir(tmp, (p) => path.basename(p) === 'pathfinder32');
      if (!listops && !aan && !pf) throw new Error(`${archive}: none of ListOps (basic_train.tsv), AAN (new_aan_pairs.train.tsv) or pathfinder32/ found inside`);
      if (listops) moveInto(listops, (out.listops = path.join(lra, 'listops')));
      if (aan) moveInto(aan, (out.retrieval = path.join(lra, 'aan')));
      if (pf) moveInto(pf, (out.pathfinder = path.join(lra, 'pathfinder32')));
    }
    rmSync(tmp, { recursive: true, force: true });
    if (!args.keepArchives) rmSync(archive, { force: true });
  }
  for (const [k, v] of Object.entries(out)) log(`  ${k}: ${v}`);
  return out;
}
