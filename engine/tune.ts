// Per-adapter tuning of the conv lowering (issue 15). What is tuned, per conv *shape class*:
//  - wg: invocations per workgroup of the direct route, conv2d_gemm or conv2d_rows (their `override
//    WG`): 32, 64, 128, 256 (within the device's limits); 0 for the default width (64, narrowed for
//    few columns: conv.ts, defaultGemmWg) and for a Winograd choice (its pointwise GEMM takes that default too);
//  - subgroups: that kernel's SUBGROUPS variant on or off (only where Engine.subgroups allows it);
//  - algorithm: 'gemm' or 'winograd' for the convs Winograd applies to (3×3, stride 1, group 1),
//    replacing the measured-on-lavapipe rule of engine/winograd.ts (autoPrefersWinograd) where a
//    tuning is present and Engine.convAlgorithm is 'auto'.
// TM and TN stay the kernel's constants (not tuned).
//
// A shape class is the conv's kind (pw: 1×1 stride 1 unpadded; 3x3s1: 3×3 stride 1 dilation 1
// group 1; other) × a bucket of Cin per group, of Cout per group and of output pixels per image.
// Per image, not per batch: the memory plans decide Winograd's scratch batch-independently, so the
// algorithm choice must not depend on the batch.
//
// The tuner times each candidate on synthetic data with timestamp queries (wall clock around the
// submitted work where the adapter has none), after checking that its output equals the default
// lowering's on the same shape (max |Δ| ≤ 1e-4 · max |default|); a candidate that differs is
// refused and listed as such. A non-default candidate must beat the default by 5 % to be chosen
// (the times are noisy on a shared machine).
//
// A tuning belongs to an adapter (Engine.adapterInfo: vendor, architecture, device, description as
// the WebGPU implementation reports them) and to the conv kernels' sources (kernelHash): an edited
// kernel is a cache miss. The cache itself lives elsewhere: cli/tune-cache.ts (a JSON file) in
// Node, web/tune-cache.ts (IndexedDB) in the browser; this module has no Node imports.

import type { Dispatch, Engine } from './gpu.ts';
import type { ConvAttrs, Pads } from './ir.ts';
import type { LowerContext } from './ops/types.ts';
import { ArgumentError } from './errors.ts';
import { GEMM, GEMM_SG, isPointwise, lowerConv } from './conv.ts';
import { autoWinograd, winogradApplies, winogradScratch } from './winograd.ts';
import { convOut } from './geometry.ts';
import { wgsl } from '../kernels/wgsl.generated.ts';

export interface TuneChoice {
  /** the direct route's WG (conv2d_gemm or conv2d_rows); 0: the route's own default (conv.ts, defaultGemmWg; Winograd's GEMM takes it too) */
  wg: number;
  subgroups: boolean;
  algorithm: 'gemm' | 'winograd';
}

/** One conv shape the tuner measures (batch included). */
export interface TuneShape {
  n: number; cin: number; cout: number; h: number; w: number;
  kernel: [number, number]; stride: [number, number]; pads: Pads; group: number;
}

export interface TuneCandidate {
  choice: TuneChoice;
  /** best time of the repeats, ms; null when refused */
  ms: number | null;
  /** max |candidate − default| / max |default| */
  error: number;
  refused?: string;
  isDefault?: boolean;
}

export interface TuneClass {
  shape: TuneShape;
  choice: TuneChoice;
  candidates: TuneCandidate[];
}

/** The tuning of one adapter and kernel version: shape class → choice, with the measurements. */
export interface Tuning {
  adapter: string;
  kernelHash: string;
  /** ISO time of the measurement */
  measured: string;
  /** 'timestamps' or 'wall' */
  clock: string;
  classes: Record<string, TuneClass>;
}

/** The cache's contents: adapter key → tuning (one per adapter; a changed kernel hash replaces it). */
export interface TuneCache {
  version: 1;
  adapters: Record<string, Tuning>;
}

export const TUNE_MAX_ERROR = 1e-4;
/** How much faster than the default a candidate must be to be chosen. */
export const TUNE_MARGIN = 0.05;
export const TUNE_WGS = [32, 64, 128, 256] as const;

// ---- identity ---------------------------------------------------------------------------------

