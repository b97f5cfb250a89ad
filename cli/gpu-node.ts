// Node's WebGPU: Dawn through the `webgpu` package. Only the CLI and the tests import this.
import { Engine, convAlgorithmOf, type EngineOptions } from '../engine/gpu.ts';
import { cachedTuning, tuneSetting } from '../engine/tune.ts';
import { readTuneCache } from './tune-cache.ts';

let dawn: GPU | undefined;

export async function nodeGpu(): Promise<GPU> {
  if (dawn) return dawn;
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp'; // Vulkan loaders warn without it
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  // Unquantised timestamps: otherwise readings snap to 65.5 µs steps.
  dawn = create(['disable-dawn-features=timestamp_quantization']) as GPU;
  return dawn;
}

/**
 * An engine on Dawn. LOUPE_CONV=auto|gemm|winograd sets Engine.convAlgorithm (how stride-1 3×3
 * convs run, engine/winograd.ts) for reproducible runs, unless `opts` says. LOUPE_TUNE=on|off
 * (default off) sets Engine.tune, unless `opts` says; when on, the tuning cached for this adapter
 * (cli/tune-cache.ts, written by `loupe tune`) is loaded, unless `opts.tuning` gives one.
 */
export async function createNodeEngine(opts: EngineOptions = {}): Promise<Engine> {
  const env = process.env.LOUPE_CONV;
  const convAlgorithm = opts.convAlgorithm ?? (env ? convAlgorithmOf(env, 'LOUPE_CONV') : undefined);
  const tuneEnv = process.env.LOUPE_TUNE;
  const tune = opts.tune ?? (tuneEnv ? tuneSetting(tuneEnv, 'LOUPE_TUNE') : false);
  const engine = await Engine.create(await nodeGpu(), { ...opts, convAlgorithm, tune });
  if (tune && !engine.tuning) engine.tuning = cachedTuning(readTuneCache(), engine.adapterInfo);
  return engine;
}
