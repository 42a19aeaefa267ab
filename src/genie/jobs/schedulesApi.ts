// Cron schedules over HTTP: the Job Service's face for the ZooKeeper schedule znodes the elected
// scheduler watches (scheduler/schedules.ts). PUT creates or replaces one (keeping when it last
// fired), GET lists or reads, DELETE removes. Without ZooKeeper there is nowhere to keep them: 503.

import type { FastifyInstance } from 'fastify';
import type { ZooKeeperClient } from '../../zookeeper/client/client.js';
import { SCHEDULE_LIMITS } from '../scheduler/cron.js';
import { deleteSchedule, listSchedules, putSchedule } from '../scheduler/schedules.js';
import { JobValidationError } from './events.js';
import { ServiceError } from './service.js';

/** Path parameter `name` (fastify `params` schema; the pattern is the schedule name's rule). */
export const scheduleNameParamsSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: SCHEDULE_LIMITS.nameLengthMax, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$' },
  },
  required: ['name'],
} as const;

type NameParams = { name: string };

function zkOrUnavailable(zk: ZooKeeperClient | undefined): ZooKeeperClient {
  if (!zk) throw new ServiceError(503, 'unavailable', 'schedules live in ZooKeeper: start the Job Service with --zookeeper');
  return zk;
}

export function registerScheduleRoutes(app: FastifyInstance, zookeeper: () => ZooKeeperClient | undefined): void {
  app.get('/api/schedules', async () => ({ schedules: await listSchedules(zkOrUnavailable(zookeeper())) }));

  app.get<{ Params: NameParams }>('/api/schedules/:name', { schema: { params: scheduleNameParamsSchema } }, async (req) => {
    const found = (await listSchedules(zkOrUnavailable(zookeeper()))).find((r) => r.spec.name === req.params.name);
    if (!found) throw new ServiceError(404, 'not_found', `no schedule ${req.params.name}`);
    return found;
  });

  app.put<{ Params: NameParams }>('/api/schedules/:name', { schema: { params: scheduleNameParamsSchema } }, async (req) => {
    const body = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ServiceError(400, 'invalid', 'body: must be {"cron": "...", "job": {"type": "..."}}', 'body');
    }
    const named = body as Record<string, unknown>;
    if (named.name !== undefined) throw new ServiceError(400, 'invalid', 'name: give the name in the path only', 'name');
    try {
      return await putSchedule(zkOrUnavailable(zookeeper()), { ...named, name: req.params.name });
    } catch (e) {
      if (e instanceof JobValidationError) throw new ServiceError(400, 'invalid', e.message, e.field);
      if (e instanceof RangeError) throw new ServiceError(409, 'too_many', e.message);
      throw e;
    }
  });

  app.delete<{ Params: NameParams }>('/api/schedules/:name', { schema: { params: scheduleNameParamsSchema } }, async (req, reply) => {
    if (!(await deleteSchedule(zkOrUnavailable(zookeeper()), req.params.name))) {
      throw new ServiceError(404, 'not_found', `no schedule ${req.params.name}`);
    }
    return reply.code(204).send();
  });
}
