// CuratorCheck's cache and watcher scenarios: a second session watches while the first writes, and
// every create, update and delete must reach the cache or watcher (each step waited for in turn, so
// coalesced updates cannot hide a lost event).

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.cache.NodeCache;
import org.apache.curator.framework.recipes.cache.PathChildrenCache;
import org.apache.curator.framework.recipes.cache.TreeCache;
import org.apache.curator.framework.recipes.watch.PersistentWatcher;

final class Caches {
  private Caches() {}

  private static final long WAIT_MS = Recipes.WAIT_MS;

  private static void check(boolean ok, String what) throws CuratorCheck.Failure {
    CuratorCheck.check(ok, what);
  }

  private static void waitFor(java.util.function.BooleanSupplier c, String what) throws Exception {
    CuratorCheck.waitFor(c, WAIT_MS, what);
  }

  private static byte[] b(String s) {
    return CuratorCheck.bytes(s);
  }

  private static String s(byte[] b) {
    return CuratorCheck.str(b);
  }

  static String curatorCache(CuratorCheck.Ctx ctx) throws Exception {
    String path = "/curator/cache";
    CuratorFramework w = ctx.client(0);
    w.create().creatingParentsIfNeeded().forPath(path, b("root"));
    w.create().forPath(path + "/pre", b("p"));
    // The watching session's server must have the writer's setup first, or it is seen as new events.
    CuratorCheck.sync(ctx.client(1), path);
    List<String> events = new CopyOnWriteArrayList<>();
    CountDownLatch initialized = new CountDownLatch(1);
    CuratorCache cache = CuratorCache.build(ctx.client(1), path);
    cache.listenable().addListener(CuratorCacheListener.builder()
        .forCreates(n -> events.add("create " + n.getPath() + "=" + s(n.getData())))
        .forChanges((o, n) -> events.add("change " + n.getPath() + "=" + s(n.getData())))
        .forDeletes(o -> events.add("delete " + o.getPath()))
        .forInitialized(initialized::countDown)
        .build());
    cache.start();
    try {
      check(initialized.await(WAIT_MS, TimeUnit.MILLISECONDS), "the cache initializes");
      check(events.contains("create " + path + "=root") && events.contains("create " + path + "/pre=p"), "initial events " + events);
      check(cache.size() == 2, "initial size " + cache.size());
      String[][] steps = {
        {"create", path + "/a", "1", "create " + path + "/a=1"},
        {"create", path + "/a/b", "2", "create " + path + "/a/b=2"},
        {"set", path + "/a", "3", "change " + path + "/a=3"},
        {"set", path, "root2", "change " + path + "=root2"},
        {"delete", path + "/a/b", "", "delete " + path + "/a/b"},
        {"delete", path + "/a", "", "delete " + path + "/a"},
        {"delete", path + "/pre", "", "delete " + path + "/pre"},
      };
      for (String[] st : steps) {
        switch (st[0]) {
          case "create" -> w.create().forPath(st[1], b(st[2]));
          case "set" -> w.setData().forPath(st[1], b(st[2]));
          default -> w.delete().forPath(st[1]);
        }
        waitFor(() -> events.contains(st[3]), "cache event '" + st[3] + "' (seen " + events + ")");
      }
      check(cache.size() == 1 && "root2".equals(s(cache.get(path).orElseThrow().getData())), "final cache " + cache.size() + " nodes");
    } finally {
      cache.close();
    }
    return events.size() + " events, creates/updates/deletes all seen";
  }

  @SuppressWarnings("deprecation")
  static String pathChildrenCache(CuratorCheck.Ctx ctx) throws Exception {
    String path = "/curator/pcc";
    CuratorFramework w = ctx.client(0);
    w.create().creatingParentsIfNeeded().forPath(path + "/pre", b("p"));
    CuratorCheck.sync(ctx.client(1), path);
    List<String> events = new CopyOnWriteArrayList<>();
    PathChildrenCache cache = new PathChildrenCache(ctx.client(1), path, true);
    cache.getListenable().addListener((c, e) -> events.add(e.getType() + (e.getData() == null ? "" : " " + e.getData().getPath() + "=" + s(e.getData().getData()))));
    cache.start(PathChildrenCache.StartMode.BUILD_INITIAL_CACHE);
    try {
      check(cache.getCurrentData().size() == 1 && "p".equals(s(cache.getCurrentData(path + "/pre").getData())), "initial " + cache.getCurrentData());
      w.create().forPath(path + "/a", b("1"));
      waitFor(() -> events.contains("CHILD_ADDED " + path + "/a=1"), "CHILD_ADDED (seen " + events + ")");
      w.setData().forPath(path + "/a", b("2"));
      waitFor(() -> events.contains("CHILD_UPDATED " + path + "/a=2"), "CHILD_UPDATED (seen " + events + ")");
      w.delete().forPath(path + "/a");
      waitFor(() -> events.stream().anyMatch(x -> x.startsWith("CHILD_REMOVED " + path + "/a=")), "CHILD_REMOVED (seen " + events + ")");
      check(cache.getCurrentData().size() == 1, "final " + cache.getCurrentData());
    } finally {
      cache.close();
    }
    return "CHILD_ADDED/UPDATED/REMOVED seen";
  }

