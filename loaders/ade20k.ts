// ADE20K scenes (the ADE20K_2021_17_01 layout: NAME.jpg, NAME_seg.png, NAME_parts_N.png, NAME.json) as
// label maps and concepts, and the match between ImageNet classes and ADE20K concepts through their
// WordNet hypernyms. Decoded pixels and bytes in, tensors out: no file system, so the browser app can
// use it too (the CLI decodes the PNG with loaders/image.ts).
//
// - A label PNG (_seg.png, _parts_N.png) holds a class per pixel: R/10·256 + G (integer division;
//   0 = unlabelled); B is the instance id, not read here.
// - NAME.json: annotation.object[] with name (WordNet synonyms joined by ", "), name_ndx (the value in
//   the label PNG), parts.part_level (0 = a whole object, in _seg.png; N ≥ 1 = a part, in _parts_N.png)
//   and hypernym (the WordNet chain from the concept itself up to "entity"; empty for the few names
//   that are not WordNet synsets, e.g. "central reservation").
// - Matching (the pointing game's region of ImageNet class k): the pixels of the whole objects whose
//   concept is k or a hypernym of k (the ADE name is in k's WordNet chain: ADE "car, auto, …" for
//   ImageNet "cab, hack, taxi, taxicab"), or a hyponym of k (k's text is in the ADE object's own chain).
//   The shared synset is then always the ImageNet class or the ADE concept itself, never a common
//   ancestor, so "entity" or "artifact" join nothing through a third concept. An ADE object named
//   that generally would still match every class below it, so ADE concepts whose chain holds at most
//   MIN_DEPTH synsets ("artifact, artefact", "whole, unit", "object, physical object") match nothing.
import { ArgumentError, InputFormatError, ShapeError } from '../engine/errors.ts';
import type { Concept, ConceptSet } from './concepts.ts';
import type { RGBAImage } from './image-formats.ts';
import { IMAGENET_HYPERNYMS, IMAGENET_SYNSETS, IMAGENET_WNIDS } from './imagenet-wordnet.ts';

export interface AdeConcept {
  /** the class value in the label PNG (name_ndx) */
  ndx: number;
  /** WordNet synonyms joined by ", " */
  name: string;
  /** object: a whole object (part_level 0, _seg.png); part: a part (_parts_N.png) */
  category: 'object' | 'part';
  /** the WordNet chain from the concept itself up to "entity"; [] when ADE20K gives none */
  hypernyms: string[];
}

export interface LabelMap {
  width: number;
  height: number;
  /** class per pixel, row-major; 0 = unlabelled */
  labels: Uint16Array;
}

export interface AdeScene extends LabelMap {
  /** the whole-object concepts, by class value */
  objects: Map<number, AdeConcept>;
  /** the part concepts (any level), by class value: their pixels are in _parts_N.png, not in `labels` */
  parts: Map<number, AdeConcept>;
}

/** A label PNG's class per pixel: R/10·256 + G, integer division. */
export function adeLabels(img: RGBAImage): LabelMap {
  const n = img.width * img.height;
  const labels = new Uint16Array(n);
  for (let i = 0; i < n; i++) labels[i] = Math.floor(img.data[4 * i]! / 10) * 256 + img.data[4 * i + 1]!;
  return { width: img.width, height: img.height, labels };
}

/** The concepts of an ADE20K JSON annotation: each object's name, class value, level and hypernyms (one entry per class value and category). */
export function adeConcepts(json: string | Uint8Array, fileName: string): AdeConcept[] {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof json === 'string' ? json : new TextDecoder().decode(json));
  } catch (e) {
    throw new InputFormatError(`${fileName}: not JSON (${(e as Error).message})`);
  }
  const objects = (doc as { annotation?: { object?: unknown } } | null)?.annotation?.object;
  if (!Array.isArray(objects)) throw new InputFormatError(`${fileName}: no annotation.object list: not an ADE20K annotation`);
  const out = new Map<string, AdeConcept>();
  objects.forEach((o: Record<string, unknown> | null, i) => {
    const name = o?.name, ndx = o?.name_ndx, level = (o?.parts as { part_level?: unknown } | undefined)?.part_level, hyp = o?.hypernym ?? [];
    if (typeof name !== 'string' || !Number.isInteger(ndx) || (ndx as number) < 1 || (ndx as number) > 0xffff || !Number.isInteger(level) || (level as number) < 0)
      throw new InputFormatError(`${fileName}: annotation.object[${i}] lacks a name, a name_ndx in 1..65535 or a parts.part_level ≥ 0`);
    if (!Array.isArray(hyp) || hyp.some((h) => typeof h !== 'string')) throw new InputFormatError(`${fileName}: annotation.object[${i}] ("${name}"): hypernym is not a list of names`);
    const category = level === 0 ? 'object' : 'part';
    const key = `${category} ${ndx}`;
    const seen = out.get(key);
    if (seen && seen.name !== name) throw new InputFormatError(`${fileName}: name_ndx ${ndx} is "${seen.name}" and "${name}"`);
    if (!seen) out.set(key, { ndx: ndx as number, name, category, hypernyms: hyp as string[] });
  });
  return [...out.values()];
}

