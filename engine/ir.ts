// The graph IR both loaders produce and the engine runs.
// Tensors are NCHW float32; a shape's first dimension is the batch and is free
// (loaders record it as -1). Feature vectors are [N, C]. Parameters live on the
// graph, keyed by name, and nodes refer to them by name.

export type Pads = [top: number, left: number, bottom: number, right: number];

export interface ConvAttrs {
  kernel: [number, number];
  stride: [number, number];
  pads: Pads;
  dilation: [number, number];
  group: number;
  weight: string; // param [Cout, Cin/group, KH, KW]
  bias?: string; // param [Cout]
}
export interface PoolAttrs {
  kernel: [number, number];
  stride: [number, number];
  pads: Pads; // pads[2], pads[3] are the explicit bottom/right pads (ONNX); ceil adds more where needed
  ceil: boolean; // Caffe rounds the output size up; ONNX defaults to floor
  countIncludePad?: boolean; // average pool only: Caffe divides by the padded window size
}

/**
 * The attributes of each op, by op name. Each op family declares its own in engine/ops/<family>.ts
 * (`declare module '../ir.ts' { interface OpAttrs { ... } }`), next to its op table entry, so
 * adding an op does not touch this file; the op table (engine/ops/index.ts) is typed over OpType.
 */
export interface OpAttrs {}
export type OpType = keyof OpAttrs;

/** One op of the graph. `inputs`/`outputs` are value names; params are referenced from attrs. */
export type Node = { [K in OpType]: { name: string; inputs: string[]; outputs: string[]; op: K; attrs: OpAttrs[K] } }[OpType];

export interface Param {
  dims: number[];
  data: Float32Array;
}

export interface Preprocess {
  size?: [number, number]; // H, W
  mean?: number[]; // per channel, subtracted after scaling to 0..255 units (Caffe convention)
  scale?: number; // multiply after mean subtraction
  bgr?: boolean;
  grayscale?: boolean;
}

export interface Graph {
  name: string;
  format: 'onnx' | 'caffe';
  input: { name: string; shape: number[] }; // [-1, C, H, W] (or [-1, F])
  outputs: string[]; // value names the model declares as outputs, in order
  nodes: Node[]; // topologically ordered
  params: Map<string, Param>;
  preprocess?: Preprocess; // what the file says about its own input, if anything
}

export function nodeParams(n: Node): string[] {
  const a = n.attrs as Record<string, unknown>;
  return ['weight', 'bias', 'slope', 'scale', 'shift'].map((k) => a[k]).filter((v): v is string => typeof v === 'string');
}
