// Adds new object shapes while another writer does the same, and reads the
// other's objects back: every object it reads must decode with its own
// shape (each field's value names its field), never with a shape another
// worker published under the same record id. Mode 'control' stands in a
// save that ignores conflicting publications (a table without the
// compatibility check), which the same reads must catch.
//
// The two workers meet at a barrier before each new shape, so that both
// pack it knowing the same log: both pick the same record id every time,
// however the host schedules them (without the barrier, one worker running
// far ahead of the other learnt the other's shapes first and the two never
// conflicted: a control that caught nothing, seen once in CI). (Objects of
// published shapes are written by the map's own writer, from the second
// store of a shape on, with ids it reads from the log the other worker
// appends to meanwhile: this race checks those too.)
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';
import { internalsOf } from 'shardedmap/internals';

const { handle, id, other, rounds, shapes, gate, mode } = workerData;
const map = await ShardedMap.attach(handle);
// The table's saves that were refused (another worker published first):
// the conflict check at work, so the race did happen.
let refused = 0;
{
  const table = internalsOf(map).records.table;
  const save = table.save;
  table.save = mode === 'control'
    ? (structures) => save(structures, () => true)
    : (structures, isCompatible) => {
      const ok = save(structures, isCompatible);
      if (!ok) refused++;
      return ok;
    };
}
/** Wait until both workers have arrived here `n` times in all. */
function meet(n) {
  Atomics.add(gate, 0, 1);
  Atomics.notify(gate, 0);
  for (let seen; (seen = Atomics.load(gate, 0)) < 2 * n; ) Atomics.wait(gate, 0, seen, 10);
}
let met = 0;
meet(++met);
let writes = 0;
let reads = 0;
let bad = 0;
let errors = 0;
let firstBad;
for (let i = 0; i < rounds; i++) {
  // A new shape every rounds / shapes rounds, all through the run (not
  // all at the start), each after the barrier.
  const s = Math.floor((i * shapes) / rounds);
  if (i > 0 && s !== Math.floor(((i - 1) * shapes) / rounds)) meet(++met);
  const obj = {};
  for (let j = 0; j < 3; j++) obj[`w${id}_${s}_${j}`] = `w${id}_${s}_${j}=${i}`;
  map.store(`r:${id}:${i % 50}`, obj);
  writes++;
  let v;
  try {
    v = map.load(`r:${other}:${(i * 7) % 50}`);
  } catch (e) {
    errors++;
    firstBad ??= String(e);
    continue;
  }
  if (v === undefined) continue;
  reads++;
  const entries = Object.entries(v);
  if (entries.length !== 3 || entries.some(([k, x]) => typeof x !== 'string' || !x.startsWith(`${k}=`))) {
    bad++;
    firstBad ??= JSON.stringify(v);
  }
}
const shapesSeen = internalsOf(map).records.table.size;
map.close();
parentPort.postMessage({ writes, reads, bad, errors, firstBad, shapesSeen, refused });
