// Style transfer by inversion (issue 17, survey §7.3, Gatys et al.): the Gram loss's gradient against
// finite differences (float64, on the host), the whole objective's gradient at the input (one
// reverse pass seeded at three layers at once) against finite differences of the float64 CPU
// reference, both losses falling monotonically over the first 50 iterations on SqueezeNet, the
// same result for the same seed, and `loupe style`.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { getEngine, GraphBuilder, rng, runLoupe, expectOneLine } from './helpers.ts';
import { runGraphReference } from './reference.ts';
import { Model } from '../engine/runner.ts';
import { Reverser } from '../engine/reverse.ts';
import { loadCaffe } from '../loaders/caffe.ts';
import { decodeImage, encodePng } from '../loaders/image.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { gram, gramLoss, styleGraph, styleTransfer, StyleObjective, type StyleOptions } from '../explainers/style.ts';
import { strokes } from '../render/style.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '..', 'shared', 'data');
const SQ = join(DATA, 'caffe/squeezenet_v1.0_deepcompression');
const PHOTO = join(DATA, 'images/caffe/cat.jpg');

describe('style: the Gram loss and its gradient', () => {
  it('E = 1/(4N²M²) Σ (G − A)² has the gradient 1/(N²M²) (G − A) F (central differences, float64)', () => {
    const r = rng(3);
    const n = 5, m = 7;
    const f = Float64Array.from(r.array(n * m, -1, 1));
    const a = gram(r.array(n * m, -1, 1), n, m);
    const { loss, grad } = gramLoss(f, a, n, m);
    // the loss itself, straight from the definition
    let want = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let g = 0;
        for (let k = 0; k < m; k++) g += f[i * m + k]! * f[j * m + k]!;
        want += (g - a[i * n + j]!) ** 2;
      }
    expect(loss).to.be.closeTo(want / (4 * n * n * m * m), 1e-15);
    const h = 1e-6;
    for (let q = 0; q < n * m; q++) {
      const fp = Float64Array.from(f), fm = Float64Array.from(f);
      fp[q]! += h;
      fm[q]! -= h;
      const fd = (gramLoss(fp, a, n, m).loss - gramLoss(fm, a, n, m).loss) / (2 * h);
      expect(grad[q]!, `∂E/∂F[${q}]`).to.be.closeTo(fd, 1e-7 * Math.max(1, Math.abs(fd)));
    }
  });

  it("the objective's gradient at the input, one reverse pass seeded at three layers, equals finite differences of the float64 reference", async () => {
    const r = rng(11);
    const b = new GraphBuilder([1, 3, 9, 9]);
    const conv = (x: string, cin: number, cout: number, name: string) =>
      b.node('conv', [x], { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], group: 1, weight: b.param([cout, cin, 3, 3], r.array(cout * cin * 9, -0.5, 0.5)), bias: b.param([cout], r.array(cout, -0.1, 0.1)) }, name);
    const a1 = b.node('relu', [conv('x', 3, 4, 'c1')], {}, 'r1');
    const p1 = b.node('maxpool', [a1], { kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0], ceil: false }, 'p1');
    const a2 = b.node('relu', [conv(p1, 4, 6, 'c2')], {}, 'r2');
    const a3 = b.node('relu', [conv(a2, 6, 5, 'c3')], {}, 'r3');
    const g = b.build([a3]);
    const model = new Model(await getEngine(), g);
    try {
      const content = r.array(3 * 81, -1, 1), style = r.array(3 * 81, -1, 1), x = r.array(3 * 81, -1, 1);
      const o = { alpha: 0.7, beta: 30, contentLayer: 'r2', styleLayers: ['r1', 'r2', 'r3'] };
      const obj = await StyleObjective.create(model, content, style, o);
      const { losses, grad } = await obj.gradient(x);
      // the same objective on the float64 reference
      const ref = (img: Float64Array | Float32Array) => {
        const v = runGraphReference(g, img, 1, ['r1', 'r2', 'r3']);
        return (name: string) => v.get(name)!.data;
      };
      const P = ref(content)('r2');
      const A = ['r1', 'r2', 'r3'].map((l) => ref(style)(l));
      const dims = [[4, 81], [6, 16], [5, 16]] as const;
      const loss = (img: Float64Array) => {
        const F = ref(img);
        let c = 0;
        const f2 = F('r2');
        for (let i = 0; i < f2.length; i++) c += (f2[i]! - P[i]!) ** 2;
        let s = 0;
        ['r1', 'r2', 'r3'].forEach((l, i) => (s += gramLoss(F(l), gram(A[i]!, dims[i]![0], dims[i]![1]), dims[i]![0], dims[i]![1]).loss / 3));
        return { content: c / 2, style: s, total: (o.alpha * c) / 2 + o.beta * s };
      };
      const at = loss(Float64Array.from(x));
      expect(losses.content).to.be.closeTo(at.content, 1e-4 * at.content);
      expect(losses.style).to.be.closeTo(at.style, 1e-4 * at.style);
      const h = 1e-5;
      let worst = 0, scale = 0;
      for (const q of Array.from({ length: 40 }, (_, i) => (i * 37) % 243)) {
        const xp = Float64Array.from(x), xm = Float64Array.from(x);
        xp[q]! += h;
        xm[q]! -= h;
        const fd = (loss(xp).total - loss(xm).total) / (2 * h);
        worst = Math.max(worst, Math.abs(grad[q]! - fd));
        scale = Math.max(scale, Math.abs(fd));
      }
      expect(scale).to.be.above(0);
      expect(worst / scale).to.be.below(1e-3);
    } finally {
      model.destroy();
    }
  });
});

