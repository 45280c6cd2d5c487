// Every atomic access of the core goes through these accessors.
//
// Ordering rule: Wasm atomics are sequentially consistent. Writers change
// what readers can see only between seqBegin and seqEnd (or publish a whole
// new table with tablePublish followed by seqRetire), so a reader that sees
// the same even seq before and after its plain loads saw a consistent
// state, provided its plain loads are ordered before the second seq load:
// readFence does that (an idempotent RMW on the reader's private word is a
// full fence; Wasm has no atomic.fence).

import { SH_SEQ, SH_TABLE, LOCK_SPINS } from "./layout";
import { LOCK_CONTENDED } from "./shared";

// ---- seqlock ---------------------------------------------------------------

// @ts-ignore: decorator
@inline export function seqRead(sh: usize): u32 {
  return atomic.load<u32>(sh, SH_SEQ);
}

/** seq becomes odd: readers that overlap will retry. */
// @ts-ignore: decorator
@inline export function seqBegin(sh: usize): void {
  atomic.add<u32>(sh, 1, SH_SEQ);
}

/** seq becomes even again. */
// @ts-ignore: decorator
@inline export function seqEnd(sh: usize): void {
  atomic.add<u32>(sh, 1, SH_SEQ);
}

/** After a new table is published: readers still in the old one retry. */
// @ts-ignore: decorator
@inline export function seqRetire(sh: usize): void {
  atomic.add<u32>(sh, 2, SH_SEQ);
}

// @ts-ignore: decorator
@inline export function readFence(privateWord: usize): void {
  atomic.or<u32>(privateWord, 0);
}

// ---- table word: groups address | group count << 32 ------------------------

// @ts-ignore: decorator
@inline export function tableLoad(sh: usize): u64 {
  return atomic.load<u64>(sh, SH_TABLE);
}

// @ts-ignore: decorator
@inline export function tablePublish(sh: usize, groups: u32, n: u32): void {
  atomic.store<u64>(sh, packTable(groups, n), SH_TABLE);
}

// @ts-ignore: decorator
@inline export function packTable(groups: u32, n: u32): u64 {
  return <u64>groups | (<u64>n << 32);
}

// @ts-ignore: decorator
@inline export function tableGroups(t: u64): u32 {
  return <u32>t;
}

// @ts-ignore: decorator
/** Number of groups (any count >= 1, not only powers of two). */
// @ts-ignore: decorator
@inline export function tableCount(t: u64): u32 {
  return <u32>(t >>> 32);
}

// ---- locks: a word holding owner id | LOCK_CONTENDED, 0 when free -----------

/** Owner id of a lock word's value (0 = free). */
// @ts-ignore: decorator
@inline export function lockOwner(v: u32): u32 {
  return v & ~LOCK_CONTENDED;
}

/** Try to take the lock at `word` for `owner`, spinning at most
 *  LOCK_SPINS times (test-and-test-and-set, so spinning only reads). */
export function tryLock(word: usize, owner: u32): bool {
  for (let i = 0; i < LOCK_SPINS; i++) {
    if (atomic.load<u32>(word) == 0 && atomic.cmpxchg<u32>(word, 0, owner) == 0) {
      return true;
    }
  }
  return false;
}

/** Release the lock; wake JS waiters if one marked the word contended. */
export function unlock(word: usize): void {
  const old = atomic.xchg<u32>(word, 0);
  if (old & LOCK_CONTENDED) atomic.notify(word, -1);
}

/** Does `owner` hold the lock at `word`? */
// @ts-ignore: decorator
@inline export function holds(word: usize, owner: u32): bool {
  return lockOwner(atomic.load<u32>(word)) == owner;
}
