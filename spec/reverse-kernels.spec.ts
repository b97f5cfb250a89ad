// Reverse-pass kernels (engine/reverse-kernels.ts, kernels/reverse.ts): (a) every GPU kernel against
// its float64 CPU reference (spec/reverse-reference.ts, scatter form) on random odd shapes, strides
// 1–3, asymmetric pads, dilation, groups, ceil-mode overlapping pools with ties; (b) every CPU
// gradient reference against central finite differences of the forward reference (spec/reference.ts)
// of L = Σ forward(x) · r for random r.

import { expect } from 'chai';
import type { Dispatch, Engine } from '../engine/gpu.ts';
import type { Pads, PoolAttrs } from '../engine/ir.ts';
import * as K from '../kernels/index.ts';
import * as RK from '../engine/reverse-kernels.ts';
import { broadcastStrides, gather, reduce, stridesOf } from '../engine/ops/strided.ts';
import { numel } from '../engine/shapes.ts';
import * as R from './reference.ts';
import * as B from './reverse-reference.ts';
import { assertClose, closeEngine, getEngine, rng, type Rng } from './helpers.ts';

after(async () => {
  await closeEngine();
});

const GPU_TOL = { atol: 1e-7, rtol: 1e-4 };
const FD_TOL = { atol: 0, rtol: 1e-6 };
const SIZES = [5, 7, 9, 11, 13, 17];

type Data = Float32Array | Int32Array;
/** Uploads `ins`, makes outputs (NaN-filled, or initialised), runs `make`'s dispatches and reads the outputs back. */
async function onGpu(ins: Data[], outs: (number | Float32Array)[], make: (e: Engine, i: GPUBuffer[], o: GPUBuffer[]) => Dispatch[]): Promise<Float32Array[]> {
  const e = await getEngine();
  const ib = ins.map((d, k) => e.upload(d, `in${k}`));
  const ob = outs.map((o, k) => e.upload(typeof o === 'number' ? new Float32Array(o).fill(NaN) : o, `out${k}`));
  try {
    const res = await e.run(make(e, ib, ob), ob.map((buffer, k) => ({ buffer, bytes: 4 * (typeof outs[k] === 'number' ? (outs[k] as number) : (outs[k] as Float32Array).length) })));
    return res.map((ab) => new Float32Array(ab));
  } finally {
    for (const b of [...ib, ...ob]) e.release(b);
  }
}

const f32 = (t: R.RefTensor | Float64Array): Float32Array => Float32Array.from('data' in t ? t.data : t);
/** A random tensor with f32-representable values (so GPU and CPU see the same inputs). */
const rand = (r: Rng, shape: number[], lo = -1, hi = 1, levels?: number): R.RefTensor => R.tensor(shape, r.array(numel(shape), lo, hi, levels));
const gpuClose = (got: Float32Array, want: R.RefTensor, what: string) => assertClose({ shape: want.shape, data: got }, want, GPU_TOL, what);
const fdClose = (fd: Float64Array, want: R.RefTensor, what: string) => {
  let m = 0;
  for (const v of want.data) m = Math.max(m, Math.abs(v));
  expect(m, `${what}: the analytic gradient is all zero`).to.be.above(0);
  assertClose({ shape: want.shape, data: fd }, want, FD_TOL, what);
};
/** Distinct values in [-1, 1) with gaps far above the FD step (max pool without ties). */
function distinct(r: Rng, shape: number[]): R.RefTensor {
  const n = numel(shape);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = r.int(0, i);
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  return R.tensor(shape, Float32Array.from(perm, (p) => -1 + (2 * (p + 0.25 + 0.5 * r.next())) / n));
}
/** Values with |v| in [0.1, 1): away from ReLU's kink. */
const awayFromZero = (r: Rng, shape: number[]): R.RefTensor => R.tensor(shape, Float32Array.from({ length: numel(shape) }, () => (r.bool() ? 1 : -1) * r.uniform(0.1, 1)));

// ---- conv ------------------------------------------------------------------------------------

interface ConvCase {
  a: R.ConvParams;
  xShape: number[];
  cout: number;
}
function convCase(r: Rng, t: number): ConvCase {
  const kind = t % 4; // 0: plain, 1: groups 2, 2: depthwise, 3: depthwise with multiplier 2
  const group = kind === 0 ? 1 : kind === 1 ? 2 : r.int(2, 5);
  const cin = kind === 0 ? r.int(1, 5) : kind === 1 ? 2 * r.int(1, 3) : group;
  const cout = kind === 0 ? r.int(1, 5) : kind === 1 ? 2 * r.int(1, 3) : kind === 2 ? group : 2 * group;
  const kernel: [number, number] = [r.int(1, 4), r.int(1, 3)];
  const stride: [number, number] = [r.int(1, 3), r.int(1, 3)];
  const dilation: [number, number] = [r.pick([1, 2]), r.pick([1, 2])];
  const pads: Pads = [r.int(0, kernel[0]), r.int(0, kernel[1] - 1), r.int(0, kernel[0] - 1), r.int(0, kernel[1])];
  const xShape = [r.int(1, 3), cin, r.pick(SIZES), r.pick(SIZES)];
  return { a: { kernel, stride, pads, dilation, group }, xShape, cout };
}
const convOut = (c: ConvCase): number[] => {
  const [n, , h, w] = c.xShape as [number, number, number, number];
  const { kernel: k, stride: s, pads: p, dilation: d } = c.a;
  return [n, c.cout, Math.floor((h + p[0] + p[2] - d[0] * (k[0] - 1) - 1) / s[0]) + 1, Math.floor((w + p[1] + p[3] - d[1] * (k[1] - 1) - 1) / s[1]) + 1];
};

