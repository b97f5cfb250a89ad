// The perturbation CAMs of issue 14: Ablation-CAM and Score-CAM, one perturbed pass per channel of
// the chosen layer, batched over channels. They follow pytorch-grad-cam (jacobgil/pytorch-grad-cam),
// the implementation people compare against:
//   ablationcam  w_k = (y_c − y_c^k) / y_c, y_c^k the class logit with channel k of the layer
//                zeroed (ablation_cam.py, get_cam_weights; AblationLayer zeroes the channel when
//                the layer's minimum is 0 and otherwise writes min − 1e7: here it is always zeroed,
//                as Desai & Ramaswamy's paper, which is the same for post-ReLU layers)
//   scorecam     each channel upsampled bilinearly to the input (torch's UpsamplingBilinear2d, i.e.
//                align_corners=True), min-max normalised ((u − min) / (max − min + 1e-8)), multiplied
//                into the input; s_k the class logit of that masked input, w = softmax_k(s)
//                (score_cam.py)
// and, as BaseCAM for both, map ReLU(Σ_k w_k A_k), here upsampled and normalised to [0, 1] like the
// rest of the CAM family (explainers/gradients.ts, finishCam).
//
// Zeroing a channel of layer L changes nothing before L, so Ablation-CAM's copies run only the
// layers after L (`Model.tail`: L's activations computed once per image, the ablated copies made
// from them on the GPU); where a later layer also reads a value from before L (a skip connection
// around it) the tail cannot run alone and every copy runs the whole network, with the channel
// zeroed in place right after L (`RunOptions.inject`), and the result says so. Score-CAM masks the
// *input image*, so every layer before L changes too: it always runs the whole network, on masked
// images made on the GPU from the image and one mask plane per channel. Returns tensors, never files.
import type { Model, Tensor } from '../engine/runner.ts';
import { checkClassifier, softmaxRows } from '../engine/classify.ts';
import { ArgumentError, throwIfCancelled } from '../engine/errors.ts';
import { AblatedChannels, MaskedImages } from '../engine/sources.ts';
import { camLayers, featureMap, finishCam, inputHW, meanOfLayers, pickClasses, type CamLayer, type GradCamResult, type Target } from './gradients.ts';

export interface PerturbationCamOptions extends Target {
  /** perturbed copies per batch (default and most: what the device fits) */
  batch?: number;
}

export interface AblationCamOptions extends PerturbationCamOptions {
  /** recompute the whole network for every ablated copy, even where the tail alone would do */
  whole?: boolean;
}

/** One layer of a perturbation CAM: the CAM layer plus each image's per-channel class scores. */
export interface PerturbationLayer extends CamLayer {
  /** N×C: the class logit of each perturbed copy (channel k ablated, or the input masked by channel k) */
  channelScores: Float32Array;
  /** N×C: the channel weights w_k */
  weights: Float32Array;
}

export interface PerturbationCamResult extends GradCamResult {
  perLayer: PerturbationLayer[];
  /** copies per batch, per layer */
  batches: number[];
  /** model passes (batches of copies) over all layers and images */
  passes: number;
  seconds: number;
}

export interface AblationCamResult extends PerturbationCamResult {
  /** per layer: 'tail' (only the layers after it) or 'whole' (the whole network per copy) */
  routes: ('tail' | 'whole')[];
  /** per layer: why the whole network ran although --whole was not asked for (a skip connection), or null */
  fallbacks: (string | null)[];
}

interface Clean {
  vals: string[];
  logitsValue: string;
  read: Map<string, Tensor>;
  k: number;
  classes: number[];
  scores: number[];
  probs: number[];
}

/** One plain pass over the batch: the layers' activations and the logits, the classes picked. */
async function cleanPass(model: Model, input: Float32Array, batch: number, layers: string[], title: string, t: Target): Promise<Clean> {
  const vals = camLayers(model, layers, title);
  const logitsValue = model.resolve(checkClassifier(model.graph).logits);
  if (vals.includes(logitsValue)) throw new ArgumentError(`${title} at layer "${layers[vals.indexOf(logitsValue)]}": that is the model's output; pick a conv layer before it`);
  const read = await model.run(input, batch, { outputs: [...vals, logitsValue], names: t.names });
  const logits = read.get(logitsValue)!.data;
  const k = logits.length / batch;
  const classes = pickClasses(logits, batch, t.classes, 0);
  const p = softmaxRows(logits, k);
  return { vals, logitsValue, read, k, classes, scores: classes.map((c, i) => logits[i * k + c]!), probs: classes.map((c, i) => p[i * k + c]!) };
}

function checkBatch(title: string, b: number | undefined): void {
  if (b !== undefined && (!Number.isInteger(b) || b < 1)) throw new ArgumentError(`${title}: --batch must be a positive integer, got ${b}`);
}

/** Σ_k w_k A_k of image i (ch×hw activations), accumulated in float32 channel by channel like gradientCamMap. */
function weighted(A: Float32Array, i: number, ch: number, hw: number, w: ArrayLike<number>): Float32Array {
  const cam = new Float32Array(hw);
  for (let k = 0; k < ch; k++) {
    const base = (i * ch + k) * hw;
    const wk = w[k]!;
    for (let q = 0; q < hw; q++) cam[q] += wk * A[base + q]!;
  }
  return cam;
}

