// Activation maximisation and network inversion: regulariser gradients against finite
// differences, the survey's first-layer check, class logits, reproducibility, inversion quality.
import { expect } from 'chai';
import { readFileSync, readdirSync, statSync, mkdtempSync } from 'node:fs';
import { join, extname } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { getEngine, rng } from './helpers.ts';
import type { Engine } from '../engine/gpu.ts';
import { Model } from '../engine/runner.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { decodeImage } from '../loaders/image.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { maxOut, invert, receptiveField, preActivation } from '../explainers/optimize.ts';
import { explainer } from '../explainers/registry.ts';
import { readNpy } from '../loaders/npy.ts';
import { loadCaffe } from '../loaders/caffe.ts';
import * as O from '../kernels/image_opt.ts';
import { ArgumentError } from '../engine/errors.ts';
import { pearson } from '../explainers/randomisation.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '..', 'shared', 'data');
const CAFFE = join(DATA, 'caffe/squeezenet_v1.0_deepcompression');
const SQZ = join(DATA, 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx');
const RANGE: [number, number] = [-123, 152]; // BGR pixels 0..255 minus the Caffe means
const photo = (f: string) => preprocessImage(decodeImage(new Uint8Array(readFileSync(f)), f), { size: [227, 227], mean: [104, 117, 123], bgr: true, channels: 3 });
/**
 * The correlation of a C×H×W image's best k×k window (all C channels) with a filter [C, k, k]:
 * the highest Pearson over every window position, with the filter's channels as given or reversed
 * (Caffe's filters are BGR; an image without --bgr holds the channels the other way round).
 */
function bestWindow(img: Float32Array, c: number, h: number, w: number, filter: Float32Array, k: number): number {
  const n = c * k * k;
  const rev = new Float32Array(n);
  for (let ch = 0; ch < c; ch++) rev.set(filter.subarray((c - 1 - ch) * k * k, (c - ch) * k * k), ch * k * k);
  const win = new Float32Array(n);
  let best = -1;
  for (let y = 0; y + k <= h; y++)
    for (let x = 0; x + k <= w; x++) {
      for (let ch = 0; ch < c; ch++) for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) win[(ch * k + ky) * k + kx] = img[(ch * h + y + ky) * w + x + kx]!;
      best = Math.max(best, pearson(win, filter), pearson(win, rev));
    }
  return best;
}
function loupe(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/loupe.js'), ...args], { encoding: 'utf8', timeout: 900_000, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('regularisers on the GPU equal finite differences', function () {
  let engine: Engine;
  before(async () => {
    engine = await getEngine();
  });
  // R(x) = λα Σ|x|^α + λtv Σ ((x[i,j+1]−x[i,j])² + (x[i+1,j]−x[i,j])² + ε)^(β/2); image_reg_grad with r = 0 gives −∂R/∂x.
  function R(x: Float64Array, n: number, h: number, w: number, la: number, alpha: number, lt: number, beta: number, eps: number): number {
    let s = 0;
    for (let p = 0; p < n; p++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++) {
          const k = p * h * w + i * w + j;
          s += la * Math.abs(x[k]!) ** alpha;
          const dx = j + 1 < w ? x[k + 1]! - x[k]! : 0;
          const dy = i + 1 < h ? x[k + w]! - x[k]! : 0;
          s += lt * (dx * dx + dy * dy + eps) ** (beta / 2);
        }
    return s;
  }
  for (const [alpha, beta, normalised] of [[2, 2, false], [6, 1, false], [1.5, 3, false], [2, 2, true], [1.5, 3, true]] as const) {
    it(`α = ${alpha}, β = ${beta}${normalised ? ', normalised (the reverse signal over its typical magnitude Σr²/Σ|r|, the pixels in half-ranges of their channel)' : ''}`, async () => {
      const r = rng(7);
      const [n, h, w] = [2, 7, 9];
      const total = n * h * w;
      const x = Float32Array.from({ length: total }, () => r.uniform(-2, 2));
      const [la, lt, eps] = [0.3, 0.7, 1e-3];
      const buf = (data: Float32Array) => {
        const b = engine.device.createBuffer({ size: Math.max(16, data.byteLength), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
        engine.device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
        return b;
      };
      // normalised: one image of two channels, ranges [-3, 5] and [-1, 1]; the regularisers see
      // x' = (x − mid)/B, and the reverse signal r (random here) is divided by Σr²/Σ|r|
      const ranges = Float32Array.from([-3, -1, 5, 1]);
      const rr = normalised ? Float32Array.from({ length: total }, () => r.uniform(-2, 2)) : new Float32Array(total);
      const xb = buf(x), rb = buf(rr), db = buf(new Float32Array(total));
      const extra = normalised ? [buf(new Float32Array(1)), buf(ranges)] : [];
      const ds = normalised
        ? [
            engine.makeDispatch(O.imageScale, { uniforms: { n: total }, bindings: { x: rb, y: extra[0]! }, workgroups: [1, 1, 1], label: 'scale' }),
            engine.makeDispatch(O.imageRegGrad, { defines: ['NORMALISED'], uniforms: { total, h, w, lambdaA: la, alpha, lambdaTv: lt, beta, eps, c: 2, n: total }, bindings: { x: xb, r: rb, gscale: extra[0]!, ranges: extra[1]!, d: db }, threads: total, label: 'reg' }),
          ]
        : [engine.makeDispatch(O.imageRegGrad, { uniforms: { total, h, w, lambdaA: la, alpha, lambdaTv: lt, beta, eps }, bindings: { x: xb, r: rb, d: db }, threads: total, label: 'reg' })];
      const got = new Float32Array((await engine.run(ds, [{ buffer: db, bytes: total * 4 }]))[0]!);
      if (normalised) {
        let s2 = 0, s1 = 0;
        for (let k = 0; k < total; k++) (s2 += rr[k]! ** 2), (s1 += Math.abs(rr[k]!));
        const mx = s2 / s1;
        for (let p = 0; p < n; p++) {
          const [mid, B] = p === 0 ? [1, 4] : [0, 1];
          for (let k = p * h * w; k < (p + 1) * h * w; k++) {
            got[k]! -= rr[k]! / mx; // what is left is −∂R/∂x'
            x[k] = (x[k]! - mid) / B;
          }
        }
      }
      const x64 = Float64Array.from(x);
      const h0 = 1e-6;
      let maxErr = 0, maxRef = 0;
      for (let k = 0; k < total; k++) {
        const p = Float64Array.from(x64), m = Float64Array.from(x64);
        p[k]! += h0;
        m[k]! -= h0;
        const fd = -(R(p, n, h, w, la, alpha, lt, beta, eps) - R(m, n, h, w, la, alpha, lt, beta, eps)) / (2 * h0);
        maxErr = Math.max(maxErr, Math.abs(fd - got[k]!));
        maxRef = Math.max(maxRef, Math.abs(fd));
      }
      expect(maxErr, `max |gpu − fd| ${maxErr}, max |fd| ${maxRef}`).to.be.at.most(1e-4 * maxRef);
      for (const b of [xb, rb, db, ...extra]) b.destroy();
    });
  }
});

describe('the Fourier parameterisation and its transforms on the GPU', function () {
  let engine: Engine;
  before(async () => {
    engine = await getEngine();
  });
  const buf = (data: Float32Array | Int32Array) => {
    const b = engine.device.createBuffer({ size: Math.max(16, data.byteLength), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
    engine.device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
    return b;
  };
  const read = async (b: GPUBuffer, n: number) => new Float32Array((await engine.run([], [{ buffer: b, bytes: n * 4 }]))[0]!);
  const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    let m = 0, r = 0;
    for (let i = 0; i < a.length; i++) (m = Math.max(m, Math.abs(a[i]! - b[i]!))), (r = Math.max(r, Math.abs(b[i]!)));
    return m / Math.max(r, 1e-30);
  };

  const twiddles = (m: number) => buf(Float32Array.from({ length: m }, (_, i) => (i % 2 === 0 ? Math.cos((-2 * Math.PI * (i >> 1)) / m) : Math.sin((-2 * Math.PI * (i >> 1)) / m))));
  /** The 2D DFT of complex planes (interleaved re, im): y[ky, kx] = Σ x[i, j] e^(sign 2πi (ky i / sy + kx j / sx)). */
  const dft2 = (src: ArrayLike<number>, planes: number, sy: number, sx: number, sign: number) => {
    const P = sy * sx, y = new Float64Array(planes * P * 2);
    for (let p = 0; p < planes; p++)
      for (let ky = 0; ky < sy; ky++)
        for (let kx = 0; kx < sx; kx++) {
          let re = 0, im = 0;
          for (let i = 0; i < sy; i++)
            for (let j = 0; j < sx; j++) {
              const e = p * P + i * sx + j, a = sign * 2 * Math.PI * ((ky * i) / sy + (kx * j) / sx);
              re += src[2 * e]! * Math.cos(a) - src[2 * e + 1]! * Math.sin(a);
              im += src[2 * e]! * Math.sin(a) + src[2 * e + 1]! * Math.cos(a);
            }
          y[2 * (p * P + ky * sx + kx)] = re;
          y[2 * (p * P + ky * sx + kx) + 1] = im;
        }
    return y;
  };
  const fft2 = (src: GPUBuffer, tmp: GPUBuffer, dst: GPUBuffer, planes: number, sy: number, sx: number, sign: number, tw: GPUBuffer, lpw = 5) => {
    const m = Math.max(sy, sx);
    // columns then rows; five lines to a workgroup, so that one workgroup's share is cut short
    return ([[src, tmp, false], [tmp, dst, true]] as const).map(([x, y, rows]) => {
      const n = rows ? sx : sy, lines = planes * (rows ? sy : sx);
      return engine.makeDispatch(O.fftLines, {
        uniforms: { logn: Math.log2(n), lines, lpw, inner: rows ? 1 : sx, tws: m / n, sign, mul: 1 },
        bindings: { x, tw, y }, workgroups: [Math.ceil(lines / lpw), 1, 1], label: 'fft',
      });
    });
  };

  it('fft_lines along columns and rows equals the 2D DFT, forward and inverse', async () => {
    const r = rng(3);
    const [planes, sy, sx] = [3, 8, 16];
    const x = Float32Array.from({ length: planes * sy * sx * 2 }, () => r.uniform(-1, 1));
    for (const sign of [-1, 1]) {
      const xb = buf(x), tb = buf(new Float32Array(x.length)), yb = buf(new Float32Array(x.length)), tw = twiddles(Math.max(sy, sx));
      await engine.run(fft2(xb, tb, yb, planes, sy, sx, sign, tw));
      expect(maxDiff(await read(yb, x.length), dft2(x, planes, sy, sx, sign)), `sign ${sign}`).to.be.below(1e-5);
      for (const b of [xb, tb, yb, tw]) b.destroy();
    }
  });

  it('spectrum_pack: one inverse FFT of a pair gives two planes Re(IDFT(s·θ)), and UNPACK gives each real plane s·DFT(g) from one forward FFT', async () => {
    const r = rng(4);
    const [planes, sy, sx] = [3, 4, 8]; // an odd number of planes: the last pair is half empty
    const P = sy * sx, pairs = 2;
    const theta = Float32Array.from({ length: planes * P * 2 }, () => r.uniform(-1, 1));
    const scale = new Float32Array(P);
    for (let ky = 0; ky < sy; ky++) for (let kx = 0; kx < sx; kx++) scale[ky * sx + kx] = 1 / (1 + Math.hypot(Math.min(ky, sy - ky), Math.min(kx, sx - kx))); // symmetric, s[k] = s[−k]
    const scaled = Float64Array.from(theta, (v, i) => v * scale[(i >> 1) % P]!);
    const want = dft2(scaled, planes, sy, sx, 1); // take the real parts
    const tb = buf(theta), sb = buf(scale), ab = buf(new Float32Array(pairs * P * 2)), bb = buf(new Float32Array(pairs * P * 2)), cb = buf(new Float32Array(pairs * P * 2)), tw = twiddles(sx);
    await engine.run([
      engine.makeDispatch(O.spectrumPack, { uniforms: { total: pairs * P, sy, sx, planes }, bindings: { x: tb, scale: sb, y: ab }, threads: pairs * P, label: 'pack' }),
      ...fft2(ab, bb, cb, pairs, sy, sx, 1, tw),
    ]);
    const got = await read(cb, pairs * P * 2);
    for (let l = 0; l < 4; l++)
      for (let p = 0; p < P; p++) {
        const v = got[2 * ((l >> 1) * P + p) + (l & 1)]!;
        expect(v, `plane ${l} pixel ${p}`).to.be.closeTo(l < planes ? want[2 * (l * P + p)]! : 0, 1e-4);
      }
    // the gradient: real planes g packed two to a complex plane, forward FFT, unpacked and scaled
    const g = Float32Array.from({ length: planes * P }, () => r.uniform(-1, 1));
    const packedG = new Float32Array(pairs * P * 2);
    for (let l = 0; l < planes; l++) for (let p = 0; p < P; p++) packedG[2 * ((l >> 1) * P + p) + (l & 1)] = g[l * P + p]!;
    const gc = Float64Array.from({ length: planes * P * 2 }, (_, i) => (i % 2 === 0 ? g[i >> 1]! : 0));
    const G = dft2(gc, planes, sy, sx, -1).map((v, i) => v * scale[(i >> 1) % P]!);
    const pb = buf(packedG), zb = buf(new Float32Array(pairs * P * 2)), yb = buf(new Float32Array(pairs * P * 2)), ob = buf(new Float32Array(planes * P * 2));
    await engine.run([
      ...fft2(pb, zb, yb, pairs, sy, sx, -1, tw),
      engine.makeDispatch(O.spectrumPack, { defines: ['UNPACK'], uniforms: { total: planes * P, sy, sx }, bindings: { x: yb, scale: sb, y: ob }, threads: planes * P, label: 'unpack' }),
    ]);
    expect(maxDiff(await read(ob, planes * P * 2), G)).to.be.below(1e-5);
    for (const b of [tb, sb, ab, bb, cb, tw, pb, zb, yb, ob]) b.destroy();
  });

  it('affine_sample ADJOINT is the transpose of the sampling (⟨S x, y⟩ = ⟨x, Sᵀ y⟩), under scale, rotation, shift and wrap-around', async () => {
    const r = rng(5);
    const [n, c, h, w, sy, sx] = [2, 5, 13, 11, 16, 16]; // five channels: a group of four and one
    const planes = n * c;
    for (const [s, a, dy, dx] of [[1, 0, 0, 0], [0.9, 0.17, 3.3, -2.6], [1.1, -0.2, -7.5, 9.25]]) {
      const ca = Math.cos(a!) / s!, sa = Math.sin(a!) / s!;
      const A = [ca, -sa, sa, ca];
      const t0 = 6 + dy!, t1 = 5 + dx!;
      const det = A[0]! * A[3]! - A[1]! * A[2]!;
      const us = [[0, 0], [0, w - 1], [h - 1, 0], [h - 1, w - 1]].map(([i, j]) => [A[0]! * i! + A[1]! * j! + t0, A[2]! * i! + A[3]! * j! + t1]);
      const tf = Float32Array.from([...A, t0, t1, A[3]! / det, -A[1]! / det, -A[2]! / det, A[0]! / det, Math.min(...us.map((q) => q[0]!)), Math.max(...us.map((q) => q[0]!)), Math.min(...us.map((q) => q[1]!)), Math.max(...us.map((q) => q[1]!))]);
      const x = Float32Array.from({ length: planes * sy * sx }, () => r.uniform(-1, 1));
      const y = Float32Array.from({ length: planes * h * w }, () => r.uniform(-1, 1));
      const xb = buf(x), yb = buf(y), tb = buf(tf), sxb = buf(new Float32Array(y.length)), styb = buf(new Float32Array(x.length));
      await engine.run([
        engine.makeDispatch(O.affineSample, { uniforms: { total: n * h * w, c, h, w, sy, sx }, bindings: { x: xb, tf: tb, y: sxb }, threads: n * h * w, label: 'sample' }),
        engine.makeDispatch(O.affineSample, { defines: ['ADJOINT'], uniforms: { total: n * 2 * sy * sx, c, h, w, sy, sx }, bindings: { x: yb, tf: tb, y: styb }, threads: n * 2 * sy * sx, label: 'adjoint' }),
      ]);
      const Sx = await read(sxb, y.length), STy = await read(styb, x.length);
      let lhs = 0, rhs = 0;
      for (let i = 0; i < y.length; i++) lhs += Sx[i]! * y[i]!;
      for (let i = 0; i < x.length; i++) rhs += x[i]! * STy[i]!;
      expect(Math.abs(lhs - rhs), `${lhs} vs ${rhs}`).to.be.below(1e-4 * Math.max(1, Math.abs(lhs)));
      if (s === 1 && a === 0) {
        // the identity map is an exact crop of the canvas
        for (let p = 0; p < planes; p++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) expect(Sx[(p * h + i) * w + j]).to.equal(x[(p * sy + ((i + 6) % sy)) * sx + ((j + 5) % sx)]);
      }
      for (const b of [xb, yb, tb, sxb, styb]) b.destroy();
    }
  });

  for (const mix3 of [true, false])
  it(`spectrum_image BACKWARD equals finite differences of its colours (${mix3 ? 'decorrelated' : 'channel by channel'}, sigmoid, per-channel ranges)`, async () => {
    const r = rng(9);
    const [n, c, P] = [2, 3, 5];
    // the planes packed two to a complex value (interleaved): plane l at 2·((l >> 1)·P + p) + (l & 1)
    const at = (l: number, p: number) => 2 * ((l >> 1) * P + p) + (l & 1);
    const s = Float32Array.from({ length: n * c * P }, () => r.uniform(-3, 3));
    const mix = mix3 ? Float32Array.from({ length: 9 }, () => r.uniform(-1, 1)) : Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const ranges = Float32Array.from([-104, -117, -123, 151, 138, 132]);
    const g = Float32Array.from({ length: n * c * P }, () => r.uniform(-1, 1));
    const k = 0.7;
    const f = (sv: Float32Array) => {
      // Σ g · y(s), on the CPU
      let L = 0;
      for (let b = 0; b < n; b++)
        for (let p = 0; p < P; p++)
          for (let rr = 0; rr < c; rr++) {
            let a = 0;
            for (let cc = 0; cc < c; cc++) a += mix[rr * c + cc]! * sv[at(b * c + cc, p)]!;
            const y = ranges[rr]! + (ranges[c + rr]! - ranges[rr]!) / (1 + Math.exp(-a * k));
            L += g[(b * c + rr) * P + p]! * y;
          }
      return L;
    };
    const sb = buf(s), mb = buf(mix), rb = buf(ranges), gb = buf(g), yb = buf(new Float32Array(n * c * P)), db = buf(new Float32Array(s.length));
    await engine.run([
      engine.makeDispatch(O.spectrumImage, { defines: mix3 ? ['MIX3'] : [], uniforms: { total: n * P, c, plane: P, k }, bindings: { s: sb, mix: mix3 ? mb : undefined, ranges: rb, y: yb }, threads: n * P, label: 'fwd' }),
      engine.makeDispatch(O.spectrumImage, { defines: mix3 ? ['MIX3', 'BACKWARD'] : ['BACKWARD'], uniforms: { total: n * P, c, plane: P, k }, bindings: { s: sb, mix: mix3 ? mb : undefined, ranges: rb, g: gb, y: db }, threads: n * P, label: 'bwd' }),
    ]);
    const d = await read(db, s.length);
    const s64 = Float64Array.from(s) as unknown as Float32Array;
    for (let i = 0; i < s.length; i++) {
      const hh = 1e-4, p = Float64Array.from(s64) as unknown as Float32Array, m = Float64Array.from(s64) as unknown as Float32Array;
      p[i]! += hh;
      m[i]! -= hh;
      const fd = (f(p) - f(m)) / (2 * hh);
      expect(d[i]!, `coefficient ${i}`).to.be.closeTo(fd, 2e-3 * Math.max(1, Math.abs(fd)));
    }
    for (const b of [sb, mb, rb, gb, yb, db]) b.destroy();
  });

  it('spectrum_image BACKWARD zeroes the empty half of the last pair when the planes are odd in number (three RGB planes, three grey ones)', async () => {
    const P = 4;
    for (const [n, c] of [[1, 3], [3, 1]] as const) {
      const planes = n * c, size = Math.ceil(planes / 2) * P * 2;
      const mix3 = c === 3;
      const sb = buf(new Float32Array(size).fill(0.5)), rb = buf(Float32Array.from([...Array(c).fill(0), ...Array(c).fill(1)])), gb = buf(new Float32Array(planes * P).fill(1));
      const mb = buf(Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]));
      const db = buf(new Float32Array(size).fill(7)); // stale values
      await engine.run([engine.makeDispatch(O.spectrumImage, { defines: mix3 ? ['MIX3', 'BACKWARD'] : ['BACKWARD'], uniforms: { total: n * P, c, plane: P, k: 1 }, bindings: { s: sb, mix: mix3 ? mb : undefined, ranges: rb, g: gb, y: db }, threads: n * P, label: 'bwd' })]);
      const d = await read(db, size);
      for (let p = 0; p < P; p++) expect(d[2 * ((planes >> 1) * P + p) + 1], `${n}×${c}: pixel ${p} of the empty plane`).to.equal(0);
      expect(d.every((v) => v !== 7), `${n}×${c}: every value written`).to.equal(true);
      for (const b of [sb, rb, gb, mb, db]) b.destroy();
    }
  });

  it('conv_select computes one channel per image as the conv does, and BACKWARD is its transpose (strides, pads, dilation, groups)', async () => {
    const r = rng(11);
    for (const [cin, group, k, st, pad, dil] of [[3, 1, 7, 2, 0, 1], [4, 2, 3, 1, 1, 2], [6, 3, 3, 2, 2, 1], [10, 2, 3, 2, 1, 1]] as const) {
      const [n, h, w, cout] = [2, 9, 10, 6];
      const cpg = cin / group, opg = cout / group;
      const oh = Math.floor((h + 2 * pad - dil * (k - 1) - 1) / st) + 1, ow = Math.floor((w + 2 * pad - dil * (k - 1) - 1) / st) + 1;
      const x = Float32Array.from({ length: n * cin * h * w }, () => r.uniform(-1, 1));
      const wt = Float32Array.from({ length: cout * cpg * k * k }, () => r.uniform(-1, 1));
      const bias = Float32Array.from({ length: cout }, () => r.uniform(-1, 1));
      const target = Int32Array.from([4, -1, 1, 3]); // image 0: channel 4, image 1: channel 1
      const ga = Float32Array.from({ length: n * oh * ow }, () => r.uniform(-1, 1));
      const want = new Float32Array(n * oh * ow), wantGx = new Float32Array(x.length);
      for (let b = 0; b < n; b++) {
        const ch = target[2 * b]!, g0 = Math.floor(ch / opg) * cpg;
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++) {
            let s = bias[ch]!;
            for (let ci = 0; ci < cpg; ci++)
              for (let ky = 0; ky < k; ky++)
                for (let kx = 0; kx < k; kx++) {
                  const iy = oy * st - pad + ky * dil, ix = ox * st - pad + kx * dil;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                  const xi = ((b * cin + g0 + ci) * h + iy) * w + ix, wi = ((ch * cpg + ci) * k + ky) * k + kx;
                  s += x[xi]! * wt[wi]!;
                  wantGx[xi]! += ga[(b * oh + oy) * ow + ox]! * wt[wi]!;
                }
            want[(b * oh + oy) * ow + ox] = s;
          }
      }
      const un = { c: cin, h, w, oh, ow, kh: k, kw: k, sh: st, sw: st, pt: pad, pl: pad, dh: dil, dw: dil, cpg, opg };
      const xb = buf(x), wb = buf(wt), bb = buf(bias), tb = buf(target), yb = buf(new Float32Array(want.length)), gab = buf(ga), gxb = buf(new Float32Array(x.length));
      await engine.run([
        engine.makeDispatch(O.convSelect, { defines: ['HAS_BIAS'], uniforms: { total: want.length, ...un }, bindings: { x: xb, wt: wb, bias: bb, goal: tb, y: yb }, threads: want.length, label: 'fwd' }),
        engine.makeDispatch(O.convSelect, { defines: ['BACKWARD'], uniforms: { total: n * Math.ceil(cin / 4) * h * w, ...un }, bindings: { x: gab, wt: wb, goal: tb, y: gxb }, threads: n * Math.ceil(cin / 4) * h * w, label: 'bwd' }),
      ]);
      expect(maxDiff(await read(yb, want.length), want), `forward ${cin}/${group} k${k} s${st} p${pad} d${dil}`).to.be.below(1e-5);
      expect(maxDiff(await read(gxb, x.length), wantGx), `backward ${cin}/${group} k${k} s${st} p${pad} d${dil}`).to.be.below(1e-5);
      for (const b of [xb, wb, bb, tb, yb, gab, gxb]) b.destroy();
    }
  });
});

