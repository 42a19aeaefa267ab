"""confluent-kafka (librdkafka) scenarios against a broker, driven by test/interop/python.test.ts.

Usage: confluent_suite.py <scenario> <bootstrap> <name> [codec]
Each scenario prints one JSON object on stdout (the facts the test asserts on) and exits 0, or
raises (traceback on stderr, exit 1). The same file runs under Debian's confluent-kafka 1.7
(librdkafka 2.0.2) and the current PyPI release, so newer admin calls are used only when present.
Every wait has a deadline so a broker that never answers fails the run instead of hanging it.
"""

import json
import select
import sys
import time

import confluent_kafka
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewPartitions, NewTopic

DEADLINE_S = 45.0


def common(bootstrap):
    # Short metadata and reconnect intervals keep a slow path visible as a failure, not a stall.
    return {'bootstrap.servers': bootstrap, 'topic.metadata.refresh.interval.ms': 2000, 'reconnect.backoff.max.ms': 1000}


def wait_futures(futures):
    """{key: None or error string} for a dict of admin futures."""
    out = {}
    for key, fut in futures.items():
        try:
            fut.result(timeout=DEADLINE_S)
            out[str(key)] = None
        except Exception as e:  # noqa: BLE001 - the error's name is the fact under test
            err = e.args[0] if e.args and isinstance(e.args[0], KafkaError) else None
            out[str(key)] = err.name() if err is not None else repr(e)
    return out


def until(cond, what, deadline_s=DEADLINE_S):
    end = time.monotonic() + deadline_s
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            raise TimeoutError('timed out waiting for ' + what)
        time.sleep(0.05)


def create_topic(admin, name, partitions, config=None):
    res = wait_futures(admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})]))
    if res[name] is not None:
        raise RuntimeError('create %s: %s' % (name, res[name]))
    until(lambda: name in admin.list_topics(timeout=10).topics, 'topic %s in metadata' % name)


def record_json(m):
    return {
        'partition': m.partition(),
        'offset': m.offset(),
        'key': m.key().decode() if m.key() is not None else None,
        'value': m.value().decode(),
        'headers': [[k, v.decode() if v is not None else None] for k, v in (m.headers() or [])],
    }


def scenario_produce(bootstrap, topic, codec):
    """Idempotent acks=all producer with keys, headers and a codec; read back by assignment."""
    admin = AdminClient(common(bootstrap))
    create_topic(admin, topic, 3)
    producer = Producer(
        dict(
            common(bootstrap),
            **{'acks': 'all', 'enable.idempotence': True, 'compression.type': codec, 'linger.ms': 5, 'batch.num.messages': 50},
        )
    )
    delivered = []
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err.name())
        else:
            delivered.append({'partition': msg.partition(), 'offset': msg.offset(), 'key': msg.key().decode()})

    count = 300
    for i in range(count):
        producer.produce(
            topic,
            key=('key-%d' % (i % 10)).encode(),
            value=('value-%s-%d-%s' % (codec, i, 'x' * (i % 40))).encode(),
            headers=[('seq', str(i).encode()), ('codec', codec.encode())],
            on_delivery=on_delivery,
        )
        producer.poll(0)
    left = producer.flush(DEADLINE_S)
    if left:
        raise RuntimeError('%d messages still queued after flush' % left)

    consumer = Consumer(dict(common(bootstrap), **{'group.id': topic + '-reader', 'enable.auto.commit': False}))
    consumer.assign([TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING) for p in range(3)])
    records = []
    end = time.monotonic() + DEADLINE_S
    while len(records) < len(delivered) and time.monotonic() < end:
        m = consumer.poll(0.2)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                continue
            raise RuntimeError('consume: %s' % m.error().name())
        records.append(record_json(m))
    consumer.close()
    print(json.dumps({'delivered': delivered, 'errors': errors, 'records': records}))


