// Whole-network reverse passes (engine/reverse.ts over engine/runner.ts's recording, and the
// explainers of explainers/gradients.ts built on them):
//  1. the input gradient of a small random CNN (conv, ReLU, ceil-mode max pool, LRN, two branches,
//     concat, ceil-mode avg pool, FC) equals float64 central finite differences of the CPU forward
//     reference, at the input and at intermediate values; and so does that of a small random net of
//     the mobile-family ops (ReLU6, channel split, HardSwish, channel shuffle, an SE gate of
//     ReduceMean, ELU, HardSigmoid and a broadcast Mul, a broadcast Add, SiLU, tanh, clip);
//  2. DeconvNet and guided backprop on the real SqueezeNet v1.0 (a real photo) equal a float64 CPU
//     walk of the same rules (spec/reverse-reference.ts's per-op backward functions, driven by the
//     CPU forward's own ReLU masks and max-pool switches);
//  3. saliency and Grad-CAM of a batch of 8 images equal 8 single-image runs;
//  4. bad requests fail with typed errors.
// Two pending tests pin bugs found on the way (engine/reverse.ts Add(x, x); explainers' class list).
// LOUPE_REPORT=1 prints the measured errors at the end.

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConvAttrs, Graph } from '../engine/ir.ts';
import { Model } from '../engine/runner.ts';
import { Reverser, type ReverseRule } from '../engine/reverse.ts';
import { FC_GRAD } from '../engine/conv.ts';
import { inferShapes, numel } from '../engine/shapes.ts';
import { ArgumentError, UnsupportedOpError } from '../engine/errors.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { decodeImage } from '../loaders/image.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { deconvnet, gradCam, guidedBackprop, saliency } from '../explainers/gradients.ts';
import * as R from './reference.ts';
import * as B from './reverse-reference.ts';
import { GraphBuilder, closeEngine, getEngine, rng, rejection } from './helpers.ts';

after(async () => {
  await closeEngine();
});

const DATA = join(import.meta.dirname, '..', '..', 'shared', 'data');
const SQZ = 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx';
const FIRE9 = '/Concat_7_output_0';
const PHOTOS = ['images/caffe/cat.jpg', 'images/preddiff/n01855672_8202.jpg', 'images/preddiff/n02488291_1177.jpg', 'images/preddiff/n02917067_1599.jpg',
  'images/pytorch-grad-cam/both.png', 'images/pytorch-cnn-visualizations/snake.png', 'images/transformer-explainability/el1.png', 'images/pytorch-cnn-visualizations/spider.png'];
const PER = 3 * 227 * 227;

/** A real photo, Caffe-preprocessed for SqueezeNet (227², BGR, minus the mean), as spec/models.spec.ts. */
function photo(file: string): Float32Array {
  return preprocessImage(decodeImage(new Uint8Array(readFileSync(join(DATA, file))), file), { size: [227, 227], mean: [104, 117, 123], bgr: true, channels: 3 });
}

/** Measured figures, printed at the end when LOUPE_REPORT is set. */
const figures: string[] = [];
after(() => {
  if (process.env.LOUPE_REPORT) for (const f of figures) console.log(`  [reverse.spec] ${f}`);
});

const maxAbs = (a: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
};
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length, 'lengths').to.equal(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Number.isNaN(a[i]!) || Number.isNaN(b[i]!) ? Infinity : Math.abs(a[i]! - b[i]!));
  return m;
};
/** max |got − want| / max |want|, asserting the reference is not all zero. */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>, what: string): number {
  const m = maxAbs(want);
  expect(m, `${what}: the reference is all zero`).to.be.above(0);
  return maxDiff(got, want) / m;
}

/** Runs `f` and returns the error it fails with. */
// ---- a float64 CPU forward and reverse walk ----------------------------------------------------
// The convolutions are written as row loops (the reference's per-term loops take minutes on
// SqueezeNet); they are checked against spec/reference.ts and spec/reverse-reference.ts below.

function convOutSize(a: ConvAttrs, h: number, w: number): [number, number] {
  return [
    Math.floor((h + a.pads[0] + a.pads[2] - a.dilation[0] * (a.kernel[0] - 1) - 1) / a.stride[0]) + 1,
    Math.floor((w + a.pads[1] + a.pads[3] - a.dilation[1] * (a.kernel[1] - 1) - 1) / a.stride[1]) + 1,
  ];
}

/**
 * Calls row(xOff, yOff, ox0, ox1, ix0, wv) for every (image, co, ci, ky, kx, oy) of a conv whose
 * input row is in bounds: the terms y[yOff + ox] ↔ x[xOff + ix0 + (ox − ox0)·sw] for ox in [ox0, ox1).
 */
function convRows(xs: number[], cout: number, a: ConvAttrs, w: ArrayLike<number>, row: (xOff: number, yOff: number, ox0: number, ox1: number, ix0: number, wv: number) => void): void {
  const [n, cin, h, wd] = xs as [number, number, number, number];
  const [oh, ow] = convOutSize(a, h, wd);
  const [kh, kw] = a.kernel;
  const [sh, sw] = a.stride;
  const [dh, dw] = a.dilation;
  const cinG = cin / a.group;
  const coutG = cout / a.group;
  for (let b = 0; b < n; b++)
    for (let co = 0; co < cout; co++) {
      const g = Math.floor(co / coutG);
      const yPlane = (b * cout + co) * oh * ow;
      for (let c = 0; c < cinG; c++) {
        const xPlane = (b * cin + g * cinG + c) * h * wd;
        for (let ky = 0; ky < kh; ky++)
          for (let kx = 0; kx < kw; kx++) {
            const wv = w[((co * cinG + c) * kh + ky) * kw + kx]!;
            if (wv === 0) continue;
            const off = kx * dw - a.pads[1]; // ix = ox·sw + off
            const ox0 = Math.max(0, Math.ceil(-off / sw));
            const ox1 = Math.min(ow, Math.floor((wd - 1 - off) / sw) + 1);
            if (ox1 <= ox0) continue;
            for (let oy = 0; oy < oh; oy++) {
              const iy = oy * sh - a.pads[0] + ky * dh;
              if (iy < 0 || iy >= h) continue;
              row(xPlane + iy * wd, yPlane + oy * ow, ox0, ox1, ox0 * sw + off, wv);
            }
          }
      }
    }
}

