// Specs of the image-optimisation kernels (activation maximisation and network inversion).
import { spec } from './spec.ts';

const wg = { overrides: { WG: 64 } };
export const imageRegGrad = spec({
  name: 'image_reg_grad',
  uniforms: [['total', 'u32'], ['h', 'u32'], ['w', 'u32'], ['lambdaA', 'f32'], ['alpha', 'f32'], ['lambdaTv', 'f32'], ['beta', 'f32'], ['eps', 'f32']],
  storage: ['r', 'r', 'w'], // x, r (reverse signal), d
  ...wg,
});
export const imageAdam = spec({ name: 'image_adam', uniforms: [['total', 'u32']], storage: ['r', 'r', 'w', 'w', 'w'], variants: ['SGD'], ...wg }); // d, state[8], m, v, x
export const roll2d = spec({ name: 'roll2d', uniforms: [['total', 'u32'], ['h', 'u32'], ['w', 'u32']], storage: ['r', 'r', 'w'], variants: ['INVERSE'], ...wg });
export const blur2d = spec({ name: 'blur2d', uniforms: [['total', 'u32'], ['h', 'u32'], ['w', 'u32'], ['sigma', 'f32']], storage: ['r', 'w'], variants: ['VERTICAL'], ...wg });
export const pixelClip = spec({ name: 'pixel_clip', uniforms: [['n', 'u32'], ['c', 'u32'], ['hw', 'u32'], ['theta', 'f32']], storage: ['w', 'r', 'w'], variants: ['MAX', 'CONTRIB'], ...wg });
export const scaledDiff = spec({ name: 'scaled_diff', uniforms: [['total', 'u32'], ['k', 'f32']], storage: ['r', 'r', 'w'], ...wg });
