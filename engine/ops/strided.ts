// Strided views for the ops that move or reduce data along arbitrary axes (transpose, broadcasting
// add / mul, reducemean): the host side of kernels/strided.wgsl (gathers y[o] = a[Σ idx·sa] and sums
// over reduced axes). Shapes and strides travel in uniforms, rank ≤ 6 after merging: axes of size 1
// are dropped and adjacent axes every operand walks contiguously are merged (the SE gate
// [N,C,H,W] × [N,C,1,1] becomes [N·C, H·W] × [N·C, 1]).
import type { Dispatch, Engine } from '../gpu.ts';
import { numel } from '../geometry.ts';
import { ShapeError } from '../errors.ts';
import * as K from '../../kernels/index.ts';

export const MAX_RANK = 6;

/** Row-major strides of `shape`. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** The strides of a tensor of shape `s` read over the index space `out` (equal rank): 0 where it is broadcast (s_k = 1 < out_k). */
export function broadcastStrides(s: readonly number[], out: readonly number[]): number[] {
  const st = stridesOf(s);
  return s.map((d, k) => (d === 1 && out[k] !== 1 ? 0 : st[k]!));
}

/** numpy broadcasting of equal-rank shapes (each axis equal, or 1 in all but one); null when they do not broadcast. */
export function broadcastShape(shapes: readonly (readonly number[])[]): number[] | null {
  const r = shapes[0]!.length;
  if (shapes.some((s) => s.length !== r)) return null;
  const out: number[] = [];
  for (let k = 0; k < r; k++) {
    const ds = shapes.map((s) => s[k]!);
    const m = Math.max(...ds);
    if (ds.some((d) => d !== 1 && d !== m)) return null;
    out.push(m);
  }
  return out;
}

/** One axis of an index space: kept size d, reduced size r (one of them 1), and each operand's stride. */
interface Axis {
  d: number;
  r: number;
  s: number[];
}

/** Drops size-1 axes and merges neighbours of the same kind (kept / reduced) that every operand walks contiguously. */
function coalesce(axes: Axis[], what: string): Axis[] {
  const out: Axis[] = [];
  for (const ax of axes) {
    const n = ax.d * ax.r;
    if (n === 1) continue;
    const prev = out[out.length - 1];
    if (prev && (prev.r === 1) === (ax.r === 1) && prev.s.every((s, i) => s === ax.s[i]! * n)) {
      prev.d *= ax.d;
      prev.r *= ax.r;
      prev.s = [...ax.s];
    } else out.push({ d: ax.d, r: ax.r, s: [...ax.s] });
  }
  if (out.length > MAX_RANK) throw new ShapeError(`${what}: ${out.length} axes after merging (the kernels take at most ${MAX_RANK})`);
  while (out.length < MAX_RANK) out.unshift({ d: 1, r: 1, s: axes[0]?.s.map(() => 0) ?? [] });
  return out;
}

const fields = (prefix: string, v: number[]): Record<string, number> => Object.fromEntries(v.map((x, k) => [`${prefix}${k}`, x]));

interface Operand {
  buf: GPUBuffer;
  strides: readonly number[];
}

/** One strided dispatch over the index space `full`, summing over the axes where `kept` is 1 and `full` is not. */
function strided(e: Engine, full: readonly number[], kept: readonly number[], a: Operand & { offset?: number }, y: GPUBuffer, label: string, o: { b?: Operand; mul?: boolean; acc?: boolean; scale?: number }): Dispatch {
  const total = numel(kept);
  const ax = coalesce(full.map((n, k) => ({ d: kept[k] === n ? n : 1, r: kept[k] === n ? 1 : n, s: [a.strides[k]!, o.b?.strides[k] ?? 0] })), label);
  const defines = [...(o.b ? ['BINARY'] : []), ...(o.mul ? ['MUL'] : []), ...(o.acc ? ['ACC'] : [])];
  return e.makeDispatch(K.strided, {
    defines,
    uniforms: {
      total, count: numel(full) / total, offset: a.offset ?? 0, scale: o.scale ?? 1,
      ...fields('d', ax.map((x) => x.d)), ...fields('r', ax.map((x) => x.r)), ...fields('sa', ax.map((x) => x.s[0]!)), ...fields('sb', ax.map((x) => x.s[1]!)),
    },
    bindings: { a: a.buf, b: o.b?.buf, y }, threads: total, label,
  });
}

/**
 * y[o] = scale · a[offset + Σ_k idx_k(o)·sa_k] over the index space `dims` (y's shape); with `b`
 * (strides sb), y[o] = a[…] + b[…] or, with `mul`, a[…] · b[…]; with `acc`, y[o] += scale · a[…].
 */
export function gather(e: Engine, dims: readonly number[], a: Operand & { offset?: number }, y: GPUBuffer, label: string, opts: { b?: Operand; mul?: boolean; acc?: boolean; scale?: number } = {}): Dispatch {
  return strided(e, dims, dims, a, y, label, opts);
}

/**
 * y = scale · Σ over the axes where `kept` is 1 and `full` is not, of a (or a · b with `b`), where a
 * and b are read over the index space `full` through their strides; y has the shape `kept` (any
 * layout with the same element order: keepdims or not).
 */
export function reduce(e: Engine, full: readonly number[], kept: readonly number[], a: Operand, y: GPUBuffer, label: string, opts: { b?: Operand; scale?: number } = {}): Dispatch {
  return strided(e, full, kept, a, y, label, { ...opts, mul: !!opts.b });
}
