// Lowering of IR nodes to kernel dispatches. Each function receives the shapes and the GPU
// buffers already allocated by the planner and returns the dispatches that compute the node.

import type { Engine, Dispatch } from './gpu.ts';
import type { Node, ConvAttrs, PoolAttrs } from './ir.ts';
import * as K from '../kernels/index.ts';
import { numel } from './shapes.ts';
import { UnsupportedOpError } from './errors.ts';
import { lowerConv } from './conv.ts';

export interface LowerContext {
  engine: Engine;
  /** GPU buffer of a graph parameter (uploaded once per model). */
  param(name: string): GPUBuffer;
  /** A buffer derived once per model from parameters (e.g. re-laid-out weights), cached under `key`. */
  derived(key: string, make: () => Float32Array): GPUBuffer;
  /** Element count of a graph parameter. */
  paramSize(name: string): number;
  /** The CPU copy of a graph parameter. */
  paramData(name: string): Float32Array;
  /** A small placeholder buffer for unused optional bindings. */
  dummy(): GPUBuffer;
}

export interface NodeIO {
  node: Node;
  inShapes: number[][];
  outShape: number[];
  ins: GPUBuffer[];
  out: GPUBuffer;
  /** Fuse a following ReLU into this node's output (conv, fc). */
  fuseRelu?: boolean;
  /** Record: also write auxiliary outputs (relu mask, max-pool switches). */
  aux?: GPUBuffer;
  /** Frozen forward: apply one recorded image's ReLU mask / pool switches to every image of the batch. */
  frozen?: { mask?: GPUBuffer; switches?: GPUBuffer };
  /** Frozen forward with biases switched off (conv, fc and affine shifts). */
  noBias?: boolean;
  flops?: number;
}

