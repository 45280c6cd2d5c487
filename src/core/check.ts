/**
 * `map.check()`: run the core's checks (assembly/check.ts) over every shard
 * (under its lock, in order) and the allocator, and report the broken
 * rules by the stable names and messages a user sees.
 */
import {
  CHECK_SEQ_ODD, CHECK_TABLE_REGION, CHECK_HEAP_BOUNDS, CHECK_ENTRY_OUTSIDE_HEAP, CHECK_HEAP_PARSE,
  CHECK_DEAD_BYTES, CHECK_LIVE_COUNT, CHECK_USED_COUNT, CHECK_INLINE_SIZE, CHECK_KEY_UNREACHABLE,
  CHECK_STAGED, CHECK_PENDING, CHECK_FREE_ORDER, CHECK_FREE_ADJACENT, CHECK_FREE_BYTES,
  CHECK_FREE_AT_TOP, CHECK_OVERLAP, CHECK_OUTSIDE_HEAP_AREA, CHECK_CACHE_COUNTS, CHECK_CACHE_BOUND, CHECK_CACHE_QUEUE,
  SCRATCH_WORD,
} from '../../assembly/shared.js';
import { checkWaitOptions, type WaitOptions } from '../base/wait.js';
import { withAllShards } from './recovery.js';
import type { Session } from './session.js';

/** One broken rule found by `check()`. */
export interface CheckProblem {
  /** The shard's index, or -1 for the memory allocator. */
  shard: number;
  /** Stable name of the rule, e.g. `HEAP_PARSE`. */
  rule: string;
  /** What the rule says, in words. */
  message: string;
}

/** The result of `map.check()`. */
export interface CheckReport {
  /** No rule is broken. */
  ok: boolean;
  /** Every broken rule: at most one per shard (the first found), plus the
   *  allocator's. */
  problems: CheckProblem[];
  /** Internal errors (Wasm traps or aborts, each already turned into an
   *  `ERR_SHARDEDMAP_INTERNAL` error) that any instance hit since the map was
   *  created. Non-zero means a shardedmap bug was hit: report it. */
  faults: number;
  /** Bytes of shared memory neither in use nor free for reuse: what writers
   *  that stopped in the middle of an allocation leaked (expected to be a
   *  few regions at most after crashes; not a broken rule). */
  leakedBytes: number;
}

const RULES: Record<number, [string, string]> = {
  [CHECK_SEQ_ODD]: ['SEQ_ODD', 'the seqlock is odd while no write is in flight'],
  [CHECK_TABLE_REGION]: ['TABLE_REGION', 'the table word does not match the shard region'],
  [CHECK_HEAP_BOUNDS]: ['HEAP_BOUNDS', 'the heap top or end lies outside the shard region'],
  [CHECK_ENTRY_OUTSIDE_HEAP]: ['ENTRY_OUTSIDE_HEAP', 'an out-of-line entry lies outside the heap'],
  [CHECK_HEAP_PARSE]: ['HEAP_PARSE', 'the heap does not parse entry by entry up to its top'],
  [CHECK_DEAD_BYTES]: ['DEAD_BYTES', 'the dead-byte count is wrong'],
  [CHECK_LIVE_COUNT]: ['LIVE_COUNT', 'the live-entry count is wrong'],
  [CHECK_USED_COUNT]: ['USED_COUNT', 'the used-slot count is wrong'],
  [CHECK_INLINE_SIZE]: ['INLINE_SIZE', 'an inline entry does not fit its cell'],
  [CHECK_KEY_UNREACHABLE]: ['KEY_UNREACHABLE', 'a key is not where a lookup finds it'],
  [CHECK_STAGED]: ['STAGED', 'a cell still points at the staging cell'],
  [CHECK_PENDING]: ['PENDING', 'a region being built is left over'],
  [CHECK_FREE_ORDER]: ['FREE_ORDER', 'the free list is not increasing or leaves the allocator area'],
  [CHECK_FREE_ADJACENT]: ['FREE_ADJACENT', 'two free blocks touch (not coalesced)'],
  [CHECK_FREE_BYTES]: ['FREE_BYTES', 'the free-byte count is wrong'],
  [CHECK_FREE_AT_TOP]: ['FREE_AT_TOP', 'the last free block was not given back to the bump pointer'],
  [CHECK_OVERLAP]: ['OVERLAP', 'two regions in use, or a region in use and a free block, overlap'],
  [CHECK_OUTSIDE_HEAP_AREA]: ['OUTSIDE_AREA', 'a region in use lies outside the allocator area'],
  [CHECK_CACHE_COUNTS]: ['CACHE_COUNTS', 'the live-byte or small-queue count of a cache shard is wrong'],
  [CHECK_CACHE_BOUND]: ['CACHE_BOUND', 'a cache shard holds more entries or bytes than its budget'],
  [CHECK_CACHE_QUEUE]: ['CACHE_QUEUE', 'a live entry of a cache shard is in no eviction queue'],
};

/** The problem that core result `code` (> 0) of `shard` (-1: allocator) names. */
export function checkProblem(shard: number, code: number): CheckProblem {
  const [rule, message] = RULES[code] ?? [`RULE_${code}`, `rule ${code} is broken`];
  return { shard, rule, message };
}

/** Check the map through session `s` (see `ShardedMap.check`). */
export function checkMap(s: Session, options: WaitOptions | undefined): CheckReport {
  if (options !== undefined) checkWaitOptions(options);
  const problems: CheckProblem[] = [];
  let leakedBytes = 0;
  withAllShards(s, options, (shard) => {
    const rule = s.core.checkShard(s.token, shard);
    if (rule < 0) throw s.refused('checkShard', rule);
    if (rule > 0) problems.push(checkProblem(shard, rule));
  }, () => {
    const rule = s.retry(() => s.core.checkAllocator(s.token), options);
    if (rule < 0) throw s.refused('checkAllocator', rule);
    if (rule > 0) problems.push(checkProblem(-1, rule));
    else leakedBytes = s.i32[(s.scratch + SCRATCH_WORD) >>> 2]! >>> 0;
  });
  return { ok: problems.length === 0, problems, faults: s.core.faults(), leakedBytes };
}
