// Region forward mode (DESIGN.md, "region forward"; the incremental inference of prediction
// difference analysis and occlusion). A batch of images that differ from one clean image only
// inside a rectangle of the same size (each image its own position) is run by recomputing, per
// layer, only the rectangle of the layer that those input pixels can reach:
//
// - Every spatial value is stored as its clean activation [C,H,W] (the "prefix", written once by
//   `setClean`) followed by the batch's rectangles [N][C][rh][rw]. Each image's rectangle origin
//   is in a small i32 storage buffer written before each batch; its size is fixed per value.
// - Rectangles are propagated per axis on the CPU, once per plan, for every position the input
//   rectangle can take: a conv or pool maps the interval [a, b] to the outputs whose receptive field
//   meets it, elementwise ops keep it, concat takes the hull. A value's size is the largest interval
//   over all positions; an origin is moved inward where the rectangle would leave the map.
// - conv (the implicit-GEMM and direct kernels; Winograd's transforms where forced or tuned,
//   engine/ops/conv.ts says why not by default), max/avg pool, LRN (a 1×1 window: channels at one
//   pixel), elementwise ops, same-shape adds and products of two inputs (the hull of their
//   rectangles) and concat have region kernels (the REGION variants, region_copy), for the whole
//   batch in one dispatch each; they read a pixel from the image's rectangle where it covers it,
//   else from the clean prefix.
// - Global pools read the rectangles and the clean prefix directly (a vector per image out).
// - A value whose rectangle covers its whole map is a plain batch tensor, and so is the output of
//   every other op (fully-connected, softmax, broadcast products, ...): their rectangle inputs are
//   first expanded to whole maps (region_copy), then the ordinary kernels run.
import type { Dispatch } from './gpu.ts';
import type { Model, Tensor } from './runner.ts';
import type { Node } from './ir.ts';
import { inferShapes, nodeFlops, numel } from './shapes.ts';
import { lowerNode, opOf } from './ops/index.ts';
import type { NodeIO, RegionIO, RegionRule } from './ops/types.ts';
import { ArgumentError, ShapeError } from './errors.ts';
import { firstBadImage, outputError } from './finite.ts';
import { Arena } from './plan.ts';
import type { BatchSource } from './sources.ts';
import * as K from '../kernels/index.ts';

/** Per axis: for every origin the input rectangle can take along it, the changed interval [lo, hi]. */
interface Intervals {
  lo: Int32Array;
  hi: Int32Array;
}

/** How a value is stored in region mode. */
interface Layout {
  /** batch-1 shape */
  shape: number[];
  full: boolean;
  /** rectangle rows / cols (the map's size when full) */
  rh: number;
  rw: number;
  /** per input origin row / col: the rectangle's first row / col (unused when full) */
  rowStart: Int32Array;
  colStart: Int32Array;
  /** the changed intervals (what consumers propagate) */
  rows: Intervals;
  cols: Intervals;
}

interface RValue extends Layout {
  /** the value whose clean activation is the prefix */
  clean: string;
  buf: GPUBuffer;
  /** floats before the rectangles (0 when full) */
  rb: number;
  /** i32 offset of the origins (0: the all-zero block that full values use) */
  org: number;
}

function mapIntervals(iv: Intervals, k: number, s: number, p: number, d: number, outDim: number): Intervals {
  const n = iv.lo.length;
  const lo = new Int32Array(n), hi = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let a = Math.ceil((iv.lo[i]! + p - (k - 1) * d) / s);
    let b = Math.floor((iv.hi[i]! + p) / s);
    a = Math.max(0, Math.min(outDim - 1, a));
    b = Math.max(0, Math.min(outDim - 1, b));
    if (b < a) b = a; // a strided tap can skip a thin interval; keep one row (a superset is fine)
    lo[i] = a;
    hi[i] = b;
  }
  return { lo, hi };
}

/** The kernels of a node's dispatches (their pipelines' names without the variant). */
function kernelsOf(ds: Dispatch[]): string[] {
  return ds.map((d) => d.pipeline.label.split('|')[0]!);
}

