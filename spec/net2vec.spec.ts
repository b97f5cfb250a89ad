// Net2Vec on the GPU (engine/net2vec.ts, kernels/net2vec_*.wgsl) against a float64 CPU reference
// written here: the unit masks I_k(p) = [S(A_k)(p) > T_k] (bilinear, half-pixel centres), the
// α-balanced binary cross-entropy and its gradient by central finite differences, for both variants;
// a concept planted as the union of two half-detectors learned to IoU ≈ 1 where each unit alone
// reaches 0.5; the classification variant separating images with and without a concept; exact
// tallies; bit-identical weights from identical inputs; and bad input as one-line typed errors.
import { expect } from 'chai';
import { getEngine, rng, type Rng } from './helpers.ts';
import type { Engine } from '../engine/gpu.ts';
import { Net2VecTrainer, NET2VEC_LR, type Net2VecOptions } from '../engine/net2vec.ts';
import { ArgumentError, LoupeError, ShapeError } from '../engine/errors.ts';

// ---- the CPU reference ----------------------------------------------------------------------

/** Source taps of output o of `out` from `size`: half-pixel centres, clamped (align_corners = false). */
function taps(o: number, size: number, out: number): [number, number, number] {
  const s = Math.min(Math.max(((o + 0.5) * size) / out - 0.5, 0), size - 1);
  const i0 = Math.floor(s);
  return [i0, Math.min(i0 + 1, size - 1), s - i0];
}

/** S(A_k) at label resolution, n × K × S_h·S_w, float64. */
function upsample(act: Float32Array, n: number, k: number, h: number, w: number, sh: number, sw: number): Float64Array {
  const out = new Float64Array(n * k * sh * sw);
  for (let m = 0; m < n * k; m++)
    for (let y = 0; y < sh; y++) {
      const [y0, y1, fy] = taps(y, h, sh);
      for (let x = 0; x < sw; x++) {
        const [x0, x1, fx] = taps(x, w, sw);
        const a = (yy: number, xx: number) => act[m * h * w + yy * w + xx]!;
        const top = a(y0, x0) * (1 - fx) + a(y0, x1) * fx;
        const bottom = a(y1, x0) * (1 - fx) + a(y1, x1) * fx;
        out[(m * sh + y) * sw + x] = top * (1 - fy) + bottom * fy;
      }
    }
  return out;
}

/** L_c(p) for each trained concept: [C][n][S] 0/1, a pixel carrying c when any plane holds it. */
function targets(labels: Uint32Array, n: number, planes: number, s: number, concepts: number[]): Uint8Array {
  const out = new Uint8Array(concepts.length * n * s);
  concepts.forEach((id, c) => {
    for (let img = 0; img < n; img++)
      for (let pl = 0; pl < planes; pl++)
        for (let p = 0; p < s; p++) if (labels[(img * planes + pl) * s + p] === id) out[(c * n + img) * s + p] = 1;
  });
  return out;
}

const softplus = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
const bce = (z: number, l: number, a: number) => a * l * softplus(-z) + (1 - a) * (1 - l) * softplus(z);

/** Segmentation: the mean per-pixel loss of each concept for weights w (C × (K+1), bias last). */
function segLoss(w: ArrayLike<number>, masks: Uint8Array, lab: Uint8Array, alpha: Float32Array, n: number, k: number, s: number): Float64Array {
  const c = alpha.length, out = new Float64Array(c);
  for (let ci = 0; ci < c; ci++) {
    let sum = 0;
    for (let img = 0; img < n; img++)
      for (let p = 0; p < s; p++) {
        let z = w[ci * (k + 1) + k]!;
        for (let u = 0; u < k; u++) if (masks[(img * k + u) * s + p]) z += w[ci * (k + 1) + u]!;
        sum += bce(z, lab[(ci * n + img) * s + p]!, alpha[ci]!);
      }
    out[ci] = sum / (n * s);
  }
  return out;
}

/** Classification: x_k = mean_p I_k(p) per image; the mean per-image loss of each concept. */
function clsLoss(w: ArrayLike<number>, masks: Uint8Array, lab: Uint8Array, alpha: Float32Array, n: number, k: number, s: number): Float64Array {
  const c = alpha.length, out = new Float64Array(c);
  for (let ci = 0; ci < c; ci++) {
    let sum = 0;
    for (let img = 0; img < n; img++) {
      let z = w[ci * (k + 1) + k]!, present = 0;
      for (let u = 0; u < k; u++) {
        let f = 0;
        for (let p = 0; p < s; p++) f += masks[(img * k + u) * s + p]!;
        z += (w[ci * (k + 1) + u]! * f) / s;
      }
      for (let p = 0; p < s; p++) present ||= lab[(ci * n + img) * s + p]!;
      sum += bce(z, present, alpha[ci]!);
    }
    out[ci] = sum / n;
  }
  return out;
}

