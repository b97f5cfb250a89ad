// `loupe fool` (survey §7.1, issue 17): fooling images. Pixel-space activation maximisation of each
// --class (explainers/fooling.ts: MaxOut's optimiser with the class's log-odds as the objective),
// with or without a regulariser, until the model gives the class --confidence (99.99 %), and a
// different network's (--judge) probabilities of the same pixels through its own preprocessing.
// A command of its own rather than options of `loupe maxout`: it loads a second model, stops on a
// confidence rather than after a number of steps, and reports two networks' probabilities, none of
// which the one-model registry entry of MaxOut carries. PREFIX.png, PREFIX.npy, PREFIX.json.
import { basename } from 'node:path';
import { parseCommand } from './args.ts';
import { createNodeEngine } from './gpu-node.ts';
import { Model } from '../engine/runner.ts';
import { ArgumentError } from '../engine/errors.ts';
import { checkClassifier } from '../engine/classify.ts';
import { inferShapes } from '../engine/shapes.ts';
import { loadModelFile, readLabels } from './inputs.ts';
import { encodePng } from '../loaders/image.ts';
import { writeNpy } from '../loaders/npy.ts';
import { fool, type FoolOptions, type PixelPreprocess } from '../explainers/fooling.ts';
import { foolFigure } from '../render/fooling.ts';
import { checkOutputs, toJson, writeOutputSet } from './output.ts';
import { progressBar } from './progress.ts';
import { FOOL_OPTIONS } from './commands.ts';

/** The regularisers of `--regularise` at weight λ (default per kind). */
export function foolRegularisers(kind: string, lambda: number | undefined): Partial<FoolOptions> {
  if (kind === 'l2') return { norm: lambda ?? 0.01, alpha: 2 };
  if (kind === 'tv') return { tv: lambda ?? 0.05, tvBeta: 2 };
  if (kind === 'blur') return { blurEvery: 4, blurSigma: lambda ?? 0.5 };
  return {};
}

