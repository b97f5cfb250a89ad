// Region forward mode (engine/region.ts): a batch of images that differ from a clean image only in
// a rectangle each, run by recomputing each layer's changed rectangle, gives the same outputs as
// running the whole images — on a graph that exercises every region kernel and the whole-map
// fallback, on small graphs with LRN, residual adds, depthwise and pad-1 1×1 convs, on SqueezeNet,
// AlexNet's and ResNet-50's light graphs, and on MobileNet v2 / v3 and ShuffleNet v2.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getEngine, rng, GraphBuilder, type Rng } from './helpers.ts';
import { Model } from '../engine/runner.ts';
import { RegionForward } from '../engine/region.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { occlusion } from '../explainers/gradients.ts';
import { ArgumentError, ShapeError } from '../engine/errors.ts';
import type { Graph } from '../engine/ir.ts';
import { mobileModels } from './mobile-models.ts';
import { ROWS } from '../engine/conv.ts';

const DATA = join(import.meta.dirname, '..', '..', 'shared', 'data');
const SQZ = join(DATA, 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx');

/** Region run vs whole-image run of the same batch; returns the worst |difference| / max |value| per output. */
/** `beforeWhole`: runs after the region plan is built, before the whole-image run (another conv algorithm for it). */
async function compare(model: Model, rect: [number, number], n: number, outputs: string[], r: Rng, fixed?: [number, number][], beforeWhole?: () => void): Promise<{ worst: number; rf: RegionForward }> {
  const [, C, H, W] = model.graph.input.shape as [number, number, number, number];
  const [kh, kw] = rect;
  const x = r.array(C * H * W, -1, 1);
  const rf = new RegionForward(model, { rect, batch: n, outputs });
  await rf.setClean(x);
  const oy = new Int32Array(n), ox = new Int32Array(n);
  for (let b = 0; b < n; b++) {
    const f = fixed?.[b];
    oy[b] = f ? f[0] : Math.floor(r.uniform(0, H - kh + 1));
    ox[b] = f ? f[1] : Math.floor(r.uniform(0, W - kw + 1));
  }
  const patch = r.array(n * C * kh * kw, -1, 1);
  rf.writeRectangles(patch);
  const whole = new Float32Array(n * C * H * W);
  for (let b = 0; b < n; b++) {
    whole.set(x, b * C * H * W);
    for (let c = 0; c < C; c++)
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++) whole[((b * C + c) * H + oy[b]! + i) * W + ox[b]! + j] = patch[((b * C + c) * kh + i) * kw + j]!;
  }
  const got = await rf.run(undefined, oy, ox);
  beforeWhole?.();
  const want = await model.run(whole, n, { outputs });
  let worst = 0;
  for (const o of outputs) {
    const a = got.get(model.resolve(o))!, w = want.get(model.resolve(o))!;
    expect(a.shape, o).to.deep.equal(w.shape);
    let d = 0, m = 1e-30;
    for (let i = 0; i < a.data.length; i++) {
      d = Math.max(d, Math.abs(a.data[i]! - w.data[i]!));
      m = Math.max(m, Math.abs(w.data[i]!));
    }
    worst = Math.max(worst, d / m);
  }
  return { worst, rf };
}

