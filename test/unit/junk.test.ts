// Random junk thrown at every public method, between valid operations:
// each junk call must throw the typed error its input calls for (the exact
// stable code, and the built-in class that code extends) and change
// nothing; afterwards the map must still equal its model.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { ShardedMap } from 'shardedmap';

const MAX_KEY = 32;
const MAX_VALUE = 256;

const cyclic: Record<string, unknown> = { a: 1 };
cyclic.self = cyclic;

/** A bad input and the error code it must get. */
type Bad = [unknown, string];
const C = (code: string) => `ERR_SHARDEDMAP_${code}`;

const badKey: fc.Arbitrary<Bad> = fc.oneof(
  fc.constantFrom<unknown>({}, [], null, undefined, true, false, Symbol('s'), () => 1, new Date(0), new Uint16Array(2), new Map(), /re/)
    .map((k): Bad => [k, C('KEY_TYPE')]),
  fc.object().map((o): Bad => [o, C('KEY_TYPE')]),
  fc.string({ minLength: MAX_KEY, maxLength: MAX_KEY + 20 }).map((s): Bad => ['k'.repeat(MAX_KEY) + s, C('KEY_TOO_LARGE')]),
  fc.uint8Array({ minLength: MAX_KEY, maxLength: MAX_KEY + 4 }).map((b): Bad => [b, C('KEY_TOO_LARGE')]),
  fc.bigInt({ min: 2n ** 200n, max: 2n ** 300n }).map((b): Bad => [b, C('KEY_TOO_LARGE')]),
);
const badValue: fc.Arbitrary<Bad> = fc.oneof(
  fc.constantFrom<unknown>(Symbol('v'), () => 2, cyclic, { f() {} }, [1, () => 2], { deep: { s: Symbol('x') } }, { c: cyclic })
    .map((v): Bad => [v, C('VALUE_TYPE')]),
  fc.string({ minLength: MAX_VALUE + 1, maxLength: MAX_VALUE + 40 }).map((s): Bad => ['v'.repeat(MAX_VALUE) + s, C('VALUE_TOO_LARGE')]),
  fc.uint8Array({ minLength: MAX_VALUE + 1, maxLength: MAX_VALUE + 10 }).map((b): Bad => [b, C('VALUE_TOO_LARGE')]),
);
const badOptions: fc.Arbitrary<Bad> = fc
  .constantFrom<unknown>(5, 'fast', null, { timeout: -1 }, { timeout: 'soon' }, { timeout: NaN }, { signal: 5 }, { signal: {} })
  .map((o): Bad => [o, C('INVALID_OPTION')]);
const goodKey = fc.oneof(fc.integer({ min: 0, max: 30 }), fc.string({ maxLength: 6 }));
const goodValue = fc.oneof(fc.integer(), fc.string({ maxLength: 20 }), fc.constant(null), fc.boolean());

