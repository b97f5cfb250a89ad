// Plain-loop float64 CPU references of the reverse-pass ops (engine/reverse-kernels.ts), written
// in SCATTER form (each forward term sends its contribution back), independently of the gather
// form the GPU kernels use; and central finite differences, which check these references against
// the forward references of spec/reference.ts.

import type { PoolAttrs } from '../engine/ir.ts';
import { numel } from '../engine/shapes.ts';
import { tensor, poolOutSize, resizeSrcCoord, stridesOf, multiIndex, broadcastSource, reduceAxes, type ConvParams, type RefTensor } from './reference.ts';

const dims4 = (s: number[]): [number, number, number, number] => {
  if (s.length !== 4) throw new Error(`expected a 4-D NCHW shape, got [${s.join(', ')}]`);
  return s as [number, number, number, number];
};

/** Calls f(b, co, c (in-group input channel), ci, oy, ox, ky, kx, iy, ix) for every in-bounds term of conv2d. */
function convTerms(xShape: number[], yShape: number[], a: ConvParams, f: (b: number, co: number, c: number, ci: number, oy: number, ox: number, ky: number, kx: number, iy: number, ix: number) => void): void {
  const [n, cin, h, w] = dims4(xShape);
  const [, cout, oh, ow] = dims4(yShape);
  const cinG = cin / a.group;
  const coutG = cout / a.group;
  for (let b = 0; b < n; b++)
    for (let co = 0; co < cout; co++) {
      const g = Math.floor(co / coutG);
      for (let c = 0; c < cinG; c++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++)
            for (let ky = 0; ky < a.kernel[0]; ky++) {
              const iy = oy * a.stride[0] - a.pads[0] + ky * a.dilation[0];
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < a.kernel[1]; kx++) {
                const ix = ox * a.stride[1] - a.pads[1] + kx * a.dilation[1];
                if (ix < 0 || ix >= w) continue;
                f(b, co, c, g * cinG + c, oy, ox, ky, kx, iy, ix);
              }
            }
    }
}

/** dx of conv2d: dx[b,ci,iy,ix] += dy[b,co,oy,ox] · w[co,c,ky,kx] over every term. w: [Cout, Cin/group, KH, KW]. */
export function convInputGrad(dy: RefTensor, w: ArrayLike<number>, xShape: number[], a: ConvParams): RefTensor {
  const [, cin, h, wd] = dims4(xShape);
  const [, cout, oh, ow] = dims4(dy.shape);
  const cinG = cin / a.group;
  const [kh, kw] = a.kernel;
  const dx = tensor(xShape);
  convTerms(xShape, dy.shape, a, (b, co, c, ci, oy, ox, ky, kx, iy, ix) => {
    dx.data[((b * cin + ci) * h + iy) * wd + ix] += dy.data[((b * cout + co) * oh + oy) * ow + ox]! * w[((co * cinG + c) * kh + ky) * kw + kx]!;
  });
  return dx;
}

/** dW of conv2d, [Cout, Cin/group, KH, KW]. */
export function convWeightGrad(x: RefTensor, dy: RefTensor, a: ConvParams): RefTensor {
  const [, cin, h, wd] = dims4(x.shape);
  const [, cout, oh, ow] = dims4(dy.shape);
  const cinG = cin / a.group;
  const [kh, kw] = a.kernel;
  const dw = tensor([cout, cinG, kh, kw]);
  convTerms(x.shape, dy.shape, a, (b, co, c, ci, oy, ox, ky, kx, iy, ix) => {
    dw.data[((co * cinG + c) * kh + ky) * kw + kx] += dy.data[((b * cout + co) * oh + oy) * ow + ox]! * x.data[((b * cin + ci) * h + iy) * wd + ix]!;
  });
  return dw;
}

/** db[c] = Σ_{n,p} dy[n,c,p]. */
export function biasGrad(dy: RefTensor): RefTensor {
  const [n, c] = [dy.shape[0]!, dy.shape[1] ?? 1];
  const hw = numel(dy.shape.slice(2));
  const db = tensor([c]);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < hw; p++) db.data[ch] += dy.data[(b * c + ch) * hw + p]!;
  return db;
}

