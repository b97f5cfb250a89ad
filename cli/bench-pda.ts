// `loupe bench --only pda`: prediction difference analysis on SqueezeNet v1.0 at 227×227 (and with
// --full on AlexNet's and ResNet-50's light graphs at 224×224 too) (K=10,
// L=2, S=10, conditional sampling) three ways, in the same run: Loupe with incremental (region)
// inference, Loupe recomputing whole images, and the plain route with onnxruntime-node (perturbed
// images built on the CPU with the same draws, batched forward passes on the CPU). Each route runs
// the first windows of the analysis (how many: --pda-windows, and a tenth of that for the
// whole-image route, which is the slowest); the wall time of the whole analysis at stride 1 and at
// --pda-stride is extrapolated from the measured images/s, and says so. The routes' weights of
// evidence for the shared windows are compared (same draws, so they must agree).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../engine/gpu.ts';
import { Model } from '../engine/runner.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { decodeImage } from '../loaders/image.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { classifierValues, softmaxRows } from '../engine/classify.ts';
import { buildPatchModel } from '../explainers/patch-model.ts';
import { predictionDifference, perturbedBatchCpu, windowGrid, weightOfEvidence, defaultLaplaceN } from '../explainers/pda.ts';
import { ortPeer } from './bench.ts';

/** A model the PDA bench runs: its ONNX file under the shared data and its (square) input size. */
export interface PdaModel {
  tag: string;
  title: string;
  file: string;
  size: number;
  /** images per onnxruntime call when the graph fixes its batch (a Reshape to [1, F]): 1 */
  ortImages?: number;
}