function conv2dFast(x: R.RefTensor, w: ArrayLike<number>, cout: number, a: ConvAttrs, bias?: ArrayLike<number>): R.RefTensor {
  const [n, , h, wd] = x.shape as [number, number, number, number];
  const [oh, ow] = convOutSize(a, h, wd);
  const y = R.tensor([n, cout, oh, ow]);
  const yd = y.data;
  const xd = x.data;
  const sw = a.stride[1];
  if (bias) for (let p = 0; p < n * cout; p++) yd.fill(bias[p % cout]!, p * oh * ow, (p + 1) * oh * ow);
  convRows(x.shape, cout, a, w, (xOff, yOff, ox0, ox1, ix0, wv) => {
    for (let ox = ox0, ix = xOff + ix0; ox < ox1; ox++, ix += sw) yd[yOff + ox] += wv * xd[ix]!;
  });
  return y;
}

function convInputGradFast(dy: R.RefTensor, w: ArrayLike<number>, xShape: number[], a: ConvAttrs): R.RefTensor {
  const dx = R.tensor(xShape);
  const dxd = dx.data;
  const dyd = dy.data;
  const sw = a.stride[1];
  convRows(xShape, dy.shape[1]!, a, w, (xOff, yOff, ox0, ox1, ix0, wv) => {
    for (let ox = ox0, ix = xOff + ix0; ox < ox1; ox++, ix += sw) dxd[ix] += wv * dyd[yOff + ox]!;
  });
  return dx;
}

interface CpuForward {
  values: Map<string, R.RefTensor>;
  /** ReLU masks (1 where the input is > 0) and max-pool switches, by layer name. */
  masks: Map<string, Float64Array>;
  switches: Map<string, Int32Array>;
}

const f64param = (g: Graph, name: string): Float64Array => Float64Array.from(g.params.get(name)!.data);

/** The float64 forward pass of every value, with the ReLU masks and the max-pool switches. */
function cpuForward(g: Graph, input: ArrayLike<number>, batch: number): CpuForward {
  const shapes = inferShapes(g, batch);
  const values = new Map<string, R.RefTensor>([[g.input.name, R.tensor(shapes.get(g.input.name)!, input)]]);
  const masks = new Map<string, Float64Array>();
  const switches = new Map<string, Int32Array>();
  for (const node of g.nodes) {
    const ins = node.inputs.map((v) => values.get(v)!);
    const x = ins[0]!;
    let y: R.RefTensor;
    switch (node.op) {
      case 'conv':
        y = conv2dFast(x, f64param(g, node.attrs.weight), g.params.get(node.attrs.weight)!.dims[0]!, node.attrs, node.attrs.bias ? f64param(g, node.attrs.bias) : undefined);
        break;
      case 'relu':
        masks.set(node.name, R.reluMask(x).data);
        y = R.relu(x);
        break;
      case 'maxpool': {
        const p = R.maxPool(x, node.attrs);
        switches.set(node.name, p.switches);
        y = { shape: p.shape, data: p.data };
        break;
      }
      case 'avgpool':
        y = R.avgPool(x, node.attrs);
        break;
      case 'globalavgpool':
        y = R.globalPool(x, 'avg');
        break;
      case 'lrn':
        y = R.lrn(x, node.attrs.size, node.attrs.alpha, node.attrs.beta, node.attrs.bias);
        break;
      case 'concat':
        y = R.concat(ins);
        break;
      case 'fc':
        y = R.fc(x, f64param(g, node.attrs.weight), node.attrs.outFeatures, node.attrs.bias ? f64param(g, node.attrs.bias) : undefined);
        break;
      case 'softmax':
        y = R.softmax(x, node.attrs.axis, !!node.attrs.log);
        break;
      case 'flatten':
        y = R.flatten(x, node.attrs.axis);
        break;
      case 'identity':
        y = { shape: [...x.shape], data: x.data };
        break;
      default:
        throw new Error(`cpuForward: no ${node.op}`);
    }
    const want = shapes.get(node.outputs[0]!)!;
    if (y.shape.join() !== want.join()) throw new Error(`cpuForward: ${node.name} gave [${y.shape}], inferShapes says [${want}]`);
    values.set(node.outputs[0]!, y);
  }
  return { values, masks, switches };
}

/**
 * The float64 reverse walk of `rule` from `seed` at value `from` down to the input, with the rules
 * engine/reverse.ts documents; returns the signal at every value it reaches.
 */
function cpuReverse(g: Graph, fwd: CpuForward, from: string, seed: R.RefTensor, rule: ReverseRule): Map<string, R.RefTensor> {
  const grads = new Map<string, R.RefTensor>([[from, seed]]);
  const contribute = (v: string, t: R.RefTensor) => {
    const prev = grads.get(v);
    if (!prev) grads.set(v, t);
    else for (let i = 0; i < t.data.length; i++) prev.data[i] += t.data[i]!;
  };
  const start = g.nodes.findIndex((n) => n.outputs.includes(from));
  for (let i = start; i >= 0; i--) {
    const node = g.nodes[i]!;
    const dy = grads.get(node.outputs[0]!);
    if (!dy) continue;
    const xName = node.inputs[0]!;
    const x = fwd.values.get(xName)!;
    switch (node.op) {
      case 'conv':
        contribute(xName, convInputGradFast(dy, f64param(g, node.attrs.weight), x.shape, node.attrs));
        break;
      case 'relu':
        contribute(xName, B.reluBackward(rule === 'deconvnet' ? 'deconv' : rule, dy, fwd.masks.get(node.name)!));
        break;
      case 'maxpool':
        contribute(xName, B.unpool(dy, fwd.switches.get(node.name)!, x.shape));
        break;
      case 'avgpool':
        contribute(xName, B.avgPoolGrad(dy, x.shape, node.attrs));
        break;
      case 'globalavgpool':
        contribute(xName, B.globalAvgPoolGrad(dy, x.shape));
        break;
      case 'lrn':
        contribute(xName, rule === 'deconvnet' ? { shape: [...x.shape], data: dy.data.slice() } : B.lrnGrad(x, dy, node.attrs.size, node.attrs.alpha, node.attrs.beta, node.attrs.bias));
        break;
      case 'concat': {
        let c0 = 0;
        for (const v of node.inputs) {
          const cx = fwd.values.get(v)!.shape[1]!;
          contribute(v, B.splitChannels(dy, c0, cx));
          c0 += cx;
        }
        break;
      }
      case 'fc':
        contribute(xName, B.fcInputGrad(dy, f64param(g, node.attrs.weight), x.shape));
        break;
      case 'flatten':
      case 'identity':
        contribute(xName, { shape: [...x.shape], data: dy.data.slice() });
        break;
      default:
        throw new Error(`cpuReverse: no ${node.op}`);
    }
  }
  return grads;
}

