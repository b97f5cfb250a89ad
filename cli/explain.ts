// `loupe explain --method M ...` for every method of the explainer registry: flags from the
// method's schema (kebab-case), files the schema marks as file inputs read here, --out checked
// before the model is read and again with the method's file names before the GPU starts, a
// progress bar, Ctrl-C → abort (CancelledError at the method's next check point, nothing written),
// then PREFIX.png/.npy/.json (and the method's extra files) written all or nothing from the
// Explanation and its figures (render/figures.ts; cli/output.ts's writeOutputSet). `loupe etalon|maxout|invert` are this with the method fixed.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { Args } from './args.ts';
import { createNodeEngine } from './gpu-node.ts';
import { Model } from '../engine/runner.ts';
import { ArgumentError, EmptyExplanationError } from '../engine/errors.ts';
import { loadModelFile, readInputs, readLabels, readBytes, preprocessFromArgs, readImage } from './inputs.ts';
import { explainer, type ExplainerEntry, type ExplainInputs, type Explanation } from '../explainers/registry.ts';
import type { Graph } from '../engine/ir.ts';
import { datasetItems, datasetRun, fileSha256, itemStem, registerDatasetCommand, sha256, shardOf, type DatasetCommand, type DatasetItem, type RunIdentity } from './dataset.ts';
import { join } from 'node:path';
import { validateOptions, flagName, type OptionSpec } from '../explainers/options.ts';
import { figures, drawFigure, type FigureContext } from '../render/figures.ts';
import { encodePng } from '../loaders/image.ts';
import { outputFiles, writeOutputSet, checkOutputs, type OutputFile } from './output.ts';
import { progressBar } from './progress.ts';
import { EXPLAIN_OPTIONS } from './commands.ts';

/** The value of --method in `argv`, if any. */
export function methodOf(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--method') return argv[i + 1];
    if (argv[i]!.startsWith('--method=')) return argv[i]!.slice('--method='.length);
  }
  return undefined;
}

/** A `loupe explain` command line read and checked, before any GPU work: what one run or one data-set item needs. */
export interface PreparedExplain {
  method: string;
  cmd: string;
  entry: ExplainerEntry;
  args: Args;
  out: string;
  modelPath: string;
  weights?: string;
  graph: Graph;
  labels?: string[];
  preprocess: ReturnType<typeof preprocessFromArgs>;
  /** the method's options as given, file options read into {name, bytes} */
  given: Record<string, unknown>;
  /** the method's options validated, defaults applied */
  options: Record<string, unknown>;
  /** --images: a data-set run */
  images?: string[];
  shard?: string;
  shards?: number;
}

/** Methods whose one explanation spans the whole batch: a data-set run would split what they compare. */
const WHOLE_BATCH = new Set(['dissect', 'net2vec', 'style']);

/** Reads and checks a `loupe explain` (or alias) command line: options, model, labels, file options, --out. */
export function prepareExplain(argv: string[], alias?: string): PreparedExplain {
  const method = alias ?? methodOf(argv);
  if (method === undefined) throw new ArgumentError('explain: --method is required (loupe explain --help lists the methods)');
  const entry = explainer(method);
  const cmd = alias ?? `explain --method ${method}`;
  const common = EXPLAIN_OPTIONS.filter((s: OptionSpec) => !(alias && s.name === 'method') && !(entry.inputs === 'none' && s.group === 'input'));
  const args = new Args(argv, [...common, ...entry.options], cmd);
  if (args.positional.length) throw new ArgumentError(`${cmd}: unexpected argument "${args.positional[0]}"`);
  const c = validateOptions(common, args.given(common), {}, cmd) as { model: string; weights?: string; labels?: string; out: string; images?: string[]; shard?: string; shards?: number };
  const dataset = c.images !== undefined && c.images.length > 0;
  if (!dataset && (c.shard !== undefined || c.shards !== undefined)) throw new ArgumentError(`${cmd}: --shard and --shards split a data-set run: give --images DIR_OR_LIST`);
  if (dataset && WHOLE_BATCH.has(method))
    throw new ArgumentError(`${cmd}: --images runs one image at a time, and ${method} needs the whole set at once: give the images with --image${method === 'dissect' ? ' (or use loupe dissect, whose --shard splits a tally)' : ''}`);
  if (!dataset) checkOutputs('--out', c.out, plannedFiles(c.out, method)); // before the model is read
  const g = loadModelFile(c.model, c.weights);
  const [, ch, h, w] = g.input.shape as [number, number, number, number];
  const labels = readLabels(c.labels);
  const preprocess = preprocessFromArgs(args, g);
  // File inputs (PDA's patch model) are read here: the method gets their bytes and name.
  const given = args.given(entry.options);
  for (const s of entry.options)
    if (s.type === 'file' && typeof given[s.name] === 'string' && !s.keywords?.includes(given[s.name] as string)) {
      const path = given[s.name] as string;
      if (s.keywords && !existsSync(path)) throw new ArgumentError(`--${flagName(s.name)} must be ${s.keywords.join(', ')} or a file; ${path} not found`);
      given[s.name] = { name: basename(path), bytes: readBytes(path, flagName(s.name).replace(/-/g, ' ')) };
    }
  const o = entry.validate(given, { input: { channels: ch, height: h, width: w }, labels, scale: preprocess.scale ?? 1 }); // bad options fail before the GPU starts
  if (!dataset) checkOutputs('--out', c.out, plannedFiles(c.out, method, o)); // and so do unwritable outputs
  return { method, cmd, entry, args, out: c.out, modelPath: c.model, weights: c.weights, graph: g, labels, preprocess, given, options: o, images: dataset ? c.images : undefined, shard: c.shard, shards: c.shards };
}

