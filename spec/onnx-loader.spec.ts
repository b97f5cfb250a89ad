import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadOnnx, readTensorProto, onnxRoot } from '../loaders/onnx.ts';
import type { Graph, Node } from '../engine/ir.ts';
import { LoupeError, ModelFormatError, ShapeError, UnsupportedOpError } from '../engine/errors.ts';
import { runGraphReference } from './reference.ts';

const DATA = '/work/shared/data/onnx';
const haveData = fs.existsSync(DATA);
const read = (p: string) => new Uint8Array(fs.readFileSync(p));
const load = (p: string) => loadOnnx(read(p), path.basename(p));
const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const ops = (g: Graph) => g.nodes.map((n) => n.op);
const count = (g: Graph, op: string) => g.nodes.filter((n) => n.op === op).length;

// ---------------------------------------------------------------------------------------------
// A tiny CPU reference of the IR, to check that what the loader produced (folded BN, biases,
// transposed fc weights, explicit SAME pads) computes what the ONNX file computes.

type T = { dims: number[]; data: Float32Array };
function poolOut(size: number, k: number, s: number, p0: number, p1: number, ceil: boolean): number {
  if (!ceil) return Math.floor((size + p0 + p1 - k) / s) + 1;
  let out = Math.ceil((size + p0 + p1 - k) / s) + 1;
  if ((out - 1) * s >= size + p0) out--;
  return out;
}
function runRef(g: Graph, x: T): Map<string, T> {
  const v = new Map<string, T>([[g.input.name, x]]);
  const P = (n: string) => g.params.get(n)!.data;
  for (const node of g.nodes) {
    const a = v.get(node.inputs[0]!)!;
    const d = a.dims;
    let out: T;
    const map = (f: (x: number, i: number) => number): T => ({ dims: [...d], data: a.data.map(f) });
    const hw = numel(d.slice(2));
    const ch = (i: number) => Math.floor(i / hw) % d[1]!;
    switch (node.op) {
      case 'conv': {
        const at = node.attrs;
        const W = g.params.get(at.weight)!;
        const [N, C, H, Wd] = d as [number, number, number, number];
        const [CO, CIG, KH, KW] = W.dims as [number, number, number, number];
        const OH = Math.floor((H + at.pads[0] + at.pads[2] - at.dilation[0] * (KH - 1) - 1) / at.stride[0]) + 1;
        const OW = Math.floor((Wd + at.pads[1] + at.pads[3] - at.dilation[1] * (KW - 1) - 1) / at.stride[1]) + 1;
        const y = new Float32Array(N * CO * OH * OW);
        const b = at.bias ? P(at.bias) : undefined;
        const cog = CO / at.group;
        for (let n = 0; n < N; n++)
          for (let o = 0; o < CO; o++) {
            const gi = Math.floor(o / cog);
            for (let oy = 0; oy < OH; oy++)
              for (let ox = 0; ox < OW; ox++) {
                let s = b ? b[o]! : 0;
                for (let ci = 0; ci < CIG; ci++)
                  for (let ky = 0; ky < KH; ky++) {
                    const iy = oy * at.stride[0] - at.pads[0] + ky * at.dilation[0];
                    if (iy < 0 || iy >= H) continue;
                    for (let kx = 0; kx < KW; kx++) {
                      const ix = ox * at.stride[1] - at.pads[1] + kx * at.dilation[1];
                      if (ix < 0 || ix >= Wd) continue;
                      s += a.data[((n * C + gi * CIG + ci) * H + iy) * Wd + ix]! * W.data[((o * CIG + ci) * KH + ky) * KW + kx]!;
                    }
                  }
                y[((n * CO + o) * OH + oy) * OW + ox] = s;
              }
          }
        out = { dims: [N, CO, OH, OW], data: y };
        break;
      }
      case 'convtranspose': {
        const at = node.attrs;
        const W = g.params.get(at.weight)!;
        const [N, C, H, Wd] = d as [number, number, number, number];
        const [, COG, KH, KW] = W.dims as [number, number, number, number];
        const CO = COG * at.group, CIG = C / at.group;
        const OH = (H - 1) * at.stride[0] - at.pads[0] - at.pads[2] + at.dilation[0] * (KH - 1) + at.outputPadding[0] + 1;
        const OW = (Wd - 1) * at.stride[1] - at.pads[1] - at.pads[3] + at.dilation[1] * (KW - 1) + at.outputPadding[1] + 1;
        const y = new Float32Array(N * CO * OH * OW);
        const b = at.bias ? P(at.bias) : undefined;
        for (let n = 0; n < N; n++)
          for (let ci = 0; ci < C; ci++) {
            const gi = Math.floor(ci / CIG);
            for (let iy = 0; iy < H; iy++)
              for (let ix = 0; ix < Wd; ix++)
                for (let oc = 0; oc < COG; oc++)
                  for (let ky = 0; ky < KH; ky++)
                    for (let kx = 0; kx < KW; kx++) {
                      const oy = iy * at.stride[0] - at.pads[0] + ky * at.dilation[0];
                      const ox = ix * at.stride[1] - at.pads[1] + kx * at.dilation[1];
                      if (oy < 0 || oy >= OH || ox < 0 || ox >= OW) continue;
                      y[((n * CO + gi * COG + oc) * OH + oy) * OW + ox]! += a.data[((n * C + ci) * H + iy) * Wd + ix]! * W.data[((ci * COG + oc) * KH + ky) * KW + kx]!;
                    }
          }
        if (b) for (let i = 0; i < y.length; i++) y[i]! += b[Math.floor(i / (OH * OW)) % CO]!;
        out = { dims: [N, CO, OH, OW], data: y };
        break;
      }
      case 'maxpool':
      case 'avgpool': {
        const at = node.attrs;
        const [N, C, H, Wd] = d as [number, number, number, number];
        const OH = poolOut(H, at.kernel[0], at.stride[0], at.pads[0], at.pads[2], at.ceil);
        const OW = poolOut(Wd, at.kernel[1], at.stride[1], at.pads[1], at.pads[3], at.ceil);
        const y = new Float32Array(N * C * OH * OW);
        for (let nc = 0; nc < N * C; nc++)
          for (let oy = 0; oy < OH; oy++)
            for (let ox = 0; ox < OW; ox++) {
              let m = -Infinity, s = 0, cnt = 0, cntPad = 0;
              for (let ky = 0; ky < at.kernel[0]; ky++)
                for (let kx = 0; kx < at.kernel[1]; kx++) {
                  const iy = oy * at.stride[0] - at.pads[0] + ky, ix = ox * at.stride[1] - at.pads[1] + kx;
                  if (iy < H + at.pads[2] && ix < Wd + at.pads[3]) cntPad++;
                  if (iy < 0 || iy >= H || ix < 0 || ix >= Wd) continue;
                  const val = a.data[(nc * H + iy) * Wd + ix]!;
                  m = Math.max(m, val);
                  s += val;
                  cnt++;
                }
              y[(nc * OH + oy) * OW + ox] = node.op === 'maxpool' ? m : s / (at.countIncludePad ? cntPad : cnt);
            }
        out = { dims: [N, C, OH, OW], data: y };
        break;
      }
      case 'globalavgpool':
      case 'globalmaxpool': {
        const y = new Float32Array(d[0]! * d[1]!);
        for (let i = 0; i < y.length; i++) {
          const sl = a.data.subarray(i * hw, (i + 1) * hw);
          y[i] = node.op === 'globalmaxpool' ? Math.max(...sl) : sl.reduce((p, q) => p + q, 0) / hw;
        }
        out = { dims: [d[0]!, d[1]!, 1, 1], data: y };
        break;
      }
      case 'relu': out = map((x) => Math.max(x, 0)); break;
      case 'sigmoid': out = map((x) => 1 / (1 + Math.exp(-x))); break;
      case 'tanh': out = map(Math.tanh); break;
      case 'leakyrelu': { const al = node.attrs.alpha; out = map((x) => (x < 0 ? al * x : x)); break; }
      case 'elu': { const al = node.attrs.alpha; out = map((x) => (x < 0 ? al * (Math.exp(x) - 1) : x)); break; }
      case 'prelu': { const s = P(node.attrs.slope); out = map((x, i) => (x < 0 ? s[s.length === 1 ? 0 : ch(i)]! * x : x)); break; }
      case 'channelaffine': {
        const sc = node.attrs.scale ? P(node.attrs.scale) : undefined, sh = node.attrs.shift ? P(node.attrs.shift) : undefined;
        out = map((x, i) => x * (sc ? sc[ch(i)]! : 1) + (sh ? sh[ch(i)]! : 0));
        break;
      }
      case 'fc': {
        const W = g.params.get(node.attrs.weight)!;
        const b = node.attrs.bias ? P(node.attrs.bias) : undefined;
        const [O, I] = W.dims as [number, number];
        const N = d[0]!;
        const y = new Float32Array(N * O);
        for (let n = 0; n < N; n++)
          for (let o = 0; o < O; o++) {
            let s = b ? b[o]! : 0;
            for (let i = 0; i < I; i++) s += a.data[n * I + i]! * W.data[o * I + i]!;
            y[n * O + o] = s;
          }
        out = { dims: [N, O], data: y };
        break;
      }
      case 'flatten': out = { dims: [d[0]!, numel(d.slice(1))], data: a.data }; break;
      case 'reshape': {
        const spec = node.attrs.shape.map((s, i) => (i === 0 ? d[0]! : s === 0 ? d[i]! : s));
        const known = numel(spec.filter((s) => s !== -1));
        out = { dims: spec.map((s) => (s === -1 ? numel(d) / known : s)), data: a.data };
        break;
      }
      case 'softmax': {
        const ax = node.attrs.axis;
        const C = d[ax]!, inner = numel(d.slice(ax + 1)), outer = numel(d.slice(0, ax));
        const y = new Float32Array(a.data.length);
        for (let o = 0; o < outer; o++)
          for (let q = 0; q < inner; q++) {
            let m = -Infinity, s = 0;
            for (let c = 0; c < C; c++) m = Math.max(m, a.data[(o * C + c) * inner + q]!);
            for (let c = 0; c < C; c++) s += Math.exp(a.data[(o * C + c) * inner + q]! - m);
            for (let c = 0; c < C; c++) {
              const z = a.data[(o * C + c) * inner + q]! - m;
              y[(o * C + c) * inner + q] = node.attrs.log ? z - Math.log(s) : Math.exp(z) / s;
            }
          }
        out = { dims: [...d], data: y };
        break;
      }
      case 'pad': {
        const [t, l, bo, r] = node.attrs.pads;
        const [N, C, H, Wd] = d as [number, number, number, number];
        const OH = H + t + bo, OW = Wd + l + r;
        const y = new Float32Array(N * C * OH * OW).fill(node.attrs.value);
        for (let nc = 0; nc < N * C; nc++)
          for (let i = 0; i < H; i++) for (let j = 0; j < Wd; j++) y[(nc * OH + i + t) * OW + j + l] = a.data[(nc * H + i) * Wd + j]!;
        out = { dims: [N, C, OH, OW], data: y };
        break;
      }
      case 'resize': {
        const at = node.attrs;
        const [N, C, H, Wd] = d as [number, number, number, number];
        const [OH, OW] = at.outSize ?? [Math.floor(H * at.scale![0]), Math.floor(Wd * at.scale![1])];
        if (at.mode !== 'nearest') throw new Error('reference: only nearest resize');
        const y = new Float32Array(N * C * OH * OW);
        for (let nc = 0; nc < N * C; nc++)
          for (let i = 0; i < OH; i++)
            for (let j = 0; j < OW; j++) y[(nc * OH + i) * OW + j] = a.data[(nc * H + Math.min(H - 1, Math.floor((i * H) / OH))) * Wd + Math.min(Wd - 1, Math.floor((j * Wd) / OW))]!;
        out = { dims: [N, C, OH, OW], data: y };
        break;
      }
      case 'concat': {
        const xs = node.inputs.map((n) => v.get(n)!);
        const C = xs.reduce((s, t) => s + t.dims[1]!, 0);
        const y = new Float32Array(d[0]! * C * hw);
        let off = 0;
        for (let n = 0; n < d[0]!; n++) for (const t of xs) { const blk = t.dims[1]! * hw; y.set(t.data.subarray(n * blk, (n + 1) * blk), off); off += blk; }
        out = { dims: [d[0]!, C, ...d.slice(2)], data: y };
        break;
      }
      case 'add':
      case 'mul': {
        const xs = node.inputs.map((n) => v.get(n)!);
        out = map((x, i) => xs.slice(1).reduce((s, t) => (node.op === 'add' ? s + t.data[i]! : s * t.data[i]!), x));
        break;
      }
      case 'identity': out = a; break;
      default: throw new Error(`reference: no ${node.op}`);
    }
    v.set(node.outputs[0]!, out);
  }
  return v;
}
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>) {
  expect(a.length).to.equal(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
function rand(n: number, seed = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1);
}
async function ortRun(bytes: Uint8Array, x: T): Promise<Map<string, T>> {
  const s = await ort.InferenceSession.create(bytes);
  const r = await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', x.data, x.dims) });
  return new Map(s.outputNames.map((n) => [n, { dims: [...r[n]!.dims], data: r[n]!.data as Float32Array }]));
}
function expectLoupeError(fn: () => unknown, file: string, cls: typeof LoupeError = LoupeError, re?: RegExp) {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'should throw').to.be.instanceOf(cls);
  expect((err as Error).message).to.contain(file);
  if (re) expect((err as Error).message).to.match(re);
  return err as LoupeError;
}

