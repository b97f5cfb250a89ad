// Training losses as ops (issue 17): the Trainer (engine/train.ts) appends one to its own copy of
// the graph and starts its reverse walk at the loss, so a step reads back N numbers instead of the
// whole output, and dL/doutput never leaves the GPU. Each reads its target from a graph parameter
// that the Trainer overwrites every step (queue.writeBuffer); the parameter has room for B images
// (the Trainer's batch) and a pass of N ≤ B images reads the first N. The output is [N, 1], each
// image's own loss: the batch mean is the walk's seed (1/N per image), not the op's business.
//  - softmax_cross_entropy: logits [N, K] (or [N, K, 1, 1]) against labels stored as f32 class
//    indices ([B]); log Σ exp(z) − z_y (kernels/softmax_cross_entropy.wgsl).
//  - mse: the decoders' pixel loss, Σ (x − t)² / M over an image's M values, target [B, ...] of
//    the input's per-image shape (kernels/mse.wgsl).
// Neither is part of a model an explainer sees: no frozen pattern, no LRP rule; region mode would
// recompute them on whole maps (the default of ops without a region kernel).

declare module '../ir.ts' {
  interface OpAttrs {
    softmax_cross_entropy: { target: string }; // param [B]: one label (class index, as f32) per image
    mse: { target: string }; // param [B, ...the input's shape without the batch]
  }
}
import type { Node, Param } from '../ir.ts';
import type { OpDef, NodeOf } from './types.ts';
import { numel } from '../geometry.ts';
import { foldWorkgroups } from '../gpu.ts';
import { ShapeError } from '../errors.ts';
import * as TK from '../../kernels/train.ts';

/** The images the target parameter has room for; ShapeError when it cannot hold a batch of `n` with `per` values each. */
function targetImages(node: Node & { attrs: { target: string } }, param: (name: string) => Param, n: number, per: number, what: string): number {
  const t = param(node.attrs.target);
  const b = t.dims[0] ?? 0;
  const tPer = numel(t.dims.slice(1));
  if (tPer !== per || b < 1) throw new ShapeError(`layer "${node.name}" (${node.op}): target "${node.attrs.target}" [${t.dims.join(', ')}] does not hold ${what}`);
  if (n > b) throw new ShapeError(`layer "${node.name}" (${node.op}): target "${node.attrs.target}" has room for ${b} images, the batch has ${n}`);
  return b;
}

/** [N, K] or [N, K, 1, 1]: the class count K. */
function classesOf(node: Node, x: number[]): number {
  if (!(x.length === 2 || (x.length === 4 && x[2] === 1 && x[3] === 1)))
    throw new ShapeError(`layer "${node.name}" (softmax_cross_entropy) needs logits [N, K] or [N, K, 1, 1], got [${x.join(', ')}]`);
  return x[1]!;
}

const NOT_IN_EXPLANATIONS = 'a training loss: it is not part of a model an explainer runs';

export const softmax_cross_entropy: OpDef<NodeOf<'softmax_cross_entropy'>> = {
  shape(node, [x], param) {
    classesOf(node, x!);
    targetImages(node, param, x![0]!, 1, 'one label per image');
    return [x![0]!, 1];
  },
  flops: (_node, [x]) => 3 * numel(x!),
  forward(ctx, io) {
    const x = io.inShapes[0]!;
    const n = x[0]!, k = classesOf(io.node, x);
    return [ctx.engine.makeDispatch(TK.softmaxCrossEntropy, { uniforms: { n, k }, bindings: { x: io.ins[0]!, t: ctx.param(io.node.attrs.target), y: io.out }, threads: n, label: io.label })];
  },
  lrp: { none: NOT_IN_EXPLANATIONS },
  frozen: { linearity: 'nonlinear' },
  region: { kind: 'whole' },
  // (softmax − onehot) · dy under every rule: nothing in it is a rectifier
  reverse: {
    rules: (rc) => {
      const x = rc.xs[0]!;
      const n = x[0]!, k = classesOf(rc.node, x);
      rc.grad(0, (dx) => [rc.engine.makeDispatch(TK.softmaxCrossEntropyBackward, {
        uniforms: { n, k }, bindings: { x: rc.x(0), t: rc.ctx.param(rc.node.attrs.target), dy: rc.dy, dx }, threads: n, label: rc.label,
      })]);
    },
  },
};

export const mse: OpDef<NodeOf<'mse'>> = {
  shape(node, [x], param) {
    const per = numel(x!.slice(1));
    targetImages(node, param, x![0]!, per, `images of [${x!.slice(1).join(', ')}] (${per} values each)`);
    return [x![0]!, 1];
  },
  flops: (_node, [x]) => 3 * numel(x!),
  forward(ctx, io) {
    const x = io.inShapes[0]!;
    const n = x[0]!, m = numel(x.slice(1));
    return [ctx.engine.makeDispatch(TK.mse, { uniforms: { n, m }, bindings: { x: io.ins[0]!, t: ctx.param(io.node.attrs.target), y: io.out }, workgroups: foldWorkgroups(n), label: io.label })];
  },
  lrp: { none: NOT_IN_EXPLANATIONS },
  frozen: { linearity: 'nonlinear' },
  region: { kind: 'whole' },
  // 2(x − t)/M · dy[n] under every rule
  reverse: {
    rules: (rc) => {
      const x = rc.xs[0]!;
      const total = numel(x), m = numel(x.slice(1));
      rc.grad(0, (dx) => [rc.engine.makeDispatch(TK.mseBackward, {
        uniforms: { total, m }, bindings: { x: rc.x(0), t: rc.ctx.param(rc.node.attrs.target), dy: rc.dy, dx }, threads: total, label: rc.label,
      })]);
    },
  },
};

/** This family's entries of the op table (engine/ops/index.ts). */
export const lossOps = { softmax_cross_entropy, mse };
