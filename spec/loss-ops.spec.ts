// The training losses as ops of the op table (engine/ops/loss.ts, issue 17): each image's loss
// against the Trainer's former CPU losses in float64 (softmaxCrossEntropy, pixelLoss, through
// spec/reference.ts), each op's input gradient against central finite differences of its forward
// (the float64 reference, and the GPU forward itself), the Trainer's parameter gradients by the
// loss ops against the old route (the loss on the CPU from the read-back output) on the shipped
// LeNet-ReLU and on a decoder, and the refusals of bad labels and targets.
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GraphBuilder, closeEngine, featureLoss, getEngine, rejection, rng, type Rng } from './helpers.ts';
import { pixelLoss, runGraphReference, softmaxCrossEntropy } from './reference.ts';
import { finiteDiff } from './reverse-reference.ts';
import { Model } from '../engine/runner.ts';
import { Reverser } from '../engine/reverse.ts';
import { Trainer, lenetReluGraph } from '../engine/train.ts';
import { decoderGraph } from '../engine/upconv.ts';
import { ArgumentError, NonFiniteError, ShapeError } from '../engine/errors.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { readMnist } from '../cli/train.ts';
import type { Graph } from '../engine/ir.ts';

const ROOT = join(import.meta.dirname, '..');
const MNIST = join(ROOT, '..', 'shared', 'data', 'mnist');
const LENET = join(ROOT, 'weights', 'lenet-relu-mnist.onnx');

after(async () => {
  await closeEngine();
});

type LossOp = 'softmax_cross_entropy' | 'mse';

/** x → op → y, the op's target a parameter with room for `room` images. */
function lossGraph(op: LossOp, shape: number[], room: number, target: Float32Array): Graph {
  const b = new GraphBuilder(shape);
  const t = b.param(op === 'mse' ? [room, ...shape.slice(1)] : [room], target, 'target');
  b.node(op, ['x'], { target: t }, 'y');
  return b.build(['y'], op);
}

/** Logits [n, k] in [-2, 2) with the label of every third image ahead by 15 (a loss near 1e-6: the kernel's log1p path). */
function logitsCase(r: Rng, n: number, k: number, room: number): { x: Float32Array; labels: Float32Array } {
  const labels = Float32Array.from({ length: room }, () => r.int(0, k - 1));
  const x = r.array(n * k, -2, 2);
  for (let i = 0; i < n; i += 3) x[i * k + labels[i]!]! += 15;
  return { x, labels };
}

/** Each value within `rel` of the reference, relative to itself. */
function expectEachClose(got: ArrayLike<number>, want: ArrayLike<number>, rel: number, what: string): void {
  expect(got.length, what).to.equal(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `${what}[${i}]: GPU ${got[i]}, reference ${want[i]}`).to.be.at.most(rel * Math.abs(want[i]!));
}

/** max |a − b| ≤ rel · max |b|, for each named tensor. */
function expectMapsClose(a: Map<string, Float32Array>, b: Map<string, Float32Array>, rel: number): void {
  expect([...a.keys()]).to.deep.equal([...b.keys()]);
  for (const [name, want] of b) {
    const got = a.get(name)!;
    let m = 0, d = 0;
    for (let i = 0; i < want.length; i++) {
      m = Math.max(m, Math.abs(want[i]!));
      d = Math.max(d, Math.abs(got[i]! - want[i]!));
    }
    expect(m, `${name}: a gradient that is not all zeros`).to.be.above(0);
    expect(d, `${name}: max |op route − CPU route| ${d} against max |CPU route| ${m}`).to.be.at.most(rel * m);
  }
}

const CASES: { op: LossOp; shape: number[]; room: number }[] = [
  { op: 'softmax_cross_entropy', shape: [7, 10], room: 9 },
  { op: 'softmax_cross_entropy', shape: [5, 13, 1, 1], room: 5 },
  { op: 'mse', shape: [3, 2, 5, 7], room: 4 },
  { op: 'mse', shape: [2, 300], room: 2 }, // more values than the workgroup, not a multiple of it
];

function caseData(c: (typeof CASES)[number], seed: number): { x: Float32Array; target: Float32Array } {
  const r = rng(seed);
  const [n, per] = [c.shape[0]!, c.shape.slice(1).reduce((a, v) => a * v, 1)];
  if (c.op === 'mse') return { x: r.array(n * per, -1, 1), target: r.array(c.room * per, -1, 1) };
  const { x, labels } = logitsCase(r, n, per, c.room);
  return { x, target: labels };
}

