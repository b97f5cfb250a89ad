// An Explanation as grid tiles for the browser app: one picture per (image, layer or class,
// method) at the input's full resolution, with the map values behind it for the hover readout.
// Figures (render/figures.ts) are captioned montages for files; tiles are what an interactive
// grid zooms, pans and probes. No Node modules.
import type { RGBAImage } from '../loaders/image-formats.ts';
import type { Explanation } from '../explainers/explanation.ts';
import { renderSequential, renderSigned, overlay, renderMask, tensorToImage } from './render.ts';
import { dissectionOf, upsampleMap } from '../explainers/dissect.ts';
import { net2vecOf } from '../explainers/net2vec.ts';
import { net2vecFigure } from './dissect.ts';
import { shownImages, etalonImage, signalImage, pixels, slice, name, classLabel, CAM_CAPTIONS, attributionScale, type FigureContext } from './figures.ts';

export interface Tile {
  id: string;
  /** what the tile shows, e.g. "Grad-CAM fire9 · bull mastiff (243)" */
  label: string;
  /** the row it belongs to (an image and its class, or the method for MaxOut) */
  group: string;
  image: RGBAImage;
  /** the map behind the picture (H×W), for reading values under the cursor */
  values?: { width: number; height: number; data: Float32Array };
}

const meta = <T>(e: Explanation, k: string) => e.meta[k] as T;

