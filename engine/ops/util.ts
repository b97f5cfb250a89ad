// Small shared pieces of the op table's entries.
import type { Node } from '../ir.ts';
import type { Dispatch } from '../gpu.ts';
import type { LowerContext } from './types.ts';
import { ShapeError } from '../errors.ts';
import { splitChannels } from '../reverse-kernels.ts';

export function need4(node: Node, s: number[]): [number, number, number, number] {
  if (s.length !== 4) throw new ShapeError(`layer "${node.name}" (${node.op}) needs a 4-D NCHW input, got [${s.join(', ')}]`);
  return s as [number, number, number, number];
}

/** Shape rule of ops whose output has their input's shape. */
export const sameShape = (_node: Node, ins: number[][]): number[] => [...ins[0]!];

/** Forward rule of ops that run no kernel (the planner aliases their output to their input). */
export const noKernel = (): Dispatch[] => [];

/** A copy of `total` floats, for reverse rules that pass a signal through unchanged. */
export function copy(ctx: LowerContext, total: number, from: GPUBuffer, to: GPUBuffer, label: string): Dispatch {
  return splitChannels(ctx.engine, [1, total, 1], [1, total, 1], 0, from, to, label);
}
