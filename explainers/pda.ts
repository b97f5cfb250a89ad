// Prediction difference analysis (Zintgraf et al. 2017; METHODS.md §1): slide a K×K×C window
// over the image; for each window draw S samples of its pixels (conditional: from a Gaussian
// patch model given the surrounding pixels; marginal: the same window of other images) and put
// them in; the drop of the class evidence is the window's relevance, and a pixel's relevance is
// the mean over the windows that contain it.
//
// GPU pipeline per batch of windows (nothing perturbed is uploaded): pda_condmean (conditional
// means from the clean image), pda_draw_conditional / pda_draw_marginal (samples from the
// seeded counter-based RNG), pda_substitute (the batch of perturbed images, written straight
// into the model's input buffer), then the model's forward pass. Batch construction
// (`PdaSampler.source`, engine/pda-sampler.ts) and the forward pass (`model.runFrom`) are separate, so a region-forward
// path can replace the plain forward pass.
import type { Model, Tensor } from '../engine/runner.ts';
import { RegionForward } from '../engine/region.ts';
import { classifierValues, softmaxRows } from '../engine/classify.ts';
import { inferShapes, numel } from '../engine/shapes.ts';
import { ArgumentError, ShapeError, throwIfCancelled } from '../engine/errors.ts';
import { PdaSampler } from '../engine/pda-sampler.ts';
import { checkPatchModel, type PatchModel } from './patch-model.ts';

import { normalDraw, marginalIndex } from './patch-model.ts';
export { pcg4d, normalDraw, marginalIndex } from './patch-model.ts';

export type Sampling = 'conditional' | 'marginal';

// ---- windows ----------------------------------------------------------------------------------

export interface WindowGrid {
  height: number;
  width: number;
  window: number;
  stride: number;
  rows: number;
  cols: number;
  count: number;
}

/**
 * Window origins along an axis: 0, T, 2T, … and always the last position size−K, so every
 * pixel is covered with any stride (y0 = min(r·T, size−K)).
 */
export function windowGrid(height: number, width: number, window: number, stride = 1): WindowGrid {
  if (!Number.isInteger(window) || window < 1) throw new ArgumentError(`--window must be a positive integer, got ${window}`);
  if (window > Math.min(height, width)) throw new ArgumentError(`window ${window} is larger than the image (${height}x${width})`);
  if (!Number.isInteger(stride) || stride < 1) throw new ArgumentError(`--stride must be a positive integer, got ${stride}`);
  const rows = Math.ceil((height - window) / stride) + 1;
  const cols = Math.ceil((width - window) / stride) + 1;
  return { height, width, window, stride, rows, cols, count: rows * cols };
}

export function windowOrigin(g: WindowGrid, index: number): [number, number] {
  return [Math.min(Math.floor(index / g.cols) * g.stride, g.height - g.window), Math.min((index % g.cols) * g.stride, g.width - g.window)];
}

/** Each pixel's mean over the windows containing it of a per-window value (Algorithm 1's WE / counts), via 2D difference arrays. */
export function windowsToPixels(values: ArrayLike<number>, g: WindowGrid, offset = 0, count = g.count): Float32Array {
  const { height: H, width: W, window: K } = g;
  const sum = new Float64Array((H + 1) * (W + 1));
  const cnt = new Float64Array((H + 1) * (W + 1));
  for (let i = 0; i < count; i++) {
    const [y, x] = windowOrigin(g, i);
    const v = values[offset + i]!;
    const a = y * (W + 1) + x, b = y * (W + 1) + x + K, c = (y + K) * (W + 1) + x, d = (y + K) * (W + 1) + x + K;
    sum[a] += v; sum[b] -= v; sum[c] -= v; sum[d] += v;
    cnt[a]++; cnt[b]--; cnt[c]--; cnt[d]++;
  }
  for (let y = 0; y <= H; y++)
    for (let x = 1; x <= W; x++) {
      sum[y * (W + 1) + x] += sum[y * (W + 1) + x - 1]!;
      cnt[y * (W + 1) + x] += cnt[y * (W + 1) + x - 1]!;
    }
  for (let y = 1; y <= H; y++)
    for (let x = 0; x <= W; x++) {
      sum[y * (W + 1) + x] += sum[(y - 1) * (W + 1) + x]!;
      cnt[y * (W + 1) + x] += cnt[(y - 1) * (W + 1) + x]!;
    }
  const out = new Float32Array(H * W);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const n = Math.round(cnt[y * (W + 1) + x]!);
    out[y * W + x] = n > 0 ? sum[y * (W + 1) + x]! / n : 0;
  }
  return out;
}

