// Nothing silently wrong (issue 13): non-finite inputs, weights and results are errors naming where
// they first appear (the input and position, the layer and parameter, the first layer to overflow);
// Grad-CAM at a layer that is not a feature map is refused, and a map that comes out all zero or
// constant carries a warning; a plan larger than the device's storage binding is refused before any
// dispatch, naming the layer; a lost device ends a run with a clear error, never a hang. Through
// the library (Model, classify, the registry) and the CLI (exit 1, one line on stderr).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectOneLine, getEngine, rejection, runLoupe } from './helpers.ts';
import { createNodeEngine } from '../cli/gpu-node.ts';
import type { Engine } from '../engine/gpu.ts';
import type { Graph, Node } from '../engine/ir.ts';
import { Model } from '../engine/runner.ts';
import { classify } from '../engine/classify.ts';
import { DeviceLimitError, GpuError, NonFiniteError, ArgumentError } from '../engine/errors.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { writeOnnx } from '../loaders/onnx-writer.ts';
import { writeNpy } from '../loaders/npy.ts';
import { decodeImage } from '../loaders/image.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { explainer } from '../explainers/registry.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '..', 'shared', 'data');
const LENET = join(ROOT, 'weights/lenet-relu-mnist.onnx');
const MNIST8 = join(DATA, 'onnx/mnist-8/mnist-8.onnx');
const DIGIT = join(ROOT, 'weights/mnist-test-0.png');
const tmp = mkdtempSync(join(tmpdir(), 'loupe-finite-'));
const env = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };

const lenet = () => loadOnnx(new Uint8Array(readFileSync(LENET)), 'lenet-relu-mnist.onnx');
const mnist8 = () => loadOnnx(new Uint8Array(readFileSync(MNIST8)), 'mnist-8.onnx');
const digit = () => preprocessImage(decodeImage(new Uint8Array(readFileSync(DIGIT)), 'mnist-test-0.png'), { ...lenet().preprocess, size: [28, 28], channels: 1 });

const loupe = (...args: string[]) => runLoupe(args);


/** `p`, or a rejection after `ms` (a hang fails the test instead of the suite) */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error(`${what}: no answer within ${ms} ms (a hang)`)), ms)))]).finally(() => clearTimeout(t));
}

/** x → conv (3×3, pad 1, `cout` channels) → max-pool over the whole map → flatten → fc 10: its conv output is cout×side×side floats per image. */
function bigConvGraph(cout: number, side: number): Graph {
  const params = new Map([
    ['w', { dims: [cout, 3, 3, 3], data: new Float32Array(cout * 27).fill(0.01) }],
    ['fw', { dims: [10, cout], data: new Float32Array(10 * cout).fill(0.1) }],
  ]);
  const nodes = [
    { name: 'big_conv', op: 'conv', inputs: ['x'], outputs: ['c'], attrs: { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], group: 1, weight: 'w' } },
    { name: 'pool', op: 'maxpool', inputs: ['c'], outputs: ['p'], attrs: { kernel: [side, side], stride: [side, side], pads: [0, 0, 0, 0], ceil: false } },
    { name: 'flat', op: 'flatten', inputs: ['p'], outputs: ['f'], attrs: { axis: 1 } },
    { name: 'fc', op: 'fc', inputs: ['f'], outputs: ['y'], attrs: { weight: 'fw', outFeatures: 10 } },
  ] as Node[];
  return { name: 'big', format: 'onnx', input: { name: 'x', shape: [-1, 3, side, side] }, outputs: ['y'], nodes, params };
}

