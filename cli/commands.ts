// The one command table: every `loupe` command with its summary and declared options (types,
// defaults, bounds, help). The commands parse their arguments from it, `loupe --help` and
// `loupe CMD --help` print it, and scripts/readme-commands.mjs writes it into README.md, so help,
// README and code cannot drift. `explain` takes its methods and their options from the explainer
// registry. Implementations are imported when their command runs.
import { DEFAULT_DATA, packagePath } from './paths.ts';
import { explainers, ATTACK_BUDGET, STYLE_LOSS, type ExplainerEntry } from '../explainers/registry.ts';
import { decidedLater, optionLines, optionUsage, type OptionSpec } from '../explainers/options.ts';

export { DEFAULT_DATA };

// ---- option groups --------------------------------------------------------------------------------

export const MODEL_OPTIONS = [
  { name: 'model', type: 'path', required: true, arg: 'M', group: 'model', help: 'the model: an .onnx file, or a Caffe .prototxt (with --weights)' },
  { name: 'weights', type: 'path', arg: 'W', group: 'model', help: "a Caffe model's .caffemodel" },
] as const satisfies readonly OptionSpec[];

export const INPUT_OPTIONS = [
  { name: 'image', type: 'path', repeatable: true, arg: 'I', group: 'input', help: 'an image (PNG or JPEG); repeat for a batch' },
  { name: 'input', type: 'path', arg: 'X.npy', group: 'input', conflicts: ['image'], help: 'a preprocessed N×C×H×W float32 array instead of images' },
] as const satisfies readonly OptionSpec[];

export const PREPROCESS_OPTIONS = [
  { name: 'size', type: 'string', arg: 'H[xW]', group: 'preprocess', help: "resize images to H×W (default: the model's input size)" },
  { name: 'mean', type: 'numbers', arg: 'a,b,c', group: 'preprocess', help: 'subtracted per channel, pixels in 0..255' },
  { name: 'scale', type: 'number', arg: 's', group: 'preprocess', help: 'multiplies after the mean' },
  { name: 'bgr', type: 'flag', group: 'preprocess', help: 'channels in BGR order (Caffe models)' },
  { name: 'grayscale', type: 'flag', group: 'preprocess', help: 'one grey channel' },
] as const satisfies readonly OptionSpec[];

export const LABELS_OPTION = { name: 'labels', type: 'path', arg: 'L', help: 'class names, one per line (synset_words.txt works): --class by name, names in captions' } as const satisfies OptionSpec;
const OUT_PREFIX = { name: 'out', type: 'path', required: true, arg: 'PREFIX', help: 'writes PREFIX.png, PREFIX.npy and PREFIX.json' } as const satisfies OptionSpec;

// ---- the commands -----------------------------------------------------------------------------------

export const DEMO_OPTIONS = [
  { name: 'out', type: 'path', default: 'out/demo', help: 'output prefix' },
  { name: 'image', type: 'path', default: { text: 'weights/mnist-test-0.png', value: () => packagePath('weights', 'mnist-test-0.png') }, help: 'the digit to explain' },
] as const satisfies readonly OptionSpec[];

export const INFO_OPTIONS = [
  { ...MODEL_OPTIONS[0], required: false, help: 'the model: an .onnx file, or a Caffe .prototxt (with --weights); required unless --adapter' }, MODEL_OPTIONS[1],
  { name: 'json', type: 'flag', help: 'print JSON' },
  { name: 'adapter', type: 'flag', help: "the WebGPU adapter instead of a model's layers: its identity, the conv tuning cached for it (loupe tune), where the cache is, and the tuned choices" },
] as const satisfies readonly OptionSpec[];

export const TUNE_OPTIONS = [
  { name: 'model', type: 'path', repeatable: true, arg: 'M', help: "a model whose conv shapes are tuned (.onnx or Caffe .prototxt); repeat for more (default: the shipped LeNet and SqueezeNet v1.0 from --data, else synthetic shapes)" },
  { name: 'quick', type: 'flag', help: 'one timed run per candidate instead of three' },
  { name: 'batch', type: 'int', default: 1, min: 1, max: 256, help: 'the batch the shapes are timed at' },
  { name: 'data', type: 'path', arg: 'DIR', default: { text: '../shared/data', value: () => DEFAULT_DATA }, help: 'the shared data (onnx/) the default SqueezeNet is read from' },
  { name: 'json', type: 'flag', help: 'print the tuning as JSON' },
] as const satisfies readonly OptionSpec[];

export const PREDICT_OPTIONS = [
  ...MODEL_OPTIONS, ...INPUT_OPTIONS, ...PREPROCESS_OPTIONS, LABELS_OPTION,
  { name: 'top', type: 'int', default: 5, min: 1, max: 100000, help: 'classes to list per image' },
  { name: 'json', type: 'flag', help: 'print JSON: logits, probabilities, top classes (one entry per image of a batch)' },
] as const satisfies readonly OptionSpec[];

/** A data-set run's sharding: --shard i/N, or --shards N with the index from the array-job scheduler. */
export const SHARD_OPTIONS = [
  { name: 'shard', type: 'string', arg: 'i/N', group: 'input', help: 'only shard i of N (from 0): image p of the sorted set belongs to shard p mod N; loupe merge joins the shards' },
  { name: 'shards', type: 'int', min: 1, max: 1000000, arg: 'N', group: 'input', conflicts: ['shard'], help: 'N shards, this one JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID (Slurm array)' },
] as const satisfies readonly OptionSpec[];

