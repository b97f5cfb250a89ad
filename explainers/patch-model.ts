// Patch models for prediction difference analysis (METHODS.md §1, Zintgraf et al. 2017 §3.1):
// a multivariate Gaussian over (K+2L)×(K+2L)×C patches of real images, with, for every place a
// K×K window can sit inside its patch, the factors conditional sampling needs (computed in
// float64), and an empirical store of whole images for marginal sampling. Also the seeded
// counter-based RNG (PCG4D hash + Box–Muller) that the GPU kernels use, so the CPU can replay
// the GPU's choices. Pure TypeScript, no Node modules.
//
// Layouts. A patch is a vector of d = C·P² values (P = K+2L), index c·P² + py·P + px. A window
// inside it has dw = C·K² values, index c·K² + wy·K + wx; the other dO = d − dw patch values
// ("o") keep their patch order. Relative position q = oy·(2L+1) + ox, oy, ox ∈ [0, 2L]: the
// window's top-left corner inside the patch. For each q:
//   A_q = Σ_wo Σ_oo⁻¹  (dw × dO), b_q = μ_w − A_q μ_o, L_q L_qᵀ = Σ_ww − A_q Σ_ow  (L_q lower)
// so a conditional sample is b_q + A_q x_o + L_q z.
import { ArgumentError, InputFormatError, ShapeError } from '../engine/errors.ts';
import type { Preprocess } from '../engine/ir.ts';

// ---- counter-based RNG ------------------------------------------------------------------------

/** PCG4D hash (Jarzynski & Olano, "Hash Functions for GPU Rendering", 2020), u32 lanes; same as kernels/pda_*.wgsl. */
export function pcg4d(a: number, b: number, c: number, d: number): [number, number, number, number] {
  let x = (Math.imul(a >>> 0, 1664525) + 1013904223) >>> 0;
  let y = (Math.imul(b >>> 0, 1664525) + 1013904223) >>> 0;
  let z = (Math.imul(c >>> 0, 1664525) + 1013904223) >>> 0;
  let w = (Math.imul(d >>> 0, 1664525) + 1013904223) >>> 0;
  x = (x + Math.imul(y, w)) >>> 0;
  y = (y + Math.imul(z, x)) >>> 0;
  z = (z + Math.imul(x, y)) >>> 0;
  w = (w + Math.imul(y, z)) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  y = (y ^ (y >>> 16)) >>> 0;
  z = (z ^ (z >>> 16)) >>> 0;
  w = (w ^ (w >>> 16)) >>> 0;
  x = (x + Math.imul(y, w)) >>> 0;
  y = (y + Math.imul(z, x)) >>> 0;
  z = (z + Math.imul(x, y)) >>> 0;
  w = (w + Math.imul(y, z)) >>> 0;
  return [x, y, z, w];
}

/** The key lane that marks a marginal draw (normals use j >> 1 < 2³¹ there). */
export const MARGINAL_TAG = 0xffffffff;

/** The store image a marginal draw takes window `window`'s sample `sample` from (as pda_draw_marginal.wgsl). */
export function marginalIndex(seed: number, window: number, sample: number, count: number): number {
  return pcg4d(seed, window, sample, MARGINAL_TAG)[0] % count;
}

/** Standard normal number j of (seed, window, sample), Box–Muller on one PCG4D hash per pair (as pda_draw_conditional.wgsl, in float64). */
export function normalDraw(seed: number, window: number, sample: number, j: number): number {
  const [hx, hy] = pcg4d(seed, window, sample, j >>> 1);
  const u1 = ((hx >>> 8) + 1) / 16777216;
  const u2 = (hy >>> 8) / 16777216;
  const r = Math.sqrt(-2 * Math.log(u1));
  return (j & 1) === 0 ? r * Math.cos(2 * Math.PI * u2) : r * Math.sin(2 * Math.PI * u2);
}

/** Uniform [0, 1) number `i` of a seeded stream (for choosing patches). */
function uniformDraw(seed: number, i: number, lane: number): number {
  return pcg4d(seed, i, lane, 0x51ed2705)[0] / 4294967296;
}

// ---- the model ----------------------------------------------------------------------------------

