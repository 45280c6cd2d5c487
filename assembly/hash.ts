// Seeded FNV-1a over 4-byte lanes with a 64-bit state, then the murmur3
// 64-bit finalizer so that every output bit depends on every input bit.
//
// Lanes of 4 bytes (not 8) on purpose: with 8-byte lanes, flipping the top
// bit of two consecutive lanes cancels out whatever the seed (x ^ 2^63 is
// x + 2^63, and p is odd), which would let anyone build keys that collide
// in every map. With 4-byte lanes the flipped bit sits below the state's
// top and carries depend on the seeded state.

const FNV_BASIS: u64 = 0xcbf29ce484222325;
const FNV_PRIME: u64 = 0x100000001b3;

/** Hash `n` bytes at `p` with the map's seed. Hot: inlined into lookups. */
// @ts-ignore: decorator
@inline export function hashKey(p: usize, n: u32, seed: u64): u64 {
  // The length goes into the basis, so keys that are prefixes of each
  // other differ from the first step (one multiply cheaper than mixing it
  // in at the end).
  let h = (FNV_BASIS ^ seed) ^ <u64>n;
  let i: u32 = 0;
  while (i + 4 <= n) {
    // SAFETY: p..p+n is the caller's private scratch key or an entry key
    // read under the shard lock; both lie inside the committed memory.
    h = (h ^ <u64>load<u32>(p + i)) * FNV_PRIME;
    i += 4;
  }
  while (i < n) {
    h = (h ^ <u64>load<u8>(p + i)) * FNV_PRIME;
    i++;
  }
  h ^= h >>> 33;
  h *= 0xff51afd7ed558ccd;
  h ^= h >>> 33;
  h *= 0xc4ceb9fe1a85ec53;
  h ^= h >>> 33;
  return h;
}
