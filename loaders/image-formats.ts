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
 * jpeg-js can silently return a partly grey image for a file cut short inside its last
 * scan, so a JPEG must also hold an EOI marker (0xFFD9). Trailing bytes after EOI are
 * common, hence the backward search rather than a look at the last two bytes.
 */
function jpegHasEoi(bytes: Uint8Array): boolean {
  for (let i = bytes.length - 2; i >= 2; i--) if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
  return false;
}

/** Decodes a baseline or progressive JPEG; InputFormatError naming `fileName` when it cannot. */
export function decodeJpeg(bytes: Uint8Array, fileName: string): RGBAImage {
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
