// Winograd F(2×2, 3×3) (engine/winograd.ts) against the float64 CPU conv and the GEMM route:
//  1. the selection: which convs take it under each Engine.convAlgorithm, and bad settings refused;
//  2. the forward conv equals the float64 reference within 1e-4 of the output's max |value|: odd and
//     even maps, pads 0 and 1 (and asymmetric), bias and fused ReLU on and off, channel counts that
//     are not multiples of 4 and ≥ 64, batch 1 and 3; and equals conv2d_gemm on SqueezeNet's fire
//     expand 3×3 shape;
//  3. the reverse input gradient through Winograd equals the float64 transposed conv and the GEMM
//     route's;
//  4. training: after an optimiser step the derived U follows the new weights (Model.refreshDerived),
//     and the step's gradients equal the GEMM route's;
//  5. a whole SqueezeNet v1.0 forward with Winograd forced gives the GEMM route's logits within 1e-4
//     and the same top-5.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConvAttrs, Graph, Pads } from '../engine/ir.ts';
import type { Dispatch, Engine, ConvAlgorithm } from '../engine/gpu.ts';
import type { LowerContext } from '../engine/ops/index.ts';
import { Model } from '../engine/runner.ts';
import { Reverser } from '../engine/reverse.ts';
import { Trainer } from '../engine/train.ts';
import { ArgumentError } from '../engine/errors.ts';
import { lowerConv } from '../engine/conv.ts';
import { autoPrefersWinograd, useWinograd, winogradApplies } from '../engine/winograd.ts';
import { fillingWg } from '../engine/geometry.ts';
import { peakBytesPerImage, scratchBytesOf } from '../engine/plan.ts';
import { createNodeEngine } from '../cli/gpu-node.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import * as R from './reference.ts';
import * as B from './reverse-reference.ts';
import { closeEngine, expectOneLine, getEngine, relErr, rng, runLoupe } from './helpers.ts';

after(async () => {
  await closeEngine();
});

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '..', 'shared', 'data');
const SQZ = 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx';

interface Case {
  n: number; cin: number; cout: number; h: number; w: number; pads: Pads; bias: boolean; relu: boolean;
}
const attrsOf = (c: Pick<Case, 'pads' | 'bias'>): ConvAttrs => ({ kernel: [3, 3], stride: [1, 1], pads: c.pads, dilation: [1, 1], group: 1, weight: 'w', ...(c.bias ? { bias: 'b' } : {}) });
const tag = (c: Case) => `n${c.n} ${c.cin}→${c.cout} ${c.h}×${c.w} p${c.pads.join(',')}${c.bias ? ' bias' : ''}${c.relu ? ' relu' : ''}`;

/** conv (+ fused ReLU) as a one-node graph */
function convGraph(c: Case, w: Float32Array, b?: Float32Array): Graph {
  const params = new Map([['w', { dims: [c.cout, c.cin, 3, 3], data: w }]]);
  if (b) params.set('b', { dims: [c.cout], data: b });
  return {
    name: 'conv3x3', format: 'onnx', input: { name: 'x', shape: [-1, c.cin, c.h, c.w] }, outputs: [c.relu ? 'r' : 'y'], params,
    nodes: [
      { name: 'c', op: 'conv', inputs: ['x'], outputs: ['y'], attrs: attrsOf(c) },
      ...(c.relu ? [{ name: 'r', op: 'relu' as const, inputs: ['y'], outputs: ['r'], attrs: {} }] : []),
    ],
  };
}

/** which route a plan's dispatches took for the conv labelled `label` */
function route(ds: Dispatch[], label: string): 'winograd' | 'gemm' | 'rows' | 'direct' | 'none' {
  const mine = ds.filter((d) => d.label === label || d.label.startsWith(`${label}:`));
  if (mine.some((d) => d.pipeline.label.startsWith('winograd_input'))) return 'winograd';
  if (mine.some((d) => d.pipeline.label.startsWith('conv2d_gemm'))) return 'gemm';
  if (mine.some((d) => d.pipeline.label.startsWith('conv2d_rows'))) return 'rows';
  if (mine.some((d) => d.pipeline.label.startsWith('conv2d_direct'))) return 'direct';
  return 'none';
}

