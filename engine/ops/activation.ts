// Elementwise activations: ReLU and its relatives, ELU, sigmoid, tanh, and the mobile families'
// clamps (Clip / ReLU6, HardSigmoid) and HardSwish.
import type { Dispatch } from '../gpu.ts';

declare module '../ir.ts' {
  interface OpAttrs {
    relu: Record<string, never>;
    leakyrelu: { alpha: number };
    prelu: { slope: string }; // param, per channel [C] or scalar [1]
    elu: { alpha: number };
    sigmoid: Record<string, never>;
    tanh: Record<string, never>;
    clip: { min: number; max: number }; // ±Infinity where ONNX gives no bound; ReLU6 is {0, 6}
    hardsigmoid: { alpha: number; beta: number }; // min(max(alpha·x + beta, 0), 1)
    hardswish: Record<string, never>; // x · hardsigmoid(x) with alpha 1/6, beta 1/2
  }
}
import type { LowerContext, NodeIO, OpDef, NodeOf, ReverseContext } from './types.ts';
import { numel } from '../geometry.ts';
import * as K from '../../kernels/index.ts';
import * as R from '../reverse-kernels.ts';
import { sameShape, pixelwiseRegion } from './util.ts';

export const relu: OpDef<NodeOf<'relu'>> = {
  shape: sameShape,
  forward: (ctx, io) => {
    const total = numel(io.outShape);
    // a recording also writes the 0/1 mask of positive inputs
    return [ctx.engine.makeDispatch(K.relu, { defines: io.aux ? ['MASK'] : [], uniforms: { total }, bindings: { x: io.ins[0]!, y: io.out, mask: io.aux }, threads: total, label: io.label })];
  },
  lrp: { kind: 'pass' },
  frozen: {
    linearity: 'recorded',
    frozen: (ctx, io, mask) => {
      const total = numel(io.outShape);
      return [ctx.engine.makeDispatch(K.frozen, {
        defines: ['MASKED_RELU'], uniforms: { total, per: numel(io.outShape.slice(1)), outPlane: 1, hw: 1 },
        bindings: { x: io.ins[0]!, mask, y: io.out }, threads: total, label: `frozen:${io.label}`,
      })];
    },
  },
  region: { kind: 'elementwise' },
  // gradient: dy where the input was positive; DeconvNet: ReLU of the signal, the forward mask
  // ignored; guided backprop: both
  reverse: {
    rules: (rc) => {
      const total = numel(rc.ys);
      rc.grad(0, (dx) => [rc.rule === 'deconvnet' ? R.reluBackward(rc.engine, 'deconv', total, rc.dy, undefined, dx, rc.label) : R.reluBackward(rc.engine, rc.rule, total, rc.dy, rc.pattern(), dx, rc.label)]);
    },
  },
};

type Unary = NodeOf<'leakyrelu' | 'elu' | 'sigmoid' | 'tanh' | 'hardswish'>;

function unary(ctx: LowerContext, io: NodeIO<Unary>): Dispatch[] {
  const total = numel(io.outShape);
  const alpha = 'alpha' in io.node.attrs ? io.node.attrs.alpha : 0;
  return [ctx.engine.makeDispatch(K.unary, { uniforms: { total, op: K.UNARY_OP[io.node.op], alpha }, bindings: { x: io.ins[0]!, y: io.out }, threads: total, label: io.label })];
}

export const leakyrelu: OpDef<NodeOf<'leakyrelu'>> = {
  shape: sameShape,
  forward: unary,
  // piecewise linear, but its pattern is not recorded
  lrp: { kind: 'pass' },
  frozen: { linearity: 'nonlinear' },
  region: { kind: 'elementwise' },
  // every rule passes the gradient (dy, or alpha·dy where the input was negative)
  reverse: { rules: (rc) => rc.grad(0, (dx) => [R.leakyReluGrad(rc.engine, rc.node.attrs.alpha, numel(rc.ys), rc.dy, rc.x(0), dx, rc.label)]) },
};

