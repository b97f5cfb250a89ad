// Image formats without Node: sniffing PNG/JPEG by magic bytes, and JPEG decoding (jpeg-js, pure
// JS), so the CLI and the browser app turn the same JPEG into the same pixels. PNG decoding needs
// zlib: loaders/image.ts (pngjs) in Node, the browser's own decoder in the page (lossless either way).
import jpeg from 'jpeg-js';
import { InputFormatError } from '../engine/errors.ts';

/** 8-bit RGBA, row-major, `data.length === width * height * 4`. */
export interface RGBAImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export type ImageFormat = 'png' | 'jpeg';

/** Sniffs the image format from the first bytes; null when it is neither PNG nor JPEG. */
export function detectImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47 &&
    bytes[4] === 0x0d && bytes[5] === 0x0a && bytes[6] === 0x1a && bytes[7] === 0x0a) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

export function reason(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] || 'unknown error';
}

/**
 * The most pixels an image may have before it is decoded: 8192 × 8192. A PNG or JPEG header may
 * claim any size (a 68-byte PNG can claim 32000 × 32000, 4 GB of RGBA), so the size is read from
 * the header and checked before any decoding. The CLI takes another limit from LOUPE_MAX_PIXELS.
 */
export const DEFAULT_MAX_PIXELS = 8192 * 8192;

/** Width and height from a JPEG's frame header (SOFn), walking the segments before the first scan; null when none is found. */
export function jpegSize(bytes: Uint8Array): { width: number; height: number } | null {
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) return null;
    const m = bytes[i + 1]!;
    if (m === 0xff) { i++; continue; } // fill byte
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) { i += 2; continue; } // markers without a length
    if (m === 0xd9 || m === 0xda) return null; // end of image, or a scan before any frame header
    const len = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (i + 9 > bytes.length) return null;
      return { height: (bytes[i + 5]! << 8) | bytes[i + 6]!, width: (bytes[i + 7]! << 8) | bytes[i + 8]! };
    }
    i += 2 + len;
  }
  return null;
}

const u32 = (b: Uint8Array, i: number) => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;

/**
 * A PNG's size from its IHDR chunk, after walking its chunks: InputFormatError naming `fileName`
 * when the header is missing or the file is cut short (a chunk, or the IEND chunk, missing), so the
 * decoder's own messages about streams are never what a user reads.
 */
export function pngSize(bytes: Uint8Array, fileName: string): { width: number; height: number } {
  const bad = (why: string) => new InputFormatError(`${fileName}: cannot decode PNG: ${why}`);
  if (bytes.length < 33) throw bad('the file is cut short');
  if (String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR' || u32(bytes, 8) !== 13) throw bad('no image header (IHDR) at the start');
  const width = u32(bytes, 16), height = u32(bytes, 20);
  if (width === 0 || height === 0 || width > 2 ** 31 - 1 || height > 2 ** 31 - 1) throw bad(`invalid size ${width}×${height} in its header`);
  return { width, height };
}

/** Walks a PNG's chunks: InputFormatError when the file ends before its IEND chunk. */
function pngComplete(bytes: Uint8Array, fileName: string): void {
  let i = 8;
  while (true) {
    if (i + 12 > bytes.length) break;
    const len = u32(bytes, i);
    const type = String.fromCharCode(...bytes.subarray(i + 4, i + 8));
    if (i + 12 + len > bytes.length) break;
    if (type === 'IEND') return;
    i += 12 + len;
  }
  throw new InputFormatError(`${fileName}: cannot decode PNG: the file is cut short`);
}

/**
 * Refuses an image whose header claims more than `maxPixels` pixels, before anything is decoded
 * (`hint` says how to raise the limit where there is a way), and a PNG cut short.
 */
export function checkImageSize(bytes: Uint8Array, fileName: string, maxPixels = DEFAULT_MAX_PIXELS, hint = ''): void {
  const fmt = detectImageFormat(bytes);
  const size = fmt === 'png' ? pngSize(bytes, fileName) : fmt === 'jpeg' ? jpegSize(bytes) : null;
  if (size && size.width * size.height > maxPixels) {
    const n = (v: number) => v.toLocaleString('en-US');
    throw new InputFormatError(
      `${fileName}: the ${fmt === 'png' ? 'PNG' : 'JPEG'} is ${size.width}×${size.height} = ${n(size.width * size.height)} pixels, more than the ${n(maxPixels)} loupe decodes${hint ? ` (${hint})` : ''}`,
    );
  }
  if (fmt === 'png') pngComplete(bytes, fileName);
}

/**
 * jpeg-js can silently return a partly grey image for a file cut short inside its last
 * scan, so a JPEG must also hold an EOI marker (0xFFD9). Trailing bytes after EOI are
 * common, hence the backward search rather than a look at the last two bytes.
 */
function jpegHasEoi(bytes: Uint8Array): boolean {
  for (let i = bytes.length - 2; i >= 2; i--) if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
  return false;
}

/**
 * Decodes a baseline or progressive JPEG of at most `maxPixels` pixels (checked in its header
 * first); InputFormatError naming `fileName` when it cannot.
 */
export function decodeJpeg(bytes: Uint8Array, fileName: string, maxPixels = DEFAULT_MAX_PIXELS, hint = ''): RGBAImage {
  checkImageSize(bytes, fileName, maxPixels, hint);
  let img: { width: number; height: number; data: Uint8Array };
  try {
    // jpeg-js checks the same limit again for a frame whose height is known only later (DNL)
    const mp = maxPixels / 1e6;
    img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: mp, maxMemoryUsageInMB: Math.max(1024, Math.ceil(mp * 16)) });
  } catch (e) {
    throw new InputFormatError(`${fileName}: cannot decode JPEG: ${reason(e)}`);
  }
  if (!jpegHasEoi(bytes)) throw new InputFormatError(`${fileName}: cannot decode JPEG: truncated (no end-of-image marker)`);
  if (!(img.width > 0 && img.height > 0) || img.data.length < img.width * img.height * 4) {
    throw new InputFormatError(`${fileName}: cannot decode JPEG: image data incomplete`);
  }
  return { width: img.width, height: img.height, data: img.data };
}
