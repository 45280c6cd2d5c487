/**
 * Iteration (`range`, `rangeShard`, the iterators): shard by shard, each
 * shard's entries decoded under its lock, then handed out after the lock
 * is released, so what a callback sees of one shard is a consistent
 * snapshot, a callback may read and write the map, and an iterator left
 * unfinished holds nothing. Each key is visited at most once; the order is
 * hash order.
 */
import { SCRATCH_KLEN, SCRATCH_WORD } from '../../assembly/shared.js';
import { decodeKey, decodeValue, type Key } from '../codec/codec.js';
import { hasExpiry } from '../codec/words.js';
import type { Session } from './session.js';

/** The entries of shards [from, to), each shard copied (decoded) under its
 *  lock, then handed out: the one snapshot loop of every iteration. */
export function* shardEntries<V>(s: Session, from: number, to: number): IterableIterator<[Key, V]> {
  const buf: unknown[] = [];
  const klenIdx = (s.scratch + SCRATCH_KLEN) >>> 2;
  const wordIdx = (s.scratch + SCRATCH_WORD) >>> 2;
  for (let shard = from; shard < to; shard++) {
    s.alive();
    buf.length = 0;
    s.lockShard(shard);
    try {
      for (let c = s.core.next(s.token, shard, 0); c > 0; c = s.core.next(s.token, shard, c)) {
        const w = s.i32[wordIdx]!;
        if (hasExpiry(w) && s.expired(s.expIdx)) continue;
        buf.push(decodeKey(s.io, s.key, s.i32[klenIdx]!), decodeValue(s.io, s.aux, w));
      }
    } finally {
      s.core.unlockShard(s.token, shard);
    }
    for (let i = 0; i < buf.length; i += 2) yield [buf[i] as Key, buf[i + 1] as V];
  }
}
