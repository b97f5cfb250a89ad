// Network dissection's GPU passes (Bau et al. 2017; METHODS.md §7): the per-unit quantile thresholds
// T_k over a whole data set, and the tally of unit masks against concept labels, both fed from a model
// run's injection at the dissected layer (engine/plan.ts, Injection), so activations never leave the
// GPU. explainers/dissect.ts drives the data set through them; kernels/dissect_*.wgsl do the work.
//
// Quantiles (UnitQuantiles). T_k is numpy's np.quantile(a_k, 1 − q, method='lower') of the layer's
// raw activations of unit k over the data set (n = images·h·w values): with the values sorted
// ascending a_(0) ≤ … ≤ a_(n−1) and j = ⌊(n − 1)(1 − q)⌋ (float64), T_k = a_(j). numpy's default
// ('linear') interpolates a_(j) + f·(a_(j+1) − a_(j)), f = frac((n − 1)(1 − q)); both thresholds keep
// exactly the same raw activations in the mask (a > T: the values ≥ a_(j+1) when a_(j+1) > a_(j)), and
// they differ only on upsampled values between a_(j) and a_(j+1). Each sweep histograms every unit's
// values into B bins (default 1024) plus a count below and a count above the unit's interval, and the
// CPU finds the bin holding rank j and makes it the next interval:
//   range      per-unit min and max, exact (f32 → order-preserving u32 keys, atomicMin/atomicMax),
//              the count n (64-bit), and bins by the keys' top log2 B bits: half a binade each for
//              B = 1024, so the interval found is 2^22 consecutive floats wherever the values lie,
//              however far outliers stretch [min, max];
//   histogram  that interval into B bins of 2^s consecutive floats each (key space, s as small as
//              covers it: 2^12 floats, ≈ 5·10⁻⁴ of T, for B = 1024), or into B equal widths where
//              those are narrower;
//   refine     the same once more (4 floats for B = 1024: T within 3 ulps).
// An equal-widths bin is widened by 2^-20 of its interval on each side against the f32 rounding of the
// GPU's bin index (at most 2^-23 of the interval: the index fl(fl(v − lo)·scale) is monotone in v), and
// every sweep counts the values below and above its interval exactly, so the CPU checks that rank j
// is inside (else it bins the side it is on in one more 'refine': only a data set that changed
// between sweeps should ever need it, and one whose counts differ is an error). T_k is the largest
// float of the last interval and binWidth()[k] that interval's spread (0 when it is one float:
// T_k = a_(j) exactly), so T_k − binWidth()[k] ≤ a_(j) ≤ T_k. The mask a > T_k thus misses only values
// in (a_(j), T_k] and never takes in a value tied with a_(j) (with discrete activations the lower end
// would put every value tied at a_(j) into the mask). With `exact: true` the refine sweep repeats
// until every interval is one float (one more sweep for B = 1024). A constant unit (min = max, e.g. a
// dead ReLU at 0) is final after the range sweep with T = that value: its mask is empty (a > T).
//
// Tally (ConceptTally): per batch, for each image n and unit k, the mask M_k = S(A_k) > T_k at the
// label resolution (S bilinear, half-pixel centres: kernels/lib/bilinear.wgsl), and the counts
// |M_k ∩ L_c| (intersections), |M_k| (unit areas) on the GPU in u32 atomics, plus each image's
// per-unit maximum of A; concept areas |L_c| are counted on the CPU from the labels (label-only).
// Flush rule: no counter grows by more than one per pixel and image in a run, so `afterRun` moves the
// GPU counters into float64 (and zeroes them) whenever the pixels tallied since the last flush plus
// one more full batch (maxBatch·maskH·maskW) would exceed `flushPixels` (default 2^32 − 1): no u32
// can wrap, and totals() are exact integers.
//
// Both classes' `dispatches` only build Dispatch objects (no awaits, no readback) and depend only on
// the activation buffer and its shape: what changes between sweeps or batches (the sweep, the labels,
// their number of planes) lives in buffers these classes own, written before the run, so a model
// plan's cached dispatches (keyed by `key`) serve every sweep and batch of one instance.
import type { Dispatch, Engine } from './gpu.ts';
import type { Injection } from './plan.ts';
import type { ConceptSample } from '../loaders/concepts.ts';
import { resizeLabels } from '../loaders/concepts.ts';
import { ArgumentError, NonFiniteError, ShapeError } from './errors.ts';
import * as KD from '../kernels/dissect.ts';

