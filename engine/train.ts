// Training on the engine's own kernels: LeNet with ReLU (Molchanov et al.'s variant) and a Trainer
// that runs mini-batch steps entirely on the GPU: a recording forward pass (Model.record) through
// the network and its loss, which is an op of the op table (engine/ops/loss.ts: softmax
// cross-entropy against labels, or the mean squared error against target images) appended to the
// Trainer's own copy of the graph, its labels or targets written into the loss's target parameter
// with queue.writeBuffer; then one submit of the same reverse walk every explainer uses
// (engine/reverse.ts), started at the loss with a seed of 1/N per image (the gradient of the batch
// mean), with parameter gradients on (the op table's `paramGrads`), the optimiser
// (kernels/adam.wgsl: Adam or SGD with momentum) updating the Model's own parameter buffers in
// place, and the rebuild of every weight re-layout derived from them (Model.refreshDerived). A step
// reads back the N losses (and the logits, for the count of right answers). The decoders'
// feature-space loss is a composition in the same graph: the classifier's layers after the
// decoder's output, their parameters frozen, and an mse against the code, each image's 1/‖h‖² in
// the seed. A loss computed on the CPU from the read-back output (`LossFn`) remains possible.
// Every dispatch of a step is built once and reused: the walk lives with the recording's plan, and
// per-step values (learning rate, Adam's bias corrections) go into a small storage buffer written
// with queue.writeBuffer.

import type { Dispatch, Engine } from './gpu.ts';
import { nodeParams, type Graph, type Node, type Param } from './ir.ts';
import { Model, type Recording } from './runner.ts';
import { walkOf, type Walk } from './reverse.ts';
import { inferShapes, numel } from './shapes.ts';
import { ArgumentError, UnsupportedOpError } from './errors.ts';
import * as TK from '../kernels/train.ts';

// ---- randomness --------------------------------------------------------------------------------

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** In-place Fisher–Yates shuffle with `rand`. */
export function shuffle<T extends { length: number; [i: number]: number }>(a: T, rand: () => number): T {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

// ---- the network -------------------------------------------------------------------------------

/**
 * LeNet with ReLU as in Molchanov et al. ("Variational Dropout Sparsifies DNNs"): input 1×28×28
 * (pixels / 255), conv 5×5 20 → ReLU → max-pool 2×2/2 → conv 5×5 50 → ReLU → max-pool 2×2/2 →
 * flatten (800) → fc 500 → ReLU → fc 10 ('logits'). Weights He/Kaiming uniform
 * (±sqrt(6 / fan_in)) from mulberry32(seed), biases zero.
 */
export function lenetReluGraph(seed = 1): Graph {
  const rand = mulberry32(seed);
  const params = new Map<string, Param>();
  const he = (name: string, dims: number[], fanIn: number) => {
    const bound = Math.sqrt(6 / fanIn);
    const data = new Float32Array(numel(dims));
    for (let i = 0; i < data.length; i++) data[i] = (2 * rand() - 1) * bound;
    params.set(name, { dims, data });
  };
  const zeros = (name: string, n: number) => params.set(name, { dims: [n], data: new Float32Array(n) });
  he('conv1.weight', [20, 1, 5, 5], 25);
  zeros('conv1.bias', 20);
  he('conv2.weight', [50, 20, 5, 5], 500);
  zeros('conv2.bias', 50);
  he('fc1.weight', [500, 800], 800);
  zeros('fc1.bias', 500);
  he('fc2.weight', [10, 500], 500);
  zeros('fc2.bias', 10);
  const conv = (name: string, input: string): Node => ({
    name, op: 'conv', inputs: [input], outputs: [name],
    attrs: { kernel: [5, 5], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], group: 1, weight: `${name}.weight`, bias: `${name}.bias` },
  });
  const pool = (name: string, input: string): Node => ({
    name, op: 'maxpool', inputs: [input], outputs: [name], attrs: { kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0], ceil: false },
  });
  const relu = (name: string, input: string): Node => ({ name, op: 'relu', inputs: [input], outputs: [name], attrs: {} });
  const fc = (name: string, input: string, out: number, value = name): Node => ({
    name, op: 'fc', inputs: [input], outputs: [value], attrs: { weight: `${name}.weight`, bias: `${name}.bias`, outFeatures: out },
  });
  const nodes: Node[] = [
    conv('conv1', 'input'), relu('relu1', 'conv1'), pool('pool1', 'relu1'),
    conv('conv2', 'pool1'), relu('relu2', 'conv2'), pool('pool2', 'relu2'),
    { name: 'flatten', op: 'flatten', inputs: ['pool2'], outputs: ['flatten'], attrs: { axis: 1 } },
    fc('fc1', 'flatten', 500), relu('relu3', 'fc1'), fc('fc2', 'relu3', 10, 'logits'),
  ];
  return { name: 'lenet-relu-mnist', format: 'onnx', input: { name: 'input', shape: [-1, 1, 28, 28] }, outputs: ['logits'], nodes, params, preprocess: { scale: 1 / 255, grayscale: true } };
}

