// The reverse walker: from a seed at any value of a recorded forward pass, walk the graph
// backwards with one rule per op and return the signal that arrives at the requested values.
// Rules differ only at ReLU (and LRN):
//   gradient  — the true gradient: ReLU passes dy where the forward input was positive;
//   deconvnet — Zeiler & Fergus: ReLU of the returning signal, forward mask ignored, LRN skipped;
//   guided    — both: dy > 0 and forward input > 0.
// Max-pools route the signal by their recorded switches under every rule, convs by their
// transposed filters. The dispatches of a walk are built once per (recording, seed, rule, stop)
// and reused; a run uploads the seed, submits once and reads back once.

import type { Dispatch } from './gpu.ts';
import type { Node } from './ir.ts';
import { opOf } from './ops/index.ts';
import type { ReverseContext } from './ops/types.ts';
import type { Model, Recording, Tensor } from './runner.ts';
import { numel } from './shapes.ts';
import * as R from './reverse-kernels.ts';
import { ArgumentError, UnsupportedOpError } from './errors.ts';

export type ReverseRule = 'gradient' | 'deconvnet' | 'guided';

export interface Walk {
  dispatches: Dispatch[];
  seed: GPUBuffer;
  grads: Map<string, GPUBuffer>;
  owned: GPUBuffer[];
}

export class Reverser {
  // Walks are cached per recording plan (its buffers are stable until the model drops its plans).
  private walks = new WeakMap<Map<string, GPUBuffer>, Map<string, Walk>>();
  private all: Walk[] = [];
  private scratch: GPUBuffer[] = [];
  constructor(readonly model: Model) {}

  /**
   * Runs the reverse pass of `rule` from `seed` (a full tensor of the seed value's shape, batch
   * included) placed at `from`, and returns the signal at each of `to` (value or layer names).
   */
  async run(rec: Recording, from: string, seed: Float32Array, to: string[], rule: ReverseRule): Promise<Map<string, Tensor>> {
    const m = this.model;
    const fromV = m.resolve(from);
    const toV = [...new Set(to.map((t) => m.resolve(t)))];
    const seedShape = rec.shapes.get(fromV)!;
    if (seed.length !== numel(seedShape)) throw new ArgumentError(`seed for ${from} has ${seed.length} values, expected ${numel(seedShape)} ([${seedShape.join(', ')}])`);
    const walk = this.walk(rec, fromV, toV, rule);
    m.engine.device.queue.writeBuffer(walk.seed, 0, seed.buffer, seed.byteOffset, seed.byteLength);
    const res = await m.engine.run(walk.dispatches, toV.map((v) => ({ buffer: walk.grads.get(v)!, bytes: numel(rec.shapes.get(v)!) * 4 })));
    return new Map(toV.map((v, i) => [v, { shape: rec.shapes.get(v)!, data: new Float32Array(res[i]!) }]));
  }

  /**
   * The walk's dispatches and buffers without running them: write the seed into `seed` (on the
   * GPU or with writeBuffer), run `dispatches`, and find each target's signal in `grads`.
   * Names must be resolved value names.
   */
  prepare(rec: Recording, from: string, to: string[], rule: ReverseRule): Walk {
    return this.walk(rec, this.model.resolve(from), [...new Set(to.map((t) => this.model.resolve(t)))], rule);
  }

