import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { JobValidationError } from '../../../src/genie/jobs/events.js';
import {
  nextTick,
  parseScheduleRecord,
  type ScheduleRecord,
  scheduleBaseMs,
  tickJobId,
  tickJobSpec,
  ticksDue,
  unpublishedTick,
  validateSchedule,
} from '../../../src/genie/scheduler/cron.js';

const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const everySecond = { name: 'beat', cron: '* * * * * *', job: { type: 'echo', payload: { hi: 1 } } };
const hourly = { name: 'hourly', cron: '0 * * * *', job: { type: 'echo' } };

describe('cron', () => {
  test('validateSchedule accepts a schedule and copies its job', () => {
    const spec = validateSchedule({ ...everySecond, timezone: 'Europe/Stockholm' });
    assert.deepEqual(spec, { ...everySecond, timezone: 'Europe/Stockholm' });
    assert.notEqual(spec.job, everySecond.job);
  });

  test('validateSchedule names the bad field', () => {
    const field = (body: unknown): string => {
      try {
        validateSchedule(body);
      } catch (e) {
        assert.ok(e instanceof JobValidationError);
        return e.field;
      }
      assert.fail('accepted');
    };
    assert.equal(field(null), 'body');
    assert.equal(field({ ...everySecond, name: 'a/b' }), 'name');
    assert.equal(field({ ...everySecond, name: 'x'.repeat(129) }), 'name');
    assert.equal(field({ ...everySecond, cron: 'every day' }), 'cron');
    assert.equal(field({ ...everySecond, timezone: 'Mars/Olympus' }), 'timezone');
    assert.equal(field({ ...everySecond, job: 'echo' }), 'job');
    assert.equal(field({ ...everySecond, job: { type: 'echo', id: 'x' } }), 'job.id');
    assert.equal(field({ ...everySecond, job: { type: 'echo', runAt: '2030-01-01T00:00:00Z' } }), 'job.runAt');
    assert.equal(field({ ...everySecond, job: { type: 'echo', attempts: 0 } }), 'job.attempts');
    assert.equal(field({ ...everySecond, extra: 1 }), 'extra');
  });

  test('nextTick is strictly after the given time, in the schedule time zone', () => {
    assert.equal(nextTick(everySecond, T0), T0 + 1000);
    assert.equal(nextTick(everySecond, T0 + 400), T0 + 1000);
    assert.equal(nextTick(hourly, T0), T0 + 3600_000);
    // Midnight in Stockholm (UTC+1 in March before DST) is 23:00 UTC the day before.
    const midnight = { cron: '0 0 * * *', timezone: 'Europe/Stockholm' };
    assert.equal(new Date(nextTick(midnight, T0)!).toISOString(), '2025-03-01T23:00:00.000Z');
    assert.equal(nextTick({ cron: '0 0 30 2 *' }, T0), null, 'February 30th never comes');
  });

  test('ticksDue: nothing before the next tick; exactly the tick when it is due', () => {
    assert.deepEqual(ticksDue(hourly, T0, T0 + 3599_999), []);
    assert.deepEqual(ticksDue(hourly, T0, T0 + 3600_000), [T0 + 3600_000]);
    assert.deepEqual(ticksDue(everySecond, T0, T0 + 1500), [T0 + 1000]);
  });

  test('ticksDue misfire policy: after an outage only the latest missed tick fires, once', () => {
    assert.deepEqual(ticksDue(hourly, T0, T0 + 5.5 * 3600_000), [T0 + 5 * 3600_000]);
    // A year of per-second ticks missed: still one tick, found quickly.
    const started = performance.now();
    const year = 365 * 24 * 3600_000;
    assert.deepEqual(ticksDue(everySecond, T0, T0 + year + 250), [T0 + year]);
    assert.ok(performance.now() - started < 1000, 'binary search, not a scan');
    // Having fired the latest tick, nothing more is due.
    assert.deepEqual(ticksDue(hourly, T0 + 5 * 3600_000, T0 + 5.5 * 3600_000), []);
  });

  test('tick job ids and specs', () => {
    assert.equal(tickJobId('beat', T0), 'beat@2025-03-01T10:00:00.000Z');
    const spec = tickJobSpec(validateSchedule({ ...everySecond, job: { type: 'echo', payload: { n: 1 }, priority: 'high' } }), T0, T0 + 5);
    assert.equal(spec.id, 'beat@2025-03-01T10:00:00.000Z');
    assert.equal(spec.schedule, 'beat');
    assert.equal(spec.priority, 'high');
    assert.deepEqual(spec.payload, { n: 1 });
    assert.equal(spec.createdAt, new Date(T0 + 5).toISOString());
  });

  test('schedule records: base time, unpublished tick, parsing', () => {
    const r: ScheduleRecord = {
      spec: validateSchedule(everySecond),
      createdAt: new Date(T0).toISOString(),
      updatedAt: new Date(T0 + 10_000).toISOString(),
    };
    assert.equal(scheduleBaseMs(r), T0 + 10_000, 'ticks before the last edit are not missed');
    assert.equal(unpublishedTick(r), undefined);
    const fired = { ...r, lastFiredAt: new Date(T0 + 20_000).toISOString() };
    assert.equal(scheduleBaseMs(fired), T0 + 20_000);
    assert.equal(unpublishedTick(fired), T0 + 20_000);
    assert.equal(unpublishedTick({ ...fired, lastPublishedAt: fired.lastFiredAt }), undefined);
    assert.deepEqual(parseScheduleRecord(Buffer.from(JSON.stringify(fired))), fired);
    assert.throws(() => parseScheduleRecord(Buffer.from('nope')), JobValidationError);
    assert.throws(() => parseScheduleRecord(Buffer.from(JSON.stringify({ ...fired, createdAt: 'x' }))), /createdAt/);
  });
});
