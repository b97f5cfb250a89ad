#!/usr/bin/env node
// Writes examples/maxout/: activation maximisation (`loupe maxout`) of the real Caffe SqueezeNet
// v1.0 with its default settings (no tuning flags; --bgr --mean 104,117,123 are the model's
// preprocessing, which its deploy prototxt does not record):
//   conv1           channels 0–15 at their centre units, beside conv1-filters.png (the filters themselves)
//   conv1-mean      channels 0–15, --unit mean: each whole channel (textures)
//   fire5           fire5's expand concat, channels 0–7 at their centre units
//   classes         three class logits: goose (99), goldfish (1), Granny Smith (948)
// and conv1-filters.png, a montage of conv1's first 16 filters in the same layout as conv1.png.
//
// Cost on Mesa lavapipe (CPU), 128 steps: conv1 about 2–5 minutes, fire5 about 10–20, the classes
// about 5–10 (a GPU takes seconds).
//
//   node scripts/maxout-examples.mjs [--only conv1,conv1-mean,fire5,classes,filters] [--out examples/maxout]
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, DATA, arg, only as onlyArg, loupe as run, CAFFE_PRE as PRE, LABELS } from './examples-common.mjs';

const outDir = join(ROOT, arg('out', 'examples/maxout'));
const only = onlyArg();
const want = (name) => only.length === 0 || only.includes(name);

const CAFFE = join(DATA, 'caffe/squeezenet_v1.0_deepcompression');
const MODEL = ['--model', join(CAFFE, 'SqueezeNet_deploy.prototxt'), '--weights', join(CAFFE, 'squeezenet_v1.0_decoded.caffemodel')];

function loupe(args) {
  run(args);
  // the .npy (the images in network units, 5-10 MB a run) is not kept in the tree: the PNG and
  // the JSON are what people look at, and the command above writes the .npy again
  rmSync(`${args[args.indexOf('--out') + 1]}.npy`, { force: true });
}

mkdirSync(outDir, { recursive: true });
if (want('filters')) {
  // conv1's filters as pictures: each [3, 7, 7] BGR filter stretched to 0..255 over its own range
  const { loadCaffe } = await import(join(ROOT, 'dist/loaders/caffe.js'));
  const { montage, tensorToImage } = await import(join(ROOT, 'dist/render/render.js'));
  const { encodePng } = await import(join(ROOT, 'dist/loaders/image.js'));
  const g = loadCaffe(readFileSync(join(CAFFE, 'SqueezeNet_deploy.prototxt'), 'utf8'), new Uint8Array(readFileSync(join(CAFFE, 'squeezenet_v1.0_decoded.caffemodel'))), { prototxtName: 'SqueezeNet_deploy.prototxt' });
  const w = g.params.get('conv1/weight').data;
  const cells = Array.from({ length: 16 }, (_, f) => ({ image: tensorToImage(w.subarray(f * 147, (f + 1) * 147), 3, 7, 7, { normalise: true, bgr: true }), caption: `filter ${f}` }));
  const file = join(outDir, 'conv1-filters.png');
  writeFileSync(file, encodePng(montage(cells, { columns: 8, cellSize: 112, title: 'conv1 filters 0-15 (7x7, each over its own range) - SqueezeNet_deploy.prototxt' })));
  console.log(file);
}
if (want('conv1')) loupe(['maxout', ...MODEL, ...PRE, '--layer', 'conv1', '--units', '0-15', '--out', join(outDir, 'conv1')]);
if (want('conv1-mean')) loupe(['maxout', ...MODEL, ...PRE, '--layer', 'conv1', '--units', '0-15', '--unit', 'mean', '--out', join(outDir, 'conv1-mean')]);
if (want('fire5')) loupe(['maxout', ...MODEL, ...PRE, '--layer', 'fire5/concat', '--units', '0-7', '--out', join(outDir, 'fire5')]);
if (want('classes')) loupe(['maxout', ...MODEL, ...PRE, ...LABELS, '--class', '99,1,948', '--out', join(outDir, 'classes')]);
