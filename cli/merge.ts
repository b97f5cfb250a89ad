// `loupe merge DIR… --out DIR`: joins the --out folders of a data-set run's shards (or of any runs
// of the same parameters: run.json must match) into one folder that is what one run would have
// written. Per-item results (an image's files, a chunk's tally) are copied (hard-linked where the
// file system allows) with their manifest lines, each checked against its recorded SHA-256; then
// the command's finisher rebuilds the aggregates (an evaluation's table, a dissection's IoU table)
// from every item, as a single run does at its end, so the numbers are the same: exact sums over the
// same items in the same order. Aggregates are manifest entries whose item starts with '@'; they are
// not copied.
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ArgumentError, InputFormatError } from '../engine/errors.ts';
import { Args } from './args.ts';
import { tempName } from './output.ts';
import { MERGE_OPTIONS } from './commands.ts';
import { validateOptions } from '../explainers/options.ts';
import { Manifest, RUN_FILE, canonicalJson, finisherOf, type ManifestEntry, type RunIdentity } from './dataset.ts';

export const isAggregate = (e: ManifestEntry) => e.item.startsWith('@');

/** The run.json of a folder; one line naming it when it is missing or unreadable. */
export function readIdentity(dir: string): RunIdentity {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ArgumentError(`merge: ${dir} is not a folder`);
  const p = join(dir, RUN_FILE);
  if (!existsSync(p)) throw new ArgumentError(`merge: ${dir} has no ${RUN_FILE}: not the --out folder of a data-set run`);
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as RunIdentity;
  } catch (e) {
    throw new InputFormatError(`${p}: not a data-set run's ${RUN_FILE} (${(e as Error).message})`);
  }
}

/** Places a copy of `from` at `to` (a hard link when possible), atomically. */
function place(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  const tmp = tempName(to);
  try {
    try {
      linkSync(from, tmp);
    } catch {
      copyFileSync(from, tmp);
    }
    renameSync(tmp, to);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* not there */
    }
    throw new ArgumentError(`merge: cannot write ${to} (${(e as Error).message})`);
  }
}

export interface MergeSummary {
  sources: number;
  items: number;
  copied: number;
  already: number;
  incomplete: string[];
  aggregates: string[];
}

/** Joins `dirs` into `out` (see the file's header). */
export async function mergeRuns(dirs: readonly string[], out: string): Promise<MergeSummary> {
  if (dirs.length === 0) throw new ArgumentError('merge: give the folders to join (the --out folders of the shards)');
  const ids = dirs.map((d) => readIdentity(d));
  const first = canonicalJson(ids[0]);
  ids.forEach((id, i) => {
    if (canonicalJson(id) !== first) throw new ArgumentError(`merge: ${dirs[i]} is a run with other parameters than ${dirs[0]} (compare their ${RUN_FILE}); only shards of one run can be joined`);
  });
  const target = Manifest.open(out, ids[0]!, '--out');
  const sources = dirs.map((d) => (resolve(d) === resolve(out) ? target : Manifest.open(d, ids[0]!, 'merge:')));
  const chosen = new Map<string, [Manifest, ManifestEntry]>();
  const incomplete: string[] = [];
  for (const m of sources)
    for (const e of m.all()) {
      if (isAggregate(e)) continue;
      if (!m.done(e.item)) {
        incomplete.push(`${m.dir}: ${e.item}`);
        continue;
      }
      const before = chosen.get(e.item);
      if (before) {
        if (canonicalJson(before[1].outputs) !== canonicalJson(e.outputs))
          throw new InputFormatError(`merge: ${before[0].dir} and ${m.dir} hold different results for ${e.item} (its files' SHA-256 differ): the runs were not deterministic, or a file was changed`);
        continue;
      }
      chosen.set(e.item, [m, e]);
    }
  let copied = 0, already = 0;
  for (const [item, [m, e]] of [...chosen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (m === target || target.done(item)) {
      already++;
      continue;
    }
    for (const o of e.outputs) place(join(m.dir, o.file), join(out, o.file));
    const { run: _run, ...rest } = e;
    target.record(rest);
    copied++;
  }
  const finish = finisherOf(ids[0]!.command);
  const aggregates = finish ? await finish(target) : [];
  return { sources: dirs.length, items: chosen.size, copied, already, incomplete, aggregates };
}

/** `loupe merge DIR… --out DIR`. */
export async function mergeCommand(argv: string[]): Promise<number> {
  const args = new Args(argv, MERGE_OPTIONS, 'merge');
  const { out } = validateOptions(MERGE_OPTIONS, args.given(MERGE_OPTIONS), {}, 'merge') as { out: string };
  const dirs = args.positional;
  await import('./dataset-commands.ts'); // the commands register their finishers
  const s = await mergeRuns(dirs, out);
  for (const f of s.aggregates) console.log(f);
  if (s.incomplete.length) console.error(`loupe: warning: ${s.incomplete.length} item${s.incomplete.length > 1 ? 's' : ''} left out, their files missing or changed since the manifest recorded them (${s.incomplete.slice(0, 3).join('; ')}${s.incomplete.length > 3 ? '; …' : ''}): rerun those shards to compute them again`);
  console.log(`${join(out, 'manifest.jsonl')}: ${s.items} items from ${s.sources} folder${s.sources > 1 ? 's' : ''} (${s.copied} copied, ${s.already} already there)`);
  return 0;
}
