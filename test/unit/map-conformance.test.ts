// Map conformance: where docs/api.md says a method behaves "as on Map" (get,
// set, has, delete, clear, size, forEach, keys, values, entries,
// [Symbol.iterator], [Symbol.toStringTag]), ShardedMap behaves as the
// built-in Map does. Adapted from test262 (github.com/tc39/test262,
// test/built-ins/Map/prototype/* and test/built-ins/MapIteratorPrototype/*);
// each test names the file it adapts.
//
// test262 behaviours NOT tested here, each because of a documented difference:
// - keys of other types (objects, arrays, Symbols, null, undefined, booleans; get/has/set
//   returns-value-different-key-types, return-{true,false}-different-key-types, size by-insertion):
//   keys are only strings, numbers, bigints and Uint8Arrays; others throw ERR_SHARDEDMAP_KEY_TYPE
//   (tested instead), so has({}) throws rather than returning false.
// - object keys by identity (keys/returns-iterator: `map.set(obj, 2)`, `map.set(map, 3)`): no
//   object keys; Uint8Array keys compare by bytes and iterate as copies (tested instead).
// - value identity (values/returns-iterator: `assert.sameValue(result.value, obj)`, `map`
//   stored as its own value): values are copied by content, every read is a fresh copy
//   (tested with toEqual + not.toBe); a ShardedMap cannot be stored as a value of itself.
// - Symbol and function values (has/return-true-different-key-types stores Symbol keys; Map
//   takes any value): such values throw ERR_SHARDEDMAP_VALUE_TYPE.
// - insertion order (forEach/iterates-in-key-insertion-order, set/append-new-values "appended as
//   the last element", the a/b/c order of entries/keys/values returns-iterator and
//   MapIteratorPrototype/next/iteration): iteration order is hash order; the same entries are
//   checked in any order.
// - seeing every mutation made during iteration (forEach/iterates-values-added-after-foreach-
//   begins, deleted-values-during-foreach, iterates-values-deleted-then-readded,
//   delete/does-not-break-iterators, clear/map-data-list-is-preserved,
//   MapIteratorPrototype/next/iteration-mutable): iteration is a per-shard snapshot taken when
//   the iterator reaches the shard; these are adapted so that the mutation hits a shard not yet
//   reached (then Map's result is required) or the shard already copied (then the snapshot is).
// - Map's constructor and `new Map(iterable)` (the iterable-argument setups of clear-map,
//   size/returns-count-of-present-values-by-iterable, ...): ShardedMap.create() is async and
//   takes options, not entries; those setups use set() instead.
// - MapIteratorPrototype/Symbol.toStringTag ('Map Iterator' on %MapIteratorPrototype%): names
//   Map's own intrinsic; ShardedMap's iterators are not Map Iterators and docs/api.md gives them
//   no tag.
// - Map.prototype.getOrInsert / getOrInsertComputed (33 test262 files): not in the Map interface
//   docs/api.md lists, and not in Node 20's Map.
// - test262's harness-only checks (verifyProperty's "delete and re-add" step, Test262Error):
//   expressed with plain descriptors and a thrown Error.
import { describe, it, expect } from 'vitest';
import { ShardedMap } from 'shardedmap';

type AnyMap = ShardedMap<unknown>;
type Fn = (...args: unknown[]) => unknown;

const proto = ShardedMap.prototype as unknown as Record<PropertyKey, unknown>;
const mapProto = Map.prototype as unknown as Record<PropertyKey, unknown>;

/** What calling `f` did: 'TypeError', another error's name, or 'no error'. */
function outcome(f: () => unknown): string {
  try {
    f();
    return 'no error';
  } catch (e) {
    return e instanceof TypeError ? 'TypeError' : String((e as Error)?.name ?? e);
  }
}

/** The error `f` throws (undefined if it returns). */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

function expectKeyTypeError(f: () => unknown): void {
  const e = thrown(f);
  expect(e).toBeInstanceOf(TypeError);
  expect((e as { code?: string }).code).toBe('ERR_SHARDEDMAP_KEY_TYPE');
}

/** Keys that are not strings, numbers, bigints or Uint8Arrays. */
const badKeys = (): [string, unknown][] => [
  ['{}', {}], ['[]', []], ['a Symbol', Symbol('k')], ['null', null], ['undefined', undefined],
  ['true', true], ['a Uint16Array', new Uint16Array(1)],
];

/** The receivers of test262's this-not-object-throw / does-not-have-mapdata-internal-slot*. */
const badReceivers = (): [string, unknown][] => [
  ['{}', {}], ['[]', []], ['a Map', new Map([['k', 1]])], ['a Set', new Set(['k'])], ['a WeakMap', new WeakMap()],
  ['false', false], ['1', 1], ["''", ''], ['undefined', undefined], ['null', null], ['a Symbol', Symbol('r')],
];

/** `method` called on every bad receiver: each must throw a TypeError. */
function receiverOutcomes(method: unknown, args: unknown[]): Record<string, string> {
  return Object.fromEntries(badReceivers().map(([name, r]) => [name, outcome(() => (method as Fn).apply(r, args))]));
}
const allTypeErrors = (): Record<string, string> => Object.fromEntries(badReceivers().map(([name]) => [name, 'TypeError']));

/** test262's isConstructor (harness/isConstructor.js). */
function isConstructor(f: unknown): boolean {
  try {
    Reflect.construct(function () {}, [], f as Fn);
    return true;
  } catch {
    return false;
  }
}

/**
 * The four test262 shape checks of a Map.prototype method (X.js, length.js,
 * name.js, not-a-constructor.js), each compared with Map's own.
 */
