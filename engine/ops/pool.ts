// Pooling: max and average over windows, global pools, and means over any non-batch axes.
import type { Node, PoolAttrs } from '../ir.ts';

declare module '../ir.ts' {
  interface OpAttrs {
    maxpool: PoolAttrs;
    avgpool: PoolAttrs;
    globalavgpool: Record<string, never>;
    globalmaxpool: Record<string, never>;
    // the mean over `axes` (sorted, non-negative, never 0: the batch); keepdims keeps them as 1s (ReduceMean)
    reducemean: { axes: number[]; keepdims: boolean };
  }
}
import type { Dispatch } from '../gpu.ts';
import type { LowerContext, NodeIO, OpDef, NodeOf, RegionIO } from './types.ts';
import { numel, poolShape, poolUniforms } from '../geometry.ts';
import { ShapeError } from '../errors.ts';
import * as K from '../../kernels/index.ts';
import * as R from '../reverse-kernels.ts';
import { need4 } from './util.ts';
import { gather, reduce, stridesOf } from './strided.ts';

function shape(node: NodeOf<'maxpool' | 'avgpool'>, [x]: number[][]): number[] {
  need4(node, x!);
  const out = poolShape(node.attrs, x!);
  if (out[2]! < 1 || out[3]! < 1) throw new ShapeError(`layer "${node.name}": input ${x![2]}×${x![3]} is smaller than the pooling window`);
  return out;
}

/** pool2d over whole maps; a max pool's recording also writes its switches (io.aux). */
function pool(ctx: LowerContext, io: NodeIO<NodeOf<'maxpool' | 'avgpool'>>): Dispatch[] {
  const max = io.node.op === 'maxpool';
  const defines = max ? (io.aux ? ['MAX', 'SWITCHES'] : ['MAX']) : [];
  return [ctx.engine.makeDispatch(K.pool2d, {
    defines, uniforms: poolUniforms(io.node.attrs, io.inShapes[0]!, io.outShape),
    bindings: { x: io.ins[0]!, y: io.out, switches: io.aux }, threads: numel(io.outShape), label: io.label,
  })];
}

/** The REGION variant of pool2d: the output rectangle from the input rectangle. */
function poolRegion(ctx: LowerContext, io: NodeIO<NodeOf<'maxpool' | 'avgpool'>>, r: RegionIO): Dispatch {
  const xs = io.inShapes[0]!;
  const n = xs[0]!, C = xs[1]!;
  const total = n * C * r.rhOut * r.rwOut;
  return ctx.engine.makeDispatch(K.pool2d, {
    defines: io.node.op === 'maxpool' ? ['MAX', 'REGION'] : ['REGION'],
    uniforms: { ...poolUniforms(io.node.attrs, xs, io.outShape), total, c: C, rhIn: r.rhIn, rwIn: r.rwIn, rbIn: r.rbIn, orgIn: r.orgIn, rhOut: r.rhOut, rwOut: r.rwOut, rbOut: r.rbOut, orgOut: r.orgOut },
    bindings: { x: io.ins[0]!, y: io.out, org: r.org }, threads: total, label: io.label,
  });
}

const window = { kind: 'window' as const, geometry: (n: { attrs: PoolAttrs }) => n.attrs, lower: poolRegion };
const poolFlops = (node: NodeOf<'maxpool' | 'avgpool'>, _ins: number[][], out: number[]) => numel(out) * node.attrs.kernel[0] * node.attrs.kernel[1];

export const maxpool: OpDef<NodeOf<'maxpool'>> = {
  shape,
  flops: poolFlops,
  forward: pool,
  // piecewise linear: each output takes one input, the recorded switch
  lrp: { kind: 'route' },
  frozen: {
    linearity: 'recorded',
    frozen: (ctx, io, switches) => {
      const x = io.inShapes[0]!, y = io.outShape;
      const total = numel(y);
      return [ctx.engine.makeDispatch(K.frozen, {
        defines: ['SWITCH_POOL'], uniforms: { total, per: numel(y.slice(1)), outPlane: y[2]! * y[3]!, hw: x[2]! * x[3]! },
        bindings: { x: io.ins[0]!, switches, y: io.out }, threads: total, label: `frozen:${io.label}`,
      })];
    },
  },
  region: window,
  // every rule routes the signal back by the recorded switches (Zeiler & Fergus' unpooling)
  reverse: { rules: (rc) => rc.grad(0, (dx) => [R.unpool(rc.engine, rc.node.attrs, rc.xs[0]!, rc.ys, rc.dy, rc.pattern(), dx, rc.label)]) },
};

