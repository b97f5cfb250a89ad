// Shape inference over the IR for a concrete batch size, and the FLOP count of each node.

import type { Graph, Node, PoolAttrs } from './ir.ts';
import { ShapeError } from './errors.ts';

export const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Output size of a conv along one axis. */
export function convOut(size: number, k: number, s: number, p0: number, p1: number, d: number): number {
  return Math.floor((size + p0 + p1 - d * (k - 1) - 1) / s) + 1;
}

/**
 * Output size of a pool along one axis. Floor mode is ONNX's default. Ceil mode (Caffe, ONNX
 * ceil_mode=1) rounds up but drops a last window that would start in the padding past the input
 * (Caffe's `if ((out-1)*stride >= size + pad) --out`; PyTorch does the same).
 */
export function poolOut(size: number, k: number, s: number, p0: number, p1: number, ceil: boolean): number {
  if (!ceil) return Math.floor((size + p0 + p1 - k) / s) + 1;
  let out = Math.ceil((size + p0 + p1 - k) / s) + 1;
  if ((out - 1) * s >= size + p0) out--;
  return out;
}

export function poolShape(a: PoolAttrs, x: number[]): number[] {
  const [n, c, h, w] = x as [number, number, number, number];
  return [n, c, poolOut(h, a.kernel[0], a.stride[0], a.pads[0], a.pads[2], a.ceil), poolOut(w, a.kernel[1], a.stride[1], a.pads[1], a.pads[3], a.ceil)];
}

function need4(node: Node, s: number[]): [number, number, number, number] {
  if (s.length !== 4) throw new ShapeError(`layer "${node.name}" (${node.op}) needs a 4-D NCHW input, got [${s.join(', ')}]`);
  return s as [number, number, number, number];
}