function methodShape(name: string): void {
  const label = `ShardedMap.prototype.${name}`;
  it(`${label} is a writable, non-enumerable, configurable function, as on Map (${name}/${name}.js)`, () => {
    const d = Object.getOwnPropertyDescriptor(ShardedMap.prototype, name)!;
    const m = Object.getOwnPropertyDescriptor(Map.prototype, name)!;
    expect(typeof d.value).toBe('function');
    expect({ writable: d.writable, enumerable: d.enumerable, configurable: d.configurable })
      .toEqual({ writable: m.writable, enumerable: m.enumerable, configurable: m.configurable });
  });
  it(`${label}.length is Map.prototype.${name}.length (${(mapProto[name] as Fn).length}), non-writable, non-enumerable, configurable (${name}/length.js)`, () => {
    const f = proto[name] as Fn;
    expect(f.length).toBe((mapProto[name] as Fn).length);
    const d = Object.getOwnPropertyDescriptor(f, 'length')!;
    expect({ writable: d.writable, enumerable: d.enumerable, configurable: d.configurable })
      .toEqual({ writable: false, enumerable: false, configurable: true });
  });
  it(`${label}.name is '${name}' (${name}/name.js)`, () => {
    const f = proto[name] as Fn;
    expect(f.name).toBe(name);
    const d = Object.getOwnPropertyDescriptor(f, 'name')!;
    expect({ writable: d.writable, enumerable: d.enumerable, configurable: d.configurable })
      .toEqual({ writable: false, enumerable: false, configurable: true });
  });
  it(`${label} is not a constructor (${name}/not-a-constructor.js)`, () => {
    expect(isConstructor(proto[name])).toBe(false);
    expect(() => new (proto[name] as unknown as new () => unknown)()).toThrow(TypeError);
  });
}

/**
 * Keys sorted by shard, for mutating a shard the iteration has or has not
 * reached yet: `first` are keys of the shard the iterators visit first,
 * `last` of the shard they visit last (at least 3 each). Leaves the map empty.
 */
function shardPlan(map: AnyMap): { first: string[]; last: string[] } {
  const n = map.shardCount;
  expect(n).toBeGreaterThan(1);
  for (let i = 0; i < 64 * n; i++) map.set(`k${i}`, i);
  const shardOf = new Map<string, number>();
  const byShard: string[][] = [];
  for (let s = 0; s < n; s++) {
    const keys: string[] = [];
    map.rangeShard(s, (k) => {
      keys.push(k as string);
      shardOf.set(k as string, s);
    });
    byShard.push(keys);
  }
  // The order the iterators visit the shards in: each shard is one run.
  const order: number[] = [];
  for (const k of map.keys()) {
    const s = shardOf.get(k as string)!;
    if (order[order.length - 1] !== s) order.push(s);
  }
  expect(order.length).toBe(n);
  map.clear();
  const first = byShard[order[0]!]!;
  const last = byShard[order[n - 1]!]!;
  expect(first.length).toBeGreaterThanOrEqual(3);
  expect(last.length).toBeGreaterThanOrEqual(3);
  return { first, last };
}

// ---------------------------------------------------------------------------------------

describe('set', () => {
  methodShape('set');

  it('returns the map, and is chainable (set/append-new-values-return-map.js, replaces-a-value-returns-map.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const other = await ShardedMap.create({ shards: 4 });
    expect(map.set(1, 1)).toBe(map);
    expect(map.set(1, 1).set(2, 2).set(3, 3)).toBe(map);
    expect(map.set(1, 42)).toBe(map); // replacing
    expect(ShardedMap.prototype.set.call(map, 'item', 0)).toBe(map);
    // Another instance's set called on `map` returns and writes `map`.
    expect(other.set.call(map, 4, 4)).toBe(map);
    expect(map.get(4)).toBe(4);
    expect(other.has(4)).toBe(false);
    other.close();
    map.close();
  });

  it('replaces the value of an existing key without adding one (set/replaces-a-value.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    map.set('item', 1);
    map.set('item', 42);
    expect(map.get('item')).toBe(42);
    expect(map.size).toBe(1);
    map.close();
  });

  it('adds new keys (set/append-new-values.js, adapted: order is hash order)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    map.set(4, 4).set('foo3', 3).set(2n, 2).set(new Uint8Array([7]), 42).set(1, 'valid');
    expect(map.size).toBe(5);
    expect(map.get(1)).toBe('valid');
    const seen: [unknown, unknown][] = [];
    map.forEach((v, k) => seen.push([k, v]));
    expect(seen.length).toBe(5);
    expect(new Map(seen)).toEqual(new Map<unknown, unknown>([[4, 4], ['foo3', 3], [2n, 2], [new Uint8Array([7]), 42], [1, 'valid']]));
    map.close();
  });

  it('normalizes -0 to +0 when adding (set/append-new-values-normalizes-zero-key.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    map.set(-0, 42);
    expect(map.get(0)).toBe(42);
    expect(map.get(-0)).toBe(42);
    const keys = [...map.keys()];
    expect(keys.length).toBe(1);
    expect(Object.is(keys[0], 0)).toBe(true); // +0, not -0, as Map iterates it
    expect(Object.is([...map.entries()][0]![0], 0)).toBe(true);
    map.forEach((_v, k) => expect(Object.is(k, 0)).toBe(true));
    map.close();
  });

  it('normalizes -0 to +0 when replacing (set/replaces-a-value-normalizes-zero-key.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    map.set(+0, 1);
    map.set(-0, 42);
    expect(map.get(+0)).toBe(42);
    expect(map.size).toBe(1);
    map.clear();
    map.set(-0, 1);
    map.set(+0, 42);
    expect(map.get(-0)).toBe(42);
    expect(map.size).toBe(1);
    expect(Object.is([...map.keys()][0], 0)).toBe(true);
    map.close();
  });

  it('treats every NaN as one key (SameValueZero)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const otherNaN = new Float64Array(new Uint32Array([0x12345, 0x7ff81234]).buffer)[0]!; // another NaN payload
    expect(Number.isNaN(otherNaN)).toBe(true);
    map.set(NaN, 1);
    map.set(0 / 0, 2);
    map.set(otherNaN, 3);
    expect(map.size).toBe(1);
    expect(map.get(NaN)).toBe(3);
    const keys = [...map.keys()];
    expect(keys.length).toBe(1);
    expect(Number.isNaN(keys[0])).toBe(true);
    map.close();
  });

  it('stores undefined when called with a key only, as Map does', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    (map.set as (k: string) => unknown)('k');
    expect(map.size).toBe(1);
    expect(map.has('k')).toBe(true);
    expect(map.get('k')).toBeUndefined();
    map.close();
  });

  it('throws ERR_SHARDEDMAP_KEY_TYPE for another key type and leaves the map unchanged (documented)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    for (const [, k] of badKeys()) expectKeyTypeError(() => map.set(k as string, 1));
    expect(map.size).toBe(0);
    map.close();
  });

  it('throws a TypeError for a non-ShardedMap receiver (set/this-not-object-throw.js, does-not-have-mapdata-internal-slot*.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    expect(receiverOutcomes(ShardedMap.prototype.set, ['k', 1])).toEqual(allTypeErrors());
    expect(receiverOutcomes(map.set, ['k', 1])).toEqual(allTypeErrors());
    expect(map.size).toBe(0);
    map.close();
  });
});

