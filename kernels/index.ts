// Specs of the forward kernels (see spec.ts): one entry per kernels/<name>.wgsl. The engine writes
// each kernel's `struct U` and bindings from these, so the order here is the binding order.
import { spec, r, rw } from './spec.ts';
export type { KernelSpec, UniformValue } from './spec.ts';

const elementwise = { overrides: { WG: 64 } };
const i32 = { type: 'array<i32>' };

/** The geometry uniforms every conv kernel shares (direct and transposed). */
const convUniforms = [['total', 'u32'], ['cin', 'u32'], ['h', 'u32'], ['w', 'u32'], ['cout', 'u32'], ['oh', 'u32'], ['ow', 'u32'], ['kh', 'u32'],
  ['kw', 'u32'], ['sh', 'u32'], ['sw', 'u32'], ['pt', 'i32'], ['pl', 'i32'], ['dh', 'u32'], ['dw', 'u32'], ['cinPerGroup', 'u32'], ['coutPerGroup', 'u32']] as const;

/** Region mode's rectangle uniforms (engine/region.ts), after a kernel's own. */
const regionIn = [['rhIn', 'u32', 'REGION'], ['rwIn', 'u32', 'REGION'], ['rbIn', 'u32', 'REGION'], ['orgIn', 'u32', 'REGION']] as const;

/** REGION: oh×ow is the output rectangle; cy the channels of the buffer written (a concat's), rbOut/orgOut where it sits. */
export const conv2dDirect = spec({
  name: 'conv2d_direct',
  uniforms: [...convUniforms, ...regionIn, ['cy', 'u32', 'REGION'], ['rbOut', 'u32', 'REGION'], ['orgOut', 'u32', 'REGION']],
  bindings: [r('x'), r('wt'), r('bias', { when: 'HAS_BIAS' }), rw('y'), r('org', { ...i32, when: 'REGION' })],
  variants: ['HAS_BIAS', 'RELU', 'REGION'],
  ...elementwise,
});

export const pool2d = spec({
  name: 'pool2d',
  uniforms: [['total', 'u32'], ['h', 'u32'], ['w', 'u32'], ['oh', 'u32'], ['ow', 'u32'], ['kh', 'u32'], ['kw', 'u32'], ['sh', 'u32'],
    ['sw', 'u32'], ['pt', 'i32'], ['pl', 'i32'], ['hEnd', 'i32'], ['wEnd', 'i32'], ['countPad', 'u32'],
    ['c', 'u32', 'REGION'], ...regionIn, ['rhOut', 'u32', 'REGION'], ['rwOut', 'u32', 'REGION'], ['rbOut', 'u32', 'REGION'], ['orgOut', 'u32', 'REGION']],
  bindings: [r('x'), rw('y'), rw('switches', { ...i32, when: 'SWITCHES' }), r('org', { ...i32, when: 'REGION' })],
  variants: ['MAX', 'SWITCHES', 'REGION'],
  ...elementwise,
});

