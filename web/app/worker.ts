/// <reference lib="webworker" />
// The app's worker: the engine, the model and the images live here, so long methods (occlusion,
// PDA, MaxOut, the literal etalon route) never block the page. It answers the requests of
// web/app/protocol.ts with the same loaders, registry and renderers the CLI uses, so a map
// exported here is the one `loupe explain` writes for the same arguments.
import { Engine } from '../../engine/gpu.ts';
import { cachedTuning } from '../../engine/tune.ts';
import { readTuneCacheIdb } from '../tune-cache.ts';
import { Model } from '../../engine/runner.ts';
import type { Graph } from '../../engine/ir.ts';
import { classify } from '../../engine/classify.ts';
import { summarise } from '../../engine/summary.ts';
import { ArgumentError, CancelledError, InputFormatError, LoupeError } from '../../engine/errors.ts';
import { loadOnnx } from '../../loaders/onnx.ts';
import { loadCaffe } from '../../loaders/caffe.ts';
import { writeNpy } from '../../loaders/npy.ts';
import { parseLabels } from '../../loaders/labels.ts';
import { preprocessImage } from '../../loaders/preprocess.ts';
import { checkImageSize, decodeJpeg, detectImageFormat, type RGBAImage } from '../../loaders/image-formats.ts';
import { explainer } from '../../explainers/registry.ts';
import { parseClasses } from '../../explainers/options.ts';
import { toJson, type Explanation, type ExplainInputs } from '../../explainers/explanation.ts';
import { buildPatchModel, encodePatchModel } from '../../explainers/patch-model.ts';
import { explanationTiles } from '../../render/tiles.ts';
import type { FigureContext } from '../../render/figures.ts';
import type { Explained, FileIn, ImageInfo, Opened, PreprocessIn, Reply, Request } from './protocol.ts';

declare const self: DedicatedWorkerGlobalScope;

let engine: Engine | undefined;
let graph: Graph | undefined;
let model: Model | undefined;
let modelName = '';
let labels: string[] | undefined;
let preprocess: PreprocessIn | undefined;
const images: { name: string; rgba: RGBAImage }[] = [];
let data = new Float32Array(0); // the images, preprocessed, N×C×H×W
let running: AbortController | undefined;
let modelWeightsMissing = false; // a Caffe prototxt opened without its caffemodel

const post = (r: Reply, transfer: Transferable[] = []) => self.postMessage(r, transfer);

async function gpu(): Promise<Engine> {
  if (engine) return engine;
  if (!('gpu' in navigator) || !navigator.gpu) throw new LoupeError('this browser has no WebGPU (navigator.gpu is missing)');
  engine = await Engine.create(navigator.gpu);
  // A tuning cached for this adapter (web/tune-cache.ts) is loaded but, as in Node, applies only
  // with Engine.tune on (off by default; the app runs no tuner itself: too slow under SwiftShader).
  engine.tuning = cachedTuning(await readTuneCacheIdb(), engine.adapterInfo);
  engine.device.lost.then((info) => {
    if (info.reason !== 'destroyed') post({ id: -1, type: 'failed', error: `the GPU device was lost (${info.message || info.reason}); reload the page` });
  });
  return engine;
}

const ext = (name: string) => name.toLowerCase().replace(/^.*(\.[^.]+)$/, '$1');

function openModel(files: FileIn[]): Opened {
  const onnx = files.filter((f) => ext(f.name) === '.onnx');
  const proto = files.filter((f) => ['.prototxt', '.pt'].includes(ext(f.name)));
  const weights = files.filter((f) => ext(f.name) === '.caffemodel');
  let g: Graph;
  if (onnx.length + proto.length === 0) {
    if (weights.length) throw new ArgumentError(`${weights[0]!.name}: a .caffemodel needs its .prototxt: choose both files together`);
    throw new ArgumentError(`${files.map((f) => f.name).join(', ')}: not a model (choose an .onnx file, or a Caffe .prototxt with its .caffemodel)`);
  }
  if (onnx.length + proto.length > 1) throw new ArgumentError(`choose one model at a time (got ${[...onnx, ...proto].map((f) => f.name).join(', ')})`);
  if (onnx.length) {
    if (weights.length) throw new ArgumentError(`${weights[0]!.name} is a Caffe file; ${onnx[0]!.name} is read as ONNX`);
    g = loadOnnx(onnx[0]!.bytes, onnx[0]!.name);
  } else {
    if (weights.length > 1) throw new ArgumentError(`choose one .caffemodel (got ${weights.map((f) => f.name).join(', ')})`);
    const p = proto[0]!, w = weights[0];
    g = loadCaffe(new TextDecoder().decode(p.bytes), w?.bytes, { prototxtName: p.name, caffemodelName: w?.name });
  }
  model?.destroy();
  model = undefined;
  graph = g;
  modelName = (onnx[0] ?? proto[0])!.name;
  const weightsMissing = g.format === 'caffe' && weights.length === 0;
  const summary = summarise(g);
  return { summary, format: g.format, weightsMissing, preprocess: g.preprocess, files: files.map((f) => f.name) };
}