/** Max-pool backward / unpooling: dx[plane, switch] += dy (switch -1: dropped). */
export function unpool(dy: RefTensor, switches: Int32Array, xShape: number[]): RefTensor {
  const [n, c, h, w] = dims4(xShape);
  const [, , oh, ow] = dims4(dy.shape);
  const dx = tensor(xShape);
  for (let p = 0; p < n * c; p++)
    for (let o = 0; o < oh * ow; o++) {
      const s = switches[p * oh * ow + o]!;
      if (s >= 0) dx.data[p * h * w + s] += dy.data[p * oh * ow + o]!;
    }
  return dx;
}

/** Average-pool backward, divisors as spec/reference.ts avgPool. */
export function avgPoolGrad(dy: RefTensor, xShape: number[], a: PoolAttrs): RefTensor {
  const [n, c, h, w] = dims4(xShape);
  const [pt, pl, pb, pr] = a.pads;
  const oh = poolOutSize(h, a.kernel[0], a.stride[0], pt, pb, a.ceil);
  const ow = poolOutSize(w, a.kernel[1], a.stride[1], pl, pr, a.ceil);
  if (dy.shape[2] !== oh || dy.shape[3] !== ow) throw new Error('avgPoolGrad: dy shape does not match the pool');
  const dx = tensor(xShape);
  for (let p = 0; p < n * c; p++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        const ys = oy * a.stride[0] - pt;
        const xs = ox * a.stride[1] - pl;
        const real: number[] = [];
        let padded = 0;
        for (let iy = ys; iy < ys + a.kernel[0]; iy++)
          for (let ix = xs; ix < xs + a.kernel[1]; ix++) {
            if (iy >= -pt && iy < h + pb && ix >= -pl && ix < w + pr) padded++;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) real.push((p * h + iy) * w + ix);
          }
        const cnt = a.countIncludePad ? padded : real.length;
        if (cnt === 0) continue;
        const g = dy.data[(p * oh + oy) * ow + ox]! / cnt;
        for (const i of real) dx.data[i] += g;
      }
  return dx;
}

export function globalAvgPoolGrad(dy: RefTensor, xShape: number[]): RefTensor {
  const hw = numel(xShape.slice(2));
  const dx = tensor(xShape);
  for (let i = 0; i < dx.data.length; i++) dx.data[i] = dy.data[Math.floor(i / hw)]! / hw;
  return dx;
}

const zip = (a: RefTensor, b: ArrayLike<number>, f: (u: number, v: number) => number): RefTensor => ({ shape: [...a.shape], data: a.data.map((u, i) => f(u, b[i]!)) });

/** ReLU rules: gradient dy·mask, guided max(dy,0)·mask, deconv max(dy,0). `mask` is 0/1 (or pass x and fromInput). */
export function reluBackward(rule: 'gradient' | 'guided' | 'deconv', dy: RefTensor, mask?: ArrayLike<number>, fromInput = false): RefTensor {
  if (rule === 'deconv') return zip(dy, dy.data, (g) => Math.max(g, 0));
  const m = (v: number) => (fromInput ? (v > 0 ? 1 : 0) : v);
  return zip(dy, mask!, (g, v) => (rule === 'guided' ? Math.max(g, 0) : g) * m(v));
}

export const leakyReluGrad = (dy: RefTensor, x: ArrayLike<number>, alpha: number): RefTensor => zip(dy, x, (g, v) => (v > 0 ? g : alpha * g));
/** ELU from its input: dy where x > 0, dy·alpha·exp(x) elsewhere (PyTorch's elu_backward, alpha·dy at 0). */
export const eluGrad = (dy: RefTensor, x: ArrayLike<number>, alpha: number): RefTensor => zip(dy, x, (g, v) => (v > 0 ? g : g * alpha * Math.exp(v)));
/** Sigmoid from its output: dy·y·(1 − y). */
export const sigmoidGrad = (dy: RefTensor, y: ArrayLike<number>): RefTensor => zip(dy, y, (g, v) => g * v * (1 - v));
/** tanh from its output: dy·(1 − y²). */
export const tanhGrad = (dy: RefTensor, y: ArrayLike<number>): RefTensor => zip(dy, y, (g, v) => g * (1 - v * v));

