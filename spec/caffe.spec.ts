import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { loadCaffe } from '../loaders/caffe.ts';
import { parsePrototxt, TextMessage } from '../loaders/prototxt.ts';
import { caffeDescriptor } from '../loaders/proto/caffe.pb.ts';
import type { Graph, Node } from '../engine/ir.ts';
import { inferShapes } from '../engine/shapes.ts';
import { LoupeError, ModelFormatError, UnsupportedOpError } from '../engine/errors.ts';

const DATA = '/work/shared/data/caffe';
const REF = join(DATA, 'reference_prototxt');
const LENET_P = join(DATA, 'lenet/lenet.prototxt');
const LENET_W = join(DATA, 'lenet/lenet_iter_10000.caffemodel');
const SQ_P = join(DATA, 'squeezenet_v1.0_deepcompression/SqueezeNet_deploy.prototxt');
const SQ_W = join(DATA, 'squeezenet_v1.0_deepcompression/squeezenet_v1.0_decoded.caffemodel');

const text = (p: string) => readFileSync(p, 'utf8');
function bytes(p: string): Uint8Array {
  const b = readFileSync(p);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
const load = (p: string, w?: string) => loadCaffe(text(p), w ? bytes(w) : undefined, { prototxtName: p, caffemodelName: w });
const node = (g: Graph, name: string): Node => {
  const n = g.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name}`);
  return n;
};
const opCounts = (g: Graph) => {
  const c: Record<string, number> = {};
  for (const n of g.nodes) c[n.op] = (c[n.op] ?? 0) + 1;
  return c;
};

/** Catch what fn throws; it must be a LoupeError of `cls` whose message contains every string in `mentions`. */
function expectLoupeError(fn: () => unknown, cls: typeof LoupeError, mentions: string[]): Error {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a throw').to.be.instanceOf(Error);
  expect(err, `expected a ${cls.name}, got ${String(err)}`).to.be.instanceOf(cls);
  for (const m of mentions) expect((err as Error).message).to.contain(m);
  return err as Error;
}

/** SSA checks every graph must pass: each value produced once, read only after it is produced. */
function checkSsa(g: Graph): void {
  const produced = new Set([g.input.name]);
  for (const n of g.nodes) {
    for (const i of n.inputs) expect(produced.has(i), `${n.name} reads ${i} before it exists`).to.equal(true);
    for (const o of n.outputs) {
      expect(produced.has(o), `${o} produced twice`).to.equal(false);
      produced.add(o);
    }
  }
  for (const o of g.outputs) expect(produced.has(o)).to.equal(true);
  for (const n of g.nodes)
    for (const k of ['weight', 'bias', 'slope', 'scale', 'shift']) {
      const pn = (n.attrs as Record<string, unknown>)[k];
      if (typeof pn === 'string') {
        const p = g.params.get(pn);
        expect(p, `param ${pn}`).to.not.equal(undefined);
        expect(p!.data.length).to.equal(p!.dims.reduce((a, b) => a * b, 1));
      }
    }
}

/** A caffemodel built in the test from a plain object, with the same schema. */
function encodeNet(obj: Record<string, unknown>): Uint8Array {
  const T = protobuf.Root.fromJSON(caffeDescriptor).lookupType('caffe.NetParameter');
  return T.encode(T.fromObject(obj)).finish();
}

// -------------------------------------------------------------------------------------------------

describe('prototxt parser', () => {
  it('parses nested messages, both `name {` and `name: {`, comments and repeated fields', () => {
    const m = parsePrototxt(
      `# a comment
name: "Net"  # trailing comment
layer { name: 'a' top: "x" top: "y" param { lr_mult: 1 } param: { lr_mult: 2 } }
layer: {
  name: "b"
  shape { dim: 1 dim: 3 dim: 224 dim: 224 }
}
`,
      't.prototxt',
    );
    expect(m.str('name')).to.equal('Net');
    const layers = m.msgs('layer');
    expect(layers).to.have.length(2);
    expect(layers[0]!.strs('top')).to.deep.equal(['x', 'y']);
    expect(layers[0]!.msgs('param').map((p) => p.num('lr_mult'))).to.deep.equal([1, 2]);
    expect(layers[1]!.msg('shape')!.nums('dim')).to.deep.equal([1, 3, 224, 224]);
    expect(layers[1]!.line).to.equal(4);
    expect(m.has('missing')).to.equal(false);
    expect(m.num('missing', 7)).to.equal(7);
  });

  it('reads numbers: ints, negatives, floats, exponents, suffix f, hex, inf and nan', () => {
    const m = parsePrototxt('a: 3 b: -4 c: 0.5 d: .25 e: 1e-5 f: 1E38 g: -2.5e+3 h: 1.0f i: 0x10 j: inf k: -inf l: nan m: 1. n: +7');
    expect([m.num('a'), m.num('b'), m.num('c'), m.num('d'), m.num('e'), m.num('f'), m.num('g'), m.num('h'), m.num('i')]).to.deep.equal([
      3, -4, 0.5, 0.25, 1e-5, 1e38, -2500, 1, 16,
    ]);
    expect(m.num('j')).to.equal(Infinity);
    expect(m.num('k')).to.equal(-Infinity);
    expect(Number.isNaN(m.num('l'))).to.equal(true);
    expect(m.num('m')).to.equal(1);
    expect(m.num('n')).to.equal(7);
  });

  it('reads strings with escapes in either quote, concatenates adjacent strings, keeps UTF-8', () => {
    const m = parsePrototxt(String.raw`a: "x\"y\\z\n\t" b: 'it\'s' c: "\x41\102\u00e9" d: "ab" 'cd' e: "héllo #not a comment"`);
    expect(m.str('a')).to.equal('x"y\\z\n\t');
    expect(m.str('b')).to.equal("it's");
    expect(m.str('c')).to.equal('ABé');
    expect(m.str('d')).to.equal('abcd');
    expect(m.str('e')).to.equal('héllo #not a comment');
  });

  it('reads enum identifiers, booleans, lists and separators', () => {
    const m = parsePrototxt('pool: MAX ok: true no: false v: [1, 2, 3]; w: [] s: ["a", "b"], m [ { k: 1 }, { k: 2 } ] t: 1');
    expect(m.str('pool')).to.equal('MAX');
    expect(m.bool('ok', false)).to.equal(true);
    expect(m.bool('no', true)).to.equal(false);
    expect(m.bool('t', false)).to.equal(true);
    expect(m.nums('v')).to.deep.equal([1, 2, 3]);
    expect(m.all('w')).to.deep.equal([]);
    expect(m.strs('s')).to.deep.equal(['a', 'b']);
    expect(m.msgs('m').map((x) => x.num('k'))).to.deep.equal([1, 2]);
    expect(m.get('m')).to.be.instanceOf(TextMessage);
  });

  it('reports syntax errors as ModelFormatError with file:line:col', () => {
    const cases: [string, string][] = [
      ['layer {\n  name: "a"\n', 'bad.prototxt:3:1'], // missing }
      ['a: "unterminated\n', 'bad.prototxt:1:4'],
      ['a: 1\nb 2\n', 'bad.prototxt:2:3'], // missing colon
      ['a: 1\n}\n', 'bad.prototxt:2:1'], // stray }
      ['a: 1\n  b: @\n', 'bad.prototxt:2:6'],
      ['a: 12abc', 'bad.prototxt:1:'],
      ['a: [1, 2', 'bad.prototxt:1:'],
      ['a:', 'bad.prototxt:1:3'],
    ];
    for (const [src, where] of cases) expectLoupeError(() => parsePrototxt(src, 'bad.prototxt'), ModelFormatError, [where]);
  });
});

// -------------------------------------------------------------------------------------------------

describe('Caffe loader: architectures from the reference prototxts (no weights)', () => {
  it('LeNet: Input layer, conv/pool/fc/relu/softmax, in-place ReLU renamed', () => {
    const g = load(LENET_P);
    checkSsa(g);
    expect(g.format).to.equal('caffe');
    expect(g.name).to.equal('LeNet');
    expect(g.input).to.deep.equal({ name: 'data', shape: [-1, 1, 28, 28] });
    expect(g.nodes.map((n) => n.op)).to.deep.equal(['conv', 'maxpool', 'conv', 'maxpool', 'fc', 'relu', 'fc', 'softmax']);
    expect(g.outputs).to.deep.equal(['prob']);
    expect(g.preprocess).to.equal(undefined);
    // relu1 writes ip1 in place: its output gets the layer's name and ip2 reads it
    expect(node(g, 'relu1').inputs).to.deep.equal(['ip1']);
    expect(node(g, 'relu1').outputs).to.deep.equal(['relu1']);
    expect(node(g, 'ip2').inputs).to.deep.equal(['relu1']);
    const ip1 = node(g, 'ip1');
    expect(ip1.op === 'fc' && ip1.attrs.outFeatures).to.equal(500);
    expect(g.params.get('ip1/weight')!.dims).to.deep.equal([500, 800]); // 50×4×4 flattened
    expect(g.params.get('conv2/weight')!.dims).to.deep.equal([50, 20, 5, 5]);
    // no caffemodel: zero-filled params of the right dims
    expect(g.params.get('conv1/weight')!.data.every((v) => v === 0)).to.equal(true);
    const sm = node(g, 'prob');
    expect(sm.op === 'softmax' && sm.attrs.axis).to.equal(1);
  });

  it('AlexNet: grouped convs, LRN, dropout, fc sizes', () => {
    const g = load(join(REF, 'bvlc_alexnet_deploy.prototxt'));
    checkSsa(g);
    expect(g.input.shape).to.deep.equal([-1, 3, 227, 227]);
    expect(opCounts(g)).to.deep.equal({ conv: 5, relu: 7, lrn: 2, maxpool: 3, fc: 3, identity: 2, softmax: 1 });
    const c1 = node(g, 'conv1');
    expect(c1.op).to.equal('conv');
    if (c1.op === 'conv') expect([c1.attrs.kernel, c1.attrs.stride, c1.attrs.group]).to.deep.equal([[11, 11], [4, 4], 1]);
    const c2 = node(g, 'conv2');
    if (c2.op !== 'conv') throw new Error('conv2');
    expect(c2.attrs.group).to.equal(2);
    expect(c2.attrs.pads).to.deep.equal([2, 2, 2, 2]);
    expect(g.params.get('conv2/weight')!.dims).to.deep.equal([256, 48, 5, 5]);
    const n1 = node(g, 'norm1');
    expect(n1.op).to.equal('lrn');
    if (n1.op === 'lrn') {
      expect(n1.attrs.size).to.equal(5);
      expect(n1.attrs.alpha).to.be.closeTo(1e-4, 1e-12);
      expect(n1.attrs.beta).to.equal(0.75);
      expect(n1.attrs.bias).to.equal(1);
    }
    expect(node(g, 'norm1').inputs).to.deep.equal(['relu1']); // relu1 is in place on conv1
    expect(g.params.get('fc6/weight')!.dims).to.deep.equal([4096, 9216]); // 256×6×6
    expect(node(g, 'drop6').op).to.equal('identity');
    expect(g.outputs).to.deep.equal(['prob']);
    const p5 = node(g, 'pool5');
    if (p5.op === 'maxpool') expect(p5.attrs.ceil).to.equal(true);
  });

  it('CaffeNet: pool before norm', () => {
    const g = load(join(REF, 'bvlc_reference_caffenet_deploy.prototxt'));
    checkSsa(g);
    expect(g.nodes.length).to.equal(23);
    expect(node(g, 'norm1').inputs).to.deep.equal(['pool1']);
    expect(g.params.get('fc6/weight')!.dims).to.deep.equal([4096, 9216]);
    expect(g.params.get('fc8/weight')!.dims).to.deep.equal([1000, 4096]);
  });

  it('GoogLeNet: inception concats, LRN, average pool', () => {
    const g = load(join(REF, 'bvlc_googlenet_deploy.prototxt'));
    checkSsa(g);
    expect(g.input.shape).to.deep.equal([-1, 3, 224, 224]);
    const c = opCounts(g);
    expect(c.conv).to.equal(57);
    expect(c.concat).to.equal(9);
    expect(c.lrn).to.equal(2);
    expect(c.avgpool).to.equal(1);
    expect(g.nodes.length).to.equal(142);
    const out = node(g, 'inception_3a/output');
    expect(out.op).to.equal('concat');
    expect(out.inputs).to.have.length(4);
    if (out.op === 'concat') expect(out.attrs.axis).to.equal(1);
    const ap = node(g, 'pool5/7x7_s1');
    if (ap.op !== 'avgpool') throw new Error('avgpool');
    expect(ap.attrs).to.deep.equal({ kernel: [7, 7], stride: [1, 1], pads: [0, 0, 0, 0], ceil: true, countIncludePad: true });
    expect(g.params.get('loss3/classifier/weight')!.dims).to.deep.equal([1000, 1024]);
    expect(g.outputs).to.deep.equal(['prob']);
    const sh = inferShapes(g, 1);
    expect(sh.get('inception_5b/output')).to.deep.equal([1, 1024, 7, 7]);
    expect(sh.get('prob')).to.deep.equal([1, 1000]);
  });

  it('SqueezeNet v1.0 and v1.1 (DeepScale)', () => {
    const g0 = load(join(REF, 'squeezenet_v1.0_deploy.prototxt'));
    const g1 = load(join(REF, 'squeezenet_v1.1_deploy.prototxt'));
    for (const g of [g0, g1]) {
      checkSsa(g);
      expect(opCounts(g)).to.deep.equal({ conv: 26, relu: 26, maxpool: 3, concat: 8, identity: 1, globalavgpool: 1, softmax: 1 });
      expect(g.outputs).to.deep.equal(['prob']);
      expect(inferShapes(g, 1).get('prob')).to.deep.equal([1, 1000, 1, 1]);
    }
    expect(g0.params.get('conv1/weight')!.dims).to.deep.equal([96, 3, 7, 7]);
    expect(g1.params.get('conv1/weight')!.dims).to.deep.equal([64, 3, 3, 3]);
  });

  it('SqueezeNet v1.0 (Deep Compression deploy): conv1, ceil pools, conv_final pad 1, global pool output', () => {
    const g = load(SQ_P);
    checkSsa(g);
    expect(g.name).to.equal('FireNet');
    expect(g.nodes.length).to.equal(65);
    expect(g.input).to.deep.equal({ name: 'data', shape: [-1, 3, 227, 227] });
    const c1 = node(g, 'conv1');
    if (c1.op !== 'conv') throw new Error('conv1');
    expect(g.params.get(c1.attrs.weight)!.dims).to.deep.equal([96, 3, 7, 7]);
    expect(c1.attrs.stride).to.deep.equal([2, 2]);
    expect(c1.attrs.pads).to.deep.equal([0, 0, 0, 0]);
    expect(node(g, 'relu_conv1').outputs).to.deep.equal(['relu_conv1']);
    expect(node(g, 'pool1').inputs).to.deep.equal(['relu_conv1']);
    const p1 = node(g, 'pool1');
    if (p1.op !== 'maxpool') throw new Error('pool1');
    expect(p1.attrs).to.deep.equal({ kernel: [3, 3], stride: [2, 2], pads: [0, 0, 0, 0], ceil: true });
    const cf = node(g, 'conv_final');
    if (cf.op !== 'conv') throw new Error('conv_final');
    expect(cf.attrs.pads).to.deep.equal([1, 1, 1, 1]);
    expect(g.params.get('conv_final/weight')!.dims).to.deep.equal([1000, 512, 1, 1]);
    expect(node(g, 'pool_final').op).to.equal('globalavgpool');
    expect(g.outputs).to.deep.equal(['pool_final']);
    const sh = inferShapes(g, 1);
    expect(sh.get('conv1')).to.deep.equal([1, 96, 111, 111]);
    expect(sh.get('pool1')).to.deep.equal([1, 96, 55, 55]);
    expect(sh.get('pool4')).to.deep.equal([1, 256, 27, 27]);
    expect(sh.get('pool8')).to.deep.equal([1, 512, 13, 13]);
    expect(sh.get('fire9/concat')).to.deep.equal([1, 512, 13, 13]);
    expect(sh.get('conv_final')).to.deep.equal([1, 1000, 15, 15]);
    expect(sh.get('pool_final')).to.deep.equal([1, 1000, 1, 1]);
  });
});

describe('Caffe loader: real weights', () => {
  it('LeNet with its caffemodel', () => {
    const g = load(LENET_P, LENET_W);
    checkSsa(g);
    const dims = Object.fromEntries([...g.params].map(([k, v]) => [k, v.dims]));
    expect(dims).to.deep.equal({
      'conv1/weight': [20, 1, 5, 5],
      'conv1/bias': [20],
      'conv2/weight': [50, 20, 5, 5],
      'conv2/bias': [50],
      'ip1/weight': [500, 800],
      'ip1/bias': [500],
      'ip2/weight': [10, 500],
      'ip2/bias': [10],
    });
    for (const [k, p] of g.params) {
      expect(p.data).to.be.instanceOf(Float32Array);
      expect(p.data.every(Number.isFinite), k).to.equal(true);
      expect(p.data.some((v) => v !== 0), k).to.equal(true);
    }
    expect(g.params.get('conv1/weight')!.data[0]).to.be.closeTo(0.0483467, 1e-6);
    expect(g.params.get('ip2/bias')!.data[0]).to.be.closeTo(-0.0199746, 1e-6);
  });

  it('SqueezeNet v1.0 (decoded Deep Compression) with its caffemodel', () => {
    const g = load(SQ_P, SQ_W);
    checkSsa(g);
    expect(g.params.size).to.equal(52);
    expect(g.params.get('conv1/weight')!.dims).to.deep.equal([96, 3, 7, 7]);
    expect(g.params.get('fire9/conv3x3_2/weight')!.dims).to.deep.equal([256, 64, 3, 3]);
    expect(g.params.get('conv_final/weight')!.dims).to.deep.equal([1000, 512, 1, 1]);
    let nonzero = 0;
    let total = 0;
    for (const [k, p] of g.params) {
      expect(p.data.every(Number.isFinite), k).to.equal(true);
      expect(p.data.some((v) => v !== 0), k).to.equal(true);
      total += p.data.length;
      for (const v of p.data) if (v !== 0) nonzero++;
    }
    expect(total).to.equal(1248424); // SqueezeNet v1.0: 1.25 M parameters
    expect(nonzero / total).to.be.within(0.1, 0.9); // pruned, but not empty
  });
});

describe('Caffe loader: other prototxt forms', () => {
  const v1 = `
name: "legacy"
input: "data"
input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8
layers { name: "train_data" type: DATA top: "data" top: "label" include { phase: TRAIN } }
layers { name: "conv" type: CONVOLUTION bottom: "data" top: "conv"
         convolution_param { num_output: 4 kernel_h: 3 kernel_w: 1 pad_h: 1 pad_w: 0 stride_h: 2 stride_w: 1 bias_term: false } }
layers { name: "relu" type: RELU bottom: "conv" top: "conv" relu_param { negative_slope: 0.1 } }
layers { name: "drop" type: DROPOUT bottom: "conv" top: "conv" }
layers { name: "pool" type: POOLING bottom: "conv" top: "pool" pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 } }
layers { name: "gpool" type: POOLING bottom: "pool" top: "gpool" pooling_param { pool: MAX global_pooling: true } }
layers { name: "flat" type: FLATTEN bottom: "gpool" top: "flat" }
layers { name: "fc" type: INNER_PRODUCT bottom: "flat" top: "fc" inner_product_param { num_output: 2 } }
layers { name: "acc" type: ACCURACY bottom: "fc" bottom: "label" top: "acc" include { phase: TEST } }
layers { name: "loss" type: SOFTMAX_LOSS bottom: "fc" bottom: "label" top: "loss" }
layers { name: "sig" type: SIGMOID bottom: "conv" top: "sig" exclude { phase: TEST } }
`;
  it('reads legacy V1 `layers` with enum types, input_dim, phase rules, in-place chains', () => {
    const g = loadCaffe(v1, undefined, { prototxtName: 'legacy.prototxt' });
    checkSsa(g);
    expect(g.nodes.map((n) => `${n.name}:${n.op}`)).to.deep.equal([
      'conv:conv', 'relu:leakyrelu', 'drop:identity', 'pool:avgpool', 'gpool:globalmaxpool', 'flat:flatten', 'fc:fc',
    ]);
    expect(g.nodes.map((n) => n.outputs[0])).to.deep.equal(['conv', 'relu', 'drop', 'pool', 'gpool', 'flat', 'fc']);
    expect(node(g, 'pool').inputs).to.deep.equal(['drop']);
    const c = node(g, 'conv');
    if (c.op !== 'conv') throw new Error('conv');
    expect(c.attrs.kernel).to.deep.equal([3, 1]);
    expect(c.attrs.stride).to.deep.equal([2, 1]);
    expect(c.attrs.pads).to.deep.equal([1, 0, 1, 0]);
    expect(c.attrs.bias).to.equal(undefined);
    const r = node(g, 'relu');
    if (r.op === 'leakyrelu') expect(r.attrs.alpha).to.be.closeTo(0.1, 1e-9);
    const p = node(g, 'pool');
    if (p.op !== 'avgpool') throw new Error('pool');
    expect(p.attrs.countIncludePad).to.equal(true);
    expect(g.outputs).to.deep.equal(['fc']);
    expect(g.params.get('fc/weight')!.dims).to.deep.equal([2, 4]);
    // conv: (8+2-3)/2+1 = 4 rows, 8 cols; pool: ceil((4+2-3)/2)+1 = 3 (window 3 starts at 4 >= 4+1? no) × ceil((8+2-3)/2)+1 = 5
    const sh = inferShapes(g, 1);
    expect(sh.get('conv')).to.deep.equal([1, 4, 4, 8]);
    expect(sh.get('pool')).to.deep.equal([1, 4, 3, 5]);
  });

  it('maps transform_param to preprocess and takes the input from a MemoryData layer', () => {
    const src = `
layer { name: "d" type: "MemoryData" top: "data" top: "label"
        memory_data_param { batch_size: 1 channels: 3 height: 32 width: 32 }
        transform_param { scale: 0.017 mean_value: 104 mean_value: 117 mean_value: 123 crop_size: 32 } }
layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 2 kernel_size: 3 } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "c" bottom: "label" top: "loss" }`;
    const g = loadCaffe(src, undefined, { prototxtName: 'mem.prototxt' });
    expect(g.input).to.deep.equal({ name: 'data', shape: [-1, 3, 32, 32] });
    expect(g.preprocess).to.deep.equal({ size: [32, 32], mean: [104, 117, 123], scale: 0.017 });
    expect(g.outputs).to.deep.equal(['c']);
  });

  it('Eltwise SUM/PROD, Concat concat_dim, input_shape, Softmax, ELU, TanH', () => {
    const src = `
