// The browser app's model panel: a compact drawing of the model's graph (one SVG, built once per
// model) and the `loupe info` layer table, both from engine/summary.ts's ModelSummary, so that the
// app, the CLI and `loupe info --json` agree on every layer and number. Plain DOM and SVG, no
// dependencies; nothing here runs per frame.
//
// Layout: a node's level is the longest path from the graph input (the input is level 0), drawn top
// to bottom; the nodes of a level sit side by side (an Inception module's four branches, a Fire
// module's two expands, a residual block's shortcut), each placed under the mean of its producers
// and pushed apart where they would overlap. Edges run from a value's producer to each consumer;
// one that skips levels and would cross a node on the way (a residual shortcut) is routed down a
// lane to the right of the nodes it passes.
import type { LayerRow, ModelSummary } from '../../engine/summary.ts';

export type OpKind = 'input' | 'conv' | 'pool' | 'activation' | 'norm' | 'dense' | 'structure' | 'other';

const KINDS: Record<string, OpKind> = {};
for (const [kind, ops] of [
  ['conv', 'conv convtranspose'],
  ['pool', 'maxpool avgpool globalavgpool globalmaxpool reducemean'],
  ['activation', 'relu leakyrelu prelu elu sigmoid tanh clip hardsigmoid hardswish softmax'],
  ['norm', 'lrn channelaffine batchnorm'],
  ['dense', 'fc gemm matmul'],
  ['structure', 'concat add mul flatten reshape identity pad resize transpose slicechannels'],
] as const)
  for (const op of ops.split(' ')) KINDS[op] = kind;

/** The colour family of an op: conv, pool, activation, norm, dense, structure (merges and reshapes) or other. */
export function opKind(op: string): OpKind {
  return KINDS[op] ?? 'other';
}

// Geometry, in CSS pixels. Four nodes side by side (an Inception level) fit a 320 px panel.
const NODE_W = 70;
const NODE_H = 18;
const GAP_X = 8;
const ROW_H = 30; // level to level
const MARGIN = 6;
const LANE_GAP = 8;

export interface LayoutNode {
  id: number; // 0: the graph input; i + 1: summary.layers[i]
  name: string;
  op: string;
  level: number;
  x: number; // top-left corner
  y: number;
}
export interface LayoutEdge {
  from: number; // node ids
  to: number;
  value: string; // the value that flows
  d: string; // SVG path
}
export interface GraphLayout {
  nodes: LayoutNode[];
  edges: LayoutEdge[];
  width: number;
  height: number;
  nodeWidth: number;
  nodeHeight: number;
}

/**
 * Places the summary's layers (pure arithmetic, no DOM). Values are matched by name: a layer's
 * `output` feeds the layers whose `inputs` name it, and `summary.input.name` is the graph input.
 * One edge per (producer, consumer) pair; inputs that nothing produces (parameters) draw none.
 */
