// Exact cache-policy simulators for the hit-ratio harness.
//
// Contract. A policy is described by { name, create } where
//   create(capacity, ctx) -> Policy | Promise<Policy>
//     capacity  entries the cache may hold (every object has size 1), >= 1
//     ctx       { keySpace, trace }: every key the policy will see is an
//               integer in [0, keySpace); `trace` is the whole request
//               sequence (only offline policies, i.e. Belady, read it)
//   Policy = { access(key): boolean, close?(): void | Promise<void> }
//     access  one request: returns true on a hit; on a miss the policy
//             admits the key (evicting as it must). Calls come in trace
//             order, one per request.
//     close   optional, called once after the last access.
// Each simulator here is exact: a deterministic function of the request
// sequence with no sampling, approximation or time dependence. Hits are
// counted over the whole trace, cold misses included.
//
// Policies: LRU (the npm package lru-cache when it can be imported, else an
// exact built-in LRU, see loadLruCache), S3-FIFO (as the reference
// implementation in libCacheSim, with its promotion threshold as an option),
// SIEVE (as libCacheSim), and Belady's MIN (offline optimum for caches that
// admit every missed object).

// ---------------------------------------------------------------------------
// Constants

/** S3-FIFO: the small queue S gets 10% of the capacity (paper, Sec. 4; the
 *  reference's fifo-size-ratio=0.10), rounded down as the reference does. */
export const S3FIFO_SMALL_RATIO = 0.1;
/** S3-FIFO: the ghost queue G remembers floor(0.9 x capacity) keys, i.e. as
 *  many as M holds (reference: ghost-size-ratio=0.90 of the *whole* cache). */
export const S3FIFO_GHOST_RATIO = 0.9;
/** S3-FIFO: an object leaving S goes to M if it was hit at least this many
 *  times while in S. The reference's default move-to-main-threshold is 2,
 *  which is also the paper's Algorithm 1 ("if t.freq > 1"); 1 ("accessed at
 *  all") is the variant many descriptions give, available as an option. */
export const S3FIFO_MOVE_TO_MAIN_THRESHOLD = 2;
/** S3-FIFO: a 2-bit saturating counter per object. */
export const S3FIFO_FREQ_CAP = 3;

const NONE = -1;
const IN_SMALL = 1;
const IN_MAIN = 2;

// ---------------------------------------------------------------------------
// Small structures over dense key ids

/** FIFO ring of int32 keys; push at the head, pop at the tail. */
class Ring {
  constructor(capacity) {
    this.buf = new Int32Array(Math.max(1, capacity));
    this.head = 0; // next slot to write
    this.tail = 0; // oldest element
    this.length = 0;
  }
  push(key) {
    if (this.length === this.buf.length) throw new Error('Ring overflow');
    this.buf[this.head] = key;
    if (++this.head === this.buf.length) this.head = 0;
    this.length++;
  }
  pop() {
    const key = this.buf[this.tail];
    if (++this.tail === this.buf.length) this.tail = 0;
    this.length--;
    return key;
  }
}

/**
 * Doubly linked list threaded through per-key arrays (a key is in it at most
 * once): O(1) push at the head, removal anywhere. `newer` points toward the
 * head (most recent), `older` toward the tail.
 */
class KeyList {
  constructor(keySpace) {
    this.newer = new Int32Array(keySpace);
    this.older = new Int32Array(keySpace);
    this.member = new Uint8Array(keySpace);
    this.head = NONE;
    this.tail = NONE;
    this.length = 0;
  }
  has(key) {
    return this.member[key] === 1;
  }
  pushHead(key) {
    this.member[key] = 1;
    this.newer[key] = NONE;
    this.older[key] = this.head;
    if (this.head !== NONE) this.newer[this.head] = key;
    else this.tail = key;
    this.head = key;
    this.length++;
  }
  remove(key) {
    const n = this.newer[key];
    const o = this.older[key];
    if (n !== NONE) this.older[n] = o;
    else this.head = o;
    if (o !== NONE) this.newer[o] = n;
    else this.tail = n;
    this.member[key] = 0;
    this.length--;
  }
}

// ---------------------------------------------------------------------------
// LRU

/**
 * The LRUCache class of the npm package lru-cache, or null when it cannot be
 * imported. It is looked up as the package 'lru-cache' from this project,
 * or, when the environment variable HITRATIO_LRU_CACHE names a file or
 * directory, from there (to cross-check without installing it).
 */
