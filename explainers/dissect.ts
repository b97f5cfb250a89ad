// Network dissection (Bau et al. 2017; METHODS.md §7, issue 16): which concept each unit of a conv
// layer detects. Per unit k the threshold T_k with P(a_k > T_k) = quantile over every activation of
// the data set; per image its mask M_k = S(A_k) > T_k at the labels' resolution (S: bilinear,
// half-pixel centres); IoU_{k,c} = Σ|M_k ∩ L_c| / Σ|M_k ∪ L_c| summed over the data set; the unit's
// label is its best concept, and it is a detector when that IoU exceeds `iou`.
//
// The data set streams through the model in batches, once per quantile pass and once for the tally
// (engine/dissect.ts: the passes and the tally are GPU work injected right after the layer is
// computed, so no activation map is kept beyond its batch); only per-unit histograms, per-image
// maxima and the units × concepts counts come back. The layer's values of the batch are read back
// as well (the run needs an output), which is how the top images' low-resolution maps are kept for
// the strips: units × top × h × w floats. Returns numbers, never files.
import type { Model } from '../engine/runner.ts';
import type { Preprocess } from '../engine/ir.ts';
import type { Injection } from '../engine/plan.ts';
import { Model as ModelClass } from '../engine/runner.ts';
import { ArgumentError, ShapeError, throwIfCancelled } from '../engine/errors.ts';
import { inferShapes } from '../engine/shapes.ts';
import { ConceptTally, UnitQuantiles, iouTable, labelPlanes, type TallyTotals } from '../engine/dissect.ts';
import { checkConceptSet, type ConceptSample, type ConceptSet } from '../loaders/concepts.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import type { RGBAImage } from '../loaders/image-formats.ts';
import type { Explanation } from './explanation.ts';

export interface DissectOptions {
  /** the layers (or values) to dissect: each must give N×K×h×w maps */
  layers: string[];
  /** the top fraction of a unit's activations its mask keeps (NetDissect: 0.005) */
  quantile: number;
  /** a unit whose best IoU exceeds this is a detector (NetDissect: 0.04) */
  iou: number;
  /** the labels' resolution, H × W (default: the first sample's); other samples are resized nearest */
  maskSize?: [number, number];
  /** images per forward pass (default and most: what the device fits for the layer, at most 16) */
  batch?: number;
  /** histogram bins per quantile pass (the threshold is exact to (max − min)/bins²) */
  bins?: number;
  /** images kept per unit for its strip, highest maximum activation first */
  top: number;
  /** how an image becomes the network's input */
  preprocess: Preprocess & { channels: number };
  /** the layer's maps are kept for the later sweeps while all of them fit in this many bytes (default 256 MiB; 0: the network runs every sweep) */
  cacheBytes?: number;
  /** the network's input of sample i when the caller has it already (the registry's batch), instead of preprocessing `image()` */
  input?: (sample: number) => Float32Array;
}

export interface ConceptScore {
  concept: string;
  /** the concept's id in the set (0: none — the unit's mask never met a label) */
  id: number;
  category: string;
  iou: number;
}

export interface UnitDissection extends ConceptScore {
  unit: number;
  /** T_k, in the layer's units, and how exact it is */
  threshold: number;
  thresholdError: number;
  detector: boolean;
  /** the best concept within each category that the unit meets */
  perCategory: Record<string, ConceptScore>;
  /** the samples (indices into the set) of the unit's top images and their maximum activations */
  top: number[];
  topMax: number[];
  /** |M_k| summed over the data set, pixels at the labels' resolution */
  area: number;
}

export interface LayerDissection {
  layer: string;
  /** the graph value dissected */
  value: string;
  /** K, h, w */
  shape: [number, number, number];
  units: UnitDissection[];
  /** IoU per unit × concept id (K × (concepts + 1), column 0 unused) */
  iou: Float64Array;
  /** the top images' maps at the layer's resolution: K × top × h × w (zeros after a unit's last top image) */
  topMaps: Float32Array;
  /** detectors per category (a unit counts once, under its best concept's category) */
  detectors: Record<string, number>;
  seconds: number;
}

