import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer } from '@flowformer/core/io';
import { generateLraData, lraGeneratedPresent } from '../src/data/generate.ts';
import { downloadLraData } from '../src/data/download.ts';
import { readListOpsTsv, listopsLength, evaluateListOps } from '../src/data/listops.ts';
import { readPathfinderMetadata } from '../src/data/pathfinder.ts';
import { readImdbSplit } from '../src/data/text.ts';
import { readCifarBinary, cifarBinaryFiles, CIFAR_RECORD_BYTES } from '../src/data/image.ts';
import { readAanSplit } from '../src/data/retrieval.ts';
import { tempDir } from './helpers.ts';

const tmp = tempDir();
afterAll(tmp.cleanup);

describe('flowformer data generate --task lra', () => {
  it('writes ListOps mini and a numbered LRA-rule set as basic_*.tsv, and skips existing data', async () => {
    const root = path.join(tmp.dir, 'root1');
    const logs: string[] = [];
    const r = await generateLraData({ dataset: 'listops', dataRoot: root, size: 'mini', log: (m) => logs.push(m) });
    expect(r.generated).toBe(true);
    expect(r.dir).toBe(path.join(root, 'lra/listops-generated/mini'));
    const test = readListOpsTsv(path.join(r.dir, 'basic_test.tsv'), 'lra');
    expect(test.length).toBe(1000);
    for (const e of test.slice(0, 100)) {
      expect(listopsLength(e.source)).toBeLessThan(64);
      expect(evaluateListOps(e.source)).toBe(e.target);
    }
    expect(readFileSync(path.join(r.dir, 'basic_val.tsv'), 'utf8').startsWith('Source\tTarget\r\n')).toBe(true);
    const again = await generateLraData({ dataset: 'listops', dataRoot: root, size: 'mini', log: (m) => logs.push(m) });
    expect(again.generated).toBe(false);
    expect(logs.at(-1)).toMatch(/already present/);

    const n = await generateLraData({ dataset: 'listops', dataRoot: root, size: 96 });
    expect(n.counts).toEqual({ train: 96, val: 2, test: 2 });
    const tr = readListOpsTsv(path.join(root, 'lra/listops-generated/96/basic_train.tsv'));
    expect(tr.length).toBe(96);
    for (const e of tr) expect(listopsLength(e.source)).toBeGreaterThan(500);
  });

  it('writes Pathfinder in the release layout', async () => {
    const root = path.join(tmp.dir, 'root2');
    const r = await generateLraData({ dataset: 'pathfinder', dataRoot: root, size: 25 });
    expect(r.dir).toBe(path.join(root, 'lra/pathfinder-generated/25/curv_contour_length_14'));
    expect(lraGeneratedPresent(root, 'pathfinder', 25)).toBe(true);
    const entries = readPathfinderMetadata(r.dir);
    expect(entries.length).toBe(25);
    expect(existsSync(entries[24]!.file)).toBe(true);
    expect(existsSync(path.join(root, 'lra/pathfinder-generated', `25.tmp-${process.pid}`))).toBe(false);
    await expect(generateLraData({ dataset: 'pathfinder', dataRoot: root, size: -3 })).rejects.toThrow(/--size must be/);
  });

  it('keeps each Pathfinder difficulty in its own condition folder and regenerates a set of another size', async () => {
    const root = path.join(tmp.dir, 'root3');
    const easy = await generateLraData({ dataset: 'pathfinder', dataRoot: root, size: 12, difficulty: 'easy' });
    expect(easy.dir).toBe(path.join(root, 'lra/pathfinder-generated/12/curv_baseline'));
    // Metadata rows carry the easy rules: contour length 6, distractors of 2 paddles.
    const row = readFileSync(path.join(easy.dir, 'metadata', '0.npy'), 'utf8').split('\n')[0]!.split(' ');
    expect(row.slice(5, 7)).toEqual(['6', '2']);
    // The easy set never stands in for the hard one (nor the other way round).
    expect(lraGeneratedPresent(root, 'pathfinder', 12, 'easy')).toBe(true);
    expect(lraGeneratedPresent(root, 'pathfinder', 12, 'hard')).toBe(false);
    const hard = await generateLraData({ dataset: 'pathfinder', dataRoot: root, size: 12, difficulty: 'hard' });
    expect(hard.generated).toBe(true);
    expect(hard.dir).toBe(path.join(root, 'lra/pathfinder-generated/12/curv_contour_length_14'));
    expect(readPathfinderMetadata(easy.dir).length).toBe(12);
    // A set of another image count is stale: not present, and regenerated in place.
    expect(lraGeneratedPresent(root, 'pathfinder', 20, 'easy')).toBe(false);
    const more = await generateLraData({ dataset: 'pathfinder', dataRoot: root, size: 20, difficulty: 'easy' });
    expect(more.generated).toBe(true);
    expect(readPathfinderMetadata(more.dir).length).toBe(20);
    const again = await generateLraData({ dataset: 'pathfinder', dataRoot: root, size: 20, difficulty: 'easy' });
    expect(again.generated).toBe(false);
  });
});

