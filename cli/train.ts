// `loupe train`: trains LeNet with ReLU (Molchanov et al.'s variant) on MNIST with the engine's own
// kernels (engine/train.ts) and writes it as ONNX. Mini-batches of a seeded shuffle, Adam with a
// cosine learning-rate decay, a progress bar with loss / running accuracy / ETA, test accuracy and
// time after every epoch; the model file is written (atomically) after every epoch.
import { readFileSync, existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join, resolve } from 'node:path';
import { parseCommand } from './args.ts';
import { createNodeEngine } from './gpu-node.ts';
import { ArgumentError } from '../engine/errors.ts';
import { Trainer, lenetReluGraph, mulberry32, shuffle } from '../engine/train.ts';
import type { Model } from '../engine/runner.ts';
import { readIdx } from '../loaders/idx.ts';
import { writeOnnx } from '../loaders/onnx-writer.ts';
import { TRAIN_OPTIONS } from './commands.ts';
import { checkOutputs, writeOutputSet } from './output.ts';

export interface Mnist {
  images: Uint8Array; // [n, 28, 28]
  labels: Uint8Array;
  n: number;
}

/** Reads MNIST's gzipped IDX pair `<prefix>-images-idx3-ubyte.gz` / `<prefix>-labels-idx1-ubyte.gz` from `dir`. */
export function readMnist(dir: string, prefix: 'train' | 't10k'): Mnist {
  const file = (kind: string, nd: number) => join(dir, `${prefix}-${kind}-idx${nd}-ubyte.gz`);
  for (const f of [file('images', 3), file('labels', 1)]) if (!existsSync(f)) throw new ArgumentError(`${f}: not found (give --data DIR: a folder with mnist/ or the MNIST .gz files)`);
  const img = readIdx(new Uint8Array(gunzipSync(readFileSync(file('images', 3)))), `${prefix}-images`);
  const lab = readIdx(new Uint8Array(gunzipSync(readFileSync(file('labels', 1)))), `${prefix}-labels`);
  if (img.dims.length !== 3 || img.dims[1] !== 28 || img.dims[2] !== 28 || lab.dims[0] !== img.dims[0])
    throw new ArgumentError(`${dir}: ${prefix} files are not MNIST (images [${img.dims.join(', ')}], labels [${lab.dims.join(', ')}])`);
  return { images: img.data, labels: lab.data, n: img.dims[0]! };
}

/** Test accuracy of `model` (logits value `logits`) on `data`, in chunks. */
export async function mnistAccuracy(model: Model, data: Mnist, logits = 'logits', chunk = 1000): Promise<number> {
  let right = 0;
  for (let s = 0; s < data.n; s += chunk) {
    const n = Math.min(chunk, data.n - s);
    const x = new Float32Array(n * 784);
    for (let i = 0; i < x.length; i++) x[i] = data.images[s * 784 + i]! / 255;
    const out = (await model.run(x, n, { outputs: [logits] })).get(logits)!.data;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let k = 1; k < 10; k++) if (out[i * 10 + k]! > out[i * 10 + best]!) best = k;
      if (best === data.labels[s + i]) right++;
    }
  }
  return right / data.n;
}

const fmtTime = (s: number) => (s < 60 ? `${s.toFixed(0)}s` : `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`);

