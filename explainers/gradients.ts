// Gradient- and projection-based explainers (METHODS.md §3–4), each on a batch of images:
// saliency, DeconvNet, guided backprop, the CAM family (Grad-CAM, Grad-CAM++, XGrad-CAM, HiResCAM,
// LayerCAM, EigenCAM; single and multi-layer; their formulas in cam.ts), Guided Grad-CAM and
// occlusion. They compose the engine's recording forward pass and reverse walker; they return
// tensors and metadata, never files.
import type { Model, Recording, Tensor } from '../engine/runner.ts';
import { Reverser, type ReverseRule } from '../engine/reverse.ts';
import { classifierValues, softmaxRows } from '../engine/classify.ts';
import { inferShapes, numel } from '../engine/shapes.ts';
import { ArgumentError, ShapeError, throwIfCancelled } from '../engine/errors.ts';
import { RegionForward } from '../engine/region.ts';
import { resizeBilinear } from '../loaders/preprocess.ts';
import { OcclusionImages } from '../engine/sources.ts';
import { CAM_TITLES, eigenProjection, gradientCamMap, type GradientCam } from './cam.ts';

/** Checked between chunks (batches, patch positions): cancellation and progress. */
export interface Control {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** the images' names (file names), for errors that name an input */
  names?: readonly string[];
}

export interface Target extends Control {
  /** Class per image; undefined = the top-1 class of that image. */
  classes?: (number | undefined)[];
}

export interface ClassExplanation {
  /** N×H×W maps (one per image), at the input's resolution. */
  maps: Float32Array;
  shape: [number, number, number];
  classes: number[];
  /** the class score (logit) of each image */
  scores: number[];
  probs: number[];
}

/** Cuts a batch into chunks that a recording (all activations kept) fits, or of at most `most` images, and runs `fn` on each. */
async function inChunks<T>(model: Model, input: Float32Array, batch: number, ctl: Control, fn: (x: Float32Array, n: number, first: number) => Promise<T>, most = model.maxRecordBatch()): Promise<T[]> {
  const per = numel(model.graph.input.shape.slice(1));
  const chunk = Math.min(batch, most);
  const out: T[] = [];
  for (let s = 0; s < batch; s += chunk) {
    throwIfCancelled(ctl.signal, 'explanation');
    const n = Math.min(chunk, batch - s);
    out.push(await fn(input.subarray(s * per, (s + n) * per), n, s));
    ctl.onProgress?.(s + n, batch);
  }
  return out;
}

export function inputHW(model: Model): [number, number, number] {
  const [, c, h, w] = model.graph.input.shape;
  if (h === undefined || w === undefined) throw new ArgumentError('this method needs an image input (N×C×H×W)');
  return [c!, h, w];
}

/** The classes to explain, validated, with the top-1 class filling the gaps. */
export function pickClasses(logits: Float32Array, n: number, want: (number | undefined)[] | undefined, first: number): number[] {
  const k = logits.length / n;
  return Array.from({ length: n }, (_, i) => {
    const c = want?.length === 1 ? want[0] : want?.[first + i];
    if (c !== undefined) {
      if (!Number.isInteger(c) || c < 0 || c >= k) throw new ArgumentError(`class ${c} is out of range: the model has ${k} classes (0–${k - 1})`);
      return c;
    }
    let best = 0;
    for (let j = 1; j < k; j++) if (logits[i * k + j]! > logits[i * k + best]!) best = j;
    return best;
  });
}

export function oneHot(n: number, k: number, classes: number[]): Float32Array {
  const s = new Float32Array(n * k);
  classes.forEach((c, i) => (s[i * k + c] = 1));
  return s;
}

interface ClassPass {
  rec: Recording;
  logitsValue: string;
  classes: number[];
  scores: number[];
  probs: number[];
  seed: Float32Array;
}