// ---- the training form of a graph -------------------------------------------------------------

/**
 * The graph the Trainer runs: every fc becomes a 1×1 conv over its input reshaped to
 * [N, in, 1, 1] (same weights and memory layout: W [out, in] is W [out, in, 1, 1]), so that the
 * forward pass, the weight gradient and the input gradient all run on the conv GEMM kernels.
 * Parameters share their data arrays with `g`.
 */
export function convForm(g: Graph): Graph {
  const shapes = inferShapes(g, 1);
  const params = new Map<string, Param>();
  for (const [k, p] of g.params) params.set(k, { dims: p.dims, data: p.data });
  const nodes: Node[] = [];
  for (const n of g.nodes) {
    if (n.op !== 'fc') {
      nodes.push(n);
      continue;
    }
    const inF = numel(shapes.get(n.inputs[0]!)!.slice(1));
    const w = params.get(n.attrs.weight)!;
    params.set(n.attrs.weight, { dims: [n.attrs.outFeatures, inF, 1, 1], data: w.data });
    const flat = `${n.name}:input1x1`;
    nodes.push({ name: flat, op: 'reshape', inputs: [n.inputs[0]!], outputs: [flat], attrs: { shape: [0, inF, 1, 1] } });
    nodes.push({
      name: n.name, op: 'conv', inputs: [flat], outputs: n.outputs,
      attrs: { kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], group: 1, weight: n.attrs.weight, bias: n.attrs.bias },
    });
  }
  return { ...g, nodes, params };
}

/**
 * `g` (the training form) with the loss ops on its output `out` appended (engine/ops/loss.ts), each
 * with a zeroed target parameter of room for `batch` images: softmax_cross_entropy when `out` is a
 * vector of class scores ([N, K] or [N, K, 1, 1]), mse always, and with `feature` (the value of a
 * classifier's layer composed after `out`, withClassifier) an mse of that value against the code.
 * The Trainer records only up to the losses a step uses.
 */
function withLosses(g: Graph, out: string, batch: number, feature?: string): Graph {
  const shapes = inferShapes(g, 1);
  const per = shapes.get(out)!.slice(1);
  for (const name of [XENT, MSE, FEATURE])
    if (g.nodes.some((n) => n.name === name || n.outputs.includes(name)) || [...g.params.keys()].some((p) => p.startsWith(`${name}.`)))
      throw new ArgumentError(`layer "${name}": the trainer's loss has this name; rename the graph's`);
  const nodes = [...g.nodes];
  const params = new Map(g.params);
  const loss = (name: string, op: 'softmax_cross_entropy' | 'mse', input: string, dims: number[]) => {
    const target = `${name}.target`;
    params.set(target, { dims, data: new Float32Array(numel(dims)) });
    nodes.push({ name, op, inputs: [input], outputs: [name], attrs: { target } });
  };
  if (per.length === 1 || (per.length === 3 && per[1] === 1 && per[2] === 1)) loss(XENT, 'softmax_cross_entropy', out, [batch]);
  loss(MSE, 'mse', out, [batch, ...per]);
  if (feature) loss(FEATURE, 'mse', feature, [batch, ...shapes.get(feature)!.slice(1)]);
  return { ...g, nodes, params };
}

