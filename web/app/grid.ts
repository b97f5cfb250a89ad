// The explanation-map grid of the browser app: one tile per map (layer × method × image), drawn at
// the input image's full resolution, with wheel zoom and drag pan synchronised across all tiles
// (after Strezoski & Worring's multi-map viewer). A tile that was moved alone while sync was off
// keeps its offset from the others once sync is on again. Hovering shows the same image pixel and
// each tile's map value there in every tile.
//
// Plain DOM + canvas, no dependencies. State is mirrored synchronously into data attributes
// (data-zoom, data-pan-x, data-pan-y, data-hover-x, data-hover-y, data-hover-value on each
// [data-tile-id]; data-sync on the root); pixels are drawn in one requestAnimationFrame per change
// burst, and only for tiles near the viewport.

/** 8-bit RGBA, row-major. */
export interface RGBA {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array;
}

export interface TileSpec {
  /** Unique among the grid's tiles. */
  id: string;
  /** Caption under the tile, e.g. "fire9 · bull mastiff · both.png". */
  label: string;
  /** What to draw (already coloured), at the input image's resolution. */
  image: RGBA;
  /** Map values for the hover readout: the image's size, or a lower resolution scaled to it. */
  values?: { width: number; height: number; data: Float32Array };
  /** Row heading; tiles of one group share a row (in order of first appearance). */
  group?: string;
}

/** zoom ≥ 1 (1: the whole image fits the tile); pan: the image coordinate (px) at the tile's top-left corner. */
export interface View {
  zoom: number;
  panX: number;
  panY: number;
}

export interface GridOptions {
  /** Tile side in CSS px (default 224). */
  tileSize?: number;
}

/** Styles for the grid's elements; the app injects them once (e.g. a <style> element). */
export const GRID_CSS = `
.loupe-grid { font: 12px/1.35 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1b1b; background: #fff; padding: 8px; box-sizing: border-box; }
.loupe-grid-group { margin: 0 0 14px; }
.loupe-grid-heading { font-weight: 600; font-size: 13px; margin: 0 0 6px; color: #111; }
.loupe-grid-row { display: flex; flex-wrap: wrap; gap: 8px; }
.loupe-grid-tile { margin: 0; display: flex; flex-direction: column; }
.loupe-grid-view { position: relative; border: 1px solid #8a8a8a; background: #ececec; overflow: hidden; }
.loupe-grid-view canvas { display: block; width: 100%; height: 100%; touch-action: none; cursor: crosshair; }
.loupe-grid-view.loupe-grid-dragging canvas { cursor: grabbing; }
.loupe-grid-label { margin-top: 3px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; color: #222; }
.loupe-grid-readout { position: absolute; left: 3px; bottom: 3px; padding: 1px 5px; border-radius: 3px; background: rgba(255,255,255,0.88); color: #111; font: 11px/1.35 ui-monospace, Menlo, Consolas, monospace; pointer-events: none; white-space: nowrap; }
.loupe-grid-readout:empty { display: none; }
`;

const MIN_ZOOM = 1;
const MAX_ZOOM = 64;
/** Zoom factor per wheel notch. */
const NOTCH = 1.25;
/** Layout of toCanvas() (CSS px, scaled with the export): matches GRID_CSS. */
const PAD = 8;
const GAP = 8;
const LABEL_H = 18;
const HEADING_H = 22;
const GROUP_GAP = 14;

interface Tile {
  spec: TileSpec;
  el: HTMLElement;
  viewEl: HTMLElement;
  canvas: HTMLCanvasElement;
  readout: HTMLElement;
  labelEl: HTMLElement;
  /** The image at its own resolution, the source of every drawImage. */
  source: HTMLCanvasElement;
  view: View;
  /** Offset from the synced reference view: zoom ratio and pan difference (image px). */
  offset: View;
  /** Hover pixel as this tile shows it (null: none). */
  hover: { x: number; y: number; value: number | null } | null;
  visible: boolean;
}

