// `loupe demo`: Loupe's main job on the model it ships, with no other files: the LeNet-ReLU that
// `loupe train` produced (weights/lenet-relu-mnist.onnx) explains the MNIST test digit it embeds
// (weights/mnist-test-0.png, a 7): its prediction, the etalons of all 10 output neurons and a
// saliency map. Its files are one set: checked before anything runs, written all or nothing.
import { existsSync } from 'node:fs';
import { parseCommand } from './args.ts';
import { ArgumentError } from '../engine/errors.ts';
import { main } from './main.ts';
import { DEMO_OPTIONS } from './commands.ts';
import { packagePath } from './paths.ts';
import { checkOutputs, OutputGroup } from './output.ts';

export async function demo(argv: string[]): Promise<number> {
  const { o } = parseCommand(argv, DEMO_OPTIONS, 'demo');
  const { out, image } = o;
  const model = packagePath('weights', 'lenet-relu-mnist.onnx');
  if (!existsSync(model)) throw new ArgumentError(`${model} not found: run loupe train first`);
  const prefixes = [`${out}-etalons`, `${out}-saliency`];
  checkOutputs('--out', out, prefixes.flatMap((p) => ['png', 'npy', 'json'].map((x) => `${p}.${x}`)));
  const steps: [string, string[]][] = [
    ['prediction', ['predict', '--model', model, '--image', image, '--top', '3']],
    ['etalons of the 10 output neurons (one pass)', ['etalon', '--model', model, '--image', image, '--neurons', '0-9', '--out', prefixes[0]!]],
    ['saliency of the top class', ['explain', '--method', 'saliency', '--model', model, '--image', image, '--out', prefixes[1]!]],
  ];
  // The steps' files are staged and renamed into place together at the end.
  const group = new OutputGroup();
  try {
    for (const [what, cmd] of steps) {
      console.log(`== ${what}: loupe ${cmd.join(' ')}`);
      const code = await main(cmd);
      if (code !== 0) return code; // (the finally removes what the steps before wrote)
    }
    await group.commit();
  } finally {
    group.abort(); // nothing left to undo after a commit
  }
  return 0;
}
