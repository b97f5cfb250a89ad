// The page's side of the worker: requests as promises, progress and previews as callbacks, and a
// Cancel that is kept within a second: the worker is asked to abort at the method's next check
// point, and if it has not answered by then it is terminated and a fresh one is brought back to
// the same state (model, labels, images, preprocessing) from the files the page still holds.
import type { FileIn, PreprocessIn, Reply, Request } from './protocol.ts';
import type { Tile } from '../../render/tiles.ts';

export interface Handlers {
  progress?: (done: number, total: number, what?: string) => void;
  preview?: (tiles: Tile[]) => void;
}

export class Cancelled extends Error {}

/** What a fresh worker must be told to stand where the old one stood. */
interface State {
  model?: FileIn[];
  labels?: FileIn | null;
  images: FileIn[];
  preprocess?: PreprocessIn;
}

export class WorkerClient {
  private worker!: Worker;
  private next = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; h: Handlers; long: boolean }>();
  private state: State = { images: [] };
  private restoring?: Promise<void>;
  onFatal?: (message: string) => void;

  constructor(private readonly url: string) {
    this.start();
  }

  private start(): void {
    this.worker = new Worker(this.url, { type: 'module' });
    this.worker.onmessage = (ev: MessageEvent<Reply>) => this.reply(ev.data);
    this.worker.onerror = (ev) => {
      ev.preventDefault();
      this.onFatal?.(`the worker failed: ${ev.message || 'unknown error'}`);
    };
  }

  private reply(r: Reply): void {
    if (r.id === -1 && r.type === 'failed') {
      this.onFatal?.(r.error);
      return;
    }
    const p = this.pending.get(r.id);
    if (!p) return;
    if (r.type === 'progress') p.h.progress?.(r.done, r.total, r.what);
    else if (r.type === 'preview') p.h.preview?.(r.tiles);
    else {
      this.pending.delete(r.id);
      if (r.type === 'done') p.resolve(r.value);
      else p.reject(r.cancelled ? new Cancelled(r.error) : new Error(r.error));
    }
  }

  private send<T>(request: Request, h: Handlers = {}, long = false): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, h, long });
      this.worker.postMessage({ id, request });
    });
  }

  /** Sends a request once any restart is done; remembers what a restarted worker must be told again. */
  async call<T>(request: Request, h: Handlers = {}): Promise<T> {
    await this.restoring;
    const long = request.type === 'explain' || request.type === 'predict' || request.type === 'build-patch-model';
    const v = await this.send<T>(request, h, long);
    if (request.type === 'open-model') this.state = { ...this.state, model: request.files, preprocess: undefined };
    if (request.type === 'labels') this.state.labels = request.file;
    if (request.type === 'add-images') this.state.images.push(...request.files);
    if (request.type === 'clear-images') this.state.images = [];
    if (request.type === 'preprocess') this.state.preprocess = request.preprocess;
    return v;
  }

  get busy(): boolean {
    return [...this.pending.values()].some((p) => p.long);
  }

  /** Stops the long request in flight: resolves once it has stopped (at most about a second). */
  async cancel(): Promise<void> {
    const long = [...this.pending.entries()].filter(([, p]) => p.long);
    if (long.length === 0) return;
    const stopped = Promise.all(long.map(([, p]) => new Promise<void>((r) => {
      const { resolve, reject } = p;
      p.resolve = (v) => (resolve(v), r());
      p.reject = (e) => (reject(e), r());
    })));
    this.worker.postMessage({ id: this.next++, request: { type: 'cancel' } satisfies Request });
    const timeout = new Promise<'late'>((r) => setTimeout(() => r('late'), 700));
    if ((await Promise.race([stopped, timeout])) === 'late') this.restart();
  }

  /** Terminates the worker (its GPU work goes with it) and brings a new one to the same state. */
  private restart(): void {
    this.worker.terminate();
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new Cancelled('cancelled'));
    }
    this.start();
    const s = this.state;
    this.restoring = (async () => {
      if (s.model) await this.send({ type: 'open-model', files: s.model });
      if (s.labels) await this.send({ type: 'labels', file: s.labels });
      if (s.images.length) await this.send({ type: 'add-images', files: s.images });
      if (s.preprocess) await this.send({ type: 'preprocess', preprocess: s.preprocess });
    })().catch((e) => this.onFatal?.(`restarting the worker: ${e instanceof Error ? e.message : String(e)}`));
  }
}
