// Specs of the roofline kernels (kernels/roofline_*.wgsl): the compute and memory ceilings that
// engine/roofline.ts measures for `loupe bench`. Neither touches a model.
import { spec, r, rw } from './spec.ts';

/** out[i]: the sum of invocation i's 16 vec4 chains of `iterations` fused multiply-adds a ← a·mul + add. */
export const rooflineFma = spec({
  name: 'roofline_fma',
  uniforms: [['total', 'u32'], ['iterations', 'u32'], ['mul', 'f32'], ['add', 'f32']],
  bindings: [rw('out')],
  overrides: { WG: 256 },
});

/** out[i]: the sum of invocation i's 4 × iterations loads src[(i + k·step + c·spread) & mask]. */
export const rooflineLoad = spec({
  name: 'roofline_load',
  uniforms: [['total', 'u32'], ['iterations', 'u32'], ['step', 'u32'], ['spread', 'u32'], ['mask', 'u32']],
  bindings: [r('src'), rw('out')],
  overrides: { WG: 256 },
});

/** dst[i] = src[i], vec4 by vec4, for i < total. */
export const rooflineCopy = spec({
  name: 'roofline_copy',
  uniforms: [['total', 'u32']],
  bindings: [r('src', { type: 'array<vec4f>' }), rw('dst', { type: 'array<vec4f>' })],
  overrides: { WG: 256 },
});
