// An Explanation as figures: for each method, the captioned montage the CLI writes as PREFIX.png
// (and the extra pictures: PDA's logit and layer figures, inversion's error curve), built from
// the explanation's maps, tensors and metadata plus the inputs it explained. The browser draws the
// same figures onto canvases. No Node modules.
import type { RGBAImage } from '../loaders/image.ts';
import type { ExplainInputs, Explanation, Tensor } from '../explainers/explanation.ts';
import { dissectionOf } from '../explainers/dissect.ts';
import { bestUnitsSheet, dissectionSummary, net2vecFigure } from './dissect.ts';
import { net2vecOf } from '../explainers/net2vec.ts';
import { attackFigure } from './adversarial.ts';
import type { AttackResult } from '../explainers/adversarial.ts';

/** The AttackResult an attack Explanation holds (for its figure). */
const attackOf = (e: Explanation): AttackResult => {
  const g = <T>(k: string) => e.meta[k] as T;
  return { adversarial: e.tensors.adversarial!.data as Float32Array, cleanClass: g('cleanClasses'), cleanProb: g('cleanProbs'), advClass: g('classes'), advProb: g('probs'), aim: g('aim'), targeted: g('targeted'), success: g('success'), linf: g('linf'), seconds: g('seconds') };
};
import { styleCurve, styleFigure } from './style.ts';
import type { StyleResult } from '../explainers/style.ts';
import { renderSigned, renderSequential, overlay, montage, tensorToImage, topMask, renderMask, maxAbs, createImage, drawText, type MontageCell } from './render.ts';

/** What the figures show besides the explanation: the inputs it explained and the model's name. */
export interface FigureContext extends ExplainInputs {
  /** the model's input: channels, height, width */
  shape: [number, number, number];
  /** the model's file name, for titles */
  model: string;
}

/** A montage to draw (or a ready image), written as PREFIX.png when `suffix` is '' and PREFIX-SUFFIX.png otherwise. */
export type Figure = { suffix: string } & ({ cells: MontageCell[]; columns: number; cellSize: number; title?: string; rowLabels?: string[] } | { image: RGBAImage });

export function drawFigure(f: Figure): RGBAImage {
  return 'image' in f ? f.image : montage(f.cells, { columns: f.columns, cellSize: f.cellSize, title: f.title, rowLabels: f.rowLabels });
}

/** The inputs as pictures: preprocessing undone for images, a raw array normalised to its range. */
export function shownImages(ctx: FigureContext): RGBAImage[] {
  const [c, h, w] = ctx.shape;
  const pp = ctx.preprocess;
  return Array.from({ length: ctx.batch }, (_, i) => {
    const x = ctx.data.subarray(i * c * h * w, (i + 1) * c * h * w);
    return ctx.fromImages ? tensorToImage(x, c, h, w, { mean: pp?.mean, scale: pp?.scale, bgr: pp?.bgr }) : tensorToImage(x, c, h, w, { normalise: true });
  });
}

const m = <T>(e: Explanation, key: string) => e.meta[key] as T;
/** Image `i` of a batch tensor (or array) of `per` values per image. */
export const slice = (t: Tensor | Float32Array, i: number, per: number) => ('data' in t ? t.data : t).subarray(i * per, (i + 1) * per);
/** The name of input `i` (its file name, or "image i"). */
export const name = (ctx: FigureContext, i: number) => ctx.names?.[i] ?? `image ${i}`;
/** "tabby (281)" with labels, "class 281" without. */
export const classLabel = (ctx: FigureContext, k: number) => (ctx.labels?.[k] ? `${ctx.labels[k]!.split(',')[0]} (${k})` : `class ${k}`);
const classCaption = (ctx: FigureContext, e: Explanation, i: number) => `${name(ctx, i)}: ${classLabel(ctx, m<number[]>(e, 'classes')[i]!)} p=${m<number[]>(e, 'probs')[i]!.toFixed(3)}`;

/** An input-shaped signal (N×C×H×W) as a picture, normalised, in the input's channel order. */
export function signalImage(ctx: FigureContext, signal: Tensor, i: number): RGBAImage {
  const [c, h, w] = ctx.shape;
  return tensorToImage(slice(signal, i, c * h * w), c, h, w, { normalise: true, bgr: ctx.fromImages ? ctx.preprocess?.bgr : undefined });
}

