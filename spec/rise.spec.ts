// RISE (Petsiuk et al.) on the GPU against a CPU reference written here in float64: the same masks
// regenerated from the same counter hash (pcg4d, written again below, not imported), the paper's
// upsampling (skimage resize, order 1, mode 'reflect') and crop, the masked images run through
// spec/reference.ts, and S_c = (1 / (N·p)) Σ_i P(c | masked_i) · M_i. Also: the masks' statistics,
// a seed reproducing exactly, batching not changing the map, the CLI, bad flags, and SqueezeNet.
import { expect } from 'chai';
import { readFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder, expectOneLine, getEngine, rng, runLoupe } from './helpers.ts';
import { runGraphReference } from './reference.ts';
import { Model } from '../engine/runner.ts';
import { RiseSampler, riseGeometry } from '../engine/rise.ts';
import { classifierValues } from '../engine/classify.ts';
import { ArgumentError } from '../engine/errors.ts';
import type { Graph } from '../engine/ir.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { decodeImage } from '../loaders/image.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { readNpy } from '../loaders/npy.ts';
import { rise, riseFill } from '../explainers/rise.ts';
import { explainer } from '../explainers/registry.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '..', 'shared', 'data');
const LENET = join(ROOT, 'weights/lenet-relu-mnist.onnx');
const DIGIT = join(ROOT, 'weights/mnist-test-0.png');
const SQZ = join(DATA, 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx');
const BOTH = join(DATA, 'images/pytorch-grad-cam/both.png');

// ---- the CPU reference ------------------------------------------------------------------------------

/** PCG4D (Jarzynski & Olano 2020) on four u32 words, as the WGSL kernels hash. */
function hash4(a: number, b: number, c: number, d: number): number[] {
  const v = [a, b, c, d].map((t) => (Math.imul(t >>> 0, 1664525) + 1013904223) >>> 0);
  const mix = () => {
    v[0] = (v[0]! + Math.imul(v[1]!, v[3]!)) >>> 0;
    v[1] = (v[1]! + Math.imul(v[2]!, v[0]!)) >>> 0;
    v[2] = (v[2]! + Math.imul(v[0]!, v[1]!)) >>> 0;
    v[3] = (v[3]! + Math.imul(v[1]!, v[2]!)) >>> 0;
  };
  mix();
  for (let k = 0; k < 4; k++) v[k] = (v[k]! ^ (v[k]! >>> 16)) >>> 0;
  mix();
  return v;
}
const GRID_TAG = 0x52495345, SHIFT_TAG = 0x53484654;

/** Linear interpolation weights of output o of `up` from `n` grid cells: skimage order 1, mode 'reflect' (mirror about the edge centres). */
function taps(o: number, n: number, up: number): [number, number, number] {
  if (n === 1) return [0, 0, 0];
  let s = ((o + 0.5) * n) / up - 0.5;
  if (s < 0) s = -s;
  if (s > n - 1) s = 2 * (n - 1) - s;
  const i0 = Math.min(Math.floor(s), n - 1);
  return [i0, Math.min(i0 + 1, n - 1), s - i0];
}

interface RefMask {
  mask: Float64Array;
  grid: Uint8Array;
  shift: [number, number];
}

/** Mask m of (seed, cells, p) for an h×w image, in float64. */
function refMask(seed: number, m: number, h: number, w: number, cells: number, p: number): RefMask {
  const ch = Math.ceil(h / cells), cw = Math.ceil(w / cells);
  const upH = (cells + 1) * ch, upW = (cells + 1) * cw;
  const grid = new Uint8Array(cells * cells);
  for (let q = 0; q < cells * cells; q++) grid[q] = (hash4(seed, m, q, GRID_TAG)[0]! >>> 8) / 2 ** 24 < Math.fround(p) ? 1 : 0;
  const sh = hash4(seed, m, 0xffffffff, SHIFT_TAG);
  const sy = sh[0]! % ch, sx = sh[1]! % cw;
  const mask = new Float64Array(h * w);
  for (let y = 0; y < h; y++) {
    const [r0, r1, ty] = taps(y + sy, cells, upH);
    for (let x = 0; x < w; x++) {
      const [c0, c1, tx] = taps(x + sx, cells, upW);
      const top = grid[r0 * cells + c0]! * (1 - tx) + grid[r0 * cells + c1]! * tx;
      const bottom = grid[r1 * cells + c0]! * (1 - tx) + grid[r1 * cells + c1]! * tx;
      mask[y * w + x] = top * (1 - ty) + bottom * ty;
    }
  }
  return { mask, grid, shift: [sy, sx] };
}

interface RefOptions {
  masks: number;
  cells: number;
  p: number;
  seed: number;
  fill?: Float32Array;
}

/** RISE's map of `cls` for one image x (C×H×W) on the CPU reference forward, float64 throughout. */
function refRise(graph: Graph, x: Float32Array, cls: number, o: RefOptions): Float64Array {
  const [, c, h, w] = graph.input.shape as [number, number, number, number];
  const hw = h * w;
  const logits = classifierValues(graph).logits;
  const map = new Float64Array(hw);
  const chunk = 50;
  for (let first = 0; first < o.masks; first += chunk) {
    const n = Math.min(chunk, o.masks - first);
    const masks = Array.from({ length: n }, (_, j) => refMask(o.seed, first + j, h, w, o.cells, o.p).mask);
    const batch = new Float64Array(n * c * hw);
    masks.forEach((M, j) => {
      for (let k = 0; k < c; k++)
        for (let q = 0; q < hw; q++) batch[(j * c + k) * hw + q] = x[k * hw + q]! * M[q]! + (o.fill?.[k * hw + q] ?? 0) * (1 - M[q]!);
    });
    const z = runGraphReference(graph, batch, n, [logits]).get(logits)!.data;
    const K = z.length / n;
    masks.forEach((M, j) => {
      let mx = -Infinity;
      for (let k = 0; k < K; k++) mx = Math.max(mx, z[j * K + k]!);
      let s = 0;
      for (let k = 0; k < K; k++) s += Math.exp(z[j * K + k]! - mx);
      const prob = Math.exp(z[j * K + cls]! - mx) / s;
      for (let q = 0; q < hw; q++) map[q] += prob * M[q]!;
    });
  }
  for (let q = 0; q < hw; q++) map[q] /= o.masks * o.p;
  return map;
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};
const maxOf = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** A small classifier on a non-square image whose sides no cell count divides: conv → ReLU → flatten → fc (5 classes). */
function smallGraph(): Graph {
  const r = rng(14);
  const b = new GraphBuilder([1, 2, 13, 17]);
  const c = b.node('conv', ['x'], { kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1], dilation: [1, 1], group: 1, weight: b.param([3, 2, 3, 3], r), bias: b.param([3], r) }, 'conv');
  const a = b.node('relu', [c], {}, 'relu');
  const f = b.node('flatten', [a], { axis: 1 }, 'flat'); // 3 × 7 × 9
  const y = b.node('fc', [f], { weight: b.param([5, 189], r.array(5 * 189, -0.3, 0.3)), bias: b.param([5], r), outFeatures: 5 }, 'logits');
  return b.build([y], 'small');
}

