// Turning a decoded image into the network's input tensor, and resizing CHW float maps.
// Pure TypeScript, no Node modules: runs in the browser too.
import type { Preprocess } from '../engine/ir.ts';
import { ShapeError } from '../engine/errors.ts';
import type { RGBAImage } from './image.ts';

/** ITU-R BT.601 luma weights. */
export const LUMA_601 = [0.299, 0.587, 0.114] as const;

/**
 * Produces the C×H×W float32 input for one image (the batch dimension is the caller's).
 *
 * Exact order of operations, per output value:
 *   1. pixel: the R, G, B bytes (0..255; alpha is ignored, never composited).
 *      Greyscale (when `channels === 1` or `p.grayscale`) is the BT.601 luma
 *      0.299 R + 0.587 G + 0.114 B, still in 0..255 units, repeated over all channels.
 *   2. resize to `p.size` = [H, W] when given and different from the image's size:
 *      separable triangle (bilinear) filter whose support grows with the shrink factor
 *      (antialiased, like PIL's BILINEAR resize); no rounding to integers in between.
 *   3. channel order: RGB, or BGR when `p.bgr` (Caffe).
 *   4. minus mean: `v -= p.mean[c]`, c in the network's channel order (so for BGR,
 *      mean[0] is the blue mean); a single-value mean applies to every channel.
 *   5. times scale: `v *= p.scale`.
 * Resizing is linear, so doing it before or after greyscale gives the same values.
 */
export function preprocessImage(img: RGBAImage, p: Preprocess & { channels: number }): Float32Array {
  const C = p.channels;
  if (C !== 1 && C !== 3) throw new ShapeError(`preprocess: the network wants ${C} input channels; images give 1 or 3`);
  const { width: w, height: h, data } = img;
  if (data.length < w * h * 4) throw new ShapeError(`preprocess: ${w}x${h} RGBA image needs ${w * h * 4} bytes, got ${data.length}`);
  const [outH, outW] = p.size ?? [h, w];
  if (!(Number.isInteger(outH) && Number.isInteger(outW) && outH > 0 && outW > 0)) {
    throw new ShapeError(`preprocess: bad target size ${outH}x${outW}`);
  }
  const mean = p.mean ?? [];
  if (mean.length !== 0 && mean.length !== 1 && mean.length !== C) {
    throw new ShapeError(`preprocess: ${mean.length} mean values for ${C} channels`);
  }
  const scale = p.scale ?? 1;
  const grey = C === 1 || !!p.grayscale;

  // 1. planes in 0..255 units: one luma plane, or R, G, B.
  const n = w * h;
  const planes = grey ? 1 : 3;
  let src: Float32Array = new Float32Array(planes * n);
  if (grey) {
    for (let i = 0; i < n; i++) src[i] = LUMA_601[0] * data[4 * i] + LUMA_601[1] * data[4 * i + 1] + LUMA_601[2] * data[4 * i + 2];
  } else {
    for (let i = 0; i < n; i++) {
      src[i] = data[4 * i];
      src[n + i] = data[4 * i + 1];
      src[2 * n + i] = data[4 * i + 2];
    }
  }
  // 2. resize.
  if (outH !== h || outW !== w) src = resizeAntialias(src, planes, h, w, outH, outW);

  // 3-5. channel order, mean, scale.
  const m = outH * outW;
  const out = new Float32Array(C * m);
  for (let c = 0; c < C; c++) {
    const from = grey ? 0 : p.bgr ? 2 - c : c;
    const mu = mean.length === 0 ? 0 : mean.length === 1 ? mean[0] : mean[c];
    for (let i = 0; i < m; i++) out[c * m + i] = (src[from * m + i] - mu) * scale;
  }
  return out;
}

interface Taps {
  start: Int32Array; // first source index per output index
  count: Int32Array; // number of taps per output index
  maxCount: number;
  weights: Float32Array; // [out][maxCount], normalised to sum 1
}

/** PIL-style 1-D resampling coefficients for the triangle filter (support 1 scaled by the shrink factor). */
function triangleTaps(inSize: number, outSize: number): Taps {
  const ratio = inSize / outSize;
  const filterScale = Math.max(ratio, 1);
  const support = 1 * filterScale;
  const maxCount = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * maxCount);
  const tmp = new Float64Array(maxCount);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * ratio;
    const xmin = Math.max(Math.floor(center - support + 0.5), 0);
    const xmax = Math.min(Math.floor(center + support + 0.5), inSize);
    const k = Math.min(xmax - xmin, maxCount);
    let total = 0;
    for (let x = 0; x < k; x++) {
      const t = Math.abs((x + xmin - center + 0.5) / filterScale);
      const wgt = t < 1 ? 1 - t : 0;
      tmp[x] = wgt;
      total += wgt;
    }
    start[i] = xmin;
    count[i] = k;
    for (let x = 0; x < k; x++) weights[i * maxCount + x] = total > 0 ? tmp[x] / total : 0;
  }
  return { start, count, maxCount, weights };
}

/**
 * Antialiased bilinear resize of a C×H×W float map, matching PIL's BILINEAR resize
 * (without its rounding to 8 bits): a separable triangle filter, half-pixel centres,
 * whose support widens by the shrink factor so a big shrink averages over the area.
 * When enlarging it equals plain bilinear interpolation with align_corners=false and
 * edge clamping.
 */
