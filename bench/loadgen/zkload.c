/*
 * zkload: a neutral load generator for ZooKeeper-protocol servers (ClusterGenie, Apache
 * ZooKeeper). It speaks the client wire protocol directly (jute records, 4-byte length-prefixed
 * frames) over non-blocking TCP sockets with epoll, single-threaded; one process drives several
 * sessions. Requests built during one loop turn go out with one write() per socket; replies are
 * parsed in place in the socket's input buffer.
 *
 * Phases (stdout carries only JSON lines, diagnostics go to stderr):
 *   1. connect every session, create the nodes the workload needs, print {"event":"ready"};
 *   2. wait for a line on stdin ("go"), run warmup (not counted), print {"event":"measure-start"},
 *      measure, print {"event":"result",...}, close the sessions and exit 0.
 * A failed connect/handshake, a lost connection or a protocol violation before the result line
 * prints a message naming the session and host to stderr and exits 2. Bad arguments exit 1.
 *
 * Node names: <root>/w<W>/s<i> where i is the session's LOCAL index in this process (the worker
 * id W keeps processes apart); workload nodes n0..n4 (values), d<k> (delete), c<k> (create).
 *
 * Counting: "ops" = replies with err 0 read inside the measurement window (watch: NodeDataChanged
 * notifications read by watchers inside the window); "errors" = replies with a non-zero err (for a
 * multi with header err 0, its first sub-result error other than RUNTIMEINCONSISTENCY) read from
 * "go" to the end of the window, warmup included. Latency = send (stamped when the request's bytes
 * are handed to write()) to the read() that returned the reply, CLOCK_MONOTONIC.
 * Watch latency = from the writer's write() of the setData that fired the notification to the
 * watcher's read() of the notification. The writer is in the same process; it records the send
 * time per (node, version): it is the only writer of those nodes, so its k-th setData of a node
 * makes version base+k (base read in setup; a reply showing another version corrects the
 * prediction). The triggering write of a notification is version (last version the watcher read)
 * + 1.
 * A notification whose write cannot be found counts as an op and in "latencyMisses".
 *
 * Histogram (the "hist" object of the result line): log-linear in microseconds; values below
 * 128 us in 1 us buckets, above that 64 sub-buckets per power of two (width/lower <= 1/64, about
 * two significant digits), clamped at 60 s. It is printed sparse as [[midpointUs, count], ...]:
 * the first number is the MIDPOINT of the bucket (lower + width/2, so x.5 for 1 us buckets), so a
 * reader can merge workers by that key and compute percentiles without knowing the scheme. The
 * exact count, sum, min and max (ns) are printed alongside.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* ---- protocol constants */
#define FRAME_MAX (1024 * 1024) /* larger frames from the server are an error */
#define OP_CREATE 1
#define OP_DELETE 2
#define OP_GETDATA 4
#define OP_SETDATA 5
#define OP_SYNC 9
#define OP_PING 11
#define OP_MULTI 14
#define OP_CLOSE (-11)
#define XID_NOTIFICATION (-1)
#define XID_PING (-2)
#define ERR_NODEEXISTS (-110)
#define ERR_RUNTIMEINCONSISTENCY (-2)
#define EVENT_NODE_DATA_CHANGED 3
#define STAT_BYTES 68
#define STAT_VERSION_OFF 32
#define NVALUES 5

#define VALUE_BYTES_MAX 1000000
#define ROOT_MAX 512
#define PATH_MAX_LEN 1024
#define HANDSHAKE_TIMEOUT_NS (10LL * 1000000000LL)
#define CLOSE_WAIT_NS (3LL * 1000000000LL)
#define IN_INITIAL (64 * 1024)
#define RING_BITS 14 /* watch: per-node ring of the writer's send times by version */
#define RING_SIZE (1u << RING_BITS)

enum workload { WL_CREATE, WL_SETDATA, WL_GETDATA, WL_DELETE, WL_MIXED, WL_MULTI, WL_WATCH };
static const char *const WL_NAMES[] = {"create", "setData", "getData", "delete", "mixed", "multi", "watch"};

/* What a pending request is, to know how to account for its reply. */
enum kind {
  K_SETUP_CREATE, /* setup create, NODEEXISTS tolerated */
  K_SETUP_SYNC,   /* watch setup: watcher syncs before reading */
  K_SETUP_WATCH,  /* watch setup: getData(watch=true) */
  K_SETUP_BASE,   /* watch setup: the writer reads the current versions of its nodes */
  K_CREATE,
  K_SET,
  K_GET,
  K_DELETE,
  K_MULTI,
  K_WSET, /* watch: writer's setData */
  K_WGET, /* watch: watcher re-arms with getData(watch=true) */
  K_CLOSE
};

enum sstate { S_CONNECTING, S_HANDSHAKE, S_OPEN, S_CLOSED };
enum phase { P_CONNECT, P_SETUP_ROOT, P_SETUP_SESS, P_SETUP_WATCH, P_READY, P_WARMUP, P_MEASURE, P_CLOSE };

struct pend {
  int64_t sent_ns;
  int32_t xid;
  int32_t ver; /* K_WSET: predicted version the write makes */
  uint8_t kind;
  uint8_t node;
  uint8_t gen; /* K_WSET: g_wr_gen of the node when issued */
};

struct sess {
  int fd;
  int idx;  /* local index */
  int gidx; /* global index = session-base + idx */
  int host;
  enum sstate state;
  bool want_out, dirty, close_sent, closed_ok;
  int32_t xid;
  int timeout_ms;
  int pings_out;
  int64_t last_send_ns;
  /* output: [out_off, out_len) not yet written */
  uint8_t *out;
  size_t out_len, out_off, out_cap;
  /* input: [0, in_len) buffered */
  uint8_t *in;
  size_t in_len, in_cap;
  /* FIFO of pending requests: [qhead, qtail); entries [qstamp, qtail) have no send time yet */
  struct pend *q;
  uint32_t qmask, qhead, qtail, qstamp;
  /* workload state */
  uint64_t counter;
  uint64_t setup_next, setup_total;
  uint64_t del_next, del_done;
  char prefix[ROOT_MAX + 64]; /* <root>/w<W>/s<i> */
  size_t prefix_len;
  char npath[NVALUES][ROOT_MAX + 80];
  size_t npath_len[NVALUES];
  /* watcher state per watched node */
  int32_t last_ver[NVALUES];
  bool get_out[NVALUES];
  int64_t pend_notif_ns[NVALUES];
  bool pend_counted[NVALUES];
};

/* ---- options */
struct hostaddr {
  char name[300];
  struct sockaddr_storage addr;
  socklen_t addrlen;
};
static struct hostaddr *g_hosts;
static int g_nhosts;
static enum workload g_wl = WL_CREATE;
static int g_nsess = 1, g_base = 0, g_depth = 32, g_worker = 0;
static long g_value_bytes = 100;
static char g_root[ROOT_MAX + 1];
static int64_t g_warmup_ms = 1000, g_duration_ms = 5000, g_session_timeout_ms = 30000;
static uint64_t g_ops = 0;

