// Concept data sets for network dissection and Net2Vec (issue 16), host only: the colour names
// (sRGB → CIELAB, nearest prototype), the seeded synthetic shapes, the Broden folder reader and
// writer (round trip, and one typed error naming the file for each kind of broken folder), and
// the ADE20K adapter on the three real scenes of ../shared/data/segmentation/ade20k_sample.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArgumentError, InputFormatError, LoupeError, ShapeError } from '../engine/errors.ts';
import { checkConceptSet, type ConceptSet } from '../loaders/concepts.ts';
import { COLOUR_PROTOTYPES, colourConcepts, colourMap, nearestColour, rgbToLab } from '../loaders/colour-concepts.ts';
import { SYNTHETIC_BACKGROUND, SYNTHETIC_CONCEPTS, SYNTHETIC_PALETTE, SYNTHETIC_TEXTURE_LEVEL, syntheticConcepts } from '../loaders/synthetic-concepts.ts';
import { parseCsv, readBroden, writeBroden } from '../loaders/broden.ts';
import { adeConceptSet } from '../loaders/ade20k.ts';
import { decodeImage, encodePng, type RGBAImage } from '../loaders/image.ts';

const DATA = join(import.meta.dirname, '..', '..', 'shared', 'data');
const ADE = join(DATA, 'segmentation', 'ade20k_sample');
const SCENES = ['ADE_train_00016869', 'ADE_train_00016900', 'ADE_train_00016964'];
const bytes = (p: string) => new Uint8Array(readFileSync(p));

/** Throws a LoupeError of `type` whose one-line message matches every pattern. */
function expectError(fn: () => unknown, type: new (...a: never[]) => LoupeError, ...patterns: RegExp[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'no error thrown').to.be.instanceOf(type);
  const msg = (err as Error).message;
  expect(msg).not.to.include('\n');
  for (const p of patterns) expect(msg).to.match(p);
}

const solid = (w: number, h: number, rgb: readonly number[]): RGBAImage => {
  const data = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([...rgb, 255], 4 * i);
  return { width: w, height: h, data };
};

/** A folder of files (Broden layout) under `root`, as readBroden's reader. */
const reader = (files: Map<string, Uint8Array>, root = 'broden') => (p: string) => (p.startsWith(`${root}/`) ? files.get(p.slice(root.length + 1)) : undefined);
const csv = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

/** Everything of two sets but their source, and each sample's image pixels. */
function expectSameSet(a: ConceptSet, b: ConceptSet): void {
  expect(a.concepts).to.deep.equal(b.concepts);
  expect(a.categories).to.deep.equal(b.categories);
  expect(a.samples.length).to.equal(b.samples.length);
  a.samples.forEach((s, i) => {
    const t = b.samples[i]!;
    expect([s.name, s.height, s.width, s.split, s.whole], s.name).to.deep.equal([t.name, t.height, t.width, t.split, t.whole]);
    expect(s.maps.length, s.name).to.equal(t.maps.length);
    s.maps.forEach((m, j) => expect(Buffer.from(m.buffer, m.byteOffset, m.byteLength).equals(Buffer.from(t.maps[j]!.buffer, t.maps[j]!.byteOffset, t.maps[j]!.byteLength)), `${s.name} map ${j}`).to.equal(true));
    const [x, y] = [s.image(), t.image()];
    expect([x.width, x.height]).to.deep.equal([y.width, y.height]);
    expect(Buffer.from(x.data).equals(Buffer.from(y.data)), s.name).to.equal(true);
  });
}

