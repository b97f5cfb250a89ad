// The op table: one entry per op of the IR (engine/ops/types.ts says what an entry holds). Every
// mode of the engine reads it; `OpTable` makes tsc reject an op without an entry or an entry
// without one of its pieces. Adding an op: its attributes and entry in a family file here (listed
// in the family's `…Ops`), its kernel in kernels/, its mapping in the loaders, and a spec.

import type { Dispatch } from '../gpu.ts';
import type { Node, Param } from '../ir.ts';
import type { LowerContext, NodeIO, OpDef, OpTable } from './types.ts';
import { UnsupportedOpError } from '../errors.ts';
import { convOps } from './conv.ts';
import { poolOps } from './pool.ts';
import { activationOps } from './activation.ts';
import { normalizationOps } from './normalization.ts';
import { denseOps } from './dense.ts';
import { elementwiseOps } from './elementwise.ts';
import { structureOps } from './structure.ts';
import { lossOps } from './loss.ts';

/** Every family's entries; tsc checks that together they cover every op of the IR, each completely. */
export const OPS: OpTable = { ...convOps, ...poolOps, ...activationOps, ...normalizationOps, ...denseOps, ...elementwiseOps, ...structureOps, ...lossOps };

/** The table entry of a node (typed for that node). */
export function opOf<N extends Node>(node: N): OpDef<N> {
  const def = (OPS as Record<string, OpDef<Node>>)[node.op];
  if (!def) throw new UnsupportedOpError(`layer "${node.name}": the engine has no op "${node.op}"`);
  return def as OpDef<N>;
}

/** Output shape of a node. */
export function shapeOf(node: Node, ins: number[][], param: (name: string) => Param): number[] {
  return opOf(node).shape(node, ins, param);
}

/**
 * The kernels of one node in a forward pass. In a frozen pass (`pattern` given for recorded ops,
 * `frozen` true) recorded ops replay the pattern, linear ops run as they are (constant terms off
 * with `noBias`), and anything else is refused with the layer named.
 */
export function lowerNode(ctx: LowerContext, io: NodeIO, frozen?: { pattern?: GPUBuffer }): Dispatch[] {
  const def = opOf(io.node);
  if (frozen) {
    const f = def.frozen;
    if (f.linearity === 'recorded') {
      if (!frozen.pattern) throw new UnsupportedOpError(`layer "${io.node.name}" (${io.node.op}): the recording holds no pattern for it`);
      return f.frozen(ctx, io, frozen.pattern);
    }
    if (f.linearity !== 'linear') throw frozenRefusal(io.node);
  }
  return def.forward(ctx, io);
}

export function frozenRefusal(node: Node, target?: string): UnsupportedOpError {
  return new UnsupportedOpError(
    `layer "${node.name}" (${node.op})${target ? ` on the path to ${target}` : ''} is not piecewise linear with a recorded pattern: a frozen pass (etalons) cannot go through it` +
      (target ? ' (pick a layer before it, e.g. the logits)' : ''),
  );
}

export type { LowerContext, NodeIO, OpDef } from './types.ts';
