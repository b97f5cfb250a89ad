// `loupe bench --only scale`: the data-set run and the queue workers on one machine, and what the
// measured rates mean for the large runs of issue 18.
//
// 1. LeNet-ReLU saliency over MNIST test digits (48; 12 with --quick) as a data-set run: one
//    `loupe explain --images DIR --out DIR` process, then the same items as queue jobs (loupe queue
//    push) taken by 1, 2 and 3 local `loupe worker` processes on a Redis (--redis URL, else a
//    redis-server started on a free loopback port, else the lines are skipped, saying why). Times run
//    from the first image's start to the last image's manifest line (the manifest's times for the
//    single process, BullMQ's processedOn/finishedOn for the workers): process start-up is left out
//    of both, a worker's first-job set-up (engine, model) is in. Queue overhead per job =
//    (T_W × W − T_1) / jobs: the worker-seconds the queue run spends beyond the single process's, per
//    job. Every queue run's files are checked against the single process's (same bytes).
// 2. Projections from measured per-image rates: Broden's 63,305 images through the dissection of
//    SqueezeNet v1.0's fire9/concat (forward + quantile passes + tally, measured on a few photos with
//    their colour concepts, every sweep running the network as it must when a data set's maps do not
//    fit the cache), and PDA at stride 1 on 1,000 photos: (H − K + 1) × (W − K + 1) × S forward passes
//    per photo (475,240 at 227×227, K = 10, S = 10), at the incremental route's measured images/s.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpus, tmpdir } from 'node:os';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Redis } from 'ioredis';
import type { Engine } from '../engine/gpu.ts';
import { Model } from '../engine/runner.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { readIdx } from '../loaders/idx.ts';
import { decodeImage, encodePng } from '../loaders/image.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { colourConcepts } from '../loaders/colour-concepts.ts';
import { dissect } from '../explainers/dissect.ts';
import { buildPatchModel } from '../explainers/patch-model.ts';
import { predictionDifference, windowGrid } from '../explainers/pda.ts';
import { LoupeError } from '../engine/errors.ts';
import { packagePath } from './paths.ts';
import type { ManifestEntry } from './dataset.ts';

export const BRODEN_IMAGES = 63305;
export const PDA_PHOTOS = 1000;

export interface ScaleBenchOptions {
  data: string;
  quick: boolean;
  /** a Redis for the queue lines (else one is started, if redis-server is installed) */
  redis?: string;
  log: (s: string) => void;
  /** the pda section's report, when it ran: its incremental images/s is used */
  pda?: Record<string, unknown>;
}

const fmtTime = (s: number) => (s < 120 ? `${s.toFixed(0)} s` : s < 7200 ? `${(s / 60).toFixed(1)} min` : s < 3 * 86400 ? `${(s / 3600).toFixed(1)} h` : `${(s / 86400).toFixed(1)} days`);

/** MNIST test digits `from` … `from + n − 1` of the IDX file `mnist` (.gz) as DIR/digit-NNNN.png (grey in RGBA); returns the file names. */
export function writeMnistDigits(mnist: string, dir: string, n: number, from = 0): string[] {
  const idx = readIdx(new Uint8Array(gunzipSync(readFileSync(mnist))), 't10k-images-idx3-ubyte');
  mkdirSync(dir, { recursive: true });
  const names: string[] = [];
  for (let i = from; i < from + n; i++) {
    const data = new Uint8Array(28 * 28 * 4);
    for (let p = 0; p < 784; p++) {
      const v = idx.data[i * 784 + p]!;
      data.set([v, v, v, 255], 4 * p);
    }
    const name = `digit-${String(i).padStart(4, '0')}.png`;
    writeFileSync(join(dir, name), encodePng({ width: 28, height: 28, data }));
    names.push(name);
  }
  return names;
}

/** A TCP port on 127.0.0.1 that nothing listens on (now). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** `loupe ARGS` as a child process (the built CLI), resolved with its exit code and stderr. */
function loupe(args: string[], env: NodeJS.ProcessEnv): { proc: ChildProcess; done: Promise<{ code: number | null; err: string }> } {
  const proc = spawn(process.execPath, [packagePath('bin', 'loupe.js'), ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
  let err = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (t: string) => (err += t));
  return { proc, done: new Promise((res) => proc.on('close', (code) => res({ code, err }))) };
}

const manifestOf = (dir: string): ManifestEntry[] =>
  readFileSync(join(dir, 'manifest.jsonl'), 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l) as ManifestEntry);

/** First start to last end of the manifest's items, seconds. */
function manifestSpan(entries: ManifestEntry[]): number {
  const start = Math.min(...entries.map((e) => Date.parse(e.time)));
  const end = Math.max(...entries.map((e) => Date.parse(e.time) + 1000 * e.seconds));
  return (end - start) / 1000;
}

