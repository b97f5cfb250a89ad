// `loupe evaluate`: scores explanation methods on a set of images (explainers/evaluate.ts):
// deletion and insertion AUC, the pointing game, the randomisation test, infidelity and
// max-sensitivity, and the completeness gap of the methods that state one. Everything that can be refused is refused
// before the GPU starts (methods, their options, metrics, masks, --out); then a progress bar,
// Ctrl-C → nothing written, and PREFIX.csv/.json/.png and PREFIX-curves.png written all or nothing.
// With --out DIR/ (a folder) or --shard/--shards it is a data-set run (cli/dataset.ts): one item per
// image, resumable and shardable, and the same files as DIR/evaluation.* built by a finisher from
// every image of the folder, which loupe merge calls too (see "data-set runs" below).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseCommand, type Args } from './args.ts';
import { createNodeEngine } from './gpu-node.ts';
import { Model } from '../engine/runner.ts';
import { ArgumentError, InputFormatError, ShapeError } from '../engine/errors.ts';
import type { Graph } from '../engine/ir.ts';
import { IMAGE_EXTENSIONS, loadModelFile, preprocessFromArgs, readBytes, readImage, readLabels } from './inputs.ts';
import { readNpy, writeNpy } from '../loaders/npy.ts';
import { shownImages, type FigureContext } from '../render/figures.ts';
import {
  canonicalJson, datasetItems, datasetRun, fileSha256, itemStem, registerDatasetCommand, registerFinisher, sha256, shardItems, shardOf, workerName,
  type DatasetCommand, type DatasetItem, type Manifest, type RunIdentity,
} from './dataset.ts';
import { decodeImage, encodePng, maxPixels, type RGBAImage } from '../loaders/image.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { resizeImage } from '../render/render.ts';
import { adeScene, classRegion, IMAGENET_CLASSES, MATCHING_RULE, resizeLabels } from '../loaders/ade20k.ts';
import { checkClassifier } from '../engine/classify.ts';
import { inferShapes } from '../engine/shapes.ts';
import { explainer } from '../explainers/registry.ts';
import { flagName } from '../explainers/options.ts';
import {
  checkMetrics, checkMethod, decorrelation, DECORRELATION_THRESHOLD, evaluate, evaluationTable, imageMeans, RANDOMISATION_STATS, randomisationMean, undecidedWarning,
  type Evaluation, type ImageResult, type MethodRequest, type MethodResult, type Metric, type RandomisationStat,
} from '../explainers/evaluate.ts';
import { cascadeSteps, type CascadeOptions } from '../explainers/randomisation.ts';
import { curvesFigure, evaluationFigure, randomisationFigure } from '../render/evaluate.ts';
import { checkOutputs, toJson, writeOutputSet, type OutputFile } from './output.ts';
import { progressBar } from './progress.ts';
import { EVALUATE_OPTIONS } from './commands.ts';

/**
 * --images: files as given (named by their file name), folders as their PNG and JPEG files, those
 * of subfolders included, in name order (named by their path inside the folder, e.g. caffe/cat.jpg),
 * .txt lists of images (cli/dataset.ts's datasetItems; two images may share a stem here, since the
 * results are one table, not a file per image).
 */
export function imageFiles(given: readonly string[]): { path: string; name: string }[] {
  return datasetItems(given, '--images', { stems: false });
}

/**
 * --method-options 'M:key=value;M:key=value': each entry one option of one method, the key its
 * loupe explain flag without the dashes. Options of file type (PDA's --patch-model) are read here.
 */
export function parseMethodOptions(text: string | undefined, methods: readonly string[]): MethodRequest[] {
  const reqs = methods.map((name) => ({ name, options: {} as Record<string, unknown> }));
  if (text === undefined) return reqs;
  for (const raw of text.split(';').map((s) => s.trim()).filter((s) => s)) {
    const m = /^([^:=]+):([^=]+)=(.*)$/.exec(raw);
    if (!m) throw new ArgumentError(`--method-options: "${raw}" is not METHOD:key=value`);
    const [, method, key, value] = m as unknown as [string, string, string, string];
    const r = reqs.find((q) => q.name === method.trim());
    if (!r) throw new ArgumentError(`--method-options: "${method}" is not one of --methods (${methods.join(',')})`);
    const spec = explainer(r.name).options.find((s) => flagName(s.name) === key.trim() || s.name === key.trim());
    if (!spec) throw new ArgumentError(`--method-options: ${r.name} has no option "${key}"; its options are ${explainer(r.name).options.map((s) => flagName(s.name)).join(', ') || '(none)'}`);
    if (spec.name in r.options) throw new ArgumentError(`--method-options: ${r.name}:${key} given twice`);
    r.options[spec.name] = spec.type === 'flag' && value === '' ? true : value;
    if (spec.type === 'file' && !spec.keywords?.includes(value)) {
      if (spec.keywords && !existsSync(value)) throw new ArgumentError(`--method-options: ${r.name}:${key} must be ${spec.keywords.join(', ')} or a file; ${value} not found`);
      r.options[spec.name] = { name: basename(value), bytes: readBytes(value, flagName(spec.name).replace(/-/g, ' ')) };
    }
  }
  return reqs;
}

