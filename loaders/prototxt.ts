// A parser for the protobuf TEXT format (what Caffe .prototxt files are written in).
//
// Grammar handled (a superset of what Caffe files use):
//   message   := field*
//   field     := NAME ':'? '{' message '}'       (also '<' ... '>')
//              | NAME ':' scalar
//              | NAME ':'? '[' (item (',' item)*)? ']'   (a list: each item is one more value of the field)
//   scalar    := number | string+ | identifier   (adjacent strings concatenate)
//   number    := [-+]? (decimal | 0x hex | float with . / exponent, optional f suffix) | [-]inf | [-]infinity | nan
//   Fields may be followed by ',' or ';'.  '#' starts a comment to the end of the line.
//
// The result is a tree of TextMessage, where every field holds an array of values (repeated-safe).
// Values: number, string (quoted strings and bare identifiers such as enum names MAX / ACROSS_CHANNELS),
// boolean (`true`/`false` identifiers), or a nested TextMessage.
// No Node-only APIs here: callers pass the text.

import { ModelFormatError } from '../engine/errors.ts';

export type TextValue = number | string | boolean | TextMessage;

export class TextMessage {
  /** Fields in the order first seen; each holds all of its values in file order. */
  readonly fields = new Map<string, TextValue[]>();
  constructor(
    /** Where the message starts (1-based), for error messages. */
    readonly line = 1,
    readonly col = 1,
  ) {}

  add(key: string, v: TextValue): void {
    const a = this.fields.get(key);
    if (a) a.push(v);
    else this.fields.set(key, [v]);
  }
  has(key: string): boolean {
    return this.fields.has(key);
  }
  /** All values of a field ([] when absent). */
  all(key: string): TextValue[] {
    return this.fields.get(key) ?? [];
  }
  /** The last value of a field (protobuf semantics for a non-repeated field set twice), or undefined. */
  get(key: string): TextValue | undefined {
    const a = this.fields.get(key);
    return a ? a[a.length - 1] : undefined;
  }
  /** All nested messages of a field. */
  msgs(key: string): TextMessage[] {
    return this.all(key).filter((v): v is TextMessage => v instanceof TextMessage);
  }
  /** The last nested message of a field, or undefined. */
  msg(key: string): TextMessage | undefined {
    const m = this.msgs(key);
    return m[m.length - 1];
  }
  /** A numeric field, or `def` when absent. Throws if present but not a number. */
  num(key: string, def: number): number;
  num(key: string): number | undefined;
  num(key: string, def?: number): number | undefined {
    const v = this.get(key);
    if (v === undefined) return def;
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (typeof v !== 'number') throw new TypeError(`field "${key}" is not a number (${describe(v)})`);
    return v;
  }
  /** All values of a repeated numeric field. */
  nums(key: string): number[] {
    return this.all(key).map((v) => {
      if (typeof v !== 'number') throw new TypeError(`field "${key}" is not a number (${describe(v)})`);
      return v;
    });
  }
  /** A string or enum-identifier field, or `def` when absent. */
  str(key: string, def: string): string;
  str(key: string): string | undefined;
  str(key: string, def?: string): string | undefined {
    const v = this.get(key);
    if (v === undefined) return def;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (typeof v !== 'string') throw new TypeError(`field "${key}" is not a string (${describe(v)})`);
    return v;
  }
  /** All values of a repeated string field. */
  strs(key: string): string[] {
    return this.all(key).map((v) => {
      if (v instanceof TextMessage) throw new TypeError(`field "${key}" is not a string (${describe(v)})`);
      return String(v);
    });
  }
  /** A boolean field (true/false, or 1/0 as protobuf text also allows), or `def`. */
  bool(key: string, def: boolean): boolean {
    const v = this.get(key);
    if (v === undefined) return def;
    if (typeof v === 'boolean') return v;
    if (v === 1 || v === 'True' || v === 't') return true;
    if (v === 0 || v === 'False' || v === 'f') return false;
    throw new TypeError(`field "${key}" is not a boolean (${describe(v)})`);
  }
}

function describe(v: TextValue): string {
  return v instanceof TextMessage ? 'a message' : JSON.stringify(v);
}

type Tok =
  | { t: 'ident'; v: string; line: number; col: number }
  | { t: 'num'; v: number; line: number; col: number }
  | { t: 'str'; v: string; line: number; col: number }
  | { t: 'punct'; v: string; line: number; col: number }
  | { t: 'eof'; v: ''; line: number; col: number };

/**
 * How deep messages may nest: protobuf's own text parser (what Caffe reads a .prototxt with) stops
 * at 100 too. A real net nests four levels; a deeper file is hostile, and would overflow the stack.
 */
export const MAX_DEPTH = 100;

