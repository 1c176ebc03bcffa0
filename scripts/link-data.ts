/**
 * Links the datasets of another data root into this repository's default data root (`data/`),
 * one symlink per top-level folder, so that every command works without `--data-root` and
 * generated datasets (LRA ListOps/Pathfinder, D4RL rollouts) are still written inside the
 * project, never into the other root (which may be read-only).
 *
 *   npx tsx scripts/link-data.ts ../shared/data      # links uea/, cifar10/, wikitext-103/, ...
 *
 * Existing entries of data/ are left alone (a real folder always wins over a link).
 */
import fs from 'node:fs';
import path from 'node:path';

const from = process.argv[2];
if (!from) {
  console.error('usage: npx tsx scripts/link-data.ts <data root to link from>   (e.g. ../shared/data)');
  process.exit(2);
}
const src = path.resolve(from);
if (!fs.existsSync(src) || !fs.statSync(src).isDirectory()) {
  console.error(`link-data: ${src} is not a directory`);
  process.exit(1);
}
const dest = path.resolve(import.meta.dirname, '..', 'data');
fs.mkdirSync(dest, { recursive: true });
for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
  if (!entry.isDirectory()) continue;
  const link = path.join(dest, entry.name);
  if (fs.existsSync(link) || fs.lstatSync(link, { throwIfNoEntry: false })) {
    console.log(`keep   data/${entry.name} (exists)`);
    continue;
  }
  fs.symlinkSync(path.relative(dest, path.join(src, entry.name)), link, 'dir');
  console.log(`link   data/${entry.name} -> ${path.relative(dest, path.join(src, entry.name))}`);
}