describe('get', () => {
  methodShape('get');

  it('returns undefined for a key never set, deleted, or cleared (get/returns-undefined.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    expect(map.get('item')).toBeUndefined();
    map.set('item', 1);
    map.set('another_item', 2);
    map.delete('item');
    expect(map.get('item')).toBeUndefined();
    expect(map.get('another_item')).toBe(2);
    map.set('item', 1);
    map.clear();
    expect(map.get('item')).toBeUndefined();
    map.close();
  });

  it('returns the value for each key type (get/returns-value-different-key-types.js, adapted to the key types)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    map.set('bar', 0);
    map.set(1, 42);
    map.set(NaN, 1);
    map.set(12345678901234567890n, 2);
    map.set(new Uint8Array([1, 2, 3]), 3);
    map.set('', 4);
    map.set('\ud800', 5); // a lone surrogate and U+FFFD are different keys, as on Map
    map.set('\ufffd', 6);
    expect(map.get('bar')).toBe(0);
    expect(map.get(1)).toBe(42);
    expect(map.get(NaN)).toBe(1);
    expect(map.get(12345678901234567890n)).toBe(2);
    expect(map.get(new Uint8Array([1, 2, 3]))).toBe(3); // by bytes (documented)
    expect(map.get('')).toBe(4);
    expect(map.get('\ud800')).toBe(5);
    expect(map.get('\ufffd')).toBe(6);
    // 1, '1', 1n and the bytes of '1' are four keys (documented).
    expect(map.get('1')).toBeUndefined();
    expect(map.get(1n)).toBeUndefined();
    expect(map.get(new Uint8Array([49]))).toBeUndefined();
    map.close();
  });

  it('normalizes -0 and +0 (get/returns-value-normalized-zero-key.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    map.set(+0, 42);
    expect(map.get(-0)).toBe(42);
    map.clear();
    map.set(-0, 43);
    expect(map.get(+0)).toBe(43);
    map.close();
  });

  it('returns primitive values as stored, -0 and NaN included (SameValue, as on Map)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const values = [0, -0, NaN, Infinity, -Infinity, 1.5, '', 'x', '\ud800', true, false, null, undefined, 2n ** 70n, -1n];
    values.forEach((v, i) => map.set(i, v));
    values.forEach((v, i) => expect(Object.is(map.get(i), v), `value #${i}`).toBe(true));
    map.close();
  });

  it('returns an object value equal by content, never the stored object (documented difference: no identity)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const obj = { a: 1, list: [1, 2], name: 'o' };
    map.set('o', obj);
    const a = map.get('o');
    expect(a).toEqual(obj);
    expect(a).not.toBe(obj);
    // As on Map, a repeat get of an unchanged value gives the same object
    // (from the decoded-value cache; frozen, since other loads share it).
    expect(map.get('o')).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    // Unless it holds something freezing cannot make immutable (a Date):
    // then every get is a fresh, mutable copy (documented).
    const dated = { a: 1, when: new Date(0) };
    map.set('d', dated);
    const d = map.get('d');
    expect(d).toEqual(dated);
    expect(map.get('d')).not.toBe(d);
    expect(Object.isFrozen(d)).toBe(false);
    map.close();
  });

  it('throws ERR_SHARDEDMAP_KEY_TYPE for another key type (documented; Map returns undefined)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    for (const [, k] of badKeys()) expectKeyTypeError(() => map.get(k as string));
    map.close();
  });

  it('throws a TypeError for a non-ShardedMap receiver (get/this-not-object-throw.js, does-not-have-mapdata-internal-slot*.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    map.set('k', 1);
    expect(receiverOutcomes(ShardedMap.prototype.get, ['k'])).toEqual(allTypeErrors());
    expect(receiverOutcomes(map.get, ['k'])).toEqual(allTypeErrors());
    expect(ShardedMap.prototype.get.call(map, 'k')).toBe(1); // the right receiver works
    map.close();
  });
});

describe('has', () => {
  methodShape('has');

  it('is false for absent keys of every key type (has/return-false-different-key-types.js, adapted)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    for (const k of ['str', 1, NaN, 0, 1n, new Uint8Array([1]), '']) expect(map.has(k), String(k)).toBe(false);
    map.close();
  });

  it('is true for present keys of every key type, even with undefined values (has/return-true-different-key-types.js, adapted)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const keys = ['str', 1, NaN, 0, 1n, new Uint8Array([1]), ''];
    for (const k of keys) map.set(k, undefined);
    for (const k of keys) expect(map.has(k), String(k)).toBe(true);
    expect(map.has(new Uint8Array([1]))).toBe(true); // another array, same bytes (documented)
    expect(map.size).toBe(keys.length);
    map.close();
  });

  it('normalizes -0 and +0 (has/normalizes-zero-key.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    expect(map.has(-0)).toBe(false);
    expect(map.has(+0)).toBe(false);
    map.set(-0, 42);
    expect(map.has(-0)).toBe(true);
    expect(map.has(+0)).toBe(true);
    map.clear();
    map.set(+0, 42);
    expect(map.has(-0)).toBe(true);
    expect(map.has(+0)).toBe(true);
    map.close();
  });

  it('throws ERR_SHARDEDMAP_KEY_TYPE for another key type (documented; Map returns false)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    for (const [, k] of badKeys()) expectKeyTypeError(() => map.has(k as string));
    map.close();
  });

  it('throws a TypeError for a non-ShardedMap receiver (has/this-not-object-throw.js, does-not-have-mapdata-internal-slot*.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    expect(receiverOutcomes(ShardedMap.prototype.has, ['k'])).toEqual(allTypeErrors());
    expect(receiverOutcomes(map.has, ['k'])).toEqual(allTypeErrors());
    map.close();
  });
});