/** The part of `g` downstream of value `from`, as a graph whose input is `from`. */
function downstream(g: Graph, from: string, shape: number[]): Graph {
  const i = g.nodes.findIndex((n) => n.outputs.includes(from));
  return { ...g, input: { name: from, shape: [-1, ...shape.slice(1)] }, nodes: g.nodes.slice(i + 1) };
}

describe('CPU walker building blocks', () => {
  it('the row-loop conv and conv input gradient equal spec/reference.ts and spec/reverse-reference.ts', () => {
    const r = rng(7);
    const cases: { x: number[]; cout: number; a: ConvAttrs }[] = [
      { x: [2, 4, 9, 11], cout: 6, a: { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], group: 1, weight: '' } },
      { x: [1, 3, 17, 13], cout: 5, a: { kernel: [7, 5], stride: [2, 3], pads: [0, 2, 1, 0], dilation: [1, 1], group: 1, weight: '' } },
      { x: [2, 6, 11, 9], cout: 4, a: { kernel: [3, 3], stride: [2, 1], pads: [2, 1, 0, 2], dilation: [2, 2], group: 2, weight: '' } },
      { x: [1, 5, 7, 7], cout: 3, a: { kernel: [1, 1], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], group: 1, weight: '' } }, // SqueezeNet's conv_final
    ];
    for (const { x: xs, cout, a } of cases) {
      const x = R.tensor(xs, r.array(numel(xs)));
      const w = Float64Array.from(r.array(cout * (xs[1]! / a.group) * a.kernel[0] * a.kernel[1]));
      const bias = Float64Array.from(r.array(cout));
      const want = R.conv2d(x, w, cout, a, bias);
      const got = conv2dFast(x, w, cout, a, bias);
      expect(got.shape).to.deep.equal(want.shape);
      expect(maxDiff(got.data, want.data)).to.be.below(1e-12);
      const dy = R.tensor(want.shape, r.array(numel(want.shape)));
      expect(maxDiff(convInputGradFast(dy, w, xs, a).data, B.convInputGrad(dy, w, xs, a).data)).to.be.below(1e-12);
    }
  });
});

// ---- 1. a small random CNN against finite differences ------------------------------------------

const CLASSES = [1, 4]; // the logit differentiated for each of the two images

function smallCnn(): Graph {
  const r = rng(2024);
  const b = new GraphBuilder([2, 3, 15, 15], 'x');
  const uni = (n: number, s: number) => r.array(n, -s, s);
  const conv = (x: string, cin: number, cout: number, k: number, pad: number, name: string) =>
    b.node('conv', [x], {
      kernel: [k, k], stride: [1, 1], pads: [pad, pad, pad, pad], dilation: [1, 1], group: 1,
      weight: b.param([cout, cin, k, k], uni(cout * cin * k * k, 1.5 / Math.sqrt(cin * k * k)), `${name}.w`),
      bias: b.param([cout], uni(cout, 0.3), `${name}.b`),
    }, name);
  const c1 = conv('x', 3, 5, 3, 1, 'conv1');
  const r1 = b.node('relu', [c1], {}, 'relu1');
  const p1 = b.node('maxpool', [r1], { kernel: [3, 3], stride: [2, 2], pads: [0, 0, 0, 0], ceil: true }, 'pool1'); // 15 → 7
  const n1 = b.node('lrn', [p1], { size: 3, alpha: 0.6, beta: 0.75, bias: 1 }, 'norm1');
  const ra = b.node('relu', [conv(n1, 5, 4, 1, 0, 'branch_a')], {}, 'relu_a');
  const rb = b.node('relu', [conv(n1, 5, 3, 3, 1, 'branch_b')], {}, 'relu_b');
  const cat = b.node('concat', [ra, rb], { axis: 1 }, 'concat');
  const p2 = b.node('avgpool', [cat], { kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0], ceil: true }, 'pool2'); // 7 → 4, last window partial
  const fl = b.node('flatten', [p2], { axis: 1 }, 'flatten');
  b.node('fc', [fl], { weight: b.param([6, 7 * 16], uni(6 * 7 * 16, 0.3), 'fc.w'), bias: b.param([6], uni(6, 0.3), 'fc.b'), outFeatures: 6 }, 'logits');
  return b.build(['logits'], 'small-cnn');
}

/**
 * How close the forward pass of `x` comes to a kink: the smallest |ReLU input| and the smallest gap
 * between the largest and second-largest value of a max-pool window.
 */
function kinkMargin(g: Graph, fwd: CpuForward): number {
  let m = Infinity;
  for (const n of g.nodes) {
    const x = fwd.values.get(n.inputs[0]!)!;
    if (n.op === 'relu') for (const v of x.data) m = Math.min(m, Math.abs(v));
    if (n.op === 'maxpool') {
      const [nn, c, h, w] = x.shape as [number, number, number, number];
      const [oh, ow] = fwd.values.get(n.outputs[0]!)!.shape.slice(2) as [number, number];
      const a = n.attrs;
      for (let p = 0; p < nn * c; p++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++) {
            const win: number[] = [];
            for (let iy = oy * a.stride[0]; iy < Math.min(h, oy * a.stride[0] + a.kernel[0]); iy++)
              for (let ix = ox * a.stride[1]; ix < Math.min(w, ox * a.stride[1] + a.kernel[1]); ix++) win.push(x.data[(p * h + iy) * w + ix]!);
            win.sort((u, v) => v - u);
            // a window of ReLU zeros is no kink: its inputs stay negative within the ReLU margin
            if (win.length > 1 && win[0]! !== 0) m = Math.min(m, win[0]! - win[1]!);
          }
    }
  }
  return m;
}

