// Specs of the reverse-pass kernels (gradients and the DeconvNet / guided-backprop rules), as in
// index.ts: uniforms are 4-byte scalars in declaration order at binding 0, storage at 1..n.
// The conv input gradient reuses index.ts's convTranspose2d (conv weights read as the transpose's).
import { spec, r, rw } from './spec.ts';

const i32 = { type: 'array<i32>' };

const elementwise = { overrides: { WG: 64 } };

/** dW of conv2d; one workgroup per weight element (WG must be a power of two: tree reduction). */
export const conv2dWeightGrad = spec({
  name: 'conv2d_weight_grad',
  uniforms: [['total', 'u32'], ['nimg', 'u32'], ['cin', 'u32'], ['h', 'u32'], ['w', 'u32'], ['cout', 'u32'], ['oh', 'u32'], ['ow', 'u32'],
    ['kh', 'u32'], ['kw', 'u32'], ['sh', 'u32'], ['sw', 'u32'], ['pt', 'i32'], ['pl', 'i32'], ['dh', 'u32'], ['dw', 'u32'],
    ['cinPerGroup', 'u32'], ['coutPerGroup', 'u32']],
  bindings: [r('x'), r('dy'), rw('dw')],
  overrides: { WG: 64 },
});

/** db[c] = Σ_{n,p} dy[n,c,p]; one workgroup per channel. */
export const channelSum = spec({ name: 'channel_sum', uniforms: [['channels', 'u32'], ['nimg', 'u32'], ['hw', 'u32']], bindings: [r('dy'), rw('db')], overrides: { WG: 64 } });

/** Max-pool backward / unpooling by switches. */
export const unpoolSwitches = spec({
  name: 'unpool_switches',
  uniforms: [['total', 'u32'], ['h', 'u32'], ['w', 'u32'], ['oh', 'u32'], ['ow', 'u32'], ['kh', 'u32'], ['kw', 'u32'], ['sh', 'u32'],
    ['sw', 'u32'], ['pt', 'i32'], ['pl', 'i32']],
  bindings: [r('dy'), r('switches', i32), rw('dx')],
  ...elementwise,
});

/** ReLU reverse rules: default gradient (dy·mask), GUIDED, DECONV (no mask binding), LEAKY (binding 2 = x); FROM_X: binding 2 = x. */
export const reluBackward = spec({
  name: 'relu_backward',
  uniforms: [['total', 'u32'], ['alpha', 'f32']],
  bindings: [r('dy'), r('m', { when: '!DECONV' }), rw('dx')], // m: the mask, or x (LEAKY, FROM_X)
  variants: ['GUIDED', 'DECONV', 'LEAKY', 'FROM_X'],
  ...elementwise,
});

/** Clip / HardSigmoid reverse rules from the recorded pattern (u32, 1 = inside): a·dy inside; GUIDED: a·max(dy, 0) inside. */
export const clampBackward = spec({
  name: 'clamp_backward',
  uniforms: [['total', 'u32'], ['a', 'f32']],
  bindings: [r('dy'), r('pattern', { type: 'array<u32>' }), rw('dx')],
  variants: ['GUIDED'],
  ...elementwise,
});

/** Gradients of unary's ELU (v = x), sigmoid and tanh (v = y) and HardSwish (v = x), by unary's op number. */
export const unaryBackward = spec({ name: 'unary_backward', uniforms: [['total', 'u32'], ['op', 'u32'], ['alpha', 'f32']], bindings: [r('dy'), r('v'), rw('dx')], ...elementwise });

export const lrnBackward = spec({
  name: 'lrn_backward',
  uniforms: [['total', 'u32'], ['c', 'u32'], ['hw', 'u32'], ['size', 'u32'], ['alphaOverSize', 'f32'], ['beta', 'f32'], ['bias', 'f32']],
  bindings: [r('x'), r('dy'), rw('dx')],
  ...elementwise,
});

