// A model's layer table as data: what `loupe info` prints (and `--json` writes), and what the browser
// app's graph view and layer table draw, so that the CLI and the browser agree on every number.
// No DOM and no Node built-in here.
import type { Graph } from './ir.ts';
import { nodeParams } from './ir.ts';
import { inferShapes, nodeFlops } from './shapes.ts';

/** One node of the graph: its first output's shape at batch 1, its parameter count and its FLOPs per image. */
export interface LayerRow {
  name: string;
  op: string;
  inputs: string[]; // value names, as the graph lists them (parameters are not values)
  output: string; // the value it produces (its first output)
  shape: number[]; // the output's shape at batch 1: [1, C, H, W] or [1, F]
  params: number;
  flops: number;
}

export interface ModelSummary {
  name: string;
  format: string;
  input: { name: string; shape: number[] };
  outputs: string[];
  layers: LayerRow[]; // in the graph's (topological) order
  params: number; // totals over the layers
  flops: number;
}

/** The layer table of `g`: exactly what `loupe info --json` prints (same keys in the same order, same numbers). */
export function summarise(g: Graph): ModelSummary {
  const shapes = inferShapes(g, 1);
  const layers = g.nodes.map((n): LayerRow => {
    const out = shapes.get(n.outputs[0]!)!;
    const params = nodeParams(n).reduce((s, p) => s + (g.params.get(p)?.data.length ?? 0), 0);
    return { name: n.name, op: n.op, inputs: [...n.inputs], output: n.outputs[0]!, shape: out, params, flops: nodeFlops(n, shapes.get(n.inputs[0]!) ?? out, out, g) };
  });
  return {
    name: g.name,
    format: g.format,
    input: { name: g.input.name, shape: [...g.input.shape] },
    outputs: [...g.outputs],
    layers,
    params: layers.reduce((s, r) => s + r.params, 0),
    flops: layers.reduce((s, r) => s + r.flops, 0),
  };
}

/** A layer's output shape without the batch: `64×56×56`. */
export function shapeText(shape: number[]): string {
  return shape.slice(1).join('×');
}

/** The summary's total as `loupe info` words it: `142 layers, 6,998,552 parameters, 3.193 GFLOPs per image`. */
export function totalText(s: ModelSummary): string {
  return `${s.layers.length} layers, ${s.params.toLocaleString('en')} parameters, ${(s.flops / 1e9).toFixed(3)} GFLOPs per image`;
}