input: "x" input_shape { dim: 1 dim: 2 dim: 4 dim: 4 }
layer { name: "a" type: "TanH" bottom: "x" top: "a" }
layer { name: "b" type: "ELU" bottom: "x" top: "b" elu_param { alpha: 0.5 } }
layer { name: "s" type: "Eltwise" bottom: "a" bottom: "b" top: "s" }
layer { name: "p" type: "Eltwise" bottom: "a" bottom: "s" top: "p" eltwise_param { operation: PROD } }
layer { name: "c" type: "Concat" bottom: "s" bottom: "p" top: "c" concat_param { concat_dim: 1 } }
layer { name: "sm" type: "Softmax" bottom: "c" top: "sm" }`;
    const g = loadCaffe(src, undefined, { prototxtName: 'elt.prototxt' });
    checkSsa(g);
    expect(g.nodes.map((n) => n.op)).to.deep.equal(['tanh', 'elu', 'add', 'mul', 'concat', 'softmax']);
    expect(inferShapes(g, 1).get('c')).to.deep.equal([1, 4, 4, 4]);
    expect(g.outputs).to.deep.equal(['sm']);
  });
});

describe('Caffe loader: hand-made caffemodels', () => {
  const bnNet = `
input: "data" input_dim: 1 input_dim: 2 input_dim: 3 input_dim: 3
layer { name: "bn" type: "BatchNorm" bottom: "data" top: "data" }
layer { name: "sc" type: "Scale" bottom: "data" top: "data" scale_param { bias_term: true } }
layer { name: "pr" type: "PReLU" bottom: "data" top: "pr" }
layer { name: "fc" type: "InnerProduct" bottom: "pr" top: "fc" inner_product_param { num_output: 2 bias_term: false transpose: true } }`;

  it('folds BatchNorm statistics (with the scale factor blob) and reads Scale, PReLU, transposed fc', () => {
    const w = encodeNet({
      name: 'bn',
      layer: [
        {
          name: 'bn',
          type: 'BatchNorm',
          blobs: [
            { shape: { dim: [2] }, data: [4, 8] },
            { shape: { dim: [2] }, data: [8, 32] },
            { shape: { dim: [1] }, data: [2] },
          ],
        },
        { name: 'sc', type: 'Scale', blobs: [{ shape: { dim: [2] }, data: [3, 5] }, { shape: { dim: [2] }, data: [0.5, -0.5] }] },
        { name: 'pr', type: 'PReLU', blobs: [{ shape: { dim: [2] }, data: [0.25, 0.125] }] },
        // transpose: stored [in=18, out=2]
        { name: 'fc', type: 'InnerProduct', blobs: [{ shape: { dim: [18, 2] }, data: Array.from({ length: 36 }, (_, i) => i) }] },
      ],
    });
    const g = loadCaffe(bnNet, w, { prototxtName: 'bn.prototxt', caffemodelName: 'bn.caffemodel' });
    checkSsa(g);
    expect(g.nodes.map((n) => `${n.name}:${n.op}:${n.inputs[0]}->${n.outputs[0]}`)).to.deep.equal([
      'bn:channelaffine:data->bn', 'sc:channelaffine:bn->sc', 'pr:prelu:sc->pr', 'fc:fc:pr->fc',
    ]);
    const s = g.params.get('bn/scale')!.data;
    const t = g.params.get('bn/shift')!.data;
    // mean [2, 4], var [4, 16], eps 1e-5
    expect(s[0]).to.be.closeTo(1 / Math.sqrt(4 + 1e-5), 1e-6);
    expect(s[1]).to.be.closeTo(1 / Math.sqrt(16 + 1e-5), 1e-6);
    expect(t[0]).to.be.closeTo(-2 / Math.sqrt(4 + 1e-5), 1e-6);
    expect(t[1]).to.be.closeTo(-4 / Math.sqrt(16 + 1e-5), 1e-6);
    expect([...g.params.get('sc/scale')!.data]).to.deep.equal([3, 5]);
    expect([...g.params.get('sc/shift')!.data]).to.deep.equal([0.5, -0.5]);
    expect([...g.params.get('pr/slope')!.data]).to.deep.equal([0.25, 0.125]);
    const fw = g.params.get('fc/weight')!;
    expect(fw.dims).to.deep.equal([2, 18]);
    expect(fw.data[0 * 18 + 1]).to.equal(2); // W[o=0, i=1] = stored[i=1, o=0] = 1*2+0
    expect(fw.data[1 * 18 + 3]).to.equal(7); // W[o=1, i=3] = stored[3*2+1]
  });

  it('reads a legacy caffemodel: `layers` (field 2), 4-D num/channels/height/width blobs, double_data', () => {
    const src = `input: "data" input_dim: 1 input_dim: 1 input_dim: 2 input_dim: 2