describe('reverse: one walk seeded at several values', () => {
  it('gives the sum of the single-seed walks, also for seeds on parallel branches (neither before the other)', async () => {
    const r = rng(5);
    const b = new GraphBuilder([1, 2, 6, 6]);
    const conv = (x: string, cin: number, cout: number, name: string) =>
      b.node('conv', [x], { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], group: 1, weight: b.param([cout, cin, 3, 3], r.array(cout * cin * 9, -0.5, 0.5)), bias: b.param([cout], r.array(cout, -0.1, 0.1)) }, name);
    const a = b.node('relu', [conv('x', 2, 3, 'ca')], {}, 'a');
    const left = b.node('relu', [conv(a, 3, 2, 'cl')], {}, 'left');
    const right = b.node('relu', [conv(a, 3, 4, 'cr')], {}, 'right');
    const cat = b.node('concat', [left, right], { axis: 1 }, 'cat');
    const top = b.node('relu', [conv(cat, 6, 3, 'ct')], {}, 'top');
    const model = new Model(await getEngine(), b.build([top]));
    const rev = new Reverser(model);
    try {
      const x = r.array(72, -1, 1);
      const rec = await model.record(x, 1, [], [top]);
      try {
        const seeds: [string, Float32Array][] = [['top', r.array(108, -1, 1)], ['left', r.array(72, -1, 1)], ['right', r.array(144, -1, 1)], ['a', r.array(108, -1, 1)]];
        for (const pick of [[1, 2], [0, 1, 2, 3], [3, 0]]) {
          const chosen = pick.map((i) => seeds[i]!);
          const both = (await rev.runSeeds(rec, chosen, ['x', 'a'], 'gradient'));
          const sum = new Float64Array(72), sumA = new Float64Array(108);
          for (const [at, seed] of chosen) {
            const one = await rev.run(rec, at, seed, at === 'a' ? ['x'] : ['x', 'a'], 'gradient');
            one.get('x')!.data.forEach((v, i) => (sum[i]! += v));
            if (at === 'a') seed.forEach((v, i) => (sumA[i]! += v));
            else one.get('a')!.data.forEach((v, i) => (sumA[i]! += v));
          }
          both.get('x')!.data.forEach((v, i) => expect(v, `x[${i}], seeds ${pick}`).to.be.closeTo(sum[i]!, 1e-5 * (1 + Math.abs(sum[i]!))));
          both.get('a')!.data.forEach((v, i) => expect(v, `a[${i}], seeds ${pick}`).to.be.closeTo(sumA[i]!, 1e-5 * (1 + Math.abs(sumA[i]!))));
        }
        // and again on the cached walk (the seed buffers are written afresh each run)
        const again = await rev.runSeeds(rec, [seeds[1]!, seeds[2]!], ['x'], 'gradient');
        const first = await rev.runSeeds(rec, [seeds[1]!, seeds[2]!], ['x'], 'gradient');
        expect(Array.from(again.get('x')!.data)).to.deep.equal(Array.from(first.get('x')!.data));
      } finally {
        rec.dispose();
      }
    } finally {
      model.destroy();
    }
  });
});