/** `loupe explain`'s own options; each method adds its schema's. */
export const EXPLAIN_OPTIONS = [
  { name: 'method', type: 'enum', values: explainers.map((e) => e.name), required: true, arg: 'METHOD', help: 'the explanation method' },
  ...MODEL_OPTIONS, ...INPUT_OPTIONS,
  { name: 'images', type: 'path', repeatable: true, arg: 'DIR_OR_LIST', group: 'input', conflicts: ['image', 'input'], help: 'a data-set run: folders, images or .txt lists of images; --out is a folder with one result set per image and manifest.jsonl, and a rerun resumes' },
  ...SHARD_OPTIONS,
  ...PREPROCESS_OPTIONS, LABELS_OPTION,
  { ...OUT_PREFIX, help: 'writes PREFIX.png, PREFIX.npy and PREFIX.json (with --images: a folder, NAME.png/.npy/.json per image)' },
] as const satisfies readonly OptionSpec[];

export const FIGURE11_OPTIONS = [
  { name: 'figure11', type: 'flag', required: true, help: "the etalon paper's Figure 11 for an MNIST net: the first test digit of each class × the etalons of output neurons 0-9" },
  ...MODEL_OPTIONS,
  { name: 'route', type: 'enum', values: ['onepass', 'literal'], default: 'onepass', help: 'how the etalons are computed' },
  { name: 'layer', type: 'layer', default: decidedLater('the logits'), help: 'the layer of the ten neurons' },
  { name: 'scale', type: 'number', arg: 's', default: { text: '1/255', value: () => 1 / 255 }, help: 'pixels 0..255 → network input' },
  { name: 'data', type: 'path', arg: 'DIR', default: { text: '../shared/data', value: () => DEFAULT_DATA }, help: 'a folder holding mnist/' },
  OUT_PREFIX,
] as const satisfies readonly OptionSpec[];

export const PATCH_MODEL_OPTIONS = [
  ...MODEL_OPTIONS, ...PREPROCESS_OPTIONS,
  { name: 'images', type: 'path', repeatable: true, required: true, arg: 'DIR_OR_FILES', help: 'folders, images, N×C×H×W .npy arrays or IDX(.gz) image files to learn patches from' },
  { name: 'window', type: 'int', required: true, min: 1, arg: 'K', help: 'window side K' },
  { name: 'padding', type: 'int', default: 2, min: 0, help: 'context L around the window the conditional sampler sees' },
  { name: 'patches', type: 'int', default: 25000, min: 0, help: 'patches to estimate the Gaussian from (0: marginal sampling only)' },
  { name: 'store', type: 'int', default: 64, min: 0, help: 'images kept for marginal sampling' },
  { name: 'seed', type: 'int', default: 0, min: 0, max: 2 ** 32 - 1, help: 'seed of the patch positions' },
  { name: 'out', type: 'path', required: true, arg: 'FILE', help: 'the patch model file' },
] as const satisfies readonly OptionSpec[];

export const TRAIN_OPTIONS = [
  { name: 'epochs', type: 'int', default: 4, min: 1, max: 1000, help: 'passes over the training set' },
  { name: 'batch', type: 'int', default: 64, min: 1, max: 4096, help: 'images per step' },
  { name: 'lr', type: 'number', default: 0.001, min: 0, max: 10, exclusive: true, help: 'Adam learning rate (cosine decay to lr/20)' },
  { name: 'seed', type: 'int', default: 1, min: 0, max: 2 ** 32 - 1, help: 'seed of the weights and the shuffle' },
  { name: 'out', type: 'path', default: { text: 'weights/lenet-relu-mnist.onnx', value: () => packagePath('weights', 'lenet-relu-mnist.onnx') }, help: 'the ONNX file written after every epoch' },
  { name: 'data', type: 'path', arg: 'DIR', default: { text: '../shared/data', value: () => DEFAULT_DATA }, help: 'a folder with mnist/ or the MNIST .gz files' },
  { name: 'limit', type: 'int', min: 1, arg: 'N', help: 'train on the first N images only' },
  { name: 'quiet', type: 'flag', help: 'no progress output' },
] as const satisfies readonly OptionSpec[];

export const TRAIN_DECODER_OPTIONS = [
  { name: 'layer', type: 'enum', values: ['fc1', 'pool2', 'conv1'], default: 'fc1', help: "the classifier layer whose features the decoder maps back to the digit" },
  { name: 'model', type: 'path', arg: 'FILE', default: { text: 'weights/lenet-relu-mnist.onnx', value: () => packagePath('weights', 'lenet-relu-mnist.onnx') }, help: 'the classifier (LeNet-ReLU)' },
  { name: 'epochs', type: 'int', default: 2, min: 1, max: 1000, help: 'passes over the training digits' },
  { name: 'batch', type: 'int', default: 64, min: 1, max: 4096, help: 'digits per step' },
  { name: 'lr', type: 'number', default: 0.001, min: 0, max: 10, exclusive: true, help: 'Adam learning rate (cosine decay to lr/20)' },
  { name: 'loss', type: 'enum', values: ['pixel', 'feature'], default: 'pixel', help: "pixel: the mean squared pixel error; feature: that plus the classifier's feature-space error at --layer (Dosovitskiy & Brox)" },
  { name: 'featureWeight', type: 'number', default: 1, min: 0, max: 1e6, help: "λ of the feature-space term (relative to the layer's squared norm)" },
  { name: 'seed', type: 'int', default: 1, min: 0, max: 2 ** 32 - 1, help: 'seed of the weights and the shuffle' },
  { name: 'limit', type: 'int', min: 1, arg: 'N', help: 'train on the first N training digits only' },
  { name: 'heldout', type: 'int', default: 1000, min: 1, max: 10000, arg: 'N', help: 'test digits the held-out reconstruction error is measured on' },
  { name: 'out', type: 'path', required: true, arg: 'FILE', help: 'the ONNX decoder, written when the training ends (its metadata: the layer, the code range, the held-out error)' },
  { name: 'data', type: 'path', arg: 'DIR', default: { text: '../shared/data', value: () => DEFAULT_DATA }, help: 'a folder with mnist/ or the MNIST .gz files' },
  { name: 'quiet', type: 'flag', help: 'no progress output' },
] as const satisfies readonly OptionSpec[];

