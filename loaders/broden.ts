// Broden folders (Bau et al. 2017, NetDissect's unified segmentation data set) as a concept set, and
// any concept set written back out in that layout. Bytes in, bytes out: the caller passes a function
// that reads a file (the CLI reads the disk), so this file never touches a file system. The images
// and masks are PNG/JPEG decoded by loaders/image.ts (pngjs: Node), unless `opts.decode` says how.
//
// The layout, as NetDissect's src/loadseg.py and src/joinseg.py read and write it:
// - index.csv: `image,split,ih,iw,sh,sw,<one column per category>`; `image` is the photo's path
//   under images/, ih×iw its size, sh×sw the size of its label maps. A category cell holds zero or
//   more entries separated by ";": a mask PNG path (under images/) for pixel labels, or a decimal
//   label number for an image-level label (Broden's scene and texture). Every mask of a row is one of
//   the sample's `maps`, in column order and within a cell in the cell's order; every number is in
//   its `whole`.
// - label.csv: `number,name,category,frequency,coverage,syns`; category lists each category the
//   label occurs in with its image count, most frequent first, e.g. `material(36);object(3)`. A
//   concept takes the category with the largest count (the first listed on a tie, which is Broden's
//   own order): "fabric" is a material.
// - category.csv: `name,first,last,count,frequency`; its order is the set's `categories`.
// - a mask PNG: the label number of a pixel is R + 256·G (0 = none).
// - c_<category>.csv (NetDissect's dense per-category codes) are not read; writeBroden writes them so
//   NetDissect itself can read the folder.
// Label numbers are Broden's 1-based numbers and become the concept ids unchanged when label.csv
// numbers them 1…K; otherwise they are renumbered densely in increasing order (`numbers` holds the
// original of each id, and the set's source says so).
// CSV is RFC 4180 as Python's csv module writes it: fields quoted with "…" when they hold a comma, a
// quote ("") or a line break; lines end in \r\n or \n.
import { ArgumentError, InputFormatError, ShapeError } from '../engine/errors.ts';
import type { ConceptSample, ConceptSet } from './concepts.ts';
import { decodeImage, encodePng } from './image.ts';
import type { RGBAImage } from './image-formats.ts';

/** Reads a file of the folder by its path (root joined with the relative path by "/"); undefined when it does not exist. */
export type FileReader = (path: string) => Uint8Array | undefined;

export interface BrodenOptions {
  /** read only the first `limit` rows of index.csv */
  limit?: number;
  /** read only the rows of this split ("train", "val") */
  split?: string;
  /**
   * read a sample's masks each time its `maps` is read, keeping none (a full Broden's masks take
   * gigabytes); a broken mask then throws there, not here. Default: read and check them all here.
   */
  lazy?: boolean;
  /** decodes an image or mask file (default: loaders/image.ts decodeImage, with its pixel limit) */
  decode?: (bytes: Uint8Array, fileName: string) => RGBAImage;
}

export interface BrodenSet extends ConceptSet {
  /** the label.csv number of each concept: numbers[id - 1] */
  numbers: number[];
}

// ---- CSV ------------------------------------------------------------------------------------------

/** Parses CSV text into rows of fields (RFC 4180; a BOM and a final line break are dropped). */
export function parseCsv(text: string, fileName: string): string[][] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const rows: string[][] = [];
  let row: string[] = [], field = '', quoted = false, i = 0;
  const line = () => rows.length + 1;
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') (field += '"'), (i += 2);
        else (quoted = false), i++;
      } else (field += ch), i++;
      continue;
    }
    if (ch === '"') {
      if (field !== '') throw new InputFormatError(`${fileName}: line ${line()}: a quote inside an unquoted field`);
      quoted = true;
      i++;
    } else if (ch === ',') row.push(field), (field = ''), i++;
    else if (ch === '\r' || ch === '\n') {
      row.push(field), rows.push(row), (row = []), (field = '');
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else (field += ch), i++;
  }
  if (quoted) throw new InputFormatError(`${fileName}: line ${line()}: a quoted field is not closed`);
  if (field !== '' || row.length) row.push(field), rows.push(row);
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

