// The CAM family (issue 14): Grad-CAM++, XGrad-CAM, HiResCAM, LayerCAM and EigenCAM (and Grad-CAM
// itself) on SqueezeNet v1.0, each equal to its formula computed here in float64 from the
// activations A and gradients g the engine records (written from the papers / pytorch-grad-cam,
// not by calling explainers/cam.ts), after the shared ReLU, bilinear upsampling and [0, 1]
// normalisation; Grad-CAM++ where g is exactly 0; EigenCAM's sign rule, its projection against a
// Jacobi eigendecomposition, and that it runs no reverse pass; LayerCAM at conv1; the command line.
import { expect } from 'chai';
import { readFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getEngine, rng, runLoupe, expectOneLine, rejection } from './helpers.ts';
import { resize, tensor } from './reference.ts';
import { Model, type Tensor } from '../engine/runner.ts';
import { Reverser } from '../engine/reverse.ts';
import { classifierValues } from '../engine/classify.ts';
import { ArgumentError } from '../engine/errors.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { decodeImage } from '../loaders/image.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { readNpy } from '../loaders/npy.ts';
import { eigenCam, gradientCam } from '../explainers/gradients.ts';
import { eigenProjection, gradientCamMap } from '../explainers/cam.ts';
import { explainer, type ExplainInputs, type Explanation } from '../explainers/registry.ts';
import { figures, drawFigure } from '../render/figures.ts';
import { explanationTiles } from '../render/tiles.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '..', 'shared', 'data');
const SQZ = join(DATA, 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx');
const BOTH = join(DATA, 'images/pytorch-grad-cam/both.png');
const CAT = join(DATA, 'images/caffe/cat.jpg');
const LABELS = join(DATA, 'labels/synset_words.txt');
const FIRE9 = '/Concat_7_output_0'; // 512×13×13
const FIRE4 = '/Concat_2_output_0'; // 256×55×55
const CONV1 = '/Relu_output_0'; // conv1 after its ReLU, 96×111×111
const CONV1_PRE = '/conv1/Conv_output_0'; // before it: g is exactly 0 wherever the ReLU is off
const CLASSES = [243, 281]; // bull mastiff (both.png), tabby (cat.jpg)
const S = 227;

// ---- the formulas in float64, as pytorch-grad-cam writes them --------------------------------------

type Variant = 'gradcam' | 'gradcampp' | 'xgradcam' | 'hirescam' | 'layercam';

/** Image i's CAM at a layer (hw values, before ReLU), from A and g (N×C×hw). */
function camRef(variant: Variant, A: Float32Array, g: Float32Array, i: number, C: number, hw: number): Float64Array {
  const cam = new Float64Array(hw);
  for (let k = 0; k < C; k++) {
    const o = (i * C + k) * hw;
    let sumA = 0, sumG = 0, sumAG = 0;
    for (let q = 0; q < hw; q++) {
      sumA += A[o + q]!;
      sumG += g[o + q]!;
      sumAG += A[o + q]! * g[o + q]!;
    }
    let weight = 0; // channel weight (Grad-CAM, ++, XGrad)
    if (variant === 'gradcam') weight = sumG / hw;
    if (variant === 'xgradcam') weight = sumAG / (sumA + 1e-7);
    if (variant === 'gradcampp')
      for (let q = 0; q < hw; q++) {
        const d = g[o + q]!;
        const alpha = d === 0 ? 0 : d ** 2 / (2 * d ** 2 + sumA * d ** 3 + 1e-6);
        weight += alpha * Math.max(d, 0);
      }
    for (let q = 0; q < hw; q++) {
      const a = A[o + q]!, d = g[o + q]!;
      cam[q] += variant === 'hirescam' ? d * a : variant === 'layercam' ? Math.max(d, 0) * a : weight * a;
    }
  }
  return cam;
}

/** ReLU, upsampling to the input, division by the maximum: what every CAM does with its layer map. */
function finish(cam: Float64Array, h: number, w: number): Float64Array {
  const up = resize(tensor([1, 1, h, w], cam.map((v) => Math.max(v, 0))), S, S, 'bilinear', false).data; // half-pixel centres, as the CAM family upsamples
  let mx = 0;
  for (const v of up) mx = Math.max(mx, v);
  return mx > 0 ? up.map((v) => v / mx) : up;
}

/** The top eigenpair of a symmetric matrix by cyclic Jacobi rotations (all of them, then the largest). */
function jacobiTop(sym: Float64Array, n: number): { value: number; vector: Float64Array } {
  const a = Float64Array.from(sym);
  const V = new Float64Array(n * n);
  for (let p = 0; p < n; p++) V[p * n + p] = 1;
  let scale = 0;
  for (const v of a) scale += v * v;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    if (off <= 1e-30 * scale) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!, akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!, aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p]!, vkq = V[k * n + q]!;
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  let top = 0;
  for (let p = 1; p < n; p++) if (a[p * n + p]! > a[top * n + top]!) top = p;
  const vector = Float64Array.from({ length: n }, (_, k) => V[k * n + top]!);
  // the reference checks itself: ‖S v − λ v‖ small
  const value = a[top * n + top]!;
  let res = 0;
  for (let p = 0; p < n; p++) {
    let d = 0;
    for (let q = 0; q < n; q++) d += sym[p * n + q]! * vector[q]!;
    res = Math.max(res, Math.abs(d - value * vector[p]!));
  }
  expect(res, 'Jacobi residual').to.be.below(1e-9 * Math.max(1, Math.abs(value)));
  return { value, vector };
}

