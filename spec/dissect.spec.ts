// Network dissection's GPU passes (engine/dissect.ts, kernels/dissect_*.wgsl) against the float64
// references in spec/reference.ts: the per-unit quantile thresholds against the exact
// np.quantile(a, 1 − q, method='lower') on data with outliers, ties, constant and dead units; the
// tally (upsample, threshold, intersect) against a plain-loop tally, integer for integer, over two
// batches, after forced flushes, and from a model run's injection; image maxima; the labels layout;
// IoU; and bad input as one-line typed errors.
import { expect } from 'chai';
import { GraphBuilder, getEngine, rng, type Rng } from './helpers.ts';
import { dissectTally, quantileLower, upsampleBilinear } from './reference.ts';
import { ConceptTally, UnitQuantiles, iouTable, keyValue, labelPlanes, orderedKey, type TallyOptions } from '../engine/dissect.ts';
import { ArgumentError, NonFiniteError, ShapeError } from '../engine/errors.ts';
import type { Engine } from '../engine/gpu.ts';
import { Model } from '../engine/runner.ts';
import type { ConceptSample } from '../loaders/concepts.ts';

/** Runs every batch through each sweep until the thresholds are final; returns the sweeps' names. */
async function sweep(e: Engine, q: UnitQuantiles, batches: { buf: GPUBuffer; shape: number[] }[], skipLastIn?: string): Promise<string[]> {
  const passes: string[] = [];
  for (let i = 0; i < 10; i++) {
    passes.push(q.pass);
    for (const [bi, b] of batches.entries()) if (!(q.pass === skipLastIn && bi === batches.length - 1)) await e.run(q.dispatches(b.buf, b.shape[0]!, b.shape));
    if (await q.finishPass()) return passes;
  }
  throw new Error(`no final thresholds after sweeps ${passes.join(', ')}`);
}

/** Activations N×K×hw for the quantile specs: unit by unit, each a different hard case. */
function quantileData(r: Rng, n: number, k: number, hw: number): Float32Array {
  const a = new Float32Array(n * k * hw);
  const unit: ((i: number) => number)[] = [
    (i) => (i % 97 === 5 ? 1000 : i % 89 === 3 ? -1000 : r.uniform(-1, 1)), // outliers stretch [min, max]
    () => 0.7, // constant
    () => 0, // dead ReLU
    () => (r.bool(0.9) ? 0 : Math.abs(r.uniform(0, 3) ** 3)), // sparse ReLU: the threshold sits in the first bin
    () => (r.bool(0.02) ? 1 : Math.floor(r.uniform(0, 4)) / 4), // five levels: ties at the threshold (1 for q = 0.005, 0.75 for 0.05)
    (i) => (i === 7 ? -1e6 : r.uniform(-5, -1)), // negative, one far outlier below
    () => 1000 + r.uniform(0, 1e-3), // a narrow range far from 0: few floats per bin
  ];
  for (let im = 0; im < n; im++) for (let u = 0; u < k; u++) for (let p = 0; p < hw; p++) a[(im * k + u) * hw + p] = unit[u]!(im * hw + p);
  return a;
}

function unitValues(a: Float32Array, n: number, k: number, hw: number, u: number): Float32Array {
  const out = new Float32Array(n * hw);
  for (let im = 0; im < n; im++) out.set(a.subarray((im * k + u) * hw, (im * k + u + 1) * hw), im * hw);
  return out;
}

/** Uploads activations N×K×h×w in batches of at most `max`. */
function batchesOf(e: Engine, a: Float32Array, shape: number[], max: number): { buf: GPUBuffer; shape: number[] }[] {
  const [n, ...rest] = shape as [number, ...number[]];
  const per = rest.reduce((x, y) => x * y, 1);
  const out = [];
  for (let s = 0; s < n; s += max) {
    const m = Math.min(max, n - s);
    out.push({ buf: e.upload(a.subarray(s * per, (s + m) * per), 'dissect-spec:act'), shape: [m, ...rest] });
  }
  return out;
}

