// Layer-wise Relevance Propagation (Montavon et al., "Layer-wise relevance propagation: an
// overview", 2019) as a reverse walk over a recorded forward pass, with each op's LRP rule from the
// op table (`lrp` of engine/ops/types.ts):
//  - linear ops use the z-rules through the gradient × input identity: for a term (x', W'),
//    z = W'·x' [+ b'], s = R / (z + ε·sign z), R_in = x' ⊙ W'ᵀ s, where W'· is the op's own forward
//    kernel with modified parameters and W'ᵀ its own input-gradient kernel: no new GEMMs. The
//    modified parameters (w⁺, w⁻, w + γw⁺, ones) are derived once per model and kept with it.
//      epsilon     one term (x, w), bias b, stabiliser ε (ε → 0: LRP-0); z is the recorded output,
//                  so a layer costs one input-gradient pass and two elementwise kernels;
//      gamma       one term (x, w + γ·w⁺), bias b + γ·b⁺;
//      alpha-beta  α·[(x⁺, w⁺) + (x⁻, w⁻)] − β·[(x⁺, w⁻) + (x⁻, w⁺)], each pass its own z, no bias
//                  (α1β0 is z⁺, which conserves relevance exactly);
//      flat        one term (1, 1): relevance spread over the receptive field;
//      zb          (x, w) − (l, w⁺) − (h, w⁻), l..h the input's bounds (the first layer only).
//    Ops without weights (average pools, add, bilinear resize) take their own weights as w and w⁺
//    (they are positive) and no w⁻ term: the z-rule in proportion to the summands.
//  - route ops move relevance without mixing it (max-pool winner takes all, concat, views);
//  - pass ops (ReLU) hand it on unchanged.
// The walk also sums the relevance at every op's output and at its inputs (per image, on the GPU
// per channel, then in float64 here): the conservation gap per layer.

import type { Dispatch } from './gpu.ts';
import type { Node } from './ir.ts';
import { opOf } from './ops/index.ts';
import type { LowerContext, ReverseContext } from './ops/types.ts';
import type { Model, Recording } from './runner.ts';
import { Arena } from './plan.ts';
import { numel } from './shapes.ts';
import * as R from './reverse-kernels.ts';
import { recorded } from './reverse.ts';
import * as RK from '../kernels/reverse.ts';
import { reduce, stridesOf } from './ops/strided.ts';
import { ArgumentError, UnsupportedOpError } from './errors.ts';

export type LrpRuleName = 'epsilon' | 'gamma' | 'alpha-beta' | 'flat' | 'zb';

/** The rule of one layer with its parameters. */
export interface LayerRule {
  rule: LrpRuleName;
  epsilon: number;
  gamma: number;
  alpha: number;
  beta: number;
  /** zb: the lowest and highest input value per channel */
  low?: number[];
  high?: number[];
}

/** Picks the rule of each linear layer: `first` is true for layers that read the network's input. */
export type RulePicker = (node: Node, first: boolean, weighted: boolean) => LayerRule;

export interface LayerConservation {
  layer: string;
  op: string;
  /** the rule used ('route' and 'pass' ops move relevance without a rule) */
  rule: string;
  /** per image: Σ R at the op's output and Σ R the op gave its inputs */
  out: number[];
  in: number[];
}

export interface LrpResult {
  /** relevance at the network's input, N×C×H×W */
  relevance: Float32Array;
  layers: LayerConservation[];
}

type XForm = 'id' | 'pos' | 'neg' | 'ones' | 'low' | 'high';
type WForm = 'id' | 'pos' | 'neg' | 'ones' | 'gamma';
/** one term of a pass: z gets sign·W'(x'); the first term of a pass has sign +1 */
interface Term { x: XForm; w: WForm; sign: 1 | -1 }
interface Pass { coef: number; terms: Term[]; bias?: WForm; eps: number }

