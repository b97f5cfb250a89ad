// Evaluating explanations (issue 14): how faithful and how well placed a method's maps are.
//
// - Deletion and insertion (Petsiuk et al., RISE, 2018): the pixels of an image are ranked by the
//   map, highest first (ties: the lower row-major index first, so the ranking is deterministic).
//   Deletion replaces the top-ranked pixels, all channels of a pixel together, with 0 in network
//   units: the preprocessing's mean pixel for a mean-subtracted model (Caffe SqueezeNet: BGR
//   104, 117, 123), black for a model without a mean (LeNet: pixels / 255). Insertion starts from a
//   blurred copy of the image (separable Gaussian, σ = `sigma` pixels, default 5 as in the RISE
//   code, truncated at 3σ, edge weights renormalised) and restores the top-ranked pixels.
//   Step k of `steps` changes round(k·H·W/steps) pixels, so a curve has steps+1 points at the
//   fractions k/steps; each point is the softmax probability of the target class. AUC is the
//   trapezoid rule over the fraction (0..1): low is good for deletion, high for insertion.
//   The step images are built on the host from the ranking and run through `model.run` in batches
//   of `batch` images (default `model.maxBatch`), all steps of all images and curves together.
// - The pointing game (Zhang et al., 2016): a hit when the map's maximum (the first in row-major
//   order on ties) lies within `tolerance` pixels (default 15, Euclidean) of the class's region,
//   a binary H×W mask at the model's input size; an image without region pixels is not counted.
//   The region is a given mask, or a function of the class the method explained (an ADE20K scene:
//   the objects whose concepts match the class, loaders/ade20k.ts), whose concepts the result names.
// - Model-parameter randomisation (Adebayo et al., 2018): the cascade of explainers/randomisation.ts;
//   at each step a new Model over the randomised graph (the caller's model untouched, each
//   temporary one destroyed), the method's maps recomputed for the same images and the same class
//   (the class the method explained on the original model), compared with the original maps by
//   Spearman (raw and |map|) and SSIM. A method whose mean |map| Spearman stays above 0.5 after the
//   last step "does not decorrelate" (fails the check).
// - Infidelity and max-sensitivity (Yeh et al., 2019) and completeness: explainers/faithfulness.ts
//   (its header gives the definitions and defaults). Infidelity's perturbed images are run once
//   for all methods (the noise does not depend on the map); max-sensitivity reruns each method on
//   its perturbed copies, as one batch of N×samples images for a batch method, with the class it
//   explained on the original. Completeness is no metric to ask for: a method that states one
//   (IG, LRP, etalons) has it in its results whatever the metrics.
//
// Methods come from the registry, so every registered method that gives one H×W map per image can
// be evaluated; the target class of an image is the class the method explained (its meta.classes),
// else the model's top-1. No Node modules, no files, no device access: model.run only.
import { gaussianBlur } from '../loaders/preprocess.ts';
import { Model } from '../engine/runner.ts';
import { ArgumentError, ShapeError, throwIfCancelled } from '../engine/errors.ts';
import { checkClassifier, softmaxRows } from '../engine/classify.ts';
import { explainer } from './registry.ts';
import { cascadeSteps, randomisedGraph, spearman, ssim, type CascadeOptions } from './randomisation.ts';
import type { ExplainInputs, Explanation, Progress } from './explanation.ts';
import {
  checkFaithfulnessOptions, completenessOf, infidelityProbe, infidelityScores, maxSensitivity, pixelSpan,
  INFIDELITY_SAMPLES, INFIDELITY_SIGMA, SENSITIVITY_RADIUS, SENSITIVITY_SAMPLES, type InfidelityProbe, type InfidelityResult, type SensitivityResult,
} from './faithfulness.ts';

export const METRICS = ['deletion', 'insertion', 'pointing', 'randomisation', 'infidelity', 'sensitivity'] as const;
export type Metric = (typeof METRICS)[number];
/** The statistics of each randomisation step, against the original map. */
export const RANDOMISATION_STATS = ['spearman', 'spearman-abs', 'ssim'] as const;
export type RandomisationStat = (typeof RANDOMISATION_STATS)[number];
/** Mean |map| Spearman above which a method does not decorrelate after the whole cascade. */
export const DECORRELATION_THRESHOLD = 0.5;

export const DELETION_BASELINE = '0 in network units (the preprocessing mean pixel for a mean-subtracted model; black without a mean)';

