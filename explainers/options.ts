// Declared options: one schema per explainer (and per CLI command) drives parsing, defaults,
// bounds, the help text, the README and a browser form. Values arrive as strings (command line,
// form fields) or already typed (library calls); `validateOptions` turns either into typed
// values with the defaults applied, and throws ArgumentError naming the option (as its flag,
// `--kebab-case`). No Node modules: the browser uses it too.
import { ArgumentError } from '../engine/errors.ts';

/** What validation may know about the model and its inputs: dynamic bounds and defaults, class labels. */
export interface OptionContext {
  /** the model's input, channels × height × width */
  input?: { channels: number; height: number; width: number };
  /** class names, so that classes can be given by label */
  labels?: string[];
  /** pixels 0..255 → network units (the preprocessing scale), for defaults given in pixel units */
  scale?: number;
}

/** A default or bound that depends on the model or on other options: its value, and how help writes it. */
export interface Derived<T> {
  text: string;
  value: (ctx: OptionContext, options: Record<string, unknown>) => T;
}

/** A default the method decides when it runs (the logits, the first 16 neurons): undefined here, `text` in help. */
export const decidedLater = (text: string): Derived<undefined> => ({ text, value: () => undefined });

/** A file's contents, as the CLI reads it or a page's file input gives it. */
export interface FileInput {
  name: string;
  bytes: Uint8Array;
}

/**
 * int, number (with bounds), string, enum (one of `values`), flag, layer (one name), layers (a
 * comma-separated list), classes (indices or labels), neurons (ranges like 0-9,12), numbers
 * (comma-separated), file (contents: { name, bytes }), path (a file name a CLI command opens itself).
 */
export type OptionType = 'int' | 'number' | 'string' | 'enum' | 'flag' | 'layer' | 'layers' | 'classes' | 'neurons' | 'numbers' | 'file' | 'path';

interface Common<T> {
  /** camelCase key; the command-line flag is its kebab-case (`patchModel` → `--patch-model`) */
  name: string;
  help: string;
  default?: T | Derived<T> | Derived<undefined>;
  required?: boolean;
  /** placeholder in synopses (`K`, `FILE`); the default value stands there when there is one */
  arg?: string;
  /** may be given more than once (values collect) */
  repeatable?: boolean;
  /** options that must not be given together with this one */
  conflicts?: readonly string[];
  /** options shown as one group in synopses: the model, the inputs, the preprocessing */
  group?: 'model' | 'input' | 'preprocess';
}

export type OptionSpec =
  | (Common<number> & { type: 'int' | 'number'; min?: number | Derived<number | undefined>; max?: number | Derived<number | undefined>; exclusive?: boolean })
  | (Common<string> & { type: 'string' | 'layer' | 'path' })
  | (Common<string> & { type: 'enum'; values: readonly string[] })
  | (Common<boolean> & { type: 'flag' })
  | (Common<string[]> & { type: 'layers' })
  | (Common<number[]> & { type: 'classes' | 'neurons' | 'numbers' })
  /** `keywords`: words the option also takes instead of a file (`--baseline black|blur|noise|FILE.npy`) */
  | (Common<FileInput | string> & { type: 'file'; keywords?: readonly string[] });

type ValueOf<S> = S extends { type: 'int' | 'number' }
  ? number
  : S extends { type: 'flag' }
    ? boolean
    : S extends { type: 'classes' | 'neurons' | 'numbers' }
      ? number[]
      : S extends { type: 'layers' }
        ? string[]
        : S extends { type: 'file'; keywords: readonly (infer K)[] }
          ? FileInput | K
          : S extends { type: 'file' }
          ? FileInput
          : S extends { type: 'enum'; values: readonly (infer V)[] }
            ? V
            : S extends { repeatable: true }
              ? string[]
              : string;

/** The typed options a schema validates to: options with a default (not one decided later), flags and required ones are always set. */
export type Options<S extends readonly OptionSpec[]> = {
  [K in S[number] as K['name']]: K extends { default: Derived<undefined> }
    ? ValueOf<K> | undefined
    : K extends { default: unknown } | { required: true } | { type: 'flag' }
      ? ValueOf<K>
      : ValueOf<K> | undefined;
};

export const flagName = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

const isDerived = <T>(v: T | Derived<T | undefined> | undefined): v is Derived<T | undefined> => typeof v === 'object' && v !== null && 'value' in v && 'text' in v;

function resolve<T>(v: T | Derived<T | undefined> | undefined, ctx: OptionContext, opts: Record<string, unknown>): T | undefined {
  return isDerived(v) ? v.value(ctx, opts) : v;
}