describe('MaxOut and inversion on SqueezeNet', function () {
  let model: Model;
  before(async () => {
    model = new Model(await getEngine(), loadOnnx(new Uint8Array(readFileSync(SQZ)), 'squeezenet.onnx'));
  });
  after(() => model.destroy());

  it("the image that maximises the centre unit of each of conv1's first 16 filters looks like the filter (Pearson ≥ 0.8)", async () => {
    const W = model.graph.params.get((model.graph.nodes[0]!.attrs as { weight: string }).weight)!.data; // [96, 3, 7, 7]
    const units = Array.from({ length: 16 }, (_, f) => f * 111 * 111 + 55 * 111 + 55); // output (55,55) reads input rows/cols 110..116
    // Plain gradient ascent with L2 decay converges to x ∝ w inside the receptive field (mild: λ = 0.01).
    const r = await maxOut(model, { kind: 'unit', layer: '/conv1/Conv', units }, { iterations: 15, lr: 25, optimizer: 'sgd', momentum: 0, seed: 1, range: RANGE, norm: 0.01, initStd: 1 });
    const per = 3 * 227 * 227;
    let sum = 0;
    for (let f = 0; f < 16; f++) {
      const img: number[] = [], filt: number[] = [];
      for (let c = 0; c < 3; c++)
        for (let ky = 0; ky < 7; ky++)
          for (let kx = 0; kx < 7; kx++) {
            img.push(r.images[f * per + c * 227 * 227 + (110 + ky) * 227 + 110 + kx]!);
            filt.push(W[((f * 3 + c) * 7 + ky) * 7 + kx]!);
          }
      sum += pearson(img, filt);
    }
    expect(sum / 16).to.be.at.least(0.8);
  });

  it('a class logit ends above its value on every photo, and a run is identical when repeated with the same seed', async () => {
    const cls = 99; // goose
    const photos: string[] = [];
    const walk = (d: string) => readdirSync(d).forEach((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : ['.png', '.jpg', '.jfif'].includes(extname(f)) && photos.push(join(d, f))));
    walk(join(DATA, 'images'));
    const x = new Float32Array(photos.length * 3 * 227 * 227);
    photos.forEach((f, i) => x.set(photo(f), i * 3 * 227 * 227));
    const logits = (await model.run(x, photos.length, { outputs: ['logits'] })).get('logits')!.data;
    const best = Math.max(...photos.map((_, i) => logits[i * 1000 + cls]!));
    const opts = { iterations: 12, lr: 6, seed: 3, range: RANGE, norm: 1e-6, jitter: 1, initStd: 10 };
    const a = await maxOut(model, { kind: 'class', classes: [cls] }, opts);
    const end = (await model.run(a.images, 1, { outputs: ['logits'] })).get('logits')!.data[cls]!;
    expect(end, `logit ${end} vs best photo ${best}`).to.be.above(best);
    const b = await maxOut(model, { kind: 'class', classes: [cls] }, { ...opts, iterations: 3 });
    const c = await maxOut(model, { kind: 'class', classes: [cls] }, { ...opts, iterations: 3 });
    expect(Buffer.from(b.images.buffer).equals(Buffer.from(c.images.buffer))).to.equal(true);
  });

  it('inverting conv1 reaches a relative feature error ≤ 0.05 and resembles the photo (Pearson ≥ 0.8)', async () => {
    const x0 = photo(join(DATA, 'images/preddiff/n01855672_8202.jpg'));
    const r = await invert(model, x0, '/conv1/Conv', { iterations: 90, lr: 4, seed: 1, range: RANGE, initStd: 10, tv: 0.01, logEvery: 10 });
    expect(r.log.at(-1)!.error).to.be.at.most(0.05);
    expect(pearson(r.image, x0)).to.be.at.least(0.8);
  });

  it('bad input: an out-of-range unit, an unknown layer, a negative weight', async () => {
    const o = { iterations: 1, lr: 1, seed: 0 };
    await expectReject(maxOut(model, { kind: 'channel', layer: '/conv1/Conv', units: [96] }, o), /channel 96 is out of range: .* has 96 channels/);
    await expectReject(maxOut(model, { kind: 'class', classes: [1000] }, o), /class 1000 is out of range/);
    await expectReject(maxOut(model, { kind: 'unit', layer: 'conv99', units: [0] }, o), /no layer named "conv99"/);
    await expectReject(maxOut(model, { kind: 'channel', layer: '/conv1/Conv', units: [0] }, { ...o, tv: -1 }), /tv must be a non-negative number/);
  });
});