/**
 * EigenCAM's projection (before ReLU) of image i: positions × channels centred over positions,
 * projected on its first principal component, through the smaller Gram matrix (as the method
 * documents) but eigendecomposed by Jacobi; signed so that it correlates positively with the
 * centred channel sum.
 */
function eigenRef(A: Float32Array, i: number, C: number, hw: number): Float64Array {
  const M = new Float64Array(C * hw);
  for (let k = 0; k < C; k++) {
    let mean = 0;
    for (let p = 0; p < hw; p++) mean += A[(i * C + k) * hw + p]! / hw;
    for (let p = 0; p < hw; p++) M[k * hw + p] = A[(i * C + k) * hw + p]! - mean;
  }
  const proj = new Float64Array(hw);
  if (C <= hw) {
    const G = new Float64Array(C * C); // covariance over channels: MᵀM
    for (let k = 0; k < C; k++) for (let l = 0; l < C; l++) for (let p = 0; p < hw; p++) G[k * C + l] += M[k * hw + p]! * M[l * hw + p]!;
    const { vector } = jacobiTop(G, C);
    for (let p = 0; p < hw; p++) for (let k = 0; k < C; k++) proj[p] += M[k * hw + p]! * vector[k]!;
  } else {
    const G = new Float64Array(hw * hw); // over positions: M·Mᵀ; M v = √λ u
    for (let p = 0; p < hw; p++) for (let q = 0; q < hw; q++) for (let k = 0; k < C; k++) G[p * hw + q] += M[k * hw + p]! * M[k * hw + q]!;
    const { value, vector } = jacobiTop(G, hw);
    for (let p = 0; p < hw; p++) proj[p] = Math.sqrt(value) * vector[p]!;
  }
  let corr = 0;
  for (let p = 0; p < hw; p++) for (let k = 0; k < C; k++) corr += proj[p]! * M[k * hw + p]!;
  return corr < 0 ? proj.map((v) => -v) : proj;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let q = 0; q < a.length; q++) d = Math.max(d, Math.abs(a[q]! - b[q]!));
  return d;
};

// ---- the formulas alone, on small arrays (no GPU) ---------------------------------------------------