describe('reverse kernels: GPU vs float64 CPU reference', function () {
  this.timeout(120000);
  before(async () => {
    await getEngine();
  });

  describe('conv input, weight and bias gradients', () => {
    const r = rng(501);
    for (let t = 0; t < 10; t++) {
      const c = convCase(r, t);
      it(`${JSON.stringify(c.a)} x [${c.xShape}] → cout ${c.cout}`, async () => {
        const rr = rng(5000 + t);
        const yShape = convOut(c);
        const x = rand(rr, c.xShape);
        const w = rand(rr, [c.cout, c.xShape[1]! / c.a.group, ...c.a.kernel]);
        const dy = rand(rr, yShape);
        const [dx, dw, db] = await onGpu([f32(x), f32(w), f32(dy)], [numel(c.xShape), w.data.length, c.cout], (e, [xb, wb, dyb], [dxb, dwb, dbb]) => [
          RK.convInputGrad(e, c.a, c.xShape, yShape, dyb!, wb!, dxb!, 'conv-dx'),
          RK.convWeightGrad(e, c.a, c.xShape, yShape, xb!, dyb!, dwb!, 'conv-dw'),
          RK.biasGrad(e, yShape, dyb!, dbb!, 'conv-db'),
        ]);
        gpuClose(dx!, B.convInputGrad(dy, w.data, c.xShape, c.a), 'conv dx');
        gpuClose(dw!, B.convWeightGrad(x, dy, c.a), 'conv dW');
        gpuClose(db!, B.biasGrad(dy), 'conv db');
      });
    }
    it('AlexNet conv1-like: 11×11 stride 4, 4 × 3 × 31 × 29 input, 5 outputs', async () => {
      const c: ConvCase = { a: { kernel: [11, 11], stride: [4, 4], pads: [2, 1, 0, 3], dilation: [1, 1], group: 1 }, xShape: [2, 3, 31, 29], cout: 5 };
      const rr = rng(77);
      const yShape = convOut(c);
      const x = rand(rr, c.xShape), w = rand(rr, [5, 3, 11, 11]), dy = rand(rr, yShape);
      const [dx, dw] = await onGpu([f32(x), f32(w), f32(dy)], [numel(c.xShape), w.data.length], (e, [xb, wb, dyb], [dxb, dwb]) => [
        RK.convInputGrad(e, c.a, c.xShape, yShape, dyb!, wb!, dxb!, 'conv-dx'),
        RK.convWeightGrad(e, c.a, c.xShape, yShape, xb!, dyb!, dwb!, 'conv-dw'),
      ]);
      gpuClose(dx!, B.convInputGrad(dy, w.data, c.xShape, c.a), 'conv dx');
      gpuClose(dw!, B.convWeightGrad(x, dy, c.a), 'conv dW');
    });
    it('more than 65535 weights (workgroups folded into y) and a 70001-channel bias gradient', async () => {
      const c: ConvCase = { a: { kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], group: 1 }, xShape: [1, 241, 3, 1], cout: 277 };
      const rr = rng(78);
      const yShape = convOut(c);
      const x = rand(rr, c.xShape), dy = rand(rr, yShape), dy2 = rand(rr, [2, 70001, 1, 1]);
      const [dw, db] = await onGpu([f32(x), f32(dy), f32(dy2)], [277 * 241, 70001], (e, [xb, dyb, dy2b], [dwb, dbb]) => [
        RK.convWeightGrad(e, c.a, c.xShape, yShape, xb!, dyb!, dwb!, 'conv-dw'),
        RK.biasGrad(e, dy2.shape, dy2b!, dbb!, 'db'),
      ]);
      gpuClose(dw!, B.convWeightGrad(x, dy, c.a), 'conv dW');
      gpuClose(db!, B.biasGrad(dy2), 'db');
    });
  });

  describe('max-pool backward / unpooling by switches (switches from pool2d MAX+SWITCHES)', () => {
    const r = rng(601);
    const cases: { a: PoolAttrs; shape: number[] }[] = [
      { a: { kernel: [3, 3], stride: [2, 2], pads: [0, 0, 0, 0], ceil: true }, shape: [2, 3, 13, 13] }, // SqueezeNet / AlexNet
      { a: { kernel: [3, 3], stride: [2, 2], pads: [1, 0, 0, 1], ceil: true }, shape: [1, 2, 9, 11] },
      { a: { kernel: [2, 3], stride: [1, 2], pads: [0, 0, 3, 0], ceil: false }, shape: [1, 2, 5, 7] }, // windows entirely in the padding
    ];
    for (let t = 0; t < 6; t++) {
      const kernel: [number, number] = [r.int(2, 4), r.int(1, 4)];
      const stride: [number, number] = [r.int(1, 3), r.int(1, 3)];
      const pads: Pads = [r.int(0, kernel[0] - 1), r.int(0, kernel[1] - 1), r.int(0, kernel[0] - 1), r.int(0, kernel[1] - 1)];
      cases.push({ a: { kernel, stride, pads, ceil: r.bool() }, shape: [r.int(1, 2), r.int(1, 3), r.pick(SIZES), r.pick(SIZES)] });
    }
    cases.forEach(({ a, shape }, t) => {
      it(`${JSON.stringify(a)} on [${shape}] with ties`, async () => {
        const rr = rng(6000 + t);
        const x = rand(rr, shape, -1, 1, 3); // 3 levels: many ties
        const fwd = R.maxPool(x, a);
        const dy = rand(rr, fwd.shape);
        const n = fwd.data.length;
        const [sw, dx] = await onGpu([f32(x), f32(dy)], [n, numel(shape), n], (e, [xb, dyb], [sb, dxb, yb]) => [
          e.makeDispatch(K.pool2d, { defines: ['MAX', 'SWITCHES'], uniforms: poolUniformsOf(a, shape, fwd.shape), bindings: { x: xb!, y: yb!, switches: sb! }, threads: n, label: 'pool' }),
          RK.unpool(e, a, shape, fwd.shape, dyb!, sb!, dxb!, 'unpool'),
        ]);
        expect(Array.from(new Int32Array(sw!.buffer))).to.deep.equal(Array.from(fwd.switches));
        gpuClose(dx!, B.unpool(dy, fwd.switches, shape), 'unpool');
        if (t === 2) expect(Array.from(fwd.switches)).to.include(-1);
      });
    });
  });

  describe('average-pool backward', () => {
    const r = rng(701);
    for (let t = 0; t < 8; t++) {
      const kernel: [number, number] = [r.int(1, 4), r.int(2, 4)];
      const stride: [number, number] = [r.int(1, 3), r.int(1, 3)];
      const pads: Pads = [r.int(0, kernel[0] - 1), r.int(0, kernel[1] - 1), r.int(0, kernel[0] - 1), r.int(0, kernel[1] - 1)];
      const a: PoolAttrs = { kernel, stride, pads, ceil: t % 2 === 1, countIncludePad: t % 4 < 2 };
      const shape = [r.int(1, 2), r.int(1, 3), r.pick(SIZES), r.pick(SIZES)];
      it(`${JSON.stringify(a)} on [${shape}]`, async () => {
        const rr = rng(7000 + t);
        const yShape = R.avgPool(R.tensor(shape), a).shape;
        const dy = rand(rr, yShape);
        const [dx] = await onGpu([f32(dy)], [numel(shape)], (e, [dyb], [dxb]) => [RK.avgPoolGrad(e, a, shape, yShape, dyb!, dxb!, 'avgpool-dx')]);
        gpuClose(dx!, B.avgPoolGrad(dy, shape, a), 'avgpool dx');
      });
    }
    it('global average pool', async () => {
      const shape = [3, 5, 7, 9];
      const dy = rand(rng(71), [3, 5, 1, 1]);
      const [dx] = await onGpu([f32(dy)], [numel(shape)], (e, [dyb], [dxb]) => [RK.globalAvgPoolGrad(e, shape, dyb!, dxb!, 'gap-dx')]);
      gpuClose(dx!, B.globalAvgPoolGrad(dy, shape), 'global avgpool dx');
    });
  });

  describe('ReLU rules and leaky ReLU', () => {
    const shape = [2, 3, 7, 13];
    const r = rng(801);
    const x = rand(r, shape, -1, 1, 9); // exact zeros included
    const dy = rand(r, shape);
    const mask = R.reluMask(x);
    for (const rule of ['gradient', 'guided', 'deconv'] as const)
      for (const fromInput of rule === 'deconv' ? [false] : [false, true])
        it(`${rule}${fromInput ? ' (mask from the forward input)' : ''}`, async () => {
          const ref = fromInput ? x : mask;
          const [dx] = await onGpu([f32(dy), f32(ref)], [numel(shape)], (e, [dyb, mb], [dxb]) => [RK.reluBackward(e, rule, numel(shape), dyb!, mb, dxb!, `relu-${rule}`, fromInput)]);
          gpuClose(dx!, B.reluBackward(rule, dy, ref.data, fromInput), rule);
        });
    it('gradient with the mask recorded by relu MASK', async () => {
      const n = numel(shape);
      const [dx] = await onGpu([f32(x), f32(dy)], [n, n, n], (e, [xb, dyb], [dxb, yb, mb]) => [
        e.makeDispatch(K.relu, { defines: ['MASK'], uniforms: { total: n }, bindings: { x: xb!, y: yb!, mask: mb! }, threads: n, label: 'relu' }),
        RK.reluBackward(e, 'gradient', n, dyb!, mb!, dxb!, 'relu-grad'),
      ]);
      gpuClose(dx!, B.reluBackward('gradient', dy, mask.data), 'relu gradient');
    });
    it('leaky ReLU (alpha 0.1)', async () => {
      const [dx] = await onGpu([f32(dy), f32(x)], [numel(shape)], (e, [dyb, xb], [dxb]) => [RK.leakyReluGrad(e, 0.1, numel(shape), dyb!, xb!, dxb!, 'leaky')]);
      gpuClose(dx!, B.leakyReluGrad(dy, x.data, 0.1), 'leaky relu');
    });
  });

  describe('LRN backward', () => {
    const cases = [
      { shape: [2, 7, 5, 3], size: 5, alpha: 0.5, beta: 0.75, bias: 1 },
      { shape: [1, 13, 3, 5], size: 3, alpha: 1e-4, beta: 0.75, bias: 1 }, // Caffe AlexNet constants
      { shape: [2, 5, 1, 7], size: 4, alpha: 2, beta: 0.6, bias: 2 }, // even size: asymmetric window
      { shape: [1, 3, 2, 3], size: 7, alpha: 1, beta: 1.2, bias: 1.5 }, // window wider than C
    ];
    cases.forEach((c, t) =>
      it(`${JSON.stringify(c)}`, async () => {
        const rr = rng(8100 + t);
        const x = rand(rr, c.shape, -2, 2), dy = rand(rr, c.shape);
        const [dx] = await onGpu([f32(x), f32(dy)], [numel(c.shape)], (e, [xb, dyb], [dxb]) => [RK.lrnGrad(e, c, c.shape, xb!, dyb!, dxb!, 'lrn-dx')]);
        gpuClose(dx!, B.lrnGrad(x, dy, c.size, c.alpha, c.beta, c.bias), 'lrn dx');
      }),
    );
  });

  describe('concat split and accumulation', () => {
    it('split into three parts, then accumulate one slice twice (a value read by two consumers)', async () => {
      const rr = rng(901);
      const parts = [3, 1, 5];
      const dyShape = [3, 9, 5, 7];
      const dy = rand(rr, dyShape);
      const init = rand(rr, [3, 5, 5, 7]);
      const sizes = parts.map((c) => 3 * c * 35);
      const outs = await onGpu([f32(dy)], [...sizes, f32(init)], (e, [dyb], ob) => {
        let c0 = 0;
        const ds = parts.map((c, k) => {
          const d = RK.splitChannels(e, dyShape, [3, c, 5, 7], c0, dyb!, ob[k]!, `split${k}`);
          c0 += c;
          return d;
        });
        return [...ds, RK.splitChannels(e, dyShape, [3, 5, 5, 7], 4, dyb!, ob[3]!, 'acc', true), RK.splitChannels(e, dyShape, [3, 5, 5, 7], 2, dyb!, ob[3]!, 'acc2', true)];
      });
      let c0 = 0;
      parts.forEach((c, k) => {
        gpuClose(outs[k]!, B.splitChannels(dy, c0, c), `split ${k}`);
        c0 += c;
      });
      gpuClose(outs[3]!, B.splitChannels(dy, 2, 5, B.splitChannels(dy, 4, 5, init)), 'split accumulate');
    });
    it('addInto (binary ACC)', async () => {
      const rr = rng(902);
      const a = rand(rr, [1001]), y = rand(rr, [1001]);
      const [got] = await onGpu([f32(a)], [f32(y)], (e, [ab], [yb]) => [RK.addInto(e, 1001, ab!, yb!, 'add')]);
      gpuClose(got!, R.add([a, y]), 'addInto');
    });
  });

  describe('FC backward', () => {
    const cases = [
      { xShape: [3, 5, 3, 1], outF: 7 },
      { xShape: [1, 130], outF: 3 },
      { xShape: [5, 17], outF: 69 },
    ];
    cases.forEach((c, t) =>
      it(`x [${c.xShape}] → ${c.outF}`, async () => {
        const rr = rng(9100 + t);
        const n = c.xShape[0]!, inF = numel(c.xShape.slice(1));
        const x = rand(rr, c.xShape), w = rand(rr, [c.outF, inF]), dy = rand(rr, [n, c.outF]);
        const [dx, dw, db] = await onGpu([f32(x), f32(w), f32(dy)], [n * inF, c.outF * inF, c.outF], (e, [xb, wb, dyb], [dxb, dwb, dbb]) => [
          RK.fcInputGrad(e, n, inF, c.outF, dyb!, wb!, dxb!, 'fc-dx'),
          RK.fcWeightGrad(e, n, inF, c.outF, dyb!, xb!, dwb!, 'fc-dw'),
          RK.fcBiasGrad(e, n, c.outF, dyb!, dbb!, 'fc-db'),
        ]);
        gpuClose(dx!, B.fcInputGrad(dy, w.data, c.xShape), 'fc dx');
        gpuClose(dw!, B.fcWeightGrad(x, dy), 'fc dW');
        gpuClose(db!, B.biasGrad(dy), 'fc db');
      }),
    );
  });

  describe('softmax backward', () => {
    for (const shape of [[3, 11], [2, 7, 5], [1, 1000]])
      for (const log of [false, true])
        it(`${log ? 'log-' : ''}softmax over axis 1 of [${shape}]`, async () => {
          const rr = rng(numel(shape) + (log ? 1 : 0));
          const y = R.softmax(rand(rr, shape, -3, 3), 1, log);
          const dy = rand(rr, shape);
          const [dx] = await onGpu([f32(y), f32(dy)], [numel(shape)], (e, [yb, dyb], [dxb]) => [RK.softmaxGrad(e, shape, 1, yb!, dyb!, dxb!, 'softmax-dx', log)]);
          // the reference from the f32-rounded y the GPU saw
          gpuClose(dx!, B.softmaxGrad(R.tensor(shape, f32(y)), dy, log), 'softmax dx');
        });
  });

  describe('bilinear resize backward', () => {
    const cases: [number, number, number, number][] = [
      [5, 7, 11, 17], // up, non-integer scale
      [7, 5, 21, 15], // up ×3
      [13, 17, 5, 7], // down
      [9, 5, 9, 13], // same height
      [1, 5, 7, 1], // single row in, single column out
      [5, 3, 40, 24], // up ×8
      [17, 13, 2, 3],
    ];
    cases.forEach(([h, w, oh, ow], t) =>
      [false, true].forEach((ac) =>
        it(`${h}×${w} → ${oh}×${ow}${ac ? ' alignCorners' : ''}`, async () => {
          const shape = [2, 3, h, w], yShape = [2, 3, oh, ow];
          const dy = rand(rng(9500 + t), yShape);
          const [dx] = await onGpu([f32(dy)], [numel(shape)], (e, [dyb], [dxb]) => [RK.resizeBilinearGrad(e, shape, yShape, ac, dyb!, dxb!, 'resize-dx')]);
          gpuClose(dx!, B.resizeBilinearGrad(dy, shape, ac), 'resize dx');
        }),
      ),
    );
  });
});

