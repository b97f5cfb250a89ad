// MNIST-style IDX files (unsigned-byte data). Bytes in; decompressing .gz is the caller's job.
import { InputFormatError } from '../engine/errors.ts';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** True when the bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Reads an IDX file whose element type is unsigned byte (magic 0x0000 08 nd:
 * 0x00000803 for MNIST images [N, 28, 28], 0x00000801 for labels [N]); dims are
 * big-endian u32. Gzip bytes are refused with a hint to decompress them first.
 */
export function readIdx(bytes: Uint8Array, fileName: string): IdxArray {
  if (isGzip(bytes)) throw new InputFormatError(`${fileName}: gzip-compressed: decompress first`);
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw new InputFormatError(`${fileName}: not an IDX file (bad magic)`);
  const type = bytes[2];
  const nd = bytes[3];
  if (type !== 0x08) throw new InputFormatError(`${fileName}: unsupported IDX element type 0x${type.toString(16).padStart(2, '0')} (only unsigned byte)`);
  if (nd === 0) throw new InputFormatError(`${fileName}: IDX file with no dimensions`);
  const headerLen = 4 + 4 * nd;
  if (bytes.length < headerLen) throw new InputFormatError(`${fileName}: truncated IDX header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < nd; i++) dims.push(dv.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - headerLen < count) {
    throw new InputFormatError(`${fileName}: truncated IDX data: [${dims.join(', ')}] needs ${count} bytes, file has ${bytes.length - headerLen}`);
  }
  return { dims, data: bytes.slice(headerLen, headerLen + count) };
}