/** Checks a metric list: each one built, none twice. */
export function checkMetrics(metrics: readonly string[]): Metric[] {
  if (metrics.length === 0) throw new ArgumentError('--metrics is empty; metrics are ' + METRICS.join(', '));
  for (const m of metrics) {
    if (!(METRICS as readonly string[]).includes(m)) throw new ArgumentError(`unknown metric "${m}"; metrics are ${METRICS.join(', ')}`);
  }
  if (new Set(metrics).size !== metrics.length) throw new ArgumentError(`--metrics names a metric twice: ${metrics.join(',')}`);
  return metrics as Metric[];
}

/** Area under a curve sampled at equal steps over [0, 1] (trapezoid rule). */
export function trapezoidAuc(curve: ArrayLike<number>): number {
  const n = curve.length - 1;
  if (n < 1) throw new ArgumentError('a curve needs at least two points');
  let s = 0;
  for (let k = 0; k < n; k++) s += (curve[k]! + curve[k + 1]!) / 2;
  return s / n;
}

/** Pixel indices of an H×W map, highest value first; ties by index, so the order is deterministic. */
export function rankPixels(map: ArrayLike<number>): Uint32Array {
  const order = Uint32Array.from({ length: map.length }, (_, i) => i);
  order.sort((a, b) => map[b]! - map[a]! || a - b);
  return order;
}

export interface CurveOptions {
  /** steps of a curve (it has steps+1 points); default 100 */
  steps?: number;
  /** step images per model run; default model.maxBatch of the logits */
  batch?: number;
  /** σ of insertion's blur, pixels; default 5 */
  sigma?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  names?: readonly string[];
}

/** One curve to compute: image `image` of the batch, its map's ranking, the class followed. */
interface CurveJob {
  metric: 'deletion' | 'insertion';
  image: number;
  order: Uint32Array;
  target: number;
}

/**
 * Deletion or insertion curves of `maps` (N×H×W) over the images `x` (N×C×H×W), following
 * `classes[i]`: per map, steps+1 probabilities. All curves' steps run as one stream of batches.
 */
export async function perturbationCurves(model: Model, x: Float32Array, n: number, maps: Float32Array, classes: readonly number[], metrics: readonly ('deletion' | 'insertion')[], o: CurveOptions = {}): Promise<Map<'deletion' | 'insertion', Float32Array[]>> {
  const [, c, h, w] = model.graph.input.shape as [number, number, number, number];
  const hw = h * w, per = c * hw;
  const steps = o.steps ?? 100;
  if (!Number.isInteger(steps) || steps < 1) throw new ArgumentError(`--steps must be an integer ≥ 1, got ${steps}`);
  if (maps.length !== n * hw) throw new ShapeError(`maps hold ${maps.length} values; ${n} maps of ${h}×${w} need ${n * hw}`);
  if (classes.length !== n) throw new ShapeError(`${classes.length} classes for ${n} images`);
  const sigma = o.sigma ?? 5;
  const cv = checkClassifier(model.graph);
  const jobs: CurveJob[] = [];
  for (const metric of metrics) for (let i = 0; i < n; i++) jobs.push({ metric, image: i, order: rankPixels(maps.subarray(i * hw, (i + 1) * hw)), target: classes[i]! });
  const blurred = metrics.includes('insertion') ? Array.from({ length: n }, (_, i) => gaussianBlur(x.subarray(i * per, (i + 1) * per), c, h, w, sigma)) : [];
  const count = (k: number) => Math.round((k * hw) / steps);
  const curves = jobs.map(() => new Float32Array(steps + 1));
  const total = jobs.length * (steps + 1);
  const chunk = Math.max(1, Math.min(o.batch ?? Infinity, model.maxBatch([cv.logits]), total));
  const batch = new Float32Array(chunk * per);
  o.onProgress?.(0, total);
  for (let start = 0; start < total; start += chunk) {
    throwIfCancelled(o.signal, 'evaluate');
    const m = Math.min(chunk, total - start);
    // step image s: job ⌊s/(steps+1)⌋ at step s mod (steps+1)
    for (let b = 0; b < m; b++) {
      const s = start + b, job = jobs[Math.floor(s / (steps + 1))]!, k = s % (steps + 1);
      const img = batch.subarray(b * per, (b + 1) * per);
      const orig = x.subarray(job.image * per, (job.image + 1) * per);
      const del = job.metric === 'deletion';
      img.set(del ? orig : blurred[job.image]!);
      const src = del ? undefined : orig;
      for (let q = 0; q < count(k); q++) {
        const p = job.order[q]!;
        for (let ch = 0; ch < c; ch++) img[ch * hw + p] = src ? src[ch * hw + p]! : 0;
      }
    }
    const logits = (await model.run(batch.subarray(0, m * per), m, { outputs: [cv.logits] })).get(model.resolve(cv.logits))!.data;
    const kk = logits.length / m;
    const probs = softmaxRows(logits, kk);
    for (let b = 0; b < m; b++) {
      const s = start + b, j = Math.floor(s / (steps + 1));
      curves[j]![s % (steps + 1)] = probs[b * kk + jobs[j]!.target]!;
    }
    o.onProgress?.(start + m, total);
  }
  const out = new Map<'deletion' | 'insertion', Float32Array[]>();
  jobs.forEach((j, q) => {
    const list = out.get(j.metric) ?? [];
    list.push(curves[q]!);
    out.set(j.metric, list);
  });
  return out;
}