/** FNV-1a 32-bit of a string, as 8 hex digits. */
function fnv1a(s: string, seed = 0x811c9dc5): string {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** The conv kernels a tuning depends on. */
export const TUNED_KERNELS = ['conv2d_gemm', 'conv2d_rows', 'conv_weights_gemm', 'winograd_input', 'winograd_output', 'winograd_weights'] as const;

let shippedHash: string | undefined;

/** A hash of the conv kernels' WGSL sources (and the GEMM block constants): a tuning of other sources does not apply. */
export function kernelHash(sources?: Record<string, string | undefined>): string {
  if (!sources) return (shippedHash ??= kernelHash(wgsl));
  const text = TUNED_KERNELS.map((k) => `${k}\n${sources[k] ?? ''}`).join('\n') + `\nTM${GEMM.TM} TN${GEMM.TN} SG${GEMM_SG.TM}/${GEMM_SG.TN}`;
  return fnv1a(text) + fnv1a(text, 0x01234567);
}

// ---- shape classes ------------------------------------------------------------------------------

function bucket(v: number, edges: number[]): string {
  const i = edges.findIndex((e) => v < e);
  if (i === 0) return `<${edges[0]}`;
  if (i < 0) return `≥${edges[edges.length - 1]}`;
  return `${edges[i - 1]}-${edges[i]! - 1}`;
}

/** The conv's kind: 'pw' (1×1 stride 1 unpadded), '3x3s1' (3×3 stride 1 dilation 1 group 1) or 'other'. */
export function convKind(a: Pick<ConvAttrs, 'kernel' | 'stride' | 'pads' | 'dilation' | 'group'>): 'pw' | '3x3s1' | 'other' {
  if (isPointwise(a as ConvAttrs)) return 'pw';
  if (a.kernel[0] === 3 && a.kernel[1] === 3 && a.stride[0] === 1 && a.stride[1] === 1 && a.dilation[0] === 1 && a.dilation[1] === 1 && a.group === 1) return '3x3s1';
  return 'other';
}

/** The shape class of a conv from input x to output y (NCHW): kind, Cin/g, Cout/g and output pixels per image, bucketed. */
export function shapeClass(a: Pick<ConvAttrs, 'kernel' | 'stride' | 'pads' | 'dilation' | 'group'>, x: number[], y: number[]): string {
  const cin = x[1]! / a.group, cout = y[1]! / a.group, px = y[2]! * y[3]!;
  return `${convKind(a)} cin${bucket(cin, [32, 128])} cout${bucket(cout, [64, 256])} px${bucket(px, [256, 4096])}`;
}

/**
 * The tuned choice for this conv on `e`, or undefined (tuning off, no tuning, one of another adapter
 * or kernel version, or no entry for the class). Subgroups only where the engine allows them.
 */
export function tunedChoice(e: Engine, a: ConvAttrs, x: number[], y: number[]): TuneChoice | undefined {
  const t = e.tuning;
  if (!e.tune || !t || t.adapter !== e.adapterInfo || t.kernelHash !== kernelHash()) return undefined;
  const c = t.classes[shapeClass(a, x, y)]?.choice;
  if (!c) return undefined;
  return { ...c, subgroups: c.subgroups && e.subgroups };
}

/** Parses LOUPE_TUNE / a setting: 'on' or 'off' (also 1/0, true/false); an ArgumentError naming `what` otherwise. */
export function tuneSetting(value: string, what: string): boolean {
  const v = value.trim().toLowerCase();
  if (['on', '1', 'true', 'yes'].includes(v)) return true;
  if (['off', '0', 'false', 'no'].includes(v)) return false;
  throw new ArgumentError(`${what}: "${value}" is not a tuning setting; use on or off`);
}

// ---- the cache's contents (storage is the caller's) ------------------------------------------------

/** The cache's JSON parsed and checked; throws an Error saying what is wrong (callers warn and ignore it). */
export function parseTuneCache(text: string): TuneCache {
  const j = JSON.parse(text) as Partial<TuneCache>;
  if (!j || typeof j !== 'object' || j.version !== 1 || !j.adapters || typeof j.adapters !== 'object') throw new Error('not a Loupe tuning cache (version 1)');
  for (const [k, t] of Object.entries(j.adapters)) {
    if (!t || typeof t.adapter !== 'string' || typeof t.kernelHash !== 'string' || !t.classes || typeof t.classes !== 'object') throw new Error(`entry "${k}" is malformed`);
    for (const [c, v] of Object.entries(t.classes)) {
      const ch = v?.choice;
      if (!ch || typeof ch.wg !== 'number' || typeof ch.subgroups !== 'boolean' || (ch.algorithm !== 'gemm' && ch.algorithm !== 'winograd')) throw new Error(`entry "${k}", class "${c}": malformed choice`);
    }
  }
  return j as TuneCache;
}

/** The tuning cached for `adapter` with kernels `hash`, or undefined (none, or of other kernels). */
export function cachedTuning(cache: TuneCache | undefined, adapter: string, hash = kernelHash()): Tuning | undefined {
  const t = cache?.adapters[adapter];
  return t && t.kernelHash === hash ? t : undefined;
}

/** `cache` with `t` as its adapter's tuning (replacing one of older kernels). */
export function withTuning(cache: TuneCache | undefined, t: Tuning): TuneCache {
  return { version: 1, adapters: { ...(cache?.adapters ?? {}), [t.adapter]: t } };
}

/** A choice as text: "gemm wg64 sg" / "winograd". */
export function choiceText(c: TuneChoice): string {
  return c.algorithm === 'winograd' ? `winograd${c.subgroups ? ' sg' : ''}` : `gemm ${c.wg ? `wg${c.wg}` : 'wg default'}${c.subgroups ? ' sg' : ''}`;
}

// ---- measuring -----------------------------------------------------------------------------------

function attrsOf(s: TuneShape): ConvAttrs {
  return { kernel: s.kernel, stride: s.stride, pads: s.pads, dilation: [1, 1], group: s.group, weight: 'w', bias: 'b' };
}

export function outShape(s: TuneShape): number[] {
  return [s.n, s.cout, convOut(s.h, s.kernel[0], s.stride[0], s.pads[0], s.pads[2], 1), convOut(s.w, s.kernel[1], s.stride[1], s.pads[1], s.pads[3], 1)];
}

/** A seeded uniform PRNG in [−1, 1). */
function uniforms(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

/**
 * One conv shape on synthetic data (seeded weights, bias and input), run through `lowerConv` with a
 * given choice (or the untuned default): what the tuner times and the specs check.
 */
export class ConvBench {
  readonly a: ConvAttrs;
  readonly y: number[];
  readonly x: number[];
  readonly xData: Float32Array;
  readonly wData: Float32Array;
  readonly bData: Float32Array;
  private readonly bufs: GPUBuffer[] = [];
  private readonly xb: GPUBuffer;
  private readonly yb: GPUBuffer;
  private readonly params = new Map<string, GPUBuffer>();
  private readonly derivedBufs = new Map<string, GPUBuffer>();
  private pending: Dispatch[] = [];

  constructor(readonly e: Engine, readonly shape: TuneShape, seed = 1) {
    const s = shape;
    this.a = attrsOf(s);
    this.x = [s.n, s.cin, s.h, s.w];
    this.y = outShape(s);
    if (this.y[2]! < 1 || this.y[3]! < 1) throw new ArgumentError(`tune: the conv shape ${JSON.stringify(s)} has an empty output`);
    this.xData = uniforms(s.n * s.cin * s.h * s.w, seed);
    this.wData = uniforms(s.cout * (s.cin / s.group) * s.kernel[0] * s.kernel[1], seed + 1);
    this.bData = uniforms(s.cout, seed + 2);
    this.xb = this.keep(e.upload(this.xData, 'tune:x'));
    this.yb = this.keep(e.acquire(this.y.reduce((p, v) => p * v, 1) * 4, 'tune:y'));
    this.params.set('w', this.keep(e.upload(this.wData, 'tune:w')));
    this.params.set('b', this.keep(e.upload(this.bData, 'tune:b')));
  }

  private keep(b: GPUBuffer): GPUBuffer {
    this.bufs.push(b);
    return b;
  }

  private ctx(): LowerContext {
    const e = this.e;
    return {
      engine: e,
      param: (n) => {
        const b = this.params.get(n);
        if (!b) throw new Error(`tune: no parameter ${n}`);
        return b;
      },
      derived: () => {
        throw new Error('tune: conv lowerings derive on the GPU');
      },
      derivedGpu: (key, floats, build) => {
        let b = this.derivedBufs.get(key);
        if (!b) {
          b = this.keep(e.createBuffer(floats * 4, `tune:${key}`));
          this.derivedBufs.set(key, b);
          this.pending.push(...build(b));
        }
        return b;
      },
      paramSize: (n) => (n === 'w' ? this.wData.length : this.bData.length),
      paramData: (n) => (n === 'w' ? this.wData : this.bData),
      dummy: () => this.keep(e.acquire(16, 'tune:dummy')),
    };
  }

  /** The dispatches of the conv under `choice` (undefined: tuning off, today's defaults). */
  private dispatches(choice: TuneChoice | undefined): Dispatch[] {
    const e = this.e;
    const was = { tune: e.tune, tuning: e.tuning, alg: e.convAlgorithm };
    const cls = shapeClass(this.a, this.x, this.y);
    try {
      e.convAlgorithm = 'auto';
      e.tune = choice !== undefined;
      e.tuning = choice ? { adapter: e.adapterInfo, kernelHash: kernelHash(), measured: '', clock: '', classes: { [cls]: { shape: this.shape, choice, candidates: [] } } } : undefined;
      const scratch = (bytes: number, label: string) => this.keep(e.acquire(bytes, label));
      return lowerConv(this.ctx(), this.a, this.x, this.y, this.xb, this.yb, false, 'tune', undefined, scratch);
    } finally {
      e.tune = was.tune;
      e.tuning = was.tuning;
      e.convAlgorithm = was.alg;
    }
  }

  private async prelude(): Promise<void> {
    if (this.pending.length === 0) return;
    const p = this.pending;
    this.pending = [];
    await this.e.run(p);
  }

  /** The conv's output under `choice`. */
  async output(choice: TuneChoice | undefined): Promise<Float32Array> {
    const ds = this.dispatches(choice);
    await this.prelude();
    await this.e.run(ds);
    return this.e.readFloats(this.yb, this.y.reduce((p, v) => p * v, 1));
  }

  /** The best of `reps` timed runs (after one untimed), ms: timestamp queries where the adapter has them, else wall clock. */
  async time(choice: TuneChoice | undefined, reps: number): Promise<number> {
    const e = this.e;
    const ds = this.dispatches(choice);
    await this.prelude();
    await e.run(ds);
    let best = Infinity;
    const wasTiming = e.timing;
    e.timing = e.hasTimestamps;
    try {
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        await e.run(ds);
        const wall = performance.now() - t0;
        const ms = e.timing ? e.lastTimings.reduce((s, t) => s + t.ns, 0) / 1e6 : wall;
        best = Math.min(best, ms);
      }
    } finally {
      e.timing = wasTiming;
    }
    return best;
  }

  destroy(): void {
    for (const b of new Set(this.bufs)) this.e.destroyBuffer(b);
    this.bufs.length = 0;
  }
}

/** What the untuned lowering does for this shape on `e` (convAlgorithm 'auto'). */
export function defaultChoice(e: Engine, s: TuneShape): TuneChoice {
  const a = attrsOf(s), y = outShape(s);
  const wino = autoWinograd(e, a, [s.n, s.cin, s.h, s.w], y);
  const sg = e.subgroups;
  // wg 0: the default width, which narrows for few columns (defaultGemmWg), so that a class tuned at
  // batch 1 to its default does not pin a batch of 16 to the narrow workgroups of a small map
  return { wg: 0, subgroups: sg, algorithm: wino ? 'winograd' : 'gemm' };
}

const same = (a: TuneChoice, b: TuneChoice) => a.wg === b.wg && a.subgroups === b.subgroups && a.algorithm === b.algorithm;

/** The candidates of a shape on `e`: GEMM at each workgroup size the device allows, with and without subgroups, and Winograd where it applies. */
export function candidatesFor(e: Engine, s: TuneShape): TuneChoice[] {
  const lim = Math.min(e.device.limits.maxComputeInvocationsPerWorkgroup, e.device.limits.maxComputeWorkgroupSizeX);
  const sgs = e.subgroups ? [false, true] : [false];
  const out: TuneChoice[] = [];
  for (const subgroups of sgs) for (const wg of TUNE_WGS) if (wg <= lim) out.push({ wg, subgroups, algorithm: 'gemm' });
  const a = attrsOf(s), y = outShape(s);
  const sc = winogradScratch([s.n, s.cin, s.h, s.w], y);
  if (winogradApplies(a, y) && Math.max(sc.v, sc.m) <= e.maxBindingBytes) for (const subgroups of sgs) out.push({ wg: 0, subgroups, algorithm: 'winograd' });
  return out;
}

function relErr(a: Float32Array, b: Float32Array): number {
  let err = 0, top = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    err = Number.isNaN(d) ? Infinity : Math.max(err, d);
    top = Math.max(top, Math.abs(b[i]!));
  }
  return err / Math.max(top, 1e-30);
}