/** Shapes of every value for a batch of `batch`, in node order. Throws ShapeError naming the layer. */
export function inferShapes(g: Graph, batch: number): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  shapes.set(g.input.name, [batch, ...g.input.shape.slice(1)]);
  const param = (name: string) => {
    const p = g.params.get(name);
    if (!p) throw new ShapeError(`parameter ${name} is missing`);
    return p;
  };
  for (const node of g.nodes) {
    const ins = node.inputs.map((v) => {
      const s = shapes.get(v);
      if (!s) throw new ShapeError(`layer "${node.name}" reads "${v}", which no earlier layer produces`);
      return s;
    });
    const x = ins[0]!;
    let out: number[];
    switch (node.op) {
      case 'conv': {
        const [n, c, h, w] = need4(node, x);
        const a = node.attrs;
        const wd = param(a.weight).dims;
        if (wd.length !== 4 || wd[1]! * a.group !== c)
          throw new ShapeError(`layer "${node.name}": weights [${wd.join(', ')}] with group ${a.group} do not fit an input of ${c} channels`);
        const oh = convOut(h, a.kernel[0], a.stride[0], a.pads[0], a.pads[2], a.dilation[0]);
        const ow = convOut(w, a.kernel[1], a.stride[1], a.pads[1], a.pads[3], a.dilation[1]);
        if (oh < 1 || ow < 1) throw new ShapeError(`layer "${node.name}": input ${h}×${w} is smaller than the ${a.kernel[0]}×${a.kernel[1]} kernel`);
        out = [n, wd[0]!, oh, ow];
        break;
      }
      case 'convtranspose': {
        const [n, , h, w] = need4(node, x);
        const a = node.attrs;
        const wd = param(a.weight).dims;
        const oh = (h - 1) * a.stride[0] - a.pads[0] - a.pads[2] + a.dilation[0] * (a.kernel[0] - 1) + a.outputPadding[0] + 1;
        const ow = (w - 1) * a.stride[1] - a.pads[1] - a.pads[3] + a.dilation[1] * (a.kernel[1] - 1) + a.outputPadding[1] + 1;
        out = [n, wd[1]! * a.group, oh, ow];
        break;
      }
      case 'maxpool':
      case 'avgpool': {
        need4(node, x);
        out = poolShape(node.attrs, x);
        if (out[2]! < 1 || out[3]! < 1) throw new ShapeError(`layer "${node.name}": input ${x[2]}×${x[3]} is smaller than the pooling window`);
        break;
      }
      case 'globalavgpool':
      case 'globalmaxpool':
        out = [x[0]!, x[1]!, 1, 1];
        break;
      case 'concat': {
        const axis = node.attrs.axis < 0 ? node.attrs.axis + x.length : node.attrs.axis;
        if (axis !== 1) throw new ShapeError(`layer "${node.name}": concat along axis ${axis} is not supported (only channels)`);
        for (const s of ins)
          if (s.length !== x.length || s.some((d, i) => i !== 1 && d !== x[i]))
            throw new ShapeError(`layer "${node.name}": cannot concatenate [${ins.map((s) => s.join('×')).join('], [')}]`);
        out = [...x];
        out[1] = ins.reduce((s, t) => s + t[1]!, 0);
        break;
      }
      case 'fc': {
        const inF = numel(x.slice(1));
        const wd = param(node.attrs.weight).dims;
        if (wd[1] !== inF) throw new ShapeError(`layer "${node.name}": weights [${wd.join(', ')}] do not fit an input of ${inF} features ([${x.join(', ')}])`);
        out = [x[0]!, node.attrs.outFeatures];
        break;
      }
      case 'flatten': {
        const axis = node.attrs.axis < 0 ? node.attrs.axis + x.length : node.attrs.axis;
        out = axis === 0 ? [1, numel(x)] : [numel(x.slice(0, axis)), numel(x.slice(axis))];
        break;
      }
      case 'reshape': {
        const spec = node.attrs.shape;
        const dims = spec.map((d, i) => (i === 0 ? x[0]! : d === 0 ? x[i]! : d));
        const known = numel(dims.filter((d) => d !== -1));
        const inferred = dims.map((d) => (d === -1 ? numel(x) / known : d));
        if (numel(inferred) !== numel(x) || inferred.some((d) => !Number.isInteger(d)))
          throw new ShapeError(`layer "${node.name}": cannot reshape [${x.join(', ')}] to [${spec.join(', ')}]`);
        out = inferred;
        break;
      }
      case 'pad': {
        const [n, c, h, w] = need4(node, x);
        const p = node.attrs.pads;
        out = [n, c, h + p[0] + p[2], w + p[1] + p[3]];
        break;
      }
      case 'resize': {
        const [n, c, h, w] = need4(node, x);
        const a = node.attrs;
        out = a.outSize ? [n, c, a.outSize[0], a.outSize[1]] : [n, c, Math.floor(h * a.scale![0]), Math.floor(w * a.scale![1])];
        break;
      }
      case 'add':
      case 'mul':
        for (const s of ins)
          if (s.length !== x.length || s.some((d, i) => d !== x[i]))
            throw new ShapeError(`layer "${node.name}": ${node.op} of different shapes [${ins.map((s) => s.join('×')).join('], [')}]`);
        out = [...x];
        break;
      default:
        out = [...x];
    }
    for (const o of node.outputs) shapes.set(o, out);
  }
  return shapes;
}

/** Multiply-adds ×2 of conv and fc nodes (other ops counted as one FLOP per output element). */
export function nodeFlops(node: Node, inShape: number[], outShape: number[], g: Graph): number {
  if (node.op === 'conv') {
    const wd = g.params.get(node.attrs.weight)!.dims;
    return 2 * numel(outShape) * wd[1]! * wd[2]! * wd[3]!;
  }
  if (node.op === 'fc') return 2 * numel(outShape) * numel(inShape.slice(1));
  if (node.op === 'lrn') return numel(outShape) * (2 * node.attrs.size + 3);
  if (node.op === 'maxpool' || node.op === 'avgpool') return numel(outShape) * node.attrs.kernel[0] * node.attrs.kernel[1];
  return numel(outShape);
}
