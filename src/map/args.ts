/** The public class's argument checks that are not options (those are in
 *  base/options.ts). */
import { describe } from '../codec/codec.js';
import { ErrorCode, ShardedMapTypeError } from '../base/errors.js';

export function checkKeyList(keys: unknown, method: string): void {
  if (!Array.isArray(keys)) {
    throw new ShardedMapTypeError(ErrorCode.INVALID_ARGUMENT, `${method}: keys must be an array, not ${describe(keys)}`);
  }
}

export function checkCallback(fn: unknown, method: string): void {
  if (typeof fn !== 'function') {
    throw new ShardedMapTypeError(ErrorCode.INVALID_ARGUMENT, `${method}: the callback must be a function, not ${typeof fn}`);
  }
}
