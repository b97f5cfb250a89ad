// Data-set runs: one command over many images into an --out folder, resumable, shardable, and the
// unit of work a queue worker runs (cli/queue.ts).
//
// The folder holds run.json (what is computed: the command and every parameter that changes a
// result, the model's and each file option's SHA-256 included; a rerun with other parameters is
// refused rather than mixed in), one result set per image (or per chunk of a tally), and
// manifest.jsonl: one line per finished item, appended with one write and fsync after its files
// were renamed into place (cli/output.ts: all or nothing): the item, its input's SHA-256, every
// output file with its size and SHA-256, the adapter, the worker, the shard, when and how long.
// An item is done when its line is there and its files still hold those bytes; a rerun with the
// same arguments skips it. A process killed at any point leaves at worst a torn last line (cut off
// when the manifest is next opened) and an item computed again: results are deterministic, so the
// bytes are the same.
//
// Sharding (array-job schedulers): item p of the sorted list belongs to shard p mod N. `--shard i/N`
// names it (i from 0); `--shards N` takes i from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) or
// SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN); a Slurm array's task count is taken as N when
// neither flag is given.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, statSync, writeSync, fstatSync, readSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { hostname } from 'node:os';
import { ArgumentError, EmptyExplanationError, InputFormatError, NonFiniteError, ShapeError } from '../engine/errors.ts';
import type { Engine } from '../engine/gpu.ts';
import type { OptionSpec } from '../explainers/options.ts';
import { IMAGE_EXTENSIONS, filesUnder, MAX_FILE_BYTES } from './inputs.ts';
import { checkOutputs, removeStaleTemporaries, writeOutputSet, writeFiles, type OutputFile } from './output.ts';
import { progressBar } from './progress.ts';
import { createNodeEngine } from './gpu-node.ts';

export const MANIFEST = 'manifest.jsonl';
export const RUN_FILE = 'run.json';

// ---- the images ---------------------------------------------------------------------------------------

/** One image of a data set: its file, and its name (its path relative to the folder or list it came from), which keys its results. */
export interface DatasetItem {
  path: string;
  name: string;
}

const LIST_EXTENSIONS = new Set(['.txt', '.lst', '.list']);

/**
 * The images of `--images` values, in order: a folder gives its PNG and JPEG files (subfolders
 * included, sorted by name), a list file (.txt, .lst) one image per line (paths relative to the
 * list's folder; blank lines and # comments skipped), an image file itself. Names must be unique and
 * give distinct result prefixes (cat.png and cat.jpg would both write cat.*) unless `stems` is false.
 */