// ---- specs ----------------------------------------------------------------------------------------------

describe('RISE masks on the GPU', function () {
  let model: Model;
  before(async () => {
    model = new Model(await getEngine(), loadOnnx(new Uint8Array(readFileSync(LENET)), 'lenet-relu-mnist.onnx'));
  });
  after(() => model.destroy());

  it('equal the CPU reference: the same hash, upsampling and crop (28×28, 5 cells: 6-pixel cells, cropped from 36×36)', async () => {
    const s = new RiseSampler(model, { cells: 5, p: 0.5, seed: 9, maxBatch: 64, rows: 1 });
    try {
      expect(s.geometry).to.deep.include({ cellH: 6, cellW: 6, upH: 36, upW: 36 });
      // a batch that does not start at 0: masks are addressed by index, not by batch
      const gpu = await s.masks(100, 64);
      for (let j = 0; j < 64; j++) {
        const ref = refMask(9, 100 + j, 28, 28, 5, 0.5).mask;
        // float32 interpolation weights against float64: a few ulps of 1
        expect(maxAbsDiff(gpu.subarray(j * 784, (j + 1) * 784), ref), `mask ${100 + j}`).to.be.below(1e-6);
      }
    } finally {
      s.destroy();
    }
  });

  it('statistics: values in [0, 1], mean ≈ p, shifts spread over [0, cell) in both directions', async () => {
    for (const p of [0.5, 0.2]) {
      const s = new RiseSampler(model, { cells: 7, p, seed: 1, maxBatch: 500, rows: 1 });
      try {
        const m = await s.masks(0, 500);
        let lo = Infinity, hi = -Infinity, sum = 0;
        for (const v of m) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
          sum += v;
        }
        expect(lo).to.be.at.least(0);
        expect(hi).to.be.at.most(1);
        expect(lo).to.equal(0); // some pixel of some mask is fully dropped …
        expect(hi).to.equal(1); // … and some fully kept
        // a mask's mean has s.d. about sqrt(p(1−p)/36) (about 36 cells in view); 500 masks: 0.004, so 0.02 is 5σ
        expect(Math.abs(sum / m.length - p), `p = ${p}`).to.be.below(0.02);
      } finally {
        s.destroy();
      }
    }
    // the shift: each direction takes every value of [0, 4) (28 / 7 = 4-pixel cells) and no other
    const ys = new Set<number>(), xs = new Set<number>();
    for (let i = 0; i < 500; i++) {
      const { shift } = refMask(1, i, 28, 28, 7, 0.5);
      ys.add(shift[0]);
      xs.add(shift[1]);
    }
    expect([...ys].sort()).to.deep.equal([0, 1, 2, 3]);
    expect([...xs].sort()).to.deep.equal([0, 1, 2, 3]);
  });

  it('one cell: every mask is all ones or all zeros, ones with frequency p', async () => {
    const s = new RiseSampler(model, { cells: 1, p: 0.3, seed: 8, maxBatch: 400, rows: 1 });
    try {
      const m = await s.masks(0, 400);
      let ones = 0;
      for (let j = 0; j < 400; j++) {
        const v = m[j * 784]!;
        expect(v === 0 || v === 1, `mask ${j}`).to.equal(true);
        expect(m.subarray(j * 784, (j + 1) * 784).every((u) => u === v), `mask ${j} is constant`).to.equal(true);
        expect(v).to.equal(refMask(8, j, 28, 28, 1, 0.3).grid[0]);
        ones += v;
      }
      expect(Math.abs(ones / 400 - 0.3)).to.be.below(0.07); // binomial s.d. 0.023: 3σ
    } finally {
      s.destroy();
    }
  });

  it('the masked batch is x ⊙ M + fill ⊙ (1 − M), and the map accumulates scoresᵀ × masks for several classes at once', async () => {
    const engine = await getEngine();
    const small = new Model(engine, smallGraph());
    const r = rng(7);
    const x = r.array(2 * 13 * 17, 0, 1);
    const fill = r.array(2 * 13 * 17, -1, 1);
    const s = new RiseSampler(small, { cells: 4, p: 0.3, seed: 77, maxBatch: 150, rows: 3 });
    try {
      expect(s.geometry).to.deep.include({ cellH: 4, cellW: 5, upH: 20, upW: 25 });
      s.setImage(x, fill);
      const batch = await s.batch(10, 150);
      let worst = 0;
      for (let j = 0; j < 150; j++) {
        const M = refMask(77, 10 + j, 13, 17, 4, 0.3).mask;
        for (let k = 0; k < 2; k++)
          for (let q = 0; q < 221; q++) worst = Math.max(worst, Math.abs(batch[(j * 2 + k) * 221 + q]! - (x[k * 221 + q]! * M[q]! + fill[k * 221 + q]! * (1 - M[q]!))));
      }
      expect(worst).to.be.below(1e-5);
      // two batches (150 masks: not a multiple of the 64-mask tile; 221 pixels: not of 64 either)
      const want = new Float64Array(3 * 221);
      for (const first of [0, 150]) {
        await s.masks(first, 150);
        const scores = r.array(150 * 3, 0, 1);
        await s.accumulate(150, scores);
        for (let j = 0; j < 150; j++) {
          const M = refMask(77, first + j, 13, 17, 4, 0.3).mask;
          for (let k = 0; k < 3; k++) for (let q = 0; q < 221; q++) want[k * 221 + q] += scores[j * 3 + k]! * M[q]!;
        }
      }
      const got = await s.map();
      // float32 sums of 300 products of values ≤ 1: relative error ~ 300 · 2^-24
      expect(maxAbsDiff(got, want) / maxOf(want)).to.be.below(1e-5);
    } finally {
      s.destroy();
      small.destroy();
    }
  });

  it('refuses p outside (0, 1), a cell count < 1 and a bad seed, naming the value', () => {
    expect(() => new RiseSampler(model, { cells: 7, p: 0, seed: 0, maxBatch: 1, rows: 1 })).to.throw(ArgumentError, /p must be in \(0, 1\), got 0/);
    expect(() => new RiseSampler(model, { cells: 0, p: 0.5, seed: 0, maxBatch: 1, rows: 1 })).to.throw(ArgumentError, /cells must be a positive integer, got 0/);
    expect(() => new RiseSampler(model, { cells: 7, p: 0.5, seed: -1, maxBatch: 1, rows: 1 })).to.throw(ArgumentError, /seed/);
    expect(() => riseGeometry(28, 28, 2.5)).to.throw(ArgumentError);
  });
});

