// The mobile families (MobileNet v2/v3, ShuffleNet v2, EfficientNet, MNASNet) as users export them
// from PyTorch: torchvision models with random weights and non-trivial BatchNorm statistics, made by
// scripts/mobile-models.py through spec/mobile-models.ts (needs Debian's python3-torch and
// python3-torchvision). (a) onnxruntime-node on each ONNX file equals torch's logits: the fixtures are
// right. (b) Loupe equals onnxruntime-node on each model, at batch 2 and batch 1.
//
// FINDINGS
// @@FINDINGS@@

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Model } from '../engine/runner.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { readNpy, type NpyArray } from '../loaders/npy.ts';
import { ortRun, ortSession } from '../cli/ort.ts';
import { closeEngine, getEngine } from './helpers.ts';
import { mobileModels, type MobileModel } from './mobile-models.ts';

const bytes = (p: string) => new Uint8Array(readFileSync(p));
const npy = (p: string): NpyArray => readNpy(bytes(p), basename(p));

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length, 'number of logits').to.equal(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Number.isNaN(a[i]!) || Number.isNaN(b[i]!) ? Infinity : Math.abs(a[i]! - b[i]!));
  return m;
}
/** Asserts max |got − want| ≤ rtol · max |want| (and that want is not all zero). */
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, what: string): void {
  const m = maxAbs(want);
  expect(m, `${what}: the reference logits are all zero`).to.be.above(0);
  const d = maxDiff(got, want);
  expect(d, `${what}: max |Δlogit| = ${d.toExponential(3)}, max |logit| = ${m.toPrecision(4)}`).to.be.at.most(rtol * m);
}

let models: MobileModel[] = [];
let setupError: Error | undefined;
try {
  models = mobileModels();
} catch (e) {
  setupError = e as Error;
}

describe('mobile families (torch exports with random weights)', function () {
  if (setupError) {
    it('makes the test models with scripts/mobile-models.py', () => {
      throw setupError;
    });
    return;
  }

  it('every family is there', () => {
    expect(models.map((m) => m.name)).to.include.members(['mobilenet_v2_x0_5', 'mobilenet_v3_small', 'mobilenet_v3_small_opset13', 'shufflenet_v2_x0_5', 'efficientnet_b0', 'mnasnet0_5']);
  });

  describe('(a) onnxruntime-node equals torch', () => {
    for (const m of models)
      it(`${m.name} (opset ${m.opset}, BatchNorm ${m.batchnorm})`, async () => {
        const x = npy(m.input);
        const want = npy(m.output);
        expect(x.shape).to.deep.equal(m.inputShape);
        const s = await ortSession(bytes(m.onnx));
        const got = (await ortRun(s, x.data, x.shape))[s.outputNames[0]!]!;
        // measured: at most 2.6e-5 · max|logit| (MobileNet v2)
        expectClose(got, want.data, 1e-4, `${m.name}: ORT vs torch`);
        // the batch dimension is symbolic: one image alone gives the same logits
        const one = (await ortRun(s, x.data.subarray(0, x.data.length / x.shape[0]!), [1, ...x.shape.slice(1)]))[s.outputNames[0]!]!;
        expectClose(one, want.data.subarray(0, one.length), 1e-4, `${m.name}: ORT batch 1 vs torch`);
      });
  });

  // Enabled when the mobile ops land: Loupe's loader rejects every one of these models today
  // (Clip, HardSwish, HardSigmoid, Transpose, Slice of a computed tensor, broadcasting Mul of two
  // computed tensors, ReduceMean; see FINDINGS above for the first error of each).
  describe.skip('(b) Loupe equals onnxruntime-node — enabled when the mobile ops land', () => {
    after(async () => {
      await closeEngine();
    });
    for (const m of models)
      it(`${m.name} (opset ${m.opset}, BatchNorm ${m.batchnorm}), batch 2 and batch 1`, async () => {
        const x = npy(m.input);
        const n = x.shape[0]!;
        const g = loadOnnx(bytes(m.onnx), basename(m.onnx));
        const out = g.outputs[0]!;
        const model = new Model(await getEngine(), g);
        try {
          const s = await ortSession(bytes(m.onnx));
          const ref = (await ortRun(s, x.data, x.shape))[s.outputNames[0]!]!;
          const ours = (await model.run(x.data, n, { outputs: [out] })).get(model.resolve(out))!;
          expect(ours.shape).to.deep.equal(m.outputShape);
          expectClose(ours.data, ref, 1e-4, `${m.name}: Loupe vs ORT, batch ${n}`);
          const x1 = x.data.subarray(0, x.data.length / n);
          const ref1 = (await ortRun(s, x1, [1, ...x.shape.slice(1)]))[s.outputNames[0]!]!;
          const ours1 = (await model.run(x1, 1, { outputs: [out] })).get(model.resolve(out))!;
          expectClose(ours1.data, ref1, 1e-4, `${m.name}: Loupe vs ORT, batch 1`);
        } finally {
          model.destroy();
        }
      });
  });
});
