// Figures of network dissection and Net2Vec (issue 16), shared by `loupe dissect` / `loupe net2vec`
// and the browser app: the NetDissect paper's bar chart of detectors per category per layer, a
// unit's strip (its top images, the part where its thresholded map is on shown in colour and the
// rest dimmed, captioned with its concept and IoU), a sheet of the best units, and Net2Vec's
// single-unit vs learned IoU bars beside the concepts' cosine-similarity table.
import type { RGBAImage } from '../loaders/image-formats.ts';
import type { Dissection, LayerDissection } from '../explainers/dissect.ts';
import { unitMask } from '../explainers/dissect.ts';
import type { Net2VecResult } from '../explainers/net2vec.ts';
import { createImage, diverging, drawText, measureText, montage, paste, renderMask, resizeImage, type MontageCell, type RGB } from './render.ts';

const CATEGORY_COLOURS: RGB[] = [[31, 119, 180], [214, 39, 40], [44, 160, 44], [255, 127, 14], [148, 103, 189], [140, 86, 75], [227, 119, 194], [127, 127, 127]];
const BLACK: RGB = [0, 0, 0];

/** Vertical bars: groups (layers) × series (categories), with the counts over the bars and a legend. */
function groupedBars(groups: string[], series: string[], values: number[][], title: string, yLabel: string): RGBAImage {
  const barW = 14, gap = 18;
  const groupW = Math.max(series.length * barW, ...groups.map((g) => measureText(g).width)) + gap;
  const legendW = 16 + Math.max(0, ...series.map((s) => measureText(s).width));
  const mg = { l: 40, r: 20 + legendW, t: 28, b: 30 };
  const plotH = 200;
  const W = mg.l + groups.length * groupW + mg.r, H = mg.t + plotH + mg.b;
  const img = createImage(Math.max(W, measureText(title).width + 10), H, [255, 255, 255]);
  const max = Math.max(1, ...values.flat());
  const set = (x: number, y: number, c: RGB) => {
    if (x >= 0 && y >= 0 && x < img.width && y < img.height) img.data.set([...c, 255], (y * img.width + x) * 4);
  };
  for (let y = mg.t; y <= mg.t + plotH; y++) set(mg.l - 1, y, BLACK);
  for (let x = mg.l - 1; x < W - mg.r; x++) set(x, mg.t + plotH, BLACK);
  drawText(img, 4, 6, title, { color: BLACK });
  drawText(img, 2, mg.t, String(max), { color: BLACK });
  drawText(img, 2, mg.t + plotH - 9, '0', { color: BLACK });
  drawText(img, 2, mg.t + plotH / 2, yLabel.slice(0, 6), { color: BLACK });
  groups.forEach((g, gi) => {
    const x0 = mg.l + gi * groupW + gap / 2;
    series.forEach((_s, si) => {
      const v = values[gi]![si]!;
      const hgt = Math.round((v / max) * plotH);
      const col = CATEGORY_COLOURS[si % CATEGORY_COLOURS.length]!;
      for (let y = mg.t + plotH - hgt; y < mg.t + plotH; y++) for (let x = x0 + si * barW; x < x0 + (si + 1) * barW - 2; x++) set(x, y, col);
      if (v > 0) drawText(img, x0 + si * barW, Math.max(mg.t - 10, mg.t + plotH - hgt - 10), String(v), { color: BLACK });
    });
    drawText(img, x0, mg.t + plotH + 6, g, { color: BLACK });
  });
  series.forEach((s, si) => {
    const lx = W - mg.r + 12, ly = mg.t + si * 13;
    for (let y = ly; y < ly + 9; y++) for (let x = lx; x < lx + 10; x++) set(x, y, CATEGORY_COLOURS[si % CATEGORY_COLOURS.length]!);
    drawText(img, lx + 14, ly, s, { color: BLACK });
  });
  return img;
}

/** PREFIX.png: detectors (units whose best IoU passes the threshold) per category per layer. */
export function dissectionSummary(d: Dissection, model: string): RGBAImage {
  const used = d.categories.filter((cat) => d.layers.some((l) => (l.detectors[cat] ?? 0) > 0));
  const cats = used.length ? used : d.categories;
  const values = d.layers.map((l) => cats.map((cat) => l.detectors[cat] ?? 0));
  const units = d.layers.map((l) => `${l.layer} (${l.units.length})`);
  return groupedBars(units, cats, values, `${model}: detectors (IoU > ${d.iouThreshold}) per category, ${d.images} images, ${d.source}`, 'units');
}

/**
 * One unit's strip: its top images (as `image(sample)` gives them, any size), each shown where the
 * unit's thresholded map is on and dimmed elsewhere, with the unit, its concept and IoU on top.
 */
