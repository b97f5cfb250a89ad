// Net2Vec on the GPU (Fong & Vedaldi 2018; METHODS.md §7): per trained concept c a weight vector over
// a conv layer's thresholded units, learned with Adam (kernels/adam.wgsl, the engine's optimiser) and
// evaluated by its set IoU on held-out batches. The inputs at each label pixel p are the binary unit
// masks I_k(p) = [S(A_k)(p) > T_k] (S: bilinear upsampling to the label resolution, T_k: the
// dissection thresholds), packed 32 to a word once per batch (kernels/net2vec_bits.wgsl).
//   segmentation: z_c(p) = Σ_k w[c][k]·I_k(p) + w[c][K], M = σ(z), loss = the α-balanced per-pixel
//     binary cross-entropy against L_c(p) (any label plane holds c at p), mean over the batch's pixels;
//   classification: x_k = mean_p I_k(p) per image, z_c = Σ_k w[c][k]·x_k + w[c][K], BCE against
//     "c is somewhere in the image", α-balanced over images, mean over the batch's images.
// The trainer's dispatches go into a model run through an Injection (engine/plan.ts) on the layer's
// activations: they are built without awaiting and may be replayed for later batches, so everything
// that changes per batch lives in buffers written before the run (the labels, their plane count) or
// on the GPU (Adam's step count and bias corrections: kernels/net2vec_step.wgsl; the running loss
// and the evaluation tallies). Weights start at 0, so a run is deterministic: every sum is taken in
// a fixed order and the tallies are integers.
import type { Dispatch, Engine } from './gpu.ts';
import { foldWorkgroups } from './gpu.ts';
import { ArgumentError, ShapeError } from './errors.ts';
import * as NK from '../kernels/net2vec.ts';
import * as TK from '../kernels/train.ts';

export interface Net2VecOptions {
  /** K, the layer's units (channels) */
  units: number;
  /** the concept ids trained, 1-based ids of the set; row c of the weights is concepts[c] */
  concepts: number[];
  /** the label resolution S_h × S_w */
  maskH: number;
  maskW: number;
  /** most images per batch and label planes per image (size the buffers) */
  maxBatch: number;
  maxPlanes: number;
  variant: 'segmentation' | 'classification';
  /** Adam's learning rate; default NET2VEC_LR */
  lr?: number;
  /** the class balance per trained concept, in [0, 1]: α_c = 1 − the fraction of the training pixels (images) carrying c */
  alpha: Float32Array;
}

/**
 * Adam's default learning rate, chosen by experiment (a concept made of two half-detectors that fire
 * on 70% of their half and 3% elsewhere, 10 distractor units, 24×24 masks, batches of 16; held-out
 * IoU and accuracy after 20, 50, 100, 300 steps for lr 0.003 … 1): at 0.1 segmentation reaches its
 * best IoU (0.586) by step 50 and stays there, classification its best accuracy (1) by step 300;
 * 0.01 and below had not reached either after 300 steps (Adam's usual 1e-3 is for weights of size
 * ~0.1, these binary inputs need logits of size ~5); 0.3 and 1 get there sooner on this easy, nearly
 * separable set but move every weight by that much per step on real, noisier data.
 */
export const NET2VEC_LR = 0.1;
const BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8;
/** net2vec_present keeps 64 words of concept bits in workgroup memory */
const MAX_CLASSIFIED = 64 * 32;

export interface Net2VecEvaluation {
  /** segmentation: Σ|M ∩ L| / Σ|M ∪ L| over the held-out pixels (0 where the union is empty); classification: the same over images */
  iou: Float64Array;
  intersections: Float64Array;
  unions: Float64Array;
  /** classification: the fraction of held-out images where "z > 0" agrees with "c is present" */
  accuracy?: Float64Array;
}

const isCount = (v: number, min = 1) => Number.isInteger(v) && v >= min;

