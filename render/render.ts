// Turning explanation maps into images people can look at: colour maps, heatmap rendering,
// overlays on the input, top-k masks, input tensors back to pictures, captioned montages with
// an embedded bitmap font, and colour bars. Pure TypeScript, no Node modules: runs in the
// browser too. Every function returns a fresh 8-bit RGBA image and never changes its inputs
// (except drawText, which draws into the image it is given).
import type { RGBAImage } from '../loaders/image.ts';
import { resizeAntialias, resizeBilinear, LUMA_601 } from '../loaders/preprocess.ts';
import { ShapeError } from '../engine/errors.ts';
import { ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, LINE_HEIGHT, glyphRows } from './font.ts';
import { maxAbs } from '../explainers/explanation.ts';

export { maxAbs };

/** An 8-bit colour, each channel 0..255. */
export type RGB = [number, number, number];

// ---- colour maps -----------------------------------------------------------------------------

const clamp01 = (v: number): number => (v > 0 ? (v < 1 ? v : 1) : 0);
const toByte = (v: number): number => Math.round(clamp01(v) * 255);

/** Piecewise-linear interpolation in a table of evenly spaced colours over [0, 1]. */
function fromTable(table: readonly RGB[], t: number): RGB {
  const x = clamp01(t) * (table.length - 1);
  const i = Math.min(Math.floor(x), table.length - 2);
  const f = x - i;
  const a = table[i];
  const b = table[i + 1];
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

// ColorBrewer RdBu (11 classes), reversed so that negative is blue, with a pure white centre.
const RDBU_R: readonly RGB[] = [
  [5, 48, 97], [33, 102, 172], [67, 147, 195], [146, 197, 222], [209, 229, 240],
  [255, 255, 255],
  [253, 219, 199], [244, 165, 130], [214, 96, 77], [178, 24, 43], [103, 0, 31],
];

/**
 * Diverging colour map for signed relevance in [-1, 1] (values outside are clamped; NaN → 0):
 * -1 dark blue, 0 white, +1 dark red (ColorBrewer RdBu reversed, like matplotlib 'RdBu_r',
 * with an exactly white centre). Returns 8-bit RGB.
 */
export function diverging(v: number): RGB {
  if (!(v === v)) v = 0;
  return fromTable(RDBU_R, (Math.max(-1, Math.min(1, v)) + 1) / 2);
}

/** matplotlib 'bwr': -1 pure blue, 0 white, +1 pure red, linear in between. */
export function bwr(v: number): RGB {
  if (!(v === v)) v = 0;
  const x = Math.max(-1, Math.min(1, v));
  return x >= 0 ? [255, toByte(1 - x), toByte(1 - x)] : [toByte(1 + x), toByte(1 + x), 255];
}

// matplotlib 'inferno' (CC0, by Nathaniel Smith and Stéfan van der Walt) and Google's 'turbo'
// (Apache 2.0, by Anton Mikhailov): their 256-entry tables rounded to 8 bits, 'rrggbb' each.
const INFERNO_HEX =
  '00000401000501010601010802010a02020c02020e03021004031204031405041706041907051b08051d09061f0a0722' +
  '0b07240c08260d08290e092b10092d110a30120a32140b34150b37160b39180c3c190c3e1b0c411c0c431e0c451f0c48' +
  '210c4a230c4c240c4f260c51280b53290b552b0b572d0b592f0a5b310a5c320a5e340a5f3609613809623909633b0964' +
  '3d09653e0966400a67420a68440a68450a69470b6a490b6a4a0c6b4c0c6b4d0d6c4f0d6c510e6c520e6d540f6d550f6d' +
  '57106e59106e5a116e5c126e5d126e5f136e61136e62146e64156e65156e67166e69166e6a176e6c186e6d186e6f196e' +
  '71196e721a6e741a6e751b6e771c6d781c6d7a1d6d7c1d6d7d1e6d7f1e6c801f6c82206c84206b85216b87216b88226a' +
  '8a226a8c23698d23698f24699025689225689326679526679727669827669a28659b29649d29649f2a63a02a63a22b62' +
  'a32c61a52c60a62d60a82e5fa92e5eab2f5ead305dae305cb0315bb1325ab3325ab43359b63458b73557b93556ba3655' +
  'bc3754bd3853bf3952c03a51c13a50c33b4fc43c4ec63d4dc73e4cc83f4bca404acb4149cc4248ce4347cf4446d04545' +
  'd24644d34743d44842d54a41d74b3fd84c3ed94d3dda4e3cdb503bdd513ade5238df5337e05536e15635e25734e35933' +
  'e45a31e55c30e65d2fe75e2ee8602de9612bea632aeb6429eb6628ec6726ed6925ee6a24ef6c23ef6e21f06f20f1711f' +
  'f1731df2741cf3761bf37819f47918f57b17f57d15f67e14f68013f78212f78410f8850ff8870ef8890cf98b0bf98c0a' +
  'f98e09fa9008fa9207fa9407fb9606fb9706fb9906fb9b06fb9d07fc9f07fca108fca309fca50afca60cfca80dfcaa0f' +
  'fcac11fcae12fcb014fcb216fcb418fbb61afbb81dfbba1ffbbc21fbbe23fac026fac228fac42afac62df9c72ff9c932' +
  'f9cb35f8cd37f8cf3af7d13df7d340f6d543f6d746f5d949f5db4cf4dd4ff4df53f4e156f3e35af3e55df2e661f2e865' +
  'f2ea69f1ec6df1ed71f1ef75f1f179f2f27df2f482f3f586f3f68af4f88ef5f992f6fa96f8fb9af9fc9dfafda1fcffa4';
const TURBO_HEX =
  '30123b32154333184a341b51351e5836215f37246638276d392a733a2d793b2f803c32863d358b3e38913f3b973f3e9c' +
  '4040a24143a74146ac4249b1424bb5434eba4451bf4454c34456c74559cb455ccf455ed34661d64664da4666dd4669e0' +
  '466be3476ee64771e94773eb4776ee4778f0477bf2467df44680f64682f84685fa4687fb458afc458cfd448ffe4391fe' +
  '4294ff4196ff4099ff3e9bfe3d9efe3ba0fd3aa3fc38a5fb37a8fa35abf833adf731aff52fb2f42eb4f22cb7f02ab9ee' +
  '28bceb27bee925c0e723c3e422c5e220c7df1fc9dd1ecbda1ccdd81bd0d51ad2d21ad4d019d5cd18d7ca18d9c818dbc5' +
  '18ddc218dec018e0bd19e2bb19e3b91ae4b61ce6b41de7b21fe9af20eaac22ebaa25eca727eea42aefa12cf09e2ff19b' +
  '32f29835f39438f4913cf58e3ff68a43f78746f8844af8804ef97d52fa7a55fa7659fb735dfc6f61fc6c65fd6969fd66' +
  '6dfe6271fe5f75fe5c79fe597dff5680ff5384ff5188ff4e8bff4b8fff4992ff4796fe4499fe429cfe409ffd3fa1fd3d' +
  'a4fc3ca7fc3aa9fb39acfb38affa37b1f936b4f836b7f735b9f635bcf534bef434c1f334c3f134c6f034c8ef34cbed34' +
  'cdec34d0ea34d2e935d4e735d7e535d9e436dbe236dde037dfdf37e1dd37e3db38e5d938e7d739e9d539ebd339ecd13a' +
  'eecf3aefcd3af1cb3af2c93af4c73af5c53af6c33af7c13af8be39f9bc39faba39fbb838fbb637fcb336fcb136fdae35' +
  'fdac34fea933fea732fea431fea130fe9e2ffe9b2dfe992cfe962bfe932afe9029fd8d27fd8a26fc8725fc8423fb8122' +
  'fb7e21fa7b1ff9781ef9751df8721cf76f1af66c19f56918f46617f36315f26014f15d13f05b12ef5811ed5510ec530f' +
  'eb500eea4e0de84b0ce7490ce5470be4450ae2430ae14109df3f08dd3d08dc3b07da3907d83706d63506d43305d23105' +
  'd02f05ce2d04cc2b04ca2a04c82803c52603c32503c12302be2102bc2002b91e02b71d02b41b01b21a01af1801ac1701' +
  'a91601a71401a41301a112019e10019b0f01980e01950d01920b018e0a018b09028808028507028106027e05027a0403';

function parseTable(hex: string): RGB[] {
  const out: RGB[] = [];
  for (let i = 0; i < hex.length; i += 6) out.push([parseInt(hex.slice(i, i + 2), 16), parseInt(hex.slice(i + 2, i + 4), 16), parseInt(hex.slice(i + 4, i + 6), 16)]);
  return out;
}
const INFERNO = parseTable(INFERNO_HEX);
/** The entry for t in [0, 1] the way matplotlib picks it (bin floor(t * 256), clamped; NaN → 0); returns a copy. */
function lookup(table: readonly RGB[], t: number): RGB {
  const i = t === t ? Math.max(0, Math.min(table.length - 1, Math.floor(t * table.length))) : 0;
  const c = table[i];
  return [c[0], c[1], c[2]];
}
const TURBO = parseTable(TURBO_HEX);

/** matplotlib 'inferno': black → purple → orange → pale yellow; perceptually uniform, lightness increasing. */
export function inferno(t: number): RGB {
  return lookup(INFERNO, t);
}

/** Google's 'turbo', an improved 'jet': dark blue → cyan → green → yellow → red → dark red. */
export function turbo(t: number): RGB {
  return lookup(TURBO, t);
}

/** The classic MATLAB/matplotlib 'jet' (as in the Grad-CAM paper's figures). */
export function jet(t: number): RGB {
  if (!(t === t)) t = 0;
  const x = clamp01(t);
  return [toByte(1.5 - Math.abs(4 * x - 3)), toByte(1.5 - Math.abs(4 * x - 2)), toByte(1.5 - Math.abs(4 * x - 1))];
}

export type SequentialName = 'inferno' | 'turbo' | 'jet';
const SEQUENTIAL: Record<SequentialName, (t: number) => RGB> = { inferno, turbo, jet };

/** Sequential colour map for [0, 1] maps such as Grad-CAM (clamped; NaN → 0). Default 'inferno'. */
export function sequential(v: number, name: SequentialName = 'inferno'): RGB {
  const f = SEQUENTIAL[name];
  if (!f) throw new ShapeError(`sequential: unknown colour map '${String(name)}' (inferno, turbo, jet)`);
  return f(v);
}

/** A colour map: one of the named sequential ones, 'diverging' / 'bwr' (input in [-1, 1]), or any function. */
export type Colormap = SequentialName | 'diverging' | 'bwr' | ((v: number) => RGB);

function colormapFn(cm: Colormap): (v: number) => RGB {
  if (typeof cm === 'function') return cm;
  if (cm === 'diverging') return diverging;
  if (cm === 'bwr') return bwr;
  return (v) => sequential(v, cm);
}

/** Relative luminance (0..1) of an 8-bit sRGB colour, as WCAG defines it. */
export function luminance(c: RGB): number {
  const lin = (b: number) => {
    const s = b / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
}

// ---- rendering maps --------------------------------------------------------------------------

/** A blank image filled with one colour (alpha 255 unless given). */
export function createImage(width: number, height: number, color: RGB = [255, 255, 255], alpha = 255): RGBAImage {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new ShapeError(`createImage: bad size ${width}x${height}`);
  }
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < data.length; i += 4) {
    data[i] = color[0];
    data[i + 1] = color[1];
    data[i + 2] = color[2];
    data[i + 3] = alpha;
  }
  return { width, height, data };
}

