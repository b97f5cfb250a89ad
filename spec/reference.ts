// Plain-loop CPU reference of every op of the IR (engine/ir.ts), in float64 on NCHW tensors.
// It is the oracle the kernel tests compare the GPU against: written for obviousness, not speed.
// Conventions that the IR leaves open follow the kernel headers (kernels/*.wgsl):
//  - max pool keeps the FIRST maximum in row-major window order; an empty window (entirely in the
//    padding) gives 0 and switch -1; switches are flat indices iy*W+ix within the input plane;
//  - avg pool with countIncludePad divides by the window clipped to [-pt, H+pb) × [-pl, W+pr),
//    otherwise by the number of real pixels (0 pixels → 0);
//  - LRN sums channels [c - floor((size-1)/2), c + floor(size/2)] clipped to [0, C);
//  - resize: nearest takes floor(o*in/out) (clamped); bilinear uses half-pixel centres clamped at 0
//    (o+0.5)*in/out-0.5, or align-corners o*(in-1)/(out-1) (0 when out = 1).

import type { Graph, Node, Pads, PoolAttrs, ConvAttrs } from '../engine/ir.ts';
import { inferShapes, numel } from '../engine/shapes.ts';

export interface RefTensor {
  shape: number[];
  data: Float64Array;
}

export const tensor = (shape: number[], data?: ArrayLike<number>): RefTensor => {
  const t = { shape: [...shape], data: new Float64Array(numel(shape)) };
  if (data) {
    if (data.length !== t.data.length) throw new Error(`tensor: ${data.length} values for shape [${shape.join(', ')}]`);
    t.data.set(Array.from(data));
  }
  return t;
};

const f64 = (a: ArrayLike<number>): Float64Array => Float64Array.from(a as ArrayLike<number>);
const dims4 = (s: number[]): [number, number, number, number] => {
  if (s.length !== 4) throw new Error(`expected a 4-D NCHW shape, got [${s.join(', ')}]`);
  return s as [number, number, number, number];
};

// ---- convolution ----------------------------------------------------------------------

export interface ConvParams {
  kernel: [number, number];
  stride: [number, number];
  pads: Pads;
  dilation: [number, number];
  group: number;
}

/** y[n,co,oy,ox] = b[co] + Σ_{ci in group, ky, kx} x[n,ci,oy*sh-pt+ky*dh, ox*sw-pl+kx*dw] · w[co,ci-g*cinG,ky,kx]. w: [Cout, Cin/group, KH, KW]. */
export function conv2d(x: RefTensor, w: ArrayLike<number>, cout: number, a: ConvParams, bias?: ArrayLike<number>): RefTensor {
  const [n, cin, h, wd] = dims4(x.shape);
  const [kh, kw] = a.kernel;
  const [sh, sw] = a.stride;
  const [pt, pl, pb, pr] = a.pads;
  const [dh, dw] = a.dilation;
  const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((wd + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const cinG = cin / a.group;
  const coutG = cout / a.group;
  const y = tensor([n, cout, oh, ow]);
  for (let b = 0; b < n; b++)
    for (let co = 0; co < cout; co++) {
      const g = Math.floor(co / coutG);
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++) {
          let acc = bias ? bias[co]! : 0;
          for (let c = 0; c < cinG; c++) {
            const ci = g * cinG + c;
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * sh - pt + ky * dh;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * sw - pl + kx * dw;
                if (ix < 0 || ix >= wd) continue;
                acc += x.data[((b * cin + ci) * h + iy) * wd + ix]! * w[((co * cinG + c) * kh + ky) * kw + kx]!;
              }
            }
          }
          y.data[((b * cout + co) * oh + oy) * ow + ox] = acc;
        }
    }
  return y;
}

/**
 * Transposed convolution (the adjoint of conv2d): every input pixel scatters x · w into
 * y[oy = iy*sh - pt + ky*dh, ox = ix*sw - pl + kx*dw]. w: [Cin, Cout/group, KH, KW].
 * Output size (H-1)*sh - pt - pb + dh*(kh-1) + outputPadding + 1 (ONNX ConvTranspose).
 */
