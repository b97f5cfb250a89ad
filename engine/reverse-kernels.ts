// Dispatch builders of the reverse-pass kernels (kernels/reverse.ts), in the manner of ops.ts:
// each takes the forward op's attributes and shapes (NCHW, batch first) and the GPU buffers, and
// returns one Dispatch. Buffers are f32 unless noted; the output buffer is overwritten (not
// accumulated) unless the function says otherwise. All kernels gather (one invocation or workgroup
// per output element, no atomics), so results are deterministic.

import { foldWorkgroups, type Dispatch, type Engine } from './gpu.ts';
import type { ConvAttrs, PoolAttrs } from './ir.ts';
import * as K from '../kernels/index.ts';
import * as RK from '../kernels/reverse.ts';
import { poolUniforms as forwardPoolUniforms } from './geometry.ts';

/** The geometry of a conv (ConvAttrs works as is). */
export type ConvGeometry = Pick<ConvAttrs, 'kernel' | 'stride' | 'pads' | 'dilation' | 'group'>;
export type PoolGeometry = Pick<PoolAttrs, 'kernel' | 'stride' | 'pads' | 'countIncludePad'>;
export interface LrnAttrs {
  size: number;
  alpha: number;
  beta: number;
  bias: number;
}
/** gradient: dy·mask; guided: max(dy,0)·mask; deconv: max(dy,0) (no mask). */
export type ReluRule = 'gradient' | 'guided' | 'deconv';

const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const dims4 = (s: readonly number[], what: string): [number, number, number, number] => {
  if (s.length !== 4) throw new Error(`${what}: expected a 4-D NCHW shape, got [${s.join(', ')}]`);
  return s as unknown as [number, number, number, number];
};

// ---- convolution -------------------------------------------------------------------------

/**
 * Conv input gradient dx = conv_transpose(dy, W), dx of shape xShape = the conv's input [N, Cin, H, W]
 * (given explicitly, so strides that do not divide H work). dy: [N, Cout, OH, OW], w: the conv weight
 * [Cout, Cin/group, KH, KW]. Runs conv_transpose2d with the transpose's Cin = Cout and Cout = Cin: the
 * conv weight layout is exactly the transpose's [Cin_T, Cout_T/group, KH, KW].
 */
export function convInputGrad(e: Engine, a: ConvGeometry, xShape: number[], yShape: number[], dy: GPUBuffer, w: GPUBuffer, dx: GPUBuffer, label: string): Dispatch {
  const [, cin, h, wd] = dims4(xShape, label);
  const [, cout, oh, ow] = dims4(yShape, label);
  const total = numel(xShape);
  return e.makeDispatch(K.convTranspose2d, {
    uniforms: {
      total, cin: cout, h: oh, w: ow, cout: cin, oh: h, ow: wd, kh: a.kernel[0], kw: a.kernel[1], sh: a.stride[0], sw: a.stride[1],
      pt: a.pads[0], pl: a.pads[1], dh: a.dilation[0], dw: a.dilation[1], cinPerGroup: cout / a.group, coutPerGroup: cin / a.group,
    },
    bindings: { x: dy, wt: w, y: dx }, threads: total, label, flops: 2 * numel(yShape) * (cin / a.group) * a.kernel[0] * a.kernel[1],
  });
}

/** Conv weight gradient dW [Cout, Cin/group, KH, KW] from the forward input x [N, Cin, H, W] and dy [N, Cout, OH, OW]. */
export function convWeightGrad(e: Engine, a: ConvGeometry, xShape: number[], yShape: number[], x: GPUBuffer, dy: GPUBuffer, dw: GPUBuffer, label: string): Dispatch {
  const [n, cin, h, wd] = dims4(xShape, label);
  const [, cout, oh, ow] = dims4(yShape, label);
  const cinPerGroup = cin / a.group;
  const total = cout * cinPerGroup * a.kernel[0] * a.kernel[1];
  return e.makeDispatch(RK.conv2dWeightGrad, {
    uniforms: {
      total, nimg: n, cin, h, w: wd, cout, oh, ow, kh: a.kernel[0], kw: a.kernel[1], sh: a.stride[0], sw: a.stride[1],
      pt: a.pads[0], pl: a.pads[1], dh: a.dilation[0], dw: a.dilation[1], cinPerGroup, coutPerGroup: cout / a.group,
    },
    bindings: { x, dy, dw }, workgroups: foldWorkgroups(total), label, flops: 2 * total * n * oh * ow,
  });
}

/** Bias gradient db[c] = Σ_{n,p} dy[n,c,p] for dy [N, C, ...] (conv: [N, Cout, OH, OW]; fc: [N, out]). db: [C]. */
export function biasGrad(e: Engine, yShape: number[], dy: GPUBuffer, db: GPUBuffer, label: string): Dispatch {
  const channels = yShape[1] ?? 1;
  return e.makeDispatch(RK.channelSum, { uniforms: { channels, nimg: yShape[0]!, hw: numel(yShape.slice(2)) }, bindings: { dy, db }, workgroups: foldWorkgroups(channels), label });
}

// ---- pooling -----------------------------------------------------------------------------