/** LRN backward: scatter of d y_c' / d x_c over each window. */
export function lrnGrad(x: RefTensor, dy: RefTensor, size: number, alpha: number, beta: number, bias: number): RefTensor {
  const [n, c] = x.shape as [number, number];
  const hw = numel(x.shape.slice(2));
  const dx = tensor(x.shape);
  const at = (b: number, ch: number, p: number) => (b * c + ch) * hw + p;
  for (let b = 0; b < n; b++)
    for (let p = 0; p < hw; p++)
      for (let ch = 0; ch < c; ch++) {
        const lo = Math.max(ch - Math.floor((size - 1) / 2), 0);
        const hi = Math.min(ch + Math.floor(size / 2), c - 1);
        let s = 0;
        for (let k = lo; k <= hi; k++) s += x.data[at(b, k, p)]! ** 2;
        const scale = bias + (alpha / size) * s;
        const i = at(b, ch, p);
        const g = dy.data[i]!;
        // y_ch = x_ch · scale^-beta; d scale / d x_k = 2 (alpha/size) x_k for k in the window
        dx.data[i] += g * Math.pow(scale, -beta);
        const common = g * x.data[i]! * -beta * Math.pow(scale, -beta - 1) * 2 * (alpha / size);
        for (let k = lo; k <= hi; k++) dx.data[at(b, k, p)] += common * x.data[at(b, k, p)]!;
      }
  return dx;
}

/** Concat backward: channels [c0, c0+cx) of dy; with `acc`, added to a copy of acc. */
export function splitChannels(dy: RefTensor, c0: number, cx: number, acc?: RefTensor): RefTensor {
  const [n, cy] = dy.shape as [number, number];
  const hw = numel(dy.shape.slice(2));
  const dx = tensor([n, cx, ...dy.shape.slice(2)]);
  if (acc) dx.data.set(acc.data);
  for (let b = 0; b < n; b++) for (let c = 0; c < cx; c++) for (let p = 0; p < hw; p++) dx.data[(b * cx + c) * hw + p] += dy.data[(b * cy + c0 + c) * hw + p]!;
  return dx;
}

/** FC input gradient dx [N, inF] (reshaped to xShape) from dy [N, outF] and W [outF, inF]. */
export function fcInputGrad(dy: RefTensor, w: ArrayLike<number>, xShape: number[]): RefTensor {
  const [n, outF] = dy.shape as [number, number];
  const inF = numel(xShape.slice(1));
  const dx = tensor(xShape);
  for (let b = 0; b < n; b++) for (let o = 0; o < outF; o++) for (let i = 0; i < inF; i++) dx.data[b * inF + i] += dy.data[b * outF + o]! * w[o * inF + i]!;
  return dx;
}

export function fcWeightGrad(x: RefTensor, dy: RefTensor): RefTensor {
  const [n, outF] = dy.shape as [number, number];
  const inF = numel(x.shape.slice(1));
  const dw = tensor([outF, inF]);
  for (let b = 0; b < n; b++) for (let o = 0; o < outF; o++) for (let i = 0; i < inF; i++) dw.data[o * inF + i] += dy.data[b * outF + o]! * x.data[b * inF + i]!;
  return dw;
}

/** Softmax backward from the forward output y along axis 1 (any trailing dims): Jacobian applied term by term. */
export function softmaxGrad(y: RefTensor, dy: RefTensor, log = false): RefTensor {
  const c = y.shape[1]!;
  const outer = y.shape[0]!;
  const inner = numel(y.shape.slice(2));
  const dx = tensor(y.shape);
  for (let o = 0; o < outer; o++)
    for (let p = 0; p < inner; p++) {
      const at = (k: number) => (o * c + k) * inner + p;
      for (let j = 0; j < c; j++) // output j
        for (let k = 0; k < c; k++) {
          // softmax: dy_j/dx_k = s_j (δ_jk − s_k); log-softmax: δ_jk − s_k
          const sk = log ? Math.exp(y.data[at(k)]!) : y.data[at(k)]!;
          const sj = log ? 1 : y.data[at(j)]!;
          dx.data[at(k)] += dy.data[at(j)]! * sj * ((j === k ? 1 : 0) - sk);
        }
    }
  return dx;
}