async function recordClasses(model: Model, x: Float32Array, n: number, target: Target, first: number, extra: string[] = []): Promise<ClassPass> {
  const cv = classifierValues(model.graph);
  const rec = await model.record(x, n, [cv.logits, ...extra], undefined, target.names?.slice(first, first + n));
  const logits = rec.read.get(model.resolve(cv.logits))!.data;
  const k = logits.length / n;
  const classes = pickClasses(logits, n, target.classes, first);
  const probs = softmaxRows(logits, k);
  return {
    rec, logitsValue: cv.logits, classes,
    scores: classes.map((c, i) => logits[i * k + c]!),
    probs: classes.map((c, i) => probs[i * k + c]!),
    seed: oneHot(n, k, classes),
  };
}

/** The reverse signal of class logits at the input, N×C×H×W, under `rule`. */
export async function inputSignal(model: Model, input: Float32Array, batch: number, target: Target, rule: ReverseRule): Promise<ClassExplanation & { signal: Tensor }> {
  const rev = new Reverser(model);
  const [c, h, w] = inputHW(model);
  const parts = await inChunks(model, input, batch, target, async (x, n, first) => {
    const p = await recordClasses(model, x, n, target, first);
    try {
      const g = (await rev.run(p.rec, p.logitsValue, p.seed, [model.graph.input.name], rule)).get(model.graph.input.name)!;
      return { p, g };
    } finally {
      p.rec.dispose();
    }
  });
  rev.dispose();
  const signal = concat(parts.map((q) => q.g.data), batch * c * h * w);
  return { ...merge(parts.map((q) => q.p), batch, h, w, maxAbsOverChannels(signal, batch, c, h * w)), signal: { shape: [batch, c, h, w], data: signal } };
}

function merge(ps: ClassPass[], batch: number, h: number, w: number, maps: Float32Array): ClassExplanation {
  return { maps, shape: [batch, h, w], classes: ps.flatMap((p) => p.classes), scores: ps.flatMap((p) => p.scores), probs: ps.flatMap((p) => p.probs) };
}

/** The chunks' signals, one after the other. */
function concat(parts: Float32Array[], total: number): Float32Array {
  const out = new Float32Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function maxAbsOverChannels(x: Float32Array, n: number, c: number, hw: number): Float32Array {
  const out = new Float32Array(n * hw);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < c; k++)
      for (let p = 0; p < hw; p++) out[i * hw + p] = Math.max(out[i * hw + p]!, Math.abs(x[(i * c + k) * hw + p]!));
  return out;
}

/** Simonyan et al.: |∂f_c/∂x|, max over channels. */
export function saliency(model: Model, input: Float32Array, batch: number, target: Target = {}) {
  return inputSignal(model, input, batch, target, 'gradient');
}

/** Springenberg et al.: ReLUs pass only positive signal where the forward input was positive. */
export function guidedBackprop(model: Model, input: Float32Array, batch: number, target: Target = {}) {
  return inputSignal(model, input, batch, target, 'guided');
}

export interface DeconvOptions extends Control {
  layer: string;
  /** Feature map (channel) to project; default: the channel with the strongest activation per image. */
  unit?: number;
  /** Keep only the strongest activation of that map (Zeiler & Fergus' "top activation"). */
  top?: boolean;
}

