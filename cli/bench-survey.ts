// `loupe bench --only survey`: the survey rows' costs on the shipped LeNet-ReLU (issue 17). Inversion
// of one digit at fc1 by optimisation (200 Adam steps through the reverse pass, the registry's
// default) against the trained UpconvNet decoder (one forward of the classifier to fc1, one of the
// decoder), per image and as a ratio; and PGD's steps per second over a batch of 256 digits (each
// step one recorded forward and one reverse pass of the whole batch on the GPU).
import { readFileSync, existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import type { Engine } from '../engine/gpu.ts';
import { Model } from '../engine/runner.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { readIdx } from '../loaders/idx.ts';
import { explainer } from '../explainers/registry.ts';
import { attack } from '../explainers/adversarial.ts';
import { packagePath } from './paths.ts';

export interface SurveyBench {
  invertOptimisationMs: number;
  invertDecoderMs: number;
  /** optimisation ÷ decoder */
  invertRatio: number;
  pgdBatch: number;
  pgdSteps: number;
  pgdStepsPerSecond: number;
  pgdImageStepsPerSecond: number;
}

export async function benchSurvey(o: { engine: Engine; data: string; quick: boolean; log: (s: string) => void }): Promise<SurveyBench | undefined> {
  const { engine, data, quick, log } = o;
  const lenetFile = packagePath('weights', 'lenet-relu-mnist.onnx'), decoderFile = packagePath('weights', 'upconv-lenet-fc1.onnx');
  const mnist = join(data, 'mnist', 't10k-images-idx3-ubyte.gz');
  for (const f of [lenetFile, decoderFile, mnist])
    if (!existsSync(f)) {
      log(`\nsurvey: ${f} not found; skipped`);
      return undefined;
    }
  const model = new Model(engine, loadOnnx(new Uint8Array(readFileSync(lenetFile)), 'lenet-relu-mnist.onnx'));
  try {
    const idx = readIdx(new Uint8Array(gunzipSync(readFileSync(mnist))), 't10k-images-idx3-ubyte');
    const pp = { ...(model.graph.preprocess ?? {}), size: [28, 28] as [number, number], channels: 1 };
    const scale = pp.scale ?? 1 / 255;
    const digits = (n: number) => Float32Array.from(idx.data.subarray(0, n * 784), (v) => v * scale);
    // inversion of one digit at fc1: optimisation against the decoder
    const inv = explainer('invert');
    const one = { data: digits(1), batch: 1, names: ['mnist-test-0'], preprocess: pp, fromImages: true };
    const time = async (options: Record<string, unknown>, reps: number) => {
      await inv.run(model, one, options); // warm-up
      const t0 = performance.now();
      for (let r = 0; r < reps; r++) await inv.run(model, one, options);
      return (performance.now() - t0) / reps;
    };
    const optMs = await time({ layer: 'fc1', iterations: 200 }, quick ? 1 : 3);
    const decMs = await time({ decoder: { name: 'upconv-lenet-fc1.onnx', bytes: new Uint8Array(readFileSync(decoderFile)) } }, quick ? 5 : 20);
    // PGD over 256 digits
    const batch = 256, steps = quick ? 5 : 20;
    const x = digits(batch);
    await attack(model, x, batch, { method: 'pgd', eps: 0.1, steps: 1, preprocess: pp }); // warm-up
    const r = await attack(model, x, batch, { method: 'pgd', eps: 0.1, steps, preprocess: pp });
    const stepsPerSecond = steps / r.seconds;
    log(`\nsurvey rows on LeNet-ReLU (MNIST test digits)`);
    log(`  inversion at fc1, one digit: optimisation (200 Adam steps) ${optMs.toFixed(0)} ms, UpconvNet decoder ${decMs.toFixed(1)} ms: ${(optMs / decMs).toFixed(0)}× faster`);
    log(`  PGD at batch ${batch}: ${steps} steps in ${r.seconds.toFixed(2)} s (with the clean and the final pass) = ${stepsPerSecond.toFixed(1)} steps/s, ${(stepsPerSecond * batch).toFixed(0)} image-steps/s`);
    return { invertOptimisationMs: optMs, invertDecoderMs: decMs, invertRatio: optMs / decMs, pgdBatch: batch, pgdSteps: steps, pgdStepsPerSecond: stepsPerSecond, pgdImageStepsPerSecond: stepsPerSecond * batch };
  } finally {
    model.destroy();
  }
}