const U32_MAX = 0xffffffff;
const CHUNK = KD.dissectQuantile.overrides!.CHUNK!;
const MAX_WG = 65535;
/** Map and mask sides up to 2^14 keep kernels/lib/bilinear.wgsl's integer arithmetic inside 32 bits. */
const MAX_SIDE = 16384;
let instances = 0;

// ---- float ↔ order-preserving key (as kernels/dissect_quantile.wgsl) --------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The u32 key of an f32: keys compare as the floats do (−0 just below +0). */
export function orderedKey(v: number): number {
  f32[0] = v;
  const b = u32[0]!;
  return (b & 0x80000000 ? ~b : b | 0x80000000) >>> 0;
}

/** The f32 of a key (inverse of orderedKey). */
export function keyValue(key: number): number {
  u32[0] = key & 0x80000000 ? key & 0x7fffffff : ~key >>> 0;
  return f32[0]!;
}

/** The key of the largest f32 ≤ x (`down`) or the smallest f32 ≥ x. */
function keyRounded(x: number, down: boolean): number {
  const k = orderedKey(x);
  const v = keyValue(k);
  if (down && v > x) return k - 1;
  if (!down && v < x) return k + 1;
  return k;
}

function shiftFor(lo: number, hi: number, bins: number): number {
  let s = 0;
  while (Math.floor((hi - lo) / 2 ** s) >= bins) s++;
  return s;
}

function positiveInt(v: number, what: string, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(v) || v < 1 || v > max) throw new ArgumentError(`${what} must be an integer from 1 to ${max}, got ${v}`);
}

/** Checks an N×K×… activation shape against `units` (and `maxBatch`); returns h·w (the values per map). */
function mapSize(who: string, shape: number[], batch: number, units: number, maxBatch = Number.MAX_SAFE_INTEGER): number {
  if (shape.length < 2 || shape[0] !== batch || shape[1] !== units)
    throw new ShapeError(`${who}: activations of shape [${shape.join(', ')}] for a batch of ${batch}, expected [${batch}, ${units}, …] (${units} units)`);
  if (!Number.isInteger(batch) || batch < 1 || batch > maxBatch) throw new ShapeError(`${who}: a batch of ${batch}; it holds 1 to ${maxBatch} images`);
  return shape.slice(2).reduce((a, b) => a * b, 1);
}

// ---- quantiles --------------------------------------------------------------------------------------

export interface UnitQuantileOptions {
  units: number;
  /** top fraction, e.g. 0.005 */
  quantile: number;
  /** bins per histogram sweep, a power of two from 16 to what workgroup memory holds (4094 words); default 1024 */
  bins?: number;
  /** refine until every threshold is exactly a_(j) (binWidth 0), at the cost of up to two more sweeps */
  exact?: boolean;
}

type Pass = 'range' | 'histogram' | 'refine' | 'done';
const SWEEP: Record<Pass, number> = { range: 0, histogram: 1, refine: 1, done: 2 };

/**
 * Per-unit thresholds T_k with P(a_k > T_k) = q over a data set, in sweeps: for each sweep, run every
 * batch of the data set with `dispatches` injected at the layer (one `key` for all sweeps), then
 * `await finishPass()`; repeat until it returns true; then `thresholds()`. Every sweep must see the
 * same activations (finishPass checks the counts).
 */
export class UnitQuantiles {
  /** the injection key of this instance (unique), for Model.run's `inject` */
  readonly key: string;
  private readonly engine: Engine;
  private readonly units: number;
  private readonly bins: number;
  private readonly q: number;
  private readonly exact: boolean;
  private current: Pass = 'range';
  private n = 0;
  private readonly minKey: Uint32Array;
  private readonly maxKey: Uint32Array;
  private readonly params: Uint32Array<ArrayBuffer>;
  /** the same words as f32 (a unit binned by equal widths keeps lo, hi, scale there) */
  private readonly floats: Float32Array;
  private readonly final: Uint8Array;
  private readonly t: Float32Array;
  private readonly width: Float32Array;
  private buffers: GPUBuffer[] = [];
  private readonly stateBuf: GPUBuffer;
  private readonly paramsBuf: GPUBuffer;
  private readonly keysBuf: GPUBuffer;
  private readonly histBuf: GPUBuffer;

