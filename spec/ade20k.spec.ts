// The pointing game on ADE20K scenes (issue 14): the scene loader on the three real scenes of
// ../shared/data/segmentation/ade20k_sample, the ImageNet → WordNet table, the class ↔ concept
// matching, and loupe evaluate --segmentation (a synthetic scene set through a linear model whose
// saliency peaks at a known pixel; SqueezeNet on the real scenes; bad input).
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeImage, encodePng } from '../loaders/image.ts';
import { writeOnnx } from '../loaders/onnx-writer.ts';
import { adeConcepts, adeLabels, adeScene, classRegion, imagenetChain, imagenetWnid, matchConcepts, resizeLabels, type AdeConcept } from '../loaders/ade20k.ts';
import { IMAGENET_SYNSETS } from '../loaders/imagenet-wordnet.ts';
import type { Graph, Node } from '../engine/ir.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '..', 'shared', 'data');
const ADE = join(DATA, 'segmentation', 'ade20k_sample');
const SCENES = ['ADE_train_00016869', 'ADE_train_00016900', 'ADE_train_00016964'];
const CAR = 'car, auto, automobile, machine, motorcar';
const [CAB, MOVING_VAN, MINIVAN, MOPED, STREET_SIGN, TRAFFIC_LIGHT, TABBY, GARBAGE_TRUCK] = [468, 675, 656, 665, 919, 920, 281, 569];

const scene = (name: string) =>
  adeScene(decodeImage(new Uint8Array(readFileSync(join(ADE, `${name}_seg.png`))), `${name}_seg.png`), new Uint8Array(readFileSync(join(ADE, `${name}.json`))), { seg: `${name}_seg.png`, json: `${name}.json` });

