// onnxruntime-node as the CPU peer: the oracle in tests and the baseline in benchmarks.
import * as ort from 'onnxruntime-node';
import protobuf from 'protobufjs';
import { onnxProto } from '../loaders/onnx-proto.ts';

let modelType: protobuf.Type | undefined;

/**
 * A copy of an ONNX model whose inputs and outputs have a symbolic first dimension, so that
 * onnxruntime accepts any batch (the SqueezeNet export declares batch 1).
 */
export function withFreeBatch(bytes: Uint8Array): Uint8Array {
  modelType ??= protobuf.parse(onnxProto, { keepCase: true }).root.lookupType('onnx.ModelProto');
  const m = modelType.decode(bytes) as unknown as { graph: { input: ValueInfo[]; output: ValueInfo[]; initializer: { name: string }[] } };
  const inits = new Set(m.graph.initializer.map((i) => i.name));
  for (const v of [...m.graph.input.filter((i) => !inits.has(i.name)), ...m.graph.output]) {
    const dim = v.type?.tensor_type?.shape?.dim;
    if (dim && dim.length > 0) dim[0] = { dim_param: 'N' };
  }
  return modelType.encode(m).finish();
}
interface ValueInfo {
  name: string;
  type?: { tensor_type?: { shape?: { dim?: object[] } } };
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
