// Random junk thrown at every public method, between valid operations:
// each junk call must throw a typed error with a stable code and change
// nothing; afterwards the map must still equal its model.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { ShardedMap } from 'shardedmap';

const MAX_KEY = 32;
const MAX_VALUE = 256;

const cyclic: Record<string, unknown> = { a: 1 };
cyclic.self = cyclic;

const badKey = fc.oneof(
  fc.constantFrom<unknown>({}, [], null, undefined, true, false, Symbol('s'), () => 1, new Date(0), new Uint16Array(2), new Map(), /re/),
  fc.string({ minLength: MAX_KEY, maxLength: MAX_KEY + 20 }).map((s) => 'k'.repeat(MAX_KEY) + s),
  fc.uint8Array({ minLength: MAX_KEY, maxLength: MAX_KEY + 4 }),
  fc.bigInt({ min: 2n ** 200n, max: 2n ** 300n }),
  fc.object().map((o) => o as unknown),
);
const badValue = fc.oneof(
  fc.constantFrom<unknown>(Symbol('v'), () => 2, cyclic, { f() {} }, [1, () => 2], { deep: { s: Symbol('x') } }, { c: cyclic }),
  fc.string({ minLength: MAX_VALUE + 1, maxLength: MAX_VALUE + 40 }).map((s) => 'v'.repeat(MAX_VALUE) + s),
  fc.uint8Array({ minLength: MAX_VALUE + 1, maxLength: MAX_VALUE + 10 }),
);
const badOptions = fc.constantFrom<unknown>(5, 'fast', null, { timeout: -1 }, { timeout: 'soon' }, { timeout: NaN }, { signal: 5 }, { signal: {} });
const goodKey = fc.oneof(fc.integer({ min: 0, max: 30 }), fc.string({ maxLength: 6 }));
const goodValue = fc.oneof(fc.integer(), fc.string({ maxLength: 20 }), fc.constant(null), fc.boolean());

type M = ShardedMap<unknown>;
const junkCall = fc.oneof(
  badKey.map((k) => ['store(badKey)', (m: M) => m.store(k as never, 1)] as const),
  fc.tuple(goodKey, badValue).map(([k, v]) => ['store(badValue)', (m: M) => m.store(k, v)] as const),
  fc.tuple(goodKey, goodValue, badOptions).map(([k, v, o]) => ['store(badOptions)', (m: M) => m.store(k, v, o as never)] as const),
  badKey.map((k) => ['load', (m: M) => m.load(k as never)] as const),
  badKey.map((k) => ['get', (m: M) => m.get(k as never)] as const),
  badKey.map((k) => ['has', (m: M) => m.has(k as never)] as const),
  badKey.map((k) => ['delete', (m: M) => m.delete(k as never)] as const),
  fc.tuple(goodKey, badOptions).map(([k, o]) => ['delete(badOptions)', (m: M) => m.delete(k, o as never)] as const),
  badKey.map((k) => ['loadNumber', (m: M) => m.loadNumber(k as never)] as const),
  fc.tuple(goodKey, fc.constantFrom<unknown>('1', null, 1n, {})).map(([k, v]) => ['storeNumber', (m: M) => m.storeNumber(k, v as never)] as const),
  fc.tuple(badKey, goodValue).map(([k, v]) => ['set', (m: M) => m.set(k as never, v)] as const),
  fc.tuple(goodKey, badValue).map(([k, v]) => ['loadOrStore', (m: M) => m.loadOrStore(k, v)] as const),
  fc.tuple(goodKey, badValue).map(([k, v]) => ['swap', (m: M) => m.swap(k, v)] as const),
  fc.tuple(goodKey, badValue, goodValue).map(([k, a, b]) => ['compareAndSwap(badOld)', (m: M) => m.compareAndSwap(k, a, b)] as const),
  fc.tuple(goodKey, goodValue, badValue).map(([k, a, b]) => ['compareAndSwap(badNew)', (m: M) => m.compareAndSwap(k, a, b)] as const),
  fc.tuple(goodKey, badValue).map(([k, v]) => ['compareAndDelete', (m: M) => m.compareAndDelete(k, v)] as const),
  badKey.map((k) => ['loadAndDelete', (m: M) => m.loadAndDelete(k as never)] as const),
  fc.tuple(goodKey, badValue).map(([k, v]) => ['tryStore', (m: M) => m.tryStore(k, v)] as const),
  fc.constantFrom<unknown>(0, -1, 1.5, 'x', null, 99999).map((o) => ['release', (m: M) => m.release(o as never)] as const),
  fc.constantFrom<unknown>(5, null, 'fn', {}).map((f) => ['range', (m: M) => m.range(f as never)] as const),
  fc.constantFrom<unknown>(5, null).map((f) => ['forEach', (m: M) => m.forEach(f as never)] as const),
  badOptions.map((o) => ['clear(badOptions)', (m: M) => m.clear(o as never)] as const),
);
const step = fc.oneof(
  { weight: 3, arbitrary: junkCall.map((j) => ({ junk: j })) },
  { weight: 1, arbitrary: fc.tuple(goodKey, goodValue).map(([k, v]) => ({ store: [k, v] as const })) },
  { weight: 1, arbitrary: goodKey.map((k) => ({ del: k })) },
);

export const JUNK = { runs: 60, maxSteps: 120 };

describe('junk input', () => {
  it('every junk call throws a typed error and the map still equals its model', async () => {
    let junkCalls = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: JUNK.maxSteps, size: 'max' }), async (steps) => {
        const map = await ShardedMap.create({ shards: 2, maxKeyBytes: MAX_KEY, maxValueBytes: MAX_VALUE, lockTimeout: 200 });
        const model = new Map<unknown, unknown>();
        try {
          for (const s of steps) {
            if ('junk' in s) {
              const [name, call] = s.junk;
              let err: unknown;
              try {
                call(map);
              } catch (e) {
                err = e;
              }
              junkCalls++;
              if (!(err instanceof Error) || !String((err as { code?: unknown }).code).startsWith('ERR_SHARDEDMAP_')) {
                throw new Error(`${name} did not throw a typed error (got ${String(err)})`);
              }
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
    console.log(`junk: ${junkCalls} junk calls, each refused with a typed error`);
    expect(junkCalls).toBeGreaterThan(1000);
  });
});
