// Rewrites README.md's command block (between its two marker comments) from the command table
// (cli/commands.ts) and the explainer registry: the same text `loupe --help` prints.
// `node scripts/readme-commands.mjs` writes it; `--check` only says whether it is current (exit 1 if not).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await import('./gen-kernels.mjs'); // the registry reaches the kernels module
register();
const { withReadmeBlock } = await import('../cli/commands.ts');
const file = join(root, 'README.md');
const before = readFileSync(file, 'utf8');
const after = withReadmeBlock(before);
if (process.argv.includes('--check')) {
  if (after !== before) {
    console.error('README.md: the command block is stale; run node scripts/readme-commands.mjs');
    process.exitCode = 1;
  }
} else if (after !== before) {
  writeFileSync(file, after);
  console.log('README.md: command block rewritten');
} else console.log('README.md: command block already current');