describe('reverse kernels of the mobile-family ops and the smooth activations: GPU vs float64 CPU reference', function () {
  this.timeout(120000);
  before(async () => {
    await getEngine();
  });
  const F6 = Math.fround(1 / 6);
  /** values in [lo, hi) (f32), with every kink among them exactly */
  const withKinks = (r: Rng, shape: number[], lo: number, hi: number, kinks: number[]): R.RefTensor => {
    const t = rand(r, shape, lo, hi);
    kinks.forEach((k, i) => (t.data[(i * 7919) % t.data.length] = k));
    return t;
  };
  /** clamp's recorded pattern in the reference's terms: 1 strictly inside, 2 at hi, 0 at lo */
  const patternOf = (x: R.RefTensor, a: number, b: number, lo: number, hi: number) =>
    Int32Array.from(x.data, (v) => {
      const t = Math.fround(Math.fround(a * v) + b);
      const y = Math.min(Math.max(t, lo), hi);
      return lo < t && t < hi ? 1 : y === hi ? 2 : 0;
    });

  describe('clamp (Clip, HardSigmoid): the pattern a recording writes, its frozen replay and the reverse rules from it', () => {
    const cases = [
      { name: 'ReLU6', a: 1, b: 0, lo: 0, hi: 6, range: [-8, 8], kinks: [0, 6, -0] },
      { name: 'clip(-1.5, 2.25)', a: 1, b: 0, lo: -1.5, hi: 2.25, range: [-3, 3], kinks: [-1.5, 2.25] },
      { name: 'HardSigmoid 1/6, 1/2', a: F6, b: 0.5, lo: 0, hi: 1, range: [-5, 5], kinks: [-3, 3] },
      { name: 'HardSigmoid 0.2, 0.5', a: 0.2, b: 0.5, lo: 0, hi: 1, range: [-4, 4], kinks: [-2.5, 2.5] },
    ];
    for (const [t, c] of cases.entries())
      it(c.name, async () => {
        const shape = [2, 3, 7, 13];
        const n = numel(shape), per = n / 2;
        const rr = rng(8300 + t);
        const x = withKinks(rr, shape, c.range[0]!, c.range[1]!, c.kinks);
        const x2 = rand(rr, shape, c.range[0]!, c.range[1]!); // a batch replayed through image 0's pattern
        const dy = rand(rr, shape);
        const [y, pat, frozen, frozen0, dx, dxg] = await onGpu([f32(x), f32(x2), f32(dy)], [n, n, n, n, n, n], (e, [xb, x2b, dyb], [yb, pb, fb, f0b, dxb, dxgb]) => [
          e.makeDispatch(K.clamp, { defines: ['PATTERN'], uniforms: { total: n, a: c.a, b: c.b, lo: c.lo, hi: c.hi }, bindings: { x: xb!, y: yb!, pattern: pb! }, threads: n, label: 'clamp' }),
          e.makeDispatch(K.clamp, { defines: ['FROZEN'], uniforms: { total: n, a: c.a, b: c.b, lo: c.lo, hi: c.hi, per }, bindings: { x: x2b!, pattern: pb!, y: fb! }, threads: n, label: 'frozen' }),
          e.makeDispatch(K.clamp, { defines: ['FROZEN'], uniforms: { total: n, a: c.a, b: 0, lo: 0, hi: 0, per }, bindings: { x: x2b!, pattern: pb!, y: f0b! }, threads: n, label: 'frozen, no biases' }),
          RK.clampGrad(e, c.a, false, n, dyb!, pb!, dxb!, 'clamp-grad'),
          RK.clampGrad(e, c.a, true, n, dyb!, pb!, dxgb!, 'clamp-guided'),
        ]);
        const want = c.b === 0 && c.a === 1 ? R.clip(x, c.lo, c.hi) : R.hardSigmoid(x, c.a, c.b);
        gpuClose(y!, want, `${c.name} forward`);
        const p = patternOf(x, c.a, c.b, c.lo, c.hi);
        const got = new Uint32Array(pat!.buffer);
        for (let i = 0; i < n; i++) if (got[i] !== p[i]) throw new Error(`${c.name}: pattern ${i} (x = ${x.data[i]}): gpu ${got[i]} vs ${p[i]}`);
        for (const k of c.kinks) expect(p[x.data.indexOf(k)], `${c.name}: the kink at x = ${k} is not inside`).to.not.equal(1);
        // frozen: image 0's pattern for both images
        const rep = (bias: boolean) => R.tensor(shape, Float64Array.from(x2.data, (v, i) => {
          const q = p[i % per]!;
          return q === 1 ? Math.fround(c.a * v) + (bias ? c.b : 0) : bias ? (q === 2 ? c.hi : c.lo) : 0;
        }));
        gpuClose(frozen!, rep(true), `${c.name} frozen`);
        gpuClose(frozen0!, rep(false), `${c.name} frozen without biases`);
        // the gradient rule; guided: a·max(dy, 0) inside
        const inside = Float64Array.from(p, (q) => (q === 1 ? 1 : 0));
        gpuClose(dx!, R.tensor(shape, Float64Array.from(dy.data, (g, i) => c.a * g * inside[i]!)), `${c.name} gradient`);
        gpuClose(dxg!, R.tensor(shape, Float64Array.from(dy.data, (g, i) => c.a * Math.max(g, 0) * inside[i]!)), `${c.name} guided`);
        if (c.a === 1) {
          gpuClose(dx!, B.clipBackward('gradient', dy, x.data, c.lo, c.hi), `${c.name} gradient vs clipBackward`);
          if (c.lo === 0) gpuClose(dxg!, B.clipBackward('guided', dy, x.data, c.lo, c.hi), `${c.name} guided vs clipBackward`);
        } else gpuClose(dx!, B.hardSigmoidGrad(dy, x.data, c.a, c.b), `${c.name} gradient vs hardSigmoidGrad`);
      });
    it('ReLU6 DeconvNet: relu_backward DECONV ignores the pattern', async () => {
      const shape = [3, 17];
      const rr = rng(8310);
      const x = rand(rr, shape, -8, 8), dy = rand(rr, shape);
      const [dx] = await onGpu([f32(dy)], [numel(shape)], (e, [dyb], [dxb]) => [RK.reluBackward(e, 'deconv', numel(shape), dyb!, undefined, dxb!, 'relu6-deconv')]);
      gpuClose(dx!, B.clipBackward('deconv', dy, x.data, 0, 6), 'ReLU6 deconvnet');
    });
  });

  describe('unary_backward: ELU, sigmoid, tanh, HardSwish', () => {
    const shape = [2, 5, 7, 3];
    const cases = [
      { op: 'elu', alpha: 1, range: [-6, 3], kinks: [0], from: 'x', want: (dy: R.RefTensor, x: R.RefTensor) => B.eluGrad(dy, x.data, 1) },
      { op: 'elu', alpha: 0.5, range: [-6, 3], kinks: [0], from: 'x', want: (dy: R.RefTensor, x: R.RefTensor) => B.eluGrad(dy, x.data, 0.5) },
      { op: 'sigmoid', alpha: 0, range: [-20, 20], kinks: [], from: 'y', want: (dy: R.RefTensor, x: R.RefTensor) => B.sigmoidGrad(dy, f32(R.sigmoid(x))) },
      { op: 'tanh', alpha: 0, range: [-6, 6], kinks: [], from: 'y', want: (dy: R.RefTensor, x: R.RefTensor) => B.tanhGrad(dy, f32(R.tanh(x))) },
      { op: 'hardswish', alpha: 0, range: [-5, 5], kinks: [-3, 3], from: 'x', want: (dy: R.RefTensor, x: R.RefTensor) => B.hardSwishGrad(dy, x.data) },
    ] as const;
    for (const [t, c] of cases.entries())
      it(`${c.op}${c.alpha ? ` alpha ${c.alpha}` : ''} (from the forward ${c.from === 'x' ? 'input' : 'output'}${c.kinks.length ? ', the kinks included' : ''})`, async () => {
        const rr = rng(8400 + t);
        const x = withKinks(rr, shape, c.range[0], c.range[1], [...c.kinks]);
        const dy = rand(rr, shape);
        const n = numel(shape);
        // v: the forward input, or the output the forward kernel computes
        const [dx] = await onGpu([f32(x), f32(dy)], [n, n], (e, [xb, dyb], [dxb, yb]) => [
          e.makeDispatch(K.unary, { uniforms: { total: n, op: K.UNARY_OP[c.op], alpha: c.alpha }, bindings: { x: xb!, y: yb! }, threads: n, label: c.op }),
          RK.unaryGrad(e, c.op, c.alpha, n, dyb!, c.from === 'x' ? xb! : yb!, dxb!, `${c.op}-grad`),
        ]);
        assertClose({ shape, data: dx! }, c.want(dy, x), { atol: 1e-6, rtol: 1e-5 }, `${c.op} dx`);
      });
  });

  it('split_channels PAD (the reverse of a channel slice), ranks 2 to 5', async () => {
    const cases = [
      { x: [2, 7, 5, 3], c0: 3, cy: 4 },
      { x: [3, 17], c0: 0, cy: 5 },
      { x: [2, 6, 1, 3, 5], c0: 2, cy: 3 },
      { x: [1, 5, 3], c0: 0, cy: 5 },
    ];
    for (const [t, c] of cases.entries()) {
      const dyShape = [c.x[0]!, c.cy, ...c.x.slice(2)];
      const dy = rand(rng(8500 + t), dyShape);
      const [dx] = await onGpu([f32(dy)], [numel(c.x)], (e, [dyb], [dxb]) => [RK.padChannels(e, dyShape, c.x, c.c0, dyb!, dxb!, 'pad-channels')]);
      gpuClose(dx!, B.sliceChannelsGrad(dy, c.x, c.c0), `pad channels ${JSON.stringify(c)}`);
    }
  });

  it('transpose by the inverse permutation (strided), ranks 2 to 6', async () => {
    const rr = rng(8600);
    const cases: { x: number[]; perm: number[] }[] = [{ x: [2, 2, 3, 5, 7], perm: [0, 2, 1, 3, 4] }, { x: [2, 5, 7, 3], perm: [0, 3, 1, 2] }];
    for (let t = 0; t < 5; t++) {
      const rank = 2 + t;
      const rest = Array.from({ length: rank - 1 }, (_, k) => k + 1);
      for (let k = rest.length - 1; k > 0; k--) {
        const j = rr.int(0, k);
        [rest[k], rest[j]] = [rest[j]!, rest[k]!];
      }
      cases.push({ x: [rr.int(1, 2), ...Array.from({ length: rank - 1 }, () => rr.pick([1, 2, 3, 5]))], perm: [0, ...rest] });
    }
    for (const c of cases) {
      const yShape = c.perm.map((p) => c.x[p]!);
      const dy = rand(rr, yShape);
      const inv = new Array<number>(c.perm.length);
      c.perm.forEach((p, d) => (inv[p] = d));
      const ys = stridesOf(yShape);
      const [dx] = await onGpu([f32(dy)], [numel(c.x)], (e, [dyb], [dxb]) => [gather(e, c.x, { buf: dyb!, strides: inv.map((d) => ys[d]!) }, dxb!, 'transpose-dx')]);
      gpuClose(dx!, B.transposeGrad(dy, c.x, c.perm), `transpose dx ${JSON.stringify(c)}`);
    }
  });

  describe('broadcast add / mul: each operand\'s signal summed over its broadcast axes (strided), size-1 axes anywhere', () => {
    const cases: [number[], number[]][] = [
      [[2, 5, 1, 1], [2, 5, 7, 9]], // the SE gate
      [[2, 5, 7, 9], [2, 5, 7, 9]],
      [[2, 1, 7, 1], [2, 5, 7, 3]],
      [[2, 1, 7, 3], [2, 5, 1, 1]], // both broadcast
      [[3, 1], [3, 17]],
      [[1, 3, 1, 5, 1], [1, 1, 2, 5, 3]],
      [[2, 1, 1, 1, 1, 3], [2, 2, 3, 1, 2, 1]],
    ];
    for (const [t, [as, bs]] of cases.entries())
      for (const op of ['add', 'mul'] as const)
        it(`${op} [${as}] with [${bs}]`, async () => {
          const rr = rng(8700 + t);
          const a = rand(rr, as), b = rand(rr, bs);
          const out = R.broadcastShapeOf(as, bs);
          const dy = rand(rr, out);
          const want = B.broadcastBinaryGrad(a, b, dy, op);
          const os = stridesOf(out);
          const [da, db] = await onGpu([f32(a), f32(b), f32(dy)], [numel(as), numel(bs)], (e, [ab, bb, dyb], [dab, dbb]) => [
            reduce(e, out, as, { buf: dyb!, strides: os }, dab!, 'da', op === 'mul' ? { b: { buf: bb!, strides: broadcastStrides(bs, out) } } : {}),
            reduce(e, out, bs, { buf: dyb!, strides: os }, dbb!, 'db', op === 'mul' ? { b: { buf: ab!, strides: broadcastStrides(as, out) } } : {}),
          ]);
          gpuClose(da!, want.da, `${op} da`);
          gpuClose(db!, want.db, `${op} db`);
        });
  });

  it('reducemean\'s reverse: dy / count spread over the reduced axes (strided with zero strides)', async () => {
    const cases: { x: number[]; axes: number[] }[] = [
      { x: [2, 5, 7, 3], axes: [2, 3] },
      { x: [2, 5, 7, 3], axes: [1, 3] },
      { x: [3, 17], axes: [1] },
      { x: [3, 1, 5, 2, 3], axes: [1, 2, 4] },
    ];
    for (const [t, c] of cases.entries()) {
      const kept = c.x.map((d, k) => (c.axes.includes(k) ? 1 : d));
      const dy = rand(rng(8800 + t), kept);
      const ks = stridesOf(kept);
      const [dx] = await onGpu([f32(dy)], [numel(c.x)], (e, [dyb], [dxb]) => [gather(e, c.x, { buf: dyb!, strides: kept.map((d, k) => (d === 1 ? 0 : ks[k]!)) }, dxb!, 'reducemean-dx', { scale: numel(kept) / numel(c.x) })]);
      gpuClose(dx!, B.reduceMeanGrad(dy, c.x, c.axes), `reducemean dx ${JSON.stringify(c)}`);
    }
  });
});

