// Normalisation: cross-channel LRN and per-channel affine maps (unfolded BatchNorm, Caffe Scale,
// Add/Mul with a constant).
import type { OpDef, NodeOf } from './types.ts';

declare module '../ir.ts' {
  interface OpAttrs {
    // Cross-channel LRN: b = a / (bias + alpha/size * sum_{window of size channels} a^2)^beta
    lrn: { size: number; alpha: number; beta: number; bias: number };
    // y = x * scale[c] + shift[c] per channel (axis 1): BatchNorm that could not be folded, Caffe Scale, Add/Mul with a constant
    channelaffine: { scale?: string; shift?: string };
  }
}
import { numel } from '../geometry.ts';
import * as K from '../../kernels/index.ts';
import * as R from '../reverse-kernels.ts';
import { sameShape, copy, pixelwiseRegion } from './util.ts';

export const lrn: OpDef<NodeOf<'lrn'>> = {
  shape: sameShape,
  flops: (node, _ins, out) => numel(out) * (2 * node.attrs.size + 3),
  forward: (ctx, io) => {
    const a = io.node.attrs;
    const x = io.inShapes[0]!;
    const total = numel(io.outShape);
    return [ctx.engine.makeDispatch(K.lrn, { uniforms: { total, c: x[1]!, hw: numel(x.slice(2)), size: a.size, alphaOverSize: a.alpha / a.size, beta: a.beta, bias: a.bias }, bindings: { x: io.ins[0]!, y: io.out }, threads: total, label: io.label })];
  },
  lrp: { none: 'local response normalisation is not linear: LRP has no rule for it' },
  frozen: { linearity: 'nonlinear' },
  // a window over channels at one pixel: the rectangle stays the same rectangle (lrn.wgsl REGION)
  region: pixelwiseRegion((ctx, io, r) => {
    const a = io.node.attrs;
    return ctx.engine.makeDispatch(K.lrn, {
      defines: ['REGION'],
      uniforms: { total: r.total, c: r.c, hw: r.hw, size: a.size, alphaOverSize: a.alpha / a.size, beta: a.beta, bias: a.bias, rbIn: r.rbIn, rbOut: r.rbOut },
      bindings: { x: io.ins[0]!, y: io.out }, threads: r.total, label: io.label,
    });
  }),
  reverse: {
    // DeconvNet skips LRN (passes the signal through); the other rules take its gradient
    rules: (rc) => {
      if (rc.rule === 'deconvnet') return rc.grad(0, (dx) => [copy(rc.ctx, numel(rc.ys), rc.dy, dx, rc.label)]);
      rc.grad(0, (dx) => [R.lrnGrad(rc.engine, rc.node.attrs, rc.xs[0]!, rc.x(0), rc.dy, dx, rc.label)]);
    },
  },
};

export const channelaffine: OpDef<NodeOf<'channelaffine'>> = {
  shape: sameShape,
  forward: (ctx, io) => {
    const x = io.inShapes[0]!;
    const c = x[1]!;
    const total = numel(io.outShape);
    const { scale } = io.node.attrs;
    const shift = io.noBias ? undefined : io.node.attrs.shift;
    const mod = (p?: string) => (p && ctx.paramSize(p) === 1 ? 1 : c);
    return [ctx.engine.makeDispatch(K.channelAffine, {
      uniforms: { total, hw: numel(x.slice(2)), c, scaleMod: mod(scale), shiftMod: mod(shift), hasScale: scale ? 1 : 0, hasShift: shift ? 1 : 0 },
      bindings: { x: io.ins[0]!, scale: scale ? ctx.param(scale) : ctx.dummy(), shift: shift ? ctx.param(shift) : ctx.dummy(), y: io.out }, threads: total, label: io.label,
    })];
  },
  lrp: { kind: 'linear', weight: 'scale', bias: 'shift' },
  frozen: { linearity: 'linear' },
  // per channel, pointwise in space: the rectangle stays (channel_affine.wgsl REGION)
  region: pixelwiseRegion((ctx, io, r) => {
    const { scale, shift } = io.node.attrs;
    const mod = (p?: string) => (p && ctx.paramSize(p) === 1 ? 1 : r.c);
    return ctx.engine.makeDispatch(K.channelAffine, {
      defines: ['REGION'],
      uniforms: { total: r.total, hw: r.hw, c: r.c, scaleMod: mod(scale), shiftMod: mod(shift), hasScale: scale ? 1 : 0, hasShift: shift ? 1 : 0, rbIn: r.rbIn, rbOut: r.rbOut },
      bindings: { x: io.ins[0]!, scale: scale ? ctx.param(scale) : ctx.dummy(), shift: shift ? ctx.param(shift) : ctx.dummy(), y: io.out }, threads: r.total, label: io.label,
    });
  }),
  // dx = scale · dy (the shift drops out)
  reverse: {
    rules: (rc) => {
      const { scale } = rc.node.attrs;
      const total = numel(rc.ys);
      if (!scale) return rc.grad(0, (dx) => [copy(rc.ctx, total, rc.dy, dx, rc.label)]);
      const c = rc.xs[0]![1]!;
      const sc = rc.ctx.paramSize(scale) === 1 ? 1 : c;
      rc.grad(0, (dx) => [rc.engine.makeDispatch(K.channelAffine, {
        uniforms: { total, hw: numel(rc.ys.slice(2)), c, scaleMod: sc, shiftMod: 1, hasScale: 1, hasShift: 0 },
        bindings: { x: rc.dy, scale: rc.ctx.param(scale), shift: rc.ctx.param(scale), y: dx }, threads: total, label: rc.label,
      })]);
    },
  },
};

/** This family's entries of the op table (engine/ops/index.ts). */
export const normalizationOps = { lrn, channelaffine };
