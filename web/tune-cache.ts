// The tuning cache in the browser (engine/tune.ts has the contents; cli/tune-cache.ts is Node's
// file): one IndexedDB database "loupe", object store "tune", the whole TuneCache under the key
// "cache". Works in a page and in a worker. A cache that does not parse, or an IndexedDB that refuses
// (private mode, blocked storage), reads as none with one console warning, never an error.
import { parseTuneCache, type TuneCache } from '../engine/tune.ts';

const DB = 'loupe';
const STORE = 'tune';
const KEY = 'cache';

/** Where the cache is, for reports. */
export const TUNE_CACHE_LOCATION = `IndexedDB "${DB}", store "${STORE}", key "${KEY}"`;

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB open failed'));
  });
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

/** The cached tunings, or undefined (none, corrupt, or no IndexedDB: then one warning). */
export async function readTuneCacheIdb(warn: (line: string) => void = (l) => console.warn(l)): Promise<TuneCache | undefined> {
  if (typeof indexedDB === 'undefined') return undefined;
  try {
    const db = await open();
    try {
      const text = await request(db.transaction(STORE, 'readonly').objectStore(STORE).get(KEY));
      return text === undefined ? undefined : parseTuneCache(String(text));
    } finally {
      db.close();
    }
  } catch (e) {
    warn(`loupe: warning: ignoring the tuning cache (${TUNE_CACHE_LOCATION}): ${(e as Error).message}`);
    return undefined;
  }
}

/** Stores the cache (one put of its JSON text: IndexedDB transactions are atomic). */
export async function writeTuneCacheIdb(cache: TuneCache): Promise<void> {
  const db = await open();
  try {
    const tx = db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).put(JSON.stringify(cache), KEY);
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDB write failed'));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB write aborted'));
    });
  } finally {
    db.close();
  }
}