function passesOf(r: LayerRule, weighted: boolean): Pass[] {
  const tiny = 1e-9; // the stabiliser of rules whose denominators do not change sign
  let ps: Pass[];
  switch (r.rule) {
    case 'epsilon': ps = [{ coef: 1, terms: [{ x: 'id', w: 'id', sign: 1 }], bias: 'id', eps: r.epsilon }]; break;
    case 'gamma': ps = [{ coef: 1, terms: [{ x: 'id', w: 'gamma', sign: 1 }], bias: 'gamma', eps: r.epsilon }]; break;
    case 'alpha-beta':
      ps = [
        { coef: r.alpha, terms: [{ x: 'pos', w: 'pos', sign: 1 }, { x: 'neg', w: 'neg', sign: 1 }], eps: tiny },
        ...(r.beta !== 0 ? [{ coef: -r.beta, terms: [{ x: 'pos', w: 'neg', sign: 1 }, { x: 'neg', w: 'pos', sign: 1 }] as Term[], eps: tiny }] : []),
      ];
      break;
    case 'flat': ps = [{ coef: 1, terms: [{ x: 'ones', w: 'ones', sign: 1 }], eps: tiny }]; break;
    case 'zb': ps = [{ coef: 1, terms: [{ x: 'id', w: 'id', sign: 1 }, { x: 'low', w: 'pos', sign: -1 }, { x: 'high', w: 'neg', sign: -1 }], eps: tiny }]; break;
  }
  if (weighted) return ps;
  // An op's own weights (pools, add) are positive: w⁺ = w, w⁻ = 0, γ changes nothing, flat keeps them.
  const own = (w: WForm): WForm | undefined => (w === 'neg' ? undefined : 'id');
  return ps.map((p) => ({ ...p, bias: undefined, terms: p.terms.filter((t) => own(t.w)).map((t) => ({ ...t, w: 'id' as WForm })) })).filter((p) => p.terms.length > 0);
}

const MARK = '#lrp:';

/** A parameter modified for a rule, derived from the original on the CPU once per model. */
function modify(data: Float32Array, how: string): Float32Array {
  if (how === 'id') return data;
  if (how === 'pos') return data.map((v) => Math.max(v, 0));
  if (how === 'neg') return data.map((v) => Math.min(v, 0));
  if (how === 'ones') return data.map(() => 1);
  if (how.startsWith('gamma=')) {
    const g = Number(how.slice(6));
    return data.map((v) => v + g * Math.max(v, 0));
  }
  throw new Error(`lrp: unknown parameter modification ${how}`);
}

/** The context in which `name#lrp:how` stands for parameter `name` modified by `how`. */
function modifiedContext(base: LowerContext): LowerContext {
  const parse = (n: string) => {
    const k = n.indexOf(MARK);
    return k < 0 ? undefined : { orig: n.slice(0, k), how: n.slice(k + MARK.length) };
  };
  const data = (n: string) => {
    const p = parse(n);
    return p ? modify(base.paramData(p.orig), p.how) : base.paramData(n);
  };
  return {
    ...base,
    param: (n) => (parse(n) ? base.derived(n, () => data(n)) : base.param(n)),
    paramSize: (n) => base.paramSize(parse(n)?.orig ?? n),
    paramData: data,
  };
}

/**
 * Relevance at the network's input for the seed `seed` (full tensor of `from`'s shape: the chosen
 * logit's value, zero elsewhere), each linear layer under `pick`'s rule.
 */