export interface ConditionalFactors {
  /** (2L+1)² relative positions, q = oy·(2L+1) + ox. */
  positions: number;
  dw: number;
  dO: number;
  /** [positions][dw][dO] */
  A: Float32Array;
  /** [positions][dw] */
  b: Float32Array;
  /** [positions][dw][dw], lower triangular */
  L: Float32Array;
  /** [positions][dO]: the patch index of each o value */
  oIndex: Uint32Array;
  /** ridge added to Σ_oo's diagonal (and jitter to Σ_w|o's) per position, 0 when none was needed */
  ridge: number[];
}

export interface ImageStore {
  count: number;
  channels: number;
  height: number;
  width: number;
  /** count × C × H × W, preprocessed like the model's input */
  data: Float32Array;
}

export interface PatchModel {
  window: number;
  padding: number;
  channels: number;
  /** how many patches the Gaussian was estimated from (0 when there is no Gaussian) */
  patches: number;
  /** d = C·P² */
  mean?: Float64Array;
  /** d × d */
  cov?: Float64Array;
  factors?: ConditionalFactors;
  store?: ImageStore;
  /** the model and preprocessing the patches were taken with */
  model?: string;
  preprocess?: Preprocess;
  seed?: number;
  /** the file it was read from (for error messages) */
  source?: string;
}

export const patchSize = (window: number, padding: number): number => window + 2 * padding;

/** Where a window at image row (or column) `y0` sits in its patch: the patch start and the offset inside it. */
export function patchPlacement(y0: number, window: number, padding: number, size: number): { start: number; offset: number } {
  const p = patchSize(window, padding);
  const start = Math.max(0, Math.min(y0 - padding, size - p));
  return { start, offset: y0 - start };
}

/**
 * Draws `count` patches (seeded: patch i comes from image ⌊u·n⌋ at a uniform position) from
 * images that are C×H×W each, and returns their mean and covariance (float64).
 */
export function estimateGaussian(images: Float32Array[], geom: { channels: number; height: number; width: number; window: number; padding: number }, count: number, seed = 0): { mean: Float64Array; cov: Float64Array } {
  const { channels: C, height: H, width: W } = geom;
  const P = patchSize(geom.window, geom.padding);
  if (images.length === 0) throw new ArgumentError('patch model: no images to estimate from');
  if (P > H || P > W) throw new ArgumentError(`patch model: the patch (window ${geom.window} + 2·padding ${geom.padding} = ${P}) is larger than the images (${H}x${W})`);
  if (!(Number.isInteger(count) && count >= 2)) throw new ArgumentError(`patch model: need at least 2 patches, got ${count}`);
  for (const im of images) if (im.length !== C * H * W) throw new ShapeError(`patch model: an image has ${im.length} values, expected ${C}×${H}×${W}`);
  const d = C * P * P;
  const data = new Float64Array(count * d);
  for (let i = 0; i < count; i++) {
    const im = images[Math.min(images.length - 1, Math.floor(uniformDraw(seed, i, 0) * images.length))]!;
    const y = Math.floor(uniformDraw(seed, i, 1) * (H - P + 1));
    const x = Math.floor(uniformDraw(seed, i, 2) * (W - P + 1));
    let k = i * d;
    for (let c = 0; c < C; c++) for (let py = 0; py < P; py++) for (let px = 0; px < P; px++) data[k++] = im[c * H * W + (y + py) * W + x + px]!;
  }
  const mean = new Float64Array(d);
  for (let i = 0; i < count; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j] /= count;
  for (let i = 0; i < count; i++) for (let j = 0; j < d; j++) data[i * d + j] -= mean[j]!;
  const cov = new Float64Array(d * d);
  for (let i = 0; i < count; i++) {
    const off = i * d;
    for (let a = 0; a < d; a++) {
      const va = data[off + a]!;
      if (va === 0) continue;
      const row = a * d;
      for (let b = a; b < d; b++) cov[row + b] += va * data[off + b]!;
    }
  }
  for (let a = 0; a < d; a++)
    for (let b = a; b < d; b++) {
      const v = cov[a * d + b]! / (count - 1);
      cov[a * d + b] = v;
      cov[b * d + a] = v;
    }
  return { mean, cov };
}

