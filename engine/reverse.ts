// The reverse walk: from a seed at any value of a recorded forward pass, walk the graph backwards
// with each op's rules from the op table and return the signal that arrives at the requested
// values. Rules differ only at rectifiers (and LRN):
//   gradient  — the true gradient: ReLU passes dy where the forward input was positive;
//   deconvnet — Zeiler & Fergus: ReLU of the returning signal, forward mask ignored, LRN skipped;
//   guided    — both: dy > 0 and forward input > 0.
// Max-pools route the signal by their recorded switches under every rule, convs by their
// transposed filters. A walk is a plan built on the recording's plan (engine/plan.ts): its buffers
// come from an arena that reuses a signal's buffer once the walk has passed it, and it is built
// once per (recording plan, seed, rule, stop) and kept with that plan; a run uploads the seed,
// submits once and reads back once. With parameter gradients (training) the walk also writes the
// gradient of every parameter of every op on the way (the op table's `paramGrads`).

import type { Dispatch } from './gpu.ts';
import { nodeParams, type Node } from './ir.ts';
import { opOf } from './ops/index.ts';
import type { ReverseContext, ReverseRuleName } from './ops/types.ts';
import type { Model, Recording, Tensor } from './runner.ts';
import { Arena } from './plan.ts';
import { numel } from './shapes.ts';
import * as R from './reverse-kernels.ts';
import { ArgumentError, NonFiniteError, UnsupportedOpError } from './errors.ts';
import { countNonFinite, firstBadImage } from './finite.ts';

export type ReverseRule = ReverseRuleName;

export interface Walk {
  dispatches: Dispatch[];
  seed: GPUBuffer;
  /** the seed buffer of every seeded value (`from` and WalkOptions.also) */
  seeds: Map<string, GPUBuffer>;
  /** the signal at each target value */
  grads: Map<string, GPUBuffer>;
  /** bytes of GPU memory the walk holds (signals share buffers once the walk has passed them) */
  bytes: number;
  destroy(): void;
}

export interface WalkOptions {
  /**
   * Training: the buffer each parameter's gradient is written to (rule 'gradient' only), or
   * undefined for a frozen parameter: a node whose parameters are all frozen (a classifier inside a
   * decoder's feature-space loss) passes the signal on and gets no parameter gradients.
   */
  paramGrad?: (name: string) => GPUBuffer | undefined;
  /**
   * More seeded values besides `from` (resolved names, none after `from`): the walk adds each one's
   * seed to the signal that arrives there from later layers, so one walk carries the gradient of a
   * sum of objectives at several layers (style transfer's Gram losses). Write each seed into
   * `Walk.seeds` before every run: the walk accumulates into those buffers.
   */
  also?: string[];
}

/** What a reverse rule reads of the recording at `node`: its inputs, its output and its pattern (max-pool switches, ReLU masks). */
export function recorded(rec: Recording, node: Node): Pick<ReverseContext, 'x' | 'y' | 'pattern'> {
  return {
    x: (k) => rec.plan.values.get(node.inputs[k]!)!,
    y: () => rec.plan.values.get(node.outputs[0]!)!,
    pattern: () => {
      const p = rec.plan.patterns.get(node.name);
      if (!p) throw new UnsupportedOpError(`layer "${node.name}" (${node.op}): the recording holds no pattern for it`);
      return p;
    },
  };
}

/**
 * The walk of `rule` from `from` to `to` (resolved value names) over `rec`'s plan, built once and
 * kept with the plan (it reads the plan's values and patterns, which stay where they are while the
 * plan is reused by later recordings).
 */
export function walkOf(model: Model, rec: Recording, from: string, to: string[], rule: ReverseRule, opts: WalkOptions = {}): Walk {
  rec.check();
  const key = `walk|${from}|${to.join(',')}|${rule}|${opts.paramGrad ? 'params' : ''}|${(opts.also ?? []).join(',')}`;
  const cached = rec.plan.dependents.get(key) as Walk | undefined;
  if (cached) return cached;
  const walk = buildWalk(model, rec, from, to, rule, opts);
  rec.plan.dependents.set(key, walk);
  return walk;
}

