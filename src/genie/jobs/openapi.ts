// The Job Service HTTP API as one OpenAPI 3.1 document: served at /openapi.json, copied into
// docs/API.md (a test keeps the two equal), and the source of the route schemas http.ts gives
// fastify for query strings and path parameters, so the documented limits are the enforced ones.
// Request bodies are checked by specFromSubmission (events.ts) instead, for its field-by-field
// messages; their schemas here describe the same rules.

import { JOB_EVENT_TYPES, JOB_LIMITS, JOB_PRIORITIES, JOB_STATES } from './events.js';
import { STORE_LIMITS } from './store.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const nullable = (type: string) => ({ type: [type, 'null'] });
const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.:@-]*$';

/** Path parameter `id` (fastify `params` schema). */
export const idParamsSchema = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: JOB_LIMITS.idLengthMax } },
  required: ['id'],
} as const;

/** Filters of GET /api/jobs and GET /api/dlq (fastify `querystring` schema). */
export const listQuerySchema = {
  type: 'object',
  properties: {
    state: { type: 'string', description: `Comma-separated states among ${JOB_STATES.join(', ')}.` },
    type: { type: 'string', maxLength: JOB_LIMITS.typeLengthMax },
    since: { type: 'string', description: 'ISO 8601 time; jobs created at or after it.' },
    until: { type: 'string', description: 'ISO 8601 time; jobs created before it.' },
    q: {
      type: 'string',
      maxLength: 1000,
      description: 'Full-text search over id, type, payload, last error and result (each word a prefix; all must match).',
    },
    orderingKey: { type: 'string', maxLength: JOB_LIMITS.orderingKeyLengthMax },
    limit: { type: 'integer', minimum: 1, maximum: STORE_LIMITS.listLimitMax, default: STORE_LIMITS.listLimitDefault },
    cursor: { type: 'string', maxLength: 1000, description: 'nextCursor of the previous page.' },
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

const backoffSchema = {
  type: 'object',
  properties: {
    type: { enum: ['exponential', 'fixed'] },
    delayMs: { type: 'integer', minimum: 0, maximum: JOB_LIMITS.backoffDelayMsMax },
    delayMsMax: { type: 'integer', minimum: 0, maximum: JOB_LIMITS.backoffDelayMsMax },
  },
  additionalProperties: false,
};

export const jobsOpenApi = {
  openapi: '3.1.0',
  info: {
    title: 'ClusterGenie Job Service',
    version: '1.0.0',
    description:
      'Submit, inspect, cancel, retry and redrive jobs that ClusterGenie workers run from the cluster-events Kafka topic. ' +
      'Errors are {"error": {"code", "message", "field"?}}.',
  },
  servers: [{ url: 'http://127.0.0.1:8081' }],
  paths: {
    '/api/jobs': {
      post: {
        operationId: 'submitJob',
        summary: 'Submit a job',
        description:
          'Answers once Kafka acknowledged the job.requested event. A client-supplied id (body `id` or the Idempotency-Key header) makes the ' +
          'submission idempotent: a repeat, to any instance, answers 200 with the existing job and publishes nothing.',
        parameters: [
          {
            name: 'Idempotency-Key',
            in: 'header',
            required: false,
            schema: { type: 'string', pattern: NAME_PATTERN, maxLength: JOB_LIMITS.idLengthMax },
          },
          {
            name: 'traceparent',
            in: 'header',
            required: false,
            schema: { type: 'string' },
            description: 'W3C trace context, copied to the event headers.',
          },
        ],
        requestBody: { required: true, content: { 'application/json': { schema: ref('JobSubmission') } } },
        responses: {
          '202': jsonResponse('Accepted and published', ref('SubmitResult')),
          '200': jsonResponse('A job with this id was submitted before', ref('SubmitResult')),
          '400': errorResponse('Invalid submission or malformed JSON'),
          '413': errorResponse('Body larger than the payload limit allows'),
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
        description: 'Valid items are published together; each item is answered on its own (an invalid one does not stop the others).',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: { jobs: { type: 'array', items: ref('JobSubmission'), minItems: 1, maxItems: JOB_LIMITS.batchJobsMax } },
                required: ['jobs'],
                additionalProperties: false,
              },
            },
          },
        },
        responses: {
          '202': jsonResponse('Per-item outcomes, in request order', {
            type: 'object',
            properties: { jobs: { type: 'array', items: { oneOf: [ref('SubmitResult'), ref('Error')] } } },
          }),
          '400': errorResponse('Not a batch'),
          '413': errorResponse('Body too large'),
          '503': errorResponse('Kafka or ZooKeeper unavailable; nothing was published'),
        },
      },
    },
    '/api/jobs/{id}': {
      get: {
        operationId: 'getJob',
        summary: 'A job as the service last saw it',
        parameters: [idParameter],
        responses: { '200': jsonResponse('The job', ref('Job')), '404': errorResponse('Unknown job') },
      },
    },
    '/api/jobs/{id}/events': {
      get: {
        operationId: 'jobEvents',
        summary: "The job's event history, oldest first",
        parameters: [idParameter],
        responses: {
          '200': jsonResponse('History', { type: 'object', properties: { events: { type: 'array', items: ref('HistoryEvent') } } }),
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
        parameters: [idParameter],
        responses: {
          '200': { description: 'An event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
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
        requestBody: {
          required: false,
          content: { 'application/json': { schema: { type: 'object', properties: { reason: { type: 'string', maxLength: 1000 } } } } },
        },
        responses: {
          '202': jsonResponse('job.cancel-requested published', ref('CancelResult')),
          '404': errorResponse('Unknown job'),
          '409': errorResponse('The job already finished'),
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
          '404': errorResponse('Unknown job'),
          '409': errorResponse('The job is not dead or cancelled'),
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
        requestBody: { required: true, content: { 'application/json': { schema: ref('RedriveRequest') } } },
        responses: { '202': jsonResponse('Re-queued', ref('RedriveResult')), '400': errorResponse('Invalid request') },
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
    '/openapi.json': { get: { operationId: 'openapi', summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
  },
  components: {
    schemas: {
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
          runAt: { type: 'string', format: 'date-time', description: 'Not with delayMs.' },
          orderingKey: {
            type: 'string',
            minLength: 1,
            maxLength: JOB_LIMITS.orderingKeyLengthMax,
            description: 'Jobs with one key run one at a time, in order.',
          },
        },
        required: ['type'],
        additionalProperties: false,
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
          ids: { type: 'array', items: { type: 'string' }, maxItems: 1000 },
          type: { type: 'string' },
          limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
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
