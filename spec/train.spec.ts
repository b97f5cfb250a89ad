// Training: the Trainer's weight gradients against float64 central finite differences of the
// reference interpreter's loss, the shipped weights/lenet-relu-mnist.onnx (MNIST accuracy,
// onnxruntime-node agreement), and a short seeded run (reproducible, loss goes down).
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getEngine } from './helpers.ts';
import { runGraphReference } from './reference.ts';
import { Trainer, lenetReluGraph, mulberry32 } from '../engine/train.ts';
import { Model } from '../engine/runner.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { writeOnnx } from '../loaders/onnx-writer.ts';
import { ortSession, ortRun } from '../cli/ort.ts';
import { readMnist, mnistAccuracy } from '../cli/train.ts';
import type { Graph } from '../engine/ir.ts';

const ROOT = join(import.meta.dirname, '..');
const MNIST = join(ROOT, '..', 'shared', 'data', 'mnist');
const WEIGHTS = join(ROOT, 'weights', 'lenet-relu-mnist.onnx');

/** Mean softmax cross-entropy in float64 of the reference interpreter's logits. */
function refLoss(g: Graph, x: Float32Array, labels: number[]): number {
  const l = runGraphReference(g, x, labels.length).get('logits')!.data;
  let s = 0;
  labels.forEach((y, n) => {
    const row = Array.from(l.subarray(n * 10, n * 10 + 10));
    const m = Math.max(...row);
    s += Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0)) + m - row[y]!;
  });
  return s / labels.length;
}

describe('training', function () {
  it('weight and bias gradients of a step equal float64 central finite differences (rel ≤ 1e-3)', async () => {
    const engine = await getEngine();
    const g = lenetReluGraph(7);
    const rand = mulberry32(11);
    // Non-zero biases and generic inputs: no activation sits exactly on a ReLU kink or max-pool tie.
    for (const [k, p] of g.params) if (k.endsWith('bias')) p.data = p.data.map(() => 0.1 * (rand() - 0.5));
    const batch = 2;
    const x = new Float32Array(batch * 784).map(() => rand());
    const labels = [3, 8];
    const tr = new Trainer(engine, g, { batch });
    const { grads, loss } = await tr.gradients(x, labels);
    expect(Math.abs(loss - refLoss(g, x, labels))).to.be.below(1e-5);
    for (const [name, grad] of grads) {
      const p = g.params.get(name)!;
      const orig = p.data;
      const d64 = Float64Array.from(orig);
      p.data = d64 as unknown as Float32Array; // the reference reads params as float64: perturb in float64
      // The 3 largest-magnitude entries and 3 random ones.
      const byMag = [...grad.keys()].sort((a, b) => Math.abs(grad[b]!) - Math.abs(grad[a]!));
      const picks = [...byMag.slice(0, 3), ...[0, 1, 2].map(() => Math.floor(rand() * grad.length))];
      const scale = Math.abs(grad[byMag[0]!]!);
      for (const i of picks) {
        const h = 1e-5;
        const v = d64[i]!;
        d64[i] = v + h;
        const lp = refLoss(g, x, labels);
        d64[i] = v - h;
        const lm = refLoss(g, x, labels);
        d64[i] = v;
        const fd = (lp - lm) / (2 * h);
        const rel = Math.abs(fd - grad[i]!) / Math.max(Math.abs(fd), 1e-3 * scale);
        expect(rel, `${name}[${i}]: GPU ${grad[i]}, finite difference ${fd}`).to.be.at.most(1e-3);
      }
      p.data = orig;
    }
    tr.destroy();
  });

  it('the ONNX writer round-trips: loadOnnx gives the same logits, and so does onnxruntime-node', async () => {
    const engine = await getEngine();
    const g = lenetReluGraph(5);
    const bytes = writeOnnx(g);
    const back = loadOnnx(bytes, 'roundtrip.onnx');
    const x = new Float32Array(4 * 784).map((_, i) => (i % 97) / 97);
    const a = (await new Model(engine, g).run(x, 4)).get('logits')!.data;
    const b = (await new Model(engine, back).run(x, 4)).get('logits')!.data;
    const c = (await ortRun(await ortSession(bytes), x, [4, 1, 28, 28], ['logits'])).logits!;
    const m = Math.max(...a.map(Math.abs));
    for (let i = 0; i < a.length; i++) {
      expect(Math.abs(a[i]! - b[i]!)).to.be.at.most(1e-6 * m);
      expect(Math.abs(a[i]! - c[i]!)).to.be.at.most(1e-4 * m);
    }
  });

  describe('the shipped weights/lenet-relu-mnist.onnx', function () {
    before(function () {
      if (!existsSync(WEIGHTS) || !existsSync(MNIST)) this.skip();
    });
    it('scores ≥ 99.0 % on the 10,000 MNIST test digits (Loupe), and onnxruntime-node gives the same logits', async () => {
      const engine = await getEngine();
      const bytes = new Uint8Array(readFileSync(WEIGHTS));
      const g = loadOnnx(bytes, 'lenet-relu-mnist.onnx');
      const model = new Model(engine, g);
      const test = readMnist(MNIST, 't10k');
      const acc = await mnistAccuracy(model, test);
      console.log(`      MNIST test accuracy ${(100 * acc).toFixed(2)} %`);
      expect(acc).to.be.at.least(0.99);
      const n = 100;
      const x = new Float32Array(n * 784);
      for (let i = 0; i < x.length; i++) x[i] = test.images[i]! / 255;
      const ours = (await model.run(x, n, { outputs: ['logits'] })).get('logits')!.data;
      const ref = (await ortRun(await ortSession(bytes), x, [n, 1, 28, 28], ['logits'])).logits!;
      let maxAbs = 0;
      let maxDiff = 0;
      for (let i = 0; i < ref.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(ref[i]!));
        maxDiff = Math.max(maxDiff, Math.abs(ref[i]! - ours[i]!));
      }
      expect(maxDiff, `max |Δlogit| ${maxDiff}, max |logit| ${maxAbs}`).to.be.at.most(1e-4 * maxAbs);
      model.destroy();
    });
  });

  describe('a short training run', function () {
    before(function () {
      if (!existsSync(MNIST)) this.skip();
    });
    it('is reproducible with the same seed (identical losses) and lowers the loss', async () => {
      const engine = await getEngine();
      const train = readMnist(MNIST, 'train');
      const batch = 16;
      const steps = 100;
      const run = async () => {
        const tr = new Trainer(engine, lenetReluGraph(1), { batch, lr: 2e-3 });
        const rand = mulberry32(1);
        const losses: number[] = [];
        const x = new Float32Array(batch * 784);
        const y = new Uint8Array(batch);
        for (let s = 0; s < steps; s++) {
          for (let b = 0; b < batch; b++) {
            const idx = Math.floor(rand() * 2000); // a 2,000-image subset
            y[b] = train.labels[idx]!;
            for (let k = 0; k < 784; k++) x[b * 784 + k] = train.images[idx * 784 + k]! / 255;
          }
          losses.push((await tr.step(x, y)).loss);
        }
        tr.destroy();
        return losses;
      };
      const a = await run();
      const b = await run();
      expect(b).to.deep.equal(a);
      const mean = (v: number[]) => v.reduce((s, t) => s + t, 0) / v.length;
      expect(mean(a.slice(-20))).to.be.below(0.5 * mean(a.slice(0, 20)));
    });
  });
});