export function convTranspose2d(x: RefTensor, w: ArrayLike<number>, coutPerGroup: number, a: ConvParams & { outputPadding: [number, number] }, bias?: ArrayLike<number>): RefTensor {
  const [n, cin, h, wd] = dims4(x.shape);
  const [kh, kw] = a.kernel;
  const [sh, sw] = a.stride;
  const [pt, pl, pb, pr] = a.pads;
  const [dh, dw] = a.dilation;
  const oh = (h - 1) * sh - pt - pb + dh * (kh - 1) + a.outputPadding[0] + 1;
  const ow = (wd - 1) * sw - pl - pr + dw * (kw - 1) + a.outputPadding[1] + 1;
  const cinG = cin / a.group;
  const cout = coutPerGroup * a.group;
  const y = tensor([n, cout, oh, ow]);
  for (let b = 0; b < n; b++)
    for (let co = 0; co < cout; co++) if (bias) for (let p = 0; p < oh * ow; p++) y.data[(b * cout + co) * oh * ow + p] = bias[co]!;
  for (let b = 0; b < n; b++)
    for (let ci = 0; ci < cin; ci++) {
      const g = Math.floor(ci / cinG);
      for (let c = 0; c < coutPerGroup; c++) {
        const co = g * coutPerGroup + c;
        for (let iy = 0; iy < h; iy++)
          for (let ix = 0; ix < wd; ix++) {
            const v = x.data[((b * cin + ci) * h + iy) * wd + ix]!;
            for (let ky = 0; ky < kh; ky++) {
              const oy = iy * sh - pt + ky * dh;
              if (oy < 0 || oy >= oh) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ox = ix * sw - pl + kx * dw;
                if (ox < 0 || ox >= ow) continue;
                y.data[((b * cout + co) * oh + oy) * ow + ox] += v * w[((ci * coutPerGroup + c) * kh + ky) * kw + kx]!;
              }
            }
          }
      }
    }
  return y;
}

// ---- pooling --------------------------------------------------------------------------

/** Pool output size along one axis, written out independently of engine/shapes.ts. */
export function poolOutSize(size: number, k: number, s: number, p0: number, p1: number, ceil: boolean): number {
  if (!ceil) return Math.floor((size + p0 + p1 - k) / s) + 1;
  let out = Math.ceil((size + p0 + p1 - k) / s) + 1;
  // Caffe / PyTorch: the last window must start inside the input or the left/top padding.
  if ((out - 1) * s >= size + p0) out--;
  return out;
}

/** Max pooling; the first maximum (row-major) wins. switches[i] = iy*W+ix of the winner, -1 for an empty window (value 0). */
export function maxPool(x: RefTensor, a: PoolAttrs): RefTensor & { switches: Int32Array } {
  const [n, c, h, w] = dims4(x.shape);
  const oh = poolOutSize(h, a.kernel[0], a.stride[0], a.pads[0], a.pads[2], a.ceil);
  const ow = poolOutSize(w, a.kernel[1], a.stride[1], a.pads[1], a.pads[3], a.ceil);
  const y = tensor([n, c, oh, ow]);
  const switches = new Int32Array(y.data.length);
  for (let p = 0; p < n * c; p++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        const ys = oy * a.stride[0] - a.pads[0];
        const xs = ox * a.stride[1] - a.pads[1];
        let best = 0;
        let arg = -1;
        for (let iy = ys; iy < ys + a.kernel[0]; iy++)
          for (let ix = xs; ix < xs + a.kernel[1]; ix++) {
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            const v = x.data[(p * h + iy) * w + ix]!;
            if (arg < 0 || v > best) {
              best = v;
              arg = iy * w + ix;
            }
          }
        const o = (p * oh + oy) * ow + ox;
        y.data[o] = best;
        switches[o] = arg;
      }
  return Object.assign(y, { switches });
}

/** Average pooling: countIncludePad divides by the window clipped to [-pt, H+pb) × [-pl, W+pr), else by the real pixels. */
export function avgPool(x: RefTensor, a: PoolAttrs): RefTensor {
  const [n, c, h, w] = dims4(x.shape);
  const [pt, pl, pb, pr] = a.pads;
  const oh = poolOutSize(h, a.kernel[0], a.stride[0], pt, pb, a.ceil);
  const ow = poolOutSize(w, a.kernel[1], a.stride[1], pl, pr, a.ceil);
  const y = tensor([n, c, oh, ow]);
  for (let p = 0; p < n * c; p++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        const ys = oy * a.stride[0] - pt;
        const xs = ox * a.stride[1] - pl;
        let sum = 0;
        let real = 0;
        let padded = 0;
        for (let iy = ys; iy < ys + a.kernel[0]; iy++)
          for (let ix = xs; ix < xs + a.kernel[1]; ix++) {
            if (iy >= -pt && iy < h + pb && ix >= -pl && ix < w + pr) padded++;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            sum += x.data[(p * h + iy) * w + ix]!;
            real++;
          }
        const cnt = a.countIncludePad ? padded : real;
        y.data[(p * oh + oy) * ow + ox] = cnt > 0 ? sum / cnt : 0;
      }
  return y;
}