/**
 * The decoder `g` followed by `f.classifier` up to `f.layer`, reading the decoder's output `out`
 * as its input image: the network of the feature-space loss φ(G(h)). The classifier's layers,
 * values and parameters are prefixed with `feature:` (its parameters are not trained: the Trainer
 * trains the decoder's own). Returns the graph and the value of φ.
 */
function withClassifier(g: Graph, out: string, f: FeatureLoss): { graph: Graph; value: string } {
  const c = f.classifier;
  const at = c.nodes.findIndex((n) => n.name === f.layer || n.outputs.includes(f.layer));
  if (at < 0) throw new ArgumentError(`the feature-space loss's layer "${f.layer}" is not a layer of ${c.name}`);
  if (!(Number.isFinite(f.weight) && f.weight >= 0)) throw new ArgumentError(`the feature-space loss's weight must be a finite number ≥ 0, got ${f.weight}`);
  const value = c.nodes[at]!.outputs.includes(f.layer) ? f.layer : c.nodes[at]!.outputs[0]!;
  const cs = inferShapes(c, 1), gs = inferShapes(g, 1);
  const perOf = (s: number[]) => numel(s.slice(1));
  if (perOf(cs.get(c.input.name)!) !== perOf(gs.get(out)!))
    throw new ArgumentError(`the feature-space loss: ${c.name} takes [${cs.get(c.input.name)!.slice(1).join(', ')}] per image, the decoder makes [${gs.get(out)!.slice(1).join(', ')}]`);
  if (perOf(cs.get(value)!) !== perOf(gs.get(g.input.name)!))
    throw new ArgumentError(`the feature-space loss: ${c.name}'s ${f.layer} is [${cs.get(value)!.slice(1).join(', ')}] per image, the decoder's input [${gs.get(g.input.name)!.slice(1).join(', ')}]`);
  const pre = (v: string) => (v === c.input.name ? out : `feature:${v}`);
  const params = new Map(g.params);
  const nodes = [...g.nodes];
  for (const n of c.nodes.slice(0, at + 1)) {
    if (!TRAINABLE_OPS.includes(n.op)) throw new UnsupportedOpError(`layer "${n.name}" (${n.op}) of ${c.name}: the feature-space loss runs ${TRAINABLE_OPS.join(', ')}`);
    const attrs = { ...n.attrs } as Record<string, unknown>;
    for (const p of nodeParams(n)) {
      const k = Object.keys(attrs).find((key) => attrs[key] === p)!;
      attrs[k] = `feature:${p}`;
      params.set(`feature:${p}`, c.params.get(p)!);
    }
    nodes.push({ ...n, name: `feature:${n.name}`, inputs: n.inputs.map(pre), outputs: n.outputs.map(pre), attrs } as Node);
  }
  return { graph: { ...g, nodes, params }, value: pre(value) };
}

/** Rows of `logits` [n, k] whose first arg-max is the label. */
function countCorrect(logits: Float32Array, labels: ArrayLike<number>, k: number): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (logits[i * k + c]! > logits[i * k + best]!) best = c;
    if (best === labels[i]) correct++;
  }
  return correct;
}

// ---- the trainer -------------------------------------------------------------------------------

