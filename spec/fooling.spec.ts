// Fooling images (issue 17, survey §7.1): on the shipped LeNet-ReLU every class 0–9 reaches
// 99.99 % from a grey start (and from noise) within a bounded number of steps, with and without a
// regulariser; the log-odds seed on the GPU equals its float64 gradient against finite differences;
// the judge's probabilities are mnist-8's own on the same pixels (raw 0..255, where LeNet takes
// pixels/255); `loupe fool` writes its figure and JSON and refuses bad input in one line.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { getEngine, runLoupe, expectOneLine } from './helpers.ts';
import { Model } from '../engine/runner.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { softmaxRows } from '../engine/classify.ts';
import { classLogOdds } from '../explainers/optimize.ts';
import { convertPixels, fool, type FoolOptions } from '../explainers/fooling.ts';
import { logoddsSeed } from '../kernels/image_opt.ts';
import { explainer } from '../explainers/registry.ts';

const ROOT = join(import.meta.dirname, '..');
const LENET = join(ROOT, 'weights/lenet-relu-mnist.onnx');
const MNIST8 = join(ROOT, '..', 'shared', 'data', 'onnx', 'mnist-8', 'mnist-8.onnx');
const CLASSES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
/** the most steps any class may take (measured: at most 110, from grey or noise, with or without TV or L2; ~0.2 s a step for ten images on lavapipe) */
const N = 300;

