// The plan builder every mode shares: what a set of values needs (nodes, in graph order), which
// ReLUs fuse into their producer, when each value is read for the last time, and an arena that
// reuses the buffer of a value nobody reads any more. The forward modes (plain, recording, frozen)
// are lowering strategies over it here; region mode (engine/region.ts), the reverse walk
// (engine/reverse.ts) and training (engine/train.ts) build their plans from the same pieces.

import type { Dispatch, Engine } from './gpu.ts';
import type { Graph, Node } from './ir.ts';
import { nodeParams } from './ir.ts';
import { opOf, lowerNode, type LowerContext } from './ops/index.ts';
import { inferShapes, nodeFlops, numel } from './shapes.ts';
import { ArgumentError, DeviceLimitError } from './errors.ts';

/**
 * Buffers of one plan with liveness-based reuse: `alloc` hands out a released buffer of the same
 * rounded size when there is one (plans release a value's buffer after its last reader), else makes
 * one. The arena owns every buffer it made and destroys them together.
 */
export class Arena {
  readonly owned: GPUBuffer[] = [];
  private free = new Map<number, GPUBuffer[]>();
  private out = new Set<GPUBuffer>();
  constructor(readonly engine: Engine) {}

  alloc(bytes: number, label: string): GPUBuffer {
    const size = Math.max(256, Math.ceil(bytes / 256) * 256);
    const b = this.free.get(size)?.pop();
    if (b) {
      this.out.add(b);
      return b;
    }
    const nb = this.engine.createBuffer(size, label);
    this.owned.push(nb);
    this.out.add(nb);
    return nb;
  }

  /** Returns a buffer for reuse by later allocations (once per buffer; later calls are ignored). */
  release(b: GPUBuffer): void {
    if (!this.out.delete(b)) return;
    const l = this.free.get(b.size);
    if (l) l.push(b);
    else this.free.set(b.size, [b]);
  }

  get bytes(): number {
    return this.owned.reduce((s, b) => s + b.size, 0);
  }

  destroy(): void {
    for (const b of this.owned) this.engine.destroyBuffer(b);
    this.owned.length = 0;
    this.free.clear();
    this.out.clear();
  }
}

/** Facts about a graph's structure that every plan starts from (computed once per graph). */
export class GraphFacts {
  /** node index producing each value */
  readonly producer = new Map<string, number>();
  /** how many node inputs read each value */
  readonly readCount = new Map<string, number>();
  /** a view's value → the value whose buffer it shares */
  private root = new Map<string, string>();

  constructor(readonly graph: Graph) {
    graph.nodes.forEach((n, i) => {
      for (const o of n.outputs) this.producer.set(o, i);
      for (const v of n.inputs) this.readCount.set(v, (this.readCount.get(v) ?? 0) + 1);
      if (opOf(n).alias) this.root.set(n.outputs[0]!, this.rootOf(n.inputs[0]!));
    });
  }

  /** The node that produces value `v`, if one does (the graph input has none). */
  layerOf(v: string): Node | undefined {
    const i = this.producer.get(v);
    return i === undefined ? undefined : this.graph.nodes[i];
  }

  /** The value whose buffer `v` shares (itself unless it is a view). */
  rootOf(v: string): string {
    return this.root.get(v) ?? v;
  }

  /** Indices of the nodes the values depend on, in graph order (all nodes for `undefined`). */
  needed(values?: string[]): number[] {
    const g = this.graph;
    if (!values) return g.nodes.map((_, i) => i);
    const need = new Set<number>();
    const stack = values.map((v) => this.producer.get(v)).filter((i): i is number => i !== undefined);
    while (stack.length) {
      const i = stack.pop()!;
      if (need.has(i)) continue;
      need.add(i);
      for (const v of g.nodes[i]!.inputs) {
        const p = this.producer.get(v);
        if (p !== undefined) stack.push(p);
      }
    }
    return [...need].sort((a, b) => a - b);
  }

  /**
   * The ReLU that node `i` writes directly (its op fuses ReLUs, the ReLU is the next node and the
   * only reader of node i's output, and nobody asked to keep that output), or undefined.
   */
  fusedRelu(i: number, needed: Set<number>, keep: Set<string>): number | undefined {
    const g = this.graph;
    const node = g.nodes[i]!;
    const out = node.outputs[0]!;
    if (!opOf(node).fusesRelu || this.readCount.get(out) !== 1 || keep.has(out)) return undefined;
    const next = g.nodes[i + 1];
    return next && needed.has(i + 1) && next.op === 'relu' && next.inputs[0] === out ? i + 1 : undefined;
  }