/** In-place Cholesky of an n×n SPD matrix (row-major, lower factor left in the lower triangle, upper zeroed); false if not positive definite. */
export function cholesky(m: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    let s = m[j * n + j]!;
    for (let k = 0; k < j; k++) s -= m[j * n + k]! * m[j * n + k]!;
    if (!(s > 0)) return false;
    const d = Math.sqrt(s);
    m[j * n + j] = d;
    for (let i = j + 1; i < n; i++) {
      let t = m[i * n + j]!;
      const ri = i * n, rj = j * n;
      for (let k = 0; k < j; k++) t -= m[ri + k]! * m[rj + k]!;
      m[i * n + j] = t / d;
    }
    for (let k = j + 1; k < n; k++) m[j * n + k] = 0;
  }
  return true;
}

/** Cholesky with a growing ridge (1e-6·mean diagonal, ×10 per retry) when the matrix is (numerically) not positive definite. */
function choleskyRidge(m: Float64Array, n: number, what: string): { factor: Float64Array; ridge: number } {
  let tr = 0;
  for (let i = 0; i < n; i++) tr += m[i * n + i]!;
  const base = Math.max(tr / Math.max(1, n), 1e-30) * 1e-6;
  for (let t = 0, ridge = 0; t < 12; t++, ridge = ridge === 0 ? base : ridge * 10) {
    const f = m.slice();
    if (ridge > 0) for (let i = 0; i < n; i++) f[i * n + i] += ridge;
    if (cholesky(f, n)) {
      // A pivot far below the diagonal's scale means the factor is numerically unreliable.
      let minPiv = Infinity;
      for (let i = 0; i < n; i++) minPiv = Math.min(minPiv, f[i * n + i]! * f[i * n + i]!);
      if (minPiv > base * 1e-6 || t > 0) return { factor: f, ridge };
    }
  }
  throw new ShapeError(`patch model: ${what} is not positive definite even with a ridge (degenerate patches?)`);
}

/** The conditional factors of every relative window position, in float64 (stored as float32). */
export function conditionalFactors(mean: ArrayLike<number>, cov: ArrayLike<number>, geom: { window: number; padding: number; channels: number }): ConditionalFactors {
  const { window: K, padding: Lp, channels: C } = geom;
  const P = patchSize(K, Lp);
  const d = C * P * P;
  if (mean.length !== d || cov.length !== d * d) throw new ShapeError(`patch model: mean/covariance sizes ${mean.length}/${cov.length} do not fit ${C}×${P}×${P} patches`);
  const n1 = 2 * Lp + 1;
  const positions = n1 * n1;
  const dw = C * K * K;
  const dO = d - dw;
  const A = new Float32Array(positions * dw * dO);
  const b = new Float32Array(positions * dw);
  const Lf = new Float32Array(positions * dw * dw);
  const oIndex = new Uint32Array(positions * dO);
  const ridges: number[] = [];
  for (let oy = 0; oy < n1; oy++)
    for (let ox = 0; ox < n1; ox++) {
      const q = oy * n1 + ox;
      const wIdx: number[] = [];
      const inW = new Uint8Array(d);
      for (let c = 0; c < C; c++) for (let wy = 0; wy < K; wy++) for (let wx = 0; wx < K; wx++) {
        const pi = c * P * P + (oy + wy) * P + ox + wx;
        wIdx.push(pi);
        inW[pi] = 1;
      }
      const oIdx: number[] = [];
      for (let pi = 0; pi < d; pi++) if (!inW[pi]) oIdx.push(pi);
      oIndex.set(oIdx, q * dO);
      const { A: Aq, condCov } = conditionalOf(cov, d, wIdx, oIdx, `Σ_oo at window offset (${oy}, ${ox})`);
      let ridge = condCov.ridge;
      // b = μ_w − A μ_o
      for (let i = 0; i < dw; i++) {
        let s = mean[wIdx[i]!]!;
        for (let j = 0; j < dO; j++) s -= Aq[i * dO + j]! * mean[oIdx[j]!]!;
        b[q * dw + i] = s;
      }
      for (let i = 0; i < dw * dO; i++) A[q * dw * dO + i] = Aq[i]!;
      const ch = choleskyRidge(condCov.m, dw, `Σ_w|o at window offset (${oy}, ${ox})`);
      ridge = Math.max(ridge, ch.ridge);
      for (let i = 0; i < dw * dw; i++) Lf[q * dw * dw + i] = ch.factor[i]!;
      ridges.push(ridge);
    }
  return { positions, dw, dO, A, b, L: Lf, oIndex, ridge: ridges };
}

