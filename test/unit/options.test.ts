// Bad options are refused eagerly, naming the option.
import { describe, it, expect } from 'vitest';
import { ShardedMap } from 'shardedmap';

const code = (c: string) => expect.objectContaining({ code: c });

describe('options', () => {
  const bad: [Record<string, unknown>, string, typeof TypeError | typeof RangeError][] = [
    [{ shards: 3 }, 'shards', RangeError],
    [{ shards: 0 }, 'shards', RangeError],
    [{ shards: 8192 }, 'shards', RangeError],
    [{ shards: '4' }, 'shards', TypeError],
    [{ maxKeyBytes: 1 }, 'maxKeyBytes', RangeError],
    [{ maxKeyBytes: 70000 }, 'maxKeyBytes', RangeError],
    [{ maxValueBytes: 4 }, 'maxValueBytes', RangeError],
    [{ maxValueBytes: 2 ** 24 }, 'maxValueBytes', RangeError],
    [{ maxMemory: 1000 }, 'maxMemory', RangeError],
    [{ maxMemory: 2 ** 32 }, 'maxMemory', RangeError],
    [{ maxWorkers: 0 }, 'maxWorkers', RangeError],
    [{ maxWorkers: 1.5 }, 'maxWorkers', TypeError],
    [{ initialCapacity: -1 }, 'initialCapacity', RangeError],
    [{ lockTimeout: -1 }, 'lockTimeout', RangeError],
    [{ lockTimeout: 'soon' }, 'lockTimeout', TypeError],
    [{ seed: 5 }, 'seed', TypeError],
    [{ seed: -1n }, 'seed', RangeError],
    [{ seed: 1n << 64n }, 'seed', RangeError],
    [{ shard: 4 }, 'shard', TypeError],
  ];
  it.each(bad)('%o is refused naming the option', async (options, name, cls) => {
    const p = ShardedMap.create(options);
    await expect(p).rejects.toBeInstanceOf(cls);
    await expect(p).rejects.toEqual(code('ERR_SHARDEDMAP_INVALID_OPTION'));
    await expect(p).rejects.toThrow(name);
  });
  it('a non-object is refused', async () => {
    await expect(ShardedMap.create(5 as never)).rejects.toThrow(TypeError);
    await expect(ShardedMap.create([] as never)).rejects.toEqual(code('ERR_SHARDEDMAP_INVALID_OPTION'));
    const m = await ShardedMap.create({ shards: 2 });
    await expect(ShardedMap.attach(m.handle, [] as never)).rejects.toEqual(code('ERR_SHARDEDMAP_INVALID_OPTION'));
    m.close();
  });
});

