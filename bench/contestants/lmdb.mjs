// npm `lmdb` 3.x, one memory-mapped environment opened in every worker.
// Durability: noSync (commits are not fsynced: a crash of the process keeps
// the data, a power loss may not); writes use putSync / removeSync so each
// is committed and visible to other workers when it returns.
import { open as openDb } from 'lmdb';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const kind = 'shared';
/** A B-tree ordered by key: YCSB E's short scans are getRange from a key. */
export const canScan = true;
const OPTIONS = { noSync: true };

export async function setup(cell, { keys, value }) {
  const dir = mkdtempSync(join(tmpdir(), 'shardedmap-bench-lmdb-'));
  const path = join(dir, 'db');
  const db = openDb({ path, ...OPTIONS });
  const CHUNK = 50_000;
  for (let i = 0; i < keys.length; i += CHUNK) {
    db.transactionSync(() => {
      for (let j = i; j < Math.min(keys.length, i + CHUNK); j++) db.put(keys[j], value(j));
    });
  }
  const stats = db.getStats();
  const bytes = (stats.treeBranchPageCount + stats.treeLeafPageCount + stats.overflowPages) * stats.pageSize;
  return {
    bytesPerEntry: bytes / keys.length,
    bytesKind: 'file (pages)',
    worker: () => ({ data: { path } }),
    teardown: async () => {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function open(data, numeric) {
  const db = openDb({ path: data.path, ...OPTIONS });
  return {
    load: numeric ? (k) => db.get(k) ?? NaN : (k) => db.get(k),
    store: (k, v) => db.putSync(k, v),
    del: (k) => db.removeSync(k),
    scan: (k, count) => {
      let n = 0;
      for (const _ of db.getRange({ start: k, limit: count })) n++;
      return n;
    },
    close: () => db.close(),
  };
}
