// The mobile families (MobileNet v2/v3, ShuffleNet v2, EfficientNet, MNASNet) as users export them
// from PyTorch: torchvision models with random weights and non-trivial BatchNorm statistics, made by
// scripts/mobile-models.py through spec/mobile-models.ts (needs Debian's python3-torch and
// python3-torchvision). (a) onnxruntime-node on each ONNX file equals torch's logits: the fixtures are
// right. (b) Loupe equals onnxruntime-node on each model, at batch 2 and batch 1.
//
// FINDINGS (Debian's torch 1.13.1, torchvision 0.14.1; opset 14 unless said; N is the symbolic batch; "today"
// is loaders/onnx.ts at the commit this file was written on)
//
// ONNX op types per model:
//   mobilenet_v2_x0_5          170 nodes: Constant 70, Conv 52, Clip 35, Add 10, GlobalAveragePool 1, Flatten 1, Gemm 1
//   mobilenet_v2_x0_5_bn       222 nodes: the same + BatchNormalization 52 (exported with training=PRESERVE)
//   mobilenet_v3_small         122 nodes: Conv 52, HardSwish 19, Relu 14, GlobalAveragePool 10, HardSigmoid 9, Mul 9,
//                                         Add 6, Gemm 2, Flatten 1
//   mobilenet_v3_small_opset13 141 nodes: Conv 52, HardSigmoid 28, Mul 28, Relu 14, GlobalAveragePool 10, Add 6, Gemm 2,
//                                         Flatten 1
//   shufflenet_v2_x0_5         886 nodes: Constant 302, Unsqueeze 112, Shape 77, Gather 77, Conv 56, Concat 48, Relu 37,
//                                         Cast 32, Reshape 32, Div 29, Mul 26, Slice 26, Transpose 16, Add 13, MaxPool 1,
//                                         ReduceMean 1, Gemm 1
//   efficientnet_b0            239 nodes: Conv 81, Sigmoid 65, Mul 65, GlobalAveragePool 17, Add 9, Flatten 1, Gemm 1
//   mnasnet0_5                  99 nodes: Conv 52, Relu 35, Add 10, ReduceMean 1, Gemm 1
// torch's default (eval) export folds every BatchNorm into its Conv: no BatchNormalization node is left.
// With a fresh model's identity statistics it even deduplicates the equal zero biases into Identity
// nodes; hence the random statistics here, and the _bn variant, whose 52 BatchNormalization nodes
// (epsilon 1e-5, momentum 0.9, training_mode 0, 4 initializer inputs) loadOnnx already folds.
//
// How torch exports each new op:
//  - ReLU6 → Clip with no attributes and 3 inputs: x, min, max; min and max are rank-0 float
//    tensors 0.0 and 6.0, each from its own Constant node (35 Clips, 70 Constants). loadOnnx folds
//    Constant nodes, so the mapper sees Const min/max. Inputs are always [N,C,H,W].
//  - nn.Hardsigmoid → HardSigmoid with attribute alpha = 0.1666666716337204 (float32 1/6) and NO
//    beta attribute (ONNX default 0.5; NB ONNX's default alpha is 0.2, so alpha must be read).
//    Inputs: the SE gate [N,C,1,1] (9 in v3); at opset 13 also [N,C,H,W] (18) and [N,1024] (1).
//  - nn.Hardswish → opset 14: HardSwish, no attributes, 1 input: [N,C,H,W] (18) and [N,1024] (1,
//    the classifier, after a Gemm: rank 2). Opset 13: Mul(x, HardSigmoid(x)) with x first, same
//    shapes (today's 'mul' maps it; only the HardSigmoid is missing).
//  - channel_shuffle(x, 2) (ShuffleNet, 16 times) → Reshape(x, [N, 2, C/2, H, W]) → Transpose
//    perm [0, 2, 1, 3, 4] → Reshape(·, [N, -1, H, W]). Both shape inputs are Concat(axis 0) of
//    Unsqueeze(axes input Constant [0]) of Gather(Shape(x), scalar Constant index 0/1/2/3), with
//    C/2 as Cast(to 7 = int64) of Cast of Div(Gather(Shape(x), 1), Constant 2), and Constant [2] and
//    [-1] between: 4 Shape, 4 Gather, 7 Unsqueeze, 1 Div, 2 Cast, 2 Concat per shuffle. loadOnnx
//    already folds all of it (Shape of a computed value is folded with the batch taken as 1, which is
//    right here because the batch only ever lands in position 0 of a Reshape target, which the
//    mapper writes as 0 = copy) and emits two IR reshapes: {shape: [0, 2, C/2, H, W]} (rank 5) and
//    {shape: [0, C, H, W]}. Shapes: C/2 = 24 at 8×8 (4×), 48 at 4×4 (8×), 96 at 2×2 (4×). Only the
//    5-D Transpose is missing; as a whole the three ops are the channel permutation
//    out[j·2 + i] = in[i·C/2 + j] (i < 2, j < C/2).
//  - x.chunk(2, dim=1) (ShuffleNet's 13 stride-1 blocks) → two Slice nodes with 4 inputs (data,
//    starts, ends, axes; no steps), not Split: starts [0], ends [((C+1)/2)·1] and starts
//    [((C+1)/2)·1], ends [((C+1)/2)·2], axes Constant [1], the bounds from
//    Mul(Div(Add(Gather(Shape(x), Constant [1]), Constant [1]), Constant [2]), Constant [1] or [2])
//    (1-D int64; 1 Shape, 1 Gather, 1 Add, 1 Div, 2 Mul per chunk). loadOnnx folds the bounds to
//    channels [0, C/2) and [C/2, C) for C = 48 at 8×8 (3×), 96 at 4×4 (7×), 192 at 2×2 (3×); the
//    data is computed [N,C,H,W], so the Slice itself is unsupported. The first half goes straight to
//    a Concat(axis 1) with branch2(second half).
//  - Mul of two computed tensors: v3 (opset 14): 9, all squeeze-and-excitation, input 0 the gate
//    HardSigmoid [N,C,1,1], input 1 the features [N,C,H,W]: (C,H,W) = (16,16,16), (96,4,4),
//    (240,4,4) 2×, (120,4,4), (144,4,4), (288,2,2), (576,2,2) 2×. v3 opset 13: those 9 + 19
//    same-shape x·HardSigmoid(x) (18 × [N,C,H,W], 1 × [N,1024]). EfficientNet-B0: 49 SiLU
//    Mul(x, Sigmoid(x)), x first, same shape (mapped today), and 16 SE Muls, gate Sigmoid [N,C,1,1]
//    first, features second: (32,32,32), (96,16,16), (144,16,16), (144,8,8), (240,8,8), (240,4,4),
//    (480,4,4) 3×, (672,4,4) 2×, (672,2,2), (1152,2,2) 4×. ShuffleNet's 26 Muls are shape arithmetic
//    (folded). The broadcast operand is always input 0 and always [N,C,1,1] against [N,C,H,W].
//  - x.mean([2, 3]) (ShuffleNet, MNASNet) → ReduceMean with attributes axes [2, 3] (an attribute
//    until opset 18) and keepdims 0: [N,1024,2,2] → [N,1024] and [N,1280,2,2] → [N,1280], followed
//    directly by Gemm: GlobalAveragePool + Flatten.
//  - Everything else is mapped today: Gemm (transB 1), Flatten(axis 1) after GlobalAveragePool,
//    MaxPool (ShuffleNet: 3×3, stride 2, pads 1), same-shape Add (residuals), Concat(axis 1), Relu,
//    Sigmoid. No Dropout, Split, Expand, Pad, Squeeze or computed Sub/Div appear.
//
// First error of today's loadOnnx (all UnsupportedOpError):
//   mobilenet_v2_x0_5 and _bn: unsupported operator Clip in node "/features/features.0/features.0.2/Clip"
//   mobilenet_v3_small: unsupported operator HardSwish in node "/features/features.0/features.0.2/HardSwish"
//   mobilenet_v3_small_opset13: unsupported operator HardSigmoid in node "/features/features.0/features.0.2/HardSigmoid"
//   shufflenet_v2_x0_5: unsupported operator Transpose in node "/stage2/stage2.0/Transpose"
//   efficientnet_b0: unsupported operator Mul in node "/features/features.1/features.1.0/block/block.1/Mul":
//     broadcasting between computed tensors [1, 32, 1, 1], [1, 32, 32, 32]
//   mnasnet0_5: unsupported operator ReduceMean in node "/ReduceMean"
// Every unsupported node (a scratch copy of the loader that records each one and goes on):
//   mobilenet_v2_x0_5 and _bn: 35 × Clip(x, 0, 6)
//   mobilenet_v3_small: 19 × HardSwish, 9 × HardSigmoid, 9 × broadcasting Mul
//   mobilenet_v3_small_opset13: 28 × HardSigmoid, 9 × broadcasting Mul
//   shufflenet_v2_x0_5: 16 × Transpose (5-D), 26 × Slice of a computed tensor (axis 1), 1 × ReduceMean
//   efficientnet_b0: 16 × broadcasting Mul
//   mnasnet0_5: 1 × ReduceMean
// So the mappings needed are exactly: Clip (Const min/max), HardSigmoid (alpha, beta), HardSwish,
// Mul (and Add) of [N,C,1,1] with [N,C,H,W], 5-D Transpose with perm[0] = 0, Slice of channels,
// ReduceMean over [2, 3] (keepdims 0 and 1); the activations must take rank 2 as well as rank 4.
// The same scratch loader with those seven written in existing IR ops (Clip(0,hi) = relu(x) −
// relu(x − hi), HardSigmoid = clip of an affine, the gate broadcast by a nearest resize, ReduceMean =
// globalavgpool + flatten, Transpose and Slice as 1×1 convs with 0/1 weights) made all seven models
// equal onnxruntime-node within 1.8e-5 · max|logit| at batch 2 and 1 on lavapipe (≤ 3 s a model):
// everything around the new ops (the folded shape chains, the 5-D reshapes, BatchNorm folding both
// ways, the symbolic batch) already works, and (b)'s tolerance is reachable.

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Model } from '../engine/runner.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { readNpy, type NpyArray } from '../loaders/npy.ts';
import { ortRun, ortSession } from '../cli/ort.ts';
import { saliency, gradCam } from '../explainers/gradients.ts';
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

