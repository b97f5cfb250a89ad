// Convolution lowering: picks the kernel for a conv node. The implicit-GEMM kernel
// (kernels/conv2d_gemm.wgsl) handles every conv with at least GEMM.minCoutPerGroup output channels
// per group; the direct kernel stays for depthwise and other narrow-group convs, where a register
// block of output channels would be mostly empty.

import type { Dispatch } from './gpu.ts';
import type { ConvAttrs } from './ir.ts';
import type { LowerContext } from './ops/types.ts';
import * as K from '../kernels/index.ts';
import { numel } from './geometry.ts';
import * as RK from '../kernels/reverse.ts';

/**
 * Register block of conv2d_gemm: TM output channels × TN pixels per invocation, WG invocations per
 * workgroup. TM and TN must match the constants in kernels/conv2d_gemm.wgsl (benchmarks that patch
 * the shader text change them together).
 */
export const GEMM = {
  TM: 8,
  TN: 4,
  WG: 64,
  /** Below this many output channels per group the direct kernel is used (depthwise and the like). */
  minCoutPerGroup: 4,
};

/** Register block of conv2d_gemm's SUBGROUPS variant (fixed in the shader: two weight loads of 8 lanes per k); used when Engine.subgroups. */
export const GEMM_SG = { TM: 16, TN: 4, WG: 64 };

export function lowerConv(ctx: LowerContext, a: ConvAttrs, x: number[], y: number[], xb: GPUBuffer, yb: GPUBuffer, relu: boolean, label: string, flops?: number): Dispatch[] {
  if (y[1]! / a.group >= GEMM.minCoutPerGroup) return [conv2dGemm(ctx, a, x, y, xb, yb, relu, label, flops)];
  return [conv2dDirect(ctx, a, x, y, xb, yb, relu, label, flops)];
}

/** Whether a conv is a plain GEMM over the input: 1×1, stride 1, no padding (dilation is then moot). */
export function isPointwise(a: ConvAttrs): boolean {
  return a.kernel[0] === 1 && a.kernel[1] === 1 && a.stride[0] === 1 && a.stride[1] === 1 && a.pads.every((p) => p === 0);
}

/**
 * Weights [Cout, Cin/g, KH, KW] re-laid out as [g][ky][kx][ci][coPad] (the GEMM's K×M panel per
 * group, tap-major K), Cout/g padded with zeros to a multiple of `tm`. The context hands out
 * parameters as GPU buffers only, so the re-layout is a one-time GPU dispatch submitted when the
 * derived buffer is first created (queue order puts it before any run that reads it).
 */
export function gemmWeights(ctx: LowerContext, a: ConvAttrs, cout: number, cinPg: number, tm: number): GPUBuffer {
  const [kh, kw] = a.kernel;
  const group = a.group;
  const coutPg = cout / group;
  const coPad = Math.ceil(coutPg / tm) * tm;
  const total = group * kh * kw * cinPg * coPad;
  let fresh = false;
  const wt = ctx.derived(`gemm${tm}:${a.weight}:${group}`, () => {
    fresh = true;
    return new Float32Array(total);
  });
  if (fresh) {
    const e = ctx.engine;
    const d = e.makeDispatch(K.convWeightsGemm, {
      uniforms: { total, coutPg, coPad, cinPg, kh, kw },
      bindings: { w: ctx.param(a.weight), wt }, threads: total, label: `relayout:${a.weight}`,
    });
    const enc = e.device.createCommandEncoder();
    e.encode(enc, [d]);
    e.device.queue.submit([enc.finish()]);
  }
  return wt;
}

/**
 * Region mode (engine/region.ts): the input x holds a clean prefix and per-image rectangles, the
 * output gets only the rectangles. `rhOut`×`rwOut` replace the output map in the pixel count.
 */
export interface ConvRegion {
  org: GPUBuffer;
  rhIn: number;
  rwIn: number;
  rbIn: number;
  orgIn: number;
  rhOut: number;
  rwOut: number;
  rbOut: number;
  orgOut: number;
  /** channels of the buffer written (a concat's, when the conv writes its slice of it); default Cout */
  yChannels?: number;
}

export function conv2dGemm(ctx: LowerContext, a: ConvAttrs, x: number[], y: number[], xb: GPUBuffer, yb: GPUBuffer, relu: boolean, label: string, flops?: number, region?: ConvRegion): Dispatch {
  const sg = ctx.engine.subgroups;
  const { TM, TN, WG } = sg ? GEMM_SG : GEMM;
  const cin = x[1]!, cout = y[1]!, group = a.group;
  const cinPg = cin / group, coutPg = cout / group;
  const [kh, kw] = a.kernel;
  const coPad = Math.ceil(coutPg / TM) * TM;
  const wt = gemmWeights(ctx, a, cout, cinPg, TM);
  const pointwise = isPointwise(a);
  const defines = [...(a.bias ? ['HAS_BIAS'] : []), ...(relu ? ['RELU'] : []), ...(pointwise ? ['POINTWISE'] : []), ...(region ? ['REGION'] : []), ...(sg ? ['SUBGROUPS'] : [])];
  const [oh, ow] = region ? [region.rhOut, region.rwOut] : [y[2]!, y[3]!];
  const npix = y[0]! * oh * ow;
  return ctx.engine.makeDispatch(K.conv2dGemm, {
    defines,
    overrides: { WG },
    uniforms: {
      npix, cin, cinPg, hw: x[2]! * x[3]!, w: x[3]!, h: x[2]!, ow, ohw: oh * ow, cout: region?.yChannels ?? cout, coutPg, coPad4: coPad / 4,
      kh, kw, sh: a.stride[0], sw: a.stride[1], pt: a.pads[0], pl: a.pads[1], dh: a.dilation[0], dw: a.dilation[1],
      ...(region ? { rhIn: region.rhIn, rwIn: region.rwIn, rbIn: region.rbIn, orgIn: region.orgIn, rbOut: region.rbOut, orgOut: region.orgOut } : {}),
    },
    bindings: { x: xb, wt, bias: a.bias ? ctx.param(a.bias) : undefined, y: yb, org: region?.org },
    workgroups: [Math.ceil(npix / (WG * TN)), coPad / TM, group],
    label, flops,
  });
}