export function globalPool(x: RefTensor, kind: 'avg' | 'max'): RefTensor {
  const [n, c] = x.shape as [number, number];
  const hw = numel(x.shape.slice(2));
  const y = tensor([n, c, 1, 1]);
  for (let p = 0; p < n * c; p++) {
    let acc = kind === 'max' ? -Infinity : 0;
    for (let k = 0; k < hw; k++) {
      const v = x.data[p * hw + k]!;
      acc = kind === 'max' ? Math.max(acc, v) : acc + v;
    }
    y.data[p] = kind === 'max' ? acc : acc / hw;
  }
  return y;
}

// ---- elementwise ----------------------------------------------------------------------

const map = (x: RefTensor, f: (v: number, i: number) => number): RefTensor => ({ shape: [...x.shape], data: x.data.map(f) });

export const relu = (x: RefTensor): RefTensor => map(x, (v) => (v > 0 ? v : 0));
/** The ReLU mask: 1 where x > 0, else 0. */
export const reluMask = (x: RefTensor): RefTensor => map(x, (v) => (v > 0 ? 1 : 0));
export const leakyRelu = (x: RefTensor, alpha: number): RefTensor => map(x, (v) => (v > 0 ? v : alpha * v));
export const elu = (x: RefTensor, alpha: number): RefTensor => map(x, (v) => (v > 0 ? v : alpha * (Math.exp(v) - 1)));
export const sigmoid = (x: RefTensor): RefTensor => map(x, (v) => 1 / (1 + Math.exp(-v)));
export const tanh = (x: RefTensor): RefTensor => map(x, (v) => Math.tanh(v));

/** Channel (axis 1) of flat index i of a tensor of shape s. */
const channelOf = (s: number[], i: number): number => (s.length < 2 ? 0 : Math.floor(i / numel(s.slice(2))) % s[1]!);
/** Per-channel parameter value: a one-entry parameter applies to every channel. */
const perChannel = (p: ArrayLike<number>, c: number): number => (p.length === 1 ? p[0]! : p[c]!);

export const prelu = (x: RefTensor, slope: ArrayLike<number>): RefTensor =>
  map(x, (v, i) => (v > 0 ? v : v * perChannel(slope, channelOf(x.shape, i))));

export function channelAffine(x: RefTensor, scale?: ArrayLike<number>, shift?: ArrayLike<number>): RefTensor {
  return map(x, (v, i) => {
    const c = channelOf(x.shape, i);
    let r = v;
    if (scale) r *= perChannel(scale, c);
    if (shift) r += perChannel(shift, c);
    return r;
  });
}

/** b = a / (bias + alpha/size · Σ_{c' in [c-⌊(size-1)/2⌋, c+⌊size/2⌋] ∩ [0,C)} a[c']²)^beta */
export function lrn(x: RefTensor, size: number, alpha: number, beta: number, bias: number): RefTensor {
  const [n, c] = x.shape as [number, number];
  const hw = numel(x.shape.slice(2));
  const y = tensor(x.shape);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let p = 0; p < hw; p++) {
        let s = 0;
        for (let k = ch - Math.floor((size - 1) / 2); k <= ch + Math.floor(size / 2); k++) {
          if (k < 0 || k >= c) continue;
          const v = x.data[(b * c + k) * hw + p]!;
          s += v * v;
        }
        const i = (b * c + ch) * hw + p;
        y.data[i] = x.data[i]! / Math.pow(bias + (alpha / size) * s, beta);
      }
  return y;
}

export function add(xs: RefTensor[]): RefTensor {
  const y = tensor(xs[0]!.shape);
  for (const x of xs) {
    if (x.data.length !== y.data.length) throw new Error('add: shapes differ');
    for (let i = 0; i < y.data.length; i++) y.data[i] += x.data[i]!;
  }
  return y;
}

export function mul(xs: RefTensor[]): RefTensor {
  const y = tensor(xs[0]!.shape);
  y.data.fill(1);
  for (const x of xs) for (let i = 0; i < y.data.length; i++) y.data[i] *= x.data[i]!;
  return y;
}

// ---- structure ------------------------------------------------------------------------

/** Concatenation along axis 1. */
export function concat(xs: RefTensor[]): RefTensor {
  const s0 = xs[0]!.shape;
  const n = s0[0]!;
  const inner = numel(s0.slice(2));
  const ctot = xs.reduce((a, x) => a + x.shape[1]!, 0);
  const y = tensor([n, ctot, ...s0.slice(2)]);
  for (let b = 0; b < n; b++) {
    let c0 = 0;
    for (const x of xs) {
      const cx = x.shape[1]!;
      for (let c = 0; c < cx; c++)
        for (let p = 0; p < inner; p++) y.data[(b * ctot + c0 + c) * inner + p] = x.data[(b * cx + c) * inner + p]!;
      c0 += cx;
    }
  }
  return y;
}