/** Measured figures, printed at the end when LOUPE_REPORT is set. */
const figures: string[] = [];
after(async () => {
  await closeEngine();
  if (process.env.LOUPE_REPORT) for (const f of figures) console.log(`  [mobile.spec] ${f}`);
});

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

  // The mobile ops (Clip, HardSwish, HardSigmoid, Transpose, Slice / Split of channels, broadcasting
  // Mul and Add of computed tensors, ReduceMean; see FINDINGS above for what each model needs).
  describe('(b) Loupe equals onnxruntime-node', () => {
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
          figures.push(`${m.name}: max |Loupe − ORT| / max |logit| = ${(maxDiff(ours.data, ref) / maxAbs(ref)).toExponential(2)} (batch ${n}), ${(maxDiff(ours1.data, ref1) / maxAbs(ref1)).toExponential(2)} (batch 1)`);
        } finally {
          model.destroy();
        }
      });
  });

  // The reverse rules cover the real models: saliency (the gradient at the input) and Grad-CAM at
  // the last feature map (the input of the final global pool) give finite maps that are not all zero.
  describe('(c) saliency and Grad-CAM', () => {
    for (const m of models)
      it(`${m.name}`, async () => {
        const x = npy(m.input);
        const n = x.shape[0]!;
        const g = loadOnnx(bytes(m.onnx), basename(m.onnx));
        const pools = g.nodes.filter((nd) => nd.op === 'globalavgpool' || nd.op === 'reducemean');
        const layer = pools[pools.length - 1]!.inputs[0]!;
        const model = new Model(await getEngine(), g);
        try {
          const sal = await saliency(model, x.data, n);
          const cam = await gradCam(model, x.data, n, [layer]);
          const hw = x.shape[2]! * x.shape[3]!;
          for (const [what, maps] of [['saliency', sal.maps], ['Grad-CAM', cam.maps]] as const) {
            expect(maps.length, what).to.equal(n * hw);
            expect(maps.every(Number.isFinite), `${what}: finite`).to.equal(true);
          }
          for (let i = 0; i < n; i++) expect(maxAbs(sal.maps.subarray(i * hw, (i + 1) * hw)), `saliency of image ${i}`).to.be.above(0);
          expect(maxAbs(cam.maps), 'Grad-CAM').to.be.above(0);
          figures.push(`${m.name}: saliency max ${maxAbs(sal.maps).toExponential(2)}, Grad-CAM at ${layer} (${cam.perLayer[0]!.size.join('×')}), classes ${sal.classes.join(',')}`);
        } finally {
          model.destroy();
        }
      });
  });
});