export interface TrainerOptions {
  /** Mini-batch size (every step uses exactly this many images). */
  batch: number;
  optimizer?: 'adam' | 'sgd';
  /** Base learning rate (a step may override it). Default 1e-3 (Adam), 0.01 (SGD). */
  lr?: number;
  beta1?: number; // Adam, default 0.9
  beta2?: number; // Adam, default 0.999
  eps?: number; // Adam, default 1e-8
  momentum?: number; // SGD, default 0.9
  /** a decoder's feature-space loss, added to every `{ mse }` step */
  feature?: FeatureLoss;
}

export interface StepResult {
  loss: number; // mean loss of the batch (before the update): cross-entropy, or the mse (plus the feature-space term), or the loss function's
  correct: number; // images of the batch classified right (before the update); 0 for any other loss
}

/**
 * A loss on the graph's output computed on the CPU: from the read-back output (batch first) it
 * returns the batch's loss and writes dL/doutput into `grad` (same length, zeros on entry). It may
 * run GPU work of its own. (The Trainer's own losses are ops; this is for any other.)
 */
export type LossFn = (out: Float32Array, grad: Float32Array) => number | Promise<number>;

/**
 * What a step minimises:
 *  - labels (one class index per image): softmax cross-entropy, the softmax_cross_entropy op;
 *  - `{ mse: target }` (batch × the output's values): the mse op (the decoders' pixel loss), plus
 *    the feature-space term when the Trainer has one (TrainerOptions.feature);
 *  - a LossFn: the whole loss on the CPU, the walk starting at the output (no loss op).
 */
export type Objective = ArrayLike<number> | LossFn | { mse: Float32Array };

/**
 * The decoders' feature-space loss (Dosovitskiy & Brox 2016), λ‖φ(ŷ) − h‖² / ‖h‖² per image
 * averaged over the batch, with φ `classifier` up to `layer` and h the decoder's input (the code):
 * composed into the Trainer's graph (the classifier's layers after the decoder's output, its
 * parameters frozen, an mse against the code), each image's 1/‖h‖² in the walk's seed.
 */
export interface FeatureLoss {
  classifier: Graph;
  layer: string;
  /** λ */
  weight: number;
}

/** Names of the loss nodes in the Trainer's graph (their target parameters: NAME.target). */
const XENT = 'loss:softmax_cross_entropy', MSE = 'loss:mse', FEATURE = 'loss:feature';

/** The ops the trainer runs (each with a reverse rule and, if it has parameters, `paramGrads`). */
export const TRAINABLE_OPS = ['conv', 'convtranspose', 'relu', 'leakyrelu', 'maxpool', 'flatten', 'reshape', 'fc'];

/**
 * Trains a graph of conv / transposed conv / relu / leaky relu / maxpool / flatten / reshape / fc
 * nodes (a chain ending in one output) with softmax cross-entropy (`step`), or with another
 * Objective (`stepLoss`: the decoders' pixel loss, alone or with the feature-space term). Its
 * Model runs the graph in training form (convForm) with the loss ops appended: a
 * softmax_cross_entropy node when the output is a vector of class scores, an mse node, and with a
 * FeatureLoss the classifier and the feature-space mse. The parameters are the Model's own GPU buffers, updated in place; call
 * `syncParams` to copy them back into `graph.params` (e.g. before exporting).
 */
export class Trainer {
  readonly model: Model;
  readonly engine: Engine;
  readonly batch: number;
  readonly optimizer: 'adam' | 'sgd';
  readonly lr: number;
  private beta1: number;
  private beta2: number;
  private eps: number;
  private momentum: number;
  /** Optimiser steps taken (Adam's t). */
  t = 0;
  private logits: string;
  private classes: number;
  private trainable: string[]; // parameter names in graph order
  private grads = new Map<string, GPUBuffer>();
  private moments = new Map<string, GPUBuffer[]>();
  private updates: Dispatch[] | undefined;
  private hyper: GPUBuffer;
  private validated = false;
  private source: Graph;
  /** the loss nodes' output values (no cross-entropy when the output is not a vector of class scores) */
  private xent: string | undefined;
  private mse: string;
  /** λ of the feature-space loss, when the graph has one */
  private featureWeight: number | undefined;

