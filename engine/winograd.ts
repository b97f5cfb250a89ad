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
// maps): the forward plan, the reverse walk, LRP and region mode hand out scratch from their arenas
// and release it after the node; `scratchBytes` is what Model.maxBatch / maxRecordBatch count for it.
// Where either would exceed one storage binding, or no scratch is offered, the conv stays on
// conv2d_gemm.
//
// Region mode (engine/region.ts: PDA's and occlusion's incremental inference) runs the REGION
// variants of both transforms: the tiles cover each image's output rectangle (P = batch ×
// ⌈rh/2⌉·⌈rw/2⌉), the input transform reads a pixel from the image's input rectangle where it
// covers it, else from the clean prefix, and the output transform writes the rectangles (or a
// concat's channel slice of them); the GEMM between is the same grouped pointwise conv2d_gemm.
//
// The reverse input gradient of a stride-1 conv is itself a stride-1 conv with flipped, transposed
// filters (engine/conv.ts, convInputGrad), so it takes the same route when its shape qualifies; its
// U derives from the flipped filters, which derive from the weights, so both follow training.
//
// Selection (Engine.convAlgorithm, env LOUPE_CONV in the CLI): 'gemm' never, 'winograd' every conv
// it applies to (group 1, 3×3, stride 1, dilation 1, at least GEMM.minCoutPerGroup output
// channels), 'auto' only where `autoPrefersWinograd` says so: on lavapipe, Cin ≥ 128 and Cout ≥ 256
// (see there for the measurements). The GEMM runs with fewer invocations per workgroup when the
// batch's tiles are few (conv2d_gemm's default width, geometry.ts's fillingWg): 49 tiles of a 14×14
// map at batch 1 would otherwise leave 80 % of a 256-column block empty, and Winograd lost to the
// direct GEMM there.

import type { Dispatch, Engine } from './gpu.ts';
import type { ConvAttrs } from './ir.ts';
import type { LowerContext, RegionIO } from './ops/types.ts';
import * as K from '../kernels/index.ts';
import { tunedChoice } from './tune.ts';

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

/** The adapter the 'auto' rule was measured on: Mesa's llvmpipe (lavapipe), the CPU Vulkan this project runs on. */
export function measuredAdapter(e: Engine): boolean {
  return /llvmpipe|lavapipe/i.test(e.adapterInfo);
}

/**
 * 'auto': Winograd where it was measured faster than the direct route, i.e. on lavapipe for Cin ≥ 128
 * and Cout ≥ 256; everywhere else (other adapters: not measured; fewer channels: the 16 products have
 * too short a K, or too few columns of output, to pay for 4× the GEMM's outputs and the transforms) the
 * direct route, conv2d_rows. Measured with timestamp queries on a shared 2-core machine (`loupe bench
 * --only kernels`), time of the three Winograd dispatches against conv2d_rows's one, 2026-12:
 * SqueezeNet v1.0's fire expand 3×3 at batch 16, 16→64 to 64→256: 0.67–0.93× (slower; one run of
 * 48→192 1.20×); VGG-19 at batch 1: 3→64 0.31×, 64→64 @224 and 64→128 @112 0.98–0.99×, 128→128 @112
 * 1.06×, 128→256 and 256→256 @56 1.16–1.48×, 256→512 and 512→512 @28 1.54–1.96×, 512→512 @14
 * 1.46–1.68×; AlexNet 256→384 @12 1.0–1.9×. (Against conv2d_gemm's tap loop, before conv2d_rows took
 * these convs, Winograd had won from Cin ≥ 32 and Cout ≥ 64.)
 */
export function autoPrefersWinograd(e: Engine, cin: number, cout: number): boolean {
  return measuredAdapter(e) && cin >= 128 && cout >= 256;
}

/**
 * The setting and the shape rule alone, without the binding limit (batch-independent; useWinograd
 * adds the limit at the plan's batch). Under 'auto', a tuning of the conv's shape class (engine/tune.ts; its classes count pixels per
 * image, so this stays batch-independent) replaces the measured rule.
 */
function winogradChosen(e: Engine, a: ConvAttrs, x: number[], y: number[]): boolean {
  const alg = e.convAlgorithm;
  if (alg === 'gemm' || !winogradApplies(a, y)) return false;
  if (alg === 'winograd') return true;
  const t = tunedChoice(e, a, x, y);
  return t ? t.algorithm === 'winograd' : autoPrefersWinograd(e, x[1]!, y[1]!);
}

