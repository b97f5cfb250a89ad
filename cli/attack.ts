// `loupe attack` (survey §7.2, issue 17): FGSM or PGD adversarial examples of a batch of images
// (explainers/adversarial.ts), and what they do inside: per image the clean and the adversarial
// image, their difference amplified, the feature map of each chosen layer that changed most (clean
// and adversarial side by side) with every layer's relative activation change, and with --explain
// the same explanation method on both. PREFIX.png, PREFIX.npy (the adversarial images, network
// units), PREFIX.json.
import { basename } from 'node:path';
import { parseCommand } from './args.ts';
import { createNodeEngine } from './gpu-node.ts';
import { Model } from '../engine/runner.ts';
import { ArgumentError } from '../engine/errors.ts';
import { loadModelFile, preprocessFromArgs, readInputs, readLabels } from './inputs.ts';
import { encodePng } from '../loaders/image.ts';
import { writeNpy } from '../loaders/npy.ts';
import { activationChange, attack } from '../explainers/adversarial.ts';
import { explainer } from '../explainers/registry.ts';
import { attackFigure } from '../render/adversarial.ts';
import { checkOutputs, toJson, writeOutputSet } from './output.ts';
import { progressBar } from './progress.ts';
import { ATTACK_OPTIONS } from './commands.ts';

export async function attackCommand(argv: string[]): Promise<number> {
  const { args, o } = parseCommand(argv, ATTACK_OPTIONS, 'attack');
  if (args.positional.length) throw new ArgumentError(`attack: unexpected argument "${args.positional[0]}"`);
  checkOutputs('--out', o.out, [`${o.out}.png`, `${o.out}.npy`, `${o.out}.json`]);
  if (o.method === 'fgsm' && args.get('steps') !== undefined) throw new ArgumentError('--steps is for --method pgd (FGSM is one step)');
  if (o.method === 'fgsm' && args.get('alpha') !== undefined) throw new ArgumentError('--alpha is for --method pgd (FGSM steps by ε)');
  const g = loadModelFile(o.model, o.weights);
  const labels = readLabels(o.labels);
  const preprocess = preprocessFromArgs(args, g);
  const input = readInputs(args, g);
  const [, c, h, w] = g.input.shape as [number, number, number, number];
  const classOf = (t: string) => {
    const k = /^\d+$/.test(t) ? Number(t) : labels?.findIndex((l) => l.split(',')[0]!.trim() === t) ?? -1;
    if (k < 0) throw new ArgumentError(`--target ${t}: not a class number${labels ? ' or a class name of --labels' : ' (give --labels to name classes)'}`);
    return k;
  };
  const targets = o.target?.split(',').map((t) => classOf(t.trim()));
  if (targets && targets.length !== 1 && targets.length !== input.batch) throw new ArgumentError(`--target gives ${targets.length} classes for ${input.batch} images: give one, or one per image`);
  const layers = (o.layers ?? '').split(',').map((s) => s.trim()).filter((s) => s);
  const method = o.explain ? explainer(o.explain) : undefined;
  // the method's own options: its defaults, and a layer (--explain-layer, else the last of --layers) for those that need one
  const explainOptions: Record<string, unknown> = {};
  if (method?.options.some((s) => s.name === 'layer' && s.required)) {
    const layer = o.explainLayer ?? layers.at(-1);
    if (!layer) throw new ArgumentError(`--explain ${o.explain} needs a layer: give --explain-layer L (or --layers, whose last it takes)`);
    explainOptions.layer = layer;
  } else if (o.explainLayer !== undefined) throw new ArgumentError(`--explain-layer is for methods with a layer; ${o.explain ?? 'no --explain'} takes none`);
  if (method) method.validate(explainOptions, { input: { channels: c, height: h, width: w }, labels, scale: preprocess.scale ?? 1 });
  const engine = await createNodeEngine();
  const model = new Model(engine, g);
  try {
    for (const l of [...layers, ...(typeof explainOptions.layer === 'string' ? [explainOptions.layer] : [])]) model.resolve(l); // unknown layers fail before the attack
    const bar = progressBar(`${o.method} ε=${o.eps}`, input.batch);
    const abort = new AbortController();
    const onSigint = () => abort.abort();
    process.once('SIGINT', onSigint);
    let r;
    try {
      r = await attack(model, input.data, input.batch, {
        method: o.method as 'fgsm' | 'pgd', eps: o.eps, alpha: o.alpha, steps: o.method === 'fgsm' ? 1 : o.steps, targets, randomStart: o.randomStart, seed: o.seed,
        preprocess, signal: abort.signal, onProgress: (d, t) => bar.update(d, t),
      });
    } finally {
      process.off('SIGINT', onSigint);
      bar.done();
    }
    const changes = layers.length ? await activationChange(model, input.data, r.adversarial, input.batch, layers) : [];
    const inputs = { batch: input.batch, names: input.names, labels, preprocess, fromImages: input.images !== undefined };
    const explained = method
      ? { clean: await method.run(model, { ...inputs, data: input.data }, explainOptions), adversarial: await method.run(model, { ...inputs, data: r.adversarial }, explainOptions) }
      : undefined;
    const name = (k: number) => (labels?.[k] ? `${labels[k]!.split(',')[0]} (${k})` : `class ${k}`);
    const json = {
      model: basename(o.model), method: o.method, eps: o.eps, alpha: o.method === 'pgd' ? (o.alpha ?? (2.5 * o.eps) / o.steps) : o.eps, steps: o.method === 'pgd' ? o.steps : 1,
      units: 'eps, alpha and linf are fractions of the pixel range (0..255 through the preprocessing)', targeted: r.targeted, randomStart: o.method === 'pgd' && o.randomStart, seed: o.seed,
      images: input.names!.map((n, i) => ({
        image: n, clean: { class: r.cleanClass[i], label: name(r.cleanClass[i]!), prob: r.cleanProb[i] }, adversarial: { class: r.advClass[i], label: name(r.advClass[i]!), prob: r.advProb[i] },
        aim: r.aim[i], success: r.success[i], linf: r.linf[i], layers: changes.map((ch) => ({ layer: ch.layer, relativeChange: ch.change[i] })),
      })),
      successRate: r.success.filter((s) => s).length / r.success.length, seconds: r.seconds,
      adversarial: `${basename(o.out)}.npy: the adversarial images, N×C×H×W in the network's units`,
      explain: o.explain,
    };
    const ctx = { data: input.data, batch: input.batch, names: input.names, labels, preprocess, fromImages: inputs.fromImages, shape: [c, h, w] as [number, number, number], model: basename(o.model) };
    for (const f of await writeOutputSet([
      [`${o.out}.png`, () => encodePng(attackFigure(r, changes, ctx, explained, json.eps, o.method))],
      [`${o.out}.npy`, () => writeNpy([input.batch, c, h, w], r.adversarial)],
      [`${o.out}.json`, () => new TextEncoder().encode(toJson(json))],
    ])) console.log(f);
    input.names!.forEach((n, i) => console.log(`${n}: ${name(r.cleanClass[i]!)} ${(100 * r.cleanProb[i]!).toFixed(1)}% → ${name(r.advClass[i]!)} ${(100 * r.advProb[i]!).toFixed(1)}%${r.success[i] ? '' : ' (attack failed)'}`));
    return 0;
  } finally {
    model.destroy();
  }
}
