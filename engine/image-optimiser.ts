// Gradient ascent on a batch of input images, on the GPU (activation maximisation and network
// inversion, explainers/optimize.ts). One step is ONE submission:
//   roll x by the step's jitter → recording forward (only up to the objective's layer) → seed →
//   reverse walk to the input → unroll → regularisers' gradients (α-norm, total variation) →
//   Adam/SGD step with range clamp → [blur] → [clip small-norm / small-contribution pixels].
// Every op is a WGSL kernel (kernels/image_opt.ts); the CPU writes only the step's Adam
// corrections and jitter offsets, and reads the objective's layer back on the steps it asks for.

import type { Dispatch } from './gpu.ts';
import type { Model } from './runner.ts';
import { walkOf } from './reverse.ts';
import { numel } from './shapes.ts';
import { ArgumentError } from './errors.ts';
import * as O from '../kernels/image_opt.ts';

export interface ImageStepOptions {
  optimizer?: 'adam' | 'sgd';
  /** SGD's momentum (default 0.9) */
  momentum?: number;
  /** λ of the α-norm and its exponent α (default 2) */
  norm?: number;
  alpha?: number;
  /** λ of total variation and its exponent β (default 2) */
  tv?: number;
  tvBeta?: number;
  /** Gaussian blur of σ = blurSigma, on the steps that ask for it */
  blurSigma?: number;
  /** zero pixels whose norm (or |x·∂a/∂x| contribution) is below θ × the image's largest */
  clipNorm?: number;
  clipContribution?: number;
  /** valid input range, e.g. the preprocessed values of pixels 0 and 255 */
  range?: [number, number];
}

/**
 * The seed of each step's reverse pass at the objective's layer: a constant tensor (one unit,
 * channel or logit per image: MaxOut), or the gradient of the feature-space loss
 * k·‖A(x) − target‖² computed on the GPU from the recorded activations (inversion; `k` scales it).
 */
export type ImageObjective = { kind: 'seed'; seed: Float32Array } | { kind: 'match'; target: Float32Array; k: number };

/** A batch of images being optimised for an objective at one layer of a model. */
export class ImageOptimiser {
  readonly batch: number;
  private readonly model: Model;
  private readonly layer: string;
  private readonly rec: ReturnType<Model['recordPlan']>;
  private readonly owned: GPUBuffer[] = [];
  private readonly x: GPUBuffer;
  private readonly state: GPUBuffer;
  private readonly offsets: GPUBuffer;
  private readonly stepDispatches: Dispatch[];
  private readonly blurDispatches: Dispatch[];
  private readonly total: number;
  private readonly b1: number;
  private readonly b2 = 0.999;