describe('whole-network gradient of a small random CNN equals finite differences', function () {
  const g = smallCnn();
  const N = 2;
  const EPS = 1e-4;
  const MARGIN = 3e-4;
  let x: Float32Array;
  let fwd: CpuForward;
  let model: Model;
  let seed: Float32Array;
  let gpu: Map<string, { shape: number[]; data: Float32Array }>;

  before(async () => {
    // The first input seed whose forward pass stays MARGIN away from every ReLU and max-pool kink
    // (an FD step of EPS moves no pre-activation that far).
    const per = 3 * 15 * 15;
    let s = 1;
    for (; s < 200; s++) {
      x = rng(s).array(N * per);
      fwd = cpuForward(g, x, N);
      if (kinkMargin(g, fwd) > MARGIN) break;
    }
    expect(s, 'no input seed keeps clear of the kinks').to.be.below(200);
    figures.push(`small CNN: input seed ${s}, kink margin ${kinkMargin(g, fwd).toExponential(2)}`);
    seed = new Float32Array(N * 6);
    CLASSES.forEach((c, i) => (seed[i * 6 + c] = 1));
    model = new Model(await getEngine(), g);
    const rec = await model.record(x, N, ['logits']);
    // the recording's logits agree with the float64 reference
    const logits = rec.read.get('logits')!.data;
    expect(maxDiff(logits, fwd.values.get('logits')!.data)).to.be.below(1e-4 * maxAbs(fwd.values.get('logits')!.data));
    gpu = await new Reverser(model).run(rec, 'logits', seed, ['x', 'concat', 'norm1', 'pool1'], 'gradient');
  });
  after(() => model?.destroy());

  /**
   * FD of L = Σ_n logit[n, c_n] with respect to value `v` (through the part of the graph after v),
   * at eps and eps/2; one image at a time (an image's values only move its own logits).
   */
  function fd(v: string): { g1: Float64Array; g2: Float64Array } {
    const t = fwd.values.get(v)!;
    const sub = v === 'x' ? g : downstream(g, v, t.shape);
    const per = t.data.length / N;
    const g1 = new Float64Array(t.data.length);
    const g2 = new Float64Array(t.data.length);
    for (let n = 0; n < N; n++) {
      const f = (u: Float64Array) => R.runGraphReference(sub, u, 1, ['logits']).get('logits')!.data;
      const u = t.data.slice(n * per, (n + 1) * per);
      const r = seed.subarray(n * 6, (n + 1) * 6);
      g1.set(B.finiteDiff(f, u, r, EPS), n * per);
      g2.set(B.finiteDiff(f, u, r, EPS / 2), n * per);
    }
    return { g1, g2 };
  }

  for (const v of ['x', 'concat', 'norm1', 'pool1']) {
    it(`at ${v === 'x' ? 'the input' : `the ${v} output`}`, () => {
      const { g1, g2 } = fd(v);
      // FD is stable (no kink within the step): eps and eps/2 agree far below the tolerance.
      const stab = relErr(g1, g2, `FD at ${v}`);
      expect(stab, `FD at ${v}: eps vs eps/2`).to.be.below(1e-6);
      const got = gpu.get(v)!.data;
      const err = relErr(got, g1, `gradient at ${v}`);
      // the CPU walker (used for SqueezeNet below) is exact here too
      const cpu = cpuReverse(g, fwd, 'logits', R.tensor([N, 6], seed), 'gradient').get(v)!.data;
      const cpuErr = relErr(cpu, g1, `CPU walk at ${v}`);
      figures.push(`small CNN gradient at ${v}: |gpu−fd|/max = ${err.toExponential(2)}, |cpu walk−fd|/max = ${cpuErr.toExponential(2)}, FD eps vs eps/2 ${stab.toExponential(2)}, max|grad| ${maxAbs(g1).toPrecision(3)}`);
      expect(err, `max |gpu − FD| / max |FD| at ${v}`).to.be.at.most(1e-3);
      expect(cpuErr, `max |CPU walk − FD| / max |FD| at ${v}`).to.be.at.most(1e-6);
      // both images carry signal
      const half = got.length / N;
      for (let n = 0; n < N; n++) expect(maxAbs(got.subarray(n * half, (n + 1) * half)), `image ${n}`).to.be.above(0);
    });
  }

  for (const rule of ['deconvnet', 'guided'] as const) {
    it(`${rule} equals the CPU walk (LRN ${rule === 'deconvnet' ? 'skipped' : 'differentiated'})`, async () => {
      const rec = await model.record(x, N);
      const res = await new Reverser(model).run(rec, 'logits', seed, ['x', 'concat', 'norm1'], rule);
      const cpu = cpuReverse(g, fwd, 'logits', R.tensor([N, 6], seed), rule);
      for (const v of ['x', 'concat', 'norm1']) {
        const err = relErr(res.get(v)!.data, cpu.get(v)!.data, `${rule} at ${v}`);
        figures.push(`small CNN ${rule} at ${v}: |gpu−cpu|/max = ${err.toExponential(2)}`);
        expect(err, `${rule} at ${v}`).to.be.at.most(1e-5);
      }
      // the rule matters on this net: the signal differs from the gradient at the input
      expect(relErr(res.get('x')!.data, gpu.get('x')!.data, 'gradient'), `${rule} vs gradient`).to.be.above(0.05);
    });
  }

  it('the explainers on a batch of 8 split into chunks of 3 equal 8 single runs', async () => {
    const per = 3 * 15 * 15;
    const x8 = rng(99).array(8 * per);
    const classes = [0, 1, 2, 3, 4, 5, 0, 3];
    const m = new Model(await getEngine(), g);
    try {
      const singles = async (f: (xi: Float32Array, i: number) => Promise<{ maps: Float32Array }>) => {
        const out: Float32Array[] = [];
        for (let i = 0; i < 8; i++) out.push((await f(x8.slice(i * per, (i + 1) * per), i)).maps);
        return out;
      };
      const runs = {
        saliency: async () => [await saliency(m, x8, 8, { classes }), await singles((xi, i) => saliency(m, xi, 1, { classes: [classes[i]!] }))] as const,
        guided: async () => [await guidedBackprop(m, x8, 8), await singles((xi) => guidedBackprop(m, xi, 1))] as const,
        gradCam: async () => [await gradCam(m, x8, 8, ['concat', 'norm1'], { classes }), await singles((xi, i) => gradCam(m, xi, 1, ['concat', 'norm1'], { classes: [classes[i]!] }))] as const,
        deconvnet: async () => [await deconvnet(m, x8, 8, { layer: 'concat' }), await singles((xi) => deconvnet(m, xi, 1, { layer: 'concat' }))] as const,
      };
      for (const [name, run] of Object.entries(runs)) {
        m.memoryBudget = 1;
        while (m.maxRecordBatch() < 3) m.memoryBudget *= 1.05;
        expect(m.maxRecordBatch(), 'chunk size').to.equal(3);
        const [batch, single] = await run();
        if ('classes' in batch && name !== 'guided') expect(batch.classes).to.deep.equal(classes);
        const hw = 15 * 15;
        let d = 0;
        single.forEach((s, i) => (d = Math.max(d, maxDiff(batch.maps.subarray(i * hw, (i + 1) * hw), s))));
        const mx = maxAbs(batch.maps);
        expect(mx, `${name}: maps all zero`).to.be.above(0);
        expect(d / mx, `${name}: batch of 8 in chunks vs single runs`).to.be.at.most(1e-5);
      }
    } finally {
      m.destroy();
    }
  });
});

