/**
 * The dependency rules of the monorepo, checked by `npm test` (`npm run depcruise`).
 * docs/architecture.md explains the layers; this file is what enforces them.
 *
 * Inside packages/core, imports only point down:
 *   ground (tf.ts, rng.ts, errors.ts, backend/, io/) <- nn/ <- attention/ <- config/ <- train/
 *   <- results/ <- task.ts, bench/, testing.ts, index.ts
 * Tasks (packages/<task>) sit on the core; the CLI on everything. No task imports another task,
 * the core imports no task and not the CLI, and no file anywhere (src or test) imports itself
 * back through others. Type-only imports count: they couple files as much as value imports.
 */
const CORE = '^packages/core/src/';
const TASKS = '(d4rl|imagenet|lra|uea|wikitext)';

/** The core's floors, lowest first; each may import only its own floor and those below. */
const FLOORS = [
  { name: 'ground', path: `${CORE}(tf|rng|errors)\\.ts$|${CORE}(backend|io)/` },
  { name: 'nn', path: `${CORE}nn/` },
  { name: 'attention', path: `${CORE}attention/` },
  { name: 'config', path: `${CORE}config/` },
  { name: 'train', path: `${CORE}train/` },
  { name: 'results', path: `${CORE}results/` },
  { name: 'top', path: `${CORE}(task|testing|index)\\.ts$|${CORE}bench/` },
];

/**
 * Upward imports that remain, each named here so that no new one slips in. Both need the
 * task to be handed in instead of looked up: the task registry (`getTask`) and the Task
 * contract live in task.ts, above config/ and train/, and the trainer writes run records
 * (results/run.ts). They go when the trainer split and task tables (issue 38, points 4
 * and 5) pass the task and the run record in.
 */
const KNOWN_UPWARD = [
  { floor: 'config', from: `${CORE}config/load\\.ts$`, to: `${CORE}task\\.ts$` },
  { floor: 'train', from: `${CORE}train/trainer\\.ts$`, to: `${CORE}task\\.ts$` },
  { floor: 'train', from: `${CORE}train/trainer\\.ts$`, to: `${CORE}results/run\\.ts$` },
];

const above = (i) => FLOORS.slice(i + 1).map((f) => f.path);

const upward = FLOORS.slice(0, -1).map((floor, i) => {
  const exempt = [...new Set(KNOWN_UPWARD.filter((k) => k.floor === floor.name).map((k) => k.from))];
  return {
    name: `core-${floor.name}-imports-down-only`,
    comment: `packages/core: ${floor.name} may import only ${FLOORS.slice(0, i + 1)
      .map((f) => f.name)
      .join(', ')} (docs/architecture.md)`,
    severity: 'error',
    from: exempt.length ? { path: floor.path, pathNot: exempt } : { path: floor.path },
    to: { path: above(i) },
  };
});

// A file with a known upward import may import that one module above its floor, nothing else.
const knownUpward = [...new Set(KNOWN_UPWARD.map((k) => k.from))].map((from) => {
  const i = FLOORS.findIndex((f) => f.name === KNOWN_UPWARD.find((k) => k.from === from).floor);
  return {
    name: `core-known-upward-only`,
    comment: `packages/core: ${from} may import above its floor only what KNOWN_UPWARD names`,
    severity: 'error',
    from: { path: from },
    to: { path: above(i), pathNot: KNOWN_UPWARD.filter((k) => k.from === from).map((k) => k.to) },
  };
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'no file imports itself back through others (src and tests, every package)',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...upward,
    ...knownUpward,
    {
      name: 'core-imports-no-task-nor-cli',
      comment: 'packages/core names no task and does not import the CLI',
      severity: 'error',
      from: { path: '^packages/core/' },
      to: { path: `^packages/(${TASKS.slice(1, -1)}|cli)/` },
    },
    {
      name: 'no-task-imports-another-task',
      comment: 'a task package imports the core only, never another task nor the CLI',
      severity: 'error',
      from: { path: `^packages/${TASKS}/` },
      to: { path: '^packages/', pathNot: ['^packages/$1/', '^packages/core/'] },
    },
  ],
  options: {
    includeOnly: '^packages/[^/]+/(src|test|bin)/',
    exclude: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.json'],
    },
    skipAnalysisNotInRules: true,
  },
};
