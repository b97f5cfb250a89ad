// `loupe dissect … --out DIR/` (issue 18): network dissection as a data-set run, resumable and
// shardable, whose aggregate `loupe merge` rebuilds exactly.
//
// The folder holds, besides run.json and manifest.jsonl (cli/dataset.ts):
//   thresholds.json   item `thresholds`: per layer per unit T_k and its error bound, over the WHOLE
//                     data set (every shard computes the same numbers, or reads them with
//                     --thresholds FILE: an earlier run's or merge's thresholds.json);
//   tally-NNNNN.json  item `tally-NNNNN`, images [N·chunk, (N+1)·chunk) of the set: per layer the
//                     exact integer sums (intersections units × (concepts + 1), unit areas, concept
//                     areas, images) and each unit's top images of the chunk (sample, maximum);
//   tally-NNNNN-L.npy their maps at the layer's resolution (units × top × h × w float32), layer L;
//   dissection.*      item '@dissection' (the finisher): what `loupe dissect --out PREFIX` writes,
//                     from the chunks summed in chunk order (integers: exact) and their top lists
//                     offered in chunk order (the same lists as one pass over the images).
// Chunks, not images, are what shards split (chunk c belongs to shard c mod N), so one run, any
// number of shards merged, and a run killed and resumed hold the same items with the same bytes.
// Nothing time-dependent goes into the files (dissection.json has no seconds).
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Args } from './args.ts';
import { ArgumentError, InputFormatError } from '../engine/errors.ts';
import { Model } from '../engine/runner.ts';
import type { TallyTotals } from '../engine/dissect.ts';
import { readNpy, writeNpy } from '../loaders/npy.ts';
import type { ConceptSet } from '../loaders/concepts.ts';
import { LayerStream, TopImages, dissectSetup, layerDissection, tallyLayer, unitThresholds, type Dissection, type DissectOptions, type DissectSetup, type LayerTally } from '../explainers/dissect.ts';
import { loadModelFile, preprocessFromArgs } from './inputs.ts';
import { createNodeEngine } from './gpu-node.ts';
import { DISSECT_OPTIONS } from './commands.ts';
import type { Options } from '../explainers/options.ts';
import { Manifest, canonicalJson, fileSha256, registerFinisher, sha256, shardItems, shardOf, shardText, workerName, type ManifestEntry, type RunIdentity } from './dataset.ts';
import { toJson, writeOutputSet, type OutputFile } from './output.ts';
import { progressBar } from './progress.ts';
import { conceptSet, dissectLayers, dissectionFiles, parseMaskSize, reportDissection } from './dissect.ts';

type DissectArgs = Options<typeof DISSECT_OPTIONS>;

export const DEFAULT_CHUNK = 256;
export const THRESHOLDS_ITEM = 'thresholds';
export const THRESHOLDS_FILE = 'thresholds.json';
export const AGGREGATE_ITEM = '@dissection';
export const AGGREGATE_PREFIX = 'dissection';

export const chunkName = (c: number) => `tally-${String(c).padStart(5, '0')}`;

/** Where the data came from, as the run saw it (recorded as the items' `input`): the finisher reads the images for the figures from there. */
interface Sources {
  data: string[];
  images: string[];
}

/** What makes a concept set the same data set, wherever it is mounted: concepts, and every sample's name and size. */
function dataDigest(set: ConceptSet): string {
  return sha256(canonicalJson({
    concepts: set.concepts.map((c) => [c.id, c.name, c.category]), categories: set.categories,
    samples: set.samples.map((s) => [s.name, s.height, s.width]),
  }));
}

/** Everything that changes the thresholds (and so the tallies): the thresholds.json check keys on these. */
interface ThresholdBasis {
  model: { name: string; sha256: string };
  weights: { name: string; sha256: string } | null;
  preprocess: unknown;
  data: { images: number; sha256: string };
  quantile: number;
  bins: number;
}

interface LayerThresholds {
  layer: string;
  value: string;
  units: number;
  thresholds: number[];
  errors: number[];
}

interface ThresholdsFile extends ThresholdBasis {
  layers: LayerThresholds[];
}

const thresholdsBytes = (t: ThresholdsFile) => new TextEncoder().encode(toJson(t));