// ---- Laplace correction and weight of evidence -----------------------------------------------

/**
 * Default N of the Laplace correction p ← (pN+1)/(N+K): the training-set size of the usual
 * data set for the class count: 1000 classes → ILSVRC-2012 train (1,281,167 images),
 * 10 classes → MNIST train (60,000); otherwise 50,000. Override with --laplace-n.
 */
export function defaultLaplaceN(numClasses: number): number {
  return numClasses === 1000 ? 1281167 : numClasses === 10 ? 60000 : 50000;
}

export function laplace(p: number, n: number, k: number): number {
  return (p * n + 1) / (n + k);
}

const log2odds = (p: number) => Math.log2(p / (1 - p));

/** WE = log2 odds(p(c|x)) − log2 odds(p(c|x∖w)), both Laplace-corrected. */
export function weightOfEvidence(p: number, pWithout: number, n: number, k: number): number {
  return log2odds(laplace(p, n, k)) - log2odds(laplace(pWithout, n, k));
}

// ---- the sampler on the GPU: engine/pda-sampler.ts --------------------------------------------

export { PdaSampler, type SamplerOptions } from '../engine/pda-sampler.ts';

// ---- the analysis ------------------------------------------------------------------------------

export interface PdaOptions {
  sampling: Sampling;
  patchModel: PatchModel;
  window: number;
  /** default 1 */
  stride?: number;
  /** S, default 10 */
  samples?: number;
  /** default 0 */
  seed?: number;
  /** classes to explain; default the top `top` classes of the clean image */
  classes?: number[];
  /** default 1 */
  top?: number;
  /** N of the Laplace correction; default defaultLaplaceN(number of classes) */
  laplaceN?: number;
  /** a hidden layer whose every feature map gets a relevance map (activation difference of the map's mean) */
  layer?: string;
  /** single units of `layer` (flat indices into its C×H×W) with their own AD maps */
  units?: number[];
  /** windows per batch (default: as many as the model's batch limit allows, at most 256 images) */
  windowsPerBatch?: number;
  /**
   * Incremental inference (default true): keep the clean image's activations and recompute, per
   * layer, only the rectangle a window can change (engine/region.ts). false recomputes whole images.
   */
  incremental?: boolean;
  /** analyse only the first N windows (benchmarks, previews); the maps cover only those windows */
  limitWindows?: number;
  onProgress?: (windowsDone: number, windows: number) => void;
  signal?: AbortSignal;
}

export interface LayerRelevance {
  name: string;
  value: string;
  /** the value's shape for one image (C, h, w) or (F) */
  shape: number[];
  maps: number;
  /** clean per-map means */
  clean: Float32Array;
  /** per window, maps × windows: AD of the map's mean = mean over the map's units of AD */
  windowAD: Float32Array;
  /** maps × H × W */
  pixels: Float32Array;
  /** per map, the mean over the image of |pixel relevance| (for ranking) */
  strength: Float32Array;
  units?: { indices: number[]; windowAD: Float32Array; pixels: Float32Array };
}

export interface PdaResult {
  sampling: Sampling;
  grid: WindowGrid;
  samples: number;
  seed: number;
  numClasses: number;
  laplaceN: number;
  classes: number[];
  /** clean p(c|x) and logit of each class */
  probs: number[];
  logits: number[];
  /** classes × windows: mean over the samples of p(c|x̃) */
  windowProb: Float32Array;
  /** classes × windows: weight of evidence (Laplace-corrected) */
  windowWE: Float32Array;
  /** classes × windows: activation difference of the logit */
  windowAD: Float32Array;
  /** classes × H × W: each pixel's mean WE over the windows containing it */
  we: Float32Array;
  /** classes × H × W: the same for the logit AD */
  logitAD: Float32Array;
  layer?: LayerRelevance;
  forwardImages: number;
  incremental: boolean;
  /** incremental: multiply-adds per perturbed image relative to a whole forward pass */
  macFraction?: number;
}