/** The forward pool's uniforms (same layout), with `total` counting the gradient's elements: one per input pixel. */
function poolUniforms(a: PoolGeometry, xShape: number[], yShape: number[], label: string) {
  dims4(xShape, label);
  dims4(yShape, label);
  return { ...forwardPoolUniforms({ ...a, ceil: false }, xShape, yShape), total: numel(xShape) };
}

/**
 * Max-pool backward and DeconvNet unpooling: dx [N, C, H, W] (xShape) gets each dy [N, C, OH, OW] (yShape)
 * value at the input pixel its switch names (summed where overlapping windows chose the same pixel).
 * switches: i32 per pooled output, as written by pool2d MAX+SWITCHES.
 */
export function unpool(e: Engine, a: PoolGeometry, xShape: number[], yShape: number[], dy: GPUBuffer, switches: GPUBuffer, dx: GPUBuffer, label: string): Dispatch {
  const { hEnd: _h, wEnd: _w, countPad: _c, ...uniforms } = poolUniforms(a, xShape, yShape, label);
  return e.makeDispatch(RK.unpoolSwitches, { uniforms, bindings: { dy, switches, dx }, threads: uniforms.total, label });
}
export const maxPoolGrad = unpool;

/** Average-pool backward (divisors as pool2d's average path: countIncludePad, explicit bottom/right pads). */
export function avgPoolGrad(e: Engine, a: PoolGeometry, xShape: number[], yShape: number[], dy: GPUBuffer, dx: GPUBuffer, label: string): Dispatch {
  const uniforms = poolUniforms(a, xShape, yShape, label);
  return e.makeDispatch(RK.avgpoolBackward, { uniforms, bindings: { dy, dx }, threads: uniforms.total, label });
}

/** Global average-pool backward: dx [N, C, ...] (xShape) = dy [N, C] / (H·W) broadcast. */
export function globalAvgPoolGrad(e: Engine, xShape: number[], dy: GPUBuffer, dx: GPUBuffer, label: string): Dispatch {
  const total = numel(xShape);
  return e.makeDispatch(RK.globalAvgpoolBackward, { uniforms: { total, hw: numel(xShape.slice(2)) }, bindings: { dy, dx }, threads: total, label });
}

// ---- elementwise -------------------------------------------------------------------------

/**
 * ReLU reverse rule over `total` elements. `ref` is the f32 0/1 mask written by relu MASK, or the
 * forward input x when `fromInput` (mask = x > 0); it is ignored (may be undefined) for 'deconv'.
 */
export function reluBackward(e: Engine, rule: ReluRule, total: number, dy: GPUBuffer, ref: GPUBuffer | undefined, dx: GPUBuffer, label: string, fromInput = false): Dispatch {
  if (rule === 'deconv') return e.makeDispatch(RK.reluBackward, { defines: ['DECONV'], uniforms: { total, alpha: 0 }, bindings: { dy, dx }, threads: total, label });
  if (!ref) throw new Error(`${label}: the ${rule} rule needs the ReLU mask or the forward input`);
  const defines = [...(rule === 'guided' ? ['GUIDED'] : []), ...(fromInput ? ['FROM_X'] : [])];
  return e.makeDispatch(RK.reluBackward, { defines, uniforms: { total, alpha: 0 }, bindings: { dy, m: ref, dx }, threads: total, label });
}

/** Leaky ReLU backward: dx = dy · (x > 0 ? 1 : alpha), x the forward input. */
export function leakyReluGrad(e: Engine, alpha: number, total: number, dy: GPUBuffer, x: GPUBuffer, dx: GPUBuffer, label: string): Dispatch {
  return e.makeDispatch(RK.reluBackward, { defines: ['LEAKY'], uniforms: { total, alpha }, bindings: { dy, m: x, dx }, threads: total, label });
}

/** Clip / HardSigmoid reverse rule from the recorded pattern (clamp PATTERN): a·dy where the input was inside the clamp; `guided`: a·max(dy, 0) there. */
export function clampGrad(e: Engine, a: number, guided: boolean, total: number, dy: GPUBuffer, pattern: GPUBuffer, dx: GPUBuffer, label: string): Dispatch {
  return e.makeDispatch(RK.clampBackward, { defines: guided ? ['GUIDED'] : [], uniforms: { total, a }, bindings: { dy, pattern, dx }, threads: total, label });
}

/** Gradient of a unary.wgsl activation: ELU and HardSwish from the forward input v = x, sigmoid and tanh from the output v = y. */
export function unaryGrad(e: Engine, op: 'elu' | 'sigmoid' | 'tanh' | 'hardswish', alpha: number, total: number, dy: GPUBuffer, v: GPUBuffer, dx: GPUBuffer, label: string): Dispatch {
  return e.makeDispatch(RK.unaryBackward, { uniforms: { total, op: K.UNARY_OP[op], alpha }, bindings: { dy, v, dx }, threads: total, label });
}