export function datasetItems(values: readonly string[], flag = '--images', o: { stems?: boolean } = {}): DatasetItem[] {
  const items: DatasetItem[] = [];
  for (const v of values) {
    if (!existsSync(v)) throw new ArgumentError(`${flag} ${v}: not found`);
    if (statSync(v).isDirectory()) {
      const files = filesUnder(v, (f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase()));
      if (files.length === 0) throw new ArgumentError(`${flag} ${v}: the folder holds no PNG or JPEG images`);
      items.push(...files);
    } else if (LIST_EXTENSIONS.has(extname(v).toLowerCase())) {
      const lines = readFileSync(v, 'utf8').split(/\r?\n/);
      let n = 0;
      lines.forEach((raw, i) => {
        const line = raw.replace(/#.*/, '').trim();
        if (!line) return;
        const path = isAbsolute(line) ? line : join(dirname(v), line);
        if (!existsSync(path) || statSync(path).isDirectory()) throw new ArgumentError(`${flag} ${v}: line ${i + 1}: ${line} is not an image file`);
        if (!IMAGE_EXTENSIONS.has(extname(line).toLowerCase())) throw new ArgumentError(`${flag} ${v}: line ${i + 1}: ${line} is not a PNG or JPEG file`);
        items.push({ path, name: isAbsolute(line) ? basename(line) : line.replace(/\\/g, '/').replace(/^(\.\/)+/, '') });
        n++;
      });
      if (n === 0) throw new ArgumentError(`${flag} ${v}: the list names no images`);
    } else {
      if (!IMAGE_EXTENSIONS.has(extname(v).toLowerCase())) throw new ArgumentError(`${flag} ${v}: not a folder, a PNG or JPEG image, or a .txt list of images`);
      items.push({ path: v, name: basename(v) });
    }
  }
  const byName = new Map<string, string>();
  const byStem = new Map<string, string>();
  for (const it of items) {
    if (it.name.split('/').includes('..')) throw new ArgumentError(`${flag}: ${it.name} leaves its list's folder; results are written under --out by name`);
    const before = byName.get(it.name);
    if (before !== undefined) throw new ArgumentError(`${flag}: two images are named ${it.name} (${before} and ${it.path}); results are keyed by name`);
    byName.set(it.name, it.path);
    if (o.stems === false) continue;
    const stem = itemStem(it.name);
    const other = byStem.get(stem);
    if (other !== undefined) throw new ArgumentError(`${flag}: ${other} and ${it.name} would both write ${stem}.*; rename one`);
    byStem.set(stem, it.name);
  }
  return items;
}

/** The results' prefix of an image under the --out folder: its name without the extension. */
export const itemStem = (name: string) => name.slice(0, name.length - extname(name).length);

// ---- shards ---------------------------------------------------------------------------------------------

export interface Shard {
  /** from 0 */
  index: number;
  count: number;
}

const intText = (s: string) => (/^\d+$/.test(s) ? Number(s) : NaN);

/**
 * The shard of this process: `--shard i/N`, or `--shards N` with the index from the scheduler
 * (JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID), or a Slurm array's own id and count; undefined: all.
 */
export function shardOf(shard: string | undefined, shards: number | undefined, env: NodeJS.ProcessEnv = process.env): Shard | undefined {
  if (shard !== undefined && shards !== undefined) throw new ArgumentError('give --shard i/N or --shards N, not both');
  if (shard !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(shard.trim());
    if (!m) throw new ArgumentError(`--shard ${shard}: expected i/N, such as 0/4 (shards numbered from 0)`);
    const index = Number(m[1]), count = Number(m[2]);
    if (count < 1 || index >= count) throw new ArgumentError(`--shard ${shard}: i must be 0 to N-1 and N at least 1`);
    return { index, count };
  }
  const slurmMin = env.SLURM_ARRAY_TASK_MIN !== undefined ? intText(env.SLURM_ARRAY_TASK_MIN) : 0;
  const fromEnv = (): number | undefined => {
    if (env.JOB_COMPLETION_INDEX !== undefined) {
      const i = intText(env.JOB_COMPLETION_INDEX);
      if (!Number.isInteger(i)) throw new ArgumentError(`JOB_COMPLETION_INDEX=${env.JOB_COMPLETION_INDEX} is not a shard index`);
      return i;
    }
    if (env.SLURM_ARRAY_TASK_ID !== undefined) {
      const i = intText(env.SLURM_ARRAY_TASK_ID) - slurmMin;
      if (!Number.isInteger(i) || i < 0) throw new ArgumentError(`SLURM_ARRAY_TASK_ID=${env.SLURM_ARRAY_TASK_ID} (from ${env.SLURM_ARRAY_TASK_MIN ?? 0}) is not a shard index`);
      return i;
    }
    return undefined;
  };
  if (shards !== undefined) {
    const index = fromEnv();
    if (index === undefined) throw new ArgumentError('--shards N takes the shard index from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID, and neither is set: give --shard i/N');
    if (index >= shards) throw new ArgumentError(`--shards ${shards}: the scheduler's index ${index} is not below it`);
    return { index, count: shards };
  }
  if (env.SLURM_ARRAY_TASK_ID !== undefined && env.SLURM_ARRAY_TASK_COUNT !== undefined) {
    const count = intText(env.SLURM_ARRAY_TASK_COUNT);
    const index = fromEnv()!;
    if (!(count >= 1) || index >= count) throw new ArgumentError(`SLURM_ARRAY_TASK_ID=${env.SLURM_ARRAY_TASK_ID} is not below SLURM_ARRAY_TASK_COUNT=${env.SLURM_ARRAY_TASK_COUNT} (ids from ${slurmMin}): give --shard i/N`);
    return { index, count };
  }
  if (env.JOB_COMPLETION_INDEX !== undefined)
    throw new ArgumentError(`JOB_COMPLETION_INDEX=${env.JOB_COMPLETION_INDEX} is set (an Indexed Job) but not the number of shards: give --shards N (the Job's completions), or --shard 0/1 for all images`);
  return undefined;
}

/** The items of `shard` (all without one): position p goes to shard p mod N. */
export function shardItems<T>(items: readonly T[], shard: Shard | undefined): T[] {
  return shard ? items.filter((_, p) => p % shard.count === shard.index) : [...items];
}

export const shardText = (s: Shard | undefined) => (s ? `${s.index}/${s.count}` : undefined);

// ---- checksums and run identity -------------------------------------------------------------------

export const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

/** SHA-256 of a file, read in 16 MiB pieces (models of several GiB). */
export function fileSha256(path: string): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(16 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** JSON with object keys sorted at every level: the same parameters give the same text. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) => {
    if (ArrayBuffer.isView(x) && !(x instanceof DataView)) return Array.from(x as unknown as ArrayLike<number>);
    if (x && typeof x === 'object' && !Array.isArray(x)) return Object.fromEntries(Object.keys(x).sort().map((k) => [k, (x as Record<string, unknown>)[k]]));
    return x;
  });
}

