// RISE on the GPU (Petsiuk et al.; explainers/rise.ts has the method): the random masks of a batch
// made from (seed, first mask, count) by kernels/rise_masks.wgsl, the masked copies of one image made
// from them (a BatchSource for `Model.runFrom`), and the map accumulated as scoresᵀ × masks
// (kernels/rise_accumulate.wgsl) in a buffer that stays on the device until it is read once per image.
// No mask is ever uploaded or stored beyond its batch.
import type { Dispatch, Engine } from './gpu.ts';
import type { Model } from './runner.ts';
import type { BatchSource } from './sources.ts';
import { ArgumentError, ShapeError } from './errors.ts';
import * as KR from '../kernels/rise.ts';

/** Where a mask comes from: cell sizes ⌈H/cells⌉ × ⌈W/cells⌉ and the upsampled grid, (cells+1) cells a side. */
export interface RiseGeometry {
  height: number;
  width: number;
  cells: number;
  cellH: number;
  cellW: number;
  upH: number;
  upW: number;
}

export function riseGeometry(height: number, width: number, cells: number): RiseGeometry {
  if (!Number.isInteger(cells) || cells < 1) throw new ArgumentError(`RISE: cells must be a positive integer, got ${cells}`);
  const cellH = Math.ceil(height / cells), cellW = Math.ceil(width / cells);
  return { height, width, cells, cellH, cellW, upH: (cells + 1) * cellH, upW: (cells + 1) * cellW };
}

export interface RiseSamplerOptions {
  cells: number;
  /** probability of a grid cell being 1 (kept) */
  p: number;
  seed: number;
  /** most masks per batch (sizes the buffers) */
  maxBatch: number;
  /** classes explained at once: the rows of the map and the columns of the scores */
  rows: number;
}

/**
 * The masks, the masked batches and the accumulated map of one image at a time: `setImage`, then per
 * batch `source(first, n)` for a model run and `accumulate(n, scores)`, then `map()`.
 */
export class RiseSampler {
  readonly geometry: RiseGeometry;
  private readonly engine: Engine;
  private readonly c: number;
  private readonly hw: number;
  private buffers: GPUBuffer[] = [];
  private range: GPUBuffer;
  private masksBuf: GPUBuffer;
  private xBuf: GPUBuffer;
  private fillBuf: GPUBuffer;
  private wtsBuf: GPUBuffer;
  private mapBuf: GPUBuffer;

