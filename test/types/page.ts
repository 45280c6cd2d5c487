/// <reference types="vite/client" />
/**
 * Type test: the README's browser recipes as a page's TypeScript (DOM lib;
 * vite/client types for `?url`). Never run: compiled by
 * test/unit/typings.test.ts against the packed package, under the browser
 * configs (tsconfig.json: Bundler, tsconfig.nodenext.json: NodeNext).
 */
import { ShardedMap, connectSharedCache, type SharedCache, type LoadOrStoreResult, type ShardedMapHandle } from 'shardedmap';
import sharedWorkerUrl from 'shardedmap/shared-worker?url';
import { expectTypeOf } from 'vitest';

interface User {
  name: string;
}

// ---- Browsers: a dedicated worker shares the page's map ----------------------
{
  const map = await ShardedMap.create<User>({ shards: 16 });
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  worker.postMessage(map.handle);
  expectTypeOf(map.handle).toEqualTypeOf<ShardedMapHandle>();
  // The handle's memory is a WebAssembly.Memory (declared structurally).
  const memory: WebAssembly.Memory = new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true });
  expectTypeOf(ShardedMap.attach).toBeCallableWith({ memory, mapId: [1, 2], layoutVersion: 1 });
}

// ---- Browsers: the SharedWorker cache (Vite's ?url) -----------------------------
{
  expectTypeOf(sharedWorkerUrl).toEqualTypeOf<string>();
  const cache = connectSharedCache(new URL(`${sharedWorkerUrl}?shards=64`, location.href));
  expectTypeOf(cache).toEqualTypeOf<SharedCache<unknown>>();
  expectTypeOf(await cache.load('user:1')).toEqualTypeOf<unknown>();
}

// ---- SharedCache<V> --------------------------------------------------------------
{
  const users = connectSharedCache<User>(new URL('./shared-worker.js', import.meta.url), { timeout: 5_000 });
  expectTypeOf(users).toEqualTypeOf<SharedCache<User>>();
  await users.store('user:1', { name: 'Alice' }, { ttl: 1000 });
  expectTypeOf(await users.load('user:1')).toEqualTypeOf<User | undefined>();
  expectTypeOf(await users.get('user:1')).toEqualTypeOf<User | undefined>();
  expectTypeOf(await users.getMany(['a', 'b'])).toEqualTypeOf<(User | undefined)[]>();
  expectTypeOf(await users.loadOrStore('user:2', { name: 'Bob' })).toEqualTypeOf<LoadOrStoreResult<User>>();
  for await (const [key, value] of users.range()) {
    expectTypeOf(value).toEqualTypeOf<User>();
    void key;
  }
  // @ts-expect-error -- TS2353: the values are Users
  await users.store('user:3', { nom: 'Carol' });
  users.close();
}
