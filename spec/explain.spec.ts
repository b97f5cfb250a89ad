// Explainers on a real network: Grad-CAM finds the dog and the cat where they are, every method
// runs through `loupe explain` and writes its three files, and bad requests fail cleanly.
import { expect } from 'chai';
import { readFileSync, existsSync, mkdtempSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getEngine } from './helpers.ts';
import { Model } from '../engine/runner.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { decodeImage } from '../loaders/image.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { readNpy } from '../loaders/npy.ts';
import { gradCam } from '../explainers/gradients.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '..', 'shared', 'data');
const SQZ = join(DATA, 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx');
const BOTH = join(DATA, 'images/pytorch-grad-cam/both.png');
const FIRE9 = '/Concat_7_output_0';

describe('Grad-CAM on SqueezeNet finds the dog and the cat (both.png)', function () {
  let model: Model;
  let x: Float32Array;
  before(async () => {
    model = new Model(await getEngine(), loadOnnx(new Uint8Array(readFileSync(SQZ)), 'squeezenet.onnx'));
    x = preprocessImage(decodeImage(new Uint8Array(readFileSync(BOTH)), 'both.png'), { size: [227, 227], mean: [104, 117, 123], bgr: true, channels: 3 });
  });
  after(() => model.destroy());

  // The dog fills the upper half of the picture, the cat the lower.
  const peakRow = (m: Float32Array) => Math.floor(m.indexOf(m.reduce((a, b) => Math.max(a, b), -Infinity)) / 227);
  const halfMass = (m: Float32Array) => {
    let top = 0, bottom = 0;
    m.forEach((v, i) => (i < 227 * 113 ? (top += v) : (bottom += v)));
    return { top, bottom };
  };
  it('"bull mastiff" (243) peaks in the upper half', async () => {
    const r = await gradCam(model, x, 1, [FIRE9], { classes: [243] });
    expect(peakRow(r.maps)).to.be.below(113);
    const { top, bottom } = halfMass(r.maps);
    expect(top).to.be.above(bottom);
  });
  it('"tabby cat" (281) peaks in the lower half', async () => {
    const r = await gradCam(model, x, 1, [FIRE9], { classes: [281] });
    expect(peakRow(r.maps)).to.be.at.least(113);
    const { top, bottom } = halfMass(r.maps);
    expect(bottom).to.be.above(top);
  });
});

describe('loupe explain', function () {
  const tmp = mkdtempSync(join(tmpdir(), 'loupe-explain-'));
  const loupe = (...args: string[]) => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/loupe.js'), 'explain', ...args], { encoding: 'utf8', timeout: 600_000, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
    return { code: r.status, out: r.stdout, err: r.stderr.split('\n').filter((l) => l && !l.startsWith('Warning: max')).join('\n') };
  };
  const common = ['--model', SQZ, '--image', BOTH, '--bgr', '--mean', '104,117,123', '--labels', join(DATA, 'labels/synset_words.txt')];
  const cases: [string, string[]][] = [
    ['saliency', []],
    ['guided-backprop', ['--class', 'tabby']],
    ['deconvnet', ['--layer', FIRE9, '--top']],
    ['gradcam', ['--layer', `${FIRE9},/Concat_6_output_0`, '--class', '243']],
    ['guided-gradcam', ['--layer', FIRE9]],
    ['occlusion', ['--patch', '76', '--stride', '50']],
  ];
  for (const [method, extra] of cases) {
    it(`${method} writes PREFIX.png, PREFIX.npy (H×W) and PREFIX.json`, () => {
      const prefix = join(tmp, method);
      const r = loupe('--method', method, ...common, ...extra, '--out', prefix);
      expect(r.code, r.err).to.equal(0);
      for (const ext of ['png', 'npy', 'json']) expect(existsSync(`${prefix}.${ext}`), ext).to.equal(true);
      const npy = readNpy(new Uint8Array(readFileSync(`${prefix}.npy`)), `${method}.npy`);
      expect(npy.shape).to.deep.equal([227, 227]);
      expect(npy.data.some((v) => v !== 0)).to.equal(true);
      const meta = JSON.parse(readFileSync(`${prefix}.json`, 'utf8'));
      expect(meta.method).to.equal(method);
      expect(meta.model).to.equal('squeezenet_v1.0_decoded.onnx');
    });
  }
  it('a batch of images gives N×H×W', () => {
    const prefix = join(tmp, 'batch');
    const r = loupe('--method', 'saliency', ...common, '--image', join(DATA, 'images/preddiff/n01855672_8202.jpg'), '--out', prefix);
    expect(r.code, r.err).to.equal(0);
    expect(readNpy(new Uint8Array(readFileSync(`${prefix}.npy`)), 'batch.npy').shape).to.deep.equal([2, 227, 227]);
  });
  const bad: [string, string[], RegExp][] = [
    ['an unknown layer', ['--method', 'gradcam', '--layer', 'fire99'], /no layer named "fire99"; layers are: .*\/conv1\/Conv/],
    ['a class out of range', ['--method', 'saliency', '--class', '1000'], /class 1000 is out of range: the model has 1000 classes/],
    ['a layer Grad-CAM cannot use', ['--method', 'gradcam', '--layer', 'logits'], /Grad-CAM needs a convolutional feature map/],
    ['a unit out of range', ['--method', 'deconvnet', '--layer', FIRE9, '--unit', '600'], /unit 600 is out of range: layer .* has 512 feature maps/],
    ['an unknown method', ['--method', 'astrology'], /unknown method "astrology"; methods are saliency/],
  ];
  for (const [what, args, msg] of bad) {
    it(`${what}: one clear line, exit 1, no output files`, () => {
      const prefix = join(tmp, `bad-${what.replace(/\W+/g, '-')}`);
      const r = loupe(...common, ...args, '--out', prefix);
      expect(r.code, r.err).to.equal(1);
      expect(r.err.split('\n')).to.have.length(1);
      expect(r.err).to.match(msg);
      for (const ext of ['png', 'npy', 'json']) expect(existsSync(`${prefix}.${ext}`)).to.equal(false);
    });
  }
});