/* ---- run state */
static struct sess *g_s;
static int g_ep = -1;
static enum phase g_phase = P_CONNECT;
static int *g_dirty;
static int g_ndirty;
static uint8_t *g_value; /* value bytes, the same for every write */
static int64_t g_t_start, g_t_go, g_t_measure, g_t_end, g_close_deadline;
static struct rusage g_ru_measure;
static bool g_stdin_open = true;
static char g_stdin_buf[256];
static size_t g_stdin_len;

/* ---- results */
#define H_LINEAR 128
#define H_SUB 64
#define H_EMAX 25 /* 2^25 us = 33.5 s <= 60 s < 2^26 */
#define H_N (H_LINEAR + (H_EMAX - 6) * H_SUB)
#define H_CLAMP_US 60000000ULL
static uint64_t g_hist[H_N];
static uint64_t g_hcount, g_hsum_ns, g_hmin_ns = UINT64_MAX, g_hmax_ns;
static uint64_t g_nops, g_nerrors, g_nwrites, g_lat_misses;
#define ERRCODES_MAX 64
static int32_t g_errcode[ERRCODES_MAX];
static uint64_t g_errcount[ERRCODES_MAX];
static int g_nerrcodes;
/* watch: writer's send time per node and version */
struct ringent {
  int32_t ver;
  int64_t sent_ns;
};
static struct ringent *g_ring[NVALUES];
static int32_t g_wr_ver[NVALUES]; /* version the writer's last issued setData of node j makes */
static uint8_t g_wr_gen[NVALUES];

/* ---------------------------------------------------------------- helpers */

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die_usage(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "zkload: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n");
  exit(1);
}

static void die(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "zkload: worker %d: ", g_worker);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n");
  exit(2);
}

static void die_sess(const struct sess *s, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "zkload: worker %d session %d (global %d) to %s: ", g_worker, s->idx, s->gidx, g_hosts[s->host].name);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n");
  exit(2);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) die("out of memory (%zu bytes)", n);
  return p;
}

static void *xcalloc(size_t n, size_t m) {
  void *p = calloc(n ? n : 1, m ? m : 1);
  if (!p) die("out of memory");
  return p;
}

static inline void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static inline void put64(uint8_t *p, uint64_t v) {
  put32(p, (uint32_t)(v >> 32));
  put32(p + 4, (uint32_t)v);
}

static inline int32_t rd32(const uint8_t *p) {
  return (int32_t)(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3]);
}

static inline int64_t rd64(const uint8_t *p) {
  return (int64_t)(((uint64_t)(uint32_t)rd32(p) << 32) | (uint64_t)(uint32_t)rd32(p + 4));
}

/* Decimal digits of v appended at dst; returns the count. */
static size_t put_dec(char *dst, uint64_t v) {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++) dst[i] = tmp[n - 1 - i];
  return n;
}

/* ---------------------------------------------------------------- histogram */

static int hbucket(uint64_t us) {
  if (us > H_CLAMP_US) us = H_CLAMP_US;
  if (us < H_LINEAR) return (int)us;
  int e = 63 - __builtin_clzll(us); /* 7..25 */
  int shift = e - 6;
  uint64_t sub = us >> shift; /* 64..127 */
  return H_LINEAR + (e - 7) * H_SUB + (int)(sub - H_SUB);
}

static void hbounds(int i, uint64_t *lower, uint64_t *width) {
  if (i < H_LINEAR) {
    *lower = (uint64_t)i;
    *width = 1;
    return;
  }
  int j = i - H_LINEAR;
  int e = 7 + j / H_SUB;
  uint64_t sub = (uint64_t)(H_SUB + j % H_SUB);
  int shift = e - 6;
  *lower = sub << shift;
  *width = 1ULL << shift;
}

static void hrecord(int64_t ns) {
  if (ns < 0) ns = 0;
  uint64_t u = (uint64_t)ns;
  g_hist[hbucket(u / 1000)]++;
  g_hcount++;
  g_hsum_ns += u;
  if (u < g_hmin_ns) g_hmin_ns = u;
  if (u > g_hmax_ns) g_hmax_ns = u;
}

static void count_error(int32_t code) {
  g_nerrors++;
  for (int i = 0; i < g_nerrcodes; i++) {
    if (g_errcode[i] == code) {
      g_errcount[i]++;
      return;
    }
  }
  if (g_nerrcodes < ERRCODES_MAX) {
    g_errcode[g_nerrcodes] = code;
    g_errcount[g_nerrcodes++] = 1;
  } else {
    g_errcount[ERRCODES_MAX - 1]++; /* bounded: lump further codes into the last one */
  }
}

/* ---------------------------------------------------------------- output buffer and FIFO */

static void mark_dirty(struct sess *s) {
  if (!s->dirty) {
    s->dirty = true;
    g_dirty[g_ndirty++] = s->idx;
  }
}

/* Room for n more bytes at out+out_len. */
static uint8_t *out_reserve(struct sess *s, size_t n) {
  if (s->out_off > 0 && s->out_off == s->out_len) s->out_off = s->out_len = 0;
  if (s->out_len + n > s->out_cap) {
    if (s->out_off > 0) {
      memmove(s->out, s->out + s->out_off, s->out_len - s->out_off);
      s->out_len -= s->out_off;
      s->out_off = 0;
    }
    if (s->out_len + n > s->out_cap) {
      size_t cap = s->out_cap ? s->out_cap : 4096;
      while (cap < s->out_len + n) cap *= 2;
      uint8_t *p = realloc(s->out, cap);
      if (!p) die("out of memory");
      s->out = p;
      s->out_cap = cap;
    }
  }
  return s->out + s->out_len;
}

static void q_push(struct sess *s, int32_t xid, enum kind kind, int node, int32_t ver) {
  if (s->qtail - s->qhead > s->qmask) die_sess(s, "internal: pending FIFO full");
  struct pend *e = &s->q[s->qtail & s->qmask];
  e->sent_ns = 0;
  e->xid = xid;
  e->kind = (uint8_t)kind;
  e->node = (uint8_t)node;
  e->ver = ver;
  e->gen = kind == K_WSET ? g_wr_gen[node] : 0;
  s->qtail++;
}

static inline uint32_t outstanding(const struct sess *s) { return s->qtail - s->qhead; }

/* Starts a request frame: length placeholder + RequestHeader. Returns the cursor. */
static uint8_t *req_begin(struct sess *s, size_t body_max, int32_t xid, int32_t type) {
  uint8_t *p = out_reserve(s, 12 + body_max);
  put32(p + 4, (uint32_t)xid);
  put32(p + 8, (uint32_t)type);
  return p + 12;
}