layers { name: "ip" type: INNER_PRODUCT bottom: "data" top: "ip" inner_product_param { num_output: 3 } }`;
    const w = encodeNet({
      layers: [
        {
          name: 'ip',
          type: 'INNER_PRODUCT',
          blobs: [
            { num: 1, channels: 1, height: 3, width: 4, double_data: Array.from({ length: 12 }, (_, i) => i / 2) },
            { num: 1, channels: 1, height: 1, width: 3, data: [1, 2, 3] },
          ],
        },
      ],
    });
    const g = loadCaffe(src, w, { prototxtName: 'old.prototxt', caffemodelName: 'old.caffemodel' });
    expect(g.params.get('ip/weight')!.dims).to.deep.equal([3, 4]);
    expect(g.params.get('ip/weight')!.data[5]).to.equal(2.5);
    expect([...g.params.get('ip/bias')!.data]).to.deep.equal([1, 2, 3]);
  });

  it('BatchNorm with a zero scale factor leaves the statistics as they are', () => {
    const src = `input: "d" input_dim: 1 input_dim: 1 input_dim: 1 input_dim: 1
layer { name: "bn" type: "BatchNorm" bottom: "d" top: "bn" batch_norm_param { eps: 0.001 } }`;
    const w = encodeNet({
      layer: [{ name: 'bn', blobs: [{ shape: { dim: [1] }, data: [1] }, { shape: { dim: [1] }, data: [0.999] }, { shape: { dim: [1] }, data: [0] }] }],
    });
    const g = loadCaffe(src, w, { prototxtName: 'z.prototxt', caffemodelName: 'z.caffemodel' });
    // factor 0: Caffe uses scale 0 → mean 0, var 0 → y = x / sqrt(eps)
    expect(g.params.get('bn/scale')!.data[0]).to.be.closeTo(1 / Math.sqrt(0.001), 1e-3);
    expect(g.params.get('bn/shift')!.data[0]).to.equal(0);
  });
});

describe('Caffe loader: bad input', () => {
  const sqP = () => text(SQ_P);

  it('a truncated caffemodel (first half) is a ModelFormatError naming the file', () => {
    for (const [p, w] of [
      [LENET_P, LENET_W],
      [SQ_P, SQ_W],
    ] as const) {
      const b = bytes(w);
      expectLoupeError(
        () => loadCaffe(text(p), b.subarray(0, b.length >> 1), { prototxtName: p, caffemodelName: 'half.caffemodel' }),
        ModelFormatError,
        ['half.caffemodel'],
      );
    }
  });

  it('a caffemodel with bytes flipped in the middle is a LoupeError naming the file', () => {
    const b = Uint8Array.from(bytes(SQ_W));
    const mid = b.length >> 1;
    for (let i = 0; i < 16; i++) b[mid + i]! ^= 0xff;
    expectLoupeError(() => loadCaffe(sqP(), b, { prototxtName: 'sq.prototxt', caffemodelName: 'flipped.caffemodel' }), ModelFormatError, [
      'flipped.caffemodel',
    ]);
  });

  it('a caffemodel with a flipped record header in the middle fails to decode, as a ModelFormatError', () => {
    const raw = bytes(SQ_W);
    const at = Buffer.from(raw).indexOf(Buffer.from('fire6/conv1x1_1'));
    expect(at).to.be.greaterThan(0);
    const b = Uint8Array.from(raw);
    for (let i = at - 8; i < at; i++) b[i]! ^= 0xff; // the layer record's tag, length and name header
    expectLoupeError(() => loadCaffe(sqP(), b, { prototxtName: 'sq.prototxt', caffemodelName: 'hdr.caffemodel' }), ModelFormatError, [
      'hdr.caffemodel',
    ]);
  });

  it('corruption anywhere gives a graph or a LoupeError, never a raw exception or a hang', function () {
    this.timeout(120000);
    const raw = bytes(SQ_W);
    const lp = text(SQ_P);
    const t0 = Date.now();
    let errors = 0;
    const N = 40;
    for (let k = 0; k < N; k++) {
      const b = Uint8Array.from(raw);
      const pos = Math.floor(((k + 0.5) / N) * (b.length - 8));
      for (let i = 0; i < 8; i++) b[pos + i]! ^= 0xff;
      try {
        loadCaffe(lp, b, { prototxtName: 'l.prototxt', caffemodelName: 'c.caffemodel' });
      } catch (e) {
        expect(e, String(e)).to.be.instanceOf(LoupeError);
        expect((e as Error).message).to.contain('c.caffemodel');
        errors++;
      }
      // also cut at that position
      try {
        loadCaffe(lp, raw.subarray(0, pos), { prototxtName: 'l.prototxt', caffemodelName: 'c.caffemodel' });
      } catch (e) {
        expect(e, String(e)).to.be.instanceOf(LoupeError);
      }
    }
    expect(errors).to.be.greaterThan(0);
    expect(Date.now() - t0).to.be.lessThan(60000);
  });

  it('garbage bytes and an empty caffemodel are ModelFormatErrors', () => {
    const junk = new Uint8Array(1000).map((_, i) => (i * 7919) & 0xff);
    expectLoupeError(() => loadCaffe(text(LENET_P), junk, { prototxtName: 'l.prototxt', caffemodelName: 'junk.caffemodel' }), ModelFormatError, [
      'junk.caffemodel',
    ]);
    expectLoupeError(() => loadCaffe(text(LENET_P), new Uint8Array(0), { prototxtName: 'l.prototxt', caffemodelName: 'empty.caffemodel' }), ModelFormatError, [
      'empty.caffemodel',
    ]);
  });

  it('a prototxt with a syntax error is a ModelFormatError with file:line:col', () => {
    const broken = text(LENET_P).replace('  top: "pool1"\n', '  top: "pool1\n');
    expectLoupeError(() => loadCaffe(broken, undefined, { prototxtName: 'lenet-broken.prototxt' }), ModelFormatError, ['lenet-broken.prototxt:35:8', 'unterminated string']);
    const unclosed = text(LENET_P) + '\nlayer {\n  name: "x"\n';
    expectLoupeError(() => loadCaffe(unclosed, undefined, { prototxtName: 'open.prototxt' }), ModelFormatError, ['open.prototxt:', 'missing "}"']);
  });

  it('a layer of an unknown type is an UnsupportedOpError naming the layer, its type and the file', () => {
    const src = text(LENET_P).replace('type: "ReLU"', 'type: "Swish"');
    expectLoupeError(() => loadCaffe(src, undefined, { prototxtName: 'lenet-swish.prototxt' }), UnsupportedOpError, [
      'lenet-swish.prototxt',
      'relu1',
      'Swish',
    ]);
    const elt = `input: "x" input_dim: 1 input_dim: 1 input_dim: 2 input_dim: 2
