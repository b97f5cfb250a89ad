// `loupe dissect` and `loupe net2vec` (issue 16): the concept data set from folders (a Broden
// download, an ADE20K folder, and/or any photos with their colour names), then explainers/dissect.ts
// or explainers/net2vec.ts on the GPU, then the files. Everything that can be refused is refused
// before the GPU starts (layers, data, --out); then a progress bar; Ctrl-C → nothing written.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseCommand } from './args.ts';
import { createNodeEngine } from './gpu-node.ts';
import { Model } from '../engine/runner.ts';
import { ArgumentError } from '../engine/errors.ts';
import { IMAGE_EXTENSIONS, loadModelFile, preprocessFromArgs, readBytes } from './inputs.ts';
import { decodeImage, encodePng, maxPixels } from '../loaders/image.ts';
import { writeNpy } from '../loaders/npy.ts';
import { addPlanes, mergeConceptSets, type ConceptSet } from '../loaders/concepts.ts';
import { readBroden } from '../loaders/broden.ts';
import { adeConceptSet } from '../loaders/ade20k.ts';
import { colourConcepts } from '../loaders/colour-concepts.ts';
import { dissect, layerMaps, type Dissection } from '../explainers/dissect.ts';
import { net2vec } from '../explainers/net2vec.ts';
import { bestUnitsSheet, dissectionSummary, net2vecFigure, unitStrip } from '../render/dissect.ts';
import { checkOutputs, toJson, writeOutputSet, type OutputFile } from './output.ts';
import { progressBar } from './progress.ts';
import { DISSECT_OPTIONS, NET2VEC_OPTIONS } from './commands.ts';
import { imageFiles } from './evaluate.ts';

const ADE_LABEL = /_(seg|parts_\d+)\.png$/i;

/** A --data folder: Broden (index.csv) or ADE20K (NAME.jpg, NAME_seg.png, NAME.json). */
export function readConceptFolder(dir: string, limit?: number): ConceptSet {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ArgumentError(`--data ${dir}: not a folder`);
  const pixels = maxPixels(process.env);
  if (existsSync(join(dir, 'index.csv'))) {
    // the reader names files as root/relative path; a full Broden's masks are read batch by batch (lazy)
    const read = (f: string) => (existsSync(f) && statSync(f).isFile() ? new Uint8Array(readFileSync(f)) : undefined);
    return readBroden(read, dir, { limit, lazy: true, decode: (b, n) => decodeImage(b, n, pixels) });
  }
  const jsons = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  const scenes = jsons.map((j) => basename(j, '.json')).filter((n) => existsSync(join(dir, `${n}_seg.png`)));
  if (scenes.length === 0) throw new ArgumentError(`--data ${dir}: neither a Broden folder (index.csv) nor ADE20K scenes (NAME.jpg beside NAME_seg.png and NAME.json)`);
  const chosen = limit ? scenes.slice(0, limit) : scenes;
  return adeConceptSet(chosen.map((n) => {
    const img = readdirSync(dir).find((f) => f.startsWith(`${n}.`) && IMAGE_EXTENSIONS.has(extname(f).toLowerCase()) && !ADE_LABEL.test(f));
    if (!img) throw new ArgumentError(`--data ${dir}: no image ${n}.jpg for ${n}_seg.png`);
    const parts = readdirSync(dir).filter((f) => f.startsWith(`${n}_parts_`) && f.endsWith('.png')).sort();
    return {
      name: n,
      image: () => decodeImage(readBytes(join(dir, img), 'image'), img, pixels),
      seg: decodeImage(readBytes(join(dir, `${n}_seg.png`), 'segmentation'), `${n}_seg.png`, pixels),
      parts: parts.map((p) => decodeImage(readBytes(join(dir, p), 'segmentation'), p, pixels)),
      json: readBytes(join(dir, `${n}.json`), 'annotation'),
    };
  }));
}