describe('fool: fooling images on LeNet-ReLU, judged by mnist-8', function () {
  this.timeout(900_000);
  let lenet: Model, mnist8: Model;
  const base = (o: Partial<FoolOptions> = {}): FoolOptions => ({ iterations: N, lr: 2 / 255, seed: 0, init: 'mean', preprocess: { scale: 1 / 255 }, ...o });
  before(async () => {
    const e = await getEngine();
    lenet = new Model(e, loadOnnx(new Uint8Array(readFileSync(LENET)), 'lenet.onnx'));
    mnist8 = new Model(e, loadOnnx(new Uint8Array(readFileSync(MNIST8)), 'mnist-8.onnx'));
  });
  after(() => {
    lenet.destroy();
    mnist8.destroy();
  });

  /** LeNet's probabilities of each image's class, by a plain forward pass */
  const lenetProbs = async (x: Float32Array, n: number) => {
    const l = (await lenet.run(x, n, { outputs: [lenet.graph.outputs[0]!] })).values().next().value!.data;
    return softmaxRows(l, l.length / n);
  };
  const check = async (r: Awaited<ReturnType<typeof fool>>, what: string) => {
    const p = await lenetProbs(r.images, 10);
    for (let i = 0; i < 10; i++) {
      expect(r.iterations[i], `${what}: class ${i} reached`).to.be.a('number').and.at.most(N);
      expect(p[i * 10 + i]!, `${what}: class ${i}`).to.be.at.least(0.9999);
      expect(r.probs[i]).to.be.closeTo(p[i * 10 + i]!, 1e-6);
      const img = r.images.subarray(i * 784, (i + 1) * 784);
      for (const v of img) expect(v).to.be.within(0, 1); // pixels 0..255 / 255
      expect(r.pixels[i]!.max).to.be.closeTo(255 * Math.max(...img), 1e-3);
      expect(r.pixels[i]!.min).to.be.closeTo(255 * Math.min(...img), 1e-3);
    }
    console.log(`      ${what}: steps ${r.iterations.join(' ')}; mnist-8 ${r.judge!.probs.map((q) => (100 * q).toFixed(1)).join(' ')} % (${r.seconds.toFixed(1)} s)`);
  };

  it('every class reaches 99.99 % from grey without a regulariser, and the judge is mnist-8 on the same pixels', async () => {
    const r = await fool(lenet, CLASSES, base(), { model: mnist8, preprocess: {} });
    await check(r, 'grey, none');
    // mnist-8 takes raw 0..255: the judge's probabilities are a direct run on LeNet's images × 255
    const raw = Float32Array.from(r.images, (v) => v * 255);
    const l = (await mnist8.run(raw, 10, { outputs: [mnist8.graph.outputs[0]!] })).values().next().value!.data;
    const q = softmaxRows(l, 10);
    for (let i = 0; i < 10; i++) {
      expect(r.judge!.probs[i]).to.be.closeTo(q[i * 10 + i]!, 1e-6);
      let top = 0;
      for (let j = 1; j < 10; j++) if (q[i * 10 + j]! > q[i * 10 + top]!) top = j;
      expect(r.judge!.top[i]).to.equal(top);
      expect(r.judge!.topProbs[i]).to.be.closeTo(q[i * 10 + top]!, 1e-6);
    }
  });

  it('every class reaches 99.99 % from noise, and with total variation or L2 decay', async () => {
    await check(await fool(lenet, CLASSES, base({ init: 'noise', seed: 3 }), { model: mnist8, preprocess: {} }), 'noise, none');
    await check(await fool(lenet, CLASSES, base({ tv: 0.2, tvBeta: 2 }), { model: mnist8, preprocess: {} }), 'grey, tv 0.2');
    await check(await fool(lenet, CLASSES, base({ norm: 0.2, alpha: 2 }), { model: mnist8, preprocess: {} }), 'grey, l2 0.2');
  });

  it('stops at the first step every class is at the confidence, and is the same for the same seed', async () => {
    const o = base({ init: 'noise', seed: 5, confidence: 0.99 });
    const [a, b] = [await fool(lenet, [3, 8], o), await fool(lenet, [3, 8], o)];
    expect(Array.from(a.images)).to.deep.equal(Array.from(b.images));
    expect(a.iterations).to.deep.equal(b.iterations);
    expect(a.steps).to.equal(Math.max(...(a.iterations as number[]))); // the images returned are those the rule saw
    expect(a.judge).to.equal(undefined);
  });

  it('the registry\'s maxout takes the same objective and stop rule (--objective logodds --confidence), for the browser', async () => {
    const inputs = { data: new Float32Array(784), batch: 1, names: ['none'], preprocess: lenet.graph.preprocess, fromImages: false };
    const e = await explainer('maxout').run(lenet, inputs, { class: '3,8', param: 'pixel', init: 'mean', objective: 'logodds', confidence: 0.9999, iterations: N });
    const reached = e.meta.reached as number[];
    expect(reached.every((t) => typeof t === 'number' && t <= N)).to.equal(true);
    expect(e.meta.steps).to.equal(Math.max(...reached));
    const p = await lenetProbs(e.maps!.data, 2);
    expect([p[3]!, p[18]!].every((q) => q >= 0.9999)).to.equal(true);
    for (const bad of [{ layer: 'conv1', confidence: 0.9 }, { layer: 'conv1', objective: 'logodds' }]) {
      const err = await explainer('maxout').run(lenet, inputs, { ...bad, iterations: 2 }).then(() => undefined, (x: Error) => x);
      expect(err?.message).to.match(/for --class/);
    }
  });

  it("the log-odds seed's kernel is the gradient of log(p/(1-p)) (finite differences, float64)", async () => {
    const e = await getEngine();
    const K = 7, B = 3;
    const a = Float32Array.from({ length: B * K }, (_, i) => Math.sin(i * 1.7) * 6 + (i % K === 2 ? 30 : 0)); // image 0's class 2 saturated in float32
    const goal = Int32Array.from([2, 0, 6]);
    const buf = (d: Float32Array | Int32Array) => {
      const b = e.createBuffer(Math.max(16, d.byteLength), 'spec');
      e.device.queue.writeBuffer(b, 0, d.buffer, d.byteOffset, d.byteLength);
      return b;
    };
    const [ab, gb, yb] = [buf(a), buf(goal), buf(new Float32Array(B * K))];
    const [out] = await e.run([e.makeDispatch(logoddsSeed, { uniforms: { total: B * K, l: K }, bindings: { a: ab, goal: gb, y: yb }, threads: B * K, label: 'spec' })], [{ buffer: yb, bytes: B * K * 4 }]);
    const y = new Float32Array(out!);
    for (const b of [ab, gb, yb]) e.destroyBuffer(b);
    for (let b = 0; b < B; b++)
      for (let j = 0; j < K; j++) {
        const f = (d: number) => {
          const x = Array.from(a.subarray(b * K, (b + 1) * K), Number);
          x[j]! += d;
          return classLogOdds(x, K, [goal[b]!])[0]!;
        };
        const h = 1e-4;
        expect(y[b * K + j]!, `image ${b} logit ${j}`).to.be.closeTo((f(h) - f(-h)) / (2 * h), 1e-5);
      }
    expect(classLogOdds(a, K, [2])[0]!).to.be.above(20); // p = 1 in float32, yet the seed is not zero
  });

  it('converts pixels between preprocessings (mean, scale, BGR)', () => {
    const x = Float32Array.from([0, 0.5, 1, 0.25, 0.25, 0.25]); // 3 channels (R, G, B) × 2 pixels, pixels / 255
    const y = convertPixels(x, 3, 2, { scale: 1 / 255 }, { mean: [10, 20, 30], scale: 2, bgr: true });
    // BGR: channel 0 is blue (RGB channel 2), minus the mean of the network's channel 0
    const want = [(0.25 * 255 - 10) * 2, (0.25 * 255 - 10) * 2, (255 - 20) * 2, (0.25 * 255 - 20) * 2, -30 * 2, (0.5 * 255 - 30) * 2];
    Array.from(y).forEach((v, i) => expect(v).to.be.closeTo(want[i]!, 1e-3));
    // and back
    Array.from(convertPixels(y, 3, 2, { mean: [10, 20, 30], scale: 2, bgr: true }, { scale: 1 / 255 })).forEach((v, i) => expect(v).to.be.closeTo(x[i]!, 1e-6));
  });
});

