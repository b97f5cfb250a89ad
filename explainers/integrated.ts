// Path and product attributions (survey §2): Integrated Gradients (Sundararajan et al. 2017) and
// input × gradient, with the quadratures and baselines IG needs. Both give an input-shaped
// attribution tensor (N×C×H×W) and, per image, its signed sum over channels as the map.
//
// IG_i(x) = (x_i − b_i) · ∫₀¹ ∂f_c/∂x_i (b + α(x − b)) dα, approximated by Σ_k w_k ∂f_c/∂x (b + α_k(x − b)):
//   riemann        — the midpoint Riemann sum, α_k = (k + ½)/m, w_k = 1/m (the default: see the
//                    `rule` option in registry.ts for why, on ReLU nets);
//   gauss-legendre — the m Gauss–Legendre nodes and weights on [0, 1] (exact for polynomials of
//                    degree 2m − 1; Captum's default, and the better rule for smooth nets).
// The path's points are made on the GPU from the image and its baseline (engine/sources.ts
// PathImages) and go through the recording forward and the reverse walk in batches the device fits
// (`model.maxRecordBatch()`); the weighted sum of the gradients is kept in float64 on the CPU.
// Completeness (the paper's axiom): Σ_i IG_i = f_c(x) − f_c(b); the gap |Σ IG − (f(x) − f(b))| /
// |f(x) − f(b)| measures the quadrature's error and is reported per image.
import { gaussianBlur } from '../loaders/preprocess.ts';
import type { Model, Tensor } from '../engine/runner.ts';
import type { Preprocess } from '../engine/ir.ts';
import { Reverser } from '../engine/reverse.ts';
import { classifierValues, softmaxRows } from '../engine/classify.ts';
import { ArgumentError, throwIfCancelled } from '../engine/errors.ts';
import { PathImages, uniformNoise } from '../engine/sources.ts';
import { readNpy } from '../loaders/npy.ts';
import { inputHW, oneHot, pickClasses, saliency, type ClassExplanation, type Target } from './gradients.ts';
import type { FileInput } from './options.ts';

// ---- quadratures --------------------------------------------------------------------------------

export type IgRule = 'riemann' | 'gauss-legendre';

export interface Quadrature {
  /** positions on the path, ascending in (0, 1) */
  alphas: Float64Array;
  weights: Float64Array;
  /** what the rule is, for the JSON */
  text: string;
}

/**
 * The m-point Gauss–Legendre rule on [0, 1], in float64: the roots of the Legendre polynomial P_m by
 * Newton's method from Tricomi's estimates cos(π(i − ¼)/(m + ½)), P_m and P_m' by the three-term
 * recurrence, weights 2/((1 − t²) P_m'(t)²) on [−1, 1], both mapped to [0, 1].
 */
export function gaussLegendre(m: number): Quadrature {
  if (!Number.isInteger(m) || m < 1) throw new ArgumentError(`Gauss–Legendre needs a whole number of nodes ≥ 1, got ${m}`);
  const alphas = new Float64Array(m);
  const weights = new Float64Array(m);
  // P_m(t) and P_{m−1}(t) by (k)P_k = (2k − 1) t P_{k−1} − (k − 1) P_{k−2}
  const legendre = (t: number): [number, number] => {
    let p0 = 1, p1 = t;
    for (let k = 2; k <= m; k++) [p0, p1] = [p1, ((2 * k - 1) * t * p1 - (k - 1) * p0) / k];
    return [p1, p0];
  };
  const derivative = (t: number, [pm, pm1]: [number, number]) => (m * (t * pm - pm1)) / (t * t - 1);
  for (let i = 0; i < Math.ceil(m / 2); i++) {
    let t = Math.cos((Math.PI * (i + 0.75)) / (m + 0.5)); // the (i+1)-th largest root, nearly
    for (let it = 0; it < 100; it++) {
      const p = legendre(t);
      const dt = p[0] / derivative(t, p);
      t -= dt;
      if (Math.abs(dt) <= 1e-16) break;
    }
    const dp = derivative(t, legendre(t));
    // on [0, 1] the root t sits at (1 + t)/2 and its mirror −t at (1 − t)/2; the weight halves
    alphas[i] = (1 - t) / 2;
    alphas[m - 1 - i] = (1 + t) / 2;
    weights[i] = weights[m - 1 - i] = 1 / ((1 - t * t) * dp * dp);
  }
  return { alphas, weights, text: `Gauss–Legendre, ${m} nodes on [0, 1]` };
}