export async function explain(argv: string[], alias?: string): Promise<number> {
  const p = prepareExplain(argv, alias);
  if (p.images) return explainDataset(p);
  const { entry, method, graph: g } = p;
  const input = entry.inputs === 'none' ? undefined : readInputs(p.args, g);
  const inputs: ExplainInputs = { data: input?.data ?? new Float32Array(0), batch: input?.batch ?? 0, names: input?.names, labels: p.labels, preprocess: p.preprocess, fromImages: input?.images !== undefined };
  const engine = await createNodeEngine();
  const model = new Model(engine, g);
  const bar = progressBar(method, 0);
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  let e: Explanation;
  try {
    e = await entry.run(model, inputs, p.given, bar.update, abort.signal);
  } finally {
    process.off('SIGINT', onSigint);
    bar.done();
    model.destroy();
  }
  for (const f of await writeOutputSet(resultFiles(p, p.out, e, inputs))) console.log(f);
  if (e.note) console.error(e.note);
  return 0;
}

/** The files of one explanation under `prefix`; an explanation of nothing (every map empty) is refused. */
function resultFiles(p: PreparedExplain, prefix: string, e: Explanation, inputs: ExplainInputs, allowEmpty = false): OutputFile[] {
  // Every map all zero or constant: no picture of nothing, and no exit 0 (one map of a batch: a
  // warning; one image of a data set: a warning, its files written with meta.empty, the run goes on).
  const warnings = e.meta.warnings as string[] | undefined;
  if (e.meta.empty && warnings?.length && allowEmpty) console.error(`loupe: warning: ${warnings[0]}`);
  else if (e.meta.empty && warnings?.length) throw new EmptyExplanationError(`${warnings[0]}${warnings.length > 1 ? ` (and the other ${warnings.length - 1} maps)` : ''}; nothing written`);
  const [, ch, h, w] = p.graph.input.shape as [number, number, number, number];
  const ctx: FigureContext = { ...inputs, shape: [ch, h, w], model: basename(p.modelPath) };
  return explanationFiles(prefix, e, ctx);
}

/**
 * What a data-set run of `p` computes, as run.json records it: the method, every option (files by
 * SHA-256), the model's SHA-256 and the preprocessing. Paths of the model and --out are not part of
 * it (a shard on another machine mounts them elsewhere).
 */
export function explainIdentity(p: PreparedExplain): RunIdentity {
  const files = Object.fromEntries(Object.entries(p.given).filter(([, v]) => v && typeof v === 'object' && 'bytes' in v).map(([k, v]) => [k, { name: (v as { name: string }).name, sha256: sha256((v as { bytes: Uint8Array }).bytes) }]));
  const options = Object.fromEntries(Object.entries(p.options).map(([k, v]) => [k, k in files ? files[k] : v && typeof v === 'object' && 'bytes' in v ? (v as unknown as { name: string }).name : v]));
  return {
    command: 'explain',
    parameters: {
      method: p.method, model: { name: basename(p.modelPath), sha256: fileSha256(p.modelPath) },
      ...(p.weights && { weights: { name: basename(p.weights), sha256: fileSha256(p.weights) } }),
      preprocess: p.preprocess, labels: p.labels ? sha256(p.labels.join('\n')) : null, options,
    },
  };
}