/**
 * A scene from its decoded _seg.png and its JSON: the whole objects' label map and concepts. Every
 * class value in the map must be a whole object of the JSON (else the two files do not belong together).
 */
export function adeScene(seg: RGBAImage, json: string | Uint8Array, names: { seg: string; json: string }): AdeScene {
  const map = adeLabels(seg);
  const concepts = adeConcepts(json, names.json);
  const objects = new Map(concepts.filter((c) => c.category === 'object').map((c) => [c.ndx, c]));
  const parts = new Map(concepts.filter((c) => c.category === 'part').map((c) => [c.ndx, c]));
  for (let i = 0; i < map.labels.length; i++) {
    const v = map.labels[i]!;
    if (v && !objects.has(v))
      throw new InputFormatError(`${names.seg}: class ${v} at row ${Math.floor(i / map.width)}, column ${i % map.width} is no whole object of ${names.json}: the two files do not belong together`);
  }
  return { ...map, objects, parts };
}

/**
 * A label map resized to outW×outH by nearest neighbour, with the pixel-centre rule of render.ts's
 * resizeImage(…, 'nearest'): output (y, x) takes input (⌊(y+½)·H/outH⌋, ⌊(x+½)·W/outW⌋). The whole
 * frame is resized, as preprocessImage resizes an image to the model's input (no crop).
 */
export function resizeLabels(map: LabelMap, outW: number, outH: number): LabelMap {
  if (!(Number.isInteger(outW) && Number.isInteger(outH) && outW > 0 && outH > 0)) throw new ShapeError(`resizeLabels: bad size ${outW}x${outH}`);
  const { width: w, height: h } = map;
  const labels = new Uint16Array(outW * outH);
  for (let y = 0; y < outH; y++) {
    const sy = Math.min(h - 1, Math.floor(((y + 0.5) * h) / outH));
    for (let x = 0; x < outW; x++) labels[y * outW + x] = map.labels[sy * w + Math.min(w - 1, Math.floor(((x + 0.5) * w) / outW))]!;
  }
  return { width: outW, height: outH, labels };
}

// ---- ADE20K scenes as a concept set (network dissection, issue 16) --------------------------------

/** An ADE20K scene's files, decoded (the photo lazily): NAME.jpg, NAME_seg.png, NAME_parts_1.png, … in level order, NAME.json. */
export interface AdeSceneFiles {
  name: string;
  image: () => RGBAImage;
  seg: RGBAImage;
  parts: RGBAImage[];
  json: Uint8Array;
}

/**
 * ADE20K scenes as a concept set: each scene's maps are its whole objects (_seg.png, category
 * "object") and then each _parts_N.png (category "part"). A concept is named by the first WordNet
 * synonym of its JSON name ("car" for "car, auto, automobile, machine, motorcar"); concepts are told
 * apart by category and full name, and numbered densely in the order they are first seen: scene by
 * scene, each in its JSON's object order, counting only concepts with at least one pixel. Every class
 * value of a parts map must be a part of the scene's JSON, and the parts maps must have the _seg.png's
 * size; the labels keep the scenes' own size (bring them to one size with resizeLabels).
 */