/** The gradient of a unary.wgsl activation (under every reverse rule: none of them is a rectifier); v: its forward input or output, as unary_backward.wgsl says. */
function unaryGrad(rc: ReverseContext<NodeOf<'elu' | 'sigmoid' | 'tanh' | 'hardswish'>>, v: GPUBuffer, dx: GPUBuffer): Dispatch {
  return R.unaryGrad(rc.engine, rc.node.op, 'alpha' in rc.node.attrs ? rc.node.attrs.alpha : 0, numel(rc.ys), rc.dy, v, dx, rc.label);
}

export const elu: OpDef<NodeOf<'elu'>> = {
  shape: sameShape,
  forward: unary,
  lrp: { none: 'ELU is not piecewise linear: LRP has no rule for it' },
  frozen: { linearity: 'nonlinear' },
  region: { kind: 'elementwise' },
  reverse: { rules: (rc) => rc.grad(0, (dx) => [unaryGrad(rc, rc.x(0), dx)]) },
};

export const sigmoid: OpDef<NodeOf<'sigmoid'>> = {
  shape: sameShape,
  forward: unary,
  lrp: { none: 'a sigmoid is not piecewise linear: LRP has no rule for it' },
  frozen: { linearity: 'nonlinear' },
  region: { kind: 'elementwise' },
  // every rule takes the gradient (from the output: y·(1 − y))
  reverse: { rules: (rc) => rc.grad(0, (dx) => [unaryGrad(rc, rc.y(), dx)]) },
};

export const tanh: OpDef<NodeOf<'tanh'>> = {
  shape: sameShape,
  forward: unary,
  lrp: { none: 'tanh is not piecewise linear: LRP has no rule for it' },
  frozen: { linearity: 'nonlinear' },
  region: { kind: 'elementwise' },
  reverse: { rules: (rc) => rc.grad(0, (dx) => [unaryGrad(rc, rc.y(), dx)]) },
};

export const prelu: OpDef<NodeOf<'prelu'>> = {
  shape: sameShape,
  forward: (ctx, io) => {
    const x = io.inShapes[0]!;
    const total = numel(io.outShape);
    const c = x[1] ?? 1;
    return [ctx.engine.makeDispatch(K.channelAffine, {
      defines: ['PRELU'],
      uniforms: { total, hw: numel(x.slice(2)), c, scaleMod: ctx.paramSize(io.node.attrs.slope) === 1 ? 1 : c, shiftMod: 1, hasScale: 1, hasShift: 0 },
      bindings: { x: io.ins[0]!, scale: ctx.param(io.node.attrs.slope), shift: ctx.dummy(), y: io.out }, threads: total, label: io.label,
    })];
  },
  lrp: { none: 'PReLU has no reverse kernel yet' },
  frozen: { linearity: 'nonlinear' },
  // the slope is per channel (the flat prefix-and-rectangles layout of 'elementwise' would mix
  // channels up): the rectangles only, as [N][C][rh][rw] (channel_affine.wgsl PRELU & REGION)
  region: pixelwiseRegion((ctx, io, r) => ctx.engine.makeDispatch(K.channelAffine, {
    defines: ['PRELU', 'REGION'],
    uniforms: { total: r.total, hw: r.hw, c: r.c, scaleMod: ctx.paramSize(io.node.attrs.slope) === 1 ? 1 : r.c, shiftMod: 1, hasScale: 1, hasShift: 0, rbIn: r.rbIn, rbOut: r.rbOut },
    bindings: { x: io.ins[0]!, scale: ctx.param(io.node.attrs.slope), shift: ctx.dummy(), y: io.out }, threads: r.total, label: io.label,
  })),
  reverse: { none: 'PReLU has no reverse kernel yet' },
};

// ---- clamps of an affine map: Clip, HardSigmoid (kernels/clamp.wgsl) ---------------------------

const FLT_MAX = 3.4028234663852886e38;
/** The affine map a·x + b and the bounds [lo, hi] a clip or hard sigmoid clamps it to (infinite bounds as ±FLT_MAX). */
function clampOf(node: NodeOf<'clip' | 'hardsigmoid'>): { a: number; b: number; lo: number; hi: number } {
  const f = (v: number) => Math.max(-FLT_MAX, Math.min(FLT_MAX, v));
  return node.op === 'clip' ? { a: 1, b: 0, lo: f(node.attrs.min), hi: f(node.attrs.max) } : { a: node.attrs.alpha, b: node.attrs.beta, lo: 0, hi: 1 };
}