/** Whether V and M of this conv each fit one storage binding (else it runs GEMM). */
function fitsOneBinding(e: Engine, x: number[], y: number[]): boolean {
  const s = winogradScratch(x, y);
  return Math.max(s.v, s.m) <= e.maxBindingBytes;
}

/** The untuned 'auto' lowering's choice: the measured rule, where V and M fit (engine/tune.ts's default candidate). */
export function autoWinograd(e: Engine, a: ConvAttrs, x: number[], y: number[]): boolean {
  return winogradApplies(a, y) && autoPrefersWinograd(e, x[1]!, y[1]!) && fitsOneBinding(e, x, y);
}

/**
 * Whether `lowerConv` takes Winograd for this conv on `e` (setting, shape, binding limits); `scratch` must be offered.
 * The conv op's scratchBytes asks this too, so a plan's shared scratch is sized only by the convs that
 * take Winograd at its batch (not by one whose V or M would exceed a binding and so runs GEMM).
 */
export function useWinograd(e: Engine, a: ConvAttrs, x: number[], y: number[]): boolean {
  return winogradChosen(e, a, x, y) && fitsOneBinding(e, x, y);
}

/** U = G g Gᵀ as conv2d_gemm's grouped weight panel [16][cin][coPad], coPad = cout rounded up to `tm`. */
export function winogradWeights(ctx: LowerContext, a: ConvAttrs, cin: number, cout: number, tm: number): GPUBuffer {
  const coPad = Math.ceil(cout / tm) * tm;
  const total = cin * coPad;
  return ctx.derivedGpu(`wino${tm}:${a.weight}`, 16 * total, (wt) => [
    ctx.engine.makeDispatch(K.winogradWeights, { uniforms: { total, cin, cout, coPad }, bindings: { w: ctx.param(a.weight), wt }, threads: total, label: `winograd-weights:${a.weight}` }),
  ]);
}

/** The shape whose map the tiles cover: y's, or in region mode (engine/region.ts) the output rectangle's. */
export function winogradTarget(y: number[], region?: RegionIO): number[] {
  return region ? [y[0]!, y[1]!, region.rhOut, region.rwOut] : y;
}

/** The input transform: x [N, Cin, H, W] → v [16][Cin][N·tiles]; in region mode the tiles of each image's output rectangle. */
export function winogradInput(e: Engine, a: ConvAttrs, x: number[], y: number[], xb: GPUBuffer, v: GPUBuffer, label: string, region?: RegionIO): Dispatch {
  const { tw, tiles } = winogradTiles(winogradTarget(y, region));
  const npix = y[0]! * tiles;
  const total = x[1]! * npix;
  return e.makeDispatch(K.winogradInput, {
    defines: region ? ['REGION'] : [],
    uniforms: {
      total, npix, cin: x[1]!, h: x[2]!, w: x[3]!, tw, tiles, pt: a.pads[0], pl: a.pads[1],
      ...(region ? { rhIn: region.rhIn, rwIn: region.rwIn, rbIn: region.rbIn, orgIn: region.orgIn, orgOut: region.orgOut } : {}),
    },
    bindings: { x: xb, v, org: region?.org }, threads: total, label,
  });
}

/** The output transform: m [16][Cout][N·tiles] → y [N, Cout, OH, OW] (region mode: the output rectangles), + bias, optional ReLU. */
export function winogradOutput(ctx: LowerContext, a: ConvAttrs, y: number[], m: GPUBuffer, yb: GPUBuffer, relu: boolean, label: string, region?: RegionIO): Dispatch {
  const t = winogradTarget(y, region);
  const { tw, tiles } = winogradTiles(t);
  const npix = y[0]! * tiles;
  const total = y[1]! * npix;
  return ctx.engine.makeDispatch(K.winogradOutput, {
    defines: [...(a.bias ? ['HAS_BIAS'] : []), ...(relu ? ['RELU'] : []), ...(region ? ['REGION'] : [])],
    uniforms: { total, npix, cout: y[1]!, oh: t[2]!, ow: t[3]!, tw, tiles, ...(region ? { cy: region.yChannels ?? y[1]!, rbOut: region.rbOut } : {}) },
    bindings: { m, bias: a.bias ? ctx.param(a.bias) : undefined, y: yb }, threads: total, label,
  });
}
