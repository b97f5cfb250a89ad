// The op table (engine/ops/): one complete entry per op, and the frozen-mode allow-list it carries:
// a frozen pass (etalons) goes through linear and recorded ops only, and any other op is refused
// with the layer named, whatever the op (no deny-list to forget an op on).
import { expect } from 'chai';
import { OPS } from '../engine/ops/index.ts';
import { Model } from '../engine/runner.ts';
import { UnsupportedOpError } from '../engine/errors.ts';
import { etalons } from '../explainers/etalon.ts';
import { coordinateImages } from '../engine/sources.ts';
import type { Node } from '../engine/ir.ts';
import { GraphBuilder, closeEngine, getEngine, rng, rejection } from './helpers.ts';

after(async () => {
  await closeEngine();
});


describe('the op table', () => {
  it('has a complete entry for every op: shape, forward, frozen linearity, region rule, reverse rules or the reason there are none', () => {
    const ops = Object.keys(OPS);
    expect(ops.length).to.be.at.least(24);
    for (const [op, def] of Object.entries(OPS)) {
      expect(def.shape, op).to.be.a('function');
      expect(def.forward, op).to.be.a('function');
      expect(['linear', 'recorded', 'nonlinear'], `${op} linearity`).to.include(def.frozen.linearity);
      if (def.frozen.linearity === 'recorded') expect(def.frozen.frozen, `${op} replays its pattern`).to.be.a('function');
      expect(['whole', 'alias', 'elementwise', 'window', 'global', 'concat', 'combine'], `${op} region`).to.include(def.region.kind);
      if ('none' in def.reverse) expect(def.reverse.none, `${op}: why no reverse rule`).to.be.a('string').and.to.have.length.above(10);
      else expect(def.reverse.rules, op).to.be.a('function');
    }
    // region mode (issue 15): LRN keeps the rectangle (a 1×1 window), residual adds take the hull of theirs
    expect(OPS.lrn.region.kind).to.equal('window');
    expect(OPS.add.region.kind).to.equal('combine');
    // the ones the papers' methods rely on
    expect(OPS.relu.frozen.linearity).to.equal('recorded');
    expect(OPS.maxpool.frozen.linearity).to.equal('recorded');
    for (const op of ['conv', 'fc', 'avgpool', 'concat', 'flatten', 'channelaffine'] as const) expect(OPS[op].frozen.linearity, op).to.equal('linear');
    for (const op of ['softmax', 'sigmoid', 'lrn', 'mul', 'leakyrelu', 'globalmaxpool'] as const) expect(OPS[op].frozen.linearity, op).to.equal('nonlinear');
    // the mobile families': the clamps record their pattern, the moves and means are linear, HardSwish is not
    for (const op of ['clip', 'hardsigmoid'] as const) expect(OPS[op].frozen.linearity, op).to.equal('recorded');
    for (const op of ['transpose', 'slicechannels', 'reducemean', 'add'] as const) expect(OPS[op].frozen.linearity, op).to.equal('linear');
    expect(OPS.hardswish.frozen.linearity).to.equal('nonlinear');
    // LRP (engine/lrp.ts): a rule kind or the reason there is none, for every op
    for (const [op, def] of Object.entries(OPS)) {
      if ('none' in def.lrp) expect(def.lrp.none, `${op}: why no LRP rule`).to.be.a('string').and.to.have.length.above(10);
      else expect(['linear', 'route', 'pass'], `${op} LRP rule`).to.include(def.lrp.kind);
    }
    for (const op of ['conv', 'fc', 'avgpool', 'globalavgpool', 'add', 'channelaffine'] as const) expect(OPS[op].lrp, op).to.deep.include({ kind: 'linear' });
    for (const op of ['maxpool', 'concat', 'flatten'] as const) expect(OPS[op].lrp, op).to.deep.equal({ kind: 'route' });
    expect(OPS.relu.lrp).to.deep.equal({ kind: 'pass' });
  });

  describe('frozen passes', () => {
    // conv → ACT → conv → flatten → fc, for an activation ACT of each kind
    // (a broadcast mul multiplies c1 by its own channel means: the squeeze-and-excitation product)
    async function net(act: Node['op'], attrs: object = {}, inputScale = 1) {
      const r = rng(5);
      const b = new GraphBuilder([1, 2, 6, 6], 'img');
      const c1 = b.node('conv', ['img'], { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], group: 1, weight: b.param([4, 2, 3, 3], r), bias: b.param([4], r) }, 'c1');
      const a = act === 'mul' ? b.node('mul', [b.node('reducemean', [c1], { axes: [2, 3], keepdims: true }, 'gate'), c1], {}, 'act') : b.node(act, [c1], attrs as never, 'act');
      const c2 = b.node('conv', [a], { kernel: [3, 3], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], group: 1, weight: b.param([3, 4, 3, 3], r), bias: b.param([3], r) }, 'c2');
      const f = b.node('flatten', [c2], { axis: 1 }, 'flat');
      b.node('fc', [f], { weight: b.param([5, 48], r), bias: b.param([5], r), outFeatures: 5 }, 'logits');
      return { model: new Model(await getEngine(), b.build(['logits'], `${act}-net`)), x: r.array(72, -inputScale, inputScale) };
    }

    for (const [act, attrs] of [['sigmoid', {}], ['leakyrelu', { alpha: 0.1 }], ['tanh', {}], ['elu', { alpha: 1 }], ['lrn', { size: 3, alpha: 1e-4, beta: 0.75, bias: 1 }], ['hardswish', {}], ['mul', {}]] as const)
      it(`through ${act} (not linear, not recorded) are refused, naming the layer, on both etalon routes and in the engine itself`, async () => {
        const { model, x } = await net(act, attrs);
        try {
          for (const route of ['onepass', 'literal'] as const) {
            const e = await rejection(() => etalons(model, x, 'logits', [0, 1], route));
            expect(e, route).to.be.instanceOf(UnsupportedOpError);
            expect(e.message, route).to.match(new RegExp(`layer "act" \\(${act}\\).*not piecewise linear`));
          }
          // the engine refuses a frozen pass through it even when asked directly
          const rec = await model.record(x, 1, ['logits']);
          const e = await rejection(() => model.runFrozen(rec, true, 1, coordinateImages(model, 72, 1), ['logits']));
          expect(e).to.be.instanceOf(UnsupportedOpError);
          expect(e.message).to.match(/layer "act"/);
          // a frozen pass that stops before it is fine
          const before = await model.runFrozen(rec, true, 1, coordinateImages(model, 72, 1), ['c1']);
          expect(before.get('c1')!.data.length).to.equal(4 * 36);
        } finally {
          model.destroy();
        }
      });

    /** <W, x> + b = NET(x) for the five logits, on both etalon routes. */
    async function expectAffine(model: Model, x: Float32Array, out: Float32Array) {
      for (const route of ['onepass', 'literal'] as const) {
        const r = await etalons(model, x, 'logits', [0, 1, 2, 3, 4], route);
        r.neurons.forEach((_, q) => {
          let s = r.biases[q]!;
          for (let i = 0; i < x.length; i++) s += r.etalons[q * x.length + i]! * x[i]!;
          expect(s, `${route} neuron ${q}`).to.be.closeTo(out[q]!, 1e-4 * (1 + Math.abs(out[q]!)));
        });
      }
    }

    // ReLU6, a clip on both sides of 0 and torch's HardSigmoid, with inputs wide enough that units
    // saturate at both ends: the replay passes x inside and the saturation constant outside
    for (const [act, attrs] of [['clip', { min: 0, max: 6 }], ['clip', { min: -1, max: 2 }], ['hardsigmoid', { alpha: Math.fround(1 / 6), beta: 0.5 }]] as const)
      it(`through recorded clamps (${act} ${Object.values(attrs).map((v) => +v.toFixed(4)).join(', ')}) reproduce the net around the input on both etalon routes`, async () => {
        const { model, x } = await net(act, attrs, 6);
        try {
          const res = await model.run(x, 1, { outputs: ['logits', 'c1'] });
          const out = res.get('logits')!.data;
          // units on all three pieces
          const [a, b0, lo, hi] = act === 'clip' ? [1, 0, attrs.min, attrs.max] : [attrs.alpha, attrs.beta, 0, 1];
          const t = Array.from(res.get('c1')!.data, (v) => a * v + b0);
          expect([t.some((v) => v < lo), t.some((v) => v > lo && v < hi), t.some((v) => v > hi)], 'below, inside, above').to.deep.equal([true, true, true]);
          await expectAffine(model, x, out);
        } finally {
          model.destroy();
        }
      });

    it('through recorded ReLUs and linear ops reproduce the net around the input (etalons: <W, x> + b = NET(x))', async () => {
      const { model, x } = await net('relu');
      try {
        const out = (await model.run(x, 1, { outputs: ['logits'] })).get('logits')!.data;
        await expectAffine(model, x, out);
      } finally {
        model.destroy();
      }
    });
  });
});
