// A small static server for the browser tests and the browser example.
// /iso/... is served with the cross-origin isolation headers, /plain/...
// without; under both, /dist/... is the package's built files and anything
// else comes from `pages`.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const types = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.map': 'application/json', '.png': 'image/png', '.css': 'text/css',
};

/** Serve `pages` (a folder) on 127.0.0.1:`port` (0: any free port). */
export function startServer(pages, port = 0) {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/') return void res.writeHead(302, { location: '/plain/' }).end();
    const m = /^\/(iso|plain)\/(.*)$/.exec(path);
    if (!m) return void res.writeHead(404).end();
    const rel = normalize(m[2] || 'index.html').replace(/^(\.\.[/\\])+/, '');
    const file = rel.startsWith('dist/') ? join(root, rel) : join(pages, rel);
    try {
      const body = await readFile(file);
      const headers = { 'content-type': types[extname(file)] ?? 'application/octet-stream' };
      if (m[1] === 'iso') {
        headers['cross-origin-opener-policy'] = 'same-origin';
        headers['cross-origin-embedder-policy'] = 'require-corp';
      }
      res.writeHead(200, headers).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` }));
  });
}
