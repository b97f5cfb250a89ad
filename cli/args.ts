// A small argument parser driven by option schemas (explainers/options.ts): `--key value`,
// `--key=value`, boolean `--flag`, repeatable keys collect; flags are the kebab-case of the
// schema's names. `parseCommand` also validates: typed values, defaults and bounds from the
// schema, so a command's help and its code read the same declaration.
import { ArgumentError } from '../engine/errors.ts';
import { flagName, validateOptions, type OptionContext, type OptionSpec, type Options } from '../explainers/options.ts';

export class Args {
  private vals = new Map<string, string[]>();
  private flagSet = new Set<string>();
  readonly positional: string[] = [];

  constructor(argv: string[], readonly specs: readonly OptionSpec[], command: string) {
    const byFlag = new Map(specs.map((s) => [flagName(s.name), s]));
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (!a.startsWith('--')) {
        this.positional.push(a);
        continue;
      }
      const eq = a.indexOf('=');
      const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
      const spec = byFlag.get(key);
      if (!spec) throw new ArgumentError(`${command}: unknown option --${key}; options are ${[...byFlag.keys()].map((k) => `--${k}`).join(', ')}`);
      if (spec.type === 'flag') {
        this.flagSet.add(key);
        continue;
      }
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new ArgumentError(`${command}: --${key} needs a value`);
      const list = this.vals.get(key) ?? [];
      if (list.length > 0 && !spec.repeatable) throw new ArgumentError(`${command}: --${key} given twice`);
      list.push(v);
      this.vals.set(key, list);
    }
  }

  get(key: string): string | undefined {
    return this.vals.get(key)?.[0];
  }
  all(key: string): string[] {
    return this.vals.get(key) ?? [];
  }
  flag(key: string): boolean {
    return this.flagSet.has(key);
  }
  num(key: string): number | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new ArgumentError(`--${key} must be a number, got "${v}"`);
    return n;
  }
  numbers(key: string): number[] | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    const ns = v.split(',').map(Number);
    if (ns.some((n) => !Number.isFinite(n))) throw new ArgumentError(`--${key} must be comma-separated numbers, got "${v}"`);
    return ns;
  }

  /** What was given, by schema name: strings (lists for repeatable options), `true` for flags. */
  given(specs: readonly OptionSpec[] = this.specs): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const s of specs) {
      const f = flagName(s.name);
      if (s.type === 'flag') {
        if (this.flagSet.has(f)) out[s.name] = true;
      } else if (this.vals.has(f)) out[s.name] = s.repeatable ? this.all(f) : this.get(f);
    }
    return out;
  }
}

/** Parses and validates a command's arguments against its schema. */
export function parseCommand<const S extends readonly OptionSpec[]>(argv: string[], specs: S, command: string, ctx: OptionContext = {}): { args: Args; o: Options<S> } {
  const args = new Args(argv, specs, command);
  return { args, o: validateOptions(specs, args.given(), ctx, command) };
}
