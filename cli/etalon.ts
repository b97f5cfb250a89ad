// `loupe etalon`: etalon images of any neurons of a layer for one input (PREFIX.npy P×C×H×W,
// biases and values in PREFIX.json, a PNG grid), and `--figure11`: the paper's 10×10 grid for an
// MNIST net (rows: the first test digit of each class, columns: the etalons of output neurons 0–9).
import { readFileSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Args } from './args.ts';
import { createNodeEngine } from './gpu-node.ts';
import { Model } from '../engine/runner.ts';
import { classifierValues } from '../engine/classify.ts';
import { ArgumentError } from '../engine/errors.ts';
import { numel } from '../engine/shapes.ts';
import { loadModelFile, readInputs, readLabels, MODEL_OPTIONS, INPUT_OPTIONS, INPUT_FLAGS } from './inputs.ts';
import { etalons, parseNeurons, type EtalonRoute, type EtalonResult } from '../explainers/etalon.ts';
import { renderSigned, montage, tensorToImage } from '../explainers/render.ts';
import type { RGBAImage } from '../loaders/image.ts';
import { readIdx } from '../loaders/idx.ts';
import { writeOutputs } from './output.ts';
import { progressBar } from './progress.ts';
import { DEFAULT_DATA } from './paths.ts';

/** An etalon as a picture: signed, symmetric scale, summed over colour channels. */
export function etalonImage(r: EtalonResult, q: number): RGBAImage {
  const [c, h, w] = r.inputShape as [number, number, number];
  const per = c * h * w;
  const m = new Float32Array(h * w);
  for (let k = 0; k < c; k++) for (let i = 0; i < h * w; i++) m[i] += r.etalons[q * per + k * h * w + i]!;
  return renderSigned(m, h, w);
}

export async function etalonCommand(argv: string[]): Promise<number> {
  const args = new Args(argv, { values: [...MODEL_OPTIONS, ...INPUT_OPTIONS, 'layer', 'neurons', 'route', 'out', 'data'], flags: [...INPUT_FLAGS, 'figure11'], repeatable: ['image'] }, 'etalon');
  const out = args.need('out', 'etalon');
  const route = (args.get('route') ?? 'onepass') as EtalonRoute;
  if (route !== 'onepass' && route !== 'literal') throw new ArgumentError(`etalon: --route must be onepass or literal, got "${route}"`);
  const modelPath = args.need('model', 'etalon');
  const g = loadModelFile(modelPath, args.get('weights'));
  if (args.flag('figure11')) return figure11(args, g, modelPath, route, out);
  const labels = readLabels(args.get('labels'));
  const input = readInputs(args, g);
  if (input.batch !== 1) throw new ArgumentError('etalon: give one image (etalons describe the net around one input)');
  const engine = await createNodeEngine();
  const model = new Model(engine, g);
  const layer = args.get('layer') ?? classifierValues(g).logits;
  const value = model.resolve(layer);
  const L = numel((await model.run(input.data, 1, { outputs: [value] })).get(value)!.shape.slice(1));
  const neurons = args.get('neurons') ? parseNeurons(args.get('neurons')!) : Array.from({ length: Math.min(L, 16) }, (_, i) => i);
  const bar = progressBar(`etalons (${route})`, route === 'literal' ? input.data.length : neurons.length);
  const t0 = performance.now();
  const r = await etalons(model, input.data, layer, neurons, route, bar.update);
  const ms = performance.now() - t0;
  bar.done();
  const [c, h, w] = r.inputShape as [number, number, number];
  const cells: { image: RGBAImage; caption?: string }[] = [{ image: tensorToImage(input.data, c, h, w, { normalise: true }), caption: input.names[0] }];
  r.neurons.forEach((p, q) => cells.push({ image: etalonImage(r, q), caption: `${labels?.[p]?.split(',')[0] ?? `n${p}`} ${r.values[q]!.toFixed(2)}` }));
  const png = montage(cells, { columns: Math.min(cells.length, 6), cellSize: Math.max(112, Math.min(224, h * 4)), title: `etalons of ${layer} (${route}) - ${basename(modelPath)}` });
  const meta = {
    model: basename(modelPath), method: 'etalon', route, input: input.names[0], layer, neurons: r.neurons,
    biases: Array.from(r.biases), values: Array.from(r.values), milliseconds: Math.round(ms),
    note: 'etalons[p] = W_X,p (same shape as the input); <W_X,p, X> + biases[p] = values[p]',
  };
  for (const f of writeOutputs(out, { png, npy: { shape: [r.neurons.length, ...r.inputShape], data: r.etalons }, meta })) console.log(f);
  model.destroy();
  return 0;
}

async function figure11(args: Args, g: ReturnType<typeof loadModelFile>, modelPath: string, route: EtalonRoute, out: string): Promise<number> {
  const data = args.get('data') ?? DEFAULT_DATA;
  const file = join(data, 'mnist', 't10k-images-idx3-ubyte.gz');
  if (!existsSync(file)) throw new ArgumentError(`${file}: MNIST test images not found (give --data DIR holding mnist/)`);
  const [, c, h, w] = g.input.shape;
  if (c !== 1 || h !== 28 || w !== 28) throw new ArgumentError(`--figure11 needs an MNIST net (input 1×28×28); ${basename(modelPath)} takes [${g.input.shape.slice(1).join('×')}]`);
  const images = readIdx(new Uint8Array(gunzipSync(readFileSync(file))), 't10k-images');
  const labelsIdx = readIdx(new Uint8Array(gunzipSync(readFileSync(join(data, 'mnist', 't10k-labels-idx1-ubyte.gz')))), 't10k-labels');
  const scale = args.num('scale') ?? 1 / 255;
  const engine = await createNodeEngine();
  const model = new Model(engine, g);
  const layer = args.get('layer') ?? classifierValues(g).logits;
  const cells: { image: RGBAImage; caption?: string }[] = [];
  const rowLabels: string[] = [];
  const rows: { digit: number; index: number; logits: number[]; biases: number[] }[] = [];
  const all = new Float32Array(10 * 10 * 784); // [digit row][neuron][1×28×28]
  const bar = progressBar('figure 11', 10);
  for (let d = 0; d < 10; d++) {
    const idx = labelsIdx.data.indexOf(d);
    const x = Float32Array.from(images.data.subarray(idx * 784, (idx + 1) * 784), (v) => v * scale);
    const r = await etalons(model, x, layer, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], route);
    all.set(r.etalons, d * 10 * 784);
    const best = r.values.indexOf(Math.max(...r.values));
    cells.push({ image: tensorToImage(x, 1, 28, 28, { normalise: true }), caption: `test #${idx}` });
    for (let q = 0; q < 10; q++) cells.push({ image: etalonImage(r, q), caption: `${q}: ${r.values[q]!.toFixed(1)}${q === best ? ' *' : ''}` });
    rowLabels.push(`digit ${d}`);
    rows.push({ digit: d, index: idx, logits: Array.from(r.values), biases: Array.from(r.biases) });
    bar.update(d + 1);
  }
  bar.done();
  const png = montage(cells, { columns: 11, cellSize: 112, rowLabels, title: `Etalons of output neurons 0-9 (columns) for the first test digit of each class (rows) - ${basename(modelPath)}; caption: neuron: logit` });
  for (const f of writeOutputs(out, { png, npy: { shape: [10, 10, 1, 28, 28], data: all }, meta: { model: basename(modelPath), method: 'etalon figure 11', route, layer, rows } })) console.log(f);
  model.destroy();
  return 0;
}
