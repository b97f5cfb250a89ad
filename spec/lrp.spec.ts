// Layer-wise Relevance Propagation (issue 14): LRP-ε with ε → 0 equals input × gradient on a
// bias-free ReLU net, z⁺ conserves relevance per layer, a float64 CPU reference of the rules
// (written here, independently: every linear layer as a dense matrix) on a conv/pool/fc graph with
// biases, residual adds and concats conserve, ResNet-50 (the light ONNX graph) runs, and
// `loupe explain --method lrp` writes its files or fails with one line.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getEngine, GraphBuilder, rng, runLoupe, expectOneLine, rejection } from './helpers.ts';
import { Model } from '../engine/runner.ts';
import { ArgumentError, UnsupportedOpError } from '../engine/errors.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { inputTimesGradient } from '../explainers/integrated.ts';
import { lrp, type LrpOptions } from '../explainers/lrp.ts';
import { explainer } from '../explainers/registry.ts';
import type { Graph } from '../engine/ir.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '..', 'shared', 'data');
const LENET = join(ROOT, 'weights/lenet-relu-mnist.onnx');
const DIGIT = join(ROOT, 'weights/mnist-test-0.png');
const RESNET = join(DATA, 'onnx/onnx-light-models/light_resnet50.onnx');

const conv = (b: GraphBuilder, x: string, w: string, opts: { pad?: number; bias?: string; name?: string } = {}) =>
  b.node('conv', [x], { kernel: [3, 3], stride: [1, 1], pads: [opts.pad ?? 1, opts.pad ?? 1, opts.pad ?? 1, opts.pad ?? 1], dilation: [1, 1], group: 1, weight: w, bias: opts.bias }, opts.name);

/** conv → ReLU → max-pool → conv → ReLU → fc, no biases (as spec/integrated.spec.ts's) */
function biasFree(): Graph {
  const r = rng(14);
  const b = new GraphBuilder([1, 2, 9, 9]);
  const c1 = conv(b, 'x', b.param([4, 2, 3, 3], r), { name: 'conv1' });
  const r1 = b.node('relu', [c1], {}, 'relu1');
  const p1 = b.node('maxpool', [r1], { kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0], ceil: true }, 'pool1');
  const c2 = conv(b, p1, b.param([6, 4, 3, 3], r), { pad: 0, name: 'conv2' });
  const r2 = b.node('relu', [c2], {}, 'relu2');
  const f = b.node('flatten', [r2], { axis: 1 }, 'flat');
  const fc = b.node('fc', [f], { weight: b.param([5, 54], r), outFeatures: 5 }, 'fc');
  return b.build([fc], 'bias-free');
}

/** Every layer's Σ R at its inputs equals Σ R at its output within `tol` (relative to the logit). */
function expectConserved(r: Awaited<ReturnType<typeof lrp>>, tol: number, ops?: string[]): void {
  const seen = new Set(r.layers.map((L) => L.op));
  for (const op of ops ?? []) expect(seen, `the walk meets a ${op}`).to.include(op);
  r.layers.forEach((L) =>
    L.out.forEach((o, i) => expect(Math.abs(L.in[i]! - o), `${L.layer} (${L.op}, ${L.rule}) image ${i}: in ${L.in[i]} out ${o}`).to.be.at.most(tol * Math.abs(r.scores[i]!))),
  );
  r.inputSum.forEach((s, i) => expect(Math.abs(s - r.scores[i]!), `image ${i}: Σ R at the input`).to.be.at.most(tol * Math.abs(r.scores[i]!)));
}

