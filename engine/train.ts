// Training on the engine's own kernels: LeNet with ReLU (Molchanov et al.'s variant) and a Trainer
// that runs mini-batch steps entirely on the GPU apart from the loss: a recording forward pass
// (Model.record), dL/dlogits of softmax cross-entropy on the CPU from the read-back logits
// (batch × classes floats), then one submit of the same reverse walk every explainer uses
// (engine/reverse.ts) with parameter gradients on (the op table's `paramGrads`), the optimiser
// (kernels/adam.wgsl: Adam or SGD with momentum) updating the Model's own parameter buffers in
// place, and the rebuild of every weight re-layout derived from them (Model.refreshDerived).
// Every dispatch of a step is built once and reused: the walk lives with the recording's plan, and
// per-step values (learning rate, Adam's bias corrections) go into a small storage buffer written
// with queue.writeBuffer.

import type { Dispatch, Engine } from './gpu.ts';
import type { Graph, Node, Param } from './ir.ts';
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

// ---- loss --------------------------------------------------------------------------------------

/**
 * Mean softmax cross-entropy of `logits` [n, c] against integer `labels`, its gradient
 * dL/dlogits = (softmax − onehot) / n (written into `grad` when given), and the number of rows
 * whose arg-max is the label. Computed in float64.
 */
export function softmaxCrossEntropy(logits: Float32Array, labels: ArrayLike<number>, n: number, c: number, grad?: Float32Array): { loss: number; correct: number } {
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const row = i * c;
    let m = -Infinity;
    let best = 0;
    for (let k = 0; k < c; k++) {
      const v = logits[row + k]!;
      if (v > m) {
        m = v;
        best = k;
      }
    }
    let s = 0;
    for (let k = 0; k < c; k++) s += Math.exp(logits[row + k]! - m);
    const y = labels[i]!;
    loss += Math.log(s) + m - logits[row + y]!;
    if (best === y) correct++;
    if (grad) for (let k = 0; k < c; k++) grad[row + k] = (Math.exp(logits[row + k]! - m) / s - (k === y ? 1 : 0)) / n;
  }
  return { loss: loss / n, correct };
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
}

export interface StepResult {
  loss: number; // mean loss of the batch (before the update): cross-entropy, or the loss function's
  correct: number; // images of the batch classified right (before the update); 0 under a loss function
}

/**
 * A loss on the graph's output other than softmax cross-entropy (decoders: engine/upconv.ts): from
 * the read-back output (batch first) it returns the batch's loss and writes dL/doutput into `grad`
 * (same length). It may run GPU work of its own (the feature-space loss walks a classifier).
 */
export type LossFn = (out: Float32Array, grad: Float32Array) => number | Promise<number>;

/** The ops the trainer runs (each with a reverse rule and, if it has parameters, `paramGrads`). */
export const TRAINABLE_OPS = ['conv', 'convtranspose', 'relu', 'leakyrelu', 'maxpool', 'flatten', 'reshape', 'fc'];

/**
 * Trains a graph of conv / transposed conv / relu / leaky relu / maxpool / flatten / reshape / fc
 * nodes (a chain ending in one output) with softmax cross-entropy (`step`), or with any loss on the
 * output (`stepLoss`: the decoders' pixel and feature-space losses). The parameters are the Model's own GPU buffers, updated in place; call
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
    this.model = new Model(engine, convForm(graph));
    graph = this.model.graph;
    this.trainable = graph.nodes.flatMap((n) => (n.op === 'conv' || n.op === 'convtranspose' || n.op === 'fc' ? [n.attrs.weight, ...(n.attrs.bias ? [n.attrs.bias] : [])] : []));
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
    if (labels.length !== this.batch) throw new ArgumentError(`a step takes ${this.batch} labels, got ${labels.length}`);
    for (let i = 0; i < labels.length; i++)
      if (!(Number.isInteger(labels[i]) && labels[i]! >= 0 && labels[i]! < this.classes)) throw new ArgumentError(`label ${labels[i]} is not a class index in [0, ${this.classes})`);
  }

  /**
   * Forward (recording) + loss + dL/dlogits uploaded into the walk's seed; returns the recording
   * (the caller disposes it once the step is submitted), the walk (from the logits to every
   * parameter gradient) and the batch's loss.
   */
  private async forward(x: Float32Array, labels: ArrayLike<number> | LossFn): Promise<{ rec: Recording; walk: Walk; res: StepResult }> {
    const fn = typeof labels === 'function' ? labels : undefined;
    this.check(x, fn ? undefined : (labels as ArrayLike<number>));
    const rec = await this.model.record(x, this.batch, [this.logits]);
    try {
      const walk = walkOf(this.model, rec, this.logits, [], 'gradient', { paramGrad: (p) => this.grads.get(p)! });
      const grad = new Float32Array(this.batch * this.classes);
      const out = rec.read.get(this.logits)!.data;
      const res = fn ? { loss: await fn(out, grad), correct: 0 } : softmaxCrossEntropy(out, labels as ArrayLike<number>, this.batch, this.classes, grad);
      this.engine.device.queue.writeBuffer(walk.seed, 0, grad);
      return { rec, walk, res };
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

  /** One optimiser step with `loss` on the output (or softmax cross-entropy against labels). */
  async stepLoss(x: Float32Array, loss: ArrayLike<number> | LossFn, lr = this.lr): Promise<StepResult> {
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
  async gradients(x: Float32Array, labels: ArrayLike<number> | LossFn): Promise<StepResult & { grads: Map<string, Float32Array> }> {
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