/** How help writes a default or bound. */
export function describeValue(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (isDerived(v)) return v.text;
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

/** Parses "0-9", "3,7,281" or "0-3,10" into indices. */
export function parseRanges(spec: string, flag: string): number[] {
  const out: number[] = [];
  for (const part of spec.split(',').map((s) => s.trim()).filter((s) => s)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new ArgumentError(`${flag}: "${part}" is not an index or a range like 0-9`);
    const a = Number(m[1]), b = Number(m[2] ?? m[1]);
    if (b < a) throw new ArgumentError(`${flag}: empty range ${part}`);
    for (let i = a; i <= b; i++) out.push(i);
  }
  if (out.length === 0) throw new ArgumentError(`${flag}: no index given`);
  return out;
}

/** Class indices from "243", "tabby,243" or "bull mastiff": each an index or, with labels, a label (or one of its comma-separated names). */
/** The index of the label `name` names (the whole label or one of its comma-separated synonyms, any case), or -1. */
export function labelIndex(labels: readonly string[], name: string): number {
  const want = name.trim().toLowerCase();
  return labels.findIndex((l) => l.toLowerCase() === want || l.toLowerCase().split(',').map((x) => x.trim()).includes(want));
}

export function parseClasses(spec: string, labels: string[] | undefined, flag = '--class'): number[] {
  const out = spec.split(',').map((t) => t.trim()).filter((t) => t).map((t) => {
    if (/^\d+$/.test(t)) return Number(t);
    if (labels) {
      const i = labelIndex(labels, t);
      if (i >= 0) return i;
      throw new ArgumentError(`${flag} "${t}" matches no label in the labels file`);
    }
    throw new ArgumentError(`${flag} must be class indices (or labels, with --labels), got "${t}"`);
  });
  if (out.length === 0) throw new ArgumentError(`${flag}: no class given`);
  return out;
}

function boundsText(min: number | string | undefined, max: number | string | undefined, exclusive: boolean): string {
  const [lo, hi] = exclusive ? ['(', ')'] : ['[', ']'];
  if (min !== undefined && max !== undefined) return ` in ${lo}${min}, ${max}${hi}`;
  if (min !== undefined) return exclusive ? ` > ${min}` : ` ≥ ${min}`;
  if (max !== undefined) return exclusive ? ` < ${max}` : ` ≤ ${max}`;
  return '';
}

const show = (v: unknown) => (typeof v === 'string' ? v : Array.isArray(v) ? v.join(',') : String(v));

function parseOne(spec: OptionSpec, v: unknown, ctx: OptionContext, done: Record<string, unknown>): unknown {
  const flag = `--${flagName(spec.name)}`;
  switch (spec.type) {
    case 'int':
    case 'number': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      const min = resolve(spec.min, ctx, done), max = resolve(spec.max, ctx, done);
      const ex = spec.exclusive ?? false;
      const inside = (min === undefined || (ex ? n > min : n >= min)) && (max === undefined || (ex ? n < max : n <= max));
      if (!(spec.type === 'int' ? Number.isInteger(n) : Number.isFinite(n)) || !inside)
        throw new ArgumentError(`${flag} must be ${spec.type === 'int' ? 'an integer' : 'a number'}${boundsText(min, max, ex)}, got "${show(v)}"`);
      return n;
    }
    case 'enum':
      if (typeof v !== 'string' || !spec.values.includes(v))
        throw new ArgumentError(`${flag} must be ${spec.values.slice(0, -1).join(', ')} or ${spec.values.at(-1)}, got "${show(v)}"`);
      return v;
    case 'flag':
      if (typeof v === 'boolean') return v;
      if (v === 'true' || v === '1') return true;
      if (v === 'false' || v === '0') return false;
      throw new ArgumentError(`${flag} is a flag (true or false), got "${show(v)}"`);
    case 'string':
    case 'layer':
    case 'path':
      if (spec.repeatable) {
        const list = (Array.isArray(v) ? v : [v]).map(String);
        if (list.some((s) => s === '')) throw new ArgumentError(`${flag} needs a value`);
        return list;
      }
      if (typeof v !== 'string' || v === '') throw new ArgumentError(`${flag} needs ${spec.type === 'layer' ? 'a layer name' : 'a value'}, got "${show(v)}"`);
      return v;
    case 'layers': {
      const list = (Array.isArray(v) ? v.map(String) : String(v).split(',')).map((s) => s.trim()).filter((s) => s);
      if (list.length === 0) throw new ArgumentError(`${flag} needs at least one layer name`);
      return list;
    }
    case 'classes':
      if (Array.isArray(v) && v.every((k) => typeof k === 'number')) return v;
      return parseClasses(show(v), ctx.labels, flag);
    case 'neurons':
      if (Array.isArray(v) && v.every((k) => Number.isInteger(k) && k >= 0)) return v;
      return parseRanges(show(v), flag);
    case 'numbers': {
      const ns = Array.isArray(v) ? v.map(Number) : String(v).split(',').map(Number);
      if (ns.length === 0 || ns.some((n) => !Number.isFinite(n))) throw new ArgumentError(`${flag} must be comma-separated numbers, got "${show(v)}"`);
      return ns;
    }
    case 'file': {
      if (typeof v === 'string' && spec.keywords?.includes(v)) return v;
      const f = v as Partial<FileInput> | undefined;
      if (!f || typeof f.name !== 'string' || !(f.bytes instanceof Uint8Array))
        throw new ArgumentError(`${flag} must be ${spec.keywords ? `${spec.keywords.join(', ')} or ` : ''}a file's contents ({ name, bytes })${typeof v === 'string' ? `, got "${v}"` : ''}`);
      return f;
    }
  }
}

