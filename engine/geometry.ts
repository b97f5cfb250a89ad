// Sizes and kernel arguments of windowed ops (conv, pooling): leaf helpers the op table and the
// kernels' dispatch builders share.
import type { PoolAttrs } from './ir.ts';

export const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Output size of a conv along one axis. */
export function convOut(size: number, k: number, s: number, p0: number, p1: number, d: number): number {
  return Math.floor((size + p0 + p1 - d * (k - 1) - 1) / s) + 1;
}

/**
 * Output size of a pool along one axis. Floor mode is ONNX's default. Ceil mode (Caffe, ONNX
 * ceil_mode=1) rounds up but drops a last window that would start in the padding past the input
 * (Caffe's `if ((out-1)*stride >= size + pad) --out`; PyTorch does the same).
 */
export function poolOut(size: number, k: number, s: number, p0: number, p1: number, ceil: boolean): number {
  if (!ceil) return Math.floor((size + p0 + p1 - k) / s) + 1;
  let out = Math.ceil((size + p0 + p1 - k) / s) + 1;
  if ((out - 1) * s >= size + p0) out--;
  return out;
}

export function poolShape(a: PoolAttrs, x: number[]): number[] {
  const [n, c, h, w] = x as [number, number, number, number];
  return [n, c, poolOut(h, a.kernel[0], a.stride[0], a.pads[0], a.pads[2], a.ceil), poolOut(w, a.kernel[1], a.stride[1], a.pads[1], a.pads[3], a.ceil)];
}

/** The uniforms of kernels/pool2d.wgsl (and the pool reverse kernels) for a pool of x → y. */
export function poolUniforms(a: PoolAttrs, x: number[], y: number[]) {
  const h = x[2]!, w = x[3]!;
  return {
    total: numel(y), h, w, oh: y[2]!, ow: y[3]!, kh: a.kernel[0], kw: a.kernel[1], sh: a.stride[0], sw: a.stride[1],
    pt: a.pads[0], pl: a.pads[1], hEnd: h + a.pads[2], wEnd: w + a.pads[3], countPad: a.countIncludePad ? 1 : 0,
  };
}

/**
 * Invocations per workgroup for `columns` units of work, `per` to an invocation: the largest of 64,
 * 32, 16, 8 whose workgroups are at least 85 % filled, else the one that fills them most. The GEMM
 * kernels' default: a small map at batch 1 (13 invocations' worth of a 7×7 map) would leave most of
 * a 64-wide workgroup computing clamped copies of its last column.
 */
export function fillingWg(columns: number, per: number): number {
  const fill = (wg: number) => columns / (Math.ceil(columns / (wg * per)) * wg * per);
  const sizes = [64, 32, 16, 8];
  return sizes.find((wg) => fill(wg) >= 0.85) ?? sizes.reduce((best, wg) => (fill(wg) > fill(best) ? wg : best));
}
