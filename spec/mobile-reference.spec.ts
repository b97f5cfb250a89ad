// Float64 CPU references of the mobile-family ops (spec/reference.ts: clip, hardSigmoid, hardSwish,
// transpose, sliceChannels, broadcastBinary, reduceMean; spec/reverse-reference.ts: their input
// gradients and ReLU6's DeconvNet / guided rules), before the engine has them:
//  (a) each forward reference against hand-worked values and against the references of existing
//      ops it must agree with (relu, channelAffine, globalPool, concat, reshape);
//  (b) each gradient reference against central finite differences of the forward reference of
//      L = Σ forward(x) · r for random r, on random shapes with size-1 and odd dimensions, inputs
//      kept away from the kinks;
//  (c) the values chosen at the kinks (PyTorch's; see spec/reverse-reference.ts) and the
//      rectifier rules.
// CPU only: no engine.

import { expect } from 'chai';
import { numel } from '../engine/shapes.ts';
import * as R from './reference.ts';
import * as B from './reverse-reference.ts';
import { assertClose, rng, type Rng } from './helpers.ts';

const FD_TOL = { atol: 0, rtol: 1e-6 };
const EXACT = { atol: 1e-15, rtol: 1e-15 };

const rand = (r: Rng, shape: number[], lo = -1, hi = 1): R.RefTensor => R.tensor(shape, r.array(numel(shape), lo, hi));
/** Uniform in [lo, hi), but at least `margin` from every kink (FD steps of 1e-6 never cross one). */
function awayFrom(r: Rng, shape: number[], lo: number, hi: number, kinks: number[], margin = 1e-3): R.RefTensor {
  const t = rand(r, shape, lo, hi);
  t.data = t.data.map((v) => {
    for (const k of kinks) if (Math.abs(v - k) < margin) return k + (v < k ? -margin : margin);
    return v;
  });
  return t;
}
/** A random shape of rank `rank` from sizes 1, 2, 3, 5, 7 with `min` to `cap` elements. */
function randShape(r: Rng, rank: number, cap = 240, min = 1): number[] {
  for (;;) {
    const s = Array.from({ length: rank }, () => r.pick([1, 2, 3, 5, 7]));
    if (numel(s) <= cap && numel(s) >= min) return s;
  }
}
/** A random permutation of 0..rank-1 that keeps 0 first. */
function randPerm(r: Rng, rank: number): number[] {
  const rest = Array.from({ length: rank - 1 }, (_, i) => i + 1);
  for (let i = rest.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [rest[i], rest[j]] = [rest[j]!, rest[i]!];
  }
  return [0, ...rest];
}
const close = (got: R.RefTensor, want: R.RefTensor, what: string, tol = EXACT) => assertClose(got, want, tol, what);
const fdClose = (fd: Float64Array, want: R.RefTensor, what: string) => {
  let m = 0;
  for (const v of want.data) m = Math.max(m, Math.abs(v));
  expect(m, `${what}: the analytic gradient is all zero`).to.be.above(0);
  assertClose({ shape: want.shape, data: fd }, want, FD_TOL, what);
};
const fd = B.finiteDiff;
const vals = (t: R.RefTensor) => Array.from(t.data);

