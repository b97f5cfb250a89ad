// Whole real models against their oracles: onnxruntime-node's logits, published MNIST accuracies,
// and the ONNX light models' stored outputs.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { createNodeEngine } from '../cli/gpu-node.ts';
import type { Engine } from '../engine/gpu.ts';
import { Model } from '../engine/runner.ts';
import { classifierValues } from '../engine/classify.ts';
import { loadOnnx, readTensorProto } from '../loaders/onnx.ts';
import { loadCaffe } from '../loaders/caffe.ts';
import { readIdx } from '../loaders/idx.ts';
import { decodeImage } from '../loaders/image.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { ortSession, ortRun } from '../cli/ort.ts';

export const DATA = join(import.meta.dirname, '..', '..', 'shared', 'data');
const bytes = (p: string) => new Uint8Array(readFileSync(join(DATA, p)));
const SQZ_ONNX = 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx';
const SQZ_CAFFE = 'caffe/squeezenet_v1.0_deepcompression';

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).to.equal(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** A batch of real photos, Caffe-preprocessed for SqueezeNet (BGR, minus mean), padded by flips to `n`. */
function photoBatch(n: number): Float32Array {
  const files = ['images/preddiff/n01855672_8202.jpg', 'images/preddiff/n02488291_1177.jpg', 'images/preddiff/n02917067_1599.jpg', 'images/pytorch-grad-cam/both.png',
    'images/caffe/cat.jpg', 'images/pytorch-cnn-visualizations/snake.png', 'images/transformer-explainability/el1.png', 'images/pytorch-cnn-visualizations/spider.png'];
  const per = 3 * 227 * 227;
  const out = new Float32Array(n * per);
  for (let i = 0; i < n; i++) {
    const img = decodeImage(bytes(files[i % files.length]!), files[i % files.length]!);
    const x = preprocessImage(img, { size: [227, 227], mean: [104, 117, 123], bgr: true, channels: 3 });
    if (i >= files.length) for (let k = 0; k < per; k++) x[k] = -x[k]! * 0.5 + (i % 7); // distinct but realistic
    out.set(x, i * per);
  }
  return out;
}

describe('real models', function () {
  let engine: Engine;
  before(async () => {
    engine = await createNodeEngine();
  });

  describe('SqueezeNet v1.0 equals onnxruntime-node', () => {
    for (const n of [1, 16]) {
      it(`ONNX export, batch ${n}`, async () => {
        const g = loadOnnx(bytes(SQZ_ONNX), 'squeezenet.onnx');
        const x = photoBatch(n);
        const ours = (await new Model(engine, g).run(x, n, { outputs: ['logits'] })).get('logits')!;
        const ref = (await ortRun(await ortSession(bytes(SQZ_ONNX)), x, [n, 3, 227, 227], ['logits'])).logits!;
        const d = maxDiff(ours.data, ref);
        expect(d, `max |Δlogit| = ${d}, max |logit| = ${maxAbs(ref)}`).to.be.at.most(1e-4 * maxAbs(ref));
      });
      it(`Caffe prototxt + caffemodel, batch ${n}`, async () => {
        const g = loadCaffe(readFileSync(join(DATA, SQZ_CAFFE, 'SqueezeNet_deploy.prototxt'), 'utf8'), bytes(`${SQZ_CAFFE}/squeezenet_v1.0_decoded.caffemodel`), {
          prototxtName: 'SqueezeNet_deploy.prototxt',
          caffemodelName: 'squeezenet_v1.0_decoded.caffemodel',
        });
        const x = photoBatch(n);
        const cv = classifierValues(g);
        const ours = (await new Model(engine, g).run(x, n, { outputs: [cv.logits] })).get(cv.logits)!;
        const ref = (await ortRun(await ortSession(bytes(SQZ_ONNX)), x, [n, 3, 227, 227], ['logits'])).logits!;
        const d = maxDiff(ours.data, ref);
        expect(d, `max |Δlogit| = ${d}, max |logit| = ${maxAbs(ref)}`).to.be.at.most(1e-4 * maxAbs(ref));
      });
    }
  });

  describe('MNIST test set accuracy', () => {
    const images = gunzipSync(readFileSync(join(DATA, 'mnist/t10k-images-idx3-ubyte.gz')));
    const labels = gunzipSync(readFileSync(join(DATA, 'mnist/t10k-labels-idx1-ubyte.gz')));
    const img = readIdx(new Uint8Array(images), 't10k-images');
    const lab = readIdx(new Uint8Array(labels), 't10k-labels');
    async function accuracy(model: Model, scale: number): Promise<number> {
      const n = lab.data.length;
      const x = new Float32Array(n * 784);
      for (let i = 0; i < x.length; i++) x[i] = img.data[i]! * scale;
      const cv = classifierValues(model.graph);
      const logits = (await model.run(x, n, { outputs: [cv.logits] })).get(cv.logits)!.data;
      let right = 0;
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let k = 1; k < 10; k++) if (logits[i * 10 + k]! > logits[i * 10 + best]!) best = k;
        if (best === lab.data[i]) right++;
      }
      return right / n;
    }
    it('Caffe LeNet scores 99.14 %', async () => {
      const g = loadCaffe(readFileSync(join(DATA, 'caffe/lenet/lenet.prototxt'), 'utf8'), bytes('caffe/lenet/lenet_iter_10000.caffemodel'), { prototxtName: 'lenet.prototxt', caffemodelName: 'lenet_iter_10000.caffemodel' });
      expect(await accuracy(new Model(engine, g), 1 / 256)).to.equal(0.9914);
    });
    it('mnist-8.onnx scores 98.91 %', async () => {
      const g = loadOnnx(bytes('onnx/mnist-8/mnist-8.onnx'), 'mnist-8.onnx');
      expect(await accuracy(new Model(engine, g), 1)).to.equal(0.9891);
    });
  });

  describe('ONNX light models reproduce their stored outputs', () => {
    for (const name of ['bvlc_alexnet', 'inception_v1', 'resnet50', 'squeezenet', 'vgg19', 'zfnet512']) {
      it(name, async () => {
        const g = loadOnnx(bytes(`onnx/onnx-light-models/light_${name}.onnx`), `light_${name}.onnx`);
        const expected = readTensorProto(bytes(`onnx/onnx-light-models/light_${name}_output_0.pb`), `light_${name}_output_0.pb`);
        const per = g.input.shape.slice(1).reduce((a, b) => a * b, 1);
        const x = new Float32Array(per).map((_, i) => i / per); // np.arange(n).reshape(shape) / n
        const out = (await new Model(engine, g).run(x, 1)).get(g.outputs[0]!)!;
        expect(out.shape.slice(1)).to.deep.equal(expected.dims.slice(1));
        const d = maxDiff(out.data, expected.data);
        expect(d).to.be.at.most(1e-5 + 1e-4 * maxAbs(expected.data));
      });
    }
  });
});