export function layoutGraph(summary: ModelSummary): GraphLayout {
  const rows = summary.layers;
  const n = rows.length + 1;
  const producer = new Map<string, number>([[summary.input.name, 0]]);
  rows.forEach((r, i) => producer.set(r.output, i + 1));
  const parents: number[][] = [[]];
  const edgeList: { from: number; to: number; value: string }[] = [];
  rows.forEach((r, i) => {
    const ps: number[] = [];
    for (const v of r.inputs) {
      const p = producer.get(v);
      if (p === undefined || p === i + 1 || ps.includes(p)) continue;
      ps.push(p);
      edgeList.push({ from: p, to: i + 1, value: v });
    }
    parents.push(ps);
  });

  // level = longest path from the input; the rows are topologically ordered, but do not rely on it
  const level = new Array<number>(n).fill(-1);
  level[0] = 0;
  const state = new Uint8Array(n); // 1: on the stack
  const levelOf = (id: number): number => {
    if (level[id]! >= 0) return level[id]!;
    if (state[id]) return 0; // a cycle: not a DAG; draw it anyway
    state[id] = 1;
    let l = 1;
    for (const p of parents[id]!) l = Math.max(l, levelOf(p) + 1);
    state[id] = 0;
    return (level[id] = l);
  };
  for (let id = 1; id < n; id++) levelOf(id);
  const depth = Math.max(0, ...level);
  const byLevel: number[][] = Array.from({ length: depth + 1 }, () => []);
  for (let id = 0; id < n; id++) byLevel[level[id]!]!.push(id);

  // x: each level in the order of its producers' mean position, then pushed apart and re-centred
  const step = NODE_W + GAP_X;
  const cx = new Array<number>(n).fill(0);
  for (const ids of byLevel) {
    const want = new Map<number, number>();
    for (const id of ids) {
      const ps = parents[id]!;
      want.set(id, ps.length ? ps.reduce((s, p) => s + cx[p]!, 0) / ps.length : 0);
    }
    ids.sort((a, b) => want.get(a)! - want.get(b)! || a - b);
    let prev = -Infinity;
    let shift = 0;
    for (const id of ids) {
      cx[id] = Math.max(want.get(id)!, prev + step);
      prev = cx[id]!;
      shift += want.get(id)! - cx[id]!;
    }
    shift /= ids.length || 1;
    for (const id of ids) cx[id]! += shift;
  }
  const minX = Math.min(...cx);
  const nodes: LayoutNode[] = [];
  for (let id = 0; id < n; id++) {
    const r = id ? rows[id - 1]! : undefined;
    nodes.push({ id, name: r ? r.name : summary.input.name, op: r ? r.op : 'input', level: level[id]!, x: Math.round(cx[id]! - minX) + MARGIN, y: MARGIN + level[id]! * ROW_H });
  }
  let width = Math.max(...nodes.map((v) => v.x + NODE_W)) + MARGIN;

  // edges: a cubic from the producer's bottom to the consumer's top, or down a lane past the nodes in between
  const edges: LayoutEdge[] = [];
  const lanes = new Map<number, number>(); // lane x -> lowest y in use, so that lanes that overlap in y step right
  for (const e of edgeList) {
    const a = nodes[e.from]!;
    const b = nodes[e.to]!;
    const sx = a.x + NODE_W / 2;
    const sy = a.y + NODE_H;
    const tx = b.x + NODE_W / 2;
    const ty = b.y;
    // is the straight line (or the vertical x = X) clear of the nodes of the levels in between?
    const clear = (X?: number): boolean => {
      for (let l = a.level + 1; l < b.level; l++) {
        const lx = X ?? sx + ((tx - sx) * (l - a.level)) / (b.level - a.level);
        for (const id of byLevel[l]!) if (lx > nodes[id]!.x - 3 && lx < nodes[id]!.x + NODE_W + 3) return false;
      }
      return true;
    };
    const k = (ROW_H - NODE_H) / 2;
    let d: string;
    if (clear()) {
      const c = Math.max(k, (ty - sy) / 2);
      d = `M${sx},${sy}C${sx},${sy + c} ${tx},${ty - c} ${tx},${ty}`;
    } else {
      // down the source's column, the target's, or a lane right of the nodes in between
      let lane = clear(sx) ? sx : clear(tx) ? tx : NaN;
      if (Number.isNaN(lane)) {
        lane = LANE_GAP;
        for (let l = a.level + 1; l < b.level; l++) for (const id of byLevel[l]!) lane = Math.max(lane, nodes[id]!.x + NODE_W + LANE_GAP);
        while ((lanes.get(lane) ?? -Infinity) > sy) lane += LANE_GAP / 2;
        lanes.set(lane, ty);
        width = Math.max(width, lane + MARGIN);
      }
      d = `M${sx},${sy}C${sx},${sy + k} ${lane},${sy} ${lane},${sy + 2 * k}L${lane},${ty - 2 * k}C${lane},${ty} ${tx},${ty - k} ${tx},${ty}`;
    }
    edges.push({ ...e, d });
  }
  return { nodes, edges, width, height: MARGIN * 2 + depth * ROW_H + NODE_H, nodeWidth: NODE_W, nodeHeight: NODE_H };
}

const SVG = 'http://www.w3.org/2000/svg';
const SELECTED = 'gv-selected';

function svgEl<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const k in attrs) el.setAttribute(k, String(attrs[k]));
  return el;
}

function shapeText(shape: number[]): string {
  return shape.slice(1).join('×'); // as engine/summary.ts's shapeText (not imported: it would pull in the op table)
}

/** Adds GRAPH_CSS to the document once. */
function ensureCss(doc: Document): void {
  if (doc.querySelector('style[data-loupe-graph]')) return;
  const style = doc.createElement('style');
  style.dataset.loupeGraph = '';
  style.textContent = GRAPH_CSS;
  (doc.head ?? doc.documentElement).append(style);
}

/** A model's graph as one SVG in `root` (which it scrolls when the graph is wider or taller). */
export class GraphView {
  private wrap: HTMLDivElement | null = null;
  private svg: SVGSVGElement | null = null;
  private nodes = new Map<string, SVGGElement>();
  private edgesOf = new Map<string, SVGPathElement[]>();
  private selected: string | null = null;

  constructor(
    private root: HTMLElement,
    private onSelect?: (layer: string) => void,
  ) {
    ensureCss(root.ownerDocument);
  }

