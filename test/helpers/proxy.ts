import { createServer, connect, type Server, type Socket } from 'node:net';

/** A TCP proxy in front of a server, whose replies (server to client) on
 *  one connection can be held back and let go on demand: for a
 *  deterministic race between a read's reply and an invalidation. */
export interface Proxy {
  port: number;
  /** Connections accepted so far, in order. */
  readonly connections: number;
  /** Hold back what the server sends on connection `i` (0-based). */
  hold(i: number): void;
  /** Let it through (what was held first), and stop holding. */
  release(i: number): void;
  /** Bytes held back on connection i now. */
  held(i: number): number;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<Proxy> {
  const conns: { client: Socket; server: Socket; holding: boolean; queue: Buffer[] }[] = [];
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const c = { client, server: upstream, holding: false, queue: [] as Buffer[] };
    conns.push(c);
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => (c.holding ? c.queue.push(d) : client.write(d)));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    get connections() {
      return conns.length;
    },
    hold(i) {
      conns[i]!.holding = true;
    },
    release(i) {
      const c = conns[i]!;
      c.holding = false;
      for (const d of c.queue.splice(0)) c.client.write(d);
    },
    held(i) {
      return conns[i]!.queue.reduce((n, d) => n + d.length, 0);
    },
    async close() {
      for (const c of conns) {
        c.client.destroy();
        c.server.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