const median = (a: number[]) => (a.length ? [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]! : NaN);

/**
 * The median time from one image's manifest line to the next of the same process (the manifest's
 * worker field), seconds: what an image costs a process in steady state, its first one left out.
 */
function steadyCycle(entries: ManifestEntry[]): number {
  const byWorker = new Map<string, number[]>();
  for (const e of entries) byWorker.set(e.worker, [...(byWorker.get(e.worker) ?? []), Date.parse(e.time) + 1000 * e.seconds]);
  const cycles: number[] = [];
  for (const ends of byWorker.values()) {
    ends.sort((a, b) => a - b);
    for (let i = 1; i < ends.length; i++) cycles.push((ends[i]! - ends[i - 1]!) / 1000);
  }
  return median(cycles);
}

/** The files of `a` other than the manifest that differ from (or are missing in) `b`. */
function differingFiles(a: string, b: string): string[] {
  const names = readdirSync(a).filter((f) => f !== 'manifest.jsonl');
  const other = new Set(readdirSync(b).filter((f) => f !== 'manifest.jsonl'));
  const bad = names.filter((f) => !other.has(f) || !readFileSync(join(a, f)).equals(readFileSync(join(b, f))));
  for (const f of other) if (!names.includes(f)) bad.push(f);
  return bad;
}

interface Row {
  route: string;
  workers: number;
  images: number;
  seconds: number;
  imagesPerSecond: number;
  /** ms per job, (T_W × W − T_1) / jobs */
  overheadMsPerJob?: number;
  /** wall time of the processes, start-up included */
  wallSeconds: number;
  /** median seconds from one image to the next in one process (steadyCycle) */
  cycleSeconds: number;
  /** ms per job in steady state beyond the single process's cycle: cycle_W − cycle_1 */
  steadyOverheadMs?: number;
}

