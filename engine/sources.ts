// Batches of input images made on the GPU, never uploaded: the explainers ask for them by what they
// are (coordinate images, occluded copies of an image, PDA's perturbed windows in
// engine/pda-sampler.ts) and hand them to a model run (`Model.runFrom`, `Model.runFrozen`,
// `RegionForward.run`); the kernels and buffers behind them stay in the engine.

import type { Dispatch, Engine } from './gpu.ts';
import type { Model } from './runner.ts';
import { numel } from './shapes.ts';
import { ArgumentError } from './errors.ts';
import * as K from '../kernels/index.ts';

/** A batch of images written on the device, for a whole-image plan and/or a region plan. */
export interface BatchSource {
  /** the dispatches that write the batch's images into a plan's input (N×C×H×W) */
  images?(input: GPUBuffer): Dispatch[];
  /** region mode: the dispatches that write the batch's rectangles into a region plan's input from float `base` */
  rectangles?(input: GPUBuffer, base: number): Dispatch[];
}

/**
 * Coordinate images e_first … e_{first+n−1} of the model's input space (one 1 at flat index i, zeros
 * elsewhere); an index at or past the input's size gives the zero image (etalons: Molchanov et al.'s
 * Algorithm 1 pushes these through the frozen net).
 */
export function coordinateImages(model: Model, first: number, n: number): BatchSource {
  const per = numel(model.graph.input.shape.slice(1));
  if (!Number.isInteger(first) || first < 0 || !Number.isInteger(n) || n < 1) throw new ArgumentError(`coordinate images: first ${first}, count ${n}`);
  return {
    images: (y) => [model.engine.makeDispatch(K.coordinates, { uniforms: { total: n * per, per, first }, bindings: { y }, threads: n * per, label: first >= per ? 'zero images' : 'coordinate images' })],
  };
}

/**
 * Occluded copies of one image (Zeiler & Fergus): a size×size patch of a per-channel value slid with
 * `stride`; copy j of a batch starting at position `first` covers position first + j (row-major over
 * the patch grid). `setImage` writes the clean image and the patch value once per image.
 */
export class OcclusionImages {
  readonly cols: number;
  readonly rows: number;
  private x: GPUBuffer;
  private value: GPUBuffer;
  private readonly engine: Engine;
  private readonly c: number;
  private readonly h: number;
  private readonly w: number;

  constructor(model: Model, readonly size: number, readonly stride: number) {
    const [, c, h, w] = model.graph.input.shape as [number, number, number, number];
    this.engine = model.engine;
    this.c = c;
    this.h = h;
    this.w = w;
    this.rows = Math.floor((h - size) / stride) + 1;
    this.cols = Math.floor((w - size) / stride) + 1;
    this.x = this.engine.createBuffer(c * h * w * 4, 'occlusion:clean');
    this.value = this.engine.createBuffer(c * 4, 'occlusion:value');
  }

  setImage(x: Float32Array, value: Float32Array): void {
    const q = this.engine.device.queue;
    q.writeBuffer(this.x, 0, x.buffer, x.byteOffset, x.byteLength);
    q.writeBuffer(this.value, 0, value.buffer, value.byteOffset, value.byteLength);
  }

  /** Copies `first` … `first + n − 1`. */
  batch(first: number, n: number): BatchSource {
    const { c, h, w, size, stride, cols } = this;
    const total = n * c * h * w;
    return {
      images: (y) => [this.engine.makeDispatch(K.occlude, { uniforms: { total, c, h, w, size, stride, cols, first }, bindings: { x: this.x, value: this.value, y }, threads: total, label: 'occlude' })],
    };
  }

  dispose(): void {
    this.engine.destroyBuffer(this.x);
    this.engine.destroyBuffer(this.value);
  }
}

/**
 * Points on the straight path from a baseline to an image (Integrated Gradients): image j of a
 * batch starting at step `first` is b + alpha[first + j]·(x − b). The path's alphas are written
 * once; `setImage` writes the image and its baseline once per image.
 */
export class PathImages {
  private readonly x: GPUBuffer;
  private readonly b: GPUBuffer;
  private readonly alpha: GPUBuffer;
  private readonly engine: Engine;
  private readonly per: number;

  constructor(model: Model, readonly alphas: Float64Array | Float32Array) {
    this.engine = model.engine;
    this.per = numel(model.graph.input.shape.slice(1));
    if (alphas.length < 1) throw new ArgumentError('a path needs at least one step');
    this.x = this.engine.createBuffer(this.per * 4, 'path:image');
    this.b = this.engine.createBuffer(this.per * 4, 'path:baseline');
    this.alpha = this.engine.createBuffer(alphas.length * 4, 'path:alpha');
    const a = Float32Array.from(alphas);
    this.engine.device.queue.writeBuffer(this.alpha, 0, a.buffer, a.byteOffset, a.byteLength);
  }

  setImage(x: Float32Array, baseline: Float32Array): void {
    if (x.length !== this.per || baseline.length !== this.per) throw new ArgumentError(`path images: image and baseline need ${this.per} values each, got ${x.length} and ${baseline.length}`);
    const q = this.engine.device.queue;
    q.writeBuffer(this.x, 0, x.buffer, x.byteOffset, x.byteLength);
    q.writeBuffer(this.b, 0, baseline.buffer, baseline.byteOffset, baseline.byteLength);
  }