/** y[n,o] = Σ_i x[n,i] · W[o,i] + b[o], x flattened from axis 1. */
export function fc(x: RefTensor, w: ArrayLike<number>, outF: number, bias?: ArrayLike<number>): RefTensor {
  const n = x.shape[0]!;
  const inF = numel(x.shape.slice(1));
  const y = tensor([n, outF]);
  for (let b = 0; b < n; b++)
    for (let o = 0; o < outF; o++) {
      let acc = bias ? bias[o]! : 0;
      for (let i = 0; i < inF; i++) acc += x.data[b * inF + i]! * w[o * inF + i]!;
      y.data[b * outF + o] = acc;
    }
  return y;
}

/** Softmax (or log-softmax) along `axis`, max-subtracted. */
export function softmax(x: RefTensor, axis: number, log = false): RefTensor {
  const ax = axis < 0 ? axis + x.shape.length : axis;
  const c = x.shape[ax]!;
  const outer = numel(x.shape.slice(0, ax));
  const inner = numel(x.shape.slice(ax + 1));
  const y = tensor(x.shape);
  for (let o = 0; o < outer; o++)
    for (let p = 0; p < inner; p++) {
      const at = (k: number) => (o * c + k) * inner + p;
      let m = -Infinity;
      for (let k = 0; k < c; k++) m = Math.max(m, x.data[at(k)]!);
      let s = 0;
      for (let k = 0; k < c; k++) s += Math.exp(x.data[at(k)]! - m);
      for (let k = 0; k < c; k++) y.data[at(k)] = log ? x.data[at(k)]! - m - Math.log(s) : Math.exp(x.data[at(k)]! - m) / s;
    }
  return y;
}

export function flatten(x: RefTensor, axis: number): RefTensor {
  const ax = axis < 0 ? axis + x.shape.length : axis;
  const shape = ax === 0 ? [1, numel(x.shape)] : [numel(x.shape.slice(0, ax)), numel(x.shape.slice(ax))];
  return { shape, data: x.data.slice() };
}

/** ONNX Reshape: 0 copies the input dim, -1 is inferred; dim 0 is always the batch. */
export function reshape(x: RefTensor, spec: number[]): RefTensor {
  const dims = spec.map((d, i) => (i === 0 ? x.shape[0]! : d === 0 ? x.shape[i]! : d));
  const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const shape = dims.map((d) => (d === -1 ? x.data.length / known : d));
  if (numel(shape) !== x.data.length) throw new Error(`reshape: cannot reshape [${x.shape.join(', ')}] to [${spec.join(', ')}]`);
  return { shape, data: x.data.slice() };
}

/** Constant pad of H and W: pads [top, left, bottom, right]. */
export function pad(x: RefTensor, pads: Pads, value: number): RefTensor {
  const [n, c, h, w] = dims4(x.shape);
  const [pt, pl, pb, pr] = pads;
  const oh = h + pt + pb;
  const ow = w + pl + pr;
  const y = tensor([n, c, oh, ow]);
  for (let p = 0; p < n * c; p++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        const iy = oy - pt;
        const ix = ox - pl;
        y.data[(p * oh + oy) * ow + ox] = iy >= 0 && iy < h && ix >= 0 && ix < w ? x.data[(p * h + iy) * w + ix]! : value;
      }
  return y;
}

/** Source coordinate of output pixel o for bilinear resize. */
export function resizeSrcCoord(o: number, inSize: number, outSize: number, alignCorners: boolean): number {
  if (alignCorners) return outSize <= 1 ? 0 : (o * (inSize - 1)) / (outSize - 1);
  return Math.max(((o + 0.5) * inSize) / outSize - 0.5, 0);
}

export function resize(x: RefTensor, oh: number, ow: number, mode: 'bilinear' | 'nearest', alignCorners: boolean): RefTensor {
  const [n, c, h, w] = dims4(x.shape);
  const y = tensor([n, c, oh, ow]);
  for (let p = 0; p < n * c; p++) {
    const at = (iy: number, ix: number) => x.data[(p * h + iy) * w + ix]!;
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        let v: number;
        if (mode === 'nearest') {
          const sy = Math.min(Math.floor((oy * h) / oh), h - 1);
          const sx = Math.min(Math.floor((ox * w) / ow), w - 1);
          v = at(sy, sx);
        } else {
          const fy = resizeSrcCoord(oy, h, oh, alignCorners);
          const fx = resizeSrcCoord(ox, w, ow, alignCorners);
          const y0 = Math.min(Math.floor(fy), h - 1);
          const x0 = Math.min(Math.floor(fx), w - 1);
          const y1 = Math.min(y0 + 1, h - 1);
          const x1 = Math.min(x0 + 1, w - 1);
          const ty = fy - y0;
          const tx = fx - x0;
          const top = at(y0, x0) * (1 - tx) + at(y0, x1) * tx;
          const bot = at(y1, x0) * (1 - tx) + at(y1, x1) * tx;
          v = top * (1 - ty) + bot * ty;
        }
        y.data[(p * oh + oy) * ow + ox] = v;
      }
  }
  return y;
}