// ---------------------------------------------------------------------------------------------
// Building small models with the embedded schema

const Model = () => onnxRoot().lookupType('onnx.ModelProto');
type AttrV = number | number[] | string | { t: Record<string, unknown> } | { f: number } | { floats: number[] };
function attr(name: string, v: AttrV) {
  if (typeof v === 'string') return { name, type: 3, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: 7, ints: v };
  if (typeof v === 'number') return { name, type: 2, i: v };
  if ('f' in v) return { name, type: 1, f: v.f };
  if ('floats' in v) return { name, type: 6, floats: v.floats };
  return { name, type: 4, t: v.t };
}
function node(op: string, inputs: string[], outputs: string[], attrs: Record<string, AttrV> = {}, name = '') {
  return { op_type: op, input: inputs, output: outputs, name, attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)) };
}
const ftensor = (name: string, dims: number[], data: Float32Array) => ({ name, dims, data_type: 1, raw_data: new Uint8Array(data.buffer.slice(0)) });
const itensor = (name: string, dims: number[], data: number[]) => ({ name, dims, data_type: 7, int64_data: data });
const vinfo = (name: string, dims: (number | string)[]) => ({
  name,
  type: { tensor_type: { elem_type: 1, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
});
function buildModel(o: { nodes: unknown[]; inits?: unknown[]; input: [string, (number | string)[]]; outputs: [string, (number | string)[]][]; opset?: number }): Uint8Array {
  const M = Model();
  const msg = M.fromObject({
    ir_version: 8,
    producer_name: 'loupe-test',
    opset_import: [{ domain: '', version: o.opset ?? 13 }],
    graph: { name: 'test', node: o.nodes, initializer: o.inits ?? [], input: [vinfo(...o.input)], output: o.outputs.map((x) => vinfo(...x)) },
  });
  return M.encode(msg).finish();
}

// ---------------------------------------------------------------------------------------------

describe('ONNX loader', function () {
  before(function () {
    if (!haveData) this.skip();
  });

  describe('mnist-8', () => {
    const file = `${DATA}/mnist-8/mnist-8.onnx`;
    it('maps the CNTK graph with SAME_UPPER pads and folds the bias adds into the convs', () => {
      const g = load(file);
      expect(g.format).to.equal('onnx');
      expect(g.input).to.deep.equal({ name: 'Input3', shape: [-1, 1, 28, 28] });
      expect(g.outputs).to.deep.equal(['Plus214_Output_0']);
      expect(ops(g)).to.deep.equal(['conv', 'relu', 'maxpool', 'conv', 'relu', 'maxpool', 'flatten', 'fc']);
      const convs = g.nodes.filter((n): n is Extract<Node, { op: 'conv' }> => n.op === 'conv');
      expect(convs.map((c) => c.name)).to.deep.equal(['Convolution28', 'Convolution110']);
      for (const c of convs) {
        expect(c.attrs.pads).to.deep.equal([2, 2, 2, 2]);
        expect(c.attrs.bias, 'bias folded').to.be.a('string');
      }
      expect(g.params.get(convs[0]!.attrs.weight)!.dims).to.deep.equal([8, 1, 5, 5]);
      expect(g.params.get(convs[0]!.attrs.bias!)!.dims).to.deep.equal([8]);
      expect(g.params.get(convs[1]!.attrs.bias!)!.dims).to.deep.equal([16]);
      const fc = g.nodes.find((n) => n.op === 'fc') as Extract<Node, { op: 'fc' }>;
      expect(fc.attrs.outFeatures).to.equal(10);
      expect(g.params.get(fc.attrs.weight)!.dims).to.deep.equal([10, 256]);
      expect(g.params.get(fc.attrs.bias!)!.dims, 'Add folded into the fc bias').to.deep.equal([10]);
      expect(fc.outputs).to.deep.equal(['Plus214_Output_0']);
      // Every param referenced, nothing else kept (the int64 reshape shapes are not params).
      expect(g.params.size).to.equal(6);
    });
    it('computes what onnxruntime computes', async () => {
      const g = load(file);
      const x = { dims: [1, 1, 28, 28], data: Float32Array.from(rand(784, 7), (v) => (v + 1) * 127.5) };
      const want = (await ortRun(read(file), x)).get('Plus214_Output_0')!;
      const got = runRef(g, x).get('Plus214_Output_0')!;
      expect(got.dims).to.deep.equal([1, 10]);
      expect(maxDiff(got.data, want.data)).to.be.below(1e-2);
    });
  });

  describe('squeezenet_v1.0_derived', () => {
    const file = `${DATA}/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx`;
    it('loads with ceil-mode pools, fire concats and the logits/prob outputs', () => {
      const g = load(file);
      expect(g.input).to.deep.equal({ name: 'data', shape: [-1, 3, 227, 227] });
      expect(g.outputs).to.deep.equal(['logits', 'prob']);
      expect(count(g, 'conv')).to.equal(26);
      expect(count(g, 'concat')).to.equal(8);
      expect(count(g, 'globalavgpool')).to.equal(1);
      const pools = g.nodes.filter((n) => n.op === 'maxpool');
      expect(pools).to.have.length(3);
      for (const p of pools) expect((p.attrs as { ceil: boolean }).ceil).to.equal(true);
      expect(g.nodes.find((n) => n.outputs.includes('logits'))!.op).to.equal('flatten');
      expect(g.nodes.find((n) => n.outputs.includes('prob'))!.op).to.equal('softmax');
      expect(g.nodes.some((n) => n.outputs.includes('/Concat_7_output_0'))).to.equal(true);
      expect(g.params.get('convs.conv1.weight')!.dims).to.deep.equal([96, 3, 7, 7]);
      expect(g.params.get('convs.conv1.bias')!.dims).to.deep.equal([96]);
      expect(g.params.size).to.equal(52);
    });
  });

  describe('light models (weights built by ConstantOfShape)', () => {
    const expectOps: Record<string, { has: string[]; fc: number; lacks?: string[] }> = {
      light_bvlc_alexnet: { has: ['conv', 'lrn', 'maxpool', 'fc', 'softmax'], fc: 3 },
      light_inception_v1: { has: ['conv', 'lrn', 'concat', 'avgpool', 'fc', 'softmax'], fc: 1 },
      light_resnet50: { has: ['conv', 'add', 'maxpool', 'avgpool', 'fc', 'softmax'], fc: 1, lacks: ['channelaffine'] },
      light_squeezenet: { has: ['conv', 'concat', 'globalavgpool', 'softmax'], fc: 0 },
      light_vgg19: { has: ['conv', 'maxpool', 'fc', 'softmax'], fc: 3 },
      light_zfnet512: { has: ['conv', 'lrn', 'maxpool', 'fc', 'softmax'], fc: 3 },
    };
    for (const [m, e] of Object.entries(expectOps)) {
      it(m, () => {
        const g = load(`${DATA}/onnx-light-models/${m}.onnx`);
        expect(g.input.shape).to.deep.equal([-1, 3, 224, 224]);
        for (const op of e.has) expect(ops(g), op).to.include(op);
        for (const op of e.lacks ?? []) expect(ops(g), op).not.to.include(op);
        expect(count(g, 'fc')).to.equal(e.fc);
        expect(ops(g)).not.to.include('identity'); // Dropout removed
        for (const n of g.nodes) {
          if (n.op === 'conv') {
            const w = g.params.get(n.attrs.weight)!;
            expect(w.dims).to.have.length(4);
            expect(w.data.length).to.equal(numel(w.dims));
            if (n.attrs.bias) expect(g.params.get(n.attrs.bias)!.dims).to.deep.equal([w.dims[0]]);
          }
          if (n.op === 'fc') expect(g.params.get(n.attrs.weight)!.dims[0]).to.equal(n.attrs.outFeatures);
        }
        // The output's shape agrees with the reference output tensor (through the reference evaluator for a tiny one is too slow; use dims).
        const want = readTensorProto(read(`${DATA}/onnx-light-models/${m}_output_0.pb`), `${m}_output_0.pb`);
        expect(g.outputs).to.have.length(1);
        const last = g.nodes.find((n) => n.outputs.includes(g.outputs[0]!))!;
        expect(last.op).to.equal('softmax');
        expect(want.dims.slice(1)[0]).to.equal(1000);
      });
    }
    it('resnet50: every BatchNorm is folded into its conv (bias created)', () => {
      const g = load(`${DATA}/onnx-light-models/light_resnet50.onnx`);
      expect(count(g, 'conv')).to.equal(53);
      expect(count(g, 'add')).to.equal(16);
      for (const n of g.nodes) if (n.op === 'conv') expect(n.attrs.bias).to.be.a('string');
    });
  });

  describe('ONNX backend op tests (opset 6)', () => {
    const dir = `${DATA}/onnx-op-tests`;
    const expected: Record<string, string> = {
      test_AvgPool2d: 'avgpool', test_AvgPool2d_stride: 'avgpool', test_BatchNorm2d_eval: 'channelaffine', test_BatchNorm2d_momentum_eval: 'channelaffine',
      test_Conv2d: 'conv', test_Conv2d_depthwise: 'conv', test_Conv2d_depthwise_padded: 'conv', test_Conv2d_depthwise_strided: 'conv', test_Conv2d_dilated: 'conv',
      test_Conv2d_groups: 'conv', test_Conv2d_no_bias: 'conv', test_Conv2d_padding: 'conv', test_Conv2d_strided: 'conv', test_ConvTranspose2d: 'convtranspose',
      test_ConvTranspose2d_no_bias: 'convtranspose', test_ELU: 'elu', test_LeakyReLU: 'leakyrelu', test_LeakyReLU_with_negval: 'leakyrelu', test_Linear: 'fc',
      test_Linear_no_bias: 'fc', test_LogSoftmax: 'softmax', test_MaxPool2d: 'maxpool', test_PReLU_2d: 'prelu', test_ReLU: 'relu', test_Sigmoid: 'sigmoid',
      test_Softmax: 'softmax', test_Tanh: 'tanh', test_ZeroPad2d: 'pad', test_softmax_lastdim: 'softmax',
    };
    const tests = haveData ? fs.readdirSync(dir).sort() : [];
    it('covers every test folder', () => expect(tests.filter((t) => !(t in expected))).to.deep.equal([]));
    for (const t of tests) {
      it(`${t}: ${expected[t]} reproduces output_0.pb`, () => {
        const g = load(`${dir}/${t}/model.onnx`);
        expect(ops(g)).to.deep.equal([expected[t]]);
        expect(g.input.shape[0]).to.equal(-1);
        const x = readTensorProto(read(`${dir}/${t}/test_data_set_0/input_0.pb`), 'input_0.pb');
        const want = readTensorProto(read(`${dir}/${t}/test_data_set_0/output_0.pb`), 'output_0.pb');
        expect(x.dims.slice(1)).to.deep.equal(g.input.shape.slice(1));
        const got = runRef(g, x).get(g.outputs[0]!)!;
        expect(got.dims).to.deep.equal(want.dims);
        expect(maxDiff(got.data, want.data)).to.be.below(1e-4);
      });
    }
    it('LRN keeps ONNX alpha (the IR divides by size), LogSoftmax sets log, Pad maps [x1b,x2b,x1e,x2e]', () => {
      const lrn = load(`${DATA}/onnx-light-models/light_bvlc_alexnet.onnx`).nodes.find((n) => n.op === 'lrn')!;
      expect(lrn.attrs).to.deep.equal({ size: 5, alpha: Math.fround(0.0001), beta: 0.75, bias: 1 });
      expect(load(`${dir}/test_LogSoftmax/model.onnx`).nodes[0]!.attrs).to.deep.equal({ axis: 1, log: true });
      expect(load(`${dir}/test_ZeroPad2d/model.onnx`).nodes[0]!.attrs).to.deep.equal({ pads: [3, 1, 4, 2], value: 0 });
      expect(load(`${dir}/test_PReLU_2d/model.onnx`).params.values().next().value!.dims).to.deep.equal([1]);
    });
  });

  describe('readTensorProto', () => {
    it('reads every test_data_set_0 tensor and the light reference outputs', () => {
      const files: string[] = [];
      for (const t of fs.readdirSync(`${DATA}/onnx-op-tests`)) for (const f of ['input_0.pb', 'output_0.pb']) files.push(`${DATA}/onnx-op-tests/${t}/test_data_set_0/${f}`);
      for (const f of fs.readdirSync(`${DATA}/onnx-light-models`)) if (f.endsWith('.pb')) files.push(`${DATA}/onnx-light-models/${f}`);
      expect(files.length).to.equal(29 * 2 + 6);
      for (const f of files) {
        const t = readTensorProto(read(f), path.basename(f));
        expect(t.data).to.be.instanceOf(Float32Array);
        expect(t.data.length, f).to.equal(numel(t.dims));
        expect(t.data.every(Number.isFinite), f).to.equal(true);
      }
      const c = readTensorProto(read(`${DATA}/onnx-op-tests/test_Conv2d/test_data_set_0/input_0.pb`), 'input_0.pb');
      expect(c.dims).to.deep.equal([2, 3, 7, 5]);
      const o = readTensorProto(read(`${DATA}/onnx-op-tests/test_Conv2d/test_data_set_0/output_0.pb`), 'output_0.pb');
      expect(o.dims).to.deep.equal([2, 4, 5, 4]);
      const l = readTensorProto(read(`${DATA}/onnx-light-models/light_resnet50_output_0.pb`), 'x.pb');
      expect(l.dims).to.deep.equal([1, 1000]);
      for (const v of l.data) expect(v).to.be.closeTo(0.001, 1e-6);
    });
    it('reads int64 and double tensors as float', () => {
      const Tn = onnxRoot().lookupType('onnx.TensorProto');
      const i64 = Tn.encode(Tn.fromObject(itensor('s', [3], [1, -1, 256]))).finish();
      expect(readTensorProto(i64, 'i.pb')).to.deep.include({ dims: [3], name: 's' });
      expect(Array.from(readTensorProto(i64, 'i.pb').data)).to.deep.equal([1, -1, 256]);
      const raw = new Uint8Array(new BigInt64Array([5n, -7n]).buffer);
      expect(Array.from(readTensorProto(Tn.encode(Tn.fromObject({ dims: [2], data_type: 7, raw_data: raw })).finish(), 'r.pb').data)).to.deep.equal([5, -7]);
      const dbl = Tn.encode(Tn.fromObject({ dims: [1, 2], data_type: 11, double_data: [0.5, 2.25] })).finish();
      expect(Array.from(readTensorProto(dbl, 'd.pb').data)).to.deep.equal([0.5, 2.25]);
      const fl = Tn.encode(Tn.fromObject({ dims: [2], data_type: 1, float_data: [1.5, -3] })).finish();
      expect(Array.from(readTensorProto(fl, 'f.pb').data)).to.deep.equal([1.5, -3]);
    });
    it('rejects broken tensors with the file name', () => {
      const f = `${DATA}/onnx-op-tests/test_Conv2d/test_data_set_0/input_0.pb`;
      const b = read(f);
      expectLoupeError(() => readTensorProto(b.subarray(0, b.length >> 1), 'half.pb'), 'half.pb', ModelFormatError);
      expectLoupeError(() => readTensorProto(rand(300, 3).map((v) => v * 255) as unknown as Uint8Array, 'junk.pb'), 'junk.pb');
      expectLoupeError(() => readTensorProto(Uint8Array.from(rand(1000, 5), (v) => (v + 1) * 127), 'random.pb'), 'random.pb', ModelFormatError);
      const Tn = onnxRoot().lookupType('onnx.TensorProto');
      expectLoupeError(() => readTensorProto(Tn.encode(Tn.fromObject({ dims: [4], data_type: 1, float_data: [1, 2] })).finish(), 'short.pb'), 'short.pb', ModelFormatError, /need 4/);
    });
  });

  describe('opset variants, folding and shape arithmetic (checked against onnxruntime)', () => {
    it('PyTorch-style graph: Shape/Gather/Unsqueeze/Concat reshape, Conv+BN fold, Gemm transB=0, Softmax axis -1 (opset 13)', async () => {
      const C = 4, K = 10;
      const w = rand(C * 3 * 3 * 3, 11), bw = rand(C * 6 * 6 * K, 12);
      const bytes = buildModel({
        opset: 13,
        input: ['x', ['batch', 3, 8, 8]],
        outputs: [['y', ['batch', K]]],
        inits: [
          ftensor('w', [C, 3, 3, 3], w),
          ftensor('g', [C], Float32Array.from([1, 2, 0.5, -1])), ftensor('b', [C], Float32Array.from([0.1, 0.2, 0.3, 0.4])),
          ftensor('m', [C], Float32Array.from([0.5, -0.5, 0, 1])), ftensor('v', [C], Float32Array.from([1, 2, 3, 4])),
          ftensor('B', [C * 36, K], bw), ftensor('c', [K], rand(K, 13)),
          itensor('zero', [], [0]), itensor('minus1', [1], [-1]), itensor('ax0', [1], [0]),
        ],
        nodes: [
          node('Conv', ['x', 'w'], ['c1'], { kernel_shape: [3, 3] }, 'conv1'),
          node('BatchNormalization', ['c1', 'g', 'b', 'm', 'v'], ['bn'], { epsilon: { f: 1e-3 } }, 'bn1'),
          node('Relu', ['bn'], ['r']),
          node('Shape', ['r'], ['s']),
          node('Gather', ['s', 'zero'], ['n0']),
          node('Unsqueeze', ['n0', 'ax0'], ['n1']),
          node('Concat', ['n1', 'minus1'], ['shp'], { axis: 0 }),
          node('Reshape', ['r', 'shp'], ['flat']),
          node('Gemm', ['flat', 'B', 'c'], ['logits'], { transB: 0 }, 'fc'),
          node('Softmax', ['logits'], ['y']),
        ],
      });
      const g = loadOnnx(bytes, 'torchlike.onnx');
      expect(ops(g)).to.deep.equal(['conv', 'relu', 'flatten', 'fc', 'softmax']);
      expect(g.nodes[0]!.outputs).to.deep.equal(['bn']);
      expect(g.nodes[4]!.attrs).to.deep.equal({ axis: 1 });
      expect(g.input.shape).to.deep.equal([-1, 3, 8, 8]);
      const x = { dims: [2, 3, 8, 8], data: rand(2 * 3 * 64, 14) };
      const want = (await ortRun(bytes, x)).get('y')!;
      const got = runRef(g, x).get('y')!;
      expect(got.dims).to.deep.equal([2, K]);
      expect(maxDiff(got.data, want.data)).to.be.below(1e-5);
    });

    it('BN after a conv with another consumer stays a channelaffine; Add of two tensors; Mul/Sub/Div by constants', async () => {
      const bytes = buildModel({
        opset: 11,
        input: ['x', [1, 2, 5, 5]],
        outputs: [['y', [1, 2, 5, 5]]],
        inits: [
          ftensor('w', [2, 2, 1, 1], Float32Array.from([1, 2, -1, 0.5])),
          ftensor('g', [2], Float32Array.from([2, 3])), ftensor('b', [2], Float32Array.from([1, -1])),
          ftensor('m', [2], Float32Array.from([0, 1])), ftensor('v', [2], Float32Array.from([1, 4])),
          ftensor('k', [1, 2, 1, 1], Float32Array.from([3, -2])), ftensor('s', [], Float32Array.from([0.5])),
        ],
        nodes: [
          node('Conv', ['x', 'w'], ['c']),
          node('BatchNormalization', ['c', 'g', 'b', 'm', 'v'], ['bn'], {}, 'bn'),
          node('Add', ['bn', 'c'], ['a'], {}, 'sum'),
          node('Mul', ['a', 'k'], ['m1']),
          node('Sub', ['s', 'm1'], ['m2']),
          node('Div', ['m2', 's'], ['y']),
        ],
      });
      const g = loadOnnx(bytes, 'bn2.onnx');
      expect(ops(g)).to.deep.equal(['conv', 'channelaffine', 'add', 'channelaffine', 'channelaffine', 'channelaffine']);
      expect(g.input.shape).to.deep.equal([-1, 2, 5, 5]);
      const x = { dims: [1, 2, 5, 5], data: rand(50, 21) };
      const want = (await ortRun(bytes, x)).get('y')!;
      expect(maxDiff(runRef(g, x).get('y')!.data, want.data)).to.be.below(1e-5);
    });

    it('Pad/Squeeze/Unsqueeze with inputs (opset 13), Resize nearest by scales, MatMul + Add folded into fc, Identity outputs', async () => {
      const bytes = buildModel({
        opset: 13,
        input: ['x', [1, 3, 4, 4]],
        outputs: [['y', [1, 5]], ['up', [1, 3, 8, 8]]],
        inits: [
          itensor('pads', [8], [0, 0, 1, 2, 0, 0, 0, 1]), itensor('ax23', [2], [2, 3]),
          ftensor('none', [0], new Float32Array(0)), ftensor('scales', [4], Float32Array.from([1, 1, 2, 2])),
          ftensor('W', [3, 5], rand(15, 31)), ftensor('bias', [5], rand(5, 32)),
        ],
        nodes: [
          node('Pad', ['x', 'pads'], ['p'], { mode: 'constant' }, 'pad'),
          node('GlobalMaxPool', ['p'], ['gp']),
          node('Squeeze', ['gp', 'ax23'], ['sq']),
          node('MatMul', ['sq', 'W'], ['mm'], {}, 'mm'),
          node('Add', ['mm', 'bias'], ['y0']),
          node('Identity', ['y0'], ['y'], {}, 'id'),
          node('Resize', ['x', 'none', 'scales'], ['up0'], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, 'rs'),
          node('Dropout', ['up0'], ['up']),
        ],
      });
      const g = loadOnnx(bytes, 'misc.onnx');
      expect(ops(g)).to.deep.equal(['pad', 'globalmaxpool', 'flatten', 'fc', 'resize']);
      expect(g.nodes[0]!.attrs).to.deep.equal({ pads: [1, 2, 0, 1], value: 0 });
      const fc = g.nodes[3] as Extract<Node, { op: 'fc' }>;
      expect(fc.attrs.bias).to.be.a('string');
      expect(fc.outputs).to.deep.equal(['y']);
      expect(g.nodes[4]!.outputs).to.deep.equal(['up']);
      expect(g.nodes[4]!.attrs).to.deep.equal({ mode: 'nearest', scale: [2, 2], alignCorners: false });
      const x = { dims: [1, 3, 4, 4], data: rand(48, 33) };
      const want = await ortRun(bytes, x);
      const got = runRef(g, x);
      for (const o of ['y', 'up']) expect(maxDiff(got.get(o)!.data, want.get(o)!.data), o).to.be.below(1e-5);
    });

    it('old forms: Softmax default axis 1 before opset 13 on [N,C,1,1], Unsqueeze/Squeeze axes attributes, Upsample scales attribute', () => {
      const g = loadOnnx(buildModel({
        opset: 9,
        input: ['x', [1, 3, 2, 2]],
        outputs: [['y', [1, 3, 1, 1]], ['u', [1, 3, 4, 4]]],
        nodes: [
          node('GlobalAveragePool', ['x'], ['gp']),
          node('Squeeze', ['gp'], ['sq'], { axes: [2, 3] }),
          node('Unsqueeze', ['sq'], ['us'], { axes: [2, 3] }),
          node('Softmax', ['us'], ['y']),
          node('Upsample', ['x', 'sc'], ['u'], { mode: 'nearest' }),
          node('Constant', [], ['sc'], { value: { t: ftensor('', [4], Float32Array.from([1, 1, 2, 2])) } }),
        ],
      }), 'old.onnx');
      expect(ops(g).slice(0, 4)).to.deep.equal(['globalavgpool', 'flatten', 'reshape', 'softmax']);
      expect(g.nodes[3]!.attrs).to.deep.equal({ axis: 1 });
      expect(g.nodes[2]!.attrs).to.deep.equal({ shape: [0, 3, 1, 1] });
      expect(g.outputs).to.deep.equal(['y', 'u']);
      expect(g.nodes[4]!.attrs).to.deep.equal({ mode: 'nearest', scale: [2, 2], alignCorners: false });
      // Upsample opset 7 takes its scales as an attribute
      const g7 = loadOnnx(buildModel({
        opset: 7, input: ['x', [1, 3, 2, 2]], outputs: [['u', [1, 3, 4, 6]]],
        nodes: [node('Upsample', ['x'], ['u'], { mode: 'nearest', scales: { floats: [1, 1, 2, 3] } })],
      }), 'up7.onnx');
      expect(g7.nodes[0]!.attrs).to.deep.equal({ mode: 'nearest', scale: [2, 3], alignCorners: false });
    });

    it('Upsample linear (asymmetric) is refused; Resize linear half_pixel maps to bilinear', () => {
      const mk = (opset: number, n: unknown, inits: unknown[] = []) =>
        buildModel({ opset, input: ['x', [1, 1, 2, 2]], outputs: [['y', [1, 1, 4, 4]]], inits, nodes: [n] });
      const sc = ftensor('sc', [4], Float32Array.from([1, 1, 2, 2]));
      expectLoupeError(() => loadOnnx(mk(9, node('Upsample', ['x', 'sc'], ['y'], { mode: 'linear' }, 'up'), [sc]), 'up.onnx'), 'up.onnx', UnsupportedOpError, /Upsample.*"up"/);
      const g = loadOnnx(mk(13, node('Resize', ['x', '', 'sc'], ['y'], { mode: 'linear' }), [sc]), 'rs.onnx');
      expect(g.nodes[0]!.attrs).to.deep.equal({ mode: 'bilinear', scale: [2, 2], alignCorners: false });
      const sz = itensor('sz', [4], [1, 1, 3, 5]);
      const g2 = loadOnnx(mk(13, node('Resize', ['x', '', '', 'sz'], ['y'], { mode: 'linear', coordinate_transformation_mode: 'align_corners' }), [sz]), 'rs2.onnx');
      expect(g2.nodes[0]!.attrs).to.deep.equal({ mode: 'bilinear', outSize: [3, 5], alignCorners: true });
    });
  });

  describe('mobile-family operators (checked against onnxruntime through the float64 reference of spec/reference.ts)', () => {
    const I64_MAX = '9223372036854775807';
    /** Loupe's graph through the float64 reference vs onnxruntime, outputs by name. */
    async function agree(bytes: Uint8Array, g: Graph, x: T, outs: string[]) {
      const want = await ortRun(bytes, x);
      const got = runGraphReference(g, x.data, x.dims[0]!, outs);
      for (const o of outs) {
        expect(got.get(o)!.shape, o).to.deep.equal(want.get(o)!.dims);
        expect(maxDiff(Float32Array.from(got.get(o)!.data), want.get(o)!.data), o).to.be.below(1e-5);
      }
    }

    it('torch\'s forms (opset 14): Clip with constant inputs, Split, negative Slice bounds, HardSwish, the channel shuffle, ReduceMean, HardSigmoid, SE Mul, broadcast Add', async () => {
      const bytes = buildModel({
        opset: 14,
        input: ['x', ['batch', 4, 6, 6]],
        outputs: [['y', ['batch', 8]], ['sl', ['batch', 5, 6, 6]], ['xs', ['batch', 2, 6, 6]]],
        inits: [
          ftensor('w', [8, 4, 1, 1], rand(32, 41).map((v) => 4 * v)), ftensor('zero', [], Float32Array.from([0])), ftensor('six', [], Float32Array.from([6])),
          itensor('split', [2], [3, 5]), itensor('shp5', [5], [0, 2, 4, 6, 6]), itensor('shp4', [4], [0, 8, 6, 6]),
          itensor('s2', [1], [2]), itensor('em1', [1], [-1]), itensor('ax1', [1], [1]),
          itensor('s01', [2], [0, 1]), { name: 'e01', dims: [2], data_type: 7, int64_data: [I64_MAX, '3'] }, itensor('ax01', [2], [0, 1]),
        ],
        nodes: [
          node('Conv', ['x', 'w'], ['c'], {}, 'conv'),
          node('Clip', ['c', 'zero', 'six'], ['r6'], {}, 'relu6'),
          node('Split', ['r6', 'split'], ['s1', 's2o'], { axis: 1 }, 'chunk'),
          node('HardSwish', ['s2o'], ['hs'], {}, 'hswish'),
          node('Slice', ['r6', 's2', 'em1', 'ax1'], ['sl'], {}, 'slice'),
          node('Slice', ['x', 's01', 'e01', 'ax01'], ['xs'], {}, 'slice_x'),
          node('Concat', ['s1', 'hs'], ['cat'], { axis: 1 }),
          node('Reshape', ['cat', 'shp5'], ['g5']),
          node('Transpose', ['g5'], ['t5'], { perm: [0, 2, 1, 3, 4] }, 'shuffle'),
          node('Reshape', ['t5', 'shp4'], ['sh']),
          node('ReduceMean', ['sh'], ['m'], { axes: [2, 3] }, 'squeeze'),
          node('HardSigmoid', ['m'], ['gate'], { alpha: { f: 1 / 6 } }, 'hsig'),
          node('Mul', ['gate', 'sh'], ['se'], {}, 'se'),
          node('ReduceMean', ['se'], ['cm'], { axes: [1] }, 'channel_mean'),
          node('Add', ['se', 'cm'], ['ad'], {}, 'add_mean'),
          node('ReduceMean', ['ad'], ['y'], { axes: [-2, -1], keepdims: 0 }, 'pool'),
        ],
      });
      const g = loadOnnx(bytes, 'mobile.onnx');
      expect(ops(g)).to.deep.equal(['conv', 'clip', 'slicechannels', 'slicechannels', 'hardswish', 'slicechannels', 'slicechannels', 'concat', 'reshape', 'transpose', 'reshape', 'reducemean', 'hardsigmoid', 'mul', 'reducemean', 'add', 'reducemean']);
      const at = (name: string) => g.nodes.find((n) => n.name === name)!.attrs;
      expect(at('relu6')).to.deep.equal({ min: 0, max: 6 });
      expect(at('chunk')).to.deep.equal({ start: 0, count: 3 });
      expect(at('chunk#1')).to.deep.equal({ start: 3, count: 5 });
      expect(at('slice')).to.deep.equal({ start: 2, count: 5 });
      expect(at('slice_x')).to.deep.equal({ start: 1, count: 2 });
      expect(at('shuffle')).to.deep.equal({ perm: [0, 2, 1, 3, 4] });
      expect(at('squeeze')).to.deep.equal({ axes: [2, 3], keepdims: true });
      expect(at('hsig')).to.deep.equal({ alpha: Math.fround(1 / 6), beta: 0.5 });
      expect(at('pool')).to.deep.equal({ axes: [2, 3], keepdims: false });
      await agree(bytes, g, { dims: [2, 4, 6, 6], data: rand(2 * 4 * 36, 42) }, ['y', 'sl', 'xs']);
    });

    it('older and rarer forms: Clip attributes (opset < 11) and one-sided Clip, Split by attribute (opset 11) and equal, ReduceMean axes input (opset 18), HardSigmoid defaults, identity Transpose and whole Slice', async () => {
      const x = { dims: [2, 6, 3, 5], data: rand(2 * 6 * 15, 43).map((v) => 3 * v) };
      const m7 = buildModel({
        opset: 7, input: ['x', ['N', 6, 3, 5]], outputs: [['y', ['N', 6, 3, 5]], ['h', ['N', 6, 3, 5]]],
        nodes: [node('Clip', ['x'], ['y'], { min: { f: -1 }, max: { f: 2 } }, 'clip6'), node('HardSigmoid', ['x'], ['h'], {}, 'hs')],
      });
      const g7 = loadOnnx(m7, 'm7.onnx');
      expect(g7.nodes.map((n) => n.attrs)).to.deep.equal([{ min: -1, max: 2 }, { alpha: 0.2, beta: 0.5 }]);
      await agree(m7, g7, x, ['y', 'h']);
      const m13 = buildModel({
        opset: 13, input: ['x', ['N', 6, 3, 5]], outputs: [['y', ['N', 6, 3, 5]], ['a', ['N', 2, 3, 5]], ['c', ['N', 2, 3, 5]], ['t', ['N', 6, 3, 5]], ['w', ['N', 6, 3, 5]]],
        inits: [ftensor('hi', [1], Float32Array.from([0.5])), itensor('s0', [1], [0]), itensor('e9', [1], [9]), itensor('ax1', [1], [1])],
        nodes: [
          node('Clip', ['x', '', 'hi'], ['y'], {}, 'upper'),
          node('Split', ['x'], ['a', 'b', 'c'], { axis: 1 }, 'thirds'),
          node('Transpose', ['x'], ['t'], { perm: [0, 1, 2, 3] }, 'same'),
          node('Slice', ['x', 's0', 'e9', 'ax1'], ['w'], {}, 'whole'),
        ],
      });
      const g13 = loadOnnx(m13, 'm13.onnx');
      expect(ops(g13)).to.deep.equal(['clip', 'slicechannels', 'slicechannels', 'identity', 'identity']);
      expect(g13.nodes[0]!.attrs).to.deep.equal({ min: -Infinity, max: 0.5 });
      expect(g13.nodes[2]!.attrs).to.deep.equal({ start: 4, count: 2 });
      await agree(m13, g13, x, ['y', 'a', 'c', 't', 'w']);
      const m11 = buildModel({
        opset: 11, input: ['x', ['N', 6, 3, 5]], outputs: [['a', ['N', 1, 3, 5]], ['b', ['N', 5, 3, 5]]],
        nodes: [node('Split', ['x'], ['a', 'b'], { axis: -3, split: [1, 5] }, 'split11')],
      });
      const g11 = loadOnnx(m11, 'm11.onnx');
      expect(g11.nodes.map((n) => n.attrs)).to.deep.equal([{ start: 0, count: 1 }, { start: 1, count: 5 }]);
      await agree(m11, g11, x, ['a', 'b']);
      const m18 = buildModel({
        opset: 18, input: ['x', ['N', 6, 3, 5]], outputs: [['y', ['N', 6, 1, 1]], ['z', ['N', 3, 5]]],
        inits: [itensor('ax23', [2], [2, 3]), itensor('ax1', [1], [1])],
        nodes: [node('ReduceMean', ['x', 'ax23'], ['y'], {}, 'gap'), node('ReduceMean', ['x', 'ax1'], ['z'], { keepdims: 0 }, 'cmean')],
      });
      const g18 = loadOnnx(m18, 'm18.onnx');
      expect(g18.nodes.map((n) => n.attrs)).to.deep.equal([{ axes: [2, 3], keepdims: true }, { axes: [1], keepdims: false }]);
      await agree(m18, g18, x, ['y', 'z']);
    });

    it('unsupported forms name the node in one line', () => {
      const mk = (n: unknown, inits: unknown[] = [], opset = 13, out: number[] = [1, 2, 4, 4]) =>
        buildModel({ opset, input: ['x', ['N', 4, 4, 4]], outputs: [['y', ['N', ...out.slice(1)]]], inits, nodes: [node('Relu', ['x'], ['r'], {}, 'relu'), n] });
      const refuse = (bytes: Uint8Array, re: RegExp, cls: typeof LoupeError = UnsupportedOpError) => {
        const e = expectLoupeError(() => loadOnnx(bytes, 'bad.onnx'), 'bad.onnx', cls, re);
        expect(e.message.split('\n')).to.have.length(1);
      };
      const ax = (name: string, v: number[]) => itensor(name, [v.length], v);
      refuse(mk(node('Slice', ['r', 's', 'e', 'a'], ['y'], {}, 'rows'), [ax('s', [1]), ax('e', [3]), ax('a', [2])]), /Slice in node "rows": a slice along axis 2 \(only channels, axis 1\)/);
      refuse(mk(node('Slice', ['r', 's', 'e', 'a', 'st'], ['y'], {}, 'strided'), [ax('s', [0]), ax('e', [4]), ax('a', [1]), ax('st', [2])]), /Slice in node "strided": a slice with step 2/);
      refuse(mk(node('Slice', ['r', 's', 'e', 'a'], ['y'], {}, 'batch'), [ax('s', [0]), ax('e', [1]), ax('a', [0])]), /Slice in node "batch": a slice of the batch axis/);
      refuse(mk(node('Slice', ['r', 'r', 'e', 'a'], ['y'], {}, 'dyn'), [ax('e', [1]), ax('a', [1])]), /Slice in node "dyn": its starts is computed at run time/);
      refuse(mk(node('Split', ['r'], ['y', 'z'], {}, 'split0')), /Split in node "split0": a split along axis 0 \(only channels, axis 1\)/);
      refuse(mk(node('Transpose', ['r'], ['y'], { perm: [1, 0, 2, 3] }, 'tb')), /Transpose in node "tb": perm \[1, 0, 2, 3\] moves the batch axis/);
      refuse(mk(node('Transpose', ['r'], ['y'], {}, 'rev')), /Transpose in node "rev": perm \[3, 2, 1, 0\] moves the batch axis/);
      refuse(mk(node('ReduceMean', ['r'], ['y'], { axes: [0, 1] }, 'rb')), /ReduceMean in node "rb": a mean over the batch axis/);
      refuse(mk(node('ReduceMean', ['r'], ['y'], {}, 'rall')), /ReduceMean in node "rall": a mean over every axis/);
      refuse(mk(node('Clip', ['r', 'r'], ['y'], {}, 'dynclip')), /Clip in node "dynclip": its min is computed at run time/);
      // broadcasting between computed tensors: ranks must agree, dims must broadcast
      const two = (a: unknown[], b2: unknown, inits: unknown[] = []) => buildModel({ opset: 13, input: ['x', ['N', 4, 4, 4]], outputs: [['y', ['N', 4, 4, 4]]], inits, nodes: [...a, b2] });
      refuse(two([node('Flatten', ['x'], ['f'])], node('Add', ['x', 'f'], ['y'], {}, 'ranks')), /Add in node "ranks": broadcasting between computed tensors of different ranks \[1, 4, 4, 4\], \[1, 64\]/);
      refuse(two([node('MaxPool', ['x'], ['p'], { kernel_shape: [2, 2], strides: [2, 2] })], node('Mul', ['x', 'p'], ['y'], {}, 'nobc')), /node "nobc" \(Mul\): computed tensors \[1, 4, 4, 4\], \[1, 4, 2, 2\] do not broadcast/, ShapeError);
    });
  });

  describe('bad input', () => {
    const mnist = `${DATA}/mnist-8/mnist-8.onnx`;
    it('truncated file (half its bytes)', () => {
      for (const f of [mnist, `${DATA}/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx`, `${DATA}/onnx-light-models/light_inception_v1.onnx`]) {
        const b = read(f);
        expectLoupeError(() => loadOnnx(b.subarray(0, b.length >> 1), 'half.onnx'), 'half.onnx', ModelFormatError);
      }
    });
    it('bytes flipped in the middle', () => {
      // The light models are all structure: their middle is graph nodes.
      for (const f of fs.readdirSync(`${DATA}/onnx-light-models`).filter((x) => x.endsWith('.onnx'))) {
        const b = read(`${DATA}/onnx-light-models/${f}`).slice();
        const mid = b.length >> 1;
        for (let i = mid - 32; i < mid + 32; i++) b[i] = b[i]! ^ 0xff;
        expectLoupeError(() => loadOnnx(b, 'flipped.onnx'), 'flipped.onnx');
      }
      // mnist-8's middle is weight data (no checksum exists to catch that); flip its node structure instead.
      const b = read(mnist).slice();
      const at = Buffer.from(b).indexOf('MaxPool');
      expect(at).to.be.above(0);
      for (let i = at - 8; i < at + 24; i++) b[i] = b[i]! ^ 0xff;
      expectLoupeError(() => loadOnnx(b, 'flipped.onnx'), 'flipped.onnx');
    });
    it('random bytes, empty file, a text file', () => {
      expectLoupeError(() => loadOnnx(Uint8Array.from(rand(5000, 99), (v) => (v + 1) * 127), 'random.onnx'), 'random.onnx', ModelFormatError);
      expectLoupeError(() => loadOnnx(new Uint8Array(0), 'empty.onnx'), 'empty.onnx', ModelFormatError);
      expectLoupeError(() => loadOnnx(new TextEncoder().encode('name: "not a model"\n'), 'text.onnx'), 'text.onnx', ModelFormatError);
    });
    it('random mutations either load or throw a LoupeError naming the file (never a raw exception)', function () {
      this.timeout(120000);
      let seed = 12345;
      const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
      for (const f of [mnist, `${DATA}/onnx-light-models/light_squeezenet.onnx`, `${DATA}/onnx-op-tests/test_Conv2d_groups/model.onnx`]) {
        const orig = read(f);
        for (let k = 0; k < 150; k++) {
          const b = orig.slice();
          const flips = 1 + Math.floor(rnd() * 8);
          for (let j = 0; j < flips; j++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
          const cut = rnd() < 0.2 ? Math.floor(rnd() * b.length) : b.length;
          try {
            loadOnnx(b.subarray(0, cut), 'mutant.onnx');
          } catch (e) {
            expect(e).to.be.instanceOf(LoupeError);
            expect((e as Error).message).to.contain('mutant.onnx');
          }
        }
      }
    });
    it('a model without a graph, or with a graph without nodes', () => {
      const M = Model();
      expectLoupeError(() => loadOnnx(M.encode(M.fromObject({ ir_version: 8, producer_name: 'x' })).finish(), 'nograph.onnx'), 'nograph.onnx', ModelFormatError);
      expectLoupeError(() => loadOnnx(buildModel({ input: ['x', [1, 3]], outputs: [['x', [1, 3]]], nodes: [] }), 'nonodes.onnx'), 'nonodes.onnx', ModelFormatError);
    });
    for (const op of ['NonMaxSuppression', 'Einsum']) {
      it(`an unsupported operator (${op}) names the op and the node`, () => {
        const bytes = buildModel({
          input: ['x', [1, 3, 4, 4]],
          outputs: [['y', [1, 3, 4, 4]]],
          nodes: [node('Relu', ['x'], ['r'], {}, 'relu1'), node(op, ['r'], ['y'], op === 'Einsum' ? { equation: 'nchw->nchw' } : {}, 'weird_node')],
        });
        const e = expectLoupeError(() => loadOnnx(bytes, 'unsupported.onnx'), 'unsupported.onnx', UnsupportedOpError);
        expect(e.message).to.equal(`unsupported.onnx: unsupported operator ${op} in node "weird_node"`);
      });
    }
    it('an unnamed unsupported node is called <OpType>_<index>; dead unsupported nodes are ignored', () => {
      const bytes = buildModel({
        input: ['x', [1, 3, 4, 4]],
        outputs: [['y', [1, 3, 4, 4]]],
        nodes: [node('Relu', ['x'], ['r']), node('Einsum', ['r'], ['dead'], { equation: 'nchw->nchw' }), node('Erf', ['r'], ['y'])],
      });
      expectLoupeError(() => loadOnnx(bytes, 'u.onnx'), 'u.onnx', UnsupportedOpError, /unsupported operator Erf in node "Erf_2"/);
    });
    it('weights that do not fit: conv channels, Gemm inner dims, MaxPool dilations', () => {
      const conv = buildModel({
        input: ['x', [1, 3, 8, 8]], outputs: [['y', [1, 4, 6, 6]]],
        inits: [ftensor('w', [4, 2, 3, 3], rand(72))],
        nodes: [node('Conv', ['x', 'w'], ['y'], {}, 'badconv')],
      });
      expectLoupeError(() => loadOnnx(conv, 'conv.onnx'), 'conv.onnx', ShapeError, /badconv.*\[4, 2, 3, 3\]/);
      const conv3 = buildModel({
        input: ['x', [1, 3, 8]], outputs: [['y', [1, 4, 6]]],
        inits: [ftensor('w', [4, 3, 3], rand(36))],
        nodes: [node('Conv', ['x', 'w'], ['y'], {}, 'conv1d')],
      });
      expectLoupeError(() => loadOnnx(conv3, 'c1.onnx'), 'c1.onnx', LoupeError, /conv1d/);
      const gemm = buildModel({
        input: ['x', [1, 10]], outputs: [['y', [1, 4]]],
        inits: [ftensor('B', [4, 9], rand(36))],
        nodes: [node('Gemm', ['x', 'B'], ['y'], { transB: 1 }, 'badgemm')],
      });
      expectLoupeError(() => loadOnnx(gemm, 'gemm.onnx'), 'gemm.onnx', ShapeError, /badgemm/);
      const pool = buildModel({
        input: ['x', [1, 3, 8, 8]], outputs: [['y', [1, 3, 3, 3]]],
        nodes: [node('MaxPool', ['x'], ['y'], { kernel_shape: [2, 2], dilations: [2, 2] }, 'dpool')],
      });
      expectLoupeError(() => loadOnnx(pool, 'pool.onnx'), 'pool.onnx', UnsupportedOpError, /MaxPool in node "dpool"/);
    });
    it('a weight whose data does not match its dims', () => {
      const bad = buildModel({
        input: ['x', [1, 3, 8, 8]], outputs: [['y', [1, 4, 6, 6]]],
        inits: [{ name: 'w', dims: [4, 3, 3, 3], data_type: 1, raw_data: new Uint8Array(16) }],
        nodes: [node('Conv', ['x', 'w'], ['y'], {}, 'c')],
      });
      expectLoupeError(() => loadOnnx(bad, 'short.onnx'), 'short.onnx', ModelFormatError, /"w"/);
    });
  });
});