export function conv2dDirect(ctx: LowerContext, a: ConvAttrs, x: number[], y: number[], xb: GPUBuffer, yb: GPUBuffer, relu: boolean, label: string, flops?: number): Dispatch {
  const cin = x[1]!, cout = y[1]!;
  const defines = [...(a.bias ? ['HAS_BIAS'] : []), ...(relu ? ['RELU'] : [])];
  const total = numel(y);
  return ctx.engine.makeDispatch(K.conv2dDirect, {
    defines,
    uniforms: {
      total, cin, h: x[2]!, w: x[3]!, cout, oh: y[2]!, ow: y[3]!, kh: a.kernel[0], kw: a.kernel[1], sh: a.stride[0], sw: a.stride[1],
      pt: a.pads[0], pl: a.pads[1], dh: a.dilation[0], dw: a.dilation[1], cinPerGroup: cin / a.group, coutPerGroup: cout / a.group,
    },
    bindings: { x: xb, wt: ctx.param(a.weight), bias: a.bias ? ctx.param(a.bias) : undefined, y: yb }, threads: total, label, flops,
  });
}

/**
 * The input gradient dx of a conv from dy, on the fast forward conv kernels:
 *  - stride 1 with pads ≤ d(k−1): a conv of dy with the filters flipped and transposed
 *    (Cin ↔ Cout within each group) and pads d(k−1)−p;
 *  - otherwise (strides, large pads): the columns W^T·dy as one 1×1 conv (a GEMM), then col2im
 *    gathers each input pixel's taps.
 * `scratch` gives the column buffer of the second route.
 */
export function convInputGrad(base: LowerContext, a: ConvAttrs, xs: number[], ys: number[], dy: GPUBuffer, dx: GPUBuffer, label: string, scratch: (bytes: number, label: string) => GPUBuffer): Dispatch[] {
  const e = base.engine;
  const [kh, kw] = a.kernel;
  const [dh, dw] = a.dilation;
  const cout = ys[1]!, cin = xs[1]!, g = a.group;
  const coPg = cout / g, ciPg = cin / g;
  const w = () => base.paramData(a.weight); // [cout][ciPg][kh][kw]
  const withParam = (name: string, make: () => Float32Array): LowerContext => ({
    ...base,
    param: (n) => (n === name ? base.derived(name, make) : base.param(n)),
    paramData: (n) => (n === name ? make() : base.paramData(n)),
    paramSize: (n) => (n === name ? base.paramSize(a.weight) : base.paramSize(n)),
  });
  const pads: [number, number, number, number] = [dh * (kh - 1) - a.pads[0], dw * (kw - 1) - a.pads[1], dh * (kh - 1) - a.pads[2], dw * (kw - 1) - a.pads[3]];
  if (a.stride[0] === 1 && a.stride[1] === 1 && pads.every((p) => p >= 0)) {
    const name = `flipT:${a.weight}`;
    const flipped = () => {
      const src = w();
      const out = new Float32Array(src.length); // [cin][coPg][kh][kw]
      for (let gi = 0; gi < g; gi++)
        for (let co = 0; co < coPg; co++)
          for (let ci = 0; ci < ciPg; ci++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++)
                out[(((gi * ciPg + ci) * coPg + co) * kh + ky) * kw + kx] = src[(((gi * coPg + co) * ciPg + ci) * kh + (kh - 1 - ky)) * kw + (kw - 1 - kx)]!;
      return out;
    };
    const t: ConvAttrs = { kernel: a.kernel, stride: [1, 1], pads, dilation: a.dilation, group: g, weight: name };
    return lowerConv(withParam(name, flipped), t, ys, xs, dy, dx, false, label);
  }
  // Columns: a 1×1 conv from Cout channels to g·ciPg·kh·kw, weight [g·ciPg·k²][coPg].
  const taps = kh * kw;
  const name = `colsT:${a.weight}`;
  const colsWeights = () => {
    const src = w();
    const out = new Float32Array(src.length);
    for (let gi = 0; gi < g; gi++)
      for (let ci = 0; ci < ciPg; ci++)
        for (let t = 0; t < taps; t++)
          for (let co = 0; co < coPg; co++) out[((gi * ciPg + ci) * taps + t) * coPg + co] = src[((gi * coPg + co) * ciPg + ci) * taps + t]!;
    return out;
  };
  const colShape = [ys[0]!, cin * taps, ys[2]!, ys[3]!];
  const cols = scratch(numel(colShape) * 4, `cols:${label}`);
  const one: ConvAttrs = { kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], group: g, weight: name };
  const total = numel(xs);
  return [
    ...lowerConv(withParam(name, colsWeights), one, ys, colShape, dy, cols, false, `${label}:cols`),
    e.makeDispatch(RK.col2im, {
      uniforms: { total, c: cin, h: xs[2]!, w: xs[3]!, oh: ys[2]!, ow: ys[3]!, kh, kw, sh: a.stride[0], sw: a.stride[1], pt: a.pads[0], pl: a.pads[1], dh, dw },
      bindings: { cols, dx }, threads: total, label: `${label}:col2im`,
    }),
  ];
}
