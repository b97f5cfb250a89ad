// Ops that move data without arithmetic: concat, views (flatten, reshape, identity), padding,
// resizing, transposes and channel slices.
import type { OpDef, NodeOf, ReverseContext } from './types.ts';
import type { Pads } from '../ir.ts';
import type { Dispatch, Engine } from '../gpu.ts';

declare module '../ir.ts' {
  interface OpAttrs {
    concat: { axis: number }; // axis in NCHW terms, normally 1
    flatten: { axis: number };
    reshape: { shape: number[] }; // ONNX semantics: 0 copies the input dim, -1 is inferred; dim 0 is the batch
    identity: Record<string, never>; // Dropout, Identity
    pad: { pads: Pads; value: number }; // constant pad of H and W
    resize: { mode: 'bilinear' | 'nearest'; outSize?: [number, number]; scale?: [number, number]; alignCorners: boolean };
    transpose: { perm: number[] }; // y.shape[d] = x.shape[perm[d]]; perm[0] = 0 (the batch stays first), rank ≤ 6
    slicechannels: { start: number; count: number }; // channels [start, start + count) of axis 1 (Slice, Split)
  }
}
import { numel } from '../geometry.ts';
import { ShapeError, UnsupportedOpError } from '../errors.ts';
import * as K from '../../kernels/index.ts';
import * as R from '../reverse-kernels.ts';
import { need4, noKernel, sameShape, copy } from './util.ts';
import { MAX_RANK, gather, stridesOf } from './strided.ts';

/**
 * x [n, cx, hw] into y [n, cy, hw] at channel offset c0 (kernels/copy_channels.wgsl): over vec4s
 * where each image's block, y's image stride and the offset are multiples of 4 floats.
 */
export function copyChannels(e: Engine, x: GPUBuffer, y: GPUBuffer, n: number, cx: number, cy: number, hw: number, c0: number, label: string): Dispatch {
  const blk = cx * hw, ystride = cy * hw, off = c0 * hw;
  const v = blk % 4 === 0 && ystride % 4 === 0 && off % 4 === 0 ? 4 : 1;
  const total = (n * blk) / v;
  return e.makeDispatch(K.copyChannels, {
    defines: v === 4 ? ['VEC4'] : [], uniforms: { total, blk: blk / v, ystride: ystride / v, off: off / v }, bindings: { x, y }, threads: total, label,
  });
}

export const concat: OpDef<NodeOf<'concat'>> = {
  shape(node, ins) {
    const x = ins[0]!;
    const axis = node.attrs.axis < 0 ? node.attrs.axis + x.length : node.attrs.axis;
    if (axis !== 1) throw new ShapeError(`layer "${node.name}": concat along axis ${axis} is not supported (only channels)`);
    for (const s of ins)
      if (s.length !== x.length || s.some((d, i) => i !== 1 && d !== x[i]))
        throw new ShapeError(`layer "${node.name}": cannot concatenate [${ins.map((s) => s.join('×')).join('], [')}]`);
    const out = [...x];
    out[1] = ins.reduce((s, t) => s + t[1]!, 0);
    return out;
  },
  forward(ctx, io) {
    let c0 = 0;
    return io.inShapes.map((s, i) => {
      const d = copyChannels(ctx.engine, io.ins[i]!, io.out, s[0]!, s[1]!, io.outShape[1]!, numel(s.slice(2)), c0, `${io.label}[${i}]`);
      c0 += s[1]!;
      return d;
    });
  },
  lrp: { kind: 'route' },
  frozen: { linearity: 'linear' },
  region: { kind: 'concat' },
  // each input gets its channels of the signal
  reverse: {
    rules: (rc) => {
      let c0 = 0;
      rc.xs.forEach((s, i) => {
        const off = c0;
        if (rc.needs(i)) rc.grad(i, (dx) => [R.splitChannels(rc.engine, rc.ys, s, off, rc.dy, dx, `${rc.label}[${i}]`)]);
        c0 += s[1]!;
      });
    },
  },
};

/** Views: the output is the input's buffer under another shape. */
const view = {
  forward: noKernel,
  alias: true,
  frozen: { linearity: 'linear' as const },
  region: { kind: 'alias' as const },
  lrp: { kind: 'route' as const },
  reverse: { rules: (rc: ReverseContext) => rc.grad(0, (dx) => [copy(rc.ctx, numel(rc.ys), rc.dy, dx, rc.label)]) },
};

export const flatten: OpDef<NodeOf<'flatten'>> = {
  ...view,
  shape(node, [x]) {
    const axis = node.attrs.axis < 0 ? node.attrs.axis + x!.length : node.attrs.axis;
    return axis === 0 ? [1, numel(x!)] : [numel(x!.slice(0, axis)), numel(x!.slice(axis))];
  },
};

export const reshape: OpDef<NodeOf<'reshape'>> = {
  ...view,
  shape(node, [x]) {
    const spec = node.attrs.shape;
    const dims = spec.map((d, i) => (i === 0 ? x![0]! : d === 0 ? x![i]! : d));
    const known = numel(dims.filter((d) => d !== -1));
    const inferred = dims.map((d) => (d === -1 ? numel(x!) / known : d));
    if (numel(inferred) !== numel(x!) || inferred.some((d) => !Number.isInteger(d)))
      throw new ShapeError(`layer "${node.name}": cannot reshape [${x!.join(', ')}] to [${spec.join(', ')}]`);
    return inferred;
  },
};

