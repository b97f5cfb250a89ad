// ONNX loader: decodes a ModelProto (protobufjs + loaders/proto/onnx.proto), folds everything that
// can be computed at load time (weights built by ConstantOfShape, shape arithmetic, BatchNorm and
// bias adds after conv/fc), and maps the rest onto the graph IR. Callers pass bytes; nothing here
// touches the file system.

import protobuf from 'protobufjs/light.js';
import type { Graph, Node, Param, Pads, ConvAttrs, PoolAttrs } from '../engine/ir.ts';
import { nodeParams } from '../engine/ir.ts';
import { LoupeError, ModelFormatError, ShapeError, UnsupportedOpError } from '../engine/errors.ts';
import { onnxDescriptor } from './proto/onnx.pb.ts';

// ---------------------------------------------------------------------------------------------
// protobuf plumbing

let root: protobuf.Root | undefined;
function types() {
  if (!root) root = protobuf.Root.fromJSON(onnxDescriptor);
  return { Model: root.lookupType('onnx.ModelProto'), Tensor: root.lookupType('onnx.TensorProto') };
}

/** The protobufjs root of loaders/proto/onnx.proto (for tools and tests that build models). */
export function onnxRoot(): protobuf.Root {
  types();
  return root!;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type PB = any; // decoded protobuf message

const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
function toNum(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') return Number(v);
  if (v && typeof v === 'object' && typeof (v as { toNumber?: unknown }).toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  return Number(v);
}
const utf8 = (b: Uint8Array | string | undefined): string => (typeof b === 'string' ? b : b ? new TextDecoder().decode(b) : '');
const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

const MAX_ELEMENTS = 1 << 27; // 512 MiB of float32 (VGG fc6 has 103M weights): anything larger is a corrupt size, not a CNN tensor
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------
// Tensors

/** A tensor known at load time. Integer tensors (shapes, indices) are kept exactly in float64. */
interface Const {
  kind: 'const';
  dims: number[];
  data: Float32Array | Float64Array;
  int: boolean;
  name?: string; // preferred param name (initializer / producing value name)
}
/** A value computed at run time by the IR. `name` is its IR value name (aliases share it). */
interface Dyn {
  kind: 'dyn';
  shape: number[]; // concrete, with the batch taken as 1
  name: string;
}
type Val = Const | Dyn;

const DT = { FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9, FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, BFLOAT16: 16 };
const INT_TYPES = new Set([DT.UINT8, DT.INT8, DT.UINT16, DT.INT16, DT.INT32, DT.INT64, DT.BOOL, DT.UINT32, DT.UINT64]);

function half(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Decodes a TensorProto into a Const. `where` prefixes error messages (file and tensor). */
function tensorToConst(t: PB, where: string): Const {
  const dims: number[] = (t.dims ?? []).map(toNum);
  for (const d of dims)
    if (!Number.isInteger(d) || d < 0) throw new ModelFormatError(`${where}: invalid dimensions ${fmt(dims)}`);
  const n = numel(dims);
  if (n > MAX_ELEMENTS) throw new ModelFormatError(`${where}: dimensions ${fmt(dims)} are too large`);
  const dt = toNum(t.data_type ?? 0);
  if (toNum(t.data_location ?? 0) === 1 || (t.external_data?.length ?? 0) > 0)
    throw new ModelFormatError(`${where}: tensor data is stored in an external file; only models with embedded weights are supported`);
  if (t.segment) throw new ModelFormatError(`${where}: segmented tensors are not supported`);
  const raw: Uint8Array | undefined = t.raw_data && t.raw_data.length > 0 ? t.raw_data : undefined;
  const width: Record<number, number> = { [DT.FLOAT]: 4, [DT.DOUBLE]: 8, [DT.INT64]: 8, [DT.UINT64]: 8, [DT.INT32]: 4, [DT.UINT32]: 4, [DT.INT16]: 2, [DT.UINT16]: 2, [DT.INT8]: 1, [DT.UINT8]: 1, [DT.BOOL]: 1, [DT.FLOAT16]: 2, [DT.BFLOAT16]: 2 };
  const w = width[dt];
  if (w === undefined) throw new ModelFormatError(`${where}: unsupported tensor data type ${dt}`);
  const int = INT_TYPES.has(dt);
  let out: Float32Array | Float64Array;
  if (raw) {
    if (raw.length !== n * w) throw new ModelFormatError(`${where}: holds ${raw.length} bytes of data, dimensions ${fmt(dims)} need ${n * w}`);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (dt === DT.FLOAT) {
      if (LITTLE_ENDIAN) {
        // Copy: raw may be a view into the file (unaligned, or a Node Buffer whose slice() does not copy).
        const copy = new Uint8Array(raw.byteLength);
        copy.set(raw);
        out = new Float32Array(copy.buffer, 0, n);
      }
      else {
        out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      }
    } else {
      out = int ? new Float64Array(n) : new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const o = i * w;
        let v: number;
        switch (dt) {
          case DT.DOUBLE: v = dv.getFloat64(o, true); break;
          case DT.INT64: v = Number(dv.getBigInt64(o, true)); break;
          case DT.UINT64: v = Number(dv.getBigUint64(o, true)); break;
          case DT.INT32: v = dv.getInt32(o, true); break;
          case DT.UINT32: v = dv.getUint32(o, true); break;
          case DT.INT16: v = dv.getInt16(o, true); break;
          case DT.UINT16: v = dv.getUint16(o, true); break;
          case DT.INT8: v = dv.getInt8(o); break;
          case DT.FLOAT16: v = half(dv.getUint16(o, true)); break;
          case DT.BFLOAT16: v = new Float32Array(new Uint32Array([dv.getUint16(o, true) << 16]).buffer)[0]!; break;
          default: v = dv.getUint8(o);
        }
        out[i] = v;
      }
    }
  } else {
    let src: ArrayLike<unknown>;
    if (dt === DT.FLOAT) src = t.float_data ?? [];
    else if (dt === DT.DOUBLE) src = t.double_data ?? [];
    else if (dt === DT.INT64) src = t.int64_data ?? [];
    else if (dt === DT.UINT64 || dt === DT.UINT32) src = t.uint64_data ?? [];
    else src = t.int32_data ?? [];
    if (src.length !== n) throw new ModelFormatError(`${where}: holds ${src.length} values, dimensions ${fmt(dims)} need ${n}`);
    out = int ? new Float64Array(n) : new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let v = toNum(src[i]);
      if (dt === DT.FLOAT16) v = half(v);
      else if (dt === DT.BFLOAT16) v = new Float32Array(new Uint32Array([v << 16]).buffer)[0]!;
      out[i] = v;
    }
  }
  return { kind: 'const', dims, data: out, int };
}

function decodeTensor(bytes: Uint8Array, fileName: string): PB {
  if (!(bytes instanceof Uint8Array)) throw new ModelFormatError(`${fileName}: expected the file's bytes`);
  try {
    return types().Tensor.decode(bytes);
  } catch (e) {
    throw new ModelFormatError(`${fileName}: not a valid ONNX TensorProto (${(e as Error).message})`);
  }
}

/** Reads a serialized ONNX TensorProto (the `.pb` files of ONNX test data) as float32. */
export function readTensorProto(bytes: Uint8Array, fileName: string): { dims: number[]; data: Float32Array; name?: string } {
  try {
    const t = decodeTensor(bytes, fileName);
    const dt = toNum(t.data_type ?? 0);
    if (dt === 0) throw new ModelFormatError(`${fileName}: tensor has no data type (not a TensorProto?)`);
    const c = tensorToConst(t, fileName);
    const data = c.data instanceof Float32Array ? c.data : Float32Array.from(c.data);
    const name = typeof t.name === 'string' && t.name ? t.name : undefined;
    return name ? { dims: c.dims, data, name } : { dims: c.dims, data };
  } catch (e) {
    if (e instanceof LoupeError) throw e;
    throw new ModelFormatError(`${fileName}: cannot read tensor (${(e as Error).message})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Constant evaluation helpers

const mkConst = (dims: number[], data: Float32Array | Float64Array, int: boolean): Const => ({ kind: 'const', dims, data, int });
const f32 = (c: Const): Float32Array => (c.data instanceof Float32Array ? c.data : Float32Array.from(c.data));
const ints = (c: Const): number[] => Array.from(c.data, (v) => Math.trunc(v));
const strides = (dims: number[]) => {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1]! * dims[i + 1]!;
  return s;
};

function broadcastShape(a: number[], b: number[]): number[] | null {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Index map of `dims` broadcast to `out` (right-aligned). */
function bcastIndex(dims: number[], out: number[]): Int32Array {
  const n = numel(out);
  const idx = new Int32Array(n);
  const r = out.length;
  const pd = [...new Array<number>(r - dims.length).fill(1), ...dims];
  const ss = strides(pd);
  const os = strides(out);
  for (let i = 0; i < n; i++) {
    let rem = i, j = 0;
    for (let k = 0; k < r; k++) {
      const c = Math.floor(rem / os[k]!);
      rem -= c * os[k]!;
      if (pd[k] !== 1) j += c * ss[k]!;
    }
    idx[i] = j;
  }
  return idx;
}

function binaryConst(a: Const, b: Const, f: (x: number, y: number) => number, int: boolean, where: string): Const {
  const out = broadcastShape(a.dims, b.dims);
  if (!out) throw new ShapeError(`${where}: cannot broadcast ${fmt(a.dims)} with ${fmt(b.dims)}`);
  if (numel(out) > MAX_ELEMENTS) throw new ModelFormatError(`${where}: result ${fmt(out)} is too large`);
  const ia = bcastIndex(a.dims, out), ib = bcastIndex(b.dims, out);
  const data = int ? new Float64Array(ia.length) : new Float32Array(ia.length);
  for (let i = 0; i < ia.length; i++) data[i] = f(a.data[ia[i]!]!, b.data[ib[i]!]!);
  return mkConst(out, data, int);
}

function transposeData(c: Const, perm: number[]): Const {
  const r = c.dims.length;
  const od = perm.map((p) => c.dims[p]!);
  const is = strides(c.dims), os = strides(od);
  const n = c.data.length;
  const data = c.data instanceof Float32Array ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let rem = i, j = 0;
    for (let k = 0; k < r; k++) {
      const q = Math.floor(rem / os[k]!);
      rem -= q * os[k]!;
      j += q * is[perm[k]!]!;
    }
    data[i] = c.data[j]!;
  }
  return mkConst(od, data, c.int);
}

/** ONNX Reshape of `inDims` by `spec` (0 copies unless allowzero, -1 inferred). Null when impossible. */
function reshapeDims(inDims: number[], spec: number[], allowZero: boolean): number[] | null {
  const out = spec.map((d, i) => (d === 0 && !allowZero ? inDims[i] : d));
  if (out.some((d) => d === undefined || d < -1 || !Number.isInteger(d))) return null;
  const neg = out.filter((d) => d === -1).length;
  if (neg > 1) return null;
  const total = numel(inDims);
  const known = numel((out as number[]).filter((d) => d !== -1));
  if (neg === 1) {
    if (known === 0 || total % known !== 0) return null;
    return (out as number[]).map((d) => (d === -1 ? total / known : d));
  }
  return known === total ? (out as number[]) : null;
}

// ---------------------------------------------------------------------------------------------
// Attributes

/** AttributeProto.AttributeType. */
const AT = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10, SPARSE_TENSOR: 11, SPARSE_TENSORS: 12, TYPE_PROTO: 13, TYPE_PROTOS: 14 } as const;
const AT_NAME = new Map<number, string>(Object.entries(AT).map(([k, v]) => [v, k]));
const AT_HINT: Record<number, string> = { [AT.FLOAT]: 'a number', [AT.INT]: 'an integer', [AT.STRING]: 'a string', [AT.TENSOR]: 'a tensor', [AT.FLOATS]: 'a list of numbers', [AT.INTS]: 'a list of integers', [AT.STRINGS]: 'a list of strings' };
const LIST_TYPES = new Set<number>([AT.FLOATS, AT.INTS, AT.STRINGS, AT.TENSORS, AT.GRAPHS, AT.SPARSE_TENSORS, AT.TYPE_PROTOS]);
const typeText = (t: number) => `${AT_NAME.get(t) ?? `type ${t}`}${AT_HINT[t] ? ` (${AT_HINT[t]})` : ''}`;

/** An attribute's type: the declared one, or (files before IR version 2 declare none) the value field that is set; 0 for an empty list. */
function attrType(a: PB): number {
  const t = toNum(a.type ?? 0);
  if (t) return t;
  if (hasOwn(a, 'f')) return AT.FLOAT;
  if (hasOwn(a, 'i')) return AT.INT;
  if (hasOwn(a, 's')) return AT.STRING;
  if (hasOwn(a, 't')) return AT.TENSOR;
  if (a.floats?.length) return AT.FLOATS;
  if (a.ints?.length) return AT.INTS;
  return 0;
}

/**
 * The attributes of every operator the loader maps or folds, with their types, as the ONNX operator
 * schemas declare them in opsets 1 to ONNX_OPSETS.max (an attribute of any of those versions is
 * accepted; `consumed_inputs` is opset 1's legacy attribute of many ops). The ONNX checker and
 * ONNX Runtime refuse a node whose attribute has another type or is not in its schema; so does the loader.
 */
const ATTR_TYPES: Record<string, Record<string, number>> = (() => {
  const { FLOAT: F, INT: I, STRING: S, TENSOR: T, FLOATS: FS, INTS: IS, STRINGS: SS, SPARSE_TENSOR: ST } = AT;
  const pool = { auto_pad: S, kernel_shape: IS, pads: IS, strides: IS, ceil_mode: I, dilations: IS };
  const conv = { auto_pad: S, dilations: IS, group: I, kernel_shape: IS, pads: IS, strides: IS };
  const reduce = { axes: IS, keepdims: I, noop_with_empty_axes: I };
  const binary = { axis: I, broadcast: I };
  const t: Record<string, Record<string, number>> = {
    Conv: conv, ConvTranspose: { ...conv, output_padding: IS, output_shape: IS },
    MaxPool: { ...pool, storage_order: I }, AveragePool: { ...pool, count_include_pad: I },
    GlobalAveragePool: {}, GlobalMaxPool: {},
    Relu: {}, Sigmoid: {}, Tanh: {}, HardSwish: {}, PRelu: {}, Abs: {}, Neg: {}, Sqrt: {}, Reciprocal: {}, Floor: {}, Ceil: {}, Exp: {}, Log: {},
    LeakyRelu: { alpha: F }, Elu: { alpha: F }, HardSigmoid: { alpha: F, beta: F }, Clip: { min: F, max: F },
    Add: binary, Sub: binary, Mul: binary, Div: binary, Pow: binary, Sum: {}, Min: {}, Max: {},
    BatchNormalization: { epsilon: F, momentum: F, spatial: I, is_test: I, training_mode: I },
    LRN: { alpha: F, beta: F, bias: F, size: I },
    Softmax: { axis: I }, LogSoftmax: { axis: I },
    Gemm: { alpha: F, beta: F, transA: I, transB: I, broadcast: I }, MatMul: {},
    Flatten: { axis: I }, Reshape: { shape: IS, allowzero: I }, Squeeze: { axes: IS }, Unsqueeze: { axes: IS },
    Transpose: { perm: IS }, Concat: { axis: I }, Split: { axis: I, split: IS, num_outputs: I },
    Slice: { starts: IS, ends: IS, axes: IS }, Gather: { axis: I }, Expand: {}, Range: {},
    ReduceMean: reduce, ReduceProd: reduce,
    Pad: { mode: S, pads: IS, paddings: IS, value: F },
    Resize: { mode: S, coordinate_transformation_mode: S, nearest_mode: S, keep_aspect_ratio_policy: S, cubic_coeff_a: F, extrapolation_value: F, exclude_outside: I, antialias: I, axes: IS },
    Upsample: { mode: S, scales: FS, height_scale: F, width_scale: F },
    Identity: {}, Dropout: { ratio: F, is_test: I, seed: I },
    Cast: { to: I, saturate: I }, CastLike: { saturate: I },
    Shape: { start: I, end: I }, Size: {},
    Constant: { value: T, sparse_value: ST, value_float: F, value_floats: FS, value_int: I, value_ints: IS, value_string: S, value_strings: SS },
    ConstantOfShape: { value: T },
  };
  for (const k of Object.keys(t)) t[k] = { ...t[k], consumed_inputs: IS };
  return t;
})();

/** Refuses attribute `a` (named `name`, of a node described by `where`) when its type is not `want`. */
function checkType(a: PB, name: string, want: number, where: string): void {
  const got = attrType(a);
  if (got !== want && !(got === 0 && LIST_TYPES.has(want)))
    throw new ModelFormatError(`${where}: attribute "${name}" must be ${typeText(want)}, got ${got ? AT_NAME.get(got) ?? `type ${got}` : 'no value'}`);
}

/** The type `op` (at `opset`) declares for attribute `name`; undefined when its schema has no such attribute. */
function expectedAttrType(op: string, name: string, opset: number): number | undefined {
  if (op === 'Cast' && name === 'to' && opset < 6) return AT.STRING; // Cast-1 names the type ("FLOAT")
  return ATTR_TYPES[op]?.[name];
}

/** Checks a node's attributes against its operator's schema: no name twice, none unknown, each of its declared type. */
function checkAttributes(n: PB, op: string, opset: number, where: string): void {
  const schema = ATTR_TYPES[op];
  if (!schema) return; // an operator the loader does not know: refused as unsupported if the outputs need it
  const seen = new Set<string>();
  for (const a of n.attribute ?? []) {
    const name: string = a.name ?? '';
    if (!name) throw new ModelFormatError(`${where} (${op}): an attribute has no name`);
    if (seen.has(name)) throw new ModelFormatError(`${where} (${op}): attribute "${name}" is given twice`);
    seen.add(name);
    const want = expectedAttrType(op, name, opset);
    if (want === undefined) {
      const known = Object.keys(schema).filter((k) => k !== 'consumed_inputs');
      throw new ModelFormatError(`${where} (${op}): unknown attribute "${name}" (${op} takes ${known.length ? known.join(', ') : 'no attributes'})`);
    }
    checkType(a, name, want, `${where} (${op})`);
  }
}

/** A node's attributes, read by type: an attribute of another type than the one asked for is an error naming the node. */
class Attrs {
  private m = new Map<string, PB>();
  constructor(list: PB[], private where: string) {
    for (const a of list ?? []) this.m.set(a.name ?? '', a);
  }
  has(n: string): boolean {
    return this.m.has(n);
  }
  private get(n: string, want: number): PB | undefined {
    const a = this.m.get(n);
    if (a) checkType(a, n, want, this.where);
    return a;
  }
  int(n: string, d: number): number {
    const a = this.get(n, AT.INT);
    return a ? toNum(a.i ?? 0) : d;
  }
  float(n: string, d: number): number {
    const a = this.get(n, AT.FLOAT);
    return a ? (a.f ?? 0) : d;
  }
  ints(n: string): number[] | undefined {
    const a = this.get(n, AT.INTS);
    return a ? (a.ints ?? []).map(toNum) : undefined;
  }
  floats(n: string): number[] | undefined {
    const a = this.get(n, AT.FLOATS);
    return a ? [...(a.floats ?? [])] : undefined;
  }
  str(n: string, d: string): string {
    const a = this.get(n, AT.STRING);
    return a ? utf8(a.s) : d;
  }
  tensor(n: string): PB | undefined {
    return this.get(n, AT.TENSOR)?.t ?? undefined;
  }
  /** Cast's target type: an integer (TensorProto.DataType), or before opset 6 its name ("FLOAT"). */
  castTo(opset: number): number {
    if (opset >= 6) return this.int('to', DT.FLOAT);
    const s = this.str('to', 'FLOAT').toUpperCase();
    const t = (DT as Record<string, number>)[s];
    if (t === undefined) throw new ModelFormatError(`${this.where}: attribute "to" names no tensor type ("${s}")`);
    return t;
  }
}

// ---------------------------------------------------------------------------------------------
// The loader

/** Ops evaluated on the CPU when all their inputs are constants. */
const FOLDABLE = new Set([
  'Constant', 'ConstantOfShape', 'Shape', 'Size', 'Gather', 'Unsqueeze', 'Squeeze', 'Concat', 'Cast', 'CastLike', 'Reshape', 'Flatten',
  'Transpose', 'Identity', 'Dropout', 'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Neg', 'Sqrt', 'Reciprocal', 'Abs', 'Floor', 'Ceil', 'Exp',
  'Log', 'Relu', 'Sigmoid', 'Tanh', 'Slice', 'Expand', 'Range', 'Min', 'Max', 'Sum', 'ReduceProd',
]);

interface Ctx {
  file: string;
  opset: number;
  batch0: number | undefined; // the file's declared batch size, if concrete
}

/**
 * The versions of the default (ai.onnx) operator set the loader follows. Each op's opset-dependent
 * forms are read as their version defines them (attributes that became inputs, changed defaults);
 * the versions after 18 changed the ops the loader maps only by new element types (and by
 * AveragePool's dilations, refused unless 1, and Resize's half_pixel_symmetric, refused for linear
 * resizes, in 19), up to 23 (ONNX 1.18). A file stamped with a later opset may define its ops otherwise: refused, as
 * ONNX Runtime refuses an opset it does not know.
 */
export const ONNX_OPSETS = { min: 1, max: 23 } as const;

/**
 * The ONNX checker's rules that matter to the loader, over every node (used or not): each value has
 * one definition (an initializer, a graph input or one node's output, never two of them), every
 * attribute is one its operator declares, with the type it declares. Names read but never defined,
 * and cycles, are found by the topological sort.
 */
function checkGraph(g: PB, nodes: PB[], opset: number, file: string): void {
  const nodeName = (n: PB, i: number) => n.name || `${n.op_type || 'node'}_${i}`;
  const inits = new Set<string>();
  for (const t of g.initializer ?? []) {
    const name: string = t.name ?? '';
    if (name && inits.has(name)) throw new ModelFormatError(`${file}: initializer "${name}" is defined twice`);
    inits.add(name);
  }
  const inputs = new Set<string>();
  for (const v of g.input ?? []) {
    const name: string = v.name ?? '';
    if (name && inputs.has(name)) throw new ModelFormatError(`${file}: graph input "${name}" is declared twice`);
    inputs.add(name);
  }
  const outputs = new Set<string>();
  for (const v of g.output ?? []) {
    const name: string = v.name ?? '';
    if (name && outputs.has(name)) throw new ModelFormatError(`${file}: graph output "${name}" is declared twice`);
    outputs.add(name);
  }
  const producer = new Map<string, string>();
  nodes.forEach((n, i) => {
    const me = nodeName(n, i);
    for (const o of (n.output ?? []) as string[]) {
      if (!o) continue;
      const other = producer.get(o);
      if (other !== undefined)
        throw new ModelFormatError(other === me ? `${file}: node "${me}" lists output "${o}" twice` : `${file}: value "${o}" is produced by two nodes, "${other}" and "${me}"`);
      if (inits.has(o)) throw new ModelFormatError(`${file}: node "${me}" produces "${o}", which is also an initializer`);
      if (inputs.has(o)) throw new ModelFormatError(`${file}: node "${me}" produces "${o}", which is also a graph input`);
      producer.set(o, me);
    }
    const domain: string = n.domain ?? '';
    if (domain === '' || domain === 'ai.onnx') checkAttributes(n, n.op_type ?? '', opset, `${file}: node "${me}"`);
  });
}

/** Loads an ONNX model into the graph IR. Throws LoupeError subclasses naming `fileName`. */
export function loadOnnx(bytes: Uint8Array, fileName: string): Graph {
  try {
    return load(bytes, fileName);
  } catch (e) {
    if (e instanceof LoupeError) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    throw new ModelFormatError(`${fileName}: cannot load the model (${msg})`);
  }
}

/** The metadata_props of an ONNX model (key → value); ModelFormatError naming `fileName` if it does not decode. */
export function onnxMetadata(bytes: Uint8Array, fileName: string): Map<string, string> {
  let model: PB;
  try {
    model = types().Model.decode(bytes);
  } catch (e) {
    throw new ModelFormatError(`${fileName}: not a valid ONNX model (${(e as Error).message})`);
  }
  return new Map(((model.metadata_props ?? []) as { key?: string; value?: string }[]).map((p) => [p.key ?? '', p.value ?? '']));
}

function load(bytes: Uint8Array, file: string): Graph {
  if (!(bytes instanceof Uint8Array)) throw new ModelFormatError(`${file}: expected the file's bytes`);
  if (bytes.length === 0) throw new ModelFormatError(`${file}: the file is empty`);
  let model: PB;
  try {
    model = types().Model.decode(bytes);
  } catch (e) {
    throw new ModelFormatError(`${file}: not a valid ONNX model (${(e as Error).message})`);
  }
  const g: PB = model.graph;
  if (!g) throw new ModelFormatError(`${file}: not an ONNX model (no graph)`);
  const onnxNodes: PB[] = g.node ?? [];
  if (onnxNodes.length === 0) throw new ModelFormatError(`${file}: the ONNX graph has no nodes`);
  let opset = 0;
  for (const o of model.opset_import ?? []) {
    const d = o.domain ?? '';
    if (d === '' || d === 'ai.onnx') opset = Math.max(opset, toNum(o.version));
  }
  if (opset === 0) opset = (model.opset_import ?? []).length ? 0 : 1;
  if (opset === 0) throw new ModelFormatError(`${file}: the model imports no standard ONNX operator set`);
  if (!(opset >= ONNX_OPSETS.min && opset <= ONNX_OPSETS.max))
    throw new ModelFormatError(`${file}: ONNX opset ${opset} is outside the supported range ${ONNX_OPSETS.min}–${ONNX_OPSETS.max}`);
  checkGraph(g, onnxNodes, opset, file);

  const values = new Map<string, Val>();
  // Initializers
  for (const t of g.initializer ?? []) {
    const name: string = t.name ?? '';
    if (!name) throw new ModelFormatError(`${file}: an initializer has no name`);
    const c = tensorToConst(t, `${file}: initializer "${name}"`);
    c.name = name;
    values.set(name, c);
  }
  for (const s of g.sparse_initializer ?? [])
    throw new UnsupportedOpError(`${file}: sparse initializer "${s.values?.name ?? ''}" is not supported`);

  // Node outputs known up front (the light models list ConstantOfShape outputs as graph inputs too).
  const produced = new Set<string>();
  for (const n of onnxNodes) for (const o of n.output ?? []) if (o) produced.add(o);

  const outputNames: string[] = (g.output ?? []).map((v: PB) => v.name ?? '');
  if (outputNames.length === 0) throw new ModelFormatError(`${file}: the graph declares no outputs`);
  if (outputNames.some((n) => !n)) throw new ModelFormatError(`${file}: a graph output has no name`);

  // Order the nodes topologically (they should be already) and keep only those the outputs need.
  const order = topoSort(onnxNodes, new Set([...values.keys(), ...(g.input ?? []).map((v: PB) => v.name ?? '')]), file);
  const live = new Set<number>();
  const needed = new Set(outputNames);
  for (let k = order.length - 1; k >= 0; k--) {
    const i = order[k]!;
    const n = onnxNodes[i];
    if ((n.output ?? []).some((o: string) => needed.has(o))) {
      live.add(i);
      for (const x of n.input ?? []) if (x) needed.add(x);
    }
  }

  // The one real input
  const candidates = (g.input ?? []).filter((v: PB) => v.name && !values.has(v.name) && !produced.has(v.name));
  const used = candidates.filter((v: PB) => needed.has(v.name));
  if (used.length === 0) throw new ModelFormatError(`${file}: the graph has no input that its outputs depend on`);
  if (used.length > 1) throw new UnsupportedOpError(`${file}: the model has ${used.length} inputs (${used.map((v: PB) => v.name).join(', ')}); only single-input models are supported`);
  const inVi = used[0];
  const inName: string = inVi.name;
  const tt = inVi.type?.tensor_type;
  if (!tt) throw new UnsupportedOpError(`${file}: input "${inName}" is not a tensor`);
  const et = toNum(tt.elem_type ?? 1);
  if (et !== DT.FLOAT && et !== DT.DOUBLE && et !== DT.FLOAT16 && et !== 0)
    throw new UnsupportedOpError(`${file}: input "${inName}" has element type ${et}; only float inputs are supported`);
  const dimsPb: PB[] = tt.shape?.dim ?? [];
  if (dimsPb.length < 2) throw new ShapeError(`${file}: input "${inName}" must have a batch and at least one more dimension (declared rank ${dimsPb.length})`);
  const inShape = dimsPb.map((d, i) => {
    const v = hasOwn(d, 'dim_value') ? toNum(d.dim_value) : NaN;
    if (i === 0) return Number.isInteger(v) && v > 0 ? v : -1;
    if (!Number.isInteger(v) || v <= 0) throw new ShapeError(`${file}: input "${inName}" has no fixed size for dimension ${i} (${d.dim_param ?? '?'})`);
    return v;
  });
  const ctx: Ctx = { file, opset, batch0: inShape[0]! > 0 ? inShape[0] : undefined };
  values.set(inName, { kind: 'dyn', shape: [1, ...inShape.slice(1)], name: inName });

  const b = new Builder(ctx, values);
  b.consumed = needed;
  for (const i of order) {
    if (!live.has(i)) continue;
    b.node(onnxNodes[i], i);
  }

  // Outputs
  const outVals = outputNames.map((o) => {
    const v = values.get(o);
    if (!v) throw new ModelFormatError(`${file}: graph output "${o}" is not produced by any node`);
    if (v.kind === 'const') throw new UnsupportedOpError(`${file}: graph output "${o}" is a constant`);
    return v;
  });
  b.foldAffine(new Set(outVals.map((v) => v.name)));
  // Make every output name produced by an IR node (re-point through removed identities).
  const declared = new Set(outputNames);
  for (let k = 0; k < outputNames.length; k++) {
    const o = outputNames[k]!;
    const v = outVals[k]!;
    if (v.name === o) continue;
    const producer = b.nodes.find((n) => n.outputs.includes(v.name));
    if (producer && !declared.has(v.name) && v.name !== inName) {
      b.rename(v.name, o);
      v.name = o;
    } else {
      b.nodes.push({ op: 'identity', name: b.aliasNode.get(o) ?? `Identity_${o}`, inputs: [v.name], outputs: [o], attrs: {} });
    }
  }
  b.prune(outputNames);

  // Params actually referenced
  const params = new Map<string, Param>();
  for (const n of b.nodes)
    for (const p of nodeParams(n)) {
      const prm = b.params.get(p);
      if (!prm) throw new ModelFormatError(`${file}: internal error: parameter ${p} is missing`);
      params.set(p, prm);
    }

  return {
    name: (typeof g.name === 'string' && g.name) || file,
    format: 'onnx',
    input: { name: inName, shape: [-1, ...inShape.slice(1)] },
    outputs: outputNames,
    nodes: b.nodes,
    params,
    preprocess: readPreprocess(model, file),
  };
}

/** Metadata key under which Loupe stores a model's input preprocessing (JSON of ir.Preprocess). */
export const PREPROCESS_KEY = 'loupe.preprocess';

function readPreprocess(model: PB, file: string): Graph['preprocess'] {
  const prop = ((model.metadata_props ?? []) as { key?: string; value?: string }[]).find((p) => p.key === PREPROCESS_KEY);
  if (!prop?.value) return undefined;
  try {
    const p = JSON.parse(prop.value) as Record<string, unknown>;
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
    return {
      scale: num(p.scale),
      mean: Array.isArray(p.mean) && p.mean.every((v) => typeof v === 'number') ? (p.mean as number[]) : undefined,
      bgr: p.bgr === true || undefined,
      grayscale: p.grayscale === true || undefined,
    };
  } catch {
    throw new ModelFormatError(`${file}: metadata ${PREPROCESS_KEY} is not valid JSON`);
  }
}

function topoSort(nodes: PB[], available: Set<string>, file: string): number[] {
  const have = new Set(available);
  const done = new Array<boolean>(nodes.length).fill(false);
  const order: number[] = [];
  let progress = true;
  while (order.length < nodes.length && progress) {
    progress = false;
    for (let i = 0; i < nodes.length; i++) {
      if (done[i]) continue;
      const n = nodes[i];
      if ((n.input ?? []).every((x: string) => !x || have.has(x))) {
        done[i] = true;
        order.push(i);
        for (const o of n.output ?? []) if (o) have.add(o);
        progress = true;
      }
    }
  }
  if (order.length < nodes.length) {
    const i = done.findIndex((d) => !d);
    const n = nodes[i];
    const missing = (n.input ?? []).find((x: string) => x && !have.has(x));
    const me = n.name || `${n.op_type}_${i}`;
    const p = nodes.findIndex((m) => (m.output ?? []).includes(missing));
    if (p >= 0) throw new ModelFormatError(`${file}: node "${me}" reads "${missing}", which node "${nodes[p].name || `${nodes[p].op_type}_${p}`}" produces but can never run: the graph has a cycle`);
    throw new ModelFormatError(`${file}: node "${me}" reads "${missing}", which nothing defines`);
  }
  return order;
}

class Builder {
  nodes: Node[] = [];
  params = new Map<string, Param>();
  aliasNode = new Map<string, string>();
  private paramOf = new Map<Float32Array, string>();
  constructor(private ctx: Ctx, private values: Map<string, Val>) {}

  // -- errors
  private where(nodeName: string) {
    return `${this.ctx.file}: node "${nodeName}"`;
  }
  private unsupported(op: string, nodeName: string, why?: string): never {
    throw new UnsupportedOpError(`${this.ctx.file}: unsupported operator ${op} in node "${nodeName}"${why ? `: ${why}` : ''}`);
  }

  // -- params
  addParam(preferred: string, dims: number[], data: Float32Array): string {
    const known = this.paramOf.get(data);
    if (known) {
      const p = this.params.get(known)!;
      if (p.dims.length === dims.length && p.dims.every((d, i) => d === dims[i])) return known;
    }
    let name = preferred;
    for (let k = 2; this.params.has(name); k++) name = `${preferred}#${k}`;
    this.params.set(name, { dims, data });
    this.paramOf.set(data, name);
    return name;
  }
  private paramRefs(name: string): number {
    let c = 0;
    for (const n of this.nodes) for (const p of nodeParams(n)) if (p === name) c++;
    return c;
  }
  /** Replaces a param's data: in place when only `n` uses it, else under a new name. */
  private updateParam(name: string, data: Float32Array, dims: number[]): string {
    if (this.paramRefs(name) <= 1) {
      this.params.set(name, { dims, data });
      this.paramOf.set(data, name);
      return name;
    }
    return this.addParam(name, dims, data);
  }

  // -- values
  private val(name: string, nodeName: string): Val {
    const v = this.values.get(name);
    if (!v) throw new ModelFormatError(`${this.where(nodeName)} reads "${name}", which nothing defines`);
    return v;
  }
  private setOut(name: string | undefined, v: Val) {
    if (!name) return;
    this.values.set(name, v);
  }
  private emit(n: Node, shape: number[], onnxOut: string) {
    if (numel(shape) <= 0 || shape.some((d) => !Number.isInteger(d) || d < 1))
      throw new ShapeError(`${this.where(n.name)} (${n.op}) would produce an empty or invalid shape ${fmt(shape)}`);
    this.nodes.push(n);
    this.values.set(onnxOut, { kind: 'dyn', shape, name: onnxOut });
  }

  rename(from: string, to: string) {
    for (const n of this.nodes) {
      n.inputs = n.inputs.map((x) => (x === from ? to : x));
      n.outputs = n.outputs.map((x) => (x === from ? to : x));
    }
  }

  /** Drops nodes that contribute to no output. */
  prune(outputs: string[]) {
    const need = new Set(outputs);
    const keep: Node[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i]!;
      if (n.outputs.some((o) => need.has(o))) {
        keep.push(n);
        for (const x of n.inputs) need.add(x);
      }
    }
    this.nodes = keep.reverse();
  }

  /** Folds channelaffine nodes (BatchNorm, constant Add/Mul) into the conv/fc that alone feeds them. */
  foldAffine(protectedValues: Set<string>) {
    const consumers = new Map<string, number>();
    for (const n of this.nodes) for (const x of n.inputs) consumers.set(x, (consumers.get(x) ?? 0) + 1);
    for (let i = 0; i < this.nodes.length; i++) {
      const ca = this.nodes[i]!;
      if (ca.op !== 'channelaffine') continue;
      const x = ca.inputs[0]!;
      if (protectedValues.has(x) || consumers.get(x) !== 1) continue;
      const prod = this.nodes.find((n) => n.outputs.length === 1 && n.outputs[0] === x);
      if (!prod || (prod.op !== 'conv' && prod.op !== 'fc')) continue;
      const a = prod.attrs;
      const w = this.params.get(a.weight)!;
      const cout = w.dims[0]!;
      const scale = ca.attrs.scale ? this.params.get(ca.attrs.scale)!.data : undefined;
      const shift = ca.attrs.shift ? this.params.get(ca.attrs.shift)!.data : undefined;
      if ((scale && scale.length !== cout) || (shift && shift.length !== cout)) continue;
      if (scale) {
        const per = w.data.length / cout;
        const nw = new Float32Array(w.data.length);
        for (let o = 0; o < cout; o++) for (let k = 0; k < per; k++) nw[o * per + k] = w.data[o * per + k]! * scale[o]!;
        a.weight = this.updateParam(a.weight, nw, w.dims);
      }
      if (a.bias || scale) {
        const old = a.bias ? this.params.get(a.bias)!.data : undefined;
        const nb = new Float32Array(cout);
        for (let o = 0; o < cout; o++) nb[o] = (old ? old[o]! : 0) * (scale ? scale[o]! : 1) + (shift ? shift[o]! : 0);
        a.bias = a.bias ? this.updateParam(a.bias, nb, [cout]) : this.addParam(`${prod.name}.bias`, [cout], nb);
      } else if (shift) {
        a.bias = ca.attrs.shift!;
      }
      prod.outputs = [...ca.outputs];
      this.nodes.splice(i, 1);
      i--;
    }
  }

  // -- the node mapper
  node(n: PB, index: number) {
    const op: string = n.op_type ?? '';
    const name: string = n.name || `${op}_${index}`;
    const domain: string = n.domain ?? '';
    if (domain !== '' && domain !== 'ai.onnx') this.unsupported(op || '(none)', name, `operator domain "${domain}"`);
    if (!op) throw new ModelFormatError(`${this.where(name)} has no operator type`);
    const at = new Attrs(n.attribute ?? [], `${this.where(name)} (${op})`);
    const inNames: string[] = n.input ?? [];
    const outNames: string[] = n.output ?? [];
    if (outNames.length === 0 || !outNames[0]) throw new ModelFormatError(`${this.where(name)} (${op}) has no output`);
    const ins = inNames.map((x) => (x ? this.val(x, name) : undefined));
    const present = ins.filter((v): v is Val => v !== undefined);
    if (FOLDABLE.has(op) && (op === 'Constant' || op === 'Shape' || op === 'Size' || (present.length > 0 && present.every((v) => v.kind === 'const')))) {
      const r = this.fold(op, name, at, ins, outNames.length);
      r.name = outNames[0];
      this.setOut(outNames[0], r);
      return;
    }
    this.map(op, name, at, ins, inNames, outNames);
  }

  private fold(op: string, name: string, at: Attrs, ins: (Val | undefined)[], nOut: number): Const {
    const where = this.where(name);
    const c = (i: number): Const => {
      const v = ins[i];
      if (!v || v.kind !== 'const') throw new ModelFormatError(`${where} (${op}) lacks input ${i}`);
      return v;
    };
    const opt = (i: number): Const | undefined => {
      const v = ins[i];
      return v && v.kind === 'const' ? v : undefined;
    };
    if (nOut > 1 && op !== 'Dropout') this.unsupported(op, name, `${nOut} outputs`);
    const opset = this.ctx.opset;
    switch (op) {
      case 'Constant': {
        const t = at.tensor('value');
        if (t) return tensorToConst(t, `${where} (Constant)`);
        if (at.has('value_float')) return mkConst([], new Float32Array([at.float('value_float', 0)]), false);
        if (at.has('value_floats')) { const f = at.floats('value_floats')!; return mkConst([f.length], Float32Array.from(f), false); }
        if (at.has('value_int')) return mkConst([], new Float64Array([at.int('value_int', 0)]), true);
        if (at.has('value_ints')) { const f = at.ints('value_ints')!; return mkConst([f.length], Float64Array.from(f), true); }
        this.unsupported(op, name, 'constant of an unsupported kind');
      }
      // eslint-disable-next-line no-fallthrough
      case 'ConstantOfShape': {
        const dims = ints(c(0));
        if (dims.some((d) => d < 0) || numel(dims) > MAX_ELEMENTS) throw new ModelFormatError(`${where} (ConstantOfShape): invalid shape ${fmt(dims)}`);
        const t = at.tensor('value');
        let v = 0, int = false;
        if (t) {
          const tv = tensorToConst(t, `${where} (ConstantOfShape value)`);
          if (tv.data.length !== 1) throw new ModelFormatError(`${where} (ConstantOfShape): value must hold one element`);
          v = tv.data[0]!;
          int = tv.int;
        }
        const data = int ? new Float64Array(numel(dims)) : new Float32Array(numel(dims));
        if (v !== 0) data.fill(v);
        return mkConst(dims, data, int);
      }
      case 'Shape': {
        const v = ins[0];
        if (!v) throw new ModelFormatError(`${where} (Shape) lacks its input`);
        let s = v.kind === 'const' ? v.dims : v.shape;
        const r = s.length;
        if (opset >= 15) {
          let st = at.int('start', 0), en = at.int('end', r);
          if (st < 0) st += r;
          if (en < 0) en += r;
          s = s.slice(Math.max(0, st), Math.min(r, en));
        }
        return mkConst([s.length], Float64Array.from(s), true);
      }
      case 'Size': {
        const v = ins[0]!;
        return mkConst([], new Float64Array([numel(v.kind === 'const' ? v.dims : v.shape)]), true);
      }
      case 'Identity':
      case 'Dropout':
        return c(0);
      case 'Cast':
      case 'CastLike': {
        const x = c(0);
        const to = op === 'Cast' ? at.castTo(opset) : c(1).int ? DT.INT64 : DT.FLOAT;
        if (INT_TYPES.has(to)) return mkConst(x.dims, Float64Array.from(x.data, (v) => (to === DT.BOOL ? (v ? 1 : 0) : Math.trunc(v))), true);
        return mkConst(x.dims, x.data instanceof Float32Array ? x.data : Float32Array.from(x.data), false);
      }
      case 'Reshape': {
        const x = c(0);
        const spec = opset < 5 ? at.ints('shape') ?? [] : ints(c(1));
        const d = reshapeDims(x.dims, spec, at.int('allowzero', 0) === 1);
        if (!d) throw new ShapeError(`${where} (Reshape): cannot reshape ${fmt(x.dims)} to ${fmt(spec)}`);
        return mkConst(d, x.data, x.int);
      }
      case 'Flatten': {
        const x = c(0);
        let axis = at.int('axis', 1);
        if (axis < 0) axis += x.dims.length;
        return mkConst([numel(x.dims.slice(0, axis)), numel(x.dims.slice(axis))], x.data, x.int);
      }
      case 'Unsqueeze': {
        const x = c(0);
        const axes = opset >= 13 && !at.has('axes') ? ints(c(1)) : at.ints('axes') ?? [];
        return mkConst(unsqueezeDims(x.dims, axes, where), x.data, x.int);
      }
      case 'Squeeze': {
        const x = c(0);
        const axes = opset >= 13 && !at.has('axes') ? (opt(1) ? ints(opt(1)!) : undefined) : at.ints('axes');
        return mkConst(squeezeDims(x.dims, axes, where), x.data, x.int);
      }
      case 'Transpose': {
        const x = c(0);
        const perm = at.ints('perm') ?? x.dims.map((_, i) => x.dims.length - 1 - i);
        if (perm.length !== x.dims.length || [...perm].sort().some((p, i) => p !== i)) throw new ModelFormatError(`${where} (Transpose): invalid perm ${fmt(perm)}`);
        return transposeData(x, perm);
      }
      case 'Concat': {
        const xs = ins.filter((v): v is Const => !!v && v.kind === 'const').filter((x) => numel(x.dims) > 0 || x.dims.length > 0);
        if (xs.length === 0) throw new ModelFormatError(`${where} (Concat) has no inputs`);
        const r = xs[0]!.dims.length;
        let axis = at.int('axis', 0);
        if (axis < 0) axis += r;
        if (axis < 0 || axis >= r) throw new ModelFormatError(`${where} (Concat): axis out of range`);
        for (const x of xs)
          if (x.dims.length !== r || x.dims.some((d, i) => i !== axis && d !== xs[0]!.dims[i]))
            throw new ShapeError(`${where} (Concat): cannot concatenate ${xs.map((x) => fmt(x.dims)).join(', ')}`);
        const od = [...xs[0]!.dims];
        od[axis] = xs.reduce((s, x) => s + x.dims[axis]!, 0);
        const outer = numel(od.slice(0, axis));
        const int = xs.every((x) => x.int);
        const data = int ? new Float64Array(numel(od)) : new Float32Array(numel(od));
        let o = 0;
        for (let p = 0; p < outer; p++)
          for (const x of xs) {
            const blk = numel(x.dims.slice(axis));
            for (let k = 0; k < blk; k++) data[o++] = x.data[p * blk + k]!;
          }
        return mkConst(od, data, int);
      }
      case 'Gather': {
        const x = c(0), idx = c(1);
        const r = x.dims.length;
        let axis = at.int('axis', 0);
        if (axis < 0) axis += r;
        if (axis < 0 || axis >= r) throw new ModelFormatError(`${where} (Gather): axis out of range`);
        const od = [...x.dims.slice(0, axis), ...idx.dims, ...x.dims.slice(axis + 1)];
        const outer = numel(x.dims.slice(0, axis)), inner = numel(x.dims.slice(axis + 1)), ax = x.dims[axis]!;
        const data = x.int ? new Float64Array(numel(od)) : new Float32Array(numel(od));
        let o = 0;
        for (let p = 0; p < outer; p++)
          for (let j = 0; j < idx.data.length; j++) {
            let k = Math.trunc(idx.data[j]!);
            if (k < 0) k += ax;
            if (k < 0 || k >= ax) throw new ModelFormatError(`${where} (Gather): index ${idx.data[j]} out of range`);
            for (let q = 0; q < inner; q++) data[o++] = x.data[(p * ax + k) * inner + q]!;
          }
        return mkConst(od, data, x.int);
      }
      case 'Slice': {
        const x = c(0);
        const r = x.dims.length;
        const st = x.dims.map(() => 0), en = [...x.dims], sp = x.dims.map(() => 1);
        for (const b of sliceBounds(opset, at, (i) => (i <= 2 ? ints(c(i)) : opt(i) && ints(opt(i)!)), x.dims, where)) {
          st[b.axis] = b.start; en[b.axis] = b.end; sp[b.axis] = b.step;
        }
        const od = x.dims.map((_, a) => Math.max(0, Math.ceil((en[a]! - st[a]!) / sp[a]!)));
        const is = strides(x.dims), os = strides(od);
        const data = x.int ? new Float64Array(numel(od)) : new Float32Array(numel(od));
        for (let i = 0; i < data.length; i++) {
          let rem = i, j = 0;
          for (let a = 0; a < r; a++) {
            const q = Math.floor(rem / os[a]!);
            rem -= q * os[a]!;
            j += (st[a]! + q * sp[a]!) * is[a]!;
          }
          data[i] = x.data[j]!;
        }
        return mkConst(od, data, x.int);
      }
      case 'Expand': {
        const x = c(0);
        const shape = ints(c(1));
        const out = broadcastShape(x.dims, shape);
        if (!out) throw new ShapeError(`${where} (Expand): cannot expand ${fmt(x.dims)} to ${fmt(shape)}`);
        return binaryConst(x, mkConst(out, new Float64Array(numel(out)), true), (a) => a, x.int, where);
      }
      case 'Range': {
        const s = c(0).data[0]!, l = c(1).data[0]!, d = c(2).data[0]!;
        const n = Math.max(Math.ceil((l - s) / d), 0);
        if (!(n <= MAX_ELEMENTS)) throw new ModelFormatError(`${where} (Range): too many elements`);
        const int = c(0).int;
        const data = int ? new Float64Array(n) : new Float32Array(n);
        for (let i = 0; i < n; i++) data[i] = s + i * d;
        return mkConst([n], data, int);
      }
      case 'ReduceProd': {
        const x = c(0);
        const axes = opset >= 18 ? (opt(1) ? ints(opt(1)!) : undefined) : at.ints('axes'); // an input from opset 18
        if (axes && axes.length && !(x.dims.length === 1 && axes.length === 1)) this.unsupported(op, name, 'ReduceProd over constants with axes');
        const keep = at.int('keepdims', 1) === 1;
        let p = 1;
        for (const v of x.data) p *= v;
        return mkConst(keep ? x.dims.map(() => 1) : [], x.int ? new Float64Array([p]) : new Float32Array([p]), x.int);
      }
      case 'Add': case 'Sub': case 'Mul': case 'Div': case 'Pow': case 'Min': case 'Max': case 'Sum': {
        const xs = ins.filter((v): v is Const => !!v && v.kind === 'const');
        const int = xs.every((x) => x.int);
        const f: Record<string, (a: number, b: number) => number> = {
          Add: (a, b) => a + b, Sum: (a, b) => a + b, Sub: (a, b) => a - b, Mul: (a, b) => a * b,
          Div: int ? (a, b) => Math.trunc(a / b) : (a, b) => a / b, Pow: (a, b) => a ** b, Min: Math.min, Max: Math.max,
        };
        let acc = xs[0]!;
        for (let i = 1; i < xs.length; i++) acc = binaryConst(acc, xs[i]!, f[op]!, int, `${where} (${op})`);
        return acc;
      }
      default: {
        const f: Record<string, (a: number) => number> = {
          Neg: (a) => -a, Sqrt: Math.sqrt, Reciprocal: (a) => 1 / a, Abs: Math.abs, Floor: Math.floor, Ceil: Math.ceil,
          Exp: Math.exp, Log: Math.log, Relu: (a) => Math.max(a, 0), Sigmoid: (a) => 1 / (1 + Math.exp(-a)), Tanh: Math.tanh,
        };
        const fn = f[op];
        if (!fn) this.unsupported(op, name);
        const x = c(0);
        const data = x.int ? Float64Array.from(x.data, fn) : Float32Array.from(x.data, fn);
        return mkConst(x.dims, data, x.int);
      }
    }
  }

  /** The run-time input `i` of a node (must not be a constant). */
  private dyn(ins: (Val | undefined)[], i: number, op: string, name: string): Dyn {
    const v = ins[i];
    if (!v) throw new ModelFormatError(`${this.where(name)} (${op}) lacks input ${i}`);
    if (v.kind !== 'dyn') this.unsupported(op, name, `input ${i} is a constant where a computed tensor is expected`);
    return v;
  }
  private konst(ins: (Val | undefined)[], i: number, op: string, name: string, what: string): Const {
    const v = ins[i];
    if (!v) throw new ModelFormatError(`${this.where(name)} (${op}) lacks its ${what}`);
    if (v.kind !== 'const') this.unsupported(op, name, `its ${what} is computed at run time (only constant ${what}s are supported)`);
    return v;
  }
  private need4(x: Dyn, op: string, name: string) {
    if (x.shape.length !== 4) this.unsupported(op, name, `only 2-D (NCHW) inputs are supported, got rank ${x.shape.length}`);
  }
  private noExtraOutputs(outNames: string[], op: string, name: string, keep = 1) {
    for (let k = keep; k < outNames.length; k++) if (outNames[k] && this.usedLater(outNames[k]!)) this.unsupported(op, name, `its output ${k} (${outNames[k]}) is used`);
  }
  /** Set by the caller: names of values some live node or the graph reads. */
  private usedLater(_name: string): boolean {
    return this.consumed.has(_name);
  }
  consumed = new Set<string>();

  /** Per-channel [C] vector of a constant broadcast against x (null if it is not per channel). */
  private perChannel(x: number[], k: Const, axisAttr?: number): Float32Array | null {
    const r = x.length;
    if (r < 2 || k.dims.length > r) return null;
    let full: number[];
    if (axisAttr !== undefined) {
      const a = axisAttr < 0 ? axisAttr + r : axisAttr;
      full = [...new Array<number>(a).fill(1), ...k.dims];
      while (full.length < r) full.push(1);
      if (full.length !== r) return null;
    } else full = [...new Array<number>(r - k.dims.length).fill(1), ...k.dims];
    const C = x[1]!;
    if (full.some((d, i) => i !== 1 && d !== 1)) return null;
    if (full[1] !== 1 && full[1] !== C) return null;
    const src = f32(k);
    if (full[1] === C) return src;
    return new Float32Array(C).fill(src[0]!);
  }

  private map(op: string, name: string, at: Attrs, ins: (Val | undefined)[], inNames: string[], outNames: string[]) {
    const out = outNames[0]!;
    const opset = this.ctx.opset;
    const where = this.where(name);
    const alias = (v: Dyn) => {
      this.values.set(out, v);
      this.aliasNode.set(out, name);
    };
    switch (op) {
      case 'Identity':
      case 'Dropout': {
        const x = this.dyn(ins, 0, op, name);
        if (op === 'Dropout') this.noExtraOutputs(outNames, op, name);
        if (op === 'Dropout' && opset >= 12 && ins[2]?.kind === 'const' && ins[2].data[0]) this.unsupported(op, name, 'training_mode is set');
        alias(x);
        return;
      }
      case 'Cast': {
        const x = this.dyn(ins, 0, op, name);
        const to = at.castTo(opset);
        if (to !== DT.FLOAT && to !== DT.DOUBLE && to !== DT.FLOAT16) this.unsupported(op, name, `cast of a computed tensor to type ${to}`);
        alias(x);
        return;
      }
      case 'Conv':
      case 'ConvTranspose': {
        const x = this.dyn(ins, 0, op, name);
        this.need4(x, op, name);
        const w = this.konst(ins, 1, op, name, 'weight');
        if (w.dims.length !== 4) throw new ShapeError(`${where} (${op}): weight ${fmt(w.dims)} must be 4-D [out, in, kh, kw]`);
        const [n, c, h, wd] = x.shape as [number, number, number, number];
        const group = at.int('group', 1);
        if (group < 1) throw new ModelFormatError(`${where} (${op}): group ${group}`);
        const ks = at.ints('kernel_shape') ?? [w.dims[2]!, w.dims[3]!];
        if (ks.length !== 2 || ks[0] !== w.dims[2] || ks[1] !== w.dims[3])
          throw new ShapeError(`${where} (${op}): kernel_shape ${fmt(ks)} does not match weight ${fmt(w.dims)}`);
        const kernel: [number, number] = [ks[0]!, ks[1]!];
        const stride = pair(at.ints('strides'), 1, where, 'strides');
        const dilation = pair(at.ints('dilations'), 1, where, 'dilations');
        if (stride.some((s) => s < 1) || dilation.some((s) => s < 1)) throw new ModelFormatError(`${where} (${op}): invalid strides or dilations`);
        let cout: number;
        if (op === 'Conv') {
          if (w.dims[1]! * group !== c || w.dims[0]! % group !== 0)
            throw new ShapeError(`${where} (Conv): weight ${fmt(w.dims)} with group ${group} does not fit an input of ${c} channels`);
          cout = w.dims[0]!;
        } else {
          if (w.dims[0] !== c) throw new ShapeError(`${where} (ConvTranspose): weight ${fmt(w.dims)} does not fit an input of ${c} channels`);
          cout = w.dims[1]! * group;
        }
        let bias: string | undefined;
        const bv = ins[2];
        if (bv) {
          const bc = this.konst(ins, 2, op, name, 'bias');
          if (numel(bc.dims) !== cout || bc.dims.length !== 1) throw new ShapeError(`${where} (${op}): bias ${fmt(bc.dims)} does not fit ${cout} output channels`);
          bias = this.addParam(bc.name ?? inNames[2]!, [cout], f32(bc));
        }
        const weight = this.addParam(w.name ?? inNames[1]!, [...w.dims], f32(w));
        const autoPad = at.str('auto_pad', 'NOTSET');
        if (op === 'Conv') {
          const eff: [number, number] = [dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1];
          const pads = this.pads(at, autoPad, [h, wd], eff, stride, where, op);
          const oh = Math.floor((h + pads[0] + pads[2] - eff[0]) / stride[0]) + 1;
          const ow = Math.floor((wd + pads[1] + pads[3] - eff[1]) / stride[1]) + 1;
          if (oh < 1 || ow < 1) throw new ShapeError(`${where} (Conv): input ${h}×${wd} is smaller than the ${kernel[0]}×${kernel[1]} kernel`);
          const attrs: ConvAttrs = { kernel, stride, pads, dilation, group, weight, ...(bias ? { bias } : {}) };
          this.emit({ op: 'conv', name, inputs: [x.name], outputs: [out], attrs }, [n, cout, oh, ow], out);
        } else {
          const outPad = pair(at.ints('output_padding'), 0, where, 'output_padding');
          let pads: Pads;
          const os = at.ints('output_shape');
          if (os && os.length) {
            const target = os.slice(-2);
            const tot = [0, 1].map((i) => stride[i]! * ([h, wd][i]! - 1) + outPad[i]! + (kernel[i]! - 1) * dilation[i]! + 1 - target[i]!);
            if (tot.some((t) => t < 0)) this.unsupported(op, name, 'output_shape larger than the natural output');
            const lo = tot.map((t) => (autoPad === 'SAME_UPPER' ? Math.floor(t / 2) : t - Math.floor(t / 2)));
            pads = [lo[0]!, lo[1]!, tot[0]! - lo[0]!, tot[1]! - lo[1]!];
          } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
            const tot = [0, 1].map((i) => Math.max(0, stride[i]! * ([h, wd][i]! - 1) + outPad[i]! + (kernel[i]! - 1) * dilation[i]! + 1 - [h, wd][i]! * stride[i]!));
            const lo = tot.map((t) => (autoPad === 'SAME_UPPER' ? Math.floor(t / 2) : t - Math.floor(t / 2)));
            pads = [lo[0]!, lo[1]!, tot[0]! - lo[0]!, tot[1]! - lo[1]!];
          } else pads = explicitPads(at.ints('pads'), where);
          const oh = (h - 1) * stride[0] - pads[0] - pads[2] + dilation[0] * (kernel[0] - 1) + outPad[0] + 1;
          const ow = (wd - 1) * stride[1] - pads[1] - pads[3] + dilation[1] * (kernel[1] - 1) + outPad[1] + 1;
          const attrs = { kernel, stride, pads, dilation, group, weight, ...(bias ? { bias } : {}), outputPadding: outPad };
          this.emit({ op: 'convtranspose', name, inputs: [x.name], outputs: [out], attrs }, [n, cout, oh, ow], out);
        }
        return;
      }
      case 'MaxPool':
      case 'AveragePool': {
        const x = this.dyn(ins, 0, op, name);
        this.need4(x, op, name);
        if (op === 'MaxPool') this.noExtraOutputs(outNames, op, name);
        const ks = at.ints('kernel_shape');
        if (!ks || ks.length !== 2) throw new ModelFormatError(`${where} (${op}): kernel_shape must have 2 entries`);
        const kernel: [number, number] = [ks[0]!, ks[1]!];
        if (kernel.some((k) => k < 1)) throw new ModelFormatError(`${where} (${op}): invalid kernel_shape ${fmt(ks)}`);
        const stride = pair(at.ints('strides'), 1, where, 'strides');
        if (stride.some((s) => s < 1)) throw new ModelFormatError(`${where} (${op}): invalid strides`);
        const dil = at.ints('dilations');
        if (dil && dil.some((d) => d !== 1)) this.unsupported(op, name, 'dilated pooling');
        const [n, c, h, w] = x.shape as [number, number, number, number];
        const autoPad = at.str('auto_pad', 'NOTSET');
        const ceil = at.int('ceil_mode', 0) === 1 && (autoPad === 'NOTSET' || autoPad === '');
        const pads = this.pads(at, autoPad, [h, w], kernel, stride, where, op);
        const attrs: PoolAttrs = { kernel, stride, pads, ceil };
        if (op === 'AveragePool') attrs.countIncludePad = at.int('count_include_pad', 0) === 1;
        const oh = poolOut(h, kernel[0], stride[0], pads[0], pads[2], ceil);
        const ow = poolOut(w, kernel[1], stride[1], pads[1], pads[3], ceil);
        if (oh < 1 || ow < 1) throw new ShapeError(`${where} (${op}): input ${h}×${w} is smaller than the pooling window`);
        this.emit({ op: op === 'MaxPool' ? 'maxpool' : 'avgpool', name, inputs: [x.name], outputs: [out], attrs }, [n, c, oh, ow], out);
        return;
      }
      case 'GlobalAveragePool':
      case 'GlobalMaxPool': {
        const x = this.dyn(ins, 0, op, name);
        this.need4(x, op, name);
        this.emit({ op: op === 'GlobalAveragePool' ? 'globalavgpool' : 'globalmaxpool', name, inputs: [x.name], outputs: [out], attrs: {} }, [x.shape[0]!, x.shape[1]!, 1, 1], out);
        return;
      }
      case 'Relu': case 'Sigmoid': case 'Tanh': {
        const x = this.dyn(ins, 0, op, name);
        this.emit({ op: op.toLowerCase() as 'relu' | 'sigmoid' | 'tanh', name, inputs: [x.name], outputs: [out], attrs: {} }, [...x.shape], out);
        return;
      }
      case 'LeakyRelu': {
        const x = this.dyn(ins, 0, op, name);
        this.emit({ op: 'leakyrelu', name, inputs: [x.name], outputs: [out], attrs: { alpha: at.float('alpha', 0.01) } }, [...x.shape], out);
        return;
      }
      case 'Elu': {
        const x = this.dyn(ins, 0, op, name);
        this.emit({ op: 'elu', name, inputs: [x.name], outputs: [out], attrs: { alpha: at.float('alpha', 1.0) } }, [...x.shape], out);
        return;
      }
      case 'Clip': {
        // opset < 11: min / max attributes; from 11: optional constant inputs. A missing bound is ±infinity.
        const x = this.dyn(ins, 0, op, name);
        const bound = (i: number, what: string, d: number): number => {
          if (opset < 11) return at.float(what, d);
          if (!ins[i]) return d;
          const k = this.konst(ins, i, op, name, what);
          if (numel(k.dims) !== 1) this.unsupported(op, name, `its ${what} holds ${numel(k.dims)} values (one expected)`);
          return k.data[0]!;
        };
        const attrs = { min: bound(1, 'min', -Infinity), max: bound(2, 'max', Infinity) };
        this.emit({ op: 'clip', name, inputs: [x.name], outputs: [out], attrs }, [...x.shape], out);
        return;
      }
      case 'HardSigmoid': {
        // ONNX's defaults (alpha 0.2) are not torch's (1/6): torch writes its alpha
        const x = this.dyn(ins, 0, op, name);
        this.emit({ op: 'hardsigmoid', name, inputs: [x.name], outputs: [out], attrs: { alpha: at.float('alpha', 0.2), beta: at.float('beta', 0.5) } }, [...x.shape], out);
        return;
      }
      case 'HardSwish': {
        const x = this.dyn(ins, 0, op, name);
        this.emit({ op: 'hardswish', name, inputs: [x.name], outputs: [out], attrs: {} }, [...x.shape], out);
        return;
      }
      case 'Transpose': {
        const x = this.dyn(ins, 0, op, name);
        const r = x.shape.length;
        const perm = at.ints('perm') ?? x.shape.map((_, i) => r - 1 - i);
        if (perm.length !== r || [...perm].sort((a, b2) => a - b2).some((p, i) => p !== i)) throw new ModelFormatError(`${where} (Transpose): perm ${fmt(perm)} is not a permutation of ${r} axes`);
        if (perm[0] !== 0) this.unsupported(op, name, `perm ${fmt(perm)} moves the batch axis`);
        if (r > 6) this.unsupported(op, name, `a transpose of rank ${r} (at most 6)`);
        if (perm.every((p, i) => p === i)) return alias(x);
        this.emit({ op: 'transpose', name, inputs: [x.name], outputs: [out], attrs: { perm } }, perm.map((p) => x.shape[p]!), out);
        return;
      }
      case 'Slice': {
        // of a computed tensor: channels (axis 1) with step 1; other axes only whole
        const x = this.dyn(ins, 0, op, name);
        const given = (i: number, what: string) => (i <= 2 || ins[i] ? ints(this.konst(ins, i, op, name, what)) : undefined);
        let start = 0, count = x.shape[1]!;
        for (const b of sliceBounds(opset, at, given, x.shape, where)) {
          if (b.axis === 0) {
            // the batch: only all of it (start 0, end past any batch size)
            if (b.step !== 1 || b.given[0] !== 0 || b.given[1] < 2 ** 31 - 1) this.unsupported(op, name, 'a slice of the batch axis');
            continue;
          }
          if (b.step === 1 && b.start === 0 && b.end === x.shape[b.axis]) continue; // the whole axis
          if (b.axis !== 1) this.unsupported(op, name, `a slice along axis ${b.axis} (only channels, axis 1)`);
          if (b.step !== 1) this.unsupported(op, name, `a slice with step ${b.step} (only 1)`);
          start = b.start;
          count = b.end - b.start;
        }
        if (count <= 0) throw new ShapeError(`${where} (Slice): the slice of ${fmt(x.shape)} is empty`);
        if (count === x.shape[1]) return alias(x);
        this.emit({ op: 'slicechannels', name, inputs: [x.name], outputs: [out], attrs: { start, count } }, [x.shape[0]!, count, ...x.shape.slice(2)], out);
        return;
      }
      case 'Split': {
        // along channels; one slicechannels node per output (the first named as the ONNX node, then name#k)
        const x = this.dyn(ins, 0, op, name);
        const r = x.shape.length;
        let axis = at.int('axis', 0);
        if (axis < 0) axis += r;
        if (axis !== 1) this.unsupported(op, name, `a split along axis ${axis} (only channels, axis 1)`);
        const C = x.shape[1]!;
        const n = outNames.length;
        let split = opset < 13 ? at.ints('split') : ins[1] ? ints(this.konst(ins, 1, op, name, 'split')) : undefined;
        if (!split || split.length === 0) {
          if (opset >= 18 && at.has('num_outputs')) {
            const part = Math.ceil(C / n);
            split = Array.from({ length: n }, (_, k) => Math.min(part, C - k * part));
          } else {
            if (C % n !== 0) throw new ShapeError(`${where} (Split): ${C} channels do not split into ${n} equal parts`);
            split = new Array<number>(n).fill(C / n);
          }
        }
        if (split.length !== n || split.reduce((a, b2) => a + b2, 0) !== C || split.some((c) => c < 1))
          throw new ShapeError(`${where} (Split): parts ${fmt(split)} do not split ${C} channels into ${n} non-empty outputs`);
        let c0 = 0;
        split.forEach((count, k) => {
          const o = outNames[k];
          if (o) this.emit({ op: 'slicechannels', name: k === 0 ? name : `${name}#${k}`, inputs: [x.name], outputs: [o], attrs: { start: c0, count } }, [x.shape[0]!, count, ...x.shape.slice(2)], o);
          c0 += count;
        });
        return;
      }
      case 'ReduceMean': {
        // axes: an attribute until opset 18, then an optional input; keepdims default 1
        const x = this.dyn(ins, 0, op, name);
        const r = x.shape.length;
        const keepdims = at.int('keepdims', 1) === 1;
        const given = opset >= 18 ? (ins[1] ? ints(this.konst(ins, 1, op, name, 'axes')) : undefined) : at.ints('axes');
        if (!given || given.length === 0) {
          if (opset >= 18 && at.int('noop_with_empty_axes', 0) === 1) return alias(x);
          this.unsupported(op, name, 'a mean over every axis, the batch included');
        }
        const axes = [...new Set(given.map((a) => (a < 0 ? a + r : a)))].sort((a, b2) => a - b2);
        if (axes.some((a) => a < 0 || a >= r)) throw new ModelFormatError(`${where} (ReduceMean): axes ${fmt(given)} out of range for rank ${r}`);
        if (axes[0] === 0) this.unsupported(op, name, 'a mean over the batch axis');
        const shape = keepdims ? x.shape.map((d, k) => (axes.includes(k) ? 1 : d)) : x.shape.filter((_, k) => !axes.includes(k));
        this.emit({ op: 'reducemean', name, inputs: [x.name], outputs: [out], attrs: { axes, keepdims } }, shape, out);
        return;
      }
      case 'PRelu': {
        const x = this.dyn(ins, 0, op, name);
        const s = this.konst(ins, 1, op, name, 'slope');
        let data: Float32Array | null;
        let dims: number[];
        if (numel(s.dims) === 1) {
          data = f32(s);
          dims = [1];
        } else {
          data = this.perChannel(x.shape, s, opset < 7 ? 1 : undefined);
          // opset < 7 PRelu slopes of shape [C] are per channel
          if (!data && opset < 7 && s.dims.length === 1 && s.dims[0] === x.shape[1]) data = f32(s);
          if (!data) this.unsupported(op, name, `slope ${fmt(s.dims)} is not per channel for an input ${fmt(x.shape)}`);
          dims = [x.shape[1]!];
        }
        const slope = this.addParam(s.name ?? inNames[1]!, dims, data);
        this.emit({ op: 'prelu', name, inputs: [x.name], outputs: [out], attrs: { slope } }, [...x.shape], out);
        return;
      }
      case 'LRN': {
        const x = this.dyn(ins, 0, op, name);
        const size = at.int('size', 0);
        if (size < 1) throw new ModelFormatError(`${where} (LRN): size must be positive`);
        const attrs = { size, alpha: at.float('alpha', 0.0001), beta: at.float('beta', 0.75), bias: at.float('bias', 1.0) };
        this.emit({ op: 'lrn', name, inputs: [x.name], outputs: [out], attrs }, [...x.shape], out);
        return;
      }
      case 'Concat': {
        const xs = ins.filter((v): v is Val => !!v);
        if (xs.some((v) => v.kind !== 'dyn')) this.unsupported(op, name, 'concatenation of computed tensors with constants');
        const ds = xs as Dyn[];
        const r = ds[0]!.shape.length;
        let axis = at.int('axis', 1);
        if (axis < 0) axis += r;
        if (axis < 0 || axis >= r) throw new ModelFormatError(`${where} (Concat): axis ${at.int('axis', 1)} out of range`);
        if (axis !== 1) this.unsupported(op, name, `concatenation along axis ${axis} (only channels, axis 1)`);
        for (const d of ds)
          if (d.shape.length !== r || d.shape.some((v, i) => i !== axis && v !== ds[0]!.shape[i]))
            throw new ShapeError(`${where} (Concat): cannot concatenate ${ds.map((d) => fmt(d.shape)).join(', ')}`);
        const shape = [...ds[0]!.shape];
        shape[1] = ds.reduce((s, d) => s + d.shape[1]!, 0);
        if (ds.length === 1) return alias(ds[0]!);
        this.emit({ op: 'concat', name, inputs: ds.map((d) => d.name), outputs: [out], attrs: { axis } }, shape, out);
        return;
      }
      case 'Gemm': {
        const x = this.dyn(ins, 0, op, name);
        if (at.int('transA', 0) !== 0) this.unsupported(op, name, 'transA=1');
        if (x.shape.length !== 2) this.unsupported(op, name, `input of rank ${x.shape.length} (Gemm needs [N, K])`);
        const bw = this.konst(ins, 1, op, name, 'B matrix');
        if (bw.dims.length !== 2) throw new ShapeError(`${where} (Gemm): B ${fmt(bw.dims)} must be 2-D`);
        const transB = at.int('transB', 0) === 1;
        const alpha = at.float('alpha', 1), beta = at.float('beta', 1);
        const wc = transB ? bw : transposeData(bw, [1, 0]);
        const [M, K] = wc.dims as [number, number];
        if (K !== x.shape[1]) throw new ShapeError(`${where} (Gemm): inner dimensions do not match: input ${fmt(x.shape)}, B ${fmt(bw.dims)}${transB ? ' (transposed)' : ''}`);
        let wdata = f32(wc);
        if (alpha !== 1) wdata = Float32Array.from(wdata, (v) => v * alpha);
        const weight = this.addParam(transB && alpha === 1 ? bw.name ?? inNames[1]! : `${name}.weight`, [M, K], wdata);
        let bias: string | undefined;
        if (ins[2] && beta !== 0) {
          const cc = this.konst(ins, 2, op, name, 'C bias');
          const full = broadcastShape(cc.dims, [1, M]);
          if (!full || full.length !== 2 || full[0] !== 1 || full[1] !== M) throw new ShapeError(`${where} (Gemm): C ${fmt(cc.dims)} does not broadcast to [1, ${M}]`);
          const orig = f32(cc);
          let bd = orig;
          if (bd.length !== M) bd = new Float32Array(M).fill(bd[0]!);
          if (beta !== 1) bd = Float32Array.from(bd, (v) => v * beta);
          bias = this.addParam(bd === orig ? cc.name ?? inNames[2]! : `${name}.bias`, [M], bd);
        }
        this.emit({ op: 'fc', name, inputs: [x.name], outputs: [out], attrs: { weight, ...(bias ? { bias } : {}), outFeatures: M } }, [x.shape[0]!, M], out);
        return;
      }
      case 'MatMul': {
        const x = this.dyn(ins, 0, op, name);
        const bw = this.konst(ins, 1, op, name, 'right operand');
        if (x.shape.length !== 2) this.unsupported(op, name, `left operand of rank ${x.shape.length} (only [N, K] × [K, M])`);
        if (bw.dims.length !== 2) this.unsupported(op, name, `right operand ${fmt(bw.dims)} (only a 2-D constant)`);
        const [K, M] = bw.dims as [number, number];
        if (K !== x.shape[1]) throw new ShapeError(`${where} (MatMul): inner dimensions do not match: ${fmt(x.shape)} × ${fmt(bw.dims)}`);
        const weight = this.addParam(`${bw.name ?? inNames[1]}_T`, [M, K], f32(transposeData(bw, [1, 0])));
        this.emit({ op: 'fc', name, inputs: [x.name], outputs: [out], attrs: { weight, outFeatures: M } }, [x.shape[0]!, M], out);
        return;
      }
      case 'Add': case 'Sub': case 'Mul': case 'Div': case 'Sum': {
        const present = ins.filter((v): v is Val => !!v);
        const ds = present.filter((v): v is Dyn => v.kind === 'dyn');
        const ks = present.filter((v): v is Const => v.kind === 'const');
        if (ks.length === 0) {
          if (ds.length === 1) return alias(ds[0]!);
          if (op === 'Sub' || op === 'Div') this.unsupported(op, name, 'of two computed tensors');
          // numpy broadcasting between computed tensors of equal rank (the SE gate [N,C,1,1] × [N,C,H,W])
          if (ds.some((d) => d.shape.length !== ds[0]!.shape.length))
            this.unsupported(op, name, `broadcasting between computed tensors of different ranks ${ds.map((d) => fmt(d.shape)).join(', ')}`);
          let shape: number[] | null = ds[0]!.shape;
          for (const d of ds) shape = shape && broadcastShape(shape, d.shape);
          if (!shape) throw new ShapeError(`${where} (${op}): computed tensors ${ds.map((d) => fmt(d.shape)).join(', ')} do not broadcast`);
          if (op === 'Mul' && ds.length !== 2) this.unsupported(op, name, 'of more than two tensors');
          this.emit({ op: op === 'Mul' ? 'mul' : 'add', name, inputs: ds.map((d) => d.name), outputs: [out], attrs: {} }, shape, out);
          return;
        }
        if (ds.length !== 1) this.unsupported(op, name, 'mixing constants with several computed tensors');
        const x = ds[0]!;
        // Combine several constants (Sum) into one.
        let k = ks[0]!;
        for (let i = 1; i < ks.length; i++) k = binaryConst(k, ks[i]!, (a, b2) => a + b2, false, where);
        const axisAttr = opset < 7 && at.int('broadcast', 0) === 1 && at.has('axis') ? at.int('axis', 0) : undefined;
        const vec = this.perChannel(x.shape, k, axisAttr);
        if (!vec) this.unsupported(op, name, `constant ${fmt(k.dims)} does not broadcast per channel over ${fmt(x.shape)}`);
        const C = x.shape[1]!;
        const constFirst = present[0]!.kind === 'const';
        const pname = k.name ?? inNames[ins.indexOf(k)] ?? `${name}.param`;
        let scale: Float32Array | undefined, shift: Float32Array | undefined;
        switch (op) {
          case 'Add': case 'Sum': shift = vec; break;
          case 'Mul': scale = vec; break;
          case 'Sub':
            if (constFirst) { scale = new Float32Array(C).fill(-1); shift = vec; }
            else shift = Float32Array.from(vec, (v) => -v);
            break;
          case 'Div':
            if (constFirst) this.unsupported(op, name, 'division of a constant by a computed tensor');
            scale = Float32Array.from(vec, (v) => 1 / v);
            break;
        }
        const attrs: { scale?: string; shift?: string } = {};
        if (scale) attrs.scale = this.addParam(op === 'Mul' ? pname : `${name}.scale`, [C], scale);
        if (shift) attrs.shift = this.addParam(shift === vec ? pname : `${name}.shift`, [C], shift);
        this.emit({ op: 'channelaffine', name, inputs: [x.name], outputs: [out], attrs }, [...x.shape], out);
        return;
      }
      case 'BatchNormalization': {
        const x = this.dyn(ins, 0, op, name);
        this.noExtraOutputs(outNames, op, name);
        if (opset >= 14 && at.int('training_mode', 0) === 1) this.unsupported(op, name, 'training_mode=1');
        const C = x.shape[1]!;
        const [s, bb, mean, v] = [1, 2, 3, 4].map((i) => this.konst(ins, i, op, name, ['scale', 'bias', 'mean', 'variance'][i - 1]!));
        for (const [t, what] of [[s, 'scale'], [bb, 'bias'], [mean, 'mean'], [v, 'variance']] as const)
          if (numel(t!.dims) !== C) throw new ShapeError(`${where} (BatchNormalization): ${what} ${fmt(t!.dims)} does not fit ${C} channels`);
        const eps = at.float('epsilon', 1e-5);
        const scale = new Float32Array(C), shift = new Float32Array(C);
        for (let i = 0; i < C; i++) {
          scale[i] = s!.data[i]! / Math.sqrt(v!.data[i]! + eps);
          shift[i] = bb!.data[i]! - mean!.data[i]! * scale[i]!;
        }
        const attrs = { scale: this.addParam(`${name}.scale`, [C], scale), shift: this.addParam(`${name}.shift`, [C], shift) };
        this.emit({ op: 'channelaffine', name, inputs: [x.name], outputs: [out], attrs }, [...x.shape], out);
        return;
      }
      case 'Softmax':
      case 'LogSoftmax': {
        const x = this.dyn(ins, 0, op, name);
        const r = x.shape.length;
        let axis = at.int('axis', opset >= 13 ? -1 : 1);
        if (axis < 0) axis += r;
        if (axis < 0 || axis >= r) throw new ModelFormatError(`${where} (${op}): axis out of range`);
        if (opset < 13 && axis < r - 1) {
          // Old semantics: softmax over all dims from `axis` on, flattened. Same as one axis when the rest are 1.
          if (numel(x.shape.slice(axis + 1)) !== 1) this.unsupported(op, name, `softmax over the flattened dimensions ${axis}.. of ${fmt(x.shape)}`);
        }
        if (axis === 0) this.unsupported(op, name, 'softmax across the batch');
        this.emit({ op: 'softmax', name, inputs: [x.name], outputs: [out], attrs: op === 'LogSoftmax' ? { axis, log: true } : { axis } }, [...x.shape], out);
        return;
      }
      case 'Flatten': {
        const x = this.dyn(ins, 0, op, name);
        let axis = at.int('axis', 1);
        if (axis < 0) axis += x.shape.length;
        if (axis !== 1) this.unsupported(op, name, `flatten at axis ${axis} (only axis 1 keeps the batch)`);
        this.emit({ op: 'flatten', name, inputs: [x.name], outputs: [out], attrs: { axis: 1 } }, [x.shape[0]!, numel(x.shape.slice(1))], out);
        return;
      }
      case 'Reshape': case 'Squeeze': case 'Unsqueeze': {
        const x = this.dyn(ins, 0, op, name);
        let target: number[] | null;
        if (op === 'Reshape') {
          let spec = opset < 5 ? at.ints('shape') ?? [] : ints(this.konst(ins, 1, op, name, 'shape'));
          const allowZero = at.int('allowzero', 0) === 1;
          if (allowZero && spec.includes(0)) this.unsupported(op, name, 'allowzero with a 0 in the shape');
          // The first entry is the batch: the file may have written its own batch size there.
          if (spec.length > 0 && this.ctx.batch0 !== undefined && spec[0] === this.ctx.batch0) spec = [0, ...spec.slice(1)];
          target = reshapeDims(x.shape, spec, false);
          if (!target) throw new ShapeError(`${where} (Reshape): cannot reshape ${fmt(x.shape)} to ${fmt(spec)}`);
        } else if (op === 'Unsqueeze') {
          const axes = opset >= 13 && !at.has('axes') ? ints(this.konst(ins, 1, op, name, 'axes')) : at.ints('axes') ?? [];
          target = unsqueezeDims(x.shape, axes, where);
        } else {
          const axes = opset >= 13 && !at.has('axes') ? (ins[1] ? ints(this.konst(ins, 1, op, name, 'axes')) : undefined) : at.ints('axes');
          const ax = axes ?? x.shape.map((d, i) => (d === 1 && i > 0 ? i : -99)).filter((i) => i >= 0);
          target = squeezeDims(x.shape, ax, where);
        }
        if (target.length < 2 || target[0] !== x.shape[0]) this.unsupported(op, name, `reshape of ${fmt(x.shape)} to ${fmt(target)} mixes the batch dimension with others`);
        if (target.length === 2) this.emit({ op: 'flatten', name, inputs: [x.name], outputs: [out], attrs: { axis: 1 } }, target, out);
        else this.emit({ op: 'reshape', name, inputs: [x.name], outputs: [out], attrs: { shape: [0, ...target.slice(1)] } }, target, out);
        return;
      }
      case 'Pad': {
        const x = this.dyn(ins, 0, op, name);
        this.need4(x, op, name);
        const mode = at.str('mode', 'constant');
        if (mode !== 'constant') this.unsupported(op, name, `mode "${mode}"`);
        let pads: number[];
        let value = 0;
        if (opset < 11) {
          pads = at.ints(opset < 2 ? 'paddings' : 'pads') ?? [];
          value = at.float('value', 0);
        } else {
          pads = ints(this.konst(ins, 1, op, name, 'pads'));
          if (ins[2]) value = this.konst(ins, 2, op, name, 'constant value').data[0] ?? 0;
          if (ins[3]) {
            const axes = ints(this.konst(ins, 3, op, name, 'axes')).map((a) => (a < 0 ? a + 4 : a));
            const full = new Array<number>(8).fill(0);
            axes.forEach((a, i) => { full[a] = pads[i]!; full[a + 4] = pads[i + axes.length]!; });
            pads = full;
          }
        }
        if (pads.length !== 8) throw new ModelFormatError(`${where} (Pad): pads ${fmt(pads)} must have 8 entries for a 4-D input`);
        if (pads[0] || pads[1] || pads[4] || pads[5]) this.unsupported(op, name, 'padding of the batch or channel dimensions');
        if (pads.some((p) => p < 0)) this.unsupported(op, name, 'negative pads (cropping)');
        const p: Pads = [pads[2]!, pads[3]!, pads[6]!, pads[7]!];
        const [n, c, h, w] = x.shape as [number, number, number, number];
        this.emit({ op: 'pad', name, inputs: [x.name], outputs: [out], attrs: { pads: p, value } }, [n, c, h + p[0] + p[2], w + p[1] + p[3]], out);
        return;
      }
      case 'Resize':
      case 'Upsample': {
        const x = this.dyn(ins, 0, op, name);
        this.need4(x, op, name);
        const [n, c, h, w] = x.shape as [number, number, number, number];
        const modeRaw = at.str('mode', 'nearest').toLowerCase();
        const mode = modeRaw === 'nearest' ? 'nearest' : modeRaw === 'linear' || modeRaw === 'bilinear' ? 'bilinear' : undefined;
        if (!mode) this.unsupported(op, name, `mode "${modeRaw}"`);
        let scales: number[] | undefined, sizes: number[] | undefined;
        if (op === 'Upsample') {
          if (opset < 9) scales = at.floats('scales');
          else scales = Array.from(this.konst(ins, 1, op, name, 'scales').data);
        } else if (opset < 11) {
          scales = Array.from(this.konst(ins, 1, op, name, 'scales').data);
        } else {
          const sv = ins[2], zv = ins[3];
          if (sv && numel(this.konst(ins, 2, op, name, 'scales').dims) > 0) scales = Array.from((sv as Const).data);
          if (zv) sizes = ints(this.konst(ins, 3, op, name, 'sizes'));
          if (opset >= 18 && at.has('axes')) this.unsupported(op, name, 'the axes attribute');
        }
        const ctm = op === 'Upsample' || opset < 11 ? 'asymmetric' : at.str('coordinate_transformation_mode', 'half_pixel');
        let outSize: [number, number];
        let scale: [number, number] | undefined;
        if (sizes && sizes.length) {
          if (sizes.length !== 4 || sizes[0] !== n || sizes[1] !== c) this.unsupported(op, name, `sizes ${fmt(sizes)} that change the batch or channels`);
          outSize = [sizes[2]!, sizes[3]!];
        } else if (scales && scales.length) {
          if (scales.length !== 4 || scales[0] !== 1 || scales[1] !== 1) this.unsupported(op, name, `scales ${fmt(scales)} that change the batch or channels`);
          scale = [scales[2]!, scales[3]!];
          outSize = [Math.floor(h * scale[0]), Math.floor(w * scale[1])];
        } else throw new ModelFormatError(`${where} (${op}): neither scales nor sizes given`);
        if (outSize.some((s) => !(s >= 1))) throw new ShapeError(`${where} (${op}): output size ${fmt(outSize)} is empty`);
        if (op === 'Resize' && opset >= 18) {
          if (at.int('antialias', 0) !== 0 && (outSize[0] < h || outSize[1] < w)) this.unsupported(op, name, 'antialiased downsampling');
          const policy = at.str('keep_aspect_ratio_policy', 'stretch');
          if (sizes && sizes.length && policy !== 'stretch') this.unsupported(op, name, `keep_aspect_ratio_policy "${policy}"`);
        }
        if (ctm === 'tf_crop_and_resize') this.unsupported(op, name, 'coordinate_transformation_mode "tf_crop_and_resize"');
        let alignCorners = false;
        if (mode === 'bilinear') {
          if (ctm === 'align_corners') alignCorners = true;
          else if (ctm !== 'half_pixel' && ctm !== 'pytorch_half_pixel') this.unsupported(op, name, `linear resize with coordinate_transformation_mode "${ctm}"`);
        } else {
          const integral = outSize[0] % h === 0 && outSize[1] % w === 0;
          const nm = op === 'Resize' && opset >= 11 ? at.str('nearest_mode', 'round_prefer_floor') : 'floor';
          const classic = ctm === 'asymmetric' && nm === 'floor';
          if (!classic && !integral) this.unsupported(op, name, `nearest resize with coordinate_transformation_mode "${ctm}" and a non-integer scale`);
        }
        const m: 'bilinear' | 'nearest' = mode;
        const attrs = scale && !(sizes && sizes.length) ? { mode: m, scale, alignCorners } : { mode: m, outSize, alignCorners };
        this.emit({ op: 'resize', name, inputs: [x.name], outputs: [out], attrs }, [n, c, outSize[0], outSize[1]], out);
        return;
      }
      default:
        this.unsupported(op, name);
    }
  }

  /** Explicit [top, left, bottom, right] pads from pads/auto_pad, for kernel extent `k`. */
  private pads(at: Attrs, autoPad: string, hw: [number, number], k: [number, number], s: [number, number], where: string, op: string): Pads {
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const tot = [0, 1].map((i) => {
        const out = Math.ceil(hw[i]! / s[i]!);
        return Math.max(0, (out - 1) * s[i]! + k[i]! - hw[i]!);
      });
      const lo = tot.map((t) => (autoPad === 'SAME_UPPER' ? Math.floor(t / 2) : Math.ceil(t / 2)));
      return [lo[0]!, lo[1]!, tot[0]! - lo[0]!, tot[1]! - lo[1]!];
    }
    if (autoPad === 'VALID') return [0, 0, 0, 0];
    if (autoPad !== 'NOTSET' && autoPad !== '') throw new ModelFormatError(`${where} (${op}): unknown auto_pad "${autoPad}"`);
    return explicitPads(at.ints('pads'), where);
  }
}