function hull(ivs: Intervals[]): Intervals {
  const n = ivs[0]!.lo.length;
  const lo = new Int32Array(n), hi = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    lo[i] = Math.min(...ivs.map((v) => v.lo[i]!));
    hi[i] = Math.max(...ivs.map((v) => v.hi[i]!));
  }
  return { lo, hi };
}

function layoutOf(shape: number[], rows: Intervals | undefined, cols: Intervals | undefined, forceFull: boolean): Layout {
  const spatial = shape.length === 4;
  const H = spatial ? shape[2]! : 1, W = spatial ? shape[3]! : 1;
  const size = (iv: Intervals | undefined, dim: number) => {
    if (!iv) return dim;
    let m = 1;
    for (let i = 0; i < iv.lo.length; i++) m = Math.max(m, iv.hi[i]! - iv.lo[i]! + 1);
    return Math.min(m, dim);
  };
  const rh = forceFull || !spatial ? H : size(rows, H);
  const rw = forceFull || !spatial ? W : size(cols, W);
  const full = rh === H && rw === W;
  const start = (iv: Intervals | undefined, r: number, dim: number) => {
    const s = new Int32Array(iv ? iv.lo.length : 0);
    if (iv && !full) for (let i = 0; i < s.length; i++) s[i] = Math.min(iv.lo[i]!, dim - r);
    return s;
  };
  return {
    shape, full, rh: full ? H : rh, rw: full ? W : rw,
    rowStart: start(rows, rh, H), colStart: start(cols, rw, W),
    rows: rows && !forceFull ? rows : { lo: new Int32Array(0), hi: new Int32Array(0) },
    cols: cols && !forceFull ? cols : { lo: new Int32Array(0), hi: new Int32Array(0) },
  };
}

export interface RegionOptions {
  /** rows and cols of the input rectangle (the PDA window) */
  rect: [number, number];
  /** images per batch */
  batch: number;
  /** values (or layer names) read back, each as whole maps */
  outputs: string[];
}

export interface RegionStats {
  /** multiply-adds of the region pass / of the full pass, per image */
  macs: number;
  fullMacs: number;
  /** per layer: the rectangle it computes (rows×cols of its map), or 'full'; the kernels that compute it (window ops, and ops on whole maps) */
  layers: { name: string; op: string; rect: string; kernels?: string[] }[];
}

/**
 * A region-forward plan for one batch size: buffers, dispatches and rectangle tables made once.
 * `setClean(x)` writes the clean activations; each `run` then takes the dispatches that fill the
 * input rectangles (`input` from float `inputBase`, layout [N][C][rh][rw]) and the rectangle origin of
 * every image.
 */
export class RegionForward {
  readonly model: Model;
  readonly batch: number;
  readonly rect: [number, number];
  readonly outputs: string[];
  /** the input value's buffer: clean image, then the N input rectangles at float `inputBase` */
  readonly input: GPUBuffer;
  readonly inputBase: number;
  readonly stats: RegionStats;
  private values = new Map<string, RValue>();
  private dispatches: Dispatch[] = [];
  private arena: Arena;
  private fixed: Arena;
  private scratchArena: Arena;
  private org: GPUBuffer;
  private orgData: Int32Array;
  private regionValues: RValue[] = [];
  private reads: RValue[] = [];
  private cleanSet = false;