describe('delete', () => {
  methodShape('delete');

  it('returns true when it deletes an entry (delete/returns-true-for-deleted-entry.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    map.set('a', 1).set('b', 2);
    expect(map.delete('a')).toBe(true);
    expect(map.size).toBe(1);
    expect(map.has('a')).toBe(false);
    expect(map.get('b')).toBe(2);
    map.close();
  });

  it('returns false when there is nothing to delete (delete/returns-false.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    map.set('a', 1).set('b', 2);
    expect(map.delete('not-in-the-map')).toBe(false);
    map.delete('a');
    expect(map.delete('a')).toBe(false);
    expect(map.size).toBe(1);
    map.close();
  });

  it('deletes by SameValueZero: -0 deletes +0, NaN deletes NaN', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    map.set(0, 'zero').set(NaN, 'nan');
    expect(map.delete(-0)).toBe(true);
    expect(map.delete(0 / 0)).toBe(true);
    expect(map.size).toBe(0);
    expect(map.delete(0)).toBe(false);
    expect(map.delete(NaN)).toBe(false);
    map.close();
  });

  it('does not break an iterator: an entry deleted from a shard not reached yet is not visited (delete/does-not-break-iterators.js, adapted)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const { first, last } = shardPlan(map);
    map.set(first[0]!, 1).set(last[0]!, 2).set(last[1]!, 3);
    const e = map.entries();
    expect(e.next().value).toEqual([first[0], 1]);
    expect(map.delete(last[0]!)).toBe(true);
    expect(e.next().value).toEqual([last[1], 3]);
    const n = e.next();
    expect(n.value).toBeUndefined();
    expect(n.done).toBe(true);
    map.close();
  });

  it('throws ERR_SHARDEDMAP_KEY_TYPE for another key type (documented; Map returns false)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    for (const [, k] of badKeys()) expectKeyTypeError(() => map.delete(k as string));
    map.close();
  });

  it('throws a TypeError for a non-ShardedMap receiver (delete/context-is-not-object.js, context-is-not-map-object.js, context-is-{set,weakmap}-object-throws.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    map.set('attr', 1);
    expect(receiverOutcomes(ShardedMap.prototype.delete, ['attr'])).toEqual(allTypeErrors());
    expect(map.has('attr')).toBe(true);
    map.close();
  });
});

describe('clear', () => {
  methodShape('clear');

  it('empties the map: size 0, nothing found, nothing iterated (clear/clear-map.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const empty = await ShardedMap.create({ shards: 4 });
    for (let i = 0; i < 100; i++) map.set(i, i);
    map.set('foo', 'bar');
    map.clear();
    empty.clear();
    expect(map.size).toBe(0);
    expect(empty.size).toBe(0);
    expect(map.has('foo')).toBe(false);
    expect(map.get(1)).toBeUndefined();
    expect([...map]).toEqual([]);
    map.set('foo', 'again'); // still usable
    expect(map.get('foo')).toBe('again');
    expect(map.size).toBe(1);
    empty.close();
    map.close();
  });

  it('returns undefined, on a full map and on an empty one (clear/returns-undefined.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    map.set('foo', 'bar').set(1, 1);
    expect(map.clear()).toBeUndefined();
    expect(map.clear()).toBeUndefined();
    map.close();
  });

  it('ends an iterator whose current shard held nothing else (clear/map-data-list-is-preserved.js, adapted)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const { first, last } = shardPlan(map);
    map.set(first[0]!, 1).set(last[0]!, 2).set(last[1]!, 3);
    const e = map.entries();
    expect(e.next().value).toEqual([first[0], 1]);
    map.clear();
    const n = e.next();
    expect(n.value).toBeUndefined();
    expect(n.done).toBe(true);
    map.close();
  });

  it('during forEach does not throw; later shards are not visited, the copied shard is (snapshot)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const { first, last } = shardPlan(map);
    map.set(first[0]!, 'a').set(first[1]!, 'b').set(last[0]!, 'c').set(last[1]!, 'd');
    const seen: unknown[] = [];
    expect(() => map.forEach((_v, k) => {
      if (seen.length === 0) map.clear();
      seen.push(k);
    })).not.toThrow();
    expect(seen.sort()).toEqual([first[0], first[1]].sort());
    expect(map.size).toBe(0);
    let calls = 0;
    map.forEach(() => calls++);
    expect(calls).toBe(0);
    map.close();
  });

  it('throws a TypeError for a non-ShardedMap receiver (clear/context-is-not-object.js, context-is-not-map-object.js, context-is-{set,weakmap}-object-throws.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    map.set('k', 1);
    expect(receiverOutcomes(ShardedMap.prototype.clear, [])).toEqual(allTypeErrors());
    expect(map.size).toBe(1);
    map.close();
  });
});

