// Convolution lowering: picks the kernel for a conv node. The implicit-GEMM kernel
// (kernels/conv2d_gemm.wgsl) handles every conv with at least GEMM.minCoutPerGroup output channels
// per group; the direct kernel stays for depthwise and other narrow-group convs, where a register
// block of output channels would be mostly empty. Stride-1 3×3 convs may instead run as Winograd
// F(2×2, 3×3) (engine/winograd.ts), by Engine.convAlgorithm, when the caller offers scratch space.

import type { Dispatch, Engine } from './gpu.ts';
import type { ConvAttrs } from './ir.ts';
import type { LowerContext, RegionIO } from './ops/types.ts';
import * as K from '../kernels/index.ts';
import { fillingWg, numel } from './geometry.ts';
import * as RK from '../kernels/reverse.ts';
import * as TK from '../kernels/train.ts';
import { convWeightGrad as convWeightGradGeneral, fcInputGrad as fcInputGradDirect } from './reverse-kernels.ts';
import { tunedChoice } from './tune.ts';
import { useWinograd, winogradInput, winogradOutput, winogradScratch, winogradTarget, winogradTiles, winogradWeights, type Scratch } from './winograd.ts';

/**
 * Register block of conv2d_gemm: TM output channels × TN pixels per invocation (the workgroup's
 * width is defaultGemmWg's, or a tuning's). TM and TN must match the constants in kernels/conv2d_gemm.wgsl (benchmarks that patch
 * the shader text change them together).
 */
export const GEMM = {
  TM: 8,
  TN: 4,
  /** Below this many output channels per group the direct kernel is used (depthwise and the like). */
  minCoutPerGroup: 4,
};

/** Register block of conv2d_gemm's SUBGROUPS variant (fixed in the shader: two weight loads of 8 lanes per k); used when Engine.subgroups. */
export const GEMM_SG = { TM: 16, TN: 4 };

/**
 * The dispatches of one conv: Winograd where `useWinograd` says so and `scratch` is offered, else
 * conv2d_gemm for GEMM-wide groups, else the direct kernel. Where the engine has a tuning for the
 * conv's shape class (engine/tune.ts, Engine.tune on), it sets the GEMM's workgroup size and
 * subgroup use and, under convAlgorithm 'auto', GEMM or Winograd; otherwise today's defaults.
 */
export function lowerConv(ctx: LowerContext, a: ConvAttrs, x: number[], y: number[], xb: GPUBuffer, yb: GPUBuffer, relu: boolean, label: string, flops?: number, scratch?: Scratch): Dispatch[] {
  const t = tunedChoice(ctx.engine, a, x, y);
  if (scratch && useWinograd(ctx.engine, a, x, y)) return conv2dWinograd(ctx, a, x, y, xb, yb, relu, label, scratch, t?.subgroups);
  if (y[1]! / a.group >= GEMM.minCoutPerGroup) return [conv2dGemm(ctx, a, x, y, xb, yb, relu, label, flops, undefined, undefined, t?.wg || undefined, t?.subgroups)];
  return [conv2dDirect(ctx, a, x, y, xb, yb, relu, label, flops)];
}

/** Whether a conv is a plain GEMM over the input: 1×1, stride 1, no padding (dilation is then moot). */
export function isPointwise(a: ConvAttrs): boolean {
  return a.kernel[0] === 1 && a.kernel[1] === 1 && a.stride[0] === 1 && a.stride[1] === 1 && a.pads.every((p) => p === 0);
}

/**
 * Weights [Cout, Cin/g, KH, KW] re-laid out as [g][ky][kx][ci][coPad] (the GEMM's K×M panel per
 * group, tap-major K), Cout/g padded with zeros to a multiple of `tm`: derived on the GPU from the
 * parameter buffer once per model (and rebuilt after training steps, Model.refreshDerived).
 */
export function gemmWeights(ctx: LowerContext, a: ConvAttrs, cout: number, cinPg: number, tm: number): GPUBuffer {
  const [kh, kw] = a.kernel;
  const group = a.group;
  const coutPg = cout / group;
  const coPad = Math.ceil(coutPg / tm) * tm;
  const total = group * kh * kw * cinPg * coPad;
  return ctx.derivedGpu(`gemm${tm}:${a.weight}:${group}`, total, (wt) => [
    ctx.engine.makeDispatch(K.convWeightsGemm, { uniforms: { total, coutPg, coPad, cinPg, kh, kw }, bindings: { w: ctx.param(a.weight), wt }, threads: total, label: `relayout:${a.weight}` }),
  ]);
}

