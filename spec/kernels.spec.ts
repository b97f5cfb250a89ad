// Kernel tests: every op of the IR run through Model on the GPU and compared with the float64 CPU
// reference (spec/reference.ts), on small random cases with odd sizes; plus max-pool switches
// through the kernel directly, the ReLU mask, planner buffer reuse on a small DAG and batch splitting.

import { expect } from 'chai';
import * as K from '../kernels/index.ts';
import type { Graph, PoolAttrs, Pads } from '../engine/ir.ts';
import { Model } from '../engine/runner.ts';
import { FC } from '../engine/ops/dense.ts';
import { lowerNode } from '../engine/ops/index.ts';
import { poolUniforms } from '../engine/geometry.ts';
import { numel, poolOut, inferShapes } from '../engine/shapes.ts';
import { ShapeError } from '../engine/errors.ts';
import * as R from './reference.ts';
import { GraphBuilder, assertClose, checkGraph, checkOp, closeEngine, getEngine, rng, ODD_SIZES, type Rng } from './helpers.ts';

after(async () => {
  await closeEngine();
});

const randPads = (r: Rng, max: number): Pads => [r.int(0, max), r.int(0, max), r.int(0, max), r.int(0, max)];

describe('CPU reference (self-checks)', () => {
  it('poolOutSize agrees with engine/shapes.ts poolOut', () => {
    for (let size = 1; size < 12; size++)
      for (let k = 1; k <= Math.min(size + 2, 5); k++)
        for (let s = 1; s < 4; s++)
          for (let p0 = 0; p0 < Math.min(k, 3); p0++)
            for (let p1 = 0; p1 < Math.min(k, 3); p1++) {
              if (size + p0 + p1 < k) continue;
              for (const ceil of [false, true]) expect(R.poolOutSize(size, k, s, p0, p1, ceil)).to.equal(poolOut(size, k, s, p0, p1, ceil));
            }
  });

  it('convTranspose2d is the adjoint of conv2d: <conv(x), y> = <x, convT(y)>', () => {
    const r = rng(7);
    for (let t = 0; t < 6; t++) {
      const group = r.pick([1, 2]);
      const cin = group * r.int(1, 3), cout = group * r.int(1, 3);
      const a = { kernel: [r.int(1, 3), r.int(1, 3)] as [number, number], stride: [r.int(1, 3), r.int(1, 2)] as [number, number], pads: randPads(r, 1), dilation: [r.int(1, 2), 1] as [number, number], group };
      const xs = [2, cin, r.int(5, 9), r.int(5, 9)];
      const x = R.tensor(xs, r.array(numel(xs)));
      const w = Float64Array.from(r.array(cout * (cin / group) * a.kernel[0] * a.kernel[1]));
      const y = R.conv2d(x, w, cout, a);
      const g = R.tensor(y.shape, r.array(y.data.length));
      // The same weights seen by the transpose: [Cin_T = cout, Cout_T/group = cin/group, kh, kw] is w re-indexed.
      const cinG = cin / group, coutG = cout / group;
      const wt = new Float64Array(w.length);
      for (let co = 0; co < cout; co++)
        for (let c = 0; c < cinG; c++)
          for (let k = 0; k < a.kernel[0] * a.kernel[1]; k++) wt[(co * cinG + c) * a.kernel[0] * a.kernel[1] + k] = w[(co * cinG + c) * a.kernel[0] * a.kernel[1] + k]!;
      void coutG;
      // Output padding so that the transpose output has x's size.
      const op: [number, number] = [0, 1].map((d) => x.shape[2 + d]! - ((y.shape[2 + d]! - 1) * a.stride[d]! - a.pads[d]! - a.pads[d + 2]! + a.dilation[d]! * (a.kernel[d]! - 1) + 1)) as [number, number];
      const xt = R.convTranspose2d(g, wt, cinG, { ...a, outputPadding: op });
      expect(xt.shape).to.deep.equal(x.shape);
      let lhs = 0, rhs = 0;
      for (let i = 0; i < y.data.length; i++) lhs += y.data[i]! * g.data[i]!;
      for (let i = 0; i < x.data.length; i++) rhs += x.data[i]! * xt.data[i]!;
      expect(Math.abs(lhs - rhs)).to.be.below(1e-9 * Math.max(1, Math.abs(lhs)));
    }
  });

  it('maxPool keeps the first maximum and marks empty windows with -1', () => {
    const x = R.tensor([1, 1, 2, 3], [1, 5, 5, 5, 2, 5]);
    const y = R.maxPool(x, { kernel: [2, 2], stride: [1, 1], pads: [0, 0, 0, 0], ceil: false });
    expect(Array.from(y.data)).to.deep.equal([5, 5]);
    expect(Array.from(y.switches)).to.deep.equal([1, 1]);
    const e = R.maxPool(R.tensor([1, 1, 1, 1], [3]), { kernel: [1, 1], stride: [1, 1], pads: [0, 0, 2, 0], ceil: false });
    expect(Array.from(e.switches)).to.deep.equal([0, -1, -1]);
  });

  it('runGraphReference matches the individual functions and resolves layer names', () => {
    const r = rng(3);
    const b = new GraphBuilder([2, 3, 5, 7]);
    const c = b.node('conv', ['x'], { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], group: 1, weight: b.param([4, 3, 3, 3], r) }, 'c');
    const y = b.node('relu', [c], {}, 'y');
    const g = b.build([y]);
    const x = r.array(2 * 3 * 5 * 7);
    const res = R.runGraphReference(g, x, 2, ['y', 'c']);
    const cr = R.conv2d(R.tensor([2, 3, 5, 7], x), g.params.get('p0')!.data, 4, { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], group: 1 });
    expect(Array.from(res.get('c')!.data)).to.deep.equal(Array.from(cr.data));
    expect(Array.from(res.get('y')!.data)).to.deep.equal(Array.from(R.relu(cr).data));
  });
});

