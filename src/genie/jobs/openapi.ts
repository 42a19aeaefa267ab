// The Job Service HTTP API as one OpenAPI 3.1 document: served at /openapi.json, copied into
// docs/API.md (a test keeps the two equal), and the source of the route schemas http.ts gives
// fastify for query strings and path parameters, so the documented limits are the enforced ones.
// Request bodies are checked in http.ts and by specFromSubmission (events.ts) instead, for their
// field-by-field messages; their schemas here describe the same rules. A fuzzer
// (test/interop/jobsApiSchemathesis.test.ts) holds the two to each other.

import { JOB_EVENT_TYPES, JOB_LIMITS, JOB_PRIORITIES, JOB_STATES } from './events.js';
import { SCHEDULE_LIMITS } from '../scheduler/cron.js';
import { STORE_LIMITS } from './store.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const nullable = (type: string) => ({ type: [type, 'null'] });
const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.:@-]*$';
const STATE_ALTERNATIVES = `(${JOB_STATES.join('|')})`;

/** A cancel reason's length limit, in characters. */
export const cancelReasonCharsMax = 1000;
/** Job ids one redrive request may name, and jobs one redrive may re-queue. */
export const redriveJobsMax = 1000;

/** Path parameter `id` (fastify `params` schema). */
export const idParamsSchema = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: JOB_LIMITS.idLengthMax } },
  required: ['id'],
} as const;

/**
 * Filters of GET /api/jobs and GET /api/dlq (fastify `querystring` schema). An empty value is
 * refused like any other invalid one (leave the parameter out instead), so the schema says
 * exactly what the service takes.
 */
export const listQuerySchema = {
  type: 'object',
  properties: {
    state: {
      type: 'string',
      pattern: `^${STATE_ALTERNATIVES}(,${STATE_ALTERNATIVES})*$`,
      description: `Comma-separated states among ${JOB_STATES.join(', ')}.`,
    },
    type: { type: 'string', minLength: 1, maxLength: JOB_LIMITS.typeLengthMax },
    since: { type: 'string', format: 'date-time', description: 'RFC 3339 time; jobs created at or after it.' },
    until: { type: 'string', format: 'date-time', description: 'RFC 3339 time; jobs created before it.' },
    q: {
      type: 'string',
      minLength: 1,
      maxLength: 1000,
      description: 'Full-text search over id, type, payload, last error and result (each word a prefix; all must match).',
    },
    orderingKey: { type: 'string', minLength: 1, maxLength: JOB_LIMITS.orderingKeyLengthMax },
    limit: { type: 'integer', minimum: 1, maximum: STORE_LIMITS.listLimitMax, default: STORE_LIMITS.listLimitDefault },
    cursor: {
      type: 'string',
      pattern: '^[0-9]{1,15}\\.',
      maxLength: 1000,
      description:
        'The nextCursor of the previous page: `<createdAt in ms>.<job id>` of its last job; the page holds the jobs listed after it.',
    },
  },
} as const;

function queryParameters() {
  return Object.entries(listQuerySchema.properties).map(([name, schema]) => {
    const { description, ...rest } = schema as { description?: string };
    return { name, in: 'query', required: false, schema: rest, ...(description ? { description } : {}) };
  });
}

const idParameter = { name: 'id', in: 'path', required: true, schema: idParamsSchema.properties.id };

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: ref('Error') } } });
const jsonResponse = (description: string, schema: object) => ({ description, content: { 'application/json': { schema } } });
const jsonBody = (schema: object, required: boolean) => ({ required, content: { 'application/json': { schema } } });

