// A seeded generator of hostile inputs for the `loupe` command: damaged and mutated ONNX and Caffe
// files, broken and oversized images and .npy arrays, out-of-range and malformed arguments for
// every method of the registry, and odd --out paths. Each case is a command line plus the files it
// needs; spec/sweep.spec.ts runs them and holds every one to the same rules (one clear line and a
// non-zero exit, or exit 0 with a complete, finite, non-constant result).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnxRoot } from '../loaders/onnx.ts';
import { writeNpy } from '../loaders/npy.ts';
import { buildPatchModel, encodePatchModel } from '../explainers/patch-model.ts';
import { explainers } from '../explainers/registry.ts';
import { flagName, type OptionSpec } from '../explainers/options.ts';
import { rng, type Rng } from './helpers.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '..', 'shared', 'data');

export interface HostileCase {
  name: string;
  /** arguments after `loupe`; files of `files` are referred to by their names (the case runs in its own folder) */
  argv: string[];
  files: Record<string, Uint8Array | string>;
  /** must fail (a known-bad input), or may go either way (a mutation that can leave a valid file) */
  expect: 'error' | 'either';
  /** what the one line must name when it fails (any of these) */
  names: string[];
}

const bytes = (path: string) => new Uint8Array(readFileSync(path));

/** The base files every mutation starts from. */
function bases() {
  return {
    lenet: bytes(join(ROOT, 'weights/lenet-relu-mnist.onnx')),
    digit: bytes(join(ROOT, 'weights/mnist-test-0.png')),
    proto: readFileSync(join(DATA, 'caffe/lenet/lenet.prototxt'), 'utf8'),
    caffemodel: bytes(join(DATA, 'caffe/lenet/lenet_iter_10000.caffemodel')),
    jpeg: bytes(join(DATA, 'images/caffe/cat.jpg')),
  };
}

function truncate(r: Rng, b: Uint8Array): Uint8Array {
  return b.slice(0, r.int(0, b.length - 1));
}

function flip(r: Rng, b: Uint8Array, n: number, from = 0): Uint8Array {
  const c = b.slice();
  for (let i = 0; i < n; i++) c[r.int(from, c.length - 1)] ^= 1 << r.int(0, 7);
  return c;
}

/** A PNG header (signature + IHDR) claiming `w`×`h`, with a valid CRC and no pixel data. */
export function pngHeader(w: number, h: number, depth = 8, colour = 6): Uint8Array {
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, w);
  dv.setUint32(4, h);
  ihdr.set([depth, colour, 0, 0, 0], 8);
  const chunk = new Uint8Array(12 + 13);
  const cv = new DataView(chunk.buffer);
  cv.setUint32(0, 13);
  chunk.set([73, 72, 68, 82], 4);
  chunk.set(ihdr, 8);
  cv.setUint32(21, crc32(chunk.subarray(4, 21)));
  return new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, ...chunk]);
}

function crc32(b: Uint8Array): number {
  let c = ~0;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A JPEG start (SOI + SOF0) claiming `w`×`h`, then EOI. */
function jpegHeader(w: number, h: number): Uint8Array {
  return new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, h >> 8, h & 255, w >> 8, w & 255, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xff, 0xd9]);
}

type ModelProto = Record<string, unknown> & { graph: { node: Record<string, unknown>[]; initializer: Record<string, unknown>[]; input: Record<string, unknown>[]; output: Record<string, unknown>[] }; opset_import?: { version: number }[] };