/** The region mask of image `file` from DIR/NAME.png: non-zero = the region, resized (nearest) from the image's size to the model's. */
export function readMask(dir: string, file: string, image: RGBAImage, h: number, w: number): Uint8Array {
  const path = join(dir, `${basename(file, extname(file))}.png`);
  if (!existsSync(path)) throw new ArgumentError(`--masks ${dir}: no mask ${basename(path)} for image ${basename(file)}`);
  let m = decodeImage(readBytes(path, 'mask'), basename(path));
  const modelSize = m.width === w && m.height === h, imageSize = m.width === image.width && m.height === image.height;
  if (!modelSize && !imageSize)
    throw new ShapeError(`--masks: ${basename(path)} is ${m.width}x${m.height}; it must be the image's size (${image.width}x${image.height}) or the model's input size (${w}x${h})`);
  if (!modelSize) m = resizeImage(m, w, h, 'nearest');
  const out = new Uint8Array(h * w);
  for (let i = 0; i < h * w; i++) out[i] = m.data[4 * i]! || m.data[4 * i + 1]! || m.data[4 * i + 2]! ? 1 : 0;
  return out;
}

/** ADE20K's label PNGs, which are no images to explain. */
const LABEL_PNG = /_(seg|parts_\d+)\.png$/i;

/** --segmentation DIR without --images: DIR's images, its label PNGs (NAME_seg.png, NAME_parts_N.png) left out. */
export function sceneImages(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ArgumentError(`--segmentation ${dir}: not a folder`);
  const files = readdirSync(dir).filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase()) && !LABEL_PNG.test(f)).sort();
  if (files.length === 0) throw new ArgumentError(`--segmentation ${dir}: the folder holds no images (NAME.jpg beside NAME_seg.png and NAME.json)`);
  return files.map((f) => join(dir, f));
}

/**
 * The ADE20K scene of image `file` (DIR/NAME_seg.png and DIR/NAME.json, the label PNG at the image's
 * size) as the region of an ImageNet class: the label map resized (nearest) to the model's input as
 * preprocessImage resizes the image (the whole frame, no crop), then the objects matching the class.
 */
export function readScene(dir: string, file: string, image: RGBAImage, h: number, w: number): (k: number) => { mask: Uint8Array; concepts: string[] } {
  const name = basename(file, extname(file));
  const segPath = join(dir, `${name}_seg.png`), jsonPath = join(dir, `${name}.json`);
  for (const p of [segPath, jsonPath]) if (!existsSync(p)) throw new ArgumentError(`--segmentation ${dir}: no ${basename(p)} for image ${basename(file)}`);
  const seg = decodeImage(readBytes(segPath, 'segmentation'), basename(segPath), maxPixels(process.env));
  if (seg.width !== image.width || seg.height !== image.height)
    throw new ShapeError(`--segmentation: ${basename(segPath)} is ${seg.width}x${seg.height}; it must be its image's size (${basename(file)} is ${image.width}x${image.height})`);
  const scene = adeScene(seg, readBytes(jsonPath, 'annotation'), { seg: basename(segPath), json: basename(jsonPath) });
  const small = { ...resizeLabels(scene, w, h), objects: scene.objects };
  return (k) => classRegion(small, k);
}

/** --randomise-layers (all, a count or layer names) and --randomise-every as the cascade's options. */
export function parseRandomiseLayers(text: string, every: number): CascadeOptions {
  const t = text.trim();
  if (t === 'all') return { layers: 'all', every };
  if (/^[0-9]+$/.test(t)) return { layers: Number(t), every };
  if (/^[-+.0-9]+$/.test(t)) throw new ArgumentError(`--randomise-layers must be all, a count ≥ 1 or layer names, got "${text}"`);
  const names = t.split(',').map((s) => s.trim()).filter((s) => s);
  if (names.length === 0) throw new ArgumentError('--randomise-layers is empty');
  return { layers: names, every };
}

/** The stdout/JSON line on the methods that fail the randomisation check. */
export function decorrelationLine(failing: readonly string[]): string {
  return failing.length
    ? `randomisation: does not decorrelate (mean |map| Spearman above ${DECORRELATION_THRESHOLD} after the last step): ${failing.join(', ')}`
    : `randomisation: every method decorrelates (mean |map| Spearman at most ${DECORRELATION_THRESHOLD} after the last step)`;
}

