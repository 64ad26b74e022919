// DEVELOPMENT ONLY: serves web/dist and an in-memory imitation of the API (dev/fake_api.mjs).
//   node tests/browser/dev_server.mjs [--port 8088] [--gpus 10000]
// Tokens: admin-token, auditor-token, op1-token, op2-token.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeWorld, handle } from './dev/fake_api.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => { const i = process.argv.indexOf(name); return i >= 0 ? process.argv[i + 1] : def; };
const port = Number(arg('--port', 8088));
const root = path.resolve(arg('--web-root', path.join(here, '..', '..', 'web', 'dist')));
const world = makeWorld(Number(arg('--gpus', 10000)));
const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.map': 'application/json' };

http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    if (url.pathname.startsWith('/api/v1/')) {
      const [status, out, type] = handle(world, req, url, body);
      res.writeHead(status, { 'Content-Type': type || 'application/json' });
      res.end(typeof out === 'string' ? out : JSON.stringify(out));
      return;
    }
    let file = path.join(root, path.normalize(url.pathname));
    if (!file.startsWith(root) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) file = path.join(root, 'index.html');
    res.writeHead(200, { 'Content-Type': types[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
}).listen(port, '127.0.0.1', () => console.log(`dev dashboard on http://127.0.0.1:${port}/ (fake API, ${world.devices.length} GPUs)`));
