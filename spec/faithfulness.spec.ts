// Infidelity, max-sensitivity and completeness (issue 14, explainers/faithfulness.ts): infidelity
// against a float64 CPU reference with the same noise, its zero on a linear model for the exact
// gradient, sensitivity's zeros and LeNet's saliency, completeness against the methods' own meta,
// and `loupe evaluate --metrics infidelity,sensitivity` with its refusals.
import { expect } from 'chai';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { expectOneLine, getEngine, GraphBuilder, rng, runLoupe } from './helpers.ts';
import { runGraphReference } from './reference.ts';
import { Model } from '../engine/runner.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { readIdx } from '../loaders/idx.ts';
import { explainer } from '../explainers/registry.ts';
import { evaluate, evaluationTable } from '../explainers/evaluate.ts';
import { gaussianStream, infidelity, infidelityNoise, maxSensitivity, sensitivityCopies } from '../explainers/faithfulness.ts';
import { mulberry32 } from '../engine/train.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '..', 'shared', 'data');
const LENET = join(ROOT, 'weights/lenet-relu-mnist.onnx');
const DIGIT = join(ROOT, 'weights/mnist-test-0.png');

describe('faithfulness: the noise (host)', () => {
  it('Box–Muller gives mean 0 and variance 1; the streams replay per seed and image', () => {
    const z = gaussianStream(mulberry32(9));
    let s = 0, s2 = 0;
    const m = 40000;
    for (let i = 0; i < m; i++) {
      const v = z();
      s += v;
      s2 += v * v;
    }
    expect(s / m).to.be.closeTo(0, 0.02);
    expect(s2 / m).to.be.closeTo(1, 0.03);
    const a = infidelityNoise(3, 1), b = infidelityNoise(3, 1), c = infidelityNoise(3, 2);
    const va = [a(), a(), a()], vb = [b(), b(), b()], vc = [c(), c(), c()];
    expect(va).to.deep.equal(vb);
    expect(va).not.to.deep.equal(vc);
  });

  it('sensitivity copies lie in the L∞ ball of radius × the pixel range (network units)', () => {
    const x = rng(1).array(2 * 12, 0, 1);
    const y = sensitivityCopies(x, 2, 12, { samples: 3, radius: 0.05, preprocess: { scale: 2 / 255 } }); // range 2, r = 0.1
    expect(y).to.have.length(2 * 3 * 12);
    let most = 0;
    y.forEach((v, q) => (most = Math.max(most, Math.abs(v - x[Math.floor(q / 36) * 12 + (q % 12)]!))));
    expect(most).to.be.at.most(0.1 + 1e-6).and.above(0.05);
    expect(Array.from(sensitivityCopies(x, 2, 12, { samples: 3, radius: 0 }))).to.deep.equal([...Array(3).fill(Array.from(x.subarray(0, 12))).flat(), ...Array(3).fill(Array.from(x.subarray(12))).flat()]);
  });

  it('max-sensitivity of a method that ignores the input is 0; an all-zero map that stays zero is 0, one that does not is undefined', async () => {
    const x = rng(2).array(2 * 3 * 16, 0, 1);
    const flat = new Float32Array(2 * 16).fill(0.5);
    const r = await maxSensitivity(x, 2, [3, 4, 4], flat, async (_y, count) => new Float32Array(count * 16).fill(0.5), { samples: 4 });
    expect(r.map((v) => v.max)).to.deep.equal([0, 0]);
    expect(r[0]!.values).to.have.length(4);
    const zero = await maxSensitivity(x, 2, [3, 4, 4], new Float32Array(32), async (_y, count) => new Float32Array(count * 16), { samples: 2 });
    expect(zero.map((v) => v.max)).to.deep.equal([0, 0]);
    const wakes = await maxSensitivity(x, 2, [3, 4, 4], new Float32Array(32), async (_y, count) => new Float32Array(count * 16).fill(1), { samples: 2 });
    expect(wakes.every((v) => Number.isNaN(v.max))).to.equal(true);
    // relative: twice the map, twice the change, the same sensitivity
    const one = await maxSensitivity(x, 2, [3, 4, 4], flat, async (y, count) => Float32Array.from({ length: count * 16 }, (_, q) => 0.5 + y[q]!), { samples: 3 });
    const two = await maxSensitivity(x, 2, [3, 4, 4], flat.map((v) => 2 * v), async (y, count) => Float32Array.from({ length: count * 16 }, (_, q) => 2 * (0.5 + y[q]!)), { samples: 3 });
    one.forEach((v, i) => expect(two[i]!.max).to.be.closeTo(v.max, 1e-12));
  });
});