/** Every op the region mode handles itself, and some it hands to whole maps. */
function mixedGraph(r: Rng): Graph {
  const b = new GraphBuilder([1, 3, 23, 19], 'img');
  const u = (n: number, s: number) => r.array(n, -s, s);
  const conv = (x: string, cin: number, cout: number, k: number, stride: number, pad: number, name: string, dil = 1, group = 1) =>
    b.node('conv', [x], {
      kernel: [k, k], stride: [stride, stride], pads: [pad, pad, pad, pad], dilation: [dil, dil], group,
      weight: b.param([cout, cin / group, k, k], u((cout * cin * k * k) / group, 1.5 / Math.sqrt((cin * k * k) / group)), `${name}.w`),
      bias: b.param([cout], u(cout, 0.3), `${name}.b`),
    }, name);
  const c1 = conv('img', 3, 8, 3, 2, 1, 'conv1'); // 23×19 → 12×10, fused ReLU
  const r1 = b.node('relu', [c1], {}, 'relu1');
  const p1 = b.node('maxpool', [r1], { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], ceil: false }, 'pool1'); // 12×10
  const a = conv(p1, 8, 6, 1, 1, 0, 'branch_a'); // pointwise; its output is also read below, so its ReLU is a kernel of its own
  const ra = b.node('relu', [a], {}, 'relu_a');
  const rb = b.node('relu', [conv(p1, 8, 5, 3, 1, 2, 'branch_b', 2)], {}, 'relu_b'); // dilated
  const cat = b.node('concat', [ra, rb], { axis: 1 }, 'concat');
  const sg = b.node('sigmoid', [cat], {}, 'gate');
  const p2 = b.node('avgpool', [sg], { kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1], ceil: true, countIncludePad: true }, 'pool2'); // 12×10 → 7×6
  const dw = conv(p2, 11, 11, 3, 1, 1, 'depthwise', 1, 11); // the direct kernel (whole maps here: the rectangle has grown to the map)
  const sum = b.node('add', [dw, p2], {}, 'sum');
  const n1 = b.node('lrn', [sum], { size: 3, alpha: 0.6, beta: 0.75, bias: 1 }, 'norm');
  const side = b.node('globalavgpool', [a], {}, 'side'); // reads the pre-ReLU branch
  const f = b.node('flatten', [n1], { axis: 1 }, 'flat');
  const fc = b.node('fc', [f], { weight: b.param([7, 11 * 7 * 6], u(7 * 462, 0.1)), bias: b.param([7], u(7, 0.1)), outFeatures: 7 }, 'scores');
  return b.build([fc, side, cat], 'mixed');
}

/**
 * Small graphs for the region kernels of issue 15, by name: LRN between convs; a residual add whose
 * branches have different rectangles (and a same-shape product); a depthwise conv (the direct
 * kernel) writing into a concat; a pad-1 1×1 conv (SqueezeNet's conv_final); per-channel affine maps
 * (unfolded BatchNorm, Scale) and PReLU.
 */
function issue15Graph(kind: 'lrn' | 'residual' | 'depthwise' | 'pad1x1' | 'affine', r: Rng): Graph {
  const b = new GraphBuilder([1, 3, 21, 17], 'img');
  const u = (n: number, s: number) => r.array(n, -s, s);
  const conv = (x: string, cin: number, cout: number, k: number, stride: number, pad: number, name: string, group = 1) =>
    b.node('conv', [x], {
      kernel: [k, k], stride: [stride, stride], pads: [pad, pad, pad, pad], dilation: [1, 1], group,
      weight: b.param([cout, cin / group, k, k], u((cout * cin * k * k) / group, 1.5 / Math.sqrt((cin * k * k) / group)), `${name}.w`),
      bias: b.param([cout], u(cout, 0.3), `${name}.b`),
    }, name);
  const relu = (x: string, name: string) => b.node('relu', [x], {}, name);
  const c1 = relu(conv('img', 3, 8, 3, 1, 1, 'conv1'), 'relu1'); // 21×17
  let out: string;
  if (kind === 'lrn') {
    const n1 = b.node('lrn', [c1], { size: 5, alpha: 0.8, beta: 0.75, bias: 1 }, 'norm1');
    const p1 = b.node('maxpool', [n1], { kernel: [3, 3], stride: [2, 2], pads: [0, 0, 0, 0], ceil: true }, 'pool1'); // 10×8
    const c2 = relu(conv(p1, 8, 12, 3, 1, 1, 'conv2'), 'relu2');
    out = b.node('lrn', [c2], { size: 3, alpha: 0.5, beta: 0.6, bias: 2 }, 'norm2');
  } else if (kind === 'residual') {
    const a1 = relu(conv(c1, 8, 8, 3, 1, 1, 'res_a'), 'res_a_relu');
    const a2 = conv(a1, 8, 8, 3, 1, 1, 'res_b'); // the rectangle grows by 2 per side; the shortcut's does not
    const sum = relu(b.node('add', [a2, c1], {}, 'sum'), 'sum_relu');
    const down = conv(sum, 8, 8, 3, 2, 1, 'down'); // 11×9
    const short = conv(sum, 8, 8, 1, 2, 0, 'short'); // stride-2 1×1 shortcut
    const sum2 = b.node('add', [short, down], {}, 'sum2');
    out = b.node('mul', [sum2, relu(conv(sum2, 8, 8, 3, 1, 1, 'gate'), 'gate_relu')], {}, 'prod');
  } else if (kind === 'depthwise') {
    const dw = relu(conv(c1, 8, 8, 3, 1, 1, 'dw', 8), 'dw_relu');
    const dw2 = conv(dw, 8, 16, 3, 2, 1, 'dw2', 8); // two outputs per group, stride 2: still the direct kernel
    const pw = conv(dw2, 16, 6, 1, 1, 0, 'pw');
    const side = conv(dw2, 16, 16, 5, 1, 2, 'side_dw', 16); // read only by the concat: written into it
    out = b.node('concat', [pw, side], { axis: 1 }, 'cat');
  } else if (kind === 'affine') {
    const bn = b.node('channelaffine', [c1], { scale: b.param([8], u(8, 2), 'bn.scale'), shift: b.param([8], u(8, 1), 'bn.shift') }, 'bn');
    const pr = b.node('prelu', [bn], { slope: b.param([8], u(8, 0.5), 'pr.slope') }, 'prelu');
    const p1 = b.node('maxpool', [pr], { kernel: [3, 3], stride: [2, 2], pads: [0, 0, 0, 0], ceil: true }, 'pool1');
    out = b.node('channelaffine', [p1], { scale: b.param([1], u(1, 2), 'sc.scale') }, 'scale');
  } else {
    const c2 = relu(conv(c1, 8, 10, 1, 1, 1, 'pad1x1'), 'pad1x1_relu'); // 21×17 → 23×19
    out = conv(c2, 10, 7, 1, 1, 1, 'pad1x1_b');
  }
  const g = b.node('globalavgpool', [out], {}, 'gap');
  return b.build([g, out], kind);
}