// ---- mobile-family ops ----------------------------------------------------------------
// The IR's clip, hardsigmoid, hardswish, transpose, slicechannels, reducemean and broadcasting
// add / mul. Semantics are ONNX's (opset 13/14), which is what torch exports for MobileNet v2/v3,
// ShuffleNet v2, EfficientNet and MNASNet (see spec/mobile.spec.ts).

/** Row-major strides of `shape`. */
export const stridesOf = (shape: number[]): number[] => {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
};
/** The multi-index of flat index i in `shape`. */
export const multiIndex = (i: number, shape: number[]): number[] => {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return idx;
};

/** ONNX Clip: min(max(x, lo), hi). ReLU6 is clip(x, 0, 6). */
export const clip = (x: RefTensor, lo: number, hi: number): RefTensor => map(x, (v) => Math.min(Math.max(v, lo), hi));
/** ONNX HardSigmoid: max(0, min(1, alpha·x + beta)); torch exports alpha = 1/6 (as float32), beta = 0.5 (the default, not written). */
export const hardSigmoid = (x: RefTensor, alpha: number, beta: number): RefTensor => map(x, (v) => Math.max(0, Math.min(1, alpha * v + beta)));
/** ONNX HardSwish: x · max(0, min(1, x/6 + 1/2)) (= torch's x · relu6(x + 3) / 6). */
export const hardSwish = (x: RefTensor): RefTensor => map(x, (v) => v * Math.max(0, Math.min(1, v / 6 + 0.5)));

/** ONNX Transpose: y.shape[d] = x.shape[perm[d]], y[i] = x[i permuted back]. Rank ≤ 6; perm[0] = 0 (the batch stays first). */
export function transpose(x: RefTensor, perm: number[]): RefTensor {
  const r = x.shape.length;
  if (r > 6) throw new Error(`transpose: rank ${r} > 6`);
  if (perm.length !== r || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) throw new Error(`transpose: perm [${perm.join(', ')}] is not a permutation of ${r} axes`);
  if (perm[0] !== 0) throw new Error(`transpose: perm [${perm.join(', ')}] moves the batch axis`);
  const shape = perm.map((p) => x.shape[p]!);
  const xs = stridesOf(x.shape);
  const y = tensor(shape);
  for (let o = 0; o < y.data.length; o++) {
    const idx = multiIndex(o, shape); // y[idx] = x[j] with j[perm[d]] = idx[d]
    let src = 0;
    for (let d = 0; d < r; d++) src += idx[d]! * xs[perm[d]!]!;
    y.data[o] = x.data[src]!;
  }
  return y;
}

/** Channels [c0, c0 + count) of axis 1 (ONNX Slice with axes [1], step 1; Split along axis 1), any rank ≥ 2. */
export function sliceChannels(x: RefTensor, c0: number, count: number): RefTensor {
  const [n, c] = x.shape as [number, number];
  if (x.shape.length < 2 || c0 < 0 || count < 1 || c0 + count > c) throw new Error(`sliceChannels: channels [${c0}, ${c0 + count}) of [${x.shape.join(', ')}]`);
  const inner = numel(x.shape.slice(2));
  const y = tensor([n, count, ...x.shape.slice(2)]);
  for (let b = 0; b < n; b++)
    for (let k = 0; k < count; k++)
      for (let p = 0; p < inner; p++) y.data[(b * count + k) * inner + p] = x.data[(b * c + c0 + k) * inner + p]!;
  return y;
}

/** The shape numpy broadcasting gives two shapes of equal rank (each dim equal, or one of them 1). */
export function broadcastShapeOf(a: number[], b: number[]): number[] {
  if (a.length !== b.length) throw new Error(`broadcast: ranks differ: [${a.join(', ')}] and [${b.join(', ')}]`);
  return a.map((d, i) => {
    const e = b[i]!;
    if (d !== e && d !== 1 && e !== 1) throw new Error(`broadcast: [${a.join(', ')}] and [${b.join(', ')}] differ at axis ${i}`);
    return d === 1 ? e : d;
  });
}
/** Flat index into a tensor of shape `s` (broadcast to `out`) of the output multi-index idx. */
export const broadcastSource = (idx: number[], s: number[], strides: number[]): number => idx.reduce((a, v, d) => a + (s[d] === 1 ? 0 : v * strides[d]!), 0);