class Member:
    """A group member whose assignment is tracked through the rebalance callbacks."""

    def __init__(self, bootstrap, group, topic, name):
        self.name = name
        self.assigned = set()
        self.rebalances = 0
        self.seen = []
        self.consumer = Consumer(
            dict(
                common(bootstrap),
                **{
                    'group.id': group,
                    'client.id': name,
                    'auto.offset.reset': 'earliest',
                    'enable.auto.commit': False,
                    'session.timeout.ms': 6000,
                    'heartbeat.interval.ms': 300,
                    'partition.assignment.strategy': 'range',
                },
            )
        )
        self.consumer.subscribe([topic], on_assign=self.on_assign, on_revoke=self.on_revoke)

    def on_assign(self, consumer, partitions):
        self.rebalances += 1
        self.assigned = {p.partition for p in partitions}

    def on_revoke(self, consumer, partitions):
        # Commit what was read before giving partitions away, so the next owner resumes there.
        if self.seen:
            try:
                consumer.commit(asynchronous=False)
            except Exception:  # noqa: BLE001 - nothing consumed since the last commit
                pass
        self.assigned = set()

    def poll(self, timeout=0.1):
        m = self.consumer.poll(timeout)
        if m is None or m.error():
            if m is not None and m.error().code() != KafkaError._PARTITION_EOF:
                raise RuntimeError('%s: %s' % (self.name, m.error().name()))
            return None
        self.seen.append(m.value().decode())
        return m


def produce_values(bootstrap, topic, values):
    producer = Producer(dict(common(bootstrap), **{'acks': 'all'}))
    for i, v in enumerate(values):
        producer.produce(topic, key=('k%d' % i).encode(), value=v.encode())
    if producer.flush(DEADLINE_S):
        raise RuntimeError('produce did not finish')


def group_admin_view(admin, group):
    """What the admin API says about a group: state and member count (newest API the client has)."""
    if hasattr(admin, 'describe_consumer_groups'):
        listed = admin.list_consumer_groups().result(timeout=DEADLINE_S)
        ids = [g.group_id for g in listed.valid]
        d = admin.describe_consumer_groups([group])[group].result(timeout=DEADLINE_S)
        members = [{'client_id': m.client_id, 'partitions': sorted(tp.partition for tp in m.assignment.topic_partitions)} for m in d.members]
        return {'listed': group in ids, 'state': d.state.name, 'members': members, 'protocol': d.partition_assignor}
    groups = admin.list_groups(timeout=DEADLINE_S)
    g = next((x for x in groups if x.id == group), None)
    if g is None:
        return {'listed': False}
    return {'listed': True, 'state': g.state.upper(), 'members': [{'client_id': m.client_id} for m in g.members], 'protocol': g.protocol}