/** A recording (io.aux) also writes the pattern: 1 inside, 0 below, 2 above. */
function clampForward(ctx: LowerContext, io: NodeIO<NodeOf<'clip' | 'hardsigmoid'>>): Dispatch[] {
  const total = numel(io.outShape);
  return [ctx.engine.makeDispatch(K.clamp, { defines: io.aux ? ['PATTERN'] : [], uniforms: { total, ...clampOf(io.node) }, bindings: { x: io.ins[0]!, y: io.out, pattern: io.aux }, threads: total, label: io.label })];
}

/** Piecewise linear with a recorded pattern: a·x (+ b) inside, the saturation constant outside; without biases every constant is 0. */
const clampFrozen = {
  linearity: 'recorded' as const,
  frozen: (ctx: LowerContext, io: NodeIO, pattern: GPUBuffer): Dispatch[] => {
    const c = clampOf(io.node as NodeOf<'clip' | 'hardsigmoid'>);
    const total = numel(io.outShape);
    const consts = io.noBias ? { b: 0, lo: 0, hi: 0 } : {};
    return [ctx.engine.makeDispatch(K.clamp, {
      defines: ['FROZEN'], uniforms: { total, ...c, ...consts, per: numel(io.outShape.slice(1)) },
      bindings: { x: io.ins[0]!, pattern, y: io.out }, threads: total, label: `frozen:${io.label}`,
    })];
  },
};

export const clip: OpDef<NodeOf<'clip'>> = {
  shape: sameShape,
  forward: clampForward,
  lrp: { kind: 'pass' },
  frozen: clampFrozen,
  region: { kind: 'elementwise' },
  // the gradient passes dy strictly inside (min, max); a rectifier (min = 0: ReLU6) also takes
  // ReLU's DeconvNet rule (max(dy, 0), the pattern ignored) and guided rule (max(dy, 0) inside);
  // any other clip takes the gradient under every rule
  reverse: {
    rules: (rc) => {
      const total = numel(rc.ys);
      const rectifier = rc.node.attrs.min === 0;
      if (rectifier && rc.rule === 'deconvnet') return rc.grad(0, (dx) => [R.reluBackward(rc.engine, 'deconv', total, rc.dy, undefined, dx, rc.label)]);
      rc.grad(0, (dx) => [R.clampGrad(rc.engine, 1, rectifier && rc.rule === 'guided', total, rc.dy, rc.pattern(), dx, rc.label)]);
    },
  },
};

export const hardsigmoid: OpDef<NodeOf<'hardsigmoid'>> = {
  shape: sameShape,
  forward: clampForward,
  lrp: { none: 'a hard sigmoid is an affine map with an offset inside a clamp: LRP has no rule for it' },
  frozen: clampFrozen,
  region: { kind: 'elementwise' },
  // alpha·dy strictly inside (0, 1), under every rule (not a rectifier)
  reverse: { rules: (rc) => rc.grad(0, (dx) => [R.clampGrad(rc.engine, rc.node.attrs.alpha, false, numel(rc.ys), rc.dy, rc.pattern(), dx, rc.label)]) },
};

export const hardswish: OpDef<NodeOf<'hardswish'>> = {
  shape: sameShape,
  forward: unary,
  // a product of x and a clamp of x: quadratic inside (−3, 3)
  lrp: { none: 'HardSwish is not piecewise linear: LRP has no rule for it' },
  frozen: { linearity: 'nonlinear' },
  region: { kind: 'elementwise' },
  // every rule takes the gradient (from the input)
  reverse: { rules: (rc) => rc.grad(0, (dx) => [unaryGrad(rc, rc.x(0), dx)]) },
};

/** This family's entries of the op table (engine/ops/index.ts). */
export const activationOps = { relu, leakyrelu, prelu, elu, sigmoid, tanh, clip, hardsigmoid, hardswish };