describe('loupe fool', function () {
  this.timeout(300_000);
  const dir = mkdtempSync(join(tmpdir(), 'loupe-fool-'));
  it('writes the figure, the images and the JSON with both networks\' probabilities', () => {
    const out = join(dir, 'f');
    const r = runLoupe(['fool', '--model', LENET, '--class', '3,7', '--judge', MNIST8, '--regularise', 'tv', '--out', out]);
    expect(r.code, r.err).to.equal(0);
    for (const f of ['png', 'npy', 'json']) expect(existsSync(`${out}.${f}`)).to.equal(true);
    const j = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
    expect(j.images.map((i: { class: number }) => i.class)).to.deep.equal([3, 7]);
    for (const i of j.images) {
      expect(i.prob).to.be.at.least(0.9999);
      expect(i.iterations).to.be.a('number');
      expect(i.judge.prob).to.be.within(0, 1);
    }
    expect(j.preprocess.model.scale).to.be.closeTo(1 / 255, 1e-9);
    expect(r.out).to.match(/class 3: 99\.99\d\d% after \d+ steps; mnist-8.onnx: /);
  });
  it('refuses bad input in one line', () => {
    const x = join(dir, 'x');
    expectOneLine(runLoupe(['fool', '--model', LENET, '--class', '12', '--out', x]), /--class 12/);
    expectOneLine(runLoupe(['fool', '--model', LENET, '--class', '3', '--confidence', '1', '--out', x]), /--confidence/);
    expectOneLine(runLoupe(['fool', '--model', LENET, '--class', '3', '--lambda', '0.1', '--out', x]), /--lambda/);
    expectOneLine(runLoupe(['fool', '--model', LENET, '--class', '3', '--judge-scale', '1', '--out', x]), /--judge/);
    expectOneLine(runLoupe(['fool', '--model', LENET, '--class', '3', '--judge', join(dir, 'nope.onnx'), '--out', x]), /nope\.onnx/);
    expectOneLine(runLoupe(['fool', '--model', LENET, '--class', '3', '--regularise', 'blurry', '--out', x]), /--regularise/);
    expect(existsSync(`${x}.png`)).to.equal(false);
  });
});
