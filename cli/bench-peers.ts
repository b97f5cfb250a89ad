// `loupe bench --only peers`: Loupe beside TensorFlow.js's WebGPU backend on the same adapter (its
// own device on the same Dawn instance) and beside onnxruntime-node on the CPU, in the same run:
// SqueezeNet v1.0 at batch 1 and 16 (images/s, wall time of upload, all layers and readback of the
// logits) and one 3×3 conv, fire5's expand3x3 at batch 16 (GFLOP/s by wall clock around upload,
// conv and readback, and by each one's GPU timestamps). A peer is only a peer if it computes the
// same thing: its logits (and the conv's output) are compared with Loupe's first, and a ratio is
// reported only where they agree (max |difference| within 1e-3 of Loupe's value range).
import type { Engine } from '../engine/gpu.ts';
import type { Graph, Node } from '../engine/ir.ts';
import { Model } from '../engine/runner.ts';
import type { Roofline } from '../engine/roofline.ts';
import { inferShapes, nodeFlops, numel } from '../engine/shapes.ts';
import { loadTfjs, toNhwc, translate, TFJS_PACKAGES } from './tfjs-peer.ts';
import { throughput } from './bench.ts';

export interface PeersContext {
  engine: Engine;
  sqz: Model;
  /** SqueezeNet's FLOPs per image */
  sqzFlops: number;
  roof?: Roofline;
  quick: boolean;
  log: (s: string) => void;
  loupeRate: (n: number) => Promise<number>;
  ortRate: (n: number) => Promise<number>;
  imagesFor: (n: number) => Float32Array;
  gflopsText: (imagesPerSecond: number) => string;
  share: (imagesPerSecond: number) => string;
}

/** The conv timed on its own: SqueezeNet fire5's expand 3×3 (32 → 128 channels at 27×27). */
export const PEER_CONV = '/fire5_conv3x3_2/Conv';
/** Largest |a − b| relative to the value range of `a` (Loupe's) below which a peer agrees. */
export const PEER_TOLERANCE = 1e-3;

/** max |a − b| ÷ (max a − min a). */
export function relativeDiff(a: Float32Array, b: Float32Array): number {
  let d = 0, lo = Infinity, hi = -Infinity;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    lo = Math.min(lo, a[i]!);
    hi = Math.max(hi, a[i]!);
  }
  return a.length === b.length ? d / Math.max(hi - lo, 1e-30) : Infinity;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

/** The graph of one node of `g`, fed by its own input (the node's input shape without the batch). */
function oneNodeGraph(g: Graph, node: Node & { op: 'conv' }, inShape: number[]): Graph {
  const params = new Map([node.attrs.weight, node.attrs.bias].filter((p): p is string => !!p).map((p) => [p, g.params.get(p)!]));
  return { name: node.name, format: g.format, input: { name: 'x', shape: [-1, ...inShape.slice(1)] }, outputs: ['y'], nodes: [{ ...node, inputs: ['x'], outputs: ['y'] }], params };
}

export async function benchPeers(c: PeersContext): Promise<Record<string, unknown>> {
  const { log, quick, roof } = c;
  const peer = await loadTfjs();
  if ('missing' in peer) {
    log(`\npeers: TensorFlow.js WebGPU skipped: ${peer.missing} is not installed (development dependencies: npm install --save-dev ${TFJS_PACKAGES.join(' ')})`);
    return { skipped: `${peer.missing} is not installed` };
  }
  const { tf, adapter } = peer;
  const minMs = quick ? 500 : 3000;
  const net = translate(tf, c.sqz.graph, 'logits');
  const rows: Record<string, unknown>[] = [];
  log(`\nsame-adapter peer: TensorFlow.js ${tf.version_core} WebGPU (${adapter}), SqueezeNet v1.0, images/s (wall time: upload, all layers, readback of logits)`);
  log(`${'batch'.padStart(6)}${'loupe'.padStart(9)}${'GFLOP/s'.padStart(9)}${roof ? '% peak'.padStart(8) : ''}${'tfjs'.padStart(9)}${'GFLOP/s'.padStart(9)}${roof ? '% peak'.padStart(8) : ''}${'ort cpu'.padStart(9)}${'loupe÷tfjs'.padStart(12)}${'loupe÷ort'.padStart(11)}${'logits diff'.padStart(13)}`);
  try {
    for (const n of [1, 16]) {
      const x = c.imagesFor(n);
      const nhwc = toNhwc(x, n, 3, 227, 227);
      const ours = (await c.sqz.run(x, n, { outputs: ['logits'] })).values().next().value!.data;
      const theirs = await net.run(nhwc, n);
      const diff = relativeDiff(ours, theirs);
      const agree = diff < PEER_TOLERANCE;
      // The check above was TensorFlow.js's warm-up (its pipelines are compiled by then).
      const tfRate = await throughput(() => net.run(nhwc, n), n, minMs, { warm: true, minRuns: quick ? 2 : 3 });
      const loupe = await c.loupeRate(n);
      const ort = await c.ortRate(n);
      rows.push({
        batch: n, loupe, tfjs: tfRate, ort, loupeGflops: (loupe * c.sqzFlops) / 1e9, tfjsGflops: (tfRate * c.sqzFlops) / 1e9,
        ...(roof && { loupePeakShare: (loupe * c.sqzFlops) / 1e9 / roof.peakGflops, tfjsPeakShare: (tfRate * c.sqzFlops) / 1e9 / roof.peakGflops }),
        loupeOverTfjs: agree ? loupe / tfRate : null, loupeOverOrt: loupe / ort, logitsDiff: diff, agree,
      });
      log(`${String(n).padStart(6)}${loupe.toFixed(1).padStart(9)}${c.gflopsText(loupe).padStart(9)}${c.share(loupe)}${tfRate.toFixed(1).padStart(9)}${c.gflopsText(tfRate).padStart(9)}${c.share(tfRate)}${ort.toFixed(1).padStart(9)}${(agree ? (loupe / tfRate).toFixed(2) : 'differs').padStart(12)}${(loupe / ort).toFixed(2).padStart(11)}${diff.toExponential(1).padStart(13)}`);
      if (!agree) log(`  TensorFlow.js's logits differ from Loupe's by ${diff.toExponential(2)} of their range (more than ${PEER_TOLERANCE}): no ratio`);
    }
  } finally {
    net.dispose();
  }
  const conv = await benchConv(c, tf);
  return { tfjs: tf.version_core, adapter, tolerance: PEER_TOLERANCE, squeezenet: rows, conv };
}

