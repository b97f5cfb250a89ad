import { expect } from 'chai';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  diverging, bwr, sequential, inferno, turbo, jet, luminance, renderSigned, renderSequential, overlay, topMask,
  renderMask, tensorToImage, montage, drawText, measureText, wrapText, truncateText, colorbar, createImage,
  resizeImage, toGrey, formatNumber, type RGB,
} from '../render/render.ts';
import { glyphRows, glyphPixel, hasGlyph, GLYPH_HEIGHT, GLYPH_WIDTH, ADVANCE, LINE_HEIGHT } from '../render/font.ts';
import { writeOutputs, writePng, writeNpy, writeSidecar, OutputError } from '../cli/output.ts';
import { decodeImage, type RGBAImage } from '../loaders/image.ts';
import { readNpy } from '../loaders/npy.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { ShapeError } from '../engine/errors.ts';

const px = (img: RGBAImage, x: number, y: number): number[] => Array.from(img.data.subarray(4 * (y * img.width + x), 4 * (y * img.width + x) + 4));
const rgb = (img: RGBAImage, i: number): number[] => Array.from(img.data.subarray(4 * i, 4 * i + 3));

/** An image from a function of (x, y) giving RGB (alpha 255). */
function makeImage(w: number, h: number, f: (x: number, y: number) => RGB): RGBAImage {
  const img = createImage(w, h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img.data.set(f(x, y), 4 * (y * w + x));
  return img;
}

/** Deterministic shuffle (LCG) so tests do not depend on Math.random. */
function shuffled(n: number, seed = 12345): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  let s = seed;
  for (let i = n - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

describe('render: colour maps', () => {
  it('diverging: 0 is white, +1 red-ish, -1 blue-ish, clamped and NaN-safe', () => {
    expect(diverging(0)).to.deep.equal([255, 255, 255]);
    const [r1, g1, b1] = diverging(1);
    expect(r1).to.be.greaterThan(g1 + 50).and.greaterThan(b1 + 50);
    const [r2, g2, b2] = diverging(-1);
    expect(b2).to.be.greaterThan(r2 + 50).and.greaterThan(g2 + 40);
    expect(diverging(5)).to.deep.equal(diverging(1));
    expect(diverging(-5)).to.deep.equal(diverging(-1));
    expect(diverging(NaN)).to.deep.equal([255, 255, 255]);
    expect(bwr(0)).to.deep.equal([255, 255, 255]);
    expect(bwr(1)).to.deep.equal([255, 0, 0]);
    expect(bwr(-1)).to.deep.equal([0, 0, 255]);
    expect(bwr(0.5)).to.deep.equal([255, 128, 128]);
  });

  it('diverging darkens monotonically away from 0 on both sides', () => {
    let prevPos = luminance(diverging(0));
    let prevNeg = prevPos;
    for (let i = 1; i <= 100; i++) {
      const lp = luminance(diverging(i / 100));
      const ln = luminance(diverging(-i / 100));
      expect(lp).to.be.at.most(prevPos + 1e-9);
      expect(ln).to.be.at.most(prevNeg + 1e-9);
      prevPos = lp;
      prevNeg = ln;
    }
  });

  it('inferno is monotone in luminance from black-ish to pale yellow, and matches matplotlib', () => {
    let prev = -1;
    for (let i = 0; i <= 1000; i++) {
      const l = luminance(sequential(i / 1000));
      expect(l, `at ${i / 1000}`).to.be.at.least(prev);
      prev = l;
    }
    expect(inferno(0)).to.deep.equal([0, 0, 4]); // matplotlib inferno(0) = (0.001462, 0.000466, 0.013866)
    expect(inferno(1)).to.deep.equal([252, 255, 164]); // (0.988362, 0.998364, 0.644924)
    expect(inferno(0.5)).to.deep.equal([188, 55, 84]); // entry 128 = (0.735683, 0.215906, 0.330245)
    expect(sequential(0.3, 'inferno')).to.deep.equal(inferno(0.3));
  });

  it('turbo and jet run from blue to red', () => {
    for (const f of [turbo, jet]) {
      const lo = f(0);
      const hi = f(1);
      expect(lo[2]).to.be.greaterThan(lo[0]);
      expect(hi[0]).to.be.greaterThan(hi[2]);
    }
    expect(turbo(0)).to.deep.equal([48, 18, 59]);
    expect(turbo(1)).to.deep.equal([122, 4, 3]);
    expect(jet(0.5)).to.deep.equal([128, 255, 128]);
    expect(sequential(0.2, 'turbo')).to.deep.equal(turbo(0.2));
    expect(() => sequential(0.2, 'nope' as 'jet')).to.throw(ShapeError);
  });
});

describe('render: maps to images', () => {
  it('renderSigned scales symmetrically by max |v| by default', () => {
    const img = renderSigned(new Float32Array([-1, 0, 4, 2, -4, 0.5]), 2, 3);
    expect(img.width).to.equal(3);
    expect(img.height).to.equal(2);
    expect(rgb(img, 0)).to.deep.equal(diverging(-0.25));
    expect(rgb(img, 1)).to.deep.equal([255, 255, 255]);
    expect(rgb(img, 2)).to.deep.equal(diverging(1));
    expect(rgb(img, 3)).to.deep.equal(diverging(0.5));
    expect(rgb(img, 4)).to.deep.equal(diverging(-1));
    expect(rgb(img, 5)).to.deep.equal(diverging(0.125));
    for (let i = 0; i < 6; i++) expect(img.data[4 * i + 3]).to.equal(255);
    // Negating the map mirrors the colours: v and -v use the same scale.
    const neg = renderSigned(new Float32Array([1, 0, -4, -2, 4, -0.5]), 2, 3);
    expect(rgb(neg, 0)).to.deep.equal(diverging(0.25));
    expect(rgb(neg, 4)).to.deep.equal(diverging(1));
  });

  it('renderSigned with an explicit scale clamps beyond it; an all-zero map is white', () => {
    const img = renderSigned(new Float32Array([1, 3, -3, NaN]), 1, 4, { scale: 2 });
    expect(rgb(img, 0)).to.deep.equal(diverging(0.5));
    expect(rgb(img, 1)).to.deep.equal(diverging(1));
    expect(rgb(img, 2)).to.deep.equal(diverging(-1));
    expect(rgb(img, 3)).to.deep.equal([255, 255, 255]);
    const zero = renderSigned(new Float32Array(6), 2, 3);
    for (let i = 0; i < 6; i++) expect(rgb(zero, i)).to.deep.equal([255, 255, 255]);
    const t = renderSigned(new Float32Array([-2, 1, 0]), 1, 3, { transparent: true, colormap: 'bwr' });
    expect([t.data[3], t.data[7], t.data[11]]).to.deep.equal([255, 128, 0]);
    expect(rgb(t, 0)).to.deep.equal([0, 0, 255]);
    expect(() => renderSigned(new Float32Array(5), 2, 3)).to.throw(ShapeError, /6 values/);
  });

  it('renderSequential normalises min..max (or the given range)', () => {
    const img = renderSequential(new Float32Array([2, 4, 6]), 1, 3);
    expect(rgb(img, 0)).to.deep.equal(inferno(0));
    expect(rgb(img, 1)).to.deep.equal(inferno(0.5));
    expect(rgb(img, 2)).to.deep.equal(inferno(1));
    const fixed = renderSequential(new Float32Array([0, 5, 20]), 1, 3, { min: 0, max: 10, colormap: 'jet' });
    expect(rgb(fixed, 1)).to.deep.equal(jet(0.5));
    expect(rgb(fixed, 2)).to.deep.equal(jet(1));
    const flat = renderSequential(new Float32Array([3, 3]), 1, 2);
    expect(rgb(flat, 0)).to.deep.equal(inferno(0));
    const t = renderSequential(new Float32Array([0, 1]), 1, 2, { transparent: true });
    expect([t.data[3], t.data[7]]).to.deep.equal([0, 255]);
  });
});

describe('render: overlay, masks, tensors', () => {
  const base = makeImage(2, 2, (x, y) => [100 * x, 100 * y, 200]);

  it('overlay blends with alpha and keeps the base size', () => {
    const heat = makeImage(2, 2, () => [255, 0, 0]);
    const o = overlay(base, heat, 0.25);
    expect([o.width, o.height]).to.deep.equal([2, 2]);
    expect(px(o, 1, 0)).to.deep.equal([Math.round(100 * 0.75 + 255 * 0.25), 0, 150, 255]);
    expect(px(o, 0, 1)).to.deep.equal([64, 75, 150, 255]);
    expect(px(overlay(base, heat, 0), 1, 1)).to.deep.equal(px(base, 1, 1));
    expect(px(overlay(base, heat, 1), 1, 1)).to.deep.equal([255, 0, 0, 255]);
    expect(() => overlay(base, heat, 1.5)).to.throw(ShapeError);
  });

  it('overlay resizes a heatmap of another size bilinearly', () => {
    const big = makeImage(6, 4, () => [10, 20, 30]);
    const heat = makeImage(2, 1, (x) => (x === 0 ? [0, 0, 0] : [200, 200, 200]));
    const o = overlay(big, heat, 0.5);
    expect([o.width, o.height]).to.deep.equal([6, 4]);
    // columns 0 and 5 are the heat's two pixels (edge-clamped); column 2 interpolates (x = 2.5/3 - 0.5 → 1/3).
    expect(px(o, 0, 2).slice(0, 3)).to.deep.equal([5, 10, 15]);
    expect(px(o, 5, 2).slice(0, 3)).to.deep.equal([105, 110, 115]);
    const h2 = Math.round(200 * (2.5 / 3 - 0.5));
    expect(px(o, 2, 0)[0]).to.be.closeTo(Math.round(10 * 0.5 + h2 * 0.5), 1);
  });

  it('overlay greyBase and alphaFromMagnitude', () => {
    const white = makeImage(2, 2, () => [255, 255, 255]);
    const red = makeImage(2, 2, () => [255, 0, 0]);
    // white heat = zero relevance → fully transparent
    expect(overlay(base, white, 0.8, { alphaFromMagnitude: true }).data).to.deep.equal(base.data);
    // full red → alpha 0.8
    expect(px(overlay(base, red, 0.8, { alphaFromMagnitude: true }), 0, 0)).to.deep.equal([204, 0, 40, 255]);
    // a half-strength bwr colour → alpha 0.8 · 0.5
    const half = makeImage(2, 2, () => bwr(0.5));
    expect(px(overlay(base, half, 0.8, { alphaFromMagnitude: true }), 0, 0)[2]).to.equal(Math.round(200 * 0.6 + 128 * 0.4));
    // grey base: luma of the base, no colour left where the heat is transparent
    const g = overlay(base, white, 0.5, { greyBase: true, alphaFromMagnitude: true });
    const l = Math.round(0.299 * 100 + 0.587 * 100 + 0.114 * 200);
    expect(px(g, 1, 1)).to.deep.equal([l, l, l, 255]);
    expect(px(toGrey(base), 1, 1)).to.deep.equal([l, l, l, 255]);
    // the heat's own alpha channel is respected
    const clear = renderSequential(new Float32Array([0, 0, 0, 0]), 2, 2, { transparent: true });
    expect(overlay(base, clear, 1).data).to.deep.equal(base.data);
  });

  it('topMask keeps exactly ceil(fraction · n) of the largest |values|', () => {
    for (const n of [1000, 37, 224 * 224, 100]) {
      const perm = shuffled(n);
      const map = new Float32Array(n);
      for (let i = 0; i < n; i++) map[i] = (perm[i] + 1) * (i % 2 ? -1 : 1); // distinct |v| = 1..n, signs mixed
      for (const f of [0.05, 0.01, 0.07, 0.5, 1]) {
        const k = Math.ceil(Math.round(f * n * 1e6) / 1e6);
        const mask = topMask(map, f);
        expect(mask.length).to.equal(n);
        const count = mask.reduce((a, b) => a + b, 0);
        expect(count, `n=${n} f=${f}`).to.equal(k);
        for (let i = 0; i < n; i++) expect(mask[i] === 1, `i=${i}`).to.equal(Math.abs(map[i]) > n - k);
      }
    }
    expect(topMask(new Float32Array(1000)).reduce((a, b) => a + b, 0)).to.equal(50); // default 5%, ties by position
    expect(topMask(new Float32Array(10), 0).reduce((a, b) => a + b, 0)).to.equal(0);
    expect(() => topMask(new Float32Array(10), 1.5)).to.throw(ShapeError);
  });

  it('renderMask shows the base inside the mask and dark grey outside', () => {
    const m = renderMask(base, new Uint8Array([1, 0, 0, 1]));
    expect(px(m, 0, 0)).to.deep.equal(px(base, 0, 0));
    expect(px(m, 1, 1)).to.deep.equal(px(base, 1, 1));
    const l = 0.299 * 100 + 0.114 * 200;
    expect(px(m, 1, 0)).to.deep.equal([Math.round(l * 0.2), Math.round(l * 0.2), Math.round(l * 0.2), 255]);
    const black = renderMask(base, new Uint8Array(4), { dim: 0 });
    expect(px(black, 1, 1)).to.deep.equal([0, 0, 0, 255]);
    // a smaller mask is scaled up by nearest neighbour
    const big = makeImage(4, 4, () => [50, 60, 70]);
    const up = renderMask(big, new Uint8Array([1, 0, 0, 0]), { maskWidth: 2, maskHeight: 2, dim: 0 });
    expect(px(up, 1, 1)).to.deep.equal([50, 60, 70, 255]);
    expect(px(up, 2, 1)).to.deep.equal([0, 0, 0, 255]);
  });

  it('tensorToImage undoes preprocessing (mean, scale, BGR) and handles grey and normalise', () => {
    const img = makeImage(5, 4, (x, y) => [40 * x, 50 * y, 255 - 30 * x]);
    const mean = [103.939, 116.779, 123.68];
    const x = preprocessImage(img, { channels: 3, mean, scale: 0.017, bgr: true });
    const back = tensorToImage(x, 3, 4, 5, { mean, scale: 0.017, bgr: true });
    expect(Array.from(back.data)).to.deep.equal(Array.from(img.data));
    const wrongOrder = tensorToImage(x, 3, 4, 5, { mean, scale: 0.017 });
    expect(Array.from(wrongOrder.data)).to.not.deep.equal(Array.from(img.data));
    const grey = tensorToImage(new Float32Array([0, 0.5, 1, 2]), 1, 2, 2, { scale: 1 / 255 });
    expect(px(grey, 1, 0)).to.deep.equal([128, 128, 128, 255]);
    expect(px(grey, 1, 1)).to.deep.equal([255, 255, 255, 255]); // clamped
    const norm = tensorToImage(new Float32Array([-3, -1, 1, 5]), 1, 2, 2, { normalise: true });
    expect([norm.data[0], norm.data[4], norm.data[8], norm.data[12]]).to.deep.equal([0, 64, 128, 255]);
    expect(() => tensorToImage(new Float32Array(8), 2, 2, 2)).to.throw(ShapeError);
    expect(() => tensorToImage(new Float32Array(8), 3, 2, 2)).to.throw(ShapeError);
  });

  it('resizeImage: nearest keeps pixels, area averages when shrinking', () => {
    const checker = makeImage(4, 4, (x, y) => ((x + y) % 2 ? [255, 255, 255] : [0, 0, 0]));
    const up = resizeImage(checker, 8, 8, 'nearest');
    expect(px(up, 0, 0)).to.deep.equal([0, 0, 0, 255]);
    expect(px(up, 2, 0)).to.deep.equal([255, 255, 255, 255]);
    const down = resizeImage(checker, 2, 2, 'area');
    expect(px(down, 0, 0)[0]).to.be.closeTo(128, 10); // a grey, not a checker pixel
  });
});

describe('render: text and font', () => {
  it('covers every printable ASCII character with a non-empty glyph (space blank), others draw as ?', () => {
    const seen = new Set<string>();
    for (let c = 33; c <= 126; c++) {
      const ch = String.fromCharCode(c);
      const rows = glyphRows(ch);
      expect(rows.length).to.equal(GLYPH_HEIGHT);
      expect(rows.some((r) => r !== 0), `glyph for ${JSON.stringify(ch)}`).to.equal(true);
      expect(hasGlyph(ch)).to.equal(true);
      seen.add(Array.from(rows).join(','));
    }
    expect(seen.size, 'all glyphs distinct').to.equal(94);
    expect(glyphRows(' ').every((r) => r === 0)).to.equal(true);
    for (const odd of ['é', '\u00a0', '\t', '漢', '\u007f']) {
      expect(hasGlyph(odd)).to.equal(false);
      expect(Array.from(glyphRows(odd))).to.deep.equal(Array.from(glyphRows('?')));
    }
    expect(hasGlyph('\u2026')).to.equal(true);
    // descenders really descend, capitals stay above the baseline
    for (const ch of 'gjpqy') expect(glyphPixel(ch, 0, 7) || glyphPixel(ch, 1, 8) || glyphPixel(ch, 4, 7) || glyphPixel(ch, 4, 8), ch).to.equal(true);
    for (let c = 65; c <= 90; c++) expect(glyphRows(String.fromCharCode(c))[7] | glyphRows(String.fromCharCode(c))[8]).to.equal(0);
  });

  it('drawText draws the glyph bits at the given scale and measures itself', () => {
    const img = createImage(40, 30);
    const size = drawText(img, 2, 3, 'T', { color: [255, 0, 0], scale: 2 });
    expect(size).to.deep.equal({ width: GLYPH_WIDTH * 2, height: GLYPH_HEIGHT * 2 });
    for (let y = 0; y < GLYPH_HEIGHT; y++) {
      for (let x = 0; x < GLYPH_WIDTH; x++) {
        const want = glyphPixel('T', x, y) ? [255, 0, 0, 255] : [255, 255, 255, 255];
        expect(px(img, 2 + 2 * x + 1, 3 + 2 * y + 1)).to.deep.equal(want);
      }
    }
    expect(measureText('ab\ncde', 3)).to.deep.equal({ width: (3 * ADVANCE - 1) * 3, height: (LINE_HEIGHT + GLYPH_HEIGHT) * 3 });
    const a = createImage(20, 12);
    const b = createImage(20, 12);
    drawText(a, 1, 1, 'é');
    drawText(b, 1, 1, '?');
    expect(a.data).to.deep.equal(b.data);
    // clipped, never throws
    drawText(createImage(3, 3), -5, -5, 'Hello', { scale: 4 });
  });

  it('wraps and truncates captions with an ellipsis', () => {
    const w = 10 * ADVANCE - 1; // exactly 10 characters
    expect(wrapText('short', w)).to.deep.equal(['short']);
    expect(wrapText('bull mastiff (243) p=0.107', w)).to.deep.equal(['bull', 'mastiff (…']);
    expect(wrapText('bull mastiff (243) p=0.107', w, 1, 3)).to.deep.equal(['bull', 'mastiff', '(243) p=0…']);
    expect(wrapText('abcdefghijklmnop', w)).to.deep.equal(['abcdefghij', 'klmnop']);
    expect(truncateText('abcdefghijklmnop', w)).to.equal('abcdefghi…');
    expect(truncateText('abcdefghij', w)).to.equal('abcdefghij');
    for (const l of wrapText('a long caption that wraps over lines', w)) expect(measureText(l).width).to.be.at.most(w);
  });

  it('formats legend numbers compactly', () => {
    expect(formatNumber(0)).to.equal('0');
    expect(formatNumber(0.123456)).to.equal('0.123');
    expect(formatNumber(-1234.5)).to.equal('-1230');
    expect(formatNumber(2.5e7)).to.equal('2.5e7');
    expect(formatNumber(1.5e-6)).to.equal('1.5e-6');
  });
});

describe('render: montage and colour bar', () => {
  const cell = (v: number, w = 10, h = 10): RGBAImage => makeImage(w, h, () => [v, v, v]);

  it('has the dimensions of its layout', () => {
    const cells = [0, 50, 100, 150, 200].map((v) => ({ image: cell(v) }));
    const m = montage(cells, { columns: 3, cellSize: 20, padding: 4 });
    expect([m.width, m.height]).to.deep.equal([4 + 3 * 20 + 2 * 4 + 4, 4 + 2 * 20 + 4 + 4]);
    // the 10x10 cell is scaled up ×2 by nearest neighbour into the first 20x20 cell
    expect(px(m, 4, 4)).to.deep.equal([0, 0, 0, 255]);
    expect(px(m, 23, 23)).to.deep.equal([0, 0, 0, 255]);
    expect(px(m, 24, 4)).to.deep.equal([255, 255, 255, 255]); // padding
    expect(px(m, 28, 4)).to.deep.equal([50, 50, 50, 255]);
    // the empty 6th slot is background
    expect(px(m, 4 + 2 * 24 + 5, 4 + 24 + 5)).to.deep.equal([255, 255, 255, 255]);

    // one-line captions add gap + glyph height per row; a title adds its lines plus padding
    const withCaps = montage(cells.map((c) => ({ ...c, caption: 'ab' })), { columns: 3, cellSize: 20, padding: 4 });
    const capH = 3 + GLYPH_HEIGHT;
    expect(withCaps.height).to.equal(m.height + 2 * capH);
    const titled = montage(cells, { columns: 3, cellSize: 20, padding: 4, title: 'T', titleScale: 2 });
    expect(titled.height).to.equal(m.height + 2 * GLYPH_HEIGHT + 4);
    const labelled = montage(cells, { columns: 3, cellSize: 20, padding: 4, rowLabels: ['abc', 'a'] });
    expect(labelled.width).to.equal(m.width + 3 * ADVANCE - 1 + 4);
    // an optional frame goes just outside the image, in the padding
    const framed = montage(cells, { columns: 3, cellSize: 20, padding: 4, border: [9, 9, 9] });
    expect(px(framed, 3, 3)).to.deep.equal([9, 9, 9, 255]);
    expect(px(framed, 24, 10)).to.deep.equal([9, 9, 9, 255]);
    expect(px(framed, 4, 4)).to.deep.equal([0, 0, 0, 255]);
    // non-square images keep their aspect ratio, centred
    const wide = montage([{ image: cell(0, 20, 10) }], { columns: 1, cellSize: 20, padding: 0 });
    expect([wide.width, wide.height]).to.deep.equal([20, 20]);
    expect(px(wide, 10, 2)).to.deep.equal([255, 255, 255, 255]);
    expect(px(wide, 10, 10)).to.deep.equal([0, 0, 0, 255]);
  });

  it('captions change the pixels under their cell only', () => {
    const cells = [{ image: cell(0), caption: 'cat' }, { image: cell(0), caption: 'x' }];
    const a = montage(cells, { columns: 2, cellSize: 40, padding: 4, captionLines: 1 });
    const b = montage([cells[0], { image: cell(0), caption: 'dog (243) p=0.107' }], { columns: 2, cellSize: 40, padding: 4, captionLines: 1 });
    expect([a.width, a.height]).to.deep.equal([b.width, b.height]);
    const diff = (x0: number, x1: number, y0: number, y1: number) => {
      let n = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (px(a, x, y).join() !== px(b, x, y).join()) n++;
      return n;
    };
    const capTop = 4 + 40;
    expect(diff(0, a.width, 0, capTop)).to.equal(0); // cells unchanged
    expect(diff(0, 4 + 40, capTop, a.height)).to.equal(0); // first caption unchanged
    expect(diff(4 + 40 + 4, a.width, capTop, a.height)).to.be.greaterThan(20); // second caption changed
    // and a caption puts dark ink on the white background under the cell
    let ink = 0;
    for (let y = capTop; y < a.height; y++) for (let x = 4; x < 44; x++) if (px(a, x, y)[0] < 100) ink++;
    expect(ink).to.be.greaterThan(10);
  });

  it('uses readable text on dark backgrounds and validates its options', () => {
    const m = montage([{ image: cell(0), caption: 'HI' }], { columns: 1, cellSize: 20, padding: 4, background: [0, 0, 0] });
    let bright = 0;
    for (let i = 0; i < m.data.length; i += 4) if (m.data[i] > 200) bright++;
    expect(bright).to.be.greaterThan(10);
    expect(() => montage([], { columns: 2 })).to.throw(ShapeError);
    expect(() => montage([{ image: cell(0) }], { columns: 0 })).to.throw(ShapeError);
  });

  it('colorbar draws the map with its end labels', () => {
    const bar = colorbar({ min: -0.5, max: 0.5, width: 100, height: 10 });
    expect(bar.width).to.be.at.least(100);
    const ox = (bar.width - 100) / 2;
    const mid = px(bar, Math.floor(ox + 50), 5);
    expect(mid[0]).to.be.greaterThan(240);
    expect(mid[2]).to.be.greaterThan(240);
    const left = px(bar, Math.ceil(ox + 1), 5);
    expect(left[2]).to.be.greaterThan(left[0]);
    const seq = colorbar({ colormap: 'inferno', width: 64 });
    expect(seq.height).to.be.greaterThan(12 + GLYPH_HEIGHT);
  });
});

describe('output writers', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'loupe-render-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const img = makeImage(3, 2, (x, y) => [10 * x, 20 * y, 30]);

  it('writeOutputs writes PREFIX.png/.npy/.json (creating folders) and leaves no temp files', () => {
    const data = new Float32Array([1, -2, 3.5, 4, 5, 6]);
    const prefix = join(dir, 'sub', 'deeper', 'cat_gradcam');
    const written = writeOutputs(prefix, { png: img, npy: { shape: [2, 3], data }, meta: { method: 'gradcam', class: 281, scores: new Float32Array([0.5, 0.25]), bad: NaN } });
    expect(written).to.deep.equal([`${prefix}.png`, `${prefix}.npy`, `${prefix}.json`]);
    expect(readdirSync(join(dir, 'sub', 'deeper')).sort()).to.deep.equal(['cat_gradcam.json', 'cat_gradcam.npy', 'cat_gradcam.png']);
    const png = decodeImage(new Uint8Array(readFileSync(`${prefix}.png`)), 'x.png');
    expect(png.width).to.equal(3);
    expect(Array.from(png.data)).to.deep.equal(Array.from(img.data));
    const npy = readNpy(new Uint8Array(readFileSync(`${prefix}.npy`)), 'x.npy');
    expect(npy.shape).to.deep.equal([2, 3]);
    expect(Array.from(npy.data)).to.deep.equal(Array.from(data));
    expect(JSON.parse(readFileSync(`${prefix}.json`, 'utf8'))).to.deep.equal({ method: 'gradcam', class: 281, scores: [0.5, 0.25], bad: null });
    // overwriting works and still leaves exactly the three files
    writeOutputs(prefix, { png: img, npy: { shape: [6], data }, meta: { again: true } });
    expect(readdirSync(join(dir, 'sub', 'deeper')).sort()).to.deep.equal(['cat_gradcam.json', 'cat_gradcam.npy', 'cat_gradcam.png']);
    expect(JSON.parse(readFileSync(`${prefix}.json`, 'utf8'))).to.deep.equal({ again: true });
    // only the parts given
    writeOutputs(join(dir, 'meta_only'), { meta: {} });
    expect(existsSync(join(dir, 'meta_only.json'))).to.equal(true);
    expect(existsSync(join(dir, 'meta_only.png'))).to.equal(false);
  });

  it('fails cleanly on an unwritable path, naming it, without partial files', () => {
    writeFileSync(join(dir, 'afile'), 'x');
    const prefix = join(dir, 'afile', 'out');
    expect(() => writeOutputs(prefix, { png: img, meta: { a: 1 } })).to.throw(OutputError, new RegExp(`${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.png`));
    expect(readdirSync(dir)).to.deep.equal(['afile']);
    expect(() => writePng(join(dir, 'afile', 'x.png'), img)).to.throw(OutputError, /afile/);
    expect(() => writeSidecar(join(dir, 'afile', 'x.json'), {})).to.throw(OutputError, /x\.json/);
    // a folder where the JSON should go: nothing is committed, no temp files remain
    mkdirSync(join(dir, 'res.json'));
    expect(() => writeOutputs(join(dir, 'res'), { png: img, meta: {} })).to.throw(OutputError, /res\.json/);
    expect(readdirSync(dir).sort()).to.deep.equal(['afile', 'res.json']);
    // bad data fails before anything is written
    expect(() => writeOutputs(join(dir, 'bad'), { npy: { shape: [4], data: new Float32Array(3) }, meta: {} })).to.throw(ShapeError);
    expect(readdirSync(dir).sort()).to.deep.equal(['afile', 'res.json']);
  });

  it('writePng / writeNpy / writeSidecar write single files', () => {
    writePng(join(dir, 'a.png'), img);
    writeNpy(join(dir, 'b.npy'), [3], new Int32Array([1, 2, 3]));
    writeSidecar(join(dir, 'c.json'), { x: [1, 2] });
    expect(readdirSync(dir).sort()).to.deep.equal(['a.png', 'b.npy', 'c.json']);
    expect(Array.from(readNpy(new Uint8Array(readFileSync(join(dir, 'b.npy'))), 'b').data)).to.deep.equal([1, 2, 3]);
  });
});
