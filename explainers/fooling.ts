// Fooling images (survey §7.1; Nguyen, Yosinski & Clune 2015; Szegedy et al. 2014): pixel-space
// activation maximisation of a class until the network gives it 99.99 % confidence, with or
// without regularisers, and what a *different* network makes of the same images. The optimisation
// is MaxOut's (explainers/optimize.ts) with the log-odds of the class probability as the objective
// (kernels/logodds_seed.wgsl) and a stop rule checked every step; the judge sees the same pixels
// (0..255) through its own preprocessing. Returns tensors, never files.
import type { Model } from '../engine/runner.ts';
import type { Preprocess } from '../engine/ir.ts';
import { ArgumentError } from '../engine/errors.ts';
import { checkClassifier, softmaxRows } from '../engine/classify.ts';
import { maxOut, type OptimiseOptions } from './optimize.ts';

export type PixelPreprocess = Pick<Preprocess, 'mean' | 'scale' | 'bgr'>;

export interface FoolOptions extends Omit<OptimiseOptions, 'range' | 'ranges' | 'initValue' | 'initValues' | 'initStd'> {
  /** the probability each class must reach (default 0.9999) */
  confidence?: number;
  /** 'logodds' (default): the log-odds of the class probability; 'logit': the class logit (MaxOut's) */
  objective?: 'logodds' | 'logit';
  /** the model's preprocessing: network units = (pixel − mean) · scale, pixels 0..255 */
  preprocess: PixelPreprocess;
  /** init 'noise': its standard deviation in grey levels (default 32) */
  noiseGrey?: number;
}

export interface Judge {
  model: Model;
  preprocess: PixelPreprocess;
  /** a name for reports */
  name?: string;
}

export interface FoolResult {
  /** P×C×H×W in the fooled model's units */
  images: Float32Array;
  classes: number[];
  /** the fooled model's probability of each class on its final image (a direct forward pass) */
  probs: number[];
  /** the steps after which each image first reached the confidence (null: not within the iterations) */
  iterations: (number | null)[];
  /** the steps the run took (it stops when every image has reached the confidence) */
  steps: number;
  confidence: number;
  /** per image, its pixels (0..255, all channels) as the lowest, the highest and the RMS distance from mid-grey (127.5) */
  pixels: { min: number; max: number; rmsFromGrey: number }[];
  /** the judge's probability of each image's class, and the class it prefers with its probability */
  judge?: { probs: number[]; top: number[]; topProbs: number[] };
  log: { step: number; objective: number[] }[];
  seconds: number;
}

const chans = (p: PixelPreprocess, c: number) => Array.from({ length: c }, (_, k) => (p.mean ? (p.mean.length === 1 ? p.mean[0]! : p.mean[k] ?? 0) : 0));

/** Images in one model's units → pixels 0..255 (RGB order) → another model's units. */
export function convertPixels(x: Float32Array, c: number, hw: number, from: PixelPreprocess, to: PixelPreprocess): Float32Array {
  const [mf, mt] = [chans(from, c), chans(to, c)];
  const [sf, st] = [from.scale ?? 1, to.scale ?? 1];
  const out = new Float32Array(x.length);
  const n = x.length / (c * hw);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < c; k++) {
      // a channel of `from` is RGB channel kr; `to` wants it at its own position of kr
      const kr = from.bgr && c === 3 ? 2 - k : k;
      const kt = to.bgr && c === 3 ? 2 - kr : kr;
      for (let p = 0; p < hw; p++) {
        const pixel = x[(i * c + k) * hw + p]! / sf + mf[k]!;
        out[(i * c + kt) * hw + p] = (pixel - mt[kt]!) * st;
      }
    }
  return out;
}

/** The probabilities of a classifier over a batch. */
async function probabilities(model: Model, x: Float32Array, n: number): Promise<{ probs: Float32Array; k: number }> {
  const cv = checkClassifier(model.graph);
  const logits = (await model.run(x, n, { outputs: [cv.logits] })).get(model.resolve(cv.logits))!.data;
  const k = logits.length / n;
  return { probs: softmaxRows(logits, k), k };
}

/** One fooling image per class in `classes`, each maximised until the model gives it `confidence`. */
export async function fool(model: Model, classes: number[], o: FoolOptions, judge?: Judge): Promise<FoolResult> {
  const t0 = performance.now();
  const confidence = o.confidence ?? 0.9999;
  if (!(confidence > 0 && confidence < 1)) throw new ArgumentError(`fool: --confidence must be in (0, 1), got ${confidence}`);
  if (classes.length === 0) throw new ArgumentError('fool: no classes');
  const [, c, h, w] = model.graph.input.shape;
  if (c === undefined || h === undefined || w === undefined) throw new ArgumentError(`fool needs an image input (N×C×H×W); the model takes [${model.graph.input.shape.join(', ')}]`);
  checkClassifier(model.graph);
  if (judge) {
    const [, jc, jh, jw] = judge.model.graph.input.shape;
    if (jc !== c || jh !== h || jw !== w)
      throw new ArgumentError(`fool: the judge${judge.name ? ` ${judge.name}` : ''} takes [${judge.model.graph.input.shape.slice(1).join('×')}] images, the model [${c}×${h}×${w}]: they must see the same pixels`);
    checkClassifier(judge.model.graph);
  }
  const pp = o.preprocess;
  const scale = pp.scale ?? 1;
  const means = chans(pp, c);
  const ranges = means.map((m) => [Math.min(-m * scale, (255 - m) * scale), Math.max(-m * scale, (255 - m) * scale)] as [number, number]);
  const lo = Math.min(...ranges.map((r) => r[0])), hi = Math.max(...ranges.map((r) => r[1]));
  // start from mid-grey (pixel 127.5 in every channel), or seeded noise around it
  const grey = means.map((m) => (127.5 - m) * scale);
  const r = await maxOut(model, { kind: 'class', classes, objective: o.objective ?? 'logodds', confidence }, {
    ...o, range: [lo, hi], ranges, initValue: grey[0]!, initValues: grey, initStd: (o.noiseGrey ?? 32) * Math.abs(scale),
  });
  const n = classes.length;
  const { probs: p, k } = await probabilities(model, r.images, n);
  const px = convertPixels(r.images, c, h * w, pp, {});
  const per = c * h * w;
  const pixels = classes.map((_, i) => {
    let lo = Infinity, hi = -Infinity, sq = 0;
    for (let q = i * per; q < (i + 1) * per; q++) {
      const v = px[q]!;
      [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
      sq += (v - 127.5) ** 2;
    }
    return { min: lo, max: hi, rmsFromGrey: Math.sqrt(sq / per) };
  });
  const res: FoolResult = {
    images: r.images, classes, probs: classes.map((t, i) => p[i * k + t]!), iterations: r.reached!, steps: r.steps, confidence, pixels, log: r.log, seconds: 0,
  };
  if (judge) {
    const x = convertPixels(r.images, c, h * w, pp, judge.preprocess);
    const { probs: q, k: kj } = await probabilities(judge.model, x, n);
    const top = classes.map((_, i) => {
      let b = 0;
      for (let j = 1; j < kj; j++) if (q[i * kj + j]! > q[i * kj + b]!) b = j;
      return b;
    });
    res.judge = { probs: classes.map((t, i) => (t < kj ? q[i * kj + t]! : NaN)), top, topProbs: top.map((t, i) => q[i * kj + t]!) };
  }
  res.seconds = (performance.now() - t0) / 1000;
  return res;
}