/** Bilinear resize backward: scatter of each output's four (clamped) taps, as spec/reference.ts resize. */
export function resizeBilinearGrad(dy: RefTensor, xShape: number[], alignCorners: boolean): RefTensor {
  const [n, c, h, w] = dims4(xShape);
  const [, , oh, ow] = dims4(dy.shape);
  const dx = tensor(xShape);
  for (let p = 0; p < n * c; p++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        const fy = resizeSrcCoord(oy, h, oh, alignCorners);
        const fx = resizeSrcCoord(ox, w, ow, alignCorners);
        const y0 = Math.min(Math.floor(fy), h - 1);
        const x0 = Math.min(Math.floor(fx), w - 1);
        const y1 = Math.min(y0 + 1, h - 1);
        const x1 = Math.min(x0 + 1, w - 1);
        const ty = fy - y0;
        const tx = fx - x0;
        const g = dy.data[(p * oh + oy) * ow + ox]!;
        const add = (iy: number, ix: number, v: number) => (dx.data[(p * h + iy) * w + ix] += v);
        add(y0, x0, g * (1 - ty) * (1 - tx));
        add(y0, x1, g * (1 - ty) * tx);
        add(y1, x0, g * ty * (1 - tx));
        add(y1, x1, g * ty * tx);
      }
  return dx;
}

// ---- mobile-family ops (spec/reference.ts's clip … reduceMean) -------------------------------
// Values at the kinks, where the gradient is not defined, follow PyTorch's own backward of the
// modules these models are built from:
//  - clip: dy where lo < x < hi strictly, 0 at x = lo and x = hi. That is nn.ReLU6 / F.hardtanh
//    (hardtanh_backward) and Loupe's ReLU (0 at 0). NB torch.clamp's backward and onnxruntime
//    training's Clip gradient take the subgradient 1 at both kinks instead (lo ≤ x ≤ hi).
//  - hardSigmoid: alpha·dy where 0 < alpha·x + beta < 1 strictly (PyTorch and onnxruntime agree).
//  - hardSwish: 0 for x < −3, dy·(x/3 + 1/2) for −3 ≤ x ≤ 3 (so −dy/2 at −3 and 3dy/2 at 3), dy for
//    x > 3: PyTorch's hardswish_backward. The opset-13 export x · HardSigmoid(x), differentiated
//    op by op, gives 0 at −3 and dy at 3 instead; the two differ only at exactly ±3.

/** Clip backward. gradient: dy where lo < x < hi. For a rectifier (lo = 0, e.g. ReLU6) also
 *  deconv: max(dy, 0), the forward pattern ignored (as ReLU's); guided: max(dy, 0) where 0 < x < hi. */
export function clipBackward(rule: 'gradient' | 'guided' | 'deconv', dy: RefTensor, x: ArrayLike<number>, lo: number, hi: number): RefTensor {
  if (rule !== 'gradient' && lo !== 0) throw new Error(`clipBackward: the ${rule} rule is defined for a rectifier (lo = 0), not lo = ${lo}`);
  if (rule === 'deconv') return zip(dy, dy.data, (g) => Math.max(g, 0));
  return zip(dy, x, (g, v) => (v > lo && v < hi ? (rule === 'guided' ? Math.max(g, 0) : g) : 0));
}

export const hardSigmoidGrad = (dy: RefTensor, x: ArrayLike<number>, alpha: number, beta: number): RefTensor =>
  zip(dy, x, (g, v) => {
    const t = alpha * v + beta;
    return t > 0 && t < 1 ? alpha * g : 0;
  });

export const hardSwishGrad = (dy: RefTensor, x: ArrayLike<number>): RefTensor => zip(dy, x, (g, v) => (v < -3 ? 0 : v <= 3 ? g * (v / 3 + 0.5) : g));

