// Issue 14's perturbation CAMs and the engine piece under them: the tail of a graph after a value
// (`Model.tail`) gives the whole network's outputs from that value's activations (LeNet; SqueezeNet
// v1.0 at fire layers); a skip connection around the value is refused, naming it, and Ablation-CAM
// then falls back to whole-network passes and says so; Ablation-CAM from the tail alone equals its
// whole-network recomputation (channel zeroed inside the full pass) and the float64 formula of
// pytorch-grad-cam given the logits; Score-CAM equals its formula computed here from masked images
// made on the CPU and the engine's logits of them; bad input through the CLI gives one line.
import { expect } from 'chai';
import { readFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder, getEngine, rng, runLoupe, expectOneLine, rejection } from './helpers.ts';
import { resize, tensor } from './reference.ts';
import { Model } from '../engine/runner.ts';
import { ArgumentError } from '../engine/errors.ts';
import { inferShapes } from '../engine/shapes.ts';
import type { Graph } from '../engine/ir.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { decodeImage } from '../loaders/image.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { readNpy } from '../loaders/npy.ts';
import { ablationCam, scoreCam } from '../explainers/ablation.ts';
import { explainer, type ExplainInputs } from '../explainers/registry.ts';
import { figures, drawFigure } from '../render/figures.ts';
import { explanationTiles } from '../render/tiles.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '..', 'shared', 'data');
const SQZ = join(DATA, 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx');
const BOTH = join(DATA, 'images/pytorch-grad-cam/both.png');
const LENET = join(ROOT, 'weights/lenet-relu-mnist.onnx');
const DIGIT = join(ROOT, 'weights/mnist-test-0.png');
const FIRE2_SQUEEZE = '/Relu_1_output_0'; // 16×55×55, read by both expand convs of fire2
const FIRE9 = '/Concat_7_output_0'; // 512×13×13, the input of conv_final
const S = 227;

// ---- the formulas in float64, written from pytorch-grad-cam (not by calling explainers/ablation.ts) ----

/** torch's UpsamplingBilinear2d (align_corners=True), float64: what score_cam.py upsamples channels with. */
function upsampleCorners(m: ArrayLike<number>, h: number, w: number, H: number, W: number): Float64Array {
  const out = new Float64Array(H * W);
  for (let y = 0; y < H; y++) {
    const sy = H > 1 ? (y * (h - 1)) / (H - 1) : 0;
    const y0 = Math.floor(sy), y1 = Math.min(y0 + 1, h - 1), fy = sy - y0;
    for (let x = 0; x < W; x++) {
      const sx = W > 1 ? (x * (w - 1)) / (W - 1) : 0;
      const x0 = Math.floor(sx), x1 = Math.min(x0 + 1, w - 1), fx = sx - x0;
      out[y * W + x] = (m[y0 * w + x0]! * (1 - fx) + m[y0 * w + x1]! * fx) * (1 - fy) + (m[y1 * w + x0]! * (1 - fx) + m[y1 * w + x1]! * fx) * fy;
    }
  }
  return out;
}

/** ReLU(Σ_k w_k A_k) of image i, upsampled to H×W and divided by its maximum. */
function camOf(A: Float32Array, i: number, C: number, h: number, w: number, weights: ArrayLike<number>, H: number, W: number): Float64Array {
  const hw = h * w;
  const cam = new Float64Array(hw);
  for (let k = 0; k < C; k++) for (let q = 0; q < hw; q++) cam[q] += weights[k]! * A[(i * C + k) * hw + q]!;
  const up = resize(tensor([1, 1, h, w], cam.map((v) => Math.max(v, 0))), H, W, 'bilinear', false).data; // half-pixel centres, as the CAM family upsamples
  const mx = Math.max(...up);
  return mx > 0 ? up.map((v) => v / mx) : up;
}

function expectMapsClose(got: Float32Array, want: Float64Array, tol: number, what: string): void {
  expect(got.length, what).to.equal(want.length);
  let worst = 0, at = 0;
  for (let q = 0; q < got.length; q++) {
    const d = Math.abs(got[q]! - want[q]!);
    if (d > worst) (worst = d), (at = q);
  }
  expect(worst, `${what}: largest difference at ${at} (got ${got[at]}, want ${want[at]})`).to.be.below(tol);
}

/** conv → relu (a) → conv (b) → relu → add(a, ·) → flatten → fc: a residual block, b inside it. */
function skipGraph(): Graph {
  const r = rng(14);
  const b = new GraphBuilder([1, 2, 9, 9]);
  const conv = (x: string, cin: number, name: string) =>
    b.node('conv', [x], { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], group: 1, weight: b.param([4, cin, 3, 3], r.array(4 * cin * 9, -0.5, 0.5)), bias: b.param([4], r) }, name);
  const a = b.node('relu', [conv('x', 2, 'conv_a')], {}, 'a');
  const inner = b.node('relu', [conv(a, 4, 'conv_b')], {}, 'b');
  const sum = b.node('add', [a, inner], {}, 'sum');
  const f = b.node('flatten', [sum], { axis: 1 }, 'flat');
  const y = b.node('fc', [f], { weight: b.param([3, 4 * 81], r.array(3 * 324, -0.2, 0.2)), bias: b.param([3], r), outFeatures: 3 }, 'logits');
  return b.build([y], 'skip');
}