layer { name: "m" type: "Eltwise" bottom: "x" bottom: "x" top: "m" eltwise_param { operation: MAX } }`;
    expectLoupeError(() => loadCaffe(elt, undefined, { prototxtName: 'max.prototxt' }), UnsupportedOpError, ['max.prototxt', '"m"', 'MAX']);
  });

  it('LeNet weights with the SqueezeNet prototxt: a mismatch naming the layer, both shapes and the files', () => {
    expectLoupeError(
      () => loadCaffe(sqP(), bytes(LENET_W), { prototxtName: 'SqueezeNet_deploy.prototxt', caffemodelName: 'lenet_iter_10000.caffemodel' }),
      ModelFormatError,
      ['lenet_iter_10000.caffemodel', 'SqueezeNet_deploy.prototxt', '"conv1"', '[96, 3, 7, 7]', '[20, 1, 5, 5]'],
    );
  });

  it('a caffemodel without weights for a layer that needs them names that layer', () => {
    const src = text(LENET_P).replace(
      'layer {\n  name: "prob"',
      'layer {\n  name: "ip3"\n  type: "InnerProduct"\n  bottom: "ip2"\n  top: "ip3"\n  inner_product_param { num_output: 10 }\n}\nlayer {\n  name: "prob"',
    );
    expect(src).to.contain('ip3');
    expectLoupeError(() => loadCaffe(src, bytes(LENET_W), { prototxtName: 'l.prototxt', caffemodelName: 'lenet.caffemodel' }), ModelFormatError, [
      'lenet.caffemodel',
      '"ip3"',
    ]);
  });

  it('structural errors: unknown bottom, missing input, bad field type', () => {
    expectLoupeError(
      () => loadCaffe('input: "x" input_dim: 1 input_dim: 1 input_dim: 2 input_dim: 2\nlayer { name: "r" type: "ReLU" bottom: "y" top: "r" }', undefined, { prototxtName: 'b.prototxt' }),
      ModelFormatError,
      ['b.prototxt', '"r"', '"y"'],
    );
    expectLoupeError(() => loadCaffe('layer { name: "r" type: "ReLU" bottom: "y" top: "r" }', undefined, { prototxtName: 'n.prototxt' }), ModelFormatError, [
      'n.prototxt',
      'no input',
    ]);
    expectLoupeError(
      () =>
        loadCaffe(
          'input: "x" input_dim: 1 input_dim: 1 input_dim: 2 input_dim: 2\nlayer { name: "c" type: "Convolution" bottom: "x" top: "c" convolution_param { num_output: 1 kernel_size: "a" } }',
          undefined,
          { prototxtName: 't.prototxt' },
        ),
      ModelFormatError,
      ['t.prototxt', 'kernel_size'],
    );
  });
});
