// Finding a classifier's logits and probabilities in a graph, and the top-K of a batch.
import type { Graph } from './ir.ts';
import type { Model, Tensor } from './runner.ts';
import { ArgumentError, ShapeError } from './errors.ts';
import { inferShapes } from './shapes.ts';

export interface ClassifierValues {
  logits: string; // pre-softmax scores
  probs?: string; // a softmax output of the graph over `logits`, if the graph has one
}

/**
 * The logits are the input of the softmax that produces a graph output (LeNet's `prob`,
 * SqueezeNet ONNX's `prob`), or else the first graph output itself (Caffe SqueezeNet's
 * `pool_final`, mnist-8's `Plus214_Output_0`).
 */
export function classifierValues(g: Graph): ClassifierValues {
  for (const out of g.outputs) {
    const n = g.nodes.find((x) => x.outputs.includes(out));
    if (n && n.op === 'softmax' && !n.attrs.log) return { logits: n.inputs[0]!, probs: out };
  }
  return { logits: g.outputs[0]! };
}

/**
 * The classifier values of a graph whose logits are a score per class, [N, K] or [N, K, 1, 1];
 * ShapeError naming the output otherwise (a feature map would read as H·W·C "classes").
 */
export function checkClassifier(g: Graph): ClassifierValues {
  const cv = classifierValues(g);
  const s = inferShapes(g, 1).get(cv.logits)!;
  if (!(s.length === 2 || (s.length === 4 && s[2] === 1 && s[3] === 1)))
    throw new ShapeError(`model output "${cv.logits}" has shape [N, ${s.slice(1).join(', ')}], not a score per class ([N, K] or [N, K, 1, 1])`);
  return cv;
}

export function softmaxRows(logits: Float32Array, classes: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length / classes; r++) {
    const row = logits.subarray(r * classes, (r + 1) * classes);
    const m = row.reduce((a, b) => Math.max(a, b), -Infinity);
    let s = 0;
    for (let k = 0; k < classes; k++) s += Math.exp(row[k]! - m);
    for (let k = 0; k < classes; k++) out[r * classes + k] = Math.exp(row[k]! - m) / s;
  }
  return out;
}

export interface Classification {
  logits: Float32Array[]; // one row per image
  probs: Float32Array[];
  top: { index: number; prob: number }[][];
}

/** The top-K classes of each image; `names` (file names) let an error name the image it is about. */
export async function classify(model: Model, input: Float32Array, batch: number, topK: number, onProgress?: (d: number, t: number) => void, names?: readonly string[]): Promise<Classification> {
  const cv = checkClassifier(model.graph);
  if (!(batch > 0)) throw new ArgumentError('no images to classify');
  const res = await model.run(input, batch, { outputs: cv.probs ? [cv.logits, cv.probs] : [cv.logits], onProgress, names });
  const lt: Tensor = res.get(cv.logits)!;
  const classes = lt.data.length / batch;
  if (!Number.isInteger(classes)) throw new ArgumentError(`output ${cv.logits} of shape [${lt.shape.join(', ')}] is not a score per class`);
  const p = cv.probs ? res.get(cv.probs)!.data : softmaxRows(lt.data, classes);
  const rows = (a: Float32Array) => Array.from({ length: batch }, (_, i) => a.slice(i * classes, (i + 1) * classes));
  const probs = rows(p);
  const top = probs.map((row) =>
    Array.from(row, (prob, index) => ({ index, prob }))
      .sort((a, b) => b.prob - a.prob || a.index - b.index)
      .slice(0, Math.min(topK, classes)),
  );
  return { logits: rows(lt.data), probs, top };
}