/** ONNX Add / Mul of two computed tensors with numpy broadcasting over equal ranks (SE: [N,C,H,W] × [N,C,1,1]). */
export function broadcastBinary(a: RefTensor, b: RefTensor, op: 'add' | 'mul'): RefTensor {
  const shape = broadcastShapeOf(a.shape, b.shape);
  const as = stridesOf(a.shape), bs = stridesOf(b.shape);
  const y = tensor(shape);
  for (let o = 0; o < y.data.length; o++) {
    const idx = multiIndex(o, shape);
    const u = a.data[broadcastSource(idx, a.shape, as)]!, v = b.data[broadcastSource(idx, b.shape, bs)]!;
    y.data[o] = op === 'add' ? u + v : u * v;
  }
  return y;
}

/** The axes of a reduction, made non-negative and sorted; empty means all (ONNX, noop_with_empty_axes = 0). */
export function reduceAxes(rank: number, axes: number[]): number[] {
  const ax = axes.length === 0 ? Array.from({ length: rank }, (_, i) => i) : axes.map((a) => (a < 0 ? a + rank : a));
  if (ax.some((a) => a < 0 || a >= rank) || new Set(ax).size !== ax.length) throw new Error(`reduce: axes [${axes.join(', ')}] for rank ${rank}`);
  return ax.sort((p, q) => p - q);
}
/** ONNX ReduceMean over `axes` (torch: x.mean([2, 3]) → axes [2, 3], keepdims 0). */
export function reduceMean(x: RefTensor, axes: number[], keepdims: boolean): RefTensor {
  const ax = reduceAxes(x.shape.length, axes);
  const kept = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const ks = stridesOf(kept);
  const sums = new Float64Array(numel(kept));
  for (let i = 0; i < x.data.length; i++) sums[broadcastSource(multiIndex(i, x.shape), kept, ks)] += x.data[i]!;
  const count = x.data.length / sums.length;
  return { shape: keepdims ? kept : x.shape.filter((_, i) => !ax.includes(i)), data: sums.map((s) => s / count) };
}

// ---- training losses (engine/ops/loss.ts) ---------------------------------------------------

/**
 * Mean softmax cross-entropy of `logits` [n, c] against integer `labels` (the reference of
 * the softmax_cross_entropy op, engine/ops/loss.ts, and the Trainer's loss before it), its gradient
 * dL/dlogits = (softmax − onehot) / n (written into `grad` when given), and the number of rows
 * whose arg-max is the label. Computed in float64.
 */
export function softmaxCrossEntropy(logits: ArrayLike<number>, labels: ArrayLike<number>, n: number, c: number, grad?: Float32Array): { loss: number; correct: number } {
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const row = i * c;
    let m = -Infinity;
    let best = 0;
    for (let k = 0; k < c; k++) {
      const v = logits[row + k]!;
      if (v > m) {
        m = v;
        best = k;
      }
    }
    let s = 0;
    for (let k = 0; k < c; k++) s += Math.exp(logits[row + k]! - m);
    const y = labels[i]!;
    loss += Math.log(s) + m - logits[row + y]!;
    if (best === y) correct++;
    if (grad) for (let k = 0; k < c; k++) grad[row + k] = (Math.exp(logits[row + k]! - m) / s - (k === y ? 1 : 0)) / n;
  }
  return { loss: loss / n, correct };
}

/**
 * Pixel loss: the mean over the batch of Σ (ŷ − x)² / P (P pixels per image), and its gradient
 * 2(ŷ − x) / (P·N) into `grad`. Float64 sums. The reference of the mse op
 * (engine/ops/loss.ts, with the Trainer's 1/N seed), and the decoders' loss before it.
 */
export function pixelLoss(out: ArrayLike<number>, target: ArrayLike<number>, n: number, grad?: Float32Array): number {
  const P = out.length / n;
  let s = 0;
  for (let i = 0; i < out.length; i++) {
    const d = out[i]! - target[i]!;
    s += d * d;
    if (grad) grad[i] = (2 * d) / (P * n);
  }
  return s / (P * n);
}

/**
 * The loss of each image of a batch ([N, 1]) by the two above, in float64: softmaxCrossEntropy of
 * each row of logits [N, K] against its label, pixelLoss of each image against its target.
 * `target` has room for at least N images.
 */
export function perImageLoss(op: 'softmax_cross_entropy' | 'mse', x: RefTensor, target: Float64Array): RefTensor {
  const n = x.shape[0]!;
  const per = numel(x.shape.slice(1));
  const y = tensor([n, 1]);
  for (let b = 0; b < n; b++) {
    const row = x.data.subarray(b * per, (b + 1) * per);
    if (op === 'mse') y.data[b] = pixelLoss(row, target.subarray(b * per, (b + 1) * per), 1);
    else {
      const label = target[b]!;
      if (!(Number.isInteger(label) && label >= 0 && label < per)) throw new Error(`reference: label ${label} of image ${b} is not a class index in [0, ${per})`);
      y.data[b] = softmaxCrossEntropy(row, [label], 1, per).loss;
    }
  }
  return y;
}