/** The answers every operation that reads a JSON body may give before its handler runs. */
const bodyErrors = (invalid: string) => ({
  '400': errorResponse(`${invalid}, or a body that is not JSON`),
  '413': errorResponse('Body larger than the operation accepts'),
  '415': errorResponse('Body is not application/json'),
});
const scheduleNameParameter = {
  name: 'name',
  in: 'path',
  required: true,
  schema: { type: 'string', minLength: 1, maxLength: SCHEDULE_LIMITS.nameLengthMax, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$' },
};
const invalidId = { '400': errorResponse(`id longer than ${JOB_LIMITS.idLengthMax} characters`) };
const traceparentParameter = {
  name: 'traceparent',
  in: 'header',
  required: false,
  schema: { type: 'string' },
  description: 'W3C trace context, copied to the event headers (ignored unless it is a valid version-00 traceparent).',
};

const backoffSchema = {
  type: 'object',
  properties: {
    type: { enum: ['exponential', 'fixed'] },
    delayMs: { type: 'integer', minimum: 0, maximum: JOB_LIMITS.backoffDelayMsMax },
    delayMsMax: { type: 'integer', minimum: 0, maximum: JOB_LIMITS.backoffDelayMsMax },
  },
  additionalProperties: false,
};

/** One SSE message of GET /api/jobs/{id}/stream (schemathesis and OpenAPI 3.1 read a text/event-stream schema per event). */
const streamEventSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', pattern: '^[0-9]+-[0-9]+$', description: '`<partition>-<offset>`; send it as Last-Event-ID to resume.' },
    event: { enum: [...JOB_EVENT_TYPES] },
    data: { type: 'string', contentMediaType: 'application/json', contentSchema: ref('HistoryEvent') },
  },
  required: ['id', 'event', 'data'],
};