describe('kernels vs CPU reference (through Model)', function () {
  this.timeout(120000);

  before(async () => {
    await getEngine();
  });

  describe('conv (through the Graph)', () => {
    const r = rng(101);
    for (let t = 0; t < 4; t++) {
      const group = t === 3 ? 3 : r.pick([1, 2]);
      const cin = t === 3 ? 3 : group * r.int(1, 3);
      const cout = t === 3 ? 3 : group * r.int(1, 3); // t = 3: depthwise
      const kernel: [number, number] = [r.int(1, 3), r.int(1, 4)];
      const a = { kernel, stride: [r.int(1, 2), r.int(1, 3)] as [number, number], pads: randPads(r, 2), dilation: [r.int(1, 2), r.int(1, 2)] as [number, number], group };
      const shape = [r.int(1, 3), cin, r.pick([7, 9, 13]), r.pick([5, 11, 17])];
      const bias = r.bool();
      const fused = t % 2 === 0;
      it(`case ${t}: ${JSON.stringify({ ...a, shape, bias, fused })}`, async () => {
        const rr = rng(1000 + t);
        const b = new GraphBuilder(shape);
        const c = b.node('conv', ['x'], { ...a, weight: b.param([cout, cin / group, ...kernel], rr), bias: bias ? b.param([cout], rr) : undefined }, 'c');
        const y = b.node('relu', [c], {}, 'y');
        const g = b.build([y]);
        const x = rr.array(numel(shape));
        await checkGraph(g, x, shape[0]!, { atol: 1e-4, rtol: 1e-5, outputs: fused ? ['y'] : ['y', 'c'] });
      });
    }
  });

  describe('convtranspose', () => {
    const r = rng(111);
    for (let t = 0; t < 4; t++) {
      const group = t === 3 ? 2 : r.pick([1, 2]);
      const cin = group * r.int(1, 3), coutG = r.int(1, 3);
      const kernel: [number, number] = [r.int(1, 4), r.int(1, 3)];
      const stride: [number, number] = [r.int(1, 3), r.int(1, 2)];
      const dilation: [number, number] = [r.int(1, 2), r.int(1, 2)];
      const pads: Pads = [r.int(0, kernel[0] - 1), r.int(0, kernel[1] - 1), r.int(0, kernel[0] - 1), r.int(0, kernel[1] - 1)];
      const outputPadding: [number, number] = [stride[0] > 1 ? r.int(0, stride[0] - 1) : 0, stride[1] > 1 ? r.int(0, stride[1] - 1) : 0];
      const shape = [r.int(1, 3), cin, r.pick([3, 5, 7]), r.pick([5, 9])];
      const bias = t !== 1;
      it(`${JSON.stringify({ kernel, stride, dilation, pads, outputPadding, group, shape, bias })}`, async () => {
        const rr = rng(1100 + t);
        const b = new GraphBuilder(shape);
        const y = b.node('convtranspose', ['x'], { kernel, stride, pads, dilation, group, outputPadding, weight: b.param([cin, coutG, ...kernel], rr), bias: bias ? b.param([coutG * group], rr) : undefined }, 'y');
        await checkGraph(b.build([y]), rr.array(numel(shape)), shape[0]!, { atol: 1e-4, rtol: 1e-5 });
      });
    }
  });

  describe('maxpool', () => {
    const r = rng(202);
    for (let t = 0; t < 10; t++) {
      const kernel: [number, number] = [r.int(1, 4), r.int(1, 4)];
      const stride: [number, number] = [r.int(1, 3), r.int(1, 3)];
      const pads: Pads = [r.int(0, kernel[0] - 1), r.int(0, kernel[1] - 1), r.int(0, kernel[0] - 1), r.int(0, kernel[1] - 1)];
      const a: PoolAttrs = { kernel, stride, pads, ceil: t % 2 === 1 };
      const shape = [r.int(1, 3), r.pick([1, 3, 5]), r.pick(ODD_SIZES.slice(3)), r.pick(ODD_SIZES.slice(3))];
      const levels = t < 6 ? 3 : undefined; // ties
      it(`${JSON.stringify(a)} on [${shape}]${levels ? ' with ties' : ''}`, () => checkOp({ op: 'maxpool', attrs: a, shape, levels, seed: 2000 + t, atol: 0, rtol: 0 }));
    }
    it('Caffe 3×3/2 ceil (AlexNet pool1 shape: 55 → 27, and 13 → 6)', async () => {
      await checkOp({ op: 'maxpool', attrs: { kernel: [3, 3], stride: [2, 2], pads: [0, 0, 0, 0], ceil: true }, shape: [1, 2, 13, 14], seed: 5, atol: 0, rtol: 0 });
      expect(poolOut(55, 3, 2, 0, 0, true)).to.equal(27);
    });
    it('all-negative inputs with padding (padding must not win)', () =>
      checkOp({ op: 'maxpool', attrs: { kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1], ceil: true }, shape: [2, 3, 7, 9], lo: -5, hi: -1, seed: 6, atol: 0, rtol: 0 }));
  });

  describe('maxpool switches (pool2d MAX+SWITCHES called directly)', () => {
    const r = rng(303);
    for (let t = 0; t < 8; t++) {
      const kernel: [number, number] = [r.int(2, 4), r.int(1, 3)];
      const stride: [number, number] = [r.int(1, 3), r.int(1, 2)];
      // t = 7: a bottom pad as large as the kernel gives windows entirely in the padding (switch -1).
      const pads: Pads = t === 7 ? [0, 0, kernel[0] + 1, 0] : [r.int(0, kernel[0] - 1), r.int(0, kernel[1] - 1), r.int(0, kernel[0] - 1), r.int(0, kernel[1] - 1)];
      const a: PoolAttrs = { kernel, stride, pads, ceil: r.bool() };
      const shape = [r.int(1, 2), r.pick([1, 3]), r.pick([5, 7, 13]), r.pick([5, 9, 11])];
      it(`${JSON.stringify(a)} on [${shape}] with ties`, async () => {
        const e = await getEngine();
        const x = rng(3000 + t).array(numel(shape), -1, 1, t % 2 ? 2 : 4);
        const ref = R.maxPool(R.tensor(shape, x), a);
        const yShape = ref.shape;
        const n = numel(yShape);
        const xb = e.upload(x, 'x');
        const yb = e.acquire(n * 4, 'y');
        const sb = e.acquire(n * 4, 'switches');
        try {
          const d = e.makeDispatch(K.pool2d, { defines: ['MAX', 'SWITCHES'], uniforms: poolUniforms(a, shape, yShape), bindings: { x: xb, y: yb, switches: sb }, threads: n, label: 'pool-switches' });
          const [yv, sv] = await e.run([d], [{ buffer: yb, bytes: n * 4 }, { buffer: sb, bytes: n * 4 }]);
          assertClose({ shape: yShape, data: new Float32Array(yv!) }, ref, { atol: 0, rtol: 0 }, `maxpool values ${JSON.stringify(a)}`);
          const got = new Int32Array(sv!);
          for (let i = 0; i < n; i++)
            if (got[i] !== ref.switches[i]) throw new Error(`switch ${i} of [${yShape}]: gpu ${got[i]} vs ref ${ref.switches[i]} (${JSON.stringify(a)}, input [${shape}])`);
          if (t === 7) expect(Array.from(ref.switches)).to.include(-1);
        } finally {
          for (const b of [xb, yb, sb]) e.release(b);
        }
      });
    }
  });

  it('relu mask (relu MASK called directly)', async () => {
    const e = await getEngine();
    const x = rng(9).array(1234, -1, 1, 5); // exact zeros included
    const xb = e.upload(x, 'x'), yb = e.acquire(x.byteLength, 'y'), mb = e.acquire(x.byteLength, 'mask');
    try {
      const d = e.makeDispatch(K.relu, { defines: ['MASK'], uniforms: { total: x.length }, bindings: { x: xb, y: yb, mask: mb }, threads: x.length, label: 'relu-mask' });
      const [yv, mv] = await e.run([d], [{ buffer: yb, bytes: x.byteLength }, { buffer: mb, bytes: x.byteLength }]);
      const t = R.tensor([x.length], x);
      assertClose({ shape: [x.length], data: new Float32Array(yv!) }, R.relu(t), { atol: 0, rtol: 0 }, 'relu');
      assertClose({ shape: [x.length], data: new Float32Array(mv!) }, R.reluMask(t), { atol: 0, rtol: 0 }, 'relu mask');
    } finally {
      for (const b of [xb, yb, mb]) e.release(b);
    }
  });

  describe('avgpool', () => {
    const r = rng(404);
    for (let t = 0; t < 10; t++) {
      const kernel: [number, number] = [r.int(1, 4), r.int(2, 4)];
      const stride: [number, number] = [r.int(1, 3), r.int(1, 3)];
      const pads: Pads = [r.int(0, kernel[0] - 1), r.int(0, kernel[1] - 1), r.int(0, kernel[0] - 1), r.int(0, kernel[1] - 1)];
      const a: PoolAttrs = { kernel, stride, pads, ceil: t % 2 === 1, countIncludePad: t % 4 < 2 };
      const shape = [r.int(1, 3), r.pick([1, 3, 5]), r.pick(ODD_SIZES.slice(3)), r.pick(ODD_SIZES.slice(3))];
      it(`${JSON.stringify(a)} on [${shape}]`, () => checkOp({ op: 'avgpool', attrs: a, shape, seed: 4000 + t, atol: 1e-6, rtol: 1e-5 }));
    }
    it('Caffe ceil with count-include-pad: the last window is clipped to the padded extent', () =>
      checkOp({ op: 'avgpool', attrs: { kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1], ceil: true, countIncludePad: true }, shape: [1, 2, 8, 10], seed: 8, atol: 1e-6 }));
  });

  describe('global pools', () => {
    for (const op of ['globalavgpool', 'globalmaxpool'] as const)
      for (const shape of [[2, 5, 7, 9], [3, 13, 1, 1], [1, 3, 17, 33]])
        it(`${op} on [${shape}]`, () => checkOp({ op, attrs: {}, shape, seed: shape[2]!, lo: -3, hi: -1, atol: 1e-6, rtol: 1e-5 }));
  });

  describe('unary activations', () => {
    const shape = [2, 3, 7, 13];
    it('relu', () => checkOp({ op: 'relu', attrs: {}, shape, levels: 7, atol: 0, rtol: 0 }));
    it('leakyrelu alpha 0.1', () => checkOp({ op: 'leakyrelu', attrs: { alpha: 0.1 }, shape, lo: -4, hi: 4, atol: 1e-7 }));
    it('leakyrelu alpha -0.3 (odd but legal)', () => checkOp({ op: 'leakyrelu', attrs: { alpha: -0.3 }, shape, lo: -4, hi: 4, atol: 1e-7 }));
    it('elu alpha 1 and 0.5', async () => {
      await checkOp({ op: 'elu', attrs: { alpha: 1 }, shape, lo: -6, hi: 3, atol: 1e-6 });
      await checkOp({ op: 'elu', attrs: { alpha: 0.5 }, shape: [3, 17], lo: -6, hi: 3, atol: 1e-6 });
    });
    it('sigmoid over a wide range (saturation)', () => checkOp({ op: 'sigmoid', attrs: {}, shape, lo: -40, hi: 40, atol: 1e-6 }));
    it('tanh over a wide range (saturation)', () => checkOp({ op: 'tanh', attrs: {}, shape, lo: -30, hi: 30, atol: 1e-6 }));
    it('identity', () => checkOp({ op: 'identity', attrs: {}, shape, atol: 0, rtol: 0 }));
  });

  describe('prelu', () => {
    it('per-channel slope, 4-D', () => checkOp({ op: 'prelu', attrs: (b) => ({ slope: b.param([5], rng(1)) }), shape: [2, 5, 7, 3], atol: 1e-7 }));
    it('scalar slope, 4-D', () => checkOp({ op: 'prelu', attrs: (b) => ({ slope: b.param([1], new Float32Array([0.25])) }), shape: [3, 5, 5, 7], atol: 1e-7 }));
    it('per-channel slope on [N, C]', () => checkOp({ op: 'prelu', attrs: (b) => ({ slope: b.param([13], rng(2)) }), shape: [3, 13], atol: 1e-7 }));
  });

  describe('channelaffine', () => {
    const shape = [2, 5, 3, 7];
    it('scale and shift per channel', () => checkOp({ op: 'channelaffine', attrs: (b) => ({ scale: b.param([5], rng(1)), shift: b.param([5], rng(2)) }), shape, atol: 1e-6 }));
    it('scale only', () => checkOp({ op: 'channelaffine', attrs: (b) => ({ scale: b.param([5], rng(3)) }), shape, atol: 1e-6 }));
    it('shift only', () => checkOp({ op: 'channelaffine', attrs: (b) => ({ shift: b.param([5], rng(4)) }), shape, atol: 1e-6 }));
    it('scalar scale and scalar shift', () => checkOp({ op: 'channelaffine', attrs: (b) => ({ scale: b.param([1], new Float32Array([1.5])), shift: b.param([1], new Float32Array([-0.25])) }), shape, atol: 1e-6 }));
    it('scalar scale with per-channel shift', () => checkOp({ op: 'channelaffine', attrs: (b) => ({ scale: b.param([1], new Float32Array([2])), shift: b.param([5], rng(5)) }), shape, atol: 1e-6 }));
    it('per-channel scale with scalar shift', () => checkOp({ op: 'channelaffine', attrs: (b) => ({ scale: b.param([5], rng(6)), shift: b.param([1], new Float32Array([0.75])) }), shape, atol: 1e-6 }));
    it('on [N, C] feature vectors', () => checkOp({ op: 'channelaffine', attrs: (b) => ({ scale: b.param([17], rng(7)), shift: b.param([17], rng(8)) }), shape: [3, 17], atol: 1e-6 }));
  });

  describe('lrn', () => {
    for (const size of [3, 5, 4, 1])
      it(`size ${size}`, async () => {
        // AlexNet's constants, then a large alpha so that the normalisation matters.
        await checkOp({ op: 'lrn', attrs: { size, alpha: 1e-4, beta: 0.75, bias: 1 }, shape: [2, 7, 5, 3], lo: -20, hi: 20, seed: size, atol: 1e-5, rtol: 1e-5 });
        await checkOp({ op: 'lrn', attrs: { size, alpha: 0.5, beta: 0.75, bias: 2 }, shape: [1, 13, 3, 5], lo: -3, hi: 3, seed: size + 10, atol: 1e-5, rtol: 1e-5 });
      });
  });

  describe('softmax', () => {
    it('[N, C] axis 1', () => checkOp({ op: 'softmax', attrs: { axis: 1 }, shape: [3, 17], lo: -10, hi: 10, atol: 1e-6 }));
    it('[N, C] axis -1, log', () => checkOp({ op: 'softmax', attrs: { axis: -1, log: true }, shape: [3, 33], lo: -10, hi: 10, atol: 1e-5 }));
    it('[N, C, H, W] axis 1', () => checkOp({ op: 'softmax', attrs: { axis: 1 }, shape: [2, 5, 3, 7], lo: -10, hi: 10, atol: 1e-6 }));
    it('[N, C, H, W] axis 1, log', () => checkOp({ op: 'softmax', attrs: { axis: 1, log: true }, shape: [2, 13, 5, 3], lo: -10, hi: 10, atol: 1e-5 }));
    it('[N, C, H, W] axis 2 and axis 3', async () => {
      await checkOp({ op: 'softmax', attrs: { axis: 2 }, shape: [2, 3, 7, 5], lo: -10, hi: 10, atol: 1e-6 });
      await checkOp({ op: 'softmax', attrs: { axis: 3 }, shape: [2, 3, 5, 13], lo: -10, hi: 10, atol: 1e-6 });
    });
    it('large logits (max subtraction)', () => checkOp({ op: 'softmax', attrs: { axis: 1 }, shape: [2, 1000], lo: 80, hi: 120, atol: 1e-6 }));
  });

  describe('concat, add, mul (multi-input)', () => {
    /** x → three 1×1 convs with different channel counts (distinct, live buffers). */
    function branches(b: GraphBuilder, r: Rng, cin: number, couts: number[]): string[] {
      return couts.map((co, i) => b.node('conv', ['x'], { kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], group: 1, weight: b.param([co, cin, 1, 1], r) }, `br${i}`));
    }
    it('concat of 3 inputs with 2, 5, 3 channels', async () => {
      const r = rng(51);
      const b = new GraphBuilder([2, 3, 5, 7]);
      const y = b.node('concat', branches(b, r, 3, [2, 5, 3]), { axis: 1 }, 'y');
      await checkGraph(b.build([y]), r.array(2 * 3 * 5 * 7), 2, { atol: 1e-5 });
    });
    it('concat over vec4s (every block, row and offset a multiple of 4) and mixed with scalar parts', async () => {
      const r = rng(54);
      // hw = 35 (odd): parts of 4, 8, 4 channels make blocks of 140 and 280 floats at offsets 0, 140,
      // 420 and rows of 560 (all vec4s); then 4, 3, 1, 4 channels: vec4s, scalars (a block of 105),
      // scalars (an offset of 245), vec4s again (an offset of 280), rows of 420
      const b = new GraphBuilder([3, 3, 5, 7]);
      const y = b.node('concat', branches(b, r, 3, [4, 8, 4]), { axis: 1 }, 'y');
      await checkGraph(b.build([y]), r.array(3 * 3 * 5 * 7), 3, { atol: 1e-5 });
      const b2 = new GraphBuilder([2, 3, 5, 7]);
      const y2 = b2.node('concat', branches(b2, r, 3, [4, 3, 1, 4]), { axis: 1 }, 'y');
      await checkGraph(b2.build([y2]), r.array(2 * 3 * 5 * 7), 2, { atol: 1e-5 });
    });
    it('concat including the graph input and the same value twice', async () => {
      const r = rng(52);
      const b = new GraphBuilder([3, 3, 7, 5]);
      const [a] = branches(b, r, 3, [4]);
      const y = b.node('concat', ['x', a!, 'x'], { axis: 1 }, 'y');
      await checkGraph(b.build([y]), r.array(3 * 3 * 7 * 5), 3, { atol: 1e-5 });
    });
    it('concat of [N, C] vectors', async () => {
      const r = rng(53);
      const b = new GraphBuilder([3, 5]);
      const f1 = b.node('fc', ['x'], { weight: b.param([7, 5], r), outFeatures: 7 });
      const f2 = b.node('fc', ['x'], { weight: b.param([2, 5], r), outFeatures: 2 });
      const y = b.node('concat', [f1, 'x', f2], { axis: -1 }, 'y');
      await checkGraph(b.build([y]), r.array(15), 3, { atol: 1e-5 });
    });
    it('add of 3 inputs', async () => {
      const r = rng(54);
      const b = new GraphBuilder([2, 3, 5, 7]);
      const y = b.node('add', branches(b, r, 3, [4, 4, 4]), {}, 'y');
      await checkGraph(b.build([y]), r.array(2 * 3 * 5 * 7), 2, { atol: 1e-5 });
    });
    it('add of 2 inputs (residual: x + conv(x))', async () => {
      const r = rng(55);
      const b = new GraphBuilder([2, 3, 5, 7]);
      const [c] = branches(b, r, 3, [3]);
      const y = b.node('add', ['x', c!], {}, 'y');
      await checkGraph(b.build([y]), r.array(2 * 3 * 5 * 7), 2, { atol: 1e-5 });
    });
    it('mul of 2 inputs', async () => {
      const r = rng(56);
      const b = new GraphBuilder([2, 3, 5, 7]);
      const [c0, c1] = branches(b, r, 3, [4, 4]);
      const y = b.node('mul', [c0!, c1!], {}, 'y');
      await checkGraph(b.build([y]), r.array(2 * 3 * 5 * 7), 2, { atol: 1e-5 });
    });
  });

  describe('fc', () => {
    for (const [i, c] of [
      { shape: [3, 17], out: 5, bias: true, relu: false },
      { shape: [2, 333], out: 13, bias: false, relu: false },
      { shape: [3, 5, 3, 7], out: 9, bias: true, relu: true }, // 4-D input, flattened; fused ReLU
      { shape: [1, 1], out: 3, bias: false, relu: true },
      { shape: [7, 65], out: 1, bias: true, relu: true },
      // past the kernel's 4 outputs × 16 images block and its 32 invocations: partial blocks both ways
      { shape: [37, 130], out: 11, bias: true, relu: false },
      { shape: [16, 1000], out: 8, bias: false, relu: true },
      { shape: [17, 33], out: 5, bias: true, relu: true },
      // the FEW variant (up to 4 images): past its 16 outputs × 4 images block
      { shape: [4, 50], out: 37, bias: true, relu: false },
      { shape: [2, 3, 2, 2], out: 16, bias: false, relu: true },
    ].entries())
      it(`[${c.shape}] → ${c.out}${c.bias ? ' +bias' : ''}${c.relu ? ' +fused relu' : ''}`, async () => {
        const r = rng(60 + i);
        const inF = numel(c.shape.slice(1));
        const b = new GraphBuilder(c.shape);
        let y = b.node('fc', ['x'], { weight: b.param([c.out, inF], r), bias: c.bias ? b.param([c.out], r) : undefined, outFeatures: c.out }, 'f');
        if (c.relu) y = b.node('relu', [y], {}, 'y');
        await checkGraph(b.build([y]), r.array(numel(c.shape)), c.shape[0]!, { atol: 1e-5, rtol: 1e-5 });
        // the pre-activation requested too: no fusion, both values correct
        if (c.relu) await checkGraph(b.build([y]), r.array(numel(c.shape)), c.shape[0]!, { atol: 1e-5, rtol: 1e-5, outputs: ['y', 'f'] });
      });

    // Both routes (engine/ops/dense.ts, FC): conv2d_gemm's WT_ROWS variant from FC.gemmMinBatch
    // images on where the engine has subgroups, fc.wgsl otherwise (its FEW variant up to 4 images);
    // each forced here, whole and split over
    // dispatches by rows (as AlexNet's fc6 is where its 151 MB exceed one binding). Output counts
    // around the 16-row block: a partial block reads clamped rows and must not write them.
    describe('routes', () => {
      const saved = { ...FC };
      afterEach(() => Object.assign(FC, saved));
      const cases = [
        { shape: [16, 1000], out: 8, bias: false, relu: true },
        { shape: [37, 130], out: 21, bias: true, relu: false },
        { shape: [33, 3, 4, 5], out: 35, bias: true, relu: true },
        { shape: [3, 40], out: 21, bias: true, relu: true }, // fc.wgsl's FEW variant; conv2d_gemm below its usual 16 images
      ];
      for (const route of ['conv2d_gemm', 'fc']) for (const rowsMax of [0, 5]) for (const [i, c] of cases.entries())
        it(`${route}${rowsMax ? `, ${rowsMax} rows per dispatch` : ''}: [${c.shape}] → ${c.out}`, async function () {
          const e = await getEngine();
          if (route === 'conv2d_gemm' && !e.hasSubgroups) this.skip();
          FC.gemmMinBatch = route === 'fc' ? Infinity : 1;
          FC.rowsMax = rowsMax;
          const r = rng(90 + i);
          const inF = numel(c.shape.slice(1));
          const b = new GraphBuilder(c.shape);
          let y = b.node('fc', ['x'], { weight: b.param([c.out, inF], r), bias: c.bias ? b.param([c.out], r) : undefined, outFeatures: c.out }, 'f');
          if (c.relu) y = b.node('relu', [y], {}, 'y');
          const g = b.build([y]);
          // the kernels it takes
          const m = new Model(e, g);
          try {
            const n = c.shape[0]!;
            const buf = e.acquire(n * Math.max(inF, c.out) * 4, 'fc-route');
            const ds = lowerNode(m.ctx(), { node: g.nodes[0]!, inShapes: [c.shape], outShape: [n, c.out], ins: [buf], out: buf, label: 'f' });
            e.release(buf);
            expect(ds.map((d) => d.pipeline.label.split('|')[0])).to.deep.equal(Array(Math.ceil(c.out / (rowsMax || c.out))).fill(route === 'fc' ? 'fc' : 'conv2d_gemm'));
            if (route !== 'fc') expect(ds[0]!.pipeline.label).to.match(/WT_ROWS/);
            else expect(/FEW/.test(ds[0]!.pipeline.label)).to.equal(n <= FC.fewMaxBatch);
          } finally {
            m.destroy();
          }
          await checkGraph(g, r.array(numel(c.shape)), c.shape[0]!, { atol: 1e-5, rtol: 1e-5, outputs: c.relu ? ['y', 'f'] : ['f'] });
        });
    });
  });

  describe('resize', () => {
    const cases: { from: [number, number]; attrs: { mode: 'bilinear' | 'nearest'; outSize?: [number, number]; scale?: [number, number]; alignCorners: boolean } }[] = [
      { from: [5, 7], attrs: { mode: 'bilinear', outSize: [13, 17], alignCorners: false } },
      { from: [5, 7], attrs: { mode: 'bilinear', outSize: [13, 17], alignCorners: true } },
      { from: [13, 17], attrs: { mode: 'bilinear', outSize: [5, 7], alignCorners: false } },
      { from: [13, 17], attrs: { mode: 'bilinear', outSize: [5, 7], alignCorners: true } },
      { from: [5, 7], attrs: { mode: 'bilinear', scale: [2, 2], alignCorners: false } },
      { from: [9, 11], attrs: { mode: 'bilinear', scale: [0.5, 0.5], alignCorners: false } },
      { from: [5, 7], attrs: { mode: 'bilinear', outSize: [1, 1], alignCorners: true } },
      { from: [5, 7], attrs: { mode: 'nearest', scale: [3, 2], alignCorners: false } },
      { from: [5, 7], attrs: { mode: 'nearest', outSize: [13, 17], alignCorners: false } },
      { from: [13, 17], attrs: { mode: 'nearest', outSize: [5, 7], alignCorners: false } },
      { from: [7, 7], attrs: { mode: 'nearest', outSize: [7, 7], alignCorners: false } },
    ];
    for (const [i, c] of cases.entries())
      it(`${c.attrs.mode}${c.attrs.alignCorners ? ' align-corners' : ''} [${c.from}] → ${c.attrs.outSize ? `[${c.attrs.outSize}]` : `×${c.attrs.scale}`}`, () =>
        checkOp({ op: 'resize', attrs: c.attrs, shape: [2, 3, ...c.from], seed: 70 + i, atol: 1e-5 }));
  });

  describe('pad', () => {
    it('asymmetric pads, value 0', () => checkOp({ op: 'pad', attrs: { pads: [1, 2, 3, 0], value: 0 }, shape: [2, 3, 5, 7], atol: 0, rtol: 0 }));
    it('asymmetric pads, value -1.5', () => checkOp({ op: 'pad', attrs: { pads: [0, 3, 2, 1], value: -1.5 }, shape: [1, 5, 7, 3], atol: 0, rtol: 0 }));
    it('no padding', () => checkOp({ op: 'pad', attrs: { pads: [0, 0, 0, 0], value: 7 }, shape: [1, 2, 3, 5], atol: 0, rtol: 0 }));
  });

  describe('flatten / reshape chains', () => {
    it('conv → flatten → fc → reshape → softmax, and reshape → relu → flatten', async () => {
      const r = rng(80);
      const b = new GraphBuilder([3, 3, 5, 7]);
      const c = b.node('conv', ['x'], { kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1], dilation: [1, 1], group: 1, weight: b.param([5, 3, 3, 3], r) }, 'c'); // [3,5,3,4]
      const f = b.node('flatten', [c], { axis: 1 }, 'f'); // [3,60]
      const fc = b.node('fc', [f], { weight: b.param([12, 60], r), outFeatures: 12 }, 'fc');
      const rs = b.node('reshape', [fc], { shape: [0, 3, -1, 2] }, 'rs'); // [3,3,2,2]
      const sm = b.node('softmax', [rs], { axis: 1 }, 'sm');
      const r2 = b.node('reshape', [c], { shape: [-1, 15, 4] }, 'r2'); // [3,15,4]
      const rl = b.node('relu', [r2], {}, 'rl');
      const f2 = b.node('flatten', [rl], { axis: 1 }, 'f2');
      const id = b.node('identity', [f2], {}, 'id');
      const g = b.build([sm, id]);
      const x = r.array(3 * 3 * 5 * 7);
      const model = new Model(await getEngine(), g);
      try {
        await checkGraph(g, x, 3, { atol: 1e-5, model });
        await checkGraph(g, x, 3, { atol: 1e-5, model, outputs: ['f', 'rs', 'id', 'sm'] });
        await checkGraph(g, x, 3, { atol: 1e-5, model, outputs: ['r2', 'sm'] });
        await checkGraph(g, x, 3, { atol: 1e-5, model, outputs: ['id', 'x'] });
      } finally {
        model.destroy();
      }
    });
  });

  it('flatten with axis 2 requested as an output: shape [N·C, H·W]', async () => {
    const b = new GraphBuilder([2, 3, 5, 7]);
    const t = b.node('tanh', ['x'], {}, 't');
    const f = b.node('flatten', [t], { axis: 2 }, 'f');
    await checkGraph(b.build([f]), rng(12).array(2 * 3 * 5 * 7), 2, { atol: 1e-6 });
  });

  it('add of a value with itself', async () => {
    const b = new GraphBuilder([2, 3, 5, 7]);
    const t = b.node('tanh', ['x'], {}, 't');
    const y = b.node('add', [t, t], {}, 'y');
    await checkGraph(b.build([y]), rng(13).array(2 * 3 * 5 * 7), 2, { atol: 1e-6 });
  });

  describe('multi-branch DAG, batch 3: buffer reuse with different requested outputs', () => {
    function dag(): Graph {
      const r = rng(90);
      const b = new GraphBuilder([3, 3, 9, 11]);
      const conv = (x: string, co: number, ci: number, k: number, name: string, bias = true) =>
        b.node('conv', [x], { kernel: [k, k], stride: [1, 1], pads: [k >> 1, k >> 1, k >> 1, k >> 1], dilation: [1, 1], group: 1, weight: b.param([co, ci, k, k], r), bias: bias ? b.param([co], r) : undefined }, name);
      const c0 = conv('x', 6, 3, 3, 'c0');
      const r0 = b.node('relu', [c0], {}, 'r0');
      const a1 = conv(r0, 4, 6, 1, 'a1');
      const ar = b.node('relu', [a1], {}, 'ar');
      const a2 = conv(ar, 5, 4, 3, 'a2', false);
      const p = b.node('maxpool', [r0], { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], ceil: false }, 'p');
      const bb = conv(p, 3, 6, 1, 'b1');
      const bs = b.node('sigmoid', [bb], {}, 'bs');
      const cat = b.node('concat', [a2, bs, r0], { axis: 1 }, 'cat'); // 5 + 3 + 6
      const gap = b.node('globalavgpool', [cat], {}, 'gap');
      const fl = b.node('flatten', [gap], { axis: 1 }, 'fl');
      const fc = b.node('fc', [fl], { weight: b.param([7, 14], r), bias: b.param([7], r), outFeatures: 7 }, 'fc');
      const sm = b.node('softmax', [fc], { axis: 1 }, 'prob');
      return b.build([sm], 'dag');
    }
    const combos = [
      ['prob'],
      ['prob', 'cat'],
      ['r0', 'fc'],
      ['a1', 'gap'], // a1 requested: its ReLU must not be fused
      ['ar', 'p', 'bs', 'prob'],
      ['x', 'c0', 'r0', 'a1', 'ar', 'a2', 'p', 'b1', 'bs', 'cat', 'gap', 'fl', 'fc', 'prob'],
      ['fl'],
      ['prob'], // again, after the plan cache has been dropped
    ];
    it('all output combinations agree with the reference (one Model)', async () => {
      const g = dag();
      const x = rng(91).array(3 * 3 * 9 * 11);
      const model = new Model(await getEngine(), g);
      try {
        for (const outs of combos) await checkGraph(g, x, 3, { atol: 1e-5, rtol: 1e-5, model, outputs: outs, label: `dag [${outs}]` });
      } finally {
        model.destroy();
      }
    });
    it('a fresh Model per combination, batch 1 and 3', async () => {
      const g = dag();
      for (const batch of [1, 3]) {
        const x = rng(92 + batch).array(batch * 3 * 9 * 11);
        for (const outs of combos.slice(0, 5)) await checkGraph(g, x, batch, { atol: 1e-5, rtol: 1e-5, outputs: outs, label: `dag b${batch} [${outs}]` });
      }
    });
    it('asking for a layer by name and for the same value twice', async () => {
      const g = dag();
      const x = rng(95).array(3 * 3 * 9 * 11);
      const model = new Model(await getEngine(), g);
      try {
        const ref = R.runGraphReference(g, x, 3, ['prob']).get('prob')!;
        const res = await model.run(x, 3, { outputs: ['prob', 'prob'] });
        assertClose(res.get('prob')!, ref, { atol: 1e-5 }, 'prob requested twice');
      } finally {
        model.destroy();
      }
    });
  });

  describe('mobile-family ops (clip, hardsigmoid, hardswish, transpose, slicechannels, reducemean, broadcasting add / mul)', () => {
    /** Random values in [lo, hi) with every kink among them, exactly (and −0). */
    const withKinks = (r: Rng, n: number, lo: number, hi: number, kinks: number[]) => {
      const x = r.array(n, lo, hi);
      [...kinks, -0].forEach((k, i) => (x[(i * 7919) % n] = k));
      return x;
    };
    const F6 = Math.fround(1 / 6); // torch's HardSigmoid alpha, as exported
    const elementwiseCases = [
      { op: 'clip', attrs: { min: 0, max: 6 }, lo: -8, hi: 8, kinks: [0, 6] },
      { op: 'clip', attrs: { min: -1.5, max: 2.25 }, lo: -3, hi: 3, kinks: [-1.5, 2.25] },
      { op: 'clip', attrs: { min: -Infinity, max: 0.5 }, lo: -3, hi: 3, kinks: [0.5] },
      { op: 'clip', attrs: { min: 0, max: Infinity }, lo: -3, hi: 3, kinks: [0] },
      { op: 'clip', attrs: { min: 1, max: -1 }, lo: -3, hi: 3, kinks: [1, -1] }, // min > max: every output is max (ONNX)
      { op: 'hardsigmoid', attrs: { alpha: F6, beta: 0.5 }, lo: -5, hi: 5, kinks: [-3, 3] },
      { op: 'hardsigmoid', attrs: { alpha: 0.2, beta: 0.5 }, lo: -4, hi: 4, kinks: [-2.5, 2.5] },
      { op: 'hardswish', attrs: {}, lo: -5, hi: 5, kinks: [-3, 3] },
    ] as const;
    for (const [i, c] of elementwiseCases.entries())
      for (const shape of [[2, 5, 7, 3], [3, 17], [1, 13, 1, 1], [2, 3, 5]])
        it(`${c.op} ${Object.entries(c.attrs).map(([k, v]) => `${k} ${v}`).join(', ')} on [${shape}], the kinks included`, () =>
          checkOp({ op: c.op, attrs: c.attrs as never, shape, input: withKinks(rng(700 + i), numel(shape), c.lo, c.hi, [...c.kinks]), atol: 1e-6, rtol: 1e-6 }));

    describe('transpose', () => {
      const r = rng(710);
      const cases: { shape: number[]; perm: number[] }[] = [
        { shape: [2, 2, 3, 5, 7], perm: [0, 2, 1, 3, 4] }, // ShuffleNet's channel shuffle
        { shape: [3, 17], perm: [0, 1] },
        { shape: [2, 5, 7, 3], perm: [0, 3, 1, 2] },
        { shape: [2, 3, 1, 5], perm: [0, 2, 3, 1] },
      ];
      for (let t = 0; t < 6; t++) {
        const rank = 2 + (t % 5);
        const shape = [r.int(1, 3), ...Array.from({ length: rank - 1 }, () => r.pick([1, 2, 3, 3, 5]))];
        const rest = Array.from({ length: rank - 1 }, (_, k) => k + 1);
        for (let k = rest.length - 1; k > 0; k--) {
          const j = r.int(0, k);
          [rest[k], rest[j]] = [rest[j]!, rest[k]!];
        }
        cases.push({ shape, perm: [0, ...rest] });
      }
      for (const [i, c] of cases.entries()) it(`perm [${c.perm}] of [${c.shape}]`, () => checkOp({ op: 'transpose', attrs: { perm: c.perm }, shape: c.shape, seed: 720 + i, atol: 0, rtol: 0 }));
    });

    describe('slicechannels', () => {
      const cases: { shape: number[]; start: number; count: number }[] = [
        { shape: [2, 7, 5, 3], start: 0, count: 3 },
        { shape: [2, 7, 5, 3], start: 3, count: 4 },
        { shape: [3, 17], start: 5, count: 1 },
        { shape: [1, 5, 3], start: 0, count: 5 },
        { shape: [2, 6, 1, 3, 5], start: 2, count: 3 },
      ];
      for (const [i, c] of cases.entries())
        it(`channels [${c.start}, ${c.start + c.count}) of [${c.shape}]`, () => checkOp({ op: 'slicechannels', attrs: { start: c.start, count: c.count }, shape: c.shape, seed: 730 + i, atol: 0, rtol: 0 }));
    });

    describe('reducemean', () => {
      const cases: { shape: number[]; axes: number[]; keepdims: boolean }[] = [
        { shape: [2, 5, 7, 3], axes: [2, 3], keepdims: false }, // torch's x.mean([2, 3])
        { shape: [2, 5, 7, 3], axes: [2, 3], keepdims: true },
        { shape: [2, 5, 7, 3], axes: [1], keepdims: true },
        { shape: [2, 5, 7, 3], axes: [1, 3], keepdims: false },
        { shape: [3, 17], axes: [1], keepdims: true },
        { shape: [3, 1, 5, 2, 3], axes: [1, 2, 4], keepdims: false },
        { shape: [1, 13, 11, 9], axes: [1, 2, 3], keepdims: true },
      ];
      for (const [i, c] of cases.entries())
        it(`axes [${c.axes}] of [${c.shape}], keepdims ${c.keepdims}`, () => checkOp({ op: 'reducemean', attrs: { axes: c.axes, keepdims: c.keepdims }, shape: c.shape, seed: 740 + i, atol: 1e-6, rtol: 1e-5 }));
    });

    describe('broadcasting add and mul (operands made from the input by means over axes kept as 1s)', () => {
      // each operand: the input itself (no axes) or its mean over `axes` (keepdims)
      const cases: { shape: number[]; a: number[]; b: number[]; c?: number[] }[] = [
        { shape: [2, 5, 7, 9], a: [2, 3], b: [] }, // the SE gate [N,C,1,1] first, the features second (torch's order)
        { shape: [2, 5, 7, 9], a: [], b: [2, 3] },
        { shape: [2, 5, 7, 3], a: [1, 3], b: [] }, // [N,1,H,1]
        { shape: [2, 5, 7, 3], a: [1], b: [2, 3] }, // both broadcast: [N,1,H,W] with [N,C,1,1]
        { shape: [3, 17], a: [1], b: [] }, // rank 2: [N,1] with [N,C]
        { shape: [2, 3, 5, 7], a: [3], b: [1, 2], c: [] }, // a sum of three
        { shape: [1, 13, 1, 1], a: [1], b: [] },
        { shape: [2, 3, 2, 5, 2], a: [1, 4], b: [2, 3] }, // rank 5: [N,1,2,5,1] with [N,3,1,1,2]
      ];
      for (const [i, c] of cases.entries())
        for (const op of c.c ? (['add'] as const) : (['add', 'mul'] as const))
          it(`${op} of means over [${c.a}] and [${c.b}]${c.c ? ` and [${c.c}]` : ''} of [${c.shape}]`, async () => {
            const r = rng(750 + i);
            const b = new GraphBuilder(c.shape);
            const operand = (axes: number[], name: string) => (axes.length ? b.node('reducemean', ['x'], { axes, keepdims: true }, name) : 'x');
            const ins = [operand(c.a, 'a'), operand(c.b, 'b'), ...(c.c ? [operand(c.c, 'c')] : [])];
            const y = b.node(op, ins, {}, 'y');
            await checkGraph(b.build([y]), r.array(numel(c.shape)), c.shape[0]!, { atol: 1e-5, rtol: 1e-5, outputs: ['y', ...ins.filter((v) => v !== 'x')] });
          });
      it('shapes that do not broadcast: a ShapeError naming the layer', async () => {
        const b = new GraphBuilder([2, 4, 6, 6]);
        const p = b.node('maxpool', ['x'], { kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0], ceil: false }, 'p');
        b.node('add', ['x', p], {}, 'sum');
        expect(() => inferShapes(b.build(['sum']), 2)).to.throw(ShapeError, /layer "sum": add of shapes \[2×4×6×6\], \[2×4×3×3\]/);
      });
    });
  });

  describe('batch splitting', () => {
    it('a batch of 7 split into chunks equals the unsplit run', async () => {
      const r = rng(100);
      const b = new GraphBuilder([7, 3, 9, 7]);
      const c = b.node('conv', ['x'], { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], group: 1, weight: b.param([5, 3, 3, 3], r), bias: b.param([5], r) }, 'c');
      const rl = b.node('relu', [c], {}, 'r');
      const p = b.node('maxpool', [rl], { kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0], ceil: true }, 'p');
      const f = b.node('flatten', [p], { axis: 1 }, 'f');
      const fc = b.node('fc', [f], { weight: b.param([6, 5 * 5 * 4], r), outFeatures: 6 }, 'fc');
      const sm = b.node('softmax', [fc], { axis: 1 }, 'prob');
      const g = b.build([sm]);
      const x = r.array(7 * 3 * 9 * 7);
      const e = await getEngine();
      const whole = new Model(e, g);
      const split = new Model(e, g);
      try {
        const outs = ['prob', 'p', 'c', 'f', 'x'];
        expect(whole.maxBatch(outs)).to.be.at.least(7);
        const want = await whole.run(x, 7, { outputs: outs });
        const ref = R.runGraphReference(g, x, 7, outs);
        for (const o of outs) assertClose(want.get(o)!, ref.get(o)!, { atol: 1e-5 }, `unsplit ${o}`);
        for (const target of [1, 3]) {
          // the smallest budget that lets `target` images through
          let budget = 1;
          split.memoryBudget = budget;
          while (split.maxBatch(outs) < target) split.memoryBudget = budget *= 1.25;
          expect(split.maxBatch(outs)).to.equal(target);
          const progress: number[] = [];
          const got = await split.run(x, 7, { outputs: outs, onProgress: (d) => progress.push(d) });
          expect(progress.length, `chunks for maxBatch ${target}`).to.equal(Math.ceil(7 / target));
          expect(progress[progress.length - 1]).to.equal(7);
          for (const o of outs) {
            const w = want.get(o)!, gt = got.get(o)!;
            expect(gt.shape).to.deep.equal(w.shape);
            assertClose(gt, { shape: w.shape, data: Float64Array.from(w.data) }, { atol: 0, rtol: 0 }, `split (${target}/chunk) ${o}`);
          }
        }
      } finally {
        whole.destroy();
        split.destroy();
      }
    });
  });

  it('inferShapes and the reference agree on every value of the DAG at batch 2', () => {
    // guards the reference itself: runGraphReference checks each node's shape against inferShapes
    const b = new GraphBuilder([2, 3, 7, 5]);
    const r = rng(5);
    const p = b.node('avgpool', ['x'], { kernel: [3, 2], stride: [2, 2], pads: [1, 0, 1, 1], ceil: true, countIncludePad: true }, 'p');
    const q = b.node('pad', [p], { pads: [1, 2, 0, 1], value: 0 }, 'q');
    const s = b.node('resize', [q], { mode: 'bilinear', scale: [1.5, 2], alignCorners: false }, 's');
    const g = b.build([s]);
    const res = R.runGraphReference(g, r.array(2 * 3 * 7 * 5), 2, ['p', 'q', 's']);
    const shapes = inferShapes(g, 2);
    for (const v of ['p', 'q', 's']) expect(res.get(v)!.shape).to.deep.equal(shapes.get(v));
  });
});