describe('size', () => {
  it('is a getter on the prototype, with no setter, non-enumerable, configurable (size/size.js)', () => {
    const d = Object.getOwnPropertyDescriptor(ShardedMap.prototype, 'size')!;
    expect(typeof d.get).toBe('function');
    expect(d.set).toBeUndefined();
    expect(d.enumerable).toBe(false);
    expect(d.configurable).toBe(true);
  });

  it('its getter has length 0 and name "get size" (size/length.js, size/name.js)', () => {
    const get = Object.getOwnPropertyDescriptor(ShardedMap.prototype, 'size')!.get!;
    expect(get.length).toBe(0);
    expect(get.name).toBe('get size');
    const len = Object.getOwnPropertyDescriptor(get, 'length')!;
    const name = Object.getOwnPropertyDescriptor(get, 'name')!;
    expect([len.writable, len.enumerable, len.configurable]).toEqual([false, false, true]);
    expect([name.writable, name.enumerable, name.configurable]).toEqual([false, false, true]);
  });

  it('is not an own property of an instance, and cannot be assigned (strict mode, as on Map)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    map.set('a', 1);
    expect(Object.getOwnPropertyDescriptor(map, 'size')).toBeUndefined();
    expect(() => {
      (map as unknown as { size: number }).size = 5;
    }).toThrow(TypeError);
    expect(map.size).toBe(1);
    map.close();
  });

  it('counts entries across set and clear (size/returns-count-of-present-values-before-after-set-clear.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    expect(map.size).toBe(0);
    map.set(1, 1);
    map.set(2, 2);
    expect(map.size).toBe(2);
    map.clear();
    expect(map.size).toBe(0);
    map.close();
  });

  it('counts entries across set and delete (size/returns-count-of-present-values-before-after-set-delete.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    expect(map.size).toBe(0);
    map.set(1, 1);
    expect(map.size).toBe(1);
    map.delete(1);
    expect(map.size).toBe(0);
    map.close();
  });

  it('counts distinct keys by SameValueZero (size/returns-count-of-present-values-by-insertion.js, adapted to the key types)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    for (const k of [0, NaN, '', '0', 0n, new Uint8Array(0), new Uint8Array([48])]) map.set(k, undefined);
    expect(map.size).toBe(7);
    for (const k of [-0, 0 / 0, new Uint8Array(0), 0n]) map.set(k, undefined); // already present
    expect(map.size).toBe(7);
    map.close();
  });

  it('throws a TypeError for a non-ShardedMap receiver (size/this-not-object-throw.js, does-not-have-mapdata-internal-slot*.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const get = Object.getOwnPropertyDescriptor(ShardedMap.prototype, 'size')!.get!;
    expect(get.call(map)).toBe(0); // does not throw
    expect(receiverOutcomes(get, [])).toEqual(allTypeErrors());
    expect(outcome(() => (ShardedMap.prototype as unknown as { size: number }).size)).toBe('TypeError');
    map.close();
  });
});

