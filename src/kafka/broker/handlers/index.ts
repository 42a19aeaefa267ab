// Registers every API this broker serves. Group APIs go straight to the group coordinator
// (coordinator/groupCoordinator.ts), which owns their behaviour.

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { Broker } from '../broker.js';
import type { Handler, RequestContext } from '../requests.js';
import { alterConfigsHandler } from './alterConfigs.js';
import { alterPartitionHandler } from './alterPartition.js';
import { alterPartitionReassignmentsHandler } from './alterPartitionReassignments.js';
import { listPartitionReassignmentsHandler } from './listPartitionReassignments.js';
import { controlledShutdownHandler } from './controlledShutdown.js';
import { afterRegistration } from './controlEpochs.js';
import { leaderAndIsrHandler } from './leaderAndIsr.js';
import { stopReplicaHandler } from './stopReplica.js';
import { updateMetadataHandler } from './updateMetadata.js';
import { createPartitionsHandler } from './createPartitions.js';
import { createTopicsHandler } from './createTopics.js';
import { deleteRecordsHandler } from './deleteRecords.js';
import { deleteTopicsHandler } from './deleteTopics.js';
import { describeClusterHandler } from './describeCluster.js';
import { describeConfigsHandler } from './describeConfigs.js';
import { describeLogDirsHandler } from './describeLogDirs.js';
import { describeProducersHandler } from './describeProducers.js';
import { electLeadersHandler } from './electLeaders.js';
import { fetchHandler } from './fetch.js';
import { findCoordinatorHandler } from './findCoordinator.js';
import { incrementalAlterConfigsHandler } from './incrementalAlterConfigs.js';
import { initProducerIdHandler } from './initProducerId.js';
import { listOffsetsHandler } from './listOffsets.js';
import { metadataHandler } from './metadata.js';
import { offsetForLeaderEpochHandler } from './offsetForLeaderEpoch.js';
import { produceHandler } from './produce.js';

export function registerHandlers(b: Broker): void {
  const r = b.router;
  r.register(0, produceHandler(b));
  r.register(1, fetchHandler(b));
  r.register(2, listOffsetsHandler(b));
  r.register(3, metadataHandler(b));
  r.register(10, findCoordinatorHandler(b));
  r.register(19, createTopicsHandler(b));
  r.register(20, deleteTopicsHandler(b));
  r.register(21, deleteRecordsHandler(b));
  r.register(22, initProducerIdHandler(b));
  r.register(23, offsetForLeaderEpochHandler(b));
  r.register(32, describeConfigsHandler(b));
  r.register(33, alterConfigsHandler(b));
  r.register(35, describeLogDirsHandler(b));
  r.register(37, createPartitionsHandler(b));
  r.register(43, electLeadersHandler(b));
  r.register(44, incrementalAlterConfigsHandler(b));
  r.register(45, alterPartitionReassignmentsHandler(b));
  r.register(46, listPartitionReassignmentsHandler(b));
  r.register(60, describeClusterHandler(b));
  // Inter-broker APIs (served, not advertised: versions.ts INTER_BROKER).
  r.register(4, afterRegistration(b, leaderAndIsrHandler(b)));
  r.register(5, afterRegistration(b, stopReplicaHandler(b)));
  r.register(6, afterRegistration(b, updateMetadataHandler(b)));
  r.register(7, controlledShutdownHandler(b));
  r.register(56, alterPartitionHandler(b));
  r.register(61, describeProducersHandler(b));

  const g = () => b.groups;
  r.register(
    8,
    guarded(b, (req, ctx) => offsetCommitKnownTopics(b, req, ctx.version)),
  );
  r.register(9, (req, ctx) => g().offsetFetch(req, ctx.version));
  r.register(
    11,
    guarded(b, (req, ctx) => g().joinGroup(req, ctx.version, { clientId: ctx.clientId, clientHost: `/${ctx.clientHost}` })),
  );
  r.register(12, (req, ctx) => g().heartbeat(req, ctx.version));
  r.register(13, (req, ctx) => g().leaveGroup(req, ctx.version));
  r.register(14, (req, ctx) => g().syncGroup(req, ctx.version));
  r.register(15, (req, ctx) => g().describeGroups(req, ctx.version));
  r.register(16, (req, ctx) => g().listGroups(req, ctx.version));
  r.register(42, (req, ctx) => g().deleteGroups(req, ctx.version));
  r.register(47, (req, ctx) => g().offsetDelete(req, ctx.version));
}

/**
 * OffsetCommit for topics this cluster has; partitions of unknown topics (or unknown partitions)
 * are answered UNKNOWN_TOPIC_OR_PARTITION without reaching the coordinator, as Apache Kafka's
 * KafkaApis does (the coordinator itself knows nothing of topics). As there, the refused topics
 * come first in request order, and the coordinator's partitions join a refused topic of the same
 * name; nothing reaches the coordinator when nothing is known.
 */
async function offsetCommitKnownTopics(b: Broker, req: Msg, version: number): Promise<Msg> {
  const topics = req.topics as Msg[];
  const refused: Msg[] = [];
  const accepted: Msg[] = [];
  for (const t of topics) {
    const meta = b.metadata.topics.get(t.name);
    const parts = t.partitions as Msg[];
    const ok = meta === undefined ? [] : parts.filter((p) => meta.partitions.has(p.partitionIndex));
    const bad = meta === undefined ? parts : parts.filter((p) => !meta.partitions.has(p.partitionIndex));
    if (bad.length > 0) {
      const partitions = bad.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }));
      refused.push({ name: t.name, partitions });
    }
    if (ok.length > 0) accepted.push({ ...t, partitions: ok });
  }
  if (refused.length === 0) return b.groups.offsetCommit(req, version);
  if (accepted.length === 0) return { throttleTimeMs: 0, topics: refused };
  const res = await b.groups.offsetCommit({ ...req, topics: accepted }, version);
  const out: { name: string; partitions: Msg[] }[] = refused.map((t) => ({ name: t.name, partitions: [...(t.partitions as Msg[])] }));
  for (const t of res.topics as Msg[]) {
    const same = out.find((x) => x.name === t.name);
    if (same) same.partitions.push(...(t.partitions as Msg[]));
    else out.push(t as { name: string; partitions: Msg[] });
  }
  return { ...res, topics: out };
}

/** Group calls need __consumer_offsets; while it does not exist yet, ask the client to retry. */
function guarded(b: Broker, h: (req: Msg, ctx: RequestContext) => Promise<Msg> | Msg): Handler {
  return async (req, ctx) => {
    if (!b.metadata.topics.has('__consumer_offsets')) {
      await b.autoCreateTopic('__consumer_offsets');
      return notCoordinator(ctx.apiKey, ctx.version, req);
    }
    return h(req, ctx);
  };
}

function notCoordinator(apiKey: number, version: number, req: Msg): Msg {
  const errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
  if (apiKey === 11)
    return {
      throttleTimeMs: 0,
      errorCode,
      generationId: -1,
      protocolType: null,
      // Before v7 the protocol name is not nullable: Kafka sends an empty string.
      protocolName: version < 7 ? '' : null,
      leader: '',
      skipAssignment: false,
      memberId: req.memberId ?? '',
      members: [],
    };
  return {
    throttleTimeMs: 0,
    topics: (req.topics as Msg[]).map((t) => ({
      name: t.name,
      partitions: (t.partitions as Msg[]).map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
    })),
  };
}
