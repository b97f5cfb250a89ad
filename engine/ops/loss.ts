// Training losses as ops (issue 17): the Trainer (engine/train.ts) appends one to its own copy of
// the graph and starts its reverse walk at the loss, so a step reads back N numbers instead of the
// whole output, and dL/doutput never leaves the GPU. Each reads its target from a graph parameter
// that the Trainer overwrites every step (queue.writeBuffer); the parameter has room for B images
// (the Trainer's batch) and a pass of N ≤ B images reads the first N (a larger batch is refused
// when the node is lowered: the network alone still runs at any batch). The output is [N, 1], each
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
import type { LowerContext, OpDef, NodeOf } from './types.ts';
import { numel } from '../geometry.ts';
import { foldWorkgroups } from '../gpu.ts';
import { ShapeError } from '../errors.ts';
import * as TK from '../../kernels/train.ts';

/**
 * The shape rule's check of the target parameter: images of `per` values each. How many images it
 * has room for is checked when a pass lowers the node (`room`), not here: the Trainer's Model also
 * runs its network alone at other batch sizes (evaluation), and shapes are inferred for the whole
 * graph.
 */
function checkTarget(node: Node & { attrs: { target: string } }, param: (name: string) => Param, per: number, what: string): void {
  const t = param(node.attrs.target);
  if (numel(t.dims.slice(1)) !== per || !((t.dims[0] ?? 0) >= 1)) throw new ShapeError(`layer "${node.name}" (${node.op}): target "${node.attrs.target}" [${t.dims.join(', ')}] does not hold ${what}`);
}

/** The target parameter's buffer, once it is known to hold the batch's `n` images of `per` values. */
function room(ctx: LowerContext, node: Node & { attrs: { target: string } }, n: number, per: number): GPUBuffer {
  const b = ctx.paramSize(node.attrs.target) / per;
  if (n > b) throw new ShapeError(`layer "${node.name}" (${node.op}): target "${node.attrs.target}" has room for ${b} images, the batch has ${n}`);
  return ctx.param(node.attrs.target);
}

/** [N, K] or [N, K, 1, 1]: the class count K. */
function classesOf(node: Node, x: number[]): number {
  if (!(x.length === 2 || (x.length === 4 && x[2] === 1 && x[3] === 1)))
    throw new ShapeError(`layer "${node.name}" (softmax_cross_entropy) needs logits [N, K] or [N, K, 1, 1], got [${x.join(', ')}]`);
  return x[1]!;
}

/** What the explanation modes do with a loss: refuse it (no frozen pattern, no LRP rule) or run it on whole maps. */
const NOT_IN_EXPLANATIONS = {
  lrp: { none: 'a training loss: it is not part of a model an explainer runs' },
  frozen: { linearity: 'nonlinear' },
  region: { kind: 'whole' },
} as const;

export const softmax_cross_entropy: OpDef<NodeOf<'softmax_cross_entropy'>> = {
  shape(node, [x], param) {
    classesOf(node, x!);
    checkTarget(node, param, 1, 'one label per image');
    return [x![0]!, 1];
  },
  flops: (_node, [x]) => 3 * numel(x!),
  forward(ctx, io) {
    const x = io.inShapes[0]!;
    const n = x[0]!, k = classesOf(io.node, x);
    return [ctx.engine.makeDispatch(TK.softmaxCrossEntropy, { uniforms: { n, k }, bindings: { x: io.ins[0]!, t: room(ctx, io.node, n, 1), y: io.out }, threads: n, label: io.label })];
  },
  ...NOT_IN_EXPLANATIONS,
  // (softmax − onehot) · dy under every rule: nothing in it is a rectifier
  reverse: {
    rules: (rc) => {
      const x = rc.xs[0]!;
      const n = x[0]!, k = classesOf(rc.node, x);
      rc.grad(0, (dx) => [rc.engine.makeDispatch(TK.softmaxCrossEntropyBackward, {
        uniforms: { n, k }, bindings: { x: rc.x(0), t: room(rc.ctx, rc.node, n, 1), dy: rc.dy, dx }, threads: n, label: rc.label,
      })]);
    },
  },
};

export const mse: OpDef<NodeOf<'mse'>> = {
  shape(node, [x], param) {
    const per = numel(x!.slice(1));
    checkTarget(node, param, per, `images of [${x!.slice(1).join(', ')}] (${per} values each)`);
    return [x![0]!, 1];
  },
  flops: (_node, [x]) => 3 * numel(x!),
  forward(ctx, io) {
    const x = io.inShapes[0]!;
    const n = x[0]!, m = numel(x.slice(1));
    return [ctx.engine.makeDispatch(TK.mse, { uniforms: { n, m }, bindings: { x: io.ins[0]!, t: room(ctx, io.node, n, m), y: io.out }, workgroups: foldWorkgroups(n), label: io.label })];
  },
  ...NOT_IN_EXPLANATIONS,
  // 2(x − t)/M · dy[n] under every rule
  reverse: {
    rules: (rc) => {
      const x = rc.xs[0]!;
      const total = numel(x), m = numel(x.slice(1));
      rc.grad(0, (dx) => [rc.engine.makeDispatch(TK.mseBackward, {
        uniforms: { total, m }, bindings: { x: rc.x(0), t: room(rc.ctx, rc.node, x[0]!, m), dy: rc.dy, dx }, threads: total, label: rc.label,
      })]);
    },
  },
};

/** This family's entries of the op table (engine/ops/index.ts). */
export const lossOps = { softmax_cross_entropy, mse };
