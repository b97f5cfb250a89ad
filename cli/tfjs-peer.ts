// TensorFlow.js's WebGPU backend as `loupe bench`'s same-adapter peer: the graph IR the ONNX loader
// makes is translated node by node into tfjs ops (NHWC; conv weights transposed to HWIO once, at
// translation; a conv followed only by a ReLU becomes one fused conv, as tfjs's converter would make
// it). Its device is its own, on the same Dawn instance and adapter as Loupe's engine. The packages
// are development dependencies: loadTfjs() says they are missing instead of failing.
import type * as TFCore from '@tensorflow/tfjs-core';
import type { Graph, Node } from '../engine/ir.ts';
import { inferShapes } from '../engine/shapes.ts';
import { ArgumentError } from '../engine/errors.ts';
import { nodeGpu } from './gpu-node.ts';

export type TF = typeof TFCore;
type T = TFCore.Tensor;

export const TFJS_PACKAGES = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu'];

let loaded: Promise<{ tf: TF; adapter: string } | { missing: string }> | undefined;

/**
 * tfjs-core with its WebGPU backend on the `webgpu` package's GPU (the one Loupe's engine uses):
 * `navigator.gpu` is set before the backend is imported, since the backend registers itself only
 * where it finds one. Answers `{ missing }` when a package is not installed.
 */
export function loadTfjs(): Promise<{ tf: TF; adapter: string } | { missing: string }> {
  return (loaded ??= (async () => {
    const gpu = await nodeGpu();
    const g = globalThis as { navigator?: { gpu?: GPU } };
    if (!g.navigator) g.navigator = { gpu };
    else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    let tf: TF;
    try {
      tf = (await import('@tensorflow/tfjs-core')) as TF;
      await import('@tensorflow/tfjs-backend-webgpu');
    } catch (e) {
      const m = /Cannot find (?:package|module) '(@tensorflow\/[\w-]+)/.exec(String((e as Error).message));
      if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && m) return { missing: m[1]! };
      throw e;
    }
    if (!(await tf.setBackend('webgpu'))) throw new ArgumentError('TensorFlow.js: the webgpu backend did not start on this adapter');
    await tf.ready();
    const info = (tf.backend() as unknown as { adapterInfo?: { vendor?: string; architecture?: string; description?: string } }).adapterInfo;
    const adapter = [info?.vendor, info?.architecture, info?.description].filter((s) => s).join(' ') || 'unknown adapter';
    return { tf, adapter };
  })());
}

/** N×C×H×W → N×H×W×C, once, outside any timing: the layout tfjs's convolutions take. */
export function toNhwc(x: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < h * w; i++) y[(b * h * w + i) * c + ch] = x[(b * c + ch) * h * w + i]!;
  return y;
}

/** ONNX conv weights [Cout, Cin, KH, KW] → tfjs HWIO [KH, KW, Cin, Cout]. */
function hwio(data: Float32Array, [co, ci, kh, kw]: number[]): Float32Array {
  const y = new Float32Array(data.length);
  for (let o = 0; o < co!; o++)
    for (let i = 0; i < ci!; i++)
      for (let a = 0; a < kh!; a++)
        for (let b = 0; b < kw!; b++) y[((a * kw! + b) * ci! + i) * co! + o] = data[((o * ci! + i) * kh! + a) * kw! + b]!;
  return y;
}

export interface TfNet {
  /** The graph's `output` for `batch` images given as N×H×W×C (see toNhwc): upload, all layers, readback. */
  run(nhwc: Float32Array, batch: number): Promise<Float32Array>;
  /** GPU milliseconds of the layers alone (tfjs's timestamp queries), or undefined where it has none. */
  kernelMs(nhwc: Float32Array, batch: number): Promise<number | undefined>;
  dispose(): void;
}