/** The aggregates' prefix in a data-set run's folder: DIR/evaluation.csv, .json, .png, -curves.png, -randomisation.png. */
export const AGGREGATE = 'evaluation';
/** A data-set run's evaluation.png shows at most this many images (the first in name order); its table and JSON hold them all. */
export const FIGURE_IMAGES = 32;

type EvaluateOptions = ReturnType<typeof parseCommand<typeof EVALUATE_OPTIONS>>['o'];

/** A `loupe evaluate` command line read and checked, before any GPU work: what one run or one data-set item needs. */
export interface PreparedEvaluate {
  args: Args;
  o: EvaluateOptions;
  methods: MethodRequest[];
  metrics: Metric[];
  randomise: CascadeOptions;
  graph: Graph;
  /** the model's input: channels, height, width */
  shape: [number, number, number];
  labels?: string[];
  preprocess: ReturnType<typeof preprocessFromArgs>;
  /** a data-set run: the --out folder (without a trailing /) and its images */
  dataset?: { out: string; items: DatasetItem[] };
}

/** --out names a folder: it ends with '/', or it is one; or the command line shards the run. */
const isDatasetOut = (o: EvaluateOptions) => o.out.endsWith('/') || (existsSync(o.out) && statSync(o.out).isDirectory()) || o.shard !== undefined || o.shards !== undefined;

/** Reads and checks a `loupe evaluate` command line: methods and their options, metrics, model, labels, --out; no image is decoded. */
export function prepareEvaluate(argv: string[]): PreparedEvaluate {
  const { args, o } = parseCommand(argv, EVALUATE_OPTIONS, 'evaluate');
  if (args.positional.length) throw new ArgumentError(`evaluate: unexpected argument "${args.positional[0]}"`);
  const methodNames = o.methods.split(',').map((s) => s.trim()).filter((s) => s);
  if (methodNames.length === 0) throw new ArgumentError('--methods is empty: give method names, e.g. saliency,gradcam');
  if (new Set(methodNames).size !== methodNames.length) throw new ArgumentError(`--methods names a method twice: ${o.methods}`);
  for (const m of methodNames) explainer(m); // unknown → one line listing the methods
  if (o.masks && o.segmentation) throw new ArgumentError('--masks and --segmentation both give the pointing game its regions: give one');
  const regionsFrom = o.masks ? '--masks' : o.segmentation ? '--segmentation' : undefined;
  const metrics = checkMetrics((o.metrics ?? (regionsFrom ? 'deletion,insertion,pointing' : 'deletion,insertion')).split(',').map((s) => s.trim()).filter((s) => s));
  if (metrics.includes('pointing') && !regionsFrom) throw new ArgumentError('--metrics pointing needs --masks DIR (a region mask per image) or --segmentation DIR (ADE20K scenes)');
  if (regionsFrom && !metrics.includes('pointing')) throw new ArgumentError(`${regionsFrom} is for the pointing game: add pointing to --metrics`);
  if (!o.images?.length && !o.segmentation) throw new ArgumentError('evaluate: --images is required (or --segmentation DIR, whose images it takes)');
  for (const [flag, metric] of [['infidelity-samples', 'infidelity'], ['infidelity-sigma', 'infidelity'], ['sensitivity-samples', 'sensitivity'], ['radius', 'sensitivity']] as const)
    if (args.get(flag) !== undefined && !metrics.includes(metric)) throw new ArgumentError(`--${flag} is for the ${metric} metric: add ${metric} to --metrics`);
  const randomise = parseRandomiseLayers(o.randomiseLayers, o.randomiseEvery);
  const dataset = isDatasetOut(o);
  if (dataset) {
    if (existsSync(o.out) && !statSync(o.out).isDirectory()) throw new ArgumentError(`--out ${o.out} is a file; a data-set run (--shard, --shards) writes into a folder: give DIR/`);
    shardOf(o.shard, o.shards); // a bad --shard fails before the model is read
  } else checkOutputs('--out', o.out, batchFiles(o.out)); // before the model is read
  const methods = parseMethodOptions(o.methodOptions, methodNames);

  const g = loadModelFile(o.model, o.weights);
  const [, c, h, w] = g.input.shape as [number, number, number, number];
  const labels = readLabels(o.labels);
  const preprocess = preprocessFromArgs(args, g);
  if (preprocess.size![0] !== h || preprocess.size![1] !== w) throw new ShapeError(`--size ${preprocess.size!.join('x')} does not match the model's input ${h}x${w}`);
  if (o.segmentation) {
    const k = inferShapes(g, 1).get(checkClassifier(g).logits)![1];
    if (k !== IMAGENET_CLASSES) throw new ArgumentError(`--segmentation matches ImageNet's ${IMAGENET_CLASSES} classes (synset_words.txt order) to ADE20K concepts; the model has ${k} classes`);
  }
  const p: PreparedEvaluate = { args, o, methods, metrics, randomise, graph: g, shape: [c, h, w], labels, preprocess };
  if (dataset) {
    // with --segmentation, an --images folder in the ADE20K layout gives its images, not its label PNGs
    const items = o.images?.length
      ? datasetItems(o.images).filter((f) => !o.segmentation || !LABEL_PNG.test(basename(f.path)))
      : sceneImages(o.segmentation!).map((path) => ({ path, name: basename(path) }));
    if (items.length === 0) throw new ArgumentError('--images: no images to evaluate');
    const clash = items.find((it) => itemStem(it.name) === AGGREGATE);
    if (clash) throw new ArgumentError(`--images: ${clash.name} would write ${AGGREGATE}.json, the name of the run's aggregate: rename it`);
    p.dataset = { out: o.out.length > 1 ? o.out.replace(/\/+$/, '') : o.out, items };
    // every image of this shard has its mask or scene files (read with the image, item by item)
    for (const it of shardItems(items, shardOf(o.shard, o.shards))) {
      const stem = basename(it.path, extname(it.path));
      if (o.masks && !existsSync(join(o.masks, `${stem}.png`))) throw new ArgumentError(`--masks ${o.masks}: no mask ${stem}.png for image ${basename(it.path)}`);
      if (o.segmentation)
        for (const f of [`${stem}_seg.png`, `${stem}.json`]) if (!existsSync(join(o.segmentation, f))) throw new ArgumentError(`--segmentation ${o.segmentation}: no ${f} for image ${basename(it.path)}`);
    }
    const inputs = { data: new Float32Array(0), batch: 0, labels, preprocess };
    for (const r of methods) checkMethod(g, inputs, r); // bad options fail before the GPU starts
    if (metrics.includes('randomisation')) cascadeSteps(g, randomise); // so do bad layer names
  }
  return p;
}