function checkMap(fn: string, map: ArrayLike<number>, h: number, w: number): void {
  if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0)) throw new ShapeError(`${fn}: bad size ${h}x${w}`);
  if (map.length !== h * w) throw new ShapeError(`${fn}: a ${h}x${w} map needs ${h * w} values, got ${map.length}`);
}

function checkImage(fn: string, img: RGBAImage): void {
  const { width, height, data } = img;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) || data.length !== width * height * 4) {
    throw new ShapeError(`${fn}: a ${width}x${height} RGBA image needs ${width * height * 4} bytes, got ${data.length}`);
  }
}

/** Finite min and max of a map ([0, 0] when there are no finite values). */
export function finiteRange(map: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < map.length; i++) {
    const v = map[i];
    if (v < lo && v !== -Infinity) lo = v;
    if (v > hi && v !== Infinity) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}

/** Shared by the map renderers: values already mapped to the colour map's domain. */
function paint(values: ArrayLike<number>, n: number, toDomain: (v: number) => number, cm: (v: number) => RGB, alphaOf: ((d: number) => number) | null): Uint8Array {
  const data = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    const d = toDomain(values[i]);
    const c = cm(d);
    data[4 * i] = c[0];
    data[4 * i + 1] = c[1];
    data[4 * i + 2] = c[2];
    data[4 * i + 3] = alphaOf ? Math.round(255 * clamp01(alphaOf(d))) : 255;
  }
  return data;
}