/** The tiles of an explanation; `key` keeps ids unique across explanations shown together. */
export function explanationTiles(e: Explanation, ctx: FigureContext, key = e.method): Tile[] {
  const [c, h, w] = ctx.shape;
  const values = (data: Float32Array) => ({ width: w, height: h, data: data.slice() });
  const tiles: Tile[] = [];
  const add = (id: string, label: string, group: string, image: RGBAImage, map?: Float32Array) =>
    tiles.push({ id: `${key}/${id}`, label, group, image, values: map && values(map) });
  const perImage = (i: number) => {
    const classes = meta<number[] | undefined>(e, 'classes');
    const probs = meta<number[] | undefined>(e, 'probs');
    return classes ? `${name(ctx, i)} · ${classLabel(ctx, classes[i]!)}${probs ? ` p=${probs[i]!.toFixed(3)}` : ''}` : name(ctx, i);
  };

  switch (e.method) {
    case 'saliency':
    case 'guided-backprop':
    case 'deconvnet': {
      const shown = shownImages(ctx);
      shown.forEach((img, i) => {
        const map = slice(e.maps!, i, h * w);
        const what = e.method === 'deconvnet' ? `DeconvNet ${meta(e, 'layer')} map ${meta<number[]>(e, 'units')[i]}` : e.method === 'saliency' ? 'saliency' : 'guided backprop';
        const picture = e.method === 'saliency' ? overlay(img, renderSequential(map, h, w, { transparent: true }), 0.8) : signalImage(ctx, e.tensors.signal!, i);
        add(`${i}`, what, perImage(i), picture, map);
      });
      break;
    }
    case 'gradcam':
    case 'guided-gradcam':
    case 'gradcampp':
    case 'xgradcam':
    case 'hirescam':
    case 'layercam':
    case 'eigencam':
    case 'ablationcam':
    case 'scorecam': {
      const shown = shownImages(ctx);
      const layers = meta<string[]>(e, 'layers');
      const what = CAM_CAPTIONS[e.method];
      const cam = (img: RGBAImage, map: Float32Array) => overlay(img, renderSequential(map, h, w, { colormap: 'turbo' }), 0.5);
      shown.forEach((img, i) => {
        const mean = e.tensors.cam ? slice(e.tensors.cam, i, h * w) : slice(e.maps!, i, h * w);
        if (layers.length > 1) {
          layers.forEach((L, k) => add(`${i}/${L}`, `${what} ${L}`, perImage(i), cam(img, slice(e.tensors.perLayer!, k * ctx.batch + i, h * w)), slice(e.tensors.perLayer!, k * ctx.batch + i, h * w)));
          add(`${i}/mean`, `${what} mean of ${layers.join(' + ')}`, perImage(i), cam(img, mean), mean);
        } else add(`${i}/${layers[0]}`, `${what} ${layers[0]}`, perImage(i), cam(img, mean), mean);
        if (e.tensors.signal) add(`${i}/guided`, 'guided Grad-CAM', perImage(i), signalImage(ctx, e.tensors.signal, i), slice(e.maps!, i, h * w));
      });
      break;
    }
    case 'ig':
    case 'input-x-gradient':
    case 'lrp':
    case 'smoothgrad': {
      shownImages(ctx).forEach((img, i) => {
        const map = slice(e.maps!, i, h * w);
        const signed = e.method !== 'smoothgrad' || map.some((v) => v < 0);
        const what = e.method === 'ig' ? `Integrated Gradients (${meta(e, 'rule')}, ${meta(e, 'steps')} steps, from ${meta(e, 'baseline')})`
          : e.method === 'lrp' ? `LRP (${meta(e, 'rule')})` : e.method === 'smoothgrad' ? `${meta(e, 'variant')} of ${meta(e, 'base')} (${meta(e, 'samples')} samples, noise ${meta(e, 'noise')})` : 'input × gradient';
        const picture = signed ? overlay(img, renderSigned(map, h, w, { transparent: true, scale: attributionScale(map) }), 0.8, { greyBase: true }) : overlay(img, renderSequential(map, h, w, { transparent: true }), 0.8);
        add(`${i}`, what, perImage(i), picture, map);
      });
      break;
    }
    case 'occlusion': {
      shownImages(ctx).forEach((img, i) => {
        const map = slice(e.maps!, i, h * w);
        add(`${i}`, `occlusion: drop of p, patch ${meta(e, 'patch')} stride ${meta(e, 'stride')}`, perImage(i), overlay(img, renderSigned(map, h, w, { transparent: true }), 0.8, { greyBase: true }), map);
      });
      break;
    }
    case 'rise': {
      shownImages(ctx).forEach((img, i) => {
        const map = slice(e.maps!, i, h * w);
        add(`${i}`, `RISE: ${meta(e, 'masks')} masks, ${meta(e, 'cells')}x${meta(e, 'cells')} cells, p ${meta(e, 'p')}`, perImage(i), overlay(img, renderSequential(map, h, w, { colormap: 'turbo' }), 0.5), map);
      });
      break;
    }
    case 'pda': {
      const img = shownImages(ctx)[0]!;
      for (const [k, part] of [['', e] as const, ...Object.entries(e.parts ?? {})]) {
        if (!('node' in part.meta)) continue; // the hidden layer's part: a figure, not an image-sized map per class
        const what = meta<string>(part, 'node') === 'prob' ? 'PDA weight of evidence' : 'PDA logit AD';
        meta<number[]>(part, 'classes').forEach((cls, i) => {
          const map = slice(part.maps!, i, h * w);
          add(`${k}/${i}`, `${what}, window ${meta(part, 'window')}`, `${name(ctx, 0)} · ${classLabel(ctx, cls)}`, overlay(img, renderSigned(map, h, w, { transparent: true }), 0.9, { greyBase: true }), map);
        });
      }
      break;
    }
    case 'etalon': {
      const vals = meta<number[]>(e, 'values');
      meta<number[]>(e, 'neurons').forEach((p, q) => {
        const sum = new Float32Array(h * w);
        for (let k = 0; k < c; k++) for (let j = 0; j < h * w; j++) sum[j] += e.maps!.data[q * c * h * w + k * h * w + j]!;
        add(`${q}`, `etalon ${ctx.labels?.[p]?.split(',')[0] ?? `neuron ${p}`}: ${vals[q]!.toFixed(2)}`, `${name(ctx, 0)} · ${meta(e, 'layer')}`, etalonImage(e.maps!.data, q, ctx.shape), sum);
      });
      break;
    }
    case 'maxout': {
      const kind = meta<string>(e, 'kind'), obj = meta<number[]>(e, 'objective');
      meta<number[]>(e, 'targets').forEach((u, i) => {
        const target = kind === 'class' ? (ctx.labels?.[u]?.split(',')[0] ?? `class ${u}`) : `${kind} ${u}`;
        add(`${i}`, Number.isFinite(obj[i]) ? `${target}: ${obj[i]!.toFixed(2)}` : target, `MaxOut ${kind === 'class' ? 'logits' : meta(e, 'layer')}`, pixels(ctx, slice(e.maps!, i, c * h * w)));
      });
      break;
    }
    case 'invert': {
      const err = meta<number>(e, 'finalError');
      add('0', `inversion of ${meta(e, 'layer')}${Number.isFinite(err) ? `: error ${err.toFixed(4)}` : ''}`, name(ctx, 0), pixels(ctx, e.maps!.data));
      break;
    }
    case 'dissect': {
      // the layer's best units (highest IoU, at most 8): each of their top images where the unit's
      // thresholded map is on, its upsampled map behind the picture for the readout
      const d = dissectionOf(e);
      const shown = shownImages(ctx);
      for (const layer of d.layers) {
        const [, lh, lw] = layer.shape;
        const best = layer.units.filter((u) => u.id !== 0).sort((a, b) => b.iou - a.iou).slice(0, 8);
        for (const u of best)
          u.top.forEach((s, r) => {
            const map = layer.topMaps.subarray((u.unit * d.top + r) * lh * lw, (u.unit * d.top + r + 1) * lh * lw);
            const up = upsampleMap(map, lh, lw, h, w);
            const mask = up.map((v) => (v > u.threshold ? 1 : 0));
            add(`${layer.layer}/${u.unit}/${r}`, `${layer.layer} unit ${u.unit} · ${name(ctx, s)}`, `${layer.layer} unit ${u.unit}: ${u.concept} (${u.category}) IoU ${u.iou.toFixed(3)}`, renderMask(shown[s]!, mask, { dim: 0.35 }), up);
          });
      }
      break;
    }
    case 'style': {
      // the restyled image (maps: C×H×W in the network's units, the content image's preprocessing)
      const [sc, sh, sw] = e.maps!.shape as [number, number, number];
      const pp = ctx.preprocess;
      add('result', `style transfer of ${name(ctx, 0)}`, `${name(ctx, 0)} in the style of ${name(ctx, 1)}`, tensorToImage(e.maps!.data, sc, sh, sw, { mean: pp?.mean, scale: pp?.scale, bgr: pp?.bgr }));
      break;
    }
    case 'attack': {
      // per image: the adversarial image, and the perturbation |x' − x| (its values for the readout)
      const adv = shownImages({ ...ctx, data: e.tensors.adversarial!.data as Float32Array });
      const classes = meta<number[]>(e, 'classes'), probs = meta<number[]>(e, 'probs');
      for (let i = 0; i < ctx.batch; i++) {
        const group = `${name(ctx, i)} · adversarial: ${classLabel(ctx, classes[i]!)} p=${probs[i]!.toFixed(3)}`;
        add(`${i}/adversarial`, 'adversarial image', group, adv[i]!);
        const map = slice(e.maps!, i, h * w) as Float32Array;
        add(`${i}/perturbation`, "|x' - x|", group, renderSequential(map, h, w), map);
      }
      break;
    }
    case 'net2vec': {
      // one tile: the held-out IoU bars and the similarity table (a figure, not a per-pixel map)
      add('figure', `Net2Vec ${meta<string>(e, 'layer')}`, 'Net2Vec', net2vecFigure(net2vecOf(e), ctx.model));
      break;
    }
    default:
      throw new Error(`no tiles for method "${e.method}"`);
  }
  return tiles;
}
