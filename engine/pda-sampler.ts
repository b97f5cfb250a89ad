// Prediction difference analysis on the GPU (explainers/pda.ts has the analysis): the samples of
// each window (conditional: the window's pixels drawn from a Gaussian patch model given the pixels
// around it; marginal: the same window of other images) and the perturbed images, made from the one
// clean image by the kernels in kernels/pda_*.wgsl with a seeded counter-based RNG (replayable on the
// CPU), never uploaded. `source` hands a batch to a model run: whole perturbed images for a plain
// pass, or straight into a region plan's rectangles (engine/region.ts).
import type { Dispatch, Engine } from './gpu.ts';
import type { BatchSource } from './sources.ts';
import { ArgumentError, ShapeError } from './errors.ts';
import * as KP from '../kernels/pda.ts';

/** What the sampler needs of a patch model (explainers/patch-model.ts builds them). */
export interface SamplerPatchModel {
  padding: number;
  /** conditional sampling: per placement q, the conditional mean map μ = A·o + b over the window's outer pixels o, and the Cholesky factor L of the conditional covariance */
  factors?: { A: Float32Array; b: Float32Array; L: Float32Array; oIndex: Uint32Array | Int32Array; dO: number };
  /** marginal sampling: whole images of the store (M × C × H × W) to take the window from */
  store?: { data: Float32Array; count: number };
}

/** The windows: origins row-major over `rows` × `cols` positions, `stride` apart, clamped to the image. */
export interface SamplerWindows {
  height: number;
  width: number;
  window: number;
  stride: number;
  cols: number;
  count: number;
}

export interface SamplerOptions {
  sampling: 'conditional' | 'marginal';
  patchModel: SamplerPatchModel;
  /** the clean image, C×H×W */
  x: Float32Array;
  channels: number;
  grid: SamplerWindows;
  samples: number;
  seed: number;
  /** most windows per batch (sizes the buffers) */
  maxWindows: number;
}

/**
 * Builds batches of perturbed images (window-major: image b = window b / S, sample b % S) on
 * the GPU. Dispatches are made once per batch shape; the first window of a batch goes in a small
 * storage buffer written before each batch.
 */
export class PdaSampler {
  readonly engine: Engine;
  readonly dw: number;
  private o: SamplerOptions;
  private buffers: GPUBuffer[] = [];
  private params: GPUBuffer;
  private xBuf: GPUBuffer;
  private samplesBuf: GPUBuffer;
  private muBuf?: GPUBuffer;
  private aBuf?: GPUBuffer;
  private bBuf?: GPUBuffer;
  private lBuf?: GPUBuffer;
  private oBuf?: GPUBuffer;
  private storeBuf?: GPUBuffer;
  private drawSets = new Map<string, Dispatch[]>();
  private targetIds = new WeakMap<GPUBuffer, number>();
  private nextTarget = 0;
  private substSets = new Map<number, { input: GPUBuffer; d: Dispatch }>();

  constructor(engine: Engine, o: SamplerOptions) {
    this.engine = engine;
    this.o = o;
    const { grid: g, channels: C, patchModel: pm } = o;
    this.dw = C * g.window * g.window;
    if (o.x.length !== C * g.height * g.width) throw new ShapeError(`pda: the image has ${o.x.length} values, expected ${C}×${g.height}×${g.width}`);
    if (o.sampling === 'conditional' ? !pm.factors : !pm.store) throw new ArgumentError(`pda: the patch model has no ${o.sampling === 'conditional' ? 'Gaussian factors' : 'image store'} for ${o.sampling} sampling`);
    const buf = (bytes: number, label: string, data?: ArrayBufferView) => {
      const b = engine.createBuffer(bytes, `pda:${label}`);
      if (data) engine.device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
      this.buffers.push(b);
      return b;
    };
    this.params = buf(16, 'params');
    this.xBuf = buf(o.x.byteLength, 'clean', o.x);
    this.samplesBuf = buf(o.maxWindows * o.samples * this.dw * 4, 'samples');
    if (o.sampling === 'conditional') {
      const f = pm.factors!;
      this.muBuf = buf(o.maxWindows * this.dw * 4, 'mu');
      this.aBuf = buf(f.A.byteLength, 'A', f.A);
      this.bBuf = buf(f.b.byteLength, 'b', f.b);
      this.lBuf = buf(f.L.byteLength, 'L', f.L);
      this.oBuf = buf(f.oIndex.byteLength, 'oIndex', f.oIndex);
    } else {
      const s = pm.store!;
      this.storeBuf = buf(s.data.byteLength, 'store', s.data);
    }
  }

  private setParams(first: number, nw: number): void {
    if (nw > this.o.maxWindows) throw new ShapeError(`pda: ${nw} windows in a batch; the sampler was sized for ${this.o.maxWindows}`);
    if (first + nw > this.o.grid.count) throw new ShapeError(`pda: windows ${first}..${first + nw - 1} are past the last window ${this.o.grid.count - 1}`);
    this.engine.device.queue.writeBuffer(this.params, 0, new Uint32Array([first, nw, this.o.seed >>> 0, 0]));
  }