describe('ADE20K scenes and ImageNet classes (host)', () => {
  const scenes = new Map(SCENES.map((s) => [s, scene(s)]));

  it("each _seg.png's class values are its JSON's whole objects (13, 16 and 14 classes), parts apart", () => {
    SCENES.forEach((s, i) => {
      const sc = scenes.get(s)!;
      const values = new Set(sc.labels);
      values.delete(0);
      const json = JSON.parse(readFileSync(join(ADE, `${s}.json`), 'utf8')).annotation.object as { name_ndx: number; parts: { part_level: number } }[];
      const whole = new Set(json.filter((o) => o.parts.part_level === 0).map((o) => o.name_ndx));
      expect([...values].sort((a, b) => a - b), s).to.deep.equal([...whole].sort((a, b) => a - b));
      expect(values.size, s).to.equal([13, 16, 14][i]);
      expect([...sc.objects.keys()].sort((a, b) => a - b)).to.deep.equal([...whole].sort((a, b) => a - b));
      for (const c of sc.parts.values()) expect(c.category).to.equal('part');
    });
    const first = scenes.get(SCENES[0]!)!;
    expect(first.width * first.height).to.equal(first.labels.length);
    expect(first.objects.get(401)).to.deep.include({ name: CAR, category: 'object' });
    expect(first.objects.get(401)!.hypernyms.slice(0, 2)).to.deep.equal([CAR, 'motor vehicle, automotive vehicle']);
    expect([...first.parts.values()].map((c) => c.name)).to.include('window');
  });

  it('the ImageNet table: every wnid of synset_words.txt in order, chains up to entity formatted as ADE20K writes them', () => {
    const lines = readFileSync(join(DATA, 'labels/synset_words.txt'), 'utf8').split('\n').filter((l) => l.trim());
    expect(lines).to.have.length(1000);
    lines.forEach((l, k) => expect(imagenetWnid(k)).to.equal(l.slice(0, 9)));
    for (let k = 0; k < 1000; k++) expect(imagenetChain(k).at(-1), `class ${k}`).to.equal('entity');
    expect(imagenetWnid(CAB)).to.equal('n02930766');
    expect(imagenetChain(CAB).slice(0, 2)).to.deep.equal(['cab, hack, taxi, taxicab', CAR]);
    // the same synset in both: the strings are equal
    expect(imagenetChain(TRAFFIC_LIGHT)[0]).to.equal(scenes.get(SCENES[0]!)!.objects.get(2836)!.name);
    // the chain ADE20K gives car equals WordNet's first-hypernym chain of car, from the table
    expect(imagenetChain(CAB).slice(1)).to.deep.equal(scenes.get(SCENES[0]!)!.objects.get(401)!.hypernyms);
    expect(IMAGENET_SYNSETS.length).to.be.below(2000);
    expect(() => imagenetWnid(1000)).to.throw(/classes are 0\.\.999/);
  });

  it('matching: cab → car, moving van → van and truck, minivan → van, moped → minibike, garbage truck → truck but not container; tabby and street sign → nothing', () => {
    const [a, b, c] = SCENES.map((s) => scenes.get(s)!);
    const names = (k: number, s: typeof a) => matchConcepts(k, s!.objects.values()).map((m) => `${m.concept.name} (${m.relation})`);
    expect(names(CAB, a)).to.deep.equal([`${CAR} (hypernym)`]);
    expect(names(TRAFFIC_LIGHT, a)).to.deep.equal(['traffic light, traffic signal, stoplight (same)']);
    expect(names(MOVING_VAN, b)).to.deep.equal(['truck, motortruck (hypernym)', 'van (hypernym)']); // moving van → van → truck: both are above it
    expect(names(MINIVAN, c)).to.deep.equal(['van (hypernym)']); // minivan → passenger van → van: its first hypernym is not car
    expect(names(MOPED, b)).to.deep.equal(['minibike, motorbike (hypernym)']);
    for (const s of [a, b, c]) {
      expect(names(TABBY, s)).to.deep.equal([]);
      // street sign → sign (a public display of a message) → communication: not ADE's "signboard, sign" (a structure)
      expect(names(STREET_SIGN, s)).to.deep.equal([]);
    }
    // WordNet's wheeled vehicle is also a container (its second hypernym): not on the chain, so ADE's "container" (in b and c) is no truck
    expect(names(GARBAGE_TRUCK, a)).to.deep.equal([]);
    expect(names(GARBAGE_TRUCK, b)).to.deep.equal(['truck, motortruck (hypernym)']);
    expect(names(GARBAGE_TRUCK, c)).to.deep.equal([]);
    const region = classRegion(a!, CAB);
    expect(region.concepts).to.deep.equal([CAR]);
    expect(region.mask.reduce((s, v) => s + v, 0)).to.equal(a!.labels.reduce((s, v) => s + (v === 401 ? 1 : 0), 0)).and.above(1000);
    expect(classRegion(a!, TABBY).mask.every((v) => v === 0)).to.equal(true);
  });

  it("the matches of SqueezeNet v1.0's top-5 classes on the three scenes (as README.md lists them)", () => {
    // loupe predict --top 5 on each scene (SqueezeNet v1.0 ONNX, BGR, mean 104,117,123)
    const top5 = [[978, 975, 920, 536, 803], [665, 670, 971, 518, 612], [423, 424, 569, 857, 561]];
    const found = SCENES.map((s, i) => top5[i]!.flatMap((k) => matchConcepts(k, scenes.get(s)!.objects.values()).map((m) => `${k} → ${m.concept.name.split(',')[0]}`)));
    expect(found).to.deep.equal([['920 → traffic light'], ['665 → minibike', '518 → helmet'], []]);
  });

  it('matching a hyponym, and too general concepts matching nothing', () => {
    const concept = (name: string, hypernyms: string[]): AdeConcept => ({ ndx: 1, name, category: 'object', hypernyms });
    // an ADE concept below ImageNet's tabby
    expect(matchConcepts(TABBY, [concept('striped tabby', ['striped tabby', ...imagenetChain(TABBY)])]).map((m) => m.relation)).to.deep.equal(['hyponym']);
    const chain = imagenetChain(CAB);
    const general = (name: string) => concept(name, chain.slice(chain.indexOf(name)));
    expect(matchConcepts(CAB, [general('artifact, artefact'), general('whole, unit'), general('entity')])).to.deep.equal([]);
    expect(matchConcepts(CAB, [general('instrumentality, instrumentation')]).map((m) => m.relation)).to.deep.equal(['hypernym']);
  });

  it('resizes a label map by nearest neighbour with pixel centres, as render.ts resizes a mask', () => {
    const map = { width: 6, height: 4, labels: Uint16Array.from({ length: 24 }, (_, i) => i) };
    // out (y, x) ← in (⌊(y+½)·4/2⌋, ⌊(x+½)·6/3⌋) = (2y+1, 2x+1)
    expect(Array.from(resizeLabels(map, 3, 2).labels)).to.deep.equal([7, 9, 11, 19, 21, 23]);
    expect(Array.from(resizeLabels({ width: 2, height: 1, labels: Uint16Array.of(4, 5) }, 4, 2).labels)).to.deep.equal([4, 4, 5, 5, 4, 4, 5, 5]);
  });

  it('bad annotations: one line naming the file', () => {
    expect(() => adeConcepts('{"annotation": ', 'x.json')).to.throw(/^x\.json: not JSON/);
    expect(() => adeConcepts('{"objects": []}', 'x.json')).to.throw(/^x\.json: no annotation\.object list/);
    expect(() => adeConcepts('{"annotation": {"object": [{"name": "car"}]}}', 'x.json')).to.throw(/^x\.json: annotation\.object\[0\] lacks a name, a name_ndx/);
    const seg = { width: 2, height: 1, data: Uint8Array.of(0, 0, 0, 255, 0, 7, 0, 255) };
    expect(adeLabels(seg).labels).to.deep.equal(Uint16Array.of(0, 7));
    expect(() => adeScene(seg, '{"annotation": {"object": []}}', { seg: 'x_seg.png', json: 'x.json' })).to.throw(/^x_seg\.png: class 7 at row 0, column 1 is no whole object of x\.json/);
  });
});