export const identity: OpDef<NodeOf<'identity'>> = { ...view, shape: sameShape };

export const pad: OpDef<NodeOf<'pad'>> = {
  shape(node, [x]) {
    const [n, c, h, w] = need4(node, x!);
    const p = node.attrs.pads;
    return [n, c, h + p[0] + p[2], w + p[1] + p[3]];
  },
  forward(ctx, io) {
    const x = io.inShapes[0]!, y = io.outShape;
    const p = io.node.attrs.pads;
    const total = numel(y);
    // a pad value is a constant term: 0 in a frozen pass without biases
    const value = io.noBias ? 0 : io.node.attrs.value;
    return [ctx.engine.makeDispatch(K.pad2d, { uniforms: { total, h: x[2]!, w: x[3]!, oh: y[2]!, ow: y[3]!, pt: p[0], pl: p[1], value }, bindings: { x: io.ins[0]!, y: io.out }, threads: total, label: io.label })];
  },
  lrp: { none: 'padding has no reverse kernel yet' },
  frozen: { linearity: 'linear' },
  region: { kind: 'whole' },
  reverse: { none: 'padding has no reverse kernel yet' },
};

export const resize: OpDef<NodeOf<'resize'>> = {
  shape(node, [x]) {
    const [n, c, h, w] = need4(node, x!);
    const a = node.attrs;
    return a.outSize ? [n, c, a.outSize[0], a.outSize[1]] : [n, c, Math.floor(h * a.scale![0]), Math.floor(w * a.scale![1])];
  },
  forward(ctx, io) {
    const x = io.inShapes[0]!, y = io.outShape;
    const total = numel(y);
    return [ctx.engine.makeDispatch(K.resize2d, {
      defines: io.node.attrs.mode === 'nearest' ? ['NEAREST'] : [],
      uniforms: { total, h: x[2]!, w: x[3]!, oh: y[2]!, ow: y[3]!, alignCorners: io.node.attrs.alignCorners ? 1 : 0 },
      bindings: { x: io.ins[0]!, y: io.out }, threads: total, label: io.label,
    })];
  },
  lrp: { kind: 'linear' },
  frozen: { linearity: 'linear' },
  region: { kind: 'whole' },
  reverse: {
    rules: (rc) => {
      if (rc.node.attrs.mode !== 'bilinear') throw new UnsupportedOpError(`layer "${rc.node.name}" (resize): nearest resize has no reverse rule`);
      rc.grad(0, (dx) => [R.resizeBilinearGrad(rc.engine, rc.xs[0]!, rc.ys, rc.node.attrs.alignCorners, rc.dy, dx, rc.label)]);
    },
  },
};

export const transpose: OpDef<NodeOf<'transpose'>> = {
  shape(node, [x]) {
    const p = node.attrs.perm;
    const r = x!.length;
    if (p.length !== r || [...p].sort((a, b) => a - b).some((v, i) => v !== i))
      throw new ShapeError(`layer "${node.name}": perm [${p.join(', ')}] is not a permutation of the ${r} axes of [${x!.join(', ')}]`);
    if (p[0] !== 0) throw new ShapeError(`layer "${node.name}": perm [${p.join(', ')}] moves the batch axis`);
    if (r > MAX_RANK) throw new ShapeError(`layer "${node.name}": a transpose of rank ${r} (at most ${MAX_RANK})`);
    return p.map((a) => x![a]!);
  },
  // y[idx] = x[Σ_d idx_d · xStride[perm[d]]]
  forward(ctx, io) {
    const xs = stridesOf(io.inShapes[0]!);
    return [gather(ctx.engine, io.outShape, { buf: io.ins[0]!, strides: io.node.attrs.perm.map((a) => xs[a]!) }, io.out, io.label)];
  },
  lrp: { kind: 'route' },
  frozen: { linearity: 'linear' },
  region: { kind: 'whole' },
  // the transpose by the inverse permutation
  reverse: {
    rules: (rc) => {
      const ys = stridesOf(rc.ys);
      const inv = new Array<number>(rc.ys.length);
      rc.node.attrs.perm.forEach((a, d) => (inv[a] = d));
      rc.grad(0, (dx) => [gather(rc.engine, rc.xs[0]!, { buf: rc.dy, strides: inv.map((d) => ys[d]!) }, dx, rc.label)]);
    },
  },
};

export const slicechannels: OpDef<NodeOf<'slicechannels'>> = {
  shape(node, [x]) {
    const { start, count } = node.attrs;
    if (x!.length < 2 || !Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 1 || start + count > x![1]!)
      throw new ShapeError(`layer "${node.name}": channels [${start}, ${start + count}) of [${x!.join(', ')}]`);
    return [x![0]!, count, ...x!.slice(2)];
  },
  // split_channels (concat's reverse) is exactly this slice
  forward: (ctx, io) => [R.splitChannels(ctx.engine, io.inShapes[0]!, io.outShape, io.node.attrs.start, io.ins[0]!, io.out, io.label)],
  lrp: { kind: 'route' },
  frozen: { linearity: 'linear' },
  region: { kind: 'whole' },
  // dy into the slice's channels, 0 in the others
  reverse: { rules: (rc) => rc.grad(0, (dx) => [R.padChannels(rc.engine, rc.ys, rc.xs[0]!, rc.node.attrs.start, rc.dy, dx, rc.label)]) },
};

/** This family's entries of the op table (engine/ops/index.ts). */
export const structureOps = { concat, flatten, reshape, identity, pad, resize, transpose, slicechannels };
