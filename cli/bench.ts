// `loupe bench`: the adapter's measured roofline (FMA peak, copy bandwidth and load rate) first, then per-kernel
// GPU time and GFLOP/s from timestamp queries on real models' conv shapes, each as a share of that
// peak beside the bound the roofline sets for its arithmetic intensity, and whole-model throughput of
// SqueezeNet against onnxruntime-node (CPU) and TensorFlow.js's WebGPU backend (same adapter) in the
// same run, as ratios.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommand } from './args.ts';
import { createNodeEngine } from './gpu-node.ts';
import { Model } from '../engine/runner.ts';
import type { ConvAlgorithm, Engine, TimingRecord } from '../engine/gpu.ts';
import type { Node } from '../engine/ir.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { inferShapes, numel } from '../engine/shapes.ts';
import { FMAS_PER_STEP, LOADS_PER_STEP, measureRoofline, rooflineBound, type Roofline } from '../engine/roofline.ts';
import { summarise } from '../engine/summary.ts';
import { FC } from '../engine/ops/dense.ts';
import { ArgumentError } from '../engine/errors.ts';
import * as X from '../explainers/gradients.ts';
import { etalons } from '../explainers/etalon.ts';
import { maxOut } from '../explainers/optimize.ts';
import { rise } from '../explainers/rise.ts';
import { integratedGradients } from '../explainers/integrated.ts';
import { ablationCam, scoreCam } from '../explainers/ablation.ts';
import { perturbationCurves } from '../explainers/evaluate.ts';
import { BENCH_MAX_BATCH, BENCH_OPTIONS, BENCH_SECTIONS as SECTIONS } from './commands.ts';
import { packagePath } from './paths.ts';
import { checkOutputs, writeFileAtomic } from './output.ts';

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

function dataDir(d: string): string {
  if (!existsSync(d)) throw new ArgumentError(`${d}: data folder not found (give --data DIR: the shared data with onnx/...)`);
  return d;
}

interface KernelRow {
  model: string;
  layer: string;
  shape: string;
  batch: number;
  ms: number;
  gflops: number;
  flops: number;
  /** FLOP per byte of the layer's least traffic: input, weights and output once each, 4 bytes a value */
  intensity: number;
  /** with the roofline: GFLOP/s ÷ FMA peak */
  peakShare?: number;
  /** with the roofline: min(peak, intensity × bandwidth), GFLOP/s */
  boundGflops?: number;
  /** with the roofline: whether that bound is the memory ceiling */
  memoryBound?: boolean;
  /** 'winograd': the sum of the layer's three Winograd dispatches, GFLOP/s counted as the direct conv's FLOPs; ratio = GEMM ms / Winograd ms */
  algorithm?: 'gemm' | 'winograd';
  ratio?: number;
}

const pct = (x: number | undefined) => (x === undefined ? '-' : `${(100 * x).toFixed(0)}%`);

/** The conv rows of `alg`: 'gemm' as before (every conv), 'winograd' only the layers that took it (engine/winograd.ts). */
async function kernelTimes(engine: Engine, model: Model, tag: string, batch: number, reps: number, alg: ConvAlgorithm = 'gemm', roof?: Roofline): Promise<KernelRow[]> {
  const was = engine.convAlgorithm;
  engine.convAlgorithm = alg;
  try {
    const rows = await convTimes(engine, model, tag, batch, reps, alg === 'winograd', roof);
    return rows.map((r) => ({ ...r, algorithm: alg === 'winograd' ? 'winograd' : 'gemm' }));
  } finally {
    engine.convAlgorithm = was;
    model.dropPlans();
  }
}

/** The per-dispatch GPU times of `reps` forward passes after an untimed one (pipelines compiled); empty records without timestamps. */
async function timedRuns(engine: Engine, model: Model, x: Float32Array, batch: number, reps: number): Promise<TimingRecord[][]> {
  engine.timing = engine.hasTimestamps;
  try {
    const runs: TimingRecord[][] = [];
    await model.run(x, batch);
    for (let r = 0; r < reps; r++) {
      await model.run(x, batch);
      runs.push(engine.lastTimings);
    }
    return runs;
  } finally {
    engine.timing = false;
  }
}

