// A linearizability checker for histories of one register per key.
//
// Contract: given operations on keys, each with its result and an
// invocation and a response stamp taken from one shared clock (stamps are
// distinct integers; equal stamps are read as overlapping), say whether
// there is a single order of all of them that (a) keeps every operation
// between its invocation and its response and (b) is a legal run of a
// sequential map whose value per key starts absent. Keys are independent
// (a map is the product of its registers, and linearizability is local:
// Herlihy & Wing's P-compositionality), so each key is checked alone.
//
// The search is Wing & Gong's, with the memoization of Lowe, Knossos and
// porcupine:
// - Events (calls and returns) sit in one doubly linked list sorted by
//   time. From the head, the search tries to linearize each call it meets,
//   in order, until it meets a return: the earliest pending response, which
//   no unlinearized operation may pass. A call that the register accepts is
//   "lifted" (its call and return unlinked, dancing-links style, so that
//   undoing is two relinks) and the scan restarts at the head; a return
//   met means the choices so far are wrong: pop the last one and try the
//   next call after it.
// - Memo: a configuration is (set of linearized operations, register
//   value). Two paths that reach the same one have the same future, so the
//   second is cut. The set is a bitset (Uint32Array) and the cache key is
//   exact and short: the value, the first unlinearized index `low` (every
//   operation before it, in invocation order, is linearized) and the few
//   linearized indices above it (at most the overlap width). No hashing, so
//   no false cut.
// - A budget of cached configurations makes the answer "unknown" rather
//   than an endless search.
// - On failure, the explanation names the key and a minimal window: the
//   latest start s such that the operations between s and the response T
//   where the deepest search got stuck cannot be ordered from *any*
//   starting value. Operations that straddle s or T are optional in that
//   check (those across s may have taken effect before it, those across T
//   after it), which makes the window a true witness: every linearization
//   of the whole history would give one of the window.
//
// Organized as: the operation types, the register's step function, the
// search over one (sub)history, the per-key check, the window, formatting.

/** Register values are small integers ≥ 0; ABSENT is the missing key. */
export const ABSENT = -1;
/** What `step` returns for an operation the register could not have run. */
const ILLEGAL = -2;

interface Stamped {
  /** The key the operation is on (for grouping and reports). */
  key: string;
  /** Clock stamp taken right before the call. */
  inv: number;
  /** Clock stamp taken right after it returned (> inv). */
  res: number;
  /** Who ran it (for reports). */
  worker?: number | string;
}

/** One operation and what it returned, as docs/api.md defines each one
 *  (`get`/`set` are `load`/`store`). Values are value ids (≥ 0) or ABSENT. */
export type Op = Stamped &
  (
    | { kind: 'load'; value: number }
    | { kind: 'has'; present: boolean }
    | { kind: 'store'; value: number }
    | { kind: 'delete'; deleted: boolean }
    | { kind: 'compareAndSwap'; expected: number; next: number; swapped: boolean }
    | { kind: 'compareAndDelete'; expected: number; deleted: boolean }
    | { kind: 'swap'; value: number; previous: number; loaded: boolean }
    | { kind: 'loadOrStore'; value: number; actual: number; loaded: boolean }
    | { kind: 'loadAndDelete'; value: number; loaded: boolean }
  );

/** The sequential register: the value after `op` runs on `s`, or ILLEGAL if
 *  `op` could not have returned what it did. */
export function step(s: number, op: Op): number {
  const present = s !== ABSENT;
  switch (op.kind) {
    case 'load':
      return op.value === s ? s : ILLEGAL;
    case 'has':
      return op.present === present ? s : ILLEGAL;
    case 'store':
      return op.value;
    case 'delete':
      return op.deleted === present ? ABSENT : ILLEGAL;
    case 'compareAndSwap':
      // False when absent: `expected` is a value, never ABSENT.
      if (op.swapped) return s === op.expected ? op.next : ILLEGAL;
      return s !== op.expected ? s : ILLEGAL;
    case 'compareAndDelete':
      if (op.deleted) return s === op.expected ? ABSENT : ILLEGAL;
      return s !== op.expected ? s : ILLEGAL;
    case 'swap':
      return op.loaded === present && op.previous === s ? op.value : ILLEGAL;
    case 'loadOrStore':
      if (present) return op.loaded && op.actual === s ? s : ILLEGAL;
      return !op.loaded && op.actual === op.value ? op.value : ILLEGAL;
    case 'loadAndDelete':
      return op.loaded === present && op.value === s ? ABSENT : ILLEGAL;
  }
}

