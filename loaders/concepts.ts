// A concept data set for network dissection and Net2Vec (issue 16): images with per-pixel concept
// labels, whatever they come from (a Broden folder: loaders/broden.ts; the ADE20K sample:
// loaders/ade20k.ts; the colour names of any photos: loaders/colour-concepts.ts; the project's
// synthetic shapes: loaders/synthetic-concepts.ts). Bytes and decoded pixels in, label maps out: no
// file system, so the browser app reads the same sets.
//
// Concept ids are global to a set: 0 means "no concept", 1…K index `concepts`. A sample's pixel
// carries every concept of any of its `maps` at that pixel plus every concept in `whole` (the
// image-level categories, Broden's scene and texture). A pixel may carry the same concept in two maps;
// it counts once.
import { ShapeError } from '../engine/errors.ts';
import type { RGBAImage } from './image-formats.ts';

export interface Concept {
  /** 1-based id; `ConceptSet.concepts[id - 1]` */
  id: number;
  /** the concept's name, e.g. "red", "car", "striped" */
  name: string;
  /** its category, e.g. "color", "object", "part", "material", "scene", "texture" */
  category: string;
}

export interface ConceptSample {
  /** the image's path relative to the data set (messages, figures, the run's manifest) */
  name: string;
  /** the image, decoded (loaders decode lazily: big sets are streamed in batches) */
  image: () => RGBAImage;
  /** the label maps' size; every map of the sample has it */
  height: number;
  width: number;
  /** pixel-level label maps, height×width row-major concept ids (0 = none) */
  maps: Uint16Array[];
  /** image-level concept ids (present at every pixel) */
  whole: number[];
  /** "train" or "val" when the set says (Broden's split column); undefined otherwise */
  split?: string;
}

export interface ConceptSet {
  /** where it came from, for captions: a folder, "ADE20K sample", "colour names of 12 photos" */
  source: string;
  /** every concept; concepts[i].id === i + 1 */
  concepts: Concept[];
  /** the categories, in the set's order (Broden's category.csv) */
  categories: string[];
  samples: ConceptSample[];
}

/** Checks a set's invariants (ids in range, map sizes); throws ShapeError naming the sample. */
export function checkConceptSet(set: ConceptSet): void {
  set.concepts.forEach((c, i) => {
    if (c.id !== i + 1) throw new ShapeError(`${set.source}: concept ${i + 1} ("${c.name}") has id ${c.id}`);
  });
  const k = set.concepts.length;
  for (const s of set.samples) {
    for (const m of s.maps) {
      if (m.length !== s.height * s.width) throw new ShapeError(`${s.name}: a label map of ${m.length} pixels, expected ${s.height}×${s.width}`);
      for (let i = 0; i < m.length; i++) if (m[i]! > k) throw new ShapeError(`${s.name}: label ${m[i]} at pixel ${i} is not one of the ${k} concepts`);
    }
    for (const w of s.whole) if (!(w >= 1 && w <= k)) throw new ShapeError(`${s.name}: image-level label ${w} is not one of the ${k} concepts`);
  }
}

/**
 * A sample's labels at another size (nearest neighbour, whole frame: output pixel (y, x) takes
 * source pixel (⌊(y + ½)·h/H⌋, ⌊(x + ½)·w/W⌋)), as a set is brought to one mask size for a run.
 */
export function resizeLabels(map: Uint16Array, h: number, w: number, outH: number, outW: number): Uint16Array {
  if (h === outH && w === outW) return map;
  const out = new Uint16Array(outH * outW);
  for (let y = 0; y < outH; y++) {
    const sy = Math.min(h - 1, Math.floor(((y + 0.5) * h) / outH));
    for (let x = 0; x < outW; x++) out[y * outW + x] = map[sy * w + Math.min(w - 1, Math.floor(((x + 0.5) * w) / outW))]!;
  }
  return out;
}

/**
 * Several sets as one (a Broden folder and the colour names of some photos, say): concepts with the
 * same category and name become one, ids are renumbered in first-seen order and every map and
 * image-level label is rewritten; categories keep their first-seen order.
 */
export function mergeConceptSets(sets: ConceptSet[], source = sets.map((s) => s.source).join(' + ')): ConceptSet {
  if (sets.length === 1) return sets[0]!;
  const concepts: Concept[] = [];
  const byKey = new Map<string, number>();
  const categories: string[] = [];
  const samples: ConceptSample[] = [];
  for (const set of sets) {
    const remap = new Uint16Array(set.concepts.length + 1);
    for (const c of set.concepts) {
      const key = `${c.category}\u0000${c.name}`;
      let id = byKey.get(key);
      if (id === undefined) {
        id = concepts.length + 1;
        if (id > 65535) throw new ShapeError(`${source}: more than 65535 concepts`);
        concepts.push({ id, name: c.name, category: c.category });
        byKey.set(key, id);
      }
      remap[c.id] = id;
    }
    for (const cat of set.categories) if (!categories.includes(cat)) categories.push(cat);
    for (const s of set.samples)
      samples.push({ ...s, maps: s.maps.map((m) => m.map((v) => remap[v]!)), whole: s.whole.map((v) => remap[v]!) });
  }
  return { source, concepts, categories, samples };
}

/** A set with one more label map per sample (e.g. its colour names), the extra set's concepts merged in. */
export function addPlanes(set: ConceptSet, extra: ConceptSet): ConceptSet {
  if (extra.samples.length !== set.samples.length) throw new ShapeError(`${extra.source}: ${extra.samples.length} samples for the ${set.samples.length} of ${set.source}`);
  const merged = mergeConceptSets([set, { ...extra, samples: [] }], `${set.source} + ${extra.source}`);
  const remap = new Uint16Array(extra.concepts.length + 1);
  for (const c of extra.concepts) remap[c.id] = merged.concepts.find((m) => m.category === c.category && m.name === c.name)!.id;
  return {
    ...merged,
    samples: merged.samples.map((s, i) => {
      const e = extra.samples[i]!;
      const maps = e.maps.map((m) => resizeLabels(m.map((v) => remap[v]!), e.height, e.width, s.height, s.width));
      return { ...s, maps: [...s.maps, ...maps], whole: [...s.whole, ...e.whole.map((v) => remap[v]!)] };
    }),
  };
}
