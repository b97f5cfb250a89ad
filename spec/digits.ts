// Test digits as PNG files: the first MNIST test images written to a folder, for data-set runs
// (the writer `loupe bench --only scale` uses).
import { join } from 'node:path';
import { writeMnistDigits } from '../cli/bench-scale.ts';

export const MNIST_TEST = join(import.meta.dirname, '..', '..', 'shared', 'data', 'mnist', 't10k-images-idx3-ubyte.gz');

/** Writes MNIST test digits `from` … `from + n - 1` as DIR/digit-NNNN.png (grey in RGBA); returns the file names. */
export function writeDigits(dir: string, n: number, from = 0): string[] {
  return writeMnistDigits(MNIST_TEST, dir, n, from);
}
