// Infidelity, max-sensitivity and completeness (issue 14): the metrics of Yeh et al. 2019, "On the
// (in)fidelity and sensitivity of explanations", and the completeness a method promises itself.
// explainers/evaluate.ts calls these per method; they are also the library's own functions.
//
// - Infidelity: INFD = E_I[(β·IᵀΦ − (f(x) − f(x − I)))²], a Monte-Carlo mean over `samples`
//   perturbations I (default 10: Captum's and Quantus' n_perturb_samples). I ~ N(0, σ²) on every
//   input value (each channel of each pixel), σ = `sigma` × the pixel range in network units
//   (255 × the preprocessing scale: 1 for LeNet's 0..1, 255 for Caffe SqueezeNet's mean-subtracted
//   0..255). The default σ is 0.003 of the range, the perturbation of Captum's infidelity example
//   (N(0, 0.003²); Captum and Quantus have no default Gaussian). It keeps the test local, where an
//   attribution can be judged by how it predicts the logit's change: on the shipped LeNet the
//   relative INFD of input × gradient is 0.73 at σ 0.003, 0.75 at 0.01, 0.98 at 0.05 and 1.00 at
//   0.2 (the perturbation Yeh et al.'s code draws around a zero baseline), as at a few percent of
//   the range the ReLU pattern changes and every map explains nothing of Δf (50 samples, one digit).
//   x − I is not clipped to the pixel range (Captum does not clip either), so a linear model's
//   gradient is exactly faithful.
//   f is the target class's logit (pre-softmax: Captum's and Quantus' default, no softmax).
//   Φ is one H×W value per pixel (the methods give per-pixel maps), so IᵀΦ = Σ_p Φ_p Σ_c I_{c,p}.
//   Scale-invariant form (Yeh et al. §3, Captum's normalize=True): Φ is scaled by the optimal
//   β = E[(IᵀΦ)·Δf] / E[(IᵀΦ)²] before the squared error, so maps of different scales compare
//   (β = 0 when IᵀΦ is 0 for every sample, an all-zero map: INFD is then E[Δf²]). Also given:
//   the unnormalised INFD (β = 1) and the relative INFD, INFD / E[Δf²] (0: the map predicts every
//   change of the logit, 1: no better than an all-zero map). Lower is better. β is fitted on the
//   same samples, so few samples flatter every map: one unrelated to Δf scores about
//   1 − 1/samples relative.
//   The noise does not depend on the method, so one stream of batches of perturbed images (each
//   image, then its samples) serves every method: `infidelityProbe` runs it, keeping all logits
//   and Σ_c I per pixel; `infidelityScores` scores a method's maps against it.
// - Max-sensitivity: SENS_MAX = max over `samples` copies y = x + u (default 10, Captum's) of
//   ‖Φ(y) − Φ(x)‖ / ‖Φ(x)‖ (Frobenius norms of the H×W maps), u uniform in the L∞ ball of radius
//   r = `radius` × the pixel range in network units (default 0.02, Captum's perturb_radius).
//   Relative, as Quantus normalises by default (and Captum's sensitivity_max), so methods of
//   different scales compare. The method explains the copies with the class it explained on x.
//   0 when Φ(x) = 0 and every Φ(y) = 0; undefined (NaN) when Φ(x) = 0 and some Φ(y) is not.
//   Lower is better.
// - Completeness: the relative gap |Σ map − target| / |target| a method states itself: IG's
//   completeness gap (target f(x) − f(baseline)), LRP's conservation (target the class logit; its
//   meta's signed relative gap, made absolute), an etalon's affine identity <W_X, X> + b = NET(X)
//   (target NET(X); the etalon map is W_X, so Σ map·x + b is compared). Null where the target is 0.
//   Methods that promise nothing get no value.
//
// Noise: per image its own mulberry32 stream (engine/train.ts) seeded from `seed` and the image's
// index (Gaussian through Box–Muller), so an image's numbers do not depend on the rest of the batch;
// or, with `keys`, from a key per image in place of the index (loupe evaluate's data-set runs key an
// image by its name, so its noise is the same whichever images share its run or shard).
// No Node modules, no files, no device access: model.run only.
import type { Model } from '../engine/runner.ts';
import type { Preprocess } from '../engine/ir.ts';
import { ArgumentError, ShapeError, throwIfCancelled } from '../engine/errors.ts';
import { checkClassifier } from '../engine/classify.ts';
import { mulberry32 } from '../engine/train.ts';
import type { Explanation } from './explanation.ts';

