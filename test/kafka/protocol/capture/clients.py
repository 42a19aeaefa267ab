# Drives one Python Kafka client through the APIs it can send, for the golden-bytes capture
# (test/kafka/protocol/captureKafkaRequests.ts). Usage: clients.py confluent|kafka-python BOOTSTRAP TOPIC
# Every step that fails is reported on stderr but does not stop the others: the point is to send
# each request kind at least once, not to test the broker (the interop suites do that).
import sys
import time
import traceback

kind, bootstrap, topic = sys.argv[1], sys.argv[2], sys.argv[3]
group = topic + "-group"


def step(name, fn):
    try:
        fn()
    except Exception:
        sys.stderr.write("step %s failed:\n%s" % (name, traceback.format_exc()))


def confluent():
    import confluent_kafka as ck
    from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

    sys.stderr.write("librdkafka %s\n" % (ck.libversion()[0],))
    admin = AdminClient({"bootstrap.servers": bootstrap})
    step("create", lambda: admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30))
    res = ConfigResource("topic", topic)
    step("describe-configs", lambda: list(admin.describe_configs([res]).values())[0].result(30))
    alter = ConfigResource("topic", topic, set_config={"retention.ms": "3600000"})
    step("alter-configs", lambda: list(admin.alter_configs([alter]).values())[0].result(30))
    step("partitions", lambda: admin.create_partitions([NewPartitions(topic, 2)])[topic].result(30))

    def produce():
        p = ck.Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "compression.type": "gzip"})
        for i in range(5):
            p.produce(topic, key=b"k%d" % i, value=b"v%d" % i, partition=i % 2)
        if p.flush(30) != 0:
            raise RuntimeError("produce did not finish")

    step("produce", produce)

    def consume():
        c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
        c.subscribe([topic])
        got = 0
        deadline = time.time() + 30
        while got < 5 and time.time() < deadline:
            m = c.poll(1.0)
            if m is not None and m.error() is None:
                got += 1
        c.commit(asynchronous=False)
        c.committed([ck.TopicPartition(topic, 0)], 10)
        c.get_watermark_offsets(ck.TopicPartition(topic, 0), 10)
        c.offsets_for_times([ck.TopicPartition(topic, 0, 0)], 10)
        c.close()
        if got < 5:
            raise RuntimeError("consumed %d of 5" % got)

    step("consume", consume)
    if hasattr(admin, "list_groups"):
        step("list-groups", lambda: admin.list_groups(timeout=10))
    if hasattr(admin, "list_consumer_groups"):
        step("list-consumer-groups", lambda: admin.list_consumer_groups().result(30))
    if hasattr(admin, "describe_consumer_groups"):
        step("describe-groups", lambda: list(admin.describe_consumer_groups([group]).values())[0].result(30))
    if hasattr(admin, "list_consumer_group_offsets"):
        from confluent_kafka import ConsumerGroupTopicPartitions
        step("group-offsets",
             lambda: list(admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)]).values())[0].result(30))
    if hasattr(admin, "describe_cluster"):
        step("describe-cluster", lambda: admin.describe_cluster().result(30))
    if hasattr(admin, "describe_topics"):
        from confluent_kafka import TopicCollection
        step("describe-topics", lambda: list(admin.describe_topics(TopicCollection([topic])).values())[0].result(30))
    if hasattr(admin, "incremental_alter_configs"):
        from confluent_kafka.admin import AlterConfigOpType, ConfigEntry
        inc = ConfigResource("topic", topic, incremental_configs=[
            ConfigEntry("retention.ms", "7200000", incremental_operation=AlterConfigOpType.SET)])
        step("incremental-alter", lambda: list(admin.incremental_alter_configs([inc]).values())[0].result(30))
    if hasattr(admin, "delete_records"):
        step("delete-records", lambda: list(admin.delete_records([ck.TopicPartition(topic, 0, 1)]).values())[0].result(30))
    if hasattr(admin, "list_offsets"):
        from confluent_kafka.admin import OffsetSpec
        step("list-offsets", lambda: list(admin.list_offsets({ck.TopicPartition(topic, 0): OffsetSpec.latest()}).values())[0].result(30))
    if hasattr(admin, "delete_consumer_groups"):
        step("delete-groups", lambda: list(admin.delete_consumer_groups([group]).values())[0].result(30))
    step("delete-topic", lambda: admin.delete_topics([topic])[topic].result(30))


def kafka_python():
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    step("create", lambda: admin.create_topics([NewTopic(topic, 1, 1)]))
    step("describe-configs", lambda: admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)]))
    step("alter-configs", lambda: admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.ms": "3600000"})]))
    step("partitions", lambda: admin.create_partitions({topic: NewPartitions(2)}))

    def produce():
        p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", compression_type="gzip")
        for i in range(5):
            p.send(topic, key=b"k%d" % i, value=b"v%d" % i, partition=i % 2)
        p.flush(30)
        p.close()

    step("produce", produce)

    def consume():
        c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                          enable_auto_commit=False, consumer_timeout_ms=10000)
        got = 0
        for _ in c:
            got += 1
            if got >= 5:
                break
        c.commit()
        from kafka import TopicPartition
        c.end_offsets([TopicPartition(topic, 0)])
        c.offsets_for_times({TopicPartition(topic, 0): 0})
        c.close()
        if got < 5:
            raise RuntimeError("consumed %d of 5" % got)

    step("consume", consume)
    step("list-groups", lambda: admin.list_consumer_groups())
    step("describe-groups", lambda: admin.describe_consumer_groups([group]))
    step("group-offsets", lambda: admin.list_consumer_group_offsets(group))
    step("delete-groups", lambda: admin.delete_consumer_groups([group]))
    step("delete-topic", lambda: admin.delete_topics([topic]))
    admin.close()


confluent() if kind == "confluent" else kafka_python()