/** The files of an --out PREFIX run. */
const batchFiles = (prefix: string) => [`${prefix}.csv`, `${prefix}.json`, `${prefix}.png`, `${prefix}-curves.png`, `${prefix}-randomisation.png`];

/** The options the evaluation takes, from the command line. */
function evaluateOptions(p: PreparedEvaluate): Parameters<typeof evaluate>[3] {
  const { o } = p;
  return {
    metrics: p.metrics, steps: o.steps, sigma: o.sigma, tolerance: o.tolerance, batch: o.batch, randomise: p.randomise, seed: o.seed,
    infidelitySamples: o.infidelitySamples, infidelitySigma: o.infidelitySigma, sensitivitySamples: o.sensitivitySamples, radius: o.radius,
  };
}

export async function evaluateCommand(argv: string[]): Promise<number> {
  const p = prepareEvaluate(argv);
  if (p.dataset) return datasetRun(EVALUATE_DATASET, p, 'evaluate');
  const { o, graph: g, methods, metrics, preprocess, labels } = p;
  const [c, h, w] = p.shape;
  // with --segmentation, an --images folder in the ADE20K layout gives its images, not its label PNGs
  const given = o.images?.length ? imageFiles(o.images).filter((f) => !o.segmentation || !LABEL_PNG.test(basename(f.path))) : sceneImages(o.segmentation!).map((path) => ({ path, name: basename(path) }));
  const paths = given.map((f) => f.path);
  const per = c * h * w;
  const data = new Float32Array(per * paths.length);
  const images = paths.map((file, i) => {
    const img = decodeImage(readBytes(file, 'image'), basename(file), maxPixels(process.env));
    data.set(preprocessImage(img, preprocess), i * per);
    return img;
  });
  const names = given.map((f) => f.name);
  const masks = o.masks ? paths.map((path, i) => readMask(o.masks!, path, images[i]!, h, w)) : undefined;
  const regions = o.segmentation ? paths.map((path, i) => readScene(o.segmentation!, path, images[i]!, h, w)) : undefined;
  const inputs = { data, batch: paths.length, names, labels, preprocess, fromImages: true };

  for (const r of methods) checkMethod(g, inputs, r); // bad options fail before the GPU starts
  if (metrics.includes('randomisation')) cascadeSteps(g, p.randomise); // so do bad layer names

  const engine = await createNodeEngine();
  const model = new Model(engine, g);
  // a phase (a method's maps, then its deletion/insertion steps) relabels the bar, which starts its own line and ETA
  const bar = progressBar('evaluate', 0);
  const update = (done: number, total: number, what = 'evaluate') => bar.update(done, total, what);
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  let result;
  try {
    result = await evaluate(model, inputs, methods, { ...evaluateOptions(p), masks, regions, progress: update, signal: abort.signal });
  } finally {
    process.off('SIGINT', onSigint);
    bar.done();
    model.destroy();
  }
  const ctx: FigureContext = { ...inputs, shape: p.shape, model: basename(o.model) };
  const out = evaluationFiles(o.out, result, ctx, { segmentation: o.segmentation ? { folder: o.segmentation, matching: MATCHING_RULE } : undefined });
  for (const f of await writeOutputSet(out)) console.log(f);
  if (result.notDecorrelating) console.log(decorrelationLine(result.notDecorrelating));
  for (const m of result.methods) for (const wmsg of m.warnings) console.error(`loupe: warning: ${wmsg}`);
  return 0;
}

