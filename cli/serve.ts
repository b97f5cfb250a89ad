// `loupe serve`: the browser app as static files on 127.0.0.1. Nothing is computed here: the page
// runs the engine on the visitor's own GPU and reads their files locally, so the server has no
// upload endpoint and answers GET and HEAD of the app's own files only (anything else: 405; a path
// outside the app's folder, or a missing file: 404).
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import { parseCommand } from './args.ts';
import { packagePath } from './paths.ts';
import { SERVE_OPTIONS } from './commands.ts';
import { ArgumentError } from '../engine/errors.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.png': 'image/png', '.svg': 'image/svg+xml', '.json': 'application/json', '.ico': 'image/x-icon', '.txt': 'text/plain; charset=utf-8',
};

/** The built app's folder (npm run build:web, also part of npm run build). */
export const APP_DIR = packagePath('dist', 'app');

/** Starts the static server for `root` on host:port (port 0: any free one); resolves with its URL. */
export async function startAppServer(root = APP_DIR, port = 8080, host = '127.0.0.1'): Promise<{ server: Server; url: string }> {
  if (!existsSync(join(root, 'index.html'))) throw new ArgumentError(`${root}: no built app there (run npm run build:web)`);
  const base = normalize(root + sep);
  const server = createServer((req, res) => {
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (path.endsWith('/')) path += 'index.html';
    const file = normalize(join(root, path));
    if (!file.startsWith(base) || path.includes('\0') || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    const body = readFileSync(file);
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': body.length, 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new ArgumentError(`--port ${port}: already in use (try another port, or --port 0 for any free one)`) : e));
    server.listen(port, host, resolve);
  });
  return { server, url: `http://${host}:${(server.address() as AddressInfo).port}/` };
}

export async function serve(argv: string[]): Promise<number> {
  const { o } = parseCommand(argv, SERVE_OPTIONS, 'serve');
  const { server, url } = await startAppServer(APP_DIR, o.port);
  console.log(`Loupe app at ${url} (127.0.0.1 only; your files stay in the browser). Ctrl-C stops.`);
  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