/** Parse protobuf text; `fileName` goes into error messages as `file:line:col`. */
export function parsePrototxt(text: string, fileName = '<prototxt>'): TextMessage {
  let pos = 0;
  let line = 1;
  let lineStart = 0;
  const fail = (msg: string, l = line, c = pos - lineStart + 1): never => {
    throw new ModelFormatError(`${fileName}:${l}:${c}: ${msg}`);
  };

  const isIdStart = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
  const isIdChar = (c: string) => isIdStart(c) || (c >= '0' && c <= '9') || c === '.' || c === '/';
  const isDigit = (c: string) => c >= '0' && c <= '9';

  function skipSpace(): void {
    while (pos < text.length) {
      const c = text[pos]!;
      if (c === '\n') {
        pos++;
        line++;
        lineStart = pos;
      } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v' || c === '\uFEFF') pos++;
      else if (c === '#') {
        while (pos < text.length && text[pos] !== '\n') pos++;
      } else break;
    }
  }

  function readString(quote: string, l: number, c0: number): string {
    pos++; // opening quote
    const bytes: number[] = []; // collect UTF-8 bytes so that octal/hex escapes of multi-byte text decode right
    const enc = new TextEncoder();
    while (true) {
      if (pos >= text.length) fail(`unterminated string`, l, c0);
      const c = text[pos]!;
      if (c === '\n') fail(`unterminated string (newline inside quotes)`, l, c0);
      if (c === quote) {
        pos++;
        break;
      }
      if (c === '\\') {
        const e = text[pos + 1];
        if (e === undefined) fail(`unterminated string`, l, c0);
        pos += 2;
        switch (e) {
          case 'n': bytes.push(10); break;
          case 't': bytes.push(9); break;
          case 'r': bytes.push(13); break;
          case 'a': bytes.push(7); break;
          case 'b': bytes.push(8); break;
          case 'f': bytes.push(12); break;
          case 'v': bytes.push(11); break;
          case '\\': bytes.push(92); break;
          case "'": bytes.push(39); break;
          case '"': bytes.push(34); break;
          case '?': bytes.push(63); break;
          case 'x':
          case 'X': {
            let h = '';
            while (h.length < 2 && /[0-9a-fA-F]/.test(text[pos] ?? '')) h += text[pos++];
            if (!h) fail(`bad \\x escape in string`);
            bytes.push(parseInt(h, 16));
            break;
          }
          case 'u':
          case 'U': {
            const n = e === 'u' ? 4 : 8;
            const h = text.slice(pos, pos + n);
            if (h.length !== n || !/^[0-9a-fA-F]+$/.test(h)) fail(`bad \\${e} escape in string`);
            pos += n;
            const cp = parseInt(h, 16);
            if (cp > 0x10ffff) fail(`bad \\${e} escape in string`);
            bytes.push(...enc.encode(String.fromCodePoint(cp)));
            break;
          }
          default:
            if (e! >= '0' && e! <= '7') {
              let o = e!;
              while (o.length < 3 && text[pos]! >= '0' && text[pos]! <= '7') o += text[pos++];
              bytes.push(parseInt(o, 8) & 0xff);
            } else fail(`unknown escape \\${e} in string`, line, pos - lineStart - 1);
        }
        continue;
      }
      // plain character (may be a surrogate pair)
      const cp = text.codePointAt(pos)!;
      const s = String.fromCodePoint(cp);
      bytes.push(...enc.encode(s));
      pos += s.length;
    }
    return new TextDecoder().decode(new Uint8Array(bytes));
  }

  function next(): Tok {
    skipSpace();
    const l = line;
    const c0 = pos - lineStart + 1;
    if (pos >= text.length) return { t: 'eof', v: '', line: l, col: c0 };
    const c = text[pos]!;
    if (c === '"' || c === "'") return { t: 'str', v: readString(c, l, c0), line: l, col: c0 };
    if (isDigit(c) || ((c === '-' || c === '+' || c === '.') && pos + 1 < text.length)) {
      // number, or -inf / -nan
      const m = /^[-+]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?[fF]?|inf(?:inity)?|nan)/i.exec(text.slice(pos, pos + 64));
      if (m && (isDigit(c) || m[0].length > 1)) {
        const s = m[0];
        const after = text[pos + s.length];
        if (after !== undefined && isIdChar(after))
          fail(`invalid number "${s}${after}"`);
        pos += s.length;
        return { t: 'num', v: parseNumber(s), line: l, col: c0 };
      }
      if (c !== '.' && c !== '-' && c !== '+') fail(`unexpected character "${c}"`);
    }
    if (isIdStart(c)) {
      let e = pos + 1;
      while (e < text.length && isIdChar(text[e]!)) e++;
      const v = text.slice(pos, e);
      pos = e;
      return { t: 'ident', v, line: l, col: c0 };
    }
    if ('{}<>[]:,;'.includes(c)) {
      pos++;
      return { t: 'punct', v: c, line: l, col: c0 };
    }
    return fail(`unexpected character ${JSON.stringify(c)}`);
  }

  function parseNumber(s: string): number {
    const lower = s.toLowerCase();
    const neg = lower.startsWith('-');
    const body = lower.replace(/^[-+]/, '');
    if (body === 'inf' || body === 'infinity') return neg ? -Infinity : Infinity;
    if (body === 'nan') return NaN;
    if (body.startsWith('0x')) {
      const v = parseInt(body.slice(2), 16);
      return neg ? -v : v;
    }
    const v = Number(body.endsWith('f') ? body.slice(0, -1) : body);
    if (Number.isNaN(v)) fail(`invalid number "${s}"`);
    return neg ? -v : v;
  }

  let tok = next();
  // a function, so that TypeScript does not narrow `tok` across advance() calls
  const isP = (v: string | null): boolean => {
    const t: Tok = tok;
    return t.t === 'punct' && t.v === v;
  };
  const isEof = (): boolean => (tok as Tok).t === 'eof';
  const advance = () => {
    tok = next();
  };
  const failAt = (t: Tok, msg: string): never => fail(msg, t.line, t.col);
  const show = (t: Tok) => (t.t === 'eof' ? 'end of file' : t.t === 'str' ? JSON.stringify(t.v) : `"${String(t.v)}"`);

  function scalarOf(t: Tok): TextValue {
    if (t.t === 'num') return t.v;
    if (t.t === 'ident') {
      const lower = t.v.toLowerCase();
      if (t.v === 'true' || t.v === 'True') return true;
      if (t.v === 'false' || t.v === 'False') return false;
      if (lower === 'inf' || lower === 'infinity') return Infinity;
      if (lower === 'nan') return NaN;
      return t.v;
    }
    return failAt(t, `expected a value, found ${show(t)}`);
  }

  function parseValue(): TextValue {
    if ((isP('{') || isP('<'))) return parseMessageBody();
    if (tok.t === 'str') {
      let s = tok.v;
      advance();
      while (tok.t === 'str') {
        s += tok.v;
        advance();
      }
      return s;
    }
    const v = scalarOf(tok);
    advance();
    return v;
  }

  let depth = 0;
  function parseMessageBody(): TextMessage {
    const open = tok;
    if (++depth > MAX_DEPTH) failAt(open, `messages nested more than ${MAX_DEPTH} levels deep`);
    const close = open.v === '{' ? '}' : '>';
    advance();
    const m = new TextMessage(open.line, open.col);
    parseFields(m, close, open);
    depth--;
    return m;
  }

  function parseFields(m: TextMessage, close: string | null, open?: Tok): void {
    while (true) {
      if (tok.t === 'eof') {
        if (close === null) return;
        failAt(tok, `unexpected end of file: missing "${close}" for the message opened at ${open!.line}:${open!.col}`);
      }
      if (isP(close)) {
        advance();
        return;
      }
      if (isP('[')) {
        // extension / Any type URL names: [foo.bar] { ... } -- read the bracketed name as the key
        const start = tok;
        let key = '';
        advance();
        while (!(isP(']'))) {
          if (isEof()) failAt(start, `unterminated "[" field name`);
          key += String(tok.v);
          advance();
        }
        advance();
        parseFieldRest(m, `[${key}]`);
        continue;
      }
      if (tok.t !== 'ident') failAt(tok, `expected a field name, found ${show(tok)}`);
      const keyTok = tok;
      advance();
      parseFieldRest(m, keyTok.v as string);
    }
  }

  function parseFieldRest(m: TextMessage, key: string): void {
    let colon = false;
    if (isP(':')) {
      colon = true;
      advance();
    }
    if (isP('[')) {
      // list: key: [a, b, c]  or  key [ {..}, {..} ]
      advance();
      if (!(isP(']'))) {
        while (true) {
          m.add(key, parseValue());
          if (isP(',')) {
            advance();
            continue;
          }
          if (isP(']')) break;
          failAt(tok, `expected "," or "]" in the list of "${key}", found ${show(tok)}`);
        }
      }
      advance();
    } else if ((isP('{') || isP('<'))) {
      m.add(key, parseMessageBody());
    } else {
      if (!colon) failAt(tok, `expected ":" or "{" after field name "${key}", found ${show(tok)}`);
      if (tok.t === 'punct' || tok.t === 'eof') failAt(tok, `expected a value for "${key}", found ${show(tok)}`);
      m.add(key, parseValue());
    }
    if ((isP(',') || isP(';'))) advance();
  }

  const root = new TextMessage(1, 1);
  parseFields(root, null);
  return root;
}
