// Etalon images (Molchanov et al., METHODS.md §2). Around an input X a piecewise-linear net is
// affine: NET_p(X) = <W_X,p, X> + b_X,p. The etalon of neuron p is W_X,p, computed two ways:
//   literal  — Algorithm 1: record X's ReLU masks and max-pool switches, switch biases off, and pass
//              every coordinate image e_i (generated on the GPU, in batches) through the frozen
//              net; neuron p's value on e_i is component i;
//   onepass  — the transposed frozen net: a reverse pass from neuron p through the same masks and
//              switches gives W_X,p at once, batched over neurons.
// The bias b_X,p is the frozen net (biases on) applied to the zero image.
import type { Model, Recording } from '../engine/runner.ts';
import { opOf, frozenRefusal } from '../engine/ops/index.ts';
import { Reverser } from '../engine/reverse.ts';
import { numel } from '../engine/shapes.ts';
import { ArgumentError, throwIfCancelled } from '../engine/errors.ts';
import { coordinateImages } from '../engine/sources.ts';
import { parseRanges } from './options.ts';

export type EtalonRoute = 'onepass' | 'literal';

export interface EtalonResult {
  layer: string;
  neurons: number[];
  /** P×C×H×W */
  etalons: Float32Array;
  inputShape: number[];
  /** b_X,p for each neuron */
  biases: Float32Array;
  /** NET_p(X) for each neuron (from the plain forward pass) */
  values: Float32Array;
  route: EtalonRoute;
}

/** Parses "0-9", "3,7,281" or "0-3,10" into neuron indices. */
export function parseNeurons(spec: string): number[] {
  return parseRanges(spec, '--neurons');
}

/** Throws UnsupportedOpError naming the first op on the way to `value` that is not piecewise linear. */
export function checkPiecewiseLinear(model: Model, value: string): void {
  const g = model.graph;
  const producer = new Map<string, number>();
  g.nodes.forEach((n, i) => n.outputs.forEach((o) => producer.set(o, i)));
  const seen = new Set<number>();
  const stack = [producer.get(value)].filter((i): i is number => i !== undefined);
  while (stack.length) {
    const i = stack.pop()!;
    if (seen.has(i)) continue;
    seen.add(i);
    const n = g.nodes[i]!;
    if (opOf(n).frozen.linearity === 'nonlinear') throw frozenRefusal(n, value);
    for (const v of n.inputs) {
      const p = producer.get(v);
      if (p !== undefined) stack.push(p);
    }
  }
}

export async function etalons(model: Model, image: Float32Array, layer: string, neurons: number[], route: EtalonRoute, onProgress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<EtalonResult> {
  const g = model.graph;
  const value = model.resolve(layer);
  checkPiecewiseLinear(model, value);
  const inputShape = g.input.shape.slice(1);
  const per = numel(inputShape);
  if (image.length !== per) throw new ArgumentError(`etalons take one image of ${per} values, got ${image.length}`);

  const rec = await model.record(image, 1, [value]);
  try {
    return await etalonsOf(rec);
  } finally {
    rec.dispose();
  }

  async function etalonsOf(rec: Recording): Promise<EtalonResult> {
    const act = rec.read.get(value)!;
    const L = numel(act.shape.slice(1));
    for (const p of neurons)
      if (!Number.isInteger(p) || p < 0 || p >= L) throw new ArgumentError(`neuron ${p} is out of range: layer ${layer} has ${L} neurons per image ([${act.shape.slice(1).join('×')}], flat index c·H·W + y·W + x)`);
    const values = Float32Array.from(neurons, (p) => act.data[p]!);

    // b_X,p: the zero image through the frozen net with biases on.
    const zero = await model.runFrozen(rec, true, 1, coordinateImages(model, per, 1), [value]);
    const biases = Float32Array.from(neurons, (p) => zero.get(value)!.data[p]!);

    const P = neurons.length;
    const out = new Float32Array(P * per);
    if (route === 'literal') {
      const B = Math.max(1, Math.min(per, model.maxBatch([value])));
      for (let first = 0; first < per; first += B) {
        throwIfCancelled(signal, 'etalons');
        const n = Math.min(B, per - first);
        const res = await model.runFrozen(rec, false, n, coordinateImages(model, first, n), [value]);
        const y = res.get(value)!.data;
        for (let b = 0; b < n; b++) for (let q = 0; q < P; q++) out[q * per + first + b] = y[b * L + neurons[q]!]!;
        onProgress?.(first + n, per);
      }
    } else {
      // The reverse pass from neuron p through X's masks and switches, one neuron per batch entry.
      const rev = new Reverser(model);
      const B = Math.max(1, Math.min(P, model.maxRecordBatch()));
      for (let first = 0; first < P; first += B) {
        throwIfCancelled(signal, 'etalons');
        const n = Math.min(B, P - first);
        const xs = new Float32Array(n * per);
        for (let b = 0; b < n; b++) xs.set(image, b * per);
        const recN = await model.record(xs, n, []);
        const seed = new Float32Array(n * L);
        for (let b = 0; b < n; b++) seed[b * L + neurons[first + b]!] = 1;
        let gIn: Float32Array;
        try {
          gIn = (await rev.run(recN, value, seed, [g.input.name], 'gradient')).get(g.input.name)!.data;
        } finally {
          recN.dispose();
        }
        out.set(gIn, first * per);
        onProgress?.(first + n, P);
      }
      rev.dispose();
    }
    return { layer, neurons, etalons: out, inputShape, biases, values, route };
  }
}

/** ⟨W_X,p, X⟩ + b_X,p for each neuron: equals NET_p(X) when the etalons are right. */
export function affineValues(r: EtalonResult, image: Float32Array): Float64Array {
  const per = image.length;
  return Float64Array.from(r.neurons, (_, q) => {
    let s = r.biases[q]!;
    for (let i = 0; i < per; i++) s += r.etalons[q * per + i]! * image[i]!;
    return s;
  });
}
