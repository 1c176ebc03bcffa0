import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Rng } from '@flowformer/core';
import { makeEnv, SPECS, type EnvName } from '../src/envs/locomotion.ts';
import { compileModel, loadMujoco, loadAssetModel } from '../src/envs/mujoco.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const legacyDir = resolve(repoRoot, '../shared/data/mujoco/legacy-gym-global-coords');
const nums = (s: string) => s.trim().split(/\s+/).map(Number);

/** Every <body>, <joint>, <geom> tag of an MJCF text with its attributes. */
function tags(xml: string): { tag: string; attrs: Record<string, string> }[] {
  const out: { tag: string; attrs: Record<string, string> }[] = [];
  for (const m of xml.replace(/<!--[\s\S]*?-->/g, '').matchAll(/<(body|joint|geom)\b([^>]*)>/g)) {
    const attrs: Record<string, string> = {};
    for (const a of m[2]!.matchAll(/(\w+)="([^"]*)"/g)) attrs[a[1]!] = a[2]!;
    out.push({ tag: m[1]!, attrs });
  }
  return out;
}

describe('MJCF models', () => {
  it('mujoco-js rejects the legacy coordinate="global" files with a message that says what to do', async () => {
    const mj = await loadMujoco();
    expect(() => compileModel(mj, '<mujoco><compiler coordinate="global"/><worldbody/></mujoco>', 'legacy.xml')).toThrow(/legacy\.xml.*local-coordinate models/);
  });

  for (const name of ['hopper', 'walker2d'] as const) {
    it.skipIf(!existsSync(legacyDir))(`${name}: the shipped local-coordinate model reproduces the legacy gym global geometry (bodies, joint anchors, capsules)`, async () => {
      const { mj, model } = await loadAssetModel(`${name}.xml`);
      const data = new mj.MjData(model);
      mj.mj_forward(model, data);
      const m = model as any;
      const d = data as any;
      let checked = 0;
      for (const { tag, attrs } of tags(readFileSync(resolve(legacyDir, `${name}.xml`), 'utf8'))) {
        if (!attrs.name || attrs.name === 'floor') continue;
        if (tag === 'body') {
          const id = mj.mj_name2id(model, 1, attrs.name);
          expect(Array.from(d.xpos.slice(3 * id, 3 * id + 3) as Float64Array).map((v) => +v.toFixed(9))).toEqual(nums(attrs.pos!));
        } else if (tag === 'joint' && attrs.type !== 'slide') {
          const id = mj.mj_name2id(model, 3, attrs.name);
          const got = Array.from(d.xanchor.slice(3 * id, 3 * id + 3) as Float64Array);
          nums(attrs.pos!).forEach((v, i) => expect(got[i]).toBeCloseTo(v, 9));
        } else if (tag === 'geom' && attrs.fromto) {
          const id = mj.mj_name2id(model, 5, attrs.name);
          const [x0, y0, z0, x1, y1, z1] = nums(attrs.fromto);
          const mid = [(x0! + x1!) / 2, (y0! + y1!) / 2, (z0! + z1!) / 2];
          const half = Math.hypot(x1! - x0!, y1! - y0!, z1! - z0!) / 2;
          const got = Array.from(d.geom_xpos.slice(3 * id, 3 * id + 3) as Float64Array);
          mid.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 9));
          expect(m.geom_size[3 * id]).toBeCloseTo(Number(attrs.size), 12);
          expect(m.geom_size[3 * id + 1]).toBeCloseTo(half, 9);
          // capsule axis (3rd column of the rotation) along fromto, either direction
          const R = Array.from(d.geom_xmat.slice(9 * id, 9 * id + 9) as Float64Array);
          const axis = [R[2]!, R[5]!, R[8]!];
          const dir = [(x1! - x0!) / (2 * half), (y1! - y0!) / (2 * half), (z1! - z0!) / (2 * half)];
          expect(Math.abs(axis[0]! * dir[0]! + axis[1]! * dir[1]! + axis[2]! * dir[2]!)).toBeCloseTo(1, 9);
          if (attrs.friction) expect(m.geom_friction[3 * id]).toBeCloseTo(nums(attrs.friction)[0]!, 12);
        } else continue;
        checked++;
      }
      expect(checked).toBeGreaterThanOrEqual(name === 'hopper' ? 11 : 19);
      data.delete();
    });
  }
});