describe('forEach', () => {
  methodShape('forEach');

  it('calls fn(value, key, map) once per entry (forEach/callback-parameters.js, adapted: hash order)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    map.set('foo', 42);
    map.set('bar', 'baz');
    const results: { value: unknown; key: unknown; third: unknown; args: number }[] = [];
    map.forEach(function (this: unknown, value, key, third) {
      results.push({ value, key, third, args: arguments.length });
    });
    expect(results.length).toBe(2);
    results.sort((a, b) => String(a.key).localeCompare(String(b.key)));
    expect(results[0]).toEqual({ value: 'baz', key: 'bar', third: map, args: 3 });
    expect(results[1]).toEqual({ value: 42, key: 'foo', third: map, args: 3 });
    expect(results[0]!.third).toBe(map);
    expect(results[1]!.third).toBe(map);
    map.close();
  });

  it('uses thisArg as the callback\'s this (forEach/second-parameter-as-callback-context.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    map.set(0, 0).set(1, 1).set(2, 2);
    const expectedThis = {};
    const seen: unknown[] = [];
    map.forEach(function (this: unknown) {
      seen.push(this);
    }, expectedThis);
    expect(seen.length).toBe(3);
    for (const t of seen) expect(t).toBe(expectedThis);
    map.close();
  });

  it('calls a strict callback with this undefined when no thisArg is given (forEach/callback-this-strict.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    map.set(0, 0).set(1, 1).set(2, 2);
    const seen: unknown[] = [];
    map.forEach(function (this: unknown) {
      seen.push(this);
    });
    expect(seen).toEqual([undefined, undefined, undefined]);
    map.close();
  });

  it('calls a sloppy callback with the global object when no thisArg is given (forEach/callback-this-non-strict.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    map.set(0, 0).set(1, 1).set(2, 2);
    const seen: unknown[] = [];
    // new Function makes a sloppy-mode function (this file is a strict module).
    const sloppy = new Function('seen', 'return function () { seen.push(this); };')(seen) as () => void;
    map.forEach(sloppy);
    expect(seen.length).toBe(3);
    for (const t of seen) expect(t).toBe(globalThis);
    map.close();
  });

  it('returns undefined (forEach/return-undefined.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    expect(map.forEach(() => true)).toBeUndefined();
    map.set(1, 1);
    expect(map.forEach(() => true)).toBeUndefined();
    map.close();
  });

  it('throws a TypeError for a non-callable before doing anything (forEach/first-argument-is-not-callable.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    map.set('a', 1).set('b', 2);
    let touched = false;
    const nonCallables: [string, unknown][] = [
      ['{}', {}], ['[]', []], ['1', 1], ["''", ''], ['null', null], ['undefined', undefined], ['a Symbol', Symbol('f')],
      ['an object with a call method', { call: () => { touched = true; } }],
      ['a proxy of an object', new Proxy({}, { get: () => { touched = true; }, has: () => { touched = true; return true; } })],
    ];
    const outcomes = Object.fromEntries(nonCallables.map(([name, f]) => [name, outcome(() => map.forEach(f as () => void))]));
    expect(outcomes).toEqual(Object.fromEntries(nonCallables.map(([name]) => [name, 'TypeError'])));
    expect(touched).toBe(false);
    // Nothing was left locked: a write that may not wait succeeds.
    map.store('c', 3, { timeout: 0 });
    expect(map.size).toBe(3);
    map.close();
  });

  it('propagates an abrupt completion of the callback and leaves no shard locked (forEach/callback-result-is-abrupt.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    for (let i = 0; i < 20; i++) map.set(i, i);
    const err = new Error('from the callback');
    let calls = 0;
    expect(() => map.forEach(() => {
      calls++;
      throw err;
    })).toThrow(err);
    expect(calls).toBe(1);
    for (let i = 0; i < 20; i++) map.store(i, -i, { timeout: 0 }); // every shard is free
    expect(map.get(7)).toBe(-7);
    map.close();
  });

  it('visits each entry exactly once, with its value (forEach/iterates-in-key-insertion-order.js, adapted: hash order)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    map.set('foo', 'valid foo').set('bar', false).set('baz', 'valid baz');
    map.set(0, false).set(1, false).set(2, 'valid 2');
    map.delete(1);
    map.delete('bar');
    map.set(0, 'valid 0'); // not a new key, just a new value
    const results: [unknown, unknown][] = [];
    map.forEach((v, k) => results.push([k, v]));
    expect(results.length).toBe(4);
    expect(new Map(results)).toEqual(new Map<unknown, unknown>([['foo', 'valid foo'], ['baz', 'valid baz'], [0, 'valid 0'], [2, 'valid 2']]));
    map.clear();
    let calls = 0;
    map.forEach(() => calls++);
    expect(calls).toBe(0);
    map.close();
  });

  it('visits keys added during forEach to a shard not reached yet, not those added to the shard copied (forEach/iterates-values-added-after-foreach-begins.js, adapted)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const { first, last } = shardPlan(map);
    map.set(first[0]!, 0).set(last[0]!, 1);
    const results: [unknown, unknown][] = [];
    map.forEach((v, k) => {
      if (results.length === 0) {
        map.set(last[1]!, 2); // shard not reached yet: visited, as on Map
        map.set(last[0]!, 'updated'); // a new value for a key not reached yet: visited with it
        map.set(first[1]!, 3); // the shard already copied: not revisited (snapshot)
      }
      results.push([k, v]);
    });
    expect(map.size).toBe(4);
    expect(results[0]).toEqual([first[0], 0]);
    expect(results.length).toBe(3);
    expect(new Map(results)).toEqual(new Map<unknown, unknown>([[first[0], 0], [last[0], 'updated'], [last[1], 2]]));
    map.close();
  });

  it('does not visit keys deleted during forEach from a shard not reached yet (forEach/deleted-values-during-foreach.js, adapted)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const { first, last } = shardPlan(map);
    map.set(first[0]!, 'f0').set(first[1]!, 'f1').set(last[0]!, 'l0').set(last[1]!, 'l1');
    const results: [unknown, unknown][] = [];
    let other: string | undefined;
    map.forEach((v, k) => {
      if (results.length === 0) {
        map.delete(last[0]!); // not reached yet: not visited, as on Map
        other = k === first[0] ? first[1] : first[0];
        map.delete(other!); // in the copied shard: still visited, from the snapshot
      }
      results.push([k, v]);
    });
    expect(results.length).toBe(3);
    expect(new Map(results)).toEqual(new Map<unknown, unknown>([[first[0], 'f0'], [first[1], 'f1'], [last[1], 'l1']]));
    expect(map.has(other!)).toBe(false);
    expect(map.has(last[0]!)).toBe(false);
    expect(map.size).toBe(2);
    map.close();
  });

  it('visits a key deleted then re-added during forEach at most once (forEach/iterates-values-deleted-then-readded.js, adapted)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const { first, last } = shardPlan(map);
    map.set(first[0]!, 0).set(last[0]!, 1);
    const results: [unknown, unknown][] = [];
    map.forEach((v, k) => {
      if (results.length === 0) {
        map.delete(first[0]!); // the key being visited, in the copied shard: not revisited
        map.set(first[0]!, 'baz');
        map.delete(last[0]!); // not reached yet: visited once, with the new value
        map.set(last[0]!, 'qux');
      }
      results.push([k, v]);
    });
    expect(results).toEqual([[first[0], 0], [last[0], 'qux']]);
    expect(map.size).toBe(2);
    expect(map.get(first[0]!)).toBe('baz');
    map.close();
  });

  it('allows deleting the key being visited, and still visits every other key once', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    for (let i = 0; i < 50; i++) map.set(`k${i}`, i);
    const seen: unknown[] = [];
    map.forEach((_v, k) => {
      expect(map.delete(k)).toBe(true);
      seen.push(k);
    });
    expect(seen.length).toBe(50);
    expect(new Set(seen).size).toBe(50);
    expect(map.size).toBe(0);
    map.close();
  });

  it('visits each key at most once while shards grow during forEach; new keys in shards not reached yet are visited', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const { first, last } = shardPlan(map);
    map.set(first[0]!, 'f').set(last[0]!, 'l');
    const seen: unknown[] = [];
    map.forEach((_v, k) => {
      if (seen.length === 0) for (let i = 0; i < 400; i++) map.set(`g${i}`, i); // resizes every shard
      seen.push(k);
    });
    expect(new Set(seen).size).toBe(seen.length); // no key twice
    // Which shard each new key went to: the copied one (holding first[0]) or another.
    const added: string[] = [];
    const addedToFirst: string[] = [];
    for (let s = 0; s < map.shardCount; s++) {
      const keys: string[] = [];
      map.rangeShard(s, (k) => {
        keys.push(k as string);
      });
      const isFirst = keys.includes(first[0]!);
      for (const k of keys) if (k.startsWith('g')) (isFirst ? addedToFirst : added).push(k);
    }
    expect(addedToFirst.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set([first[0], last[0], ...added]));
    map.close();
  });

  it('throws a TypeError for a non-ShardedMap receiver, without calling the callback (forEach/this-not-object-throw.js, does-not-have-mapdata-internal-slot*.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    let calls = 0;
    const fn = () => {
      calls++;
    };
    expect(receiverOutcomes(ShardedMap.prototype.forEach, [fn])).toEqual(allTypeErrors());
    expect(receiverOutcomes(map.forEach, [fn])).toEqual(allTypeErrors());
    expect(calls).toBe(0);
    map.close();
  });
});