/** What a data-set run computes: the command, and every parameter that changes a result (files by SHA-256). */
export interface RunIdentity {
  command: string;
  parameters: Record<string, unknown>;
}

export const identityKey = (id: RunIdentity) => sha256(canonicalJson(id)).slice(0, 16);

// ---- the manifest -----------------------------------------------------------------------------------

export interface OutputRecord {
  /** relative to the --out folder, with / */
  file: string;
  bytes: number;
  sha256: string;
}

export interface ManifestEntry {
  /** the item's name (an image's, or a chunk's such as "tally-0003") */
  item: string;
  /** identityKey of the run it belongs to */
  run: string;
  input?: string;
  inputSha256?: string;
  outputs: OutputRecord[];
  adapter?: string;
  worker: string;
  shard?: string;
  time: string;
  seconds: number;
}

export const workerName = () => `${hostname()}:${process.pid}`;

/**
 * An --out folder of a data-set run: run.json checked (or written), manifest.jsonl read (a torn last
 * line cut off), and new entries appended.
 */
export class Manifest {
  readonly dir: string;
  readonly path: string;
  readonly key: string;
  readonly identity: RunIdentity;
  private readonly entries = new Map<string, ManifestEntry>();

  private constructor(dir: string, identity: RunIdentity) {
    this.dir = dir;
    this.path = join(dir, MANIFEST);
    this.identity = identity;
    this.key = identityKey(identity);
  }

  /**
   * Opens `dir` for the run `identity`: refuses a folder holding another run (run.json differs) or
   * something that is not a data-set run; writes run.json when new. `shared`: other processes may be
   * appending now (queue workers), so a last line without its newline is left alone (not read yet,
   * see refresh) instead of cut off as a killed writer's.
   */
  static open(dir: string, identity: RunIdentity, flag = '--out', opts: { shared?: boolean } = {}): Manifest {
    if (existsSync(dir) && !statSync(dir).isDirectory()) throw new ArgumentError(`${flag} ${dir} is a file; a data-set run writes into a folder`);
    const m = new Manifest(dir, identity);
    const runPath = join(dir, RUN_FILE);
    if (existsSync(runPath)) {
      let before: RunIdentity;
      try {
        before = JSON.parse(readFileSync(runPath, 'utf8')) as RunIdentity;
      } catch (e) {
        throw new InputFormatError(`${runPath}: not a data-set run's run.json (${(e as Error).message}); give another ${flag} folder`);
      }
      const diff = differences(before, identity);
      if (diff.length) throw new ArgumentError(`${flag} ${dir} holds a run with other parameters (${diff.slice(0, 3).join('; ')}${diff.length > 3 ? `; ${diff.length - 3} more` : ''}): give another folder, or remove it to start again`);
    } else {
      if (existsSync(m.path)) throw new ArgumentError(`${flag} ${dir} has a ${MANIFEST} but no ${RUN_FILE}: not a folder loupe can resume`);
      checkOutputs(flag, join(dir, RUN_FILE), [runPath], 'file');
      writeFiles([[runPath, () => new TextEncoder().encode(`${JSON.stringify(identity, null, 2)}\n`)]]);
    }
    if (!existsSync(m.path)) closeSync(openSync(m.path, 'a', 0o644)); // a shard with no images is still a complete folder
    if (!opts.shared) removeStaleTemporaries(dir); // a killed process's half-written files (workers sharing the folder leave them to the next run)
    m.read();
    return m;
  }

