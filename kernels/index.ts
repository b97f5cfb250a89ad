// Specs of every kernel (see spec.ts). One entry per kernels/<name>.wgsl.
import { spec } from './spec.ts';
export type { KernelSpec, UniformValue } from './spec.ts';

const elementwise = { overrides: { WG: 64 } };

export const conv2dDirect = spec({
  name: 'conv2d_direct',
  uniforms: [['total', 'u32'], ['cin', 'u32'], ['h', 'u32'], ['w', 'u32'], ['cout', 'u32'], ['oh', 'u32'], ['ow', 'u32'], ['kh', 'u32'],
    ['kw', 'u32'], ['sh', 'u32'], ['sw', 'u32'], ['pt', 'i32'], ['pl', 'i32'], ['dh', 'u32'], ['dw', 'u32'], ['cinPerGroup', 'u32'], ['coutPerGroup', 'u32']],
  storage: ['r', 'r', 'r', 'w'], // x, w, (bias), y
  variants: ['HAS_BIAS', 'RELU'],
  ...elementwise,
});

export const pool2d = spec({
  name: 'pool2d',
  uniforms: [['total', 'u32'], ['h', 'u32'], ['w', 'u32'], ['oh', 'u32'], ['ow', 'u32'], ['kh', 'u32'], ['kw', 'u32'], ['sh', 'u32'],
    ['sw', 'u32'], ['pt', 'i32'], ['pl', 'i32'], ['hEnd', 'i32'], ['wEnd', 'i32'], ['countPad', 'u32']],
  storage: ['r', 'w', 'w'], // x, y, (switches)
  variants: ['MAX', 'SWITCHES'],
  ...elementwise,
});

export const globalPool = spec({ name: 'global_pool', uniforms: [['planes', 'u32'], ['hw', 'u32']], storage: ['r', 'w'], variants: ['MAX'], ...elementwise });
export const relu = spec({ name: 'relu', uniforms: [['total', 'u32']], storage: ['r', 'w', 'w'], variants: ['MASK'], ...elementwise });
export const unary = spec({ name: 'unary', uniforms: [['total', 'u32'], ['op', 'u32'], ['alpha', 'f32']], storage: ['r', 'w'], ...elementwise });
export const UNARY_OP = { leakyrelu: 0, elu: 1, sigmoid: 2, tanh: 3 } as const;
export const channelAffine = spec({
  name: 'channel_affine',
  uniforms: [['total', 'u32'], ['hw', 'u32'], ['c', 'u32'], ['scaleMod', 'u32'], ['shiftMod', 'u32'], ['hasScale', 'u32'], ['hasShift', 'u32']],
  storage: ['r', 'r', 'r', 'w'],
  variants: ['PRELU'],
  ...elementwise,
});
export const lrn = spec({
  name: 'lrn',
  uniforms: [['total', 'u32'], ['c', 'u32'], ['hw', 'u32'], ['size', 'u32'], ['alphaOverSize', 'f32'], ['beta', 'f32'], ['bias', 'f32']],
  storage: ['r', 'w'],
  ...elementwise,
});
export const copyChannels = spec({ name: 'copy_channels', uniforms: [['total', 'u32'], ['cx', 'u32'], ['cy', 'u32'], ['hw', 'u32'], ['c0', 'u32']], storage: ['r', 'w'], ...elementwise });
export const binary = spec({ name: 'binary', uniforms: [['total', 'u32']], storage: ['r', 'r', 'w'], variants: ['MUL', 'ACC'], ...elementwise });
export const softmax = spec({ name: 'softmax', uniforms: [['rows', 'u32'], ['c', 'u32'], ['inner', 'u32']], storage: ['r', 'w'], variants: ['LOG'], ...elementwise });
export const pad2d = spec({
  name: 'pad2d',
  uniforms: [['total', 'u32'], ['h', 'u32'], ['w', 'u32'], ['oh', 'u32'], ['ow', 'u32'], ['pt', 'i32'], ['pl', 'i32'], ['value', 'f32']],
  storage: ['r', 'w'],
  ...elementwise,
});
export const resize2d = spec({
  name: 'resize2d',
  uniforms: [['total', 'u32'], ['h', 'u32'], ['w', 'u32'], ['oh', 'u32'], ['ow', 'u32'], ['alignCorners', 'u32']],
  storage: ['r', 'w'],
  variants: ['NEAREST'],
  ...elementwise,
});
export const fc = spec({ name: 'fc', uniforms: [['n', 'u32'], ['inF', 'u32'], ['outF', 'u32'], ['outTotal', 'u32'], ['oOffset', 'u32']], storage: ['r', 'r', 'r', 'w'], variants: ['HAS_BIAS', 'RELU'], overrides: { WG: 64 } });
export const conv2dGemm = spec({
  name: 'conv2d_gemm',
  uniforms: [['npix', 'u32'], ['cin', 'u32'], ['cinPg', 'u32'], ['hw', 'u32'], ['w', 'u32'], ['h', 'u32'], ['ow', 'u32'], ['ohw', 'u32'],
    ['cout', 'u32'], ['coutPg', 'u32'], ['coPad4', 'u32'], ['kh', 'u32'], ['kw', 'u32'], ['sh', 'u32'], ['sw', 'u32'], ['pt', 'i32'], ['pl', 'i32'],
    ['dh', 'u32'], ['dw', 'u32']],
  storage: ['r', 'r', 'r', 'w'], // x, wt (re-laid out [group][tap][ci][coPad]), (bias), y
  variants: ['HAS_BIAS', 'RELU', 'POINTWISE'],
  overrides: { WG: 64 },
});
export const convWeightsGemm = spec({
  name: 'conv_weights_gemm',
  uniforms: [['total', 'u32'], ['coutPg', 'u32'], ['coPad', 'u32'], ['cinPg', 'u32'], ['kh', 'u32'], ['kw', 'u32']],
  storage: ['r', 'w'],
  overrides: { WG: 64 },
});

