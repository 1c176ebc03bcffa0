/**
 * `setupTensorflow` (what `flowformer setup tensorflow --from` and the root postinstall run):
 * clear errors for missing and unsuitable sources before anything is built, and, where the
 * machine carries a TensorFlow CPU wheel and tfjs-node is set up, a second run that finds
 * everything in place and only verifies.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { classifySource, setupTensorflow, tensorflowAvailability, TensorflowSetupError } from '../src/backend/tensorflow-setup.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowformer-tfsetup-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// A throwaway repo root, so that a failing case can never touch the project's node_modules.
const fakeRoot = path.join(tmp, 'repo');
fs.mkdirSync(fakeRoot);
const setup = (from: string) => setupTensorflow({ from, repoRoot: fakeRoot, log: () => {} });

describe('setup tensorflow: unusable sources are clear errors', () => {
  it('a missing path names it and the accepted kinds', async () => {
    await expect(setup(path.join(tmp, 'nope.whl'))).rejects.toThrow(/nope\.whl: no such file or directory\. Give a libtensorflow tarball.*tensorflow_cpu-\*\.whl/);
  });

  it('a file of another type', () => {
    const f = path.join(tmp, 'notes.txt');
    fs.writeFileSync(f, 'x');
    expect(() => classifySource(f)).toThrow(/unsupported file type/);
  });

  it('a wheel that is not TensorFlow', () => {
    const f = path.join(tmp, 'numpy-2.0.0-cp311-cp311-manylinux_2_17_x86_64.whl');
    fs.writeFileSync(f, 'x');
    expect(() => classifySource(f)).toThrow(TensorflowSetupError);
    expect(() => classifySource(f)).toThrow(/not a TensorFlow wheel/);
  });

  it('a tarball without the C API headers', async () => {
    const dir = path.join(tmp, 'junk');
    fs.mkdirSync(path.join(dir, 'lib'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'lib', 'readme'), 'x');
    const tgz = path.join(tmp, 'libtensorflow-junk.tar.gz');
    expect(spawnSync('tar', ['-czf', tgz, '-C', dir, 'lib']).status).toBe(0);
    await expect(setup(tgz)).rejects.toThrow(/include\/tensorflow\/c\/c_api\.h is missing/);
  });

  it('a directory with headers but no libraries', async () => {
    const dir = path.join(tmp, 'headers-only');
    for (const h of ['tensorflow/c/c_api.h', 'tensorflow/c/eager/c_api.h']) {
      fs.mkdirSync(path.dirname(path.join(dir, 'include', h)), { recursive: true });
      fs.writeFileSync(path.join(dir, 'include', h), '');
    }
    await expect(setup(dir)).rejects.toThrow(/expected libtensorflow\.so\.2 \(or libtensorflow_cc\.so\.2\) and libtensorflow_framework\.so\.2/);
  });
});

const wheel = fs.existsSync('/opt/pypi/files')
  ? fs.readdirSync('/opt/pypi/files').filter((f) => /^tensorflow_cpu-.*\.whl$/.test(f)).map((f) => path.join('/opt/pypi/files', f))[0]
  : undefined;
const available = tensorflowAvailability();
const why = !wheel ? 'no /opt/pypi/files/tensorflow_cpu-*.whl' : !available.ok ? available.reason : '';
if (why) console.warn(`tensorflow backend not tested (setup idempotency): ${why}`);

describe.skipIf(Boolean(why))(`setup tensorflow from ${wheel ?? 'a wheel'} (already set up)`, () => {
  it('a second run rebuilds nothing and verifies a matmul on the tensorflow backend', async () => {
    const t0 = performance.now();
    const r = await setupTensorflow({ from: wheel!, log: () => {} });
    expect(r.did).toEqual([]);
    expect(r.verified).toMatch(/^backend tensorflow, tfjs-node 4\.22\.0, \[\[1,2\],\[3,4\]\]\^2 = \[7,10,15,22\]$/);
    expect(fs.realpathSync(path.join(path.dirname(r.addon), '../../deps/lib/libtensorflow.so.2.9.1'))).toMatch(/libtensorflow_cc\.so\.2$/);
    expect(performance.now() - t0).toBeLessThan(30_000);
  }, 60_000);
});