/** Ablation-CAM's channel weights from the clean class logit y and the ablated ones: (y − y_k) / y. */
export function ablationWeights(y: number, ablated: ArrayLike<number>): Float64Array {
  return Float64Array.from(ablated as ArrayLike<number>, (yk) => (y - yk) / y);
}

/** Score-CAM's channel weights: the softmax of the masked inputs' class logits over the channels. */
export function scoreWeights(scores: ArrayLike<number>): Float64Array {
  let mx = -Infinity;
  for (let k = 0; k < scores.length; k++) mx = Math.max(mx, scores[k]!);
  const e = Float64Array.from(scores as ArrayLike<number>, (s) => Math.exp(s - mx));
  let sum = 0;
  for (const v of e) sum += v;
  for (let k = 0; k < e.length; k++) e[k] = e[k]! / sum;
  return e;
}

/**
 * Ablation-CAM (Desai & Ramaswamy) at each of `layers`: per image and channel k the class logit with
 * k zeroed, in batches of ablated copies through the layers after the layer only (or the whole
 * network: `whole`, or a skip connection around the layer); w_k = (y_c − y_c^k) / y_c, map
 * ReLU(Σ_k w_k A_k) upsampled and normalised to [0, 1]; `maps` is the layers' mean.
 */
export async function ablationCam(model: Model, input: Float32Array, batch: number, layers: string[], opts: AblationCamOptions = {}): Promise<AblationCamResult> {
  const title = 'Ablation-CAM';
  checkBatch(title, opts.batch);
  const t0 = performance.now();
  const [c, h, w] = inputHW(model);
  const per = c * h * w;
  const cl = await cleanPass(model, input, batch, layers, title, opts);
  const perLayer: PerturbationLayer[] = [];
  const routes: ('tail' | 'whole')[] = [], fallbacks: (string | null)[] = [], batches: number[] = [];
  let passes = 0, done = 0;
  const total = cl.vals.reduce((s, v) => s + batch * cl.read.get(v)!.shape[1]!, 0);
  for (const [li, v] of cl.vals.entries()) {
    const A = cl.read.get(v)!;
    const [ch, lh, lw] = featureMap(A, layers[li]!, title);
    const hw = lh * lw;
    let tail: Model | undefined;
    let fallback: string | null = null;
    if (!opts.whole)
      try {
        tail = model.tail(v, [cl.logitsValue]);
      } catch (e) {
        if (!(e instanceof ArgumentError)) throw e;
        fallback = e.message;
      }
    const most = tail ? tail.maxBatch([cl.logitsValue]) : model.maxBatch([cl.logitsValue]);
    const chunk = Math.max(1, Math.min(ch, opts.batch ?? most, most));
    const abl = new AblatedChannels(model.engine, v, ch, hw);
    const channelScores = new Float32Array(batch * ch);
    const weights = new Float32Array(batch * ch);
    const maps = new Float32Array(batch * h * w);
    try {
      for (let i = 0; i < batch; i++) {
        const cls = cl.classes[i]!;
        let copies: Float32Array | undefined;
        if (tail) abl.setActivations(A.data.subarray(i * ch * hw, (i + 1) * ch * hw));
        else {
          copies = new Float32Array(chunk * per);
          for (let j = 0; j < chunk; j++) copies.set(input.subarray(i * per, (i + 1) * per), j * per);
        }
        for (let first = 0; first < ch; first += chunk) {
          throwIfCancelled(opts.signal, 'Ablation-CAM');
          const n = Math.min(chunk, ch - first);
          abl.select(first, n);
          const res = tail
            ? await tail.runFrom(n, abl.copies(n), [cl.logitsValue])
            : await model.run(copies!.subarray(0, n * per), n, { outputs: [cl.logitsValue], inject: abl.injection, names: opts.names && Array(n).fill(opts.names[i]) });
          const y = res.get(cl.logitsValue)!.data;
          for (let j = 0; j < n; j++) channelScores[i * ch + first + j] = y[j * cl.k + cls]!;
          passes++;
          done += n;
          opts.onProgress?.(done, total);
        }
        const yc = cl.scores[i]!;
        if (yc === 0) throw new ArgumentError(`${title}: the score of class ${cls} for image ${i} is exactly 0, so its weights (y_c − y_c^k) / y_c are undefined; pick another class (--class)`);
        const wi = ablationWeights(yc, channelScores.subarray(i * ch, (i + 1) * ch));
        weights.set(wi, i * ch);
        finishCam(weighted(A.data, i, ch, hw, wi), lh, lw, h, w, maps, i * h * w);
      }
    } finally {
      abl.dispose();
      tail?.destroy();
    }
    perLayer.push({ layer: layers[li]!, maps, size: [lh, lw], channelScores, weights });
    routes.push(tail ? 'tail' : 'whole');
    fallbacks.push(fallback);
    batches.push(chunk);
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    maps: meanOfLayers(perLayer, batch * h * w), shape: [batch, h, w], classes: cl.classes, scores: cl.scores, probs: cl.probs,
    perLayer, routes, fallbacks, batches, passes, seconds,
  };
}