export interface SignedRenderOptions {
  /** The |value| shown at full colour: v / scale is clamped to [-1, 1]. Default max |map| (so 0 stays white). */
  scale?: number;
  /** Default 'diverging' (RdBu_r with a white centre). A function gets v / scale in [-1, 1]. */
  colormap?: Colormap;
  /** Writes alpha = 255 · |v| / scale instead of 255, so overlay shows only the strong regions. */
  transparent?: boolean;
}

/**
 * Renders a signed H×W map (row-major) with a symmetric scale: value s = +scale is full red,
 * -scale full blue, 0 white. NaN and ±Infinity clamp (NaN as 0).
 */
export function renderSigned(map: ArrayLike<number>, h: number, w: number, opts: SignedRenderOptions = {}): RGBAImage {
  checkMap('renderSigned', map, h, w);
  let scale = opts.scale ?? maxAbs(map);
  if (!(scale > 0 && Number.isFinite(scale))) scale = 1; // an all-zero map draws white
  const cm = colormapFn(opts.colormap ?? 'diverging');
  const toDomain = (v: number) => (v === v ? Math.max(-1, Math.min(1, v / scale)) : 0);
  return { width: w, height: h, data: paint(map, h * w, toDomain, cm, opts.transparent ? Math.abs : null) };
}

export interface SequentialRenderOptions {
  /** Value drawn as the low end of the colour map. Default the map's finite minimum. */
  min?: number;
  /** Value drawn as the high end. Default the map's finite maximum. */
  max?: number;
  /** Default 'inferno'. A function gets (v - min) / (max - min) in [0, 1]. */
  colormap?: Colormap;
  /** Writes alpha = 255 · (v - min) / (max - min) instead of 255 (low values transparent in overlays). */
  transparent?: boolean;
}

/** Renders an H×W map (e.g. a Grad-CAM) with min..max normalisation (a constant map draws as the low end). */
export function renderSequential(map: ArrayLike<number>, h: number, w: number, opts: SequentialRenderOptions = {}): RGBAImage {
  checkMap('renderSequential', map, h, w);
  const [lo0, hi0] = finiteRange(map);
  const lo = opts.min ?? lo0;
  const hi = opts.max ?? hi0;
  const span = hi - lo;
  const cm = colormapFn(opts.colormap ?? 'inferno');
  const toDomain = (v: number) => (v === v && span > 0 ? clamp01((v - lo) / span) : v === Infinity ? 1 : 0);
  return { width: w, height: h, data: paint(map, h * w, toDomain, cm, opts.transparent ? (d) => d : null) };
}