export interface TuneOptions {
  /** timed repeats per candidate (default 3) */
  reps?: number;
  /** progress: one line per shape class */
  log?: (line: string) => void;
  /** for tests: changes a candidate's output before the check (a wrong candidate, injected) */
  perturb?: (choice: TuneChoice, out: Float32Array) => void;
  /** for tests and quick runs: the candidates of a shape (default candidatesFor) */
  candidates?: (e: Engine, s: TuneShape) => TuneChoice[];
}

/** Tunes one shape: every candidate checked against the default lowering's output, timed, the fastest chosen. */
export async function tuneShape(e: Engine, s: TuneShape, opts: TuneOptions = {}): Promise<TuneClass> {
  const bench = new ConvBench(e, s);
  try {
    const def = defaultChoice(e, s);
    const ref = await bench.output(undefined);
    const reps = opts.reps ?? 3;
    const cands = [...(opts.candidates ?? candidatesFor)(e, s)];
    if (!cands.some((c) => same(c, def))) cands.unshift(def);
    const rows: TuneCandidate[] = [];
    for (const choice of cands) {
      const isDefault = same(choice, def);
      const out = await bench.output(choice);
      opts.perturb?.(choice, out);
      const error = relErr(out, ref);
      if (!(error <= TUNE_MAX_ERROR)) {
        rows.push({ choice, ms: null, error, refused: `differs from the default by ${error.toExponential(2)} (> ${TUNE_MAX_ERROR})`, ...(isDefault ? { isDefault } : {}) });
        continue;
      }
      rows.push({ choice, ms: await bench.time(choice, reps), error, ...(isDefault ? { isDefault } : {}) });
    }
    const defRow = rows.find((r) => r.isDefault && r.ms !== null);
    let best = defRow;
    for (const r of rows) if (r.ms !== null && (!best || r.ms < best.ms! * (best === defRow ? 1 - TUNE_MARGIN : 1))) best = r;
    return { shape: s, choice: best?.choice ?? def, candidates: rows };
  } finally {
    bench.destroy();
  }
}

