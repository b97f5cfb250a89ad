// Image decoding for the Node path: bytes in, RGBA out. The format is told by its
// magic bytes, never by the file name (which is only used in error messages).
// pngjs uses Node's zlib internally; this file is the only loader that depends on
// it (the browser app decodes images with the browser itself).
import pngjs from 'pngjs';
import { ArgumentError, InputFormatError, ShapeError } from '../engine/errors.ts';
import { checkImageSize, decodeJpeg, DEFAULT_MAX_PIXELS, detectImageFormat, reason, type RGBAImage } from './image-formats.ts';

const { PNG } = pngjs;

export type { RGBAImage, ImageFormat } from './image-formats.ts';
export { detectImageFormat } from './image-formats.ts';

export { DEFAULT_MAX_PIXELS } from './image-formats.ts';

/** A pixel limit from an environment (the CLI passes its environment): LOUPE_MAX_PIXELS when set (a positive integer), else DEFAULT_MAX_PIXELS. */
export function maxPixels(env: Record<string, string | undefined>): number {
  const v = env.LOUPE_MAX_PIXELS;
  if (v === undefined || v.trim() === '') return DEFAULT_MAX_PIXELS;
  const n = Number(v.trim().replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 1) throw new ArgumentError(`LOUPE_MAX_PIXELS must be a positive whole number of pixels, got "${v}"`);
  return n;
}

/** pngjs's messages for a damaged file, said as what is wrong with the file. */
function pngReason(e: unknown): string {
  const r = reason(e);
  if (/read requests waitng on finished stream|unexpected end/i.test(r)) return 'the file is cut short';
  if (/unrecognised content at end of stream/i.test(r)) return 'the compressed pixel data is damaged';
  if (/^crc error/i.test(r)) return 'a chunk fails its checksum: the file is damaged';
  if ((e as { code?: string })?.code?.startsWith('Z_') || /invalid (distance|block|code|stored)|incorrect header check|too many length/i.test(r))
    return `the compressed pixel data is damaged (${r})`;
  return r;
}

/**
 * Decodes a PNG (any bit depth / colour type; pngjs normalises to 8-bit RGBA) or a
 * baseline/progressive JPEG of at most `limit` pixels (read from the header before decoding).
 * Throws InputFormatError naming `fileName` for anything else, for a larger image, or for a file
 * the decoder cannot read (truncated, corrupt).
 */
export function decodeImage(bytes: Uint8Array, fileName: string, limit = DEFAULT_MAX_PIXELS): RGBAImage {
  const fmt = detectImageFormat(bytes);
  const hint = 'LOUPE_MAX_PIXELS raises the limit';
  if (fmt === 'png') {
    checkImageSize(bytes, fileName, limit, hint);
    let png: { width: number; height: number; data: Buffer };
    try {
      png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (e) {
      throw new InputFormatError(`${fileName}: cannot decode PNG: ${pngReason(e)}`);
    }
    if (!(png.width > 0 && png.height > 0) || png.data.length < png.width * png.height * 4) {
      throw new InputFormatError(`${fileName}: cannot decode PNG: image data incomplete`);
    }
    return { width: png.width, height: png.height, data: new Uint8Array(png.data.subarray(0, png.width * png.height * 4)) };
  }
  if (fmt === 'jpeg') return decodeJpeg(bytes, fileName, limit, hint);
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
