// Node-side writers for explanation outputs: PNG images, .npy arrays and JSON sidecars.
// Every file is written atomically: the bytes go to a temporary file in the same folder,
// which is then renamed over the target, so a failure never leaves a partial output file.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
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

function ensureDir(path: string): void {
  const dir = dirname(resolve(path));
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new OutputError(`cannot write ${path}: cannot create folder ${dir} (${reason(e)})`);
  }
}

/** A fresh temporary name next to `path` (same folder, so the rename stays on one file system). */
function tempName(path: string): string {
  const abs = resolve(path);
  return join(dirname(abs), `.${basename(abs)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

function removeQuietly(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    /* already gone */
  }
}

/** Writes bytes to a new temporary file next to `path` (flushed to disk); returns its name. */
function writeTemp(path: string, bytes: Uint8Array): string {
  ensureDir(path);
  const tmp = tempName(path);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    return tmp;
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        /* ignore */
      }
    }
    removeQuietly(tmp);
    throw new OutputError(`cannot write ${path}: ${reason(e)}`);
  }
}

function commit(tmp: string, path: string): void {
  try {
    renameSync(tmp, path);
  } catch (e) {
    removeQuietly(tmp);
    throw new OutputError(`cannot write ${path}: ${reason(e)}`);
  }
}

/** Writes `bytes` to `path` atomically, creating its folder when missing. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  commit(writeTemp(path, bytes), path);
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

/** A file to write: its path and a function that encodes its bytes. */
export type OutputFile = readonly [string, () => Uint8Array];

/**
 * Writes several files as one: everything is encoded and written to temporary files first; only
 * when all of them are complete are they renamed into place, so a failure (bad data, unwritable
 * folder) leaves no output and no temporary file behind. (Only a rename failing part-way, which
 * the checks make very unlikely, could leave some of the files complete and the rest absent.)
 * Returns the paths written, in order.
 */
export function writeFiles(files: readonly OutputFile[]): string[] {
  // Encode everything before touching the disk: a shape error must not leave files either.
  const encoded = files.map(([path, enc]) => [path, enc()] as const);
  // A folder in the way would only fail at the rename, after other files were committed.
  for (const [path] of encoded) {
    let isDir = false;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      /* missing (fine) or unreachable (writeTemp reports it) */
    }
    if (isDir) throw new OutputError(`cannot write ${path}: it is a folder`);
  }
  const temps: [string, string][] = [];
  try {
    for (const [path, bytes] of encoded) temps.push([writeTemp(path, bytes), path]);
  } catch (e) {
    for (const [tmp] of temps) removeQuietly(tmp);
    throw e;
  }
  const done: string[] = [];
  try {
    for (const [tmp, path] of temps) {
      commit(tmp, path);
      done.push(path);
    }
  } catch (e) {
    for (const [tmp] of temps) removeQuietly(tmp);
    throw e;
  }
  return done;
}

/** Writes PREFIX.png (when `png`), PREFIX.npy (when `npy`) and PREFIX.json as one (see writeFiles). Returns the paths written. */
export function writeOutputs(prefix: string, outputs: Outputs): string[] {
  return writeFiles(outputFiles(prefix, outputs));
}