/** LeNet with one digit and SqueezeNet with both.png, as the specs below use them. */
async function loadModels(): Promise<{ lenet: Model; digit: Float32Array; sqz: Model; image: Float32Array }> {
  const e = await getEngine();
  const g = loadOnnx(new Uint8Array(readFileSync(LENET)), 'lenet-relu-mnist.onnx');
  return {
    lenet: new Model(e, g),
    digit: preprocessImage(decodeImage(new Uint8Array(readFileSync(DIGIT)), 'mnist-test-0.png'), { ...g.preprocess, size: [28, 28], channels: 1 }),
    sqz: new Model(e, loadOnnx(new Uint8Array(readFileSync(SQZ)), 'squeezenet.onnx')),
    image: preprocessImage(decodeImage(new Uint8Array(readFileSync(BOTH)), 'both.png'), { size: [S, S], channels: 3, bgr: true, mean: [104, 117, 123] }),
  };
}

// ---- specs ------------------------------------------------------------------------------------------

describe('the tail of a graph after a value (Model.tail)', function () {
  let lenet: Model;
  let sqz: Model;
  let digit: Float32Array;
  let image: Float32Array;
  before(async () => ({ lenet, digit, sqz, image } = await loadModels()));
  after(() => {
    lenet.destroy();
    sqz.destroy();
  });

  it("LeNet: from pool1 or relu2's activations, the tail gives the whole network's logits; it holds only the layers after the value", async () => {
    for (const [value, layers] of [['pool1', ['conv2', 'relu2', 'pool2', 'flatten', 'fc1', 'relu3', 'fc2']], ['relu2', ['pool2', 'flatten', 'fc1', 'relu3', 'fc2']]] as const) {
      const whole = await lenet.run(digit, 1, { outputs: [value, 'logits'] });
      const tail = lenet.tail(value, ['logits']);
      try {
        expect(tail.graph.nodes.map((n) => n.name)).to.deep.equal(layers);
        expect(tail.graph.input).to.deep.equal({ name: value, shape: [-1, ...whole.get(value)!.shape.slice(1)] });
        const got = (await tail.run(whole.get(value)!.data, 1, { outputs: ['logits'] })).get('logits')!.data;
        const want = whole.get('logits')!.data;
        got.forEach((v, k) => expect(v, `${value}: logit ${k}`).to.be.closeTo(want[k]!, 1e-5 * Math.max(1, Math.abs(want[k]!))));
      } finally {
        tail.destroy();
      }
    }
    // the parent still runs after its tails are destroyed (they share its parameter buffers)
    expect((await lenet.run(digit, 1)).get('logits')!.data.length).to.equal(10);
  });

  it("SqueezeNet v1.0: from fire2's squeeze and fire9's output, the tail gives the whole network's logits", async () => {
    for (const value of [FIRE2_SQUEEZE, FIRE9]) {
      const whole = await sqz.run(image, 1, { outputs: [value, 'logits'] });
      const tail = sqz.tail(value, ['logits']);
      try {
        const got = (await tail.run(whole.get(value)!.data, 1, { outputs: ['logits'] })).get('logits')!.data;
        const want = whole.get('logits')!.data;
        let worst = 0;
        for (let k = 0; k < want.length; k++) worst = Math.max(worst, Math.abs(got[k]! - want[k]!));
        expect(worst, value).to.be.below(1e-4 * Math.max(1, ...Array.from(want, Math.abs)));
      } finally {
        tail.destroy();
      }
    }
  });

  it('a skip connection around the value is refused, naming the value read from before it; the input and unrelated outputs too', async () => {
    const m = new Model(await getEngine(), skipGraph());
    try {
      expect(() => m.tail('b', ['logits'])).to.throw(ArgumentError, 'layer "sum" after "b" also reads "a", computed before it (a skip connection around "b")');
      const t = m.tail('sum', ['logits']); // after the block the tail stands alone
      expect(t.graph.nodes.map((n) => n.name)).to.deep.equal(['flat', 'logits']);
      t.destroy();
      expect(() => m.tail('x', ['logits'])).to.throw(ArgumentError, `"x" is the model's input`);
      expect(() => m.tail('logits', ['a'])).to.throw(ArgumentError, 'output "a" does not depend on "logits"');
    } finally {
      m.destroy();
    }
  });

  it('ResNet-50: inside a residual block the tail is refused naming the block input; at a block output it stands (shapes only)', async function () {
    const file = join(DATA, 'onnx/onnx-light-models/light_resnet50.onnx');
    if (!existsSync(file)) this.skip();
    const m = new Model(await getEngine(), loadOnnx(new Uint8Array(readFileSync(file)), 'light_resnet50.onnx'));
    try {
      const adds = m.graph.nodes.filter((n) => n.op === 'add');
      expect(adds.length).to.be.above(10);
      const block = adds[1]!; // the second block: its identity input comes from the first block's output
      const inner = m.facts.layerOf(block.inputs[0]!)!.inputs[0]!; // a value inside the block's main branch
      expect(() => m.tail(inner)).to.throw(ArgumentError, /\(a skip connection around ".*"\)/);
      const after = m.tail(block.outputs[0]!);
      expect(inferShapes(after.graph, 1).get(after.graph.outputs[0]!)!.slice(1)).to.deep.equal(inferShapes(m.graph, 1).get(m.graph.outputs[0]!)!.slice(1));
      after.destroy();
    } finally {
      m.destroy();
    }
  });
});