/**
 * PREFIX.csv, PREFIX.json, PREFIX.png, PREFIX-curves.png (deletion, insertion) and
 * PREFIX-randomisation.png (randomisation) of an evaluation: an --out PREFIX run's files, and a
 * data-set run's aggregates (built from its images' records). `shown`: the images the figures
 * show (default: ctx's inputs, preprocessing undone) and the title of PREFIX.png.
 */
export function evaluationFiles(prefix: string, result: Evaluation, ctx: FigureContext, extra: { segmentation?: Record<string, unknown>; figure?: { result: Evaluation; ctx: FigureContext; shown: RGBAImage[]; title?: string } } = {}): OutputFile[] {
  const table = evaluationTable(result);
  const csvCell = (v: string | number) => (typeof v === 'string' && /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : String(v));
  const json = {
    model: ctx.model, images: ctx.names, metrics: result.metrics, steps: result.steps, sigma: result.sigma, tolerance: result.tolerance,
    deletionBaseline: result.deletionBaseline, insertionStart: `the image blurred by a Gaussian of σ ${result.sigma} px`,
    ...(extra.segmentation && { segmentation: extra.segmentation }),
    ...(result.notDecorrelating && {
      randomisation: {
        reinitialisation: "each parameter tensor of a randomised layer replaced by a seeded permutation of its own values", seed: result.seed,
        class: 'the class each method explained on the original model', ssim: 'maps min-max normalised to [0, 1], 7×7 uniform window, C1 = 0.01², C2 = 0.03²',
        notDecorrelating: result.notDecorrelating, line: decorrelationLine(result.notDecorrelating),
      },
    }),
    ...(result.infidelity && {
      infidelity: {
        ...result.infidelity, seed: result.seed, noise: 'I ~ N(0, σ²) on every input value, σ = sigma × the pixel range in network units; f(x − I) not clipped',
        value: 'INFD = mean over the samples of (β·IᵀΦ − (f(x) − f(x − I)))², IᵀΦ = Σ_p Φ_p Σ_c I_c,p; per image also β, the unnormalised value (β = 1) and the value relative to E[Δf²]; lower is better',
      },
    }),
    ...(result.sensitivity && { sensitivity: { ...result.sensitivity, seed: result.seed, noise: 'u uniform in the L∞ ball of radius × the pixel range in network units; the method explains x + u with the class it explained on x', lower: 'lower is better' } }),
    ...(result.methods.some((m) => m.mean.completeness !== undefined) && {
      completeness: { value: '|Σ map − target| / |target| as the method states it (ig: f(x) − f(baseline); lrp: the class logit; etalon: NET(X) against <W_X, X> + b); null where the target is 0; lower is better', methods: result.methods.filter((m) => m.mean.completeness !== undefined).map((m) => m.method) },
    }),
    methods: result.methods.map((m) => ({
      method: m.method, options: optionNames(m.options), mean: m.mean, images: m.images,
      ...(m.randomisation && { decorrelates: m.decorrelates, randomisation: m.randomisation.map((s) => ({ layer: s.layer, layers: s.layers, mean: s.mean, images: s.images })) }),
      warnings: m.warnings,
    })),
  };
  const fig = extra.figure ?? { result, ctx, shown: shownImages(ctx) };
  const out: OutputFile[] = [
    [`${prefix}.csv`, () => new TextEncoder().encode(`${table.columns.join(',')}\n${table.rows.map((r) => r.map(csvCell).join(',')).join('\n')}\n`)],
    [`${prefix}.json`, () => new TextEncoder().encode(toJson(json))],
    [`${prefix}.png`, () => encodePng(evaluationFigure(fig.result, fig.ctx, fig.shown, fig.title))],
  ];
  const curves = curvesFigure(result, ctx.model);
  if (curves) out.push([`${prefix}-curves.png`, () => encodePng(curves)]);
  const cascade = randomisationFigure(fig.result, fig.ctx, fig.shown);
  if (cascade) out.push([`${prefix}-randomisation.png`, () => encodePng(cascade)]);
  return out;
}

/** A method's options as the JSON shows them: a file option by its name. */
const optionNames = (options: Record<string, unknown>) => Object.fromEntries(Object.entries(options).map(([k, v]) => [k, v && typeof v === 'object' && 'bytes' in v ? (v as unknown as { name: string }).name : v]));