export class Net2VecTrainer {
  readonly units: number;
  readonly concepts: number[];
  readonly variant: 'segmentation' | 'classification';
  readonly lr: number;
  private readonly engine: Engine;
  private readonly o: Net2VecOptions;
  private readonly c: number; // trained concepts
  private readonly q: number; // chunks of 4 concepts
  private readonly pixels: number; // S = maskH·maskW
  private readonly kWords: number;
  private readonly pWords: number;
  private readonly cWords: number;
  private readonly tableLen: number;
  private buffers: GPUBuffer[] = [];
  private readonly thresholdsBuf: GPUBuffer;
  private readonly labelsBuf: GPUBuffer;
  private readonly planeCountBuf: GPUBuffer;
  private readonly tableBuf: GPUBuffer;
  private readonly alphaBuf: GPUBuffer;
  private readonly weightsBuf: GPUBuffer;
  private readonly gradBuf: GPUBuffer;
  private readonly mBuf: GPUBuffer;
  private readonly vBuf: GPUBuffer;
  private readonly hyperBuf: GPUBuffer;
  private readonly stateBuf: GPUBuffer;
  private readonly hpBuf: GPUBuffer;
  private readonly lossBuf: GPUBuffer;
  private readonly countsBuf: GPUBuffer;
  private readonly pixelBitsBuf: GPUBuffer | undefined;
  private readonly unitBitsBuf: GPUBuffer;
  private readonly dzBuf: GPUBuffer;
  private readonly partialsBuf: GPUBuffer | undefined;
  private readonly xBuf: GPUBuffer | undefined;
  private readonly presentBuf: GPUBuffer | undefined;
  private readonly lossesBuf: GPUBuffer | undefined;
  private thresholdsSet = false;
  private labelBatch: number | undefined;
  private destroyed = false;

  constructor(engine: Engine, o: Net2VecOptions) {
    const what = 'Net2Vec';
    if (o.variant !== 'segmentation' && o.variant !== 'classification') throw new ArgumentError(`${what}: variant must be "segmentation" or "classification", got ${JSON.stringify(o.variant)}`);
    if (!isCount(o.units) || o.units > 65534) throw new ArgumentError(`${what}: units must be an integer in [1, 65534], got ${o.units}`);
    for (const [name, v] of [['maskH', o.maskH], ['maskW', o.maskW], ['maxBatch', o.maxBatch]] as const)
      if (!isCount(v)) throw new ArgumentError(`${what}: ${name} must be a positive integer, got ${v}`);
    if (!isCount(o.maxPlanes, 0)) throw new ArgumentError(`${what}: maxPlanes must be a non-negative integer, got ${o.maxPlanes}`);
    if (!Array.isArray(o.concepts) || o.concepts.length === 0) throw new ArgumentError(`${what}: no concepts to train`);
    const seen = new Set<number>();
    for (const id of o.concepts) {
      if (!isCount(id) || id > 0xfffffff) throw new ArgumentError(`${what}: concept id ${id} is not a 1-based concept id`);
      if (seen.has(id)) throw new ArgumentError(`${what}: concept ${id} is listed twice`);
      seen.add(id);
    }
    if (o.variant === 'classification' && o.concepts.length > MAX_CLASSIFIED)
      throw new ArgumentError(`${what}: the classification variant trains at most ${MAX_CLASSIFIED} concepts at once, got ${o.concepts.length}`);
    if (!(o.alpha instanceof Float32Array) || o.alpha.length !== o.concepts.length)
      throw new ShapeError(`${what}: alpha needs one value per trained concept (${o.concepts.length}), got ${o.alpha instanceof Float32Array ? o.alpha.length : typeof o.alpha}`);
    o.alpha.forEach((a, i) => {
      if (!(a >= 0 && a <= 1)) throw new ArgumentError(`${what}: alpha of concept ${o.concepts[i]} must be in [0, 1], got ${a}`);
    });
    const lr = o.lr ?? NET2VEC_LR;
    if (!(Number.isFinite(lr) && lr > 0)) throw new ArgumentError(`${what}: the learning rate must be a positive number, got ${lr}`);
    this.engine = engine;
    this.o = o;
    this.units = o.units;
    this.concepts = [...o.concepts];
    this.variant = o.variant;
    this.lr = lr;
    this.c = o.concepts.length;
    this.q = Math.ceil(this.c / 4);
    this.pixels = o.maskH * o.maskW;
    this.kWords = Math.ceil(o.units / 32);
    this.pWords = Math.ceil(this.pixels / 32);
    this.cWords = Math.ceil(this.c / 32);
    this.tableLen = Math.max(...o.concepts) + 1;

    const seg = o.variant === 'segmentation';
    const stride = o.units + 1;
    const rows = 4 * this.q; // padded to whole chunks; rows ≥ C stay 0
    const nb = o.maxBatch;
    const buf = (bytes: number, label: string) => {
      const b = engine.createBuffer(bytes, `net2vec:${label}`);
      this.buffers.push(b);
      return b;
    };
    try {
      this.thresholdsBuf = buf(o.units * 4, 'thresholds');
      this.labelsBuf = buf(nb * o.maxPlanes * this.pixels * 4, 'labels');
      this.planeCountBuf = buf(16, 'plane-count');
      this.tableBuf = buf(this.tableLen * 4, 'table');
      this.alphaBuf = buf(rows * 4, 'alpha');
      this.weightsBuf = buf(rows * stride * 4, 'weights');
      this.gradBuf = buf(rows * stride * 4, 'gradient');
      this.mBuf = buf(this.c * stride * 4, 'adam-m');
      this.vBuf = buf(this.c * stride * 4, 'adam-v');
      this.hyperBuf = buf(16, 'hyper');
      this.stateBuf = buf(16, 'state');
      this.hpBuf = buf(16, 'adam-hp');
      this.lossBuf = buf(rows * 4, 'loss');
      this.countsBuf = buf(rows * 8 * 4, 'counts');
      this.unitBitsBuf = buf(o.units * nb * this.pWords * 4, 'unit-bits');
      if (seg) {
        this.pixelBitsBuf = buf(nb * this.pixels * this.kWords * 4, 'pixel-bits');
        this.dzBuf = buf(this.q * nb * this.pixels * 16, 'dz');
        this.partialsBuf = buf(this.q * Math.ceil((nb * this.pixels) / NK.net2vecLogits.overrides!.WG!) * 32, 'partials');
      } else {
        this.xBuf = buf(nb * o.units * 4, 'fractions');
        this.presentBuf = buf(nb * this.cWords * 4, 'present');
        this.dzBuf = buf(this.c * nb * 4, 'dz');
        this.lossesBuf = buf(this.c * nb * 4, 'losses');
      }
    } catch (e) {
      this.destroy();
      throw e;
    }
    const q = engine.device.queue;
    const table = new Uint32Array(this.tableLen);
    o.concepts.forEach((id, i) => (table[id] = i + 1));
    q.writeBuffer(this.tableBuf, 0, table);
    const alpha = new Float32Array(rows);
    alpha.set(o.alpha);
    q.writeBuffer(this.alphaBuf, 0, alpha);
    q.writeBuffer(this.hyperBuf, 0, new Float32Array([lr, BETA1, BETA2, EPS]));
  }