export const globalPool = spec({
  name: 'global_pool',
  uniforms: [['planes', 'u32'], ['hw', 'u32'], ['c', 'u32', 'REGION'], ['w', 'u32', 'REGION'], ...regionIn],
  bindings: [r('x'), rw('y'), r('org', { ...i32, when: 'REGION' })],
  variants: ['MAX', 'REGION'],
  ...elementwise,
});
export const relu = spec({ name: 'relu', uniforms: [['total', 'u32']], bindings: [r('x'), rw('y'), rw('mask', { when: 'MASK' })], variants: ['MASK'], ...elementwise });
export const unary = spec({ name: 'unary', uniforms: [['total', 'u32'], ['op', 'u32'], ['alpha', 'f32']], bindings: [r('x'), rw('y')], ...elementwise });
export const UNARY_OP = { leakyrelu: 0, elu: 1, sigmoid: 2, tanh: 3, hardswish: 4 } as const;
/** y = clamp(a·x + b, lo, hi) (Clip, HardSigmoid); PATTERN writes the piece (u32), FROZEN replays one image's. */
export const clamp = spec({
  name: 'clamp',
  uniforms: [['total', 'u32'], ['a', 'f32'], ['b', 'f32'], ['lo', 'f32'], ['hi', 'f32'], ['per', 'u32', 'FROZEN']],
  // the pattern: written by a recording (PATTERN), read by a frozen pass (FROZEN)
  bindings: [r('x'), rw('y'), rw('pattern', { type: 'array<u32>', when: 'PATTERN' }), r('pattern', { type: 'array<u32>', when: 'FROZEN' })],
  variants: ['PATTERN', 'FROZEN'],
  ...elementwise,
});
export const channelAffine = spec({
  name: 'channel_affine',
  uniforms: [['total', 'u32'], ['hw', 'u32'], ['c', 'u32'], ['scaleMod', 'u32'], ['shiftMod', 'u32'], ['hasScale', 'u32'], ['hasShift', 'u32'], ['rbIn', 'u32', 'REGION'], ['rbOut', 'u32', 'REGION']],
  bindings: [r('x'), r('scale'), r('shift'), rw('y')],
  variants: ['PRELU', 'REGION'],
  ...elementwise,
});
export const lrn = spec({
  name: 'lrn',
  uniforms: [['total', 'u32'], ['c', 'u32'], ['hw', 'u32'], ['size', 'u32'], ['alphaOverSize', 'f32'], ['beta', 'f32'], ['bias', 'f32'], ['rbIn', 'u32', 'REGION'], ['rbOut', 'u32', 'REGION']],
  bindings: [r('x'), rw('y')],
  variants: ['REGION'],
  ...elementwise,
});
/** Use engine/ops/structure.ts copyChannels (it picks VEC4). */
export const copyChannels = spec({
  name: 'copy_channels',
  uniforms: [['total', 'u32'], ['blk', 'u32'], ['ystride', 'u32'], ['off', 'u32']],
  bindings: [r('x', { typeIf: { VEC4: 'array<vec4f>' } }), rw('y', { typeIf: { VEC4: 'array<vec4f>' } })],
  variants: ['VEC4'],
  ...elementwise,
});
/** y = a + b, y = a · b (MUL), or y += a (ACC: no b); REGION: a, b and y each in their own rectangle layout (engine/region.ts). */
const regionAB = (['A', 'B', 'Out'] as const).flatMap((k) => [[`rh${k}`, 'u32', 'REGION'], [`rw${k}`, 'u32', 'REGION'], [`rb${k}`, 'u32', 'REGION'], [`org${k}`, 'u32', 'REGION']] as const);
export const binary = spec({
  name: 'binary',
  uniforms: [['total', 'u32'], ['c', 'u32', 'REGION'], ['h', 'u32', 'REGION'], ['w', 'u32', 'REGION'], ...regionAB],
  bindings: [r('a'), r('b', { when: '!ACC' }), rw('y'), r('org', { ...i32, when: 'REGION' })],
  variants: ['MUL', 'ACC', 'REGION'],
  ...elementwise,
});
/** Six u32 uniforms p0..p5: one per axis of a strided view (rank ≤ 6; engine/ops/strided.ts fills them). */
const axes6 = (p: string) => [0, 1, 2, 3, 4, 5].map((k) => [`${p}${k}`, 'u32'] as const);
/**
 * Gathers and reductions through strided views: y[j] = scale · Σ over the reduced axes of a[…]
 * (BINARY: a[…] + b[…]; BINARY & MUL: Σ a[…] · b[…]; ACC: y += …). Transpose, broadcasting, ReduceMean.
 */
export const strided = spec({
  name: 'strided',
  uniforms: [['total', 'u32'], ['count', 'u32'], ['offset', 'u32'], ['scale', 'f32'], ...axes6('d'), ...axes6('r'), ...axes6('sa'), ...axes6('sb')],
  bindings: [r('a'), r('b', { when: 'BINARY' }), rw('y')],
  variants: ['BINARY', 'MUL', 'ACC'],
  ...elementwise,
});
export const softmax = spec({ name: 'softmax', uniforms: [['rows', 'u32'], ['c', 'u32'], ['inner', 'u32']], bindings: [r('x'), rw('y')], variants: ['LOG'], ...elementwise });
export const pad2d = spec({
  name: 'pad2d',
  uniforms: [['total', 'u32'], ['h', 'u32'], ['w', 'u32'], ['oh', 'u32'], ['ow', 'u32'], ['pt', 'i32'], ['pl', 'i32'], ['value', 'f32']],
  bindings: [r('x'), rw('y')],
  ...elementwise,
});
export const resize2d = spec({
  name: 'resize2d',
  uniforms: [['total', 'u32'], ['h', 'u32'], ['w', 'u32'], ['oh', 'u32'], ['ow', 'u32'], ['alignCorners', 'u32']],
  bindings: [r('x'), rw('y')],
  variants: ['NEAREST'],
  ...elementwise,
});
export const fc = spec({
  name: 'fc',
  uniforms: [['n', 'u32'], ['inF', 'u32'], ['outF', 'u32'], ['outTotal', 'u32'], ['oOffset', 'u32']],
  bindings: [r('x'), r('wt'), r('bias', { when: 'HAS_BIAS' }), rw('y')],
  variants: ['HAS_BIAS', 'RELU', 'FEW'],
  overrides: { WG: 32 },
});