/** Zeiler & Fergus: project one feature map of a layer back to pixels (unpool by switches, ReLU, transposed filters). */
export async function deconvnet(model: Model, input: Float32Array, batch: number, opts: DeconvOptions) {
  const rev = new Reverser(model);
  const [c, h, w] = inputHW(model);
  const layer = model.resolve(opts.layer);
  const parts = await inChunks(model, input, batch, opts, async (x, n, first) => {
    const rec = await model.record(x, n, [layer], undefined, opts.names?.slice(first, first + n));
    try {
    const a = rec.read.get(layer)!;
    if (a.shape.length !== 4) throw new ArgumentError(`layer ${opts.layer} has shape [${a.shape.join(', ')}]: DeconvNet projects feature maps of conv layers (N×C×H×W)`);
    const [, ch, lh, lw] = a.shape as [number, number, number, number];
    if (opts.unit !== undefined && (!Number.isInteger(opts.unit) || opts.unit < 0 || opts.unit >= ch))
      throw new ArgumentError(`unit ${opts.unit} is out of range: layer ${opts.layer} has ${ch} feature maps (0–${ch - 1})`);
    const hw = lh * lw;
    const seed = new Float32Array(a.data.length);
    const units: number[] = [];
    for (let i = 0; i < n; i++) {
      let u = opts.unit ?? 0;
      if (opts.unit === undefined) {
        let best = -Infinity;
        for (let k = 0; k < ch; k++)
          for (let p = 0; p < hw; p++) if (a.data[(i * ch + k) * hw + p]! > best) (best = a.data[(i * ch + k) * hw + p]!), (u = k);
      }
      units.push(u);
      const base = (i * ch + u) * hw;
      if (opts.top) {
        let bp = 0;
        for (let p = 1; p < hw; p++) if (a.data[base + p]! > a.data[base + bp]!) bp = p;
        seed[base + bp] = a.data[base + bp]!;
      } else seed.set(a.data.subarray(base, base + hw), base);
    }
    const g = (await rev.run(rec, layer, seed, [model.graph.input.name], 'deconvnet')).get(model.graph.input.name)!;
    return { g, units };
    } finally {
      rec.dispose();
    }
  });
  rev.dispose();
  const signal = concat(parts.map((q) => q.g.data), batch * c * h * w);
  return { maps: maxAbsOverChannels(signal, batch, c, h * w), shape: [batch, h, w] as [number, number, number], units: parts.flatMap((p) => p.units), signal: { shape: [batch, c, h, w], data: signal } };
}

/** One layer's maps of a CAM: N×H×W, each normalised to [0, 1] and upsampled to the input. */
export interface CamLayer {
  layer: string;
  maps: Float32Array;
  /** the layer's map size (h, w) */
  size: [number, number];
}

export interface GradCamResult extends ClassExplanation {
  /** per layer: N×H×W maps, each normalised to [0, 1] and upsampled to the input */
  perLayer: CamLayer[];
}

/** EigenCAM's result: the maps and the per-layer maps, without classes (it explains no class). */
export interface EigenCamResult {
  maps: Float32Array;
  shape: [number, number, number];
  perLayer: CamLayer[];
}

/**
 * The values of a CAM's layers, refused before any GPU work where they are not a spatial conv
 * feature map: the input, a value that is not N×C×H×W, a 1×1 map (its CAM is all zero or
 * constant, whatever the image). `title` names the method in the messages.
 */
export function camLayers(model: Model, layers: string[], title: string): string[] {
  if (layers.length === 0) throw new ArgumentError(`${title} needs at least one layer (--layer)`);
  const vals = layers.map((l) => model.resolve(l));
  const shapes1 = inferShapes(model.graph, 1);
  vals.forEach((v, i) => {
    const s = shapes1.get(v)!;
    if (v === model.graph.input.name)
      throw new ArgumentError(`${title} at layer "${layers[i]}": that is the model's input, not a convolutional feature map; pick a conv layer (loupe info lists the layers)`);
    if (s.length !== 4) throw new ArgumentError(`layer ${layers[i]} has shape [${s.join(', ')}]: ${title} needs a convolutional feature map (N×C×H×W)`);
    if (s[2]! * s[3]! === 1) throw new ArgumentError(`layer ${layers[i]} has a 1×1 map ([${s.join(', ')}]): ${title} needs a spatial feature map (its map would be constant); pick an earlier conv layer`);
  });
  return vals;
}

/** The layer's activations as N×C×h×w, checked again on the values a pass read back. */
export function featureMap(t: Tensor, layer: string, title: string): [number, number, number] {
  if (t.shape.length !== 4) throw new ArgumentError(`layer ${layer} has shape [${t.shape.join(', ')}]: ${title} needs a convolutional feature map (N×C×H×W)`);
  const [, ch, lh, lw] = t.shape as [number, number, number, number];
  return [ch, lh, lw];
}