describe('dissection: per-unit quantile thresholds', function () {
  this.timeout(60000);
  const N = 40, K = 7, H = 5, W = 6, HW = H * W;
  let e: Engine;
  let acts: Float32Array;
  let batches: { buf: GPUBuffer; shape: number[] }[];
  before(async () => {
    e = await getEngine();
    acts = quantileData(rng(16), N, K, HW);
    batches = batchesOf(e, acts, [N, K, H, W], 16); // 16, 16, 8
  });
  after(() => {
    for (const b of batches) e.release(b.buf);
  });

  it('order-preserving keys round-trip and sort as the floats do', () => {
    const vs = [-Infinity, -1e30, -2, -1e-30, -0, 0, 1e-30, 1, 3.5, 1e30, Infinity].map(Math.fround);
    const keys = vs.map(orderedKey);
    for (let i = 1; i < keys.length; i++) expect(keys[i]!, `${vs[i]}`).to.be.greaterThan(keys[i - 1]!);
    for (const v of vs) expect(Object.is(keyValue(orderedKey(v)), v), `${v}`).to.equal(true);
  });

  for (const q of [0.005, 0.05])
    it(`q = ${q}: T_k − binWidth ≤ np.quantile(a, 1 − q, 'lower') ≤ T_k, within 3 ulps, after range, histogram, refine`, async () => {
      const uq = new UnitQuantiles(e, { units: K, quantile: q });
      try {
        expect(await sweep(e, uq, batches)).to.deep.equal(['range', 'histogram', 'refine']);
        expect(uq.count).to.equal(N * HW);
        const t = uq.thresholds(), width = uq.binWidth();
        for (let u = 0; u < K; u++) {
          const vals = unitValues(acts, N, K, HW, u);
          const exact = quantileLower(vals, q);
          const what = `unit ${u}: T ${t[u]} width ${width[u]} exact ${exact}`;
          expect(exact, what).to.be.at.most(t[u]!);
          expect(t[u]! - width[u]!, what).to.be.at.most(exact);
          expect(width[u]!, what).to.be.at.most(4 * 2 ** -23 * Math.abs(exact)); // 3 ulps, outliers or not
          // so the mask a > T is the exact one (it could miss only values in (exact, T])
          const above = (x: number) => vals.filter((v) => v > x).length;
          expect(above(t[u]!), what).to.equal(above(exact));
        }
        expect(t[1]).to.equal(Math.fround(0.7)); // constant
        expect(width[1]).to.equal(0);
        expect(t[2]).to.equal(0); // dead: its mask is empty, the test being a > 0
        expect(width[2]).to.equal(0);
      } finally {
        uq.destroy();
      }
    });

  it('exact: true refines until every threshold is the exact order statistic', async () => {
    const uq = new UnitQuantiles(e, { units: K, quantile: 0.005, bins: 64, exact: true });
    try {
      const passes = await sweep(e, uq, batches);
      expect(passes.slice(0, 3)).to.deep.equal(['range', 'histogram', 'refine']);
      const t = uq.thresholds();
      for (let u = 0; u < K; u++) expect(t[u], `unit ${u}`).to.equal(quantileLower(unitValues(acts, N, K, HW, u), 0.005));
      expect([...uq.binWidth()]).to.deep.equal(new Array(K).fill(0));
    } finally {
      uq.destroy();
    }
  });

  it('with 16 bins (equal widths where runs of floats would be coarser, values over 9 binades) the bound holds, and exact: true ends exact', async () => {
    const r = rng(5);
    const a = new Float32Array(12 * 2 * HW).map(() => r.uniform(0, 1000));
    const bs = batchesOf(e, a, [12, 2, H, W], 5);
    try {
      for (const exact of [false, true]) {
        const uq = new UnitQuantiles(e, { units: 2, quantile: 0.005, bins: 16, exact });
        try {
          const passes = await sweep(e, uq, bs);
          const t = uq.thresholds(), width = uq.binWidth();
          for (let u = 0; u < 2; u++) {
            const want = quantileLower(unitValues(a, 12, 2, HW, u), 0.005);
            const what = `exact ${exact}, unit ${u}: T ${t[u]} width ${width[u]} exact ${want}, sweeps ${passes.join(', ')}`;
            expect(want, what).to.be.at.most(t[u]!);
            expect(t[u]! - width[u]!, what).to.be.at.most(want);
            if (exact) expect(t[u], what).to.equal(want);
            else expect(width[u]!, what).to.be.within(0.1, 1000 / 16 ** 2);
          }
        } finally {
          uq.destroy();
        }
      }
    } finally {
      for (const b of bs) e.release(b.buf);
    }
  });

  it('a layer of constant units is final after the range sweep', async () => {
    const a = new Float32Array(3 * 2 * 4).map((_, i) => (Math.floor(i / 4) % 2 === 0 ? 0 : -2.5));
    const [b] = batchesOf(e, a, [3, 2, 2, 2], 3);
    const uq = new UnitQuantiles(e, { units: 2, quantile: 0.1 });
    try {
      expect(await sweep(e, uq, [b!])).to.deep.equal(['range']);
      expect([...uq.thresholds()]).to.deep.equal([0, -2.5]);
    } finally {
      uq.destroy();
      e.release(b!.buf);
    }
  });

  it('bad options, shapes, early reads, a sweep that misses a batch and NaN are one-line typed errors', async () => {
    const bad = (f: () => unknown, type: new (...a: never[]) => Error, re: RegExp) => {
      let err: unknown;
      try {
        f();
      } catch (x) {
        err = x;
      }
      expect(err, String(re)).to.be.instanceOf(type);
      expect((err as Error).message).to.match(re).and.not.to.contain('\n');
    };
    bad(() => new UnitQuantiles(e, { units: K, quantile: 0 }), ArgumentError, /quantile.*\(0, 1\)/);
    bad(() => new UnitQuantiles(e, { units: K, quantile: 1.5 }), ArgumentError, /quantile/);
    bad(() => new UnitQuantiles(e, { units: K, quantile: 0.005, bins: 1000 }), ArgumentError, /power of two/);
    bad(() => new UnitQuantiles(e, { units: 0, quantile: 0.005 }), ArgumentError, /units/);
    const uq = new UnitQuantiles(e, { units: K, quantile: 0.005 });
    try {
      bad(() => uq.dispatches(batches[0]!.buf, 16, [16, K + 1, H, W]), ShapeError, /8 units|7 units/);
      bad(() => uq.dispatches(batches[0]!.buf, 15, [16, K, H, W]), ShapeError, /batch of 15/);
      bad(() => uq.thresholds(), ArgumentError, /not final.*'range'/);
      let err: unknown = await uq.finishPass().catch((x) => x);
      expect(err).to.be.instanceOf(ArgumentError);
      expect((err as Error).message).to.match(/no activations/);
      err = await sweep(e, uq, batches, 'histogram').catch((x) => x);
      expect(err).to.be.instanceOf(ArgumentError);
      expect((err as Error).message).to.match(/same data set.*unit 0: 960 values in the histogram sweep, 1200 in the range/).and.not.to.contain('\n');
    } finally {
      uq.destroy();
    }
    const nan = quantileData(rng(3), 2, K, HW);
    nan[3 * HW + 4] = NaN;
    const [b] = batchesOf(e, nan, [2, K, H, W], 2);
    const uq2 = new UnitQuantiles(e, { units: K, quantile: 0.005 });
    try {
      const err = await sweep(e, uq2, [b!]).catch((x) => x);
      expect(err).to.be.instanceOf(NonFiniteError);
      expect((err as Error).message).to.match(/unit 3 has non-finite/);
    } finally {
      uq2.destroy();
      e.release(b!.buf);
    }
  });
});