/**
 * Implicit-GEMM conv (see the header of conv2d_gemm.wgsl): x, the weights re-laid out
 * [group][tap][ci][coPad] (vec4s; f32 with SUBGROUPS), bias, y, and region mode's origins.
 */
export const conv2dGemm = spec({
  name: 'conv2d_gemm',
  uniforms: [['npix', 'u32'], ['cin', 'u32'], ['cinPg', 'u32'], ['hw', 'u32'], ['w', 'u32'], ['h', 'u32'], ['ow', 'u32'], ['ohw', 'u32'],
    ['cout', 'u32'], ['coutPg', 'u32'], ['coPad4', 'u32'], ['kh', 'u32'], ['kw', 'u32'], ['sh', 'u32'], ['sw', 'u32'], ['pt', 'i32'], ['pl', 'i32'],
    ['dh', 'u32'], ['dw', 'u32'], ...regionIn, ['rbOut', 'u32', 'REGION'], ['orgOut', 'u32', 'REGION'], ['yOff', 'u32', 'Y_OFFSET']],
  bindings: [r('x'), r('wt', { type: 'array<vec4f>', typeIf: { SUBGROUPS: 'array<f32>' } }), r('bias', { when: 'HAS_BIAS' }), rw('y'), r('org', { ...i32, when: 'REGION' })],
  variants: ['HAS_BIAS', 'RELU', 'POINTWISE', 'REGION', 'SUBGROUPS', 'WT_ROWS', 'Y_OFFSET'],
  enables: { SUBGROUPS: 'subgroups' },
  overrides: { WG: 64 },
});
/**
 * conv2d_gemm for convs with taps along x or a stride, each invocation's pixels neighbours in one
 * output row (see the header of conv2d_rows.wgsl): same weight panel, bias, y and region mode's
 * origins; KW, SW, DW overrides.
 */
export const conv2dRows = spec({
  name: 'conv2d_rows',
  uniforms: [['nblk', 'u32'], ['nbx', 'u32'], ['cin', 'u32'], ['cinPg', 'u32'], ['hw', 'u32'], ['w', 'u32'], ['h', 'u32'], ['oh', 'u32'], ['ow', 'u32'], ['ohw', 'u32'],
    ['cout', 'u32'], ['coutPg', 'u32'], ['coPad4', 'u32'], ['kh', 'u32'], ['sh', 'u32'], ['pt', 'i32'], ['pl', 'i32'], ['dh', 'u32'],
    ...regionIn, ['rbOut', 'u32', 'REGION'], ['orgOut', 'u32', 'REGION']],
  bindings: [r('x'), r('wt', { type: 'array<vec4f>', typeIf: { SUBGROUPS: 'array<f32>' } }), r('bias', { when: 'HAS_BIAS' }), rw('y'), r('org', { ...i32, when: 'REGION' })],
  variants: ['HAS_BIAS', 'RELU', 'REGION', 'SUBGROUPS'],
  enables: { SUBGROUPS: 'subgroups' },
  overrides: { WG: 64, KW: 3, SW: 1, DW: 1 },
});
export const convWeightsGemm = spec({
  name: 'conv_weights_gemm',
  uniforms: [['total', 'u32'], ['coutPg', 'u32'], ['coPad', 'u32'], ['cinPg', 'u32'], ['kh', 'u32'], ['kw', 'u32']],
  bindings: [r('w'), rw('wt')],
  overrides: { WG: 64 },
});

/** Winograd F(2×2, 3×3) (engine/winograd.ts): weight, input and output transforms around a grouped pointwise conv2d_gemm. */
export const winogradWeights = spec({
  name: 'winograd_weights',
  uniforms: [['total', 'u32'], ['cin', 'u32'], ['cout', 'u32'], ['coPad', 'u32']],
  bindings: [r('w'), rw('wt')],
  overrides: { WG: 64 },
});
export const winogradInput = spec({
  name: 'winograd_input',
  uniforms: [['total', 'u32'], ['npix', 'u32'], ['cin', 'u32'], ['h', 'u32'], ['w', 'u32'], ['tw', 'u32'], ['tiles', 'u32'], ['pt', 'i32'], ['pl', 'i32'],
    ...regionIn, ['orgOut', 'u32', 'REGION']],
  bindings: [r('x'), rw('v'), r('org', { ...i32, when: 'REGION' })],
  variants: ['REGION'],
  ...elementwise,
});
export const winogradOutput = spec({
  name: 'winograd_output',
  uniforms: [['total', 'u32'], ['npix', 'u32'], ['cout', 'u32'], ['oh', 'u32'], ['ow', 'u32'], ['tw', 'u32'], ['tiles', 'u32'], ['cy', 'u32', 'REGION'], ['rbOut', 'u32', 'REGION']],
  bindings: [r('m'), r('bias', { when: 'HAS_BIAS' }), rw('y')],
  variants: ['HAS_BIAS', 'RELU', 'REGION'],
  ...elementwise,
});

