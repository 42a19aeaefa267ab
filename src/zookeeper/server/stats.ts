// Counters behind `stat`, `srvr`, `cons`, `mntr` and their reset commands.

export class LatencyStats {
  min = Number.MAX_SAFE_INTEGER;
  max = 0;
  total = 0;
  count = 0;

  record(ms: number): void {
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
    this.total += ms;
    this.count++;
  }

  get minOrZero(): number {
    return this.count === 0 ? 0 : this.min;
  }

  get avg(): number {
    return this.count === 0 ? 0 : this.total / this.count;
  }

  reset(): void {
    this.min = Number.MAX_SAFE_INTEGER;
    this.max = 0;
    this.total = 0;
    this.count = 0;
  }
}

/** ZooKeeper's BufferStats: last/min/max of a size, -1 until the first sample. */
export class BufferStats {
  last = -1;
  min = -1;
  max = -1;

  record(size: number): void {
    this.last = size;
    if (this.min === -1 || size < this.min) this.min = size;
    if (size > this.max) this.max = size;
  }

  reset(): void {
    this.last = -1;
    this.min = -1;
    this.max = -1;
  }
}

export class ServerStats {
  packetsReceived = 0;
  packetsSent = 0;
  readonly latency = new LatencyStats();
  /** Sizes of reply frames (header + body), as ServerStats.clientResponseStats. */
  readonly clientResponse = new BufferStats();

  recordLatency(ms: number): void {
    this.latency.record(ms);
  }

  reset(): void {
    this.packetsReceived = 0;
    this.packetsSent = 0;
    this.latency.reset();
    this.clientResponse.reset();
  }
}

export class ConnStats {
  packetsReceived = 0;
  packetsSent = 0;
  lastOp = 'NA';
  lastCxid = -1;
  lastZxid = -1;
  lastResponseMs = 0;
  lastLatencyMs = 0;
  establishedMs = 0;
  /** When the connection was accepted (ServerCnxn.established; `est=` in cons). Not reset. */
  readonly createdMs = Date.now();
  readonly latency = new LatencyStats();

  record(op: string, latencyMs: number, zxid: number, nowMs: number): void {
    this.packetsSent++;
    this.lastOp = op;
    this.lastLatencyMs = latencyMs;
    this.lastZxid = zxid;
    this.lastResponseMs = nowMs;
    this.latency.record(latencyMs);
  }

  reset(): void {
    this.packetsReceived = 0;
    this.packetsSent = 0;
    this.lastOp = 'NA';
    this.lastCxid = -1;
    this.lastZxid = -1;
    this.lastResponseMs = 0;
    this.lastLatencyMs = 0;
    this.latency.reset();
  }
}
