// Writes examples/dissect/: SqueezeNet v1.0 (the real Caffe weights) dissected at conv1 and
// fire9/concat on the colour names of the 12 photos in ../shared/data/images plus the 3 ADE20K
// scenes (their objects, parts and colour names), and Net2Vec at fire9/concat on the same images.
// About 3 minutes on lavapipe. `node scripts/dissect-example.mjs [--only dissect,net2vec]`.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DATA, ROOT, loupe, only } from './examples-common.mjs';

const OUT = join(ROOT, 'examples/dissect');
mkdirSync(OUT, { recursive: true });
const SQ = join(DATA, 'caffe/squeezenet_v1.0_deepcompression');
const MODEL = ['--model', join(SQ, 'SqueezeNet_deploy.prototxt'), '--weights', join(SQ, 'squeezenet_v1.0_decoded.caffemodel')];
const DATASET = ['--images', join(DATA, 'images'), '--data', join(DATA, 'segmentation/ade20k_sample'), '--colours'];
const parts = only();
const want = (p) => parts.length === 0 || parts.includes(p);

if (want('dissect')) loupe(['dissect', ...MODEL, '--layer', 'conv1,fire9/concat', ...DATASET, '--strips', 'none', '--out', join(OUT, 'squeezenet')]);
if (want('net2vec')) loupe(['net2vec', ...MODEL, '--layer', 'fire9/concat', ...DATASET, '--epochs', '100', '--out', join(OUT, 'squeezenet-net2vec')]);
