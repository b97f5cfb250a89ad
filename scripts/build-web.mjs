// Browser builds with esbuild:
// - dist/loupe-web.js: the engine, kernels, loaders, explainers and rendering as one ESM file (`loupe/web`);
// - dist/app/: the browser app (web/app), static files any host can serve (`loupe serve` does, on 127.0.0.1):
//   index.html, style.css, app.js (the page) and worker.js (the engine, in a Web Worker).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const common = { bundle: true, format: 'esm', platform: 'browser', target: 'es2022', sourcemap: false, logLevel: 'warning', legalComments: 'none' };
export async function buildWeb() {
  await build({ ...common, entryPoints: [join(root, 'web/loupe-web.ts')], outfile: join(root, 'dist/loupe-web.js') });
  await buildApp();
}
export async function buildApp(out = join(root, 'dist/app')) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await build({ ...common, entryPoints: { app: join(root, 'web/app/app.ts'), worker: join(root, 'web/app/worker.ts') }, outdir: out, minify: true });
  for (const f of ['index.html', 'style.css']) copyFileSync(join(root, 'web/app', f), join(out, f));
}
if (process.argv[1] === fileURLToPath(import.meta.url)) await buildWeb();