  constructor(engine: Engine, o: UnitQuantileOptions) {
    positiveInt(o.units, 'dissection quantiles: units', MAX_WG);
    if (!(o.quantile > 0 && o.quantile < 1)) throw new ArgumentError(`dissection quantiles: the quantile (top fraction) must be in (0, 1), got ${o.quantile}`);
    const bins = o.bins ?? 1024;
    const maxBins = Math.floor(engine.device.limits.maxComputeWorkgroupStorageSize / 4) - 2;
    if (!Number.isInteger(bins) || bins < 16 || bins > maxBins || (bins & (bins - 1)) !== 0)
      throw new ArgumentError(`dissection quantiles: bins must be a power of two from 16 to ${maxBins} (workgroup memory), got ${bins}`);
    this.engine = engine;
    this.key = `dissect-quantiles#${++instances}`;
    this.units = o.units;
    this.bins = bins;
    this.q = o.quantile;
    this.exact = o.exact ?? false;
    const k = o.units;
    this.minKey = new Uint32Array(k);
    this.maxKey = new Uint32Array(k);
    this.params = new Uint32Array(4 * k);
    this.floats = new Float32Array(this.params.buffer);
    this.final = new Uint8Array(k);
    this.t = new Float32Array(k);
    this.width = new Float32Array(k);
    const buf = (bytes: number, label: string) => {
      const b = engine.createBuffer(bytes, `dissect-quantiles:${label}`);
      this.buffers.push(b);
      return b;
    };
    this.stateBuf = buf(16, 'state');
    this.paramsBuf = buf(16 * k, 'params');
    this.keysBuf = buf(16 * k, 'keys');
    this.histBuf = buf(4 * k * (bins + 2), 'histogram');
    const keys = new Uint32Array(4 * k);
    for (let i = 0; i < k; i++) keys[4 * i] = U32_MAX;
    const q = engine.device.queue;
    q.writeBuffer(this.keysBuf, 0, keys);
    q.writeBuffer(this.stateBuf, 0, new Uint32Array([SWEEP.range, 0, 0, 0]));
    for (let u = 0; u < k; u++) this.params.set([0, U32_MAX, 32 - Math.log2(bins), 1], 4 * u);
    q.writeBuffer(this.paramsBuf, 0, this.params);
  }

  /** which sweep the next run of the data set is */
  get pass(): Pass {
    return this.current;
  }

  /** The current sweep's work on one batch of activations (N×K×… f32); the same objects serve every sweep. */
  dispatches(act: GPUBuffer, batch: number, shape: number[]): Dispatch[] {
    const hw = mapSize('dissection quantiles', shape, batch, this.units);
    if (act.size < batch * this.units * hw * 4) throw new ShapeError(`dissection quantiles: a buffer of ${act.size} bytes for activations of shape [${shape.join(', ')}]`);
    const chunks = Math.ceil((batch * hw) / CHUNK);
    if (chunks > MAX_WG) throw new ShapeError(`dissection quantiles: ${batch}×${hw} values per unit in one batch is more than ${MAX_WG * CHUNK}; use smaller batches`);
    return [
      this.engine.makeDispatch(KD.dissectQuantile, {
        uniforms: { units: this.units, hw, batch },
        overrides: { BINS: this.bins },
        bindings: { state: this.stateBuf, act, params: this.paramsBuf, keys: this.keysBuf, hist: this.histBuf },
        workgroups: [this.units, chunks, 1],
        label: 'dissect_quantile',
      }),
    ];
  }

  /** An Injection at `value` (a layer's output) running this sweep's dispatches. */
  injection(value: string): Injection {
    return { value, key: this.key, dispatches: (b, n, s) => this.dispatches(b, n, s) };
  }

  /** The ascending rank j of T_k among a unit's n values. */
  private rank(): number {
    return Math.floor((this.n - 1) * (1 - this.q));
  }