/** Tunes one representative shape per shape class (the first of each class in `shapes`). */
export async function tune(e: Engine, shapes: TuneShape[], opts: TuneOptions = {}): Promise<Tuning> {
  const classes: Record<string, TuneClass> = {};
  for (const s of shapes) {
    const cls = shapeClass(attrsOf(s), [s.n, s.cin, s.h, s.w], outShape(s));
    if (classes[cls]) continue;
    classes[cls] = await tuneShape(e, s, opts);
    opts.log?.(cls);
  }
  return { adapter: e.adapterInfo, kernelHash: kernelHash(), measured: new Date().toISOString(), clock: e.hasTimestamps ? 'timestamps' : 'wall', classes };
}

/** Conv shapes of a few representative layers (LeNet's, SqueezeNet's and VGG-like), for tuning without models. */
export const SYNTHETIC_SHAPES: TuneShape[] = [
  { n: 1, cin: 1, cout: 20, h: 28, w: 28, kernel: [5, 5], stride: [1, 1], pads: [0, 0, 0, 0], group: 1 },
  { n: 1, cin: 96, cout: 16, h: 54, w: 54, kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], group: 1 },
  { n: 1, cin: 16, cout: 64, h: 54, w: 54, kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], group: 1 },
  { n: 1, cin: 64, cout: 256, h: 13, w: 13, kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], group: 1 },
  { n: 1, cin: 512, cout: 1000, h: 13, w: 13, kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], group: 1 },
];

/** The conv shapes (batch `n`) of a graph's GEMM convs, from its inferred shapes. */
export function graphShapes(nodes: { op: string; attrs: unknown; inputs: string[]; outputs: string[] }[], shapes: Map<string, number[]>, n = 1): TuneShape[] {
  const out: TuneShape[] = [];
  for (const node of nodes) {
    if (node.op !== 'conv') continue;
    const a = node.attrs as ConvAttrs;
    const x = shapes.get(node.inputs[0]!), y = shapes.get(node.outputs[0]!);
    if (!x || !y || a.dilation[0] !== 1 || a.dilation[1] !== 1) continue;
    if (y[1]! / a.group < GEMM.minCoutPerGroup) continue; // the direct kernel: nothing to tune
    out.push({ n, cin: x[1]!, cout: y[1]!, h: x[2]!, w: x[3]!, kernel: a.kernel, stride: a.stride, pads: a.pads, group: a.group });
  }
  return out;
}