  /**
   * Per value, the index of the last of `nodes` that reads it (or its views); values in `keep` live
   * to the end (Infinity); values nobody reads get -1.
   */
  lastUse(nodes: number[], keep: Iterable<string>): Map<string, number> {
    const g = this.graph;
    const last = new Map<string, number>();
    for (const i of nodes) for (const v of g.nodes[i]!.inputs) last.set(this.rootOf(v), i);
    for (const k of keep) last.set(this.rootOf(k), Infinity);
    const out = new Map<string, number>();
    out.set(g.input.name, last.get(g.input.name) ?? -1);
    for (const i of nodes) for (const o of g.nodes[i]!.outputs) out.set(o, last.get(this.rootOf(o)) ?? -1);
    return out;
  }
}

/**
 * GPU work run inside a forward pass right after `value` is computed, on its buffer (batch `batch`),
 * before any layer reads it: Ablation-CAM's whole-network route zeroes one channel per image there.
 * `key` names it in the plan cache (the dispatches are built once per plan).
 */
export interface Injection {
  value: string;
  key: string;
  dispatches(buffer: GPUBuffer, batch: number, shape: number[]): Dispatch[];
}

/**
 * The tail of a graph after value `from`: the nodes that `outputs` need and `from` does not, as a
 * graph whose input is `from` (shape [-1, …from's shape]) sharing the parent's parameters. Throws
 * ArgumentError when an output does not depend on `from`, or when a tail node reads a value
 * computed before `from` other than `from` itself (a skip connection around it, as in a ResNet
 * block), naming that value and the layer that reads it: then only whole-network recomputation is
 * exact.
 */
export function tailGraph(facts: GraphFacts, from: string, outputs: string[]): Graph {
  const g = facts.graph;
  if (from === g.input.name) throw new ArgumentError(`"${from}" is the model's input: its tail is the whole network`);
  if (!facts.producer.has(from)) throw new ArgumentError(`value "${from}" is not computed by the graph`);
  const head = new Set(facts.needed([from]));
  const tail = facts.needed(outputs).filter((i) => !head.has(i));
  const made = new Set([from, ...tail.flatMap((i) => g.nodes[i]!.outputs)]);
  for (const o of outputs)
    if (!made.has(o)) throw new ArgumentError(`output "${o}" does not depend on "${from}": there is no tail after it to recompute`);
  for (const i of tail)
    for (const v of g.nodes[i]!.inputs)
      if (!made.has(v))
        throw new ArgumentError(
          `layer "${g.nodes[i]!.name}" after "${from}" also reads "${v}", computed before it (a skip connection around "${from}"): the layers after "${from}" cannot run on its values alone`,
        );
  const shape = inferShapes(g, 1).get(from)!;
  return { ...g, name: `${g.name} after ${from}`, input: { name: from, shape: [-1, ...shape.slice(1)] }, outputs, nodes: tail.map((i) => g.nodes[i]!), preprocess: undefined };
}

export type ForwardMode = { kind: 'plain' } | { kind: 'record' } | { kind: 'frozen'; patterns: Map<string, GPUBuffer>; biases: boolean };

/** A forward pass compiled for one batch size: buffers, dispatches, uniforms and bind groups made once. */
export interface ForwardPlan {
  key: string;
  batch: number;
  dispatches: Dispatch[];
  input: GPUBuffer;
  values: Map<string, GPUBuffer>;
  shapes: Map<string, number[]>;
  /** recordings: the pattern of every recorded op (ReLU masks, max-pool switches), by layer name */
  patterns: Map<string, GPUBuffer>;
  arena: Arena;
  /** plans built on top of this one (reverse walks of a recording), destroyed with it */
  dependents: Map<string, { destroy(): void }>;
}

/**
 * Builds a forward plan. `outputs` are the values read back (and kept); a recording keeps every
 * value it computes (the reverse rules read them) and the patterns of recorded ops, and computes
 * either every node or, with `upTo`, only what those values need; a frozen pass replays recorded
 * patterns and refuses ops that are neither linear nor recorded.
 */
