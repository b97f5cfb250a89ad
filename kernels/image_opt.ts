// Specs of the image-optimisation kernels (activation maximisation and network inversion).
import { spec, r, rw } from './spec.ts';

const wg = { overrides: { WG: 64 } };
export const imageRegGrad = spec({
  name: 'image_reg_grad',
  uniforms: [['total', 'u32'], ['h', 'u32'], ['w', 'u32'], ['lambdaA', 'f32'], ['alpha', 'f32'], ['lambdaTv', 'f32'], ['beta', 'f32'], ['eps', 'f32']],
  bindings: [r('x'), r('r'), rw('d')], // r: the reverse signal
  ...wg,
});
export const imageAdam = spec({ name: 'image_adam', uniforms: [['total', 'u32']], bindings: [r('d'), r('state', { type: 'array<f32, 8>' }), rw('m'), rw('v'), rw('x')], variants: ['SGD'], ...wg });
export const roll2d = spec({ name: 'roll2d', uniforms: [['total', 'u32'], ['h', 'u32'], ['w', 'u32']], bindings: [r('x'), r('offsets', { type: 'array<i32, 2>' }), rw('y')], variants: ['INVERSE'], ...wg });
export const blur2d = spec({ name: 'blur2d', uniforms: [['total', 'u32'], ['h', 'u32'], ['w', 'u32'], ['sigma', 'f32']], bindings: [r('x'), rw('y')], variants: ['VERTICAL'], ...wg });
export const pixelClip = spec({ name: 'pixel_clip', uniforms: [['n', 'u32'], ['c', 'u32'], ['hw', 'u32'], ['theta', 'f32']], bindings: [rw('x'), r('r'), rw('maxes')], variants: ['MAX', 'CONTRIB'], ...wg });
export const scaledDiff = spec({ name: 'scaled_diff', uniforms: [['total', 'u32'], ['k', 'f32']], bindings: [r('a'), r('b'), rw('y')], ...wg });
