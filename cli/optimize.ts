// `loupe maxout` (activation maximisation) and `loupe invert` (network inversion).
import { basename } from 'node:path';
import { Args } from './args.ts';
import { createNodeEngine } from './gpu-node.ts';
import { Model } from '../engine/runner.ts';
import { ArgumentError } from '../engine/errors.ts';
import { numel } from '../engine/shapes.ts';
import { loadModelFile, readInputs, readLabels, preprocessFromArgs, MODEL_OPTIONS, INPUT_OPTIONS, INPUT_FLAGS } from './inputs.ts';
import { maxOut, invert, type OptimiseOptions, type MaxOutTarget } from '../explainers/optimize.ts';
import { parseNeurons } from '../explainers/etalon.ts';
import { montage, tensorToImage, createImage, drawText } from '../render/render.ts';
import { encodePng, type RGBAImage } from '../loaders/image.ts';
import type { Graph } from '../engine/ir.ts';
import { writeOutputs, writeFileAtomic } from './output.ts';
import { progressBar } from './progress.ts';

const OPT_VALUES = ['iterations', 'lr', 'optimizer', 'momentum', 'seed', 'init', 'tv', 'tv-beta', 'norm', 'alpha', 'blur-every', 'blur-sigma', 'jitter', 'clip-norm', 'clip-contribution', 'out'];

function nonNegative(args: Args, key: string, def: number): number {
  const v = args.num(key) ?? def;
  if (v < 0) throw new ArgumentError(`--${key} must not be negative, got ${v}`);
  return v;
}

/** The optimiser and regularisers from flags; pixels are kept in the range of preprocessed 0..255. */
function optimiseOptions(args: Args, g: Graph, defaults: { iterations: number; lr: number; init: 'noise' | 'mean' }): OptimiseOptions {
  const pp = preprocessFromArgs(args, g);
  const scale = pp.scale ?? 1;
  const means = pp.mean ?? [0];
  const lo = Math.min(...means.map((m) => (0 - m) * scale)), hi = Math.max(...means.map((m) => (255 - m) * scale));
  const optimizer = (args.get('optimizer') ?? 'adam') as 'adam' | 'sgd';
  if (optimizer !== 'adam' && optimizer !== 'sgd') throw new ArgumentError(`--optimizer must be adam or sgd, got "${optimizer}"`);
  const init = (args.get('init') ?? defaults.init) as 'noise' | 'mean';
  if (init !== 'noise' && init !== 'mean') throw new ArgumentError(`--init must be noise or mean, got "${init}"`);
  const mid = pp.mean ? 0 : 127.5 * scale; // the data mean in the network's units
  return {
    iterations: args.int('iterations', defaults.iterations, 1),
    lr: nonNegative(args, 'lr', defaults.lr * scale),
    optimizer, momentum: args.num('momentum'),
    seed: args.int('seed', 0, 0),
    init, initValue: mid, initStd: 10 * scale,
    range: [lo, hi],
    tv: nonNegative(args, 'tv', 0), tvBeta: args.num('tv-beta') ?? 2,
    norm: nonNegative(args, 'norm', 0), alpha: args.num('alpha') ?? 2,
    blurEvery: args.int('blur-every', 0, 0), blurSigma: nonNegative(args, 'blur-sigma', 0.5),
    jitter: args.int('jitter', 0, 0),
    clipNorm: nonNegative(args, 'clip-norm', 0), clipContribution: nonNegative(args, 'clip-contribution', 0),
  };
}

export async function maxoutCommand(argv: string[]): Promise<number> {
  const args = new Args(argv, { values: [...MODEL_OPTIONS, 'size', 'mean', 'scale', 'labels', 'layer', 'units', 'class', ...OPT_VALUES], flags: INPUT_FLAGS }, 'maxout');
  const modelPath = args.need('model', 'maxout');
  const out = args.need('out', 'maxout');
  const g = loadModelFile(modelPath, args.get('weights'));
  const labels = readLabels(args.get('labels'));
  const opts = optimiseOptions(args, g, { iterations: 200, lr: 2, init: 'noise' });
  const engine = await createNodeEngine();
  const model = new Model(engine, g);
  let target: MaxOutTarget;
  if (args.get('class') !== undefined) {
    target = { kind: 'class', classes: parseNeurons(args.get('class')!) };
  } else {
    const layer = args.need('layer', 'maxout');
    model.resolve(layer);
    const shape = (await model.run(new Float32Array(numel(g.input.shape.slice(1))), 1, { outputs: [layer] })).get(model.resolve(layer))!.shape;
    // A conv layer's --units are channels (whole feature maps, their mean); an fc layer's are units.
    const conv = shape.length === 4;
    target = { kind: conv ? 'channel' : 'unit', layer, units: args.get('units') ? parseNeurons(args.get('units')!) : Array.from({ length: Math.min(shape[1]!, 16) }, (_, i) => i) };
  }
  const bar = progressBar('maxout', opts.iterations);
  const r = await maxOut(model, target, { ...opts, onProgress: (s) => bar.update(s) });
  bar.done();
  const [c, h, w] = g.input.shape.slice(1) as [number, number, number];
  const pp = preprocessFromArgs(args, g);
  const last = r.log.at(-1)!.objective;
  const cells = r.targets.map((u, i) => ({
    image: tensorToImage(r.images.subarray(i * c * h * w, (i + 1) * c * h * w), c, h, w, { mean: pp.mean, scale: pp.scale, bgr: pp.bgr }),
    caption: `${r.kind === 'class' ? (labels?.[u]?.split(',')[0] ?? `class ${u}`) : `${r.kind} ${u}`}: ${last[i]!.toFixed(2)}`,
  }));
  const png = montage(cells, { columns: Math.min(8, cells.length), cellSize: Math.max(112, Math.min(224, h)), title: `maxout ${r.kind === 'class' ? 'logits' : r.layer} - ${basename(modelPath)}` });
  const meta = { model: basename(modelPath), method: 'maxout', layer: r.layer, kind: r.kind, targets: r.targets, objective: last, log: r.log, parameters: { ...opts, onProgress: undefined } };
  for (const f of writeOutputs(out, { png, npy: { shape: [r.targets.length, c, h, w], data: r.images }, meta })) console.log(f);
  model.destroy();
  return 0;
}

