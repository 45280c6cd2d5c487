// attach() refuses what is not a live map's handle, with a stable code.
import { describe, it, expect } from 'vitest';
import { ShardedMap } from 'shardedmap';

const code = (c: string) => expect.objectContaining({ code: c });

async function mapWithOneEntry(): Promise<ShardedMap<unknown>> {
  const m = await ShardedMap.create({ shards: 2 });
  m.store('a', 1);
  return m;
}

describe('handles', () => {
  it('a foreign or malformed handle is refused', async () => {
    const m = await mapWithOneEntry();
    const other = await ShardedMap.create({ shards: 2 });
    const bad = [
      null, {}, { memory: {} }, { ...m.handle, memory: new WebAssembly.Memory({ initial: 1 }) },
      { ...m.handle, memory: new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true }) },
      { ...m.handle, mapId: [1] }, { ...m.handle, memory: other.handle.memory },
      // Smaller than the core's memory import (a raw LinkError before).
      { ...m.handle, memory: new WebAssembly.Memory({ initial: 0, maximum: 1, shared: true }) },
    ];
    for (const h of bad) {
      await expect(ShardedMap.attach(h as never)).rejects.toEqual(code('ERR_SHARDEDMAP_BAD_HANDLE'));
    }
  });

  it('a handle of another layout version is refused with a clear error', async () => {
    const m = await mapWithOneEntry();
    const p = ShardedMap.attach({ ...m.handle, layoutVersion: m.handle.layoutVersion + 1 });
    await expect(p).rejects.toEqual(code('ERR_SHARDEDMAP_LAYOUT_VERSION'));
    await expect(p).rejects.toThrow(/same shardedmap version/);
  });

  it('a valid handle attaches, and nothing was lost', async () => {
    const m = await mapWithOneEntry();
    const b = await ShardedMap.attach(m.handle);
    expect(b.load('a')).toBe(1);
    b.close();
  });
});