// ---- 1b. a small random net of the mobile-family ops against finite differences -----------------

/**
 * Every op the mobile families added, in a net whose pieces are MobileNet's, ShuffleNet's and
 * EfficientNet's: ReLU6, a channel split, HardSwish, the channel shuffle (5-D transpose), a
 * squeeze-and-excitation gate (ReduceMean, ELU, HardSigmoid, broadcast Mul), a broadcast Add, SiLU
 * (sigmoid, same-shape Mul), tanh, a non-rectifier clip, and a ReduceMean head.
 */
function mobileNet(): Graph {
  const r = rng(2025);
  const b = new GraphBuilder([2, 4, 9, 9], 'x');
  const conv = (x: string, cin: number, cout: number, k: number, stride: number, name: string, scale = 1.5) =>
    b.node('conv', [x], {
      kernel: [k, k], stride: [stride, stride], pads: [k >> 1, k >> 1, k >> 1, k >> 1], dilation: [1, 1], group: 1,
      weight: b.param([cout, cin, k, k], r.array(cout * cin * k * k, -scale / Math.sqrt(cin * k * k), scale / Math.sqrt(cin * k * k)), `${name}.w`),
      bias: b.param([cout], r.array(cout, -0.3, 0.3), `${name}.b`),
    }, name);
  const r6 = b.node('clip', [conv('x', 4, 8, 3, 1, 'conv1')], { min: 0, max: 6 }, 'relu6');
  const ca = b.node('slicechannels', [r6], { start: 0, count: 4 }, 'chunk_a');
  const cb = b.node('slicechannels', [r6], { start: 4, count: 4 }, 'chunk_b');
  const hs = b.node('hardswish', [conv(cb, 4, 4, 1, 1, 'branch', 12)], {}, 'hswish'); // wide enough for all three pieces
  const cat = b.node('concat', [ca, hs], { axis: 1 }, 'concat');
  const groups = b.node('reshape', [cat], { shape: [0, 2, 4, 9, 9] }, 'groups');
  const tr = b.node('transpose', [groups], { perm: [0, 2, 1, 3, 4] }, 'shuffle');
  const sh = b.node('reshape', [tr], { shape: [0, 8, 9, 9] }, 'shuffled');
  const sq = b.node('reducemean', [sh], { axes: [2, 3], keepdims: true }, 'squeeze');
  const el = b.node('elu', [conv(sq, 8, 4, 1, 1, 'excite1')], { alpha: 1 }, 'elu');
  const gate = b.node('hardsigmoid', [conv(el, 4, 8, 1, 1, 'excite2')], { alpha: 2, beta: 0.5 }, 'gate'); // steep: some gates saturate
  const se = b.node('mul', [gate, sh], {}, 'se');
  const cm = b.node('reducemean', [se], { axes: [1], keepdims: true }, 'channel_mean');
  const ad = b.node('add', [se, cm], {}, 'add_mean');
  const c3 = conv(ad, 8, 6, 3, 2, 'conv3');
  const silu = b.node('mul', [c3, b.node('sigmoid', [c3], {}, 'sigmoid')], {}, 'silu');
  const cl = b.node('clip', [b.node('tanh', [silu], {}, 'tanh')], { min: -0.15, max: 0.25 }, 'clip');
  const pool = b.node('reducemean', [cl], { axes: [2, 3], keepdims: false }, 'pool');
  b.node('fc', [pool], { weight: b.param([5, 6], r.array(30, -0.5, 0.5), 'fc.w'), bias: b.param([5], r.array(5, -0.3, 0.3), 'fc.b'), outFeatures: 5 }, 'logits');
  return b.build(['logits'], 'mobile-ops-net');
}

/** The smallest distance of a clamp's, HardSigmoid's or HardSwish's input to one of its kinks (in input units). */
function mobileKinkMargin(g: Graph, values: Map<string, R.RefTensor>): number {
  let m = Infinity;
  for (const n of g.nodes) {
    const x = values.get(n.inputs[0]!)!.data;
    const kinks = n.op === 'clip' ? [n.attrs.min, n.attrs.max] : n.op === 'hardsigmoid' ? [-n.attrs.beta / n.attrs.alpha, (1 - n.attrs.beta) / n.attrs.alpha] : n.op === 'hardswish' ? [-3, 3] : [];
    for (const k of kinks.filter(Number.isFinite)) for (const v of x) m = Math.min(m, Math.abs(v - k));
  }
  return m;
}

