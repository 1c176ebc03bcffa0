/**
 * TensorBoard event files for a run, in `<run>/tb/`, so that a run's curves open in TensorBoard
 * on every backend (nothing here needs TensorFlow).
 *
 * The format is TensorFlow's: a file of TFRecords,
 *
 *   uint64 length | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
 *
 * each `data` an `Event` protobuf. The first event says `file_version: "brain.Event:2"`; the
 * others carry a `Summary` at a step: a scalar (`simple_value`), the resolved config as text
 * (the text plugin), or the run's settings for the HParams plugin (`session_start_info`).
 *
 * metrics.jsonl stays the run's record and the event file is derived from it, line by line. A
 * resumed run truncates metrics.jsonl to its checkpoint; the event file is then written anew from
 * the kept lines, so the curves continue without duplicate steps (TensorBoard would otherwise
 * show both the lost and the redone updates after the checkpoint).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import protobuf from 'protobufjs';

// crc-32 ships CRC-32C as a CommonJS file of its own, without an ESM entry.
const crc32c = createRequire(import.meta.url)('crc-32/crc32c') as { buf(data: Uint8Array, seed?: number): number };

/**
 * The subset of TensorFlow's and TensorBoard's protobuf messages that the event files use, with
 * their field numbers (event.proto, summary.proto, tensor.proto, tensor_shape.proto, the hparams
 * plugin's plugin_data.proto, google/protobuf/struct.proto's Value). Fields we never write are left out.
 */
const PROTO = `
syntax = "proto3";
package tb;
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what { string file_version = 3; Summary summary = 5; }
}
message Summary {
  message Value {
    string tag = 1;
    float simple_value = 2;
    TensorProto tensor = 8;
    SummaryMetadata metadata = 9;
  }
  repeated Value value = 1;
}
message SummaryMetadata {
  message PluginData { string plugin_name = 1; bytes content = 2; }
  PluginData plugin_data = 1;
  string display_name = 2;
  string summary_description = 3;
}
message TensorShapeProto {
  message Dim { int64 size = 1; }
  repeated Dim dim = 2;
}
message TensorProto {
  int32 dtype = 1;
  TensorShapeProto tensor_shape = 2;
  repeated float float_val = 5;
  repeated bytes string_val = 8;
}
message Value {
  oneof kind { double number_value = 2; string string_value = 3; bool bool_value = 4; }
}
message SessionStartInfo {
  map<string, Value> hparams = 1;
  string group_name = 4;
  double start_time_secs = 5;
}
message HParamsPluginData {
  int32 version = 1;
  oneof data { SessionStartInfo session_start_info = 3; }
}
`;
const root = protobuf.parse(PROTO).root;
const EventMsg = root.lookupType('tb.Event');
const HParamsMsg = root.lookupType('tb.HParamsPluginData');

/** TensorFlow's DataType enum values that we write. */
const DT_FLOAT = 1;
const DT_STRING = 7;

/** TFRecord's masked CRC-32C: rotate right by 15 and add a constant, so a CRC of CRCs is not trivial. */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c.buf(data) >>> 0;
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord around `data`. */
export function tfRecord(data: Uint8Array): Buffer {
  const header = Buffer.alloc(12);
  header.writeBigUInt64LE(BigInt(data.length), 0);
  header.writeUInt32LE(maskedCrc32c(header.subarray(0, 8)), 8);
  const footer = Buffer.alloc(4);
  footer.writeUInt32LE(maskedCrc32c(data), 0);
  return Buffer.concat([header, data, footer]);
}

/** The settings TensorBoard's HParams plugin compares runs by: flat keys, scalar values. */
export type HParams = Record<string, number | string | boolean>;

/** A metrics.jsonl line as the writer reads it (see run-record.ts). */
export interface ScalarLine {
  type: string;
  step: number;
  split?: unknown;
  [key: string]: unknown;
}

/** Fields of a metrics line that are not curves: the x axis, and bookkeeping. */
const NOT_SCALARS = new Set(['type', 'step', 'epoch', 'split', 'time', 'checkpoint']);

/**
 * The scalars of one metrics line, by TensorBoard tag: `train/<field>` for training lines (loss,
 * lr, gradNorm, examplesPerSec ...), `<split>/<field>` for evaluations (`valid/accuracy`),
 * `test/<field>` for the test of the best checkpoint and `final/<field>` for a task's final
 * protocol on the last model (D4RL's 100 episodes).
 */
export function scalarsOf(line: ScalarLine): [tag: string, value: number][] {
  const group = line.type === 'eval' ? String(line.split) : line.type; // train, test, final (a task's final protocol)
  return Object.entries(line)
    .filter(([k, v]) => !NOT_SCALARS.has(k) && typeof v === 'number' && Number.isFinite(v))
    .map(([k, v]) => [`${group}/${k}`, v as number]);
}