  constructor(model: Model, o: RegionOptions) {
    this.model = model;
    this.arena = new Arena(model.engine);
    this.fixed = new Arena(model.engine);
    this.scratchArena = new Arena(model.engine);
    this.batch = o.batch;
    this.rect = o.rect;
    const g = model.graph;
    const e = model.engine;
    const n = o.batch;
    if (!Number.isInteger(n) || n < 1) throw new ArgumentError(`region batch must be a positive integer, got ${n}`);
    const inShape = g.input.shape;
    if (inShape.length !== 4) throw new ShapeError('region mode needs an image input (N×C×H×W)');
    const [, , H0, W0] = inShape as [number, number, number, number];
    const [kh, kw] = o.rect;
    if (kh < 1 || kw < 1 || kh > H0 || kw > W0) throw new ArgumentError(`region ${kh}×${kw} does not fit the ${H0}×${W0} input`);
    this.outputs = [...new Set(o.outputs.map((v) => model.resolve(v)))];
    const shapes1 = inferShapes(g, 1);
    const shapesN = inferShapes(g, n);
    const ny = H0 - kh + 1, nx = W0 - kw + 1;
    const ctx = model.ctx();

    // Which nodes run (the plan builder's needed nodes, fusion rule and last uses, engine/plan.ts).
    const facts = model.facts;
    const order = facts.needed(this.outputs);
    const needed = new Set(order);
    const keep = new Set(this.outputs);
    const last = facts.lastUse(order, keep);
    /** a value read by a conv that writes into a concat lives until the concat */
    const until = new Map<string, number>();

    // Buffers from three arenas: whole-map values are reused once dead; values with a clean prefix
    // (written once by setClean) and the origins live as long as the plan, in an arena of their own
    // that takes no dead buffer (one would be overwritten each run by the value it held, earlier in
    // the dispatch list, after setClean wrote the prefix); scratch (Winograd's V and M) is reused
    // only as scratch, after the node that took it.
    let orgSize = 2 * n;
    const arena = this.arena, fixed = this.fixed, scratchArena = this.scratchArena;
    const alloc = (floats: number, label: string, from = arena) => {
      const bytes = Math.max(256, Math.ceil((floats * 4) / 256) * 256);
      if (bytes > e.maxBindingBytes) throw new ShapeError(`region mode: ${label} needs ${bytes} bytes, more than one binding (${e.maxBindingBytes}); use a smaller batch`);
      return from.alloc(bytes, `region:${label}`);
    };
    const make = (name: string, lay: Layout, clean: string): RValue => {
      const C = lay.shape[1] ?? 1;
      if (lay.full) return { ...lay, clean, buf: alloc(n * numel(lay.shape), name), rb: 0, org: 0 };
      const rb = numel(lay.shape);
      const v: RValue = { ...lay, clean, buf: alloc(rb + n * C * lay.rh * lay.rw, name, fixed), rb, org: orgSize };
      orgSize += 2 * n;
      this.regionValues.push(v);
      return v;
    };
    // the org buffer is created after the walk (its size is known then); dispatches bind it, so
    // create it with the largest possible size up front: two blocks per value at most.
    const maxBlocks = 1 + 1 + g.nodes.reduce((s, nd) => s + nd.outputs.length, 0);
    this.org = alloc(maxBlocks * 2 * n, 'origins', fixed);

    const inputLay = layoutOf(shapes1.get(g.input.name)!, { lo: Int32Array.from({ length: ny }, (_, i) => i), hi: Int32Array.from({ length: ny }, (_, i) => i + kh - 1) },
      { lo: Int32Array.from({ length: nx }, (_, i) => i), hi: Int32Array.from({ length: nx }, (_, i) => i + kw - 1) }, false);
    const inputV = make(g.input.name, inputLay, g.input.name);
    this.values.set(g.input.name, inputV);
    this.input = inputV.buf;
    this.inputBase = inputV.rb;

    const materialized = new Map<RValue, RValue>();
    const materialize = (v: RValue, label: string): RValue => {
      if (v.full) return v;
      let m = materialized.get(v);
      if (m) return m;
      const [, C, H, W] = v.shape as [number, number, number, number];
      m = make(`${label}(whole)`, layoutOf(v.shape, undefined, undefined, true), v.clean);
      this.dispatches.push(this.copy(v, m, C, C, 0, `expand:${label}`));
      void H; void W;
      materialized.set(v, m);
      return m;
    };

    /** A lowering's dispatches, with scratch offered (Winograd's V and M; released once they are in the list). */
    const withScratch = (lower: (scratch: NonNullable<NodeIO['scratch']>) => Dispatch | Dispatch[]): Dispatch[] => {
      const taken: GPUBuffer[] = [];
      const ds = lower((bytes, label) => {
        const b = alloc(bytes / 4, label, scratchArena);
        taken.push(b);
        return b;
      });
      for (const b of taken) scratchArena.release(b);
      return Array.isArray(ds) ? ds : [ds];
    };
    /** A window op's dispatches on rectangles. */
    const lowerWindow = (rule: Extract<RegionRule, { kind: 'window' }>, nio: NodeIO, r: RegionIO): Dispatch[] => withScratch((scratch) => rule.lower(ctx, { ...nio, scratch }, r));
    const stats: RegionStats = { macs: 0, fullMacs: 0, layers: [] };
    // Which needed nodes read each value (after ReLU fusion a conv's value is its ReLU's output).
    const readers = new Map<string, Node[]>();
    for (const i of order) for (const v of new Set(g.nodes[i]!.inputs)) readers.set(v, [...(readers.get(v) ?? []), g.nodes[i]!]);
    const deferred = new Map<string, { rows: Intervals; cols: Intervals; shape: number[]; emit: (y: RValue, c0: number) => void }>();
    const skip = new Set<number>();
    /** Releases the whole-map buffers (and whole-map copies) of the inputs whose last reader was node `i`. */
    const retire = (node: Node, i: number) => {
      for (const v of node.inputs) {
        if (Math.max(last.get(v) ?? -1, until.get(v) ?? -1) > i) continue;
        const rv = this.values.get(v);
        if (!rv) continue;
        if (rv.rb === 0 && rv.org === 0) arena.release(rv.buf);
        const m = materialized.get(rv);
        if (m) arena.release(m.buf);
      }
    };
    const step = (node: Node, i: number): void => {
      // A deferred conv is read by its concat only (which handles it below).
      const ins = node.inputs.map((v) => this.values.get(v)!);
      const outName = node.outputs[0]!;
      const out1 = shapes1.get(outName)!;
      const fl = nodeFlops(node, shapes1.get(node.inputs[0]!)!, out1, g);
      stats.fullMacs += fl / 2;
      const x = ins[0]!;
      const rect = (v: RValue) => (v.full ? 'full' : `${v.rh}×${v.rw} of ${v.shape[2]}×${v.shape[3]}`);

      const def = opOf(node);
      const rule = def.region as RegionRule;
      const io = (outShape: number[], inBufs: GPUBuffer[], out: GPUBuffer, fuseRelu = false) => ({
        node, inShapes: node.inputs.map((v) => shapesN.get(v)!), outShape, ins: inBufs, out, fuseRelu, label: `region:${node.op}:${node.name}`,
      });
      if (rule.kind === 'alias') {
        // a view of a rectangle value is only a view when it keeps the spatial layout
        this.values.set(outName, { ...(x.full || node.op === 'identity' ? x : materialize(x, node.inputs[0]!)), shape: out1 });
        return;
      }

      if (rule.kind === 'window' && !x.full && (rule.applies?.(node, shapes1.get(node.inputs[0]!)!, out1) ?? true)) {
        const a = rule.geometry(node);
        const d = a.dilation ?? [1, 1];
        const rows = mapIntervals(x.rows, a.kernel[0], a.stride[0], a.pads[0], d[0]!, out1[2]!);
        const cols = mapIntervals(x.cols, a.kernel[1], a.stride[1], a.pads[1], d[1]!, out1[3]!);
        let name = outName;
        let relu = false;
        const fused = facts.fusedRelu(i, needed, keep);
        if (fused !== undefined) {
          relu = true;
          skip.add(fused);
          name = g.nodes[fused]!.outputs[0]!;
        }
        const shapeN = shapesN.get(outName)!;
        // An op read only by a concat writes its channels straight into the concat's rectangles
        // (computed over the concat's rectangle, a superset of its own): no copy. Emitted when the
        // concat is reached and its rectangle is known.
        const reader = readers.get(name);
        if (rule.intoConcat && reader && reader.length === 1 && reader[0]!.op === 'concat' && (reader[0]!.attrs as { axis: number }).axis === 1 && !keep.has(name)
          && reader[0]!.inputs.filter((v) => v === name).length === 1 && out1.length === 4) {
          // the conv's input is read when the concat emits it
          until.set(node.inputs[0]!, facts.producer.get(reader[0]!.outputs[0]!)!);
          deferred.set(name, {
            rows, cols, shape: out1,
            emit: (y: RValue, c0: number) => {
              const r: RegionIO = { org: this.org, rhIn: x.rh, rwIn: x.rw, rbIn: x.rb, orgIn: x.org, rhOut: y.rh, rwOut: y.rw, rbOut: y.rb + c0 * y.rh * y.rw, orgOut: y.org, yChannels: y.shape[1]! };
              const ds = lowerWindow(rule, io(shapeN, [x.buf], y.buf, relu), r);
              this.dispatches.push(...ds);
              stats.macs += (fl / 2) * (y.rh * y.rw) / (out1[2]! * out1[3]!);
              stats.layers.push({ name: node.name, op: node.op, rect: `${rect(y)} (into ${reader[0]!.name})`, kernels: kernelsOf(ds) });
            },
          });
          return;
        }
        const y = make(name, layoutOf(out1, rows, cols, false), name);
        const r: RegionIO = { org: this.org, rhIn: x.rh, rwIn: x.rw, rbIn: x.rb, orgIn: x.org, rhOut: y.rh, rwOut: y.rw, rbOut: y.rb, orgOut: y.org };
        const ds = lowerWindow(rule, io(shapeN, [x.buf], y.buf, relu), r);
        this.dispatches.push(...ds);
        this.values.set(name, y);
        stats.macs += (fl / 2) * (y.rh * y.rw) / (out1[2]! * out1[3]!);
        stats.layers.push({ name: node.name, op: node.op, rect: rect(y), kernels: kernelsOf(ds) });
        return;
      }
      if (rule.kind === 'elementwise' && !x.full) {
        // Same rectangles: run the ordinary kernel over the prefix and the rectangles alike.
        const y = make(outName, x, outName);
        const total = y.rb + n * (x.shape[1] ?? 1) * x.rh * x.rw;
        this.dispatches.push(...lowerNode(ctx, { ...io([total], [x.buf], y.buf), inShapes: [[total]] }));
        this.values.set(outName, y);
        stats.layers.push({ name: node.name, op: node.op, rect: rect(y) });
        return;
      }
      if (rule.kind === 'global' && !x.full) {
        const [, C, , W] = x.shape as [number, number, number, number];
        const y = make(outName, layoutOf(out1, undefined, undefined, true), outName);
        this.dispatches.push(rule.lower(ctx, io(shapesN.get(outName)!, [x.buf], y.buf), { org: this.org, rhIn: x.rh, rwIn: x.rw, rbIn: x.rb, orgIn: x.org, c: C, w: W }));
        this.values.set(outName, y);
        stats.macs += fl / 2;
        stats.layers.push({ name: node.name, op: node.op, rect: 'full' });
        return;
      }
      if (rule.kind === 'combine' && ins.some((v) => !v.full) && (rule.applies?.(node, node.inputs.map((v) => shapes1.get(v)!), out1) ?? true)) {
        // The hull of the inputs' changed intervals; an input without intervals (whole maps of an
        // op that ran on them) may have changed anywhere: whole maps out.
        const known = ins.every((v) => v.rows.lo.length > 0 && v.cols.lo.length > 0);
        const lay = known ? layoutOf(out1, hull(ins.map((v) => v.rows)), hull(ins.map((v) => v.cols)), false) : layoutOf(out1, undefined, undefined, true);
        const y = make(outName, lay, outName);
        this.dispatches.push(rule.lower(ctx, io(shapesN.get(outName)!, ins.map((v) => v.buf), y.buf), {
          org: this.org, ins: ins.map((v) => ({ rh: v.rh, rw: v.rw, rb: v.rb, org: v.org })), rhOut: y.rh, rwOut: y.rw, rbOut: y.rb, orgOut: y.org,
        }));
        this.values.set(outName, y);
        stats.macs += (fl / 2) * (y.rh * y.rw) / (out1[2]! * out1[3]!);
        stats.layers.push({ name: node.name, op: node.op, rect: rect(y) });
        return;
      }
      const parts = node.inputs.map((v) => deferred.get(v) ?? this.values.get(v)!);
      // A part expanded to whole maps (an op without a region kernel made it) knows no changed
      // intervals: the hull would drop its changes, so such a concat runs on whole maps too.
      const intervalsKnown = parts.every((v) => v.rows.lo.length > 0 && v.cols.lo.length > 0);
      if (rule.kind === 'concat' && (node.attrs as { axis: number }).axis === 1 && intervalsKnown && parts.some((v) => !('full' in v) || !v.full) && out1.length === 4) {
        const y = make(outName, layoutOf(out1, hull(parts.map((v) => v.rows)), hull(parts.map((v) => v.cols)), false), outName);
        let c0 = 0;
        parts.forEach((v, k) => {
          const cx = v.shape[1]!;
          if ('emit' in v) v.emit(y, c0);
          else this.dispatches.push(this.copy(v, y, cx, out1[1]!, c0, `region:concat:${node.name}[${k}]`));
          c0 += cx;
        });
        this.values.set(outName, y);
        stats.layers.push({ name: node.name, op: node.op, rect: rect(y) });
        return;
      }
      // Everything else on whole maps. A conv deferred into this concat (which cannot take its
      // rectangles after all) writes its own rectangles first, as it would without a concat.
      if (rule.kind === 'concat')
        node.inputs.forEach((v, k) => {
          const d = deferred.get(v);
          if (!d || this.values.has(v)) return;
          const y = make(v, layoutOf(d.shape, d.rows, d.cols, false), v);
          d.emit(y, 0);
          this.values.set(v, y);
          ins[k] = y;
        });
      const whole = ins.map((v, k) => materialize(v, node.inputs[k]!));
      let name = outName;
      let fuse = false;
      const fused = facts.fusedRelu(i, needed, keep);
      if (fused !== undefined) {
        fuse = true;
        skip.add(fused);
        name = g.nodes[fused]!.outputs[0]!;
      }
      const y = make(name, layoutOf(out1, undefined, undefined, true), name);
      const ds = withScratch((scratch) => lowerNode(ctx, {
        ...io(shapesN.get(outName)!, whole.map((v) => v.buf), y.buf, fuse), label: `${node.op}:${node.name}`,
        flops: nodeFlops(node, shapesN.get(node.inputs[0]!)!, shapesN.get(outName)!, g), scratch,
      }));
      this.dispatches.push(...ds);
      this.values.set(name, y);
      stats.macs += fl / 2;
      stats.layers.push({ name: node.name, op: node.op, rect: 'full', kernels: kernelsOf(ds) });
    };
    for (const i of order) {
      if (skip.has(i)) continue;
      const node = g.nodes[i]!;
      step(node, i);
      retire(node, i);
    }
    for (const o of this.outputs) {
      const v = this.values.get(o);
      if (!v) throw new ArgumentError(`value "${o}" is not computed by the graph`);
      this.reads.push(materialize(v, o));
    }
    if (orgSize > maxBlocks * 2 * n) throw new ShapeError('region mode: origin blocks overflow'); // cannot happen: one block per value at most
    this.orgData = new Int32Array(orgSize);
    this.stats = stats;
  }