static void req_end(struct sess *s, uint8_t *end) {
  uint8_t *start = s->out + s->out_len;
  size_t n = (size_t)(end - start);
  put32(start, (uint32_t)(n - 4));
  s->out_len += n;
  mark_dirty(s);
}

static inline uint8_t *put_bytes(uint8_t *p, const void *b, size_t n) {
  put32(p, (uint32_t)n);
  if (n) memcpy(p + 4, b, n);
  return p + 4 + n;
}

static int32_t next_xid(struct sess *s) {
  int32_t x = s->xid;
  s->xid = s->xid == INT32_MAX ? 1 : s->xid + 1;
  return x;
}

/* vector<ACL> with one entry: perms ALL (31), Id{scheme "world", id "anyone"} */
static const uint8_t ACL_OPEN[] = {
    0, 0, 0, 1,                             /* count */
    0, 0, 0, 31,                            /* perms */
    0, 0, 0, 5, 'w', 'o', 'r', 'l', 'd',    /* scheme */
    0, 0, 0, 6, 'a', 'n', 'y', 'o', 'n', 'e' /* id */
};

static void issue_create(struct sess *s, const char *path, size_t plen, const uint8_t *data, size_t dlen, enum kind kind) {
  int32_t xid = next_xid(s);
  uint8_t *p = req_begin(s, 4 + plen + 4 + dlen + sizeof ACL_OPEN + 4, xid, OP_CREATE);
  p = put_bytes(p, path, plen);
  p = put_bytes(p, data, dlen);
  memcpy(p, ACL_OPEN, sizeof ACL_OPEN);
  p += sizeof ACL_OPEN;
  put32(p, 0); /* flags: persistent */
  p += 4;
  req_end(s, p);
  q_push(s, xid, kind, 0, 0);
}

static void issue_delete(struct sess *s, const char *path, size_t plen) {
  int32_t xid = next_xid(s);
  uint8_t *p = req_begin(s, 4 + plen + 4, xid, OP_DELETE);
  p = put_bytes(p, path, plen);
  put32(p, (uint32_t)-1);
  req_end(s, p + 4);
  q_push(s, xid, K_DELETE, 0, 0);
}

static void issue_get(struct sess *s, const char *path, size_t plen, bool watch, enum kind kind, int node) {
  int32_t xid = next_xid(s);
  uint8_t *p = req_begin(s, 4 + plen + 1, xid, OP_GETDATA);
  p = put_bytes(p, path, plen);
  *p++ = watch ? 1 : 0;
  req_end(s, p);
  q_push(s, xid, kind, node, 0);
}

static uint8_t *put_setdata(uint8_t *p, const char *path, size_t plen, const uint8_t *data, size_t dlen) {
  p = put_bytes(p, path, plen);
  p = put_bytes(p, data, dlen);
  put32(p, (uint32_t)-1);
  return p + 4;
}

static void issue_set(struct sess *s, const char *path, size_t plen, const uint8_t *data, size_t dlen, enum kind kind, int node, int32_t ver) {
  int32_t xid = next_xid(s);
  uint8_t *p = req_begin(s, 4 + plen + 4 + dlen + 4, xid, OP_SETDATA);
  req_end(s, put_setdata(p, path, plen, data, dlen));
  q_push(s, xid, kind, node, ver);
}

/* One multi of NVALUES setData ops on the session's n0..n4. */
static void issue_multi(struct sess *s) {
  int32_t xid = next_xid(s);
  size_t dlen = (size_t)g_value_bytes;
  size_t body = 9;
  for (int j = 0; j < NVALUES; j++) body += 9 + 4 + s->npath_len[j] + 4 + dlen + 4;
  uint8_t *p = req_begin(s, body, xid, OP_MULTI);
  for (int j = 0; j < NVALUES; j++) {
    put32(p, OP_SETDATA);
    p[4] = 0;
    put32(p + 5, (uint32_t)-1);
    p = put_setdata(p + 9, s->npath[j], s->npath_len[j], g_value, dlen);
  }
  put32(p, (uint32_t)-1);
  p[4] = 1;
  put32(p + 5, (uint32_t)-1);
  req_end(s, p + 9);
  q_push(s, xid, K_MULTI, 0, 0);
}

static void issue_sync(struct sess *s, const char *path, size_t plen) {
  int32_t xid = next_xid(s);
  uint8_t *p = req_begin(s, 4 + plen, xid, OP_SYNC);
  req_end(s, put_bytes(p, path, plen));
  q_push(s, xid, K_SETUP_SYNC, 0, 0);
}

static void issue_ping(struct sess *s) {
  uint8_t *p = req_begin(s, 0, XID_PING, OP_PING);
  req_end(s, p);
  s->pings_out++;
}

static void issue_close(struct sess *s) {
  int32_t xid = next_xid(s);
  uint8_t *p = req_begin(s, 0, xid, OP_CLOSE);
  req_end(s, p);
  q_push(s, xid, K_CLOSE, 0, 0);
  s->close_sent = true;
}

static void send_connect_request(struct sess *s) {
  uint8_t *p = out_reserve(s, 4 + 45);
  put32(p, 45);
  put32(p + 4, 0);      /* protocolVersion */
  put64(p + 8, 0);      /* lastZxidSeen */
  put32(p + 16, (uint32_t)g_session_timeout_ms);
  put64(p + 20, 0);     /* sessionId */
  put32(p + 28, 16);    /* passwd: 16 zero bytes */
  memset(p + 32, 0, 16);
  p[48] = 0;            /* readOnly false */
  s->out_len += 49;
  mark_dirty(s);
}

/* ---------------------------------------------------------------- workload issuing */

static void issue_workload_one(struct sess *s) {
  uint64_t c = s->counter++;
  switch (g_wl) {
  case WL_CREATE: {
    char path[PATH_MAX_LEN];
    memcpy(path, s->prefix, s->prefix_len);
    size_t n = s->prefix_len;
    path[n++] = '/';
    path[n++] = 'c';
    n += put_dec(path + n, c);
    issue_create(s, path, n, g_value, (size_t)g_value_bytes, K_CREATE);
    break;
  }
  case WL_SETDATA: {
    int j = (int)(c % NVALUES);
    issue_set(s, s->npath[j], s->npath_len[j], g_value, (size_t)g_value_bytes, K_SET, j, 0);
    break;
  }
  case WL_GETDATA: {
    int j = (int)(c % NVALUES);
    issue_get(s, s->npath[j], s->npath_len[j], false, K_GET, j);
    break;
  }
  case WL_MIXED: {
    if (c % 10 == 9) {
      int j = (int)((c / 10) % NVALUES);
      issue_set(s, s->npath[j], s->npath_len[j], g_value, (size_t)g_value_bytes, K_SET, j, 0);
    } else {
      int j = (int)(c % NVALUES);
      issue_get(s, s->npath[j], s->npath_len[j], false, K_GET, j);
    }
    break;
  }
  case WL_MULTI:
    issue_multi(s);
    break;
  case WL_DELETE: {
    char path[PATH_MAX_LEN];
    memcpy(path, s->prefix, s->prefix_len);
    size_t n = s->prefix_len;
    path[n++] = '/';
    path[n++] = 'd';
    n += put_dec(path + n, s->del_next++);
    issue_delete(s, path, n);
    break;
  }
  case WL_WATCH: {
    /* writer: setData on the shared nodes (latency is matched by node and version, not data) */
    int j = (int)(c % NVALUES);
    int32_t ver = ++g_wr_ver[j];
    issue_set(s, s->npath[j], s->npath_len[j], g_value, (size_t)g_value_bytes, K_WSET, j, ver);
    break;
  }
  }
}