/** One image's CAM at a layer (lh×lw, before ReLU) → ReLU, bilinear upsampling to h×w, divided by its maximum, written at `at`. */
export function finishCam(cam: ArrayLike<number>, lh: number, lw: number, h: number, w: number, out: Float32Array, at: number): void {
  const relu = Float32Array.from(cam, (v) => Math.max(v, 0));
  const up = resizeBilinear(relu, 1, lh, lw, h, w);
  let mx = 0;
  for (const v of up) mx = Math.max(mx, v);
  if (mx > 0) for (let q = 0; q < up.length; q++) up[q] = up[q]! / mx;
  out.set(up, at);
}

/** The layers' mean map (Strezoski & Worring's multi-layer view; with one layer, that layer's). */
export function meanOfLayers(perLayer: { maps: Float32Array }[], total: number): Float32Array {
  const maps = new Float32Array(total);
  for (const L of perLayer) for (let q = 0; q < maps.length; q++) maps[q] += L.maps[q]! / perLayer.length;
  return maps;
}

/**
 * A gradient CAM (explainers/cam.ts: Grad-CAM, Grad-CAM++, XGrad-CAM, HiResCAM, LayerCAM) at each
 * of `layers`, from one recording and one reverse pass of the class logits per chunk of the batch:
 * each layer's map ReLU'd, upsampled bilinearly to the input and normalised to [0, 1]; `maps` is
 * their mean (Strezoski & Worring's multi-layer view; with one layer it is that layer's map).
 */
export async function gradientCam(model: Model, input: Float32Array, batch: number, layers: string[], variant: GradientCam, target: Target = {}): Promise<GradCamResult> {
  const title = CAM_TITLES[variant];
  const vals = camLayers(model, layers, title);
  const rev = new Reverser(model);
  const [, h, w] = inputHW(model);
  const perLayer = vals.map((v, i) => ({ layer: layers[i]!, value: v, maps: new Float32Array(batch * h * w), size: [0, 0] as [number, number] }));
  const parts = await inChunks(model, input, batch, target, async (x, n, first) => {
    const p = await recordClasses(model, x, n, target, first, vals);
    let grads: Map<string, Tensor>;
    try {
      grads = await rev.run(p.rec, p.logitsValue, p.seed, vals, 'gradient');
    } finally {
      p.rec.dispose();
    }
    for (const L of perLayer) {
      const A = p.rec.read.get(L.value)!;
      const [ch, lh, lw] = featureMap(A, L.layer, title);
      L.size = [lh, lw];
      const dA = grads.get(L.value)!.data;
      for (let i = 0; i < n; i++) finishCam(gradientCamMap(variant, A.data, dA, i, ch, lh * lw), lh, lw, h, w, L.maps, (first + i) * h * w);
    }
    return p;
  });
  rev.dispose();
  return { ...merge(parts, batch, h, w, meanOfLayers(perLayer, batch * h * w)), perLayer: perLayer.map(({ layer, maps, size }) => ({ layer, maps, size })) };
}

/**
 * Grad-CAM at each of `layers` (α_k = mean_ij ∂f_c/∂A^k_ij, map ReLU(Σ α_k A^k)), each upsampled
 * bilinearly to the input and normalised to [0, 1]; `maps` is their mean (Strezoski & Worring's
 * multi-layer view; with one layer it is that layer's Grad-CAM).
 */
export function gradCam(model: Model, input: Float32Array, batch: number, layers: string[], target: Target = {}): Promise<GradCamResult> {
  return gradientCam(model, input, batch, layers, 'gradcam', target);
}

/**
 * EigenCAM (Muhammad & Yeasin) at each of `layers`: each image's activations projected on their
 * first principal component (explainers/cam.ts, eigenProjection), ReLU'd, upsampled and normalised
 * like the gradient CAMs; `maps` is the layers' mean. No class and no reverse pass: plain forward
 * passes that read the layers back, in the largest batches that fit.
 */