export function buildForward(facts: GraphFacts, ctx: LowerContext, batch: number, outputs: string[], mode: ForwardMode, key: string, upTo?: string[], inject?: Injection): ForwardPlan {
  const g = facts.graph;
  const shapes = inferShapes(g, batch);
  const record = mode.kind === 'record';
  const nodes = record && !upTo ? facts.needed() : facts.needed([...outputs, ...(upTo ?? [])]);
  checkLimits(ctx.engine, g, shapes, nodes, batch);
  const needed = new Set(nodes);
  const keep = new Set(record ? [g.input.name, ...nodes.flatMap((i) => g.nodes[i]!.outputs)] : outputs);
  const last = facts.lastUse(nodes, keep);
  // an injected value is written where its readers see it: no ReLU fuses past it
  const noFuse = inject ? new Set([...keep, inject.value]) : keep;
  if (inject && inject.value !== g.input.name && !nodes.some((i) => g.nodes[i]!.outputs.includes(inject.value)))
    throw new ArgumentError(`value "${inject.value}" is not computed on the way to ${outputs.join(', ')}`);
  const arena = new Arena(ctx.engine);
  const values = new Map<string, GPUBuffer>();
  const patterns = new Map<string, GPUBuffer>();
  const input = arena.alloc(numel(shapes.get(g.input.name)!) * 4, `input:${g.input.name}`);
  values.set(g.input.name, input);
  const dispatches: Dispatch[] = [];
  if (inject?.value === g.input.name) dispatches.push(...inject.dispatches(input, batch, shapes.get(g.input.name)!));
  const skip = new Set<number>();
  // Scratch (OpDef.scratchBytes: Winograd's transformed tiles): the k-th buffer any node asks for is
  // one buffer of the plan, sized for the largest k-th request of its nodes and shared by them all;
  // a request larger than announced gets its own buffer from the arena, released after the node.
  const slotBytes = scratchSlots(ctx.engine, g, shapes, nodes, 'forward');
  const slots: GPUBuffer[] = [];
  for (const i of nodes) {
    if (skip.has(i)) continue;
    const node = g.nodes[i]!;
    const def = opOf(node);
    if (def.alias) {
      values.set(node.outputs[0]!, values.get(node.inputs[0]!)!);
      if (inject?.value === node.outputs[0]) dispatches.push(...inject.dispatches(values.get(inject.value)!, batch, shapes.get(inject.value)!));
      continue;
    }
    const inShapes = node.inputs.map((v) => shapes.get(v)!);
    const outShape = shapes.get(node.outputs[0]!)!;
    // A frozen pass keeps its ReLUs (they replay masks), so nothing fuses.
    const fused = mode.kind === 'frozen' ? undefined : facts.fusedRelu(i, needed, noFuse);
    if (fused !== undefined) skip.add(fused);
    const outValue = fused !== undefined ? g.nodes[fused]!.outputs[0]! : node.outputs[0]!;
    const out = arena.alloc(numel(outShape) * 4, `${node.op}:${node.name}`);
    values.set(outValue, out);
    let aux: GPUBuffer | undefined;
    if (record && def.frozen.linearity === 'recorded') {
      aux = arena.alloc(numel(outShape) * 4, `pattern:${node.name}`);
      patterns.set(node.name, aux);
    }
    const scratch: GPUBuffer[] = [];
    let slot = 0;
    dispatches.push(
      ...lowerNode(ctx, {
        node, inShapes, outShape, out, aux, fuseRelu: fused !== undefined,
        scratch: (bytes, label) => {
          const k = slot++;
          if (bytes <= (slotBytes[k] ?? 0)) return (slots[k] ??= arena.alloc(slotBytes[k]!, `scratch:${k}`));
          const b = arena.alloc(bytes, label);
          scratch.push(b);
          return b;
        },
        ins: node.inputs.map((v) => values.get(v)!),
        noBias: mode.kind === 'frozen' ? !mode.biases : undefined,
        flops: nodeFlops(node, inShapes[0]!, outShape, g),
        label: `${node.op}:${node.name}`,
      }, mode.kind === 'frozen' ? { pattern: mode.patterns.get(node.name) } : undefined),
    );
    if (inject?.value === outValue) dispatches.push(...inject.dispatches(out, batch, outShape));
    // Scratch is dead once the node's dispatches have run; later nodes may reuse it.
    for (const b of scratch) arena.release(b);
    // Free every buffer whose last reader this was (views share their root's life).
    const lastIdx = fused ?? i;
    for (const v of node.inputs) if ((last.get(v) ?? -1) <= lastIdx) arena.release(values.get(v)!);
    if (last.get(outValue) === -1) arena.release(out);
  }
  for (const o of outputs) if (!values.has(o)) throw new ArgumentError(`value "${o}" is not computed by the graph`);
  return { key, batch, dispatches, input, values, shapes, patterns, arena, dependents: new Map() };
}

/** "256 MiB", "16 GiB", "600 KiB". */
export function bytesText(b: number): string {
  if (b >= 2 ** 30) return `${+(b / 2 ** 30).toFixed(1)} GiB`;
  if (b >= 2 ** 20) return `${+(b / 2 ** 20).toFixed(1)} MiB`;
  return `${+(b / 2 ** 10).toFixed(1)} KiB`;
}

/** The device's largest storage binding, named by the limit that sets it: "128 MiB, maxStorageBufferBindingSize". */
export function bindingLimitText(e: Engine): string {
  const l = e.device.limits;
  const name = l.maxStorageBufferBindingSize <= l.maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
  return `${bytesText(e.maxBindingBytes)}, ${name}`;
}