export const avgpool: OpDef<NodeOf<'avgpool'>> = {
  shape,
  flops: poolFlops,
  forward: pool,
  lrp: { kind: 'linear' },
  frozen: { linearity: 'linear' },
  region: window,
  reverse: { rules: (rc) => rc.grad(0, (dx) => [R.avgPoolGrad(rc.engine, rc.node.attrs, rc.xs[0]!, rc.ys, rc.dy, dx, rc.label)]) },
};

function globalShape(node: Node, [x]: number[][]): number[] {
  need4(node, x!);
  return [x![0]!, x![1]!, 1, 1];
}

function globalPool(ctx: LowerContext, io: NodeIO<NodeOf<'globalavgpool' | 'globalmaxpool'>>): Dispatch[] {
  const x = io.inShapes[0]!;
  return [ctx.engine.makeDispatch(K.globalPool, {
    defines: io.node.op === 'globalmaxpool' ? ['MAX'] : [], uniforms: { planes: x[0]! * x[1]!, hw: numel(x.slice(2)) },
    bindings: { x: io.ins[0]!, y: io.out }, threads: x[0]! * x[1]!, label: io.label,
  })];
}

const globalRegion = {
  kind: 'global' as const,
  lower: (ctx: LowerContext, io: NodeIO<NodeOf<'globalavgpool' | 'globalmaxpool'>>, r: { org: GPUBuffer; rhIn: number; rwIn: number; rbIn: number; orgIn: number; c: number; w: number }) => {
    const [n, C, H, W] = io.inShapes[0]! as [number, number, number, number];
    return ctx.engine.makeDispatch(K.globalPool, {
      defines: io.node.op === 'globalmaxpool' ? ['MAX', 'REGION'] : ['REGION'],
      uniforms: { planes: n * C, hw: H * W, c: C, w: W, rhIn: r.rhIn, rwIn: r.rwIn, rbIn: r.rbIn, orgIn: r.orgIn },
      bindings: { x: io.ins[0]!, y: io.out, org: r.org }, threads: n * C, label: io.label,
    });
  },
};

export const globalavgpool: OpDef<NodeOf<'globalavgpool'>> = {
  shape: globalShape,
  forward: globalPool,
  lrp: { kind: 'linear' },
  frozen: { linearity: 'linear' },
  region: globalRegion,
  reverse: { rules: (rc) => rc.grad(0, (dx) => [R.globalAvgPoolGrad(rc.engine, rc.xs[0]!, rc.dy, dx, rc.label)]) },
};

export const globalmaxpool: OpDef<NodeOf<'globalmaxpool'>> = {
  shape: globalShape,
  forward: globalPool,
  // piecewise linear, but its arg-max is not recorded
  lrp: { none: 'a global max pool records no arg-max to route relevance back' },
  frozen: { linearity: 'nonlinear' },
  region: globalRegion,
  reverse: { none: 'a global max pool records no arg-max to route the signal back' },
};

/** The input's shape with the reduced axes as 1s (keepdims layout: same element order either way). */
const keptShape = (node: NodeOf<'reducemean'>, x: number[]) => x.map((d, k) => (node.attrs.axes.includes(k) ? 1 : d));

export const reducemean: OpDef<NodeOf<'reducemean'>> = {
  shape(node, [x]) {
    const ax = node.attrs.axes;
    if (ax.length === 0 || ax.some((a, i) => !Number.isInteger(a) || a < 1 || a >= x!.length || (i > 0 && a <= ax[i - 1]!)))
      throw new ShapeError(`layer "${node.name}": a mean over axes [${ax.join(', ')}] of [${x!.join(', ')}] (sorted, distinct, not the batch axis 0)`);
    return node.attrs.keepdims ? keptShape(node, x!) : x!.filter((_, k) => !ax.includes(k));
  },
  // one add per input element
  flops: (_node, [x]) => numel(x!),
  forward(ctx, io) {
    const x = io.inShapes[0]!;
    const kept = keptShape(io.node, x);
    return [reduce(ctx.engine, x, kept, { buf: io.ins[0]!, strides: stridesOf(x) }, io.out, io.label, { scale: numel(kept) / numel(x) })];
  },
  lrp: { kind: 'linear' },
  frozen: { linearity: 'linear' },
  region: { kind: 'whole' },
  // dy / count spread over the reduced axes
  reverse: {
    rules: (rc) => {
      const x = rc.xs[0]!;
      const kept = keptShape(rc.node, x);
      const ks = stridesOf(kept);
      rc.grad(0, (dx) => [gather(rc.engine, x, { buf: rc.dy, strides: kept.map((d, k) => (d === 1 ? 0 : ks[k]!)) }, dx, rc.label, { scale: numel(kept) / numel(x) })]);
    },
  },
};

/** This family's entries of the op table (engine/ops/index.ts). */
export const poolOps = { maxpool, avgpool, globalavgpool, globalmaxpool, reducemean };
