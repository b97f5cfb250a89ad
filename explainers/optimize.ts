// Optimising images: activation maximisation ("MaxOut", METHODS.md §5) and network inversion (§6).
// Both are gradient ascent on a batch of input images with regularisers; each step runs on the GPU
// as one submission of the engine's image optimiser (engine/image-optimiser.ts). Here: the
// objectives (which unit, channel or logit; the feature-space loss), the seeded initial images and
// jitter, the learning schedule and the log of the objective.
import type { Model } from '../engine/runner.ts';
import { ImageOptimiser, type ImageObjective, type StepTransform } from '../engine/image-optimiser.ts';
import type { Graph } from '../engine/ir.ts';
import { numel, inferShapes } from '../engine/shapes.ts';
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
  /** random shift of up to ± jitter pixels per step (pixel: circular, whole pixels) */
  jitter?: number;
  /** fourier: random scale of up to ± zoom (a fraction) and rotation of up to ± rotate degrees per step */
  zoom?: number;
  rotate?: number;
  /** zero pixels whose norm (or |x·∂a/∂x| contribution) is below θ × the image's largest */
  clipNorm?: number;
  clipContribution?: number;
}

export interface OptimiseOptions extends Regularisers {
  iterations: number;
  /** the step size: pixel, in network input units; fourier, on the (scaled) coefficients */
  lr: number;
  /**
   * The image parameterisation: 'pixel' (the pixels themselves) or 'fourier' (Lucid's: scaled
   * Fourier coefficients of decorrelated colours through a sigmoid; see engine/image-optimiser.ts)
   */
  param?: 'pixel' | 'fourier';
  /** fourier: each channel's valid range (default: `range` for all) */
  ranges?: [number, number][];
  /** fourier: the spectrum's scale falls as 1/frequency^decay (default 1) */
  decay?: number;
  /** fourier: keep the images' mean colour (the zero frequency) fixed (default true) */
  fixMean?: boolean;
  optimizer?: 'adam' | 'sgd';
  momentum?: number;
  seed: number;
  /** initial images: 'noise' (seeded Gaussian of std initStd around initValue; fourier: of the coefficients, std initStd, default 0.01) or 'mean' (initValue; fourier: mid-range) */
  init?: 'noise' | 'mean';
  initValue?: number;
  /** pixel: the starting value of each channel (instead of initValue for all) */
  initValues?: number[];
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
  for (const k of ['norm', 'tv', 'blurSigma', 'jitter', 'zoom', 'rotate', 'clipNorm', 'clipContribution', 'blurEvery', 'lr'] as const) {
    const v = o[k];
    if (v !== undefined && (!Number.isFinite(v) || v < 0)) throw new ArgumentError(`${k} must be a non-negative number, got ${v}`);
  }
  if (o.zoom !== undefined && o.zoom >= 1) throw new ArgumentError(`zoom must be below 1 (a fraction of the image's size), got ${o.zoom}`);
  if (o.alpha !== undefined && !(o.alpha >= 1)) throw new ArgumentError(`alpha (the norm exponent) must be at least 1, got ${o.alpha}`);
  if (o.tvBeta !== undefined && !(o.tvBeta >= 1)) throw new ArgumentError(`tv beta must be at least 1, got ${o.tvBeta}`);
}

/**
 * The loop shared by MaxOut and inversion, on the engine's image optimiser (one submission a step):
 * seeded initial parameters, the step's random transform and learning rate, blur every n steps,
 * and the objective read back on logged steps. `pivot`: the point the step's scale and rotation
 * keep in place (a unit's receptive field; default the image centre).
 */