  /** `layer`: a resolved value name; `init`: the starting images (batch × C×H×W). */
  constructor(model: Model, layer: string, init: Float32Array, objective: ImageObjective, private readonly o: ImageStepOptions) {
    const e = model.engine;
    const g = model.graph;
    const [c, h, w] = g.input.shape.slice(1) as [number, number, number];
    if (h === undefined || w === undefined) throw new ArgumentError('image optimisation needs an image input (N×C×H×W)');
    const per = c * h * w;
    if (init.length === 0 || init.length % per !== 0) throw new ArgumentError(`image optimisation: ${init.length} initial values are not a batch of ${c}×${h}×${w} images`);
    const batch = init.length / per;
    const total = init.length;
    this.model = model;
    this.layer = layer;
    this.batch = batch;
    this.total = total;
    this.b1 = o.optimizer === 'sgd' ? (o.momentum ?? 0.9) : 0.9;
    this.rec = model.recordPlan(batch, [layer], [layer]);
    const rec = this.rec;
    const make = (label: string, bytes: number) => {
      const b = e.createBuffer(bytes, label);
      this.owned.push(b);
      return b;
    };
    const x = (this.x = make('opt:x', total * 4)), r = make('opt:r', total * 4), d = make('opt:d', total * 4), m = make('opt:m', total * 4), v = make('opt:v', total * 4);
    const tmp = make('opt:blur', total * 4), maxes = make('opt:maxes', batch * 4);
    this.state = make('opt:state', 32);
    this.offsets = make('opt:offsets', 8);
    e.device.queue.writeBuffer(x, 0, init.buffer, init.byteOffset, init.byteLength);
    const walk = walkOf(model, rec, layer, [g.input.name], 'gradient');
    const seed: Dispatch[] = [];
    if (objective.kind === 'seed') {
      if (objective.seed.length !== numel(rec.shapes.get(layer)!)) throw new ArgumentError(`image optimisation: a seed of ${objective.seed.length} values for ${layer} [${rec.shapes.get(layer)!.join('×')}]`);
      e.device.queue.writeBuffer(walk.seed, 0, objective.seed.buffer, objective.seed.byteOffset, objective.seed.byteLength);
    } else {
      const n = objective.target.length;
      if (n !== numel(rec.shapes.get(layer)!)) throw new ArgumentError(`image optimisation: a target of ${n} values for ${layer} [${rec.shapes.get(layer)!.join('×')}]`);
      const target = make('opt:target', n * 4);
      e.device.queue.writeBuffer(target, 0, objective.target.buffer, objective.target.byteOffset, objective.target.byteLength);
      seed.push(e.makeDispatch(O.scaledDiff, { uniforms: { total: n, k: objective.k }, bindings: { a: rec.values.get(layer)!, b: target, y: walk.seed }, threads: n, label: 'feature loss seed' }));
    }
    const th = { threads: total };
    const offsets = this.offsets;
    this.stepDispatches = [
      e.makeDispatch(O.roll2d, { uniforms: { total, h, w }, bindings: { x, offsets, y: rec.input }, ...th, label: 'jitter' }),
      ...rec.dispatches,
      ...seed,
      ...walk.dispatches,
      e.makeDispatch(O.roll2d, { defines: ['INVERSE'], uniforms: { total, h, w }, bindings: { x: walk.grads.get(g.input.name)!, offsets, y: r }, ...th, label: 'unjitter' }),
      e.makeDispatch(O.imageRegGrad, {
        uniforms: { total, h, w, lambdaA: o.norm ?? 0, alpha: o.alpha ?? 2, lambdaTv: o.tv ?? 0, beta: o.tvBeta ?? 2, eps: 1e-8 },
        bindings: { x, r, d }, ...th, label: 'regularisers',
      }),
      e.makeDispatch(O.imageAdam, { defines: o.optimizer === 'sgd' ? ['SGD'] : [], uniforms: { total }, bindings: { d, state: this.state, m, v, x }, ...th, label: 'step' }),
    ];
    const clip = (theta: number | undefined, contrib: boolean): Dispatch[] =>
      theta
        ? [
            e.makeDispatch(O.pixelClip, { defines: ['MAX', ...(contrib ? ['CONTRIB'] : [])], uniforms: { n: batch, c, hw: h * w, theta }, bindings: { x, r, maxes }, workgroups: [batch, 1, 1], label: 'clip:max' }),
            e.makeDispatch(O.pixelClip, { defines: contrib ? ['CONTRIB'] : [], uniforms: { n: batch, c, hw: h * w, theta }, bindings: { x, r, maxes }, threads: batch * h * w, label: 'clip' }),
          ]
        : [];
    this.stepDispatches.push(...clip(o.clipContribution, true), ...clip(o.clipNorm, false));
    this.blurDispatches = o.blurSigma
      ? [
          e.makeDispatch(O.blur2d, { uniforms: { total, h, w, sigma: o.blurSigma }, bindings: { x, y: tmp }, ...th, label: 'blur:rows' }),
          e.makeDispatch(O.blur2d, { defines: ['VERTICAL'], uniforms: { total, h, w, sigma: o.blurSigma }, bindings: { x: tmp, y: x }, ...th, label: 'blur:cols' }),
        ]
      : [];
  }

  /**
   * Step t (1, 2, …) with learning rate `lr`, the images rolled by (dy, dx) pixels first; `blur`
   * smooths them after the step. With `read`, returns the objective layer's activations of the
   * (jittered) images the step started from.
   */
  async step(t: number, lr: number, jitter: [number, number], opts: { blur?: boolean; read?: boolean } = {}): Promise<Float32Array | undefined> {
    const e = this.model.engine;
    const [lo, hi] = this.o.range ?? [-3.4e38, 3.4e38];
    e.device.queue.writeBuffer(this.state, 0, new Float32Array([lr, this.b1, this.b2, 1e-8, 1 / (1 - this.b1 ** t), 1 / (1 - this.b2 ** t), lo, hi]));
    e.device.queue.writeBuffer(this.offsets, 0, new Int32Array(jitter));
    const ds = opts.blur && this.blurDispatches.length ? [...this.stepDispatches, ...this.blurDispatches] : this.stepDispatches;
    const act = this.rec.values.get(this.layer)!;
    const res = await e.run(ds, opts.read ? [{ buffer: act, bytes: numel(this.rec.shapes.get(this.layer)!) * 4 }] : []);
    return opts.read ? new Float32Array(res[0]!) : undefined;
  }

  /** The current images. */
  async images(): Promise<Float32Array> {
    const [ab] = await this.model.engine.run([], [{ buffer: this.x, bytes: this.total * 4 }]);
    return new Float32Array(ab!);
  }

  dispose(): void {
    this.rec.dispose();
    for (const b of this.owned) this.model.engine.destroyBuffer(b);
    this.owned.length = 0;
  }
}
