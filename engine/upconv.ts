// UpconvNet inversion (Dosovitskiy & Brox, "Inverting visual representations with convolutional
// networks"; survey §5.2.2): an up-convolutional decoder trained once to map a classifier's
// features at one layer back to the image, so that inversion is one forward pass. Here: the
// decoders of the shipped LeNet-ReLU's conv1, pool2 and fc1 (graphs the Trainer runs: transposed
// convs and leaky ReLUs, engine/ops/conv.ts), their losses (pixel; pixel + feature-space), and the
// per-unit range of the codes seen on real data (DGN-AM clips its code to it, Nguyen et al. 2016).
// The decoder's input is named `features`, its output `image`; an fc layer's features [N, F] are
// fed as [N, F, 1, 1] (the same memory), and its first transposed conv (kernel 7, stride 1)
// is the fully connected layer to a 7×7 map.

import type { Graph, Node, Param } from './ir.ts';
import type { Model } from './runner.ts';
import { Reverser } from './reverse.ts';
import { Trainer, mulberry32, shuffle } from './train.ts';
import { numel } from './shapes.ts';
import { ArgumentError, throwIfCancelled } from './errors.ts';

export const DECODER_LAYERS = ['conv1', 'pool2', 'fc1'] as const;
export type DecoderLayer = (typeof DECODER_LAYERS)[number];

/** The ONNX metadata key of a decoder's facts: the classifier layer it inverts, its input shape and the code range. */
export const DECODER_KEY = 'loupe.decoder';

export interface DecoderMeta {
  /** the classifier value the decoder inverts */
  layer: string;
  /** its shape without the batch, as the classifier gives it ([500] for fc1) */
  shape: number[];
  /** per feature: the smallest and largest value seen on real data (the training set's features) */
  min?: number[];
  max?: number[];
  /** what the decoder was trained on and how, and its held-out error */
  trained?: Record<string, string | number>;
}

/** Leaky ReLU slope of the decoders (Dosovitskiy & Brox use 0.2). */
const LEAK = 0.2;

/**
 * The decoder of `layer` of LeNet-ReLU (`shape`: the layer's shape without the batch), with
 * weights He-uniform from mulberry32(seed) and zero biases. The fc1 decoder: [500,1,1] → convT 7×7
 * → 32×7×7 → convT 4×4/2 → 16×14×14 → convT 4×4/2 → 1×28×28; pool2's: 50×4×4 → convT 3×3/2 → 32×7×7
 * and the same two up-convolutions; conv1's (a 24×24 map): conv 3×3 → 32×24×24 → convT 5×5 → 1×28×28.
 * Leaky ReLU (0.2) after every layer but the last; the output is linear (pixels / 255). Small, as
 * lavapipe trains them on two CPU cores; `inputRms` (the features' root mean square) scales the
 * first layer's initial weights so that its outputs start at unit size.
 */
export function decoderGraph(layer: DecoderLayer, shape: number[], seed = 1, inputRms = 1): Graph {
  const rand = mulberry32(seed);
  const params = new Map<string, Param>();
  let first = true; // the first layer's weights are scaled by 1/inputRms: features are not of unit size
  const he = (name: string, dims: number[], fanIn: number) => {
    const bound = Math.sqrt(6 / fanIn) / (first ? inputRms : 1);
    first = false;
    const data = new Float32Array(numel(dims));
    for (let i = 0; i < data.length; i++) data[i] = (2 * rand() - 1) * bound;
    params.set(name, { dims, data });
  };
  const zeros = (name: string, n: number) => params.set(name, { dims: [n], data: new Float32Array(n) });
  const nodes: Node[] = [];
  let cur = 'features';
  let ch = shape[0]!;
  let hw = shape.length === 3 ? shape[1]! : 1;
  const upconv = (name: string, cout: number, k: number, s: number, p: number, act = true) => {
    // fan-in of a transposed conv: the input taps that reach one output, about cin·(min(k, input side)/s)²
    he(`${name}.weight`, [ch, cout, k, k], Math.max(1, ch * (Math.min(k, hw) / s) ** 2));
    zeros(`${name}.bias`, cout);
    nodes.push({
      name, op: 'convtranspose', inputs: [cur], outputs: [name],
      attrs: { kernel: [k, k], stride: [s, s], pads: [p, p, p, p], dilation: [1, 1], group: 1, weight: `${name}.weight`, bias: `${name}.bias`, outputPadding: [0, 0] },
    });
    cur = name;
    ch = cout;
    hw = (hw - 1) * s - 2 * p + k;
    if (act) activation(name);
  };
  const activation = (name: string) => {
    nodes.push({ name: `${name}.lrelu`, op: 'leakyrelu', inputs: [cur], outputs: [`${name}.lrelu`], attrs: { alpha: LEAK } });
    cur = `${name}.lrelu`;
  };
  if (layer === 'fc1') {
    upconv('up0', 32, 7, 1, 0);
    upconv('up1', 16, 4, 2, 1);
    upconv('up2', 1, 4, 2, 1, false);
  } else if (layer === 'pool2') {
    upconv('up0', 32, 3, 2, 1);
    upconv('up1', 16, 4, 2, 1);
    upconv('up2', 1, 4, 2, 1, false);
  } else {
    he('conv0.weight', [32, ch, 3, 3], ch * 9);
    zeros('conv0.bias', 32);
    nodes.push({
      name: 'conv0', op: 'conv', inputs: [cur], outputs: ['conv0'],
      attrs: { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], group: 1, weight: 'conv0.weight', bias: 'conv0.bias' },
    });
    cur = 'conv0';
    ch = 32;
    activation('conv0');
    upconv('up0', 1, 5, 1, 0, false);
  }
  if (hw !== 28) throw new ArgumentError(`decoder of ${layer}: a ${shape.join('×')} input gives ${hw}×${hw}, not 28×28`);
  nodes[nodes.length - 1]!.outputs = ['image'];
  const inShape = shape.length === 3 ? shape : [shape[0]!, 1, 1];
  return { name: `upconv-lenet-${layer}`, format: 'onnx', input: { name: 'features', shape: [-1, ...inShape] }, outputs: ['image'], nodes, params };
}

