// The dashboard's HTTP contract between its server (src/dashboard/server) and its page
// (src/dashboard/ui). Types only: the page imports this file for types, so it must stay free of
// Node imports. Add fields freely; renaming or removing one breaks the page.
//
// The server keeps ONE view of the system, refreshed on its own schedule, and fans it out to every
// open tab over Server-Sent Events; no browser request ever causes a per-tab round of admin
// requests to ZooKeeper or Kafka (issue 17's "costs the brokers nothing per open tab").
//
// Endpoints (all JSON unless said; every write needs the headers in `writeHeaders` below):
//   GET  /api/view                          DashboardView (the current one)
//   GET  /api/view/stream                   SSE: `event: view` with a DashboardView on every change (and once at connect)
//   GET  /api/info                          DashboardInfo
//
//   GET  /api/zk/children?path=             ZnodeChildren
//   GET  /api/zk/node?path=                 Znode (data truncated to `valueBytesMax`)
//   GET  /api/zk/node/raw?path=             the whole data, application/octet-stream, as an attachment
//   POST /api/zk/node                       ZnodeCreate           -> Znode
//   PUT  /api/zk/node                       ZnodeSet              -> Znode   (version check: BADVERSION -> 409)
//   DELETE /api/zk/node?path=&version=&recursive=1               -> {ok:true}
//   GET  /api/zk/watch?path=                SSE: `event: znode` ZnodeChange whenever the node's data or children change
//                                            (one ZooKeeper watch per path shared by all tabs)
//   GET  /api/zk/export?path=               ZnodeTree (subtree, bounded by `exportNodesMax`)
//   POST /api/zk/import                     ZnodeImport           -> {created, updated, skipped}
//
//   GET  /api/topics/:name                  TopicDetail
//   POST /api/topics                        TopicCreate           -> {ok:true}
//   PATCH /api/topics/:name/configs         {configs: Record<string,string|null>} (null deletes an override) -> {ok:true}
//   DELETE /api/topics/:name                                      -> {ok:true}
//   GET  /api/topics/:name/messages?partition=&offset=|timestamp=&limit=&search=
//                                            MessagePage (search scans key, value and headers server-side,
//                                            bounded by `searchScanMax` records)
//   GET  /api/topics/:name/tail?partition=  SSE: `event: message` Message as produced (newest; one fetch loop
//                                            per topic shared by all tabs)
//   POST /api/topics/:name/produce          ProduceRequest        -> {partition, offset}
//
//   GET  /api/groups/:id                    GroupDetail (members, assignments, per-partition lag)
//   POST /api/groups/:id/reset-offsets      OffsetReset           -> {offsets: GroupOffset[]} (group must be Empty: 409 otherwise)
//
//   /api/jobs..., /api/dlq..., /api/stats, /api/schedules...  passed through unchanged to the Job Service
//                                            (docs/API.md), SSE included
//   GET  /api/logs/query_range?query=&start=&end=&limit=&direction=   passed to the log store (Loki API)
//   GET  /api/logs/labels, /api/logs/label/:name/values             passed to the log store
//   GET  /api/logs/tail?query=              SSE: `event: log` LogLine (the server tails the store over WebSocket)
//
// Errors: HTTP status >= 400 with ApiError. Everything else (GET /, /zookeeper, /topics/x, ...) serves
// the page, which routes on the URL (history API).

/** Headers every write (POST/PUT/PATCH/DELETE) must carry. */
export const writeHeaders = {
  /** A custom header: browsers cannot send it cross-site without a CORS preflight we never grant. */
  csrf: 'x-clustergenie-csrf',
  /** `Bearer <token>`; required when the dashboard listens on a non-loopback address. */
  authorization: 'authorization',
} as const;

/** Values, znode data and log lines longer than this are cut in JSON answers (`truncated: true`). */
export const valueBytesMax = 64 * 1024;

export interface ApiError {
  error: string;
  /** A machine-readable code: 'BADVERSION', 'NONODE', 'NODEEXISTS', 'NOTEMPTY', 'FORBIDDEN', 'BAD_REQUEST', 'UNAVAILABLE', ... */
  code: string;
}

export interface DashboardInfo {
  version: string;
  /** Writes need a token (listening on a non-loopback address). */
  tokenRequired: boolean;
  zookeeper: string;
  bootstrapServers: string;
  jobsUrl?: string;
  logsUrl?: string;
  /** Refresh rounds run since start, and ZooKeeper / Kafka Admin requests they sent (the per-tab cost check). */
  rounds?: number;
  zkRequests?: number;
  adminRequests?: number;
  /** Open SSE streams (view, watches, tails). */
  streams?: number;
}