export class Grid {
  readonly root: HTMLElement;
  readonly tileSize: number;
  private tiles = new Map<string, Tile>();
  private order: Tile[] = [];
  private syncOn = true;
  private dirty = new Set<Tile>();
  private raf = 0;
  private observer: IntersectionObserver | null = null;
  private drag: { tile: Tile; pointerId: number; x: number; y: number } | null = null;
  private hoverPixel: { x: number; y: number } | null = null;
  private destroyed = false;
  private readonly listeners: [string, EventListener, AddEventListenerOptions | undefined][];

  constructor(root: HTMLElement, options: GridOptions = {}) {
    this.root = root;
    this.tileSize = Math.max(16, Math.round(options.tileSize ?? 224));
    root.classList.add('loupe-grid');
    root.dataset.sync = 'on';
    if (typeof IntersectionObserver !== 'undefined') {
      this.observer = new IntersectionObserver((entries) => this.onIntersect(entries), { rootMargin: '256px' });
    }
    this.listeners = [
      ['wheel', ((e: WheelEvent) => this.onWheel(e)) as EventListener, { passive: false }],
      ['pointerdown', ((e: PointerEvent) => this.onPointerDown(e)) as EventListener, undefined],
      ['pointermove', ((e: PointerEvent) => this.onPointerMove(e)) as EventListener, undefined],
      ['pointerup', ((e: PointerEvent) => this.onPointerUp(e)) as EventListener, undefined],
      ['pointercancel', ((e: PointerEvent) => this.onPointerUp(e)) as EventListener, undefined],
      ['pointerleave', (() => this.onLeave()) as EventListener, undefined],
    ];
    for (const [type, fn, opts] of this.listeners) root.addEventListener(type, fn, opts);
  }

  // ---- tiles ---------------------------------------------------------------------------------

  /** Replaces all tiles; every view starts at zoom 1 (the whole image), offsets are cleared. */
  setTiles(tiles: TileSpec[]): void {
    const ids = new Set<string>();
    for (const t of tiles) {
      if (ids.has(t.id)) throw new Error(`Grid.setTiles: duplicate tile id "${t.id}"`);
      ids.add(t.id);
      checkImage(t.image, t.id);
    }
    this.observer?.disconnect();
    this.tiles.clear();
    this.order = [];
    this.dirty.clear();
    this.drag = null;
    this.hoverPixel = null;
    const groups = new Map<string, { row: HTMLElement; tiles: Tile[] }>();
    const sections: HTMLElement[] = [];
    for (const spec of tiles) {
      const key = spec.group ?? '';
      let g = groups.get(key);
      if (!g) {
        const section = el('div', 'loupe-grid-group');
        if (key) {
          section.dataset.group = key;
          section.append(el('div', 'loupe-grid-heading', key));
        }
        g = { row: el('div', 'loupe-grid-row'), tiles: [] };
        section.append(g.row);
        groups.set(key, g);
        sections.push(section);
      }
      const tile = this.makeTile(spec);
      g.row.append(tile.el);
      g.tiles.push(tile);
      this.tiles.set(spec.id, tile);
    }
    // in screen order: group by group (the order of first appearance), then as given
    this.order = [...groups.values()].flatMap((g) => g.tiles);
    this.root.replaceChildren(...sections);
    for (const t of this.order) {
      this.writeView(t);
      this.writeHover(t);
      if (this.observer) this.observer.observe(t.viewEl);
      else t.visible = true;
      this.dirty.add(t);
    }
    this.schedule();
  }

  /** Replaces a tile's picture (and values) in place, keeping its view (live MaxOut iterations). */
  updateTile(id: string, image: RGBA, values?: TileSpec['values']): void {
    const t = this.tile(id);
    checkImage(image, id);
    t.spec = { ...t.spec, image, values };
    fillSource(t.source, image);
    t.view = this.clampView(t, t.view);
    this.writeView(t);
    if (this.hoverPixel) this.setHover(t, this.hoverPixel.x, this.hoverPixel.y);
    this.markDirty(t);
  }