/** Config leaves as HParams: `model.layers: 2` becomes `model.layers = 2`; arrays become JSON strings. */
export function flattenHParams(config: unknown, prefix = ''): HParams {
  const out: HParams = {};
  if (config === null || config === undefined) return out;
  if (typeof config !== 'object' || Array.isArray(config)) {
    if (typeof config === 'number' || typeof config === 'string' || typeof config === 'boolean') out[prefix] = config;
    else out[prefix] = JSON.stringify(config);
    return out;
  }
  for (const [k, v] of Object.entries(config as Record<string, unknown>)) Object.assign(out, flattenHParams(v, prefix ? `${prefix}.${k}` : k));
  return out;
}

export interface TensorBoardRunArgs {
  /** The run folder; events go to `<runDir>/tb/`. */
  runDir: string;
  /** The resolved config as YAML, shown by the text plugin under the tag `config`. */
  configYaml: string;
  /** The run's settings for the HParams plugin (flattenHParams of the resolved config). */
  hparams: HParams;
}

/**
 * Writes one run's event file. `rewrite(lines)` starts the file anew from metrics.jsonl's lines
 * (at the start of a run, and after a resume has truncated them); `append(line)` adds one line as
 * the run logs it.
 */
export class TensorBoardWriter {
  readonly dir: string;
  private file = '';

  constructor(private readonly args: TensorBoardRunArgs) {
    this.dir = path.join(args.runDir, 'tb');
  }

  rewrite(lines: ScalarLine[]): void {
    fs.mkdirSync(this.dir, { recursive: true });
    for (const f of fs.readdirSync(this.dir)) if (f.includes('tfevents')) fs.rmSync(path.join(this.dir, f));
    this.file = path.join(this.dir, `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${os.hostname()}.${process.pid}`);
    const now = Date.now() / 1000;
    const records = [
      this.event({ wallTime: now, step: 0, fileVersion: 'brain.Event:2' }),
      this.event({ wallTime: now, step: 0, summary: { value: [this.textValue('config', indentAsCode(this.args.configYaml))] } }),
      this.event({ wallTime: now, step: 0, summary: { value: [this.hparamsValue(now)] } }),
      ...lines.flatMap((l) => this.scalarEvents(l, now)),
    ];
    fs.writeFileSync(this.file, Buffer.concat(records));
  }

  append(line: ScalarLine): void {
    if (!this.file) throw new Error('TensorBoardWriter.append before rewrite: the event file is not started');
    const records = this.scalarEvents(line, Date.now() / 1000);
    if (records.length) fs.appendFileSync(this.file, Buffer.concat(records));
  }

  private scalarEvents(line: ScalarLine, wallTime: number): Buffer[] {
    const scalars = scalarsOf(line);
    if (!scalars.length) return [];
    return [this.event({ wallTime, step: line.step, summary: { value: scalars.map(([tag, simpleValue]) => ({ tag, simpleValue })) } })];
  }

  private event(e: Record<string, unknown>): Buffer {
    return tfRecord(EventMsg.encode(EventMsg.fromObject(e)).finish());
  }

  /** A string tensor tagged for the text plugin (which renders markdown). */
  private textValue(tag: string, text: string): Record<string, unknown> {
    return {
      tag,
      metadata: { pluginData: { pluginName: 'text' } },
      tensor: { dtype: DT_STRING, tensorShape: { dim: [] }, stringVal: [Buffer.from(text, 'utf8')] },
    };
  }

  /** The HParams plugin's session start: the run's settings, read from the summary's metadata. */
  private hparamsValue(startTime: number): Record<string, unknown> {
    const hparams = Object.fromEntries(
      Object.entries(this.args.hparams).map(([k, v]) => [k, typeof v === 'number' ? { numberValue: v } : typeof v === 'boolean' ? { boolValue: v } : { stringValue: v }]),
    );
    const content = HParamsMsg.encode(HParamsMsg.fromObject({ version: 0, sessionStartInfo: { hparams, startTimeSecs: startTime } })).finish();
    return {
      tag: '_hparams_/session_start_info',
      metadata: { pluginData: { pluginName: 'hparams', content } },
      // The plugin keeps its data in the metadata; the tensor is a placeholder scalar, as TensorBoard's own writer does.
      tensor: { dtype: DT_FLOAT, tensorShape: { dim: [] }, floatVal: [0] },
    };
  }
}

/** The text plugin renders markdown: a YAML file indented by four spaces shows as code, line for line. */
function indentAsCode(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