// ---- data-set runs: one image per item, the aggregates in the finisher -------------------------------------
//
// An item is one image, all methods, all metrics: the same evaluation as an --out PREFIX run, on a
// batch of that one image with its own mask or scene, written as DIR/NAME.json (per method the
// image's class, every metric's value, the curves, the randomisation statistics per step, the
// warnings), DIR/NAME.npy (float32, methods × (1 + randomisation steps) × H × W: the maps, then
// each step's maps) and DIR/NAME-input.png (the image as the model sees it, for the figures).
// Infidelity's and max-sensitivity's noise is keyed by the image's name (its SHA-256), not its
// place in a batch, so an image's numbers are the same in any run or shard; the randomised models
// are the same for every image (the permutations are seeded by --seed alone). What is computed over
// the whole set (the means, the mean curves, the pointing accuracy, whether a method decorrelates
// and the figures) is computed by the finisher from the items' records, in item-name order, as sums
// divided by counts: one run and any number of merged shards give the same bytes.

/** The key of an image's noise streams: the first 32 bits of its name's SHA-256. */
export const noiseKey = (name: string) => parseInt(sha256(name).slice(0, 8), 16);

/** What a data-set run computes, as run.json records it (paths of the model, images, masks and --out are not part of it). */
export function evaluateIdentity(p: PreparedEvaluate): RunIdentity {
  const { o, metrics } = p;
  const seeded = metrics.includes('randomisation') || metrics.includes('infidelity') || metrics.includes('sensitivity');
  const [c, h, w] = p.shape;
  const ctx = { input: { channels: c, height: h, width: w }, labels: p.labels, scale: p.preprocess.scale ?? 1 };
  // each method's options validated, defaults applied (an option given at its default is the same run)
  const methods = p.methods.map((r) => ({
    name: r.name,
    options: Object.fromEntries(Object.entries(explainer(r.name).validate(r.options ?? {}, ctx)).map(([k, v]) => [k, v && typeof v === 'object' && 'bytes' in v ? { name: (v as unknown as { name: string }).name, sha256: sha256((v as unknown as { bytes: Uint8Array }).bytes) } : v])),
  }));
  return {
    command: 'evaluate',
    parameters: {
      model: { name: basename(o.model), sha256: fileSha256(o.model) },
      ...(o.weights && { weights: { name: basename(o.weights), sha256: fileSha256(o.weights) } }),
      preprocess: p.preprocess, labels: p.labels ? sha256(p.labels.join('\n')) : null, methods, metrics,
      ...((metrics.includes('deletion') || metrics.includes('insertion')) && { steps: o.steps }),
      ...(metrics.includes('insertion') && { sigma: o.sigma }),
      ...(metrics.includes('pointing') && { tolerance: o.tolerance, regions: o.masks ? 'masks' : 'segmentation' }),
      ...(metrics.includes('randomisation') && { randomise: p.randomise }),
      ...(metrics.includes('infidelity') && { infidelity: { samples: o.infidelitySamples, sigma: o.infidelitySigma } }),
      ...(metrics.includes('sensitivity') && { sensitivity: { samples: o.sensitivitySamples, radius: o.radius } }),
      ...(seeded && { seed: o.seed }),
    },
  };
}

/** One image's record (DIR/NAME.json). */
interface ImageRecord {
  image: string;
  model: string;
  /** the evaluation's parameters, as an --out PREFIX run's JSON gives them */
  evaluation: Omit<Evaluation, 'methods' | 'notDecorrelating'>;
  /** the key of the image's infidelity and sensitivity noise */
  noiseKey?: number;
  methods: {
    method: string;
    options: Record<string, unknown>;
    /** the class's label, with --labels */
    label?: string;
    result: ImageResult;
    randomisation?: { layer: string; layers: string[]; values: Record<RandomisationStat, number> }[];
    warnings: string[];
  }[];
}