// ---- resizing images -------------------------------------------------------------------------

function toPlanes(img: RGBAImage): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 4; c++) out[c * n + i] = img.data[4 * i + c];
  return out;
}

function fromPlanes(planes: Float32Array, width: number, height: number): RGBAImage {
  const n = width * height;
  const data = new Uint8Array(4 * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 4; c++) {
      const v = Math.round(planes[c * n + i]);
      data[4 * i + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { width, height, data };
}

export type ResizeMode = 'nearest' | 'bilinear' | 'area';

/**
 * Resizes an RGBA image. 'nearest' keeps pixels crisp (small images blown up), 'bilinear' is
 * plain bilinear (half-pixel centres), 'area' is the antialiased triangle filter (for shrinking).
 */
export function resizeImage(img: RGBAImage, width: number, height: number, mode: ResizeMode = 'bilinear'): RGBAImage {
  checkImage('resizeImage', img);
  if (width === img.width && height === img.height) return { width, height, data: img.data.slice() };
  if (mode === 'nearest') {
    const data = new Uint8Array(width * height * 4);
    for (let y = 0; y < height; y++) {
      const sy = Math.min(img.height - 1, Math.floor(((y + 0.5) * img.height) / height));
      for (let x = 0; x < width; x++) {
        const sx = Math.min(img.width - 1, Math.floor(((x + 0.5) * img.width) / width));
        const s = 4 * (sy * img.width + sx);
        const d = 4 * (y * width + x);
        data[d] = img.data[s];
        data[d + 1] = img.data[s + 1];
        data[d + 2] = img.data[s + 2];
        data[d + 3] = img.data[s + 3];
      }
    }
    return { width, height, data };
  }
  const resize = mode === 'area' ? resizeAntialias : resizeBilinear;
  return fromPlanes(resize(toPlanes(img), 4, img.height, img.width, height, width), width, height);
}

// ---- overlays and masks ----------------------------------------------------------------------

const luma = (d: Uint8Array, i: number): number => LUMA_601[0] * d[i] + LUMA_601[1] * d[i + 1] + LUMA_601[2] * d[i + 2];

/** The image in BT.601 grey (alpha kept). */
export function toGrey(img: RGBAImage): RGBAImage {
  checkImage('toGrey', img);
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i += 4) {
    const g = Math.round(luma(img.data, i));
    data[i] = data[i + 1] = data[i + 2] = g;
    data[i + 3] = img.data[i + 3];
  }
  return { width: img.width, height: img.height, data };
}

export interface OverlayOptions {
  /** Turn the base grey first (as the prediction difference analysis paper shows its maps). */
  greyBase?: boolean;
  /**
   * Make the heatmap's white (zero) regions transparent: the per-pixel alpha is multiplied by
   * the heat colour's distance from white, 1 - min(r, g, b) / 255, which for the diverging
   * maps is |v| (exactly for 'bwr', within a few % for 'diverging'). For sequential maps render
   * with `transparent: true` instead (the heat image's own alpha channel is always applied).
   */
  alphaFromMagnitude?: boolean;
}

/**
 * Blends a heatmap over a base image: out = base · (1 - a) + heat · a per channel, with
 * a = alpha · heatAlpha / 255 (· magnitude with alphaFromMagnitude). A heatmap of another size
 * is first resized bilinearly to the base's size. The result keeps the base's alpha.
 */
export function overlay(base: RGBAImage, heat: RGBAImage, alpha = 0.5, opts: OverlayOptions = {}): RGBAImage {
  checkImage('overlay', base);
  checkImage('overlay', heat);
  if (!(alpha >= 0 && alpha <= 1)) throw new ShapeError(`overlay: alpha must be in [0, 1], got ${alpha}`);
  const { width, height } = base;
  const h = heat.width === width && heat.height === height ? heat : resizeImage(heat, width, height, 'bilinear');
  const src = base.data;
  const hd = h.data;
  const data = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i += 4) {
    let a = (alpha * hd[i + 3]) / 255;
    if (opts.alphaFromMagnitude) a *= 1 - Math.min(hd[i], hd[i + 1], hd[i + 2]) / 255;
    if (opts.greyBase) {
      const g = luma(src, i);
      for (let c = 0; c < 3; c++) data[i + c] = Math.round(g * (1 - a) + hd[i + c] * a);
    } else {
      for (let c = 0; c < 3; c++) data[i + c] = Math.round(src[i + c] * (1 - a) + hd[i + c] * a);
    }
    data[i + 3] = src[i + 3];
  }
  return { width, height, data };
}

/**
 * A 0/1 mask of the ceil(fraction · n) entries with the largest |value| (exactly that many:
 * ties are broken by position, NaN counts as smallest). fraction in [0, 1].
 */
