// The `loupe` command line: argument parsing, files, output formats and exit codes.
// Library errors (LoupeError) print as one line and exit 1; anything else is a bug: one line,
// exit 2, and the stack with --verbose.
import { Args } from './args.ts';
import { LoupeError } from '../engine/errors.ts';
import { createNodeEngine } from './gpu-node.ts';
import { Model } from '../engine/runner.ts';
import { inferShapes, nodeFlops } from '../engine/shapes.ts';
import { nodeParams } from '../engine/ir.ts';
import { classify } from '../engine/classify.ts';
import { loadModelFile, readInputs, readLabels, MODEL_OPTIONS, INPUT_OPTIONS, INPUT_FLAGS } from './inputs.ts';
import { progressBar } from './progress.ts';

const USAGE = `loupe — look inside CNNs on WebGPU

  loupe demo    [--out out/demo]    the shipped LeNet-ReLU explains the digit it embeds
  loupe info    --model M [--weights W] [--json]
  loupe predict --model M [--weights W] (--image I ... | --input X.npy) [--size H[xW]]
                [--mean a,b,c] [--scale s] [--bgr] [--grayscale] [--labels L] [--top K] [--json]
  loupe explain --method saliency|deconvnet|guided-backprop|gradcam|guided-gradcam|occlusion
                --model M [--weights W] (--image I ... | --input X.npy) [--class C] [--layer L[,L2,...]]
                [--unit U] [--top] [--patch P --stride S [--full]] --out PREFIX   (+ the preprocessing flags)
  loupe etalon  --model M (--image I | --input X.npy) [--layer L] [--neurons 0-9 | 3,7,281]
                [--route onepass|literal] --out PREFIX        (+ the preprocessing flags)
  loupe etalon  --figure11 --model M [--route R] [--scale s] [--data DIR] --out PREFIX
  loupe explain --method pda [--sampling conditional|marginal] --model M [--weights W] --image I
                [--class C[,C2] | --top N] [--node prob|logit|both] [--layer L [--unit U] [--maps 16]]
                --window K [--padding L] [--samples 10] [--stride 1] --patch-model FILE [--seed 0]
                [--laplace-n N] [--full] --out PREFIX         (+ the preprocessing flags)
                (incremental inference by default: each layer recomputes only what a window changed;
                 --full recomputes whole images)
  loupe patch-model --model M [--weights W] --images DIR_OR_FILES ... --window K [--padding 2]
                [--patches 25000] [--store 64] [--seed 0] --out FILE  (+ the preprocessing flags)
  loupe maxout  --model M [--weights W] (--layer L [--units 0-63] | --class C) [--iterations N] [--lr R]
                [--tv W] [--tv-beta B] [--norm W] [--alpha A] [--blur-every N] [--blur-sigma S] [--jitter PX]
                [--clip-norm T] [--clip-contribution T] [--init noise|mean] [--optimizer adam|sgd] [--seed S] --out PREFIX
  loupe invert  --model M --image I --layer L [the maxout optimiser and regulariser flags] --out PREFIX
  loupe bench   [--quick] [--json] [--only kernels,models,explainers,etalons,maxout,pda] [--data DIR]
                [--pda-windows 250] [--pda-stride 4]
  loupe train   [--epochs 4] [--batch 64] [--lr 0.001] [--seed 1] [--out weights/lenet-relu-mnist.onnx] [--data DIR]

Models: ONNX (.onnx), or Caffe (--model net.prototxt --weights net.caffemodel).
Add --verbose to any command for stack traces.`;