/**
 * The direct route's workgroup width (conv2d_rows, or conv2d_gemm for pointwise convs) for output
 * shape `y` (in region mode the rectangles'), untuned: the block's 64, narrowed where the columns are
 * few (fillingWg: a 7×7 map at batch 1 is 14 row blocks, 13 invocations of pointwise pixels).
 */
export function defaultGemmWg(a: ConvAttrs, y: number[], sg: boolean, region?: ConvRegion): number {
  const [oh, ow] = region ? [region.rhOut, region.rwOut] : [y[2]!, y[3]!];
  if (!isPointwise(a) && rowsFit(a)) return fillingWg(y[0]! * oh * Math.ceil(ow / ROWS.TN), 1);
  return fillingWg(y[0]! * oh * ow, (sg ? GEMM_SG : GEMM).TN);
}

/** Region mode (engine/region.ts): `region` says where the input and output rectangles sit; `rhOut`×`rwOut` replace the output map in the pixel count. */
export type ConvRegion = RegionIO;

/**
 * `panel`: the weight panel [g][k][coPad] when the caller derived it (Winograd's U), else the conv's
 * weights re-laid out; `wg`: invocations per workgroup (a multiple of 8) instead of the default, the
 * block's 64 narrowed for few columns (fillingWg: a 7×7 map at batch 1 is 13 invocations' work);
 * `subgroups`: the SUBGROUPS variant on or off instead of Engine.subgroups (on only where that allows it).
 */
