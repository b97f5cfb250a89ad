// Gradient ascent on a batch of input images, on the GPU (activation maximisation and network
// inversion, explainers/optimize.ts). One step is ONE submission. Two parameterisations:
//
// pixel: the images' pixels are the parameters.
//   roll x by the step's jitter → recording forward (only up to the objective's layer) → seed →
//   reverse walk to the input → unroll → regularisers' gradients (α-norm, total variation) →
//   Adam/SGD step with range clamp → [blur] → [clip small-norm / small-contribution pixels].
//
// fourier (Lucid's parameterisation, Olah et al. 2017): the parameters are the 2D Fourier
// coefficients of periodic Sy×Sx canvases (Sy, Sx the powers of two at or above the input's
// sides), scaled by 1/frequency so that a step moves every frequency alike in the image's
// natural 1/f statistics, in decorrelated colours (the square root of ImageNet's colour
// correlation), through a sigmoid into the valid pixel range. Each step:
//   inverse FFT (columns, rows) → colours and sigmoid → sample the input through the step's random
//   scale, rotation and shift (transformation robustness) → forward → seed → reverse walk →
//   adjoint of the sampling → [regularisers' gradients on the canvas] → back through the sigmoid
//   and colours → FFT (rows, columns) → Adam/SGD step on the coefficients → [blur: the Gaussian's
//   transfer function on the coefficients].
//
// When the objective is one channel (or unit) per image of a conv layer's output, only that
// channel is computed (kernels/conv_select.wgsl) and the recorded forward stops at the conv's
// input: for a first layer this removes nearly all the step's work.
//
// Every op is a WGSL kernel (kernels/image_opt.ts); the CPU writes only the step's Adam
// corrections and transform, and reads the objective's layer back on the steps it asks for.

import type { Dispatch } from './gpu.ts';
import type { Model } from './runner.ts';
import { walkOf } from './reverse.ts';
import { numel } from './shapes.ts';
import { ArgumentError } from './errors.ts';
import * as O from '../kernels/image_opt.ts';
import { copyChannels } from './ops/structure.ts';

export interface ImageStepOptions {
  optimizer?: 'adam' | 'sgd';
  /** SGD's momentum (default 0.9) */
  momentum?: number;
  /** λ of the α-norm and its exponent α (default 2) */
  norm?: number;
  alpha?: number;
  /** λ of total variation and its exponent β (default 2) */
  tv?: number;
  tvBeta?: number;
  /** Gaussian blur of σ = blurSigma, on the steps that ask for it */
  blurSigma?: number;
  /** zero pixels whose norm (or |x·∂a/∂x| contribution) is below θ × the image's largest */
  clipNorm?: number;
  clipContribution?: number;
  /** valid input range, e.g. the preprocessed values of pixels 0 and 255 */
  range?: [number, number];
  /** the parameterisation (default 'pixel') */
  param?: 'pixel' | 'fourier';
  /** fourier: each channel's valid range (default: `range` for every channel) */
  ranges?: [number, number][];
  /** fourier: mix three channels through ImageNet's colour correlation (default true) */
  decorrelate?: boolean;
  /** fourier: the spectrum's scale is 1/frequency^decay (default 1) */
  decay?: number;
  /** fourier: no zero-frequency coefficient: every channel's mean stays mid-range before the sigmoid */
  fixMean?: boolean;
  /** pixel: keep a copy of the images each step starts from (`startImages`: what a stop rule read) */
  keepStart?: boolean;
}

/**
 * The seed of each step's reverse pass at the objective's layer: a constant tensor (`seed`), one
 * target per image (`targets`: a channel's mean with a leaky positive part, or one unit's value;
 * seeded on the GPU from the recorded activations), or the gradient of the feature-space loss
 * k·‖A(x) − target‖² computed on the GPU from the recorded activations (inversion; `k` scales it),
 * or the gradient of the log-odds of one class per image at a logits layer (`logodds`: fooling
 * images, kernels/logodds_seed.wgsl).
 */
