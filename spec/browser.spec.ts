// The same engine, kernels and loaders, bundled for the browser, run SqueezeNet in headless
// Chromium with WebGPU and give the logits Node gives.
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { createNodeEngine } from '../cli/gpu-node.ts';
import { Model } from '../engine/runner.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { decodeImage } from '../loaders/image.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { buildWeb } from '../scripts/build-web.mjs';
import { createHash } from 'node:crypto';
import { explainer, explainers } from '../explainers/registry.ts';
import { figures, drawFigure } from '../render/figures.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '..', 'shared', 'data');
const MODEL = join(DATA, 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const LENET = join(ROOT, 'weights/lenet-relu-mnist.onnx');

describe('browser (headless Chromium, WebGPU)', function () {
  let server: Server;
  let browser: Browser;
  let base: string;
  let input: Float32Array;
  let digit: Float32Array;

  before(async function () {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: run .ci/setup (installs Debian's chromium)`);
    await buildWeb();
    const img = decodeImage(new Uint8Array(readFileSync(join(DATA, 'images/preddiff/n01855672_8202.jpg'))), 'goose.jpg');
    input = preprocessImage(img, { size: [227, 227], mean: [104, 117, 123], bgr: true, channels: 3 });
    const files: Record<string, [string, Uint8Array]> = {
      '/': ['text/html', new TextEncoder().encode('<!doctype html><title>loupe</title>')],
      '/loupe-web.js': ['text/javascript', new Uint8Array(readFileSync(join(ROOT, 'dist/loupe-web.js')))],
      '/model.onnx': ['application/octet-stream', new Uint8Array(readFileSync(MODEL))],
      '/input.bin': ['application/octet-stream', new Uint8Array(input.buffer)],
      '/lenet.onnx': ['application/octet-stream', new Uint8Array(readFileSync(LENET))],
    };
    digit = preprocessImage(decodeImage(new Uint8Array(readFileSync(join(ROOT, 'weights/mnist-test-0.png'))), 'digit.png'), { size: [28, 28], scale: 1 / 255, channels: 1 });
    files['/digit.bin'] = ['application/octet-stream', new Uint8Array(digit.buffer)];
    server = createServer((req, res) => {
      const f = files[req.url ?? ''];
      if (!f) {
        res.statusCode = 404;
        res.end();
        return;
      }
      res.setHeader('content-type', f[0]);
      res.end(f[1]);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
  });
  after(async () => {
    await browser?.close();
    server?.close();
  });

  /** Runs `fn` in a fresh page of the test server; the page must raise no error. */
  async function inPage<T>(fn: () => Promise<T>): Promise<T> {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(base + '/');
    const result = await page.evaluate(fn);
    expect(errors).to.deep.equal([]);
    return result as T;
  }

  it('runs SqueezeNet and matches the logits from Node', async () => {
    const result = await inPage(async () => {
      const L = await import('/loupe-web.js' as string);
      if (!navigator.gpu) return { error: 'no navigator.gpu' };
      const engine = await L.Engine.create(navigator.gpu);
      const g = L.loadOnnx(new Uint8Array(await (await fetch('/model.onnx')).arrayBuffer()), 'model.onnx');
      const x = new Float32Array(await (await fetch('/input.bin')).arrayBuffer());
      const out = await new L.Model(engine, g).run(x, 1, { outputs: ['logits'] });
      return { adapter: engine.adapterInfo as string, logits: Array.from(out.get('logits').data as Float32Array) };
    });
    if ('error' in result) throw new Error(result.error);
    const engine = await createNodeEngine();
    const node = (await new Model(engine, loadOnnx(new Uint8Array(readFileSync(MODEL)), 'model.onnx')).run(input, 1, { outputs: ['logits'] })).get('logits')!.data;
    const max = node.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    let d = 0;
    for (let i = 0; i < node.length; i++) d = Math.max(d, Math.abs(node[i]! - result.logits![i]!));
    expect(result.logits!.length).to.equal(1000);
    expect(d, `browser (${result.adapter}) vs node: max |Δ| ${d}`).to.be.at.most(1e-4 * max);
  });

  it('lists the registry\'s methods, runs one with its schema, draws its figure as Node does, and cancels', async () => {
    const result = await inPage(async () => {
      const L = await import('/loupe-web.js' as string);
      const engine = await L.Engine.create(navigator.gpu);
      const g = L.loadOnnx(new Uint8Array(await (await fetch('/lenet.onnx')).arrayBuffer()), 'lenet-relu-mnist.onnx');
      const model = new L.Model(engine, g);
      const data = new Float32Array(await (await fetch('/digit.bin')).arrayBuffer());
      const inputs = { data, batch: 1, names: ['digit'], preprocess: g.preprocess, fromImages: true };
      // a form from the schema: one field per option, with its default
      const form = L.explainer('occlusion').options.map((o: { name: string }) => L.optionUsage(o));
      const e = await L.explainer('gradcam').run(model, inputs, { layer: 'relu1,relu2', class: '7' });
      const img = L.drawFigure(L.figures(e, { ...inputs, shape: [1, 28, 28], model: 'lenet-relu-mnist.onnx' })[0]);
      const canvas = document.createElement('canvas');
      [canvas.width, canvas.height] = [img.width, img.height];
      canvas.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(img.data), img.width, img.height), 0, 0);
      const digest = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', img.data)), (b) => b.toString(16).padStart(2, '0')).join('');
      const cancelled = await L.explainer('occlusion').run(model, inputs, { patch: 2, stride: 1 }, undefined, AbortSignal.abort()).then(() => 'finished', (err: Error) => err.name);
      return { methods: L.explainers.map((m: { name: string }) => m.name), form, maps: Array.from(e.maps.data as Float32Array), size: [img.width, img.height], digest, cancelled };
    });
    expect(result.methods).to.deep.equal(explainers.map((m) => m.name));
    expect(result.form).to.deep.equal(['--class C[,C2,...]', '--patch 16', '--stride N', '--full']);
    expect(result.cancelled).to.equal('CancelledError');
    const model = new Model(await createNodeEngine(), loadOnnx(new Uint8Array(readFileSync(LENET)), 'lenet-relu-mnist.onnx'));
    const inputs = { data: digit, batch: 1, names: ['digit'], preprocess: model.graph.preprocess, fromImages: true };
    const e = await explainer('gradcam').run(model, inputs, { layer: 'relu1,relu2', class: '7' });
    model.destroy();
    let d = 0;
    e.maps!.data.forEach((v, i) => (d = Math.max(d, Math.abs(v - result.maps[i]!))));
    expect(d, 'Grad-CAM map: browser vs node').to.be.at.most(1e-4);
    const img = drawFigure(figures(e, { ...inputs, shape: [1, 28, 28], model: 'lenet-relu-mnist.onnx' })[0]!);
    expect(result.size).to.deep.equal([img.width, img.height]);
    if (d === 0) expect(result.digest).to.equal(createHash('sha256').update(img.data).digest('hex'));
  });
});
