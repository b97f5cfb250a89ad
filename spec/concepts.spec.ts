// Concept data sets for network dissection and Net2Vec (issue 16), host only: the colour names
// (sRGB → CIELAB, nearest prototype) and the seeded synthetic shapes.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArgumentError, InputFormatError, LoupeError, ShapeError } from '../engine/errors.ts';
import { checkConceptSet, type ConceptSet } from '../loaders/concepts.ts';
import { COLOUR_PROTOTYPES, colourConcepts, colourMap, nearestColour, rgbToLab } from '../loaders/colour-concepts.ts';
import { SYNTHETIC_BACKGROUND, SYNTHETIC_CONCEPTS, SYNTHETIC_PALETTE, SYNTHETIC_TEXTURE_LEVEL, syntheticConcepts } from '../loaders/synthetic-concepts.ts';
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

});
