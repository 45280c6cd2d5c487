// A Map private to each worker: the same-thread upper bound. NOT shared:
// a worker never sees another worker's writes.
import { privateContestant } from './private.mjs';

export const { kind, setup, open } = privateContestant(() => new Map());
