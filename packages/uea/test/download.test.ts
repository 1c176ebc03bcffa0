import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '@flowformer/core/io';
import { strToU8, zipSync } from 'fflate';
import { afterEach, describe, expect, it } from 'vitest';
import { downloadUea } from '../src/data/download.ts';
import { readUeaSplit } from '../src/data/load.ts';
import { ueaTask } from '../src/task.ts';
import { scratch } from './helpers.ts';

const TS = (n: number) =>
  `# generated\n@problemName Toy\n@timeStamps false\n@missing false\n@univariate false\n@dimensions 2\n@equalLength true\n@seriesLength 3\n@classLabel true x y\n@data\n` +
  Array.from({ length: n }, (_, i) => `${i},1,2:3,4,${i}:${i % 2 ? 'y' : 'x'}`).join('\n') +
  '\n';

const ARFF = (dim: number, n: number) =>
  `@relation Toy_channel_${dim - 1}\n@attribute a numeric\n@attribute b numeric\n@attribute class {x,y}\n@data\n` +
  Array.from({ length: n }, (_, i) => `${i},${dim}.5,${i % 2 ? 'y' : 'x'}`).join('\n') +
  '\n';

let server: TestServer | null = null;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  await server?.close();
  server = null;
  for (const c of cleanups.splice(0)) c();
});

function root() {
  const s = scratch('uea-dl-');
  cleanups.push(s.cleanup);
  return s.dir;
}

describe('downloadUea against a local server', () => {
  it('fetches <Name>.zip and unpacks the .ts pair to uea/<Name>/', async () => {
    // The archive's zips hold the splits in a folder, next to files we do not need.
    const zip = zipSync({
      'Toy/Toy_TRAIN.ts': strToU8(TS(4)),
      'Toy/Toy_TEST.ts': strToU8(TS(6)),
      'Toy/Toy_TRAIN.arff': strToU8('% not needed'),
      'Toy/ToyDimension1_TRAIN.arff': strToU8('% not needed'),
    });
    server = await startTestServer({ '/Toy.zip': zip });
    const dataRoot = root();
    const logs: string[] = [];
    const r = await downloadUea('Toy', dataRoot, { baseUrl: `${server.url}/`, log: (m) => logs.push(m) });
    expect(r.downloaded).toBe(true);
    expect(r.dir).toBe(join(dataRoot, 'uea', 'Toy'));
    expect(r.files).toEqual(['Toy_TEST.ts', 'Toy_TRAIN.ts']);
    expect(readFileSync(join(dataRoot, 'uea/Toy/Toy_TRAIN.ts'), 'utf8')).toBe(TS(4));
    expect(readUeaSplit(dataRoot, 'Toy', 'TEST').series.length).toBe(6);
    expect(logs).toContain('Toy TRAIN: 4 cases, 2 dimensions, 2 classes');
    expect(server.requests.map((q) => q.path)).toEqual(['/Toy.zip']);
    expect(existsSync(join(dataRoot, 'uea', '.downloads'))).toBe(false); // the zip is removed once unpacked
    expect(readdirSync(join(dataRoot, 'uea'))).toEqual(['Toy']); // and so is the scratch folder
    // Present now: a second call fetches nothing.
    const again = await downloadUea('Toy', dataRoot, { baseUrl: server.url });
    expect(again.downloaded).toBe(false);
    expect(server.requests.length).toBe(1);
  });

  it('keeps the per-dimension ARFF files when the archive has no .ts pair', async () => {
    const files: Record<string, Uint8Array> = {};
    for (const split of ['TRAIN', 'TEST']) for (const d of [1, 2, 3]) files[`ToyDimension${d}_${split}.arff`] = strToU8(ARFF(d, split === 'TRAIN' ? 4 : 2));
    server = await startTestServer({ '/Toy.zip': zipSync(files) });
    const dataRoot = root();
    const r = await downloadUea('Toy', dataRoot, { baseUrl: server.url });
    expect(r.files.length).toBe(6);
    const s = readUeaSplit(dataRoot, 'Toy', 'TRAIN');
    expect(s.numDims).toBe(3);
    expect(Array.from(s.series[1]![2]!)).toEqual([1, 3.5]);
  });

  it('explains an archive without the split files and a missing dataset', async () => {
    server = await startTestServer({ '/Toy.zip': zipSync({ 'readme.txt': strToU8('hi') }) });
    const dataRoot = root();
    await expect(downloadUea('Toy', dataRoot, { baseUrl: server.url })).rejects.toThrow(
      /Toy\.zip: the archive has neither Toy_TRAIN\.ts and Toy_TEST\.ts nor ToyDimension<k>_\{TRAIN,TEST\}\.arff files \(it holds: readme\.txt\)/,
    );
    await expect(downloadUea('Nope', dataRoot, { baseUrl: server.url, })).rejects.toThrow(`HTTP 404 Not Found for ${server.url}/Nope.zip`);
    await expect(downloadUea('../etc', dataRoot)).rejects.toThrow(/is not a UEA dataset name/);
  });

  it('reports a malformed downloaded file with file and line', async () => {
    const bad = TS(2).replace('1,1,2:3,4,1:y', '1,1,2:3,4:y');
    server = await startTestServer({ '/Toy.zip': zipSync({ 'Toy_TRAIN.ts': strToU8(bad), 'Toy_TEST.ts': strToU8(TS(2)) }) });
    const dataRoot = root();
    await expect(downloadUea('Toy', dataRoot, { baseUrl: server.url })).rejects.toThrow(/Toy_TRAIN\.ts:12: dimension 2 has 2 values but dimension 1 has 3/);
  });

  it("is what 'flowformer data download --task uea' runs", async () => {
    server = await startTestServer({ '/Toy.zip': zipSync({ 'Toy/Toy_TRAIN.ts': strToU8(TS(4)), 'Toy/Toy_TEST.ts': strToU8(TS(2)) }) });
    const dataRoot = root();
    const logs: string[] = [];
    await ueaTask.data!.download!.run({ dataRoot, dataset: 'Toy', options: { 'base-url': server.url }, log: (m) => logs.push(m) });
    expect(readUeaSplit(dataRoot, 'Toy', 'TRAIN').series.length).toBe(4);
    expect(logs.at(-1)).toBe(`Toy: Toy_TEST.ts, Toy_TRAIN.ts in ${join(dataRoot, 'uea', 'Toy')}`);
    await expect(ueaTask.data!.download!.run({ dataRoot, options: {}, log: () => {} })).rejects.toThrow(/name a dataset with --dataset \(one of EthanolConcentration, .*, or 'all'\)/);
  });
});