  /**
   * Ends the current sweep after the whole data set went through it: reads back what it needs and
   * prepares the next. Returns true when the thresholds are final.
   */
  async finishPass(): Promise<boolean> {
    if (this.current === 'done') return true;
    const histWords = this.units * (this.bins + 2);
    if (this.current === 'range') {
      const [keys, hist] = await this.engine.run([], [
        { buffer: this.keysBuf, bytes: 16 * this.units },
        { buffer: this.histBuf, bytes: 4 * histWords },
      ]);
      this.finishRange(new Uint32Array(keys!));
      this.finishHistogram(new Uint32Array(hist!));
    } else this.finishHistogram(await this.read(this.histBuf, histWords));
    if (this.final.every((f) => f === 1)) {
      this.current = 'done';
      this.engine.device.queue.writeBuffer(this.stateBuf, 0, new Uint32Array([SWEEP.done, 0, 0, 0]));
      return true;
    }
    const q = this.engine.device.queue;
    q.writeBuffer(this.paramsBuf, 0, this.params);
    q.writeBuffer(this.histBuf, 0, new Uint32Array(this.units * (this.bins + 2)));
    q.writeBuffer(this.stateBuf, 0, new Uint32Array([SWEEP[this.current], 0, 0, 0]));
    return false;
  }

  private async read(b: GPUBuffer, words: number): Promise<Uint32Array> {
    const [ab] = await this.engine.run([], [{ buffer: b, bytes: words * 4 }]);
    return new Uint32Array(ab!);
  }

  private finishRange(keys: Uint32Array): void {
    const count = (k: number) => keys[4 * k + 2]! + keys[4 * k + 3]! * 2 ** 32;
    this.n = count(0);
    if (this.n === 0) throw new ArgumentError('dissection quantiles: no activations went through the range sweep (run the data set with dispatches() before finishPass())');
    if (this.n > U32_MAX) throw new ArgumentError(`dissection quantiles: ${this.n} values per unit are more than the u32 histograms count (2^32 − 1); dissect fewer images`);
    for (let k = 0; k < this.units; k++) {
      if (count(k) !== this.n) throw new ShapeError(`dissection quantiles: unit ${k} saw ${count(k)} values, unit 0 ${this.n}`);
      const lo = (this.minKey[k] = keys[4 * k]!), hi = (this.maxKey[k] = keys[4 * k + 1]!);
      const vmin = keyValue(lo), vmax = keyValue(hi);
      if (!Number.isFinite(vmin) || !Number.isFinite(vmax)) throw new NonFiniteError(`dissection quantiles: unit ${k} has non-finite activations (range ${vmin} … ${vmax})`);
      if (vmin === vmax) this.settle(k, vmin, 0);
    }
  }

  /**
   * Unit k's next sweep bins keys lo..hi (inclusive): into B equal widths of [value(lo), value(hi)],
   * or into runs of 2^s floats where those are narrower (always when the interval holds ≤ B floats).
   */
  private bin(k: number, lo: number, hi: number): void {
    const p = 4 * k, B = this.bins, s = shiftFor(lo, hi, B);
    const vlo = keyValue(lo), vhi = keyValue(hi);
    // the widest run of floats is at the end of larger magnitude: the top one, or the bottom one below 0
    const keySpread = Math.max(vhi - keyValue(Math.max(lo, hi - 2 ** s + 1)), keyValue(Math.min(hi, lo + 2 ** s - 1)) - vlo);
    const scale = Math.fround(B / (vhi - vlo));
    if (s === 0 || keySpread <= (vhi - vlo) / B || !Number.isFinite(scale)) {
      this.params.set([lo, hi, s, 1], p);
    } else {
      this.params.set([0, 0, 0, 0], p);
      this.floats[p] = vlo;
      this.floats[p + 1] = vhi;
      this.floats[p + 2] = scale;
    }
  }

  private settle(k: number, t: number, width: number): void {
    this.final[k] = 1;
    this.t[k] = t;
    this.width[k] = width;
    if (this.width[k]! < width) this.width[k] = keyValue(orderedKey(this.width[k]!) + 1); // never round the width down
  }

