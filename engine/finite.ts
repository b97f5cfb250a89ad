// Finite numbers in, finite numbers out. CPU scans of what is on the CPU anyway (inputs before they
// are uploaded, a model's parameters once, the values a run reads back) and the messages that say
// where a NaN or ±Infinity first appears. The GPU does no extra work for them on the success path;
// the per-layer diagnostic pass that finds the first layer to overflow (Model.locateNonFinite) runs
// only after a check has failed, or for inputs and weights so large that float32 may overflow.
//
// Why outputs alone are not enough: WGSL lets max(NaN, 0) be 0, so a ReLU or a max-pool can turn a
// NaN back into a plausible number (a NaN pixel on mnist-8 still gives "class 5, 11.5 %").

import type { Graph, Node } from './ir.ts';
import type { Tensor } from './runner.ts';
import { NonFiniteError } from './errors.ts';

/**
 * Inputs or parameters of at least this magnitude get the per-layer check after a run: far beyond
 * any image or feature scaling, and large enough that sums and products of them inside a net can
 * overflow float32 (3.4e38) and be hidden by a ReLU.
 */
export const HUGE = 1e12;

/** Index of the first NaN or ±Infinity in a[from, to), or -1. */
export function firstNonFinite(a: ArrayLike<number>, from = 0, to = a.length): number {
  for (let i = from; i < to; i++) {
    const v = a[i]!;
    if (v - v !== 0) return i;
  }
  return -1;
}

/** Number of NaN and ±Infinity values in a[from, to). */
export function countNonFinite(a: ArrayLike<number>, from = 0, to = a.length): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const v = a[i]!;
    if (v - v !== 0) n++;
  }
  return n;
}

/** Largest |v| in a[from, to) (NaN-free input assumed). */
export function maxMagnitude(a: ArrayLike<number>, from = 0, to = a.length): number {
  let m = 0;
  for (let i = from; i < to; i++) {
    const v = a[i]!;
    if (v > m) m = v;
    else if (-v > m) m = -v;
  }
  return m;
}

export function valueText(v: number): string {
  return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Infinity' : '-Infinity';
}

/** Where flat index `i` of one image (dims without the batch) is: "channel 0, row 10, column 12" for C×H×W. */
export function positionText(i: number, dims: readonly number[]): string {
  const idx = unravel(i, dims);
  if (dims.length === 3) return `channel ${idx[0]}, row ${idx[1]}, column ${idx[2]}`;
  if (dims.length === 1) return `feature ${idx[0]}`;
  return `[${idx.join(', ')}]`;
}

/** "mnist-test-0.png (image 0 of the batch)", or "image 3 of the batch" without a name. */
export function imageText(i: number, names?: readonly string[]): string {
  const name = names?.[i];
  return name !== undefined ? `"${name}" (image ${i} of the batch)` : `image ${i} of the batch`;
}

/**
 * Checks a batch of inputs (N × dims) before upload: throws NonFiniteError naming the input, its
 * index in the batch and the position of its first NaN or ±Infinity. Returns the indices of the
 * images with a value of magnitude ≥ HUGE (they get the per-layer check after the run).
 */
export function checkInputs(x: Float32Array, batch: number, dims: readonly number[], names?: readonly string[], first = 0): number[] {
  const per = dims.reduce((a, b) => a * b, 1);
  const huge: number[] = [];
  for (let i = 0; i < batch; i++) {
    const bad = firstNonFinite(x, i * per, (i + 1) * per);
    if (bad >= 0)
      throw new NonFiniteError(`input ${imageText(first + i, names)} holds ${valueText(x[bad]!)} at ${positionText(bad - i * per, dims)}: inputs must be finite numbers`);
    if (maxMagnitude(x, i * per, (i + 1) * per) >= HUGE) huge.push(i);
  }
  return huge;
}

/**
 * Checks every parameter of a graph once: throws NonFiniteError naming the layer and the parameter
 * that holds a NaN or ±Infinity. Returns the largest parameter magnitude.
 */
export function checkParams(g: Graph): number {
  const users = new Map<string, Node>();
  for (const n of g.nodes)
    for (const v of Object.values(n.attrs as Record<string, unknown>)) if (typeof v === 'string' && g.params.has(v) && !users.has(v)) users.set(v, n);
  let m = 0;
  for (const [name, p] of g.params) {
    const bad = firstNonFinite(p.data);
    if (bad >= 0) {
      const n = users.get(name);
      const where = n ? `layer "${n.name}" (${n.op}): parameter "${name}"` : `parameter "${name}"`;
      const at = p.dims.length > 1 ? `[${unravel(bad, p.dims).join(', ')}]` : `index ${bad}`;
      throw new NonFiniteError(`${g.name}: ${where} holds ${valueText(p.data[bad]!)} at ${at}: a model's weights must be finite numbers`);
    }
    m = Math.max(m, maxMagnitude(p.data));
  }
  return m;
}

function unravel(i: number, dims: readonly number[]): number[] {
  const idx: number[] = [];
  for (let k = dims.length - 1; k >= 0; k--) {
    const d = Math.max(1, dims[k]!);
    idx.unshift(i % d);
    i = Math.floor(i / d);
  }
  return idx;
}

/**
 * The error for values read back (`read`, batch first) that hold NaN or ±Infinity for image `image`
 * (`what` says which image): the first such value, named by the layer that gives it, and how many.
 */
export function outputError(read: Map<string, Tensor>, image: number, what: string, layerOf: (value: string) => Node | undefined): NonFiniteError {
  for (const [v, t] of read) {
    const per = t.data.length / Math.max(1, t.shape[0] ?? 1);
    const count = countNonFinite(t.data, image * per, (image + 1) * per);
    if (count === 0) continue;
    const node = layerOf(v);
    return new NonFiniteError(`${node ? `layer "${node.name}" (${node.op})` : `value "${v}"`} gives non-finite values for ${what}: ${count} of ${per} outputs are NaN or ±Infinity`);
  }
  return new NonFiniteError(`non-finite values for ${what}`);
}

/** The first image (of `batch`) for which any of the tensors holds a non-finite value, or -1. */
export function firstBadImage(tensors: Iterable<Tensor>, batch: number): number {
  let best = -1;
  for (const t of tensors) {
    const bad = firstNonFinite(t.data);
    if (bad < 0) continue;
    const img = Math.floor(bad / Math.max(1, t.data.length / batch));
    if (best < 0 || img < best) best = img;
  }
  return best;
}

/** Where the per-layer check found the first non-finite values of one image. */
export interface NonFiniteSite {
  node: Node;
  value: string;
  /** non-finite values of that layer's output, of `total` */
  count: number;
  total: number;
  /** the first of them and where it is */
  example: number;
  position: string;
}

/** The one-line error for a layer that gives non-finite values. */
export function layerError(site: NonFiniteSite, image: string, inputMagnitude?: number): NonFiniteError {
  const why = inputMagnitude !== undefined && inputMagnitude >= HUGE ? `float32 overflow: the input's largest magnitude is ${inputMagnitude.toExponential(1)}` : 'float32 overflow or an undefined operation';
  return new NonFiniteError(
    `layer "${site.node.name}" (${site.node.op}) is the first to give non-finite values for ${image}: ${site.count} of ${site.total} outputs are NaN or ±Infinity (${valueText(site.example)} at ${site.position}; ${why})`,
  );
}