/** runs `fn` with the engine's conv algorithm set to `alg`, then restores it */
async function withAlg<T>(e: Engine, alg: ConvAlgorithm, fn: () => Promise<T>): Promise<T> {
  const was = e.convAlgorithm;
  e.convAlgorithm = alg;
  try {
    return await fn();
  } finally {
    e.convAlgorithm = was;
  }
}

describe('Winograd F(2×2, 3×3) (engine/winograd.ts)', function () {
  this.timeout(120000);
  let e: Engine;
  before(async () => {
    e = await getEngine();
  });

  describe('selection', () => {
    it('takes group-1 stride-1 dilation-1 3×3 convs when forced, only with scratch offered, never under gemm', () => {
      const ctx: LowerContext = {
        engine: e, param: () => e.acquire(1024, 'p'), derived: () => e.acquire(1 << 16, 'd'), derivedGpu: () => e.acquire(1 << 16, 'd'), paramSize: () => 0,
        paramData: () => new Float32Array(0), dummy: () => e.acquire(16, 'd'),
      };
      const scratch = (bytes: number) => e.acquire(Math.max(256, Math.ceil(bytes / 256) * 256), 's');
      const base = attrsOf({ pads: [1, 1, 1, 1], bias: false });
      const xb = e.acquire(1 << 16, 'x'), yb = e.acquire(1 << 16, 'y');
      const kinds = (a: ConvAttrs, x: number[], y: number[], s = true) => lowerConv(ctx, a, x, y, xb, yb, false, 'c', undefined, s ? scratch : undefined).map((d) => d.pipeline.label.split('|')[0]);
      const was = e.convAlgorithm;
      try {
        e.convAlgorithm = 'winograd';
        expect(kinds(base, [1, 8, 8, 8], [1, 16, 8, 8])).to.deep.equal(['winograd_input', 'conv2d_gemm', 'winograd_output']);
        expect(kinds(base, [1, 8, 8, 8], [1, 16, 8, 8], false)).to.deep.equal(['conv2d_rows']);
        expect(kinds({ ...base, stride: [2, 2] }, [1, 8, 8, 8], [1, 16, 4, 4])).to.deep.equal(['conv2d_rows']);
        expect(kinds({ ...base, dilation: [2, 2], pads: [2, 2, 2, 2] }, [1, 8, 8, 8], [1, 16, 8, 8])).to.deep.equal(['conv2d_rows']);
        expect(kinds({ ...base, group: 2 }, [1, 8, 8, 8], [1, 16, 8, 8])).to.deep.equal(['conv2d_rows']);
        expect(kinds({ ...base, kernel: [5, 5], pads: [2, 2, 2, 2] }, [1, 8, 8, 8], [1, 16, 8, 8])).to.deep.equal(['conv2d_rows']);
        expect(kinds({ ...base, group: 8 }, [1, 8, 8, 8], [1, 8, 8, 8])).to.deep.equal(['conv2d_direct']);
        expect(winogradApplies(base, [1, 3, 8, 8]), 'fewer output channels than a GEMM block').to.equal(false);
        e.convAlgorithm = 'gemm';
        expect(kinds(base, [1, 64, 8, 8], [1, 64, 8, 8])).to.deep.equal(['conv2d_rows']);
        e.convAlgorithm = 'auto';
        // the measured rule (engine/winograd.ts): on lavapipe, Cin ≥ 128 and Cout ≥ 256
        const lavapipe = /llvmpipe|lavapipe/i.test(e.adapterInfo);
        for (const [cin, cout, hw, faster] of [[16, 64, 55, false], [32, 128, 27, false], [64, 256, 13, false], [128, 128, 112, false], [128, 256, 56, true], [256, 256, 56, true], [3, 64, 224, false], [512, 512, 14, true], [64, 32, 28, false], [256, 128, 28, false]] as const) {
          expect(autoPrefersWinograd(e, cin, cout), `${cin}→${cout}`).to.equal(faster && lavapipe);
          expect(useWinograd(e, base, [1, cin, hw, hw], [1, cout, hw, hw]), `${cin}→${cout} @${hw}`).to.equal(faster && lavapipe);
          expect(useWinograd(e, { ...base, stride: [2, 2] }, [1, cin, hw, hw], [1, cout, Math.ceil(hw / 2), Math.ceil(hw / 2)]), `${cin}→${cout} @${hw} s2`).to.equal(false);
        }
      } finally {
        e.convAlgorithm = was;
      }
    });

    it('the GEMM of few tiles runs narrower workgroups (batch 1 on 14×14 maps: 49 columns)', () => {
      // conv2d_gemm's default width (geometry.ts), which the Winograd GEMM takes
      expect(fillingWg(49, 4)).to.equal(16);
      expect(fillingWg(784, 4)).to.equal(32);
      expect(fillingWg(16 * 784, 4)).to.equal(64);
      expect(fillingWg(12, 4)).to.equal(8);
    });

    it('a plan shares one V and one M buffer among its Winograd convs, and Model.maxBatch counts them', () => {
      // x [8, 10×10] → a (8→16) → b (16→8), pads 1: 25 tiles; V and M of a: 16·8·25 and 16·16·25
      // floats, of b the other way round, so the plan's two shared buffers hold 16·16·25 floats each.
      const w = (co: number, ci: number) => ({ dims: [co, ci, 3, 3], data: new Float32Array(co * ci * 9) });
      const g: Graph = {
        name: 'two', format: 'onnx', input: { name: 'x', shape: [-1, 8, 10, 10] }, outputs: ['y'], params: new Map([['wa', w(16, 8)], ['wb', w(8, 16)]]),
        nodes: [
          { name: 'a', op: 'conv', inputs: ['x'], outputs: ['a'], attrs: { ...attrsOf({ pads: [1, 1, 1, 1], bias: false }), weight: 'wa' } },
          { name: 'b', op: 'conv', inputs: ['a'], outputs: ['y'], attrs: { ...attrsOf({ pads: [1, 1, 1, 1], bias: false }), weight: 'wb' } },
        ],
      };
      const m = new Model(e, g);
      const slots = 2 * 16 * 16 * 25 * 4;
      const was = e.convAlgorithm;
      try {
        const measure = (alg: ConvAlgorithm) => {
          e.convAlgorithm = alg;
          const rec = m.recordPlan(2);
          const bytes = rec.plan.arena.bytes;
          rec.dispose();
          return { bytes, peak: peakBytesPerImage(m.facts, new Set(['y']), e) };
        };
        const gemm = measure('gemm');
        const wino = measure('winograd');
        expect(wino.bytes - gemm.bytes, 'the recording plan at batch 2').to.equal(2 * slots);
        expect(wino.peak - gemm.peak, 'per image').to.equal(slots);
        m.memoryBudget = 100 * gemm.peak;
        e.convAlgorithm = 'gemm';
        expect(m.maxBatch()).to.equal(100);
        e.convAlgorithm = 'winograd';
        expect(m.maxBatch()).to.equal(Math.floor((100 * gemm.peak) / (gemm.peak + slots)));
        // a batch whose V or M would not fit one storage binding takes GEMM, so asks for no scratch
        // (a plan sized its shared slot by such a node and failed: PDA's whole-image route on SqueezeNet)
        const perImage = 16 * 16 * 25 * 4, big = Math.ceil(e.maxBindingBytes / perImage) + 1;
        const at = (n: number) => new Map([['x', [n, 8, 10, 10]], ['a', [n, 16, 10, 10]], ['y', [n, 8, 10, 10]]]);
        expect(scratchBytesOf(e, g.nodes[0]!, at(2), 'forward')).to.deep.equal([2 * 16 * 8 * 25 * 4, 2 * perImage]);
        expect(scratchBytesOf(e, g.nodes[0]!, at(big), 'forward')).to.deep.equal([]);
      } finally {
        e.convAlgorithm = was;
        m.destroy();
      }
    });

    it('refuses an unknown algorithm with an ArgumentError naming the setting', async () => {
      expect(() => (e.convAlgorithm = 'fast' as ConvAlgorithm)).to.throw(ArgumentError, /convAlgorithm: "fast" is not a conv algorithm; use auto, gemm, winograd/);
      const was = process.env.LOUPE_CONV;
      process.env.LOUPE_CONV = 'wino';
      try {
        let err: unknown;
        await createNodeEngine().catch((x: unknown) => (err = x));
        expect(err).to.be.instanceOf(ArgumentError);
        expect((err as Error).message).to.match(/^LOUPE_CONV: "wino" is not a conv algorithm/);
      } finally {
        if (was === undefined) delete process.env.LOUPE_CONV;
        else process.env.LOUPE_CONV = was;
      }
      // the command: one line, exit 1
      expectOneLine(runLoupe(['predict', '--model', join(ROOT, 'weights', 'lenet-relu-mnist.onnx'), '--image', join(ROOT, 'weights', 'mnist-test-0.png')], { LOUPE_CONV: 'fast' }), /LOUPE_CONV: "fast" is not a conv algorithm; use auto, gemm, winograd/);
    });
  });

  describe('forward equals the float64 reference (rel 1e-4)', () => {
    const cases: Case[] = [
      { n: 1, cin: 5, cout: 7, h: 9, w: 9, pads: [1, 1, 1, 1], bias: true, relu: true },
      { n: 3, cin: 3, cout: 6, h: 8, w: 10, pads: [0, 0, 0, 0], bias: false, relu: false },
      { n: 1, cin: 64, cout: 70, h: 7, w: 6, pads: [1, 1, 1, 1], bias: true, relu: false },
      { n: 3, cin: 17, cout: 33, h: 11, w: 7, pads: [1, 0, 0, 1], bias: false, relu: true },
      { n: 1, cin: 66, cout: 65, h: 5, w: 4, pads: [0, 0, 0, 0], bias: true, relu: true },
      { n: 2, cin: 1, cout: 4, h: 3, w: 3, pads: [0, 0, 0, 0], bias: true, relu: false },
      { n: 1, cin: 6, cout: 5, h: 2, w: 1, pads: [1, 1, 1, 1], bias: false, relu: false },
    ];
    for (const [i, c] of cases.entries())
      it(tag(c), async () => {
        const r = rng(100 + i);
        const x = r.array(c.n * c.cin * c.h * c.w);
        const w = r.array(c.cout * c.cin * 9);
        const b = c.bias ? r.array(c.cout) : undefined;
        const m = new Model(e, convGraph(c, w, b));
        try {
          await withAlg(e, 'winograd', async () => {
            const rec = m.recordPlan(c.n);
            expect(route(rec.dispatches, 'conv:c')).to.equal('winograd');
            rec.dispose();
            const got = [...(await m.run(x, c.n)).values()][0]!;
            let want = R.conv2d(R.tensor([c.n, c.cin, c.h, c.w], x), w, c.cout, attrsOf(c), b);
            if (c.relu) want = { shape: want.shape, data: want.data.map((v) => Math.max(0, v)) };
            expect(got.shape).to.deep.equal(want.shape);
            expect(relErr(got.data, want.data), tag(c)).to.be.below(1e-4);
          });
        } finally {
          m.destroy();
        }
      });

    // the GEMM without subgroups (conv2d_gemm's plain variant, TM = 8), where the device lacks them
    describe('without subgroups', () => {
      before(() => { e.subgroups = false; });
      after(() => { e.subgroups = true; });
      for (const [i, c] of [cases[0]!, cases[2]!, cases[3]!].entries())
        it(tag(c), async () => {
          const r = rng(300 + i);
          const x = r.array(c.n * c.cin * c.h * c.w);
          const w = r.array(c.cout * c.cin * 9);
          const b = c.bias ? r.array(c.cout) : undefined;
          const m = new Model(e, convGraph(c, w, b));
          try {
            const got = await withAlg(e, 'winograd', async () => [...(await m.run(x, c.n)).values()][0]!);
            let want = R.conv2d(R.tensor([c.n, c.cin, c.h, c.w], x), w, c.cout, attrsOf(c), b);
            if (c.relu) want = { shape: want.shape, data: want.data.map((v) => Math.max(0, v)) };
            expect(relErr(got.data, want.data), tag(c)).to.be.below(1e-4);
          } finally {
            m.destroy();
          }
        });
    });

    it("equals conv2d_gemm on SqueezeNet's fire expand 3×3 shape (16→64, 55×55, pad 1, bias, ReLU), batch 2", async () => {
      const c: Case = { n: 2, cin: 16, cout: 64, h: 55, w: 55, pads: [1, 1, 1, 1], bias: true, relu: true };
      const r = rng(7);
      const x = r.array(c.n * c.cin * c.h * c.w, 0, 4);
      const w = r.array(c.cout * c.cin * 9, -0.2, 0.2);
      const b = r.array(c.cout, -0.5, 0.5);
      const m = new Model(e, convGraph(c, w, b));
      try {
        const run = (alg: ConvAlgorithm) => withAlg(e, alg, async () => [...(await m.run(x, c.n)).values()][0]!.data);
        const wino = await run('winograd');
        const gemm = await run('gemm');
        expect(relErr(wino, gemm)).to.be.below(1e-4);
      } finally {
        m.destroy();
      }
    });
  });

  it('the reverse input gradient through Winograd equals the float64 transposed conv and the GEMM route', async () => {
    // x [2,6,9,8] → conv a (6→9, pad 1, bias) → ReLU → conv b (9→5, pad 0) → y: both input gradients
    // are stride-1 3×3 convs (pads 1 and 2) with at least 4 output channels, so both take Winograd.
    const r = rng(21);
    const n = 2;
    const wa = r.array(9 * 6 * 9), ba = r.array(9, -0.2, 0.2), wb = r.array(5 * 9 * 9);
    const pa: Pads = [1, 1, 1, 1], pb: Pads = [0, 0, 0, 0];
    const g: Graph = {
      name: 'two-convs', format: 'onnx', input: { name: 'x', shape: [-1, 6, 9, 8] }, outputs: ['y'],
      params: new Map([['wa', { dims: [9, 6, 3, 3], data: wa }], ['ba', { dims: [9], data: ba }], ['wb', { dims: [5, 9, 3, 3], data: wb }]]),
      nodes: [
        { name: 'a', op: 'conv', inputs: ['x'], outputs: ['a'], attrs: { ...attrsOf({ pads: pa, bias: false }), weight: 'wa', bias: 'ba' } },
        { name: 'ra', op: 'relu', inputs: ['a'], outputs: ['ra'], attrs: {} },
        { name: 'b', op: 'conv', inputs: ['ra'], outputs: ['y'], attrs: { ...attrsOf({ pads: pb, bias: false }), weight: 'wb' } },
      ],
    };
    const x = r.array(n * 6 * 9 * 8);
    const seed = r.array(n * 5 * 7 * 6);
    const m = new Model(e, g);
    const rv = new Reverser(m);
    const dx = async (alg: ConvAlgorithm) =>
      withAlg(e, alg, async () => {
        const rec = await m.record(x, n);
        try {
          const walk = rv.prepare(rec, 'y', ['x'], 'gradient');
          // the direct route of a 3×3 conv (not pointwise) is conv2d_rows
          expect(route(walk.dispatches, 'reverse:conv:a'), `${alg}: conv a`).to.equal(alg === 'winograd' ? 'winograd' : 'rows');
          expect(route(walk.dispatches, 'reverse:conv:b'), `${alg}: conv b`).to.equal(alg === 'winograd' ? 'winograd' : 'rows');
          return (await rv.run(rec, 'y', seed, ['x'], 'gradient')).get('x')!.data;
        } finally {
          rec.dispose();
        }
      });
    try {
      const wino = await dx('winograd');
      const gemm = await dx('gemm');
      // float64: dy → conv b's transposed conv → ReLU mask of a's output → conv a's transposed conv
      const a = R.conv2d(R.tensor([n, 6, 9, 8], x), wa, 9, attrsOf({ pads: pa, bias: false }), ba);
      const dra = B.convInputGrad(R.tensor([n, 5, 7, 6], seed), wb, a.shape, attrsOf({ pads: pb, bias: false }));
      const da = { shape: dra.shape, data: dra.data.map((v, i) => (a.data[i]! > 0 ? v : 0)) };
      const want = B.convInputGrad(da, wa, [n, 6, 9, 8], attrsOf({ pads: pa, bias: false }));
      expect(relErr(wino, want.data), 'Winograd vs float64').to.be.below(1e-4);
      expect(relErr(wino, gemm), 'Winograd vs GEMM').to.be.below(1e-4);
    } finally {
      m.destroy();
    }
  });

  describe('training', () => {
    // conv 3×3 (2→6, pad 1) → ReLU → conv 3×3 (6→8, pad 1) → ReLU → flatten → fc 10, on 6×6 maps
    function smallNet(seed: number): Graph {
      const r = rng(seed);
      const p = (dims: number[], s: number) => ({ dims, data: r.array(dims.reduce((a, b) => a * b, 1), -s, s) });
      const conv = (name: string, input: string, w: string, bias: string): Graph['nodes'][number] => ({ name, op: 'conv', inputs: [input], outputs: [name], attrs: { ...attrsOf({ pads: [1, 1, 1, 1], bias: false }), weight: w, bias } });
      return {
        name: 'small', format: 'onnx', input: { name: 'x', shape: [-1, 2, 6, 6] }, outputs: ['logits'],
        params: new Map([['w1', p([6, 2, 3, 3], 0.5)], ['b1', p([6], 0.1)], ['w2', p([8, 6, 3, 3], 0.3)], ['b2', p([8], 0.1)], ['wf', p([10, 288], 0.1)], ['bf', p([10], 0.1)]]),
        nodes: [
          conv('c1', 'x', 'w1', 'b1'), { name: 'r1', op: 'relu', inputs: ['c1'], outputs: ['r1'], attrs: {} },
          conv('c2', 'r1', 'w2', 'b2'), { name: 'r2', op: 'relu', inputs: ['c2'], outputs: ['r2'], attrs: {} },
          { name: 'flat', op: 'flatten', inputs: ['r2'], outputs: ['flat'], attrs: { axis: 1 } },
          { name: 'fc', op: 'fc', inputs: ['flat'], outputs: ['logits'], attrs: { weight: 'wf', bias: 'bf', outFeatures: 10 } },
        ],
      };
    }
    const batch = 3;
    const x = rng(5).array(batch * 2 * 36);
    const labels = [1, 7, 4];

    it('the derived U follows the weights after an optimiser step (Model.refreshDerived)', async () => {
      await withAlg(e, 'winograd', async () => {
        const g = smallNet(3);
        const before = R.runGraphReference(g, x, batch).get('logits')!.data;
        const tr = new Trainer(e, g, { batch, optimizer: 'sgd', lr: 0.5, momentum: 0 });
        try {
          const rec = tr.model.recordPlan(batch);
          expect(route(rec.dispatches, 'conv:c2')).to.equal('winograd');
          rec.dispose();
          await tr.step(x, labels);
          await tr.syncParams();
          const got = (await tr.model.run(x, batch)).get('logits')!.data;
          const want = R.runGraphReference(g, x, batch).get('logits')!.data;
          expect(relErr(before, want), 'the step moved the logits').to.be.above(1e-2);
          expect(relErr(got, want), 'logits after the step vs float64 with the new weights').to.be.below(1e-4);
        } finally {
          tr.destroy();
        }
      });
    });

    it("a step's gradients through Winograd equal the GEMM route's", async () => {
      const grads = async (alg: ConvAlgorithm) =>
        withAlg(e, alg, async () => {
          const tr = new Trainer(e, smallNet(4), { batch });
          try {
            return (await tr.gradients(x, labels)).grads;
          } finally {
            tr.destroy();
          }
        });
      const wino = await grads('winograd');
      const gemm = await grads('gemm');
      for (const [k, v] of gemm) expect(relErr(wino.get(k)!, v), k).to.be.below(1e-4);
    });
  });

  it('a whole SqueezeNet v1.0 forward with Winograd forced: the GEMM route\'s logits within 1e-4, same top-5', async () => {
    const m = new Model(e, loadOnnx(new Uint8Array(readFileSync(join(DATA, SQZ))), 'squeezenet_v1.0_decoded.onnx'));
    try {
      const n = 2;
      const x = new Float32Array(n * 3 * 227 * 227).map((_, i) => Math.sin(i * 0.001 + (i % 7)) * 60);
      const logits = (alg: ConvAlgorithm) => withAlg(e, alg, async () => (await m.run(x, n, { outputs: ['logits'] })).get('logits')!.data);
      const wino = await logits('winograd');
      const gemm = await logits('gemm');
      await withAlg(e, 'winograd', async () => {
        const rec = m.recordPlan(1);
        expect(rec.dispatches.filter((d) => d.pipeline.label.startsWith('winograd_input')), 'the 8 fire expand 3×3 convs').to.have.length(8);
        rec.dispose();
      });
      for (let b = 0; b < n; b++) {
        const row = (a: Float32Array) => a.subarray(b * 1000, (b + 1) * 1000);
        const top5 = (a: Float32Array) => [...row(a).keys()].sort((i, j) => row(a)[j]! - row(a)[i]!).slice(0, 5);
        expect(relErr(row(wino), row(gemm)), `image ${b}`).to.be.below(1e-4);
        expect(top5(wino), `image ${b}`).to.deep.equal(top5(gemm));
      }
    } finally {
      m.destroy();
    }
  });
});
