// The browser app (web/app, served by `loupe serve`) in headless Chromium on SwiftShader's WebGPU,
// driven as a user would: file inputs, the method form, the grid, the export links. Its numbers
// are checked against the CLI run on the same files (lavapipe), its privacy by watching every
// request and by running offline, its failures by feeding it bad files. Screenshots of the main
// views go to docs/screenshots/ (the README shows one).
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startAppServer } from '../cli/serve.ts';
import { buildApp } from '../scripts/build-web.mjs';
import { readNpy } from '../loaders/npy.ts';
import { onnxRoot } from '../loaders/onnx.ts';
import { pngHeader } from './hostile.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '..', 'shared', 'data');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const LENET = join(ROOT, 'weights/lenet-relu-mnist.onnx');
const DIGIT = join(ROOT, 'weights/mnist-test-0.png');
const SQZ_ONNX = join(DATA, 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx');
const SQZ_PROTO = join(DATA, 'caffe/squeezenet_v1.0_deepcompression/SqueezeNet_deploy.prototxt');
const SQZ_WEIGHTS = join(DATA, 'caffe/squeezenet_v1.0_deepcompression/squeezenet_v1.0_decoded.caffemodel');
const GOOSE = join(DATA, 'images/preddiff/n01855672_8202.jpg');
const BOTH = join(DATA, 'images/pytorch-grad-cam/both.png');
const LABELS = join(DATA, 'labels/synset_words.txt');
const SHOTS = join(ROOT, 'docs/screenshots');
const tmp = mkdtempSync(join(tmpdir(), 'loupe-web-'));

function loupe(...args: string[]): string {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/loupe.js'), ...args], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`loupe ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

describe('the browser app (headless Chromium, SwiftShader WebGPU)', function () {
  let server: Server;
  let url: string;
  let browser: Browser;

  before(async function () {
    await buildApp();
    ({ server, url } = await startAppServer(undefined, 0));
    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true,
      args: ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    mkdirSync(SHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    server?.close();
  });

  interface App {
    page: Page;
    context: BrowserContext;
    errors: string[];
    requests: { method: string; url: string }[];
  }

  /** A fresh page of the app, ready (the worker has its GPU); page errors and requests recorded. */
  async function open(o: { hash?: string; noWebGpu?: boolean } = {}): Promise<App> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
    const page = await context.newPage();
    const errors: string[] = [], requests: App['requests'] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    context.on('request', (r) => requests.push({ method: r.method(), url: r.url() }));
    // (a string: tsx's helpers do not exist in the page)
    if (o.noWebGpu) await page.addInitScript({ content: "Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined });" });
    await page.goto(url + (o.hash ?? ''));
    if (!o.noWebGpu) await page.waitForSelector('body[data-ready=true]', { timeout: 120_000 });
    return { page, context, errors, requests };
  }

  /** Waits until every action the page started has finished; returns the error shown, if any. */
  async function settle(page: Page, timeout = 300_000): Promise<string | null> {
    await page.waitForFunction(() => document.body.dataset.busy !== 'true', null, { timeout, polling: 100 });
    return page.evaluate(() => (document.querySelector('#error') as HTMLElement).hidden ? null : document.querySelector('#error')!.textContent);
  }

  async function act(page: Page, fn: () => Promise<unknown>): Promise<void> {
    await fn();
    const err = await settle(page);
    expect(err, 'error shown by the page').to.equal(null);
  }

  const layerRows = (page: Page) => page.$$eval('#layers tr[data-layer]', (rows) => rows.map((r) => (r as HTMLElement).dataset.layer!));

  describe('models', () => {
    it('SqueezeNet ONNX from a file input: the layer table has the rows and parameters of loupe info --json', async () => {
      const info = JSON.parse(loupe('info', '--json', '--model', SQZ_ONNX));
      const { page, errors } = await open();
      await act(page, () => page.setInputFiles('#model-input', SQZ_ONNX));
      expect(await layerRows(page)).to.deep.equal(info.layers.map((l: { name: string }) => l.name));
      const params = await page.$$eval('#layers tr[data-layer]', (rows) => rows.map((r) => Number(r.children[3]!.textContent!.replace(/[^0-9]/g, ''))));
      expect(params).to.deep.equal(info.layers.map((l: { params: number }) => l.params));
      expect(await page.textContent('#model-name')).to.include(info.params.toLocaleString('en'));
      expect(await page.$$eval('#graph svg [data-layer]', (n) => n.length)).to.be.at.least(info.layers.length);
      await page.click('#layers-panel > summary');
      await page.click('#graph-panel > summary');
      await page.screenshot({ path: join(SHOTS, 'model.png') });
      expect(errors).to.deep.equal([]);
      await page.context().close();
    });

    it('the Caffe pair from one multi-select: the same table, and top-5 on the goose equal to loupe predict --json (1e-4)', async () => {
      const info = JSON.parse(loupe('info', '--json', '--model', SQZ_PROTO, '--weights', SQZ_WEIGHTS));
      const c0 = Date.now();
      const cli = JSON.parse(loupe('predict', '--json', '--model', SQZ_PROTO, '--weights', SQZ_WEIGHTS, '--image', GOOSE, '--mean', '104,117,123', '--bgr', '--labels', LABELS));
      const cliMs = Date.now() - c0;
      const { page, errors } = await open();
      const t0 = Date.now();
      await act(page, () => page.setInputFiles('#model-input', [SQZ_PROTO, SQZ_WEIGHTS]));
      expect(await layerRows(page)).to.deep.equal(info.layers.map((l: { name: string }) => l.name));
      expect(await page.isHidden('#weights-missing')).to.equal(true);
      expect(await page.inputValue('#pp-preset')).to.equal('caffe-imagenet');
      await act(page, () => page.setInputFiles('#labels-input', LABELS));
      await act(page, () => page.setInputFiles('#images-input', GOOSE));
      const top = await page.evaluate(() => (globalThis as unknown as { loupeApp: { images: { prediction?: { top: { index: number; prob: number; label: string }[] } }[] } }).loupeApp.images[0]!.prediction!.top);
      const sinceLoad = await page.evaluate(() => (globalThis as unknown as { loupeApp: { timings: { firstPrediction: number } } }).loupeApp.timings.firstPrediction);
      console.log(`      SqueezeNet (Caffe) on the goose: page load to first prediction ${(sinceLoad / 1000).toFixed(1)} s (SwiftShader; ${((Date.now() - t0) / 1000).toFixed(1)} s of it from choosing the files); loupe predict ${(cliMs / 1000).toFixed(1)} s (lavapipe, process start included)`);
      expect(top.map((t) => t.index)).to.deep.equal(cli.top.map((t: { index: number }) => t.index));
      top.forEach((t, i) => expect(t.prob).to.be.closeTo(cli.top[i].prob, 1e-4));
      expect(await page.textContent('#gallery')).to.include('goose');
      await page.screenshot({ path: join(SHOTS, 'gallery.png') });
      expect(errors).to.deep.equal([]);
      await page.context().close();
    });

    it('both Caffe files dropped at once open the model; a folder of images gives true labels and "only misclassified"', async () => {
      const { page, errors } = await open();
      const files = [join(DATA, 'caffe/lenet/lenet.prototxt'), join(DATA, 'caffe/lenet/lenet_iter_10000.caffemodel')].map((f) => ({ name: f.split('/').pop()!, bytes: Array.from(readFileSync(f)) }));
      await page.evaluate((fs) => {
        const dt = new DataTransfer();
        for (const f of fs) dt.items.add(new File([new Uint8Array(f.bytes)], f.name));
        document.querySelector('#gallery')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      }, files);
      await page.waitForFunction(() => document.body.dataset.busy === 'true' || document.querySelectorAll('#layers tr[data-layer]').length > 0);
      expect(await settle(page)).to.equal(null);
      expect(await layerRows(page)).to.include('conv1');
      expect(await page.inputValue('#pp-preset')).to.equal('caffe-mnist');
      // A folder per true class: the digit 7 filed once under 7 and once (wrongly) under 3.
      const dir = join(tmp, 'digits');
      for (const k of ['7', '3']) {
        mkdirSync(join(dir, k), { recursive: true });
        writeFileSync(join(dir, k, `seven-${k}.png`), readFileSync(DIGIT));
      }
      await act(page, () => page.setInputFiles('#folder-input', dir));
      expect(await page.$$eval('.thumb', (t) => t.length)).to.equal(2);
      expect(await page.$$eval('.thumb .top li:first-child', (l) => l.map((e) => e.textContent))).to.deep.equal(['100.0 % 7', '100.0 % 7']);
      await page.check('#only-wrong');
      expect(await page.$$eval('.thumb:not([hidden]) .truth', (t) => t.map((e) => e.textContent))).to.deep.equal(['true: 3 ✗']);
      expect(errors).to.deep.equal([]);
      await page.context().close();
    });

    it('a prototxt alone shows the architecture, "weights missing", and explanation disabled', async () => {
      const { page, errors } = await open();
      await act(page, () => page.setInputFiles('#model-input', SQZ_PROTO));
      expect((await layerRows(page)).length).to.be.above(60);
      expect(await page.isVisible('#weights-missing')).to.equal(true);
      expect(await page.isDisabled('#run')).to.equal(true);
      expect(errors).to.deep.equal([]);
      await page.context().close();
    });
  });

  /** Sets the method form's fields as the CLI's flags would: selects, checkboxes, files and text. */
  async function fill(page: Page, method: string, fields: Record<string, string>): Promise<void> {
    await page.selectOption('#method', method);
    for (const [name, value] of Object.entries(fields)) {
      const sel = `#options [name="${name}"]`;
      const kind = await page.$eval(sel, (e) => (e instanceof HTMLSelectElement ? 'select' : (e as HTMLInputElement).type));
      if (kind === 'select') await page.selectOption(sel, value.split(','));
      else if (kind === 'checkbox') await page.setChecked(sel, value === 'true');
      else if (kind === 'file') await act(page, () => page.setInputFiles(sel, value));
      else await page.fill(sel, value);
    }
  }

  /** Clicks the export link of `name` and returns the downloaded bytes. */
  async function exported(page: Page, name: string): Promise<Uint8Array> {
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click(`#downloads a[download="${name}"]`)]);
    return new Uint8Array(readFileSync((await dl.path())!));
  }

  const camelToFlag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

  describe('every method of the CLI, on the shipped LeNet and digit', function () {
    let app: App;
    let patchModel: string;
    before(async () => {
      patchModel = join(tmp, 'lenet-k4.loupe');
      loupe('patch-model', '--model', LENET, '--images', join(DATA, 'mnist/t10k-images-idx3-ubyte.gz'), '--window', '4', '--patches', '2000', '--store', '16', '--out', patchModel);
      app = await open();
      await act(app.page, () => app.page.setInputFiles('#model-input', LENET));
      await act(app.page, () => app.page.setInputFiles('#images-input', DIGIT));
    });
    after(async () => {
      expect(app.errors).to.deep.equal([]);
      await app.context.close();
    });
    const cases: [string, Record<string, string>][] = [
      ['saliency', {}],
      ['guided-backprop', {}],
      ['deconvnet', { layer: 'conv2' }],
      ['gradcam', { layer: 'relu2' }],
      ['guided-gradcam', { layer: 'relu2' }],
      ['ablationcam', { layer: 'relu2' }],
      ['scorecam', { layer: 'conv2' }],
      ['occlusion', { patch: '6', stride: '3' }],
      ['rise', { masks: '100', cells: '5' }],
      ['pda', { patchModel: 'PATCH_MODEL', window: '4', samples: '4', stride: '4' }],
      ['etalon', { neurons: '0-3' }],
      ['maxout', { class: '0-2', iterations: '20' }],
      ['invert', { layer: 'conv2', iterations: '20' }],
    ];
    for (const [method, fields] of cases) {
      it(`${method}: the exported .npy equals loupe explain's (1e-3 of its maximum)`, async () => {
        const f = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v === 'PATCH_MODEL' ? patchModel : v]));
        const prefix = join(tmp, method);
        const args = Object.entries(f).flatMap(([k, v]) => [camelToFlag(k), v]);
        loupe('explain', '--method', method, '--model', LENET, ...(method === 'maxout' ? [] : ['--image', DIGIT]), ...args, '--out', prefix);
        const cli = readNpy(new Uint8Array(readFileSync(`${prefix}.npy`)), `${method}.npy`);
        await fill(app.page, method, f);
        await act(app.page, () => app.page.click('#run'));
        const page = readNpy(await exported(app.page, `${method}.npy`), `${method}.npy`);
        expect(page.shape).to.deep.equal(cli.shape);
        let max = 0, diff = 0;
        cli.data.forEach((v, i) => {
          max = Math.max(max, Math.abs(v));
          diff = Math.max(diff, Math.abs(v - page.data[i]!));
        });
        expect(max, 'a map that is not all zeros').to.be.above(0);
        expect(diff / max).to.be.at.most(1e-3);
        const json = JSON.parse(new TextDecoder().decode(await exported(app.page, `${method}.json`)));
        const cliJson = JSON.parse(readFileSync(`${prefix}.json`, 'utf8'));
        expect(json.method).to.equal(cliJson.method);
        expect(Object.keys(json).sort()).to.deep.equal(Object.keys(cliJson).sort());
        expect(await app.page.$$eval('#grid [data-tile-id]', (t) => t.length)).to.be.above(0);
      });
    }
  });

  it('PDA with a patch model built in the page from the chosen images', async () => {
    const app = await open();
    await act(app.page, () => app.page.setInputFiles('#model-input', LENET));
    await act(app.page, () => app.page.setInputFiles('#images-input', DIGIT));
    await fill(app.page, 'pda', { window: '4', samples: '4', stride: '4' });
    await act(app.page, () => app.page.click('#build-patch-model'));
    expect(await app.page.textContent('#patch-model-name')).to.match(/patches-k4\.loupe \(from 1 images\)/);
    await act(app.page, () => app.page.click('#run'));
    const npy = readNpy(await exported(app.page, 'pda.npy'), 'pda.npy');
    expect(npy.shape).to.deep.equal([1, 28, 28]);
    expect(npy.data.some((v) => v !== 0)).to.equal(true);
    expect(app.errors).to.deep.equal([]);
    await app.context.close();
  });

  describe('Grad-CAM "Reason" on two SqueezeNet layers of both.png, and the grid', function () {
    let app: App;
    const tileIds = () => app.page.$$eval('#grid [data-tile-id]', (t) => t.map((e) => (e as HTMLElement).dataset.tileId!));
    const views = () => app.page.$$eval('#grid [data-tile-id]', (t) => t.map((e) => {
      const d = (e as HTMLElement).dataset;
      return { id: d.tileId!, zoom: Number(d.zoom), x: Number(d.panX), y: Number(d.panY) };
    }));
    before(async () => {
      app = await open();
      await act(app.page, () => app.page.setInputFiles('#model-input', SQZ_ONNX));
      await app.page.selectOption('#pp-preset', 'caffe-imagenet');
      await settle(app.page);
      await act(app.page, () => app.page.setInputFiles('#labels-input', LABELS));
      await act(app.page, () => app.page.setInputFiles('#images-input', BOTH));
    });
    after(async () => {
      expect(app.errors).to.deep.equal([]);
      await app.context.close();
    });

    it('"bull mastiff" and "tabby": three labelled tiles each; the dog peaks in the upper half, the cat in the lower', async () => {
      await fill(app.page, 'gradcam', { layer: '/Concat_6,/Concat_7', class: 'bull mastiff,tabby' });
      await act(app.page, () => app.page.click('#run'));
      const tiles = await app.page.evaluate(() => (globalThis as unknown as { loupeApp: { tiles: { label: string; group: string; values: { width: number; data: Float32Array } }[] } }).loupeApp.tiles.map((t) => {
        const d = t.values.data;
        let k = 0;
        for (let i = 1; i < d.length; i++) if (d[i]! > d[k]!) k = i;
        return { label: t.label, group: t.group, peakRow: Math.floor(k / t.values.width), height: d.length / t.values.width };
      }));
      expect(tiles).to.have.length(6);
      const dog = tiles.filter((t) => t.group.includes('bull mastiff')), cat = tiles.filter((t) => t.group.includes('tabby'));
      expect(dog).to.have.length(3);
      expect(cat).to.have.length(3);
      expect(dog.map((t) => t.label)).to.deep.equal(['Grad-CAM /Concat_6', 'Grad-CAM /Concat_7', 'Grad-CAM mean of /Concat_6 + /Concat_7']);
      expect(await app.page.$$eval('#grid [data-tile-id]', (t) => t.map((e) => e.textContent))).to.satisfy((l: string[]) => l.every((x) => x.includes('Grad-CAM')));
      for (const t of dog) expect(t.peakRow, t.label).to.be.below(t.height / 2);
      for (const t of cat) expect(t.peakRow, t.label).to.be.at.least(t.height / 2);
      const ms = await app.page.evaluate(() => (globalThis as unknown as { loupeApp: { timings: { lastWorker: number } } }).loupeApp.timings.lastWorker);
      const t0 = Date.now();
      loupe('explain', '--method', 'gradcam', '--model', SQZ_ONNX, '--image', BOTH, '--image', BOTH, '--bgr', '--mean', '104,117,123', '--labels', LABELS, '--layer', '/Concat_6,/Concat_7', '--class', 'bull mastiff,tabby', '--out', join(tmp, 'reason'));
      console.log(`      Grad-CAM of 2 layers × 2 classes, SqueezeNet: ${(ms / 1000).toFixed(2)} s in the page (SwiftShader), ${((Date.now() - t0) / 1000).toFixed(2)} s for the whole loupe explain command (lavapipe, process start included)`);
      await app.page.screenshot({ path: join(SHOTS, 'gradcam-grid.png') });
    });

    it('zooming ×2 on one tile sets every tile\'s zoom and pan to the same values; with sync off only that tile moves', async () => {
      const ids = await tileIds();
      await app.page.evaluate((id) => (globalThis as unknown as { loupeApp: { grid: { zoomAt: (id: string, f: number, x: number, y: number) => void } } }).loupeApp.grid.zoomAt(id, 2, 60, 50), ids[1]!);
      const v = await views();
      expect(v[1]!.zoom).to.equal(2);
      for (const t of v) expect([t.zoom, t.x, t.y]).to.deep.equal([v[1]!.zoom, v[1]!.x, v[1]!.y]);
      // The same with the mouse wheel on another tile.
      const box = (await app.page.$(`#grid [data-tile-id="${ids[4]}"] canvas`))!;
      const b = (await box.boundingBox())!;
      await app.page.mouse.move(b.x + b.width / 3, b.y + b.height / 3);
      await app.page.mouse.wheel(0, -100);
      const w = await views();
      expect(w[4]!.zoom).to.be.above(2);
      for (const t of w) expect([t.zoom, t.x, t.y]).to.deep.equal([w[4]!.zoom, w[4]!.x, w[4]!.y]);
      await app.page.uncheck('#sync');
      await app.page.mouse.move(b.x + b.width / 3, b.y + b.height / 3); // unchecking moved the mouse
      await app.page.mouse.wheel(0, -100);
      const u = await views();
      expect(u[4]!.zoom).to.be.above(w[4]!.zoom);
      u.forEach((t, i) => i !== 4 && expect([t.zoom, t.x, t.y]).to.deep.equal([w[i]!.zoom, w[i]!.x, w[i]!.y]));
      await app.page.check('#sync');
    });

    it('hovering reports the same image coordinate in every tile at zooms 1, 4 and 16', async () => {
      const ids = await tileIds();
      for (const zoom of [1, 4, 16]) {
        await app.page.evaluate(([id, z]) => {
          const g = (globalThis as unknown as { loupeApp: { grid: { setTiles: (t: unknown[]) => void; zoomAt: (id: string, f: number, x: number, y: number) => void } ; tiles: unknown[] } }).loupeApp;
          g.grid.setTiles(g.tiles);
          if ((z as number) > 1) g.grid.zoomAt(id as string, z as number, 113, 113);
        }, [ids[0]!, zoom] as const);
        const b = (await (await app.page.$(`#grid [data-tile-id="${ids[2]}"] canvas`))!.boundingBox())!;
        await app.page.mouse.move(b.x + b.width * 0.37, b.y + b.height * 0.61);
        const hover = await app.page.$$eval('#grid [data-tile-id]', (t) => t.map((e) => [(e as HTMLElement).dataset.hoverX, (e as HTMLElement).dataset.hoverY, (e as HTMLElement).dataset.hoverValue]));
        expect(hover[0]![0], `zoom ${zoom}`).to.not.equal('');
        for (const h of hover) expect([h[0], h[1]], `zoom ${zoom}`).to.deep.equal([hover[0]![0], hover[0]![1]]);
        expect(hover.every((h) => h[2] !== '' && Number.isFinite(Number(h[2]))), 'every tile reads its map value').to.equal(true);
      }
      await app.page.screenshot({ path: join(SHOTS, 'grid-zoom16.png') });
    });
  });

  describe('long work runs in the worker', function () {
    it('MaxOut: progress at least once a second, live tiles, a click elsewhere answered at once, Cancel stops within a second', async () => {
      const app = await open();
      await act(app.page, () => app.page.setInputFiles('#model-input', LENET));
      await fill(app.page, 'maxout', { class: '0-2', iterations: '100000' }); // three images a step: SwiftShader keeps well under a second per step
      await app.page.click('#run');
      // (past the first steps, which compile the optimiser's kernels: seconds on SwiftShader)
      await app.page.waitForFunction(() => Number(document.querySelector<HTMLElement>('#progress-box')!.dataset.updates) > 10, null, { timeout: 60_000 });
      const counts: number[] = [];
      for (let i = 0; i < 4; i++) {
        counts.push(await app.page.$eval('#progress-box', (e) => Number((e as HTMLElement).dataset.updates)));
        await new Promise((r) => setTimeout(r, 1000));
      }
      for (let i = 1; i < counts.length; i++) expect(counts[i], `progress updates after ${i} s`).to.be.above(counts[i - 1]!);
      expect(await app.page.textContent('#progress-text')).to.match(/\d+ \/ 100000000 · \d+ s left|\d+ \/ \d+/);
      // Live tiles: the optimised images are on the grid and change while the iterations run.
      await app.page.waitForFunction(() => document.querySelectorAll('#grid [data-tile-id]').length === 3, null, { timeout: 30_000 });
      const pixels = () => app.page.$eval('#grid [data-tile-id] canvas', (c) => (c as HTMLCanvasElement).toDataURL());
      const before = await pixels();
      await new Promise((r) => setTimeout(r, 1500));
      expect(await pixels(), 'a MaxOut tile redrawn while the run goes on').to.not.equal(before);
      // The page answers a click while the worker computes.
      const answered = await app.page.evaluate(() => new Promise<number>((resolve) => {
        const box = document.querySelector<HTMLInputElement>('#only-wrong')!;
        const t0 = performance.now();
        box.addEventListener('change', () => resolve(performance.now() - t0), { once: true });
        box.click();
      }));
      expect(answered).to.be.below(200);
      const cancel = await app.page.evaluate(async () => {
        const t0 = performance.now();
        document.querySelector<HTMLButtonElement>('#cancel')!.click();
        while (document.body.dataset.busy !== 'false') await new Promise((r) => setTimeout(r, 10));
        return performance.now() - t0;
      });
      expect(cancel, 'ms from Cancel to the run stopped').to.be.below(1000);
      expect(await app.page.textContent('#status')).to.include('cancelled');
      // The worker still works afterwards.
      await fill(app.page, 'maxout', { class: '1', iterations: '5' });
      await act(app.page, () => app.page.click('#run'));
      expect(app.errors).to.deep.equal([]);
      await app.context.close();
    });
  });

  describe('privacy', function () {
    it('after the page loads, every request is a same-origin GET of the app\'s files, and the whole flow works offline', async () => {
      const app = await open();
      await app.context.setOffline(true);
      await act(app.page, () => app.page.setInputFiles('#model-input', LENET));
      await act(app.page, () => app.page.setInputFiles('#images-input', DIGIT));
      await fill(app.page, 'gradcam', { layer: 'relu2', class: '7' });
      await act(app.page, () => app.page.click('#run'));
      const npy = readNpy(await exported(app.page, 'gradcam.npy'), 'gradcam.npy');
      expect(npy.shape).to.deep.equal([28, 28]);
      const [dl] = await Promise.all([app.page.waitForEvent('download'), app.page.click('#export-png')]);
      expect(readFileSync((await dl.path())!).subarray(1, 4).toString()).to.equal('PNG');
      const origin = new URL(url).origin;
      const foreign = app.requests.filter((r) => !(r.url.startsWith('blob:') || r.url.startsWith('data:')) && (r.method !== 'GET' || new URL(r.url).origin !== origin));
      expect(foreign, 'requests that are not same-origin GETs').to.deep.equal([]);
      const files = new Set(app.requests.filter((r) => r.url.startsWith(origin)).map((r) => new URL(r.url).pathname));
      expect([...files].sort()).to.deep.equal(['/', '/app.js', '/style.css', '/worker.js']);
      expect(app.errors).to.deep.equal([]);
      await app.context.close();
    });
  });

  describe('bad input: a message, no uncaught error, the page stays usable', function () {
    const bad = (name: string, bytes: Uint8Array | string) => {
      const f = join(tmp, name);
      writeFileSync(f, bytes);
      return f;
    };
    it('a truncated model, an unsupported operator, a text file as an image', async () => {
      const app = await open();
      const lenet = readFileSync(LENET);
      await app.page.setInputFiles('#model-input', bad('truncated.onnx', lenet.subarray(0, lenet.length >> 1)));
      expect(await settle(app.page)).to.match(/truncated\.onnx/);
      const M = onnxRoot().lookupType('onnx.ModelProto');
      const vi = (name: string) => ({ name, type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_value: 1 }, { dim_value: 3 }, { dim_value: 4 }, { dim_value: 4 }] } } } });
      const hardmax = M.encode(M.fromObject({ ir_version: 8, opset_import: [{ domain: '', version: 13 }], graph: { name: 'g', node: [{ op_type: 'Hardmax', name: 'strange_node', input: ['x'], output: ['y'] }], input: [vi('x')], output: [vi('y')] } })).finish();
      await app.page.setInputFiles('#model-input', bad('hardmax.onnx', hardmax));
      expect(await settle(app.page)).to.match(/hardmax\.onnx: unsupported operator Hardmax in node "strange_node"/);
      await act(app.page, () => app.page.setInputFiles('#model-input', LENET));
      await app.page.setInputFiles('#images-input', bad('notes.png', 'these are not pixels\n'));
      expect(await settle(app.page)).to.match(/notes\.png: not a PNG or JPEG image/);
      await app.page.setInputFiles('#images-input', bad('cut.png', readFileSync(DIGIT).subarray(0, 60)));
      expect(await settle(app.page)).to.match(/cut\.png: cannot decode PNG: the file is cut short/);
      const t0 = Date.now();
      await app.page.setInputFiles('#images-input', bad('bomb.png', pngHeader(32000, 32000)));
      expect(await settle(app.page)).to.match(/bomb\.png: the PNG is 32000×32000 = 1,024,000,000 pixels, more than the 67,108,864/);
      expect(Date.now() - t0, 'ms to refuse a decompression bomb').to.be.below(1000);
      await app.page.setInputFiles('#model-input', bad('weights.caffemodel', readFileSync(SQZ_WEIGHTS).subarray(0, 1000)));
      expect(await settle(app.page)).to.match(/weights\.caffemodel: a \.caffemodel needs its \.prototxt/);
      // Still usable: the model that did open explains.
      await act(app.page, () => app.page.setInputFiles('#model-input', LENET));
      await act(app.page, () => app.page.setInputFiles('#images-input', DIGIT));
      await fill(app.page, 'saliency', {});
      await act(app.page, () => app.page.click('#run'));
      await app.page.screenshot({ path: join(SHOTS, 'error.png') });
      expect(app.errors).to.deep.equal([]);
      await app.context.close();
    });
    it('no WebGPU: a page that says so and how to enable it', async () => {
      const app = await open({ noWebGpu: true });
      await app.page.waitForSelector('#no-webgpu:not([hidden])');
      expect(await app.page.textContent('#no-webgpu')).to.match(/WebGPU is not available[\s\S]*enable-unsafe-webgpu/);
      expect(await app.page.isHidden('#app')).to.equal(true);
      expect(app.errors).to.deep.equal([]);
      await app.context.close();
    });
  });

  describe('share links', function () {
    it('restore method, layer, class and parameters once the same files are chosen again (no bytes in the link)', async () => {
      const a = await open();
      await act(a.page, () => a.page.setInputFiles('#model-input', LENET));
      await act(a.page, () => a.page.setInputFiles('#images-input', DIGIT));
      await fill(a.page, 'occlusion', { patch: '5', stride: '2', class: '3' });
      await act(a.page, () => a.page.click('#run'));
      await a.page.click('#share');
      const link = await a.page.inputValue('#share-link');
      expect(link.length).to.be.below(600);
      await a.context.close();
      const b = await open({ hash: new URL(link).hash });
      expect(await b.page.inputValue('#method')).to.equal('occlusion');
      await act(b.page, () => b.page.setInputFiles('#model-input', LENET));
      expect([await b.page.inputValue('#opt-patch'), await b.page.inputValue('#opt-stride'), await b.page.inputValue('#opt-class')]).to.deep.equal(['5', '2', '3']);
      expect(b.errors).to.deep.equal([]);
      await b.context.close();
    });
  });

  describe('loupe serve', function () {
    it('serves the built app on 127.0.0.1 only, GET and HEAD of its own files, nothing else', async () => {
      const child = spawn(process.execPath, [join(ROOT, 'bin/loupe.js'), 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        const line = await new Promise<string>((resolve, reject) => {
          let out = '';
          child.stdout.on('data', (d) => {
            out += d;
            if (out.includes('\n')) resolve(out);
          });
          child.once('exit', (code) => reject(new Error(`loupe serve exited ${code}`)));
        });
        const m = /Loupe app at (http:\/\/127\.0\.0\.1:(\d+)\/)/.exec(line);
        expect(m, line).to.not.equal(null);
        const base = m![1]!, port = Number(m![2]);
        const get = await fetch(base);
        expect(get.status).to.equal(200);
        expect(await get.text()).to.include('<title>Loupe');
        expect((await fetch(base + 'worker.js', { method: 'HEAD' })).status).to.equal(200);
        expect((await fetch(base, { method: 'POST', body: 'x' })).status).to.equal(405);
        expect((await fetch(base + 'upload', { method: 'PUT', body: 'x' })).status).to.equal(405);
        // Paths that climb out of the app's folder, however they are spelled, are not there.
        const { request } = await import('node:http');
        for (const path of ['/../package.json', '/%2e%2e/package.json', '/..%2fpackage.json', '/app/../../package.json', '/missing.js']) {
          const status = await new Promise<number>((resolve, reject) => request({ host: '127.0.0.1', port, path }, (res) => (res.resume(), resolve(res.statusCode!))).on('error', reject).end());
          expect(status, path).to.equal(404);
        }
      } finally {
        child.kill('SIGINT');
      }
      const code = await new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', r)));
      expect(code).to.equal(0);
    });
    it('a port in use: one line, exit 1', async () => {
      const code = spawnSync(process.execPath, [join(ROOT, 'bin/loupe.js'), 'serve', '--port', String(new URL(url).port)], { encoding: 'utf8', timeout: 30_000 });
      expect(code.status).to.equal(1);
      expect(code.stderr.trim().split('\n').filter((l) => !l.startsWith('Warning: max'))).to.deep.equal([`loupe: --port ${new URL(url).port}: already in use (try another port, or --port 0 for any free one)`]);
    });
  });
});