describe('LRP on small graphs', function () {
  this.timeout(120_000);

  it('LRP-ε with ε → 0 equals input × gradient on a bias-free ReLU net within 1e-4', async () => {
    const model = new Model(await getEngine(), biasFree());
    try {
      const r = rng(3);
      const x = r.array(3 * 2 * 81, -1, 1);
      const ixg = await inputTimesGradient(model, x, 3, { classes: [0, 2, 4] });
      const e = await lrp(model, x, 3, { rule: 'epsilon', epsilon: 0, classes: [0, 2, 4] });
      const scale = Math.max(...ixg.attributions.data.map(Math.abs));
      expect(scale).to.be.above(0);
      e.relevance.data.forEach((v, q) => expect(Math.abs(v - ixg.attributions.data[q]!), `at ${q}`).to.be.at.most(1e-4 * scale));
      // LRP-0 on a bias-free ReLU net conserves too (Σ x ⊙ ∇f = f)
      expectConserved(e, 1e-4, ['conv', 'relu', 'maxpool', 'fc', 'flatten']);
    } finally {
      model.destroy();
    }
  });

  it('LRP-ε with ε → 0 equals input × gradient on LeNet with its biases zeroed within 1e-4', async () => {
    const g = loadOnnx(readFileSync(LENET), 'lenet');
    let zeroed = 0;
    for (const n of g.nodes) {
      const bias = (n.attrs as { bias?: string }).bias;
      if (bias) (g.params.get(bias)!.data.fill(0), zeroed++);
    }
    expect(zeroed).to.be.above(2);
    const model = new Model(await getEngine(), g);
    try {
      const x = rng(6).array(2 * 784, 0, 1);
      const ixg = await inputTimesGradient(model, x, 2, {});
      const e = await lrp(model, x, 2, { rule: 'epsilon', epsilon: 0 });
      expect(e.classes).to.deep.equal(ixg.classes);
      const scale = Math.max(...ixg.attributions.data.map(Math.abs));
      e.relevance.data.forEach((v, q) => expect(Math.abs(v - ixg.attributions.data[q]!), `at ${q}`).to.be.at.most(1e-4 * scale));
    } finally {
      model.destroy();
    }
  });

  it('z⁺ (α1β0) conserves relevance per layer to 1e-4 on a bias-free net; so does αβ with β > 0', async () => {
    const model = new Model(await getEngine(), biasFree());
    try {
      const x = rng(5).array(2 * 2 * 81, -1, 1);
      const z = await lrp(model, x, 2, { rule: 'zplus' });
      expectConserved(z, 1e-4, ['conv', 'relu', 'maxpool', 'fc']);
      const ab = await lrp(model, x, 2, { rule: 'alpha-beta', alpha: 2, beta: 1 });
      expectConserved(ab, 1e-4);
      expect(ab.layers.find((L) => L.op === 'conv')!.rule).to.equal('alpha-beta');
    } finally {
      model.destroy();
    }
  });

  it('residual adds and concats split relevance and conserve it (z⁺, and ε → 0 without biases)', async () => {
    const r = rng(8);
    const b = new GraphBuilder([1, 2, 6, 6]);
    const c1 = conv(b, 'x', b.param([4, 2, 3, 3], r), { name: 'stem' });
    const r1 = b.node('relu', [c1], {}, 'stem_relu');
    const ca = conv(b, r1, b.param([4, 4, 3, 3], r), { name: 'branch' });
    const add = b.node('add', [ca, r1], {}, 'residual');
    const r2 = b.node('relu', [add], {}, 'res_relu');
    const cb = conv(b, r2, b.param([3, 4, 3, 3], r), { name: 'left' });
    const cc = conv(b, r2, b.param([2, 4, 3, 3], r), { name: 'right' });
    const cat = b.node('concat', [cb, cc], { axis: 1 }, 'cat');
    const r3 = b.node('relu', [cat], {}, 'cat_relu');
    const ap = b.node('avgpool', [r3], { kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0], ceil: false, countIncludePad: true }, 'avg');
    const gp = b.node('globalavgpool', [ap], {}, 'gap');
    const f = b.node('flatten', [gp], { axis: 1 }, 'flat');
    const fc = b.node('fc', [f], { weight: b.param([3, 5], r), outFeatures: 3 }, 'fc');
    const model = new Model(await getEngine(), b.build([fc], 'residual'));
    try {
      const x = rng(9).array(2 * 2 * 36, -1, 1);
      expectConserved(await lrp(model, x, 2, { rule: 'zplus' }), 1e-4, ['add', 'concat', 'avgpool', 'globalavgpool']);
      expectConserved(await lrp(model, x, 2, { rule: 'epsilon', epsilon: 0 }), 1e-4, ['add', 'concat']);
    } finally {
      model.destroy();
    }
  });

  it('a free-standing channel affine (BatchNorm not folded) is a linear layer: z⁺ conserves through its scale, ε gives its shift a share', async () => {
    const affine = async (shift: boolean) => {
      const r = rng(12);
      const b = new GraphBuilder([1, 2, 5, 5]);
      const c1 = conv(b, 'x', b.param([3, 2, 3, 3], r), { name: 'conv' });
      const bn = b.node('channelaffine', [c1], { scale: b.param([3], Float32Array.of(1.5, -0.7, 0.4)), shift: shift ? b.param([3], Float32Array.of(0.2, -0.3, 0.1)) : undefined }, 'bn');
      const r1 = b.node('relu', [bn], {}, 'relu');
      const f = b.node('flatten', [r1], { axis: 1 }, 'flat');
      const fc = b.node('fc', [f], { weight: b.param([2, 75], r), outFeatures: 2 }, 'fc');
      return new Model(await getEngine(), b.build([fc], 'affine'));
    };
    const x = rng(13).array(2 * 50, -1, 1);
    const plain = await affine(false);
    try {
      expectConserved(await lrp(plain, x, 2, { rule: 'zplus' }), 1e-4, ['channelaffine']);
    } finally {
      plain.destroy();
    }
    const shifted = await affine(true);
    try {
      const e = await lrp(shifted, x, 2, { rule: 'epsilon', epsilon: 0 });
      const bn = e.layers.find((L) => L.op === 'channelaffine')!;
      expect(bn.rule).to.equal('epsilon');
      expect(Math.abs(bn.gap[0]!)).to.be.above(1e-6); // the shift takes its share
      for (const L of e.layers.filter((L) => L.op !== 'channelaffine')) L.gap.forEach((g, i) => expect(Math.abs(g), L.layer).to.be.at.most(1e-4 * Math.abs(e.scores[i]!)));
    } finally {
      shifted.destroy();
    }
  });

  it('equals a float64 CPU reference of the rules on conv/pool/fc with biases (ε, z⁺, γ, flat, z^B, composite)', async () => {
    const r = rng(21);
    const b = new GraphBuilder([1, 2, 6, 6]);
    const W1 = r.array(3 * 2 * 9, -1, 1), B1 = r.array(3, -0.3, 0.3), W2 = r.array(4 * 27, -1, 1), B2 = r.array(4, -0.3, 0.3);
    const c1 = conv(b, 'x', b.param([3, 2, 3, 3], W1), { bias: b.param([3], B1), name: 'conv' });
    const r1 = b.node('relu', [c1], {}, 'relu');
    const p1 = b.node('maxpool', [r1], { kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0], ceil: false }, 'pool');
    const f = b.node('flatten', [p1], { axis: 1 }, 'flat');
    const fc = b.node('fc', [f], { weight: b.param([4, 27], W2), bias: b.param([4], B2), outFeatures: 4 }, 'fc');
    const model = new Model(await getEngine(), b.build([fc], 'biased'));
    const x = rng(22).array(2 * 72, 0, 1);
    // the conv as a dense [108 × 72] matrix
    const convM = (w: ArrayLike<number>) => {
      const M = Array.from({ length: 108 }, () => new Float64Array(72));
      for (let o = 0; o < 3; o++)
        for (let i = 0; i < 6; i++)
          for (let j = 0; j < 6; j++)
            for (let c = 0; c < 2; c++)
              for (let u = 0; u < 3; u++)
                for (let v = 0; v < 3; v++) {
                  const y = i + u - 1, xx = j + v - 1;
                  if (y >= 0 && y < 6 && xx >= 0 && xx < 6) M[o * 36 + i * 6 + j]![c * 36 + y * 6 + xx] = w[((o * 2 + c) * 3 + u) * 3 + v]!;
                }
      return M;
    };
    const fcM = (w: ArrayLike<number>) => Array.from({ length: 4 }, (_, o) => Float64Array.from({ length: 27 }, (_, i) => w[o * 27 + i]!));
    type Rule = { name: string; eps?: number; gamma?: number; low?: number; high?: number };
    /** R_in of a dense layer under a rule: Σ_k ρ-contributions / (Σ_j ρ-contributions + bias' + ε sign) R_k */
    const dense = (M: Float64Array[], bias: ArrayLike<number>, a: Float64Array, R: Float64Array, rule: Rule) => {
      const out = new Float64Array(a.length);
      M.forEach((row, k) => {
        const contrib = (j: number) => {
          const w = row[j]!;
          switch (rule.name) {
            case 'epsilon': return a[j]! * w;
            case 'gamma': return a[j]! * (w + rule.gamma! * Math.max(w, 0));
            case 'zplus': return Math.max(a[j]!, 0) * Math.max(w, 0) + Math.min(a[j]!, 0) * Math.min(w, 0);
            case 'flat': return 1;
            case 'zb': return a[j]! * w - rule.low! * Math.max(w, 0) - rule.high! * Math.min(w, 0);
          }
          throw new Error(rule.name);
        };
        // flat: only the inputs the output actually sees (the conv's zero padding has no weight)
        const seen = (j: number) => rule.name !== 'flat' || w0(row, j);
        let z = rule.name === 'epsilon' ? bias[k]! : rule.name === 'gamma' ? bias[k]! + rule.gamma! * Math.max(bias[k]!, 0) : 0;
        for (let j = 0; j < a.length; j++) if (seen(j)) z += contrib(j);
        const d = z + (rule.eps ?? 1e-9) * (z >= 0 ? 1 : -1);
        if (d === 0) return;
        for (let j = 0; j < a.length; j++) if (seen(j)) out[j] += (contrib(j) / d) * R[k]!;
      });
      return out;
    };
    const w0 = (row: Float64Array, j: number) => row[j] !== 0;
    try {
      const cases: [LrpOptions, Rule, Rule][] = [
        [{ rule: 'epsilon', epsilon: 0.01 }, { name: 'epsilon', eps: 0.01 }, { name: 'epsilon', eps: 0.01 }],
        [{ rule: 'zplus' }, { name: 'zplus' }, { name: 'zplus' }],
        [{ rule: 'gamma', gamma: 0.5, epsilon: 1e-6 }, { name: 'gamma', gamma: 0.5, eps: 1e-6 }, { name: 'gamma', gamma: 0.5, eps: 1e-6 }],
        [{ rule: 'zplus', first: 'flat' }, { name: 'flat' }, { name: 'zplus' }],
        // no preprocessing: pixels 0..255 are the bounds
        [{ rule: 'composite', epsilon: 0.01 }, { name: 'zb', low: 0, high: 255 }, { name: 'epsilon', eps: 0.01 }],
      ];
      const Mc = convM(W1), Mf = fcM(W2);
      for (const [opts, first, last] of cases) {
        const got = await lrp(model, x, 2, opts);
        for (let n = 0; n < 2; n++) {
          const a0 = Float64Array.from(x.subarray(n * 72, (n + 1) * 72));
          const z1 = Mc.map((row, k) => row.reduce((s, w, j) => s + w * a0[j]!, 0) + B1[Math.floor(k / 36)]!);
          const a1 = z1.map((v) => Math.max(v, 0));
          const arg = new Int32Array(27);
          const a2 = new Float64Array(27);
          for (let c = 0; c < 3; c++)
            for (let i = 0; i < 3; i++)
              for (let j = 0; j < 3; j++) {
                let best = -1;
                for (let u = 0; u < 2; u++)
                  for (let v = 0; v < 2; v++) {
                    const q = c * 36 + (2 * i + u) * 6 + 2 * j + v;
                    if (best < 0 || a1[q]! > a1[best]!) best = q;
                  }
                arg[c * 9 + i * 3 + j] = best;
                a2[c * 9 + i * 3 + j] = a1[best]!;
              }
          const logits = Mf.map((row, k) => row.reduce((s, w, j) => s + w * a2[j]!, 0) + B2[k]!);
          const cls = got.classes[n]!;
          const R3 = new Float64Array(4);
          R3[cls] = logits[cls]!;
          const R2 = dense(Mf, B2, a2, R3, last);
          const R1 = new Float64Array(108);
          arg.forEach((q, k) => (R1[q] += R2[k]!));
          const R0 = dense(Mc, Array.from({ length: 108 }, (_, k) => B1[Math.floor(k / 36)]!), a0, R1, first);
          const scale = Math.max(...R0.map(Math.abs));
          expect(scale, `${opts.rule}`).to.be.above(0);
          R0.forEach((v, j) => expect(Math.abs(got.relevance.data[n * 72 + j]! - v), `${opts.rule}/${opts.first ?? ''} image ${n} at ${j}: ${got.relevance.data[n * 72 + j]} vs ${v}`).to.be.at.most(1e-4 * scale));
        }
      }
    } finally {
      model.destroy();
    }
  });

  it('refuses α − β ≠ 1 and ops without an LRP rule, naming them', async () => {
    expect(() => explainer('lrp').validate({ rule: 'alpha-beta', alpha: 2, beta: 0 })).to.not.throw(); // checked when it runs
    const r = rng(4);
    const b = new GraphBuilder([1, 1, 4, 4]);
    const c1 = conv(b, 'x', b.param([2, 1, 3, 3], r), { name: 'c1' });
    const s = b.node('sigmoid', [c1], {}, 'squash');
    const f = b.node('flatten', [s], { axis: 1 }, 'flat');
    const fc = b.node('fc', [f], { weight: b.param([2, 32], r), outFeatures: 2 }, 'fc');
    const model = new Model(await getEngine(), b.build([fc], 'sigmoid'));
    try {
      const x = r.array(16, 0, 1);
      const e1 = await rejection(() => lrp(model, x, 1, { rule: 'alpha-beta', alpha: 2, beta: 0 }));
      expect(e1).to.be.instanceOf(ArgumentError);
      expect(e1.message).to.match(/α − β = 1/);
      const e2 = await rejection(() => lrp(model, x, 1, {}));
      expect(e2).to.be.instanceOf(UnsupportedOpError);
      expect(e2.message).to.match(/layer "squash" \(sigmoid\): no LRP rule/);
    } finally {
      model.destroy();
    }
  });
});

