// Winograd F(2×2, 3×3) for stride-1 3×3 convolutions (Lavin & Gray 2016): each 2×2 block of
// outputs of each (image, output channel) comes from a 4×4 input patch through
//   Y = Aᵀ [ Σ_ci (G g Gᵀ) ⊙ (Bᵀ d B) ] A,
// 16 multiplies per (co, ci, tile) instead of the direct conv's 36: 2.25× fewer. Four dispatches:
//  1. weights (kernels/winograd_weights.wgsl): U = G g Gᵀ, 4×4 per (co, ci), derived on the GPU
//     once per model under `ctx.derivedGpu` (so Model.refreshDerived rebuilds it after training),
//     laid out U[ξ][ci][coPad] (ξ = the 16 positions of the 4×4 matrix);
//  2. input (winograd_input.wgsl): V = Bᵀ d B per (image, ci, 2×2 output tile), the 4×4 patch at
//     (2ty − pt, 2tx − pl), zero outside the map; written V[ξ][ci][p], p = image·tiles + tile;
//  3. the 16 independent GEMMs M[ξ] = U[ξ]·V[ξ] (Cout × Cin times Cin × P) as ONE grouped pointwise
//     conv2d_gemm: group = ξ, 16·Cin input channels, 16·Cout output channels, an "image" of
//     1 × P pixels. The layouts above are exactly what that kernel reads (x [1][16·Cin][P], its
//     weight panel wt[g][ci][coPad], y [1][16·Cout][P]), so the tuned GEMM and its SUBGROUPS
//     variant do the multiplies unchanged;
//  4. output (winograd_output.wgsl): Y = Aᵀ M A per tile, + bias, fused ReLU, written NCHW with the
//     odd last row/column cropped.
// V and M are scratch buffers of 16·Cin·P and 16·Cout·P floats (about 4× the conv's input and output
// maps): the forward plan, the reverse walk and LRP hand out scratch from their arenas and release it
// after the node; `scratchBytes` is what Model.maxBatch / maxRecordBatch count for it. Where either
// would exceed one storage binding, or no scratch is offered (region mode runs conv2d_gemm's REGION
// variant, never this), the conv stays on conv2d_gemm.
//
// The reverse input gradient of a stride-1 conv is itself a stride-1 conv with flipped, transposed
// filters (engine/conv.ts, convInputGrad), so it takes the same route when its shape qualifies; its
// U derives from the flipped filters, which derive from the weights, so both follow training.
//
// Selection (Engine.convAlgorithm, env LOUPE_CONV in the CLI): 'gemm' never, 'winograd' every conv
// it applies to (group 1, 3×3, stride 1, dilation 1, at least GEMM.minCoutPerGroup output
// channels), 'auto' only where `autoPrefersWinograd` says so: see there for the measured rule.

import type { Dispatch, Engine } from './gpu.ts';
import type { ConvAttrs } from './ir.ts';
import type { LowerContext } from './ops/types.ts';
import * as K from '../kernels/index.ts';

/** Where a lowering gets a scratch buffer that lives until its dispatches have run (released after the node). */
export type Scratch = (bytes: number, label: string) => GPUBuffer;

/** Output channels below which the conv is not a GEMM candidate at all (engine/conv.ts GEMM.minCoutPerGroup). */
const MIN_COUT = 4;

/** Whether Winograd F(2×2, 3×3) computes this conv: group 1, 3×3, stride 1, dilation 1, a GEMM-wide output. */
export function winogradApplies(a: ConvAttrs, y: number[]): boolean {
  return a.group === 1 && a.kernel[0] === 3 && a.kernel[1] === 3 && a.stride[0] === 1 && a.stride[1] === 1 && a.dilation[0] === 1 && a.dilation[1] === 1 && y[1]! >= MIN_COUT;
}

/** The 2×2 output tiles of one image: across, and in all. */
export function winogradTiles(y: number[]): { tw: number; tiles: number } {
  const tw = Math.ceil(y[3]! / 2);
  return { tw, tiles: Math.ceil(y[2]! / 2) * tw };
}

/** Bytes of the V and M scratch buffers for shapes x, y (batch included). */
export function winogradScratch(x: number[], y: number[]): { v: number; m: number } {
  const p = y[0]! * winogradTiles(y).tiles;
  return { v: 16 * x[1]! * p * 4, m: 16 * y[1]! * p * 4 };
}

/**
 * 'auto': Winograd where it was measured faster than conv2d_gemm on lavapipe (the CPU Vulkan this
 * project runs on). Measured with `loupe bench --only kernels` (timestamp queries, the sum of the
 * three Winograd dispatches against the one GEMM dispatch of the same layer).
 */
export function autoPrefersWinograd(_cin: number, _cout: number, _oh: number, _ow: number): boolean {
  return false;
}

/** Whether `lowerConv` takes Winograd for this conv on `e` (setting, shape, binding limits); `scratch` must be offered. */
export function useWinograd(e: Engine, a: ConvAttrs, x: number[], y: number[]): boolean {
  const alg = e.convAlgorithm;
  if (alg === 'gemm' || !winogradApplies(a, y)) return false;
  if (alg === 'auto' && !autoPrefersWinograd(x[1]!, y[1]!, y[2]!, y[3]!)) return false;
  const s = winogradScratch(x, y);
  return Math.max(s.v, s.m) <= e.maxBindingBytes;
}

/** U = G g Gᵀ as conv2d_gemm's grouped weight panel [16][cin][coPad], coPad = cout rounded up to `tm`. */
export function winogradWeights(ctx: LowerContext, a: ConvAttrs, cin: number, cout: number, tm: number): GPUBuffer {
  const coPad = Math.ceil(cout / tm) * tm;
  const total = cin * coPad;
  return ctx.derivedGpu(`wino${tm}:${a.weight}`, 16 * total, (wt) => [
    ctx.engine.makeDispatch(K.winogradWeights, { uniforms: { total, cin, cout, coPad }, bindings: { w: ctx.param(a.weight), wt }, threads: total, label: `winograd-weights:${a.weight}` }),
  ]);
}

/** The input transform: x [N, Cin, H, W] → v [16][Cin][N·tiles]. */
export function winogradInput(e: Engine, a: ConvAttrs, x: number[], y: number[], xb: GPUBuffer, v: GPUBuffer, label: string): Dispatch {
  const { tw, tiles } = winogradTiles(y);
  const npix = y[0]! * tiles;
  const total = x[1]! * npix;
  return e.makeDispatch(K.winogradInput, {
    uniforms: { total, npix, cin: x[1]!, h: x[2]!, w: x[3]!, tw, tiles, pt: a.pads[0], pl: a.pads[1] },
    bindings: { x: xb, v }, threads: total, label,
  });
}

/** The output transform: m [16][Cout][N·tiles] → y [N, Cout, OH, OW], + bias, optional ReLU. */
export function winogradOutput(ctx: LowerContext, a: ConvAttrs, y: number[], m: GPUBuffer, yb: GPUBuffer, relu: boolean, label: string): Dispatch {
  const { tw, tiles } = winogradTiles(y);
  const npix = y[0]! * tiles;
  const total = y[1]! * npix;
  return ctx.engine.makeDispatch(K.winogradOutput, {
    defines: [...(a.bias ? ['HAS_BIAS'] : []), ...(relu ? ['RELU'] : [])],
    uniforms: { total, npix, cout: y[1]!, oh: y[2]!, ow: y[3]!, tw, tiles },
    bindings: { m, bias: a.bias ? ctx.param(a.bias) : undefined, y: yb }, threads: total, label,
  });
}