  /** The condmean + draw dispatches of a batch of nw windows into `out` from float `base` (made once per nw and target). */
  private drawDispatches(nw: number, out: GPUBuffer = this.samplesBuf, base = 0): Dispatch[] {
    let id = this.targetIds.get(out);
    if (id === undefined) this.targetIds.set(out, (id = this.nextTarget++));
    const key = `${nw}|${id}|${base}`;
    let d = this.drawSets.get(key);
    if (d) return d;
    const e = this.engine;
    const { grid: g, samples: S } = this.o;
    const K = g.window;
    const dw = this.dw;
    if (this.o.sampling === 'conditional') {
      const f = this.o.patchModel.factors!;
      const pad = this.o.patchModel.padding;
      d = [
        e.makeDispatch(KP.pdaCondMean, { uniforms: { total: nw * dw, h: g.height, w: g.width, k: K, pad, stride: g.stride, cols: g.cols, dw, dO: f.dO }, bindings: { p: this.params, x: this.xBuf, a: this.aBuf!, b: this.bBuf!, oIndex: this.oBuf!, mu: this.muBuf! }, threads: nw * dw, label: 'pda_condmean' }),
        e.makeDispatch(KP.pdaDrawConditional, { uniforms: { total: nw * S * dw, h: g.height, w: g.width, k: K, pad, stride: g.stride, cols: g.cols, dw, samples: S, base }, bindings: { p: this.params, mu: this.muBuf!, lf: this.lBuf!, out }, threads: nw * S * dw, label: 'pda_draw_conditional' }),
      ];
    } else {
      d = [e.makeDispatch(KP.pdaDrawMarginal, { uniforms: { total: nw * S * dw, h: g.height, w: g.width, k: K, stride: g.stride, cols: g.cols, dw, samples: S, count: this.o.patchModel.store!.count, base }, bindings: { p: this.params, store: this.storeBuf!, out }, threads: nw * S * dw, label: 'pda_draw_marginal' })];
    }
    this.drawSets.set(key, d);
    return d;
  }

  /**
   * Windows first..first+nw−1 × S samples as a batch for a model run: whole perturbed images
   * (substituted into the clean image) for a plain pass, or the draws straight into a region plan's
   * rectangles (incremental inference, engine/region.ts).
   */
  source(first: number, nw: number): BatchSource {
    return {
      images: (input) => this.fill(first, nw, input),
      rectangles: (input, base) => {
        this.setParams(first, nw);
        return this.drawDispatches(nw, input, base);
      },
    };
  }

  /** The dispatches that write windows first..first+nw−1 × S samples into `input` (a model plan's input buffer). */
  private fill(first: number, nw: number, input: GPUBuffer): Dispatch[] {
    this.setParams(first, nw);
    const { grid: g, samples: S, channels: C } = this.o;
    let s = this.substSets.get(nw);
    if (!s || s.input !== input) {
      const n = nw * S;
      s = { input, d: this.engine.makeDispatch(KP.pdaSubstitute, { uniforms: { total: n * C * g.height * g.width, c: C, h: g.height, w: g.width, k: g.window, stride: g.stride, cols: g.cols, dw: this.dw, samples: S }, bindings: { p: this.params, x: this.xBuf, sample: this.samplesBuf, y: input }, threads: n * C * g.height * g.width, label: 'pda_substitute' }) };
      this.substSets.set(nw, s);
    }
    return [...this.drawDispatches(nw), s.d];
  }

  /** The samples of windows first..first+nw−1 (nw·S × dw, window-major), for tests. */
  async draw(first: number, nw: number): Promise<Float32Array> {
    this.setParams(first, nw);
    await this.engine.run(this.drawDispatches(nw));
    return this.engine.readFloats(this.samplesBuf, nw * this.o.samples * this.dw);
  }

  /** The conditional means of windows first..first+nw−1 (nw × dw), for tests. */
  async conditionalMeans(first: number, nw: number): Promise<Float32Array> {
    if (!this.muBuf) throw new ArgumentError('pda: conditional means exist only for conditional sampling');
    this.setParams(first, nw);
    await this.engine.run(this.drawDispatches(nw).slice(0, 1));
    return this.engine.readFloats(this.muBuf, nw * this.dw);
  }

  /** Builds the batch into a scratch buffer and reads it back (nw·S × C×H×W), for tests. */
  async batch(first: number, nw: number): Promise<Float32Array> {
    const { grid: g, samples: S, channels: C } = this.o;
    const n = nw * S * C * g.height * g.width;
    const out = this.engine.createBuffer(n * 4, 'pda:batch-test');
    try {
      await this.engine.run(this.fill(first, nw, out));
      return await this.engine.readFloats(out, n);
    } finally {
      this.substSets.delete(nw);
      this.engine.destroyBuffer(out);
    }
  }

  destroy(): void {
    for (const b of this.buffers) this.engine.destroyBuffer(b);
    this.buffers = [];
    this.drawSets.clear();
    this.substSets.clear();
  }
}

