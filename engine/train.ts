// Training on the engine's own kernels: LeNet with ReLU (Molchanov et al.'s variant) and a Trainer
// that runs mini-batch steps entirely on the GPU apart from the loss: a recording forward pass
// (Model.record: every value, ReLU mask and max-pool switch kept), dL/dlogits of softmax
// cross-entropy on the CPU from the read-back logits (batch × classes floats), then one submit of the
// reverse walk (input gradients of every layer, weight and bias gradients of conv and fc), the
// optimiser (kernels/adam.wgsl: Adam or SGD with momentum) updating the Model's own parameter
// buffers in place, and the re-layout of the conv weights that the forward GEMM kernel reads.
// Every dispatch of a step is built once per recording plan and reused: per-step values (learning
// rate, Adam's bias corrections) go into a small storage buffer written with queue.writeBuffer.

import type { Dispatch, Engine } from './gpu.ts';
import type { ConvAttrs, Graph, Node, Param, PoolAttrs } from './ir.ts';
import { Model, type Recording } from './runner.ts';
import { inferShapes, numel } from './shapes.ts';
import * as Conv from './conv.ts';
import { GEMM, gemmWeights, lowerConv } from './conv.ts';
import type { LowerContext } from './ops/types.ts';
import { ArgumentError, UnsupportedOpError } from './errors.ts';
import * as R from './reverse-kernels.ts';
import * as K from '../kernels/index.ts';
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

/** The output-channel block of the GEMM conv kernel the engine picks (its re-laid-out weights are padded to it). */
function gemmTm(e: Engine): number {
  return e.subgroups ? Conv.GEMM_SG.TM : GEMM.TM;
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
  loss: number; // mean cross-entropy of the batch (before the update)
  correct: number; // images of the batch classified right (before the update)
}

interface StepPlan {
  values: Map<string, GPUBuffer>; // the recording plan it was built for
  dlogits: GPUBuffer;
  backward: Dispatch[]; // the reverse walk: every gradient
  owned: GPUBuffer[];
}