/** The midpoint Riemann sum of m steps on [0, 1]: α_k = (k + ½)/m, w_k = 1/m. */
export function riemannMidpoint(m: number): Quadrature {
  if (!Number.isInteger(m) || m < 1) throw new ArgumentError(`a Riemann sum needs a whole number of steps ≥ 1, got ${m}`);
  return { alphas: Float64Array.from({ length: m }, (_, k) => (k + 0.5) / m), weights: new Float64Array(m).fill(1 / m), text: `midpoint Riemann sum, ${m} steps: alpha_k = (k + 1/2)/${m}, weight 1/${m}` };
}

export function quadrature(rule: IgRule, m: number): Quadrature {
  return rule === 'gauss-legendre' ? gaussLegendre(m) : riemannMidpoint(m);
}

// ---- baselines ----------------------------------------------------------------------------------

/** black, blur, noise, or a file (an .npy of the input's shape: C×H×W for every image, or N×C×H×W). */
export type BaselineChoice = 'black' | 'blur' | 'noise' | FileInput;

export interface BaselineOptions {
  /** how pixels 0..255 became the network's units */
  preprocess: Preprocess;
  /** blur: σ of the Gaussian, in pixels */
  blurSigma?: number;
  /** noise: the seed (image i is stream i) */
  seed?: number;
}

/** Each channel's value of pixels 0 and 255 in the network's units (the preprocessing's mean and scale). */
export function pixelRange(pp: Preprocess, c: number): { lo: number[]; hi: number[] } {
  const mean = pp.mean ?? [];
  const scale = pp.scale ?? 1;
  const mu = (k: number) => (mean.length === 0 ? 0 : mean.length === 1 ? mean[0]! : (mean[k] ?? 0));
  return { lo: Array.from({ length: c }, (_, k) => (0 - mu(k)) * scale), hi: Array.from({ length: c }, (_, k) => (255 - mu(k)) * scale) };
}

/** The baseline of each image (batch × C×H×W), in the network's units; a bad file is one ArgumentError naming it. */
export async function baselines(model: Model, x: Float32Array, batch: number, choice: BaselineChoice, o: BaselineOptions): Promise<Float32Array> {
  const [c, h, w] = inputHW(model);
  const per = c * h * w;
  const out = new Float32Array(batch * per);
  if (choice === 'black') {
    const { lo } = pixelRange(o.preprocess, c);
    for (let i = 0; i < batch; i++) for (let k = 0; k < c; k++) out.fill(lo[k]!, i * per + k * h * w, i * per + (k + 1) * h * w);
  } else if (choice === 'blur') {
    const sigma = o.blurSigma ?? Math.min(h, w) / 10;
    for (let i = 0; i < batch; i++) out.set(gaussianBlur(x.subarray(i * per, (i + 1) * per), c, h, w, sigma), i * per);
  } else if (choice === 'noise') {
    const { lo, hi } = pixelRange(o.preprocess, c);
    for (let i = 0; i < batch; i++) out.set(await uniformNoise(model, lo, hi, { seed: o.seed ?? 0, stream: i }, 0, 1), i * per);
  } else {
    const a = readNpy(choice.bytes, choice.name);
    const dims = a.shape;
    const want = `${c}×${h}×${w}`;
    const one = dims.length === 3 || (dims.length === 4 && dims[0] === 1);
    const fits = (dims.length === 3 || dims.length === 4) && dims.slice(-3).every((d, k) => d === [c, h, w][k]) && (one || dims[0] === batch);
    if (!fits) throw new ArgumentError(`${choice.name}: a baseline of shape [${dims.join('×')}] does not match the input: expected ${want}${batch > 1 ? ` or ${batch}×${want} (one per image)` : ''}`);
    for (let q = 0; q < a.data.length; q++)
      if (!Number.isFinite(a.data[q]!)) throw new ArgumentError(`${choice.name}: the baseline holds ${a.data[q]} at flat index ${q}; a baseline must be finite`);
    for (let i = 0; i < batch; i++) out.set(one ? a.data : a.data.subarray(i * per, (i + 1) * per), i * per);
  }
  return out;
}

/** The baseline as the JSON names it. */
export const baselineName = (b: BaselineChoice): string => (typeof b === 'string' ? b : b.name);

// ---- the methods --------------------------------------------------------------------------------

export interface AttributionResult extends ClassExplanation {
  /** N×C×H×W */
  attributions: Tensor;
}

export interface IgOptions extends Target {
  steps: number;
  rule: IgRule;
  /** the baseline of each image, batch × C×H×W (`baselines`) */
  baseline: Float32Array;
}

export interface IgResult extends AttributionResult {
  quadrature: Quadrature;
  /** the class score f_c(x), f_c(baseline), Σ of the attributions, and the completeness gap (null when f(x) = f(baseline)) */
  fx: number[];
  fBaseline: number[];
  sum: number[];
  gap: (number | null)[];
}