export const BENCH_SECTIONS = ['roofline', 'kernels', 'models', 'peers', 'explainers', 'etalons', 'maxout', 'methods', 'pda', 'dissect', 'survey', 'scale'];
/** The largest --batches entry: a bound against typos (the timings that matter use 1 to 64). */
export const BENCH_MAX_BATCH = 1024;
export const BENCH_OPTIONS = [
  { name: 'quick', type: 'flag', help: 'fewer repeats and models' },
  { name: 'full', type: 'flag', help: 'everything a real GPU can afford: ResNet-50 and VGG-19 conv kernels, PDA at stride 1 on SqueezeNet and AlexNet' },
  { name: 'json', type: 'flag', help: 'print the report as JSON' },
  { name: 'report', type: 'path', arg: 'FILE', help: 'also write the JSON report to FILE (the text still prints)' },
  { name: 'only', type: 'string', default: BENCH_SECTIONS.join(','), help: 'sections to run' },
  { name: 'batches', type: 'numbers', default: [1, 16, 64], help: `batch sizes of the model timings (integers 1 to ${BENCH_MAX_BATCH})` },
  { name: 'data', type: 'path', arg: 'DIR', default: { text: '../shared/data', value: () => DEFAULT_DATA }, help: 'the shared data (onnx/, caffe/, images/)' },
  { name: 'pdaWindows', type: 'int', min: 1, max: 100000, default: { text: '250, 50 with --quick', value: (_c, o) => (o.quick ? 50 : 250) }, help: 'PDA windows timed' },
  { name: 'pdaStride', type: 'int', default: { text: '4, 1 with --full', value: (_c, o) => (o.full ? 1 : 4) }, min: 1, max: 227, help: 'PDA window stride (pixels of the 227×227 image)' },
  { name: 'redis', type: 'string', arg: 'URL', help: "scale: the Redis the queue workers are timed on (default: a redis-server started on a free loopback port, if installed)" },
] as const satisfies readonly OptionSpec[];

export const EVALUATE_OPTIONS = [
  ...MODEL_OPTIONS,
  { name: 'images', type: 'path', repeatable: true, arg: 'DIR_OR_FILES', help: 'images (PNG or JPEG), or folders of them; repeat for more (required, except with --segmentation: then its images); with --out DIR/ also .txt lists of images' },
  // not of the 'input' group: the usage line of that group is explain's (--image | --input | --images)
  ...SHARD_OPTIONS.map(({ group: _g, ...s }) => s),
  ...PREPROCESS_OPTIONS, LABELS_OPTION,
  { name: 'methods', type: 'string', required: true, arg: 'M1,M2,...', help: 'the methods to evaluate, comma-separated (any of loupe explain\'s methods that give one map per image)' },
  { name: 'methodOptions', type: 'string', arg: "'M:key=value;...'", help: "each method's options, as its loupe explain flags without the dashes, e.g. 'gradcam:layer=/Concat_7_output_0;ig:steps=16' (one key=value per entry; repeat the method for more)" },
  { name: 'metrics', type: 'string', default: decidedLater('deletion,insertion, and pointing with --masks or --segmentation'), help: 'deletion, insertion, pointing, randomisation, infidelity, sensitivity (completeness comes with the methods that state it: ig, lrp, etalon)' },
  { name: 'steps', type: 'int', default: 100, min: 1, max: 100000, help: 'steps of the deletion and insertion curves (each has steps+1 points)' },
  { name: 'sigma', type: 'number', default: 5, min: 0, help: "σ in pixels of the Gaussian blur insertion starts from (0: a copy of the image); deletion sets pixels to 0 in network units, the preprocessing's mean pixel" },
  { name: 'masks', type: 'path', arg: 'DIR', help: "the pointing game's regions: DIR/NAME.png per image NAME.*, non-zero = the class's region, at the image's size or the model's input size" },
  { name: 'segmentation', type: 'path', arg: 'DIR', help: "the pointing game's regions from ADE20K scenes: DIR/NAME_seg.png and DIR/NAME.json per image NAME.* (default images: DIR's own); the region of an ImageNet class is the objects whose WordNet concept is the class, a hypernym or a hyponym of it" },
  { name: 'tolerance', type: 'number', default: 15, min: 0, help: "pointing game: a hit when the map's maximum is within this many pixels of the region" },
  { name: 'batch', type: 'int', min: 1, max: 4096, arg: 'N', help: "step images per model run (default: as many as fit)" },
  { name: 'randomiseLayers', type: 'string', default: 'all', arg: 'all|K|L1,L2,...', help: 'randomisation: the cascade from the logits down: all layers with parameters, the first K of them, or the named layers at which its steps end' },
  { name: 'randomiseEvery', type: 'int', default: 1, min: 1, max: 100000, arg: 'N', help: 'randomisation: layers randomised per step (a step every N layers; the last step ends at the last layer)' },
  { name: 'infidelitySamples', type: 'int', default: 10, min: 1, max: 10000, arg: 'N', help: "infidelity: Gaussian perturbations per image (Captum's default)" },
  { name: 'infidelitySigma', type: 'number', default: 0.003, min: 0, exclusive: true, help: "infidelity: σ of the Gaussian perturbations, a fraction of the pixel range (0..255 through the preprocessing; Captum's example's 0.003)" },
  { name: 'sensitivitySamples', type: 'int', default: 10, min: 1, max: 10000, arg: 'N', help: "sensitivity: perturbed copies per image, each explained again (Captum's default)" },
  { name: 'radius', type: 'number', default: 0.02, min: 0, help: "sensitivity: the L∞ radius of the uniform perturbations, a fraction of the pixel range (Captum's 0.02)" },
  { name: 'seed', type: 'int', default: 0, min: 0, max: 2 ** 32 - 1, help: "randomisation: the seed of the permutations of each layer's parameters; infidelity, sensitivity: of the noise" },
  { name: 'out', type: 'path', required: true, arg: 'PREFIX|DIR/', help: 'writes PREFIX.csv, PREFIX.json, PREFIX.png, PREFIX-curves.png (deletion, insertion) and PREFIX-randomisation.png (randomisation); a data-set run when DIR/ ends with / or is a folder (or with --shard): NAME.json/.npy per image, manifest.jsonl, and DIR/evaluation.* over all images' },
] as const satisfies readonly OptionSpec[];

