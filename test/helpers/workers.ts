import { Worker } from 'node:worker_threads';

/** Run a worker entry from test/workers with `data`; resolves with the one
 *  message it posts, rejects on error or a non-zero exit. */
export function runWorker<T>(name: string, data: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(`../workers/${name}.mjs`, import.meta.url), { workerData: data });
    let result: T | undefined;
    w.once('message', (m: T) => (result = m));
    w.once('error', reject);
    w.once('exit', (code) => {
      if (code !== 0) reject(new Error(`worker ${name} exited with ${code}`));
      else if (result === undefined) reject(new Error(`worker ${name} posted nothing`));
      else resolve(result);
    });
  });
}

/** A shared stop flag (Int32Array of one) for workers. */
export function stopFlag(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4));
}

/** A worker that attaches to a map and posts `{ owner }` first: started,
 *  with the owner id it reports and every later message it posts (an
 *  `{ error }` message is how a worker reports a failed call). */
export interface AttachedWorker {
  worker: Worker;
  owner: Promise<number>;
  messages: unknown[];
}

/** Start worker entry `name` from test/workers with `data`. */
export function startAttached(name: string, data: unknown): AttachedWorker {
  const worker = new Worker(new URL(`../workers/${name}.mjs`, import.meta.url), { workerData: data });
  const messages: unknown[] = [];
  const owner = new Promise<number>((resolve, reject) => {
    worker.on('message', (m: { owner?: number }) => {
      if (typeof m.owner === 'number') resolve(m.owner);
      else messages.push(m);
    });
    worker.once('error', reject);
  });
  return { worker, owner, messages };
}