  /** Steps `first` … `first + n − 1`. */
  batch(first: number, n: number): BatchSource {
    if (first < 0 || n < 1 || first + n > this.alphas.length) throw new ArgumentError(`path images: steps ${first}…${first + n - 1} of ${this.alphas.length}`);
    const { per } = this;
    return {
      images: (y) => [this.engine.makeDispatch(K.pathImages, { uniforms: { total: n * per, per, first }, bindings: { x: this.x, b: this.b, alpha: this.alpha, y }, threads: n * per, label: 'path images' })],
    };
  }

  dispose(): void {
    for (const b of [this.x, this.b, this.alpha]) this.engine.destroyBuffer(b);
  }
}

/** What seeds a stream of noisy images: the seed, and the stream (one per input image). */
export interface NoiseSeed {
  seed: number;
  stream: number;
}

function seedOf(s: NoiseSeed): { seed: number; stream: number } {
  for (const [k, v] of Object.entries(s)) if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new ArgumentError(`noise: ${k} must be an integer in [0, 4294967295], got ${v}`);
  return { seed: s.seed >>> 0, stream: s.stream >>> 0 };
}

/**
 * Seeded Gaussian noisy copies of one image (SmoothGrad): sample s is x + sigma·z with z standard
 * normal from a counter-based hash of (seed, stream, s, element), so samples first … first + n − 1
 * are the same images however a run is batched.
 */
export class NoisyCopies {
  private readonly x: GPUBuffer;
  private readonly engine: Engine;
  readonly per: number;
  private readonly hw: number;
  private readonly c: number;

  constructor(model: Model) {
    const [, c, h, w] = model.graph.input.shape as [number, number, number, number];
    this.engine = model.engine;
    this.per = numel(model.graph.input.shape.slice(1));
    this.c = c ?? 1;
    this.hw = h !== undefined && w !== undefined ? h * w : this.per;
    this.x = this.engine.createBuffer(this.per * 4, 'noise:image');
  }

  setImage(x: Float32Array): void {
    if (x.length !== this.per) throw new ArgumentError(`noisy copies: the image needs ${this.per} values, got ${x.length}`);
    this.engine.device.queue.writeBuffer(this.x, 0, x.buffer, x.byteOffset, x.byteLength);
  }

  batch(sigma: number, seed: NoiseSeed, first: number, n: number): BatchSource {
    if (!(sigma >= 0 && Number.isFinite(sigma))) throw new ArgumentError(`noise: sigma must be a finite number ≥ 0, got ${sigma}`);
    const { per, hw, c } = this;
    const total = n * per;
    return {
      images: (y) => [this.engine.makeDispatch(K.noiseImages, { uniforms: { total, per, hw, channels: c, first, ...seedOf(seed), sigma }, bindings: { x: this.x, y }, threads: total, label: 'noisy copies' })],
    };
  }

  dispose(): void {
    this.engine.destroyBuffer(this.x);
  }
}

/**
 * Seeded uniform noise images, read back: each element of channel c uniform in [lo[c], hi[c]) from
 * a counter-based hash of (seed, stream, sample, element), samples first … first + n − 1
 * (Integrated Gradients' noise baseline).
 */
export async function uniformNoise(model: Model, lo: readonly number[], hi: readonly number[], seed: NoiseSeed, first: number, n: number): Promise<Float32Array> {
  const [, c, h, w] = model.graph.input.shape as [number, number, number, number];
  const per = numel(model.graph.input.shape.slice(1));
  const channels = c ?? 1;
  if (lo.length !== channels || hi.length !== channels) throw new ArgumentError(`uniform noise: ${channels} channel ranges needed, got ${lo.length} and ${hi.length}`);
  const e = model.engine;
  const range = e.createBuffer(2 * channels * 4, 'noise:range');
  try {
    const r = Float32Array.from([...lo, ...hi]);
    e.device.queue.writeBuffer(range, 0, r.buffer, r.byteOffset, r.byteLength);
    return await readImages(model, n, {
      images: (y) => [e.makeDispatch(K.noiseImages, { defines: ['UNIFORM'], uniforms: { total: n * per, per, hw: h !== undefined && w !== undefined ? h * w : per, channels, first, ...seedOf(seed), sigma: 0 }, bindings: { range, y }, threads: n * per, label: 'uniform noise' })],
    });
  } finally {
    e.destroyBuffer(range);
  }
}

/** The `n` images a source makes, read back (for methods that take images on the CPU). */
export async function readImages(model: Model, n: number, source: BatchSource): Promise<Float32Array> {
  const per = numel(model.graph.input.shape.slice(1));
  const e = model.engine;
  const y = e.acquire(n * per * 4, 'images:read');
  try {
    const [ab] = await e.run(imagesOfSource(source, y), [{ buffer: y, bytes: n * per * 4 }]);
    return new Float32Array(ab!);
  } finally {
    e.release(y);
  }
}

function imagesOfSource(source: BatchSource, y: GPUBuffer): Dispatch[] {
  if (!source.images) throw new ArgumentError('this batch source makes region rectangles only, not whole images');
  return source.images(y);
}
