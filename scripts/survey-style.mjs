#!/usr/bin/env node
// Writes examples/survey/style-*: style transfer by inversion (`loupe style`, survey §7.3, Gatys et
// al.) on the real Caffe SqueezeNet v1.0, of a photo from ../shared/data/images. The shared data
// holds no painting, so the style image is procedural: `strokes` (render/style.ts), bold brush
// strokes in a night-sky palette swirling around three centres, seed 7, written as
// examples/survey/style-strokes.png and reproduced by this script.
//   style-cat.png, -curve.png, .csv    cat.jpg restyled by the strokes (content fire5, style conv1, fire2-4)
// Cost on Mesa lavapipe (CPU): about 1.7 s an iteration at 160×160 (a GPU takes milliseconds).
//
//   node scripts/survey-style.mjs [--out examples/survey] [--size 160] [--iterations 150]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, DATA, arg, loupe, CAFFE_PRE } from './examples-common.mjs';

const outDir = join(ROOT, arg('out', 'examples/survey'));
const size = arg('size', '160');
const iterations = arg('iterations', '150');
mkdirSync(outDir, { recursive: true });

const { strokes } = await import(join(ROOT, 'dist/render/style.js'));
const { encodePng } = await import(join(ROOT, 'dist/loaders/image.js'));
const painting = join(outDir, 'style-strokes.png');
writeFileSync(painting, encodePng(strokes(Number(size), Number(size), 7)));

const CAFFE = join(DATA, 'caffe/squeezenet_v1.0_deepcompression');
loupe([
  'style', '--model', join(CAFFE, 'SqueezeNet_deploy.prototxt'), '--weights', join(CAFFE, 'squeezenet_v1.0_decoded.caffemodel'), ...CAFFE_PRE,
  '--content', join(DATA, 'images/caffe/cat.jpg'), '--style', painting, '--size', size,
  '--content-layer', 'fire5/concat', '--style-layers', 'conv1,fire2/concat,fire3/concat,fire4/concat',
  '--alpha', '1', '--beta', '1000', '--iterations', iterations, '--lr', '2', '--out', join(outDir, 'style-cat'),
]);