function buildWalk(m: Model, rec: Recording, from: string, to: string[], rule: ReverseRule, opts: WalkOptions): Walk {
  const e = m.engine;
  const g = m.graph;
  const facts = m.facts;
  const ctx = m.ctx();
  const arena = new Arena(e);
  const shapeOf = (v: string) => rec.shapes.get(v)!;
  const seedIdx = facts.producer.get(from);
  if (seedIdx === undefined) throw new ArgumentError(`cannot start a reverse pass at the input ${from}`);
  for (const t of to) if (t !== g.input.name && (facts.producer.get(t) ?? Infinity) > seedIdx) throw new ArgumentError(`layer ${t} comes after ${from}: the reverse pass cannot reach it`);
  const seed = arena.alloc(numel(shapeOf(from)) * 4, `seed:${from}`);
  const also = [...new Set(opts.also ?? [])].filter((v) => v !== from);
  for (const v of also) {
    const p = facts.producer.get(v);
    if (p === undefined) throw new ArgumentError(`cannot seed a reverse pass at the input ${v}`);
    if (p > seedIdx) throw new ArgumentError(`layer ${v} comes after ${from}: start the reverse pass at the later one`);
  }
  // every seed buffer is allocated before any signal is released, so none shares a buffer with a
  // signal the walk computes before it: written before the submission, it holds the seed when the
  // walk first adds into it
  const seeds = new Map<string, GPUBuffer>([[from, seed], ...also.map((v) => [v, arena.alloc(numel(shapeOf(v)) * 4, `seed:${v}`)] as [string, GPUBuffer])]);

  // The nodes on a path up to the seeds, and the values a signal must reach: the targets and, when
  // training, the outputs of every node with parameters.
  const ancestors = new Set(facts.needed([from, ...also]));
  const params = opts.paramGrad && rule === 'gradient';
  const targets = new Set(to);
  // Signals reach a target's value from its readers, all after its producer; a node with
  // parameters is itself visited (its parameter gradients read the signal at its output).
  let lowest = Math.min(...to.map((t) => facts.producer.get(t) ?? -1));
  const trained = (n: Node): boolean => {
    if (!params || !opOf(n).paramGrads) return false;
    const own = nodeParams(n).map((p) => opts.paramGrad!(p) !== undefined);
    if (own.some((t) => t !== own[0])) throw new ArgumentError(`layer "${n.name}" (${n.op}): some of its parameters are frozen and some are not`);
    return own[0] ?? false;
  };
  if (params)
    for (const i of ancestors)
      if (trained(g.nodes[i]!)) {
        targets.add(g.nodes[i]!.outputs[0]!);
        lowest = Math.min(lowest, i - 1);
      }
  const reaches = new Set<string>(targets); // values from which a target is reachable going forward
  g.nodes.forEach((n) => {
    if (n.inputs.some((v) => reaches.has(v))) n.outputs.forEach((o) => reaches.add(o));
  });
  const keep = new Set<string>([from, ...to]);

  const grads = new Map<string, GPUBuffer>(seeds);
  const dispatches: Dispatch[] = [];
  const scratch: GPUBuffer[] = [];
  const contribute = (v: string, make: (dx: GPUBuffer) => Dispatch[]) => {
    const dx = arena.alloc(numel(shapeOf(v)) * 4, `grad:${v}`);
    dispatches.push(...make(dx));
    const prev = grads.get(v);
    if (!prev) grads.set(v, dx);
    else {
      dispatches.push(R.addInto(e, numel(shapeOf(v)), dx, prev, `accumulate:${v}`));
      arena.release(dx);
    }
  };
  for (let i = seedIdx; i > lowest; i--) {
    if (!ancestors.has(i)) continue;
    const node = g.nodes[i]!;
    const out = node.outputs[0]!;
    const dy = grads.get(out);
    if (!dy) continue;
    const def = opOf(node);
    const needed = node.inputs.map((v) => reaches.has(v));
    const rc: ReverseContext = {
      node, rule, ctx, engine: e, label: `reverse:${node.op}:${node.name}`,
      xs: node.inputs.map(shapeOf), ys: shapeOf(out), dy,
      ...recorded(rec, node),
      needs: (k) => needed[k]!,
      grad: (k, make) => contribute(node.inputs[k]!, make),
      scratch: (bytes, label) => {
        const b = arena.alloc(bytes, label);
        scratch.push(b);
        return b;
      },
    };
    if (def.paramGrads && trained(node)) dispatches.push(...def.paramGrads(rc, (p) => opts.paramGrad!(p)!));
    if (needed.some((n) => n)) {
      if ('none' in def.reverse) throw new UnsupportedOpError(`layer "${node.name}" (${node.op}): no reverse rule (${def.reverse.none})`);
      def.reverse.rules(rc);
    }
    // This node was the last to read its output's signal and its scratch buffers.
    if (!keep.has(out)) arena.release(dy);
    for (const b of scratch.splice(0)) arena.release(b);
  }
  for (const t of to) if (!grads.has(t)) throw new ArgumentError(`the reverse pass from ${from} does not reach ${t}`);
  return { dispatches, seed, seeds, grads: new Map(to.map((t) => [t, grads.get(t)!])), bytes: arena.bytes, destroy: () => arena.destroy() };
}

