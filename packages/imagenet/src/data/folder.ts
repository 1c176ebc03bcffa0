/**
 * Image-folder datasets (torchvision's `ImageFolder` layout): `<root>/<class>/<file>`, one
 * sub-folder per class, class index = position of the folder name in the sorted list. This is
 * ImageNet's `train/<wnid>/*.JPEG` and `val/<wnid>/*.JPEG`, and the shared CIFAR-10 copy
 * `cifar10/{train,test}/<class>/*.jpg`. Only file names are kept in memory; pixels are
 * decoded on demand (`split.ts`).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';

/** The extensions torchvision's `ImageFolder` accepts (IMG_EXTENSIONS), lower-cased. */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp'];

export interface ImageFolder {
  root: string;
  /** Sorted class folder names; label i is classes[i]. */
  classes: string[];
  /** Absolute paths, grouped by class in class order, sorted within a class. */
  files: string[];
  /** `labels[i]` is the class index of `files[i]`. */
  labels: Int32Array;
}

/** Byte-wise (not locale) order, as Python's `sorted` of str: what torchvision uses. */
const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Lists an image folder. `classes` fixes the class list (e.g. the training split's, so that
 * the validation split uses the same indices); a class folder it names must exist.
 * Throws, naming the folder, when the root is missing, has no class folders, or a class has
 * no image; files with other extensions are ignored (as torchvision does).
 */
export function scanImageFolder(root: string, opts: { classes?: string[]; limitPerClass?: number } = {}): ImageFolder {
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new Error(`imagenet: image folder ${root} does not exist. Expected <root>/<class>/<image> (ImageNet: train/<wnid>/*.JPEG); set data.root or --data-root`);
  }
  const found = readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort(byCodePoint);
  if (found.length === 0) throw new Error(`imagenet: ${root} has no class sub-folders; expected <root>/<class>/<image>. A flat ILSVRC val/ folder must first be sorted with sortIlsvrcVal (flowformer data prepare --task imagenet)`);
  const classes = opts.classes ?? found;
  if (opts.classes) {
    const missing = classes.filter((c) => !found.includes(c));
    if (missing.length) throw new Error(`imagenet: ${root} lacks class folder(s) ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''} that the training split has`);
    const extra = found.filter((c) => !classes.includes(c));
    if (extra.length) throw new Error(`imagenet: ${root} has class folder(s) ${extra.slice(0, 5).join(', ')} that the training split lacks`);
  }
  const files: string[] = [];
  const labels: number[] = [];
  classes.forEach((c, ci) => {
    const dir = path.join(root, c);
    let names = readdirSync(dir)
      .filter((n) => IMAGE_EXTENSIONS.includes(path.extname(n).toLowerCase()))
      .sort(byCodePoint);
    if (names.length === 0) throw new Error(`imagenet: class folder ${dir} has no image (${IMAGE_EXTENSIONS.join(' ')}); remove it or add its images`);
    if (opts.limitPerClass !== undefined) names = names.slice(0, opts.limitPerClass);
    for (const n of names) {
      files.push(path.join(dir, n));
      labels.push(ci);
    }
  });
  return { root, classes, files, labels: Int32Array.from(labels) };
}

/**
 * Reads the validation labels of ILSVRC2012 in either official form and returns a map from
 * image file name to wnid:
 *  - Kaggle / ILSVRC `LOC_val_solution.csv`: `ImageId,PredictionString` with the wnid as the
 *    first word of PredictionString;
 *  - the devkit's `ILSVRC2012_validation_ground_truth.txt` (one ILSVRC2012_ID, 1-1000, per line,
 *    for ILSVRC2012_val_00000001.JPEG onwards) together with `synsets`, a text file listing the
 *    wnid of ILSVRC2012_ID 1, 2, ... one per line (the order of `meta.mat`'s synsets; lines may
 *    hold more words after the wnid, as LOC_synset_mapping.txt does — but note that file is in
 *    sorted-wnid order, NOT the devkit's ID order).
 */
export function readIlsvrcValLabels(groundTruth: string, synsets?: string): Map<string, string> {
  const text = readFileSync(groundTruth, 'utf8');
  const lines = text.split(/\r?\n/);
  const out = new Map<string, string>();
  if (/^ImageId\s*,\s*PredictionString/i.test(lines[0] ?? '')) {
    lines.slice(1).forEach((line, i) => {
      if (!line.trim()) return;
      const m = /^([^,]+),\s*(n\d{8})\b/.exec(line);
      if (!m) throw new Error(`${groundTruth}:${i + 2}: expected 'ImageId,nXXXXXXXX ...', got '${line.slice(0, 60)}'`);
      out.set(`${m[1]}.JPEG`, m[2]!);
    });
    return out;
  }
  if (!synsets) {
    throw new Error(`${groundTruth}: a devkit ground-truth list (ILSVRC2012_IDs) needs the synset list in ID order (the wnids of meta.mat); pass it as 'synsets', or use LOC_val_solution.csv`);
  }
  const wnids = readFileSync(synsets, 'utf8')
    .split(/\r?\n/)
    .map((l, i) => {
      if (!l.trim()) return null;
      const w = l.trim().split(/[\s,]+/)[0]!;
      if (!/^n\d{8}$/.test(w)) throw new Error(`${synsets}:${i + 1}: expected a wnid like n01440764 at the start of the line, got '${l.slice(0, 40)}'`);
      return w;
    })
    .filter((w): w is string => w !== null);
  let n = 0;
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    const id = Number(line.trim());
    if (!Number.isInteger(id) || id < 1 || id > wnids.length) {
      throw new Error(`${groundTruth}:${i + 1}: expected an ILSVRC2012_ID in 1..${wnids.length}, got '${line.trim()}'`);
    }
    n++;
    out.set(`ILSVRC2012_val_${String(n).padStart(8, '0')}.JPEG`, wnids[id - 1]!);
  });
  return out;
}

/**
 * Sorts the flat ILSVRC2012 validation folder (`ILSVRC2012_val_00000001.JPEG` ...) into
 * `<valDir>/<wnid>/` class folders, moving (renaming) the files, so that it reads as an image
 * folder. Idempotent: files already in class folders are left alone. Returns the number of
 * files moved. Every flat image must have a label, and every label's image must be found.
 */
export function sortIlsvrcVal(valDir: string, groundTruth: string, synsets?: string, log: (m: string) => void = () => {}): number {
  const labels = readIlsvrcValLabels(groundTruth, synsets);
  const flat = readdirSync(valDir, { withFileTypes: true }).filter((d) => d.isFile() && IMAGE_EXTENSIONS.includes(path.extname(d.name).toLowerCase()));
  const unlabelled = flat.filter((d) => !labels.has(d.name));
  if (unlabelled.length) throw new Error(`imagenet: ${unlabelled.length} image(s) in ${valDir} have no label in ${groundTruth} (first: ${unlabelled[0]!.name}); is it the matching list?`);
  let moved = 0;
  for (const d of flat) {
    const wnid = labels.get(d.name)!;
    const dir = path.join(valDir, wnid);
    mkdirSync(dir, { recursive: true });
    renameSync(path.join(valDir, d.name), path.join(dir, d.name));
    moved++;
  }
  // Every labelled image must now sit in its class folder.
  const lost = [...labels].filter(([f, w]) => !existsSync(path.join(valDir, w, f)));
  if (lost.length) throw new Error(`imagenet: ${lost.length} labelled image(s) are missing from ${valDir} (first: ${lost[0]![0]}); the folder is incomplete`);
  log(`imagenet: sorted ${moved} validation images of ${valDir} into ${new Set(labels.values()).size} class folders`);
  return moved;
}