  /** Reads the lines appended since the last read (by other workers sharing the folder); a line still being written waits for the next call. */
  refresh(): void {
    this.read();
  }

  /** bytes of the manifest read so far (whole lines) */
  private offset = 0;

  /**
   * Reads the manifest's entries from where the last read ended (the last one of an item wins). A
   * line that is not JSON is the torn end of a line whose process was killed while appending it (the
   * next entry starts after a newline of its own, see record): skipped, so its item counts as not
   * done. A last line without its newline is still being written: left for the next read. The file
   * is never cut or rewritten, since other workers may be appending to it.
   */
  private read(): void {
    if (!existsSync(this.path)) return;
    const fd = openSync(this.path, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size > MAX_FILE_BYTES) throw new InputFormatError(`${this.path}: more than 2 GiB of manifest; split the run into shards`);
      if (size <= this.offset) return;
      const buf = Buffer.alloc(size - this.offset);
      let off = 0;
      while (off < buf.length) {
        const n = readSync(fd, buf, off, buf.length - off, this.offset + off);
        if (n === 0) break;
        off += n;
      }
      const end = buf.lastIndexOf(0x0a, off - 1) + 1; // whole lines only
      for (const line of buf.subarray(0, end).toString('utf8').split('\n')) {
        if (!line) continue;
        let e: ManifestEntry;
        try {
          e = JSON.parse(line) as ManifestEntry;
        } catch {
          continue;
        }
        if (e && typeof e === 'object' && e.run === this.key && typeof e.item === 'string' && Array.isArray(e.outputs)) this.entries.set(e.item, e);
      }
      this.offset += end;
    } finally {
      closeSync(fd);
    }
  }

  /** The entry of `item` when it is complete: its input unchanged (when given) and every output file holding the bytes recorded. */
  done(item: string, inputSha256?: string): ManifestEntry | undefined {
    const e = this.entries.get(item);
    if (!e) return undefined;
    if (inputSha256 !== undefined && e.inputSha256 !== inputSha256) return undefined;
    for (const o of e.outputs) {
      const p = join(this.dir, o.file);
      if (!existsSync(p) || statSync(p).size !== o.bytes || fileSha256(p) !== o.sha256) return undefined;
    }
    return e;
  }

  /** Every entry read or recorded, in no set order. */
  all(): ManifestEntry[] {
    return [...this.entries.values()];
  }

  /** Appends `e` as one line (one write, then fsync), after its files are in place. */
  record(e: Omit<ManifestEntry, 'run'>): ManifestEntry {
    const entry: ManifestEntry = { ...e, run: this.key };
    const fd = openSync(this.path, 'a+', 0o644);
    try {
      // after a torn line (a process killed mid-append) start on a line of our own
      const size = fstatSync(fd).size;
      const last = Buffer.alloc(1);
      const torn = size > 0 && readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a;
      const line = Buffer.from(`${torn ? '\n' : ''}${JSON.stringify(entry)}\n`);
      writeSync(fd, line); // O_APPEND: one write, so workers sharing the folder do not interleave lines
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.entries.set(entry.item, entry);
    return entry;
  }

  /** Records of files written now (paths absolute or relative to the cwd): sizes and checksums. */
  outputsOf(paths: readonly string[]): OutputRecord[] {
    return paths.map((p) => {
      const bytes = readFileSync(p);
      return { file: relative(resolve(this.dir), resolve(p)).split('\\').join('/'), bytes: bytes.length, sha256: sha256(bytes) };
    });
  }
}

/** The top-level keys (and parameters) in which two run identities differ, as "key: a ≠ b". */
function differences(a: RunIdentity, b: RunIdentity): string[] {
  const out: string[] = [];
  const show = (v: unknown) => {
    const s = v === undefined ? 'unset' : canonicalJson(v);
    return s.length > 40 ? `${s.slice(0, 37)}…` : s;
  };
  if (a.command !== b.command) out.push(`command: ${a.command} ≠ ${b.command}`);
  const pa = a.parameters ?? {}, pb = b.parameters ?? {};
  for (const k of [...new Set([...Object.keys(pa), ...Object.keys(pb)])].sort())
    if (canonicalJson(pa[k]) !== canonicalJson(pb[k])) out.push(`${k}: ${show(pa[k])} ≠ ${show(pb[k])}`);
  return out;
}