export function conv2dGemm(ctx: LowerContext, a: ConvAttrs, x: number[], y: number[], xb: GPUBuffer, yb: GPUBuffer, relu: boolean, label: string, flops?: number, region?: ConvRegion, panel?: GPUBuffer, wg?: number, subgroups?: boolean): Dispatch {
  const sg = ctx.engine.subgroups && (subgroups ?? true);
  const { TM, TN } = sg ? GEMM_SG : GEMM;
  const cin = x[1]!, cout = y[1]!, group = a.group;
  const cinPg = cin / group, coutPg = cout / group;
  const [kh, kw] = a.kernel;
  const coPad = Math.ceil(coutPg / TM) * TM;
  const wt = panel ?? gemmWeights(ctx, a, cout, cinPg, TM);
  const pointwise = isPointwise(a);
  const WG = wg ?? defaultGemmWg(a, y, sg, region);
  if (!pointwise && rowsFit(a)) return conv2dRows(ctx, a, x, y, xb, yb, relu, label, flops, wt, WG, sg, region);
  const [oh, ow] = region ? [region.rhOut, region.rwOut] : [y[2]!, y[3]!];
  const npix = y[0]! * oh * ow;
  const defines = [...(a.bias ? ['HAS_BIAS'] : []), ...(relu ? ['RELU'] : []), ...(pointwise ? ['POINTWISE'] : []), ...(region ? ['REGION'] : []), ...(sg ? ['SUBGROUPS'] : [])];
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

/**
 * One dispatch of conv2d_gemm as the dense GEMM y[n][yOff + r] = Σ_k x[n][k] · W(r, k) (+ b, ReLU) over
 * 1×1 maps, the n images as columns: `rows` rows of `rowTotal` per image written from `yOff` on
 * (Y_OFFSET). W is `wt`, either the panel [k][coPad] (coPad a multiple of 4) or, with `wtRows`, the
 * rows [rows][k] of a parameter (WT_ROWS, SUBGROUPS loads only). fcGemm and fcInputGrad below.
 */
function denseGemm(e: Engine, o: { n: number; k: number; rows: number; rowTotal: number; yOff: number; coPad: number; sg: boolean; wtRows: boolean; x: GPUBuffer; wt: GPUBuffer; bias?: GPUBuffer; y: GPUBuffer; relu: boolean; label: string; flops?: number }): Dispatch {
  const { TM, TN } = o.sg ? GEMM_SG : GEMM;
  const WG = fillingWg(o.n, TN);
  return e.makeDispatch(K.conv2dGemm, {
    defines: [...(o.bias ? ['HAS_BIAS'] : []), ...(o.relu ? ['RELU'] : []), 'POINTWISE', 'Y_OFFSET', ...(o.sg ? ['SUBGROUPS'] : []), ...(o.wtRows ? ['WT_ROWS'] : [])],
    overrides: { WG },
    uniforms: {
      npix: o.n, cin: o.k, cinPg: o.k, hw: 1, w: 1, h: 1, ow: 1, ohw: 1, cout: o.rowTotal, coutPg: o.rows, coPad4: o.coPad / 4,
      kh: 1, kw: 1, sh: 1, sw: 1, pt: 0, pl: 0, dh: 1, dw: 1, yOff: o.yOff,
    },
    bindings: { x: o.x, wt: o.wt, bias: o.bias, y: o.y },
    workgroups: [Math.ceil(o.n / (WG * TN)), Math.ceil(o.rows / TM), 1],
    label: o.label, flops: o.flops,
  });
}

/**
 * Outputs [o0, o0 + rows) of a fully-connected layer with `outTotal` outputs (engine/ops/dense.ts), as
 * conv2d_gemm's WT_ROWS variant: the 1×1 conv over x viewed as [n][inF][1][1], the images as columns,
 * read from the weights' own rows `wt` ([rows][inF]: the parameter or a slice of it) by the SUBGROUPS
 * loads (the caller checks Engine.subgroups); `bias` holds the same rows.
 */
export function fcGemm(e: Engine, n: number, inF: number, rows: number, outTotal: number, o0: number, xb: GPUBuffer, wt: GPUBuffer, bias: GPUBuffer | undefined, yb: GPUBuffer, relu: boolean, label: string, flops?: number): Dispatch {
  return denseGemm(e, { n, k: inF, rows, rowTotal: outTotal, yOff: o0, coPad: Math.ceil(rows / GEMM_SG.TM) * GEMM_SG.TM, sg: true, wtRows: true, x: xb, wt, bias, y: yb, relu, label, flops });
}

/**
 * fcInputGrad's routes: `gemmMinBatch`, the images from which weights that fit one binding go to
 * conv2d_gemm (below it fc_backward.wgsl, whose one invocation per dx element wins for a single
 * image: AlexNet's fc7 on lavapipe, GPU timestamps, fc_backward → conv2d_gemm: 1 image 30–31 →
 * 60–68 ms, 2 images 52–86 → 66–77, 3 images 97–144 → 86–96, 4 images 117–156 → 63–89, 16 images
 * 423–497 → 81–101, 64 images 1,546–1,599 → 166–178); `colsMax`, columns of W per dispatch at most
 * (0: as many as one storage binding holds), for specs of the split.
 */
export const FC_GRAD = { gemmMinBatch: 3, colsMax: 0 };

/**
 * A fully-connected layer's input gradient dx [n][inF] = dy [n][outF] · W [outF][inF], where W is the
 * parameter `weight`. W is itself a GEMM weight panel [k = o][co = i], so this is conv2d_gemm's
 * pointwise GEMM over dy viewed as [n][outF][1][1], the images as columns, with the parameter as the
 * panel when inF is a multiple of 4 (the panel's vec4 rows) and W fits one storage binding. Larger
 * weights (AlexNet's fc6, 151 MB, VGG's 411 MB: more than a browser's default 128 MiB binding) go as
 * blocks of columns, each copied once per model into a panel of its own (padded to the register
 * block with zeros) and written to its columns of dx (Y_OFFSET). Weights that fit go to
 * kernels/fc_backward.wgsl (one invocation per dx element) below FC_GRAD.gemmMinBatch images or
 * when inF is not a multiple of 4. Why not only fc_backward: it loads two values per multiply-add
 * and reads W once per image; this loads 6 per 64 (with subgroups) and W once per 4 × the
 * workgroup's images, 4–9× faster from 16 images on (FC_GRAD).
 */
export function fcInputGrad(ctx: LowerContext, n: number, inF: number, outF: number, dy: GPUBuffer, weight: string, dx: GPUBuffer, label: string): Dispatch[] {
  const e = ctx.engine;
  const fits = inF * outF * 4 <= e.maxBindingBytes && !FC_GRAD.colsMax;
  if (fits && (inF % 4 !== 0 || n < FC_GRAD.gemmMinBatch)) return [fcInputGradDirect(e, n, inF, outF, dy, ctx.param(weight), dx, label)];
  const sg = e.subgroups;
  const { TM } = sg ? GEMM_SG : GEMM;
  const cols = fits ? inF : Math.max(TM, Math.floor(Math.min(FC_GRAD.colsMax || Infinity, e.maxBindingBytes / (outF * 4)) / TM) * TM);
  const ds: Dispatch[] = [];
  for (let c0 = 0; c0 < inF; c0 += cols) {
    const cnt = Math.min(cols, inF - c0);
    // the parameter as the panel (rows of inF), or this block's columns padded to coPad
    const coPad = fits ? inF : Math.ceil(cnt / TM) * TM;
    const wt = fits ? ctx.param(weight) : ctx.derived(`${weight}:columns[${c0}:${c0 + cnt}]/${coPad}`, () => {
      const w = ctx.paramData(weight);
      const out = new Float32Array(outF * coPad);
      for (let o = 0; o < outF; o++) out.set(w.subarray(o * inF + c0, o * inF + c0 + cnt), o * coPad);
      return out;
    });
    ds.push(denseGemm(e, { n, k: outF, rows: cnt, rowTotal: inF, yOff: c0, coPad, sg, wtRows: false, x: dy, wt, y: dx, relu: false, label, flops: 2 * n * cnt * outF }));
  }
  return ds;
}

/** conv2d_rows's register block: TN neighbouring pixels of one row, SEGMAX input columns under a kernel row at most. */
export const ROWS = { TN: 4, SEGMAX: 40 };

/** Whether conv2d_rows takes a conv: the input columns under one kernel row fit its registers. */
export function rowsFit(a: ConvAttrs): boolean {
  return (ROWS.TN - 1) * a.stride[1] + (a.kernel[1] - 1) * a.dilation[1] + 1 <= ROWS.SEGMAX;
}

/**
 * conv2d_rows (kernels/conv2d_rows.wgsl): conv2dGemm's work for a conv that is not pointwise, each
 * invocation on TN neighbours of one output row, so that the inputs under a kernel row are loaded
 * once for all its taps; the same weight panel `wt`, block of channels, workgroup size and region.
 */
function conv2dRows(ctx: LowerContext, a: ConvAttrs, x: number[], y: number[], xb: GPUBuffer, yb: GPUBuffer, relu: boolean, label: string, flops: number | undefined, wt: GPUBuffer, WG: number, sg: boolean, region?: ConvRegion): Dispatch {
  const { TM } = sg ? GEMM_SG : GEMM;
  const cin = x[1]!, cout = y[1]!, group = a.group;
  const cinPg = cin / group, coutPg = cout / group;
  const coPad = Math.ceil(coutPg / TM) * TM;
  const [oh, ow] = region ? [region.rhOut, region.rwOut] : [y[2]!, y[3]!];
  const nbx = Math.ceil(ow / ROWS.TN);
  const nblk = y[0]! * oh * nbx;
  return ctx.engine.makeDispatch(K.conv2dRows, {
    defines: [...(a.bias ? ['HAS_BIAS'] : []), ...(relu ? ['RELU'] : []), ...(region ? ['REGION'] : []), ...(sg ? ['SUBGROUPS'] : [])],
    overrides: { WG, KW: a.kernel[1], SW: a.stride[1], DW: a.dilation[1] },
    uniforms: {
      nblk, nbx, cin, cinPg, hw: x[2]! * x[3]!, w: x[3]!, h: x[2]!, oh, ow, ohw: oh * ow, cout: region?.yChannels ?? cout, coutPg, coPad4: coPad / 4,
      kh: a.kernel[0], sh: a.stride[0], pt: a.pads[0], pl: a.pads[1], dh: a.dilation[0],
      ...(region ? { rhIn: region.rhIn, rwIn: region.rwIn, rbIn: region.rbIn, orgIn: region.orgIn, rbOut: region.rbOut, orgOut: region.orgOut } : {}),
    },
    bindings: { x: xb, wt, bias: a.bias ? ctx.param(a.bias) : undefined, y: yb, org: region?.org },
    workgroups: [Math.ceil(nblk / WG), coPad / TM, group],
    label, flops,
  });
}

/**
 * Winograd F(2×2, 3×3) (engine/winograd.ts): input transform into scratch V, the 16 products as one
 * grouped pointwise conv2d_gemm into scratch M (weights: the derived U), output transform into y.
 * The GEMM dispatch carries its own FLOPs (2·16·Cout·Cin·P); the direct conv's count is the node's.
 * `region`: region mode (engine/region.ts): the tiles cover each image's output rectangle, read
 * from its input rectangle or the clean prefix, written into its output rectangle.
 */
export function conv2dWinograd(ctx: LowerContext, a: ConvAttrs, x: number[], y: number[], xb: GPUBuffer, yb: GPUBuffer, relu: boolean, label: string, scratch: Scratch, subgroups?: boolean, region?: ConvRegion): Dispatch[] {
  const sg = ctx.engine.subgroups && (subgroups ?? true);
  const cin = x[1]!, cout = y[1]!;
  const t = winogradTarget(y, region);
  const npix = y[0]! * winogradTiles(t).tiles;
  const bytes = winogradScratch(x, t);
  const v = scratch(bytes.v, `${label}:winograd-v`);
  const m = scratch(bytes.m, `${label}:winograd-m`);
  const tm = sg ? GEMM_SG.TM : GEMM.TM;
  const u = winogradWeights(ctx, a, cin, cout, tm);
  const grouped: ConvAttrs = { kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], group: 16, weight: `wino${tm}:${a.weight}` };
  return [
    winogradInput(ctx.engine, a, x, y, xb, v, `${label}:winograd-in`, region),
    conv2dGemm(ctx, grouped, [1, 16 * cin, 1, npix], [1, 16 * cout, 1, npix], v, m, false, `${label}:winograd-gemm`, 2 * 16 * cout * cin * npix, undefined, u, undefined, sg),
    winogradOutput(ctx, a, y, m, yb, relu, `${label}:winograd-out`, region),
  ];
}