/** Central finite differences of the summed loss (concepts are independent, so row c is dLoss_c/dw_c). */
function finiteDifferences(loss: (w: Float64Array) => Float64Array, w0: Float32Array, eps = 1e-4): Float64Array {
  const w = Float64Array.from(w0), g = new Float64Array(w.length);
  const total = (v: Float64Array) => loss(v).reduce((a, b) => a + b, 0);
  for (let i = 0; i < w.length; i++) {
    const keep = w[i]!;
    w[i] = keep + eps;
    const up = total(w);
    w[i] = keep - eps;
    g[i] = (up - total(w)) / (2 * eps);
    w[i] = keep;
  }
  return g;
}

/** IoU of a binary mask against the target over the whole set: Σ|M ∩ L| / Σ|M ∪ L|. */
function iouOf(pred: (i: number) => boolean, lab: (i: number) => boolean, count: number): { inter: number; union: number } {
  let inter = 0, union = 0;
  for (let i = 0; i < count; i++) {
    const a = pred(i), b = lab(i);
    if (a && b) inter++;
    if (a || b) union++;
  }
  return { inter, union };
}

// ---- running the trainer -------------------------------------------------------------------------

interface Batch {
  act: Float32Array;
  n: number;
  h: number;
  w: number;
  labels: Uint32Array;
  planes: number;
}

async function pass(e: Engine, t: Net2VecTrainer, b: Batch, mode: 'train' | 'evaluate'): Promise<void> {
  const buf = e.upload(b.act, 'spec:net2vec-act');
  try {
    t.setLabels(b.labels, b.n, b.planes);
    await e.run(t.dispatches(buf, b.n, [b.n, t.units, b.h, b.w], mode));
  } finally {
    e.release(buf);
  }
}

/** A random batch: activations in [0, 1) at h×w, `planes` label planes of ids 0..maxId at sh×sw. */
function randomBatch(r: Rng, n: number, k: number, h: number, w: number, sh: number, sw: number, planes: number, maxId: number): Batch {
  const labels = new Uint32Array(n * planes * sh * sw);
  for (let i = 0; i < labels.length; i++) labels[i] = r.int(0, maxId);
  return { act: r.array(n * k * h * w, 0, 1), n, h, w, labels, planes };
}

/**
 * The planted concept (id 4): a square of even side at a random place in each 16×16 image; unit 1
 * fires exactly on its left half, unit 2 on its right half (activation 1, threshold 0.5); units 0, 3,
 * 4, 5 are random distractors (threshold 0.8: they fire on 20% of the pixels). A second plane holds
 * id 2 (not trained) on random pixels, and sometimes id 4 again where the square is.
 */
const K = 6, SIDE = 16, S = SIDE * SIDE;
const PLANTED_T = new Float32Array([0.8, 0.5, 0.5, 0.8, 0.8, 0.8]);
function plantedBatch(r: Rng, n: number): Batch {
  const act = new Float32Array(n * K * S), labels = new Uint32Array(n * 2 * S);
  for (let img = 0; img < n; img++) {
    for (const u of [0, 3, 4, 5]) for (let p = 0; p < S; p++) act[(img * K + u) * S + p] = r.next();
    const side = 2 * r.int(2, 5), y0 = r.int(0, SIDE - side), x0 = r.int(0, SIDE - side), twice = r.bool();
    for (let p = 0; p < S; p++) if (r.bool(0.1)) labels[(img * 2 + 1) * S + p] = 2;
    for (let y = y0; y < y0 + side; y++)
      for (let x = x0; x < x0 + side; x++) {
        const p = y * SIDE + x;
        act[(img * K + (x < x0 + side / 2 ? 1 : 2)) * S + p] = 1;
        labels[img * 2 * S + p] = 4;
        if (twice) labels[(img * 2 + 1) * S + p] = 4;
      }
  }
  return { act, n, h: SIDE, w: SIDE, labels, planes: 2 };
}

