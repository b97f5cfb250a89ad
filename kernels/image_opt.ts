// Specs of the image-optimisation kernels (activation maximisation and network inversion).
import { spec, r, rw } from './spec.ts';

const wg = { overrides: { WG: 64 } };
export const imageRegGrad = spec({
  name: 'image_reg_grad',
  uniforms: [['total', 'u32'], ['h', 'u32'], ['w', 'u32'], ['lambdaA', 'f32'], ['alpha', 'f32'], ['lambdaTv', 'f32'], ['beta', 'f32'], ['eps', 'f32'], ['c', 'u32', 'NORMALISED'], ['n', 'u32', 'NORMALISED']],
  bindings: [r('x'), r('r'), r('gscale', { when: 'NORMALISED' }), r('ranges', { when: 'NORMALISED' }), rw('d')], // r: the reverse signal
  variants: ['NORMALISED'],
  ...wg,
});
export const imageScale = spec({ name: 'image_scale', uniforms: [['n', 'u32']], bindings: [r('x'), rw('y')], ...wg });
export const imageAdam = spec({ name: 'image_adam', uniforms: [['total', 'u32']], bindings: [r('d'), r('state', { type: 'array<f32, 8>' }), rw('m'), rw('v'), rw('x')], variants: ['SGD'], ...wg });
export const roll2d = spec({ name: 'roll2d', uniforms: [['total', 'u32'], ['h', 'u32'], ['w', 'u32']], bindings: [r('x'), r('offsets', { type: 'array<i32, 2>' }), rw('y')], variants: ['INVERSE'], ...wg });
export const blur2d = spec({ name: 'blur2d', uniforms: [['total', 'u32'], ['h', 'u32'], ['w', 'u32'], ['sigma', 'f32']], bindings: [r('x'), rw('y')], variants: ['VERTICAL'], ...wg });
export const pixelClip = spec({ name: 'pixel_clip', uniforms: [['n', 'u32'], ['c', 'u32'], ['hw', 'u32'], ['theta', 'f32']], bindings: [rw('x'), r('r'), rw('maxes')], variants: ['MAX', 'CONTRIB'], ...wg });
export const scaledDiff = spec({ name: 'scaled_diff', uniforms: [['total', 'u32'], ['k', 'f32']], bindings: [r('a'), r('b'), rw('y')], ...wg });

// The Fourier image parameterisation (explainers/optimize.ts: MaxOut's default) and its
// transformation robustness, the per-image objective seed, and a conv reduced to each image's one
// target channel.
const c2 = { type: 'array<vec2f>' } as const;
export const fftLines = spec({
  name: 'fft_lines',
  uniforms: [['logn', 'u32'], ['lines', 'u32'], ['lpw', 'u32'], ['inner', 'u32'], ['tws', 'u32'], ['sign', 'f32'], ['mul', 'f32']],
  bindings: [r('x', c2), r('tw', c2), rw('y', c2)],
  ...wg,
});
export const spectrumPack = spec({
  name: 'spectrum_pack',
  uniforms: [['total', 'u32'], ['sy', 'u32'], ['sx', 'u32'], ['planes', 'u32', '!UNPACK']],
  bindings: [r('x', c2), r('scale'), rw('y', c2)],
  variants: ['UNPACK'],
  ...wg,
});
export const spectrumImage = spec({
  name: 'spectrum_image',
  uniforms: [['total', 'u32'], ['c', 'u32'], ['plane', 'u32'], ['k', 'f32']],
  bindings: [r('s'), r('mix', { when: 'MIX3' }), r('ranges'), r('g', { when: 'BACKWARD' }), rw('y')],
  variants: ['MIX3', 'BACKWARD'],
  ...wg,
});
export const affineSample = spec({
  name: 'affine_sample',
  uniforms: [['total', 'u32'], ['c', 'u32'], ['h', 'u32'], ['w', 'u32'], ['sy', 'u32'], ['sx', 'u32']],
  bindings: [r('x'), r('tf', { type: 'array<f32, 14>' }), rw('y')],
  variants: ['ADJOINT'],
  ...wg,
});
export const spectrumGain = spec({ name: 'spectrum_gain', uniforms: [['total', 'u32'], ['sy', 'u32'], ['sx', 'u32'], ['sigma', 'f32']], bindings: [rw('x', c2)], ...wg });
export const maxoutSeed = spec({
  name: 'maxout_seed',
  uniforms: [['total', 'u32'], ['l', 'u32'], ['hw', 'u32'], ['leak', 'f32']],
  bindings: [r('a'), r('goal', { type: 'array<i32>' }), rw('y')],
  ...wg,
});
export const logoddsSeed = spec({
  name: 'logodds_seed',
  uniforms: [['total', 'u32'], ['l', 'u32']],
  bindings: [r('a'), r('goal', { type: 'array<i32>' }), rw('y')],
  ...wg,
});
export const convSelect = spec({
  name: 'conv_select',
  uniforms: [
    ['total', 'u32'], ['c', 'u32'], ['h', 'u32'], ['w', 'u32'], ['oh', 'u32'], ['ow', 'u32'], ['kh', 'u32'], ['kw', 'u32'],
    ['sh', 'u32'], ['sw', 'u32'], ['pt', 'u32'], ['pl', 'u32'], ['dh', 'u32'], ['dw', 'u32'], ['cpg', 'u32'], ['opg', 'u32'],
  ],
  bindings: [r('x'), r('wt'), r('bias', { when: 'HAS_BIAS&!BACKWARD' }), r('goal', { type: 'array<i32>' }), rw('y')],
  variants: ['HAS_BIAS', 'BACKWARD'],
  ...wg,
});