/** The checks of {keys,values,entries}/returns-iterator*.js shared by the three. */
function expectExhausted(it: Iterator<unknown>): void {
  for (let i = 0; i < 2; i++) { // exhausted, and again on a repeated request
    const r = it.next();
    expect(Object.keys(r).sort()).toEqual(['done', 'value']);
    expect(r.value).toBeUndefined();
    expect(r.done).toBe(true);
  }
}

describe('keys', () => {
  methodShape('keys');

  it('returns an iterator that is done at once on an empty map (keys/returns-iterator-empty.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const it = map.keys();
    expect(it[Symbol.iterator]()).toBe(it);
    expectExhausted(it);
    map.close();
  });

  it('returns an iterator of the keys, then stays done (keys/returns-iterator.js, adapted: hash order, key types)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const bytes = new Uint8Array([1, 2]);
    map.set('foo', 1).set(2, 2).set(3n, 3).set(bytes, 4);
    const it = map.keys();
    expect(it[Symbol.iterator]()).toBe(it);
    const got: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      const r = it.next();
      expect(Object.keys(r).sort()).toEqual(['done', 'value']);
      expect(r.done).toBe(false);
      got.push(r.value);
    }
    expectExhausted(it);
    expect(new Set(got)).toEqual(new Set<unknown>(['foo', 2, 3n, new Uint8Array([1, 2])]));
    const k = got.find((x) => x instanceof Uint8Array);
    expect(k).not.toBe(bytes); // a copy (documented)
    map.close();
  });

  it('throws a TypeError for a non-ShardedMap receiver (keys/this-not-object-throw.js, does-not-have-mapdata-internal-slot*.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    expect(receiverOutcomes(ShardedMap.prototype.keys, [])).toEqual(allTypeErrors());
    expect(receiverOutcomes(map.keys, [])).toEqual(allTypeErrors());
    map.close();
  });
});

describe('values', () => {
  methodShape('values');

  it('returns an iterator that is done at once on an empty map (values/returns-iterator-empty.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const it = map.values();
    expect(it[Symbol.iterator]()).toBe(it);
    expectExhausted(it);
    map.close();
  });

  it('returns an iterator of the values, as fresh copies, then stays done (values/returns-iterator.js, adapted: hash order, no identity)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const obj = { x: [1, 2] };
    map.set(1, 'foo').set(2, obj).set(3, null);
    const it = map.values();
    expect(it[Symbol.iterator]()).toBe(it);
    const got: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const r = it.next();
      expect(Object.keys(r).sort()).toEqual(['done', 'value']);
      expect(r.done).toBe(false);
      got.push(r.value);
    }
    expectExhausted(it);
    expect(got.length).toBe(3);
    expect(got).toContain('foo');
    expect(got).toContain(null);
    const o = got.find((x) => typeof x === 'object' && x !== null);
    expect(o).toEqual(obj);
    expect(o).not.toBe(obj);
    map.close();
  });

  it('throws a TypeError for a non-ShardedMap receiver (values/this-not-object-throw.js, does-not-have-mapdata-internal-slot*.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    expect(receiverOutcomes(ShardedMap.prototype.values, [])).toEqual(allTypeErrors());
    expect(receiverOutcomes(map.values, [])).toEqual(allTypeErrors());
    map.close();
  });
});

describe('entries', () => {
  methodShape('entries');

  it('returns an iterator that is done at once on an empty map (entries/returns-iterator-empty.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const it = map.entries();
    expect(it[Symbol.iterator]()).toBe(it);
    expectExhausted(it);
    map.close();
  });

  it('returns an iterator of [key, value] arrays, then stays done (entries/returns-iterator.js, adapted: hash order)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    map.set('a', 1).set('b', 2).set('c', 3);
    const it = map.entries();
    expect(it[Symbol.iterator]()).toBe(it);
    const got: [unknown, unknown][] = [];
    for (let i = 0; i < 3; i++) {
      const r = it.next();
      expect(Object.keys(r).sort()).toEqual(['done', 'value']);
      expect(r.done).toBe(false);
      expect(Array.isArray(r.value)).toBe(true);
      expect(r.value.length).toBe(2);
      got.push(r.value);
    }
    expectExhausted(it);
    expect(got.sort()).toEqual([['a', 1], ['b', 2], ['c', 3]]);
    map.set('d', 4); // added after the iterator is done: still done
    expectExhausted(it);
    map.close();
  });

  it('sees entries added before its first next() (the snapshot is taken when a shard is reached)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const it = map.entries();
    map.set('late', 1);
    expect(it.next()).toEqual({ value: ['late', 1], done: false });
    expectExhausted(it);
    map.close();
  });

  it('throws a TypeError for a non-ShardedMap receiver (entries/this-not-object-throw.js, does-not-have-mapdata-internal-slot*.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    expect(receiverOutcomes(ShardedMap.prototype.entries, [])).toEqual(allTypeErrors());
    expect(receiverOutcomes(map.entries, [])).toEqual(allTypeErrors());
    map.close();
  });
});