async function optimise(
  model: Model, batch: number, layer: string, opts: OptimiseOptions, goal: ImageObjective,
  objective: (read: Float32Array, opt: ImageOptimiser) => number[], pivot?: [number, number],
  until?: (objective: number[], step: number) => boolean,
): Promise<{ images: Float32Array; log: { step: number; objective: number[] }[]; steps: number }> {
  checkNonNegative(opts);
  const [c, h, w] = model.graph.input.shape.slice(1) as [number, number, number];
  if (h === undefined || w === undefined) throw new ArgumentError('image optimisation needs an image input (N×C×H×W)');
  const fourier = opts.param === 'fourier';
  const rnd = prng(opts.seed);
  let init: Float32Array;
  if (fourier) {
    // the coefficients (re, im) of each channel's Sy×Sx canvas; zero is the mid-range grey
    const [sy, sx] = ImageOptimiser.fourierSize(h, w);
    init = new Float32Array(batch * c * sy * sx * 2);
    if (opts.init !== 'mean') for (let i = 0; i < init.length; i++) init[i] = (opts.initStd ?? 0.01) * rnd.normal();
  } else {
    const total = batch * c * h * w;
    init = new Float32Array(total);
    const hw = h * w;
    const base = (i: number) => opts.initValues?.[Math.floor(i / hw) % c] ?? opts.initValue ?? 0;
    for (let i = 0; i < total; i++) init[i] = base(i) + (opts.init === 'mean' ? 0 : (opts.initStd ?? 1) * rnd.normal());
  }
  const opt = new ImageOptimiser(model, layer, init, goal, {
    ...opts, blurSigma: opts.blurEvery ? opts.blurSigma : undefined, decorrelate: true, fixMean: opts.fixMean ?? true, keepStart: until !== undefined,
  });
  try {
    const log: { step: number; objective: number[] }[] = [];
    const logEvery = opts.logEvery ?? Math.max(1, Math.floor(opts.iterations / 20));
    const j = opts.jitter ?? 0, zoom = opts.zoom ?? 0, rotate = opts.rotate ?? 0;
    let shown = -Infinity; // when onImages last had the images
    for (let t = 1; t <= opts.iterations; t++) {
      throwIfCancelled(opts.signal, 'image optimisation');
      let tf: StepTransform;
      if (fourier) {
        const u = () => rnd.next() * 2 - 1;
        tf = { shift: [u() * j, u() * j], scale: 1 + u() * zoom, angle: (u() * rotate * Math.PI) / 180, pivot };
      } else tf = { shift: [Math.round((rnd.next() * 2 - 1) * j), Math.round((rnd.next() * 2 - 1) * j)] };
      const logged = t === 1 || t === opts.iterations || t % logEvery === 0;
      const read = await opt.step(t, opts.lr, tf, { blur: !!opts.blurEvery && t % opts.blurEvery === 0, read: logged || until !== undefined });
      if (read) {
        // the objective of the (transformed) images this step started from, i.e. after t − 1 steps
        const o = objective(read, opt);
        const stop = until?.(o, t) ?? false;
        if (logged || stop) {
          log.push({ step: t, objective: o });
          opts.onProgress?.(t, opts.iterations, o);
        }
        if (stop) {
          // the images this step started from met the stop rule: they are the result (t − 1 steps)
          opts.onStep?.(opts.iterations, opts.iterations);
          return { images: await opt.startImages(), log, steps: t - 1 };
        }
      }
      if (opts.onImages && t < opts.iterations && performance.now() - shown >= 250) {
        shown = performance.now();
        opts.onImages(t, await opt.images());
      }
      opts.onStep?.(t, opts.iterations);
    }
    return { images: await opt.images(true), log, steps: opts.iterations };
  } finally {
    opt.dispose();
  }
}

/**
 * The receptive field of a layer's units in the input: unit (y, x) is centred on input pixel
 * start + (y, x)·jump and sees size pixels around it; undefined when its units see the whole
 * image (after a global pool, a fully connected layer or a reshape).
 */
export function receptiveField(g: Graph, value: string): { size: [number, number]; jump: [number, number]; start: [number, number] } | undefined {
  type RF = { size: [number, number]; jump: [number, number]; start: [number, number] } | null;
  const rf = new Map<string, RF>([[g.input.name, { size: [1, 1], jump: [1, 1], start: [0, 0] }]]);
  const passThrough = new Set(['relu', 'leakyrelu', 'prelu', 'elu', 'sigmoid', 'tanh', 'clip', 'hardsigmoid', 'hardswish', 'lrn', 'channelaffine', 'add', 'mul', 'concat', 'identity', 'slicechannels', 'batchnorm']);
  for (const n of g.nodes) {
    const ins = n.inputs.map((v) => rf.get(v)).filter((r): r is RF => r !== undefined);
    let out: RF = null;
    if (ins.length > 0 && ins.every((r) => r !== null)) {
      const r0 = ins.reduce((a, b) => (a!.size[0] * a!.size[1] >= b!.size[0] * b!.size[1] ? a : b))!;
      const a = n.attrs as { kernel?: [number, number]; stride?: [number, number]; pads?: number[]; dilation?: [number, number] };
      if ((n.op === 'conv' || n.op === 'maxpool' || n.op === 'avgpool') && a.kernel && a.stride && a.pads) {
        const d = a.dilation ?? [1, 1];
        const ax = (i: 0 | 1) => ({
          size: r0.size[i] + (a.kernel![i] - 1) * d[i] * r0.jump[i],
          start: r0.start[i] + (((a.kernel![i] - 1) * d[i]) / 2 - a.pads![i]!) * r0.jump[i],
          jump: r0.jump[i] * a.stride![i],
        });
        const [y, x] = [ax(0), ax(1)];
        out = { size: [y.size, x.size], jump: [y.jump, x.jump], start: [y.start, x.start] };
      } else if (n.op === 'pad') {
        const p = (n.attrs as { pads: number[] }).pads;
        out = { ...r0, start: [r0.start[0] - p[0]! * r0.jump[0], r0.start[1] - p[1]! * r0.jump[1]] };
      } else if (passThrough.has(n.op)) out = r0;
    }
    for (const o of n.outputs) rf.set(o, out);
  }
  return rf.get(value) ?? undefined;
}