/** One fully-connected layer's median GPU time on each of its routes (engine/ops/dense.ts, FC). */
interface FcRow {
  model: string;
  layer: string;
  shape: string;
  batch: number;
  flops: number;
  /** route → ms */
  ms: Record<'fc' | 'gemm', number>;
}

/**
 * The fc layers of `model` at `batch`, on kernels/fc.wgsl and on conv2d_gemm's WT_ROWS variant
 * (the route fc takes from FC.gemmMinBatch images on where the engine has subgroups), one after
 * the other in the same run; empty without timestamps or subgroups.
 */
async function fcTimes(engine: Engine, model: Model, tag: string, batch: number, reps: number): Promise<FcRow[]> {
  if (!engine.hasTimestamps || !engine.subgroups) return [];
  const per = numel(model.graph.input.shape.slice(1));
  const x = new Float32Array(per * batch).map((_, i) => Math.sin(i * 0.01));
  const was = { ...FC };
  const times = new Map<string, Record<'fc' | 'gemm', number>>();
  try {
    for (const route of ['fc', 'gemm'] as const) {
      FC.gemmMinBatch = route === 'fc' ? Infinity : Math.min(was.gemmMinBatch, batch);
      model.dropPlans();
      const runs = await timedRuns(engine, model, x, batch, reps);
      for (const name of new Set(runs[0]!.filter((t) => t.label.startsWith('fc:')).map((t) => t.label.slice(3)))) {
        const ns = median(runs.map((r) => r.filter((t) => t.label === `fc:${name}`).reduce((s, t) => s + t.ns, 0)));
        times.set(name, { ...(times.get(name) ?? { fc: 0, gemm: 0 }), [route]: ns / 1e6 });
      }
    }
  } finally {
    Object.assign(FC, was);
    model.dropPlans();
  }
  return [...times].map(([name, ms]) => {
    const node = model.graph.nodes.find((n) => n.name === name)!;
    const w = model.graph.params.get((node.attrs as { weight: string }).weight)!.dims;
    return { model: tag, layer: name, shape: `${w[1]}→${w[0]}`, batch, flops: 2 * batch * w[0]! * w[1]!, ms };
  });
}

async function convTimes(engine: Engine, model: Model, tag: string, batch: number, reps: number, wino: boolean, roof?: Roofline): Promise<KernelRow[]> {
  const per = model.graph.input.shape.slice(1).reduce((a, b) => a * b, 1);
  const x = new Float32Array(per * batch).map((_, i) => Math.sin(i * 0.01));
  const shapes = inferShapes(model.graph, batch);
  const runs = await timedRuns(engine, model, x, batch, reps);
  if (runs[0]!.length === 0) return [];
  const rows: KernelRow[] = [];
  const byLayer = new Map<string, { node: Extract<Node, { op: 'conv' }>; idx: number[] }>(); // Winograd: a layer's three dispatches
  runs[0]!.forEach((t, i) => {
    if (!t.label.startsWith('conv:')) return;
    const part = /:winograd-(in|gemm|out)$/.exec(t.label);
    if (wino !== !!part) return;
    const name = t.label.slice(5, part ? -part[0].length : undefined);
    const node = model.graph.nodes.find((n) => n.name === name);
    if (!node || node.op !== 'conv') return;
    if (!byLayer.has(name)) byLayer.set(name, { node, idx: [] });
    byLayer.get(name)!.idx.push(i);
  });
  for (const [name, { node, idx }] of byLayer) {
    const w = model.graph.params.get(node.attrs.weight)!.dims;
    const xs = shapes.get(node.inputs[0]!)!;
    const ys = shapes.get(node.outputs[0]!)!;
    const ns = median(runs.map((r) => idx.reduce((s, i) => s + r[i]!.ns, 0)));
    const flops = 2 * numel(ys) * w[1]! * w[2]! * w[3]!; // the direct conv's, for Winograd too
    const intensity = flops / (4 * (numel(xs) + numel(w) + numel(ys)));
    const gflops = flops / ns;
    const bound = roof && rooflineBound(roof, intensity);
    rows.push({
      model: tag, layer: name, batch,
      shape: `${w[1]! * node.attrs.group}→${w[0]} ${w[2]}×${w[3]}${node.attrs.stride[0] > 1 ? ` s${node.attrs.stride[0]}` : ''}${node.attrs.group > 1 ? ` g${node.attrs.group}` : ''} @${xs[2]}×${xs[3]}`,
      ms: ns / 1e6, gflops, flops, intensity,
      ...(roof && { peakShare: gflops / roof.peakGflops, boundGflops: bound, memoryBound: bound! < roof.peakGflops }),
    });
  }
  return rows;
}

