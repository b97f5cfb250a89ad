// Prediction difference analysis on the command line:
//   loupe patch-model --model M [--weights W] [preprocessing flags] --images DIR_OR_FILES ...
//                     --window K [--padding L] [--patches 25000] [--store 64] [--seed S] --out FILE
//   loupe explain --method pda [--sampling conditional|marginal] --model M [--weights W]
//                 (--image I | --input X.npy) [--class C[,C2...] | --top N] [--node prob|logit|both]
//                 [--layer L [--unit U,...] [--maps 16]] --window K [--padding L] [--samples S]
//                 [--stride T] --patch-model FILE [--seed S] [--laplace-n N] --out PREFIX
// Outputs: PREFIX.png (per class: input, signed map, overlay on grey, top-5 % mask), PREFIX.npy
// (classes × H × W), PREFIX.json (--node both: the WE there, the logit AD in PREFIX-logit.*); with --layer also PREFIX-LAYER.png (a grid of the most
// relevant feature maps), PREFIX-LAYER.npy (maps × window rows × window cols: the per-window
// activation differences, far smaller than maps × H × W) and PREFIX-LAYER.json.
import { basename, extname, join } from 'node:path';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Args } from './args.ts';
import { createNodeEngine } from './gpu-node.ts';
import { Model } from '../engine/runner.ts';
import { ArgumentError } from '../engine/errors.ts';
import type { Preprocess } from '../engine/ir.ts';
import { loadModelFile, readInputs, readLabels, readBytes, preprocessFromArgs, MODEL_OPTIONS, INPUT_OPTIONS, INPUT_FLAGS } from './inputs.ts';
import { decodeImage } from '../loaders/image.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { readNpy } from '../loaders/npy.ts';
import { readIdx, isGzip } from '../loaders/idx.ts';
import { buildPatchModel, encodePatchModel, decodePatchModel, patchSize } from '../explainers/patch-model.ts';
import { predictionDifference, type Sampling } from '../explainers/pda.ts';
import { renderSigned, overlay, topMask, renderMask, montage, tensorToImage, maxAbs, type MontageCell } from '../render/render.ts';
import { writeOutputs, writeFileAtomic } from './output.ts';
import { progressBar } from './progress.ts';

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.jfif']);

/** Image files of a folder and its subfolders (sorted), or the file itself. */
function listImages(path: string): string[] {
  if (!existsSync(path)) throw new ArgumentError(`${path}: not found`);
  if (statSync(path).isDirectory())
    return readdirSync(path)
      .sort()
      .flatMap((f) => {
        const p = join(path, f);
        if (statSync(p).isDirectory()) return listImages(p);
        return IMAGE_EXT.has(extname(f).toLowerCase()) || f.endsWith('.npy') || /ubyte(\.gz)?$/.test(f) ? [p] : [];
      });
  return [path];
}

/** Reads --images (folders, image files, N×C×H×W .npy arrays, IDX(.gz) image files) into preprocessed C×H×W images. */
function readImageSet(paths: string[], pp: Preprocess & { channels: number }, c: number, h: number, w: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (const file of paths.flatMap(listImages)) {
    const name = basename(file);
    if (name.endsWith('.npy')) {
      const a = readNpy(readBytes(file, 'array'), name);
      const s = a.shape.length === 3 ? [1, ...a.shape] : a.shape;
      if (s.length !== 4 || s[1] !== c || s[2] !== h || s[3] !== w) throw new ArgumentError(`${file}: array of shape [${a.shape.join(', ')}] is not N×${c}×${h}×${w}`);
      for (let i = 0; i < s[0]!; i++) out.push(Float32Array.from(a.data.subarray(i * c * h * w, (i + 1) * c * h * w)));
    } else if (/ubyte(\.gz)?$/.test(name)) {
      let bytes = readBytes(file, 'IDX file');
      if (isGzip(bytes)) bytes = new Uint8Array(gunzipSync(bytes));
      const idx = readIdx(bytes, name);
      if (idx.dims.length !== 3) throw new ArgumentError(`${file}: an IDX image file has 3 dimensions (N, H, W), this one [${idx.dims.join(', ')}]`);
      const [n, ih, iw] = idx.dims as [number, number, number];
      for (let i = 0; i < n; i++) {
        const rgba = new Uint8Array(ih * iw * 4);
        for (let q = 0; q < ih * iw; q++) {
          const v = idx.data[i * ih * iw + q]!;
          rgba[4 * q] = rgba[4 * q + 1] = rgba[4 * q + 2] = v;
          rgba[4 * q + 3] = 255;
        }
        out.push(preprocessImage({ width: iw, height: ih, data: rgba }, pp));
      }
    } else out.push(preprocessImage(decodeImage(readBytes(file, 'image'), name), pp));
  }
  if (out.length === 0) throw new ArgumentError(`patch-model: no images found in ${paths.join(', ')}`);
  return out;
}

