// Rewrites key 'T' with values made of one repeated letter until `ms` pass.
// mode 'store': the real store path (lengths vary: appends, compaction,
//   resizes); 'inline': short values whose letter is set by their length
//   (rewritten in the cell through the staging cell, or switching between
//   inline and out of line; filler keys grow and rebuild the table); 'protected' / 'unprotected':
//   in-place byte overwrites through the test-only door, with and without
//   the shard lock and seqlock.
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';
import { internalsOf, codes } from 'shardedmap/internals';

const { handle, mode, ms, stop, ready } = workerData;
const map = await ShardedMap.attach(handle);
const inner = internalsOf(map);
// Start the clock once the reader reads (bounded: a reader that never
// starts fails the test by its read count, not by a hang).
const readyBy = performance.now() + 30_000;
while (Atomics.load(ready, 0) === 0 && performance.now() < readyBy) Atomics.wait(ready, 0, 0, 100);
const end = performance.now() + ms;
let writes = 0;
let inlineBefore = 0; // inline mode: stores that found 'T' inline in its cell
while (performance.now() < end) {
  const c = 97 + (writes % 26);
  if (mode === 'store') {
    map.store('T', String.fromCharCode(c).repeat(100 + ((writes * 7919) % 3000)));
  } else if (mode === 'objects') {
    // Objects stored as records: shapes published as the run goes (field
    // names from a growing set), every field the same letter, sizes from a
    // cell (inline) to a few hundred bytes (out of line).
    const n = (writes * 7919) % 200;
    const letter = String.fromCharCode(c).repeat(1 + (n % 7));
    const o = {};
    for (let j = 0; j < 1 + (writes % 5); j++) o[`f${Math.min(writes >> 6, 120)}_${j}`] = j === 0 ? String.fromCharCode(c).repeat(1 + n) : letter;
    if (inner.core.cellForm(inner.token, inner.encodeKey('T')) === codes.CELL_FORM_INLINE) inlineBefore++;
    map.store('T', o);
    if (writes % 16 === 15) {
      for (let i = 0; i < 40; i++) map.storeNumber(`filler:${i}`, i);
      for (let i = 0; i < 40; i++) map.delete(`filler:${i}`);
    }
  } else if (mode === 'inline') {
    const n = 1 + ((writes * 7919) % 30); // up to 24 fits the cell with key 'T'
    if (inner.core.cellForm(inner.token, inner.encodeKey('T')) === codes.CELL_FORM_INLINE) inlineBefore++;
    map.store('T', String.fromCharCode(97 + (n % 26)).repeat(n));
    if (writes % 16 === 15) {
      for (let i = 0; i < 40; i++) map.storeNumber(`filler:${i}`, i);
      for (let i = 0; i < 40; i++) map.delete(`filler:${i}`);
    }
  } else {
    const klen = inner.encodeKey('T');
    inner.core.testOverwrite(inner.token, klen, c, mode === 'protected' ? 1 : 0);
  }
  writes++;
}
Atomics.store(stop, 0, 1);
map.close();
parentPort.postMessage({ writes, inlineBefore });
