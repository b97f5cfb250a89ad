// loupe evaluate (issue 14): deletion and insertion curves and their AUC, the pointing game, and
// the command's files and refusals. LeNet from weights/ on MNIST test digits.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, readdirSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { getEngine, rng } from './helpers.ts';
import { Model } from '../engine/runner.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { readIdx } from '../loaders/idx.ts';
import { encodePng } from '../loaders/image.ts';
import { explainer } from '../explainers/registry.ts';
import { evaluate, perturbationCurves, pointingGame, rankPixels, trapezoidAuc } from '../explainers/evaluate.ts';
import { gaussianBlur } from '../loaders/preprocess.ts';
import { imageFiles } from '../cli/evaluate.ts';
import { ArgumentError } from '../engine/errors.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '..', 'shared', 'data');
const LENET = join(ROOT, 'weights/lenet-relu-mnist.onnx');
const DIGIT = join(ROOT, 'weights/mnist-test-0.png');

describe('evaluate: AUC, ranking, blur and the pointing game (host)', () => {
  it('the trapezoid rule over equal steps of [0, 1]', () => {
    expect(trapezoidAuc([0, 1])).to.equal(0.5);
    expect(trapezoidAuc([1, 1, 1, 1])).to.equal(1);
    expect(trapezoidAuc([1, 0, 0])).to.equal(0.25);
    // y = x² at 0, .25, .5, .75, 1: h·(f0/2 + f1 + f2 + f3 + f4/2) = .25·(0 + .0625 + .25 + .5625 + .5) = 0.34375
    expect(trapezoidAuc([0, 0.0625, 0.25, 0.5625, 1])).to.be.closeTo(0.34375, 1e-12);
    expect(() => trapezoidAuc([1])).to.throw(/at least two points/);
  });

  it('ranks pixels highest first, ties by index', () => {
    expect(Array.from(rankPixels([0.5, 2, 0.5, -1, 2]))).to.deep.equal([1, 4, 0, 2, 3]);
  });

  it('the blur keeps a constant image and spreads a point', () => {
    const flat = gaussianBlur(new Float32Array(2 * 9 * 9).fill(3), 2, 9, 9, 2);
    for (const v of flat) expect(v).to.be.closeTo(3, 1e-5);
    const dot = new Float32Array(81);
    dot[40] = 1;
    const b = gaussianBlur(dot, 1, 9, 9, 1.5);
    expect(b[40]).to.be.below(1).and.above(b[41]!);
    expect(b[41]).to.be.closeTo(b[39]!, 1e-7);
    expect(b[41]).to.be.closeTo(b[31]!, 1e-7);
  });

  it('pointing game: a hit within the tolerance, a miss beyond it, no count for an empty region', () => {
    const h = 100, w = 100;
    const mask = new Uint8Array(h * w);
    for (let y = 60; y < 70; y++) for (let x = 65; x < 75; x++) mask[y * w + x] = 1;
    const peakAt = (y: number, x: number) => {
      const m = new Float32Array(h * w).fill(0.1);
      m[y * w + x] = 1;
      return m;
    };
    expect(pointingGame(peakAt(62, 70), mask, h, w)).to.deep.equal({ hit: true, peak: [62, 70], distance: 0 });
    expect(pointingGame(peakAt(62, 50), mask, h, w)).to.deep.include({ hit: true, distance: 15 }); // exactly 15 px left
    expect(pointingGame(peakAt(62, 49), mask, h, w)).to.deep.include({ hit: false, distance: 16 });
    const diag = pointingGame(peakAt(50, 55), mask, h, w); // (10, 10) from the corner (60, 65)
    expect(diag.hit).to.equal(true);
    expect(diag.distance).to.be.closeTo(Math.SQRT2 * 10, 1e-9);
    expect(pointingGame(peakAt(62, 49), mask, h, w, 16).hit).to.equal(true);
    expect(pointingGame(peakAt(62, 70), new Uint8Array(h * w), h, w).hit).to.equal(null);
    expect(() => pointingGame(peakAt(1, 1), new Uint8Array(10), h, w)).to.throw(/mask holds 10 values/);
  });
});