async function decodeAny(f: FileIn): Promise<RGBAImage> {
  const fmt = detectImageFormat(f.bytes);
  if (fmt === 'jpeg') return decodeJpeg(f.bytes, f.name);
  if (fmt !== 'png') throw new InputFormatError(`${f.name}: not a PNG or JPEG image`);
  // The header's size and completeness first (a 68-byte PNG can claim 32000×32000), as the CLI does;
  // then the browser's decoder, which gives pngjs's pixels (PNG is lossless; no colour management).
  checkImageSize(f.bytes, f.name);
  let bmp: ImageBitmap;
  try {
    bmp = await createImageBitmap(new Blob([f.bytes as BlobPart], { type: 'image/png' }), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    throw new InputFormatError(`${f.name}: cannot decode PNG`);
  }
  const cv = new OffscreenCanvas(bmp.width, bmp.height);
  const cx = cv.getContext('2d', { willReadFrequently: true })!;
  cx.drawImage(bmp, 0, 0);
  bmp.close();
  const px = cx.getImageData(0, 0, cv.width, cv.height).data;
  return { width: cv.width, height: cv.height, data: new Uint8Array(px.buffer, px.byteOffset, px.byteLength) };
}

function needGraph(): Graph {
  if (!graph) throw new ArgumentError('open a model first');
  return graph;
}

function shape(): [number, number, number] {
  const [, c, h, w] = needGraph().input.shape;
  if (c === undefined || h === undefined || w === undefined) throw new ArgumentError(`the model's input ${graph!.input.name} [${graph!.input.shape.join(', ')}] is not an image`);
  return [c, h, w];
}

function repreprocess(): void {
  const [c, h, w] = shape();
  const pp = preprocess ?? { ...graph!.preprocess, channels: c };
  const per = c * h * w;
  data = new Float32Array(per * images.length);
  images.forEach((im, i) => data.set(preprocessImage(im.rgba, { ...pp, size: [h, w], channels: c }), i * per));
}

async function needModel(): Promise<Model> {
  const g = needGraph();
  if (g.format === 'caffe' && modelWeightsMissing) throw new ArgumentError(`${modelName}: weights missing (choose the .caffemodel together with the .prototxt)`);
  model ??= new Model(await gpu(), g);
  return model;
}

function pick(indices: number[]): { x: Float32Array; names: string[] } {
  const [c, h, w] = shape();
  const per = c * h * w;
  const x = new Float32Array(per * indices.length);
  indices.forEach((k, i) => {
    if (!images[k]) throw new ArgumentError(`no image ${k}`);
    x.set(data.subarray(k * per, (k + 1) * per), i * per);
  });
  return { x, names: indices.map((k) => images[k]!.name) };
}

/** Progress messages for request `id`, at most ten a second (and always the last one). */
function throttle(id: number): (done: number, total: number, what?: string) => void {
  let last = 0;
  return (done, total, what) => {
    const now = performance.now();
    if (now - last < 100 && done < total) return;
    last = now;
    post({ id, type: 'progress', done, total, what });
  };
}

async function explain(id: number, method: string, options: Record<string, unknown>, chosen: number[], signal: AbortSignal): Promise<Explained> {
  const m = await needModel();
  const entry = explainer(method);
  const [c, h, w] = shape();
  let idx = entry.inputs === 'none' ? [] : chosen;
  const o = { ...options };
  // Several classes for one image: the image once per class (Reason: one row per class).
  if (typeof o.class === 'string' && o.class.trim() !== '' && entry.options.some((s) => s.name === 'class' && s.type === 'classes')) {
    const classes = parseClasses(o.class, labels);
    if (classes.length > 1 && idx.length === 1) idx = classes.map(() => idx[0]!);
    o.class = classes;
  }
  if (entry.inputs !== 'none' && idx.length === 0) throw new ArgumentError(`${method}: choose an image in the gallery`);
  const { x, names } = pick(idx);
  const inputs: ExplainInputs = { data: x, batch: idx.length, names, labels, preprocess: preprocess ?? graph!.preprocess, fromImages: true };
  const ctx: FigureContext = { ...inputs, shape: [c, h, w], model: modelName };
  const t0 = performance.now();
  let lastPreview = 0;
  const tick = throttle(id);
  const progress = (done: number, total: number, what?: string, preview?: Explanation) => {
    tick(done, total, what);
    const now = performance.now();
    if (preview && now - lastPreview >= 250) {
      lastPreview = now;
      post({ id, type: 'preview', tiles: explanationTiles(preview, ctx) });
    }
  };
  const e = await entry.run(m, inputs, o, progress, signal);
  const ms = performance.now() - t0;
  const npy: FileIn[] = [], json: FileIn[] = [];
  const add = (prefix: string, x: Explanation) => {
    if (x.maps) npy.push({ name: `${prefix}.npy`, bytes: writeNpy(x.maps.shape, x.maps.data) });
    json.push({ name: `${prefix}.json`, bytes: new TextEncoder().encode(toJson({ model: modelName, ...x.meta })) });
  };
  add(method, e);
  for (const [k, part] of Object.entries(e.parts ?? {})) add(`${method}-${k}`, part);
  return { tiles: explanationTiles(e, ctx), npy, json, note: e.note, ms };
}

async function handle(id: number, r: Request): Promise<unknown> {
  switch (r.type) {
    case 'init': {
      const e = await gpu();
      return { adapter: e.adapterInfo };
    }
    case 'open-model': {
      const opened = openModel(r.files);
      modelWeightsMissing = opened.weightsMissing;
      preprocess = undefined;
      if (images.length) repreprocess();
      return opened;
    }
    case 'labels': {
      if (!r.file) {
        labels = undefined;
        return 0;
      }
      labels = parseLabels(r.file.bytes, r.file.name);
      return labels;
    }
    case 'add-images': {
      const added: ImageInfo[] = [], errors: string[] = [];
      for (const f of r.files) {
        try {
          const rgba = await decodeAny(f);
          images.push({ name: f.name, rgba });
          added.push({ name: f.name, width: rgba.width, height: rgba.height });
        } catch (e) {
          errors.push(e instanceof Error ? e.message : String(e));
        }
      }
      if (graph) repreprocess();
      return { added, errors };
    }
    case 'clear-images':
      images.length = 0;
      data = new Float32Array(0);
      return 0;
    case 'preprocess':
      preprocess = r.preprocess;
      if (images.length) repreprocess();
      return 0;
    case 'predict': {
      if (images.length === 0) return [];
      const m = await needModel();
      const tick = throttle(id);
      const res = await classify(m, data, images.length, r.top, (done, total) => tick(done, total, 'predict'));
      return res.top.map((t) => ({ top: t.map(({ index, prob }) => ({ index, prob, label: labels?.[index] ?? String(index) })) }));
    }
    case 'explain': {
      running = new AbortController();
      try {
        return await explain(id, r.method, r.options, r.images, running.signal);
      } finally {
        running = undefined;
      }
    }
    case 'build-patch-model': {
      const [c, h, w] = shape();
      const { x } = pick(r.images);
      const per = c * h * w;
      const set = r.images.map((_, i) => x.subarray(i * per, (i + 1) * per));
      const pm = buildPatchModel(set, { window: r.window, padding: r.padding, patches: r.patches, channels: c, height: h, width: w, model: modelName, preprocess: preprocess ?? graph!.preprocess, onProgress: (stage) => post({ id, type: 'progress', done: 0, total: 0, what: stage }) });
      return { name: `patches-k${r.window}.loupe`, bytes: encodePatchModel(pm) };
    }
    case 'cancel':
      running?.abort();
      return 0;
  }
}

self.onmessage = async (ev: MessageEvent<{ id: number; request: Request }>) => {
  const { id, request } = ev.data;
  try {
    const value = await handle(id, request);
    post({ id, type: 'done', value });
  } catch (e) {
    const cancelled = e instanceof CancelledError;
    const known = e instanceof LoupeError;
    const msg = e instanceof Error ? e.message : String(e);
    post({ id, type: 'failed', error: known ? msg : `internal error: ${msg}`, cancelled });
  }
};
