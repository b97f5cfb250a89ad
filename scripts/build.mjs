// `npm run build` (also run by `npm ci` / `npm install` through `prepare`, by `npm pack` and by `npm test`):
// kernels/wgsl.generated.ts from kernels/*.wgsl, then dist/ afresh: the JS and .d.ts of every source
// folder (tsc -p tsconfig.build.json) and the one-file browser bundle dist/loupe-web.js (esbuild).
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWeb } from './build-web.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await import('./gen-kernels.mjs');
rmSync(join(root, 'dist'), { recursive: true, force: true }); // no outputs of sources since removed
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
await buildWeb();
writeFileSync(join(root, 'dist', '.build-stamp'), `${new Date().toISOString()}\n`); // spec/fresh-build.ts compares sources with it
