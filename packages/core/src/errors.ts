/**
 * Config errors. A config is checked completely before any work starts, and every problem
 * is reported at once, each as `file:line: key.path: what was expected, what was found`,
 * so that a researcher fixes a broken config in one edit instead of one run per typo.
 * It sits on the ground floor because the attention registry reports bad options with it too.
 */
import path from 'node:path';

export interface ConfigProblem {
  /** Where the offending value was written: a YAML file, or a `--set` override. */
  where: { file: string; line: number } | { set: string } | null;
  /** Dotted key path inside the config (`optimizer.lr`, `training.batchSize`); '' for the root. */
  path: string;
  message: string;
}

/** Shortest readable form of a file name in messages: relative to the working directory when inside it. */
export function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

export function formatProblem(p: ConfigProblem): string {
  const where =
    p.where === null ? '' : 'set' in p.where ? `--set ${p.where.set}: ` : `${displayPath(p.where.file)}:${p.where.line}: `;
  return `${where}${p.path ? `${p.path}: ` : ''}${p.message}`;
}

/** An invalid config. `problems` lists every problem found; the message prints them one per line. */
export class ConfigError extends Error {
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[], configPath?: string) {
    const head = configPath
      ? `invalid config ${displayPath(configPath)} (${problems.length} problem${problems.length === 1 ? '' : 's'}):`
      : `invalid config (${problems.length} problem${problems.length === 1 ? '' : 's'}):`;
    super([head, ...problems.map((p) => '  ' + formatProblem(p))].join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
