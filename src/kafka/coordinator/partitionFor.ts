// Which __consumer_offsets partition (and so which broker) coordinates a group. Kafka uses
// Java's String.hashCode, so we must reproduce its int32 arithmetic over UTF-16 code units
// exactly: a different hash would send clients to a coordinator that disowns the group.

/** Java's String.hashCode: h = 31*h + c over UTF-16 code units, wrapping at int32. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** Kafka's Utils.abs: Math.abs, except that Integer.MIN_VALUE maps to 0 (not to itself). */
export function kafkaAbs(n: number): number {
  return n === -2147483648 ? 0 : Math.abs(n);
}

/** The __consumer_offsets partition that owns groupId: abs(hashCode) % partitions. */
export function partitionFor(groupId: string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions <= 0) throw new RangeError(`bad partition count ${partitions}`);
  return kafkaAbs(javaStringHashCode(groupId)) % partitions;
}