export type ImageObjective =
  | { kind: 'seed'; seed: Float32Array }
  | { kind: 'targets'; targets: { channel: number; position: number }[]; leak: number }
  | { kind: 'match'; target: Float32Array; k: number }
  | { kind: 'logodds'; classes: number[] };

/** The random transform of one step: a shift of whole pixels (pixel), or scale, rotation and shift about a centre (fourier). */
export interface StepTransform {
  shift: [number, number];
  scale?: number;
  /** radians */
  angle?: number;
  /** the point (image row, column) the scale and rotation keep in place (default: the image centre) */
  pivot?: [number, number];
}

/** Lucid's square root of the ImageNet colour correlation (RGB), columns normalised to the largest. */
const COLOUR_SQRT = [
  [0.26, 0.09, 0.02],
  [0.27, 0.0, -0.05],
  [0.27, -0.09, 0.03],
];

/** The colour mix of three channels: COLOUR_SQRT over its largest column norm (row-major). */
function colourMix(): Float32Array {
  const norm = Math.max(...[0, 1, 2].map((j) => Math.hypot(...COLOUR_SQRT.map((row) => row[j]!))));
  return Float32Array.from(COLOUR_SQRT.flatMap((row) => row.map((v) => v / norm)));
}

const pow2 = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(2, n)));
/** The largest canvas side the FFT kernel takes (its line lives in workgroup memory). */
export const MAX_FOURIER_SIDE = 1024;

/** A batch of images being optimised for an objective at one layer of a model. */
export class ImageOptimiser {
  readonly batch: number;
  private readonly model: Model;
  private readonly rec?: ReturnType<Model['recordPlan']>;
  private readonly owned: GPUBuffer[] = [];
  private readonly state: GPUBuffer;
  private readonly stepDispatches: Dispatch[];
  private readonly blurDispatches: Dispatch[];
  private readonly b1: number;
  private readonly b2 = 0.999;
  private readonly h: number;
  private readonly w: number;
  /** what a read returns: the objective layer's activations, or each image's target channel */
  private readonly readBuffer: GPUBuffer;
  private readonly readBytes: number;
  private readonly fourier?: {
    sy: number; sx: number; tf: GPUBuffer; out: GPUBuffer; canvas: GPUBuffer; render: Dispatch[]; final: Dispatch[];
  };
  private readonly offsets?: GPUBuffer;
  private stepped = false;
  private readonly x?: GPUBuffer; // pixel: the images
  private readonly start?: GPUBuffer; // pixel, keepStart: the images the last step started from
  private readonly total: number;
  /** per image, the objective's values read back: the whole layer, or the target channel (conv shortcut) */
  readonly readShape: { perImage: number; hw: number; selected: boolean };