const CONCEPT_DATA_OPTIONS = [
  { name: 'data', type: 'path', repeatable: true, arg: 'DIR', help: 'a concept data set: a Broden folder (index.csv, label.csv, category.csv, images/) or an ADE20K folder (NAME.jpg, NAME_seg.png, NAME.json); repeat for more' },
  { name: 'images', type: 'path', repeatable: true, arg: 'DIR_OR_FILES', help: "any photos (PNG or JPEG, or folders of them), labelled per pixel with Broden's eleven colour names (nearest prototype in CIELAB)" },
  { name: 'colours', type: 'flag', help: "also label --data's images with the colour names" },
  { name: 'maskSize', type: 'string', arg: 'S|HxW', help: "the labels' resolution the units' maps are upsampled to (default: the data set's, 112 for --images)" },
  { name: 'limit', type: 'int', min: 1, max: 100000000, arg: 'N', help: 'the first N images of each --data folder and of --images' },
  { name: 'quantile', type: 'number', default: 0.005, min: 0, max: 1, exclusive: true, help: "the top fraction of each unit's activations over the data set its mask keeps (NetDissect's 0.005)" },
  { name: 'batch', type: 'int', min: 1, max: 4096, arg: 'N', help: 'images per model run (default: what fits, at most 16)' },
  { name: 'bins', type: 'int', default: 1024, min: 16, max: 65536, help: "histogram bins of each quantile pass: thresholds are exact to (max − min) / bins² of the unit's range" },
] as const satisfies readonly OptionSpec[];

export const DISSECT_OPTIONS = [
  ...MODEL_OPTIONS,
  { name: 'layer', type: 'string', required: true, arg: 'L[,L2,...]', help: "the conv layers (or values) whose units are dissected, comma-separated" },
  ...CONCEPT_DATA_OPTIONS, ...PREPROCESS_OPTIONS,
  { name: 'iou', type: 'number', default: 0.04, min: 0, max: 1, help: "a unit whose best concept's IoU exceeds this is a detector (NetDissect's 0.04)" },
  { name: 'top', type: 'int', default: 5, min: 1, max: 64, help: "images per unit's strip (its highest maximum activations)" },
  { name: 'strips', type: 'enum', values: ['all', 'detectors', 'none'], default: 'all', help: "which units get a strip PNG in PREFIX-units/LAYER/" },
  { name: 'chunk', type: 'int', min: 1, max: 1000000, arg: 'N', help: 'a data-set run (--out DIR/): images per tally item, the unit that a rerun skips when done and that shards split (default 256)' },
  { name: 'thresholds', type: 'path', arg: 'FILE', help: "a data-set run: the units' thresholds from an earlier run's or merge's DIR/thresholds.json (same model, data, layers, quantile, bins), instead of the quantile passes" },
  { name: 'shard', type: 'string', arg: 'i/N', help: 'a data-set run: only shard i of N (from 0) of the tally: chunk c belongs to shard c mod N; loupe merge joins the shards' },
  { name: 'shards', type: 'int', min: 1, max: 1000000, arg: 'N', conflicts: ['shard'], help: 'N shards, this one JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID (Slurm array)' },
  { name: 'out', type: 'path', required: true, arg: 'PREFIX|DIR/', help: "writes PREFIX.csv and PREFIX.json (per unit: concept, category, IoU, threshold), PREFIX.png (detectors per category per layer), PREFIX-LAYER-best.png and PREFIX-units/LAYER/unit-K.png (top images with the unit's mask); a folder (ending in /, or existing, or with --shard): a data-set run, resumable, writing DIR/thresholds.json, DIR/tally-NNNNN.* per chunk, manifest.jsonl and DIR/dissection.* (the same files)" },
] as const satisfies readonly OptionSpec[];