  private walk(rec: Recording, from: string, to: string[], rule: ReverseRule): Walk {
    const key = `${from}|${to.join(',')}|${rule}`;
    let perRec = this.walks.get(rec.values);
    if (!perRec) this.walks.set(rec.values, (perRec = new Map()));
    const cached = perRec.get(key);
    if (cached) return cached;
    const m = this.model;
    const e = m.engine;
    const g = m.graph;
    const owned: GPUBuffer[] = [];
    const alloc = (v: string) => {
      const b = e.device.createBuffer({ label: `grad:${v}`, size: Math.max(256, numel(rec.shapes.get(v)!) * 4), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      owned.push(b);
      return b;
    };
    const seed = alloc(from);

    // Nodes on a path from a target value up to the seed value.
    const producer = new Map<string, number>();
    g.nodes.forEach((n, i) => n.outputs.forEach((o) => producer.set(o, i)));
    const seedIdx = producer.get(from);
    if (seedIdx === undefined) throw new ArgumentError(`cannot start a reverse pass at the input ${from}`);
    const ancestors = new Set<number>();
    const stack = [seedIdx];
    while (stack.length) {
      const i = stack.pop()!;
      if (ancestors.has(i)) continue;
      ancestors.add(i);
      for (const v of g.nodes[i]!.inputs) {
        const p = producer.get(v);
        if (p !== undefined) stack.push(p);
      }
    }
    const reaches = new Set<string>(to); // values from which a target is reachable going forward
    g.nodes.forEach((n) => {
      if (n.inputs.some((v) => reaches.has(v))) n.outputs.forEach((o) => reaches.add(o));
    });
    for (const t of to) if (t !== g.input.name && (producer.get(t) ?? Infinity) > seedIdx) throw new ArgumentError(`layer ${t} comes after ${from}: the reverse pass cannot reach it`);

    const grads = new Map<string, GPUBuffer>([[from, seed]]);
    const dispatches: Dispatch[] = [];
    const contribute = (v: string, make: (dx: GPUBuffer) => Dispatch[]) => {
      const dx = alloc(v);
      dispatches.push(...make(dx));
      const prev = grads.get(v);
      if (!prev) grads.set(v, dx);
      else dispatches.push(R.addInto(e, numel(rec.shapes.get(v)!), dx, prev, `accumulate:${v}`));
    };
    // Contributions to a target come from its consumers, which all come after its producer.
    const last = Math.min(...to.map((t) => producer.get(t) ?? -1));
    for (let i = seedIdx; i > last; i--) {
      if (!ancestors.has(i)) continue;
      const node = g.nodes[i]!;
      const dy = grads.get(node.outputs[0]!);
      if (!dy) continue;
      const needed = node.inputs.filter((v) => reaches.has(v));
      if (needed.length > 0) this.reverseNode(node, rec, rule, dy, needed, contribute);
    }
    for (const t of to) if (!grads.has(t)) throw new ArgumentError(`the reverse pass from ${from} does not reach ${t}`);
    const walk = { dispatches, seed, grads, owned };
    perRec.set(key, walk);
    this.all.push(walk);
    return walk;
  }

  private reverseNode(node: Node, rec: Recording, rule: ReverseRule, dy: GPUBuffer, needed: string[], contribute: (v: string, make: (dx: GPUBuffer) => Dispatch[]) => void): void {
    const def = opOf(node);
    if ('none' in def.reverse) throw new UnsupportedOpError(`layer "${node.name}" (${node.op}): no reverse rule (${def.reverse.none})`);
    const m = this.model;
    const e = m.engine;
    const ctx = m.ctx();
    const rc: ReverseContext = {
      node, rule, ctx, engine: e, label: `reverse:${node.op}:${node.name}`,
      xs: node.inputs.map((v) => rec.shapes.get(v)!), ys: rec.shapes.get(node.outputs[0]!)!, dy,
      x: (i) => rec.values.get(node.inputs[i]!)!,
      y: () => rec.values.get(node.outputs[0]!)!,
      pattern: () => {
        const p = rec.patterns.get(node.name);
        if (!p) throw new UnsupportedOpError(`layer "${node.name}" (${node.op}): the recording holds no pattern for it`);
        return p;
      },
      needs: (i) => needed.includes(node.inputs[i]!),
      grad: (i, make) => contribute(node.inputs[i]!, make),
      scratch: (bytes, label) => {
        const b = e.device.createBuffer({ label, size: Math.max(256, Math.ceil(bytes / 4) * 4), usage: GPUBufferUsage.STORAGE });
        this.scratch.push(b);
        return b;
      },
    };
    def.reverse.rules(rc);
  }

  dispose(): void {
    for (const w of this.all) for (const b of w.owned) b.destroy();
    for (const b of this.scratch) b.destroy();
    this.all = [];
    this.scratch = [];
    this.walks = new WeakMap();
    this.model.engine.forgetBindGroups();
  }
}