/**
 * Pixel loss: the mean over the batch of Σ (ŷ − x)² / P (P pixels per image), and its gradient
 * 2(ŷ − x) / (P·N) into `grad`. Float64 sums.
 */
export function pixelLoss(out: Float32Array, target: Float32Array, n: number, grad?: Float32Array): number {
  const P = out.length / n;
  let s = 0;
  for (let i = 0; i < out.length; i++) {
    const d = out[i]! - target[i]!;
    s += d * d;
    if (grad) grad[i] = (2 * d) / (P * n);
  }
  return s / (P * n);
}

/**
 * The feature-space loss (Dosovitskiy & Brox 2016, "perceptual similarity"): λ·‖φ(ŷ) − φ(x)‖² /
 * ‖φ(x)‖² per image, averaged over the batch, with φ the classifier up to `layer` (whose features
 * of the true image are the decoder's input `h`). Its gradient with respect to ŷ comes from one
 * reverse walk of the classifier (seeded at `layer` with 2λ(φ(ŷ) − h)/(‖h‖²·N)) and is added to
 * `grad`. Returns the loss term.
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

/** Relative pixel error ‖ŷ − x‖ / ‖x‖ of one image (the held-out reconstruction error reported and compared). */
export function relativeError(y: ArrayLike<number>, x: ArrayLike<number>): number {
  let d = 0, n = 0;
  for (let i = 0; i < x.length; i++) {
    d += (y[i]! - x[i]!) ** 2;
    n += x[i]! * x[i]!;
  }
  return Math.sqrt(d / Math.max(n, 1e-30));
}

// ---- training --------------------------------------------------------------------------------

export interface DigitSet {
  /** [n, 28, 28] bytes */
  images: Uint8Array;
  n: number;
}

export interface TrainDecoderOptions {
  epochs: number;
  batch: number;
  /** Adam's learning rate (cosine decay to lr/20 over the run) */
  lr: number;
  seed: number;
  /** 'pixel': Σ(ŷ − x)²/P; 'feature': that plus λ‖φ(ŷ) − φ(x)‖²/‖φ(x)‖² through the classifier */
  loss: 'pixel' | 'feature';
  /** λ of the feature-space term */
  featureWeight?: number;
  /** train on the first `limit` digits of the set (default all) */
  limit?: number;
  onProgress?: (done: number, total: number, loss: number) => void;
  signal?: AbortSignal;
}

export interface TrainedDecoder {
  graph: Graph;
  meta: DecoderMeta;
  /** mean relative pixel error on the held-out digits after each epoch */
  heldout: number[];
  /** mean training loss of each epoch */
  losses: number[];
  seconds: number[];
}

const pixels = (set: DigitSet, idx: ArrayLike<number>, out: Float32Array) => {
  for (let b = 0; b < idx.length; b++) {
    const src = idx[b]! * 784;
    for (let k = 0; k < 784; k++) out[b * 784 + k] = set.images[src + k]! / 255;
  }
};

/** The classifier's features at `layer` of digits `idx` of `set` (pixels / 255), and the pixels. */
export async function digitFeatures(classifier: Model, layer: string, set: DigitSet, idx: ArrayLike<number>): Promise<{ x: Float32Array; h: Float32Array; shape: number[] }> {
  const x = new Float32Array(idx.length * 784);
  pixels(set, idx, x);
  const v = classifier.resolve(layer);
  const t = (await classifier.run(x, idx.length, { outputs: [v] })).get(v)!;
  return { x, h: t.data, shape: t.shape.slice(1) };
}

