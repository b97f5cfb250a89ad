// What the engine knows about one op, in one place: the op table's entry type. Every mode of the
// engine (plain, recording, frozen, region, reverse, training) reads these entries; nothing else
// switches on op names. `engine/ops/index.ts` collects the entries in a table typed over OpType, so
// an op without an entry, or an entry without one of its pieces, does not compile.

import type { Dispatch, Engine } from '../gpu.ts';
import type { Node, OpType, Param } from '../ir.ts';
import type { ConvGeometry } from '../reverse-kernels.ts';

export type NodeOf<K extends OpType> = Extract<Node, { op: K }>;

/** What a kernel lowering may ask of the model: parameters on the GPU and buffers derived from them. */
export interface LowerContext {
  engine: Engine;
  /** GPU buffer of a graph parameter (uploaded once per model). */
  param(name: string): GPUBuffer;
  /** A buffer derived once per model from parameters on the CPU, cached under `key`. */
  derived(key: string, make: () => Float32Array): GPUBuffer;
  /**
   * A buffer of `floats` derived from parameter buffers on the GPU by `build`'s dispatches (weight
   * re-layouts, flipped filters), made once per model under `key` and rebuilt by
   * `Model.refreshDerived` when the parameters change (training): the one weight re-layout every
   * mode shares.
   */
  derivedGpu(key: string, floats: number, build: (out: GPUBuffer) => Dispatch[]): GPUBuffer;
  /** Element count of a graph parameter. */
  paramSize(name: string): number;
  /** The CPU copy of a graph parameter. */
  paramData(name: string): Float32Array;
  /** A small placeholder buffer for unused optional bindings. */
  dummy(): GPUBuffer;
}

/** One node's forward lowering: shapes (batch first) and the buffers the planner allocated. */
export interface NodeIO<N extends Node = Node> {
  node: N;
  inShapes: number[][];
  outShape: number[];
  ins: GPUBuffer[];
  out: GPUBuffer;
  /** Fuse the following ReLU into this node's output (ops with `fusesRelu`). */
  fuseRelu?: boolean;
  /** Recording pass of a `recorded` op: also write its pattern here (one 4-byte value per output element). */
  aux?: GPUBuffer;
  /** Frozen pass with biases off: drop every constant term (biases, shifts, pad values). */
  noBias?: boolean;
  flops?: number;
  /** Kernel label, `op:name` unless the mode says otherwise. */
  label: string;
  /**
   * Scratch space for multi-dispatch lowerings (Winograd's transformed tiles), released after the
   * node; modes that offer none get the op's single-kernel lowering. Ops that take it say how much
   * in `scratchBytes`.
   */
  scratch?: (bytes: number, label: string) => GPUBuffer;
}

/**
 * How an op behaves in a frozen pass (Molchanov et al.: the network around one input as a fixed
 * affine map), as an allow-list:
 *  - linear:    an affine op (conv, fc, pooling by averages, concat, ...): runs as is, biases off on request;
 *  - recorded:  piecewise linear with a pattern the recording keeps (ReLU masks, max-pool switches,
 *               clip patterns): `frozen` replays one image's pattern for the whole batch;
 *  - nonlinear: anything else: a frozen pass through it is refused, naming the layer.
 */
export type Linearity =
  | { linearity: 'linear' }
  | { linearity: 'nonlinear' }
  | { linearity: 'recorded'; frozen(ctx: LowerContext, io: NodeIO, pattern: GPUBuffer): Dispatch[] };

/** The rectangle a region-mode value holds (engine/region.ts): offsets and origins of input and output. */
export interface RegionIO {
  org: GPUBuffer;
  rhIn: number;
  rwIn: number;
  rbIn: number;
  orgIn: number;
  rhOut: number;
  rwOut: number;
  rbOut: number;
  orgOut: number;
  /** channels of the buffer written (a concat's, when a conv writes its slice of it); default the op's own */
  yChannels?: number;
}

/**
 * How region mode (PDA, occlusion: recompute only the rectangle a perturbation can change) runs the op:
 *  - whole:       rectangles are first expanded to whole maps, then the ordinary kernel runs;
 *  - alias:       the output is the input (flatten, reshape, identity);
 *  - elementwise: each output element depends on the same input element only: the ordinary kernel
 *                 runs over the clean prefix and the rectangles alike;
 *  - window:      a sliding window (conv, pools): the output rectangle is the input rectangle's
 *                 image under the window geometry, computed by the kernel's REGION variant;
 *                 `intoConcat`: may write straight into a concat's channel slice;
 *                 (a window of 1×1 keeps the rectangle: LRN, which mixes channels at one pixel only);
 *  - global:      reads the rectangles and the clean prefix, writes whole vectors (global pools);
 *  - concat:      the hull of its inputs' rectangles;
 *  - combine:     an elementwise op of several inputs of the output's shape (residual adds): the
 *                 output rectangle is the hull of the inputs', computed by the kernel's REGION
 *                 variant, which reads each input from its own rectangle or its clean prefix.
 */