export async function predictionDifference(model: Model, x: Float32Array, o: PdaOptions): Promise<PdaResult> {
  const [, C, H, W] = model.graph.input.shape;
  if (C === undefined || H === undefined || W === undefined) throw new ArgumentError('prediction difference analysis needs an image input (N×C×H×W)');
  const grid = windowGrid(H, W, o.window, o.stride ?? 1);
  const S = o.samples ?? 10;
  if (!Number.isInteger(S) || S < 1) throw new ArgumentError(`--samples must be a positive integer, got ${S}`);
  const seed = o.seed ?? 0;
  if (x.length !== C * H * W) throw new ShapeError(`pda: one image of ${C}×${H}×${W} expected, got ${x.length} values`);
  checkPatchModel(o.patchModel, { sampling: o.sampling, window: o.window, channels: C, height: H, width: W });

  const cv = classifierValues(model.graph);
  const logitsV = model.resolve(cv.logits);
  const layerV = o.layer !== undefined ? model.resolve(o.layer) : undefined;
  if (o.units && o.units.length > 0 && !layerV) throw new ArgumentError('--unit needs --layer');
  // A spatial hidden layer's map means come from a global average pool on the GPU (appended to the
  // graph), so a batch reads back maps × images values, not the whole layer (only --unit needs it).
  const spatial = layerV !== undefined && inferShapes(model.graph, 1).get(layerV)!.length === 4;
  const meansV = spatial ? `${layerV}#map-means` : undefined;
  const wm = meansV ? model.extend([{ name: meansV, op: 'globalavgpool', inputs: [layerV!], outputs: [meansV], attrs: {} }]) : model;
  const outs = [logitsV, ...(meansV ? [meansV] : []), ...(layerV && layerV !== logitsV && (!meansV || (o.units?.length ?? 0) > 0) ? [layerV] : [])];
  let clean: Map<string, Tensor>;
  try {
    clean = await wm.run(x, 1, { outputs: [...new Set([...outs, ...(layerV ? [layerV] : [])])] });
  } catch (e) {
    if (wm !== model) wm.destroy();
    throw e;
  }
  try {
    return await analyse();
  } finally {
    if (wm !== model) wm.destroy();
  }

  async function analyse(): Promise<PdaResult> {
    const l0 = clean.get(logitsV)!.data;
    const K = l0.length;
    const p0 = softmaxRows(l0, K);
    let classes: number[];
    if (o.classes && o.classes.length > 0) {
      for (const c of o.classes) if (!Number.isInteger(c) || c < 0 || c >= K) throw new ArgumentError(`class ${c} is out of range: the model has ${K} classes (0–${K - 1})`);
      classes = [...o.classes];
    } else {
      const top = o.top ?? 1;
      if (!Number.isInteger(top) || top < 1 || top > K) throw new ArgumentError(`--top must be between 1 and the number of classes ${K}, got ${top}`);
      classes = Array.from(p0, (p, i) => ({ p, i })).sort((a, b) => b.p - a.p || a.i - b.i).slice(0, top).map((e) => e.i);
    }
    const N = o.laplaceN ?? defaultLaplaceN(K);
    if (!(N > 0)) throw new ArgumentError(`--laplace-n must be positive, got ${N}`);

    // The hidden layer: maps (channels) × units per map.
    let layerShape: number[] = [];
    let maps = 0, perMap = 0, layerSize = 0;
    let cleanMap: Float32Array = new Float32Array(0);
    let cleanLayer: Float32Array = new Float32Array(0);
    if (layerV) {
      layerShape = inferShapes(wm.graph, 1).get(layerV)!.slice(1);
      layerSize = numel(layerShape);
      maps = layerShape[0] ?? 1;
      perMap = layerSize / maps;
      cleanLayer = clean.get(layerV)!.data;
      cleanMap = meansV ? clean.get(meansV)!.data : mapMeans(cleanLayer, 1, maps, perMap);
      for (const u of o.units ?? []) if (!Number.isInteger(u) || u < 0 || u >= layerSize) throw new ArgumentError(`unit ${u} is out of range: layer ${o.layer} has ${layerSize} units (0–${layerSize - 1})`);
    } else if (o.units && o.units.length > 0) throw new ArgumentError('--unit needs --layer');
    const units = o.units ?? [];

    const nc = classes.length;
    const windows = o.limitWindows !== undefined ? Math.max(1, Math.min(grid.count, o.limitWindows)) : grid.count;
    const windowProb = new Float32Array(nc * windows);
    const windowWE = new Float32Array(nc * windows);
    const windowAD = new Float32Array(nc * windows);
    const layerAD = new Float32Array(maps * windows);
    const unitAD = new Float32Array(units.length * windows);

    const incremental = o.incremental ?? true;
    // Images per batch: what the whole-image plan fits (at most 256); region plans hold no whole
    // activation maps before the global pool, so they take up to 256 images where they fit.
    let region: RegionForward | undefined;
    let maxImages = Math.max(1, Math.min(256, wm.maxBatch(outs)));
    if (incremental && o.windowsPerBatch === undefined)
      for (let n = Math.max(S, Math.floor(256 / S) * S); n > maxImages; n = Math.floor(n / S / 2) * S) {
        try {
          region = new RegionForward(wm, { rect: [grid.window, grid.window], batch: n, outputs: outs });
          maxImages = n;
          break;
        } catch (e) {
          if (!(e instanceof ShapeError)) throw e;
        }
      }
    const wpb = Math.max(1, Math.min(windows, o.windowsPerBatch ?? Math.max(1, Math.floor(maxImages / S))));
    if (region && region.batch !== wpb * S) {
      region.destroy();
      region = undefined;
    }
    const sampler = new PdaSampler(wm.engine, { sampling: o.sampling, patchModel: o.patchModel, x, channels: C, grid, samples: S, seed, maxWindows: wpb });
    let forwardImages = 1;
    try {
      if (incremental) {
        region ??= new RegionForward(wm, { rect: [grid.window, grid.window], batch: wpb * S, outputs: outs });
        await region.setClean(x);
      }
      const oy = new Int32Array(wpb * S), ox = new Int32Array(wpb * S);
      for (let first = 0; first < windows; first += wpb) {
        throwIfCancelled(o.signal, 'pda');
        const nw = Math.min(wpb, windows - first);
        let res: Map<string, Tensor>;
        if (region) {
          // The last batch may be short: its spare images repeat the last window and are ignored.
          for (let b = 0; b < wpb * S; b++) [oy[b], ox[b]] = windowOrigin(grid, first + Math.min(nw - 1, Math.floor(b / S)));
          res = await region.run(sampler.source(first, nw), oy, ox);
        } else res = await wm.runFrom(nw * S, sampler.source(first, nw), outs);
        forwardImages += nw * S;
        const lg = res.get(logitsV)!.data;
        const pr = softmaxRows(lg, K);
        const lm = meansV ? res.get(meansV)!.data : layerV ? mapMeans(res.get(layerV)!.data, nw * S, maps, perMap) : undefined;
        const lv = layerV && units.length > 0 ? res.get(layerV)!.data : undefined;
        for (let wl = 0; wl < nw; wl++) {
          const wi = first + wl;
          classes.forEach((c, ci) => {
            let ps = 0, ls = 0;
            for (let s = 0; s < S; s++) {
              ps += pr[(wl * S + s) * K + c]!;
              ls += lg[(wl * S + s) * K + c]!;
            }
            const pm = ps / S;
            windowProb[ci * windows + wi] = pm;
            windowWE[ci * windows + wi] = weightOfEvidence(p0[c]!, pm, N, K);
            windowAD[ci * windows + wi] = l0[c]! - ls / S;
          });
          if (lm) for (let m = 0; m < maps; m++) {
            let s0 = 0;
            for (let s = 0; s < S; s++) s0 += lm[(wl * S + s) * maps + m]!;
            layerAD[m * windows + wi] = cleanMap[m]! - s0 / S;
          }
          if (lv) units.forEach((u, ui) => {
            let s0 = 0;
            for (let s = 0; s < S; s++) s0 += lv[(wl * S + s) * layerSize + u]!;
            unitAD[ui * windows + wi] = cleanLayer[u]! - s0 / S;
          });
        }
        o.onProgress?.(first + nw, windows);
      }
    } finally {
      sampler.destroy();
      region?.destroy();
    }

    const toPixels = (vals: Float32Array, count: number) => {
      const out = new Float32Array(count * H * W);
      for (let i = 0; i < count; i++) out.set(windowsToPixels(vals, grid, i * windows, windows), i * H * W);
      return out;
    };
    const result: PdaResult = {
      sampling: o.sampling, grid, samples: S, seed, numClasses: K, laplaceN: N, classes,
      probs: classes.map((c) => p0[c]!), logits: classes.map((c) => l0[c]!),
      windowProb, windowWE, windowAD, we: toPixels(windowWE, nc), logitAD: toPixels(windowAD, nc), forwardImages,
      incremental, macFraction: region ? region.stats.macs / region.stats.fullMacs : undefined,
    };
    if (layerV) {
      const pixels = toPixels(layerAD, maps);
      const strength = new Float32Array(maps);
      for (let m = 0; m < maps; m++) {
        let s = 0;
        for (let q = 0; q < H * W; q++) s += Math.abs(pixels[m * H * W + q]!);
        strength[m] = s / (H * W);
      }
      result.layer = { name: o.layer!, value: layerV, shape: layerShape, maps, clean: cleanMap, windowAD: layerAD, pixels, strength };
      if (units.length > 0) result.layer.units = { indices: units, windowAD: unitAD, pixels: toPixels(unitAD, units.length) };
    }
    return result;
  }
}

