// Elementwise activations: ReLU and its relatives, ELU, sigmoid, tanh.
import type { Dispatch } from '../gpu.ts';

declare module '../ir.ts' {
  interface OpAttrs {
    relu: Record<string, never>;
    leakyrelu: { alpha: number };
    prelu: { slope: string }; // param, per channel [C] or scalar [1]
    elu: { alpha: number };
    sigmoid: Record<string, never>;
    tanh: Record<string, never>;
  }
}
import type { LowerContext, NodeIO, OpDef, NodeOf } from './types.ts';
import { numel } from '../geometry.ts';
import * as K from '../../kernels/index.ts';
import * as R from '../reverse-kernels.ts';
import { sameShape } from './util.ts';

export const relu: OpDef<NodeOf<'relu'>> = {
  shape: sameShape,
  forward: (ctx, io) => {
    const total = numel(io.outShape);
    // a recording also writes the 0/1 mask of positive inputs
    return [ctx.engine.makeDispatch(K.relu, { defines: io.aux ? ['MASK'] : [], uniforms: { total }, bindings: { x: io.ins[0]!, y: io.out, mask: io.aux }, threads: total, label: io.label })];
  },
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

function unary(ctx: LowerContext, io: NodeIO<NodeOf<'leakyrelu' | 'elu' | 'sigmoid' | 'tanh'>>): Dispatch[] {
  const total = numel(io.outShape);
  const alpha = 'alpha' in io.node.attrs ? io.node.attrs.alpha : 0;
  return [ctx.engine.makeDispatch(K.unary, { uniforms: { total, op: K.UNARY_OP[io.node.op], alpha }, bindings: { x: io.ins[0]!, y: io.out }, threads: total, label: io.label })];
}

export const leakyrelu: OpDef<NodeOf<'leakyrelu'>> = {
  shape: sameShape,
  forward: unary,
  // piecewise linear, but its pattern is not recorded
  frozen: { linearity: 'nonlinear' },
  region: { kind: 'elementwise' },
  // every rule passes the gradient (dy, or alpha·dy where the input was negative)
  reverse: { rules: (rc) => rc.grad(0, (dx) => [R.leakyReluGrad(rc.engine, rc.node.attrs.alpha, numel(rc.ys), rc.dy, rc.x(0), dx, rc.label)]) },
};

export const elu: OpDef<NodeOf<'elu'>> = {
  shape: sameShape,
  forward: unary,
  frozen: { linearity: 'nonlinear' },
  region: { kind: 'elementwise' },
  reverse: { none: 'ELU has no reverse kernel yet' },
};

export const sigmoid: OpDef<NodeOf<'sigmoid'>> = {
  shape: sameShape,
  forward: unary,
  frozen: { linearity: 'nonlinear' },
  region: { kind: 'elementwise' },
  reverse: { none: 'sigmoid has no reverse kernel yet' },
};

export const tanh: OpDef<NodeOf<'tanh'>> = {
  shape: sameShape,
  forward: unary,
  frozen: { linearity: 'nonlinear' },
  region: { kind: 'elementwise' },
  reverse: { none: 'tanh has no reverse kernel yet' },
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
  frozen: { linearity: 'nonlinear' },
  // the slope is per channel: the flat prefix-and-rectangles layout would mix channels up
  region: { kind: 'whole' },
  reverse: { none: 'PReLU has no reverse kernel yet' },
};