/** An etalon as a picture: signed, symmetric scale, summed over colour channels. */
export function etalonImage(etalons: Float32Array, q: number, [c, h, w]: [number, number, number]): RGBAImage {
  const per = c * h * w;
  const map = new Float32Array(h * w);
  for (let k = 0; k < c; k++) for (let i = 0; i < h * w; i++) map[i] += etalons[q * per + k * h * w + i]!;
  return renderSigned(map, h, w);
}

/** A small line plot (log-scale y when the values span more than a decade). */
export function plot(points: number[][], yLabel: string, xLabel: string, W = 256, H = 256): RGBAImage {
  const img = createImage(W, H, [255, 255, 255]);
  const mg = { l: 40, r: 8, t: 16, b: 28 };
  const xs = points.map((p) => p[0]!), ys = points.map((p) => p[1]!);
  const logY = Math.max(...ys) / Math.max(1e-12, Math.min(...ys)) > 10;
  const fy = (v: number) => (logY ? Math.log10(Math.max(v, 1e-12)) : v);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  const y0 = Math.min(...ys.map(fy)), y1 = Math.max(...ys.map(fy), y0 + 1e-9);
  const px = (x: number) => mg.l + ((x - x0) / (x1 - x0)) * (W - mg.l - mg.r);
  const py = (y: number) => H - mg.b - ((fy(y) - y0) / (y1 - y0)) * (H - mg.t - mg.b);
  const set = (x: number, y: number, c: [number, number, number]) => {
    const xi = Math.round(x), yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= W || yi >= H) return;
    img.data.set([...c, 255], (yi * W + xi) * 4);
  };
  for (let x = mg.l; x < W - mg.r; x++) set(x, H - mg.b, [0, 0, 0]);
  for (let y = mg.t; y <= H - mg.b; y++) set(mg.l, y, [0, 0, 0]);
  for (let i = 1; i < points.length; i++) {
    const steps = 64;
    for (let s = 0; s <= steps; s++) {
      const t = s / steps;
      const x = xs[i - 1]! + t * (xs[i]! - xs[i - 1]!);
      const y = logY ? 10 ** (fy(ys[i - 1]!) + t * (fy(ys[i]!) - fy(ys[i - 1]!))) : ys[i - 1]! + t * (ys[i]! - ys[i - 1]!);
      set(px(x), py(y), [200, 40, 40]);
    }
  }
  const fmt = (v: number) => (Math.abs(v) >= 100 || Math.abs(v) < 0.01 ? v.toExponential(1) : v.toFixed(3));
  drawText(img, 2, mg.t - 12, `${yLabel}${logY ? ' (log)' : ''}`, { color: [0, 0, 0] });
  drawText(img, 2, mg.t, fmt(logY ? 10 ** y1 : y1), { color: [0, 0, 0] });
  drawText(img, 2, H - mg.b - 10, fmt(logY ? 10 ** y0 : y0), { color: [0, 0, 0] });
  drawText(img, mg.l, H - mg.b + 4, String(x0), { color: [0, 0, 0] });
  drawText(img, W - mg.r - 6 * String(x1).length, H - mg.b + 4, String(x1), { color: [0, 0, 0] });
  drawText(img, W / 2 - 12, H - 11, xLabel, { color: [0, 0, 0] });
  return img;
}

type Builder = (e: Explanation, ctx: FigureContext) => Figure[];

/** Saliency, guided backprop, DeconvNet, the CAMs, Guided Grad-CAM, occlusion and RISE: one row per image. */
function rows(middle: (e: Explanation, ctx: FigureContext, shown: RGBAImage, i: number) => MontageCell[], first?: (e: Explanation, ctx: FigureContext, i: number) => string): Builder {
  return (e, ctx) => {
    const [, h] = ctx.shape;
    const shown = shownImages(ctx);
    const cells = shown.flatMap((img, i) => [{ image: img, caption: first ? first(e, ctx, i) : classCaption(ctx, e, i) }, ...middle(e, ctx, img, i)]);
    return [{ suffix: '', cells, columns: cells.length / shown.length, cellSize: Math.max(160, Math.min(256, h)), title: `${e.method} - ${ctx.model}` }];
  };
}

const mapOf = (e: Explanation, ctx: FigureContext, i: number) => slice(e.maps!, i, ctx.shape[1] * ctx.shape[2]);