describe('whole-network gradient of a small random net of the mobile-family ops equals finite differences', function () {
  const g = mobileNet();
  const N = 2;
  const EPS = 1e-4;
  const MARGIN = 3e-4;
  const per = 4 * 9 * 9;
  let x: Float32Array;
  let values: Map<string, R.RefTensor>;
  let model: Model;
  let seed: Float32Array;

  before(async () => {
    // the first input seed whose forward pass stays MARGIN away from every kink
    const all = g.nodes.map((n) => n.outputs[0]!);
    let s = 1;
    for (; s < 500; s++) {
      x = rng(s).array(N * per);
      values = R.runGraphReference(g, x, N, all);
      values.set('x', R.tensor([N, 4, 9, 9], x));
      if (mobileKinkMargin(g, values) > MARGIN) break;
    }
    expect(s, 'no input seed keeps clear of the kinks').to.be.below(500);
    figures.push(`mobile-ops net: input seed ${s}, kink margin ${mobileKinkMargin(g, values).toExponential(2)}`);
    seed = new Float32Array(N * 5);
    seed[1] = 1;
    seed[5 + 3] = 1;
    model = new Model(await getEngine(), g);
  });
  after(() => model?.destroy());

  it('the net exercises every piece: ReLU6 zeros, HardSwish on all three pieces, saturated and open gates, clipped tanh', () => {
    const has = (v: string, f: (u: number) => boolean) => values.get(v)!.data.some(f);
    expect(has('relu6', (u) => u === 0) && has('relu6', (u) => u > 0), 'ReLU6').to.equal(true);
    const hsIn = values.get('branch')!.data;
    expect([hsIn.some((u) => u < -3), hsIn.some((u) => u > -3 && u < 3), hsIn.some((u) => u > 3)], 'HardSwish pieces').to.deep.equal([true, true, true]);
    expect([has('gate', (u) => u === 0 || u === 1), has('gate', (u) => u > 0 && u < 1)], 'gates').to.deep.equal([true, true]);
    expect([has('clip', (u) => u === -0.15), has('clip', (u) => u > -0.15 && u < 0.25), has('clip', (u) => u === 0.25)], 'clip').to.deep.equal([true, true, true]);
  });

  for (const v of ['x', 'relu6', 'shuffled']) {
    it(`at ${v === 'x' ? 'the input' : `the ${v} output`}`, async () => {
      const rec = await model.record(x, N, ['logits']);
      expect(maxDiff(rec.read.get('logits')!.data, values.get('logits')!.data)).to.be.below(1e-4 * maxAbs(values.get('logits')!.data));
      const rev = new Reverser(model);
      const got = (await rev.run(rec, 'logits', seed, [v], 'gradient')).get(v)!.data;
      rev.dispose();
      const t = values.get(v)!;
      const sub = v === 'x' ? g : downstream(g, v, t.shape);
      const f = (u: Float64Array) => R.runGraphReference(sub, u, 1, ['logits']).get('logits')!.data;
      const tp = t.data.length / N;
      const g1 = new Float64Array(t.data.length), g2 = new Float64Array(t.data.length);
      for (let n = 0; n < N; n++) {
        const u = t.data.slice(n * tp, (n + 1) * tp);
        const r = seed.subarray(n * 5, (n + 1) * 5);
        g1.set(B.finiteDiff(f, u, r, EPS), n * tp);
        g2.set(B.finiteDiff(f, u, r, EPS / 2), n * tp);
      }
      const stab = relErr(g1, g2, `FD at ${v}`);
      expect(stab, `FD at ${v}: eps vs eps/2`).to.be.below(1e-6);
      const err = relErr(got, g1, `gradient at ${v}`);
      figures.push(`mobile-ops net gradient at ${v}: |gpu−fd|/max = ${err.toExponential(2)}, FD eps vs eps/2 ${stab.toExponential(2)}, max|grad| ${maxAbs(g1).toPrecision(3)}`);
      expect(err, `max |gpu − FD| / max |FD| at ${v}`).to.be.at.most(1e-3);
      for (let n = 0; n < N; n++) expect(maxAbs(got.subarray(n * tp, (n + 1) * tp)), `image ${n}`).to.be.above(0);
    });
  }

  it('DeconvNet and guided backprop go through it too, and ReLU6\'s rules change the signal', async () => {
    const rec = await model.record(x, N);
    const rev = new Reverser(model);
    const grad = (await rev.run(rec, 'logits', seed, ['x', 'relu6'], 'gradient'));
    for (const rule of ['deconvnet', 'guided'] as const) {
      const res = await rev.run(rec, 'logits', seed, ['x', 'relu6'], rule);
      const sx = res.get('x')!.data;
      expect(sx.every(Number.isFinite), `${rule}: finite`).to.equal(true);
      expect(maxAbs(sx), `${rule}: non-zero`).to.be.above(0);
      // above ReLU6 the rules agree with the gradient (nothing there is a rectifier); below, they differ
      expect(maxDiff(res.get('relu6')!.data, grad.get('relu6')!.data), `${rule} at relu6`).to.equal(0);
      expect(relErr(sx, grad.get('x')!.data, rule), `${rule} vs gradient at the input`).to.be.above(0.05);
    }
    rev.dispose();
  });
});

// ---- 2. SqueezeNet: DeconvNet and guided backprop against a float64 CPU walk ---------------------

