// `loupe patch-model`: prediction difference analysis's patch model (explainers/patch-model.ts),
// built once per window size from real images with the model's preprocessing: folders, image
// files, N×C×H×W .npy arrays or IDX(.gz) image files. `loupe explain --method pda` reads it.
import { basename, extname } from 'node:path';
import { statSync, existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Args } from './args.ts';
import { ArgumentError } from '../engine/errors.ts';
import type { Preprocess } from '../engine/ir.ts';
import { validateOptions } from '../explainers/options.ts';
import { filesUnder, IMAGE_EXTENSIONS, loadModelFile, readBytes, preprocessFromArgs } from './inputs.ts';
import { decodeImage, maxPixels } from '../loaders/image.ts';
import { preprocessImage } from '../loaders/preprocess.ts';
import { readNpy } from '../loaders/npy.ts';
import { readIdx, isGzip } from '../loaders/idx.ts';
import { buildPatchModel, encodePatchModel, patchSize } from '../explainers/patch-model.ts';
import { checkOutputs, writeOutputSet } from './output.ts';
import { PATCH_MODEL_OPTIONS } from './commands.ts';

/** Image files of a folder and its subfolders (sorted), or the file itself. */
function listImages(path: string): string[] {
  if (!existsSync(path)) throw new ArgumentError(`${path}: not found`);
  if (statSync(path).isDirectory()) return filesUnder(path, (f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase()) || f.endsWith('.npy') || /ubyte(\.gz)?$/.test(f)).map((f) => f.path);
  return [path];
}

/** Reads --images (folders, image files, N×C×H×W .npy arrays, IDX(.gz) image files) into preprocessed C×H×W images. */
function readImageSet(paths: string[], pp: Preprocess & { channels: number }, c: number, h: number, w: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (const file of paths.flatMap(listImages)) {
    const name = basename(file);
    if (name.endsWith('.npy')) {
      const a = readNpy(readBytes(file, 'array'), name);
      const s = a.shape.length === 3 ? [1, ...a.shape] : a.shape;
      if (s.length !== 4 || s[1] !== c || s[2] !== h || s[3] !== w) throw new ArgumentError(`${file}: array of shape [${a.shape.join(', ')}] is not N×${c}×${h}×${w}`);
      for (let i = 0; i < s[0]!; i++) out.push(Float32Array.from(a.data.subarray(i * c * h * w, (i + 1) * c * h * w)));
    } else if (/ubyte(\.gz)?$/.test(name)) {
      let bytes = readBytes(file, 'IDX file');
      if (isGzip(bytes)) bytes = new Uint8Array(gunzipSync(bytes));
      const idx = readIdx(bytes, name);
      if (idx.dims.length !== 3) throw new ArgumentError(`${file}: an IDX image file has 3 dimensions (N, H, W), this one [${idx.dims.join(', ')}]`);
      const [n, ih, iw] = idx.dims as [number, number, number];
      for (let i = 0; i < n; i++) {
        const rgba = new Uint8Array(ih * iw * 4);
        for (let q = 0; q < ih * iw; q++) {
          const v = idx.data[i * ih * iw + q]!;
          rgba[4 * q] = rgba[4 * q + 1] = rgba[4 * q + 2] = v;
          rgba[4 * q + 3] = 255;
        }
        out.push(preprocessImage({ width: iw, height: ih, data: rgba }, pp));
      }
    } else out.push(preprocessImage(decodeImage(readBytes(file, 'image'), name, maxPixels(process.env)), pp));
  }
  if (out.length === 0) throw new ArgumentError(`patch-model: no images found in ${paths.join(', ')}`);
  return out;
}

export async function patchModelCommand(argv: string[]): Promise<number> {
  const args = new Args(argv, PATCH_MODEL_OPTIONS, 'patch-model');
  // `--images a b c` (a shell glob) and repeated --images both work: the paths after --images are positional.
  const given = args.given();
  if (args.positional.length) given.images = [...args.all('images'), ...args.positional];
  const o = validateOptions(PATCH_MODEL_OPTIONS, given, {}, 'patch-model');
  const { window, padding, patches, store, seed, out, images } = o;
  checkOutputs('--out', out, [out], 'file'); // before the images are read and the model built
  const modelPath = o.model;
  const g = loadModelFile(modelPath, o.weights);
  const pp = preprocessFromArgs(args, g);
  const [, c, h, w] = g.input.shape as [number, number, number, number];
  if (pp.size![0] !== h || pp.size![1] !== w) throw new ArgumentError(`patch-model: --size ${pp.size!.join('x')} does not match the model's input ${h}x${w}`);
  if (window > Math.min(h, w)) throw new ArgumentError(`patch-model: window ${window} is larger than the model's input (${h}x${w})`);
  if (patches > 0 && patchSize(window, padding) > Math.min(h, w)) throw new ArgumentError(`patch-model: the patch (${window} + 2·${padding} = ${patchSize(window, padding)}) is larger than the model's input (${h}x${w})`);
  const t0 = performance.now();
  const set = readImageSet(images, pp, c, h, w);
  console.error(`patch-model: ${set.length} images of ${c}×${h}×${w}`);
  const pm = buildPatchModel(set, {
    window, padding, channels: c, height: h, width: w, patches, store, seed, model: basename(modelPath),
    preprocess: { mean: pp.mean, scale: pp.scale, bgr: pp.bgr, grayscale: pp.grayscale, size: pp.size },
    onProgress: (s) => console.error(`patch-model: ${s} (${((performance.now() - t0) / 1000).toFixed(1)}s)`),
  });
  await writeOutputSet([[out, () => encodePatchModel(pm)]]);
  const ridge = pm.factors ? Math.max(...pm.factors.ridge) : 0;
  console.error(`patch-model: done in ${((performance.now() - t0) / 1000).toFixed(1)}s${ridge > 0 ? `; a ridge of up to ${ridge.toExponential(2)} was added to ill-conditioned covariances` : ''}`);
  console.log(out);
  return 0;
}