/** Reverse passes on recordings of one model. */
export class Reverser {
  constructor(readonly model: Model) {}

  /**
   * Runs the reverse pass of `rule` from `seed` (a full tensor of the seed value's shape, batch
   * included) placed at `from`, and returns the signal at each of `to` (value or layer names).
   */
  async run(rec: Recording, from: string, seed: Float32Array, to: string[], rule: ReverseRule): Promise<Map<string, Tensor>> {
    return this.runSeeds(rec, [[from, seed]], to, rule);
  }

  /**
   * One reverse pass from seeds at several values at once (value or layer names, each a full
   * tensor of its value's shape): the signal at each of `to` is the sum of the signals each seed
   * alone would send there (the walk is linear in its seeds under every rule). Seeds at the same
   * value are added.
   */
  async runSeeds(rec: Recording, seeds: [string, Float32Array][], to: string[], rule: ReverseRule): Promise<Map<string, Tensor>> {
    const m = this.model;
    if (seeds.length === 0) throw new ArgumentError('a reverse pass needs at least one seed');
    const byValue = new Map<string, Float32Array>();
    const given = new Map<string, string>();
    for (const [name, seed] of seeds) {
      const v = m.resolve(name);
      if (!given.has(v)) given.set(v, name);
      const shape = rec.shapes.get(v);
      if (!shape) throw new ArgumentError(`layer ${name} is not in this recording`);
      if (seed.length !== numel(shape)) throw new ArgumentError(`seed for ${name} has ${seed.length} values, expected ${numel(shape)} ([${shape.join(', ')}])`);
      const prev = byValue.get(v);
      byValue.set(v, prev ? prev.map((x, i) => x + seed[i]!) : seed);
    }
    const producer = m.facts.producer;
    const from = [...byValue.keys()].reduce((a, b) => ((producer.get(b) ?? -1) > (producer.get(a) ?? -1) ? b : a));
    const toV = [...new Set(to.map((t) => m.resolve(t)))];
    const also = [...byValue.keys()].filter((v) => v !== from);
    const walk = walkOf(m, rec, from, toV, rule, also.length ? { also } : {});
    for (const [v, seed] of byValue) m.engine.device.queue.writeBuffer(walk.seeds.get(v)!, 0, seed.buffer, seed.byteOffset, seed.byteLength);
    const res = await m.engine.run(walk.dispatches, toV.map((v) => ({ buffer: walk.grads.get(v)!, bytes: numel(rec.shapes.get(v)!) * 4 })));
    const out = new Map(toV.map((v, i) => [v, { shape: rec.shapes.get(v)!, data: new Float32Array(res[i]!) }]));
    // The recording's inputs and weights were checked: a non-finite signal overflowed on its way back.
    for (const [v, t] of out) {
      const bad = firstBadImage([t], rec.batch);
      if (bad < 0) continue;
      const per = t.data.length / rec.batch;
      throw new NonFiniteError(`the reverse pass (${rule}) from "${[...given.values()].join('", "')}" gives non-finite values at "${v}" for image ${bad} of the batch: ${countNonFinite(t.data, bad * per, (bad + 1) * per)} of ${per} values are NaN or ±Infinity (the signal overflowed float32 on its way back)`);
    }
    return out;
  }

  /**
   * The walk's dispatches and buffers without running them: write the seed into `seed` (on the
   * GPU or with writeBuffer), run `dispatches`, and find each target's signal in `grads`. The walk
   * belongs to the recording's plan.
   */
  prepare(rec: Recording, from: string, to: string[], rule: ReverseRule): Walk {
    return walkOf(this.model, rec, this.model.resolve(from), [...new Set(to.map((t) => this.model.resolve(t)))], rule);
  }

  /** Walks belong to the recordings' plans and go with them; kept for callers that dispose a Reverser. */
  dispose(): void {}
}

