// The failover scenario: a LeaderLatch pair, a lock holder with a blocked contender and a
// CuratorCache are live when the harness kills the ensemble's leader (kill -9). Curator must
// reconnect every session without losing it, the latch must elect again, the cache must catch up
// with writes made after the failover, and the lock must never be held by both sessions.

import java.io.BufferedReader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.state.ConnectionState;

final class Failover {
  private Failover() {}

  static final long RECOVER_MS = 45_000;

  static String run(CuratorCheck.Ctx ctx, BufferedReader stdin) throws Exception {
    String base = "/curator/failover";
    CuratorFramework a = ctx.client(0);
    CuratorFramework b = ctx.client(1);
    CuratorFramework c = ctx.client(2);
    Map<String, List<ConnectionState>> states = new ConcurrentHashMap<>();
    String[] names = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
      List<ConnectionState> l = new java.util.concurrent.CopyOnWriteArrayList<>();
      states.put(names[i], l);
      ctx.client(i).getConnectionStateListenable().addListener((cf, s) -> l.add(s));
    }
    long[] sessions = new long[3];
    for (int i = 0; i < 3; i++) sessions[i] = ctx.client(i).getZookeeperClient().getZooKeeper().getSessionId();

    // Leader latch: two participants.
    LeaderLatch la = new LeaderLatch(a, base + "/latch", "la");
    LeaderLatch lb = new LeaderLatch(b, base + "/latch", "lb");
    la.start();
    lb.start();
    // Lock: a holds it; b waits for it on its own thread.
    InterProcessMutex ma = new InterProcessMutex(a, base + "/lock");
    InterProcessMutex mb = new InterProcessMutex(b, base + "/lock");
    AtomicInteger holders = new AtomicInteger();
    AtomicInteger maxHolders = new AtomicInteger();
    ma.acquire();
    holders.incrementAndGet();
    ExecutorService pool = Executors.newSingleThreadExecutor();
    CountDownLatch bHolds = new CountDownLatch(1);
    CountDownLatch bRelease = new CountDownLatch(1);
    Future<?> contender = pool.submit(() -> {
      if (!mb.acquire(RECOVER_MS + 30_000, TimeUnit.MILLISECONDS)) throw new IllegalStateException("b never got the lock");
      maxHolders.accumulateAndGet(holders.incrementAndGet(), Math::max);
      bHolds.countDown();
      bRelease.await();
      holders.decrementAndGet();
      mb.release();
      return null;
    });
    // Cache: c watches a subtree that a writes to.
    String data = base + "/data";
    a.create().creatingParentsIfNeeded().forPath(data);
    CuratorCache cache = CuratorCache.build(c, data);
    CountDownLatch initialized = new CountDownLatch(1);
    cache.listenable().addListener(CuratorCacheListener.builder().forInitialized(initialized::countDown).build());
    cache.start();
    try {
      CuratorCheck.check(initialized.await(10, TimeUnit.SECONDS), "the cache initializes");
      for (int i = 0; i < 5; i++) a.create().forPath(data + "/before-" + i, CuratorCheck.bytes("v" + i));
      CuratorCheck.waitFor(() -> la.hasLeadership() ^ lb.hasLeadership(), 10_000, "one latch to lead before the failover");
      CuratorCheck.waitFor(() -> cache.size() == 6, 10_000, "the cache to hold the 5 nodes written before the failover");
      String leaderBefore = la.hasLeadership() ? "la" : "lb";
      CuratorCheck.check(bHolds.getCount() == 1, "b got the lock while a held it");

      CuratorCheck.emit("FAILOVER READY");
      String go = stdin.readLine();
      CuratorCheck.check(go != null && go.startsWith("GO"), "the harness did not kill the leader (it said: " + go + ")");

      // Every session comes back (the same session: nothing LOST).
      for (int i = 0; i < 3; i++) {
        CuratorCheck.check(ctx.client(i).blockUntilConnected((int) RECOVER_MS, TimeUnit.MILLISECONDS), "client " + names[i] + " reconnects");
      }
      // Writes after the failover, then the cache must match the server's tree.
      for (int i = 0; i < 5; i++) a.create().forPath(data + "/after-" + i, CuratorCheck.bytes("w" + i));
      a.setData().forPath(data + "/before-0", CuratorCheck.bytes("changed"));
      a.delete().forPath(data + "/before-1");
      CuratorCheck.waitFor(() -> {
        try {
          return snapshot(cache, data).equals(server(c, data));
        } catch (Exception e) {
          return false;
        }
      }, RECOVER_MS, "the cache to catch up with the server");
      for (int i = 0; i < 3; i++) {
        List<ConnectionState> l = states.get(names[i]);
        CuratorCheck.check(!l.contains(ConnectionState.LOST), "client " + names[i] + " lost its session: " + l);
        long now = ctx.client(i).getZookeeperClient().getZooKeeper().getSessionId();
        CuratorCheck.check(now == sessions[i], "client " + names[i] + " has a new session");
      }
      // Not vacuous: the kill reached the clients (a member that loses its leader drops its clients).
      CuratorCheck.check(states.values().stream().anyMatch(l -> l.contains(ConnectionState.SUSPENDED)), "no client noticed the failover: " + states);
      // The latch elects one leader again and both agree on it.
      CuratorCheck.waitFor(() -> {
        try {
          return (la.hasLeadership() ^ lb.hasLeadership()) && la.getLeader().getId().equals(lb.getLeader().getId())
              && la.getLeader().isLeader();
        } catch (Exception e) {
          return false;
        }
      }, RECOVER_MS, "one latch to lead after the failover");
      String leaderAfter = la.hasLeadership() ? "la" : "lb";
      // The lock: a still holds it, b still waits; once a releases, b gets it.
      CuratorCheck.check(ma.isAcquiredInThisProcess(), "a no longer holds the lock");
      CuratorCheck.check(!bHolds.await(500, TimeUnit.MILLISECONDS), "b got the lock while a held it (after the failover)");
      holders.decrementAndGet();
      ma.release();
      CuratorCheck.check(bHolds.await(RECOVER_MS, TimeUnit.MILLISECONDS), "b gets the lock a released");
      bRelease.countDown();
      contender.get(10, TimeUnit.SECONDS);
      CuratorCheck.check(maxHolders.get() == 1, maxHolders.get() + " lock holders at once");
      // Nothing acknowledged before the kill is gone.
      CuratorCheck.sync(b, data);
      for (int i = 2; i < 5; i++) {
        CuratorCheck.check(("v" + i).equals(CuratorCheck.str(b.getData().forPath(data + "/before-" + i))), "before-" + i + " kept");
      }
      StringBuilder seen = new StringBuilder();
      for (int i = 0; i < 3; i++) seen.append(names[i]).append('=').append(states.get(names[i])).append(' ');
      return "latch " + leaderBefore + " -> " + leaderAfter + ", lock handed a -> b once, cache " + cache.size()
          + " nodes in step; states " + seen.toString().trim();
    } finally {
      bRelease.countDown();
      pool.shutdownNow();
      cache.close();
      la.close();
      lb.close();
    }
  }

  /** The cache's view of the subtree below `root`: path -> data. */
  private static Map<String, String> snapshot(CuratorCache cache, String root) {
    Map<String, String> m = new TreeMap<>();
    cache.stream().filter(d -> !d.getPath().equals(root)).forEach((ChildData d) -> m.put(d.getPath(), CuratorCheck.str(d.getData())));
    return m;
  }

  /** The server's view of the children of `root`: path -> data. */
  private static Map<String, String> server(CuratorFramework c, String root) throws Exception {
    Map<String, String> m = new TreeMap<>();
    List<String> kids = new ArrayList<>(c.getChildren().forPath(root));
    for (String k : kids) m.put(root + "/" + k, CuratorCheck.str(c.getData().forPath(root + "/" + k)));
    return m;
  }
}