export type RegionRule<N extends Node = Node> =
  | { kind: 'whole' }
  | { kind: 'alias' }
  | { kind: 'elementwise' }
  | {
      kind: 'window';
      geometry(node: N): Pick<ConvGeometry, 'kernel' | 'stride' | 'pads'> & { dilation?: [number, number] };
      /** whether the region kernel covers this node (else: whole maps) */
      applies?(node: N, x: number[], y: number[]): boolean;
      intoConcat?: boolean;
      /** one dispatch, or several (Winograd's transforms around its GEMM, with `io.scratch`) */
      lower(ctx: LowerContext, io: NodeIO<N>, r: RegionIO): Dispatch | Dispatch[];
    }
  | { kind: 'global'; lower(ctx: LowerContext, io: NodeIO<N>, r: Pick<RegionIO, 'org' | 'rhIn' | 'rwIn' | 'rbIn' | 'orgIn'> & { c: number; w: number }): Dispatch }
  | { kind: 'concat' }
  | {
      kind: 'combine';
      /** whether the region kernel covers this node (else: whole maps) */
      applies?(node: N, ins: number[][], y: number[]): boolean;
      lower(ctx: LowerContext, io: NodeIO<N>, r: RegionCombineIO): Dispatch;
    };

/** The rectangles of a `combine` op's inputs (a whole-map input: its map's size, origin block 0, offset 0) and of its output. */
export interface RegionCombineIO {
  org: GPUBuffer;
  ins: { rh: number; rw: number; rb: number; org: number }[];
  rhOut: number;
  rwOut: number;
  rbOut: number;
  orgOut: number;
}

export type ReverseRuleName = 'gradient' | 'deconvnet' | 'guided';

/** What an op's reverse rule sees: the recorded forward pass around the node, and where to put signals. */
export interface ReverseContext<N extends Node = Node> {
  node: N;
  rule: ReverseRuleName;
  ctx: LowerContext;
  engine: Engine;
  label: string;
  /** input shapes and output shape (batch first) */
  xs: number[][];
  ys: number[];
  /** the signal arriving at the output */
  dy: GPUBuffer;
  /** recorded forward values: input i, the output, the recorded pattern (ReLU mask, pool switches) */
  x(i: number): GPUBuffer;
  y(): GPUBuffer;
  pattern(): GPUBuffer;
  /** whether input i needs a signal (some target is reached through it) */
  needs(i: number): boolean;
  /** contribute to input i's signal: `make` writes into dx (a fresh buffer of input i's shape) */
  grad(i: number, make: (dx: GPUBuffer) => Dispatch[]): void;
  /** a scratch buffer of `bytes` that lives until the walk is disposed */
  scratch(bytes: number, label: string): GPUBuffer;
}

/** The reverse rules of an op (gradient, DeconvNet, guided backprop), or why it has none. */
export type ReverseRule<N extends Node = Node> = { rules(rc: ReverseContext<N>): void } | { none: string };

export interface OpDef<N extends Node = Node> {
  /** Output shape from the input shapes (batch first); throws ShapeError naming the layer. */
  shape(node: N, ins: number[][], param: (name: string) => Param): number[];
  /** FLOPs of the node for these shapes (default: one per output element). */
  flops?(node: N, ins: number[][], out: number[], param: (name: string) => Param): number;
  /** The output is the input's buffer (no kernel). */
  alias?: boolean;
  /** Can write ReLU(output) directly when a ReLU is its only reader. */
  fusesRelu?: boolean;
  /** Splits parameters larger than one storage binding over several dispatches (the plan's limit check lets them through). */
  splitsParams?: boolean;
  /** The kernels of one node. */
  forward(ctx: LowerContext, io: NodeIO<N>): Dispatch[];
  /**
   * The scratch buffers (bytes each, in the order they are asked for) that the node's forward
   * lowering (NodeIO.scratch), or the input gradient of its reverse rule (ReverseContext.scratch),
   * takes at these shapes on this engine; default none. Forward plans size one shared buffer per
   * position from it, and Model.maxBatch / maxRecordBatch count it.
   */
  scratchBytes?(engine: Engine, node: N, ins: number[][], out: number[], pass: 'forward' | 'reverse'): number[];
  frozen: Linearity;
  region: RegionRule<N>;
  reverse: ReverseRule<N>;
  /** The op's Layer-wise Relevance Propagation rule, or why it has none. */
  lrp: LrpRule;
  /**
   * Training (ops with trainable parameters): dispatches that write the gradient of each of the
   * node's parameters into `grad(name)` from the recorded input (`rc.x(0)`) and the signal `rc.dy`.
   */
  paramGrads?(rc: ReverseContext<N>, grad: (param: string) => GPUBuffer): Dispatch[];
}

/**
 * How Layer-wise Relevance Propagation (engine/lrp.ts) passes relevance back through the op:
 *  - linear:   an affine op: the z-rules (LRP-0/ε, γ, αβ, flat, z^B) as gradient × input of the
 *              op's own forward and reverse kernels, with `weight` and `bias` naming the attributes
 *              that hold its weight and bias parameters (modified per rule); ops without weights
 *              (pools by averages, add, ...) split relevance in proportion to their inputs;
 *  - route:    relevance moves without being mixed, along the op's gradient rule (max-pool winner
 *              takes all by its switches, concat slices, views);
 *  - pass:     an elementwise rectifier: relevance passes through unchanged (ReLU);
 *  - none:     no LRP rule: the walk refuses, naming the layer.
 */
export type LrpRule = { kind: 'linear'; weight?: string; bias?: string } | { kind: 'route' } | { kind: 'pass' } | { none: string };

/** The op table's type: one complete entry per op of the IR. */
export type OpTable = { [K in OpType]: OpDef<NodeOf<K>> };
