// Shape inference over the IR for a concrete batch size, and the FLOP count of each node.

import type { Graph, Node, Param } from './ir.ts';
import { numel } from './geometry.ts';
import { opOf } from './ops/index.ts';
import { ShapeError } from './errors.ts';

export { numel, convOut, poolOut, poolShape, poolUniforms } from './geometry.ts';

/** Shapes of every value for a batch of `batch`, in node order. Throws ShapeError naming the layer. */
export function inferShapes(g: Graph, batch: number): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  shapes.set(g.input.name, [batch, ...g.input.shape.slice(1)]);
  const param = paramOf(g);
  for (const node of g.nodes) {
    const ins = node.inputs.map((v) => {
      const s = shapes.get(v);
      if (!s) throw new ShapeError(`layer "${node.name}" reads "${v}", which no earlier layer produces`);
      return s;
    });
    const out = opOf(node).shape(node, ins, param);
    for (const o of node.outputs) shapes.set(o, out);
  }
  return shapes;
}

function paramOf(g: Graph): (name: string) => Param {
  return (name) => {
    const p = g.params.get(name);
    if (!p) throw new ShapeError(`parameter ${name} is missing`);
    return p;
  };
}

/** FLOPs of a node: multiply-adds ×2 of conv and fc nodes, one per output element for most others. */
export function nodeFlops(node: Node, inShape: number[], outShape: number[], g: Graph): number {
  const def = opOf(node);
  return def.flops ? def.flops(node, [inShape], outShape, paramOf(g)) : numel(outShape);
}

