// `loupe info` (the layer table) and `loupe predict` (the top classes of each image).
import { parseCommand } from './args.ts';
import { createNodeEngine } from './gpu-node.ts';
import { Model } from '../engine/runner.ts';
import { summarise, shapeText, totalText } from '../engine/summary.ts';
import { checkClassifier, classify } from '../engine/classify.ts';
import { loadModelFile, readInputs, readLabels } from './inputs.ts';
import { progressBar } from './progress.ts';
import { INFO_OPTIONS, PREDICT_OPTIONS } from './commands.ts';
import { ArgumentError } from '../engine/errors.ts';

export async function info(argv: string[]): Promise<number> {
  const { o } = parseCommand(argv, INFO_OPTIONS, 'info');
  if (o.adapter) {
    const engine = await createNodeEngine();
    (await import('./tune.ts')).adapterReport(engine, o.json);
    engine.device.destroy();
    return 0;
  }
  if (!o.model) throw new ArgumentError('info: --model is required (or --adapter)');
  const g = loadModelFile(o.model, o.weights, { architectureOnly: true });
  const s = summarise(g);
  if (o.json) {
    console.log(JSON.stringify(s, null, 1));
    return 0;
  }
  const rows = s.layers;
  const w = Math.max(5, ...rows.map((r) => r.name.length));
  console.log(`${s.name} (${s.format}), input ${s.input.name} [N, ${s.input.shape.slice(1).join(', ')}], outputs ${s.outputs.join(', ')}`);
  console.log(`${'layer'.padEnd(w)}  ${'op'.padEnd(13)} ${'output shape'.padEnd(18)} ${'params'.padStart(10)} ${'MFLOPs'.padStart(10)}`);
  for (const r of rows)
    console.log(`${r.name.padEnd(w)}  ${r.op.padEnd(13)} ${shapeText(r.shape).padEnd(18)} ${String(r.params).padStart(10)} ${(r.flops / 1e6).toFixed(1).padStart(10)}`);
  console.log(`total: ${totalText(s)}`);
  return 0;
}

export async function predict(argv: string[]): Promise<number> {
  const { args, o } = parseCommand(argv, PREDICT_OPTIONS, 'predict');
  const g = loadModelFile(o.model, o.weights);
  checkClassifier(g); // before the GPU starts
  const labels = readLabels(o.labels);
  const input = readInputs(args, g);
  const engine = await createNodeEngine();
  const model = new Model(engine, g);
  const bar = input.batch > 16 ? progressBar('predict', input.batch) : undefined;
  const res = await classify(model, input.data, input.batch, o.top, bar?.update, input.names);
  bar?.done();
  const classes = res.logits[0]!.length;
  if (labels && labels.length !== classes) console.error(`loupe: warning: ${o.labels} has ${labels.length} labels, the model ${classes} classes`);
  const top = res.top.map((t) => t.map(({ index, prob }) => ({ index, label: labels?.[index] ?? String(index), prob })));
  if (o.json) {
    const one = input.batch === 1 && !o.input;
    const arr = (a: Float32Array) => Array.from(a);
    console.log(JSON.stringify(one ? { logits: arr(res.logits[0]!), probs: arr(res.probs[0]!), top: top[0] } : { logits: res.logits.map(arr), probs: res.probs.map(arr), top }));
  } else {
    top.forEach((t, i) => {
      console.log(`${input.names[i]}:`);
      for (const { index, label, prob } of t) console.log(`  ${(prob * 100).toFixed(2).padStart(6)} %  ${String(index).padStart(4)}  ${label}`);
    });
  }
  model.destroy();
  return 0;
}