/** A = Σ_wo Σ_oo⁻¹ and Σ_w|o = Σ_ww − A Σ_ow for the given index sets (float64). */
export function conditionalOf(cov: ArrayLike<number>, d: number, wIdx: number[], oIdx: number[], what = 'Σ_oo'): { A: Float64Array; condCov: { m: Float64Array; ridge: number } } {
  const dw = wIdx.length, dO = oIdx.length;
  const Soo = new Float64Array(dO * dO);
  for (let i = 0; i < dO; i++) for (let j = 0; j < dO; j++) Soo[i * dO + j] = cov[oIdx[i]! * d + oIdx[j]!]!;
  const { factor: Lo, ridge } = choleskyRidge(Soo, dO, what);
  // Solve Σ_oo X = Σ_ow (X = Aᵀ, dO × dw), column by column via Lo Loᵀ.
  const A = new Float64Array(dw * dO);
  const y = new Float64Array(dO);
  for (let i = 0; i < dw; i++) {
    for (let r = 0; r < dO; r++) {
      let s = cov[oIdx[r]! * d + wIdx[i]!]!;
      const row = r * dO;
      for (let k = 0; k < r; k++) s -= Lo[row + k]! * y[k]!;
      y[r] = s / Lo[row + r]!;
    }
    for (let r = dO - 1; r >= 0; r--) {
      let s = y[r]!;
      for (let k = r + 1; k < dO; k++) s -= Lo[k * dO + r]! * A[i * dO + k]!;
      A[i * dO + r] = s / Lo[r * dO + r]!;
    }
  }
  const m = new Float64Array(dw * dw);
  for (let i = 0; i < dw; i++)
    for (let j = 0; j <= i; j++) {
      let s = cov[wIdx[i]! * d + wIdx[j]!]!;
      for (let k = 0; k < dO; k++) s -= A[i * dO + k]! * cov[oIdx[k]! * d + wIdx[j]!]!;
      m[i * dw + j] = s;
      m[j * dw + i] = s;
    }
  return { A, condCov: { m, ridge } };
}

export interface BuildOptions {
  window: number;
  padding: number;
  channels: number;
  height: number;
  width: number;
  /** patches for the Gaussian (default 25,000, as the paper); 0 = no Gaussian (marginal only) */
  patches?: number;
  /** images kept for marginal sampling (default 64; 0 = none) */
  store?: number;
  seed?: number;
  model?: string;
  preprocess?: Preprocess;
  onProgress?: (stage: string) => void;
}

/** Estimates the Gaussian and its conditional factors, and keeps an image store, from preprocessed C×H×W images. */
export function buildPatchModel(images: Float32Array[], o: BuildOptions): PatchModel {
  const { window: K, padding: L, channels: C, height: H, width: W } = o;
  if (!(Number.isInteger(K) && K >= 1)) throw new ArgumentError(`patch model: --window must be a positive integer, got ${K}`);
  if (!(Number.isInteger(L) && L >= 0)) throw new ArgumentError(`patch model: --padding must be a non-negative integer, got ${L}`);
  if (K > Math.min(H, W)) throw new ArgumentError(`patch model: window ${K} is larger than the images (${H}x${W})`);
  const patches = o.patches ?? 25000;
  const seed = o.seed ?? 0;
  const pm: PatchModel = { window: K, padding: L, channels: C, patches, model: o.model, preprocess: o.preprocess, seed };
  if (patches > 0) {
    o.onProgress?.(`estimating the mean and covariance of ${patches} patches of ${C}×${patchSize(K, L)}×${patchSize(K, L)}`);
    const g = estimateGaussian(images, { channels: C, height: H, width: W, window: K, padding: L }, patches, seed);
    pm.mean = g.mean;
    pm.cov = g.cov;
    o.onProgress?.(`conditional factors for ${(2 * L + 1) ** 2} window positions`);
    pm.factors = conditionalFactors(g.mean, g.cov, { window: K, padding: L, channels: C });
  }
  const keep = Math.min(o.store ?? 64, images.length);
  if (keep > 0) {
    const data = new Float32Array(keep * C * H * W);
    // An even spread over the given images (deterministic).
    for (let i = 0; i < keep; i++) data.set(images[Math.floor((i * images.length) / keep)]!, i * C * H * W);
    pm.store = { count: keep, channels: C, height: H, width: W, data };
  }
  return pm;
}