// ---- whole graphs ---------------------------------------------------------------------

const sameShapes = (ts: RefTensor[]): boolean => ts.every((t) => t.shape.length === ts[0]!.shape.length && t.shape.every((d, i) => d === ts[0]!.shape[i]));

function evalNode(g: Graph, node: Node, ins: RefTensor[], outShape: number[]): RefTensor {
  const param = (name: string): Float64Array => {
    const p = g.params.get(name);
    if (!p) throw new Error(`reference: parameter ${name} is missing`);
    return f64(p.data);
  };
  const x = ins[0]!;
  switch (node.op) {
    case 'conv': {
      const a: ConvAttrs = node.attrs;
      return conv2d(x, param(a.weight), g.params.get(a.weight)!.dims[0]!, a, a.bias ? param(a.bias) : undefined);
    }
    case 'convtranspose': {
      const a = node.attrs;
      return convTranspose2d(x, param(a.weight), g.params.get(a.weight)!.dims[1]!, a, a.bias ? param(a.bias) : undefined);
    }
    case 'maxpool':
      return maxPool(x, node.attrs);
    case 'avgpool':
      return avgPool(x, node.attrs);
    case 'globalavgpool':
      return globalPool(x, 'avg');
    case 'globalmaxpool':
      return globalPool(x, 'max');
    case 'relu':
      return relu(x);
    case 'leakyrelu':
      return leakyRelu(x, node.attrs.alpha);
    case 'prelu':
      return prelu(x, param(node.attrs.slope));
    case 'elu':
      return elu(x, node.attrs.alpha);
    case 'sigmoid':
      return sigmoid(x);
    case 'tanh':
      return tanh(x);
    case 'lrn':
      return lrn(x, node.attrs.size, node.attrs.alpha, node.attrs.beta, node.attrs.bias);
    case 'concat':
      return concat(ins);
    case 'fc':
      return fc(x, param(node.attrs.weight), node.attrs.outFeatures, node.attrs.bias ? param(node.attrs.bias) : undefined);
    case 'softmax':
      return softmax(x, node.attrs.axis, !!node.attrs.log);
    case 'add':
      return sameShapes(ins) ? add(ins) : ins.slice(1).reduce((acc, t) => broadcastBinary(acc, t, 'add'), ins[0]!);
    case 'mul':
      return sameShapes(ins) ? mul(ins) : broadcastBinary(ins[0]!, ins[1]!, 'mul');
    case 'clip':
      return clip(x, node.attrs.min, node.attrs.max);
    case 'hardsigmoid':
      return hardSigmoid(x, node.attrs.alpha, node.attrs.beta);
    case 'hardswish':
      return hardSwish(x);
    case 'transpose':
      return transpose(x, node.attrs.perm);
    case 'slicechannels':
      return sliceChannels(x, node.attrs.start, node.attrs.count);
    case 'reducemean':
      return reduceMean(x, node.attrs.axes, node.attrs.keepdims);
    case 'channelaffine':
      return channelAffine(x, node.attrs.scale ? param(node.attrs.scale) : undefined, node.attrs.shift ? param(node.attrs.shift) : undefined);
    case 'flatten':
      return flatten(x, node.attrs.axis);
    case 'reshape':
      return reshape(x, node.attrs.shape);
    case 'pad':
      return pad(x, node.attrs.pads, node.attrs.value);
    case 'resize': {
      const a = node.attrs;
      const [, , h, w] = dims4(x.shape);
      const [oh, ow] = a.outSize ?? [Math.floor(h * a.scale![0]), Math.floor(w * a.scale![1])];
      void outShape;
      return resize(x, oh, ow, a.mode, a.alignCorners);
    }
    case 'identity':
      return { shape: [...x.shape], data: x.data.slice() };
    case 'softmax_cross_entropy':
    case 'mse':
      return perImageLoss(node.op, x, param(node.attrs.target));
  }
}

/**
 * Interprets `graph` node by node on the CPU in float64. Returns every value named in `outputs`
 * (value names or layer names; default: the graph's outputs). Checks each result against
 * engine/shapes.ts inferShapes.
 */
