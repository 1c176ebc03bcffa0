/**
 * Reading and writing safetensors files (the format of Hugging Face's `safetensors`, which
 * `safetensors.torch.save_file` writes): an 8-byte little-endian header length N, N bytes of
 * JSON header, then the raw little-endian data of every tensor.
 *
 *   header = { "<name>": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] }, ...,
 *              "__metadata__": { "<key>": "<string>" } }
 *
 * Offsets are relative to the end of the header. The only npm package of that name is a
 * 0.0.1 placeholder, so we keep this small reader and writer (tests in io-safetensors.test.ts).
 * Data stays in the dtype of the file: float64 stays a Float64Array (the golden files' outputs
 * and gradients are float64, and comparing them in float32 would hide errors).
 */
import { readFileSync, writeFileSync } from 'node:fs';

export type SafeDtype = 'F64' | 'F32' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** One tensor of a safetensors file, its data in a typed array of the file's dtype. */
export interface SafeTensor {
  dtype: SafeDtype;
  shape: number[];
  /** F64: Float64Array, F32: Float32Array, I64: BigInt64Array, I32: Int32Array, I16: Int16Array, I8: Int8Array, U8 and BOOL: Uint8Array. */
  data: Float64Array | Float32Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;
}

export interface SafetensorsFile {
  tensors: Map<string, SafeTensor>;
  /** The header's `__metadata__` (string values only, as the format requires). */
  metadata: Record<string, string>;
}

const BYTES: Record<SafeDtype, number> = { F64: 8, F32: 4, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

function isDtype(d: unknown): d is SafeDtype {
  return typeof d === 'string' && d in BYTES;
}

/** Parses the bytes of a safetensors file. `source` names the file in error messages. */
export function parseSafetensors(bytes: Uint8Array, source = '<buffer>'): SafetensorsFile {
  const fail = (msg: string): never => {
    throw new Error(`${source}: not a readable safetensors file: ${msg}`);
  };
  if (bytes.length < 8) fail(`${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = view.getBigUint64(0, true);
  if (headerLen > BigInt(bytes.length - 8)) fail(`header length ${headerLen} exceeds the file's ${bytes.length - 8} remaining bytes`);
  const n = Number(headerLen);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    return fail(`the JSON header does not parse (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('the header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafeTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (entry === null || typeof entry !== 'object') fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!isDtype(e.dtype)) fail(`tensor '${name}': dtype ${JSON.stringify(e.dtype)} is not one of ${Object.keys(BYTES).join(', ')}`);
    const dtype = e.dtype as SafeDtype;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor '${name}': shape ${JSON.stringify(e.shape)} is not a list of sizes`);
    const shape = e.shape as number[];
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[0] > off[1] || off[1] > dataLen) {
      fail(`tensor '${name}': data_offsets ${JSON.stringify(off)} do not lie inside the ${dataLen} data bytes`);
    }
    const [begin, end] = off as [number, number];
    const count = shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * BYTES[dtype]) fail(`tensor '${name}': ${end - begin} bytes for ${dtype} [${shape}] (${count * BYTES[dtype]} expected)`);
    // Copy into an aligned buffer: offsets in the file need not be multiples of the element size.
    // (Uint8Array's slice, not Buffer's, which would share memory.)
    const raw = Uint8Array.prototype.slice.call(bytes, dataStart + begin, dataStart + end);
    tensors.set(name, { dtype, shape, data: typedView(dtype, raw.buffer as ArrayBuffer) });
  }
  return { tensors, metadata };
}

/** Little-endian typed view (every platform Node runs on is little-endian; checked once). */
function typedView(dtype: SafeDtype, buf: ArrayBuffer): SafeTensor['data'] {
  switch (dtype) {
    case 'F64':
      return new Float64Array(buf);
    case 'F32':
      return new Float32Array(buf);
    case 'I64':
      return new BigInt64Array(buf);
    case 'I32':
      return new Int32Array(buf);
    case 'I16':
      return new Int16Array(buf);
    case 'I8':
      return new Int8Array(buf);
    case 'U8':
    case 'BOOL':
      return new Uint8Array(buf);
  }
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('safetensors: this platform is big-endian; the reader assumes little-endian typed arrays');
}

export function readSafetensors(file: string): SafetensorsFile {
  return parseSafetensors(readFileSync(file), file);
}

/**
 * Serialises tensors (in the order given, offsets contiguous) and string metadata. The header
 * is padded with spaces to a multiple of 8 bytes, as the Rust implementation does, so that
 * readers can map the data aligned.
 */
export function serializeSafetensors(tensors: Map<string, SafeTensor> | Record<string, SafeTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new Error("safetensors: a tensor cannot be named '__metadata__'");
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== count) throw new Error(`safetensors: tensor '${name}' has ${t.data.length} values for shape [${t.shape}]`);
    const nbytes = count * BYTES[t.dtype];
    if (t.data.byteLength !== nbytes) throw new Error(`safetensors: tensor '${name}': its data array does not hold ${t.dtype} values`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + nbytes] };
    offset += nbytes;
  }
  let json = JSON.stringify(header);
  const pad = (8 - (Buffer.byteLength(json) % 8)) % 8;
  json += ' '.repeat(pad);
  const head = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let pos = 8 + head.length;
  for (const [, t] of entries) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

export function writeSafetensors(file: string, tensors: Map<string, SafeTensor> | Record<string, SafeTensor>, metadata: Record<string, string> = {}): void {
  writeFileSync(file, serializeSafetensors(tensors, metadata));
}

/** A tensor's values as plain numbers (int64 converted exactly when within 2^53). */
export function safeToNumbers(t: SafeTensor, name = 'tensor'): number[] {
  if (t.data instanceof BigInt64Array) {
    return Array.from(t.data, (v) => {
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new Error(`safetensors: ${name} holds ${v}, beyond exact doubles`);
      return Number(v);
    });
  }
  return Array.from(t.data as ArrayLike<number>);
}
