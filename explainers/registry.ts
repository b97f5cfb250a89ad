// The explainer registry: every method as one entry — its name, a one-line summary, its options
// (types, defaults, bounds, help) and `run(model, inputs, options, progress, signal)` giving an
// Explanation. The CLI builds `loupe explain` from it, the help text and the README's command
// table are generated from it, and a page lists the methods and builds forms from the schemas.
// Entries call the explainer modules; they add validation and the metadata the outputs carry.
// No Node modules, no files: a file-like option (PDA's patch model) arrives as { name, bytes }.
import { Model } from '../engine/runner.ts';
import { readDecoder, decoderLayer, decoderInvert, dgnAm } from '../engine/upconv.ts';
import type { Preprocess } from '../engine/ir.ts';
import { ArgumentError, NonFiniteError, ShapeError } from '../engine/errors.ts';
import { checkInputs, firstNonFinite, imageText, positionText, valueText } from '../engine/finite.ts';
import { classifierValues, softmaxRows } from '../engine/classify.ts';
import { numel, inferShapes } from '../engine/shapes.ts';
import * as X from './gradients.ts';
import { CAM_FORMULAS, CAM_TITLES, type CamVariant, type GradientCam } from './cam.ts';
import { etalons, type EtalonRoute } from './etalon.ts';
import { predictionDifference } from './pda.ts';
import { decodePatchModel, checkPatchModel } from './patch-model.ts';
import { maxOut, invert, type OptimiseOptions, type MaxOutTarget } from './optimize.ts';
import { rise } from './rise.ts';
import { styleTransfer } from './style.ts';
import { validateOptions, decidedLater, flagName, type FileInput, type OptionContext, type OptionSpec, type Options } from './options.ts';
import { ablationCam, scoreCam } from './ablation.ts';
import { maxAbs, type ExplainInputs, type Explanation, type Progress, type Tensor } from './explanation.ts';
import { integratedGradients, inputTimesGradient, baselines, baselineName } from './integrated.ts';
import { smoothGrad } from './smoothgrad.ts';
import { lrp, LRP_RULES, LRP_FIRST } from './lrp.ts';
import { dissect, dissectionExplanation, inputImages } from './dissect.ts';
import { net2vec, net2vecExplanation } from './net2vec.ts';
import { attack } from './adversarial.ts';
import { colourConcepts } from '../loaders/colour-concepts.ts';

export type { ExplainInputs, Explanation, Progress };

export interface ExplainerEntry {
  name: string;
  title: string;
  summary: string;
  /** what it explains: no image (MaxOut), exactly one, or a batch */
  inputs: 'none' | 'one' | 'batch';
  options: readonly OptionSpec[];
  /** the options typed, defaults applied; throws ArgumentError naming a bad one */
  validate(given: Record<string, unknown>, ctx?: OptionContext): Record<string, unknown>;
  run(model: Model, inputs: ExplainInputs, options?: Record<string, unknown>, progress?: Progress, signal?: AbortSignal): Promise<Explanation>;
}

/** What a method's body sees: the inputs with their shape, names and preprocessing resolved. */
interface Job {
  model: Model;
  x: Float32Array;
  batch: number;
  c: number;
  h: number;
  w: number;
  names: string[];
  /** the names the caller gave (undefined: none), for errors that name an input */
  given?: readonly string[];
  labels?: string[];
  preprocess: Preprocess;
  fromImages: boolean;
  /** progress, with now and then the unfinished result for live views (MaxOut, inversion) */
  progress?: (done: number, total: number, preview?: Explanation) => void;
  signal?: AbortSignal;
}

/** JSON-able copies: typed arrays become arrays, undefined keys go, a file option becomes its name. */
function plain<T>(v: T): T {
  return JSON.parse(JSON.stringify(v, (_k, x) => (ArrayBuffer.isView(x) && !(x instanceof DataView) ? Array.from(x as unknown as ArrayLike<number>) : x)));
}
const parameters = (o: Record<string, unknown>) => plain(Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v && typeof v === 'object' && 'bytes' in v ? (v as unknown as FileInput).name : v])));

function optionContext(model: Model, inputs: ExplainInputs): OptionContext {
  const [, channels, height, width] = model.graph.input.shape;
  const pp = inputs.preprocess ?? model.graph.preprocess;
  return { input: height !== undefined && width !== undefined ? { channels: channels!, height, width } : undefined, labels: inputs.labels, scale: pp?.scale ?? 1 };
}

function define<const S extends readonly OptionSpec[]>(e: {
  name: string;
  title: string;
  summary: string;
  inputs: ExplainerEntry['inputs'];
  options: S;
  explain: (job: Job, o: Options<S>) => Promise<Explanation>;
}): ExplainerEntry {
  return {
    name: e.name, title: e.title, summary: e.summary, inputs: e.inputs, options: e.options,
    validate: (given, ctx) => validateOptions(e.options, given, ctx, e.name),
    async run(model, inputs, options = {}, progress, signal) {
      const [, c, h, w] = model.graph.input.shape;
      if (c === undefined || h === undefined || w === undefined) throw new ArgumentError(`${e.name} needs an image input (N×C×H×W); the model takes [${model.graph.input.shape.join(', ')}]`);
      const o = validateOptions(e.options, options, optionContext(model, inputs), e.name);
      const batch = e.inputs === 'none' ? 0 : inputs.batch;
      if (e.inputs === 'one' && batch !== 1) throw new ArgumentError(`${e.name} explains one image at a time (give one --image)`);
      if (e.inputs === 'batch' && batch < 1) throw new ArgumentError(`${e.name} needs at least one image`);
      if (inputs.data.length < batch * c * h * w) throw new ShapeError(`${e.name}: ${batch} images of ${c}×${h}×${w} need ${batch * c * h * w} values, got ${inputs.data.length}`);
      const report = progress && ((done: number, total: number, preview?: Explanation) => progress(done, total, e.name, preview));
      const x = inputs.data.subarray(0, batch * c * h * w);
      checkInputs(x, batch, [c, h, w], inputs.names); // NaN or ±Infinity: refused before any GPU work, naming the image
      const result = await e.explain({
        model, x, batch, c, h, w,
        names: inputs.names ?? Array.from({ length: batch }, (_, i) => `image ${i}`), given: inputs.names, labels: inputs.labels,
        preprocess: inputs.preprocess ?? model.graph.preprocess ?? {}, fromImages: inputs.fromImages ?? false, progress: report, signal,
      }, o);
      return review(e.name, result, inputs.names);
    },
  };
}

/** Why a map that is all zero shows nothing, per method. */
const EMPTY_BECAUSE: Record<string, string> = {
  saliency: 'the class score does not depend on the input there',
  'guided-backprop': 'no positive signal reaches the input',
  deconvnet: 'the projected feature map is zero for this image',
  gradcam: 'no feature map of the layer weighs positively for the class',
  'guided-gradcam': 'Grad-CAM or guided backpropagation is zero everywhere',
  gradcampp: 'the feature maps weighted by their Grad-CAM++ weights are nowhere positive for the class',
  xgradcam: 'the feature maps weighted by their XGrad-CAM weights are nowhere positive for the class',
  hirescam: 'gradient times activation, summed over the feature maps, is nowhere positive for the class',
  layercam: 'no positive gradient of the class meets a positive activation at the layer',
  eigencam: "the layer's activations do not vary over positions, or their first principal component is nowhere positive",
  ablationcam: 'the feature maps weighted by how much zeroing each lowers the class score are nowhere positive',
  scorecam: "the feature maps weighted by their masked inputs' class scores are nowhere positive",
  occlusion: 'no patch changes the class probability',
  rise: 'no mask changes the class probability',
  pda: 'no window changes the prediction',
  etalon: 'the neuron does not depend on the input around this image',
  ig: 'the class score does not change along the path from the baseline, or the image equals its baseline',
  'input-x-gradient': 'the class score does not depend on the input there, or the input is zero',
  smoothgrad: 'the base method gives nothing for the noisy copies',
  lrp: 'no relevance reaches the input (the class logit is zero, or the rules absorb it)',
};

/**
 * The checks every map-producing method's result goes through: a map holding NaN or ±Infinity is an
 * error naming the method and the image (or class, or neuron) it is for; a map that is exactly
 * all zero or constant is kept but not passed off as an explanation: `meta.warnings` says so, and
 * `note` carries a `loupe: warning: …` line per warning (the CLI prints the note on stderr); when
 * every map is so, `meta.empty` is true (the CLI then writes nothing and fails with the warning).
 * MaxOut and inversion (optimised images, no maps of an input) are left as they are.
 */
function review(method: string, e: Explanation, names?: readonly string[]): Explanation {
  if (!(method in EMPTY_BECAUSE)) return e;
  const meta = e.meta as { classes?: number[]; neurons?: number[] };
  const label = (i: number) =>
    method === 'pda' ? `class ${meta.classes?.[i] ?? i}` : method === 'etalon' ? `the etalon of neuron ${meta.neurons?.[i] ?? i}` : `${imageText(i, names)}`;
  const warnings: string[] = [];
  let maps = 0;
  const check = (x: Explanation, part?: string) => {
    const m = x.maps;
    if (!m) return;
    const slices = part !== undefined ? 1 : m.shape.length === 2 ? 1 : m.shape[0]!;
    const per = m.data.length / Math.max(1, slices);
    if (part === undefined) maps = slices;
    for (let i = 0; i < slices; i++) {
      const bad = firstNonFinite(m.data, i * per, (i + 1) * per);
      const dims = slices === 1 && (part !== undefined || m.shape.length === 2) ? m.shape : m.shape.slice(1);
      if (bad >= 0)
        throw new NonFiniteError(`${method}: the map${part !== undefined ? ` "${part}"` : ''}${part === undefined ? ` of ${label(i)}` : ''} holds ${valueText(m.data[bad]!)} at ${positionText(bad - i * per, dims)}: the computation overflowed float32`);
      if (part !== undefined) continue;
      const v = m.data[i * per]!;
      let constant = true;
      for (let q = i * per + 1; q < (i + 1) * per && constant; q++) constant = m.data[q] === v;
      if (constant) warnings.push(`${method}: the map of ${label(i)} is ${v === 0 ? 'all zero' : `constant (${v})`}: it explains nothing (${EMPTY_BECAUSE[method]})`);
    }
  };
  check(e);
  for (const [k, p] of Object.entries(e.parts ?? {})) check(p, k);
  if (warnings.length === 0) return e;
  // the method's own warnings (IG's completeness gap) stay first; its note already carries them
  const prior = (e.meta.warnings as string[] | undefined) ?? [];
  return { ...e, meta: { ...e.meta, warnings: [...prior, ...warnings], ...(warnings.length === maps ? { empty: true } : {}) }, note: [e.note, ...warnings.map((w) => `loupe: warning: ${w}`)].filter((l) => l).join('\n') };
}

