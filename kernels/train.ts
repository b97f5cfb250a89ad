// Specs of the training kernels (engine/train.ts), as in index.ts: uniforms are 4-byte scalars in
// declaration order at binding 0, storage at 1..n.
import { spec, r, rw } from './spec.ts';

/** Adam (default) or, with SGD, SGD with momentum; in place over one parameter tensor. */
export const adam = spec({
  name: 'adam',
  uniforms: [['total', 'u32']],
  bindings: [r('hp'), r('g'), rw('p'), rw('m'), rw('v', { when: '!SGD' })], // hyper [4], grad, param, m, v (Adam only)
  variants: ['SGD'],
  overrides: { WG: 64 },
});

/** dW of a group-1 conv as a 4×4 register-tiled GEMM with the images split `splits` ways; REDUCE sums the splits. */
export const convWeightGradTiled = spec({
  name: 'conv_weight_grad_tiled',
  uniforms: [['cout', 'u32'], ['rtot', 'u32'], ['nimg', 'u32'], ['cin', 'u32'], ['h', 'u32'], ['w', 'u32'], ['oh', 'u32'], ['ow', 'u32'],
    ['kh', 'u32'], ['kw', 'u32'], ['sh', 'u32'], ['sw', 'u32'], ['pt', 'i32'], ['pl', 'i32'], ['dh', 'u32'], ['dw', 'u32'],
    ['tilesM', 'u32'], ['tilesN', 'u32'], ['nPer', 'u32'], ['total', 'u32'], ['splits', 'u32']],
  bindings: [r('part', { when: 'REDUCE' }), rw('dwOut', { when: 'REDUCE' }), r('x', { when: '!REDUCE' }), r('dy', { when: '!REDUCE' }), rw('part', { when: '!REDUCE' })],
  variants: ['REDUCE'],
  overrides: { WG: 64 },
});



// ---- the training losses (engine/ops/loss.ts) ---------------------------------------------

/** Softmax cross-entropy per image of logits [n, k] against labels t (f32 class indices). */
export const softmaxCrossEntropy = spec({ name: 'softmax_cross_entropy', uniforms: [['n', 'u32'], ['k', 'u32']], bindings: [r('x'), r('t'), rw('y')], overrides: { WG: 64 } });
/** Its input gradient, (softmax − onehot) · dy[n]. */
export const softmaxCrossEntropyBackward = spec({
  name: 'softmax_cross_entropy_backward', uniforms: [['n', 'u32'], ['k', 'u32']], bindings: [r('x'), r('t'), r('dy'), rw('dx')], overrides: { WG: 64 },
});
/** Mean squared error per image over its m values; one workgroup per image (WG a power of two: tree reduction). */
export const mse = spec({ name: 'mse', uniforms: [['n', 'u32'], ['m', 'u32']], bindings: [r('x'), r('t'), rw('y')], overrides: { WG: 64 } });
/** Its input gradient, 2(x − t)/m · dy[n]. */
export const mseBackward = spec({ name: 'mse_backward', uniforms: [['total', 'u32'], ['m', 'u32']], bindings: [r('x'), r('t'), r('dy'), rw('dx')], overrides: { WG: 64 } });
