// onnxruntime-node as the CPU peer: the oracle in tests and the baseline in benchmarks.
import * as ort from 'onnxruntime-node';
import protobuf from 'protobufjs/light.js';
import { onnxRoot } from '../loaders/onnx.ts';

/**
 * `msg` (an encoded message) with the body of each length-delimited field `field` replaced by
 * `edit(body, k)` (k counts them); every other byte is copied as it is, fields that Loupe's schema
 * does not declare included.
 */
function editField(msg: Uint8Array, field: protobuf.Field, edit: (body: Uint8Array, k: number) => Uint8Array): Uint8Array {
  const r = protobuf.Reader.create(msg);
  const parts: Uint8Array[] = [];
  let copied = 0;
  let k = 0;
  while (r.pos < r.len) {
    const start = r.pos;
    const tag = r.uint32();
    if (tag >>> 3 !== field.id || (tag & 7) !== 2) {
      r.skipType(tag & 7);
      continue;
    }
    const len = r.uint32();
    const body = msg.subarray(r.pos, r.pos + len);
    r.skip(len);
    parts.push(msg.subarray(copied, start), protobuf.Writer.create().uint32(tag).bytes(edit(body, k++)).finish());
    copied = r.pos;
  }
  parts.push(msg.subarray(copied));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * A copy of an ONNX model whose inputs and outputs have a symbolic first dimension, so that
 * onnxruntime accepts any batch (the SqueezeNet export declares batch 1). Only those dimensions
 * change: the rest of the model is copied byte for byte.
 */
export function withFreeBatch(bytes: Uint8Array): Uint8Array {
  const T = (name: string) => onnxRoot().lookupType(`onnx.${name}`);
  const [Model, Graph, ValueInfo, Type, TensorType, Shape, Dim, Tensor] =
    ['ModelProto', 'GraphProto', 'ValueInfoProto', 'TypeProto', 'TypeProto.Tensor', 'TensorShapeProto', 'TensorShapeProto.Dimension', 'TensorProto'].map(T) as protobuf.Type[];
  const batchN = Dim!.encode({ dim_param: 'N' }).finish();
  const freeBatch = (vi: Uint8Array) =>
    editField(vi, ValueInfo!.fields.type!, (t) =>
      editField(t, Type!.fields.tensor_type!, (tt) => editField(tt, TensorType!.fields.shape!, (s) => editField(s, Shape!.fields.dim!, (d, k) => (k === 0 ? batchN : d)))));
  const name = (type: protobuf.Type, body: Uint8Array) => (type.decode(body) as unknown as { name: string }).name;
  return editField(bytes, Model!.fields.graph!, (g) => {
    const inits = new Set<string>();
    editField(g, Graph!.fields.initializer!, (t) => (inits.add(name(Tensor!, t)), t));
    const inputs = editField(g, Graph!.fields.input!, (vi) => (inits.has(name(ValueInfo!, vi)) ? vi : freeBatch(vi)));
    return editField(inputs, Graph!.fields.output!, freeBatch);
  });
}

export async function ortSession(bytes: Uint8Array, threads?: number): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(withFreeBatch(bytes), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    ...(threads ? { intraOpNumThreads: threads } : {}),
  });
}

export async function ortRun(s: ort.InferenceSession, input: Float32Array, shape: number[], outputs?: string[]): Promise<Record<string, Float32Array>> {
  const feeds = { [s.inputNames[0]!]: new ort.Tensor('float32', input, shape) };
  const res = outputs ? await s.run(feeds, outputs) : await s.run(feeds);
  const out: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(res)) out[k] = v.data as Float32Array;
  return out;
}