/** One image of a data-set run evaluated: its record, maps and input picture under the --out folder. */
export async function evaluateItem(p: PreparedEvaluate, model: Model, item: DatasetItem, signal?: AbortSignal): Promise<OutputFile[]> {
  const { o } = p;
  const [c, h, w] = p.shape;
  const { data, images } = readImage(item.path, item.name, p.graph, p.preprocess);
  const masks = o.masks ? [readMask(o.masks, item.path, images[0]!, h, w)] : undefined;
  const regions = o.segmentation ? [readScene(o.segmentation, item.path, images[0]!, h, w)] : undefined;
  const inputs = { data, batch: 1, names: [item.name], labels: p.labels, preprocess: p.preprocess, fromImages: true };
  const seeded = p.metrics.includes('infidelity') || p.metrics.includes('sensitivity');
  const key = noiseKey(item.name);
  const e = await evaluate(model, inputs, p.methods, { ...evaluateOptions(p), masks, regions, keys: [key], signal });
  const { methods, notDecorrelating: _n, ...evaluation } = e;
  const record: ImageRecord = {
    image: item.name, model: basename(o.model), evaluation, ...(seeded && { noiseKey: key }),
    methods: methods.map((m) => ({
      method: m.method, options: optionNames(m.options), ...(p.labels?.[m.images[0]!.class] !== undefined && { label: p.labels[m.images[0]!.class] }),
      result: m.images[0]!,
      ...(m.randomisation && { randomisation: m.randomisation.map((s) => ({ layer: s.layer, layers: s.layers, values: s.images[0]! })) }),
      // whether a method decorrelates is decided over the whole set, by the finisher
      warnings: m.warnings.filter((x) => x !== undecidedWarning(m.method)),
    })),
  };
  const steps = methods[0]!.randomisation?.length ?? 0;
  const maps = new Float32Array(methods.length * (1 + steps) * h * w);
  methods.forEach((m, j) => {
    maps.set(m.maps, j * (1 + steps) * h * w);
    m.randomisation?.forEach((s, k) => maps.set(s.maps, (j * (1 + steps) + 1 + k) * h * w));
  });
  const stem = join(p.dataset!.out, itemStem(item.name));
  const shown = shownImages({ ...inputs, shape: [c, h, w], model: record.model })[0]!;
  return [
    [`${stem}.json`, () => new TextEncoder().encode(toJson(record))],
    [`${stem}.npy`, () => writeNpy([methods.length, 1 + steps, h, w], maps)],
    [`${stem}-input.png`, () => encodePng(shown)],
  ];
}

export const EVALUATE_DATASET: DatasetCommand<PreparedEvaluate> = {
  command: 'evaluate',
  prepare: (argv) => prepareEvaluate(argv),
  isDataset: (p) => p.dataset !== undefined,
  identity: evaluateIdentity,
  items: (p) => p.dataset!.items,
  out: (p) => p.dataset!.out,
  shard: (p) => shardOf(p.o.shard, p.o.shards),
  open: (p, engine) => {
    const model = new Model(engine, p.graph);
    return { compute: async (it, signal) => ({ files: await evaluateItem(p, model, it, signal) }), close: () => model.destroy() };
  },
};
registerDatasetCommand(EVALUATE_DATASET);

/** JSON's null (a NaN when written) back to NaN where a number is expected. */
const numberOf = (v: number | null | undefined) => (typeof v === 'number' ? v : NaN);

