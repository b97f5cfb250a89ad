// `loupe train-decoder`: UpconvNet inversion's decoder (engine/upconv.ts) of one layer of the
// shipped LeNet-ReLU, trained on MNIST with Loupe's own kernels, with a progress bar (Ctrl-C stops
// it, nothing is written), written as ONNX when it ends, with its metadata
// (loupe.decoder: the layer, its shape, the code range seen on the training digits, how it was
// trained and its held-out error).
import { readFileSync, existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseCommand } from './args.ts';
import { createNodeEngine } from './gpu-node.ts';
import { ArgumentError } from '../engine/errors.ts';
import { Model } from '../engine/runner.ts';
import { trainDecoder, DECODER_KEY, type DecoderLayer } from '../engine/upconv.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { writeOnnx } from '../loaders/onnx-writer.ts';
import { TRAIN_DECODER_OPTIONS } from './commands.ts';
import { checkOutputs, writeOutputSet } from './output.ts';
import { readMnist } from './train.ts';
import { progressBar } from './progress.ts';

export async function trainDecoderCommand(argv: string[]): Promise<number> {
  const { args, o } = parseCommand(argv, TRAIN_DECODER_OPTIONS, 'train-decoder');
  if (args.positional.length) throw new ArgumentError(`train-decoder: unexpected argument "${args.positional[0]}"`);
  const out = resolve(o.out);
  checkOutputs('--out', o.out, [out], 'file');
  if (!existsSync(o.model)) throw new ArgumentError(`--model ${o.model}: not found`);
  let data = o.data;
  if (!existsSync(data)) throw new ArgumentError(`${data}: data folder not found (give --data DIR)`);
  if (existsSync(join(data, 'mnist'))) data = join(data, 'mnist');
  const train = readMnist(data, 'train');
  const test = readMnist(data, 't10k');
  const limit = o.limit ?? train.n;
  if (limit < o.batch || limit > train.n) throw new ArgumentError(`--limit must be an integer in [${o.batch}, ${train.n}] (a batch to the training set), got "${limit}"`);
  const g = loadOnnx(new Uint8Array(readFileSync(o.model)), o.model);
  const engine = await createNodeEngine();
  const classifier = new Model(engine, g);
  classifier.resolve(o.layer); // a classifier without the layer fails here, naming it
  const log = (s: string) => !o.quiet && console.log(s);
  log(`loupe train-decoder: ${o.layer} of ${basename(o.model)} → 28×28 digit, ${limit} training digits, ${o.epochs} epochs of ${Math.floor(limit / o.batch)} steps of ${o.batch}, ${o.loss} loss, Adam lr ${o.lr} (cosine to ${o.lr / 20}), seed ${o.seed}; ${engine.adapterInfo}`);
  const bar = o.quiet ? undefined : progressBar(`train-decoder ${o.layer}`, o.epochs * Math.floor(limit / o.batch));
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  try {
    const r = await trainDecoder(classifier, o.layer as DecoderLayer, train, test, {
      epochs: o.epochs, batch: o.batch, lr: o.lr, seed: o.seed, loss: o.loss as 'pixel' | 'feature', featureWeight: o.featureWeight, limit, heldoutCount: o.heldout,
      signal: abort.signal, onProgress: (d, t) => bar?.update(d, t),
    });
    bar?.done();
    const err = r.heldout.at(-1)!;
    r.meta.trained = {
      data: `MNIST training digits 0-${limit - 1}`, epochs: o.epochs, batch: o.batch, lr: o.lr, loss: o.loss, ...(o.loss === 'feature' ? { featureWeight: o.featureWeight } : {}), seed: o.seed,
      heldout: `MNIST test digits 0-${Math.min(o.heldout, test.n) - 1}`, heldoutError: Number(err.toFixed(4)),
    };
    r.seconds.forEach((s, i) => log(`epoch ${i + 1}: loss ${r.losses[i]!.toFixed(5)}, held-out relative pixel error ${r.heldout[i]!.toFixed(4)}, ${s.toFixed(1)} s`));
    const bytes = writeOnnx(r.graph, {
      docString: `UpconvNet decoder of ${o.layer} of ${basename(o.model)} trained by loupe train-decoder (${o.loss} loss, ${o.epochs} epochs, ${limit} digits, seed ${o.seed}); held-out relative pixel error ${err.toFixed(4)}`,
      metadata: { [DECODER_KEY]: JSON.stringify(r.meta) },
    });
    await writeOutputSet([[out, () => bytes]]);
    log(`wrote ${out}: held-out relative pixel error ${err.toFixed(4)} on ${Math.min(o.heldout, test.n)} test digits, ${r.seconds.reduce((a, b) => a + b, 0).toFixed(0)} s of training`);
  } finally {
    process.off('SIGINT', onSigint);
    classifier.destroy();
  }
  return 0;
}