/** The values an operation names (for the window's "any start value"). */
function valuesOf(op: Op): number[] {
  switch (op.kind) {
    case 'load':
    case 'store':
    case 'loadAndDelete':
      return [op.value];
    case 'has':
    case 'delete':
      return [];
    case 'compareAndSwap':
      return [op.expected, op.next];
    case 'compareAndDelete':
      return [op.expected];
    case 'swap':
      return [op.value, op.previous];
    case 'loadOrStore':
      return [op.value, op.actual];
  }
}

// ---------------------------------------------------------------------------
// The search over one (sub)history.

/** How an operation takes part in a search. */
const MUST = 0; // linearized between its call and its return
const MAY = 1; // may be left out; if in, before its return (starts before the window)
const PENDING = 2; // may be left out; no return to respect (ends after the window)

interface SearchInput {
  /** Operations sorted by invocation. */
  ops: Op[];
  role: Uint8Array;
  initial: number;
  budget: number;
}

interface SearchResult {
  /** true: linearizable; false: not; undefined: budget spent. */
  ok: boolean | undefined;
  /** Configurations cached (the work done). */
  states: number;
  /** Where the search got furthest: how many it had linearized, the
   *  register then, the operation whose return stopped it, the last few it
   *  had linearized and the calls it could have tried next. */
  deepest?: { linearized: number; value: number; blocked: number; recent: number[]; candidates: number[] };
}

function search({ ops, role, initial, budget }: SearchInput): SearchResult {
  const n = ops.length;
  // Events: 2i is op i's call, 2i+1 its return; HEAD and TAIL are sentinels.
  const HEAD = 2 * n;
  const TAIL = 2 * n + 1;
  const events: number[] = [];
  for (let i = 0; i < n; i++) {
    events.push(2 * i);
    if (role[i] !== PENDING) events.push(2 * i + 1);
  }
  const time = (e: number) => ((e & 1) === 0 ? ops[e >> 1]!.inv : ops[e >> 1]!.res);
  // By time; at a tie the call first (equal stamps overlap).
  events.sort((a, b) => time(a) - time(b) || (a & 1) - (b & 1));
  const next = new Int32Array(2 * n + 2);
  const prev = new Int32Array(2 * n + 2);
  let last = HEAD;
  for (const e of events) {
    next[last] = e;
    prev[e] = last;
    last = e;
  }
  next[last] = TAIL;
  prev[TAIL] = last;
  const unlink = (e: number) => {
    next[prev[e]!] = next[e]!;
    prev[next[e]!] = prev[e]!;
  };
  const relink = (e: number) => {
    next[prev[e]!] = e;
    prev[next[e]!] = e;
  };
  // Lift op i out of the list, and back (in reverse order: dancing links).
  const lift = (i: number) => {
    unlink(2 * i);
    if (role[i] !== PENDING) unlink(2 * i + 1);
  };
  const unlift = (i: number) => {
    if (role[i] !== PENDING) relink(2 * i + 1);
    relink(2 * i);
  };

  // The linearized set, its count and its first hole.
  const bits = new Uint32Array((n >> 5) + 1);
  let count = 0;
  let low = 0;
  const has = (i: number) => (bits[i >> 5]! & (1 << (i & 31))) !== 0;
  const add = (i: number) => {
    bits[i >> 5]! |= 1 << (i & 31);
    count++;
    while (low < n && has(low)) low++;
  };
  const remove = (i: number) => {
    bits[i >> 5]! &= ~(1 << (i & 31));
    count--;
    if (i < low) low = i;
  };
  // Exact key of (linearized set, value): all below `low` are in, so only
  // the (count - low) members above it need naming.
  const keyOf = (value: number) => {
    let k = `${value}|${low}`;
    for (let j = low + 1, left = count - low; left > 0; j++) {
      if (has(j)) {
        k += `,${j}`;
        left--;
      }
    }
    return k;
  };
  const cache = new Set<string>();
  const tryEnter = (i: number, value: number) => {
    add(i);
    const k = keyOf(value);
    if (cache.has(k)) {
      remove(i);
      return false;
    }
    cache.add(k);
    return true;
  };

  // The choice stack: the event each choice was made at (a call: the op
  // was linearized there; a return: a MAY op was left out there) and the
  // register before it.
  const stackEvent = new Int32Array(n);
  const stackValue = new Int32Array(n);
  let depth = 0;
  let returnsLeft = 0;
  for (let i = 0; i < n; i++) if (role[i] !== PENDING) returnsLeft++;
  let value = initial;
  let deepest: SearchResult['deepest'];

  let e = next[HEAD]!;
  for (;;) {
    if (returnsLeft === 0) return { ok: true, states: cache.size };
    if (cache.size > budget) return { ok: undefined, states: cache.size };
    if (e === TAIL) throw new Error('linearizability: scanned past every return');
    const i = e >> 1;
    const op = ops[i]!;
    if ((e & 1) === 0) {
      // A call: linearize it here if the register accepts it and the
      // configuration is new.
      const after = step(value, op);
      if (after !== ILLEGAL && tryEnter(i, after)) {
        stackEvent[depth] = e;
        stackValue[depth++] = value;
        value = after;
        if (role[i] !== PENDING) returnsLeft--;
        lift(i);
        e = next[HEAD]!;
      } else {
        e = next[e]!;
      }
      continue;
    }
    // A return of an operation not yet linearized.
    if (role[i] === MAY && tryEnter(i, value)) {
      stackEvent[depth] = e;
      stackValue[depth++] = value;
      returnsLeft--;
      lift(i);
      e = next[HEAD]!;
      continue;
    }
    if (deepest === undefined || depth > deepest.linearized) {
      const recent: number[] = [];
      for (let d = Math.max(0, depth - 3); d < depth; d++) recent.push(stackEvent[d]! >> 1);
      const candidates: number[] = [];
      for (let c = next[HEAD]!; c !== e && candidates.length < 8; c = next[c]!) if ((c & 1) === 0) candidates.push(c >> 1);
      deepest = { linearized: depth, value, blocked: i, recent, candidates };
    }
    if (depth === 0) return { ok: false, states: cache.size, deepest };
    // Backtrack: undo the last choice and try the next call after it (a
    // drop has no alternative: go back to its return, which backtracks on).
    const at = stackEvent[--depth]!;
    const j = at >> 1;
    value = stackValue[depth]!;
    remove(j);
    if (role[j] !== PENDING) returnsLeft++;
    unlift(j);
    e = (at & 1) === 0 ? next[at]! : at;
  }
}