static bool running(void) { return g_phase == P_WARMUP || g_phase == P_MEASURE; }

/* Tops the session up to --depth outstanding requests. */
static void fill(struct sess *s) {
  if (!running() || s->state != S_OPEN) return;
  uint32_t depth = (uint32_t)g_depth;
  switch (g_wl) {
  case WL_WATCH:
    if (s->idx != 0) return; /* watchers are driven by notifications */
    break;
  case WL_DELETE:
    while (outstanding(s) < depth && s->del_next < g_ops) issue_workload_one(s);
    return;
  default:
    break;
  }
  while (outstanding(s) < depth) issue_workload_one(s);
}

/* Setup stage B: s<i> and its workload children, pipelined at --depth. */
static void fill_setup(struct sess *s) {
  while (outstanding(s) < (uint32_t)g_depth && s->setup_next < s->setup_total) {
    uint64_t k = s->setup_next++;
    if (k == 0) {
      issue_create(s, s->prefix, s->prefix_len, NULL, 0, K_SETUP_CREATE);
    } else if (g_wl == WL_DELETE) {
      char path[PATH_MAX_LEN];
      memcpy(path, s->prefix, s->prefix_len);
      size_t n = s->prefix_len;
      path[n++] = '/';
      path[n++] = 'd';
      n += put_dec(path + n, k - 1);
      issue_create(s, path, n, NULL, 0, K_SETUP_CREATE);
    } else {
      int j = (int)(k - 1);
      issue_create(s, s->npath[j], s->npath_len[j], g_value, (size_t)g_value_bytes, K_SETUP_CREATE);
    }
  }
}

/* ---------------------------------------------------------------- flushing */

static void ep_mod(struct sess *s, uint32_t events) {
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = events;
  ev.data.u32 = (uint32_t)s->idx;
  if (epoll_ctl(g_ep, EPOLL_CTL_MOD, s->fd, &ev) != 0) die_sess(s, "epoll_ctl: %s", strerror(errno));
}

static void close_sess(struct sess *s) {
  if (s->state == S_CLOSED) return;
  epoll_ctl(g_ep, EPOLL_CTL_DEL, s->fd, NULL);
  close(s->fd);
  s->fd = -1;
  s->state = S_CLOSED;
}

static void flush(struct sess *s, int64_t now) {
  if (s->state == S_CLOSED || s->state == S_CONNECTING) return;
  while (s->qstamp != s->qtail) {
    struct pend *e = &s->q[s->qstamp & s->qmask];
    e->sent_ns = now;
    if (e->kind == K_WSET) {
      struct ringent *r = &g_ring[e->node][(uint32_t)e->ver & (RING_SIZE - 1)];
      r->ver = e->ver;
      r->sent_ns = now;
    }
    s->qstamp++;
  }
  if (s->out_off < s->out_len) {
    ssize_t w = write(s->fd, s->out + s->out_off, s->out_len - s->out_off);
    if (w > 0) {
      s->out_off += (size_t)w;
      s->last_send_ns = now;
    } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      if (g_phase == P_CLOSE) {
        close_sess(s);
        return;
      }
      die_sess(s, "write failed: %s (connection lost)", strerror(errno));
    }
  }
  if (s->out_off == s->out_len) {
    s->out_off = s->out_len = 0;
    if (s->want_out) {
      s->want_out = false;
      ep_mod(s, EPOLLIN);
    }
  } else if (!s->want_out) {
    s->want_out = true;
    ep_mod(s, EPOLLIN | EPOLLOUT);
  }
}

/* ---------------------------------------------------------------- replies */

static int watched_node(const uint8_t *path, int32_t plen) {
  const struct sess *w = &g_s[0];
  for (int j = 0; j < NVALUES; j++) {
    if ((size_t)plen == w->npath_len[j] && memcmp(path, w->npath[j], (size_t)plen) == 0) return j;
  }
  return -1;
}

static void watch_latency(int node, int32_t ver, int64_t notif_ns) {
  const struct ringent *r = &g_ring[node][(uint32_t)ver & (RING_SIZE - 1)];
  if (r->ver == ver && r->sent_ns != 0 && notif_ns >= r->sent_ns) hrecord(notif_ns - r->sent_ns);
  else g_lat_misses++;
}

static void rearm(struct sess *s, int j) {
  const struct sess *w = &g_s[0];
  issue_get(s, w->npath[j], w->npath_len[j], true, K_WGET, j);
  s->get_out[j] = true;
}

static void on_notification(struct sess *s, const uint8_t *b, int32_t len, int64_t now) {
  if (len < 12) die_sess(s, "protocol error: short watch notification (%d bytes)", (int)len);
  int32_t type = rd32(b);
  int32_t plen = rd32(b + 8);
  if (plen < 0 || plen > len - 12) die_sess(s, "protocol error: bad path length %d in watch notification", (int)plen);
  if (g_wl != WL_WATCH || s->idx == 0 || !running() || type != EVENT_NODE_DATA_CHANGED) return;
  int j = watched_node(b + 12, plen);
  if (j < 0) return;
  bool counted = g_phase == P_MEASURE;
  if (counted) g_nops++;
  if (s->get_out[j]) {
    /* notification overtook the reply of the getData that set the watch: resolve on reply */
    s->pend_notif_ns[j] = now;
    s->pend_counted[j] = counted;
  } else {
    if (counted) watch_latency(j, s->last_ver[j] + 1, now);
    rearm(s, j);
  }
}

/* Version from a GetDataResponse body (data buffer, Stat); -1 if malformed. */
static int32_t getdata_version(const uint8_t *b, int32_t len) {
  if (len < 4) return -1;
  int32_t dlen = rd32(b);
  if (dlen < -1) return -1;
  int64_t off = 4 + (dlen > 0 ? dlen : 0);
  if (off + STAT_BYTES > len) return -1;
  return rd32(b + off + STAT_VERSION_OFF);
}