def scenario_group(bootstrap, topic, _codec):
    """Two members share a topic through a rebalance, commit, and a third resumes from the commits."""
    group = topic + '-group'
    admin = AdminClient(common(bootstrap))
    create_topic(admin, topic, 4)
    first = ['first-%d' % i for i in range(200)]
    produce_values(bootstrap, topic, first)

    a = Member(bootstrap, group, topic, 'member-a')
    def a_alone_reading():
        a.poll(0.05)
        return a.assigned == {0, 1, 2, 3} and len(a.seen) >= 20

    until(a_alone_reading, 'member-a to own all partitions and read')
    alone = sorted(a.assigned)
    a.consumer.commit(asynchronous=False)

    b = Member(bootstrap, group, topic, 'member-b')

    def both_assigned():
        a.poll(0.05)
        b.poll(0.05)
        return a.assigned and b.assigned and not (a.assigned & b.assigned) and (a.assigned | b.assigned) == {0, 1, 2, 3}

    until(both_assigned, 'the group to rebalance across two members')
    split = [sorted(a.assigned), sorted(b.assigned)]
    # Records produced after the split reach both members, each from its own partitions.
    mid = ['mid-%d' % i for i in range(100)]
    produce_values(bootstrap, topic, mid)
    view = until(lambda: (lambda v: v if v.get('state') == 'STABLE' and len(v.get('members', [])) == 2 else None)(group_admin_view(admin, group)),
                 'the group to be listed Stable with two members')

    def all_read():
        a.poll(0.05)
        b.poll(0.05)
        return set(a.seen) | set(b.seen) >= set(first) | set(mid)

    until(all_read, 'the two members to read every record')
    a.consumer.commit(asynchronous=False)
    b.consumer.commit(asynchronous=False)
    a.consumer.close()
    b.consumer.close()

    # A fresh member resumes from the committed offsets: it sees only what was produced after.
    second = ['second-%d' % i for i in range(40)]
    produce_values(bootstrap, topic, second)
    c = Member(bootstrap, group, topic, 'member-c')
    def c_caught_up():
        c.poll(0.05)
        return len(c.seen) >= len(second)

    until(c_caught_up, 'member-c to read the new records')
    committed = c.consumer.committed([TopicPartition(topic, p) for p in range(4)], timeout=DEADLINE_S)
    c.consumer.close()
    print(
        json.dumps(
            {
                'alone': alone,
                'split': split,
                'view': view,
                'readByA': len(a.seen),
                'readByB': len(b.seen),
                'midByA': len([v for v in a.seen if v.startswith('mid-')]),
                'midByB': len([v for v in b.seen if v.startswith('mid-')]),
                'resumed': c.seen,
                'committedAtResume': sum(tp.offset for tp in committed),
                'rebalancesA': a.rebalances,
            }
        )
    )


def scenario_admin(bootstrap, prefix, _codec):
    """Create (with configs), create again (error), describe, describe configs, add partitions, delete."""
    admin = AdminClient(common(bootstrap))
    ta, tb = prefix + '-a', prefix + '-b'
    created = wait_futures(
        admin.create_topics(
            [
                NewTopic(ta, num_partitions=3, replication_factor=1, config={'retention.ms': '123456', 'cleanup.policy': 'compact'}),
                NewTopic(tb, num_partitions=1, replication_factor=1),
            ]
        )
    )
    again = wait_futures(admin.create_topics([NewTopic(tb, num_partitions=1, replication_factor=1)]))
    md = until(lambda: (lambda m: m if ta in m.topics and tb in m.topics else None)(admin.list_topics(timeout=10)), 'both topics in metadata')
    partitions = {t: len(md.topics[t].partitions) for t in (ta, tb)}
    described = None
    if hasattr(admin, 'describe_topics'):
        from confluent_kafka import TopicCollection

        d = admin.describe_topics(TopicCollection([ta]))[ta].result(timeout=DEADLINE_S)
        described = {'name': d.name, 'partitions': len(d.partitions), 'leader': d.partitions[0].leader.id}

    res = ConfigResource(ConfigResource.Type.TOPIC if hasattr(ConfigResource, 'Type') else 'topic', ta)
    topic_configs = list(admin.describe_configs([res]).values())[0].result(timeout=DEADLINE_S)
    pick = {k: {'value': v.value, 'source': ConfigSource(v.source).name, 'default': v.is_default} for k, v in topic_configs.items() if k in ('retention.ms', 'cleanup.policy', 'segment.bytes')}
    bres = ConfigResource(ConfigResource.Type.BROKER if hasattr(ConfigResource, 'Type') else 'broker', str(md.brokers[min(md.brokers)].id))
    broker_configs = list(admin.describe_configs([bres]).values())[0].result(timeout=DEADLINE_S)

    grown = wait_futures(admin.create_partitions([NewPartitions(tb, 2)]))
    until(lambda: len(admin.list_topics(topic=tb, timeout=10).topics[tb].partitions) == 2, 'the new partition in metadata')

    deleted = wait_futures(admin.delete_topics([ta, tb], operation_timeout=30))
    until(lambda: not ({ta, tb} & set(admin.list_topics(timeout=10).topics)), 'the deleted topics to leave metadata')
    print(
        json.dumps(
            {
                'created': created,
                'again': again,
                'partitions': partitions,
                'described': described,
                'topicConfigs': pick,
                'brokerConfigCount': len(broker_configs),
                'brokerNumPartitions': broker_configs['num.partitions'].value if 'num.partitions' in broker_configs else None,
                'grown': grown,
                'deleted': deleted,
            }
        )
    )


