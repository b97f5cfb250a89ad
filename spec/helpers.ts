// Shared test helpers: one lazily created engine for the whole suite, a seeded PRNG, a small
// graph builder, and checkGraph / checkOp, which run a Graph on the GPU through Model and on the
// CPU reference (spec/reference.ts) and compare (in the spirit of tinygrad's helper_test_op).

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';
import { createNodeEngine } from '../cli/gpu-node.ts';
import type { Engine } from '../engine/gpu.ts';
import type { Graph, Node, Param } from '../engine/ir.ts';
import { Model, type Tensor } from '../engine/runner.ts';
import { Reverser } from '../engine/reverse.ts';
import { numel } from '../engine/shapes.ts';
import { runGraphReference, type RefTensor } from './reference.ts';

// ---- engine -------------------------------------------------------------------------------

let enginePromise: Promise<Engine> | undefined;

/** The one engine the whole suite shares (created on first use). */
export function getEngine(): Promise<Engine> {
  return (enginePromise ??= createNodeEngine());
}

/** Destroys the shared engine's device (so the process can exit); the next getEngine makes a new one. */
export async function closeEngine(): Promise<void> {
  if (!enginePromise) return;
  const e = await enginePromise;
  enginePromise = undefined;
  e.trimPool();
  e.device.destroy();
}

// ---- randomness ---------------------------------------------------------------------------

export interface Rng {
  /** uniform in [0, 1) */
  next(): number;
  uniform(lo: number, hi: number): number;
  /** integer in [lo, hi] */
  int(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
  bool(p?: number): boolean;
  /** n values uniform in [lo, hi); with `levels`, quantised to that many distinct values (so ties happen). */
  array(n: number, lo?: number, hi?: number, levels?: number): Float32Array;
}

/** mulberry32: a small, fast seeded PRNG. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const r: Rng = {
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)]!,
    bool: (p = 0.5) => next() < p,
    array: (n, lo = -1, hi = 1, levels) => {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        out[i] = levels ? lo + ((hi - lo) * Math.floor(next() * levels)) / Math.max(1, levels - 1) : lo + (hi - lo) * next();
      }
      return out;
    },
  };
  return r;
}

/** Sizes that divide none of 4/8/16/64. */
export const ODD_SIZES = [1, 3, 5, 7, 9, 11, 13, 17] as const;

// ---- graph building -----------------------------------------------------------------------

type NodeOf<K extends Node['op']> = Extract<Node, { op: K }>;

/** Builds small graphs: `b.node('relu', [x], {})` returns the new value name. */
export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly params = new Map<string, Param>();
  private count = 0;
  constructor(
    readonly inputShape: number[],
    readonly inputName = 'x',
  ) {}

  /** A parameter with the given dims and data (random in [-1, 1) from `r` when `data` is a Rng). */
  param(dims: number[], data: Float32Array | Rng, name = `p${this.params.size}`): string {
    const d = data instanceof Float32Array ? data : data.array(numel(dims));
    if (d.length !== numel(dims)) throw new Error(`param ${name}: ${d.length} values for [${dims.join(', ')}]`);
    this.params.set(name, { dims, data: d });
    return name;
  }

  node<K extends Node['op']>(op: K, inputs: string[], attrs: NodeOf<K>['attrs'], name?: string): string {
    const n = name ?? `${op}${this.count++}`;
    this.nodes.push({ name: n, op, inputs, outputs: [n], attrs } as Node);
    return n;
  }

  build(outputs: string[], name = 'test'): Graph {
    return { name, format: 'onnx', input: { name: this.inputName, shape: [-1, ...this.inputShape.slice(1)] }, outputs, nodes: this.nodes, params: this.params };
  }
}

// ---- comparison ---------------------------------------------------------------------------

export interface Tolerance {
  atol?: number;
  rtol?: number;
}

const fmtShape = (s: number[]) => `[${s.join('×')}]`;

function unflat(i: number, shape: number[]): number[] {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(i % shape[d]!);
    i = Math.floor(i / shape[d]!);
  }
  return idx;
}

