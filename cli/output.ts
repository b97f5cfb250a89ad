// Node-side writers for explanation outputs: PNG images, .npy arrays and JSON sidecars.
//
// Outputs are written all or nothing. A command first checks its output paths, before any
// computation (checkOutputs: the --out value is a usable prefix or file name, its folder exists or
// can be made and takes a probe file, no target is a folder). Then every file of the set is encoded
// and written to a temporary next to its target (same folder, so the rename stays on one file
// system), and only when all of them are complete are they renamed into place. Any failure (bad
// data, a folder in the way, a full disk, a rename failing part-way) undoes the whole set: the
// temporaries go, targets this run renamed are removed or get their previous file back, and folders
// it created are removed. In the CLI (writeOutputSet, OutputGroup) SIGINT, SIGTERM and SIGHUP while
// the set is being written undo it the same way and end the process with one line.
import { closeSync, fsyncSync, linkSync, copyFileSync, mkdirSync, openSync, readdirSync, renameSync, rmdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { constants, hostname } from 'node:os';
import { encodePng, type RGBAImage } from '../loaders/image.ts';
import { writeNpy as encodeNpy } from '../loaders/npy.ts';
import { LoupeError } from '../engine/errors.ts';
import { toJson } from '../explainers/explanation.ts';

export { toJson };

/** An output file that cannot be written (unwritable folder, a path under a file, disk full). */
export class OutputError extends LoupeError {
  override name = 'OutputError';
}

function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err?.code ? `${err.code}: ${(err.message ?? '').replace(/^[A-Z]+: /, '').split(',')[0]}` : String((e as Error)?.message ?? e);
}

const statOrUndefined = (p: string) => {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
};
const isFolder = (p: string) => statOrUndefined(p)?.isDirectory() === true;

/** This host's name as it appears in temporaries' names (letters, digits, _ and - only). */
const HOST = hostname().replace(/[^A-Za-z0-9_-]+/g, '_') || 'host';

/** A fresh hidden name next to `path` (same folder, so the rename stays on one file system): .NAME.HOST~PID.HEX.KIND */
export function tempName(path: string, kind = 'tmp'): string {
  const abs = resolve(path);
  return join(dirname(abs), `.${basename(abs)}.${HOST}~${process.pid}.${randomBytes(4).toString('hex')}.${kind}`);
}

const TEMP = /^\..+\.([A-Za-z0-9_-]+)~(\d+)\.[0-9a-f]{8}\.(tmp|bak)$/;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Removes the temporaries (.NAME.HOST~PID.HEX.tmp/.bak) under `dir` that a process of this host
 * left when it was killed (SIGKILL cannot be caught): its PID no longer runs. Other hosts'
 * temporaries are left alone (their processes may be running). Returns how many were removed.
 */
export function removeStaleTemporaries(dir: string): number {
  let n = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true, recursive: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const m = e.isFile() ? TEMP.exec(e.name) : null;
    if (!m || m[1] !== HOST || Number(m[2]) === process.pid || alive(Number(m[2]))) continue;
    try {
      unlinkSync(join(e.parentPath, e.name));
      n++;
    } catch {
      /* gone already */
    }
  }
  return n;
}

function removeQuietly(p: string | undefined): void {
  if (p === undefined) return;
  try {
    unlinkSync(p);
  } catch {
    /* already gone */
  }
}

// ---- checking outputs before computing ------------------------------------------------------------

/**
 * The nearest folder at or above `dir` that exists (where `dir`'s missing folders would be made).
 * Throws when something above `dir` is a file, or cannot be looked at.
 */
function existingAncestor(dir: string, what: string): string {
  for (let d = dir; ; d = dirname(d)) {
    const s = (() => {
      try {
        return statSync(d);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
        throw new OutputError(`${what}: cannot use folder ${d} (${reason(e)})`);
      }
    })();
    if (s) {
      if (!s.isDirectory()) throw new OutputError(`${what}: cannot create folder ${dir}: ${d} is a file`);
      return d;
    }
    if (dirname(d) === d) throw new OutputError(`${what}: folder ${dir} cannot be created`);
  }
}