const csvField = (v: string | number): string => {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
const csvText = (rows: (string | number)[][]): string => rows.map((r) => r.map(csvField).join(',') + '\r\n').join('');

/** A CSV file as records keyed by its header; throws naming the file for a missing file, a missing column or a short row. */
function readTable(files: FileReader, path: string, required: readonly string[], what: string): { header: string[]; rows: Record<string, string>[] } {
  const bytes = files(path);
  if (!bytes) throw new ArgumentError(`${path}: not found: ${what}`);
  const [header, ...body] = parseCsv(new TextDecoder().decode(bytes), path);
  if (!header) throw new InputFormatError(`${path}: empty, expected a header ${required.join(',')}`);
  for (const c of required) if (!header.includes(c)) throw new InputFormatError(`${path}: no column "${c}" (the header is ${header.join(',')})`);
  const rows = body.map((r, i) => {
    if (r.length !== header.length) throw new InputFormatError(`${path}: line ${i + 2} has ${r.length} fields, the header ${header.length}`);
    return Object.fromEntries(header.map((h, j) => [h, r[j]!]));
  });
  return { header, rows };
}

const join = (root: string, rel: string) => (root === '' || root === '.' ? rel : `${root.replace(/\/+$/, '')}/${rel}`);

// ---- reading --------------------------------------------------------------------------------------

const META = ['image', 'split', 'ih', 'iw', 'sh', 'sw'] as const;

/**
 * The Broden folder at `root` as a concept set (the layout is in this file's header). Masks are read
 * and checked here (unless `opts.lazy`); images are decoded when a sample's `image` is called. Throws a typed error naming
 * the file for a missing file or column, a mask of another size than sh×sw, a mask or image that does
 * not decode, or a label number that label.csv does not list.
 */
export function readBroden(files: FileReader, root: string, opts: BrodenOptions = {}): BrodenSet {
  const decode = opts.decode ?? ((b: Uint8Array, n: string) => decodeImage(b, n));
  if (opts.limit !== undefined && !(Number.isInteger(opts.limit) && opts.limit >= 1)) throw new ArgumentError(`Broden limit must be a positive whole number of images, got ${opts.limit}`);
  const notBroden = `${root || '.'} is not a Broden folder`;

  // categories
  const catPath = join(root, 'category.csv');
  const categories = readTable(files, catPath, ['name'], notBroden).rows.map((r) => r.name!);
  if (!categories.length) throw new InputFormatError(`${catPath}: no categories`);

  // concepts
  const labelPath = join(root, 'label.csv');
  const labelRows = readTable(files, labelPath, ['number', 'name', 'category'], notBroden).rows;
  const entries = labelRows.map((r, i) => {
    const where = `${labelPath}: line ${i + 2}`;
    if (!/^\d+$/.test(r.number!) || Number(r.number) < 1 || Number(r.number) > 0xffff) throw new InputFormatError(`${where}: label number "${r.number}" is not a whole number in 1..65535`);
    let best: { name: string; count: number } | undefined;
    for (const part of r.category!.split(';').filter((p) => p !== '')) {
      const m = /^([^()]+)\((\d+)\)$/.exec(part.trim());
      if (!m) throw new InputFormatError(`${where} ("${r.name}"): category "${part}" is not of the form name(count)`);
      if (!categories.includes(m[1]!)) throw new InputFormatError(`${where} ("${r.name}"): category "${m[1]}" is not in ${catPath}`);
      if (!best || Number(m[2]) > best.count) best = { name: m[1]!, count: Number(m[2]) };
    }
    if (!best) throw new InputFormatError(`${where} ("${r.name}"): no category`);
    return { number: Number(r.number), name: r.name!, category: best.name };
  });
  if (!entries.length) throw new InputFormatError(`${labelPath}: no labels`);
  entries.sort((a, b) => a.number - b.number);
  entries.forEach((e, i) => {
    if (i && entries[i - 1]!.number === e.number) throw new InputFormatError(`${labelPath}: label number ${e.number} is listed twice`);
  });
  const dense = entries.every((e, i) => e.number === i + 1);
  const idOf = new Uint16Array(entries.at(-1)!.number + 1); // label number → concept id (0: not in label.csv)
  entries.forEach((e, i) => (idOf[e.number] = i + 1));
  const concepts = entries.map((e, i) => ({ id: i + 1, name: e.name, category: e.category }));

  // samples
  const indexPath = join(root, 'index.csv');
  const index = readTable(files, indexPath, [...META, ...categories], notBroden);
  const extra = index.header.filter((h) => !(META as readonly string[]).includes(h) && !categories.includes(h));
  if (extra.length) throw new InputFormatError(`${indexPath}: column "${extra[0]}" is not a category of ${catPath}`);
  const columns = index.header.filter((h) => categories.includes(h));
  const samples: ConceptSample[] = [];
  for (let r = 0; r < index.rows.length && samples.length < (opts.limit ?? Infinity); r++) {
    const row = index.rows[r]!;
    if (opts.split !== undefined && row.split !== opts.split) continue;
    const where = `${indexPath}: line ${r + 2}`;
    const size = Object.fromEntries((['ih', 'iw', 'sh', 'sw'] as const).map((k) => {
      const v = row[k]!;
      if (!/^\d+$/.test(v) || Number(v) < 1) throw new InputFormatError(`${where}: ${k} "${v}" is not a positive whole number`);
      return [k, Number(v)];
    })) as Record<'ih' | 'iw' | 'sh' | 'sw', number>;
    if (!row.image) throw new InputFormatError(`${where}: no image`);
    const masks: { file: string; col: string }[] = [], whole: number[] = [];
    for (const col of columns) {
      for (const entry of row[col]!.split(';').filter((e) => e !== '')) {
        if (/^\d+$/.test(entry)) {
          const id = idOf[Number(entry)];
          if (!id) throw new InputFormatError(`${where}: ${col} label ${entry} is not in ${labelPath}`);
          if (!whole.includes(id)) whole.push(id);
        } else masks.push({ file: join(root, `images/${entry}`), col });
      }
    }
    const readMaps = () =>
      masks.map(({ file, col }) => {
        const bytes = files(file);
        if (!bytes) throw new InputFormatError(`${file}: not found (the ${col} mask of ${where})`);
        const img = decode(bytes, file);
        if (img.width !== size.sw || img.height !== size.sh) throw new ShapeError(`${file}: a ${img.width}×${img.height} mask, but ${indexPath} gives sw×sh ${size.sw}×${size.sh}`);
        const map = new Uint16Array(img.width * img.height);
        for (let i = 0; i < map.length; i++) {
          const number = img.data[4 * i]! + 256 * img.data[4 * i + 1]!;
          const id = number < idOf.length ? idOf[number]! : 0;
          if (number && !id) throw new InputFormatError(`${file}: label ${number} at row ${Math.floor(i / img.width)}, column ${i % img.width} is not in ${labelPath}`);
          map[i] = id;
        }
        return map;
      });
    const imagePath = join(root, `images/${row.image}`);
    samples.push({
      name: row.image!,
      image: () => {
        const bytes = files(imagePath);
        if (!bytes) throw new InputFormatError(`${imagePath}: not found (the image of ${where})`);
        const img = decode(bytes, imagePath);
        if (img.width !== size.iw || img.height !== size.ih) throw new ShapeError(`${imagePath}: a ${img.width}×${img.height} image, but ${indexPath} gives iw×ih ${size.iw}×${size.ih}`);
        return img;
      },
      height: size.sh,
      width: size.sw,
      maps: opts.lazy ? [] : readMaps(),
      whole,
      ...(row.split ? { split: row.split } : {}),
    });
    // lazy: `maps` reads the masks at each use (nothing kept), so a large folder streams in batches
    if (opts.lazy) Object.defineProperty(samples.at(-1)!, 'maps', { get: readMaps, enumerable: true });
  }
  const source = dense ? root || '.' : `${root || '.'} (label numbers ${entries[0]!.number}…${entries.at(-1)!.number} renumbered 1…${entries.length})`;
  return { source, concepts, categories, samples, numbers: entries.map((e) => e.number) };
}

// ---- writing --------------------------------------------------------------------------------------

/**
 * A concept set (and its samples' images, in order) as the files of a Broden folder, by path relative
 * to the folder: index.csv, label.csv, category.csv, c_<category>.csv, images/<sample name> (PNG; a
 * name that does not end in .png gets .png in place of its extension) and one mask PNG per label map
 * (images/<stem>_<category>_<n>.png, label = R + 256·G). Concept ids become label numbers. A map goes
 * to the column of the category most of its labelled pixels have (an empty map: the first category);
 * image-level labels to their concept's column. readBroden reads the files back to an equal set, with
 * each sample's maps grouped by category in the set's category order (the synthetic and colour sets'
 * maps already are).
 */
export function writeBroden(set: ConceptSet, images: RGBAImage[]): Map<string, Uint8Array> {
  if (images.length !== set.samples.length) throw new ShapeError(`writeBroden: ${set.samples.length} samples but ${images.length} images`);
  if (set.concepts.length > 0xffff) throw new ShapeError(`writeBroden: ${set.concepts.length} concepts; a mask PNG holds labels up to 65535`);
  const cats = set.categories;
  const catOf = (id: number) => set.concepts[id - 1]!.category;
  for (const c of set.concepts) if (!cats.includes(c.category)) throw new ShapeError(`writeBroden: concept "${c.name}" has category "${c.category}", not one of ${cats.join(', ')}`);
  const out = new Map<string, Uint8Array>();
  const text = (s: string) => new TextEncoder().encode(s);
  const k = set.concepts.length;
  const freq = new Float64Array(k + 1), cover = new Float64Array(k + 1), catFreq = new Map(cats.map((c) => [c, 0]));
  const index: (string | number)[][] = [];
  const names = new Set<string>();
  set.samples.forEach((s, i) => {
    const img = images[i]!;
    const name = /\.png$/i.test(s.name) ? s.name : s.name.replace(/(\.[^./]*)?$/, '.png');
    if (names.has(name)) throw new ShapeError(`writeBroden: two samples are written to images/${name}`);
    names.add(name);
    out.set(`images/${name}`, encodePng(img));
    const cells = new Map<string, string[]>(cats.map((c) => [c, []]));
    const n = s.height * s.width;
    s.maps.forEach((m, j) => {
      const counts = new Map<string, number>();
      const data = new Uint8Array(4 * n);
      for (let p = 0; p < n; p++) {
        const v = m[p]!;
        if (v) counts.set(catOf(v), (counts.get(catOf(v)) ?? 0) + 1);
        (data[4 * p] = v & 0xff), (data[4 * p + 1] = v >> 8), (data[4 * p + 3] = 255);
      }
      let cat = cats[0]!, most = 0;
      for (const c of cats) if ((counts.get(c) ?? 0) > most) (cat = c), (most = counts.get(c)!);
      const mask = `${name.replace(/\.png$/i, '')}_${cat}_${j + 1}.png`;
      out.set(`images/${mask}`, encodePng({ width: s.width, height: s.height, data }));
      cells.get(cat)!.push(mask);
    });
    // coverage: a concept's share of the image's pixels (an image-level one covers it all; a pixel
    // counts once however many maps carry the concept there); frequency: the images it is in
    const pixels = new Map<number, number>();
    for (let p = 0; p < n; p++)
      for (let j = 0; j < s.maps.length; j++) {
        const v = s.maps[j]![p]!;
        let again = false;
        for (let q = 0; q < j && !again; q++) again = s.maps[q]![p] === v;
        if (v && !again) pixels.set(v, (pixels.get(v) ?? 0) + 1);
      }
    const whole = new Set(s.whole);
    for (const w of whole) cells.get(catOf(w))!.push(String(w)), pixels.set(w, n);
    for (const [v, c] of pixels) (freq[v]! += 1), (cover[v]! += c / n);
    for (const c of new Set([...pixels.keys()].map(catOf))) catFreq.set(c, catFreq.get(c)! + 1);
    index.push([name, s.split ?? '', img.height, img.width, s.height, s.width, ...cats.map((c) => cells.get(c)!.join(';'))]);
  });
  out.set('index.csv', text(csvText([['image', 'split', 'ih', 'iw', 'sh', 'sw', ...cats], ...index])));
  out.set('label.csv', text(csvText([['number', 'name', 'category', 'frequency', 'coverage', 'syns'], ...set.concepts.map((c) => [c.id, c.name, `${c.category}(${freq[c.id]})`, freq[c.id]!, cover[c.id]!.toFixed(6), ''])])));
  out.set('category.csv', text(csvText([['name', 'first', 'last', 'count', 'frequency'], ...cats.map((cat) => {
    const ids = set.concepts.filter((c) => c.category === cat).map((c) => c.id);
    return [cat, ids.length ? ids[0]! : '', ids.length ? ids.at(-1)! : '', ids.length, catFreq.get(cat)!];
  })])));
  for (const cat of cats) {
    const ids = set.concepts.filter((c) => c.category === cat);
    out.set(`c_${cat}.csv`, text(csvText([['code', 'number', 'name', 'frequency', 'coverage'], ...ids.map((c, i) => [i + 1, c.id, c.name, freq[c.id]!, cover[c.id]!.toFixed(6)])])));
  }
  return out;
}