/**
 * `g` as tfjs ops up to `output`. Covers the CNN ops of SqueezeNet, AlexNet and VGG (conv with any
 * group, ReLU, max and average pooling, global pooling, concat, flatten, fc, softmax); any other op
 * is an ArgumentError naming the node.
 */
export function translate(tf: TF, g: Graph, output: string): TfNet {
  const shapes = inferShapes(g, 1);
  const readers = new Map<string, Node[]>();
  for (const n of g.nodes) for (const i of n.inputs) readers.set(i, [...(readers.get(i) ?? []), n]);
  const weights: T[] = [];
  const keep = <X extends T>(t: X) => (weights.push(t), t);
  const param = (name: string) => g.params.get(name)!;
  type Step = (v: Map<string, T>) => void;
  const steps: Step[] = [];
  const fused = new Set<string>(); // ReLU nodes folded into the conv before them
  // Only the nodes `output` depends on, as Loupe's planner runs only those.
  const wanted = new Set([output]);
  const needed = new Set<Node>();
  for (const n of [...g.nodes].reverse())
    if (n.outputs.some((o) => wanted.has(o))) {
      needed.add(n);
      for (const i of n.inputs) wanted.add(i);
    }
  // A conv or fc whose only reader is a ReLU (and whose value is not asked for) becomes one fused op.
  const reluAfter = (out: string) => {
    const next = readers.get(out);
    return next?.length === 1 && next[0]!.op === 'relu' && needed.has(next[0]!) && out !== output && !g.outputs.includes(out) ? next[0]! : undefined;
  };
  for (const node of g.nodes) {
    if (fused.has(node.name) || !needed.has(node)) continue;
    const [src] = node.inputs;
    const xs = shapes.get(src!)!;
    const out = node.outputs[0]!;
    const put = (f: (x: T, v: Map<string, T>) => T) => steps.push((v) => v.set(out, f(v.get(src!)!, v)));
    switch (node.op) {
      case 'conv': {
        const a = node.attrs;
        const wd = param(a.weight).dims;
        const relu = reluAfter(out);
        if (relu) fused.add(relu.name);
        const group = a.group;
        const cout = wd[0]!, cinG = wd[1]!;
        const coutG = cout / group;
        const per = cinG * wd[2]! * wd[3]!;
        const w = param(a.weight).data;
        const b = a.bias ? param(a.bias).data : undefined;
        const filters = Array.from({ length: group }, (_, k) =>
          keep(tf.tensor4d(hwio(w.subarray(k * coutG * per, (k + 1) * coutG * per), [coutG, cinG, wd[2]!, wd[3]!]), [wd[2]!, wd[3]!, cinG, coutG])));
        const biases = Array.from({ length: group }, (_, k) => (b ? keep(tf.tensor1d(b.subarray(k * coutG, (k + 1) * coutG))) : undefined));
        const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [a.pads[0], a.pads[2]], [a.pads[1], a.pads[3]], [0, 0]];
        const conv = (x: T, k: number) =>
          tf.fused.conv2d({ x: x as TFCore.Tensor4D, filter: filters[k]!, strides: a.stride, pad, dilations: a.dilation, bias: biases[k], activation: relu ? 'relu' : 'linear' });
        const to = relu ? relu.outputs[0]! : out;
        steps.push((v) => {
          const x = v.get(src!)!;
          v.set(to, group === 1 ? conv(x, 0) : tf.concat(tf.split(x, group, 3).map((xk, k) => conv(xk, k)), 3));
        });
        break;
      }
      case 'relu':
        put((x) => tf.relu(x));
        break;
      case 'maxpool':
      case 'avgpool': {
        const a = node.attrs;
        const ys = shapes.get(out)!;
        // Caffe's ceil mode and explicit pads: pad so that a valid pool makes exactly the output size.
        const extra = [0, 1].map((d) => Math.max(0, (ys[2 + d]! - 1) * a.stride[d]! + a.kernel[d]! - a.pads[d]! - xs[2 + d]!));
        const padded = a.pads[0] + a.pads[1] + extra[0]! + extra[1]! > 0;
        if (node.op === 'avgpool' && padded) throw new ArgumentError(`TensorFlow.js peer: layer "${node.name}": average pooling over padding has no translation`);
        put((x) => {
          const p = padded ? tf.pad(x, [[0, 0], [a.pads[0], extra[0]!], [a.pads[1], extra[1]!], [0, 0]], -3.4e38) : x;
          return node.op === 'maxpool'
            ? tf.maxPool(p as TFCore.Tensor4D, a.kernel, a.stride, 'valid')
            : tf.avgPool(p as TFCore.Tensor4D, a.kernel, a.stride, 'valid');
        });
        break;
      }
      case 'globalavgpool':
        put((x) => tf.mean(x, [1, 2], true));
        break;
      case 'globalmaxpool':
        put((x) => tf.max(x, [1, 2], true));
        break;
      case 'concat':
        if (node.attrs.axis !== 1) throw new ArgumentError(`TensorFlow.js peer: layer "${node.name}": concat along axis ${node.attrs.axis} has no translation`);
        steps.push((v) => v.set(out, tf.concat(node.inputs.map((i) => v.get(i)!), xs.length === 4 ? 3 : 1)));
        break;
      case 'flatten':
        if (node.attrs.axis !== 1) throw new ArgumentError(`TensorFlow.js peer: layer "${node.name}": flatten from axis ${node.attrs.axis} has no translation`);
        // NCHW order, as the fc weights after it expect; no transpose needed for 1×1 maps.
        put((x) => tf.reshape(xs.length === 4 && xs[2]! * xs[3]! > 1 ? tf.transpose(x, [0, 3, 1, 2]) : x, [-1, xs.slice(1).reduce((p, q) => p * q, 1)]));
        break;
      case 'fc': {
        const a = node.attrs;
        if (xs.length !== 2) throw new ArgumentError(`TensorFlow.js peer: layer "${node.name}": fc on a ${xs.length}-d input has no translation (flatten first)`);
        const wd = param(a.weight).dims;
        const w = keep(tf.tensor2d(param(a.weight).data, [wd[0]!, wd[1]!]));
        const b = a.bias ? keep(tf.tensor1d(param(a.bias).data)) : undefined;
        const relu = reluAfter(out);
        if (relu) fused.add(relu.name);
        const to = relu ? relu.outputs[0]! : out;
        steps.push((v) => v.set(to, tf.fused.matMul({ a: v.get(src!)! as TFCore.Tensor2D, b: w, transposeB: true, bias: b, activation: relu ? 'relu' : 'linear' })));
        break;
      }
      case 'softmax':
        if (xs.length !== 2) throw new ArgumentError(`TensorFlow.js peer: layer "${node.name}": softmax of a ${xs.length}-d value has no translation`);
        put((x) => tf.softmax(x));
        break;
      default:
        throw new ArgumentError(`TensorFlow.js peer: layer "${node.name}" (${node.op}) has no translation`);
    }
  }
  const [, c, h, w] = g.input.shape;
  const forward = (nhwc: Float32Array, batch: number): T =>
    tf.tidy(() => {
      const v = new Map<string, T>([[g.input.name, tf.tensor4d(nhwc, [batch, h!, w!, c!])]]);
      for (const s of steps) s(v);
      const y = v.get(output);
      if (!y) throw new ArgumentError(`TensorFlow.js peer: ${output} is not computed by the graph`);
      return y;
    });
  return {
    async run(nhwc, batch) {
      const y = forward(nhwc, batch);
      try {
        return (await y.data()) as Float32Array;
      } finally {
        y.dispose();
      }
    },
    async kernelMs(nhwc, batch) {
      const info = await tf.time(() => forward(nhwc, batch).dispose());
      return typeof info.kernelMs === 'number' ? info.kernelMs : undefined;
    },
    dispose() {
      for (const t of weights) t.dispose();
    },
  };
}