// ---- the tally --------------------------------------------------------------------------------------

/** Labels N×3×mh×mw over `concepts`: a random plane, a plane repeating it at half the pixels, a whole-image plane. */
function tallyLabels(r: Rng, n: number, mh: number, mw: number, concepts: number): Uint32Array {
  const hw = mh * mw, out = new Uint32Array(n * 3 * hw);
  for (let i = 0; i < n; i++) {
    const whole = i === 1 ? 0 : r.int(1, concepts);
    for (let p = 0; p < hw; p++) {
      const a = r.bool(0.2) ? 0 : r.int(1, concepts);
      out[(i * 3) * hw + p] = a;
      out[(i * 3 + 1) * hw + p] = r.bool(0.5) ? a : r.bool(0.3) ? whole : r.int(0, concepts);
      out[(i * 3 + 2) * hw + p] = whole;
    }
  }
  return out;
}

/**
 * Per unit a threshold in a gap of the float64 upsampled values at least 1e-4 wide, near their
 * `at` quantile, so float32 rounding on the GPU cannot move a pixel across it.
 */
function thresholdsWithMargin(act: Float32Array, shape: number[], mh: number, mw: number, at: number[]): Float32Array {
  const [n, k, h, w] = shape as [number, number, number, number];
  const t = new Float32Array(k);
  for (let u = 0; u < k; u++) {
    const vals: number[] = [];
    for (let i = 0; i < n; i++) vals.push(...upsampleBilinear(act.subarray((i * k + u) * h * w, (i * k + u + 1) * h * w), h, w, mh, mw));
    vals.sort((a, b) => a - b);
    let i = Math.floor(at[u]! * (vals.length - 1));
    while (i + 1 < vals.length && vals[i + 1]! - vals[i]! < 1e-4) i++;
    t[u] = i + 1 < vals.length ? (vals[i]! + vals[i + 1]!) / 2 : vals[i]! + 1;
    for (const v of vals) expect(Math.abs(v - t[u]!), `unit ${u}`).to.be.greaterThan(1e-5);
  }
  return t;
}