/** A thresholds.json read and checked against this run: one line naming the file and what differs. */
function readThresholds(path: string, basis: ThresholdBasis, s: DissectSetup, flag: string): ThresholdsFile {
  let t: ThresholdsFile;
  try {
    t = JSON.parse(readFileSync(path, 'utf8')) as ThresholdsFile;
  } catch (e) {
    throw new InputFormatError(`${flag} ${path}: not a thresholds.json of loupe dissect (${(e as Error).message.split('\n')[0]})`);
  }
  if (!t || typeof t !== 'object' || !Array.isArray(t.layers)) throw new InputFormatError(`${flag} ${path}: not a thresholds.json of loupe dissect (no layers)`);
  const names = t.layers.map((l) => l?.layer);
  if (canonicalJson(names) !== canonicalJson(s.layers.map((l) => l.layer)))
    throw new ArgumentError(`${flag} ${path}: thresholds of layers ${names.join(',')}; this run dissects ${s.layers.map((l) => l.layer).join(',')}`);
  t.layers.forEach((l, i) => {
    const K = s.layers[i]!.shape[0];
    if (l.units !== K || !Array.isArray(l.thresholds) || l.thresholds.length !== K || !Array.isArray(l.errors) || l.errors.length !== K)
      throw new ArgumentError(`${flag} ${path}: layer ${l.layer} has ${l.thresholds?.length ?? 'no'} thresholds; the model's ${l.layer} has ${K} units`);
    if (!l.thresholds.every((v) => typeof v === 'number' && Number.isFinite(v)) || !l.errors.every((v) => typeof v === 'number' && Number.isFinite(v)))
      throw new InputFormatError(`${flag} ${path}: layer ${l.layer} holds a threshold or error that is not a finite number`);
  });
  const what: [keyof ThresholdBasis, string][] = [['model', 'the model'], ['weights', 'the weights'], ['preprocess', 'the preprocessing'], ['data', 'the data set'], ['quantile', '--quantile'], ['bins', '--bins']];
  for (const [k, label] of what)
    if (canonicalJson(t[k] ?? null) !== canonicalJson(basis[k] ?? null))
      throw new ArgumentError(`${flag} ${path}: computed for another ${label.replace(/^the /, '')} (${canonicalJson(t[k] ?? null).slice(0, 60)} ≠ ${canonicalJson(basis[k] ?? null).slice(0, 60)})`);
  // the same numbers written back are the same bytes: a run given the file and one that computed it agree
  return { ...basis, layers: t.layers.map((l) => ({ layer: l.layer, value: l.value, units: l.units, thresholds: l.thresholds.map(Math.fround), errors: l.errors.map(Math.fround) })) };
}

// ---- a chunk's file ----------------------------------------------------------------------------------

interface ChunkLayer {
  layer: string;
  images: number;
  unitArea: number[];
  conceptArea: number[];
  /** units rows of concepts + 1 */
  intersections: number[][];
  top: { samples: number[]; maxima: number[] }[];
  /** its maps' file */
  maps: string;
}

function chunkFiles(dir: string, c: number, layers: DissectSetup['layers'], tallies: LayerTally[], top: number): OutputFile[] {
  const name = chunkName(c);
  const doc = {
    chunk: c,
    layers: tallies.map((t, li): ChunkLayer => {
      const K = layers[li]!.shape[0], c1 = t.totals.conceptArea.length;
      return {
        layer: layers[li]!.layer, images: t.totals.images,
        unitArea: Array.from(t.totals.unitArea), conceptArea: Array.from(t.totals.conceptArea),
        intersections: Array.from({ length: K }, (_, k) => Array.from(t.totals.intersections.subarray(k * c1, (k + 1) * c1))),
        top: Array.from({ length: K }, (_, k) => ({ samples: t.top.idx[k]!, maxima: t.top.max[k]! })),
        maps: `${name}-${li}.npy`,
      };
    }),
  };
  return [
    [join(dir, `${name}.json`), () => new TextEncoder().encode(`${JSON.stringify(doc)}\n`)],
    ...tallies.map((t, li) => {
      const [K, h, w] = layers[li]!.shape;
      return [join(dir, `${name}-${li}.npy`), () => writeNpy([K, top, h, w], t.top.maps)] as const;
    }),
  ];
}

