// The package's root folder (the one with package.json): files the CLI ships (weights/) and the
// default ../shared/data are found from it, since the CLI runs from cli/ (tsx, the specs) and from
// dist/cli/ (the built package).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const PACKAGE_ROOT = packageRoot(dirname(fileURLToPath(import.meta.url)));

/** A path inside the package: `packagePath('weights', 'lenet-relu-mnist.onnx')`. */
export const packagePath = (...parts: string[]): string => join(PACKAGE_ROOT, ...parts);

/** The data the benchmarks, `train` and `etalon --figure11` read by default: ../shared/data beside the package. */
export const DEFAULT_DATA = join(PACKAGE_ROOT, '..', 'shared', 'data');