describe('Ablation-CAM', function () {
  let lenet: Model;
  let sqz: Model;
  let digit: Float32Array;
  let image: Float32Array;
  before(async () => ({ lenet, digit, sqz, image } = await loadModels()));
  after(() => {
    lenet.destroy();
    sqz.destroy();
  });

  /** The formula given the clean logit and the ablated ones: w_k = (y − y_k) / y, map as every CAM. */
  const reference = async (m: Model, x: Float32Array, layer: string, cls: number, ablated: Float32Array, H: number, W: number) => {
    const clean = await m.run(x, 1, { outputs: [layer, 'logits'] });
    const A = clean.get(layer)!;
    const [, C, h, w] = A.shape as [number, number, number, number];
    const y = clean.get('logits')!.data[cls]!;
    const weights = Array.from(ablated, (yk) => (y - yk) / y);
    return { map: camOf(A.data, 0, C, h, w, weights, H, W), weights, C };
  };

  it('SqueezeNet at fire2 squeeze: the tail alone equals whole-network recomputation, and both equal the formula given the logits', async () => {
    const tail = await ablationCam(sqz, image, 1, [FIRE2_SQUEEZE], { classes: [243], batch: 8 });
    const whole = await ablationCam(sqz, image, 1, [FIRE2_SQUEEZE], { classes: [243], batch: 8, whole: true });
    expect(tail.routes).to.deep.equal(['tail']);
    expect(whole.routes).to.deep.equal(['whole']);
    expect(tail.fallbacks).to.deep.equal([null]);
    expect([tail.passes, whole.passes]).to.deep.equal([2, 2]); // 16 channels in batches of 8
    const a = tail.perLayer[0]!, b = whole.perLayer[0]!;
    const scale = Math.max(...Array.from(a.channelScores, Math.abs));
    a.channelScores.forEach((v, k) => expect(v, `channel ${k}: tail vs whole`).to.be.closeTo(b.channelScores[k]!, 1e-4 * scale));
    expectMapsClose(a.maps, Float64Array.from(b.maps), 1e-4, 'tail vs whole');
    const ref = await reference(sqz, image, FIRE2_SQUEEZE, 243, a.channelScores, S, S);
    expect(ref.C).to.equal(16);
    a.weights.forEach((v, k) => expect(v, `w_${k}`).to.be.closeTo(ref.weights[k]!, 1e-5 * Math.max(1, Math.abs(ref.weights[k]!))));
    expectMapsClose(tail.maps, ref.map, 1e-4, 'tail vs formula');
    expect(Math.max(...tail.maps)).to.be.closeTo(1, 1e-6);
  });

  it('LeNet at relu2 (50 channels), two images: tail and whole agree image by image; the ablated logits equal the tail run on activations zeroed here', async () => {
    const x = new Float32Array(2 * 784);
    x.set(digit, 0);
    for (let q = 0; q < 784; q++) x[784 + q] = digit[(q + 3 * 28) % 784]!; // the digit shifted up by three rows
    const tail = await ablationCam(lenet, x, 2, ['relu2'], { batch: 16 });
    const whole = await ablationCam(lenet, x, 2, ['relu2'], { batch: 16, whole: true });
    expect(tail.classes).to.deep.equal(whole.classes);
    expect(tail.passes).to.equal(2 * 4); // ⌈50 / 16⌉ batches per image
    const a = tail.perLayer[0]!, b = whole.perLayer[0]!;
    a.channelScores.forEach((v, k) => expect(v, `score ${k}`).to.be.closeTo(b.channelScores[k]!, 1e-4 * Math.max(1, Math.abs(v))));
    expectMapsClose(a.maps, Float64Array.from(b.maps), 1e-4, 'tail vs whole');
    // the zeroed copies made here, on the CPU, through the same tail
    const clean = await lenet.run(x, 2, { outputs: ['relu2'] });
    const A = clean.get('relu2')!.data;
    const per = 50 * 64;
    const copies = new Float32Array(50 * per);
    for (let k = 0; k < 50; k++) {
      copies.set(A.subarray(per, 2 * per), k * per);
      copies.fill(0, k * per + k * 64, k * per + (k + 1) * 64);
    }
    const t = lenet.tail('relu2', ['logits']);
    try {
      const y = (await t.run(copies, 50, { outputs: ['logits'] })).get('logits')!.data;
      for (let k = 0; k < 50; k++) expect(a.channelScores[50 + k], `image 1, channel ${k}`).to.be.closeTo(y[k * 10 + tail.classes[1]!]!, 1e-5 * Math.max(1, Math.abs(y[k * 10 + tail.classes[1]!]!)));
    } finally {
      t.destroy();
    }
    for (let i = 0; i < 2; i++) {
      const ref = await reference(lenet, x.subarray(i * 784, (i + 1) * 784), 'relu2', tail.classes[i]!, a.channelScores.subarray(i * 50, (i + 1) * 50), 28, 28);
      expectMapsClose(a.maps.subarray(i * 784, (i + 1) * 784), ref.map, 1e-4, `image ${i} vs formula`);
    }
  });

  it("LeNet at conv2, before its ReLU (which the whole pass must then not fuse into conv2): tail and whole agree", async () => {
    const tail = await ablationCam(lenet, digit, 1, ['conv2'], { classes: [7] });
    const whole = await ablationCam(lenet, digit, 1, ['conv2'], { classes: [7], whole: true });
    const a = tail.perLayer[0]!, b = whole.perLayer[0]!;
    a.channelScores.forEach((v, k) => expect(v, `score ${k}`).to.be.closeTo(b.channelScores[k]!, 1e-4 * Math.max(1, Math.abs(v))));
    expect(new Set(a.channelScores).size, 'each channel changes the score differently').to.be.above(40);
    expectMapsClose(a.maps, Float64Array.from(b.maps), 1e-4, 'tail vs whole');
  });

  it('a layer inside a residual block: the whole network runs for every copy, and the result says why', async () => {
    const m = new Model(await getEngine(), skipGraph());
    try {
      const x = rng(5).array(2 * 81);
      const r = await ablationCam(m, x, 1, ['b'], { classes: [1] });
      expect(r.routes).to.deep.equal(['whole']);
      expect(r.fallbacks[0]).to.match(/also reads "a", computed before it \(a skip connection around "b"\)/);
      // a second call builds its own in-place zeros (not a kept plan's, bound to the first call's freed buffers)
      const again = await ablationCam(m, x, 1, ['b'], { classes: [1] });
      expect(Array.from(again.perLayer[0]!.channelScores)).to.deep.equal(Array.from(r.perLayer[0]!.channelScores));
      // zero channel k of b inside the block by hand: the sum is a + 0 there
      const clean = await m.run(x, 1, { outputs: ['a', 'b', 'logits'] });
      const a = clean.get('a')!.data, b = clean.get('b')!.data;
      const t = m.tail('sum', ['logits']);
      try {
        const sums = new Float32Array(4 * 4 * 81);
        for (let k = 0; k < 4; k++) for (let q = 0; q < 4 * 81; q++) sums[k * 324 + q] = a[q]! + (Math.floor(q / 81) === k ? 0 : b[q]!);
        const y = (await t.run(sums, 4, { outputs: ['logits'] })).get('logits')!.data;
        for (let k = 0; k < 4; k++) expect(r.perLayer[0]!.channelScores[k], `channel ${k}`).to.be.closeTo(y[k * 3 + 1]!, 1e-5);
      } finally {
        t.destroy();
      }
    } finally {
      m.destroy();
    }
  });

  it('refuses the input, the logits and a bad --batch with ArgumentError before any pass', async () => {
    for (const [p, msg] of [
      [() => ablationCam(lenet, digit, 1, ['input']), /Ablation-CAM at layer "input": that is the model's input/],
      [() => ablationCam(lenet, digit, 1, ['fc2']), /layer fc2 has shape \[1, 10\]: Ablation-CAM needs a convolutional feature map/],
      [() => ablationCam(lenet, digit, 1, ['relu2'], { batch: 0 }), /--batch must be a positive integer, got 0/],
      [() => scoreCam(lenet, digit, 1, []), /Score-CAM needs at least one layer/],
    ] as const) {
      const e = await rejection(p);
      expect(e).to.be.instanceOf(ArgumentError);
      expect(e.message).to.match(msg);
    }
  });
});

describe('Score-CAM', function () {
  let lenet: Model;
  let digit: Float32Array;
  before(async () => {
    const g = loadOnnx(new Uint8Array(readFileSync(LENET)), 'lenet-relu-mnist.onnx');
    lenet = new Model(await getEngine(), g);
    digit = preprocessImage(decodeImage(new Uint8Array(readFileSync(DIGIT)), 'mnist-test-0.png'), { ...g.preprocess, size: [28, 28], channels: 1 });
  });
  after(() => lenet.destroy());

  for (const layer of ['relu1', 'conv2']) {
    it(`LeNet at ${layer}: equals the formula computed from masked images made here and the engine's logits of them`, async () => {
      const r = await scoreCam(lenet, digit, 1, [layer], { batch: 7 });
      const clean = await lenet.run(digit, 1, { outputs: [layer, 'logits'] });
      const A = clean.get(layer)!;
      const [, C, h, w] = A.shape as [number, number, number, number];
      const cls = r.classes[0]!;
      expect(cls).to.equal(7);
      // each channel upsampled with aligned corners, min-max normalised, times the image
      const masked = new Float32Array(C * 784);
      for (let k = 0; k < C; k++) {
        const up = upsampleCorners(A.data.subarray(k * h * w, (k + 1) * h * w), h, w, 28, 28);
        const mn = Math.min(...up), mx = Math.max(...up);
        for (let q = 0; q < 784; q++) masked[k * 784 + q] = digit[q]! * ((up[q]! - mn) / (mx - mn + 1e-8));
      }
      const logits = (await lenet.run(masked, C, { outputs: ['logits'] })).get('logits')!.data;
      const s = Array.from({ length: C }, (_, k) => logits[k * 10 + cls]!);
      const L = r.perLayer[0]!;
      s.forEach((v, k) => expect(L.channelScores[k], `s_${k}`).to.be.closeTo(v, 1e-4 * Math.max(1, Math.abs(v))));
      const top = Math.max(...s);
      const e = s.map((v) => Math.exp(v - top));
      const sum = e.reduce((p, v) => p + v, 0);
      const weights = e.map((v) => v / sum);
      L.weights.forEach((v, k) => expect(v, `w_${k}`).to.be.closeTo(weights[k]!, 1e-5));
      expectMapsClose(r.maps, camOf(A.data, 0, C, h, w, weights, 28, 28), 1e-4, `${layer} vs formula`);
      expect(r.passes).to.equal(Math.ceil(C / 7));
    });
  }
});

describe('ablationcam and scorecam as registry entries and through the CLI', function () {
  const tmp = mkdtempSync(join(tmpdir(), 'loupe-ablation-'));
  const lenetArgs = ['--model', LENET, '--image', DIGIT];

  it('run() on LeNet: meta says the route, passes and seconds; figures and tiles draw as the CAM family', async () => {
    const g = loadOnnx(new Uint8Array(readFileSync(LENET)), 'lenet-relu-mnist.onnx');
    const model = new Model(await getEngine(), g);
    try {
      const x = preprocessImage(decodeImage(new Uint8Array(readFileSync(DIGIT)), 'mnist-test-0.png'), { ...g.preprocess, size: [28, 28], channels: 1 });
      const inputs: ExplainInputs = { data: x, batch: 1, names: ['mnist-test-0.png'], preprocess: g.preprocess, fromImages: true };
      const ctx = { ...inputs, shape: [1, 28, 28] as [number, number, number], model: 'lenet-relu-mnist.onnx' };
      for (const name of ['ablationcam', 'scorecam']) {
        const e = await explainer(name).run(model, inputs, { layer: 'relu1,relu2' });
        expect(e.meta).to.deep.include({ method: name, layers: ['relu1', 'relu2'], classes: [7], layerSizes: [[24, 24], [8, 8]], batches: [20, 50] });
        if (name === 'ablationcam') expect(e.meta).to.deep.include({ routes: ['tail', 'tail'], fallbacks: [null, null], passes: 2 });
        else expect(e.meta).to.deep.include({ route: 'whole', passes: 2 });
        expect(e.meta.seconds).to.be.a('number');
        expect(e.meta.stored).to.match(/^mean of the per-layer .* maps, each normalised to \[0,1\]; per layer: ReLU/);
        expect(e.tensors['weights-relu1']!.shape).to.deep.equal([1, 20]);
        expect(e.tensors['channelScores-relu2']!.shape).to.deep.equal([1, 50]);
        expect(JSON.parse(JSON.stringify(e.meta))).to.deep.equal(e.meta);
        const figs = figures(e, ctx);
        expect(figs.map((f) => f.suffix)).to.deep.equal(['']);
        for (const f of figs) expect(drawFigure(f).width).to.be.above(100);
        expect(explanationTiles(e, ctx).map((t) => t.id)).to.deep.equal([`${name}/0/relu1`, `${name}/0/relu2`, `${name}/0/mean`]);
      }
    } finally {
      model.destroy();
    }
  });

  it('loupe explain --method ablationcam and scorecam on LeNet write PREFIX.png, .npy and .json, the note naming the route', () => {
    for (const method of ['ablationcam', 'scorecam']) {
      const prefix = join(tmp, method);
      const r = runLoupe(['explain', '--method', method, ...lenetArgs, '--layer', 'relu2', '--class', '7', '--out', prefix]);
      expect(r.code, r.err).to.equal(0);
      for (const ext of ['png', 'npy', 'json']) expect(existsSync(`${prefix}.${ext}`), ext).to.equal(true);
      expect(readNpy(new Uint8Array(readFileSync(`${prefix}.npy`)), `${method}.npy`).shape).to.deep.equal([28, 28]);
      const meta = JSON.parse(readFileSync(`${prefix}.json`, 'utf8'));
      expect(meta).to.deep.include({ method, layers: ['relu2'], classes: [7], layerSizes: [[8, 8]] });
      expect(r.err).to.match(method === 'ablationcam' ? /ablationcam: 1 tail pass\b \(relu2: tail, batches of 50\)/ : /scorecam: 1 whole-network pass\b/);
    }
  });

  it('bad input: the input as --layer, --batch 0, an unknown layer: one line, exit 1, no files', () => {
    for (const [method, args, msg] of [
      ['ablationcam', ['--layer', 'input'], /Ablation-CAM at layer "input": that is the model's input/],
      ['scorecam', ['--layer', 'input'], /Score-CAM at layer "input": that is the model's input/],
      ['ablationcam', ['--layer', 'relu2', '--batch', '0'], /--batch/],
      ['scorecam', ['--layer', 'nothing'], /no layer named "nothing"/],
    ] as const) {
      const prefix = join(tmp, `bad-${method}`);
      expectOneLine(runLoupe(['explain', '--method', method, ...lenetArgs, ...args, '--out', prefix]), msg);
      for (const ext of ['png', 'npy', 'json']) expect(existsSync(`${prefix}.${ext}`)).to.equal(false);
    }
  });
});