/**
 * The step callbacks of an image optimisation: progress every step, and on logged steps (when the
 * caller follows progress) the images so far as an unfinished Explanation with that step's progress.
 */
function withPreview(j: Job, preview: (images: Float32Array) => Explanation) {
  let images: Float32Array | undefined;
  return {
    onStep: j.progress && ((t: number, total: number) => {
      j.progress!(t, total, images && preview(images));
      images = undefined;
    }),
    onImages: j.progress && ((_t: number, x: Float32Array) => void (images = x.slice())),
  };
}

// ---- options several methods share ------------------------------------------------------------

/** The budget and steps of an adversarial attack: the registry's attack and `loupe attack` share them. */
export const ATTACK_BUDGET = [
  { name: 'eps', type: 'number', default: 0.03, min: 0, max: 1, exclusive: true, help: "the L∞ budget, a fraction of the pixel range (0.03 ≈ 8/255, ImageNet's usual; MNIST's is 0.1-0.3)" },
  { name: 'steps', type: 'int', default: 10, min: 1, max: 100000, help: 'PGD: the steps (FGSM is one step)' },
  { name: 'alpha', type: 'number', min: 0, max: 1, exclusive: true, help: 'PGD: the step, a fraction of the pixel range (default 2.5·ε/steps)' },
  { name: 'randomStart', type: 'flag', help: 'PGD: start from a uniform random point of the ε-ball' },
  { name: 'seed', type: 'int', default: 0, min: 0, max: 2 ** 32 - 1, help: "PGD's random start (with --random-start)" },
] as const satisfies readonly OptionSpec[];

/** Style transfer's weights and optimiser: the registry's style and `loupe style` share them. */
export const STYLE_LOSS = [
  { name: 'alpha', type: 'number', default: 1, min: 0, help: 'weight of the content loss' },
  { name: 'beta', type: 'number', default: 10, min: 0, help: 'weight of the style loss (10: the two losses weigh about the same on SqueezeNet at pixel units)' },
  { name: 'iterations', type: 'int', default: 200, min: 1, max: 100000, help: 'Adam steps on the pixels' },
  { name: 'lr', type: 'number', min: 0, exclusive: true, help: "Adam's step, in the network's input units (default: 2 grey levels, 2 × the preprocessing's scale; 4 overshoots on SqueezeNet)" },
  { name: 'init', type: 'enum', values: ['content', 'noise'], default: 'content', help: "start from the content image, or from seeded uniform noise over the pixel range (Gatys et al.'s start)" },
  { name: 'seed', type: 'int', default: 0, min: 0, max: 2 ** 32 - 1, help: 'the noise start' },
] as const satisfies readonly OptionSpec[];

const CLASS = { name: 'class', type: 'classes', help: "the class to explain: an index or, with --labels, a label; one for all images or one per image (default: each image's top class)" } as const;
const LAYERS = { name: 'layer', type: 'layers', required: true, help: 'the layers (names as loupe info prints them, or value names); several give their mean' } as const;
const imageSide: { text: string; value: (ctx: OptionContext) => number | undefined } = { text: 'the image side', value: (ctx) => (ctx.input ? Math.min(ctx.input.height, ctx.input.width) : undefined) };

const mapShape = (j: Job) => (j.batch === 1 ? [j.h, j.w] : [j.batch, j.h, j.w]);
const classLabels = (j: Job, classes: number[]) => classes.map((k) => j.labels?.[k] ?? null);

/** Saliency and guided backprop: a reverse signal at the input, shown as max |signal| over channels. */
function inputSignalMethod(name: string, title: string, summary: string, fn: typeof X.saliency, stored: string) {
  return define({
    name, title, summary, inputs: 'batch', options: [CLASS],
    async explain(j, o) {
      const r = await fn(j.model, j.x, j.batch, { classes: o.class, signal: j.signal, onProgress: j.progress, names: j.given });
      const shape = mapShape(j);
      return {
        method: name, maps: { shape, data: r.maps }, tensors: { signal: r.signal },
        meta: plain({ method: name, inputs: j.names, parameters: parameters(o), classes: r.classes, labels: classLabels(j, r.classes), scores: r.scores, probs: r.probs, stored, shape }),
      };
    },
  });
}

function gradCamMethod(name: 'gradcam' | 'guided-gradcam', title: string, summary: string) {
  return define({
    name, title, summary, inputs: 'batch', options: [LAYERS, CLASS],
    async explain(j, o) {
      const target = { classes: o.class, signal: j.signal, onProgress: j.progress, names: j.given };
      const guided = name === 'guided-gradcam' ? await X.guidedGradCam(j.model, j.x, j.batch, o.layer, target) : undefined;
      const r = guided ?? (await X.gradCam(j.model, j.x, j.batch, o.layer, target));
      const multi = r.perLayer.length > 1;
      const tensors: Record<string, Tensor> = { perLayer: perLayerTensor(j, r.perLayer) };
      if (guided) Object.assign(tensors, { cam: { shape: [j.batch, j.h, j.w], data: guided.cam }, signal: guided.signal });
      const stored = name === 'gradcam' ? (multi ? 'mean of the per-layer Grad-CAMs, each normalised to [0,1]' : 'Grad-CAM normalised to [0,1]') : 'max over channels of |guided backprop ⊙ Grad-CAM|';
      const shape = mapShape(j);
      return {
        method: name, maps: { shape, data: r.maps }, tensors,
        meta: plain({ method: name, inputs: j.names, parameters: parameters(o), layers: o.layer, classes: r.classes, labels: classLabels(j, r.classes), scores: r.scores, probs: r.probs, layerSizes: r.perLayer.map((l) => l.size), stored, shape }),
      };
    },
  });
}

/** The per-layer maps of a CAM as one L×N×H×W tensor. */
function perLayerTensor(j: Job, layers: { maps: Float32Array }[]): Tensor {
  const hw = j.batch * j.h * j.w;
  const data = new Float32Array(layers.length * hw);
  layers.forEach((L, i) => data.set(L.maps, i * hw));
  return { shape: [layers.length, j.batch, j.h, j.w], data };
}

/** A perturbation CAM's per-channel class scores and weights, per layer (each N×C; layers differ in C). */
function perturbationTensors(j: Job, layers: { layer: string; channelScores: Float32Array; weights: Float32Array }[]): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  const tag = (L: { layer: string }) => (layers.length > 1 ? `-${safeName(L.layer)}` : '');
  for (const L of layers) {
    const c = L.weights.length / j.batch;
    out[`channelScores${tag(L)}`] = { shape: [j.batch, c], data: L.channelScores };
    out[`weights${tag(L)}`] = { shape: [j.batch, c], data: L.weights };
  }
  return out;
}

/** What a CAM's `maps` hold: the layer's map by its formula, or the mean of several, each normalised to [0,1]. */
const camStored = (variant: CamVariant, multi: boolean) =>
  multi ? `mean of the per-layer ${CAM_TITLES[variant]} maps, each normalised to [0,1]; per layer: ${CAM_FORMULAS[variant]}` : `${CAM_TITLES[variant]} normalised to [0,1]: ${CAM_FORMULAS[variant]}`;

/** The Grad-CAM variants (explainers/cam.ts): Grad-CAM's options, outputs and figures, their own channel or element weights. */
function camVariantMethod(name: Exclude<GradientCam, 'gradcam'>, summary: string) {
  return define({
    name, title: CAM_TITLES[name], summary, inputs: 'batch', options: [LAYERS, CLASS],
    async explain(j, o) {
      const r = await X.gradientCam(j.model, j.x, j.batch, o.layer, name, { classes: o.class, signal: j.signal, onProgress: j.progress, names: j.given });
      const shape = mapShape(j);
      return {
        method: name, maps: { shape, data: r.maps }, tensors: { perLayer: perLayerTensor(j, r.perLayer) },
        meta: plain({ method: name, inputs: j.names, parameters: parameters(o), layers: o.layer, classes: r.classes, labels: classLabels(j, r.classes), scores: r.scores, probs: r.probs, layerSizes: r.perLayer.map((l) => l.size), stored: camStored(name, r.perLayer.length > 1), shape }),
      };
    },
  });
}


// ---- Integrated Gradients, input × gradient, SmoothGrad ----------------------------------------

/** The completeness gap above which IG's result carries a warning. */
const GAP_WARNING = 0.05;

/**
 * IG's options; `later` (SmoothGrad) leaves every default to IG, so that an option given for a base
 * that does not take it can be refused.
 */