// --- The fanned-out view -------------------------------------------------------------------

export interface DashboardView {
  atMs: number;
  /** Milliseconds the last refresh round took. */
  refreshMs: number;
  zookeeper: ZooKeeperView;
  kafka: KafkaView;
  groups: GroupSummary[];
  jobs: JobsView;
  alerts: AlertsView;
  /** Workers registered in ZooKeeper (`/clustergenie/workers/<id>`), sorted by id (bounded by `workersMax`). */
  workers: WorkersView;
  /** `worker.scaled` records read from `cluster-events` since the dashboard started, newest first (bounded by `scalingEventsMax`). */
  scaling: ScalingEventView[];
  /** Why `cluster-events` could not be read (absent while it reads, or while no jobs system created it yet). */
  scalingError?: string;
  /** Short history for the charts, oldest first, one point per refresh round (bounded). */
  series: SeriesPoint[];
}

export interface ZkMemberView {
  /** host:port */
  member: string;
  up: boolean;
  error?: string;
  /** leader | follower | observer | standalone | read-only | (absent when down) */
  mode?: string;
  zxid?: string;
  avgLatencyMs?: number;
  maxLatencyMs?: number;
  connections?: number;
  outstandingRequests?: number;
  znodeCount?: number;
  syncedFollowers?: number;
}

export interface ZooKeeperView {
  members: ZkMemberView[];
  /** A quorum of members is serving. */
  healthy: boolean;
  error?: string;
}

export interface BrokerView {
  id: number;
  host: string;
  port: number;
  /** Registered in /brokers/ids. */
  up: boolean;
  controller: boolean;
  /** Partitions this broker leads / holds a replica of. */
  leaders: number;
  replicas: number;
  /** Partitions led by it whose ISR is smaller than the replica list. */
  underReplicated: number;
}

export interface TopicSummary {
  name: string;
  partitions: number;
  replicationFactor: number;
  underReplicated: number;
  /** Partitions without a live leader. */
  offline: number;
  /** Sum of (end - start) over partitions, when offsets were read. */
  messages?: number;
  internal: boolean;
}

export interface KafkaView {
  brokers: BrokerView[];
  controller: number | null;
  topics: TopicSummary[];
  underReplicatedPartitions: number;
  offlinePartitions: number;
  healthy: boolean;
  error?: string;
}

export interface GroupSummary {
  id: string;
  state: string;
  members: number;
  /** Summed over the group's partitions with committed offsets. */
  lag: number;
  topics: string[];
}

export interface JobsView {
  /** Job Service reachable. */
  up: boolean;
  error?: string;
  /** GET /api/stats of the Job Service, as it answers. */
  stats?: Record<string, unknown>;
  /** Jobs per state (queued, processing, completed, failed, dead, delayed, ...). */
  byState?: Record<string, number>;
  /** Completed jobs per second over the last refresh interval. */
  completedPerSec?: number;
}

export interface AlertView {
  fingerprint: string;
  status: 'firing' | 'resolved';
  /** alertname, severity and the rest of the alert's labels. */
  labels: Record<string, string>;
  summary: string;
  startsAt: string;
  endsAt?: string;
}

export interface AlertsView {
  firing: AlertView[];
  /** Newest first, bounded. */
  history: AlertView[];
  /** Why `monitoring.alerts` could not be read (absent while it reads, or while no monitor created it yet). */
  error?: string;
}

/** Workers listed in the view at most (the rest are counted in `WorkersView.omitted`). */
export const workersMax = 1000;
/** Scaling events kept in the view. */
export const scalingEventsMax = 200;

export interface WorkerView {
  id: string;
  host: string;
  pid: number;
  /** Job slots: the current pool size. */
  capacity: number;
  running: number;
  queued: number;
  /** ISO times. */
  startedAt: string;
  updatedAt: string;
}

export interface WorkersView {
  list: WorkerView[];
  /** Registered workers beyond `workersMax`, not listed. */
  omitted?: number;
  /** Why the registrations could not be read (ZooKeeper down...). */
  error?: string;
}

export interface ScalingEventView {
  worker: string;
  /** ISO time the worker changed its pool size. */
  at: string;
  from: number;
  to: number;
  reason: string;
  /** Queued plus unread records that drove the decision. */
  backlog?: number;
  /** "processes": `up` changed the number of worker processes (worker is the scaler); absent: a pool's concurrency. */
  scope?: 'processes';
}