export function lowerNode(ctx: LowerContext, io: NodeIO): Dispatch[] {
  const { node, inShapes, outShape, ins, out } = io;
  const e = ctx.engine;
  const x = inShapes[0]!;
  const label = `${node.op}:${node.name}`;
  const total = numel(outShape);
  if (io.frozen) {
    if (node.op === 'relu')
      return [e.makeDispatch(K.frozen, { defines: ['MASKED_RELU'], uniforms: { total, per: numel(outShape.slice(1)), outPlane: 1, hw: 1 }, bindings: { x: ins[0]!, mask: io.frozen.mask!, y: out }, threads: total, label: `frozen:${label}` })];
    if (node.op === 'maxpool')
      return [e.makeDispatch(K.frozen, {
        defines: ['SWITCH_POOL'], uniforms: { total, per: numel(outShape.slice(1)), outPlane: outShape[2]! * outShape[3]!, hw: x[2]! * x[3]! },
        bindings: { x: ins[0]!, switches: io.frozen.switches!, y: out }, threads: total, label: `frozen:${label}`,
      })];
  }
  if (io.noBias) {
    if (node.op === 'conv' || node.op === 'fc' || node.op === 'convtranspose') return lowerNode(ctx, { ...io, noBias: false, node: { ...node, attrs: { ...node.attrs, bias: undefined } } as Node });
    if (node.op === 'channelaffine') return lowerNode(ctx, { ...io, noBias: false, node: { ...node, attrs: { ...node.attrs, shift: undefined } } as Node });
  }
  switch (node.op) {
    case 'conv':
      return lowerConv(ctx, node.attrs, x, outShape, ins[0]!, out, !!io.fuseRelu, label, io.flops);
    case 'convtranspose': {
      const a = node.attrs;
      const cin = x[1]!, cout = outShape[1]!;
      return [e.makeDispatch(K.convTranspose2d, {
        defines: a.bias ? ['HAS_BIAS'] : [],
        uniforms: {
          total, cin, h: x[2]!, w: x[3]!, cout, oh: outShape[2]!, ow: outShape[3]!, kh: a.kernel[0], kw: a.kernel[1], sh: a.stride[0], sw: a.stride[1],
          pt: a.pads[0], pl: a.pads[1], dh: a.dilation[0], dw: a.dilation[1], cinPerGroup: cin / a.group, coutPerGroup: cout / a.group,
        },
        bindings: { x: ins[0]!, wt: ctx.param(a.weight), bias: a.bias ? ctx.param(a.bias) : undefined, y: out }, threads: total, label, flops: io.flops,
      })];
    }
    case 'maxpool':
    case 'avgpool':
      return [poolDispatch(e, node.attrs, node.op === 'maxpool', x, outShape, ins[0]!, out, io.aux, label)];
    case 'globalavgpool':
    case 'globalmaxpool':
      return [e.makeDispatch(K.globalPool, { defines: node.op === 'globalmaxpool' ? ['MAX'] : [], uniforms: { planes: x[0]! * x[1]!, hw: numel(x.slice(2)) }, bindings: { x: ins[0]!, y: out }, threads: x[0]! * x[1]!, label })];
    case 'relu':
      return [e.makeDispatch(K.relu, { defines: io.aux ? ['MASK'] : [], uniforms: { total }, bindings: { x: ins[0]!, y: out, mask: io.aux }, threads: total, label })];
    case 'leakyrelu':
    case 'elu':
    case 'sigmoid':
    case 'tanh': {
      const alpha = 'alpha' in node.attrs ? (node.attrs as { alpha: number }).alpha : 0;
      return [e.makeDispatch(K.unary, { uniforms: { total, op: K.UNARY_OP[node.op], alpha }, bindings: { x: ins[0]!, y: out }, threads: total, label })];
    }
    case 'prelu': {
      const c = x[1] ?? 1;
      return [e.makeDispatch(K.channelAffine, {
        defines: ['PRELU'],
        uniforms: { total, hw: numel(x.slice(2)), c, scaleMod: ctx.paramSize(node.attrs.slope) === 1 ? 1 : c, shiftMod: 1, hasScale: 1, hasShift: 0 },
        bindings: { x: ins[0]!, scale: ctx.param(node.attrs.slope), shift: ctx.dummy(), y: out }, threads: total, label,
      })];
    }
    case 'channelaffine': {
      const c = x[1]!;
      const sc = node.attrs.scale ? ctx.param(node.attrs.scale) : ctx.dummy();
      const sh = node.attrs.shift ? ctx.param(node.attrs.shift) : ctx.dummy();
      const mod = (p?: string) => (p && ctx.paramSize(p) === 1 ? 1 : c);
      return [e.makeDispatch(K.channelAffine, {
        uniforms: { total, hw: numel(x.slice(2)), c, scaleMod: mod(node.attrs.scale), shiftMod: mod(node.attrs.shift), hasScale: node.attrs.scale ? 1 : 0, hasShift: node.attrs.shift ? 1 : 0 },
        bindings: { x: ins[0]!, scale: sc, shift: sh, y: out }, threads: total, label,
      })];
    }
    case 'lrn': {
      const a = node.attrs;
      return [e.makeDispatch(K.lrn, { uniforms: { total, c: x[1]!, hw: numel(x.slice(2)), size: a.size, alphaOverSize: a.alpha / a.size, beta: a.beta, bias: a.bias }, bindings: { x: ins[0]!, y: out }, threads: total, label })];
    }
    case 'concat': {
      let c0 = 0;
      return inShapes.map((s, i) => {
        const t = numel(s);
        const d = e.makeDispatch(K.copyChannels, { uniforms: { total: t, cx: s[1]!, cy: outShape[1]!, hw: numel(s.slice(2)), c0 }, bindings: { x: ins[i]!, y: out }, threads: t, label: `${label}[${i}]` });
        c0 += s[1]!;
        return d;
      });
    }
    case 'fc': {
      const a = node.attrs;
      const n = x[0]!;
      const inF = numel(x.slice(1));
      const defines = [...(a.bias ? ['HAS_BIAS'] : []), ...(io.fuseRelu ? ['RELU'] : [])];
      // Rows per dispatch: all of them unless the weights exceed one storage binding.
      const rows = Math.min(a.outFeatures, Math.floor(e.maxBindingBytes / (inF * 4)));
      const ds: Dispatch[] = [];
      for (let o0 = 0; o0 < a.outFeatures; o0 += rows) {
        const cnt = Math.min(rows, a.outFeatures - o0);
        const whole = cnt === a.outFeatures;
        const slice = (p: string, width: number) =>
          whole ? ctx.param(p) : ctx.derived(`${p}[${o0}:${o0 + cnt}]`, () => ctx.paramData(p).subarray(o0 * width, (o0 + cnt) * width));
        const bufs = { x: ins[0]!, wt: slice(a.weight, inF), bias: a.bias ? slice(a.bias, 1) : undefined, y: out };
        const groups = n * cnt;
        const wx = Math.min(groups, 65535);
        ds.push(e.makeDispatch(K.fc, {
          defines, uniforms: { n, inF, outF: cnt, outTotal: a.outFeatures, oOffset: o0 }, bindings: bufs,
          workgroups: [wx, Math.ceil(groups / wx), 1], label, flops: ((io.flops ?? 0) * cnt) / a.outFeatures,
        }));
      }
      return ds;
    }
    case 'softmax': {
      const axis = node.attrs.axis < 0 ? node.attrs.axis + x.length : node.attrs.axis;
      const c = x[axis]!;
      const inner = numel(x.slice(axis + 1));
      const rows = numel(x) / c;
      return [e.makeDispatch(K.softmax, { defines: node.attrs.log ? ['LOG'] : [], uniforms: { rows, c, inner }, bindings: { x: ins[0]!, y: out }, threads: rows, label })];
    }
    case 'add':
    case 'mul': {
      // out = in0 (op) in1, then out += in_k for further inputs of a sum
      const ds = [e.makeDispatch(K.binary, { defines: node.op === 'mul' ? ['MUL'] : [], uniforms: { total }, bindings: { a: ins[0]!, b: ins[1] ?? ins[0]!, y: out }, threads: total, label })];
      for (let i = 2; i < ins.length; i++) {
        if (node.op === 'mul') throw new UnsupportedOpError(`layer "${node.name}": product of more than two inputs`);
        ds.push(e.makeDispatch(K.binary, { defines: ['ACC'], uniforms: { total }, bindings: { a: ins[i]!, y: out }, threads: total, label: `${label}[${i}]` }));
      }
      return ds;
    }
    case 'pad': {
      const p = node.attrs.pads;
      return [e.makeDispatch(K.pad2d, { uniforms: { total, h: x[2]!, w: x[3]!, oh: outShape[2]!, ow: outShape[3]!, pt: p[0], pl: p[1], value: node.attrs.value }, bindings: { x: ins[0]!, y: out }, threads: total, label })];
    }
    case 'resize':
      return [e.makeDispatch(K.resize2d, {
        defines: node.attrs.mode === 'nearest' ? ['NEAREST'] : [],
        uniforms: { total, h: x[2]!, w: x[3]!, oh: outShape[2]!, ow: outShape[3]!, alignCorners: node.attrs.alignCorners ? 1 : 0 },
        bindings: { x: ins[0]!, y: out }, threads: total, label,
      })];
    case 'flatten':
    case 'reshape':
    case 'identity':
      return []; // the planner aliases the output to the input buffer
    default:
      throw new UnsupportedOpError(`layer "${(node as Node).name}": the engine has no kernel for ${(node as Node).op}`);
  }
}

export function poolUniforms(a: PoolAttrs, x: number[], y: number[]) {
  const h = x[2]!, w = x[3]!;
  return {
    total: numel(y), h, w, oh: y[2]!, ow: y[3]!, kh: a.kernel[0], kw: a.kernel[1], sh: a.stride[0], sw: a.stride[1],
    pt: a.pads[0], pl: a.pads[1], hEnd: h + a.pads[2], wEnd: w + a.pads[3], countPad: a.countIncludePad ? 1 : 0,
  };
}

function poolDispatch(e: Engine, a: PoolAttrs, isMax: boolean, x: number[], y: number[], xb: GPUBuffer, yb: GPUBuffer, switches: GPUBuffer | undefined, label: string): Dispatch {
  const defines = isMax ? (switches ? ['MAX', 'SWITCHES'] : ['MAX']) : [];
  return e.makeDispatch(K.pool2d, { defines, uniforms: poolUniforms(a, x, y), bindings: { x: xb, y: yb, switches }, threads: numel(y), label });
}

export type { ConvAttrs };
