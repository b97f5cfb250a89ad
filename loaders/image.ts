// Image decoding for the Node path: bytes in, RGBA out. The format is told by its
// magic bytes, never by the file name (which is only used in error messages).
// pngjs uses Node's zlib internally; this file is the only loader that depends on
// it (the browser app decodes images with the browser itself).
import pngjs from 'pngjs';
import { InputFormatError, ShapeError } from '../engine/errors.ts';
import { decodeJpeg, detectImageFormat, reason, type RGBAImage } from './image-formats.ts';

const { PNG } = pngjs;

export type { RGBAImage, ImageFormat } from './image-formats.ts';
export { detectImageFormat } from './image-formats.ts';

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
  if (fmt === 'jpeg') return decodeJpeg(bytes, fileName);
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