export const INFIDELITY_SAMPLES = 10;
export const INFIDELITY_SIGMA = 0.003;
export const SENSITIVITY_SAMPLES = 10;
export const SENSITIVITY_RADIUS = 0.02;
/** Most perturbations per image either metric takes. */
export const MAX_SAMPLES = 10000;

/** The pixel range 0..255 in network units: 255 × |the preprocessing scale|. */
export function pixelSpan(pp: Preprocess | undefined): number {
  return 255 * Math.abs(pp?.scale ?? 1);
}

/** Checks the options of infidelity and max-sensitivity; ArgumentError naming the flag. */
export function checkFaithfulnessOptions(o: { infidelitySamples?: number; infidelitySigma?: number; sensitivitySamples?: number; radius?: number }): void {
  for (const [flag, v] of [['--infidelity-samples', o.infidelitySamples], ['--sensitivity-samples', o.sensitivitySamples]] as const)
    if (v !== undefined && !(Number.isInteger(v) && v >= 1 && v <= MAX_SAMPLES)) throw new ArgumentError(`${flag} must be an integer in [1, ${MAX_SAMPLES}], got ${v}`);
  if (o.infidelitySigma !== undefined && !(Number.isFinite(o.infidelitySigma) && o.infidelitySigma > 0)) throw new ArgumentError(`--infidelity-sigma must be a number > 0 (a fraction of the pixel range), got ${o.infidelitySigma}`);
  if (o.radius !== undefined && !(Number.isFinite(o.radius) && o.radius >= 0)) throw new ArgumentError(`--radius must be a number ≥ 0 (a fraction of the pixel range), got ${o.radius}`);
}

const SALT_INFIDELITY = 0x1f1de117, SALT_SENSITIVITY = 0x5e45171e;

/** The uniform [0, 1) stream of image `image` for one metric. */
function imageStream(seed: number, image: number, salt: number): () => number {
  return mulberry32((Math.imul((seed >>> 0) ^ salt, 0x9e3779b1) + Math.imul(image + 1, 0x85ebca6b)) >>> 0);
}

/** Standard normal numbers from a uniform [0, 1) stream (Box–Muller, both values used in turn). */
export function gaussianStream(uniform: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u1 = 1 - uniform(), u2 = uniform(); // u1 in (0, 1]
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
}

/** The standard normal stream infidelity draws image `image`'s perturbations from (sample by sample, value by value, C×H×W order). */
export function infidelityNoise(seed: number, image: number): () => number {
  return gaussianStream(imageStream(seed, image, SALT_INFIDELITY));
}

/** The uniform [0, 1) stream max-sensitivity draws image `image`'s perturbations from (u = r·(2·value − 1)). */
export function sensitivityNoise(seed: number, image: number): () => number {
  return imageStream(seed, image, SALT_SENSITIVITY);
}