export interface SeriesPoint {
  atMs: number;
  /** Records per second into all topics (from log end offsets). */
  messagesInPerSec?: number;
  /** Total lag over all groups. */
  lagTotal?: number;
  /** Average ZooKeeper request latency over members (ms). */
  zkAvgLatencyMs?: number;
  jobsCompletedPerSec?: number;
}

// --- ZooKeeper -----------------------------------------------------------------------------

export interface ZnodeStat {
  czxid: string;
  mzxid: string;
  pzxid: string;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: string;
  dataLength: number;
  numChildren: number;
}

export interface ZnodeAcl {
  perms: number;
  scheme: string;
  id: string;
}

export interface ZnodeChildren {
  path: string;
  children: string[];
  stat: ZnodeStat;
}

export interface Znode {
  path: string;
  /** UTF-8 text when the bytes are valid UTF-8, else base64. */
  encoding: 'utf8' | 'base64';
  data: string;
  /** Whole size in bytes; `data` holds at most `valueBytesMax` of them. */
  dataBytes: number;
  truncated: boolean;
  /** Parsed data when it is JSON (for pretty printing). */
  json?: unknown;
  stat: ZnodeStat;
  acl: ZnodeAcl[];
}

export interface ZnodeCreate {
  path: string;
  data: string;
  encoding?: 'utf8' | 'base64';
  mode?: 'persistent' | 'persistent_sequential';
}

export interface ZnodeSet {
  path: string;
  data: string;
  encoding?: 'utf8' | 'base64';
  /** Expected version; -1 for any. */
  version: number;
}

export interface ZnodeChange {
  path: string;
  type: 'data' | 'children' | 'deleted' | 'created';
  node?: ZnodeChildren;
}

export interface ZnodeTree {
  path: string;
  /** base64 of the data. */
  data: string;
  children: ZnodeTree[];
}

export interface ZnodeImport {
  /** Where the tree's root goes (its own path is replaced by this one). */
  path: string;
  tree: ZnodeTree;
  /** Overwrite data of nodes that exist (else they are skipped). */
  overwrite?: boolean;
}

// --- Kafka ---------------------------------------------------------------------------------

export interface PartitionDetail {
  partition: number;
  leader: number;
  leaderEpoch?: number;
  replicas: number[];
  isr: number[];
  logStartOffset?: number;
  logEndOffset?: number;
  highWatermark?: number;
}

export interface TopicDetail {
  name: string;
  partitions: PartitionDetail[];
  /** Effective configs, overrides marked. */
  configs: { name: string; value: string | null; isDefault: boolean; readOnly: boolean; sensitive: boolean }[];
  /** Groups with committed offsets on this topic. */
  groups: string[];
}

export interface TopicCreate {
  name: string;
  partitions: number;
  replicationFactor: number;
  configs?: Record<string, string>;
}

export interface Message {
  partition: number;
  offset: string;
  timestamp: number;
  /** UTF-8 text, or base64 when not valid UTF-8; null for a null key/value. Cut at valueBytesMax. */
  key: string | null;
  value: string | null;
  keyEncoding: 'utf8' | 'base64';
  valueEncoding: 'utf8' | 'base64';
  valueBytes: number;
  truncated: boolean;
  headers: { key: string; value: string }[];
}

export interface MessagePage {
  topic: string;
  messages: Message[];
  /** Records scanned for a search (bounded by searchScanMax). */
  scanned: number;
  /** Per partition, where a "next page" read continues. */
  next: Record<string, string>;
}

export const searchScanMax = 100_000;

export interface ProduceRequest {
  key?: string | null;
  value: string | null;
  partition?: number;
  headers?: { key: string; value: string }[];
}

export interface GroupOffset {
  topic: string;
  partition: number;
  committed: number;
  logEndOffset?: number;
  lag?: number;
}

export interface GroupDetail {
  id: string;
  state: string;
  protocolType: string;
  protocol: string;
  members: { memberId: string; clientId: string; host: string; assignments: { topic: string; partitions: number[] }[] }[];
  offsets: GroupOffset[];
}

export interface OffsetReset {
  topic: string;
  /** Partitions to reset; all of the topic's when absent. */
  partitions?: number[];
  to: 'earliest' | 'latest' | { offset: number } | { timestamp: number };
}

// --- Logs ----------------------------------------------------------------------------------

export interface LogLine {
  /** Nanoseconds since the epoch, as a decimal string (Loki's form). */
  ts: string;
  labels: Record<string, string>;
  line: string;
  truncated: boolean;
}