export async function patchModelCommand(argv: string[]): Promise<number> {
  const args = new Args(argv, { values: [...MODEL_OPTIONS, 'size', 'mean', 'scale', 'images', 'window', 'padding', 'patches', 'store', 'seed', 'out'], flags: INPUT_FLAGS, repeatable: ['images'] }, 'patch-model');
  const modelPath = args.need('model', 'patch-model');
  const out = args.need('out', 'patch-model');
  const window = args.int('window', 0, 1);
  if (window === 0) throw new ArgumentError('patch-model: --window is required');
  const padding = args.int('padding', 2, 0);
  const patches = args.int('patches', 25000, 0);
  const store = args.int('store', 64, 0);
  const seed = args.int('seed', 0, 0, 2 ** 32 - 1);
  // `--images a b c` (a shell glob) and repeated --images both work: the paths after --images are positional.
  const images = [...args.all('images'), ...args.positional];
  if (images.length === 0) throw new ArgumentError('patch-model: --images DIR_OR_FILES is required');
  const g = loadModelFile(modelPath, args.get('weights'));
  const pp = preprocessFromArgs(args, g);
  const [, c, h, w] = g.input.shape as [number, number, number, number];
  if (pp.size![0] !== h || pp.size![1] !== w) throw new ArgumentError(`patch-model: --size ${pp.size!.join('x')} does not match the model's input ${h}x${w}`);
  if (window > Math.min(h, w)) throw new ArgumentError(`patch-model: window ${window} is larger than the model's input (${h}x${w})`);
  if (patches > 0 && patchSize(window, padding) > Math.min(h, w)) throw new ArgumentError(`patch-model: the patch (${window} + 2·${padding} = ${patchSize(window, padding)}) is larger than the model's input (${h}x${w})`);
  const t0 = performance.now();
  const set = readImageSet(images, pp, c, h, w);
  console.error(`patch-model: ${set.length} images of ${c}×${h}×${w}`);
  const pm = buildPatchModel(set, {
    window, padding, channels: c, height: h, width: w, patches, store, seed, model: basename(modelPath),
    preprocess: { mean: pp.mean, scale: pp.scale, bgr: pp.bgr, grayscale: pp.grayscale, size: pp.size },
    onProgress: (s) => console.error(`patch-model: ${s} (${((performance.now() - t0) / 1000).toFixed(1)}s)`),
  });
  writeFileAtomic(out, encodePatchModel(pm));
  const ridge = pm.factors ? Math.max(...pm.factors.ridge) : 0;
  console.error(`patch-model: done in ${((performance.now() - t0) / 1000).toFixed(1)}s${ridge > 0 ? `; a ridge of up to ${ridge.toExponential(2)} was added to ill-conditioned covariances` : ''}`);
  console.log(out);
  return 0;
}

function parseClasses(s: string, labels: string[] | undefined): number[] {
  return s.split(',').map((t) => t.trim()).filter((t) => t).map((t) => {
    if (/^\d+$/.test(t)) return Number(t);
    if (labels) {
      const i = labels.findIndex((l) => l.toLowerCase() === t.toLowerCase() || l.toLowerCase().split(',').map((x) => x.trim()).includes(t.toLowerCase()));
      if (i >= 0) return i;
      throw new ArgumentError(`--class "${t}" matches no label in the labels file`);
    }
    throw new ArgumentError(`--class must be class indices (or labels, with --labels), got "${t}"`);
  });
}

const safeName = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '') || 'layer';