  // ---- sync, zoom, pan -------------------------------------------------------------------------

  get sync(): boolean {
    return this.syncOn;
  }

  /** Turning sync on keeps each tile's current offset (zoom ratio and pan difference) from the others. */
  set sync(on: boolean) {
    on = !!on;
    if (on === this.syncOn) return;
    this.syncOn = on;
    this.root.dataset.sync = on ? 'on' : 'off';
    if (on && this.order.length) {
      // Offsets relative to the first tile; only differences matter, so this is the same as
      // taking them from whichever tile is moved next.
      const ref = this.order[0]!.view;
      for (const t of this.order) {
        t.offset = { zoom: t.view.zoom / ref.zoom, panX: t.view.panX - ref.panX, panY: t.view.panY - ref.panY };
      }
    }
  }

  /** Zooms by `factor` about image point (imageX, imageY), which stays where it is in the tile (as a wheel does). */
  zoomAt(id: string, factor: number, imageX: number, imageY: number): void {
    const t = this.tile(id);
    if (!(factor > 0) || !Number.isFinite(factor) || !Number.isFinite(imageX) || !Number.isFinite(imageY)) return;
    const v = t.view;
    const zoom = clamp(v.zoom * factor, MIN_ZOOM, MAX_ZOOM);
    const f = zoom / v.zoom;
    this.move(t, { zoom, panX: imageX - (imageX - v.panX) / f, panY: imageY - (imageY - v.panY) / f });
  }

  /** Moves the view by (dx, dy) image px: the pan (the image point at the top-left corner) grows by them. */
  panBy(id: string, dxImage: number, dyImage: number): void {
    const t = this.tile(id);
    if (!Number.isFinite(dxImage) || !Number.isFinite(dyImage)) return;
    const v = t.view;
    this.move(t, { zoom: v.zoom, panX: v.panX + dxImage, panY: v.panY + dyImage });
  }

  view(id: string): View {
    return { ...this.tile(id).view };
  }

  // ---- hover ---------------------------------------------------------------------------------

  /** Shows image pixel (floor(x), floor(y)) of tile `id` in every tile; NaN (or a point off the image) clears. */
  hoverAt(id: string, imageX: number, imageY: number): void {
    const t = this.tile(id);
    const x = Math.floor(imageX);
    const y = Math.floor(imageY);
    const img = t.spec.image;
    if (!Number.isFinite(x) || !Number.isFinite(y) || x < 0 || y < 0 || x >= img.width || y >= img.height) {
      this.clearHover();
      return;
    }
    if (this.hoverPixel && this.hoverPixel.x === x && this.hoverPixel.y === y) return;
    this.hoverPixel = { x, y };
    for (const u of this.order) this.setHover(u, x, y);
  }

  // ---- export, teardown ---------------------------------------------------------------------------

