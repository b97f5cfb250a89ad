// What the scripts that write examples/ share: where the repository and ../shared/data are, their
// flags, running the built `loupe` (each command echoed, timed, and the script stopped on failure),
// SqueezeNet v1.0's files and preprocessing, and PDA's patch model for 10 px windows.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const DATA = join(ROOT, '..', 'shared', 'data');

/** The value after `--name` on the command line, else `def`. */
export const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};

/** `--only a,b`: the parts asked for (all when empty). */
export const only = () => arg('only', '')?.split(',').filter((s) => s) ?? [];

/** Runs `loupe ARGS` from this checkout's build; exits with its status when it fails. */
export function loupe(args) {
  console.log(`$ loupe ${args.join(' ')}`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/loupe.js'), ...args], { stdio: 'inherit', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
  if (r.status !== 0) process.exit(r.status ?? 1);
  console.log(`  (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}

export const SQUEEZENET_ONNX = join(DATA, 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx');
/** Caffe's ImageNet preprocessing (BGR, mean pixel), which SqueezeNet v1.0 was trained with. */
export const CAFFE_PRE = ['--bgr', '--mean', '104,117,123'];
export const LABELS = ['--labels', join(DATA, 'labels/synset_words.txt')];

/**
 * PDA's Gaussian patch model for SqueezeNet, 10 px windows with 2 px padding: 25,000 patches of
 * 14×14×3 from the photos and the ADE20K sample; built once (about a minute), then reused.
 */
export const PATCH_MODEL = join(ROOT, 'out/pda/squeezenet-k10-l2.pm');
export function ensurePatchModel() {
  if (existsSync(PATCH_MODEL)) return PATCH_MODEL;
  mkdirSync(dirname(PATCH_MODEL), { recursive: true });
  const ade = ['ADE_train_00016869.jpg', 'ADE_train_00016900.jpg', 'ADE_train_00016964.jpg'].map((f) => join(DATA, 'segmentation/ade20k_sample', f));
  loupe(['patch-model', '--model', SQUEEZENET_ONNX, ...CAFFE_PRE, '--images', join(DATA, 'images'), ...ade, '--window', '10', '--padding', '2', '--patches', '25000', '--store', '32', '--seed', '1', '--out', PATCH_MODEL]);
  return PATCH_MODEL;
}