export async function eigenCam(model: Model, input: Float32Array, batch: number, layers: string[], ctl: Control = {}): Promise<EigenCamResult> {
  const title = CAM_TITLES.eigencam;
  const vals = camLayers(model, layers, title);
  const [, h, w] = inputHW(model);
  const perLayer = vals.map((v, i) => ({ layer: layers[i]!, value: v, maps: new Float32Array(batch * h * w), size: [0, 0] as [number, number] }));
  await inChunks(model, input, batch, ctl, async (x, n, first) => {
    const read = await model.run(x, n, { outputs: vals, names: ctl.names?.slice(first, first + n) });
    for (const L of perLayer) {
      const A = read.get(L.value)!;
      const [ch, lh, lw] = featureMap(A, L.layer, title);
      L.size = [lh, lw];
      for (let i = 0; i < n; i++) {
        throwIfCancelled(ctl.signal, 'explanation');
        finishCam(eigenProjection(A.data, i, ch, lh * lw), lh, lw, h, w, L.maps, (first + i) * h * w);
      }
    }
  }, model.maxBatch(vals));
  return { maps: meanOfLayers(perLayer, batch * h * w), shape: [batch, h, w], perLayer: perLayer.map(({ layer, maps, size }) => ({ layer, maps, size })) };
}

/** Guided Grad-CAM: guided backprop ⊙ the (multi-layer) Grad-CAM map, per channel. */
export async function guidedGradCam(model: Model, input: Float32Array, batch: number, layers: string[], target: Target = {}) {
  const p = target.onProgress; // two passes over the batch: the first half of the progress is Grad-CAM's
  const cam = await gradCam(model, input, batch, layers, { ...target, onProgress: p && ((d, t) => p(d, 2 * t)) });
  const gb = await guidedBackprop(model, input, batch, { classes: cam.classes, signal: target.signal, names: target.names, onProgress: p && ((d, t) => p(t + d, 2 * t)) });
  const [c, h, w] = inputHW(model);
  const hw = h * w;
  const signal = new Float32Array(gb.signal.data.length);
  for (let i = 0; i < batch; i++)
    for (let k = 0; k < c; k++)
      for (let q = 0; q < hw; q++) signal[(i * c + k) * hw + q] = gb.signal.data[(i * c + k) * hw + q]! * cam.maps[i * hw + q]!;
  return { ...cam, maps: maxAbsOverChannels(signal, batch, c, hw), cam: cam.maps, signal: { shape: [batch, c, h, w], data: signal } };
}

export interface OcclusionOptions {
  size: number;
  stride: number;
  /** patch value per channel; default: the image's own per-channel mean */
  value?: number[];
  /** recompute only the rectangle each patch changes, per layer (engine/region.ts); default true */
  incremental?: boolean;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** the images' names (file names), for errors that name an input */
  names?: readonly string[];
}

/**
 * Zeiler & Fergus' occlusion: slide a mean-valued patch over each image; the map at a pixel is
 * the mean drop of p(c) over the patch positions that cover it. The occluded copies are built
 * on the GPU from the one clean image (never uploaded), in batches.
 */