export interface PointingResult {
  /** null: the region is empty, the image is not counted */
  hit: boolean | null;
  /** the map's maximum, [row, column] */
  peak: [number, number];
  /** distance from the peak to the nearest region pixel, pixels (null: empty region) */
  distance: number | null;
}

/** The pointing game on one H×W map and its binary region mask (non-zero = the region). */
export function pointingGame(map: ArrayLike<number>, mask: ArrayLike<number>, h: number, w: number, tolerance = 15): PointingResult {
  if (map.length !== h * w) throw new ShapeError(`the map holds ${map.length} values, not ${h}×${w}`);
  if (mask.length !== h * w) throw new ShapeError(`the mask holds ${mask.length} values, not ${h}×${w}`);
  let best = 0;
  for (let i = 1; i < map.length; i++) if (map[i]! > map[best]!) best = i;
  const py = Math.floor(best / w), px = best % w;
  let d2 = Infinity;
  for (let i = 0; i < mask.length; i++)
    if (mask[i]) {
      const dy = Math.floor(i / w) - py, dx = (i % w) - px;
      d2 = Math.min(d2, dy * dy + dx * dx);
    }
  if (d2 === Infinity) return { hit: null, peak: [py, px], distance: null };
  return { hit: d2 <= tolerance * tolerance, peak: [py, px], distance: Math.sqrt(d2) };
}

// ---- the whole evaluation ---------------------------------------------------------------------------

export interface MethodRequest {
  name: string;
  /** the method's options as its registry entry takes them */
  options?: Record<string, unknown>;
}

export interface EvaluateOptions extends Omit<CurveOptions, 'onProgress'> {
  metrics?: readonly Metric[];
  /** pointing game: one H×W region mask per image (at the model's input size) */
  masks?: readonly (ArrayLike<number> | undefined)[];
  /** pointing game: per image, the region of class k (H×W, non-zero = the region) and the concepts it is made of ([] = none matched); replaces masks[i] */
  regions?: readonly (((k: number) => { mask: ArrayLike<number>; concepts: string[] }) | undefined)[];
  /** pointing game tolerance, pixels; default 15 */
  tolerance?: number;
  /** randomisation: the cascade (see explainers/randomisation.ts) */
  randomise?: CascadeOptions;
  /** randomisation: the seed of the permutations; infidelity and sensitivity: of the noise; default 0 */
  seed?: number;
  /** infidelity and sensitivity: per image the key of its noise streams in place of its index in the batch (explainers/faithfulness.ts) */
  keys?: readonly number[];
  /** infidelity: perturbations per image (default 10) and their σ as a fraction of the pixel range (default 0.003) */
  infidelitySamples?: number;
  infidelitySigma?: number;
  /** sensitivity: perturbed copies per image (default 10) and the L∞ radius as a fraction of the pixel range (default 0.02) */
  sensitivitySamples?: number;
  radius?: number;
  progress?: Progress;
}

/** One step of a method's randomisation cascade. */
export interface RandomisationStep {
  /** the lowest layer randomised */
  layer: string;
  /** every layer randomised at this step, from the top */
  layers: string[];
  /** N×H×W maps of the randomised model */
  maps: Float32Array;
  /** per image; NaN (null in JSON) where a map is constant */
  images: Record<RandomisationStat, number>[];
  mean: Record<RandomisationStat, number>;
}

