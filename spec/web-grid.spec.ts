// The app's map grid (web/app/grid.ts) in headless Chromium, driven by real mouse events: wheel zoom
// and drag pan are synchronised across tiles, sync off moves one tile alone and sync on again keeps
// its offset, hovering shows the same image pixel and its value in every tile at any zoom, and the
// grid exports as one picture.
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';

const ROOT = join(import.meta.dirname, '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const N = 6;
const SIZE = 227;

interface TileState {
  id: string;
  zoom: number;
  panX: number;
  panY: number;
  hoverX: string;
  hoverY: string;
  hoverValue: string;
}

describe('web grid (headless Chromium)', function () {
  this.timeout(30000);
  let server: Server;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  before(async function () {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: run .ci/setup (installs Debian's chromium)`);
    const out = await build({
      entryPoints: [join(ROOT, 'web/app/grid.ts')],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      logLevel: 'warning',
    });
    const js = out.outputFiles[0]!.contents;
    const html = '<!doctype html><meta charset="utf-8"><title>grid</title><body style="margin:0"><div id="grid" style="width:760px"></div><div style="height:3000px"></div>';
    server = createServer((req, res) => {
      const [type, body] = req.url === '/grid.js' ? ['text/javascript', js] : req.url === '/' ? ['text/html', html] : [null, null];
      if (!type) {
        res.statusCode = 404;
        res.end();
        return;
      }
      res.setHeader('content-type', type);
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
    page = await browser.newPage({ viewport: { width: 800, height: 700 } });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.evaluate(
      async ([n, size]) => {
        const G = await import('/grid.js' as string);
        const style = document.createElement('style');
        style.textContent = G.GRID_CSS;
        document.head.append(style);
        const data = new Uint8ClampedArray(size * size * 4);
        const values = new Float32Array(size * size);
        for (let y = 0; y < size; y++) {
          for (let x = 0; x < size; x++) {
            const i = y * size + x;
            data.set([x, y, (x + y) >> 1, 255], 4 * i);
            values[i] = x + 1000 * y;
          }
        }
        const tiles = Array.from({ length: n }, (_, i) => ({
          id: `t${i}`,
          label: `layer${i} · class · gradient.png`,
          group: i < 3 ? 'first' : 'second',
          image: { width: size, height: size, data },
          values: { width: size, height: size, data: values },
        }));
        const grid = new G.Grid(document.getElementById('grid')!, { tileSize: 224 });
        grid.setTiles(tiles);
        Object.assign(window, { grid, tiles });
      },
      [N, SIZE] as const,
    );
  });
  after(async () => {
    await browser?.close();
    server?.close();
  });
  afterEach(() => expect(errors, 'page errors').to.deep.equal([]));

  const states = (): Promise<TileState[]> =>
    page.evaluate(() =>
      Array.from(document.querySelectorAll<HTMLElement>('[data-tile-id]'), (e) => ({
        id: e.dataset.tileId!,
        zoom: Number(e.dataset.zoom),
        panX: Number(e.dataset.panX),
        panY: Number(e.dataset.panY),
        hoverX: e.dataset.hoverX!,
        hoverY: e.dataset.hoverY!,
        hoverValue: e.dataset.hoverValue!,
      })),
    );
  const state = async (id: string) => (await states()).find((s) => s.id === id)!;
  /** The client rectangle of a tile's picture. */
  const rect = (id: string) =>
    page.evaluate((id) => {
      const r = document.querySelector(`[data-tile-id="${id}"] canvas`)!.getBoundingClientRect();
      return { x: r.left, y: r.top, w: r.width, h: r.height };
    }, id);
  const reset = () => page.evaluate(() => {
    const w = window as unknown as { grid: { setTiles(t: unknown): void; sync: boolean }; tiles: unknown };
    w.grid.sync = true;
    w.grid.setTiles(w.tiles);
  });
  const call = (fn: string, ...args: unknown[]) =>
    page.evaluate(([fn, args]) => (window as unknown as { grid: Record<string, (...a: unknown[]) => unknown> }).grid[fn]!(...args), [fn, args] as const);
  const setSync = (on: boolean) => page.evaluate((on) => ((window as unknown as { grid: { sync: boolean } }).grid.sync = on), on);

  function expectSameView(all: TileState[], ref: TileState): void {
    for (const s of all) expect([s.id, s.zoom, s.panX, s.panY]).to.deep.equal([s.id, ref.zoom, ref.panX, ref.panY]);
  }

  it('wheel zooms and drag pans every tile alike, and the page does not scroll', async () => {
    await reset();
    const r = await rect('t4');
    await page.mouse.move(r.x + 60, r.y + 150);
    await page.mouse.wheel(0, -100);
    await page.waitForFunction(() => document.querySelector<HTMLElement>('[data-tile-id="t4"]')!.dataset.zoom !== '1');
    await page.mouse.wheel(0, -100);
    await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('[data-tile-id="t4"]')!.dataset.zoom) > 1.3);
    let all = await states();
    const t4 = all.find((s) => s.id === 't4')!;
    expect(t4.zoom).to.be.closeTo(1.25 * 1.25, 1e-9);
    expect(t4.panX).to.be.greaterThan(0);
    expectSameView(all, t4);
    // the image point under the cursor stayed there: the hover pixel is still (60, 150) CSS px in
    expect(Number(t4.hoverX)).to.equal(Math.floor((60 * SIZE) / 224));
    expect(await page.evaluate(() => window.scrollY)).to.equal(0);

    // drag 40 px left, 20 px up: the image follows the mouse in every tile
    const before = t4;
    await page.mouse.down();
    await page.mouse.move(r.x + 20, r.y + 130, { steps: 4 });
    await page.mouse.up();
    all = await states();
    const after = all.find((s) => s.id === 't4')!;
    const perCss = SIZE / 224 / after.zoom;
    expect(after.panX).to.be.closeTo(before.panX + 40 * perCss, 1e-6);
    expect(after.panY).to.be.closeTo(before.panY + 20 * perCss, 1e-6);
    expectSameView(all, after);
  });

  it('with sync off moves one tile alone; with sync on again keeps its offset', async () => {
    await reset();
    await call('zoomAt', 't0', 2, 100, 100);
    expectSameView(await states(), await state('t0'));
    const synced = await state('t1');

    await setSync(false);
    expect(await page.evaluate(() => document.getElementById('grid')!.dataset.sync)).to.equal('off');
    await call('zoomAt', 't2', 1.5, 80, 60);
    await call('panBy', 't2', 7, -5);
    const alone = await state('t2');
    expect(alone.zoom).to.be.closeTo(3, 1e-12);
    for (const s of await states()) if (s.id !== 't2') expect([s.zoom, s.panX, s.panY]).to.deep.equal([synced.zoom, synced.panX, synced.panY]);
    const dx = alone.panX - synced.panX;
    const dy = alone.panY - synced.panY;
    expect(Math.abs(dx) + Math.abs(dy)).to.be.greaterThan(1);

    await setSync(true);
    expect(await page.evaluate(() => document.getElementById('grid')!.dataset.sync)).to.equal('on');
    // move another tile with the real wheel: all tiles change, t2 keeps its pan difference and zoom ratio
    const r = await rect('t4');
    await page.mouse.move(r.x + 112, r.y + 112);
    await page.mouse.wheel(0, -100);
    await page.waitForFunction((z) => Number(document.querySelector<HTMLElement>('[data-tile-id="t4"]')!.dataset.zoom) > z, synced.zoom);
    let all = await states();
    let t4 = all.find((s) => s.id === 't4')!;
    expect(t4.zoom).to.be.closeTo(synced.zoom * 1.25, 1e-9);
    for (const s of all) {
      if (s.id === 't2') continue;
      expect([s.id, s.zoom, s.panX, s.panY]).to.deep.equal([s.id, t4.zoom, t4.panX, t4.panY]);
    }
    let t2 = all.find((s) => s.id === 't2')!;
    expect(t2.zoom / t4.zoom).to.be.closeTo(alone.zoom / synced.zoom, 1e-9);
    expect(t2.panX - t4.panX).to.be.closeTo(dx, 1e-9);
    expect(t2.panY - t4.panY).to.be.closeTo(dy, 1e-9);

    // and when the offset tile itself is moved
    await call('panBy', 't2', -3, 4);
    all = await states();
    t4 = all.find((s) => s.id === 't4')!;
    t2 = all.find((s) => s.id === 't2')!;
    expect(t2.panX - t4.panX).to.be.closeTo(dx, 1e-9);
    expect(t2.panY - t4.panY).to.be.closeTo(dy, 1e-9);
    expect((await state('t0')).panX).to.equal(t4.panX);
  });

  it('hovering shows the same pixel and its value in every tile at zooms 1, 4 and 16', async () => {
    await reset();
    const seen = new Set<string>();
    for (const zoom of [1, 4, 16]) {
      if (zoom > 1) await call('zoomAt', 't1', zoom / (await state('t1')).zoom, 130, 90);
      const t5 = await state('t5');
      expect(t5.zoom).to.be.closeTo(zoom, 1e-9);
      const r = await rect('t5');
      for (const [ox, oy] of [[37, 101], [190, 13]] as const) {
        await page.mouse.move(r.x + ox, r.y + oy);
        const all = await states();
        const perCss = SIZE / 224 / t5.zoom;
        const x = Number(all[0]!.hoverX);
        const y = Number(all[0]!.hoverY);
        expect(x).to.be.closeTo(Math.floor(t5.panX + ox * perCss), 1);
        expect(y).to.be.closeTo(Math.floor(t5.panY + oy * perCss), 1);
        for (const s of all) expect([s.id, s.hoverX, s.hoverY, s.hoverValue]).to.deep.equal([s.id, String(x), String(y), String(x + 1000 * y)]);
        seen.add(`${x},${y}`);
      }
    }
    expect(seen.size).to.equal(6);
    // the readout says it too (drawn in the next frame)
    await page.waitForFunction(() => /^\d+, \d+: \d+$/.test(document.querySelector('[data-tile-id="t0"] .loupe-grid-readout')!.textContent ?? ''));
    // leaving the grid clears the hover; hoverAt(NaN) does too
    await page.mouse.move(790, 690);
    for (const s of await states()) expect([s.hoverX, s.hoverY, s.hoverValue]).to.deep.equal(['', '', '']);
    await call('hoverAt', 't3', 5.7, 9.2);
    for (const s of await states()) expect([s.hoverX, s.hoverY, s.hoverValue]).to.deep.equal(['5', '9', '9005']);
    await call('hoverAt', 't3', NaN, NaN);
    for (const s of await states()) expect(s.hoverX).to.equal('');
  });

  it('updateTile keeps the view; toCanvas draws the whole grid', async () => {
    await call('zoomAt', 't0', 2, 50, 50);
    const v = await call('view', 't3');
    await page.evaluate(() => {
      const w = window as unknown as { grid: { updateTile(id: string, img: unknown, values?: unknown): void } };
      const data = new Uint8ClampedArray(227 * 227 * 4).fill(200);
      w.grid.updateTile('t3', { width: 227, height: 227, data }, undefined);
    });
    expect(await call('view', 't3')).to.deep.equal(v);
    await call('hoverAt', 't0', 10, 20);
    expect((await state('t3')).hoverValue).to.equal('');
    expect((await state('t0')).hoverValue).to.equal('20010');
    const out = await page.evaluate(() => {
      const c = (window as unknown as { grid: { toCanvas(): HTMLCanvasElement } }).grid.toCanvas();
      const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let coloured = 0;
      for (let i = 0; i < px.length; i += 4) if (px[i] !== px[i + 1] || px[i + 1] !== px[i + 2]) coloured++;
      return { w: c.width, h: c.height, dpr: devicePixelRatio, coloured };
    });
    // 3 columns fit in 760 px; two groups of three tiles: two rows of 226-px tiles and labels
    expect(out.w / out.dpr).to.be.at.least(3 * 226);
    expect(out.h / out.dpr).to.be.at.least(2 * (226 + 18));
    // five gradient tiles (t3 is grey now) cover most of their squares
    expect(out.coloured).to.be.greaterThan(5 * 200 * 200 * out.dpr * out.dpr);
    await page.evaluate(() => (window as unknown as { grid: { destroy(): void } }).grid.destroy());
    expect(await page.evaluate(() => document.getElementById('grid')!.childElementCount)).to.equal(0);
  });
});
