// loupe evaluate --metrics randomisation (issue 14): the model-parameter randomisation test of
// Adebayo et al. Spearman and SSIM against hand-computed values; the cascade randomises exactly the
// layers it names; on SqueezeNet v1.0 saliency decorrelates once conv1 is randomised; the command's
// files and refusals.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getEngine } from './helpers.ts';
import { Model } from '../engine/runner.ts';
import { nodeParams } from '../engine/ir.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { decodeImage } from '../loaders/image.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { evaluate, evaluationTable } from '../explainers/evaluate.ts';
import { averageRanks, cascadeLayers, cascadeSteps, randomisedGraph, spearman, ssim } from '../explainers/randomisation.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '..', 'shared', 'data');
const LENET = join(ROOT, 'weights/lenet-relu-mnist.onnx');
const DIGIT = join(ROOT, 'weights/mnist-test-0.png');
const SQZ = join(DATA, 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx');
const PHOTO = join(DATA, 'images/pytorch-grad-cam/both.png');

describe('randomisation: Spearman and SSIM (host, float64)', () => {
  it('average ranks for ties', () => {
    expect(Array.from(averageRanks([10, 20, 20, 30]))).to.deep.equal([1, 2.5, 2.5, 4]);
    expect(Array.from(averageRanks([5, 5, 5]))).to.deep.equal([2, 2, 2]);
  });

  it('Spearman: ±1 for monotone maps, ties by average rank, the |map| version, NaN for a constant map', () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 400])).to.be.closeTo(1, 1e-15);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).to.be.closeTo(-1, 1e-15);
    // ranks [1, 2.5, 2.5, 4] against [1, 2, 3, 4]: 4.5 / √(4.5 · 5) = 3/√10
    expect(spearman([1, 2, 2, 3], [1, 2, 3, 4])).to.be.closeTo(3 / Math.sqrt(10), 1e-15);
    // raw: ranks [1, 2, 3] against [3, 1, 2] → −1/2; |map|: the same ranks → 1
    expect(spearman([-3, 1, 2], [3, 1, 2])).to.be.closeTo(-0.5, 1e-15);
    expect(spearman([-3, 1, 2], [3, 1, 2], true)).to.be.closeTo(1, 1e-15);
    expect(spearman([1, 1, 1], [1, 2, 3])).to.be.NaN;
  });

  it('SSIM: 1 for maps equal after [0, 1] normalisation, the formula on one window, the mean over 7×7 windows', () => {
    const a = Float32Array.from({ length: 81 }, (_, i) => Math.sin(i));
    expect(ssim(a, a.map((v) => 3 * v + 5), 9, 9)).to.be.closeTo(1, 1e-12);
    const c1 = 1e-4, c2 = 9e-4;
    // 1×2: x = [0, 1], y = [1, 0]; means 1/2, sample variances 1/2, covariance −1/2
    expect(ssim([0, 1], [1, 0], 1, 2)).to.be.closeTo(((0.5 + c1) * (-1 + c2)) / ((0.5 + c1) * (1 + c2)), 1e-15);
    // 2×2: x = [0, 1/3, 2/3, 1], y = [0, 0, 0, 1]; μx 1/2, μy 1/4, σx² 5/27, σy² 1/4, σxy 1/6
    expect(ssim([0, 1, 2, 3], [0, 0, 0, 1], 2, 2)).to.be.closeTo(((2 * 0.125 + c1) * (2 / 6 + c2)) / ((0.25 + 0.0625 + c1) * (5 / 27 + 0.25 + c2)), 1e-15);
    // 7×8: two 7×7 windows (columns 0-6 and 1-7), each the one-window SSIM of its part
    const x = Float64Array.from({ length: 56 }, (_, i) => (i % 8 === 7 ? 1 : i % 8 === 0 ? 0 : ((i * 37) % 11) / 11));
    const y = Float64Array.from({ length: 56 }, (_, i) => (i % 8 === 7 ? 1 : i % 8 === 0 ? 0 : ((i * 13) % 7) / 7));
    x[1] = 0; y[1] = 0; x[6] = 1; y[6] = 1; // each window spans [0, 1] too, so its normalisation is the whole map's
    const part = (m: Float64Array, x0: number) => Float64Array.from({ length: 49 }, (_, i) => m[Math.floor(i / 7) * 8 + x0 + (i % 7)]!);
    expect(ssim(x, y, 7, 8)).to.be.closeTo((ssim(part(x, 0), part(y, 0), 7, 7) + ssim(part(x, 1), part(y, 1), 7, 7)) / 2, 1e-12);
  });
});

