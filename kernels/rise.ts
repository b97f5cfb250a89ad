// Specs of RISE's kernels (kernels/rise_*.wgsl; engine/rise.ts runs them, explainers/rise.ts is the
// method). The batch's mask range [first, n] travels in a small storage buffer written before each
// batch, so one batch shape's dispatches are built once and reused.
import { spec, r, rw } from './spec.ts';

const range = r('range', { type: 'array<u32, 2>' }); // [first mask, masks in the batch]

export const riseMasks = spec({
  name: 'rise_masks',
  uniforms: [['h', 'u32'], ['w', 'u32'], ['cells', 'u32'], ['cellH', 'u32'], ['cellW', 'u32'], ['upH', 'u32'], ['upW', 'u32'], ['seed', 'u32'], ['p', 'f32']],
  bindings: [range, rw('masks')], // masks [n][H][W]
  overrides: { WG: 64 },
});

export const riseApply = spec({
  name: 'rise_apply',
  uniforms: [['c', 'u32'], ['hw', 'u32']],
  bindings: [range, r('x'), r('fill'), r('masks'), rw('y')], // x, fill [C][H·W]; masks [n][H·W]; y [n][C][H·W]
  overrides: { WG: 64 },
});

export const riseAccumulate = spec({
  name: 'rise_accumulate',
  uniforms: [['n', 'u32'], ['rows', 'u32'], ['hw', 'u32']],
  bindings: [r('wts'), r('masks'), rw('map')], // wts [n][rows], masks [n][H·W], map [rows][H·W]
  overrides: { WG: 64 },
});