export const NET2VEC_OPTIONS = [
  ...MODEL_OPTIONS,
  { name: 'layer', type: 'string', required: true, arg: 'L', help: 'the conv layer (or value) whose units are combined' },
  ...CONCEPT_DATA_OPTIONS, ...PREPROCESS_OPTIONS,
  { name: 'concepts', type: 'string', arg: 'C1,C2,...', help: 'the concepts to learn, by name (default: every concept in at least two training images and one held-out image)' },
  { name: 'variant', type: 'enum', values: ['segmentation', 'classification'], default: 'segmentation', help: 'per-pixel masks (set IoU) or per-image presence (accuracy)' },
  { name: 'epochs', type: 'int', default: 30, min: 1, max: 10000, help: 'passes over the training images' },
  { name: 'lr', type: 'number', min: 0, exclusive: true, help: "Adam's step size (default: the trainer's)" },
  { name: 'holdout', type: 'number', default: 0.2, min: 0, max: 1, exclusive: true, help: "the share of images held out for the IoU when the data set has no split column (every ⌈1/share⌉-th image)" },
  { name: 'seed', type: 'int', default: 0, min: 0, max: 2 ** 32 - 1, help: 'the order the training images are shuffled in, per epoch' },
  { name: 'out', type: 'path', required: true, arg: 'PREFIX', help: "writes PREFIX.npy (the concepts' weight vectors), PREFIX.csv (held-out IoU beside the best single unit's), PREFIX-similarity.csv (cosine similarities), PREFIX.json, PREFIX.png" },
] as const satisfies readonly OptionSpec[];

export const ATTACK_OPTIONS = [
  ...MODEL_OPTIONS, ...INPUT_OPTIONS, ...PREPROCESS_OPTIONS, LABELS_OPTION,
  { name: 'method', type: 'enum', values: ['fgsm', 'pgd'], default: 'fgsm', help: 'FGSM (one signed-gradient step of ε, Goodfellow et al.) or PGD (steps of α projected on the ε-ball, Madry et al.)' },
  ...ATTACK_BUDGET,
  { name: 'target', type: 'string', arg: 'K[,K2,...]', help: 'targeted: push each image towards this class (one for all, or one per image; numbers or --labels names); default: untargeted, away from the class the model gives the clean image' },
  { name: 'layers', type: 'string', arg: 'L1,L2,...', help: 'layers whose most changed feature map is shown clean and adversarial, with the relative activation change of each layer' },
  { name: 'explain', type: 'enum', values: ['saliency', 'guided-backprop', 'gradcam', 'gradcampp', 'layercam', 'eigencam', 'ig', 'input-x-gradient', 'lrp', 'smoothgrad', 'rise', 'occlusion'], help: 'explain the clean and the adversarial image with this method (its default options), side by side' },
  { name: 'explainLayer', type: 'string', arg: 'L', help: "the layer of --explain's method when it needs one (Grad-CAM, ...; default: the last of --layers)" },
  { name: 'out', type: 'path', required: true, arg: 'PREFIX', help: 'writes PREFIX.png (the figure), PREFIX.npy (the adversarial images, network units) and PREFIX.json (classes, probabilities, L∞, layer changes)' },
] as const satisfies readonly OptionSpec[];

export const STYLE_OPTIONS = [
  ...MODEL_OPTIONS,
  { name: 'content', type: 'path', required: true, arg: 'PHOTO', help: 'the content image (PNG or JPEG): its features at --content-layer are kept' },
  { name: 'style', type: 'path', required: true, arg: 'PAINTING', help: 'the style image (PNG or JPEG): its Gram matrices at --style-layers are matched' },
  ...PREPROCESS_OPTIONS.map((o) => (o.name === 'size' ? { ...o, help: "run at H×W instead of the model's input size (only the layers up to the deepest chosen one run, and convolutions take any size their kernels fit: a smaller image is proportionally faster)" } : o)),
  { name: 'contentLayer', type: 'string', required: true, arg: 'L', help: 'the layer whose features the result shares with the photo (½‖F(x) − F(p)‖²)' },
  { name: 'styleLayers', type: 'string', required: true, arg: 'L1,L2,...', help: "the layers whose Gram matrices the result shares with the painting (Gatys et al.'s E_l, weighted equally)" },
  ...STYLE_LOSS,
  { name: 'out', type: 'path', required: true, arg: 'PREFIX', help: 'writes PREFIX.png (content | style | result, with the losses), PREFIX-curve.png (the losses per iteration) and PREFIX.csv (iteration, content, style, total)' },
] as const satisfies readonly OptionSpec[];

export const FOOL_OPTIONS = [
  ...MODEL_OPTIONS,
  ...PREPROCESS_OPTIONS.filter((o) => o.name === 'mean' || o.name === 'scale' || o.name === 'bgr'),
  LABELS_OPTION,
  { name: 'class', type: 'neurons', required: true, arg: '0-9,12', help: 'the classes to fool the model into, one image each' },
  { name: 'judge', type: 'path', arg: 'M2', help: "a different classifier (.onnx, or a Caffe .prototxt with --judge-weights) that reports its own probabilities of the same images' pixels" },
  { name: 'judgeWeights', type: 'path', arg: 'W2', help: "the judge's .caffemodel" },
  { name: 'judgeMean', type: 'numbers', arg: 'a,b,c', help: "the judge's preprocessing: subtracted per channel, pixels in 0..255 (default: what its file says, else none)" },
  { name: 'judgeScale', type: 'number', arg: 's', help: "the judge's preprocessing: multiplies after the mean (default: what its file says, else 1: raw 0..255)" },
  { name: 'judgeBgr', type: 'flag', help: 'the judge takes BGR channels' },
  { name: 'regularise', type: 'enum', values: ['none', 'l2', 'tv', 'blur'], default: 'none', help: 'none (plain pixel-space ascent), l2 (decay of the pixels), tv (total variation) or blur (a Gaussian blur every 4 steps)' },
  { name: 'lambda', type: 'number', min: 0, help: "the regulariser's weight (l2: 0.01, tv: 0.05, on pixels in network units over the image; blur: σ in pixels, 0.5)" },
  { name: 'objective', type: 'enum', values: ['logodds', 'logit'], default: 'logodds', help: "what is maximised: the log-odds of the class's probability, log(p/(1-p)), or the class logit (MaxOut's objective)" },
  { name: 'confidence', type: 'number', default: 0.9999, min: 0, max: 1, exclusive: true, help: "stop once every image's class probability reaches this" },
  { name: 'maxIterations', type: 'int', default: 1000, min: 1, max: 1000000, help: 'the most steps' },
  { name: 'lr', type: 'number', default: 2, min: 0, exclusive: true, help: "Adam's step, in grey levels (pixels 0..255)" },
  { name: 'init', type: 'enum', values: ['grey', 'noise'], default: 'grey', help: 'start from mid-grey, or from seeded noise around it (σ 32 grey levels)' },
  { name: 'seed', type: 'int', default: 0, min: 0, max: 2 ** 31 - 1, help: 'seed of the noise start' },
  { name: 'out', type: 'path', required: true, arg: 'PREFIX', help: "writes PREFIX.png (the images, captioned with both networks' probabilities and the steps), PREFIX.npy (the images, the model's units) and PREFIX.json" },
] as const satisfies readonly OptionSpec[];