/**
 * Score-CAM's mask of channel k of image i (ch×lh×lw activations): the channel upsampled bilinearly
 * to h×w with aligned corners (torch's UpsamplingBilinear2d, what pytorch-grad-cam uses) and min-max
 * normalised, (u − min) / (max − min + 1e-8); written at `out[at …]`.
 */
export function scoreMask(A: Float32Array, i: number, ch: number, lh: number, lw: number, k: number, h: number, w: number, out: Float32Array, at: number): void {
  const base = (i * ch + k) * lh * lw;
  const sy = h > 1 ? (lh - 1) / (h - 1) : 0, sx = w > 1 ? (lw - 1) / (w - 1) : 0;
  let mn = Infinity, mx = -Infinity;
  for (let y = 0; y < h; y++) {
    const fy = y * sy, y0 = Math.min(Math.floor(fy), lh - 1), y1 = Math.min(y0 + 1, lh - 1), ty = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = x * sx, x0 = Math.min(Math.floor(fx), lw - 1), x1 = Math.min(x0 + 1, lw - 1), tx = fx - x0;
      const top = A[base + y0 * lw + x0]! * (1 - tx) + A[base + y0 * lw + x1]! * tx;
      const bottom = A[base + y1 * lw + x0]! * (1 - tx) + A[base + y1 * lw + x1]! * tx;
      const v = top * (1 - ty) + bottom * ty;
      out[at + y * w + x] = v;
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    }
  }
  const d = mx - mn + 1e-8;
  for (let q = 0; q < h * w; q++) out[at + q] = (out[at + q]! - mn) / d;
}

/**
 * Score-CAM (Wang et al. 2020) at each of `layers`: per image and channel k the class logit of the
 * input multiplied by channel k's upsampled, min-max-normalised map (scoreMask), in batches of masked
 * images made on the GPU, each through the whole network (the mask changes the input, so every layer
 * changes); w = softmax_k of those logits, map ReLU(Σ_k w_k A_k) upsampled and normalised to [0, 1];
 * `maps` is the layers' mean.
 */
export async function scoreCam(model: Model, input: Float32Array, batch: number, layers: string[], opts: PerturbationCamOptions = {}): Promise<PerturbationCamResult> {
  const title = 'Score-CAM';
  checkBatch(title, opts.batch);
  const t0 = performance.now();
  const [c, h, w] = inputHW(model);
  const per = c * h * w;
  const cl = await cleanPass(model, input, batch, layers, title, opts);
  const perLayer: PerturbationLayer[] = [];
  const batches: number[] = [];
  let passes = 0, done = 0;
  const total = cl.vals.reduce((s, v) => s + batch * cl.read.get(v)!.shape[1]!, 0);
  for (const [li, v] of cl.vals.entries()) {
    const A = cl.read.get(v)!;
    const [ch, lh, lw] = featureMap(A, layers[li]!, title);
    const hw = lh * lw;
    const most = model.maxBatch([cl.logitsValue]);
    const chunk = Math.max(1, Math.min(ch, opts.batch ?? most, most));
    const masked = new MaskedImages(model, chunk);
    const masks = new Float32Array(chunk * h * w);
    const channelScores = new Float32Array(batch * ch);
    const weights = new Float32Array(batch * ch);
    const maps = new Float32Array(batch * h * w);
    try {
      for (let i = 0; i < batch; i++) {
        const cls = cl.classes[i]!;
        masked.setImage(input.subarray(i * per, (i + 1) * per));
        for (let first = 0; first < ch; first += chunk) {
          throwIfCancelled(opts.signal, 'Score-CAM');
          const n = Math.min(chunk, ch - first);
          for (let j = 0; j < n; j++) scoreMask(A.data, i, ch, lh, lw, first + j, h, w, masks, j * h * w);
          const res = await model.runFrom(n, masked.batch(masks.subarray(0, n * h * w), n), [cl.logitsValue]);
          const y = res.get(cl.logitsValue)!.data;
          for (let j = 0; j < n; j++) channelScores[i * ch + first + j] = y[j * cl.k + cls]!;
          passes++;
          done += n;
          opts.onProgress?.(done, total);
        }
        const wi = scoreWeights(channelScores.subarray(i * ch, (i + 1) * ch));
        weights.set(wi, i * ch);
        finishCam(weighted(A.data, i, ch, hw, wi), lh, lw, h, w, maps, i * h * w);
      }
    } finally {
      masked.dispose();
    }
    perLayer.push({ layer: layers[li]!, maps, size: [lh, lw], channelScores, weights });
    batches.push(chunk);
  }
  const seconds = (performance.now() - t0) / 1000;
  return { maps: meanOfLayers(perLayer, batch * h * w), shape: [batch, h, w], classes: cl.classes, scores: cl.scores, probs: cl.probs, perLayer, batches, passes, seconds };
}
