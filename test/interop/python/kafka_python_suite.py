"""kafka-python scenarios against a broker, driven by test/interop/python.test.ts.

Usage: kafka_python_suite.py <scenario> <bootstrap> <name> [codec]
Each scenario prints one JSON object on stdout and exits 0, or raises (traceback on stderr).
kafka-python picks its protocol versions by probing the broker's ApiVersions answer, so these
runs also prove the advertised ranges make it recognise a modern broker. It has no idempotent
producer before 2.1 (Debian ships 2.0.2), so acks=all without idempotence is what it can do.
"""

import json
import queue
import select
import sys
import threading
import time

import kafka
from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewPartitions, NewTopic
from kafka.errors import TopicAlreadyExistsError

DEADLINE_S = 45.0
CONFIG_SOURCES = {1: 'DYNAMIC_TOPIC_CONFIG', 2: 'DYNAMIC_BROKER_CONFIG', 3: 'DYNAMIC_DEFAULT_BROKER_CONFIG', 4: 'STATIC_BROKER_CONFIG', 5: 'DEFAULT_CONFIG'}


def until(cond, what, deadline_s=DEADLINE_S):
    end = time.monotonic() + deadline_s
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            raise TimeoutError('timed out waiting for ' + what)
        time.sleep(0.05)


def admin_client(bootstrap):
    return KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)


def create_topic(admin, name, partitions, configs=None):
    admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1, topic_configs=configs or {})])
    until(lambda: name in admin.list_topics(), 'topic %s in metadata' % name)


def scenario_produce(bootstrap, topic, codec):
    """acks=all producer with keys, headers and a codec; read back by manual assignment."""
    admin = admin_client(bootstrap)
    create_topic(admin, topic, 3)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks='all', compression_type=None if codec == 'none' else codec, linger_ms=5)
    futures = []
    count = 300
    for i in range(count):
        futures.append(
            producer.send(
                topic,
                key=('key-%d' % (i % 10)).encode(),
                value=('value-%s-%d-%s' % (codec, i, 'x' * (i % 40))).encode(),
                headers=[('seq', str(i).encode()), ('codec', codec.encode())],
            )
        )
    producer.flush(DEADLINE_S)
    delivered = []
    for i, f in enumerate(futures):
        md = f.get(timeout=DEADLINE_S)
        delivered.append({'partition': md.partition, 'offset': md.offset, 'key': 'key-%d' % (i % 10)})
    producer.close()

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    parts = [TopicPartition(topic, p) for p in range(3)]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    records = []
    end = time.monotonic() + DEADLINE_S
    while len(records) < count and time.monotonic() < end:
        for batch in consumer.poll(timeout_ms=200).values():
            for m in batch:
                records.append(
                    {
                        'partition': m.partition,
                        'offset': m.offset,
                        'key': m.key.decode() if m.key is not None else None,
                        'value': m.value.decode(),
                        'headers': [[k, v.decode() if v is not None else None] for k, v in m.headers],
                    }
                )
    consumer.close()
    print(json.dumps({'delivered': delivered, 'errors': [], 'records': records}))


class Member:
    """A group member polling in its own thread.

    kafka-python joins a group synchronously inside poll(): a second member's JoinGroup blocks
    until the first rejoins, so two members polled from one thread would wait on each other
    for the whole rebalance timeout. Each member therefore owns a thread, and the scenario
    talks to it through run(), which executes a call on that thread (the consumer is not
    thread-safe).
    """

    def __init__(self, bootstrap, group, topic, name):
        self.name = name
        self.seen = []
        self.assigned = set()
        self.rebalances = 0
        self.error = None
        self._calls = queue.Queue()
        self._stop = False
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=group,
            client_id=name,
            auto_offset_reset='earliest',
            enable_auto_commit=False,
            session_timeout_ms=6000,
            heartbeat_interval_ms=300,
        )
        member = self

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                # Commit what was read before giving partitions away, so the next owner resumes there.
                if member.seen:
                    member.consumer.commit()
                member.assigned = set()

            def on_partitions_assigned(self, assigned):
                member.rebalances += 1
                member.assigned = {tp.partition for tp in assigned}

        self.consumer.subscribe([topic], listener=Listener())
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def _loop(self):
        try:
            while not self._stop:
                for batch in self.consumer.poll(timeout_ms=50).values():
                    self.seen.extend(m.value.decode() for m in batch)
                while not self._calls.empty():
                    fn, box = self._calls.get()
                    try:
                        box.put((True, fn()))
                    except Exception as e:  # noqa: BLE001 - handed back to the caller
                        box.put((False, e))
        except Exception as e:  # noqa: BLE001 - reported by check()
            self.error = e

    def check(self):
        if self.error is not None:
            raise RuntimeError('%s failed' % self.name) from self.error
        return True

    def run(self, fn):
        box = queue.Queue()
        self._calls.put((fn, box))
        ok, v = box.get(timeout=DEADLINE_S)
        if not ok:
            raise v
        return v

    def close(self):
        self.run(lambda: None)
        self._stop = True
        self._thread.join(DEADLINE_S)
        self.consumer.close()