/* First error inside a multi response: 0 if none. */
static int32_t multi_error(const struct sess *s, const uint8_t *b, int32_t len) {
  int32_t off = 0, first = 0, runtime = 0;
  for (;;) {
    if (off + 9 > len) die_sess(s, "protocol error: truncated multi response");
    int32_t type = rd32(b + off);
    bool done = b[off + 4] != 0;
    int32_t err = rd32(b + off + 5);
    off += 9;
    if (done) break;
    switch (type) {
    case -1:
      if (off + 4 > len) die_sess(s, "protocol error: truncated multi error result");
      err = rd32(b + off);
      off += 4;
      if (err == ERR_RUNTIMEINCONSISTENCY) runtime = err;
      else if (err != 0 && first == 0) first = err;
      break;
    case OP_SETDATA:
      off += STAT_BYTES;
      break;
    case OP_DELETE:
    case 13: /* check */
      break;
    case OP_CREATE:
    case 15: { /* create2 */
      if (off + 4 > len) die_sess(s, "protocol error: truncated multi create result");
      int32_t pl = rd32(b + off);
      if (pl < -1 || pl > len - off - 4) die_sess(s, "protocol error: bad path in multi result");
      off += 4 + (pl > 0 ? pl : 0);
      if (type == 15) off += STAT_BYTES;
      break;
    }
    default:
      die_sess(s, "protocol error: unexpected multi result type %d", (int)type);
    }
    if (off > len) die_sess(s, "protocol error: truncated multi response");
  }
  return first ? first : runtime;
}

static void on_reply(struct sess *s, const uint8_t *f, int32_t len, int64_t now) {
  if (len < 16) die_sess(s, "protocol error: reply of %d bytes is shorter than a ReplyHeader", (int)len);
  int32_t xid = rd32(f);
  int32_t err = rd32(f + 12);
  const uint8_t *b = f + 16;
  int32_t blen = len - 16;
  if (xid == XID_NOTIFICATION) {
    on_notification(s, b, blen, now);
    return;
  }
  if (xid == XID_PING) {
    if (s->pings_out > 0) s->pings_out--;
    return;
  }
  if (s->qhead == s->qtail) die_sess(s, "protocol error: reply xid %d with nothing outstanding", (int)xid);
  struct pend *e = &s->q[s->qhead & s->qmask];
  if (e->xid != xid) die_sess(s, "protocol error: reply xid %d, expected %d (replies out of order)", (int)xid, (int)e->xid);
  struct pend p = *e;
  s->qhead++;
  bool measure = g_phase == P_MEASURE;
  bool run = running();
  switch ((enum kind)p.kind) {
  case K_SETUP_CREATE:
    if (err != 0 && err != ERR_NODEEXISTS) die_sess(s, "setup create failed with error %d", (int)err);
    break;
  case K_SETUP_SYNC:
    if (err != 0) die_sess(s, "setup sync failed with error %d", (int)err);
    break;
  case K_SETUP_BASE: {
    int32_t v = err == 0 ? getdata_version(b, blen) : -1;
    if (v < 0) die_sess(s, "setup getData of %s failed with error %d", s->npath[p.node], (int)err);
    g_wr_ver[p.node] = v;
    break;
  }
  case K_SETUP_WATCH:
  case K_WGET: {
    int j = p.node;
    s->get_out[j] = false;
    if (err != 0) {
      if (p.kind == K_SETUP_WATCH) die_sess(s, "setup getData(watch) of %s failed with error %d", g_s[0].npath[j], (int)err);
      if (run) count_error(err);
      s->pend_notif_ns[j] = 0;
      break;
    }
    int32_t v = getdata_version(b, blen);
    if (v < 0) die_sess(s, "protocol error: malformed GetDataResponse");
    s->last_ver[j] = v;
    if (s->pend_notif_ns[j] != 0) {
      if (s->pend_counted[j]) watch_latency(j, v + 1, s->pend_notif_ns[j]);
      s->pend_notif_ns[j] = 0;
      if (run) rearm(s, j);
    }
    break;
  }
  case K_CREATE:
  case K_SET:
  case K_GET:
  case K_DELETE:
  case K_WSET:
  case K_MULTI: {
    if (p.kind == K_DELETE) s->del_done++;
    int32_t code = err;
    if (code == 0 && p.kind == K_MULTI) code = multi_error(s, b, blen);
    if (code == 0 && p.kind == K_WSET && blen >= STAT_BYTES) {
      /* Keep the writer's version prediction in line with the server (a failed write makes no
       * version): correct once per basis; writes issued under an older basis are ignored. */
      int32_t actual = rd32(b + STAT_VERSION_OFF);
      if (actual != p.ver && p.gen == g_wr_gen[p.node]) {
        g_wr_ver[p.node] += actual - p.ver;
        g_wr_gen[p.node]++;
      }
    }
    if (code != 0) {
      if (run) count_error(code);
    } else if (measure) {
      if (p.kind == K_WSET) {
        g_nwrites++;
      } else {
        g_nops++;
        hrecord(now - p.sent_ns);
      }
    }
    if (run) mark_dirty(s);
    break;
  }
  case K_CLOSE:
    s->closed_ok = true;
    close_sess(s);
    break;
  }
}

static void on_frame(struct sess *s, const uint8_t *f, int32_t len, int64_t now) {
  if (s->state == S_HANDSHAKE) {
    if (len < 36) die_sess(s, "handshake failed: ConnectResponse of %d bytes", (int)len);
    int32_t to = rd32(f + 4);
    int32_t pwlen = rd32(f + 16);
    if (to <= 0) die_sess(s, "handshake failed: server refused the session (timeOut %d)", (int)to);
    if (pwlen != 16) die_sess(s, "handshake failed: password of %d bytes", (int)pwlen);
    s->timeout_ms = to;
    s->state = S_OPEN;
    s->last_send_ns = now;
    return;
  }
  on_reply(s, f, len, now);
}

static void on_eof(struct sess *s, const char *why) {
  if (g_phase == P_CLOSE) {
    close_sess(s);
    return;
  }
  if (s->state == S_HANDSHAKE) die_sess(s, "handshake failed: %s", why);
  die_sess(s, "connection lost: %s", why);
}

static void on_readable(struct sess *s) {
  for (int iter = 0; iter < 16 && s->state != S_CLOSED; iter++) {
    size_t room = s->in_cap - s->in_len;
    ssize_t r = read(s->fd, s->in + s->in_len, room);
    if (r == 0) {
      on_eof(s, "closed by the server");
      return;
    }
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      on_eof(s, strerror(errno));
      return;
    }
    s->in_len += (size_t)r;
    int64_t now = mono_ns();
    size_t off = 0;
    while (s->in_len - off >= 4 && s->state != S_CLOSED) {
      int32_t len = rd32(s->in + off);
      if (len < 0 || len > FRAME_MAX) die_sess(s, "protocol error: frame length %d outside [0, %d]", (int)len, FRAME_MAX);
      if (s->in_len - off < 4 + (size_t)len) {
        if (4 + (size_t)len > s->in_cap) {
          /* compact, then grow to fit this frame (bounded by FRAME_MAX) */
          memmove(s->in, s->in + off, s->in_len - off);
          s->in_len -= off;
          off = 0;
          uint8_t *p = realloc(s->in, 4 + (size_t)len);
          if (!p) die("out of memory");
          s->in = p;
          s->in_cap = 4 + (size_t)len;
        }
        break;
      }
      on_frame(s, s->in + off + 4, len, now);
      off += 4 + (size_t)len;
    }
    if (s->state == S_CLOSED) return;
    if (off > 0) {
      memmove(s->in, s->in + off, s->in_len - off);
      s->in_len -= off;
    }
    if ((size_t)r < room) return; /* socket drained */
  }
}