/** One 3×3 conv (PEER_CONV at batch 16) in Loupe and in TensorFlow.js: wall and GPU GFLOP/s. */
async function benchConv(c: PeersContext, tf: Parameters<typeof translate>[0]): Promise<Record<string, unknown>> {
  const { engine, log, quick, roof } = c;
  const batch = 16;
  const node = c.sqz.graph.nodes.find((n): n is Node & { op: 'conv' } => n.name === PEER_CONV && n.op === 'conv')!;
  const shapes = inferShapes(c.sqz.graph, batch);
  const xs = shapes.get(node.inputs[0]!)!, ys = shapes.get(node.outputs[0]!)!;
  const g = oneNodeGraph(c.sqz.graph, node, xs);
  const flops = nodeFlops(node, xs, ys, c.sqz.graph);
  const x = new Float32Array(numel(xs)).map((_, i) => Math.max(0, Math.sin(i * 0.01))); // a ReLU's output
  const nhwc = toNhwc(x, batch, xs[1]!, xs[2]!, xs[3]!);
  const model = new Model(engine, g);
  const net = translate(tf, g, 'y');
  try {
    const ours = (await model.run(x, batch)).get('y')!.data;
    const theirs = await net.run(nhwc, batch);
    const diff = relativeDiff(toNhwc(ours, batch, ys[1]!, ys[2]!, ys[3]!), theirs);
    const agree = diff < PEER_TOLERANCE;
    const minMs = quick ? 500 : 3000;
    const loupeWall = ((await throughput(() => model.run(x, batch), 1, minMs)) * flops) / 1e9;
    const tfWall = ((await throughput(() => net.run(nhwc, batch), 1, minMs)) * flops) / 1e9;
    // GPU time of the conv alone: Loupe's timestamp queries and TensorFlow.js's (tf.time's kernelMs).
    const reps = quick ? 3 : 7;
    let loupeGpu: number | undefined, tfGpu: number | undefined;
    if (engine.hasTimestamps) {
      const ns: number[] = [];
      engine.timing = true;
      for (let r = 0; r < reps; r++) {
        await model.run(x, batch);
        ns.push(engine.lastTimings.filter((t) => t.label.startsWith('conv:')).reduce((s, t) => s + t.ns, 0));
      }
      engine.timing = false;
      loupeGpu = flops / median(ns);
    }
    const ms: number[] = [];
    for (let r = 0; r < reps; r++) {
      const k = await net.kernelMs(nhwc, batch);
      if (k !== undefined) ms.push(k);
    }
    if (ms.length === reps) tfGpu = flops / median(ms) / 1e6;
    const w = g.params.get(node.attrs.weight)!.dims;
    const shape = `${w[1]}→${w[0]} ${w[2]}×${w[3]} @${xs[2]}×${xs[3]}, batch ${batch}`;
    const f = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(1));
    const of = (v: number | undefined) => (roof && v !== undefined ? ` (${(100 * v / roof.peakGflops).toFixed(0)}% peak)` : '');
    const ratio = (a: number | undefined, b: number | undefined) => (agree && a !== undefined && b !== undefined ? (a / b).toFixed(2) : '-');
    log(`\none 3×3 conv, ${PEER_CONV} (${shape}, ${(flops / 1e9).toFixed(2)} GFLOP), output diff ${diff.toExponential(1)}${agree ? '' : ' (DIFFERS: no ratio)'}`);
    log(`  wall (upload, conv, readback): loupe ${f(loupeWall)} GFLOP/s${of(loupeWall)}, tfjs ${f(tfWall)} GFLOP/s${of(tfWall)}, loupe÷tfjs ${ratio(loupeWall, tfWall)}`);
    log(`  GPU timestamps (conv alone):   loupe ${f(loupeGpu)} GFLOP/s${of(loupeGpu)}, tfjs ${f(tfGpu)} GFLOP/s${of(tfGpu)}, loupe÷tfjs ${ratio(loupeGpu, tfGpu)}`);
    return {
      layer: PEER_CONV, shape, batch, flops, outputDiff: diff, agree,
      wall: { loupeGflops: loupeWall, tfjsGflops: tfWall, ratio: agree ? loupeWall / tfWall : null },
      gpu: { loupeGflops: loupeGpu ?? null, tfjsGflops: tfGpu ?? null, ratio: agree && loupeGpu && tfGpu ? loupeGpu / tfGpu : null },
    };
  } finally {
    engine.timing = false;
    net.dispose();
    model.destroy();
  }
}