/** `region`: region mode (engine/region.ts), as conv2dGemm's: the output rectangle replaces the output map. */
export function conv2dDirect(ctx: LowerContext, a: ConvAttrs, x: number[], y: number[], xb: GPUBuffer, yb: GPUBuffer, relu: boolean, label: string, flops?: number, region?: ConvRegion): Dispatch {
  const cin = x[1]!, cout = y[1]!;
  const defines = [...(a.bias ? ['HAS_BIAS'] : []), ...(relu ? ['RELU'] : []), ...(region ? ['REGION'] : [])];
  const [oh, ow] = region ? [region.rhOut, region.rwOut] : [y[2]!, y[3]!];
  const total = y[0]! * cout * oh * ow;
  return ctx.engine.makeDispatch(K.conv2dDirect, {
    defines,
    uniforms: {
      total, cin, h: x[2]!, w: x[3]!, cout, oh, ow, kh: a.kernel[0], kw: a.kernel[1], sh: a.stride[0], sw: a.stride[1],
      pt: a.pads[0], pl: a.pads[1], dh: a.dilation[0], dw: a.dilation[1], cinPerGroup: cin / a.group, coutPerGroup: cout / a.group,
      ...(region ? { rhIn: region.rhIn, rwIn: region.rwIn, rbIn: region.rbIn, orgIn: region.orgIn, cy: region.yChannels ?? cout, rbOut: region.rbOut, orgOut: region.orgOut } : {}),
    },
    bindings: { x: xb, wt: ctx.param(a.weight), bias: a.bias ? ctx.param(a.bias) : undefined, y: yb, org: region?.org }, threads: total, label, flops,
  });
}