export async function foolCommand(argv: string[]): Promise<number> {
  const { args, o } = parseCommand(argv, FOOL_OPTIONS, 'fool');
  if (args.positional.length) throw new ArgumentError(`fool: unexpected argument "${args.positional[0]}"`);
  checkOutputs('--out', o.out, [`${o.out}.png`, `${o.out}.npy`, `${o.out}.json`]);
  if (o.regularise === 'none' && o.lambda !== undefined) throw new ArgumentError('--lambda is the weight of --regularise l2|tv|blur');
  if (!o.judge && (o.judgeWeights || o.judgeMean || o.judgeScale !== undefined || o.judgeBgr)) throw new ArgumentError('--judge-weights, --judge-mean, --judge-scale and --judge-bgr describe --judge, which is missing');
  const g = loadModelFile(o.model, o.weights);
  const jg = o.judge ? loadModelFile(o.judge, o.judgeWeights) : undefined;
  const labels = readLabels(o.labels);
  const [, c, h, w] = g.input.shape;
  if (c === undefined || h === undefined || w === undefined) throw new ArgumentError(`fool: ${basename(o.model)} takes [${g.input.shape.join(', ')}], not images`);
  const fromFile = (gr: typeof g, mean: number[] | undefined, scale: number | undefined, bgr: boolean, flag: string): PixelPreprocess => {
    const m = mean ?? gr.preprocess?.mean;
    if (m && m.length !== 1 && m.length !== c) throw new ArgumentError(`--${flag}mean has ${m.length} values; the model has ${c} input channels`);
    return { mean: m, scale: scale ?? gr.preprocess?.scale, bgr: bgr || (gr.preprocess?.bgr ?? false) };
  };
  const pp = fromFile(g, o.mean, o.scale, o.bgr, '');
  const jpp = jg ? fromFile(jg, o.judgeMean, o.judgeScale, o.judgeBgr, 'judge-') : undefined;
  // the classes exist in the model (and the judge) before any work
  const k = inferShapes(g, 1).get(checkClassifier(g).logits)![1]!;
  for (const t of o.class) if (t >= k) throw new ArgumentError(`--class ${t} is out of range: ${basename(o.model)} has ${k} classes (0–${k - 1})`);
  if (jg) {
    const kj = inferShapes(jg, 1).get(checkClassifier(jg).logits)![1]!;
    for (const t of o.class) if (t >= kj) throw new ArgumentError(`--class ${t} is out of range for the judge ${basename(o.judge!)}: it has ${kj} classes (0–${kj - 1})`);
  }
  const engine = await createNodeEngine();
  const model = new Model(engine, g);
  const judge = jg ? new Model(engine, jg) : undefined;
  try {
    const bar = progressBar(`fool ${o.class.length} class${o.class.length === 1 ? '' : 'es'} to ${100 * o.confidence}%`, o.maxIterations);
    const abort = new AbortController();
    const onSigint = () => abort.abort();
    process.once('SIGINT', onSigint);
    let r;
    const scale = Math.abs(pp.scale ?? 1);
    try {
      r = await fool(model, o.class, {
        iterations: o.maxIterations, lr: o.lr * scale, seed: o.seed, init: o.init === 'grey' ? 'mean' : 'noise', param: 'pixel', optimizer: 'adam',
        objective: o.objective, confidence: o.confidence, preprocess: pp, ...foolRegularisers(o.regularise, o.lambda),
        signal: abort.signal, onStep: (t, T) => bar.update(t, T),
      }, judge && { model: judge, preprocess: jpp!, name: basename(o.judge!) });
    } finally {
      process.off('SIGINT', onSigint);
      bar.done();
    }
    const name = (t: number) => (labels?.[t] ? `${labels[t]!.split(',')[0]!.trim()} (${t})` : `class ${t}`);
    const json = {
      model: basename(o.model), judge: o.judge ? basename(o.judge) : undefined, objective: o.objective, confidence: o.confidence, regularise: o.regularise,
      ...(o.regularise !== 'none' ? { parameters: foolRegularisers(o.regularise, o.lambda) } : {}), lr: o.lr, init: o.init, seed: o.seed, maxIterations: o.maxIterations,
      units: 'lr and pixels in grey levels (0..255; pixels: the image\'s lowest, highest and RMS distance from mid-grey 127.5); iterations: the steps after which the class first reached the confidence (null: not within --max-iterations)',
      images: r.classes.map((t, i) => ({
        class: t, label: name(t), iterations: r.iterations[i], prob: r.probs[i], pixels: r.pixels[i],
        ...(r.judge ? { judge: { prob: r.judge.probs[i], top: r.judge.top[i], topLabel: name(r.judge.top[i]!), topProb: r.judge.topProbs[i] } } : {}),
      })),
      reached: r.iterations.filter((t) => t !== null).length, steps: r.steps, seconds: r.seconds,
      preprocess: { model: pp, ...(jpp ? { judge: jpp } : {}) },
      images_npy: `${basename(o.out)}.npy: the images, P×C×H×W in ${basename(o.model)}'s units`,
    };
    const title = `fooling ${basename(o.model)} to ${100 * o.confidence}% (${o.regularise === 'none' ? 'no regulariser' : o.regularise})${o.judge ? `; judge ${basename(o.judge)}` : ''}`;
    for (const f of await writeOutputSet([
      [`${o.out}.png`, () => encodePng(foolFigure(r, [c, h, w], pp, { title, label: labels ? (t) => labels[t]?.split(',')[0]?.trim() ?? String(t) : undefined }))],
      [`${o.out}.npy`, () => writeNpy([r.classes.length, c, h, w], r.images)],
      [`${o.out}.json`, () => new TextEncoder().encode(toJson(json))],
    ])) console.log(f);
    r.classes.forEach((t, i) => console.log(`${name(t)}: ${(100 * r.probs[i]!).toFixed(4)}% ${r.iterations[i] === null ? `not reached in ${o.maxIterations} steps` : `after ${r.iterations[i]} steps`}${r.judge ? `; ${json.judge}: ${(100 * r.judge.probs[i]!).toFixed(2)}% (top ${name(r.judge.top[i]!)} ${(100 * r.judge.topProbs[i]!).toFixed(2)}%)` : ''}`));
    return 0;
  } finally {
    model.destroy();
    judge?.destroy();
  }
}
