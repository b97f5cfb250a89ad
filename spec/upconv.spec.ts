// UpconvNet inversion (survey §5.2.2) and DGN-AM (§3.2.3): the transposed conv's input and
// parameter gradients against float64 central finite differences of the reference interpreter
// (spec/reference.ts), the decoder losses' gradients, the ONNX writer's ConvTranspose and
// LeakyRelu against onnxruntime-node, and the shipped decoders (weights/upconv-lenet-*.onnx):
// onnxruntime-node agreement, held-out reconstruction error below optimisation-based inversion's.
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getEngine, runLoupe, expectOneLine, featureLoss } from './helpers.ts';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pixelLoss, runGraphReference } from './reference.ts';
import { finiteDiff } from './reverse-reference.ts';
import { Trainer, mulberry32 } from '../engine/train.ts';
import { Model } from '../engine/runner.ts';
import { Reverser } from '../engine/reverse.ts';
import { decoderGraph, readDecoder, relativeError } from '../engine/upconv.ts';
import { lenetReluGraph } from '../engine/train.ts';
import { explainer } from '../explainers/registry.ts';
import { readMnist } from '../cli/train.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { writeOnnx } from '../loaders/onnx-writer.ts';
import { ortSession, ortRun } from '../cli/ort.ts';
import type { Graph, Param } from '../engine/ir.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '..', 'shared', 'data');
const MNIST = join(DATA, 'mnist');
const LENET = join(ROOT, 'weights', 'lenet-relu-mnist.onnx');
const MNIST8 = join(DATA, 'onnx', 'mnist-8', 'mnist-8.onnx');
const decoderFile = (layer: string) => join(ROOT, 'weights', `upconv-lenet-${layer}.onnx`);
const file = (path: string) => ({ name: path.split('/').at(-1)!, bytes: new Uint8Array(readFileSync(path)) });

/** A small chain of transposed convs: stride 2 (col2im route of the input gradient), stride 1 with padding (flip route), a group. */
function smallGraph(seed: number): Graph {
  const rand = mulberry32(seed);
  const params = new Map<string, Param>();
  const p = (name: string, dims: number[], s = 0.5) => params.set(name, { dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => s * (2 * rand() - 1)) });
  p('t1.weight', [3, 4, 3, 3]);
  p('t1.bias', [4], 0.1);
  p('t2.weight', [4, 2, 3, 3]); // group 2: [Cin, Cout/group, k, k]
  p('t2.bias', [4], 0.1);
  p('t3.weight', [4, 2, 4, 4]);
  p('t3.bias', [2], 0.1);
  const ct = (name: string, input: string, k: number, s: number, pd: number, group = 1) => ({
    name, op: 'convtranspose' as const, inputs: [input], outputs: [name],
    attrs: { kernel: [k, k] as [number, number], stride: [s, s] as [number, number], pads: [pd, pd, pd, pd] as [number, number, number, number], dilation: [1, 1] as [number, number], group, weight: `${name}.weight`, bias: `${name}.bias`, outputPadding: [0, 0] as [number, number] },
  });
  return {
    name: 'small-upconv', format: 'onnx', input: { name: 'features', shape: [-1, 3, 3, 3] }, outputs: ['t3'], params,
    nodes: [
      ct('t1', 'features', 3, 2, 1), // 3×3 → 5×5
      { name: 'a1', op: 'leakyrelu', inputs: ['t1'], outputs: ['a1'], attrs: { alpha: 0.2 } },
      ct('t2', 'a1', 3, 1, 1, 2), // 5×5 → 5×5
      { name: 'a2', op: 'leakyrelu', inputs: ['t2'], outputs: ['a2'], attrs: { alpha: 0.2 } },
      ct('t3', 'a2', 4, 2, 1), // 5×5 → 10×10
    ],
  };
}

