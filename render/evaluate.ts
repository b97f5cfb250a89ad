// Figures of `loupe evaluate` (explainers/evaluate.ts): PREFIX.png, per image the map of each
// method over the image with its deletion / insertion AUC, pointing hit, infidelity, max-sensitivity
// and completeness gap; PREFIX-curves.png,
// the mean deletion and insertion curves of each method (probability of the target class against
// the fraction of pixels removed or restored). No Node modules.
import type { RGBAImage } from '../loaders/image.ts';
import type { Evaluation } from '../explainers/evaluate.ts';
import { attributionScale, classLabel, shownImages, type FigureContext } from './figures.ts';
import { createImage, drawText, measureText, montage, overlay, renderSequential, renderSigned, type MontageCell, type RGB } from './render.ts';

/** Distinct line colours, one per method (cycled). */
const COLOURS: RGB[] = [[214, 39, 40], [31, 119, 180], [44, 160, 44], [255, 127, 14], [148, 103, 189], [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207]];

/** Curves over [0, 1] × [0, 1], one colour each, with a legend. */
export function plotCurves(series: { label: string; curve: readonly number[] }[], title: string, xLabel: string, W = 360, H = 300): RGBAImage {
  const img = createImage(W, H, [255, 255, 255]);
  const mg = { l: 36, r: 8, t: 20, b: 28 };
  const px = (x: number) => mg.l + x * (W - mg.l - mg.r);
  const py = (y: number) => H - mg.b - Math.max(0, Math.min(1, y)) * (H - mg.t - mg.b);
  const set = (x: number, y: number, c: RGB) => {
    const xi = Math.round(x), yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= W || yi >= H) return;
    img.data.set([...c, 255], (yi * W + xi) * 4);
  };
  for (let x = mg.l; x < W - mg.r; x++) set(x, H - mg.b, [0, 0, 0]);
  for (let y = mg.t; y <= H - mg.b; y++) set(mg.l, y, [0, 0, 0]);
  const legendWidth = 18 + Math.max(0, ...series.map((s) => measureText(s.label).width));
  series.forEach((s, q) => {
    const col = COLOURS[q % COLOURS.length]!;
    const n = s.curve.length - 1;
    for (let k = 0; k < n; k++) {
      const dots = Math.max(8, Math.ceil(Math.abs(py(s.curve[k + 1]!) - py(s.curve[k]!)) + Math.abs(px((k + 1) / n) - px(k / n))));
      for (let t = 0; t <= dots; t++) {
        const f = t / dots;
        set(px((k + f) / n), py(s.curve[k]! + f * (s.curve[k + 1]! - s.curve[k]!)), col);
      }
    }
    // the legend at the right, as wide as its longest label (a fixed width cut "guided-backprop 0.452")
    const lx = W - mg.r - legendWidth;
    const ly = mg.t + 4 + q * 12;
    for (let x = lx; x < lx + 14; x++) set(x, ly + 4, col);
    drawText(img, lx + 18, ly, s.label, { color: col });
  });
  drawText(img, 2, 4, title, { color: [0, 0, 0] });
  drawText(img, 2, mg.t, '1', { color: [0, 0, 0] });
  drawText(img, 2, H - mg.b - 10, '0', { color: [0, 0, 0] });
  drawText(img, mg.l, H - mg.b + 4, '0', { color: [0, 0, 0] });
  drawText(img, W - mg.r - 6, H - mg.b + 4, '1', { color: [0, 0, 0] });
  drawText(img, W / 2 - 3 * xLabel.length, H - 11, xLabel, { color: [0, 0, 0] });
  return img;
}

/** PREFIX-curves.png: the mean deletion and insertion curves of each method, side by side. */
export function curvesFigure(e: Evaluation, model: string): RGBAImage | undefined {
  const cells: MontageCell[] = [];
  for (const metric of ['deletion', 'insertion'] as const) {
    if (!e.metrics.includes(metric)) continue;
    const series = e.methods.map((m) => ({ label: `${m.method} ${m.mean[metric]!.toFixed(3)}`, curve: m.mean[`${metric}Curve`]! }));
    cells.push({ image: plotCurves(series, `${metric}: p(class), mean AUC`, metric === 'deletion' ? 'fraction removed' : 'fraction restored'), caption: `${metric} (${metric === 'deletion' ? 'lower' : 'higher'} is better)` });
  }
  if (cells.length === 0) return undefined;
  return montage(cells, { columns: cells.length, cellSize: 360, title: `deletion and insertion, ${e.steps} steps - ${model}` });
}

/** A number in few characters: 3 significant digits, exponent form when small or large; '-' when undefined. */
function short(v: number): string {
  if (!Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-2 || a >= 1e4) ? v.toExponential(1) : v.toPrecision(3);
}