describe('randomisation: the cascade (LeNet)', function () {
  this.timeout(300_000);
  const g = loadOnnx(new Uint8Array(readFileSync(LENET)), 'lenet.onnx');
  const layers = cascadeLayers(g);

  it('walks the layers with parameters from the logits down', () => {
    const withParams = g.nodes.filter((n) => nodeParams(n).length).map((n) => n.name);
    expect(layers).to.deep.equal([...withParams].reverse());
    expect(layers.length).to.be.at.least(3);
    expect(cascadeSteps(g).map((s) => s.layers)).to.deep.equal(layers.map((_, i) => layers.slice(0, i + 1)));
    expect(cascadeSteps(g, { layers: 3, every: 2 }).map((s) => s.name)).to.deep.equal([layers[1], layers[2]]);
    expect(cascadeSteps(g, { layers: [layers.at(-1)!, layers[0]!] }).map((s) => s.layers)).to.deep.equal([[layers[0]], layers]);
    expect(() => cascadeSteps(g, { layers: 0 })).to.throw(/--randomise-layers must be all, a count ≥ 1 or layer names/);
    expect(() => cascadeSteps(g, { layers: ['nope'] })).to.throw(/--randomise-layers: "nope" is not a layer with parameters; they are, from the logits down: /);
    expect(() => cascadeSteps(g, { layers: 99 })).to.throw(/the model has \d+ layers with parameters/);
  });

  it('randomises exactly the layers it names (a permutation of their values), leaves the others and the caller\'s graph alone', () => {
    const before = new Map([...g.params].map(([k, p]) => [k, Float32Array.from(p.data)]));
    const chosen = layers.slice(0, 2);
    const r = randomisedGraph(g, chosen, 3);
    for (const n of g.nodes)
      for (const p of nodeParams(n)) {
        const a = g.params.get(p)!.data, b = r.params.get(p)!.data;
        expect(Array.from(a), `${p} unchanged in the caller's graph`).to.deep.equal(Array.from(before.get(p)!));
        if (chosen.includes(n.name)) {
          expect(Array.from(b), `${p} randomised`).to.not.deep.equal(Array.from(a));
          expect(Array.from(b).sort((u, v) => u - v), `${p} a permutation`).to.deep.equal(Array.from(a).sort((u, v) => u - v));
        } else expect(r.params.get(p), `${p} untouched`).to.equal(g.params.get(p));
      }
    // the same seed gives the same values; another seed other ones
    const p0 = nodeParams(g.nodes.find((n) => n.name === chosen[0])!)[0]!;
    expect(Array.from(randomisedGraph(g, chosen, 3).params.get(p0)!.data)).to.deep.equal(Array.from(r.params.get(p0)!.data));
    expect(Array.from(randomisedGraph(g, chosen, 4).params.get(p0)!.data)).to.not.deep.equal(Array.from(r.params.get(p0)!.data));
  });

  it('evaluate --metrics randomisation: one step per cut, the same class, statistics per image and their means, the table rows', async () => {
    const model = new Model(await getEngine(), g);
    try {
      const x = preprocessImage(decodeImage(new Uint8Array(readFileSync(DIGIT)), 'digit.png'), { size: [28, 28], scale: 1 / 255, channels: 1 });
      const data = new Float32Array(2 * 784);
      data.set(x);
      data.set(x.map((v) => 1 - v), 784);
      const e = await evaluate(model, { data, batch: 2, names: ['a', 'b'] }, [{ name: 'saliency' }, { name: 'gradcam', options: { layer: 'conv2' } }], { metrics: ['randomisation'], randomise: { layers: 'all', every: 2 }, seed: 1 });
      const steps = cascadeSteps(g, { every: 2 });
      for (const m of e.methods) {
        expect(m.randomisation!.map((s) => s.layer)).to.deep.equal(steps.map((s) => s.name));
        for (const s of m.randomisation!) {
          expect(s.images).to.have.length(2);
          expect(s.mean.ssim).to.be.closeTo((s.images[0]!.ssim + s.images[1]!.ssim) / 2, 1e-12);
          for (const im of s.images) for (const v of Object.values(im)) if (Number.isFinite(v)) expect(v).to.be.within(-1, 1);
        }
        const last = m.randomisation!.at(-1)!.mean['spearman-abs'];
        expect(m.decorrelates).to.equal(Number.isFinite(last) ? Math.abs(last) <= 0.5 : null);
      }
      expect(e.notDecorrelating).to.deep.equal(e.methods.filter((m) => m.decorrelates === false).map((m) => m.method));
      const t = evaluationTable(e);
      expect(t.columns).to.deep.equal(['method', 'image', 'class', 'metric', 'value', 'randomised_to']);
      expect(t.rows).to.have.length(2 * steps.length * 3 * 3); // methods × steps × statistics × (2 images + the mean)
      expect(t.rows[0]!.slice(0, 4)).to.deep.equal(['saliency', 'a', e.methods[0]!.images[0]!.class, 'randomisation-spearman']);
      expect(t.rows[0]![5]).to.equal(steps[0]!.name);
    } finally {
      model.destroy();
    }
  });
});