describe('finite values and device limits', function () {
  let engine: Engine;
  before(async () => {
    engine = await getEngine();
  });

  describe('non-finite inputs: refused before upload, naming the input and the position', () => {
    let model: Model;
    before(() => (model = new Model(engine, lenet())));
    after(() => model.destroy());

    it('NaN and ±Infinity through Model.run and classify', async () => {
      for (const v of [NaN, Infinity, -Infinity]) {
        const x = new Float32Array(2 * 784).fill(0.5);
        x[784 + 3 * 28 + 16] = v; // image 1, row 3, column 16
        const e = await rejection(() => classify(model, x, 2, 3, undefined, ['a.png', 'b.png']));
        expect(e).to.be.instanceOf(NonFiniteError);
        expect(e.message).to.equal(`input "b.png" (image 1 of the batch) holds ${Number.isNaN(v) ? 'NaN' : v > 0 ? '+Infinity' : '-Infinity'} at channel 0, row 3, column 16: inputs must be finite numbers`);
        const r = await rejection(() => model.run(x, 2));
        expect(r.message).to.match(/^input image 1 of the batch holds .* at channel 0, row 3, column 16/);
      }
    });

    it('every method of the registry refuses a NaN input naming the image', async () => {
      const x = digit();
      x[400] = NaN;
      for (const [m, o] of [['saliency', {}], ['gradcam', { layer: 'conv2' }], ['occlusion', { patch: 8 }], ['etalon', {}], ['deconvnet', { layer: 'conv2' }]] as const) {
        const e = await rejection(() => explainer(m).run(model, { data: x, batch: 1, names: ['digit.png'] }, o));
        expect(e, m).to.be.instanceOf(NonFiniteError);
        expect(e.message, m).to.match(/^input "digit\.png" \(image 0 of the batch\) holds NaN at channel 0, row 14, column 8/);
      }
    });
  });

  describe('finite inputs that overflow inside the net: the first layer to go non-finite is named', () => {
    // A ReLU may turn NaN into 0 (WGSL's max), so the logits of these alone can look plausible
    // (class 5 at 11.5 % on mnist-8 before this check).
    for (const [name, load, first] of [['LeNet', lenet, 'conv1'], ['mnist-8', mnist8, 'Convolution28']] as const)
      it(`±3e38 everywhere, ${name}: classify, Model.run and a recording`, async () => {
        const model = new Model(engine, load());
        try {
          for (const v of [3e38, -3e38]) {
            const x = new Float32Array(784).fill(v);
            const e = await rejection(() => classify(model, x, 1, 1, undefined, ['hot.npy']));
            expect(e).to.be.instanceOf(NonFiniteError);
            expect(e.message).to.match(new RegExp(`^layer "${first}" \\(conv\\) is the first to give non-finite values for "hot\\.npy" \\(image 0 of the batch\\): \\d+ of \\d+ outputs are NaN or ±Infinity .*float32 overflow: the input's largest magnitude is 3\\.0e\\+38`));
            const r = await rejection(() => model.record(x, 1, []));
            expect(r.message).to.match(new RegExp(`^layer "${first}" \\(conv\\) is the first`));
          }
        } finally {
          model.destroy();
        }
      });

    it('one 3e38 pixel: the error names the first layer where it overflows (LeNet conv2), not a later one', async () => {
      const model = new Model(engine, lenet());
      try {
        const x = digit();
        x[300] = 3e38;
        const e = await rejection(() => model.run(x, 1));
        expect(e.message).to.match(/^layer "conv2" \(conv\) is the first to give non-finite values for image 0 of the batch/);
      } finally {
        model.destroy();
      }
    });

    it('occlusion and etalons through the registry', async () => {
      const model = new Model(engine, lenet());
      try {
        const x = new Float32Array(784).fill(-3e38);
        for (const [m, o] of [['occlusion', { patch: 8 }], ['etalon', {}], ['saliency', {}]] as const) {
          const e = await rejection(() => explainer(m).run(model, { data: x, batch: 1, names: ['cold.npy'] }, o));
          expect(e, m).to.be.instanceOf(NonFiniteError);
          expect(e.message, m).to.match(/^layer "conv1" \(conv\) is the first to give non-finite values for "cold\.npy"/);
        }
      } finally {
        model.destroy();
      }
    });

    it('large but harmless inputs still run (no false alarm)', async () => {
      const model = new Model(engine, lenet());
      try {
        const x = digit().map((v) => v * 1e6);
        const r = await classify(model, x, 1, 1);
        expect(Number.isFinite(r.top[0]![0]!.prob)).to.equal(true);
      } finally {
        model.destroy();
      }
    });
  });

  describe('non-finite weights: refused when the Model is made, naming the layer and the parameter', () => {
    it('a NaN conv weight (LeNet, mnist-8) and an infinite fc bias', () => {
      const g = lenet();
      g.params.get('conv1.weight')!.data[3] = NaN;
      expect(() => new Model(engine, g)).to.throw(NonFiniteError, 'lenet-relu-mnist: layer "conv1" (conv): parameter "conv1.weight" holds NaN at [0, 0, 0, 3]: a model\'s weights must be finite numbers');
      const m8 = mnist8();
      const conv = m8.nodes.find((n) => n.op === 'conv')! as Extract<Node, { op: 'conv' }>;
      m8.params.get(conv.attrs.weight)!.data[10] = NaN;
      expect(() => new Model(engine, m8)).to.throw(NonFiniteError, /layer "Convolution28" \(conv\): parameter "Parameter5" holds NaN at \[0, 0, 2, 0\]/);
      const g2 = lenet();
      const fc = g2.nodes.find((n) => n.op === 'fc' && n.attrs.bias)! as Extract<Node, { op: 'fc' }>;
      g2.params.get(fc.attrs.bias!)!.data[1] = -Infinity;
      expect(() => new Model(engine, g2)).to.throw(NonFiniteError, new RegExp(`layer "${fc.name}" \\(fc\\): parameter "${fc.attrs.bias!.replace('.', '\\.')}" holds -Infinity at index 1`));
    });

    it('huge finite weights that overflow: every run gets the per-layer check, which names the layer', async () => {
      const g = lenet();
      g.params.get('conv2.weight')!.data.fill(1e37); // conv2 overflows; a ReLU may hide it from the logits
      const model = new Model(engine, g);
      try {
        const e = await rejection(() => model.run(digit(), 1));
        expect(e).to.be.instanceOf(NonFiniteError);
        expect(e.message).to.match(/^layer "conv2" \(conv\) is the first to give non-finite values/);
      } finally {
        model.destroy();
      }
    });
  });

  describe('maps that explain nothing', () => {
    let model: Model;
    before(() => (model = new Model(engine, lenet())));
    after(() => model.destroy());

    it('Grad-CAM at the input layer is refused, naming the layer, before any GPU work', async () => {
      for (const run of [
        () => explainer('gradcam').run(model, { data: digit(), batch: 1 }, { layer: 'input' }),
        () => explainer('guided-gradcam').run(model, { data: digit(), batch: 1 }, { layer: ['conv2', 'input'] }),
      ]) {
        const e = await rejection(run);
        expect(e).to.be.instanceOf(ArgumentError);
        expect(e.message).to.equal('Grad-CAM at layer "input": that is the model\'s input, not a convolutional feature map; pick a conv layer (loupe info lists the layers)');
      }
    });

    it('a map that comes out all zero carries a warning (meta.warnings, and a loupe: warning line in the note)', async () => {
      // class 3's logit does not depend on the input when its row of fc2 is zero
      const g = lenet();
      const fc2 = g.nodes.filter((n) => n.op === 'fc').at(-1)! as Extract<Node, { op: 'fc' }>;
      const w = g.params.get(fc2.attrs.weight)!;
      const inF = w.data.length / 10;
      w.data.fill(0, 3 * inF, 4 * inF);
      const m = new Model(engine, g);
      try {
        const e = await explainer('saliency').run(m, { data: digit(), batch: 1, names: ['digit.png'] }, { class: '3' });
        expect(Array.from(e.maps!.data).every((v) => v === 0)).to.equal(true);
        expect(e.meta.warnings).to.deep.equal(['saliency: the map of "digit.png" (image 0 of the batch) is all zero: it explains nothing (the class score does not depend on the input there)']);
        expect(e.note).to.equal('loupe: warning: saliency: the map of "digit.png" (image 0 of the batch) is all zero: it explains nothing (the class score does not depend on the input there)');
        // an ordinary map has none
        const ok = await explainer('saliency').run(m, { data: digit(), batch: 1 }, { class: '7' });
        expect(ok.meta.warnings).to.equal(undefined);
        expect(ok.note).to.equal(undefined);
      } finally {
        m.destroy();
      }
    });
  });

  describe('device limits: refused before any dispatch, naming the layer', () => {
    it('one image whose conv output is 256 MiB (and one of 16 GiB): DeviceLimitError naming the layer, its size and the limit; no GPU error', async () => {
      const errors: string[] = [];
      const listen = (ev: Event) => errors.push(String((ev as GPUUncapturedErrorEvent).error?.message));
      engine.device.addEventListener('uncapturederror', listen);
      const limit = engine.maxBindingBytes;
      const x = new Float32Array(3 * 2048 * 2048).fill(0.5);
      try {
        for (const [cout, size] of [[16, '256 MiB'], [1024, '16 GiB']] as const) {
          const model = new Model(engine, bigConvGraph(cout, 2048));
          try {
            for (const run of [() => model.run(x, 1), () => classify(model, x, 1, 1), () => model.record(x, 1, ['y']), () => explainer('saliency').run(model, { data: x, batch: 1 })]) {
              const e = await rejection(run);
              expect(e).to.be.instanceOf(DeviceLimitError);
              expect(e).to.be.instanceOf(GpuError);
              if (limit < cout * 2048 * 2048 * 4)
                expect(e.message).to.match(new RegExp(`^layer "big_conv" \\(conv\\): its output \\(${cout}×2048×2048 floats per image\\) needs ${size}, more than one storage buffer binding on this device \\(.* MiB, max(StorageBufferBindingSize|BufferSize)\\): give a smaller input image, or this layer cannot run on this device$`));
            }
          } finally {
            model.destroy();
          }
        }
        await engine.device.queue.onSubmittedWorkDone();
        expect(errors).to.deep.equal([]);
      } finally {
        engine.device.removeEventListener('uncapturederror', listen);
      }
    });

    it('a batch whose images fit one at a time is still split, not refused', async () => {
      // 1×1 conv to 16 channels of 1024×1536: 96 MiB per image, so two do not fit a 128 MiB binding
      const g = bigConvGraph(16, 512);
      const side = [1024, 1536];
      g.input.shape = [-1, 3, side[0]!, side[1]!];
      const conv = g.nodes[0] as Extract<Node, { op: 'conv' }>;
      conv.attrs.kernel = [1, 1];
      conv.attrs.pads = [0, 0, 0, 0];
      g.params.set('w', { dims: [16, 3, 1, 1], data: new Float32Array(48).fill(0.01) });
      const pool = g.nodes[1] as Extract<Node, { op: 'maxpool' }>;
      pool.attrs.kernel = [1024, 1536];
      pool.attrs.stride = [1024, 1536];
      const model = new Model(engine, g);
      try {
        const per = 3 * 1024 * 1536;
        const x = new Float32Array(2 * per);
        x.fill(1, 0, per);
        x.fill(2, per);
        if (engine.maxBindingBytes < 2 * 16 * per * 4) expect(model.maxBatch()).to.equal(1);
        const y = (await model.run(x, 2)).get('y')!.data;
        // max over the map of 16 × 3 × 0.01 × v, times 16 × 0.1
        expect(y[0]).to.be.closeTo(0.03 * 1.6, 1e-5);
        expect(y[10]).to.be.closeTo(0.06 * 1.6, 1e-5);
      } finally {
        model.destroy();
      }
    });
  });

  describe('a lost device', () => {
    it('ends a run in flight, a split run and a method with GpuError "the GPU device was lost: …", never a hang', async function () {
      this.timeout(120_000);
      // its own device: the suite's shared one stays alive
      for (const when of ['in flight', 'between chunks', 'during a method']) {
        const own = await createNodeEngine();
        const model = new Model(own, lenet());
        const x = new Float32Array(784 * 256).fill(0.3);
        let p: Promise<unknown>;
        if (when === 'in flight') {
          p = model.run(x, 256);
          own.device.destroy();
        } else if (when === 'between chunks') {
          model.memoryBudget = 784 * 4 * 64; // a few images per chunk
          p = model.run(x, 256, { onProgress: (d) => void (d > 0 && own.device.destroy()) });
        } else {
          p = explainer('occlusion').run(model, { data: x.subarray(0, 784), batch: 1 }, { patch: 4, stride: 1 }, (d) => void (d > 0 && own.device.destroy()));
        }
        const e = await within(rejection(() => p), 30_000, when);
        expect(e, `${when}: ${e.stack}`).to.be.instanceOf(GpuError);
        expect(e.message, when).to.match(/^the GPU device was lost: /);
        // and every later run fails at once
        const later = await within(rejection(() => model.run(x.subarray(0, 784), 1)), 10_000, `${when}, later`);
        expect(later.message).to.match(/^the GPU device was lost: /);
      }
    });

    it('a wait that would never end (a map the driver never answers) ends when the device is lost', async () => {
      const own = await createNodeEngine();
      const never = new Promise<never>(() => {});
      const p = own.whileAlive(never);
      setTimeout(() => own.device.destroy(), 50);
      const e = await within(rejection(() => p), 10_000, 'whileAlive');
      expect(e).to.be.instanceOf(GpuError);
      expect(e.message).to.match(/^the GPU device was lost: /);
    });
  });

  describe('the CLI: exit 1 and one line on stderr', () => {
    const L = ['--model', LENET];
    it('predict with a NaN input array names the file and the position', () => {
      const x = new Float32Array(784).fill(0.2);
      x[100] = NaN;
      writeFileSync(join(tmp, 'nan.npy'), writeNpy([1, 1, 28, 28], x));
      expectOneLine(loupe('predict', ...L, '--input', join(tmp, 'nan.npy')), /^loupe: input "nan\.npy" \(image 0 of the batch\) holds NaN at channel 0, row 3, column 16: inputs must be finite numbers$/);
    });

    it('predict with ±3e38 names the first layer that overflows', () => {
      writeFileSync(join(tmp, 'hot.npy'), writeNpy([1, 1, 28, 28], new Float32Array(784).fill(3e38)));
      expectOneLine(loupe('predict', ...L, '--input', join(tmp, 'hot.npy')), /^loupe: layer "conv1" \(conv\) is the first to give non-finite values for "hot\.npy"/);
    });

    it('predict with a NaN conv weight names the layer and the parameter', () => {
      const g = lenet();
      g.params.get('conv1.weight')!.data[3] = NaN;
      writeFileSync(join(tmp, 'nan-weight.onnx'), writeOnnx(g));
      expectOneLine(loupe('predict', '--model', join(tmp, 'nan-weight.onnx'), '--image', DIGIT), /^loupe: .*layer "conv1" \(conv\): parameter "conv1\.weight" holds NaN at \[0, 0, 0, 3\]/);
    });

    it('Grad-CAM at the input layer', () => {
      expectOneLine(loupe('explain', '--method', 'gradcam', ...L, '--image', DIGIT, '--layer', 'input', '--out', join(tmp, 'cam')), /Grad-CAM at layer "input": that is the model's input/);
    });

    it('an activation larger than a storage binding: the layer, its size and the limit; no Dawn text on stdout or stderr', () => {
      writeFileSync(join(tmp, 'big.onnx'), writeOnnx(bigConvGraph(16, 2048)));
      writeFileSync(join(tmp, 'big.npy'), writeNpy([1, 3, 2048, 2048], new Float32Array(3 * 2048 * 2048).fill(0.5)));
      const r = loupe('predict', '--model', join(tmp, 'big.onnx'), '--input', join(tmp, 'big.npy'));
      expectOneLine(r, /^loupe: layer "big_conv" \(conv\): its output \(16×2048×2048 floats per image\) needs 256 MiB, more than one storage buffer binding on this device \(\d+(\.\d+)? [MG]iB, max\w+\): give a smaller input image, or this layer cannot run on this device$/);
    });

    it('a map that is all zero: exit 1 and that one line, nothing written; in a batch with a real map: exit 0 and a warning line', () => {
      const g = lenet();
      const fc2 = g.nodes.filter((n) => n.op === 'fc').at(-1)! as Extract<Node, { op: 'fc' }>;
      const w = g.params.get(fc2.attrs.weight)!;
      w.data.fill(0, 3 * (w.data.length / 10), 4 * (w.data.length / 10));
      writeFileSync(join(tmp, 'dead3.onnx'), writeOnnx(g));
      const alone = loupe('explain', '--method', 'saliency', '--model', join(tmp, 'dead3.onnx'), '--image', DIGIT, '--class', '3', '--out', join(tmp, 'sal3alone'));
      expect(alone.code, alone.err).to.equal(1);
      expect(alone.lines.filter((l) => !/^saliency \[#+\]/.test(l))).to.deep.equal(['loupe: saliency: the map of "mnist-test-0.png" (image 0 of the batch) is all zero: it explains nothing (the class score does not depend on the input there); nothing written']);
      expect(existsSync(join(tmp, 'sal3alone.npy'))).to.equal(false);
      const r = loupe('explain', '--method', 'saliency', '--model', join(tmp, 'dead3.onnx'), '--image', DIGIT, '--image', DIGIT, '--class', '3,7', '--out', join(tmp, 'sal3'));
      expect(r.code, r.err).to.equal(0);
      expect(r.lines.filter((l) => !/^saliency \[#+\]/.test(l))).to.deep.equal(['loupe: warning: saliency: the map of "mnist-test-0.png" (image 0 of the batch) is all zero: it explains nothing (the class score does not depend on the input there)']);
      expect(JSON.parse(readFileSync(join(tmp, 'sal3.json'), 'utf8')).warnings).to.have.length(1);
    });
  });
});
