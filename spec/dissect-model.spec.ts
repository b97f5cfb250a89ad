// Network dissection and Net2Vec end to end (issue 16): the model with planted detectors
// (spec/planted.ts) on the synthetic concept set, through the explainer and through `loupe dissect`
// / `loupe net2vec` on a folder in the Broden layout; the refusals of the commands.
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { getEngine, runLoupe, expectOneLine } from './helpers.ts';
import { Model } from '../engine/runner.ts';
import { dissect, upsampleMap, type Dissection } from '../explainers/dissect.ts';
import { upsampleBilinear } from './reference.ts';
import { net2vec } from '../explainers/net2vec.ts';
import { explainer } from '../explainers/registry.ts';
import { figures, drawFigure } from '../render/figures.ts';
import { explanationTiles } from '../render/tiles.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { syntheticConcepts } from '../loaders/synthetic-concepts.ts';
import { writeBroden } from '../loaders/broden.ts';
import { writeOnnx } from '../loaders/onnx-writer.ts';
import { PLANTED_UNITS, plantedDetectorGraph } from './planted.ts';

const SIZE = 48;
const PP = { size: [SIZE, SIZE] as [number, number], scale: 1 / 255, channels: 3 };

describe('dissect: planted detectors on the synthetic concepts', function () {
  this.timeout(600_000);
  const { set, images } = syntheticConcepts({ count: 24, size: SIZE, seed: 7 });
  let d: Dissection;

  before(async () => {
    const engine = await getEngine();
    const model = new Model(engine, plantedDetectorGraph(SIZE));
    try {
      // the planted units respond with one value (ε) all over their colour, so the top-q set is the
      // colour itself only while no colour covers more than q of the pixels: q = 0.1 (each colour
      // covers 1-5 % of these images)
      d = await dissect(model, set, { layers: ['detect', 'pool'], quantile: 0.1, iou: 0.04, top: 3, preprocess: PP });
    } finally {
      model.destroy();
    }
  });

  it('every planted unit gets its colour with IoU ≥ 0.95 at full resolution', () => {
    const layer = d.layers[0]!;
    expect(layer.shape).to.deep.equal([PLANTED_UNITS.length, SIZE, SIZE]);
    PLANTED_UNITS.forEach((p, k) => {
      const u = layer.units[k]!;
      if (!p.rgb || p.name.startsWith('cyan')) return;
      expect(u.concept, `unit ${k}`).to.equal(p.name);
      expect(u.category).to.equal('color');
      expect(u.iou, `unit ${k} (${p.name})`).to.be.at.least(0.95);
      expect(u.detector).to.equal(true);
    });
  });

  it('no unplanted unit passes the threshold (a detector of a colour the data lacks, a dead unit)', () => {
    for (const layer of d.layers)
      PLANTED_UNITS.forEach((p, k) => {
        if (p.rgb && !p.name.startsWith('cyan')) return;
        expect(layer.units[k]!.detector, `${layer.layer} unit ${k} (${p.name})`).to.equal(false);
        expect(layer.units[k]!.iou).to.equal(0);
      });
    expect(d.layers[0]!.detectors).to.deep.include({ color: 10, object: 0, texture: 0 });
  });

  it('through 2×2 pooling and the bilinear upsampling the planted units keep their colour', () => {
    const layer = d.layers[1]!;
    expect(layer.shape).to.deep.equal([PLANTED_UNITS.length, SIZE / 2, SIZE / 2]);
    PLANTED_UNITS.forEach((p, k) => {
      if (!p.rgb || p.name.startsWith('cyan')) return;
      expect(layer.units[k]!.concept, `pool unit ${k}`).to.equal(p.name);
      expect(layer.units[k]!.iou, `pool unit ${k}`).to.be.above(0.6);
    });
  });

  it('the later sweeps from kept maps (a one-node replay) equal the network run every sweep', async () => {
    const model = new Model(await getEngine(), plantedDetectorGraph(SIZE));
    try {
      const again = await dissect(model, set, { layers: ['pool'], quantile: 0.1, iou: 0.04, top: 3, preprocess: PP, cacheBytes: 0 });
      expect(Array.from(again.layers[0]!.iou)).to.deep.equal(Array.from(d.layers[1]!.iou));
      expect(again.layers[0]!.units.map((u) => u.threshold)).to.deep.equal(d.layers[1]!.units.map((u) => u.threshold));
      expect(Array.from(again.layers[0]!.topMaps)).to.deep.equal(Array.from(d.layers[1]!.topMaps));
    } finally {
      model.destroy();
    }
  });

  it("keeps each unit's top images, highest maximum first, with their maps", () => {
    const layer = d.layers[0]!;
    for (const u of layer.units.slice(0, 10)) {
      expect(u.top.length).to.equal(3);
      for (let r = 1; r < u.topMax.length; r++) expect(u.topMax[r - 1]!).to.be.at.least(u.topMax[r]!);
      // the top image holds the colour: its map is positive somewhere
      const hw = SIZE * SIZE;
      const map = layer.topMaps.subarray(u.unit * 3 * hw, u.unit * 3 * hw + hw);
      expect(Math.max(...map)).to.be.closeTo(0.05, 1e-5);
    }
    expect(images.length).to.equal(24);
  });
});

