// Style transfer by inversion (survey §7.3; Gatys, Ecker & Bethge 2016): an image x whose features
// at one layer match a photo p's (content) and whose feature correlations at several layers match a
// painting a's (style):
//   L_content = ½ Σ (F_l(x) − F_l(p))²                         at the content layer l
//   E_l       = 1/(4 N_l² M_l²) Σ_ij (G_l(x) − G_l(a))²_ij      G_l = F_l F_lᵀ (N_l channels × M_l positions)
//   L_style   = Σ_l w_l E_l                                     w_l = 1/(number of style layers)
//   L         = α L_content + β L_style, minimised over the pixels with Adam, kept in the valid range.
// Each iteration is one recording forward pass up to the deepest chosen layer and ONE reverse pass
// seeded at every chosen layer at once (Reverser.runSeeds: the walk adds each layer's seed to the
// signal arriving from later layers), whose signal at the input is ∂L/∂x.
// The seeds are computed on the host, in float64: ∂L_content/∂F = α (F − P) and
//   ∂E_l/∂F_l = 1/(N_l² M_l²) (G_l − A_l) F_l.
// Why there: the losses must be read back every iteration anyway (the log, the monotonicity the
// spec checks), so F_l comes back to the host at no extra pass; the Gram matrices are small
// (N_l² ≤ 512² values) and G and (G − A)F cost 2 N_l² M_l multiply-adds a layer: measured for
// SqueezeNet at 227×227 with style layers conv1, fire2–4 (≈ 0.85 G multiply-adds), 0.7 s of the
// ≈ 6 s an iteration takes on lavapipe (2 shared cores), the rest the forward and reverse passes;
// and float64 keeps G − A exact where float32 would cancel (G and A agree to many digits late in a
// run). On a real GPU, where the passes take milliseconds, a WGSL Gram kernel (the features stay
// on the device, only the losses come back) is the step to take.
// Returns tensors, never files.
import type { Model } from '../engine/runner.ts';
import type { Graph, Preprocess } from '../engine/ir.ts';
import { Reverser } from '../engine/reverse.ts';
import { ArgumentError, ShapeError, throwIfCancelled } from '../engine/errors.ts';
import { GraphFacts } from '../engine/plan.ts';
import { prng } from './optimize.ts';

export interface StyleOptions {
  contentLayer: string;
  styleLayers: string[];
  /** weight of the content loss */
  alpha: number;
  /** weight of the style loss */
  beta: number;
  iterations: number;
  /** Adam's step, in the network's input units */
  lr: number;
  seed: number;
  /** the starting image: the content photo (default), or seeded uniform noise over the valid range (Gatys et al.'s choice) */
  init?: 'content' | 'noise';
  preprocess: Preprocess & { channels: number };
  signal?: AbortSignal;
  /** after every iteration: the losses of the image the iteration started from */
  onStep?: (iteration: number, total: number, losses: StyleLosses) => void;
}

export interface StyleLosses {
  content: number;
  style: number;
  /** α·content + β·style */
  total: number;
  /** E_l per style layer (unweighted) */
  layers: number[];
}

export interface StyleResult {
  /** the result, C×H×W in network units */
  image: Float32Array;
  /** the losses of the image before iteration 1, 2, …, and of the result (iterations + 1 rows) */
  log: ({ iteration: number } & StyleLosses)[];
  contentLayer: string;
  styleLayers: string[];
  seconds: number;
}

/** G = F Fᵀ of F (N×M, row-major), in float64 (symmetric; each entry computed once). */
export function gram(f: ArrayLike<number>, n: number, m: number): Float64Array {
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0, a = i * m, b = j * m; k < m; k++) s += f[a + k]! * f[b + k]!;
      g[i * n + j] = g[j * n + i] = s;
    }
  return g;
}

/**
 * Gatys et al.'s style loss of one layer, E = 1/(4 N² M²) Σ (G − A)², and its gradient with respect
 * to F, 1/(N² M²) (G − A) F (G − A is symmetric), in float64.
 */
export function gramLoss(f: ArrayLike<number>, a: Float64Array, n: number, m: number): { loss: number; grad: Float64Array } {
  const g = gram(f, n, m);
  let loss = 0;
  for (let i = 0; i < n * n; i++) {
    g[i] = g[i]! - a[i]!;
    loss += g[i]! * g[i]!;
  }
  const k = 1 / (n * n * m * m);
  const grad = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const row = grad.subarray(i * m, (i + 1) * m);
    for (let j = 0; j < n; j++) {
      const d = g[i * n + j]! * k;
      if (d === 0) continue;
      for (let q = 0, b = j * m; q < m; q++) row[q]! += d * f[b + q]!;
    }
  }
  return { loss: (loss * k) / 4, grad };
}