/** Concat backward: dx = channels [c0, c0+cx) of dy; ACC: dx += slice; PAD (a channel slice's backward): dx = dy in channels [c0, c0+cy), 0 elsewhere. */
export const splitChannels = spec({
  name: 'split_channels',
  uniforms: [['total', 'u32'], ['cx', 'u32', 'PAD'], ['cy', 'u32', 'PAD'], ['hw', 'u32', 'PAD'], ['c0', 'u32', 'PAD'],
    ['blk', 'u32', '!PAD'], ['ystride', 'u32', '!PAD'], ['off', 'u32', '!PAD']],
  bindings: [r('dy'), rw('dx')],
  variants: ['ACC', 'PAD'],
  ...elementwise,
});

/** FC input gradient (binding 2 = W) or, with WEIGHT, weight gradient (binding 2 = x). */
export const fcBackward = spec({
  name: 'fc_backward',
  uniforms: [['total', 'u32'], ['n', 'u32'], ['inF', 'u32'], ['outF', 'u32']],
  bindings: [r('dy'), r('b'), rw('out')], // b: W (input gradient) or x (WEIGHT); out: dx or dW
  variants: ['WEIGHT'],
  ...elementwise,
});

export const softmaxBackward = spec({
  name: 'softmax_backward',
  uniforms: [['rows', 'u32'], ['c', 'u32'], ['inner', 'u32']],
  bindings: [r('y'), r('dy'), rw('dx')],
  variants: ['LOG'],
  ...elementwise,
});

/** Same uniform layout as index.ts pool2d (ops.ts poolUniforms gives it, with total = numel(x) here). */
export const avgpoolBackward = spec({
  name: 'avgpool_backward',
  uniforms: [['total', 'u32'], ['h', 'u32'], ['w', 'u32'], ['oh', 'u32'], ['ow', 'u32'], ['kh', 'u32'], ['kw', 'u32'], ['sh', 'u32'],
    ['sw', 'u32'], ['pt', 'i32'], ['pl', 'i32'], ['hEnd', 'i32'], ['wEnd', 'i32'], ['countPad', 'u32']],
  bindings: [r('dy'), rw('dx')],
  ...elementwise,
});

export const globalAvgpoolBackward = spec({ name: 'global_avgpool_backward', uniforms: [['total', 'u32'], ['hw', 'u32']], bindings: [r('dy'), rw('dx')], ...elementwise });

export const resize2dBackward = spec({
  name: 'resize2d_backward',
  uniforms: [['total', 'u32'], ['h', 'u32'], ['w', 'u32'], ['oh', 'u32'], ['ow', 'u32'], ['alignCorners', 'u32']],
  bindings: [r('dy'), rw('dx')],
  ...elementwise,
});

export const col2im = spec({
  name: 'col2im',
  uniforms: [['total', 'u32'], ['c', 'u32'], ['h', 'u32'], ['w', 'u32'], ['oh', 'u32'], ['ow', 'u32'], ['kh', 'u32'], ['kw', 'u32'],
    ['sh', 'u32'], ['sw', 'u32'], ['pt', 'i32'], ['pl', 'i32'], ['dh', 'u32'], ['dw', 'u32']],
  bindings: [r('cols'), rw('dx')], // cols [N, C·KH·KW, OH, OW], dx [N, C, H, W]
  overrides: { WG: 64 },
});

/** Conv weights re-arranged for the input gradient: transposed and flipped (default), or as the column GEMM's (COLS). */
export const flipWeights = spec({ name: 'flip_weights', uniforms: [['total', 'u32'], ['coPg', 'u32'], ['ciPg', 'u32'], ['kh', 'u32'], ['kw', 'u32']], bindings: [r('w'), rw('wt')], variants: ['COLS'], overrides: { WG: 64 } });

/** Layer-wise Relevance Propagation's elementwise steps (lrp.wgsl: the product, its ACC, DIVIDE, AXPY, POS and NEG variants). */
export const lrp = spec({
  name: 'lrp',
  uniforms: [['total', 'u32'], ['c', 'f32'], ['eps', 'f32']],
  bindings: [r('a'), r('b', { when: '!AXPY&!POS&!NEG' }), rw('y')],
  variants: ['ACC', 'DIVIDE', 'AXPY', 'POS', 'NEG'],
  ...elementwise,
});
