// `loupe etalon`: `loupe explain --method etalon` (etalon images of any neurons of a layer for one
// input), and `--figure11`: the paper's 10×10 grid for an MNIST net (rows: the first test digit of
// each class, columns: the etalons of output neurons 0–9), from the MNIST test set on disk.
import { readFileSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseCommand } from './args.ts';
import { createNodeEngine } from './gpu-node.ts';
import { Model } from '../engine/runner.ts';
import { classifierValues } from '../engine/classify.ts';
import { ArgumentError } from '../engine/errors.ts';
import { loadModelFile } from './inputs.ts';
import { etalons, type EtalonRoute } from '../explainers/etalon.ts';
import { readIdx } from '../loaders/idx.ts';
import { writeOutputSet, checkOutputs } from './output.ts';
import { progressBar } from './progress.ts';
import { explain, explanationFiles, plannedFiles } from './explain.ts';
import { FIGURE11_OPTIONS } from './commands.ts';

export async function etalonCommand(argv: string[]): Promise<number> {
  return argv.includes('--figure11') ? figure11(argv) : explain(argv, 'etalon');
}

async function figure11(argv: string[]): Promise<number> {
  const { o } = parseCommand(argv, FIGURE11_OPTIONS, 'etalon --figure11');
  checkOutputs('--out', o.out, plannedFiles(o.out, 'etalon'));
  const g = loadModelFile(o.model, o.weights);
  const file = join(o.data, 'mnist', 't10k-images-idx3-ubyte.gz');
  if (!existsSync(file)) throw new ArgumentError(`${file}: MNIST test images not found (give --data DIR holding mnist/)`);
  const [, c, h, w] = g.input.shape;
  if (c !== 1 || h !== 28 || w !== 28) throw new ArgumentError(`--figure11 needs an MNIST net (input 1×28×28); ${basename(o.model)} takes [${g.input.shape.slice(1).join('×')}]`);
  const images = readIdx(new Uint8Array(gunzipSync(readFileSync(file))), 't10k-images');
  const labelsIdx = readIdx(new Uint8Array(gunzipSync(readFileSync(join(o.data, 'mnist', 't10k-labels-idx1-ubyte.gz')))), 't10k-labels');
  const engine = await createNodeEngine();
  const model = new Model(engine, g);
  const layer = o.layer ?? classifierValues(g).logits;
  const rows: { digit: number; index: number; logits: number[]; biases: number[] }[] = [];
  const all = new Float32Array(10 * 10 * 784); // [digit row][neuron][1×28×28]
  const digits = new Float32Array(10 * 784);
  const bar = progressBar('figure 11', 10);
  for (let d = 0; d < 10; d++) {
    const idx = labelsIdx.data.indexOf(d);
    const x = Float32Array.from(images.data.subarray(idx * 784, (idx + 1) * 784), (v) => v * o.scale);
    const r = await etalons(model, x, layer, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], o.route as EtalonRoute);
    all.set(r.etalons, d * 10 * 784);
    digits.set(x, d * 784);
    rows.push({ digit: d, index: idx, logits: Array.from(r.values), biases: Array.from(r.biases) });
    bar.update(d + 1);
  }
  bar.done();
  model.destroy();
  const e = {
    method: 'etalon-figure11', maps: { shape: [10, 10, 1, 28, 28], data: all }, tensors: { digits: { shape: [10, 1, 28, 28], data: digits } },
    meta: { method: 'etalon figure 11', route: o.route, layer, rows },
  };
  for (const f of await writeOutputSet(explanationFiles(o.out, e, { data: digits, batch: 10, shape: [1, 28, 28], model: basename(o.model) }))) console.log(f);
  return 0;
}