function readChunk(dir: string, c: number, layers: { layer: string; shape: [number, number, number] }[], concepts: number, top: number): LayerTally[] {
  const path = join(dir, `${chunkName(c)}.json`);
  const doc = JSON.parse(readFileSync(path, 'utf8')) as { layers: ChunkLayer[] };
  if (doc.layers?.length !== layers.length) throw new InputFormatError(`${path}: ${doc.layers?.length ?? 0} layers, the run has ${layers.length}`);
  return doc.layers.map((l, li) => {
    const [K, h, w] = layers[li]!.shape, c1 = concepts + 1;
    if (l.layer !== layers[li]!.layer || l.unitArea.length !== K || l.conceptArea.length !== c1 || l.intersections.length !== K)
      throw new InputFormatError(`${path}: layer ${li} is not ${layers[li]!.layer}'s tally of ${K} units × ${concepts} concepts`);
    const inter = new Float64Array(K * c1);
    l.intersections.forEach((row, k) => inter.set(row, k * c1));
    const totals: TallyTotals = { intersections: inter, unitArea: Float64Array.from(l.unitArea), conceptArea: Float64Array.from(l.conceptArea), images: l.images };
    const npy = readNpy(new Uint8Array(readFileSync(join(dir, l.maps))), l.maps);
    if (npy.shape.join('x') !== [K, top, h, w].join('x')) throw new InputFormatError(`${join(dir, l.maps)}: maps of shape ${npy.shape.join('×')}, expected ${K}×${top}×${h}×${w}`);
    const t = new TopImages(K, top, h * w);
    t.maps.set(npy.data as Float32Array);
    l.top.forEach((u, k) => {
      t.idx[k]!.push(...u.samples);
      t.max[k]!.push(...u.maxima);
    });
    return { totals, top: t };
  });
}

// ---- the run ------------------------------------------------------------------------------------------

interface Prepared {
  o: DissectArgs;
  identity: RunIdentity;
  basis: ThresholdBasis;
  sources: Sources;
  set: ConceptSet;
  chunk: number;
  chunks: number;
}

/** run.json's parameters: every one that changes a file of the folder (not --batch, not paths: a shard elsewhere mounts them elsewhere). */
function identityOf(o: DissectArgs, basis: ThresholdBasis, layers: string[], mask: [number, number], chunk: number): RunIdentity {
  return {
    command: 'dissect',
    parameters: { ...basis, layers, mask, chunk, iou: o.iou, top: o.top, strips: o.strips, colours: o.colours, limit: o.limit ?? null, maskSize: o.maskSize ?? null },
  };
}

export async function dissectDataset(args: Args, o: DissectArgs): Promise<number> {
  const layers = dissectLayers(o.layer);
  const shard = shardOf(o.shard, o.shards);
  const chunk = o.chunk ?? DEFAULT_CHUNK;
  const out = o.out;
  if (o.thresholds !== undefined && !existsSync(o.thresholds)) throw new ArgumentError(`--thresholds ${o.thresholds}: not found`);
  const g = loadModelFile(o.model, o.weights);
  const preprocess = preprocessFromArgs(args, g);
  const engine = await createNodeEngine();
  const model = new Model(engine, g);
  try {
    const maskSize = parseMaskSize(o.maskSize);
    const dopts: DissectOptions = { layers, quantile: o.quantile, iou: o.iou, maskSize, batch: o.batch, bins: o.bins, top: o.top, preprocess };
    const set = conceptSet({ data: o.data, images: o.images, colours: o.colours, maskSize, limit: o.limit });
    const s = dissectSetup(model, set, dopts); // bad layers and options fail here, before anything is written
    const basis: ThresholdBasis = {
      model: { name: basename(o.model), sha256: fileSha256(o.model) }, weights: o.weights ? { name: basename(o.weights), sha256: fileSha256(o.weights) } : null,
      preprocess, data: { images: set.samples.length, sha256: dataDigest(set) }, quantile: o.quantile, bins: o.bins,
    };
    const given = o.thresholds !== undefined ? readThresholds(o.thresholds, basis, s, '--thresholds') : undefined;
    const identity = identityOf(o, basis, layers, s.mask, chunk);
    const sources: Sources = { data: (o.data ?? []).map((d) => resolve(d)), images: (o.images ?? []).map((d) => resolve(d)) };
    const manifest = Manifest.open(out, identity);
    const p: Prepared = { o, identity, basis, sources, set, chunk, chunks: Math.ceil(set.samples.length / chunk) };
    await runChunks(p, model, s, manifest, shard, given);
    // read again: shards writing into one shared folder see each other's chunks, and the last to end writes dissection.*
    const written = await finishDissection(Manifest.open(out, identity), set);
    const n = 3 + layers.length;
    for (const f of written.slice(0, n)) console.log(f);
    if (written.length > n) console.log(`${written.length - n} unit strips in ${join(out, `${AGGREGATE_PREFIX}-units`)}/`);
    return 0;
  } finally {
    model.destroy();
  }
}

