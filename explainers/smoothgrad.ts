// SmoothGrad (Smilkov et al. 2017), SmoothGrad² and VarGrad (Adebayo et al. 2018) as a wrapper over
// any method that gives a map per image: the base explains S noisy copies x + N(0, σ²) of each
// image, σ = noise × (max − min of that image), and the maps are reduced over the copies:
//   smoothgrad  — their mean;  smoothgrad2 — the mean of their squares;  vargrad — their variance
//   (population, 1/S).
// The copies are drawn on the GPU from the seed (engine/sources.ts NoisyCopies: a counter-based hash
// of (seed, image, sample, element), so a seed reproduces exactly however the copies are batched)
// and read back in batches the device fits, for the base to explain as any batch of images. The
// reductions run in float64 with Welford's updates: copies that are all equal (noise 0) give
// exactly the base's map (mean), its square (smoothgrad2) and 0 (vargrad).
import type { Model } from '../engine/runner.ts';
import { ArgumentError, throwIfCancelled } from '../engine/errors.ts';
import { NoisyCopies, readImages } from '../engine/sources.ts';
import { inputHW, type Control } from './gradients.ts';

export type SmoothVariant = 'smoothgrad' | 'smoothgrad2' | 'vargrad';

export interface SmoothOptions extends Control {
  variant: SmoothVariant;
  /** σ as a fraction of each image's value range (max − min) */
  noise: number;
  samples: number;
  seed: number;
}

/** What the base method gives for `n` copies of image `image`: n maps (H×W each) and, if it has one, an input-shaped tensor per copy. */
export type SmoothBase = (copies: Float32Array, n: number, image: number) => Promise<{ maps: Float32Array; tensor?: Float32Array }>;

export interface SmoothResult {
  /** N×H×W */
  maps: Float32Array;
  /** N×C×H×W: the same reduction of the base's input-shaped tensor, when it has one */
  tensor?: Float32Array;
  /** σ of each image's noise, in the network's units */
  sigmas: number[];
}

/** Running mean, mean of squares and M2 (Welford) of a stream of equal-length arrays, in float64. */
class Moments {
  readonly mean: Float64Array;
  readonly meanSq: Float64Array;
  readonly m2: Float64Array;
  count = 0;
  constructor(n: number) {
    this.mean = new Float64Array(n);
    this.meanSq = new Float64Array(n);
    this.m2 = new Float64Array(n);
  }
  add(v: Float32Array): void {
    const k = ++this.count;
    for (let q = 0; q < v.length; q++) {
      const x = v[q]!;
      const d = x - this.mean[q]!;
      this.mean[q] += d / k;
      this.m2[q] += d * (x - this.mean[q]!);
      this.meanSq[q] += (x * x - this.meanSq[q]!) / k;
    }
  }
  result(variant: SmoothVariant): Float32Array {
    if (variant === 'smoothgrad') return Float32Array.from(this.mean);
    if (variant === 'smoothgrad2') return Float32Array.from(this.meanSq);
    return Float32Array.from(this.m2, (m) => Math.max(0, m / this.count));
  }
}

/** Each image's maps over `samples` noisy copies, reduced by `variant`. */
export async function smoothGrad(model: Model, input: Float32Array, batch: number, o: SmoothOptions, base: SmoothBase): Promise<SmoothResult> {
  const [c, h, w] = inputHW(model);
  const per = c * h * w;
  const hw = h * w;
  if (!Number.isInteger(o.samples) || o.samples < 1) throw new ArgumentError(`--samples must be an integer ≥ 1, got ${o.samples}`);
  if (!(o.noise >= 0 && Number.isFinite(o.noise))) throw new ArgumentError(`--noise must be a number ≥ 0, got ${o.noise}`);
  const chunk = Math.max(1, Math.min(o.samples, model.maxRecordBatch()));
  const copies = new NoisyCopies(model);
  const maps = new Float32Array(batch * hw);
  let tensor: Float32Array | undefined;
  const sigmas: number[] = [];
  try {
    for (let i = 0; i < batch; i++) {
      const xi = input.subarray(i * per, (i + 1) * per);
      let lo = Infinity, hi = -Infinity;
      for (const v of xi) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
      const sigma = o.noise * (hi - lo);
      sigmas.push(sigma);
      copies.setImage(xi);
      const mapMoments = new Moments(hw);
      let tensorMoments: Moments | undefined;
      for (let first = 0; first < o.samples; first += chunk) {
        throwIfCancelled(o.signal, 'smoothgrad');
        const n = Math.min(chunk, o.samples - first);
        const x = await readImages(model, n, copies.batch(sigma, { seed: o.seed, stream: i }, first, n));
        const r = await base(x, n, i);
        for (let j = 0; j < n; j++) {
          mapMoments.add(r.maps.subarray(j * hw, (j + 1) * hw));
          if (r.tensor) (tensorMoments ??= new Moments(per)).add(r.tensor.subarray(j * per, (j + 1) * per));
        }
        o.onProgress?.(i * o.samples + first + n, batch * o.samples);
      }
      maps.set(mapMoments.result(o.variant), i * hw);
      if (tensorMoments) (tensor ??= new Float32Array(batch * per)).set(tensorMoments.result(o.variant), i * per);
    }
  } finally {
    copies.dispose();
  }
  return { maps, tensor, sigmas };
}