export const jobsOpenApi = {
  openapi: '3.1.0',
  info: {
    title: 'ClusterGenie Job Service',
    version: '1.0.0',
    description:
      'Submit, inspect, cancel, retry and redrive jobs that ClusterGenie workers run from the cluster-events Kafka topic. ' +
      'Errors are {"error": {"code", "message", "field"?}}. A method a path does not list answers 405 with an Allow header.',
  },
  servers: [{ url: 'http://127.0.0.1:8081' }],
  paths: {
    '/api/jobs': {
      post: {
        operationId: 'submitJob',
        summary: 'Submit a job',
        description:
          'Answers once Kafka acknowledged the job.requested event. A client-supplied id (body `id` or the Idempotency-Key header; ' +
          'both given, they must be equal) makes the submission idempotent: a repeat, to any instance, answers 200 with the ' +
          'existing job and publishes nothing.',
        parameters: [
          {
            name: 'Idempotency-Key',
            in: 'header',
            required: false,
            schema: { type: 'string', pattern: NAME_PATTERN, maxLength: JOB_LIMITS.idLengthMax },
            description: 'The job id, as the body `id` would give it.',
          },
          traceparentParameter,
        ],
        requestBody: jsonBody(ref('JobSubmission'), true),
        responses: {
          '202': jsonResponse('Accepted and published', ref('SubmitResult')),
          '200': jsonResponse('A job with this id was submitted before', ref('SubmitResult')),
          ...bodyErrors('Invalid submission (`field` names the first bad field)'),
          '503': errorResponse('Kafka or ZooKeeper unavailable; nothing was published'),
        },
      },
      get: {
        operationId: 'listJobs',
        summary: 'List jobs, newest first',
        parameters: queryParameters(),
        responses: { '200': jsonResponse('A page of jobs', ref('JobList')), '400': errorResponse('Invalid filter') },
      },
    },
    '/api/jobs/batch': {
      post: {
        operationId: 'submitJobs',
        summary: 'Submit many jobs in one request',
        description:
          'All or nothing: every item is checked first, and one invalid item answers 400 naming it (`field` is ' +
          '`jobs.<index>.<field>`) with nothing published. Valid batches are published together; a repeated id, within ' +
          'the batch or of an earlier job, is answered as a duplicate. An item answers an error only when ZooKeeper ' +
          'did not answer for its client id (that item was not published; the others were).',
        parameters: [traceparentParameter],
        requestBody: jsonBody(
          {
            type: 'object',
            properties: { jobs: { type: 'array', items: ref('JobSubmission'), minItems: 1, maxItems: JOB_LIMITS.batchJobsMax } },
            required: ['jobs'],
            additionalProperties: false,
          },
          true,
        ),
        responses: {
          '202': jsonResponse('Per-item outcomes, in request order', {
            type: 'object',
            properties: { jobs: { type: 'array', items: { oneOf: [ref('SubmitResult'), ref('Error')] } } },
            required: ['jobs'],
          }),
          ...bodyErrors('Not a batch, or an invalid item; nothing was published'),
          '503': errorResponse('Kafka unavailable; nothing was published'),
        },
      },
    },
    '/api/jobs/{id}': {
      get: {
        operationId: 'getJob',
        summary: 'A job as the service last saw it',
        parameters: [idParameter],
        responses: { '200': jsonResponse('The job', ref('Job')), ...invalidId, '404': errorResponse('Unknown job') },
      },
    },
    '/api/jobs/{id}/events': {
      get: {
        operationId: 'jobEvents',
        summary: "The job's event history, oldest first",
        parameters: [idParameter],
        responses: {
          '200': jsonResponse('History', {
            type: 'object',
            properties: { events: { type: 'array', items: ref('HistoryEvent') } },
            required: ['events'],
          }),
          ...invalidId,
          '404': errorResponse('Unknown job'),
        },
      },
    },
    '/api/jobs/{id}/stream': {
      get: {
        operationId: 'streamJob',
        summary: 'Server-sent events: the history, then live events; ends after a terminal state',
        description:
          'Each SSE message has `id: <partition>-<offset>`, `event: <event type>` and `data: <HistoryEvent JSON>`. ' +
          'A Last-Event-ID header resumes after that event. Comment lines keep idle connections open.',
        parameters: [
          idParameter,
          {
            name: 'Last-Event-ID',
            in: 'header',
            required: false,
            schema: { type: 'string' },
            description: 'Resume after this event (`<partition>-<offset>`); any other value is ignored.',
          },
        ],
        responses: {
          '200': { description: 'An event stream', content: { 'text/event-stream': { schema: streamEventSchema } } },
          ...invalidId,
          '404': errorResponse('Unknown job'),
          '503': errorResponse('Too many open streams'),
        },
      },
    },
    '/api/jobs/{id}/cancel': {
      post: {
        operationId: 'cancelJob',
        summary: 'Ask the owning worker to cancel the job',
        parameters: [idParameter],
        requestBody: jsonBody(
          {
            type: 'object',
            properties: { reason: { type: 'string', maxLength: cancelReasonCharsMax } },
            additionalProperties: false,
          },
          false,
        ),
        responses: {
          '202': jsonResponse('job.cancel-requested published', ref('CancelResult')),
          ...bodyErrors('Invalid id or body'),
          '404': errorResponse('Unknown job'),
          '409': errorResponse('The job already finished'),
          '503': errorResponse('Kafka unavailable; nothing was published'),
        },
      },
    },
    '/api/jobs/{id}/retry': {
      post: {
        operationId: 'retryJob',
        summary: 'Run a dead or cancelled job again (a new run with the full attempt budget)',
        parameters: [idParameter],
        responses: {
          '202': jsonResponse('job.queued published', ref('RetryResult')),
          ...invalidId,
          '404': errorResponse('Unknown job'),
          '409': errorResponse('The job is not dead or cancelled'),
          '503': errorResponse('Kafka unavailable; nothing was published'),
        },
      },
    },
    '/api/dlq': {
      get: {
        operationId: 'listDeadJobs',
        summary: 'Dead jobs (the dead-letter queue), newest first',
        parameters: queryParameters().filter((p) => p.name !== 'state'),
        responses: { '200': jsonResponse('A page of dead jobs', ref('JobList')), '400': errorResponse('Invalid filter') },
      },
    },
    '/api/dlq/redrive': {
      post: {
        operationId: 'redrive',
        summary: 'Re-queue dead jobs: the given ids (dead or cancelled), else the newest dead jobs of a type, up to limit',
        description: 'No body is the same as `{}`: the newest dead jobs of any type, up to 100.',
        requestBody: jsonBody(ref('RedriveRequest'), false),
        responses: {
          '202': jsonResponse('Re-queued', ref('RedriveResult')),
          ...bodyErrors('Invalid request'),
          '503': errorResponse('Kafka unavailable; nothing was published'),
        },
      },
    },
    '/api/schedules': {
      get: {
        operationId: 'listSchedules',
        summary: 'Every cron schedule, by name',
        responses: {
          '200': jsonResponse('Schedules', {
            type: 'object',
            properties: { schedules: { type: 'array', items: ref('Schedule') } },
            required: ['schedules'],
          }),
          '503': errorResponse('No ZooKeeper: the service was started without --zookeeper'),
        },
      },
    },
    '/api/schedules/{name}': {
      get: {
        operationId: 'getSchedule',
        summary: 'One cron schedule and when it last fired',
        parameters: [scheduleNameParameter],
        responses: {
          '200': jsonResponse('The schedule', ref('Schedule')),
          '400': errorResponse('Invalid schedule name'),
          '404': errorResponse('No such schedule'),
          '503': errorResponse('No ZooKeeper: the service was started without --zookeeper'),
        },
      },
      put: {
        operationId: 'putSchedule',
        summary: 'Create or replace a cron schedule; the elected scheduler requests its job once per tick',
        description:
          "A tick's job id is `<name>@<tick time>`, so a tick is requested once however schedulers come and go. " +
          'Replacing a schedule keeps when it last fired and does not fire ticks before the change.',
        parameters: [scheduleNameParameter],
        requestBody: jsonBody(ref('SchedulePut'), true),
        responses: {
          '200': jsonResponse('Stored', ref('Schedule')),
          ...bodyErrors('Invalid schedule (name, cron pattern, time zone or job)'),
          '409': errorResponse(`Already ${SCHEDULE_LIMITS.schedulesMax} schedules`),
          '503': errorResponse('No ZooKeeper: the service was started without --zookeeper'),
        },
      },
      delete: {
        operationId: 'deleteSchedule',
        summary: 'Remove a cron schedule',
        parameters: [scheduleNameParameter],
        responses: {
          '204': { description: 'Removed' },
          '400': errorResponse('Invalid schedule name'),
          '404': errorResponse('No such schedule'),
          '503': errorResponse('No ZooKeeper: the service was started without --zookeeper'),
        },
      },
    },
    '/api/stats': {
      get: { operationId: 'stats', summary: 'Job counts by state and type', responses: { '200': jsonResponse('Counts', ref('Stats')) } },
    },
    '/healthz': {
      get: {
        operationId: 'health',
        summary: 'Liveness and catch-up state',
        responses: { '200': jsonResponse('Serving', ref('Health')), '503': jsonResponse('Not serving', ref('Health')) },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'openapi',
        summary: 'This document',
        responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        summary: 'Prometheus metrics (text exposition format 0.0.4; docs/JOBS.md "Metrics")',
        responses: {
          '200': { description: 'The metrics', content: { 'text/plain': { schema: { type: 'string' } } } },
        },
      },
    },
  },
  components: {
    schemas: {
      SchedulePut: {
        type: 'object',
        properties: {
          cron: {
            type: 'string',
            minLength: 1,
            maxLength: SCHEDULE_LIMITS.cronLengthMax,
            description: 'croner pattern: `m h dom mon dow` or `s m h dom mon dow`.',
          },
          timezone: { type: 'string', minLength: 1, description: 'IANA time zone the pattern is read in; default UTC.' },
          job: {
            type: 'object',
            description: "The job each tick submits: a JobSubmission without id (the tick's) or runAt.",
            properties: {
              type: { type: 'string', pattern: NAME_PATTERN, maxLength: JOB_LIMITS.typeLengthMax },
              payload: {},
              priority: { enum: [...JOB_PRIORITIES] },
              attempts: { type: 'integer', minimum: 1, maximum: JOB_LIMITS.attemptsMaxMax },
              backoff: backoffSchema,
              timeoutMs: { type: 'integer', minimum: 1, maximum: JOB_LIMITS.timeoutMsMax },
              delayMs: { type: 'integer', minimum: 0, maximum: JOB_LIMITS.delayMsMax },
              orderingKey: { type: 'string', minLength: 1, maxLength: JOB_LIMITS.orderingKeyLengthMax },
            },
            required: ['type'],
            additionalProperties: false,
          },
        },
        required: ['cron', 'job'],
        additionalProperties: false,
      },
      Schedule: {
        type: 'object',
        properties: {
          spec: {
            type: 'object',
            properties: { name: { type: 'string' }, cron: { type: 'string' }, timezone: { type: 'string' }, job: { type: 'object' } },
            required: ['name', 'cron', 'job'],
          },
          createdAt: { type: 'string', format: 'date-time' },
          updatedAt: { type: 'string', format: 'date-time' },
          lastFiredAt: { type: 'string', format: 'date-time', description: 'The last tick claimed.' },
          lastPublishedAt: { type: 'string', format: 'date-time', description: 'The last tick whose job Kafka acknowledged.' },
        },
        required: ['spec', 'createdAt', 'updatedAt'],
      },
      JobSubmission: {
        type: 'object',
        properties: {
          type: { type: 'string', pattern: NAME_PATTERN, maxLength: JOB_LIMITS.typeLengthMax, description: 'Handler name.' },
          payload: { description: `Any JSON; at most ${JOB_LIMITS.payloadBytesMax} bytes serialized.` },
          id: {
            type: 'string',
            pattern: NAME_PATTERN,
            maxLength: JOB_LIMITS.idLengthMax,
            description: 'Client id: makes the submission idempotent.',
          },
          priority: { enum: [...JOB_PRIORITIES], default: 'normal' },
          attempts: { type: 'integer', minimum: 1, maximum: JOB_LIMITS.attemptsMaxMax, default: 3 },
          backoff: backoffSchema,
          timeoutMs: { type: 'integer', minimum: 1, maximum: JOB_LIMITS.timeoutMsMax },
          delayMs: { type: 'integer', minimum: 0, maximum: JOB_LIMITS.delayMsMax, description: 'Not with runAt.' },
          runAt: {
            type: 'string',
            format: 'date-time',
            description: `RFC 3339 time, at most ${JOB_LIMITS.delayMsMax / 86_400_000} days ahead (a past time runs now). Not with delayMs.`,
          },
          orderingKey: {
            type: 'string',
            minLength: 1,
            maxLength: JOB_LIMITS.orderingKeyLengthMax,
            description: 'Jobs with one key run one at a time, in order.',
          },
        },
        required: ['type'],
        additionalProperties: false,
        not: { required: ['delayMs', 'runAt'] },
      },
      SubmitResult: {
        type: 'object',
        properties: { id: { type: 'string' }, state: { enum: [...JOB_STATES] }, duplicate: { type: 'boolean' } },
        required: ['id', 'state', 'duplicate'],
      },
      Job: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          type: { type: 'string' },
          state: { enum: [...JOB_STATES] },
          priority: { enum: [...JOB_PRIORITIES] },
          payload: {},
          orderingKey: nullable('string'),
          schedule: { ...nullable('string'), description: 'Cron schedule that created the job.' },
          backoff: backoffSchema,
          timeoutMs: { type: 'integer' },
          attempt: { type: 'integer', description: 'Attempt running or next to run.' },
          attemptLimit: { type: 'integer', description: 'Last attempt of the current run.' },
          attemptsMax: { type: 'integer' },
          createdAt: { type: 'string', format: 'date-time' },
          updatedAt: { type: 'string', format: 'date-time' },
          queuedAt: nullable('string'),
          startedAt: nullable('string'),
          finishedAt: nullable('string'),
          runAt: { ...nullable('string'), description: 'When the job or its next attempt is due.' },
          progress: {
            oneOf: [
              { type: 'null' },
              { type: 'object', properties: { percent: { type: 'number', minimum: 0, maximum: 100 }, message: nullable('string') } },
            ],
          },
          result: {},
          durationMs: nullable('integer'),
          lastError: {
            oneOf: [
              { type: 'null' },
              {
                type: 'object',
                properties: {
                  name: { type: 'string' },
                  message: { type: 'string' },
                  stack: { type: 'string' },
                  reason: { type: 'string' },
                },
              },
            ],
          },
          worker: nullable('string'),
          cancelRequested: { type: 'boolean' },
          cancelReason: nullable('string'),
          partition: { type: 'integer', description: 'Partition of cluster-events (-1 until the service read its first event back).' },
          lastOffset: { type: 'integer' },
        },
        required: ['id', 'type', 'state', 'attempt', 'createdAt', 'updatedAt'],
      },
      JobList: {
        type: 'object',
        properties: { jobs: { type: 'array', items: ref('Job') }, nextCursor: nullable('string') },
        required: ['jobs', 'nextCursor'],
      },
      JobEvent: {
        type: 'object',
        description: 'The envelope of every event on cluster-events; the fields per type are in docs/JOBS.md.',
        properties: {
          v: { const: 1 },
          type: { enum: [...JOB_EVENT_TYPES] },
          jobId: { type: 'string' },
          at: { type: 'string', format: 'date-time' },
          producer: { type: 'string' },
        },
        required: ['v', 'type', 'jobId', 'at', 'producer'],
        additionalProperties: true,
      },
      HistoryEvent: {
        type: 'object',
        properties: {
          partition: { type: 'integer' },
          offset: { type: 'integer' },
          type: { enum: [...JOB_EVENT_TYPES] },
          at: { type: 'string', format: 'date-time' },
          attempt: nullable('integer'),
          event: ref('JobEvent'),
        },
        required: ['partition', 'offset', 'type', 'at', 'event'],
      },
      CancelResult: {
        type: 'object',
        properties: { id: { type: 'string' }, state: { enum: [...JOB_STATES] }, cancelRequested: { const: true } },
      },
      RetryResult: {
        type: 'object',
        properties: { id: { type: 'string' }, state: { const: 'queued' }, attempt: { type: 'integer' } },
      },
      RedriveRequest: {
        type: 'object',
        properties: {
          ids: { type: 'array', items: { type: 'string' }, maxItems: redriveJobsMax },
          type: { type: 'string' },
          limit: { type: 'integer', minimum: 1, maximum: redriveJobsMax, default: 100 },
        },
        additionalProperties: false,
      },
      RedriveResult: {
        type: 'object',
        properties: {
          redriven: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, attempt: { type: 'integer' } } } },
          skipped: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, reason: { type: 'string' } } } },
        },
      },
      Stats: {
        type: 'object',
        properties: {
          total: { type: 'integer' },
          byState: { type: 'object', additionalProperties: { type: 'integer' } },
          byType: { type: 'object', additionalProperties: { type: 'integer' } },
          malformedRecords: { type: 'integer', description: 'Records on cluster-events that were not valid job events.' },
        },
      },
      Health: {
        type: 'object',
        properties: {
          ok: { type: 'boolean' },
          instance: { type: 'string' },
          caughtUp: { type: 'boolean', description: 'Every partition was read to its end at least once since start.' },
          zookeeper: { type: 'string' },
          snapshotWriter: { type: 'boolean', description: 'This instance writes the view snapshots (one instance at a time).' },
          offsets: { type: 'object', additionalProperties: { type: 'string' }, description: 'Next offset read per partition.' },
        },
      },
      Error: {
        type: 'object',
        properties: {
          error: {
            type: 'object',
            properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } },
            required: ['code', 'message'],
          },
        },
        required: ['error'],
      },
    },
  },
} as const;
