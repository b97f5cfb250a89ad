// A model on the device: its parameters (uploaded once), the buffers derived from them on the GPU
// (weight re-layouts), and its forward plans (engine/plan.ts) compiled per batch size and mode and
// kept for reuse. A run writes the input, submits every dispatch at once and reads back once;
// batches larger than the device's buffer limits (or the memory budget) are split.
//
// A recording (every value and every recorded pattern kept on the GPU, for reverse passes and
// frozen passes) is a handle its owner disposes: until then its buffers are its own, and no other
// plan uses or destroys them; disposing gives the plan back for the next recording to reuse.

import type { Engine, Dispatch } from './gpu.ts';
import type { Graph, Node } from './ir.ts';
import { inferShapes, numel } from './shapes.ts';
import { opOf, type LowerContext } from './ops/index.ts';
import { buildForward, destroyPlan, GraphFacts, peakBytesPerImage, scratchBytesOf, scratchSlots, tailGraph, type ForwardMode, type ForwardPlan, type Injection } from './plan.ts';
import { ArgumentError, NonFiniteError, ShapeError } from './errors.ts';
import type { BatchSource } from './sources.ts';
import { checkInputs, checkParams, firstBadImage, firstNonFinite, countNonFinite, HUGE, imageText, layerError, maxMagnitude, outputError, positionText, valueText, type NonFiniteSite } from './finite.ts';

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

export interface RunOptions {
  /** Values (or layer names) to read back; default: the graph's outputs. */
  outputs?: string[];
  /** Called after each chunk of a split batch with (images done, total). */
  onProgress?: (done: number, total: number) => void;
  /** The images' names (file names), for errors that name an input. */
  names?: readonly string[];
  /**
   * GPU work on a value right after it is computed, before its readers (engine/plan.ts, Injection);
   * a batch split into chunks runs the same dispatches on each chunk, so callers whose work depends
   * on the image's place in the batch pass at most `maxBatch(outputs)` images.
   */
  inject?: Injection;
}

/** How many idle plans a model keeps for reuse (the least recently used go first). */
const IDLE_PLANS = 8;

/**
 * What a recording forward pass leaves on the GPU for a batch: every value and the pattern of every
 * recorded op (ReLU masks, max-pool switches: ops whose op-table entry is `recorded`), plus the
 * values read back. Owned by whoever asked for it: call `dispose()` when done.
 */
export class Recording {
  private gone = false;

  constructor(
    private readonly model: Model,
    /** @internal the plan whose buffers this recording holds */
    readonly plan: ForwardPlan,
    /** Values read back at the end of the pass. */
    readonly read: Map<string, Tensor>,
  ) {}

  get batch(): number {
    return this.plan.batch;
  }
  get shapes(): Map<string, number[]> {
    return this.plan.shapes;
  }
  get values(): Map<string, GPUBuffer> {
    this.check();
    return this.plan.values;
  }
  /** by layer name: one 4-byte value per output element (engine/ops/types.ts, Linearity) */
  get patterns(): Map<string, GPUBuffer> {
    this.check();
    return this.plan.patterns;
  }
  /** The pass's input buffer and dispatches, to compose the recording with other GPU work (`Model.recordPlan`). */
  get input(): GPUBuffer {
    this.check();
    return this.plan.input;
  }
  get dispatches(): Dispatch[] {
    this.check();
    return this.plan.dispatches;
  }
  get disposed(): boolean {
    return this.gone;
  }

  check(): void {
    if (this.gone) throw new ArgumentError('this recording was disposed');
  }

  /**
   * @internal A frozen plan replaying this recording's patterns (per batch, outputs and bias
   * setting): it reads the patterns where the recording's plan keeps them, so it is built once and
   * kept with that plan, like the reverse walks, for every later recording of the plan.
   */
  frozenPlan(key: string, build: () => ForwardPlan): ForwardPlan {
    this.check();
    const kept = this.plan.dependents.get(key) as { frozen: ForwardPlan; destroy(): void } | undefined;
    if (kept) return kept.frozen;
    const frozen = build();
    const dep: { frozen: ForwardPlan; destroy(): void } = { frozen, destroy: () => destroyPlan(frozen) };
    this.plan.dependents.set(key, dep);
    return frozen;
  }