/** Throws unless max |got − want| ≤ atol + rtol·max|want| (and the shapes agree). */
export function assertClose(got: { shape: number[]; data: ArrayLike<number> }, want: RefTensor, tol: Tolerance, what: string): void {
  const atol = tol.atol ?? 1e-5;
  const rtol = tol.rtol ?? 1e-5;
  if (got.shape.length !== want.shape.length || got.shape.some((d, i) => d !== want.shape[i]))
    throw new Error(`${what}: GPU shape ${fmtShape(got.shape)} ≠ reference ${fmtShape(want.shape)}`);
  if (got.data.length !== want.data.length) throw new Error(`${what}: GPU has ${got.data.length} values, reference ${want.data.length}`);
  let maxRef = 0;
  for (const v of want.data) maxRef = Math.max(maxRef, Math.abs(v));
  let worst = -1;
  let worstErr = 0;
  let bad = 0;
  const limit = atol + rtol * maxRef;
  for (let i = 0; i < want.data.length; i++) {
    const g = got.data[i]!;
    const err = Number.isNaN(g) || Number.isNaN(want.data[i]!) ? Infinity : Math.abs(g - want.data[i]!);
    if (err > limit) bad++;
    if (err > worstErr || worst < 0) {
      worstErr = err;
      worst = i;
    }
  }
  if (worstErr > limit) {
    const idx = unflat(worst, want.shape);
    throw new Error(
      `${what}: max |gpu − ref| = ${worstErr.toExponential(3)} > ${limit.toExponential(3)} (atol ${atol}, rtol ${rtol}, max|ref| ${maxRef.toPrecision(4)}); ` +
        `${bad} of ${want.data.length} values off; worst at [${idx.join(', ')}] (flat ${worst}): gpu ${got.data[worst]} vs ref ${want.data[worst]}`,
    );
  }
}

function describeGraph(g: Graph, batch: number): string {
  return g.nodes.map((n) => `${n.name}=${n.op}(${n.inputs.join(',')}) ${JSON.stringify(n.attrs)}`).join('; ') + ` | input ${fmtShape([batch, ...g.input.shape.slice(1)])}`;
}

export interface CheckOptions extends Tolerance {
  /** values to request and compare (default: the graph's outputs) */
  outputs?: string[];
  /** reuse this model (otherwise one is made and destroyed) */
  model?: Model;
  /** label for failure messages */
  label?: string;
}

/**
 * Runs `graph` on `input` (batch `batch`) on the GPU through Model and on the CPU reference and
 * asserts every requested output agrees. Returns the GPU results.
 */
export async function checkGraph(graph: Graph, input: Float32Array, batch: number, opts: CheckOptions = {}): Promise<Map<string, Tensor>> {
  const engine = await getEngine();
  const outputs = opts.outputs ?? graph.outputs;
  const model = opts.model ?? new Model(engine, graph);
  try {
    const gpu = await model.run(input, batch, { outputs });
    const ref = runGraphReference(graph, input, batch, outputs);
    for (const o of outputs) {
      const value = model.resolve(o);
      const got = gpu.get(value);
      if (!got) throw new Error(`${opts.label ?? graph.name}: Model.run returned no "${value}"`);
      assertClose(got, ref.get(o)!, opts, `${opts.label ?? graph.name}: output "${o}" of ${describeGraph(graph, batch)}`);
    }
    return gpu;
  } finally {
    if (!opts.model) model.destroy();
  }
}

export interface OpCase<K extends Node['op']> extends Tolerance {
  op: K;
  attrs: NodeOf<K>['attrs'] | ((b: GraphBuilder) => NodeOf<K>['attrs']);
  /** input shape including the batch */
  shape: number[];
  seed?: number;
  /** input values: range [lo, hi) and optional quantisation levels */
  lo?: number;
  hi?: number;
  levels?: number;
  input?: Float32Array;
}