export interface ImageResult {
  image: string;
  class: number;
  deletion?: { auc: number; curve: number[] };
  insertion?: { auc: number; curve: number[] };
  /** concepts: the scene's concepts that make the region of the class ([]: none, the image is not counted) */
  pointing?: PointingResult & { concepts?: string[] };
  /** infidelity: the scale-invariant value, β, the unnormalised value and the value relative to E[Δf²] (NaN: null) */
  infidelity?: InfidelityResult;
  /** max-sensitivity: the largest relative change of the map, and each copy's */
  sensitivity?: SensitivityResult;
  /** the relative completeness gap the method states (IG, LRP, etalons); null where undefined; absent for other methods */
  completeness?: number | null;
}

export interface MethodResult {
  /** randomisation: the cascade's steps, top layer first */
  randomisation?: RandomisationStep[];
  /** randomisation: false when the mean |map| Spearman after the last step is above 0.5; null when it is undefined (a constant map) */
  decorrelates?: boolean | null;
  method: string;
  options: Record<string, unknown>;
  /** N×H×W, the maps evaluated */
  maps: Float32Array;
  images: ImageResult[];
  /** means over images: AUCs, the pointing accuracy (hits / counted), mean curves */
  mean: {
    deletion?: number; insertion?: number; pointing?: number | null; pointingCounted?: number; deletionCurve?: number[]; insertionCurve?: number[];
    /** means over the images where the value is defined; null where it is nowhere */
    infidelity?: number | null; sensitivity?: number | null; completeness?: number | null;
  };
  warnings: string[];
}

export interface Evaluation {
  metrics: Metric[];
  steps: number;
  sigma: number;
  tolerance: number;
  deletionBaseline: string;
  methods: MethodResult[];
  /** randomisation: the seed, and the methods that do not decorrelate */
  seed?: number;
  notDecorrelating?: string[];
  /** infidelity: its parameters (σ as a fraction of the pixel range and in network units) */
  infidelity?: { samples: number; sigma: number; sigmaUnits: number; f: string; normalised: string };
  /** sensitivity: its parameters (the radius as a fraction of the pixel range and in network units) */
  sensitivity?: { samples: number; radius: number; radiusUnits: number; norm: string };
}

export const INFIDELITY_F = 'the target class logit (pre-softmax)';
export const INFIDELITY_NORMALISED = 'the map scaled by β = E[IᵀΦ·Δf] / E[(IᵀΦ)²] before the squared error (Yeh et al., Captum normalize=True)';
export const SENSITIVITY_NORM = '‖Φ(x + u) − Φ(x)‖ / ‖Φ(x)‖, Frobenius, the largest over the copies (relative, as Quantus normalises)';

/** Checks a method request before any GPU work: known, and its options valid for this model. */
export function checkMethod(graph: Model['graph'], inputs: ExplainInputs, r: MethodRequest): void {
  const e = explainer(r.name);
  if (e.inputs === 'none') throw new ArgumentError(`${r.name} makes images, not maps of an input: it cannot be evaluated`);
  const [, c, h, w] = graph.input.shape as number[];
  e.validate(r.options ?? {}, { input: { channels: c!, height: h!, width: w! }, labels: inputs.labels, scale: (inputs.preprocess ?? graph.preprocess)?.scale ?? 1 });
}

