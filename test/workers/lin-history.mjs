// What the linearizability workers and their test agree on: the value
// domain, the operation codes and the record a worker keeps per operation
// (plain .mjs: Node 20 cannot start .ts workers; the test imports it too).

/** Value ids 0..VALUES-1. A small domain, so compareAndSwap's `expected`
 *  is often right. Id 0 (mod 3) is a number (in place in its cell), 1 a
 *  short string (inline), 2 a long string (out of line, in the shard's
 *  heap, and through the decoded-value cache on loads). */
export const VALUES = 4;

/** The value an id stands for. */
export function encodeValue(id) {
  switch (id % 3) {
    case 0:
      return id;
    case 1:
      return `v${id}`;
    default:
      return `v${id}:${'long value, kept out of line '.repeat(3)}`;
  }
}

/** What `decodeValue` returns for a value that no id encodes (torn, foreign
 *  or corrupt): no operation of the register can return it, so the checker
 *  flags it. */
export const NOT_A_VALUE = 1_000_000;

/** The id of a value a map call returned; -1 (ABSENT) for undefined. */
export function decodeValue(v) {
  if (v === undefined) return -1;
  for (let id = 0; id < VALUES; id++) if (encodeValue(id) === v) return id;
  return NOT_A_VALUE;
}

/** Operation codes, in the record's `kind` field. */
export const KINDS = ['load', 'has', 'store', 'delete', 'compareAndSwap', 'compareAndDelete', 'swap', 'loadOrStore', 'loadAndDelete'];
export const K = Object.fromEntries(KINDS.map((k, i) => [k, i]));

/** One operation is RECORD Int32s: kind, key, a, b, out, flag, inv, res.
 *  a: the value stored or expected; b: compareAndSwap's next; out: the value
 *  returned (or -1); flag: the boolean returned (swapped, deleted, present,
 *  loaded). */
export const RECORD = 8;

/** The key name of shared key k. */
export const keyName = (k) => `lin:${k}`;

/** A worker's records as the checker's operations. */
export function readHistory(records, count, worker) {
  const ops = [];
  for (let i = 0; i < count; i++) {
    const r = i * RECORD;
    const [kind, k, a, b, out, flag, inv, res] = records.subarray(r, r + RECORD);
    const base = { key: keyName(k), inv, res, worker };
    const f = flag === 1;
    switch (KINDS[kind]) {
      case 'load':
        ops.push({ ...base, kind: 'load', value: out });
        break;
      case 'has':
        ops.push({ ...base, kind: 'has', present: f });
        break;
      case 'store':
        ops.push({ ...base, kind: 'store', value: a });
        break;
      case 'delete':
        ops.push({ ...base, kind: 'delete', deleted: f });
        break;
      case 'compareAndSwap':
        ops.push({ ...base, kind: 'compareAndSwap', expected: a, next: b, swapped: f });
        break;
      case 'compareAndDelete':
        ops.push({ ...base, kind: 'compareAndDelete', expected: a, deleted: f });
        break;
      case 'swap':
        ops.push({ ...base, kind: 'swap', value: a, previous: out, loaded: f });
        break;
      case 'loadOrStore':
        ops.push({ ...base, kind: 'loadOrStore', value: a, actual: out, loaded: f });
        break;
      case 'loadAndDelete':
        ops.push({ ...base, kind: 'loadAndDelete', value: out, loaded: f });
        break;
      default:
        throw new Error(`lin-history: bad kind ${kind} in record ${i}`);
    }
  }
  return ops;
}
