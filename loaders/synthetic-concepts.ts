// A seeded synthetic concept set (issue 16): flat shapes on grey, with exact labels, so network
// dissection and Net2Vec can be tested against units planted to detect a known concept.
//
// Image i of a set is drawn from mulberry32(seed mixed with i) alone, so it is the same whatever
// `count` is. Each image, size×size:
// - background: mid-grey SYNTHETIC_BACKGROUND (128, 128, 128), whose colour name is grey;
// - 1–3 shapes ("object": square, circle, triangle), none overlapping another, together covering
//   10–40 % of the image; each filled with one flat colour of SYNTHETIC_PALETTE (the colour terms'
//   prototype sRGB values of loaders/colour-concepts.ts, grey excepted: it is the background), so
//   every shape pixel is exactly a prototype. Pixel (x, y) belongs to a shape when its centre
//   (x + ½, y + ½) is inside it: no anti-aliasing, the masks are exact;
// - an image-level "texture" (plain / striped / dotted), drawn only on the background as a faint
//   lighter pattern (SYNTHETIC_TEXTURE_LEVEL), so shapes stay exact prototypes.
// Labels: maps[0] is the "color" map (each shape pixel its colour's concept; the background carries
// no colour concept), maps[1] the "object" map; `whole` holds the texture. Concept ids: the ten
// palette colours 1–10 in palette order, then square, circle, triangle, then plain, striped, dotted.
import { ArgumentError } from '../engine/errors.ts';
import { mulberry32 } from '../engine/train.ts';
import { COLOUR_PROTOTYPES } from './colour-concepts.ts';
import type { Concept, ConceptSet } from './concepts.ts';
import type { RGBAImage } from './image-formats.ts';

/** The shapes' colours: the colour terms' prototypes without grey (the background). */
export const SYNTHETIC_PALETTE: { name: string; rgb: [number, number, number] }[] = COLOUR_PROTOTYPES.filter((p) => p.name !== 'grey').map((p) => ({ name: p.name, rgb: [...p.rgb] }));
/** The background colour, sRGB. */
export const SYNTHETIC_BACKGROUND: [number, number, number] = [128, 128, 128];
/** The grey level of a texture's stripes and dots (the background is 128). */
export const SYNTHETIC_TEXTURE_LEVEL = 152;
export const SYNTHETIC_SHAPES = ['square', 'circle', 'triangle'] as const;
export const SYNTHETIC_TEXTURES = ['plain', 'striped', 'dotted'] as const;
export type SyntheticShape = (typeof SYNTHETIC_SHAPES)[number];
export type SyntheticTexture = (typeof SYNTHETIC_TEXTURES)[number];

/** The concepts of every synthetic set, in id order. */
export const SYNTHETIC_CONCEPTS: readonly Concept[] = [
  ...SYNTHETIC_PALETTE.map((p) => ({ name: p.name, category: 'color' })),
  ...SYNTHETIC_SHAPES.map((name) => ({ name, category: 'object' })),
  ...SYNTHETIC_TEXTURES.map((name) => ({ name, category: 'texture' })),
].map((c, i) => ({ id: i + 1, ...c }));
const SHAPE_ID = SYNTHETIC_PALETTE.length + 1;
const TEXTURE_ID = SHAPE_ID + SYNTHETIC_SHAPES.length;

/** A shape as drawn: its bounding box's top-left corner and side (pixels, not rounded). */
export interface SyntheticShapeLayout {
  shape: SyntheticShape;
  /** index into SYNTHETIC_PALETTE */
  colour: number;
  x: number;
  y: number;
  side: number;
}

export interface SyntheticOptions {
  count: number;
  size: number;
  seed: number;
}

/**
 * Pixel centre (px, py) inside the shape: a square [x, x+side)²; a circle inscribed in the box
 * (distance to the centre ≤ side/2); an upright isosceles triangle with its apex at the middle of
 * the box's top edge and its base the box's bottom edge (half-width at depth d is d/2).
 */
function inside(s: SyntheticShapeLayout, px: number, py: number): boolean {
  const { x, y, side } = s;
  if (s.shape === 'square') return px >= x && px < x + side && py >= y && py < y + side;
  if (s.shape === 'circle') return (px - x - side / 2) ** 2 + (py - y - side / 2) ** 2 <= (side / 2) ** 2;
  return py >= y && py < y + side && Math.abs(px - x - side / 2) <= (py - y) / 2;
}

/** A shape's bounding-box side for an area: a², π(a/2)², a²/2. */
const sideFor = (shape: SyntheticShape, area: number) => (shape === 'square' ? Math.sqrt(area) : shape === 'circle' ? 2 * Math.sqrt(area / Math.PI) : Math.sqrt(2 * area));