export function topMask(map: ArrayLike<number>, fraction = 0.05): Uint8Array {
  if (!(fraction >= 0 && fraction <= 1)) throw new ShapeError(`topMask: fraction must be in [0, 1], got ${fraction}`);
  const n = map.length;
  // The small slack keeps 0.07 · 100 = 7.000000000000001 from becoming 8.
  const k = Math.min(n, Math.max(0, Math.ceil(fraction * n - 1e-9)));
  const mask = new Uint8Array(n);
  if (k === 0) return mask;
  const mag = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = Math.abs(map[i]);
    mag[i] = a === a ? a : -1;
  }
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => mag[b] - mag[a] || a - b);
  for (let j = 0; j < k; j++) mask[order[j]] = 1;
  return mask;
}

export interface MaskRenderOptions {
  /** Size of the mask when it differs from the base's (it is scaled up or down by nearest neighbour). */
  maskWidth?: number;
  maskHeight?: number;
  /** Brightness of the grey left outside the mask: 0 black, 1 the full grey image. Default 0.2. */
  dim?: number;
}

/** Shows the base's pixels where the mask is set and a dark grey version of it elsewhere. */
export function renderMask(base: RGBAImage, mask: ArrayLike<number>, opts: MaskRenderOptions = {}): RGBAImage {
  checkImage('renderMask', base);
  const { width, height } = base;
  const mw = opts.maskWidth ?? width;
  const mh = opts.maskHeight ?? height;
  checkMap('renderMask', mask, mh, mw);
  const dim = clamp01(opts.dim ?? 0.2);
  const data = new Uint8Array(base.data.length);
  for (let y = 0; y < height; y++) {
    const my = mh === height ? y : Math.min(mh - 1, Math.floor(((y + 0.5) * mh) / height));
    for (let x = 0; x < width; x++) {
      const mx = mw === width ? x : Math.min(mw - 1, Math.floor(((x + 0.5) * mw) / width));
      const i = 4 * (y * width + x);
      if (mask[my * mw + mx]) {
        data[i] = base.data[i];
        data[i + 1] = base.data[i + 1];
        data[i + 2] = base.data[i + 2];
      } else {
        data[i] = data[i + 1] = data[i + 2] = Math.round(luma(base.data, i) * dim);
      }
      data[i + 3] = base.data[i + 3];
    }
  }
  return { width, height, data };
}

// ---- input tensors back to images ------------------------------------------------------------

export interface TensorImageOptions {
  /** The mean that preprocessing subtracted, in the network's channel order (one value = all channels). */
  mean?: number[];
  /** The factor preprocessing multiplied by (the tensor is divided by it). Default 1. */
  scale?: number;
  /** The tensor's channels are B, G, R (Caffe). */
  bgr?: boolean;
  /** Ignore mean/scale and stretch the tensor's own min..max (over all channels) to 0..255. */
  normalise?: boolean;
}

/**
 * Turns a C×H×W network input (C = 1 or 3) back into a viewable image: undoes
 * `(pixel - mean) · scale` and the BGR order, or min-max normalises. C = 1 gives grey.
 */
export function tensorToImage(chw: ArrayLike<number>, c: number, h: number, w: number, opts: TensorImageOptions = {}): RGBAImage {
  if (c !== 1 && c !== 3) throw new ShapeError(`tensorToImage: images have 1 or 3 channels, got ${c}`);
  checkMap('tensorToImage', chw, c * h, w);
  const n = h * w;
  const mean = opts.mean ?? [];
  if (mean.length !== 0 && mean.length !== 1 && mean.length !== c) throw new ShapeError(`tensorToImage: ${mean.length} mean values for ${c} channels`);
  const scale = opts.scale ?? 1;
  if (!(scale !== 0 && Number.isFinite(scale))) throw new ShapeError(`tensorToImage: bad scale ${scale}`);
  let toPixel: (v: number, ch: number) => number;
  if (opts.normalise) {
    const [lo, hi] = finiteRange(chw);
    toPixel = hi > lo ? (v) => ((v - lo) / (hi - lo)) * 255 : () => 128;
  } else {
    toPixel = (v, ch) => v / scale + (mean.length === 0 ? 0 : mean.length === 1 ? mean[0] : mean[ch]);
  }
  const data = new Uint8Array(4 * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 3; k++) {
      const ch = c === 1 ? 0 : opts.bgr ? 2 - k : k; // output R, G, B from these network channels
      const p = toPixel(chw[ch * n + i], ch);
      data[4 * i + k] = p === p ? Math.max(0, Math.min(255, Math.round(p))) : 0;
    }
    data[4 * i + 3] = 255;
  }
  return { width: w, height: h, data };
}

// ---- text ------------------------------------------------------------------------------------

export interface TextOptions {
  /** Default black. */
  color?: RGB;
  /** Integer magnification of the 5×9 font (each font pixel becomes scale × scale). Default 1. */
  scale?: number;
  /** Fills each line's box (plus a 1-font-pixel margin) first, for text over pictures. */
  background?: RGB;
}

const codePoints = (s: string): string[] => Array.from(s);

