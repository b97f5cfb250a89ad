// Optimising images: activation maximisation ("MaxOut", METHODS.md §5) and network inversion (§6).
// Both are gradient ascent on a batch of input images with regularisers; each step runs on the GPU
// as one submission of the engine's image optimiser (engine/image-optimiser.ts). Here: the
// objectives (which unit, channel or logit; the feature-space loss), the seeded initial images and
// jitter, the learning schedule and the log of the objective.
import type { Model } from '../engine/runner.ts';
import { ImageOptimiser, type ImageObjective } from '../engine/image-optimiser.ts';
import { numel } from '../engine/shapes.ts';
import { ArgumentError, throwIfCancelled } from '../engine/errors.ts';
import { classifierValues } from '../engine/classify.ts';

export interface Regularisers {
  /** λ of the α-norm ("Norm" weight; α = 2 is L2 decay) */
  norm?: number;
  alpha?: number;
  /** λ of total variation ("TV weight") and its exponent β */
  tv?: number;
  tvBeta?: number;
  /** Gaussian blur of σ = blurSigma every `blurEvery` steps ("Smoothing") */
  blurEvery?: number;
  blurSigma?: number;
  /** random circular shift of up to ± jitter pixels per step */
  jitter?: number;
  /** zero pixels whose norm (or |x·∂a/∂x| contribution) is below θ × the image's largest */
  clipNorm?: number;
  clipContribution?: number;
}

export interface OptimiseOptions extends Regularisers {
  iterations: number;
  lr: number;
  optimizer?: 'adam' | 'sgd';
  momentum?: number;
  seed: number;
  /** initial images: 'noise' (seeded Gaussian of std initStd around initValue) or 'mean' (initValue) */
  init?: 'noise' | 'mean';
  initValue?: number;
  initStd?: number;
  /** valid input range, e.g. the preprocessed values of pixels 0 and 255 */
  range?: [number, number];
  logEvery?: number;
  onProgress?: (step: number, total: number, objective: number[]) => void;
  /** called after every step (onProgress only on logged ones) */
  onStep?: (step: number, total: number) => void;
  /** the images as they stand, read back at most four times a second (a read-back each) */
  onImages?: (step: number, images: Float32Array) => void;
  signal?: AbortSignal;
}

/** Mulberry32: a small seeded PRNG (reproducible runs), with Box–Muller normals. */
export function prng(seed: number): { next: () => number; normal: () => number } {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, normal: () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()) };
}

function checkNonNegative(o: Regularisers & { lr?: number }): void {
  for (const k of ['norm', 'tv', 'blurSigma', 'jitter', 'clipNorm', 'clipContribution', 'blurEvery', 'lr'] as const) {
    const v = o[k];
    if (v !== undefined && (!Number.isFinite(v) || v < 0)) throw new ArgumentError(`${k} must be a non-negative number, got ${v}`);
  }
  if (o.alpha !== undefined && !(o.alpha >= 1)) throw new ArgumentError(`alpha (the norm exponent) must be at least 1, got ${o.alpha}`);
  if (o.tvBeta !== undefined && !(o.tvBeta >= 1)) throw new ArgumentError(`tv beta must be at least 1, got ${o.tvBeta}`);
}

/**
 * The loop shared by MaxOut and inversion, on the engine's image optimiser (one submission a step):
 * seeded initial images, the step's jitter and learning rate, blur every n steps, and the
 * objective read back on logged steps.
 */
async function optimise(
  model: Model, batch: number, layer: string, opts: OptimiseOptions, goal: ImageObjective,
  objective: (activation: Float32Array) => number[],
): Promise<{ images: Float32Array; log: { step: number; objective: number[] }[] }> {
  checkNonNegative(opts);
  const [c, h, w] = model.graph.input.shape.slice(1) as [number, number, number];
  if (h === undefined || w === undefined) throw new ArgumentError('image optimisation needs an image input (N×C×H×W)');
  const total = batch * c * h * w;
  const rnd = prng(opts.seed);
  const init = new Float32Array(total);
  const base = opts.initValue ?? 0;
  for (let i = 0; i < total; i++) init[i] = base + (opts.init === 'mean' ? 0 : (opts.initStd ?? 1) * rnd.normal());
  const opt = new ImageOptimiser(model, layer, init, goal, { ...opts, blurSigma: opts.blurEvery ? opts.blurSigma : undefined });
  try {
    const log: { step: number; objective: number[] }[] = [];
    const logEvery = opts.logEvery ?? Math.max(1, Math.floor(opts.iterations / 20));
    const j = opts.jitter ?? 0;
    let shown = -Infinity; // when onImages last had the images
    for (let t = 1; t <= opts.iterations; t++) {
      throwIfCancelled(opts.signal, 'image optimisation');
      const jitter: [number, number] = [Math.round((rnd.next() * 2 - 1) * j), Math.round((rnd.next() * 2 - 1) * j)];
      const logged = t === 1 || t === opts.iterations || t % logEvery === 0;
      const act = await opt.step(t, opts.lr, jitter, { blur: !!opts.blurEvery && t % opts.blurEvery === 0, read: logged });
      if (act) {
        // the objective of the (jittered) images this step started from
        const o = objective(act);
        log.push({ step: t, objective: o });
        opts.onProgress?.(t, opts.iterations, o);
      }
      if (opts.onImages && t < opts.iterations && performance.now() - shown >= 250) {
        shown = performance.now();
        opts.onImages(t, await opt.images());
      }
      opts.onStep?.(t, opts.iterations);
    }
    return { images: await opt.images(), log };
  } finally {
    opt.dispose();
  }
}