  /**
   * The whole grid as one picture: group headings, tiles at their current views and labels, laid
   * out in as many columns as fit the root's width. `scale` (default devicePixelRatio, at least 1)
   * is the number of canvas pixels per CSS px.
   */
  toCanvas(options: { scale?: number } = {}): HTMLCanvasElement {
    const S = this.tileSize;
    const cell = S + 2; // the tile's 1 px border each side
    const width = this.root.clientWidth;
    const n = this.order.length;
    const cols = Math.max(1, width > 0 ? Math.floor((width - 2 * PAD + GAP) / (cell + GAP)) : Math.min(n, 8));
    // layout in CSS px
    const boxes: { tile: Tile; x: number; y: number }[] = [];
    const headings: { text: string; y: number }[] = [];
    let y = PAD;
    let maxCols = 1;
    let group: string | undefined;
    let col = 0;
    let first = true;
    for (const t of this.order) {
      const key = t.spec.group ?? '';
      if (first || key !== group) {
        if (!first) y += cell + LABEL_H + GROUP_GAP;
        first = false;
        group = key;
        col = 0;
        if (key) {
          headings.push({ text: key, y });
          y += HEADING_H;
        }
      } else if (col === cols) {
        col = 0;
        y += cell + LABEL_H + GAP;
      }
      boxes.push({ tile: t, x: PAD + col * (cell + GAP), y });
      col++;
      maxCols = Math.max(maxCols, col);
    }
    if (n) y += cell + LABEL_H;
    const cssW = 2 * PAD + maxCols * cell + (maxCols - 1) * GAP;
    const cssH = y + PAD;
    let k = options.scale ?? Math.max(1, globalThis.devicePixelRatio || 1);
    k = Math.min(k, 16384 / cssW, 16384 / cssH);
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(cssW * k));
    canvas.height = Math.max(1, Math.round(cssH * k));
    const ctx = canvas.getContext('2d')!;
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.textBaseline = 'top';
    ctx.fillStyle = '#111111';
    ctx.font = `600 ${13 * k}px system-ui, sans-serif`;
    for (const h of headings) ctx.fillText(fitText(ctx, h.text, cssW * k - 2 * PAD * k), PAD * k, h.y * k + 2 * k);
    ctx.font = `${12 * k}px system-ui, sans-serif`;
    for (const b of boxes) {
      const x0 = Math.round(b.x * k);
      const y0 = Math.round(b.y * k);
      const side = Math.round(cell * k);
      const bw = Math.max(1, Math.round(k));
      ctx.fillStyle = '#8a8a8a';
      ctx.fillRect(x0, y0, side, side);
      ctx.save();
      ctx.translate(x0 + bw, y0 + bw);
      this.paint(ctx, b.tile, side - 2 * bw, false);
      ctx.restore();
      ctx.fillStyle = '#222222';
      ctx.fillText(fitText(ctx, b.tile.spec.label, side), x0, y0 + side + 3 * k);
    }
    return canvas;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.raf) cancelAnimationFrame(this.raf);
    this.raf = 0;
    this.observer?.disconnect();
    for (const [type, fn, opts] of this.listeners) this.root.removeEventListener(type, fn, opts);
    this.root.replaceChildren();
    this.root.classList.remove('loupe-grid');
    delete this.root.dataset.sync;
    this.tiles.clear();
    this.order = [];
    this.dirty.clear();
  }

  // ---- internals: views ------------------------------------------------------------------------

  private tile(id: string): Tile {
    const t = this.tiles.get(id);
    if (!t) throw new Error(`Grid: no tile "${id}"`);
    return t;
  }

  /** Image px per CSS px at zoom 1 is max(w, h) / tileSize: the whole image fits. */
  private extent(t: Tile, zoom: number): number {
    return Math.max(t.spec.image.width, t.spec.image.height) / zoom;
  }

  private clampView(t: Tile, v: View): View {
    const zoom = clamp(v.zoom, MIN_ZOOM, MAX_ZOOM);
    const ext = this.extent(t, zoom);
    return { zoom, panX: clampPan(v.panX, t.spec.image.width, ext), panY: clampPan(v.panY, t.spec.image.height, ext) };
  }

  /** Applies `target` to tile `t` and, with sync on, the same change to every tile (keeping offsets). */
  private move(t: Tile, target: View): void {
    t.view = this.clampView(t, target);
    this.writeView(t);
    this.markDirty(t);
    if (this.syncOn) {
      const ref = { zoom: t.view.zoom / t.offset.zoom, panX: t.view.panX - t.offset.panX, panY: t.view.panY - t.offset.panY };
      for (const u of this.order) {
        if (u === t) continue;
        u.view = this.clampView(u, { zoom: ref.zoom * u.offset.zoom, panX: ref.panX + u.offset.panX, panY: ref.panY + u.offset.panY });
        this.writeView(u);
        this.markDirty(u);
      }
    }
  }

  private writeView(t: Tile): void {
    const d = t.el.dataset;
    d.zoom = String(t.view.zoom);
    d.panX = String(t.view.panX);
    d.panY = String(t.view.panY);
  }

  // ---- internals: hover ------------------------------------------------------------------------

  private setHover(t: Tile, x: number, y: number): void {
    const img = t.spec.image;
    if (x >= img.width || y >= img.height) t.hover = null;
    else t.hover = { x, y, value: sample(t.spec, x, y) };
    this.writeHover(t);
    this.markDirty(t);
  }

  private clearHover(): void {
    if (!this.hoverPixel) return;
    this.hoverPixel = null;
    for (const t of this.order) {
      t.hover = null;
      this.writeHover(t);
      this.markDirty(t);
    }
  }

  private writeHover(t: Tile): void {
    const d = t.el.dataset;
    const h = t.hover;
    d.hoverX = h ? String(h.x) : '';
    d.hoverY = h ? String(h.y) : '';
    d.hoverValue = h && h.value !== null ? String(h.value) : '';
  }

  // ---- internals: events ---------------------------------------------------------------------

  /** The tile whose picture (canvas) holds client point (cx, cy), and that point in its image. */
  private pick(target: EventTarget | null, cx: number, cy: number): { tile: Tile; x: number; y: number } | null {
    if (!(target instanceof Element)) return null;
    const el = target.closest<HTMLElement>('[data-tile-id]');
    const t = el ? this.tiles.get(el.dataset.tileId!) : undefined;
    if (!t || t.el !== el) return null;
    const r = t.canvas.getBoundingClientRect();
    if (cx < r.left || cy < r.top || cx >= r.right || cy >= r.bottom) return null;
    return { tile: t, ...this.toImage(t, cx - r.left, cy - r.top, r.width) };
  }

  /** CSS px (ox, oy) inside a tile's canvas of CSS width `w` → image coordinates. */
  private toImage(t: Tile, ox: number, oy: number, w: number): { x: number; y: number } {
    const perCss = this.extent(t, t.view.zoom) / (w || this.tileSize);
    return { x: t.view.panX + ox * perCss, y: t.view.panY + oy * perCss };
  }

  private onWheel(e: WheelEvent): void {
    const hit = this.pick(e.target, e.clientX, e.clientY);
    if (!hit) return;
    e.preventDefault();
    const notches = e.deltaMode === 1 ? e.deltaY / 3 : e.deltaMode === 2 ? e.deltaY : e.deltaY / 100;
    if (!notches) return;
    this.zoomAt(hit.tile.spec.id, Math.pow(NOTCH, -clamp(notches, -10, 10)), hit.x, hit.y);
    this.hoverAt(hit.tile.spec.id, hit.x, hit.y);
  }

  private onPointerDown(e: PointerEvent): void {
    if (e.button !== 0 || this.drag) return;
    const hit = this.pick(e.target, e.clientX, e.clientY);
    if (!hit) return;
    e.preventDefault();
    this.drag = { tile: hit.tile, pointerId: e.pointerId, x: e.clientX, y: e.clientY };
    hit.tile.viewEl.classList.add('loupe-grid-dragging');
    try {
      hit.tile.canvas.setPointerCapture(e.pointerId);
    } catch {
      /* not capturable (synthetic events): the drag still follows moves over the root */
    }
  }

  private onPointerMove(e: PointerEvent): void {
    const d = this.drag;
    if (d && e.pointerId === d.pointerId) {
      const t = d.tile;
      const perCss = this.extent(t, t.view.zoom) / (t.canvas.getBoundingClientRect().width || this.tileSize);
      const dx = e.clientX - d.x;
      const dy = e.clientY - d.y;
      d.x = e.clientX;
      d.y = e.clientY;
      if (dx || dy) this.panBy(t.spec.id, -dx * perCss, -dy * perCss);
    }
    const hit = this.pick(d ? d.tile.canvas : e.target, e.clientX, e.clientY);
    if (hit) this.hoverAt(hit.tile.spec.id, hit.x, hit.y);
    else this.clearHover();
  }

  private onPointerUp(e: PointerEvent): void {
    const d = this.drag;
    if (!d || e.pointerId !== d.pointerId) return;
    this.drag = null;
    d.tile.viewEl.classList.remove('loupe-grid-dragging');
    try {
      d.tile.canvas.releasePointerCapture(e.pointerId);
    } catch {
      /* already released */
    }
  }

  private onLeave(): void {
    if (!this.drag) this.clearHover();
  }

  private onIntersect(entries: IntersectionObserverEntry[]): void {
    let any = false;
    for (const en of entries) {
      const el = (en.target as HTMLElement).parentElement;
      const t = el ? this.tiles.get(el.dataset.tileId ?? '') : undefined;
      if (!t || t.viewEl !== en.target) continue;
      t.visible = en.isIntersecting;
      if (t.visible && this.dirty.has(t)) any = true;
    }
    if (any) this.schedule();
  }

  // ---- internals: drawing --------------------------------------------------------------------

  private makeTile(spec: TileSpec): Tile {
    const S = this.tileSize;
    const tileEl = el('figure', 'loupe-grid-tile');
    tileEl.dataset.tileId = spec.id;
    const viewEl = el('div', 'loupe-grid-view');
    viewEl.style.width = `${S}px`;
    viewEl.style.height = `${S}px`;
    const canvas = document.createElement('canvas');
    const readout = el('div', 'loupe-grid-readout');
    viewEl.append(canvas, readout);
    const labelEl = el('figcaption', 'loupe-grid-label', spec.label);
    labelEl.title = spec.label;
    labelEl.style.width = `${S + 2}px`;
    tileEl.append(viewEl, labelEl);
    const source = document.createElement('canvas');
    fillSource(source, spec.image);
    return {
      spec,
      el: tileEl,
      viewEl,
      canvas,
      readout,
      labelEl,
      source,
      view: { zoom: 1, panX: 0, panY: 0 },
      offset: { zoom: 1, panX: 0, panY: 0 },
      hover: null,
      visible: false,
    };
  }

  private markDirty(t: Tile): void {
    this.dirty.add(t);
    this.schedule();
  }

  private schedule(): void {
    if (this.raf || this.destroyed) return;
    this.raf = requestAnimationFrame(() => {
      this.raf = 0;
      this.frame();
    });
  }

  private frame(): void {
    const dpr = Math.max(0.5, globalThis.devicePixelRatio || 1);
    const side = Math.max(1, Math.round(this.tileSize * dpr));
    for (const t of [...this.dirty]) {
      if (!t.visible) continue; // drawn when it scrolls into view
      this.dirty.delete(t);
      if (t.canvas.width !== side || t.canvas.height !== side) {
        t.canvas.width = side;
        t.canvas.height = side;
      }
      const ctx = t.canvas.getContext('2d');
      if (!ctx) continue;
      this.paint(ctx, t, side, true);
      t.readout.textContent = t.hover ? `${t.hover.x}, ${t.hover.y}: ${t.hover.value === null ? '—' : formatValue(t.hover.value)}` : '';
    }
  }

  /** Draws tile `t` at its view into a `side`×`side` square at the context's origin. */
  private paint(ctx: CanvasRenderingContext2D, t: Tile, side: number, marker: boolean): void {
    const v = t.view;
    const k = side / this.extent(t, v.zoom); // canvas px per image px
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, 0, side, side);
    ctx.clip();
    ctx.fillStyle = '#ececec';
    ctx.fillRect(0, 0, side, side);
    // magnified pixels stay crisp squares; a (slightly) shrunk image is filtered
    ctx.imageSmoothingEnabled = k < 1;
    ctx.imageSmoothingQuality = 'high';
    ctx.transform(k, 0, 0, k, -v.panX * k, -v.panY * k);
    ctx.drawImage(t.source, 0, 0);
    ctx.restore();
    if (!marker || !t.hover) return;
    // crosshair through the hovered pixel, with a gap around it, and the pixel outlined
    const dpr = side / this.tileSize;
    const px = (t.hover.x - v.panX) * k;
    const py = (t.hover.y - v.panY) * k;
    const box = Math.max(k, 3 * dpr);
    const bx = px + k / 2 - box / 2;
    const by = py + k / 2 - box / 2;
    const cx = Math.round(px + k / 2) + 0.5;
    const cy = Math.round(py + k / 2) + 0.5;
    const gap = box / 2 + 2 * dpr;
    ctx.save();
    ctx.beginPath();
    ctx.moveTo(cx, 0);
    ctx.lineTo(cx, cy - gap);
    ctx.moveTo(cx, cy + gap);
    ctx.lineTo(cx, side);
    ctx.moveTo(0, cy);
    ctx.lineTo(cx - gap, cy);
    ctx.moveTo(cx + gap, cy);
    ctx.lineTo(side, cy);
    ctx.rect(bx, by, box, box);
    ctx.lineWidth = 3 * dpr;
    ctx.strokeStyle = 'rgba(255,255,255,0.85)';
    ctx.stroke();
    ctx.lineWidth = dpr;
    ctx.strokeStyle = '#111111';
    ctx.stroke();
    ctx.restore();
  }
}

