// Layer-wise Relevance Propagation (Bach et al. 2015; Montavon et al. 2019): the class logit's value
// as relevance, handed back layer by layer with the rules of engine/lrp.ts. One rule for every
// layer, or the composite of Montavon et al. §10.3 / Zennit's EpsilonGammaBox: ε for fully
// connected layers, γ for convolutions, z^B at the input. Returns tensors and the conservation
// of relevance per layer; never files.
import type { Model } from '../engine/runner.ts';
import type { Preprocess } from '../engine/ir.ts';
import { lrpRun, type LayerConservation, type LayerRule, type RulePicker } from '../engine/lrp.ts';
import { classifierValues, softmaxRows } from '../engine/classify.ts';
import { numel } from '../engine/shapes.ts';
import { ArgumentError, NonFiniteError, throwIfCancelled } from '../engine/errors.ts';
import { inputHW, oneHot, pickClasses, type Target } from './gradients.ts';

export const LRP_RULES = ['epsilon', 'zplus', 'gamma', 'alpha-beta', 'flat', 'composite'] as const;
export type LrpRuleOption = (typeof LRP_RULES)[number];
export const LRP_FIRST = ['same', 'zb', 'flat'] as const;

export interface LrpOptions extends Target {
  rule?: LrpRuleOption;
  epsilon?: number;
  gamma?: number;
  alpha?: number;
  beta?: number;
  /** the rule of the layers that read the input: default 'zb' for the composite, else 'same' */
  first?: (typeof LRP_FIRST)[number];
  /** the input's preprocessing, for z^B's bounds (pixels 0..255 mapped as the model maps them) */
  preprocess?: Preprocess;
}

export interface LayerGap extends LayerConservation {
  /** per image: Σ R at the inputs − Σ R at the output (what biases and stabilisers absorbed or added) */
  gap: number[];
}

export interface LrpResult {
  maps: Float32Array;
  shape: [number, number, number];
  classes: number[];
  scores: number[];
  probs: number[];
  relevance: { shape: number[]; data: Float32Array };
  /** per layer, in the order the walk met them (output to input), per image */
  layers: LayerGap[];
  /** per image: Σ R at the input */
  inputSum: number[];
}

/** The bounds of each input channel: pixels 0..255 through the model's preprocessing. */
export function inputBounds(pp: Preprocess | undefined, channels: number): { low: number[]; high: number[] } {
  const scale = pp?.scale ?? 1;
  const mean = (c: number) => pp?.mean?.[pp.mean.length === 1 ? 0 : c] ?? 0;
  const at = (v: number, c: number) => (v - mean(c)) * scale;
  const ch = Array.from({ length: channels }, (_, c) => c);
  const low = ch.map((c) => Math.min(at(0, c), at(255, c)));
  const high = ch.map((c) => Math.max(at(0, c), at(255, c)));
  return { low, high };
}

/** The per-layer rule picker of the options (validated here: α − β = 1). */
export function rulePicker(o: LrpOptions, channels: number): RulePicker {
  const rule = o.rule ?? 'epsilon';
  const alpha = rule === 'zplus' ? 1 : (o.alpha ?? 1);
  const beta = rule === 'zplus' ? 0 : (o.beta ?? 0);
  if (Math.abs(alpha - beta - 1) > 1e-9) throw new ArgumentError(`lrp: --alpha ${alpha} --beta ${beta}: the αβ rule needs α − β = 1`);
  if (alpha < 0 || beta < 0) throw new ArgumentError(`lrp: --alpha and --beta must be ≥ 0 (got ${alpha}, ${beta})`);
  const base: LayerRule = { rule: 'epsilon', epsilon: o.epsilon ?? 1e-6, gamma: o.gamma ?? 0.25, alpha, beta, ...inputBounds(o.preprocess, channels) };
  const first = o.first ?? (rule === 'composite' ? 'zb' : 'same');
  const named = (r: Exclude<LrpRuleOption, 'composite'>): LayerRule['rule'] => (r === 'zplus' ? 'alpha-beta' : r);
  return (node, isFirst, weighted) => {
    if (isFirst && weighted && first !== 'same') return { ...base, rule: first };
    if (rule !== 'composite') return { ...base, rule: named(rule) };
    return { ...base, rule: node.op === 'conv' ? 'gamma' : 'epsilon' };
  };
}

/** LRP of each image's class logit (the chosen class, else its top class). */
export async function lrp(model: Model, input: Float32Array, batch: number, o: LrpOptions = {}): Promise<LrpResult> {
  const [c, h, w] = inputHW(model);
  const pick = rulePicker(o, c);
  const cv = classifierValues(model.graph);
  const per = numel(model.graph.input.shape.slice(1));
  const chunk = Math.min(batch, model.maxRecordBatch());
  const relevance = new Float32Array(batch * per);
  const classes: number[] = [], scores: number[] = [], probs: number[] = [];
  let layers: LayerGap[] = [];
  for (let s = 0; s < batch; s += chunk) {
    throwIfCancelled(o.signal, 'explanation');
    const n = Math.min(chunk, batch - s);
    const rec = await model.record(input.subarray(s * per, (s + n) * per), n, [cv.logits], undefined, o.names?.slice(s, s + n));
    try {
      const logits = rec.read.get(model.resolve(cv.logits))!.data;
      const k = logits.length / n;
      const cls = pickClasses(logits, n, o.classes, s);
      const pr = softmaxRows(logits, k);
      const seed = oneHot(n, k, cls);
      cls.forEach((cl, i) => (seed[i * k + cl] = logits[i * k + cl]!));
      const r = await lrpRun(model, rec, model.resolve(cv.logits), seed, pick);
      relevance.set(r.relevance, s * per);
      classes.push(...cls);
      scores.push(...cls.map((cl, i) => logits[i * k + cl]!));
      probs.push(...cls.map((cl, i) => pr[i * k + cl]!));
      const gaps = r.layers.map((L) => ({ ...L, gap: L.in.map((v, i) => v - L.out[i]!) }));
      layers = s === 0 ? gaps : layers.map((L, q) => ({ ...L, out: [...L.out, ...gaps[q]!.out], in: [...L.in, ...gaps[q]!.in], gap: [...L.gap, ...gaps[q]!.gap] }));
    } finally {
      rec.dispose();
    }
    o.onProgress?.(s + n, batch);
  }
  for (let i = 0; i < relevance.length; i++)
    if (!Number.isFinite(relevance[i]!)) throw new NonFiniteError(`lrp: the relevance of image ${Math.floor(i / per)} holds non-finite values (a stabiliser too small for a layer whose z vanishes? try a larger --epsilon)`);
  const hw = h * w;
  const maps = new Float32Array(batch * hw);
  const inputSum: number[] = [];
  for (let i = 0; i < batch; i++) {
    let t = 0;
    for (let k = 0; k < c; k++)
      for (let p = 0; p < hw; p++) {
        const v = relevance[(i * c + k) * hw + p]!;
        maps[i * hw + p] += v;
        t += v;
      }
    inputSum.push(t);
  }
  return { maps, shape: [batch, h, w], classes, scores, probs, relevance: { shape: [batch, c, h, w], data: relevance }, layers, inputSum };
}
