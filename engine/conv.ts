// Convolution lowering: picks the kernel for a conv node. The direct kernel handles every case
// (groups, dilation, depthwise); faster paths are chosen where their preconditions hold.

import type { Dispatch } from './gpu.ts';
import type { ConvAttrs } from './ir.ts';
import type { LowerContext } from './ops.ts';
import * as K from '../kernels/index.ts';
import { numel } from './shapes.ts';

export function lowerConv(ctx: LowerContext, a: ConvAttrs, x: number[], y: number[], xb: GPUBuffer, yb: GPUBuffer, relu: boolean, label: string, flops?: number): Dispatch[] {
  return [conv2dDirect(ctx, a, x, y, xb, yb, relu, label, flops)];
}

export function conv2dDirect(ctx: LowerContext, a: ConvAttrs, x: number[], y: number[], xb: GPUBuffer, yb: GPUBuffer, relu: boolean, label: string, flops?: number): Dispatch {
  const cin = x[1]!, cout = y[1]!;
  const defines = [...(a.bias ? ['HAS_BIAS'] : []), ...(relu ? ['RELU'] : [])];
  const buffers = [xb, ctx.param(a.weight), ...(a.bias ? [ctx.param(a.bias)] : []), yb];
  const total = numel(y);
  return ctx.engine.makeDispatch(K.conv2dDirect, {
    defines,
    uniforms: {
      total, cin, h: x[2]!, w: x[3]!, cout, oh: y[2]!, ow: y[3]!, kh: a.kernel[0], kw: a.kernel[1], sh: a.stride[0], sw: a.stride[1],
      pt: a.pads[0], pl: a.pads[1], dh: a.dilation[0], dw: a.dilation[1], cinPerGroup: cin / a.group, coutPerGroup: cout / a.group,
    },
    buffers, threads: total, label, flops,
  });
}