describe('RISE against the CPU reference', function () {
  let lenet: Model;
  let graph: Graph;
  let digit: Float32Array;
  before(async () => {
    graph = loadOnnx(new Uint8Array(readFileSync(LENET)), 'lenet-relu-mnist.onnx');
    lenet = new Model(await getEngine(), graph);
    digit = preprocessImage(decodeImage(new Uint8Array(readFileSync(DIGIT)), 'mnist-test-0.png'), { ...graph.preprocess, size: [28, 28], channels: 1 });
  });
  after(() => lenet.destroy());

  // Tolerance: the GPU runs the forward pass in float32 and sums the map in float32; the reference is
  // float64. LeNet's logits agree to ~1e-5 relative (sums of 500–800 products), which moves each
  // probability by about that much; the masks agree to ~1e-7; the map is a mean of N such products
  // over p. So 1e-4 of the map's largest value leaves a margin of about 10 over what we see.
  it('LeNet, 300 masks, black fill: the same map as the float64 reference', async () => {
    const o = { masks: 300, cells: 7, p: 0.5, seed: 0 };
    const t0 = performance.now();
    const r = await rise(lenet, digit, 1, o);
    const ms = performance.now() - t0;
    expect(r.classes).to.deep.equal([7]);
    const ref = refRise(graph, digit, 7, o);
    const err = maxAbsDiff(r.maps, ref) / maxOf(ref);
    expect(err, `relative error ${err.toExponential(2)}`).to.be.below(1e-4);
    expect(r.masksPerSecond).to.be.above(0);
    expect(r.masks).to.equal(300);
    console.log(`      LeNet: 300 masks in ${ms.toFixed(0)} ms on the GPU path, relative error ${err.toExponential(2)}`);
  });

  it('a small non-square graph, another class, mean fill, 250 masks in batches of 64: the same map', async () => {
    const g = smallGraph();
    const model = new Model(await getEngine(), g);
    try {
      const x = rng(3).array(2 * 13 * 17, 0, 1);
      const o = { masks: 250, cells: 3, p: 0.4, seed: 12345 };
      const r = await rise(model, x, 1, { ...o, batch: 64, fill: 'mean' }, { classes: [2] });
      expect(r.classes).to.deep.equal([2]);
      expect(r.batch).to.equal(64);
      const ref = refRise(g, x, 2, { ...o, fill: riseFill(x, 2, 13, 17, 'mean') });
      expect(maxAbsDiff(r.maps, ref) / maxOf(ref)).to.be.below(1e-4);
    } finally {
      model.destroy();
    }
  });

  it('fills: black is the preprocessed pixel 0 per channel, zero is 0, mean the channel means; without a mean, zero and black agree', async () => {
    const x = Float32Array.from({ length: 2 * 6 }, (_, i) => i); // 2 channels of 2×3
    expect(Array.from(riseFill(x, 2, 2, 3, 'black', [-104, -117]))).to.deep.equal([...Array(6).fill(-104), ...Array(6).fill(-117)]);
    expect(Array.from(riseFill(x, 2, 2, 3, 'zero', [-104, -117]))).to.deep.equal(Array(12).fill(0));
    expect(Array.from(riseFill(x, 2, 2, 3, 'mean'))).to.deep.equal([...Array(6).fill(2.5), ...Array(6).fill(8.5)]);
    const blur = riseFill(x, 2, 2, 3, 'blur', undefined, 1);
    expect(Math.abs(blur.subarray(0, 6).reduce((a, v) => a + v, 0) / 6 - 2.5)).to.be.below(0.5); // a blur keeps the plane's level
    const o = { masks: 100, cells: 7, p: 0.5, seed: 1 };
    const a = await rise(lenet, digit, 1, { ...o, fill: 'zero' });
    const b = await rise(lenet, digit, 1, { ...o, fill: 'black', black: [0] });
    expect(Array.from(a.maps)).to.deep.equal(Array.from(b.maps));
  });

  it('a seed reproduces the map exactly; another seed gives another', async () => {
    const o = { masks: 200, cells: 7, p: 0.5, seed: 42 };
    const a = await rise(lenet, digit, 1, o);
    const b = await rise(lenet, digit, 1, o);
    expect(Array.from(b.maps)).to.deep.equal(Array.from(a.maps));
    const c = await rise(lenet, digit, 1, { ...o, seed: 43 });
    expect(maxAbsDiff(c.maps, a.maps)).to.be.above(1e-3);
  });

  it('batching does not change the map: --batch 7 against the default', async () => {
    const o = { masks: 200, cells: 7, p: 0.5, seed: 4 };
    const a = await rise(lenet, digit, 1, o);
    const b = await rise(lenet, digit, 1, { ...o, batch: 7 });
    expect(b.batch).to.equal(7);
    expect(a.batch).to.be.above(7);
    // the same masks and scores, summed in another order (float32)
    expect(maxAbsDiff(a.maps, b.maps) / maxOf(a.maps)).to.be.below(1e-5);
  });

  it('a batch of images: each image its own map, the same masks', async () => {
    const two = new Float32Array(2 * 784);
    two.set(digit);
    for (let q = 0; q < 784; q++) two[784 + q] = digit[783 - q]!; // the digit turned upside down
    const o = { masks: 100, cells: 7, p: 0.5, seed: 2 };
    const both = await rise(lenet, two, 2, o, { classes: [7] });
    const first = await rise(lenet, digit, 1, o, { classes: [7] });
    expect(both.shape).to.deep.equal([2, 28, 28]);
    expect(maxAbsDiff(both.maps.subarray(0, 784), first.maps)).to.be.below(1e-6);
    expect(maxAbsDiff(both.maps.subarray(784), first.maps)).to.be.above(1e-3);
  });

  it('cancelled between batches, it stops with CancelledError', async () => {
    const abort = new AbortController();
    const err = await rise(lenet, digit, 1, { masks: 100, cells: 7, p: 0.5, seed: 0, batch: 10 }, { signal: abort.signal, onProgress: () => abort.abort() }).then(() => undefined, (e: Error) => e);
    expect(err?.name).to.equal('CancelledError');
    expect(err?.message).to.equal('rise: cancelled');
  });
});

