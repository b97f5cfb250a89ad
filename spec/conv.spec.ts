// The convolution kernels (engine/conv.ts: conv2d_gemm, and conv2d_direct for depthwise) against a
// plain-loop CPU reference with float64 accumulation, over random shapes chosen so that they do not
// divide the kernel's tiles: odd channel counts, strides 1–3, asymmetric padding 0–2, dilation 1–2,
// groups 1/2/depthwise, bias and fused ReLU on and off, batch 1–3.
import { expect } from 'chai';
import { createNodeEngine } from '../cli/gpu-node.ts';
import type { Engine } from '../engine/gpu.ts';
import { Model } from '../engine/runner.ts';
import type { LowerContext } from '../engine/ops/index.ts';
import type { Graph, ConvAttrs, Pads } from '../engine/ir.ts';
import { convOut } from '../engine/shapes.ts';
import { GEMM, GEMM_SG, ROWS, isPointwise, lowerConv, rowsFit } from '../engine/conv.ts';

export interface ConvCase {
  n: number; cin: number; h: number; w: number; cout: number;
  kernel: [number, number]; stride: [number, number]; pads: Pads; dilation: [number, number]; group: number;
  bias: boolean; relu: boolean;
}

/** Plain loops, float64 accumulation. x NCHW, w [Cout, Cin/g, KH, KW]. */
export function refConv(c: ConvCase, x: Float32Array, w: Float32Array, b: Float32Array | undefined): { y: Float64Array; oh: number; ow: number } {
  const [kh, kw] = c.kernel, [sh, sw] = c.stride, [dh, dw] = c.dilation;
  const oh = convOut(c.h, kh, sh, c.pads[0], c.pads[2], dh), ow = convOut(c.w, kw, sw, c.pads[1], c.pads[3], dw);
  const cinPg = c.cin / c.group, coutPg = c.cout / c.group;
  const y = new Float64Array(c.n * c.cout * oh * ow);
  for (let n = 0; n < c.n; n++)
    for (let co = 0; co < c.cout; co++) {
      const g = Math.floor(co / coutPg);
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++) {
          let s = b ? b[co]! : 0;
          for (let ci = 0; ci < cinPg; ci++)
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * sh - c.pads[0] + ky * dh;
              if (iy < 0 || iy >= c.h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * sw - c.pads[1] + kx * dw;
                if (ix < 0 || ix >= c.w) continue;
                s += x[((n * c.cin + g * cinPg + ci) * c.h + iy) * c.w + ix]! * w[((co * cinPg + ci) * kh + ky) * kw + kx]!;
              }
            }
          y[((n * c.cout + co) * oh + oy) * ow + ox] = c.relu ? Math.max(0, s) : s;
        }
    }
  return { y, oh, ow };
}

