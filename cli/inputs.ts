// File I/O for the CLI: reading models (ONNX or Caffe), images and .npy inputs, with the
// preprocessing flags every command shares.
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { Graph, Preprocess } from '../engine/ir.ts';
import { ArgumentError, InputFormatError, ModelFormatError, ShapeError } from '../engine/errors.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { loadCaffe } from '../loaders/caffe.ts';
import { decodeImage, maxPixels, type RGBAImage } from '../loaders/image.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { readNpy } from '../loaders/npy.ts';
import { parseLabels } from '../loaders/labels.ts';
import type { Args } from './args.ts';

/** The largest file read whole: Node reads no more than 2 GiB - 1 bytes at once. */
/** File names read as images in a folder (JFIF is JPEG under another name). */
export const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.jfif']);

/**
 * The files under a folder, its subfolders' included, sorted by name at each level, that `keep`
 * accepts; each with its path relative to the folder (its name in tables and figures).
 */
export function filesUnder(dir: string, keep: (name: string) => boolean, rel = ''): { path: string; name: string }[] {
  return readdirSync(dir)
    .sort()
    .flatMap((f) => {
      const p = join(dir, f), r = rel ? `${rel}/${f}` : f;
      if (statSync(p).isDirectory()) return filesUnder(p, keep, r);
      return keep(f) ? [{ path: p, name: r }] : [];
    });
}

export const MAX_FILE_BYTES = 2 ** 31 - 1;

const sizeText = (n: number) => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${n} bytes`);

/** A file's bytes; ArgumentError naming it when it is missing, a folder, or larger than MAX_FILE_BYTES (`tooLarge` says what to do then). */
export function readBytes(path: string, what: string, tooLarge = ''): Uint8Array {
  if (!existsSync(path)) throw new ArgumentError(`${path}: ${what} not found`);
  const st = statSync(path);
  if (st.isDirectory()) throw new ArgumentError(`${path}: is a directory, expected a ${what}`);
  if (st.size > MAX_FILE_BYTES) throw new InputFormatError(`${path}: the ${what} is ${sizeText(st.size)}, more than the 2 GiB loupe reads in one file${tooLarge ? `; ${tooLarge}` : ''}`);
  const b = readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Loads `--model` (.onnx, or a Caffe .prototxt with `--weights` .caffemodel). A prototxt without
 * its weights is refused, since the model would run on zeros (the same score for every class),
 * unless `architectureOnly` (loupe info: the layer table needs no weights).
 */
export function loadModelFile(model: string, weights?: string, { architectureOnly = false } = {}): Graph {
  const ext = extname(model).toLowerCase();
  if (ext === '.caffemodel') throw new ArgumentError(`${model}: pass the .prototxt as --model and the .caffemodel as --weights`);
  if (ext === '.prototxt' || ext === '.pt' || ext === '.txt') {
    const text = new TextDecoder().decode(readBytes(model, 'prototxt'));
    if (!weights && !architectureOnly)
      throw new ArgumentError(`${model}: the Caffe model's weights are missing: give --weights W.caffemodel (only loupe info reads a prototxt alone)`);
    const w = weights ? readBytes(weights, 'caffemodel') : undefined;
    return loadCaffe(text, w, { prototxtName: basename(model), caffemodelName: weights ? basename(weights) : undefined });
  }
  if (weights) throw new ArgumentError(`--weights is for Caffe models; ${model} is read as ONNX`);
  const bytes = readBytes(model, 'model');
  if (ext !== '.onnx' && bytes.length > 0 && bytes[0] !== 0x08)
    throw new ModelFormatError(`${model}: not an ONNX model (expected .onnx, or a Caffe .prototxt with --weights)`);
  return loadOnnx(bytes, basename(model));
}

export interface InputBatch {
  data: Float32Array;
  batch: number;
  names: string[]; // one per image (file name, or "X.npy[i]")
  images?: RGBAImage[]; // decoded originals, for overlays
}