describe("dissect: the figures' upsampling", () => {
  it("equals the float64 reference (the tally kernel's convention) for up- and downsampling", () => {
    for (const [h, w, oh, ow] of [[5, 6, 13, 11], [13, 13, 112, 112], [1, 1, 4, 4], [7, 3, 2, 5]] as const) {
      const map = Float32Array.from({ length: h * w }, (_, i) => Math.sin(i * 1.7) * 3);
      const got = upsampleMap(map, h, w, oh, ow), want = upsampleBilinear(map, h, w, oh, ow);
      for (let i = 0; i < got.length; i++) expect(got[i]!, `${h}x${w}→${oh}x${ow} at ${i}`).to.be.closeTo(want[i]!, 1e-5);
    }
  });
});

describe('loupe dissect and loupe net2vec on a Broden folder', function () {
  this.timeout(600_000);
  const dir = mkdtempSync(join(tmpdir(), 'loupe-dissect-'));
  const broden = join(dir, 'broden');
  const onnx = join(dir, 'planted.onnx');

  before(() => {
    const { set, images } = syntheticConcepts({ count: 20, size: SIZE, seed: 3 });
    for (const [p, bytes] of writeBroden(set, images)) {
      mkdirSync(dirname(join(broden, p)), { recursive: true });
      writeFileSync(join(broden, p), bytes);
    }
    writeFileSync(onnx, writeOnnx(plantedDetectorGraph(SIZE)));
  });

  it('writes the table, the JSON, the summary, the best units and the strips', () => {
    const out = join(dir, 'd');
    const r = runLoupe(['dissect', '--model', onnx, '--data', broden, '--layer', 'detect', '--quantile', '0.1', '--top', '3', '--strips', 'detectors', '--out', out]);
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/detect: 10 of 12 units are detectors \(color 10\)/);
    const csv = readFileSync(`${out}.csv`, 'utf8').trim().split('\n');
    expect(csv[0]).to.equal('layer,unit,concept,category,iou,detector,threshold,threshold_error,area_pixels,top_images');
    expect(csv.length).to.equal(1 + PLANTED_UNITS.length);
    expect(csv[1]!.split(',').slice(0, 4)).to.deep.equal(['detect', '0', PLANTED_UNITS[0]!.name, 'color']);
    const json = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
    expect(json.layers[0].units).to.have.length(PLANTED_UNITS.length);
    for (const f of [`${out}.png`, `${out}-detect-best.png`, `${out}-units/detect/unit-0000.png`]) expect(existsSync(f), f).to.equal(true);
    expect(existsSync(`${out}-units/detect/unit-0011.png`)).to.equal(false); // the dead unit is no detector
  });

  it('net2vec: the embeddings, the held-out IoU beside the best unit, the similarities', () => {
    const out = join(dir, 'n');
    const r = runLoupe(['net2vec', '--model', onnx, '--data', broden, '--layer', 'detect', '--quantile', '0.1', '--concepts', 'blue,square', '--epochs', '20', '--out', out]);
    expect(r.code, r.err).to.equal(0);
    const csv = readFileSync(`${out}.csv`, 'utf8').trim().split('\n').map((l) => l.split(','));
    expect(csv[0]).to.deep.equal(['concept', 'category', 'net2vec', 'best_unit', 'best_unit_iou', 'frequency', 'alpha']);
    const blue = csv.find((row) => row[0] === 'blue')!;
    expect(Number(blue[2])).to.be.above(0.9); // its planted unit alone carries it
    expect(Number(blue[3])).to.equal(PLANTED_UNITS.findIndex((u) => u.name === 'blue'));
    expect(Number(blue[4])).to.be.above(0.9);
    for (const f of [`${out}.npy`, `${out}.png`, `${out}-similarity.csv`, `${out}.json`]) expect(existsSync(f), f).to.equal(true);
  });

  it('refuses bad input in one line', () => {
    expectOneLine(runLoupe(['dissect', '--model', onnx, '--data', broden, '--layer', 'nope', '--out', join(dir, 'x')]), /nope/);
    expectOneLine(runLoupe(['dissect', '--model', onnx, '--data', join(dir, 'missing'), '--layer', 'detect', '--out', join(dir, 'x')]), /--data .*missing/);
    expectOneLine(runLoupe(['dissect', '--model', onnx, '--layer', 'detect', '--out', join(dir, 'x')]), /--data|--images/);
    expectOneLine(runLoupe(['net2vec', '--model', onnx, '--data', broden, '--layer', 'detect', '--concepts', 'teal', '--out', join(dir, 'x')]), /teal/);
    // red is in none of the 4 held-out images of this seed: no IoU to report, so no run
    expectOneLine(runLoupe(['net2vec', '--model', onnx, '--data', broden, '--layer', 'detect', '--concepts', 'red', '--out', join(dir, 'x')]), /"red" appears in none of the 4 held-out images/);
    expect(existsSync(join(dir, 'x.csv'))).to.equal(false);
  });

  it('a broken Broden folder: one line naming the file, nothing written', () => {
    const bad = join(dir, 'bad');
    const { set, images } = syntheticConcepts({ count: 4, size: SIZE, seed: 5 });
    const files = writeBroden(set, images);
    const write = (over: Map<string, Uint8Array>) => {
      for (const [p, bytes] of over) {
        mkdirSync(dirname(join(bad, p)), { recursive: true });
        writeFileSync(join(bad, p), bytes);
      }
    };
    write(files);
    const first = [...files.keys()].find((p) => p.startsWith('images/') && !p.includes('_color') && !p.includes('_object'))!;
    writeFileSync(join(bad, first), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3])); // a PNG header and nothing else
    expectOneLine(runLoupe(['dissect', '--model', onnx, '--data', bad, '--layer', 'detect', '--out', join(dir, 'y')]), new RegExp(first.split('/').pop()!.replace('.', '\\.')));
    const index = new TextDecoder().decode(files.get('index.csv')!).split('\n').map((l) => l.split(',').filter((_c, i) => i !== 1).join(',')).join('\n');
    writeFileSync(join(bad, 'index.csv'), index); // the split column gone
    expectOneLine(runLoupe(['dissect', '--model', onnx, '--data', bad, '--layer', 'detect', '--out', join(dir, 'y')]), /index\.csv/);
    expect(existsSync(join(dir, 'y.csv'))).to.equal(false);
  });
});