/**
 * The graph cut after the chosen layers (nothing after the deepest runs; their shapes alone must
 * follow from the input), optionally at another input size: convolutional layers accept any size
 * their kernels fit, so a smaller image costs proportionally less. SqueezeNet's layers up to
 * fire9 run at any size from about 64 pixels.
 */
export function styleGraph(g: Graph, layers: string[], size?: [number, number]): Graph {
  const facts = new GraphFacts(g);
  const values = layers.map((l) => {
    if (g.nodes.some((n) => n.outputs.includes(l))) return l;
    const n = g.nodes.find((x) => x.name === l);
    if (!n) throw new ArgumentError(`no layer named "${l}"; layers are: ${g.nodes.map((x) => x.name).join(', ')}`);
    return n.outputs[0]!;
  });
  const keep = new Set(facts.needed(values));
  const [, c, h, w] = g.input.shape;
  if (c === undefined || h === undefined || w === undefined) throw new ShapeError(`style transfer needs an image input (N×C×H×W); the model takes [${g.input.shape.join(', ')}]`);
  return {
    ...g,
    name: `${g.name} up to ${layers.join(', ')}`,
    input: { name: g.input.name, shape: [-1, c, size?.[0] ?? h, size?.[1] ?? w] },
    outputs: values,
    nodes: g.nodes.filter((_, i) => keep.has(i)),
    preprocess: g.preprocess && { ...g.preprocess, ...(size ? { size } : {}) },
  };
}

export function checkStyleOptions(o: StyleOptions): void {
  if (!o.contentLayer) throw new ArgumentError('style: --content-layer is required');
  if (o.styleLayers.length === 0) throw new ArgumentError('style: --style-layers needs at least one layer');
  for (const [k, v] of [['alpha', o.alpha], ['beta', o.beta]] as const)
    if (!Number.isFinite(v) || v < 0) throw new ArgumentError(`style: --${k} must be a non-negative number, got ${v}`);
  if (o.alpha === 0 && o.beta === 0) throw new ArgumentError('style: --alpha and --beta are both 0: nothing to minimise');
  if (!Number.isInteger(o.iterations) || o.iterations < 1 || o.iterations > 100000) throw new ArgumentError(`style: --iterations must be an integer in [1, 100000], got ${o.iterations}`);
  if (!(o.lr > 0) || !Number.isFinite(o.lr)) throw new ArgumentError(`style: --lr must be a positive number, got ${o.lr}`);
  if (o.init !== undefined && o.init !== 'content' && o.init !== 'noise') throw new ArgumentError(`style: --init must be content or noise, got ${o.init}`);
}

/**
 * The objective α L_content + β L_style of one content photo and one painting on `model`: the
 * targets (the photo's features at the content layer, the painting's Gram matrices) computed once;
 * `gradient(x)` is one recording forward pass and one multi-seed reverse pass.
 */
export class StyleObjective {
  private readonly rev: Reverser;
  private readonly wl: number;
  private constructor(
    readonly model: Model,
    readonly o: Pick<StyleOptions, 'alpha' | 'beta'>,
    readonly contentLayer: string,
    readonly styleLayers: string[],
    private readonly P: Float32Array,
    private readonly A: Float64Array[],
    private readonly dims: { n: number; m: number }[],
  ) {
    this.rev = new Reverser(model);
    this.wl = 1 / styleLayers.length;
  }

  static async create(model: Model, content: Float32Array, style: Float32Array, o: Pick<StyleOptions, 'alpha' | 'beta' | 'contentLayer' | 'styleLayers'>): Promise<StyleObjective> {
    const [, c, h, w] = model.graph.input.shape as [number, number, number, number];
    if (c === undefined || h === undefined || w === undefined) throw new ShapeError(`style transfer needs an image input (N×C×H×W); the model takes [${model.graph.input.shape.join(', ')}]`);
    const per = c * h * w;
    if (content.length !== per) throw new ShapeError(`style: the content image has ${content.length} values, the model takes ${c}×${h}×${w}`);
    if (style.length !== per) throw new ShapeError(`style: the style image has ${style.length} values, the model takes ${c}×${h}×${w}`);
    const cl = model.resolve(o.contentLayer);
    const sl = [...new Set(o.styleLayers.map((l) => model.resolve(l)))];
    const P = (await model.run(content, 1, { outputs: [cl] })).get(cl)!.data;
    const sr = await model.run(style, 1, { outputs: sl });
    const dims = sl.map((l) => {
      const s = sr.get(l)!.shape;
      if (s.length !== 4) throw new ShapeError(`style layer ${l} is [${s.join('×')}], not a feature map (N×C×H×W): a Gram matrix needs channels and positions`);
      return { n: s[1]!, m: s[2]! * s[3]! };
    });
    const A = sl.map((l, i) => gram(sr.get(l)!.data, dims[i]!.n, dims[i]!.m));
    return new StyleObjective(model, o, cl, sl, P, A, dims);
  }

