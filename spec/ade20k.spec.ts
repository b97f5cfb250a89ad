// The pointing game on ADE20K scenes (issue 14): the scene loader on the three real scenes of
// ../shared/data/segmentation/ade20k_sample, the ImageNet → WordNet table, the class ↔ concept matching.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImage } from '../loaders/image.ts';
import { adeConcepts, adeLabels, adeScene, classRegion, imagenetChain, imagenetWnid, matchConcepts, resizeLabels, type AdeConcept } from '../loaders/ade20k.ts';
import { IMAGENET_SYNSETS } from '../loaders/imagenet-wordnet.ts';

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
