// Net2Vec (Fong & Vedaldi 2018; METHODS.md §7, issue 16): a concept is often carried by a
// combination of filters, not one. Per concept c a weight vector w_c over the layer's thresholded
// units is learned on the GPU (engine/net2vec.ts, the engine's Adam): segmentation,
// M(x; w) = σ(Σ_k w_ck I(S(A_k(x)) > T_k) + b_c) per pixel against the concept's mask (weighted
// binary cross-entropy, α_c = 1 − the concept's share of the training pixels); or classification,
// σ(Σ_k w_ck · mean_p I_k(p) + b_c) against "c is in the image". The thresholds T_k are dissection's
// (explainers/dissect.ts), computed on the training images. On held-out images the learned mask's
// set IoU is reported beside the best single unit's (the dissection tally of the held-out images
// with the same thresholds), and the weight vectors are the concepts' embeddings.
import type { Model } from '../engine/runner.ts';
import { ArgumentError, throwIfCancelled } from '../engine/errors.ts';
import { mulberry32 as rng } from '../engine/train.ts';
import { ConceptTally, iouTable, labelPlanes } from '../engine/dissect.ts';
import { Net2VecTrainer } from '../engine/net2vec.ts';
import { checkConceptSet, type ConceptSet } from '../loaders/concepts.ts';
import type { Explanation } from './explanation.ts';
import { batches, conceptPixels, InputStream, LayerStream, layerMaps, maskSizeOf, maxPlanes, uniqueKey, unitThresholds, type DissectOptions, type DissectProgress } from './dissect.ts';

export interface Net2VecOptions {
  layer: string;
  /** concept names (or ids as text); empty: every concept in at least two training and one held-out image */
  concepts: string[];
  variant: 'segmentation' | 'classification';
  /** passes over the training images */
  epochs: number;
  /** Adam's step size (engine/net2vec.ts's default when undefined) */
  lr?: number;
  /** the thresholds' quantile, as dissection's */
  quantile: number;
  /** shuffles the training images each epoch */
  seed: number;
  /** share of the images held out when the set has no split column (every ⌈1/share⌉-th image) */
  holdout: number;
  maskSize?: [number, number];
  batch?: number;
  bins?: number;
  preprocess: DissectOptions['preprocess'];
  /** the network's input of sample i when the caller has it already (the registry's batch) */
  input?: (sample: number) => Float32Array;
}

export interface ConceptVector {
  concept: string;
  id: number;
  category: string;
  /** segmentation: the learned mask's held-out set IoU; classification: held-out accuracy */
  score: number;
  /** the best single unit on the held-out images: its index and IoU (segmentation) */
  bestUnit: number;
  bestUnitIoU: number;
  /** the concept's share of training pixels (segmentation) or images (classification) */
  frequency: number;
  alpha: number;
}

export interface Net2VecResult {
  layer: string;
  value: string;
  shape: [number, number, number];
  variant: 'segmentation' | 'classification';
  concepts: ConceptVector[];
  /** concepts × (units + 1): each concept's weights, bias last */
  weights: Float32Array;
  /** cosine similarity of the concepts' weight vectors (bias left out), concepts × concepts */
  similarity: Float64Array;
  /** mean training loss per epoch, per concept: epochs × concepts */
  loss: Float32Array;
  thresholds: Float32Array;
  train: number;
  heldOut: number;
  mask: [number, number];
  seconds: number;
}

export function checkNet2VecOptions(o: Net2VecOptions): void {
  if (!Number.isInteger(o.epochs) || o.epochs < 1 || o.epochs > 10000) throw new ArgumentError(`net2vec: --epochs must be an integer in [1, 10000], got ${o.epochs}`);
  if (o.lr !== undefined && !(o.lr > 0 && o.lr < 100)) throw new ArgumentError(`net2vec: --lr must be in (0, 100), got ${o.lr}`);
  if (!(o.quantile > 0 && o.quantile < 1)) throw new ArgumentError(`net2vec: --quantile must be in (0, 1), got ${o.quantile}`);
  if (!(o.holdout > 0 && o.holdout < 1)) throw new ArgumentError(`net2vec: --holdout must be in (0, 1), got ${o.holdout}`);
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) throw new ArgumentError(`net2vec: --seed must be an integer in [0, 4294967295], got ${o.seed}`);
  if (o.variant !== 'segmentation' && o.variant !== 'classification') throw new ArgumentError(`net2vec: --variant must be segmentation or classification, got ${o.variant}`);
}

/** Training and held-out sample indices: the set's split column when it has one (val/test held out), else every ⌈1/share⌉-th image. */
export function splitSamples(set: ConceptSet, share: number): { train: number[]; held: number[] } {
  const train: number[] = [], held: number[] = [];
  const bySplit = set.samples.some((s) => s.split !== undefined && s.split !== 'train');
  const every = Math.max(2, Math.round(1 / share));
  set.samples.forEach((s, i) => {
    const out = bySplit ? s.split !== undefined && s.split !== 'train' : i % every === every - 1;
    (out ? held : train).push(i);
  });
  if (train.length === 0 || held.length === 0) throw new ArgumentError(`${set.source}: ${set.samples.length} images leave ${train.length} to train on and ${held.length} to hold out; Net2Vec needs both`);
  return { train, held };
}