/**
 * ONNX Slice's starts / ends / axes / steps (attributes before opset 10, inputs 1-4 after, read by
 * `input`) over `dims`: per sliced axis, the bounds made non-negative and clamped as ONNX defines,
 * and the bounds as given.
 */
function sliceBounds(opset: number, at: Attrs, input: (i: number, what: string) => number[] | undefined, dims: number[], where: string) {
  const r = dims.length;
  const [starts, ends, axes0, steps] = opset < 10 ? [at.ints('starts') ?? [], at.ints('ends') ?? [], at.ints('axes'), undefined] : [input(1, 'starts')!, input(2, 'ends')!, input(3, 'axes'), input(4, 'steps')];
  const axes = axes0 ?? starts.map((_, i) => i);
  if (starts.length !== axes.length || ends.length !== axes.length) throw new ModelFormatError(`${where} (Slice): starts, ends and axes differ in length`);
  return axes.map((a0, i) => {
    const axis = a0 < 0 ? a0 + r : a0;
    if (axis < 0 || axis >= r) throw new ModelFormatError(`${where} (Slice): axis out of range`);
    const d = dims[axis]!;
    const step = steps?.[i] ?? 1;
    if (step === 0) throw new ModelFormatError(`${where} (Slice): step 0`);
    let s = starts[i]!, e = ends[i]!;
    if (s < 0) s += d;
    if (e < 0) e += d;
    const [lo, hi] = step > 0 ? [0, d] : [-1, d - 1];
    s = Math.min(Math.max(s, lo), hi);
    e = Math.min(Math.max(e, lo), hi);
    return { axis, start: s, end: e, step, given: [starts[i]!, ends[i]!] as const };
  });
}