/** The run's concept set: --data folders, and --images with their colour names; --colours adds colour names to --data images too. */
export function conceptSet(o: { data?: string[]; images?: string[]; colours: boolean; maskSize?: [number, number]; limit?: number }): ConceptSet {
  const size = o.maskSize?.[0] ?? 112;
  const pixels = maxPixels(process.env);
  const sets: ConceptSet[] = [];
  for (const d of o.data ?? []) {
    const s = readConceptFolder(d, o.limit);
    sets.push(o.colours ? addPlanes(s, { ...colourConcepts(s.samples, size), source: 'their colour names' }) : s);
  }
  if (o.images?.length) {
    let files = imageFiles(o.images);
    if (o.limit) files = files.slice(0, o.limit);
    const set = colourConcepts(files.map((f) => ({ name: f.name, image: () => decodeImage(readBytes(f.path, 'image'), f.name, pixels) })), size);
    sets.push({ ...set, source: `colour names of ${files.length} image${files.length === 1 ? '' : 's'}` });
  }
  if (sets.length === 0) throw new ArgumentError('give --data DIR (a Broden or ADE20K folder) or --images DIR_OR_FILES (colour concepts of any photos), or both');
  return mergeConceptSets(sets);
}

export function parseMaskSize(text: string | undefined): [number, number] | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)(?:x(\d+))?$/.exec(text.trim());
  if (!m) throw new ArgumentError(`--mask-size must be S or HxW, got "${text}"`);
  return [Number(m[1]), Number(m[2] ?? m[1])];
}

export const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '') || 'layer';

export async function dissectCommand(argv: string[]): Promise<number> {
  const { args, o } = parseCommand(argv, DISSECT_OPTIONS, 'dissect');
  if (args.positional.length) throw new ArgumentError(`dissect: unexpected argument "${args.positional[0]}"`);
  if (isDissectDataset(o)) return (await import('./dissect-dataset.ts')).dissectDataset(args, o);
  for (const [flag, v] of [['--chunk', o.chunk], ['--thresholds', o.thresholds]] as const)
    if (v !== undefined) throw new ArgumentError(`dissect: ${flag} belongs to a data-set run: give --out DIR/ (a folder)`);
  const layers = dissectLayers(o.layer);
  const g = loadModelFile(o.model, o.weights);
  const preprocess = preprocessFromArgs(args, g);
  const engine = await createNodeEngine();
  const model = new Model(engine, g);
  try {
    for (const l of layers) layerMaps(model, l); // a bad layer fails before the data is read
    const maskSize = parseMaskSize(o.maskSize);
    const set = conceptSet({ data: o.data, images: o.images, colours: o.colours, maskSize, limit: o.limit });
    checkOutputs('--out', o.out, [`${o.out}.csv`, `${o.out}.json`, `${o.out}.png`, ...layers.map((l) => `${o.out}-${safe(l)}-best.png`)]);
    const bar = progressBar('dissect', 0);
    const abort = new AbortController();
    const onSigint = () => abort.abort();
    process.once('SIGINT', onSigint);
    let d: Dissection;
    try {
      d = await dissect(model, set, { layers, quantile: o.quantile, iou: o.iou, maskSize, batch: o.batch, bins: o.bins, top: o.top, preprocess }, (stage, done, total) => bar.update(done, total, stage), abort.signal);
    } finally {
      process.off('SIGINT', onSigint);
      bar.done();
    }
    const written = await writeOutputSet(dissectionFiles(o.out, d, set, { model: basename(o.model), strips: o.strips, timings: true }));
    reportDissection(d, written, o.out);
    return 0;
  } finally {
    model.destroy();
  }
}

/** A data-set run: --out names a folder (ends in /, or is one), or the tally is sharded. */
export function isDissectDataset(o: { out: string; shard?: string; shards?: number }): boolean {
  return /[\\/]$/.test(o.out) || (existsSync(o.out) && statSync(o.out).isDirectory()) || o.shard !== undefined || o.shards !== undefined;
}