export async function occlusion(model: Model, input: Float32Array, batch: number, opts: OcclusionOptions, target: Target = {}): Promise<ClassExplanation & { positions: number }> {
  const [c, h, w] = inputHW(model);
  const { size, stride } = opts;
  if (!Number.isInteger(size) || size < 1 || size > Math.min(h, w)) throw new ArgumentError(`occlusion patch size ${size} must be between 1 and the image size ${Math.min(h, w)}`);
  if (!Number.isInteger(stride) || stride < 1) throw new ArgumentError(`occlusion stride must be a positive integer, got ${stride}`);
  const rows = Math.floor((h - size) / stride) + 1;
  const cols = Math.floor((w - size) / stride) + 1;
  const positions = rows * cols;
  const cv = classifierValues(model.graph);
  const per = c * h * w;
  const clean = await model.run(input, batch, { outputs: [cv.logits], names: opts.names });
  const logits = clean.get(model.resolve(cv.logits))!.data;
  const k = logits.length / batch;
  const classes = pickClasses(logits, batch, target.classes, 0);
  const p0 = softmaxRows(logits, k);
  const maps = new Float32Array(batch * h * w);
  let chunk = Math.max(1, Math.min(positions, model.maxBatch([cv.logits])));
  // Incremental: a region plan for the patch (the largest batch up to 256 that fits).
  let region: RegionForward | undefined;
  if (opts.incremental ?? true)
    for (let n = Math.min(positions, 256); n >= 1 && !region; n = n > chunk ? Math.max(chunk, Math.floor(n / 2)) : 0) {
      try {
        region = new RegionForward(model, { rect: [size, size], batch: n, outputs: [cv.logits] });
      } catch (err) {
        if (!(err instanceof ShapeError)) throw err;
      }
    }
  if (region) chunk = region.batch;
  const oy = new Int32Array(chunk), ox = new Int32Array(chunk);
  // the occluded copies are made on the GPU from the one clean image (engine/sources.ts)
  const occluded = region ? undefined : new OcclusionImages(model, size, stride);
  let done = 0;
  try {
    for (let i = 0; i < batch; i++) {
      const x = input.subarray(i * per, (i + 1) * per);
      const value = new Float32Array(c);
      for (let ch = 0; ch < c; ch++) {
        if (opts.value) value[ch] = opts.value[ch] ?? opts.value[0]!;
        else {
          let s = 0;
          for (let q = 0; q < h * w; q++) s += x[ch * h * w + q]!;
          value[ch] = s / (h * w);
        }
      }
      occluded?.setImage(x, value);
      if (region) {
        // The occluded rectangles are the same constant patch for every image of the batch.
        await region.setClean(x);
        const patch = new Float32Array(chunk * c * size * size);
        for (let j = 0; j < chunk; j++) for (let ch = 0; ch < c; ch++) patch.fill(value[ch]!, (j * c + ch) * size * size, (j * c + ch + 1) * size * size);
        region.writeRectangles(patch);
      }
      const drop = new Float32Array(positions);
      for (let first = 0; first < positions; first += chunk) {
        throwIfCancelled(opts.signal, 'occlusion');
        const n = Math.min(chunk, positions - first);
        let res: Map<string, Tensor>;
        if (region) {
          // A short last chunk repeats its last position in the spare images (ignored).
          for (let j = 0; j < chunk; j++) {
            const p = first + Math.min(j, n - 1);
            oy[j] = Math.floor(p / cols) * stride;
            ox[j] = (p % cols) * stride;
          }
          res = await region.run(undefined, oy, ox);
        } else res = await model.runFrom(n, occluded!.batch(first, n), [cv.logits]);
        const pr = softmaxRows(res.get(model.resolve(cv.logits))!.data, k);
        for (let j = 0; j < n; j++) drop[first + j] = p0[i * k + classes[i]!]! - pr[j * k + classes[i]!]!;
        done += n;
        opts.onProgress?.(done, positions * batch);
      }
      // Each pixel: the mean drop over the patches that cover it.
      const sum = new Float64Array(h * w);
      const cnt = new Uint32Array(h * w);
      for (let p = 0; p < positions; p++) {
        const py = Math.floor(p / cols) * stride;
        const px = (p % cols) * stride;
        for (let yy = py; yy < py + size; yy++)
          for (let xx = px; xx < px + size; xx++) {
            sum[yy * w + xx] += drop[p]!;
            cnt[yy * w + xx]!++;
          }
      }
      for (let q = 0; q < h * w; q++) maps[i * h * w + q] = cnt[q] ? sum[q]! / cnt[q]! : 0;
    }
  } finally {
    occluded?.dispose();
    region?.destroy();
  }
  return {
    maps, shape: [batch, h, w], classes, positions,
    scores: classes.map((cl, i) => logits[i * k + cl]!),
    probs: classes.map((cl, i) => p0[i * k + cl]!),
  };
}