export async function pdaExplain(argv: string[]): Promise<number> {
  const args = new Args(
    argv,
    {
      values: [...MODEL_OPTIONS, ...INPUT_OPTIONS, 'method', 'sampling', 'class', 'top', 'node', 'layer', 'unit', 'maps', 'window', 'padding', 'samples', 'stride', 'patch-model', 'seed', 'laplace-n', 'batch', 'out'],
      flags: [...INPUT_FLAGS, 'full'],
    },
    'explain --method pda',
  );
  const cmd = 'explain --method pda';
  const out = args.need('out', cmd);
  const modelPath = args.need('model', cmd);
  const sampling = (args.get('sampling') ?? 'conditional') as Sampling;
  if (sampling !== 'conditional' && sampling !== 'marginal') throw new ArgumentError(`--sampling must be conditional or marginal, got "${sampling}"`);
  const node = args.get('node') ?? 'prob';
  if (node !== 'prob' && node !== 'logit' && node !== 'both') throw new ArgumentError(`--node must be prob (weight of evidence), logit (activation difference) or both, got "${node}"`);
  const pmPath = args.need('patch-model', cmd);
  const window = args.int('window', 10, 1);
  const stride = args.int('stride', 1, 1);
  const samples = args.int('samples', 10, 1);
  const seed = args.int('seed', 0, 0, 2 ** 32 - 1);
  const laplaceN = args.num('laplace-n');
  const nMaps = args.int('maps', 16, 1);
  if (args.get('class') !== undefined && args.get('top') !== undefined) throw new ArgumentError('give --class or --top, not both');
  const top = args.int('top', 1, 1);
  const g = loadModelFile(modelPath, args.get('weights'));
  const labels = readLabels(args.get('labels'));
  const classes = args.get('class') !== undefined ? parseClasses(args.get('class')!, labels) : undefined;
  const units = args.get('unit') !== undefined ? args.numbers('unit') : undefined;
  const [, c, h, w] = g.input.shape as [number, number, number, number];
  if (window > Math.min(h, w)) throw new ArgumentError(`window ${window} is larger than the image (${h}x${w})`);
  const input = readInputs(args, g);
  if (input.batch !== 1) throw new ArgumentError('explain --method pda explains one image at a time (give one --image)');
  const pp = args.get('input') ? undefined : preprocessFromArgs(args, g);
  const pm = decodePatchModel(readBytes(pmPath, 'patch model'), basename(pmPath));
  pm.source = basename(pmPath);
  const padding = args.get('padding') !== undefined ? args.int('padding', 2, 0) : undefined;
  if (sampling === 'conditional' && padding !== undefined && padding !== pm.padding) throw new ArgumentError(`${basename(pmPath)}: built for padding ${pm.padding}, but --padding is ${padding}`);
  if (pp && pm.preprocess) {
    const { checkPatchModel } = await import('../explainers/patch-model.ts');
    checkPatchModel(pm, { sampling, window, channels: c, height: h, width: w, preprocess: pp });
  }

  const engine = await createNodeEngine();
  const model = new Model(engine, g);
  const layer = args.get('layer');
  if (layer !== undefined) model.resolve(layer);
  const rows = Math.ceil((h - window) / stride) + 1, cols = Math.ceil((w - window) / stride) + 1;
  const bar = progressBar(`pda ${sampling} K=${window} S=${samples}`, rows * cols);
  const t0 = performance.now();
  const r = await predictionDifference(model, input.data, {
    sampling, patchModel: pm, window, stride, samples, seed, classes, top, laplaceN, layer, units,
    windowsPerBatch: args.get('batch') !== undefined ? args.int('batch', 1, 1) : undefined, onProgress: bar.update,
    incremental: !args.flag('full'),
  });
  bar.done();
  const seconds = (performance.now() - t0) / 1000;

  const shown = input.images ? tensorToImage(input.data, c, h, w, { mean: pp?.mean, scale: pp?.scale, bgr: pp?.bgr }) : tensorToImage(input.data, c, h, w, { normalise: true });
  const label = (k: number) => (labels?.[k] ? `${labels[k]!.split(',')[0]} (${k})` : `class ${k}`);
  const common: Record<string, unknown> = {
    model: basename(modelPath), method: 'pda', inputs: input.names, sampling, window, padding: pm.padding, stride, samples, seed,
    patchModel: basename(pmPath), patchModelPatches: pm.patches, laplaceN: r.laplaceN, numClasses: r.numClasses,
    classes: r.classes, labels: r.classes.map((k) => labels?.[k]), probs: r.probs, logits: r.logits,
    windows: r.grid.count, windowGrid: [r.grid.rows, r.grid.cols], forwardImages: r.forwardImages, seconds: Number(seconds.toFixed(2)),
    incremental: r.incremental, ...(r.macFraction !== undefined ? { macFraction: Number(r.macFraction.toFixed(4)) } : {}),
  };
  const classOutputs = (prefix: string, which: 'prob' | 'logit'): string[] => {
    const maps = which === 'prob' ? r.we : r.logitAD;
    const what = which === 'prob' ? 'WE' : 'logit AD';
    const cells: MontageCell[] = [];
    r.classes.forEach((k, i) => {
      const m = maps.subarray(i * h * w, (i + 1) * h * w);
      cells.push({ image: shown, caption: `${input.names[0]}: ${label(k)} p=${r.probs[i]!.toFixed(3)}` });
      cells.push({ image: renderSigned(m, h, w), caption: `${what}, max |${maxAbs(m).toPrecision(3)}|` });
      cells.push({ image: overlay(shown, renderSigned(m, h, w, { transparent: true }), 0.9, { greyBase: true }), caption: 'overlay' });
      cells.push({ image: renderMask(shown, topMask(m, 0.05)), caption: 'top 5% |relevance|' });
    });
    const title = `PDA ${what} ${sampling} k=${window} l=${pm.padding} S=${samples} stride ${stride} - ${basename(modelPath)}`;
    const png = montage(cells, { columns: 4, cellSize: Math.max(160, Math.min(256, h)), title });
    const meta = {
      ...common, node: which,
      stored: which === 'prob'
        ? 'per class: weight of evidence log2 odds p(c|x) − log2 odds mean_s p(c|x with window resampled), Laplace-corrected p ← (pN+1)/(N+K), each pixel the mean over the windows containing it (red = for, blue = against)'
        : 'per class: activation difference logit(x) − mean_s logit(x with window resampled), each pixel the mean over the windows containing it',
      shape: [r.classes.length, h, w],
      maxAbs: r.classes.map((_, i) => maxAbs(maps.subarray(i * h * w, (i + 1) * h * w))),
    };
    return writeOutputs(prefix, { png, npy: { shape: [r.classes.length, h, w], data: maps }, meta });
  };
  const written = classOutputs(out, node === 'logit' ? 'logit' : 'prob');
  if (node === 'both') written.push(...classOutputs(`${out}-logit`, 'logit'));
  if (r.layer) {
    const L = r.layer;
    const order = Array.from(L.strength, (s, i) => ({ s, i })).sort((a, b) => b.s - a.s || a.i - b.i).slice(0, nMaps).map((e) => e.i);
    // Each map on its own symmetric scale (its max |relevance| in the caption): weak maps stay visible.
    const lcells: MontageCell[] = [{ image: shown, caption: input.names[0] }];
    for (const m of order) {
      const px = L.pixels.subarray(m * h * w, (m + 1) * h * w);
      lcells.push({ image: overlay(shown, renderSigned(px, h, w, { transparent: true }), 0.9, { greyBase: true }), caption: `map ${m} |${maxAbs(px).toPrecision(2)}|` });
    }
    if (L.units) L.units.indices.forEach((u, i) => lcells.push({ image: renderSigned(L.units!.pixels.subarray(i * h * w, (i + 1) * h * w), h, w), caption: `unit ${u}` }));
    const lpng = montage(lcells, { columns: Math.min(6, lcells.length), cellSize: Math.max(128, Math.min(224, h)), title: `PDA ${L.name}: activation difference of each feature map's mean (top ${order.length} of ${L.maps} by mean |relevance|)` });
    const { rows: gr, cols: gc } = r.grid;
    const lmeta = {
      model: basename(modelPath), method: 'pda', layer: L.name, value: L.value, layerShape: L.shape, maps: L.maps, sampling, window, stride, samples, seed,
      shown: order, strength: L.strength, cleanMapMeans: L.clean, units: L.units?.indices,
      stored: 'per feature map and window: mean over the map\'s units of z(x) − mean_s z(x with the window resampled); shape maps × rows × cols, window (r, c) at y0 = min(r·stride, H−window), x0 = min(c·stride, W−window); the PNG shows each pixel\'s mean over the windows containing it',
      shape: [L.maps, gr, gc], windowGrid: [gr, gc], imageSize: [h, w],
    };
    written.push(...writeOutputs(`${out}-${safeName(L.name)}`, { png: lpng, npy: { shape: [L.maps, gr, gc], data: L.windowAD }, meta: lmeta }));
  }
  for (const f of written) console.log(f);
  const how = r.incremental ? `incremental, ${(100 * (r.macFraction ?? 1)).toFixed(0)}% of a whole pass's multiply-adds per image` : 'whole images';
  console.error(`pda: ${r.grid.count} windows × ${samples} samples = ${r.forwardImages - 1} images in ${seconds.toFixed(1)}s (${((r.forwardImages - 1) / seconds).toFixed(1)} images/s, ${how})`);
  model.destroy();
  return 0;
}
