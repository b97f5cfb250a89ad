// The graph runner: compiles a Graph into a plan for a batch size (shapes, buffers with
// liveness-based reuse, pipelines, uniforms and bind groups all made once), then runs it with
// every dispatch in one command encoder and a single readback of the requested values.
// Batches larger than what fits the device's buffer limits (or the memory budget) are split.

import type { Engine, Dispatch } from './gpu.ts';
import type { Graph, Node } from './ir.ts';
import { inferShapes, nodeFlops, numel } from './shapes.ts';
import { lowerNode, opOf, type LowerContext } from './ops/index.ts';
import { ArgumentError, ShapeError } from './errors.ts';

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

export interface RunOptions {
  /** Values (or layer names) to read back; default: the graph's outputs. */
  outputs?: string[];
  /** Called after each chunk of a split batch with (images done, total). */
  onProgress?: (done: number, total: number) => void;
}

interface Plan {
  batch: number;
  dispatches: Dispatch[];
  input: GPUBuffer;
  values: Map<string, GPUBuffer>;
  shapes: Map<string, number[]>;
  owned: GPUBuffer[];
  /** Recording plans: the pattern of every recorded op (ReLU masks, max-pool switches), by layer name. */
  patterns: Map<string, GPUBuffer>;
}

/**
 * What a recording forward pass leaves on the GPU for a batch: every value and the pattern of every
 * recorded op (ReLU masks, max-pool switches: ops whose op-table entry is `recorded`). Valid until
 * the next `record` of the same model and batch size.
 */
export interface Recording {
  batch: number;
  shapes: Map<string, number[]>;
  values: Map<string, GPUBuffer>;
  /** by layer name: one 4-byte value per output element (engine/ops/types.ts, Linearity) */
  patterns: Map<string, GPUBuffer>;
  /** Values read back at the end of the pass. */
  read: Map<string, Tensor>;
}

const isAlias = (n: Node): boolean => !!opOf(n).alias;
const isRecorded = (n: Node): boolean => opOf(n).frozen.linearity === 'recorded';

export class Model {
  readonly graph: Graph;
  readonly engine: Engine;
  private params = new Map<string, GPUBuffer>();
  private derivedBufs = new Map<string, GPUBuffer>();
  private dummyBuf: GPUBuffer | undefined;
  private plans = new Map<string, Plan>();
  /** Bytes of GPU memory one run may use for activations (batches are split to stay under it). */
  memoryBudget = 1.5 * 2 ** 30;

  constructor(engine: Engine, graph: Graph) {
    this.engine = engine;
    this.graph = graph;
    inferShapes(graph, 1); // validate the graph once, up front
  }