async function runChunks(p: Prepared, model: Model, s: DissectSetup, manifest: Manifest, shard: ReturnType<typeof shardOf>, given: ThresholdsFile | undefined): Promise<void> {
  const { set, o } = p;
  const dir = manifest.dir;
  const input = canonicalJson(p.sources);
  const extra = { input, adapter: model.engine.adapterInfo, worker: workerName(), shard: shardText(shard) };
  const record = (item: string, written: string[], t0: number) =>
    manifest.record({ item, ...extra, outputs: manifest.outputsOf(written), time: new Date(t0).toISOString(), seconds: (Date.now() - t0) / 1000 });
  const all = set.samples.map((_, i) => i);
  const mine = shardItems(Array.from({ length: p.chunks }, (_, c) => c), shard);
  const todo = mine.filter((c) => !manifest.done(chunkName(c)));
  const thresholdsPath = join(dir, THRESHOLDS_FILE);
  let thr: ThresholdsFile | undefined;
  if (manifest.done(THRESHOLDS_ITEM)) {
    thr = readThresholds(thresholdsPath, p.basis, s, 'dissect: the folder\'s');
    if (given && canonicalJson(given.layers) !== canonicalJson(thr.layers))
      throw new ArgumentError(`--thresholds ${o.thresholds}: other thresholds than ${thresholdsPath}, which this folder's tallies used: give another --out folder`);
  }
  if (mine.length > todo.length) console.error(`${dir}: ${mine.length - todo.length} of ${mine.length} chunks already done${shard ? ` (shard ${shardText(shard)})` : ''}; resuming`);
  const perBatch = (li: number, n: number) => Math.ceil(n / s.sizes[li]!);
  const thresholdWork = thr || given ? 0 : s.layers.reduce((sum, _l, li) => sum + 3 * perBatch(li, all.length), 0);
  const tallyWork = todo.reduce((sum, c) => sum + s.layers.reduce((t, _l, li) => t + perBatch(li, Math.min(p.chunk, all.length - c * p.chunk)), 0), 0);
  const bar = progressBar('dissect', thresholdWork + tallyWork);
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  const streams = s.layers.map((L) => new LayerStream(model, L.value, L.shape, s.inputs, all.length));
  const delay = Number(process.env.LOUPE_TEST_ITEM_DELAY_MS ?? 0);
  let done = 0;
  try {
    if (!thr) {
      const t0 = Date.now();
      if (given) thr = given;
      else {
        const layers: LayerThresholds[] = [];
        for (const [li, L] of s.layers.entries()) {
          const tick = (stage: string) => bar.update(++done, undefined, `${L.layer} ${stage}`);
          const r = await unitThresholds(model, L.shape, streams[li]!, all, s.sizes[li]!, o, tick, abort.signal);
          done += (3 - r.passes) * perBatch(li, all.length);
          layers.push({ layer: L.layer, value: L.value, units: L.shape[0], thresholds: Array.from(r.thresholds), errors: Array.from(r.binWidth) });
        }
        thr = { ...p.basis, layers };
      }
      record(THRESHOLDS_ITEM, await writeOutputSet([[thresholdsPath, () => thresholdsBytes(thr!)]]), t0);
    }
    const thresholds = thr.layers.map((l) => Float32Array.from(l.thresholds));
    for (const c of todo) {
      const t0 = Date.now();
      const indices = all.slice(c * p.chunk, (c + 1) * p.chunk);
      const tallies: LayerTally[] = [];
      for (const [li, L] of s.layers.entries())
        tallies.push(await tallyLayer(model, set, s, li, streams[li]!, indices, thresholds[li]!, o.top, () => bar.update(++done, undefined, `${L.layer} tally`), abort.signal));
      record(chunkName(c), await writeOutputSet(chunkFiles(dir, c, s.layers, tallies, o.top)), t0);
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    }
  } finally {
    for (const st of streams) st.destroy();
    process.off('SIGINT', onSigint);
    bar.done();
  }
  console.log(`${join(dir, 'manifest.jsonl')}: ${mine.length} chunk${mine.length === 1 ? '' : 's'} of ${p.chunk} images${shard ? ` (shard ${shardText(shard)} of ${p.chunks} chunks)` : ''}, ${todo.length} computed, ${mine.length - todo.length} already done`);
}

// ---- the aggregate --------------------------------------------------------------------------------------

/**
 * The finisher: when every chunk of the run is in `manifest`'s folder, sums them in chunk order and
 * writes DIR/dissection.* (as `--out PREFIX` would), recorded as '@dissection'; else says what is
 * missing and writes nothing. `set`: the concept set when the caller has it (a run), else read again
 * from the sources the thresholds item recorded (loupe merge), and checked to be the same data.
 */