  private alive(): void {
    if (this.destroyed) throw new ArgumentError('Net2Vec: the trainer has been destroyed');
  }

  /** The dissection thresholds T_k, one per unit. */
  setThresholds(t: Float32Array): void {
    this.alive();
    if (!(t instanceof Float32Array) || t.length !== this.units) throw new ShapeError(`Net2Vec: thresholds need one value per unit (${this.units}), got ${t instanceof Float32Array ? t.length : typeof t}`);
    for (let k = 0; k < t.length; k++) if (!Number.isFinite(t[k]!)) throw new ArgumentError(`Net2Vec: the threshold of unit ${k} is ${t[k]}`);
    this.engine.device.queue.writeBuffer(this.thresholdsBuf, 0, t.buffer, t.byteOffset, t.byteLength);
    this.thresholdsSet = true;
  }

  /** Labels of the next run: batch×planes×maskH×maskW concept ids (ids not trained, and 0, are "none"). */
  setLabels(labels: Uint32Array, batch: number, planes: number): void {
    this.alive();
    if (!isCount(batch) || batch > this.o.maxBatch) throw new ShapeError(`Net2Vec: a batch holds 1 to ${this.o.maxBatch} images, got ${batch}`);
    if (!isCount(planes, 0) || planes > this.o.maxPlanes) throw new ShapeError(`Net2Vec: an image has 0 to ${this.o.maxPlanes} label planes, got ${planes}`);
    const want = batch * planes * this.pixels;
    if (!(labels instanceof Uint32Array) || labels.length !== want)
      throw new ShapeError(`Net2Vec: labels of ${batch} images × ${planes} planes × ${this.o.maskH}×${this.o.maskW} need ${want} values, got ${labels instanceof Uint32Array ? labels.length : typeof labels}`);
    const q = this.engine.device.queue;
    if (want > 0) q.writeBuffer(this.labelsBuf, 0, labels.buffer, labels.byteOffset, labels.byteLength);
    q.writeBuffer(this.planeCountBuf, 0, new Uint32Array([planes, 0, 0, 0]));
    this.labelBatch = batch;
  }