describe('loupe explain --method rise', function () {
  const tmp = mkdtempSync(join(tmpdir(), 'loupe-rise-'));
  const base = ['explain', '--method', 'rise', '--model', LENET, '--image', DIGIT];

  it('writes PREFIX.png, PREFIX.npy (H×W) and PREFIX.json with the masks, the class and masks/s', () => {
    const prefix = join(tmp, 'lenet');
    const r = runLoupe([...base, '--masks', '200', '--cells', '7', '--p', '0.5', '--seed', '3', '--out', prefix]);
    expect(r.code, r.err).to.equal(0);
    for (const ext of ['png', 'npy', 'json']) expect(existsSync(`${prefix}.${ext}`), ext).to.equal(true);
    const npy = readNpy(new Uint8Array(readFileSync(`${prefix}.npy`)), 'lenet.npy');
    expect(npy.shape).to.deep.equal([28, 28]);
    expect(Array.from(npy.data).every((v) => v >= 0)).to.equal(true);
    const meta = JSON.parse(readFileSync(`${prefix}.json`, 'utf8'));
    expect(meta).to.deep.include({ method: 'rise', masks: 200, cells: 7, p: 0.5, seed: 3, fill: 'black' });
    expect(meta.classes).to.deep.equal([7]);
    expect(meta.masksPerSecond).to.be.above(0);
    expect(r.err).to.match(/^rise: 200 masks × 1 image in [\d.]+s \([\d.]+ masks\/s, batches of \d+\)$/m);
  });

  const bad: [string[], RegExp][] = [
    [['--p', '0'], /--p must be a number in \(0, 1\), got "0"/],
    [['--p', '1.5'], /--p must be a number in \(0, 1\), got "1.5"/],
    [['--cells', '0'], /--cells must be an integer in \[1, 28\], got "0"/],
    [['--masks', '0'], /--masks must be an integer ≥ 1, got "0"/],
  ];
  for (const [args, msg] of bad) {
    it(`${args.join(' ')}: one line, exit 1, no files`, () => {
      const prefix = join(tmp, `bad${args.join('')}`);
      const r = runLoupe([...base, ...args, '--out', prefix]);
      expectOneLine(r, msg);
      for (const ext of ['png', 'npy', 'json']) expect(existsSync(`${prefix}.${ext}`)).to.equal(false);
    });
  }
});