/** Signed sum over channels: N×C×H×W → N×H×W. */
export function channelSum(x: Float32Array, n: number, c: number, hw: number): Float32Array {
  const out = new Float32Array(n * hw);
  for (let i = 0; i < n; i++)
    for (let p = 0; p < hw; p++) {
      let s = 0;
      for (let k = 0; k < c; k++) s += x[(i * c + k) * hw + p]!;
      out[i * hw + p] = s;
    }
  return out;
}

/** Integrated Gradients of each image's class logit along the straight path from its baseline. */
export async function integratedGradients(model: Model, input: Float32Array, batch: number, o: IgOptions): Promise<IgResult> {
  const [c, h, w] = inputHW(model);
  const per = c * h * w;
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new ArgumentError(`--steps must be an integer ≥ 1, got ${o.steps}`);
  if (o.baseline.length !== batch * per) throw new ArgumentError(`integrated gradients: ${batch} baselines of ${per} values needed, got ${o.baseline.length}`);
  const q = quadrature(o.rule, o.steps);
  const cv = classifierValues(model.graph);
  const logitsValue = model.resolve(cv.logits);
  // f at the images and at their baselines, in one plain pass
  const both = new Float32Array(2 * batch * per);
  both.set(input.subarray(0, batch * per));
  both.set(o.baseline, batch * per);
  const names = o.names && [...o.names.slice(0, batch), ...o.names.slice(0, batch).map((n) => `the baseline of ${n}`)];
  const logits = (await model.run(both, 2 * batch, { outputs: [cv.logits], names })).get(logitsValue)!.data;
  const k = logits.length / (2 * batch);
  const classes = pickClasses(logits.subarray(0, batch * k), batch, o.classes, 0);
  const probs = softmaxRows(logits.subarray(0, batch * k), k);
  const fx = classes.map((cl, i) => logits[i * k + cl]!);
  const fBaseline = classes.map((cl, i) => logits[(batch + i) * k + cl]!);

  const chunk = Math.max(1, Math.min(o.steps, model.maxRecordBatch()));
  const path = new PathImages(model, q.alphas);
  const rev = new Reverser(model);
  const attributions = new Float32Array(batch * per);
  const sum: number[] = [];
  const gap: (number | null)[] = [];
  try {
    for (let i = 0; i < batch; i++) {
      const xi = input.subarray(i * per, (i + 1) * per);
      const bi = o.baseline.subarray(i * per, (i + 1) * per);
      path.setImage(xi, bi);
      const acc = new Float64Array(per);
      for (let first = 0; first < o.steps; first += chunk) {
        throwIfCancelled(o.signal, 'integrated gradients');
        const n = Math.min(chunk, o.steps - first);
        const rec = await model.recordFrom(n, path.batch(first, n), [cv.logits]);
        let g: Float32Array;
        try {
          g = (await rev.run(rec, cv.logits, oneHot(n, k, new Array<number>(n).fill(classes[i]!)), [model.graph.input.name], 'gradient')).get(model.graph.input.name)!.data;
        } finally {
          rec.dispose();
        }
        for (let j = 0; j < n; j++) {
          const wj = q.weights[first + j]!;
          for (let p = 0; p < per; p++) acc[p] += wj * g[j * per + p]!;
        }
        o.onProgress?.(i * o.steps + first + n, batch * o.steps);
      }
      let s = 0;
      for (let p = 0; p < per; p++) {
        const a = Math.fround((xi[p]! - bi[p]!) * acc[p]!);
        attributions[i * per + p] = a;
        s += a;
      }
      const delta = fx[i]! - fBaseline[i]!;
      sum.push(s);
      gap.push(delta !== 0 ? Math.abs(s - delta) / Math.abs(delta) : null);
    }
  } finally {
    path.dispose();
    rev.dispose();
  }
  return {
    maps: channelSum(attributions, batch, c, h * w), shape: [batch, h, w], classes, scores: fx, probs: classes.map((cl, i) => probs[i * k + cl]!),
    attributions: { shape: [batch, c, h, w], data: attributions }, quadrature: q, fx, fBaseline, sum, gap,
  };
}

/** Input × gradient: x ⊙ ∂f_c/∂x, per image. */
export async function inputTimesGradient(model: Model, input: Float32Array, batch: number, target: Target = {}): Promise<AttributionResult> {
  const [c, h, w] = inputHW(model);
  const r = await saliency(model, input, batch, target);
  const g = r.signal.data;
  const attributions = new Float32Array(g.length);
  for (let q = 0; q < g.length; q++) attributions[q] = input[q]! * g[q]!;
  return { maps: channelSum(attributions, batch, c, h * w), shape: [batch, h, w], classes: r.classes, scores: r.scores, probs: r.probs, attributions: { shape: [batch, c, h, w], data: attributions } };
}