// Same uniforms as ops.ts poolUniforms (which the forward uses); restated so this spec does not import the lowering.
function poolUniformsOf(a: PoolAttrs, x: number[], y: number[]) {
  const h = x[2]!, w = x[3]!;
  return {
    total: numel(y), h, w, oh: y[2]!, ow: y[3]!, kh: a.kernel[0], kw: a.kernel[1], sh: a.stride[0], sw: a.stride[1],
    pt: a.pads[0], pl: a.pads[1], hEnd: h + a.pads[2], wEnd: w + a.pads[3], countPad: a.countIncludePad ? 1 : 0,
  };
}

describe('reverse CPU references vs central finite differences (float64)', () => {
  const fd = B.finiteDiff;

  describe('conv', () => {
    const r = rng(1501);
    for (let t = 0; t < 6; t++) {
      const c = convCase(r, t);
      c.xShape[0] = Math.min(c.xShape[0]!, 2);
      c.xShape[2] = Math.min(c.xShape[2]!, 9);
      c.xShape[3] = Math.min(c.xShape[3]!, 9);
      it(`${JSON.stringify(c.a)} x [${c.xShape}] → cout ${c.cout}`, () => {
        const rr = rng(15000 + t);
        const x = rand(rr, c.xShape);
        const w = rand(rr, [c.cout, c.xShape[1]! / c.a.group, ...c.a.kernel]);
        const bias = rand(rr, [c.cout]);
        const yShape = convOut(c);
        const dy = rand(rr, yShape); // r of L = Σ conv(x) · r
        fdClose(fd((v) => R.conv2d(R.tensor(c.xShape, v), w.data, c.cout, c.a, bias.data).data, x.data, dy.data), B.convInputGrad(dy, w.data, c.xShape, c.a), 'conv dx');
        fdClose(fd((v) => R.conv2d(x, v, c.cout, c.a, bias.data).data, w.data, dy.data), B.convWeightGrad(x, dy, c.a), 'conv dW');
        fdClose(fd((v) => R.conv2d(x, w.data, c.cout, c.a, v).data, bias.data, dy.data), B.biasGrad(dy), 'conv db');
      });
    }
  });

  describe('max pool (distinct inputs: no ties)', () => {
    const r = rng(1601);
    const cases: { a: PoolAttrs; shape: number[] }[] = [{ a: { kernel: [3, 3], stride: [2, 2], pads: [0, 0, 0, 0], ceil: true }, shape: [2, 2, 9, 11] }];
    for (let t = 0; t < 4; t++) {
      const kernel: [number, number] = [r.int(2, 4), r.int(1, 3)];
      const stride: [number, number] = [r.int(1, 3), r.int(1, 3)];
      const pads: Pads = [r.int(0, kernel[0] - 1), r.int(0, kernel[1] - 1), r.int(0, kernel[0]), r.int(0, kernel[1])];
      cases.push({ a: { kernel, stride, pads, ceil: r.bool() }, shape: [r.int(1, 2), r.int(1, 2), r.pick([5, 7, 9]), r.pick([5, 7, 9])] });
    }
    cases.forEach(({ a, shape }, t) =>
      it(`${JSON.stringify(a)} on [${shape}]`, () => {
        const rr = rng(16000 + t);
        const x = distinct(rr, shape);
        const fwd = R.maxPool(x, a);
        const dy = rand(rr, fwd.shape);
        fdClose(fd((v) => R.maxPool(R.tensor(shape, v), a).data, x.data, dy.data), B.unpool(dy, fwd.switches, shape), 'maxpool dx');
      }),
    );
  });

  describe('average pool', () => {
    const r = rng(1701);
    for (let t = 0; t < 6; t++) {
      const kernel: [number, number] = [r.int(1, 4), r.int(2, 4)];
      const stride: [number, number] = [r.int(1, 3), r.int(1, 3)];
      const pads: Pads = [r.int(0, kernel[0] - 1), r.int(0, kernel[1] - 1), r.int(0, kernel[0] - 1), r.int(0, kernel[1] - 1)];
      const a: PoolAttrs = { kernel, stride, pads, ceil: t % 2 === 1, countIncludePad: t % 4 < 2 };
      const shape = [r.int(1, 2), r.int(1, 2), r.pick([5, 7, 9]), r.pick([5, 7, 9])];
      it(`${JSON.stringify(a)} on [${shape}]`, () => {
        const rr = rng(17000 + t);
        const x = rand(rr, shape);
        const y = R.avgPool(x, a);
        const dy = rand(rr, y.shape);
        fdClose(fd((v) => R.avgPool(R.tensor(shape, v), a).data, x.data, dy.data), B.avgPoolGrad(dy, shape, a), 'avgpool dx');
      });
    }
    it('global average pool', () => {
      const shape = [2, 3, 5, 7];
      const rr = rng(1777);
      const x = rand(rr, shape), dy = rand(rr, [2, 3, 1, 1]);
      fdClose(fd((v) => R.globalPool(R.tensor(shape, v), 'avg').data, x.data, dy.data), B.globalAvgPoolGrad(dy, shape), 'global avgpool dx');
    });
  });

  it('ReLU gradient rule and leaky ReLU (inputs away from 0)', () => {
    const shape = [2, 3, 5, 7];
    const rr = rng(1801);
    const x = awayFromZero(rr, shape), dy = rand(rr, shape);
    fdClose(fd((v) => R.relu(R.tensor(shape, v)).data, x.data, dy.data), B.reluBackward('gradient', dy, R.reluMask(x).data), 'relu dx (mask)');
    fdClose(fd((v) => R.relu(R.tensor(shape, v)).data, x.data, dy.data), B.reluBackward('gradient', dy, x.data, true), 'relu dx (from x)');
    fdClose(fd((v) => R.leakyRelu(R.tensor(shape, v), 0.1).data, x.data, dy.data), B.leakyReluGrad(dy, x.data, 0.1), 'leaky relu dx');
  });

  it('ELU (inputs away from 0), sigmoid and tanh (from their outputs)', () => {
    const shape = [2, 3, 5, 7];
    const rr = rng(1802);
    const x = awayFromZero(rr, shape), dy = rand(rr, shape);
    const w = R.tensor(shape, x.data.map((v) => 3 * v)); // wider: saturating tails too
    for (const alpha of [1, 0.5]) fdClose(fd((v) => R.elu(R.tensor(shape, v), alpha).data, w.data, dy.data), B.eluGrad(dy, w.data, alpha), `elu ${alpha} dx`);
    fdClose(fd((v) => R.sigmoid(R.tensor(shape, v)).data, w.data, dy.data), B.sigmoidGrad(dy, R.sigmoid(w).data), 'sigmoid dx');
    fdClose(fd((v) => R.tanh(R.tensor(shape, v)).data, w.data, dy.data), B.tanhGrad(dy, R.tanh(w).data), 'tanh dx');
  });

  describe('LRN', () => {
    const cases = [
      { shape: [2, 7, 2, 3], size: 5, alpha: 0.5, beta: 0.75, bias: 1 },
      { shape: [1, 6, 3, 1], size: 4, alpha: 2, beta: 0.6, bias: 2 },
      { shape: [1, 3, 2, 3], size: 7, alpha: 1, beta: 1.2, bias: 1.5 },
      { shape: [1, 9, 2, 2], size: 3, alpha: 1e-4, beta: 0.75, bias: 1 },
    ];
    cases.forEach((c, t) =>
      it(`${JSON.stringify(c)}`, () => {
        const rr = rng(18100 + t);
        const x = rand(rr, c.shape, -2, 2), dy = rand(rr, c.shape);
        fdClose(fd((v) => R.lrn(R.tensor(c.shape, v), c.size, c.alpha, c.beta, c.bias).data, x.data, dy.data), B.lrnGrad(x, dy, c.size, c.alpha, c.beta, c.bias), 'lrn dx');
      }),
    );
  });

  it('concat (split is its adjoint, per input)', () => {
    const rr = rng(1901);
    const shapes = [[2, 3, 3, 5], [2, 1, 3, 5], [2, 4, 3, 5]];
    const xs = shapes.map((s) => rand(rr, s));
    const dy = rand(rr, [2, 8, 3, 5]);
    let c0 = 0;
    xs.forEach((x, k) => {
      const f = (v: Float64Array) => R.concat(xs.map((o, j) => (j === k ? R.tensor(o.shape, v) : o))).data;
      fdClose(fd(f, x.data, dy.data), B.splitChannels(dy, c0, x.shape[1]!), `concat input ${k}`);
      c0 += x.shape[1]!;
    });
    // a value read by two consumers: L = Σ conv-free identity paths; d/dx of concat(x, x) = split 0 + split 1
    const x = xs[0]!;
    const both = (v: Float64Array) => R.concat([R.tensor(x.shape, v), R.tensor(x.shape, v)]).data;
    const dy2 = rand(rr, [2, 6, 3, 5]);
    fdClose(fd(both, x.data, dy2.data), B.splitChannels(dy2, 3, 3, B.splitChannels(dy2, 0, 3)), 'value read twice');
  });

  it('FC input, weight and bias gradients', () => {
    const rr = rng(2001);
    const xShape = [3, 5, 3, 1], outF = 7, inF = 15;
    const x = rand(rr, xShape), w = rand(rr, [outF, inF]), b = rand(rr, [outF]), dy = rand(rr, [3, outF]);
    fdClose(fd((v) => R.fc(R.tensor(xShape, v), w.data, outF, b.data).data, x.data, dy.data), B.fcInputGrad(dy, w.data, xShape), 'fc dx');
    fdClose(fd((v) => R.fc(x, v, outF, b.data).data, w.data, dy.data), B.fcWeightGrad(x, dy), 'fc dW');
    fdClose(fd((v) => R.fc(x, w.data, outF, v).data, b.data, dy.data), B.biasGrad(dy), 'fc db');
  });

  for (const log of [false, true])
    it(`${log ? 'log-' : ''}softmax over axis 1 of [3, 11] and [2, 7, 5]`, () => {
      for (const shape of [[3, 11], [2, 7, 5]]) {
        const rr = rng(2100 + shape.length);
        const x = rand(rr, shape, -3, 3), dy = rand(rr, shape);
        const y = R.softmax(x, 1, log);
        fdClose(fd((v) => R.softmax(R.tensor(shape, v), 1, log).data, x.data, dy.data), B.softmaxGrad(y, dy, log), `softmax dx [${shape}]`);
      }
    });

  describe('bilinear resize', () => {
    const cases: [number, number, number, number][] = [
      [5, 7, 11, 17],
      [7, 5, 3, 2],
      [1, 4, 5, 1],
      [4, 3, 12, 9],
    ];
    cases.forEach(([h, w, oh, ow], t) =>
      [false, true].forEach((ac) =>
        it(`${h}×${w} → ${oh}×${ow}${ac ? ' alignCorners' : ''}`, () => {
          const shape = [2, 2, h, w];
          const rr = rng(2200 + t);
          const x = rand(rr, shape), dy = rand(rr, [2, 2, oh, ow]);
          fdClose(fd((v) => R.resize(R.tensor(shape, v), oh, ow, 'bilinear', ac).data, x.data, dy.data), B.resizeBilinearGrad(dy, shape, ac), 'resize dx');
        }),
      ),
    );
  });
});