export function runGraphReference(graph: Graph, input: Float64Array | Float32Array, batch: number, outputs?: string[]): Map<string, RefTensor> {
  const shapes = inferShapes(graph, batch);
  const values = new Map<string, RefTensor>();
  values.set(graph.input.name, tensor(shapes.get(graph.input.name)!, input));
  for (const node of graph.nodes) {
    const ins = node.inputs.map((v) => {
      const t = values.get(v);
      if (!t) throw new Error(`reference: layer ${node.name} reads ${v}, not computed yet`);
      return t;
    });
    const want = shapes.get(node.outputs[0]!)!;
    const y = evalNode(graph, node, ins, want);
    if (y.shape.length !== want.length || y.shape.some((d, i) => d !== want[i]))
      throw new Error(`reference: layer ${node.name} (${node.op}) gave [${y.shape.join(', ')}], inferShapes says [${want.join(', ')}]`);
    for (const o of node.outputs) values.set(o, y);
  }
  const names = outputs ?? graph.outputs;
  const res = new Map<string, RefTensor>();
  for (const name of names) {
    let v = values.get(name);
    if (!v) {
      const byLayer = graph.nodes.find((n) => n.name === name);
      if (byLayer) v = values.get(byLayer.outputs[0]!);
    }
    if (!v) throw new Error(`reference: no value or layer named ${name}`);
    res.set(name, v);
  }
  return res;
}

// ---- network dissection (engine/dissect.ts, METHODS.md §7) ------------------------------------------

/**
 * One h×w map upsampled to outH×outW, bilinear with half-pixel centres (align_corners = false):
 * output (y, x) samples the source at ((y + ½)·h/outH − ½, (x + ½)·w/outW − ½) clamped to the map.
 */
export function upsampleBilinear(map: ArrayLike<number>, h: number, w: number, outH: number, outW: number): Float64Array {
  const out = new Float64Array(outH * outW);
  const tap = (o: number, n: number, up: number): [number, number, number] => {
    const s = Math.min(Math.max(((o + 0.5) * n) / up - 0.5, 0), n - 1);
    const i0 = Math.floor(s);
    return [i0, Math.min(i0 + 1, n - 1), s - i0];
  };
  for (let y = 0; y < outH; y++) {
    const [y0, y1, ty] = tap(y, h, outH);
    for (let x = 0; x < outW; x++) {
      const [x0, x1, tx] = tap(x, w, outW);
      // a + t·(b − a): exact where the corners are equal, as a constant map must stay constant
      const top = map[y0 * w + x0]! + tx * (map[y0 * w + x1]! - map[y0 * w + x0]!);
      const bottom = map[y1 * w + x0]! + tx * (map[y1 * w + x1]! - map[y1 * w + x0]!);
      out[y * outW + x] = top + ty * (bottom - top);
    }
  }
  return out;
}

/** np.quantile(values, 1 − q, method='lower'): the ⌊(n − 1)(1 − q)⌋-th smallest value (0-based). */
export function quantileLower(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.floor((sorted.length - 1) * (1 - q))]!;
}

export interface DissectTallyRef {
  /** units × (concepts + 1) */
  intersections: Float64Array;
  unitArea: Float64Array;
  /** concepts + 1 */
  conceptArea: Float64Array;
  /** images × units */
  maxima: Float64Array;
}

/**
 * The tally, by plain loops: for each image n, unit k and label pixel p, M = S(A_nk)(p) > T_k;
 * |M| per unit, |L_c| per concept and |M ∩ L_c| per pair, a concept counted once per pixel however many
 * of the P label planes (labels N×P×maskH×maskW) carry it.
 */
export function dissectTally(act: ArrayLike<number>, shape: number[], thresholds: ArrayLike<number>, labels: ArrayLike<number>, planes: number, maskH: number, maskW: number, concepts: number): DissectTallyRef {
  const [n, k, h, w] = shape as [number, number, number, number];
  const hw = maskH * maskW, c1 = concepts + 1;
  const r: DissectTallyRef = { intersections: new Float64Array(k * c1), unitArea: new Float64Array(k), conceptArea: new Float64Array(c1), maxima: new Float64Array(n * k) };
  const conceptsAt = (i: number, p: number) => new Set(Array.from({ length: planes }, (_, l) => labels[(i * planes + l) * hw + p]!).filter((c) => c !== 0));
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < hw; p++) for (const c of conceptsAt(i, p)) r.conceptArea[c]!++;
    for (let u = 0; u < k; u++) {
      const map = Array.from({ length: h * w }, (_, q) => act[(i * k + u) * h * w + q]!);
      r.maxima[i * k + u] = Math.max(...map);
      const up = upsampleBilinear(map, h, w, maskH, maskW);
      for (let p = 0; p < hw; p++) {
        if (!(up[p]! > thresholds[u]!)) continue;
        r.unitArea[u]!++;
        for (const c of conceptsAt(i, p)) r.intersections[u * c1 + c]!++;
      }
    }
  }
  return r;
}