describe('net2vec: learned on the GPU through the explainer', function () {
  this.timeout(600_000);
  it('is deterministic for a seed', async () => {
    const engine = await getEngine();
    const { set } = syntheticConcepts({ count: 15, size: 32, seed: 11 });
    const model = new Model(engine, plantedDetectorGraph(32));
    const pp = { size: [32, 32] as [number, number], scale: 1 / 255, channels: 3 };
    try {
      const o = { layer: 'detect', concepts: ['square', 'circle'], variant: 'segmentation' as const, epochs: 3, quantile: 0.1, seed: 5, holdout: 0.2, preprocess: pp };
      const a = await net2vec(model, set, o);
      const b = await net2vec(model, set, o);
      expect(Array.from(a.weights)).to.deep.equal(Array.from(b.weights));
      expect(a.train + a.heldOut).to.equal(15);
      expect(a.heldOut).to.equal(3);
    } finally {
      model.destroy();
    }
  });
});

describe('net2vec and dissect through the registry (the browser app\'s route)', function () {
  this.timeout(600_000);
  it('learn and dissect the colour names of the given images; figures and tiles draw', async () => {
    const { images } = syntheticConcepts({ count: 10, size: 32, seed: 21 });
    const model = new Model(await getEngine(), plantedDetectorGraph(32));
    const pp = { size: [32, 32] as [number, number], scale: 1 / 255, channels: 3 };
    const data = new Float32Array(10 * 3 * 32 * 32);
    images.forEach((img, i) => data.set(preprocessImage(img, pp), i * 3 * 32 * 32));
    const inputs = { data, batch: 10, names: images.map((_, i) => `s${i}.png`), preprocess: pp, fromImages: true };
    const ctx = { ...inputs, shape: [3, 32, 32] as [number, number, number], model: 'planted' };
    try {
      const calls: number[] = [];
      const e = await explainer('net2vec').run(model, inputs, { layer: 'detect', maskSize: 32, epochs: 5, quantile: 0.1 }, (done) => calls.push(done));
      expect(calls.length).to.be.above(0);
      const concepts = e.meta.concepts as { concept: string; score: number; bestUnitIoU: number }[];
      expect(concepts.length).to.be.above(0);
      expect(e.tensors.weights!.shape).to.deep.equal([concepts.length, PLANTED_UNITS.length + 1]);
      expect(JSON.parse(JSON.stringify(e.meta))).to.deep.equal(e.meta);
      expect(figures(e, ctx).map((f) => f.suffix)).to.deep.equal(['']);
      expect(drawFigure(figures(e, ctx)[0]!).width).to.be.above(100);
      expect(explanationTiles(e, ctx)).to.have.length(1);
      const d = await explainer('dissect').run(model, inputs, { layer: 'detect', maskSize: 32, quantile: 0.1, top: 2 });
      const tiles = explanationTiles(d, ctx);
      expect(tiles.length).to.be.above(0);
      for (const t of tiles) expect(t.values!.data.length).to.equal(32 * 32);
    } finally {
      model.destroy();
    }
  });
});
