// The device's roofline, measured: its peak rate of f32 fused multiply-adds (kernels/roofline_fma.wgsl)
// and its memory bandwidth (kernels/roofline_copy.wgsl), the two ceilings against which `loupe bench`
// states every conv kernel and model as a share, and beside them the rate at which invocations can
// issue loads from addresses of their own (kernels/roofline_load.wgsl): FMA rate ÷ load rate is how
// many FMAs a kernel must do per load before its loads stop setting its speed. Each is timed with timestamp queries when the
// adapter has them, by wall clock around submit and completion otherwise (and says which). Work sizes
// are calibrated on the device so that one timed repetition lasts at least `targetMs`, whatever the
// device: the same call measures Mesa lavapipe on two cores and a data-centre GPU.
import type { Dispatch, Engine } from './gpu.ts';
import { rooflineCopy, rooflineFma, rooflineLoad } from '../kernels/roofline.ts';

/** The FMA chains' multiplier and addend: each chain contracts towards 1, so no value overflows. */
export const FMA_MUL = 1 - 2 ** -10;
export const FMA_ADD = 2 ** -10;
/** FMAs per invocation and iteration: 16 chains of vec4. */
export const FMAS_PER_STEP = 64;
/** Words of the load kernel's window (256 KiB: in cache on a CPU or a GPU), its step and its spread. */
export const LOAD_WINDOW = 2 ** 16;
export const LOAD_STEP = 4099;
export const LOAD_SPREAD = 16411;
/** Loads per invocation and iteration of the load kernel. */
export const LOADS_PER_STEP = 4;
/** Bytes of each copy buffer (capped by one storage binding): the two exceed any last-level cache. */
export const COPY_BYTES = 256 * 2 ** 20;

export interface Ceiling {
  /** GFLOP/s (FMA peak) or GB/s (copy bandwidth): work of one repetition / its median time */
  value: number;
  /** median milliseconds of one repetition */
  ms: number;
  reps: number;
  /** how each repetition was timed */
  timer: 'gpu' | 'wall';
}

export interface Roofline {
  /** GFLOP/s of independent f32 FMAs (2 FLOPs each) */
  peakGflops: number;
  /** GB/s of a large buffer copy, bytes read + bytes written */
  bandwidthGBs: number;
  /** FLOP per byte at which the two ceilings meet: below it a kernel is memory-bound */
  ridge: number;
  /** G loads/s: scalar f32 loads from cache, each invocation from addresses of its own */
  gatherGloads: number;
  /** FMAs the device can do in the time of one such load: (peak ÷ 2) ÷ load rate */
  fmasPerLoad: number;
  timer: 'gpu timestamps' | 'wall clock';
  fma: Ceiling & { invocations: number; iterations: number; flops: number };
  load: Ceiling & { invocations: number; iterations: number; loads: number };
  copy: Ceiling & { bufferBytes: number; copies: number; bytes: number };
}