/** x, w [Cin, Cout/group, KH, KW], (bias), y */
export const convTranspose2d = spec({
  name: 'conv_transpose2d',
  uniforms: convUniforms,
  bindings: [r('x'), r('wt'), r('bias', { when: 'HAS_BIAS' }), rw('y')],
  variants: ['HAS_BIAS'],
  overrides: { WG: 64 },
});

/** clean image [C,H,W], patch value [C], batch [P,C,H,W] */
export const occlude = spec({
  name: 'occlude',
  uniforms: [['total', 'u32'], ['c', 'u32'], ['h', 'u32'], ['w', 'u32'], ['size', 'u32'], ['stride', 'u32'], ['cols', 'u32'], ['first', 'u32']],
  bindings: [r('x'), r('value'), rw('y')],
  overrides: { WG: 64 },
});

/** x, the recorded mask (f32) or switches (i32), y */
export const frozen = spec({
  name: 'frozen',
  uniforms: [['total', 'u32'], ['per', 'u32'], ['outPlane', 'u32'], ['hw', 'u32']],
  bindings: [r('x'), r('mask', { when: 'MASKED_RELU' }), r('switches', { ...i32, when: 'SWITCH_POOL' }), rw('y')],
  variants: ['MASKED_RELU', 'SWITCH_POOL'],
  overrides: { WG: 64 },
});
/** Integrated Gradients' path: clean image x [C·H·W], baseline b [C·H·W], every step's alpha, batch y [n][C·H·W] */
export const pathImages = spec({
  name: 'path_images',
  uniforms: [['total', 'u32'], ['per', 'u32'], ['first', 'u32']],
  bindings: [r('x'), r('b'), r('alpha'), rw('y')],
  overrides: { WG: 64 },
});
/** Seeded noisy copies of x [C·H·W] (Gaussian), or UNIFORM noise in per-channel ranges [lo₀…, hi₀…]; batch y [n][C·H·W] */
export const noiseImages = spec({
  name: 'noise_images',
  uniforms: [['total', 'u32'], ['per', 'u32'], ['hw', 'u32'], ['channels', 'u32'], ['first', 'u32'], ['stream', 'u32'], ['seed', 'u32'], ['sigma', 'f32']],
  bindings: [r('x', { when: '!UNIFORM' }), r('range', { when: 'UNIFORM' }), rw('y')],
  variants: ['UNIFORM'],
  overrides: { WG: 64 },
});
export const coordinates = spec({ name: 'coordinates', uniforms: [['total', 'u32'], ['per', 'u32'], ['first', 'u32']], bindings: [rw('y')], overrides: { WG: 64 } });

/** x (clean prefix + rectangles), the origins, y */
export const regionCopy = spec({
  name: 'region_copy',
  uniforms: [['total', 'u32'], ['cx', 'u32'], ['cy', 'u32'], ['c0', 'u32'], ['h', 'u32'], ['w', 'u32'], ['rhIn', 'u32'], ['rwIn', 'u32'],
    ['rbIn', 'u32'], ['orgIn', 'u32'], ['rhOut', 'u32'], ['rwOut', 'u32'], ['rbOut', 'u32'], ['orgOut', 'u32']],
  bindings: [r('x'), r('org', i32), rw('y')],
  ...elementwise,
});

/** Ablation-CAM: range [first channel] (u32); COPY: a (one image, stride 0, or each copy's own, stride C·hw) → y [n][C][hw]; else zeros in place in y */
export const ablateChannels = spec({
  name: 'ablate_channels',
  uniforms: [['total', 'u32'], ['c', 'u32'], ['hw', 'u32'], ['stride', 'u32', 'COPY']],
  bindings: [r('range', { type: 'array<u32, 1>' }), r('a', { when: 'COPY' }), rw('y')],
  variants: ['COPY'],
  overrides: { WG: 64 },
});

/** Score-CAM: image x [C][hw], masks [n][hw], y [n][C][hw] */
export const maskImages = spec({ name: 'mask_images', uniforms: [['total', 'u32'], ['c', 'u32'], ['hw', 'u32']], bindings: [r('x'), r('masks'), rw('y')], overrides: { WG: 64 } });
