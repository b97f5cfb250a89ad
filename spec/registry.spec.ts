// The explainer registry and the command table: option schemas (defaults, bounds, enums, unknown
// and conflicting options), every method run through its entry on the shipped LeNet-ReLU,
// cancellation (library and Ctrl-C), and the help text, the README block and the code agreeing.
import { expect } from 'chai';
import { readFileSync, readdirSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getEngine, rejection } from './helpers.ts';
import { Model } from '../engine/runner.ts';
import { ArgumentError, CancelledError } from '../engine/errors.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { decodeImage } from '../loaders/image.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { readIdx } from '../loaders/idx.ts';
import { writeNpy } from '../loaders/npy.ts';
import { buildPatchModel, encodePatchModel } from '../explainers/patch-model.ts';
import { explainers, explainer, type ExplainInputs, type Explanation } from '../explainers/registry.ts';
import { validateOptions, flagName, type OptionSpec } from '../explainers/options.ts';
import { explanationTiles } from '../render/tiles.ts';
import { figures, drawFigure, type FigureContext } from '../render/figures.ts';
import { COMMANDS, EXPLAIN_OPTIONS, readmeBlock } from '../cli/commands.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '..', 'shared', 'data');
const LENET = join(ROOT, 'weights/lenet-relu-mnist.onnx');
const DIGIT = join(ROOT, 'weights/mnist-test-0.png');
const T10K = join(DATA, 'mnist/t10k-images-idx3-ubyte.gz');
const DIGITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
const env = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
const loupe = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/loupe.js'), ...args], { encoding: 'utf8', timeout: 300_000, env });
  return { code: r.status, out: r.stdout, err: r.stderr.split('\n').filter((l) => l && !l.startsWith('Warning: max')).join('\n') };
};
const MNIST_CTX = { input: { channels: 1, height: 28, width: 28 } };

