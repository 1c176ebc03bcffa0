/**
 * Offline installation of the TensorFlow backend (`@tensorflow/tfjs-node`, or `-gpu`).
 *
 * tfjs-node's own install script downloads libtensorflow, which fails without internet. It
 * skips that download when `deps/lib/libtensorflow.so.2.9.1` exists and then builds its addon
 * from source with node-gyp. `setupTensorflow` provides that library from a local file:
 *
 *   1. source: a libtensorflow tarball (`libtensorflow-*.tar.gz`), an unpacked libtensorflow
 *      directory (`lib/` + `include/`), or an official TensorFlow wheel
 *      (`tensorflow_cpu-*.whl`; its `libtensorflow_cc.so.2` exports the whole TF/TFE C API,
 *      headers under `tensorflow/include`).
 *   2. unpack the library and the C headers into `<repo>/.cache/tensorflow/<key>/` (ignored by
 *      git; `<key>` hashes the source's path, size and mtime, so a second run reuses it).
 *   3. get the npm package in place without its install script: the copy npm installed if any,
 *      else `npm install --ignore-scripts --no-save` at the root, which installs the version
 *      package-lock.json pins (from the npm registry or cache; only the libtensorflow download is
 *      impossible offline). A real folder, not a link: npm refuses a linked package.
 *   4. symlink `deps/lib` (under the names the binding links against and tfjs-node's install
 *      script checks) and `deps/include`, then build the addon with node-pre-gyp
 *      `--build-from-source` against the Node headers installed with Node (no header download).
 *   5. verify in a child process: load the package, check the backend is 'tensorflow', run a
 *      matmul and compare with the exact answer.
 *
 * Every step is skipped when already done for the same source (a stamp file records it), so
 * the second run takes about a second plus the verification. Nothing here touches
 * package.json or package-lock.json; failures leave wasm and cpu working.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type TensorflowVariant = 'cpu' | 'gpu';

export interface SetupTensorflowArgs {
  /** libtensorflow tarball or directory, or a TensorFlow wheel. */
  from: string;
  /** 'cpu' sets up @tensorflow/tfjs-node, 'gpu' @tensorflow/tfjs-node-gpu (needs a GPU libtensorflow). */
  variant?: TensorflowVariant;
  /** Repository root (holds node_modules/ and .cache/); default: found from this file. */
  repoRoot?: string;
  /** Rebuild the addon even if a stamp says it is built for this source. */
  force?: boolean;
  /** Progress lines; default console.error. */
  log?: (line: string) => void;
}

export interface SetupTensorflowResult {
  packageName: string;
  /** Where the package lives (real path) and the node_modules path that resolves to it. */
  packageDir: string;
  linkedAt: string;
  /** The unpacked library and headers. */
  libtensorflowDir: string;
  /** Built .node addon. */
  addon: string;
  /** What was (re)done this time; an empty list means everything was already in place. */
  did: string[];
  /** Seconds per step that ran (unpack, npm, build, verify). */
  seconds: Record<string, number>;
  /** The verification's report: backend name and the matmul result. */
  verified: string;
}

/** A user-facing setup failure: says what is wrong and what to do. */
export class TensorflowSetupError extends Error {
  override name = 'TensorflowSetupError';
}

/** tfjs-node 4.22's install script checks for this exact file (LIBTENSORFLOW_VERSION in scripts/deps-constants.js). */
const TFJS_NODE_LIBTENSORFLOW_VERSION = '2.9.1';
const C_API_HEADERS = ['tensorflow/c/c_api.h', 'tensorflow/c/eager/c_api.h'];

const here = path.dirname(fileURLToPath(import.meta.url));
/** packages/core/src/backend -> repo root. */
export const DEFAULT_REPO_ROOT = path.resolve(here, '../../../..');

/** The package name of a variant. */
export function tensorflowPackageName(variant: TensorflowVariant = 'cpu'): string {
  return variant === 'gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
}

/** The version of the optional dependency, as declared in @flowformer/core's package.json. */
function declaredVersion(pkg: string): string {
  const corePkg = JSON.parse(fs.readFileSync(path.resolve(here, '../../package.json'), 'utf8')) as {
    optionalDependencies?: Record<string, string>;
  };
  const v = corePkg.optionalDependencies?.[pkg];
  if (!v) throw new TensorflowSetupError(`packages/core/package.json: optionalDependencies has no ${pkg}.`);
  return v;
}

type SourceKind = 'wheel' | 'tarball' | 'directory';

