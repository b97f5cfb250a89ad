// Node's WebGPU: Dawn through the `webgpu` package. Only the CLI and the tests import this.
import { Engine, convAlgorithmOf, type EngineOptions } from '../engine/gpu.ts';

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
 * convs run, engine/winograd.ts) for reproducible runs, unless `opts` says.
 */
export async function createNodeEngine(opts: EngineOptions = {}): Promise<Engine> {
  const env = process.env.LOUPE_CONV;
  const convAlgorithm = opts.convAlgorithm ?? (env ? convAlgorithmOf(env, 'LOUPE_CONV') : undefined);
  return Engine.create(await nodeGpu(), { ...opts, convAlgorithm });
}
