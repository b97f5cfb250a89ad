// The colour names of any photos as a concept set (issue 16): every pixel gets the nearest of Broden's
// eleven colour terms in CIELAB, so network dissection can ask which units detect "red" on photos that
// carry no labels of their own.
//
// - Prototypes: each term's colour in the xkcd colour survey (R. Munroe, 2010: a web survey in which
//   several hundred thousand visitors named random colours; its rgb.txt gives one sRGB value per
//   common name, the table matplotlib ships as XKCD_COLORS). They stand for how people use the words:
//   its brown (101, 55, 0) keeps dark reds red, where the CSS
//   named colour brown (165, 42, 42) takes them. NetDissect's own table (src/colorname.py,
//   `color_values`) is only a display palette for van de Weijer's learned colour names. The synthetic
//   concept set (loaders/synthetic-concepts.ts) paints its shapes with these values.
// - sRGB → CIELAB, the standard formulas: 8-bit value v/255 → linear (IEC 61966-2-1: c ≤ 0.04045 ?
//   c/12.92 : ((c + 0.055)/1.055)^2.4) → XYZ by the sRGB matrix of the primaries and D65 (Lindbloom's
//   seven-digit matrix) → L*a*b* relative to the XYZ of sRGB white itself (D65: 0.95047, 1, 1.08883),
//   f(t) = t^(1/3) above (6/29)³ else t/(3·(6/29)²) + 4/29. White maps to L = 100, a = b = 0.
// - Distance: ΔE76 (Euclidean in L*a*b*); ties go to the earlier term of the table.
// - Each photo is first brought to size×size (the whole frame, no crop) by the antialiased bilinear
//   resize preprocessImage uses (PIL's BILINEAR: a triangle filter whose support widens with the
//   shrink factor, so a big shrink averages the area), on the 8-bit sRGB values, without rounding.
//   The labels then sit on the grid the model's input has when it is resized the same way. Alpha is
//   ignored.
import { ArgumentError } from '../engine/errors.ts';
import type { ConceptSet, Concept } from './concepts.ts';
import type { RGBAImage } from './image-formats.ts';
import { resizeAntialias } from './preprocess.ts';

export interface ColourPrototype {
  /** Broden's colour term */
  name: string;
  /** the prototype, 8-bit sRGB */
  rgb: [number, number, number];
}

/** Broden's eleven colour terms (Broden names them black-c, …; plain names here), alphabetical, with the xkcd colour survey's sRGB for each. */
export const COLOUR_PROTOTYPES: readonly ColourPrototype[] = [
  { name: 'black', rgb: [0x00, 0x00, 0x00] },
  { name: 'blue', rgb: [0x03, 0x43, 0xdf] },
  { name: 'brown', rgb: [0x65, 0x37, 0x00] },
  { name: 'green', rgb: [0x15, 0xb0, 0x1a] },
  { name: 'grey', rgb: [0x92, 0x95, 0x91] },
  { name: 'orange', rgb: [0xf9, 0x73, 0x06] },
  { name: 'pink', rgb: [0xff, 0x81, 0xc0] },
  { name: 'purple', rgb: [0x7e, 0x1e, 0x9c] },
  { name: 'red', rgb: [0xe5, 0x00, 0x00] },
  { name: 'white', rgb: [0xff, 0xff, 0xff] },
  { name: 'yellow', rgb: [0xff, 0xff, 0x14] },
];

// linear sRGB → XYZ (D65), rows X, Y, Z
const M = [
  [0.4124564, 0.3575761, 0.1804375],
  [0.2126729, 0.7151522, 0.072175],
  [0.0193339, 0.119192, 0.9503041],
] as const;
// the reference white: XYZ of sRGB (1, 1, 1), i.e. the matrix's row sums (D65)
const WHITE = M.map((r) => r[0] + r[1] + r[2]) as [number, number, number];

const linear = (v: number): number => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
};
const EPS = (6 / 29) ** 3;
const f = (t: number): number => (t > EPS ? Math.cbrt(t) : t / (3 * (6 / 29) ** 2) + 4 / 29);

/** CIELAB (D65) of an sRGB colour given as 0–255 values (not necessarily integers): [L*, a*, b*]. */
export function rgbToLab(r: number, g: number, b: number): [number, number, number] {
  const lr = linear(r), lg = linear(g), lb = linear(b);
  const fx = f((M[0][0] * lr + M[0][1] * lg + M[0][2] * lb) / WHITE[0]);
  const fy = f((M[1][0] * lr + M[1][1] * lg + M[1][2] * lb) / WHITE[1]);
  const fz = f((M[2][0] * lr + M[2][1] * lg + M[2][2] * lb) / WHITE[2]);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

const PROTOTYPE_LAB = COLOUR_PROTOTYPES.map((p) => rgbToLab(...p.rgb));

/** The index into COLOUR_PROTOTYPES of the colour nearest to (r, g, b) in CIELAB (ΔE76; the first on ties). */
export function nearestColour(r: number, g: number, b: number): number {
  const [l, a, bb] = rgbToLab(r, g, b);
  let best = 0, bestD = Infinity;
  PROTOTYPE_LAB.forEach(([pl, pa, pb], i) => {
    const d = (l - pl) ** 2 + (a - pa) ** 2 + (bb - pb) ** 2;
    if (d < bestD) (best = i), (bestD = d);
  });
  return best;
}

/** The colour concepts: id i + 1 is COLOUR_PROTOTYPES[i], category "color" (Broden's spelling). */
export const COLOUR_CONCEPTS: readonly Concept[] = COLOUR_PROTOTYPES.map((p, i) => ({ id: i + 1, name: p.name, category: 'color' }));

/** A photo's colour-name map at size×size: concept id (1 + index into COLOUR_PROTOTYPES) per pixel, row-major. */
export function colourMap(img: RGBAImage, size: number): Uint16Array {
  const n = img.width * img.height;
  const planes = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) planes[c * n + i] = img.data[4 * i + c]!;
  const small = resizeAntialias(planes, 3, img.height, img.width, size, size);
  const m = size * size;
  const map = new Uint16Array(m);
  // the resize's overshoot is tiny (a triangle filter has no negative lobes), but clamp to the gamut
  const v = (x: number) => Math.min(255, Math.max(0, x));
  for (let i = 0; i < m; i++) map[i] = 1 + nearestColour(v(small[i]!), v(small[m + i]!), v(small[2 * m + i]!));
  return map;
}

/**
 * The colour names of `images` as a concept set: one label map per image, size×size, each pixel the
 * nearest of the eleven colour terms (see the header). The images are decoded once here, for their
 * maps, and again when a sample's `image` is called.
 */
export function colourConcepts(images: { name: string; image: () => RGBAImage }[], size: number): ConceptSet {
  if (!(Number.isInteger(size) && size >= 1 && size <= 4096)) throw new ArgumentError(`colour concepts: the label size must be a whole number of pixels in 1..4096, got ${size}`);
  if (!images.length) throw new ArgumentError('colour concepts: no images');
  return {
    source: `colour names of ${images.length} photo${images.length === 1 ? '' : 's'}`,
    concepts: COLOUR_CONCEPTS.map((c) => ({ ...c })),
    categories: ['color'],
    samples: images.map(({ name, image }) => ({ name, image, height: size, width: size, maps: [colourMap(image(), size)], whole: [] })),
  };
}