  /** Reads a sweep's histograms (words per unit: below, B bins, above) and settles or narrows each unit. */
  private finishHistogram(hist: Uint32Array): void {
    const words = this.bins + 2, j = this.rank();
    const was = this.current;
    for (let k = 0; k < this.units; k++) {
      if (this.final[k]) continue;
      const h = hist.subarray(k * words, (k + 1) * words);
      const total = h.reduce((a, b) => a + b, 0);
      const changed = `every sweep must run the same data set (unit ${k}: ${total} values in the ${was} sweep, ${this.n} in the range sweep)`;
      if (total !== this.n) throw new ArgumentError(`dissection quantiles: ${changed}`);
      let w = 0, cum = 0;
      while (cum + h[w]! <= j) cum += h[w++]!;
      const p = 4 * k, byKey = this.params[p + 3] === 1;
      const curLo = byKey ? this.params[p]! : orderedKey(this.floats[p]!), curHi = byKey ? this.params[p + 1]! : orderedKey(this.floats[p + 1]!);
      let lo: number, hi: number;
      if (w === 0 || w === words - 1) {
        // rank j lies below or above the interval binned: bin that side next
        [lo, hi] = w === 0 ? [this.minKey[k]!, curLo - 1] : [curHi + 1, this.maxKey[k]!];
        if (was === 'range' || lo > hi) throw new ArgumentError(`dissection quantiles: ${changed}`);
        this.bin(k, lo, hi);
        continue;
      }
      if (byKey) {
        const s = this.params[p + 2]!;
        lo = curLo + (w - 1) * 2 ** s;
        hi = Math.min(lo + 2 ** s - 1, curHi);
      } else {
        // bin w − 1 of B equal widths, widened against the rounding of the GPU's bin index
        const vlo = this.floats[p]!, vhi = this.floats[p + 1]!, bw = (vhi - vlo) / this.bins, fuzz = (vhi - vlo) * 2 ** -20;
        lo = keyRounded(vlo + (w - 1) * bw - fuzz, true);
        hi = keyRounded(vlo + w * bw + fuzz, false);
      }
      lo = Math.max(lo, curLo, this.minKey[k]!);
      hi = Math.min(hi, curHi, this.maxKey[k]!);
      if (lo === hi || (was === 'refine' && !this.exact)) this.settle(k, keyValue(hi), keyValue(hi) - keyValue(lo));
      else this.bin(k, lo, hi);
    }
    this.current = was === 'range' ? 'histogram' : 'refine';
  }

  private checkDone(what: string): void {
    if (this.current !== 'done') throw new ArgumentError(`dissection quantiles: ${what} are not final yet (the next sweep is '${this.current}')`);
  }

  /** T_k: P(a_k > T_k) = q over the data set, as the file header states (T_k − binWidth()[k] ≤ a_(j) ≤ T_k). */
  thresholds(): Float32Array {
    this.checkDone('the thresholds');
    return this.t.slice();
  }

  /** How far below T_k the exact a_(j) may lie (0: T_k is exact). */
  binWidth(): Float32Array {
    this.checkDone('the bin widths');
    return this.width.slice();
  }

  /** Values per unit over the data set (known after the range sweep). */
  get count(): number {
    return this.n;
  }

  destroy(): void {
    for (const b of this.buffers) this.engine.destroyBuffer(b);
    this.buffers = [];
  }
}

// ---- tally ------------------------------------------------------------------------------------------

export interface TallyOptions {
  units: number;
  /** concept ids 1..concepts */
  concepts: number;
  maskH: number;
  maskW: number;
  maxBatch: number;
  maxPlanes: number;
  /**
   * flush the GPU's u32 counters into float64 when the pixels tallied since the last flush plus one
   * more full batch would exceed this (default 2^32 − 1; smaller values only for tests)
   */
  flushPixels?: number;
}

export interface TallyTotals {
  /** units × (concepts + 1), row-major; column 0 (no concept) unused */
  intersections: Float64Array;
  /** |M_k| per unit */
  unitArea: Float64Array;
  /** |L_c| per concept id (concepts + 1; entry 0 unused) */
  conceptArea: Float64Array;
  images: number;
}

/**
 * The dissection tally over a data set, batch by batch: `setThresholds` once; per batch
 * `setLabels(labels, n, planes)`, a model run with `dispatches` injected at the layer (`key`), then
 * `await afterRun(n)` (it commits the batch's concept areas and image count and flushes the GPU
 * counters when the rule in the file header says so; setLabels refuses a second batch before it);
 * `imageMaxima(n)` after a run if needed; `totals()` at the end.
 */