export interface RooflineOptions {
  /** the least duration of one timed repetition (default 50 ms) */
  targetMs?: number;
  /** timed repetitions after calibration; the median counts (default 5) */
  reps?: number;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

/** Milliseconds that `dispatches` take on the device: summed timestamp intervals, or wall time of the run. */
async function timeDispatches(engine: Engine, dispatches: Dispatch[]): Promise<number> {
  if (engine.hasTimestamps) {
    const was = engine.timing;
    engine.timing = true;
    try {
      await engine.run(dispatches);
      return engine.lastTimings.reduce((s, t) => s + t.ns, 0) / 1e6;
    } finally {
      engine.timing = was;
    }
  }
  const t0 = performance.now();
  await engine.run(dispatches);
  return performance.now() - t0;
}

function fmaDispatch(engine: Engine, out: GPUBuffer, invocations: number, iterations: number): Dispatch {
  return engine.makeDispatch(rooflineFma, {
    uniforms: { total: invocations, iterations, mul: FMA_MUL, add: FMA_ADD },
    bindings: { out },
    threads: invocations,
    label: 'roofline_fma',
    flops: 2 * FMAS_PER_STEP * invocations * iterations,
  });
}

/** One run of the FMA kernel: each of `invocations` sums its chains after `iterations` steps (for checks). */
export async function fmaChains(engine: Engine, invocations: number, iterations: number): Promise<Float32Array> {
  const out = engine.acquire(invocations * 4, 'roofline_fma.out');
  try {
    const [ab] = await engine.run([fmaDispatch(engine, out, invocations, iterations)], [{ buffer: out, bytes: invocations * 4 }]);
    return new Float32Array(ab!);
  } finally {
    engine.release(out);
  }
}

/** One run of the copy kernel on `src` (a whole number of vec4s): what the kernel wrote (for checks). */
export async function copyThrough(engine: Engine, src: Float32Array): Promise<Float32Array> {
  const a = engine.upload(src, 'roofline_copy.src');
  const b = engine.acquire(src.byteLength, 'roofline_copy.dst');
  try {
    const vec4s = src.length / 4;
    const d = engine.makeDispatch(rooflineCopy, { uniforms: { total: vec4s }, bindings: { src: a, dst: b }, threads: vec4s, label: 'roofline_copy' });
    const [ab] = await engine.run([d], [{ buffer: b, bytes: src.byteLength }]);
    return new Float32Array(ab!);
  } finally {
    engine.release(a);
    engine.release(b);
  }
}

/** The load kernel's source words: small integers, so that every sum of them is exact in f32. */
export function loadWindow(): Float32Array {
  return new Float32Array(LOAD_WINDOW).map((_, j) => j % 13);
}

function loadDispatch(engine: Engine, src: GPUBuffer, out: GPUBuffer, invocations: number, iterations: number): Dispatch {
  return engine.makeDispatch(rooflineLoad, {
    uniforms: { total: invocations, iterations, step: LOAD_STEP, spread: LOAD_SPREAD, mask: LOAD_WINDOW - 1 },
    bindings: { src, out },
    threads: invocations,
    label: 'roofline_load',
  });
}

/** One run of the load kernel over loadWindow(): each invocation's sum of its 4 × `iterations` loads (for checks). */
export async function loadSums(engine: Engine, invocations: number, iterations: number): Promise<Float32Array> {
  const src = engine.upload(loadWindow(), 'roofline_load.src');
  const out = engine.acquire(invocations * 4, 'roofline_load.out');
  try {
    const [ab] = await engine.run([loadDispatch(engine, src, out, invocations, iterations)], [{ buffer: out, bytes: invocations * 4 }]);
    return new Float32Array(ab!);
  } finally {
    engine.release(src);
    engine.release(out);
  }
}

/**
 * Calibrates a kernel of `invocations` × `iterations` work: invocations grow first (up to 2²⁰,
 * enough to fill the largest GPU), then iterations (up to `maxIterations`, in multiples of
 * `multiple`), until one dispatch lasts `targetMs`; then `reps` timed runs of it, the median kept.
 */
async function calibrated(
  engine: Engine,
  make: (invocations: number, iterations: number) => Dispatch,
  start: { invocations: number; iterations: number; maxIterations: number; multiple: number },
  targetMs: number,
  reps: number,
): Promise<{ ms: number; invocations: number; iterations: number }> {
  const maxInvocations = 2 ** 20;
  let { invocations, iterations } = start;
  // Warm-up: a software adapter compiles the shader at its first dispatch, inside the timed pass.
  await engine.run([make(invocations, start.multiple)]);
  for (let round = 0; round < 16; round++) {
    const ms = await timeDispatches(engine, [make(invocations, iterations)]);
    if (ms >= 1.2 * targetMs || iterations >= start.maxIterations) break; // a margin: the timed runs may be faster than this one
    const grow = Math.min(64, (1.5 * targetMs) / Math.max(ms, 1e-3));
    const more = Math.min(maxInvocations, 2 ** Math.ceil(Math.log2(invocations * grow)));
    const its = start.multiple * Math.ceil((iterations * Math.max(1, (grow * invocations) / more)) / start.multiple);
    iterations = Math.min(start.maxIterations, its);
    invocations = more;
  }
  const d = make(invocations, iterations);
  const times: number[] = [];
  for (let r = 0; r < reps; r++) times.push(await timeDispatches(engine, [d]));
  return { ms: median(times), invocations, iterations };
}

/**
 * The FMA ceiling: invocations grow first (up to 2²⁰, enough to fill the largest GPU), then the
 * chains' length, until one dispatch lasts `targetMs`; then `reps` timed runs of that dispatch.
 */
async function measureFma(engine: Engine, targetMs: number, reps: number): Promise<Roofline['fma']> {
  const out = engine.acquire(2 ** 20 * 4, 'roofline_fma.out');
  try {
    // Long chains (512 steps up, whole trips of the kernel's 4-step loop): per-invocation set-up and store stay a small share on any device.
    const c = await calibrated(engine, (n, it) => fmaDispatch(engine, out, n, it), { invocations: 2 ** 14, iterations: 512, maxIterations: 2 ** 30, multiple: 4 }, targetMs, reps);
    const flops = 2 * FMAS_PER_STEP * c.invocations * c.iterations;
    return { value: flops / c.ms / 1e6, ms: c.ms, reps, timer: engine.hasTimestamps ? 'gpu' : 'wall', invocations: c.invocations, iterations: c.iterations, flops };
  } finally {
    engine.release(out);
  }
}

/** The load rate: as the FMA ceiling, over the 256 KiB window (iterations capped so that every sum stays exact). */
async function measureLoad(engine: Engine, targetMs: number, reps: number): Promise<Roofline['load']> {
  const src = engine.upload(loadWindow(), 'roofline_load.src');
  const out = engine.acquire(2 ** 20 * 4, 'roofline_load.out');
  try {
    const c = await calibrated(engine, (n, it) => loadDispatch(engine, src, out, n, it), { invocations: 2 ** 14, iterations: 64, maxIterations: 2 ** 16, multiple: 1 }, targetMs, reps);
    const loads = LOADS_PER_STEP * c.invocations * c.iterations;
    return { value: loads / c.ms / 1e6, ms: c.ms, reps, timer: engine.hasTimestamps ? 'gpu' : 'wall', invocations: c.invocations, iterations: c.iterations, loads };
  } finally {
    engine.release(src);
    engine.release(out);
  }
}

/**
 * The memory ceiling: a copy between two buffers of COPY_BYTES (the source filled once, so its
 * pages are real), repeated within one submission until a repetition lasts `targetMs`.
 */
async function measureCopy(engine: Engine, targetMs: number, reps: number): Promise<Roofline['copy']> {
  const bufferBytes = Math.floor(Math.min(COPY_BYTES, engine.maxBindingBytes) / 256) * 256;
  const src = engine.createBuffer(bufferBytes, 'roofline_copy.src');
  const dst = engine.createBuffer(bufferBytes, 'roofline_copy.dst');
  try {
    const chunk = new Float32Array(Math.min(bufferBytes, 2 ** 22) / 4).map((_, i) => i);
    for (let off = 0; off < bufferBytes; off += chunk.byteLength)
      engine.device.queue.writeBuffer(src, off, chunk.buffer, 0, Math.min(chunk.byteLength, bufferBytes - off));
    const vec4s = bufferBytes / 16;
    const d = engine.makeDispatch(rooflineCopy, { uniforms: { total: vec4s }, bindings: { src, dst }, threads: vec4s, label: 'roofline_copy' });
    await engine.run([d]); // warm-up: the shader's first dispatch, and Dawn's clearing of dst
    // At most 2048 copies a submission: two timestamps each, and a query set holds 4096.
    let copies = 1;
    for (let round = 0; round < 16; round++) {
      const ms = await timeDispatches(engine, Array(copies).fill(d));
      if (ms >= 1.2 * targetMs || copies >= 2048) break;
      copies = Math.min(2048, Math.ceil(copies * Math.min(64, (1.5 * targetMs) / Math.max(ms, 1e-3))));
    }
    const times: number[] = [];
    for (let r = 0; r < reps; r++) times.push(await timeDispatches(engine, Array(copies).fill(d)));
    const ms = median(times);
    const bytes = 2 * bufferBytes * copies;
    return { value: bytes / ms / 1e6, ms, reps, timer: engine.hasTimestamps ? 'gpu' : 'wall', bufferBytes, copies, bytes };
  } finally {
    engine.destroyBuffer(src);
    engine.destroyBuffer(dst);
  }
}

/** Measures the FMA ceiling, the load rate and the copy ceiling of `engine`'s device, in this order, in the same call. */
export async function measureRoofline(engine: Engine, opts: RooflineOptions = {}): Promise<Roofline> {
  const targetMs = opts.targetMs ?? 50;
  const reps = opts.reps ?? 5;
  const fma = await measureFma(engine, targetMs, reps);
  const load = await measureLoad(engine, targetMs, reps);
  const copy = await measureCopy(engine, targetMs, reps);
  return {
    peakGflops: fma.value,
    bandwidthGBs: copy.value,
    ridge: fma.value / copy.value,
    gatherGloads: load.value,
    fmasPerLoad: fma.value / 2 / load.value,
    timer: engine.hasTimestamps ? 'gpu timestamps' : 'wall clock',
    fma,
    load,
    copy,
  };
}

/** What the roofline allows a kernel of `intensity` FLOP per byte: min(peak, intensity × bandwidth), GFLOP/s. */
export function rooflineBound(roof: Pick<Roofline, 'peakGflops' | 'bandwidthGBs'>, intensity: number): number {
  return Math.min(roof.peakGflops, intensity * roof.bandwidthGBs);
}
