// The recipe scenarios of CuratorCheck (caches are in Caches, nodes and sessions in Nodes): each
// uses the three sessions in ctx and its own base path under /curator, and checks what the recipe
// promises (mutual exclusion by counters kept in the znodes themselves, hand-over of leadership).

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.barriers.DistributedBarrier;
import org.apache.curator.framework.recipes.barriers.DistributedDoubleBarrier;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderSelector;
import org.apache.curator.framework.recipes.leader.LeaderSelectorListenerAdapter;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.retry.RetryNTimes;

final class Recipes {
  private Recipes() {}

  static final long WAIT_MS = 10_000;

  static Map<String, CuratorCheck.Scenario> all() {
    Map<String, CuratorCheck.Scenario> m = new LinkedHashMap<>();
    m.put("leaderLatch", Recipes::leaderLatch);
    m.put("leaderSelector", Recipes::leaderSelector);
    m.put("mutex", Recipes::mutex);
    m.put("readWriteLock", Recipes::readWriteLock);
    m.put("semaphoreV2", Recipes::semaphore);
    m.put("barrier", Recipes::barrier);
    m.put("doubleBarrier", Recipes::doubleBarrier);
    m.put("curatorCache", Caches::curatorCache);
    m.put("pathChildrenCache", Caches::pathChildrenCache);
    m.put("nodeCache", Caches::nodeCache);
    m.put("treeCache", Caches::treeCache);
    m.put("persistentWatcher", Caches::persistentWatcher);
    m.put("queue", Recipes::queue);
    m.put("groupMember", Nodes::groupMember);
    m.put("atomicLong", Recipes::atomicLong);
    m.put("sharedCount", Recipes::sharedCount);
    m.put("transaction", Nodes::transaction);
    m.put("aclDigest", Nodes::aclDigest);
    m.put("persistentNode", Nodes::persistentNode);
    m.put("sessionExpiry", Nodes::sessionExpiry);
    m.put("ensembleConfig", Nodes::ensembleConfig);
    m.put("ttlNode", Nodes::ttlNode);
    m.put("persistentTtlNode", Nodes::persistentTtlNode);
    return m;
  }

  static void check(boolean ok, String what) throws CuratorCheck.Failure {
    CuratorCheck.check(ok, what);
  }

  static void waitFor(java.util.function.BooleanSupplier c, String what) throws Exception {
    CuratorCheck.waitFor(c, WAIT_MS, what);
  }

  static byte[] b(String s) {
    return CuratorCheck.bytes(s);
  }

  static String s(byte[] b) {
    return CuratorCheck.str(b);
  }

  private static void maxOf(AtomicInteger max, int v) {
    max.accumulateAndGet(v, Math::max);
  }

  /** Runs `n` workers on their own threads and waits for all; a worker's exception fails the scenario. */
  private interface Worker {
    void run(int i) throws Exception;
  }