describe('locomotion environments (gym v3 definitions)', () => {
  const dims: Record<EnvName, [number, number, number, number]> = { hopper: [11, 3, 6, 0.008], halfcheetah: [17, 6, 9, 0.05], walker2d: [17, 6, 9, 0.008] };
  for (const name of ['hopper', 'halfcheetah', 'walker2d'] as const) {
    it(`${name}: dims, frame skip, observation layout, reward terms`, async () => {
      const env = await makeEnv(name);
      const [obsDim, actDim, nq, dt] = dims[name];
      expect([env.obsDim, env.actDim, env.model.nq, env.maxEpisodeSteps]).toEqual([obsDim, actDim, nq, 1000]);
      expect(env.dt).toBeCloseTo(dt, 12);
      // a hand-made state: observation = qpos[1:] then qvel (clipped to +-10 except halfcheetah)
      const qpos = Array.from({ length: nq }, (_, i) => (i === 1 ? 1.25 : 0.01 * (i + 1)));
      if (name === 'halfcheetah') qpos[1] = 0;
      const qvel = Array.from({ length: nq }, (_, i) => (i === 3 ? 12 : i === 4 ? -15 : 0.1 * i));
      env.setState(qpos, qvel);
      const clip = name === 'halfcheetah' ? (v: number) => v : (v: number) => Math.max(-10, Math.min(10, v));
      expect(Array.from(env.observation())).toEqual([...qpos.slice(1), ...qvel.map(clip)]);
      // one step = frameSkip mj_steps; reward = dx/dt + healthy - ctrl_cost_weight |a|^2
      const action = Array.from({ length: actDim }, (_, i) => (i % 2 ? -0.5 : 0.3));
      const x0 = env.qpos[0]!;
      const r = env.step(action);
      expect((env as any).data.time).toBeCloseTo(SPECS[name].frameSkip * env.model.opt.timestep, 12);
      const x1 = env.qpos[0]!;
      const ctrl = SPECS[name].ctrlCostWeight * action.reduce((a, v) => a + v * v, 0);
      const healthy = name === 'halfcheetah' ? 0 : 1;
      expect(r.info.xVelocity).toBeCloseTo((x1 - x0) / dt, 9);
      expect(r.reward).toBeCloseTo((x1 - x0) / dt + healthy - ctrl, 9);
      expect(r.info.rewardCtrl).toBeCloseTo(ctrl, 12);
      expect(r.observation.length).toBe(obsDim);
      env.dispose();
    });
  }

  it('hopper termination: z > 0.7, |angle| < 0.2, every qpos[2:], qvel entry inside (-100, 100)', async () => {
    const env = await makeEnv('hopper');
    const base = [0, 1.25, 0, 0, 0, 0];
    const zero = [0, 0, 0, 0, 0, 0];
    const healthy = (qpos: number[], qvel = zero) => (env.setState(qpos, qvel), env.isHealthy());
    expect(healthy(base)).toBe(true);
    expect(healthy([0, 0.71, 0, 0, 0, 0])).toBe(true);
    expect(healthy([0, 0.7, 0, 0, 0, 0])).toBe(false);
    expect(healthy([0, 1.25, 0.19, 0, 0, 0])).toBe(true);
    expect(healthy([0, 1.25, -0.2, 0, 0, 0])).toBe(false);
    expect(healthy(base, [0, 0, 0, 99, 0, 0])).toBe(true);
    expect(healthy(base, [0, 0, 0, 0, 0, -100])).toBe(false);
    // state_vector()[2:] = [qpos[2:], qvel]: the x position is not bounded, the x velocity is
    expect(healthy([150, 1.25, 0, 0, 0, 0])).toBe(true);
    expect(healthy(base, [150, 0, 0, 0, 0, 0])).toBe(false);
    env.setState([0, 1.25, 0.5, 0, 0, 0], zero);
    expect(env.step([0, 0, 0]).terminated).toBe(true);
    env.dispose();
  });

  it('walker2d termination: 0.8 < z < 2, -1 < angle < 1; halfcheetah never terminates', async () => {
    const env = await makeEnv('walker2d');
    const at = (z: number, angle: number) => (env.setState([0, z, angle, 0, 0, 0, 0, 0, 0], new Array(9).fill(0)), env.isHealthy());
    expect([at(1.25, 0), at(0.81, 0), at(0.8, 0), at(1.99, 0), at(2, 0), at(1.25, 0.99), at(1.25, -1)]).toEqual([true, true, false, true, false, true, false]);
    env.dispose();
    const hc = await makeEnv('halfcheetah');
    hc.setState([0, -5, 3, 0, 0, 0, 0, 0, 0], new Array(9).fill(500));
    expect(hc.isHealthy()).toBe(true);
    expect(hc.step(new Array(6).fill(0)).terminated).toBe(false);
    hc.dispose();
  });

  it('reset noise: U(+-5e-3) around qpos0 for hopper; 1000-step time limit', async () => {
    const env = await makeEnv('hopper');
    const rng = new Rng(3);
    const o = env.reset(rng);
    expect(Math.abs(o[0]! - 1.25)).toBeLessThanOrEqual(5e-3);
    for (let i = 1; i < 11; i++) expect(Math.abs(o[i]!)).toBeLessThanOrEqual(5e-3);
    const again = env.reset(new Rng(3));
    expect(Array.from(again)).toEqual(Array.from(o));
    env.dispose();
    const hc = await makeEnv('halfcheetah');
    hc.reset(new Rng(1));
    let r = hc.step(new Array(6).fill(0));
    for (let t = 1; t < 1000; t++) {
      expect(r.truncated).toBe(false);
      r = hc.step(new Array(6).fill(0));
    }
    expect(r.truncated).toBe(true);
    hc.dispose();
  });
});
