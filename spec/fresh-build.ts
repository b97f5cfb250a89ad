// Mocha global setup (.mocharc.json "require"): the CLI specs run bin/loupe.js, which runs the built
// dist/. When a source file is newer than the last `npm run build` (dist/.build-stamp), build first,
// so that `npx mocha spec/cli.spec.ts` tests the sources as they are (npm test has just built).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const SKIP = new Set(['node_modules', 'dist', 'spec', 'examples', 'out', 'scratch', 'weights']);

function newestSource(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.') || (dir === ROOT && SKIP.has(e.name))) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newestSource(p));
    else if (/\.(ts|wgsl|mjs|json)$/.test(e.name) && e.name !== 'wgsl.generated.ts') t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

export function mochaGlobalSetup(): void {
  const stamp = join(ROOT, 'dist', '.build-stamp');
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= newestSource(ROOT)) return;
  console.error('spec/fresh-build.ts: dist/ is older than the sources; npm run build');
  const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed');
}
