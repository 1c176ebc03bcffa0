/**
 * The dependency rules of the monorepo, checked by `npm test` (`npm run depcruise`).
 * docs/architecture.md explains the layers; this file is what enforces them.
 *
 * Inside packages/core, imports only point down:
 *   ground (tf.ts, rng.ts, errors.ts, backend/, io/) <- nn/ <- attention/ <- config/ <- train/
 *   <- results/ <- task.ts, original.ts, launch/, bench/, testing.ts, index.ts
 * Tasks (packages/<task>) sit on the core; the CLI on everything. No task imports another task,
 * the core imports no task and not the CLI, and no file anywhere (src or test) imports itself
 * back through others. Type-only imports count: they couple files as much as value imports.
 * There are no exemptions: a new upward import is a design question, not a line to add here.
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
  { name: 'top', path: `${CORE}(task|original|testing|index)\\.ts$|${CORE}(bench|launch)/` },
];

const above = (i) => FLOORS.slice(i + 1).map((f) => f.path);

const upward = FLOORS.slice(0, -1).map((floor, i) => ({
  name: `core-${floor.name}-imports-down-only`,
  comment: `packages/core: ${floor.name} may import only ${FLOORS.slice(0, i + 1)
    .map((f) => f.name)
    .join(', ')} (docs/architecture.md)`,
  severity: 'error',
  from: { path: floor.path },
  to: { path: above(i) },
}));

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