/**
 * Checks `given` against `specs` and returns every option typed, defaults applied (in the
 * schema's order, so a default may depend on an earlier option). Unknown options, missing
 * required ones, values out of bounds and conflicting pairs throw ArgumentError naming the flag.
 */
export function validateOptions<const S extends readonly OptionSpec[]>(specs: S, given: Record<string, unknown>, ctx: OptionContext = {}, who = 'options'): Options<S> {
  const known = new Set(specs.map((s) => s.name));
  for (const k of Object.keys(given))
    if (!known.has(k) && given[k] !== undefined)
      throw new ArgumentError(`${who}: unknown option --${flagName(k)}; options are ${specs.map((s) => `--${flagName(s.name)}`).join(', ')}`);
  const isGiven = (k: string) => given[k] !== undefined && !(given[k] === false && specs.find((s) => s.name === k)?.type === 'flag');
  const out: Record<string, unknown> = {};
  for (const spec of specs) {
    for (const other of spec.conflicts ?? [])
      if (isGiven(spec.name) && isGiven(other)) throw new ArgumentError(`give --${flagName(other)} or --${flagName(spec.name)}, not both`);
    const v = given[spec.name];
    if (v === undefined) {
      if (spec.required) throw new ArgumentError(`${who}: --${flagName(spec.name)} is required`);
      out[spec.name] = spec.type === 'flag' ? (resolve(spec.default, ctx, out) ?? false) : resolve(spec.default as unknown, ctx, out);
    } else out[spec.name] = parseOne(spec, v, ctx, out);
  }
  return out as Options<S>;
}

// ---- help text ----------------------------------------------------------------------------------

const PLACEHOLDER: Record<OptionType, string> = {
  int: 'N', number: 'X', string: 'S', enum: '', flag: '', layer: 'L', layers: 'L[,L2,...]', classes: 'C[,C2,...]', neurons: '0-9,12', numbers: 'a,b,...', file: 'FILE', path: 'FILE',
};

/** `--window 10`, `--patch-model FILE`, `--sampling conditional|marginal`, `--full`: an option as synopses write it. */
export function optionUsage(spec: OptionSpec, withDefault = true): string {
  const flag = `--${flagName(spec.name)}`;
  if (spec.type === 'flag') return flag;
  const def = withDefault ? describeValue(spec.default) : undefined; // a derived default stands here when it is one word
  const arg = (def !== undefined && !def.includes(' ') ? def : undefined) ?? spec.arg ?? (spec.type === 'enum' ? spec.values.join('|') : PLACEHOLDER[spec.type]);
  return `${flag} ${arg}${spec.repeatable ? ' ...' : ''}`;
}

/** The options of a synopsis: required ones bare, the others in brackets. */
export function synopsis(specs: readonly OptionSpec[]): string {
  return specs.map((s) => (s.required ? optionUsage(s) : `[${optionUsage(s)}]`)).join(' ');
}

/** One line per option: usage, help, type and bounds, default. */
export function optionLines(specs: readonly OptionSpec[]): string[] {
  const rows = specs.map((s) => {
    const facts: string[] = [];
    if (s.type === 'int' || s.type === 'number') {
      const b = boundsText(describeValue(s.min), describeValue(s.max), s.exclusive ?? false).trim();
      facts.push(`${s.type === 'int' ? 'integer' : 'number'}${b ? ` ${b}` : ''}`);
    } else if (s.type === 'enum') facts.push(`one of ${s.values.join(', ')}`);
    else if (s.type === 'file' && s.keywords) facts.push(`one of ${s.keywords.join(', ')}, or a file`);
    if (s.required) facts.push('required');
    const def = describeValue(s.default);
    if (def !== undefined && s.type !== 'flag') facts.push(`default ${def}`);
    return [optionUsage(s, false), `${s.help}${facts.length ? ` (${facts.join('; ')})` : ''}`] as const;
  });
  const w = Math.min(32, Math.max(...rows.map(([u]) => u.length)));
  return rows.map(([u, h]) => (u.length > w ? `  ${u}\n  ${' '.repeat(w)}  ${h}` : `  ${u.padEnd(w)}  ${h}`));
}