describe('SqueezeNet v1.0: DeconvNet and guided backprop equal a float64 CPU walk', function () {
  const FILE = 'images/caffe/cat.jpg';
  let g: Graph;
  let model: Model;
  let x: Float32Array;
  let fwd: CpuForward;

  before(async () => {
    g = loadOnnx(new Uint8Array(readFileSync(join(DATA, SQZ))), 'squeezenet.onnx');
    model = new Model(await getEngine(), g);
    x = photo(FILE);
    const t0 = performance.now();
    fwd = cpuForward(g, x, 1);
    figures.push(`SqueezeNet CPU float64 forward: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });
  after(() => model?.destroy());

  /** Every value the walks pass through where the GPU and the CPU can be compared layer by layer. */
  const checkpoints = () => g.nodes.filter((n) => n.op === 'concat' || n.op === 'maxpool' || n.name === '/Relu').map((n) => n.outputs[0]!);

  /**
   * The GPU's signal at the input and at every checkpoint, against the CPU walk: returns the
   * input's relative error, and a per-layer account (first layer over the tolerance, going down).
   */
  async function compare(rule: ReverseRule, from: string, gpuSeed: Float32Array, cpuSeed: R.RefTensor, explainerSignal: Float32Array): Promise<number> {
    const t0 = performance.now();
    const cpu = cpuReverse(g, fwd, from, cpuSeed, rule);
    const tCpu = (performance.now() - t0) / 1000;
    const rec = await model.record(x, 1);
    const rev = new Reverser(model);
    const cps = checkpoints().filter((v) => g.nodes.findIndex((n) => n.outputs.includes(v)) < g.nodes.findIndex((n) => n.outputs.includes(from)));
    const res = await rev.run(rec, from, gpuSeed, [g.input.name, ...cps], rule);
    rev.dispose();
    const lines = [...cps].reverse().map((v) => `${v} ${relErr(res.get(v)!.data, cpu.get(v)!.data, v).toExponential(2)}`);
    const err = relErr(res.get(g.input.name)!.data, cpu.get(g.input.name)!.data, 'input');
    // the explainer (whole pipeline: record, seed, walk) gives the same signal as the direct walk
    const viaExplainer = relErr(explainerSignal, cpu.get(g.input.name)!.data, 'explainer signal');
    figures.push(`SqueezeNet ${rule}: input |gpu−cpu|/max|cpu| = ${err.toExponential(2)} (explainer ${viaExplainer.toExponential(2)}; max|cpu| ${maxAbs(cpu.get(g.input.name)!.data).toPrecision(3)}; CPU walk ${tCpu.toFixed(1)} s); per layer, top down: ${lines.join(', ')}`);
    expect(err, `${rule}: max |gpu − cpu| / max |cpu| at the input; per layer: ${lines.join(', ')}`).to.be.at.most(1e-3);
    expect(viaExplainer, `${rule} via explainers/gradients.ts`).to.be.at.most(1e-3);
    return err;
  }

  it('the CPU forward agrees with the GPU (logits)', async () => {
    const out = (await model.run(x, 1, { outputs: ['logits'] })).get('logits')!.data;
    const want = fwd.values.get('logits')!.data;
    expect(maxDiff(out, want)).to.be.at.most(1e-4 * maxAbs(want));
  });

  it('guided backprop from the top class', async () => {
    const logits = fwd.values.get('logits')!.data;
    let top = 0;
    for (let k = 1; k < logits.length; k++) if (logits[k]! > logits[top]!) top = k;
    const gb = await guidedBackprop(model, x, 1);
    expect(gb.classes).to.deep.equal([top]);
    const seed = new Float32Array(logits.length);
    seed[top] = 1;
    await compare('guided', 'logits', seed, R.tensor([1, logits.length], seed), gb.signal.data);
  });

  it('DeconvNet from the strongest fire9 feature map', async () => {
    const a = fwd.values.get(FIRE9)!;
    const [, ch, h, w] = a.shape as [number, number, number, number];
    let best = 0;
    for (let i = 1; i < a.data.length; i++) if (a.data[i]! > a.data[best]!) best = i;
    const unit = Math.floor(best / (h * w));
    const d = await deconvnet(model, x, 1, { layer: FIRE9 });
    expect(d.units).to.deep.equal([unit]);
    // the CPU seed: that feature map of the CPU's own forward; the GPU's: of the GPU's
    const cpuSeed = R.tensor(a.shape);
    cpuSeed.data.set(a.data.subarray(unit * h * w, (unit + 1) * h * w), unit * h * w);
    const ga = (await model.run(x, 1, { outputs: [FIRE9] })).get(FIRE9)!.data;
    const gpuSeed = new Float32Array(ch * h * w);
    gpuSeed.set(ga.subarray(unit * h * w, (unit + 1) * h * w), unit * h * w);
    await compare('deconvnet', FIRE9, gpuSeed, cpuSeed, d.signal.data);
  });
});

// ---- 3 and 4. the explainers on a batch, and bad requests ------------------------------------------

describe('explainers on SqueezeNet', function () {
  let model: Model;
  let x8: Float32Array;
  before(async () => {
    model = new Model(await getEngine(), loadOnnx(new Uint8Array(readFileSync(join(DATA, SQZ))), 'squeezenet.onnx'));
    x8 = new Float32Array(8 * PER);
    PHOTOS.forEach((f, i) => x8.set(photo(f), i * PER));
  });
  after(() => model?.destroy());

  const one = (i: number) => x8.slice(i * PER, (i + 1) * PER);
  const mapErr = (batch: Float32Array, singles: Float32Array[], hw: number) => {
    let d = 0;
    let m = 0;
    singles.forEach((s, i) => {
      d = Math.max(d, maxDiff(batch.subarray(i * hw, (i + 1) * hw), s));
      m = Math.max(m, maxAbs(s));
    });
    expect(m, 'the single-image maps are all zero').to.be.above(0);
    return d / m;
  };

  it('saliency of a batch of 8 photos equals 8 single runs', async () => {
    const batch = await saliency(model, x8, 8);
    expect(batch.shape).to.deep.equal([8, 227, 227]);
    const singles = [];
    for (let i = 0; i < 8; i++) singles.push(await saliency(model, one(i), 1));
    expect(batch.classes).to.deep.equal(singles.map((s) => s.classes[0]));
    expect(new Set(batch.classes).size, 'the photos are of different classes').to.be.above(4);
    const err = mapErr(batch.maps, singles.map((s) => s.maps), 227 * 227);
    figures.push(`saliency batch 8 vs singles: max diff / max = ${err.toExponential(2)}; classes ${batch.classes.join(',')}`);
    expect(err).to.be.at.most(1e-5);
  });

  it('Grad-CAM (fire9) of a batch of 8 photos equals 8 single runs', async () => {
    const batch = await gradCam(model, x8, 8, [FIRE9]);
    const singles = [];
    for (let i = 0; i < 8; i++) singles.push(await gradCam(model, one(i), 1, [FIRE9]));
    expect(batch.classes).to.deep.equal(singles.map((s) => s.classes[0]));
    expect(batch.perLayer[0]!.size).to.deep.equal([13, 13]);
    const err = mapErr(batch.maps, singles.map((s) => s.maps), 227 * 227);
    figures.push(`Grad-CAM batch 8 vs singles: max diff / max = ${err.toExponential(2)}`);
    expect(err).to.be.at.most(1e-5);
  });

  describe('bad requests', () => {
    const x = () => one(0);
    it('an unknown layer: ArgumentError listing the layers', async () => {
      for (const p of [() => gradCam(model, x(), 1, ['/fire10/Concat']), () => deconvnet(model, x(), 1, { layer: '/fire10/Concat' })]) {
        const e = await rejection(p);
        expect(e).to.be.instanceOf(ArgumentError);
        expect(e.message).to.include('/fire10/Concat');
        expect(e.message).to.include('layers are:');
        for (const l of ['/conv1/Conv', '/Concat_7', '/conv_final/Conv', '/Softmax']) expect(e.message).to.include(l);
      }
    });
    it('a class out of range: ArgumentError', async () => {
      // (each call records a forward pass before it can check the class: keep them few)
      const calls: (() => Promise<unknown>)[] = [1000, -1, 2.5].map((c) => () => saliency(model, x(), 1, { classes: [c] }) as Promise<unknown>);
      calls.push(() => gradCam(model, x(), 1, [FIRE9], { classes: [1000] }), () => guidedBackprop(model, x(), 1, { classes: [1000] }));
      for (const p of calls) {
        const e = await rejection(p);
        expect(e).to.be.instanceOf(ArgumentError);
        expect(e.message).to.match(/out of range/);
        expect(e.message).to.include('1000 classes');
      }
    });
    it('DeconvNet / Grad-CAM on a value that is not a 4-D feature map: ArgumentError', async () => {
      for (const p of [() => deconvnet(model, x(), 1, { layer: 'logits' }), () => gradCam(model, x(), 1, ['logits']), () => gradCam(model, x(), 1, ['/Flatten'])]) {
        const e = await rejection(p);
        expect(e).to.be.instanceOf(ArgumentError);
        expect(e.message).to.match(/feature map/);
      }
      // a layer after the logits cannot be reached going back from them
      const e = await rejection(() => gradCam(model, x(), 1, ['prob']));
      expect(e).to.be.instanceOf(ArgumentError);
      // a feature map that does not exist in the layer
      const u = await rejection(() => deconvnet(model, x(), 1, { layer: FIRE9, unit: 512 }));
      expect(u).to.be.instanceOf(ArgumentError);
      expect(u.message).to.include('512 feature maps');
    });
  });
});

// Regressions of two bugs this spec found.
describe('regressions', () => {
  // Add(c, c) must get 2·dy (a value read twice by one node).
  it('Add with the same input twice: the gradient counts both terms', async () => {
    const r = rng(5);
    const b = new GraphBuilder([1, 2, 5, 5], 'x');
    const c = b.node('conv', ['x'], { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], group: 1, weight: b.param([3, 2, 3, 3], r) }, 'conv');
    const f = b.node('flatten', [b.node('add', [c, c], {}, 'double')], { axis: 1 }, 'flat');
    b.node('fc', [f], { weight: b.param([4, 75], r), outFeatures: 4 }, 'scores');
    const g = b.build(['scores'], 'add-twice');
    const m = new Model(await getEngine(), g);
    try {
      const x = r.array(50);
      const seed = new Float32Array([0, 1, 0, 0]);
      const got = (await new Reverser(m).run(await m.record(x, 1), 'scores', seed, ['x'], 'gradient')).get('x')!.data;
      const want = B.finiteDiff((u) => R.runGraphReference(g, u, 1).get('scores')!.data, Float64Array.from(x), seed, 1e-4);
      expect(relErr(got, want, 'add twice')).to.be.at.most(1e-5);
    } finally {
      m.destroy();
    }
  });

  // explainers/gradients.ts pickClasses: `want?.[first + i] ?? want?.[0]` gives an image whose entry
  // is undefined the FIRST image's class instead of its own top-1 (Target.classes says
  // "undefined = the top-1 class of that image"); only a one-entry array should broadcast.
  it('Target.classes [k, undefined]: the second image gets its own top-1 class', async () => {
    const g = smallCnn();
    const m = new Model(await getEngine(), g);
    try {
      const x = rng(1).array(2 * 3 * 15 * 15);
      const top = (await saliency(m, x, 2)).classes;
      const k = (top[1]! + 1) % 6;
      expect((await saliency(m, x, 2, { classes: [k, undefined] })).classes).to.deep.equal([k, top[1]]);
    } finally {
      m.destroy();
    }
  });
});

// The fc input gradient's routes (engine/conv.ts, fcInputGrad): conv2d_gemm with the weights as
// its panel, the same in blocks of columns (weights over one storage binding: AlexNet's fc6 on
// lavapipe and in browsers), and fc_backward.wgsl for an input width that is not a multiple of 4;
// with and without subgroups; against the float64 product dyᵀ·W, batch sizes around the register
// block's 4 columns, output widths around its 16 (8) rows.
describe('fc input gradient: every route equals dy · W', () => {
  const cases = [
    { n: 1, inF: 40, outF: 7, colsMax: 0, gemmMinBatch: 3 }, // fc_backward.wgsl (one image)
    { n: 1, inF: 40, outF: 7, colsMax: 0, gemmMinBatch: 1 }, // conv2d_gemm, one column
    { n: 5, inF: 36, outF: 33, colsMax: 0, gemmMinBatch: 3 },
    { n: 3, inF: 37, outF: 9, colsMax: 0, gemmMinBatch: 3 }, // fc_backward.wgsl (37 columns)
    { n: 6, inF: 52, outF: 11, colsMax: 16, gemmMinBatch: 3 }, // columns in blocks of 16: 16, 16, 16, 4
    { n: 2, inF: 45, outF: 5, colsMax: 20, gemmMinBatch: 3 }, // blocks of 16 (colsMax rounded down to the block): 16, 16, 13
  ];
  const saved = { ...FC_GRAD };
  afterEach(async () => {
    Object.assign(FC_GRAD, saved);
    (await getEngine()).subgroups = true;
  });
  for (const sg of [true, false])
    for (const c of cases)
      it(`[${c.n}, ${c.inF}] → ${c.outF}${c.colsMax ? `, at most ${c.colsMax} columns a dispatch` : ''}${c.gemmMinBatch === 1 ? ', on conv2d_gemm' : ''}${sg ? '' : ', no subgroups'}`, async function () {
        const e = await getEngine();
        if (sg && !e.hasSubgroups) this.skip();
        e.subgroups = sg;
        FC_GRAD.colsMax = c.colsMax;
        FC_GRAD.gemmMinBatch = c.gemmMinBatch;
        const r = rng(c.n * 1000 + c.inF + c.outF);
        const b = new GraphBuilder([c.n, c.inF], 'x');
        const w = r.array(c.outF * c.inF);
        b.node('fc', ['x'], { weight: b.param([c.outF, c.inF], w), bias: b.param([c.outF], r), outFeatures: c.outF }, 'scores');
        const m = new Model(e, b.build(['scores'], 'fc-grad'));
        try {
          const seed = r.array(c.n * c.outF);
          const got = (await new Reverser(m).run(await m.record(r.array(c.n * c.inF), c.n), 'scores', seed, ['x'], 'gradient')).get('x')!.data;
          const want = B.fcInputGrad(R.tensor([c.n, c.outF], seed), w, [c.n, c.inF]).data;
          expect(relErr(got, want, 'fc dx')).to.be.at.most(1e-5);
        } finally {
          m.destroy();
        }
      });
});

describe('a reverse pass through an op without a reverse rule', () => {
  it('fails with UnsupportedOpError naming the layer', async () => {
    const r = rng(3);
    const b = new GraphBuilder([1, 3, 9, 9], 'img');
    const c = b.node('conv', ['img'], { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], group: 1, weight: b.param([4, 3, 3, 3], r), bias: b.param([4], r) }, 'conv');
    const s = b.node('prelu', [c], { slope: b.param([4], r) }, 'gate');
    const f = b.node('flatten', [s], { axis: 1 }, 'flat');
    b.node('fc', [f], { weight: b.param([5, 4 * 81], r), outFeatures: 5 }, 'scores');
    const model = new Model(await getEngine(), b.build(['scores'], 'prelu-net'));
    try {
      const x = r.array(3 * 81);
      for (const p of [() => saliency(model, x, 1), () => guidedBackprop(model, x, 1), () => gradCam(model, x, 1, ['conv'])]) {
        const e = await rejection(p);
        expect(e).to.be.instanceOf(UnsupportedOpError);
        expect(e.message).to.include('"gate"');
        expect(e.message).to.include('prelu');
      }
      // a walk that stops before the PReLU is fine
      const rec = await model.record(x, 1, ['scores']);
      const res = await new Reverser(model).run(rec, 'scores', new Float32Array([0, 1, 0, 0, 0]), ['gate'], 'gradient');
      expect(maxAbs(res.get('gate')!.data)).to.be.above(0);
    } finally {
      model.destroy();
    }
  });
});

