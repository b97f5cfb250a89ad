#!/usr/bin/env node
// An attack on the shipped LeNet-ReLU outside Loupe (issue 17's ε = 0.1 figures): writes the model's
// weights and the first 1,000 MNIST test digits and labels as JSON, then runs
// scripts/pgd-reference.py (NumPy, float64: its own forward and backward passes, FGSM, and PGD with
// cross-entropy and margin losses, with and without a random start). Needs Debian's python3-numpy.
//
//   node scripts/pgd-reference.mjs [--digits 500] [--eps 0.1] [--steps 100]   (about 12 minutes)
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { ROOT, DATA, arg } from './examples-common.mjs';

const { loadOnnx } = await import(join(ROOT, 'dist/loaders/onnx.js'));
const { readIdx } = await import(join(ROOT, 'dist/loaders/idx.js'));
const g = loadOnnx(new Uint8Array(readFileSync(join(ROOT, 'weights/lenet-relu-mnist.onnx'))), 'lenet-relu-mnist.onnx');
const want = ['conv1', 'relu1', 'pool1', 'conv2', 'relu2', 'pool2', 'flatten', 'fc1', 'relu3', 'fc2'];
if (g.nodes.map((n) => n.name).join() !== want.join()) throw new Error(`weights/lenet-relu-mnist.onnx: expected layers ${want.join(', ')}`);
const params = Object.fromEntries([...g.params].map(([k, p]) => [k, { dims: p.dims, data: Array.from(p.data) }]));
const images = readIdx(new Uint8Array(gunzipSync(readFileSync(join(DATA, 'mnist/t10k-images-idx3-ubyte.gz')))), 't10k images');
const labels = readIdx(new Uint8Array(gunzipSync(readFileSync(join(DATA, 'mnist/t10k-labels-idx1-ubyte.gz')))), 't10k labels');
const dir = mkdtempSync(join(tmpdir(), 'loupe-pgd-'));
try {
  const file = join(dir, 'lenet.json');
  writeFileSync(file, JSON.stringify({ params, x: Array.from(images.data.subarray(0, 1000 * 784)), y: Array.from(labels.data.subarray(0, 1000)) }));
  execFileSync('python3', [join(ROOT, 'scripts/pgd-reference.py'), file, arg('digits', '500'), arg('eps', '0.1'), arg('steps', '100')], { stdio: 'inherit' });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