/** One image of a data-set run explained: its files under the --out folder, named after the image. */
export async function explainItem(p: PreparedExplain, model: Model, item: DatasetItem, signal?: AbortSignal): Promise<OutputFile[]> {
  const { data, images } = readImage(item.path, item.path, p.graph, p.preprocess);
  const inputs: ExplainInputs = { data, batch: 1, names: [item.name], labels: p.labels, preprocess: p.preprocess, fromImages: true };
  const e = await p.entry.run(model, inputs, p.given, undefined, signal);
  return resultFiles(p, join(p.out, itemStem(item.name)), e, { ...inputs, images } as ExplainInputs, true);
}

export const EXPLAIN_DATASET: DatasetCommand<PreparedExplain> = {
  command: 'explain',
  prepare: (argv) => prepareExplain(argv),
  isDataset: (p) => p.images !== undefined,
  identity: explainIdentity,
  items: (p) => datasetItems(p.images!),
  out: (p) => p.out,
  shard: (p) => shardOf(p.shard, p.shards),
  open: (p, engine) => {
    const model = new Model(engine, p.graph);
    return { compute: async (it, signal) => ({ files: await explainItem(p, model, it, signal) }), close: () => model.destroy() };
  },
  options: (argv) => {
    const method = methodOf(argv);
    return [...EXPLAIN_OPTIONS, ...(method !== undefined ? explainer(method).options : [])];
  },
};
registerDatasetCommand(EXPLAIN_DATASET);

/** `loupe explain --images DIR_OR_LIST --out DIR`: one result set per image, resumable, shardable. */
function explainDataset(p: PreparedExplain): Promise<number> {
  return datasetRun(EXPLAIN_DATASET, p, p.method);
}

/**
 * The files a method will write, as far as they are known before it runs (checked then, so that an
 * unwritable --out fails before the computation): PREFIX.png/.npy/.json, inversion's PREFIX.csv and
 * PREFIX-curve.png, PDA's PREFIX-logit.* (--node both) and PREFIX-LAYER.* (--layer, named as given;
 * the method names it after the layer it resolves to). Whatever this misses is still checked
 * before any file is written.
 */
export function plannedFiles(prefix: string, method: string, o: Record<string, unknown> = {}): string[] {
  const set = (p: string) => ['png', 'npy', 'json'].map((x) => `${p}.${x}`);
  const files = set(prefix);
  if (method === 'invert' || method === 'style') files.push(`${prefix}.csv`, `${prefix}-curve.png`);
  if (method === 'dissect') files.push(`${prefix}-summary.png`);
  if (method === 'pda') {
    if (o.node === 'both') files.push(...set(`${prefix}-logit`));
    if (typeof o.layer === 'string') files.push(...set(`${prefix}-${o.layer.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '') || 'layer'}`));
  }
  return files;
}

/** PREFIX.png/.npy/.json of the explanation, PREFIX-KEY.* of its parts, then its table (PREFIX.csv) and extra figures (PREFIX-SUFFIX.png). */
export function explanationFiles(prefix: string, e: Explanation, ctx: FigureContext): OutputFile[] {
  const figs = figures(e, ctx);
  const fig = (suffix: string) => figs.find((f) => f.suffix === suffix);
  const one = (p: string, x: Explanation, suffix: string) => {
    const f = fig(suffix);
    return outputFiles(p, { png: f && drawFigure(f), npy: x.maps, meta: { model: ctx.model, ...x.meta } });
  };
  const files = [one(prefix, e, ''), ...Object.entries(e.parts ?? {}).map(([k, part]) => one(`${prefix}-${k}`, part, k))].flat();
  if (e.table) {
    const { columns, rows } = e.table;
    files.push([`${prefix}.csv`, () => new TextEncoder().encode(`${columns.join(',')}\n${rows.map((r) => r.join(',')).join('\n')}\n`)]);
  }
  for (const f of figs) if (f.suffix !== '' && !(f.suffix in (e.parts ?? {}))) files.push([`${prefix}-${f.suffix}.png`, () => encodePng(drawFigure(f))]);
  return files;
}