/** Mean relative pixel error ‖G(φ(x)) − x‖/‖x‖ of `decoder` over the first `count` digits of `set`, in chunks. */
export async function heldoutError(classifier: Model, decoder: Model, layer: string, set: DigitSet, count: number, chunk = 250): Promise<number> {
  let sum = 0;
  count = Math.min(count, set.n);
  for (let s = 0; s < count; s += chunk) {
    const idx = Array.from({ length: Math.min(chunk, count - s) }, (_, i) => s + i);
    const { x, h } = await digitFeatures(classifier, layer, set, idx);
    const y = (await decoder.run(h, idx.length)).get(decoder.graph.outputs[0]!)!.data;
    for (let b = 0; b < idx.length; b++) sum += relativeError(y.subarray(b * 784, (b + 1) * 784), x.subarray(b * 784, (b + 1) * 784));
  }
  return sum / count;
}

/**
 * Trains the decoder of `layer` of `classifier` (LeNet-ReLU) with Loupe's Trainer on `train`
 * (a seeded shuffle each epoch, Adam, cosine decay), the features computed by the classifier on
 * the GPU batch by batch; records each feature's range over the training digits (DGN-AM's clip)
 * and the held-out error on `heldout` (its first `heldoutCount` digits) after every epoch.
 */
export async function trainDecoder(classifier: Model, layer: DecoderLayer, train: DigitSet, heldout: DigitSet, opts: TrainDecoderOptions & { heldoutCount?: number }): Promise<TrainedDecoder> {
  const limit = opts.limit ?? train.n;
  if (!(Number.isInteger(limit) && limit >= opts.batch && limit <= train.n)) throw new ArgumentError(`--limit must be an integer in [${opts.batch}, ${train.n}] (a batch to the training set), got ${limit}`);
  const probe = await digitFeatures(classifier, layer, train, Array.from({ length: Math.min(256, limit) }, (_, i) => i));
  let ms = 0;
  for (const v of probe.h) ms += v * v;
  const graph = decoderGraph(layer, probe.shape, opts.seed, Math.sqrt(ms / probe.h.length) || 1);
  const engine = classifier.engine;
  const tr = new Trainer(engine, graph, { batch: opts.batch, optimizer: 'adam', lr: opts.lr });
  const decoder = tr.model;
  const F = numel(probe.shape);
  // The training digits' features, computed once when they fit in 256 MB (else batch by batch).
  let cache: Float32Array | undefined;
  if (F * limit * 4 <= 256 * 2 ** 20) {
    cache = new Float32Array(F * limit);
    for (let s = 0; s < limit; s += 1000) {
      throwIfCancelled(opts.signal, 'train-decoder');
      cache.set((await digitFeatures(classifier, layer, train, Array.from({ length: Math.min(1000, limit - s) }, (_, i) => s + i))).h, s * F);
    }
  }
  const min = new Float64Array(F).fill(Infinity);
  const max = new Float64Array(F).fill(-Infinity);
  const rand = mulberry32(opts.seed ^ 0x0dec0de);
  const order = Uint32Array.from({ length: limit }, (_, i) => i);
  const steps = Math.floor(limit / opts.batch);
  const total = steps * opts.epochs;
  const lrAt = (t: number) => opts.lr * (0.05 + 0.95 * 0.5 * (1 + Math.cos((Math.PI * t) / total)));
  const lambda = opts.featureWeight ?? 1;
  const res: TrainedDecoder = { graph, meta: { layer, shape: probe.shape }, heldout: [], losses: [], seconds: [] };
  try {
    for (let ep = 0; ep < opts.epochs; ep++) {
      shuffle(order, rand);
      const t0 = performance.now();
      let lossSum = 0;
      for (let s = 0; s < steps; s++) {
        throwIfCancelled(opts.signal, 'train-decoder');
        const idx = order.subarray(s * opts.batch, (s + 1) * opts.batch);
        let x: Float32Array, h: Float32Array;
        if (cache) {
          x = new Float32Array(idx.length * 784);
          pixels(train, idx, x);
          h = new Float32Array(idx.length * F);
          idx.forEach((j, b) => h.set(cache.subarray(j * F, (j + 1) * F), b * F));
        } else ({ x, h } = await digitFeatures(classifier, layer, train, idx));
        if (ep === 0)
          for (let i = 0; i < h.length; i++) {
            const f = i % F;
            if (h[i]! < min[f]!) min[f] = h[i]!;
            if (h[i]! > max[f]!) max[f] = h[i]!;
          }
        const r = await tr.stepLoss(h, async (out, grad) => {
          let l = pixelLoss(out, x, opts.batch, grad);
          if (opts.loss === 'feature') l += await featureLoss(classifier, layer, out, h, opts.batch, lambda, grad);
          return l;
        }, lrAt(ep * steps + s));
        lossSum += r.loss;
        opts.onProgress?.(ep * steps + s + 1, total, lossSum / (s + 1));
      }
      res.losses.push(lossSum / steps);
      res.seconds.push((performance.now() - t0) / 1000);
      await tr.syncParams();
      res.heldout.push(await heldoutError(classifier, decoder, layer, heldout, opts.heldoutCount ?? 1000));
    }
  } finally {
    tr.destroy();
  }
  res.meta.min = Array.from(min, (v) => Math.fround(v));
  res.meta.max = Array.from(max, (v) => Math.fround(v));
  return res;
}
