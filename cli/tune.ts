// `loupe tune`: measures the conv lowering's candidates (engine/tune.ts) on the shapes of the given
// models (default: the shipped LeNet and SqueezeNet v1.0 from --data, else synthetic shapes), prints
// each shape class's candidates and choice, and writes the choices to the cache (cli/tune-cache.ts)
// that LOUPE_TUNE=on reads. Also `loupe info --adapter`'s report.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommand } from './args.ts';
import { createNodeEngine } from './gpu-node.ts';
import { loadModelFile } from './inputs.ts';
import { packagePath } from './paths.ts';
import { TUNE_OPTIONS } from './commands.ts';
import { inferShapes } from '../engine/shapes.ts';
import type { Engine } from '../engine/gpu.ts';
import { ArgumentError } from '../engine/errors.ts';
import { cachedTuning, choiceText, graphShapes, kernelHash, tune, withTuning, SYNTHETIC_SHAPES, type TuneShape, type Tuning } from '../engine/tune.ts';
import { readTuneCache, tuneCachePath, writeTuneCache } from './tune-cache.ts';

const SQUEEZENET = join('onnx', 'squeezenet_v1.0_derived', 'squeezenet_v1.0_decoded.onnx');

/** The model files tuned by default: LeNet, and SqueezeNet v1.0 when `data` has it. */
function defaultModels(data: string): string[] {
  const out = [packagePath('weights', 'lenet-relu-mnist.onnx')];
  if (existsSync(join(data, SQUEEZENET))) out.push(join(data, SQUEEZENET));
  return out.filter((p) => existsSync(p));
}

function shapeText(s: TuneShape): string {
  return `${s.cin}→${s.cout} ${s.kernel.join('×')}/${s.stride[0]} @${s.h}×${s.w} n${s.n}${s.group > 1 ? ` g${s.group}` : ''}`;
}

/** A tuning as lines: per class, its shape, each candidate's time (or why it was refused) and the choice. */
export function tuningLines(t: Tuning): string[] {
  const lines: string[] = [];
  for (const [cls, c] of Object.entries(t.classes)) {
    lines.push(`${cls}  (${shapeText(c.shape)}): ${choiceText(c.choice)}`);
    for (const k of c.candidates)
      lines.push(`    ${choiceText(k.choice).padEnd(18)} ${k.ms === null ? `refused: ${k.refused}` : `${k.ms.toFixed(3).padStart(9)} ms`}${k.isDefault ? '  (default)' : ''}`);
  }
  return lines;
}

export async function tuneCommand(argv: string[]): Promise<number> {
  const { o } = parseCommand(argv, TUNE_OPTIONS, 'tune');
  const models = o.model ?? defaultModels(o.data);
  let shapes: TuneShape[] = [];
  for (const m of models) {
    if (!existsSync(m)) throw new ArgumentError(`--model ${m}: no such file`);
    const g = loadModelFile(m, undefined, { architectureOnly: true });
    shapes.push(...graphShapes(g.nodes, inferShapes(g, o.batch), o.batch));
  }
  if (shapes.length === 0) shapes = SYNTHETIC_SHAPES.map((s) => ({ ...s, n: o.batch }));
  const engine = await createNodeEngine({ tune: false });
  const path = tuneCachePath();
  const t = await tune(engine, shapes, { reps: o.quick ? 1 : 3, log: o.json ? undefined : (cls) => console.error(`tuned ${cls}`) });
  writeTuneCache(withTuning(readTuneCache(path), t), path);
  if (o.json) console.log(JSON.stringify({ cache: path, tuning: t }, null, 1));
  else {
    console.log(`adapter: ${t.adapter}`);
    console.log(`kernels: ${t.kernelHash}; times: ${t.clock === 'timestamps' ? 'GPU timestamps' : 'wall clock'}, best of ${o.quick ? 1 : 3}`);
    for (const l of tuningLines(t)) console.log(l);
    console.log(`written to ${path} (used with LOUPE_TUNE=on)`);
  }
  engine.device.destroy();
  return 0;
}

/** `loupe info --adapter`: the adapter, the cache's location, whether it holds a tuning for this adapter and kernels, and the choices. */
export function adapterReport(engine: Engine, json: boolean): void {
  const path = tuneCachePath();
  const cache = readTuneCache(path);
  const t = cachedTuning(cache, engine.adapterInfo);
  const stale = !t && cache?.adapters[engine.adapterInfo] !== undefined;
  const on = engine.tune;
  if (json) {
    console.log(JSON.stringify({ adapter: engine.adapterInfo, subgroups: engine.subgroups, timestamps: engine.hasTimestamps, kernelHash: kernelHash(), cache: path, cached: !!t, tuningOn: on, choices: t ? Object.fromEntries(Object.entries(t.classes).map(([k, c]) => [k, c.choice])) : {} }, null, 1));
    return;
  }
  console.log(`adapter: ${engine.adapterInfo}`);
  console.log(`features: subgroups ${engine.subgroups ? 'yes' : 'no'}, timestamp queries ${engine.hasTimestamps ? 'yes' : 'no'}`);
  console.log(`tuning cache: ${path}`);
  console.log(`tuning: ${t ? `cached (measured ${t.measured}, kernels ${t.kernelHash})` : stale ? `none for these kernels (the cached one is of kernels ${cache!.adapters[engine.adapterInfo]!.kernelHash}, these are ${kernelHash()}): run loupe tune` : 'none cached for this adapter: run loupe tune'}; ${on ? 'on (LOUPE_TUNE=on)' : 'off (LOUPE_TUNE=on applies it)'}`);
  if (t) for (const [cls, c] of Object.entries(t.classes)) console.log(`  ${cls.padEnd(40)} ${choiceText(c.choice)}`);
}