  /** Replaces the weights (concepts × (units + 1), bias last) and restarts Adam (its moments and step count). */
  setWeights(w: Float32Array): void {
    this.alive();
    const n = this.c * (this.units + 1);
    if (!(w instanceof Float32Array) || w.length !== n) throw new ShapeError(`Net2Vec: weights are ${this.c} concepts × ${this.units + 1} values (${n}), got ${w instanceof Float32Array ? w.length : typeof w}`);
    for (let i = 0; i < n; i++) if (!Number.isFinite(w[i]!)) throw new ArgumentError(`Net2Vec: weight ${i} is ${w[i]}`);
    const q = this.engine.device.queue;
    q.writeBuffer(this.weightsBuf, 0, w.buffer, w.byteOffset, w.byteLength);
    q.writeBuffer(this.mBuf, 0, new Float32Array(n));
    q.writeBuffer(this.vBuf, 0, new Float32Array(n));
    q.writeBuffer(this.stateBuf, 0, new Uint32Array([0, 0, 0, 0]));
    q.writeBuffer(this.lossBuf, 0, new Float32Array(4 * this.q));
  }

  /** Adam's learning rate from the next step on. */
  setLearningRate(lr: number): void {
    this.alive();
    if (!(Number.isFinite(lr) && lr > 0)) throw new ArgumentError(`Net2Vec: the learning rate must be a positive number, got ${lr}`);
    this.engine.device.queue.writeBuffer(this.hyperBuf, 0, new Float32Array([lr]));
  }

  /**
   * The dispatches of one batch on the layer's activations `act` (batch × units × h × w, `shape`):
   * 'train': the masks, loss and gradient over the batch, then one Adam step; 'evaluate': the masks
   * and the held-out tallies. Built without awaiting; may be replayed for later batches of the same
   * size, each after its setLabels.
   */
  dispatches(act: GPUBuffer, batch: number, shape: number[], mode: 'train' | 'evaluate'): Dispatch[] {
    this.alive();
    if (mode !== 'train' && mode !== 'evaluate') throw new ArgumentError(`Net2Vec: mode must be "train" or "evaluate", got ${JSON.stringify(mode)}`);
    if (!Array.isArray(shape) || shape.length !== 4 || shape[0] !== batch || shape[1] !== this.units || !isCount(shape[2]!) || !isCount(shape[3]!))
      throw new ShapeError(`Net2Vec: activations must be ${batch} × ${this.units} units × h × w, got [${Array.isArray(shape) ? shape.join(', ') : shape}]`);
    if (!isCount(batch) || batch > this.o.maxBatch) throw new ShapeError(`Net2Vec: a batch holds 1 to ${this.o.maxBatch} images, got ${batch}`);
    const [, , h, w] = shape as [number, number, number, number];
    if (act.size < batch * this.units * h * w * 4) throw new ShapeError(`Net2Vec: the activation buffer holds ${act.size} bytes, ${batch}×${this.units}×${h}×${w} floats need ${batch * this.units * h * w * 4}`);
    if (!this.thresholdsSet) throw new ArgumentError('Net2Vec: setThresholds before the first batch');
    if (this.labelBatch === undefined) throw new ArgumentError('Net2Vec: setLabels before the first batch');
    if (this.labelBatch !== batch) throw new ShapeError(`Net2Vec: the labels set are of ${this.labelBatch} images, the batch has ${batch}`);
    return this.variant === 'segmentation' ? this.segmentation(act, batch, h, w, mode) : this.classification(act, batch, h, w, mode);
  }

  private bits(act: GPUBuffer, n: number, h: number, w: number, layouts: 'both' | 'pixels' | 'units'): Dispatch {
    const o = this.o;
    return this.engine.makeDispatch(NK.net2vecBits, {
      defines: layouts === 'pixels' ? ['NO_UNITS'] : layouts === 'units' ? ['NO_PIXELS'] : [],
      uniforms: { n, units: o.units, h, w, maskH: o.maskH, maskW: o.maskW, kWords: this.kWords, pWords: this.pWords },
      bindings: { act, thresholds: this.thresholdsBuf, pixelBits: layouts === 'units' ? undefined : this.pixelBitsBuf, unitBits: layouts === 'pixels' ? undefined : this.unitBitsBuf },
      threads: n * this.kWords * this.pWords, label: 'net2vec_bits', flops: 8 * n * o.units * this.pixels,
    });
  }