describe('style transfer on SqueezeNet v1.0', function () {
  this.timeout(900_000);
  const S = 96; // SqueezeNet's layers up to fire5 at 96×96: 13 s for 50 iterations on lavapipe (227×227: ≈ 1 s an iteration)
  const CL = 'fire4/concat', SL = ['conv1', 'fire2/concat', 'fire3/concat', 'fire5/concat'];
  const pp = { mean: [104, 117, 123], bgr: true, size: [S, S] as [number, number], channels: 3 };
  let model: Model;
  let content: Float32Array, style: Float32Array;
  before(async () => {
    const g0 = loadCaffe(readFileSync(join(SQ, 'SqueezeNet_deploy.prototxt'), 'utf8'), new Uint8Array(readFileSync(join(SQ, 'squeezenet_v1.0_decoded.caffemodel'))), { prototxtName: 'SqueezeNet_deploy.prototxt', caffemodelName: 'squeezenet_v1.0_decoded.caffemodel' });
    model = new Model(await getEngine(), styleGraph(g0, [CL, ...SL], [S, S]));
    content = preprocessImage(decodeImage(new Uint8Array(readFileSync(PHOTO)), 'cat.jpg'), pp);
    style = preprocessImage(strokes(S, S, 7), pp);
  });
  after(() => model?.destroy());
  const opts = (o: Partial<StyleOptions>): StyleOptions => ({ contentLayer: CL, styleLayers: SL, alpha: 1, beta: 10, iterations: 50, lr: 2, seed: 1, preprocess: pp, ...o });
  const monotone = (v: number[]) => v.every((x, i) => i === 0 || x < v[i - 1]!);

  it('from noise (Gatys et al.), both losses fall at every one of the first 50 iterations', async () => {
    // β = 3: from noise, β = 10 lets the style pull the content loss up again for a few iterations near 30 (measured)
    const r = await styleTransfer(model, content, style, opts({ init: 'noise', beta: 3 }));
    const c = r.log.map((l) => l.content), s = r.log.map((l) => l.style);
    console.log(`      noise: content ${c[0]!.toExponential(3)} → ${c[50]!.toExponential(3)}, style ${s[0]!.toExponential(3)} → ${s[50]!.toExponential(3)} (${r.seconds.toFixed(1)} s)`);
    expect(r.log.length).to.equal(51);
    expect(monotone(c), 'content').to.equal(true);
    expect(monotone(s), 'style').to.equal(true);
    expect(c[50]!).to.be.below(0.5 * c[0]!);
    expect(s[50]!).to.be.below(0.1 * s[0]!);
    // every pixel stays a pixel: 0..255 through the preprocessing
    const mean = [104, 117, 123];
    r.image.forEach((v, i) => expect(v + mean[Math.floor(i / (S * S))]!).to.be.within(-1e-3, 255 + 1e-3));
  });

  it('from the photo, the style and the total loss fall at every iteration (the content loss starts at 0 and can only rise)', async () => {
    const r = await styleTransfer(model, content, style, opts({ init: 'content' }));
    const c = r.log.map((l) => l.content), s = r.log.map((l) => l.style), t = r.log.map((l) => l.total);
    console.log(`      photo: content 0 → max ${Math.max(...c).toExponential(3)} → ${c[50]!.toExponential(3)}, style ${s[0]!.toExponential(3)} → ${s[50]!.toExponential(3)} (${r.seconds.toFixed(1)} s)`);
    expect(c[0]).to.equal(0);
    expect(monotone(s), 'style').to.equal(true);
    expect(monotone(t), 'total').to.equal(true);
  });

  it('is identical for the same seed, and the seed matters (noise start)', async () => {
    const o = opts({ init: 'noise', iterations: 3, seed: 5 });
    const [a, b] = [await styleTransfer(model, content, style, o), await styleTransfer(model, content, style, o)];
    expect(Buffer.from(a.image.buffer).equals(Buffer.from(b.image.buffer))).to.equal(true);
    expect(a.log).to.deep.equal(b.log);
    const c = await styleTransfer(model, content, style, { ...o, seed: 6 });
    expect(Buffer.from(a.image.buffer).equals(Buffer.from(c.image.buffer))).to.equal(false);
  });
});

describe('loupe style', function () {
  this.timeout(600_000);
  const dir = mkdtempSync(join(tmpdir(), 'loupe-style-'));
  const painting = join(dir, 'strokes.png');
  writeFileSync(painting, encodePng(strokes(96, 96, 7)));
  const base = ['style', '--model', join(SQ, 'SqueezeNet_deploy.prototxt'), '--weights', join(SQ, 'squeezenet_v1.0_decoded.caffemodel'), '--bgr', '--mean', '104,117,123', '--size', '64', '--content', PHOTO, '--style', painting];
  it('writes the figure, the curve and the CSV', () => {
    const out = join(dir, 's');
    const r = runLoupe([...base, '--content-layer', 'fire3/concat', '--style-layers', 'conv1,fire2/concat', '--iterations', '4', '--out', out]);
    expect(r.code, r.err).to.equal(0);
    for (const f of ['.png', '-curve.png', '.csv']) expect(existsSync(`${out}${f}`), f).to.equal(true);
    const rows = readFileSync(`${out}.csv`, 'utf8').trim().split('\n');
    expect(rows[0]).to.equal('iteration,content,style,total');
    expect(rows.length).to.equal(6);
    expect(rows[1]!.split(',')[0]).to.equal('0');
  });
  it('refuses bad input in one line, writing nothing', () => {
    const x = join(dir, 'x');
    expectOneLine(runLoupe([...base, '--content-layer', 'nope', '--style-layers', 'conv1', '--out', x]), /nope/);
    expectOneLine(runLoupe([...base, '--content-layer', 'fire2/concat', '--style-layers', 'conv1,nope2', '--out', x]), /nope2/);
    expectOneLine(runLoupe([...base, '--content-layer', 'fire2/concat', '--style-layers', 'conv1', '--alpha', '-1', '--out', x]), /--alpha/);
    expectOneLine(runLoupe([...base.slice(0, -2), '--style', join(dir, 'missing.png'), '--content-layer', 'fire2/concat', '--style-layers', 'conv1', '--out', x]), /missing\.png/);
    expectOneLine(runLoupe([...base, '--content-layer', 'fire2/concat', '--style-layers', 'conv1', '--size', '8', '--out', x]), /--size|too small|8/);
    for (const f of ['.png', '-curve.png', '.csv']) expect(existsSync(`${x}${f}`)).to.equal(false);
  });
});