/** The maps of method `r` for the batch (N×H×W) and the classes they explain. */
async function methodMaps(model: Model, inputs: ExplainInputs, r: MethodRequest, progress?: Progress, signal?: AbortSignal): Promise<{ maps: Float32Array; classes?: number[]; warnings: string[]; completeness?: (number | null)[] }> {
  const e = explainer(r.name);
  const [, c, h, w] = model.graph.input.shape as [number, number, number, number];
  const n = inputs.batch, hw = h * w, per = c * hw;
  const runs: { ex: Explanation; n: number }[] = [];
  // a one-image method given one class per image (the class each image was explained for): image i gets its own
  const given = r.options?.class;
  const list = typeof given === 'string' ? given.split(',') : Array.isArray(given) ? given : undefined;
  const own = (i: number) => (e.inputs === 'one' && n > 1 && list?.length === n ? { ...r.options, class: String(list[i]).trim() } : r.options);
  // a one-image method runs once per image: its progress is image i's share of one bar over all of them
  const share = (i: number): Progress | undefined => progress && ((d, t, what, preview) => progress(i + (t > 0 ? d / t : 1), n, what === undefined ? what : `${what} (${n} images)`, preview));
  if (e.inputs === 'one')
    for (let i = 0; i < n; i++) runs.push({ ex: await e.run(model, { ...inputs, data: inputs.data.subarray(i * per, (i + 1) * per), batch: 1, names: inputs.names?.slice(i, i + 1) }, own(i), share(i), signal), n: 1 });
  else runs.push({ ex: await e.run(model, inputs, r.options, progress, signal), n });
  const maps = new Float32Array(n * hw);
  const classes: number[] = [];
  const warnings: string[] = [];
  const completeness: (number | null)[] = [];
  let off = 0;
  for (const { ex, n: m } of runs) {
    if (!ex.maps || ex.maps.data.length !== m * hw) throw new ArgumentError(`${r.name} gives no ${h}×${w} map per image (its maps have shape [${ex.maps?.shape.join(', ') ?? ''}]): it cannot be evaluated`);
    maps.set(ex.maps.data, off * hw);
    const k = ex.meta.classes as number[] | undefined;
    if (Array.isArray(k) && k.length === m) classes.push(...k);
    warnings.push(...((ex.meta.warnings as string[] | undefined) ?? []));
    completeness.push(...(completenessOf(r.name, ex, inputs.data.subarray(off * per, (off + m) * per), m) ?? []));
    off += m;
  }
  return { maps, classes: classes.length === n ? classes : undefined, warnings, ...(completeness.length === n ? { completeness } : {}) };
}

/** The top-1 class of each image. */
async function topClasses(model: Model, x: Float32Array, n: number, names?: readonly string[]): Promise<number[]> {
  const cv = checkClassifier(model.graph);
  const logits = (await model.run(x, n, { outputs: [cv.logits], names })).get(model.resolve(cv.logits))!.data;
  const k = logits.length / n;
  return Array.from({ length: n }, (_, i) => {
    let b = 0;
    for (let q = 1; q < k; q++) if (logits[i * k + q]! > logits[i * k + b]!) b = q;
    return b;
  });
}

const num = (v: number) => (Number.isFinite(v) ? v : '');
const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** The mean of the finite values; null when there is none. */
const meanFinite = (xs: (number | null)[]) => {
  const f = xs.filter((v): v is number => v !== null && Number.isFinite(v));
  return f.length ? meanOf(f) : null;
};
const meanCurve = (cs: ArrayLike<number>[]) => Array.from(cs[0]!, (_, k) => meanOf(cs.map((c) => c[k]!)));

/**
 * A method's means over its images' results (images in the order given: sums in that order, then
 * divided by the count, so the same images in the same order give the same bits wherever their
 * results were computed): AUCs and mean curves, the pointing accuracy (hits / counted), infidelity,
 * max-sensitivity and completeness over the images where they are defined.
 */
export function imageMeans(images: readonly ImageResult[], metrics: readonly Metric[]): MethodResult['mean'] {
  const mean: MethodResult['mean'] = {};
  for (const metric of metrics) {
    if (metric !== 'deletion' && metric !== 'insertion') continue;
    mean[metric] = meanOf(images.map((im) => im[metric]!.auc));
    mean[`${metric}Curve`] = meanCurve(images.map((im) => im[metric]!.curve));
  }
  if (metrics.includes('pointing')) {
    let hits = 0, counted = 0;
    for (const im of images)
      if (im.pointing && im.pointing.hit !== null) {
        counted++;
        if (im.pointing.hit) hits++;
      }
    mean.pointing = counted ? hits / counted : null;
    mean.pointingCounted = counted;
  }
  if (metrics.includes('infidelity')) mean.infidelity = meanFinite(images.map((im) => im.infidelity!.infidelity));
  if (metrics.includes('sensitivity')) mean.sensitivity = meanFinite(images.map((im) => im.sensitivity!.max));
  if (images.some((im) => im.completeness !== undefined)) mean.completeness = meanFinite(images.map((im) => im.completeness ?? null));
  return mean;
}

/** The mean of each randomisation statistic over the images of one step (NaN where an image's is). */
export function randomisationMean(images: readonly Record<RandomisationStat, number>[]): Record<RandomisationStat, number> {
  return Object.fromEntries(RANDOMISATION_STATS.map((s) => [s, meanOf(images.map((im) => im[s]))])) as Record<RandomisationStat, number>;
}

