/**
 * Type test: every entry of the package as a Node project imports it, with
 * no DOM lib (`"lib": ["ES2022"]` and @types/node). Never run: compiled by
 * test/unit/typings.test.ts against the packed package, under the Node
 * configs (tsconfig.node.json: NodeNext, tsconfig.node-bundler.json:
 * Bundler). The shipped declarations name no `WebAssembly` type, which this
 * lib does not have.
 */
import { ShardedMap, type ShardedMapHandle } from 'shardedmap';
import { createNearCache } from 'shardedmap/redis';
import { collectMetrics } from 'shardedmap/prometheus';
import 'shardedmap/shared-worker';
import { expectTypeOf } from 'vitest';

{
  const map = await ShardedMap.create<number>();
  const handle: ShardedMapHandle = map.handle;
  expectTypeOf(handle.memory.buffer).toEqualTypeOf<ArrayBuffer | SharedArrayBuffer>();
  expectTypeOf(collectMetrics).toBeFunction();
  expectTypeOf(createNearCache).toBeFunction();
}

// The test build's door is not part of the package.
// @ts-expect-error -- TS2307: shardedmap/internals is not exported
await import('shardedmap/internals');