async function expectReject(p: Promise<unknown>, msg: RegExp) {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(ArgumentError);
    expect((e as Error).message).to.match(msg);
    return;
  }
  expect.fail(`expected an error matching ${msg}`);
}

describe('MaxOut with its defaults on the real SqueezeNet (Caffe)', function () {
  const W = () => {
    const g = loadCaffe(readFileSync(join(CAFFE, 'SqueezeNet_deploy.prototxt'), 'utf8'), new Uint8Array(readFileSync(join(CAFFE, 'squeezenet_v1.0_decoded.caffemodel'))), { prototxtName: 'SqueezeNet_deploy.prototxt' });
    return g.params.get('conv1/weight')!.data; // [96, 3, 7, 7], BGR
  };

  it('the receptive fields of conv1 and fire5 (where scale and rotation turn, and how far the shift goes), and where a target is before its ReLU', () => {
    const g = loadCaffe(readFileSync(join(CAFFE, 'SqueezeNet_deploy.prototxt'), 'utf8'), new Uint8Array(readFileSync(join(CAFFE, 'squeezenet_v1.0_decoded.caffemodel'))), { prototxtName: 'SqueezeNet_deploy.prototxt' });
    expect(receptiveField(g, 'conv1')).to.deep.equal({ size: [7, 7], jump: [2, 2], start: [3, 3] });
    // conv1 7/2 → pool1 3/2 → fire2, fire3: 3×3 → fire4: 3×3 → pool4 3/2 → fire5: 3×3 (the 1×1 paths see less)
    const f5 = receptiveField(g, 'fire5/concat')!;
    expect(f5.jump).to.deep.equal([8, 8]);
    expect(f5.size).to.deep.equal([7 + 2 * 2 + 2 * 4 * 3 + 2 * 4 + 2 * 8, 7 + 2 * 2 + 2 * 4 * 3 + 2 * 4 + 2 * 8]);
    expect(receptiveField(g, 'fire5/conv1x1_2')!.size).to.deep.equal([43, 43]); // the expand 1×1 branch sees what pool4 sees
    expect(receptiveField(g, 'pool_final')).to.equal(undefined); // a global pool sees the whole image
    // fire5/concat = relu(expand1x1: 128 channels) ‖ relu(expand3x3: 128 channels)
    expect(preActivation(g, 'fire5/concat', 1)).to.deep.equal({ value: 'fire5/conv1x1_2', channel: 1 });
    expect(preActivation(g, 'fire5/concat', 200)).to.deep.equal({ value: 'fire5/conv3x3_2', channel: 72 });
    expect(preActivation(g, 'relu_conv1', 3)).to.deep.equal({ value: 'conv1', channel: 3 });
    expect(preActivation(g, 'pool1', 3)).to.deep.equal({ value: 'pool1', channel: 3 }); // a pool is not looked through
  });

  it("`loupe maxout --layer conv1 --units 0-15` with the default settings: each image's best 7×7 window resembles its filter (mean Pearson ≥ 0.8)", async function () {
    this.timeout(900_000);
    const out = join(mkdtempSync(join(tmpdir(), 'loupe-maxout-')), 'conv1');
    const t0 = performance.now();
    // issue 13's command as it stands: not even the preprocessing flags (with --bgr --mean 104,117,123,
    // as examples/maxout has it, the mean is 0.870)
    const r = loupe('maxout', '--model', join(CAFFE, 'SqueezeNet_deploy.prototxt'), '--weights', join(CAFFE, 'squeezenet_v1.0_decoded.caffemodel'), '--layer', 'conv1', '--units', '0-15', '--out', out);
    const seconds = (performance.now() - t0) / 1000;
    expect(r.code, r.err).to.equal(0);
    const x = readNpy(new Uint8Array(readFileSync(`${out}.npy`)), 'conv1.npy');
    expect(x.shape).to.deep.equal([16, 3, 227, 227]);
    const w = W();
    const ps = Array.from({ length: 16 }, (_, f) => bestWindow(x.data.subarray(f * 3 * 227 * 227, (f + 1) * 3 * 227 * 227), 3, 227, 227, w.subarray(f * 147, (f + 1) * 147), 7));
    const mean = ps.reduce((a, b) => a + b, 0) / 16;
    console.log(`      conv1 channels 0–15 at their centre units, defaults: mean best-window Pearson ${mean.toFixed(3)}, min ${Math.min(...ps).toFixed(3)} [${ps.map((p) => p.toFixed(2)).join(' ')}], ${seconds.toFixed(0)} s`);
    expect(mean, ps.map((p) => p.toFixed(2)).join(' ')).to.be.at.least(0.8);
    const meta = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
    expect(meta.at).to.deep.equal([55, 55]); // the centre unit of conv1's 111×111
    expect(meta.parameters.param).to.equal('fourier');
  });
});