function igOptions(later: boolean) {
  const def = <T,>(v: T, text: string) => (later ? decidedLater(`as ig: ${text}`) : v);
  return [
    { name: 'steps', type: 'int', min: 1, default: def(50, '50'), help: 'points on the path from the baseline to the image (the quadrature\'s nodes)' },
    {
      // The midpoint sum by default: along the path of a ReLU/max-pool net the gradient is piecewise
      // constant, so the error comes from the jumps and grows with the weight of the nodes around
      // them; Gauss–Legendre's middle weights are up to π/2 times the midpoint sum's 1/steps (on
      // SqueezeNet, both.png, class 243, black baseline: gap 0.64% at 64 midpoint steps, 2.3% at 64
      // Gauss–Legendre nodes, 0.66% at 128). Gauss–Legendre wins on smooth nets (sigmoid, ELU, ...).
      name: 'rule', type: 'enum', values: ['riemann', 'gauss-legendre'], default: def('riemann' as const, 'riemann'),
      help: 'the quadrature along the path: the midpoint Riemann sum (alpha_k = (k + 1/2)/steps, weights 1/steps; best for ReLU nets, whose gradient jumps along the path) or Gauss–Legendre nodes and weights on [0,1] (best for smooth nets)',
    },
    {
      name: 'baseline', type: 'file', keywords: ['black', 'blur', 'noise'], arg: 'black|blur|noise|FILE.npy', default: def('black', 'black'),
      help: "the path's start: pixel value 0 through the preprocessing, a Gaussian blur of the image (--blur-sigma), uniform noise over the pixel range (--seed), or an .npy of the input's shape (C×H×W, or N×C×H×W)",
    },
    { name: 'blurSigma', type: 'number', min: 0, default: decidedLater('a tenth of the image side'), help: 'σ of the blurred baseline, in pixels' },
  ] as const;
}

const IG_SUMMARY = 'gradients integrated along the path from a baseline to the input, times their difference (Sundararajan et al.)';

/** Input-space attributions as a method's result: the signed channel sum as the map, the tensor kept. */
function attributionMeta(j: Job, name: string, o: Record<string, unknown>, r: { classes: number[]; scores: number[]; probs: number[] }, stored: string, extra: Record<string, unknown> = {}) {
  return plain({ method: name, inputs: j.names, parameters: parameters(o), classes: r.classes, labels: classLabels(j, r.classes), scores: r.scores, probs: r.probs, ...extra, stored, shape: mapShape(j) });
}

/** The methods SmoothGrad wraps (each gives one map per image for a class). */
const SMOOTH_BASES = ['saliency', 'guided-backprop', 'input-x-gradient', 'ig', 'gradcam', 'guided-gradcam', 'gradcampp', 'xgradcam', 'hirescam', 'layercam'] as const;

// ---- MaxOut and inversion: the optimiser and regularisers ---------------------------------------

/**
 * The options of an image optimisation. MaxOut's defaults (Lucid's recipe: a Fourier
 * parameterisation of decorrelated colours, random scale, rotation and shift each step) give
 * recognisable images for any layer without tuning; inversion keeps plain pixels (it matches
 * features at their positions, so it takes no random transforms by default).
 */
/** `maxout --generator`: DGN-AM through a decoder (engine/upconv.ts). */
async function generatorMaxOut(j: Job, file: FileInput, classes: number[], iterations: number, lr: number, seed: number): Promise<Explanation> {
  const { graph, meta } = readDecoder(file.bytes, file.name);
  const { logits } = classifierValues(j.model.graph);
  const C = numel((await j.model.run(new Float32Array(j.c * j.h * j.w), 1, { outputs: [logits] })).get(j.model.resolve(logits))!.shape.slice(1));
  for (const c of classes) if (!Number.isInteger(c) || c < 0 || c >= C) throw new ArgumentError(`class ${c} is out of range: the model has ${C} classes (0–${C - 1})`);
  const generator = new Model(j.model.engine, graph);
  try {
    const out = numel(inferShapes(graph, 1).get(graph.outputs[0]!)!.slice(1));
    if (out !== j.c * j.h * j.w) throw new ArgumentError(`--generator ${file.name} makes ${out} values per image; the model takes ${j.c}×${j.h}×${j.w}`);
    const scale = j.preprocess.scale ?? 1;
    const means = j.preprocess.mean ?? [0];
    const range: [number, number] = [Math.min(...means.map((m) => -m * scale)), Math.max(...means.map((m) => (255 - m) * scale))];
    const r = await dgnAm(j.model, generator, meta, logits, classes, { iterations, lr, seed, range, signal: j.signal, onStep: j.progress && ((d, t) => j.progress!(d, t)) });
    return {
      method: 'maxout', maps: { shape: [classes.length, j.c, j.h, j.w], data: r.images }, tensors: { codes: { shape: [classes.length, numel(meta.shape)], data: r.codes } },
      meta: plain({ method: 'maxout', kind: 'class', targets: classes, generator: file.name, generatorLayer: meta.layer, objective: r.log.at(-1)!.objective, log: r.log, parameters: { iterations, codeLr: lr, seed, range } }),
    };
  } finally {
    generator.destroy();
  }
}

/** `invert --decoder`: the classifier to the decoder's layer, then the decoder (engine/upconv.ts). */
async function decoderInversion(j: Job, file: FileInput, layer: string | undefined): Promise<Explanation> {
  const { graph, meta } = readDecoder(file.bytes, file.name);
  if (layer !== undefined && j.model.resolve(layer) !== j.model.resolve(meta.layer))
    throw new ArgumentError(`invert: --decoder ${file.name} inverts layer ${meta.layer}, not --layer ${layer} (leave --layer out)`);
  const value = await decoderLayer(j.model, meta, file.name);
  const decoder = new Model(j.model.engine, graph);
  try {
    const r = await decoderInvert(j.model, decoder, value, j.x, 1);
    const error = r.featureError[0]!;
    return {
      method: 'invert', maps: { shape: [j.c, j.h, j.w], data: r.images }, tensors: {},
      meta: plain({
        method: 'invert', input: j.names[0], layer: meta.layer, decoder: file.name, finalError: error, pixelError: r.pixelError[0], seconds: r.seconds,
        log: [{ step: 0, error }], trained: meta.trained,
      }),
      table: { columns: ['step', 'relative_error'], rows: [[0, error]] },
    };
  } finally {
    decoder.destroy();
  }
}

function optimiserOptions(lr: number, maxout: boolean) {
  return [
    { name: 'iterations', type: 'int', default: maxout ? MAXOUT_ITERATIONS : 200, min: 1, help: 'gradient steps' },
    {
      name: 'param', type: 'enum', values: ['fourier', 'pixel'], default: maxout ? 'fourier' : 'pixel',
      help: "the image's parameterisation: fourier (scaled Fourier coefficients of decorrelated colours through a sigmoid, as Lucid) or pixel (the pixels themselves)",
    },
    { name: 'lr', type: 'number', min: 0, default: { text: `${lr} × the input scale`, value: (ctx: OptionContext) => lr * (ctx.scale ?? 1) }, help: `step size in network input units (pixel); fourier: the coefficients' step, ${FOURIER_LR} at the default and in proportion to it` },
    { name: 'optimizer', type: 'enum', values: ['adam', 'sgd'], default: 'adam', help: 'Adam, or SGD with momentum' },
    { name: 'momentum', type: 'number', min: 0, help: 'SGD momentum (default 0.9)' },
    { name: 'seed', type: 'int', default: 0, min: 0, help: 'seed of the initial noise and the random transforms' },
    { name: 'init', type: 'enum', values: ['noise', 'mean'], default: 'noise', help: 'start from noise around the data mean (fourier: noise of the coefficients), or from the mean' },
    { name: 'tv', type: 'number', default: 0, min: 0, help: 'weight of the total-variation regulariser (fourier: in the same scale-free units as --norm)' },
    { name: 'tvBeta', type: 'number', default: 2, min: 1, help: 'exponent β of total variation' },
    {
      name: 'norm', type: 'number', min: 0, default: maxout ? decidedLater(`fourier: ${FOURIER_NORM}; pixel: 0`) : 0,
      help: "weight of the α-norm regulariser (fourier: of the pixels in half-ranges around mid-range, against the objective's gradient over its typical size)",
    },
    { name: 'alpha', type: 'number', default: 2, min: 1, help: 'exponent α of the norm' },
    { name: 'blurEvery', type: 'int', default: 0, min: 0, help: 'Gaussian blur every N steps (0: never)' },
    { name: 'blurSigma', type: 'number', default: 0.5, min: 0, help: 'σ of that blur, in pixels' },
    {
      name: 'jitter', type: 'number', min: 0,
      default: maxout ? decidedLater('fourier: 1/28 of the image side, for a unit at most 1/16 of its receptive field; pixel: 0') : 0,
      help: 'random shift of up to ± this many pixels per step (pixel: whole pixels, circular)',
    },
    { name: 'zoom', type: 'number', min: 0, max: 0.5, default: maxout ? 0.1 : 0, help: 'fourier: random scale of up to ± this fraction per step' },
    { name: 'rotate', type: 'number', min: 0, max: 180, default: maxout ? 10 : 0, help: 'fourier: random rotation of up to ± this many degrees per step' },
    { name: 'clipNorm', type: 'number', default: 0, min: 0, help: "zero pixels whose norm is below this fraction of the image's largest (fourier: of the final image)" },
    { name: 'clipContribution', type: 'number', default: 0, min: 0, help: "zero pixels whose |x · gradient| is below this fraction of the image's largest (fourier: of the final image)" },
  ] as const;
}
type OptimiserValues = Options<ReturnType<typeof optimiserOptions>>;

/** MaxOut's default number of steps. */
const MAXOUT_ITERATIONS = 128;
/** MaxOut's default weight of the (scale-free) L2 norm with the Fourier parameterisation. */
const FOURIER_NORM = 0.3;
/** The Fourier coefficients' step at the default lr (Lucid's Adam rate). */
const FOURIER_LR = 0.05;