  /** Gives the recording's buffers back to the model (for the next recording to reuse). */
  dispose(): void {
    if (this.gone) return;
    this.gone = true;
    this.model.giveBack(this.plan);
  }
}

interface Derived {
  buffer: GPUBuffer;
  /** rebuilds it from the current parameters (GPU-derived buffers only) */
  build?: Dispatch[];
}

export class Model {
  readonly graph: Graph;
  readonly engine: Engine;
  readonly facts: GraphFacts;
  private params = new Map<string, GPUBuffer>();
  private derivedBufs = new Map<string, Derived>();
  private dummyBuf: GPUBuffer | undefined;
  /** plans not in use, most recently used last */
  private idle: ForwardPlan[] = [];
  /** plans held by recordings (and by runs in flight) */
  private leased = new Set<ForwardPlan>();
  /** Bytes of GPU memory one run may use for activations (batches are split to stay under it). */
  memoryBudget = 1.5 * 2 ** 30;
  /**
   * Parameters of magnitude ≥ HUGE (engine/finite.ts): float32 may overflow inside the net for any
   * input, so every run from CPU inputs gets the per-layer check.
   */
  private readonly hugeParams: boolean;

  /** Checks the graph's shapes and (unless `shares` already did) that every parameter is finite. */
  constructor(engine: Engine, graph: Graph, shares?: Model) {
    this.engine = engine;
    this.graph = graph;
    inferShapes(graph, 1); // validate the graph once, up front
    this.facts = new GraphFacts(graph);
    this.hugeParams = shares && shares.graph.params === graph.params ? shares.hugeParams : checkParams(graph) >= HUGE;
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
          b = e.createBuffer(p.data.byteLength, `param:${name}`);
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
        let d = this.derivedBufs.get(key);
        if (!d) {
          const data = make();
          const buffer = e.createBuffer(data.byteLength, `derived:${key}`);
          e.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
          this.derivedBufs.set(key, (d = { buffer }));
        }
        return d.buffer;
      },
      derivedGpu: (key, floats, build) => {
        let d = this.derivedBufs.get(key);
        if (!d) {
          const buffer = e.createBuffer(floats * 4, `derived:${key}`);
          d = { buffer, build: build(buffer) };
          this.derivedBufs.set(key, d);
          // one submission now; queue order puts it before any run that reads the buffer
          const enc = e.device.createCommandEncoder();
          e.encode(enc, d.build!);
          e.device.queue.submit([enc.finish()]);
        }
        return d.buffer;
      },
      dummy: () => (this.dummyBuf ??= e.createBuffer(16, 'dummy')),
    };
  }

  /**
   * The dispatches that rebuild every buffer derived on the GPU from the parameters (weight
   * re-layouts, flipped filters), in the order they were made: run them after the parameter
   * buffers change (an optimiser step).
   */
  refreshDerived(): Dispatch[] {
    return [...this.derivedBufs.values()].flatMap((d) => d.build ?? []);
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
    const peak = peakBytesPerImage(this.facts, new Set(outputs), this.engine);
    return Math.max(1, Math.min(Math.floor(this.engine.maxBindingBytes / biggest), Math.floor(this.memoryBudget / peak)));
  }

  /**
   * Largest batch a recording (every activation kept, plus the reverse pass's gradients) fits:
   * every tensor, and the column buffer of a strided conv's input gradient (Cin·KH·KW × OH×OW),
   * within one storage binding, and all of it within the memory budget, with the scratch of
   * Winograd's tiles (OpDef.scratchBytes) on top: the recording's shared buffers and every buffer
   * the reverse walk asks for.
   */
  maxRecordBatch(): number {
    const shapes = inferShapes(this.graph, 1);
    let total = 0;
    let biggest = 0;
    // the recording's shared forward scratch, and every reverse scratch buffer (the walk's arena
    // reuses a buffer only for a request of the same size)
    const all = this.graph.nodes.map((_, i) => i);
    const sum = (b: number[]) => b.reduce((s, v) => s + v, 0);
    const scratch = sum(scratchSlots(this.engine, this.graph, shapes, all, 'forward')) + sum(this.graph.nodes.flatMap((n) => scratchBytesOf(this.engine, n, shapes, 'reverse')));
    for (const s of shapes.values()) {
      total += numel(s) * 4;
      biggest = Math.max(biggest, numel(s) * 4);
    }
    for (const n of this.graph.nodes)
      if (n.op === 'conv') {
        const x = shapes.get(n.inputs[0]!)!, y = shapes.get(n.outputs[0]!)!;
        biggest = Math.max(biggest, x[1]! * n.attrs.kernel[0] * n.attrs.kernel[1] * y[2]! * y[3]! * 4);
      }
    return Math.max(1, Math.min(Math.floor(this.engine.maxBindingBytes / biggest), Math.floor(this.memoryBudget / (3 * total + scratch))));
  }

  // ---- plans -------------------------------------------------------------------------

  /** An idle plan of `key`, or a new one; the caller holds it until `giveBack`. */
  private take(key: string, build: () => ForwardPlan): ForwardPlan {
    const i = this.idle.findIndex((p) => p.key === key);
    const plan = i >= 0 ? this.idle.splice(i, 1)[0]! : build();
    this.leased.add(plan);
    return plan;
  }

  /** @internal Returns a plan for reuse; the least recently used idle plans beyond a few are destroyed. */
  giveBack(plan: ForwardPlan): void {
    if (!this.leased.delete(plan)) return;
    this.idle.push(plan);
    while (this.idle.length > IDLE_PLANS) destroyPlan(this.idle.shift()!);
  }

  private forward(batch: number, outputs: string[], mode: ForwardMode, upTo?: string[], inject?: Injection): ForwardPlan {
    const key = `${mode.kind}|${batch}|${outputs.join(',')}|${upTo?.join(',') ?? ''}|${inject ? `${inject.value}:${inject.key}` : ''}|${this.engine.convAlgorithm}|${this.engine.tuningKey}`;
    return this.take(key, () => buildForward(this.facts, this.ctx(), batch, outputs, mode, key, upTo, inject));
  }

  private resolveAll(names: string[]): string[] {
    return [...new Set(names.map((o) => this.resolve(o)))];
  }

  private checkInput(input: Float32Array, batch: number): number {
    const per = numel(this.graph.input.shape.slice(1));
    if (input.length !== per * batch)
      throw new ShapeError(`input has ${input.length} values; the model expects ${batch}×[${this.graph.input.shape.slice(1).join('×')}] = ${per * batch}`);
    return per;
  }

  private async read(plan: ForwardPlan, dispatches: Dispatch[], outs: string[]): Promise<Map<string, Tensor>> {
    const res = await this.engine.run(dispatches, outs.map((o) => ({ buffer: plan.values.get(o)!, bytes: numel(plan.shapes.get(o)!) * 4 })));
    return new Map(outs.map((o, i) => [o, { shape: plan.shapes.get(o)!, data: new Float32Array(res[i]!) }]));
  }

  /**
   * Frozen forward pass (Molchanov et al.): every recorded op replays `rec`'s pattern (of its first
   * image), linear ops run as they are, biases on or off; anything else is refused naming the layer.
   * The batch's images come from `source` (made on the GPU, engine/sources.ts). Fusion is off (the
   * ReLUs are masks, not sign tests).
   */
  async runFrozen(rec: Recording, biases: boolean, batch: number, source: BatchSource, outputs: string[]): Promise<Map<string, Tensor>> {
    rec.check();
    if (rec.batch !== 1) throw new ArgumentError('a frozen pass needs a recording of a single image');
    const outs = this.resolveAll(outputs);
    const key = `frozen|${batch}|${outs.join(',')}|${biases}`;
    const mode: ForwardMode = { kind: 'frozen', patterns: rec.plan.patterns, biases };
    const plan = rec.frozenPlan(key, () => buildForward(this.facts, this.ctx(), batch, outs, mode, key));
    const res = await this.read(plan, [...imagesOf(source, plan.input), ...plan.dispatches], outs);
    await this.verifyMade(res, plan, source, outs, mode);
    return res;
  }

  /**
   * Recording forward pass of one batch (no splitting: the caller sizes batches with
   * `maxRecordBatch`): keeps every activation and recorded pattern on the GPU, and reads back
   * `outputs`. With `upTo`, only the nodes those values depend on run. Dispose the recording when done.
   */
  async record(input: Float32Array, batch: number, outputs: string[] = [], upTo?: string[], names?: readonly string[]): Promise<Recording> {
    const outs = this.resolveAll(outputs);
    const per = this.checkInput(input, batch);
    const huge = checkInputs(input, batch, this.graph.input.shape.slice(1), names);
    const rec = this.recordPlan(batch, outs, upTo);
    try {
      this.engine.device.queue.writeBuffer(rec.input, 0, input.buffer, input.byteOffset, input.byteLength);
      const read = await this.read(rec.plan, rec.dispatches, outs);
      await this.verify(read, batch, 0, input, per, huge, names, upTo ? [...outs, ...this.resolveAll(upTo)] : undefined);
      for (const [k, v] of read) rec.read.set(k, v);
      return rec;
    } catch (e) {
      rec.dispose();
      throw e;
    }
  }

  /**
   * Recording forward pass of a batch whose images are made on the GPU by `source`
   * (engine/sources.ts: points on an Integrated Gradients path, …), never uploaded; as `record`
   * otherwise (the caller sizes batches with `maxRecordBatch` and disposes the recording).
   */
  async recordFrom(batch: number, source: BatchSource, outputs: string[] = []): Promise<Recording> {
    const outs = this.resolveAll(outputs);
    const rec = this.recordPlan(batch, outs);
    try {
      const read = await this.read(rec.plan, [...imagesOf(source, rec.input), ...rec.dispatches], outs);
      await this.verifyMade(read, rec.plan, source, outs, { kind: 'plain' });
      for (const [k, v] of read) rec.read.set(k, v);
      return rec;
    } catch (e) {
      rec.dispose();
      throw e;
    }
  }

  /**
   * A recording plan of a batch, not run: its input buffer and dispatches, for callers that
   * compose a recording pass with other GPU work in one submission (optimisation loops). With
   * `upTo`, only the nodes those values depend on are recorded. Dispose it when done.
   */
  recordPlan(batch: number, outputs: string[] = [], upTo?: string[]): Recording {
    const outs = this.resolveAll(outputs);
    const until = upTo ? this.resolveAll(upTo) : undefined;
    return new Recording(this, this.forward(batch, until ? outs : [], { kind: 'record' }, until), new Map());
  }

  /** The GPU buffer of a graph parameter (uploaded once). */
  paramBuffer(name: string): GPUBuffer {
    return this.ctx().param(name);
  }

  /** Destroys the plans nobody holds (recordings keep theirs until disposed). */
  dropPlans(): void {
    for (const p of this.idle) destroyPlan(p);
    this.idle = [];
  }

  /**
   * Runs `input` (N×C×H×W floats, N = `batch`) and returns the requested values, each with the
   * full batch. Splits the batch into chunks when it does not fit.
   */
  async run(input: Float32Array, batch: number, opts: RunOptions = {}): Promise<Map<string, Tensor>> {
    const outputs = this.resolveAll(opts.outputs ?? this.graph.outputs);
    const per = this.checkInput(input, batch);
    const huge = checkInputs(input, batch, this.graph.input.shape.slice(1), opts.names);
    const chunk = Math.min(batch, this.maxBatch(outputs));
    const parts = new Map<string, Float32Array[]>(outputs.map((o) => [o, []]));
    for (let start = 0; start < batch; start += chunk) {
      const n = Math.min(chunk, batch - start);
      const plan = this.forward(n, outputs, { kind: 'plain' }, undefined, opts.inject && { ...opts.inject, value: this.resolve(opts.inject.value) });
      try {
        this.engine.device.queue.writeBuffer(plan.input, 0, input.buffer, input.byteOffset + start * per * 4, n * per * 4);
        const res = await this.read(plan, plan.dispatches, outputs);
        await this.verify(res, n, start, input, per, huge, opts.names, outputs);
        for (const o of outputs) parts.get(o)!.push(res.get(o)!.data);
      } finally {
        this.giveBack(plan);
      }
      opts.onProgress?.(start + n, batch);
    }
    const result = new Map<string, Tensor>();
    const shapes = inferShapes(this.graph, batch);
    for (const o of outputs) {
      const ps = parts.get(o)!;
      let data: Float32Array;
      if (ps.length === 1) data = ps[0]!;
      else {
        data = new Float32Array(numel(shapes.get(o)!));
        let off = 0;
        for (const p of ps) {
          data.set(p, off);
          off += p.length;
        }
      }
      result.set(o, { shape: shapes.get(o)!, data });
    }
    return result;
  }

  /**
   * Runs a batch whose images are made on the GPU by `source` (engine/sources.ts: occluded copies of
   * an image, PDA's perturbed windows, coordinate images) and reads back `outputs`.
   */
  async runFrom(batch: number, source: BatchSource, outputs: string[]): Promise<Map<string, Tensor>> {
    const outs = this.resolveAll(outputs);
    const plan = this.forward(batch, outs, { kind: 'plain' });
    try {
      const res = await this.read(plan, [...imagesOf(source, plan.input), ...plan.dispatches], outs);
      await this.verifyMade(res, plan, source, outs, { kind: 'plain' });
      return res;
    } finally {
      this.giveBack(plan);
    }
  }

  // ---- finite values (engine/finite.ts) ----------------------------------------------------

  /**
   * After a run from CPU inputs (images first … first+n−1 of `input`): when a value read back holds
   * NaN or ±Infinity, or an image (or the model's weights) is so large that float32 may have
   * overflowed and been hidden by a ReLU, finds the first layer that gives non-finite values for
   * that image and throws NonFiniteError naming it. Nothing runs on the GPU unless one of those holds.
   */
  private async verify(read: Map<string, Tensor>, n: number, first: number, input: Float32Array, per: number, huge: number[], names: readonly string[] | undefined, upTo?: string[]): Promise<void> {
    const bad = firstBadImage(read.values(), n);
    const suspects = bad >= 0 ? [first + bad] : this.hugeParams ? Array.from({ length: n }, (_, i) => first + i) : huge.filter((i) => i >= first && i < first + n);
    for (const i of suspects) {
      const image = input.subarray(i * per, (i + 1) * per);
      const site = await this.locateNonFinite(image, upTo);
      if (site) throw layerError(site, imageText(i, names), maxMagnitude(image));
    }
    if (bad >= 0) throw this.outputError(read, bad, imageText(first + bad, names));
  }

  /**
   * After a run of images made on the GPU by `source` (into `plan`'s input): when a value read back
   * holds NaN or ±Infinity, reads that image back and says whether the source made it non-finite, or
   * which layer first gives non-finite values for it.
   */
  private async verifyMade(read: Map<string, Tensor>, plan: ForwardPlan, source: BatchSource, outs: string[], mode: ForwardMode): Promise<void> {
    const bad = firstBadImage(read.values(), plan.batch);
    if (bad < 0) return;
    const dims = this.graph.input.shape.slice(1);
    const per = numel(dims);
    const made = imagesOf(source, plan.input);
    const image = new Float32Array((await this.engine.run(made, [{ buffer: plan.input, offset: bad * per * 4, bytes: per * 4 }]))[0]!);
    const what = `image ${bad} of a batch made on the GPU (${made.map((d) => d.label).join(', ')})`;
    const at = firstNonFinite(image);
    if (at >= 0) throw new NonFiniteError(`${what} holds ${valueText(image[at]!)} at ${positionText(at, dims)}`);
    const site = await this.locateNonFinite(image, outs, mode);
    if (site) throw layerError(site, what, maxMagnitude(image));
    throw this.outputError(read, bad, what);
  }

  private outputError(read: Map<string, Tensor>, image: number, what: string): NonFiniteError {
    return outputError(read, image, what, (v) => this.facts.layerOf(v));
  }

  /**
   * The first layer (in graph order, up to `outputs`; default every layer) whose output holds NaN or
   * ±Infinity for one image, or undefined when every value is finite. A pass that keeps and reads
   * back every value, without ReLU fusion (a fused ReLU would hide a NaN): slow, so it runs only
   * after a check has failed. `mode` may be a frozen pass (a recording's patterns replayed).
   */
  async locateNonFinite(image: Float32Array, outputs?: string[], mode: ForwardMode = { kind: 'plain' }): Promise<NonFiniteSite | undefined> {
    const g = this.graph;
    const nodes = this.facts.needed(outputs && this.resolveAll(outputs));
    const layers = nodes.map((i) => g.nodes[i]!).filter((n) => !opOf(n).alias);
    const values = layers.map((n) => n.outputs[0]!);
    const plan = buildForward(this.facts, this.ctx(), 1, values, mode, 'diagnostic');
    try {
      this.engine.device.queue.writeBuffer(plan.input, 0, image.buffer, image.byteOffset, image.byteLength);
      let dispatches = plan.dispatches;
      const bytes = (v: string) => numel(plan.shapes.get(v)!) * 4;
      for (let s = 0; s < values.length; ) {
        // read back in groups of at most 64 MiB (the first group after the pass itself)
        let e = s + 1;
        for (let total = bytes(values[s]!); e < values.length && total + bytes(values[e]!) <= 64 * 2 ** 20; e++) total += bytes(values[e]!);
        const res = await this.engine.run(dispatches, values.slice(s, e).map((v) => ({ buffer: plan.values.get(v)!, bytes: bytes(v) })));
        dispatches = [];
        for (let k = s; k < e; k++) {
          const d = new Float32Array(res[k - s]!);
          const at = firstNonFinite(d);
          if (at >= 0)
            return { node: layers[k]!, value: values[k]!, count: countNonFinite(d), total: d.length, example: d[at]!, position: positionText(at, plan.shapes.get(values[k]!)!.slice(1)) };
        }
        s = e;
      }
      return undefined;
    } finally {
      destroyPlan(plan);
    }
  }

  /**
   * A model of this graph plus `nodes` (reading any of its values) that shares this model's
   * parameter and derived buffers; destroying it leaves them to this model.
   */
  extend(nodes: Node[]): Model {
    const m = new Model(this.engine, { ...this.graph, nodes: [...this.graph.nodes, ...nodes] }, this);
    m.params = this.params;
    m.derivedBufs = this.derivedBufs;
    m.sharesParams = true;
    return m;
  }

  private sharesParams = false;

  /**
   * The layers after value (or layer) `from` as a model of their own, whose input is a batch of
   * `from`'s values and whose outputs are `outputs` (default: the graph's), sharing this model's
   * parameter and derived buffers (destroying it leaves them to this model). Only the nodes those
   * outputs need and `from` does not are in it, so a run costs the tail of the network. Throws
   * ArgumentError naming the value when a layer after `from` also reads a value computed before it
   * (a skip connection around it): see engine/plan.ts, tailGraph.
   */
  tail(from: string, outputs: string[] = this.graph.outputs): Model {
    const m = new Model(this.engine, tailGraph(this.facts, this.resolve(from), this.resolveAll(outputs)), this);
    m.params = this.params;
    m.derivedBufs = this.derivedBufs;
    m.sharesParams = true;
    m.memoryBudget = this.memoryBudget;
    return m;
  }

  /** Destroys every plan (recordings still out become unusable) and, unless shared, the parameter buffers. */
  destroy(): void {
    this.dropPlans();
    for (const p of this.leased) destroyPlan(p);
    this.leased.clear();
    if (this.sharesParams) return;
    for (const b of this.params.values()) this.engine.destroyBuffer(b);
    for (const d of this.derivedBufs.values()) this.engine.destroyBuffer(d.buffer);
    this.params.clear();
    this.derivedBufs.clear();
    if (this.dummyBuf) this.engine.destroyBuffer(this.dummyBuf);
    this.dummyBuf = undefined;
  }
}

function imagesOf(source: BatchSource, input: GPUBuffer): Dispatch[] {
  if (!source.images) throw new ArgumentError('this batch source makes region rectangles only, not whole images');
  return source.images(input);
}