  /**
   * `layer`: a resolved value name; `init`: the starting parameters (pixel: batch × C×H×W
   * images; fourier: batch × C×Sy×Sx complex coefficients as re, im pairs, see `fourierSize`).
   */
  constructor(model: Model, layer: string, init: Float32Array, objective: ImageObjective, private readonly o: ImageStepOptions) {
    const e = model.engine;
    const g = model.graph;
    const [c, h, w] = g.input.shape.slice(1) as [number, number, number];
    if (h === undefined || w === undefined) throw new ArgumentError('image optimisation needs an image input (N×C×H×W)');
    const fourier = o.param === 'fourier';
    const [sy, sx] = ImageOptimiser.fourierSize(h, w);
    const per = fourier ? 2 * c * sy * sx : c * h * w;
    if (init.length === 0 || init.length % per !== 0) throw new ArgumentError(`image optimisation: ${init.length} initial values are not a batch of ${fourier ? `${c}×${sy}×${sx} complex coefficients` : `${c}×${h}×${w} images`}`);
    const batch = init.length / per;
    this.model = model;
    this.batch = batch;
    this.h = h;
    this.w = w;
    this.total = init.length;
    this.b1 = o.optimizer === 'sgd' ? (o.momentum ?? 0.9) : 0.9;
    const make = (label: string, bytes: number) => {
      const b = e.createBuffer(Math.max(16, bytes), label);
      this.owned.push(b);
      return b;
    };
    const upload = (label: string, data: Float32Array | Int32Array) => {
      const b = make(label, data.byteLength);
      e.device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
      return b;
    };
    const nImg = batch * c * h * w;

    // ---- the objective: where the forward stops, and the seed of the reverse pass -------------
    const producer = model.facts.producer.get(layer);
    const node = producer === undefined ? undefined : g.nodes[producer];
    // the conv shortcut: one channel per image of a conv's output
    const conv = objective.kind === 'targets' && node?.op === 'conv' ? node : undefined;
    const value = conv ? conv.inputs[0]! : layer;
    const atInput = value === g.input.name;
    const rec = atInput ? undefined : model.recordPlan(batch, [value], [value]);
    this.rec = rec;
    const input = rec ? rec.input : make('opt:input', nImg * 4);
    const walk = rec ? walkOf(model, rec, value, [g.input.name], 'gradient') : undefined;
    const gIn = walk ? walk.grads.get(g.input.name)! : make('opt:gin', nImg * 4);
    const forward: Dispatch[] = rec ? [...rec.dispatches] : [];
    const backward: Dispatch[] = [];
    if (conv) {
      if (objective.kind !== 'targets') throw new Error('unreachable');
      const a = conv.attrs;
      const xs = atInput ? [batch, c, h, w] : rec!.shapes.get(value)!;
      const ws = g.params.get(a.weight)!.dims;
      const [, cin, ih, iw] = xs as [number, number, number, number];
      const cout = ws[0]!;
      const oh = Math.floor((ih + a.pads[0] + a.pads[2] - a.dilation[0] * (a.kernel[0] - 1) - 1) / a.stride[0]) + 1;
      const ow = Math.floor((iw + a.pads[1] + a.pads[3] - a.dilation[1] * (a.kernel[1] - 1) - 1) / a.stride[1]) + 1;
      const t = upload('opt:targets', Int32Array.from(objective.targets.flatMap((q) => [q.channel, q.position])));
      for (const q of objective.targets) if (q.channel >= cout) throw new ArgumentError(`image optimisation: channel ${q.channel} of ${layer}, which has ${cout}`);
      const act = make('opt:act', batch * oh * ow * 4), seed = make('opt:seed', batch * oh * ow * 4);
      const gx = walk ? walk.seed : gIn;
      const un = {
        c: cin, h: ih, w: iw, oh, ow, kh: a.kernel[0], kw: a.kernel[1], sh: a.stride[0], sw: a.stride[1], pt: a.pads[0], pl: a.pads[1],
        dh: a.dilation[0], dw: a.dilation[1], cpg: cin / a.group, opg: cout / a.group,
      };
      const xIn = atInput ? input : rec!.values.get(value)!;
      forward.push(e.makeDispatch(O.convSelect, {
        defines: a.bias ? ['HAS_BIAS'] : [], uniforms: { total: batch * oh * ow, ...un },
        bindings: { x: xIn, wt: model.paramBuffer(a.weight), ...(a.bias ? { bias: model.paramBuffer(a.bias) } : {}), goal: t, y: act }, threads: batch * oh * ow, label: 'objective channel',
      }));
      // each image's one channel: the seed's channel index is 0 (position unchanged)
      const t0 = upload('opt:targets0', Int32Array.from(objective.targets.flatMap((q) => [0, q.position])));
      backward.push(
        e.makeDispatch(O.maxoutSeed, { uniforms: { total: batch * oh * ow, l: oh * ow, hw: oh * ow, leak: objective.leak }, bindings: { a: act, goal: t0, y: seed }, threads: batch * oh * ow, label: 'objective seed' }),
        e.makeDispatch(O.convSelect, { defines: ['BACKWARD'], uniforms: { total: batch * Math.ceil(cin / 4) * ih * iw, ...un }, bindings: { x: seed, wt: model.paramBuffer(a.weight), goal: t, y: gx }, threads: batch * Math.ceil(cin / 4) * ih * iw, label: 'objective channel: gradient' }),
      );
      if (walk) backward.push(...walk.dispatches);
      this.readBuffer = act;
      this.readBytes = batch * oh * ow * 4;
      this.readShape = { perImage: oh * ow, hw: oh * ow, selected: true };
    } else {
      if (!rec || !walk) throw new ArgumentError(`cannot optimise an objective at the input ${layer}`);
      const shape = rec.shapes.get(layer)!;
      const L = numel(shape) / batch;
      const hw = shape.length === 4 ? shape[2]! * shape[3]! : 1;
      if (objective.kind === 'seed') {
        if (objective.seed.length !== numel(shape)) throw new ArgumentError(`image optimisation: a seed of ${objective.seed.length} values for ${layer} [${shape.join('×')}]`);
        e.device.queue.writeBuffer(walk.seed, 0, objective.seed.buffer, objective.seed.byteOffset, objective.seed.byteLength);
      } else if (objective.kind === 'targets') {
        const t = upload('opt:targets', Int32Array.from(objective.targets.flatMap((q) => [q.channel, q.position])));
        backward.push(e.makeDispatch(O.maxoutSeed, { uniforms: { total: numel(shape), l: L, hw, leak: objective.leak }, bindings: { a: rec.values.get(layer)!, goal: t, y: walk.seed }, threads: numel(shape), label: 'objective seed' }));
      } else if (objective.kind === 'logodds') {
        if (objective.classes.length !== batch) throw new ArgumentError(`image optimisation: ${objective.classes.length} classes for ${batch} images`);
        for (const k of objective.classes) if (!Number.isInteger(k) || k < 0 || k >= L) throw new ArgumentError(`image optimisation: class ${k} of ${layer}, which has ${L}`);
        if (L < 2) throw new ArgumentError(`image optimisation: the log-odds of a class needs at least two classes; ${layer} has ${L}`);
        const t = upload('opt:classes', Int32Array.from(objective.classes));
        backward.push(e.makeDispatch(O.logoddsSeed, { uniforms: { total: numel(shape), l: L }, bindings: { a: rec.values.get(layer)!, goal: t, y: walk.seed }, threads: numel(shape), label: 'log-odds seed' }));
      } else {
        const n = objective.target.length;
        if (n !== numel(shape)) throw new ArgumentError(`image optimisation: a target of ${n} values for ${layer} [${shape.join('×')}]`);
        const target = upload('opt:target', objective.target);
        backward.push(e.makeDispatch(O.scaledDiff, { uniforms: { total: n, k: objective.k }, bindings: { a: rec.values.get(layer)!, b: target, y: walk.seed }, threads: n, label: 'feature loss seed' }));
      }
      backward.push(...walk.dispatches);
      this.readBuffer = rec.values.get(layer)!;
      this.readBytes = numel(shape) * 4;
      this.readShape = { perImage: L, hw, selected: false };
    }

    this.state = make('opt:state', 32);
    const reg = (x: GPUBuffer, r: GPUBuffer, d: GPUBuffer, total: number, hh: number, ww: number) =>
      e.makeDispatch(O.imageRegGrad, {
        uniforms: { total, h: hh, w: ww, lambdaA: o.norm ?? 0, alpha: o.alpha ?? 2, lambdaTv: o.tv ?? 0, beta: o.tvBeta ?? 2, eps: 1e-8 },
        bindings: { x, r, d }, threads: total, label: 'regularisers',
      });
    const adam = (d: GPUBuffer, x: GPUBuffer, total: number) => {
      const m = make('opt:m', total * 4), v = make('opt:v', total * 4);
      return e.makeDispatch(O.imageAdam, { defines: o.optimizer === 'sgd' ? ['SGD'] : [], uniforms: { total }, bindings: { d, state: this.state, m, v, x }, threads: total, label: 'step' });
    };

    if (!fourier) {
      // ---- pixel parameterisation -----------------------------------------------------------
      const total = nImg;
      const x = (this.x = make('opt:x', total * 4)), r = make('opt:r', total * 4), d = make('opt:d', total * 4);
      const tmp = make('opt:blur', total * 4), maxes = make('opt:maxes', batch * 4);
      const offsets = (this.offsets = make('opt:offsets', 8));
      e.device.queue.writeBuffer(x, 0, init.buffer, init.byteOffset, init.byteLength);
      const th = { threads: total };
      if (o.keepStart) this.start = make('opt:start', total * 4);
      this.stepDispatches = [
        ...(this.start ? [copyChannels(e, x, this.start, 1, 1, 1, total, 0, 'keep start')] : []),
        e.makeDispatch(O.roll2d, { uniforms: { total, h, w }, bindings: { x, offsets, y: input }, ...th, label: 'jitter' }),
        ...forward,
        ...backward,
        e.makeDispatch(O.roll2d, { defines: ['INVERSE'], uniforms: { total, h, w }, bindings: { x: gIn, offsets, y: r }, ...th, label: 'unjitter' }),
        reg(x, r, d, total, h, w),
        adam(d, x, total),
      ];
      const clip = (theta: number | undefined, contrib: boolean): Dispatch[] =>
        theta
          ? [
              e.makeDispatch(O.pixelClip, { defines: ['MAX', ...(contrib ? ['CONTRIB'] : [])], uniforms: { n: batch, c, hw: h * w, theta }, bindings: { x, r, maxes }, workgroups: [batch, 1, 1], label: 'clip:max' }),
              e.makeDispatch(O.pixelClip, { defines: contrib ? ['CONTRIB'] : [], uniforms: { n: batch, c, hw: h * w, theta }, bindings: { x, r, maxes }, threads: batch * h * w, label: 'clip' }),
            ]
          : [];
      this.stepDispatches.push(...clip(o.clipContribution, true), ...clip(o.clipNorm, false));
      this.blurDispatches = o.blurSigma
        ? [
            e.makeDispatch(O.blur2d, { uniforms: { total, h, w, sigma: o.blurSigma }, bindings: { x, y: tmp }, ...th, label: 'blur:rows' }),
            e.makeDispatch(O.blur2d, { defines: ['VERTICAL'], uniforms: { total, h, w, sigma: o.blurSigma }, bindings: { x: tmp, y: x }, ...th, label: 'blur:cols' }),
          ]
        : [];
      return;
    }

    // ---- Fourier parameterisation -----------------------------------------------------------
    const P = sy * sx;
    const planes = batch * c;
    const theta = make('opt:theta', planes * P * 8);
    e.device.queue.writeBuffer(theta, 0, init.buffer, init.byteOffset, init.byteLength);
    // two real planes to one complex FFT (kernels/spectrum_pack.wgsl)
    const pairs = Math.ceil(planes / 2);
    const za = make('opt:spectrum:a', pairs * P * 8), zb = make('opt:spectrum:b', pairs * P * 8), grad = make('opt:spectrum:grad', planes * P * 8);
    const canvas = make('opt:canvas', planes * P * 4), gCanvas = make('opt:canvas:grad', planes * P * 4);
    const tf = make('opt:transform', 14 * 4);
    const out = make('opt:images', nImg * 4);
    // 1 / max(f, 1/max(Sy, Sx))^decay · sqrt(Sy·Sx), f in cycles per pixel (Lucid's fft_image)
    const scale = new Float32Array(P);
    const fmin = 1 / Math.max(sy, sx);
    for (let ky = 0; ky < sy; ky++)
      for (let kx = 0; kx < sx; kx++) {
        const fy = (ky <= sy / 2 ? ky : ky - sy) / sy, fx = (kx <= sx / 2 ? kx : kx - sx) / sx;
        scale[ky * sx + kx] = Math.sqrt(P) / Math.max(Math.hypot(fy, fx), fmin) ** (o.decay ?? 1);
      }
    if (o.fixMean) scale[0] = 0;
    const scaleBuf = upload('opt:spectrum:scale', scale);
    const mix3 = c === 3 && (o.decorrelate ?? true);
    const colours = mix3 ? { defines: ['MIX3'], mix: upload('opt:colours', colourMix()) } : { defines: [] as string[], mix: undefined };
    // e^(−2πi·j/m), j < m/2, for the longer side m
    const m = Math.max(sy, sx);
    const tw = upload('opt:twiddles', Float32Array.from({ length: m }, (_, i) => (i % 2 === 0 ? Math.cos((-2 * Math.PI * (i >> 1)) / m) : Math.sin((-2 * Math.PI * (i >> 1)) / m))));
    const rr = o.ranges ?? Array.from({ length: c }, () => o.range ?? [-1, 1]);
    if (rr.length !== c) throw new ArgumentError(`image optimisation: ${rr.length} channel ranges for ${c} channels`);
    const ranges = upload('opt:ranges', Float32Array.from([...rr.map((q) => q[0]), ...rr.map((q) => q[1])]));
    const k = 1 / (4 * P);
    const lines = (x: GPUBuffer, y: GPUBuffer, along: 'rows' | 'cols', sign: number) => {
      const n = along === 'rows' ? sx : sy;
      const count = pairs * (along === 'rows' ? sy : sx);
      const lpw = MAX_FOURIER_SIDE / n, groups = Math.ceil(count / lpw);
      return e.makeDispatch(O.fftLines, {
        uniforms: { logn: Math.log2(n), lines: count, lpw, inner: along === 'rows' ? 1 : sx, tws: m / n, sign, mul: 1 },
        bindings: { x, tw, y },
        workgroups: groups > 65535 ? [65535, Math.ceil(groups / 65535), 1] : [groups, 1, 1],
        label: `fft ${along}${sign > 0 ? ' (inverse)' : ''}`,
      });
    };
    const render = [
      e.makeDispatch(O.spectrumPack, { uniforms: { total: pairs * P, sy, sx, planes }, bindings: { x: theta, scale: scaleBuf, y: za }, threads: pairs * P, label: 'spectrum: pairs' }),
      lines(za, zb, 'cols', 1),
      lines(zb, za, 'rows', 1),
      e.makeDispatch(O.spectrumImage, { defines: colours.defines, uniforms: { total: batch * P, c, plane: P, k }, bindings: { s: za, mix: colours.mix, ranges, y: canvas }, threads: batch * P, label: 'colours' }),
    ];
    const sample = (y: GPUBuffer) => e.makeDispatch(O.affineSample, { uniforms: { total: batch * h * w, c, h, w, sy, sx }, bindings: { x: canvas, tf, y }, threads: batch * h * w, label: 'transform' });
    const texels = batch * Math.ceil(c / 4) * P;
    // the regularisers, scale-free: on the canvas, in units of each channel's half-range, against the
    // objective's gradient divided by its typical magnitude in each image (kernels/image_scale.wgsl)
    const regs = (o.norm ?? 0) > 0 || (o.tv ?? 0) > 0;
    const dCanvas = regs ? make('opt:canvas:d', planes * P * 4) : gCanvas;
    const gscale = make('opt:gscale', batch * 4);
    const regularise = regs
      ? [
          e.makeDispatch(O.imageScale, { uniforms: { n: c * P }, bindings: { x: gCanvas, y: gscale }, workgroups: [batch, 1, 1], label: 'gradient scale' }),
          e.makeDispatch(O.imageRegGrad, {
            defines: ['NORMALISED'],
            uniforms: { total: planes * P, h: sy, w: sx, lambdaA: o.norm ?? 0, alpha: o.alpha ?? 2, lambdaTv: o.tv ?? 0, beta: o.tvBeta ?? 2, eps: 1e-8, c, n: c * P },
            bindings: { x: canvas, r: gCanvas, gscale, ranges, d: dCanvas }, threads: planes * P, label: 'regularisers',
          }),
        ]
      : [];
    this.stepDispatches = [
      ...render,
      sample(input),
      ...forward,
      ...backward,
      e.makeDispatch(O.affineSample, { defines: ['ADJOINT'], uniforms: { total: texels, c, h, w, sy, sx }, bindings: { x: gIn, tf, y: gCanvas }, threads: texels, label: 'transform: adjoint' }),
      ...regularise,
      e.makeDispatch(O.spectrumImage, { defines: [...colours.defines, 'BACKWARD'], uniforms: { total: batch * P, c, plane: P, k }, bindings: { s: za, mix: colours.mix, ranges, g: dCanvas, y: zb }, threads: batch * P, label: 'colours: gradient' }),
      lines(zb, za, 'rows', -1),
      lines(za, zb, 'cols', -1),
      e.makeDispatch(O.spectrumPack, { defines: ['UNPACK'], uniforms: { total: planes * P, sy, sx }, bindings: { x: zb, scale: scaleBuf, y: grad }, threads: planes * P, label: 'spectrum: gradients' }),
      adam(grad, theta, planes * P * 2),
    ];
    this.blurDispatches = o.blurSigma
      ? [e.makeDispatch(O.spectrumGain, { uniforms: { total: planes * P, sy, sx, sigma: o.blurSigma }, bindings: { x: theta }, threads: planes * P, label: 'blur' })]
      : [];
    const final = [...render, sample(out)];
    if (o.clipContribution || o.clipNorm) {
      // clipping acts on the final images (the coefficients have no pixels): the reverse signal
      // of those images, then the pixels whose norm or contribution is small are zeroed
      const maxes = make('opt:maxes', batch * 4);
      final.push(sample(input), ...forward, ...backward);
      for (const [theta, contrib] of [[o.clipContribution, true], [o.clipNorm, false]] as const)
        if (theta)
          final.push(
            e.makeDispatch(O.pixelClip, { defines: ['MAX', ...(contrib ? ['CONTRIB'] : [])], uniforms: { n: batch, c, hw: h * w, theta }, bindings: { x: out, r: gIn, maxes }, workgroups: [batch, 1, 1], label: 'clip:max' }),
            e.makeDispatch(O.pixelClip, { defines: contrib ? ['CONTRIB'] : [], uniforms: { n: batch, c, hw: h * w, theta }, bindings: { x: out, r: gIn, maxes }, threads: batch * h * w, label: 'clip' }),
          );
    }
    this.fourier = { sy, sx, tf, out, canvas, render: [...render, sample(out)], final };
  }

