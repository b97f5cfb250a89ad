#!/usr/bin/env node
// Writes the survey's UpconvNet (§5.2.2) and DGN-AM (§3.2.3) figures into examples/survey/, from
// this checkout's build (npm run build) and the decoders in weights/ (loupe train-decoder):
//   upconv-vs-optimisation.png  per layer (conv1, pool2, fc1 where a decoder exists), four MNIST
//                               test digits: the digit, optimisation-based inversion (loupe invert
//                               --layer L, its defaults) and the decoder's (loupe invert --decoder),
//                               each with its relative pixel error and time
//   dgn-am.png                  the ten classes by DGN-AM through the fc1 decoder (loupe maxout
//                               --generator) beside pixel-space MaxOut (--param pixel), each with
//                               the class a different network (mnist-8) gives it
//   upconv.json                 every number in the captions
//
//   node scripts/survey-upconv.mjs [--digits 4] [--iterations 100] [--out examples/survey]
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, DATA, arg } from './examples-common.mjs';

const dist = (p) => import(join(ROOT, 'dist', p));
const { createNodeEngine } = await dist('cli/gpu-node.js');
const { Model } = await dist('engine/runner.js');
const { loadOnnx } = await dist('loaders/onnx.js');
const { explainer } = await dist('explainers/registry.js');
const { readMnist } = await dist('cli/train.js');
const { relativeError } = await dist('engine/upconv.js');
const { montage, tensorToImage } = await dist('render/render.js');
const { encodePng } = await dist('loaders/image.js');

const outDir = join(ROOT, arg('out', 'examples/survey'));
const digits = Number(arg('digits', '4'));
const iterations = Number(arg('iterations', '100'));
mkdirSync(outDir, { recursive: true });
const engine = await createNodeEngine();
const lenet = new Model(engine, loadOnnx(new Uint8Array(readFileSync(join(ROOT, 'weights/lenet-relu-mnist.onnx'))), 'lenet-relu-mnist.onnx'));
const mnist8 = new Model(engine, loadOnnx(new Uint8Array(readFileSync(join(DATA, 'onnx/mnist-8/mnist-8.onnx'))), 'mnist-8.onnx'));
const test = readMnist(join(DATA, 'mnist'), 't10k');
const file = (layer) => join(ROOT, `weights/upconv-lenet-${layer}.onnx`);
const clip = (x) => x.map((v) => Math.min(1, Math.max(0, v)));
const img = (x) => tensorToImage(clip(x), 1, 28, 28, { scale: 1 / 255 });
const report = { digits: [], layers: {}, dgnAm: {} };

// ---- UpconvNet vs optimisation ----
const cells = [];
const rowLabels = [];
for (const layer of ['conv1', 'pool2', 'fc1']) {
  if (!existsSync(file(layer))) continue;
  const decoder = { name: `upconv-lenet-${layer}.onnx`, bytes: new Uint8Array(readFileSync(file(layer))) };
  const rows = [];
  for (let i = 0; i < digits; i++) {
    const x = Float32Array.from(test.images.subarray(i * 784, (i + 1) * 784), (v) => v / 255);
    let t0 = performance.now();
    const o = await explainer('invert').run(lenet, { data: x, batch: 1 }, { layer });
    const to = (performance.now() - t0) / 1000;
    t0 = performance.now();
    const d = await explainer('invert').run(lenet, { data: x, batch: 1 }, { decoder });
    const td = (performance.now() - t0) / 1000;
    const eo = relativeError(clip(o.maps.data), x), ed = relativeError(clip(d.maps.data), x);
    rows.push({ digit: i, optimisation: { pixelError: eo, featureError: o.meta.finalError, seconds: to }, decoder: { pixelError: ed, featureError: d.meta.finalError, seconds: td } });
    cells.push({ image: img(x), caption: `test digit ${i}` }, { image: img(o.maps.data), caption: `optim. ${eo.toFixed(2)}, ${to.toFixed(1)} s` }, { image: img(d.maps.data), caption: `decoder ${ed.toFixed(2)}, ${(1000 * td).toFixed(0)} ms` });
    console.log(`${layer} digit ${i}: optimisation ${eo.toFixed(3)} in ${to.toFixed(1)} s, decoder ${ed.toFixed(3)} in ${(1000 * td).toFixed(0)} ms`);
  }
  const mean = (k, f) => rows.reduce((s, r) => s + r[k][f], 0) / rows.length;
  report.layers[layer] = { rows, mean: { optimisation: { pixelError: mean('optimisation', 'pixelError'), seconds: mean('optimisation', 'seconds') }, decoder: { pixelError: mean('decoder', 'pixelError'), seconds: mean('decoder', 'seconds') } } };
  rowLabels.push(layer);
}
writeFileSync(join(outDir, 'upconv-vs-optimisation.png'), encodePng(montage(cells, {
  columns: 3 * digits, cellSize: 112, rowLabels,
  title: 'LeNet-ReLU inversion per layer: digit | optimisation (loupe invert --layer) | UpconvNet decoder (--decoder); relative pixel error, time',
})));

// ---- DGN-AM vs pixel-space MaxOut ----
const judge = async (images) => {
  const out = (await mnist8.run(images.map((v) => 255 * Math.min(1, Math.max(0, v))), 10)).get(mnist8.graph.outputs[0]).data;
  return Array.from({ length: 10 }, (_, i) => {
    const row = Array.from(out.subarray(i * 10, i * 10 + 10));
    return row.indexOf(Math.max(...row));
  });
};
const zero = { data: new Float32Array(784), batch: 1 };
let t0 = performance.now();
const dgn = await explainer('maxout').run(lenet, zero, { class: '0-9', generator: { name: 'upconv-lenet-fc1.onnx', bytes: new Uint8Array(readFileSync(file('fc1'))) }, iterations });
const tDgn = (performance.now() - t0) / 1000;
t0 = performance.now();
const pix = await explainer('maxout').run(lenet, zero, { class: '0-9', param: 'pixel', iterations });
const tPix = (performance.now() - t0) / 1000;
const a = await judge(dgn.maps.data), b = await judge(pix.maps.data);
const dcells = [];
for (let c = 0; c < 10; c++) dcells.push({ image: img(dgn.maps.data.subarray(c * 784, (c + 1) * 784)), caption: `${c}: mnist-8 says ${a[c]}` });
for (let c = 0; c < 10; c++) dcells.push({ image: img(pix.maps.data.subarray(c * 784, (c + 1) * 784)), caption: `${c}: mnist-8 says ${b[c]}` });
writeFileSync(join(outDir, 'dgn-am.png'), encodePng(montage(dcells, { columns: 10, cellSize: 112, title: `class 0-9 of LeNet-ReLU, ${iterations} steps: DGN-AM through the fc1 decoder (top) vs pixel-space MaxOut (bottom); mnist-8's verdict` })));
const hits = (p) => p.filter((c, i) => c === i).length;
report.dgnAm = { iterations, dgnAm: { mnist8: a, hits: hits(a), seconds: tDgn, logits: dgn.meta.objective }, pixelMaxOut: { mnist8: b, hits: hits(b), seconds: tPix, logits: pix.meta.objective } };
console.log(`DGN-AM: mnist-8 says [${a}] (${hits(a)}/10) in ${tDgn.toFixed(1)} s; pixel MaxOut: [${b}] (${hits(b)}/10) in ${tPix.toFixed(1)} s`);
writeFileSync(join(outDir, 'upconv.json'), JSON.stringify(report, null, 1));
console.log(`wrote ${outDir}/upconv-vs-optimisation.png, dgn-am.png, upconv.json`);