describe('flowformer data download --task lra (local HTTP server, small archives in the real layouts)', () => {
  it('downloads, unpacks and places the release, IMDB and CIFAR-10 where the readers look', async () => {
    const src = path.join(tmp.dir, 'src');
    // lra_release: listops-1000/, lra_release/tsv_data/, pathfinder32/curv_contour_length_14/ (as the release).
    const rel = path.join(src, 'rel', 'lra_release');
    mkdirSync(path.join(rel, 'listops-1000'), { recursive: true });
    for (const s of ['train', 'val', 'test']) writeFileSync(path.join(rel, 'listops-1000', `basic_${s}.tsv`), 'Source\tTarget\r\n( ( ( [MAX 2 ) 9 ) ] )\t9\r\n');
    mkdirSync(path.join(rel, 'lra_release', 'tsv_data'), { recursive: true });
    for (const s of ['train', 'eval', 'test']) writeFileSync(path.join(rel, 'lra_release', 'tsv_data', `new_aan_pairs.${s}.tsv`), '1\ta\tb\ttext one\ttext two\n');
    mkdirSync(path.join(rel, 'pathfinder32', 'curv_contour_length_14', 'metadata'), { recursive: true });
    writeFileSync(path.join(rel, 'pathfinder32', 'curv_contour_length_14', 'metadata', '0.npy'), '');
    const imdb = path.join(src, 'imdb', 'aclImdb');
    for (const s of ['train', 'test']) for (const c of ['pos', 'neg']) {
      mkdirSync(path.join(imdb, s, c), { recursive: true });
      writeFileSync(path.join(imdb, s, c, '0_7.txt'), `${s} ${c}`);
    }
    const cifar = path.join(src, 'cifar', 'cifar-10-batches-bin');
    mkdirSync(cifar, { recursive: true });
    for (const f of ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch']) {
      writeFileSync(path.join(cifar, `${f}.bin`), Buffer.alloc(2 * CIFAR_RECORD_BYTES, 3));
    }
    const tgz = (dir: string, name: string) => {
      const out = path.join(src, name);
      execFileSync('tar', ['-czf', out, '-C', dir, '.']);
      return new Uint8Array(readFileSync(out));
    };
    const server = await startTestServer({
      '/lra_release.gz': tgz(path.join(src, 'rel'), 'rel.tgz'),
      '/aclImdb_v1.tar.gz': tgz(path.join(src, 'imdb'), 'imdb.tgz'),
      '/cifar-10-binary.tar.gz': tgz(path.join(src, 'cifar'), 'cifar.tgz'),
    });
    try {
      const root = path.join(tmp.dir, 'root3');
      const out = await downloadLraData({
        dataRoot: root,
        urls: { release: `${server.url}/lra_release.gz`, text: `${server.url}/aclImdb_v1.tar.gz`, image: `${server.url}/cifar-10-binary.tar.gz` },
      });
      expect(Object.keys(out).sort()).toEqual(['image', 'listops', 'pathfinder', 'retrieval', 'text']);
      expect(readListOpsTsv(path.join(root, 'lra/listops/basic_val.tsv'))).toEqual([{ source: '( ( ( [MAX 2 ) 9 ) ] )', target: 9 }]);
      expect((await readAanSplit(path.join(root, 'lra/aan'), 'eval', 4000)).labels.length).toBe(1);
      expect(existsSync(path.join(root, 'lra/pathfinder32/curv_contour_length_14/metadata/0.npy'))).toBe(true);
      expect(Array.from(readImdbSplit(path.join(root, 'lra/imdb/aclImdb'), 'test', 100).labels)).toEqual([0, 1]);
      const c = readCifarBinary(cifarBinaryFiles(path.join(root, 'lra/cifar10/cifar-10-batches-bin')).train);
      expect(c.count).toBe(10);
      expect(existsSync(path.join(root, 'lra/downloads/lra_release.tar.gz'))).toBe(false);
      expect(server.requests.map((r) => r.status)).toEqual([200, 200, 200]);
    } finally {
      await server.close();
    }
  });
});

describe('the data commands the CLI routes to (task.data)', () => {
  it('generate: --dataset listops --size 48 writes basic_*.tsv; a bad dataset or size says what to pass', async () => {
    const { lraTask } = await import('../src/task.ts');
    const root = path.join(tmp.dir, 'root4');
    const logs: string[] = [];
    await lraTask.data!.generate!.run({ dataRoot: root, dataset: 'listops', options: { size: '48' }, log: (m) => logs.push(m) });
    expect(readListOpsTsv(path.join(root, 'lra/listops-generated/48/basic_val.tsv')).length).toBe(1);
    expect(existsSync(path.join(root, 'lra/listops'))).toBe(false);
    expect(logs.at(-1)).toMatch(/wrote 48 train, 1 val, 1 test/);
    await expect(lraTask.data!.generate!.run({ dataRoot: root, dataset: 'text', options: {}, log: () => {} })).rejects.toThrow(/listops or pathfinder/);
    await expect(lraTask.data!.generate!.run({ dataRoot: root, dataset: 'listops', options: { size: 'huge' }, log: () => {} })).rejects.toThrow(/--size must be/);
    await expect(lraTask.data!.download!.run({ dataRoot: root, dataset: 'mnist', options: {}, log: () => {} })).rejects.toThrow(/--dataset must be one of/);
  });
});
