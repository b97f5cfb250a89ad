// The model-parameter randomisation test (Adebayo et al., "Sanity checks for saliency maps", 2018),
// the host half: which layers a cascade randomises at each step, the randomised graphs, and the two
// similarity statistics, all in float64. explainers/evaluate.ts runs the maps.
//
// - The cascade walks the layers that carry parameters in the IR (nodeParams: conv, fc, batch
//   norm, PReLU, ...) from the one nearest the logits down to the first; step k randomises every
//   layer up to and including its cut, so the network is destroyed from the top down.
// - Re-initialisation: each parameter tensor of a randomised layer (weights and biases) is replaced
//   by a seeded permutation of its own values (Fisher-Yates over a 32-bit PCG-like generator).
//   Adebayo et al. use the framework's initialiser; a permutation keeps each layer's scale (its
//   value distribution exactly), so activations stay in float32 range and the ReLUs neither all
//   die nor explode whatever initialiser the model was trained from, while every learned
//   structure (which filter looks at what) is gone. The caller's graph and params are not touched:
//   the randomised graph shares the untouched Param objects and holds fresh ones for the others.
// - Spearman rank correlation: Pearson correlation of the ranks, ties given their average rank;
//   NaN when a map is constant. The "abs" version ranks |map|.
// - SSIM (Wang et al., 2004) on maps min-max normalised to [0, 1] (data range 1, a constant map
//   becomes 0): a 7×7 uniform window over every position where it fits (no padding), C1 = (0.01)²,
//   C2 = (0.03)², sample (N−1) variances and covariance, the mean over windows: scikit-image's
//   structural_similarity defaults. Maps smaller than 7×7 use one window of the whole map.
import { ArgumentError } from '../engine/errors.ts';
import { nodeParams, type Graph, type Param } from '../engine/ir.ts';
import { mulberry32 } from '../engine/train.ts';

/** Ranks 1..n, ties given the average of their ranks. */
export function averageRanks(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a]! - x[b]!);
  const r = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && x[order[j + 1]!] === x[order[i]!]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[order[k]!] = avg;
    i = j + 1;
  }
  return r;
}

/** Pearson correlation of two equal-length arrays in float64; NaN when either is constant. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) (ma += a[i]!), (mb += b[i]!);
  ma /= n;
  mb /= n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma, db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa === 0 || sbb === 0 ? NaN : sab / Math.sqrt(saa * sbb);
}

/** Spearman rank correlation of two maps (average ranks for ties; NaN when either is constant). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>, abs = false): number {
  if (a.length !== b.length) throw new ArgumentError(`spearman: ${a.length} values against ${b.length}`);
  const f = (x: ArrayLike<number>) => (abs ? Float64Array.from(x as ArrayLike<number>, Math.abs) : x);
  return pearson(averageRanks(f(a)), averageRanks(f(b)));
}

/** A map min-max normalised to [0, 1] (a constant map: all 0). */
export function normalise01(x: ArrayLike<number>): Float64Array {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < x.length; i++) (lo = Math.min(lo, x[i]!)), (hi = Math.max(hi, x[i]!));
  return Float64Array.from(x as ArrayLike<number>, (v) => (hi > lo ? (v - lo) / (hi - lo) : 0));
}

export const SSIM_WINDOW = 7;

/** Mean SSIM of two H×W maps, each normalised to [0, 1] first (see the header). */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, h: number, w: number): number {
  if (a.length !== h * w || b.length !== h * w) throw new ArgumentError(`ssim: maps of ${a.length} and ${b.length} values, not ${h}×${w}`);
  const x = normalise01(a), y = normalise01(b);
  const wh = Math.min(SSIM_WINDOW, h), ww = Math.min(SSIM_WINDOW, w), np = wh * ww;
  const c1 = 0.01 ** 2, c2 = 0.03 ** 2;
  const cov = np > 1 ? np / (np - 1) : 1;
  let sum = 0, count = 0;
  for (let y0 = 0; y0 + wh <= h; y0++)
    for (let x0 = 0; x0 + ww <= w; x0++) {
      let mx = 0, my = 0, mxx = 0, myy = 0, mxy = 0;
      for (let dy = 0; dy < wh; dy++)
        for (let dx = 0; dx < ww; dx++) {
          const i = (y0 + dy) * w + x0 + dx, p = x[i]!, q = y[i]!;
          mx += p;
          my += q;
          mxx += p * p;
          myy += q * q;
          mxy += p * q;
        }
      (mx /= np), (my /= np), (mxx /= np), (myy /= np), (mxy /= np);
      const vx = cov * (mxx - mx * mx), vy = cov * (myy - my * my), vxy = cov * (mxy - mx * my);
      sum += ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
      count++;
    }
  return sum / count;
}