describe('loupe evaluate --images: folders', () => {
  it('takes the images of subfolders too (PNG, JPEG, JFIF), in name order, each named by its path inside the folder; two images of one name are refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'loupe-images-'));
    for (const f of ['b/two.jpg', 'a/one.png', 'a/notes.txt', 'three.jfif', 'c/d/four.JPEG']) {
      mkdirSync(join(dir, f, '..'), { recursive: true });
      writeFileSync(join(dir, f), 'x');
    }
    expect(imageFiles([dir]).map((f) => f.name)).to.deep.equal(['a/one.png', 'b/two.jpg', 'c/d/four.JPEG', 'three.jfif']);
    expect(imageFiles([join(dir, 'a/one.png')])).to.deep.equal([{ path: join(dir, 'a/one.png'), name: 'one.png' }]);
    writeFileSync(join(dir, 'one.png'), 'x');
    expect(() => imageFiles([join(dir, 'a/one.png'), join(dir, 'one.png')])).to.throw(ArgumentError, /^--images: two images are named one\.png \(/);
    mkdirSync(join(dir, 'empty'));
    expect(() => imageFiles([join(dir, 'empty')])).to.throw(ArgumentError, /the folder holds no PNG or JPEG images/);
  });
});

describe('evaluate on LeNet (MNIST digits)', function () {
  this.timeout(300_000);
  const N = 6, HW = 784;
  let model: Model;
  let x: Float32Array;
  let classes: number[];
  let effect: Float32Array;
  let random: Float32Array;
  before(async () => {
    model = new Model(await getEngine(), loadOnnx(new Uint8Array(readFileSync(LENET)), 'lenet.onnx'));
    const digits = readIdx(new Uint8Array(gunzipSync(readFileSync(join(DATA, 'mnist/t10k-images-idx3-ubyte.gz')))), 't10k');
    x = Float32Array.from(digits.data.subarray(0, N * HW), (v) => v / 255);
    // input × gradient of each image's top class: on this ReLU net, each pixel's share of the logit
    const e = await explainer('input-x-gradient').run(model, { data: x, batch: N });
    effect = e.maps!.data;
    classes = e.meta.classes as number[];
    random = rng(7).array(N * HW, 0, 1);
  });
  after(() => model.destroy());

  it('deletion of a map ranking pixels by their effect beats a random ranking (lower AUC) on every image; insertion the converse', async () => {
    const fx = await perturbationCurves(model, x, N, effect, classes, ['deletion', 'insertion'], { steps: 28 });
    const fr = await perturbationCurves(model, x, N, random, classes, ['deletion', 'insertion'], { steps: 28 });
    for (let i = 0; i < N; i++) {
      const [dx, dr, ix, ir] = [fx.get('deletion')![i]!, fr.get('deletion')![i]!, fx.get('insertion')![i]!, fr.get('insertion')![i]!].map(trapezoidAuc);
      expect(dx, `image ${i}: deletion`).to.be.below(dr! - 0.1);
      expect(ix, `image ${i}: insertion`).to.be.above(ir! + 0.1);
      // both start from the image (deletion) or end at it (insertion): the same probability there
      expect(fx.get('deletion')![i]![0]).to.be.closeTo(fr.get('deletion')![i]![0]!, 1e-6);
      expect(fx.get('insertion')![i]![28]).to.be.closeTo(fx.get('deletion')![i]![0]!, 1e-5);
    }
  });

  it('batching does not change the curves (7 step images per run against as many as fit)', async () => {
    const a = await perturbationCurves(model, x.subarray(0, 3 * HW), 3, effect.subarray(0, 3 * HW), classes.slice(0, 3), ['deletion', 'insertion'], { steps: 20 });
    const b = await perturbationCurves(model, x.subarray(0, 3 * HW), 3, effect.subarray(0, 3 * HW), classes.slice(0, 3), ['deletion', 'insertion'], { steps: 20, batch: 7 });
    for (const m of ['deletion', 'insertion'] as const)
      a.get(m)!.forEach((c, i) => c.forEach((v, k) => expect(v, `${m} ${i} step ${k}`).to.be.closeTo(b.get(m)![i]![k]!, 1e-6)));
  });

  it("a one-image method's progress is one bar over all images (its runs' shares), never restarting at 0", async () => {
    const seen: [number, number, string | undefined][] = [];
    await evaluate(model, { data: x.subarray(0, 3 * HW), batch: 3 }, [{ name: 'etalon', options: { neurons: '7' } }], { steps: 2, progress: (d, t, what) => seen.push([d, t, what]) });
    const maps = seen.filter(([, , what]) => what?.startsWith('etalon') && !what.includes('deletion'));
    expect(maps.length).to.be.at.least(3); // etalons report each image when it is done
    maps.forEach(([d, t, what], k) => {
      expect(t, what).to.equal(3);
      expect(what).to.match(/\(3 images\)$/);
      if (k > 0) expect(d, `update ${k}`).to.be.at.least(maps[k - 1]![0]);
    });
    expect(maps.at(-1)![0]).to.equal(3);
  });

  it('evaluate runs registered methods, follows the class each explained, and scores pointing on given masks', async () => {
    const masks = Array.from({ length: 2 }, (_, i) => Uint8Array.from(x.subarray(i * HW, (i + 1) * HW), (v) => (v > 0.5 ? 1 : 0))); // the ink
    const r = await evaluate(model, { data: x.subarray(0, 2 * HW), batch: 2, names: ['a', 'b'] }, [{ name: 'saliency' }, { name: 'input-x-gradient', options: { class: '3' } }], { steps: 10, masks });
    expect(r.metrics).to.deep.equal(['deletion', 'insertion', 'pointing']);
    expect(r.methods.map((m) => m.method)).to.deep.equal(['saliency', 'input-x-gradient']);
    expect(r.methods[0]!.images.map((im) => im.class)).to.deep.equal(classes.slice(0, 2));
    expect(r.methods[1]!.images.map((im) => im.class)).to.deep.equal([3, 3]);
    for (const m of r.methods) {
      expect(m.images[0]!.deletion!.curve).to.have.length(11);
      expect(m.mean.deletion).to.be.closeTo((m.images[0]!.deletion!.auc + m.images[1]!.deletion!.auc) / 2, 1e-12);
      expect(m.mean.pointingCounted).to.equal(2);
    }
    // input × gradient is zero off the ink, so its peak (for the top class) is on it
    const own = await evaluate(model, { data: x.subarray(0, 2 * HW), batch: 2 }, [{ name: 'input-x-gradient' }], { metrics: ['pointing'], masks, tolerance: 0 });
    expect(own.methods[0]!.mean.pointing).to.equal(1);
  });

  it('refuses unknown methods and metrics, a metric twice, and --steps 0', async () => {
    const inputs = { data: x.subarray(0, HW), batch: 1 };
    const fails = async (p: Promise<unknown>, re: RegExp) => {
      let err: Error | undefined;
      await p.catch((e: Error) => (err = e));
      expect(err?.message).to.match(re);
    };
    await fails(evaluate(model, inputs, [{ name: 'nope' }]), /unknown method "nope"/);
    await fails(evaluate(model, inputs, [{ name: 'saliency' }], { metrics: ['faithfulness' as 'deletion'] }), /unknown metric "faithfulness"/);
    await fails(evaluate(model, inputs, [{ name: 'saliency' }], { metrics: ['infidelity', 'infidelity'] }), /--metrics names a metric twice: infidelity,infidelity/);
    await fails(evaluate(model, inputs, [{ name: 'saliency' }], { steps: 0 }), /--steps must be an integer ≥ 1/);
    await fails(evaluate(model, inputs, [{ name: 'saliency' }], { metrics: ['pointing'] }), /needs a region mask/);
    await fails(evaluate(model, inputs, [{ name: 'maxout' }]), /cannot be evaluated/);
  });
});

