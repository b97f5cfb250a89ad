// Issue 13, the loaders' and the command line's part: invalid ONNX graphs (the checker's rules),
// Caffe files that would run on garbage, hostile files (image bombs, a prototxt nested 100,000
// deep, a .npy over 2 GiB, a PNG cut short) and noisy or silent command-line answers. Each case
// gets one line on stderr naming the file, layer or flag, and exit 1; the loaders are also called
// directly. No case needs the GPU: each is refused before it would start.
import { expect } from 'chai';
import { expectOneLine, runLoupe } from './helpers.ts';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { InputFormatError, LoupeError, ModelFormatError } from '../engine/errors.ts';
import { loadOnnx, onnxRoot, ONNX_OPSETS } from '../loaders/onnx.ts';
import { loadCaffe } from '../loaders/caffe.ts';
import { MAX_DEPTH, parsePrototxt } from '../loaders/prototxt.ts';
import { decodeImage, encodePng, maxPixels } from '../loaders/image.ts';
import { DEFAULT_MAX_PIXELS, decodeJpeg } from '../loaders/image-formats.ts';
import { writeNpy } from '../loaders/npy.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '..', 'shared', 'data');
const MNIST = join(DATA, 'onnx/mnist-8/mnist-8.onnx');
const LENET_P = join(DATA, 'caffe/lenet/lenet.prototxt');
const LENET_W = join(DATA, 'caffe/lenet/lenet_iter_10000.caffemodel');
const DIGIT = join(ROOT, 'weights/mnist-test-0.png');
const tmp = mkdtempSync(join(tmpdir(), 'loupe-hostile-'));

const loupe = runLoupe;
function expectThrows(f: () => unknown, type: new (...a: never[]) => LoupeError, mention: RegExp) {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, 'no error thrown').to.be.instanceOf(type);
  expect((err as Error).message).to.match(mention);
  return err as LoupeError;
}
const file = (name: string, bytes: Uint8Array | string) => {
  const f = join(tmp, name);
  writeFileSync(f, bytes);
  return f;
};

// ---- ONNX models built with the embedded schema --------------------------------------------------

const vi = (name: string, dims: number[]) => ({ name, type: { tensor_type: { elem_type: 1, shape: { dim: dims.map((d) => ({ dim_value: d })) } } } });
const weight = { name: 'w', dims: [2, 1, 3, 3], data_type: 1, raw_data: new Uint8Array(new Float32Array(18).fill(0.1).buffer) };
const ints = (name: string, v: number[]) => ({ name, type: 7, ints: v });
const conv = (attrs: unknown[] = [ints('kernel_shape', [3, 3]), ints('strides', [1, 1])], name = 'c1', out = 'y') =>
  ({ op_type: 'Conv', name, input: ['x', 'w'], output: [out], attribute: attrs });
function onnx(o: { nodes: unknown[]; opset?: number; inits?: unknown[]; inputs?: unknown[]; outputs?: string[] }): Uint8Array {
  const M = onnxRoot().lookupType('onnx.ModelProto');
  return M.encode(M.fromObject({
    ir_version: 8,
    opset_import: [{ domain: '', version: o.opset ?? 13 }],
    graph: {
      name: 'hostile', node: o.nodes, initializer: o.inits ?? [weight],
      input: o.inputs ?? [vi('x', [1, 1, 6, 6])], output: (o.outputs ?? ['y']).map((n) => vi(n, [1, 2, 4, 4])),
    },
  })).finish();
}
/** The loader throws ModelFormatError matching `mention`, and `loupe info` says the same in one line naming the file. */
function refused(name: string, bytes: Uint8Array, mention: RegExp) {
  expectThrows(() => loadOnnx(bytes, name), ModelFormatError, new RegExp(`^${name.replace('.', '\\.')}: ${mention.source}`));
  expectOneLine(loupe(['info', '--model', file(name, bytes)]), new RegExp(`${name.replace('.', '\\.')}: ${mention.source}`));
}