describe('option schemas', () => {
  const specs = [
    { name: 'window', type: 'int', default: 10, min: 1, max: { text: 'the image side', value: (c) => c.input?.height }, help: 'window' },
    { name: 'stride', type: 'int', min: 1, default: { text: 'half the window', value: (_c, o) => Math.max(1, (o.window as number) >> 1) }, help: 'stride' },
    { name: 'sampling', type: 'enum', values: ['conditional', 'marginal'], default: 'conditional', help: 'sampling' },
    { name: 'laplaceN', type: 'number', min: 0, exclusive: true, help: 'N' },
    { name: 'full', type: 'flag', help: 'full' },
    { name: 'class', type: 'classes', help: 'classes' },
    { name: 'top', type: 'int', default: 1, min: 1, conflicts: ['class'], help: 'top' },
    { name: 'neurons', type: 'neurons', help: 'neurons' },
    { name: 'layer', type: 'layers', help: 'layers' },
  ] as const satisfies readonly OptionSpec[];
  const ctx = { input: { channels: 3, height: 227, width: 227 }, labels: ['tench, Tinca tinca', 'goldfish', 'tabby, tabby cat'] };

  it('applies defaults, derived ones included, and types what is given', () => {
    const o = validateOptions(specs, {}, ctx);
    expect(o).to.deep.equal({ window: 10, stride: 5, sampling: 'conditional', laplaceN: undefined, full: false, class: undefined, top: 1, neurons: undefined, layer: undefined });
    const p = validateOptions(specs, { window: '20', laplaceN: '1e4', full: true, class: 'tabby cat,1', neurons: '0-3,9', layer: 'a, b' }, ctx);
    expect([p.window, p.stride, p.laplaceN, p.full, p.class, p.neurons, p.layer]).to.deep.equal([20, 10, 1e4, true, [2, 1], [0, 1, 2, 3, 9], ['a', 'b']]);
    expect(validateOptions(specs, { window: 7, class: [5] }, ctx).class).to.deep.equal([5]); // typed values pass as they are
  });

  it('bounds: the message names the option, its bounds (derived from the model) and the value', () => {
    const bad = (given: Record<string, unknown>, msg: string) => expect(() => validateOptions(specs, given, ctx, 'pda')).to.throw(ArgumentError, msg);
    bad({ window: '0' }, '--window must be an integer in [1, 227], got "0"');
    bad({ window: '228' }, '--window must be an integer in [1, 227], got "228"');
    bad({ window: '2.5' }, '--window must be an integer in [1, 227], got "2.5"');
    bad({ window: '' }, '--window must be an integer in [1, 227], got ""');
    bad({ stride: '0' }, '--stride must be an integer ≥ 1, got "0"');
    bad({ laplaceN: '0' }, '--laplace-n must be a number > 0, got "0"');
    bad({ laplaceN: 'many' }, '--laplace-n must be a number > 0, got "many"');
    bad({ sampling: 'random' }, '--sampling must be conditional or marginal, got "random"');
    bad({ colour: 'red' }, 'pda: unknown option --colour; options are --window, --stride, --sampling, --laplace-n');
    bad({ class: '1', top: '2' }, 'give --class or --top, not both');
    bad({ class: 'shark' }, '--class "shark" matches no label in the labels file');
    bad({ neurons: '3-1' }, '--neurons: empty range 3-1');
    bad({ neurons: 'x' }, '--neurons: "x" is not an index or a range like 0-9');
    bad({ layer: ',' }, '--layer needs at least one layer name');
    expect(() => validateOptions(specs, { class: 'tabby' }, {})).to.throw(ArgumentError, '--class must be class indices (or labels, with --labels), got "tabby"');
  });

  it('required options and file inputs', () => {
    const pda = explainer('pda');
    expect(() => pda.validate({}, MNIST_CTX)).to.throw(ArgumentError, 'pda: --patch-model is required');
    expect(() => pda.validate({ patchModel: 'k4.pm' }, MNIST_CTX)).to.throw(ArgumentError, "--patch-model must be a file's contents");
    const o = pda.validate({ patchModel: { name: 'k4.pm', bytes: new Uint8Array(4) }, window: '4' }, MNIST_CTX);
    expect([o.window, o.samples, o.stride, o.node, o.padding]).to.deep.equal([4, 10, 1, 'prob', undefined]);
    expect(() => explainer('occlusion').validate({ patch: '29' }, MNIST_CTX)).to.throw(ArgumentError, '--patch must be an integer in [1, 28], got "29"');
    expect(explainer('occlusion').validate({ patch: '10' }, MNIST_CTX).stride).to.equal(5);
    expect(explainer('maxout').validate({}, { scale: 1 / 255 }).lr).to.be.closeTo(2 / 255, 1e-12); // in pixel units
    expect(() => explainer('astrology')).to.throw(ArgumentError, 'unknown method "astrology"; methods are saliency, deconvnet, guided-backprop');
  });

  it('every method is declared completely, and no method option shadows a common explain option', () => {
    expect(explainers.map((e) => e.name)).to.deep.equal(['saliency', 'deconvnet', 'guided-backprop', 'gradcam', 'guided-gradcam', 'gradcampp', 'xgradcam', 'hirescam', 'layercam', 'eigencam', 'ablationcam', 'scorecam', 'occlusion', 'rise', 'pda', 'etalon', 'maxout', 'invert', 'style', 'ig', 'input-x-gradient', 'smoothgrad', 'lrp', 'dissect', 'net2vec', 'attack']);
    const common = new Set<string>(EXPLAIN_OPTIONS.map((s) => s.name));
    for (const e of explainers) {
      expect(e.title, e.name).to.be.a('string').and.not.equal('');
      expect(e.summary, e.name).to.match(/^[^\n]{10,120}$/);
      const names = e.options.map((s) => s.name);
      expect(new Set(names).size, `${e.name}: option names are unique`).to.equal(names.length);
      for (const s of e.options) {
        expect(common.has(s.name), `${e.name} --${flagName(s.name)} shadows a common option`).to.equal(false);
        expect(s.help, `${e.name} --${s.name}`).to.match(/\S/);
      }
      // the defaults of a method without required options validate as they are
      if (!e.options.some((s) => s.required)) expect(() => e.validate({}, { ...MNIST_CTX, scale: 1 })).not.to.throw();
    }
  });
});

