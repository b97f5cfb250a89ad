#!/usr/bin/env node
// Writes examples/evaluate/: `loupe evaluate` on SqueezeNet v1.0 (ONNX) over the 12 photos of
// ../shared/data/images (its subfolders, JFIF included) with the seven methods issue 14 names:
// saliency, guided backprop, Grad-CAM (fire9's concat), Integrated Gradients (50 midpoint steps,
// black baseline), RISE, occlusion (16 px patches, stride 8) and prediction difference analysis at
// a coarse stride; deletion and insertion in --steps steps.
//
// Cost on Mesa lavapipe (2 cores, SqueezeNet at ~6 images/s whole, ~40/s incremental): RISE and
// PDA dominate, so RISE takes --rise-masks masks (default 300, not the paper's 4000: ~1 minute per
// photo instead of ~12) and PDA windows of 10 px at stride 10 with --pda-samples samples (default
// 5: 2,420 perturbed images per photo instead of stride 1's 475,240). The whole run is about an hour
// there; on a GPU raise them (--rise-masks 4000 --pda-stride 2 --pda-samples 10).
//
// The PDA patch model is out/pda/squeezenet-k10-l2.pm, the one scripts/pda-examples.mjs builds
// (25,000 patches of 14×14×3 from the photos and the ADE20K sample), built first when missing.
//
//   node scripts/evaluate-example.mjs [--steps 20] [--rise-masks 300] [--pda-stride 10] [--pda-samples 5] [--out examples/evaluate/squeezenet]
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { ROOT, DATA, arg, loupe, SQUEEZENET_ONNX as MODEL, CAFFE_PRE as PRE, LABELS, ensurePatchModel } from './examples-common.mjs';

const steps = arg('steps', '20');
const riseMasks = arg('rise-masks', '300');
const pdaStride = arg('pda-stride', '10');
const pdaSamples = arg('pda-samples', '5');
const out = join(ROOT, arg('out', 'examples/evaluate/squeezenet'));

mkdirSync(dirname(out), { recursive: true });
const PM = ensurePatchModel();
loupe([
  'evaluate', '--model', MODEL, ...PRE, ...LABELS, '--images', join(DATA, 'images'),
  '--methods', 'saliency,guided-backprop,gradcam,ig,rise,occlusion,pda',
  '--method-options', [
    'gradcam:layer=/Concat_7_output_0',
    `rise:masks=${riseMasks}`,
    `pda:patch-model=${PM}`, 'pda:window=10', 'pda:padding=2', `pda:stride=${pdaStride}`, `pda:samples=${pdaSamples}`, 'pda:seed=1',
  ].join(';'),
  '--steps', steps, '--out', out,
]);
