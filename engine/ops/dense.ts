// Fully connected layers and softmax.
import type { Dispatch } from '../gpu.ts';

declare module '../ir.ts' {
  interface OpAttrs {
    // Fully connected: y[n,o] = sum_i x[n,i] * W[o,i] + b[o]; x is flattened from axis 1.
    fc: { weight: string; bias?: string; outFeatures: number };
    softmax: { axis: number; log?: boolean };
  }
}
import type { OpDef, NodeOf } from './types.ts';
import { numel } from '../geometry.ts';
import { ShapeError } from '../errors.ts';
import * as K from '../../kernels/index.ts';
import * as R from '../reverse-kernels.ts';
import { sameShape } from './util.ts';
import { fcGemm, fcInputGrad } from '../conv.ts';

/** kernels/fc.wgsl's block: outputs and images per workgroup; its FEW variant's. */
const FC_OB = 4, FC_NB = 16;
const FC_FEW = [16, 4] as const;

/**
 * How fc runs. From `gemmMinBatch` images on, where the engine has subgroups, as conv2d_gemm's
 * WT_ROWS variant (fcGemm, engine/conv.ts: 6 loads per 64 multiply-adds where kernels/fc.wgsl makes
 * 20); below it the columns cannot fill a subgroup and fc.wgsl, which splits each dot product over
 * 32 invocations, is faster. Measured on lavapipe, AlexNet's fc7 (4096 × 4096), GPU timestamps,
 * fc.wgsl → conv2d_gemm: 1 image 69 → 111 ms, 8 images 93 → 114 ms, 16 images 91 → 73 ms,
 * 128 images 659 → 404 ms. Up to `fewMaxBatch` images fc.wgsl runs its FEW variant (16 outputs × 4
 * images a workgroup instead of 4 × 16): fc7 at 4 images 64–69 → 25–44 ms, at 1 image 36–41 →
 * 33–37 ms; at 8 and 12 images the two were within noise. `rowsMax`: outputs per dispatch at most
 * (0: as many rows as one storage binding holds), for specs of the split.
 */
export const FC = { gemmMinBatch: 16, fewMaxBatch: 4, rowsMax: 0 };

export const fc: OpDef<NodeOf<'fc'>> = {
  shape(node, [x], param) {
    const inF = numel(x!.slice(1));
    const wd = param(node.attrs.weight).dims;
    if (wd[1] !== inF) throw new ShapeError(`layer "${node.name}": weights [${wd.join(', ')}] do not fit an input of ${inF} features ([${x!.join(', ')}])`);
    return [x![0]!, node.attrs.outFeatures];
  },
  flops: (_node, [x], out) => 2 * numel(out) * numel(x!.slice(1)),
  fusesRelu: true,
  splitsParams: true,
  forward(ctx, io) {
    const a = io.node.attrs;
    const e = ctx.engine;
    const x = io.inShapes[0]!;
    const n = x[0]!;
    const inF = numel(x.slice(1));
    const bias = a.bias && !io.noBias ? a.bias : undefined;
    const few = n <= FC.fewMaxBatch;
    const defines = [...(bias ? ['HAS_BIAS'] : []), ...(io.fuseRelu ? ['RELU'] : []), ...(few ? ['FEW'] : [])];
    // Rows per dispatch: all of them unless the weights exceed one storage binding.
    const rows = Math.min(a.outFeatures, Math.floor(e.maxBindingBytes / (inF * 4)), FC.rowsMax || Infinity);
    const gemm = e.subgroups && n >= FC.gemmMinBatch;
    const ds: Dispatch[] = [];
    for (let o0 = 0; o0 < a.outFeatures; o0 += rows) {
      const cnt = Math.min(rows, a.outFeatures - o0);
      const whole = cnt === a.outFeatures;
      const slice = (p: string, width: number) =>
        whole ? ctx.param(p) : ctx.derived(`${p}[${o0}:${o0 + cnt}]`, () => ctx.paramData(p).subarray(o0 * width, (o0 + cnt) * width));
      const flops = ((io.flops ?? 0) * cnt) / a.outFeatures;
      if (gemm) {
        ds.push(fcGemm(e, n, inF, cnt, a.outFeatures, o0, io.ins[0]!, slice(a.weight, inF), bias ? slice(bias, 1) : undefined, io.out, !!io.fuseRelu, io.label, flops));
        continue;
      }
      const [ob, nb] = few ? FC_FEW : [FC_OB, FC_NB];
      const groups = Math.ceil(n / nb) * Math.ceil(cnt / ob); // kernels/fc.wgsl: a block of ob outputs × nb images per workgroup
      const wx = Math.min(groups, 65535);
      ds.push(e.makeDispatch(K.fc, {
        defines, uniforms: { n, inF, outF: cnt, outTotal: a.outFeatures, oOffset: o0 },
        bindings: { x: io.ins[0]!, wt: slice(a.weight, inF), bias: bias ? slice(bias, 1) : undefined, y: io.out },
        workgroups: [wx, Math.ceil(groups / wx), 1], label: io.label, flops,
      }));
    }
    return ds;
  },
  lrp: { kind: 'linear', weight: 'weight', bias: 'bias' },
  frozen: { linearity: 'linear' },
  region: { kind: 'whole' },
  reverse: {
    rules: (rc) => {
      const xs = rc.xs[0]!;
      const inF = numel(xs.slice(1));
      const outF = rc.node.attrs.outFeatures;
      rc.grad(0, (dx) => fcInputGrad(rc.ctx, xs[0]!, inF, outF, rc.dy, rc.node.attrs.weight, dx, rc.label));
    },
  },
  paramGrads: (rc, grad) => {
    const a = rc.node.attrs;
    const xs = rc.xs[0]!;
    const inF = numel(xs.slice(1));
    return [
      R.fcWeightGrad(rc.engine, xs[0]!, inF, a.outFeatures, rc.dy, rc.x(0), grad(a.weight), `${rc.label}:dW`),
      ...(a.bias ? [R.fcBiasGrad(rc.engine, xs[0]!, a.outFeatures, rc.dy, grad(a.bias), `${rc.label}:db`)] : []),
    ];
  },
};

export const softmax: OpDef<NodeOf<'softmax'>> = {
  shape: sameShape,
  forward(ctx, io) {
    const x = io.inShapes[0]!;
    const axis = io.node.attrs.axis < 0 ? io.node.attrs.axis + x.length : io.node.attrs.axis;
    const c = x[axis]!;
    const inner = numel(x.slice(axis + 1));
    const rows = numel(x) / c;
    return [ctx.engine.makeDispatch(K.softmax, { defines: io.node.attrs.log ? ['LOG'] : [], uniforms: { rows, c, inner }, bindings: { x: io.ins[0]!, y: io.out }, threads: rows, label: io.label })];
  },
  lrp: { none: 'relevance starts at the logits before the softmax: explain from there' },
  frozen: { linearity: 'nonlinear' },
  region: { kind: 'whole' },
  reverse: {
    rules: (rc) => {
      const xs = rc.xs[0]!;
      const axis = rc.node.attrs.axis < 0 ? rc.node.attrs.axis + xs.length : rc.node.attrs.axis;
      rc.grad(0, (dx) => [R.softmaxGrad(rc.engine, xs, axis, rc.y(), rc.dy, dx, rc.label, !!rc.node.attrs.log)]);
    },
  },
};

/** This family's entries of the op table (engine/ops/index.ts). */
export const denseOps = { fc, softmax };