  /** The losses of the features `read` gives; with `seeds`, each layer's seed ∂L/∂F_l is pushed onto it. */
  losses(read: (v: string) => Float32Array, seeds?: [string, Float32Array][]): StyleLosses {
    const { alpha, beta } = this.o;
    const F = read(this.contentLayer);
    let content = 0;
    const dc = seeds && alpha > 0 ? new Float32Array(F.length) : undefined;
    for (let i = 0; i < F.length; i++) {
      const d = F[i]! - this.P[i]!;
      content += d * d;
      if (dc) dc[i] = alpha * d;
    }
    content /= 2;
    const layers: number[] = [];
    if (seeds && dc) seeds.push([this.contentLayer, dc]);
    this.styleLayers.forEach((l, i) => {
      const { n, m } = this.dims[i]!;
      const r = gramLoss(read(l), this.A[i]!, n, m);
      layers.push(r.loss);
      if (seeds && beta > 0) seeds.push([l, Float32Array.from(r.grad, (v) => beta * this.wl * v)]);
    });
    const style = layers.reduce((s, v) => s + this.wl * v, 0);
    return { content, style, total: alpha * content + beta * style, layers };
  }

  private get all(): string[] {
    return [...new Set([this.contentLayer, ...this.styleLayers])];
  }

  /** The losses at `x` (one image, network units) and their gradient with respect to x. */
  async gradient(x: Float32Array): Promise<{ losses: StyleLosses; grad: Float32Array }> {
    const all = this.all;
    const rec = await this.model.record(x, 1, all, all);
    try {
      const seeds: [string, Float32Array][] = [];
      const losses = this.losses((v) => rec.read.get(v)!.data, seeds);
      const input = this.model.graph.input.name;
      const grad = (await this.rev.runSeeds(rec, seeds, [input], 'gradient')).get(input)!.data;
      return { losses, grad };
    } finally {
      rec.dispose();
    }
  }

  /** The losses at `x`, from a plain forward pass. */
  async evaluate(x: Float32Array): Promise<StyleLosses> {
    const r = await this.model.run(x, 1, { outputs: this.all });
    return this.losses((v) => r.get(v)!.data);
  }
}

/** Style transfer of `content` (C×H×W, network units) to the style of `style` (same shape). */
export async function styleTransfer(model: Model, content: Float32Array, style: Float32Array, o: StyleOptions): Promise<StyleResult> {
  checkStyleOptions(o);
  const t0 = performance.now();
  const [, c, h, w] = model.graph.input.shape as [number, number, number, number];
  const per = c * h * w, hw = h * w;
  const obj = await StyleObjective.create(model, content, style, o);
  const pp = o.preprocess;
  const scale = pp.scale ?? 1;
  const mean = (k: number) => (pp.mean ? (pp.mean.length === 1 ? pp.mean[0]! : pp.mean[k] ?? 0) : 0);
  // each channel's valid range: pixels 0..255 through the preprocessing
  const lo = Array.from({ length: c }, (_, k) => Math.min((0 - mean(k)) * scale, (255 - mean(k)) * scale));
  const hi = Array.from({ length: c }, (_, k) => Math.max((0 - mean(k)) * scale, (255 - mean(k)) * scale));
  const x = new Float32Array(per);
  if (o.init === 'noise') {
    const r = prng(o.seed);
    for (let i = 0; i < per; i++) {
      const ch = Math.floor(i / hw);
      x[i] = lo[ch]! + (hi[ch]! - lo[ch]!) * r.next();
    }
  } else x.set(content);
  const m1 = new Float64Array(per), m2 = new Float64Array(per);
  const [b1, b2, epsAdam] = [0.9, 0.999, 1e-8];
  const log: StyleResult['log'] = [];
  for (let t = 1; t <= o.iterations; t++) {
    throwIfCancelled(o.signal, 'style transfer');
    const { losses, grad: g } = await obj.gradient(x);
    log.push({ iteration: t - 1, ...losses });
    // Adam (Kingma & Ba), bias-corrected, then back into the valid pixel range
    const c1 = 1 - b1 ** t, c2 = 1 - b2 ** t;
    for (let i = 0; i < per; i++) {
      const gi = g[i]!;
      m1[i] = b1 * m1[i]! + (1 - b1) * gi;
      m2[i] = b2 * m2[i]! + (1 - b2) * gi * gi;
      const ch = Math.floor(i / hw);
      const v = x[i]! - (o.lr * (m1[i]! / c1)) / (Math.sqrt(m2[i]! / c2) + epsAdam);
      x[i] = Math.min(hi[ch]!, Math.max(lo[ch]!, v));
    }
    o.onStep?.(t, o.iterations, losses);
  }
  log.push({ iteration: o.iterations, ...(await obj.evaluate(x)) });
  return { image: x, log, contentLayer: obj.contentLayer, styleLayers: obj.styleLayers, seconds: (performance.now() - t0) / 1000 };
}