export interface Dissection {
  source: string;
  images: number;
  concepts: { id: number; name: string; category: string; pixels: number }[];
  categories: string[];
  mask: [number, number];
  quantile: number;
  iouThreshold: number;
  bins: number;
  top: number;
  layers: LayerDissection[];
  seconds: number;
}

/** Stage, done, total: the CLI's bar and the browser's. */
export type DissectProgress = (stage: string, done: number, total: number) => void;

export function checkDissectOptions(o: DissectOptions): void {
  if (o.layers.length === 0) throw new ArgumentError('dissect: --layer names no layer');
  if (!(o.quantile > 0 && o.quantile < 1)) throw new ArgumentError(`dissect: --quantile must be in (0, 1), got ${o.quantile}`);
  if (!(o.iou >= 0 && o.iou <= 1)) throw new ArgumentError(`dissect: --iou must be in [0, 1], got ${o.iou}`);
  if (!Number.isInteger(o.top) || o.top < 1 || o.top > 64) throw new ArgumentError(`dissect: --top must be an integer in [1, 64], got ${o.top}`);
  if (o.batch !== undefined && (!Number.isInteger(o.batch) || o.batch < 1)) throw new ArgumentError(`dissect: --batch must be a positive integer, got ${o.batch}`);
  if (o.bins !== undefined && (!Number.isInteger(o.bins) || o.bins < 16 || o.bins > 65536)) throw new ArgumentError(`dissect: --bins must be an integer in [16, 65536], got ${o.bins}`);
  if (o.maskSize && !o.maskSize.every((v) => Number.isInteger(v) && v >= 1 && v <= 4096)) throw new ArgumentError(`dissect: --mask-size must be one or two integers in [1, 4096], got ${o.maskSize.join('x')}`);
}

/** A layer's graph value and its K × h × w, or an ArgumentError naming the layer. */
export function layerMaps(model: Model, layer: string): { value: string; shape: [number, number, number] } {
  const value = model.resolve(layer);
  const s = inferShapes(model.graph, 1).get(value);
  if (!s || s.length !== 4) throw new ArgumentError(`dissect: layer "${layer}" gives ${s ? `[${s.join(', ')}]` : 'no value'}; dissection needs a conv layer's N×K×h×w maps`);
  return { value, shape: [s[1]!, s[2]!, s[3]!] };
}

/**
 * The network's inputs of a run, batch by batch: preprocessed once and kept while they fit in
 * `budget` bytes (a data set the size of the photos or the ADE20K sample), else made again per pass
 * (a Broden download), so memory stays bounded.
 */
export class InputStream {
  private readonly cache = new Map<number, Float32Array>();
  private readonly keep: boolean;
  readonly per: number;
  constructor(private readonly samples: ConceptSample[], private readonly pp: Preprocess & { channels: number }, shape: [number, number, number], budget = 512 * 2 ** 20, private readonly given?: (sample: number) => Float32Array) {
    this.per = shape[0] * shape[1] * shape[2];
    this.keep = samples.length * this.per * 4 <= budget;
    this.pp = { ...pp, size: [shape[1], shape[2]] };
  }
  private one(i: number): Float32Array {
    const hit = this.cache.get(i);
    if (hit) return hit;
    const s = this.samples[i]!;
    const x = this.given ? this.given(i) : preprocessImage(s.image(), this.pp);
    if (x.length !== this.per) throw new ShapeError(`${s.name}: preprocessing gave ${x.length} values; the network takes ${this.per}`);
    if (this.keep) this.cache.set(i, x);
    return x;
  }
  batch(indices: number[]): Float32Array {
    const out = new Float32Array(indices.length * this.per);
    indices.forEach((s, j) => out.set(this.one(s), j * this.per));
    return out;
  }
}