describe('[Symbol.iterator]', () => {
  it('is the same function as entries (Symbol.iterator.js)', () => {
    expect(Map.prototype[Symbol.iterator]).toBe(Map.prototype.entries); // what test262 requires of Map
    expect(ShardedMap.prototype[Symbol.iterator]).toBe(ShardedMap.prototype.entries);
  });

  it('is writable, non-enumerable, configurable (Symbol.iterator.js)', () => {
    const d = Object.getOwnPropertyDescriptor(ShardedMap.prototype, Symbol.iterator)!;
    expect(typeof d.value).toBe('function');
    expect([d.writable, d.enumerable, d.configurable]).toEqual([true, false, true]);
  });

  it('is not a constructor (Symbol.iterator/not-a-constructor.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    expect(isConstructor(ShardedMap.prototype[Symbol.iterator])).toBe(false);
    expect(() => new (map[Symbol.iterator] as unknown as new () => unknown)()).toThrow(TypeError);
    map.close();
  });

  it('iterates [key, value] arrays like entries, for for-of and spread (MapIteratorPrototype/next/iteration.js, adapted: hash order)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    map.set(1, 11).set(2, 22).set(3, 33);
    const it = map[Symbol.iterator]();
    expect(it[Symbol.iterator]()).toBe(it);
    const got: [unknown, unknown][] = [];
    for (let i = 0; i < 3; i++) {
      const r = it.next();
      expect(r.done).toBe(false);
      expect(r.value.length).toBe(2);
      got.push(r.value);
    }
    expectExhausted(it);
    expect(got.sort()).toEqual([[1, 11], [2, 22], [3, 33]]);
    const viaForOf: unknown[] = [];
    for (const e of map) viaForOf.push(e);
    expect(viaForOf).toEqual([...map.entries()]);
    expect(new Map(map)).toEqual(new Map([[1, 11], [2, 22], [3, 33]]));
    map.close();
  });

  it('sees entries added to a shard not reached yet, and stays done after (MapIteratorPrototype/next/iteration-mutable.js, adapted)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const { first, last } = shardPlan(map);
    map.set(first[0]!, 11).set(last[0]!, 22);
    const it = map[Symbol.iterator]();
    expect(it.next()).toEqual({ value: [first[0], 11], done: false });
    map.set(last[1]!, 33); // shard not reached yet: seen, as on Map
    map.set(first[1]!, 44); // the shard already copied: not revisited (snapshot)
    const rest = [it.next(), it.next()];
    for (const r of rest) expect(r.done).toBe(false);
    expect(new Map(rest.map((r) => r.value as [unknown, unknown]))).toEqual(new Map([[last[0], 22], [last[1], 33]]));
    expectExhausted(it);
    map.set(last[2]!, 55); // after done: not seen
    expectExhausted(it);
    map.close();
  });

  it('leaves no shard locked when a for-of loop breaks early', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    for (let i = 0; i < 40; i++) map.set(i, i);
    for (const _ of map) break;
    for (let i = 0; i < 40; i++) map.store(i, -i, { timeout: 0 }); // every shard is free
    expect(map.get(39)).toBe(-39);
    map.close();
  });

  it('throws a TypeError for a non-ShardedMap receiver (as entries does: entries/this-not-object-throw.js, does-not-have-mapdata-internal-slot*.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    expect(receiverOutcomes(ShardedMap.prototype[Symbol.iterator], [])).toEqual(allTypeErrors());
    expect(receiverOutcomes(map[Symbol.iterator], [])).toEqual(allTypeErrors());
    map.close();
  });
});

describe('iterator next (MapIteratorPrototype)', () => {
  const kinds = ['keys', 'values', 'entries', 'Symbol.iterator'] as const;
  const open = (map: AnyMap, kind: (typeof kinds)[number]): Iterator<unknown> =>
    kind === 'Symbol.iterator' ? map[Symbol.iterator]() : map[kind]();

  it('next throws a TypeError for a receiver that is not such an iterator (next/this-not-object-throw-*.js, does-not-have-mapiterator-internal-slots*.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    map.set(1, 11).set(2, 22);
    const bad: [string, unknown][] = [
      ['false', false], ['1', 1], ["''", ''], ['undefined', undefined], ['null', null], ['a Symbol', Symbol('i')],
      ['{}', {}], ['the map', map],
    ];
    for (const kind of kinds) {
      const it = open(map, kind);
      const outcomes = Object.fromEntries(bad.map(([name, r]) => [name, outcome(() => it.next.call(r))]));
      expect(outcomes, kind).toEqual(Object.fromEntries(bad.map(([name]) => [name, 'TypeError'])));
      // Another iterator of the map is a valid receiver.
      expect(outcome(() => it.next.call(map[Symbol.iterator]()))).toBe('no error');
    }
    map.close();
  });

  it('next has length 0, as %MapIteratorPrototype%.next (next/length.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const mapNext = Object.getPrototypeOf(new Map().values()).next as Fn;
    expect(mapNext.length).toBe(0);
    for (const kind of kinds) expect(open(map, kind).next.length, kind).toBe(0);
    map.close();
  });

  it('next is named "next" (next/name.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    for (const kind of kinds) expect(open(map, kind).next.name, kind).toBe('next');
    map.close();
  });
});

describe('[Symbol.toStringTag]', () => {
  it("gives '[object ShardedMap]' through Object.prototype.toString", async () => {
    const map = await ShardedMap.create({ shards: 4 });
    expect(Object.prototype.toString.call(map)).toBe('[object ShardedMap]');
    expect(String(map)).toBe('[object ShardedMap]');
    expect(ShardedMap.prototype[Symbol.toStringTag]).toBe('ShardedMap');
    map.close();
  });

  it('is a data property, non-writable, non-enumerable, configurable, as Map.prototype[Symbol.toStringTag] (Symbol.toStringTag.js)', () => {
    const m = Object.getOwnPropertyDescriptor(Map.prototype, Symbol.toStringTag)!;
    expect(m).toEqual({ value: 'Map', writable: false, enumerable: false, configurable: true });
    const d = Object.getOwnPropertyDescriptor(ShardedMap.prototype, Symbol.toStringTag)!;
    expect(d).toEqual({ value: 'ShardedMap', writable: false, enumerable: false, configurable: true });
  });
});

describe('the prototype', () => {
  it('ShardedMap.prototype is non-writable, non-enumerable, non-configurable (descriptor.js)', () => {
    const d = Object.getOwnPropertyDescriptor(ShardedMap, 'prototype')!;
    expect([d.writable, d.enumerable, d.configurable]).toEqual([false, false, false]);
  });

  it('ShardedMap.prototype.constructor is ShardedMap: writable, non-enumerable, configurable (constructor.js)', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    expect(ShardedMap.prototype.constructor).toBe(ShardedMap);
    expect(map.constructor).toBe(ShardedMap);
    const d = Object.getOwnPropertyDescriptor(ShardedMap.prototype, 'constructor')!;
    expect([d.writable, d.enumerable, d.configurable]).toEqual([true, false, true]);
    map.close();
  });
});