  /** Draws the summary's graph, replacing the one drawn before. */
  show(summary: ModelSummary): void {
    this.clear();
    const L = layoutGraph(summary);
    const svg = svgEl('svg', { class: 'gv-svg', width: L.width, height: L.height, viewBox: `0 0 ${L.width} ${L.height}`, role: 'list', 'aria-label': `${summary.name}: ${summary.layers.length} layers` });
    const edgeLayer = svgEl('g', { class: 'gv-edges' });
    const nodeLayer = svgEl('g', { class: 'gv-nodes' });
    const names = L.nodes.map((v) => v.name);
    for (const e of L.edges) {
      const path = svgEl('path', { class: 'gv-edge', d: e.d });
      edgeLayer.append(path);
      for (const id of [e.from, e.to]) {
        if (id === 0) continue;
        const list = this.edgesOf.get(names[id]!) ?? [];
        list.push(path);
        this.edgesOf.set(names[id]!, list);
      }
    }
    const rows = new Map<string, LayerRow>(summary.layers.map((r) => [r.name, r]));
    for (const v of L.nodes) {
      const r = v.id ? rows.get(v.name) : undefined;
      const kind = v.id ? opKind(v.op) : 'input';
      const g = svgEl('g', { class: `gv-node gv-k-${kind}`, transform: `translate(${v.x},${v.y})` });
      const title = svgEl('title', {});
      const shape = r ? r.shape : summary.input.shape;
      title.textContent = `${v.name}\n${v.op} · ${shapeText(shape)}${r?.params ? ` · ${r.params.toLocaleString('en')} params` : ''}`;
      const label = v.id ? v.op : 'input';
      const text = svgEl('text', { x: L.nodeWidth / 2, y: L.nodeHeight / 2 + 0.5 });
      if (label.length > 11) {
        text.setAttribute('textLength', String(L.nodeWidth - 8));
        text.setAttribute('lengthAdjust', 'spacingAndGlyphs');
      }
      text.textContent = label;
      g.append(title, svgEl('rect', { width: L.nodeWidth, height: L.nodeHeight, rx: 4 }), text);
      if (v.id) {
        g.dataset.layer = v.name;
        g.setAttribute('tabindex', '0');
        g.setAttribute('role', 'button');
        g.setAttribute('aria-label', `${v.name} (${v.op})`);
        this.nodes.set(v.name, g);
      }
      nodeLayer.append(g);
    }
    svg.append(edgeLayer, nodeLayer);
    svg.addEventListener('click', this.onClick);
    svg.addEventListener('keydown', this.onKey);
    const wrap = document.createElement('div');
    wrap.className = 'gv-wrap';
    wrap.append(svg);
    this.root.append(wrap);
    this.wrap = wrap;
    this.svg = svg;
  }

  /** Highlights one layer's node and its edges (and any table row for it in `root`) and scrolls it into view; null clears. */
  select(layer: string | null): void {
    if (this.selected !== null) {
      this.nodes.get(this.selected)?.classList.remove(SELECTED);
      for (const p of this.edgesOf.get(this.selected) ?? []) p.classList.remove(SELECTED);
    }
    this.selected = layer !== null && this.nodes.has(layer) ? layer : null;
    selectRow(this.root, layer);
    if (this.selected === null) return;
    const g = this.nodes.get(this.selected)!;
    g.classList.add(SELECTED);
    for (const p of this.edgesOf.get(this.selected) ?? []) p.classList.add(SELECTED);
    g.scrollIntoView?.({ block: 'nearest', inline: 'nearest' });
  }

  destroy(): void {
    this.clear();
    this.onSelect = undefined;
  }

  private clear(): void {
    this.svg?.removeEventListener('click', this.onClick);
    this.svg?.removeEventListener('keydown', this.onKey);
    this.wrap?.remove();
    this.wrap = null;
    this.svg = null;
    this.nodes.clear();
    this.edgesOf.clear();
    this.selected = null;
  }

  private pick(target: EventTarget | null): void {
    const g = (target as Element | null)?.closest?.('.gv-node[data-layer]') as SVGGElement | null;
    const name = g?.dataset.layer;
    if (name === undefined) return;
    this.select(name);
    this.onSelect?.(name);
  }

  private onClick = (e: MouseEvent): void => this.pick(e.target);
  private onKey = (e: KeyboardEvent): void => {
    if (e.key !== 'Enter' && e.key !== ' ') return;
    e.preventDefault();
    this.pick(e.target);
  };
}

/** Marks the row of `layer` (rows carry data-layer) in `container` as selected and scrolls it into view; null clears. */
export function selectRow(container: ParentNode, layer: string | null): void {
  container.querySelectorAll<HTMLTableRowElement>('tr[data-layer]').forEach((tr) => {
    const on = tr.dataset.layer === layer;
    if (tr.classList.contains(SELECTED) === on) return;
    tr.classList.toggle(SELECTED, on);
    if (on) tr.scrollIntoView?.({ block: 'nearest' });
  });
}

