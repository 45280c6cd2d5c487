/**
 * Type test: lines that must NOT compile. Each is preceded by a
 * `// @ts-expect-error -- TSnnnn: why` comment, so this file compiles only
 * if each of those lines really is an error (an unused directive is error
 * TS2578). test/unit/typings.test.ts also compiles a copy with the comments
 * removed and checks that each such line then gives exactly one error, of
 * the code named in its comment: the type test can fail.
 *
 * Keep one error per marked line.
 */
import { Worker } from 'node:worker_threads';
import { ShardedMap, ErrorCode, ShardedMapError, LockTimeoutError } from 'shardedmap';
import { collectMetrics } from 'shardedmap/prometheus';

interface User {
  name: string;
}

const numbers = await ShardedMap.create<number>();
const users = await ShardedMap.create<User>();

// @ts-expect-error -- TS2345: a string into a ShardedMap<number>
numbers.store('hits', 'one');

// @ts-expect-error -- TS2554: store without a value
numbers.store('hits');

// @ts-expect-error -- TS2561: a misspelled option (shards)
await ShardedMap.create({ shard: 4 });

// @ts-expect-error -- TS2322: the seed is a bigint
await ShardedMap.create({ seed: 42 });

// @ts-expect-error -- TS2339: a SwapResult has `previous`, not `value`
console.log(users.swap('user:1', { name: 'Alice' }).value);

// @ts-expect-error -- TS2339: load is typed by V
console.log(users.load('user:1')?.age);

// @ts-expect-error -- TS2532: load may return undefined
console.log(users.load('user:1').name);

// @ts-expect-error -- TS2345: a Date is not a key
users.load(new Date());

// @ts-expect-error -- TS2345: the fallback of loadNumber is a number
numbers.loadNumber('hits', 'none');

// @ts-expect-error -- TS2554: compareAndSwap needs expected and next
numbers.compareAndSwap('hits', 1);

// @ts-expect-error -- TS2540: size is read-only
users.size = 0;

// @ts-expect-error -- TS2345: watch takes a Worker, not a thread id
users.watch(new Worker('./worker.mjs').threadId);

// @ts-expect-error -- TS2345: attach takes a handle, not the map
await ShardedMap.attach(users);

// @ts-expect-error -- TS2551: stats().counters has `hits`, not `hit`
console.log(users.stats().counters.hit);

// @ts-expect-error -- TS2322: collectMetrics' prefix is a string
collectMetrics(users, { prefix: 1 });

try {
  users.clear();
} catch (e) {
  if (e instanceof ShardedMapError) {
    // @ts-expect-error -- TS2367: a misspelled error code (CLOSED)
    if (e.code === 'ERR_SHARDEDMAP_CLOSD') console.log(ErrorCode.LOCK_TIMEOUT);
  }
  if (e instanceof LockTimeoutError) {
    // @ts-expect-error -- TS2322: a LockTimeoutError's owner is a number
    const owner: string = e.owner;
    void owner;
  }
}

export {};

// @ts-expect-error -- TS2322: a ttl is a number of milliseconds
numbers.store('t', 1, { ttl: '5s' });

// @ts-expect-error -- TS2322: fetch's loader must resolve to the map's value type
await numbers.fetch('k', async () => 'not a number');