/** Size in pixels of text drawn at `scale` (lines split at '\n'). */
export function measureText(text: string, scale = 1): { width: number; height: number } {
  const lines = text.split('\n');
  const cols = Math.max(...lines.map((l) => codePoints(l).length));
  return {
    width: cols > 0 ? (cols * ADVANCE - (ADVANCE - GLYPH_WIDTH)) * scale : 0,
    height: ((lines.length - 1) * LINE_HEIGHT + GLYPH_HEIGHT) * scale,
  };
}

/**
 * Draws text into `img` with its top-left corner at (x, y), clipped to the image; '\n' starts
 * a new line. Printable ASCII and '…' have glyphs; anything else draws as '?'.
 * Returns the drawn size (as measureText).
 */
export function drawText(img: RGBAImage, x: number, y: number, text: string, opts: TextOptions = {}): { width: number; height: number } {
  const color = opts.color ?? [0, 0, 0];
  const s = Math.max(1, Math.round(opts.scale ?? 1));
  const { width: W, height: H, data } = img;
  const fill = (px: number, py: number, c: RGB) => {
    if (px < 0 || py < 0 || px >= W || py >= H) return;
    const i = 4 * (py * W + px);
    data[i] = c[0];
    data[i + 1] = c[1];
    data[i + 2] = c[2];
    data[i + 3] = 255;
  };
  x = Math.round(x);
  y = Math.round(y);
  text.split('\n').forEach((line, li) => {
    const chars = codePoints(line);
    const ly = y + li * LINE_HEIGHT * s;
    if (opts.background && chars.length > 0) {
      const bw = (chars.length * ADVANCE + 1) * s;
      for (let py = ly - s; py < ly + (GLYPH_HEIGHT + 1) * s; py++) for (let px = x - s; px < x + bw; px++) fill(px, py, opts.background);
    }
    chars.forEach((ch, ci) => {
      const rows = glyphRows(ch);
      const gx = x + ci * ADVANCE * s;
      for (let r = 0; r < GLYPH_HEIGHT; r++) {
        const bits = rows[r];
        if (!bits) continue;
        for (let col = 0; col < GLYPH_WIDTH; col++) {
          if (!((bits >> (GLYPH_WIDTH - 1 - col)) & 1)) continue;
          for (let dy = 0; dy < s; dy++) for (let dx = 0; dx < s; dx++) fill(gx + col * s + dx, ly + r * s + dy, color);
        }
      }
    });
  });
  return measureText(text, s);
}

/** Cuts text to at most `maxWidth` pixels at `scale`, ending in '…' when anything was cut. */
export function truncateText(text: string, maxWidth: number, scale = 1): string {
  const chars = codePoints(text);
  const fit = Math.floor((maxWidth / scale + (ADVANCE - GLYPH_WIDTH)) / ADVANCE);
  if (chars.length <= fit) return text;
  if (fit <= 0) return '';
  return chars.slice(0, fit - 1).join('').trimEnd() + '\u2026';
}

/**
 * Splits text into at most `maxLines` lines of at most `maxWidth` pixels, breaking at spaces
 * where it can (inside a word where it must); the last line ends in '…' when text is left over.
 */
export function wrapText(text: string, maxWidth: number, scale = 1, maxLines = 2): string[] {
  const fit = Math.max(1, Math.floor((maxWidth / scale + (ADVANCE - GLYPH_WIDTH)) / ADVANCE));
  const lines: string[] = [];
  let rest = codePoints(text.replace(/\s+/g, ' ').trim());
  while (rest.length > 0 && lines.length < maxLines) {
    if (rest.length <= fit) {
      lines.push(rest.join(''));
      rest = [];
      break;
    }
    if (lines.length === maxLines - 1) {
      lines.push(truncateText(rest.join(''), maxWidth, scale));
      rest = [];
      break;
    }
    // Break at the last space that fits; a word longer than a line is split.
    let cut = rest.lastIndexOf(' ', fit);
    if (cut <= 0) cut = fit;
    lines.push(rest.slice(0, cut).join('').trimEnd());
    rest = rest.slice(rest[cut] === ' ' ? cut + 1 : cut);
  }
  return lines;
}

function textColorFor(bg: RGB): RGB {
  return luminance(bg) > 0.35 ? [20, 20, 20] : [235, 235, 235];
}

// ---- montage ---------------------------------------------------------------------------------

export interface MontageCell {
  image: RGBAImage;
  caption?: string;
}

export interface MontageOptions {
  columns: number;
  /** Side of the square each image is fitted into (aspect kept, centred). Default the largest image side. */
  cellSize?: number;
  /** Space between cells and around the edge, in pixels. Default 8. */
  padding?: number;
  /** Drawn centred on top, one text scale larger than the captions (wrapped to 2 lines). */
  title?: string;
  /** One label per row, drawn at the left of the row, vertically centred. */
  rowLabels?: string[];
  /** Default white. */
  background?: RGB;
  /** Default near-black or near-white, whichever contrasts with the background. */
  textColor?: RGB;
  /** Integer font magnification for captions and row labels. Default 1 below 160-pixel cells, else 2. */
  textScale?: number;
  /** Font magnification of the title. Default textScale + 1. */
  titleScale?: number;
  /** Lines a caption may wrap to before it is cut with '…' (1 or 2). Default 2. */
  captionLines?: number;
  /** How images smaller than the cell are scaled up. Default 'nearest' (crisp MNIST digits, visible map cells). */
  upscale?: 'nearest' | 'bilinear';
  /** A 1-pixel frame of this colour just outside each image (helps white heatmaps on white). Default none. */
  border?: RGB;
}

