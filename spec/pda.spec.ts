// Prediction difference analysis: the conditional sampler's draws have the mean and covariance
// of their conditional Gaussian, the batch built on the GPU equals a CPU construction, LeNet's
// marginal-sampling map equals a CPU reference of Algorithm 1 replaying the same draws, the
// patch-model file round-trips, and bad requests fail with clear errors.
import { expect } from 'chai';
import { readFileSync, mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getEngine, rng } from './helpers.ts';
import { Model } from '../engine/runner.ts';
import { loadCaffe } from '../loaders/caffe.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { decodeImage } from '../loaders/image.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { readIdx } from '../loaders/idx.ts';
import { readNpy, writeNpy } from '../loaders/npy.ts';
import { softmaxRows } from '../engine/classify.ts';
import { ArgumentError } from '../engine/errors.ts';
import { PdaSampler, perturbedBatchCpu, predictionDifference, windowGrid, windowOrigin, marginalIndex, normalDraw, laplace } from '../explainers/pda.ts';
import { conditionalOf, conditionalFactors, patchPlacement, estimateGaussian, buildPatchModel, encodePatchModel, decodePatchModel, type PatchModel } from '../explainers/patch-model.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '..', 'shared', 'data');
const LENET_P = join(DATA, 'caffe/lenet/lenet.prototxt');
const LENET_W = join(DATA, 'caffe/lenet/lenet_iter_10000.caffemodel');
const T10K = join(DATA, 'mnist/t10k-images-idx3-ubyte.gz');

