/*
 * Kafka load generator on librdkafka for bench/kafka-bench.ts (a client nobody here wrote, in C, so
 * the generator is not the bottleneck). Every mode prints one JSON line on stdout with its own CPU
 * time (getrusage), so the harness can report what the load itself cost.
 *
 *   kafkaload mock                         a librdkafka mock cluster (1 broker) as a process: prints
 *                                          "BOOTSTRAP host:port", then reads "topic <name> <partitions>"
 *                                          lines from stdin (answers "OK"), exits on EOF
 *   kafkaload create  <bs> <topic> <partitions>
 *   kafkaload produce <bs> <topic> <recordBytes> <count> <acks>
 *   kafkaload consume <bs> <topic> <partitions> <count>       (assigned partitions, from the start)
 *   kafkaload e2e     <bs> <topic> <partitions> <recordBytes> <ratePerSec> <seconds>
 *
 * Build (bench/lib/kafkaLoad.ts does it): gcc -O2 -o kafkaload kafkaload.c -lpthread -l:librdkafka.so.1
 * with the headers of Debian's librdkafka-dev (`apt-get install librdkafka-dev`).
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static char errstr[512];

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what) {
  fprintf(stderr, "kafkaload: %s\n", what);
  exit(2);
}

static void set(rd_kafka_conf_t *c, const char *k, const char *v) {
  if (rd_kafka_conf_set(c, k, v, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) die(errstr);
}

static rd_kafka_conf_t *base_conf(const char *bs) {
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  if (bs) set(c, "bootstrap.servers", bs);
  set(c, "client.id", "kafkaload");
  return c;
}

static long delivered = 0, failed = 0;
static char first_error[256] = "";

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)opaque;
  if (m->err) {
    if (!failed) snprintf(first_error, sizeof first_error, "%s", rd_kafka_err2name(m->err));
    failed++;
  } else {
    delivered++;
  }
}

static rd_kafka_t *producer(const char *bs, const char *acks, const char *linger) {
  rd_kafka_conf_t *c = base_conf(bs);
  set(c, "acks", acks);
  set(c, "linger.ms", linger);
  set(c, "batch.size", "1000000");
  set(c, "queue.buffering.max.messages", "1000000");
  set(c, "queue.buffering.max.kbytes", "1048576");
  set(c, "enable.idempotence", "false");
  rd_kafka_conf_set_dr_msg_cb(c, dr_cb);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, errstr, sizeof errstr);
  if (!rk) die(errstr);
  return rk;
}

static int mode_mock(void) {
  rd_kafka_conf_t *c = base_conf(NULL);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, errstr, sizeof errstr);
  if (!rk) die(errstr);
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);
  if (!mc) die("cannot create the mock cluster");
  printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);
  char line[512], name[256];
  int parts;
  while (fgets(line, sizeof line, stdin)) {
    if (sscanf(line, "topic %255s %d", name, &parts) == 2) {
      rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, parts, 1);
      printf("%s\n", e ? rd_kafka_err2name(e) : "OK");
      fflush(stdout);
    }
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}

static int mode_create(const char *bs, const char *topic, int parts) {
  rd_kafka_conf_t *c = base_conf(bs);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, errstr, sizeof errstr);
  if (!rk) die(errstr);
  rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, parts, 1, errstr, sizeof errstr);
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
  rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
  if (!ev) die("CreateTopics timed out");
  int rc = 0;
  if (rd_kafka_event_error(ev)) {
    fprintf(stderr, "CreateTopics: %s\n", rd_kafka_event_error_string(ev));
    rc = 1;
  } else {
    size_t n;
    const rd_kafka_topic_result_t **r = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    for (size_t i = 0; i < n; i++) {
      rd_kafka_resp_err_t e = rd_kafka_topic_result_error(r[i]);
      if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        fprintf(stderr, "CreateTopics %s: %s\n", topic, rd_kafka_err2name(e));
        rc = 1;
      }
    }
  }
  printf("{\"created\":%s}\n", rc ? "false" : "true");
  rd_kafka_event_destroy(ev);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
  return rc;
}

static int mode_produce(const char *bs, const char *topic, int size, long count, const char *acks) {
  rd_kafka_t *rk = producer(bs, acks, "5");
  char *payload = malloc(size);
  memset(payload, 'x', size);
  double t0 = now_s();
  for (long i = 0; i < count;) {
    rd_kafka_resp_err_t e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(payload, size), RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk, 1);
      continue;
    }
    if (e) die(rd_kafka_err2name(e));
    i++;
    if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
  }
  while (rd_kafka_outq_len(rk) > 0) rd_kafka_poll(rk, 10);
  double secs = now_s() - t0;
  printf("{\"records\":%ld,\"bytes\":%ld,\"seconds\":%.6f,\"errors\":%ld,\"firstError\":\"%s\",\"cpuSec\":%.4f}\n", delivered,
         delivered * (long)size, secs, failed, first_error, cpu_s());
  rd_kafka_destroy(rk);
  return 0;
}

static rd_kafka_t *consumer(const char *bs, const char *topic, int parts, int64_t offset) {
  rd_kafka_conf_t *c = base_conf(bs);
  set(c, "group.id", "kafkaload-unused");
  set(c, "enable.auto.commit", "false");
  set(c, "fetch.wait.max.ms", "100");
  set(c, "queued.min.messages", "200000");
  set(c, "enable.partition.eof", "true");
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, errstr, sizeof errstr);
  if (!rk) die(errstr);
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts);
  for (int p = 0; p < parts; p++) rd_kafka_topic_partition_list_add(l, topic, p)->offset = offset;
  if (rd_kafka_assign(rk, l)) die("assign failed");
  rd_kafka_topic_partition_list_destroy(l);
  return rk;
}

/* Reads until `count` records or until every partition reports its end: the mock keeps only the
 * newest part of each partition, so there it reads what is left (the harness uses the count read). */