/** Creates and removes a probe file in `dir`: the folder takes new files (permissions, read-only file systems). */
function probeFolder(dir: string, what: string, target: string): void {
  const probe = join(dir, `.loupe-probe.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    closeSync(openSync(probe, 'wx', 0o644));
  } catch (e) {
    throw new OutputError(`${what}: cannot write in folder ${dir}${dir === target ? '' : ` (to create ${target})`} (${reason(e)})`);
  }
  removeQuietly(probe);
}

/**
 * Checks, before any computation, that the files `targets` can be written for the flag value `value`
 * (`flag` names it in messages): `value` is not empty, does not end in '/' and is not a folder;
 * each target's folder exists or can be created, and takes a new file; no target is a folder.
 * `kind` says what `value` is: a prefix of several files (PREFIX.png …) or one file.
 * Throws OutputError with one line naming the flag.
 */
export function checkOutputs(flag: string, value: string, targets: readonly string[], kind: 'prefix' | 'file' = 'prefix'): void {
  const what = `${flag} ${value}`;
  const example = kind === 'prefix' ? 'a file prefix' : 'a file name';
  if (value === '') throw new OutputError(`${flag} is empty: give ${example}, such as ${kind === 'prefix' ? 'out/result' : 'out/model.onnx'}`);
  const inside = `give ${example} inside it${kind === 'prefix' ? `, such as ${join(value, 'result')}` : ''}`;
  if (value.endsWith('/') || value.endsWith(sep) || /(^|[\\/])\.\.?$/.test(value)) throw new OutputError(`${what} names a folder: ${inside}`);
  if (isFolder(value)) throw new OutputError(`${what} is a folder: ${inside}`);
  const folders = new Set(targets.map((t) => dirname(t)));
  for (const dir of folders) probeFolder(existingAncestor(dir, what), what, dir);
  for (const t of targets) if (isFolder(t)) throw new OutputError(`${what}: cannot write ${t}: it is a folder`);
}

// ---- writing a set of files all or nothing --------------------------------------------------------

/** A file to write: its path and a function that encodes its bytes. */
export type OutputFile = readonly [string, () => Uint8Array];

interface Staged {
  path: string;
  tmp: string;
  /** a hard link (or copy) of the file `path` held before this run renamed over it */
  backup?: string;
  renamed: boolean;
}

/** Files of one run on their way to disk: temporaries, what has been renamed, folders created. */
class Transaction {
  /** every file of the set, staged or not yet (for messages) */
  readonly planned: string[] = [];
  readonly staged: Staged[] = [];
  /** [the deepest folder created, the topmost one created] per mkdir */
  private readonly madeFolders: [string, string][] = [];
  private closed = false;

  /** Writes `bytes` to a fresh temporary next to `path` (flushed to disk), creating the folder when missing. */
  stage(path: string, bytes: Uint8Array): void {
    const dir = dirname(resolve(path));
    try {
      const top = mkdirSync(dir, { recursive: true });
      if (top !== undefined) this.madeFolders.push([dir, top]);
    } catch (e) {
      throw new OutputError(`cannot write ${path}: cannot create folder ${dir} (${reason(e)})`);
    }
    const tmp = tempName(path);
    let fd: number | undefined;
    try {
      fd = openSync(tmp, 'wx', 0o644);
      this.staged.push({ path, tmp, renamed: false }); // from here on a rollback removes it
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } catch (e) {
      throw new OutputError(`cannot write ${path}: ${reason(e)}`);
    } finally {
      if (fd !== undefined)
        try {
          closeSync(fd);
        } catch {
          /* ignore */
        }
    }
  }

  /** Renames every temporary into place; a failure part-way undoes the renames already done. */
  commit(): void {
    for (const s of this.staged) {
      try {
        if (isFolder(s.path)) throw Object.assign(new Error('it is a folder'), { code: 'EISDIR' });
        if (statOrUndefined(s.path)) {
          s.backup = tempName(s.path, 'bak');
          try {
            linkSync(s.path, s.backup);
          } catch {
            copyFileSync(s.path, s.backup);
          }
        }
        renameSync(s.tmp, s.path);
        s.renamed = true;
      } catch (e) {
        this.rollback();
        throw new OutputError(`cannot write ${s.path}: ${(e as NodeJS.ErrnoException).code === 'EISDIR' ? 'it is a folder' : reason(e)}`);
      }
    }
  }

  /** After a commit: drops the copies of the files replaced. */
  finish(): void {
    for (const s of this.staged) removeQuietly(s.backup);
    this.closed = true;
  }

  /** Undoes everything this run did: temporaries removed, renamed targets removed or restored, created folders removed. */
  rollback(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.staged].reverse()) {
      if (s.renamed) {
        try {
          if (s.backup) renameSync(s.backup, s.path);
          else unlinkSync(s.path);
        } catch {
          /* nothing more can be done */
        }
      }
      removeQuietly(s.tmp);
      removeQuietly(s.backup);
    }
    for (const [deepest, top] of [...this.madeFolders].reverse())
      for (let d = deepest; ; d = dirname(d)) {
        try {
          rmdirSync(d); // only when empty
        } catch {
          break;
        }
        if (d === top || dirname(d) === d) break;
      }
  }
}

/** Encodes every file first (a shape error must not leave files either) and refuses a folder in the way. */
function encodeAll(files: readonly OutputFile[]): [string, Uint8Array][] {
  const encoded = files.map(([path, enc]) => [path, enc()] as [string, Uint8Array]);
  for (const [path] of encoded) if (isFolder(path)) throw new OutputError(`cannot write ${path}: it is a folder`);
  return encoded;
}

/**
 * Writes several files as one: everything is encoded and written to temporary files first; only
 * when all of them are complete are they renamed into place, and a failure at any point (bad data,
 * unwritable folder, a rename failing part-way) leaves no file of the set and no temporary behind
 * (files it would have replaced keep their previous contents). Returns the paths written, in order.
 */
export function writeFiles(files: readonly OutputFile[]): string[] {
  const t = new Transaction();
  try {
    for (const [path, bytes] of encodeAll(files)) t.stage(path, bytes);
    t.commit();
    t.finish();
  } catch (e) {
    t.rollback();
    throw e;
  }
  return files.map(([p]) => p);
}

/** Writes `bytes` to `path` atomically, creating its folder when missing. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  writeFiles([[path, () => bytes]]);
}

/** Writes an RGBA image as a PNG. */
export function writePng(path: string, img: RGBAImage): void {
  writeFileAtomic(path, encodePng(img));
}

/** Writes an array as .npy (Float32Array → '<f4', Int32Array → '<i4', Uint8Array → '|u1'). */
export function writeNpy(path: string, shape: number[], data: Float32Array | Int32Array | Uint8Array): void {
  writeFileAtomic(path, encodeNpy(shape, data));
}

/** Writes metadata as pretty-printed JSON. */
export function writeSidecar(path: string, meta: object): void {
  writeFileAtomic(path, new TextEncoder().encode(toJson(meta)));
}

export interface Outputs {
  png?: RGBAImage;
  npy?: { shape: number[]; data: Float32Array | Int32Array | Uint8Array };
  meta: object;
}

/** The files of PREFIX.png (when `png`), PREFIX.npy (when `npy`) and PREFIX.json, each with its encoder. */
export function outputFiles(prefix: string, outputs: Outputs): OutputFile[] {
  const files: OutputFile[] = [];
  if (outputs.png) {
    const png = outputs.png;
    files.push([`${prefix}.png`, () => encodePng(png)]);
  }
  if (outputs.npy) {
    const { shape, data } = outputs.npy;
    files.push([`${prefix}.npy`, () => encodeNpy(shape, data)]);
  }
  files.push([`${prefix}.json`, () => new TextEncoder().encode(toJson(outputs.meta))]);
  return files;
}

/** Writes PREFIX.png (when `png`), PREFIX.npy (when `npy`) and PREFIX.json as one (see writeFiles). Returns the paths written. */
export function writeOutputs(prefix: string, outputs: Outputs): string[] {
  return writeFiles(outputFiles(prefix, outputs));
}

// ---- the CLI's write phase: signals ---------------------------------------------------------------

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** Transactions being written; a signal undoes them all. */
const live = new Set<Transaction>();

function onSignal(signal: NodeJS.Signals): void {
  const paths = [...live].flatMap((t) => t.planned);
  for (const t of live) t.rollback();
  live.clear();
  const what = paths.length === 0 ? '' : ` while writing ${paths[0]}${paths.length > 1 ? ` and ${paths.length - 1} more file${paths.length > 2 ? 's' : ''}` : ''}`;
  process.stderr.write(`loupe: interrupted by ${signal}${what}: nothing was written\n`);
  process.exit(128 + (constants.signals[signal] ?? 1));
}

function watch(t: Transaction): void {
  if (live.size === 0) for (const s of SIGNALS) process.on(s, onSignal);
  live.add(t);
}

function unwatch(t: Transaction): void {
  if (!live.delete(t) || live.size > 0) return;
  for (const s of SIGNALS) process.off(s, onSignal);
}

/**
 * Lets the event loop run, so that a signal that arrived during the synchronous writing is handled
 * here (undoing the set) rather than after it. LOUPE_TEST_WRITE_DELAY_MS stretches each pause, for
 * the spec that sends SIGTERM in the middle of the write phase.
 */
function pause(): Promise<void> {
  const ms = Number(process.env.LOUPE_TEST_WRITE_DELAY_MS ?? 0);
  return new Promise((r) => (ms > 0 ? setTimeout(r, ms) : setImmediate(r)));
}

let group: OutputGroup | undefined;

/**
 * The CLI's writeFiles: all or nothing as writeFiles, and SIGINT/SIGTERM/SIGHUP while the set is
 * written undo it and end the process with one line (exit 128 + the signal's number). Inside an
 * OutputGroup the files are only staged: the group renames them with the rest of its files.
 */
export async function writeOutputSet(files: readonly OutputFile[]): Promise<string[]> {
  const t = group?.transaction ?? new Transaction();
  watch(t);
  try {
    t.planned.push(...files.map(([p]) => p));
    const encoded = encodeAll(files);
    await pause();
    for (const [path, bytes] of encoded) {
      t.stage(path, bytes);
      await pause();
    }
    if (!group) {
      t.commit();
      await pause(); // a signal that came during the renames still undoes them
      t.finish();
    }
  } catch (e) {
    t.rollback();
    if (group) group.failed = true;
    throw e;
  } finally {
    if (!group) unwatch(t);
  }
  return files.map(([p]) => p);
}

/**
 * Several commands' outputs as one set (`loupe demo`): while a group is open, writeOutputSet only
 * writes temporaries; `commit` renames them all, `abort` (or a signal) removes them.
 */
export class OutputGroup {
  readonly transaction = new Transaction();
  failed = false;

  constructor() {
    if (group) throw new Error('output groups do not nest');
    group = this;
    watch(this.transaction);
  }

  async commit(): Promise<string[]> {
    try {
      if (this.failed) throw new Error('commit after a failed write');
      this.transaction.commit();
      await pause();
      this.transaction.finish();
      return this.transaction.staged.map((s) => s.path);
    } finally {
      this.close();
    }
  }

  abort(): void {
    this.transaction.rollback();
    this.close();
  }

  private close(): void {
    this.transaction.rollback(); // no-op after finish
    unwatch(this.transaction);
    if (group === this) group = undefined;
  }
}
