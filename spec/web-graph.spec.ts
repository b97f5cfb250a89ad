// engine/summary.ts (the layer table `loupe info` prints, as data) on the repo's real models, and the
// browser app's graph view and layer table (web/app/graph-view.ts) drawing GoogLeNet in headless
// Chromium: one node per layer, one edge per producer→consumer link, fast enough to draw at once,
// and selection both ways.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer, type Server } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadOnnx } from '../loaders/onnx.ts';
import { loadCaffe } from '../loaders/caffe.ts';
import type { Graph } from '../engine/ir.ts';
import { summarise, totalText, type ModelSummary } from '../engine/summary.ts';
import { layoutGraph } from '../web/app/graph-view.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '..', 'shared', 'data');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const GOOGLENET = join(DATA, 'caffe/reference_prototxt/bvlc_googlenet_deploy.prototxt');

const onnx = (p: string): Graph => loadOnnx(new Uint8Array(readFileSync(p)), basename(p));
const caffe = (p: string, w?: string): Graph =>
  loadCaffe(readFileSync(p, 'utf8'), w ? new Uint8Array(readFileSync(w)) : undefined, { prototxtName: basename(p), caffemodelName: w && basename(w) });

// layers and parameters as `loupe info --model <file>` prints them
const MODELS: { name: string; load: () => Graph; layers: number; params: number }[] = [
  { name: 'LeNet (weights/, ONNX)', load: () => onnx(join(ROOT, 'weights/lenet-relu-mnist.onnx')), layers: 10, params: 431_080 },
  { name: 'GoogLeNet (Caffe deploy prototxt)', load: () => caffe(GOOGLENET), layers: 142, params: 6_998_552 },
  { name: 'Inception v1 (ONNX)', load: () => onnx(join(DATA, 'onnx/onnx-light-models/light_inception_v1.onnx')), layers: 142, params: 6_998_552 },
  { name: 'SqueezeNet v1.0 (ONNX)', load: () => onnx(join(DATA, 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx')), layers: 66, params: 1_248_424 },
  {
    name: 'SqueezeNet v1.0 (Caffe, with weights)',
    load: () => caffe(join(DATA, 'caffe/squeezenet_v1.0_deepcompression/SqueezeNet_deploy.prototxt'), join(DATA, 'caffe/squeezenet_v1.0_deepcompression/squeezenet_v1.0_decoded.caffemodel')),
    layers: 65, // no softmax layer in this deploy file
    params: 1_248_424,
  },
  { name: 'ResNet-50 (ONNX)', load: () => onnx(join(DATA, 'onnx/onnx-light-models/light_resnet50.onnx')), layers: 123, params: 25_530_472 },
];

/** The producer→consumer links of a summary, matched by value name (the graph input produces its own name). */
function links(s: ModelSummary): [string, string][] {
  const producer = new Map<string, string>([[s.input.name, s.input.name]]);
  for (const r of s.layers) producer.set(r.output, r.name);
  const out = new Set<string>();
  for (const r of s.layers) for (const v of r.inputs) if (producer.has(v)) out.add(JSON.stringify([producer.get(v)!, r.name]));
  return [...out].map((l) => JSON.parse(l) as [string, string]);
}

const loupe = (...args: string[]) =>
  promisify(execFile)(process.execPath, [join(ROOT, 'bin/loupe.js'), ...args], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });

describe('model summary (engine/summary.ts)', function () {
  this.timeout(60_000);

  for (const m of MODELS)
    it(`${m.name}: one row per node, the parameters loupe info counts`, () => {
      const g = m.load();
      const s = summarise(g);
      expect(s.layers.map((r) => r.name)).to.deep.equal(g.nodes.map((n) => n.name));
      expect(s.layers).to.have.length(m.layers);
      expect(s.params).to.equal(m.params);
      expect(s.params).to.equal(s.layers.reduce((a, r) => a + r.params, 0));
      expect(s.flops).to.be.greaterThan(0);
      for (const r of s.layers) expect(r.shape[0], r.name).to.equal(1);
    });

  it('is what `loupe info --json` prints, byte for byte, and its total is the table\'s last line', async () => {
    const s = summarise(caffe(GOOGLENET));
    const [json, text] = await Promise.all([loupe('info', '--json', '--model', GOOGLENET), loupe('info', '--model', GOOGLENET)]);
    expect(json.stdout).to.equal(JSON.stringify(s, null, 1) + '\n');
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines).to.have.length(s.layers.length + 3);
    expect(lines.at(-1)).to.equal(`total: ${totalText(s)}`);
    expect(lines.at(-1)).to.equal('total: 142 layers, 6,998,552 parameters, 3.193 GFLOPs per image');
  });

  it('lays out top to bottom: one node per layer, edges downward, levels side by side within a side panel', () => {
    for (const m of MODELS) {
      const s = summarise(m.load());
      const L = layoutGraph(s);
      expect(L.nodes, m.name).to.have.length(s.layers.length + 1);
      expect(L.edges, m.name).to.have.length(links(s).length);
      for (const e of L.edges) expect(L.nodes[e.to]!.level, `${m.name}: ${L.nodes[e.from]!.name} → ${L.nodes[e.to]!.name}`).to.be.greaterThan(L.nodes[e.from]!.level);
      const byLevel = new Map<number, number[]>();
      for (const v of L.nodes) {
        expect(v.x).to.be.at.least(0);
        expect(v.x + L.nodeWidth).to.be.at.most(L.width);
        byLevel.set(v.level, [...(byLevel.get(v.level) ?? []), v.x]);
      }
      for (const xs of byLevel.values()) {
        xs.sort((a, b) => a - b);
        for (let i = 1; i < xs.length; i++) expect(xs[i]! - xs[i - 1]!, m.name).to.be.at.least(L.nodeWidth);
      }
      expect(L.width, m.name).to.be.at.most(320);
    }
    // GoogLeNet: an Inception module's four branches sit side by side
    const L = layoutGraph(summarise(caffe(GOOGLENET)));
    const at = (name: string) => L.nodes.find((v) => v.name === name)!;
    const heads = ['inception_3a/1x1', 'inception_3a/3x3_reduce', 'inception_3a/5x5_reduce', 'inception_3a/pool'].map(at);
    expect(new Set(heads.map((v) => v.level)).size).to.equal(1);
    expect(new Set(heads.map((v) => v.x)).size).to.equal(4);
  });
});

describe('graph view and layer table (web/app/graph-view.ts, headless Chromium)', function () {
  this.timeout(60_000);
  let server: Server;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  const summary = summarise(caffe(GOOGLENET));
  const expectedLinks = links(summary);

  before(async function () {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: run .ci/setup (installs Debian's chromium)`);
    const js = await esbuild.build({ entryPoints: [join(ROOT, 'web/app/graph-view.ts')], bundle: true, write: false, format: 'esm', platform: 'browser', target: 'es2022' });
    const files: Record<string, [string, string]> = {
      '/': ['text/html', '<!doctype html><meta charset="utf-8"><title>graph</title><body style="margin:0"><div id="panel" style="width:320px;height:480px"></div></body>'],
      '/graph-view.js': ['text/javascript', js.outputFiles[0]!.text],
      '/favicon.ico': ['image/x-icon', ''],
    };
    server = createServer((req, res) => {
      const f = files[req.url ?? ''];
      res.statusCode = f ? 200 : 404;
      if (f) res.setHeader('content-type', f[0] + '; charset=utf-8');
      res.end(f?.[1]);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
    page = await browser.newPage({ viewport: { width: 800, height: 600 } });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    // the panel: the graph above, the table below (GraphView.select marks the table's rows in its root too)
    await page.evaluate(async (s) => {
      const G = await import('/graph-view.js' as string);
      const w = window as unknown as Record<string, unknown>;
      const selected: string[] = [];
      const panel = document.getElementById('panel')!;
      const view = new G.GraphView(panel, (name: string) => selected.push(`graph:${name}`));
      const table = G.layerTable(s, (name: string) => {
        selected.push(`table:${name}`);
        view.select(name);
      });
      const t0 = performance.now();
      view.show(s);
      const t1 = performance.now();
      void panel.getBoundingClientRect().height; // and the browser's layout of it
      const t2 = performance.now();
      panel.append(table);
      Object.assign(w, { G, view, table, selected, showMs: t1 - t0, layoutMs: t2 - t0 });
    }, summary);
  });
  after(async () => {
    await browser?.close();
    server?.close();
  });
  afterEach(() => expect(errors).to.deep.equal([]));

  it('draws one node per layer and one edge per producer→consumer link, in under 200 ms, within 320 px', async () => {
    const r = await page.evaluate(() => {
      const w = window as unknown as { showMs: number; layoutMs: number };
      const svg = document.querySelector('#panel svg')!;
      return {
        nodes: Array.from(svg.querySelectorAll('.gv-node[data-layer]'), (g) => (g as SVGGElement).dataset.layer!),
        titles: Array.from(svg.querySelectorAll('.gv-node[data-layer] > title'), (t) => t.textContent!.split('\n')[0]),
        labels: Array.from(svg.querySelectorAll('.gv-node[data-layer] > text'), (t) => t.textContent),
        inputs: svg.querySelectorAll('.gv-node:not([data-layer])').length,
        edges: svg.querySelectorAll('path.gv-edge').length,
        width: svg.getBoundingClientRect().width,
        convFill: getComputedStyle(svg.querySelector('.gv-k-conv rect')!).fill,
        reluFill: getComputedStyle(svg.querySelector('.gv-k-activation rect')!).fill,
        showMs: w.showMs,
        layoutMs: w.layoutMs,
      };
    });
    expect(r.nodes).to.deep.equal(summary.layers.map((l) => l.name));
    expect(r.titles).to.deep.equal(r.nodes);
    expect(r.labels).to.deep.equal(summary.layers.map((l) => l.op));
    expect(r.inputs).to.equal(1);
    expect(r.edges).to.equal(expectedLinks.length);
    expect(r.edges).to.equal(169); // 142 layers, 9 four-way concats
    expect(r.width).to.be.at.most(320);
    expect(r.convFill).to.not.equal(r.reluFill);
    expect(r.showMs, `show() took ${r.showMs.toFixed(1)} ms`).to.be.below(200);
    expect(r.layoutMs, `show() and layout took ${r.layoutMs.toFixed(1)} ms`).to.be.below(200);
  });

  it('lists the layer table: one row per layer and the total as loupe info words it', async () => {
    const r = await page.evaluate(() => {
      const t = document.querySelector('#panel table')!;
      const rows = Array.from(t.querySelectorAll('tbody tr'), (tr) => [(tr as HTMLElement).dataset.layer, ...Array.from(tr.children, (c) => c.textContent)]);
      return { head: Array.from(t.querySelectorAll('thead th'), (c) => c.textContent), rows, foot: Array.from(t.querySelectorAll('tfoot tr'), (tr) => tr.textContent) };
    });
    expect(r.head).to.deep.equal(['layer', 'op', 'output shape', 'params', 'MFLOPs']);
    expect(r.rows).to.have.length(summary.layers.length);
    expect(r.rows[0]).to.deep.equal(['conv1/7x7_s2', 'conv1/7x7_s2', 'conv', '64×112×112', '9,472', '236.0']);
    expect(r.rows.map((x) => x[0])).to.deep.equal(summary.layers.map((l) => l.name));
    expect(r.foot).to.deep.equal([`total: ${totalText(summary)}`]);
  });

  it('clicking a node calls onSelect with its name; select() highlights the node, its edges and the table row, and scrolls to it', async () => {
    await page.click('.gv-node[data-layer="inception_4c/output"]');
    await page.evaluate(() => (window as unknown as { view: { select(l: string): void } }).view.select('loss3/classifier'));
    const r = await page.evaluate(() => {
      const w = window as unknown as { selected: string[] };
      const wrap = document.querySelector('#panel .gv-wrap')!;
      const node = document.querySelector('.gv-node[data-layer="loss3/classifier"]')!;
      const [a, b] = [wrap.getBoundingClientRect(), node.getBoundingClientRect()];
      return {
        selected: w.selected.slice(),
        nodes: Array.from(document.querySelectorAll('.gv-node.gv-selected'), (g) => (g as SVGGElement).dataset.layer),
        edges: document.querySelectorAll('path.gv-edge.gv-selected').length,
        rows: Array.from(document.querySelectorAll('tr.gv-selected'), (tr) => (tr as HTMLElement).dataset.layer),
        scrolled: wrap.scrollTop,
        visible: b.top >= a.top && b.bottom <= a.bottom,
      };
    });
    expect(r.selected).to.deep.equal(['graph:inception_4c/output']);
    expect(r.nodes).to.deep.equal(['loss3/classifier']);
    expect(r.edges).to.equal(2); // from pool5/drop_7x7_s1, to prob
    expect(r.rows).to.deep.equal(['loss3/classifier']);
    expect(r.scrolled).to.be.greaterThan(0);
    expect(r.visible).to.equal(true);
  });

  it('clicking a table row selects its node; select(null) clears; destroy() removes the drawing', async () => {
    await page.click('#panel table tr[data-layer="inception_3a/pool_proj"]');
    const picked = await page.evaluate(() => ({
      selected: (window as unknown as { selected: string[] }).selected.at(-1),
      nodes: Array.from(document.querySelectorAll('.gv-node.gv-selected'), (g) => (g as SVGGElement).dataset.layer),
    }));
    expect(picked).to.deep.equal({ selected: 'table:inception_3a/pool_proj', nodes: ['inception_3a/pool_proj'] });
    const r = await page.evaluate(() => {
      const w = window as unknown as { view: { select(l: string | null): void; destroy(): void } };
      w.view.select(null);
      const cleared = document.querySelectorAll('.gv-selected').length;
      w.view.destroy();
      return { cleared, svgs: document.querySelectorAll('#panel svg').length, table: document.querySelectorAll('#panel table').length };
    });
    expect(r).to.deep.equal({ cleared: 0, svgs: 0, table: 1 });
  });
});
