// Adversarial examples (survey §7.2, issue 17): FGSM (Goodfellow et al. 2015) and PGD (Madry et al.
// 2018) under an L∞ budget, untargeted or targeted, over a batch on the GPU. Each step is one
// recording forward pass of the batch and one reverse pass of the cross-entropy's gradient from the
// logits (softmax − one-hot: the exact gradient of −log p_y) to the input, for every image at once;
// the sign step, the projection on the ε-ball and the clip to valid pixels are elementwise on the
// host. Budgets are fractions of the pixel range (0..255 through the model's preprocessing), as
// the MNIST literature states ε for [0, 1] pixels: ε = 0.1 is 25.5 grey levels.
//   FGSM: x' = clip(x + ε · sign(∇ₓ L(x, y)))                       (targeted: x − ε · sign(∇ₓ L(x, t)))
//   PGD:  x₀ = x (+ U(−ε, ε) with randomStart), x_{k+1} = clip(Π_ε(x_k ± α · sign(∇ₓ L(x_k, ·))))
// Returns tensors, never files.
import type { Model } from '../engine/runner.ts';
import type { Preprocess } from '../engine/ir.ts';
import { Reverser } from '../engine/reverse.ts';
import { ArgumentError, throwIfCancelled } from '../engine/errors.ts';
import { mulberry32 as rng } from '../engine/train.ts';
import { classifierValues, softmaxRows } from '../engine/classify.ts';
import { numel } from '../engine/shapes.ts';

export interface AttackOptions {
  method: 'fgsm' | 'pgd';
  /** the L∞ budget, a fraction of the pixel range */
  eps: number;
  /** PGD's step, a fraction of the pixel range (default 2.5·ε/steps, Madry et al.'s choice) */
  alpha?: number;
  /** PGD's steps (FGSM: 1) */
  steps: number;
  /** the class each image is pushed towards (targeted), one for all or one per image; undefined: away from `labels` (untargeted) */
  targets?: number[];
  /** the true class per image (untargeted); default: the model's own top class on the clean image */
  labels?: number[];
  /** PGD starts from a uniform random point of the ball (Madry et al.) */
  randomStart?: boolean;
  seed?: number;
  preprocess: Preprocess & { channels: number };
  /** images per pass (default: what a recording fits) */
  batch?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface AttackResult {
  /** the adversarial images, N×C×H×W in network units */
  adversarial: Float32Array;
  /** per image: the class before and after, their probabilities, and the class the attack aimed at or away from */
  cleanClass: number[];
  cleanProb: number[];
  advClass: number[];
  advProb: number[];
  aim: number[];
  targeted: boolean;
  /** per image: untargeted, the class changed; targeted, the target reached */
  success: boolean[];
  /** per image: the largest change of a pixel, as a fraction of the pixel range (≤ ε) */
  linf: number[];
  seconds: number;
}

export function checkAttackOptions(o: AttackOptions): void {
  if (o.method !== 'fgsm' && o.method !== 'pgd') throw new ArgumentError(`attack: --method must be fgsm or pgd, got ${o.method}`);
  if (!(o.eps > 0 && o.eps <= 1)) throw new ArgumentError(`attack: --eps must be in (0, 1] (a fraction of the pixel range), got ${o.eps}`);
  if (o.alpha !== undefined && !(o.alpha > 0 && o.alpha <= 1)) throw new ArgumentError(`attack: --alpha must be in (0, 1] (a fraction of the pixel range), got ${o.alpha}`);
  if (!Number.isInteger(o.steps) || o.steps < 1 || o.steps > 100000) throw new ArgumentError(`attack: --steps must be an integer in [1, 100000], got ${o.steps}`);
  if (o.method === 'fgsm' && o.steps !== 1) throw new ArgumentError('attack: FGSM is one step; --steps is for pgd');
}

/**
 * ∂(−log p_a)/∂logits = softmax − one-hot(a) per image, computed in float64 with the a-th entry as
 * −Σ_{j≠a} p_j (not p_a − 1, which is exactly 0 in float32 once the model is confident: the
 * saturation that masks gradients), then scaled to a largest magnitude of 1. Only the sign of the
 * input gradient is used, so the scale changes nothing but keeps the reverse pass off float32's
 * underflow.
 */
export function lossSeed(logits: Float32Array, n: number, k: number, aim: number[]): Float32Array {
  const seed = new Float32Array(n * k);
  const p = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, logits[i * k + j]!);
    let z = 0;
    for (let j = 0; j < k; j++) z += (p[j] = Math.exp(logits[i * k + j]! - max));
    let rest = 0;
    for (let j = 0; j < k; j++) if (j !== aim[i]) rest += (p[j] = p[j]! / z);
    p[aim[i]!] = -rest;
    let big = 0;
    for (let j = 0; j < k; j++) big = Math.max(big, Math.abs(p[j]!));
    // all other classes underflowed even in float64 (a logit gap beyond ~745): push every other logit up equally
    if (big === 0) for (let j = 0; j < k; j++) seed[i * k + j] = j === aim[i] ? -1 : 1 / (k - 1);
    else for (let j = 0; j < k; j++) seed[i * k + j] = p[j]! / big;
  }
  return seed;
}