export async function lrpRun(m: Model, rec: Recording, from: string, seed: Float32Array, pick: RulePicker): Promise<LrpResult> {
  rec.check();
  const e = m.engine;
  const g = m.graph;
  const facts = m.facts;
  const base = m.ctx();
  const ctx = modifiedContext(base);
  const arena = new Arena(e);
  const n = rec.batch;
  const shapeOf = (v: string) => rec.shapes.get(v)!;
  const input = g.input.name;
  const seedIdx = facts.producer.get(from);
  if (seedIdx === undefined) throw new ArgumentError(`cannot start relevance propagation at the input ${from}`);
  const ancestors = new Set(facts.needed([from]));
  const reaches = new Set<string>([input]);
  g.nodes.forEach((nd) => {
    if (nd.inputs.some((v) => reaches.has(v))) nd.outputs.forEach((o) => reaches.add(o));
  });
  // values that are the input seen through views (flatten before a first fc)
  const inputLike = new Set<string>([input]);
  g.nodes.forEach((nd) => {
    const l = opOf(nd).lrp;
    if ('kind' in l && l.kind === 'route' && nd.inputs.length === 1 && inputLike.has(nd.inputs[0]!) && opOf(nd).alias) inputLike.add(nd.outputs[0]!);
  });

  const dispatches: Dispatch[] = [];
  const owned: GPUBuffer[] = [];
  const seedBuf = arena.alloc(numel(shapeOf(from)) * 4, `lrp seed:${from}`);
  const rel = new Map<string, GPUBuffer>([[from, seedBuf]]);
  const sums: { buf: GPUBuffer; floats: number; layer: number; side: 'out' | 'in'; channels: number }[] = [];
  const layers: LayerConservation[] = [];
  const total = (v: string) => numel(shapeOf(v));
  const ew = (defines: string[], count: number, b: { a: GPUBuffer; b?: GPUBuffer; y: GPUBuffer }, c: number, eps: number, label: string) =>
    e.makeDispatch(RK.lrp, { defines, uniforms: { total: count, c, eps }, bindings: b, threads: count, label });
  /** Σ over all but the batch and channel axes of `buf` (shape of value v) into a small buffer read back later. */
  const sumOf = (v: string, buf: GPUBuffer, layer: number, side: 'out' | 'in', label: string) => {
    const s = shapeOf(v);
    const ch = s.length > 1 ? s[1]! : 1;
    const rest = numel(s) / (n * ch);
    const out = e.device.createBuffer({ size: Math.max(16, n * ch * 4), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, label: `lrp sum:${label}` });
    owned.push(out);
    const full = [n, ch, rest];
    dispatches.push(reduce(e, full, [n, ch, 1], { buf, strides: stridesOf(full) }, out, `lrp sum:${label}`));
    sums.push({ buf: out, floats: n * ch, layer, side, channels: ch });
  };
  const contribute = (v: string, layer: number, make: (dx: GPUBuffer) => Dispatch[]) => {
    const dx = arena.alloc(total(v) * 4, `relevance:${v}`);
    dispatches.push(...make(dx));
    sumOf(v, dx, layer, 'in', `${layers[layer]!.layer}→${v}`);
    const prev = rel.get(v);
    if (!prev) rel.set(v, dx);
    else {
      dispatches.push(R.addInto(e, total(v), dx, prev, `lrp accumulate:${v}`));
      arena.release(dx);
    }
  };

  for (let i = seedIdx; i >= 0; i--) {
    if (!ancestors.has(i)) continue;
    const node = g.nodes[i]!;
    const out = node.outputs[0]!;
    const R0 = rel.get(out);
    if (!R0) continue;
    const needed = node.inputs.map((v) => reaches.has(v));
    if (!needed.some((x) => x)) continue;
    const def = opOf(node);
    const rule = def.lrp;
    if ('none' in rule) throw new UnsupportedOpError(`layer "${node.name}" (${node.op}): no LRP rule (${rule.none})`);
    const label = `lrp:${node.op}:${node.name}`;
    const reverse = def.reverse;
    if (rule.kind !== 'pass' && 'none' in reverse) throw new UnsupportedOpError(`layer "${node.name}" (${node.op}): no reverse rule for LRP (${reverse.none})`);
    const rules = 'rules' in reverse ? reverse.rules : () => undefined;
    const li = layers.length;
    layers.push({ layer: node.name, op: node.op, rule: rule.kind, out: [], in: [] });
    sumOf(out, R0, li, 'out', node.name);
    const scratch: GPUBuffer[] = [];
    const tmp = (bytes: number, l: string) => {
      const b = arena.alloc(bytes, l);
      scratch.push(b);
      return b;
    };
    /** a reverse context on `nd` with signal `dy`; `grad` gets each input's signal */
    const rcOf = (nd: Node, dy: GPUBuffer, grad: ReverseContext['grad']): ReverseContext => ({
      node: nd, rule: 'gradient', ctx, engine: e, label,
      xs: node.inputs.map(shapeOf), ys: shapeOf(out), dy,
      ...recorded(rec, node),
      needs: (k) => needed[k]!,
      grad, scratch: tmp,
    });
    if (rule.kind === 'pass') {
      contribute(node.inputs[0]!, li, (dx) => [R.splitChannels(e, [1, total(out), 1], [1, total(out), 1], 0, R0, dx, label)]);
    } else if (rule.kind === 'route') {
      rules(rcOf(node, R0, (k, make) => contribute(node.inputs[k]!, li, make)) as never);
    } else {
      const attrs = node.attrs as Record<string, unknown>;
      const wName = rule.weight ? (attrs[rule.weight] as string | undefined) : undefined;
      const bName = rule.bias ? (attrs[rule.bias] as string | undefined) : undefined;
      const weighted = wName !== undefined;
      const first = node.inputs.some((v) => inputLike.has(v));
      const lr = pick(node, first, weighted);
      layers[li]!.rule = lr.rule;
      const passes = passesOf(lr, weighted);
      const paramName = (p: string, how: WForm) => (how === 'id' ? p : `${p}${MARK}${how === 'gamma' ? `gamma=${lr.gamma}` : how}`);
      const nodeWith = (w: WForm, bias?: WForm): Node => {
        const a = { ...attrs };
        if (wName) a[rule.weight!] = paramName(wName, w);
        if (rule.bias) a[rule.bias] = bName && bias ? paramName(bName, bias) : undefined;
        return { ...node, attrs: a } as Node;
      };
      const xCache = new Map<XForm, GPUBuffer[]>();
      const xsOf = (x: XForm): GPUBuffer[] => {
        if (!xCache.has(x)) xCache.set(x, xsMake(x));
        return xCache.get(x)!;
      };
      const xsMake = (x: XForm): GPUBuffer[] =>
        node.inputs.map((v, k) => {
          const buf = rec.plan.values.get(v)!;
          if (x === 'id') return buf;
          const cnt = total(v);
          if (x === 'pos' || x === 'neg') {
            const t = tmp(cnt * 4, `${label}:x${x}`);
            dispatches.push(ew([x.toUpperCase()], cnt, { a: buf, y: t }, 0, 0, `${label}:x${x}[${k}]`));
            return t;
          }
          if (x === 'ones') return base.derived(`lrp:ones:${cnt}`, () => new Float32Array(cnt).fill(1));
          const bounds = x === 'low' ? lr.low : lr.high;
          const s = shapeOf(v);
          if (!bounds) throw new ArgumentError(`layer "${node.name}": the z^B rule needs the input's bounds`);
          const ch = s[1] ?? 1, per = numel(s.slice(2));
          if (bounds.length !== 1 && bounds.length !== ch) throw new ArgumentError(`layer "${node.name}": z^B bounds give ${bounds.length} values for an input of ${ch} channels`);
          return base.derived(`lrp:${x}:${s.join('x')}:${bounds.join(',')}`, () => {
            const f = new Float32Array(cnt);
            for (let q = 0; q < cnt; q++) f[q] = bounds[bounds.length === 1 ? 0 : Math.floor(q / per) % ch]!;
            return f;
          });
        });
      // per input k: the relevance terms (coefficient, x', W'ᵀ s), summed at the end
      const parts: { k: number; c: number; x: GPUBuffer; g: GPUBuffer }[] = [];
      const yCount = total(out);
      for (const [pi, p] of passes.entries()) {
        // z of this pass: the recorded output when the pass is the plain forward (LRP-0/ε: the
        // recording has no fused ReLUs), else the sum of its terms' forward passes (the first with the bias)
        const t0 = p.terms[0]!;
        if (p.terms.length === 1 && t0.x === 'id' && t0.w === 'id' && (p.bias === 'id' || !bName)) {
          const s = tmp(yCount * 4, `${label}:s${pi}`);
          dispatches.push(ew(['DIVIDE'], yCount, { a: rec.plan.values.get(out)!, b: R0, y: s }, 0, p.eps, `${label}:s${pi}`));
          rules(rcOf(nodeWith('id'), s, (k, make) => {
            const gb = tmp(total(node.inputs[k]!) * 4, `${label}:g${k}`);
            dispatches.push(...make(gb));
            parts.push({ k, c: p.coef, x: xsOf('id')[k]!, g: gb });
          }) as never);
          continue;
        }
        const z = tmp(yCount * 4, `${label}:z${pi}`);
        const zt = p.terms.length > 1 ? tmp(yCount * 4, `${label}:zt${pi}`) : z;
        p.terms.forEach((t, ti) => {
          const nd = nodeWith(t.w, ti === 0 ? p.bias : undefined);
          const target = ti === 0 ? z : zt;
          dispatches.push(...def.forward(ctx, { node: nd as never, inShapes: node.inputs.map(shapeOf), outShape: shapeOf(out), ins: xsOf(t.x), out: target, noBias: !(ti === 0 && p.bias), label: `${label}:z${pi}.${ti}`, scratch: tmp }));
          if (ti > 0) dispatches.push(ew(['AXPY'], yCount, { a: zt, y: z }, t.sign, 0, `${label}:z${pi}+`));
        });
        const s = tmp(yCount * 4, `${label}:s${pi}`);
        dispatches.push(ew(['DIVIDE'], yCount, { a: z, b: R0, y: s }, 0, p.eps, `${label}:s${pi}`));
        for (const t of p.terms) {
          const nd = nodeWith(t.w);
          const xb = xsOf(t.x);
          rules(rcOf(nd, s, (k, make) => {
            const gb = tmp(total(node.inputs[k]!) * 4, `${label}:g${k}`);
            dispatches.push(...make(gb));
            parts.push({ k, c: p.coef * t.sign, x: xb[k]!, g: gb });
          }) as never);
        }
      }
      node.inputs.forEach((v, k) => {
        if (!needed[k]) return;
        const mine = parts.filter((q) => q.k === k);
        if (mine.length === 0) return;
        contribute(v, li, (dx) => mine.map((q, j) => ew(j === 0 ? [] : ['ACC'], total(v), { a: q.x, b: q.g, y: dx }, q.c, 0, `${label}:R[${k}]`)));
      });
    }
    if (R0 !== seedBuf) arena.release(R0);
    for (const b of scratch.splice(0)) arena.release(b);
  }
  const R_in = rel.get(input);
  if (!R_in) throw new ArgumentError(`relevance from ${from} does not reach the input`);
  e.device.queue.writeBuffer(seedBuf, 0, seed.buffer, seed.byteOffset, seed.byteLength);
  try {
    const reads = [{ buffer: R_in, bytes: total(input) * 4 }, ...sums.map((s) => ({ buffer: s.buf, bytes: s.floats * 4 }))];
    const res = await e.run(dispatches, reads);
    const relevance = new Float32Array(res[0]!);
    sums.forEach((s, q) => {
      const d = new Float32Array(res[q + 1]!);
      const L = layers[s.layer]!;
      const per = Array.from({ length: n }, (_, i) => {
        let t = 0;
        for (let c = 0; c < s.channels; c++) t += d[i * s.channels + c]!;
        return t;
      });
      if (s.side === 'out') L.out = per;
      else L.in = L.in.length ? L.in.map((v, i) => v + per[i]!) : per;
    });
    return { relevance, layers };
  } finally {
    arena.destroy();
    for (const b of owned) b.destroy();
  }
}