/**
 * Refuses a plan, before anything is allocated or dispatched, when one of its tensors (the input, a
 * node's output or pattern, a node's parameter) is larger than the device lets one storage binding
 * be: Dawn would otherwise reject the bind group with validation errors. Names the layer, its size
 * per image and the limit, and says what to do. Batches are split by the callers (Model.maxBatch,
 * maxRecordBatch) so that a batch fits whenever one image does.
 */
export function checkLimits(e: Engine, g: Graph, shapes: Map<string, number[]>, nodes: number[], batch: number): void {
  const limit = e.maxBindingBytes;
  const fits = (floats: number) => Math.max(256, Math.ceil((floats * 4) / 256) * 256) <= limit;
  const tooBig = (what: string, shape: number[], remedy: string) => {
    const per = numel(shape.slice(1)) * 4;
    if (per <= limit && batch > 1)
      return new DeviceLimitError(`${what} for a batch of ${batch} needs ${bytesText(numel(shape) * 4)}, more than one storage buffer binding on this device (${bindingLimitText(e)}): use a smaller batch`);
    return new DeviceLimitError(`${what} (${shape.slice(1).join('×')} floats per image) needs ${bytesText(per)}, more than one storage buffer binding on this device (${bindingLimitText(e)}): ${remedy}`);
  };
  const input = shapes.get(g.input.name)!;
  if (!fits(numel(input))) throw tooBig(`the input "${g.input.name}"`, input, 'give a smaller input, or this model cannot run on this device');
  for (const i of nodes) {
    const n = g.nodes[i]!;
    for (const p of opOf(n).splitsParams ? [] : nodeParams(n)) {
      const data = g.params.get(p)?.data;
      if (data && !fits(data.length))
        throw new DeviceLimitError(`layer "${n.name}" (${n.op}): parameter "${p}" needs ${bytesText(data.length * 4)}, more than one storage buffer binding on this device (${bindingLimitText(e)}): this layer cannot run on this device`);
    }
    if (opOf(n).alias) continue;
    const out = shapes.get(n.outputs[0]!)!;
    if (!fits(numel(out))) throw tooBig(`layer "${n.name}" (${n.op}): its output`, out, 'give a smaller input image, or this layer cannot run on this device');
  }
}

/** Destroys a plan's buffers and the plans built on it. */
export function destroyPlan(p: ForwardPlan): void {
  for (const d of p.dependents.values()) d.destroy();
  p.dependents.clear();
  p.arena.destroy();
}

/**
 * Bytes of activations one image needs at the peak of a plain pass that keeps `keep`: simulates
 * the allocation of `buildForward` at batch 1, plus the plan's shared scratch buffers
 * (OpDef.scratchBytes on `engine`), which live as long as the plan.
 */
export function peakBytesPerImage(facts: GraphFacts, keep: Set<string>, engine?: Engine): number {
  const g = facts.graph;
  const shapes = inferShapes(g, 1);
  const nodes = facts.needed();
  const last = facts.lastUse(nodes, keep);
  const bytes = (v: string) => numel(shapes.get(v)!) * 4;
  let live = bytes(g.input.name);
  let peak = live;
  for (const i of nodes) {
    const n = g.nodes[i]!;
    const alias = !!opOf(n).alias;
    if (!alias) for (const o of n.outputs) live += bytes(o);
    peak = Math.max(peak, live);
    for (const v of new Set(n.inputs)) if (last.get(v) === i && !keep.has(v) && facts.rootOf(v) === v) live -= bytes(v);
  }
  const scratch = engine ? scratchSlots(engine, g, shapes, nodes, 'forward').reduce((s, b) => s + b, 0) : 0;
  return peak + scratch;
}

/** The scratch buffers node `n` asks for at `shapes` (OpDef.scratchBytes; none for ops without). */
export function scratchBytesOf(e: Engine, n: Node, shapes: Map<string, number[]>, pass: 'forward' | 'reverse'): number[] {
  const def = opOf(n);
  if (!def.scratchBytes || def.alias) return [];
  return def.scratchBytes(e, n as never, n.inputs.map((v) => shapes.get(v)!), shapes.get(n.outputs[0]!)!, pass);
}

/** Per position k, the largest k-th scratch buffer any of `nodes` asks for (a plan's shared scratch buffers). */
export function scratchSlots(e: Engine, g: Graph, shapes: Map<string, number[]>, nodes: number[], pass: 'forward' | 'reverse'): number[] {
  const slots: number[] = [];
  for (const i of nodes) scratchBytesOf(e, g.nodes[i]!, shapes, pass).forEach((b, k) => (slots[k] = Math.max(slots[k] ?? 0, b)));
  return slots;
}
