// Etalon images: the affine identity <W_X,p, X> + b_X,p = NET_p(X) on real nets, the literal and
// one-pass routes agreeing, and a clear error for nets that are not piecewise linear.
import { expect } from 'chai';
import { readFileSync, existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { getEngine } from './helpers.ts';
import { Model } from '../engine/runner.ts';
import { loadCaffe } from '../loaders/caffe.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { readIdx } from '../loaders/idx.ts';
import { decodeImage } from '../loaders/image.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { etalons, affineValues, parseNeurons } from '../explainers/etalon.ts';
import { UnsupportedOpError } from '../engine/errors.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '..', 'shared', 'data');
const digits = readIdx(new Uint8Array(gunzipSync(readFileSync(join(DATA, 'mnist/t10k-images-idx3-ubyte.gz')))), 't10k');
const digit = (i: number, scale: number) => Float32Array.from(digits.data.subarray(i * 784, (i + 1) * 784), (v) => v * scale);
const ALL = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

function expectIdentity(r: Awaited<ReturnType<typeof etalons>>, x: Float32Array, what: string) {
  const a = affineValues(r, x);
  const scale = Math.max(1, ...Array.from(r.values, Math.abs));
  r.values.forEach((v, q) => expect(Math.abs(a[q]! - v), `${what} neuron ${r.neurons[q]}: <W,X>+b = ${a[q]} vs NET = ${v}`).to.be.at.most(1e-4 * scale));
}

function expectSameEtalons(a: Float32Array, b: Float32Array) {
  let max = 0, diff = 0;
  for (let i = 0; i < a.length; i++) {
    max = Math.max(max, Math.abs(a[i]!));
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  }
  expect(diff, `max |literal − onepass| = ${diff}, max |etalon| = ${max}`).to.be.at.most(1e-4 * max);
}

describe('etalon images', function () {
  describe('Caffe LeNet (../shared/data/caffe/lenet)', () => {
    let model: Model;
    before(async () => {
      const g = loadCaffe(readFileSync(join(DATA, 'caffe/lenet/lenet.prototxt'), 'utf8'), new Uint8Array(readFileSync(join(DATA, 'caffe/lenet/lenet_iter_10000.caffemodel'))), { prototxtName: 'lenet.prototxt' });
      model = new Model(await getEngine(), g);
    });
    after(() => model.destroy());
    it('<W,X> + b = NET(X) for all 10 logits of 100 test digits (one pass)', async () => {
      for (let i = 0; i < 100; i++) {
        const x = digit(i, 1 / 256);
        expectIdentity(await etalons(model, x, 'ip2', ALL, 'onepass'), x, `digit ${i}`);
      }
    });
    it('the literal route (784 coordinate images) gives the same etalons, for every output neuron', async () => {
      for (const i of [0, 1]) {
        const x = digit(i, 1 / 256);
        const lit = await etalons(model, x, 'ip2', ALL, 'literal');
        const one = await etalons(model, x, 'ip2', ALL, 'onepass');
        expectSameEtalons(lit.etalons, one.etalons);
        expectIdentity(lit, x, `digit ${i} literal`);
      }
    });
    it('works for hidden units too (an fc unit, a conv unit at a position)', async () => {
      const x = digit(3, 1 / 256);
      expectIdentity(await etalons(model, x, 'ip1', [0, 17, 499], 'onepass'), x, 'ip1');
      expectIdentity(await etalons(model, x, 'conv2', [5 * 64 + 3 * 8 + 4], 'literal'), x, 'conv2');
    });
    it('a neuron behind a softmax is refused, naming the layer', async () => {
      try {
        await etalons(model, digit(0, 1 / 256), 'prob', [0], 'onepass');
        expect.fail('no error');
      } catch (e) {
        expect(e).to.be.instanceOf(UnsupportedOpError);
        expect((e as Error).message).to.match(/layer "prob" \(softmax\).*not piecewise linear/);
      }
    });
  });

  const SHIPPED = join(ROOT, 'weights/lenet-relu-mnist.onnx');
  (existsSync(SHIPPED) ? describe : describe.skip)('the shipped LeNet-ReLU (weights/lenet-relu-mnist.onnx)', () => {
    let model: Model;
    before(async () => {
      model = new Model(await getEngine(), loadOnnx(new Uint8Array(readFileSync(SHIPPED)), 'lenet-relu-mnist.onnx'));
    });
    after(() => model.destroy());
    it('<W,X> + b = NET(X) for all 10 logits of 100 test digits', async () => {
      for (let i = 0; i < 100; i++) {
        const x = digit(i, 1 / 255);
        expectIdentity(await etalons(model, x, 'logits', ALL, 'onepass'), x, `digit ${i}`);
      }
    });
    it('literal and one-pass routes agree for every output neuron', async () => {
      const x = digit(0, 1 / 255);
      expectSameEtalons((await etalons(model, x, 'logits', ALL, 'literal')).etalons, (await etalons(model, x, 'logits', ALL, 'onepass')).etalons);
    });
  });

  it('SqueezeNet: the identity holds for 20 units of its last layer on a real photo (one pass)', async () => {
    const model = new Model(await getEngine(), loadOnnx(new Uint8Array(readFileSync(join(DATA, 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx'))), 'squeezenet.onnx'));
    const x = preprocessImage(decodeImage(new Uint8Array(readFileSync(join(DATA, 'images/preddiff/n01855672_8202.jpg'))), 'goose.jpg'), { size: [227, 227], mean: [104, 117, 123], bgr: true, channels: 3 });
    const units = [99, 100, 127, 144, 0, 1, 2, 281, 243, 340, 386, 500, 600, 700, 800, 900, 950, 990, 998, 999];
    expectIdentity(await etalons(model, x, 'logits', units, 'onepass'), x, 'squeezenet');
    model.destroy();
  });

  it('parses neuron lists', () => {
    expect(parseNeurons('0-3,7')).to.deep.equal([0, 1, 2, 3, 7]);
    expect(() => parseNeurons('a')).to.throw(/not an index/);
  });
});