/** One-node graph: x → op → y, random input from `seed`; checks GPU against the reference. */
export async function checkOp<K extends Node['op']>(c: OpCase<K>): Promise<Map<string, Tensor>> {
  const r = rng(c.seed ?? 1);
  const b = new GraphBuilder(c.shape);
  const attrs = typeof c.attrs === 'function' ? c.attrs(b) : c.attrs;
  const y = b.node(c.op, ['x'], attrs, 'y');
  const x = c.input ?? r.array(numel(c.shape), c.lo ?? -1, c.hi ?? 1, c.levels);
  return checkGraph(b.build([y], c.op), x, c.shape[0]!, { atol: c.atol, rtol: c.rtol, label: c.op });
}

/** The error `p` rejects with (fails when it resolves). */
export async function rejection(p: () => Promise<unknown>): Promise<Error> {
  try {
    await p();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

// ---- the loupe command ---------------------------------------------------------------------

/** What a run of `bin/loupe.js` gave: exit code, stdout, stderr (its non-empty lines, and joined), time. */
export interface LoupeRun {
  code: number | null;
  out: string;
  err: string;
  lines: string[];
  ms: number;
}

/** Runs `bin/loupe.js ARGS` as a user would (the built package), with `env` added to this process's. */
export function runLoupe(args: string[], env: Record<string, string> = {}): LoupeRun {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'bin/loupe.js'), ...args], {
    encoding: 'utf8', timeout: 300_000, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp', ...env },
  });
  const lines = r.stderr.split('\n').filter((l) => l);
  return { code: r.status, out: r.stdout, err: lines.join('\n'), lines, ms: performance.now() - t0 };
}

/** Bad input: exit `code`, exactly one line on stderr, `loupe: ` and matching `mention`; nothing on stdout, no stack, no Dawn text. */
export function expectOneLine(r: LoupeRun, mention: RegExp, code = 1): void {
  expect(r.code, r.err).to.equal(code);
  expect(r.lines, r.err).to.have.length(1);
  expect(r.lines[0]).to.match(/^loupe: /);
  expect(r.lines[0]).to.match(mention);
  expect(r.err).not.to.match(/\n\s+at |internal error|Dawn|BindGroup|[Vv]alidation/);
  expect(r.out).to.equal('');
}

/** max |a − b| / max |b| (the lengths must agree) */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).to.equal(b.length);
  let err = 0, top = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    top = Math.max(top, Math.abs(b[i]!));
  }
  return err / Math.max(top, 1e-30);
}

/**
 * The feature-space loss (Dosovitskiy & Brox 2016, "perceptual similarity"): λ·‖φ(ŷ) − φ(x)‖² /
 * ‖φ(x)‖² per image, averaged over the batch, with φ the classifier up to `layer` (whose features
 * of the true image are the decoder's input `h`). Its gradient with respect to ŷ comes from one
 * reverse walk of the classifier (seeded at `layer` with 2λ(φ(ŷ) − h)/(‖h‖²·N)) and is added to
 * `grad`. Returns the loss term. From a read-back output: the reference of the Trainer's composition of
 * the same loss into its graph (engine/train.ts, FeatureLoss), and the decoders' loss before it.
 */
export async function featureLoss(classifier: Model, layer: string, out: Float32Array, h: Float32Array, n: number, lambda: number, grad: Float32Array): Promise<number> {
  const value = classifier.resolve(layer);
  const rec = await classifier.record(out, n, [value]);
  try {
    const phi = rec.read.get(value)!.data;
    const F = phi.length / n;
    const seed = new Float32Array(phi.length);
    let loss = 0;
    for (let b = 0; b < n; b++) {
      let n2 = 0, d2 = 0;
      for (let i = b * F; i < (b + 1) * F; i++) n2 += h[i]! * h[i]!;
      n2 = Math.max(n2, 1e-12);
      for (let i = b * F; i < (b + 1) * F; i++) {
        const d = phi[i]! - h[i]!;
        d2 += d * d;
        seed[i] = (2 * lambda * d) / (n2 * n);
      }
      loss += (lambda * d2) / n2 / n;
    }
    const dx = (await new Reverser(classifier).run(rec, value, seed, [classifier.graph.input.name], 'gradient')).get(classifier.resolve(classifier.graph.input.name))!.data;
    for (let i = 0; i < grad.length; i++) grad[i] = grad[i]! + dx[i]!;
    return loss;
  } finally {
    rec.dispose();
  }
}