// ---- helpers -------------------------------------------------------------------------------------

function el(tag: string, className: string, text?: string): HTMLElement {
  const e = document.createElement(tag);
  e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** The pan along one axis: within [0, size - ext] when the view is smaller than the image, else centred. */
function clampPan(pan: number, size: number, ext: number): number {
  if (ext >= size) return (size - ext) / 2;
  return clamp(Number.isFinite(pan) ? pan : 0, 0, size - ext);
}

function checkImage(img: RGBA, id: string): void {
  if (!(img.width > 0 && img.height > 0) || !Number.isInteger(img.width) || !Number.isInteger(img.height)) {
    throw new Error(`Grid: tile "${id}": image size ${img.width}×${img.height}`);
  }
  if (img.data.length !== img.width * img.height * 4) {
    throw new Error(`Grid: tile "${id}": ${img.data.length} bytes for a ${img.width}×${img.height} RGBA image`);
  }
}

function fillSource(canvas: HTMLCanvasElement, img: RGBA): void {
  if (canvas.width !== img.width || canvas.height !== img.height) {
    canvas.width = img.width;
    canvas.height = img.height;
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const data = ctx.createImageData(img.width, img.height);
  data.data.set(img.data);
  ctx.putImageData(data, 0, 0);
}

/** The tile's map value at image pixel (x, y), its values scaled to the image; null without values. */
function sample(spec: TileSpec, x: number, y: number): number | null {
  const v = spec.values;
  if (!v || !(v.width > 0 && v.height > 0)) return null;
  const vx = Math.min(v.width - 1, Math.floor((x * v.width) / spec.image.width));
  const vy = Math.min(v.height - 1, Math.floor((y * v.height) / spec.image.height));
  const value = v.data[vy * v.width + vx];
  return value === undefined ? null : value;
}

function formatValue(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e7) return String(v);
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}

function fitText(ctx: CanvasRenderingContext2D, text: string, width: number): string {
  if (ctx.measureText(text).width <= width) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(text.slice(0, mid) + '…').width <= width) lo = mid;
    else hi = mid - 1;
  }
  return text.slice(0, lo) + '…';
}