/** Cross-channel LRN backward from the forward input x [N, C, ...] (xShape) and dy (same shape). */
export function lrnGrad(e: Engine, a: LrnAttrs, xShape: number[], x: GPUBuffer, dy: GPUBuffer, dx: GPUBuffer, label: string): Dispatch {
  const total = numel(xShape);
  return e.makeDispatch(RK.lrnBackward, {
    uniforms: { total, c: xShape[1]!, hw: numel(xShape.slice(2)), size: a.size, alphaOverSize: a.alpha / a.size, beta: a.beta, bias: a.bias },
    bindings: { x, dy, dx }, threads: total, label,
  });
}

/** Softmax (or log-softmax with `log`) backward along `axis` of `shape`, from the forward output y. */
export function softmaxGrad(e: Engine, shape: number[], axis: number, y: GPUBuffer, dy: GPUBuffer, dx: GPUBuffer, label: string, log = false): Dispatch {
  const ax = axis < 0 ? axis + shape.length : axis;
  const c = shape[ax]!;
  const inner = numel(shape.slice(ax + 1));
  const rows = numel(shape) / c;
  return e.makeDispatch(RK.softmaxBackward, { defines: log ? ['LOG'] : [], uniforms: { rows, c, inner }, bindings: { y, dy, dx }, threads: rows, label });
}

// ---- structure ---------------------------------------------------------------------------

/**
 * Concat backward: dx [N, cx, ...] (dxShape) = channels [c0, c0+cx) of dy [N, cy, ...] (dyShape).
 * With `accumulate`, dx += that slice (for a value read by several consumers).
 */
export function splitChannels(e: Engine, dyShape: number[], dxShape: number[], c0: number, dy: GPUBuffer, dx: GPUBuffer, label: string, accumulate = false): Dispatch {
  const total = numel(dxShape), hw = numel(dxShape.slice(2));
  return e.makeDispatch(RK.splitChannels, {
    defines: accumulate ? ['ACC'] : [],
    uniforms: { total, blk: dxShape[1]! * hw, ystride: dyShape[1]! * hw, off: c0 * hw },
    bindings: { dy, dx }, threads: total, label,
  });
}

/** Channel-slice backward (split_channels PAD): dx [N, cx, ...] (dxShape) holds dy [N, cy, ...] (dyShape) in channels [c0, c0 + cy), 0 elsewhere. */
export function padChannels(e: Engine, dyShape: number[], dxShape: number[], c0: number, dy: GPUBuffer, dx: GPUBuffer, label: string): Dispatch {
  const total = numel(dxShape);
  return e.makeDispatch(RK.splitChannels, { defines: ['PAD'], uniforms: { total, cx: dxShape[1]!, cy: dyShape[1]!, hw: numel(dxShape.slice(2)), c0 }, bindings: { dy, dx }, threads: total, label });
}

/** y += a over `total` elements (index.ts binary ACC): sums the gradients of a value's consumers. */
export function addInto(e: Engine, total: number, a: GPUBuffer, y: GPUBuffer, label: string): Dispatch {
  return e.makeDispatch(K.binary, { defines: ['ACC'], uniforms: { total }, bindings: { a, y }, threads: total, label });
}

// ---- fully connected ---------------------------------------------------------------------

/** FC input gradient dx [N, inF] = dy [N, outF] · W [outF, inF]. */
export function fcInputGrad(e: Engine, n: number, inF: number, outF: number, dy: GPUBuffer, w: GPUBuffer, dx: GPUBuffer, label: string): Dispatch {
  const total = n * inF;
  return e.makeDispatch(RK.fcBackward, { uniforms: { total, n, inF, outF }, bindings: { dy, b: w, out: dx }, threads: total, label, flops: 2 * total * outF });
}

/** FC weight gradient dW [outF, inF] = dyᵀ [outF, N] · x [N, inF]. */
export function fcWeightGrad(e: Engine, n: number, inF: number, outF: number, dy: GPUBuffer, x: GPUBuffer, dw: GPUBuffer, label: string): Dispatch {
  const total = outF * inF;
  return e.makeDispatch(RK.fcBackward, { defines: ['WEIGHT'], uniforms: { total, n, inF, outF }, bindings: { dy, b: x, out: dw }, threads: total, label, flops: 2 * total * n });
}

/** FC bias gradient db [outF] = Σ_n dy [N, outF]. */
export function fcBiasGrad(e: Engine, n: number, outF: number, dy: GPUBuffer, db: GPUBuffer, label: string): Dispatch {
  return biasGrad(e, [n, outF], dy, db, label);
}

// ---- resize ------------------------------------------------------------------------------

/** Bilinear resize backward: dx [N, C, H, W] (xShape) from dy [N, C, OH, OW] (yShape), half-pixel or alignCorners. */
export function resizeBilinearGrad(e: Engine, xShape: number[], yShape: number[], alignCorners: boolean, dy: GPUBuffer, dx: GPUBuffer, label: string): Dispatch {
  const [, , h, w] = dims4(xShape, label);
  const [, , oh, ow] = dims4(yShape, label);
  const total = numel(xShape);
  return e.makeDispatch(RK.resize2dBackward, { uniforms: { total, h, w, oh, ow, alignCorners: alignCorners ? 1 : 0 }, bindings: { dy, dx }, threads: total, label });
}