const inputSignal = (what: string, heat: (e: Explanation, ctx: FigureContext, i: number) => RGBAImage) =>
  rows((e, ctx, shown, i) => {
    const [, h, w] = ctx.shape;
    return [
      { image: heat(e, ctx, i), caption: what },
      { image: overlay(shown, renderSequential(mapOf(e, ctx, i), h, w, { transparent: true }), 0.8), caption: 'overlay' },
    ];
  });

/** The CAM family's names in captions and tile labels (Guided Grad-CAM's CAM is Grad-CAM's). */
export const CAM_CAPTIONS: Record<string, string> = {
  gradcam: 'Grad-CAM', 'guided-gradcam': 'Grad-CAM', gradcampp: 'Grad-CAM++', xgradcam: 'XGrad-CAM', hirescam: 'HiResCAM', layercam: 'LayerCAM', eigencam: 'EigenCAM', ablationcam: 'Ablation-CAM', scorecam: 'Score-CAM',
};

/** Grad-CAM and its variants: the (mean) map over the image, each layer's beside it when there are several. */
const gradCamRows: Builder = rows(
  (e, ctx, shown, i) => {
    const [, h, w] = ctx.shape;
    const layers = m<string[]>(e, 'layers'), sizes = m<number[][]>(e, 'layerSizes');
    const multi = layers.length > 1;
    const camOverlay = (map: Float32Array) => overlay(shown, renderSequential(map, h, w, { colormap: 'turbo' }), 0.5);
    const cells: MontageCell[] = [{ image: camOverlay(e.tensors.cam ? slice(e.tensors.cam, i, h * w) : mapOf(e, ctx, i)), caption: multi ? `mean of ${layers.length} layers` : `${CAM_CAPTIONS[e.method]} ${layers[0]}` }];
    if (multi) layers.forEach((L, k) => cells.push({ image: camOverlay(slice(e.tensors.perLayer!, k * ctx.batch + i, h * w)), caption: `${L} ${sizes[k]!.join('x')}` }));
    if (e.tensors.signal) cells.push({ image: signalImage(ctx, e.tensors.signal, i), caption: 'guided Grad-CAM' });
    return cells;
  },
  // EigenCAM explains no class: its rows are captioned with the image's name
  (e, ctx, i) => (e.meta.classes ? classCaption(ctx, e, i) : name(ctx, i)),
);

/** PDA: per class the input, the signed map, its overlay and the top 5 %; the logit AD and the hidden layer as parts. */
const pda: Builder = (e, ctx) => {
  const [, h, w] = ctx.shape;
  const shown = shownImages(ctx)[0]!;
  const classFigure = (part: Explanation, suffix: string): Figure => {
    const what = m<string>(part, 'node') === 'prob' ? 'WE' : 'logit AD';
    const cells = m<number[]>(part, 'classes').flatMap((k, i) => {
      const map = mapOf(part, ctx, i);
      return [
        { image: shown, caption: `${name(ctx, 0)}: ${classLabel(ctx, k)} p=${m<number[]>(part, 'probs')[i]!.toFixed(3)}` },
        { image: renderSigned(map, h, w), caption: `${what}, max |${maxAbs(map).toPrecision(3)}|` },
        { image: overlay(shown, renderSigned(map, h, w, { transparent: true }), 0.9, { greyBase: true }), caption: 'overlay' },
        { image: renderMask(shown, topMask(map, 0.05)), caption: 'top 5% |relevance|' },
      ];
    });
    const title = `PDA ${what} ${m(part, 'sampling')} k=${m(part, 'window')} l=${m(part, 'padding')} S=${m(part, 'samples')} stride ${m(part, 'stride')} - ${ctx.model}`;
    return { suffix, cells, columns: 4, cellSize: Math.max(160, Math.min(256, h)), title };
  };
  const layerFigure = (part: Explanation, suffix: string): Figure => {
    // Each map on its own symmetric scale (its max |relevance| in the caption): weak maps stay visible.
    const order = m<number[]>(part, 'shown');
    const cells: MontageCell[] = [{ image: shown, caption: name(ctx, 0) }];
    for (const k of order) {
      const px = slice(part.tensors.pixels!, k, h * w);
      cells.push({ image: overlay(shown, renderSigned(px, h, w, { transparent: true }), 0.9, { greyBase: true }), caption: `map ${k} |${maxAbs(px).toPrecision(2)}|` });
    }
    m<number[] | undefined>(part, 'units')?.forEach((u, i) => cells.push({ image: renderSigned(slice(part.tensors.unitPixels!, i, h * w), h, w), caption: `unit ${u}` }));
    const title = `PDA ${m(part, 'layer')}: activation difference of each feature map's mean (top ${order.length} of ${m(part, 'maps')} by mean |relevance|)`;
    return { suffix, cells, columns: Math.min(6, cells.length), cellSize: Math.max(128, Math.min(224, h)), title };
  };
  return [classFigure(e, ''), ...Object.entries(e.parts ?? {}).map(([key, part]) => ('node' in part.meta ? classFigure(part, key) : layerFigure(part, key)))];
};