export function unitStrip(d: Dissection, layer: LayerDissection, unit: number, image: (sample: number) => RGBAImage, cell = 96): RGBAImage {
  const u = layer.units[unit]!;
  const [K, h, w] = layer.shape;
  if (unit < 0 || unit >= K) throw new RangeError(`unit ${unit} of ${K}`);
  const [mh, mw] = d.mask;
  const cells: MontageCell[] = u.top.map((s, r) => {
    const map = layer.topMaps.subarray((unit * d.top + r) * h * w, (unit * d.top + r + 1) * h * w);
    const mask = unitMask(map, h, w, mh, mw, u.threshold);
    const base = resizeImage(image(s), cell, cell, 'bilinear');
    return { image: renderMask(base, mask, { maskWidth: mw, maskHeight: mh, dim: 0.35 }), caption: `max ${Math.abs(u.topMax[r]!) >= 100 ? u.topMax[r]!.toFixed(0) : u.topMax[r]!.toPrecision(3)}` };
  });
  const title = `${layer.layer} unit ${unit}: ${u.concept} (${u.category}) IoU ${u.iou.toFixed(3)}${u.detector ? '' : ' (below threshold)'}`;
  if (cells.length === 0) {
    const img = createImage(Math.max(cell, measureText(title).width + 8), 30, [255, 255, 255]);
    drawText(img, 4, 10, title, { color: BLACK });
    return img;
  }
  return montage(cells, { columns: cells.length, cellSize: cell, title, padding: 4, textScale: 1, titleScale: 1 });
}

/** The `count` units of a layer with the highest IoU, their strips stacked. */
export function bestUnitsSheet(d: Dissection, layer: LayerDissection, image: (sample: number) => RGBAImage, count = 10, cell = 64): RGBAImage {
  const order = layer.units.filter((u) => u.id !== 0).sort((a, b) => b.iou - a.iou).slice(0, count);
  const strips = order.map((u) => unitStrip(d, layer, u.unit, image, cell));
  const W = Math.max(200, ...strips.map((s) => s.width));
  const header = `${layer.layer}: the ${order.length} units with the highest IoU (${layer.units.filter((u) => u.detector).length} of ${layer.units.length} units are detectors)`;
  const H = 20 + strips.reduce((s, x) => s + x.height, 0);
  const img = createImage(Math.max(W, measureText(header).width + 8), H, [255, 255, 255]);
  drawText(img, 4, 6, header, { color: BLACK });
  let y = 20;
  for (const s of strips) {
    paste(img, s, 0, y);
    y += s.height;
  }
  return img;
}

/** PREFIX.png of Net2Vec: per concept the best single unit's held-out IoU beside the learned combination's, and the concepts' cosine-similarity table. */
export function net2vecFigure(r: Net2VecResult, model: string): RGBAImage {
  const seg = r.variant === 'segmentation';
  const names = r.concepts.map((c) => c.concept);
  const values = r.concepts.map((c) => [Math.round(c.bestUnitIoU * 100), Math.round(c.score * 100)]);
  const bars = groupedBars(names, ['best single unit (IoU %)', seg ? 'Net2Vec (IoU %)' : 'Net2Vec (accuracy %)'], values, `${model} ${r.layer}: held-out ${seg ? 'set IoU' : 'accuracy'}, ${r.heldOut} images (trained on ${r.train})`, '%');
  const n = names.length, cellPx = 14;
  const labelW = Math.max(...names.map((s) => measureText(s).width)) + 8;
  const head = ['cosine similarity of the', 'concept vectors (blue -1, red +1)'];
  const table = createImage(Math.max(labelW + n * cellPx + 10, ...head.map((t) => measureText(t).width + 8)), 28 + n * cellPx, [255, 255, 255]);
  head.forEach((t, i) => drawText(table, 4, 2 + 11 * i, t, { color: BLACK }));
  for (let i = 0; i < n; i++) {
    drawText(table, 2, 26 + i * cellPx + 2, names[i]!, { color: BLACK });
    for (let j = 0; j < n; j++) {
      const col = diverging(r.similarity[i * n + j]!);
      for (let y = 0; y < cellPx - 1; y++) for (let x = 0; x < cellPx - 1; x++) table.data.set([...col, 255], ((26 + i * cellPx + y) * table.width + labelW + j * cellPx + x) * 4);
    }
  }
  const out = createImage(bars.width + table.width + 10, Math.max(bars.height, table.height), [255, 255, 255]);
  paste(out, bars, 0, 0);
  paste(out, table, bars.width + 10, 0);
  return out;
}
