// Exposing a shared map's metrics to Prometheus: the main thread registers
// a collector (shardedmap/prometheus, on prom-client) and serves /metrics;
// workers use the map as usual and their counts show up in the scrape.
//
//   node examples/metrics/server.mjs     # then: curl http://127.0.0.1:9464/metrics
import { createServer } from 'node:http';
import { Worker } from 'node:worker_threads';
import { Registry } from 'prom-client';
import { ShardedMap } from 'shardedmap';
import { collectMetrics } from 'shardedmap/prometheus';

/** Start the example: a map, `workers` workers that each store `keys`
 *  keys and read twice as many, and an HTTP server for /metrics on `port`
 *  (0: any free one). Resolves when the workers are done. */
export async function startMetricsExample({ port = 9464, workers = 2, keys = 1000 } = {}) {
  const map = await ShardedMap.create({ shards: 16 });
  const registry = new Registry();
  collectMetrics(map, { registry, labels: { map: 'example' } });
  const server = createServer(async (req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const runs = Array.from({ length: workers }, (_, w) => {
    const worker = new Worker(new URL('./worker.mjs', import.meta.url), {
      workerData: { handle: map.handle, prefix: `w${w}:`, keys },
    });
    map.watch(worker);
    return new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  });
  const results = await Promise.all(runs);
  return {
    url: `http://127.0.0.1:${server.address().port}/metrics`,
    map,
    hits: results.reduce((n, r) => n + r.hits, 0),
    close: () => new Promise((resolve) => server.close(() => (map.close(), resolve()))),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const ex = await startMetricsExample();
  console.log(`serving ${ex.url} (Ctrl-C to stop)`);
}