export async function loadLruCache() {
  const where = process.env.HITRATIO_LRU_CACHE;
  let spec = 'lru-cache';
  if (where) {
    const { pathToFileURL } = await import('node:url');
    const { statSync } = await import('node:fs');
    const { join } = await import('node:path');
    const file = statSync(where).isDirectory() ? join(where, 'dist/esm/index.js') : where;
    spec = pathToFileURL(file).href;
  }
  try {
    const mod = await import(spec);
    return mod.LRUCache ?? mod.default ?? null; // v7+ name it LRUCache; older export it as default
  } catch (e) {
    if (where) throw e;
    return null;
  }
}

/** LRU through lru-cache: get() refreshes recency; a miss set()s the key. */
export function lruCachePolicy(LRUCache) {
  return {
    name: 'LRU',
    create(capacity) {
      const cache = new LRUCache({ max: capacity });
      return {
        access(key) {
          if (cache.get(key) !== undefined) return true;
          cache.set(key, true);
          return false;
        },
      };
    },
  };
}

/** Exact LRU, built in (the fallback when lru-cache is missing, and the
 *  check lru-cache is compared against). */
export function createLru(capacity, { keySpace }) {
  const list = new KeyList(keySpace);
  return {
    access(key) {
      if (list.has(key)) {
        if (list.head !== key) {
          list.remove(key);
          list.pushHead(key);
        }
        return true;
      }
      if (list.length >= capacity) list.remove(list.tail);
      list.pushHead(key);
      return false;
    },
  };
}

// ---------------------------------------------------------------------------
// S3-FIFO

/**
 * Exact S3-FIFO, step for step as libCacheSim's S3FIFO.c (its defaults
 * unless overridden):
 *  - hit (in S or M): freq = min(freq + 1, 3). Nothing moves.
 *  - miss: if the key is in G, remove it from G and remember "ghost hit";
 *    evict until one slot is free; insert at the head of M on a ghost hit,
 *    else at the head of S; freq = 0.
 *  - evict: from M when |M| > M's share (capacity - |S target|) or S is
 *    empty, else from S. S may thus exceed 10% while M is not full.
 *  - evict from S: pop the tail; if freq >= moveToMainThreshold it moves to
 *    the head of M *with freq reset to 0* and the next tail is examined;
 *    else it is dropped, its key pushed at the head of G (dropping G's
 *    oldest key when G is full), and the eviction is done.
 *  - evict from M: pop the tail; if freq >= 1 it goes back to M's head with
 *    freq = min(freq, 3) - 1 and the next tail is examined; else dropped.
 * options: { moveToMainThreshold = 2, smallRatio = 0.1, ghostRatio = 0.9,
 * freqCap = 3 } (freqCap 1 with threshold 1 is the 1-bit variant of the
 * authors' cachelib prototype; the threshold must not exceed the cap).
 * The only departure from the reference: the small target is at least 1
 * entry (the reference admits nothing when capacity < 10).
 */
export function createS3Fifo(capacity, { keySpace }, options = {}) {
  const threshold = options.moveToMainThreshold ?? S3FIFO_MOVE_TO_MAIN_THRESHOLD;
  const smallTarget = Math.max(1, Math.floor(capacity * (options.smallRatio ?? S3FIFO_SMALL_RATIO)));
  const mainTarget = capacity - smallTarget;
  const ghostCapacity = Math.floor(capacity * (options.ghostRatio ?? S3FIFO_GHOST_RATIO));
  const freqCap = options.freqCap ?? S3FIFO_FREQ_CAP;
  if (!(threshold >= 1 && threshold <= freqCap)) throw new RangeError(`S3-FIFO: need 1 <= moveToMainThreshold <= freqCap`);

  const where = new Uint8Array(keySpace); // 0 = not cached, IN_SMALL, IN_MAIN
  const freq = new Uint8Array(keySpace);
  const small = new Ring(capacity);
  const main = new Ring(capacity);
  const ghost = new KeyList(keySpace);

  function evictSmall() {
    while (small.length > 0) {
      const key = small.pop();
      if (freq[key] >= threshold) {
        freq[key] = 0;
        where[key] = IN_MAIN;
        main.push(key);
      } else {
        where[key] = 0;
        if (ghostCapacity > 0) {
          if (ghost.length >= ghostCapacity) ghost.remove(ghost.tail);
          ghost.pushHead(key);
        }
        return;
      }
    }
  }

  function evictMain() {
    while (main.length > 0) {
      const key = main.pop();
      const f = freq[key];
      if (f >= 1) {
        freq[key] = f - 1;
        main.push(key);
      } else {
        where[key] = 0;
        return;
      }
    }
  }

  return {
    access(key) {
      if (where[key] !== 0) {
        if (freq[key] < freqCap) freq[key]++;
        return true;
      }
      const ghostHit = ghost.has(key);
      if (ghostHit) ghost.remove(key);
      while (small.length + main.length >= capacity) {
        if (main.length > mainTarget || small.length === 0) evictMain();
        else evictSmall();
      }
      freq[key] = 0;
      if (ghostHit) {
        where[key] = IN_MAIN;
        main.push(key);
      } else {
        where[key] = IN_SMALL;
        small.push(key);
      }
      return false;
    },
  };
}