describe('concept data sets (host)', () => {
  describe('colour names', () => {
    it('converts sRGB to CIELAB with the standard formulas: white, black, red, a grey', () => {
      const [l, a, b] = rgbToLab(255, 255, 255);
      expect(l).to.be.closeTo(100, 1e-3);
      expect(a).to.be.closeTo(0, 1e-3);
      expect(b).to.be.closeTo(0, 1e-3);
      expect(rgbToLab(0, 0, 0).map((v) => Math.abs(v))).to.deep.equal([0, 0, 0]);
      const red = rgbToLab(255, 0, 0);
      expect(red[0]).to.be.closeTo(53.24, 0.01);
      expect(red[1]).to.be.closeTo(80.09, 0.01);
      expect(red[2]).to.be.closeTo(67.2, 0.01);
      // sRGB 128 → linear 0.2158605 → L* = 116·Y^(1/3) − 16 = 53.585; neutral
      const grey = rgbToLab(128, 128, 128);
      expect(grey[0]).to.be.closeTo(116 * Math.cbrt(((128 / 255 + 0.055) / 1.055) ** 2.4) - 16, 1e-9);
      expect(grey[0]).to.be.closeTo(53.585, 1e-3);
      expect(Math.abs(grey[1]) + Math.abs(grey[2])).to.be.below(1e-3);
    });

    it("has Broden's eleven terms; each prototype is its own nearest colour, and slightly off it still is", () => {
      expect(COLOUR_PROTOTYPES.map((p) => p.name)).to.deep.equal(['black', 'blue', 'brown', 'green', 'grey', 'orange', 'pink', 'purple', 'red', 'white', 'yellow']);
      COLOUR_PROTOTYPES.forEach((p, i) => {
        expect(nearestColour(...p.rgb), p.name).to.equal(i);
        const [r, g, b] = p.rgb.map((v) => Math.min(255, Math.max(0, v + (v > 127 ? -6 : 6))));
        expect(nearestColour(r!, g!, b!), `${p.name} ± 6`).to.equal(i);
      });
      expect(COLOUR_PROTOTYPES[nearestColour(200, 30, 20)]!.name).to.equal('red');
      expect(COLOUR_PROTOTYPES[nearestColour(20, 40, 200)]!.name).to.equal('blue');
    });

    it('names every pixel of photos at the label size (resized whole frame), one "color" map per photo', () => {
      // left half red, right half blue, 8×6 → 4×4: the resize keeps the halves apart
      const img = solid(8, 6, [255, 0, 0]);
      for (let y = 0; y < 6; y++) for (let x = 4; x < 8; x++) img.data.set([0, 0, 255], 4 * (y * 8 + x));
      expect([...colourMap(img, 4)]).to.deep.equal(Array.from({ length: 16 }, (_, i) => (i % 4 < 2 ? 9 : 2)));
      const photo = join(DATA, 'images', 'caffe', 'cat.jpg');
      const set = colourConcepts([...COLOUR_PROTOTYPES.map((p) => ({ name: `${p.name}.png`, image: () => solid(5, 3, p.rgb) })), { name: 'cat.jpg', image: () => decodeImage(bytes(photo), photo) }], 16);
      checkConceptSet(set);
      expect(set.categories).to.deep.equal(['color']);
      expect(set.concepts.map((c) => [c.id, c.category])).to.deep.equal(COLOUR_PROTOTYPES.map((_, i) => [i + 1, 'color']));
      COLOUR_PROTOTYPES.forEach((_, i) => expect(new Set(set.samples[i]!.maps[0]), set.samples[i]!.name).to.deep.equal(new Set([i + 1])));
      const cat = set.samples.at(-1)!;
      expect([cat.height, cat.width, cat.maps.length, cat.maps[0]!.length]).to.deep.equal([16, 16, 1, 256]);
      expect(new Set(cat.maps[0]).size, 'a photo has several colours').to.be.greaterThan(2);
      expectError(() => colourConcepts([], 8), ArgumentError, /no images/);
      expectError(() => colourConcepts([{ name: 'x', image: () => img }], 0), ArgumentError, /label size/);
    });
  });

  describe('synthetic shapes', () => {
    const { set, images, layouts } = syntheticConcepts({ count: 24, size: 32, seed: 5 });

    it('is the same for a seed (and image i whatever the count), another for another seed', () => {
      const again = syntheticConcepts({ count: 24, size: 32, seed: 5 });
      const fewer = syntheticConcepts({ count: 3, size: 32, seed: 5 });
      const other = syntheticConcepts({ count: 24, size: 32, seed: 6 });
      images.forEach((img, i) => {
        expect(Buffer.from(again.images[i]!.data).equals(Buffer.from(img.data))).to.equal(true);
        expect(again.set.samples[i]!.maps).to.deep.equal(set.samples[i]!.maps);
        expect(again.set.samples[i]!.whole).to.deep.equal(set.samples[i]!.whole);
      });
      fewer.images.forEach((img, i) => expect(Buffer.from(img.data).equals(Buffer.from(images[i]!.data))).to.equal(true));
      expect(other.images.filter((img, i) => Buffer.from(img.data).equals(Buffer.from(images[i]!.data)))).to.have.length(0);
      expectError(() => syntheticConcepts({ count: 0, size: 32, seed: 1 }), ArgumentError, /count/);
      expectError(() => syntheticConcepts({ count: 2, size: 8, seed: 1 }), ArgumentError, /size/);
      expectError(() => syntheticConcepts({ count: 2, size: 32, seed: 0.5 }), ArgumentError, /seed/);
    });

    it('draws 1–3 flat prototype-coloured shapes on grey covering 10–40 %, with exact colour and object masks, and a texture only on the background', () => {
      checkConceptSet(set);
      expect(set.categories).to.deep.equal(['color', 'object', 'texture']);
      expect(set.concepts.map((c) => c.name)).to.deep.equal([...SYNTHETIC_PALETTE.map((p) => p.name), 'square', 'circle', 'triangle', 'plain', 'striped', 'dotted']);
      expect(SYNTHETIC_PALETTE.map((p) => p.name)).not.to.include('grey');
      expect(SYNTHETIC_PALETTE).to.have.length(10);
      expect(SYNTHETIC_BACKGROUND).to.deep.equal([128, 128, 128]);
      const textures = new Set<string>(), shapes = new Set<string>();
      set.samples.forEach((s, i) => {
        const img = images[i]!, [colour, object] = s.maps as [Uint16Array, Uint16Array];
        expect(s.image()).to.equal(img);
        expect(s.whole).to.have.length(1);
        const texture = set.concepts[s.whole[0]! - 1]!;
        expect(texture.category).to.equal('texture');
        textures.add(texture.name);
        expect(layouts[i]!.texture).to.equal(texture.name);
        expect(layouts[i]!.shapes.length).to.be.within(1, 3);
        layouts[i]!.shapes.forEach((l) => shapes.add(l.shape));
        let covered = 0, pattern = 0;
        const owners = new Set<string>();
        for (let p = 0; p < 32 * 32; p++) {
          const px = [...img.data.subarray(4 * p, 4 * p + 4)];
          expect(px[3]).to.equal(255);
          expect(colour[p] === 0, `pixel ${p}`).to.equal(object[p] === 0);
          if (colour[p]) {
            covered++;
            expect(px.slice(0, 3), `${s.name} pixel ${p}`).to.deep.equal(SYNTHETIC_PALETTE[colour[p]! - 1]!.rgb);
            expect(set.concepts[object[p]! - 1]!.category).to.equal('object');
            owners.add(`${colour[p]} ${object[p]}`);
          } else {
            const v = px[0]!;
            expect([v, v, v]).to.deep.equal(px.slice(0, 3));
            expect([128, SYNTHETIC_TEXTURE_LEVEL]).to.include(v);
            if (v !== 128) pattern++;
          }
        }
        expect(covered / 1024, s.name).to.be.within(0.1, 0.4);
        expect(pattern > 0, `${s.name} ${texture.name}`).to.equal(texture.name !== 'plain');
        expect(owners.size).to.be.at.most(layouts[i]!.shapes.length);
      });
      expect([...textures].sort()).to.deep.equal(['dotted', 'plain', 'striped']);
      expect([...shapes].sort()).to.deep.equal(['circle', 'square', 'triangle']);
    });

    it('shape pixels keep their colour name; the background is grey', () => {
      const named = colourConcepts(set.samples.slice(0, 6).map((s) => ({ name: s.name, image: s.image })), 32);
      named.samples.forEach((s, i) => {
        const colour = set.samples[i]!.maps[0]!;
        for (let p = 0; p < 1024; p++) {
          const want = colour[p] ? SYNTHETIC_PALETTE[colour[p]! - 1]!.name : 'grey';
          expect(COLOUR_PROTOTYPES[s.maps[0]![p]! - 1]!.name, `${s.name} pixel ${p}`).to.equal(want);
        }
      });
      expect(SYNTHETIC_CONCEPTS.filter((c) => c.category === 'color').map((c) => c.name)).to.deep.equal(SYNTHETIC_PALETTE.map((p) => p.name));
    });
  });

  describe('Broden folders', () => {
    const { set, images } = syntheticConcepts({ count: 6, size: 20, seed: 11 });
    set.samples.forEach((s, i) => (s.split = i % 3 ? 'train' : 'val'));
    const files = writeBroden(set, images);

    it('writes the layout NetDissect reads: index.csv, label.csv, category.csv, c_*.csv, images and R + 256·G masks', () => {
      expect(text(files.get('index.csv')).split('\r\n')[0]).to.equal('image,split,ih,iw,sh,sw,color,object,texture');
      expect(text(files.get('index.csv')).split('\r\n')[1]).to.equal('synthetic/0000.png,val,20,20,20,20,synthetic/0000_color_1.png,synthetic/0000_object_2.png,' + set.samples[0]!.whole[0]);
      expect(text(files.get('label.csv')).split('\r\n')[0]).to.equal('number,name,category,frequency,coverage,syns');
      expect(text(files.get('category.csv')).split('\r\n').slice(0, 2)).to.deep.equal(['name,first,last,count,frequency', 'color,1,10,10,6']);
      for (const c of ['color', 'object', 'texture']) expect(files.has(`c_${c}.csv`), c).to.equal(true);
      const mask = decodeImage(files.get('images/synthetic/0000_object_2.png')!, 'mask');
      const want = set.samples[0]!.maps[1]!;
      for (let p = 0; p < 400; p++) expect(mask.data[4 * p]! + 256 * mask.data[4 * p + 1]!).to.equal(want[p]);
    });

    it('reads back to an equal set (every map, image-level label, concept, category, split and image)', () => {
      const back = readBroden(reader(files), 'broden');
      expect(back.source).to.equal('broden');
      expect(back.numbers).to.deep.equal(set.concepts.map((c) => c.id));
      checkConceptSet(back);
      expectSameSet(back, set);
      expect(readBroden(reader(files), 'broden', { limit: 2 }).samples.map((s) => s.name)).to.deep.equal(set.samples.slice(0, 2).map((s) => s.name));
      expect(readBroden(reader(files), 'broden', { split: 'val' }).samples.map((s) => s.name)).to.deep.equal(['synthetic/0000.png', 'synthetic/0003.png']);
      // lazy: the same maps, read at each use; a broken mask throws there
      const lazy = readBroden(reader(files), 'broden', { lazy: true });
      expectSameSet(lazy, set);
      const broken = new Map(files).set('images/synthetic/0004_color_1.png', csv('no png'));
      const late = readBroden(reader(broken), 'broden', { lazy: true });
      expect(late.samples).to.have.length(6);
      expectError(() => late.samples[4]!.maps, InputFormatError, /broden\/images\/synthetic\/0004_color_1\.png: not a PNG/);
      // a root with a trailing slash, and no root
      expect(readBroden(reader(files), 'broden/').samples).to.have.length(6);
      expect(readBroden((p) => files.get(p), '').samples).to.have.length(6);
    });

    it('keeps names with commas and quotes (CSV quoting), takes the most frequent category, renumbers sparse label numbers', () => {
      const one: ConceptSet = {
        source: 'test',
        concepts: [{ id: 1, name: 'car, auto', category: 'object' }, { id: 2, name: 'say "hi"', category: 'part' }, { id: 3, name: 'street', category: 'scene' }],
        categories: ['object', 'part', 'scene'],
        samples: [{ name: 'a/b.png', image: () => solid(4, 2, [1, 2, 3]), height: 2, width: 2, maps: [Uint16Array.of(1, 0, 1, 1), Uint16Array.of(0, 2, 2, 0)], whole: [3] }],
      };
      const f = writeBroden(one, [solid(4, 2, [1, 2, 3])]);
      expect(parseCsv(text(f.get('label.csv')), 'label.csv')[1]).to.deep.equal(['1', 'car, auto', 'object(1)', '1', '0.750000', '']);
      expectSameSet(readBroden(reader(f), 'broden'), one);
      // label.csv numbers 3 and 7 (and two categories for one label: the larger count wins)
      const sparse = new Map(f);
      sparse.set('label.csv', csv('number,name,category,frequency,coverage,syns\r\n3,fabric,part(36);object(40),76,1.0,cloth\r\n7,"sky, heavens",object(3),3,1.0,\r\n'));
      sparse.set('index.csv', csv('image,split,ih,iw,sh,sw,object,part,scene\r\na/b.png,,2,4,2,2,m.png,,7\r\n'));
      sparse.set('images/m.png', encodePng({ width: 2, height: 2, data: Uint8Array.of(3, 0, 0, 255, 0, 0, 0, 255, 7, 0, 0, 255, 3, 0, 9, 255) }));
      const s = readBroden(reader(sparse), 'broden');
      expect(s.concepts).to.deep.equal([{ id: 1, name: 'fabric', category: 'object' }, { id: 2, name: 'sky, heavens', category: 'object' }]);
      expect(s.numbers).to.deep.equal([3, 7]);
      expect(s.source).to.match(/renumbered/);
      expect([...s.samples[0]!.maps[0]!]).to.deep.equal([1, 0, 2, 1]);
      expect(s.samples[0]!.whole).to.deep.equal([2]);
      expect(s.samples[0]!.split).to.equal(undefined);
    });

    it('says what is wrong with a broken folder in one line naming the file', () => {
      const broken = (edit: (f: Map<string, Uint8Array>) => void) => {
        const f = new Map(files);
        edit(f);
        return () => readBroden(reader(f), 'broden');
      };
      const editCsv = (f: Map<string, Uint8Array>, name: string, fn: (rows: string[][]) => string[][]) =>
        f.set(name, csv(fn(parseCsv(text(f.get(name)), name)).map((r) => r.join(',')).join('\n') + '\n'));
      expectError(broken((f) => f.delete('index.csv')), ArgumentError, /broden\/index\.csv: not found/, /not a Broden folder/);
      expectError(broken((f) => f.delete('label.csv')), ArgumentError, /broden\/label\.csv/);
      // a missing column: a meta column, a category column
      expectError(broken((f) => editCsv(f, 'index.csv', (rows) => rows.map((r) => r.filter((_, j) => j !== 4)))), InputFormatError, /broden\/index\.csv: no column "sh"/);
      expectError(broken((f) => editCsv(f, 'index.csv', (rows) => rows.map((r) => r.slice(0, 7).concat(r.slice(8))))), InputFormatError, /broden\/index\.csv: no column "object"/);
      expectError(broken((f) => editCsv(f, 'label.csv', (rows) => rows.map((r) => r.slice(0, 2)))), InputFormatError, /broden\/label\.csv: no column "category"/);
      expectError(broken((f) => editCsv(f, 'index.csv', (rows) => rows.map((r, i) => (i === 2 ? r.slice(0, 5) : r)))), InputFormatError, /broden\/index\.csv: line 3 has 5 fields/);
      // a mask of another size than sh×sw; a mask or an image that does not decode; a missing mask
      const mask = 'images/synthetic/0001_object_2.png';
      expectError(broken((f) => f.set(mask, encodePng(solid(19, 20, [0, 0, 0])))), ShapeError, /broden\/images\/synthetic\/0001_object_2\.png: a 19×20 mask/, /20×20/);
      expectError(broken((f) => f.set(mask, f.get(mask)!.slice(0, 60))), InputFormatError, /broden\/images\/synthetic\/0001_object_2\.png/);
      expectError(broken((f) => f.set(mask, csv('not a png'))), InputFormatError, /broden\/images\/synthetic\/0001_object_2\.png: not a PNG or JPEG/);
      expectError(broken((f) => f.delete(mask)), InputFormatError, /broden\/images\/synthetic\/0001_object_2\.png: not found/);
      const img = 'images/synthetic/0002.png';
      const lazy = readBroden(reader(new Map([...files, [img, files.get(img)!.slice(0, 100)]])), 'broden');
      expectError(() => lazy.samples[2]!.image(), InputFormatError, /broden\/images\/synthetic\/0002\.png/);
      expectError(() => readBroden(reader(new Map([...files, [img, encodePng(solid(8, 8, [0, 0, 0]))]])), 'broden').samples[2]!.image(), ShapeError, /0002\.png: a 8×8 image/);
      // label numbers not in label.csv: in a mask, as an image-level label
      const data = new Uint8Array(20 * 20 * 4).fill(255);
      data.set([200, 0, 0, 255], 4 * 45);
      expectError(broken((f) => f.set(mask, encodePng({ width: 20, height: 20, data: data.fill(0, 0, 4 * 45).fill(0, 4 * 46) }))), InputFormatError, /0001_object_2\.png: label 200 at row 2, column 5 is not in broden\/label\.csv/);
      expectError(broken((f) => editCsv(f, 'index.csv', (rows) => rows.map((r, i) => (i === 1 ? [...r.slice(0, 8), '99'] : r)))), InputFormatError, /broden\/index\.csv: line 2: texture label 99 is not in broden\/label\.csv/);
      // label.csv: a category category.csv lacks, a malformed one, a label listed twice
      expectError(broken((f) => editCsv(f, 'label.csv', (rows) => rows.map((r, i) => (i === 3 ? [r[0]!, r[1]!, 'material(4)', ...r.slice(3)] : r)))), InputFormatError, /broden\/label\.csv: line 4 \("brown"\): category "material" is not in broden\/category\.csv/);
      expectError(broken((f) => editCsv(f, 'label.csv', (rows) => rows.map((r, i) => (i === 3 ? [r[0]!, r[1]!, 'color', ...r.slice(3)] : r)))), InputFormatError, /line 4 \("brown"\): category "color" is not of the form/);
      expectError(broken((f) => editCsv(f, 'label.csv', (rows) => rows.map((r, i) => (i === 3 ? ['2', ...r.slice(1)] : r)))), InputFormatError, /label number 2 is listed twice/);
      expectError(broken((f) => editCsv(f, 'index.csv', (rows) => rows.map((r, i) => (i === 1 ? [r[0]!, r[1]!, 'x', ...r.slice(3)] : r)))), InputFormatError, /index\.csv: line 2: ih "x"/);
      expectError(() => readBroden(reader(files), 'broden', { limit: 0 }), ArgumentError, /limit/);
      expectError(() => parseCsv('a,"b\n', 'x.csv'), InputFormatError, /x\.csv: line 1: a quoted field is not closed/);
      expectError(() => writeBroden(set, images.slice(1)), ShapeError, /6 samples but 5 images/);
    });
  });

  describe('ADE20K scenes', () => {
    const files = SCENES.map((name) => {
      const parts = [];
      for (let n = 1; ; n++) {
        let b: Uint8Array;
        try {
          b = bytes(join(ADE, `${name}_parts_${n}.png`));
        } catch {
          break;
        }
        parts.push(decodeImage(b, `${name}_parts_${n}.png`));
      }
      return { name, image: () => decodeImage(bytes(join(ADE, `${name}.jpg`)), `${name}.jpg`), seg: decodeImage(bytes(join(ADE, `${name}_seg.png`)), `${name}_seg.png`), parts, json: bytes(join(ADE, `${name}.json`)) };
    });

    it('labels objects and parts with dense ids in first-seen order, named by the first synonym', () => {
      const set = adeConceptSet(files);
      checkConceptSet(set);
      expect(set.categories).to.deep.equal(['object', 'part']);
      expect(set.samples.map((s) => [s.name, s.maps.length])).to.deep.equal([['ADE_train_00016869.jpg', 3], ['ADE_train_00016900.jpg', 2], ['ADE_train_00016964.jpg', 2]]);
      // the concepts are the union, over the scenes, of the (category, full name)s that have pixels
      const want: string[] = [];
      files.forEach((f) => {
        const objects = JSON.parse(new TextDecoder().decode(f.json)).annotation.object as { name: string; name_ndx: number; parts: { part_level: number } }[];
        const onSeg = new Set<number>(), onParts = new Set<number>();
        for (let i = 0; i < f.seg.width * f.seg.height; i++) {
          onSeg.add(Math.floor(f.seg.data[4 * i]! / 10) * 256 + f.seg.data[4 * i + 1]!);
          for (const p of f.parts) onParts.add(Math.floor(p.data[4 * i]! / 10) * 256 + p.data[4 * i + 1]!);
        }
        for (const o of objects) {
          const key = `${o.parts.part_level ? 'part' : 'object'} ${o.name}`;
          if ((o.parts.part_level ? onParts : onSeg).has(o.name_ndx) && !want.includes(key)) want.push(key);
        }
      });
      expect(set.concepts.map((c) => `${c.category} ${c.name}`)).to.deep.equal(want.map((k) => k.replace(/^(\w+) ([^,]+).*$/, '$1 $2')));
      const car = set.concepts.find((c) => c.name === 'car' && c.category === 'object')!;
      expect(car).to.not.equal(undefined);
      expect(set.concepts.some((c) => c.name === 'window' && c.category === 'part')).to.equal(true);
      // the object map is the _seg.png's, relabelled: car's pixels are class 401's
      const seg = files[0]!.seg, map = set.samples[0]!.maps[0]!;
      let wrong = 0, cars = 0;
      for (let i = 0; i < map.length; i++) {
        const isCar = Math.floor(seg.data[4 * i]! / 10) * 256 + seg.data[4 * i + 1]! === 401;
        if ((map[i] === car.id) !== isCar) wrong++;
        if (isCar) cars++;
      }
      expect([wrong, cars > 0]).to.deep.equal([0, true]);
      expect(set.samples[0]!.height * set.samples[0]!.width).to.equal(seg.width * seg.height);
    });

    it('refuses a parts map that does not belong to the scene', () => {
      const f = files[1]!;
      const other = { ...f, parts: [solid(f.seg.width, f.seg.height, [0, 7, 0])] };
      expectError(() => adeConceptSet([other]), InputFormatError, /ADE_train_00016900_parts_1\.png: class 7 at row 0, column 0 is no part of ADE_train_00016900\.json/);
      expectError(() => adeConceptSet([{ ...f, parts: [solid(3, 3, [0, 0, 0])] }]), ShapeError, /ADE_train_00016900_parts_1\.png: 3×3/);
      expectError(() => adeConceptSet([]), ArgumentError, /no scenes/);
    });
  });
});
