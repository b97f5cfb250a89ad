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