export const SERVE_OPTIONS = [
  { name: 'port', type: 'int', default: 8080, min: 0, max: 65535, help: 'the port on 127.0.0.1 (0: any free one)' },
] as const satisfies readonly OptionSpec[];

export const MERGE_OPTIONS = [
  { name: 'out', type: 'path', required: true, arg: 'DIR', help: "the joined folder (new, or one of the runs' own): every item's files, one manifest, and the aggregates rebuilt from all items" },
] as const satisfies readonly OptionSpec[];

/** The Redis server and the queue of `loupe queue` and `loupe worker` (BullMQ). */
const REDIS_OPTIONS = [
  { name: 'redis', type: 'string', required: true, arg: 'URL', help: 'the Redis server, redis://[USER:PASSWORD@]HOST:PORT[/DB] (rediss:// for TLS)' },
  { name: 'queue', type: 'string', default: 'loupe', arg: 'NAME', help: 'the BullMQ queue (letters, digits, _ . -)' },
] as const satisfies readonly OptionSpec[];

export const QUEUE_OPTIONS = [
  ...REDIS_OPTIONS,
  { name: 'attempts', type: 'int', default: 3, min: 1, max: 1000, help: 'push: tries per job (a failure that is the input\'s, such as an image that does not decode, is not retried)' },
  { name: 'json', type: 'flag', help: 'status: print JSON' },
] as const satisfies readonly OptionSpec[];

export const WORKER_OPTIONS = [
  ...REDIS_OPTIONS,
  { name: 'concurrency', type: 'int', default: 1, min: 1, max: 256, help: 'jobs held at once (one GPU engine per process: their reading and writing overlap, their GPU work takes turns)' },
  { name: 'lockMs', type: 'int', default: 30000, min: 200, max: 86400000, arg: 'MS', help: "a job's lock, renewed while it runs: a worker that dies loses it after this long, and another worker takes the job" },
  { name: 'idleExit', type: 'number', min: 0, arg: 'S', help: 'exit 0 once no job has been waiting or active for S seconds (default: run until SIGINT or SIGTERM)' },
] as const satisfies readonly OptionSpec[];

export interface Command {
  name: string;
  summary: string;
  options: readonly OptionSpec[];
  /** an alias of `explain --method M` */
  method?: string;
  /** what the synopsis shows before the options (positional arguments) */
  operands?: string;
  run: (argv: string[]) => Promise<number>;
}

const alias = (name: string, summary: string): Command => ({
  name, summary, method: name, options: [],
  run: async (argv) => (await import('./explain.ts')).explain(argv, name),
});

