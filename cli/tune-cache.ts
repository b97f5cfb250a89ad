// The tuning cache in Node (engine/tune.ts has the contents): one JSON file,
// $XDG_CACHE_HOME/loupe/tune.json (~/.cache/loupe/tune.json without XDG_CACHE_HOME), written
// atomically (a temporary file beside it, then a rename), so a reader never sees half a file. A file
// that does not parse is ignored with one warning line and replaced by the next `loupe tune`.
import { existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseTuneCache, type TuneCache } from '../engine/tune.ts';

/** Where the cache lives. */
export function tuneCachePath(env: Record<string, string | undefined> = process.env): string {
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'loupe', 'tune.json');
}

/**
 * The cache, or undefined when there is none; a corrupt one is undefined with one warning line (to
 * `warn`, default stderr), never an error.
 */
export function readTuneCache(path = tuneCachePath(), warn: (line: string) => void = (l) => console.error(l)): TuneCache | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return parseTuneCache(readFileSync(path, 'utf8'));
  } catch (e) {
    warn(`loupe: warning: ignoring the tuning cache ${path}: ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

/** Writes the cache atomically: a temporary file in the same folder, renamed over the old one. */
export function writeTuneCache(cache: TuneCache, path = tuneCachePath()): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify(cache, null, 1) + '\n');
    renameSync(tmp, path);
  } catch (e) {
    if (existsSync(tmp)) unlinkSync(tmp);
    throw e;
  }
}