// ---- file format --------------------------------------------------------------------------------
// "LOUPEPM1", u32 LE length of a JSON header, the header (space-padded so the data starts at a
// multiple of 8), then the arrays the header lists (name, dtype, shape, byte offset from the
// start of the data).

const MAGIC = 'LOUPEPM1';
type Dtype = 'f32' | 'f64' | 'u32';
interface ArrayEntry { name: string; dtype: Dtype; shape: number[]; offset: number }

export function encodePatchModel(pm: PatchModel): Uint8Array {
  const arrays: [string, Float32Array | Float64Array | Uint32Array, number[]][] = [];
  const P = patchSize(pm.window, pm.padding);
  const d = pm.channels * P * P;
  if (pm.mean) arrays.push(['mean', pm.mean, [d]]);
  if (pm.cov) arrays.push(['cov', pm.cov, [d, d]]);
  const f = pm.factors;
  if (f) {
    arrays.push(['A', f.A, [f.positions, f.dw, f.dO]], ['b', f.b, [f.positions, f.dw]], ['L', f.L, [f.positions, f.dw, f.dw]], ['oIndex', f.oIndex, [f.positions, f.dO]]);
  }
  const s = pm.store;
  if (s) arrays.push(['store', s.data, [s.count, s.channels, s.height, s.width]]);
  const entries: ArrayEntry[] = [];
  let off = 0;
  for (const [name, a, shape] of arrays) {
    entries.push({ name, dtype: a instanceof Float64Array ? 'f64' : a instanceof Uint32Array ? 'u32' : 'f32', shape, offset: off });
    off += Math.ceil(a.byteLength / 8) * 8;
  }
  const header = {
    format: 'loupe-patch-model', version: 1, window: pm.window, padding: pm.padding, channels: pm.channels, patchSize: P,
    patches: pm.patches, model: pm.model, preprocess: pm.preprocess, seed: pm.seed,
    positions: f?.positions, ridge: f?.ridge, store: s ? { count: s.count, height: s.height, width: s.width } : undefined, arrays: entries,
  };
  let json = JSON.stringify(header);
  const pre = MAGIC.length + 4;
  const jsonBytes0 = new TextEncoder().encode(json).length;
  json += ' '.repeat((8 - ((pre + jsonBytes0) % 8)) % 8);
  const jb = new TextEncoder().encode(json);
  const start = pre + jb.length;
  const out = new Uint8Array(start + off);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(MAGIC.length, jb.length, true);
  out.set(jb, pre);
  arrays.forEach(([, a], i) => out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), start + entries[i]!.offset));
  return out;
}

