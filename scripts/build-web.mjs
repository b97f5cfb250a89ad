// Bundles the engine, kernels and loaders for the browser (dist/loupe-web.js, ESM) with esbuild.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export async function buildWeb() {
  await build({
    entryPoints: [join(root, 'web/loupe-web.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile: join(root, 'dist/loupe-web.js'),
    sourcemap: false, // the package ships no maps (and no dangling sourceMappingURL)
    logLevel: 'warning',
  });
}
if (process.argv[1] === fileURLToPath(import.meta.url)) await buildWeb();