def produce_values(bootstrap, topic, values):
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks='all')
    for i, v in enumerate(values):
        producer.send(topic, key=('k%d' % i).encode(), value=v.encode())
    producer.flush(DEADLINE_S)
    producer.close()


def group_admin_view(admin, group):
    listed = [g[0] for g in admin.list_consumer_groups()]
    d = admin.describe_consumer_groups([group])[0]
    return {
        'listed': group in listed,
        'state': d.state.upper(),
        'members': [{'client_id': m.client_id} for m in d.members],
        'protocol': d.protocol,
    }


def scenario_group(bootstrap, topic, _codec):
    """Two members share a topic through a rebalance, commit, and a third resumes from the commits."""
    group = topic + '-group'
    admin = admin_client(bootstrap)
    create_topic(admin, topic, 4)
    first = ['first-%d' % i for i in range(200)]
    produce_values(bootstrap, topic, first)

    a = Member(bootstrap, group, topic, 'member-a')

    def a_alone_reading():
        return a.check() and a.assigned == {0, 1, 2, 3} and len(a.seen) >= 20

    until(a_alone_reading, 'member-a to own all partitions and read')
    alone = sorted(a.assigned)
    a.run(a.consumer.commit)

    b = Member(bootstrap, group, topic, 'member-b')

    def both_assigned():
        a.check() and b.check()
        sa, sb = a.assigned, b.assigned
        return sa and sb and not (sa & sb) and (sa | sb) == {0, 1, 2, 3}

    until(both_assigned, 'the group to rebalance across two members')
    split = [sorted(a.assigned), sorted(b.assigned)]
    # Records produced after the split reach both members, each from its own partitions.
    mid = ['mid-%d' % i for i in range(100)]
    produce_values(bootstrap, topic, mid)

    def stable_view():
        v = group_admin_view(admin, group)
        return v if v['state'] == 'STABLE' and len(v['members']) == 2 else None

    view = until(stable_view, 'the group to be listed Stable with two members')

    def all_read():
        return a.check() and b.check() and set(a.seen) | set(b.seen) >= set(first) | set(mid)

    until(all_read, 'the two members to read every record')
    a.run(a.consumer.commit)
    b.run(b.consumer.commit)
    a.close()
    b.close()

    second = ['second-%d' % i for i in range(40)]
    produce_values(bootstrap, topic, second)
    c = Member(bootstrap, group, topic, 'member-c')

    def c_caught_up():
        return c.check() and len(c.seen) >= len(second)

    until(c_caught_up, 'member-c to read the new records')
    committed = c.run(lambda: sum(c.consumer.committed(TopicPartition(topic, p)) or 0 for p in range(4)))
    offsets = admin.list_consumer_group_offsets(group)
    c.close()
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
                'committedAtResume': committed,
                'adminOffsets': sum(o.offset for o in offsets.values()),
                'rebalancesA': a.rebalances,
            }
        )
    )


