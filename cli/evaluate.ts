// `loupe evaluate`: scores explanation methods on a set of images (explainers/evaluate.ts):
// deletion and insertion AUC, the pointing game, the randomisation test, infidelity and
// max-sensitivity, and the completeness gap of the methods that state one. Everything that can be refused is refused
// before the GPU starts (methods, their options, metrics, masks, --out); then a progress bar,
// Ctrl-C → nothing written, and PREFIX.csv/.json/.png and PREFIX-curves.png written all or nothing.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseCommand } from './args.ts';
import { createNodeEngine } from './gpu-node.ts';
import { Model } from '../engine/runner.ts';
import { ArgumentError, ShapeError } from '../engine/errors.ts';
import { filesUnder, IMAGE_EXTENSIONS, loadModelFile, preprocessFromArgs, readBytes, readLabels } from './inputs.ts';
import { decodeImage, encodePng, maxPixels, type RGBAImage } from '../loaders/image.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { resizeImage } from '../render/render.ts';
import { adeScene, classRegion, IMAGENET_CLASSES, MATCHING_RULE, resizeLabels } from '../loaders/ade20k.ts';
import { checkClassifier } from '../engine/classify.ts';
import { inferShapes } from '../engine/shapes.ts';
import { explainer } from '../explainers/registry.ts';
import { flagName } from '../explainers/options.ts';
import { checkMetrics, checkMethod, DECORRELATION_THRESHOLD, evaluate, evaluationTable, type MethodRequest } from '../explainers/evaluate.ts';
import { cascadeSteps, type CascadeOptions } from '../explainers/randomisation.ts';
import { curvesFigure, evaluationFigure, randomisationFigure } from '../render/evaluate.ts';
import { checkOutputs, toJson, writeOutputSet, type OutputFile } from './output.ts';
import { progressBar } from './progress.ts';
import { EVALUATE_OPTIONS } from './commands.ts';

/**
 * --images: files as given (named by their file name), folders as their PNG and JPEG files, those
 * of subfolders included, in name order (named by their path inside the folder, e.g. caffe/cat.jpg).
 */
export function imageFiles(given: readonly string[]): { path: string; name: string }[] {
  const out: { path: string; name: string }[] = [];
  for (const p of given) {
    if (!existsSync(p)) throw new ArgumentError(`--images ${p}: not found`);
    if (statSync(p).isDirectory()) {
      const files = filesUnder(p, (f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase()));
      if (files.length === 0) throw new ArgumentError(`--images ${p}: the folder holds no PNG or JPEG images`);
      out.push(...files);
    } else out.push({ path: p, name: basename(p) });
  }
  const seen = new Map<string, string>();
  for (const f of out) {
    const before = seen.get(f.name);
    if (before !== undefined) throw new ArgumentError(`--images: two images are named ${f.name} (${before} and ${f.path}); results are keyed by name`);
    seen.set(f.name, f.path);
  }
  return out;
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

export async function evaluateCommand(argv: string[]): Promise<number> {
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
  const files = [`${o.out}.csv`, `${o.out}.json`, `${o.out}.png`, `${o.out}-curves.png`, `${o.out}-randomisation.png`];
  const randomise = parseRandomiseLayers(o.randomiseLayers, o.randomiseEvery);
  checkOutputs('--out', o.out, files); // before the model is read
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
  // with --segmentation, an --images folder in the ADE20K layout gives its images, not its label PNGs
  const given = o.images?.length ? imageFiles(o.images).filter((f) => !o.segmentation || !LABEL_PNG.test(basename(f.path))) : sceneImages(o.segmentation!).map((p) => ({ path: p, name: basename(p) }));
  const paths = given.map((f) => f.path);
  const per = c * h * w;
  const data = new Float32Array(per * paths.length);
  const images = paths.map((file, i) => {
    const img = decodeImage(readBytes(file, 'image'), basename(file), maxPixels(process.env));
    data.set(preprocessImage(img, preprocess), i * per);
    return img;
  });
  const names = given.map((f) => f.name);
  const masks = o.masks ? paths.map((p, i) => readMask(o.masks!, p, images[i]!, h, w)) : undefined;
  const regions = o.segmentation ? paths.map((p, i) => readScene(o.segmentation!, p, images[i]!, h, w)) : undefined;
  const inputs = { data, batch: paths.length, names, labels, preprocess, fromImages: true };

  for (const r of methods) checkMethod(g, inputs, r); // bad options fail before the GPU starts
  if (metrics.includes('randomisation')) cascadeSteps(g, randomise); // so do bad layer names

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
    result = await evaluate(model, inputs, methods, {
      metrics, steps: o.steps, sigma: o.sigma, tolerance: o.tolerance, batch: o.batch, masks, regions, randomise, seed: o.seed,
      infidelitySamples: o.infidelitySamples, infidelitySigma: o.infidelitySigma, sensitivitySamples: o.sensitivitySamples, radius: o.radius, progress: update, signal: abort.signal,
    });
  } finally {
    process.off('SIGINT', onSigint);
    bar.done();
    model.destroy();
  }
  const table = evaluationTable(result);
  const ctx = { ...inputs, shape: [c, h, w] as [number, number, number], model: basename(o.model) };
  const csvCell = (v: string | number) => (typeof v === 'string' && /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : String(v));
  const json = {
    model: basename(o.model), images: names, metrics: result.metrics, steps: result.steps, sigma: result.sigma, tolerance: result.tolerance,
    deletionBaseline: result.deletionBaseline, insertionStart: `the image blurred by a Gaussian of σ ${result.sigma} px`,
    ...(o.segmentation && { segmentation: { folder: o.segmentation, matching: MATCHING_RULE } }),
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
      method: m.method, options: Object.fromEntries(Object.entries(m.options).map(([k, v]) => [k, v && typeof v === 'object' && 'bytes' in v ? (v as unknown as { name: string }).name : v])), mean: m.mean, images: m.images,
      ...(m.randomisation && { decorrelates: m.decorrelates, randomisation: m.randomisation.map((s) => ({ layer: s.layer, layers: s.layers, mean: s.mean, images: s.images })) }),
      warnings: m.warnings,
    })),
  };
  const out: OutputFile[] = [
    [`${o.out}.csv`, () => new TextEncoder().encode(`${table.columns.join(',')}\n${table.rows.map((r) => r.map(csvCell).join(',')).join('\n')}\n`)],
    [`${o.out}.json`, () => new TextEncoder().encode(toJson(json))],
    [`${o.out}.png`, () => encodePng(evaluationFigure(result, ctx))],
  ];
  const curves = curvesFigure(result, ctx.model);
  if (curves) out.push([`${o.out}-curves.png`, () => encodePng(curves)]);
  const cascade = randomisationFigure(result, ctx);
  if (cascade) out.push([`${o.out}-randomisation.png`, () => encodePng(cascade)]);
  for (const f of await writeOutputSet(out)) console.log(f);
  if (result.notDecorrelating) console.log(decorrelationLine(result.notDecorrelating));
  for (const m of result.methods) for (const wmsg of m.warnings) console.error(`loupe: warning: ${wmsg}`);
  return 0;
}