  /** The canvas of the Fourier parameterisation for an H×W input: the powers of two at or above its sides. */
  static fourierSize(h: number, w: number): [number, number] {
    const s: [number, number] = [pow2(h), pow2(w)];
    if (Math.max(...s) > MAX_FOURIER_SIDE) throw new ArgumentError(`the Fourier parameterisation takes inputs up to ${MAX_FOURIER_SIDE} pixels a side; this model's is ${h}×${w} (use --param pixel)`);
    return s;
  }

  /** The affine map of a transform: image pixel (i, j) → canvas (u0, u1), and the bounds of u over the image. */
  private transform(t: StepTransform): Float32Array {
    const { sy, sx } = this.fourier!;
    const [h, w] = [this.h, this.w];
    const s = t.scale ?? 1, a = t.angle ?? 0;
    // the image sits centred on the canvas; the scale and rotation keep the pivot in place
    const [pi, pj] = t.pivot ?? [(h - 1) / 2, (w - 1) / 2];
    const [oy, ox] = this.offset();
    const ca = Math.cos(a) / s, sa = Math.sin(a) / s;
    const A = [ca, -sa, sa, ca];
    // u = A·(p − pivot) + pivot + offset + shift
    const t0 = pi + oy + t.shift[0] - (A[0]! * pi + A[1]! * pj);
    const t1 = pj + ox + t.shift[1] - (A[2]! * pi + A[3]! * pj);
    const det = A[0]! * A[3]! - A[1]! * A[2]!;
    const inv = [A[3]! / det, -A[1]! / det, -A[2]! / det, A[0]! / det];
    const corners = [[0, 0], [0, w - 1], [h - 1, 0], [h - 1, w - 1]].map(([i, j]) => [A[0]! * i! + A[1]! * j! + t0, A[2]! * i! + A[3]! * j! + t1]);
    const u0 = corners.map((q) => q[0]!), u1 = corners.map((q) => q[1]!);
    return Float32Array.from([...A, t0, t1, ...inv, Math.min(...u0), Math.max(...u0), Math.min(...u1), Math.max(...u1)]);
  }