/** What kind of source `from` is; throws a TensorflowSetupError for a missing or unsuitable path. */
export function classifySource(from: string): SourceKind {
  if (!fs.existsSync(from)) {
    throw new TensorflowSetupError(
      `--from ${from}: no such file or directory. Give a libtensorflow tarball (libtensorflow-cpu-linux-x86_64-*.tar.gz), ` +
        `its unpacked directory, or a TensorFlow wheel (tensorflow_cpu-*.whl, e.g. from \`pip download tensorflow-cpu\`).`,
    );
  }
  const st = fs.statSync(from);
  const base = path.basename(from);
  if (st.isDirectory()) return 'directory';
  if (/\.whl$/i.test(base)) {
    if (!/^(tensorflow|tensorflow_cpu|tf_nightly|tf_nightly_cpu|tensorflow_intel)-/i.test(base)) {
      throw new TensorflowSetupError(`--from ${from}: a wheel, but not a TensorFlow wheel (expected tensorflow_cpu-<version>-...whl).`);
    }
    if (process.platform === 'linux' && !/manylinux[^.]*_x86_64|linux_x86_64/.test(base) && os.arch() === 'x64') {
      throw new TensorflowSetupError(`--from ${from}: this wheel is not for linux x86_64 (its name says ${base}); download the manylinux x86_64 one.`);
    }
    return 'wheel';
  }
  if (/\.(tar\.gz|tgz)$/i.test(base)) return 'tarball';
  throw new TensorflowSetupError(
    `--from ${from}: unsupported file type. Expected a .tar.gz libtensorflow archive, a directory with lib/ and include/, or a .whl.`,
  );
}

/** Cache key: the source's real path, size and mtime (hashing 270 MB of content would cost seconds on every run). */
function sourceKey(from: string): string {
  const real = fs.realpathSync(from);
  const st = fs.statSync(real);
  return createHash('sha256').update(`${real}\0${st.size}\0${st.mtimeMs}`).digest('hex').slice(0, 16);
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
}

function tail(s: string, n = 25): string {
  return s.trim().split('\n').slice(-n).join('\n');
}

