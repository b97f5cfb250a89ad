// Activation maximisation and network inversion: regulariser gradients against finite
// differences, the survey's first-layer check, class logits, reproducibility, inversion quality.
import { expect } from 'chai';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, extname } from 'node:path';
import { getEngine, rng } from './helpers.ts';
import type { Engine } from '../engine/gpu.ts';
import { Model } from '../engine/runner.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { decodeImage } from '../loaders/image.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { maxOut, invert } from '../explainers/optimize.ts';
import * as O from '../kernels/image_opt.ts';
import { ArgumentError } from '../engine/errors.ts';

const DATA = join(import.meta.dirname, '..', '..', 'shared', 'data');
const SQZ = join(DATA, 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx');
const RANGE: [number, number] = [-123, 152]; // BGR pixels 0..255 minus the Caffe means
const photo = (f: string) => preprocessImage(decodeImage(new Uint8Array(readFileSync(f)), f), { size: [227, 227], mean: [104, 117, 123], bgr: true, channels: 3 });
function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) (ma += a[i]!), (mb += b[i]!);
  ma /= n;
  mb /= n;
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < n; i++) {
    num += (a[i]! - ma) * (b[i]! - mb);
    da += (a[i]! - ma) ** 2;
    db += (b[i]! - mb) ** 2;
  }
  return num / Math.sqrt(da * db);
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
  for (const [alpha, beta] of [[2, 2], [6, 1], [1.5, 3]] as const) {
    it(`α = ${alpha}, β = ${beta}`, async () => {
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
      const xb = buf(x), rb = buf(new Float32Array(total)), db = buf(new Float32Array(total));
      const d = engine.makeDispatch(O.imageRegGrad, { uniforms: { total, h, w, lambdaA: la, alpha, lambdaTv: lt, beta, eps }, bindings: { x: xb, r: rb, d: db }, threads: total, label: 'reg' });
      const got = new Float32Array((await engine.run([d], [{ buffer: db, bytes: total * 4 }]))[0]!);
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
      for (const b of [xb, rb, db]) b.destroy();
    });
  }
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
