// A Redis Cluster of our own for the tests, the harness and the example:
// 3 masters + 3 replicas of the machine's redis-server (Debian's 7.0.15
// here; REDIS_SERVER names another binary) on free loopback ports in
// 21000-22800 (a node's bus port is its port + 10000: kept below the
// range the OS hands out for ephemeral ports), nothing kept once stopped,
// every process stopped by its pid. Port 6379 is never touched.
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-server.mjs';

const LOW = 21000;
const HIGH = 22800;

/** redis-cli with these arguments; resolves with its output. */
export function cli(...args) {
  return new Promise((resolve, reject) => {
    execFile(process.env.REDIS_CLI ?? 'redis-cli', args, { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis-cli ${args.join(' ')}: ${err.message} ${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

/** `redis-cli -p port ...args` on 127.0.0.1; an error reply rejects
 *  (redis-cli prints it and exits 0). */
export async function on(port, ...args) {
  const out = await cli('-h', '127.0.0.1', '-p', String(port), ...args);
  if (/^(ERR|WRONGTYPE|MOVED|ASK|CLUSTERDOWN|NOAUTH|\(error\))/.test(out)) throw new Error(`redis-cli -p ${port} ${args.join(' ')}: ${out}`);
  return out;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function isFree(port) {
  try {
    await freePort(port);
    return true;
  } catch {
    return false;
  }
}

/** `count` free ports in [LOW, HIGH] whose bus ports are free too. */
async function freePorts(count) {
  const out = [];
  let p = LOW + Math.floor(Math.random() * (HIGH - LOW - 200));
  for (let tries = 0; out.length < count && tries < 2000; tries++, p = p >= HIGH ? LOW : p + 1) {
    if (p === 6379) continue;
    if ((await isFree(p)) && (await isFree(p + 10000))) out.push(p);
  }
  if (out.length < count) throw new Error(`no ${count} free ports in ${LOW}-${HIGH}`);
  return out;
}

/** Wait until `cond()` resolves truthy, at most `ms`. */
export async function until(cond, ms = 20_000, what = 'condition') {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await cond()) return;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`${what}: not met within ${ms} ms`);
    await sleep(50);
  }
}

/** The nodes as `CLUSTER NODES` on `port` says: { id, port, master, failed, masterId, slots }. */
export async function clusterNodes(port) {
  const text = await on(port, 'CLUSTER', 'NODES');
  return text.split('\n').filter(Boolean).map((line) => {
    const f = line.split(' ');
    const flags = f[2].split(',');
    return {
      id: f[0],
      port: Number(f[1].split(':')[1].split('@')[0]),
      master: flags.includes('master'),
      failed: flags.includes('fail') || flags.includes('fail?'),
      masterId: f[3] === '-' ? undefined : f[3],
      slots: f.slice(8).filter((s) => !s.startsWith('[')),
    };
  });
}

/**
 * Start `masters` masters with `replicas` replicas each and join them into a
 * cluster; resolves once every node says cluster_state:ok and knows every
 * other. `nodeTimeout` is cluster-node-timeout (ms): a killed master is
 * failed over about 2× this later. `addNode()` adds an empty master.
 */
export async function startCluster({ masters = 3, replicas = 1, nodeTimeout = 1000 } = {}) {
  const bin = process.env.REDIS_SERVER ?? 'redis-server';
  const count = masters * (1 + replicas);
  const ports = await freePorts(count);
  const dir = mkdtempSync(join(tmpdir(), 'shardedmap-cluster-'));
  const spawnNode = (port) => {
    const child = spawn(bin, [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
      '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
      '--cluster-node-timeout', String(nodeTimeout),
      // The masters left keep serving their slots while one is down.
      '--cluster-require-full-coverage', 'no',
      // Nodes keep the roles the tests give them (an added empty master was
      // seen to turn into some master's replica).
      '--cluster-allow-replica-migration', 'no',
    ], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    return {
      port,
      url: `redis://127.0.0.1:${port}`,
      pid: child.pid,
      child,
      exited,
      get alive() {
        return child.exitCode === null && child.signalCode === null;
      },
      kill(signal = 'SIGKILL') {
        if (this.alive) process.kill(child.pid, signal);
        return exited;
      },
    };
  };
  const nodes = ports.map(spawnNode);
  /** Start one more node and MEET it into the cluster: a master with no
   *  slots (resolves once every node knows it). */
  const addNode = async () => {
    const [port] = await freePorts(1);
    const n = spawnNode(port);
    nodes.push(n);
    await until(async () => (await on(port, 'PING')) === 'PONG', 10_000, `redis-server on ${port}`);
    await on(port, 'CLUSTER', 'MEET', '127.0.0.1', String(nodes[0].port));
    await until(async () => {
      const alive = nodes.filter((x) => x.alive).map((x) => x.port);
      for (const x of alive) {
        const known = (await clusterNodes(x)).filter((y) => !y.failed).map((y) => y.port);
        if (!alive.every((y) => known.includes(y))) return false;
      }
      // ...and sees the same masters as the others (SETSLOT needs that).
      const masters = async (p) => (await clusterNodes(p)).filter((y) => y.master && !y.failed).map((y) => y.id).sort().join();
      if ((await masters(port)) !== (await masters(alive[0]))) return false;
      return (await on(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok');
    }, 20_000, 'every node knows every other');
    return n;
  };
  const stop = async () => {
    await Promise.all(nodes.map(async (n) => {
      if (!n.alive) return;
      process.kill(n.pid, 'SIGTERM');
      const t = setTimeout(() => n.alive && process.kill(n.pid, 'SIGKILL'), 2000);
      await n.exited;
      clearTimeout(t);
    }));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(nodes.map((n) => until(async () => (await on(n.port, 'PING')) === 'PONG', 10_000, `redis-server on ${n.port}`)));
    await cli('--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes');
    await until(async () => {
      for (const n of nodes) {
        const info = await on(n.port, 'CLUSTER', 'INFO');
        if (!info.includes('cluster_state:ok') || !info.includes(`cluster_known_nodes:${count}`)) return false;
      }
      const all = await clusterNodes(ports[0]);
      return all.filter((x) => !x.master && x.masterId).length === masters * replicas;
    }, 30_000, 'cluster ready');
  } catch (e) {
    await stop();
    throw e;
  }
  return { ports, nodes, rootNodes: [{ url: nodes[0].url }], addNode, stop };
}