/** Whether a method decorrelates: the mean |map| Spearman after the cascade's last step at most 0.5; null when undefined. */
export function decorrelation(steps: readonly RandomisationStep[]): boolean | null {
  const last = steps[steps.length - 1]!.mean['spearman-abs'];
  return Number.isFinite(last) ? Math.abs(last) <= DECORRELATION_THRESHOLD : null;
}

/** The warning of a method whose decorrelation is undefined. */
export const undecidedWarning = (method: string) => `${method}: randomisation: the Spearman correlation after the last step is undefined (a map is constant), so whether it decorrelates is not known`;

/**
 * Evaluates each method on the batch: its maps through the registry, then the chosen metrics
 * (default deletion and insertion, plus pointing when masks are given).
 */
export async function evaluate(model: Model, inputs: ExplainInputs, methods: readonly MethodRequest[], o: EvaluateOptions = {}): Promise<Evaluation> {
  const [, c, h, w] = model.graph.input.shape as [number, number, number, number];
  const n = inputs.batch;
  if (!(n >= 1)) throw new ArgumentError('evaluate needs at least one image');
  if (methods.length === 0) throw new ArgumentError('evaluate needs at least one method');
  checkClassifier(model.graph);
  const metrics = checkMetrics(o.metrics ?? (o.masks || o.regions ? ['deletion', 'insertion', 'pointing'] : ['deletion', 'insertion']));
  const steps = o.steps ?? 100;
  if (!Number.isInteger(steps) || steps < 1) throw new ArgumentError(`--steps must be an integer ≥ 1, got ${steps}`);
  if (metrics.includes('pointing')) {
    if (!o.masks && !o.regions) throw new ArgumentError('the pointing game needs a region mask per image (--masks DIR) or scenes (--segmentation DIR)');
    if (o.regions && o.regions.length !== n) throw new ArgumentError(`${o.regions.length} regions for ${n} images`);
    if (o.masks && o.masks.length !== n) throw new ArgumentError(`${o.masks.length} masks for ${n} images`);
    o.masks?.forEach((m, i) => {
      if (m && m.length !== h * w) throw new ShapeError(`the mask of ${inputs.names?.[i] ?? `image ${i}`} holds ${m.length} values, not ${h}×${w}`);
    });
  }
  checkFaithfulnessOptions(o);
  for (const r of methods) checkMethod(model.graph, inputs, r);
  const cascade = metrics.includes('randomisation') ? cascadeSteps(model.graph, o.randomise) : [];
  const seed = o.seed ?? 0;
  const x = inputs.data.subarray(0, n * c * h * w);
  const names = inputs.names ?? Array.from({ length: n }, (_, i) => `image ${i}`);
  let top: number[] | undefined;
  const pp = inputs.preprocess ?? model.graph.preprocess;
  const infidelitySamples = o.infidelitySamples ?? INFIDELITY_SAMPLES, infidelitySigma = o.infidelitySigma ?? INFIDELITY_SIGMA;
  const sensitivitySamples = o.sensitivitySamples ?? SENSITIVITY_SAMPLES, radius = o.radius ?? SENSITIVITY_RADIUS;
  let probe: InfidelityProbe | undefined; // the perturbed images' logits, shared by every method
  const curveMetrics = metrics.filter((m): m is 'deletion' | 'insertion' => m === 'deletion' || m === 'insertion');
  const out: MethodResult[] = [];
  for (const r of methods) {
    throwIfCancelled(o.signal, 'evaluate');
    const got = await methodMaps(model, inputs, r, o.progress, o.signal);
    const classes = got.classes ?? (top ??= await topClasses(model, x, n, inputs.names));
    const images: ImageResult[] = names.map((image, i) => ({ image, class: classes[i]! }));
    if (curveMetrics.length) {
      const curves = await perturbationCurves(model, x, n, got.maps, classes, curveMetrics, { ...o, onProgress: o.progress && ((d, t) => o.progress!(d, t, `${r.name} deletion/insertion`)) });
      for (const [metric, cs] of curves) cs.forEach((cv, i) => (images[i]![metric] = { auc: trapezoidAuc(cv), curve: Array.from(cv) }));
    }
    if (metrics.includes('pointing')) {
      images.forEach((im, i) => {
        const region = o.regions?.[i]?.(im.class);
        const mask = region?.mask ?? o.masks?.[i];
        if (!mask) return;
        if (mask.length !== h * w) throw new ShapeError(`the region of ${im.image} holds ${mask.length} values, not ${h}×${w}`);
        im.pointing = pointingGame(got.maps.subarray(i * h * w, (i + 1) * h * w), mask, h, w, o.tolerance ?? 15);
        if (region) im.pointing.concepts = region.concepts;
      });
    }
    if (metrics.includes('infidelity')) {
      probe ??= await infidelityProbe(model, x, n, { samples: infidelitySamples, sigma: infidelitySigma, seed, keys: o.keys, preprocess: pp, batch: o.batch, signal: o.signal, onProgress: o.progress && ((d, t) => o.progress!(d, t, 'infidelity')) });
      const scores = infidelityScores(probe, got.maps, classes);
      scores.forEach((v, i) => (images[i]!.infidelity = v));
    }
    if (metrics.includes('sensitivity')) {
      const sens = await sensitivity(model, inputs, r, got.maps, classes, sensitivitySamples, radius, seed, o);
      sens.forEach((v, i) => {
        images[i]!.sensitivity = v;
        if (Number.isNaN(v.max)) got.warnings.push(`${r.name}: sensitivity of ${names[i]} is undefined: its map is all zero and a perturbed copy's is not`);
      });
    }
    if (got.completeness) got.completeness.forEach((g, i) => (images[i]!.completeness = g));
    const res: MethodResult = { method: r.name, options: r.options ?? {}, maps: got.maps, images, mean: imageMeans(images, metrics), warnings: got.warnings };
    if (cascade.length) {
      res.randomisation = await randomisationCascade(model, inputs, r, got.maps, classes, cascade, seed, o);
      res.decorrelates = decorrelation(res.randomisation);
      if (res.decorrelates === null) res.warnings.push(undecidedWarning(r.name));
    }
    out.push(res);
  }
  const e: Evaluation = { metrics, steps, sigma: o.sigma ?? 5, tolerance: o.tolerance ?? 15, deletionBaseline: DELETION_BASELINE, methods: out };
  if (cascade.length) {
    e.seed = seed;
    e.notDecorrelating = out.filter((m) => m.decorrelates === false).map((m) => m.method);
  }
  if (cascade.length || metrics.includes('infidelity') || metrics.includes('sensitivity')) e.seed = seed;
  if (metrics.includes('infidelity')) e.infidelity = { samples: infidelitySamples, sigma: infidelitySigma, sigmaUnits: infidelitySigma * pixelSpan(pp), f: INFIDELITY_F, normalised: INFIDELITY_NORMALISED };
  if (metrics.includes('sensitivity')) e.sensitivity = { samples: sensitivitySamples, radius, radiusUnits: radius * pixelSpan(pp), norm: SENSITIVITY_NORM };
  return e;
}