/**
 * A layer's maps of any batch of the data set, with GPU work injected right after they are made.
 * The first time an image goes through, the whole network runs (and the maps are read back, since a
 * run needs an output); when every image's maps fit in `budget` bytes they are kept, and later
 * sweeps (the quantile's next passes, the tally, Net2Vec's epochs) run them through a one-node
 * replay graph instead of the network (a leaky ReLU of slope 1: an exact copy, so the injection
 * sees the same values in a buffer of its own). A Broden-sized set is simply run again each sweep.
 */
export class LayerStream {
  private readonly cache = new Map<number, Float32Array>();
  private readonly keep: boolean;
  private replay?: Model;
  private readonly per: number;
  constructor(private readonly model: Model, private readonly value: string, private readonly shape: [number, number, number], private readonly inputs: InputStream, samples: number, budget = 256 * 2 ** 20) {
    this.per = shape[0] * shape[1] * shape[2];
    this.keep = samples * this.per * 4 <= budget;
  }

  /** Runs the batch `b` (sample indices) with `dispatches` injected on the layer's maps; returns the maps (batch × K × h × w). */
  async run(b: number[], key: string, dispatches: Injection['dispatches']): Promise<Float32Array> {
    if (this.keep && b.every((i) => this.cache.has(i))) {
      this.replay ??= new ModelClass(this.model.engine, {
        name: 'replay', format: 'onnx', input: { name: 'maps', shape: [-1, ...this.shape] }, outputs: ['copy'], params: new Map(),
        nodes: [{ name: 'copy', op: 'leakyrelu', inputs: ['maps'], outputs: ['copy'], attrs: { alpha: 1 } }],
      });
      const x = new Float32Array(b.length * this.per);
      b.forEach((i, j) => x.set(this.cache.get(i)!, j * this.per));
      await this.replay.run(x, b.length, { outputs: ['copy'], inject: { value: 'copy', key, dispatches } });
      return x;
    }
    const res = await this.model.run(this.inputs.batch(b), b.length, { outputs: [this.value], inject: { value: this.value, key, dispatches } });
    const acts = res.get(this.value)!.data;
    if (this.keep) b.forEach((i, j) => this.cache.set(i, acts.slice(j * this.per, (j + 1) * this.per)));
    return acts;
  }

  destroy(): void {
    this.replay?.destroy();
    this.replay = undefined;
    this.cache.clear();
  }
}

/** Splits 0…n−1 into consecutive batches of at most `size`. */
export function batches(indices: number[], size: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < indices.length; i += size) out.push(indices.slice(i, i + size));
  return out;
}

let runs = 0;
/** A plan-cache key no other run shares: the injected dispatches hold this run's buffers. */
export const uniqueKey = (what: string) => `${what}#${++runs}`;

/**
 * The labels' size of a run: the option, else the data set's when every sample shares one (a Broden
 * folder), else 112×112 (NetDissect's for 224-pixel inputs; ADE20K scenes and mixed sets).
 */
export function maskSizeOf(set: ConceptSet, given?: [number, number]): [number, number] {
  if (given) return given;
  const s0 = set.samples[0];
  if (!s0) throw new ArgumentError(`${set.source}: the data set holds no image`);
  return set.samples.every((s) => s.height === s0.height && s.width === s0.width) ? [s0.height, s0.width] : [112, 112];
}

/** The most planes any sample needs: its pixel maps plus one per image-level concept. */
export const maxPlanes = (samples: ConceptSample[]) => Math.max(1, ...samples.map((s) => s.maps.length + s.whole.length));

/**
 * Per-unit thresholds over `indices`' activations of `value`, on the GPU (engine/dissect.ts
 * UnitQuantiles: range, histogram and refine passes, each a sweep over the data).
 */