const SQZ = join(DATA, 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx');

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).to.equal(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** A smooth SPD covariance over C×P×P patches (squared-exponential in pixel distance, plus a nugget). */
function syntheticGaussian(C: number, P: number, seed: number): { mean: Float64Array; cov: Float64Array } {
  const r = rng(seed);
  const d = C * P * P;
  const mean = Float64Array.from({ length: d }, () => r.uniform(-1, 1));
  const cov = new Float64Array(d * d);
  for (let a = 0; a < d; a++)
    for (let b = 0; b < d; b++) {
      const ca = Math.floor(a / (P * P)), cb = Math.floor(b / (P * P));
      const ya = Math.floor((a % (P * P)) / P), xa = a % P, yb = Math.floor((b % (P * P)) / P), xb = b % P;
      const dist2 = (ya - yb) ** 2 + (xa - xb) ** 2;
      cov[a * d + b] = (ca === cb ? 1 : 0.5) * Math.exp(-dist2 / (2 * 1.5 ** 2)) + (a === b ? 0.1 : 0);
    }
  return { mean, cov };
}

/** μ_w|o and Σ_w|o of window `wi` of the grid over image x, computed directly in float64. */
function exactConditional(pm: { mean: Float64Array; cov: Float64Array }, x: Float32Array, C: number, H: number, W: number, K: number, L: number, y0: number, x0: number) {
  const P = K + 2 * L;
  const d = C * P * P;
  const py = patchPlacement(y0, K, L, H), px = patchPlacement(x0, K, L, W);
  const wIdx: number[] = [], oIdx: number[] = [];
  for (let c = 0; c < C; c++) for (let yy = 0; yy < P; yy++) for (let xx = 0; xx < P; xx++) {
    const inside = yy >= py.offset && yy < py.offset + K && xx >= px.offset && xx < px.offset + K;
    (inside ? wIdx : oIdx).push(c * P * P + yy * P + xx);
  }
  const { A, condCov } = conditionalOf(pm.cov, d, wIdx, oIdx);
  const xo = oIdx.map((pi) => {
    const c = Math.floor(pi / (P * P)), yy = Math.floor((pi % (P * P)) / P), xx = pi % P;
    return x[c * H * W + (py.start + yy) * W + px.start + xx]! - pm.mean[pi]!;
  });
  const mu = wIdx.map((pi, i) => pm.mean[pi]! + xo.reduce((s, v, j) => s + A[i * oIdx.length + j]! * v, 0));
  return { mu, cov: condCov.m, dw: wIdx.length };
}

describe('prediction difference analysis', function () {
  describe('the conditional sampler (C=1, K=2, L=1 synthetic Gaussian)', () => {
    const C = 1, K = 2, L = 1, H = 5, W = 5, S = 20000, seed = 1234;
    const g = syntheticGaussian(C, K + 2 * L, 7);
    const pm: PatchModel = { window: K, padding: L, channels: C, patches: 0, ...g, factors: conditionalFactors(g.mean, g.cov, { window: K, padding: L, channels: C }) };
    const x = rng(3).array(C * H * W, -2, 2);
    const grid = windowGrid(H, W, K, 1);
    let sampler: PdaSampler;
    before(async () => {
      sampler = new PdaSampler(await getEngine(), { sampling: 'conditional', patchModel: pm, x, channels: C, grid, samples: S, seed, maxWindows: grid.count });
    });
    after(() => sampler.destroy());

    it('computes μ_w|o on the GPU (every window offset in the patch)', async () => {
      const mu = await sampler.conditionalMeans(0, grid.count);
      const offsets = new Set<string>();
      for (let wi = 0; wi < grid.count; wi++) {
        const [y0, x0] = windowOrigin(grid, wi);
        offsets.add(`${patchPlacement(y0, K, L, H).offset},${patchPlacement(x0, K, L, W).offset}`);
        const ex = exactConditional(g, x, C, H, W, K, L, y0, x0);
        ex.mu.forEach((m, i) => expect(mu[wi * ex.dw + i]).to.be.closeTo(m, 1e-4, `window ${wi} component ${i}`));
      }
      expect(offsets.size).to.equal(9);
    });

    it(`${S} draws per window have the conditional mean and covariance`, async () => {
      const t0 = performance.now();
      const z = await sampler.draw(0, grid.count);
      const ms = performance.now() - t0;
      let worst = 0;
      for (let wi = 0; wi < grid.count; wi++) {
        const [y0, x0] = windowOrigin(grid, wi);
        const ex = exactConditional(g, x, C, H, W, K, L, y0, x0);
        const dw = ex.dw;
        const m = new Float64Array(dw);
        for (let s = 0; s < S; s++) for (let i = 0; i < dw; i++) m[i] += z[(wi * S + s) * dw + i]!;
        for (let i = 0; i < dw; i++) m[i] /= S;
        const cv = new Float64Array(dw * dw);
        for (let s = 0; s < S; s++) for (let i = 0; i < dw; i++) for (let j = 0; j < dw; j++) cv[i * dw + j] += (z[(wi * S + s) * dw + i]! - m[i]!) * (z[(wi * S + s) * dw + j]! - m[j]!);
        for (let i = 0; i < dw; i++) {
          const se = Math.sqrt(ex.cov[i * dw + i]! / S);
          const dev = Math.abs(m[i]! - ex.mu[i]!) / se;
          worst = Math.max(worst, dev);
          expect(dev, `window ${wi} mean ${i}: ${m[i]} vs ${ex.mu[i]}`).to.be.below(5);
          for (let j = 0; j < dw; j++) {
            const sij = ex.cov[i * dw + j]!;
            const seC = Math.sqrt((ex.cov[i * dw + i]! * ex.cov[j * dw + j]! + sij * sij) / S);
            const devC = Math.abs(cv[i * dw + j]! / (S - 1) - sij) / seC;
            worst = Math.max(worst, devC);
            expect(devC, `window ${wi} cov ${i},${j}: ${cv[i * dw + j]! / (S - 1)} vs ${sij}`).to.be.below(5);
          }
        }
      }
      console.log(`      ${grid.count} windows × ${S} draws in ${ms.toFixed(0)} ms; worst deviation ${worst.toFixed(2)} standard errors`);
    });

    it('is the counter-based RNG: the CPU replays the GPU draws, and another seed gives other draws', async () => {
      const z = await sampler.draw(3, 2);
      const f = pm.factors!;
      const mu = await sampler.conditionalMeans(3, 2);
      for (const [wl, s] of [[0, 0], [1, 17], [1, 19999]] as const) {
        const wi = 3 + wl;
        const [y0, x0] = windowOrigin(grid, wi);
        const q = patchPlacement(y0, K, L, H).offset * (2 * L + 1) + patchPlacement(x0, K, L, W).offset;
        for (let i = 0; i < f.dw; i++) {
          let v = mu[wl * f.dw + i]!;
          for (let j = 0; j <= i; j++) v += f.L[(q * f.dw + i) * f.dw + j]! * normalDraw(seed, wi, s, j);
          expect(z[(wl * S + s) * f.dw + i]).to.be.closeTo(v, 1e-4);
        }
      }
      const other = new PdaSampler(await getEngine(), { sampling: 'conditional', patchModel: pm, x, channels: C, grid, samples: S, seed: seed + 1, maxWindows: 2 });
      try {
        const z2 = await other.draw(3, 2);
        let same = 0;
        for (let i = 0; i < z.length; i++) if (z[i] === z2[i]) same++;
        expect(same).to.be.below(z.length / 100);
        expect(Array.from(await sampler.draw(3, 2))).to.deep.equal(Array.from(z)); // reproducible
      } finally {
        other.destroy();
      }
    });
  });

  describe('patch substitution (C=3, 7×9 image, K=3, stride 3)', () => {
    const C = 3, H = 7, W = 9, K = 3, S = 3, M = 5, seed = 99;
    const r = rng(11);
    const x = r.array(C * H * W);
    const store = r.array(M * C * H * W, 5, 6);
    const grid = windowGrid(H, W, K, 3);

    it('has windows that cover the last row and column', () => {
      expect([grid.rows, grid.cols]).to.deep.equal([3, 3]);
      expect(windowOrigin(grid, 3)).to.deep.equal([3, 0]);
      expect(windowOrigin(grid, 6)).to.deep.equal([4, 0]);
      expect(windowOrigin(grid, grid.count - 1)).to.deep.equal([4, 6]);
    });

    it('marginal: the GPU batch equals the CPU one (same store images, replayed)', async () => {
      const pm: PatchModel = { window: K, padding: 2, channels: C, patches: 0, store: { count: M, channels: C, height: H, width: W, data: store } };
      const s = new PdaSampler(await getEngine(), { sampling: 'marginal', patchModel: pm, x, channels: C, grid, samples: S, seed, maxWindows: 8 });
      try {
        for (const first of [0, 5, 8]) {
          const nw = Math.min(8, grid.count - first);
          const got = await s.batch(first, nw);
          const want = new Float32Array(nw * S * C * H * W);
          for (let wl = 0; wl < nw; wl++) {
            const [y0, x0] = windowOrigin(grid, first + wl);
            for (let si = 0; si < S; si++) {
              const b = wl * S + si;
              want.set(x, b * C * H * W);
              const m = marginalIndex(seed, first + wl, si, M);
              for (let c = 0; c < C; c++) for (let yy = y0; yy < y0 + K; yy++) for (let xx = x0; xx < x0 + K; xx++)
                want[b * C * H * W + c * H * W + yy * W + xx] = store[m * C * H * W + c * H * W + yy * W + xx]!;
            }
          }
          expect(Array.from(got)).to.deep.equal(Array.from(want));
          expect(Array.from(perturbedBatchCpu({ sampling: 'marginal', patchModel: pm, x, channels: C, grid, samples: S, seed }, first, nw)), 'the CPU route (bench)').to.deep.equal(Array.from(want));
        }
      } finally {
        s.destroy();
      }
    });

    it('conditional: the GPU batch is the clean image with each window replaced by its draw', async () => {
      const g = syntheticGaussian(C, K + 4, 5);
      const pm: PatchModel = { window: K, padding: 2, channels: C, patches: 0, ...g, factors: conditionalFactors(g.mean, g.cov, { window: K, padding: 2, channels: C }) };
      const s = new PdaSampler(await getEngine(), { sampling: 'conditional', patchModel: pm, x, channels: C, grid, samples: S, seed, maxWindows: 6 });
      try {
        const first = 3, nw = 6;
        const z = await s.draw(first, nw);
        const got = await s.batch(first, nw);
        const dw = C * K * K;
        for (let wl = 0; wl < nw; wl++) {
          const [y0, x0] = windowOrigin(grid, first + wl);
          for (let si = 0; si < S; si++) {
            const b = wl * S + si;
            for (let c = 0; c < C; c++) for (let yy = 0; yy < H; yy++) for (let xx = 0; xx < W; xx++) {
              const inside = yy >= y0 && yy < y0 + K && xx >= x0 && xx < x0 + K;
              const want = inside ? z[b * dw + c * K * K + (yy - y0) * K + (xx - x0)]! : x[c * H * W + yy * W + xx]!;
              expect(got[b * C * H * W + c * H * W + yy * W + xx]).to.equal(want);
            }
          }
        }
        // The CPU route (bench: perturbed images for onnxruntime) builds the same batch, to float rounding.
        const cpu = perturbedBatchCpu({ sampling: 'conditional', patchModel: pm, x, channels: C, grid, samples: S, seed }, first, nw);
        for (let i = 0; i < cpu.length; i++) expect(cpu[i]).to.be.closeTo(got[i]!, 1e-4);
      } finally {
        s.destroy();
      }
    });
  });

  describe('the patch model', () => {
    it('estimates the mean and covariance of patches (a known Gaussian field) and round-trips through its file', () => {
      // Images whose pixels are iid N(2, 0.25): mean 2, covariance 0.25·I.
      const r = rng(5);
      const normal = () => Math.sqrt(-2 * Math.log(1 - r.next())) * Math.cos(2 * Math.PI * r.next());
      const imgs = Array.from({ length: 20 }, () => Float32Array.from({ length: 2 * 12 * 12 }, () => 2 + 0.5 * normal()));
      const est = estimateGaussian(imgs, { channels: 2, height: 12, width: 12, window: 2, padding: 1 }, 6000, 3);
      const d = 2 * 16;
      for (let i = 0; i < d; i++) {
        expect(est.mean[i]).to.be.closeTo(2, 0.05);
        for (let j = 0; j < d; j++) expect(est.cov[i * d + j]).to.be.closeTo(i === j ? 0.25 : 0, 0.03);
      }
      const pm = buildPatchModel(imgs, { window: 2, padding: 1, channels: 2, height: 12, width: 12, patches: 3000, store: 4, seed: 1, model: 'm.onnx', preprocess: { mean: [1, 2], scale: 0.5 } });
      const back = decodePatchModel(encodePatchModel(pm), 'pm.bin');
      expect([back.window, back.padding, back.channels, back.patches, back.model]).to.deep.equal([2, 1, 2, 3000, 'm.onnx']);
      expect(back.preprocess).to.deep.equal({ mean: [1, 2], scale: 0.5 });
      expect(Array.from(back.cov!)).to.deep.equal(Array.from(pm.cov!));
      expect(Array.from(back.factors!.L)).to.deep.equal(Array.from(pm.factors!.L));
      expect(Array.from(back.factors!.oIndex)).to.deep.equal(Array.from(pm.factors!.oIndex));
      expect(back.store!.count).to.equal(4);
      expect(Array.from(back.store!.data)).to.deep.equal(Array.from(pm.store!.data));
      expect(() => decodePatchModel(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), 'junk.bin')).to.throw(/junk\.bin: not a loupe patch model/);
    });
  });

  describe('MNIST LeNet (Caffe), marginal sampling', () => {
    let model: Model;
    const idx = readIdx(new Uint8Array(gunzipSync(readFileSync(T10K))), 't10k');
    const digit = (i: number) => Float32Array.from(idx.data.subarray(i * 784, (i + 1) * 784), (v) => v / 256);
    const M = 60;
    const store = new Float32Array(M * 784);
    for (let m = 0; m < M; m++) store.set(digit(100 + m), m * 784);
    const pm: PatchModel = { window: 4, padding: 2, channels: 1, patches: 0, store: { count: M, channels: 1, height: 28, width: 28, data: store }, source: 'lenet-store.bin' };
    before(async () => {
      model = new Model(await getEngine(), loadCaffe(readFileSync(LENET_P, 'utf8'), new Uint8Array(readFileSync(LENET_W)), { prototxtName: 'lenet.prototxt' }));
    });
    after(() => model.destroy());

    it('a digit’s map equals a CPU reference of Algorithm 1 with the same draws (WE, logit AD, pool2 maps and units)', async () => {
      const K = 4, S = 4, seed = 7;
      const x = digit(0); // a 7
      const r = await predictionDifference(model, x, { sampling: 'marginal', patchModel: pm, window: K, samples: S, seed, top: 2, layer: 'pool2', units: [5, 790], windowsPerBatch: 37 });
      expect(r.classes[0]).to.equal(7);
      // Algorithm 1, literally: for every window, S perturbed copies (window from store image m at the same place).
      const grid = windowGrid(28, 28, K, 1);
      const batch = new Float32Array(grid.count * S * 784);
      for (let w = 0; w < grid.count; w++) {
        const y0 = Math.floor(w / grid.cols), x0 = w % grid.cols;
        for (let s = 0; s < S; s++) {
          const xp = x.slice();
          const m = marginalIndex(seed, w, s, M);
          for (let yy = y0; yy < y0 + K; yy++) for (let xx = x0; xx < x0 + K; xx++) xp[yy * 28 + xx] = store[m * 784 + yy * 28 + xx]!;
          batch.set(xp, (w * S + s) * 784);
        }
      }
      const clean = await model.run(x, 1, { outputs: ['ip2', 'pool2'] });
      const pert = await model.run(batch, grid.count * S, { outputs: ['ip2', 'pool2'] });
      const l0 = clean.get('ip2')!.data, lp = pert.get('ip2')!.data;
      const p0 = softmaxRows(l0, 10), pp = softmaxRows(lp, 10);
      const pool0 = clean.get('pool2')!.data, poolp = pert.get('pool2')!.data; // 50 × 4 × 4
      const N = 60000;
      const odds = (p: number) => Math.log2(laplace(p, N, 10) / (1 - laplace(p, N, 10)));
      r.classes.forEach((c, ci) => {
        const WE = new Float64Array(784), AD = new Float64Array(784), counts = new Float64Array(784);
        for (let w = 0; w < grid.count; w++) {
          const y0 = Math.floor(w / grid.cols), x0 = w % grid.cols;
          let sum = 0, lsum = 0;
          for (let s = 0; s < S; s++) {
            sum += pp[(w * S + s) * 10 + c]!;
            lsum += lp[(w * S + s) * 10 + c]!;
          }
          for (let yy = y0; yy < y0 + K; yy++) for (let xx = x0; xx < x0 + K; xx++) {
            counts[yy * 28 + xx]++;
            WE[yy * 28 + xx] += odds(p0[c]!) - odds(sum / S);
            AD[yy * 28 + xx] += l0[c]! - lsum / S;
          }
        }
        let maxWE = 0;
        for (let q = 0; q < 784; q++) {
          maxWE = Math.max(maxWE, Math.abs(WE[q]! / counts[q]!));
          expect(r.we[ci * 784 + q]).to.be.closeTo(WE[q]! / counts[q]!, 2e-3, `class ${c} WE at pixel ${q}`);
          expect(r.logitAD[ci * 784 + q]).to.be.closeTo(AD[q]! / counts[q]!, 2e-3, `class ${c} AD at pixel ${q}`);
        }
        expect(maxWE, 'the map is not all zero').to.be.above(0.1);
      });
      // Feature map 7 of pool2: AD of the map's mean.
      for (const fm of [0, 7, 49]) {
        const mean = (v: Float32Array, b: number) => {
          let s = 0;
          for (let u = 0; u < 16; u++) s += v[b * 800 + fm * 16 + u]!;
          return s / 16;
        };
        const ADm = new Float64Array(784), counts = new Float64Array(784);
        for (let w = 0; w < grid.count; w++) {
          const y0 = Math.floor(w / grid.cols), x0 = w % grid.cols;
          let s0 = 0;
          for (let s = 0; s < S; s++) s0 += mean(poolp, w * S + s);
          for (let yy = y0; yy < y0 + K; yy++) for (let xx = x0; xx < x0 + K; xx++) {
            counts[yy * 28 + xx]++;
            ADm[yy * 28 + xx] += mean(pool0, 0) - s0 / S;
          }
        }
        for (let q = 0; q < 784; q++) expect(r.layer!.pixels[fm * 784 + q]).to.be.closeTo(ADm[q]! / counts[q]!, 1e-3, `pool2 map ${fm} pixel ${q}`);
      }
      expect(r.layer!.maps).to.equal(50);
      // Single hidden units: AD of the unit itself.
      r.layer!.units!.indices.forEach((u, ui) => {
        const ADu = new Float64Array(784), counts = new Float64Array(784);
        for (let w = 0; w < grid.count; w++) {
          const y0 = Math.floor(w / grid.cols), x0 = w % grid.cols;
          let s0 = 0;
          for (let s = 0; s < S; s++) s0 += poolp[(w * S + s) * 800 + u]!;
          for (let yy = y0; yy < y0 + K; yy++) for (let xx = x0; xx < x0 + K; xx++) {
            counts[yy * 28 + xx]++;
            ADu[yy * 28 + xx] += pool0[u]! - s0 / S;
          }
        }
        for (let q = 0; q < 784; q++) expect(r.layer!.units!.pixels[ui * 784 + q]).to.be.closeTo(ADu[q]! / counts[q]!, 1e-3, `pool2 unit ${u} pixel ${q}`);
      });
    });

    it('incremental and full recomputation give the same maps (marginal and conditional, with a hidden layer)', async () => {
      const x = digit(3);
      const g = syntheticGaussian(1, 8, 4);
      const cond: PatchModel = { window: 4, padding: 2, channels: 1, patches: 0, ...g, factors: conditionalFactors(g.mean, g.cov, { window: 4, padding: 2, channels: 1 }), source: 'k4.pm' };
      for (const [sampling, patchModel] of [['marginal', pm], ['conditional', cond]] as const) {
        const o = { sampling, patchModel, window: 4, stride: 2, samples: 2, seed: 9, top: 3, layer: 'conv1', units: [17, 2000], windowsPerBatch: 50 };
        const inc = await predictionDifference(model, x, { ...o, incremental: true });
        const full = await predictionDifference(model, x, { ...o, incremental: false });
        expect([inc.incremental, full.incremental]).to.deep.equal([true, false]);
        expect(inc.macFraction).to.be.below(1);
        for (const [what, a, b] of [['WE', inc.we, full.we], ['logit AD', inc.logitAD, full.logitAD], ['conv1 maps', inc.layer!.pixels, full.layer!.pixels], ['units', inc.layer!.units!.pixels, full.layer!.units!.pixels]] as const)
          expect(maxAbsDiff(a, b), `${sampling} ${what}`).to.be.at.most(1e-4 * maxAbs(b));
        expect(maxAbs(full.we), 'the map is not all zero').to.be.above(0.05);
      }
    });

    it('rejects bad requests with clear errors', async () => {
      const x = digit(0);
      const fail = async (f: () => Promise<unknown>, re: RegExp) => {
        try {
          await f();
          expect.fail('no error');
        } catch (e) {
          expect(e).to.be.instanceOf(ArgumentError);
          expect((e as Error).message).to.match(re);
        }
      };
      await fail(() => predictionDifference(model, x, { sampling: 'marginal', patchModel: pm, window: 29 }), /window 29 is larger than the image \(28x28\)/);
      await fail(() => predictionDifference(model, x, { sampling: 'marginal', patchModel: pm, window: 4, classes: [10] }), /class 10 is out of range: the model has 10 classes/);
      const g = syntheticGaussian(1, 7, 1);
      const cond: PatchModel = { window: 3, padding: 2, channels: 1, patches: 0, ...g, factors: conditionalFactors(g.mean, g.cov, { window: 3, padding: 2, channels: 1 }), source: 'k3.pm' };
      await fail(() => predictionDifference(model, x, { sampling: 'conditional', patchModel: cond, window: 4 }), /k3\.pm: built for window 3, but --window is 4/);
      const rgb: PatchModel = { ...cond, channels: 3, source: 'rgb.pm' };
      await fail(() => predictionDifference(model, x, { sampling: 'conditional', patchModel: rgb, window: 3 }), /rgb\.pm: built for 3-channel images; the model takes 1 channels/);
      await fail(() => predictionDifference(model, x, { sampling: 'marginal', patchModel: cond, window: 3 }), /k3\.pm: has no image store/);
      await fail(() => predictionDifference(model, x, { sampling: 'marginal', patchModel: pm, window: 4, layer: 'nope' }), /no layer named "nope"/);
    });
  });

  describe('SqueezeNet, conditional sampling from a patch model of the photos', function () {
    it('incremental and full recomputation give the same maps (top-2 classes and the fire5 maps)', async () => {
      const model = new Model(await getEngine(), loadOnnx(new Uint8Array(readFileSync(SQZ)), 'squeezenet.onnx'));
      try {
        const prep = (f: string) => preprocessImage(decodeImage(new Uint8Array(readFileSync(join(DATA, 'images', f))), f), { size: [227, 227], mean: [104, 117, 123], bgr: true, channels: 3 });
        const photos = ['preddiff/n01855672_8202.jpg', 'transformer-explainability/el1.png', 'caffe/cat.jpg'].map(prep);
        const patchModel = buildPatchModel(photos, { window: 8, padding: 1, channels: 3, height: 227, width: 227, patches: 3000, store: 3, seed: 1 });
        const o = { sampling: 'conditional' as const, patchModel, window: 8, stride: 43, samples: 2, seed: 4, top: 2, layer: '/Concat_3_output_0' };
        const inc = await predictionDifference(model, photos[0]!, { ...o, incremental: true });
        const full = await predictionDifference(model, photos[0]!, { ...o, incremental: false });
        expect(inc.grid.count).to.equal(49);
        expect(inc.macFraction).to.be.below(0.25);
        for (const [what, a, b] of [['WE', inc.we, full.we], ['logit AD', inc.logitAD, full.logitAD], ['fire5 maps', inc.layer!.pixels, full.layer!.pixels]] as const)
          expect(maxAbsDiff(a, b), what).to.be.at.most(1e-4 * maxAbs(b));
        expect(maxAbs(full.logitAD)).to.be.above(0.01);
      } finally {
        model.destroy();
      }
    });
  });

  describe('loupe patch-model and loupe explain --method pda (LeNet, conditional)', function () {
    const tmp = mkdtempSync(join(tmpdir(), 'loupe-pda-'));
    const loupe = (...args: string[]) => {
      const r = spawnSync(process.execPath, [join(ROOT, 'bin/loupe.js'), ...args], { encoding: 'utf8', timeout: 600_000, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
      return { code: r.status, out: r.stdout, err: r.stderr.split('\n').filter((l) => l && !l.startsWith('Warning: max')).join('\n') };
    };
    const lenet = ['--model', LENET_P, '--weights', LENET_W, '--scale', '0.00390625'];
    const pmFile = join(tmp, 'lenet-k4.pm');

    it('builds a patch model from the MNIST test images', () => {
      const r = loupe('patch-model', ...lenet, '--images', T10K, '--window', '4', '--padding', '2', '--patches', '4000', '--store', '50', '--out', pmFile);
      expect(r.code, r.err).to.equal(0);
      expect(existsSync(pmFile)).to.equal(true);
      const pm = decodePatchModel(new Uint8Array(readFileSync(pmFile)), 'lenet-k4.pm');
      expect([pm.window, pm.padding, pm.channels, pm.store!.count]).to.deep.equal([4, 2, 1, 50]);
    });

    it('explains a digit (top class, stride 2) and writes PNG, .npy and JSON', () => {
      const idx = readIdx(new Uint8Array(gunzipSync(readFileSync(T10K))), 't10k');
      const npy = join(tmp, 'digit.npy');
      writeFileSync(npy, writeNpy([1, 1, 28, 28], Float32Array.from(idx.data.subarray(784, 1568), (v) => v / 256)));
      const out = join(tmp, 'pda');
      const r = loupe('explain', '--method', 'pda', '--sampling', 'conditional', ...lenet, '--input', npy, '--window', '4', '--padding', '2', '--samples', '3', '--stride', '2', '--patch-model', pmFile, '--layer', 'conv1', '--seed', '5', '--out', out);
      expect(r.code, r.err).to.equal(0);
      for (const ext of ['png', 'npy', 'json']) expect(existsSync(`${out}.${ext}`), ext).to.equal(true);
      const meta = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
      expect(meta.method).to.equal('pda');
      expect(meta.sampling).to.equal('conditional');
      expect(meta.classes).to.deep.equal([2]);
      const arr = readNpy(new Uint8Array(readFileSync(`${out}.npy`)), 'pda.npy');
      expect(arr.shape).to.deep.equal([1, 28, 28]);
      expect(existsSync(`${out}-conv1.png`)).to.equal(true);
      expect(readNpy(new Uint8Array(readFileSync(`${out}-conv1.npy`)), 'l.npy').shape).to.deep.equal([20, 13, 13]); // maps × window rows × cols
      expect(JSON.parse(readFileSync(`${out}-conv1.json`, 'utf8')).maps).to.equal(20);
      expect(meta.incremental).to.equal(true);
      // --full: whole-image recomputation, the same maps.
      const fr = loupe('explain', '--method', 'pda', '--sampling', 'conditional', ...lenet, '--input', npy, '--window', '4', '--padding', '2', '--samples', '3', '--stride', '2', '--patch-model', pmFile, '--layer', 'conv1', '--seed', '5', '--full', '--out', `${out}-full`);
      expect(fr.code, fr.err).to.equal(0);
      expect(JSON.parse(readFileSync(`${out}-full.json`, 'utf8')).incremental).to.equal(false);
      const a = readNpy(new Uint8Array(readFileSync(`${out}.npy`)), 'a').data, b = readNpy(new Uint8Array(readFileSync(`${out}-full.npy`)), 'b').data;
      expect(maxAbsDiff(a, b)).to.be.at.most(1e-4 * maxAbs(b));
      const wrong = loupe('explain', '--method', 'pda', '--sampling', 'conditional', ...lenet, '--input', npy, '--window', '5', '--patch-model', pmFile, '--out', out);
      expect(wrong.code).to.equal(1);
      expect(wrong.err).to.match(/lenet-k4\.pm: built for window 4, but --window is 5/);
      const big = loupe('explain', '--method', 'pda', ...lenet, '--input', npy, '--window', '30', '--patch-model', pmFile, '--out', out);
      expect(big.err).to.match(/window 30 is larger than the image \(28x28\)/);
      const cls = loupe('explain', '--method', 'pda', ...lenet, '--input', npy, '--window', '4', '--class', '12', '--patch-model', pmFile, '--out', out);
      expect(cls.err).to.match(/class 12 is out of range/);
    });
  });
});
