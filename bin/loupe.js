#!/usr/bin/env node
// Entry point of the `loupe` command. Runs the compiled CLI, dist/cli/main.js (made by
// `npm run build`, which npm ci, npm pack and npm test run), and writes nothing into the package.
//
// The CLI runs in a child Node process whose stderr goes through cli/stderr-filter.ts: Dawn writes
// two warnings about clamped limits straight to file descriptor 2 from native code on every run,
// and nothing inside the process can hold them back. stdin and stdout are the child's directly;
// the child learns whether the real stderr is a terminal (LOUPE_STDERR_TTY, read by
// cli/progress.ts), and its exit code or killing signal becomes this process's. If this process is
// killed (SIGKILL cannot be passed on), the child ends too: see its lifeline below.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/cli/', import.meta.url);
async function load(file) {
  const url = new URL(file, dist);
  try {
    return await import(url.href);
  } catch (e) {
    if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes(url.pathname)) throw e;
    console.error(`loupe: ${url.pathname} is missing: run npm run build`);
    process.exit(2);
  }
}

if (process.env.LOUPE_CLI_CHILD === '1') {
  delete process.env.LOUPE_CLI_CHILD; // not for processes the CLI starts
  // File descriptor 3 is a pipe from the parent that is never written: it closes when the parent
  // dies, even by SIGKILL, and then this process ends at once as if killed with it (a data-set run's
  // manifest and temporaries are made for that), instead of running on unseen as an orphan.
  if (process.env.LOUPE_CLI_LIFELINE === '3') {
    delete process.env.LOUPE_CLI_LIFELINE;
    const { Socket } = await import('node:net');
    const lifeline = new Socket({ fd: 3, readable: true, writable: false });
    lifeline.on('error', () => {});
    lifeline.on('close', () => process.kill(process.pid, 'SIGKILL'));
    lifeline.resume();
    lifeline.unref();
  }
  const { main } = await load('main.js');
  process.exitCode = await main(process.argv.slice(2));
} else {
  const { StderrFilter } = await load('stderr-filter.js');
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'pipe', 'pipe'],
    env: { ...process.env, LOUPE_CLI_CHILD: '1', LOUPE_CLI_LIFELINE: '3', LOUPE_STDERR_TTY: process.stderr.isTTY ? '1' : '0' },
  });
  const filter = new StderrFilter((text) => process.stderr.write(text));
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text) => filter.push(text));
  // Ctrl-C signals the whole foreground process group (the child too); a signal sent to this
  // process alone is passed on. Either way this process ends when the child does.
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, () => child.kill(s));
  child.on('error', (e) => {
    console.error(`loupe: cannot start ${process.execPath}: ${e.message}`);
    process.exitCode = 2;
  });
  child.on('close', (code, signal) => {
    filter.end();
    if (signal) {
      for (const s of signals) process.removeAllListeners(s);
      process.kill(process.pid, signal);
    } else process.exitCode = code ?? 2;
  });
}