type M = ShardedMap<unknown>;
type Junk = readonly [string, (m: M) => unknown, string];
const junkCall: fc.Arbitrary<Junk> = fc.oneof(
  badKey.map(([k, c]): Junk => ['store(badKey)', (m) => m.store(k as never, 1), c]),
  fc.tuple(goodKey, badValue).map(([k, [v, c]]): Junk => ['store(badValue)', (m) => m.store(k, v), c]),
  fc.tuple(goodKey, goodValue, badOptions).map(([k, v, [o, c]]): Junk => ['store(badOptions)', (m) => m.store(k, v, o as never), c]),
  badKey.map(([k, c]): Junk => ['load', (m) => m.load(k as never), c]),
  badKey.map(([k, c]): Junk => ['get', (m) => m.get(k as never), c]),
  badKey.map(([k, c]): Junk => ['has', (m) => m.has(k as never), c]),
  badKey.map(([k, c]): Junk => ['delete', (m) => m.delete(k as never), c]),
  fc.tuple(goodKey, badOptions).map(([k, [o, c]]): Junk => ['delete(badOptions)', (m) => m.delete(k, o as never), c]),
  badKey.map(([k, c]): Junk => ['loadNumber', (m) => m.loadNumber(k as never), c]),
  fc.tuple(goodKey, fc.constantFrom<unknown>('1', null, 1n, {}))
    .map(([k, v]): Junk => ['storeNumber', (m) => m.storeNumber(k, v as never), C('VALUE_TYPE')]),
  fc.tuple(badKey, goodValue).map(([[k, c], v]): Junk => ['set', (m) => m.set(k as never, v), c]),
  fc.tuple(goodKey, badValue).map(([k, [v, c]]): Junk => ['loadOrStore', (m) => m.loadOrStore(k, v), c]),
  fc.tuple(goodKey, badValue).map(([k, [v, c]]): Junk => ['swap', (m) => m.swap(k, v), c]),
  fc.tuple(goodKey, badValue, goodValue).map(([k, [a, c], b]): Junk => ['compareAndSwap(badOld)', (m) => m.compareAndSwap(k, a, b), c]),
  fc.tuple(goodKey, goodValue, badValue).map(([k, a, [b, c]]): Junk => ['compareAndSwap(badNew)', (m) => m.compareAndSwap(k, a, b), c]),
  fc.tuple(goodKey, badValue).map(([k, [v, c]]): Junk => ['compareAndDelete', (m) => m.compareAndDelete(k, v), c]),
  badKey.map(([k, c]): Junk => ['loadAndDelete', (m) => m.loadAndDelete(k as never), c]),
  fc.tuple(goodKey, badValue).map(([k, [v, c]]): Junk => ['tryStore', (m) => m.tryStore(k, v), c]),
  fc.constantFrom<unknown>(0, -1, 1.5, 'x', null, 99999).map((o): Junk => ['release', (m) => m.release(o as never), C('BAD_OWNER')]),
  fc.constantFrom<unknown>(5, null, 'fn', {}).map((f): Junk => ['range', (m) => m.range(f as never), C('INVALID_ARGUMENT')]),
  fc.constantFrom<unknown>(5, null).map((f): Junk => ['forEach', (m) => m.forEach(f as never), C('INVALID_ARGUMENT')]),
  badOptions.map(([o, c]): Junk => ['clear(badOptions)', (m) => m.clear(o as never), c]),
  badOptions.map(([o, c]): Junk => ['check(badOptions)', (m) => m.check(o as never), c]),
);
/** The built-in class each code's error extends (INVALID_OPTION: TypeError
 *  for a wrong type, RangeError for a value out of range). */
const CLASS: Record<string, (typeof TypeError)[]> = {
  [C('KEY_TYPE')]: [TypeError], [C('VALUE_TYPE')]: [TypeError], [C('INVALID_ARGUMENT')]: [TypeError],
  [C('KEY_TOO_LARGE')]: [RangeError], [C('VALUE_TOO_LARGE')]: [RangeError], [C('BAD_OWNER')]: [RangeError],
  [C('INVALID_OPTION')]: [TypeError, RangeError],
};
const step = fc.oneof(
  { weight: 3, arbitrary: junkCall.map((j) => ({ junk: j })) },
  { weight: 1, arbitrary: fc.tuple(goodKey, goodValue).map(([k, v]) => ({ store: [k, v] as const })) },
  { weight: 1, arbitrary: goodKey.map((k) => ({ del: k })) },
);

export const JUNK = { runs: 60, maxSteps: 120 };

describe('junk input', () => {
  it('every junk call throws the error its input calls for, and the map still equals its model', async () => {
    let junkCalls = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: JUNK.maxSteps, size: 'max' }), async (steps) => {
        const map = await ShardedMap.create({ shards: 2, maxKeyBytes: MAX_KEY, maxValueBytes: MAX_VALUE, lockTimeout: 200 });
        const model = new Map<unknown, unknown>();
        try {
          for (const s of steps) {
            if ('junk' in s) {
              const [name, call, code] = s.junk;
              let err: unknown;
              try {
                call(map);
              } catch (e) {
                err = e;
              }
              junkCalls++;
              const got = (err as { code?: unknown } | undefined)?.code;
              if (got !== code) throw new Error(`${name} threw ${String(got ?? err)}, expected ${code}`);
              if (!CLASS[code]!.some((cls) => err instanceof cls)) throw new Error(`${name}: ${code} is not a ${CLASS[code]!.map((c) => c.name)}`);
            } else if ('store' in s) {
              map.store(s.store[0], s.store[1]);
              model.set(s.store[0], s.store[1]);
            } else {
              expect(map.delete(s.del)).toBe(model.delete(s.del));
            }
          }
          expect(map.size).toBe(model.size);
          for (const [k, v] of model) expect(map.load(k as never)).toEqual(v);
          expect(new Map([...map].map(([k, v]) => [k, v]))).toEqual(model);
        } finally {
          map.close();
        }
      }),
      { numRuns: JUNK.runs },
    );
    console.log(`junk: ${junkCalls} junk calls, each refused with the code its input calls for`);
    expect(junkCalls).toBeGreaterThan(1000);
  });
});
