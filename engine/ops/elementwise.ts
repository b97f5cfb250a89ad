// Elementwise sums and products of computed tensors of the same shape.
import type { Dispatch } from '../gpu.ts';

declare module '../ir.ts' {
  interface OpAttrs {
    add: Record<string, never>; // elementwise sum of 2+ inputs of the same shape (Add, Sum, Caffe Eltwise SUM)
    mul: Record<string, never>; // elementwise product of 2 inputs of the same shape
  }
}
import type { OpDef, NodeOf } from './types.ts';
import { numel } from '../geometry.ts';
import { ShapeError, UnsupportedOpError } from '../errors.ts';
import * as K from '../../kernels/index.ts';
import { copy } from './util.ts';

function sameShapes(node: NodeOf<'add' | 'mul'>, ins: number[][]): number[] {
  const x = ins[0]!;
  for (const s of ins)
    if (s.length !== x.length || s.some((d, i) => d !== x[i]))
      throw new ShapeError(`layer "${node.name}": ${node.op} of different shapes [${ins.map((s) => s.join('×')).join('], [')}]`);
  return [...x];
}

export const add: OpDef<NodeOf<'add'>> = {
  shape: sameShapes,
  forward(ctx, io) {
    // out = in0 + in1, then out += in_k for further inputs of a sum
    const total = numel(io.outShape);
    const e = ctx.engine;
    const ds: Dispatch[] = [e.makeDispatch(K.binary, { uniforms: { total }, bindings: { a: io.ins[0]!, b: io.ins[1] ?? io.ins[0]!, y: io.out }, threads: total, label: io.label })];
    for (let i = 2; i < io.ins.length; i++) ds.push(e.makeDispatch(K.binary, { defines: ['ACC'], uniforms: { total }, bindings: { a: io.ins[i]!, y: io.out }, threads: total, label: `${io.label}[${i}]` }));
    return ds;
  },
  frozen: { linearity: 'linear' },
  region: { kind: 'whole' },
  // each input gets dy (Add(c, c) gets it twice: the walker sums a value's contributions)
  reverse: { rules: (rc) => rc.node.inputs.forEach((_, i) => rc.needs(i) && rc.grad(i, (dx) => [copy(rc.ctx, numel(rc.ys), rc.dy, dx, `${rc.label}[${i}]`)])) },
};

export const mul: OpDef<NodeOf<'mul'>> = {
  shape: sameShapes,
  forward(ctx, io) {
    if (io.ins.length !== 2) throw new UnsupportedOpError(`layer "${io.node.name}": product of ${io.ins.length} inputs (only two)`);
    const total = numel(io.outShape);
    return [ctx.engine.makeDispatch(K.binary, { defines: ['MUL'], uniforms: { total }, bindings: { a: io.ins[0]!, b: io.ins[1]!, y: io.out }, threads: total, label: io.label })];
  },
  // a product of two activations
  frozen: { linearity: 'nonlinear' },
  region: { kind: 'whole' },
  reverse: { none: 'the product of two activations has no reverse kernel yet' },
};