/** A Redis to measure on: --redis, else a redis-server on a free loopback port; or why there is none. */
async function benchRedis(url: string | undefined): Promise<{ client: Redis; url: string; stop: () => void } | { why: string }> {
  const { connectRedis } = await import('./queue.ts');
  if (url !== undefined) {
    try {
      return { client: await connectRedis(url), url, stop: () => {} };
    } catch (e) {
      return { why: (e as Error).message };
    }
  }
  const v = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (v.error || v.status !== 0) return { why: 'no --redis URL given and no redis-server installed (Debian: apt-get install redis-server)' };
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const local = `redis://127.0.0.1:${port}`;
  const t0 = Date.now();
  for (;;) {
    try {
      return { client: await connectRedis(local), url: local, stop: () => proc.kill('SIGTERM') };
    } catch (e) {
      if (Date.now() - t0 > 10_000) {
        proc.kill('SIGTERM');
        return { why: `redis-server on port ${port} did not answer (${(e as Error).message})` };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The queue lines: a single process, then 1, 2, 3 workers over the same digits. */
async function queueLines(o: ScaleBenchOptions, report: Record<string, unknown>): Promise<void> {
  const { log } = o;
  const mnist = join(o.data, 'mnist', 't10k-images-idx3-ubyte.gz');
  const lenet = packagePath('weights', 'lenet-relu-mnist.onnx');
  if (!existsSync(mnist) || !existsSync(lenet)) {
    log(`scale: skipped: ${existsSync(mnist) ? lenet : mnist} not found`);
    report.skipped = `${existsSync(mnist) ? lenet : mnist} not found`;
    return;
  }
  const n = o.quick ? 12 : 48;
  const dir = mkdtempSync(join(tmpdir(), 'loupe-bench-scale-'));
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
  delete env.LOUPE_TEST_ITEM_DELAY_MS;
  try {
    const digits = join(dir, 'digits');
    writeMnistDigits(mnist, digits, n);
    const command = (out: string) => ['explain', '--method', 'saliency', '--model', lenet, '--images', digits, '--out', out];
    log(`\ndata-set run and queue workers: LeNet-ReLU saliency over ${n} MNIST digits, one result set per image (${cpus().length} CPU cores; times: first image started to last image recorded, process start-up left out)`);
    log(`${'route'.padEnd(26)}${'images'.padStart(7)}${'seconds'.padStart(9)}${'images/s'.padStart(10)}${'overhead ms/job'.padStart(17)}${'cycle ms'.padStart(10)}${'steady +ms'.padStart(12)}${'wall s'.padStart(8)}`);
    const rows: Row[] = [];
    const line = (r: Row) =>
      log(`${r.route.padEnd(26)}${String(r.images).padStart(7)}${r.seconds.toFixed(2).padStart(9)}${r.imagesPerSecond.toFixed(1).padStart(10)}${(r.overheadMsPerJob === undefined ? '-' : r.overheadMsPerJob.toFixed(1)).padStart(17)}${(1000 * r.cycleSeconds).toFixed(1).padStart(10)}${(r.steadyOverheadMs === undefined ? '-' : r.steadyOverheadMs.toFixed(1)).padStart(12)}${r.wallSeconds.toFixed(1).padStart(8)}`);

    const single = join(dir, 'single');
    let t0 = performance.now();
    const one = await loupe(command(single), env).done;
    if (one.code !== 0) throw new LoupeError(`bench scale: the single-process run failed: ${one.err.trim().split('\n').pop()}`);
    const t1 = manifestSpan(manifestOf(single));
    const cycle1 = steadyCycle(manifestOf(single));
    const singleRow: Row = { route: 'single process', workers: 0, images: n, seconds: t1, imagesPerSecond: n / t1, wallSeconds: (performance.now() - t0) / 1000, cycleSeconds: cycle1 };
    rows.push(singleRow);
    line(singleRow);

    const redis = await benchRedis(o.redis);
    if ('why' in redis) {
      log(`queue workers: skipped: ${redis.why}`);
      report.queueSkipped = redis.why;
    } else {
      const { pushRun } = await import('./queue.ts');
      const { Queue } = await import('bullmq');
      try {
        for (const w of [1, 2, 3]) {
          const name = `loupe-bench-scale-${process.pid}-${w}`;
          const out = join(dir, `queue-${w}`);
          const pushed = await pushRun(redis.client, name, command(out), 1);
          if (pushed.queued !== n) throw new LoupeError(`bench scale: queue ${name} on ${redis.url} already held jobs of this run; ${pushed.queued} of ${n} queued`);
          t0 = performance.now();
          const procs = Array.from({ length: w }, () => loupe(['worker', '--redis', redis.url, '--queue', name, '--idle-exit', '0.5'], env));
          const ends = await Promise.all(procs.map((p) => p.done));
          const wall = (performance.now() - t0) / 1000;
          const bad = ends.find((e) => e.code !== 0);
          if (bad) throw new LoupeError(`bench scale: a worker failed: ${bad.err.trim().split('\n').pop()}`);
          const queue = new Queue(name, { connection: redis.client });
          try {
            const jobs = await queue.getJobs(['completed'], 0, -1);
            if (jobs.length !== n) throw new Error(`bench scale: ${jobs.length} of ${n} jobs completed on ${name}`);
            const span = (Math.max(...jobs.map((j) => j.finishedOn!)) - Math.min(...jobs.map((j) => j.processedOn!))) / 1000;
            const cycle = steadyCycle(manifestOf(out));
            const diff = differingFiles(single, out);
            if (diff.length || manifestOf(out).length !== n) throw new Error(`bench scale: the workers' results differ from the single process's (${diff.slice(0, 3).join(', ')})`);
            const row: Row = { route: `queue, ${w} worker${w > 1 ? 's' : ''}`, workers: w, images: n, seconds: span, imagesPerSecond: n / span, overheadMsPerJob: ((span * w - t1) / n) * 1000, wallSeconds: wall, cycleSeconds: cycle, steadyOverheadMs: 1000 * (cycle - cycle1) };
            rows.push(row);
            line(row);
          } finally {
            await queue.obliterate({ force: true });
            await queue.close();
          }
        }
      } finally {
        redis.client.disconnect();
        redis.stop();
      }
      log(`overhead per job = (T_W × W − T_1) / jobs: worker-seconds beyond the single process's, per job (each worker's first-job set-up of the engine and model included); cycle = median time from one image's manifest line to the next in the same process, steady +ms = cycle − the single process's cycle (a job's cost to its worker once warm: fetch, lock, manifest reread, completion); every queue run's files equal the single process's byte for byte${cpus().length <= 2 ? `\non ${cpus().length} cores the workers share the CPU (a software adapter computes on it): these lines check the queue's overhead, not scaling` : ''}`);
    }
    report.digits = n;
    report.rows = rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Broden dissection and PDA stride 1: projected times from measured per-image rates. */
async function projections(engine: Engine, o: ScaleBenchOptions, report: Record<string, unknown>): Promise<void> {
  const { log } = o;
  const sqzFile = join(o.data, 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx');
  if (!existsSync(sqzFile)) {
    log(`projections: skipped: ${sqzFile} not found`);
    report.projectionsSkipped = `${sqzFile} not found`;
    return;
  }
  const Z = 227;
  const model = new Model(engine, loadOnnx(new Uint8Array(readFileSync(sqzFile)), 'squeezenet_v1.0_decoded.onnx'));
  const preprocess = { size: [Z, Z] as [number, number], mean: [104, 117, 123], bgr: true, channels: 3 };
  const photoFiles = ['preddiff/n01855672_8202.jpg', 'preddiff/n02488291_1177.jpg', 'preddiff/n02917067_1599.jpg', 'caffe/cat.jpg', 'transformer-explainability/el1.png', 'transformer-explainability/el2.png', 'pytorch-grad-cam/both.png', 'transformer-explainability/dogbird.png']
    .filter((f) => existsSync(join(o.data, 'images', f)));
  try {
    log('\nprojections from measured per-image rates (SqueezeNet v1.0, 227×227, this adapter)');
    // Dissection of fire9/concat: forward + three quantile passes + tally, the network run in every
    // sweep (Broden's 63,305 maps of 512×13×13 do not fit the cache), colour labels per photo at 112.
    if (photoFiles.length >= 2) {
      const photos = photoFiles.slice(0, o.quick ? 3 : 8).map((f) => ({ name: f, image: () => decodeImage(new Uint8Array(readFileSync(join(o.data, 'images', f))), f) }));
      const set = colourConcepts(photos, 112);
      const opts = { layers: ['/Concat_7_output_0'], quantile: 0.005, iou: 0.04, top: 1, bins: 1024, preprocess, cacheBytes: 0 };
      await dissect(model, { ...set, samples: set.samples.slice(0, 1) }, opts); // warm-up: pipelines
      const t0 = performance.now();
      const d = await dissect(model, set, opts);
      const s = (performance.now() - t0) / 1000;
      const rate = photos.length / s;
      const broden = BRODEN_IMAGES / rate;
      log(`dissection of fire9/concat (512 units): ${photos.length} photos with their colour concepts in ${s.toFixed(1)} s = ${rate.toFixed(2)} images/s (forward + quantile passes + tally, every sweep through the network; ${d.layers[0]!.units.length} units)`);
      log(`  Broden's ${BRODEN_IMAGES.toLocaleString('en')} images: ~${fmtTime(broden)} on one such adapter; N workers or shards: ÷ N (the tallies are merged by exact sums)`);
      report.dissection = { layer: 'fire9/concat (/Concat_7_output_0)', images: photos.length, seconds: s, imagesPerSecond: rate, brodenImages: BRODEN_IMAGES, brodenSeconds: broden, measured: 'colour concepts of photos from the shared data at 112×112, cacheBytes 0 (the network runs in every sweep)' };
    } else log('dissection: skipped: fewer than 2 photos under the data folder\'s images/');

    // PDA stride 1: (H − K + 1)(W − K + 1) × S forward passes per photo.
    const K = 10, S = 10;
    const perPhoto = windowGrid(Z, Z, K, 1).count * S;
    const fromBench = (o.pda?.routes as { route: string; ips: number }[] | undefined)?.find((r) => r.route === 'loupe incremental');
    let ips: number, how: string;
    if (fromBench) {
      ips = fromBench.ips;
      how = "the pda section's incremental route";
    } else {
      const imgs = photoFiles.slice(0, 2).map((f) => preprocessImage(decodeImage(new Uint8Array(readFileSync(join(o.data, 'images', f))), f), preprocess));
      const patchModel = buildPatchModel(imgs, { window: K, padding: 2, channels: 3, height: Z, width: Z, patches: 2000, store: 0, seed: 1 });
      const common = { sampling: 'conditional' as const, patchModel, window: K, stride: 1, samples: S, seed: 1, top: 1, incremental: true };
      await predictionDifference(model, imgs[0]!, { ...common, limitWindows: 2 }); // warm-up
      const windows = o.quick ? 6 : 40;
      const t0 = performance.now();
      await predictionDifference(model, imgs[0]!, { ...common, limitWindows: windows });
      ips = (windows * S) / ((performance.now() - t0) / 1000);
      how = `${windows} windows (${windows * S} perturbed images) of the incremental route, conditional sampling`;
    }
    const pdaSeconds = (PDA_PHOTOS * perPhoto) / ips;
    log(`PDA at stride 1, K=${K}, S=${S}: (${Z} − ${K} + 1)² × ${S} = ${perPhoto.toLocaleString('en')} forward passes per photo; ${ips.toFixed(1)} images/s measured (${how})`);
    log(`  ${fmtTime(perPhoto / ips)} per photo; ${PDA_PHOTOS.toLocaleString('en')} photos: ~${fmtTime(pdaSeconds)} on one such adapter, ÷ N with N workers`);
    report.pda = { window: K, samples: S, size: Z, forwardPassesPerPhoto: perPhoto, imagesPerSecond: ips, measured: how, photos: PDA_PHOTOS, secondsPerPhoto: perPhoto / ips, seconds: pdaSeconds, formula: '(H − K + 1) × (W − K + 1) × S forward passes per photo' };
  } finally {
    model.destroy();
  }
}

export async function benchScale(engine: Engine, o: ScaleBenchOptions): Promise<Record<string, unknown>> {
  const report: Record<string, unknown> = {};
  await queueLines(o, report);
  await projections(engine, o, report);
  return report;
}
