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
import { ArgumentError, ModelFormatError, throwIfCancelled } from './errors.ts';
import { loadOnnx, onnxMetadata } from '../loaders/onnx.ts';

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
 * first layer's initial weights so that its outputs start at unit size, and `lastScale` the last
 * layer's (He's init makes the output start at a pixel error of about 1: the pool2 decoder had not
 * recovered from it after 300 steps at lr 0.002; a tenth for conv1 and pool2. The fc1 decoder was
 * trained, and converged, with 1, its default.)
 */
export function decoderGraph(layer: DecoderLayer, shape: number[], seed = 1, inputRms = 1, lastScale = layer === 'fc1' ? 1 : 0.1): Graph {
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
    if (!act) for (const [i, v] of params.get(`${name}.weight`)!.data.entries()) params.get(`${name}.weight`)!.data[i] = v * lastScale;
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
  const lambda = opts.featureWeight ?? 1;
  const feature = opts.loss === 'feature' ? { classifier: classifier.graph, layer, weight: lambda } : undefined;
  const tr = new Trainer(engine, graph, { batch: opts.batch, optimizer: 'adam', lr: opts.lr, feature });
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
        // the pixel loss is the Trainer's mse op, and the feature-space term (when asked for) its
        // classifier-and-mse composition
        const r = await tr.stepLoss(h, { mse: x }, lrAt(ep * steps + s));
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

// ---- using a decoder --------------------------------------------------------------------------

/** A decoder ONNX file's graph and its `loupe.decoder` metadata; ModelFormatError naming the file when it has none. */
export function readDecoder(bytes: Uint8Array, file: string): { graph: Graph; meta: DecoderMeta } {
  const raw = onnxMetadata(bytes, file).get(DECODER_KEY);
  if (!raw) throw new ModelFormatError(`${file}: not a Loupe decoder (no ${DECODER_KEY} metadata: make one with loupe train-decoder)`);
  let meta: DecoderMeta;
  try {
    meta = JSON.parse(raw) as DecoderMeta;
  } catch {
    throw new ModelFormatError(`${file}: metadata ${DECODER_KEY} is not valid JSON`);
  }
  if (typeof meta.layer !== 'string' || !Array.isArray(meta.shape)) throw new ModelFormatError(`${file}: metadata ${DECODER_KEY} names no layer and shape`);
  const graph = loadOnnx(bytes, file);
  if (graph.outputs.length !== 1) throw new ModelFormatError(`${file}: a decoder has one output, this has ${graph.outputs.length}`);
  return { graph, meta };
}

/** Checks that `decoder` (metadata `meta`, file `file`) inverts a layer `classifier` has, of the shape it was trained on; returns the resolved value. */
export async function decoderLayer(classifier: Model, meta: DecoderMeta, file: string): Promise<string> {
  let value: string;
  try {
    value = classifier.resolve(meta.layer);
  } catch {
    throw new ArgumentError(`--decoder ${file} inverts layer "${meta.layer}", which this model does not have`);
  }
  const per = numel(classifier.graph.input.shape.slice(1));
  const shape = (await classifier.run(new Float32Array(per), 1, { outputs: [value] })).get(value)!.shape.slice(1);
  if (numel(shape) !== numel(meta.shape)) throw new ArgumentError(`--decoder ${file} was trained on ${meta.layer} of shape [${meta.shape.join(', ')}]; this model's ${meta.layer} is [${shape.join(', ')}]`);
  return value;
}

export interface DecoderInversion {
  /** the reconstructions, batch × the classifier's input (C×H×W) */
  images: Float32Array;
  /** per image: ‖A(x̂) − A(x)‖ / ‖A(x)‖ at the layer (the optimisation-based inversion's error) */
  featureError: number[];
  /** per image: ‖x̂ − x‖ / ‖x‖ */
  pixelError: number[];
  /** seconds of the two forward passes (classifier to the layer, decoder) */
  seconds: number;
}

/** UpconvNet inversion of a batch: the classifier to `value`, then the decoder: two forward passes. */
export async function decoderInvert(classifier: Model, decoder: Model, value: string, x: Float32Array, batch: number): Promise<DecoderInversion> {
  const t0 = performance.now();
  const h = (await classifier.run(x, batch, { outputs: [value] })).get(value)!.data;
  const images = (await decoder.run(h, batch)).get(decoder.graph.outputs[0]!)!.data;
  const seconds = (performance.now() - t0) / 1000;
  if (images.length !== x.length) throw new ArgumentError(`the decoder gives ${images.length / batch} values per image, the model takes ${x.length / batch}`);
  const h2 = (await classifier.run(images, batch, { outputs: [value] })).get(value)!.data;
  const F = h.length / batch, P = x.length / batch;
  const featureError = Array.from({ length: batch }, (_, b) => relativeError(h2.subarray(b * F, (b + 1) * F), h.subarray(b * F, (b + 1) * F)));
  const pixelError = Array.from({ length: batch }, (_, b) => relativeError(images.subarray(b * P, (b + 1) * P), x.subarray(b * P, (b + 1) * P)));
  return { images, featureError, pixelError, seconds };
}

// ---- DGN-AM -----------------------------------------------------------------------------------

export interface DgnAmOptions {
  iterations: number;
  /** Adam's step, as a fraction of each code unit's range (max − min seen on real data) */
  lr: number;
  seed: number;
  /** the classifier's valid input range: G(h) is clipped to it before the classifier sees it */
  range: [number, number];
  signal?: AbortSignal;
  onStep?: (step: number, total: number) => void;
}

export interface DgnAmResult {
  /** G(h*) clipped to the input range, one per class (classifier input units) */
  images: Float32Array;
  /** the codes h* */
  codes: Float32Array;
  /** each class's logit at the logged steps */
  log: { step: number; objective: number[] }[];
}

/**
 * DGN-AM (Nguyen et al. 2016, "Synthesizing the preferred inputs for neurons in neural networks via
 * deep generator networks"): activation maximisation in the code space of a generator. For each
 * class c, h* = argmax_h logit_c(clip(G(h))) by Adam from a small seeded code, with h clipped after
 * every step to the per-unit range the code takes on real data (the decoder's metadata: `meta.min`,
 * `meta.max`). The gradient runs through both networks: the classifier's reverse walk from the
 * logits to its input, masked where G(h) was clipped, seeds the generator's reverse walk from its
 * output to the code (two recorded forward passes and two reverse walks per step, all classes as one
 * batch).
 */
export async function dgnAm(classifier: Model, generator: Model, meta: DecoderMeta, logits: string, classes: number[], opts: DgnAmOptions): Promise<DgnAmResult> {
  const P = classes.length;
  const F = numel(meta.shape);
  if (!meta.min || !meta.max || meta.min.length !== F || meta.max.length !== F) throw new ArgumentError(`the generator's metadata has no code range of ${F} units (train it with loupe train-decoder)`);
  const lo = meta.min, hi = meta.max;
  const input = classifier.graph.input.name;
  const gin = generator.graph.input.name;
  const gout = generator.graph.outputs[0]!;
  const lv = classifier.resolve(logits);
  const rand = mulberry32(opts.seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const h = new Float32Array(P * F);
  const clip = () => {
    for (let i = 0; i < h.length; i++) h[i] = Math.min(hi[i % F]!, Math.max(lo[i % F]!, h[i]!));
  };
  for (let i = 0; i < h.length; i++) h[i] = 0.05 * (hi[i % F]! - lo[i % F]!) * normal();
  clip();
  const m = new Float64Array(h.length), v = new Float64Array(h.length);
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const log: DgnAmResult['log'] = [];
  const every = Math.max(1, Math.floor(opts.iterations / 50));
  const gRev = new Reverser(generator), cRev = new Reverser(classifier);
  let images = new Float32Array(0);
  for (let t = 1; t <= opts.iterations + 1; t++) {
    throwIfCancelled(opts.signal, 'maxout --generator');
    const recG = await generator.record(h, P, [gout]);
    try {
      const x = recG.read.get(gout)!.data;
      images = x.map((u) => Math.min(opts.range[1], Math.max(opts.range[0], u)));
      const recC = await classifier.record(images, P, [lv]);
      let dh: Float32Array;
      try {
        const l = recC.read.get(lv)!.data;
        const C = l.length / P;
        if (t === 1 || t > opts.iterations || (t - 1) % every === 0) log.push({ step: t - 1, objective: classes.map((c, p) => l[p * C + c]!) });
        if (t > opts.iterations) break; // the last pass only measures
        const seed = new Float32Array(l.length);
        classes.forEach((c, p) => (seed[p * C + c] = 1));
        const dx = (await cRev.run(recC, lv, seed, [input], 'gradient')).get(classifier.resolve(input))!.data;
        for (let i = 0; i < dx.length; i++) if (x[i]! < opts.range[0] || x[i]! > opts.range[1]) dx[i] = 0;
        dh = (await gRev.run(recG, gout, dx, [gin], 'gradient')).get(generator.resolve(gin))!.data;
      } finally {
        recC.dispose();
      }
      // Adam ascent, each unit's step in proportion to its range
      const c1 = 1 - b1 ** t, c2 = 1 - b2 ** t;
      for (let i = 0; i < h.length; i++) {
        const g = dh[i]!;
        m[i] = b1 * m[i]! + (1 - b1) * g;
        v[i] = b2 * v[i]! + (1 - b2) * g * g;
        h[i] = h[i]! + (opts.lr * (hi[i % F]! - lo[i % F]!) * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + eps);
      }
      clip();
    } finally {
      recG.dispose();
    }
    opts.onStep?.(Math.min(t, opts.iterations), opts.iterations);
  }
  return { images, codes: h, log };
}