describe('loupe evaluate', function () {
  this.timeout(300_000);
  const tmp = mkdtempSync(join(tmpdir(), 'loupe-evaluate-'));
  const loupe = (...args: string[]) => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/loupe.js'), 'evaluate', ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
    return { code: r.status, out: r.stdout, err: r.stderr.split('\n').filter((l) => l && !l.startsWith('Warning: max') && !/^evaluate \[|^\w[\w-]* \[#/.test(l)).join('\n') };
  };
  const masks = join(tmp, 'masks');
  mkdirSync(masks);
  const mask = (w: number, h: number, on: (y: number, x: number) => boolean) => {
    const data = new Uint8Array(w * h * 4);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(on(y, x) ? [255, 255, 255, 255] : [0, 0, 0, 255], (y * w + x) * 4);
    return encodePng({ width: w, height: h, data });
  };
  writeFileSync(join(masks, 'mnist-test-0.png'), mask(28, 28, (y, x) => y >= 6 && y < 22 && x >= 6 && x < 22));
  const common = ['--model', LENET, '--images', DIGIT];

  it('writes PREFIX.csv, PREFIX.json, PREFIX.png and PREFIX-curves.png', () => {
    const prefix = join(tmp, 'run', 'ev');
    const r = loupe(...common, '--methods', 'saliency,gradcam', '--method-options', 'gradcam:layer=conv2', '--masks', masks, '--steps', '10', '--out', prefix);
    expect(r.code, r.err).to.equal(0);
    expect(r.out.trim().split('\n')).to.deep.equal(['csv', 'json', 'png'].map((x) => `${prefix}.${x}`).concat(`${prefix}-curves.png`));
    const csv = readFileSync(`${prefix}.csv`, 'utf8').trim().split('\n');
    expect(csv[0]).to.equal('method,image,class,metric,value');
    expect(csv).to.have.length(1 + 2 * 3 * 2); // 2 methods × 3 metrics × (1 image + the mean)
    expect(csv).to.include('saliency,mnist-test-0.png,7,pointing,1');
    const json = JSON.parse(readFileSync(`${prefix}.json`, 'utf8'));
    expect(json.methods[1]).to.deep.include({ method: 'gradcam', options: { layer: 'conv2' } });
    expect(json.methods[0].images[0].deletion.curve).to.have.length(11);
    expect(json.deletionBaseline).to.match(/^0 in network units/);
  });

  const refused = (args: string[], line: RegExp) => {
    const prefix = join(tmp, 'bad', String(Math.random()).slice(2));
    const r = loupe(...common, ...args, '--out', prefix);
    expect(r.code, r.err).to.equal(1);
    expect(r.err.split('\n'), r.err).to.have.length(1);
    expect(r.err).to.match(line);
    expect(existsSync(join(tmp, 'bad')) ? readdirSync(join(tmp, 'bad')).filter((f) => f.startsWith(prefix.split('/').pop()!)) : []).to.deep.equal([]);
  };
  it('an unknown method: one line, exit 1, nothing written', () => refused(['--methods', 'saliency,nope'], /^loupe: unknown method "nope"; methods are /));
  it('an unknown metric, and one named twice', () => {
    refused(['--methods', 'saliency', '--metrics', 'deletion,auc'], /^loupe: unknown metric "auc"; metrics are deletion, insertion, pointing, randomisation, infidelity, sensitivity$/);
    refused(['--methods', 'saliency', '--metrics', 'infidelity,deletion,infidelity'], /^loupe: --metrics names a metric twice: infidelity,deletion,infidelity$/);
    refused(['--methods', 'saliency', '--metrics', 'sensitivity,sensitivity'], /^loupe: --metrics names a metric twice: sensitivity,sensitivity$/);
  });
  it('a mask of the wrong size', () => {
    const dir = join(tmp, 'small-masks');
    mkdirSync(dir);
    writeFileSync(join(dir, 'mnist-test-0.png'), mask(10, 12, () => true));
    refused(['--methods', 'saliency', '--masks', dir], /^loupe: --masks: mnist-test-0.png is 10x12; it must be the image's size \(28x28\) or the model's input size \(28x28\)$/);
  });
  it('--steps 0, an option the method does not have, a missing required option, pointing without masks', () => {
    refused(['--methods', 'saliency', '--steps', '0'], /^loupe: --steps must be an integer in \[1, 100000\], got "0"$/);
    refused(['--methods', 'saliency', '--method-options', 'saliency:layer=conv1'], /^loupe: --method-options: saliency has no option "layer"/);
    refused(['--methods', 'gradcam'], /^loupe: gradcam: --layer is required/);
    refused(['--methods', 'saliency', '--metrics', 'pointing'], /^loupe: --metrics pointing needs --masks DIR/);
  });
});