/** Structural mutations of the shipped LeNet ONNX, each a different rule of a valid model broken. */
function onnxMutations(): [string, (m: ModelProto) => void][] {
  const attr = (m: ModelProto, op: string, name: string) => {
    const n = m.graph.node.find((x) => x.op_type === op) as { attribute: Record<string, unknown>[] };
    return n.attribute.find((a) => a.name === name)!;
  };
  return [
    ['strides given as a string', (m) => Object.assign(attr(m, 'Conv', 'strides'), { type: 3, ints: [], s: new TextEncoder().encode('1,1') })],
    ['kernel_shape given as floats', (m) => Object.assign(attr(m, 'Conv', 'kernel_shape'), { type: 6, ints: [], floats: [5, 5] })],
    ['opset 99', (m) => (m.opset_import = [{ version: 99 }])],
    ['opset 0', (m) => (m.opset_import = [{ version: 0 }])],
    ['two nodes produce the same value', (m) => ((m.graph.node[1] as { output: string[] }).output = [...(m.graph.node[0] as { output: string[] }).output])],
    ['a node reads a value nothing produces', (m) => ((m.graph.node[2] as { input: string[] }).input = ['nowhere'])],
    ['an initializer removed', (m) => m.graph.initializer.splice(0, 1)],
    ['an initializer with the wrong dims', (m) => ((m.graph.initializer[0] as { dims: number[] }).dims = [3, 3])],
    ['a NaN weight', (m) => setRaw(m, 0, Number.NaN)],
    ['an infinite weight', (m) => setRaw(m, 1, Number.POSITIVE_INFINITY)],
    ['an unknown operator', (m) => ((m.graph.node[1] as { op_type: string }).op_type = 'Hardmax')],
    ['no nodes', (m) => (m.graph.node = [])],
    ['no graph outputs', (m) => (m.graph.output = [])],
    ['a graph output nothing produces', (m) => ((m.graph.output[0] as { name: string }).name = 'ghost')],
    ['an input with a zero dimension', (m) => dims(m, [1, 1, 0, 28])],
    ['an input with a negative dimension', (m) => dims(m, [1, 1, -28, 28])],
    ['an input of rank 2', (m) => dims(m, [1, 784])],
    ['a conv with group 7', (m) => (m.graph.node.find((x) => x.op_type === 'Conv') as { attribute: unknown[] }).attribute.push({ name: 'group', type: 2, i: 7 })],
    ['a negative pad', (m) => (m.graph.node.find((x) => x.op_type === 'Conv') as { attribute: unknown[] }).attribute.push({ name: 'pads', type: 7, ints: [-3, -3, -3, -3] })],
    ['a zero stride', (m) => Object.assign(attr(m, 'Conv', 'strides'), { ints: [0, 0] })],
    ['a huge kernel', (m) => Object.assign(attr(m, 'Conv', 'kernel_shape'), { ints: [999, 999] })],
  ];
  function setRaw(m: ModelProto, k: number, v: number) {
    const init = m.graph.initializer.find((t) => ((t as { dims: number[] }).dims?.length ?? 0) >= 2) as { raw_data?: Uint8Array; float_data?: number[] };
    if (init.raw_data && init.raw_data.length >= 4 * (k + 1)) new DataView(init.raw_data.buffer, init.raw_data.byteOffset).setFloat32(4 * k, v, true);
    else if (init.float_data) init.float_data[k] = v;
  }
  function dims(m: ModelProto, d: number[]) {
    const t = (m.graph.input[0] as { type: { tensor_type: { shape: { dim: { dim_value: number }[] } } } }).type.tensor_type.shape;
    t.dim = d.map((x) => ({ dim_value: x }));
  }
}

/** A small patch model for the shipped LeNet (PDA's required file), from noise digits. */
function patchModel(r: Rng): Uint8Array {
  const images = Array.from({ length: 4 }, () => r.array(784, 0, 1));
  return encodePatchModel(buildPatchModel(images, { window: 10, padding: 2, channels: 1, height: 28, width: 28, patches: 400, store: 4, model: 'lenet-relu-mnist' }));
}