  /** Adam's step count and bias corrections, then the update of the C × (K + 1) weights. */
  private update(): Dispatch[] {
    const total = this.c * (this.units + 1);
    return [
      this.engine.makeDispatch(NK.net2vecStep, { bindings: { hyper: this.hyperBuf, state: this.stateBuf, hp: this.hpBuf }, workgroups: [1, 1, 1], label: 'net2vec_step' }),
      this.engine.makeDispatch(TK.adam, { uniforms: { total }, bindings: { hp: this.hpBuf, g: this.gradBuf, p: this.weightsBuf, m: this.mBuf, v: this.vBuf }, threads: total, label: 'net2vec_adam' }),
    ];
  }

  private segmentation(act: GPUBuffer, n: number, h: number, w: number, mode: 'train' | 'evaluate'): Dispatch[] {
    const total = n * this.pixels;
    const wg = NK.net2vecLogits.overrides!.WG!;
    const groups = Math.ceil(total / wg);
    const [gx, gy] = foldWorkgroups(groups);
    const common = { n, units: this.units, kWords: this.kWords, pixels: this.pixels, tableLen: this.tableLen, groups };
    const inputs = { pixelBits: this.pixelBitsBuf!, weights: this.weightsBuf, labels: this.labelsBuf, planeCount: this.planeCountBuf, table: this.tableBuf };
    if (mode === 'evaluate') {
      return [
        this.bits(act, n, h, w, 'pixels'),
        this.engine.makeDispatch(NK.net2vecLogits, { defines: ['EVAL'], uniforms: common, bindings: { ...inputs, counts: this.countsBuf }, workgroups: [gx, gy, this.q], label: 'net2vec_logits:eval' }),
      ];
    }
    return [
      this.bits(act, n, h, w, 'both'),
      this.engine.makeDispatch(NK.net2vecLogits, { uniforms: common, bindings: { ...inputs, alpha: this.alphaBuf, dz: this.dzBuf, partials: this.partialsBuf! }, workgroups: [gx, gy, this.q], label: 'net2vec_logits' }),
      this.engine.makeDispatch(NK.net2vecGrad, {
        uniforms: { n, units: this.units, pWords: this.pWords, pixels: this.pixels, groups },
        bindings: { unitBits: this.unitBitsBuf, dz: this.dzBuf, partials: this.partialsBuf!, grad: this.gradBuf, lossSum: this.lossBuf },
        workgroups: [this.units + 1, this.q, 1], label: 'net2vec_grad',
      }),
      ...this.update(),
    ];
  }

  private classification(act: GPUBuffer, n: number, h: number, w: number, mode: 'train' | 'evaluate'): Dispatch[] {
    const units = this.units, concepts = this.c;
    const ds = [
      this.bits(act, n, h, w, 'units'),
      this.engine.makeDispatch(NK.net2vecFractions, { uniforms: { n, units, pWords: this.pWords, pixels: this.pixels }, bindings: { unitBits: this.unitBitsBuf, x: this.xBuf! }, threads: n * units, label: 'net2vec_fractions' }),
      this.engine.makeDispatch(NK.net2vecPresent, {
        uniforms: { pixels: this.pixels, tableLen: this.tableLen, cWords: this.cWords },
        bindings: { labels: this.labelsBuf, planeCount: this.planeCountBuf, table: this.tableBuf, present: this.presentBuf! }, workgroups: [n, 1, 1], label: 'net2vec_present',
      }),
    ];
    const uniforms = { n, units, concepts, cWords: this.cWords };
    const inputs = { x: this.xBuf!, weights: this.weightsBuf, present: this.presentBuf! };
    if (mode === 'evaluate')
      return [...ds, this.engine.makeDispatch(NK.net2vecImageLogits, { defines: ['EVAL'], uniforms, bindings: { ...inputs, counts: this.countsBuf }, threads: concepts * n, label: 'net2vec_image_logits:eval' })];
    return [
      ...ds,
      this.engine.makeDispatch(NK.net2vecImageLogits, { uniforms, bindings: { ...inputs, alpha: this.alphaBuf, dz: this.dzBuf, losses: this.lossesBuf! }, threads: concepts * n, label: 'net2vec_image_logits' }),
      this.engine.makeDispatch(NK.net2vecImageGrad, {
        uniforms: { n, units, concepts }, bindings: { x: this.xBuf!, dz: this.dzBuf, losses: this.lossesBuf!, grad: this.gradBuf, lossSum: this.lossBuf },
        threads: concepts * (units + 1), label: 'net2vec_image_grad',
      }),
      ...this.update(),
    ];
  }

  /** The weights, concepts × (units + 1) (bias last). */
  async weights(): Promise<Float32Array> {
    this.alive();
    return this.engine.readFloats(this.weightsBuf, this.c * (this.units + 1));
  }