describe('region forward mode', function () {
  this.timeout(600_000);

  it('equals whole-image recomputation on a graph with every region op and the whole-map fallback', async () => {
    const r = rng(11);
    const model = new Model(await getEngine(), mixedGraph(r));
    try {
      for (const rect of [[1, 1], [4, 3], [7, 7], [23, 19]] as [number, number][]) {
        const corners: [number, number][] = [[0, 0], [23 - rect[0], 19 - rect[1]], [0, 19 - rect[1]], [23 - rect[0], 0]];
        const { worst, rf } = await compare(model, rect, 6, ['scores', 'side', 'concat', 'pool1', 'relu_a'], r, corners);
        try {
          expect(worst, `rect ${rect.join('×')}`).to.be.at.most(1e-5);
          const ops = Object.fromEntries(rf.stats.layers.map((l) => [l.name, l.rect]));
          if (rect[0] === 1) {
            expect(ops.conv1).to.equal('2×2 of 12×10');
            expect(ops.concat).to.match(/^\d+×\d+ of 12×10$/);
            expect(ops.norm).to.equal('full');
          }
          if (rect[0] === 23) expect(Object.values(ops).every((v) => v === 'full')).to.equal(true);
        } finally {
          rf.destroy();
        }
      }
    } finally {
      model.destroy();
    }
  });

  it("equals whole-image recomputation with conv2d_gemm's tap loop on rectangles (rows too wide for conv2d_rows)", async () => {
    const segmax = ROWS.SEGMAX;
    ROWS.SEGMAX = 0; // no room for a row: every non-pointwise conv takes the tap loop, as a conv wider than 40 input columns does
    const r = rng(12);
    const model = new Model(await getEngine(), mixedGraph(r));
    try {
      for (const rect of [[4, 3], [7, 7]] as [number, number][]) {
        const corners: [number, number][] = [[0, 0], [23 - rect[0], 19 - rect[1]], [0, 19 - rect[1]], [23 - rect[0], 0]];
        const { worst, rf } = await compare(model, rect, 6, ['scores', 'side', 'concat', 'pool1', 'relu_a'], r, corners);
        try {
          expect(worst, `rect ${rect.join('×')}`).to.be.at.most(1e-5);
          const layer = Object.fromEntries(rf.stats.layers.map((l) => [l.name, l]));
          for (const name of ['conv1', 'branch_b']) expect(layer[name]!.kernels, name).to.deep.equal(['conv2d_gemm']);
        } finally {
          rf.destroy();
        }
      }
    } finally {
      ROWS.SEGMAX = segmax;
      model.destroy();
    }
  });

  it('equals whole-image recomputation with LRN, residual adds, depthwise convs, pad-1 1×1 convs, channel affine maps and PReLU on rectangles', async () => {
    const r = rng(15);
    const expectRect: Record<string, string[]> = {
      lrn: ['norm1', 'norm2'], residual: ['sum', 'sum2', 'prod'], depthwise: ['dw', 'dw2', 'side_dw'], pad1x1: ['pad1x1', 'pad1x1_b'], affine: ['bn', 'prelu', 'scale'],
    };
    for (const kind of ['lrn', 'residual', 'depthwise', 'pad1x1', 'affine'] as const) {
      const g = issue15Graph(kind, r);
      const model = new Model(await getEngine(), g);
      try {
        for (const rect of [[3, 3], [5, 4], [21, 17]] as [number, number][]) {
          const corners: [number, number][] = [[0, 0], [21 - rect[0], 17 - rect[1]], [0, 17 - rect[1]], [21 - rect[0], 0], [Math.floor((21 - rect[0]) / 2), Math.floor((17 - rect[1]) / 2)]];
          const { worst, rf } = await compare(model, rect, 5, g.outputs, r, corners);
          try {
            expect(worst, `${kind} rect ${rect.join('×')}`).to.be.at.most(1e-5);
            const ops = Object.fromEntries(rf.stats.layers.map((l) => [l.name, l.rect]));
            if (rect[0] === 3) for (const name of expectRect[kind]!) expect(ops[name], `${kind}: ${name}`).to.match(/^\d+×\d+ of \d+×\d+/);
            if (kind === 'residual' && rect[0] === 3) {
              // the add's rectangle is the hull of its branches': the conv branch's, 2 wider per side than the shortcut's
              expect(ops.sum).to.equal(ops.res_b);
              expect(ops.res_b).to.not.equal(ops.conv1);
            }
            if (rect[0] === 21) expect(Object.values(ops).every((v) => v === 'full')).to.equal(true);
          } finally {
            rf.destroy();
          }
        }
      } finally {
        model.destroy();
      }
    }
  });

  it("runs stride-1 3×3 convs on rectangles as Winograd F(2×2, 3×3) (odd and even rectangles, map edges, pads 0–2, into a concat), equal to whole images on the GEMM", async () => {
    // img 3×21×17 → 3×3 pad 1 (fused ReLU) → fire: squeeze 1×1 → expand 1×1 ‖ expand 3×3 pad 1 (both
    // written into the concat) → 3×3 pad 0 → 3×3 pad 2 → stride-2 3×3 (GEMM) → 3×3 pad 1
    const r = rng(33);
    const b = new GraphBuilder([1, 3, 21, 17], 'img');
    const conv = (x: string, cin: number, cout: number, k: number, stride: number, pad: number, name: string) =>
      b.node('conv', [x], {
        kernel: [k, k], stride: [stride, stride], pads: [pad, pad, pad, pad], dilation: [1, 1], group: 1,
        weight: b.param([cout, cin, k, k], r.array(cout * cin * k * k, -1.5 / Math.sqrt(cin * k * k), 1.5 / Math.sqrt(cin * k * k)), `${name}.w`),
        bias: b.param([cout], r.array(cout, -0.3, 0.3), `${name}.b`),
      }, name);
    const relu = (x: string, name: string) => b.node('relu', [x], {}, name);
    const c1 = relu(conv('img', 3, 8, 3, 1, 1, 'conv1'), 'relu1');
    const sq = relu(conv(c1, 8, 6, 1, 1, 0, 'squeeze'), 'squeeze_relu');
    const cat = b.node('concat', [relu(conv(sq, 6, 8, 1, 1, 0, 'e1'), 'e1_relu'), relu(conv(sq, 6, 12, 3, 1, 1, 'e3'), 'e3_relu')], { axis: 1 }, 'cat');
    const p0 = relu(conv(cat, 20, 8, 3, 1, 0, 'pad0'), 'pad0_relu'); // 19×15
    const p2 = conv(p0, 8, 8, 3, 1, 2, 'pad2'); // 21×17, no ReLU
    const s2 = relu(conv(p2, 8, 8, 3, 2, 1, 'stride2'), 'stride2_relu'); // 11×9
    const out = conv(s2, 8, 5, 3, 1, 1, 'last');
    const g = b.build([b.node('globalavgpool', [out], {}, 'gap'), out, cat], 'winograd-region');
    const e = await getEngine();
    const model = new Model(e, g);
    const was = e.convAlgorithm;
    try {
      for (const rect of [[1, 1], [4, 3], [5, 6], [21, 17]] as [number, number][]) {
        const corners: [number, number][] = [[0, 0], [21 - rect[0], 17 - rect[1]], [0, 17 - rect[1]], [21 - rect[0], 0], [Math.floor((21 - rect[0]) / 2), Math.floor((17 - rect[1]) / 2)]];
        e.convAlgorithm = 'winograd';
        const { worst, rf } = await compare(model, rect, 5, g.outputs, r, corners, () => (e.convAlgorithm = 'gemm'));
        try {
          expect(worst, `rect ${rect.join('×')}`).to.be.at.most(1e-5);
          const layer = Object.fromEntries(rf.stats.layers.map((l) => [l.name, l]));
          if (rect[0] !== 21) {
            for (const name of ['conv1', 'e3', 'pad0', 'pad2'])
              expect(layer[name]!.kernels, `${name} at ${rect.join('×')}`).to.deep.equal(['winograd_input', 'conv2d_gemm', 'winograd_output']);
            expect(layer.e3!.rect).to.match(/\(into cat\)$/);
            expect(layer.stride2!.kernels).to.deep.equal(['conv2d_rows']); // no Winograd at stride 2: the direct route's REGION variant
          }
        } finally {
          rf.destroy();
        }
      }
    } finally {
      e.convAlgorithm = was;
      model.destroy();
    }
  });

  it('a concat with an input on whole maps (an op without a region kernel before it) is whole too, and right', async () => {
    // img → conv (rectangles) ‖ slicechannels (no region kernel: whole maps) → concat → conv
    const r = rng(21);
    for (const order of ['rect-first', 'whole-first'] as const) {
      const b = new GraphBuilder([1, 4, 15, 13], 'img');
      const conv = (x: string, cin: number, cout: number, name: string) =>
        b.node('conv', [x], { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], group: 1, weight: b.param([cout, cin, 3, 3], r.array(cout * cin * 9, -0.3, 0.3), `${name}.w`) }, name);
      const a = conv('img', 4, 6, 'a');
      const sl = b.node('slicechannels', ['img'], { start: 1, count: 2 }, 'slice');
      const cat = b.node('concat', order === 'rect-first' ? [a, sl] : [sl, a], { axis: 1 }, 'cat');
      const g = b.build([conv(cat, 8, 5, 'c')], `concat-${order}`);
      const model = new Model(await getEngine(), g);
      try {
        const { worst, rf } = await compare(model, [3, 3], 4, g.outputs, r, [[0, 0], [12, 10], [5, 4], [0, 10]]);
        rf.destroy();
        expect(worst, order).to.be.at.most(1e-5);
      } finally {
        model.destroy();
      }
    }
  });

  it("equals whole-image recomputation on AlexNet's and ResNet-50's light graphs (LRN and residual adds on rectangles)", async () => {
    for (const [file, hidden] of [['light_bvlc_alexnet.onnx', 'lrn'], ['light_resnet50.onnx', 'add']] as const) {
      const g = loadOnnx(new Uint8Array(readFileSync(join(DATA, 'onnx/onnx-light-models', file))), file);
      const h = g.nodes.filter((n) => n.op === hidden)[1]!.outputs[0]!;
      const model = new Model(await getEngine(), g);
      try {
        const { worst, rf } = await compare(model, [10, 10], 2, [g.outputs[0]!, h], rng(7), [[0, 0], [120, 77]]);
        try {
          expect(worst, file).to.be.at.most(1e-4);
          const ops = rf.stats.layers.filter((l) => l.op === hidden);
          expect(ops[0]!.rect, `${file}: the first ${hidden} runs on a rectangle`).to.match(/^\d+×\d+ of \d+×\d+$/);
          expect(rf.stats.macs / rf.stats.fullMacs).to.be.below(0.5);
        } finally {
          rf.destroy();
        }
      } finally {
        model.destroy();
      }
    }
  });

  it('equals whole-image recomputation on SqueezeNet (logits and a hidden layer), at a fifth of the multiply-adds', async () => {
    const model = new Model(await getEngine(), loadOnnx(new Uint8Array(readFileSync(SQZ)), 'squeezenet.onnx'));
    try {
      const { worst, rf } = await compare(model, [10, 10], 6, ['logits', '/Concat_3_output_0'], rng(5), [[0, 0], [217, 217], [0, 217], [217, 0], [100, 57], [3, 200]]);
      try {
        expect(worst).to.be.at.most(1e-5);
        const frac = rf.stats.macs / rf.stats.fullMacs;
        expect(frac).to.be.below(0.25);
        expect(rf.stats.layers.find((l) => l.name === '/conv1/Conv')!.rect).to.equal('8×8 of 111×111');
      } finally {
        rf.destroy();
      }
    } finally {
      model.destroy();
    }
  });

  // the mobile families (spec/mobile-models.ts; needs Debian's python3-torch): ReLU6 and HardSwish on
  // rectangles (elementwise), depthwise convs, broadcast SE products, channel shuffles and slices on
  // whole maps
  it('equals whole-image recomputation on MobileNet v2 (ReLU6 on rectangles), and on MobileNet v3 and ShuffleNet v2', async () => {
    const byName = new Map(mobileModels().map((m) => [m.name, m]));
    for (const name of ['mobilenet_v2_x0_5', 'mobilenet_v3_small', 'shufflenet_v2_x0_5']) {
      const g = loadOnnx(new Uint8Array(readFileSync(byName.get(name)!.onnx)), `${name}.onnx`);
      const hidden = g.nodes.filter((n) => n.op === 'clip' || n.op === 'hardswish' || n.op === 'transpose')[4]!.outputs[0]!;
      const model = new Model(await getEngine(), g);
      try {
        const { worst, rf } = await compare(model, [10, 10], 6, [g.outputs[0]!, hidden], rng(6), [[0, 0], [54, 54], [0, 54], [54, 0], [20, 37], [3, 50]]);
        try {
          expect(worst, name).to.be.at.most(1e-5);
          if (name === 'mobilenet_v2_x0_5') {
            const clips = rf.stats.layers.filter((l) => l.op === 'clip');
            expect(clips.length).to.be.above(10);
            expect(clips[0]!.rect, 'the first ReLU6 runs on rectangles').to.match(/^\d+×\d+ of 32×32$/);
            expect(rf.stats.macs / rf.stats.fullMacs).to.be.below(1);
          }
        } finally {
          rf.destroy();
        }
      } finally {
        model.destroy();
      }
    }
  });

  it('makes occlusion incremental with the same maps (shipped LeNet-ReLU, patch 6, stride 2)', async () => {
    const model = new Model(await getEngine(), loadOnnx(new Uint8Array(readFileSync(join(import.meta.dirname, '..', 'weights', 'lenet-relu-mnist.onnx'))), 'lenet.onnx'));
    try {
      const r = rng(8);
      const x = r.array(2 * 28 * 28, 0, 1);
      const inc = await occlusion(model, x, 2, { size: 6, stride: 2 });
      const full = await occlusion(model, x, 2, { size: 6, stride: 2, incremental: false });
      let d = 0, m = 0;
      for (let i = 0; i < full.maps.length; i++) {
        d = Math.max(d, Math.abs(inc.maps[i]! - full.maps[i]!));
        m = Math.max(m, Math.abs(full.maps[i]!));
      }
      expect(m).to.be.above(0);
      expect(d).to.be.at.most(1e-4 * m);
    } finally {
      model.destroy();
    }
  });

  it('rejects a rectangle larger than the input, origins outside it, and a run before setClean', async () => {
    const model = new Model(await getEngine(), mixedGraph(rng(2)));
    try {
      expect(() => new RegionForward(model, { rect: [24, 3], batch: 2, outputs: ['scores'] })).to.throw(ArgumentError, /region 24×3 does not fit the 23×19 input/);
      const rf = new RegionForward(model, { rect: [3, 3], batch: 2, outputs: ['scores'] });
      try {
        let err: unknown;
        try {
          await rf.run(undefined, [0, 0], [0, 0]);
        } catch (e) {
          err = e;
        }
        expect(err).to.be.instanceOf(ArgumentError);
        await rf.setClean(new Float32Array(3 * 23 * 19));
        err = undefined;
        try {
          await rf.run(undefined, [0, 21], [0, 0]);
        } catch (e) {
          err = e;
        }
        expect(err).to.be.instanceOf(ShapeError);
        expect((err as Error).message).to.match(/origin \(21, 0\) of image 1 is outside the input/);
      } finally {
        rf.destroy();
      }
    } finally {
      model.destroy();
    }
  });
});