export async function invertCommand(argv: string[]): Promise<number> {
  const args = new Args(argv, { values: [...MODEL_OPTIONS, ...INPUT_OPTIONS, 'layer', ...OPT_VALUES], flags: INPUT_FLAGS, repeatable: ['image'] }, 'invert');
  const modelPath = args.need('model', 'invert');
  const out = args.need('out', 'invert');
  const g = loadModelFile(modelPath, args.get('weights'));
  const input = readInputs(args, g);
  if (input.batch !== 1) throw new ArgumentError('invert: give one image');
  const layer = args.need('layer', 'invert');
  const opts = optimiseOptions(args, g, { iterations: 200, lr: 4, init: 'noise' });
  const engine = await createNodeEngine();
  const model = new Model(engine, g);
  model.resolve(layer);
  const bar = progressBar('invert', opts.iterations);
  const r = await invert(model, input.data, layer, { ...opts, logEvery: Math.max(1, Math.floor(opts.iterations / 50)), onProgress: (s) => bar.update(s) });
  bar.done();
  const [c, h, w] = g.input.shape.slice(1) as [number, number, number];
  const pp = preprocessFromArgs(args, g);
  const show = (x: Float32Array) => tensorToImage(x, c, h, w, { mean: pp.mean, scale: pp.scale, bgr: pp.bgr });
  const final = r.log.at(-1)!.error;
  const png = montage([
    { image: show(input.data), caption: input.names[0] },
    { image: show(r.image), caption: `from ${layer}: error ${final.toFixed(4)}` },
    { image: plot(r.log.map((l) => [l.step, l.error]), 'relative feature error', 'step'), caption: 'error curve' },
  ], { columns: 3, cellSize: Math.max(160, Math.min(256, h)), title: `inversion of ${layer} - ${basename(modelPath)}` });
  const meta = { model: basename(modelPath), method: 'invert', input: input.names[0], layer, finalError: final, log: r.log, parameters: { ...opts, onProgress: undefined } };
  const written = writeOutputs(out, { png, npy: { shape: [c, h, w], data: r.image }, meta });
  writeFileAtomic(`${out}.csv`, new TextEncoder().encode(`step,relative_error\n${r.log.map((l) => `${l.step},${l.error}`).join('\n')}\n`));
  const curve = `${out}-curve.png`;
  writeFileAtomic(curve, encodePng(plot(r.log.map((l) => [l.step, l.error]), 'relative feature error', 'step', 480, 320)));
  for (const f of [...written, `${out}.csv`, curve]) console.log(f);
  model.destroy();
  return 0;
}

/** A small line plot (log-scale y when the values span more than a decade). */
export function plot(points: number[][], yLabel: string, xLabel: string, W = 256, H = 256): RGBAImage {
  const img = createImage(W, H, [255, 255, 255]);
  const m = { l: 40, r: 8, t: 16, b: 28 };
  const xs = points.map((p) => p[0]!), ys = points.map((p) => p[1]!);
  const logY = Math.max(...ys) / Math.max(1e-12, Math.min(...ys)) > 10;
  const fy = (v: number) => (logY ? Math.log10(Math.max(v, 1e-12)) : v);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  const y0 = Math.min(...ys.map(fy)), y1 = Math.max(...ys.map(fy), y0 + 1e-9);
  const px = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - ((fy(y) - y0) / (y1 - y0)) * (H - m.t - m.b);
  const set = (x: number, y: number, c: [number, number, number]) => {
    const xi = Math.round(x), yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= W || yi >= H) return;
    img.data.set([...c, 255], (yi * W + xi) * 4);
  };
  for (let x = m.l; x < W - m.r; x++) set(x, H - m.b, [0, 0, 0]);
  for (let y = m.t; y <= H - m.b; y++) set(m.l, y, [0, 0, 0]);
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
  drawText(img, 2, m.t - 12, `${yLabel}${logY ? ' (log)' : ''}`, { color: [0, 0, 0] });
  drawText(img, 2, m.t, fmt(logY ? 10 ** y1 : y1), { color: [0, 0, 0] });
  drawText(img, 2, H - m.b - 10, fmt(logY ? 10 ** y0 : y0), { color: [0, 0, 0] });
  drawText(img, m.l, H - m.b + 4, String(x0), { color: [0, 0, 0] });
  drawText(img, W - m.r - 6 * String(x1).length, H - m.b + 4, String(x1), { color: [0, 0, 0] });
  drawText(img, W / 2 - 12, H - 11, xLabel, { color: [0, 0, 0] });
  return img;
}