// ---- the commands that run over data sets --------------------------------------------------------------

/** A command prepared for one engine: computes items until closed. */
export interface DatasetSession {
  compute: (item: DatasetItem, signal: AbortSignal) => Promise<ItemResult>;
  close: () => void;
}

/**
 * A command that runs over a data set one item at a time (loupe explain --images, loupe evaluate with
 * a folder --out): the data-set run, `loupe queue push` and `loupe worker` all go through this, so a
 * worker computes what the single process computes.
 */
export interface DatasetCommand<P = unknown> {
  /** the command's name, as run.json's `command` */
  command: string;
  /** parses and checks the command line (argv without the command's name); no GPU work */
  prepare: (argv: string[]) => P;
  /** true when `p` is a data-set run (else the command runs as usual) */
  isDataset: (p: P) => boolean;
  identity: (p: P) => RunIdentity;
  items: (p: P) => DatasetItem[];
  /** the --out folder */
  out: (p: P) => string;
  /** sharding flags of the command line */
  shard: (p: P) => Shard | undefined;
  /** the model loaded on `engine`, ready to compute items */
  open: (p: P, engine: Engine) => DatasetSession;
  /** the options the command line `argv` may hold (loupe queue push makes their paths absolute for workers elsewhere) */
  options?: (argv: string[]) => readonly OptionSpec[];
}

const datasetCommands = new Map<string, DatasetCommand>();

export function registerDatasetCommand<P>(c: DatasetCommand<P>): void {
  datasetCommands.set(c.command, c as DatasetCommand);
}

/** The data-set command `name` (its module must have been imported: cli/dataset-commands.ts imports them all). */
export function datasetCommand(name: string): DatasetCommand {
  const c = datasetCommands.get(name);
  if (!c) throw new ArgumentError(`${name}: not a command that runs over a data set (${[...datasetCommands.keys()].join(', ')} do)`);
  return c;
}

// ---- running the items --------------------------------------------------------------------------------

export interface ItemResult {
  /** the files of the item, written all or nothing */
  files: OutputFile[];
}

export interface DatasetRunOptions {
  manifest: Manifest;
  items: readonly DatasetItem[];
  shard?: Shard;
  /** computes one item's files; `signal` aborts between steps */
  compute: (item: DatasetItem, signal: AbortSignal) => Promise<ItemResult>;
  adapter?: string;
  /** progress label */
  label: string;
  /** LOUPE_TEST_ITEM_DELAY_MS: a pause after each item (the kill-and-resume spec) */
  quiet?: boolean;
}

export interface DatasetRunSummary {
  total: number;
  skipped: number;
  computed: number;
  seconds: number;
  /** of which computing (not checking what was done) */
  computeSeconds: number;
}

/** Runs one item: its files written all or nothing, then its manifest line. */
export async function runItem(manifest: Manifest, item: DatasetItem, compute: DatasetRunOptions['compute'], signal: AbortSignal, extra: { adapter?: string; shard?: string; inputSha256?: string }): Promise<ManifestEntry> {
  const t0 = Date.now();
  const started = new Date(t0).toISOString();
  const inputSha256 = extra.inputSha256 ?? fileSha256(item.path);
  const { files } = await compute(item, signal);
  const written = await writeOutputSet(files);
  return manifest.record({
    item: item.name, input: item.path, inputSha256, outputs: manifest.outputsOf(written),
    adapter: extra.adapter, worker: workerName(), shard: extra.shard, time: started, seconds: (Date.now() - t0) / 1000,
  });
}

/**
 * Runs every item of the shard not yet done, in order, with a progress bar; Ctrl-C stops after
 * cleaning up the item in flight (its files are not written; finished items stay).
 */