def produce_to_partitions(bootstrap, topic, prefix, per_partition, partitions=3):
    """Idempotent acks=all writes naming each record's partition; every record must be delivered."""
    producer = Producer(dict(common(bootstrap), **{'acks': 'all', 'enable.idempotence': True}))
    delivered, errors = [], []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err.name())
        else:
            delivered.append({'id': msg.value().decode(), 'partition': msg.partition(), 'offset': msg.offset()})

    for i in range(per_partition):
        for p in range(partitions):
            producer.produce(topic, partition=p, value=('%s-%d-%d' % (prefix, p, i)).encode(), on_delivery=on_delivery)
            producer.poll(0)
    if producer.flush(DEADLINE_S) or errors:
        raise RuntimeError('delivery failed: %s' % errors)
    return delivered


def scenario_failover(bootstrap, topic, _codec):
    """A committing member reads round a, prints a 'ready' line and keeps polling until a line arrives
    on stdin (the test stops the group's coordinator meanwhile); then round b is written and read,
    and the final commit goes to the new coordinator."""
    first = produce_to_partitions(bootstrap, topic, 'a', 20)
    consumer = Consumer(
        dict(
            common(bootstrap),
            **{
                'group.id': topic + '-group',
                'auto.offset.reset': 'earliest',
                'enable.auto.commit': True,
                'auto.commit.interval.ms': 100,
                'session.timeout.ms': 6000,
                'heartbeat.interval.ms': 300,
            },
        )
    )
    consumer.subscribe([topic])
    read = []

    def poll():
        m = consumer.poll(0.05)
        if m is not None and m.error() is not None and m.error().code() != KafkaError._PARTITION_EOF:
            raise RuntimeError('consume: %s' % m.error().name())
        if m is not None and m.error() is None:
            read.append({'id': m.value().decode(), 'partition': m.partition(), 'offset': m.offset()})
        return False

    def has_read(batch):
        ids = {r['id'] for r in read}
        return all(d['id'] in ids for d in batch)

    until(lambda: poll() or has_read(first), 'round a to be read')
    consumer.commit(asynchronous=False)
    print(json.dumps({'phase': 'ready', 'delivered': first}), flush=True)
    while not select.select([sys.stdin], [], [], 0)[0]:
        poll()
    sys.stdin.readline()
    second = produce_to_partitions(bootstrap, topic, 'b', 20)
    until(lambda: poll() or has_read(second), 'round b to be read after the coordinator moved')
    commit_errors = []

    def commit():
        try:
            consumer.commit(asynchronous=False)
            return True
        except confluent_kafka.KafkaException as e:
            # A commit racing the coordinator move may fail retriably; the client then finds the new one.
            if not e.args[0].retriable():
                raise
            commit_errors.append(e.args[0].name())
            return False

    until(commit, 'a commit through the new coordinator')
    consumer.close()
    print(json.dumps({'phase': 'done', 'delivered': second, 'read': read, 'commitErrors': commit_errors}))


SCENARIOS = {'produce': scenario_produce, 'group': scenario_group, 'admin': scenario_admin, 'failover': scenario_failover}

if __name__ == '__main__':
    scenario, bootstrap, name = sys.argv[1], sys.argv[2], sys.argv[3]
    codec = sys.argv[4] if len(sys.argv) > 4 else 'none'
    sys.stderr.write('confluent-kafka %s, librdkafka %s\n' % (confluent_kafka.version(), confluent_kafka.libversion()))
    SCENARIOS[scenario](bootstrap, name, codec)