// ---------------------------------------------------------------------------
// The per-key check.

export interface CheckOptions {
  /** Most configurations cached per key before the answer is "unknown"
   *  (default 2,000,000: some hundreds of MB in the worst case). */
  budget?: number;
  /** Start points (invocation stamps, latest first) to try for the window
   *  of a failure (default 400: each try is a small search, and a stale
   *  read's window is a few operations wide). */
  windowTries?: number;
}

export interface KeyVerdict {
  key: string;
  ops: number;
  /** true: linearizable; false: not; undefined: the budget ran out. */
  ok: boolean | undefined;
  /** Configurations the search cached. */
  states: number;
  /** On failure: what went wrong, in a few lines. */
  explanation?: string;
  /** On failure: the smallest window found that is not linearizable on
   *  its own (operations by invocation), if one was found. */
  window?: Op[];
}

export interface Verdict {
  ok: boolean | undefined;
  keys: KeyVerdict[];
  /** The failed (or unknown) keys. */
  failures: KeyVerdict[];
}

/** Check a whole history, key by key. */
export function checkHistory(history: readonly Op[], options: CheckOptions = {}): Verdict {
  const byKey = new Map<string, Op[]>();
  for (const op of history) {
    let list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, (list = []));
    list.push(op);
  }
  const keys = [...byKey].map(([key, ops]) => checkKey(key, ops, options));
  const failures = keys.filter((k) => k.ok !== true);
  const ok = failures.some((k) => k.ok === false) ? false : failures.length > 0 ? undefined : true;
  return { ok, keys, failures };
}

