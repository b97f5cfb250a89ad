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
import type { ConvAttrs, Node } from './ir.ts';
import type { LowerContext } from './ops.ts';
import { lowerConv } from './conv.ts';
import type { Model, Recording, Tensor } from './runner.ts';
import { numel } from './shapes.ts';
import * as R from './reverse-kernels.ts';
import * as K from '../kernels/index.ts';
import * as RK from '../kernels/reverse.ts';
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
    const e = this.model.engine;
    const label = `reverse:${node.op}:${node.name}`;
    const x = node.inputs[0]!;
    const xs = rec.shapes.get(x)!;
    const ys = rec.shapes.get(node.outputs[0]!)!;
    const val = (v: string) => rec.values.get(v)!;
    const cannot = (why: string) => {
      throw new UnsupportedOpError(`layer "${node.name}" (${node.op}): ${why}`);
    };
    switch (node.op) {
      case 'conv':
        return contribute(x, (dx) => this.convInputGrad(node.attrs, xs, ys, dy, dx, label));
      case 'relu': {
        const r = rule === 'deconvnet' ? 'deconv' : rule;
        return contribute(x, (dx) => [R.reluBackward(e, r, numel(ys), dy, rule === 'deconvnet' ? undefined : rec.masks.get(node.name), dx, label)]);
      }
      case 'leakyrelu':
        return contribute(x, (dx) => [R.leakyReluGrad(e, node.attrs.alpha, numel(ys), dy, val(x), dx, label)]);
      case 'maxpool':
        return contribute(x, (dx) => [R.unpool(e, node.attrs, xs, ys, dy, rec.switches.get(node.name)!, dx, label)]);
      case 'avgpool':
        return contribute(x, (dx) => [R.avgPoolGrad(e, node.attrs, xs, ys, dy, dx, label)]);
      case 'globalavgpool':
        return contribute(x, (dx) => [R.globalAvgPoolGrad(e, xs, dy, dx, label)]);
      case 'lrn':
        if (rule === 'deconvnet') return contribute(x, (dx) => [R.splitChannels(e, ys, xs, 0, dy, dx, label)]); // skipped: copy
        return contribute(x, (dx) => [R.lrnGrad(e, node.attrs, xs, val(x), dy, dx, label)]);
      case 'concat': {
        let c0 = 0;
        node.inputs.forEach((v) => {
          const s = rec.shapes.get(v)!;
          const off = c0;
          if (needed.includes(v)) contribute(v, (dx) => [R.splitChannels(e, ys, s, off, dy, dx, `${label}[${v}]`)]);
          c0 += s[1]!;
        });
        return;
      }
      case 'fc': {
        const inF = numel(xs.slice(1));
        if (inF * node.attrs.outFeatures * 4 > e.maxBindingBytes) cannot('weights larger than one storage binding are not supported in reverse passes yet');
        return contribute(x, (dx) => [R.fcInputGrad(e, xs[0]!, inF, node.attrs.outFeatures, dy, this.model.paramBuffer(node.attrs.weight), dx, label)]);
      }
      case 'softmax': {
        const axis = node.attrs.axis < 0 ? node.attrs.axis + xs.length : node.attrs.axis;
        return contribute(x, (dx) => [R.softmaxGrad(e, xs, axis, val(node.outputs[0]!), dy, dx, label, !!node.attrs.log)]);
      }
      case 'add':
        for (const v of node.inputs) if (needed.includes(v)) contribute(v, (dx) => [R.splitChannels(e, ys, ys, 0, dy, dx, `${label}[${v}]`)]); // Add(c, c) gets 2·dy
        return;
      case 'channelaffine': {
        if (!node.attrs.scale) return contribute(x, (dx) => [R.splitChannels(e, ys, xs, 0, dy, dx, label)]);
        const c = xs[1]!;
        const sc = this.model.graph.params.get(node.attrs.scale)!.data.length === 1 ? 1 : c;
        return contribute(x, (dx) => [e.makeDispatch(K.channelAffine, {
          uniforms: { total: numel(ys), hw: numel(ys.slice(2)), c, scaleMod: sc, shiftMod: 1, hasScale: 1, hasShift: 0 },
          bindings: { x: dy, scale: this.model.paramBuffer(node.attrs.scale!), shift: this.model.paramBuffer(node.attrs.scale!), y: dx }, threads: numel(ys), label,
        })]);
      }
      case 'flatten':
      case 'reshape':
      case 'identity':
        return contribute(x, (dx) => [R.splitChannels(e, [1, numel(ys), 1], [1, numel(ys), 1], 0, dy, dx, label)]);
      case 'resize':
        if (node.attrs.mode !== 'bilinear') cannot('nearest resize has no reverse rule');
        return contribute(x, (dx) => [R.resizeBilinearGrad(e, xs, ys, node.attrs.alignCorners, dy, dx, label)]);
      default:
        cannot('no reverse rule for this operation');
    }
  }

  /**
   * dx of a conv, on the fast forward conv kernels:
   *  - stride 1 with pads ≤ d(k−1): a conv of dy with the filters flipped and transposed
   *    (Cin ↔ Cout within each group) and pads d(k−1)−p;
   *  - otherwise (strides, large pads): the columns W^T·dy as one 1×1 conv (a GEMM), then col2im
   *    gathers each input pixel's taps.
   */
  private convInputGrad(a: ConvAttrs, xs: number[], ys: number[], dy: GPUBuffer, dx: GPUBuffer, label: string): Dispatch[] {
    const e = this.model.engine;
    const [kh, kw] = a.kernel;
    const [dh, dw] = a.dilation;
    const cout = ys[1]!, cin = xs[1]!, g = a.group;
    const coPg = cout / g, ciPg = cin / g;
    const base = this.model.ctx();
    const w = () => base.paramData(a.weight); // [cout][ciPg][kh][kw]
    const withParam = (name: string, make: () => Float32Array): LowerContext => ({
      ...base,
      param: (n) => (n === name ? base.derived(name, make) : base.param(n)),
      paramData: (n) => (n === name ? make() : base.paramData(n)),
      paramSize: (n) => (n === name ? base.paramSize(a.weight) : base.paramSize(n)),
    });
    const pads: [number, number, number, number] = [dh * (kh - 1) - a.pads[0], dw * (kw - 1) - a.pads[1], dh * (kh - 1) - a.pads[2], dw * (kw - 1) - a.pads[3]];
    if (a.stride[0] === 1 && a.stride[1] === 1 && pads.every((p) => p >= 0)) {
      const name = `flipT:${a.weight}`;
      const flipped = () => {
        const src = w();
        const out = new Float32Array(src.length); // [cin][coPg][kh][kw]
        for (let gi = 0; gi < g; gi++)
          for (let co = 0; co < coPg; co++)
            for (let ci = 0; ci < ciPg; ci++)
              for (let ky = 0; ky < kh; ky++)
                for (let kx = 0; kx < kw; kx++)
                  out[(((gi * ciPg + ci) * coPg + co) * kh + ky) * kw + kx] = src[(((gi * coPg + co) * ciPg + ci) * kh + (kh - 1 - ky)) * kw + (kw - 1 - kx)]!;
        return out;
      };
      const t: ConvAttrs = { kernel: a.kernel, stride: [1, 1], pads, dilation: a.dilation, group: g, weight: name };
      return lowerConv(withParam(name, flipped), t, ys, xs, dy, dx, false, label);
    }
    // Columns: a 1×1 conv from Cout channels to g·ciPg·kh·kw, weight [g·ciPg·k²][coPg].
    const taps = kh * kw;
    const name = `colsT:${a.weight}`;
    const colsWeights = () => {
      const src = w();
      const out = new Float32Array(src.length);
      for (let gi = 0; gi < g; gi++)
        for (let ci = 0; ci < ciPg; ci++)
          for (let t = 0; t < taps; t++)
            for (let co = 0; co < coPg; co++) out[((gi * ciPg + ci) * taps + t) * coPg + co] = src[((gi * coPg + co) * ciPg + ci) * taps + t]!;
      return out;
    };
    const colShape = [ys[0]!, cin * taps, ys[2]!, ys[3]!];
    const cols = e.device.createBuffer({ label: `cols:${label}`, size: numel(colShape) * 4, usage: GPUBufferUsage.STORAGE });
    this.scratch.push(cols);
    const one: ConvAttrs = { kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], group: g, weight: name };
    const total = numel(xs);
    return [
      ...lowerConv(withParam(name, colsWeights), one, ys, colShape, dy, cols, false, `${label}:cols`),
      e.makeDispatch(RK.col2im, {
        uniforms: { total, c: cin, h: xs[2]!, w: xs[3]!, oh: ys[2]!, ow: ys[3]!, kh, kw, sh: a.stride[0], sw: a.stride[1], pt: a.pads[0], pl: a.pads[1], dh, dw },
        bindings: { cols, dx }, threads: total, label: `${label}:col2im`,
      }),
    ];
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