describe('dissection: the concept tally', function () {
  this.timeout(60000);
  // 5 images, 7 units at 5×6 upsampled to 13×11, 3 planes, 9 concepts, batches of 3 and 2
  const N = 5, K = 7, H = 5, W = 6, MH = 13, MW = 11, P = 3, C = 9, MAXB = 3;
  const opts: TallyOptions = { units: K, concepts: C, maskH: MH, maskW: MW, maxBatch: MAXB, maxPlanes: 4 };
  let e: Engine;
  let act: Float32Array, labels: Uint32Array, thr: Float32Array;
  let batches: { buf: GPUBuffer; shape: number[] }[];
  before(async () => {
    e = await getEngine();
    const r = rng(1616);
    act = r.array(N * K * H * W, -1, 1);
    for (let i = 0; i < N; i++) {
      const at = (u: number) => act.subarray((i * K + u) * H * W, (i * K + u + 1) * H * W);
      at(3).forEach((v, p, m) => (m[p] = (v * (i + 1)) / N)); // unit 3: the first images stay below T
      at(5).fill(0); // dead
      at(6).fill(0.25); // constant
    }
    labels = tallyLabels(r, N, MH, MW, C);
    thr = thresholdsWithMargin(act, [N, K, H, W], MH, MW, [0.8, 0.9, 0.5, 0.85, 0, 0, 0]);
    thr[4] = -2; // every pixel of unit 4 is in its mask
    thr[5] = 0; // dead: empty mask
    thr[6] = 0.25; // constant at T: empty mask
    batches = batchesOf(e, act, [N, K, H, W], MAXB);
  });
  after(() => {
    for (const b of batches) e.release(b.buf);
  });

  async function tallyAll(t: ConceptTally): Promise<Float32Array> {
    t.setThresholds(thr);
    const maxima = new Float32Array(N * K);
    let first = 0;
    for (const b of batches) {
      const n = b.shape[0]!;
      t.setLabels(labels.subarray(first * P * MH * MW, (first + n) * P * MH * MW), n, P);
      await e.run(t.dispatches(b.buf, n, b.shape));
      await t.afterRun(n);
      maxima.set(await t.imageMaxima(n), first * K);
      first += n;
    }
    return maxima;
  }

  function expectTotals(got: Awaited<ReturnType<ConceptTally['totals']>>): void {
    const ref = dissectTally(act, [N, K, H, W], thr, labels, P, MH, MW, C);
    expect(got.images).to.equal(N);
    expect([...got.unitArea]).to.deep.equal([...ref.unitArea]);
    expect([...got.conceptArea]).to.deep.equal([...ref.conceptArea]);
    expect([...got.intersections]).to.deep.equal([...ref.intersections]);
    // the cases the data were made for
    expect(got.unitArea[4]).to.equal(N * MH * MW);
    expect(got.unitArea[5]).to.equal(0);
    expect(got.unitArea[6]).to.equal(0);
    expect(got.unitArea[0]).to.be.greaterThan(0);
    expect([...got.intersections.subarray(4 * (C + 1), 5 * (C + 1))]).to.deep.equal([...got.conceptArea]);
  }

  it('equals the plain-loop tally exactly over two batches (repeated ids across planes count once), with the images’ maxima', async () => {
    const t = new ConceptTally(e, opts);
    try {
      const maxima = await tallyAll(t);
      const got = await t.totals();
      expectTotals(got);
      expect(t.flushes).to.equal(0);
      const ref = dissectTally(act, [N, K, H, W], thr, labels, P, MH, MW, C);
      expect([...maxima]).to.deep.equal([...ref.maxima].map(Math.fround));
      // unit 3: some images' maxima are at or below T (the early exit), some above
      const m3 = [...maxima].filter((_, i) => i % K === 3);
      expect(m3.some((m) => m <= thr[3]!) && m3.some((m) => m > thr[3]!)).to.equal(true);
    } finally {
      t.destroy();
    }
  });

  it('equals it after flushes forced by a small flushPixels (one every batch)', async () => {
    const t = new ConceptTally(e, { ...opts, flushPixels: MAXB * MH * MW });
    try {
      await tallyAll(t);
      expect(t.flushes).to.equal(2);
      expectTotals(await t.totals());
    } finally {
      t.destroy();
    }
  });

  for (const [h, w, mh, mw] of [[9, 10, 4, 3], [1, 1, 3, 4], [2, 7, 5, 5]] as const)
    it(`equals it from ${h}×${w} maps to ${mh}×${mw} masks (cells with no mask pixel, single rows and columns)`, async () => {
      const r = rng(h * 100 + w), n = 2, k = 3, c = 5;
      const a = r.array(n * k * h * w, -1, 1);
      const lab = Uint32Array.from({ length: n * 2 * mh * mw }, () => r.int(0, c));
      const th = thresholdsWithMargin(a, [n, k, h, w], mh, mw, [0.3, 0.6, 0.9]);
      const [b] = batchesOf(e, a, [n, k, h, w], n);
      const t = new ConceptTally(e, { units: k, concepts: c, maskH: mh, maskW: mw, maxBatch: n, maxPlanes: 2 });
      try {
        t.setThresholds(th);
        t.setLabels(lab, n, 2);
        await e.run(t.dispatches(b!.buf, n, [n, k, h, w]));
        await t.afterRun(n);
        const got = await t.totals(), ref = dissectTally(a, [n, k, h, w], th, lab, 2, mh, mw, c);
        expect([...got.intersections]).to.deep.equal([...ref.intersections]);
        expect([...got.unitArea]).to.deep.equal([...ref.unitArea]);
        expect(got.unitArea.some((v) => v > 0)).to.equal(true);
      } finally {
        t.destroy();
        e.release(b!.buf);
      }
    });

  it('runs from a model’s injection at a conv layer', async () => {
    const r = rng(7);
    const b = new GraphBuilder([1, 2, 6, 5]);
    const conv = b.node('conv', ['x'], { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], group: 1, weight: b.param([K, 2, 3, 3], r), bias: b.param([K], r) });
    const out = b.node('relu', [conv], {});
    const model = new Model(e, b.build([out]));
    const x = r.array(N * 2 * 30, -1, 1);
    const a = (await model.run(x, N, { outputs: [conv] })).get(conv)!.data;
    const t = new ConceptTally(e, { ...opts, maxBatch: N });
    try {
      const th = thresholdsWithMargin(a, [N, K, 6, 5], MH, MW, [0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99]);
      t.setThresholds(th);
      t.setLabels(labels, N, P);
      await model.run(x, N, { outputs: [out], inject: t.injection(conv) });
      await t.afterRun(N);
      const got = await t.totals();
      const ref = dissectTally(a, [N, K, 6, 5], th, labels, P, MH, MW, C);
      expect([...got.intersections]).to.deep.equal([...ref.intersections]);
      expect([...got.unitArea]).to.deep.equal([...ref.unitArea]);
      expect([...(await t.imageMaxima(N))]).to.deep.equal([...ref.maxima].map(Math.fround));
    } finally {
      t.destroy();
      model.destroy();
    }
  });

  it('bad labels, thresholds, shapes and call orders are one-line typed errors', async () => {
    const t = new ConceptTally(e, opts);
    const hw = MH * MW;
    const bad = (f: () => unknown, type: new (...a: never[]) => Error, re: RegExp) => {
      let err: unknown;
      try {
        f();
      } catch (x) {
        err = x;
      }
      expect(err, String(re)).to.be.instanceOf(type);
      expect((err as Error).message).to.match(re).and.not.to.contain('\n');
    };
    try {
      bad(() => t.setLabels(labels.subarray(0, 2 * P * hw), 2, P), ArgumentError, /setThresholds/);
      bad(() => t.setThresholds(thr.subarray(0, 3)), ShapeError, /3 thresholds for 7 units/);
      bad(() => t.setThresholds(new Float32Array(K).fill(NaN)), NonFiniteError, /unit 0 is NaN/);
      t.setThresholds(thr);
      bad(() => t.setLabels(labels.subarray(0, 2 * P * hw - 1), 2, P), ShapeError, /expected 2 images × 3 planes × 13×11/);
      bad(() => t.setLabels(new Uint32Array(2 * 5 * hw), 2, 5), ShapeError, /5 label planes.*1 to 4/);
      bad(() => t.setLabels(new Uint32Array(4 * P * hw), 4, P), ShapeError, /4 images.*1 to 3/);
      const wrong = labels.slice(0, 2 * P * hw);
      wrong[(1 * P + 2) * hw + 3 * MW + 4] = C + 1;
      bad(() => t.setLabels(wrong, 2, P), ShapeError, /label 10 at image 1, plane 2, pixel \(3, 4\) is not one of the 9 concepts/);
      bad(() => t.dispatches(batches[0]!.buf, 3, [3, K + 1, H, W]), ShapeError, /7 units/);
      bad(() => t.dispatches(batches[0]!.buf, 3, [3, K, H * W]), ShapeError, /N×K×h×w/);
      let err: unknown = await t.afterRun(2).catch((x) => x);
      expect(err).to.be.instanceOf(ArgumentError);
      expect((err as Error).message).to.match(/without labels/);
      t.setLabels(labels.subarray(0, 2 * P * hw), 2, P);
      bad(() => t.setLabels(labels.subarray(0, 2 * P * hw), 2, P), ArgumentError, /afterRun/);
      err = await t.afterRun(3).catch((x) => x);
      expect(err).to.be.instanceOf(ShapeError);
      bad(() => new ConceptTally(e, { ...opts, flushPixels: 10 }), ArgumentError, /flushPixels/);
      bad(() => new ConceptTally(e, { ...opts, maxPlanes: 0 }), ArgumentError, /maxPlanes/);
    } finally {
      t.destroy();
    }
  });
});