static void on_connected(struct sess *s) {
  int soerr = 0;
  socklen_t sl = sizeof soerr;
  if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) soerr = errno;
  if (soerr != 0) die_sess(s, "connect failed: %s", strerror(soerr));
  s->state = S_HANDSHAKE;
  s->want_out = true; /* registered with EPOLLOUT; flush() switches back to EPOLLIN */
  send_connect_request(s);
}

/* ---------------------------------------------------------------- phases */

static bool all_idle(void) {
  for (int i = 0; i < g_nsess; i++) {
    if (outstanding(&g_s[i]) != 0) return false;
  }
  return true;
}

static void print_line(const char *s) {
  fputs(s, stdout);
  fputc('\n', stdout);
  fflush(stdout);
}

static void enter_setup_sess(void) {
  g_phase = P_SETUP_SESS;
  for (int i = 0; i < g_nsess; i++) {
    struct sess *s = &g_s[i];
    uint64_t children = 0;
    switch (g_wl) {
    case WL_DELETE:
      children = g_ops;
      break;
    case WL_CREATE:
      children = 0;
      break;
    case WL_WATCH:
      children = s->idx == 0 ? NVALUES : 0;
      break;
    default:
      children = NVALUES;
      break;
    }
    s->setup_next = 0;
    s->setup_total = 1 + children;
    fill_setup(s);
  }
}

static void enter_setup_watch(void) {
  g_phase = P_SETUP_WATCH;
  struct sess *w = &g_s[0];
  /* versions the writer's next writes will make (0 unless the nodes existed already) */
  for (int j = 0; j < NVALUES; j++) issue_get(w, w->npath[j], w->npath_len[j], false, K_SETUP_BASE, j);
  for (int i = 1; i < g_nsess; i++) {
    struct sess *s = &g_s[i];
    /* sync first: on an ensemble member the writer's creates may not have arrived yet */
    issue_sync(s, w->prefix, w->prefix_len);
    for (int j = 0; j < NVALUES; j++) {
      issue_get(s, w->npath[j], w->npath_len[j], true, K_SETUP_WATCH, j);
      s->get_out[j] = true;
    }
  }
}

static void on_stdin(int64_t now);

static void enter_ready(void) {
  g_phase = P_READY;
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.u32 = UINT32_MAX;
  bool pollable = epoll_ctl(g_ep, EPOLL_CTL_ADD, STDIN_FILENO, &ev) == 0;
  if (!pollable && errno != EPERM) die("cannot watch stdin: %s", strerror(errno));
  print_line("{\"event\":\"ready\"}");
  if (!pollable) {
    /* stdin is a regular file (or /dev/null): read the go line blocking */
    while (g_phase == P_READY) on_stdin(mono_ns());
  }
}

static void start_measure(int64_t now) {
  g_phase = P_MEASURE;
  g_t_measure = now;
  getrusage(RUSAGE_SELF, &g_ru_measure);
  print_line("{\"event\":\"measure-start\"}");
}

static void go(int64_t now) {
  g_t_go = now;
  epoll_ctl(g_ep, EPOLL_CTL_DEL, STDIN_FILENO, NULL);
  g_stdin_open = false;
  if (g_wl == WL_DELETE || g_warmup_ms == 0) start_measure(now);
  else g_phase = P_WARMUP;
  for (int i = 0; i < g_nsess; i++) mark_dirty(&g_s[i]);
}

static int64_t tv_us(struct timeval tv) { return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec; }

static void print_result(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  int64_t user = tv_us(ru.ru_utime) - tv_us(g_ru_measure.ru_utime);
  int64_t sys = tv_us(ru.ru_stime) - tv_us(g_ru_measure.ru_stime);
  printf("{\"event\":\"result\",\"worker\":%d,\"workload\":\"%s\",\"sessions\":%d,\"ops\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"errorCodes\":{",
         g_worker, WL_NAMES[g_wl], g_nsess, g_nops, g_nerrors);
  for (int i = 0; i < g_nerrcodes; i++) printf("%s\"%d\":%" PRIu64, i ? "," : "", (int)g_errcode[i], g_errcount[i]);
  printf("},\"elapsedNs\":%" PRId64 ",\"cpuUserUs\":%" PRId64 ",\"cpuSysUs\":%" PRId64 ",\"writes\":%" PRIu64 ",\"latencyMisses\":%" PRIu64,
         g_t_end - g_t_measure, user, sys, g_nwrites, g_lat_misses);
  printf(",\"hist\":{\"unit\":\"us\",\"point\":\"midpoint\",\"count\":%" PRIu64 ",\"sumNs\":%" PRIu64 ",\"minNs\":%" PRIu64 ",\"maxNs\":%" PRIu64 ",\"buckets\":[",
         g_hcount, g_hsum_ns, g_hcount ? g_hmin_ns : 0, g_hmax_ns);
  bool first = true;
  for (int i = 0; i < H_N; i++) {
    if (!g_hist[i]) continue;
    uint64_t lower, width;
    hbounds(i, &lower, &width);
    if (width == 1) printf("%s[%" PRIu64 ".5,%" PRIu64 "]", first ? "" : ",", lower, g_hist[i]);
    else printf("%s[%" PRIu64 ",%" PRIu64 "]", first ? "" : ",", lower + width / 2, g_hist[i]);
    first = false;
  }
  printf("]}}\n");
  fflush(stdout);
}

static void end_measure(int64_t now) {
  g_t_end = now;
  print_result();
  g_phase = P_CLOSE;
  g_close_deadline = now + CLOSE_WAIT_NS;
  for (int i = 0; i < g_nsess; i++) {
    struct sess *s = &g_s[i];
    if (s->state == S_OPEN) issue_close(s);
  }
}

static bool all_closed(void) {
  for (int i = 0; i < g_nsess; i++) {
    if (g_s[i].state != S_CLOSED) return false;
  }
  return true;
}