/** Draws one image's layout: the texture and the shapes with their owner mask (shape index + 1 per pixel, 0 = background). */
function layout(size: number, rand: () => number): { texture: SyntheticTexture; shapes: SyntheticShapeLayout[]; owner: Uint8Array } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  for (;;) {
    const texture = pick(SYNTHETIC_TEXTURES);
    const n = 1 + Math.floor(rand() * 3);
    const coverage = 0.12 + 0.26 * rand();
    const weights = Array.from({ length: n }, () => 0.5 + rand());
    const total = weights.reduce((a, b) => a + b, 0);
    const owner = new Uint8Array(size * size);
    const shapes: SyntheticShapeLayout[] = [];
    for (let j = 0; j < n; j++) {
      const shape = pick(SYNTHETIC_SHAPES);
      const colour = Math.floor(rand() * SYNTHETIC_PALETTE.length);
      let side = Math.min(size - 1, sideFor(shape, (coverage * size * size * weights[j]!) / total));
      // place without touching an earlier shape: 40 tries, then 0.8× smaller, down to 3 pixels
      placing: while (side >= 3) {
        for (let t = 0; t < 40; t++) {
          const s: SyntheticShapeLayout = { shape, colour, x: rand() * (size - side), y: rand() * (size - side), side };
          const pixels: number[] = [];
          let free = true;
          for (let py = Math.floor(s.y); free && py < Math.min(size, Math.ceil(s.y + side) + 1); py++)
            for (let px = Math.floor(s.x); px < Math.min(size, Math.ceil(s.x + side) + 1); px++) {
              if (!inside(s, px + 0.5, py + 0.5)) continue;
              if (owner[py * size + px]) {
                free = false;
                break;
              }
              pixels.push(py * size + px);
            }
          if (free && pixels.length) {
            for (const p of pixels) owner[p] = shapes.length + 1;
            shapes.push(s);
            break placing;
          }
        }
        side *= 0.8;
      }
    }
    let covered = 0;
    for (const o of owner) if (o) covered++;
    const frac = covered / (size * size);
    // exact rasterising keeps the coverage near the target; a shape that found no room can pull it
    // below 10 %: draw the image again from where the stream is
    if (shapes.length && frac >= 0.1 && frac <= 0.4) return { texture, shapes, owner };
  }
}

/** Background pixel (x, y) is part of the texture's pattern: stripes along the diagonal, or a grid of dots, period p. */
function onPattern(texture: SyntheticTexture, x: number, y: number, p: number): boolean {
  if (texture === 'striped') return (x + y) % p < Math.ceil(p / 3);
  if (texture === 'dotted') return ((x % p) + 0.5 - p / 2) ** 2 + ((y % p) + 0.5 - p / 2) ** 2 <= (p / 4) ** 2;
  return false;
}

/**
 * `count` synthetic images of size×size and their concept set (see the header); `layouts` says what
 * was drawn where, for models with planted detectors and for specs.
 */
export function syntheticConcepts(opts: SyntheticOptions): { set: ConceptSet; images: RGBAImage[]; layouts: { texture: SyntheticTexture; shapes: SyntheticShapeLayout[] }[] } {
  const { count, size, seed } = opts;
  if (!(Number.isInteger(count) && count >= 1 && count <= 1_000_000)) throw new ArgumentError(`synthetic concepts: count must be a whole number in 1..1000000, got ${count}`);
  if (!(Number.isInteger(size) && size >= 16 && size <= 1024)) throw new ArgumentError(`synthetic concepts: size must be a whole number of pixels in 16..1024, got ${size}`);
  if (!Number.isInteger(seed)) throw new ArgumentError(`synthetic concepts: seed must be a whole number, got ${seed}`);
  const period = Math.max(4, Math.round(size / 12));
  const digits = Math.max(4, String(count - 1).length);
  const images: RGBAImage[] = [];
  const layouts: { texture: SyntheticTexture; shapes: SyntheticShapeLayout[] }[] = [];
  const samples = [];
  for (let i = 0; i < count; i++) {
    const { texture, shapes, owner } = layout(size, mulberry32((seed ^ Math.imul(i + 1, 0x9e3779b9)) >>> 0));
    const data = new Uint8Array(size * size * 4);
    const colourMap = new Uint16Array(size * size), objectMap = new Uint16Array(size * size);
    for (let p = 0; p < size * size; p++) {
      const o = owner[p]!;
      let rgb: readonly number[] = SYNTHETIC_BACKGROUND;
      if (o) {
        const s = shapes[o - 1]!;
        rgb = SYNTHETIC_PALETTE[s.colour]!.rgb;
        colourMap[p] = 1 + s.colour;
        objectMap[p] = SHAPE_ID + SYNTHETIC_SHAPES.indexOf(s.shape);
      } else if (onPattern(texture, p % size, Math.floor(p / size), period)) rgb = [SYNTHETIC_TEXTURE_LEVEL, SYNTHETIC_TEXTURE_LEVEL, SYNTHETIC_TEXTURE_LEVEL];
      data.set(rgb, 4 * p);
      data[4 * p + 3] = 255;
    }
    const image: RGBAImage = { width: size, height: size, data };
    images.push(image);
    layouts.push({ texture, shapes });
    samples.push({
      name: `synthetic/${String(i).padStart(digits, '0')}.png`,
      image: () => image,
      height: size,
      width: size,
      maps: [colourMap, objectMap],
      whole: [TEXTURE_ID + SYNTHETIC_TEXTURES.indexOf(texture)],
    });
  }
  return {
    set: { source: `synthetic concepts (${count} images of ${size}×${size}, seed ${seed})`, concepts: SYNTHETIC_CONCEPTS.map((c) => ({ ...c })), categories: ['color', 'object', 'texture'], samples },
    images,
    layouts,
  };
}
