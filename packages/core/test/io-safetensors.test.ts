/**
 * The safetensors reader and writer: a file built byte by byte as the format specifies, the
 * vendored golden files written by Python's `safetensors`, a round trip of every dtype, and
 * errors that name the file and the tensor.
 */
import { describe, expect, it } from 'vitest';
import { goldenPath } from '../src/testing.ts';
import { parseSafetensors, readSafetensors, serializeSafetensors, safeToNumbers, type SafeTensor } from '../src/io/safetensors.ts';
import { permute } from '../src/original.ts';

/** A file as the format describes it: u64 LE header length, JSON header, raw LE data. */
function handMade(header: object, data: number[]): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors', () => {
  it('reads a hand-made file: F32 little-endian, I64, BOOL, metadata, unaligned offsets', () => {
    // 1.0f = 00 00 80 3f, -2.0f = 00 00 00 c0; int64 -3 = fd ff ff ff ff ff ff ff
    const bytes = handMade(
      {
        __metadata__: { note: 'hi' },
        flag: { dtype: 'BOOL', shape: [1], data_offsets: [0, 1] },
        a: { dtype: 'F32', shape: [2], data_offsets: [1, 9] },
        n: { dtype: 'I64', shape: [], data_offsets: [9, 17] },
      },
      [1, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    );
    const f = parseSafetensors(bytes, 'hand.safetensors');
    expect(f.metadata).toEqual({ note: 'hi' });
    expect(Array.from(f.tensors.get('a')!.data as Float32Array)).toEqual([1, -2]);
    expect(f.tensors.get('a')!.shape).toEqual([2]);
    expect(safeToNumbers(f.tensors.get('n')!)).toEqual([-3]);
    expect(f.tensors.get('n')!.shape).toEqual([]);
    expect(Array.from(f.tensors.get('flag')!.data as Uint8Array)).toEqual([1]);
  });

  it('reads the golden files written by Python safetensors (F32, F64, I64, U8 and the case metadata)', () => {
    const f = readSafetensors(goldenPath('models/uea/learnable.safetensors'));
    expect(f.tensors.get('param.project_inp.weight')!.shape).toEqual([32, 3]);
    expect(f.tensors.get('loss')!.dtype).toBe('F64');
    expect(f.tensors.get('loss')!.shape).toEqual([]);
    expect(f.tensors.get('target.labels')!.dtype).toBe('I64');
    const mask = f.tensors.get('input.padding_masks')!;
    expect(mask.dtype).toBe('U8');
    // README: real lengths [24, 19, 24, 13]
    const m = mask.data as Uint8Array;
    const lengths = [0, 1, 2, 3].map((b) => m.subarray(b * 24, b * 24 + 24).reduce((s, v) => s + v, 0));
    expect(lengths).toEqual([24, 19, 24, 13]);
    expect(JSON.parse(f.metadata.case!).cls).toBe('FlowformerClassiregressor');
  });

  it('round-trips every dtype and pads the header to 8 bytes', () => {
    const tensors: Record<string, SafeTensor> = {
      f64: { dtype: 'F64', shape: [2, 2], data: new Float64Array([1e-300, -0.5, Math.PI, 7]) },
      f32: { dtype: 'F32', shape: [3], data: new Float32Array([0.1, 2, -3]) },
      i64: { dtype: 'I64', shape: [2], data: new BigInt64Array([-1n, 9007199254740991n]) },
      i32: { dtype: 'I32', shape: [1], data: new Int32Array([-7]) },
      u8: { dtype: 'U8', shape: [2], data: new Uint8Array([0, 255]) },
      b: { dtype: 'BOOL', shape: [2, 1], data: new Uint8Array([1, 0]) },
    };
    const bytes = serializeSafetensors(tensors, { case: '{"x":1}' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const back = parseSafetensors(bytes);
    expect(back.metadata).toEqual({ case: '{"x":1}' });
    for (const [k, t] of Object.entries(tensors)) {
      const r = back.tensors.get(k)!;
      expect(r.dtype).toBe(t.dtype);
      expect(r.shape).toEqual(t.shape);
      expect(Array.from(r.data as ArrayLike<unknown>)).toEqual(Array.from(t.data as ArrayLike<unknown>));
    }
  });

  it('names the file and the tensor in errors', () => {
    expect(() => parseSafetensors(new Uint8Array(3), 'short.st')).toThrow(/short\.st.*shorter than the 8-byte/);
    const big = new Uint8Array(16);
    new DataView(big.buffer).setBigUint64(0, 1000n, true);
    expect(() => parseSafetensors(big, 'x.st')).toThrow(/x\.st.*header length 1000/);
    const wrong = handMade({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Array(8).fill(0));
    expect(() => parseSafetensors(wrong, 'w.st')).toThrow(/w\.st.*tensor 'w': 8 bytes for F32 \[3\]/);
    const dtype = handMade({ h: { dtype: 'F16', shape: [1], data_offsets: [0, 2] } }, [0, 0]);
    expect(() => parseSafetensors(dtype, 'h.st')).toThrow(/tensor 'h': dtype "F16"/);
  });

  it('permute moves axes as a row-major transpose', () => {
    // [2, 3] -> [3, 2]
    const r = permute(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3], [1, 0]);
    expect(r.shape).toEqual([3, 2]);
    expect(Array.from(r.data)).toEqual([1, 4, 2, 5, 3, 6]);
    // [out=1, in=2, kh=1, kw=2] -> [kh, kw, in, out]
    const c = permute(new Float32Array([1, 2, 3, 4]), [1, 2, 1, 2], [2, 3, 1, 0]);
    expect(c.shape).toEqual([1, 2, 2, 1]);
    expect(Array.from(c.data)).toEqual([1, 3, 2, 4]);
  });
});