export async function finishDissection(manifest: Manifest, known?: ConceptSet): Promise<string[]> {
  const dir = manifest.dir;
  const p = manifest.identity.parameters as unknown as ThresholdBasis & { layers: string[]; mask: [number, number]; chunk: number; iou: number; top: number; strips: string; colours: boolean; limit: number | null; maskSize: string | null };
  const chunks = Math.ceil(p.data.images / p.chunk);
  const th = manifest.done(THRESHOLDS_ITEM);
  const missing = Array.from({ length: chunks }, (_, c) => c).filter((c) => !manifest.done(chunkName(c)));
  if (!th || missing.length) {
    console.error(`${dir}: ${chunks - missing.length} of ${chunks} tally chunks${th ? '' : ' and no thresholds'} here (chunk c is shard c mod N's); dissection.* is written once all are: by the last shard in a shared folder, or by loupe merge of the shards' folders`);
    return [];
  }
  const agg = manifest.done(AGGREGATE_ITEM);
  if (agg) return agg.outputs.map((f) => join(dir, f.file));
  const t0 = Date.now();
  const set = known ?? setFromSources(th, p);
  if (dataDigest(set) !== p.data.sha256 || set.samples.length !== p.data.images)
    throw new ArgumentError(`dissect: the data at ${th.input} is no longer the data set of ${join(dir, 'run.json')}; the figures need its images`);
  const t = JSON.parse(readFileSync(join(dir, THRESHOLDS_FILE), 'utf8')) as ThresholdsFile;
  const shapes = t.layers.map((l, li) => {
    const npy = readNpy(new Uint8Array(readFileSync(join(dir, `${chunkName(0)}-${li}.npy`))), `${chunkName(0)}-${li}.npy`);
    return { layer: l.layer, value: l.value, shape: [npy.shape[0]!, npy.shape[2]!, npy.shape[3]!] as [number, number, number] };
  });
  const C = set.concepts.length;
  const sums: LayerTally[] = shapes.map((L) => ({
    totals: { intersections: new Float64Array(L.shape[0] * (C + 1)), unitArea: new Float64Array(L.shape[0]), conceptArea: new Float64Array(C + 1), images: 0 },
    top: new TopImages(L.shape[0], p.top, L.shape[1] * L.shape[2]),
  }));
  for (let c = 0; c < chunks; c++)
    readChunk(dir, c, shapes, C, p.top).forEach((ct, li) => {
      const s = sums[li]!.totals;
      for (let i = 0; i < s.intersections.length; i++) s.intersections[i]! += ct.totals.intersections[i]!;
      for (let k = 0; k < s.unitArea.length; k++) s.unitArea[k]! += ct.totals.unitArea[k]!;
      for (let i = 0; i < s.conceptArea.length; i++) s.conceptArea[i]! += ct.totals.conceptArea[i]!;
      s.images += ct.totals.images;
      sums[li]!.top.offerAll(ct.top);
    });
  const layers = shapes.map((L, li) => layerDissection(set, L, Float32Array.from(t.layers[li]!.thresholds), Float32Array.from(t.layers[li]!.errors), sums[li]!, p.iou, 0));
  const pixels = sums[0]!.totals.conceptArea;
  const d: Dissection = {
    source: set.source, images: set.samples.length, concepts: set.concepts.map((cc) => ({ ...cc, pixels: pixels[cc.id]! })), categories: set.categories,
    mask: p.mask, quantile: p.quantile, iouThreshold: p.iou, bins: p.bins, top: p.top, layers, seconds: 0,
  };
  const prefix = join(dir, AGGREGATE_PREFIX);
  const written = await writeOutputSet(dissectionFiles(prefix, d, set, { model: p.model.name, strips: p.strips, timings: false }));
  manifest.record({ item: AGGREGATE_ITEM, outputs: manifest.outputsOf(written), worker: workerName(), time: new Date(t0).toISOString(), seconds: (Date.now() - t0) / 1000 });
  reportDissection(d, [], prefix);
  return written;
}

/** The concept set a run read, from the folders its thresholds item recorded. */
function setFromSources(th: ManifestEntry, p: { colours: boolean; limit: number | null; maskSize: string | null }): ConceptSet {
  let src: Sources;
  try {
    src = JSON.parse(th.input ?? '') as Sources;
  } catch {
    throw new InputFormatError(`dissect: the thresholds entry of the manifest does not name the data folders (input: ${th.input})`);
  }
  for (const d of [...src.data, ...src.images])
    if (!existsSync(d)) throw new ArgumentError(`dissect: the data set at ${d} is not here; the figures need its images: run loupe merge where it is mounted`);
  return conceptSet({ data: src.data.length ? src.data : undefined, images: src.images.length ? src.images : undefined, colours: p.colours, maskSize: parseMaskSize(p.maskSize ?? undefined), limit: p.limit ?? undefined });
}

registerFinisher('dissect', (m) => finishDissection(m));
