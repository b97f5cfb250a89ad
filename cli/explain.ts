// `loupe explain --method ...`: runs an explainer on a batch and writes PREFIX.png (a captioned
// grid: input, heatmap, overlay, and per-layer maps for multi-layer Grad-CAM), PREFIX.npy (H×W,
// or N×H×W for a batch) and PREFIX.json (what was computed and with which parameters).
import { basename } from 'node:path';
import { Args } from './args.ts';
import { createNodeEngine } from './gpu-node.ts';
import { Model } from '../engine/runner.ts';
import { ArgumentError } from '../engine/errors.ts';
import { loadModelFile, readInputs, readLabels, MODEL_OPTIONS, INPUT_OPTIONS, INPUT_FLAGS, preprocessFromArgs } from './inputs.ts';
import * as X from '../explainers/gradients.ts';
import { renderSigned, renderSequential, overlay, montage, tensorToImage } from '../render/render.ts';
import type { RGBAImage } from '../loaders/image.ts';
import { writeOutputs } from './output.ts';
import { progressBar } from './progress.ts';

const METHODS = ['saliency', 'deconvnet', 'guided-backprop', 'gradcam', 'guided-gradcam', 'occlusion'] as const;
type Method = (typeof METHODS)[number];

export async function explain(argv: string[]): Promise<number> {
  if (argv.some((a, i) => a === '--method=pda' || (a === '--method' && argv[i + 1] === 'pda'))) {
    const { pdaExplain } = await import('./pda.ts');
    return await pdaExplain(argv);
  }
  const args = new Args(
    argv,
    { values: [...MODEL_OPTIONS, ...INPUT_OPTIONS, 'method', 'class', 'layer', 'unit', 'out', 'patch', 'stride'], flags: [...INPUT_FLAGS, 'top', 'full'], repeatable: ['image'] },
    'explain',
  );
  const method = args.need('method', 'explain') as Method;
  if (!METHODS.includes(method)) throw new ArgumentError(`explain: unknown method "${method}"; methods are ${METHODS.join(', ')}, pda`);
  const out = args.need('out', 'explain');
  const modelPath = args.need('model', 'explain');
  const g = loadModelFile(modelPath, args.get('weights'));
  const labels = readLabels(args.get('labels'));
  const input = readInputs(args, g);
  const engine = await createNodeEngine();
  const model = new Model(engine, g);
  const cls = args.get('class');
  const classes = cls === undefined ? undefined : [parseClass(cls, labels)];
  const layers = (args.get('layer') ?? '').split(',').filter((s) => s);
  for (const l of layers) model.resolve(l); // unknown layer → clear error before any work
  const unit = args.get('unit') === undefined ? undefined : args.int('unit', 0, 0);
  const [, c, h, w] = g.input.shape as [number, number, number, number];
  const pp = args.get('input') ? undefined : preprocessFromArgs(args, g);
  const shown = Array.from({ length: input.batch }, (_, i) =>
    input.images ? tensorToImage(input.data.subarray(i * c * h * w, (i + 1) * c * h * w), c, h, w, { mean: pp?.mean, scale: pp?.scale, bgr: pp?.bgr }) : tensorToImage(input.data.subarray(i * c * h * w, (i + 1) * c * h * w), c, h, w, { normalise: true }),
  );
  const label = (k: number) => (labels?.[k] ? `${labels[k]!.split(',')[0]} (${k})` : `class ${k}`);
  const meta: Record<string, unknown> = { model: basename(modelPath), method, inputs: input.names, parameters: {} };
  const cells: { image: RGBAImage; caption?: string }[] = [];
  let maps: Float32Array;
  let columns = 3;

  const signalCells = (sig: { data: Float32Array }, i: number) => tensorToImage(sig.data.subarray(i * c * h * w, (i + 1) * c * h * w), c, h, w, { normalise: true, bgr: pp?.bgr });
  switch (method) {
    case 'saliency':
    case 'guided-backprop': {
      const r = method === 'saliency' ? await X.saliency(model, input.data, input.batch, { classes }) : await X.guidedBackprop(model, input.data, input.batch, { classes });
      maps = r.maps;
      Object.assign(meta, { classes: r.classes, labels: r.classes.map((k) => labels?.[k]), scores: r.scores, probs: r.probs, stored: method === 'saliency' ? 'max over channels of |d logit / d input|' : 'max over channels of |guided backprop signal|' });
      for (let i = 0; i < input.batch; i++) {
        const m = maps.subarray(i * h * w, (i + 1) * h * w);
        cells.push({ image: shown[i]!, caption: `${input.names[i]}: ${label(r.classes[i]!)} p=${r.probs[i]!.toFixed(3)}` });
        cells.push({ image: method === 'saliency' ? renderSequential(m, h, w) : signalCells(r.signal, i), caption: method });
        cells.push({ image: overlay(shown[i]!, renderSequential(m, h, w, { transparent: true }), 0.8), caption: 'overlay' });
      }
      break;
    }
    case 'deconvnet': {
      if (layers.length !== 1) throw new ArgumentError('deconvnet needs one --layer (the feature maps to project)');
      const r = await X.deconvnet(model, input.data, input.batch, { layer: layers[0]!, unit, top: args.flag('top') });
      maps = r.maps;
      Object.assign(meta, { layer: layers[0], units: r.units, top: args.flag('top'), stored: 'max over channels of |DeconvNet projection|' });
      for (let i = 0; i < input.batch; i++) {
        cells.push({ image: shown[i]!, caption: input.names[i]! });
        cells.push({ image: signalCells(r.signal, i), caption: `${layers[0]} map ${r.units[i]}${args.flag('top') ? ' (top)' : ''}` });
        cells.push({ image: renderSequential(maps.subarray(i * h * w, (i + 1) * h * w), h, w), caption: 'max |projection|' });
      }
      break;
    }
    case 'gradcam':
    case 'guided-gradcam': {
      if (layers.length === 0) throw new ArgumentError(`${method} needs --layer L[,L2,...] (e.g. the last conv block)`);
      const r = method === 'gradcam' ? await X.gradCam(model, input.data, input.batch, layers, { classes }) : await X.guidedGradCam(model, input.data, input.batch, layers, { classes });
      maps = r.maps;
      const multi = r.perLayer.length > 1;
      columns = 2 + (multi ? r.perLayer.length : 0) + (method === 'guided-gradcam' ? 1 : 0);
      Object.assign(meta, { layers, classes: r.classes, labels: r.classes.map((k) => labels?.[k]), scores: r.scores, probs: r.probs, layerSizes: r.perLayer.map((l) => l.size), stored: method === 'gradcam' ? (multi ? 'mean of the per-layer Grad-CAMs, each normalised to [0,1]' : 'Grad-CAM normalised to [0,1]') : 'max over channels of |guided backprop ⊙ Grad-CAM|' });
      for (let i = 0; i < input.batch; i++) {
        const camMap = ('cam' in r ? (r as { cam: Float32Array }).cam : r.maps).subarray(i * h * w, (i + 1) * h * w);
        cells.push({ image: shown[i]!, caption: `${input.names[i]}: ${label(r.classes[i]!)} p=${r.probs[i]!.toFixed(3)}` });
        cells.push({ image: overlay(shown[i]!, renderSequential(camMap, h, w, { colormap: 'turbo' }), 0.5), caption: multi ? `mean of ${r.perLayer.length} layers` : `Grad-CAM ${layers[0]}` });
        if (multi) for (const L of r.perLayer) cells.push({ image: overlay(shown[i]!, renderSequential(L.maps.subarray(i * h * w, (i + 1) * h * w), h, w, { colormap: 'turbo' }), 0.5), caption: `${L.layer} ${L.size.join('x')}` });
        if (method === 'guided-gradcam') cells.push({ image: signalCells((r as unknown as { signal: { data: Float32Array } }).signal, i), caption: 'guided Grad-CAM' });
      }
      break;
    }
    case 'occlusion': {
      const size = args.int('patch', 16, 1);
      const stride = args.int('stride', Math.max(1, size >> 1), 1);
      const rows = Math.floor((h - size) / stride) + 1, cols = Math.floor((w - size) / stride) + 1;
      const bar = progressBar('occlusion', rows * cols * input.batch);
      const r = await X.occlusion(model, input.data, input.batch, { size, stride, onProgress: bar.update, incremental: !args.flag('full') }, { classes });
      bar.done();
      maps = r.maps;
      Object.assign(meta, { classes: r.classes, labels: r.classes.map((k) => labels?.[k]), probs: r.probs, patch: size, stride, positions: r.positions, incremental: !args.flag('full'), stored: 'mean drop of p(class) over the patches covering each pixel' });
      for (let i = 0; i < input.batch; i++) {
        const m = maps.subarray(i * h * w, (i + 1) * h * w);
        cells.push({ image: shown[i]!, caption: `${input.names[i]}: ${label(r.classes[i]!)} p=${r.probs[i]!.toFixed(3)}` });
        cells.push({ image: renderSigned(m, h, w), caption: `drop of p, patch ${size} stride ${stride}` });
        cells.push({ image: overlay(shown[i]!, renderSigned(m, h, w, { transparent: true }), 0.8, { greyBase: true }), caption: 'overlay' });
      }
      break;
    }
  }
  const png = montage(cells, { columns, cellSize: Math.max(160, Math.min(256, h)), title: `${method} - ${basename(modelPath)}` });
  const shape = input.batch === 1 ? [h, w] : [input.batch, h, w];
  const written = writeOutputs(out, { png, npy: { shape, data: maps! }, meta: { ...meta, shape } });
  for (const f of written) console.log(f);
  model.destroy();
  return 0;
}

function parseClass(s: string, labels: string[] | undefined): number {
  if (/^\d+$/.test(s)) return Number(s);
  if (labels) {
    const i = labels.findIndex((l) => l.toLowerCase() === s.toLowerCase() || l.toLowerCase().split(',').map((t) => t.trim()).includes(s.toLowerCase()));
    if (i >= 0) return i;
    throw new ArgumentError(`--class "${s}" matches no label in the labels file`);
  }
  throw new ArgumentError(`--class must be a class index (or a label, with --labels), got "${s}"`);
}