function pair(v: number[] | undefined, d: number, where: string, what: string): [number, number] {
  if (!v || v.length === 0) return [d, d];
  if (v.length !== 2) throw new ModelFormatError(`${where}: ${what} must have 2 entries, got ${fmt(v)}`);
  return [v[0]!, v[1]!];
}
function explicitPads(p: number[] | undefined, where: string): Pads {
  if (!p || p.length === 0) return [0, 0, 0, 0];
  if (p.length !== 4) throw new ModelFormatError(`${where}: pads must have 4 entries, got ${fmt(p)}`);
  if (p.some((x) => x < 0)) throw new ModelFormatError(`${where}: negative pads ${fmt(p)}`);
  return [p[0]!, p[1]!, p[2]!, p[3]!];
}
function poolOut(size: number, k: number, s: number, p0: number, p1: number, ceil: boolean): number {
  if (!ceil) return Math.floor((size + p0 + p1 - k) / s) + 1;
  let out = Math.ceil((size + p0 + p1 - k) / s) + 1;
  if ((out - 1) * s >= size + p0) out--;
  return out;
}
function unsqueezeDims(dims: number[], axes: number[], where: string): number[] {
  const r = dims.length + axes.length;
  const ax = new Set(axes.map((a) => (a < 0 ? a + r : a)));
  if (ax.size !== axes.length || [...ax].some((a) => a < 0 || a >= r)) throw new ModelFormatError(`${where} (Unsqueeze): invalid axes ${fmt(axes)}`);
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < r; i++) out.push(ax.has(i) ? 1 : dims[j++]!);
  return out;
}
function squeezeDims(dims: number[], axes: number[] | undefined, where: string): number[] {
  if (!axes) return dims.filter((d) => d !== 1);
  const ax = new Set(axes.map((a) => (a < 0 ? a + dims.length : a)));
  for (const a of ax) if (a < 0 || a >= dims.length || dims[a] !== 1) throw new ShapeError(`${where} (Squeeze): cannot squeeze axis ${a} of ${fmt(dims)}`);
  return dims.filter((_, i) => !ax.has(i));
}