/** Every case, in a fixed order for a seed. */
export function hostileCases(seed = 7): HostileCase[] {
  const r = rng(seed);
  const b = bases();
  const cases: HostileCase[] = [];
  const predict = (model: string, img = 'digit.png') => ['predict', '--json', '--model', model, '--image', img];
  const add = (name: string, argv: string[], files: HostileCase['files'], expect: HostileCase['expect'], names: string[]) => cases.push({ name, argv, files, expect, names });

  // ---- ONNX: cut short, bits flipped, rules broken --------------------------------------------------
  for (let i = 0; i < 12; i++) add(`onnx cut at a random length #${i}`, predict('m.onnx'), { 'm.onnx': truncate(r, b.lenet), 'digit.png': b.digit }, 'error', ['m.onnx']);
  for (let i = 0; i < 16; i++) {
    const n = r.int(1, 12);
    add(`onnx with ${n} bits flipped #${i}`, predict('m.onnx'), { 'm.onnx': flip(r, b.lenet, n), 'digit.png': b.digit }, 'either', ['m.onnx', 'layer "']);
  }
  const M = onnxRoot().lookupType('onnx.ModelProto');
  for (const [what, mutate] of onnxMutations()) {
    const m = M.toObject(M.decode(b.lenet.slice()), { defaults: false }) as ModelProto; // a copy: raw_data views the bytes
    mutate(m);
    add(`onnx: ${what}`, predict('m.onnx'), { 'm.onnx': M.encode(M.fromObject(m)).finish(), 'digit.png': b.digit }, 'error', what.includes('weight') ? ['m.onnx', 'layer "'] : ['m.onnx']);
  }
  add('a text file as the model', predict('m.onnx'), { 'm.onnx': 'not a model\n', 'digit.png': b.digit }, 'error', ['m.onnx']);
  add('an empty model file', predict('m.onnx'), { 'm.onnx': new Uint8Array(0), 'digit.png': b.digit }, 'error', ['m.onnx']);
  add('a model that is a folder', predict('.'), { 'digit.png': b.digit }, 'error', ['.']);
  add('a missing model', predict('nope.onnx'), { 'digit.png': b.digit }, 'error', ['nope.onnx']);

  // ---- Caffe: prototxt cut or thinned, weights cut or flipped, weights missing, deep nesting -----------
  const caffe = (proto: string, weights?: string) => ['predict', '--json', '--model', proto, ...(weights ? ['--weights', weights] : []), '--image', 'digit.png', '--scale', '0.00390625'];
  for (let i = 0; i < 8; i++) add(`prototxt cut #${i}`, caffe('p.prototxt', 'w.caffemodel'), { 'p.prototxt': b.proto.slice(0, r.int(0, b.proto.length - 1)), 'w.caffemodel': b.caffemodel, 'digit.png': b.digit }, 'either', ['p.prototxt', 'w.caffemodel']);
  for (let i = 0; i < 8; i++) {
    const lines = b.proto.split('\n');
    const k = r.int(0, lines.length - 1);
    lines.splice(k, r.int(1, 3));
    add(`prototxt with lines removed #${i}`, caffe('p.prototxt', 'w.caffemodel'), { 'p.prototxt': lines.join('\n'), 'w.caffemodel': b.caffemodel, 'digit.png': b.digit }, 'either', ['p.prototxt', 'w.caffemodel']);
  }
  for (let i = 0; i < 6; i++) add(`caffemodel cut #${i}`, caffe('p.prototxt', 'w.caffemodel'), { 'p.prototxt': b.proto, 'w.caffemodel': truncate(r, b.caffemodel), 'digit.png': b.digit }, 'error', ['w.caffemodel']);
  for (let i = 0; i < 6; i++) add(`caffemodel with bits flipped #${i}`, caffe('p.prototxt', 'w.caffemodel'), { 'p.prototxt': b.proto, 'w.caffemodel': flip(r, b.caffemodel, r.int(1, 8)), 'digit.png': b.digit }, 'either', ['w.caffemodel', 'p.prototxt', 'layer "']);
  add('a prototxt without its weights', caffe('p.prototxt'), { 'p.prototxt': b.proto, 'digit.png': b.digit }, 'error', ['p.prototxt', '--weights']);
  add('a prototxt nested 100,000 levels deep', ['info', '--model', 'p.prototxt'], { 'p.prototxt': 'layer { '.repeat(100000) + '}'.repeat(100000) }, 'error', ['p.prototxt']);
  add('a prototxt ending at conv1 (V1 layers)', caffe('p.prototxt', 'w.caffemodel'), {
    'p.prototxt': 'name: "cut"\ninput: "data"\ninput_dim: 1\ninput_dim: 1\ninput_dim: 28\ninput_dim: 28\nlayers { name: "conv1" type: CONVOLUTION bottom: "data" top: "conv1" convolution_param { num_output: 20 kernel_size: 5 } }\n',
    'w.caffemodel': b.caffemodel, 'digit.png': b.digit,
  }, 'error', ['conv1', 'p.prototxt']);
  add('an unknown Caffe layer type', caffe('p.prototxt', 'w.caffemodel'), { 'p.prototxt': b.proto.replace('type: "Pooling"', 'type: "Teleport"'), 'w.caffemodel': b.caffemodel, 'digit.png': b.digit }, 'error', ['p.prototxt', 'Teleport']);

  // ---- images ---------------------------------------------------------------------------------------------
  const img = (name: string, data: Uint8Array | string, expect: HostileCase['expect'] = 'error') => add(`image: ${name}`, predict('m.onnx', 'x.png'), { 'm.onnx': b.lenet, 'x.png': data }, expect, ['x.png']);
  for (let i = 0; i < 8; i++) img(`PNG cut #${i}`, truncate(r, b.digit));
  for (let i = 0; i < 8; i++) img(`PNG with bits flipped #${i}`, flip(r, b.digit, r.int(1, 6), 8), 'either');
  img('a PNG claiming 32000×32000', pngHeader(32000, 32000));
  img('a PNG claiming 0×0', pngHeader(0, 0));
  img('a 16-bit PNG header only', pngHeader(28, 28, 16, 0));
  img('text named .png', 'these are not pixels\n');
  img('an empty file', new Uint8Array(0));
  for (let i = 0; i < 4; i++) img(`JPEG cut #${i}`, truncate(r, b.jpeg), 'error');
  img('a JPEG claiming 60000×60000', jpegHeader(60000, 60000));
  add('image: a missing image', predict('m.onnx', 'gone.png'), { 'm.onnx': b.lenet }, 'error', ['gone.png']);

  // ---- .npy inputs ---------------------------------------------------------------------------------------------
  const npy = (name: string, data: Uint8Array, expect: HostileCase['expect'] = 'error') => add(`npy: ${name}`, ['predict', '--json', '--model', 'm.onnx', '--input', 'x.npy'], { 'm.onnx': b.lenet, 'x.npy': data }, expect, ['x.npy']);
  const arr = (shape: number[], fill: (i: number) => number) => writeNpy(shape, Float32Array.from({ length: shape.reduce((a, c) => a * c, 1) }, (_, i) => fill(i)));
  npy('the right shape', arr([2, 1, 28, 28], (i) => (i % 7) / 7), 'either');
  npy('a NaN value', arr([1, 1, 28, 28], (i) => (i === 300 ? Number.NaN : 0.5)));
  npy('an infinite value', arr([1, 1, 28, 28], (i) => (i === 5 ? Number.NEGATIVE_INFINITY : 0.5)));
  npy('values of ±3e38', arr([1, 1, 28, 28], (i) => (i % 2 ? 3e38 : -3e38)));
  npy('an empty batch', arr([0, 1, 28, 28], () => 0));
  npy('the wrong shape', arr([1, 3, 28, 28], () => 0));
  npy('a bad magic number', new TextEncoder().encode('NUMPY not really'));
  for (let i = 0; i < 4; i++) npy(`cut #${i}`, truncate(r, arr([1, 1, 28, 28], () => 0.25)));
  const huge = arr([1, 1, 28, 28], () => 0);
  npy('a header claiming 10^12 values', new TextEncoder().encode(new TextDecoder().decode(huge.subarray(0, 128)).replace("(1, 1, 28, 28)", "(1000000, 1, 1000, 1000)")));

  // ---- arguments: every numeric option of every method, out of its bounds or not a number --------------------------
  for (const e of explainers) {
    const base = ['explain', '--method', e.name, '--model', 'm.onnx', ...(e.inputs === 'none' ? [] : ['--image', 'digit.png']), '--out', 'out/x'];
    const need: string[] = e.options.filter((s) => s.required).flatMap((s) => [`--${flagName(s.name)}`, s.type === 'file' ? 'pm.loupe' : s.type === 'layer' || s.type === 'layers' ? 'relu2' : '1']);
    const files = { 'm.onnx': b.lenet, 'digit.png': b.digit, ...(need.includes('pm.loupe') ? { 'pm.loupe': patchModel(r) } : {}) };
    for (const s of e.options as readonly OptionSpec[]) {
      if (s.type !== 'int' && s.type !== 'number') continue;
      if (s.required) continue;
      const flag = `--${flagName(s.name)}`;
      const bad = [typeof s.min === 'number' ? String(s.min - (s.type === 'int' ? 1 : 0.5)) : '-1e999', ...(typeof s.max === 'number' ? [String(s.max + 1)] : []), r.pick(['abc', 'NaN', '1e999', '', '0x1g'])];
      for (const v of bad) add(`${e.name} ${flag} ${v}`, [...base, ...need, flag, v], files, typeof s.min !== 'number' && v.startsWith('-1e') ? 'either' : 'error', [flag]);
    }
    add(`${e.name}: an unknown flag`, [...base, ...need, '--frobnicate', '3'], files, 'error', ['--frobnicate']);
    if (e.options.some((s) => s.name === 'layer')) add(`${e.name}: an unknown layer`, [...base, ...need.filter((_, i, a) => !(a[i] === '--layer' || a[i - 1] === '--layer')), '--layer', 'conv99'], files, 'error', ['conv99']);
    if (e.options.some((s) => s.name === 'class' && s.type === 'classes')) add(`${e.name}: class 10 of 10`, [...base, ...need, '--class', '10'], files, 'error', ['10', '--class']);
  }
  add('predict --top 0', ['predict', '--model', 'm.onnx', '--image', 'digit.png', '--top', '0'], { 'm.onnx': b.lenet, 'digit.png': b.digit }, 'error', ['--top']);
  add('bench --batches -1', ['bench', '--batches', '-1'], {}, 'error', ['--batches']);
  add('an unknown command', ['frobnicate'], {}, 'error', ['frobnicate']);

  // ---- where outputs go ---------------------------------------------------------------------------------------------
  const sal = (out: string) => ['explain', '--method', 'saliency', '--model', 'm.onnx', '--image', 'digit.png', '--out', out];
  const f = { 'm.onnx': b.lenet, 'digit.png': b.digit };
  add('--out empty', sal(''), f, 'error', ['--out']);
  add('--out a folder path', sal('outdir/'), f, 'error', ['--out', 'outdir']);
  add('--out under a regular file', sal('digit.png/x'), f, 'error', ['digit.png', '--out']);
  add('--out in a folder that is a file', sal('m.onnx/sub/x'), f, 'error', ['m.onnx', '--out']);
  return cases;
}