/** FGSM or PGD on `batch` images (N×C×H×W, network units). */
export async function attack(model: Model, input: Float32Array, batch: number, o: AttackOptions): Promise<AttackResult> {
  checkAttackOptions(o);
  const t0 = performance.now();
  const [, c, h, w] = model.graph.input.shape;
  if (c === undefined || h === undefined || w === undefined) throw new ArgumentError(`attack needs an image input (N×C×H×W); the model takes [${model.graph.input.shape.join(', ')}]`);
  const per = c * h * w, hw = h * w;
  const pp = o.preprocess;
  const scale = pp.scale ?? 1;
  const mean = (k: number) => (pp.mean ? (pp.mean.length === 1 ? pp.mean[0]! : pp.mean[k] ?? 0) : 0);
  // per channel: the valid range (pixels 0..255 through the preprocessing) and ε, α in network units
  const lo = Array.from({ length: c }, (_, k) => Math.min((0 - mean(k)) * scale, (255 - mean(k)) * scale));
  const hi = Array.from({ length: c }, (_, k) => Math.max((0 - mean(k)) * scale, (255 - mean(k)) * scale));
  const unit = 255 * Math.abs(scale);
  const eps = o.eps * unit, alpha = (o.method === 'fgsm' ? o.eps : o.alpha ?? (2.5 * o.eps) / o.steps) * unit;
  const steps = o.method === 'fgsm' ? 1 : o.steps;
  const targeted = o.targets !== undefined;
  const cv = classifierValues(model.graph);
  const rev = new Reverser(model);
  const chunk = Math.max(1, Math.min(batch, o.batch ?? model.maxRecordBatch()));
  const out = Float32Array.from(input.subarray(0, batch * per));
  const res: Omit<AttackResult, 'seconds' | 'targeted' | 'adversarial'> = { cleanClass: [], cleanProb: [], advClass: [], advProb: [], aim: [], success: [], linf: [] };
  const next = rng(o.seed ?? 0);
  try {
    for (let s = 0; s < batch; s += chunk) {
      const n = Math.min(chunk, batch - s);
      const x0 = input.subarray(s * per, (s + n) * per);
      const x = out.subarray(s * per, (s + n) * per);
      // the clean classes first (the attack's first pass may already start off the image)
      const clean = (await model.run(x0, n, { outputs: [cv.logits] })).get(model.resolve(cv.logits))!.data;
      const k = clean.length / n;
      const cleanProbs = softmaxRows(clean, k);
      const argmax = (l: Float32Array, i: number) => {
        let b = 0;
        for (let j = 1; j < k; j++) if (l[i * k + j]! > l[i * k + b]!) b = j;
        return b;
      };
      for (let i = 0; i < n; i++) {
        res.cleanClass.push(argmax(clean, i));
        res.cleanProb.push(cleanProbs[i * k + argmax(clean, i)]!);
      }
      const aim = Array.from({ length: n }, (_, i) => {
        const a = targeted ? (o.targets!.length === 1 ? o.targets![0]! : o.targets![s + i]!) : (o.labels?.[s + i] ?? res.cleanClass[s + i]!);
        if (!Number.isInteger(a) || a < 0 || a >= k) throw new ArgumentError(`attack: class ${a} is out of range: the model has ${k} classes (0–${k - 1})`);
        return a;
      });
      if (o.method === 'pgd' && o.randomStart)
        for (let i = 0; i < x.length; i++) {
          const ch = Math.floor(i / hw) % c;
          x[i] = Math.min(hi[ch]!, Math.max(lo[ch]!, x[i]! + (2 * next() - 1) * eps));
        }
      for (let step = 0; step <= steps; step++) {
        throwIfCancelled(o.signal, 'attack');
        const rec = await model.record(x, n, [cv.logits]);
        try {
          const logits = rec.read.get(model.resolve(cv.logits))!.data;
          const probs = softmaxRows(logits, k);
          if (step === steps) {
            for (let i = 0; i < n; i++) {
              const t = argmax(logits, i);
              res.advClass.push(t);
              res.advProb.push(probs[i * k + t]!);
              res.aim.push(aim[i]!);
              res.success.push(targeted ? t === aim[i] : t !== aim[i]);
            }
            break;
          }
          const seed = lossSeed(logits, n, k, aim);
          const g = (await rev.run(rec, cv.logits, seed, [model.graph.input.name], 'gradient')).get(model.graph.input.name)!.data;
          const dir = targeted ? -1 : 1;
          for (let i = 0; i < x.length; i++) {
            const ch = Math.floor(i / hw) % c;
            const v = x[i]! + dir * alpha * Math.sign(g[i]!);
            const proj = Math.min(x0[i]! + eps, Math.max(x0[i]! - eps, v));
            x[i] = Math.min(hi[ch]!, Math.max(lo[ch]!, proj));
          }
        } finally {
          rec.dispose();
        }
      }
      for (let i = 0; i < n; i++) {
        let m = 0;
        for (let q = i * per; q < (i + 1) * per; q++) m = Math.max(m, Math.abs(x[q]! - x0[q]!));
        res.linf.push(m / unit);
      }
      o.onProgress?.(s + n, batch);
    }
  } finally {
    rev.dispose();
  }
  return { ...res, adversarial: out, targeted, seconds: (performance.now() - t0) / 1000 };
}

/** Per layer, the relative change of the activations: ‖A(x') − A(x)‖₂ / ‖A(x)‖₂ per image. */
export async function activationChange(model: Model, clean: Float32Array, adv: Float32Array, batch: number, layers: string[]): Promise<{ layer: string; change: number[]; shape: number[]; clean: Float32Array; adversarial: Float32Array }[]> {
  const a = await model.run(clean, batch, { outputs: layers });
  const b = await model.run(adv, batch, { outputs: layers });
  return layers.map((l) => {
    const ta = a.get(model.resolve(l)) ?? a.get(l)!, tb = b.get(model.resolve(l)) ?? b.get(l)!;
    const per = numel(ta.shape.slice(1));
    const change = Array.from({ length: batch }, (_, i) => {
      let d = 0, s = 0;
      for (let q = i * per; q < (i + 1) * per; q++) {
        d += (tb.data[q]! - ta.data[q]!) ** 2;
        s += ta.data[q]! ** 2;
      }
      return s > 0 ? Math.sqrt(d / s) : d > 0 ? Infinity : 0;
    });
    return { layer: l, change, shape: ta.shape, clean: ta.data, adversarial: tb.data };
  });
}