/** The optimiser settings, with pixels kept in the range of preprocessed 0..255. */
function optimise(j: Job, o: OptimiserValues): OptimiseOptions {
  const scale = j.preprocess.scale ?? 1;
  const means = j.preprocess.mean ?? [0];
  const lo = Math.min(...means.map((m) => (0 - m) * scale)), hi = Math.max(...means.map((m) => (255 - m) * scale));
  const mid = j.preprocess.mean ? 0 : 127.5 * scale; // the data mean in the network's units
  const fourier = o.param === 'fourier';
  // each channel's own range (fourier: the sigmoid maps onto it)
  const ranges = Array.from({ length: j.c }, (_, c) => [(0 - (means[c] ?? means[0] ?? 0)) * scale, (255 - (means[c] ?? means[0] ?? 0)) * scale] as [number, number]);
  return {
    iterations: o.iterations, param: o.param, lr: fourier ? (FOURIER_LR * o.lr) / (2 * scale) : o.lr, optimizer: o.optimizer, momentum: o.momentum, seed: o.seed,
    init: o.init, initValue: mid, initStd: fourier ? undefined : 10 * scale, range: [lo, hi], ranges, fixMean: fourier,
    tv: o.tv, tvBeta: o.tvBeta, norm: o.norm ?? (fourier ? FOURIER_NORM : 0), alpha: o.alpha, blurEvery: o.blurEvery, blurSigma: o.blurSigma,
    jitter: o.jitter ?? (fourier ? undefined : 0), zoom: fourier ? o.zoom : 0, rotate: fourier ? o.rotate : 0, clipNorm: o.clipNorm, clipContribution: o.clipContribution,
  };
}

/** `--unit`: "centre", "Y,X" (a row and column of the layer) or "mean" (the whole channel). */
function parseUnit(s: string): [number, number] | 'centre' | 'mean' {
  const t = s.trim().toLowerCase();
  if (t === 'centre' || t === 'center') return 'centre';
  if (t === 'mean') return 'mean';
  const m = /^(\d+)\s*,\s*(\d+)$/.exec(t);
  if (!m) throw new ArgumentError(`--unit must be centre, Y,X (a row and column of the layer) or mean, got "${s}"`);
  return [Number(m[1]), Number(m[2])];
}

const safeName = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '') || 'layer';

// ---- the methods ------------------------------------------------------------------------------