function shuffled(xs: number[], next: () => number): number[] {
  const a = xs.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Per concept id, the images (of `indices`) that carry it anywhere. */
function conceptImages(set: ConceptSet, indices: number[]): Float64Array {
  const count = new Float64Array(set.concepts.length + 1);
  for (const i of indices) {
    const s = set.samples[i]!;
    const ids = new Set<number>(s.whole);
    for (const m of s.maps) for (const v of m) if (v) ids.add(v);
    for (const id of ids) count[id]!++;
  }
  return count;
}

export async function net2vec(model: Model, set: ConceptSet, o: Net2VecOptions, progress?: DissectProgress, signal?: AbortSignal): Promise<Net2VecResult> {
  checkNet2VecOptions(o);
  checkConceptSet(set);
  const t0 = performance.now();
  const [, c, h, w] = model.graph.input.shape;
  if (c === undefined || h === undefined || w === undefined) throw new ArgumentError(`net2vec needs an image input (N×C×H×W); the model takes [${model.graph.input.shape.join(', ')}]`);
  const { value, shape } = layerMaps(model, o.layer);
  const K = shape[0], C = set.concepts.length;
  const [maskH, maskW] = maskSizeOf(set, o.maskSize);
  const { train, held } = splitSamples(set, o.holdout);
  const trainSamples = train.map((i) => set.samples[i]!);
  const seg = o.variant === 'segmentation';
  const freqTrain = seg ? conceptPixels(trainSamples, C, maskH, maskW) : conceptImages(set, train);
  const heldImages = conceptImages(set, held), trainImages = conceptImages(set, train);
  const units = seg ? maskH * maskW * train.length : train.length;
  // the concepts trained: the ones asked for, by name or id, else every one seen in ≥ 2 training and ≥ 1 held-out image
  const byName = new Map(set.concepts.map((cc) => [cc.name, cc.id]));
  const ids = o.concepts.length
    ? o.concepts.map((name) => {
        const id = byName.get(name) ?? (/^\d+$/.test(name) ? Number(name) : NaN);
        if (!(id >= 1 && id <= C)) throw new ArgumentError(`net2vec: --concepts names "${name}", which is not a concept of ${set.source}`);
        if (trainImages[id] === 0) throw new ArgumentError(`net2vec: concept "${name}" appears in none of the ${train.length} training images`);
        if (heldImages[id] === 0) throw new ArgumentError(`net2vec: concept "${name}" appears in none of the ${held.length} held-out images, so its IoU cannot be measured (change --holdout, or give more images)`);
        return id;
      })
    : set.concepts.filter((cc) => trainImages[cc.id]! >= 2 && heldImages[cc.id]! >= 1 && (seg || trainImages[cc.id]! < train.length)).map((cc) => cc.id);
  if (ids.length === 0) throw new ArgumentError(`net2vec: no concept of ${set.source} is in at least two training images and one held-out image; name them with --concepts`);
  const alpha = new Float32Array(ids.map((id) => 1 - freqTrain[id]! / units));
  const n = Math.max(1, Math.min(o.batch ?? 16, model.maxBatch([value])));
  const inputs = new InputStream(set.samples, o.preprocess, [c, h, w], undefined, o.input);
  const nTrain = Math.ceil(train.length / n), nHeld = Math.ceil(held.length / n);
  const total = 3 * nTrain + o.epochs * nTrain + 2 * nHeld;
  let done = 0;
  const tick = (stage: string) => progress?.(`${o.layer}: ${stage}`, ++done, total);
  const stream = new LayerStream(model, value, shape, inputs, set.samples.length);

  const { thresholds, passes } = await unitThresholds(model, shape, stream, train, n, { quantile: o.quantile, bins: o.bins }, () => tick('thresholds'), signal);
  done += (3 - passes) * nTrain;
  const planes = maxPlanes(set.samples);
  const trainer = new Net2VecTrainer(model.engine, { units: K, concepts: ids, maskH, maskW, maxBatch: n, maxPlanes: planes, variant: o.variant, lr: o.lr, alpha });
  const tally = new ConceptTally(model.engine, { units: K, concepts: C, maskH, maskW, maxBatch: n, maxPlanes: planes });
  try {
    trainer.setThresholds(thresholds);
    tally.setThresholds(thresholds);
    const next = rng(o.seed);
    const loss = new Float32Array(o.epochs * ids.length);
    const trainKey = uniqueKey('net2vec:train');
    for (let e = 0; e < o.epochs; e++) {
      for (const b of batches(shuffled(train, next), n)) {
        throwIfCancelled(signal, 'net2vec');
        const lab = labelPlanes(b.map((i) => set.samples[i]!), maskH, maskW);
        trainer.setLabels(lab.data, b.length, lab.planes);
        await stream.run(b, trainKey, (buf, batch, s) => trainer.dispatches(buf, batch, s, 'train'));
        tick('training');
      }
      loss.set(await trainer.loss(), e * ids.length);
    }
    // held out: the learned masks, then every single unit (dissection's tally with the same thresholds)
    trainer.resetEvaluation();
    const evalKey = uniqueKey('net2vec:evaluate');
    for (const b of batches(held, n)) {
      throwIfCancelled(signal, 'net2vec');
      const lab = labelPlanes(b.map((i) => set.samples[i]!), maskH, maskW);
      trainer.setLabels(lab.data, b.length, lab.planes);
      await stream.run(b, evalKey, (buf, batch, s) => trainer.dispatches(buf, batch, s, 'evaluate'));
      tick('held-out');
    }
    const ev = await trainer.evaluation();
    const tallyKey = uniqueKey('net2vec:tally');
    for (const b of batches(held, n)) {
      throwIfCancelled(signal, 'net2vec');
      const lab = labelPlanes(b.map((i) => set.samples[i]!), maskH, maskW);
      tally.setLabels(lab.data, b.length, lab.planes);
      await stream.run(b, tallyKey, (buf, batch, s) => tally.dispatches(buf, batch, s));
      await tally.afterRun(b.length);
      tick('held-out');
    }
    const iou = iouTable(await tally.totals(), K, C);
    const weights = await trainer.weights();
    const concepts: ConceptVector[] = ids.map((id, j) => {
      let bestUnit = 0, bestUnitIoU = 0;
      for (let k = 0; k < K; k++) {
        const v = iou[k * (C + 1) + id]!;
        if (v > bestUnitIoU) [bestUnit, bestUnitIoU] = [k, v];
      }
      const cc = set.concepts[id - 1]!;
      return {
        concept: cc.name, id, category: cc.category, score: seg ? ev.iou[j]! : ev.accuracy![j]!,
        bestUnit, bestUnitIoU, frequency: freqTrain[id]! / units, alpha: alpha[j]!,
      };
    });
    return {
      layer: o.layer, value, shape, variant: o.variant, concepts, weights, similarity: cosineTable(weights, ids.length, K + 1, K),
      loss, thresholds, train: train.length, heldOut: held.length, mask: [maskH, maskW], seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    trainer.destroy();
    tally.destroy();
    stream.destroy();
  }
}

/** Cosine similarity of the rows of a rows × stride matrix over their first `use` columns. */
export function cosineTable(m: Float32Array, rows: number, stride: number, use: number): Float64Array {
  const out = new Float64Array(rows * rows);
  const norm = (i: number) => {
    let s = 0;
    for (let k = 0; k < use; k++) s += m[i * stride + k]! ** 2;
    return Math.sqrt(s);
  };
  const norms = Array.from({ length: rows }, (_, i) => norm(i));
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < rows; j++) {
      let s = 0;
      for (let k = 0; k < use; k++) s += m[i * stride + k]! * m[j * stride + k]!;
      out[i * rows + j] = norms[i]! > 0 && norms[j]! > 0 ? s / (norms[i]! * norms[j]!) : 0;
    }
  return out;
}

/** A Net2Vec result as an Explanation (the registry's face): the weights and similarities as tensors, the rest in the metadata; `net2vecOf` reads it back. */
export function net2vecExplanation(r: Net2VecResult, names: readonly string[], parameters: Record<string, unknown>): Explanation {
  const C = r.concepts.length, K = r.shape[0];
  return {
    method: 'net2vec',
    tensors: {
      weights: { shape: [C, K + 1], data: r.weights },
      similarity: { shape: [C, C], data: Float32Array.from(r.similarity) },
      loss: { shape: [r.loss.length / Math.max(1, C), C], data: r.loss },
      thresholds: { shape: [K], data: r.thresholds },
    },
    meta: JSON.parse(JSON.stringify({
      method: 'net2vec', inputs: names, parameters, layer: r.layer, value: r.value, shape: r.shape, variant: r.variant, concepts: r.concepts,
      train: r.train, heldOut: r.heldOut, mask: r.mask, seconds: r.seconds,
      stored: 'per concept: the held-out score of the learned combination (set IoU, or accuracy for classification) beside the best single unit; tensors weights (concepts × units+1, bias last), similarity, loss (epochs × concepts), thresholds',
    })),
    table: { columns: ['concept_id', 'net2vec', 'best_unit', 'best_unit_iou'], rows: r.concepts.map((c) => [c.id, c.score, c.bestUnit, c.bestUnitIoU]) },
    note: `net2vec: ${r.concepts.map((c) => `${c.concept} ${c.score.toFixed(3)} (best unit ${c.bestUnitIoU.toFixed(3)})`).join(', ')}`,
  };
}

/** The Net2VecResult an Explanation of `net2vecExplanation` holds. */
export function net2vecOf(e: Explanation): Net2VecResult {
  const m = e.meta as unknown as Omit<Net2VecResult, 'weights' | 'similarity' | 'loss' | 'thresholds'>;
  return { ...m, weights: e.tensors.weights!.data as Float32Array, similarity: Float64Array.from(e.tensors.similarity!.data), loss: e.tensors.loss!.data as Float32Array, thresholds: e.tensors.thresholds!.data as Float32Array };
}