/** An image's result as written, NaN restored where the JSON holds null for a number that is undefined. */
function reviveResult(r: ImageResult): ImageResult {
  const out: ImageResult = { ...r };
  if (r.infidelity) out.infidelity = { infidelity: numberOf(r.infidelity.infidelity), beta: numberOf(r.infidelity.beta), unnormalised: numberOf(r.infidelity.unnormalised), relative: numberOf(r.infidelity.relative) };
  if (r.sensitivity) out.sensitivity = { max: numberOf(r.sensitivity.max), values: r.sensitivity.values.map(numberOf) };
  return out;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The finisher of `loupe evaluate`'s data-set runs: every complete image item of the folder, in
 * item-name order, into DIR/evaluation.csv, .json, .png, -curves.png (and -randomisation.png), the
 * same files an --out PREFIX run writes, recorded as the item '@evaluation'. Nothing is written
 * when the recorded aggregates were built from the same items' files.
 */
export async function finishEvaluation(manifest: Manifest): Promise<string[]> {
  const entries = manifest.all().filter((e) => !e.item.startsWith('@')).sort((a, b) => byName(a.item, b.item)).filter((e) => manifest.done(e.item));
  if (entries.length === 0) return [];
  const sources = sha256(canonicalJson(entries.map((e) => [e.item, e.outputs.map((f) => f.sha256)])));
  const item = `@${AGGREGATE}`;
  if (manifest.done(item, sources)) return [];
  const t0 = Date.now();
  const fileOf = (e: (typeof entries)[number], suffix: string) => {
    const f = e.outputs.find((x) => x.file.endsWith(suffix));
    if (!f) throw new InputFormatError(`${manifest.path}: ${e.item} has no ${suffix} file; not an item of loupe evaluate`);
    return join(manifest.dir, f.file);
  };
  const records = entries.map((e) => {
    const path = fileOf(e, '.json');
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as ImageRecord;
    } catch (err) {
      throw new InputFormatError(`${path}: not an image record of loupe evaluate (${(err as Error).message})`);
    }
  });
  const first = records[0]!;
  const names = records.map((r) => r.image);
  const shownCount = Math.min(FIGURE_IMAGES, records.length);
  // maps of the images the figures show: the first in name order
  const mapsOf = entries.slice(0, shownCount).map((e) => readNpy(new Uint8Array(readFileSync(fileOf(e, '.npy'))), basename(fileOf(e, '.npy'))));
  const shape = mapsOf[0]!.shape;
  if (shape.length !== 4) throw new InputFormatError(`${fileOf(entries[0]!, '.npy')}: maps of shape [${shape.join(', ')}], not methods × (1 + steps) × H × W`);
  const [m, s1, h, w] = shape as [number, number, number, number];
  const hw = h * w;
  mapsOf.forEach((a, i) => {
    if (a.shape.join() !== shape.join()) throw new InputFormatError(`${fileOf(entries[i]!, '.npy')}: maps of shape [${a.shape.join(', ')}], the first image's are [${shape.join(', ')}]: not one run`);
  });
  const shown = entries.slice(0, shownCount).map((e) => decodeImage(new Uint8Array(readFileSync(fileOf(e, '-input.png'))), basename(fileOf(e, '-input.png'))));
  const metrics = first.evaluation.metrics;
  const methods: MethodResult[] = first.methods.map((fm, j) => {
    const images = records.map((r) => {
      const rm = r.methods[j];
      if (rm?.method !== fm.method) throw new InputFormatError(`${manifest.dir}: ${r.image}'s record holds other methods than ${first.image}'s: not one run`);
      return { ...reviveResult(rm.result), image: r.image };
    });
    const maps = new Float32Array(shownCount * hw);
    mapsOf.forEach((a, i) => maps.set(a.data.subarray(j * s1 * hw, (j * s1 + 1) * hw), i * hw));
    const res: MethodResult = { method: fm.method, options: fm.options, maps, images, mean: imageMeans(images, metrics), warnings: records.flatMap((r) => r.methods[j]!.warnings) };
    if (fm.randomisation) {
      res.randomisation = fm.randomisation.map((st, k) => {
        const stepImages = records.map((r) => Object.fromEntries(RANDOMISATION_STATS.map((q) => [q, numberOf(r.methods[j]!.randomisation![k]!.values[q])])) as Record<RandomisationStat, number>);
        const stepMaps = new Float32Array(shownCount * hw);
        mapsOf.forEach((a, i) => stepMaps.set(a.data.subarray((j * s1 + 1 + k) * hw, (j * s1 + 2 + k) * hw), i * hw));
        return { layer: st.layer, layers: st.layers, maps: stepMaps, images: stepImages, mean: randomisationMean(stepImages) };
      });
      res.decorrelates = decorrelation(res.randomisation);
      if (res.decorrelates === null) res.warnings.push(undecidedWarning(fm.method));
    }
    return res;
  });
  if (methods.length !== m) throw new InputFormatError(`${fileOf(entries[0]!, '.npy')}: maps of ${m} methods, the record names ${methods.length}`);
  const result: Evaluation = { ...first.evaluation, methods };
  if (metrics.includes('randomisation')) result.notDecorrelating = methods.filter((x) => x.decorrelates === false).map((x) => x.method);
  // labels of the classes the images were explained for (a sparse list: the figures' captions)
  const labels: string[] = [];
  for (const r of records) for (const rm of r.methods) if (rm.label !== undefined) labels[rm.result.class] = rm.label;
  const ctx: FigureContext = { data: new Float32Array(0), batch: records.length, names, labels, fromImages: true, shape: [1, h, w], model: first.model };
  // the figures: the first FIGURE_IMAGES images (all of them in a smaller run)
  const few: Evaluation = { ...result, methods: methods.map((x) => ({ ...x, images: x.images.slice(0, shownCount) })) };
  const figCtx: FigureContext = { ...ctx, batch: shownCount, names: names.slice(0, shownCount) };
  const title = shownCount < records.length ? `evaluate, first ${shownCount} of ${records.length} images - ${first.model}` : undefined;
  const files = evaluationFiles(join(manifest.dir, AGGREGATE), result, ctx, {
    segmentation: metrics.includes('pointing') && (manifest.identity.parameters as { regions?: string }).regions === 'segmentation' ? { matching: MATCHING_RULE } : undefined,
    figure: { result: few, ctx: figCtx, shown, title },
  });
  const written = await writeOutputSet(files);
  const warnings = methods.reduce((a, x) => a + x.warnings.length, 0);
  if (warnings > 0) console.error(`loupe: warning: ${warnings} warning${warnings > 1 ? 's' : ''} about the images (all-zero maps, undefined values): each method's "warnings" in ${join(manifest.dir, `${AGGREGATE}.json`)}`);
  manifest.record({ item, inputSha256: sources, outputs: manifest.outputsOf(written), worker: workerName(), time: new Date(t0).toISOString(), seconds: (Date.now() - t0) / 1000 });
  return written;
}
registerFinisher('evaluate', finishEvaluation);