export const PDA_MODELS = {
  squeezenet: { tag: 'squeezenet_v1.0', title: 'SqueezeNet v1.0', file: 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx', size: 227 },
  // A light graph: constant weights, so its weights of evidence mean nothing; its times are real.
  alexnet: { tag: 'bvlc_alexnet', title: "AlexNet's light graph (constant weights: times only)", file: 'onnx/onnx-light-models/light_bvlc_alexnet.onnx', size: 224, ortImages: 1 },
  resnet50: { tag: 'resnet50', title: "ResNet-50's light graph (constant weights: times only)", file: 'onnx/onnx-light-models/light_resnet50.onnx', size: 224, ortImages: 1 },
} satisfies Record<string, PdaModel>;

export interface PdaBenchOptions {
  data: string;
  /** default: SqueezeNet v1.0 */
  model?: PdaModel;
  quick: boolean;
  /** windows timed on the incremental and onnxruntime routes */
  windows: number;
  stride: number;
  log: (s: string) => void;
}

const PHOTOS = ['preddiff/n01855672_8202.jpg', 'preddiff/n02488291_1177.jpg', 'preddiff/n02917067_1599.jpg', 'transformer-explainability/el1.png', 'transformer-explainability/el2.png', 'caffe/cat.jpg', 'pytorch-grad-cam/both.png', 'transformer-explainability/dogbird.png'];

const fmtTime = (s: number) => (s < 120 ? `${s.toFixed(0)} s` : s < 7200 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`);

export async function benchPda(engine: Engine, o: PdaBenchOptions): Promise<Record<string, unknown>> {
  const { log } = o;
  const K = 10, L = 2, S = 10, seed = 1;
  const m: PdaModel = o.model ?? PDA_MODELS.squeezenet;
  const Z = m.size;
  const bytes = new Uint8Array(readFileSync(join(o.data, m.file)));
  const model = new Model(engine, loadOnnx(bytes, m.file.split('/').pop()!));
  const prep = (f: string) => preprocessImage(decodeImage(new Uint8Array(readFileSync(join(o.data, 'images', f))), f), { size: [Z, Z], mean: [104, 117, 123], bgr: true, channels: 3 });
  const photos = PHOTOS.map(prep);
  const x = photos[0]!; // the goose
  let t = performance.now();
  const patches = o.quick ? 5000 : 25000;
  const patchModel = buildPatchModel(photos, { window: K, padding: L, channels: 3, height: Z, width: Z, patches, store: 0, seed });
  const pmSeconds = (performance.now() - t) / 1000;
  const grid = windowGrid(Z, Z, K, o.stride);
  const grid1 = windowGrid(Z, Z, K, 1);
  log(`\nPrediction difference analysis, ${m.title} ${Z}×${Z}, K=${K}, L=${L}, S=${S}, conditional sampling (patch model of ${patches} patches from ${photos.length} photos: ${pmSeconds.toFixed(1)} s)`);
  log(`whole analysis: stride 1 = ${grid1.count} windows = ${grid1.count * S} perturbed images${o.stride === 1 ? '' : `; stride ${o.stride} = ${grid.count} windows = ${grid.count * S} images`}`);

  const nInc = Math.min(grid.count, o.windows);
  const nFull = Math.max(1, Math.min(grid.count, Math.ceil(o.windows / 10)));
  const common = { sampling: 'conditional' as const, patchModel, window: K, stride: o.stride, samples: S, seed, top: 1 };
  // Warm-up (pipelines) on a few windows of each Loupe route.
  await predictionDifference(model, x, { ...common, limitWindows: 2, incremental: true });
  await predictionDifference(model, x, { ...common, limitWindows: 2, incremental: false });

  t = performance.now();
  const inc = await predictionDifference(model, x, { ...common, limitWindows: nInc, incremental: true });
  const incS = (performance.now() - t) / 1000;
  t = performance.now();
  const full = await predictionDifference(model, x, { ...common, limitWindows: nFull, incremental: false });
  const fullS = (performance.now() - t) / 1000;

  // The plain route: perturbed images on the CPU (same draws), onnxruntime-node forward passes in batches.
  const { ortSession, ortRun } = await ortPeer();
  const session = await ortSession(bytes);
  // onnxruntime gives graph outputs only: the logits where the graph declares them, else the softmax's output.
  const cv = classifierValues(model.graph);
  const fetch = model.graph.outputs.includes(cv.logits) || !cv.probs ? cv.logits : cv.probs;
  const cls = inc.classes[0]!;
  const p0 = inc.probs[0]!;
  const N = defaultLaplaceN(1000);
  const ortBatchWindows = 4; // 40 images per onnxruntime call
  const ortWE = new Float32Array(nInc);
  t = performance.now();
  let buildMs = 0;
  for (let first = 0; first < nInc; first += ortBatchWindows) {
    const nw = Math.min(ortBatchWindows, nInc - first);
    const b0 = performance.now();
    const batch = perturbedBatchCpu({ sampling: 'conditional', patchModel, x, channels: 3, grid, samples: S, seed }, first, nw);
    buildMs += performance.now() - b0;
    // In calls of m.ortImages images where the graph fixes its batch (onnxruntime keeps the Reshape's 1).
    const per = m.ortImages ?? nw * S;
    const out = new Float32Array(nw * S * 1000);
    for (let i = 0; i < nw * S; i += per) {
      const k = Math.min(per, nw * S - i);
      out.set((await ortRun(session, batch.subarray(i * 3 * Z * Z, (i + k) * 3 * Z * Z), [k, 3, Z, Z], [fetch]))[fetch]!, i * 1000);
    }
    const p = fetch === cv.logits ? softmaxRows(out, 1000) : out;
    for (let w = 0; w < nw; w++) {
      let s = 0;
      for (let k = 0; k < S; k++) s += p[(w * S + k) * 1000 + cls]!;
      ortWE[first + w] = weightOfEvidence(p0, s / S, N, 1000);
    }
  }
  const ortS = (performance.now() - t) / 1000;
  await session.release();
  let weDiff = 0, weMax = 0;
  for (let w = 0; w < nInc; w++) {
    weDiff = Math.max(weDiff, Math.abs(ortWE[w]! - inc.windowWE[w]!));
    weMax = Math.max(weMax, Math.abs(inc.windowWE[w]!));
  }
  let incFull = 0;
  for (let w = 0; w < nFull; w++) incFull = Math.max(incFull, Math.abs(full.windowWE[w]! - inc.windowWE[w]!));

  const rate = (windows: number, s: number) => (windows * S) / s;
  const rows = [
    { route: 'loupe incremental', windows: nInc, seconds: incS, ips: rate(nInc, incS) },
    { route: 'loupe whole images', windows: nFull, seconds: fullS, ips: rate(nFull, fullS) },
    { route: 'onnxruntime-node cpu', windows: nInc, seconds: ortS, ips: rate(nInc, ortS) },
  ];
  log(`${'route'.padEnd(22)}${'windows'.padStart(8)}${'images'.padStart(8)}${'seconds'.padStart(9)}${'images/s'.padStart(10)}${`stride ${o.stride} (est.)`.padStart(18)}${'stride 1 (est.)'.padStart(17)}`);
  for (const r of rows)
    log(`${r.route.padEnd(22)}${String(r.windows).padStart(8)}${String(r.windows * S).padStart(8)}${r.seconds.toFixed(1).padStart(9)}${r.ips.toFixed(1).padStart(10)}${fmtTime((grid.count * S) / r.ips).padStart(18)}${fmtTime((grid1.count * S) / r.ips).padStart(17)}`);
  const speedup = rows[0]!.ips / rows[1]!.ips;
  const vsOrt = rows[0]!.ips / rows[2]!.ips;
  log(`incremental vs whole images: ${speedup.toFixed(2)}× (${(100 * (inc.macFraction ?? 1)).toFixed(0)}% of the multiply-adds); incremental vs onnxruntime-node: ${vsOrt.toFixed(2)}×`);
  log(`onnxruntime route: ${(buildMs / 1000).toFixed(1)} s of its time building perturbed images on the CPU`);
  log(`agreement on the shared windows: |WE| max ${weMax.toFixed(3)}; incremental vs onnxruntime ${weDiff.toExponential(2)}, incremental vs whole images ${incFull.toExponential(2)}`);
  model.destroy();
  return {
    model: m.tag, window: K, padding: L, samples: S, stride: o.stride, windowsStride: grid.count, windowsStride1: grid1.count,
    patchModelSeconds: pmSeconds, routes: rows, incrementalVsWhole: speedup, incrementalVsOrt: vsOrt, macFraction: inc.macFraction,
    ortBuildSeconds: buildMs / 1000, weMaxAbs: weMax, weDiffOrt: weDiff, weDiffWhole: incFull,
  };
}
