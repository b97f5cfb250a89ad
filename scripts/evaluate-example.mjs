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
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DATA = join(ROOT, '..', 'shared', 'data');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const steps = arg('steps', '20');
const riseMasks = arg('rise-masks', '300');
const pdaStride = arg('pda-stride', '10');
const pdaSamples = arg('pda-samples', '5');
const out = join(ROOT, arg('out', 'examples/evaluate/squeezenet'));

const MODEL = join(DATA, 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx');
const PRE = ['--bgr', '--mean', '104,117,123'];
const PM = join(ROOT, 'out/pda/squeezenet-k10-l2.pm');

function loupe(args) {
  console.log(`$ loupe ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/loupe.js'), ...args], { stdio: 'inherit', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

mkdirSync(dirname(out), { recursive: true });
if (!existsSync(PM)) {
  mkdirSync(dirname(PM), { recursive: true });
  const ade = ['ADE_train_00016869.jpg', 'ADE_train_00016900.jpg', 'ADE_train_00016964.jpg'].map((f) => join(DATA, 'segmentation/ade20k_sample', f));
  loupe(['patch-model', '--model', MODEL, ...PRE, '--images', join(DATA, 'images'), ...ade, '--window', '10', '--padding', '2', '--patches', '25000', '--store', '32', '--seed', '1', '--out', PM]);
}
loupe([
  'evaluate', '--model', MODEL, ...PRE, '--labels', join(DATA, 'labels/synset_words.txt'), '--images', join(DATA, 'images'),
  '--methods', 'saliency,guided-backprop,gradcam,ig,rise,occlusion,pda',
  '--method-options', [
    'gradcam:layer=/Concat_7_output_0',
    `rise:masks=${riseMasks}`,
    `pda:patch-model=${PM}`, 'pda:window=10', 'pda:padding=2', `pda:stride=${pdaStride}`, `pda:samples=${pdaSamples}`, 'pda:seed=1',
  ].join(';'),
  '--steps', steps, '--out', out,
]);
