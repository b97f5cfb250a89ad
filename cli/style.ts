// `loupe style` (survey §7.3, issue 17): style transfer by inversion (explainers/style.ts). The
// model is cut after the deepest chosen layer and, with --size, run at another input size; both
// images are read and every option checked before the GPU starts. PREFIX.png (content | style |
// result), PREFIX-curve.png (the losses), PREFIX.csv (iteration, content, style, total).
import { basename } from 'node:path';
import { parseCommand } from './args.ts';
import { createNodeEngine } from './gpu-node.ts';
import { Model } from '../engine/runner.ts';
import { ArgumentError, ShapeError } from '../engine/errors.ts';
import { inferShapes } from '../engine/shapes.ts';
import { loadModelFile, preprocessFromArgs, readBytes } from './inputs.ts';
import { decodeImage, encodePng, maxPixels } from '../loaders/image.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { checkStyleOptions, styleGraph, styleTransfer, type StyleOptions } from '../explainers/style.ts';
import { styleCurve, styleFigure } from '../render/style.ts';
import { tensorToImage } from '../render/render.ts';
import { checkOutputs, writeOutputSet } from './output.ts';
import { progressBar } from './progress.ts';
import { STYLE_OPTIONS } from './commands.ts';

export async function styleCommand(argv: string[]): Promise<number> {
  const { args, o } = parseCommand(argv, STYLE_OPTIONS, 'style');
  if (args.positional.length) throw new ArgumentError(`style: unexpected argument "${args.positional[0]}"`);
  checkOutputs('--out', o.out, [`${o.out}.png`, `${o.out}-curve.png`, `${o.out}.csv`]);
  const g0 = loadModelFile(o.model, o.weights);
  const preprocess = preprocessFromArgs(args, g0);
  const styleLayers = o.styleLayers.split(',').map((s) => s.trim()).filter((s) => s);
  const opts: StyleOptions = {
    contentLayer: o.contentLayer.trim(), styleLayers, alpha: o.alpha, beta: o.beta, iterations: o.iterations, lr: o.lr ?? 2 * Math.abs(preprocess.scale ?? 1), seed: o.seed, init: o.init as 'content' | 'noise', preprocess,
  };
  checkStyleOptions(opts);
  // the model up to the deepest chosen layer, at --size: unknown layers and sizes too small for the
  // layers' kernels fail here, before the GPU starts
  const g = styleGraph(g0, [opts.contentLayer, ...styleLayers], preprocess.size);
  try {
    inferShapes(g, 1);
  } catch (e) {
    if (args.get('size') !== undefined && e instanceof Error) throw new ShapeError(`--size ${preprocess.size!.join('x')} does not fit the layers up to ${opts.styleLayers.concat(opts.contentLayer).join(', ')}: ${e.message}`);
    throw e;
  }
  const read = (file: string, what: string) => {
    const img = decodeImage(readBytes(file, what), basename(file), maxPixels(process.env));
    return { img, x: preprocessImage(img, preprocess) };
  };
  const content = read(o.content, 'content image'), style = read(o.style, 'style image');
  const engine = await createNodeEngine();
  const model = new Model(engine, g);
  try {
    const bar = progressBar(`style ${basename(o.content)} × ${basename(o.style)}`, o.iterations);
    const abort = new AbortController();
    const onSigint = () => abort.abort();
    process.once('SIGINT', onSigint);
    let r;
    try {
      r = await styleTransfer(model, content.x, style.x, { ...opts, signal: abort.signal, onStep: (t, T) => bar.update(t, T) });
    } finally {
      process.off('SIGINT', onSigint);
      bar.done();
    }
    const [c, h, w] = g.input.shape.slice(1) as [number, number, number];
    const show = (x: Float32Array) => tensorToImage(x, c, h, w, { mean: preprocess.mean, scale: preprocess.scale, bgr: preprocess.bgr });
    const res = r;
    const csv = ['iteration,content,style,total', ...res.log.map((l) => `${l.iteration},${l.content},${l.style},${l.total}`)].join('\n') + '\n';
    for (const f of await writeOutputSet([
      [`${o.out}.png`, () => encodePng(styleFigure(show(content.x), show(style.x), show(res.image), res, { model: basename(o.model), alpha: o.alpha, beta: o.beta, init: opts.init! }))],
      [`${o.out}-curve.png`, () => encodePng(styleCurve(res))],
      [`${o.out}.csv`, () => new TextEncoder().encode(csv)],
    ])) console.log(f);
    const first = res.log[0]!, last = res.log[res.log.length - 1]!;
    console.log(`content ${first.content.toExponential(3)} → ${last.content.toExponential(3)}, style ${first.style.toExponential(3)} → ${last.style.toExponential(3)}, total ${first.total.toExponential(3)} → ${last.total.toExponential(3)} in ${res.seconds.toFixed(1)} s`);
    return 0;
  } finally {
    model.destroy();
  }
}
