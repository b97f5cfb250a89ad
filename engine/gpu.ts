// The device wrapper: pipelines cached by kernel + variant + overrides, buffers
// labelled and pooled, bind groups cached, uniforms packed, and optional per-dispatch
// GPU timing from timestamp queries. Works on any `GPU` object: `navigator.gpu` in a
// browser, or the one the `webgpu` package (Dawn) creates in Node (see cli/gpu-node.ts).

import { ArgumentError, DeviceLimitError, GpuError } from './errors.ts';
import { wgsl } from '../kernels/wgsl.generated.ts';
import type { Tuning } from './tune.ts';
import { activeBindings, activeUniforms, declarations, type KernelSpec, type UniformValue } from '../kernels/spec.ts';

export interface EngineOptions {
  /** Record per-dispatch GPU time with timestamp queries, when the adapter has them. */
  timing?: boolean;
  powerPreference?: GPUPowerPreference;
  /**
   * Use subgroup operations where a kernel has a SUBGROUPS variant (the conv GEMM), when the adapter
   * has the `subgroups` feature with subgroups of at least 8 invocations. Default true.
   */
  subgroups?: boolean;
  /** How stride-1 3×3 convs are computed (Engine.convAlgorithm); default 'auto'. */
  convAlgorithm?: ConvAlgorithm;
  /**
   * Apply `tuning` (engine/tune.ts: per shape class, conv2d_gemm's workgroup size, subgroups, GEMM or
   * Winograd) where it was measured on this adapter and these kernels. Default false: off, the
   * lowering is exactly the untuned one (reproducible runs). The CLI sets it from LOUPE_TUNE.
   */
  tune?: boolean;
  /** A tuning (from `tune()` or a cache) for Engine.tuning. */
  tuning?: Tuning;
}

/**
 * How stride-1 3×3 group-1 convs run (engine/winograd.ts): 'gemm' always on conv2d_gemm, 'winograd'
 * on Winograd F(2×2, 3×3) wherever it applies, 'auto' on Winograd only for the shapes where it was
 * measured faster (the rule in engine/winograd.ts).
 */
export type ConvAlgorithm = 'auto' | 'gemm' | 'winograd';
export const CONV_ALGORITHMS: readonly ConvAlgorithm[] = ['auto', 'gemm', 'winograd'];

/** `value` as a ConvAlgorithm, or an ArgumentError naming `what` (a flag, an environment variable). */
export function convAlgorithmOf(value: string, what: string): ConvAlgorithm {
  if ((CONV_ALGORITHMS as readonly string[]).includes(value)) return value as ConvAlgorithm;
  throw new ArgumentError(`${what}: "${value}" is not a conv algorithm; use ${CONV_ALGORITHMS.join(', ')}`);
}

export interface Dispatch {
  label: string; // kernel name (and node name), for timing tables and errors
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  workgroups: [number, number, number];
  flops?: number;
}

export interface TimingRecord {
  label: string;
  ns: number;
  flops?: number;
}

const MAX_WG_PER_DIM = 65535;

/** Lines between `//#if NAME` / `//#else` / `//#endif` are kept when NAME is (or is not) among the defines. */
export function preprocessWgsl(src: string, defines: ReadonlySet<string>): string {
  const out: string[] = [];
  const stack: boolean[] = [];
  for (const line of src.split('\n')) {
    const t = line.trim();
    if (t.startsWith('//#if ')) stack.push(defines.has(t.slice(6).trim()));
    else if (t === '//#else') stack[stack.length - 1] = !stack[stack.length - 1];
    else if (t === '//#endif') stack.pop();
    else if (stack.every(Boolean)) out.push(line);
  }
  return out.join('\n');
}

export class Engine {
  readonly device: GPUDevice;
  readonly adapterInfo: string;
  readonly hasTimestamps: boolean;
  /** The device has the `subgroups` feature with subgroups of at least 8 invocations. */
  hasSubgroups = false;
  private subgroupsOn = true;
  private convAlg: ConvAlgorithm = 'auto';
  /** Whether `tuning` applies (EngineOptions.tune). Models key their plans by it and by `tuning`. */
  tune = false;
  /** The per-adapter conv tuning (engine/tune.ts), used when `tune` is on and it is of this adapter and these kernels. */
  tuning: Tuning | undefined;
  timing: boolean;
  private pipelines = new Map<string, GPUComputePipeline>();
  private bindGroups = new Map<string, GPUBindGroup>();
  /** the cached bind-group keys that refer to each buffer (by buffer id), dropped with the buffer */
  private bindGroupsOf = new Map<number, string[]>();
  private bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  private free = new Map<number, GPUBuffer[]>(); // pooled storage buffers by byte size
  private uniforms = new Map<string, GPUBuffer>(); // uniform buffers by kernel and contents
  private lost: string | undefined;
  /** rejects with the GpuError of a lost device once the device is lost (never resolves otherwise) */
  private readonly lostPromise: Promise<never>;

