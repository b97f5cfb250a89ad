// Messages between the page (web/app/app.ts) and its worker (web/app/worker.ts), which holds the
// engine, the model and the images. Every request carries an id; the worker answers it once with
// `done` or `failed`, and for long work sends `progress` (and `preview` tiles) before that. A
// `cancel` aborts the request in flight at the method's next check point.
import type { ModelSummary } from '../../engine/summary.ts';
import type { Preprocess } from '../../engine/ir.ts';
import type { Tile } from '../../render/tiles.ts';

export interface FileIn {
  name: string;
  bytes: Uint8Array;
}

export type PreprocessIn = Preprocess & { channels: number };

export type Request =
  | { type: 'init' }
  | { type: 'open-model'; files: FileIn[] }
  | { type: 'labels'; file: FileIn | null }
  | { type: 'add-images'; files: FileIn[] }
  | { type: 'clear-images' }
  | { type: 'preprocess'; preprocess: PreprocessIn }
  | { type: 'predict'; top: number }
  | { type: 'explain'; method: string; options: Record<string, unknown>; images: number[] }
  | { type: 'build-patch-model'; window: number; padding: number; patches: number; images: number[] }
  | { type: 'cancel' };

export interface Opened {
  summary: ModelSummary;
  format: string;
  /** a Caffe prototxt without its .caffemodel: the architecture only */
  weightsMissing: boolean;
  /** what the model file says about its preprocessing, if anything */
  preprocess?: Preprocess;
  files: string[];
}

export interface ImageInfo {
  name: string;
  width: number;
  height: number;
}

export interface Prediction {
  top: { index: number; label: string; prob: number }[];
}

export interface Explained {
  tiles: Tile[];
  /** PREFIX.npy as `loupe explain` writes it (the maps), plus the parts' (PREFIX-KEY.npy) */
  npy: FileIn[];
  /** PREFIX.json (and the parts'), as the CLI's sidecars */
  json: FileIn[];
  note?: string;
  ms: number;
}

export type Reply =
  | { id: number; type: 'done'; value: unknown }
  | { id: number; type: 'failed'; error: string; cancelled?: boolean }
  | { id: number; type: 'progress'; done: number; total: number; what?: string }
  | { id: number; type: 'preview'; tiles: Tile[] };