export type MaxOutTarget = { kind: 'channel'; layer: string; units: number[] } | { kind: 'unit'; layer: string; units: number[] } | { kind: 'class'; classes: number[] };

export interface MaxOutResult {
  images: Float32Array; // P×C×H×W
  targets: number[];
  layer: string;
  kind: MaxOutTarget['kind'];
  /** the objective per target at each logged step (a channel's mean, a unit's value or a logit) */
  log: { step: number; objective: number[] }[];
}

/**
 * Activation maximisation: x* = argmax_x a(x) − λ(x) for many targets at once, one per batch
 * entry: a class logit, one unit (flat index within the layer's C×H×W), or a whole channel's mean.
 */
export async function maxOut(model: Model, target: MaxOutTarget, opts: OptimiseOptions): Promise<MaxOutResult> {
  const layer = model.resolve(target.kind === 'class' ? classifierValues(model.graph).logits : target.layer);
  const units = target.kind === 'class' ? target.classes : target.units;
  if (units.length === 0) throw new ArgumentError('maxout: no target units');
  const shape = (await model.run(new Float32Array(numel(model.graph.input.shape.slice(1))), 1, { outputs: [layer] })).get(layer)!.shape.slice(1);
  const L = numel(shape);
  const channels = shape[0]!;
  const hw = L / channels;
  const limit = target.kind === 'channel' ? channels : L;
  for (const u of units)
    if (!Number.isInteger(u) || u < 0 || u >= limit)
      throw new ArgumentError(`${target.kind} ${u} is out of range: layer ${target.kind === 'class' ? 'logits' : target.layer} has ${limit} ${target.kind === 'channel' ? 'channels' : target.kind === 'class' ? 'classes' : 'units'} (0–${limit - 1})`);
  // Targets are optimised as one batch, in chunks the device's buffers fit (each chunk seeded
  // from the run's seed and its first target, so a run is reproducible whatever the chunking).
  const P = units.length;
  const chunk = Math.max(1, model.maxRecordBatch());
  const images = new Float32Array(P * numel(model.graph.input.shape.slice(1)));
  const log: { step: number; objective: number[] }[] = [];
  for (let first = 0; first < P; first += chunk) {
    const part = units.slice(first, first + chunk);
    const n = part.length;
    const seed = new Float32Array(n * L);
    part.forEach((u, i) => {
      if (target.kind === 'channel') for (let q = 0; q < hw; q++) seed[i * L + u * hw + q] = 1 / hw;
      else seed[i * L + u] = 1;
    });
    const step = opts.onStep, chunks = Math.ceil(P / chunk); // progress over all chunks' steps
    const onStep = step && ((t: number, T: number) => step((first / chunk) * T + t, chunks * T));
    const per = images.length / P;
    const onImages = opts.onImages && ((t: number, x: Float32Array) => (images.set(x, first * per), opts.onImages!(t, images)));
    const res = await optimise(model, n, layer, { ...opts, seed: opts.seed + first, onStep, onImages }, { kind: 'seed', seed }, (a) => part.map((_, i) => {
      let s = 0;
      for (let q = 0; q < L; q++) s += seed[i * L + q]! * a[i * L + q]!;
      return s;
    }));
    images.set(res.images, first * (images.length / P));
    res.log.forEach((l, k) => {
      if (first === 0) log.push({ step: l.step, objective: [...l.objective] });
      else log[k]!.objective.push(...l.objective);
    });
  }
  return { images, targets: units, layer, kind: target.kind, log };
}

export interface InversionResult {
  image: Float32Array; // C×H×W
  layer: string;
  /** relative feature-space error ‖A(x) − A(x0)‖ / ‖A(x0)‖ at each logged step */
  log: { step: number; error: number }[];
}

/**
 * Network inversion: x* = argmin_x ‖A(x) − A(x0)‖² / ‖A(x0)‖² + λα‖x‖_α^α + λtv TV_β(x), from noise.
 * The seed −2(A(x) − A(x0))/‖A(x0)‖² is computed on the GPU each step from the recorded A(x).
 * As in Mahendran & Vedaldi, the regularisers are normalised so that their weights do not depend
 * on the image size or pixel scale: λα is divided by H·W·B^α and λtv by H·W·B^β, with B half the
 * input range (the typical pixel magnitude).
 */
export async function invert(model: Model, x0: Float32Array, layer: string, opts: OptimiseOptions): Promise<InversionResult> {
  checkNonNegative(opts);
  const [, h, w] = model.graph.input.shape.slice(1) as [number, number, number];
  const B = opts.range ? (opts.range[1] - opts.range[0]) / 2 : 1;
  opts = {
    ...opts,
    norm: (opts.norm ?? 0) / (h * w * B ** (opts.alpha ?? 2)),
    tv: (opts.tv ?? 0) / (h * w * B ** (opts.tvBeta ?? 2)),
  };
  const value = model.resolve(layer);
  const a0 = (await model.run(x0, 1, { outputs: [value] })).get(value)!.data;
  let n2 = 0;
  for (const v of a0) n2 += v * v;
  if (n2 === 0) throw new ArgumentError(`layer ${layer} is all zeros for this image: nothing to invert`);
  const res = await optimise(model, 1, value, opts, { kind: 'match', target: a0, k: -2 / n2 }, (a) => {
    let sq = 0;
    for (let i = 0; i < a.length; i++) sq += (a[i]! - a0[i]!) ** 2;
    return [Math.sqrt(sq / n2)];
  });
  return { image: res.images, layer, log: res.log.map((l) => ({ step: l.step, error: l.objective[0]! })) };
}