static void on_stdin(int64_t now) {
  if (g_stdin_len >= sizeof g_stdin_buf) g_stdin_len = 0; /* bounded: only the newline matters */
  ssize_t r = read(STDIN_FILENO, g_stdin_buf + g_stdin_len, sizeof g_stdin_buf - g_stdin_len);
  if (r < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (r <= 0) die("stdin closed before the go line");
  if (memchr(g_stdin_buf + g_stdin_len, '\n', (size_t)r)) {
    go(now);
    return;
  }
  g_stdin_len += (size_t)r;
}

/* Phase transitions that depend on time or on every session being done. */
static void advance(int64_t now) {
  switch (g_phase) {
  case P_CONNECT: {
    bool all = true;
    for (int i = 0; i < g_nsess; i++) {
      if (g_s[i].state != S_OPEN) {
        all = false;
        if (now - g_t_start > HANDSHAKE_TIMEOUT_NS)
          die_sess(&g_s[i], "handshake timed out after %lld ms", (long long)(HANDSHAKE_TIMEOUT_NS / 1000000));
      }
    }
    if (!all) break;
    g_phase = P_SETUP_ROOT;
    issue_create(&g_s[0], g_root, strlen(g_root), NULL, 0, K_SETUP_CREATE);
    char path[PATH_MAX_LEN];
    int n = snprintf(path, sizeof path, "%s/w%d", g_root, g_worker);
    issue_create(&g_s[0], path, (size_t)n, NULL, 0, K_SETUP_CREATE);
    break;
  }
  case P_SETUP_ROOT:
    if (all_idle()) enter_setup_sess();
    break;
  case P_SETUP_SESS: {
    bool done = true;
    for (int i = 0; i < g_nsess; i++) {
      struct sess *s = &g_s[i];
      if (s->setup_next < s->setup_total) {
        fill_setup(s);
        done = false;
      } else if (outstanding(s) != 0) {
        done = false;
      }
    }
    if (done) {
      if (g_wl == WL_WATCH) enter_setup_watch();
      else enter_ready();
    }
    break;
  }
  case P_SETUP_WATCH:
    if (all_idle()) enter_ready();
    break;
  case P_READY:
    break;
  case P_WARMUP:
    if (now - g_t_go >= g_warmup_ms * 1000000LL) start_measure(now);
    break;
  case P_MEASURE:
    if (g_wl == WL_DELETE) {
      bool done = true;
      for (int i = 0; i < g_nsess; i++) {
        if (g_s[i].del_done < g_ops) {
          done = false;
          break;
        }
      }
      if (done) end_measure(now);
    } else if (now - g_t_measure >= g_duration_ms * 1000000LL) {
      end_measure(now);
    }
    break;
  case P_CLOSE:
    break;
  }
}

static int next_timeout_ms(int64_t now) {
  int64_t deadline = now + 50000000LL; /* ping checks */
  if (g_phase == P_WARMUP) {
    int64_t d = g_t_go + g_warmup_ms * 1000000LL;
    if (d < deadline) deadline = d;
  } else if (g_phase == P_MEASURE && g_wl != WL_DELETE) {
    int64_t d = g_t_measure + g_duration_ms * 1000000LL;
    if (d < deadline) deadline = d;
  } else if (g_phase == P_CLOSE) {
    if (g_close_deadline < deadline) deadline = g_close_deadline;
  }
  int64_t ns = deadline - now;
  if (ns <= 0) return 0;
  return (int)((ns + 999999) / 1000000);
}

static void ping_idle(int64_t now) {
  if (g_phase == P_CLOSE || g_phase == P_CONNECT) return;
  for (int i = 0; i < g_nsess; i++) {
    struct sess *s = &g_s[i];
    if (s->state != S_OPEN || s->pings_out > 0) continue;
    if (now - s->last_send_ns >= (int64_t)s->timeout_ms * 1000000LL / 3) issue_ping(s);
  }
}

/* ---------------------------------------------------------------- setup */

static void parse_hosts(const char *arg) {
  char *copy = strdup(arg);
  if (!copy) die("out of memory");
  int n = 1;
  for (const char *p = arg; *p; p++) n += *p == ',';
  g_hosts = xcalloc((size_t)n, sizeof *g_hosts);
  g_nhosts = 0;
  char *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    struct hostaddr *h = &g_hosts[g_nhosts];
    if (strlen(tok) >= sizeof h->name) die_usage("host too long: %s", tok);
    strcpy(h->name, tok);
    char *colon = strrchr(tok, ':');
    if (!colon || colon == tok || !colon[1]) die_usage("bad host '%s' (want host:port)", tok);
    *colon = '\0';
    char *host = tok;
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
      host[hl - 1] = '\0';
      host++;
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, colon + 1, &hints, &res);
    if (rc != 0 || !res) die_usage("cannot resolve host '%s': %s", h->name, gai_strerror(rc));
    memcpy(&h->addr, res->ai_addr, res->ai_addrlen);
    h->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    g_nhosts++;
  }
  free(copy);
  if (g_nhosts == 0) die_usage("--hosts is empty");
}

static int64_t parse_int(const char *name, const char *v, int64_t lo, int64_t hi) {
  char *end = NULL;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (errno || !end || *end || end == v || x < lo || x > hi)
    die_usage("--%s must be an integer in [%lld, %lld], got '%s'", name, (long long)lo, (long long)hi, v);
  return x;
}

static void usage(void) {
  fprintf(stderr,
          "usage: zkload --hosts h:p[,h:p...] --workload create|setData|getData|delete|mixed|multi|watch\n"
          "              --sessions N [--session-base K] [--depth D] [--value-bytes B] --root /path\n"
          "              [--worker W] [--warmup-ms MS] [--duration-ms MS] [--ops N] [--session-timeout-ms MS]\n");
}

