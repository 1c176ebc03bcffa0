/**
 * Task discovery. A task package declares itself in its package.json:
 *
 *   "flowformer": { "task": "./src/task.ts" }
 *
 * and that module's default export (or named export `task`) is a `Task`. We look for such
 * packages in every `node_modules` folder from the current directory up, and from this
 * package's own location up (so that `npx flowformer` works from anywhere inside the repo and
 * from a project that installed task packages as dependencies). `FLOWFORMER_TASKS` adds
 * more, as a comma-separated list of package folders or module files.
 * The CLI therefore never names a task: adding a package edits nothing here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { registerTask, listTasks, type Task } from '@flowformer/core';

export interface DiscoveredTask {
  task: Task;
  packageName: string;
  packageDir: string;
}

function nodeModulesUpFrom(dir: string): string[] {
  const out: string[] = [];
  let d = path.resolve(dir);
  for (;;) {
    const nm = path.join(d, 'node_modules');
    if (fs.existsSync(nm)) out.push(nm);
    const up = path.dirname(d);
    if (up === d) return out;
    d = up;
  }
}

function packageDirsIn(nodeModules: string): string[] {
  const out: string[] = [];
  for (const name of fs.readdirSync(nodeModules)) {
    if (name.startsWith('.')) continue;
    const p = path.join(nodeModules, name);
    if (name.startsWith('@')) {
      let scoped: string[] = [];
      try {
        scoped = fs.readdirSync(p);
      } catch {
        continue;
      }
      for (const s of scoped) out.push(path.join(p, s));
    } else {
      out.push(p);
    }
  }
  return out;
}

function readTaskEntry(pkgDir: string): { name: string; entry: string } | null {
  const pj = path.join(pkgDir, 'package.json');
  if (!fs.existsSync(pj)) return null;
  try {
    const json = JSON.parse(fs.readFileSync(pj, 'utf8'));
    const entry = json?.flowformer?.task;
    if (typeof entry !== 'string') return null;
    return { name: String(json.name ?? path.basename(pkgDir)), entry: path.resolve(pkgDir, entry) };
  } catch {
    return null;
  }
}

let discovered: DiscoveredTask[] | null = null;

function warn(msg: string): void {
  console.error(`warning: ${msg}`);
}

/** Finds, imports and registers every task package (once per process). */
export async function discoverTasks(): Promise<DiscoveredTask[]> {
  if (discovered) return discovered;
  const here = path.dirname(fileURLToPath(import.meta.url));
  const roots = [...new Set([...nodeModulesUpFrom(process.cwd()), ...nodeModulesUpFrom(here)])];
  const candidates = new Map<string, { name: string; entry: string; dir: string }>();
  for (const nm of roots) {
    for (const dir of packageDirsIn(nm)) {
      const real = fs.realpathSync(dir);
      const t = readTaskEntry(real);
      if (t && !candidates.has(real)) candidates.set(real, { ...t, dir: real });
    }
  }
  for (const extra of (process.env.FLOWFORMER_TASKS ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const p = path.resolve(extra);
    const t = fs.existsSync(p) && fs.statSync(p).isDirectory() ? readTaskEntry(p) : { name: p, entry: p };
    if (!t) throw new Error(`FLOWFORMER_TASKS: '${extra}' is neither a module file nor a package with a "flowformer.task" field`);
    candidates.set(p, { ...t, dir: p });
  }
  const out: DiscoveredTask[] = [];
  for (const c of candidates.values()) {
    // A broken task package must not take the whole CLI down: say what is wrong and go on.
    let mod: Record<string, unknown>;
    try {
      mod = await import(pathToFileURL(c.entry).href);
    } catch (e) {
      warn(`task package ${c.name} skipped: could not load ${c.entry}: ${(e as Error).message}`);
      continue;
    }
    const task = (mod.default ?? mod.task) as Task | undefined;
    if (!task || typeof task !== 'object' || typeof task.name !== 'string') {
      warn(`task package ${c.name} skipped: ${c.entry} must export a Task as its default export (or as 'task')`);
      continue;
    }
    registerTask(task);
    out.push({ task, packageName: c.name, packageDir: c.dir });
  }
  out.sort((a, b) => a.task.name.localeCompare(b.task.name));
  discovered = out;
  return out;
}

export { listTasks };
