// Specs of the prediction difference analysis kernels (kernels/pda_*.wgsl; explainers/pda.ts).
// Every one reads a small storage buffer of per-batch values { first window, windows, seed, 0 }
// (written with queue.writeBuffer), so a batch shape's dispatches are built once and reused.
import { spec, r, rw } from './spec.ts';

const params = r('p', { type: 'Params' }); // struct Params { first, nw, seed, unused } (declared in each .wgsl)

export const pdaCondMean = spec({
  name: 'pda_condmean',
  uniforms: [['total', 'u32'], ['h', 'u32'], ['w', 'u32'], ['k', 'u32'], ['pad', 'u32'], ['stride', 'u32'], ['cols', 'u32'], ['dw', 'u32'], ['dO', 'u32']],
  bindings: [params, r('x'), r('a'), r('b'), r('oIndex', { type: 'array<u32>' }), rw('mu')], // clean x [C,H,W], A [q][dw][dO], b [q][dw], oIndex [q][dO], mu [nw][dw]
  overrides: { WG: 64 },
});

export const pdaDrawConditional = spec({
  name: 'pda_draw_conditional',
  uniforms: [['total', 'u32'], ['h', 'u32'], ['w', 'u32'], ['k', 'u32'], ['pad', 'u32'], ['stride', 'u32'], ['cols', 'u32'], ['dw', 'u32'], ['samples', 'u32'], ['base', 'u32']],
  bindings: [params, r('mu'), r('lf'), rw('out')], // mu [nw][dw], L [q][dw][dw], samples [nw·S][dw] from float `base`
  overrides: { WG: 64 },
});

export const pdaDrawMarginal = spec({
  name: 'pda_draw_marginal',
  uniforms: [['total', 'u32'], ['h', 'u32'], ['w', 'u32'], ['k', 'u32'], ['stride', 'u32'], ['cols', 'u32'], ['dw', 'u32'], ['samples', 'u32'], ['count', 'u32'], ['base', 'u32']],
  bindings: [params, r('store'), rw('out')], // store [M][C][H][W], samples [nw·S][dw] from float `base`
  overrides: { WG: 64 },
});

export const pdaSubstitute = spec({
  name: 'pda_substitute',
  uniforms: [['total', 'u32'], ['c', 'u32'], ['h', 'u32'], ['w', 'u32'], ['k', 'u32'], ['stride', 'u32'], ['cols', 'u32'], ['dw', 'u32'], ['samples', 'u32']],
  bindings: [params, r('x'), r('sample'), rw('y')], // clean x [C,H,W], samples [n][dw], batch [n][C][H][W]
  overrides: { WG: 64 },
});