const etalon: Builder = (e, ctx) => {
  const [c, h, w] = ctx.shape;
  const values = m<number[]>(e, 'values');
  const cells: MontageCell[] = [{ image: tensorToImage(ctx.data, c, h, w, { normalise: true }), caption: name(ctx, 0) }];
  m<number[]>(e, 'neurons').forEach((p, q) => cells.push({ image: etalonImage(e.maps!.data, q, ctx.shape), caption: `${ctx.labels?.[p]?.split(',')[0] ?? `n${p}`} ${values[q]!.toFixed(2)}` }));
  return [{ suffix: '', cells, columns: Math.min(cells.length, 6), cellSize: Math.max(112, Math.min(224, h * 4)), title: `etalons of ${m(e, 'layer')} (${m(e, 'route')}) - ${ctx.model}` }];
};

/** The paper's Figure 11: rows the first test digit of each class, columns the etalons of output neurons 0–9. */
const etalonFigure11: Builder = (e, ctx) => {
  const rowsMeta = m<{ digit: number; index: number; logits: number[] }[]>(e, 'rows');
  const cells: MontageCell[] = [];
  rowsMeta.forEach((r, d) => {
    const best = r.logits.indexOf(Math.max(...r.logits));
    cells.push({ image: tensorToImage(slice(e.tensors.digits!, d, 784), 1, 28, 28, { normalise: true }), caption: `test #${r.index}` });
    for (let q = 0; q < 10; q++) cells.push({ image: etalonImage(e.maps!.data, d * 10 + q, ctx.shape), caption: `${q}: ${r.logits[q]!.toFixed(1)}${q === best ? ' *' : ''}` });
  });
  return [{
    suffix: '', cells, columns: 11, cellSize: 112, rowLabels: rowsMeta.map((r) => `digit ${r.digit}`),
    title: `Etalons of output neurons 0-9 (columns) for the first test digit of each class (rows) - ${ctx.model}; caption: neuron: logit`,
  }];
};

/** An optimised image in pixel colours (the preprocessing undone). */
export const pixels = (ctx: FigureContext, x: Float32Array) => {
  const [c, h, w] = ctx.shape;
  return tensorToImage(x, c, h, w, { mean: ctx.preprocess?.mean, scale: ctx.preprocess?.scale, bgr: ctx.preprocess?.bgr });
};

/** The rows y0..y0+hh and columns x0..x0+ww of an image. */
function crop(img: RGBAImage, [y0, x0, hh, ww]: [number, number, number, number]): RGBAImage {
  const out = createImage(ww, hh);
  for (let y = 0; y < hh; y++) out.data.set(img.data.subarray(((y0 + y) * img.width + x0) * 4, ((y0 + y) * img.width + x0 + ww) * 4), y * ww * 4);
  return out;
}

const maxout: Builder = (e, ctx) => {
  const [c, h, w] = ctx.shape;
  const kind = m<string>(e, 'kind'), last = m<number[]>(e, 'objective');
  const reached = m<(number | null)[] | undefined>(e, 'reached'); // --confidence: the steps each class took
  // a unit's image is shown as its receptive field (the rest of the image does not reach it)
  const at = m<[number, number] | undefined>(e, 'at'), field = m<[number, number, number, number] | undefined>(e, 'field');
  const cells = m<number[]>(e, 'targets').map((u, i) => {
    const image = pixels(ctx, slice(e.maps!, i, c * h * w));
    return {
      image: field ? crop(image, field) : image,
      caption: `${kind === 'class' ? (ctx.labels?.[u]?.split(',')[0] ?? `class ${u}`) : `${kind} ${u}${at ? ` @${at.join(',')}` : ''}`}: ${last[i]!.toFixed(2)}${reached ? (reached[i] === null ? ' (not reached)' : ` in ${reached[i]}`) : ''}`,
    };
  });
  const what = field ? ` (units' receptive fields, ${field[2]}x${field[3]} px)` : '';
  return [{ suffix: '', cells, columns: Math.min(8, cells.length), cellSize: Math.max(112, Math.min(224, h)), title: `maxout ${kind === 'class' ? 'logits' : m(e, 'layer')}${what}${e.meta.generator ? ` (DGN-AM: the code of ${m(e, 'generator')})` : ''} - ${ctx.model}` }];
};