function expectError(f: () => unknown, type: typeof LoupeError, mention: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${type.name} matching ${mention}`).to.be.instanceOf(type);
  const m = (err as Error).message;
  expect(m).to.match(mention);
  expect(m).not.to.contain('\n');
}

// ---- specs -----------------------------------------------------------------------------------------

describe('Net2Vec on the GPU', function () {
  this.timeout(120000);
  let e: Engine;
  before(async () => {
    e = await getEngine();
  });

  // K = 37 (two words, the second partial), 5 concepts (two chunks of 4, the second partial), masks
  // 11×13 upsampled from 5×4 (S = 143: five pixel words, the last partial), 3 images, 3 planes with
  // ids 0..11: untrained ids (1, 4, 6, 8, 10, 11) and ids past the largest trained one are "none".
  const units = 37, concepts = [3, 7, 2, 9, 5], sh = 11, sw = 13, n = 3, planes = 3;
  for (const variant of ['segmentation', 'classification'] as const)
    it(`${variant}: the masks match the bilinear reference, the loss its float64 value, the gradient central finite differences, and the first Adam step moves every weight by −lr·g/(|g| + ε)`, async () => {
      const r = rng(variant === 'segmentation' ? 16 : 61);
      const b = randomBatch(r, n, units, 5, 4, sh, sw, planes, 11);
      const thresholds = r.array(units, 0.3, 0.8);
      const alpha = r.array(concepts.length, 0.6, 0.99);
      const w0 = r.array(concepts.length * (units + 1), -0.5, 0.5);
      const t = new Net2VecTrainer(e, { units, concepts, maskH: sh, maskW: sw, maxBatch: 4, maxPlanes: 3, variant, alpha });
      try {
        t.setThresholds(thresholds);
        t.setWeights(w0);
        await pass(e, t, b, 'train');
        // the masks: equal to the reference except within 1e-5 of a threshold (float32 vs float64)
        const up = upsample(b.act, n, units, 5, 4, sh, sw);
        const masks = await t.masks(n);
        const s = sh * sw;
        let ties = 0;
        for (let i = 0; i < masks.length; i++) {
          const v = up[i]!, tk = thresholds[Math.floor(i / s) % units]!;
          if (Math.abs(v - tk) < 1e-5) ties++;
          else expect(masks[i], `mask value ${i}`).to.equal(v > tk ? 1 : 0);
        }
        expect(ties).to.be.below(masks.length / 1000);
        let fired = 0;
        for (const m of masks) fired += m;
        expect(fired).to.be.within(masks.length * 0.1, masks.length * 0.9);
        if (variant === 'segmentation') expect(await t.masks(n, 'pixels')).to.deep.equal(masks);

        const lab = targets(b.labels, n, planes, s, concepts);
        const ref = variant === 'segmentation' ? segLoss : clsLoss;
        const lossAt = (w: ArrayLike<number>) => ref(w, masks, lab, alpha, n, units, s);
        const loss = await t.loss();
        const want = lossAt(w0);
        for (let c = 0; c < concepts.length; c++) expect(loss[c], `loss of concept ${concepts[c]}`).to.be.closeTo(want[c]!, 1e-5 * Math.max(1, want[c]!));
        const g = await t.gradient();
        const fd = finiteDifferences(lossAt, w0);
        let top = 0;
        for (const v of fd) top = Math.max(top, Math.abs(v));
        expect(top).to.be.above(1e-3);
        for (let i = 0; i < g.length; i++) expect(g[i], `dL/dw[${Math.floor(i / (units + 1))}][${i % (units + 1)}]`).to.be.closeTo(fd[i]!, 1e-5 + 1e-4 * top);
        // Adam's first step with its bias corrections: −lr·m̂/(√v̂ + ε) = −lr·g/(|g| + ε), lr·sign(g) unless g ≈ 0
        expect(await t.steps()).to.equal(1);
        const w1 = await t.weights();
        for (let i = 0; i < g.length; i++) expect(w1[i]! - w0[i]!, `step of weight ${i}`).to.be.closeTo((-NET2VEC_LR * g[i]!) / (Math.abs(g[i]!) + 1e-8), 2e-5);
        // loss() cleared its running sum: nothing trained since
        expect(Array.from(await t.loss()).every(Number.isNaN)).to.equal(true);
      } finally {
        t.destroy();
      }
    });

  it('segmentation: a concept that is the union of two half-detectors is learned to IoU ≥ 0.9, ≥ 0.2 above its best single unit, with exact tallies', async () => {
    const r = rng(2018);
    const train = Array.from({ length: 40 }, () => plantedBatch(r, 8));
    const held = Array.from({ length: 3 }, () => plantedBatch(r, 8));
    // α = 1 − the fraction of training pixels carrying the concept
    let carrying = 0;
    for (const b of train) for (let i = 0; i < b.n * S; i++) if (b.labels[Math.floor(i / S) * 2 * S + (i % S)] === 4) carrying++;
    const alpha = new Float32Array([1 - carrying / (train.length * 8 * S), 0.5]);
    // concept 6 is never labelled: it learns to predict nothing
    const t = new Net2VecTrainer(e, { units: K, concepts: [4, 6], maskH: SIDE, maskW: SIDE, maxBatch: 8, maxPlanes: 2, variant: 'segmentation', alpha });
    try {
      t.setThresholds(PLANTED_T);
      const losses: number[] = [];
      for (const b of train) {
        await pass(e, t, b, 'train');
        losses.push((await t.loss())[0]!);
      }
      const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5, last = losses.slice(-5).reduce((a, b) => a + b) / 5;
      expect(last, `loss ${first} → ${last}`).to.be.below(first / 2);
      t.resetEvaluation();
      for (const b of held) await pass(e, t, b, 'evaluate');
      const ev = await t.evaluation();
      expect(ev.accuracy).to.equal(undefined);
      // the tallies, recomputed on the CPU from the learned weights
      const w = await t.weights();
      let want = { inter: 0, union: 0 };
      const single = Array.from({ length: K }, () => ({ inter: 0, union: 0 }));
      for (const b of held) {
        const on = (img: number, u: number, p: number) => b.act[(img * K + u) * S + p]! > PLANTED_T[u]!;
        const lab = (i: number) => b.labels[Math.floor(i / S) * 2 * S + (i % S)] === 4 || b.labels[(Math.floor(i / S) * 2 + 1) * S + (i % S)] === 4;
        const z = (i: number) => {
          let v = w[K]!;
          for (let u = 0; u < K; u++) if (on(Math.floor(i / S), u, i % S)) v += w[u]!;
          return v;
        };
        const got = iouOf((i) => z(i) > 0, lab, b.n * S);
        want = { inter: want.inter + got.inter, union: want.union + got.union };
        for (let u = 0; u < K; u++) {
          const one = iouOf((i) => on(Math.floor(i / S), u, i % S), lab, b.n * S);
          single[u]!.inter += one.inter;
          single[u]!.union += one.union;
        }
      }
      expect(ev.intersections[0]).to.equal(want.inter);
      expect(ev.unions[0]).to.equal(want.union);
      const bestSingle = Math.max(...single.map((x) => x.inter / x.union));
      expect(bestSingle).to.be.within(0.4, 0.6);
      expect(ev.iou[0], `learned IoU vs best single unit ${bestSingle}`).to.be.at.least(0.9).and.at.least(bestSingle + 0.2);
      // the never-labelled concept: no union except what it predicts
      expect(ev.intersections[1]).to.equal(0);
      expect(ev.iou[1]).to.equal(0);
      expect(w[K + 1 + K]!, 'bias of the absent concept').to.be.below(0);
    } finally {
      t.destroy();
    }
  });

  it('classification: separates images with the concept from images without it', async () => {
    // concept 1 is present in about half the images, as a blob where unit 0 fires (activation 1);
    // units 1..4 are distractors firing on 20% of every image
    const r = rng(7);
    const k = 5, side = 12, s = side * side;
    const batch = (n: number): Batch => {
      const act = new Float32Array(n * k * s), labels = new Uint32Array(n * s);
      for (let img = 0; img < n; img++) {
        for (let u = 1; u < k; u++) for (let p = 0; p < s; p++) act[(img * k + u) * s + p] = r.next();
        if (!r.bool()) continue;
        const hb = r.int(4, 8), wb = r.int(4, 8), y0 = r.int(0, side - hb), x0 = r.int(0, side - wb);
        for (let y = y0; y < y0 + hb; y++)
          for (let x = x0; x < x0 + wb; x++) {
            act[img * k * s + y * side + x] = 1;
            labels[img * s + y * side + x] = 1;
          }
      }
      return { act, n, h: side, w: side, labels, planes: 1 };
    };
    const t = new Net2VecTrainer(e, { units: k, concepts: [1], maskH: side, maskW: side, maxBatch: 8, maxPlanes: 1, variant: 'classification', alpha: new Float32Array([0.5]) });
    try {
      t.setThresholds(new Float32Array([0.5, 0.8, 0.8, 0.8, 0.8]));
      const losses: number[] = [];
      for (let i = 0; i < 300; i++) {
        await pass(e, t, batch(8), 'train');
        losses.push((await t.loss())[0]!);
      }
      expect(losses.slice(-5).reduce((a, b) => a + b) / 5).to.be.below(losses.slice(0, 5).reduce((a, b) => a + b) / 5 / 2);
      t.resetEvaluation();
      const held = Array.from({ length: 4 }, () => batch(8));
      for (const b of held) await pass(e, t, b, 'evaluate');
      const ev = await t.evaluation();
      let present = 0;
      for (const b of held) for (let img = 0; img < b.n; img++) if (b.labels.subarray(img * s, (img + 1) * s).some((v) => v === 1)) present++;
      expect(present).to.be.within(8, 24);
      expect(ev.accuracy![0]).to.equal(1);
      expect(ev.intersections[0]).to.equal(present);
      expect(ev.unions[0]).to.equal(present);
      expect(ev.iou[0]).to.equal(1);
      const w = await t.weights();
      expect(w[0]!, 'the detector').to.be.above(0);
      expect(w[k]!, 'the bias').to.be.below(0);
      // a second evaluation pass adds to the tallies; resetEvaluation clears them
      await pass(e, t, held[0]!, 'evaluate');
      expect((await t.evaluation()).unions[0]).to.be.above(present);
      t.resetEvaluation();
      expect((await t.evaluation()).unions[0]).to.equal(0);
    } finally {
      t.destroy();
    }
  });

  it('the held-out tallies are 64-bit integers: a low word that wraps carries into the high word', async () => {
    const t = new Net2VecTrainer(e, { units: 2, concepts: [1], maskH: 8, maskW: 8, maxBatch: 1, maxPlanes: 1, variant: 'segmentation', alpha: new Float32Array([0.5]) });
    try {
      t.setThresholds(new Float32Array([0.5, 0.5]));
      t.setWeights(new Float32Array([2, 0, -1])); // the mask is where unit 0 fires
      // unit 0 fires on rows 0..3, the concept is on rows 2..5: 16 pixels in both, 48 in either
      const act = new Float32Array(2 * 64), labels = new Uint32Array(64);
      act.fill(1, 0, 32);
      labels.fill(1, 16, 48);
      // the running tallies (two u32 words each, low then high) as if 3·2³² + 2³² − 10 and 2³² − 1 had been counted
      e.device.queue.writeBuffer(t['countsBuf'], 0, new Uint32Array([2 ** 32 - 10, 3, 2 ** 32 - 1, 0]));
      await pass(e, t, { act, n: 1, h: 8, w: 8, labels, planes: 1 }, 'evaluate');
      const ev = await t.evaluation();
      expect(ev.intersections[0]).to.equal(3 * 2 ** 32 + 2 ** 32 - 10 + 16);
      expect(ev.unions[0]).to.equal(2 ** 32 - 1 + 48);
    } finally {
      t.destroy();
    }
  });

  it('the same inputs give bit-identical weights and tallies', async () => {
    const run = async (variant: 'segmentation' | 'classification') => {
      const r = rng(99);
      const t = new Net2VecTrainer(e, { units: 40, concepts: [1, 2, 3], maskH: 9, maskW: 10, maxBatch: 4, maxPlanes: 2, variant, alpha: new Float32Array([0.9, 0.8, 0.7]) });
      try {
        t.setThresholds(r.array(40, 0.4, 0.7));
        for (let i = 0; i < 6; i++) await pass(e, t, randomBatch(r, 4, 40, 3, 4, 9, 10, 2, 3), 'train');
        t.resetEvaluation();
        await pass(e, t, randomBatch(r, 4, 40, 3, 4, 9, 10, 2, 3), 'evaluate');
        return { w: new Uint32Array((await t.weights()).buffer), ev: await t.evaluation() };
      } finally {
        t.destroy();
      }
    };
    for (const variant of ['segmentation', 'classification'] as const) {
      const a = await run(variant), b = await run(variant);
      expect(Array.from(a.w)).to.deep.equal(Array.from(b.w));
      expect(a.ev).to.deep.equal(b.ev);
      expect(a.w.some((v) => v !== 0)).to.equal(true);
    }
  });

  it('bad input is a typed one-line error', async () => {
    const ok: Net2VecOptions = { units: 4, concepts: [1, 2], maskH: 4, maskW: 4, maxBatch: 2, maxPlanes: 2, variant: 'segmentation', alpha: new Float32Array([0.9, 0.9]) };
    expectError(() => new Net2VecTrainer(e, { ...ok, units: 0 }), ArgumentError, /units/);
    expectError(() => new Net2VecTrainer(e, { ...ok, units: 2.5 }), ArgumentError, /units/);
    expectError(() => new Net2VecTrainer(e, { ...ok, maskH: -1 }), ArgumentError, /maskH/);
    expectError(() => new Net2VecTrainer(e, { ...ok, maxBatch: 0 }), ArgumentError, /maxBatch/);
    expectError(() => new Net2VecTrainer(e, { ...ok, concepts: [] }), ArgumentError, /no concepts/);
    expectError(() => new Net2VecTrainer(e, { ...ok, concepts: [0, 1] }), ArgumentError, /concept id 0/);
    expectError(() => new Net2VecTrainer(e, { ...ok, concepts: [2, 2] }), ArgumentError, /concept 2 is listed twice/);
    expectError(() => new Net2VecTrainer(e, { ...ok, alpha: new Float32Array([0.9]) }), ShapeError, /alpha needs one value per trained concept \(2\), got 1/);
    expectError(() => new Net2VecTrainer(e, { ...ok, alpha: new Float32Array([0.9, 1.5]) }), ArgumentError, /alpha of concept 2/);
    expectError(() => new Net2VecTrainer(e, { ...ok, lr: 0 }), ArgumentError, /learning rate/);
    expectError(() => new Net2VecTrainer(e, { ...ok, variant: 'detection' as 'segmentation' }), ArgumentError, /variant/);
    const t = new Net2VecTrainer(e, ok);
    const act = e.upload(new Float32Array(2 * 4 * 2 * 2), 'spec:net2vec-act');
    try {
      expectError(() => t.setThresholds(new Float32Array(3)), ShapeError, /one value per unit \(4\), got 3/);
      expectError(() => t.setThresholds(new Float32Array([0, NaN, 0, 0])), ArgumentError, /threshold of unit 1 is NaN/);
      expectError(() => t.dispatches(act, 2, [2, 4, 2, 2], 'train'), ArgumentError, /setThresholds/);
      t.setThresholds(new Float32Array(4));
      expectError(() => t.dispatches(act, 2, [2, 4, 2, 2], 'train'), ArgumentError, /setLabels/);
      expectError(() => t.setLabels(new Uint32Array(3 * 16), 3, 1), ShapeError, /batch holds 1 to 2 images, got 3/);
      expectError(() => t.setLabels(new Uint32Array(2 * 3 * 16), 2, 3), ShapeError, /0 to 2 label planes, got 3/);
      expectError(() => t.setLabels(new Uint32Array(5), 2, 1), ShapeError, /need 32 values, got 5/);
      t.setLabels(new Uint32Array(16), 1, 1);
      expectError(() => t.dispatches(act, 2, [2, 4, 2, 2], 'train'), ShapeError, /labels set are of 1 images, the batch has 2/);
      t.setLabels(new Uint32Array(2 * 16), 2, 1);
      expectError(() => t.dispatches(act, 2, [2, 5, 2, 2], 'train'), ShapeError, /2 × 4 units × h × w, got \[2, 5, 2, 2\]/);
      expectError(() => t.dispatches(act, 2, [2, 4, 2], 'train'), ShapeError, /units × h × w/);
      expectError(() => t.dispatches(act, 2, [2, 4, 20, 20], 'train'), ShapeError, /activation buffer holds/);
      expectError(() => t.dispatches(act, 2, [2, 4, 2, 2], 'test' as 'train'), ArgumentError, /mode/);
      expectError(() => t.setWeights(new Float32Array(9)), ShapeError, /2 concepts × 5 values \(10\), got 9/);
      expectError(() => t.setLearningRate(-1), ArgumentError, /learning rate/);
      await e.run(t.dispatches(act, 2, [2, 4, 2, 2], 'train')); // all-zero activations and labels: a valid batch
      const loss = await t.loss();
      expect(loss[0]).to.be.closeTo(Math.log(2) * 0.1, 1e-6); // z = 0, every pixel negative: (1 − α)·log 2
    } finally {
      e.release(act);
      t.destroy();
    }
    expectError(() => t.setThresholds(new Float32Array(4)), ArgumentError, /destroyed/);
    expectError(() => new Net2VecTrainer(e, { ...ok, variant: 'classification', concepts: Array.from({ length: 2049 }, (_, i) => i + 1), alpha: new Float32Array(2049) }), ArgumentError, /at most 2048/);
  });
});