export const COMMANDS: readonly Command[] = [
  { name: 'demo', summary: 'the shipped LeNet-ReLU explains the digit it embeds: prediction, etalons, saliency', options: DEMO_OPTIONS, run: async (a) => (await import('./demo.ts')).demo(a) },
  { name: 'info', summary: 'the layer table: op, output shape, parameters, FLOPs (with --adapter: the adapter and its conv tuning)', options: INFO_OPTIONS, run: async (a) => (await import('./info.ts')).info(a) },
  { name: 'predict', summary: 'the top classes of each image', options: PREDICT_OPTIONS, run: async (a) => (await import('./info.ts')).predict(a) },
  { name: 'explain', summary: 'explain what the model sees: PREFIX.png (a captioned grid), PREFIX.npy (the maps), PREFIX.json (what was computed, with which parameters)', options: EXPLAIN_OPTIONS, run: async (a) => (await import('./explain.ts')).explain(a) },
  { ...alias('etalon', 'etalons of neurons of a layer around one input (W_X,p, P×C×H×W .npy; biases in the JSON)'), options: FIGURE11_OPTIONS, run: async (a) => (await import('./etalon.ts')).etalonCommand(a) },
  alias('maxout', 'activation maximisation: images that maximise units, channels or class logits'),
  alias('invert', 'network inversion: an image whose features at --layer match the input\'s (+ PREFIX.csv, PREFIX-curve.png)'),
  { name: 'patch-model', summary: "prediction difference analysis's patch model, built once per window size from real images", options: PATCH_MODEL_OPTIONS, run: async (a) => (await import('./pda.ts')).patchModelCommand(a) },
  { name: 'train', summary: 'train LeNet-ReLU on MNIST with Loupe\'s own kernels and write it as ONNX', options: TRAIN_OPTIONS, run: async (a) => (await import('./train.ts')).train(a) },
  { name: 'train-decoder', summary: "UpconvNet (Dosovitskiy & Brox): train a decoder from LeNet-ReLU's features at --layer back to the digit with Loupe's own kernels and write it as ONNX (for invert --decoder and maxout --generator)", options: TRAIN_DECODER_OPTIONS, run: async (a) => (await import('./train-decoder.ts')).trainDecoderCommand(a) },
  { name: 'evaluate', summary: 'score explanation methods: deletion and insertion AUC (Petsiuk et al.), the pointing game, the randomisation test, infidelity and max-sensitivity (Yeh et al.), completeness, per image and per method: PREFIX.csv, PREFIX.json (with the curves), PREFIX.png, PREFIX-curves.png', options: EVALUATE_OPTIONS, run: async (a) => (await import('./evaluate.ts')).evaluateCommand(a) },
  { name: 'dissect', summary: 'network dissection (Bau et al.): the concept each unit of a conv layer detects, thresholds and IoU tallies on the GPU over a concept data set (Broden, ADE20K, or the colour names of any photos)', options: DISSECT_OPTIONS, run: async (a) => (await import('./dissect.ts')).dissectCommand(a) },
  { name: 'net2vec', summary: "Net2Vec (Fong & Vedaldi): per concept a weight vector over a layer's units, learned on the GPU; held-out IoU beside the best single unit's, the embeddings and their similarities", options: NET2VEC_OPTIONS, run: async (a) => (await import('./dissect.ts')).net2vecCommand(a) },
  { name: 'attack', summary: 'adversarial examples (FGSM, PGD; L∞, targeted or not) of a batch on the GPU, and what they change inside: feature maps and explanations of the clean and the adversarial image', options: ATTACK_OPTIONS, run: async (a) => (await import('./attack.ts')).attackCommand(a) },
  { name: 'style', summary: "style transfer by inversion (Gatys et al.): a photo's content at one layer and a painting's Gram matrices at several, jointly minimised over the pixels through the reverse pass", options: STYLE_OPTIONS, run: async (a) => (await import('./style.ts')).styleCommand(a) },
  { name: 'fool', summary: 'fooling images: pixel-space activation maximisation of classes (with or without a regulariser) until the model is 99.99 % sure, and what a different network says of them', options: FOOL_OPTIONS, run: async (a) => (await import('./fool.ts')).foolCommand(a) },
  { name: 'merge', operands: 'DIR ...', summary: "join the --out folders of a data-set run's shards: per-image results side by side, tallies and evaluation tables by exact sums, as one run would have written them", options: MERGE_OPTIONS, run: async (a) => (await import('./merge.ts')).mergeCommand(a) },
  { name: 'queue', operands: '(push ... -- COMMAND ARGS ... | status)', summary: 'a data-set run as one BullMQ job per image on Redis (push), and its progress: done, running, failed, ETA (status)', options: QUEUE_OPTIONS, run: async (a) => (await import('./queue.ts')).queueCommand(a) },
  { name: 'worker', summary: "take a queue's jobs and write their results into the run's --out folder; a job whose worker dies goes to another", options: WORKER_OPTIONS, run: async (a) => (await import('./queue.ts')).workerCommand(a) },
  { name: 'serve', summary: 'the browser app on 127.0.0.1: open a model and images in the page, explain them on your own GPU (static files only: nothing is uploaded)', options: SERVE_OPTIONS, run: async (a) => (await import('./serve.ts')).serve(a) },
  { name: 'tune', summary: "measure the conv kernels' tilings (GEMM workgroup size, subgroups, GEMM or Winograd) per shape class on this adapter and cache the fastest (used with LOUPE_TUNE=on)", options: TUNE_OPTIONS, run: async (a) => (await import('./tune.ts')).tuneCommand(a) },
  { name: 'bench', summary: 'the adapter\'s measured roofline, then kernel, model and explainer timings as shares of it, against onnxruntime-node and TensorFlow.js WebGPU in the same run', options: BENCH_OPTIONS, run: async (a) => (await import('./bench.ts')).bench(a) },
];