/**
 * Where channel `channel` of `value` is before its rectifier: back through ReLUs, identities and
 * channel concats to the value that is rectified (Lucid optimises pre-ReLU values: a unit that is
 * zero for the starting image has no gradient after its ReLU, and its maximiser is the same).
 */
export function preActivation(g: Graph, value: string, channel: number): { value: string; channel: number } {
  const producer = new Map<string, number>();
  g.nodes.forEach((n, i) => n.outputs.forEach((o) => producer.set(o, i)));
  let shapes: Map<string, number[]> | undefined;
  let v = value, c = channel;
  for (;;) {
    const n = g.nodes[producer.get(v) ?? -1];
    if (!n) break;
    if (n.op === 'relu' || n.op === 'identity') v = n.inputs[0]!;
    else if (n.op === 'concat' && n.attrs.axis === 1) {
      shapes ??= inferShapes(g, 1);
      let off = 0, next: string | undefined;
      for (const x of n.inputs) {
        const k = shapes.get(x)![1]!;
        if (c < off + k) {
          next = x;
          break;
        }
        off += k;
      }
      if (next === undefined) break;
      v = next;
      c -= off;
    } else break;
  }
  return { value: v, channel: c };
}

export type MaxOutTarget =
  | { kind: 'channel'; layer: string; units: number[]; at?: [number, number] | 'centre' }
  | { kind: 'unit'; layer: string; units: number[] }
  | {
      kind: 'class'; classes: number[];
      /**
       * what is maximised: the class logit (default), or the log-odds of the class's softmax
       * probability, log(p / (1 − p)) (fooling images: a logit can rise with all the others and
       * leave p low; the log-odds rises only as p does, and its gradient does not vanish as p → 1)
       */
      objective?: 'logit' | 'logodds';
      /** stop once every image's class probability reaches this (e.g. 0.9999), checked every step; `iterations` is the most steps taken */
      confidence?: number;
    };

export interface MaxOutResult {
  images: Float32Array; // P×C×H×W
  targets: number[];
  layer: string;
  kind: MaxOutTarget['kind'];
  /** channel targets optimised at one position: that unit (row, column) of each channel */
  at?: [number, number];
  /** that unit's receptive field in the image, [row, column, height, width] (clipped to the image) */
  field?: [number, number, number, number];
  /** the random shift each step took (pixels; the default depends on the target) */
  jitter: number;
  /** the value each target was optimised at, where that is not `layer` (before its ReLU, through concats) */
  optimised?: { value: string; channel: number }[];
  /** the objective per target at each logged step (a channel's leaky-rectified mean, a unit's value, a logit or a class's log-odds, before the ReLU) */
  log: { step: number; objective: number[] }[];
  /** class targets with `confidence`: per target, the steps after which its probability first reached it (null: not within `iterations`) */
  reached?: (number | null)[];
  /** the steps taken (with `confidence`, the run stops once every target of a batch reached it: at most `iterations`) */
  steps: number;
}

/** The slope of a channel objective's rectifier below zero (see kernels/maxout_seed.wgsl). */
export const CHANNEL_LEAK = 0.1;

/**
 * Activation maximisation: x* = argmax_x a(x) − λ(x) for many targets at once, one per batch
 * entry: a class logit, one unit (flat index within the layer's C×H×W), one channel's unit at a
 * position, or a whole channel: the mean of its leaky-rectified values max(a, 0.1·a) (a linear
 * layer's plain channel mean, a conv before its ReLU, is maximised by a uniform colour).
 */
