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

/** One op of the graph. `inputs`/`outputs` are value names; params are referenced from attrs. */
export type Node = { name: string; inputs: string[]; outputs: string[] } & (
  | { op: 'conv'; attrs: ConvAttrs }
  | { op: 'convtranspose'; attrs: ConvAttrs & { outputPadding: [number, number] } } // weight [Cin, Cout/group, KH, KW]
  | { op: 'maxpool'; attrs: PoolAttrs }
  | { op: 'avgpool'; attrs: PoolAttrs }
  | { op: 'globalavgpool'; attrs: Record<string, never> }
  | { op: 'globalmaxpool'; attrs: Record<string, never> }
  | { op: 'relu'; attrs: Record<string, never> }
  | { op: 'leakyrelu'; attrs: { alpha: number } }
  | { op: 'prelu'; attrs: { slope: string } } // param, per channel [C] or scalar [1]
  | { op: 'elu'; attrs: { alpha: number } }
  | { op: 'sigmoid'; attrs: Record<string, never> }
  | { op: 'tanh'; attrs: Record<string, never> }
  // Cross-channel LRN: b = a / (bias + alpha/size * sum_{window of size channels} a^2)^beta
  | { op: 'lrn'; attrs: { size: number; alpha: number; beta: number; bias: number } }
  | { op: 'concat'; attrs: { axis: number } } // axis in NCHW terms, normally 1
  // Fully connected: y[n,o] = sum_i x[n,i] * W[o,i] + b[o]; x is flattened from axis 1.
  | { op: 'fc'; attrs: { weight: string; bias?: string; outFeatures: number } }
  | { op: 'softmax'; attrs: { axis: number; log?: boolean } }
  | { op: 'add'; attrs: Record<string, never> } // elementwise sum of 2+ inputs of the same shape (Add, Sum, Caffe Eltwise SUM)
  | { op: 'mul'; attrs: Record<string, never> } // elementwise product of 2 inputs of the same shape
  // y = x * scale[c] + shift[c] per channel (axis 1); from BatchNorm that could not be folded, Caffe Scale, Add/Mul with a constant.
  | { op: 'channelaffine'; attrs: { scale?: string; shift?: string } }
  | { op: 'flatten'; attrs: { axis: number } }
  | { op: 'reshape'; attrs: { shape: number[] } } // ONNX semantics: 0 copies the input dim, -1 is inferred; dim 0 is the batch
  | { op: 'pad'; attrs: { pads: Pads; value: number } } // constant pad of H and W
  | { op: 'resize'; attrs: { mode: 'bilinear' | 'nearest'; outSize?: [number, number]; scale?: [number, number]; alignCorners: boolean } }
  | { op: 'identity'; attrs: Record<string, never> } // Dropout, Identity
);
export type OpType = Node['op'];

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