describe('the explainer registry on the shipped LeNet-ReLU', function () {
  let model: Model;
  let inputs: ExplainInputs;
  let ctx: FigureContext;
  let patchModel: { name: string; bytes: Uint8Array };
  before(async () => {
    const g = loadOnnx(new Uint8Array(readFileSync(LENET)), 'lenet-relu-mnist.onnx');
    model = new Model(await getEngine(), g);
    const x = preprocessImage(decodeImage(new Uint8Array(readFileSync(DIGIT)), 'mnist-test-0.png'), { ...g.preprocess, size: [28, 28], channels: 1 });
    inputs = { data: x, batch: 1, names: ['mnist-test-0.png'], labels: DIGITS, preprocess: g.preprocess, fromImages: true };
    ctx = { ...inputs, shape: [1, 28, 28], model: 'lenet-relu-mnist.onnx' };
    const idx = readIdx(new Uint8Array(gunzipSync(readFileSync(T10K))), 't10k');
    const images = Array.from({ length: 200 }, (_, i) => Float32Array.from(idx.data.subarray(i * 784, (i + 1) * 784), (v) => v * g.preprocess!.scale!));
    const pm = buildPatchModel(images, { window: 4, padding: 2, channels: 1, height: 28, width: 28, patches: 2000, store: 20, seed: 1, model: 'lenet-relu-mnist.onnx', preprocess: g.preprocess });
    patchModel = { name: 'lenet-k4.pm', bytes: encodePatchModel(pm) };
  });
  after(() => model.destroy());

  const maxAbsPerPixel = (t: { shape: number[]; data: Float32Array }) => {
    const [n, c, h, w] = t.shape as [number, number, number, number];
    return Float32Array.from({ length: n * h * w }, (_, q) => {
      const i = Math.floor(q / (h * w)), p = q % (h * w);
      let m = 0;
      for (let k = 0; k < c; k++) m = Math.max(m, Math.abs(t.data[(i * c + k) * h * w + p]!));
      return m;
    });
  };
  const cases: [string, () => Record<string, unknown>, (e: Explanation) => void, string[]][] = [
    ['saliency', () => ({}), (e) => {
      expect(e.maps!.shape).to.deep.equal([28, 28]);
      expect(e.meta.classes).to.deep.equal([7]); // the embedded digit is a 7
      expect(e.meta.labels).to.deep.equal(['seven']);
      expect(Array.from(e.maps!.data)).to.deep.equal(Array.from(maxAbsPerPixel(e.tensors.signal!)));
    }, ['']],
    ['deconvnet', () => ({ layer: 'conv2', top: true }), (e) => {
      expect(e.meta.units).to.have.length(1);
      expect(e.maps!.data.some((v) => v > 0)).to.equal(true);
    }, ['']],
    ['guided-backprop', () => ({ class: 'three' }), (e) => {
      expect(e.meta.classes).to.deep.equal([3]);
      expect(e.tensors.signal!.shape).to.deep.equal([1, 1, 28, 28]);
    }, ['']],
    ['gradcam', () => ({ layer: 'relu1,relu2' }), (e) => {
      const per = e.tensors.perLayer!;
      expect(per.shape).to.deep.equal([2, 1, 28, 28]);
      e.maps!.data.forEach((v, q) => expect(v).to.be.closeTo((per.data[q]! + per.data[784 + q]!) / 2, 1e-6));
      for (const k of [0, 1]) expect(Math.max(...per.data.subarray(k * 784, (k + 1) * 784))).to.be.closeTo(1, 1e-6); // each layer normalised to [0, 1]
    }, ['']],
    ['guided-gradcam', () => ({ layer: ['conv2'] }), (e) => {
      expect(Array.from(e.maps!.data)).to.deep.equal(Array.from(maxAbsPerPixel(e.tensors.signal!)));
      expect(e.tensors.cam!.shape).to.deep.equal([1, 28, 28]);
    }, ['']],
    ...(['gradcampp', 'xgradcam', 'hirescam', 'layercam'] as const).map((name): [string, () => Record<string, unknown>, (e: Explanation) => void, string[]] => [name, () => ({ layer: 'relu1,relu2', class: 'seven' }), (e) => {
      const per = e.tensors.perLayer!;
      expect(per.shape).to.deep.equal([2, 1, 28, 28]);
      expect(e.meta).to.deep.include({ classes: [7], layers: ['relu1', 'relu2'] });
      expect(e.meta.stored).to.match(/^mean of the per-layer .* maps, each normalised to \[0,1\]; per layer: ReLU/);
      e.maps!.data.forEach((v, q) => expect(v).to.be.closeTo((per.data[q]! + per.data[784 + q]!) / 2, 1e-6));
    }, ['']]),
    ['eigencam', () => ({ layer: 'conv2' }), (e) => {
      expect(e.meta.classes, 'EigenCAM explains no class').to.equal(undefined);
      expect(e.meta.layerSizes).to.have.length(1);
      expect(Math.max(...e.maps!.data)).to.be.closeTo(1, 1e-6);
      expect(Math.min(...e.maps!.data)).to.be.below(1);
    }, ['']],
    ['ablationcam', () => ({ layer: 'relu2', class: 'seven', batch: '16' }), (e) => {
      expect(e.meta).to.deep.include({ classes: [7], layers: ['relu2'], routes: ['tail'], batches: [16], passes: 4 }); // ⌈50 / 16⌉ tail passes
      expect(Math.max(...e.maps!.data)).to.be.closeTo(1, 1e-6);
      expect(e.note).to.match(/^ablationcam: 4 tail passes/);
    }, ['']],
    ['scorecam', () => ({ layer: 'conv2', class: 'seven' }), (e) => {
      expect(e.meta).to.deep.include({ classes: [7], layers: ['conv2'], route: 'whole', passes: 1 });
      const w = e.tensors.weights!.data;
      expect(w.reduce((a, b) => a + b, 0)).to.be.closeTo(1, 1e-5); // a softmax over the channels
      expect(e.note).to.match(/^scorecam: 1 whole-network pass\b/);
    }, ['']],
    ['occlusion', () => ({ patch: '8', stride: '4' }), (e) => {
      expect(e.meta.positions).to.equal(36); // ((28 − 8) / 4 + 1)²
      expect(e.meta).to.include({ patch: 8, stride: 4, incremental: true });
    }, ['']],
    ['rise', () => ({ masks: '200', cells: '7', p: '0.5', batch: '64' }), (e) => {
      expect(e.maps!.shape).to.deep.equal([28, 28]);
      expect(e.meta).to.deep.include({ masks: 200, cells: 7, p: 0.5, seed: 0, fill: 'black', batch: 64, classes: [7], labels: ['seven'] });
      expect(e.maps!.data.every((v) => v >= 0)).to.equal(true);
      expect(e.note).to.match(/^rise: 200 masks × 1 image in /);
    }, ['']],
    ['pda', () => ({ patchModel, window: 4, samples: 2, stride: 4, layer: 'conv1', node: 'both', seed: 3 }), (e) => {
      expect(e.maps!.shape).to.deep.equal([1, 28, 28]);
      expect(e.meta).to.include({ windows: 49, node: 'prob', patchModel: 'lenet-k4.pm', sampling: 'conditional' });
      expect(Object.keys(e.parts!)).to.deep.equal(['logit', 'conv1']);
      expect(e.parts!.logit!.meta.node).to.equal('logit');
      expect(e.parts!.conv1!.maps!.shape).to.deep.equal([20, 7, 7]); // maps × window rows × cols
      expect(e.note).to.match(/^pda: 49 windows × 2 samples = 98 images/);
    }, ['', 'logit', 'conv1']],
    ['etalon', () => ({ neurons: '0-9' }), (e) => {
      expect(e.maps!.shape).to.deep.equal([10, 1, 28, 28]);
      const x = inputs.data, b = e.meta.biases as number[], v = e.meta.values as number[];
      for (let q = 0; q < 10; q++) {
        let s = b[q]!;
        for (let i = 0; i < 784; i++) s += e.maps!.data[q * 784 + i]! * x[i]!;
        expect(s, `neuron ${q}: <W, X> + b = NET(X)`).to.be.closeTo(v[q]!, 1e-3 * Math.max(1, Math.abs(v[q]!)));
      }
    }, ['']],
    ['maxout', () => ({ class: '3,8', iterations: 24 }), (e) => {
      const log = e.meta.log as { objective: number[] }[];
      expect(e.maps!.shape).to.deep.equal([2, 1, 28, 28]);
      for (const k of [0, 1]) expect(log.at(-1)!.objective[k]).to.be.above(log[0]!.objective[k]!);
    }, ['']],
    ['invert', () => ({ layer: 'conv2', iterations: 30 }), (e) => {
      const log = e.meta.log as { error: number }[];
      expect(log.at(-1)!.error).to.be.below(log[0]!.error);
      expect(e.table!.rows).to.have.length(log.length);
      expect(e.table!.columns).to.deep.equal(['step', 'relative_error']);
    }, ['', 'curve']],
    ['ig', () => ({ steps: 16, baseline: 'blur' }), (e) => {
      expect(e.maps!.shape).to.deep.equal([28, 28]);
      expect(e.tensors.attributions!.shape).to.deep.equal([1, 1, 28, 28]);
      expect(e.meta).to.include({ steps: 16, rule: 'riemann', baseline: 'blur' });
      expect(e.meta.completenessGap).to.have.length(1);
    }, ['']],
    ['input-x-gradient', () => ({ class: 'seven' }), (e) => {
      expect(e.meta.classes).to.deep.equal([7]);
      expect(e.tensors.attributions!.shape).to.deep.equal([1, 1, 28, 28]);
    }, ['']],
    ['smoothgrad', () => ({ base: 'gradcam', layer: 'relu2', samples: 4, variant: 'smoothgrad2' }), (e) => {
      expect(e.meta).to.include({ base: 'gradcam', variant: 'smoothgrad2', samples: 4, noise: 0.15 });
      expect(e.maps!.data.every((v) => v >= 0 && v <= 1)).to.equal(true); // squares of maps in [0, 1]
    }, ['']],
    ['lrp', () => ({ rule: 'alpha-beta', alpha: '2', beta: '1', first: 'zb', class: 'seven' }), (e) => {
      expect(e.meta).to.deep.include({ classes: [7], rule: 'alpha-beta' });
      expect(e.tensors.relevance!.shape).to.deep.equal([1, 1, 28, 28]);
      const layers = e.meta.layers as { op: string; rule: string }[];
      expect(layers.at(-1)).to.include({ op: 'conv', rule: 'zb' }); // the first conv, met last
      expect((e.meta.conservation as { logit: number }[])[0]!.logit).to.equal((e.meta.scores as number[])[0]);
    }, ['']],
    ['attack', () => ({ algorithm: 'pgd', eps: '0.2', steps: 10 }), (e) => {
      expect(e.maps!.shape).to.deep.equal([28, 28]);
      expect(e.tensors.adversarial!.shape).to.deep.equal([1, 1, 28, 28]);
      expect(e.meta.cleanClasses).to.deep.equal([7]);
      expect((e.meta.linf as number[])[0]).to.be.at.most(0.2 + 1e-6);
    }, ['']],
    ['dissect', () => ({ layer: 'conv1', maskSize: 28, top: 1, quantile: 0.05 }), (e) => {
      // the digit's colour names (black ground, white stroke) against conv1's 20 units
      const d = e.meta.dissection as { layers: { units: { unit: number; concept: string; iou: number; detector: boolean }[] }[]; concepts: { name: string; pixels: number }[] };
      expect(d.layers[0]!.units).to.have.length(20);
      expect(d.concepts.filter((c) => c.pixels > 0).map((c) => c.name)).to.include.members(['black', 'white']);
      expect(e.tensors.iou0!.shape).to.deep.equal([20, d.concepts.length + 1]);
      expect(e.tensors.topMaps0!.shape).to.deep.equal([20, 1, 24, 24]);
      expect(d.layers[0]!.units.some((u) => u.detector && (u.concept === 'white' || u.concept === 'black'))).to.equal(true);
    }, ['', 'summary']],
  ];
  for (const [name, options, check, suffixes] of cases) {
    it(`${name}: run() gives maps and JSON-able metadata, reports progress, and its figures draw`, async () => {
      const calls: [number, number][] = [];
      const e = await explainer(name).run(model, inputs, options(), (done, total, what) => {
        expect(what).to.equal(name);
        calls.push([done, total]);
      });
      expect(e.method).to.equal(name);
      expect(e.meta.method).to.equal(name);
      expect(JSON.parse(JSON.stringify(e.meta))).to.deep.equal(e.meta);
      for (const p of Object.values(e.parts ?? {})) expect(JSON.parse(JSON.stringify(p.meta))).to.deep.equal(p.meta);
      expect(calls.length, 'progress reported').to.be.above(0);
      expect(calls.at(-1)![0]).to.equal(calls.at(-1)![1]);
      check(e);
      const figs = figures(e, ctx);
      expect(figs.map((f) => f.suffix)).to.deep.equal(suffixes);
      for (const f of figs) expect(drawFigure(f).width).to.be.above(100);
      // and the browser app's grid tiles (render/tiles.ts): every method has them
      expect(explanationTiles(e, ctx).length, 'tiles').to.be.above(0);
    });
  }

  it('style: two images (content, then style) give the restyled first, its losses per iteration, and its figures; one image is refused', async () => {
    const calls: [number, number][] = [];
    const digits = readIdx(new Uint8Array(gunzipSync(readFileSync(T10K))), 't10k');
    const style = Float32Array.from(digits.data.subarray(784, 2 * 784), (v) => v / 255); // the second test digit, a 2
    const two = { ...inputs, data: Float32Array.from([...inputs.data, ...style]), batch: 2, names: ['mnist-test-0.png', 't10k[1]'] };
    const e = await explainer('style').run(model, two, { contentLayer: 'conv2', styleLayers: 'conv1,conv2', iterations: 12 }, (done, total, what) => {
      expect(what).to.equal('style');
      calls.push([done, total]);
    });
    expect(e.method).to.equal('style');
    expect(e.meta.method).to.equal('style');
    expect(JSON.parse(JSON.stringify(e.meta))).to.deep.equal(e.meta);
    expect(calls.at(-1)).to.deep.equal([12, 12]);
    expect(e.maps!.shape).to.deep.equal([1, 28, 28]);
    expect(e.table!.columns).to.deep.equal(['iteration', 'content', 'style', 'total']);
    expect(e.table!.rows).to.have.length(13);
    expect(e.table!.rows[0]![1]).to.equal(0); // from the content image: no content loss yet
    expect(e.table!.rows.at(-1)![2]).to.be.below(e.table!.rows[0]![2]!);
    expect((e.meta.parameters as { lr: number }).lr).to.be.closeTo(2 * Math.abs(inputs.preprocess?.scale ?? 1), 1e-9); // 2 grey levels in LeNet's units
    const figs = figures(e, { ...ctx, ...two });
    expect(figs.map((f) => f.suffix)).to.deep.equal(['', 'curve']);
    for (const f of figs) expect(drawFigure(f).width).to.be.above(100);
    const err = await rejection(() => explainer('style').run(model, inputs, { contentLayer: 'conv2', styleLayers: 'conv1' }));
    expect(err.message).to.match(/two images/);
  });

  describe('cancellation', () => {
    const batchOf = (n: number) => {
      const data = new Float32Array(n * 784);
      for (let i = 0; i < n; i++) data.set(inputs.data, i * 784);
      return { ...inputs, data, batch: n, names: undefined };
    };
    const expectCancelled = async (p: Promise<unknown>) => {
      const err = await p.then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(CancelledError);
      expect((err as Error).message).to.match(/cancelled/);
    };

    it('occlusion: aborted after its first batch, it stops at the next one; the model runs afterwards', async () => {
      const abort = new AbortController();
      const seen: number[] = [];
      const t0 = performance.now();
      await expectCancelled(explainer('occlusion').run(model, batchOf(4), { patch: 1, stride: 1 }, (done) => {
        seen.push(done);
        abort.abort();
      }, abort.signal));
      expect(seen, 'no batch ran after the abort').to.have.length(1);
      expect(seen[0]).to.be.below(4 * 784);
      expect(performance.now() - t0).to.be.below(30_000);
      const again = await explainer('saliency').run(model, inputs, {});
      expect(again.meta.classes).to.deep.equal([7]);
    });

    it('pda: the same between window batches', async () => {
      const abort = new AbortController();
      const seen: number[] = [];
      await expectCancelled(explainer('pda').run(model, inputs, { patchModel, window: 4, samples: 4, batch: 8 }, (done) => {
        seen.push(done);
        abort.abort();
      }, abort.signal));
      expect(seen).to.deep.equal([8]);
      const e = await explainer('pda').run(model, inputs, { patchModel, window: 4, samples: 2, stride: 8 });
      expect(e.meta.windows).to.equal(16);
    });

    it('etalons (literal route), MaxOut and inversion stop at a batch or a step', async () => {
      const abort = new AbortController();
      abort.abort();
      let calls = 0;
      await expectCancelled(explainer('etalon').run(model, inputs, { route: 'literal', neurons: '0-9' }, () => calls++, abort.signal));
      expect(calls, 'an aborted signal runs no batch').to.equal(0);
      for (const [name, options] of [['maxout', { class: '1', iterations: 50 }], ['invert', { layer: 'conv1', iterations: 50 }]] as const) {
        const stop = new AbortController();
        const steps: number[] = [];
        await expectCancelled(explainer(name).run(model, inputs, options, (done) => {
          steps.push(done);
          if (done === 3) stop.abort();
        }, stop.signal));
        expect(steps, name).to.deep.equal([1, 2, 3]);
      }
    });

    it('loupe explain: Ctrl-C mid-run exits 1 with one "cancelled" line and writes nothing', async function () {
      const tmp = mkdtempSync(join(tmpdir(), 'loupe-cancel-'));
      const npy = join(tmp, 'digits.npy');
      writeFileSync(npy, writeNpy([24, 1, 28, 28], batchOf(24).data));
      const prefix = join(tmp, 'occ');
      const child = spawn(process.execPath, [join(ROOT, 'bin/loupe.js'), 'explain', '--method', 'occlusion', '--model', LENET, '--input', npy, '--patch', '1', '--stride', '1', '--out', prefix], { env });
      let err = '';
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      await new Promise<void>((resolve) => {
        child.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          if (/occlusion \[/.test(err)) resolve(); // the first progress line: the run has started
        });
        child.on('close', () => resolve());
      });
      child.kill('SIGINT');
      const code = await exited;
      const lines = err.split('\n').filter((l) => l && !l.startsWith('Warning: max') && !/^occlusion \[/.test(l));
      expect(code, err).to.equal(1);
      expect(lines).to.deep.equal(['loupe: occlusion: cancelled']);
      expect(readdirSync(tmp).sort()).to.deep.equal(['digits.npy']); // no output, no temporary file
    });
  });
});