describe('UpconvNet decoders', function () {
  describe('the transposed convolution in training', function () {
    const batch = 2;
    const rand = mulberry32(5);
    const g = smallGraph(3);
    const x = Float32Array.from({ length: batch * 27 }, () => 2 * rand() - 1);
    const target = Float32Array.from({ length: batch * 2 * 100 }, () => rand());
    const refLoss = () => {
      const y = runGraphReference(g, x, batch).get('t3')!.data;
      let s = 0;
      for (let i = 0; i < y.length; i++) s += (y[i]! - target[i]!) ** 2;
      return s / y.length;
    };

    it('weight and bias gradients (pixel loss) equal float64 central finite differences (rel ≤ 1e-3)', async () => {
      const engine = await getEngine();
      const tr = new Trainer(engine, g, { batch });
      const { grads, loss } = await tr.gradients(x, (out, grad) => pixelLoss(out, target, batch, grad));
      expect(Math.abs(loss - refLoss())).to.be.below(1e-5);
      for (const [name, grad] of grads) {
        const p = g.params.get(name)!;
        const orig = p.data;
        const d64 = Float64Array.from(orig);
        const byMag = [...grad.keys()].sort((a, b) => Math.abs(grad[b]!) - Math.abs(grad[a]!));
        const picks = [...byMag.slice(0, 3), ...[0, 1, 2].map(() => Math.floor(rand() * grad.length))];
        const scale = Math.abs(grad[byMag[0]!]!);
        const fds = finiteDiff((u) => {
          p.data = u as unknown as Float32Array;
          return [refLoss()];
        }, d64, [1], 1e-5, picks);
        for (const i of picks) {
          const fd = fds[i]!;
          const rel = Math.abs(fd - grad[i]!) / Math.max(Math.abs(fd), 1e-3 * scale);
          expect(rel, `${name}[${i}]: GPU ${grad[i]}, finite difference ${fd}`).to.be.at.most(1e-3);
        }
        p.data = orig;
      }
      tr.destroy();
    });

    it('the input gradient (through all three transposed convs) equals float64 central finite differences', async () => {
      const engine = await getEngine();
      const model = new Model(engine, g);
      const seed = Float32Array.from({ length: batch * 200 }, () => 2 * rand() - 1);
      const rec = await model.record(x, batch, ['t3']);
      const dx = (await new Reverser(model).run(rec, 't3', seed, ['features'], 'gradient')).get('features')!.data;
      rec.dispose();
      // Σ t3 · seed, differentiated with respect to the features
      const fds = finiteDiff((xx) => runGraphReference(g, xx, batch).get('t3')!.data, Float64Array.from(x), seed, 1e-5);
      const scale = Math.max(...dx.map(Math.abs));
      for (let i = 0; i < x.length; i++) {
        const fd = fds[i]!;
        expect(Math.abs(fd - dx[i]!) / Math.max(Math.abs(fd), 1e-3 * scale), `features[${i}]: GPU ${dx[i]}, finite difference ${fd}`).to.be.at.most(1e-3);
      }
      model.destroy();
    });

    it("the feature-space loss's gradient (a reverse walk of the classifier) equals float64 central finite differences", async () => {
      const engine = await getEngine();
      const g = lenetReluGraph(7);
      const r2 = mulberry32(9);
      for (const [k, p] of g.params) if (k.endsWith('bias')) p.data = p.data.map(() => 0.1 * (r2() - 0.5));
      const classifier = new Model(engine, g);
      const n = 2, lambda = 0.7;
      const img = Float32Array.from({ length: n * 784 }, () => r2());
      const h = Float32Array.from({ length: n * 500 }, () => 2 * r2() - 1);
      const grad = new Float32Array(n * 784);
      const loss = await featureLoss(classifier, 'fc1', img, h, n, lambda, grad);
      const ref = (xx: Float64Array) => {
        const phi = runGraphReference(g, xx, n, ['fc1']).get('fc1')!.data;
        let l = 0;
        for (let b = 0; b < n; b++) {
          let n2 = 0, d2 = 0;
          for (let i = b * 500; i < (b + 1) * 500; i++) {
            n2 += h[i]! * h[i]!;
            d2 += (phi[i]! - h[i]!) ** 2;
          }
          l += (lambda * d2) / n2 / n;
        }
        return l;
      };
      const x64 = Float64Array.from(img);
      expect(Math.abs(loss - ref(x64)) / ref(x64)).to.be.below(1e-5);
      const byMag = [...grad.keys()].sort((a, b) => Math.abs(grad[b]!) - Math.abs(grad[a]!));
      const scale = Math.abs(grad[byMag[0]!]!);
      const picks = [...byMag.slice(0, 4), ...[0, 1, 2, 3].map(() => Math.floor(r2() * grad.length))];
      const fds = finiteDiff((u) => [ref(u)], x64, [1], 1e-5, picks);
      for (const i of picks) {
        const fd = fds[i]!;
        expect(Math.abs(fd - grad[i]!) / Math.max(Math.abs(fd), 1e-3 * scale), `pixel ${i}: GPU ${grad[i]}, finite difference ${fd}`).to.be.at.most(1e-3);
      }
      classifier.destroy();
    });

    it('the ONNX writer writes ConvTranspose and LeakyRelu: loadOnnx and onnxruntime-node give the same output', async () => {
      const engine = await getEngine();
      for (const gr of [g, decoderGraph('fc1', [500], 2), decoderGraph('pool2', [50, 4, 4], 2), decoderGraph('conv1', [20, 24, 24], 2)]) {
        const bytes = writeOnnx(gr, { metadata: { 'loupe.test': 'yes' } });
        const back = loadOnnx(bytes, 'roundtrip.onnx');
        const inShape = gr.input.shape.slice(1);
        const per = inShape.reduce((a, b) => a * b, 1);
        const xx = Float32Array.from({ length: 3 * per }, () => rand());
        const out = gr.outputs[0]!;
        const a = (await new Model(engine, gr).run(xx, 3)).get(out)!.data;
        const b = (await new Model(engine, back).run(xx, 3)).get(out)!.data;
        const c = (await ortRun(await ortSession(bytes), xx, [3, ...inShape], [out]))[out]!;
        const m = Math.max(...a.map(Math.abs));
        for (let i = 0; i < a.length; i++) {
          expect(Math.abs(a[i]! - b[i]!), `${gr.name} loadOnnx`).to.be.at.most(1e-6 * m);
          expect(Math.abs(a[i]! - c[i]!), `${gr.name} onnxruntime-node`).to.be.at.most(1e-4 * m);
        }
      }
    });
  });

  describe('the shipped decoders (weights/upconv-lenet-*.onnx)', function () {
    before(function () {
      if (!existsSync(MNIST) || !existsSync(decoderFile('fc1'))) this.skip();
    });

    it('give the same reconstructions as onnxruntime-node, and carry their layer, code range and held-out error', async () => {
      const engine = await getEngine();
      const test = readMnist(MNIST, 't10k');
      const lenet = new Model(engine, loadOnnx(new Uint8Array(readFileSync(LENET)), 'lenet'));
      const n = 20;
      const x = Float32Array.from(test.images.subarray(0, n * 784), (v) => v / 255);
      for (const layer of ['fc1', 'pool2', 'conv1']) {
        if (!existsSync(decoderFile(layer))) continue;
        const { name, bytes } = file(decoderFile(layer));
        const { graph, meta } = readDecoder(bytes, name);
        expect(meta.layer).to.equal(layer);
        expect(meta.min!.length).to.equal(meta.shape.reduce((a, b) => a * b, 1));
        expect(meta.min!.every((v, i) => v <= meta.max![i]!)).to.equal(true);
        expect(meta.trained!.heldoutError).to.be.a('number');
        const h = (await lenet.run(x, n, { outputs: [layer] })).get(layer)!.data;
        const ours = (await new Model(engine, graph).run(h, n)).get('image')!.data;
        const ref = (await ortRun(await ortSession(bytes), h, [n, ...graph.input.shape.slice(1)], ['image'])).image!;
        const m = Math.max(...ref.map(Math.abs));
        let worst = 0;
        for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - ref[i]!));
        console.log(`      ${name}: max |Loupe − onnxruntime| ${worst.toExponential(2)} (max |pixel| ${m.toFixed(2)}); trained ${JSON.stringify(meta.trained)}`);
        expect(worst).to.be.at.most(1e-4 * m);
      }
    });

    it("fc1: the decoder's held-out reconstruction error is below the optimisation-based inversion's (5 test digits, loupe invert's defaults)", async () => {
      const engine = await getEngine();
      const test = readMnist(MNIST, 't10k');
      const lenet = new Model(engine, loadOnnx(new Uint8Array(readFileSync(LENET)), 'lenet'));
      const dec = file(decoderFile('fc1'));
      const inv = explainer('invert');
      const rows: string[] = [];
      let sumDec = 0, sumOpt = 0;
      const N = 5;
      for (let i = 0; i < N; i++) {
        const x = Float32Array.from(test.images.subarray(i * 784, (i + 1) * 784), (v) => v / 255);
        let t0 = performance.now();
        const d = await inv.run(lenet, { data: x, batch: 1 }, { decoder: dec });
        const td = performance.now() - t0;
        t0 = performance.now();
        const o = await inv.run(lenet, { data: x, batch: 1 }, { layer: 'fc1' });
        const to = performance.now() - t0;
        const ed = relativeError(d.maps!.data.map((v) => Math.min(1, Math.max(0, v))), x);
        const eo = relativeError(o.maps!.data.map((v) => Math.min(1, Math.max(0, v))), x);
        sumDec += ed;
        sumOpt += eo;
        rows.push(`digit ${i}: decoder ${ed.toFixed(3)} (${td.toFixed(0)} ms), optimisation ${eo.toFixed(3)} (${to.toFixed(0)} ms)`);
      }
      console.log(rows.map((r) => `      ${r}`).join('\n'));
      console.log(`      mean relative pixel error: decoder ${(sumDec / N).toFixed(3)}, optimisation ${(sumOpt / N).toFixed(3)}`);
      expect(sumDec).to.be.below(sumOpt);
    });

    it('DGN-AM: the ten digits made through the fc1 decoder are classified as their class by a different network (mnist-8) at least 8 times out of 10; pixel-space MaxOut reported beside', async function () {
      if (!existsSync(MNIST8)) this.skip();
      const engine = await getEngine();
      const lenet = new Model(engine, loadOnnx(new Uint8Array(readFileSync(LENET)), 'lenet'));
      const mnist8 = new Model(engine, loadOnnx(new Uint8Array(readFileSync(MNIST8)), 'mnist-8.onnx'));
      const classes = '0-9';
      const dgn = await explainer('maxout').run(lenet, { batch: 1, data: new Float32Array(784) }, { class: classes, generator: file(decoderFile('fc1')), iterations: 100 });
      const pix = await explainer('maxout').run(lenet, { batch: 1, data: new Float32Array(784) }, { class: classes, param: 'pixel', iterations: 100 });
      const judge = async (images: Float32Array) => {
        const out = (await mnist8.run(images.map((v) => 255 * Math.min(1, Math.max(0, v))), 10)).get(mnist8.graph.outputs[0]!)!.data;
        return Array.from({ length: 10 }, (_, i) => {
          const row = Array.from(out.subarray(i * 10, i * 10 + 10));
          return row.indexOf(Math.max(...row));
        });
      };
      const a = await judge(dgn.maps!.data);
      const b = await judge(pix.maps!.data);
      const hits = (p: number[]) => p.filter((c, i) => c === i).length;
      console.log(`      mnist-8 on DGN-AM's digits 0-9: [${a.join(', ')}] (${hits(a)}/10); on pixel-space MaxOut's: [${b.join(', ')}] (${hits(b)}/10)`);
      expect(hits(a)).to.be.at.least(8);
    });
  });

  describe('the commands (loupe train-decoder, invert --decoder, maxout --generator)', function () {
    before(function () {
      if (!existsSync(MNIST) || !existsSync(decoderFile('fc1'))) this.skip();
    });

    it('invert --decoder and maxout --generator write their figures; bad input gets one line naming the flag or file, nothing written', () => {
      const dir = mkdtempSync(join(tmpdir(), 'loupe-upconv-'));
      const img = join(ROOT, 'weights', 'mnist-test-0.png');
      const dec = decoderFile('fc1');
      let r = runLoupe(['invert', '--model', LENET, '--image', img, '--decoder', dec, '--out', join(dir, 'inv')]);
      expect(r.code, r.err).to.equal(0);
      const meta = JSON.parse(readFileSync(join(dir, 'inv.json'), 'utf8'));
      expect(meta.layer).to.equal('fc1');
      expect(meta.decoder).to.equal('upconv-lenet-fc1.onnx');
      expect(meta.finalError).to.be.a('number');
      r = runLoupe(['maxout', '--model', LENET, '--generator', dec, '--class', '3', '--iterations', '5', '--out', join(dir, 'dgn')]);
      expect(r.code, r.err).to.equal(0);
      expect(JSON.parse(readFileSync(join(dir, 'dgn.json'), 'utf8')).generator).to.equal('upconv-lenet-fc1.onnx');
      const before = readdirSync(dir).length;
      expectOneLine(runLoupe(['invert', '--model', LENET, '--image', img, '--decoder', LENET, '--out', join(dir, 'bad1')]), /lenet-relu-mnist\.onnx: not a Loupe decoder/);
      expectOneLine(runLoupe(['invert', '--model', LENET, '--image', img, '--decoder', dec, '--layer', 'conv2', '--out', join(dir, 'bad2')]), /inverts layer fc1, not --layer conv2/);
      expectOneLine(runLoupe(['invert', '--model', LENET, '--image', img, '--out', join(dir, 'bad3')]), /--layer/);
      expectOneLine(runLoupe(['maxout', '--model', LENET, '--generator', dec, '--layer', 'fc1', '--out', join(dir, 'bad4')]), /--generator: give --class/);
      expectOneLine(runLoupe(['maxout', '--model', LENET, '--generator', dec, '--class', '12', '--out', join(dir, 'bad5')]), /class 12/);
      expectOneLine(runLoupe(['train-decoder', '--layer', 'fc2', '--out', join(dir, 'bad6.onnx')]), /--layer/);
      expectOneLine(runLoupe(['train-decoder', '--limit', '10', '--out', join(dir, 'bad7.onnx')]), /--limit/);
      expect(readdirSync(dir).length).to.equal(before);
    });
  });
});