def scenario_admin(bootstrap, prefix, _codec):
    """Create (with configs), create again (error), describe, describe configs, add partitions, delete."""
    admin = admin_client(bootstrap)
    ta, tb = prefix + '-a', prefix + '-b'
    admin.create_topics(
        [
            NewTopic(ta, num_partitions=3, replication_factor=1, topic_configs={'retention.ms': '123456', 'cleanup.policy': 'compact'}),
            NewTopic(tb, num_partitions=1, replication_factor=1),
        ]
    )
    created = {ta: None, tb: None}
    try:
        admin.create_topics([NewTopic(tb, num_partitions=1, replication_factor=1)])
        again = {tb: None}
    except TopicAlreadyExistsError as e:
        again = {tb: type(e).__name__}
    until(lambda: {ta, tb} <= set(admin.list_topics()), 'both topics in metadata')
    described = {t['topic']: {'partitions': len(t['partitions']), 'error': t['error_code']} for t in admin.describe_topics([ta, tb])}

    resp = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, ta)])[0]
    # DescribeConfigs v1+ puts the config source where v0 had is_default (Kafka's ConfigSource ids).
    entries = {e[0]: {'value': e[1], 'source': CONFIG_SOURCES.get(e[3], e[3])} for e in resp.resources[0][4]}
    pick = {k: v for k, v in entries.items() if k in ('retention.ms', 'cleanup.policy', 'segment.bytes')}
    cluster = admin.describe_cluster()
    bresp = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, str(cluster['brokers'][0]['node_id']))])[0]
    broker_entries = {e[0]: e[1] for e in bresp.resources[0][4]}

    admin.create_partitions({tb: NewPartitions(2)})
    until(lambda: len(admin.describe_topics([tb])[0]['partitions']) == 2, 'the new partition in metadata')

    admin.delete_topics([ta, tb], timeout_ms=30000)
    until(lambda: not ({ta, tb} & set(admin.list_topics())), 'the deleted topics to leave metadata')
    admin.close()
    print(
        json.dumps(
            {
                'created': created,
                'again': again,
                'partitions': {t: v['partitions'] for t, v in described.items()},
                'described': described,
                'topicConfigs': pick,
                'brokerConfigCount': len(broker_entries),
                'brokerNumPartitions': broker_entries.get('num.partitions'),
                'clusterId': cluster.get('cluster_id'),
            }
        )
    )


def produce_to_partitions(bootstrap, topic, prefix, per_partition, partitions=3):
    """acks=all writes naming each record's partition, one in flight (no idempotence before 2.1)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks='all', retries=5, max_in_flight_requests_per_connection=1)
    futures = []
    for i in range(per_partition):
        for p in range(partitions):
            v = '%s-%d-%d' % (prefix, p, i)
            futures.append((v, producer.send(topic, value=v.encode(), partition=p)))
    producer.flush(DEADLINE_S)
    delivered = []
    for v, f in futures:
        md = f.get(timeout=DEADLINE_S)
        delivered.append({'id': v, 'partition': md.partition, 'offset': md.offset})
    producer.close()
    return delivered


def scenario_failover(bootstrap, topic, _codec):
    """A committing member reads round a, prints a 'ready' line and keeps polling until a line arrives
    on stdin (the test stops the group's coordinator meanwhile); then round b is written and read,
    and the final commit goes to the new coordinator."""
    first = produce_to_partitions(bootstrap, topic, 'a', 20)
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=topic + '-group',
        auto_offset_reset='earliest',
        enable_auto_commit=True,
        auto_commit_interval_ms=100,
        session_timeout_ms=6000,
        heartbeat_interval_ms=300,
    )
    consumer.subscribe([topic])
    read = []

    def poll():
        for batch in consumer.poll(timeout_ms=50).values():
            read.extend({'id': m.value.decode(), 'partition': m.partition, 'offset': m.offset} for m in batch)
        return False

    def has_read(batch):
        ids = {r['id'] for r in read}
        return all(d['id'] in ids for d in batch)

    until(lambda: poll() or has_read(first), 'round a to be read')
    consumer.commit()
    print(json.dumps({'phase': 'ready', 'delivered': first}), flush=True)
    while not select.select([sys.stdin], [], [], 0)[0]:
        poll()
    sys.stdin.readline()
    second = produce_to_partitions(bootstrap, topic, 'b', 20)
    until(lambda: poll() or has_read(second), 'round b to be read after the coordinator moved')
    # commit() retries retriable errors itself (finding the new coordinator on NOT_COORDINATOR).
    consumer.commit()
    consumer.close()
    print(json.dumps({'phase': 'done', 'delivered': second, 'read': read, 'commitErrors': []}))


SCENARIOS = {'produce': scenario_produce, 'group': scenario_group, 'admin': scenario_admin, 'failover': scenario_failover}

if __name__ == '__main__':
    scenario, bootstrap, name = sys.argv[1], sys.argv[2], sys.argv[3]
    codec = sys.argv[4] if len(sys.argv) > 4 else 'none'
    sys.stderr.write('kafka-python %s\n' % kafka.__version__)
    SCENARIOS[scenario](bootstrap, name, codec)
