// Caffe loader: architecture from a .prototxt (text), weights from a .caffemodel (binary NetParameter).
//
// - Both prototxt forms are read: current `layer { type: "Convolution" }` and legacy V1
//   `layers { type: CONVOLUTION }`. The caffemodel may hold `layer` (field 100) or legacy `layers`
//   (field 2); weights are matched to prototxt layers by layer NAME (a caffemodel may hold nothing but
//   name/type/bottom/top/blobs, as the decoded SqueezeNet does, so the architecture always comes from the
//   prototxt).
// - Without a caffemodel the graph is still built (for `loupe info`): every param is filled with zeros
//   of the dims the prototxt implies (BatchNorm / Scale affine params then get scale 0, shift 0).
// - Caffe in-place layers (top == bottom) are turned into SSA: the first writer of a Caffe top keeps the
//   top's name as its value name; a later writer's output value is named after its layer (made unique if
//   needed), and later readers of that top are rewired to it. node.name is always the Caffe layer name.
// - Params are named `<layer>/weight`, `<layer>/bias`, `<layer>/slope` (PReLU), `<layer>/scale`,
//   `<layer>/shift` (BatchNorm, Scale, Bias).
// - BatchNorm and Scale each become their own `channelaffine` node (BatchNorm's statistics are folded
//   into scale/shift at load); folding the pair into the preceding conv is left to the engine.
// Nothing here touches the file system: callers pass the text and the bytes.

import protobuf from 'protobufjs/light.js';
import type { Graph, Node, Param, Pads, PoolAttrs, Preprocess } from '../engine/ir.ts';
import { LoupeError, ModelFormatError, UnsupportedOpError } from '../engine/errors.ts';
import { caffeDescriptor } from './proto/caffe.pb.ts';
import { parsePrototxt, TextMessage } from './prototxt.ts';

export interface CaffeLoadOptions {
  prototxtName: string;
  caffemodelName?: string;
}

// ---------------------------------------------------------------------------------------------
// Binary side (protobufjs, with the schema of loaders/proto/caffe.proto)

let netType: protobuf.Type | undefined;
function netParameterType(): protobuf.Type {
  if (!netType) netType = protobuf.Root.fromJSON(caffeDescriptor).lookupType('caffe.NetParameter');
  return netType;
}

interface DecodedBlob {
  dims: number[];
  legacy: boolean; // dims came from num/channels/height/width
  data: Float32Array;
}

const toNum = (v: unknown): number => {
  if (typeof v === 'number') return v;
  if (v && typeof v === 'object' && 'toNumber' in v) return (v as { toNumber(): number }).toNumber();
  return Number(v);
};

function decodeBlob(b: Record<string, unknown>): DecodedBlob {
  const shape = b.shape as { dim?: unknown[] } | null | undefined;
  let dims: number[];
  let legacy = false;
  if (shape && Array.isArray(shape.dim) && shape.dim.length > 0) dims = shape.dim.map(toNum);
  else {
    dims = [toNum(b.num), toNum(b.channels), toNum(b.height), toNum(b.width)];
    legacy = true;
  }
  const f = b.data as ArrayLike<number> | undefined;
  const d = b.double_data as ArrayLike<number> | undefined;
  const src = f && f.length > 0 ? f : d && d.length > 0 ? d : [];
  const data = Float32Array.from(src as ArrayLike<number>);
  if (legacy && dims.every((x) => x === 0)) dims = [data.length];
  return { dims, legacy, data };
}