/** Preprocessing from flags, falling back to what the model file says, and to the model's input size. */
export function preprocessFromArgs(args: Args, g: Graph): Preprocess & { channels: number } {
  const p = g.preprocess ?? {};
  const [, c, h, w] = g.input.shape;
  if (c === undefined || h === undefined || w === undefined) throw new ShapeError(`model input ${g.input.name} is not an image (shape [${g.input.shape.join(', ')}])`);
  let size: [number, number] = [h, w];
  const s = args.get('size');
  if (s !== undefined) {
    const m = /^(\d+)(?:x(\d+))?$/.exec(s);
    if (!m) throw new ArgumentError(`--size must be H or HxW, got "${s}"`);
    size = [Number(m[1]), Number(m[2] ?? m[1])];
  }
  const mean = args.numbers('mean') ?? p.mean;
  if (mean && mean.length !== 1 && mean.length !== c) throw new ArgumentError(`--mean has ${mean.length} values; the model has ${c} input channels`);
  return {
    size,
    mean: mean && mean.length === 1 ? new Array(c).fill(mean[0]) : mean,
    scale: args.num('scale') ?? p.scale,
    bgr: args.flag('bgr') || (p.bgr ?? false),
    grayscale: args.flag('grayscale') || (p.grayscale ?? false) || c === 1,
    channels: c,
  };
}

/** Reads `--image` (repeatable) or `--input X.npy` into one N×C×H×W batch for model `g`. */
export function readInputs(args: Args, g: Graph): InputBatch {
  const imgs = args.all('image');
  const npy = args.get('input');
  if (imgs.length > 0 && npy) throw new ArgumentError('give --image or --input, not both');
  const per = g.input.shape.slice(1).reduce((a, b) => a * b, 1);
  if (npy) {
    const arr = readNpy(readBytes(npy, 'input array', 'split the batch into several .npy files and run each'), basename(npy));
    const want = g.input.shape.slice(1);
    const shape = arr.shape.length === want.length ? [1, ...arr.shape] : arr.shape;
    if (shape.length !== want.length + 1 || shape.slice(1).some((d, i) => d !== want[i]))
      throw new ShapeError(`${npy}: array of shape [${arr.shape.join(', ')}] does not fit the model input [N, ${want.join(', ')}]`);
    const n = shape[0]!;
    if (n === 0) throw new InputFormatError(`${npy}: the array holds no images (shape [${arr.shape.join(', ')}])`);
    return { data: arr.data, batch: n, names: Array.from({ length: n }, (_, i) => (n === 1 ? basename(npy) : `${basename(npy)}[${i}]`)) };
  }
  if (imgs.length === 0) throw new ArgumentError('give an input: --image FILE or --input X.npy');
  const pp = preprocessFromArgs(args, g);
  checkSize(pp, g);
  const data = new Float32Array(per * imgs.length);
  const images: RGBAImage[] = [];
  imgs.forEach((file, i) => {
    const img = decodeImage(readBytes(file, 'image'), basename(file), maxPixels(process.env));
    images.push(img);
    data.set(preprocessImage(img, pp), i * per);
  });
  return { data, batch: imgs.length, names: imgs.map((f) => basename(f)), images };
}

function checkSize(pp: Preprocess, g: Graph): void {
  const [, , h, w] = g.input.shape as number[];
  if (pp.size![0] !== h || pp.size![1] !== w) throw new ShapeError(`--size ${pp.size!.join('x')} does not match the model's input ${h}x${w}`);
}

/** One image file (named `name` in errors) preprocessed for model `g`: a batch of one, and the decoded original. */
export function readImage(path: string, name: string, g: Graph, pp: Preprocess & { channels: number }): { data: Float32Array; images: RGBAImage[] } {
  checkSize(pp, g);
  const img = decodeImage(readBytes(path, 'image'), name, maxPixels(process.env));
  return { data: preprocessImage(img, pp), images: [img] };
}

/** Class names, one per line; Caffe's synset_words.txt lines ("n01440764 tench, Tinca tinca") lose their id. */
export function readLabels(path: string | undefined): string[] | undefined {
  if (!path) return undefined;
  return parseLabels(readBytes(path, 'labels file'), path);
}