export const explainers: readonly ExplainerEntry[] = [
  inputSignalMethod('saliency', 'Saliency', 'gradient of the class score with respect to the input pixels (Simonyan et al.)', X.saliency, 'max over channels of |d logit / d input|'),

  define({
    name: 'deconvnet', title: 'DeconvNet', summary: "one feature map of a layer projected back to pixels through unpooling and transposed filters (Zeiler & Fergus)", inputs: 'batch',
    options: [
      { name: 'layer', type: 'layer', required: true, help: 'the conv layer whose feature map is projected' },
      { name: 'unit', type: 'int', min: 0, help: "the feature map (channel) to project (default: each image's most active)" },
      { name: 'top', type: 'flag', help: "keep only that map's strongest activation" },
    ],
    async explain(j, o) {
      const r = await X.deconvnet(j.model, j.x, j.batch, { layer: o.layer, unit: o.unit, top: o.top, signal: j.signal, onProgress: j.progress, names: j.given });
      const shape = mapShape(j);
      return {
        method: 'deconvnet', maps: { shape, data: r.maps }, tensors: { signal: r.signal as Tensor },
        meta: plain({ method: 'deconvnet', inputs: j.names, parameters: parameters(o), layer: o.layer, units: r.units, top: o.top, stored: 'max over channels of |DeconvNet projection|', shape }),
      };
    },
  }),

  inputSignalMethod('guided-backprop', 'Guided backpropagation', 'the gradient passed back only where ReLUs were active and the signal is positive (Springenberg et al.)', X.guidedBackprop, 'max over channels of |guided backprop signal|'),
  gradCamMethod('gradcam', 'Grad-CAM', "a layer's feature maps weighted by their mean gradient, upsampled; several layers give their mean (Selvaraju et al.)"),
  gradCamMethod('guided-gradcam', 'Guided Grad-CAM', 'guided backpropagation times the Grad-CAM map (Selvaraju et al.)'),
  camVariantMethod('gradcampp', 'feature maps weighted by their positive gradients, each position by g²/(2g² + ΣA·g³) (Chattopadhyay et al.)'),
  camVariantMethod('xgradcam', 'feature maps weighted by their activation-weighted gradient sum over their activation sum (Fu et al.)'),
  camVariantMethod('hirescam', 'gradient times activation, element by element, summed over the feature maps (Draelos & Carin)'),
  camVariantMethod('layercam', 'positive gradient times activation, element by element; works at low layers, several give their mean (Jiang et al.)'),

  define({
    name: 'eigencam', title: CAM_TITLES.eigencam, summary: "a layer's activations projected on their first principal component; no class, no gradients (Muhammad & Yeasin)", inputs: 'batch',
    options: [LAYERS],
    async explain(j, o) {
      const r = await X.eigenCam(j.model, j.x, j.batch, o.layer, { signal: j.signal, onProgress: j.progress, names: j.given });
      const shape = mapShape(j);
      return {
        method: 'eigencam', maps: { shape, data: r.maps }, tensors: { perLayer: perLayerTensor(j, r.perLayer) },
        meta: plain({ method: 'eigencam', inputs: j.names, parameters: parameters(o), layers: o.layer, layerSizes: r.perLayer.map((l) => l.size), stored: camStored('eigencam', r.perLayer.length > 1), shape }),
      };
    },
  }),

  define({
    name: 'ablationcam', title: 'Ablation-CAM', inputs: 'batch',
    summary: "feature maps weighted by the drop of the class score when each is zeroed; only later layers rerun (Desai & Ramaswamy)",
    options: [
      LAYERS, CLASS,
      { name: 'whole', type: 'flag', help: 'recompute the whole network for every ablated copy (default: only the layers after the layer, which zeroing a channel there cannot change before it; the whole network where a later layer also reads a value from before it)' },
      { name: 'batch', type: 'int', min: 1, help: 'ablated copies per batch (default and most: what the device fits)' },
    ],
    async explain(j, o) {
      const r = await ablationCam(j.model, j.x, j.batch, o.layer, { classes: o.class, whole: o.whole, batch: o.batch, signal: j.signal, onProgress: j.progress, names: j.given });
      const shape = mapShape(j);
      const multi = r.perLayer.length > 1;
      const formula = 'ReLU(Σ_k w_k A_k), w_k = (y_c − y_c^k) / y_c, y_c^k the class logit with channel k zeroed';
      const fallbacks = r.fallbacks.flatMap((f, i) => (f ? [`ablationcam: layer ${o.layer[i]}: the whole network ran for every copy: ${f}`] : []));
      return {
        method: 'ablationcam', maps: { shape, data: r.maps }, tensors: { perLayer: perLayerTensor(j, r.perLayer), ...perturbationTensors(j, r.perLayer) },
        meta: plain({
          method: 'ablationcam', inputs: j.names, parameters: parameters(o), layers: o.layer, classes: r.classes, labels: classLabels(j, r.classes), scores: r.scores, probs: r.probs,
          layerSizes: r.perLayer.map((l) => l.size), routes: r.routes, fallbacks: r.fallbacks, batches: r.batches, passes: r.passes, seconds: Number(r.seconds.toFixed(3)),
          stored: multi ? `mean of the per-layer Ablation-CAM maps, each normalised to [0,1]; per layer: ${formula}` : `Ablation-CAM normalised to [0,1]: ${formula}`, shape,
        }),
        note: [`ablationcam: ${r.passes} ${r.routes.every((x) => x === 'tail') ? 'tail' : r.routes.every((x) => x === 'whole') ? 'whole-network' : 'tail and whole-network'} pass${r.passes === 1 ? '' : 'es'} (${r.routes.map((x, i) => `${o.layer[i]}: ${x}, batches of ${r.batches[i]}`).join('; ')}) in ${r.seconds.toFixed(1)}s`, ...fallbacks].join('\n'),
      };
    },
  }),

  define({
    name: 'scorecam', title: 'Score-CAM', inputs: 'batch',
    summary: "feature maps weighted by the softmax of the class scores of the input masked by each map (Wang et al.)",
    options: [
      LAYERS, CLASS,
      { name: 'batch', type: 'int', min: 1, help: 'masked images per batch (default and most: what the device fits); each runs the whole network, as the mask changes the input and so every layer (only Ablation-CAM can recompute just the layers after --layer)' },
    ],
    async explain(j, o) {
      const r = await scoreCam(j.model, j.x, j.batch, o.layer, { classes: o.class, batch: o.batch, signal: j.signal, onProgress: j.progress, names: j.given });
      const shape = mapShape(j);
      const multi = r.perLayer.length > 1;
      const formula = 'ReLU(Σ_k w_k A_k), w = softmax_k(s), s_k the class logit of the input × channel k upsampled (bilinear, aligned corners) and min-max normalised';
      return {
        method: 'scorecam', maps: { shape, data: r.maps }, tensors: { perLayer: perLayerTensor(j, r.perLayer), ...perturbationTensors(j, r.perLayer) },
        meta: plain({
          method: 'scorecam', inputs: j.names, parameters: parameters(o), layers: o.layer, classes: r.classes, labels: classLabels(j, r.classes), scores: r.scores, probs: r.probs,
          layerSizes: r.perLayer.map((l) => l.size), route: 'whole', batches: r.batches, passes: r.passes, seconds: Number(r.seconds.toFixed(3)),
          stored: multi ? `mean of the per-layer Score-CAM maps, each normalised to [0,1]; per layer: ${formula}` : `Score-CAM normalised to [0,1]: ${formula}`, shape,
        }),
        note: `scorecam: ${r.passes} whole-network pass${r.passes === 1 ? '' : 'es'} (batches of ${r.batches.join(', ')}) in ${r.seconds.toFixed(1)}s`,
      };
    },
  }),

  define({
    name: 'occlusion', title: 'Occlusion', summary: 'drop of the class probability while a patch of the mean colour slides over the image (Zeiler & Fergus)', inputs: 'batch',
    options: [
      CLASS,
      { name: 'patch', type: 'int', default: 16, min: 1, max: imageSide, help: 'side of the square patch, in pixels' },
      { name: 'stride', type: 'int', min: 1, default: { text: 'half the patch', value: (_ctx: OptionContext, o: Record<string, unknown>) => Math.max(1, (o.patch as number) >> 1) }, help: 'step between patch positions' },
      { name: 'full', type: 'flag', help: 'recompute whole images (default: only the rectangle each patch changes, per layer)' },
    ],
    async explain(j, o) {
      const r = await X.occlusion(j.model, j.x, j.batch, { size: o.patch, stride: o.stride, onProgress: j.progress, signal: j.signal, incremental: !o.full, names: j.given }, { classes: o.class });
      const shape = mapShape(j);
      return {
        method: 'occlusion', maps: { shape, data: r.maps }, tensors: {},
        meta: plain({ method: 'occlusion', inputs: j.names, parameters: parameters(o), classes: r.classes, labels: classLabels(j, r.classes), probs: r.probs, patch: o.patch, stride: o.stride, positions: r.positions, incremental: !o.full, stored: 'mean drop of p(class) over the patches covering each pixel', shape }),
      };
    },
  }),

  define({
    name: 'rise', title: 'RISE', summary: 'the class probability of randomly masked copies of the image, averaged with the masks as weights (Petsiuk et al.)', inputs: 'batch',
    options: [
      CLASS,
      { name: 'masks', type: 'int', default: 4000, min: 1, help: 'N, the number of random masks' },
      { name: 'cells', type: 'int', default: 7, min: 1, max: imageSide, help: 'grid cells per side of a mask, before its bilinear upsampling to the image' },
      { name: 'p', type: 'number', default: 0.5, min: 0, max: 1, exclusive: true, help: 'probability that a cell is kept' },
      {
        name: 'fill', type: 'enum', values: ['black', 'zero', 'mean', 'blur'], default: 'black',
        help: "what masked pixels show: black (the paper's x ⊙ M: pixel 0 through the preprocessing), zero (0 in network units, as the paper's code: the data mean under mean subtraction), the image's mean colour, or the image blurred (σ half a cell)",
      },
      { name: 'seed', type: 'int', default: 0, min: 0, max: 2 ** 32 - 1, help: 'seed of the masks (the same seed gives the same masks)' },
      { name: 'batch', type: 'int', min: 1, help: 'masks per batch (default and most: what the device fits)' },
    ],
    async explain(j, o) {
      const scale = j.preprocess.scale ?? 1;
      const black = (j.preprocess.mean ?? [0]).map((m) => (0 - m) * scale);
      const r = await rise(j.model, j.x, j.batch, { masks: o.masks, cells: o.cells, p: o.p, seed: o.seed, batch: o.batch, fill: o.fill, black }, { classes: o.class, signal: j.signal, onProgress: j.progress, names: j.given });
      const shape = mapShape(j);
      return {
        method: 'rise', maps: { shape, data: r.maps }, tensors: {},
        meta: plain({
          method: 'rise', inputs: j.names, parameters: parameters(o), classes: r.classes, labels: classLabels(j, r.classes), scores: r.scores, probs: r.probs,
          masks: o.masks, cells: o.cells, p: o.p, seed: o.seed, fill: o.fill, batch: r.batch,
          seconds: Number(r.seconds.toFixed(3)), masksPerSecond: Number(r.masksPerSecond.toFixed(1)),
          stored: 'S_c = (1 / (N·p)) Σ_i p(class | image ⊙ M_i + fill ⊙ (1 − M_i)) · M_i over the N masks: the expected probability of the class when the pixel is kept',
          shape,
        }),
        note: `rise: ${o.masks} masks × ${j.batch} image${j.batch === 1 ? '' : 's'} in ${r.seconds.toFixed(1)}s (${r.masksPerSecond.toFixed(1)} masks/s, batches of ${r.batch})`,
      };
    },
  }),

  define({
    name: 'pda', title: 'Prediction difference analysis', summary: 'weight of evidence of each window, its pixels resampled from a patch model (Zintgraf et al.)', inputs: 'one',
    options: [
      { name: 'patchModel', type: 'file', required: true, help: 'the patch model (loupe patch-model) for this window size and preprocessing' },
      { name: 'sampling', type: 'enum', values: ['conditional', 'marginal'], default: 'conditional', help: "draw a window's pixels given its surroundings, or from other images" },
      CLASS,
      { name: 'top', type: 'int', default: 1, min: 1, conflicts: ['class'], help: 'explain the top N classes' },
      { name: 'node', type: 'enum', values: ['prob', 'logit', 'both'], default: 'prob', help: 'weight of evidence of the probability, activation difference of the logit, or both (PREFIX-logit.*)' },
      { name: 'layer', type: 'layer', help: 'also the relevance of each feature map of this hidden layer (PREFIX-LAYER.*)' },
      { name: 'unit', type: 'neurons', help: 'and of these units of that layer (flat indices)' },
      { name: 'maps', type: 'int', default: 16, min: 1, help: "the layer figure's number of feature maps" },
      { name: 'window', type: 'int', default: 10, min: 1, help: 'window side K, in pixels' },
      { name: 'padding', type: 'int', min: 0, help: "the patch model's padding L around the window (default: the patch model's)" },
      { name: 'samples', type: 'int', default: 10, min: 1, help: 'samples per window' },
      { name: 'stride', type: 'int', default: 1, min: 1, help: 'step between windows' },
      { name: 'seed', type: 'int', default: 0, min: 0, max: 2 ** 32 - 1, help: 'seed of the sampler' },
      { name: 'laplaceN', type: 'number', min: 0, exclusive: true, help: 'N of the Laplace correction (default: the training-set size for 1000 or 10 classes, else 50000)' },
      { name: 'batch', type: 'int', min: 1, help: 'windows per batch (default: what the device fits)' },
      { name: 'full', type: 'flag', help: 'recompute whole images (default: only the rectangle each window changes, per layer)' },
    ],
    async explain(j, o) {
      if (o.window > Math.min(j.h, j.w)) throw new ArgumentError(`window ${o.window} is larger than the image (${j.h}x${j.w})`);
      const pm = decodePatchModel(o.patchModel.bytes, o.patchModel.name);
      pm.source = o.patchModel.name;
      if (o.sampling === 'conditional' && o.padding !== undefined && o.padding !== pm.padding) throw new ArgumentError(`${o.patchModel.name}: built for padding ${pm.padding}, but --padding is ${o.padding}`);
      if (j.fromImages && pm.preprocess) checkPatchModel(pm, { sampling: o.sampling, window: o.window, channels: j.c, height: j.h, width: j.w, preprocess: j.preprocess });
      if (o.layer !== undefined) j.model.resolve(o.layer);
      const t0 = performance.now();
      const r = await predictionDifference(j.model, j.x, {
        sampling: o.sampling, patchModel: pm, window: o.window, stride: o.stride, samples: o.samples, seed: o.seed, classes: o.class, top: o.top,
        laplaceN: o.laplaceN, layer: o.layer, units: o.unit, windowsPerBatch: o.batch, onProgress: j.progress, signal: j.signal, incremental: !o.full,
      });
      const seconds = (performance.now() - t0) / 1000;
      const { h, w } = j;
      const common = {
        method: 'pda', inputs: j.names, sampling: o.sampling, window: o.window, padding: pm.padding, stride: o.stride, samples: o.samples, seed: o.seed,
        patchModel: o.patchModel.name, patchModelPatches: pm.patches, laplaceN: r.laplaceN, numClasses: r.numClasses,
        classes: r.classes, labels: classLabels(j, r.classes), probs: r.probs, logits: r.logits,
        windows: r.grid.count, windowGrid: [r.grid.rows, r.grid.cols], forwardImages: r.forwardImages, seconds: Number(seconds.toFixed(2)),
        incremental: r.incremental, ...(r.macFraction !== undefined ? { macFraction: Number(r.macFraction.toFixed(4)) } : {}),
      };
      const nc = r.classes.length;
      const windows = r.windowWE.length / nc;
      const tensors: Record<string, Tensor> = {
        we: { shape: [nc, h, w], data: r.we }, logitAD: { shape: [nc, h, w], data: r.logitAD },
        windowProb: { shape: [nc, windows], data: r.windowProb }, windowWE: { shape: [nc, windows], data: r.windowWE }, windowAD: { shape: [nc, windows], data: r.windowAD },
      };
      const classMaps = (node: 'prob' | 'logit'): Explanation => {
        const maps = node === 'prob' ? r.we : r.logitAD;
        return {
          method: 'pda', maps: { shape: [nc, h, w], data: maps }, tensors,
          meta: plain({
            ...common, node,
            stored: node === 'prob'
              ? 'per class: weight of evidence log2 odds p(c|x) − log2 odds mean_s p(c|x with window resampled), Laplace-corrected p ← (pN+1)/(N+K), each pixel the mean over the windows containing it (red = for, blue = against)'
              : 'per class: activation difference logit(x) − mean_s logit(x with window resampled), each pixel the mean over the windows containing it',
            shape: [nc, h, w],
            maxAbs: r.classes.map((_, i) => maxAbs(maps.subarray(i * h * w, (i + 1) * h * w))),
          }),
        };
      };
      const main = classMaps(o.node === 'logit' ? 'logit' : 'prob');
      const parts: Record<string, Explanation> = {};
      if (o.node === 'both') parts.logit = classMaps('logit');
      if (r.layer) {
        const L = r.layer;
        const shown = Array.from(L.strength, (s, i) => ({ s, i })).sort((a, b) => b.s - a.s || a.i - b.i).slice(0, o.maps).map((e) => e.i);
        const { rows: gr, cols: gc } = r.grid;
        const lt: Record<string, Tensor> = { pixels: { shape: [L.maps, h, w], data: L.pixels } };
        if (L.units) lt.unitPixels = { shape: [L.units.indices.length, h, w], data: L.units.pixels };
        parts[safeName(L.name)] = {
          method: 'pda', maps: { shape: [L.maps, gr, gc], data: L.windowAD }, tensors: lt,
          meta: plain({
            method: 'pda', layer: L.name, value: L.value, layerShape: L.shape, maps: L.maps, sampling: o.sampling, window: o.window, stride: o.stride, samples: o.samples, seed: o.seed,
            shown, strength: L.strength, cleanMapMeans: L.clean, units: L.units?.indices,
            stored: 'per feature map and window: mean over the map\'s units of z(x) − mean_s z(x with the window resampled); shape maps × rows × cols, window (r, c) at y0 = min(r·stride, H−window), x0 = min(c·stride, W−window); the PNG shows each pixel\'s mean over the windows containing it',
            shape: [L.maps, gr, gc], windowGrid: [gr, gc], imageSize: [h, w],
          }),
        };
      }
      const how = r.incremental ? `incremental, ${(100 * (r.macFraction ?? 1)).toFixed(0)}% of a whole pass's multiply-adds per image` : 'whole images';
      const images = r.forwardImages - 1;
      return { ...main, parts, note: `pda: ${r.grid.count} windows × ${o.samples} samples = ${images} images in ${seconds.toFixed(1)}s (${(images / seconds).toFixed(1)} images/s, ${how})` };
    },
  }),

  define({
    name: 'etalon', title: 'Etalons', summary: 'the linear map W_X,p that a piecewise-linear net applies around the input, for each chosen neuron (Molchanov et al.)', inputs: 'one',
    options: [
      { name: 'layer', type: 'layer', default: decidedLater('the logits'), help: 'the layer whose neurons are explained' },
      { name: 'neurons', type: 'neurons', default: decidedLater('the first 16'), help: 'neurons of that layer (flat indices c·H·W + y·W + x)' },
      { name: 'route', type: 'enum', values: ['onepass', 'literal'], default: 'onepass', help: 'one reverse pass per neuron batch, or the literal coordinate images of Algorithm 1' },
    ],
    async explain(j, o) {
      const layer = o.layer ?? classifierValues(j.model.graph).logits;
      const value = j.model.resolve(layer);
      const L = numel((await j.model.run(j.x, 1, { outputs: [value], names: j.given })).get(value)!.shape.slice(1));
      const neurons = o.neurons ?? Array.from({ length: Math.min(L, 16) }, (_, i) => i);
      const route = o.route as EtalonRoute;
      const t0 = performance.now();
      const r = await etalons(j.model, j.x, layer, neurons, route, j.progress, j.signal);
      const ms = performance.now() - t0;
      return {
        method: 'etalon', maps: { shape: [r.neurons.length, ...r.inputShape], data: r.etalons }, tensors: {},
        meta: plain({
          method: 'etalon', route, input: j.names[0], layer, neurons: r.neurons, biases: r.biases, values: r.values, milliseconds: Math.round(ms),
          note: 'etalons[p] = W_X,p (same shape as the input); <W_X,p, X> + biases[p] = values[p]',
        }),
      };
    },
  }),

  define({
    name: 'maxout', title: 'Activation maximisation', summary: "images that maximise units, channels or class logits, with regularisers (MaxOut) or in a generator's code (DGN-AM)", inputs: 'none',
    options: [
      { name: 'layer', type: 'layer', help: 'the layer whose units (fc) or channels (conv) are maximised' },
      { name: 'units', type: 'neurons', default: decidedLater('the first 16'), help: 'units or channels of that layer' },
      { name: 'class', type: 'neurons', arg: '0-9,12', conflicts: ['layer'], help: 'class logits to maximise, instead of --layer' },
      {
        name: 'objective', type: 'enum', values: ['logit', 'logodds'], default: 'logit',
        help: "with --class: maximise the class logit, or the log-odds of its probability log(p/(1-p)) (fooling images, survey 7.1: it rises only as p does, and its gradient does not vanish as p nears 1)",
      },
      { name: 'confidence', type: 'number', min: 0, max: 1, exclusive: true, help: "with --class: stop once every class's probability reaches this (e.g. 0.9999), read every step; --iterations is then the most steps (with --param pixel and no jitter the images returned are the ones read; fourier reads each step's transformed image)" },
      {
        name: 'unit', type: 'string', arg: 'centre|Y,X|mean', conflicts: ['class'], default: decidedLater('centre'),
        help: "a conv layer: maximise each channel's unit at its centre, or at row,column Y,X of the layer, or the mean of the whole channel (a texture)",
      },
      { name: 'generator', type: 'file', arg: 'FILE.onnx', help: "DGN-AM (Nguyen et al. 2016): optimise the code of this generator (a decoder from loupe train-decoder) instead of the pixels, the code clipped to the range it takes on real data; --class targets only" },
      { name: 'codeLr', type: 'number', default: 0.02, min: 0, exclusive: true, help: "--generator: Adam's step on the code, a fraction of each code unit's range" },
      ...optimiserOptions(2, true),
    ],
    async explain(j, o) {
      if (o.generator) {
        if (o.class === undefined) throw new ArgumentError('maxout --generator: give --class (DGN-AM maximises class logits here)');
        return generatorMaxOut(j, o.generator as FileInput, o.class, o.iterations, o.codeLr, o.seed);
      }
      let target: MaxOutTarget;
      if (o.class !== undefined) target = { kind: 'class', classes: o.class, objective: o.objective as 'logit' | 'logodds', ...(o.confidence !== undefined ? { confidence: o.confidence } : {}) };
      else {
        if (o.objective !== 'logit' || o.confidence !== undefined) throw new ArgumentError('maxout: --objective logodds and --confidence are for --class');
        if (o.layer === undefined) throw new ArgumentError('maxout: --layer is required (or --class)');
        const v = j.model.resolve(o.layer);
        const shape = (await j.model.run(new Float32Array(j.c * j.h * j.w), 1, { outputs: [o.layer] })).get(v)!.shape;
        // A conv layer's units are channels (whole feature maps, their mean, or one position's unit); an fc layer's are units.
        const units = o.units ?? Array.from({ length: Math.min(shape[1]!, 16) }, (_, i) => i);
        if (o.unit !== undefined && shape.length !== 4) throw new ArgumentError(`maxout: --unit picks a position in a conv layer; ${o.layer} is [${shape.join('×')}]`);
        const at = parseUnit(o.unit ?? 'centre');
        target = shape.length === 4 ? { kind: 'channel', layer: o.layer, units, ...(at === 'mean' ? {} : { at }) } : { kind: 'unit', layer: o.layer, units };
      }
      const opts = optimise(j, o);
      const targets = target.kind === 'class' ? target.classes : target.units;
      const layer = target.kind === 'class' ? undefined : target.layer;
      // Live views get the images of every logged step with that step's progress (objectives come with the result).
      const live = withPreview(j, (x) => ({
        method: 'maxout', maps: { shape: [targets.length, j.c, j.h, j.w], data: x }, tensors: {},
        meta: { method: 'maxout', layer, kind: target.kind, targets, objective: targets.map(() => NaN), preview: true },
      }));
      const r = await maxOut(j.model, target, { ...opts, ...live, signal: j.signal });
      return {
        method: 'maxout', maps: { shape: [r.targets.length, j.c, j.h, j.w], data: r.images }, tensors: {},
        meta: plain({ method: 'maxout', layer: r.layer, kind: r.kind, targets: r.targets, ...(r.at ? { at: r.at } : {}), ...(r.field ? { field: r.field } : {}), ...(r.optimised ? { optimised: r.optimised } : {}), objective: r.log.at(-1)!.objective, log: r.log, ...(r.reached ? { confidence: o.confidence, reached: r.reached, steps: r.steps } : {}), parameters: { ...opts, jitter: r.jitter, ranges: undefined } }),
      };
    },
  }),

  define({
    name: 'invert', title: 'Inversion', summary: "an image whose features at a layer match the input's, by optimisation from noise or a trained decoder (UpconvNet)", inputs: 'one',
    options: [
      { name: 'layer', type: 'layer', help: 'the layer whose features are matched (required without --decoder; with it, the decoder\'s layer)' },
      { name: 'decoder', type: 'file', arg: 'FILE.onnx', help: "UpconvNet inversion (Dosovitskiy & Brox): a decoder of the layer's features trained by loupe train-decoder; one forward pass instead of the optimisation" },
      ...optimiserOptions(4, false),
    ],
    async explain(j, o) {
      if (o.decoder) return decoderInversion(j, o.decoder as FileInput, o.layer);
      if (!o.layer) throw new ArgumentError('invert: give --layer L (the layer whose features are matched), or --decoder FILE.onnx');
      const opts = optimise(j, o);
      const live = withPreview(j, (x) => ({
        method: 'invert', maps: { shape: [j.c, j.h, j.w], data: x }, tensors: {},
        meta: { method: 'invert', input: j.names[0], layer: o.layer, finalError: NaN, log: [], preview: true },
      }));
      const r = await invert(j.model, j.x, o.layer, { ...opts, logEvery: Math.max(1, Math.floor(opts.iterations / 50)), ...live, signal: j.signal });
      const final = r.log.at(-1)!.error;
      return {
        method: 'invert', maps: { shape: [j.c, j.h, j.w], data: r.image }, tensors: {},
        meta: plain({ method: 'invert', input: j.names[0], layer: o.layer, finalError: final, log: r.log, parameters: opts }),
        table: { columns: ['step', 'relative_error'], rows: r.log.map((l) => [l.step, l.error]) },
      };
    },
  }),

  define({
    name: 'style', title: 'Style transfer', summary: 'the first image restyled by the second: content at one layer, Gram matrices at several (Gatys et al.)', inputs: 'batch',
    options: [
      { name: 'contentLayer', type: 'layer', required: true, help: "the layer whose features the result shares with the first image (½‖F(x) − F(p)‖²)" },
      { name: 'styleLayers', type: 'layers', required: true, help: "the layers whose Gram matrices the result shares with the second image (Gatys et al.'s E_l, weighted equally)" },
      ...STYLE_LOSS,
    ],
    async explain(j, o) {
      if (j.batch !== 2) throw new ArgumentError(`style takes two images, the content first and the style second (give --image twice); got ${j.batch}`);
      const per = j.c * j.h * j.w;
      const lr = o.lr ?? 2 * Math.abs(j.preprocess.scale ?? 1);
      const r = await styleTransfer(j.model, j.x.subarray(0, per), j.x.subarray(per, 2 * per), {
        contentLayer: o.contentLayer, styleLayers: o.styleLayers, alpha: o.alpha, beta: o.beta, iterations: o.iterations, lr, seed: o.seed, init: o.init as 'content' | 'noise',
        preprocess: { ...j.preprocess, channels: j.c }, signal: j.signal, onStep: (t, T) => j.progress?.(t, T),
      });
      const last = r.log.at(-1)!;
      return {
        method: 'style', maps: { shape: [j.c, j.h, j.w], data: r.image }, tensors: {},
        meta: plain({
          method: 'style', content: j.names[0], style: j.names[1], contentLayer: r.contentLayer, styleLayers: r.styleLayers, parameters: { ...parameters(o), lr },
          stored: 'the result, C×H×W in network units', final: { content: last.content, style: last.style, total: last.total }, seconds: r.seconds, log: r.log,
        }),
        table: { columns: ['iteration', 'content', 'style', 'total'], rows: r.log.map((l) => [l.iteration, l.content, l.style, l.total]) },
      };
    },
  }),

  define({
    name: 'ig', title: 'Integrated Gradients', summary: IG_SUMMARY, inputs: 'batch',
    options: [CLASS, ...igOptions(false), { name: 'seed', type: 'int', default: 0, min: 0, max: 2 ** 32 - 1, help: 'seed of the noise baseline' }],
    async explain(j, o) {
      const baseline = await baselines(j.model, j.x, j.batch, o.baseline, { preprocess: j.preprocess, blurSigma: o.blurSigma, seed: o.seed });
      const r = await integratedGradients(j.model, j.x, j.batch, { steps: o.steps, rule: o.rule, baseline, classes: o.class, signal: j.signal, onProgress: j.progress, names: j.given });
      const warnings = r.gap.flatMap((g, i) =>
        g === null
          ? [`ig: f(x) = f(baseline) for ${j.names[i]}: the completeness gap is undefined (the attributions should sum to 0; they sum to ${r.sum[i]!.toPrecision(4)})`]
          : g > GAP_WARNING ? [`ig: the completeness gap of ${j.names[i]} is ${(100 * g).toFixed(1)}% (over ${100 * GAP_WARNING}%): the sum of the attributions misses f(x) − f(baseline); use more --steps`] : []);
      const blurSigma = o.baseline === 'blur' ? (o.blurSigma ?? Math.min(j.h, j.w) / 10) : undefined;
      return {
        method: 'ig', maps: { shape: mapShape(j), data: r.maps },
        tensors: { attributions: r.attributions, baseline: { shape: [j.batch, j.c, j.h, j.w], data: baseline } },
        meta: attributionMeta(j, 'ig', o, r, 'per image: the sum over channels of the attributions (x − baseline) ⊙ Σ_k w_k ∂f_c/∂x(baseline + α_k (x − baseline)) (signed: red for the class, blue against)', {
          steps: o.steps, rule: o.rule, quadrature: r.quadrature.text, baseline: baselineName(o.baseline), ...(blurSigma !== undefined ? { blurSigma } : {}), ...(o.baseline === 'noise' ? { seed: o.seed } : {}),
          fx: r.fx, fBaseline: r.fBaseline, sumAttributions: r.sum, completenessGap: r.gap, ...(warnings.length ? { warnings } : {}),
        }),
        ...(warnings.length ? { note: warnings.map((w) => `loupe: warning: ${w}`).join('\n') } : {}),
      };
    },
  }),

  define({
    name: 'input-x-gradient', title: 'Input × gradient', summary: 'the input times the gradient of the class score, pixel by pixel (Shrikumar et al.)', inputs: 'batch',
    options: [CLASS],
    async explain(j, o) {
      const r = await inputTimesGradient(j.model, j.x, j.batch, { classes: o.class, signal: j.signal, onProgress: j.progress, names: j.given });
      return {
        method: 'input-x-gradient', maps: { shape: mapShape(j), data: r.maps }, tensors: { attributions: r.attributions },
        meta: attributionMeta(j, 'input-x-gradient', o, r, 'per image: the sum over channels of x ⊙ ∂f_c/∂x (signed: red for the class, blue against)'),
      };
    },
  }),

  define({
    name: 'smoothgrad', title: 'SmoothGrad', summary: "a gradient method's maps over noisy copies of the input: their mean, mean square or variance (Smilkov et al.)", inputs: 'batch',
    options: [
      { name: 'base', type: 'enum', values: SMOOTH_BASES, default: 'saliency', help: 'the method whose maps are smoothed' },
      { name: 'variant', type: 'enum', values: ['smoothgrad', 'smoothgrad2', 'vargrad'], default: 'smoothgrad', help: 'the maps\' mean (SmoothGrad), the mean of their squares (SmoothGrad²) or their variance (VarGrad)' },
      { name: 'noise', type: 'number', default: 0.15, min: 0, help: "σ of the Gaussian noise, as a fraction of each image's value range (max − min)" },
      { name: 'samples', type: 'int', default: 25, min: 1, help: 'noisy copies per image' },
      { name: 'seed', type: 'int', default: 0, min: 0, max: 2 ** 32 - 1, help: "seed of the noise (drawn on the GPU; and of ig's noise baseline)" },
      CLASS,
      { name: 'layer', type: 'layers', help: 'the CAM bases (gradcam, guided-gradcam, gradcampp, xgradcam, hirescam, layercam): the layers (required with those bases)' },
      ...igOptions(true),
    ],
    async explain(j, o) {
      const base = explainer(o.base);
      const taken = new Set(base.options.map((s) => s.name));
      const own = new Set(['base', 'variant', 'noise', 'samples', 'seed', 'class']);
      for (const [k, v] of Object.entries(o))
        if (v !== undefined && !own.has(k) && !taken.has(k)) throw new ArgumentError(`smoothgrad: --${flagName(k)} ${parameters({ v }).v} is not an option of --base ${o.base}`);
      if (taken.has('layer') && o.layer === undefined) throw new ArgumentError(`smoothgrad --base ${o.base} needs --layer`);
      // Every copy explains the class of its clean image: the one asked for, else the image's top class.
      const cv = classifierValues(j.model.graph);
      const logits = (await j.model.run(j.x, j.batch, { outputs: [cv.logits], names: j.given })).get(j.model.resolve(cv.logits))!.data;
      const k = logits.length / j.batch;
      const classes = X.pickClasses(logits, j.batch, o.class, 0);
      const probs = softmaxRows(logits, k);
      const baseOptions = Object.fromEntries(Object.entries(o).filter(([key, v]) => v !== undefined && taken.has(key) && key !== 'class'));
      const kept: { tensor?: 'attributions' | 'signal' } = {}; // the base's input-shaped tensor, reduced like its maps
      const r = await smoothGrad(j.model, j.x, j.batch, { variant: o.variant, noise: o.noise, samples: o.samples, seed: o.seed, signal: j.signal, onProgress: j.progress }, async (copies, n, i) => {
        const e = await base.run(j.model, { data: copies, batch: n, names: Array.from({ length: n }, () => `a noisy copy of ${j.names[i]}`), labels: j.labels, preprocess: j.preprocess, fromImages: j.fromImages }, { ...baseOptions, class: [classes[i]!] }, undefined, j.signal);
        kept.tensor = e.tensors.attributions ? 'attributions' : e.tensors.signal ? 'signal' : undefined;
        return { maps: e.maps!.data, tensor: kept.tensor && e.tensors[kept.tensor]!.data };
      });
      const what = { smoothgrad: 'mean', smoothgrad2: 'mean of the squares', vargrad: 'variance (1/S)' }[o.variant];
      return {
        method: 'smoothgrad', maps: { shape: mapShape(j), data: r.maps }, tensors: r.tensor && kept.tensor ? { [kept.tensor]: { shape: [j.batch, j.c, j.h, j.w], data: r.tensor } } : {},
        meta: plain({
          method: 'smoothgrad', inputs: j.names, parameters: parameters(o), base: o.base, variant: o.variant, noise: o.noise, sigmas: r.sigmas, samples: o.samples, seed: o.seed,
          classes, labels: classLabels(j, classes), scores: classes.map((c, i) => logits[i * k + c]!), probs: classes.map((c, i) => probs[i * k + c]!),
          stored: `per image: the ${what} of ${o.base}'s maps over ${o.samples} copies x + N(0, σ²), σ = ${o.noise} × (max − min of the image)`, shape: mapShape(j),
        }),
      };
    },
  }),
  define({
    name: 'lrp', title: 'Layer-wise Relevance Propagation', summary: 'the class logit handed back layer by layer as relevance by LRP rules (ε, z⁺, γ, αβ, flat, z^B; Bach et al.)', inputs: 'batch',
    options: [
      { name: 'rule', type: 'enum', values: LRP_RULES, default: 'epsilon', help: "the rule of every linear layer: epsilon (LRP-ε; --epsilon 0 is LRP-0), zplus (α1β0), gamma, alpha-beta, flat, or composite (ε for fc, γ for conv, z^B at the input)" },
      { name: 'epsilon', type: 'number', default: 1e-6, min: 0, help: "ε of LRP-ε and γ's stabiliser (Zennit's default, 1e-6: close to LRP-0; larger values absorb weak, noisy relevance)" },
      { name: 'gamma', type: 'number', default: 0.25, min: 0, help: 'γ of the gamma rule: w + γ·w⁺' },
      { name: 'alpha', type: 'number', default: 1, min: 0, help: 'α of the alpha-beta rule (α − β = 1)' },
      { name: 'beta', type: 'number', default: 0, min: 0, help: 'β of the alpha-beta rule (α − β = 1)' },
      { name: 'first', type: 'enum', values: LRP_FIRST, default: decidedLater('zb for composite, else same'), help: "the rule of the layers that read the input: zb (z^B, bounds: pixels 0..255 through the model's preprocessing), flat, or same as the others" },
      CLASS,
    ],
    async explain(j, o) {
      const r = await lrp(j.model, j.x, j.batch, { rule: o.rule, epsilon: o.epsilon, gamma: o.gamma, alpha: o.alpha, beta: o.beta, first: o.first, preprocess: j.preprocess, classes: o.class, signal: j.signal, onProgress: j.progress, names: j.given });
      // per image: Σ R at the input against the logit, and what the layers' biases and stabilisers absorbed (Σ of their gaps; route and pass ops conserve)
      const overall = r.scores.map((f, i) => {
        const absorbed = r.layers.reduce((t, L) => t - L.gap[i]!, 0);
        return { logit: f, input: r.inputSum[i]!, gap: r.inputSum[i]! - f, relativeGap: f !== 0 ? (r.inputSum[i]! - f) / Math.abs(f) : null, absorbed, absorbedShare: f !== 0 ? absorbed / Math.abs(f) : null };
      });
      return {
        method: 'lrp', maps: { shape: mapShape(j), data: r.maps }, tensors: { relevance: r.relevance },
        meta: attributionMeta(j, 'lrp', o, r, 'per image: the sum over channels of the relevance at the input (signed: red for the class, blue against)', {
          rule: o.rule, conservation: overall,
          layers: r.layers.map((L) => ({ layer: L.layer, op: L.op, rule: L.rule, out: L.out, in: L.in, gap: L.gap, relativeGap: L.gap.map((g, i) => (r.scores[i] ? g / Math.abs(r.scores[i]!) : null)) })),
        }),
      };
    },
  }),
  define({
    name: 'dissect', title: 'Network dissection', summary: "the colour concept each unit of a conv layer detects over the given images (Bau et al.; loupe dissect: Broden, ADE20K)", inputs: 'batch',
    options: [
      { name: 'layer', type: 'layer', required: true, help: 'the conv layer whose units are dissected' },
      { name: 'quantile', type: 'number', default: 0.005, min: 0, max: 1, exclusive: true, help: "the top fraction of each unit's activations over the images its mask keeps (NetDissect's 0.005)" },
      { name: 'iou', type: 'number', default: 0.04, min: 0, max: 1, help: "a unit whose best concept's IoU exceeds this is a detector (NetDissect's 0.04)" },
      { name: 'maskSize', type: 'int', default: 56, min: 1, max: 1024, help: "the colour labels' resolution (per side) the units' maps are upsampled to" },
      { name: 'top', type: 'int', default: 4, min: 1, max: 64, help: "images per unit's strip" },
    ],
    async explain(j, o) {
      const images = inputImages(j.x, j.batch, j.c, j.h, j.w, j.preprocess);
      const set = colourConcepts(images.map((img, i) => ({ name: j.names[i]!, image: () => img })), o.maskSize);
      const per = j.c * j.h * j.w;
      const d = await dissect(j.model, { ...set, source: `colour names of ${j.batch} image${j.batch === 1 ? '' : 's'}` }, {
        layers: [o.layer], quantile: o.quantile, iou: o.iou, top: o.top, preprocess: { ...j.preprocess, channels: j.c }, input: (i) => j.x.subarray(i * per, (i + 1) * per),
      }, j.progress && ((_stage, done, total) => j.progress!(done, total)), j.signal);
      return dissectionExplanation(d, j.names, parameters(o));
    },
  }),
  define({
    name: 'net2vec', title: 'Net2Vec', summary: "per colour concept a weight vector over a layer's units, its held-out IoU beside the best unit's (Fong & Vedaldi)", inputs: 'batch',
    options: [
      { name: 'layer', type: 'layer', required: true, help: 'the conv layer whose units are combined' },
      { name: 'concepts', type: 'string', help: 'colour names to learn, comma-separated (default: every one in at least two training images and one held-out image)' },
      { name: 'variant', type: 'enum', values: ['segmentation', 'classification'], default: 'segmentation', help: 'per-pixel masks (set IoU) or per-image presence (accuracy)' },
      { name: 'epochs', type: 'int', default: 30, min: 1, max: 10000, help: 'passes over the training images' },
      { name: 'quantile', type: 'number', default: 0.005, min: 0, max: 1, exclusive: true, help: "the units' thresholds: the top fraction of their activations (dissection's)" },
      { name: 'holdout', type: 'number', default: 0.2, min: 0, max: 1, exclusive: true, help: 'the share of the images held out for the IoU (every ⌈1/share⌉-th image)' },
      { name: 'maskSize', type: 'int', default: 56, min: 1, max: 1024, help: "the colour labels' resolution (per side)" },
      { name: 'seed', type: 'int', default: 0, min: 0, max: 2 ** 32 - 1, help: 'the order the training images are shuffled in' },
    ],
    async explain(j, o) {
      const images = inputImages(j.x, j.batch, j.c, j.h, j.w, j.preprocess);
      const set = colourConcepts(images.map((img, i) => ({ name: j.names[i]!, image: () => img })), o.maskSize);
      const per = j.c * j.h * j.w;
      const r = await net2vec(j.model, { ...set, source: `colour names of ${j.batch} image${j.batch === 1 ? '' : 's'}` }, {
        layer: o.layer, concepts: (o.concepts ?? '').split(',').map((t) => t.trim()).filter((t) => t), variant: o.variant, epochs: o.epochs, quantile: o.quantile,
        seed: o.seed, holdout: o.holdout, preprocess: { ...j.preprocess, channels: j.c }, input: (i) => j.x.subarray(i * per, (i + 1) * per),
      }, j.progress && ((_stage, done, total) => j.progress!(done, total)), j.signal);
      return net2vecExplanation(r, j.names, parameters(o));
    },
  }),
  define({
    name: 'attack', title: 'Adversarial example', summary: 'FGSM or PGD under an L∞ budget, targeted or not; the map is |x′ − x| (Goodfellow et al.; Madry et al.)', inputs: 'batch',
    options: [
      { name: 'algorithm', type: 'enum', values: ['fgsm', 'pgd'], default: 'fgsm', help: 'FGSM (one signed-gradient step of ε) or PGD (steps of α projected on the ε-ball)' },
      ...ATTACK_BUDGET,
      { ...CLASS, name: 'target', help: 'targeted: the class each image is pushed towards (one for all, or one per image); default untargeted, away from the top class' },
    ],
    async explain(j, o) {
      const r = await attack(j.model, j.x, j.batch, {
        method: o.algorithm, eps: o.eps, alpha: o.alpha, steps: o.algorithm === 'fgsm' ? 1 : o.steps, targets: o.target as number[] | undefined, randomStart: o.randomStart, seed: o.seed,
        preprocess: { ...j.preprocess, channels: j.c }, signal: j.signal, onProgress: j.progress,
      });
      const hw = j.h * j.w, per = j.c * hw;
      const maps = new Float32Array(j.batch * hw);
      for (let i = 0; i < j.batch; i++) for (let k = 0; k < j.c; k++) for (let p = 0; p < hw; p++) maps[i * hw + p]! += Math.abs(r.adversarial[i * per + k * hw + p]! - j.x[i * per + k * hw + p]!);
      return {
        method: 'attack', maps: { shape: mapShape(j), data: maps }, tensors: { adversarial: { shape: [j.batch, j.c, j.h, j.w], data: r.adversarial } },
        meta: plain({
          method: 'attack', inputs: j.names, parameters: parameters(o), targeted: r.targeted,
          cleanClasses: r.cleanClass, cleanProbs: r.cleanProb, classes: r.advClass, probs: r.advProb, labels: classLabels(j, r.advClass), aim: r.aim, success: r.success, linf: r.linf,
          seconds: Number(r.seconds.toFixed(3)),
          stored: "per image: Σ over channels of |x′ − x| in the network's units (the perturbation); tensors.adversarial holds x′; classes/probs are the adversarial image's, cleanClasses/cleanProbs the clean one's; eps and linf are fractions of the pixel range",
          shape: mapShape(j),
        }),
        note: `attack: ${r.success.filter((v) => v).length} of ${j.batch} image${j.batch === 1 ? '' : 's'} ${r.targeted ? 'reached the target' : 'changed class'} in ${r.seconds.toFixed(1)}s`,
      };
    },
  }),
];

/** The entry of a method; ArgumentError listing the methods when there is none. */
export function explainer(name: string): ExplainerEntry {
  const e = explainers.find((m) => m.name === name);
  if (!e) throw new ArgumentError(`unknown method "${name}"; methods are ${explainers.map((m) => m.name).join(', ')}`);
  return e;
}