describe('RISE on SqueezeNet (both.png, batch 1, 100 masks)', function () {
  // Lavapipe scores a few SqueezeNet images a second, so the real model runs the method once (100
  // masked images); that the map is the reference's for the same masks is shown on LeNet and the
  // small graph above, and here the GPU-made masked batch of 227×227 images is checked directly.
  let model: Model;
  let x: Float32Array;
  const pre = { size: [227, 227] as [number, number], mean: [104, 117, 123], bgr: true, channels: 3 };
  before(async () => {
    model = new Model(await getEngine(), loadOnnx(new Uint8Array(readFileSync(SQZ)), 'squeezenet.onnx'));
    x = preprocessImage(decodeImage(new Uint8Array(readFileSync(BOTH)), 'both.png'), pre);
  });
  after(() => model.destroy());

  it('the masked batch made on the GPU (black = −mean per channel) is the one made on the CPU', async () => {
    const s = new RiseSampler(model, { cells: 7, p: 0.5, seed: 0, maxBatch: 4, rows: 1 });
    try {
      expect(s.geometry).to.deep.include({ cellH: 33, cellW: 33, upH: 264, upW: 264 });
      const hw = 227 * 227;
      const black = Float32Array.from({ length: 3 * hw }, (_, i) => -pre.mean[Math.floor(i / hw)]!);
      s.setImage(x, black);
      const got = await s.batch(96, 4);
      let worst = 0;
      for (let j = 0; j < 4; j++) {
        const M = refMask(0, 96 + j, 227, 227, 7, 0.5).mask;
        for (let k = 0; k < 3; k++)
          for (let q = 0; q < hw; q++) worst = Math.max(worst, Math.abs(got[(j * 3 + k) * hw + q]! - (x[k * hw + q]! * M[q]! - pre.mean[k]! * (1 - M[q]!))));
      }
      expect(worst).to.be.below(1e-3); // pixels up to ~150 in network units, masks to ~1e-7
    } finally {
      s.destroy();
    }
  });

  it('the registry entry gives a non-negative 227×227 map in probability units', async () => {
    const e = await explainer('rise').run(model, { data: x, batch: 1, names: ['both.png'], preprocess: pre, fromImages: true }, { masks: '100', class: '243' });
    expect(e.maps!.shape).to.deep.equal([227, 227]);
    expect(e.meta).to.deep.include({ method: 'rise', masks: 100, classes: [243] });
    const map = Array.from(e.maps!.data);
    expect(map.every((v) => v >= 0 && Number.isFinite(v))).to.equal(true);
    // S(q) = (1 / (N·p)) Σ_i P_i · M_i(q) ≤ (1 / (N·p)) Σ_i M_i(q) ≤ 1/p = 2
    expect(Math.max(...map)).to.be.at.most(2).and.above(0);
    console.log(`      SqueezeNet: ${e.meta.masksPerSecond} masks/s in batches of ${e.meta.batch}`);
  });
});
