// Specs of Net2Vec's kernels (kernels/net2vec_*.wgsl; engine/net2vec.ts runs them): the binary unit
// masks of a batch at label resolution, packed in two layouts; per-pixel (segmentation) or per-image
// (classification) logits, loss and dL/dz, or the held-out tallies; the gradient over the weights;
// Adam's per-step values. Word counts: kWords = ⌈units/32⌉ words per pixel, pWords = ⌈maskH·maskW/32⌉
// words per unit and image. The trained concepts go in chunks of 4 (a vec4) in the segmentation
// kernels; the weights, the gradient and α have their rows padded to a multiple of 4 with zeros.
import { spec, r, rw } from './spec.ts';

const u32 = { type: 'array<u32>' } as const;
const vec4 = { type: 'array<vec4f>' } as const;
const counts = { type: 'array<atomic<u32>>' } as const;

/** I_k(p) = [S(A_k)(p) > T_k] for 32 pixels × 32 units per invocation; NO_PIXELS / NO_UNITS skip one layout. */
export const net2vecBits = spec({
  name: 'net2vec_bits',
  uniforms: [['n', 'u32'], ['units', 'u32'], ['h', 'u32'], ['w', 'u32'], ['maskH', 'u32'], ['maskW', 'u32'], ['kWords', 'u32'], ['pWords', 'u32']],
  // act [n][units][h][w]; thresholds [units]; pixelBits [n·S][kWords]; unitBits [units][n][pWords]
  bindings: [r('act'), r('thresholds'), rw('pixelBits', { ...u32, when: '!NO_PIXELS' }), rw('unitBits', { ...u32, when: '!NO_UNITS' })],
  variants: ['NO_PIXELS', 'NO_UNITS'],
  overrides: { WG: 64 },
});

/** Segmentation, per pixel and chunk of 4 concepts: z, the loss and dL/dz with per-workgroup sums (EVAL: the IoU tallies). */
export const net2vecLogits = spec({
  name: 'net2vec_logits',
  uniforms: [['n', 'u32'], ['units', 'u32'], ['kWords', 'u32'], ['pixels', 'u32'], ['tableLen', 'u32'], ['groups', 'u32']],
  // weights [4Q][units+1]; alpha [Q] vec4; labels [n][planes][S]; planeCount [planes]; table [id] → trained index + 1;
  // dz [Q][n·S] vec4; partials [Q][groups][loss, dz] vec4; counts [4Q][8] (EVAL)
  bindings: [r('pixelBits', u32), r('weights'), r('alpha', { ...vec4, when: '!EVAL' }), r('labels', u32), r('planeCount', u32), r('table', u32),
    rw('dz', { ...vec4, when: '!EVAL' }), rw('partials', { ...vec4, when: '!EVAL' }), rw('counts', { ...counts, when: 'EVAL' })],
  variants: ['EVAL'],
  overrides: { WG: 64 },
});

/** Segmentation: dL/dw[c][k] = mean_p dz_c(p)·I_k(p) (bias: k = units) and the batch's mean loss, added to lossSum. */
export const net2vecGrad = spec({
  name: 'net2vec_grad',
  uniforms: [['n', 'u32'], ['units', 'u32'], ['pWords', 'u32'], ['pixels', 'u32'], ['groups', 'u32']],
  bindings: [r('unitBits', u32), r('dz', vec4), r('partials', vec4), rw('grad'), rw('lossSum')],
  overrides: { WG: 64 },
});

/** Classification: x[n][k] = the fraction of image n's pixels where unit k fires. */
export const net2vecFractions = spec({
  name: 'net2vec_fractions',
  uniforms: [['n', 'u32'], ['units', 'u32'], ['pWords', 'u32'], ['pixels', 'u32']],
  bindings: [r('unitBits', u32), rw('x')],
  overrides: { WG: 64 },
});

/** Classification: present[n][cWords], bit c = trained concept c is somewhere in image n (any plane, any pixel). */
export const net2vecPresent = spec({
  name: 'net2vec_present',
  uniforms: [['pixels', 'u32'], ['tableLen', 'u32'], ['cWords', 'u32']],
  bindings: [r('labels', u32), r('planeCount', u32), r('table', u32), rw('present', u32)],
  overrides: { WG: 64 },
});

/** Classification, per concept and image: z, the loss and dL/dz (EVAL: the tallies and the correct count). */
export const net2vecImageLogits = spec({
  name: 'net2vec_image_logits',
  uniforms: [['n', 'u32'], ['units', 'u32'], ['concepts', 'u32'], ['cWords', 'u32']],
  // x [n][units]; weights [C][units+1]; alpha [C]; present [n][cWords]; dz, losses [C][n]; counts [C][8] (EVAL)
  bindings: [r('x'), r('weights'), r('alpha', { when: '!EVAL' }), r('present', u32), rw('dz', { when: '!EVAL' }), rw('losses', { when: '!EVAL' }), rw('counts', { ...counts, when: 'EVAL' })],
  variants: ['EVAL'],
  overrides: { WG: 64 },
});

/** Classification: dL/dw[c][k] = mean_n dz[c][n]·x[n][k] (bias: k = units) and the batch's mean loss, added to lossSum. */
export const net2vecImageGrad = spec({
  name: 'net2vec_image_grad',
  uniforms: [['n', 'u32'], ['units', 'u32'], ['concepts', 'u32']],
  bindings: [r('x'), r('dz'), r('losses'), rw('grad'), rw('lossSum')],
  overrides: { WG: 64 },
});

/** One invocation: Adam's step t += 1 and its bias-corrected values into hp (kernels/adam.wgsl's hyper buffer). */
export const net2vecStep = spec({
  name: 'net2vec_step',
  uniforms: [],
  // hyper [lr, beta1, beta2, eps]; state [t, batches since loss()]; hp [lr·√(1−β2ᵗ)/(1−β1ᵗ), β1, β2, eps·√(1−β2ᵗ)]
  bindings: [r('hyper'), rw('state', u32), rw('hp')],
});