/**
 * The `loupe info` table: layer, op, output shape (C×H×W), params, MFLOPs, one row per layer
 * (data-layer = its name), and the total as `loupe info` words it. Clicking a row selects it
 * and calls onSelect with the layer's name.
 */
export function layerTable(summary: ModelSummary, onSelect?: (layer: string) => void): HTMLTableElement {
  ensureCss(document);
  const table = document.createElement('table');
  table.className = 'lt';
  const cell = (tag: 'td' | 'th', text: string, cls?: string) => {
    const c = document.createElement(tag);
    c.textContent = text;
    if (cls) c.className = cls;
    return c;
  };
  const head = table.createTHead().insertRow();
  head.append(cell('th', 'layer'), cell('th', 'op'), cell('th', 'output shape'), cell('th', 'params', 'lt-num'), cell('th', 'MFLOPs', 'lt-num'));
  const body = table.createTBody();
  for (const r of summary.layers) {
    const tr = body.insertRow();
    tr.dataset.layer = r.name;
    tr.tabIndex = 0;
    tr.append(cell('td', r.name, 'lt-name'), cell('td', r.op, `lt-op gv-k-${opKind(r.op)}`), cell('td', shapeText(r.shape)), cell('td', r.params.toLocaleString('en'), 'lt-num'), cell('td', (r.flops / 1e6).toFixed(1), 'lt-num'));
  }
  const total = table.createTFoot().insertRow();
  const td = cell('td', `total: ${summary.layers.length} layers, ${summary.params.toLocaleString('en')} parameters, ${(summary.flops / 1e9).toFixed(3)} GFLOPs per image`);
  td.colSpan = 5;
  total.append(td);
  const pick = (e: Event) => {
    const tr = (e.target as Element).closest?.('tr[data-layer]') as HTMLTableRowElement | null;
    if (!tr || !body.contains(tr)) return;
    if (e instanceof KeyboardEvent) {
      if (e.key !== 'Enter' && e.key !== ' ') return;
      e.preventDefault();
    }
    selectRow(table, tr.dataset.layer!);
    onSelect?.(tr.dataset.layer!);
  };
  body.addEventListener('click', pick);
  body.addEventListener('keydown', pick);
  return table;
}

/** The styles of GraphView and layerTable (added to the document once by either; colours are CSS variables). */
export const GRAPH_CSS = `
.gv-wrap { overflow: auto; max-width: 100%; max-height: 100%; }
.gv-svg { display: block; margin: 0 auto; font: 10px/1 system-ui, sans-serif; user-select: none; }
.gv-edge { fill: none; stroke: var(--gv-edge, #9aa0a6); stroke-width: 1; }
.gv-edge.gv-selected { stroke: var(--gv-accent, #d93025); stroke-width: 1.75; }
.gv-node { cursor: pointer; outline: none; }
.gv-node rect { fill: var(--gv-fill, #fff); stroke: var(--gv-stroke, #888); stroke-width: 1; }
.gv-node text { fill: var(--gv-text, #202124); text-anchor: middle; dominant-baseline: central; pointer-events: none; }
.gv-node:hover rect, .gv-node:focus-visible rect { stroke-width: 2; }
.gv-node.gv-selected rect { stroke: var(--gv-accent, #d93025); stroke-width: 2.5; }
.gv-k-input { --gv-fill: #fff; --gv-stroke: #5f6368; }
.gv-k-input rect { stroke-dasharray: 3 2; }
.gv-k-conv { --gv-fill: #d2e3fc; --gv-stroke: #4e79a7; }
.gv-k-pool { --gv-fill: #ceead6; --gv-stroke: #59a14f; }
.gv-k-activation { --gv-fill: #feefc3; --gv-stroke: #f28e2b; }
.gv-k-norm { --gv-fill: #e9d7f5; --gv-stroke: #b07aa1; }
.gv-k-dense { --gv-fill: #fad2cf; --gv-stroke: #e15759; }
.gv-k-structure { --gv-fill: #e8eaed; --gv-stroke: #79706e; }
.gv-k-other { --gv-fill: #fff; --gv-stroke: #aaa; }
table.lt { border-collapse: collapse; font: 12px/1.4 system-ui, sans-serif; }
table.lt th, table.lt td { padding: 1px 6px; text-align: left; white-space: nowrap; }
table.lt thead th { position: sticky; top: 0; background: var(--lt-head, #f1f3f4); }
table.lt .lt-num { text-align: right; font-variant-numeric: tabular-nums; }
table.lt tbody tr { cursor: pointer; }
table.lt tbody tr:hover { background: var(--lt-hover, #f1f3f4); }
table.lt tbody tr.gv-selected { background: var(--lt-selected, #fce8e6); }
table.lt .lt-op { border-left: 4px solid var(--gv-stroke, #aaa); }
table.lt tfoot td { border-top: 1px solid #dadce0; color: #5f6368; }
`;
