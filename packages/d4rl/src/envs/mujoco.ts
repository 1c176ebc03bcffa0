/**
 * MuJoCo compiled to WebAssembly (the official `mujoco-js` package, MuJoCo 3.3.8), loaded once
 * per process, and the package's own MJCF models (`packages/d4rl/assets/`, MIT, see LICENSE
 * there).
 *
 * The D4RL v2 datasets were recorded with gym's `*-v3` environments on mujoco-py / MuJoCo 2.x;
 * MuJoCo 3 integrates the same models with the same RK4 integrator, but contact solver details
 * changed between major versions, so returns here are close to, not bit-identical with, the
 * recording simulator's.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import type { MainModule, MjModel, MjData } from 'mujoco-js';

export type { MainModule, MjModel, MjData };

let modulePromise: Promise<MainModule> | null = null;
let fileCounter = 0;

/** The MuJoCo WebAssembly module (loaded on first use, ~0.6 s). */
export async function loadMujoco(): Promise<MainModule> {
  modulePromise ??= (async () => {
    const { default: load } = await import('mujoco-js');
    const mj = (await load()) as MainModule;
    (mj as unknown as { FS: { mkdir(p: string): void } }).FS.mkdir('/flowformer-mjcf');
    return mj;
  })();
  return modulePromise;
}

/** Folder of the MJCF files shipped with this package. */
export const ASSETS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../assets');

/** Compiles an MJCF document (text) into a model. */
export function compileModel(mj: MainModule, xml: string, label: string): MjModel {
  const fs = (mj as unknown as { FS: { writeFile(p: string, s: string): void; unlink(p: string): void } }).FS;
  const p = `/flowformer-mjcf/m${fileCounter++}.xml`;
  fs.writeFile(p, xml);
  try {
    const model = mj.MjModel.loadFromXML(p);
    if (!model) throw new Error('loadFromXML returned nothing');
    return model;
  } catch (e) {
    const msg = e instanceof Error ? e.message || e.name : String(e);
    throw new Error(`MuJoCo could not compile ${label} (${msg}). MuJoCo >= 2.3 rejects coordinate="global": use the local-coordinate models in ${ASSETS_DIR}`);
  } finally {
    fs.unlink(p);
  }
}

/** Compiles one of the shipped models, e.g. `hopper.xml`. */
export async function loadAssetModel(name: string): Promise<{ mj: MainModule; model: MjModel }> {
  const mj = await loadMujoco();
  const path = resolve(ASSETS_DIR, name);
  return { mj, model: compileModel(mj, readFileSync(path, 'utf8'), path) };
}