/**
 * The input gradient dx of a conv from dy, on the fast forward conv kernels (the one strategy of
 * every reverse pass and of training):
 *  - stride 1 with pads ≤ d(k−1): a conv of dy with the filters flipped and transposed
 *    (Cin ↔ Cout within each group) and pads d(k−1)−p;
 *  - otherwise (strides, large pads): the columns W^T·dy as one 1×1 conv (a GEMM), then col2im
 *    gathers each input pixel's taps.
 * The re-arranged filters are derived on the GPU from the weight buffer (kernels/flip_weights.wgsl),
 * so they follow the weights through training. `scratch` gives the column buffer of the second route.
 * `columns` takes the second route always: a transposed conv's forward pass (engine/ops/conv.ts),
 * where dy is the smaller map and the first route would mostly multiply its padding.
 */
export function convInputGrad(base: LowerContext, a: ConvAttrs, xs: number[], ys: number[], dy: GPUBuffer, dx: GPUBuffer, label: string, scratch: (bytes: number, label: string) => GPUBuffer, columns = false): Dispatch[] {
  const e = base.engine;
  const [kh, kw] = a.kernel;
  const [dh, dw] = a.dilation;
  const cout = ys[1]!, cin = xs[1]!, g = a.group;
  const coPg = cout / g, ciPg = cin / g;
  const total = cout * ciPg * kh * kw;
  /** the context with parameter `name` standing for the weights re-arranged by flip_weights (COLS or not) */
  const withDerived = (name: string, cols: boolean): LowerContext => ({
    ...base,
    param: (n) =>
      n !== name
        ? base.param(n)
        : base.derivedGpu(name, total, (wt) => [
            e.makeDispatch(RK.flipWeights, { defines: cols ? ['COLS'] : [], uniforms: { total, coPg, ciPg, kh, kw }, bindings: { w: base.param(a.weight), wt }, threads: total, label: `${cols ? 'cols' : 'flip'}:${a.weight}` }),
          ]),
  });
  const pads: [number, number, number, number] = [dh * (kh - 1) - a.pads[0], dw * (kw - 1) - a.pads[1], dh * (kh - 1) - a.pads[2], dw * (kw - 1) - a.pads[3]];
  if (!columns && a.stride[0] === 1 && a.stride[1] === 1 && pads.every((p) => p >= 0)) {
    const name = `flipT:${a.weight}`; // [cin][coPg][kh][kw]
    const t: ConvAttrs = { kernel: a.kernel, stride: [1, 1], pads, dilation: a.dilation, group: g, weight: name };
    return lowerConv(withDerived(name, false), t, ys, xs, dy, dx, false, label, undefined, scratch);
  }
  // Columns: a 1×1 conv from Cout channels to g·ciPg·kh·kw, weight [g·ciPg·k²][coPg].
  const taps = kh * kw;
  const name = `colsT:${a.weight}`;
  const colShape = [ys[0]!, cin * taps, ys[2]!, ys[3]!];
  const cols = scratch(numel(colShape) * 4, `cols:${label}`);
  const one: ConvAttrs = { kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], group: g, weight: name };
  const n = numel(xs);
  return [
    ...lowerConv(withDerived(name, true), one, ys, colShape, dy, cols, false, `${label}:cols`),
    e.makeDispatch(RK.col2im, {
      uniforms: { total: n, c: cin, h: xs[2]!, w: xs[3]!, oh: ys[2]!, ow: ys[3]!, kh, kw, sh: a.stride[0], sw: a.stride[1], pt: a.pads[0], pl: a.pads[1], dh, dw },
      bindings: { cols, dx }, threads: n, label: `${label}:col2im`,
    }),
  ];
}