describe('the CAM formulas on small arrays', () => {
  it('Grad-CAM++: where g = 0 (a whole channel, or single positions) α is 0, not 0/0; the map equals the formula', () => {
    const r = rng(14);
    const C = 3, hw = 6;
    const A = r.array(C * hw, 0, 2);
    const g = r.array(C * hw, -1, 1);
    g.fill(0, 0, hw); // channel 0: no gradient at all
    g[hw + 2] = 0;
    g[2 * hw + 5] = 0;
    const got = gradientCamMap('gradcampp', A, g, 0, C, hw);
    expect(Array.from(got).every(Number.isFinite)).to.equal(true);
    const want = camRef('gradcampp', A, g, 0, C, hw);
    expect(maxDiff(got, want)).to.be.below(1e-6 * Math.max(...want.map(Math.abs)));
    // channel 0 weighs nothing: the map is the same without it
    const A2 = A.slice();
    A2.fill(0, 0, hw);
    expect(maxDiff(gradientCamMap('gradcampp', A2, g, 0, C, hw), got)).to.equal(0);
  });

  it('every gradient variant equals its formula on a batch of two random images, and reads only its own image', () => {
    const r = rng(7);
    const C = 5, hw = 12;
    const A = r.array(2 * C * hw, -0.5, 2);
    const g = r.array(2 * C * hw, -1, 1, 9); // quantised: some exact zeros
    for (const v of ['gradcam', 'gradcampp', 'xgradcam', 'hirescam', 'layercam'] as const)
      for (const i of [0, 1]) {
        const want = camRef(v, A, g, i, C, hw);
        expect(maxDiff(gradientCamMap(v, A, g, i, C, hw), want), `${v} image ${i}`).to.be.below(1e-5 * Math.max(1, ...want.map(Math.abs)));
      }
  });

  it('EigenCAM: both Gram routes (positions ≤ channels and channels < positions) equal the Jacobi projection, with the sign rule', () => {
    const r = rng(3);
    for (const [C, hw] of [[12, 7], [7, 12], [9, 9]] as const) {
      const A = r.array(2 * C * hw, 0, 3);
      for (const i of [0, 1]) {
        const got = eigenProjection(A, i, C, hw);
        const want = eigenRef(A, i, C, hw);
        expect(maxDiff(got, want), `C=${C}, hw=${hw}, image ${i}`).to.be.below(1e-8 * Math.max(...want.map(Math.abs)));
        // the sign rule: positive correlation with the centred channel sum
        let corr = 0;
        for (let p = 0; p < hw; p++) {
          let s = 0;
          for (let k = 0; k < C; k++) {
            let mean = 0;
            for (let q = 0; q < hw; q++) mean += A[(i * C + k) * hw + q]! / hw;
            s += A[(i * C + k) * hw + p]! - mean;
          }
          corr += got[p]! * s;
        }
        expect(corr).to.be.above(0);
      }
    }
  });

  it('EigenCAM: activations constant over positions give a zero projection (no component), not NaN', () => {
    const A = new Float32Array(4 * 9).fill(2.5);
    expect(Array.from(eigenProjection(A, 0, 4, 9))).to.deep.equal(new Array(9).fill(0));
  });
});

// ---- on SqueezeNet v1.0 ------------------------------------------------------------------------------

