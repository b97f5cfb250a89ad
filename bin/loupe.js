#!/usr/bin/env node
// Entry point of the `loupe` command: runs the TypeScript CLI through tsx's ESM loader.
// kernels/wgsl.generated.ts (the WGSL sources as one module) is refreshed first, so a fresh
// checkout and an edited kernel both run without a separate `npm run gen`; it is rewritten only
// when a .wgsl file changed.
import { register } from 'tsx/esm/api';
await import('../scripts/gen-kernels.mjs');
register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