const invert: Builder = (e, ctx) => {
  const [, h] = ctx.shape;
  const log = m<{ step: number; error: number }[]>(e, 'log').map((l) => [l.step, l.error]);
  const cells = [
    { image: pixels(ctx, ctx.data), caption: name(ctx, 0) },
    {
      image: pixels(ctx, e.maps!.data),
      caption: e.meta.decoder
        ? `decoder of ${m(e, 'layer')}: error ${m<number>(e, 'finalError').toFixed(4)}, ${(1000 * m<number>(e, 'seconds')).toFixed(0)} ms`
        : `from ${m(e, 'layer')}: error ${m<number>(e, 'finalError').toFixed(4)}`,
    },
    { image: plot(log, 'relative feature error', 'step'), caption: 'error curve' },
  ];
  return [
    { suffix: '', cells, columns: 3, cellSize: Math.max(160, Math.min(256, h)), title: `${e.meta.decoder ? 'UpconvNet ' : ''}inversion of ${m(e, 'layer')} - ${ctx.model}` },
    { suffix: 'curve', image: plot(log, 'relative feature error', 'step', 480, 320) },
  ];
};

/**
 * The symmetric colour scale of a pixel attribution map: the 99th percentile of |v| (at least a
 * hundredth of the largest). Per-pixel attributions (IG, input × gradient) have a few pixels far
 * above the rest, and a scale at the maximum would leave the picture white.
 */
export function attributionScale(map: ArrayLike<number>): number {
  const a = Float64Array.from(map, Math.abs).filter(Number.isFinite).sort();
  if (a.length === 0) return 1;
  const top = a[a.length - 1]!;
  return Math.max(a[Math.min(a.length - 1, Math.floor(0.99 * a.length))]!, top / 100) || 1;
}

/** A signed map (red for, blue against, white 0, symmetric scale at the 99th percentile of |v|) and its overlay on the grey input. */
const signedRows = (what: (e: Explanation, i: number) => string) =>
  rows((e, ctx, shown, i) => {
    const [, h, w] = ctx.shape;
    const map = mapOf(e, ctx, i);
    const scale = attributionScale(map);
    return [
      { image: renderSigned(map, h, w, { scale }), caption: what(e, i) },
      { image: overlay(shown, renderSigned(map, h, w, { transparent: true, scale }), 0.8, { greyBase: true }), caption: 'overlay' },
    ];
  });

/** The completeness gap of image i as a caption, e.g. "gap 0.4%". */
const gapText = (e: Explanation, i: number) => {
  const g = m<(number | null)[]>(e, 'completenessGap')[i];
  return g === null || g === undefined ? 'gap undefined' : `gap ${(100 * g).toFixed(g < 0.001 ? 3 : 1)}%`;
};

/** SmoothGrad: a signed map when the reduced maps take both signs (the mean of IG or input × gradient), else a heat map. */
const smoothRows: Builder = rows((e, ctx, shown, i) => {
  const [, h, w] = ctx.shape;
  const map = mapOf(e, ctx, i);
  const signed = map.some((v) => v < 0);
  const what = `${m(e, 'variant')} of ${m(e, 'base')}`;
  const scale = attributionScale(map);
  return [
    { image: signed ? renderSigned(map, h, w, { scale }) : renderSequential(map, h, w), caption: what },
    { image: signed ? overlay(shown, renderSigned(map, h, w, { transparent: true, scale }), 0.8, { greyBase: true }) : overlay(shown, renderSequential(map, h, w, { transparent: true }), 0.8), caption: 'overlay' },
  ];
});