/** Unpacked library: `<dir>/lib/*.so*` and `<dir>/include/tensorflow/c/...`. Returns the dir. */
function unpack(from: string, kind: SourceKind, cacheRoot: string, log: (s: string) => void): { dir: string; did: boolean } {
  if (kind === 'directory') {
    const dir = path.resolve(from);
    checkLayout(dir, from);
    return { dir, did: false };
  }
  const dir = path.join(cacheRoot, sourceKey(from));
  const stamp = path.join(dir, '.unpacked');
  if (fs.existsSync(stamp)) return { dir, did: false };
  fs.rmSync(dir, { recursive: true, force: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  log(`unpacking ${path.basename(from)} into ${path.relative(process.cwd(), dir) || dir} ...`);
  if (kind === 'wheel') {
    // Only what the binding needs: the two libraries and the C API headers with what they include.
    const members = [
      'tensorflow/libtensorflow_cc.so.2',
      'tensorflow/libtensorflow_framework.so.2',
      'tensorflow/include/tensorflow/c/*',
      'tensorflow/include/tensorflow/core/platform/*',
      'tensorflow/include/tsl/platform/*',
      'tensorflow/include/xla/tsl/*',
    ];
    const r = run('unzip', ['-q', '-o', from, ...members, '-d', tmp]);
    if (r.error) {
      throw new TensorflowSetupError(`unpacking ${from} needs the \`unzip\` program (${r.error.message}); install it (apt-get install unzip).`);
    }
    // unzip exits 11 when a pattern matched nothing; optional header folders may be absent in other versions.
    if (r.status !== 0 && r.status !== 11) throw new TensorflowSetupError(`unzip ${from} failed (exit ${r.status}):\n${tail(r.stderr)}`);
    const tfDir = path.join(tmp, 'tensorflow');
    if (!fs.existsSync(path.join(tfDir, 'libtensorflow_cc.so.2'))) {
      throw new TensorflowSetupError(
        `${from}: the wheel has no tensorflow/libtensorflow_cc.so.2 (needed for the TensorFlow C API). Use an official tensorflow or tensorflow-cpu wheel >= 2.x for linux x86_64.`,
      );
    }
    fs.mkdirSync(path.join(tmp, 'lib'));
    for (const f of ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2']) {
      fs.renameSync(path.join(tfDir, f), path.join(tmp, 'lib', f));
    }
    fs.renameSync(path.join(tfDir, 'include'), path.join(tmp, 'include'));
    fs.rmSync(tfDir, { recursive: true, force: true });
  } else {
    const r = run('tar', ['-xzf', from, '-C', tmp]);
    if (r.error || r.status !== 0) {
      throw new TensorflowSetupError(`tar -xzf ${from} failed: ${r.error?.message ?? tail(r.stderr)}. Is it a complete libtensorflow .tar.gz?`);
    }
  }
  checkLayout(tmp, from);
  fs.writeFileSync(path.join(tmp, '.unpacked'), JSON.stringify({ from: fs.realpathSync(from), kind }) + '\n');
  fs.renameSync(tmp, dir);
  return { dir, did: true };
}

/** The main library of an unpacked layout: libtensorflow.so.2* (libtensorflow releases) or libtensorflow_cc.so.2 (wheels). */
function libraries(dir: string): { main: string; framework: string } {
  const lib = path.join(dir, 'lib');
  const files = fs.existsSync(lib) ? fs.readdirSync(lib) : [];
  const pick = (re: RegExp) => files.filter((f) => re.test(f)).sort((a, b) => a.length - b.length)[0];
  const main = pick(/^libtensorflow\.so\.2(\.|$)/) ?? pick(/^libtensorflow_cc\.so\.2(\.|$)/);
  const framework = pick(/^libtensorflow_framework\.so\.2(\.|$)/);
  if (!main || !framework) {
    throw new TensorflowSetupError(
      `${lib}: expected libtensorflow.so.2 (or libtensorflow_cc.so.2) and libtensorflow_framework.so.2, found [${files.join(', ')}].`,
    );
  }
  return { main, framework };
}

function checkLayout(dir: string, from: string): void {
  for (const h of C_API_HEADERS) {
    if (!fs.existsSync(path.join(dir, 'include', h))) {
      throw new TensorflowSetupError(`${from}: include/${h} is missing; this is not a libtensorflow with the C API headers.`);
    }
  }
  try {
    libraries(dir);
  } catch (e) {
    throw new TensorflowSetupError(`${from}: ${(e as Error).message}`);
  }
}

/** Link `<pkg>/deps` to the unpacked library under every name the build and the loader look for. */
function layDeps(pkgDir: string, libDir: string): boolean {
  const { main, framework } = libraries(libDir);
  const want: Record<string, string> = {
    // tfjs-node's install script skips its download when this exists
    [`libtensorflow.so.${TFJS_NODE_LIBTENSORFLOW_VERSION}`]: main,
    [`libtensorflow_framework.so.${TFJS_NODE_LIBTENSORFLOW_VERSION}`]: framework,
    // -ltensorflow -ltensorflow_framework at link time
    'libtensorflow.so': main,
    'libtensorflow_framework.so': framework,
    // the sonames the addon records (DT_NEEDED), found at run time through its rpath $ORIGIN/../../deps/lib
    [main]: main,
    [framework]: framework,
    'libtensorflow_framework.so.2': framework,
  };
  const deps = path.join(pkgDir, 'deps');
  const lib = path.join(deps, 'lib');
  let changed = false;
  const ensureLink = (at: string, target: string) => {
    let cur: string | null = null;
    try {
      cur = fs.readlinkSync(at);
    } catch {
      /* absent or not a link */
    }
    if (cur === target) return;
    fs.rmSync(at, { recursive: true, force: true });
    fs.symlinkSync(target, at);
    changed = true;
  };
  if (fs.existsSync(lib) && fs.lstatSync(lib).isSymbolicLink()) fs.rmSync(lib);
  fs.mkdirSync(lib, { recursive: true });
  for (const [name, file] of Object.entries(want)) ensureLink(path.join(lib, name), path.join(libDir, 'lib', file));
  ensureLink(path.join(deps, 'include'), path.join(libDir, 'include'));
  return changed;
}

/** Resolve the package from the repo root; null when absent. */
function installedPackageDir(repoRoot: string, pkg: string): string | null {
  const link = path.join(repoRoot, 'node_modules', pkg);
  return fs.existsSync(path.join(link, 'package.json')) ? fs.realpathSync(link) : null;
}

/**
 * Have npm install the locked package version into the project's own node_modules with
 * install scripts off (its script would try to download libtensorflow). A real npm-installed
 * folder (not a link) keeps later `npm install`s content: they see it satisfied and leave it,
 * addon included. npm reifies the whole lockfile, so the other optional TensorFlow package
 * comes along without its addon; it is removed again unless it was already usable, so that
 * the automatic backend choice does not trip over it (a later `npm install` retries it as usual).
 */
function installPackage(repoRoot: string, pkg: string, version: string, log: (s: string) => void): string {
  const other = pkg === '@tensorflow/tfjs-node' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  const otherWasThere = installedPackageDir(repoRoot, other) != null;
  log(`installing ${pkg}@${version} with npm, install scripts off (registry or npm cache; no libtensorflow download) ...`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const env: NodeJS.ProcessEnv = { ...process.env };
  // When we run inside `npm install` (postinstall), do not inherit the outer command's settings.
  for (const k of Object.keys(env)) if (/^npm_(config|lifecycle|package)_/i.test(k)) delete env[k];
  const r = run(npm, ['install', '--ignore-scripts', '--no-save', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: repoRoot, env });
  const pkgDir = installedPackageDir(repoRoot, pkg);
  if (r.error || r.status !== 0 || pkgDir == null) {
    throw new TensorflowSetupError(
      `npm could not install ${pkg}@${version} (from the registry or the npm cache): ${r.error?.message ?? tail(r.stderr)}\n` +
        `Check that package-lock.json lists node_modules/${pkg}; without registry access, \`npm cache add\` its tarball (\`npm pack ${pkg}@${version}\` elsewhere) first.`,
    );
  }
  if (!otherWasThere) fs.rmSync(path.join(repoRoot, 'node_modules', other), { recursive: true, force: true });
  return pkgDir;
}

/** The built addon, if any (lib/napi-v<N>/tfjs_binding.node). */
export function findAddon(pkgDir: string): string | null {
  const lib = path.join(pkgDir, 'lib');
  if (!fs.existsSync(lib)) return null;
  for (const d of fs.readdirSync(lib)) {
    const f = path.join(lib, d, 'tfjs_binding.node');
    if (fs.existsSync(f)) return f;
  }
  return null;
}

/** node-gyp wants Node's headers; use those installed with Node instead of downloading them. */
function nodeHeadersDir(): string | null {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null;
}

function buildAddon(pkgDir: string, log: (s: string) => void): void {
  const require = createRequire(path.join(pkgDir, 'package.json'));
  let preGyp: string;
  try {
    preGyp = path.join(path.dirname(require.resolve('@mapbox/node-pre-gyp/package.json')), 'bin', 'node-pre-gyp');
  } catch {
    throw new TensorflowSetupError(`${pkgDir}: its dependency @mapbox/node-pre-gyp is missing; delete the folder and run setup again.`);
  }
  const nodedir = nodeHeadersDir();
  const args = [preGyp, 'install', '--build-from-source'];
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  log(`building the addon with node-gyp (${nodedir ? `Node headers from ${nodedir}/include/node` : 'Node headers from node-gyp\'s cache'}) ...`);
  const r = run(process.execPath, args, { cwd: pkgDir });
  if (r.error || r.status !== 0) {
    const out = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
    const hint = /node-gyp|gyp ERR! find Python|make: not found|g\+\+: not found/i.test(out)
      ? ' It needs python3, make and a C++ compiler (apt-get install python3 make g++).'
      : /connect|ENOTFOUND|EAI_AGAIN|download/i.test(out)
        ? ' node-gyp tried to download Node headers; install them with Node (they are in <node prefix>/include/node) or set npm_config_nodedir.'
        : '';
    throw new TensorflowSetupError(`building ${path.basename(pkgDir)}'s addon failed (exit ${r.status}).${hint}\n${tail(out)}`);
  }
}

/** Load the package in a fresh Node, check the backend and one matmul. Returns its report. */
export function verifyTensorflowPackage(repoRoot: string, pkg: string): string {
  const script = `
    const tfn = require(${JSON.stringify(pkg)});
    const tf = require('@tensorflow/tfjs');
    if (tf.getBackend() !== 'tensorflow') throw new Error('backend is ' + tf.getBackend() + ', not tensorflow');
    const a = tf.tensor2d([[1, 2], [3, 4]]);
    const r = Array.from(tf.matMul(a, a).dataSync());
    if (r.join(',') !== '7,10,15,22') throw new Error('matmul gave ' + r);
    console.log('backend ' + tf.getBackend() + ', tfjs-node ' + tfn.version['tfjs-node'] + ', [[1,2],[3,4]]^2 = [' + r + ']');
  `;
  const r = run(process.execPath, ['-e', script], { cwd: repoRoot, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
  if (r.status !== 0) {
    throw new TensorflowSetupError(`verification failed: loading ${pkg} and running a matmul did not work:\n${tail(r.stderr)}`);
  }
  return r.stdout.trim().split('\n').pop()!;
}

/**
 * Lay libtensorflow from `args.from` under tfjs-node, build its addon offline and verify it.
 * Idempotent; throws TensorflowSetupError with what to do when something is missing or unsuitable.
 */
export async function setupTensorflow(args: SetupTensorflowArgs): Promise<SetupTensorflowResult> {
  const log = args.log ?? ((s: string) => console.error(s));
  const repoRoot = path.resolve(args.repoRoot ?? DEFAULT_REPO_ROOT);
  const pkg = tensorflowPackageName(args.variant);
  const version = declaredVersion(pkg);
  const cacheRoot = path.join(repoRoot, '.cache', 'tensorflow');
  const did: string[] = [];
  const seconds: Record<string, number> = {};
  const timed = <T>(step: string, fn: () => T): T => {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      seconds[step] = Math.round((performance.now() - t0) / 100) / 10;
    }
  };

  const kind = classifySource(args.from);
  const { dir: libDir, did: unpacked } = timed('unpack', () => unpack(args.from, kind, cacheRoot, log));
  if (unpacked) did.push('unpacked');

  let pkgDir = installedPackageDir(repoRoot, pkg);
  if (pkgDir) {
    const v = (JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
    if (v !== version) {
      throw new TensorflowSetupError(`${pkg} ${v} is installed but @flowformer/core declares ${version}; run \`npm install\` (or remove node_modules/${pkg}) and retry.`);
    }
  } else {
    pkgDir = timed('npm', () => installPackage(repoRoot, pkg, version, log));
    did.push('installed package');
  }
  const linkedAt = path.join(repoRoot, 'node_modules', pkg);

  const depsChanged = layDeps(pkgDir, libDir);
  const stampFile = path.join(pkgDir, 'deps', '.flowformer-built');
  const stamp = JSON.stringify({ libDir, node: process.versions.modules, napi: process.versions.napi });
  let addon = findAddon(pkgDir);
  const upToDate = addon != null && !depsChanged && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp;
  if (args.force || !upToDate) {
    timed('build', () => buildAddon(pkgDir, log));
    addon = findAddon(pkgDir);
    if (!addon) throw new TensorflowSetupError(`the build reported success but no ${pkgDir}/lib/napi-v*/tfjs_binding.node exists.`);
    fs.writeFileSync(stampFile, stamp);
    did.push('built addon');
  }
  const verified = timed('verify', () => verifyTensorflowPackage(repoRoot, pkg));
  return { packageName: pkg, packageDir: pkgDir, linkedAt, libtensorflowDir: libDir, addon: addon!, did, seconds, verified };
}

/**
 * Whether the tensorflow backend package loads here, without loading it into this process:
 * `{ ok: true }` or `{ ok: false, reason }` (for tests and CI messages).
 */
export function tensorflowAvailability(repoRoot = DEFAULT_REPO_ROOT, variant: TensorflowVariant = 'cpu'): { ok: true; report: string } | { ok: false; reason: string } {
  const pkg = tensorflowPackageName(variant);
  if (installedPackageDir(repoRoot, pkg) == null) {
    return { ok: false, reason: `${pkg} is not installed (run \`flowformer setup tensorflow --from <tensorflow_cpu-*.whl | libtensorflow.tar.gz>\`)` };
  }
  try {
    return { ok: true, report: verifyTensorflowPackage(repoRoot, pkg) };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

/**
 * For test suites: whether to run their tensorflow-backend cases. True when tfjs-node loads
 * here. Otherwise prints "tensorflow backend not tested: <why>" and returns false, or throws
 * when the environment requires it (`FLOWFORMER_TEST_TENSORFLOW=required`, set by .ci/run
 * when it found a wheel), so that a broken setup cannot pass CI as a silent skip.
 */
export function tensorflowForTests(): boolean {
  const a = tensorflowAvailability();
  if (a.ok) return true;
  if (process.env.FLOWFORMER_TEST_TENSORFLOW === 'required') {
    throw new Error(`FLOWFORMER_TEST_TENSORFLOW=required but the tensorflow backend is unavailable: ${a.reason}`);
  }
  console.warn(`tensorflow backend not tested: ${a.reason}`);
  return false;
}