describe('the CAM family on SqueezeNet v1.0 equals its float64 formulas', function () {
  let model: Model;
  let x: Float32Array;
  let inputs: ExplainInputs;
  /** A and g = ∂ logit_class / ∂A of each layer, recorded once for both images */
  const A = new Map<string, Tensor>();
  const G = new Map<string, Tensor>();
  const image = (f: string) => preprocessImage(decodeImage(new Uint8Array(readFileSync(f)), f), { size: [S, S], mean: [104, 117, 123], bgr: true, channels: 3 });

  before(async () => {
    model = new Model(await getEngine(), loadOnnx(new Uint8Array(readFileSync(SQZ)), 'squeezenet.onnx'));
    x = new Float32Array(2 * 3 * S * S);
    x.set(image(BOTH), 0);
    x.set(image(CAT), 3 * S * S);
    inputs = { data: x, batch: 2, names: ['both.png', 'cat.jpg'], preprocess: { mean: [104, 117, 123], bgr: true }, fromImages: true };
    const layers = [FIRE9, FIRE4, CONV1, CONV1_PRE];
    const logits = classifierValues(model.graph).logits;
    const rec = await model.record(x, 2, [logits, ...layers]);
    const k = rec.read.get(model.resolve(logits))!.data.length / 2;
    const seed = new Float32Array(2 * k);
    CLASSES.forEach((c, i) => (seed[i * k + c] = 1));
    const rev = new Reverser(model);
    try {
      const grads = await rev.run(rec, logits, seed, layers, 'gradient');
      for (const l of layers) {
        A.set(l, rec.read.get(l)!);
        G.set(l, grads.get(l)!);
      }
    } finally {
      rec.dispose();
      rev.dispose();
    }
  });
  after(() => model?.destroy());

  /** The reference maps of a layer for both images (2×S×S) and its map size. */
  const reference = (variant: Variant | 'eigencam', layer: string) => {
    const a = A.get(layer)!, g = G.get(layer)!;
    const [, C, h, w] = a.shape as [number, number, number, number];
    const out = new Float64Array(2 * S * S);
    for (const i of [0, 1]) out.set(finish(variant === 'eigencam' ? eigenRef(a.data, i, C, h * w) : camRef(variant, a.data, g.data, i, C, h * w), h, w), i * S * S);
    return out;
  };

  for (const variant of ['gradcam', 'gradcampp', 'xgradcam', 'hirescam', 'layercam'] as const) {
    it(`${variant} at fire9 and fire4 (through the registry): each layer's map and their mean equal the formula's (max |diff| < 1e-4)`, async () => {
      const e = await explainer(variant).run(model, inputs, { layer: [FIRE9, FIRE4], class: CLASSES });
      expect(e.meta).to.deep.include({ classes: CLASSES, layers: [FIRE9, FIRE4], layerSizes: [[13, 13], [55, 55]] });
      expect(e.meta.warnings, 'no map is empty').to.equal(undefined);
      const per = e.tensors.perLayer!;
      expect(per.shape).to.deep.equal([2, 2, S, S]);
      const refs = [reference(variant, FIRE9), reference(variant, FIRE4)];
      refs.forEach((ref, l) => {
        const d = maxDiff(per.data.subarray(l * ref.length, (l + 1) * ref.length), ref);
        console.log(`      ${variant} ${l ? 'fire4' : 'fire9'}: max |loupe − float64 formula| = ${d.toExponential(2)}`);
        expect(d, `${variant} layer ${l}`).to.be.below(1e-4);
      });
      expect(maxDiff(e.maps!.data, refs[0]!.map((v, q) => (v + refs[1]![q]!) / 2))).to.be.below(1e-4);
      const ctx = { ...inputs, shape: [3, S, S] as [number, number, number], model: 'squeezenet' };
      expect(figures(e, ctx).map((f) => drawFigure(f).width)[0]).to.be.above(100);
      // the app's grid: per image, each layer and their mean, named by the method
      const name = { gradcam: 'Grad-CAM', gradcampp: 'Grad-CAM++', xgradcam: 'XGrad-CAM', hirescam: 'HiResCAM', layercam: 'LayerCAM' }[variant];
      expect(explanationTiles(e, ctx).map((t) => t.label)).to.deep.equal([0, 1].flatMap(() => [`${name} ${FIRE9}`, `${name} ${FIRE4}`, `${name} mean of ${FIRE9} + ${FIRE4}`]));
    });
  }

  it('Grad-CAM++ at conv1 before its ReLU, where g is exactly 0 over much of the layer: finite, equal to the formula', async () => {
    const g = G.get(CONV1_PRE)!.data;
    const zeros = g.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
    expect(zeros / g.length, 'the share of exact zeros in g').to.be.above(0.1).and.below(0.99);
    const r = await gradientCam(model, x, 2, [CONV1_PRE], 'gradcampp', { classes: CLASSES });
    expect(r.maps.every(Number.isFinite)).to.equal(true);
    expect(maxDiff(r.maps, reference('gradcampp', CONV1_PRE))).to.be.below(1e-4);
  });

  it('LayerCAM at conv1 gives a detailed (non-constant) map, equal to the formula', async () => {
    const r = await gradientCam(model, x, 2, [CONV1], 'layercam', { classes: CLASSES });
    expect(r.perLayer[0]!.size).to.deep.equal([111, 111]);
    for (const i of [0, 1]) {
      const m = r.maps.subarray(i * S * S, (i + 1) * S * S);
      expect(new Set(m).size, `image ${i}: distinct values`).to.be.above(1000);
      expect(Math.max(...m)).to.be.closeTo(1, 1e-6);
    }
    expect(maxDiff(r.maps, reference('layercam', CONV1))).to.be.below(1e-4);
  });

  it('EigenCAM at fire9 (Gram over positions) and conv1 (Gram over channels) equals the Jacobi projection, and runs no reverse pass', async () => {
    // any reverse pass or recording during EigenCAM fails the test
    const run = Reverser.prototype.run, record = Model.prototype.record;
    let calls = 0;
    Reverser.prototype.run = function (...args) {
      calls++;
      return run.apply(this, args);
    };
    Model.prototype.record = function (...args) {
      calls++;
      return record.apply(this, args);
    };
    let e: Explanation;
    try {
      e = await explainer('eigencam').run(model, inputs, { layer: [FIRE9, CONV1] });
    } finally {
      Reverser.prototype.run = run;
      Model.prototype.record = record;
    }
    expect(calls, 'reverse passes and recordings').to.equal(0);
    expect(e.meta.classes).to.equal(undefined);
    expect(e.meta.layerSizes).to.deep.equal([[13, 13], [111, 111]]);
    const per = e.tensors.perLayer!;
    const refs = [reference('eigencam', FIRE9), reference('eigencam', CONV1)];
    refs.forEach((ref, l) => {
      const d = maxDiff(per.data.subarray(l * ref.length, (l + 1) * ref.length), ref);
      console.log(`      eigencam ${l ? 'conv1' : 'fire9'}: max |loupe − Jacobi projection| = ${d.toExponential(2)}`);
      expect(d).to.be.below(1e-4);
    });
    // the sign rule on the engine's activations: the raw projection correlates positively with the centred channel sum
    const a = A.get(FIRE9)!;
    for (const i of [0, 1]) {
      const proj = eigenProjection(a.data, i, 512, 169);
      let corr = 0;
      for (let p = 0; p < 169; p++) {
        let s = 0;
        for (let k = 0; k < 512; k++) {
          let mean = 0;
          for (let q = 0; q < 169; q++) mean += a.data[(i * 512 + k) * 169 + q]! / 169;
          s += a.data[(i * 512 + k) * 169 + p]! - mean;
        }
        corr += proj[p]! * s;
      }
      expect(corr, `image ${i}`).to.be.above(0);
    }
    const ctx = { ...inputs, shape: [3, S, S] as [number, number, number], model: 'squeezenet' };
    const fig = figures(e, ctx)[0]!;
    expect('cells' in fig && fig.cells[0]!.caption, 'rows captioned by the image, not a class').to.equal('both.png');
    expect(drawFigure(fig).width).to.be.above(100);
    expect(explanationTiles(e, ctx).map((t) => [t.label, t.group])).to.deep.equal([
      [`EigenCAM ${FIRE9}`, 'both.png'], [`EigenCAM ${CONV1}`, 'both.png'], [`EigenCAM mean of ${FIRE9} + ${CONV1}`, 'both.png'],
      [`EigenCAM ${FIRE9}`, 'cat.jpg'], [`EigenCAM ${CONV1}`, 'cat.jpg'], [`EigenCAM mean of ${FIRE9} + ${CONV1}`, 'cat.jpg'],
    ]);
  });

  it('bad layers: the input, a 1×1 map, a value that is not a feature map: ArgumentError naming the method and layer, before any GPU work', async () => {
    const cases: [() => Promise<unknown>, RegExp][] = [
      [() => eigenCam(model, x, 2, ['/GlobalAveragePool']), /layer \/GlobalAveragePool has a 1×1 map .*EigenCAM needs a spatial feature map/],
      [() => gradientCam(model, x, 2, ['/GlobalAveragePool'], 'hirescam'), /HiResCAM needs a spatial feature map/],
      [() => gradientCam(model, x, 2, [model.graph.input.name], 'layercam'), /^LayerCAM at layer ".*": that is the model's input/],
      [() => eigenCam(model, x, 2, ['/Flatten']), /EigenCAM needs a convolutional feature map \(N×C×H×W\)/],
      [() => gradientCam(model, x, 2, [], 'xgradcam'), /^XGrad-CAM needs at least one layer/],
      [() => explainer('eigencam').run(model, inputs, { layer: [FIRE9], class: [3] }), /eigencam: unknown option --class; options are --layer/],
    ];
    for (const [p, msg] of cases) {
      const e = await rejection(p);
      expect(e).to.be.instanceOf(ArgumentError);
      expect(e.message).to.match(msg);
    }
  });
});

describe('loupe explain with the CAM family', function () {
  const tmp = mkdtempSync(join(tmpdir(), 'loupe-cam-'));
  const common = ['--model', SQZ, '--image', BOTH, '--bgr', '--mean', '104,117,123', '--labels', LABELS];

  it('layercam at conv1 and fire9 writes PREFIX.png, .npy (H×W) and .json', () => {
    const prefix = join(tmp, 'layercam');
    const r = runLoupe(['explain', '--method', 'layercam', ...common, '--layer', '/Relu,/Concat_7', '--class', 'bull mastiff', '--out', prefix]);
    expect(r.code, r.err).to.equal(0);
    for (const ext of ['png', 'npy', 'json']) expect(existsSync(`${prefix}.${ext}`), ext).to.equal(true);
    const npy = readNpy(new Uint8Array(readFileSync(`${prefix}.npy`)), 'layercam.npy');
    expect(npy.shape).to.deep.equal([S, S]);
    expect(Math.max(...npy.data)).to.be.above(0);
    const meta = JSON.parse(readFileSync(`${prefix}.json`, 'utf8'));
    expect(meta).to.deep.include({ method: 'layercam', layers: ['/Relu', '/Concat_7'], classes: [243], layerSizes: [[111, 111], [13, 13]] });
    expect(meta.stored).to.equal('mean of the per-layer LayerCAM maps, each normalised to [0,1]; per layer: ReLU(Σ_k ReLU(g_k) ⊙ A_k)');
  });

  it('EigenCAM with --class: one line naming the flag, exit 1, no files', () => {
    const prefix = join(tmp, 'eigen-class');
    expectOneLine(runLoupe(['explain', '--method', 'eigencam', ...common, '--layer', '/Concat_7', '--class', '3', '--out', prefix]), /unknown option --class/);
    for (const ext of ['png', 'npy', 'json']) expect(existsSync(`${prefix}.${ext}`)).to.equal(false);
  });

  it('a 1×1 layer: one line naming the layer, exit 1, no files', () => {
    const prefix = join(tmp, 'one-by-one');
    expectOneLine(runLoupe(['explain', '--method', 'gradcampp', ...common, '--layer', '/GlobalAveragePool', '--out', prefix]), /layer \/GlobalAveragePool has a 1×1 map .*Grad-CAM\+\+ needs a spatial feature map/);
    for (const ext of ['png', 'npy', 'json']) expect(existsSync(`${prefix}.${ext}`)).to.equal(false);
  });
});