  private constructor(device: GPUDevice, adapterInfo: string, timing: boolean) {
    this.device = device;
    this.adapterInfo = adapterInfo;
    this.hasTimestamps = device.features.has('timestamp-query');
    this.timing = timing && this.hasTimestamps;
    this.lostPromise = device.lost.then((info) => {
      this.lost = info.message || String(info.reason ?? 'unknown reason');
      throw this.lostError();
    });
    this.lostPromise.catch(() => {}); // nobody may be waiting when it happens
  }

  static async create(gpu: GPU, opts: EngineOptions = {}): Promise<Engine> {
    const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
    if (!adapter) throw new GpuError('no WebGPU adapter found (on Linux without a GPU, install Mesa lavapipe: see README)');
    const wantTs = adapter.features.has('timestamp-query');
    // Subgroups (conv2d_gemm's SUBGROUPS variant shares weights by subgroupBroadcast over lanes 0..7).
    const sgMin = (adapter.info as { subgroupMinSize?: number } | undefined)?.subgroupMinSize ?? 0;
    const wantSg = adapter.features.has('subgroups' as GPUFeatureName) && sgMin >= 8;
    const lim = adapter.limits;
    const device = await adapter.requestDevice({
      label: 'loupe',
      requiredFeatures: [...(wantTs ? ['timestamp-query' as const] : []), ...(wantSg ? ['subgroups' as GPUFeatureName] : [])],
      requiredLimits: {
        maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
        maxBufferSize: lim.maxBufferSize,
        maxComputeWorkgroupStorageSize: lim.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: lim.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: lim.maxComputeWorkgroupSizeX,
        maxComputeWorkgroupSizeY: lim.maxComputeWorkgroupSizeY,
        maxStorageBuffersPerShaderStage: lim.maxStorageBuffersPerShaderStage,
      },
    });
    const i = adapter.info;
    const info = [i?.vendor, i?.architecture, i?.device, i?.description].filter((s) => s).join(' ') || 'unknown adapter';
    const engine = new Engine(device, info, opts.timing ?? false);
    engine.hasSubgroups = wantSg && device.features.has('subgroups' as GPUFeatureName);
    engine.subgroups = opts.subgroups ?? true;
    engine.convAlgorithm = opts.convAlgorithm ?? 'auto';
    engine.tune = opts.tune ?? false;
    engine.tuning = opts.tuning;
    return engine;
  }

  /** Whether kernels use their SUBGROUPS variant (EngineOptions.subgroups, where the device has them). */
  get subgroups(): boolean {
    return this.subgroupsOn && this.hasSubgroups;
  }
  set subgroups(on: boolean) {
    this.subgroupsOn = on;
  }

  /**
   * How stride-1 3×3 convs are computed (ConvAlgorithm). Models key their plans by it, so a change
   * applies to the next run; buffers derived for the other algorithm stay until the model is destroyed.
   */
  get convAlgorithm(): ConvAlgorithm {
    return this.convAlg;
  }
  set convAlgorithm(a: ConvAlgorithm) {
    this.convAlg = convAlgorithmOf(a, 'convAlgorithm');
  }

  /** What plans are keyed by for the tuning: 'off', or the tuning's adapter, kernels and time. */
  get tuningKey(): string {
    return this.tune && this.tuning ? `${this.tuning.kernelHash}@${this.tuning.measured}` : 'off';
  }

  get maxBindingBytes(): number {
    return Math.min(this.device.limits.maxStorageBufferBindingSize, this.device.limits.maxBufferSize);
  }

  /** Whether the device has been lost (destroyed, reset, driver crash). */
  get isLost(): boolean {
    return this.lost !== undefined;
  }

  private lostError(): GpuError {
    return new GpuError(`the GPU device was lost: ${this.lost}`);
  }

  checkAlive(): void {
    if (this.lost !== undefined) throw this.lostError();
  }