export async function maxOut(model: Model, target: MaxOutTarget, opts: OptimiseOptions): Promise<MaxOutResult> {
  const layer = model.resolve(target.kind === 'class' ? classifierValues(model.graph).logits : target.layer);
  const units = target.kind === 'class' ? target.classes : target.units;
  if (units.length === 0) throw new ArgumentError('maxout: no target units');
  if (target.kind === 'class' && target.confidence !== undefined && !(target.confidence > 0 && target.confidence < 1))
    throw new ArgumentError(`maxout: the confidence to reach must be in (0, 1), got ${target.confidence}`);
  const shape = (await model.run(new Float32Array(numel(model.graph.input.shape.slice(1))), 1, { outputs: [layer] })).get(layer)!.shape.slice(1);
  const L = numel(shape);
  const channels = shape[0]!;
  const hw = L / channels;
  const [lh, lw] = shape.length === 3 ? [shape[1]!, shape[2]!] : [1, 1];
  const limit = target.kind === 'channel' ? channels : L;
  for (const u of units)
    if (!Number.isInteger(u) || u < 0 || u >= limit)
      throw new ArgumentError(`${target.kind} ${u} is out of range: layer ${target.kind === 'class' ? 'logits' : target.layer} has ${limit} ${target.kind === 'channel' ? 'channels' : target.kind === 'class' ? 'classes' : 'units'} (0–${limit - 1})`);
  let at: [number, number] | undefined;
  if (target.kind === 'channel' && target.at !== undefined) {
    if (shape.length !== 3) throw new ArgumentError(`maxout: --unit needs a layer with rows and columns; ${target.layer} is [${shape.join('×')}]`);
    at = target.at === 'centre' ? [Math.floor((lh - 1) / 2), Math.floor((lw - 1) / 2)] : target.at;
    if (!at.every((v) => Number.isInteger(v)) || at[0] < 0 || at[0] >= lh || at[1] < 0 || at[1] >= lw)
      throw new ArgumentError(`maxout: unit ${at.join(',')} is outside ${target.layer}'s ${lh}×${lw} positions`);
  }
  // each image's target: a channel (position −1: its mean) or a unit (channel, position)
  const goals = units.map((u) => {
    if (target.kind === 'channel') return { channel: u, position: at ? at[0] * lw + at[1] : -1 };
    return { channel: Math.floor(u / hw), position: u % hw };
  });
  // Each target is optimised before its rectifier (units and channels of hidden layers; class
  // logits as they are). Targets of one value are optimised as one batch, in chunks the device's
  // buffers fit (each chunk seeded from the run's seed and its first target's index, so a run is
  // reproducible whatever the chunking).
  const at0 = target.kind === 'class' ? undefined : goals.map((q) => preActivation(model.graph, layer, q.channel));
  const groups = new Map<string, number[]>();
  goals.forEach((_, i) => {
    const v = at0 ? at0[i]!.value : layer;
    groups.set(v, [...(groups.get(v) ?? []), i]);
  });
  // Scale and rotation turn about the unit's receptive field (one position, the same for every
  // target), and the default shift (1/28 of the image side) is at most 1/16 of that field.
  let pivot: [number, number] | undefined;
  let field: [number, number, number, number] | undefined;
  const [ih, iw] = model.graph.input.shape.slice(2) as [number, number];
  let jitter = opts.jitter ?? (opts.param === 'fourier' ? Math.round(Math.min(ih, iw) / 28) : 0);
  const positions = new Set(goals.map((q) => q.position));
  if (!positions.has(-1) && shape.length === 3) {
    // the receptive field of the value optimised (one for all targets), or of the layer
    const f = receptiveField(model.graph, groups.size === 1 ? [...groups.keys()][0]! : layer);
    if (f) {
      if (opts.jitter === undefined) jitter = Math.min(jitter, Math.round(Math.min(...f.size) / 16));
      if (positions.size === 1) {
        const p = [...positions][0]!;
        pivot = [f.start[0] + Math.floor(p / lw) * f.jump[0], f.start[1] + (p % lw) * f.jump[1]];
        const y0 = Math.max(0, Math.ceil(pivot[0] - (f.size[0] - 1) / 2)), x0 = Math.max(0, Math.ceil(pivot[1] - (f.size[1] - 1) / 2));
        const y1 = Math.min(ih, Math.floor(pivot[0] + (f.size[0] - 1) / 2) + 1), x1 = Math.min(iw, Math.floor(pivot[1] + (f.size[1] - 1) / 2) + 1);
        if (y1 > y0 && x1 > x0 && (y1 - y0 < ih || x1 - x0 < iw)) field = [y0, x0, y1 - y0, x1 - x0];
      }
    }
  }
  opts = { ...opts, jitter };
  const P = units.length;
  const chunk = Math.max(1, model.maxRecordBatch());
  const per = numel(model.graph.input.shape.slice(1));
  const images = new Float32Array(P * per);
  const objectives = new Map<number, number[]>(); // per logged step, per target (NaN: a chunk that had stopped)
  const reached: (number | null)[] = units.map(() => null);
  let totalSteps = 0;
  const leak = CHANNEL_LEAK;
  const chunks = [...groups.values()].flatMap((ids) => Array.from({ length: Math.ceil(ids.length / chunk) }, (_, k) => ids.slice(k * chunk, (k + 1) * chunk)));
  for (const [ci, ids] of chunks.entries()) {
    const value = at0 ? at0[ids[0]!]!.value : layer;
    const part = ids.map((i) => ({ channel: at0 ? at0[i]!.channel : goals[i]!.channel, position: goals[i]!.position }));
    const step = opts.onStep; // progress over all chunks' steps
    const onStep = step && ((t: number, T: number) => step(ci * T + t, chunks.length * T));
    const onImages = opts.onImages && ((t: number, x: Float32Array) => {
      ids.forEach((i, k) => images.set(x.subarray(k * per, (k + 1) * per), i * per));
      opts.onImages!(t, images);
    });
    // fooling: each image's class probability from the logits read back, for the stop rule
    const classes = ids.map((i) => units[i]!);
    const logodds = target.kind === 'class' && target.objective === 'logodds';
    let probs: number[] = [];
    const until = target.kind === 'class' && target.confidence !== undefined ? (o: number[], t: number) => {
      probs.forEach((p, k) => {
        if (p >= target.confidence! && reached[ids[k]!] === null) reached[ids[k]!] = t - 1;
      });
      return ids.every((i) => reached[i] !== null);
    } : undefined;
    const goal: ImageObjective = logodds ? { kind: 'logodds', classes } : { kind: 'targets', targets: part, leak };
    const res = await optimise(model, part.length, value, { ...opts, seed: opts.seed + ids[0]!, onStep, onImages }, goal, (a, opt) => {
      const { perImage, hw: n, selected } = opt.readShape;
      if (target.kind === 'class') {
        const z = classLogOdds(a, perImage, classes);
        probs = z.map((v) => 1 / (1 + Math.exp(-v)));
        if (logodds) return z;
      }
      return part.map((q, i) => {
        const base = i * perImage + (selected ? 0 : q.channel * n);
        if (q.position >= 0) return a[base + q.position]!;
        let s = 0;
        for (let k = 0; k < n; k++) {
          const v = a[base + k]!;
          s += v > 0 ? v : leak * v;
        }
        return s / n;
      });
    }, pivot, until);
    ids.forEach((i, k) => images.set(res.images.subarray(k * per, (k + 1) * per), i * per));
    if (until && ids.some((i) => reached[i] === null)) {
      // the images after the last step (the loop read each step's starting images)
      const logits = (await model.run(res.images, ids.length, { outputs: [layer] })).get(layer)!.data;
      classLogOdds(logits, logits.length / ids.length, classes).forEach((z, k) => {
        if (1 / (1 + Math.exp(-z)) >= (target as { confidence: number }).confidence && reached[ids[k]!] === null) reached[ids[k]!] = res.steps;
      });
    }
    totalSteps = Math.max(totalSteps, res.steps);
    for (const l of res.log) {
      if (!objectives.has(l.step)) objectives.set(l.step, units.map(() => NaN));
      ids.forEach((i, k) => (objectives.get(l.step)![i] = l.objective[k]!));
    }
  }
  const log = [...objectives.keys()].sort((a, b) => a - b).map((step) => ({ step, objective: objectives.get(step)! }));
  const optimised = at0 && at0.some((q, i) => q.value !== layer || q.channel !== goals[i]!.channel) ? at0 : undefined;
  return { images, targets: units, layer, kind: target.kind, ...(at ? { at } : {}), ...(field ? { field } : {}), ...(optimised ? { optimised } : {}), jitter, log,
    ...(target.kind === 'class' && target.confidence !== undefined ? { reached } : {}), steps: totalSteps };
}

/**
 * Per image, the log-odds of its class t from its l logits: log(p_t / (1 − p_t)) = a_t − log Σ_{i≠t} e^{a_i},
 * in float64 (the probability is its logistic function, exact where 1 − p_t is below float32's resolution).
 */
export function classLogOdds(logits: ArrayLike<number>, l: number, classes: number[]): number[] {
  return classes.map((t, b) => {
    let m = -Infinity;
    for (let k = 0; k < l; k++) if (k !== t) m = Math.max(m, logits[b * l + k]!);
    let s = 0;
    for (let k = 0; k < l; k++) if (k !== t) s += Math.exp(logits[b * l + k]! - m);
    return logits[b * l + t]! - m - Math.log(s);
  });
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
  // (the Fourier parameterisation's regularisers are scale-free already)
  if (opts.param !== 'fourier')
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