  static String nodeCache(CuratorCheck.Ctx ctx) throws Exception {
    String path = "/curator/nodeCache";
    CuratorFramework w = ctx.client(0);
    AtomicInteger changes = new AtomicInteger();
    @SuppressWarnings("deprecation")
    NodeCache cache = new NodeCache(ctx.client(1), path);
    cache.getListenable().addListener(changes::incrementAndGet);
    cache.start(true);
    try {
      check(cache.getCurrentData() == null, "a missing node is cached as absent");
      w.create().creatingParentsIfNeeded().forPath(path, b("1"));
      waitFor(() -> cache.getCurrentData() != null && "1".equals(s(cache.getCurrentData().getData())), "the created node");
      w.setData().forPath(path, b("2"));
      waitFor(() -> cache.getCurrentData() != null && "2".equals(s(cache.getCurrentData().getData())), "the update");
      w.delete().forPath(path);
      waitFor(() -> cache.getCurrentData() == null, "the delete");
      w.create().forPath(path, b("3"));
      waitFor(() -> cache.getCurrentData() != null && "3".equals(s(cache.getCurrentData().getData())), "the re-created node");
    } finally {
      cache.close();
    }
    return "create/update/delete/re-create seen, " + changes.get() + " listener calls";
  }

  static String treeCache(CuratorCheck.Ctx ctx) throws Exception {
    String path = "/curator/treeCache";
    CuratorFramework w = ctx.client(0);
    w.create().creatingParentsIfNeeded().forPath(path + "/x", b("x"));
    CuratorCheck.sync(ctx.client(1), path);
    List<String> events = new CopyOnWriteArrayList<>();
    @SuppressWarnings("deprecation")
    TreeCache cache = TreeCache.newBuilder(ctx.client(1), path).build();
    cache.getListenable().addListener((c, e) -> events.add(e.getType() + (e.getData() == null ? "" : " " + e.getData().getPath())));
    cache.start();
    try {
      waitFor(() -> events.contains("INITIALIZED"), "INITIALIZED (seen " + events + ")");
      check(events.contains("NODE_ADDED " + path) && events.contains("NODE_ADDED " + path + "/x"), "initial events " + events);
      w.create().forPath(path + "/x/y", b("y"));
      waitFor(() -> events.contains("NODE_ADDED " + path + "/x/y"), "NODE_ADDED of a grandchild (seen " + events + ")");
      w.setData().forPath(path + "/x/y", b("y2"));
      waitFor(() -> events.contains("NODE_UPDATED " + path + "/x/y"), "NODE_UPDATED (seen " + events + ")");
      check("y2".equals(s(cache.getCurrentData(path + "/x/y").getData())), "cached data of the grandchild");
      w.delete().deletingChildrenIfNeeded().forPath(path + "/x");
      waitFor(() -> events.contains("NODE_REMOVED " + path + "/x/y") && events.contains("NODE_REMOVED " + path + "/x"), "NODE_REMOVED (seen " + events + ")");
      check(cache.getCurrentChildren(path).isEmpty(), "children left " + cache.getCurrentChildren(path));
    } finally {
      cache.close();
    }
    return events.size() + " events, nested adds/updates/removes seen";
  }

  static String persistentWatcher(CuratorCheck.Ctx ctx) throws Exception {
    String path = "/curator/pwatch";
    CuratorFramework w = ctx.client(0);
    w.create().creatingParentsIfNeeded().forPath(path, b("0"));
    CuratorCheck.sync(ctx.client(1), path);
    CuratorCheck.sync(ctx.client(2), path);
    List<String> rec = new CopyOnWriteArrayList<>();
    List<String> flat = new CopyOnWriteArrayList<>();
    PersistentWatcher recursive = new PersistentWatcher(ctx.client(1), path, true);
    PersistentWatcher single = new PersistentWatcher(ctx.client(2), path, false);
    CountDownLatch set = new CountDownLatch(2);
    recursive.getListenable().addListener(e -> rec.add(e.getType() + " " + e.getPath()));
    single.getListenable().addListener(e -> flat.add(e.getType() + " " + e.getPath()));
    recursive.getResetListenable().addListener(set::countDown);
    single.getResetListenable().addListener(set::countDown);
    recursive.start();
    single.start();
    try {
      check(set.await(WAIT_MS, TimeUnit.MILLISECONDS), "both addWatch calls succeed");
      w.create().forPath(path + "/a", b("1"));
      w.create().forPath(path + "/a/b", b("2"));
      w.setData().forPath(path + "/a/b", b("3"));
      w.setData().forPath(path, b("1"));
      w.setData().forPath(path, b("2"));
      w.delete().forPath(path + "/a/b");
      List<String> wantRec = List.of(
          "NodeCreated " + path + "/a", "NodeCreated " + path + "/a/b", "NodeDataChanged " + path + "/a/b",
          "NodeDataChanged " + path, "NodeDataChanged " + path, "NodeDeleted " + path + "/a/b");
      waitFor(() -> rec.size() >= wantRec.size(), "recursive watch events " + wantRec + " (seen " + rec + ")");
      check(rec.equals(wantRec), "recursive events " + rec + ", want " + wantRec);
      List<String> wantFlat = List.of("NodeChildrenChanged " + path, "NodeDataChanged " + path, "NodeDataChanged " + path);
      waitFor(() -> flat.size() >= wantFlat.size(), "persistent watch events " + wantFlat + " (seen " + flat + ")");
      check(flat.equals(wantFlat), "persistent (non-recursive) events " + flat + ", want " + wantFlat);
    } finally {
      recursive.close();
      single.close();
    }
    return "recursive: " + rec.size() + " events; persistent: " + flat.size() + " events, in order";
  }

}