  private copy(x: RValue, y: RValue, cx: number, cy: number, c0: number, label: string): Dispatch {
    const total = this.batch * cx * y.rh * y.rw;
    return this.model.engine.makeDispatch(K.regionCopy, {
      uniforms: { total, cx, cy, c0, h: x.shape[2]!, w: x.shape[3]!, rhIn: x.rh, rwIn: x.rw, rbIn: x.rb, orgIn: x.org, rhOut: y.rh, rwOut: y.rw, rbOut: y.rb, orgOut: y.org },
      bindings: { x: x.buf, org: this.org, y: y.buf }, threads: total, label,
    });
  }

  /** Bytes of GPU memory the plan holds. */
  get bytes(): number {
    return this.arena.bytes + this.fixed.bytes + this.scratchArena.bytes;
  }

  /** Writes the clean image's activations into every rectangle value's prefix (one batch-1 forward pass). */
  async setClean(x: Float32Array): Promise<void> {
    const names = [...new Set(this.regionValues.map((v) => v.clean))];
    const inputName = this.model.graph.input.name;
    const res = await this.model.run(x, 1, { outputs: names.filter((v) => v !== inputName) });
    const q = this.model.engine.device.queue;
    for (const v of this.regionValues) {
      const d = v.clean === inputName ? x : res.get(v.clean)!.data;
      if (d.length !== v.rb) throw new ShapeError(`region mode: clean ${v.clean} has ${d.length} values, expected ${v.rb}`);
      q.writeBuffer(v.buf, 0, d.buffer, d.byteOffset, d.byteLength);
    }
    this.cleanSet = true;
  }