export function command(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

// ---- help text --------------------------------------------------------------------------------------

const WIDTH = 100;
const INDENT = 14;

/** Words of a synopsis wrapped at WIDTH, continuation lines indented to the options' column. */
function wrap(head: string, words: string[]): string[] {
  const lines: string[] = [];
  let line = head.padEnd(INDENT - 1);
  for (const w of words) {
    if (line.length + 1 + w.length > WIDTH && line.trim() !== '') {
      lines.push(line);
      line = ' '.repeat(INDENT - 1);
    }
    line += ` ${w}`;
  }
  lines.push(line);
  return lines;
}

/** A synopsis's words: the model, input and preprocessing groups written compactly, the rest as options. */
function words(specs: readonly OptionSpec[]): string[] {
  const out: string[] = [];
  const groups = new Set<string>();
  for (const s of specs) {
    if (s.group && groups.has(s.group)) continue;
    if (s.group === 'model') out.push('--model M [--weights W]');
    else if (s.group === 'input')
      out.push(specs.some((t) => t.name === 'images') ? '(--image I ... | --input X.npy | --images DIR_OR_LIST [--shard i/N | --shards N])' : specs.some((t) => t.name === 'input') ? '(--image I ... | --input X.npy)' : '--image I');
    else if (s.group === 'preprocess') out.push('[preprocessing]');
    else out.push(s.required ? optionUsage(s) : `[${optionUsage(s)}]`);
    if (s.group) groups.add(s.group);
  }
  return out;
}

/** A summary as `# ...` lines of at most WIDTH characters. */
function comment(text: string): string[] {
  const lines: string[] = [];
  let line = '#';
  for (const w of text.split(' ')) {
    if (line.length + 1 + w.length > WIDTH && line !== '#') {
      lines.push(line);
      line = '#';
    }
    line += ` ${w}`;
  }
  lines.push(line);
  return lines;
}

/** `loupe explain --method M` and what that method takes besides the model and the output. */
function methodWords(e: ExplainerEntry, head: string[]): string[] {
  const inputs = e.inputs === 'none' ? ['[preprocessing]'] : e.inputs === 'one' ? ['(--image I | --input X.npy)', '[preprocessing]'] : ['(--image I ... | --input X.npy)', '[preprocessing]'];
  return [...head, '--model M [--weights W]', ...inputs, ...words(e.options), '--out PREFIX'];
}

const EXPLAIN_WORDS = () => ['--method METHOD', ...words(EXPLAIN_OPTIONS.filter((s) => s.name !== 'method' && s.name !== 'out')), '--out PREFIX', '[method options]'];
const inputsNote = (e: ExplainerEntry) => (e.inputs === 'none' ? ' (no image)' : e.inputs === 'one' ? ' (one image)' : '');

/** Every command's synopsis, with its summary as a comment: `loupe --help` and the README's block. */
export function commandsText(): string {
  const out: string[] = [];
  for (const c of COMMANDS) {
    if (c.name === 'explain') {
      out.push(...comment(c.summary));
      out.push(...wrap('loupe explain', EXPLAIN_WORDS()));
      for (const e of explainers) {
        out.push(...comment(`${e.name}${inputsNote(e)}: ${e.summary}`));
        out.push(...wrap('loupe explain', [`--method ${e.name}`, '...', ...words(e.options)]));
      }
    } else if (c.method) {
      out.push(...comment(`${c.summary} (= loupe explain --method ${c.method})`));
      out.push(...wrap(`loupe ${c.name}`, ['... (the options of explain --method ' + c.method + ')']));
      if (c.options.length) out.push(...wrap(`loupe ${c.name}`, words(c.options)));
    } else {
      out.push(...comment(c.summary));
      out.push(...wrap(`loupe ${c.name}`, [...(c.operands ? [c.operands] : []), ...words(c.options)]));
    }
  }
  return out.join('\n');
}

const PREPROCESSING = [
  'Preprocessing ([preprocessing]; the flags override what the model file records in loupe.preprocess):',
  ...optionLines(PREPROCESS_OPTIONS),
  '  --labels L is accepted wherever classes are named.',
];

export function usage(): string {
  return [
    'loupe — look inside CNNs on WebGPU',
    '',
    commandsText(),
    '',
    ...PREPROCESSING,
    '',
    'Models: ONNX (.onnx), or Caffe (--model net.prototxt --weights net.caffemodel).',
    'loupe COMMAND --help and loupe explain --method M --help list options with defaults and bounds.',
    'Add --verbose to any command for stack traces.',
  ].join('\n');
}

/** `loupe explain --method M --help`: the method's options with types, bounds and defaults. */
export function methodHelp(e: ExplainerEntry): string {
  const inputs = e.inputs === 'none' ? 'no image' : e.inputs === 'one' ? 'one image' : 'one image or a batch';
  return [
    `loupe explain --method ${e.name}: ${e.title} — ${e.summary} (explains ${inputs})`,
    '',
    ...wrap('loupe explain', methodWords(e, [`--method ${e.name}`])),
    '',
    `Options of ${e.name}:`,
    ...(e.options.length ? optionLines(e.options) : ['  (none)']),
    '',
    'Common options:',
    ...optionLines(EXPLAIN_OPTIONS.filter((s: OptionSpec) => s.name !== 'method' && !(e.inputs === 'none' && s.group === 'input'))),
  ].join('\n');
}

/** `loupe explain --help`: the methods with their summaries. */
export function explainHelp(): string {
  const w = Math.max(...explainers.map((e) => e.name.length));
  return [
    ...wrap('loupe explain', EXPLAIN_WORDS()),
    '',
    'Methods (loupe explain --method METHOD --help lists its options):',
    ...explainers.map((e) => `  ${e.name.padEnd(w)}  ${e.summary}`),
    '',
    'Common options:',
    ...optionLines(EXPLAIN_OPTIONS.filter((s) => s.name !== 'method')),
  ].join('\n');
}

/** `loupe COMMAND --help`. */
export function commandHelp(c: Command): string {
  if (c.name === 'explain') return explainHelp();
  const lines = [`loupe ${c.name}: ${c.summary}`, ''];
  if (c.method) {
    lines.push(`The same as loupe explain --method ${c.method}:`, '', methodHelp(explainers.find((e) => e.name === c.method)!));
    if (c.options.length) lines.push('', ...wrap(`loupe ${c.name}`, words(c.options)), '', ...optionLines(c.options));
    return lines.join('\n');
  }
  return [...lines, ...wrap(`loupe ${c.name}`, [...(c.operands ? [c.operands] : []), ...words(c.options)]), '', ...optionLines(c.options)].join('\n');
}



// ---- the README's command block -------------------------------------------------------------------

export const README_BEGIN = '<!-- commands: generated from cli/commands.ts and the explainer registry by scripts/readme-commands.mjs; do not edit -->';
export const README_END = '<!-- end of commands -->';

/** What README.md holds between its markers: the synopses `loupe --help` prints. */
export function readmeBlock(): string {
  return `${README_BEGIN}\n\`\`\`sh\n${commandsText()}\n\`\`\`\n${README_END}`;
}

/** README text with its command block replaced by `readmeBlock()`; throws when the markers are missing. */
export function withReadmeBlock(readme: string): string {
  const a = readme.indexOf(README_BEGIN), b = readme.indexOf(README_END);
  if (a < 0 || b < a) throw new Error(`README.md has no command block (${README_BEGIN} … ${README_END})`);
  return readme.slice(0, a) + readmeBlock() + readme.slice(b + README_END.length);
}
