// Batches of input images made on the GPU, never uploaded: the explainers ask for them by what they
// are (coordinate images, occluded copies of an image, PDA's perturbed windows in
// engine/pda-sampler.ts, Score-CAM's masked images, Ablation-CAM's ablated activations, Integrated
// Gradients' path images, SmoothGrad's noisy copies) and hand them to a model run (`Model.runFrom`,
// `Model.recordFrom`, `Model.runFrozen`, `RegionForward.run`); the kernels and buffers behind them stay in the engine.

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

let ablations = 0;

/**
 * Ablation-CAM's batches at a layer of C channels (Desai & Ramaswamy): copy b of a batch starting
 * at channel `first` has channel first + b zeroed. Two routes share the one kernel
 * (kernels/ablate_channels.wgsl) and the channel range, written before each batch by `select`:
 *  - `copies(n)`: the tail-only route's input, made from one image's activations (`setActivations`,
 *    C×H×W, uploaded once per image) for a model of the layers after it (`Model.tail`);
 *  - `injection`: the whole-network route's zeros, written in place into the layer's value inside a
 *    whole pass (`RunOptions.inject`) right after the layer computes it.
 */
export class AblatedChannels {
  private a: GPUBuffer;
  private range: GPUBuffer;
  private readonly engine: Engine;
  private readonly hw: number;
  /** names this instance's injection in plan caches: a plan kept from an earlier instance binds that one's (destroyed) range buffer */
  private readonly id = ablations++;

  constructor(engine: Engine, readonly value: string, readonly c: number, hw: number) {
    if (!Number.isInteger(c) || c < 1 || !Number.isInteger(hw) || hw < 1) throw new ArgumentError(`ablation: ${c} channels of ${hw} values`);
    this.engine = engine;
    this.hw = hw;
    this.a = engine.createBuffer(c * hw * 4, 'ablation:activations');
    this.range = engine.createBuffer(16, 'ablation:range');
  }

  /** One image's activations at the layer (C×H×W), for `copies`. */
  setActivations(a: Float32Array): void {
    if (a.length !== this.c * this.hw) throw new ArgumentError(`ablation: ${a.length} activations, the layer has ${this.c}×${this.hw}`);
    this.engine.device.queue.writeBuffer(this.a, 0, a.buffer, a.byteOffset, a.byteLength);
  }

  /** The next batch ablates channels first … first + n − 1 (one per copy). */
  select(first: number, n: number): void {
    if (!Number.isInteger(first) || first < 0 || !Number.isInteger(n) || n < 1 || first + n > this.c) throw new ArgumentError(`ablation: channels ${first}..${first + n - 1} of ${this.c}`);
    this.engine.device.queue.writeBuffer(this.range, 0, new Uint32Array([first, 0, 0, 0]));
  }

  /** n copies of the activations, copy b without channel first + b (call `select` first). */
  copies(n: number): BatchSource {
    const { c, hw } = this;
    const total = n * c * hw;
    return {
      // the engine caches the pipeline, the uniform buffer and the bind group: a later batch of the same size reuses them
      images: (y) => [this.engine.makeDispatch(K.ablateChannels, { defines: ['COPY'], uniforms: { total, c, hw, stride: 0 }, bindings: { range: this.range, a: this.a, y }, threads: total, label: 'ablate_channels' })],
    };
  }

  /** The in-place zeros of a whole-network pass, at this layer's value (call `select` before each run). */
  get injection(): { value: string; key: string; dispatches(buffer: GPUBuffer, batch: number, shape: number[]): Dispatch[] } {
    return {
      value: this.value, key: `ablate#${this.id}`,
      dispatches: (y, batch, shape) => {
        if (shape[1] !== this.c || numel(shape.slice(2)) !== this.hw) throw new ArgumentError(`ablation: layer value "${this.value}" is [${shape.join('×')}], not ${this.c} channels of ${this.hw}`);
        const total = batch * this.c * this.hw;
        return [this.engine.makeDispatch(K.ablateChannels, { uniforms: { total, c: this.c, hw: this.hw }, bindings: { range: this.range, y }, threads: total, label: 'ablate_channels (in place)' })];
      },
    };
  }

  dispose(): void {
    this.engine.destroyBuffer(this.a);
    this.engine.destroyBuffer(this.range);
  }
}

/**
 * Copies of one image, each multiplied by its own H×W mask (the same for every input channel):
 * Score-CAM's masked inputs (kernels/mask_images.wgsl). `setImage` once per image; `batch(masks, n)`
 * uploads that batch's n planes (not n·C) and makes the copies on the device.
 */
export class MaskedImages {
  private x: GPUBuffer;
  private masks: GPUBuffer;
  private readonly engine: Engine;
  private readonly c: number;
  private readonly hw: number;

  constructor(model: Model, readonly maxBatch: number) {
    const [, c, h, w] = model.graph.input.shape;
    if (c === undefined || h === undefined || w === undefined) throw new ArgumentError(`masked images need an image input (N×C×H×W); the model takes [${model.graph.input.shape.join(', ')}]`);
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new ArgumentError(`masked images: batch ${maxBatch}`);
    this.engine = model.engine;
    this.c = c;
    this.hw = h * w;
    this.x = this.engine.createBuffer(c * h * w * 4, 'masked:image');
    this.masks = this.engine.createBuffer(maxBatch * h * w * 4, 'masked:masks');
  }

  setImage(x: Float32Array): void {
    if (x.length !== this.c * this.hw) throw new ArgumentError(`masked images: the image has ${x.length} values, the model takes ${this.c * this.hw}`);
    this.engine.device.queue.writeBuffer(this.x, 0, x.buffer, x.byteOffset, x.byteLength);
  }

  /** The image times each of the `n` masks (n × H·W floats). */
  batch(masks: Float32Array, n: number): BatchSource {
    if (n < 1 || n > this.maxBatch || masks.length !== n * this.hw) throw new ArgumentError(`masked images: ${masks.length} mask values for ${n} masks of ${this.hw} (at most ${this.maxBatch})`);
    this.engine.device.queue.writeBuffer(this.masks, 0, masks.buffer, masks.byteOffset, masks.byteLength);
    const { c, hw } = this;
    const total = n * c * hw;
    return { images: (y) => [this.engine.makeDispatch(K.maskImages, { uniforms: { total, c, hw }, bindings: { x: this.x, masks: this.masks, y }, threads: total, label: 'mask_images' })] };
  }

  dispose(): void {
    this.engine.destroyBuffer(this.x);
    this.engine.destroyBuffer(this.masks);
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