static int mode_consume(const char *bs, const char *topic, int parts, long count) {
  rd_kafka_t *rk = consumer(bs, topic, parts, RD_KAFKA_OFFSET_BEGINNING);
  long got = 0, bytes = 0, errors = 0;
  int eofs = 0;
  double t0 = 0, deadline = now_s() + 120;
  while (got < count && eofs < parts && now_s() < deadline) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (m->err) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (got > 0) eofs++;
      } else {
        errors++;
      }
    } else {
      if (got == 0) t0 = now_s();
      got++;
      bytes += m->len;
    }
    rd_kafka_message_destroy(m);
  }
  double secs = now_s() - t0;
  printf("{\"records\":%ld,\"bytes\":%ld,\"seconds\":%.6f,\"errors\":%ld,\"cpuSec\":%.4f}\n", got, bytes, secs, errors, cpu_s());
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return got == 0;
}

struct e2e {
  rd_kafka_t *rk;
  volatile int stop;
  int64_t measure_from_ns;
  int64_t *lat_us;
  long n, cap, received;
};

static void *e2e_consume(void *arg) {
  struct e2e *s = arg;
  while (!s->stop) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, 50);
    if (!m) continue;
    if (!m->err && m->len >= 8) {
      int64_t sent;
      memcpy(&sent, m->payload, 8);
      int64_t t = now_ns();
      s->received++;
      if (sent >= s->measure_from_ns && s->n < s->cap) s->lat_us[s->n++] = (t - sent) / 1000;
    }
    rd_kafka_message_destroy(m);
  }
  return NULL;
}

static int cmp64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* Produces at a fixed rate (1 ms ticks) with the send time in each value; a consumer in another
 * thread, assigned every partition at its end, records send-to-receive time. The first second is
 * warm-up (consumer positioning, connections) and not counted. */
static int mode_e2e(const char *bs, const char *topic, int parts, int size, double rate, double seconds) {
  if (size < 8) size = 8;
  struct e2e s = {0};
  s.rk = consumer(bs, topic, parts, RD_KAFKA_OFFSET_END);
  s.cap = (long)(rate * seconds) + 16;
  s.lat_us = malloc(sizeof(int64_t) * s.cap);
  rd_kafka_t *p = producer(bs, "1", "1");
  char *payload = malloc(size);
  memset(payload, 'x', size);
  /* Wait until the consumer has its positions (a warm-up trickle reaches it), bounded. */
  pthread_t th;
  pthread_create(&th, NULL, e2e_consume, &s);
  double w0 = now_s();
  while (s.received == 0 && now_s() - w0 < 30) {
    int64_t t = now_ns();
    memcpy(payload, &t, 8);
    rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(payload, size), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    rd_kafka_poll(p, 20);
  }
  double t0 = now_s();
  s.measure_from_ns = now_ns() + 1000000000LL;
  long sent = 0;
  double end = t0 + 1 + seconds;
  while (now_s() < end) {
    long target = (long)((now_s() - t0) * rate);
    while (sent < target) {
      int64_t t = now_ns();
      memcpy(payload, &t, 8);
      if (rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(payload, size), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_END))
        break;
      sent++;
    }
    rd_kafka_poll(p, 0);
    usleep(500);
  }
  rd_kafka_flush(p, 10000);
  double drain = now_s();
  while (now_s() - drain < 2 && s.n < (long)(rate * seconds) - 1) usleep(10000);
  s.stop = 1;
  pthread_join(th, NULL);
  qsort(s.lat_us, s.n, sizeof(int64_t), cmp64);
#define PCT(q) (s.n ? s.lat_us[(long)((q) * (s.n - 1))] : -1)
  printf("{\"sent\":%ld,\"measured\":%ld,\"rate\":%.0f,\"p50Us\":%lld,\"p99Us\":%lld,\"p999Us\":%lld,\"maxUs\":%lld,\"errors\":%ld,"
         "\"cpuSec\":%.4f}\n",
         sent, s.n, rate, (long long)PCT(0.5), (long long)PCT(0.99), (long long)PCT(0.999), (long long)PCT(1.0), failed, cpu_s());
  rd_kafka_destroy(p);
  rd_kafka_consumer_close(s.rk);
  rd_kafka_destroy(s.rk);
  return s.n == 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "mock")) return mode_mock();
  if (argc == 5 && !strcmp(argv[1], "create")) return mode_create(argv[2], argv[3], atoi(argv[4]));
  if (argc == 7 && !strcmp(argv[1], "produce")) return mode_produce(argv[2], argv[3], atoi(argv[4]), atol(argv[5]), argv[6]);
  if (argc == 6 && !strcmp(argv[1], "consume")) return mode_consume(argv[2], argv[3], atoi(argv[4]), atol(argv[5]));
  if (argc == 8 && !strcmp(argv[1], "e2e"))
    return mode_e2e(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]), atof(argv[6]), atof(argv[7]));
  fprintf(stderr, "usage: see the head of kafkaload.c\n");
  return 2;
}