/** Check one key's history (its register starts ABSENT). */
export function checkKey(key: string, history: readonly Op[], options: CheckOptions = {}): KeyVerdict {
  const budget = options.budget ?? 2_000_000;
  const ops = [...history].sort((a, b) => a.inv - b.inv);
  for (const op of ops) {
    if (!(op.res > op.inv)) throw new RangeError(`linearizability: ${fmt(op)} responds at ${op.res}, not after its invocation ${op.inv}`);
  }
  const r = search({ ops, role: new Uint8Array(ops.length), initial: ABSENT, budget });
  const verdict: KeyVerdict = { key, ops: ops.length, ok: r.ok, states: r.states };
  if (r.ok === undefined) verdict.explanation = `key ${key}: undecided after ${r.states} configurations (the budget)`;
  if (r.ok === false) {
    const d = r.deepest!;
    const blocked = ops[d.blocked]!;
    verdict.window = minimalWindow(ops, blocked.res, options.windowTries ?? 400, budget);
    const lines = [
      `key ${key} is not linearizable (${ops.length} operations).`,
      `The search got furthest after linearizing ${d.linearized}, with the register at ${val(d.value)}:`,
      ...d.recent.map((i) => `  last linearized: ${fmt(ops[i]!)}`),
      `  then ${fmt(blocked)} had to be linearized by ${blocked.res} and no order of the calls before then works: ` +
        d.candidates.map((i) => fmt(ops[i]!)).join('; '),
    ];
    if (verdict.window) {
      lines.push(
        `Minimal window (${verdict.window.length} operations, not linearizable from any starting value; ` +
          `* = may or may not have taken effect within it):`,
      );
      for (const op of verdict.window) lines.push(`  ${(op as WindowOp).optional ? '*' : ' '} ${fmt(op)}`);
    } else {
      lines.push(`(no smaller window found within ${options.windowTries ?? 400} start points)`);
    }
    verdict.explanation = lines.join('\n');
  }
  return verdict;
}

// ---------------------------------------------------------------------------
// The window.

type WindowOp = Op & { optional?: boolean };

/** The latest start s (an invocation stamp, or the very beginning) such that
 *  the operations overlapping [s, end] are not linearizable from any start
 *  value: operations that began before s may be left out (they may have
 *  taken effect before s), those that end after `end` too (after it). */
function minimalWindow(ops: Op[], end: number, tries: number, budget: number): WindowOp[] | undefined {
  const starts = [...new Set(ops.filter((o) => o.inv < end).map((o) => o.inv))].sort((a, b) => b - a);
  const fromBeginning = starts.length <= tries;
  for (const s of [...starts.slice(0, tries), ...(fromBeginning ? [-Infinity] : [])]) {
    const inWindow = ops.filter((o) => o.res > s && o.inv < end);
    const role = new Uint8Array(inWindow.map((o) => (o.res > end ? PENDING : o.inv < s ? MAY : MUST)));
    let initials: number[];
    if (s === -Infinity) {
      initials = [ABSENT];
    } else {
      // Any start value: the ones the window names, plus one it does not.
      const named = new Set<number>([ABSENT]);
      for (const o of inWindow) for (const v of valuesOf(o)) named.add(v);
      initials = [...named, Math.max(...named) + 1];
    }
    const broken = initials.every((initial) => search({ ops: inWindow, role, initial, budget }).ok === false);
    if (broken) return inWindow.map((o, i) => (role[i] === MUST ? o : { ...o, optional: true }));
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Formatting.

const val = (v: number) => (v === ABSENT ? 'absent' : String(v));

/** One operation as `worker: call → result [inv, res]`. */
export function fmt(op: Op): string {
  let call: string;
  switch (op.kind) {
    case 'load':
      call = `load() → ${val(op.value)}`;
      break;
    case 'has':
      call = `has() → ${op.present}`;
      break;
    case 'store':
      call = `store(${op.value})`;
      break;
    case 'delete':
      call = `delete() → ${op.deleted}`;
      break;
    case 'compareAndSwap':
      call = `compareAndSwap(${op.expected}, ${op.next}) → ${op.swapped}`;
      break;
    case 'compareAndDelete':
      call = `compareAndDelete(${op.expected}) → ${op.deleted}`;
      break;
    case 'swap':
      call = `swap(${op.value}) → {previous: ${val(op.previous)}, loaded: ${op.loaded}}`;
      break;
    case 'loadOrStore':
      call = `loadOrStore(${op.value}) → {value: ${val(op.actual)}, loaded: ${op.loaded}}`;
      break;
    case 'loadAndDelete':
      call = `loadAndDelete() → {value: ${val(op.value)}, loaded: ${op.loaded}}`;
      break;
  }
  return `${op.worker ?? '?'}: ${call} [${op.inv}, ${op.res}]`;
}

/** How many operations overlap another operation on the same key. */
export function countConcurrent(history: readonly Op[]): number {
  const byKey = new Map<string, Op[]>();
  for (const op of history) {
    let list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, (list = []));
    list.push(op);
  }
  let concurrent = 0;
  for (const list of byKey.values()) {
    list.sort((a, b) => a.inv - b.inv);
    let reach = -Infinity; // the latest response among earlier invocations
    for (let i = 0; i < list.length; i++) {
      const op = list[i]!;
      const nextOp = list[i + 1];
      if (reach > op.inv || (nextOp !== undefined && nextOp.inv < op.res)) concurrent++;
      reach = Math.max(reach, op.res);
    }
  }
  return concurrent;
}
