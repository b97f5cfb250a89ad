// Small shared pieces of the op table's entries.
import type { Node } from '../ir.ts';
import type { Dispatch } from '../gpu.ts';
import type { LowerContext, NodeIO, RegionRule } from './types.ts';
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

/**
 * Region rule (engine/region.ts) of ops that are pointwise in space (LRN's window over channels,
 * per-channel affine maps, PReLU): a 1×1 window, so the output rectangle is the input's. `lower`
 * runs the op's kernel (its REGION variant) on the rectangles only, as a tensor [N][C][rh][rw] of
 * `total` floats with planes of `hw`, read from float `rbIn` and written from float `rbOut`.
 */
export function pixelwiseRegion<N extends Node>(lower: (ctx: LowerContext, io: NodeIO<N>, r: { total: number; c: number; hw: number; rbIn: number; rbOut: number }) => Dispatch): RegionRule<N> {
  return {
    kind: 'window',
    geometry: () => ({ kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0] }),
    lower: (ctx, io, r) => {
      if (r.rhIn !== r.rhOut || r.rwIn !== r.rwOut) throw new ShapeError(`layer "${io.node.name}": region ${io.node.op} from a ${r.rhIn}×${r.rwIn} to a ${r.rhOut}×${r.rwOut} rectangle`);
      const [n, c] = io.inShapes[0]!;
      const hw = r.rhOut * r.rwOut;
      return lower(ctx, io, { total: n! * c! * hw, c: c!, hw, rbIn: r.rbIn, rbOut: r.rbOut });
    },
  };
}
