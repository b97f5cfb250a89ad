#!/usr/bin/env node
// Writes examples/survey/fool-*.png and .json: fooling images (survey §7.1, `loupe fool`). Each
// class 0–9 of the shipped LeNet-ReLU maximised in pixel space (the log-odds of its probability)
// until LeNet gives it 99.99 %, judged by a different network, mnist-8 (raw 0..255 input, where
// LeNet takes pixels/255: each reads its own preprocessing), and one ImageNet class of SqueezeNet
// v1.0 (Caffe), the only ImageNet model here with real weights (so it has no judge):
//   fool-lenet-none    from mid-grey, no regulariser
//   fool-lenet-noise   from seeded noise (σ 32 grey levels), no regulariser
//   fool-lenet-tv      from mid-grey, total variation 0.2
//   fool-squeezenet    goldfish (1) and Granny Smith (948), from mid-grey, no regulariser
// Cost on Mesa lavapipe (CPU): the LeNet runs 15–25 s each; SqueezeNet a few minutes.
//
//   node scripts/survey-fool.mjs [--only lenet-none,lenet-noise,lenet-tv,squeezenet] [--out examples/survey]
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, DATA, arg, only as onlyArg, loupe as run, CAFFE_PRE, LABELS } from './examples-common.mjs';

const outDir = join(ROOT, arg('out', 'examples/survey'));
const only = onlyArg();
const want = (name) => only.length === 0 || only.includes(name);
const LENET = join(ROOT, 'weights/lenet-relu-mnist.onnx');
const MNIST8 = join(DATA, 'onnx/mnist-8/mnist-8.onnx');
const CAFFE = join(DATA, 'caffe/squeezenet_v1.0_deepcompression');

function loupe(args) {
  run(args);
  rmSync(`${args[args.indexOf('--out') + 1]}.npy`, { force: true }); // the images again in network units: the PNG and JSON are kept
}

mkdirSync(outDir, { recursive: true });
const lenet = ['fool', '--model', LENET, '--class', '0-9', '--judge', MNIST8];
if (want('lenet-none')) loupe([...lenet, '--out', join(outDir, 'fool-lenet-none')]);
if (want('lenet-noise')) loupe([...lenet, '--init', 'noise', '--seed', '3', '--out', join(outDir, 'fool-lenet-noise')]);
if (want('lenet-tv')) loupe([...lenet, '--regularise', 'tv', '--lambda', '0.2', '--out', join(outDir, 'fool-lenet-tv')]);
if (want('squeezenet'))
  loupe(['fool', '--model', join(CAFFE, 'SqueezeNet_deploy.prototxt'), '--weights', join(CAFFE, 'squeezenet_v1.0_decoded.caffemodel'), ...CAFFE_PRE, ...LABELS, '--class', '1,948', '--max-iterations', '300', '--out', join(outDir, 'fool-squeezenet')]);