describe('LRP on real models', function () {
  this.timeout(300_000);

  it('LeNet: the registry entry gives signed maps, relevance N×C×H×W and per-layer conservation', async () => {
    const model = new Model(await getEngine(), loadOnnx(readFileSync(LENET), 'lenet'));
    try {
      const x = rng(2).array(2 * 784, 0, 1);
      const e = await explainer('lrp').run(model, { data: x, batch: 2 }, { rule: 'composite' });
      expect(e.tensors.relevance!.shape).to.deep.equal([2, 1, 28, 28]);
      expect(e.maps!.shape).to.deep.equal([2, 28, 28]);
      const layers = e.meta.layers as { layer: string; gap: number[] }[];
      expect(layers.length).to.be.above(3);
      const overall = e.meta.conservation as { logit: number; input: number; gap: number; absorbed: number }[];
      expect(overall.length).to.equal(2);
      // the overall gap is what the layers absorbed (the layers' gaps telescope)
      overall.forEach((o) => expect(o.gap).to.be.closeTo(-o.absorbed, 1e-4 * Math.abs(o.logit)));
      expect(e.meta.rule).to.equal('composite');
    } finally {
      model.destroy();
    }
  });

  it('ResNet-50 (light ONNX graph, BatchNorm folded, residual adds): one image, finite, non-constant, conservation reported', async function () {
    if (!existsSync(RESNET)) this.skip();
    const model = new Model(await getEngine(), loadOnnx(readFileSync(RESNET), 'light_resnet50.onnx'));
    try {
      const [, c, h, w] = model.graph.input.shape as [number, number, number, number];
      const x = rng(50).array(c * h * w, -1, 1);
      const r = await lrp(model, x, 1, { rule: 'zplus' });
      expect(r.relevance.data.every(Number.isFinite)).to.equal(true);
      expect(new Set(r.maps).size).to.be.above(100);
      const ops = new Set(r.layers.map((L) => L.op));
      for (const op of ['conv', 'add', 'maxpool', 'fc']) expect(ops).to.include(op);
      expect(r.layers.every((L) => L.in.length === 1 && L.out.length === 1)).to.equal(true);
      // z⁺ leaves the folded BatchNorm biases out: every layer conserves, to float32 sums over big maps
      expectConserved(r, 1e-3);
    } finally {
      model.destroy();
    }
  });
});