describe('infidelity on small graphs', function () {
  this.timeout(120_000);

  it('matches a float64 CPU reference with the same noise on a small ReLU net (1e-4 relative), whatever the batching', async () => {
    const r = rng(11);
    const b = new GraphBuilder([1, 2, 6, 6]);
    const c1 = b.node('conv', ['x'], { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], group: 1, weight: b.param([3, 2, 3, 3], r), bias: b.param([3], r) }, 'conv1');
    const r1 = b.node('relu', [c1], {}, 'relu1');
    const f = b.node('flatten', [r1], { axis: 1 }, 'flat');
    const fc = b.node('fc', [f], { weight: b.param([4, 108], r), bias: b.param([4], r), outFeatures: 4 }, 'fc');
    const graph = { ...b.build([fc], 'tiny'), preprocess: { scale: 1 / 255 } }; // pixel range 1: σ = 0.2
    const model = new Model(await getEngine(), graph);
    try {
      const n = 2, per = 72, hw = 36, S = 10, seed = 5;
      const x = r.array(n * per, 0, 1);
      const maps = r.array(n * hw, -1, 1);
      const classes = [1, 3];
      const got = await infidelity(model, x, n, maps, classes, { samples: S, seed, sigma: 0.2 }); // far from linear: the ReLUs switch
      const batched = await infidelity(model, x, n, maps, classes, { samples: S, seed, sigma: 0.2, batch: 3 });
      const logit = (img: Float64Array, count: number) => runGraphReference(graph, img, count).get('fc')!.data;
      for (let i = 0; i < n; i++) {
        const xi = Float64Array.from(x.subarray(i * per, (i + 1) * per));
        const z = infidelityNoise(seed, i);
        const imgs = new Float64Array((S + 1) * per);
        imgs.set(xi);
        const sums: Float64Array[] = [];
        for (let s = 0; s < S; s++) {
          const sum = new Float64Array(hw);
          for (let j = 0; j < per; j++) {
            const noise = 0.2 * z();
            imgs[(s + 1) * per + j] = xi[j]! - noise;
            sum[j % hw] += noise;
          }
          sums.push(sum);
        }
        const out = logit(imgs, S + 1);
        const t = classes[i]!;
        const a = sums.map((sum) => sum.reduce((acc, v, p) => acc + v * maps[i * hw + p]!, 0));
        const d = sums.map((_, s) => out[t]! - out[(s + 1) * 4 + t]!);
        const beta = a.reduce((acc, v, s) => acc + v * d[s]!, 0) / a.reduce((acc, v) => acc + v * v, 0);
        const want = a.reduce((acc, v, s) => acc + (beta * v - d[s]!) ** 2, 0) / S;
        const raw = a.reduce((acc, v, s) => acc + (v - d[s]!) ** 2, 0) / S;
        expect(got[i]!.infidelity, `image ${i}`).to.be.closeTo(want, 1e-4 * want);
        expect(got[i]!.beta, `image ${i} β`).to.be.closeTo(beta, 1e-4 * Math.abs(beta));
        expect(got[i]!.unnormalised, `image ${i} unnormalised`).to.be.closeTo(raw, 1e-4 * raw);
        expect(batched[i]!.infidelity).to.be.closeTo(got[i]!.infidelity, 1e-6 * want);
      }
    } finally {
      model.destroy();
    }
  });

  it("on a linear single-channel model the gradient map has infidelity ≈ 0 at any scale (β finds it); a random map's is large", async () => {
    const r = rng(21);
    const b = new GraphBuilder([1, 1, 8, 8]);
    const f = b.node('flatten', ['x'], { axis: 1 }, 'flat');
    const weight = r.array(3 * 64, -1, 1);
    const fc = b.node('fc', [f], { weight: b.param([3, 64], weight), bias: b.param([3], r), outFeatures: 3 }, 'fc');
    const model = new Model(await getEngine(), { ...b.build([fc], 'linear'), preprocess: { scale: 1 / 255 } });
    try {
      const x = r.array(2 * 64, 0, 1);
      const classes = [2, 0];
      const grad = new Float32Array(2 * 64);
      classes.forEach((t, i) => grad.set(weight.subarray(t * 64, (t + 1) * 64), i * 64)); // ∂f_t/∂x = row t of the weights
      const exact = await infidelity(model, x, 2, grad, classes, { samples: 20, seed: 1 });
      const scaled = await infidelity(model, x, 2, grad.map((v) => 3 * v), classes, { samples: 20, seed: 1 });
      const random = await infidelity(model, x, 2, r.array(2 * 64, -1, 1), classes, { samples: 20, seed: 1 });
      for (let i = 0; i < 2; i++) {
        expect(exact[i]!.relative, `image ${i}`).to.be.below(1e-6); // INFD / E[Δf²]
        expect(exact[i]!.beta).to.be.closeTo(1, 1e-4);
        expect(exact[i]!.unnormalised).to.be.below(1e-6 * (exact[i]!.infidelity / exact[i]!.relative || 1));
        expect(scaled[i]!.relative).to.be.below(1e-6);
        expect(scaled[i]!.beta).to.be.closeTo(1 / 3, 1e-4);
        expect(random[i]!.relative, `image ${i}: random`).to.be.above(0.2);
        expect(random[i]!.infidelity).to.be.above(1e5 * exact[i]!.infidelity);
      }
    } finally {
      model.destroy();
    }
  });
});

