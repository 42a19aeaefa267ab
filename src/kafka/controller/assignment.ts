// Replica assignment for new topics and added partitions, as Kafka's AdminUtils does it
// (server-common/.../admin/AdminUtils.java). Pure: randomness is injected (`randomInt`), so tests
// and the simulator can reproduce an assignment exactly.

/** Kafka error code INVALID_REPLICATION_FACTOR. */
export const INVALID_REPLICATION_FACTOR = 38;
/** Kafka error code INVALID_PARTITIONS. */
export const INVALID_PARTITIONS = 37;

export class AssignmentError extends Error {
  override name = 'AssignmentError';
  constructor(
    /** Kafka error code to answer with. */
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface BrokerRack {
  id: number;
  rack?: string | undefined;
}

export interface AssignOptions {
  /** Kafka's fixedStartIndex: >= 0 fixes both the start index and the replica shift. Default -1. */
  fixedStartIndex?: number;
  /** Id of the first partition to assign (existing partition count when adding). Default 0. */
  startPartitionId?: number;
  /** Uniform integer in [0, bound); consulted only when fixedStartIndex < 0. */
  randomInt?: (bound: number) => number;
}

export type Assignment = Map<number, number[]>;

function replicaIndex(first: number, shift: number, j: number, n: number): number {
  const s = 1 + ((shift + j) % (n - 1));
  return (first + s) % n;
}

function pick(opts: AssignOptions, n: number): number {
  const fixed = opts.fixedStartIndex ?? -1;
  if (fixed >= 0) return fixed;
  if (!opts.randomInt) throw new Error('assignReplicas needs randomInt or fixedStartIndex');
  const v = opts.randomInt(n);
  if (!Number.isInteger(v) || v < 0 || v >= n) throw new Error(`randomInt(${n}) returned ${v}`);
  return v;
}

function validate(partitions: number, replicationFactor: number, brokers: number): void {
  if (!Number.isInteger(partitions) || partitions <= 0) {
    throw new AssignmentError(INVALID_PARTITIONS, 'Number of partitions must be larger than 0.');
  }
  if (!Number.isInteger(replicationFactor) || replicationFactor <= 0) {
    throw new AssignmentError(INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0.');
  }
  if (replicationFactor > brokers) {
    throw new AssignmentError(
      INVALID_REPLICATION_FACTOR,
      `Replication factor: ${replicationFactor} larger than available brokers: ${brokers}.`,
    );
  }
}

/**
 * Assign `partitions` partitions with `replicationFactor` replicas over `brokers`. Rack-aware when
 * every broker has a rack, rack-unaware when none has; a mix is an error (as Kafka without
 * --disable-rack-aware).
 */
export function assignReplicas(
  brokers: readonly BrokerRack[],
  partitions: number,
  replicationFactor: number,
  opts: AssignOptions = {},
): Assignment {
  validate(partitions, replicationFactor, brokers.length);
  const withRack = brokers.filter((b) => b.rack !== undefined).length;
  if (withRack === 0)
    return rackUnaware(
      brokers.map((b) => b.id),
      partitions,
      replicationFactor,
      opts,
    );
  if (withRack < brokers.length) {
    throw new AssignmentError(INVALID_REPLICATION_FACTOR, 'Not all brokers have rack information for replica rack aware assignment.');
  }
  return rackAware(brokers, partitions, replicationFactor, opts);
}

/** The rack-unaware round robin; broker ids are sorted first, as Kafka's broker metadata list is. */
export function rackUnaware(
  brokerIds: readonly number[],
  partitions: number,
  replicationFactor: number,
  opts: AssignOptions = {},
): Assignment {
  validate(partitions, replicationFactor, brokerIds.length);
  const brokers = [...brokerIds].sort((a, b) => a - b);
  const n = brokers.length;
  const out: Assignment = new Map();
  const startIndex = pick(opts, n);
  let shift = pick(opts, n);
  let current = Math.max(0, opts.startPartitionId ?? 0);
  for (let i = 0; i < partitions; i++, current++) {
    if (current > 0 && current % n === 0) shift += 1;
    const first = (current + startIndex) % n;
    const replicas = [brokers[first]!];
    for (let j = 0; j < replicationFactor - 1; j++) replicas.push(brokers[replicaIndex(first, shift, j, n)]!);
    out.set(current, replicas);
  }
  return out;
}

/**
 * Brokers ordered so that consecutive entries alternate racks: racks sorted by name, brokers of
 * a rack sorted by id, one from each rack in turn (AdminUtils.getRackAlternatedBrokerList).
 */
export function rackAlternatedBrokers(brokers: readonly BrokerRack[]): number[] {
  const byRack = new Map<string, number[]>();
  for (const b of brokers) {
    const list = byRack.get(b.rack!) ?? [];
    list.push(b.id);
    byRack.set(b.rack!, list);
  }
  const racks = [...byRack.keys()].sort();
  const iters = racks.map((r) => byRack.get(r)!.sort((a, b) => a - b));
  const pos = racks.map(() => 0);
  const out: number[] = [];
  for (let ri = 0; out.length < brokers.length; ri = (ri + 1) % racks.length) {
    const list = iters[ri]!;
    if (pos[ri]! < list.length) out.push(list[pos[ri]!++]!);
  }
  return out;
}

function rackAware(brokers: readonly BrokerRack[], partitions: number, rf: number, opts: AssignOptions): Assignment {
  const rackOf = new Map(brokers.map((b) => [b.id, b.rack!]));
  const numRacks = new Set(rackOf.values()).size;
  const arranged = rackAlternatedBrokers(brokers);
  const n = arranged.length;
  const out: Assignment = new Map();
  const startIndex = pick(opts, n);
  let shift = pick(opts, n);
  let current = Math.max(0, opts.startPartitionId ?? 0);
  for (let i = 0; i < partitions; i++, current++) {
    if (current > 0 && current % n === 0) shift += 1;
    const first = (current + startIndex) % n;
    const leader = arranged[first]!;
    const replicas = [leader];
    const racksUsed = new Set([rackOf.get(leader)!]);
    const brokersUsed = new Set([leader]);
    let k = 0;
    for (let j = 0; j < rf - 1; j++) {
      // Skip a broker on a rack that already has a replica (until every rack has one) and a
      // broker that already has one (until every broker has one).
      for (;;) {
        const b = arranged[replicaIndex(first, shift * numRacks, k, n)]!;
        k++;
        const rack = rackOf.get(b)!;
        if ((!racksUsed.has(rack) || racksUsed.size === numRacks) && (!brokersUsed.has(b) || brokersUsed.size === n)) {
          replicas.push(b);
          racksUsed.add(rack);
          brokersUsed.add(b);
          break;
        }
      }
    }
    out.set(current, replicas);
  }
  return out;
}

/**
 * Assignment for partitions added to an existing topic (AdminZkClient.createNewPartitionsAssignment):
 * the replication factor of partition 0, ids continue after the existing ones, and the start
 * index is fixed at the first broker (sorted by id) whose id >= partition 0's first replica.
 */
export function assignAddedPartitions(
  brokers: readonly BrokerRack[],
  existing: ReadonlyMap<number, readonly number[]>,
  totalPartitions: number,
): Assignment {
  const p0 = existing.get(0);
  if (!p0 || p0.length === 0) throw new AssignmentError(INVALID_PARTITIONS, 'The topic has no partition 0.');
  const toAdd = totalPartitions - existing.size;
  if (toAdd <= 0) {
    throw new AssignmentError(
      INVALID_PARTITIONS,
      `Topic currently has ${existing.size} partitions, ${totalPartitions} would not be an increase.`,
    );
  }
  const sorted = [...brokers].sort((a, b) => a.id - b.id);
  const startIndex = Math.max(
    0,
    sorted.findIndex((b) => b.id >= p0[0]!),
  );
  return assignReplicas(sorted, toAdd, p0.length, { fixedStartIndex: startIndex, startPartitionId: existing.size });
}