/** The layers that carry parameters, nearest the logits first: the cascade's order. */
export function cascadeLayers(g: Graph): string[] {
  return g.nodes.filter((n) => nodeParams(n).some((p) => g.params.has(p))).map((n) => n.name).reverse();
}

export interface CascadeOptions {
  /** how many layers of the cascade (from the top), 'all' (default), or the layer names at which steps end */
  layers?: number | 'all' | readonly string[];
  /** layers randomised per step (default 1); not with a list of names */
  every?: number;
}

/** One step of the cascade: every layer in `layers` (from the top down to `name`) randomised. */
export interface CascadeStep {
  /** the lowest layer randomised at this step */
  name: string;
  layers: string[];
}

/** The steps of a cascade over graph `g`. */
export function cascadeSteps(g: Graph, o: CascadeOptions = {}): CascadeStep[] {
  const all = cascadeLayers(g);
  if (all.length === 0) throw new ArgumentError('randomisation: the model has no layer with parameters');
  const every = o.every ?? 1;
  if (!Number.isInteger(every) || every < 1) throw new ArgumentError(`--randomise-every must be an integer ≥ 1, got ${every}`);
  const L = o.layers ?? 'all';
  let cuts: number[];
  if (typeof L === 'object') {
    if (o.every !== undefined && o.every !== 1) throw new ArgumentError('--randomise-every does not go with a list of layer names in --randomise-layers');
    if (L.length === 0) throw new ArgumentError('--randomise-layers is empty');
    cuts = L.map((name) => {
      const i = all.indexOf(name);
      if (i < 0) throw new ArgumentError(`--randomise-layers: "${name}" is not a layer with parameters; they are, from the logits down: ${all.join(', ')}`);
      return i + 1;
    });
    cuts = [...new Set(cuts)].sort((a, b) => a - b);
    if (cuts.length !== L.length) throw new ArgumentError(`--randomise-layers names a layer twice: ${L.join(',')}`);
  } else {
    const k = L === 'all' ? all.length : (L as number);
    if (!Number.isInteger(k) || k < 1) throw new ArgumentError(`--randomise-layers must be all, a count ≥ 1 or layer names, got ${String(L)}`);
    if (k > all.length) throw new ArgumentError(`--randomise-layers ${k}: the model has ${all.length} layers with parameters`);
    cuts = [];
    for (let c = every; c < k; c += every) cuts.push(c);
    cuts.push(k);
  }
  return cuts.map((c) => ({ name: all[c - 1]!, layers: all.slice(0, c) }));
}

/**
 * A copy of `g` whose layers `layers` have every parameter tensor replaced by a seeded permutation
 * of its own values; the other params are the same objects. The seed of a tensor depends on `seed`
 * and its name only, so a layer gets the same random values at every step of a cascade.
 */
export function randomisedGraph(g: Graph, layers: readonly string[], seed = 0): Graph {
  const params = new Map(g.params);
  const want = new Set(layers);
  for (const n of g.nodes) {
    if (!want.has(n.name)) continue;
    for (const name of nodeParams(n)) {
      const p = g.params.get(name);
      if (!p) continue;
      let h = seed >>> 0;
      for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
      const rand = mulberry32(h ^ 0x9e3779b9);
      const data = Float32Array.from(p.data);
      for (let i = data.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        const t = data[i]!;
        data[i] = data[j]!;
        data[j] = t;
      }
      params.set(name, { dims: p.dims, data } satisfies Param);
    }
  }
  return { ...g, params };
}