/** The request of method `r` for the classes it explained on the original: its own class option when it has one. */
function sameClass(r: MethodRequest, classes: readonly number[]): MethodRequest {
  const hasClass = explainer(r.name).options.some((s) => s.name === 'class');
  return hasClass ? { name: r.name, options: { ...r.options, class: classes.join(',') } } : r;
}

/** Max-sensitivity of method `r`: its maps of the perturbed copies (one batch for a batch method), with the same classes. */
async function sensitivity(model: Model, inputs: ExplainInputs, r: MethodRequest, orig: Float32Array, classes: readonly number[], samples: number, radius: number, seed: number, o: EvaluateOptions): Promise<SensitivityResult[]> {
  const [, c, h, w] = model.graph.input.shape as [number, number, number, number];
  const n = inputs.batch;
  const names = inputs.names ?? Array.from({ length: n }, (_, i) => `image ${i}`);
  const label = `${r.name} sensitivity`;
  o.progress?.(0, 1, label);
  const res = await maxSensitivity(inputs.data.subarray(0, n * c * h * w), n, [c, h, w], orig, async (copies, count) => {
    const copyClasses = Array.from({ length: count }, (_, q) => classes[Math.floor(q / samples)]!);
    const copyNames = Array.from({ length: count }, (_, q) => `${names[Math.floor(q / samples)]} (sensitivity copy ${(q % samples) + 1})`);
    const progress: Progress | undefined = o.progress && ((d, t) => o.progress!(d, t, label));
    return (await methodMaps(model, { ...inputs, data: copies, batch: count, names: copyNames }, sameClass(r, copyClasses), progress, o.signal)).maps;
  }, { samples, radius, seed, keys: o.keys, preprocess: inputs.preprocess ?? model.graph.preprocess });
  o.progress?.(1, 1, label);
  return res;
}

