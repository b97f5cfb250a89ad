// NumPy .npy files (format versions 1.0, 2.0, 3.0). Bytes in, float32 out; no Node modules.
import { InputFormatError, ShapeError } from '../engine/errors.ts';

export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

interface Dtype {
  littleEndian: boolean;
  kind: 'f' | 'i' | 'u' | 'b';
  size: number;
}

function parseDtype(descr: string, fileName: string): Dtype {
  const m = /^([<>|=]?)([fiub])(\d+)$/.exec(descr);
  const bad = () => new InputFormatError(`${fileName}: unsupported npy dtype '${descr}'`);
  if (!m) throw bad();
  const kind = m[2] as Dtype['kind'];
  const size = Number(m[3]);
  const ok = kind === 'f' ? size === 4 || size === 8 : kind === 'b' ? size === 1 : [1, 2, 4, 8].includes(size);
  if (!ok) throw bad();
  return { littleEndian: m[1] !== '>', kind, size };
}

/** Reads an .npy file, converting any supported dtype to float32. */
export function readNpy(bytes: Uint8Array, fileName: string): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new InputFormatError(`${fileName}: not an npy file (bad magic)`);
  }
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new InputFormatError(`${fileName}: truncated npy header`);
    headerLen = dv.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new InputFormatError(`${fileName}: unsupported npy format version ${major}.${bytes[7]}`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) throw new InputFormatError(`${fileName}: truncated npy header`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart));

  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new InputFormatError(`${fileName}: malformed npy header ${JSON.stringify(header.trim())}`);
  }
  if (fortran === 'True') throw new InputFormatError(`${fileName}: npy arrays in Fortran order are not supported`);
  const dims = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const shape = dims.map((s) => {
    const v = Number(s.replace(/L$/, ''));
    if (!Number.isInteger(v) || v < 0) throw new InputFormatError(`${fileName}: bad npy shape (${shapeText})`);
    return v;
  });
  const dt = parseDtype(descr, fileName);
  const count = shape.reduce((a, b) => a * b, 1);
  const need = count * dt.size;
  if (bytes.length - dataStart < need) {
    throw new InputFormatError(`${fileName}: truncated npy data: shape (${shape.join(', ')}) of ${descr} needs ${need} bytes, file has ${bytes.length - dataStart}`);
  }

  const out = new Float32Array(count);
  const le = dt.littleEndian;
  const o = dataStart;
  const s = dt.size;
  if (dt.kind === 'f' && s === 4) {
    if (le && (bytes.byteOffset + o) % 4 === 0) out.set(new Float32Array(bytes.buffer, bytes.byteOffset + o, count));
    else for (let i = 0; i < count; i++) out[i] = dv.getFloat32(o + 4 * i, le);
  } else if (dt.kind === 'f') {
    for (let i = 0; i < count; i++) out[i] = dv.getFloat64(o + 8 * i, le);
  } else if (dt.kind === 'u' || dt.kind === 'b') {
    if (s === 1) for (let i = 0; i < count; i++) out[i] = bytes[o + i];
    else if (s === 2) for (let i = 0; i < count; i++) out[i] = dv.getUint16(o + 2 * i, le);
    else if (s === 4) for (let i = 0; i < count; i++) out[i] = dv.getUint32(o + 4 * i, le);
    else for (let i = 0; i < count; i++) out[i] = Number(dv.getBigUint64(o + 8 * i, le));
  } else {
    if (s === 1) for (let i = 0; i < count; i++) out[i] = dv.getInt8(o + i);
    else if (s === 2) for (let i = 0; i < count; i++) out[i] = dv.getInt16(o + 2 * i, le);
    else if (s === 4) for (let i = 0; i < count; i++) out[i] = dv.getInt32(o + 4 * i, le);
    else for (let i = 0; i < count; i++) out[i] = Number(dv.getBigInt64(o + 8 * i, le));
  }
  return { shape, data: out };
}

/**
 * Writes an .npy file (format 1.0, C order): Float32Array → '<f4', Int32Array → '<i4',
 * Uint8Array → '|u1'. The header is space-padded so the data starts on a 64-byte boundary.
 */
export function writeNpy(shape: number[], data: Float32Array | Int32Array | Uint8Array): Uint8Array {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new ShapeError(`writeNpy: bad shape [${shape.join(', ')}]`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new ShapeError(`writeNpy: shape [${shape.join(', ')}] holds ${count} values, got ${data.length}`);
  const descr = data instanceof Float32Array ? '<f4' : data instanceof Int32Array ? '<i4' : '|u1';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + header.length + 1; // magic + version + u16 length + header + '\n'
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  if (header.length > 0xffff) throw new ShapeError(`writeNpy: shape too long for an npy 1.0 header`);
  const dataStart = 10 + header.length;
  const out = new Uint8Array(dataStart + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const dv = new DataView(out.buffer, dataStart);
  if (data instanceof Float32Array) for (let i = 0; i < data.length; i++) dv.setFloat32(4 * i, data[i], true);
  else if (data instanceof Int32Array) for (let i = 0; i < data.length; i++) dv.setInt32(4 * i, data[i], true);
  else out.set(data, dataStart);
  return out;
}