/**
 * Images per second of `fn` (which handles `images` images): a warm-up run unless the caller just ran
 * it, then the median of at least `minRuns` runs and `minMs`.
 */
export async function throughput(fn: () => Promise<unknown>, images: number, minMs: number, opts: { warm?: boolean; minRuns?: number } = {}): Promise<number> {
  if (!opts.warm) await fn(); // warm-up
  const minRuns = opts.minRuns ?? 3;
  const times: number[] = [];
  const t0 = performance.now();
  while (times.length < minRuns || performance.now() - t0 < minMs) {
    const s = performance.now();
    await fn();
    times.push(performance.now() - s);
    if (times.length >= 20) break;
  }
  return (images / median(times)) * 1000;
}

export async function bench(argv: string[]): Promise<number> {
  const { o } = parseCommand(argv, BENCH_OPTIONS, 'bench');
  const only = o.only.split(',');
  for (const o of only) if (!SECTIONS.includes(o)) throw new ArgumentError(`bench: unknown section "${o}"; sections are ${SECTIONS.join(', ')}`);
  for (const b of o.batches)
    if (!(Number.isInteger(b) && b >= 1 && b <= BENCH_MAX_BATCH)) throw new ArgumentError(`--batches must be integers from 1 to ${BENCH_MAX_BATCH}, got "${o.batches.join(',')}"`);
  const on = (s: string) => only.includes(s);
  const report: Record<string, unknown> = {};
  const data = dataDir(o.data);
  if (o.report !== undefined) checkOutputs('--report', o.report, [o.report], 'file'); // before the run, not after it
  const { quick, batches, full } = o;
  const engine = await createNodeEngine({ timing: false });
  const log = (s: string) => !o.json && console.log(s);
  log(`adapter: ${engine.adapterInfo}${engine.hasTimestamps ? '' : ' (no timestamp queries: per-kernel times unavailable)'}`);

  // The roofline first: every GFLOP/s below is also a share of its FMA peak.
  let roof: Roofline | undefined;
  if (on('roofline')) {
    roof = await measureRoofline(engine, quick ? { targetMs: 50, reps: 3 } : { targetMs: 100, reps: 7 });
    log(`roofline: FMA peak ${roof.peakGflops.toFixed(1)} GFLOP/s, copy ${roof.bandwidthGBs.toFixed(1)} GB/s (${engine.adapterInfo}; ${roof.timer}, median of ${roof.fma.reps})`);
    log(`  FMA: ${roof.fma.invocations} invocations × ${roof.fma.iterations} steps × ${FMAS_PER_STEP} FMAs in ${roof.fma.ms.toFixed(1)} ms; copy: ${roof.copy.copies} × (${(roof.copy.bufferBytes / 2 ** 20).toFixed(0)} MiB read + as much written) in ${roof.copy.ms.toFixed(1)} ms; ridge ${roof.ridge.toFixed(1)} FLOP/byte (below it a kernel is memory-bound)`);
    log(`  loads: ${roof.gatherGloads.toFixed(2)} G/s (f32 from cache, each invocation its own addresses: ${roof.load.invocations} × ${roof.load.iterations} × ${LOADS_PER_STEP} in ${roof.load.ms.toFixed(1)} ms); one load takes the time of ${roof.fmasPerLoad.toFixed(1)} FMAs, so a kernel needs more FMAs than that per load to be bound by its FMAs`);
    report.roofline = roof;
  }

  const sqzBytes = new Uint8Array(readFileSync(join(data, 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx')));
  const sqz = new Model(engine, loadOnnx(sqzBytes, 'squeezenet_v1.0_decoded.onnx'));
  const sqzFlops = summarise(sqz.graph).flops; // per image
  const gflopsText = (imagesPerSecond: number) => `${((imagesPerSecond * sqzFlops) / 1e9).toFixed(1)}`;

  // Per-kernel conv times.
  const kernels: KernelRow[] = [];
  const fcs: FcRow[] = [];
  if (on('kernels')) {
  // Winograd rows (engine/winograd.ts) beside the GEMM rows of the stride-1 3×3 layers, with the ratio.
  const withWinograd = async (m: Model, tag: string, batch: number, reps: number) => {
    const gemm = await kernelTimes(engine, m, tag, batch, reps, 'gemm', roof);
    const wino = await kernelTimes(engine, m, tag, batch, reps, 'winograd', roof);
    for (const r of gemm) {
      kernels.push(r);
      const w = wino.find((x) => x.layer === r.layer);
      if (w) kernels.push({ ...w, ratio: r.ms / w.ms });
    }
  };
  await withWinograd(sqz, 'squeezenet', 16, quick ? 2 : 5);
  const light = quick ? ['bvlc_alexnet'] : full ? ['bvlc_alexnet', 'vgg19', 'resnet50'] : ['bvlc_alexnet', 'vgg19'];
  for (const name of light) {
    const m = new Model(engine, loadOnnx(new Uint8Array(readFileSync(join(data, `onnx/onnx-light-models/light_${name}.onnx`))), name));
    await withWinograd(m, name, 1, quick ? 2 : 3);
    if (name === 'bvlc_alexnet') fcs.push(...(await fcTimes(engine, m, name, quick ? 32 : 64, quick ? 2 : 3)));
    m.destroy();
  }
  if (kernels.length > 0) {
    log(`\nconv kernels (median GPU time from timestamp queries${roof ? '; % peak = GFLOP/s ÷ FMA peak; FLOP/B = FLOPs ÷ bytes of input + weights + output; bound = min(peak, FLOP/B × bandwidth), mem where memory-bound' : ''}; winograd rows: its 3 dispatches, the direct conv's FLOPs, GEMM ÷ Winograd time)`);
    log(`${'model'.padEnd(13)}${'layer'.padEnd(26)}${'shape'.padEnd(28)}${'batch'.padStart(6)}${'ms'.padStart(10)}${'GFLOP/s'.padStart(10)}${roof ? `${'% peak'.padStart(8)}${'FLOP/B'.padStart(8)}${'bound'.padStart(12)}` : ''}`);
    for (const r of kernels)
      log(`${r.model.padEnd(13)}${(r.algorithm === 'winograd' ? '  winograd' : r.layer.slice(0, 25)).padEnd(26)}${r.shape.padEnd(28)}${String(r.batch).padStart(6)}${r.ms.toFixed(3).padStart(10)}${r.gflops.toFixed(1).padStart(10)}${roof ? `${pct(r.peakShare).padStart(8)}${r.intensity.toFixed(1).padStart(8)}${`${r.boundGflops!.toFixed(1)}${r.memoryBound ? ' mem' : '    '}`.padStart(12)}` : ''}${r.ratio ? `  ${r.ratio.toFixed(2)}×` : ''}`);
    const summary: Record<string, unknown>[] = [];
    for (const m of new Set(kernels.map((k) => k.model))) {
      const ks = kernels.filter((k) => k.model === m && k.algorithm !== 'winograd');
      const ms = ks.reduce((s, k) => s + k.ms, 0);
      const flops = ks.reduce((s, k) => s + k.flops, 0);
      const gf = flops / ms / 1e6;
      // The roofline's bound for these layers together: their FLOPs over the least time it allows each.
      const bound = roof && flops / ks.reduce((s, k) => s + k.flops / k.boundGflops!, 0);
      summary.push({ model: m, ms, gflops: gf, ...(roof && { peakShare: gf / roof.peakGflops, boundGflops: bound }) });
      log(`${m}: all convs ${ms.toFixed(1)} ms, ${gf.toFixed(1)} GFLOP/s${roof ? ` = ${pct(gf / roof.peakGflops)} of the FMA peak; the roofline allows ${bound!.toFixed(1)} GFLOP/s for these layers (${pct(gf / bound!)} of it reached)` : ''}`);
    }
    report.convs = summary;
  }
  if (fcs.length > 0) {
    log(`\nfully-connected layers (median GPU time from timestamp queries): kernels/fc.wgsl (below ${FC.gemmMinBatch} images, or without subgroups) and conv2d_gemm's WT_ROWS variant (from ${FC.gemmMinBatch} images on), the same run`);
    log(`${'model'.padEnd(13)}${'layer'.padEnd(12)}${'shape'.padEnd(14)}${'batch'.padStart(6)}${'fc.wgsl ms'.padStart(12)}${'GFLOP/s'.padStart(9)}${'gemm ms'.padStart(10)}${'GFLOP/s'.padStart(9)}${roof ? '% peak'.padStart(8) : ''}${'fc ÷ gemm'.padStart(11)}`);
    for (const r of fcs)
      log(`${r.model.padEnd(13)}${r.layer.slice(0, 11).padEnd(12)}${r.shape.padEnd(14)}${String(r.batch).padStart(6)}${r.ms.fc.toFixed(1).padStart(12)}${(r.flops / r.ms.fc / 1e6).toFixed(1).padStart(9)}${r.ms.gemm.toFixed(1).padStart(10)}${(r.flops / r.ms.gemm / 1e6).toFixed(1).padStart(9)}${roof ? pct(r.flops / r.ms.gemm / 1e6 / roof.peakGflops).padStart(8) : ''}${`${(r.ms.fc / r.ms.gemm).toFixed(2)}×`.padStart(11)}`);
  }

  }
  report.kernels = kernels;
  if (fcs.length > 0) report.fc = fcs;

  // Images per second of Loupe and its peers, by batch: measured once per run, shared by the sections.
  const rates = new Map<string, number>();
  const imagesFor = (n: number) => new Float32Array(n * 3 * 227 * 227).map((_, i) => Math.sin(i * 0.001) * 60);
  const loupeRate = async (n: number) => {
    const key = `loupe:${n}`;
    if (!rates.has(key)) {
      const x = imagesFor(n);
      rates.set(key, await throughput(() => sqz.run(x, n, { outputs: ['logits'] }), n, quick ? 500 : 3000));
      sqz.dropPlans();
    }
    return rates.get(key)!;
  };
  let ort: { run: (x: Float32Array, n: number) => Promise<unknown> } | undefined;
  const ortRate = async (n: number) => {
    const key = `ort:${n}`;
    if (!rates.has(key)) {
      if (!ort) {
        const { ortSession, ortRun } = await ortPeer();
        const session = await ortSession(sqzBytes);
        ort = { run: (x, k) => ortRun(session, x, [k, 3, 227, 227], ['logits']) };
      }
      const x = imagesFor(n);
      rates.set(key, await throughput(() => ort!.run(x, n), n, quick ? 500 : 3000));
    }
    return rates.get(key)!;
  };
  const share = (ips: number) => (roof ? `${pct((ips * sqzFlops) / 1e9 / roof.peakGflops).padStart(8)}` : '');

  // Whole-model throughput against onnxruntime-node.
  if (on('models')) {
  const whole: { batch: number; loupe: number; ort: number; ratio: number; loupeGflops: number; peakShare?: number }[] = [];
  log(`\nSqueezeNet v1.0 227×227 (${(sqzFlops / 1e9).toFixed(2)} GFLOP per image), images/s (wall time: upload, all layers, readback of logits)`);
  log(`${'batch'.padStart(6)}${'loupe'.padStart(10)}${'GFLOP/s'.padStart(9)}${roof ? '% peak'.padStart(8) : ''}${'onnxruntime-node cpu'.padStart(22)}${'ratio'.padStart(8)}`);
  for (const n of batches) {
    const ours = await loupeRate(n);
    const theirs = await ortRate(n);
    const gf = (ours * sqzFlops) / 1e9;
    whole.push({ batch: n, loupe: ours, ort: theirs, ratio: ours / theirs, loupeGflops: gf, ...(roof && { peakShare: gf / roof.peakGflops }) });
    log(`${String(n).padStart(6)}${ours.toFixed(1).padStart(10)}${gflopsText(ours).padStart(9)}${share(ours)}${theirs.toFixed(1).padStart(22)}${(ours / theirs).toFixed(2).padStart(8)}`);
  }
  report.squeezenet = whole;
  }

  // Same-adapter peer: TensorFlow.js's WebGPU backend on the same Dawn adapter, beside onnxruntime-node.
  if (on('peers')) report.peers = await (await import('./bench-peers.ts')).benchPeers({ engine, sqz, sqzFlops, roof, quick, log, loupeRate, ortRate, imagesFor, gflopsText, share });

  // Reverse passes as a multiple of the forward pass (issue: one reverse pass <= 2.5x a forward).
  if (on('explainers')) {
  log('\nexplainers on SqueezeNet (wall time per batch; ratio = explainer / plain forward of the same batch)');
  log(`${'method'.padEnd(24)}${'batch'.padStart(6)}${'ms'.padStart(10)}${'forward ms'.padStart(12)}${'ratio'.padStart(8)}`);
  const explainers: { method: string; batch: number; ms: number; forwardMs: number; ratio: number }[] = [];
  for (const n of [1, 16]) {
    const x = new Float32Array(n * 3 * 227 * 227).map((_, i) => Math.sin(i * 0.001) * 60);
    const fwd = 1000 * n / (await throughput(() => sqz.run(x, n, { outputs: ['logits'] }), n, quick ? 300 : 2000));
    for (const [method, fn] of [
      ['saliency', () => X.saliency(sqz, x, n)],
      ['gradcam fire9', () => X.gradCam(sqz, x, n, ['/Concat_7_output_0'])],
    ] as [string, () => Promise<unknown>][]) {
      const ms = 1000 * n / (await throughput(fn, n, quick ? 300 : 2000));
      explainers.push({ method, batch: n, ms, forwardMs: fwd, ratio: ms / fwd });
      log(`${method.padEnd(24)}${String(n).padStart(6)}${ms.toFixed(0).padStart(10)}${fwd.toFixed(0).padStart(12)}${(ms / fwd).toFixed(2).padStart(8)}`);
    }
    sqz.dropPlans();
  }
  // Occlusion, patch 16 stride 4: 53x53 = 2809 occluded images per photo; time a slice of them.
  const occX = new Float32Array(3 * 227 * 227).map((_, i) => Math.sin(i * 0.001) * 60);
  const t0 = performance.now();
  const occ = await X.occlusion(sqz, occX, 1, { size: 16, stride: 4 * (quick ? 8 : 2) });
  const occMs = performance.now() - t0;
  const occRate = (occ.positions / occMs) * 1000;
  log(`occlusion patch 16: ${occ.positions} occluded images in ${(occMs / 1000).toFixed(1)} s = ${occRate.toFixed(1)} images/s; stride 4 (2809 images) would take ~${(2809 / occRate).toFixed(0)} s per photo`);
  report.explainers = explainers;
  report.occlusion = { imagesPerSecond: occRate };
  }

  // Etalons of one MNIST digit (all 10 output neurons), both routes, on the shipped LeNet-ReLU.
  if (on('etalons')) {
    const file = packagePath('weights', 'lenet-relu-mnist.onnx');
    if (!existsSync(file)) log(`\netalons: ${file} not found (run loupe train)`);
    else {
      const lenet = new Model(engine, loadOnnx(new Uint8Array(readFileSync(file)), 'lenet-relu-mnist.onnx'));
      const x = new Float32Array(784).map((_, i) => ((i * 37) % 255) / 255);
      const rows: Record<string, number> = {};
      log('\netalons of one MNIST digit, all 10 logits (LeNet-ReLU)');
      for (const route of ['literal', 'onepass'] as const) {
        await etalons(lenet, x, 'logits', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], route); // warm-up
        const times: number[] = [];
        for (let r = 0; r < (quick ? 2 : 5); r++) {
          const t0 = performance.now();
          await etalons(lenet, x, 'logits', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], route);
          times.push(performance.now() - t0);
        }
        rows[route] = median(times);
        log(`  ${route.padEnd(8)} ${median(times).toFixed(1)} ms${route === 'literal' ? ' (784 coordinate images)' : ''}`);
      }
      report.etalons = rows;
      lenet.destroy();
    }
  }

  // MaxOut: 64 channels of a SqueezeNet layer optimised as one batch against 64 one-unit runs.
  if (on('maxout')) {
    const layer = '/fire2_conv1x1_2/Conv'; // fire2 expand 1x1: 64 channels
    const its = quick ? 2 : 4;
    const o = { lr: 2, seed: 1, tv: 1e-4, jitter: 2, range: [-123, 152] as [number, number] };
    const units = Array.from({ length: 64 }, (_, i) => i);
    await maxOut(sqz, { kind: 'channel', layer, units: [0] }, { ...o, iterations: 1 }); // warm-up
    let t0 = performance.now();
    await maxOut(sqz, { kind: 'channel', layer, units }, { ...o, iterations: its });
    const batched = (its / (performance.now() - t0)) * 1000;
    const singles = quick ? 4 : 8; // time a few one-unit runs and scale to 64
    t0 = performance.now();
    for (let u = 0; u < singles; u++) await maxOut(sqz, { kind: 'channel', layer, units: [u] }, { ...o, iterations: its });
    const single = (its / (((performance.now() - t0) / singles) * 64)) * 1000;
    log(`\nmaxout, 64 channels of ${layer}: one batch ${batched.toFixed(3)} iterations/s (of all 64) vs 64 one-unit runs ${single.toFixed(3)} iterations/s (timed on ${singles}, scaled): ${(batched / single).toFixed(1)}x`);
    report.maxout = { batchedIterationsPerSecond: batched, singleRunsIterationsPerSecond: single };
  }
  // Issue 14's methods on SqueezeNet: RISE's masked images per second (generated, applied and
  // accumulated on the GPU), beside a plain forward of the same batch size; Integrated Gradients
  // per image as a multiple of one forward + reverse; Ablation-CAM through the tail vs the whole
  // network, and Score-CAM.
  if (on('methods')) {
    log('\nmethods on SqueezeNet (one image)');
    const x = new Float32Array(3 * 227 * 227).map((_, i) => Math.sin(i * 0.001) * 60);
    const masks = quick ? 64 : 512;
    await rise(sqz, x, 1, { masks: 16, cells: 7, p: 0.5, seed: 0 }); // warm-up (pipelines, plans)
    const r = await rise(sqz, x, 1, { masks, cells: 7, p: 0.5, seed: 1 });
    const n = r.batch;
    const fwd = await throughput(() => sqz.run(new Float32Array(n * 3 * 227 * 227).map((_, i) => Math.sin(i * 0.001) * 60), n, { outputs: ['logits'] }), n, quick ? 300 : 2000);
    log(`  RISE ${masks} masks (7×7 cells, batches of ${n}): ${r.masksPerSecond.toFixed(1)} masks/s; a plain forward of ${n} images: ${fwd.toFixed(1)} images/s (${(r.masksPerSecond / fwd).toFixed(2)}×)`);
    sqz.dropPlans();
    // Integrated Gradients: the path's images in batches through the recording forward and the
    // reverse pass, per image as a multiple of one forward + reverse (saliency of that image).
    const steps = quick ? 8 : 50;
    await X.saliency(sqz, x, 1); // warm-up
    const sal = 1000 / (await throughput(() => X.saliency(sqz, x, 1), 1, quick ? 300 : 2000));
    const t0 = performance.now();
    await integratedGradients(sqz, x, 1, { steps, rule: 'riemann', baseline: new Float32Array(x.length) });
    const igMs = performance.now() - t0;
    log(`  IG ${steps} steps: ${(igMs / 1000).toFixed(1)} s per image = ${(igMs / sal).toFixed(1)}× one forward + reverse (${sal.toFixed(0)} ms), ${(igMs / sal / steps).toFixed(2)}× per step`);
    sqz.dropPlans();
    // Ablation-CAM at fire9's squeeze (64 channels, 64 ablated copies): through the layers after it
    // only, against the whole network per copy; Score-CAM (whole network per masked image) beside.
    const layer = ['/Relu_22'];
    const cams: Record<string, number> = {};
    await ablationCam(sqz, x, 1, layer); // warm-up
    for (const [name, fn] of [
      ['ablation tail', () => ablationCam(sqz, x, 1, layer)],
      ['ablation whole', () => ablationCam(sqz, x, 1, layer, { whole: true })],
      ['score-cam', () => scoreCam(sqz, x, 1, layer)],
    ] as [string, () => Promise<unknown>][]) {
      const t1 = performance.now();
      await fn();
      cams[name] = performance.now() - t1;
      sqz.dropPlans();
    }
    const ratio = cams['ablation whole']! / cams['ablation tail']!;
    log(`  Ablation-CAM at /Relu_22 (fire9 squeeze, 64 channels): ${(cams['ablation tail']! / 1000).toFixed(1)} s per image through the tail, ${(cams['ablation whole']! / 1000).toFixed(1)} s through the whole network (${ratio.toFixed(1)}×); Score-CAM ${(cams['score-cam']! / 1000).toFixed(1)} s`);
    // Deletion and insertion curves (loupe evaluate) of one image's saliency map: every step image of
    // both curves in batches the device fits, against one step image per run.
    const curveSteps = quick ? 20 : 100;
    const sal1 = await X.saliency(sqz, x, 1);
    const curves: Record<string, number> = {};
    for (const [name, batch] of [['batched', undefined], ['one at a time', 1]] as [string, number | undefined][]) {
      const t1 = performance.now();
      await perturbationCurves(sqz, x, 1, sal1.maps, sal1.classes, ['deletion', 'insertion'], { steps: curveSteps, batch });
      curves[name] = performance.now() - t1;
      sqz.dropPlans();
    }
    const curveRatio = curves['one at a time']! / curves.batched!;
    log(`  deletion + insertion, ${curveSteps} steps each (${2 * (curveSteps + 1)} images): ${(curves.batched! / 1000).toFixed(1)} s per image batched, ${(curves['one at a time']! / 1000).toFixed(1)} s one image at a time (${curveRatio.toFixed(2)}×)`);
    report.methods = {
      curves: { steps: curveSteps, batchedMs: curves.batched, oneAtATimeMs: curves['one at a time'], ratio: curveRatio },
      rise: { masks, batch: n, masksPerSecond: r.masksPerSecond, forwardImagesPerSecond: fwd },
      ig: { steps, ms: igMs, forwardReverseMs: sal, perStep: igMs / sal / steps },
      ablationCam: { layer: layer[0], channels: 64, tailMs: cams['ablation tail'], wholeMs: cams['ablation whole'], ratio },
      scoreCam: { layer: layer[0], ms: cams['score-cam'] },
    };
  }
  if (on('pda')) {
    const { benchPda, PDA_MODELS } = await import('./bench-pda.ts');
    report.pda = await benchPda(engine, { data, quick, windows: o.pdaWindows, stride: o.pdaStride, log });
    if (full) report.pdaAlexnet = await benchPda(engine, { data, quick, windows: o.pdaWindows, stride: o.pdaStride, log, model: PDA_MODELS.alexnet });
    if (full) report.pdaResnet50 = await benchPda(engine, { data, quick, windows: o.pdaWindows, stride: o.pdaStride, log, model: PDA_MODELS.resnet50 });
  }
  if (on('dissect')) report.dissect = await (await import('./bench-dissect.ts')).benchDissect({ engine, sqz, layer: '/Concat_7_output_0', quick, log });
  if (on('survey')) report.survey = await (await import('./bench-survey.ts')).benchSurvey({ engine, data, quick, log });
  // Issue 18: the data-set run against 1, 2 and 3 queue workers, and the large runs' projected times.
  if (on('scale')) report.scale = await (await import('./bench-scale.ts')).benchScale(engine, { data, quick, redis: o.redis, log, pda: report.pda as Record<string, unknown> | undefined });
  const json = JSON.stringify({ adapter: engine.adapterInfo, ...report }, null, 1);
  if (o.json) console.log(json);
  if (o.report !== undefined) writeFileAtomic(o.report, new TextEncoder().encode(`${json}\n`));
  sqz.destroy();
  return 0;
}

/**
 * onnxruntime-node, the peer every speed figure is a ratio against: a development dependency, so an
 * installed package asks for it by name instead of failing on a missing module.
 */
export async function ortPeer(): Promise<typeof import('./ort.ts')> {
  try {
    return await import('./ort.ts');
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && /onnxruntime-node/.test(String((e as Error).message)))
      throw new ArgumentError('loupe bench measures Loupe against onnxruntime-node in the same run: install it beside loupe (npm install onnxruntime-node)');
    throw e;
  }
}
