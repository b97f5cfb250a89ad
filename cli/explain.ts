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
import { loadModelFile, readInputs, readLabels, readBytes, preprocessFromArgs } from './inputs.ts';
import { explainer, type ExplainInputs, type Explanation } from '../explainers/registry.ts';
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

export async function explain(argv: string[], alias?: string): Promise<number> {
  const method = alias ?? methodOf(argv);
  if (method === undefined) throw new ArgumentError('explain: --method is required (loupe explain --help lists the methods)');
  const entry = explainer(method);
  const cmd = alias ?? `explain --method ${method}`;
  const common = EXPLAIN_OPTIONS.filter((s: OptionSpec) => !(alias && s.name === 'method') && !(entry.inputs === 'none' && s.group === 'input'));
  const args = new Args(argv, [...common, ...entry.options], cmd);
  if (args.positional.length) throw new ArgumentError(`${cmd}: unexpected argument "${args.positional[0]}"`);
  const c = validateOptions(common, args.given(common), {}, cmd) as { model: string; weights?: string; labels?: string; out: string };
  checkOutputs('--out', c.out, plannedFiles(c.out, method)); // before the model is read
  const g = loadModelFile(c.model, c.weights);
  const [, ch, h, w] = g.input.shape as [number, number, number, number];
  const labels = readLabels(c.labels);
  const preprocess = preprocessFromArgs(args, g);
  const input = entry.inputs === 'none' ? undefined : readInputs(args, g);
  const inputs: ExplainInputs = { data: input?.data ?? new Float32Array(0), batch: input?.batch ?? 0, names: input?.names, labels, preprocess, fromImages: input?.images !== undefined };
  // File inputs (PDA's patch model) are read here: the method gets their bytes and name.
  const given = args.given(entry.options);
  for (const s of entry.options)
    if (s.type === 'file' && typeof given[s.name] === 'string' && !s.keywords?.includes(given[s.name] as string)) {
      const path = given[s.name] as string;
      if (s.keywords && !existsSync(path)) throw new ArgumentError(`--${flagName(s.name)} must be ${s.keywords.join(', ')} or a file; ${path} not found`);
      given[s.name] = { name: basename(path), bytes: readBytes(path, flagName(s.name).replace(/-/g, ' ')) };
    }
  const o = entry.validate(given, { input: { channels: ch, height: h, width: w }, labels, scale: preprocess.scale ?? 1 }); // bad options fail before the GPU starts
  checkOutputs('--out', c.out, plannedFiles(c.out, method, o)); // and so do unwritable outputs

  const engine = await createNodeEngine();
  const model = new Model(engine, g);
  const bar = progressBar(method, 0);
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  let e: Explanation;
  try {
    e = await entry.run(model, inputs, given, bar.update, abort.signal);
  } finally {
    process.off('SIGINT', onSigint);
    bar.done();
    model.destroy();
  }
  // Every map all zero or constant: no picture of nothing, and no exit 0 (one map of a batch: a warning).
  const warnings = e.meta.warnings as string[] | undefined;
  if (e.meta.empty && warnings?.length) throw new EmptyExplanationError(`${warnings[0]}${warnings.length > 1 ? ` (and the other ${warnings.length - 1} maps)` : ''}; nothing written`);
  const ctx: FigureContext = { ...inputs, shape: [ch, h, w], model: basename(c.model) };
  for (const f of await writeOutputSet(explanationFiles(c.out, e, ctx))) console.log(f);
  if (e.note) console.error(e.note);
  return 0;
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