/** PREFIX.png: per image (rows) the image, then each method's map over it, captioned with its scores (`shown`: the images, default ctx's inputs). */
export function evaluationFigure(e: Evaluation, ctx: FigureContext, shown = shownImages(ctx), title = `evaluate - ${ctx.model}`): RGBAImage {
  const [, h, w] = ctx.shape;
  const cells: MontageCell[] = [];
  shown.forEach((img, i) => {
    cells.push({ image: img, caption: `${ctx.names?.[i] ?? `image ${i}`}: ${classLabel(ctx, e.methods[0]!.images[i]!.class)}` });
    for (const m of e.methods) {
      const map = m.maps.subarray(i * h * w, (i + 1) * h * w);
      const signed = map.some((v) => v < 0);
      const heat = signed ? renderSigned(map, h, w, { transparent: true, scale: attributionScale(map) }) : renderSequential(map, h, w, { transparent: true });
      const r = m.images[i]!;
      const scores = [
        r.deletion && `del ${r.deletion.auc.toFixed(3)}`,
        r.insertion && `ins ${r.insertion.auc.toFixed(3)}`,
        r.pointing && (r.pointing.hit === null ? 'no region' : r.pointing.hit ? 'hit' : 'miss'),
        r.infidelity && `infd ${short(r.infidelity.infidelity)}`,
        r.sensitivity && `sens ${short(r.sensitivity.max)}`,
        r.completeness !== undefined && `gap ${r.completeness === null ? '-' : `${(100 * r.completeness).toFixed(1)}%`}`,
      ].filter(Boolean);
      cells.push({ image: overlay(img, heat, 0.8, { greyBase: signed }), caption: `${m.method}: ${scores.join(' ')}` });
    }
  });
  // many images × methods: smaller tiles, so that a 12-photo × 7-method figure stays a few megabytes
  const cellSize = cells.length > 40 ? 160 : Math.max(160, Math.min(256, h));
  const more = e.metrics.includes('infidelity') || e.metrics.includes('sensitivity') || e.methods.some((m) => m.mean.completeness !== undefined);
  return montage(cells, { columns: 1 + e.methods.length, cellSize, textScale: 1, title, ...(more ? { captionLines: 3 } : {}) });
}

/**
 * PREFIX-randomisation.png: per method the paper's cascading row for the first image (the original
 * map, then the map after each step, captioned with the lowest layer randomised and its |map|
 * Spearman), then the mean Spearman (|map|) and SSIM of each method against the step.
 */
export function randomisationFigure(e: Evaluation, ctx: FigureContext, shown?: readonly RGBAImage[]): RGBAImage | undefined {
  const withSteps = e.methods.filter((m) => m.randomisation?.length);
  if (withSteps.length === 0) return undefined;
  const [, h, w] = ctx.shape;
  const img = (shown ?? shownImages(ctx))[0]!;
  const heat = (map: Float32Array) => {
    const signed = map.some((v) => v < 0);
    return overlay(img, signed ? renderSigned(map, h, w, { transparent: true, scale: attributionScale(map) }) : renderSequential(map, h, w, { transparent: true }), 0.8, { greyBase: signed });
  };
  const steps = withSteps[0]!.randomisation!.length;
  const columns = steps + 1;
  const cells: MontageCell[] = [];
  for (const m of withSteps) {
    cells.push({ image: heat(m.maps.subarray(0, h * w)), caption: `${m.method}: original${m.decorrelates === false ? ' (does not decorrelate)' : ''}` });
    for (const s of m.randomisation!) {
      const rho = s.images[0]!['spearman-abs'];
      cells.push({ image: heat(s.maps.subarray(0, h * w)), caption: `to ${s.layer}: r|map| ${Number.isFinite(rho) ? rho.toFixed(2) : '-'}` });
    }
  }
  const curve = (stat: 'spearman-abs' | 'ssim') =>
    plotCurves(withSteps.map((m) => ({ label: `${m.method}`, curve: [1, ...m.randomisation!.map((s) => (Number.isFinite(s.mean[stat]) ? s.mean[stat] : 0))] })), `mean ${stat === 'ssim' ? 'SSIM' : 'Spearman |map|'} by step`, `steps (0: original .. ${steps}: to ${withSteps[0]!.randomisation![steps - 1]!.layer})`);
  cells.push({ image: curve('spearman-abs'), caption: 'mean Spearman, |map|' });
  cells.push({ image: curve('ssim'), caption: 'mean SSIM' });
  while (cells.length % columns) cells.push({ image: createImage(8, 8, [255, 255, 255]), caption: '' });
  return montage(cells, { columns, cellSize: Math.max(160, Math.min(256, h)), textScale: 1, title: `cascading randomisation, ${ctx.names?.[0] ?? 'image 0'}, seed ${e.seed ?? 0} - ${ctx.model}` });
}