  /**
   * Waits for `p` (a map, an error scope, submitted work), or rejects with the lost device's GpuError
   * as soon as the device is lost: a lost device ends a run with a clear error, never a hang.
   */
  whileAlive<T>(p: Promise<T>): Promise<T> {
    this.checkAlive();
    p.catch(() => {}); // settled after the loss: nobody listens any more
    return Promise.race([p, this.lostPromise]).catch(async (err) => {
      // A map can be aborted a moment before `device.lost` resolves: give the loss a moment to show.
      if (this.lost === undefined && !(err instanceof GpuError))
        await Promise.race([this.lostPromise.catch(() => {}), new Promise<void>((r) => setTimeout(r, 200))]);
      throw this.lost !== undefined ? this.lostError() : err;
    });
  }

  // ---- pipelines -------------------------------------------------------------------

  /** The compute pipeline of `spec` with the given variant defines and override constants, built once. */
  pipeline(spec: KernelSpec, defines: string[] = [], overrides: Record<string, number> = {}): GPUComputePipeline {
    const defs = [...new Set(defines)].sort();
    for (const d of defs) if (!spec.variants?.includes(d)) throw new GpuError(`kernel ${spec.name} has no variant ${d} (variants: ${(spec.variants ?? []).join(', ') || 'none'})`);
    const ov = { ...(spec.overrides ?? {}), ...overrides };
    const key = `${spec.name}|${defs.join(',')}|${Object.entries(ov).sort().map(([k, v]) => `${k}=${v}`).join(',')}`;
    let p = this.pipelines.get(key);
    if (p) return p;
    const src = wgsl[spec.name];
    if (src === undefined) throw new GpuError(`kernel ${spec.name}.wgsl not found (run npm run gen)`);
    const set = new Set(defs);
    const module = this.device.createShaderModule({ label: key, code: declarations(spec, set) + preprocessWgsl(src, set) });
    p = this.device.createComputePipeline({
      label: key,
      layout: 'auto',
      compute: { module, entryPoint: spec.entry ?? 'main', constants: ov },
    });
    this.pipelines.set(key, p);
    return p;
  }

  // ---- buffers ---------------------------------------------------------------------

  private id(b: GPUBuffer): number {
    let id = this.bufferIds.get(b);
    if (id === undefined) this.bufferIds.set(b, (id = this.nextBufferId++));
    return id;
  }

