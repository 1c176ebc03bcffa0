/**
 * Finds and reads one split of a UEA dataset under a data root. The layout is the archive's:
 * `<dataRoot>/uea/<Name>/<Name>_{TRAIN,TEST}.ts`, or, for datasets kept in the per-dimension
 * ARFF form, `<dataRoot>/uea/<Name>/<Name>Dimension{1..D}_{TRAIN,TEST}.arff`. The `.ts` file
 * wins when both are present.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { arffDimensionPath, findArffDimensionFiles, joinArffDimensions, readArffFile } from './arff.ts';
import type { RawSplit } from './raw.ts';
import { readTsFile } from './ts-format.ts';

export type UeaSplitName = 'TRAIN' | 'TEST';

/** The folder of a dataset under a data root. */
export function ueaDatasetDir(dataRoot: string, name: string): string {
  return join(dataRoot, 'uea', name);
}

/** Which on-disk form a split is in, or null when absent. */
export function findUeaSplit(dataRoot: string, name: string, split: UeaSplitName): { kind: 'ts'; file: string } | { kind: 'arff'; files: string[] } | null {
  const dir = ueaDatasetDir(dataRoot, name);
  const ts = join(dir, `${name}_${split}.ts`);
  if (existsSync(ts)) return { kind: 'ts', file: ts };
  const arff = findArffDimensionFiles(dir, name, split);
  if (arff.length > 0) return { kind: 'arff', files: arff };
  return null;
}

/** True when both splits of the dataset are present under the data root. */
export function hasUeaDataset(dataRoot: string, name: string): boolean {
  return findUeaSplit(dataRoot, name, 'TRAIN') !== null && findUeaSplit(dataRoot, name, 'TEST') !== null;
}

/** Reads one split; a missing dataset is an error that says where it looked and how to get it. */
export function readUeaSplit(dataRoot: string, name: string, split: UeaSplitName): RawSplit {
  const found = findUeaSplit(dataRoot, name, split);
  if (!found) {
    const dir = ueaDatasetDir(dataRoot, name);
    throw new Error(
      `UEA dataset '${name}', split ${split}: found neither ${join(dir, `${name}_${split}.ts`)} nor ` +
        `${arffDimensionPath(dir, name, split, 1)}. Fetch it with 'flowformer data download --task uea --dataset ${name}' ` +
        `(needs internet), or point --data-root / FLOWFORMER_DATA_ROOT at a folder that has uea/${name}/.`,
    );
  }
  return found.kind === 'ts' ? readTsFile(found.file) : joinArffDimensions(found.files.map(readArffFile));
}