static void parse_args(int argc, char **argv) {
  static const struct option opts[] = {
      {"hosts", required_argument, NULL, 'h'},        {"workload", required_argument, NULL, 'w'},
      {"sessions", required_argument, NULL, 's'},     {"session-base", required_argument, NULL, 'b'},
      {"depth", required_argument, NULL, 'd'},        {"value-bytes", required_argument, NULL, 'v'},
      {"root", required_argument, NULL, 'r'},         {"worker", required_argument, NULL, 'W'},
      {"warmup-ms", required_argument, NULL, 'u'},    {"duration-ms", required_argument, NULL, 'D'},
      {"ops", required_argument, NULL, 'o'},          {"session-timeout-ms", required_argument, NULL, 't'},
      {"help", no_argument, NULL, '?'},               {NULL, 0, NULL, 0},
  };
  const char *hosts = NULL, *wl = NULL;
  bool have_root = false;
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'h': hosts = optarg; break;
    case 'w': wl = optarg; break;
    case 's': g_nsess = (int)parse_int("sessions", optarg, 1, 100000); break;
    case 'b': g_base = (int)parse_int("session-base", optarg, 0, 10000000); break;
    case 'd': g_depth = (int)parse_int("depth", optarg, 1, 100000); break;
    case 'v': g_value_bytes = (long)parse_int("value-bytes", optarg, 0, VALUE_BYTES_MAX); break;
    case 'r':
      if (strlen(optarg) > ROOT_MAX) die_usage("--root longer than %d bytes", ROOT_MAX);
      strcpy(g_root, optarg);
      have_root = true;
      break;
    case 'W': g_worker = (int)parse_int("worker", optarg, 0, 1000000); break;
    case 'u': g_warmup_ms = parse_int("warmup-ms", optarg, 0, 86400000); break;
    case 'D': g_duration_ms = parse_int("duration-ms", optarg, 1, 86400000); break;
    case 'o': g_ops = (uint64_t)parse_int("ops", optarg, 1, 1000000000); break;
    case 't': g_session_timeout_ms = parse_int("session-timeout-ms", optarg, 1, INT32_MAX); break;
    default:
      usage();
      exit(1);
    }
  }
  if (optind < argc) die_usage("unexpected argument '%s'", argv[optind]);
  if (!hosts) die_usage("--hosts is required");
  if (!wl) die_usage("--workload is required");
  if (!have_root) die_usage("--root is required");
  bool found = false;
  for (int i = 0; i < (int)(sizeof WL_NAMES / sizeof WL_NAMES[0]); i++) {
    if (strcmp(wl, WL_NAMES[i]) == 0) {
      g_wl = (enum workload)i;
      found = true;
    }
  }
  if (!found) die_usage("unknown --workload '%s'", wl);
  size_t rl = strlen(g_root);
  if (rl < 2 || g_root[0] != '/' || g_root[rl - 1] == '/' || strstr(g_root, "//"))
    die_usage("--root must be an absolute znode path below / (e.g. /bench-1), got '%s'", g_root);
  if (g_wl == WL_WATCH && g_nsess < 2)
    die_usage("--workload watch needs --sessions >= 2 (session 0 writes, the others watch)");
  if (g_wl == WL_DELETE && g_ops == 0) die_usage("--workload delete needs --ops N (nodes per session)");
  /* the largest request must fit in a frame the server accepts */
  size_t multi_bytes = 16 + (size_t)NVALUES * (9 + 4 + rl + 64 + 4 + (size_t)g_value_bytes + 4);
  if (g_wl == WL_MULTI && multi_bytes > FRAME_MAX - 1024)
    die_usage("--value-bytes %ld too large for a multi of %d setData ops", g_value_bytes, NVALUES);
  parse_hosts(hosts);
}

static void open_session(struct sess *s) {
  const struct hostaddr *h = &g_hosts[s->host];
  s->fd = socket(h->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->fd < 0) die_sess(s, "socket: %s", strerror(errno));
  int one = 1;
  setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  s->state = S_CONNECTING;
  int rc = connect(s->fd, (const struct sockaddr *)&h->addr, h->addrlen);
  if (rc != 0 && errno != EINPROGRESS) die_sess(s, "connect failed: %s", strerror(errno));
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.u32 = (uint32_t)s->idx;
  if (epoll_ctl(g_ep, EPOLL_CTL_ADD, s->fd, &ev) != 0) die_sess(s, "epoll_ctl: %s", strerror(errno));
}

static void init_sessions(void) {
  g_s = xcalloc((size_t)g_nsess, sizeof *g_s);
  g_dirty = xcalloc((size_t)g_nsess, sizeof *g_dirty);
  uint32_t qcap = 16;
  while (qcap < (uint32_t)g_depth + 16) qcap *= 2;
  for (int i = 0; i < g_nsess; i++) {
    struct sess *s = &g_s[i];
    s->idx = i;
    s->gidx = g_base + i;
    s->host = s->gidx % g_nhosts;
    s->fd = -1;
    s->xid = 1;
    s->q = xcalloc(qcap, sizeof *s->q);
    s->qmask = qcap - 1;
    s->in = xmalloc(IN_INITIAL);
    s->in_cap = IN_INITIAL;
    int n = snprintf(s->prefix, sizeof s->prefix, "%s/w%d/s%d", g_root, g_worker, i);
    s->prefix_len = (size_t)n;
    for (int j = 0; j < NVALUES; j++) {
      n = snprintf(s->npath[j], sizeof s->npath[j], "%s/n%d", s->prefix, j);
      s->npath_len[j] = (size_t)n;
    }
  }
  if (g_wl == WL_WATCH) {
    for (int j = 0; j < NVALUES; j++) g_ring[j] = xcalloc(RING_SIZE, sizeof(struct ringent));
  }
  g_value = xmalloc((size_t)g_value_bytes);
  for (long i = 0; i < g_value_bytes; i++) g_value[i] = (uint8_t)('a' + i % 26);
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  parse_args(argc, argv);
  init_sessions();
  g_ep = epoll_create1(EPOLL_CLOEXEC);
  if (g_ep < 0) die("epoll_create1: %s", strerror(errno));
  g_t_start = mono_ns();
  for (int i = 0; i < g_nsess; i++) open_session(&g_s[i]);

  int maxev = g_nsess + 1 < 1024 ? g_nsess + 1 : 1024;
  struct epoll_event *evs = xcalloc((size_t)maxev, sizeof *evs);
  int64_t last_ping_check = g_t_start;
  for (;;) {
    int64_t now = mono_ns();
    int n = epoll_wait(g_ep, evs, maxev, next_timeout_ms(now));
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait: %s", strerror(errno));
    }
    now = mono_ns();
    advance(now);
    for (int i = 0; i < n; i++) {
      uint32_t id = evs[i].data.u32;
      if (id == UINT32_MAX) {
        if (g_stdin_open && g_phase == P_READY) on_stdin(now);
        continue;
      }
      struct sess *s = &g_s[id];
      if (s->state == S_CLOSED) continue;
      if (s->state == S_CONNECTING) {
        if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected(s);
        continue;
      }
      if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(s);
      if (s->state != S_CLOSED && (evs[i].events & EPOLLOUT)) mark_dirty(s);
    }
    now = mono_ns();
    advance(now);
    if (now - last_ping_check >= 50000000LL) {
      last_ping_check = now;
      ping_idle(now);
    }
    for (int i = 0; i < g_ndirty; i++) {
      struct sess *s = &g_s[g_dirty[i]];
      fill(s);
      flush(s, now);
      s->dirty = false;
    }
    g_ndirty = 0;
    if (g_phase == P_CLOSE && (all_closed() || now >= g_close_deadline)) break;
  }
  int unconfirmed = 0;
  for (int i = 0; i < g_nsess; i++) unconfirmed += !g_s[i].closed_ok;
  if (unconfirmed) fprintf(stderr, "zkload: worker %d: %d session(s) did not confirm closeSession within %lld ms\n", g_worker, unconfirmed, (long long)(CLOSE_WAIT_NS / 1000000));
  for (int i = 0; i < g_nsess; i++) close_sess(&g_s[i]);
  return 0;
}