describe('loupe explain --method lrp', function () {
  this.timeout(120_000);
  const tmp = mkdtempSync(join(tmpdir(), 'loupe-lrp-'));

  it('writes its files; bad input gives one line and exit 1', () => {
    const prefix = join(tmp, 'lrp');
    const r = runLoupe(['explain', '--method', 'lrp', '--model', LENET, '--image', DIGIT, '--rule', 'composite', '--out', prefix]);
    expect(r.code, r.err).to.equal(0);
    const meta = JSON.parse(readFileSync(`${prefix}.json`, 'utf8'));
    expect(meta).to.include({ method: 'lrp', rule: 'composite' });
    expect(meta.layers.length).to.be.above(3);
    expect(existsSync(`${prefix}.png`)).to.equal(true);
    expectOneLine(runLoupe(['explain', '--method', 'lrp', '--model', LENET, '--image', DIGIT, '--rule', 'alpha-beta', '--alpha', '2', '--beta', '0', '--out', join(tmp, 'bad')]), /α − β = 1/);
    expectOneLine(runLoupe(['explain', '--method', 'lrp', '--model', LENET, '--image', DIGIT, '--rule', 'zeta', '--out', join(tmp, 'bad2')]), /--rule/);
    // an op without an LRP rule: GoogLeNet's local response normalisation, named
    const inception = join(DATA, 'onnx/onnx-light-models/light_inception_v1.onnx');
    if (existsSync(inception))
      expectOneLine(runLoupe(['explain', '--method', 'lrp', '--model', inception, '--image', DIGIT, '--out', join(tmp, 'lrn')]), /layer "n8" \(lrn\): no LRP rule/);
    expect(existsSync(join(tmp, 'lrn.json'))).to.equal(false);
  });
});
