// loupe bench's instruments, checked for correctness only (speed is the bench's business, never a
// threshold here): the roofline kernels do the work they are credited with, the roofline section
// reports finite positive ceilings, and the TensorFlow.js peer computes what Loupe computes.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { closeEngine, expectOneLine, getEngine, GraphBuilder, rng, runLoupe } from './helpers.ts';
import { copyThrough, fmaChains, FMA_ADD, FMA_MUL, LOAD_SPREAD, LOAD_STEP, LOAD_WINDOW, loadSums, loadWindow, measureRoofline, rooflineBound } from '../engine/roofline.ts';
import { createNodeEngine } from '../cli/gpu-node.ts';
import { Model } from '../engine/runner.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { decodeImage } from '../loaders/image.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { loadTfjs, toNhwc, translate } from '../cli/tfjs-peer.ts';
import { relativeDiff } from '../cli/bench-peers.ts';

interface Scale {
  rows: { workers: number; imagesPerSecond: number; overheadMsPerJob?: number }[];
  queueSkipped?: string;
  dissection: { imagesPerSecond: number; brodenSeconds: number };
  pda: { forwardPassesPerPhoto: number; imagesPerSecond: number; seconds: number };
}

const DATA = join(import.meta.dirname, '..', '..', 'shared', 'data');
const SQZ = join(DATA, 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx');

/** kernels/roofline_fma.wgsl on the CPU: the same start values, 16 vec4 chains and order of summation. */
function fmaChainsCpu(invocations: number, iterations: number): Float32Array {
  const f = Math.fround;
  const out = new Float32Array(invocations);
  for (let i = 0; i < invocations; i++) {
    const s = f((i % 1024) * 2 ** -10);
    const a = Array.from({ length: 64 }, (_, k) => f(s + k * 2 ** -6));
    for (let k = 0; k < iterations; k++) for (let j = 0; j < 64; j++) a[j] = f(a[j]! * FMA_MUL + FMA_ADD);
    // the kernel's balanced tree over chains 0..15, lane by lane
    const tree = (lo: number, hi: number, l: number): number => (hi - lo === 1 ? a[4 * lo + l]! : f(tree(lo, (lo + hi) / 2, l) + tree((lo + hi) / 2, hi, l)));
    const t = [0, 1, 2, 3].map((l) => tree(0, 16, l));
    out[i] = f(f(t[0]! + t[1]!) + f(t[2]! + t[3]!));
  }
  return out;
}

after(async () => {
  await closeEngine();
});

describe('loupe bench: the roofline', () => {
  it('the FMA kernel does its work: every invocation equals a CPU evaluation of the same chains, one step more changes it', async () => {
    const e = await getEngine();
    const n = 300; // not a multiple of the workgroup size (256)
    const got = await fmaChains(e, n, 37);
    const want = fmaChainsCpu(n, 37);
    for (let i = 0; i < n; i++) expect(got[i], `invocation ${i}`).to.be.closeTo(want[i]!, 1e-5 * Math.abs(want[i]!));
    const more = await fmaChains(e, n, 38);
    const wantMore = fmaChainsCpu(n, 38);
    for (let i = 0; i < n; i++) {
      expect(more[i], `invocation ${i}, 38 steps`).to.be.closeTo(wantMore[i]!, 1e-5 * Math.abs(wantMore[i]!));
      expect(Math.abs(more[i]! - got[i]!), `invocation ${i}: 37 and 38 steps differ by more than the tolerance`).to.be.greaterThan(1e-4 * Math.abs(want[i]!));
    }
  });

  it('the load kernel does its loads: every invocation equals a CPU sum of the same words, one step more changes it', async () => {
    const e = await getEngine();
    const n = 300; // not a multiple of the workgroup size (256)
    const w = loadWindow();
    const cpu = (iterations: number) =>
      Float32Array.from({ length: n }, (_, i) => {
        const a = [0, 0, 0, 0];
        for (let k = 0, p = i; k < iterations; k++, p += LOAD_STEP) for (let c = 0; c < 4; c++) a[c] += w[(p + c * LOAD_SPREAD) & (LOAD_WINDOW - 1)]!;
        return a[0]! + a[1]! + (a[2]! + a[3]!);
      });
    const got = await loadSums(e, n, 37);
    expect(Array.from(got)).to.deep.equal(Array.from(cpu(37))); // small integers: exact
    const more = await loadSums(e, n, 38);
    expect(Array.from(more)).to.deep.equal(Array.from(cpu(38)));
    for (let i = 0; i < n; i++) expect(more[i], `invocation ${i}`).to.not.equal(got[i]);
  });

  it('the copy kernel copies exactly', async () => {
    const e = await getEngine();
    const src = rng(3).array(4 * 1001, -1e6, 1e6); // 1001 vec4s: not a multiple of the workgroup size
    src[5] = -0;
    expect(Array.from(await copyThrough(e, src))).to.deep.equal(Array.from(src));
  });

  it('without timestamp queries both ceilings are timed by wall clock, and say so', async () => {
    const e = await createNodeEngine(); // its own device: the suite's keeps its timestamps
    try {
      Object.defineProperty(e, 'hasTimestamps', { value: false });
      const roof = await measureRoofline(e, { targetMs: 5, reps: 1 });
      expect([roof.timer, roof.fma.timer, roof.load.timer, roof.copy.timer]).to.deep.equal(['wall clock', 'wall', 'wall', 'wall']);
      for (const v of [roof.peakGflops, roof.bandwidthGBs, roof.gatherGloads, roof.fmasPerLoad]) expect(Number.isFinite(v) && v > 0, String(v)).to.equal(true);
    } finally {
      e.trimPool();
      e.device.destroy();
    }
  });

  it("the roofline's bound is the lower ceiling", () => {
    const roof = { peakGflops: 20, bandwidthGBs: 4 };
    expect(rooflineBound(roof, 1)).to.equal(4);
    expect(rooflineBound(roof, 100)).to.equal(20);
  });

  describe('the command', function () {
    before(function () {
      if (!existsSync(SQZ)) this.skip();
    });

    it('loupe bench --only roofline --quick --json prints positive finite ceilings and says how they were timed', () => {
      const r = runLoupe(['bench', '--only', 'roofline', '--quick', '--json', '--data', DATA]);
      expect(r.code, r.err).to.equal(0);
      const j = JSON.parse(r.out) as { adapter: string; roofline: { peakGflops: number; bandwidthGBs: number; ridge: number; gatherGloads: number; fmasPerLoad: number; timer: string; fma: { ms: number }; load: { ms: number }; copy: { ms: number } } };
      expect(j.adapter).to.be.a('string');
      for (const v of [j.roofline.peakGflops, j.roofline.bandwidthGBs, j.roofline.ridge, j.roofline.gatherGloads, j.roofline.fmasPerLoad, j.roofline.fma.ms, j.roofline.load.ms, j.roofline.copy.ms]) expect(Number.isFinite(v) && v > 0, String(v)).to.equal(true);
      expect(j.roofline.timer).to.be.oneOf(['gpu timestamps', 'wall clock']);
    });

    it('--report FILE writes the JSON report while the text prints; an unwritable FILE is one line before anything runs', () => {
      const dir = mkdtempSync(join(tmpdir(), 'loupe-bench-'));
      try {
        const file = join(dir, 'sub', 'report.json');
        const r = runLoupe(['bench', '--only', 'roofline', '--quick', '--report', file, '--data', DATA]);
        expect(r.code, r.err).to.equal(0);
        expect(r.out).to.match(/^roofline: FMA peak [\d.]+ GFLOP\/s, copy [\d.]+ GB\/s \(/m);
        expect(r.out).to.match(/^  loads: [\d.]+ G\/s .*one load takes the time of [\d.]+ FMAs/m);
        expect((JSON.parse(readFileSync(file, 'utf8')) as { roofline: { peakGflops: number } }).roofline.peakGflops).to.be.greaterThan(0);
        writeFileSync(join(dir, 'plain'), '');
        expectOneLine(runLoupe(['bench', '--only', 'roofline', '--report', join(dir, 'plain', 'r.json'), '--data', DATA]), /--report/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("--only dissect: the forward and the tally of SqueezeNet's fire9 apart, the GPU tally's counts equal the TypeScript CPU tally's, Broden projected", () => {
      const r = runLoupe(['bench', '--only', 'dissect', '--quick', '--json', '--data', DATA]);
      expect(r.code, r.err).to.equal(0);
      const d = (JSON.parse(r.out) as { dissect: { units: number; countsAgree: boolean; forwardImagesPerSecond: number; tallyImagesPerSecond: number; cpuTallyImagesPerSecond: number; brodenSeconds: number; brodenTallySeconds: number } }).dissect;
      expect(d.units).to.equal(512);
      expect(d.countsAgree).to.equal(true);
      for (const v of [d.forwardImagesPerSecond, d.tallyImagesPerSecond, d.cpuTallyImagesPerSecond]) expect(Number.isFinite(v) && v > 0, String(v)).to.equal(true);
      expect(d.brodenSeconds).to.be.closeTo(d.brodenTallySeconds + (3 * 63305) / d.forwardImagesPerSecond, 1e-6 * d.brodenSeconds);
    });

    it('--only survey: decoder inversion against optimisation per digit, PGD steps per second at batch 256', () => {
      const r = runLoupe(['bench', '--only', 'survey', '--quick', '--json', '--data', DATA]);
      expect(r.code, r.err).to.equal(0);
      const s = (JSON.parse(r.out) as { survey: { invertOptimisationMs: number; invertDecoderMs: number; invertRatio: number; pgdBatch: number; pgdStepsPerSecond: number } }).survey;
      expect(s.pgdBatch).to.equal(256);
      for (const v of [s.invertOptimisationMs, s.invertDecoderMs, s.pgdStepsPerSecond]) expect(Number.isFinite(v) && v > 0, String(v)).to.equal(true);
      expect(s.invertRatio).to.be.closeTo(s.invertOptimisationMs / s.invertDecoderMs, 1e-9 * s.invertRatio);
    });

    it('--only scale --quick: the single process and 1, 2, 3 queue workers on a real Redis, then the Broden and PDA projections, as text and in the report', () => {
      const dir = mkdtempSync(join(tmpdir(), 'loupe-bench-scale-'));
      try {
        const file = join(dir, 'report.json');
        const redis = process.env.LOUPE_TEST_REDIS ? ['--redis', process.env.LOUPE_TEST_REDIS] : [];
        const r = runLoupe(['bench', '--only', 'scale', '--quick', '--report', file, '--data', DATA, ...redis]);
        expect(r.code, r.err).to.equal(0);
        const canQueue = redis.length > 0 || spawnSync('redis-server', ['--version']).status === 0;
        const j = (JSON.parse(readFileSync(file, 'utf8')) as { scale: Scale }).scale;
        expect(r.out).to.match(/^single process +12 +[\d.]+ +[\d.]+ /m);
        if (canQueue) {
          for (const w of ['1 worker', '2 workers', '3 workers']) expect(r.out).to.match(new RegExp(`^queue, ${w} +12 +[\\d.]+ +[\\d.]+ +-?[\\d.]+ `, 'm'));
          expect(r.out).to.match(/overhead per job = \(T_W × W − T_1\) \/ jobs/);
          expect(j.rows.map((x) => x.workers)).to.deep.equal([0, 1, 2, 3]);
          for (const x of j.rows.slice(1)) expect(Number.isFinite(x.overheadMsPerJob), JSON.stringify(x)).to.equal(true);
        } else expect(j.queueSkipped).to.match(/redis-server/);
        for (const x of j.rows) expect(x.imagesPerSecond > 0 && Number.isFinite(x.imagesPerSecond), JSON.stringify(x)).to.equal(true);
        expect(r.out).to.match(/^  Broden's 63,305 images: ~[\d.]+ (s|min|h|days) on one such adapter/m);
        expect(j.dissection.brodenSeconds).to.be.closeTo(63305 / j.dissection.imagesPerSecond, 1e-6 * j.dissection.brodenSeconds);
        expect(r.out).to.match(/\(227 − 10 \+ 1\)² × 10 = 475,240 forward passes per photo/);
        expect(r.out).to.match(/1,000 photos: ~[\d.]+ (s|min|h|days) on one such adapter/);
        expect(j.pda.forwardPassesPerPhoto).to.equal(475240);
        expect(j.pda.seconds).to.be.closeTo((1000 * 475240) / j.pda.imagesPerSecond, 1e-6 * j.pda.seconds);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('an unknown section is one line that lists the sections', () => {
      expectOneLine(runLoupe(['bench', '--only', 'nonsense']), /bench: unknown section "nonsense"; sections are roofline, kernels, models, peers, /);
    });
  });
});

describe('loupe bench: the TensorFlow.js WebGPU peer', function () {
  let peer: Awaited<ReturnType<typeof loadTfjs>>;
  before(async function () {
    peer = await loadTfjs();
    if ('missing' in peer) {
      console.log(`      (skipped: ${peer.missing} is not installed)`);
      this.skip();
    }
  });
  const tfjs = () => (peer as Exclude<typeof peer, { missing: string }>).tf;

  it('translates grouped convs with asymmetric pads, fused ReLUs, a ceil-mode max pool, flatten, fc and softmax as Loupe runs them', async () => {
    const r = rng(11);
    const b = new GraphBuilder([-1, 4, 10, 10]);
    const conv = b.node('conv', ['x'], { kernel: [3, 3], stride: [1, 1], pads: [1, 0, 1, 2], dilation: [1, 1], group: 2, weight: b.param([6, 2, 3, 3], r), bias: b.param([6], r) });
    const relu = b.node('relu', [conv], {});
    const pool = b.node('maxpool', [relu], { kernel: [3, 3], stride: [2, 2], pads: [0, 0, 0, 0], ceil: true }); // 10 → 5 (floor mode: 4)
    const conv2 = b.node('conv', [pool], { kernel: [2, 2], stride: [1, 1], pads: [1, 1, 0, 0], dilation: [1, 1], group: 1, weight: b.param([5, 6, 2, 2], r) });
    const flat = b.node('flatten', [conv2], { axis: 1 });
    const fc = b.node('fc', [flat], { weight: b.param([7, 5 * 5 * 5], r), bias: b.param([7], r), outFeatures: 7 });
    const soft = b.node('softmax', [fc], { axis: 1 });
    const g = b.build([fc, soft]);
    const x = r.array(2 * 4 * 10 * 10, -2, 2);
    const ours = await new Model(await getEngine(), g).run(x, 2, { outputs: [fc, soft] });
    for (const out of [fc, soft]) {
      const net = translate(tfjs(), g, out);
      try {
        const theirs = await net.run(toNhwc(x, 2, 4, 10, 10), 2);
        expect(relativeDiff(ours.get(out)!.data, theirs), out).to.be.below(1e-5);
      } finally {
        net.dispose();
      }
    }
  });

  it('an op it does not translate is an ArgumentError naming the layer', () => {
    const b = new GraphBuilder([-1, 2, 4, 4]);
    const y = b.node('avgpool', ['x'], { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], ceil: false });
    expect(() => translate(tfjs(), b.build([y]), y)).to.throw(/layer "avgpool0": average pooling over padding has no translation/);
  });

  it("SqueezeNet v1.0's logits in TensorFlow.js equal Loupe's on a real photo (within 1e-3 of their range, the bench's test)", async function () {
    if (!existsSync(SQZ)) this.skip();
    const g = loadOnnx(new Uint8Array(readFileSync(SQZ)), 'squeezenet_v1.0_decoded.onnx');
    const file = join(DATA, 'images/caffe/cat.jpg');
    const x = preprocessImage(decodeImage(new Uint8Array(readFileSync(file)), file), { size: [227, 227], mean: [104, 117, 123], bgr: true, channels: 3 });
    const model = new Model(await getEngine(), g);
    const ours = (await model.run(x, 1, { outputs: ['logits'] })).get('logits')!.data;
    model.destroy();
    const net = translate(tfjs(), g, 'logits');
    try {
      const theirs = await net.run(toNhwc(x, 1, 3, 227, 227), 1);
      expect(relativeDiff(ours, theirs)).to.be.below(1e-3);
      const top = (a: Float32Array) => a.indexOf(Math.max(...a));
      expect(top(theirs)).to.equal(top(ours));
    } finally {
      net.dispose();
    }
  });
});