describe('dissection: labels layout and IoU', () => {
  it('labelPlanes: pixel maps (resized nearest), one plane per distinct image-level concept, zero planes to pad', () => {
    const img = () => ({ width: 1, height: 1, data: new Uint8Array(4) });
    const s = (name: string, h: number, w: number, maps: number[][], whole: number[]): ConceptSample => ({ name, image: img, height: h, width: w, maps: maps.map((m) => Uint16Array.from(m)), whole });
    const { planes, data } = labelPlanes([s('a', 2, 2, [[1, 2, 3, 4]], [5, 5]), s('b', 4, 4, [Array.from({ length: 16 }, (_, i) => i % 3), new Array(16).fill(6)], [7]), s('c', 2, 2, [], [])], 2, 2);
    expect(planes).to.equal(3);
    expect([...data]).to.deep.equal([
      ...[1, 2, 3, 4], ...[5, 5, 5, 5], ...[0, 0, 0, 0], // a: its map, whole 5 once, a zero plane
      ...[2, 1, 1, 0], ...[6, 6, 6, 6], ...[7, 7, 7, 7], // b: 4×4 → 2×2 nearest takes pixels (1,1), (1,3), (3,1), (3,3)
      ...new Array(12).fill(0), // c: nothing
    ]);
    expect(() => labelPlanes([s('d', 2, 2, [[1, 2, 3]], [])], 2, 2)).to.throw(ShapeError, /d: a label map of 3 pixels, expected 2×2/);
    expect(() => labelPlanes([s('e', 2, 2, [], [-1])], 2, 2)).to.throw(ShapeError, /e: image-level label -1/);
  });

  it('iouTable: I / (|M| + |L| − I), 0 where the union is empty', () => {
    const iou = iouTable({ intersections: Float64Array.from([0, 2, 0, 0, 0, 0]), unitArea: Float64Array.from([4, 0]), conceptArea: Float64Array.from([0, 3, 0]) }, 2, 2);
    expect([...iou]).to.deep.equal([0, 2 / 5, 0, 0, 0, 0]);
    expect(() => iouTable({ intersections: new Float64Array(5), unitArea: new Float64Array(2), conceptArea: new Float64Array(3) }, 2, 2)).to.throw(ShapeError);
  });
});
