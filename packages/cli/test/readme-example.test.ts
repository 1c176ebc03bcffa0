/**
 * The README's library example runs under plain `node`, as a user would run it: no tsx, no
 * vitest, no "source" condition, so `@flowformer/core` resolves to its build in dist/.
 *
 * The block is the ```js fence right after the `<!-- library-example -->` marker. Before running
 * it we run the install step's build (`npm run build`: `tsc -b` of every package's
 * tsconfig.build.json, incremental): it does nothing when dist/ is up to date and rebuilds what
 * changed otherwise, so the example never runs a stale build.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const readme = path.join(repoRoot, 'README.md');
const MARKER = '<!-- library-example -->';

/** The code of the ```js block directly after the marker, or an error naming README.md and the line. */
function libraryExample(): string {
  const lines = fs.readFileSync(readme, 'utf8').split('\n');
  const at = lines.findIndex((l) => l.trim() === MARKER);
  if (at < 0) throw new Error(`${readme}: no line '${MARKER}' (it marks the library example this test runs)`);
  if (lines[at + 1]?.trim() !== '```js') {
    throw new Error(`${readme}:${at + 2}: the line after '${MARKER}' must open a \`\`\`js block, found '${lines[at + 1] ?? ''}'`);
  }
  const end = lines.findIndex((l, i) => i > at + 1 && l.trim() === '```');
  if (end < 0) throw new Error(`${readme}:${at + 2}: the \`\`\`js block of the library example is not closed`);
  return lines.slice(at + 2, end).join('\n') + '\n';
}

/** Plain node, with nothing from this test process that would change how it resolves or runs. */
function plainNode(file: string): string {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.FLOWFORMER_BACKEND;
  delete env.FLOWFORMER_THREADS;
  // As a user's terminal would show it, without the colours nx asks of child processes (FORCE_COLOR).
  delete env.FORCE_COLOR;
  env.NO_COLOR = '1';
  return execFileSync(process.execPath, [file], { cwd: repoRoot, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('plain node imports the build', () => {
  let dir: string;
  beforeAll(() => {
    try {
      const projects = fs
        .readdirSync(path.join(repoRoot, 'packages'))
        .map((p) => path.join('packages', p, 'tsconfig.build.json'))
        .filter((p) => fs.existsSync(path.join(repoRoot, p)));
      execFileSync(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-b', ...projects], {
        cwd: repoRoot,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string };
      throw new Error(`the build (npm run build: tsc -b packages/*/tsconfig.build.json) failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
    }
    // Inside the repository (tmp/ is git-ignored), so that node finds node_modules from it.
    fs.mkdirSync(path.join(repoRoot, 'tmp'), { recursive: true });
    dir = fs.mkdtempSync(path.join(repoRoot, 'tmp', 'readme-example-'));
  }, 600_000);
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("runs the README's library example", () => {
    const file = path.join(dir, 'example.mjs');
    fs.writeFileSync(file, libraryExample());
    const out = plainNode(file);
    expect(out).toContain('output shape 2x4x16x8');
    expect(out).toContain('earlier outputs changed by 0\n');
    expect(out).toContain('last output changed: true');
  });

  it('resolves every package and sub-entry to dist/ and finds its main export', () => {
    const file = path.join(dir, 'imports.mjs');
    const probes: [string, string][] = [
      ['@flowformer/core', 'flowAttention'],
      ['@flowformer/core/backend', 'setupTensorflow'],
      ['@flowformer/core/results', 'RunRecord'],
      ['@flowformer/core/launch', 'acquireClaim'],
      ['@flowformer/core/bench', 'benchAttention'],
      ['@flowformer/core/io', 'download'],
      ['@flowformer/core/testing', 'goldenPath'],
      ['@flowformer/lra', 'lraTask'],
      ['@flowformer/uea', 'ueaTask'],
      ['@flowformer/wikitext', 'wikitextTask'],
      ['@flowformer/imagenet', 'imagenetTask'],
      ['@flowformer/d4rl', 'd4rlTask'],
      ['@flowformer/cli', 'main'],
    ];
    fs.writeFileSync(
      file,
      `for (const [spec, name] of ${JSON.stringify(probes)}) {\n` +
        `  const m = await import(spec);\n` +
        `  const where = import.meta.resolve(spec).replace(/^.*\\/packages\\//, '');\n` +
        `  console.log(spec, where, typeof m[name]);\n` +
        `}\n`,
    );
    const lines = plainNode(file).trim().split('\n');
    expect(lines).toHaveLength(probes.length);
    for (const [i, line] of lines.entries()) {
      const [spec, where, type] = line.split(' ');
      expect(spec).toBe(probes[i]![0]);
      expect(where, spec).toMatch(/^[a-z0-9]+\/dist\/.+\.js$/);
      expect(type, `${spec} exports ${probes[i]![1]}`).not.toBe('undefined');
    }
  });
});