/** Per image, the mean of each map's units: n × maps. */
function mapMeans(v: Float32Array, n: number, maps: number, perMap: number): Float32Array {
  const out = new Float32Array(n * maps);
  for (let b = 0; b < n; b++)
    for (let m = 0; m < maps; m++) {
      let s = 0;
      const off = (b * maps + m) * perMap;
      for (let q = 0; q < perMap; q++) s += v[off + q]!;
      out[b * maps + m] = s / perMap;
    }
  return out;
}

/**
 * The batch of perturbed images of windows first..first+nw−1 × S samples built on the CPU (image
 * b = window b / S, sample b % S), with the same draws as the GPU sampler (the counter-based RNG
 * replayed): the plain route a user would take with a CPU runtime, and its reference.
 */
export function perturbedBatchCpu(o: { sampling: Sampling; patchModel: PatchModel; x: Float32Array; channels: number; grid: WindowGrid; samples: number; seed: number }, first: number, nw: number): Float32Array {
  const { grid: g, channels: C, samples: S, x, seed, patchModel: pm } = o;
  const { height: H, width: W, window: K } = g;
  const dw = C * K * K;
  const out = new Float32Array(nw * S * C * H * W);
  const mu = new Float64Array(dw);
  const v = new Float64Array(dw);
  const z = new Float64Array(dw);
  for (let wl = 0; wl < nw; wl++) {
    const win = first + wl;
    const [y0, x0] = windowOrigin(g, win);
    if (o.sampling === 'conditional') {
      const f = pm.factors!;
      const L = pm.padding, P = K + 2 * L;
      const py0 = Math.max(0, Math.min(y0 - L, H - P)), px0 = Math.max(0, Math.min(x0 - L, W - P));
      const q = (y0 - py0) * (2 * L + 1) + (x0 - px0);
      for (let i = 0; i < dw; i++) {
        let s = f.b[q * dw + i]!;
        const row = (q * dw + i) * f.dO;
        for (let j = 0; j < f.dO; j++) {
          const pi = f.oIndex[q * f.dO + j]!;
          const c = Math.floor(pi / (P * P)), r = pi % (P * P);
          s += f.A[row + j]! * x[c * H * W + (py0 + Math.floor(r / P)) * W + px0 + (r % P)]!;
        }
        mu[i] = s;
      }
    }
    for (let s = 0; s < S; s++) {
      const img = out.subarray((wl * S + s) * C * H * W, (wl * S + s + 1) * C * H * W);
      img.set(x);
      if (o.sampling === 'conditional') {
        const f = pm.factors!;
        const L = pm.padding, P = K + 2 * L;
        const py0 = Math.max(0, Math.min(y0 - L, H - P)), px0 = Math.max(0, Math.min(x0 - L, W - P));
        const q = (y0 - py0) * (2 * L + 1) + (x0 - px0);
        for (let j = 0; j < dw; j++) z[j] = normalDraw(seed, win, s, j);
        for (let i = 0; i < dw; i++) {
          let t = mu[i]!;
          const row = (q * dw + i) * dw;
          for (let j = 0; j <= i; j++) t += f.L[row + j]! * z[j]!;
          v[i] = t;
        }
      } else {
        const st = pm.store!;
        const m = marginalIndex(seed, win, s, st.count);
        for (let c = 0; c < C; c++) for (let r = 0; r < K * K; r++) v[c * K * K + r] = st.data[m * C * H * W + c * H * W + (y0 + Math.floor(r / K)) * W + x0 + (r % K)]!;
      }
      for (let c = 0; c < C; c++) for (let yy = 0; yy < K; yy++) for (let xx = 0; xx < K; xx++) img[c * H * W + (y0 + yy) * W + x0 + xx] = v[c * K * K + yy * K + xx]!;
    }
  }
  return out;
}
