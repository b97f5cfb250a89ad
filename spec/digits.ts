// Test digits as PNG files: the first MNIST test images written to a folder, for data-set runs.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readIdx } from '../loaders/idx.ts';
import { encodePng } from '../loaders/image.ts';

export const MNIST_TEST = join(import.meta.dirname, '..', '..', 'shared', 'data', 'mnist', 't10k-images-idx3-ubyte.gz');

/** Writes MNIST test digits `from` … `from + n - 1` as DIR/digit-NNNN.png (grey in RGBA); returns the file names. */
export function writeDigits(dir: string, n: number, from = 0): string[] {
  const idx = readIdx(new Uint8Array(gunzipSync(readFileSync(MNIST_TEST))), 't10k-images-idx3-ubyte');
  mkdirSync(dir, { recursive: true });
  const names: string[] = [];
  for (let i = from; i < from + n; i++) {
    const data = new Uint8Array(28 * 28 * 4);
    for (let p = 0; p < 28 * 28; p++) {
      const v = idx.data[i * 784 + p]!;
      data.set([v, v, v, 255], 4 * p);
    }
    const name = `digit-${String(i).padStart(4, '0')}.png`;
    writeFileSync(join(dir, name), encodePng({ width: 28, height: 28, data }));
    names.push(name);
  }
  return names;
}
