// The one plan builder (engine/plan.ts) and the handles it gives out: a recording is its owner's
// until disposed (no other plan uses or destroys its buffers, however many plans come after it),
// disposed plans are reused, bind groups are dropped with their own buffers only, and every mode
// reuses the buffers of values it has passed.
import { expect } from 'chai';
import { Model, type Recording } from '../engine/runner.ts';
import { Reverser, walkOf } from '../engine/reverse.ts';
import { RegionForward } from '../engine/region.ts';
import { ArgumentError } from '../engine/errors.ts';
import { inferShapes, numel } from '../engine/shapes.ts';
import type { Graph } from '../engine/ir.ts';
import { GraphBuilder, closeEngine, getEngine, rng } from './helpers.ts';

after(async () => {
  await closeEngine();
});

/** conv → relu → maxpool → conv → relu → flatten → fc: 6 classes from 2×12×12 images */
function smallNet(seed = 3): Graph {
  const r = rng(seed);
  const b = new GraphBuilder([1, 2, 12, 12], 'img');
  const c1 = b.node('conv', ['img'], { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], group: 1, weight: b.param([8, 2, 3, 3], r), bias: b.param([8], r) }, 'c1');
  const r1 = b.node('relu', [c1], {}, 'r1');
  const p1 = b.node('maxpool', [r1], { kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0], ceil: false }, 'p1');
  const c2 = b.node('conv', [p1], { kernel: [3, 3], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], group: 1, weight: b.param([5, 8, 3, 3], r), bias: b.param([5], r) }, 'c2');
  const r2 = b.node('relu', [c2], {}, 'r2');
  const f = b.node('flatten', [r2], { axis: 1 }, 'flat');
  b.node('fc', [f], { weight: b.param([6, 5 * 16], r), bias: b.param([6], r), outFeatures: 6 }, 'logits');
  return b.build(['logits'], 'small');
}

const PER = 2 * 12 * 12;

async function inputGradient(model: Model, rec: Recording, n: number): Promise<Float32Array> {
  const seed = new Float32Array(n * 6);
  for (let i = 0; i < n; i++) seed[i * 6 + (i % 6)] = 1;
  return (await new Reverser(model).run(rec, 'logits', seed, ['img'], 'gradient')).get('img')!.data;
}

describe('the plan builder', () => {
  it('a recording survives any number of later plans, and two live recordings of the same batch keep their own buffers', async () => {
    const model = new Model(await getEngine(), smallNet());
    const r = rng(8);
    try {
      const xa = r.array(2 * PER), xb = r.array(2 * PER);
      const a = await model.record(xa, 2, ['logits']);
      const b = await model.record(xb, 2, ['logits']); // same batch and outputs: another plan, not a's
      expect(b.plan).not.to.equal(a.plan);
      // more than the model keeps idle: plain plans of 12 batch sizes and 12 recordings made and disposed
      for (let n = 1; n <= 12; n++) {
        await model.run(r.array(n * PER), n, { outputs: ['logits', 'r1'] });
        (await model.record(r.array(n * PER), n, ['logits'])).dispose();
      }
      // a and b still hold their own passes: their reverse passes equal fresh recordings'
      const ga = await inputGradient(model, a, 2);
      const gb = await inputGradient(model, b, 2);
      const fa = await model.record(xa, 2, ['logits']);
      const fb = await model.record(xb, 2, ['logits']);
      expect(Array.from(ga)).to.deep.equal(Array.from(await inputGradient(model, fa, 2)));
      expect(Array.from(gb)).to.deep.equal(Array.from(await inputGradient(model, fb, 2)));
      expect(Array.from(ga)).not.to.deep.equal(Array.from(gb));
      for (const rec of [a, b, fa, fb]) rec.dispose();
    } finally {
      model.destroy();
    }
  });

  it('a disposed recording is refused by name, and its plan is reused by the next recording of that batch', async () => {
    const model = new Model(await getEngine(), smallNet());
    try {
      const x = rng(1).array(PER);
      const a = await model.record(x, 1, ['logits']);
      const plan = a.plan;
      a.dispose();
      a.dispose(); // twice is harmless
      expect(() => a.values).to.throw(ArgumentError, /disposed/);
      let err: unknown;
      try {
        await new Reverser(model).run(a, 'logits', new Float32Array(6), ['img'], 'gradient');
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(ArgumentError);
      const b = await model.record(x, 1, ['logits']);
      expect(b.plan).to.equal(plan);
      // the walk built on the plan is kept with it and reused
      const w1 = walkOf(model, b, 'logits', ['img'], 'gradient');
      b.dispose();
      const c = await model.record(x, 1, ['logits']);
      expect(walkOf(model, c, 'logits', ['img'], 'gradient')).to.equal(w1);
      c.dispose();
    } finally {
      model.destroy();
    }
  });

  it('destroying one model drops its bind groups and no other model\'s', async () => {
    const e = await getEngine();
    const m1 = new Model(e, smallNet(1));
    const m2 = new Model(e, smallNet(2));
    try {
      const x = rng(2).array(3 * PER);
      const want = (await m1.run(x, 3)).get('logits')!.data;
      const withM1 = e.cachedBindGroups;
      await m2.run(x, 3);
      expect(e.cachedBindGroups).to.be.above(withM1);
      m2.destroy();
      expect(e.cachedBindGroups).to.equal(withM1);
      // m1's plan and bind groups are intact: the same run makes no new bind group and the same logits
      expect(Array.from((await m1.run(x, 3)).get('logits')!.data)).to.deep.equal(Array.from(want));
      expect(e.cachedBindGroups).to.equal(withM1);
    } finally {
      m1.destroy();
    }
  });

  it('reuses the buffers of values it has passed: plain passes, reverse walks and region plans hold less than every value', async () => {
    const e = await getEngine();
    const g = smallNet();
    const model = new Model(e, g);
    try {
      const n = 4;
      const shapes = inferShapes(g, n);
      const all = [...shapes.values()].reduce((s, v) => s + Math.ceil((numel(v) * 4) / 256) * 256, 0);
      const rec = await model.record(rng(4).array(n * PER), n, ['logits']);
      const walk = walkOf(model, rec, 'logits', ['img'], 'gradient');
      // the walk needs signals for every value between the logits and the image, but not at once
      expect(walk.bytes).to.be.below(all);
      rec.dispose();
      const region = new RegionForward(model, { rect: [3, 3], batch: 8, outputs: ['logits'] });
      const naive = [...inferShapes(g, 8).values()].reduce((s, v) => s + numel(v) * 4, 0);
      expect(region.bytes).to.be.below(naive);
      region.destroy();
    } finally {
      model.destroy();
    }
  });
});