/** A one-node (conv, optionally + relu, which the runner fuses) graph. */
export function convGraph(c: ConvCase, w: Float32Array, b: Float32Array | undefined): Graph {
  const attrs: ConvAttrs = { kernel: c.kernel, stride: c.stride, pads: c.pads, dilation: c.dilation, group: c.group, weight: 'w', ...(b ? { bias: 'b' } : {}) };
  const params = new Map([['w', { dims: [c.cout, c.cin / c.group, ...c.kernel], data: w }]]);
  if (b) params.set('b', { dims: [c.cout], data: b });
  return {
    name: 'conv', format: 'onnx', input: { name: 'x', shape: [-1, c.cin, c.h, c.w] }, outputs: [c.relu ? 'r' : 'y'], params,
    nodes: [
      { name: 'c', op: 'conv', inputs: ['x'], outputs: ['y'], attrs },
      ...(c.relu ? [{ name: 'r', op: 'relu' as const, inputs: ['y'], outputs: ['r'], attrs: {} }] : []),
    ],
  };
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const randArr = (r: () => number, n: number) => new Float32Array(n).map(() => r() * 2 - 1);

async function check(e: Engine, c: ConvCase, seed: number): Promise<number> {
  const r = rng(seed);
  const x = randArr(r, c.n * c.cin * c.h * c.w);
  const w = randArr(r, c.cout * (c.cin / c.group) * c.kernel[0] * c.kernel[1]);
  const b = c.bias ? randArr(r, c.cout) : undefined;
  const ref = refConv(c, x, w, b);
  const m = new Model(e, convGraph(c, w, b));
  const out = (await m.run(x, c.n)).values().next().value!;
  m.destroy();
  expect(out.shape).to.deep.equal([c.n, c.cout, ref.oh, ref.ow]);
  let maxY = 0, maxErr = 0;
  for (let i = 0; i < ref.y.length; i++) {
    maxY = Math.max(maxY, Math.abs(ref.y[i]!));
    maxErr = Math.max(maxErr, Math.abs(ref.y[i]! - out.data[i]!));
  }
  return maxErr / Math.max(maxY, 1e-30);
}

function describe1(c: ConvCase): string {
  return `n${c.n} ${c.cin}→${c.cout} ${c.h}×${c.w} k${c.kernel.join('×')} s${c.stride.join(',')} p${c.pads.join(',')} d${c.dilation.join(',')} g${c.group}${c.bias ? ' bias' : ''}${c.relu ? ' relu' : ''}`;
}

describe('conv (engine/conv.ts)', function () {
  let e: Engine;
  before(async () => {
    e = await createNodeEngine();
  });

  it('lowers wide convs to conv2d_rows (taps along x or a stride) or conv2d_gemm (pointwise, or rows too wide), depthwise to conv2d_direct', () => {
    const ctx: LowerContext = {
      engine: e, param: () => e.acquire(1024, 'p'), derived: () => e.acquire(1 << 16, 'd'), derivedGpu: () => e.acquire(1 << 16, 'd'), paramSize: () => 0,
      paramData: () => new Float32Array(0), dummy: () => e.acquire(16, 'd'),
    };
    const base: ConvAttrs = { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], group: 1, weight: 'w' };
    const pointwise: ConvAttrs = { ...base, kernel: [1, 1], pads: [0, 0, 0, 0] };
    const wide: ConvAttrs = { ...base, dilation: [1, 19] }; // (TN − 1) + 2·19 + 1 = 42 input columns under a kernel row
    const xb = e.acquire(1 << 16, 'x'), yb = e.acquire(1 << 16, 'y');
    const label = (a: ConvAttrs, x: number[], y: number[]) => lowerConv(ctx, a, x, y, xb, yb, false, 'c')[0]!.pipeline.label;
    // the SUBGROUPS variants where the device has subgroups, the plain ones otherwise
    const sg = (k: string) => (e.hasSubgroups ? new RegExp(`^${k}\\|[^|]*SUBGROUPS`) : new RegExp(`^${k}\\|(?![^|]*SUBGROUPS)`));
    const plain = (k: string) => new RegExp(`^${k}\\|(?![^|]*SUBGROUPS)`);
    expect(label(base, [1, 8, 8, 8], [1, 16, 8, 8])).to.match(sg('conv2d_rows')).and.match(/KW=3,SW=1/);
    expect(label({ ...base, kernel: [7, 7], stride: [2, 2], pads: [0, 0, 0, 0] }, [1, 3, 23, 23], [1, 16, 9, 9])).to.match(sg('conv2d_rows')).and.match(/KW=7,SW=2/);
    expect(label(pointwise, [1, 8, 8, 8], [1, 16, 8, 8])).to.match(sg('conv2d_gemm')).and.match(/POINTWISE/);
    expect(rowsFit(base)).to.equal(true);
    expect(rowsFit(wide)).to.equal(false);
    expect(label(wide, [1, 8, 8, 45], [1, 16, 8, 45])).to.match(sg('conv2d_gemm')).and.not.match(/POINTWISE/);
    e.subgroups = false;
    try {
      expect(label(base, [1, 8, 8, 8], [1, 16, 8, 8])).to.match(plain('conv2d_rows'));
      expect(label(pointwise, [1, 8, 8, 8], [1, 16, 8, 8])).to.match(plain('conv2d_gemm'));
    } finally {
      e.subgroups = true;
    }
    expect(label({ ...base, group: 8 }, [1, 8, 8, 8], [1, 8, 8, 8])).to.match(/^conv2d_direct\|/);
    expect(GEMM.minCoutPerGroup).to.be.greaterThan(1);
    expect(isPointwise(pointwise)).to.equal(true);
    expect(isPointwise({ ...base, kernel: [1, 1] })).to.equal(false);
  });

  const cases: ConvCase[] = [];
  const r = rng(12345);
  const pick = <T,>(a: T[]): T => a[Math.floor(r() * a.length)]!;
  const chans = [3, 5, 17, 33, 70];
  for (let i = 0; i < 28; i++) {
    const kind = i % 4; // 0,1: group 1; 2: group 2; 3: depthwise
    const group0 = kind === 2 ? 2 : 1;
    let cin = pick(chans) * group0, cout = pick(chans) * group0, group = group0;
    if (kind === 3) {
      cin = cout = group = pick([5, 17, 33]);
    }
    const k = pick([1, 1, 2, 3, 3, 5]);
    const kernel: [number, number] = r() < 0.8 ? [k, k] : [k, pick([1, 3])];
    const pads: Pads = r() < 0.2 ? [0, 0, 0, 0] : [pick([0, 1, 2]), pick([0, 1, 2]), pick([0, 1, 2]), pick([0, 1, 2])];
    const stride: [number, number] = r() < 0.5 ? [1, 1] : [pick([1, 2, 3]), pick([1, 2, 3])];
    const dilation: [number, number] = r() < 0.75 ? [1, 1] : [pick([1, 2]), pick([1, 2])];
    const h = 3 + Math.floor(r() * 16), w = 3 + Math.floor(r() * 16);
    const c: ConvCase = { n: 1 + Math.floor(r() * 3), cin, h: Math.max(h, (kernel[0] - 1) * dilation[0] + 1), w: Math.max(w, (kernel[1] - 1) * dilation[1] + 1), cout, kernel, stride, pads, dilation, group, bias: r() < 0.6, relu: r() < 0.5 };
    cases.push(c);
  }
  // The SqueezeNet/AlexNet kinds at small sizes: pointwise, 3×3 pad 1, strided big kernels.
  cases.push({ n: 2, cin: 33, h: 13, w: 11, cout: 70, kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], group: 1, bias: true, relu: true });
  cases.push({ n: 3, cin: 17, h: 9, w: 9, cout: 33, kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], group: 1, bias: true, relu: true });
  cases.push({ n: 1, cin: 3, h: 37, w: 35, cout: 17, kernel: [7, 7], stride: [2, 2], pads: [0, 0, 0, 0], dilation: [1, 1], group: 1, bias: true, relu: false });
  cases.push({ n: 1, cin: 10, h: 15, w: 15, cout: 70, kernel: [5, 5], stride: [1, 1], pads: [2, 2, 2, 2], dilation: [1, 1], group: 2, bias: false, relu: true });
  cases.push({ n: 2, cin: 3, h: 1, w: 1, cout: 5, kernel: [1, 1], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], group: 1, bias: true, relu: false });
  // AlexNet's conv1 kind (11×11 stride 4: 23 input columns under a kernel row), and rows too wide
  // for conv2d_rows (42 columns), which conv2d_gemm's tap loop takes.
  cases.push({ n: 2, cin: 3, h: 31, w: 43, cout: 17, kernel: [11, 11], stride: [4, 4], pads: [2, 1, 0, 3], dilation: [1, 1], group: 1, bias: true, relu: true });
  cases.push({ n: 2, cin: 5, h: 9, w: 47, cout: 17, kernel: [3, 3], stride: [1, 1], pads: [1, 2, 1, 0], dilation: [1, 19], group: 1, bias: true, relu: false });

  for (const [i, c] of cases.entries())
    it(`matches the reference: ${describe1(c)}`, async () => {
      const rel = await check(e, c, 1000 + i);
      expect(rel, describe1(c)).to.be.below(1e-4);
    });

  it('handles more pixels than one workgroup row and a full register block of channels', async () => {
    const tm = e.hasSubgroups ? GEMM_SG.TM : GEMM.TM;
    const c: ConvCase = { n: 2, cin: 19, h: 23, w: 29, cout: tm * 3 + 1, kernel: [3, 3], stride: [1, 1], pads: [1, 0, 2, 1], dilation: [1, 1], group: 1, bias: true, relu: false };
    expect(await check(e, c, 7)).to.be.below(1e-4);
  });

  // conv2d_gemm's tap loop, which takes the convs whose rows are too wide for conv2d_rows (and took
  // every non-pointwise conv before it): with no room for a row, every case with GEMM-wide groups,
  // with and without subgroups (every other case each, to keep the run short).
  describe("conv2d_gemm's tap loop (rows too wide for conv2d_rows)", () => {
    const segmax = ROWS.SEGMAX;
    before(() => { ROWS.SEGMAX = 0; });
    after(() => { ROWS.SEGMAX = segmax; e.subgroups = true; });
    for (const [i, c] of cases.entries()) {
      if (c.cout / c.group < GEMM.minCoutPerGroup) continue;
      it(`matches the reference: ${describe1(c)}${i % 2 ? ' (no subgroups)' : ''}`, async () => {
        e.subgroups = i % 2 === 0;
        expect(rowsFit({ kernel: c.kernel, stride: c.stride, pads: c.pads, dilation: c.dilation, group: c.group, weight: 'w' })).to.equal(false);
        expect(await check(e, c, 3000 + i), describe1(c)).to.be.below(1e-4);
      });
    }
  });

  // The GEMM kernels without subgroups (the fallback where the device lacks them): conv2d_rows, or
  // conv2d_gemm for pointwise convs, for every case with channels per group for the GEMM path
  // (every other one, to keep the run short).
  describe('without subgroups (conv2d_rows, conv2d_gemm)', () => {
    before(() => { e.subgroups = false; });
    after(() => { e.subgroups = true; });
    for (const [i, c] of cases.entries()) {
      if (c.cout / c.group < GEMM.minCoutPerGroup || i % 2 === 1) continue;
      it(`matches the reference: ${describe1(c)}`, async () => {
        expect(await check(e, c, 2000 + i), describe1(c)).to.be.below(1e-4);
      });
    }
    it('full register blocks, 3×3 pad 1', async () => {
      const c: ConvCase = { n: 2, cin: 19, h: 23, w: 29, cout: GEMM.TM * 3 + 1, kernel: [3, 3], stride: [1, 1], pads: [1, 0, 2, 1], dilation: [1, 1], group: 1, bias: true, relu: false };
      expect(await check(e, c, 7)).to.be.below(1e-4);
    });
  });
});