export class ConceptTally {
  /** the injection key of this instance (unique), for Model.run's `inject` */
  readonly key: string;
  private readonly engine: Engine;
  private readonly o: Required<TallyOptions>;
  private readonly maskHW: number;
  private buffers: GPUBuffer[] = [];
  private readonly stateBuf: GPUBuffer;
  private readonly thrBuf: GPUBuffer;
  private readonly labelsBuf: GPUBuffer;
  private readonly maximaBuf: GPUBuffer;
  private readonly interBuf: GPUBuffer;
  private readonly areaBuf: GPUBuffer;
  private readonly inter: Float64Array;
  private readonly area: Float64Array;
  private readonly conceptArea: Float64Array;
  private images = 0;
  private sinceFlush = 0;
  private hasThresholds = false;
  private pending: { batch: number; conceptArea: Float64Array } | undefined;
  /** how many times the GPU counters were flushed into float64 */
  flushes = 0;

  constructor(engine: Engine, o: TallyOptions) {
    positiveInt(o.units, 'dissection tally: units', MAX_WG);
    positiveInt(o.concepts, 'dissection tally: concepts', 2 ** 24);
    positiveInt(o.maskH, 'dissection tally: maskH', MAX_SIDE);
    positiveInt(o.maskW, 'dissection tally: maskW', MAX_SIDE);
    positiveInt(o.maxBatch, 'dissection tally: maxBatch', MAX_WG);
    positiveInt(o.maxPlanes, 'dissection tally: maxPlanes', 256);
    this.maskHW = o.maskH * o.maskW;
    const perRun = o.maxBatch * this.maskHW;
    const flushPixels = o.flushPixels ?? U32_MAX;
    if (perRun > U32_MAX) throw new ArgumentError(`dissection tally: a batch of ${o.maxBatch} masks of ${o.maskH}×${o.maskW} could overflow the u32 counters in one run; use smaller batches`);
    if (!Number.isInteger(flushPixels) || flushPixels < perRun || flushPixels > U32_MAX)
      throw new ArgumentError(`dissection tally: flushPixels must be an integer from ${perRun} (one full batch) to 2^32 − 1, got ${flushPixels}`);
    this.engine = engine;
    this.key = `dissect-tally#${++instances}`;
    this.o = { ...o, flushPixels };
    const c1 = o.concepts + 1;
    const buf = (bytes: number, label: string) => {
      const b = engine.createBuffer(bytes, `dissect-tally:${label}`);
      this.buffers.push(b);
      return b;
    };
    this.stateBuf = buf(16, 'state');
    this.thrBuf = buf(4 * o.units, 'thresholds');
    this.labelsBuf = buf(4 * o.maxBatch * o.maxPlanes * this.maskHW, 'labels');
    this.maximaBuf = buf(4 * o.maxBatch * o.units, 'maxima');
    this.interBuf = buf(4 * o.units * c1, 'intersections');
    this.areaBuf = buf(4 * o.units, 'unit-areas');
    this.inter = new Float64Array(o.units * c1);
    this.area = new Float64Array(o.units);
    this.conceptArea = new Float64Array(c1);
    this.zeroCounters();
  }

  private zeroCounters(): void {
    const q = this.engine.device.queue;
    q.writeBuffer(this.interBuf, 0, new Uint32Array(this.o.units * (this.o.concepts + 1)));
    q.writeBuffer(this.areaBuf, 0, new Uint32Array(this.o.units));
  }

  /** T_k for every unit (e.g. UnitQuantiles.thresholds()). */
  setThresholds(t: Float32Array): void {
    if (t.length !== this.o.units) throw new ShapeError(`dissection tally: ${t.length} thresholds for ${this.o.units} units`);
    const bad = t.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new NonFiniteError(`dissection tally: the threshold of unit ${bad} is ${t[bad]}`);
    this.engine.device.queue.writeBuffer(this.thrBuf, 0, t.buffer, t.byteOffset, t.byteLength);
    this.hasThresholds = true;
  }