  /** Where the image sits on the canvas at the identity transform: centred, on whole texels (an exact crop). */
  private offset(): [number, number] {
    return [Math.floor((this.fourier!.sy - this.h) / 2), Math.floor((this.fourier!.sx - this.w) / 2)];
  }

  /**
   * Step t (1, 2, …) with learning rate `lr` under the step's transform (pixel: the images rolled
   * by its shift; fourier: sampled through its scale, rotation and shift); `blur` smooths the
   * images after the step. With `read`, returns what the objective reads of the images the step
   * started from (see `readShape`).
   */
  async step(t: number, lr: number, transform: StepTransform, opts: { blur?: boolean; read?: boolean } = {}): Promise<Float32Array | undefined> {
    const e = this.model.engine;
    const [lo, hi] = this.fourier ? [-3.4e38, 3.4e38] : (this.o.range ?? [-3.4e38, 3.4e38]);
    e.device.queue.writeBuffer(this.state, 0, new Float32Array([lr, this.b1, this.b2, 1e-8, 1 / (1 - this.b1 ** t), 1 / (1 - this.b2 ** t), lo, hi]));
    if (this.fourier) {
      const tf = this.transform(transform);
      e.device.queue.writeBuffer(this.fourier.tf, 0, tf.buffer, tf.byteOffset, tf.byteLength);
    } else e.device.queue.writeBuffer(this.offsets!, 0, new Int32Array(transform.shift));
    const ds = opts.blur && this.blurDispatches.length ? [...this.stepDispatches, ...this.blurDispatches] : this.stepDispatches;
    const res = await e.run(ds, opts.read ? [{ buffer: this.readBuffer, bytes: this.readBytes }] : []);
    this.stepped = true;
    return opts.read ? new Float32Array(res[0]!) : undefined;
  }

