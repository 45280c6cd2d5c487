/**
 * The iterators of `keys()`, `values()` and `entries()`: like Map's
 * (`next()` of length 0, %IteratorPrototype% as prototype, so
 * `[Symbol.iterator]()` returns itself and the iterator helpers work where
 * the engine has them), over the per-shard snapshots of core/iterate.ts.
 */
import type { Key } from '../codec/codec.js';

export const ITER_KEYS = 0;
export const ITER_VALUES = 1;
export const ITER_ENTRIES = 2;

export class ShardedMapIterator<T> {
  readonly #source: Iterator<[Key, unknown]>;
  readonly #kind: number;

  constructor(source: Iterator<[Key, unknown]>, kind: number) {
    this.#source = source;
    this.#kind = kind;
  }

  next(): IteratorResult<T, undefined> {
    const r = this.#source.next();
    if (r.done) return { value: undefined, done: true };
    const e = r.value;
    return { value: (this.#kind === ITER_KEYS ? e[0] : this.#kind === ITER_VALUES ? e[1] : e) as T, done: false };
  }

  declare [Symbol.iterator]: () => this;

  static {
    Object.setPrototypeOf(this.prototype, Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())));
    Object.defineProperty(this.prototype, Symbol.toStringTag, {
      value: 'ShardedMap Iterator', writable: false, enumerable: false, configurable: true,
    });
  }
}