describe('randomisation on SqueezeNet v1.0 (ONNX): saliency decorrelates', function () {
  this.timeout(600_000);
  it('saliency\'s |map| Spearman is below 0.5 once conv1 is randomised (4 groups of layers)', async () => {
    const g = loadOnnx(new Uint8Array(readFileSync(SQZ)), 'squeezenet.onnx');
    const layers = cascadeLayers(g);
    const first = layers.at(-1)!;
    expect(first).to.match(/conv1/i);
    const model = new Model(await getEngine(), g);
    try {
      const x = preprocessImage(decodeImage(new Uint8Array(readFileSync(PHOTO)), 'both.png'), { size: [227, 227], mean: [104, 117, 123], bgr: true, channels: 3 });
      const cuts = [layers[0]!, layers[8]!, layers[17]!, first];
      const e = await evaluate(model, { data: x, batch: 1, names: ['both.png'] }, [{ name: 'saliency' }], { metrics: ['randomisation'], randomise: { layers: cuts } });
      const steps = e.methods[0]!.randomisation!;
      expect(steps.map((s) => s.layer)).to.deep.equal(cuts);
      expect(steps.at(-1)!.layers).to.deep.equal(layers);
      console.log(`      saliency |map| Spearman by step: ${steps.map((s) => `${s.layer} ${s.mean['spearman-abs'].toFixed(3)}`).join(', ')}`);
      expect(steps.at(-1)!.mean['spearman-abs']).to.be.below(0.5);
      expect(e.methods[0]!.decorrelates).to.equal(true);
    } finally {
      model.destroy();
    }
  });
});

describe('loupe evaluate --metrics randomisation', function () {
  this.timeout(300_000);
  const tmp = mkdtempSync(join(tmpdir(), 'loupe-randomisation-'));
  const loupe = (...args: string[]) => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/loupe.js'), 'evaluate', ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
    return { code: r.status, out: r.stdout, err: r.stderr.split('\n').filter((l) => l && !l.startsWith('Warning: max') && !/^evaluate \[|^\w[\w-]* \[#/.test(l)).join('\n') };
  };
  const common = ['--model', LENET, '--images', DIGIT, '--metrics', 'randomisation'];

  it('writes PREFIX.csv, .json, .png and -randomisation.png, and says which methods do not decorrelate', () => {
    const prefix = join(tmp, 'run', 'ev');
    const r = loupe(...common, '--methods', 'saliency,guided-backprop', '--randomise-every', '2', '--seed', '5', '--out', prefix);
    expect(r.code, r.err).to.equal(0);
    const lines = r.out.trim().split('\n');
    expect(lines.slice(0, 4)).to.deep.equal([`${prefix}.csv`, `${prefix}.json`, `${prefix}.png`, `${prefix}-randomisation.png`]);
    expect(lines[4]).to.match(/^randomisation: (does not decorrelate \(mean \|map\| Spearman above 0.5 after the last step\): |every method decorrelates)/);
    const csv = readFileSync(`${prefix}.csv`, 'utf8').trim().split('\n');
    expect(csv[0]).to.equal('method,image,class,metric,value,randomised_to');
    const g = loadOnnx(new Uint8Array(readFileSync(LENET)), 'lenet.onnx');
    const steps = cascadeSteps(g, { every: 2 });
    expect(csv).to.have.length(1 + 2 * steps.length * 3 * 2);
    const json = JSON.parse(readFileSync(`${prefix}.json`, 'utf8'));
    expect(json.randomisation.seed).to.equal(5);
    expect(json.randomisation.line).to.equal(lines[4]);
    expect(json.methods[0].randomisation.map((s: { layer: string }) => s.layer)).to.deep.equal(steps.map((s) => s.name));
    expect(json.methods[0].randomisation[0].mean).to.have.keys('spearman', 'spearman-abs', 'ssim');
    expect(json.randomisation.notDecorrelating).to.deep.equal(json.methods.filter((m: { decorrelates: boolean | null }) => m.decorrelates === false).map((m: { method: string }) => m.method));
  });

  const refused = (args: string[], line: RegExp) => {
    const name = String(Math.random()).slice(2);
    const r = loupe(...common, '--methods', 'saliency', ...args, '--out', join(tmp, 'bad', name));
    expect(r.code, r.err).to.equal(1);
    expect(r.err.split('\n'), r.err).to.have.length(1);
    expect(r.err).to.match(line);
    expect(existsSync(join(tmp, 'bad')) ? readdirSync(join(tmp, 'bad')).filter((f) => f.startsWith(name)) : []).to.deep.equal([]);
  };
  it('--randomise-layers 0, an unknown layer, too many layers: one line, exit 1, nothing written', () => {
    refused(['--randomise-layers', '0'], /^loupe: --randomise-layers must be all, a count ≥ 1 or layer names, got 0$/);
    refused(['--randomise-layers', 'fc9,nope'], /^loupe: --randomise-layers: "fc9" is not a layer with parameters; they are, from the logits down: /);
    refused(['--randomise-layers', '1000'], /^loupe: --randomise-layers 1000: the model has \d+ layers with parameters$/);
  });
});