export async function unitThresholds(
  model: Model, shape: [number, number, number], stream: LayerStream, indices: number[], n: number,
  o: { quantile: number; bins?: number }, tick: (stage: string) => void, signal?: AbortSignal,
): Promise<{ thresholds: Float32Array; binWidth: Float32Array; passes: number }> {
  const q = new UnitQuantiles(model.engine, { units: shape[0], quantile: o.quantile, bins: o.bins });
  try {
    let passes = 0;
    for (;;) {
      const key = uniqueKey(`dissect:${q.pass}`);
      for (const b of batches(indices, n)) {
        throwIfCancelled(signal, 'dissect');
        await stream.run(b, key, (buf, batch, s) => q.dispatches(buf, batch, s));
        tick('thresholds');
      }
      passes++;
      if (await q.finishPass()) break;
    }
    return { thresholds: q.thresholds(), binWidth: q.binWidth(), passes };
  } finally {
    q.destroy();
  }
}

/** Per concept id, the pixels that carry it over `samples` at the mask size (a pixel counts once per concept). */
export function conceptPixels(samples: ConceptSample[], concepts: number, maskH: number, maskW: number): Float64Array {
  const count = new Float64Array(concepts + 1);
  for (const s of samples) {
    const { planes, data } = labelPlanes([s], maskH, maskW);
    const hw = maskH * maskW;
    const seen = new Set<number>();
    for (let p = 0; p < hw; p++) {
      seen.clear();
      for (let l = 0; l < planes; l++) {
        const id = data[l * hw + p]!;
        if (id !== 0 && !seen.has(id)) {
          seen.add(id);
          count[id]!++;
        }
      }
    }
  }
  return count;
}

/**
 * Each unit's top images over a stream of images (highest maximum first; of equal maxima the one
 * offered first), with their maps at the layer's resolution. Offering a data set's images in order,
 * or the top lists of its consecutive chunks in chunk order, gives the same lists and maps.
 */
export class TopImages {
  readonly idx: number[][];
  readonly max: number[][];
  /** K × top × h × w (zeros after a unit's last top image) */
  readonly maps: Float32Array;
  constructor(readonly units: number, readonly top: number, readonly hw: number) {
    this.idx = Array.from({ length: units }, () => []);
    this.max = Array.from({ length: units }, () => []);
    this.maps = new Float32Array(units * top * hw);
  }

  /** Offers `sample` with maximum `m` to unit k; `map` gives its map (h × w) when it is kept. */
  offer(k: number, sample: number, m: number, map: () => ArrayLike<number>): void {
    const { top, hw } = this;
    const ti = this.idx[k]!, tm = this.max[k]!;
    if (ti.length === top && m <= tm[top - 1]!) return;
    let at = tm.findIndex((v) => m > v);
    if (at < 0) at = tm.length;
    ti.splice(at, 0, sample);
    tm.splice(at, 0, m);
    const base = k * top * hw;
    // shift the maps after `at` down one slot, dropping the last when full
    const last = Math.min(ti.length, top) - 1;
    for (let r = last; r > at; r--) this.maps.copyWithin(base + r * hw, base + (r - 1) * hw, base + r * hw);
    if (ti.length > top) {
      ti.pop();
      tm.pop();
    }
    if (at < top) this.maps.set(map(), base + at * hw);
  }

  /** Offers every image of another TopImages (a chunk's), in its order. */
  offerAll(o: TopImages): void {
    for (let k = 0; k < this.units; k++)
      o.idx[k]!.forEach((s, r) => this.offer(k, s, o.max[k]![r]!, () => o.maps.subarray((k * o.top + r) * o.hw, (k * o.top + r + 1) * o.hw)));
  }
}

/** What a dissection of `set` works with, once per run: the layers, the mask size, the inputs, batch sizes. */
export interface DissectSetup {
  layers: { layer: string; value: string; shape: [number, number, number] }[];
  mask: [number, number];
  concepts: number;
  planes: number;
  inputs: InputStream;
  /** images per model run, per layer */
  sizes: number[];
}

