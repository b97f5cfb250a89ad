// Elementwise sums and products of computed tensors: of the same shape, or broadcasting (numpy
// rules over tensors of equal rank, never over the batch: the squeeze-and-excitation gate
// [N,C,1,1] × [N,C,H,W]).
import type { Dispatch } from '../gpu.ts';

declare module '../ir.ts' {
  interface OpAttrs {
    add: Record<string, never>; // elementwise sum of 2+ inputs, broadcasting (Add, Sum, Caffe Eltwise SUM)
    mul: Record<string, never>; // elementwise product of 2 inputs, broadcasting
  }
}
import type { OpDef, NodeOf, ReverseContext, LowerContext, NodeIO, RegionCombineIO } from './types.ts';
import type { Node } from '../ir.ts';
import { numel } from '../geometry.ts';
import { ShapeError, UnsupportedOpError } from '../errors.ts';
import * as K from '../../kernels/index.ts';
import { copy } from './util.ts';
import { broadcastShape, broadcastStrides, gather, reduce, stridesOf } from './strided.ts';

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

function broadcastShapes(node: NodeOf<'add' | 'mul'>, ins: number[][]): number[] {
  const out = broadcastShape(ins);
  if (!out || ins.some((s) => s[0] !== out[0]))
    throw new ShapeError(`layer "${node.name}": ${node.op} of shapes [${ins.map((s) => s.join('×')).join('], [')}], which do not broadcast (equal ranks, each axis equal or 1, the batch equal)`);
  return out;
}

/**
 * Region mode (engine/region.ts) of a same-shape sum or product of two spatial inputs (residual
 * adds): binary.wgsl's REGION variant over the hull of the inputs' rectangles.
 */
const combine = {
  kind: 'combine' as const,
  applies: (_node: Node, ins: number[][], y: number[]) => ins.length === 2 && y.length === 4 && ins.every((s) => same(s, y)),
  lower: (ctx: LowerContext, io: NodeIO<NodeOf<'add' | 'mul'>>, r: RegionCombineIO) => {
    const [n, c, h, w] = io.outShape as [number, number, number, number];
    const total = n * c * r.rhOut * r.rwOut;
    const [a, b] = r.ins as [RegionCombineIO['ins'][0], RegionCombineIO['ins'][0]];
    return ctx.engine.makeDispatch(K.binary, {
      defines: io.node.op === 'mul' ? ['MUL', 'REGION'] : ['REGION'],
      uniforms: {
        total, c, h, w, rhA: a.rh, rwA: a.rw, rbA: a.rb, orgA: a.org, rhB: b.rh, rwB: b.rw, rbB: b.rb, orgB: b.org,
        rhOut: r.rhOut, rwOut: r.rwOut, rbOut: r.rbOut, orgOut: r.orgOut,
      },
      bindings: { a: io.ins[0]!, b: io.ins[1]!, y: io.out, org: r.org }, threads: total, label: io.label,
    });
  },
};

export const add: OpDef<NodeOf<'add'>> = {
  shape: broadcastShapes,
  forward(ctx, io) {
    const total = numel(io.outShape);
    const e = ctx.engine;
    const y = io.outShape;
    if (io.inShapes.every((s) => same(s, y))) {
      // out = in0 + in1, then out += in_k for further inputs of a sum
      const ds: Dispatch[] = [e.makeDispatch(K.binary, { uniforms: { total }, bindings: { a: io.ins[0]!, b: io.ins[1] ?? io.ins[0]!, y: io.out }, threads: total, label: io.label })];
      for (let i = 2; i < io.ins.length; i++) ds.push(e.makeDispatch(K.binary, { defines: ['ACC'], uniforms: { total }, bindings: { a: io.ins[i]!, y: io.out }, threads: total, label: `${io.label}[${i}]` }));
      return ds;
    }
    // broadcasting: out = in0 + in1 through strided views, then out += in_k
    const view = (i: number) => ({ buf: io.ins[i]!, strides: broadcastStrides(io.inShapes[i]!, y) });
    const ds = [gather(e, y, view(0), io.out, io.label, { b: view(1) })];
    for (let i = 2; i < io.ins.length; i++) ds.push(gather(e, y, view(i), io.out, `${io.label}[${i}]`, { acc: true }));
    return ds;
  },
  lrp: { kind: 'linear' },
  frozen: { linearity: 'linear' },
  region: combine,
  // each input gets dy, summed over the axes it was broadcast along (Add(c, c) gets it twice: the
  // walker sums a value's contributions)
  reverse: {
    rules: (rc) =>
      rc.node.inputs.forEach((_, i) => {
        if (!rc.needs(i)) return;
        const xs = rc.xs[i]!;
        const label = `${rc.label}[${i}]`;
        rc.grad(i, (dx) => [same(xs, rc.ys) ? copy(rc.ctx, numel(rc.ys), rc.dy, dx, label) : reduce(rc.engine, rc.ys, xs, { buf: rc.dy, strides: stridesOf(rc.ys) }, dx, label)]);
      }),
  },
};

/** d(a·b)/da = dy · b, summed over the axes a was broadcast along. */
function productGrad(rc: ReverseContext<NodeOf<'mul'>>, i: number): void {
  const xs = rc.xs[i]!, os = rc.xs[1 - i]!, y = rc.ys;
  const label = `${rc.label}[${i}]`;
  const other = rc.x(1 - i);
  rc.grad(i, (dx) => [
    same(xs, y) && same(os, y)
      ? rc.engine.makeDispatch(K.binary, { defines: ['MUL'], uniforms: { total: numel(y) }, bindings: { a: rc.dy, b: other, y: dx }, threads: numel(y), label })
      : reduce(rc.engine, y, xs, { buf: rc.dy, strides: stridesOf(y) }, dx, label, { b: { buf: other, strides: broadcastStrides(os, y) } }),
  ]);
}

export const mul: OpDef<NodeOf<'mul'>> = {
  shape: broadcastShapes,
  forward(ctx, io) {
    if (io.ins.length !== 2) throw new UnsupportedOpError(`layer "${io.node.name}": product of ${io.ins.length} inputs (only two)`);
    const total = numel(io.outShape);
    const y = io.outShape;
    if (io.inShapes.every((s) => same(s, y)))
      return [ctx.engine.makeDispatch(K.binary, { defines: ['MUL'], uniforms: { total }, bindings: { a: io.ins[0]!, b: io.ins[1]!, y: io.out }, threads: total, label: io.label })];
    const view = (i: number) => ({ buf: io.ins[i]!, strides: broadcastStrides(io.inShapes[i]!, y) });
    return [gather(ctx.engine, y, view(0), io.out, io.label, { b: view(1), mul: true })];
  },
  // a product of two activations
  lrp: { none: 'a product of two activations is not linear: LRP has no rule for it' },
  frozen: { linearity: 'nonlinear' },
  region: combine,
  // every rule takes the gradient, for both operands (Mul(c, c) gets both terms)
  reverse: {
    rules: (rc) => {
      if (rc.xs.length !== 2) throw new UnsupportedOpError(`layer "${rc.node.name}": product of ${rc.xs.length} inputs (only two)`);
      for (const i of [0, 1]) if (rc.needs(i)) productGrad(rc, i);
    },
  },
};

/** This family's entries of the op table (engine/ops/index.ts). */
export const elementwiseOps = { add, mul };
