/**
 * Generated ListOps and Pathfinder sets live in folders of their own with a provenance.json,
 * never where the LRA release goes; `dataProvenance` tells the two apart for the tables.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng, type TaskContext } from '@flowformer/core';
import { generateLraData, lraDataDir, LRA_RELEASE_DIRS } from '../src/data/generate.ts';
import { dataProvenance, lraPackageVersion } from '../src/data/provenance.ts';
import { lraDefaultDir, lraTask, type LraConfig } from '../src/task.ts';
import { LraDataSchema } from '../src/schema.ts';
import { tempDir } from './helpers.ts';

const tmp = tempDir();
afterAll(tmp.cleanup);
const sha256 = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

describe('generated LRA data: own folders, provenance.json, dataProvenance', () => {
  it('ListOps mini: the same files as before the move (hashes of the generator at seed 1), in lra/listops-generated/mini with its provenance', async () => {
    const root = path.join(tmp.dir, 'mini');
    const r = await generateLraData({ dataset: 'listops', dataRoot: root, size: 'mini' });
    expect(r.dir).toBe(path.join(root, 'lra/listops-generated/mini'));
    // Measured with the generator before the folder moved (it wrote lra/listops-mini/): the
    // README's first command reads exactly these bytes.
    expect(sha256(path.join(r.dir, 'basic_train.tsv'))).toBe('60ab2c51b6560187a1c1751b64e3f5cbeb3f1ae3ad3b14447545364ebf4a23ec');
    expect(sha256(path.join(r.dir, 'basic_val.tsv'))).toBe('f0152f45614f7cca19cc9d36f0978d3124bb7eefb0fc2be65dc54b23d7e597be');
    expect(sha256(path.join(r.dir, 'basic_test.tsv'))).toBe('5d41658e07bc328d80a57cb6ba417add159427f3f886c41b3422d3c1edbd6527');
    const o = dataProvenance(r.dir);
    expect(o.kind).toBe('generated');
    expect(o.provenance).toMatchObject({
      generator: '@flowformer/lra generateListOpsSplits',
      version: lraPackageVersion(),
      seed: 1,
      args: { dataset: 'listops', size: 'mini', splits: { train: 8000, val: 500, test: 1000 }, rules: { maxDepth: 4, maxArgs: 5, minLength: 10, maxLength: 64, operatorProbability: 0.25 } },
    });
    expect(Number.isNaN(Date.parse(o.provenance!.createdAt))).toBe(false);
    expect(existsSync(path.join(root, 'lra/listops-mini'))).toBe(false);
    expect(existsSync(path.join(root, LRA_RELEASE_DIRS.listops))).toBe(false);
  });

  it('full and numbered sets never touch the release folder; another seed gets another folder', async () => {
    const root = path.join(tmp.dir, 'full');
    // A release already unpacked where the LRA release goes (its real layout and header).
    const release = path.join(root, 'lra/listops');
    mkdirSync(release, { recursive: true });
    for (const s of ['train', 'val', 'test']) writeFileSync(path.join(release, `basic_${s}.tsv`), 'Source\tTarget\r\n( ( ( [MAX 2 ) 9 ) ] )\t9\r\n');
    const before = readFileSync(path.join(release, 'basic_train.tsv'));
    const a = await generateLraData({ dataset: 'listops', dataRoot: root, size: 48 });
    const b = await generateLraData({ dataset: 'listops', dataRoot: root, size: 48, seed: 3 });
    expect(a.dir).toBe(path.join(root, 'lra/listops-generated/48'));
    expect(b.dir).toBe(path.join(root, 'lra/listops-generated/48-seed3'));
    expect(dataProvenance(b.dir).provenance).toMatchObject({ seed: 3, args: { size: 48, rules: { minLength: 500, maxLength: 2000, maxDepth: 10 } } });
    expect(readFileSync(path.join(release, 'basic_train.tsv'))).toEqual(before);
    expect(dataProvenance(release)).toEqual({ kind: 'release' });
    expect(lraDataDir('listops', 'full')).toBe('lra/listops-generated/full');
    expect(lraDataDir('pathfinder', 'mini')).toBe('lra/pathfinder-generated/mini');
  });

  it('a generated folder that lost its provenance.json is still generated; a broken one names the file and field', () => {
    const dir = path.join(tmp.dir, 'bare', 'lra/listops-generated/full');
    mkdirSync(dir, { recursive: true });
    expect(dataProvenance(dir)).toEqual({ kind: 'generated' });
    writeFileSync(path.join(dir, 'provenance.json'), JSON.stringify({ generator: 'x', version: '0', args: {}, createdAt: 'now' }));
    expect(() => dataProvenance(dir)).toThrow(/provenance\.json: field 'seed' is missing/);
  });

  it('Pathfinder: the condition folder and its set folder are generated, with the difficulty and rules recorded', async () => {
    const root = path.join(tmp.dir, 'pf');
    const r = await generateLraData({ dataset: 'pathfinder', dataRoot: root, size: 6, difficulty: 'easy' });
    expect(r.dir).toBe(path.join(root, 'lra/pathfinder-generated/6/curv_baseline'));
    for (const d of [r.dir, path.dirname(r.dir)]) {
      expect(dataProvenance(d).provenance).toMatchObject({ generator: '@flowformer/lra writePathfinder', seed: 0, args: { size: 6, images: 6, difficulty: 'easy', rules: { contourLength: 6 } } });
    }
    expect(existsSync(path.join(root, LRA_RELEASE_DIRS.pathfinder))).toBe(false);
  });

  it('the configs read the release at size full when it is there, else the generated full set (when data.generate), and mini from its own folder', () => {
    const root = path.join(tmp.dir, 'defaults');
    const full = LraDataSchema.parse({ maxLength: 2000, size: 'full', generate: true });
    expect(lraDefaultDir('listops', full, root)).toBe('lra/listops-generated/full');
    expect(lraDefaultDir('listops', { ...full, generate: false }, root)).toBe('lra/listops'); // MissingDataError names the release folder
    expect(lraDefaultDir('listops', LraDataSchema.parse({ maxLength: 64, size: 'mini', generate: true }), root)).toBe('lra/listops-generated/mini');
    mkdirSync(path.join(root, 'lra/listops'), { recursive: true });
    writeFileSync(path.join(root, 'lra/listops/basic_train.tsv'), 'Source\tTarget\r\n');
    expect(lraDefaultDir('listops', full, root)).toBe('lra/listops');
    const pf = LraDataSchema.parse({ maxLength: 1024, size: 'full', generate: true });
    expect(lraDefaultDir('pathfinder', pf, root)).toBe('lra/pathfinder-generated/full');
    mkdirSync(path.join(root, 'lra/pathfinder32/curv_contour_length_14/metadata'), { recursive: true });
    expect(lraDefaultDir('pathfinder', pf, root)).toBe('lra/pathfinder32');
  });

  it("load() records the origin in the run's data info and says 'generated' where it names the folder", async () => {
    const root = path.join(tmp.dir, 'mini'); // generated by the first test
    const logs: string[] = [];
    const ctx: TaskContext = { dataRoot: root, cacheDir: path.join(tmp.dir, 'cache'), rng: new Rng(0), log: (m) => logs.push(m) };
    const config = {
      task: 'lra',
      dataset: 'listops',
      seed: 0,
      data: LraDataSchema.parse({ maxLength: 64, size: 'mini', generate: true, trainLimit: 8, evalLimit: 8 }),
    } as unknown as LraConfig;
    const data = await lraTask.load(config, ctx);
    expect(data.info).toMatchObject({ dir: path.join(root, 'lra/listops-generated/mini'), origin: { kind: 'generated', provenance: { seed: 1 } } });
    expect(logs.at(-1)).toMatch(/from .*lra\/listops-generated\/mini \(generated, seed 1; not the LRA release\)/);
  });
});