  constructor(engine: Engine, graph: Graph, opts: TrainerOptions) {
    if (!Number.isInteger(opts.batch) || opts.batch < 1) throw new ArgumentError(`batch must be a positive integer, got ${opts.batch}`);
    this.engine = engine;
    this.batch = opts.batch;
    this.optimizer = opts.optimizer ?? 'adam';
    this.lr = opts.lr ?? (this.optimizer === 'adam' ? 1e-3 : 0.01);
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.momentum = opts.momentum ?? 0.9;
    if (graph.outputs.length !== 1) throw new ArgumentError(`training needs a graph with one output (the logits or the image), it has ${graph.outputs.length}`);
    this.logits = graph.outputs[0]!;
    for (const n of graph.nodes)
      if (!TRAINABLE_OPS.includes(n.op)) throw new UnsupportedOpError(`layer "${n.name}" (${n.op}): the trainer handles ${TRAINABLE_OPS.join(', ')}`);
    this.source = graph;
    const withF = opts.feature ? withClassifier(graph, this.logits, opts.feature) : undefined;
    this.featureWeight = opts.feature?.weight;
    this.model = new Model(engine, withLosses(convForm(withF?.graph ?? graph), this.logits, this.batch, withF?.value));
    const own = new Set(graph.nodes.map((n) => n.name));
    graph = this.model.graph;
    this.xent = graph.nodes.some((n) => n.name === XENT) ? XENT : undefined;
    this.mse = MSE;
    // the given graph's parameters (not a feature-space loss's classifier's)
    this.trainable = graph.nodes.flatMap((n) => (own.has(n.name) && (n.op === 'conv' || n.op === 'convtranspose' || n.op === 'fc') ? [n.attrs.weight, ...(n.attrs.bias ? [n.attrs.bias] : [])] : []));
    for (const p of this.trainable) {
      const bytes = graph.params.get(p)!.data.byteLength;
      this.grads.set(p, engine.createBuffer(bytes, `grad:${p}`));
      // Optimiser state, zero-initialised (WebGPU clears new buffers): m, and v for Adam.
      const state = [engine.createBuffer(bytes, `m:${p}`)];
      if (this.optimizer === 'adam') state.push(engine.createBuffer(bytes, `v:${p}`));
      this.moments.set(p, state);
    }
    this.hyper = engine.createBuffer(16, 'optimizer:hyper');
    const shapes = inferShapes(graph, 1);
    this.classes = numel(shapes.get(this.logits)!.slice(1));
  }

  /** The graph being trained (as given: its params are updated by `syncParams`). */
  get graph(): Graph {
    return this.source;
  }

  /** The optimiser's dispatches, one per parameter tensor; built once. */
  private updateDispatches(): Dispatch[] {
    if (this.updates) return this.updates;
    const m = this.model;
    return (this.updates = this.trainable.map((p) => {
      const total = m.graph.params.get(p)!.data.length;
      return this.engine.makeDispatch(TK.adam, {
        defines: this.optimizer === 'sgd' ? ['SGD'] : [], uniforms: { total },
        bindings: { hp: this.hyper, g: this.grads.get(p)!, p: m.paramBuffer(p), m: this.moments.get(p)![0]!, v: this.moments.get(p)![1] }, threads: total, label: `${this.optimizer}:${p}`,
      });
    }));
  }

  private check(x: Float32Array, labels?: ArrayLike<number>): void {
    const per = numel(this.graph.input.shape.slice(1));
    if (x.length !== per * this.batch) throw new ArgumentError(`a step takes ${this.batch} inputs (${per * this.batch} values), got ${x.length} values`);
    if (!labels) return;
    if (!this.xent) throw new ArgumentError(`labels need a classifier: this graph's output "${this.logits}" is [${this.outShape().join(', ')}] per image, not a vector of class scores (give a target: { mse })`);
    if (labels.length !== this.batch) throw new ArgumentError(`a step takes ${this.batch} labels, got ${labels.length}`);
    for (let i = 0; i < labels.length; i++)
      if (!(Number.isInteger(labels[i]) && labels[i]! >= 0 && labels[i]! < this.classes)) throw new ArgumentError(`label ${labels[i]} is not a class index in [0, ${this.classes})`);
  }

