#!/usr/bin/env node
// Entry point of the `loupe` command: runs the compiled CLI, dist/cli/main.js (made by
// `npm run build`, which npm ci, npm pack and npm test run). Writes nothing into the package.
const main = new URL('../dist/cli/main.js', import.meta.url);
let cli;
try {
  cli = await import(main.href);
} catch (e) {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes(main.pathname)) throw e;
  console.error(`loupe: ${main.pathname} is missing: run npm run build`);
  process.exit(2);
}
process.exitCode = await cli.main(process.argv.slice(2));