  /**
   * A new storage buffer (also copy source and destination) of at least `bytes`, rounded up to 256,
   * labelled so that Dawn's errors say what it is. Every buffer the engine and its plans bind is
   * made here and dropped with `destroyBuffer`.
   */
  createBuffer(bytes: number, label: string): GPUBuffer {
    const size = Math.max(256, Math.ceil(bytes / 256) * 256);
    // Every buffer made here is bound whole as a storage buffer: one over the binding limit would
    // only fail later, as Dawn validation errors at the bind group.
    if (size > this.maxBindingBytes)
      throw new DeviceLimitError(`${label}: a buffer of ${size} bytes is more than one storage buffer binding on this device (${this.maxBindingBytes} bytes)`);
    return this.device.createBuffer({ label, size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  }

  /** Destroys a buffer and forgets the cached bind groups that refer to it (and only those). */
  destroyBuffer(b: GPUBuffer): void {
    const id = this.bufferIds.get(b);
    if (id !== undefined) {
      for (const key of this.bindGroupsOf.get(id) ?? []) this.bindGroups.delete(key);
      this.bindGroupsOf.delete(id);
    }
    b.destroy();
  }

  /** Number of cached bind groups (for tests of the cache's bookkeeping). */
  get cachedBindGroups(): number {
    return this.bindGroups.size;
  }

  /** A storage buffer of at least `bytes` (rounded up to 256), from the pool when one is free. */
  acquire(bytes: number, label: string): GPUBuffer {
    const size = Math.max(256, Math.ceil(bytes / 256) * 256);
    const b = this.free.get(size)?.pop();
    return b ?? this.createBuffer(size, label);
  }

  release(b: GPUBuffer): void {
    const list = this.free.get(b.size) ?? [];
    list.push(b);
    this.free.set(b.size, list);
  }

  /** Frees every pooled buffer (pooled buffers are otherwise kept for reuse). */
  trimPool(): void {
    for (const list of this.free.values()) for (const b of list) this.destroyBuffer(b);
    this.free.clear();
  }

  upload(data: Float32Array | Int32Array | Uint32Array, label: string): GPUBuffer {
    const b = this.acquire(data.byteLength, label);
    this.device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
    return b;
  }

  /**
   * A uniform buffer holding `values`, packed as consecutive 4-byte scalars (WGSL struct of
   * u32/i32/f32 fields; size rounded to 16). Uniform buffers are never rewritten, so buffers with the
   * same bytes are shared: a dispatch rebuilt with the same shapes (a later batch of occlusion, PDA
   * or etalon work, another optimisation run) reuses the buffer and so hits the bind-group cache,
   * instead of leaking a buffer and a bind group per call.
   */
  uniform(spec: KernelSpec, values: Record<string, UniformValue>, label: string, defines: string[] = []): GPUBuffer {
    const data = packUniforms(spec, values, defines);
    const key = `${spec.name}|${Array.from(new Uint32Array(data)).join(',')}`;
    let b = this.uniforms.get(key);
    if (b) return b;
    b = this.device.createBuffer({ label: `${label}.uniforms`, size: data.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.device.queue.writeBuffer(b, 0, data);
    this.uniforms.set(key, b);
    return b;
  }

  /** Bind group with the uniform at binding 0 (if any) and storage buffers at 1..n; cached by pipeline and buffers. */
  bindGroup(pipeline: GPUComputePipeline, buffers: GPUBuffer[], label: string): GPUBindGroup {
    const key = `${pipeline.label}#${buffers.map((b) => this.id(b)).join(',')}`;
    let bg = this.bindGroups.get(key);
    if (bg) return bg;
    bg = this.device.createBindGroup({
      label,
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    this.bindGroups.set(key, bg);
    for (const b of new Set(buffers)) {
      const id = this.id(b);
      const keys = this.bindGroupsOf.get(id);
      if (keys) keys.push(key);
      else this.bindGroupsOf.set(id, [key]);
    }
    return bg;
  }

  /**
   * One dispatch of `spec`: builds (or reuses) the pipeline, a uniform buffer and the bind group.
   * `threads` is the number of invocations along x (and y, z); the workgroup count is derived from
   * the kernel's workgroup size, and x is folded into y when it exceeds the per-dimension limit
   * (kernels rebuild the flat index from num_workgroups).
   */
  makeDispatch<B extends string>(
    spec: KernelSpec<B>,
    args: { defines?: string[]; overrides?: Record<string, number>; uniforms?: Record<string, UniformValue>; bindings: Partial<Record<B, GPUBuffer>>; label: string; flops?: number } & (
      | { threads: number }
      | { workgroups: [number, number, number] }
    ),
  ): Dispatch {
    const defines = args.defines ?? [];
    const pipeline = this.pipeline(spec, defines, args.overrides);
    const set = new Set(defines);
    const active = activeBindings(spec, set);
    const given = args.bindings as Record<string, GPUBuffer | undefined>;
    for (const k of Object.keys(given))
      if (given[k] !== undefined && !active.some((b) => b.name === k))
        throw new GpuError(`${args.label}: kernel ${spec.name}${defines.length ? ` (${defines.join(', ')})` : ''} has no binding "${k}"; it binds ${active.map((b) => b.name).join(', ')}`);
    const bufs = active.map((b) => {
      const buf = given[b.name];
      if (!buf) throw new GpuError(`${args.label}: kernel ${spec.name}${defines.length ? ` (${defines.join(', ')})` : ''} needs binding "${b.name}"`);
      return buf;
    });
    if (activeUniforms(spec, set).length > 0) bufs.unshift(this.uniform(spec, args.uniforms ?? {}, args.label, defines));
    const bindGroup = this.bindGroup(pipeline, bufs, args.label);
    let workgroups: [number, number, number];
    if ('threads' in args) {
      const wg = (args.overrides?.WG ?? spec.overrides?.WG ?? 64) as number;
      workgroups = foldWorkgroups(Math.ceil(args.threads / wg));
    } else workgroups = args.workgroups;
    return { label: args.label, pipeline, bindGroup, workgroups, flops: args.flops };
  }

  // ---- running ---------------------------------------------------------------------

  /** Encode dispatches into `enc`: one compute pass, or one per dispatch with timestamps when timing. */
  encode(enc: GPUCommandEncoder, dispatches: Dispatch[], timer?: Timer): void {
    if (!timer) {
      const pass = enc.beginComputePass();
      for (const d of dispatches) {
        pass.setPipeline(d.pipeline);
        pass.setBindGroup(0, d.bindGroup);
        pass.dispatchWorkgroups(...d.workgroups);
      }
      pass.end();
      return;
    }
    for (const d of dispatches) {
      const slot = timer.slot(d);
      const pass = enc.beginComputePass({ timestampWrites: { querySet: timer.querySet, beginningOfPassWriteIndex: 2 * slot, endOfPassWriteIndex: 2 * slot + 1 } });
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(...d.workgroups);
      pass.end();
    }
  }

  /** Submit `dispatches`, then read back the given byte ranges of buffers with one map. */
  async run(dispatches: Dispatch[], reads: { buffer: GPUBuffer; bytes: number; offset?: number }[] = []): Promise<ArrayBuffer[]> {
    this.checkAlive();
    const enc = this.device.createCommandEncoder();
    const timer = this.timing ? new Timer(this.device, dispatches.length) : undefined;
    this.encode(enc, dispatches, timer);
    timer?.resolve(enc);
    const total = reads.reduce((s, r) => s + align4(r.bytes), 0);
    let staging: GPUBuffer | undefined;
    if (total > 0) {
      staging = this.device.createBuffer({ size: total, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      let off = 0;
      for (const r of reads) {
        enc.copyBufferToBuffer(r.buffer, r.offset ?? 0, staging, off, align4(r.bytes));
        off += align4(r.bytes);
      }
    }
    this.device.pushErrorScope('validation');
    this.device.queue.submit([enc.finish()]);
    const err = await this.whileAlive(this.device.popErrorScope());
    if (err) throw new GpuError(`GPU validation error: ${err.message}`);
    const out: ArrayBuffer[] = [];
    if (staging) {
      await this.whileAlive(staging.mapAsync(GPUMapMode.READ));
      const all = staging.getMappedRange();
      let off = 0;
      for (const r of reads) {
        out.push(all.slice(off, off + r.bytes));
        off += align4(r.bytes);
      }
      staging.unmap();
      staging.destroy();
    } else await this.whileAlive(this.device.queue.onSubmittedWorkDone());
    if (timer) this.lastTimings = await this.whileAlive(timer.read());
    this.checkAlive();
    return out;
  }

  /** Per-dispatch GPU times of the last `run` with timing on. */
  lastTimings: TimingRecord[] = [];

  async readFloats(buffer: GPUBuffer, count: number, offsetFloats = 0): Promise<Float32Array> {
    const [ab] = await this.run([], [{ buffer, bytes: count * 4, offset: offsetFloats * 4 }]);
    return new Float32Array(ab!);
  }
}

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

export function foldWorkgroups(n: number): [number, number, number] {
  if (n <= MAX_WG_PER_DIM) return [Math.max(1, n), 1, 1];
  const y = Math.ceil(n / MAX_WG_PER_DIM);
  return [Math.ceil(n / y), y, 1];
}

/** Packs the uniform values a variant declares, in the spec's order, 4 bytes each, padded to 16 bytes. */
export function packUniforms(spec: KernelSpec, values: Record<string, UniformValue>, defines: string[] = []): ArrayBuffer {
  const us = activeUniforms(spec, new Set(defines));
  const n = us.length;
  const buf = new ArrayBuffer(Math.max(16, Math.ceil((n * 4) / 16) * 16));
  const dv = new DataView(buf);
  us.forEach(([name, type], i) => {
    const v = values[name];
    if (v === undefined) throw new GpuError(`kernel ${spec.name}: uniform ${name} not given`);
    const num = typeof v === 'boolean' ? (v ? 1 : 0) : v;
    if (type === 'f32') dv.setFloat32(i * 4, num, true);
    else if (type === 'i32') dv.setInt32(i * 4, num, true);
    else dv.setUint32(i * 4, num, true);
  });
  return buf;
}

/** Timestamp queries around each dispatch's pass. */
export class Timer {
  readonly querySet: GPUQuerySet;
  private labels: Dispatch[] = [];
  private resolveBuf: GPUBuffer;
  private readBuf: GPUBuffer;
  constructor(device: GPUDevice, n: number) {
    const count = Math.max(2, 2 * n);
    this.querySet = device.createQuerySet({ type: 'timestamp', count });
    this.resolveBuf = device.createBuffer({ size: count * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    this.readBuf = device.createBuffer({ size: count * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }
  slot(d: Dispatch): number {
    this.labels.push(d);
    return this.labels.length - 1;
  }
  resolve(enc: GPUCommandEncoder): void {
    const n = Math.max(2, this.labels.length * 2);
    enc.resolveQuerySet(this.querySet, 0, n, this.resolveBuf, 0);
    enc.copyBufferToBuffer(this.resolveBuf, 0, this.readBuf, 0, n * 8);
  }
  async read(): Promise<TimingRecord[]> {
    await this.readBuf.mapAsync(GPUMapMode.READ);
    const t = new BigUint64Array(this.readBuf.getMappedRange().slice(0));
    this.readBuf.unmap();
    this.readBuf.destroy();
    this.resolveBuf.destroy();
    this.querySet.destroy();
    return this.labels.map((d, i) => ({ label: d.label, ns: Number(t[2 * i + 1]! - t[2 * i]!), flops: d.flops }));
  }
}