/** Copies `src` into `dst` at (x, y), compositing by src alpha onto what is there. */
export function paste(dst: RGBAImage, src: RGBAImage, x: number, y: number): void {
  for (let sy = 0; sy < src.height; sy++) {
    const dy = y + sy;
    if (dy < 0 || dy >= dst.height) continue;
    for (let sx = 0; sx < src.width; sx++) {
      const dx = x + sx;
      if (dx < 0 || dx >= dst.width) continue;
      const s = 4 * (sy * src.width + sx);
      const d = 4 * (dy * dst.width + dx);
      const a = src.data[s + 3] / 255;
      if (a >= 1) {
        dst.data[d] = src.data[s];
        dst.data[d + 1] = src.data[s + 1];
        dst.data[d + 2] = src.data[s + 2];
      } else if (a > 0) {
        for (let c = 0; c < 3; c++) dst.data[d + c] = Math.round(dst.data[d + c] * (1 - a) + src.data[s + c] * a);
      }
      dst.data[d + 3] = 255;
    }
  }
}

/** A 1-pixel rectangle outline (clipped to the image). */
function strokeRect(img: RGBAImage, x: number, y: number, w: number, h: number, c: RGB): void {
  const set = (px: number, py: number) => {
    if (px < 0 || py < 0 || px >= img.width || py >= img.height) return;
    img.data.set([c[0], c[1], c[2], 255], 4 * (py * img.width + px));
  };
  for (let i = 0; i < w; i++) {
    set(x + i, y);
    set(x + i, y + h - 1);
  }
  for (let j = 0; j < h; j++) {
    set(x, y + j);
    set(x + w - 1, y + j);
  }
}

/** Scales an image to fit a size×size square, keeping its aspect ratio. */
function fitImage(img: RGBAImage, size: number, upscale: 'nearest' | 'bilinear'): RGBAImage {
  const f = size / Math.max(img.width, img.height);
  const w = Math.max(1, Math.round(img.width * f));
  const h = Math.max(1, Math.round(img.height * f));
  if (w === img.width && h === img.height) return img;
  return resizeImage(img, w, h, f > 1 ? upscale : 'area');
}

/**
 * Lays images out in a grid: each fitted into a square cell, its caption centred under it
 * (wrapped to 2 lines or cut with '…'), an optional title on top and row labels on the left.
 */
export function montage(cells: MontageCell[], opts: MontageOptions): RGBAImage {
  const columns = opts.columns;
  if (!(Number.isInteger(columns) && columns > 0)) throw new ShapeError(`montage: columns must be a positive integer, got ${columns}`);
  if (cells.length === 0) throw new ShapeError('montage: no cells');
  for (const c of cells) checkImage('montage', c.image);
  const cellSize = opts.cellSize ?? Math.max(...cells.map((c) => Math.max(c.image.width, c.image.height)));
  if (!(Number.isInteger(cellSize) && cellSize > 0)) throw new ShapeError(`montage: bad cellSize ${cellSize}`);
  const pad = opts.padding ?? 8;
  const bg = opts.background ?? [255, 255, 255];
  const fg = opts.textColor ?? textColorFor(bg);
  const ts = Math.max(1, Math.round(opts.textScale ?? (cellSize < 160 ? 1 : 2)));
  const titleScale = Math.max(1, Math.round(opts.titleScale ?? ts + 1));
  const maxLines = Math.max(1, Math.round(opts.captionLines ?? 2));
  const rows = Math.ceil(cells.length / columns);
  const lineH = LINE_HEIGHT * ts;

  // Captions: all rows get room for the most lines any caption needs.
  const captions = cells.map((c) => (c.caption ? wrapText(c.caption, cellSize, ts, maxLines) : []));
  const capLines = Math.max(0, ...captions.map((l) => l.length));
  const capGap = capLines > 0 ? Math.max(3, 2 * ts) : 0;
  const capH = capLines > 0 ? capGap + (capLines - 1) * lineH + GLYPH_HEIGHT * ts : 0;

  // Row labels: a column as wide as the widest label, at most one cell.
  const labels = opts.rowLabels ?? [];
  const labelLines = labels.map((l) => wrapText(l, cellSize, ts, Math.max(1, Math.floor((cellSize + capH) / lineH))));
  const labelW = labelLines.length ? Math.max(0, ...labelLines.map((ls) => measureText(ls.join('\n'), ts).width)) : 0;
  const left = pad + (labelW > 0 ? labelW + pad : 0);

  const gridW = columns * cellSize + (columns - 1) * pad;
  const width = left + gridW + pad;
  const titleLines = opts.title ? wrapText(opts.title, width - 2 * pad, titleScale, 2) : [];
  const titleH = titleLines.length ? (titleLines.length - 1) * LINE_HEIGHT * titleScale + GLYPH_HEIGHT * titleScale + pad : 0;
  const rowH = cellSize + capH;
  const top = pad + titleH;
  const height = top + rows * rowH + (rows - 1) * pad + pad;

  const out = createImage(width, height, bg);
  titleLines.forEach((line, i) => {
    const w = measureText(line, titleScale).width;
    drawText(out, Math.floor((width - w) / 2), pad + i * LINE_HEIGHT * titleScale, line, { color: fg, scale: titleScale });
  });
  labelLines.forEach((ls, r) => {
    if (r >= rows || ls.length === 0) return;
    const text = ls.join('\n');
    const m = measureText(text, ts);
    const y0 = top + r * (rowH + pad) + Math.floor((cellSize - m.height) / 2);
    // right-aligned against the grid, each line on its own
    ls.forEach((line, li) => {
      const lw = measureText(line, ts).width;
      drawText(out, left - pad - lw, y0 + li * lineH, line, { color: fg, scale: ts });
    });
  });
  cells.forEach((cell, k) => {
    const r = Math.floor(k / columns);
    const c = k % columns;
    const x0 = left + c * (cellSize + pad);
    const y0 = top + r * (rowH + pad);
    const img = fitImage(cell.image, cellSize, opts.upscale ?? 'nearest');
    const ix = x0 + Math.floor((cellSize - img.width) / 2);
    const iy = y0 + Math.floor((cellSize - img.height) / 2);
    if (opts.border) strokeRect(out, ix - 1, iy - 1, img.width + 2, img.height + 2, opts.border);
    paste(out, img, ix, iy);
    captions[k].forEach((line, li) => {
      const lw = measureText(line, ts).width;
      drawText(out, x0 + Math.floor((cellSize - lw) / 2), y0 + cellSize + capGap + li * lineH, line, { color: fg, scale: ts });
    });
  });
  return out;
}