describe('sensitivity and completeness on LeNet (MNIST digits)', function () {
  this.timeout(300_000);
  const N = 2, HW = 784;
  let model: Model;
  let x: Float32Array;
  before(async () => {
    model = new Model(await getEngine(), loadOnnx(new Uint8Array(readFileSync(LENET)), 'lenet.onnx'));
    const digits = readIdx(new Uint8Array(gunzipSync(readFileSync(join(DATA, 'mnist/t10k-images-idx3-ubyte.gz')))), 't10k');
    x = Float32Array.from(digits.data.subarray(0, N * HW), (v) => v / 255);
  });
  after(() => model.destroy());

  it('with radius 0 every deterministic method gives sensitivity 0', async () => {
    const methods = [{ name: 'saliency' }, { name: 'guided-backprop' }, { name: 'input-x-gradient' }, { name: 'gradcam', options: { layer: 'conv2' } }, { name: 'ig', options: { steps: 8 } }, { name: 'lrp' }];
    const r = await evaluate(model, { data: x, batch: N }, methods, { metrics: ['sensitivity'], radius: 0, sensitivitySamples: 2 });
    expect(r.sensitivity).to.deep.include({ samples: 2, radius: 0, radiusUnits: 0 });
    for (const m of r.methods) for (const im of m.images) expect(im.sensitivity!.max, `${m.method} ${im.image}`).to.be.at.most(1e-6);
  });

  it('saliency is sensitive (> 0, finite) at the default radius; the copies are explained for the class of the original', async () => {
    const r = await evaluate(model, { data: x, batch: N, names: ['a', 'b'] }, [{ name: 'saliency' }, { name: 'input-x-gradient', options: { class: '3' } }], { metrics: ['sensitivity'], sensitivitySamples: 3 });
    expect(r.sensitivity).to.deep.include({ samples: 3, radius: 0.02 });
    expect(r.sensitivity!.radiusUnits).to.be.closeTo(0.02, 1e-9); // LeNet: pixels / 255, range 1
    for (const m of r.methods)
      for (const im of m.images) {
        expect(im.sensitivity!.max, `${m.method} ${im.image}`).to.be.above(0).and.below(10);
        expect(im.sensitivity!.values).to.have.length(3);
        expect(im.sensitivity!.max).to.equal(Math.max(...im.sensitivity!.values));
      }
    expect(r.methods[0]!.mean.sensitivity).to.be.closeTo((r.methods[0]!.images[0]!.sensitivity!.max + r.methods[0]!.images[1]!.sensitivity!.max) / 2, 1e-12);
    // input × gradient for class 3 on 3's copies: the same as explaining the copies directly for class 3
    const copies = sensitivityCopies(x, N, HW, { samples: 3, seed: 0, radius: 0.02, preprocess: model.graph.preprocess });
    const direct = (await explainer('input-x-gradient').run(model, { data: copies, batch: 2 * 3 }, { class: '3' })).maps!.data;
    const orig = r.methods[1]!.maps;
    for (let i = 0; i < N; i++) {
      const n0 = Math.hypot(...orig.subarray(i * HW, (i + 1) * HW));
      const want = Math.max(...[0, 1, 2].map((s) => Math.hypot(...Array.from({ length: HW }, (_, p) => direct[(i * 3 + s) * HW + p]! - orig[i * HW + p]!)) / n0));
      expect(r.methods[1]!.images[i]!.sensitivity!.max).to.be.closeTo(want, 1e-5 * want);
    }
  });

  it("completeness: IG's value is its own meta's completeness gap, LRP's its conservation gap, an etalon's its affine identity; none for saliency", async () => {
    const r = await evaluate(model, { data: x, batch: N }, [{ name: 'ig', options: { steps: 16 } }, { name: 'lrp' }, { name: 'saliency' }], { metrics: ['deletion'], steps: 4 });
    const ig = await explainer('ig').run(model, { data: x, batch: N }, { steps: 16 });
    const lrp = await explainer('lrp').run(model, { data: x, batch: N });
    const gaps = ig.meta.completenessGap as number[];
    r.methods[0]!.images.forEach((im, i) => expect(im.completeness).to.equal(gaps[i]));
    expect(r.methods[0]!.mean.completeness).to.be.closeTo((gaps[0]! + gaps[1]!) / 2, 1e-12);
    const cons = lrp.meta.conservation as { relativeGap: number }[];
    r.methods[1]!.images.forEach((im, i) => expect(im.completeness).to.equal(Math.abs(cons[i]!.relativeGap)));
    expect(r.methods[2]!.images[0]).not.to.have.property('completeness');
    expect(r.methods[2]!.mean).not.to.have.property('completeness');
    const rows = evaluationTable(r).rows.filter((row) => row[3] === 'completeness');
    expect(rows.map((row) => [row[0], row[1]])).to.deep.equal([['ig', 'image 0'], ['ig', 'image 1'], ['ig', 'mean'], ['lrp', 'image 0'], ['lrp', 'image 1'], ['lrp', 'mean']]);
    // LeNet-ReLU is piecewise linear: the etalon of the top logit satisfies <W, x> + b = NET(x)
    const top = r.methods[2]!.images[0]!.class;
    const et = await evaluate(model, { data: x.subarray(0, HW), batch: 1 }, [{ name: 'etalon', options: { neurons: String(top) } }], { metrics: ['deletion'], steps: 2 });
    expect(et.methods[0]!.images[0]!.completeness).to.be.a('number').and.below(1e-4);
  });
});