export function decodePatchModel(bytes: Uint8Array, fileName: string): PatchModel {
  const bad = (why: string) => new InputFormatError(`${fileName}: not a loupe patch model (${why}); make one with \`loupe patch-model\``);
  if (bytes.length < MAGIC.length + 4 || new TextDecoder().decode(bytes.subarray(0, MAGIC.length)) !== MAGIC) throw bad('bad magic');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hl = dv.getUint32(MAGIC.length, true);
  const pre = MAGIC.length + 4;
  if (pre + hl > bytes.length) throw bad('truncated header');
  let h: Record<string, unknown> & { arrays: ArrayEntry[] };
  try {
    h = JSON.parse(new TextDecoder().decode(bytes.subarray(pre, pre + hl)));
  } catch {
    throw bad('unreadable header');
  }
  if (h.format !== 'loupe-patch-model' || h.version !== 1 || !Array.isArray(h.arrays)) throw bad('unknown header');
  const start = pre + hl;
  const get = (name: string): Float32Array | Float64Array | Uint32Array | undefined => {
    const e = h.arrays.find((a) => a.name === name);
    if (!e) return undefined;
    const n = e.shape.reduce((a, b) => a * b, 1);
    const size = e.dtype === 'f64' ? 8 : 4;
    const at = start + e.offset;
    if (at + n * size > bytes.length) throw bad(`array ${name} is truncated`);
    const copy = bytes.slice(at, at + n * size);
    return e.dtype === 'f64' ? new Float64Array(copy.buffer) : e.dtype === 'u32' ? new Uint32Array(copy.buffer) : new Float32Array(copy.buffer);
  };
  const num = (k: string) => {
    const v = h[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw bad(`header field ${k}`);
    return v;
  };
  const pm: PatchModel = {
    window: num('window'), padding: num('padding'), channels: num('channels'), patches: num('patches'),
    model: h.model as string | undefined, preprocess: h.preprocess as Preprocess | undefined, seed: h.seed as number | undefined, source: fileName,
  };
  pm.mean = get('mean') as Float64Array | undefined;
  pm.cov = get('cov') as Float64Array | undefined;
  const A = get('A') as Float32Array | undefined;
  if (A) {
    const e = h.arrays.find((a) => a.name === 'A')!;
    const [positions, dw, dO] = e.shape as [number, number, number];
    const P = patchSize(pm.window, pm.padding);
    if (positions !== (2 * pm.padding + 1) ** 2 || dw !== pm.channels * pm.window ** 2 || dw + dO !== pm.channels * P * P) throw bad('factor shapes do not fit the window');
    pm.factors = { positions, dw, dO, A, b: get('b') as Float32Array, L: get('L') as Float32Array, oIndex: get('oIndex') as Uint32Array, ridge: (h.ridge as number[]) ?? [] };
    if (!pm.factors.b || !pm.factors.L || !pm.factors.oIndex) throw bad('incomplete conditional factors');
  }
  const st = get('store') as Float32Array | undefined;
  if (st) {
    const e = h.arrays.find((a) => a.name === 'store')!;
    const [count, channels, height, width] = e.shape as [number, number, number, number];
    pm.store = { count, channels, height, width, data: st };
  }
  return pm;
}

/**
 * Checks that a patch model fits a run: the window, padding and channels of conditional
 * sampling, or the image size and channels of marginal sampling. Throws ArgumentError naming
 * the file.
 */
export function checkPatchModel(pm: PatchModel, want: { sampling: 'conditional' | 'marginal'; window: number; padding?: number; channels: number; height: number; width: number; preprocess?: Preprocess }): void {
  const name = pm.source ?? 'the patch model';
  if (pm.channels !== want.channels) throw new ArgumentError(`${name}: built for ${pm.channels}-channel images; the model takes ${want.channels} channels`);
  if (want.sampling === 'conditional') {
    if (!pm.factors) throw new ArgumentError(`${name}: has no Gaussian patch model (built with --patches 0); conditional sampling needs one`);
    if (pm.window !== want.window) throw new ArgumentError(`${name}: built for window ${pm.window}, but --window is ${want.window}; build one with \`loupe patch-model --window ${want.window}\``);
    if (want.padding !== undefined && pm.padding !== want.padding) throw new ArgumentError(`${name}: built for padding ${pm.padding}, but --padding is ${want.padding}`);
    const P = patchSize(pm.window, pm.padding);
    if (P > want.height || P > want.width) throw new ArgumentError(`${name}: its ${P}x${P} patches are larger than the ${want.height}x${want.width} input`);
  } else {
    const s = pm.store;
    if (!s || s.count === 0) throw new ArgumentError(`${name}: has no image store (built with --store 0); marginal sampling needs one`);
    if (s.height !== want.height || s.width !== want.width || s.channels !== want.channels)
      throw new ArgumentError(`${name}: its stored images are ${s.channels}×${s.height}×${s.width}; the model takes ${want.channels}×${want.height}×${want.width}`);
  }
  if (want.preprocess && pm.preprocess) {
    const a = pm.preprocess, b = want.preprocess;
    const same = JSON.stringify(a.mean ?? null) === JSON.stringify(b.mean ?? null) && (a.scale ?? 1) === (b.scale ?? 1) && !!a.bgr === !!b.bgr && !!a.grayscale === !!b.grayscale;
    if (!same) throw new ArgumentError(`${name}: made with other preprocessing (${describePre(a)}) than this run (${describePre(b)})`);
  }
}

function describePre(p: Preprocess): string {
  return `mean ${p.mean ? p.mean.join(',') : 'none'}, scale ${p.scale ?? 1}${p.bgr ? ', BGR' : ''}${p.grayscale ? ', grey' : ''}`;
}