// ---- loupe evaluate --segmentation ----------------------------------------------------------------

/** An ADE20K label PNG: class value v as R = ⌊v/256⌋·10, G = v mod 256. */
function segPng(w: number, h: number, at: (y: number, x: number) => number): Uint8Array {
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const v = at(y, x);
    data.set([Math.floor(v / 256) * 10, v % 256, 0, 255], (y * w + x) * 4);
  }
  return encodePng({ width: w, height: h, data });
}
const grey = (w: number, h: number) => encodePng({ width: w, height: h, data: new Uint8Array(w * h * 4).fill(128) });
const annotation = (objects: { name: string; ndx: number; hypernym: string[] }[]) =>
  JSON.stringify({ annotation: { object: objects.map((o) => ({ name: o.name, name_ndx: o.ndx, hypernym: o.hypernym, parts: { part_level: 0 } })) } });

describe('loupe evaluate --segmentation', function () {
  this.timeout(300_000);
  const tmp = mkdtempSync(join(tmpdir(), 'loupe-ade20k-'));
  const loupe = (...args: string[]) => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/loupe.js'), 'evaluate', ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
    return { code: r.status, out: r.stdout, err: r.stderr.split('\n').filter((l) => l && !l.startsWith('Warning: max') && !/^evaluate \[|^\w[\w-]* \[#/.test(l)).join('\n') };
  };

  // A linear model on 3×24×32 inputs whose logit of cab (468) is pixel (5, 20) of each channel: its
  // saliency is 1 there and 0 elsewhere, so the map peaks at (5, 20) whatever the image.
  const H = 24, W = 32, PEAK = [5, 20];
  const model = join(tmp, 'linear.onnx');
  const weight = new Float32Array(1000 * 3 * H * W);
  for (let c = 0; c < 3; c++) weight[CAB * 3 * H * W + c * H * W + PEAK[0]! * W + PEAK[1]!] = 1;
  const graph: Graph = {
    name: 'linear', format: 'onnx', input: { name: 'x', shape: [-1, 3, H, W] }, outputs: ['y'],
    nodes: [
      { name: 'flat', op: 'flatten', inputs: ['x'], outputs: ['f'], attrs: { axis: 1 } },
      { name: 'fc', op: 'fc', inputs: ['f'], outputs: ['y'], attrs: { weight: 'w', outFeatures: 1000 } },
    ] as Node[],
    params: new Map([['w', { dims: [1000, 3 * H * W], data: weight }]]),
  };
  writeFileSync(model, writeOnnx(graph));

  // Scenes of 96×48 pixels (3× and 2× the model's input): image column 3x+1 and row 2y+1 become the
  // model's (y, x). Cars over image rows 8..19 (model rows 4..9, with the peak's row 5) and columns:
  // inside 57..65 (model 19..21: the peak), near 12..17 (model 4, 5: 15 px from the peak, a hit),
  // far 9..14 (model 3, 4: 16 px, a miss); trees: no concept of cab, not counted.
  const scenes = join(tmp, 'scenes');
  mkdirSync(scenes);
  const carChain = [CAR, ...imagenetChain(CAB).slice(2)];
  const car = { name: CAR, ndx: 401, hypernym: carChain };
  const tree = { name: 'tree', ndx: 2855, hypernym: ['tree', 'woody plant, ligneous plant', 'vascular plant, tracheophyte', 'plant, flora, plant life', 'organism, being', 'living thing, animate thing', 'whole, unit', 'object, physical object', 'physical entity', 'entity'] };
  const scenesMade: [string, number, number, typeof car][] = [['inside', 57, 66, car], ['near', 12, 18, car], ['far', 9, 15, car], ['trees', 57, 66, tree]];
  for (const [name, x0, x1, o] of scenesMade) {
    writeFileSync(join(scenes, `${name}.png`), grey(96, 48));
    writeFileSync(join(scenes, `${name}_seg.png`), segPng(96, 48, (y, x) => (y >= 8 && y < 20 && x >= x0 && x < x1 ? o.ndx : 0)));
    writeFileSync(join(scenes, `${name}.json`), annotation([o]));
  }

  it('a synthetic scene set: a hit inside the region and at 15 px, a miss at 16 px, no concept not counted; the CSV and JSON name the concepts', () => {
    const prefix = join(tmp, 'run', 'synthetic');
    const r = loupe('--model', model, '--segmentation', scenes, '--methods', 'saliency', '--method-options', `saliency:class=${CAB}`, '--metrics', 'pointing', '--out', prefix);
    expect(r.code, r.err).to.equal(0);
    const csv = readFileSync(`${prefix}.csv`, 'utf8').trim().split('\n');
    expect(csv).to.deep.equal([
      'method,image,class,metric,value,region',
      `saliency,far.png,468,pointing,0,"${CAR}"`,
      `saliency,inside.png,468,pointing,1,"${CAR}"`,
      `saliency,near.png,468,pointing,1,"${CAR}"`,
      'saliency,trees.png,468,pointing,,none',
      `saliency,mean,,pointing,${2 / 3},`,
    ]);
    const json = JSON.parse(readFileSync(`${prefix}.json`, 'utf8'));
    expect(json.segmentation.matching).to.match(/^class k's region: the whole objects whose ADE20K concept is k's WordNet synset or a hypernym of it/);
    const m = json.methods[0];
    expect(m.mean).to.deep.include({ pointingCounted: 3 });
    expect(m.images.map((im: { pointing: unknown }) => im.pointing)).to.deep.equal([
      { hit: false, peak: PEAK, distance: 16, concepts: [CAR] },
      { hit: true, peak: PEAK, distance: 0, concepts: [CAR] },
      { hit: true, peak: PEAK, distance: 15, concepts: [CAR] },
      { hit: null, peak: PEAK, distance: null, concepts: [] },
    ]);
  });

  it('as a data-set run (--out DIR/, 2 shards merged): the same table, the JSON without the folder', () => {
    const prefix = join(tmp, 'run', 'batch');
    const args = ['--model', model, '--segmentation', scenes, '--methods', 'saliency', '--method-options', `saliency:class=${CAB}`, '--metrics', 'pointing'];
    expect(loupe(...args, '--out', prefix).code).to.equal(0);
    const dirs = [0, 1].map((i) => join(tmp, `shard-${i}`));
    dirs.forEach((d, i) => {
      const r = loupe(...args, '--shard', `${i}/2`, '--out', d);
      expect(r.code, r.err).to.equal(0);
    });
    const merged = join(tmp, 'merged');
    const m = spawnSync(process.execPath, [join(ROOT, 'bin/loupe.js'), 'merge', ...dirs, '--out', merged], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
    expect(m.status, m.stderr).to.equal(0);
    expect(readFileSync(join(merged, 'evaluation.csv'), 'utf8')).to.equal(readFileSync(`${prefix}.csv`, 'utf8'));
    const a = JSON.parse(readFileSync(join(merged, 'evaluation.json'), 'utf8')), b = JSON.parse(readFileSync(`${prefix}.json`, 'utf8'));
    expect(a.segmentation).to.deep.equal({ matching: b.segmentation.matching });
    expect(a.methods).to.deep.equal(b.methods);
  });

  it('SqueezeNet on the three ADE20K scenes (the folder gives the images): the top class of a scene that holds it is counted, tabby nowhere', function () {
    const squeezenet = join(DATA, 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx');
    if (!existsSync(squeezenet)) this.skip();
    const prefix = join(tmp, 'run', 'ade');
    const r = loupe('--model', squeezenet, '--bgr', '--mean', '104,117,123', '--segmentation', ADE, '--methods', 'saliency,gradcam',
      '--method-options', `gradcam:layer=/Concat_7_output_0;gradcam:class=${TABBY}`, '--metrics', 'pointing', '--out', prefix);
    expect(r.code, r.err).to.equal(0);
    const csv = readFileSync(`${prefix}.csv`, 'utf8').trim().split('\n');
    expect(csv[0]).to.equal('method,image,class,metric,value,region');
    expect(csv).to.have.length(1 + 2 * 4); // 2 methods × (3 scenes + the mean)
    const json = JSON.parse(readFileSync(`${prefix}.json`, 'utf8'));
    const [saliency, gradcam] = json.methods;
    expect(json.images).to.deep.equal(SCENES.map((s) => `${s}.jpg`));
    // SqueezeNet's top classes: seashore (no concept in a street), moped (ADE's minibike), barber chair (none)
    expect(saliency.images.map((im: { class: number }) => im.class)).to.deep.equal([978, MOPED, 423]);
    expect(saliency.images.map((im: { pointing: { concepts: string[] } }) => im.pointing.concepts)).to.deep.equal([[], ['minibike, motorbike'], []]);
    expect(saliency.images[0].pointing.hit).to.equal(null);
    expect(saliency.images[1].pointing.hit).to.be.a('boolean');
    expect(saliency.mean.pointingCounted).to.equal(1);
    expect(csv[2]).to.match(/^saliency,ADE_train_00016900\.jpg,665,pointing,[01],"minibike, motorbike"$/);
    expect(gradcam.images.every((im: { class: number; pointing: { hit: null; concepts: string[] } }) => im.class === TABBY && im.pointing.hit === null && im.pointing.concepts.length === 0)).to.equal(true);
    expect(gradcam.mean).to.deep.include({ pointing: null, pointingCounted: 0 });
  });

  const refused = (args: string[], line: RegExp) => {
    const r = loupe('--model', model, '--methods', 'saliency', ...args, '--out', join(tmp, 'bad', 'x'));
    expect(r.code, r.err).to.equal(1);
    expect(r.err.split('\n'), r.err).to.have.length(1);
    expect(r.err).to.match(line);
    expect(existsSync(join(tmp, 'bad', 'x.csv'))).to.equal(false);
  };
  const folder = (name: string, files: Record<string, Uint8Array | string>) => {
    const dir = join(tmp, name);
    mkdirSync(dir);
    for (const [f, bytes] of Object.entries(files)) writeFileSync(join(dir, f), bytes);
    return dir;
  };

  it('an image without its _seg.png or JSON, a malformed JSON, a seg PNG of another size: one line, exit 1', () => {
    const seg = segPng(96, 48, () => 401);
    refused(['--segmentation', folder('no-seg', { 'a.png': grey(96, 48), 'a.json': annotation([car]) })], /^loupe: --segmentation .*no-seg: no a_seg\.png for image a\.png$/);
    refused(['--images', join(scenes, 'inside.png'), '--segmentation', folder('no-json', { 'inside_seg.png': seg })], /^loupe: --segmentation .*no-json: no inside\.json for image inside\.png$/);
    refused(['--segmentation', folder('bad-json', { 'a.png': grey(96, 48), 'a_seg.png': seg, 'a.json': '{"annotation": {"object": [' })], /^loupe: a\.json: not JSON \(/);
    refused(['--segmentation', folder('other-json', { 'a.png': grey(96, 48), 'a_seg.png': seg, 'a.json': annotation([tree]) })], /^loupe: a_seg\.png: class 401 at row 0, column 0 is no whole object of a\.json: the two files do not belong together$/);
    refused(['--segmentation', folder('small-seg', { 'a.png': grey(96, 48), 'a_seg.png': segPng(48, 24, () => 401), 'a.json': annotation([car]) })], /^loupe: --segmentation: a_seg\.png is 48x24; it must be its image's size \(a\.png is 96x48\)$/);
    refused(['--segmentation', folder('empty', {})], /^loupe: --segmentation .*empty: the folder holds no images/);
    // --images DIR of the same ADE20K folder: its label PNGs are not taken for images (a.png is, and its JSON is bad)
    refused(['--images', join(tmp, 'bad-json'), '--segmentation', join(tmp, 'bad-json')], /^loupe: a\.json: not JSON \(/);
  });

  it('--segmentation with --masks, without pointing, on a model without ImageNet classes; no images at all', () => {
    refused(['--segmentation', scenes, '--masks', scenes], /^loupe: --masks and --segmentation both give the pointing game its regions: give one$/);
    refused(['--segmentation', scenes, '--metrics', 'deletion'], /^loupe: --segmentation is for the pointing game: add pointing to --metrics$/);
    refused([], /^loupe: evaluate: --images is required \(or --segmentation DIR, whose images it takes\)$/);
    const r = loupe('--model', join(ROOT, 'weights/lenet-relu-mnist.onnx'), '--segmentation', scenes, '--methods', 'saliency', '--out', join(tmp, 'bad', 'y'));
    expect(r.code).to.equal(1);
    expect(r.err).to.equal("loupe: --segmentation matches ImageNet's 1000 classes (synset_words.txt order) to ADE20K concepts; the model has 10 classes");
  });
});