describe('loupe evaluate --metrics infidelity,sensitivity', function () {
  this.timeout(300_000);
  const tmp = mkdtempSync(join(tmpdir(), 'loupe-faithfulness-'));
  const common = ['evaluate', '--model', LENET, '--images', DIGIT];

  it('writes the files; the CSV has the infidelity, sensitivity and completeness rows, the JSON β and the definitions', () => {
    const prefix = join(tmp, 'run', 'ev');
    const r = runLoupe([...common, '--methods', 'saliency,ig', '--method-options', 'ig:steps=8', '--metrics', 'infidelity,sensitivity', '--infidelity-samples', '6', '--sensitivity-samples', '2', '--seed', '3', '--out', prefix]);
    expect(r.code, r.err).to.equal(0);
    expect(r.out.trim().split('\n')).to.deep.equal(['csv', 'json', 'png'].map((e) => `${prefix}.${e}`));
    const csv = readFileSync(`${prefix}.csv`, 'utf8').trim().split('\n');
    expect(csv[0]).to.equal('method,image,class,metric,value');
    const keys = csv.slice(1).map((l) => l.split(',').slice(0, 4).join(','));
    expect(keys).to.deep.equal([
      'saliency,mnist-test-0.png,7,infidelity', 'saliency,mnist-test-0.png,7,sensitivity', 'saliency,mean,,infidelity', 'saliency,mean,,sensitivity',
      'ig,mnist-test-0.png,7,infidelity', 'ig,mnist-test-0.png,7,sensitivity', 'ig,mnist-test-0.png,7,completeness', 'ig,mean,,infidelity', 'ig,mean,,sensitivity', 'ig,mean,,completeness',
    ]);
    for (const l of csv.slice(1)) expect(Number(l.split(',')[4]), l).to.be.at.least(0);
    const json = JSON.parse(readFileSync(`${prefix}.json`, 'utf8'));
    expect(json.metrics).to.deep.equal(['infidelity', 'sensitivity']);
    expect(json.infidelity).to.deep.include({ samples: 6, sigma: 0.003, seed: 3 });
    expect(json.infidelity.sigmaUnits).to.be.closeTo(0.003, 1e-9); // LeNet: pixels / 255
    expect(json.infidelity.f).to.match(/logit \(pre-softmax\)/);
    expect(json.sensitivity).to.deep.include({ samples: 2, radius: 0.02, seed: 3 });
    expect(json.completeness.methods).to.deep.equal(['ig']);
    const im = json.methods[0].images[0];
    expect(im.infidelity).to.have.all.keys('infidelity', 'beta', 'unnormalised', 'relative');
    expect(im.sensitivity.values).to.have.length(2);
    expect(json.methods[1].images[0].completeness).to.be.a('number');
  });

  const refused = (args: string[], line: RegExp) => expectOneLine(runLoupe([...common, '--methods', 'saliency', ...args, '--out', join(tmp, 'bad', 'x')]), line);
  it('bad --infidelity-samples, --infidelity-sigma, --sensitivity-samples, --radius: one line, exit 1', () => {
    for (const v of ['0', '-3', '2.5', 'abc', '20000']) refused(['--metrics', 'infidelity', '--infidelity-samples', v], /--infidelity-samples must be an integer in \[1, 10000\]/);
    for (const v of ['0', '-0.1', 'NaN', 'abc']) refused(['--metrics', 'infidelity', '--infidelity-sigma', v], /--infidelity-sigma must be a number > 0/);
    for (const v of ['0', '1.5']) refused(['--metrics', 'sensitivity', '--sensitivity-samples', v], /--sensitivity-samples must be an integer in \[1, 10000\]/);
    for (const v of ['-0.02', 'NaN', 'Infinity']) refused(['--metrics', 'sensitivity', '--radius', v], /--radius must be a number ≥ 0/);
    refused(['--radius', '0.1'], /--radius is for the sensitivity metric: add sensitivity to --metrics/);
    refused(['--metrics', 'sensitivity', '--infidelity-samples', '5'], /--infidelity-samples is for the infidelity metric/);
  });
});