  /** The next run's labels, batch × planes × maskH × maskW concept ids (0 = none; labelPlanes makes them). */
  setLabels(labels: Uint32Array, batch: number, planes: number): void {
    const { maxBatch, maxPlanes, maskH, maskW, concepts } = this.o;
    if (!this.hasThresholds) throw new ArgumentError('dissection tally: setThresholds before the first batch');
    if (this.pending) throw new ArgumentError('dissection tally: the last batch was not committed; call afterRun(batch) after each run');
    if (!Number.isInteger(batch) || batch < 1 || batch > maxBatch) throw new ShapeError(`dissection tally: labels for ${batch} images; a batch holds 1 to ${maxBatch}`);
    if (!Number.isInteger(planes) || planes < 1 || planes > maxPlanes) throw new ShapeError(`dissection tally: ${planes} label planes per image; the tally was made for 1 to ${maxPlanes}`);
    const hw = this.maskHW;
    if (labels.length !== batch * planes * hw)
      throw new ShapeError(`dissection tally: ${labels.length} labels, expected ${batch} images × ${planes} planes × ${maskH}×${maskW} = ${batch * planes * hw}`);
    // Concept areas, a concept counted once per pixel however many planes carry it: seen[c] holds the
    // last pixel (image·hw + pixel, plus 1) that counted c.
    const area = new Float64Array(concepts + 1);
    const seen = new Float64Array(concepts + 1);
    for (let n = 0; n < batch; n++)
      for (let p = 0; p < hw; p++) {
        const stamp = n * hw + p + 1;
        for (let l = 0; l < planes; l++) {
          const c = labels[(n * planes + l) * hw + p]!;
          if (c === 0 || seen[c] === stamp) continue;
          if (c > concepts)
            throw new ShapeError(`dissection tally: label ${c} at image ${n}, plane ${l}, pixel (${Math.floor(p / maskW)}, ${p % maskW}) is not one of the ${concepts} concepts`);
          seen[c] = stamp;
          area[c]!++;
        }
      }
    const q = this.engine.device.queue;
    q.writeBuffer(this.labelsBuf, 0, labels.buffer, labels.byteOffset, labels.byteLength);
    q.writeBuffer(this.stateBuf, 0, new Uint32Array([planes, 0, 0, 0]));
    this.pending = { batch, conceptArea: area };
  }

  /** Upsample, threshold and count one batch of activations (N×K×h×w f32) against the labels set last. */
  dispatches(act: GPUBuffer, batch: number, shape: number[]): Dispatch[] {
    const { units, maskH, maskW, concepts } = this.o;
    if (shape.length !== 4) throw new ShapeError(`dissection tally: activations of shape [${shape.join(', ')}]; dissection needs a conv layer's N×K×h×w maps`);
    mapSize('dissection tally', shape, batch, units, this.o.maxBatch);
    const [, , h, w] = shape as [number, number, number, number];
    if (h > MAX_SIDE || w > MAX_SIDE) throw new ShapeError(`dissection tally: maps of ${h}×${w}; at most ${MAX_SIDE} a side`);
    if (act.size < batch * units * h * w * 4) throw new ShapeError(`dissection tally: a buffer of ${act.size} bytes for activations of shape [${shape.join(', ')}]`);
    return [
      this.engine.makeDispatch(KD.dissectTally, {
        uniforms: { units, h, w, maskH, maskW, concepts },
        bindings: { state: this.stateBuf, act, thresholds: this.thrBuf, labels: this.labelsBuf, maxima: this.maximaBuf, inter: this.interBuf, area: this.areaBuf },
        workgroups: [units, batch, 1],
        label: 'dissect_tally',
      }),
    ];
  }

  /** An Injection at `value` (a conv layer's output) running the tally. */
  injection(value: string): Injection {
    return { value, key: this.key, dispatches: (b, n, s) => this.dispatches(b, n, s) };
  }

  /**
   * After each run: commits the batch (its concept areas and images) and flushes the GPU counters
   * into float64 when the pixels since the last flush plus one more full batch would exceed flushPixels.
   */
  async afterRun(batch: number): Promise<void> {
    const p = this.pending;
    if (!p) throw new ArgumentError('dissection tally: afterRun without labels; call setLabels before each run');
    if (batch !== p.batch) throw new ShapeError(`dissection tally: afterRun(${batch}) after labels for ${p.batch} images`);
    for (let c = 1; c < p.conceptArea.length; c++) this.conceptArea[c]! += p.conceptArea[c]!;
    this.images += batch;
    this.sinceFlush += batch * this.maskHW;
    this.pending = undefined;
    if (this.sinceFlush + this.o.maxBatch * this.maskHW > this.o.flushPixels) await this.flush();
  }

  private async readCounters(): Promise<[Uint32Array, Uint32Array]> {
    const c1 = this.o.concepts + 1;
    const [i, a] = await this.engine.run([], [
      { buffer: this.interBuf, bytes: 4 * this.o.units * c1 },
      { buffer: this.areaBuf, bytes: 4 * this.o.units },
    ]);
    return [new Uint32Array(i!), new Uint32Array(a!)];
  }