export function dissectSetup(model: Model, set: ConceptSet, o: DissectOptions): DissectSetup {
  checkDissectOptions(o);
  checkConceptSet(set);
  if (set.samples.length === 0) throw new ArgumentError(`${set.source}: the data set holds no image`);
  const [, c, h, w] = model.graph.input.shape;
  if (c === undefined || h === undefined || w === undefined) throw new ArgumentError(`dissect needs an image input (N×C×H×W); the model takes [${model.graph.input.shape.join(', ')}]`);
  const layers = o.layers.map((l) => ({ layer: l, ...layerMaps(model, l) }));
  return {
    layers, mask: maskSizeOf(set, o.maskSize), concepts: set.concepts.length, planes: maxPlanes(set.samples),
    inputs: new InputStream(set.samples, o.preprocess, [c, h, w], undefined, o.input),
    sizes: layers.map((l) => Math.max(1, Math.min(o.batch ?? 16, model.maxBatch([l.value])))),
  };
}

/** One layer's tally over `indices` (in order): exact integer totals, and each unit's top images. */
export interface LayerTally {
  totals: TallyTotals;
  top: TopImages;
}

/** Tallies the images `indices` of one layer (thresholds given) on the GPU, batch by batch; `tick` after each batch. */
export async function tallyLayer(
  model: Model, set: ConceptSet, s: DissectSetup, li: number, stream: LayerStream, indices: number[], thresholds: Float32Array, top: number,
  tick: () => void, signal?: AbortSignal,
): Promise<LayerTally> {
  const L = s.layers[li]!, n = s.sizes[li]!;
  const [K, lh, lw] = L.shape;
  const [maskH, maskW] = s.mask;
  const tally = new ConceptTally(model.engine, { units: K, concepts: s.concepts, maskH, maskW, maxBatch: n, maxPlanes: s.planes });
  const lhw = lh * lw;
  const tops = new TopImages(K, top, lhw);
  try {
    tally.setThresholds(thresholds);
    const key = uniqueKey('dissect:tally');
    for (const b of batches(indices, n)) {
      throwIfCancelled(signal, 'dissect');
      const lab = labelPlanes(b.map((i) => set.samples[i]!), maskH, maskW);
      tally.setLabels(lab.data, b.length, lab.planes);
      const acts = await stream.run(b, key, (buf, batch, sh) => tally.dispatches(buf, batch, sh));
      const maxima = await tally.imageMaxima(b.length);
      await tally.afterRun(b.length);
      // keep each unit's top images (highest maximum first) and their maps at the layer's resolution
      for (let k = 0; k < K; k++)
        for (let j = 0; j < b.length; j++) tops.offer(k, b[j]!, maxima[j * K + k]!, () => acts.subarray((j * K + k) * lhw, (j * K + k + 1) * lhw));
      tick();
    }
    return { totals: await tally.totals(), top: tops };
  } finally {
    tally.destroy();
  }
}

/** A layer's units from its thresholds and its tally over the whole data set: best concept, per category, detector. */
export function layerDissection(
  set: Pick<ConceptSet, 'concepts' | 'categories'>, L: DissectSetup['layers'][number], thresholds: Float32Array, binWidth: Float32Array,
  t: LayerTally, iouThreshold: number, seconds: number,
): LayerDissection {
  const K = L.shape[0], C = set.concepts.length;
  const iou = iouTable(t.totals, K, C);
  const units: UnitDissection[] = [];
  const detectors: Record<string, number> = Object.fromEntries(set.categories.map((cat) => [cat, 0]));
  for (let k = 0; k < K; k++) {
    let best: ConceptScore = { concept: '-', id: 0, category: '-', iou: 0 };
    const perCategory: Record<string, ConceptScore> = {};
    for (let id = 1; id <= C; id++) {
      const v = iou[k * (C + 1) + id]!;
      if (v <= 0) continue;
      const cc = set.concepts[id - 1]!;
      const sc = { concept: cc.name, id, category: cc.category, iou: v };
      if (v > best.iou) best = sc;
      if (v > (perCategory[cc.category]?.iou ?? 0)) perCategory[cc.category] = sc;
    }
    const detector = best.id !== 0 && best.iou > iouThreshold;
    if (detector) detectors[best.category] = (detectors[best.category] ?? 0) + 1;
    units.push({ unit: k, ...best, threshold: thresholds[k]!, thresholdError: binWidth[k]!, detector, perCategory, top: t.top.idx[k]!, topMax: t.top.max[k]!, area: t.totals.unitArea[k]! });
  }
  return { layer: L.layer, value: L.value, shape: L.shape, units, iou, topMaps: t.top.maps, detectors, seconds };
}

