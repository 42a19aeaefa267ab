// Schedule CRUD in ZooKeeper (docs/JOBS.md "Coordination in ZooKeeper"): one persistent znode
// per cron schedule under /clustergenie/schedules, which the elected scheduler watches. The Job
// Service exposes these over HTTP.

import type { ZooKeeperClient } from '../../zookeeper/client/client.js';
import { isZooKeeperError } from '../../zookeeper/client/errors.js';
import { mkdirp, retryOnConnectionLoss } from '../../zookeeper/client/recipes.js';
import { Err } from '../../zookeeper/protocol/constants.js';
import { JOB_ZK_PATHS } from '../jobs/events.js';
import { parseScheduleRecord, SCHEDULE_LIMITS, type ScheduleRecord, validateSchedule } from './cron.js';

export const schedulePath = (name: string): string => `${JOB_ZK_PATHS.schedules}/${name}`;

/** Create or replace a schedule (keeping when it last fired). Returns the stored record. */
export async function putSchedule(zk: ZooKeeperClient, body: unknown, nowMs = Date.now()): Promise<ScheduleRecord> {
  const spec = validateSchedule(body);
  const path = schedulePath(spec.name);
  const now = new Date(nowMs).toISOString();
  await mkdirp(zk, JOB_ZK_PATHS.schedules);
  for (;;) {
    let existing: { data: Buffer | null; version: number } | undefined;
    try {
      const r = await retryOnConnectionLoss(zk, () => zk.getData(path));
      existing = { data: r.data, version: r.stat.version };
    } catch (e) {
      if (!isZooKeeperError(e, Err.NONODE)) throw e;
    }
    if (existing === undefined) {
      const stat = await retryOnConnectionLoss(zk, () => zk.exists(JOB_ZK_PATHS.schedules));
      if (stat !== null && stat.numChildren >= SCHEDULE_LIMITS.schedulesMax) {
        throw new RangeError(`there are already ${SCHEDULE_LIMITS.schedulesMax} schedules`);
      }
      const record: ScheduleRecord = { spec, createdAt: now, updatedAt: now };
      try {
        await retryOnConnectionLoss(zk, () => zk.create(path, JSON.stringify(record)));
        return record;
      } catch (e) {
        if (!isZooKeeperError(e, Err.NODEEXISTS)) throw e;
        continue; // created meanwhile (or our lost reply): update it instead
      }
    }
    let previous: ScheduleRecord | undefined;
    try {
      previous = parseScheduleRecord(existing.data);
    } catch {
      previous = undefined; // unreadable: replaced whole
    }
    const record: ScheduleRecord = { ...previous, spec, createdAt: previous?.createdAt ?? now, updatedAt: now };
    try {
      await zk.setData(path, JSON.stringify(record), existing.version);
      return record;
    } catch (e) {
      if (!isZooKeeperError(e, Err.BADVERSION) && !isZooKeeperError(e, Err.CONNECTIONLOSS)) throw e;
    }
  }
}

/** Delete a schedule; false if there was none. */
export async function deleteSchedule(zk: ZooKeeperClient, name: string): Promise<boolean> {
  if (name.includes('/') || name === '' || name === '.' || name === '..') return false;
  try {
    await retryOnConnectionLoss(zk, () => zk.delete(schedulePath(name)));
    return true;
  } catch (e) {
    if (isZooKeeperError(e, Err.NONODE)) return false;
    throw e;
  }
}

/** Every readable schedule, by name. */
export async function listSchedules(zk: ZooKeeperClient): Promise<ScheduleRecord[]> {
  let names: string[];
  try {
    names = await retryOnConnectionLoss(zk, () => zk.getChildren(JOB_ZK_PATHS.schedules));
  } catch (e) {
    if (isZooKeeperError(e, Err.NONODE)) return [];
    throw e;
  }
  const out: ScheduleRecord[] = [];
  for (const name of names.sort()) {
    try {
      out.push(parseScheduleRecord((await retryOnConnectionLoss(zk, () => zk.getData(schedulePath(name)))).data));
    } catch (e) {
      if (isZooKeeperError(e) && !isZooKeeperError(e, Err.NONODE)) throw e;
    }
  }
  return out;
}