describe('mobile-op references (float64, CPU)', () => {
  describe('(a) forward', () => {
    it('clip, hardSigmoid, hardSwish at hand-worked points', () => {
      const x = R.tensor([1, 9], [-7, -3, -1, 0, 0.5, 3, 5.5, 6, 8]);
      expect(vals(R.clip(x, 0, 6))).to.deep.equal([0, 0, 0, 0, 0.5, 3, 5.5, 6, 6]);
      expect(vals(R.clip(x, -1, 1))).to.deep.equal([-1, -1, -1, 0, 0.5, 1, 1, 1, 1]);
      const hsig = vals(R.hardSigmoid(x, 1 / 6, 0.5));
      [0, 0, 1 / 3, 0.5, 0.5 + 0.5 / 6, 1, 1, 1, 1].forEach((w, i) => expect(hsig[i]).to.be.closeTo(w, 1e-15));
      expect(vals(R.hardSigmoid(x, 0.2, 0.5))).to.deep.equal([0, 0, 0.3, 0.5, 0.6, 1, 1, 1, 1]); // ONNX's default alpha
      const hs = vals(R.hardSwish(x));
      [0, 0, -1 / 3, 0, 0.5 * (0.5 + 0.5 / 6), 3, 5.5, 6, 8].forEach((w, i) => expect(hs[i]).to.be.closeTo(w, 1e-15));
    });

    it('clip(x, 0, ∞) is ReLU; hardSwish(x) is x · hardSigmoid(x, 1/6, 1/2)', () => {
      const r = rng(301);
      const x = rand(r, [2, 3, 5, 7], -8, 8);
      close(R.clip(x, 0, Infinity), R.relu(x), 'clip vs relu');
      close(R.hardSwish(x), R.mul([x, R.hardSigmoid(x, 1 / 6, 0.5)]), 'hardSwish vs x·hardSigmoid');
    });

    it('transpose: a hand-worked case, the ShuffleNet channel shuffle, inverse-permutation round trips up to rank 6, bad perms', () => {
      // [1, 2, 3] → perm [0, 2, 1] → [1, 3, 2]
      const t = R.transpose(R.tensor([1, 2, 3], [1, 2, 3, 4, 5, 6]), [0, 2, 1]);
      expect(t.shape).to.deep.equal([1, 3, 2]);
      expect(vals(t)).to.deep.equal([1, 4, 2, 5, 3, 6]);
      // channel_shuffle(x, 2) as torch exports it: Reshape [N, 2, C/2, H, W], Transpose [0, 2, 1, 3, 4], Reshape [N, C, H, W]:
      // output channel k is input channel (k mod 2)·C/2 + ⌊k/2⌋
      const r = rng(302);
      const [n, c, h, w] = [2, 6, 3, 1];
      const x = rand(r, [n, c, h, w]);
      const y = R.reshape(R.transpose(R.reshape(x, [0, 2, c / 2, h, w]), [0, 2, 1, 3, 4]), [0, c, h, w]);
      for (let b = 0; b < n; b++)
        for (let k = 0; k < c; k++)
          for (let p = 0; p < h * w; p++) expect(y.data[(b * c + k) * h * w + p]).to.equal(x.data[(b * c + (k % 2) * (c / 2) + Math.floor(k / 2)) * h * w + p]);
      for (let rank = 2; rank <= 6; rank++)
        for (let t2 = 0; t2 < 3; t2++) {
          const s = randShape(r, rank);
          const perm = randPerm(r, rank);
          const inv = perm.map((_, i) => perm.indexOf(i));
          const u = rand(r, s);
          const v = R.transpose(u, perm);
          expect(v.shape).to.deep.equal(perm.map((p) => s[p]));
          close(R.transpose(v, inv), u, `transpose [${s}] by [${perm}] and back`);
        }
      expect(() => R.transpose(rand(r, [2, 3, 1]), [1, 0, 2])).to.throw(/batch/);
      expect(() => R.transpose(rand(r, [1, 1, 1, 1, 1, 1, 1]), [0, 1, 2, 3, 4, 5, 6])).to.throw(/rank 7/);
      expect(() => R.transpose(rand(r, [2, 3, 1]), [0, 1, 1])).to.throw(/permutation/);
    });

    it('sliceChannels: the chunks of torch.chunk(x, 2, dim=1) concatenate back to x (ranks 2 to 5)', () => {
      const r = rng(303);
      for (const s of [[2, 6], [1, 4, 3], [3, 2, 5, 1], [2, 8, 1, 3, 2]]) {
        const x = rand(r, s);
        const half = s[1]! / 2;
        const a = R.sliceChannels(x, 0, half), b = R.sliceChannels(x, half, half);
        expect(a.shape).to.deep.equal([s[0], half, ...s.slice(2)]);
        // R.concat is NCHW-agnostic along axis 1
        close(R.concat([a, b]), x, `chunk of [${s}]`);
        close(R.concat([R.sliceChannels(x, 0, 1), R.sliceChannels(x, 1, s[1]! - 1)]), x, `1 + rest of [${s}]`);
      }
      expect(() => R.sliceChannels(rand(r, [1, 4, 2, 2]), 3, 2)).to.throw();
    });

    it('broadcastBinary: equal shapes are add / mul; SE [1,C,H,W] × [1,C,1,1] is channelAffine; ranks must match', () => {
      const r = rng(304);
      const a = rand(r, [2, 3, 5, 7]), b = rand(r, [2, 3, 5, 7]);
      close(R.broadcastBinary(a, b, 'add'), R.add([a, b]), 'add');
      close(R.broadcastBinary(a, b, 'mul'), R.mul([a, b]), 'mul');
      const x = rand(r, [1, 5, 3, 7]), g = rand(r, [1, 5, 1, 1]);
      close(R.broadcastBinary(g, x, 'mul'), R.channelAffine(x, g.data), 'gate × x');
      close(R.broadcastBinary(x, g, 'add'), R.channelAffine(x, undefined, g.data), 'x + per-channel');
      // both operands broadcast: [2,1,3] + [1,4,1] → [2,4,3]
      const u = R.tensor([2, 1, 3], [1, 2, 3, 4, 5, 6]), v = R.tensor([1, 4, 1], [10, 20, 30, 40]);
      const y = R.broadcastBinary(u, v, 'add');
      expect(y.shape).to.deep.equal([2, 4, 3]);
      expect(vals(y).slice(0, 6)).to.deep.equal([11, 12, 13, 21, 22, 23]);
      expect(vals(y).slice(21)).to.deep.equal([44, 45, 46]);
      expect(() => R.broadcastBinary(rand(r, [1, 5, 3, 3]), rand(r, [5, 1, 1]), 'mul')).to.throw(/ranks/);
      expect(() => R.broadcastBinary(rand(r, [1, 5, 3, 3]), rand(r, [1, 4, 1, 1]), 'mul')).to.throw(/axis 1/);
    });

    it('reduceMean: axes [2,3] is the global average pool (keepdims) or its flattening; negative and empty axes', () => {
      const r = rng(305);
      const x = rand(r, [2, 5, 3, 7]);
      const gap = R.globalPool(x, 'avg');
      close(R.reduceMean(x, [2, 3], true), gap, 'keepdims', { atol: 1e-15, rtol: 1e-14 });
      const flat = R.reduceMean(x, [2, 3], false);
      expect(flat.shape).to.deep.equal([2, 5]);
      close(flat, { shape: [2, 5], data: gap.data }, 'keepdims 0', { atol: 1e-15, rtol: 1e-14 });
      close(R.reduceMean(x, [-1, -2], false), flat, 'negative axes');
      const all = R.reduceMean(x, [], true);
      expect(all.shape).to.deep.equal([1, 1, 1, 1]);
      expect(all.data[0]).to.be.closeTo(x.data.reduce((s, v) => s + v, 0) / x.data.length, 1e-15);
      const c = R.reduceMean(R.tensor([1, 2, 3], [1, 2, 3, 4, 5, 6]), [1], false);
      expect(c.shape).to.deep.equal([1, 3]);
      expect(vals(c)).to.deep.equal([2.5, 3.5, 4.5]);
      expect(() => R.reduceMean(x, [4], true)).to.throw();
    });
  });

  describe('(b) gradients equal central finite differences', () => {
    it('clip (ReLU6 and others), inputs away from the kinks', () => {
      const r = rng(401);
      for (const [lo, hi] of [[0, 6], [-1, 1], [0, 0.5], [-2.5, 3]] as const)
        for (let t = 0; t < 3; t++) {
          const s = randShape(r, r.int(2, 5), 240, 12);
          const x = awayFrom(r, s, lo - (hi - lo) / 2, hi + (hi - lo) / 2, [lo, hi]);
          const dy = rand(r, s);
          fdClose(fd((v) => R.clip(R.tensor(s, v), lo, hi).data, x.data, dy.data), B.clipBackward('gradient', dy, x.data, lo, hi), `clip(${lo}, ${hi}) on [${s}]`);
        }
    });

    it('hardSigmoid (torch 1/6, 1/2 and ONNX default 0.2, 1/2) and hardSwish, inputs away from the kinks', () => {
      const r = rng(402);
      for (const [alpha, beta] of [[1 / 6, 0.5], [0.2, 0.5], [0.5, 0.2]] as const)
        for (let t = 0; t < 3; t++) {
          const s = randShape(r, r.int(2, 5), 240, 12);
          const k0 = -beta / alpha, k1 = (1 - beta) / alpha;
          const x = awayFrom(r, s, k0 - (k1 - k0) / 2, k1 + (k1 - k0) / 2, [k0, k1]);
          const dy = rand(r, s);
          fdClose(fd((v) => R.hardSigmoid(R.tensor(s, v), alpha, beta).data, x.data, dy.data), B.hardSigmoidGrad(dy, x.data, alpha, beta), `hardSigmoid(${alpha}, ${beta}) on [${s}]`);
        }
      for (let t = 0; t < 4; t++) {
        const s = randShape(r, r.int(2, 5), 240, 12);
        const x = awayFrom(r, s, -6, 6, [-3, 3]);
        const dy = rand(r, s);
        fdClose(fd((v) => R.hardSwish(R.tensor(s, v)).data, x.data, dy.data), B.hardSwishGrad(dy, x.data), `hardSwish on [${s}]`);
      }
    });

    it('transpose, ranks 2 to 6, random perms keeping the batch first', () => {
      const r = rng(403);
      for (let rank = 2; rank <= 6; rank++)
        for (let t = 0; t < 2; t++) {
          const s = randShape(r, rank, 160);
          const perm = randPerm(r, rank);
          const x = rand(r, s);
          const dy = rand(r, perm.map((p) => s[p]!));
          fdClose(fd((v) => R.transpose(R.tensor(s, v), perm).data, x.data, dy.data), B.transposeGrad(dy, s, perm), `transpose [${s}] by [${perm}]`);
        }
      // ShuffleNet's [N, 2, C/2, H, W] by [0, 2, 1, 3, 4]
      const s = [2, 2, 3, 1, 5];
      const x = rand(r, s), dy = rand(r, [2, 3, 2, 1, 5]);
      fdClose(fd((v) => R.transpose(R.tensor(s, v), [0, 2, 1, 3, 4]).data, x.data, dy.data), B.transposeGrad(dy, s, [0, 2, 1, 3, 4]), 'channel shuffle');
    });

    it('sliceChannels, alone and both chunks of one tensor (gradients add up)', () => {
      const r = rng(404);
      for (let t = 0; t < 6; t++) {
        const s = randShape(r, r.int(2, 5));
        s[1] = r.pick([2, 3, 5, 7]);
        const c0 = r.int(0, s[1]! - 1), count = r.int(1, s[1]! - c0);
        const x = rand(r, s);
        const dy = rand(r, [s[0]!, count, ...s.slice(2)]);
        fdClose(fd((v) => R.sliceChannels(R.tensor(s, v), c0, count).data, x.data, dy.data), B.sliceChannelsGrad(dy, s, c0), `channels [${c0}, ${c0 + count}) of [${s}]`);
      }
      // torch.chunk(x, 2, 1) with both halves used: L = Σ slice0 · r0 + Σ slice1 · r1
      const s = [2, 6, 3, 1];
      const x = rand(r, s), d0 = rand(r, [2, 3, 3, 1]), d1 = rand(r, [2, 3, 3, 1]);
      const both = (v: Float64Array) => [...R.sliceChannels(R.tensor(s, v), 0, 3).data, ...R.sliceChannels(R.tensor(s, v), 3, 3).data];
      fdClose(fd(both, x.data, [...d0.data, ...d1.data]), B.sliceChannelsGrad(d1, s, 3, B.sliceChannelsGrad(d0, s, 0)), 'both chunks');
    });

    it('broadcastBinary add and mul, both operands, random broadcast patterns (SE gate, SiLU, both sides broadcast)', () => {
      const r = rng(405);
      const cases: [number[], number[]][] = [
        [[2, 5, 3, 3], [2, 5, 1, 1]], // x · SE gate
        [[1, 7, 1, 1], [1, 7, 5, 3]], // gate first, as torch exports it
        [[2, 3, 5, 7], [2, 3, 5, 7]], // SiLU: x · sigmoid(x), equal shapes
        [[3, 8], [3, 8]], // rank 2 (the v3 classifier's hardswish at opset 13)
      ];
      for (let t = 0; t < 6; t++) {
        const rank = r.int(2, 5);
        const out = randShape(r, rank, 200);
        const a = out.map((d) => (r.bool(0.3) ? 1 : d)), b = out.map((d) => (r.bool(0.3) ? 1 : d));
        cases.push([a, b]);
      }
      for (const [sa, sb] of cases)
        for (const op of ['add', 'mul'] as const) {
          const a = rand(r, sa), b = rand(r, sb);
          const y = R.broadcastBinary(a, b, op);
          const dy = rand(r, y.shape);
          const g = B.broadcastBinaryGrad(a, b, dy, op);
          fdClose(fd((v) => R.broadcastBinary(R.tensor(sa, v), b, op).data, a.data, dy.data), g.da, `${op} [${sa}] with [${sb}]: first operand`);
          fdClose(fd((v) => R.broadcastBinary(a, R.tensor(sb, v), op).data, b.data, dy.data), g.db, `${op} [${sa}] with [${sb}]: second operand`);
        }
    });

    it('reduceMean, random axes, keepdims 0 and 1', () => {
      const r = rng(406);
      const cases: { s: number[]; axes: number[] }[] = [{ s: [2, 5, 3, 7], axes: [2, 3] }, { s: [1, 4, 1, 1], axes: [-2, -1] }];
      for (let t = 0; t < 6; t++) {
        const s = randShape(r, r.int(2, 5));
        const axes = s.map((_, i) => i).filter(() => r.bool(0.5));
        cases.push({ s, axes });
      }
      for (const { s, axes } of cases)
        for (const keep of [true, false]) {
          const x = rand(r, s);
          const y = R.reduceMean(x, axes, keep);
          const dy = rand(r, y.shape);
          fdClose(fd((v) => R.reduceMean(R.tensor(s, v), axes, keep).data, x.data, dy.data), B.reduceMeanGrad(dy, s, axes), `mean over [${axes}] of [${s}], keepdims ${keep}`);
        }
    });
  });

  describe('(c) values at the kinks and the rectifier rules', () => {
    const dy = R.tensor([1, 6], [2, -2, 2, -2, 2, -2]);

    it('clip: 0 at both kinks (nn.ReLU6 / hardtanh), dy strictly inside', () => {
      const x = [0, 0, 6, 6, 3, -1];
      expect(vals(B.clipBackward('gradient', dy, x, 0, 6))).to.deep.equal([0, 0, 0, 0, 2, 0]);
      expect(vals(B.clipBackward('gradient', dy, [-1, 1, 0.5, 1.5, -1.5, 0], -1, 1))).to.deep.equal([0, 0, 2, 0, 0, -2]);
    });

    it('hardSigmoid: 0 at both kinks; hardSwish: PyTorch\'s inner formula at both kinks (−dy/2 at −3, 3dy/2 at 3)', () => {
      const x = [-3, 3, 0, -4, 4, 1.5];
      expect(vals(B.hardSigmoidGrad(dy, x, 1 / 6, 0.5))).to.deep.equal([0, 0, 2 / 6, 0, 0, -2 / 6]);
      expect(vals(B.hardSwishGrad(dy, x))).to.deep.equal([-1, -3, 1, 0, 2, -2]);
    });

    it('ReLU6 DeconvNet: max(dy, 0) whatever the input; guided: max(dy, 0) where 0 < x < 6', () => {
      const x = [-1, 7, 6, 3, 0, 3];
      expect(vals(B.clipBackward('deconv', dy, x, 0, 6))).to.deep.equal([2, 0, 2, 0, 2, 0]);
      expect(vals(B.clipBackward('guided', R.tensor([1, 6], [2, 2, 2, 2, 2, -2]), x, 0, 6))).to.deep.equal([0, 0, 0, 2, 0, 0]);
      expect(vals(B.clipBackward('gradient', R.tensor([1, 6], [2, 2, 2, 2, 2, -2]), x, 0, 6))).to.deep.equal([0, 0, 0, 2, 0, -2]);
      // below the upper kink, ReLU6's rules are ReLU's
      const r = rng(501);
      const u = awayFrom(r, [2, 3, 5, 7], -3, 5.9, [0]);
      const g = rand(r, [2, 3, 5, 7]);
      for (const rule of ['gradient', 'guided', 'deconv'] as const)
        close(B.clipBackward(rule, g, u.data, 0, 6), B.reluBackward(rule, g, u.data, true), `ReLU6 ${rule} = ReLU ${rule} below 6`);
      expect(() => B.clipBackward('guided', g, u.data, -1, 1)).to.throw(/rectifier/);
      expect(() => B.clipBackward('deconv', g, u.data, -1, 1)).to.throw(/rectifier/);
    });
  });
});
