// A small argument parser: `--key value`, `--key=value`, boolean `--flag`, repeated keys collect.
import { ArgumentError } from '../engine/errors.ts';

export interface ArgSpec {
  values: string[]; // options that take a value
  flags: string[]; // boolean options
  repeatable?: string[];
}

export class Args {
  private vals = new Map<string, string[]>();
  private flagSet = new Set<string>();
  readonly positional: string[] = [];

  constructor(argv: string[], spec: ArgSpec, command: string) {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (!a.startsWith('--')) {
        this.positional.push(a);
        continue;
      }
      const eq = a.indexOf('=');
      const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (spec.flags.includes(key)) {
        this.flagSet.add(key);
        continue;
      }
      if (!spec.values.includes(key)) {
        const all = [...spec.values, ...spec.flags].map((k) => `--${k}`).join(', ');
        throw new ArgumentError(`${command}: unknown option --${key}; options are ${all}`);
      }
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new ArgumentError(`${command}: --${key} needs a value`);
      const list = this.vals.get(key) ?? [];
      if (list.length > 0 && !spec.repeatable?.includes(key)) throw new ArgumentError(`${command}: --${key} given twice`);
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
  need(key: string, command: string): string {
    const v = this.get(key);
    if (v === undefined) throw new ArgumentError(`${command}: --${key} is required`);
    return v;
  }
  flag(key: string): boolean {
    return this.flagSet.has(key);
  }
  int(key: string, def: number, min = -Infinity, max = Infinity): number {
    const v = this.get(key);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new ArgumentError(`--${key} must be an integer in [${min}, ${max}], got "${v}"`);
    return n;
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
}