// ---------------------------------------------------------------------------
// SIEVE

/**
 * Exact SIEVE (Zhang et al., NSDI '24), as libCacheSim's Sieve.c: one FIFO
 * list, new objects at the head, a visited bit set on hit, and a hand that
 * starts at the tail and moves toward the head. To evict: while the object
 * under the hand is visited, clear its bit and step toward the head
 * (wrapping to the tail); evict the first unvisited object and leave the
 * hand at its newer neighbour (none: restart from the tail next time).
 */
export function createSieve(capacity, { keySpace }) {
  const list = new KeyList(keySpace);
  const visited = new Uint8Array(keySpace);
  let hand = NONE;

  function evict() {
    let k = hand === NONE ? list.tail : hand;
    while (visited[k] === 1) {
      visited[k] = 0;
      k = list.newer[k] === NONE ? list.tail : list.newer[k];
    }
    hand = list.newer[k];
    list.remove(k);
  }

  return {
    access(key) {
      if (list.has(key)) {
        visited[key] = 1;
        return true;
      }
      if (list.length >= capacity) evict();
      visited[key] = 0;
      list.pushHead(key);
      return false;
    },
  };
}

// ---------------------------------------------------------------------------
// Belady's MIN

const nextUseMemo = new WeakMap();

/**
 * nextUse[i] = position of the next request for trace[i] after i, or
 * trace.length + i when there is none (distinct, and later than any real
 * position, so "never again" objects are evicted first).
 */
export function nextUses(trace, keySpace) {
  let next = nextUseMemo.get(trace);
  if (next) return next;
  const n = trace.length;
  next = new Int32Array(n);
  const last = new Int32Array(keySpace).fill(NONE);
  for (let i = n - 1; i >= 0; i--) {
    const k = trace[i];
    next[i] = last[k] === NONE ? n + i : last[k];
    last[k] = i;
  }
  nextUseMemo.set(trace, next);
  return next;
}

/**
 * Belady's MIN for demand caching: every miss is admitted, evicting the
 * cached object whose next request is farthest away (as libCacheSim's
 * Belady.c). It is the optimum for every policy that admits on each miss,
 * as all the others here do. O(n log n): a max-heap of next-use positions.
 * A cached key's live entry is its next use, which is always in the future;
 * every outdated entry is a position already passed; so the heap's top is
 * always live when anything is cached, and outdated entries never need
 * deleting (the heap holds at most one entry per request).
 */
export function createBelady(capacity, { keySpace, trace }) {
  const next = nextUses(trace, keySpace);
  const n = trace.length;
  const cached = new Uint8Array(keySpace);
  const heap = new Int32Array(n);
  let heapSize = 0;
  let size = 0;
  let t = 0;

  function push(v) {
    let i = heapSize++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heap[p] >= v) break;
      heap[i] = heap[p];
      i = p;
    }
    heap[i] = v;
  }
  function pop() {
    const top = heap[0];
    const v = heap[--heapSize];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= heapSize) break;
      if (c + 1 < heapSize && heap[c + 1] > heap[c]) c++;
      if (heap[c] <= v) break;
      heap[i] = heap[c];
      i = c;
    }
    heap[i] = v;
    return top;
  }

  return {
    access(key) {
      if (key !== trace[t]) throw new Error(`Belady: request ${t} is ${trace[t]}, got ${key}`);
      const nu = next[t++];
      if (cached[key] === 1) {
        push(nu);
        return true;
      }
      if (size >= capacity) {
        const p = pop();
        cached[trace[p >= n ? p - n : p]] = 0;
        size--;
      }
      cached[key] = 1;
      size++;
      push(nu);
      return false;
    },
  };
}

// ---------------------------------------------------------------------------
// The standard set

/**
 * The policies run.mjs compares, in column order. LRU is lru-cache when it
 * can be imported, else the built-in exact LRU (named so in its column).
 */
export async function standardPolicies() {
  const LRUCache = await loadLruCache();
  return [
    LRUCache ? lruCachePolicy(LRUCache) : { name: 'LRU (built-in)', create: createLru },
    { name: 'S3-FIFO', create: createS3Fifo },
    {
      name: 'S3-FIFO (S->M at 1 hit)',
      create: (capacity, ctx) => createS3Fifo(capacity, ctx, { moveToMainThreshold: 1 }),
    },
    { name: 'SIEVE', create: createSieve },
    { name: 'Belady', create: createBelady },
  ];
}
