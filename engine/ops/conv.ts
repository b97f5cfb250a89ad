// Convolution and transposed convolution.
import type { ConvAttrs } from '../ir.ts';

declare module '../ir.ts' {
  interface OpAttrs {
    conv: ConvAttrs; // weight [Cout, Cin/group, KH, KW]
    convtranspose: ConvAttrs & { outputPadding: [number, number] }; // weight [Cin, Cout/group, KH, KW]
  }
}
import type { OpDef, NodeOf } from './types.ts';
import { convOut, numel } from '../geometry.ts';
import { ShapeError } from '../errors.ts';
import { GEMM, conv2dGemm, conv2dDirect, conv2dWinograd, lowerConv, convInputGrad, convWeightGrad } from '../conv.ts';
import { useWinograd, winogradScratch, winogradTarget } from '../winograd.ts';
import { tunedChoice } from '../tune.ts';
import { biasGrad } from '../reverse-kernels.ts';
import * as K from '../../kernels/index.ts';
import { need4 } from './util.ts';

export const conv: OpDef<NodeOf<'conv'>> = {
  shape(node, [x], param) {
    const [n, c, h, w] = need4(node, x!);
    const a = node.attrs;
    const wd = param(a.weight).dims;
    if (wd.length !== 4 || wd[1]! * a.group !== c)
      throw new ShapeError(`layer "${node.name}": weights [${wd.join(', ')}] with group ${a.group} do not fit an input of ${c} channels`);
    const oh = convOut(h, a.kernel[0], a.stride[0], a.pads[0], a.pads[2], a.dilation[0]);
    const ow = convOut(w, a.kernel[1], a.stride[1], a.pads[1], a.pads[3], a.dilation[1]);
    if (oh < 1 || ow < 1) throw new ShapeError(`layer "${node.name}": input ${h}×${w} is smaller than the ${a.kernel[0]}×${a.kernel[1]} kernel`);
    return [n, wd[0]!, oh, ow];
  },
  flops(node, _ins, out, param) {
    const wd = param(node.attrs.weight).dims;
    return 2 * numel(out) * wd[1]! * wd[2]! * wd[3]!;
  },
  fusesRelu: true,
  forward(ctx, io) {
    const a: ConvAttrs = io.noBias ? { ...io.node.attrs, bias: undefined } : io.node.attrs;
    return lowerConv(ctx, a, io.inShapes[0]!, io.outShape, io.ins[0]!, io.out, !!io.fuseRelu, io.label, io.flops, io.scratch);
  },
  scratchBytes(engine, node, [x], y, pass) {
    // Winograd's V and M (engine/winograd.ts); the input gradient of a stride-1 conv is a conv of
    // dy (Cout channels) to dx (Cin channels), with pads 2 − p (the columns route takes no Winograd)
    const a = node.attrs;
    const [i, o] = pass === 'forward' ? [x!, y] : [y, x!];
    const t = pass === 'forward' ? a : { ...a, pads: a.pads.map((p) => 2 - p) as typeof a.pads };
    if (t.pads.some((p) => p < 0) || !useWinograd(engine, t, i, o)) return [];
    const s = winogradScratch(i, o);
    return [s.v, s.m];
  },
  lrp: { kind: 'linear', weight: 'weight', bias: 'bias' },
  frozen: { linearity: 'linear' },
  region: {
    kind: 'window',
    geometry: (n) => n.attrs,
    // Winograd's REGION transforms where the setting forces Winograd, or a tuning of the shape class
    // of a map of the rectangle's size chose it (engine/tune.ts) and scratch is offered; else the
    // REGION variant of the GEMM kernel conv2dGemm picks (conv2d_rows, or conv2d_gemm for pointwise
    // convs and rows too wide), and the direct kernel's for narrow groups (depthwise), as lowerConv
    // picks them. Untuned, 'auto' keeps rectangles on the GEMM: measured on lavapipe (wall
    // time of a region batch, same machine, alternating), Winograd on rectangles made SqueezeNet's
    // PDA batch of 250 0.93× as fast (its 16·Cin·P and 16·Cout·P scratch for small tiles cost more
    // than the multiplies saved) and ResNet-50's light graph at batch 50 no faster.
    intoConcat: true,
    lower: (ctx, io, r) => {
      const a = io.node.attrs, x = io.inShapes[0]!, y = io.outShape;
      const t = winogradTarget(y, r);
      const tuned = tunedChoice(ctx.engine, a, x, t);
      if (io.scratch && useWinograd(ctx.engine, a, x, t) && (ctx.engine.convAlgorithm === 'winograd' || tuned !== undefined))
        return conv2dWinograd(ctx, a, x, y, io.ins[0]!, io.out, !!io.fuseRelu, io.label, io.scratch, tuned?.subgroups, r);
      return [(y[1]! / a.group >= GEMM.minCoutPerGroup ? conv2dGemm : conv2dDirect)(ctx, a, x, y, io.ins[0]!, io.out, !!io.fuseRelu, io.label, undefined, r)];
    },
  },
  reverse: {
    // the transposed conv of the signal, on the forward GEMM kernels (engine/conv.ts)
    rules: (rc) => rc.grad(0, (dx) => convInputGrad(rc.ctx, rc.node.attrs, rc.xs[0]!, rc.ys, rc.dy, dx, rc.label, rc.scratch)),
  },
  paramGrads: (rc, grad) => {
    const a = rc.node.attrs;
    return [
      ...convWeightGrad(rc.engine, a, rc.xs[0]!, rc.ys, rc.x(0), rc.dy, grad(a.weight), `${rc.label}:dW`, rc.scratch),
      ...(a.bias ? [biasGrad(rc.engine, rc.ys, rc.dy, grad(a.bias), `${rc.label}:db`)] : []),
    ];
  },
};