// ---- colour bar ------------------------------------------------------------------------------

/** Short, readable numbers for legends: 3 significant digits, exponent for very small/large. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e5) return String(Number(v.toPrecision(3)));
  return v.toExponential(1).replace('e+', 'e');
}

export interface ColorbarOptions {
  /** Default 'diverging' over [-1, 1]; sequential maps span [0, 1]. */
  colormap?: Colormap;
  /** Value labels at the ends. Default -1 and 1 for diverging maps, 0 and 1 otherwise. */
  min?: number;
  max?: number;
  /** Bar size in pixels. Default 256 × 12. */
  width?: number;
  height?: number;
  textScale?: number;
  background?: RGB;
  textColor?: RGB;
  /** Drawn centred under the bar between the end labels, e.g. 'relevance'. */
  label?: string;
}

/**
 * A horizontal legend: the colour map as a bar with a thin frame, its min at the left end and
 * max at the right end (and 0 in the middle for diverging maps) printed under it.
 */
export function colorbar(opts: ColorbarOptions = {}): RGBAImage {
  const cm = opts.colormap ?? 'diverging';
  const signed = cm === 'diverging' || cm === 'bwr';
  const fn = colormapFn(cm);
  const lo = opts.min ?? (signed ? -1 : 0);
  const hi = opts.max ?? 1;
  const barW = Math.max(8, Math.round(opts.width ?? 256));
  const barH = Math.max(2, Math.round(opts.height ?? 12));
  const ts = Math.max(1, Math.round(opts.textScale ?? 1));
  const bg = opts.background ?? [255, 255, 255];
  const fg = opts.textColor ?? textColorFor(bg);
  const m = 2 * ts; // margin around the bar, so end labels centred on the ends fit
  const loText = formatNumber(lo);
  const hiText = formatNumber(hi);
  const side = Math.max(measureText(loText, ts).width, measureText(hiText, ts).width) / 2;
  const ox = Math.ceil(Math.max(m, side)) + 1;
  const width = barW + 2 * ox;
  const height = 1 + barH + 1 + m + GLYPH_HEIGHT * ts + m;
  const out = createImage(width, height, bg);
  const frame: RGB = [128, 128, 128];
  for (let x = -1; x <= barW; x++) {
    const t = Math.max(0, Math.min(1, (x + 0.5) / barW));
    const c = x < 0 || x >= barW ? frame : fn(signed ? 2 * t - 1 : t);
    for (let y = 0; y < barH + 2; y++) {
      const edge = y === 0 || y === barH + 1;
      const i = 4 * (y * width + ox + x);
      const col = edge ? frame : c;
      out.data[i] = col[0];
      out.data[i + 1] = col[1];
      out.data[i + 2] = col[2];
    }
  }
  const ty = barH + 2 + m;
  const put = (text: string, cx: number) => {
    const w = measureText(text, ts).width;
    drawText(out, Math.round(Math.max(0, Math.min(width - w, cx - w / 2))), ty, text, { color: fg, scale: ts });
  };
  put(loText, ox);
  put(hiText, ox + barW);
  if (opts.label) put(truncateText(opts.label, barW - 2 * side - 4 * ts, ts), ox + barW / 2);
  else if (signed && lo < 0 && hi > 0) put('0', ox + (barW * -lo) / (hi - lo));
  return out;
}