export const convTranspose2d = spec({
  name: 'conv_transpose2d',
  uniforms: [['total', 'u32'], ['cin', 'u32'], ['h', 'u32'], ['w', 'u32'], ['cout', 'u32'], ['oh', 'u32'], ['ow', 'u32'], ['kh', 'u32'],
    ['kw', 'u32'], ['sh', 'u32'], ['sw', 'u32'], ['pt', 'i32'], ['pl', 'i32'], ['dh', 'u32'], ['dw', 'u32'], ['cinPerGroup', 'u32'], ['coutPerGroup', 'u32']],
  storage: ['r', 'r', 'r', 'w'], // x, w [Cin, Cout/group, KH, KW], (bias), y
  variants: ['HAS_BIAS'],
  overrides: { WG: 64 },
});

export const occlude = spec({
  name: 'occlude',
  uniforms: [['total', 'u32'], ['c', 'u32'], ['h', 'u32'], ['w', 'u32'], ['size', 'u32'], ['stride', 'u32'], ['cols', 'u32'], ['first', 'u32']],
  storage: ['r', 'r', 'w'], // clean image [C,H,W], patch value [C], batch [P,C,H,W]
  overrides: { WG: 64 },
});

export const frozen = spec({
  name: 'frozen',
  uniforms: [['total', 'u32'], ['per', 'u32'], ['outPlane', 'u32'], ['hw', 'u32']],
  storage: ['r', 'r', 'w'], // x, recorded mask (f32) or switches (i32), y
  variants: ['MASKED_RELU', 'SWITCH_POOL'],
  overrides: { WG: 64 },
});
export const coordinates = spec({ name: 'coordinates', uniforms: [['total', 'u32'], ['per', 'u32'], ['first', 'u32']], storage: ['w'], overrides: { WG: 64 } });

// conv2d_gemm with the weight panel shared by subgroupBroadcast (TM = 16); needs the `subgroups` feature.
export const conv2dGemmSg = spec({
  name: 'conv2d_gemm_sg',
  uniforms: [['npix', 'u32'], ['cin', 'u32'], ['cinPg', 'u32'], ['hw', 'u32'], ['w', 'u32'], ['h', 'u32'], ['ow', 'u32'], ['ohw', 'u32'],
    ['cout', 'u32'], ['coutPg', 'u32'], ['coPad4', 'u32'], ['kh', 'u32'], ['kw', 'u32'], ['sh', 'u32'], ['sw', 'u32'], ['pt', 'i32'], ['pl', 'i32'],
    ['dh', 'u32'], ['dw', 'u32']],
  storage: ['r', 'r', 'r', 'w'], // x, wt (re-laid out [group][tap][ci][coPad], coPad a multiple of 16), (bias), y
  variants: ['HAS_BIAS', 'RELU', 'POINTWISE'],
  overrides: { WG: 64 },
});

// Region mode (engine/region.ts): the same kernels with the REGION variant, which reads the input
// as a clean prefix plus per-image rectangles (origins in a storage buffer of i32 pairs) and writes
// only the output rectangles. The extra uniforms follow the base kernel's.
const regionConvUniforms: [string, 'u32'][] = [['rhIn', 'u32'], ['rwIn', 'u32'], ['rbIn', 'u32'], ['orgIn', 'u32'], ['rbOut', 'u32'], ['orgOut', 'u32']];
export const conv2dGemmRegion = spec({ ...conv2dGemm, uniforms: [...conv2dGemm.uniforms, ...regionConvUniforms], storage: ['r', 'r', 'r', 'w', 'r'], variants: ['HAS_BIAS', 'RELU', 'POINTWISE', 'REGION'] });
export const conv2dGemmSgRegion = spec({ ...conv2dGemmSg, uniforms: [...conv2dGemmSg.uniforms, ...regionConvUniforms], storage: ['r', 'r', 'r', 'w', 'r'], variants: ['HAS_BIAS', 'RELU', 'POINTWISE', 'REGION'] });
export const pool2dRegion = spec({
  ...pool2d,
  uniforms: [...pool2d.uniforms, ['c', 'u32'], ['rhIn', 'u32'], ['rwIn', 'u32'], ['rbIn', 'u32'], ['orgIn', 'u32'], ['rhOut', 'u32'], ['rwOut', 'u32'], ['rbOut', 'u32'], ['orgOut', 'u32']],
  storage: ['r', 'w', 'r'], // x, y, org
  variants: ['MAX', 'REGION'],
});
export const regionCopy = spec({
  name: 'region_copy',
  uniforms: [['total', 'u32'], ['cx', 'u32'], ['cy', 'u32'], ['c0', 'u32'], ['h', 'u32'], ['w', 'u32'], ['rhIn', 'u32'], ['rwIn', 'u32'],
    ['rbIn', 'u32'], ['orgIn', 'u32'], ['rhOut', 'u32'], ['rwOut', 'u32'], ['rbOut', 'u32'], ['orgOut', 'u32']],
  storage: ['r', 'r', 'w'], // x, org, y
  ...elementwise,
});
export const globalPoolRegion = spec({
  ...globalPool,
  uniforms: [...globalPool.uniforms, ['c', 'u32'], ['w', 'u32'], ['rhIn', 'u32'], ['rwIn', 'u32'], ['rbIn', 'u32'], ['orgIn', 'u32']],
  storage: ['r', 'w', 'r'], // x, y, org
  variants: ['MAX', 'REGION'],
});