/**
 * Dissects each layer of `o.layers` over `set`. Progress reports every batch of every pass; an
 * aborted signal stops between batches.
 */
export async function dissect(model: Model, set: ConceptSet, o: DissectOptions, progress?: DissectProgress, signal?: AbortSignal): Promise<Dissection> {
  const s = dissectSetup(model, set, o);
  const all = set.samples.map((_, i) => i);
  const t0 = performance.now();
  // passes per layer: range, histogram, refine (UnitQuantiles may end sooner), tally
  const total = s.layers.reduce((sum, _l, i) => sum + 4 * Math.ceil(all.length / s.sizes[i]!), 0);
  let done = 0;
  const out: LayerDissection[] = [];
  let pixels: ArrayLike<number> = new Float64Array(s.concepts + 1);
  for (const [li, L] of s.layers.entries()) {
    const tl = performance.now();
    const n = s.sizes[li]!;
    const tick = () => progress?.(L.layer, ++done, total);
    const stream = new LayerStream(model, L.value, L.shape, s.inputs, all.length, o.cacheBytes);
    try {
      const { thresholds, binWidth, passes } = await unitThresholds(model, L.shape, stream, all, n, o, tick, signal);
      done += (3 - passes) * Math.ceil(all.length / n); // passes UnitQuantiles did not need
      const t = await tallyLayer(model, set, s, li, stream, all, thresholds, o.top, tick, signal);
      out.push(layerDissection(set, L, thresholds, binWidth, t, o.iou, (performance.now() - tl) / 1000));
      pixels = t.totals.conceptArea; // the labels' counts, the same for every layer
    } finally {
      stream.destroy();
    }
  }
  return {
    source: set.source, images: set.samples.length,
    concepts: set.concepts.map((cc) => ({ ...cc, pixels: pixels[cc.id]! })), categories: set.categories,
    mask: s.mask, quantile: o.quantile, iouThreshold: o.iou, bins: o.bins ?? 1024, top: o.top, layers: out, seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * One unit's mask at the labels' resolution from its map at the layer's: bilinear, half-pixel
 * centres, clamped (the convention of engine/dissect.ts), then > threshold. For figures.
 */
export function unitMask(map: Float32Array, h: number, w: number, outH: number, outW: number, threshold: number): Uint8Array {
  const up = upsampleMap(map, h, w, outH, outW);
  const out = new Uint8Array(outH * outW);
  for (let i = 0; i < out.length; i++) out[i] = up[i]! > threshold ? 1 : 0;
  return out;
}

/**
 * A map upsampled bilinearly with half-pixel centres, clamped, computed as kernels/lib/bilinear.wgsl
 * does (source taps from exact integers, the mix a + t·(b − a) in float32), so a figure's mask is the
 * tally's.
 */
export function upsampleMap(map: Float32Array, h: number, w: number, outH: number, outW: number): Float32Array {
  const f = Math.fround;
  const tap = (o: number, inSize: number, outSize: number): [number, number, number] => {
    const num = (2 * o + 1) * inSize - outSize;
    if (num <= 0) return [0, Math.min(1, inSize - 1), 0];
    const den = 2 * outSize;
    const i0 = Math.floor(num / den);
    if (i0 >= inSize - 1) return [inSize - 1, inSize - 1, 0];
    return [i0, i0 + 1, f((num % den) / den)];
  };
  const xs = Array.from({ length: outW }, (_, x) => tap(x, w, outW));
  const out = new Float32Array(outH * outW);
  for (let y = 0; y < outH; y++) {
    const [y0, y1, ty] = tap(y, h, outH);
    for (let x = 0; x < outW; x++) {
      const [x0, x1, tx] = xs[x]!;
      const a00 = map[y0 * w + x0]!, a01 = map[y0 * w + x1]!, a10 = map[y1 * w + x0]!, a11 = map[y1 * w + x1]!;
      const top = f(a00 + f(tx * f(a01 - a00)));
      const bottom = f(a10 + f(tx * f(a11 - a10)));
      out[y * outW + x] = f(top + f(ty * f(bottom - top)));
    }
  }
  return out;
}

/**
 * The images of a preprocessed batch back as pixels (v / scale + mean, BGR → RGB, clamped to
 * 0..255, grey repeated), for the colour names of the registry's inputs: the browser app and
 * `loupe explain --method dissect` dissect the images they were given.
 */
export function inputImages(x: Float32Array, batch: number, c: number, h: number, w: number, pp: Preprocess): RGBAImage[] {
  const scale = pp.scale ?? 1, hw = h * w;
  const mean = (k: number) => (pp.mean ? (pp.mean.length === 1 ? pp.mean[0]! : pp.mean[k] ?? 0) : 0);
  return Array.from({ length: batch }, (_, i) => {
    const data = new Uint8Array(hw * 4);
    for (let p = 0; p < hw; p++) {
      for (let ch = 0; ch < 3; ch++) {
        const k = c === 1 ? 0 : pp.bgr ? 2 - ch : ch;
        data[4 * p + ch] = Math.max(0, Math.min(255, Math.round(x[(i * c + k) * hw + p]! / scale + mean(k))));
      }
      data[4 * p + 3] = 255;
    }
    return { width: w, height: h, data };
  });
}

/**
 * A dissection as an Explanation (the registry's face: the CLI's `explain --method dissect` and the
 * browser app): per layer the IoU table, the thresholds and the top images' maps as tensors, the
 * units' labels in the metadata; `dissectionOf` reads it back for the figures.
 */
export function dissectionExplanation(d: Dissection, names: readonly string[], parameters: Record<string, unknown>): Explanation {
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  d.layers.forEach((l, li) => {
    const C = d.concepts.length;
    tensors[`iou${li}`] = { shape: [l.shape[0], C + 1], data: Float32Array.from(l.iou) };
    tensors[`topMaps${li}`] = { shape: [l.shape[0], d.top, l.shape[1], l.shape[2]], data: l.topMaps };
  });
  const first = d.layers[0]!;
  return {
    method: 'dissect', tensors,
    meta: JSON.parse(JSON.stringify({
      method: 'dissect', inputs: names, parameters,
      dissection: { ...d, layers: d.layers.map((l) => ({ ...l, iou: undefined, topMaps: undefined, units: l.units.map((u) => ({ ...u, topNames: u.top.map((s) => names[s]) })) })) },
      stored: 'per unit: its best concept, category and IoU over the images (detector when IoU > the threshold), its threshold (top quantile of its activations) and its top images; tensors iouL (units × concepts+1) and topMapsL (units × top × h × w) per layer L',
    })),
    note: `dissect: ${first.layer}: ${first.units.filter((u) => u.detector).length} of ${first.units.length} units are detectors over ${d.images} images (${d.seconds.toFixed(1)}s)`,
  };
}

/** The Dissection an Explanation of `dissectionExplanation` holds. */
export function dissectionOf(e: Explanation): Dissection {
  const meta = e.meta.dissection as Omit<Dissection, 'layers'> & { layers: Omit<LayerDissection, 'iou' | 'topMaps'>[] };
  return { ...meta, layers: meta.layers.map((l, li) => ({ ...l, iou: Float64Array.from(e.tensors[`iou${li}`]!.data), topMaps: e.tensors[`topMaps${li}`]!.data as Float32Array })) };
}