export async function runDataset(o: DatasetRunOptions): Promise<DatasetRunSummary> {
  const t0 = Date.now();
  const mine = shardItems(o.items, o.shard);
  const shard = shardText(o.shard);
  const todo: [DatasetItem, string][] = [];
  // What is done: each input's and each recorded output's SHA-256 (a resumed run of many images reads them all: a phase of its own on the bar)
  const check = progressBar(`${o.label}: checking what is done`, mine.length);
  const t1 = Date.now();
  mine.forEach((it, i) => {
    const sha = fileSha256(it.path);
    if (!o.manifest.done(it.name, sha)) todo.push([it, sha]);
    if (Date.now() - t1 > 2000 && i % 64 === 0) check.update(i + 1);
  });
  check.done();
  const skipped = mine.length - todo.length;
  const bar = progressBar(o.label, todo.length);
  if (!o.quiet && skipped > 0) console.error(`${o.manifest.dir}: ${skipped} of ${mine.length} images already done${shard ? ` (shard ${shard})` : ''}; resuming`);
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  const delay = Number(process.env.LOUPE_TEST_ITEM_DELAY_MS ?? 0);
  const t2 = Date.now();
  let done = 0;
  const failed: Error[] = [];
  try {
    for (const [it, sha] of todo) {
      try {
        await runItem(o.manifest, it, o.compute, abort.signal, { adapter: o.adapter, shard, inputSha256: sha });
      } catch (e) {
        if (!itemError(e)) throw e;
        failed.push(e as Error); // this image's own fault: the others go on; the run ends with exit 1
        continue;
      }
      bar.update(++done);
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    }
  } finally {
    process.off('SIGINT', onSigint);
    bar.done();
  }
  if (failed.length) {
    const rest = failed.length > 1 ? `; and ${failed.length - 1} more` : '';
    throw new InputFormatError(`${failed[0]!.message}${rest} (${failed.length} of ${mine.length} images failed and were not written; the other ${mine.length - failed.length} are done: fix or remove the failed ones and rerun)`);
  }
  return { total: mine.length, skipped, computed: todo.length, seconds: (Date.now() - t0) / 1000, computeSeconds: (Date.now() - t2) / 1000 };
}

/** An error that is one item's own (an image that does not decode or fit, a map that is not finite), not the run's. */
export function itemError(e: unknown): boolean {
  return e instanceof InputFormatError || e instanceof ShapeError || e instanceof NonFiniteError || e instanceof EmptyExplanationError || (e instanceof ArgumentError && /not found|is a directory/.test(e.message));
}

/** One line for stdout at the end of a run. */
export function summaryLine(dir: string, s: DatasetRunSummary): string {
  const rate = s.computed > 0 ? `, ${(s.computed / s.computeSeconds).toFixed(2)} images/s` : '';
  return `${join(dir, MANIFEST)}: ${s.total} images, ${s.computed} computed, ${s.skipped} already done${rate}`;
}

/**
 * A data-set run of a prepared command in this process: items of its shard not yet done, computed
 * in order; then the command's finisher (its aggregates over every item in the folder), if any.
 */
export async function datasetRun<P>(c: DatasetCommand<P>, p: P, label: string): Promise<number> {
  const items = c.items(p);
  const shard = c.shard(p);
  const out = c.out(p);
  const manifest = Manifest.open(out, c.identity(p));
  const engine = await createNodeEngine();
  const session = c.open(p, engine);
  try {
    const s = await runDataset({ manifest, items, shard, adapter: engine.adapterInfo, label, compute: session.compute });
    console.log(summaryLine(out, s));
  } finally {
    session.close();
  }
  const finish = finisherOf(c.command);
  if (finish) for (const f of await finish(manifest)) console.log(f);
  return 0;
}

// ---- aggregates ---------------------------------------------------------------------------------------------

/**
 * A command's aggregate step: reads the items of `manifest` (complete ones, from its folder) and
 * writes the aggregate files, recording them as '@…' entries; returns the paths written. A data-set
 * run calls it at its end, `loupe merge` after joining; both give the same bytes.
 */
export type Finisher = (manifest: Manifest) => Promise<string[]>;

const finishers = new Map<string, Finisher>();

/** Registers the aggregate step of data-set runs of `command` (evaluate, dissect). */
export function registerFinisher(command: string, f: Finisher): void {
  finishers.set(command, f);
}

export const finisherOf = (command: string) => finishers.get(command);