  constructor(model: Model, private readonly o: RiseSamplerOptions) {
    const [, c, h, w] = model.graph.input.shape;
    if (c === undefined || h === undefined || w === undefined) throw new ArgumentError(`RISE needs an image input (N×C×H×W); the model takes [${model.graph.input.shape.join(', ')}]`);
    if (!(o.p > 0 && o.p < 1)) throw new ArgumentError(`RISE: p must be in (0, 1), got ${o.p}`);
    if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) throw new ArgumentError(`RISE: the seed must be an integer in [0, 2^32), got ${o.seed}`);
    if (!Number.isInteger(o.maxBatch) || o.maxBatch < 1 || !Number.isInteger(o.rows) || o.rows < 1) throw new ArgumentError(`RISE: batch ${o.maxBatch} and rows ${o.rows} must be positive integers`);
    this.engine = model.engine;
    this.geometry = riseGeometry(h, w, o.cells);
    this.c = c;
    this.hw = h * w;
    const buf = (bytes: number, label: string) => {
      const b = this.engine.createBuffer(bytes, `rise:${label}`);
      this.buffers.push(b);
      return b;
    };
    this.range = buf(8, 'range');
    this.masksBuf = buf(o.maxBatch * this.hw * 4, 'masks');
    this.xBuf = buf(c * this.hw * 4, 'clean');
    this.fillBuf = buf(c * this.hw * 4, 'fill');
    this.wtsBuf = buf(o.maxBatch * o.rows * 4, 'scores');
    this.mapBuf = buf(o.rows * this.hw * 4, 'map');
  }

  /** The clean image and its fill (both C×H×W, network units); the map starts again from zero. */
  setImage(x: Float32Array, fill: Float32Array): void {
    const n = this.c * this.hw;
    if (x.length !== n || fill.length !== n) throw new ShapeError(`RISE: image and fill need ${n} values each, got ${x.length} and ${fill.length}`);
    const q = this.engine.device.queue;
    q.writeBuffer(this.xBuf, 0, x.buffer, x.byteOffset, x.byteLength);
    q.writeBuffer(this.fillBuf, 0, fill.buffer, fill.byteOffset, fill.byteLength);
    q.writeBuffer(this.mapBuf, 0, new Float32Array(this.o.rows * this.hw));
  }

  private setRange(first: number, n: number): void {
    if (!Number.isInteger(first) || first < 0 || !Number.isInteger(n) || n < 1 || n > this.o.maxBatch)
      throw new ShapeError(`RISE: masks ${first}..${first + n - 1}: a batch holds 1 to ${this.o.maxBatch} masks`);
    this.engine.device.queue.writeBuffer(this.range, 0, new Uint32Array([first, n]));
  }

  // The dispatches are made per batch: the engine keeps the pipelines, the uniform buffers (by
  // contents) and the bind groups (by buffers), so a later batch of the same size reuses them all.
  private masksDispatch(n: number): Dispatch {
    const g = this.geometry;
    return this.engine.makeDispatch(KR.riseMasks, {
      uniforms: { h: g.height, w: g.width, cells: g.cells, cellH: g.cellH, cellW: g.cellW, upH: g.upH, upW: g.upW, seed: this.o.seed >>> 0, p: this.o.p },
      bindings: { range: this.range, masks: this.masksBuf }, threads: n * this.hw, label: 'rise_masks',
    });
  }

  private applyDispatch(n: number, y: GPUBuffer): Dispatch {
    return this.engine.makeDispatch(KR.riseApply, { uniforms: { c: this.c, hw: this.hw }, bindings: { range: this.range, x: this.xBuf, fill: this.fillBuf, masks: this.masksBuf, y }, threads: n * this.c * this.hw, label: 'rise_apply' });
  }

  /** Masks first..first+n−1 and the image masked by each, written into a model plan's input. */
  source(first: number, n: number): BatchSource {
    return {
      images: (input) => {
        this.setRange(first, n);
        return [this.masksDispatch(n), this.applyDispatch(n, input)];
      },
    };
  }

  /**
   * map += scoresᵀ × masks for the batch the last `source` made: `scores` is n × rows (each masked
   * image's probability of each explained class).
   */
  async accumulate(n: number, scores: Float32Array): Promise<void> {
    if (scores.length !== n * this.o.rows || n > this.o.maxBatch) throw new ShapeError(`RISE: ${scores.length} scores for ${n} masks × ${this.o.rows} classes`);
    this.engine.device.queue.writeBuffer(this.wtsBuf, 0, scores.buffer, scores.byteOffset, scores.byteLength);
    const wg = KR.riseAccumulate.overrides!.WG!;
    const d = this.engine.makeDispatch(KR.riseAccumulate, {
      uniforms: { n, rows: this.o.rows, hw: this.hw }, bindings: { wts: this.wtsBuf, masks: this.masksBuf, map: this.mapBuf },
      workgroups: [Math.ceil(this.hw / wg), this.o.rows, 1], label: 'rise_accumulate', flops: 2 * n * this.o.rows * this.hw,
    });
    await this.engine.run([d]);
  }

  /** The accumulated map, rows × H·W (unscaled: Σ_j score_j · M_j). */
  map(): Promise<Float32Array> {
    return this.engine.readFloats(this.mapBuf, this.o.rows * this.hw);
  }

  /** Masks first..first+n−1 (n × H×W), for tests and figures. */
  async masks(first: number, n: number): Promise<Float32Array> {
    this.setRange(first, n);
    await this.engine.run([this.masksDispatch(n)]);
    return this.engine.readFloats(this.masksBuf, n * this.hw);
  }

  /** The masked batch of masks first..first+n−1 (n × C×H×W), read back, for tests. */
  async batch(first: number, n: number): Promise<Float32Array> {
    const out = this.engine.createBuffer(n * this.c * this.hw * 4, 'rise:batch-test');
    try {
      await this.engine.run(this.source(first, n).images!(out));
      return await this.engine.readFloats(out, n * this.c * this.hw);
    } finally {
      this.engine.destroyBuffer(out);
    }
  }

  destroy(): void {
    for (const b of this.buffers) this.engine.destroyBuffer(b);
    this.buffers = [];
  }
}