export function dissectLayers(text: string): string[] {
  const layers = text.split(',').map((s) => s.trim()).filter((s) => s);
  if (layers.length === 0) throw new ArgumentError('--layer is empty: give one or more layer names, comma-separated');
  return layers;
}

/** The lines on stdout after a dissection's files are written. */
export function reportDissection(d: Dissection, written: string[], prefix: string): void {
  const n = 3 + d.layers.length;
  for (const f of written.slice(0, n)) console.log(f);
  if (written.length > n) console.log(`${written.length - n} unit strips in ${prefix}-units/`);
  for (const l of d.layers) console.log(`${l.layer}: ${l.units.filter((u) => u.detector).length} of ${l.units.length} units are detectors (${Object.entries(l.detectors).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'})`);
}

/**
 * A dissection's files under `prefix`: PREFIX.csv, PREFIX.json, PREFIX.png, PREFIX-LAYER-best.png
 * and the strips PREFIX-units/LAYER/unit-K.png (all, detectors' or none). `timings: false` leaves
 * the seconds out of the JSON, so that a data-set run's files depend on the data alone (one run and
 * merged shards write the same bytes).
 */
export function dissectionFiles(prefix: string, d: Dissection, set: ConceptSet, o: { model: string; strips: string; timings: boolean }): OutputFile[] {
  const image = (s: number) => set.samples[s]!.image();
  const name = (s: number) => set.samples[s]!.name;
  const csv = ['layer,unit,concept,category,iou,detector,threshold,threshold_error,area_pixels,top_images'];
  for (const l of d.layers)
    for (const u of l.units)
      csv.push([l.layer, u.unit, u.concept, u.category, u.iou.toFixed(6), u.detector ? 1 : 0, u.threshold, u.thresholdError, u.area, u.top.map(name).join(';')].map(csvCell).join(','));
  const json = {
    model: o.model, source: d.source, images: d.images, mask: d.mask, quantile: d.quantile, iouThreshold: d.iouThreshold, bins: d.bins,
    rule: 'per unit k: T_k with P(a_k > T_k) = quantile over the data set (GPU histograms: range, then bins over [min, max], then bins inside the chosen bin; exact to threshold_error); M_k = bilinear(A_k, half-pixel centres) > T_k at the mask size; IoU = Σ|M_k ∩ L_c| / Σ|M_k ∪ L_c| over the data set; detector when the best IoU > iouThreshold',
    seconds: o.timings ? d.seconds : undefined,
    concepts: d.concepts, categories: d.categories,
    layers: d.layers.map((l) => ({
      layer: l.layer, value: l.value, shape: l.shape, detectors: l.detectors, seconds: o.timings ? l.seconds : undefined,
      units: l.units.map((u) => ({ unit: u.unit, concept: u.concept, category: u.category, iou: u.iou, detector: u.detector, threshold: u.threshold, thresholdError: u.thresholdError, area: u.area, perCategory: u.perCategory, top: u.top.map(name), topMax: u.topMax })),
    })),
  };
  const files: OutputFile[] = [
    [`${prefix}.csv`, () => new TextEncoder().encode(`${csv.join('\n')}\n`)],
    [`${prefix}.json`, () => new TextEncoder().encode(toJson(json))],
    [`${prefix}.png`, () => encodePng(dissectionSummary(d, o.model))],
    ...d.layers.map((l) => [`${prefix}-${safe(l.layer)}-best.png`, () => encodePng(bestUnitsSheet(d, l, image))] as const),
  ];
  for (const l of d.layers) {
    if (o.strips === 'none') continue;
    for (const u of l.units) if (o.strips === 'all' || u.detector) files.push([`${prefix}-units/${safe(l.layer)}/unit-${String(u.unit).padStart(4, '0')}.png`, () => encodePng(unitStrip(d, l, u.unit, image))]);
  }
  return files;
}

const csvCell = (v: string | number) => (typeof v === 'string' && /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : String(v));

