// ONNX writer: encodes a Graph (engine/ir.ts) as an ONNX ModelProto, opset 13, with
// loaders/proto/onnx.proto (loaders/onnx.ts onnxRoot). Covers the ops a trained classifier needs: Conv, Relu,
// MaxPool, AveragePool, Flatten, Gemm (fc, transB = 1), Softmax / LogSoftmax, Identity; and a trained
// decoder's (engine/upconv.ts): ConvTranspose, LeakyRelu. Extra metadata_props travel as given. Parameters
// become float initializers (raw little-endian data); the batch dimension is symbolic ('N').
// Bytes out; nothing here touches the file system.

import type { Graph, Node } from '../engine/ir.ts';
import { inferShapes, numel } from '../engine/shapes.ts';
import { UnsupportedOpError } from '../engine/errors.ts';
import { onnxRoot, PREPROCESS_KEY } from './onnx.ts';

const FLOAT = 1;
const A = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

type Attr = { name: string; type: number; i?: number; f?: number; ints?: number[]; s?: Uint8Array };
const ints = (name: string, v: number[]): Attr => ({ name, type: A.INTS, ints: v });
const int = (name: string, v: number): Attr => ({ name, type: A.INT, i: v });
const float = (name: string, v: number): Attr => ({ name, type: A.FLOAT, f: v });

function rawLE(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) dv.setFloat32(i * 4, data[i]!, true);
  return out;
}

export interface WriteOnnxOptions {
  producer?: string;
  docString?: string;
  /** further metadata_props (key → value), beside the preprocessing */
  metadata?: Record<string, string>;
}

/** Encodes `graph` as an ONNX model (opset 13). Throws UnsupportedOpError for ops without a mapping here. */
export function writeOnnx(graph: Graph, opts: WriteOnnxOptions = {}): Uint8Array {
  const shapes = inferShapes(graph, 1);
  const nodes: object[] = [];
  const node = (op: string, name: string, inputs: string[], outputs: string[], attribute: Attr[] = []) => nodes.push({ op_type: op, name, input: inputs, output: outputs, attribute });
  for (const n of graph.nodes) emit(n);

  function emit(n: Node): void {
    const x = n.inputs[0]!;
    const y = n.outputs[0]!;
    switch (n.op) {
      case 'conv': {
        const a = n.attrs;
        node('Conv', n.name, [x, a.weight, ...(a.bias ? [a.bias] : [])], [y], [
          ints('kernel_shape', a.kernel), ints('strides', a.stride), ints('pads', a.pads), ints('dilations', a.dilation), int('group', a.group),
        ]);
        return;
      }
      case 'convtranspose': {
        const a = n.attrs;
        node('ConvTranspose', n.name, [x, a.weight, ...(a.bias ? [a.bias] : [])], [y], [
          ints('kernel_shape', a.kernel), ints('strides', a.stride), ints('pads', a.pads), ints('dilations', a.dilation), int('group', a.group), ints('output_padding', a.outputPadding),
        ]);
        return;
      }
      case 'relu':
        node('Relu', n.name, [x], [y]);
        return;
      case 'leakyrelu':
        node('LeakyRelu', n.name, [x], [y], [float('alpha', n.attrs.alpha)]);
        return;
      case 'maxpool':
      case 'avgpool': {
        const a = n.attrs;
        const at = [ints('kernel_shape', a.kernel), ints('strides', a.stride), ints('pads', a.pads), int('ceil_mode', a.ceil ? 1 : 0)];
        if (n.op === 'avgpool') at.push(int('count_include_pad', a.countIncludePad ? 1 : 0));
        node(n.op === 'maxpool' ? 'MaxPool' : 'AveragePool', n.name, [x], [y], at);
        return;
      }
      case 'flatten':
        node('Flatten', n.name, [x], [y], [int('axis', n.attrs.axis)]);
        return;
      case 'fc': {
        const a = n.attrs;
        let input = x;
        if (shapes.get(x)!.length !== 2) {
          input = `${n.name}_flat`;
          node('Flatten', `${n.name}_flatten`, [x], [input], [int('axis', 1)]);
        }
        node('Gemm', n.name, [input, a.weight, ...(a.bias ? [a.bias] : [])], [y], [float('alpha', 1), float('beta', 1), int('transB', 1)]);
        return;
      }
      case 'softmax':
        node(n.attrs.log ? 'LogSoftmax' : 'Softmax', n.name, [x], [y], [int('axis', n.attrs.axis)]);
        return;
      case 'identity':
        node('Identity', n.name, [x], [y]);
        return;
      default:
        throw new UnsupportedOpError(`layer "${n.name}" (${n.op}): the ONNX writer has no mapping for this op`);
    }
  }

  const initializer = [...graph.params].map(([name, p]) => {
    // fc weights are [out, in] for Gemm; conv weights keep their 4-D dims.
    if (numel(p.dims) !== p.data.length) throw new UnsupportedOpError(`parameter ${name}: ${p.data.length} values for dims [${p.dims.join(', ')}]`);
    return { name, dims: p.dims, data_type: FLOAT, raw_data: rawLE(p.data) };
  });
  const vinfo = (name: string, shape: number[]) => ({
    name,
    type: { tensor_type: { elem_type: FLOAT, shape: { dim: shape.map((d, i) => (i === 0 ? { dim_param: 'N' } : { dim_value: d })) } } },
  });
  const M = onnxRoot().lookupType('onnx.ModelProto');
  const msg = M.fromObject({
    ir_version: 8,
    producer_name: opts.producer ?? 'loupe',
    producer_version: '0.1.0',
    ...(opts.docString ? { doc_string: opts.docString } : {}),
    opset_import: [{ domain: '', version: 13 }],
    // The input preprocessing travels with the model (read back by loadOnnx), so a user need not
    // know that this net wants pixels / 255.
    metadata_props: [
      ...(graph.preprocess ? [{ key: PREPROCESS_KEY, value: JSON.stringify(graph.preprocess) }] : []),
      ...Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    ],
    graph: {
      name: graph.name,
      node: nodes,
      initializer,
      input: [vinfo(graph.input.name, shapes.get(graph.input.name)!)],
      output: graph.outputs.map((o) => vinfo(o, shapes.get(o)!)),
    },
  });
  return M.encode(msg).finish();
}