/**
 * dW of a conv from its input x and dy: the tiled GEMM kernel for group 1 (the images split over
 * several partial sums when the tiles alone are few, then reduced in a fixed order), else the
 * general one-workgroup-per-weight kernel. `scratch` gives the partial sums.
 */
export function convWeightGrad(e: Engine, a: ConvAttrs, xs: number[], ys: number[], x: GPUBuffer, dy: GPUBuffer, dw: GPUBuffer, label: string, scratch: (bytes: number, label: string) => GPUBuffer): Dispatch[] {
  if (a.group !== 1) return [convWeightGradGeneral(e, a, xs, ys, x, dy, dw, label)];
  const [n, cin, h, w] = xs as [number, number, number, number];
  const [, cout, oh, ow] = ys as [number, number, number, number];
  const [kh, kw] = a.kernel;
  const rtot = cin * kh * kw;
  const total = cout * rtot;
  const tilesM = Math.ceil(cout / 4);
  const tilesN = Math.ceil(rtot / 4);
  const tiles = tilesM * tilesN;
  // Enough invocations to fill the device, but each split keeps a few images' worth of work.
  let splits = Math.max(1, Math.min(n, Math.ceil(4096 / tiles), Math.floor((n * oh * ow) / 64)));
  const nPer = Math.ceil(n / splits);
  splits = Math.ceil(n / nPer);
  const uniforms = { cout, rtot, nimg: n, cin, h, w, oh, ow, kh, kw, sh: a.stride[0], sw: a.stride[1], pt: a.pads[0], pl: a.pads[1], dh: a.dilation[0], dw: a.dilation[1], tilesM, tilesN, nPer, total, splits };
  const flops = 2 * total * n * oh * ow;
  if (splits === 1) return [e.makeDispatch(TK.convWeightGradTiled, { uniforms, bindings: { x, dy, part: dw }, threads: tiles, label, flops })];
  const part = scratch(splits * total * 4, `${label}:partials`);
  return [
    e.makeDispatch(TK.convWeightGradTiled, { uniforms, bindings: { x, dy, part }, threads: tiles * splits, label, flops }),
    e.makeDispatch(TK.convWeightGradTiled, { defines: ['REDUCE'], uniforms, bindings: { part, dwOut: dw }, threads: total, label: `${label}:reduce` }),
  ];
}