export async function net2vecCommand(argv: string[]): Promise<number> {
  const { args, o } = parseCommand(argv, NET2VEC_OPTIONS, 'net2vec');
  if (args.positional.length) throw new ArgumentError(`net2vec: unexpected argument "${args.positional[0]}"`);
  const g = loadModelFile(o.model, o.weights);
  const preprocess = preprocessFromArgs(args, g);
  const engine = await createNodeEngine();
  const model = new Model(engine, g);
  try {
    layerMaps(model, o.layer);
    const maskSize = parseMaskSize(o.maskSize);
    const set = conceptSet({ data: o.data, images: o.images, colours: o.colours, maskSize, limit: o.limit });
    checkOutputs('--out', o.out, [`${o.out}.csv`, `${o.out}.json`, `${o.out}.png`, `${o.out}.npy`, `${o.out}-similarity.csv`]);
    const concepts = (o.concepts ?? '').split(',').map((s) => s.trim()).filter((s) => s);
    const bar = progressBar('net2vec', 0);
    const abort = new AbortController();
    const onSigint = () => abort.abort();
    process.once('SIGINT', onSigint);
    let r;
    try {
      r = await net2vec(model, set, {
        layer: o.layer, concepts, variant: o.variant as 'segmentation' | 'classification', epochs: o.epochs, lr: o.lr, quantile: o.quantile, seed: o.seed,
        holdout: o.holdout, maskSize, batch: o.batch, bins: o.bins, preprocess,
      }, (stage, done, total) => bar.update(done, total, stage), abort.signal);
    } finally {
      process.off('SIGINT', onSigint);
      bar.done();
    }
    const K = r.shape[0], names = r.concepts.map((c) => c.concept);
    const csv = ['concept,category,net2vec,best_unit,best_unit_iou,frequency,alpha'];
    for (const c of r.concepts) csv.push([c.concept, c.category, c.score.toFixed(6), c.bestUnit, c.bestUnitIoU.toFixed(6), c.frequency.toPrecision(6), c.alpha.toPrecision(6)].map(csvCell).join(','));
    const sim = [['', ...names].map(csvCell).join(','), ...names.map((n, i) => [n, ...Array.from(r.similarity.subarray(i * names.length, (i + 1) * names.length), (v) => v.toFixed(4))].map(csvCell).join(','))];
    const json = {
      model: basename(o.model), layer: r.layer, value: r.value, shape: r.shape, variant: r.variant, source: set.source, train: r.train, heldOut: r.heldOut, mask: r.mask,
      rule: r.variant === 'segmentation'
        ? 'M(x; w) = σ(Σ_k w_k I(S(A_k) > T_k) + b) per pixel, weighted BCE with α = 1 − the concept\'s share of training pixels, Adam; score: held-out set IoU of M > 0.5'
        : 'σ(Σ_k w_k mean_p I(S(A_k) > T_k) + b) per image, weighted BCE, Adam; score: held-out accuracy at 0.5',
      epochs: o.epochs, seed: o.seed, concepts: r.concepts, weights: `${basename(o.out)}.npy (concepts × (units + 1), bias last, rows in the order of concepts)`,
      loss: Array.from({ length: o.epochs }, (_, e) => Array.from(r.loss.subarray(e * names.length, (e + 1) * names.length))), seconds: r.seconds,
    };
    const written = await writeOutputSet([
      [`${o.out}.csv`, () => new TextEncoder().encode(`${csv.join('\n')}\n`)],
      [`${o.out}-similarity.csv`, () => new TextEncoder().encode(`${sim.join('\n')}\n`)],
      [`${o.out}.json`, () => new TextEncoder().encode(toJson(json))],
      [`${o.out}.npy`, () => writeNpy([names.length, K + 1], r.weights)],
      [`${o.out}.png`, () => encodePng(net2vecFigure(r, basename(o.model)))],
    ]);
    for (const f of written) console.log(f);
    for (const c of r.concepts) console.log(`${c.concept}: net2vec ${c.score.toFixed(3)}, best single unit ${c.bestUnit} ${c.bestUnitIoU.toFixed(3)}`);
    return 0;
  } finally {
    model.destroy();
  }
}

