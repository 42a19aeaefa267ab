// DescribeLogDirs (key 35): each log dir with the size and lag of every partition in it (UIs
// such as kafka-ui and AKHQ need it). Total/usable bytes (v4) come from statfs.

import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Msg } from '../../protocol/schema.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';

export function describeLogDirsHandler(b: Broker): Handler {
  return (req: Msg) => {
    const wanted = req.topics as Msg[] | null;
    const want = (topic: string, partition: number): boolean =>
      wanted === null || wanted.some((t) => t.topic === topic && (t.partitions as number[]).includes(partition));
    const byDir = new Map<string, Map<string, Msg[]>>();
    for (const d of b.config.logDirs) byDir.set(d, new Map());
    for (const p of b.replicas.partitions.values()) {
      if (!want(p.topic, p.partition)) continue;
      const dir = dirname(p.log.dir);
      const topics = byDir.get(dir) ?? new Map<string, Msg[]>();
      byDir.set(dir, topics);
      const list = topics.get(p.topic) ?? [];
      topics.set(p.topic, list);
      list.push({ partitionIndex: p.partition, partitionSize: p.log.size, offsetLag: 0, isFutureKey: false });
    }
    const results: Msg[] = [];
    for (const [logDir, topics] of byDir) {
      let totalBytes = -1;
      let usableBytes = -1;
      try {
        const s = statfsSync(logDir);
        totalBytes = s.blocks * s.bsize;
        usableBytes = s.bavail * s.bsize;
      } catch {
        // an unreadable dir reports unknown sizes
      }
      results.push({
        errorCode: 0,
        logDir,
        topics: [...topics].map(([name, partitions]) => ({ name, partitions })),
        totalBytes,
        usableBytes,
      });
    }
    return { throttleTimeMs: 0, errorCode: 0, results };
  };
}