  private static void parallel(int n, Worker w) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      List<Future<?>> fs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        int k = i;
        fs.add(pool.submit(() -> {
          w.run(k);
          return null;
        }));
      }
      for (Future<?> f : fs) f.get(25, TimeUnit.SECONDS);
    } finally {
      pool.shutdownNow();
    }
  }

  /** A counter in a znode bumped by read-modify-write: correct only under mutual exclusion. */
  private static void bump(CuratorFramework c, String path) throws Exception {
    int v = Integer.parseInt(s(c.getData().forPath(path)));
    Thread.sleep(1);
    c.setData().forPath(path, b(Integer.toString(v + 1)));
  }

  private static int counter(CuratorFramework c, String path) throws Exception {
    CuratorCheck.sync(c, path);
    return Integer.parseInt(s(c.getData().forPath(path)));
  }

  // ---------------------------------------------------------------- leader election

  static String leaderLatch(CuratorCheck.Ctx ctx) throws Exception {
    String path = "/curator/leaderLatch";
    // Leadership is checked by what every participant sees in ZooKeeper (getLeader, hasLeadership),
    // not by listener counts: close() deletes the latch node before it clears its own flag.
    List<LeaderLatch> latches = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      LeaderLatch l = new LeaderLatch(ctx.client(i), path, "p" + i);
      latches.add(l);
      l.start();
    }
    List<String> order = new ArrayList<>();
    try {
      for (int round = 0; round < 3; round++) {
        List<LeaderLatch> live = latches.stream().filter(l -> l.getState() == LeaderLatch.State.STARTED).toList();
        // Each participant reads through its own server, which may lag a moment behind the leader.
        waitFor(() -> {
          List<LeaderLatch> leading = live.stream().filter(LeaderLatch::hasLeadership).toList();
          if (leading.size() != 1) return false;
          try {
            for (LeaderLatch l : live) {
              if (!l.getLeader().getId().equals(leading.get(0).getId()) || l.getParticipants().size() != live.size()) return false;
            }
            return true;
          } catch (Exception e) {
            return false;
          }
        }, "exactly one of " + live.size() + " latches to lead, seen as leader by all of them");
        LeaderLatch leader = live.stream().filter(LeaderLatch::hasLeadership).findFirst().orElseThrow();
        order.add(leader.getId());
        leader.close();
      }
    } finally {
      for (LeaderLatch l : latches) if (l.getState() == LeaderLatch.State.STARTED) l.close();
    }
    check(order.stream().distinct().count() == 3, "leaders " + order + " repeat");
    return "leadership handed over " + String.join(" -> ", order);
  }

  static String leaderSelector(CuratorCheck.Ctx ctx) throws Exception {
    String path = "/curator/leaderSelector";
    AtomicInteger inside = new AtomicInteger();
    AtomicInteger maxInside = new AtomicInteger();
    List<String> took = new CopyOnWriteArrayList<>();
    Map<String, LeaderSelector> selectors = new LinkedHashMap<>();
    for (int i = 0; i < 3; i++) {
      String id = "s" + i;
      LeaderSelector sel = new LeaderSelector(ctx.client(i), path, new LeaderSelectorListenerAdapter() {
        @Override
        public void takeLeadership(CuratorFramework client) throws Exception {
          maxOf(maxInside, inside.incrementAndGet());
          took.add(id);
          try {
            Thread.sleep(Long.MAX_VALUE); // lead until closed (close() interrupts this thread)
          } finally {
            inside.decrementAndGet();
          }
        }
      });
      sel.setId(id);
      selectors.put(id, sel);
      sel.start();
    }
    try {
      for (int round = 1; round <= 3; round++) {
        int want = round;
        waitFor(() -> took.size() == want, "leader number " + want);
        String leader = took.get(round - 1);
        for (Map.Entry<String, LeaderSelector> e : selectors.entrySet()) {
          if (e.getValue().hasLeadership() != e.getKey().equals(leader)) {
            waitFor(() -> selectors.get(leader).hasLeadership(), leader + " to report leadership");
          }
        }
        String seen = selectors.get(leader).getLeader().getId();
        check(seen.equals(leader), "getLeader() says " + seen + ", takeLeadership ran in " + leader);
        selectors.remove(leader).close();
      }
    } finally {
      for (LeaderSelector sel : selectors.values()) sel.close();
    }
    waitFor(() -> inside.get() == 0, "the last leader to leave takeLeadership");
    check(took.stream().distinct().count() == 3, "leaders " + took + " repeat");
    check(maxInside.get() == 1, maxInside.get() + " selectors led at once");
    return "leadership handed over " + String.join(" -> ", took);
  }

  // ---------------------------------------------------------------- locks and semaphores

  static String mutex(CuratorCheck.Ctx ctx) throws Exception {
    String path = "/curator/mutex/lock";
    String count = "/curator/mutex/count";
    ctx.client(0).create().creatingParentsIfNeeded().forPath(count, b("0"));
    AtomicInteger holders = new AtomicInteger();
    AtomicInteger maxHolders = new AtomicInteger();
    int workers = 6;
    int rounds = 8;
    parallel(workers, i -> {
      CuratorFramework c = ctx.client(i);
      InterProcessMutex m = new InterProcessMutex(c, path);
      for (int r = 0; r < rounds; r++) {
        check(m.acquire(20, TimeUnit.SECONDS), "worker " + i + " acquires the mutex");
        try {
          maxOf(maxHolders, holders.incrementAndGet());
          bump(c, count);
        } finally {
          holders.decrementAndGet();
          m.release();
        }
      }
    });
    int total = counter(ctx.client(1), count);
    check(maxHolders.get() == 1, maxHolders.get() + " holders at once");
    check(total == workers * rounds, "counter " + total + ", want " + workers * rounds + " (lost updates: the lock was shared)");
    // Re-entrance, and another session kept out while it is held.
    InterProcessMutex a = new InterProcessMutex(ctx.client(0), path);
    InterProcessMutex other = new InterProcessMutex(ctx.client(1), path);
    a.acquire();
    a.acquire();
    check(!other.acquire(300, TimeUnit.MILLISECONDS), "another session acquired a held mutex");
    a.release();
    check(a.isAcquiredInThisProcess(), "a re-entered mutex released once is still held");
    a.release();
    check(other.acquire(WAIT_MS, TimeUnit.MILLISECONDS), "the other session acquires the released mutex");
    other.release();
    CuratorCheck.sync(ctx.client(2), path);
    // The lock's parent is a container: once empty it may be reaped (every 500 ms here), which
    // also means no lock node was left behind.
    List<String> left;
    try {
      left = ctx.client(2).getChildren().forPath(path);
    } catch (org.apache.zookeeper.KeeperException.NoNodeException e) {
      left = List.of();
    }
    check(left.isEmpty(), "lock nodes left behind: " + left);
    return workers + " workers x " + rounds + " exclusive increments, counter " + total;
  }

  static String readWriteLock(CuratorCheck.Ctx ctx) throws Exception {
    String path = "/curator/rwlock";
    InterProcessReadWriteLock rw0 = new InterProcessReadWriteLock(ctx.client(0), path);
    InterProcessReadWriteLock rw1 = new InterProcessReadWriteLock(ctx.client(1), path);
    InterProcessReadWriteLock rw2 = new InterProcessReadWriteLock(ctx.client(2), path);
    rw0.readLock().acquire();
    check(rw1.readLock().acquire(WAIT_MS, TimeUnit.MILLISECONDS), "a second reader shares the lock");
    check(!rw2.writeLock().acquire(300, TimeUnit.MILLISECONDS), "a writer got in while two readers held the lock");
    rw0.readLock().release();
    rw1.readLock().release();
    check(rw2.writeLock().acquire(WAIT_MS, TimeUnit.MILLISECONDS), "the writer gets the lock once readers leave");
    check(!rw0.readLock().acquire(300, TimeUnit.MILLISECONDS), "a reader got in while a writer held the lock");
    // Downgrade: the writer may take the read lock, then drop the write lock.
    check(rw2.readLock().acquire(WAIT_MS, TimeUnit.MILLISECONDS), "the writer takes the read lock (downgrade)");
    rw2.writeLock().release();
    check(!rw0.writeLock().acquire(300, TimeUnit.MILLISECONDS), "a writer got in while the downgraded reader held the lock");
    check(rw1.readLock().acquire(WAIT_MS, TimeUnit.MILLISECONDS), "another reader joins the downgraded reader");
    rw1.readLock().release();
    rw2.readLock().release();
    // Concurrent writers: counter by read-modify-write.
    String count = "/curator/rwlock-count";
    ctx.client(0).create().forPath(count, b("0"));
    AtomicInteger holders = new AtomicInteger();
    AtomicInteger maxHolders = new AtomicInteger();
    parallel(4, i -> {
      InterProcessReadWriteLock rw = new InterProcessReadWriteLock(ctx.client(i), path);
      for (int r = 0; r < 5; r++) {
        check(rw.writeLock().acquire(20, TimeUnit.SECONDS), "writer " + i + " acquires");
        try {
          maxOf(maxHolders, holders.incrementAndGet());
          bump(ctx.client(i), count);
        } finally {
          holders.decrementAndGet();
          rw.writeLock().release();
        }
      }
    });
    int total = counter(ctx.client(0), count);
    check(maxHolders.get() == 1 && total == 20, "writers: max " + maxHolders.get() + " at once, counter " + total + " (want 1, 20)");
    return "readers share, writers exclude, downgrade works; 4 writers x 5 increments, counter " + total;
  }

  static String semaphore(CuratorCheck.Ctx ctx) throws Exception {
    String path = "/curator/semaphore";
    AtomicInteger inside = new AtomicInteger();
    AtomicInteger maxInside = new AtomicInteger();
    AtomicInteger leases = new AtomicInteger();
    parallel(5, i -> {
      InterProcessSemaphoreV2 sem = new InterProcessSemaphoreV2(ctx.client(i), path, 2);
      for (int r = 0; r < 4; r++) {
        Lease lease = sem.acquire(20, TimeUnit.SECONDS);
        check(lease != null, "worker " + i + " gets a lease");
        try {
          maxOf(maxInside, inside.incrementAndGet());
          leases.incrementAndGet();
          Thread.sleep(15);
        } finally {
          inside.decrementAndGet();
          sem.returnLease(lease);
        }
      }
    });
    check(maxInside.get() <= 2, maxInside.get() + " leases out at once with maxLeases 2");
    check(maxInside.get() == 2, "never 2 leases out at once (max " + maxInside.get() + "): the semaphore serialised everyone");
    InterProcessSemaphoreV2 a = new InterProcessSemaphoreV2(ctx.client(0), path, 2);
    InterProcessSemaphoreV2 other = new InterProcessSemaphoreV2(ctx.client(1), path, 2);
    Collection<Lease> both = a.acquire(2, WAIT_MS, TimeUnit.MILLISECONDS);
    check(both != null && both.size() == 2, "one session takes both leases");
    check(other.acquire(300, TimeUnit.MILLISECONDS) == null, "a third lease was granted with maxLeases 2");
    a.returnAll(both);
    Lease l = other.acquire(WAIT_MS, TimeUnit.MILLISECONDS);
    check(l != null, "a lease is granted once returned");
    other.returnLease(l);
    return "5 workers x 4 leases, at most " + maxInside.get() + " at once (maxLeases 2)";
  }

  // ---------------------------------------------------------------- barriers

  static String barrier(CuratorCheck.Ctx ctx) throws Exception {
    String path = "/curator/barrier";
    DistributedBarrier owner = new DistributedBarrier(ctx.client(0), path);
    owner.setBarrier();
    CuratorCheck.sync(ctx.client(1), path);
    CuratorCheck.sync(ctx.client(2), path);
    check(!new DistributedBarrier(ctx.client(1), path).waitOnBarrier(300, TimeUnit.MILLISECONDS), "waitOnBarrier passed a set barrier");
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      List<Future<Boolean>> waiting = new ArrayList<>();
      for (int i = 1; i <= 2; i++) {
        DistributedBarrier b = new DistributedBarrier(ctx.client(i), path);
        waiting.add(pool.submit(() -> b.waitOnBarrier(20, TimeUnit.SECONDS)));
      }
      Thread.sleep(200); // let both register their watch (either way they must pass once removed)
      for (Future<Boolean> f : waiting) check(!f.isDone(), "a waiter passed before the barrier was removed");
      owner.removeBarrier();
      for (Future<Boolean> f : waiting) check(f.get(WAIT_MS, TimeUnit.MILLISECONDS), "a waiter passes the removed barrier");
    } finally {
      pool.shutdownNow();
    }
    return "2 waiters held, released by removeBarrier";
  }

  static String doubleBarrier(CuratorCheck.Ctx ctx) throws Exception {
    String path = "/curator/doubleBarrier";
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      List<DistributedDoubleBarrier> bs = new ArrayList<>();
      for (int i = 0; i < 3; i++) bs.add(new DistributedDoubleBarrier(ctx.client(i), path, 3));
      List<Future<Boolean>> enter = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        DistributedDoubleBarrier b = bs.get(i);
        enter.add(pool.submit(() -> b.enter(20, TimeUnit.SECONDS)));
      }
      waitFor(() -> {
        try {
          return ctx.client(0).checkExists().forPath(path) != null && ctx.client(0).getChildren().forPath(path).size() >= 2;
        } catch (Exception e) {
          return false;
        }
      }, "two members to enter");
      for (Future<Boolean> f : enter) check(!f.isDone(), "enter() returned with 2 of 3 members");
      DistributedDoubleBarrier third = bs.get(2);
      enter.add(pool.submit(() -> third.enter(20, TimeUnit.SECONDS)));
      for (Future<Boolean> f : enter) check(f.get(WAIT_MS, TimeUnit.MILLISECONDS), "every member enters once all 3 are there");
      List<Future<Boolean>> leave = new ArrayList<>();
      for (DistributedDoubleBarrier b : bs) leave.add(pool.submit(() -> b.leave(20, TimeUnit.SECONDS)));
      for (Future<Boolean> f : leave) check(f.get(WAIT_MS, TimeUnit.MILLISECONDS), "every member leaves");
    } finally {
      pool.shutdownNow();
    }
    return "3 members entered together and left together";
  }

  // ---------------------------------------------------------------- shared values

  static String atomicLong(CuratorCheck.Ctx ctx) throws Exception {
    String path = "/curator/atomicLong";
    AtomicInteger ok = new AtomicInteger();
    parallel(6, i -> {
      DistributedAtomicLong n = new DistributedAtomicLong(ctx.client(i), path, new RetryNTimes(200, 5));
      for (int r = 0; r < 10; r++) {
        AtomicValue<Long> v = n.increment();
        check(v.succeeded(), "worker " + i + " increment gave up");
        check(v.postValue() == v.preValue() + 1, "increment went " + v.preValue() + " -> " + v.postValue());
        ok.incrementAndGet();
      }
    });
    CuratorCheck.sync(ctx.client(2), path);
    DistributedAtomicLong n = new DistributedAtomicLong(ctx.client(2), path, new RetryNTimes(10, 5));
    long value = n.get().postValue();
    check(value == ok.get(), "value " + value + " after " + ok.get() + " successful increments");
    check(!n.compareAndSet(value + 7, 1L).succeeded(), "compareAndSet with a wrong expected value succeeded");
    check(n.compareAndSet(value, 1000L).succeeded() && n.get().postValue() == 1000L, "compareAndSet with the right expected value");
    return ok.get() + " concurrent increments, none lost; compareAndSet honoured";
  }

  static String sharedCount(CuratorCheck.Ctx ctx) throws Exception {
    String path = "/curator/sharedCount";
    SharedCount a = new SharedCount(ctx.client(0), path, 0);
    SharedCount b = new SharedCount(ctx.client(1), path, 0);
    List<Integer> seen = new CopyOnWriteArrayList<>();
    b.addListener(new org.apache.curator.framework.recipes.shared.SharedCountListener() {
      public void countHasChanged(org.apache.curator.framework.recipes.shared.SharedCountReader r, int v) {
        seen.add(v);
      }

      public void stateChanged(CuratorFramework c, org.apache.curator.framework.state.ConnectionState s) {}
    });
    a.start();
    b.start();
    try {
      a.setCount(5);
      waitFor(() -> b.getCount() == 5, "the other session to see 5");
      VersionedValue<Integer> stale = b.getVersionedValue();
      a.setCount(6);
      waitFor(() -> b.getCount() == 6, "the other session to see 6");
      check(!b.trySetCount(stale, 99), "trySetCount with a stale version succeeded");
      check(b.trySetCount(b.getVersionedValue(), 7), "trySetCount with the current version");
      waitFor(() -> a.getCount() == 7, "the first session to see 7");
      check(seen.contains(5) && seen.contains(6), "listener saw " + seen);
    } finally {
      a.close();
      b.close();
    }
    return "values seen across sessions " + seen + "; stale trySetCount refused";
  }


  // ---------------------------------------------------------------- queues

  static String queue(CuratorCheck.Ctx ctx) throws Exception {
    String path = "/curator/queue";
    int items = 30;
    java.util.Map<String, String> taken = new java.util.concurrent.ConcurrentHashMap<>();
    List<String> duplicates = new CopyOnWriteArrayList<>();
    org.apache.curator.framework.recipes.queue.QueueSerializer<String> ser = new org.apache.curator.framework.recipes.queue.QueueSerializer<>() {
      public byte[] serialize(String item) {
        return b(item);
      }

      public String deserialize(byte[] bytes) {
        return s(bytes);
      }
    };
    List<org.apache.curator.framework.recipes.queue.DistributedQueue<String>> queues = new ArrayList<>();
    try {
      for (int i = 1; i <= 2; i++) {
        String who = "consumer" + i;
        org.apache.curator.framework.recipes.queue.QueueConsumer<String> consumer = new org.apache.curator.framework.recipes.queue.QueueConsumer<>() {
          public void consumeMessage(String item) {
            if (taken.putIfAbsent(item, who) != null) duplicates.add(item);
          }

          public void stateChanged(CuratorFramework c, org.apache.curator.framework.state.ConnectionState st) {}
        };
        org.apache.curator.framework.recipes.queue.DistributedQueue<String> q =
            org.apache.curator.framework.recipes.queue.QueueBuilder.builder(ctx.client(i), consumer, ser, path).buildQueue();
        q.start();
        queues.add(q);
      }
      org.apache.curator.framework.recipes.queue.DistributedQueue<String> producer =
          org.apache.curator.framework.recipes.queue.QueueBuilder.builder(ctx.client(0), null, ser, path).buildQueue();
      producer.start();
      queues.add(producer);
      for (int i = 0; i < items; i++) producer.put("item-" + i);
      waitFor(() -> taken.size() == items, "all " + items + " items to be consumed (" + taken.size() + " so far)");
      check(duplicates.isEmpty(), "items consumed twice: " + duplicates);
    } finally {
      for (org.apache.curator.framework.recipes.queue.DistributedQueue<String> q : queues) q.close();
    }
    long byFirst = taken.values().stream().filter("consumer1"::equals).count();
    return items + " items consumed exactly once (" + byFirst + " by one consumer, " + (items - byFirst) + " by the other)";
  }
}