  /**
   * The current images (fourier: rendered at the identity transform). With `final`, clipping (if
   * asked for) is applied; without, the Fourier images are the canvases the last step rendered
   * (before its update), cropped: a preview that costs a read-back and no GPU work.
   */
  async images(final = false): Promise<Float32Array> {
    const e = this.model.engine;
    if (!this.fourier) {
      const [ab] = await e.run([], [{ buffer: this.x!, bytes: this.total * 4 }]);
      return new Float32Array(ab!);
    }
    if (!final && this.stepped) {
      const { sy, sx, canvas } = this.fourier;
      const [c] = this.model.graph.input.shape.slice(1) as [number];
      const [ab] = await e.run([], [{ buffer: canvas, bytes: this.batch * c * sy * sx * 4 }]);
      const all = new Float32Array(ab!), out = new Float32Array(this.batch * c * this.h * this.w);
      const [oy, ox] = this.offset();
      for (let p = 0; p < this.batch * c; p++)
        for (let i = 0; i < this.h; i++) out.set(all.subarray((p * sy + oy + i) * sx + ox, (p * sy + oy + i) * sx + ox + this.w), (p * this.h + i) * this.w);
      return out;
    }
    const tf = this.transform({ shift: [0, 0] });
    e.device.queue.writeBuffer(this.fourier.tf, 0, tf.buffer, tf.byteOffset, tf.byteLength);
    const [c] = this.model.graph.input.shape.slice(1) as [number];
    const [ab] = await e.run(final ? this.fourier.final : this.fourier.render, [{ buffer: this.fourier.out, bytes: this.batch * c * this.h * this.w * 4 }]);
    return new Float32Array(ab!);
  }

  /**
   * The images the last step started from (what its read saw, before the step's transform): pixel,
   * the copy `keepStart` keeps; fourier, the canvases that step rendered, cropped.
   */
  async startImages(): Promise<Float32Array> {
    if (this.fourier) return this.images(false);
    if (!this.start) throw new Error('startImages needs keepStart');
    const [ab] = await this.model.engine.run([], [{ buffer: this.start, bytes: this.total * 4 }]);
    return new Float32Array(ab!);
  }

  dispose(): void {
    this.rec?.dispose();
    for (const b of this.owned) this.model.engine.destroyBuffer(b);
    this.owned.length = 0;
  }
}