export function resizeAntialias(src: Float32Array, c: number, h: number, w: number, outH: number, outW: number): Float32Array {
  checkResize('resizeAntialias', src, c, h, w, outH, outW);
  if (outH === h && outW === w) return src.slice();
  const tx = triangleTaps(w, outW);
  const ty = triangleTaps(h, outH);
  // Horizontal pass: [c, h, outW].
  const mid = new Float32Array(c * h * outW);
  for (let p = 0; p < c * h; p++) {
    const row = p * w;
    for (let x = 0; x < outW; x++) {
      const s = row + tx.start[x];
      const k = tx.count[x];
      const wo = x * tx.maxCount;
      let acc = 0;
      for (let j = 0; j < k; j++) acc += tx.weights[wo + j] * src[s + j];
      mid[p * outW + x] = acc;
    }
  }
  // Vertical pass: [c, outH, outW].
  const out = new Float32Array(c * outH * outW);
  for (let ch = 0; ch < c; ch++) {
    const base = ch * h * outW;
    for (let y = 0; y < outH; y++) {
      const s = ty.start[y];
      const k = ty.count[y];
      const wo = y * ty.maxCount;
      const o = (ch * outH + y) * outW;
      for (let x = 0; x < outW; x++) {
        let acc = 0;
        for (let j = 0; j < k; j++) acc += ty.weights[wo + j] * mid[base + (s + j) * outW + x];
        out[o + x] = acc;
      }
    }
  }
  return out;
}

/**
 * Plain bilinear resize of a C×H×W float map (no antialiasing), align_corners=false with
 * half-pixel centres, like PyTorch's `F.interpolate(mode='bilinear', align_corners=False)`:
 * source coordinate `(i + 0.5) * in/out - 0.5`, clamped at 0, neighbours clamped at the edge.
 * Used to upsample heatmaps to the image size.
 */
export function resizeBilinear(src: Float32Array, c: number, h: number, w: number, outH: number, outW: number): Float32Array {
  checkResize('resizeBilinear', src, c, h, w, outH, outW);
  if (outH === h && outW === w) return src.slice();
  const axis = (inSize: number, outSize: number) => {
    const i0 = new Int32Array(outSize);
    const i1 = new Int32Array(outSize);
    const f = new Float32Array(outSize);
    const r = inSize / outSize;
    for (let i = 0; i < outSize; i++) {
      const s = Math.max((i + 0.5) * r - 0.5, 0);
      const a = Math.min(Math.floor(s), inSize - 1);
      i0[i] = a;
      i1[i] = Math.min(a + 1, inSize - 1);
      f[i] = s - a;
    }
    return { i0, i1, f };
  };
  const ax = axis(w, outW);
  const ay = axis(h, outH);
  const out = new Float32Array(c * outH * outW);
  for (let ch = 0; ch < c; ch++) {
    const base = ch * h * w;
    for (let y = 0; y < outH; y++) {
      const r0 = base + ay.i0[y] * w;
      const r1 = base + ay.i1[y] * w;
      const fy = ay.f[y];
      const o = (ch * outH + y) * outW;
      for (let x = 0; x < outW; x++) {
        const x0 = ax.i0[x];
        const x1 = ax.i1[x];
        const fx = ax.f[x];
        const top = src[r0 + x0] + (src[r0 + x1] - src[r0 + x0]) * fx;
        const bot = src[r1 + x0] + (src[r1 + x1] - src[r1 + x0]) * fx;
        out[o + x] = top + (bot - top) * fy;
      }
    }
  }
  return out;
}

function checkResize(fn: string, src: Float32Array, c: number, h: number, w: number, outH: number, outW: number): void {
  for (const v of [c, h, w, outH, outW]) {
    if (!(Number.isInteger(v) && v > 0)) throw new ShapeError(`${fn}: bad size ${c}x${h}x${w} -> ${outH}x${outW}`);
  }
  if (src.length !== c * h * w) throw new ShapeError(`${fn}: ${c}x${h}x${w} map needs ${c * h * w} values, got ${src.length}`);
}

/**
 * A C×H×W image blurred per channel by a separable Gaussian of σ `sigma` pixels (radius ⌈3σ⌉, at
 * least 1; at the edges the weights are renormalised over the taps inside the image, so a constant
 * image stays constant; float64 sums). σ ≤ 0 gives a copy. IG's blurred baseline, RISE's blurred
 * fill and insertion's start share it.
 */
export function gaussianBlur(x: Float32Array, c: number, h: number, w: number, sigma: number): Float32Array {
  if (!(sigma > 0)) return x.slice();
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = Float64Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const tmp = new Float64Array(h * w);
  const out = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    const base = ch * h * w;
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++) {
        let s = 0, ws = 0;
        for (let d = Math.max(-r, -xx); d <= Math.min(r, w - 1 - xx); d++) (s += k[d + r]! * x[base + y * w + xx + d]!), (ws += k[d + r]!);
        tmp[y * w + xx] = s / ws;
      }
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++) {
        let s = 0, ws = 0;
        for (let d = Math.max(-r, -y); d <= Math.min(r, h - 1 - y); d++) (s += k[d + r]! * tmp[(y + d) * w + xx]!), (ws += k[d + r]!);
        out[base + y * w + xx] = s / ws;
      }
  }
  return out;
}
