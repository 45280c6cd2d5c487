// A redis-server of our own for the tests and the harness: on a free
// loopback port, nothing on disk, stopped by its pid. (Port 6379 is left to
// users and examples.) redis-server comes from the machine (Debian's
// 7.0.15 here): REDIS_SERVER names another binary.
import { spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';

/** A free TCP port on 127.0.0.1 (or `port` if given). */
export async function freePort(port = 0) {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** Does something answer +PONG on the port? */
function ping(port) {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let buf = '';
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d;
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
  });
}

/**
 * Start redis-server on `port` (a free one by default); resolves once it
 * answers PING. `stop()` ends it (SIGTERM, then SIGKILL) and waits for its
 * exit; `pid` is its process id.
 */
export async function startRedis({ port } = {}) {
  const p = port ?? (await freePort());
  const bin = process.env.REDIS_SERVER ?? 'redis-server';
  const child = spawn(bin, ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let failed;
  child.once('error', (e) => (failed = e));
  for (let i = 0; i < 100; i++) {
    if (failed) throw new Error(`could not start ${bin}: ${failed.message} (install Redis, or set REDIS_SERVER)`);
    if (await ping(p)) break;
    if (i === 99) throw new Error(`${bin} did not answer on port ${p}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port: p,
    url: `redis://127.0.0.1:${p}`,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(child.pid, 'SIGTERM');
      const t = setTimeout(() => child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 2000);
      await exited;
      clearTimeout(t);
    },
  };
}
