// RISE (Petsiuk, Das & Saenko 2018, "Randomized Input Sampling for Explanation of Black-box
// Models"): N random binary grids of cells×cells (each cell kept with probability p), upsampled
// bilinearly and cropped at a random shift; the model scores every masked image, and the saliency of
// class c is S_c = (1 / (N·p)) Σ_i P(c | x ⊙ M_i) · M_i. Masks, masked batches and the sum (one
// matrix product scoresᵀ × masks per batch) are made on the GPU by engine/rise.ts from the seed and
// the mask index, so a batch is never stored or uploaded. Returns tensors, never files.
import { gaussianBlur } from '../loaders/preprocess.ts';
import type { Model } from '../engine/runner.ts';
import { checkClassifier, softmaxRows } from '../engine/classify.ts';
import { ArgumentError, throwIfCancelled } from '../engine/errors.ts';
import { RiseSampler, riseGeometry } from '../engine/rise.ts';
import { pickClasses, type ClassExplanation, type Target } from './gradients.ts';

/** What the masked-out part of the image shows. */
export type RiseFill = 'black' | 'zero' | 'mean' | 'blur';

export interface RiseOptions {
  /** N, the number of masks */
  masks: number;
  /** grid cells per side */
  cells: number;
  /** probability that a cell is kept */
  p: number;
  seed: number;
  /** masks per batch (default and most: what the device fits) */
  batch?: number;
  /**
   * black (default, the paper's x ⊙ M on pixels): a black pixel through the preprocessing, `black`
   * per channel; zero: 0 in the network's units (what the paper's code multiplies: its input is
   * mean-subtracted, so this is the data set's mean colour); mean: the image's mean colour per
   * channel; blur: the image blurred with a Gaussian of σ half a cell.
   */
  fill?: RiseFill;
  /** a black pixel in the network's units, per channel (one value: every channel); default 0 */
  black?: number[];
}

export interface RiseResult extends ClassExplanation {
  masks: number;
  /** masks per batch */
  batch: number;
  seconds: number;
  /** masked images scored per second (masks × images / seconds) */
  masksPerSecond: number;
}

export function checkRiseOptions(o: RiseOptions, h: number, w: number): void {
  if (!Number.isInteger(o.masks) || o.masks < 1) throw new ArgumentError(`RISE: --masks must be a positive integer, got ${o.masks}`);
  if (!Number.isInteger(o.cells) || o.cells < 1 || o.cells > Math.min(h, w)) throw new ArgumentError(`RISE: --cells must be an integer in [1, ${Math.min(h, w)}] (the image side), got ${o.cells}`);
  if (!(o.p > 0 && o.p < 1)) throw new ArgumentError(`RISE: --p must be a number in (0, 1), got ${o.p}`);
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) throw new ArgumentError(`RISE: --seed must be an integer in [0, 4294967295], got ${o.seed}`);
  if (o.batch !== undefined && (!Number.isInteger(o.batch) || o.batch < 1)) throw new ArgumentError(`RISE: --batch must be a positive integer, got ${o.batch}`);
}

/** The fill of one image (C×H×W, network units). */
export function riseFill(x: Float32Array, c: number, h: number, w: number, kind: RiseFill, black: number[] = [0], sigma = 1): Float32Array {
  const hw = h * w;
  const out = new Float32Array(c * hw);
  for (let k = 0; k < c; k++) {
    const plane = x.subarray(k * hw, (k + 1) * hw);
    if (kind === 'black') out.fill(black.length === 1 ? black[0]! : (black[k] ?? 0), k * hw, (k + 1) * hw);
    else if (kind === 'zero') continue;
    else if (kind === 'mean') {
      let s = 0;
      for (const v of plane) s += v;
      out.fill(s / hw, k * hw, (k + 1) * hw);
    } else out.set(gaussianBlur(plane, 1, h, w, sigma), k * hw);
  }
  return out;
}

/**
 * RISE saliency of each image's class (`target.classes`, else its top class): N×H×W maps at the
 * input's resolution, non-negative, in probability units (a pixel's expected probability of the
 * class when it is kept, E[P(c | x ⊙ M) | M(pixel) = 1] ≈ S_c). Every image uses the same masks.
 */
export async function rise(model: Model, input: Float32Array, batch: number, opts: RiseOptions, target: Target = {}): Promise<RiseResult> {
  const [, c, h, w] = model.graph.input.shape;
  if (c === undefined || h === undefined || w === undefined) throw new ArgumentError(`RISE needs an image input (N×C×H×W); the model takes [${model.graph.input.shape.join(', ')}]`);
  checkRiseOptions(opts, h, w);
  const cv = checkClassifier(model.graph);
  const per = c * h * w;
  const t0 = performance.now();
  const clean = await model.run(input.subarray(0, batch * per), batch, { outputs: [cv.logits], names: target.names });
  const logits = clean.get(model.resolve(cv.logits))!.data;
  const k = logits.length / batch;
  const classes = pickClasses(logits, batch, target.classes, 0);
  const p0 = softmaxRows(logits, k);
  const chunk = Math.max(1, Math.min(opts.masks, opts.batch ?? Infinity, model.maxBatch([cv.logits])));
  const sampler = new RiseSampler(model, { cells: opts.cells, p: opts.p, seed: opts.seed, maxBatch: chunk, rows: 1 });
  const g = riseGeometry(h, w, opts.cells);
  const maps = new Float32Array(batch * h * w);
  const scores = new Float32Array(chunk);
  const N = opts.masks;
  try {
    for (let i = 0; i < batch; i++) {
      const x = input.subarray(i * per, (i + 1) * per);
      sampler.setImage(x, riseFill(x, c, h, w, opts.fill ?? 'black', opts.black, Math.min(g.cellH, g.cellW) / 2));
      for (let first = 0; first < N; first += chunk) {
        throwIfCancelled(target.signal, 'rise');
        const n = Math.min(chunk, N - first);
        const res = await model.runFrom(n, sampler.source(first, n), [cv.logits]);
        const pr = softmaxRows(res.get(model.resolve(cv.logits))!.data, k);
        for (let j = 0; j < n; j++) scores[j] = pr[j * k + classes[i]!]!;
        await sampler.accumulate(n, scores.subarray(0, n));
        target.onProgress?.(i * N + first + n, batch * N);
      }
      const m = await sampler.map();
      const scale = 1 / (N * opts.p);
      for (let q = 0; q < h * w; q++) maps[i * h * w + q] = m[q]! * scale;
    }
  } finally {
    sampler.destroy();
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    maps, shape: [batch, h, w], classes, masks: N, batch: chunk, seconds, masksPerSecond: (N * batch) / seconds,
    scores: classes.map((cl, i) => logits[i * k + cl]!),
    probs: classes.map((cl, i) => p0[i * k + cl]!),
  };
}
