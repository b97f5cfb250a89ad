// An embedded 5x9 bitmap font (a 5x7 cell above the baseline plus 2 descender rows) for
// captions, titles and legends drawn into RGBA images. Pure TypeScript, no Node modules.
//
// Covers printable ASCII 32..126, plus U+2026 '…' (for truncated captions). Derived from the
// classic public-domain 5x7 LCD font, with real descenders added for g j p q y , ; and a
// lower underscore. Every other character maps to '?' (see glyphRows).
//
// Encoding: one string of 15 hex digits per character, 5 columns of 3 hex digits each,
// left to right; in a column, bit r (value 1 << r) set means row r (0 = top) is ink.
// Rows 0..6 sit above the baseline (capitals use all 7; lowercase x-height is rows 2..6),
// rows 7..8 hold descenders.

/** Glyph box width in pixels (ink columns). */
export const GLYPH_WIDTH = 5;
/** Glyph box height in pixels, descenders included. */
export const GLYPH_HEIGHT = 9;
/** Horizontal advance per character: glyph width plus 1 column of spacing. */
export const ADVANCE = 6;
/** Vertical distance between lines of text (glyph height plus 2 rows of leading). */
export const LINE_HEIGHT = 11;
/** Row of the baseline (the last row of capitals and digits). */
export const BASELINE = 6;

// ASCII 32..126, in order; the comment after each row lists its characters.
const ASCII_COLUMNS: readonly string[] = [
  '000000000000000', '00000005f000000', '000007000007000', '01407f01407f014', '02402a07f02a012', '023013008064062', '036049055022050', '000005003000000',  //  !"#$%&'
  '00001c022041000', '00004102201c000', '00802a01c02a008', '00800803e008008', '0000e0060000000', '008008008008008', '000060060000000', '020010008004002',  // ()*+,-./
  '03e05104904503e', '00004207f040000', '042061051049046', '02104104504b031', '01801401207f010', '027045045045039', '03c04a049049030', '001071009005003',  // 01234567
  '036049049049036', '00604904902901e', '00006c06c000000', '0000ec06c000000', '008014022041000', '014014014014014', '000041022014008', '002001051009006',  // 89:;<=>?
  '03204907904103e', '07e01101101107e', '07f049049049036', '03e041041041022', '07f04104102201c', '07f049049049041', '07f009009001001', '03e041041051032',  // @ABCDEFG
  '07f00800800807f', '00004107f041000', '02004004103f001', '07f008014022041', '07f040040040040', '07f00200400207f', '07f00400801007f', '03e04104104103e',  // HIJKLMNO
  '07f009009009006', '03e04105102105e', '07f009019029046', '046049049049031', '00100107f001001', '03f04004004003f', '01f02004002001f', '07f02001802007f',  // PQRSTUVW
  '063014008014063', '003004078004003', '061051049045043', '00007f041041000', '002004008010020', '00004104107f000', '004002001002004', '080080080080080',  // XYZ[\]^_
  '000001002004000', '020054054054078', '07f048044044038', '038044044044020', '03804404404807f', '038054054054018', '00807e009001002', '1381441441440fc',  // `abcdefg
  '07f008004004078', '00004407d040000', '1001001040fd000', '00007f010028044', '00004107f040000', '07c004018004078', '07c008004004078', '038044044044038',  // hijklmno
  '1fc044044044038', '0380440440441fc', '07c008004004008', '048054054054020', '00403f044040020', '03c04004002007c', '01c02004002001c', '03c04003004003c',  // pqrstuvw
  '044028010028044', '03c1401401400fc', '04406405404c044', '000008036041000', '00000007f000000', '000041036008000', '010008008010008',  // xyz{|}~
];

const EXTRA_COLUMNS: Readonly<Record<string, string>> = {
  '\u2026': '040000040000040', // … horizontal ellipsis
};

/** Glyphs as rows: GLYPH_HEIGHT numbers, bit (GLYPH_WIDTH - 1 - x) set = ink at column x. */
function toRows(hex: string): Uint8Array {
  const rows = new Uint8Array(GLYPH_HEIGHT);
  for (let x = 0; x < GLYPH_WIDTH; x++) {
    const col = parseInt(hex.slice(3 * x, 3 * x + 3), 16);
    for (let r = 0; r < GLYPH_HEIGHT; r++) if ((col >> r) & 1) rows[r] |= 1 << (GLYPH_WIDTH - 1 - x);
  }
  return rows;
}

const GLYPHS = new Map<number, Uint8Array>();
ASCII_COLUMNS.forEach((hex, i) => GLYPHS.set(32 + i, toRows(hex)));
for (const [ch, hex] of Object.entries(EXTRA_COLUMNS)) GLYPHS.set(ch.codePointAt(0)!, toRows(hex));
const QUESTION = GLYPHS.get(63)!;

/** True when `ch` (one code point) has its own glyph (printable ASCII or one of the extras). */
export function hasGlyph(ch: string): boolean {
  const cp = ch.codePointAt(0);
  return cp !== undefined && GLYPHS.has(cp);
}

/**
 * The rows of the glyph for one character (GLYPH_HEIGHT entries; in each, bit
 * GLYPH_WIDTH-1-x set means column x is ink). Characters without a glyph give '?'.
 */
export function glyphRows(ch: string): Uint8Array {
  const cp = ch.codePointAt(0);
  return (cp !== undefined && GLYPHS.get(cp)) || QUESTION;
}

/** True when the glyph of `ch` has ink at column x, row y. */
export function glyphPixel(ch: string, x: number, y: number): boolean {
  if (x < 0 || x >= GLYPH_WIDTH || y < 0 || y >= GLYPH_HEIGHT) return false;
  return ((glyphRows(ch)[y] >> (GLYPH_WIDTH - 1 - x)) & 1) === 1;
}