export async function train(argv: string[]): Promise<number> {
  const { args, o } = parseCommand(argv, TRAIN_OPTIONS, 'train');
  if (args.positional.length) throw new ArgumentError(`train: unexpected argument "${args.positional[0]}"`);
  const { epochs, batch, seed, lr } = o;
  const out = resolve(o.out);
  checkOutputs('--out', o.out, [out], 'file'); // before the data is read and the GPU starts
  let data = o.data;
  if (!existsSync(data)) throw new ArgumentError(`${data}: data folder not found (give --data DIR)`);
  if (existsSync(join(data, 'mnist'))) data = join(data, 'mnist');
  const trainSet = readMnist(data, 'train');
  const testSet = readMnist(data, 't10k');
  const limit = o.limit ?? trainSet.n;
  if (limit < batch || limit > trainSet.n) throw new ArgumentError(`--limit must be an integer in [${batch}, ${trainSet.n}] (a batch to the training set), got "${limit}"`);
  const log = (s: string) => !o.quiet && console.log(s);

  const engine = await createNodeEngine();
  const graph = lenetReluGraph(seed);
  const trainer = new Trainer(engine, graph, { batch, optimizer: 'adam', lr });
  const steps = Math.floor(limit / batch); // the last partial batch of each epoch is dropped
  const total = steps * epochs;
  // Cosine decay from lr to lr/20 over the whole run.
  const lrAt = (t: number) => lr * (0.05 + 0.95 * 0.5 * (1 + Math.cos((Math.PI * t) / total)));
  log(`loupe train: LeNet-ReLU on MNIST (${limit} training images, ${testSet.n} test), ${epochs} epochs × ${steps} steps of ${batch}, Adam lr ${lr} (cosine to ${lr / 20}), seed ${seed}; ${engine.adapterInfo}`);

  const rand = mulberry32(seed ^ 0x5eed5eed);
  const order = Uint32Array.from({ length: limit }, (_, i) => i);
  const x = new Float32Array(batch * 784);
  const y = new Uint8Array(batch);
  const tty = process.stderr.isTTY;
  const epochTimes: number[] = [];
  let acc = 0;
  for (let ep = 1; ep <= epochs; ep++) {
    shuffle(order, rand);
    const t0 = performance.now();
    let lossSum = 0;
    let right = 0;
    let seen = 0;
    let lastLine = 0;
    for (let s = 0; s < steps; s++) {
      for (let b = 0; b < batch; b++) {
        const idx = order[s * batch + b]!;
        y[b] = trainSet.labels[idx]!;
        const src = idx * 784;
        for (let k = 0; k < 784; k++) x[b * 784 + k] = trainSet.images[src + k]! / 255;
      }
      const r = await trainer.step(x, y, lrAt((ep - 1) * steps + s));
      lossSum += r.loss * batch;
      right += r.correct;
      seen += batch;
      const now = performance.now();
      if (s === steps - 1 || now - lastLine > (tty ? 250 : 15000)) {
        lastLine = now;
        const f = (s + 1) / steps;
        const el = (now - t0) / 1000;
        const line = `epoch ${ep}/${epochs} [${'#'.repeat(Math.round(f * 24)).padEnd(24, '.')}] ${s + 1}/${steps} loss ${(lossSum / seen).toFixed(4)} acc ${((100 * right) / seen).toFixed(2)}% elapsed ${fmtTime(el)} eta ${fmtTime((el / f) * (1 - f))}`;
        if (!o.quiet) process.stderr.write(tty ? `\r${line}` : `${line}\n`);
      }
    }
    if (tty && !o.quiet) process.stderr.write('\n');
    const sec = (performance.now() - t0) / 1000;
    epochTimes.push(sec);
    acc = await mnistAccuracy(trainer.model, testSet);
    log(`epoch ${ep}: train loss ${(lossSum / seen).toFixed(4)}, train acc ${((100 * right) / seen).toFixed(2)} %, test acc ${(100 * acc).toFixed(2)} %, ${sec.toFixed(1)} s (${((seen / sec)).toFixed(0)} images/s)`);
    // Write the model after every epoch (atomically: temp file + rename; a signal meanwhile leaves the previous epoch's).
    await trainer.syncParams();
    const bytes = writeOnnx(graph, { docString: `LeNet-ReLU trained by loupe train: seed ${seed}, batch ${batch}, Adam lr ${lr} cosine, epoch ${ep}/${epochs}, MNIST test accuracy ${(100 * acc).toFixed(2)} %` });
    await writeOutputSet([[out, () => bytes]]);
  }
  log(`wrote ${out}: test accuracy ${(100 * acc).toFixed(2)} %, per-epoch time ${epochTimes.map((t) => `${t.toFixed(1)} s`).join(', ')}`);
  trainer.destroy();
  return 0;
}