describe('help, README and code agree', function () {
  it('README.md holds the generated command block', () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).to.include(readmeBlock());
  });

  it('loupe --help lists every command of the table with its options, and every method with its options', () => {
    const r = loupe('--help');
    expect(r.code, r.err).to.equal(0);
    const block = readmeBlock().split('\n').slice(2, -2).join('\n');
    expect(r.out).to.include(block);
    // The synopsis lines that start with `head`, with their continuation lines.
    const section = (head: string) => {
      const out: string[] = [];
      let on = false;
      for (const l of r.out.split('\n')) {
        if (!l.startsWith(' ')) on = l.startsWith(head);
        if (on) out.push(l);
      }
      return out.join(' ');
    };
    const check = (text: string, specs: readonly OptionSpec[], what: string) => {
      expect(text, what).not.to.equal('');
      for (const s of specs) expect(s.group === 'preprocess' ? r.out : text, `${what} --${flagName(s.name)}`).to.match(new RegExp(`--${flagName(s.name)}[ \\]|]`));
    };
    for (const c of COMMANDS) check(section(`loupe ${c.name} `), c.options, c.name);
    for (const e of explainers) check(section(`loupe explain --method ${e.name} `), e.options, e.name);
    for (const f of ['--size', '--mean', '--scale', '--bgr', '--grayscale']) expect(r.out).to.include(`  ${f}`);
    // train's defaults are the ones train.ts applies
    expect(r.out).to.match(/loupe train +\[--epochs 4\] \[--batch 64\] \[--lr 0\.001\]/);
  });

  it('loupe explain --help lists the methods with their summaries; --method M --help its options, defaults and bounds', () => {
    const r = loupe('explain', '--help');
    expect(r.code, r.err).to.equal(0);
    for (const e of explainers) expect(r.out).to.match(new RegExp(`^  ${e.name} +${e.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    const p = loupe('explain', '--method', 'pda', '--help');
    expect(p.code, p.err).to.equal(0);
    for (const e of [/--window N +window side K, in pixels \(integer ≥ 1; default 10\)/, /--seed N +.*\(integer in \[0, 4294967295\]; default 0\)/, /--sampling conditional\|marginal +.*default conditional/, /--patch-model FILE +.*\(required\)/, /--laplace-n X +.*\(number > 0\)/])
      expect(p.out).to.match(e);
    const t = loupe('train', '--help');
    expect(t.out).to.match(/--epochs N +.*\(integer in \[1, 1000\]; default 4\)/);
  });

  it('a value out of bounds: one line naming the option, exit 1, no output', () => {
    const prefix = join(mkdtempSync(join(tmpdir(), 'loupe-bounds-')), 'occ');
    const r = loupe('explain', '--method', 'occlusion', '--model', LENET, '--image', DIGIT, '--patch', '0', '--out', prefix);
    expect(r.code).to.equal(1);
    expect(r.err).to.equal('loupe: --patch must be an integer in [1, 28], got "0"');
    for (const ext of ['png', 'npy', 'json']) expect(existsSync(`${prefix}.${ext}`)).to.equal(false);
  });

  it('engine/, kernels/, loaders/, explainers/ and render/ import no Node built-ins (they run in the browser)', () => {
    const builtin = /from ['"](node:[^'"]+|fs|path|os|url|zlib|crypto|child_process|process|util|stream)['"]|\bprocess\./;
    for (const dir of ['engine', 'engine/ops', 'kernels', 'loaders', 'explainers', 'render'])
      for (const f of readdirSync(join(ROOT, dir)).filter((n) => n.endsWith('.ts')))
        expect(readFileSync(join(ROOT, dir, f), 'utf8'), `${dir}/${f}`).not.to.match(builtin);
  });

  it('explainers/ see tensors and engine calls, not the device: no buffers, bind groups, kernels or queue writes', () => {
    const device = /createBuffer|GPUBufferUsage|createBindGroup|from ['"]\.\.\/kernels|makeDispatch|\.device\b|GPUBuffer\b/;
    for (const f of readdirSync(join(ROOT, 'explainers')).filter((n) => n.endsWith('.ts')))
      expect(readFileSync(join(ROOT, 'explainers', f), 'utf8'), `explainers/${f}`).not.to.match(device);
  });
});