  /** The gradient of the last trained batch's loss at the weights before its Adam step, concepts × (units + 1). */
  async gradient(): Promise<Float32Array> {
    this.alive();
    return this.engine.readFloats(this.gradBuf, this.c * (this.units + 1));
  }

  /** Adam steps taken since the start (or the last setWeights). */
  async steps(): Promise<number> {
    this.alive();
    const [ab] = await this.engine.run([], [{ buffer: this.stateBuf, bytes: 8 }]);
    return new Uint32Array(ab!)[0]!;
  }

  /** The mean loss per concept of the batches trained since the last call (NaN where none was). */
  async loss(): Promise<Float32Array> {
    this.alive();
    const [sum, state] = await this.engine.run([], [{ buffer: this.lossBuf, bytes: this.c * 4 }, { buffer: this.stateBuf, bytes: 8 }]);
    const batches = new Uint32Array(state!)[1]!;
    const out = new Float32Array(sum!).map((s) => (batches > 0 ? s / batches : NaN));
    const q = this.engine.device.queue;
    q.writeBuffer(this.lossBuf, 0, new Float32Array(4 * this.q));
    q.writeBuffer(this.stateBuf, 4, new Uint32Array([0]));
    return out;
  }

  /**
   * The evaluate passes since resetEvaluation(): per trained concept, segmentation: the set IoU of
   * the mask σ(z) > ½ over the held-out pixels; classification: the same over images, and the
   * accuracy of "z > 0" against "c is present". IoU 0 where nothing was predicted or labelled.
   */
  async evaluation(): Promise<Net2VecEvaluation> {
    this.alive();
    const [ab] = await this.engine.run([], [{ buffer: this.countsBuf, bytes: this.c * 32 }]);
    const u = new Uint32Array(ab!);
    const at = (c: number, j: number) => u[c * 8 + j]! + u[c * 8 + j + 1]! * 2 ** 32;
    const intersections = new Float64Array(this.c), unions = new Float64Array(this.c), iou = new Float64Array(this.c);
    for (let c = 0; c < this.c; c++) {
      intersections[c] = at(c, 0);
      unions[c] = at(c, 2);
      iou[c] = unions[c]! > 0 ? intersections[c]! / unions[c]! : 0;
    }
    if (this.variant === 'segmentation') return { iou, intersections, unions };
    const accuracy = new Float64Array(this.c);
    for (let c = 0; c < this.c; c++) accuracy[c] = at(c, 6) > 0 ? at(c, 4) / at(c, 6) : 0;
    return { iou, intersections, unions, accuracy };
  }

  resetEvaluation(): void {
    this.alive();
    this.engine.device.queue.writeBuffer(this.countsBuf, 0, new Uint32Array(4 * this.q * 8));
  }

  /**
   * The binary unit masks of the last batch (tests): n × units × maskH·maskW, 0 or 1, from the
   * unit-major words (written by 'train' passes and by both classification passes) or the pixel-major
   * ones (segmentation passes).
   */
  async masks(n: number, layout: 'units' | 'pixels' = 'units'): Promise<Uint8Array> {
    this.alive();
    if (!isCount(n) || n > this.o.maxBatch) throw new ShapeError(`Net2Vec: a batch holds 1 to ${this.o.maxBatch} images, got ${n}`);
    if (layout === 'pixels' && !this.pixelBitsBuf) throw new ArgumentError('Net2Vec: the classification variant keeps no pixel-major masks');
    const buffer = layout === 'units' ? this.unitBitsBuf : this.pixelBitsBuf!;
    const [ab] = await this.engine.run([], [{ buffer, bytes: (layout === 'units' ? this.units * n * this.pWords : n * this.pixels * this.kWords) * 4 }]);
    const words = new Uint32Array(ab!);
    const out = new Uint8Array(n * this.units * this.pixels);
    for (let img = 0; img < n; img++)
      for (let k = 0; k < this.units; k++)
        for (let p = 0; p < this.pixels; p++) {
          const word = layout === 'units' ? words[(k * n + img) * this.pWords + (p >> 5)]! >>> (p & 31) : words[(img * this.pixels + p) * this.kWords + (k >> 5)]! >>> (k & 31);
          out[(img * this.units + k) * this.pixels + p] = word & 1;
        }
    return out;
  }

  destroy(): void {
    for (const b of this.buffers) this.engine.destroyBuffer(b);
    this.buffers = [];
    this.destroyed = true;
  }
}
