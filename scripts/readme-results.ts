/**
 * Rewrites README.md's headline results table (between <!-- results:begin --> and
 * <!-- results:end -->) from results/tables/main.json and main-mini.json.
 *
 *   npx tsx scripts/readme-results.ts          # rewrite the block
 *   npx tsx scripts/readme-results.ts --check  # exit 1 when the block and the tables disagree
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readReadmeTables, renderReadmeResults, replaceReadmeBlock, writeReadmeResults } from '../packages/core/src/results/readme.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const readme = path.join(repoRoot, 'README.md');

if (process.argv.includes('--check')) {
  const now = fs.readFileSync(readme, 'utf8');
  const want = replaceReadmeBlock(now, renderReadmeResults(readReadmeTables(path.join(repoRoot, 'results', 'tables'))), readme);
  if (want !== now) {
    console.error(`${readme}: the results block differs from results/tables/main*.json; run: npx tsx scripts/readme-results.ts`);
    process.exit(1);
  }
  console.log(`${readme}: the results block matches results/tables/main*.json`);
} else {
  const r = writeReadmeResults({ repoRoot });
  if (!r) {
    console.error('results/tables/ holds neither main.json nor main-mini.json: run `npx flowformer reproduce --table main --collect` first');
    process.exit(1);
  }
  console.log(`${r.file}: results block ${r.changed ? 'rewritten' : 'already up to date'}`);
}