export interface InfidelityOptions {
  /** perturbations per image; default 10 */
  samples?: number;
  /** σ of the noise as a fraction of the pixel range; default 0.003 */
  sigma?: number;
  /** default 0 */
  seed?: number;
  /** per image the key of its noise stream in place of its index in the batch (a data-set run keys each image by its name, so its noise does not depend on its place) */
  keys?: readonly number[];
  /** the preprocessing (its scale turns the fraction into network units); default the model's */
  preprocess?: Preprocess;
  /** images per model run; default model.maxBatch of the logits */
  batch?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** What infidelity needs of the model, whatever the map: the logits of x and of each x − I, and Σ_c I per pixel. */
export interface InfidelityProbe {
  n: number;
  samples: number;
  /** σ as a fraction of the pixel range, and in network units */
  sigma: number;
  sigmaUnits: number;
  seed: number;
  /** classes of the logits */
  k: number;
  hw: number;
  /** n×K: f(x) */
  clean: Float32Array;
  /** n×samples×K: f(x − I) */
  perturbed: Float32Array;
  /** n×samples×H×W: Σ over channels of I */
  noiseSums: Float64Array;
}

/** Runs the perturbed images of every image of `x` (N×C×H×W) through the model, in batches. */
export async function infidelityProbe(model: Model, x: Float32Array, n: number, o: InfidelityOptions = {}): Promise<InfidelityProbe> {
  const [, c, h, w] = model.graph.input.shape as [number, number, number, number];
  const hw = h * w, per = c * hw;
  const samples = o.samples ?? INFIDELITY_SAMPLES, sigma = o.sigma ?? INFIDELITY_SIGMA, seed = o.seed ?? 0;
  checkFaithfulnessOptions({ infidelitySamples: samples, infidelitySigma: sigma });
  if (!(n >= 1) || x.length < n * per) throw new ShapeError(`${n} images of ${c}×${h}×${w} need ${n * per} values, got ${x.length}`);
  if (o.keys && o.keys.length !== n) throw new ShapeError(`${o.keys.length} noise keys for ${n} images`);
  const sigmaUnits = sigma * pixelSpan(o.preprocess ?? model.graph.preprocess);
  const cv = checkClassifier(model.graph);
  const value = model.resolve(cv.logits);
  // stream item s: image ⌊s/(samples+1)⌋, the clean image at s mod (samples+1) = 0, else a sample
  const total = n * (samples + 1);
  const chunk = Math.max(1, Math.min(o.batch ?? Infinity, model.maxBatch([cv.logits]), total));
  const batch = new Float32Array(chunk * per);
  const noiseSums = new Float64Array(n * samples * hw);
  let clean: Float32Array | undefined, perturbed: Float32Array | undefined, k = 0;
  let z: () => number = () => 0;
  o.onProgress?.(0, total);
  for (let start = 0; start < total; start += chunk) {
    throwIfCancelled(o.signal, 'infidelity');
    const m = Math.min(chunk, total - start);
    for (let b = 0; b < m; b++) {
      const s = start + b, i = Math.floor(s / (samples + 1)), q = s % (samples + 1);
      const img = batch.subarray(b * per, (b + 1) * per), orig = x.subarray(i * per, (i + 1) * per);
      if (q === 0) {
        img.set(orig);
        z = infidelityNoise(seed, o.keys?.[i] ?? i);
        continue;
      }
      const sums = noiseSums.subarray((i * samples + q - 1) * hw, (i * samples + q) * hw);
      for (let j = 0; j < per; j++) {
        img[j] = orig[j]! - sigmaUnits * z();
        sums[j % hw] += orig[j]! - img[j]!; // the perturbation as applied, after float32 rounding
      }
    }
    const logits = (await model.run(batch.subarray(0, m * per), m, { outputs: [cv.logits] })).get(value)!.data;
    if (!clean) {
      k = logits.length / m;
      clean = new Float32Array(n * k);
      perturbed = new Float32Array(n * samples * k);
    }
    for (let b = 0; b < m; b++) {
      const s = start + b, i = Math.floor(s / (samples + 1)), q = s % (samples + 1);
      const row = logits.subarray(b * k, (b + 1) * k);
      if (q === 0) clean.set(row, i * k);
      else perturbed!.set(row, (i * samples + q - 1) * k);
    }
    o.onProgress?.(start + m, total);
  }
  return { n, samples, sigma, sigmaUnits, seed, k, hw, clean: clean!, perturbed: perturbed!, noiseSums };
}

export interface InfidelityResult {
  /** the scale-invariant infidelity, E[(β·IᵀΦ − Δf)²] */
  infidelity: number;
  /** the optimal scale of the map (0 for an all-zero map) */
  beta: number;
  /** E[(IᵀΦ − Δf)²], the map as it is */
  unnormalised: number;
  /** infidelity / E[Δf²]; NaN when no perturbation changed the logit */
  relative: number;
}

/** Infidelity of `maps` (N×H×W) for `classes`, against a probe of the same images. */
export function infidelityScores(probe: InfidelityProbe, maps: ArrayLike<number>, classes: readonly number[]): InfidelityResult[] {
  const { n, samples, hw, k } = probe;
  if (maps.length !== n * hw) throw new ShapeError(`maps hold ${maps.length} values; ${n} maps of ${hw} pixels need ${n * hw}`);
  if (classes.length !== n) throw new ShapeError(`${classes.length} classes for ${n} images`);
  return Array.from({ length: n }, (_, i) => {
    const t = classes[i]!;
    if (!(Number.isInteger(t) && t >= 0 && t < k)) throw new ArgumentError(`class ${t} is not one of the model's ${k} classes`);
    const fx = probe.clean[i * k + t]!;
    const a = new Float64Array(samples), d = new Float64Array(samples);
    for (let s = 0; s < samples; s++) {
      const sums = probe.noiseSums.subarray((i * samples + s) * hw, (i * samples + s + 1) * hw);
      let dot = 0;
      for (let p = 0; p < hw; p++) dot += maps[i * hw + p]! * sums[p]!;
      a[s] = dot;
      d[s] = fx - probe.perturbed[(i * samples + s) * k + t]!;
    }
    let saa = 0, sad = 0, sdd = 0;
    for (let s = 0; s < samples; s++) (saa += a[s]! * a[s]!), (sad += a[s]! * d[s]!), (sdd += d[s]! * d[s]!);
    const beta = saa > 0 ? sad / saa : 0;
    let inf = 0, raw = 0;
    for (let s = 0; s < samples; s++) (inf += (beta * a[s]! - d[s]!) ** 2), (raw += (a[s]! - d[s]!) ** 2);
    return { infidelity: inf / samples, beta, unnormalised: raw / samples, relative: sdd > 0 ? inf / sdd : NaN };
  });
}

/** Infidelity of `maps` (N×H×W) over the images `x` (N×C×H×W) for `classes`: the probe, then the scores. */
export async function infidelity(model: Model, x: Float32Array, n: number, maps: ArrayLike<number>, classes: readonly number[], o: InfidelityOptions = {}): Promise<InfidelityResult[]> {
  return infidelityScores(await infidelityProbe(model, x, n, o), maps, classes);
}

export interface SensitivityOptions {
  /** perturbed copies per image; default 10 */
  samples?: number;
  /** the L∞ radius as a fraction of the pixel range; default 0.02 */
  radius?: number;
  /** default 0 */
  seed?: number;
  /** per image the key of its noise stream in place of its index (see InfidelityOptions.keys) */
  keys?: readonly number[];
  /** its scale turns the fraction into network units; default none (scale 1) */
  preprocess?: Preprocess;
}

export interface SensitivityResult {
  /** the largest relative change over the copies */
  max: number;
  /** ‖Φ(y) − Φ(x)‖ / ‖Φ(x)‖ per copy */
  values: number[];
}

/** The perturbed copies of the images `x` (N×C×H×W): image-major, `samples` copies each, y = x + u. */
export function sensitivityCopies(x: Float32Array, n: number, per: number, o: SensitivityOptions = {}): Float32Array {
  const samples = o.samples ?? SENSITIVITY_SAMPLES, radius = o.radius ?? SENSITIVITY_RADIUS;
  checkFaithfulnessOptions({ sensitivitySamples: samples, radius });
  const r = radius * pixelSpan(o.preprocess);
  if (o.keys && o.keys.length !== n) throw new ShapeError(`${o.keys.length} noise keys for ${n} images`);
  const out = new Float32Array(n * samples * per);
  for (let i = 0; i < n; i++) {
    const u = sensitivityNoise(o.seed ?? 0, o.keys?.[i] ?? i), orig = x.subarray(i * per, (i + 1) * per);
    for (let s = 0; s < samples; s++) {
      const y = out.subarray((i * samples + s) * per, (i * samples + s + 1) * per);
      for (let j = 0; j < per; j++) y[j] = orig[j]! + r * (2 * u() - 1);
    }
  }
  return out;
}

/**
 * Max-sensitivity of a method over the images `x` (N×C×H×W), whose maps on them are `maps`
 * (N×H×W): `explain(copies, count)` gives the method's maps (count×H×W) of the perturbed copies,
 * image-major (image i's copies are i·samples .. (i+1)·samples − 1; explain each with image i's class).
 */
export async function maxSensitivity(x: Float32Array, n: number, shape: readonly [number, number, number], maps: ArrayLike<number>, explain: (copies: Float32Array, count: number) => Promise<ArrayLike<number>>, o: SensitivityOptions = {}): Promise<SensitivityResult[]> {
  const [c, h, w] = shape, hw = h * w;
  const samples = o.samples ?? SENSITIVITY_SAMPLES;
  if (maps.length !== n * hw) throw new ShapeError(`maps hold ${maps.length} values; ${n} maps of ${h}×${w} need ${n * hw}`);
  const copies = sensitivityCopies(x, n, c * hw, o);
  const got = await explain(copies, n * samples);
  if (got.length !== n * samples * hw) throw new ShapeError(`the maps of ${n * samples} copies hold ${got.length} values, not ${n * samples}×${h}×${w}`);
  return Array.from({ length: n }, (_, i) => {
    let norm = 0;
    for (let p = 0; p < hw; p++) norm += maps[i * hw + p]! ** 2;
    const values = Array.from({ length: samples }, (_, s) => {
      let diff = 0;
      const off = (i * samples + s) * hw;
      for (let p = 0; p < hw; p++) diff += (got[off + p]! - maps[i * hw + p]!) ** 2;
      return norm > 0 ? Math.sqrt(diff / norm) : diff === 0 ? 0 : NaN;
    });
    return { max: values.some((v) => Number.isNaN(v)) ? NaN : Math.max(...values), values };
  });
}

/** The methods that state a completeness, and what their gap compares. */
export const COMPLETENESS: Record<string, string> = {
  ig: 'Σ attributions against f(x) − f(baseline) (the completeness axiom)',
  lrp: 'Σ relevance at the input against the class logit (conservation)',
  etalon: '<W_X, X> + b against the neuron value NET(X) (the etalon is the net\'s affine map at X)',
};

/**
 * The relative completeness gap of each of the `m` maps of explanation `ex` of method `method`
 * over the images `x` (m×C×H×W), or undefined for a method that promises none (see the header).
 */
export function completenessOf(method: string, ex: Explanation, x: Float32Array, m: number): (number | null)[] | undefined {
  const meta = ex.meta as Record<string, unknown>;
  if (method === 'ig' && Array.isArray(meta.completenessGap) && meta.completenessGap.length === m) return (meta.completenessGap as (number | null)[]).map((g) => g ?? null);
  if (method === 'lrp' && Array.isArray(meta.conservation) && meta.conservation.length === m)
    return (meta.conservation as { relativeGap: number | null }[]).map((r) => (r.relativeGap === null ? null : Math.abs(r.relativeGap)));
  if (method === 'etalon' && m === 1 && ex.maps && ex.maps.data.length === x.length) {
    const b = meta.biases as number[] | undefined, v = meta.values as number[] | undefined;
    if (b?.length !== 1 || v?.length !== 1) return undefined;
    let s = b[0]!;
    for (let j = 0; j < x.length; j++) s += ex.maps.data[j]! * x[j]!;
    return [v[0] !== 0 ? Math.abs(s - v[0]!) / Math.abs(v[0]!) : null];
  }
  return undefined;
}
