// Image decoding for the Node path: bytes in, RGBA out. The format is told by its
// magic bytes, never by the file name (which is only used in error messages).
// pngjs uses Node's zlib internally; this file is the only loader that depends on
// it (the browser app decodes images with the browser itself).
import pngjs from 'pngjs';
import jpeg from 'jpeg-js';
import { InputFormatError, ShapeError } from '../engine/errors.ts';

const { PNG } = pngjs;

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

function reason(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] || 'unknown error';
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
 * Decodes a PNG (any bit depth / colour type; pngjs normalises to 8-bit RGBA) or a
 * baseline/progressive JPEG. Throws InputFormatError naming `fileName` for anything else
 * or for a file the decoder cannot read (truncated, corrupt).
 */
export function decodeImage(bytes: Uint8Array, fileName: string): RGBAImage {
  const fmt = detectImageFormat(bytes);
  if (fmt === 'png') {
    let png: { width: number; height: number; data: Buffer };
    try {
      png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (e) {
      throw new InputFormatError(`${fileName}: cannot decode PNG: ${reason(e)}`);
    }
    if (!(png.width > 0 && png.height > 0) || png.data.length < png.width * png.height * 4) {
      throw new InputFormatError(`${fileName}: cannot decode PNG: image data incomplete`);
    }
    return { width: png.width, height: png.height, data: new Uint8Array(png.data.subarray(0, png.width * png.height * 4)) };
  }
  if (fmt === 'jpeg') {
    let img: { width: number; height: number; data: Uint8Array };
    try {
      img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
    } catch (e) {
      throw new InputFormatError(`${fileName}: cannot decode JPEG: ${reason(e)}`);
    }
    if (!jpegHasEoi(bytes)) throw new InputFormatError(`${fileName}: cannot decode JPEG: truncated (no end-of-image marker)`);
    if (!(img.width > 0 && img.height > 0) || img.data.length < img.width * img.height * 4) {
      throw new InputFormatError(`${fileName}: cannot decode JPEG: image data incomplete`);
    }
    return { width: img.width, height: img.height, data: img.data };
  }
  throw new InputFormatError(`${fileName}: not a PNG or JPEG image`);
}

/** Encodes 8-bit RGBA as a PNG (colour type 6, 8-bit). */
export function encodePng(img: RGBAImage): Uint8Array {
  const { width, height, data } = img;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) || data.length !== width * height * 4) {
    throw new ShapeError(`encodePng: ${width}x${height} RGBA needs ${width * height * 4} bytes, got ${data.length}`);
  }
  const png = new PNG({ width, height });
  png.data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const out = PNG.sync.write(png);
  return new Uint8Array(out);
}