/**
 * The randomisation cascade of method `r`: per step a temporary model over the randomised graph,
 * the maps for the same images and classes, and their statistics against `orig`.
 */
async function randomisationCascade(model: Model, inputs: ExplainInputs, r: MethodRequest, orig: Float32Array, classes: readonly number[], cascade: ReturnType<typeof cascadeSteps>, seed: number, o: EvaluateOptions): Promise<RandomisationStep[]> {
  const [, , h, w] = model.graph.input.shape as [number, number, number, number];
  const n = inputs.batch, hw = h * w;
  // the same class as on the original model: the method's own class option when it has one
  const req = sameClass(r, classes);
  const steps: RandomisationStep[] = [];
  for (const [k, step] of cascade.entries()) {
    throwIfCancelled(o.signal, 'evaluate');
    o.progress?.(k, cascade.length, `${r.name} randomisation`);
    const m = new Model(model.engine, randomisedGraph(model.graph, step.layers, seed));
    m.memoryBudget = model.memoryBudget;
    let maps: Float32Array;
    try {
      maps = (await methodMaps(m, inputs, req, undefined, o.signal)).maps;
    } finally {
      m.destroy();
    }
    const images = Array.from({ length: n }, (_, i) => {
      const a = orig.subarray(i * hw, (i + 1) * hw), b = maps.subarray(i * hw, (i + 1) * hw);
      return { spearman: spearman(a, b), 'spearman-abs': spearman(a, b, true), ssim: ssim(a, b, h, w) };
    });
    steps.push({ layer: step.name, layers: step.layers, maps, images, mean: randomisationMean(images) });
  }
  o.progress?.(cascade.length, cascade.length, `${r.name} randomisation`);
  return steps;
}

/**
 * The table of an evaluation: one row per method × image × metric, then the per-method means (image
 * "mean"). Columns randomised_to (randomisation) and region (the concepts a scene's region is made
 * of, "none" when none matched) only when there are such rows.
 */
export function evaluationTable(e: Evaluation): { columns: string[]; rows: (string | number)[][] } {
  const rows: (string | number)[][] = [];
  for (const m of e.methods) {
    for (const im of m.images)
      for (const metric of e.metrics) {
        if (metric === 'randomisation') continue;
        const v =
          metric === 'pointing' ? (im.pointing?.hit === null || im.pointing === undefined ? '' : im.pointing.hit ? 1 : 0)
          : metric === 'infidelity' ? num(im.infidelity!.infidelity)
          : metric === 'sensitivity' ? num(im.sensitivity!.max)
          : im[metric]!.auc;
        rows.push([m.method, im.image, im.class, metric, v, '', metric === 'pointing' && im.pointing?.concepts ? im.pointing.concepts.join('; ') || 'none' : '']);
      }
    // completeness: only for a method that states one
    if (m.mean.completeness !== undefined) for (const im of m.images) rows.push([m.method, im.image, im.class, 'completeness', im.completeness ?? '', '']);
    for (const metric of e.metrics) if (metric !== 'randomisation') rows.push([m.method, 'mean', '', metric, m.mean[metric] ?? '', '']);
    if (m.mean.completeness !== undefined) rows.push([m.method, 'mean', '', 'completeness', m.mean.completeness ?? '', '']);
    for (const step of m.randomisation ?? []) {
      m.images.forEach((im, i) => {
        for (const s of RANDOMISATION_STATS) rows.push([m.method, im.image, im.class, `randomisation-${s}`, num(step.images[i]![s]), step.layer]);
      });
      for (const s of RANDOMISATION_STATS) rows.push([m.method, 'mean', '', `randomisation-${s}`, num(step.mean[s]), step.layer]);
    }
  }
  // the column of the layer a randomisation row was randomised down to, and the region's concepts, only when there are such rows
  const columns = ['method', 'image', 'class', 'metric', 'value', 'randomised_to', 'region'];
  const regions = e.methods.some((m) => m.images.some((im) => im.pointing?.concepts));
  const keep = [0, 1, 2, 3, 4, ...(e.metrics.includes('randomisation') ? [5] : []), ...(regions ? [6] : [])];
  return { columns: keep.map((k) => columns[k]!), rows: rows.map((r) => keep.map((k) => r[k] ?? '')) };
}