export const convtranspose: OpDef<NodeOf<'convtranspose'>> = {
  shape(node, [x], param) {
    const [n, c, h, w] = need4(node, x!);
    const a = node.attrs;
    const wd = param(a.weight).dims; // [Cin, Cout/group, KH, KW]
    if (wd.length !== 4 || wd[0] !== c) throw new ShapeError(`layer "${node.name}": weights [${wd.join(', ')}] do not fit an input of ${c} channels`);
    return [
      n,
      wd[1]! * a.group,
      (h - 1) * a.stride[0] - a.pads[0] - a.pads[2] + a.dilation[0] * (a.kernel[0] - 1) + a.outputPadding[0] + 1,
      (w - 1) * a.stride[1] - a.pads[1] - a.pads[3] + a.dilation[1] * (a.kernel[1] - 1) + a.outputPadding[1] + 1,
    ];
  },
  forward(ctx, io) {
    const a = io.node.attrs;
    const x = io.inShapes[0]!, y = io.outShape;
    const cin = x[1]!, cout = y[1]!;
    const bias = a.bias && !io.noBias ? a.bias : undefined;
    if (io.scratch && a.outputPadding[0] === 0 && a.outputPadding[1] === 0) {
      // On the conv GEMM kernels: a transposed conv is the input gradient of the conv it is the
      // adjoint of (engine/conv.ts convInputGrad: flipped filters, or columns + col2im), then the
      // bias per channel. Far faster than the one-output-per-invocation gather below, which stays
      // for modes without scratch space.
      const pre = bias ? io.scratch(numel(y) * 4, `${io.label}:pre-bias`) : io.out;
      const ds = convInputGrad(ctx, asConv(a), y, x, io.ins[0]!, pre, io.label, io.scratch, true);
      if (bias)
        ds.push(ctx.engine.makeDispatch(K.channelAffine, {
          uniforms: { total: numel(y), hw: y[2]! * y[3]!, c: cout, scaleMod: 1, shiftMod: cout, hasScale: 0, hasShift: 1 },
          bindings: { x: pre, scale: ctx.dummy(), shift: ctx.param(bias), y: io.out }, threads: numel(y), label: `${io.label}:bias`,
        }));
      return ds;
    }
    return [ctx.engine.makeDispatch(K.convTranspose2d, {
      defines: bias ? ['HAS_BIAS'] : [],
      uniforms: {
        total: numel(y), cin, h: x[2]!, w: x[3]!, cout, oh: y[2]!, ow: y[3]!, kh: a.kernel[0], kw: a.kernel[1], sh: a.stride[0], sw: a.stride[1],
        pt: a.pads[0], pl: a.pads[1], dh: a.dilation[0], dw: a.dilation[1], cinPerGroup: cin / a.group, coutPerGroup: cout / a.group,
      },
      bindings: { x: io.ins[0]!, wt: ctx.param(a.weight), bias: bias ? ctx.param(bias) : undefined, y: io.out }, threads: numel(y), label: io.label, flops: io.flops,
    })];
  },
  scratchBytes(engine, node, [x], y, pass) {
    // forward (GEMM route above): the pre-bias output, then the columns W^T·x [N, Cout·k², H, W];
    // reverse: the conv's own (a conv from y back to x)
    const a = node.attrs;
    if (pass === 'reverse') return conv.scratchBytes!(engine, asConvNode(node), [y], x!, 'forward');
    if (a.outputPadding[0] || a.outputPadding[1]) return [];
    return [...(a.bias ? [numel(y) * 4] : []), x![0]! * y[1]! * a.kernel[0] * a.kernel[1] * x![2]! * x![3]! * 4];
  },
  lrp: { none: 'a transposed convolution has no LRP rule yet' },
  frozen: { linearity: 'linear' },
  region: { kind: 'whole' },
  reverse: {
    // The adjoint of a transposed conv is the conv with the same geometry and the same weights:
    // [Cin, Cout/group, KH, KW] read as a conv's [Cout', Cin'/group, KH, KW] from the transposed
    // conv's output (Cout channels) back to its input (Cin channels), on the forward conv kernels.
    rules: (rc) => rc.grad(0, (dx) => lowerConv(rc.ctx, asConv(rc.node.attrs), rc.ys, rc.xs[0]!, rc.dy, dx, false, rc.label, undefined, rc.scratch)),
  },
  paramGrads: (rc, grad) => {
    // dW[ci, co, ky, kx] = Σ x[n, ci, iy, ix] · dy[n, co, iy·s − p + ky·d, …]: the weight gradient
    // of that same conv with the roles swapped (its input is our dy, its output signal our x).
    const a = rc.node.attrs;
    return [
      ...convWeightGrad(rc.engine, asConv(a), rc.ys, rc.xs[0]!, rc.dy, rc.x(0), grad(a.weight), `${rc.label}:dW`, rc.scratch),
      ...(a.bias ? [biasGrad(rc.engine, rc.ys, rc.dy, grad(a.bias), `${rc.label}:db`)] : []),
    ];
  },
};

/** That conv as a node (for its scratch sizes). */
function asConvNode(n: NodeOf<'convtranspose'>): NodeOf<'conv'> {
  return { name: n.name, op: 'conv', inputs: n.inputs, outputs: n.outputs, attrs: asConv(n.attrs) };
}

/** The conv whose adjoint a transposed conv is (same weights, stride, pads, dilation, group; no bias). */
function asConv(a: NodeOf<'convtranspose'>['attrs']): ConvAttrs {
  return { kernel: a.kernel, stride: a.stride, pads: a.pads, dilation: a.dilation, group: a.group, weight: a.weight };
}

/** This family's entries of the op table (engine/ops/index.ts). */
export const convOps = { conv, convtranspose };