describe('MaxOut options: the Fourier parameterisation, --unit, reproducibility', function () {
  let model: Model;
  before(async () => {
    model = new Model(await getEngine(), loadOnnx(new Uint8Array(readFileSync(join(ROOT, 'weights/lenet-relu-mnist.onnx'))), 'lenet.onnx'));
  });
  after(() => model.destroy());
  const inputs = { data: new Float32Array(0), batch: 0 };
  const conv = () => model.graph.nodes.find((n) => n.op === 'conv')!.outputs[0]!;

  it('the defaults raise each class logit, a run repeats bit for bit with its seed, and another seed differs', async () => {
    const a = await explainer('maxout').run(model, inputs, { class: '2,7', iterations: 12 });
    const log = a.meta.log as { objective: number[] }[];
    for (const k of [0, 1]) expect(log.at(-1)!.objective[k]).to.be.above(log[0]!.objective[k]!);
    expect((a.meta.parameters as { param: string }).param).to.equal('fourier');
    const b = await explainer('maxout').run(model, inputs, { class: '2,7', iterations: 12 });
    expect(Buffer.from(a.maps!.data.buffer).equals(Buffer.from(b.maps!.data.buffer))).to.equal(true);
    const c = await explainer('maxout').run(model, inputs, { class: '2,7', iterations: 12, seed: 1 });
    expect(Buffer.from(a.maps!.data.buffer).equals(Buffer.from(c.maps!.data.buffer))).to.equal(false);
    // the images stay inside the valid range (the sigmoid maps onto it)
    const [lo, hi] = [Math.min(...a.maps!.data), Math.max(...a.maps!.data)];
    expect(lo).to.be.at.least(0);
    expect(hi).to.be.at.most(255 / 255 + 1e-6);
  });

  it('--unit: the centre (default), a position, or the mean of the whole channel; each raises its own objective', async () => {
    const layer = conv();
    const shape = (await model.run(new Float32Array(28 * 28), 1, { outputs: [layer] })).get(layer)!.shape;
    const [lh, lw] = [shape[2]!, shape[3]!];
    for (const [unit, at] of [[undefined, [Math.floor((lh - 1) / 2), Math.floor((lw - 1) / 2)]], ['3,4', [3, 4]], ['mean', undefined]] as const) {
      const e = await explainer('maxout').run(model, inputs, { layer, units: '0,2', iterations: 12, ...(unit ? { unit } : {}) });
      expect(e.meta.at, String(unit)).to.deep.equal(at);
      const log = e.meta.log as { objective: number[] }[];
      for (const k of [0, 1]) expect(log.at(-1)!.objective[k], `${unit} ${k}`).to.be.above(log[0]!.objective[k]!);
      // the objective read back is the unit's value (or the channel's leaky-rectified mean) of the final images
      const a = (await model.run(e.maps!.data, 2, { outputs: [layer] })).get(layer)!;
      const per = a.shape[1]! * lh * lw;
      [0, 2].forEach((ch, i) => {
        const plane = a.data.subarray(i * per + ch * lh * lw, i * per + (ch + 1) * lh * lw);
        const v = at ? plane[at[0] * lw + at[1]]! : plane.reduce((s, q) => s + (q > 0 ? q : 0.1 * q), 0) / plane.length;
        expect(v, `${unit}: channel ${ch} of the final image`).to.be.above(log[0]!.objective[i]!);
      });
    }
    await expectReject(explainer('maxout').run(model, inputs, { layer, unit: '99,0', iterations: 1 }), /unit 99,0 is outside .* positions/);
    await expectReject(explainer('maxout').run(model, inputs, { layer, unit: 'middle', iterations: 1 }), /--unit must be centre, Y,X .* or mean, got "middle"/);
  });

  it('inversion takes the Fourier parameterisation too (its default stays pixels)', async () => {
    const digit = new Float32Array(28 * 28);
    for (let i = 8; i < 20; i++) digit[i * 28 + 14] = digit[i * 28 + 13] = 1; // a "1"
    const e = await explainer('invert').run(model, { data: digit, batch: 1 }, { layer: conv(), iterations: 30, param: 'fourier' });
    const log = e.meta.log as { error: number }[];
    expect(log.at(-1)!.error).to.be.below(log[0]!.error);
    expect((e.meta.parameters as { param: string; zoom: number }).param).to.equal('fourier');
    expect((e.meta.parameters as { param: string; zoom: number }).zoom).to.equal(0);
    expect(((await explainer('invert').run(model, { data: digit, batch: 1 }, { layer: conv(), iterations: 2 })).meta.parameters as { param: string }).param).to.equal('pixel');
  });

  it('--param pixel keeps the pixel optimiser (and its options: tv, norm, blur, jitter, clipping); fourier takes them too', async () => {
    for (const param of ['pixel', 'fourier']) {
      const e = await explainer('maxout').run(model, inputs, { class: '4', iterations: 8, param, tv: 0.01, norm: 0.01, blurEvery: 2, jitter: 1 });
      const log = e.meta.log as { objective: number[] }[];
      expect(log.at(-1)!.objective[0], param).to.be.above(log[0]!.objective[0]!);
      // clipping zeroes the pixels whose norm is small: some pixels are exactly 0 in network units
      const clipped = await explainer('maxout').run(model, inputs, { class: '4', iterations: 8, param, clipNorm: 0.5 });
      expect(clipped.maps!.data.some((v) => v === 0), `${param}: clipped pixels`).to.equal(true);
      expect(clipped.maps!.data.some((v) => v !== 0), `${param}: kept pixels`).to.equal(true);
    }
  });
});