  /** The output's shape per image, as the graph given gives it. */
  private outShape(): number[] {
    return inferShapes(this.source, 1).get(this.logits)!.slice(1);
  }

  /**
   * Forward (recording) up to the loss, and the walk from it to every parameter gradient, its seed
   * written: the loss op's seed 1/N per image (and the feature-space term's λM/(‖h_n‖²·N)), or,
   * under a LossFn, dL/doutput from the CPU. Returns the recording (the caller disposes it once the
   * step is submitted), the walk and the batch's loss.
   */
  private async forward(x: Float32Array, objective: Objective): Promise<{ rec: Recording; walk: Walk; res: StepResult }> {
    const q = this.engine.device.queue;
    // undefined for a feature-space loss's classifier's parameters: frozen, the walk skips them
    const paramGrad = (p: string) => this.grads.get(p);
    if (typeof objective === 'function') {
      // the whole loss on the CPU: the walk starts at the output
      this.check(x);
      const rec = await this.model.record(x, this.batch, [this.logits], [this.logits]);
      try {
        const walk = walkOf(this.model, rec, this.logits, [], 'gradient', { paramGrad });
        const out = rec.read.get(this.logits)!.data;
        const grad = new Float32Array(out.length);
        const loss = await objective(out, grad);
        q.writeBuffer(walk.seed, 0, grad);
        return { rec, walk, res: { loss, correct: 0 } };
      } catch (e) {
        rec.dispose();
        throw e;
      }
    }
    const mse = 'mse' in objective ? objective : undefined;
    const labels = mse ? undefined : (objective as ArrayLike<number>);
    this.check(x, labels);
    let lossV: string, values: Float32Array;
    if (mse) {
      const want = this.batch * this.classes;
      if (!(mse.mse instanceof Float32Array) || mse.mse.length !== want)
        throw new ArgumentError(`the mse target of a step is ${this.batch} × [${this.outShape().join(', ')}] = ${want} values, got ${mse.mse instanceof Float32Array ? mse.mse.length : typeof mse.mse}`);
      [lossV, values] = [this.mse, mse.mse];
    } else [lossV, values] = [this.xent!, Float32Array.from(labels!)];
    q.writeBuffer(this.model.paramBuffer(`${lossV}.target`), 0, values.buffer, values.byteOffset, values.byteLength);
    // the feature-space term: φ(G(h)) against the code h, which is this step's input
    const feature = mse && this.featureWeight !== undefined;
    if (feature) q.writeBuffer(this.model.paramBuffer(`${FEATURE}.target`), 0, x.buffer, x.byteOffset, x.byteLength);
    const losses = [lossV, ...(feature ? [FEATURE] : [])];
    // read back: the losses, and the logits to count right answers
    const rec = await this.model.record(x, this.batch, [...losses, ...(labels ? [this.logits] : [])], losses);
    try {
      // the walk starts at the last loss (the feature term's, after the classifier) and adds the other's seed
      const walk = walkOf(this.model, rec, losses.at(-1)!, [], 'gradient', { paramGrad, ...(feature ? { also: [lossV] } : {}) });
      const mean = new Float32Array(this.batch).fill(1 / this.batch);
      q.writeBuffer(walk.seeds.get(lossV)!, 0, mean);
      let loss = 0;
      for (const l of rec.read.get(lossV)!.data) loss += l / this.batch;
      if (feature) {
        // image n's term is λ Σ (φ − h)² / ‖h_n‖², the mse op's Σ (φ − h)² / M times λM / ‖h_n‖²
        const per = x.length / this.batch;
        const seed = new Float32Array(this.batch);
        const f = rec.read.get(FEATURE)!.data;
        for (let b = 0; b < this.batch; b++) {
          let n2 = 0;
          for (let i = b * per; i < (b + 1) * per; i++) n2 += x[i]! * x[i]!;
          const w = (this.featureWeight! * per) / Math.max(n2, 1e-12) / this.batch;
          seed[b] = w;
          loss += w * f[b]!;
        }
        q.writeBuffer(walk.seeds.get(FEATURE)!, 0, seed);
      }
      const correct = labels ? countCorrect(rec.read.get(this.logits)!.data, labels, this.classes) : 0;
      return { rec, walk, res: { loss, correct } };
    } catch (e) {
      rec.dispose();
      throw e;
    }
  }

