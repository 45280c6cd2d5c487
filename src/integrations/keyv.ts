/**
 * `shardedmap/keyv`: a shardedmap cache as a Keyv storage adapter, so that
 * what speaks Keyv — Keyv itself, cache-manager (NestJS's CacheModule),
 * cacheable's layers — shares one cache across every worker thread of a
 * process: `new Keyv({ store: new KeyvShardedMap(map) })` in each worker,
 * each with its own instance attached to the same map.
 *
 * Keys. Keyv prefixes every key with its namespace (`keyv:` by default:
 * `<namespace>:<key>`) before it reaches the store, and sets the store's
 * `namespace`; `clear()` then deletes only the keys under that prefix (a
 * walk over the map), or the whole map when the namespace is unset. Two
 * Keyv instances with different namespaces share a map without meeting.
 *
 * Values pass through untouched: the store keeps exactly what Keyv hands
 * it. With Keyv's default serializer that is a JSON string (stored as a
 * string: it is not encoded again); with `serialize: undefined,
 * deserialize: undefined` it is Keyv's `{ value, expires }` object, stored
 * as the map stores objects (MessagePack: no JSON anywhere, and values
 * keep what MessagePack keeps — Dates, Maps, bigints, typed arrays). Reads
 * return the map's decoded copy (frozen once its decoded-value cache
 * shares it: Keyv only reads it).
 *
 * Time to live: Keyv's `ttl` (ms) becomes the entry's ttl in the map, so an
 * expired entry is gone for every worker and its memory reclaimed; Keyv
 * also checks the `expires` it stored. Without a ttl the map's default
 * ttl applies. The map must be a cache for a ttl (create it with `ttl`,
 * `maxEntries` or `maxBytes`); its bounds evict as for any store.
 *
 * keyv is an optional peer dependency; only its types are used here.
 */
import type { KeyvStoreAdapter, StoredData } from 'keyv';
import type { ShardedMap } from '../map/map.js';
import { ErrorCode, ShardedMapTypeError } from '../base/errors.js';

type Listener = (...args: unknown[]) => void;

/** A Keyv storage adapter over a shardedmap (see the top of this file). */
export class KeyvShardedMap implements KeyvStoreAdapter {
  /** The map (this worker's instance). The store never closes it. */
  readonly map: ShardedMap<unknown>;
  /** What Keyv reads of an adapter's options. */
  readonly opts: { dialect: 'shardedmap'; url: string };
  /** Keyv's namespace (Keyv sets it); clear() is confined to it. */
  namespace?: string | undefined;
  readonly #listeners = new Map<string, Listener[]>();

  constructor(map: ShardedMap<unknown>) {
    const m = map as { isCache?: unknown; store?: unknown } | null;
    if (typeof m !== 'object' || m === null || typeof m.isCache !== 'boolean' || typeof m.store !== 'function') {
      throw new ShardedMapTypeError(ErrorCode.INVALID_ARGUMENT, 'KeyvShardedMap: expected a ShardedMap (created, or attached in this worker)');
    }
    this.map = map;
    this.opts = { dialect: 'shardedmap', url: 'shardedmap://' };
  }

  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return this.map.get(key) as StoredData<Value> | undefined;
  }

  async getMany<Value>(keys: string[]): Promise<Array<StoredData<Value | undefined>>> {
    return this.map.getMany(keys) as Array<StoredData<Value | undefined>>;
  }

  /** Store `value` as given, living `ttl` ms (the map's default ttl when
   *  undefined). */
  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    this.map.store(key, value, ttl === undefined ? undefined : { ttl });
    return true;
  }

  async setMany(values: Array<{ key: string; value: unknown; ttl?: number }>): Promise<void> {
    for (const { key, value, ttl } of values) this.map.store(key, value, ttl === undefined ? undefined : { ttl });
  }

  async delete(key: string): Promise<boolean> {
    return this.map.delete(key);
  }

  /** true if every key was there (and is now deleted), as Keyv's own
   *  fallback answers. */
  async deleteMany(keys: string[]): Promise<boolean> {
    let all = true;
    for (const key of keys) if (!this.map.delete(key)) all = false;
    return all;
  }

  async has(key: string): Promise<boolean> {
    return this.map.has(key);
  }

  async hasMany(keys: string[]): Promise<boolean[]> {
    return keys.map((k) => this.map.has(k));
  }

  /** Delete the keys of this store's namespace (`<namespace>:...`), or
   *  every entry when it has none. Each shard is walked as `range` walks
   *  it: keys stored meanwhile may stay. */
  async clear(): Promise<void> {
    const ns = this.namespace;
    if (!ns) return this.map.clear();
    const prefix = `${ns}:`;
    const doomed: string[] = [];
    for (let shard = 0; shard < this.map.shardCount; shard++) {
      this.map.rangeShard(shard, (k) => {
        if (typeof k === 'string' && k.startsWith(prefix)) doomed.push(k);
      });
      for (const k of doomed) this.map.delete(k);
      doomed.length = 0;
    }
  }

  /** Entries `[key, value]` of `namespace` (this store's by default), shard
   *  by shard. */
  async *iterator<Value>(namespace: string | undefined = this.namespace): AsyncGenerator<Array<string | Awaited<Value> | undefined>, void> {
    const prefix = namespace ? `${namespace}:` : '';
    for (const [k, v] of this.map.entries()) {
      if (typeof k === 'string' && k.startsWith(prefix)) yield [k, v as Awaited<Value>];
    }
  }

  /** Nothing to disconnect: the map belongs to its creator (close it
   *  there). */
  async disconnect(): Promise<void> {}

  on(event: string, listener: Listener): this {
    const list = this.#listeners.get(event) ?? [];
    list.push(listener);
    this.#listeners.set(event, list);
    return this;
  }

  emit(event: string, ...args: unknown[]): boolean {
    const list = this.#listeners.get(event);
    for (const l of list ?? []) l(...args);
    return list !== undefined && list.length > 0;
  }
}