describe('hostile inputs (issue 13)', function () {
  before(function () {
    if (!existsSync(MNIST)) this.skip();
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  describe('ONNX: the checker rules in the loader', () => {
    it('a well-formed model still loads (the control case)', () => {
      const g = loadOnnx(onnx({ nodes: [conv()] }), 'ok.onnx');
      expect(g.nodes.map((n) => n.op)).to.deep.equal(['conv']);
    });
    it('strides given as a STRING names the file, node and attribute', () => {
      const strides = { name: 'strides', type: 3, s: new TextEncoder().encode('1,1') };
      refused('strides-string.onnx', onnx({ nodes: [conv([ints('kernel_shape', [3, 3]), strides])] }), /node "c1" \(Conv\): attribute "strides" must be INTS \(a list of integers\), got STRING/);
    });
    it('kernel_shape given as FLOATS', () => {
      const ks = { name: 'kernel_shape', type: 6, floats: [3, 3] };
      refused('kernel-floats.onnx', onnx({ nodes: [conv([ks])] }), /node "c1" \(Conv\): attribute "kernel_shape" must be INTS \(a list of integers\), got FLOATS/);
    });
    it('an attribute its operator does not declare (a typo of strides), and one given twice', () => {
      refused('typo.onnx', onnx({ nodes: [conv([ints('stride', [2, 2])])] }), /node "c1" \(Conv\): unknown attribute "stride" \(Conv takes auto_pad, dilations, group, kernel_shape, pads, strides\)/);
      refused('twice.onnx', onnx({ nodes: [conv([ints('strides', [1, 1]), ints('strides', [2, 2])])] }), /node "c1" \(Conv\): attribute "strides" is given twice/);
    });
    it(`opset 99 is outside the supported range ${ONNX_OPSETS.min}–${ONNX_OPSETS.max}`, () => {
      refused('opset99.onnx', onnx({ nodes: [conv()], opset: 99 }), new RegExp(`ONNX opset 99 is outside the supported range ${ONNX_OPSETS.min}–${ONNX_OPSETS.max}`));
      expect(() => loadOnnx(onnx({ nodes: [conv()], opset: ONNX_OPSETS.max }), 'max.onnx')).not.to.throw();
    });
    it('two nodes producing the same value name both nodes (it used to reach the engine as a weak map key error)', () => {
      const relu = { op_type: 'Relu', name: 'r2', input: ['x'], output: ['y'] };
      refused('dup.onnx', onnx({ nodes: [conv(), relu] }), /value "y" is produced by two nodes, "c1" and "r2"/);
      // and on the path that used to crash
      expectOneLine(loupe(['predict', '--model', join(tmp, 'dup.onnx'), '--input', file('x6.npy', writeNpy([1, 1, 6, 6], new Float32Array(36)))]), /dup\.onnx: value "y" is produced by two nodes/);
    });
    it('an output that shadows an initializer or a graph input', () => {
      refused('shadow-init.onnx', onnx({ nodes: [conv(undefined, 'c1', 'w')], outputs: ['w'] }), /node "c1" produces "w", which is also an initializer/);
      const relu = { op_type: 'Relu', name: 'r', input: ['x'], output: ['x'] };
      refused('shadow-input.onnx', onnx({ nodes: [relu, conv()] }), /node "r" produces "x", which is also a graph input/);
    });
    it('a name that nothing produces, and a cycle', () => {
      const relu = { op_type: 'Relu', name: 'r', input: ['ghost'], output: ['g'] };
      refused('missing.onnx', onnx({ nodes: [conv(), relu], outputs: ['y', 'g'] }), /node "r" reads "ghost", which nothing defines/);
      const a = { op_type: 'Relu', name: 'a', input: ['b_out'], output: ['a_out'] };
      const b = { op_type: 'Relu', name: 'b', input: ['a_out'], output: ['b_out'] };
      refused('cycle.onnx', onnx({ nodes: [conv(), a, b], outputs: ['y', 'a_out'] }), /node "a" reads "b_out", which node "b" produces but can never run: the graph has a cycle/);
    });
  });

  describe('Caffe: no running on garbage', () => {
    it('a prototxt without --weights: predict refuses in one line, info reads the architecture, the loader still builds it', () => {
      expectOneLine(loupe(['predict', '--model', LENET_P, '--image', DIGIT]), /lenet\.prototxt: the Caffe model's weights are missing: give --weights W\.caffemodel/);
      expectOneLine(loupe(['explain', '--method', 'saliency', '--model', LENET_P, '--image', DIGIT, '--out', join(tmp, 'sal')]), /lenet\.prototxt: the Caffe model's weights are missing/);
      const info = loupe(['info', '--model', LENET_P]);
      expect(info.code, info.err).to.equal(0);
      expect(info.out).to.match(/conv1/);
      const g = loadCaffe(readFileSync(LENET_P, 'utf8'), undefined, { prototxtName: 'lenet.prototxt' });
      expect(g.nodes.map((n) => n.name)).to.include('conv1');
    });
    it('a V1 prototxt ending at conv1: predict refuses the 20×24×24 feature map as classes, naming the output and its shape', () => {
      const v1 = file('conv1-v1.prototxt', [
        'name: "LeNetV1" input: "data" input_dim: 1 input_dim: 1 input_dim: 28 input_dim: 28',
        'layers { name: "conv1" type: CONVOLUTION bottom: "data" top: "conv1" convolution_param { num_output: 20 kernel_size: 5 stride: 1 } }',
      ].join('\n'));
      expectOneLine(loupe(['predict', '--model', v1, '--weights', LENET_W, '--image', DIGIT]), /model output "conv1" has shape \[N, 20, 24, 24\], not a score per class \(\[N, K\] or \[N, K, 1, 1\]\)/);
    });
    it(`a prototxt nested 100,000 levels deep is refused beyond ${MAX_DEPTH} levels, naming the file (no stack overflow)`, () => {
      const deep = 'layer {'.repeat(100_000) + '}'.repeat(100_000);
      expectThrows(() => parsePrototxt(deep, 'deep.prototxt'), ModelFormatError, new RegExp(`^deep\\.prototxt:1:\\d+: messages nested more than ${MAX_DEPTH} levels deep`));
      expect(() => parsePrototxt('a {'.repeat(MAX_DEPTH) + '}'.repeat(MAX_DEPTH), 'ok.prototxt')).not.to.throw();
      expectOneLine(loupe(['info', '--model', file('deep.prototxt', deep)]), /deep\.prototxt:1:\d+: messages nested more than 100 levels deep/);
    });
  });

  describe('files', () => {
    it('an input .npy over 2 GiB names the file and the limit (a sparse file: nothing is written to disk)', () => {
      const f = join(tmp, 'huge.npy');
      const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (700000, 1, 28, 28), }".padEnd(128 - 10 - 1) + '\n';
      const head = Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, dict.length & 0xff, dict.length >> 8]), Buffer.from(dict, 'latin1')]);
      const fd = openSync(f, 'w');
      writeSync(fd, head);
      ftruncateSync(fd, 128 + 700_000 * 784 * 4);
      closeSync(fd);
      try {
        expectOneLine(loupe(['predict', '--model', MNIST, '--input', f]), /huge\.npy: the input array is 2\.04 GiB, more than the 2 GiB loupe reads in one file; split the batch into several \.npy files/);
      } finally {
        rmSync(f, { force: true });
      }
    });

    const crcTable = Array.from({ length: 256 }, (_, n) => {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      return c >>> 0;
    });
    const crc32 = (b: Uint8Array) => {
      let c = 0xffffffff;
      for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
      return (c ^ 0xffffffff) >>> 0;
    };
    const chunk = (type: string, data: Uint8Array) => {
      const out = Buffer.alloc(12 + data.length);
      out.writeUInt32BE(data.length, 0);
      out.write(type, 4, 'latin1');
      Buffer.from(data).copy(out, 8);
      out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
      return out;
    };
    /** A complete, valid-looking PNG whose header claims w×h: its one IDAT holds one row's worth. */
    const bombPng = (w: number, h: number) => {
      const ihdr = Buffer.alloc(13);
      ihdr.writeUInt32BE(w, 0);
      ihdr.writeUInt32BE(h, 4);
      ihdr[8] = 8; // bit depth
      ihdr[9] = 0; // greyscale
      return new Uint8Array(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(1))), chunk('IEND', new Uint8Array(0))]));
    };

    it('a tiny PNG claiming 32000×32000 is refused from its header in well under a second', () => {
      const bomb = bombPng(32000, 32000);
      expect(bomb.length).to.be.below(80);
      const t0 = performance.now();
      expectThrows(() => decodeImage(bomb, 'bomb.png'), InputFormatError, /^bomb\.png: the PNG is 32000×32000 = 1,024,000,000 pixels, more than the 67,108,864 loupe decodes \(LOUPE_MAX_PIXELS raises the limit\)$/);
      expect(performance.now() - t0).to.be.below(1000);
      const r = loupe(['predict', '--model', MNIST, '--image', file('bomb.png', bomb)]);
      expectOneLine(r, /bomb\.png: the PNG is 32000×32000 = 1,024,000,000 pixels, more than the 67,108,864 loupe decodes/);
      // the whole process, Node's start included (66 s before): bounded loosely, the machine is shared
      expect(r.ms).to.be.below(10_000);
    });
    it('a JPEG whose frame header claims 30000×30000 is refused before decoding, in the CLI and the shared (browser) decoder', () => {
      const sof = [0xff, 0xc0, 0x00, 0x0b, 0x08, 30000 >> 8, 30000 & 0xff, 30000 >> 8, 30000 & 0xff, 0x01, 0x01, 0x11, 0x00];
      const jpg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, ...sof, 0xff, 0xd9]);
      const t0 = performance.now();
      expectThrows(() => decodeJpeg(jpg, 'bomb.jpg'), InputFormatError, /^bomb\.jpg: the JPEG is 30000×30000 = 900,000,000 pixels, more than the 67,108,864 loupe decodes$/);
      expect(performance.now() - t0).to.be.below(1000);
      expectOneLine(loupe(['predict', '--model', MNIST, '--image', file('bomb.jpg', jpg)]), /bomb\.jpg: the JPEG is 30000×30000/);
    });
    it('LOUPE_MAX_PIXELS sets the limit; a bad value names the variable', () => {
      expect(maxPixels({})).to.equal(DEFAULT_MAX_PIXELS);
      expect(maxPixels({ LOUPE_MAX_PIXELS: '200000000' })).to.equal(200_000_000);
      expectThrows(() => decodeImage(bombPng(100, 100), 'small.png', 5000), InputFormatError, /small\.png: the PNG is 100×100 = 10,000 pixels, more than the 5,000/);
      expectOneLine(loupe(['predict', '--model', MNIST, '--image', DIGIT], { LOUPE_MAX_PIXELS: '500' }), /mnist-test-0\.png: the PNG is 28×28 = 784 pixels, more than the 500 loupe decodes/);
      expectOneLine(loupe(['predict', '--model', MNIST, '--image', DIGIT], { LOUPE_MAX_PIXELS: 'lots' }), /LOUPE_MAX_PIXELS must be a positive whole number of pixels, got "lots"/);
    });
    it('a truncated PNG says the file is cut short, not the decoder\'s stream message', () => {
      const png = encodePng({ width: 8, height: 8, data: new Uint8Array(256).map((_, i) => (i * 37) % 256) });
      for (const n of [20, 40, png.length - 13, png.length - 1])
        expectThrows(() => decodeImage(png.subarray(0, n), 'cut.png'), InputFormatError, /^cut\.png: cannot decode PNG: the file is cut short$/);
      const whole = readFileSync(DIGIT);
      expectOneLine(loupe(['predict', '--model', MNIST, '--image', file('cut.png', whole.subarray(0, whole.length >> 1))]), /cut\.png: cannot decode PNG: the file is cut short$/);
    });
  });

  describe('the command line: one line, no silence', () => {
    it('an unknown command is one line, not the usage', () => {
      const r = loupe(['x']);
      expectOneLine(r, /^loupe: unknown command "x" \(loupe --help lists the commands\)$/);
    });
    it('an empty batch says the input has no images, naming the file', () => {
      const f = file('empty.npy', writeNpy([0, 1, 28, 28], new Float32Array(0)));
      expectOneLine(loupe(['predict', '--model', MNIST, '--input', f]), /empty\.npy: the array holds no images \(shape \[0, 1, 28, 28\]\)/);
    });
    it('bench and predict numbers out of bounds name the flag', () => {
      expectOneLine(loupe(['bench', '--batches', '-1']), /--batches must be integers from 1 to 1024, got "-1"/);
      expectOneLine(loupe(['bench', '--batches', '16,0.5']), /--batches must be integers from 1 to 1024/);
      expectOneLine(loupe(['bench', '--pda-windows', '0']), /--pda-windows must be an integer in \[1, 100000\]/);
      expectOneLine(loupe(['bench', '--pda-stride', '1000']), /--pda-stride must be an integer in \[1, 227\]/);
      expectOneLine(loupe(['predict', '--model', MNIST, '--image', DIGIT, '--top', '0']), /--top must be an integer in \[1, 100000\]/);
    });
  });
});