  /**
   * Writes the input rectangles themselves ([N][C][rows][cols] floats), for batches whose
   * rectangles do not change between runs (occlusion's constant patch); `run` then needs no source.
   */
  writeRectangles(data: Float32Array): void {
    const [, C] = this.model.graph.input.shape as [number, number];
    const want = this.batch * C * this.rect[0] * this.rect[1];
    if (data.length !== want) throw new ShapeError(`region mode: ${want} rectangle values expected (${this.batch}×${C}×${this.rect[0]}×${this.rect[1]}), got ${data.length}`);
    this.model.engine.device.queue.writeBuffer(this.input, this.inputBase * 4, data.buffer, data.byteOffset, data.byteLength);
  }

  /**
   * Runs one batch: `source` (if any) writes the input rectangles (PDA's draws), `oy`/`ox` give each
   * image's input rectangle origin (0 ≤ oy ≤ H − rows, 0 ≤ ox ≤ W − cols). Returns the outputs as
   * whole maps for the whole batch.
   */
  async run(source: BatchSource | undefined, oy: ArrayLike<number>, ox: ArrayLike<number>): Promise<Map<string, Tensor>> {
    if (!this.cleanSet) throw new ArgumentError('region mode: setClean must run before run');
    if (source && !source.rectangles) throw new ArgumentError('region mode: this batch source makes whole images, not rectangles');
    const n = this.batch;
    if (oy.length !== n || ox.length !== n) throw new ShapeError(`region mode: ${n} origins expected, got ${oy.length} and ${ox.length}`);
    const d = this.orgData;
    for (const v of this.regionValues)
      for (let b = 0; b < n; b++) {
        const yy = oy[b]!, xx = ox[b]!;
        if (!(yy >= 0 && yy < v.rowStart.length && xx >= 0 && xx < v.colStart.length) && v.rowStart.length > 0)
          throw new ShapeError(`region mode: origin (${yy}, ${xx}) of image ${b} is outside the input`);
        d[v.org + 2 * b] = v.rowStart[yy]!;
        d[v.org + 2 * b + 1] = v.colStart[xx]!;
      }
    this.model.engine.device.queue.writeBuffer(this.org, 0, d.buffer, d.byteOffset, d.byteLength);
    const fill = source?.rectangles!(this.input, this.inputBase) ?? [];
    const res = await this.model.engine.run([...fill, ...this.dispatches], this.reads.map((v) => ({ buffer: v.buf, bytes: n * numel(v.shape) * 4 })));
    const out = new Map(this.outputs.map((o, i) => {
      const s = [n, ...this.reads[i]!.shape.slice(1)];
      return [o, { shape: s, data: new Float32Array(res[i]!) }];
    }));
    // The clean image was checked layer by layer (setClean runs it through Model.run): a
    // non-finite value here comes from the changed rectangle.
    const bad = firstBadImage(out.values(), n);
    if (bad >= 0)
      throw outputError(out, bad, `image ${bad} of a region batch (the image with its ${this.rect.join('×')} rectangle at row ${oy[bad]}, column ${ox[bad]} replaced)`, (v) => this.model.facts.layerOf(v));
    return out;
  }

  destroy(): void {
    this.arena.destroy();
    this.fixed.destroy();
    this.scratchArena.destroy();
  }
}
