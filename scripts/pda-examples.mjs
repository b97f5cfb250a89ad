#!/usr/bin/env node
// Writes real prediction difference analysis runs to examples/pda/: SqueezeNet v1.0 (ONNX) on
// the elephants (el1.png), the goose (preddiff n01855672_8202.jpg) and a cat (caffe/cat.jpg),
// conditional sampling with K=10, L=2, S=10: the weight of evidence of the top-3 classes at the
// output (the top class first) and their logit activation differences, plus the feature maps of
// one hidden layer (fire2's expand concat, 128 maps, from the same pass).
//
// The Gaussian patch model is built first (25,000 patches of 14×14×3 from the photos in
// ../shared/data; out/pda/squeezenet-k10-l2.pm, reused when present).
//
// Cost: one perturbed image per window and sample, run incrementally (each layer recomputes only
// the rectangle the window changed: 19 % of a whole SqueezeNet pass). Stride 1 is 218² ≈ 47,500
// windows × 10 samples ≈ 475,000 images per photo (about 2.5 hours on Mesa lavapipe at ~53
// images/s); this script therefore defaults to --stride 4 (3,136 windows, 31,360 images, about
// ten minutes per photo on lavapipe). Change it with --stride N.
//
//   node scripts/pda-examples.mjs [--stride 4] [--samples 10] [--only el1,goose,cat] [--out examples/pda]
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, DATA, arg, only as onlyArg, loupe, SQUEEZENET_ONNX as MODEL, CAFFE_PRE as PRE, LABELS, ensurePatchModel } from './examples-common.mjs';

const stride = arg('stride', '4');
const samples = arg('samples', '10');
const outDir = join(ROOT, arg('out', 'examples/pda'));
const only = onlyArg();

const LAYER = '/Concat'; // fire2's expand1x1 ‖ expand3x3 concat (128 maps, 55×55)
const IMAGES = {
  el1: join(DATA, 'images/transformer-explainability/el1.png'),
  goose: join(DATA, 'images/preddiff/n01855672_8202.jpg'),
  cat: join(DATA, 'images/caffe/cat.jpg'),
};
mkdirSync(outDir, { recursive: true });
const PM = ensurePatchModel();
for (const [name, image] of Object.entries(IMAGES)) {
  if (only.length && !only.includes(name)) continue;
  loupe([
    'explain', '--method', 'pda', '--sampling', 'conditional', '--model', MODEL, ...PRE, ...LABELS, '--image', image,
    '--window', '10', '--padding', '2', '--samples', samples, '--stride', stride, '--patch-model', PM, '--seed', '1',
    '--top', '3', '--node', 'both', '--layer', LAYER, '--maps', '24', '--out', join(outDir, `${name}-k10-s${stride}`),
  ]);
}