export async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  argv = argv.filter((a) => a !== '--verbose');
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'demo': {
        const { demo } = await import('./demo.ts');
        return await demo(rest);
      }
      case 'info':
        return await info(rest);
      case 'predict':
        return await predict(rest);
      case 'explain': {
        const { explain } = await import('./explain.ts');
        return await explain(rest);
      }
      case 'etalon': {
        const { etalonCommand } = await import('./etalon.ts');
        return await etalonCommand(rest);
      }
      case 'patch-model': {
        const { patchModelCommand } = await import('./pda.ts');
        return await patchModelCommand(rest);
      }
      case 'maxout': {
        const { maxoutCommand } = await import('./optimize.ts');
        return await maxoutCommand(rest);
      }
      case 'invert': {
        const { invertCommand } = await import('./optimize.ts');
        return await invertCommand(rest);
      }
      case 'bench': {
        const { bench } = await import('./bench.ts');
        return await bench(rest);
      }
      case 'train': {
        const { train } = await import('./train.ts');
        return await train(rest);
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return cmd === undefined ? 1 : 0;
      default:
        console.error(`loupe: unknown command "${cmd}"\n\n${USAGE}`);
        return 1;
    }
  } catch (e) {
    if (e instanceof LoupeError) {
      console.error(`loupe: ${e.message}`);
      if (verbose) console.error(e.stack);
      return 1;
    }
    const err = e as Error;
    console.error(`loupe: internal error: ${err?.message ?? String(e)}${verbose ? '' : ' (run with --verbose for details)'}`);
    if (verbose) console.error(err?.stack);
    return 2;
  }
}

async function info(argv: string[]): Promise<number> {
  const args = new Args(argv, { values: MODEL_OPTIONS, flags: ['json'] }, 'info');
  const g = loadModelFile(args.need('model', 'info'), args.get('weights'));
  const shapes = inferShapes(g, 1);
  const rows = g.nodes.map((n) => {
    const out = shapes.get(n.outputs[0]!)!;
    const params = nodeParams(n).reduce((s, p) => s + (g.params.get(p)?.data.length ?? 0), 0);
    return { name: n.name, op: n.op, inputs: n.inputs, output: n.outputs[0]!, shape: out, params, flops: nodeFlops(n, shapes.get(n.inputs[0]!) ?? out, out, g) };
  });
  const totalParams = rows.reduce((s, r) => s + r.params, 0);
  const totalFlops = rows.reduce((s, r) => s + r.flops, 0);
  if (args.flag('json')) {
    console.log(JSON.stringify({ name: g.name, format: g.format, input: g.input, outputs: g.outputs, layers: rows, params: totalParams, flops: totalFlops }, null, 1));
    return 0;
  }
  const w = Math.max(5, ...rows.map((r) => r.name.length));
  console.log(`${g.name} (${g.format}), input ${g.input.name} [N, ${g.input.shape.slice(1).join(', ')}], outputs ${g.outputs.join(', ')}`);
  console.log(`${'layer'.padEnd(w)}  ${'op'.padEnd(13)} ${'output shape'.padEnd(18)} ${'params'.padStart(10)} ${'MFLOPs'.padStart(10)}`);
  for (const r of rows)
    console.log(`${r.name.padEnd(w)}  ${r.op.padEnd(13)} ${r.shape.slice(1).join('×').padEnd(18)} ${String(r.params).padStart(10)} ${(r.flops / 1e6).toFixed(1).padStart(10)}`);
  console.log(`total: ${g.nodes.length} layers, ${totalParams.toLocaleString('en')} parameters, ${(totalFlops / 1e9).toFixed(3)} GFLOPs per image`);
  return 0;
}

async function predict(argv: string[]): Promise<number> {
  const args = new Args(argv, { values: [...MODEL_OPTIONS, ...INPUT_OPTIONS, 'top'], flags: [...INPUT_FLAGS, 'json'], repeatable: ['image'] }, 'predict');
  const g = loadModelFile(args.need('model', 'predict'), args.get('weights'));
  const labels = readLabels(args.get('labels'));
  const input = readInputs(args, g);
  const topK = args.int('top', 5, 1);
  const engine = await createNodeEngine();
  const model = new Model(engine, g);
  const bar = input.batch > 16 ? progressBar('predict', input.batch) : undefined;
  const res = await classify(model, input.data, input.batch, topK, bar?.update);
  bar?.done();
  const classes = res.logits[0]!.length;
  if (labels && labels.length !== classes) console.error(`loupe: warning: ${args.get('labels')} has ${labels.length} labels, the model ${classes} classes`);
  const top = res.top.map((t) => t.map(({ index, prob }) => ({ index, label: labels?.[index] ?? String(index), prob })));
  if (args.flag('json')) {
    const one = input.batch === 1 && !args.get('input');
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

