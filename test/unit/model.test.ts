// Randomized model test: random sequences of every operation, applied to a
// ShardedMap and to a plain JS Map model, must give the same results; on a
// failure fast-check shrinks the sequence to a minimal one.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { ShardedMap, type Key } from 'shardedmap';
import { expectSound } from '../helpers/sound';

/** Canonical model key: SameValueZero for numbers, bytes for Uint8Array. */
function mk(k: Key): string {
  if (typeof k === 'string') return 's' + k;
  if (typeof k === 'number') return 'n' + String(k === 0 ? 0 : k);
  if (typeof k === 'bigint') return 'b' + k.toString();
  return 'u' + Array.from(k).join(',');
}

/** Content equality as the map defines it (SameValue for numbers). */
function same(a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b) return false;
  if (typeof a === 'number') return Object.is(a, b);
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && a.length === b.length && a.every((x, i) => x === b[i]);
  }
  if (typeof a === 'object' && a !== null) return JSON.stringify(a) === JSON.stringify(b);
  return a === b;
}

const keyArb: fc.Arbitrary<Key> = fc.oneof(
  fc.integer({ min: 0, max: 40 }),
  fc.constantFrom(NaN, -0, 0.5, -1e300),
  fc.string({ maxLength: 4 }),
  // Keys too long for a cell: their entries live out of line.
  fc.integer({ min: 0, max: 20 }).map((i) => `a key too long to fit in one cell: ${i}`),
  fc.string({ unit: 'binary', maxLength: 3 }),
  fc.bigInt({ min: -5n, max: 5n }),
  fc.uint8Array({ maxLength: 3 }),
);
const valueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.double(),
  fc.string({ maxLength: 30 }),
  fc.constantFrom(true, false, null, undefined, 'x'.repeat(300)),
  fc.bigInt(),
  fc.uint8Array({ maxLength: 20 }),
  fc.array(fc.integer(), { maxLength: 5 }),
  fc.record({ a: fc.integer(), b: fc.string({ maxLength: 5 }) }),
  // Objects holding what freezing cannot make immutable: never shared by
  // the decoded-value cache (short ones by content, long ones by tag).
  fc.record({
    at: fc.date({ min: new Date(0), max: new Date(4_102_444_800_000), noInvalidDate: true }),
    raw: fc.uint8Array({ maxLength: 40 }),
  }),
);

type Op =
  | ['store' | 'loadOrStore' | 'swap', Key, unknown]
  | ['load' | 'has' | 'delete' | 'loadAndDelete' | 'loadNumber', Key]
  | ['compareAndSwap', Key, unknown, unknown]
  | ['compareAndDelete', Key, unknown]
  | ['storeNumber', Key, number]
  | ['getMany', Key[]]
  | ['loadNumbers', Key[]]
  | ['clear']
  | ['size'];

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 120, arbitrary: fc.tuple(fc.constantFrom('store', 'loadOrStore', 'swap'), keyArb, valueArb) as fc.Arbitrary<Op> },
  { weight: 120, arbitrary: fc.tuple(fc.constantFrom('load', 'has', 'delete', 'loadAndDelete', 'loadNumber'), keyArb) as fc.Arbitrary<Op> },
  { weight: 40, arbitrary: fc.tuple(fc.constant('compareAndSwap'), keyArb, valueArb, valueArb) as fc.Arbitrary<Op> },
  { weight: 20, arbitrary: fc.tuple(fc.constant('compareAndDelete'), keyArb, valueArb) as fc.Arbitrary<Op> },
  { weight: 40, arbitrary: fc.tuple(fc.constant('storeNumber'), keyArb, fc.double()) as fc.Arbitrary<Op> },
  { weight: 20, arbitrary: fc.constant(['size'] as Op) },
  { weight: 15, arbitrary: fc.tuple(fc.constantFrom('getMany', 'loadNumbers'), fc.array(keyArb, { maxLength: 12 })) as fc.Arbitrary<Op> },
  { weight: 1, arbitrary: fc.constant(['clear'] as Op) },
);

