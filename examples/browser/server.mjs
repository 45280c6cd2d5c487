#!/usr/bin/env node
// npm run example:browser — serves the example on http://127.0.0.1:8080/plain/
// (a SharedWorker cache needs no isolation headers; /iso/ has them too).
import { fileURLToPath } from 'node:url';
import { startServer } from '../../scripts/static-server.mjs';

const port = Number(process.env.PORT ?? 8080);
const { url } = await startServer(fileURLToPath(new URL('./', import.meta.url)), port);
console.log(`shardedmap browser example: ${url}/plain/  (Ctrl+C to stop)`);