describe('training losses as ops (engine/ops/loss.ts)', function () {
  for (const c of CASES)
    it(`${c.op} [${c.shape.join(', ')}] (target room ${c.room}): each image's loss equals the float64 ${c.op === 'mse' ? 'pixelLoss' : 'softmaxCrossEntropy'} within 1e-5 relative`, async () => {
      const { x, target } = caseData(c, 3);
      const g = lossGraph(c.op, c.shape, c.room, target);
      const model = new Model(await getEngine(), g);
      try {
        const y = (await model.run(x, c.shape[0]!)).get('y')!;
        expect(y.shape).to.deep.equal([c.shape[0], 1]);
        const want = runGraphReference(g, x, c.shape[0]!).get('y')!.data;
        // the reference is the Trainer's former CPU loss, image by image
        const per = x.length / c.shape[0]!;
        const direct = Array.from({ length: c.shape[0]! }, (_, n) =>
          c.op === 'mse' ? pixelLoss(x.subarray(n * per, (n + 1) * per), target.subarray(n * per, (n + 1) * per), 1) : softmaxCrossEntropy(x.subarray(n * per, (n + 1) * per), [target[n]!], 1, per).loss);
        expect(Array.from(want)).to.deep.equal(direct);
        if (c.op === 'softmax_cross_entropy') expect(Math.min(...want), 'a well-classified image').to.be.below(1e-5);
        expectEachClose(y.data, want, 1e-5, c.op);
      } finally {
        model.destroy();
      }
    });

  for (const c of CASES)
    it(`${c.op} [${c.shape.join(', ')}]: the input gradient equals central finite differences of the forward (float64 reference: 1e-4; the GPU forward itself: 1e-2)`, async () => {
      const { x, target } = caseData(c, 5);
      const n = c.shape[0]!;
      const g = lossGraph(c.op, c.shape, c.room, target);
      const model = new Model(await getEngine(), g);
      try {
        const dy = rng(8).array(n, 0.5, 1.5);
        const rec = await model.record(x, n, ['y']);
        const dx = (await new Reverser(model).run(rec, 'y', dy, ['x'], 'gradient')).get('x')!.data;
        rec.dispose();
        // Σ_n dy[n] · loss_n, differentiated with respect to every logit or pixel
        const fd = finiteDiff((u) => runGraphReference(g, u, n).get('y')!.data, Float64Array.from(x), dy, 1e-6);
        const scale = Math.max(...dx.map(Math.abs));
        expect(scale).to.be.above(0);
        for (let i = 0; i < x.length; i++)
          expect(Math.abs(fd[i]! - dx[i]!) / Math.max(Math.abs(fd[i]!), 1e-3 * scale), `x[${i}]: GPU ${dx[i]}, finite difference ${fd[i]}`).to.be.at.most(1e-4);
        // the same through the GPU's own forward (float32: a wide step, the largest entries)
        const picks = [...dx.keys()].sort((a, b) => Math.abs(dx[b]!) - Math.abs(dx[a]!)).slice(0, 4);
        const h = 1e-2;
        for (const i of picks) {
          const at = async (v: number) => {
            const u = x.slice();
            u[i] = v;
            const y = (await model.run(u, n)).get('y')!.data;
            return y.reduce((s, l, k) => s + l * dy[k]!, 0);
          };
          const gpuFd = ((await at(x[i]! + h)) - (await at(x[i]! - h))) / (2 * h);
          expect(Math.abs(gpuFd - dx[i]!) / Math.abs(dx[i]!), `x[${i}]: GPU gradient ${dx[i]}, GPU forward's difference ${gpuFd}`).to.be.at.most(1e-2);
        }
      } finally {
        model.destroy();
      }
    });

  it("softmax_cross_entropy's gradient keeps its digits where the label's probability is close to 1: every entry within 1e-4 of softmaxCrossEntropy's float64 gradient, relative to itself", async () => {
    const n = 9, k = 10;
    const { x, labels } = logitsCase(rng(12), n, k, n);
    const model = new Model(await getEngine(), lossGraph('softmax_cross_entropy', [n, k], n, labels));
    try {
      const rec = await model.record(x, n, ['y']);
      const dx = (await new Reverser(model).run(rec, 'y', new Float32Array(n).fill(1 / n), ['x'], 'gradient')).get('x')!.data;
      rec.dispose();
      const want = new Float32Array(n * k);
      softmaxCrossEntropy(x, labels.subarray(0, n), n, k, want);
      expect(Math.abs(want[labels[0]!]!), 'a label term of a well-classified image').to.be.below(1e-6);
      expectEachClose(dx, want, 1e-4, 'dx');
    } finally {
      model.destroy();
    }
  });

  it('refuse a target that does not fit: a parameter with room for fewer images than the batch, or of another per-image size (ShapeError naming the layer)', async () => {
    const engine = await getEngine();
    const model = new Model(engine, lossGraph('mse', [1, 4, 3], 2, new Float32Array(24)));
    expect((await rejection(() => model.run(new Float32Array(3 * 12), 3))).message).to.match(/layer "y" \(mse\): target "target" has room for 2 images, the batch has 3/);
    model.destroy();
    const bad = lossGraph('mse', [1, 4, 3], 2, new Float32Array(24));
    bad.params.set('target', { dims: [2, 11], data: new Float32Array(22) });
    expect(() => new Model(engine, bad)).to.throw(ShapeError, /layer "y" \(mse\): target "target" \[2, 11\] does not hold images of \[4, 3\] \(12 values each\)/);
    const xent = lossGraph('softmax_cross_entropy', [1, 4, 3], 2, new Float32Array(2));
    expect(() => new Model(engine, xent)).to.throw(ShapeError, /layer "y" \(softmax_cross_entropy\) needs logits \[N, K\] or \[N, K, 1, 1\], got \[1, 4, 3\]/);
  });

  it('a label the host did not check (out of range) makes the loss NaN, which the forward pass reports as non-finite', async () => {
    const model = new Model(await getEngine(), lossGraph('softmax_cross_entropy', [2, 4], 2, Float32Array.from([1, 4])));
    try {
      const e = await rejection(() => model.run(new Float32Array(8), 2));
      expect(e).to.be.instanceOf(NonFiniteError);
      expect(e.message).to.match(/"y"/);
    } finally {
      model.destroy();
    }
  });

  describe('in the Trainer', function () {
    before(function () {
      if (!existsSync(MNIST) || !existsSync(LENET)) this.skip();
    });

    it('LeNet-ReLU (the shipped weights): a step by the softmax_cross_entropy op gives the parameter gradients, loss and right answers of the CPU route within 1e-4; the network alone still runs at a larger batch', async () => {
      const engine = await getEngine();
      const test = readMnist(MNIST, 't10k');
      const n = 16;
      const x = Float32Array.from(test.images.subarray(0, n * 784), (v) => v / 255);
      const labels = Array.from(test.labels.subarray(0, n));
      labels[3] = (labels[3]! + 1) % 10; // a wrong label: a large gradient among the small ones of right answers
      const tr = new Trainer(engine, loadOnnx(new Uint8Array(readFileSync(LENET)), 'lenet-relu-mnist.onnx'), { batch: n });
      try {
        let cpu = { loss: 0, correct: 0 };
        const old = await tr.gradients(x, (out, grad) => {
          cpu = softmaxCrossEntropy(out, labels, n, 10, grad);
          return cpu.loss;
        });
        const ops = await tr.gradients(x, labels);
        expect(Math.abs(ops.loss - cpu.loss)).to.be.at.most(1e-5 * cpu.loss);
        expect(ops.correct).to.equal(cpu.correct).and.to.be.at.least(n - 2);
        expectMapsClose(ops.grads, old.grads, 1e-4);
        // the Trainer's model still runs the network alone at other batch sizes (the commands'
        // evaluation): the loss's target has room for 16 images, which only the loss needs
        const m = 40;
        const x40 = Float32Array.from(test.images.subarray(0, m * 784), (v) => v / 255);
        const got = (await tr.model.run(x40, m)).get('logits')!.data;
        const plain = new Model(engine, loadOnnx(new Uint8Array(readFileSync(LENET)), 'lenet-relu-mnist.onnx'));
        const want = (await plain.run(x40, m)).get('logits')!.data;
        plain.destroy();
        expect(got.length).to.equal(m * 10);
        expect(Math.max(...got.map((v, i) => Math.abs(v - want[i]!)))).to.be.at.most(1e-4 * Math.max(...want.map(Math.abs)));
      } finally {
        tr.destroy();
      }
    });

    it("a decoder (fc1): the mse op gives the pixel loss route's gradients within 1e-4; with the feature-space loss composed into the graph (the classifier's layers, frozen, and an mse against the code), those of pixelLoss + featureLoss on the CPU", async () => {
      const engine = await getEngine();
      const test = readMnist(MNIST, 't10k');
      const lenetGraph = loadOnnx(new Uint8Array(readFileSync(LENET)), 'lenet-relu-mnist.onnx');
      const lenet = new Model(engine, lenetGraph);
      const n = 4, lambda = 0.5;
      const x = Float32Array.from(test.images.subarray(0, n * 784), (v) => v / 255);
      const h = (await lenet.run(x, n, { outputs: ['fc1'] })).get('fc1')!.data;
      const tr = new Trainer(engine, decoderGraph('fc1', [500], 3, 3), { batch: n });
      const trF = new Trainer(engine, decoderGraph('fc1', [500], 3, 3), { batch: n, feature: { classifier: lenetGraph, layer: 'fc1', weight: lambda } });
      try {
        const pixel = await tr.gradients(h, (out, grad) => pixelLoss(out, x, n, grad));
        const ops = await tr.gradients(h, { mse: x });
        expect(ops.correct).to.equal(0);
        expect(Math.abs(ops.loss - pixel.loss)).to.be.at.most(1e-5 * pixel.loss);
        expectMapsClose(ops.grads, pixel.grads, 1e-4);
        const whole = await tr.gradients(h, async (out, grad) => pixelLoss(out, x, n, grad) + (await featureLoss(lenet, 'fc1', out, h, n, lambda, grad)));
        const composed = await trF.gradients(h, { mse: x });
        expect(whole.loss - pixel.loss, 'the feature term counts').to.be.above(1e-2 * whole.loss);
        expect(Math.abs(composed.loss - whole.loss)).to.be.at.most(1e-5 * whole.loss);
        // the decoder's parameters only: the classifier's are frozen
        expectMapsClose(composed.grads, whole.grads, 1e-4);
        // and the classifier's weights are as they were after a step
        await trF.stepLoss(h, { mse: x });
        const w = lenetGraph.params.get('conv1.weight')!.data;
        const after = await engine.run([], [{ buffer: trF.model.paramBuffer('feature:conv1.weight'), bytes: w.byteLength }]);
        expect(Array.from(new Float32Array(after[0]!))).to.deep.equal(Array.from(w));
      } finally {
        tr.destroy();
        trF.destroy();
        lenet.destroy();
      }
    });
  });

  it('the Trainer refuses bad labels, targets and feature-space losses with one ArgumentError line', async () => {
    const engine = await getEngine();
    const g = new GraphBuilder([1, 6], 'x');
    const r = rng(2);
    g.node('fc', ['x'], { weight: g.param([4, 6], r), bias: g.param([4], new Float32Array(4)), outFeatures: 4 }, 'logits');
    const tr = new Trainer(engine, g.build(['logits']), { batch: 2 });
    const dec = new Trainer(engine, decoderGraph('fc1', [500], 1), { batch: 2 });
    const x = new Float32Array(12);
    try {
      const cases: [() => Promise<unknown>, RegExp][] = [
        [() => tr.step(x, [1, 4]), /^label 4 is not a class index in \[0, 4\)$/],
        [() => tr.step(x, [1, -1]), /^label -1 is not a class index in \[0, 4\)$/],
        [() => tr.step(x, [0.5, 1]), /^label 0.5 is not a class index in \[0, 4\)$/],
        [() => tr.step(x, [1]), /^a step takes 2 labels, got 1$/],
        [() => tr.stepLoss(x, { mse: new Float32Array(7) }), /^the mse target of a step is 2 × \[4\] = 8 values, got 7$/],
        [() => dec.stepLoss(new Float32Array(1000), { mse: new Float32Array(784) }), /^the mse target of a step is 2 × \[1, 28, 28\] = 1568 values, got 784$/],
        [() => dec.step(new Float32Array(1000), [1, 2]), /^labels need a classifier: this graph's output "image" is \[1, 28, 28\] per image, not a vector of class scores \(give a target: \{ mse \}\)$/],
      ];
      for (const [p, msg] of cases) {
        const e = await rejection(p);
        expect(e, String(msg)).to.be.instanceOf(ArgumentError);
        expect(e.message).to.match(msg);
      }
      // a feature-space loss that does not fit the decoder, named at construction
      const lenet = lenetReluGraph(1);
      const feature = (layer: string, weight = 1) => () => new Trainer(engine, decoderGraph('fc1', [500], 1), { batch: 2, feature: { classifier: lenet, layer, weight } });
      expect(feature('fc9')).to.throw(ArgumentError, /^the feature-space loss's layer "fc9" is not a layer of lenet-relu-mnist$/);
      expect(feature('fc1', -1)).to.throw(ArgumentError, /^the feature-space loss's weight must be a finite number ≥ 0, got -1$/);
      expect(feature('pool2')).to.throw(ArgumentError, /^the feature-space loss: lenet-relu-mnist's pool2 is \[50, 4, 4\] per image, the decoder's input \[500, 1, 1\]$/);
      // a good step still runs after the refusals
      expect((await tr.step(x, [0, 3])).loss).to.be.closeTo(Math.log(4), 1e-6);
    } finally {
      tr.destroy();
      dec.destroy();
    }
  });
});