class Model {
  readonly m = new Map<string, [Key, unknown]>();
  get(k: Key) {
    return this.m.get(mk(k));
  }
  apply(op: Op): unknown {
    const [name] = op;
    switch (name) {
      case 'store': case 'storeNumber':
        this.m.set(mk(op[1]), [op[1], op[2]]);
        return undefined;
      case 'load':
        return this.get(op[1])?.[1];
      case 'loadNumber': {
        const e = this.get(op[1]);
        if (!e) return -12345;
        return typeof e[1] === 'number' ? e[1] : 'throws';
      }
      case 'has':
        return this.m.has(mk(op[1]));
      case 'delete':
        return this.m.delete(mk(op[1]));
      case 'loadOrStore': {
        const e = this.get(op[1]);
        if (e) return { value: e[1], loaded: true };
        this.m.set(mk(op[1]), [op[1], op[2]]);
        return { value: op[2], loaded: false };
      }
      case 'loadAndDelete': {
        const e = this.get(op[1]);
        this.m.delete(mk(op[1]));
        return e ? { value: e[1], loaded: true } : { value: undefined, loaded: false };
      }
      case 'swap': {
        const e = this.get(op[1]);
        this.m.set(mk(op[1]), [op[1], op[2]]);
        return e ? { previous: e[1], loaded: true } : { previous: undefined, loaded: false };
      }
      case 'compareAndSwap': {
        const e = this.get(op[1]);
        if (!e || !same(e[1], op[2])) return false;
        this.m.set(mk(op[1]), [op[1], op[3]]);
        return true;
      }
      case 'compareAndDelete': {
        const e = this.get(op[1]);
        if (!e || !same(e[1], op[2])) return false;
        this.m.delete(mk(op[1]));
        return true;
      }
      case 'clear':
        this.m.clear();
        return undefined;
      case 'size':
        return this.m.size;
      case 'getMany':
        return op[1].map((k) => this.get(k)?.[1]);
      case 'loadNumbers': {
        const out = [];
        for (const k of op[1]) {
          const e = this.get(k);
          if (e && typeof e[1] !== 'number') return 'throws';
          out.push(e ? e[1] : -12345);
        }
        return out;
      }
    }
  }
}

function run(map: ShardedMap<unknown>, op: Op): unknown {
  const [name] = op;
  switch (name) {
    case 'store': return map.store(op[1], op[2]);
    case 'storeNumber': return map.storeNumber(op[1], op[2]);
    case 'load': return map.load(op[1]);
    case 'loadNumber':
      try {
        return map.loadNumber(op[1], -12345);
      } catch (e) {
        if ((e as { code?: string }).code === 'ERR_SHARDEDMAP_NOT_A_NUMBER') return 'throws';
        throw e;
      }
    case 'has': return map.has(op[1]);
    case 'delete': return map.delete(op[1]);
    case 'loadOrStore': return map.loadOrStore(op[1], op[2]);
    case 'loadAndDelete': return map.loadAndDelete(op[1]);
    case 'swap': return map.swap(op[1], op[2]);
    case 'compareAndSwap': return map.compareAndSwap(op[1], op[2], op[3]);
    case 'compareAndDelete': return map.compareAndDelete(op[1], op[2]);
    case 'clear': return map.clear();
    case 'size': return map.size;
    case 'getMany': return map.getMany(op[1]);
    case 'loadNumbers':
      try {
        return Array.from(map.loadNumbers(op[1], undefined, -12345));
      } catch (e) {
        if ((e as { code?: string }).code === 'ERR_SHARDEDMAP_NOT_A_NUMBER') return 'throws';
        throw e;
      }
  }
}

function sameResult(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => same(x, b[i]));
  }
  if (a && typeof a === 'object' && !(a instanceof Uint8Array) && ('loaded' in a)) {
    const x = a as Record<string, unknown>;
    const y = b as Record<string, unknown>;
    return x.loaded === y.loaded && same(x.value, y.value) && same(x.previous, y.previous);
  }
  return same(a, b);
}

let checkedOps = 0;

async function check(ops: Op[], shards: number): Promise<void> {
  checkedOps += ops.length;
  const map = await ShardedMap.create({ shards, maxMemory: 16 << 20, maxValueBytes: 4096 });
  const model = new Model();
  try {
    for (const op of ops) {
      const want = model.apply(op);
      const got = run(map, op);
      if (!sameResult(got, want)) {
        throw new Error(`${op[0]} gave ${String(got)}; the model says ${String(want)}`);
      }
    }
    // Final state: same size, same entries, each visited once.
    expect(map.size).toBe(model.m.size);
    const seen = new Set<string>();
    for (const [k, v] of map) {
      const key = mk(k);
      expect(seen.has(key)).toBe(false);
      seen.add(key);
      expect(same(v, model.m.get(key)?.[1])).toBe(true);
    }
    expect(seen.size).toBe(model.m.size);
    // And the shards' own bookkeeping is sound (heap parses, counters right).
    expectSound(map);
  } finally {
    map.close();
  }
}

/** How many operations the tests below check (reported in docs/reliability.md). */
export const OPS = { runs: 300, perRun: 300, long: 50_000 };

describe('model', () => {
  it('random operation sequences match a Map (1 and 2 shards, growing from 16 slots)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: OPS.perRun, size: 'max' }), fc.constantFrom(1, 2), check),
      { numRuns: OPS.runs },
    );
  });

  it('a long sequence over many keys grows, shrinks and compacts correctly', async () => {
    const ops = fc.sample(
      fc.oneof(
        fc.tuple(fc.constantFrom('store', 'swap', 'loadOrStore'), fc.integer({ min: 0, max: 3000 }), valueArb) as fc.Arbitrary<Op>,
        fc.tuple(fc.constantFrom('delete', 'load', 'loadAndDelete'), fc.integer({ min: 0, max: 3000 })) as fc.Arbitrary<Op>,
      ),
      { numRuns: OPS.long, seed: 42 },
    );
    await check(ops, 4);
    console.log(`model: ${checkedOps} random operations checked against a Map`);
  });
});
