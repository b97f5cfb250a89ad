// The mobile-family test models (MobileNet v2/v3, ShuffleNet v2, EfficientNet, MNASNet): ONNX files
// exported by torch with random weights, with a fixed input batch and torch's logits for it.
// scripts/mobile-models.py makes them (Debian's python3-torch and python3-torchvision, through
// /usr/bin/python3); they are cached in the git-ignored .cache/mobile-models/<hash of the script>/,
// so they are made once per version of the script.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const SCRIPT = join(ROOT, 'scripts', 'mobile-models.py');
const CACHE = join(ROOT, '.cache', 'mobile-models');
const PYTHON = '/usr/bin/python3';

export interface MobileModel {
  name: string;
  /** absolute paths */
  onnx: string;
  input: string; // .npy, float32 [2, 3, 64, 64]
  output: string; // .npy, torch's float32 logits [2, 10]
  opset: number;
  batchnorm: 'folded by torch' | 'kept';
  inputShape: number[];
  outputShape: number[];
}

interface Manifest {
  torch: string;
  torchvision: string;
  seed: number;
  models: (Omit<MobileModel, 'onnx' | 'input' | 'output'> & { onnx: string; input: string; output: string })[];
}

let cached: MobileModel[] | undefined;

/** The folder the current script's models live in (made on first use). */
export function mobileModelDir(): string {
  const hash = createHash('sha256').update(readFileSync(SCRIPT)).digest('hex').slice(0, 16);
  const dir = join(CACHE, hash);
  if (existsSync(join(dir, 'manifest.json'))) return dir;
  try {
    execFileSync(PYTHON, ['-c', 'import torch, torchvision, numpy'], { stdio: 'pipe' });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    const why = (err.stderr?.toString().trim().split('\n').pop() ?? '') || err.message;
    throw new Error(
      `spec/mobile-models.ts: ${PYTHON} cannot import torch and torchvision (${why}); the mobile test models are made with them: ` +
        `install Debian's python3-torch python3-torchvision (apt-get install python3-torch python3-torchvision)`,
    );
  }
  mkdirSync(CACHE, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    execFileSync(PYTHON, [SCRIPT, tmp], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 15 * 60_000 });
  } catch (e) {
    const err = e as { stderr?: Buffer; stdout?: Buffer; message: string };
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`spec/mobile-models.ts: ${PYTHON} scripts/mobile-models.py failed: ${err.message}\n${err.stderr?.toString() ?? ''}`);
  }
  try {
    renameSync(tmp, dir);
  } catch (e) {
    if (!existsSync(join(dir, 'manifest.json'))) throw e;
    rmSync(tmp, { recursive: true, force: true }); // another process finished first
  }
  process.stderr.write(`spec/mobile-models.ts: made the mobile test models in ${dir}\n`);
  // models of earlier versions of the script
  for (const d of readdirSync(CACHE)) if (d !== hash && !d.includes('.tmp-')) rmSync(join(CACHE, d), { recursive: true, force: true });
  return dir;
}

/** The generated models, making them first when the cache lacks this version of the script. */
export function mobileModels(): MobileModel[] {
  if (cached) return cached;
  const dir = mobileModelDir();
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  cached = m.models.map((e) => ({ ...e, onnx: join(dir, e.onnx), input: join(dir, e.input), output: join(dir, e.output) }));
  return cached;
}
