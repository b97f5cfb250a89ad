// The `loupe` command end to end: outputs, and one clear line with a non-zero exit for bad input.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeNpy } from '../loaders/npy.ts';
import { onnxRoot } from '../loaders/onnx.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '..', 'shared', 'data');
const SQZ = join(DATA, 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx');
const LENET = ['--model', join(DATA, 'caffe/lenet/lenet.prototxt'), '--weights', join(DATA, 'caffe/lenet/lenet_iter_10000.caffemodel')];
const tmp = mkdtempSync(join(tmpdir(), 'loupe-cli-'));

function loupe(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/loupe.js'), ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
  return { code: r.status, out: r.stdout, err: r.stderr.split('\n').filter((l) => l).join('\n') }; // bin/loupe.js drops Dawn's clamped-limit warnings
}
/** Bad input: non-zero exit, one line on stderr that mentions `mention`, no stack trace, nothing on stdout. */
function expectCleanError(r: ReturnType<typeof loupe>, mention: string | RegExp) {
  expect(r.code, r.err).to.equal(1);
  expect(r.err.split('\n'), r.err).to.have.length(1);
  expect(r.err).to.match(typeof mention === 'string' ? new RegExp(mention.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : mention);
  expect(r.err).not.to.match(/\n\s+at /);
}

describe('loupe CLI', function () {
  it('info prints the layer table of a Caffe model', () => {
    const r = loupe('info', ...LENET, '--json');
    expect(r.code, r.err).to.equal(0);
    const j = JSON.parse(r.out);
    expect(j.layers.map((l: { name: string }) => l.name)).to.include.members(['conv1', 'pool1', 'conv2', 'ip1', 'ip2']);
    expect(j.layers.find((l: { name: string }) => l.name === 'conv2').shape).to.deep.equal([1, 50, 8, 8]);
  });

  it('predict --json on a photo gives the goose', () => {
    const r = loupe('predict', '--model', SQZ, '--image', join(DATA, 'images/preddiff/n01855672_8202.jpg'), '--bgr', '--mean', '104,117,123', '--labels', join(DATA, 'labels/synset_words.txt'), '--top', '3', '--json');
    expect(r.code, r.err).to.equal(0);
    const j = JSON.parse(r.out);
    expect(j.logits).to.have.length(1000);
    expect(j.probs).to.have.length(1000);
    expect(j.top).to.have.length(3);
    expect(j.top[0].label).to.match(/goose/);
  });

  it('predict --input with a batch gives one entry per image', () => {
    const x = new Float32Array(3 * 28 * 28).map((_, i) => ((i * 7919) % 256) / 256);
    const f = join(tmp, 'three.npy');
    writeFileSync(f, writeNpy([3, 1, 28, 28], x));
    const r = loupe('predict', ...LENET, '--input', f, '--json');
    expect(r.code, r.err).to.equal(0);
    const j = JSON.parse(r.out);
    expect(j.logits).to.have.length(3);
    expect(j.probs[2]).to.have.length(10);
    expect(j.top).to.have.length(3);
  });

  it('demo: the shipped LeNet-ReLU explains the digit it embeds (prediction, etalons, saliency)', () => {
    const prefix = join(tmp, 'demo');
    const r = loupe('demo', '--out', prefix);
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/100\.00 %\s+7\s+7|9\d\.\d\d %\s+7\s+7/); // the embedded digit is a 7
    for (const f of ['etalons.png', 'etalons.npy', 'etalons.json', 'saliency.png', 'saliency.npy', 'saliency.json']) expect(existsSync(`${prefix}-${f}`), f).to.equal(true);
    const meta = JSON.parse(readFileSync(`${prefix}-etalons.json`, 'utf8'));
    expect(meta.neurons).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  describe('bad input', () => {
    const sqzBytes = readFileSync(SQZ);
    it('a truncated ONNX file', () => {
      const f = join(tmp, 'truncated.onnx');
      writeFileSync(f, sqzBytes.subarray(0, sqzBytes.length >> 1));
      expectCleanError(loupe('info', '--model', f), 'truncated.onnx');
    });
    it('a bit-flipped ONNX file', () => {
      const b = Buffer.from(sqzBytes);
      for (let i = 1000; i < b.length; i += 997) b[i] = b[i]! ^ 0xff;
      const f = join(tmp, 'flipped.onnx');
      writeFileSync(f, b);
      expectCleanError(loupe('info', '--model', f), 'flipped.onnx');
    });
    it('a truncated caffemodel', () => {
      const w = readFileSync(join(DATA, 'caffe/lenet/lenet_iter_10000.caffemodel'));
      const f = join(tmp, 'cut.caffemodel');
      writeFileSync(f, w.subarray(0, 100_000));
      expectCleanError(loupe('info', '--model', LENET[1]!, '--weights', f), 'cut.caffemodel');
    });
    it('weights that do not fit the prototxt', () => {
      const r = loupe('info', '--model', join(DATA, 'caffe/squeezenet_v1.0_deepcompression/SqueezeNet_deploy.prototxt'), '--weights', LENET[3]!);
      expect(r.code).to.equal(1);
      expect(r.err.split('\n')).to.have.length(1);
    });
    it('an image that is not an image', () => {
      const f = join(tmp, 'notes.png');
      writeFileSync(f, 'these are not pixels\n');
      expectCleanError(loupe('predict', '--model', SQZ, '--image', f), 'notes.png');
    });
    it('an input of the wrong size', () => {
      const f = join(tmp, 'wrong.npy');
      writeFileSync(f, writeNpy([1, 3, 100, 100], new Float32Array(30000)));
      expectCleanError(loupe('predict', '--model', SQZ, '--input', f), 'wrong.npy');
    });
    it('an unsupported operator, named with its node', () => {
      const M = onnxRoot().lookupType('onnx.ModelProto');
      const vi = (name: string) => ({ name, type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_value: 1 }, { dim_value: 3 }, { dim_value: 4 }, { dim_value: 4 }] } } } });
      const bytes = M.encode(M.fromObject({ ir_version: 8, opset_import: [{ domain: '', version: 13 }], graph: { name: 'g', node: [{ op_type: 'Hardmax', name: 'strange_node', input: ['x'], output: ['y'] }], input: [vi('x')], output: [vi('y')] } })).finish();
      const f = join(tmp, 'hardmax.onnx');
      writeFileSync(f, bytes);
      expectCleanError(loupe('info', '--model', f), /hardmax\.onnx: unsupported operator Hardmax in node "strange_node"/);
    });
    it('a missing model file', () => {
      expectCleanError(loupe('info', '--model', join(tmp, 'nope.onnx')), 'nope.onnx');
    });
    it('an unknown option', () => {
      expectCleanError(loupe('predict', '--model', SQZ, '--colour', 'red'), '--colour');
    });
  });
});