  /**
   * One optimiser step on a mini-batch (`batch` images N×C×H×W, their labels). The learning rate
   * defaults to the trainer's. Returns the loss and correct count of the batch before the update.
   * The step's GPU work is submitted, not awaited: the next step or read waits for it.
   */
  async step(x: Float32Array, labels: ArrayLike<number>, lr = this.lr): Promise<StepResult> {
    return this.stepLoss(x, labels, lr);
  }

  /** One optimiser step that minimises `loss` (labels: softmax cross-entropy; see Objective). */
  async stepLoss(x: Float32Array, loss: Objective, lr = this.lr): Promise<StepResult> {
    const { rec, walk, res } = await this.forward(x, loss);
    try {
      this.t++;
      const hp = new Float32Array(4);
      if (this.optimizer === 'adam') {
        const c2 = Math.sqrt(1 - this.beta2 ** this.t);
        hp.set([(lr * c2) / (1 - this.beta1 ** this.t), this.beta1, this.beta2, this.eps * c2]);
      } else hp.set([lr, this.momentum, 0, 0]);
      this.engine.device.queue.writeBuffer(this.hyper, 0, hp);
      // the walk, the update, then every weight re-layout rebuilt from the new weights
      const ds = [...walk.dispatches, ...this.updateDispatches(), ...this.model.refreshDerived()];
      if (!this.validated) {
        await this.engine.run(ds); // the first step is checked for validation errors
        this.validated = true;
      } else {
        const enc = this.engine.device.createCommandEncoder();
        this.engine.encode(enc, ds);
        this.engine.device.queue.submit([enc.finish()]);
      }
      return res;
    } finally {
      rec.dispose();
    }
  }

  /** The loss of a mini-batch and the gradient of every trainable parameter (no update). */
  async gradients(x: Float32Array, labels: Objective): Promise<StepResult & { grads: Map<string, Float32Array> }> {
    const { rec, walk, res } = await this.forward(x, labels);
    try {
      const reads = this.trainable.map((p) => ({ buffer: this.grads.get(p)!, bytes: this.graph.params.get(p)!.data.byteLength }));
      const out = await this.engine.run(walk.dispatches, reads);
      return { ...res, grads: new Map(this.trainable.map((p, i) => [p, new Float32Array(out[i]!)])) };
    } finally {
      rec.dispose();
    }
  }

  /** Copies the GPU parameters back into `graph.params` (fresh Float32Arrays). */
  async syncParams(): Promise<void> {
    const g = this.source;
    const out = await this.engine.run([], this.trainable.map((p) => ({ buffer: this.model.paramBuffer(p), bytes: g.params.get(p)!.data.byteLength })));
    this.trainable.forEach((p, i) => {
      const data = new Float32Array(out[i]!);
      g.params.get(p)!.data = data;
      this.model.graph.params.get(p)!.data = data;
    });
  }

  destroy(): void {
    for (const b of [...this.grads.values(), ...[...this.moments.values()].flat(), this.hyper]) this.engine.destroyBuffer(b);
    this.model.destroy();
  }
}