  /** Moves the GPU counters into the float64 totals and zeroes them (afterRun calls it by the rule). */
  async flush(): Promise<void> {
    const [i, a] = await this.readCounters();
    for (let x = 0; x < i.length; x++) this.inter[x]! += i[x]!;
    for (let k = 0; k < a.length; k++) this.area[k]! += a[k]!;
    this.zeroCounters();
    this.sinceFlush = 0;
    this.flushes++;
  }

  /** Per image of the last run, the per-unit maximum of A (batch × units). */
  async imageMaxima(batch: number): Promise<Float32Array> {
    if (!Number.isInteger(batch) || batch < 1 || batch > this.o.maxBatch) throw new ShapeError(`dissection tally: maxima of ${batch} images; a batch holds 1 to ${this.o.maxBatch}`);
    return this.engine.readFloats(this.maximaBuf, batch * this.o.units);
  }

  /** The totals so far, exact integers: call it after afterRun (concept areas and images count from there). */
  async totals(): Promise<TallyTotals> {
    const [i, a] = await this.readCounters();
    const intersections = this.inter.slice(), unitArea = this.area.slice();
    for (let x = 0; x < i.length; x++) intersections[x]! += i[x]!;
    for (let k = 0; k < a.length; k++) unitArea[k]! += a[k]!;
    return { intersections, unitArea, conceptArea: this.conceptArea.slice(), images: this.images };
  }

  destroy(): void {
    for (const b of this.buffers) this.engine.destroyBuffer(b);
    this.buffers = [];
  }
}

// ---- CPU side ---------------------------------------------------------------------------------------

/**
 * The planes layout of a batch of samples at maskH×maskW, the CPU side of setLabels: each sample's
 * pixel maps (resizeLabels, nearest, when its size differs), then one plane per distinct image-level
 * concept filled with its id, then zero planes up to the batch's most planes (at least 1).
 */
export function labelPlanes(samples: ConceptSample[], maskH: number, maskW: number): { planes: number; data: Uint32Array } {
  positiveInt(maskH, 'labelPlanes: maskH', MAX_SIDE);
  positiveInt(maskW, 'labelPlanes: maskW', MAX_SIDE);
  const wholes = samples.map((s) => {
    for (const c of s.whole) if (!Number.isInteger(c) || c < 1) throw new ShapeError(`${s.name}: image-level label ${c} is not a concept id`);
    return [...new Set(s.whole)];
  });
  const planes = Math.max(1, ...samples.map((s, i) => s.maps.length + wholes[i]!.length));
  const hw = maskH * maskW;
  const data = new Uint32Array(samples.length * planes * hw);
  samples.forEach((s, i) => {
    let l = 0;
    for (const m of s.maps) {
      if (m.length !== s.height * s.width) throw new ShapeError(`${s.name}: a label map of ${m.length} pixels, expected ${s.height}×${s.width}`);
      data.set(resizeLabels(m, s.height, s.width, maskH, maskW), (i * planes + l++) * hw);
    }
    for (const c of wholes[i]!) data.fill(c, (i * planes + l) * hw, (i * planes + ++l) * hw);
  });
  return { planes, data };
}

/**
 * IoU per unit × concept from totals, units × (concepts + 1) row-major (column 0 = 0):
 * I / (|M_k| + |L_c| − I), 0 where the union is 0.
 */
export function iouTable(t: { intersections: Float64Array; unitArea: Float64Array; conceptArea: Float64Array }, units: number, concepts: number): Float64Array {
  const c1 = concepts + 1;
  if (t.intersections.length !== units * c1 || t.unitArea.length !== units || t.conceptArea.length !== c1)
    throw new ShapeError(`iouTable: totals of ${t.intersections.length} intersections, ${t.unitArea.length} unit areas and ${t.conceptArea.length} concept areas for ${units} units × ${concepts} concepts`);
  const out = new Float64Array(units * c1);
  for (let k = 0; k < units; k++)
    for (let c = 1; c < c1; c++) {
      const i = t.intersections[k * c1 + c]!, union = t.unitArea[k]! + t.conceptArea[c]! - i;
      out[k * c1 + c] = union > 0 ? i / union : 0;
    }
  return out;
}
