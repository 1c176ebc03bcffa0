/**
 * One error type for every reader of this package, so that a bad file always says where
 * (file, 1-based line when there is one) and why, and what to do about it.
 */
export class DataFormatError extends Error {
  readonly file: string;
  readonly line: number | undefined;
  readonly reason: string;

  constructor(file: string, line: number | undefined, reason: string) {
    super(`${file}${line !== undefined ? `:${line}` : ''}: ${reason}`);
    this.name = 'DataFormatError';
    this.file = file;
    this.line = line;
    this.reason = reason;
  }
}

/** A missing input: names the path and says how to obtain the data. */
export class MissingDataError extends Error {
  constructor(what: string, path: string, howToGet: string) {
    super(`${what} not found at ${path}. ${howToGet}`);
    this.name = 'MissingDataError';
  }
}