  /** The lowering context of this model (parameter buffers, derived buffers). */
  ctx(): LowerContext {
    const e = this.engine;
    return {
      engine: e,
      param: (name) => {
        let b = this.params.get(name);
        if (!b) {
          const p = this.graph.params.get(name);
          if (!p) throw new ShapeError(`parameter ${name} is missing`);
          b = e.device.createBuffer({ label: `param:${name}`, size: Math.max(16, p.data.byteLength), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
          e.device.queue.writeBuffer(b, 0, p.data.buffer, p.data.byteOffset, p.data.byteLength);
          this.params.set(name, b);
        }
        return b;
      },
      paramSize: (name) => this.graph.params.get(name)?.data.length ?? 0,
      paramData: (name) => {
        const p = this.graph.params.get(name);
        if (!p) throw new ShapeError(`parameter ${name} is missing`);
        return p.data;
      },
      derived: (key, make) => {
        let b = this.derivedBufs.get(key);
        if (!b) {
          const d = make();
          b = e.device.createBuffer({ label: `derived:${key}`, size: Math.max(16, d.byteLength), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
          e.device.queue.writeBuffer(b, 0, d.buffer, d.byteOffset, d.byteLength);
          this.derivedBufs.set(key, b);
        }
        return b;
      },
      dummy: () => (this.dummyBuf ??= e.device.createBuffer({ label: 'dummy', size: 16, usage: GPUBufferUsage.STORAGE })),
    };
  }

  /** Every value name in graph order, with the layer that produces it. */
  values(): { value: string; layer: string; op: string }[] {
    return this.graph.nodes.flatMap((n) => n.outputs.map((o) => ({ value: o, layer: n.name, op: n.op })));
  }

  /** Maps a layer name or value name to a value name; throws ArgumentError listing the valid names. */
  resolve(name: string): string {
    if (name === this.graph.input.name) return name;
    for (const n of this.graph.nodes) if (n.outputs.includes(name)) return name;
    const byLayer = this.graph.nodes.find((n) => n.name === name);
    if (byLayer) return byLayer.outputs[0]!;
    const names = this.graph.nodes.map((n) => n.name);
    throw new ArgumentError(`no layer named "${name}"; layers are: ${names.join(', ')}`);
  }

  /** Largest batch whose every tensor fits one binding and whose activations fit the budget. */
  maxBatch(outputs: string[] = this.graph.outputs): number {
    const shapes = inferShapes(this.graph, 1);
    let biggest = 0;
    for (const s of shapes.values()) biggest = Math.max(biggest, numel(s) * 4);
    const peak = this.peakBytesPerImage(shapes, new Set(outputs));
    return Math.max(1, Math.min(Math.floor(this.engine.maxBindingBytes / biggest), Math.floor(this.memoryBudget / peak)));
  }

  private peakBytesPerImage(shapes: Map<string, number[]>, keep: Set<string>): number {
    // Simulates the planner's allocation at batch 1.
    let live = numel(shapes.get(this.graph.input.name)!) * 4;
    let peak = live;
    const last = this.lastUse(keep);
    for (let i = 0; i < this.graph.nodes.length; i++) {
      const n = this.graph.nodes[i]!;
      if (!isAlias(n)) for (const o of n.outputs) live += numel(shapes.get(o)!) * 4;
      peak = Math.max(peak, live);
      for (const v of n.inputs) if (last.get(v) === i && !keep.has(v) && !this.isAlias(v)) live -= numel(shapes.get(v)!) * 4;
    }
    return peak;
  }

  private producer = new Map<string, Node>();
  private isAlias(v: string): boolean {
    if (this.producer.size === 0) for (const n of this.graph.nodes) for (const o of n.outputs) this.producer.set(o, n);
    const p = this.producer.get(v);
    return !!p && isAlias(p);
  }

  /** Index of the last node reading each value (aliases extend the life of what they alias). */
  private lastUse(keep: Set<string>): Map<string, number> {
    const last = new Map<string, number>();
    const root = new Map<string, string>();
    const rootOf = (v: string) => root.get(v) ?? v;
    this.graph.nodes.forEach((n, i) => {
      if (isAlias(n)) root.set(n.outputs[0]!, rootOf(n.inputs[0]!));
      for (const v of n.inputs) last.set(rootOf(v), i);
    });
    for (const k of keep) last.set(rootOf(k), Infinity);
    const out = new Map<string, number>();
    for (const n of [{ outputs: [this.graph.input.name] }, ...this.graph.nodes])
      for (const o of n.outputs) out.set(o, last.get(rootOf(o)) ?? -1);
    return out;
  }

  private recIds = new WeakMap<Map<string, GPUBuffer>, number>();
  private nextRecId = 0;
  private plan(batch: number, outputs: string[], record = false, frozen?: { rec: Recording; biases: boolean }, upTo?: string[]): Plan {
    let mode = record ? `record${upTo ? `<${upTo.join(',')}` : ''}` : 'plain';
    if (frozen) {
      let id = this.recIds.get(frozen.rec.values);
      if (id === undefined) this.recIds.set(frozen.rec.values, (id = ++this.nextRecId));
      mode = `frozen${id}|${frozen.biases}`;
    }
    const key = `${batch}|${outputs.join(',')}|${mode}`;
    const cached = this.plans.get(key);
    if (cached) return cached;
    if (this.plans.size >= 8) this.dropPlans();
    const e = this.engine;
    const g = this.graph;
    const shapes = inferShapes(g, batch);
    // A recording keeps every value (so nothing is reused or fused) and the masks and switches.
    const keep = new Set(record ? [this.graph.input.name, ...g.nodes.flatMap((n) => n.outputs)] : outputs);
    const patterns = new Map<string, GPUBuffer>();
    const last = this.lastUse(keep);
    const consumers = new Map<string, number>();
    for (const n of g.nodes) for (const v of n.inputs) consumers.set(v, (consumers.get(v) ?? 0) + 1);

    // Buffers: a plan-local free list keyed by exact byte size.
    const owned: GPUBuffer[] = [];
    const released = new Set<GPUBuffer>();
    const free = new Map<number, GPUBuffer[]>();
    const alloc = (bytes: number, label: string) => {
      const size = Math.max(256, Math.ceil(bytes / 256) * 256);
      const b = free.get(size)?.pop();
      if (b) {
        released.delete(b);
        return b;
      }
      const nb = e.device.createBuffer({ label, size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      owned.push(nb);
      return nb;
    };
    const release = (b: GPUBuffer) => {
      const l = free.get(b.size) ?? [];
      l.push(b);
      free.set(b.size, l);
    };

    const values = new Map<string, GPUBuffer>();
    const input = alloc(numel(shapes.get(g.input.name)!) * 4, `input:${g.input.name}`);
    values.set(g.input.name, input);
    const ctx = this.ctx();
    const dispatches: Dispatch[] = [];
    const skip = new Set<Node>();

    // Only the nodes the requested values depend on run (a recording runs everything).
    const needed = new Set<Node>(record && !upTo ? g.nodes : []);
    if (!record || upTo) {
      const producer = new Map<string, Node>();
      for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
      const stack = [...outputs, ...(upTo ?? [])].map((o) => producer.get(o)).filter((n): n is Node => !!n);
      while (stack.length) {
        const n = stack.pop()!;
        if (needed.has(n)) continue;
        needed.add(n);
        for (const v of n.inputs) {
          const p = producer.get(v);
          if (p) stack.push(p);
        }
      }
    }
    g.nodes.forEach((node, i) => {
      if (skip.has(node) || !needed.has(node)) return;
      const inShapes = node.inputs.map((v) => shapes.get(v)!);
      const outShape = shapes.get(node.outputs[0]!)!;
      const def = opOf(node);
      if (def.alias) {
        values.set(node.outputs[0]!, values.get(node.inputs[0]!)!);
        return;
      }
      // Fuse a ReLU that is the only reader of a conv/fc output nobody asked to keep.
      let fuseRelu = false;
      let outValue = node.outputs[0]!;
      if (!frozen && def.fusesRelu && consumers.get(outValue) === 1 && !keep.has(outValue)) {
        const next = g.nodes[i + 1];
        if (next && next.op === 'relu' && next.inputs[0] === outValue) {
          fuseRelu = true;
          skip.add(next);
          outValue = next.outputs[0]!;
        }
      }
      const out = alloc(numel(outShape) * 4, `${node.op}:${node.name}`);
      values.set(outValue, out);
      let aux: GPUBuffer | undefined;
      if (record && isRecorded(node)) {
        aux = alloc(numel(outShape) * 4, `pattern:${node.name}`);
        patterns.set(node.name, aux);
      }
      dispatches.push(
        ...lowerNode(ctx, {
          node, inShapes, outShape, out, fuseRelu, aux,
          ins: node.inputs.map((v) => values.get(v)!),
          noBias: frozen ? !frozen.biases : undefined,
          flops: nodeFlops(node, inShapes[0]!, outShape, g),
          label: `${node.op}:${node.name}`,
        }, frozen ? { pattern: frozen.rec.patterns.get(node.name) } : undefined),
      );
      // Return to the free list every buffer whose last reader this was (aliases share their root's life).
      const lastIdx = fuseRelu ? i + 1 : i;
      for (const v of new Set(node.inputs)) {
        const b = values.get(v)!;
        if ((last.get(v) ?? -1) <= lastIdx && !released.has(b)) {
          released.add(b);
          release(b);
        }
      }
      if (last.get(outValue) === -1) release(out);
    });
    for (const o of outputs) if (!values.has(o)) throw new ArgumentError(`value "${o}" is not computed by the graph`);
    const plan = { batch, dispatches, input, values, shapes, owned, patterns };
    this.plans.set(key, plan);
    return plan;
  }

  /**
   * Frozen forward pass (Molchanov et al.): every ReLU multiplies by `rec`'s recorded mask and
   * every max-pool takes `rec`'s recorded switch (of its first image), biases on or off; the batch
   * input is written on the GPU by `fill`. Fusion is off (the ReLUs are masks, not sign tests).
   */
  async runFrozen(rec: Recording, biases: boolean, batch: number, fill: (input: GPUBuffer) => Dispatch[], outputs: string[]): Promise<Map<string, Tensor>> {
    if (rec.batch !== 1) throw new ArgumentError('a frozen pass needs a recording of a single image');
    const outs = [...new Set(outputs.map((o) => this.resolve(o)))];
    const plan = this.plan(batch, outs, false, { rec, biases });
    const res = await this.engine.run([...fill(plan.input), ...plan.dispatches], outs.map((o) => ({ buffer: plan.values.get(o)!, bytes: numel(plan.shapes.get(o)!) * 4 })));
    return new Map(outs.map((o, i) => [o, { shape: plan.shapes.get(o)!, data: new Float32Array(res[i]!) }]));
  }

  /**
   * Recording forward pass of one batch (no splitting: the caller sizes batches with
   * `maxBatch`): keeps every activation, ReLU mask and max-pool switch map on the GPU, and reads
   * back `outputs`.
   */
  async record(input: Float32Array, batch: number, outputs: string[] = [], upTo?: string[]): Promise<Recording> {
    const outs = [...new Set(outputs.map((o) => this.resolve(o)))];
    const per = numel(this.graph.input.shape.slice(1));
    if (input.length !== per * batch)
      throw new ShapeError(`input has ${input.length} values; the model expects ${batch}×[${this.graph.input.shape.slice(1).join('×')}] = ${per * batch}`);
    const plan = this.recordPlan(batch, outs, upTo);
    this.engine.device.queue.writeBuffer(plan.input, 0, input.buffer, input.byteOffset, input.byteLength);
    const res = await this.engine.run(plan.dispatches, outs.map((o) => ({ buffer: plan.values.get(o)!, bytes: numel(plan.shapes.get(o)!) * 4 })));
    const read = new Map<string, Tensor>(outs.map((o, i) => [o, { shape: plan.shapes.get(o)!, data: new Float32Array(res[i]!) }]));
    return { batch, shapes: plan.shapes, values: plan.values, patterns: plan.patterns, read };
  }

  /**
   * The recording plan of a batch, not run: its input buffer and dispatches, for callers that
   * compose a recording pass with other GPU work in one submission (optimisation loops). With
   * `upTo`, only the nodes those values depend on are recorded.
   */
  recordPlan(batch: number, outputs: string[] = [], upTo?: string[]): Recording & { input: GPUBuffer; dispatches: Dispatch[] } {
    const outs = [...new Set(outputs.map((o) => this.resolve(o)))];
    const until = upTo ? [...new Set(upTo.map((o) => this.resolve(o)))] : undefined;
    const plan = this.plan(batch, until ? outs : [], true, undefined, until);
    return { batch, shapes: plan.shapes, values: plan.values, patterns: plan.patterns, read: new Map(), input: plan.input, dispatches: plan.dispatches };
  }

  /**
   * Largest batch a recording (every activation kept, plus the reverse pass's gradients) fits:
   * every tensor, and the column buffer of a strided conv's input gradient (Cin·KH·KW × OH×OW),
   * within one storage binding, and all of it within the memory budget.
   */
  maxRecordBatch(): number {
    const shapes = inferShapes(this.graph, 1);
    let total = 0;
    let biggest = 0;
    for (const s of shapes.values()) {
      total += numel(s) * 4;
      biggest = Math.max(biggest, numel(s) * 4);
    }
    for (const n of this.graph.nodes)
      if (n.op === 'conv') {
        const x = shapes.get(n.inputs[0]!)!, y = shapes.get(n.outputs[0]!)!;
        biggest = Math.max(biggest, x[1]! * n.attrs.kernel[0] * n.attrs.kernel[1] * y[2]! * y[3]! * 4);
      }
    return Math.max(1, Math.min(Math.floor(this.engine.maxBindingBytes / biggest), Math.floor(this.memoryBudget / (3 * total))));
  }

  /** The GPU buffer of a graph parameter (uploaded once). */
  paramBuffer(name: string): GPUBuffer {
    return this.ctx().param(name);
  }

  dropPlans(): void {
    for (const p of this.plans.values()) for (const b of p.owned) b.destroy();
    this.plans.clear();
    this.engine.forgetBindGroups();
  }

  /**
   * Runs `input` (N×C×H×W floats, N = `batch`) and returns the requested values, each with the
   * full batch. Splits the batch into chunks when it does not fit.
   */
  async run(input: Float32Array, batch: number, opts: RunOptions = {}): Promise<Map<string, Tensor>> {
    const outputs = [...new Set((opts.outputs ?? this.graph.outputs).map((o) => this.resolve(o)))];
    const per = numel(this.graph.input.shape.slice(1));
    if (input.length !== per * batch)
      throw new ShapeError(`input has ${input.length} values; the model expects ${batch}×[${this.graph.input.shape.slice(1).join('×')}] = ${per * batch}`);
    const chunk = Math.min(batch, this.maxBatch(outputs));
    const parts = new Map<string, Float32Array[]>(outputs.map((o) => [o, []]));
    for (let start = 0; start < batch; start += chunk) {
      const n = Math.min(chunk, batch - start);
      const plan = this.plan(n, outputs);
      this.engine.device.queue.writeBuffer(plan.input, 0, input.buffer, input.byteOffset + start * per * 4, n * per * 4);
      const reads = outputs.map((o) => ({ buffer: plan.values.get(o)!, bytes: numel(plan.shapes.get(o)!) * 4 }));
      const res = await this.engine.run(plan.dispatches, reads);
      outputs.forEach((o, i) => parts.get(o)!.push(new Float32Array(res[i]!)));
      opts.onProgress?.(start + n, batch);
    }
    const result = new Map<string, Tensor>();
    const shapes = inferShapes(this.graph, batch);
    for (const o of outputs) {
      const s = shapes.get(o)!;
      const ps = parts.get(o)!;
      let data: Float32Array;
      if (ps.length === 1) data = ps[0]!;
      else {
        data = new Float32Array(numel(s));
        let off = 0;
        for (const p of ps) {
          data.set(p, off);
          off += p.length;
        }
      }
      result.set(o, { shape: s, data });
    }
    return result;
  }

  /**
   * Runs a batch whose input is written on the GPU by `fill` (dispatches that write the plan's
   * input buffer), e.g. patches substituted into one clean image, and reads back `outputs`.
   */
  async runFilled(batch: number, fill: (input: GPUBuffer) => Dispatch[], outputs: string[]): Promise<Map<string, Tensor>> {
    const outs = [...new Set(outputs.map((o) => this.resolve(o)))];
    const plan = this.plan(batch, outs);
    const pre = fill(plan.input);
    const res = await this.engine.run([...pre, ...plan.dispatches], outs.map((o) => ({ buffer: plan.values.get(o)!, bytes: numel(plan.shapes.get(o)!) * 4 })));
    return new Map(outs.map((o, i) => [o, { shape: plan.shapes.get(o)!, data: new Float32Array(res[i]!) }]));
  }

  /**
   * A model of this graph plus `nodes` (reading any of its values) that shares this model's
   * parameter buffers; destroying it leaves them to this model.
   */
  extend(nodes: Node[]): Model {
    const m = new Model(this.engine, { ...this.graph, nodes: [...this.graph.nodes, ...nodes] });
    m.params = this.params;
    m.derivedBufs = this.derivedBufs;
    m.sharesParams = true;
    return m;
  }

  private sharesParams = false;

  destroy(): void {
    this.dropPlans();
    if (this.sharesParams) return;
    for (const b of this.params.values()) b.destroy();
    for (const b of this.derivedBufs.values()) b.destroy();
    this.params.clear();
    this.derivedBufs.clear();
    this.dummyBuf?.destroy();
  }
}
