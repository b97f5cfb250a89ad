// examples/survey/attack-*: an adversarial example and what it does inside (survey §7.2, Fig. 20):
// SqueezeNet v1.0 (Caffe weights) on a photo, PGD at ε = 0.01 of the pixel range (2.55 grey levels),
// 10 steps, with conv1's and fire5's most changed feature maps and Grad-CAM of both images; and the
// shipped LeNet-ReLU on a test digit at ε = 0.2. `node scripts/survey-attack.mjs` (about a minute).
import { join } from 'node:path';
import { DATA, ROOT, loupe, CAFFE_PRE, LABELS } from './examples-common.mjs';

const OUT = join(ROOT, 'examples/survey');
const SQ = join(DATA, 'caffe/squeezenet_v1.0_deepcompression');
loupe(['attack', '--model', join(SQ, 'SqueezeNet_deploy.prototxt'), '--weights', join(SQ, 'squeezenet_v1.0_decoded.caffemodel'), ...CAFFE_PRE, ...LABELS,
  '--image', join(DATA, 'images/caffe/cat.jpg'), '--method', 'pgd', '--eps', '0.01', '--steps', '10', '--layers', 'conv1,fire5/concat,fire9/concat', '--explain', 'gradcam', '--out', join(OUT, 'attack-squeezenet')]);
loupe(['attack', '--model', join(ROOT, 'weights/lenet-relu-mnist.onnx'), '--image', join(ROOT, 'weights/mnist-test-0.png'), '--method', 'pgd', '--eps', '0.2', '--steps', '20',
  '--layers', 'conv1,conv2', '--explain', 'saliency', '--out', join(OUT, 'attack-lenet')]);