/**
 * Trains a graph of conv / relu / maxpool / flatten / fc nodes (a chain ending in the logits) with
 * softmax cross-entropy. The parameters are the Model's own GPU buffers, updated in place; call
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
  private plan: StepPlan | undefined;
  private validated = false;
  private fresh = false; // the flipped / re-laid-out weights match the parameters
  private refresh: Dispatch[] = [];
  private flipped: GPUBuffer[] = [];
  private flippedBufs = new Map<string, GPUBuffer>();
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
    if (graph.outputs.length !== 1) throw new ArgumentError(`training needs a graph with one output (the logits), it has ${graph.outputs.length}`);
    this.logits = graph.outputs[0]!;
    for (const n of graph.nodes)
      if (!['conv', 'relu', 'maxpool', 'flatten', 'fc'].includes(n.op)) throw new UnsupportedOpError(`layer "${n.name}" (${n.op}): the trainer handles conv, relu, maxpool, flatten and fc`);
    this.source = graph;
    this.model = new Model(engine, convForm(graph));
    graph = this.model.graph;
    this.trainable = graph.nodes.flatMap((n) => (n.op === 'conv' || n.op === 'fc' ? [n.attrs.weight, ...(n.attrs.bias ? [n.attrs.bias] : [])] : []));
    const dev = engine.device;
    const buf = (bytes: number, label: string) =>
      dev.createBuffer({ label, size: Math.max(256, Math.ceil(bytes / 4) * 4), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    for (const p of this.trainable) {
      const bytes = graph.params.get(p)!.data.byteLength;
      this.grads.set(p, buf(bytes, `grad:${p}`));
      // Optimiser state, zero-initialised (WebGPU clears new buffers): m, and v for Adam.
      const state = [dev.createBuffer({ label: `m:${p}`, size: Math.max(256, bytes), usage: GPUBufferUsage.STORAGE })];
      if (this.optimizer === 'adam') state.push(dev.createBuffer({ label: `v:${p}`, size: Math.max(256, bytes), usage: GPUBufferUsage.STORAGE }));
      this.moments.set(p, state);
    }
    this.hyper = buf(16, 'optimizer:hyper');
    const shapes = inferShapes(graph, 1);
    this.classes = numel(shapes.get(this.logits)!.slice(1));
  }

  /** The graph being trained (as given: its params are updated by `syncParams`). */
  get graph(): Graph {
    return this.source;
  }

  /** The dispatches of a step for the current recording plan (built once; rebuilt if the model dropped its plans). */
  private stepPlan(rec: Recording): StepPlan {
    if (this.plan && this.plan.values === rec.values) return this.plan;
    if (this.plan) for (const b of this.plan.owned) b.destroy();
    const e = this.engine;
    const m = this.model;
    const g = m.graph;
    const owned: GPUBuffer[] = [];
    const alloc = (v: string) => {
      const b = e.device.createBuffer({ label: `grad:${v}`, size: Math.max(256, numel(rec.shapes.get(v)!) * 4), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      owned.push(b);
      return b;
    };
    const dlogits = alloc(this.logits);
    const dv = new Map<string, GPUBuffer>([[this.logits, dlogits]]);
    const backward: Dispatch[] = [];
    // The graph is a chain: walk it backwards; the first node's input (the image) needs no gradient.
    for (let i = g.nodes.length - 1; i >= 0; i--) {
      const node = g.nodes[i]!;
      const x = node.inputs[0]!;
      const y = node.outputs[0]!;
      const dy = dv.get(y);
      if (!dy) throw new UnsupportedOpError(`layer "${node.name}": its output is not on the path to ${this.logits} (the trainer needs a chain)`);
      const xs = rec.shapes.get(x)!;
      const ys = rec.shapes.get(y)!;
      const label = `train:${node.op}:${node.name}`;
      if (node.op === 'flatten' || node.op === 'reshape') {
        dv.set(x, dy); // same memory layout: the gradient is aliased, not copied
        continue;
      }
      const dx = i > 0 ? alloc(x) : undefined; // the image needs no gradient
      if (dx) dv.set(x, dx);
      switch (node.op) {
        case 'conv': {
          const a = node.attrs as ConvAttrs;
          backward.push(...this.convWeightGrad(a, xs, ys, rec.values.get(x)!, dy, this.grads.get(a.weight)!, owned, `${label}:dW`));
          if (a.bias) backward.push(R.biasGrad(e, ys, dy, this.grads.get(a.bias)!, `${label}:db`));
          if (dx) backward.push(...this.convInputGrad(a, xs, ys, dy, dx, `${label}:dx`));
          break;
        }
        case 'fc': {
          const a = node.attrs;
          const n = xs[0]!;
          const inF = numel(xs.slice(1));
          backward.push(R.fcWeightGrad(e, n, inF, a.outFeatures, dy, rec.values.get(x)!, this.grads.get(a.weight)!, `${label}:dW`));
          if (a.bias) backward.push(R.fcBiasGrad(e, n, a.outFeatures, dy, this.grads.get(a.bias)!, `${label}:db`));
          if (dx) backward.push(R.fcInputGrad(e, n, inF, a.outFeatures, dy, m.paramBuffer(a.weight), dx, `${label}:dx`));
          break;
        }
        case 'relu':
          if (dx) backward.push(R.reluBackward(e, 'gradient', numel(ys), dy, rec.patterns.get(node.name)!, dx, label));
          break;
        case 'maxpool':
          if (dx) backward.push(R.unpool(e, node.attrs as PoolAttrs, xs, ys, dy, rec.patterns.get(node.name)!, dx, label));
          break;
        default:
          throw new UnsupportedOpError(`layer "${node.name}" (${node.op}): no training rule`);
      }
    }
    this.plan = { values: rec.values, dlogits, backward, owned };
    return this.plan;
  }

  /** dW of a conv: the tiled GEMM kernel for group 1 (split over images when the tiles are few), else the general kernel. */
  private convWeightGrad(a: ConvAttrs, xs: number[], ys: number[], x: GPUBuffer, dy: GPUBuffer, dw: GPUBuffer, owned: GPUBuffer[], label: string): Dispatch[] {
    const e = this.engine;
    if (a.group !== 1) return [R.convWeightGrad(e, a, xs, ys, x, dy, dw, label)];
    const [n, cin, h, w] = xs as [number, number, number, number];
    const [, cout, oh, ow] = ys as [number, number, number, number];
    const [kh, kw] = a.kernel;
    const rtot = cin * kh * kw;
    const total = cout * rtot;
    const tilesM = Math.ceil(cout / 4);
    const tilesN = Math.ceil(rtot / 4);
    const tiles = tilesM * tilesN;
    // Enough invocations to fill the device, but each split keeps a few images' worth of work.
    let splits = Math.max(1, Math.min(n, Math.ceil(4096 / tiles), Math.floor((n * oh * ow) / 64)));
    const nPer = Math.ceil(n / splits);
    splits = Math.ceil(n / nPer);
    const uniforms = { cout, rtot, nimg: n, cin, h, w, oh, ow, kh, kw, sh: a.stride[0], sw: a.stride[1], pt: a.pads[0], pl: a.pads[1], dh: a.dilation[0], dw: a.dilation[1], tilesM, tilesN, nPer, total, splits };
    if (splits === 1) return [e.makeDispatch(TK.convWeightGradTiled, { uniforms, bindings: { x, dy, part: dw }, threads: tiles, label, flops: 2 * total * n * oh * ow })];
    const part = e.device.createBuffer({ label: `${label}:partials`, size: splits * total * 4, usage: GPUBufferUsage.STORAGE });
    owned.push(part);
    return [
      e.makeDispatch(TK.convWeightGradTiled, { uniforms, bindings: { x, dy, part }, threads: tiles * splits, label, flops: 2 * total * n * oh * ow }),
      e.makeDispatch(TK.convWeightGradTiled, { defines: ['REDUCE'], uniforms, bindings: { part, dwOut: dw }, threads: total, label: `${label}:reduce` }),
    ];
  }

  /**
   * dx of a conv. Stride 1, group 1: a conv of dy with the transposed, flipped filters and pads
   * d(k−1)−p on the fast forward GEMM kernel; the flipped filters are rebuilt on the GPU after every
   * update (flip_weights + the GEMM re-layout). Otherwise the gather-form transposed convolution.
   */
  private convInputGrad(a: ConvAttrs, xs: number[], ys: number[], dy: GPUBuffer, dx: GPUBuffer, label: string): Dispatch[] {
    const e = this.engine;
    const m = this.model;
    const [kh, kw] = a.kernel;
    const [dh, dw] = a.dilation;
    const pads: [number, number, number, number] = [dh * (kh - 1) - a.pads[0], dw * (kw - 1) - a.pads[1], dh * (kh - 1) - a.pads[2], dw * (kw - 1) - a.pads[3]];
    const cin = xs[1]!, cout = ys[1]!;
    if (a.stride[0] !== 1 || a.stride[1] !== 1 || a.group !== 1 || pads.some((p) => p < 0) || cin < GEMM.minCoutPerGroup)
      return [R.convInputGrad(e, a, xs, ys, dy, m.paramBuffer(a.weight), dx, label)];
    const flipName = `flipT:${a.weight}`;
    const base = m.ctx();
    const total = cin * cout * kh * kw;
    let flipped = this.flippedBufs.get(flipName);
    const t: ConvAttrs = { kernel: a.kernel, stride: [1, 1], pads, dilation: a.dilation, group: 1, weight: flipName };
    const ctx: LowerContext = { ...base, param: (nm) => (nm === flipName ? flipped! : base.param(nm)) };
    if (!flipped) {
      flipped = e.device.createBuffer({ label: flipName, size: Math.max(256, total * 4), usage: GPUBufferUsage.STORAGE });
      this.flippedBufs.set(flipName, flipped);
      this.flipped.push(flipped);
      const tm = gemmTm(e);
      const coPad = Math.ceil(cin / tm) * tm;
      const wt = gemmWeights(ctx, t, cin, cout, tm);
      const wtTotal = kh * kw * cout * coPad;
      this.refresh.push(
        e.makeDispatch(TK.flipWeights, { uniforms: { total, cout, cin, kh, kw }, bindings: { w: m.paramBuffer(a.weight), wt: flipped }, threads: total, label: `flip:${a.weight}` }),
        e.makeDispatch(K.convWeightsGemm, { uniforms: { total: wtTotal, coutPg: cin, coPad, cinPg: cout, kh, kw }, bindings: { w: flipped, wt }, threads: wtTotal, label: `relayout:${flipName}` }),
      );
      this.fresh = false;
    }
    return lowerConv(ctx, t, ys, xs, dy, dx, false, label);
  }

  /** The optimiser dispatches and the re-layouts of the conv weights that the forward GEMM kernel reads (engine/conv.ts); built once. */
  private updateDispatches(): Dispatch[] {
    if (this.updates) return this.updates;
    const e = this.engine;
    const m = this.model;
    const g = m.graph;
    const update: Dispatch[] = [];
    for (const p of this.trainable) {
      const total = g.params.get(p)!.data.length;
      update.push(e.makeDispatch(TK.adam, {
        defines: this.optimizer === 'sgd' ? ['SGD'] : [], uniforms: { total },
        bindings: { hp: this.hyper, g: this.grads.get(p)!, p: m.paramBuffer(p), m: this.moments.get(p)![0]!, v: this.moments.get(p)![1] }, threads: total, label: `${this.optimizer}:${p}`,
      }));
    }
    const ctx = m.ctx();
    const shapes = inferShapes(g, 1);
    for (const node of g.nodes) {
      if (node.op !== 'conv') continue;
      const a = node.attrs;
      const cout = shapes.get(node.outputs[0]!)![1]!;
      if (cout / a.group < GEMM.minCoutPerGroup) continue; // the direct kernel reads the parameter itself
      const cinPg = shapes.get(node.inputs[0]!)![1]! / a.group;
      const [kh, kw] = a.kernel;
      const coutPg = cout / a.group;
      const tm = gemmTm(e);
      const coPad = Math.ceil(coutPg / tm) * tm;
      const wt = gemmWeights(ctx, a, cout, cinPg, tm); // the forward pass's cached re-layout buffer
      const total = a.group * kh * kw * cinPg * coPad;
      update.push(e.makeDispatch(K.convWeightsGemm, { uniforms: { total, coutPg, coPad, cinPg, kh, kw }, bindings: { w: m.paramBuffer(a.weight), wt }, threads: total, label: `relayout:${a.weight}` }));
    }
    return (this.updates = update);
  }

  private check(x: Float32Array, labels: ArrayLike<number>): void {
    const per = numel(this.graph.input.shape.slice(1));
    if (x.length !== per * this.batch) throw new ArgumentError(`a step takes ${this.batch} images (${per * this.batch} values), got ${x.length} values`);
    if (labels.length !== this.batch) throw new ArgumentError(`a step takes ${this.batch} labels, got ${labels.length}`);
  }

  /** Forward (recording) + loss + dL/dlogits uploaded; returns the plan and the batch's loss. */
  private async forward(x: Float32Array, labels: ArrayLike<number>): Promise<{ plan: StepPlan; res: StepResult }> {
    this.check(x, labels);
    const rec = await this.model.record(x, this.batch, [this.logits]);
    const plan = this.stepPlan(rec);
    for (let i = 0; i < labels.length; i++)
      if (!(Number.isInteger(labels[i]) && labels[i]! >= 0 && labels[i]! < this.classes)) throw new ArgumentError(`label ${labels[i]} is not a class index in [0, ${this.classes})`);
    const grad = new Float32Array(this.batch * this.classes);
    const res = softmaxCrossEntropy(rec.read.get(this.logits)!.data, labels, this.batch, this.classes, grad);
    this.engine.device.queue.writeBuffer(plan.dlogits, 0, grad);
    return { plan, res };
  }

  /**
   * One optimiser step on a mini-batch (`batch` images N×C×H×W, their labels). The learning rate
   * defaults to the trainer's. Returns the loss and correct count of the batch before the update.
   * The step's GPU work is submitted, not awaited: the next step or read waits for it.
   */
  async step(x: Float32Array, labels: ArrayLike<number>, lr = this.lr): Promise<StepResult> {
    const { plan, res } = await this.forward(x, labels);
    this.t++;
    const hp = new Float32Array(4);
    if (this.optimizer === 'adam') {
      const c2 = Math.sqrt(1 - this.beta2 ** this.t);
      hp.set([(lr * c2) / (1 - this.beta1 ** this.t), this.beta1, this.beta2, this.eps * c2]);
    } else hp.set([lr, this.momentum, 0, 0]);
    this.engine.device.queue.writeBuffer(this.hyper, 0, hp);
    const ds = [...(this.fresh ? [] : this.refresh), ...plan.backward, ...this.updateDispatches(), ...this.refresh];
    this.fresh = true;
    if (!this.validated) {
      await this.engine.run(ds); // the first step is checked for validation errors
      this.validated = true;
    } else {
      const enc = this.engine.device.createCommandEncoder();
      this.engine.encode(enc, ds);
      this.engine.device.queue.submit([enc.finish()]);
    }
    return res;
  }

  /** The loss of a mini-batch and the gradient of every trainable parameter (no update). */
  async gradients(x: Float32Array, labels: ArrayLike<number>): Promise<StepResult & { grads: Map<string, Float32Array> }> {
    const { plan, res } = await this.forward(x, labels);
    const reads = this.trainable.map((p) => ({ buffer: this.grads.get(p)!, bytes: this.graph.params.get(p)!.data.byteLength }));
    const out = await this.engine.run([...(this.fresh ? [] : this.refresh), ...plan.backward], reads);
    this.fresh = true;
    return { ...res, grads: new Map(this.trainable.map((p, i) => [p, new Float32Array(out[i]!)])) };
  }

  /** Copies the GPU parameters back into `graph.params` (fresh Float32Arrays). */
  async syncParams(): Promise<void> {
    const e = this.engine;
    const g = this.source;
    const copies: Dispatch[] = [];
    const tmp: GPUBuffer[] = [];
    for (const p of this.trainable) {
      const n = g.params.get(p)!.data.length;
      const b = e.device.createBuffer({ label: `read:${p}`, size: Math.max(256, n * 4), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
      tmp.push(b);
      // Parameter buffers are not COPY_SRC: copy them with a kernel (a [1, n, 1] channel slice).
      copies.push(R.splitChannels(e, [1, n, 1], [1, n, 1], 0, this.model.paramBuffer(p), b, `read:${p}`));
    }
    const out = await e.run(copies, this.trainable.map((p, i) => ({ buffer: tmp[i]!, bytes: g.params.get(p)!.data.byteLength })));
    this.trainable.forEach((p, i) => {
      const data = new Float32Array(out[i]!);
      g.params.get(p)!.data = data;
      this.model.graph.params.get(p)!.data = data;
    });
    for (const b of tmp) b.destroy();
  }

  destroy(): void {
    if (this.plan) for (const b of this.plan.owned) b.destroy();
    this.plan = undefined;
    for (const b of [...this.grads.values(), ...[...this.moments.values()].flat(), ...this.flipped, this.hyper]) b.destroy();
    this.model.destroy();
  }
}