/** Transpose backward: each forward term y[o] = x[src] sends dy[o] back to dx[src]. */
export function transposeGrad(dy: RefTensor, xShape: number[], perm: number[]): RefTensor {
  const xs = stridesOf(xShape);
  const dx = tensor(xShape);
  for (let o = 0; o < dy.data.length; o++) {
    const idx = multiIndex(o, dy.shape);
    let src = 0;
    for (let d = 0; d < idx.length; d++) src += idx[d]! * xs[perm[d]!]!;
    dx.data[src] += dy.data[o]!;
  }
  return dx;
}

/** sliceChannels backward: dy into channels [c0, c0 + dy.shape[1]) of a zero dx (added to a copy of `acc` when given: both chunks of one tensor). */
export function sliceChannelsGrad(dy: RefTensor, xShape: number[], c0: number, acc?: RefTensor): RefTensor {
  const [n, cy] = dy.shape as [number, number];
  const cx = xShape[1]!;
  const inner = numel(xShape.slice(2));
  const dx = tensor(xShape);
  if (acc) dx.data.set(acc.data);
  for (let b = 0; b < n; b++) for (let k = 0; k < cy; k++) for (let p = 0; p < inner; p++) dx.data[(b * cx + c0 + k) * inner + p] += dy.data[(b * cy + k) * inner + p]!;
  return dx;
}

/** broadcastBinary backward, both operands: each output term sends dy (add) or dy·other (mul) back, so a broadcast operand's gradient is summed over its broadcast axes. */
export function broadcastBinaryGrad(a: RefTensor, b: RefTensor, dy: RefTensor, op: 'add' | 'mul'): { da: RefTensor; db: RefTensor } {
  const as = stridesOf(a.shape), bs = stridesOf(b.shape);
  const da = tensor(a.shape), db = tensor(b.shape);
  for (let o = 0; o < dy.data.length; o++) {
    const idx = multiIndex(o, dy.shape);
    const ia = broadcastSource(idx, a.shape, as), ib = broadcastSource(idx, b.shape, bs);
    const g = dy.data[o]!;
    da.data[ia] += op === 'add' ? g : g * b.data[ib]!;
    db.data[ib] += op === 'add' ? g : g * a.data[ia]!;
  }
  return { da, db };
}

/** reduceMean backward: every input term of an output mean gets dy / (number of terms). */
export function reduceMeanGrad(dy: RefTensor, xShape: number[], axes: number[]): RefTensor {
  const ax = reduceAxes(xShape.length, axes);
  const kept = xShape.map((d, i) => (ax.includes(i) ? 1 : d)); // dy's values in keepdims layout (same order either way)
  const ks = stridesOf(kept);
  const count = numel(xShape) / numel(kept);
  if (dy.data.length !== numel(kept)) throw new Error('reduceMeanGrad: dy does not match the reduction');
  const dx = tensor(xShape);
  for (let i = 0; i < dx.data.length; i++) dx.data[i] += dy.data[broadcastSource(multiIndex(i, xShape), kept, ks)]! / count;
  return dx;
}

// ---- finite differences ---------------------------------------------------------------------

/**
 * Central finite differences of L(v) = Σ f(v) · r with respect to v (float64):
 * (L(v + eps e_i) − L(v − eps e_i)) / 2eps for each i (or only the indices in `which`; others 0).
 */
export function finiteDiff(f: (v: Float64Array) => ArrayLike<number>, v: Float64Array, r: ArrayLike<number>, eps = 1e-6, which?: number[]): Float64Array {
  const L = (u: Float64Array) => {
    const y = f(u);
    if (y.length !== r.length) throw new Error(`finiteDiff: output has ${y.length} values, r ${r.length}`);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i]! * r[i]!;
    return s;
  };
  const g = new Float64Array(v.length);
  const u = Float64Array.from(v);
  for (const i of which ?? v.keys()) {
    const v0 = u[i]!;
    u[i] = v0 + eps;
    const lp = L(u);
    u[i] = v0 - eps;
    const lm = L(u);
    u[i] = v0;
    g[i] = (lp - lm) / (2 * eps);
  }
  return g;
}