/** Decode a caffemodel into layer name -> blobs (the first layer of that name that carries blobs). */
function decodeCaffemodel(bytes: Uint8Array, file: string): Map<string, DecodedBlob[]> {
  let msg: Record<string, unknown>;
  try {
    msg = netParameterType().decode(bytes) as unknown as Record<string, unknown>;
  } catch (e) {
    throw new ModelFormatError(`${file}: not a readable Caffe model (protobuf decoding failed: ${(e as Error).message})`);
  }
  const out = new Map<string, DecodedBlob[]>();
  const entries: { name: string; blobs: Record<string, unknown>[] }[] = [];
  for (const l of (msg.layer as Record<string, unknown>[] | undefined) ?? [])
    entries.push({ name: String(l.name ?? ''), blobs: (l.blobs as Record<string, unknown>[]) ?? [] });
  for (const l of (msg.layers as Record<string, unknown>[] | undefined) ?? []) {
    const v0 = l.layer as Record<string, unknown> | null | undefined;
    let blobs = (l.blobs as Record<string, unknown>[]) ?? [];
    if (blobs.length === 0 && v0) blobs = (v0.blobs as Record<string, unknown>[]) ?? [];
    entries.push({ name: String(l.name || (v0 && v0.name) || ''), blobs });
  }
  if (entries.length === 0) throw new ModelFormatError(`${file}: not a Caffe model (no layers in it)`);
  for (const e of entries) {
    if (e.blobs.length === 0 || out.has(e.name)) continue;
    try {
      out.set(e.name, e.blobs.map(decodeBlob));
    } catch (err) {
      throw new ModelFormatError(`${file}: layer "${e.name}": unreadable blob (${(err as Error).message})`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Text side

/** V1 `layers { type: ENUM }` names -> current type strings. */
const V1_TYPES: Record<string, string> = {
  NONE: 'None', ABSVAL: 'AbsVal', ACCURACY: 'Accuracy', ARGMAX: 'ArgMax', BNLL: 'BNLL', CONCAT: 'Concat',
  CONTRASTIVE_LOSS: 'ContrastiveLoss', CONVOLUTION: 'Convolution', DATA: 'Data', DECONVOLUTION: 'Deconvolution',
  DROPOUT: 'Dropout', DUMMY_DATA: 'DummyData', EUCLIDEAN_LOSS: 'EuclideanLoss', ELTWISE: 'Eltwise', EXP: 'Exp',
  FLATTEN: 'Flatten', HDF5_DATA: 'HDF5Data', HDF5_OUTPUT: 'HDF5Output', HINGE_LOSS: 'HingeLoss', IM2COL: 'Im2col',
  IMAGE_DATA: 'ImageData', INFOGAIN_LOSS: 'InfogainLoss', INNER_PRODUCT: 'InnerProduct', LRN: 'LRN',
  MEMORY_DATA: 'MemoryData', MULTINOMIAL_LOGISTIC_LOSS: 'MultinomialLogisticLoss', MVN: 'MVN', POOLING: 'Pooling',
  POWER: 'Power', RELU: 'ReLU', SIGMOID: 'Sigmoid', SIGMOID_CROSS_ENTROPY_LOSS: 'SigmoidCrossEntropyLoss',
  SILENCE: 'Silence', SOFTMAX: 'Softmax', SOFTMAX_LOSS: 'SoftmaxWithLoss', SPLIT: 'Split', SLICE: 'Slice',
  TANH: 'TanH', WINDOW_DATA: 'WindowData', THRESHOLD: 'Threshold',
};
const V1_NUMERIC: Record<number, string> = {
  0: 'NONE', 35: 'ABSVAL', 1: 'ACCURACY', 30: 'ARGMAX', 2: 'BNLL', 3: 'CONCAT', 37: 'CONTRASTIVE_LOSS', 4: 'CONVOLUTION',
  5: 'DATA', 39: 'DECONVOLUTION', 6: 'DROPOUT', 32: 'DUMMY_DATA', 7: 'EUCLIDEAN_LOSS', 25: 'ELTWISE', 38: 'EXP',
  8: 'FLATTEN', 9: 'HDF5_DATA', 10: 'HDF5_OUTPUT', 28: 'HINGE_LOSS', 11: 'IM2COL', 12: 'IMAGE_DATA', 13: 'INFOGAIN_LOSS',
  14: 'INNER_PRODUCT', 15: 'LRN', 29: 'MEMORY_DATA', 16: 'MULTINOMIAL_LOGISTIC_LOSS', 34: 'MVN', 17: 'POOLING',
  26: 'POWER', 18: 'RELU', 19: 'SIGMOID', 27: 'SIGMOID_CROSS_ENTROPY_LOSS', 36: 'SILENCE', 20: 'SOFTMAX',
  21: 'SOFTMAX_LOSS', 22: 'SPLIT', 33: 'SLICE', 23: 'TANH', 24: 'WINDOW_DATA', 31: 'THRESHOLD',
};

/** Layers that feed data in training or only matter for training: skipped. */
const DATA_TYPES = new Set(['Data', 'ImageData', 'HDF5Data', 'MemoryData', 'WindowData', 'DummyData', 'AnnotatedData', 'VideoData', 'Python']);
const SKIP_TYPES = new Set(['Accuracy', 'Silence', 'HDF5Output', 'ArgMax']);
const isLossType = (t: string) => t.endsWith('Loss');

interface Layer {
  name: string;
  type: string;
  bottoms: string[];
  tops: string[];
  m: TextMessage;
}

// ---------------------------------------------------------------------------------------------

/**
 * Build a Graph from a Caffe prototxt and (optionally) its caffemodel bytes.
 * Throws ModelFormatError (syntax errors with file:line:col, weights that do not fit, unreadable
 * caffemodel) or UnsupportedOpError (a layer type / setting Loupe does not implement), both naming the file.
 */
export function loadCaffe(prototxt: string, caffemodel: Uint8Array | undefined, opts: CaffeLoadOptions): Graph {
  const file = opts.prototxtName;
  const wfile = opts.caffemodelName ?? '<caffemodel>';
  const root = parsePrototxt(prototxt, file);
  try {
    return build(root, caffemodel ? decodeCaffemodel(caffemodel, wfile) : undefined, file, wfile);
  } catch (e) {
    if (e instanceof LoupeError) throw e;
    // e.g. a TypeError from a field of the wrong kind (`kernel_size: "x"`)
    throw new ModelFormatError(`${file}: ${(e as Error).message}`);
  }
}

function build(root: TextMessage, weights: Map<string, DecodedBlob[]> | undefined, file: string, wfile: string): Graph {
  const phase = root.msg('state')?.str('phase', 'TEST') ?? 'TEST';
  const bad = (msg: string): never => {
    throw new ModelFormatError(`${file}: ${msg}`);
  };

  // ---- layers, with V1 types upgraded and phase rules applied
  const layerMsgs = root.msgs('layer').length > 0 ? root.msgs('layer') : root.msgs('layers');
  const layers: Layer[] = [];
  for (const m of layerMsgs) {
    const name = m.str('name', '');
    let type = m.str('type', '');
    if (root.msgs('layer').length === 0) {
      // V1: enum identifier (or its number)
      const key = typeof m.get('type') === 'number' ? V1_NUMERIC[m.num('type', -1)] ?? String(m.get('type')) : type;
      type = V1_TYPES[key] ?? key;
    }
    if (!type) bad(`layer "${name}" (line ${m.line}) has no type`);
    if (!included(m, phase)) continue;
    layers.push({ name: name || `${type}_${layers.length}`, type, bottoms: m.strs('bottom'), tops: m.strs('top'), m });
  }

  // ---- input
  let input: { name: string; shape: number[] } | undefined;
  let preprocess: Preprocess | undefined;
  const netInputs = root.strs('input');
  if (netInputs.length > 0) {
    if (netInputs.length > 1) throw new UnsupportedOpError(`${file}: the net has ${netInputs.length} inputs (${netInputs.join(', ')}); Loupe handles one`);
    let dims: number[] = [];
    const shapes = root.msgs('input_shape');
    if (shapes.length > 0) dims = shapes[0]!.nums('dim');
    else dims = root.nums('input_dim').slice(0, 4);
    if (dims.length === 0) bad(`input "${netInputs[0]}" has no input_dim / input_shape`);
    input = { name: netInputs[0]!, shape: [-1, ...dims.slice(1)] };
  }
  for (const l of layers) {
    if (l.type === 'Input') {
      if (input) throw new UnsupportedOpError(`${file}: layer "${l.name}": a second input; Loupe handles one`);
      if (l.tops.length !== 1) throw new UnsupportedOpError(`${file}: layer "${l.name}" (Input) has ${l.tops.length} tops; Loupe handles one input`);
      const dims = l.m.msg('input_param')?.msg('shape')?.nums('dim') ?? [];
      if (dims.length < 2) bad(`layer "${l.name}" (Input) has no input_param { shape { dim ... } }`);
      input = { name: l.tops[0]!, shape: [-1, ...dims.slice(1)] };
    }
  }
  // transform_param (preprocessing) from a data layer, and a fallback input from a data layer
  for (const l of layers) {
    if (!DATA_TYPES.has(l.type)) continue;
    const tp = l.m.msg('transform_param');
    if (tp && !preprocess) preprocess = toPreprocess(tp);
    if (!input && l.tops.length > 0) {
      const md = l.m.msg('memory_data_param');
      const crop = tp?.num('crop_size', 0) ?? 0;
      if (md) input = { name: l.tops[0]!, shape: [-1, md.num('channels', 0), md.num('height', 0), md.num('width', 0)] };
      else if (crop > 0) input = { name: l.tops[0]!, shape: [-1, tp?.bool('force_gray', false) ? 1 : 3, crop, crop] };
      else bad(`layer "${l.name}" (${l.type}) does not say the input size; give a deploy prototxt with an Input layer or input_dim`);
    }
  }
  if (!input) bad(`no input: expected "input:" with input_dim / input_shape, or an Input layer`);
  const inp = input!;
  if (inp.shape.some((d, i) => i > 0 && !(Number.isInteger(d) && d > 0))) bad(`input "${inp.name}" has a bad shape [${inp.shape.join(', ')}]`);
  if (preprocess?.mean && preprocess.mean.length === 1 && inp.shape.length === 4 && inp.shape[1]! > 1)
    preprocess.mean = new Array<number>(inp.shape[1]!).fill(preprocess.mean[0]!);
  if (preprocess && inp.shape.length === 4 && inp.shape[1] === 1) preprocess.grayscale = true;

  // ---- SSA naming over the net
  const allTops = new Set<string>([inp.name]);
  for (const l of layers) for (const t of l.tops) allTops.add(t);
  const current = new Map<string, string>([[inp.name, inp.name]]); // Caffe blob -> IR value name
  const produced = new Set<string>([inp.name]);
  const shapes = new Map<string, number[]>([[inp.name, inp.shape]]);
  const nodes: Node[] = [];
  const params = new Map<string, Param>();
  const consumed = new Set<string>();
  const lastWriterOrder: string[] = []; // values in production order, to list outputs in order

  const freshName = (base: string): string => {
    let n = base;
    for (let i = 1; produced.has(n) || allTops.has(n); i++) n = `${base}_${i}`;
    return n;
  };

  for (const l of layers) {
    if (l.type === 'Input' || DATA_TYPES.has(l.type) || SKIP_TYPES.has(l.type) || isLossType(l.type)) continue;
    const where = `layer "${l.name}" (${l.type})`;
    const ins = l.bottoms.map((b) => {
      const v = current.get(b);
      if (v === undefined) bad(`${where} reads "${b}", which no earlier layer produces`);
      return v!;
    });
    const inShapes = ins.map((v) => shapes.get(v)!);
    if (l.type === 'Split') {
      // Caffe's explicit fan-out: every top is the bottom
      if (ins.length !== 1) bad(`${where} needs one bottom`);
      for (const t of l.tops) current.set(t, ins[0]!);
      ins.forEach((v) => consumed.add(v));
      continue;
    }
    const conv = convert(l, inShapes, weights, file, wfile, params);
    if (ins.length < conv.minInputs) bad(`${where} needs ${conv.minInputs} bottom(s), has ${ins.length}`);
    if (l.tops.length !== 1) throw new UnsupportedOpError(`${file}: ${where} has ${l.tops.length} tops; Loupe handles layers with one top`);
    const top = l.tops[0]!;
    const out = produced.has(top) ? freshName(l.name) : top;
    produced.add(out);
    current.set(top, out);
    shapes.set(out, conv.outShape);
    ins.forEach((v) => consumed.add(v));
    lastWriterOrder.push(out);
    nodes.push({ name: l.name, inputs: ins, outputs: [out], op: conv.op, attrs: conv.attrs } as Node);
  }
  if (nodes.length === 0) bad(`the net has no layers Loupe can run`);

  const outputs = lastWriterOrder.filter((v) => !consumed.has(v));
  const g: Graph = {
    name: root.str('name', '') || file.replace(/^.*[\\/]/, '').replace(/\.prototxt$/i, ''),
    format: 'caffe',
    input: inp,
    outputs,
    nodes,
    params,
  };
  if (preprocess) g.preprocess = preprocess;
  return g;
}

/** Caffe's NetStateRule logic for a net in `phase` with level 0 and no stages. */
function included(m: TextMessage, phase: string): boolean {
  const meets = (r: TextMessage) => {
    if (r.has('phase') && r.str('phase') !== phase && r.str('phase') !== (phase === 'TEST' ? '1' : '0')) return false;
    if (r.has('min_level') && 0 < r.num('min_level', 0)) return false;
    if (r.has('max_level') && 0 > r.num('max_level', 0)) return false;
    if (r.strs('stage').length > 0) return false; // the net has no stages
    return true;
  };
  const inc = m.msgs('include');
  const exc = m.msgs('exclude');
  if (inc.length > 0) return inc.some(meets);
  if (exc.length > 0) return !exc.some(meets);
  return true;
}

function toPreprocess(tp: TextMessage): Preprocess | undefined {
  const p: Preprocess = {};
  const crop = tp.num('crop_size', 0);
  const ch = tp.num('crop_h', 0);
  const cw = tp.num('crop_w', 0);
  if (crop > 0) p.size = [crop, crop];
  else if (ch > 0 && cw > 0) p.size = [ch, cw];
  const mean = tp.nums('mean_value');
  if (mean.length > 0) p.mean = mean;
  if (tp.has('scale')) p.scale = tp.num('scale', 1);
  if (tp.bool('force_gray', false)) p.grayscale = true;
  return Object.keys(p).length > 0 ? p : undefined;
}

// ---------------------------------------------------------------------------------------------
// Layer conversion, local shape inference and weight validation

interface Converted {
  op: Node['op'];
  attrs: unknown;
  outShape: number[];
  minInputs: number;
}

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

function convert(
  l: Layer,
  inShapes: number[][],
  weights: Map<string, DecodedBlob[]> | undefined,
  file: string,
  wfile: string,
  params: Map<string, Param>,
): Converted {
  const where = `layer "${l.name}" (${l.type})`;
  const unsupported = (what: string): never => {
    throw new UnsupportedOpError(`${file}: ${where}: ${what}`);
  };
  const bad = (msg: string): never => {
    throw new ModelFormatError(`${file}: ${where}: ${msg}`);
  };
  const x = inShapes[0] ?? [];
  const need4 = () => {
    if (x.length !== 4) bad(`needs a 4-D NCHW input, got ${fmt(x)}`);
    return x as [number, number, number, number];
  };
  const blobs = weights?.get(l.name);

  /** Take blob `i` with the expected dims (validated), or zeros when there is no caffemodel. */
  const blob = (i: number, expect: number[], what: string): Float32Array => {
    if (!weights) return new Float32Array(numel(expect));
    if (!blobs) throw new ModelFormatError(`${wfile}: has no weights for ${where} of ${file}`);
    const b = blobs[i];
    if (!b) throw new ModelFormatError(`${wfile}: ${where} of ${file} has ${blobs.length} blob(s), ${what} (blob ${i}) is missing`);
    // Legacy 4-D blobs (num/channels/height/width) pad the shape with leading 1s; compare without them,
    // as Caffe's own legacy shape check does.
    const strip = (s: number[]) => {
      let k = 0;
      while (k < s.length - 1 && s[k] === 1) k++;
      return s.slice(k);
    };
    const dimsOk = b.legacy || expect.length !== b.dims.length ? fmt(strip(b.dims)) === fmt(strip(expect)) : fmt(b.dims) === fmt(expect);
    if (!dimsOk || b.data.length !== numel(expect))
      throw new ModelFormatError(
        `${wfile}: ${where}: ${what} should be ${fmt(expect)} (from ${file}) but the caffemodel holds ${fmt(b.dims)} with ${b.data.length} values`,
      );
    for (let k = 0; k < b.data.length; k++)
      if (!Number.isFinite(b.data[k]!)) throw new ModelFormatError(`${wfile}: ${where}: ${what} holds a non-finite value (${b.data[k]}) at ${k}`);
    return b.data;
  };
  const put = (name: string, dims: number[], data: Float32Array) => {
    params.set(name, { dims, data });
    return name;
  };

  // Pair handling for kernel / stride / pad (both Convolution and Pooling spellings)
  const hw = (p: TextMessage, key: string, def: number | undefined): [number, number] => {
    const base = key === 'kernel_size' ? 'kernel' : key;
    const h = p.num(`${base}_h`);
    const w = p.num(`${base}_w`);
    if (h !== undefined || w !== undefined) {
      if (h === undefined || w === undefined) bad(`${base}_h and ${base}_w must be given together`);
      return [h!, w!];
    }
    const v = p.all(key).length > 1 ? p.nums(key) : p.has(key) ? [p.num(key, 0)] : [];
    if (v.length === 0) {
      if (def === undefined) bad(`no ${key} given`);
      return [def!, def!];
    }
    if (v.length > 2) unsupported(`${v.length}-D ${key} (only 2-D is supported)`);
    return v.length === 1 ? [v[0]!, v[0]!] : [v[0]!, v[1]!];
  };

  switch (l.type) {
    case 'Convolution':
    case 'Deconvolution': {
      const [n, c, h, w] = need4();
      const p = l.m.msg('convolution_param') ?? new TextMessage();
      const cout = p.num('num_output', 0);
      if (!(cout > 0)) bad(`num_output is missing`);
      if (p.num('axis', 1) !== 1) unsupported(`convolution axis ${p.num('axis', 1)}`);
      const kernel = hw(p, 'kernel_size', undefined);
      const stride = hw(p, 'stride', 1);
      const pad = hw(p, 'pad', 0);
      const dil = p.all('dilation').length > 1 ? (p.nums('dilation') as [number, number]) : ([p.num('dilation', 1), p.num('dilation', 1)] as [number, number]);
      const group = p.num('group', 1);
      if (kernel.some((k) => k < 1) || stride.some((s) => s < 1) || dil.some((d) => d < 1) || !(group >= 1)) bad(`bad kernel/stride/dilation/group`);
      if (c % group !== 0 || cout % group !== 0) bad(`group ${group} does not divide ${c} input / ${cout} output channels`);
      const pads: Pads = [pad[0], pad[1], pad[0], pad[1]];
      const hasBias = p.bool('bias_term', true);
      if (l.type === 'Convolution') {
        const wd = [cout, c / group, kernel[0], kernel[1]];
        const weight = put(`${l.name}/weight`, wd, blob(0, wd, 'weight'));
        const bias = hasBias ? put(`${l.name}/bias`, [cout], blob(1, [cout], 'bias')) : undefined;
        const oh = Math.floor((h + 2 * pad[0] - (dil[0] * (kernel[0] - 1) + 1)) / stride[0]) + 1;
        const ow = Math.floor((w + 2 * pad[1] - (dil[1] * (kernel[1] - 1) + 1)) / stride[1]) + 1;
        if (oh < 1 || ow < 1) bad(`input ${h}×${w} is smaller than the kernel`);
        const attrs = { kernel, stride, pads, dilation: dil, group, weight, ...(bias ? { bias } : {}) };
        return { op: 'conv', attrs, outShape: [n, cout, oh, ow], minInputs: 1 };
      }
      // Deconvolution: Caffe stores its weights as [Cin, Cout/group, KH, KW]
      const wd = [c, cout / group, kernel[0], kernel[1]];
      const weight = put(`${l.name}/weight`, wd, blob(0, wd, 'weight'));
      const bias = hasBias ? put(`${l.name}/bias`, [cout], blob(1, [cout], 'bias')) : undefined;
      const oh = stride[0] * (h - 1) + dil[0] * (kernel[0] - 1) + 1 - 2 * pad[0];
      const ow = stride[1] * (w - 1) + dil[1] * (kernel[1] - 1) + 1 - 2 * pad[1];
      const attrs = { kernel, stride, pads, dilation: dil, group, weight, ...(bias ? { bias } : {}), outputPadding: [0, 0] };
      return { op: 'convtranspose', attrs, outShape: [n, cout, oh, ow], minInputs: 1 };
    }
    case 'Pooling': {
      const [n, c, h, w] = need4();
      const p = l.m.msg('pooling_param') ?? new TextMessage();
      const method = p.str('pool', 'MAX');
      const isMax = method === 'MAX' || method === '0';
      const isAve = method === 'AVE' || method === '1';
      if (!isMax && !isAve) unsupported(`pooling method ${method}`);
      if (p.bool('global_pooling', false)) {
        return { op: isMax ? 'globalmaxpool' : 'globalavgpool', attrs: {}, outShape: [n, c, 1, 1], minInputs: 1 };
      }
      const kernel = hw(p, 'kernel_size', undefined);
      const stride = hw(p, 'stride', 1);
      const pad = hw(p, 'pad', 0);
      if (kernel.some((k) => k < 1) || stride.some((s) => s < 1)) bad(`bad kernel/stride`);
      // Caffe rounds the output size UP, then drops a last window that would start at or past the end
      // of the image plus the top/left pad: if ((out - 1) * stride >= H + pad) out--.
      const out = (size: number, k: number, s: number, pd: number) => {
        let o = Math.ceil((size + 2 * pd - k) / s) + 1;
        if (pd > 0 && (o - 1) * s >= size + pd) o--;
        return o;
      };
      const oh = out(h, kernel[0], stride[0], pad[0]);
      const ow = out(w, kernel[1], stride[1], pad[1]);
      if (oh < 1 || ow < 1) bad(`input ${h}×${w} is smaller than the pooling window`);
      const attrs: PoolAttrs = { kernel, stride, pads: [pad[0], pad[1], pad[0], pad[1]], ceil: true };
      // Caffe's AVE pooling divides by the window clipped to the PADDED image, i.e.
      //   hstart = oh*stride - pad; hend = min(hstart + kernel, H + pad); pool_size = (hend - hstart) * (wend - wstart)
      // computed BEFORE clipping the window to the real image. So pad cells count (countIncludePad), but
      // the extra cells that ceil rounding adds past H + pad do not.
      if (isAve) attrs.countIncludePad = true;
      return { op: isMax ? 'maxpool' : 'avgpool', attrs, outShape: [n, c, oh, ow], minInputs: 1 };
    }
    case 'ReLU': {
      const slope = l.m.msg('relu_param')?.num('negative_slope', 0) ?? 0;
      if (slope !== 0) return { op: 'leakyrelu', attrs: { alpha: slope }, outShape: [...x], minInputs: 1 };
      return { op: 'relu', attrs: {}, outShape: [...x], minInputs: 1 };
    }
    case 'PReLU': {
      const shared = l.m.msg('prelu_param')?.bool('channel_shared', false) ?? false;
      const dims = shared ? [1] : [x[1]!];
      const slope = put(`${l.name}/slope`, dims, blob(0, dims, 'slope'));
      return { op: 'prelu', attrs: { slope }, outShape: [...x], minInputs: 1 };
    }
    case 'ELU':
      return { op: 'elu', attrs: { alpha: l.m.msg('elu_param')?.num('alpha', 1) ?? 1 }, outShape: [...x], minInputs: 1 };
    case 'Sigmoid':
      return { op: 'sigmoid', attrs: {}, outShape: [...x], minInputs: 1 };
    case 'TanH':
      return { op: 'tanh', attrs: {}, outShape: [...x], minInputs: 1 };
    case 'Dropout':
      return { op: 'identity', attrs: {}, outShape: [...x], minInputs: 1 };
    case 'LRN': {
      const p = l.m.msg('lrn_param') ?? new TextMessage();
      const region = p.str('norm_region', 'ACROSS_CHANNELS');
      if (region !== 'ACROSS_CHANNELS' && region !== '0') unsupported(`LRN norm_region ${region} (only ACROSS_CHANNELS)`);
      const attrs = { size: p.num('local_size', 5), alpha: p.num('alpha', 1), beta: p.num('beta', 0.75), bias: p.num('k', 1) };
      return { op: 'lrn', attrs, outShape: [...x], minInputs: 1 };
    }
    case 'Concat': {
      const p = l.m.msg('concat_param');
      let axis = p?.has('axis') ? p.num('axis', 1) : p?.num('concat_dim', 1) ?? 1;
      if (axis < 0) axis += x.length;
      if (axis !== 1) unsupported(`concat along axis ${axis} (only channels)`);
      for (const s of inShapes)
        if (s.length !== x.length || s.some((d, i) => i !== 1 && d !== x[i])) bad(`cannot concatenate ${inShapes.map(fmt).join(', ')}`);
      const out = [...x];
      out[1] = inShapes.reduce((a, s) => a + s[1]!, 0);
      return { op: 'concat', attrs: { axis: 1 }, outShape: out, minInputs: 1 };
    }
    case 'InnerProduct': {
      const p = l.m.msg('inner_product_param') ?? new TextMessage();
      const outF = p.num('num_output', 0);
      if (!(outF > 0)) bad(`num_output is missing`);
      if (p.num('axis', 1) !== 1) unsupported(`inner product axis ${p.num('axis', 1)} (only 1)`);
      const inF = numel(x.slice(1));
      const transpose = p.bool('transpose', false);
      const wd = [outF, inF];
      let wdata = blob(0, transpose ? [inF, outF] : wd, 'weight');
      if (transpose) {
        const t = new Float32Array(wdata.length);
        for (let i = 0; i < inF; i++) for (let o = 0; o < outF; o++) t[o * inF + i] = wdata[i * outF + o]!;
        wdata = t;
      }
      const weight = put(`${l.name}/weight`, wd, wdata);
      const bias = p.bool('bias_term', true) ? put(`${l.name}/bias`, [outF], blob(1, [outF], 'bias')) : undefined;
      return { op: 'fc', attrs: { weight, ...(bias ? { bias } : {}), outFeatures: outF }, outShape: [x[0]!, outF], minInputs: 1 };
    }
    case 'Softmax': {
      let axis = l.m.msg('softmax_param')?.num('axis', 1) ?? 1;
      if (axis < 0) axis += x.length;
      return { op: 'softmax', attrs: { axis }, outShape: [...x], minInputs: 1 };
    }
    case 'Eltwise': {
      const p = l.m.msg('eltwise_param') ?? new TextMessage();
      const op = p.str('operation', 'SUM');
      for (const s of inShapes) if (fmt(s) !== fmt(x)) bad(`inputs of different shapes ${inShapes.map(fmt).join(', ')}`);
      if (op === 'SUM' || op === '1') {
        if (p.nums('coeff').some((k) => k !== 1)) unsupported(`Eltwise SUM with coefficients ${fmt(p.nums('coeff'))}`);
        return { op: 'add', attrs: {}, outShape: [...x], minInputs: 2 };
      }
      if (op === 'PROD' || op === '0') {
        if (inShapes.length !== 2) unsupported(`Eltwise PROD of ${inShapes.length} inputs (only 2)`);
        return { op: 'mul', attrs: {}, outShape: [...x], minInputs: 2 };
      }
      return unsupported(`Eltwise operation ${op}`);
    }
    case 'BatchNorm': {
      // Caffe BatchNorm blobs: [0] mean sum, [1] variance sum, [2] scale factor (1 value): the stored
      // statistics are divided by it (unless it is 0). y = (x - mean) / sqrt(var + eps).
      const c = x[1]!;
      const eps = l.m.msg('batch_norm_param')?.num('eps', 1e-5) ?? 1e-5;
      const mean = blob(0, [c], 'mean');
      const vari = blob(1, [c], 'variance');
      const f = weights ? blob(2, [1], 'scale factor')[0]! : 1;
      const k = f === 0 ? 0 : 1 / f;
      const scale = new Float32Array(c);
      const shift = new Float32Array(c);
      if (weights)
        for (let i = 0; i < c; i++) {
          const s = 1 / Math.sqrt(vari[i]! * k + eps);
          scale[i] = s;
          shift[i] = -mean[i]! * k * s;
        }
      return {
        op: 'channelaffine',
        attrs: { scale: put(`${l.name}/scale`, [c], scale), shift: put(`${l.name}/shift`, [c], shift) },
        outShape: [...x],
        minInputs: 1,
      };
    }
    case 'Scale':
    case 'Bias': {
      if (inShapes.length > 1) unsupported(`${l.type} by a second bottom (only learned per-channel parameters)`);
      const p = l.m.msg(l.type === 'Scale' ? 'scale_param' : 'bias_param') ?? new TextMessage();
      if (p.num('axis', 1) !== 1 || p.num('num_axes', 1) !== 1) unsupported(`axis ${p.num('axis', 1)} / num_axes ${p.num('num_axes', 1)} (only per-channel)`);
      const c = x[1]!;
      if (l.type === 'Bias') return { op: 'channelaffine', attrs: { shift: put(`${l.name}/shift`, [c], blob(0, [c], 'bias')) }, outShape: [...x], minInputs: 1 };
      const scale = put(`${l.name}/scale`, [c], blob(0, [c], 'scale'));
      const shift = p.bool('bias_term', false) ? put(`${l.name}/shift`, [c], blob(1, [c], 'bias')) : undefined;
      return { op: 'channelaffine', attrs: { scale, ...(shift ? { shift } : {}) }, outShape: [...x], minInputs: 1 };
    }
    case 'Flatten': {
      const p = l.m.msg('flatten_param');
      let axis = p?.num('axis', 1) ?? 1;
      let end = p?.num('end_axis', -1) ?? -1;
      if (axis < 0) axis += x.length;
      if (end < 0) end += x.length;
      if (end !== x.length - 1) unsupported(`flatten with end_axis ${end}`);
      if (axis !== 1) unsupported(`flatten from axis ${axis} (only 1)`);
      return { op: 'flatten', attrs: { axis: 1 }, outShape: [x[0]!, numel(x.slice(1))], minInputs: 1 };
    }
    case 'Reshape': {
      const p = l.m.msg('reshape_param') ?? new TextMessage();
      if (p.num('axis', 0) !== 0 || p.num('num_axes', -1) !== -1) unsupported(`reshape with axis / num_axes`);
      const spec = p.msg('shape')?.nums('dim') ?? [];
      if (spec.length === 0) bad(`reshape_param has no shape`);
      const dims = spec.map((d, i) => (i === 0 ? x[0]! : d === 0 ? x[i]! : d));
      const known = numel(dims.slice(1).filter((d) => d !== -1));
      const out = dims.map((d, i) => (i > 0 && d === -1 ? numel(x.slice(1)) / known : d));
      if (numel(out.slice(1)) !== numel(x.slice(1)) || out.some((d) => !Number.isInteger(d))) bad(`cannot reshape ${fmt(x)} to ${fmt(spec)}`);
      return { op: 'reshape', attrs: { shape: [0, ...spec.slice(1)] }, outShape: out, minInputs: 1 };
    }
    default:
      return unsupported(`layer type "${l.type}" is not supported`);
  }
}
