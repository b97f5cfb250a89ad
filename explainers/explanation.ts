// What every explainer returns and takes, whatever the method: the registry's `run` gives an
// Explanation (tensors and JSON-able metadata, never files or pictures); the CLI writes it as
// PREFIX.png/.npy/.json and a page draws it (render/figures.ts). No Node modules.
import type { Tensor } from '../engine/runner.ts';
import type { Preprocess } from '../engine/ir.ts';

export type { Tensor };

/**
 * Progress of a long method: `done` of `total` units (images, windows, steps), what is running,
 * and, from methods whose result grows step by step (MaxOut, inversion), now and then a preview:
 * the Explanation as it stands, so a page can redraw it while the iterations run.
 */
export type Progress = (done: number, total: number, what?: string, preview?: Explanation) => void;

/** A preprocessed batch, N×C×H×W, with what the methods and their figures need to know about it. */
export interface ExplainInputs {
  data: Float32Array;
  batch: number;
  /** one per image (file names), for captions and metadata */
  names?: string[];
  /** class names, so classes can be given by label and shown by name */
  labels?: string[];
  /** how pixels 0..255 become the network's units (mean, scale, channel order); default: the model's */
  preprocess?: Preprocess;
  /** `data` was made from images with `preprocess` (not a raw array) */
  fromImages?: boolean;
}

export interface Explanation {
  method: string;
  /** the per-image maps (what the CLI's PREFIX.npy holds) */
  maps?: Tensor;
  /** everything else worth keeping: input signals, per-layer maps, etalons, optimised images */
  tensors: Record<string, Tensor>;
  /** JSON-able: classes, labels, probabilities, parameters, what `maps` holds (PREFIX.json) */
  meta: Record<string, unknown>;
  /** companion explanations written beside this one (PDA's logit AD and hidden layer: PREFIX-KEY.*) */
  parts?: Record<string, Explanation>;
  /** a table of numbers (inversion's error per step: PREFIX.csv) */
  table?: { columns: string[]; rows: number[][] };
  /** one line for a person: how much work it was */
  note?: string;
}

/** Largest |v| over the finite values of a map (0 when there are none). */
export function maxAbs(map: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < map.length; i++) {
    const a = Math.abs(map[i]!);
    if (a > m && a !== Infinity) m = a;
  }
  return m;
}

/** JSON for sidecars: typed arrays become plain arrays, bigints strings, NaN/Infinity null; 2-space indent. */
export function toJson(meta: unknown): string {
  return (
    JSON.stringify(
      meta,
      (_k, v) => {
        if (typeof v === 'bigint') return v.toString();
        if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
        return v;
      },
      2,
    ) + '\n'
  );
}
