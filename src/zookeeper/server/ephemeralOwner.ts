// What a znode's ephemeralOwner field encodes (ZooKeeper's EphemeralType): 0 for a persistent
// node, a session id for an ephemeral, and tagged values for containers and TTL nodes.

/** ephemeralOwner values that mark containers and TTL nodes (EphemeralType). */
export const CONTAINER_OWNER = -0x8000000000000000n;
const TTL_MASK = 0xff00000000000000n;
export const TTL_TAG = -0x100000000000000n; // 0xFF00_0000_0000_0000 as a signed long

export function ttlOwner(ttlMs: number): bigint {
  return TTL_TAG | BigInt(ttlMs);
}
export function isTtlOwner(owner: bigint): boolean {
  // Top byte 0xFF (EphemeralType.EXTENDED_MASK). The owner is a signed bigint, so `owner & mask`
  // is the positive mask value, never the negative TTL_TAG.
  return (owner & TTL_MASK) === TTL_MASK;
}
export function ttlOfOwner(owner: bigint): number {
  // EphemeralType.EXTENDED_FEATURE_VALUE_MASK: the low 40 bits.
  return Number(owner & 0xffffffffffn);
}
/** A real session owner (ephemeral node), not container/TTL/none. */
export function isSessionOwner(owner: bigint): boolean {
  return owner !== 0n && owner !== CONTAINER_OWNER && !isTtlOwner(owner);
}