export function adeConceptSet(scenes: AdeSceneFiles[]): ConceptSet {
  if (!scenes.length) throw new ArgumentError('ADE20K concepts: no scenes');
  const ids = new Map<string, number>(); // "category<TAB>full name" → id
  const concepts: Concept[] = [];
  const samples = scenes.map(({ name, image, seg, parts, json }) => {
    const scene = adeScene(seg, json, { seg: `${name}_seg.png`, json: `${name}.json` });
    const partMaps = parts.map((p, i) => {
      const file = `${name}_parts_${i + 1}.png`;
      if (p.width !== scene.width || p.height !== scene.height) throw new ShapeError(`${file}: ${p.width}×${p.height}, but ${name}_seg.png is ${scene.width}×${scene.height}`);
      const m = adeLabels(p);
      for (let j = 0; j < m.labels.length; j++) {
        const v = m.labels[j]!;
        if (v && !scene.parts.has(v))
          throw new InputFormatError(`${file}: class ${v} at row ${Math.floor(j / m.width)}, column ${j % m.width} is no part of ${name}.json: the two files do not belong together`);
      }
      return m.labels;
    });
    const seen = (maps: Uint16Array[]) => {
      const s = new Set<number>();
      for (const m of maps) for (const v of m) if (v) s.add(v);
      return s;
    };
    const onObjects = seen([scene.labels]), onParts = seen(partMaps);
    // JSON order: adeConcepts lists each (category, class value) once, in the order of the objects
    const byValue = { object: new Map<number, number>(), part: new Map<number, number>() };
    for (const c of adeConcepts(json, `${name}.json`)) {
      if (!(c.category === 'object' ? onObjects : onParts).has(c.ndx)) continue;
      const key = `${c.category}\t${c.name}`;
      let id = ids.get(key);
      if (id === undefined) {
        id = concepts.length + 1;
        ids.set(key, id);
        concepts.push({ id, name: c.name.split(', ')[0]!, category: c.category });
      }
      byValue[c.category].set(c.ndx, id);
    }
    const relabel = (m: Uint16Array, to: Map<number, number>) => Uint16Array.from(m, (v) => (v ? to.get(v)! : 0));
    return {
      name: `${name}.jpg`,
      image,
      height: scene.height,
      width: scene.width,
      maps: [relabel(scene.labels, byValue.object), ...partMaps.map((m) => relabel(m, byValue.part))],
      whole: [],
    };
  });
  const categories = (['object', 'part'] as const).filter((c) => concepts.some((k) => k.category === c));
  return { source: `ADE20K (${scenes.length} scene${scenes.length === 1 ? '' : 's'})`, concepts, categories, samples };
}

// ---- ImageNet classes and their WordNet hypernyms -------------------------------------------------

/** The ImageNet classes (synset_words.txt order, as Caffe and ONNX ImageNet models number them). */
export const IMAGENET_CLASSES = 1000;
let wnids: string[] | undefined;
/** The WordNet id of ImageNet class k, e.g. n02930766 for 468 (cab). */
export function imagenetWnid(k: number): string {
  wnids ??= IMAGENET_WNIDS.split(' ');
  const w = wnids[k];
  if (!Number.isInteger(k) || w === undefined) throw new ShapeError(`ImageNet class ${k}: classes are 0..${IMAGENET_CLASSES - 1}`);
  return w;
}

/** ImageNet class k's WordNet chain: its own text, then each first hypernym up to "entity" (the chains ADE20K's JSON gives). */
export function imagenetChain(k: number): string[] {
  imagenetWnid(k);
  const chain: string[] = [];
  for (let i = k; i >= 0; i = IMAGENET_HYPERNYMS[i]!) chain.push(IMAGENET_SYNSETS[i]!);
  return chain;
}

/** ADE concepts this close to "entity" (their chain at most this long) are too general to stand for a class: "artifact, artefact" (5), "whole, unit" (4). */
export const MIN_DEPTH = 5;

/** The matching rule in a sentence, for the JSON that records a pointing game on ADE20K scenes. */
export const MATCHING_RULE = `class k's region: the whole objects whose ADE20K concept is k's WordNet synset or a hypernym of it, or whose own hypernym chain holds k's synset (a hyponym); concepts whose chain holds at most ${MIN_DEPTH} synsets ("artifact, artefact" and above) match nothing`;

export interface ConceptMatch {
  concept: AdeConcept;
  /** same: the ImageNet class's synset; hypernym: the ADE concept is above the class (car for cab); hyponym: below it */
  relation: 'same' | 'hypernym' | 'hyponym';
}

/** The concepts of `concepts` that stand for ImageNet class k, by the rule in this file's header. */
export function matchConcepts(k: number, concepts: Iterable<AdeConcept>): ConceptMatch[] {
  const chain = imagenetChain(k);
  const out: ConceptMatch[] = [];
  for (const c of concepts) {
    if (c.hypernyms.length && c.hypernyms.length <= MIN_DEPTH) continue;
    if (c.name === chain[0]) out.push({ concept: c, relation: 'same' });
    else if (chain.includes(c.name)) out.push({ concept: c, relation: 'hypernym' });
    else if (c.hypernyms.includes(chain[0]!)) out.push({ concept: c, relation: 'hyponym' });
  }
  return out;
}

/** ImageNet class k's region in a (resized) scene: 1 where the pixel's object matches k, and the concepts that matched. */
export function classRegion(scene: LabelMap & { objects: Map<number, AdeConcept> }, k: number): { mask: Uint8Array; concepts: string[] } {
  const matches = matchConcepts(k, scene.objects.values());
  const on = new Set(matches.map((m) => m.concept.ndx));
  return { mask: Uint8Array.from(scene.labels, (v) => (on.has(v) ? 1 : 0)), concepts: matches.map((m) => m.concept.name) };
}