/** Figure builders keyed by method name. */
export const FIGURES: Record<string, Builder> = {
  saliency: inputSignal('saliency', (e, ctx, i) => renderSequential(mapOf(e, ctx, i), ctx.shape[1], ctx.shape[2])),
  'guided-backprop': inputSignal('guided-backprop', (e, ctx, i) => signalImage(ctx, e.tensors.signal!, i)),
  deconvnet: rows(
    (e, ctx, _shown, i) => [
      { image: signalImage(ctx, e.tensors.signal!, i), caption: `${m(e, 'layer')} map ${m<number[]>(e, 'units')[i]}${m(e, 'top') ? ' (top)' : ''}` },
      { image: renderSequential(mapOf(e, ctx, i), ctx.shape[1], ctx.shape[2]), caption: 'max |projection|' },
    ],
    (_e, ctx, i) => name(ctx, i),
  ),
  gradcam: gradCamRows,
  'guided-gradcam': gradCamRows,
  gradcampp: gradCamRows,
  xgradcam: gradCamRows,
  hirescam: gradCamRows,
  layercam: gradCamRows,
  eigencam: gradCamRows,
  ablationcam: gradCamRows,
  scorecam: gradCamRows,
  occlusion: rows((e, ctx, shown, i) => {
    const [, h, w] = ctx.shape;
    const map = mapOf(e, ctx, i);
    return [
      { image: renderSigned(map, h, w), caption: `drop of p, patch ${m(e, 'patch')} stride ${m(e, 'stride')}` },
      { image: overlay(shown, renderSigned(map, h, w, { transparent: true }), 0.8, { greyBase: true }), caption: 'overlay' },
    ];
  }),
  rise: rows((e, ctx, shown, i) => {
    const [, h, w] = ctx.shape;
    const map = mapOf(e, ctx, i);
    return [
      { image: renderSequential(map, h, w), caption: `RISE ${m(e, 'masks')} masks, ${m(e, 'cells')}x${m(e, 'cells')} cells, p ${m(e, 'p')}` },
      { image: overlay(shown, renderSequential(map, h, w, { colormap: 'turbo' }), 0.5), caption: 'overlay' },
    ];
  }),
  ig: signedRows((e, i) => `IG ${gapText(e, i)}`), // the rule, steps and baseline are in the JSON
  'input-x-gradient': signedRows(() => 'input x gradient'),
  lrp: signedRows((e) => `LRP ${m(e, 'rule')}`),
  smoothgrad: smoothRows,
  pda,
  etalon,
  'etalon-figure11': etalonFigure11,
  maxout,
  invert,
  style: (e, ctx) => {
    const [c, h, w] = ctx.shape;
    const per = c * h * w;
    const r = { log: m<StyleResult['log']>(e, 'log'), contentLayer: m<string>(e, 'contentLayer'), styleLayers: m<string[]>(e, 'styleLayers'), seconds: m<number>(e, 'seconds') };
    const p = m<{ alpha: number; beta: number; init: string }>(e, 'parameters');
    return [
      { suffix: '', image: styleFigure(pixels(ctx, slice(ctx.data, 0, per)), pixels(ctx, slice(ctx.data, 1, per)), pixels(ctx, e.maps!.data), r, { model: ctx.model ?? 'model', alpha: p.alpha, beta: p.beta, init: p.init }) },
      { suffix: 'curve', image: styleCurve(r) },
    ];
  },
  dissect: (e, ctx) => {
    const d = dissectionOf(e);
    const shown = shownImages(ctx);
    return [
      { suffix: '', image: bestUnitsSheet(d, d.layers[0]!, (s) => shown[s]!) },
      { suffix: 'summary', image: dissectionSummary(d, ctx.model ?? 'model') },
    ];
  },
  net2vec: (e, ctx) => [{ suffix: '', image: net2vecFigure(net2vecOf(e), ctx.model) }],
  attack: (e, ctx) => [{ suffix: '', image: attackFigure(attackOf(e), [], ctx, undefined, (m<{ eps: number }>(e, 'parameters')).eps, (m<{ algorithm: string }>(e, 'parameters')).algorithm) }],
};

/** The figures of an explanation: its main montage first, then its parts' and extras. */
export function figures(e: Explanation, ctx: FigureContext): Figure[] {
  const build = FIGURES[e.method];
  if (!build) throw new Error(`no figures for method "${e.method}"`);
  return build(e, ctx);
}
