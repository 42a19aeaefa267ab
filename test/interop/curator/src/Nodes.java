// CuratorCheck's node and session scenarios: transactions, ACLs, persistent and TTL nodes, the
// ensemble's /zookeeper/config as Curator reads it, and an expired session that Curator replaces.

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.recipes.nodes.PersistentNode;
import org.apache.curator.framework.recipes.nodes.PersistentTtlNode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;

final class Nodes {
  private Nodes() {}

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

  static String transaction(CuratorCheck.Ctx ctx) throws Exception {
    String path = "/curator/txn";
    CuratorFramework c = ctx.client(0);
    c.create().creatingParentsIfNeeded().forPath(path, b("0"));
    List<CuratorTransactionResult> rs = c.transaction().forOperations(
        c.transactionOp().create().forPath(path + "/a", b("a")),
        c.transactionOp().setData().withVersion(0).forPath(path, b("1")),
        c.transactionOp().check().withVersion(1).forPath(path));
    check(rs.size() == 3 && (path + "/a").equals(rs.get(0).getForPath()), "results " + rs.size());
    try {
      c.transaction().forOperations(
          c.transactionOp().create().forPath(path + "/b", b("b")),
          c.transactionOp().setData().withVersion(0).forPath(path, b("2")));
      throw new CuratorCheck.Failure("a transaction with a stale version committed");
    } catch (KeeperException.BadVersionException expected) {
      // the whole transaction is refused
    }
    CuratorCheck.sync(ctx.client(1), path);
    check(ctx.client(1).checkExists().forPath(path + "/b") == null, "the refused transaction's create was applied");
    check("1".equals(s(ctx.client(1).getData().forPath(path))), "the data after the refused transaction");
    return "committed atomically; a BADVERSION transaction left nothing behind";
  }

  // ---------------------------------------------------------------- nodes

  static String persistentNode(CuratorCheck.Ctx ctx) throws Exception {
    String path = "/curator/persistentNode";
    CuratorFramework other = ctx.client(1);
    other.create().creatingParentsIfNeeded().forPath("/curator/pn-parent");
    PersistentNode pn = new PersistentNode(ctx.client(0), CreateMode.EPHEMERAL, false, path, b("x"));
    pn.start();
    try {
      check(pn.waitForInitialCreate(WAIT_MS, TimeUnit.MILLISECONDS), "the initial create");
      CuratorCheck.sync(other, path);
      Stat st = other.checkExists().forPath(path);
      long owner = ctx.client(0).getZookeeperClient().getZooKeeper().getSessionId();
      check(st != null && st.getEphemeralOwner() == owner, "the node is an ephemeral of the owning session");
      other.delete().forPath(path);
      waitFor(() -> {
        try {
          Stat s2 = other.checkExists().forPath(path);
          return s2 != null && s2.getCzxid() != st.getCzxid();
        } catch (Exception e) {
          return false;
        }
      }, "the deleted node to be re-created");
      pn.setData(b("y"));
      waitFor(() -> {
        try {
          return "y".equals(s(other.getData().forPath(path)));
        } catch (Exception e) {
          return false;
        }
      }, "the new data");
    } finally {
      pn.close();
    }
    waitFor(() -> {
      try {
        return other.checkExists().forPath(path) == null;
      } catch (Exception e) {
        return false;
      }
    }, "the node to be gone after close");
    return "re-created after delete, data updated, removed on close";
  }

  static String ttlNode(CuratorCheck.Ctx ctx) throws Exception {
    String path = "/curator/ttl/node";
    CuratorFramework c = ctx.client(0);
    c.create().withTtl(500).creatingParentsIfNeeded().withMode(CreateMode.PERSISTENT_WITH_TTL).forPath(path, b("t"));
    CuratorCheck.sync(ctx.client(1), path);
    Stat st = ctx.client(1).checkExists().forPath(path);
    // ZooKeeper keeps the TTL in the node's ephemeralOwner internally but shows clients 0.
    check(st != null && st.getEphemeralOwner() == 0, "the TTL node exists, ephemeralOwner " + (st == null ? "-" : st.getEphemeralOwner()) + " (want 0)");
    CuratorCheck.waitFor(() -> {
      try {
        return c.checkExists().forPath(path) == null;
      } catch (Exception e) {
        return false;
      }
    }, 20_000, "the TTL node to expire");
    return "PERSISTENT_WITH_TTL created and expired";
  }

  static String persistentTtlNode(CuratorCheck.Ctx ctx) throws Exception {
    String path = "/curator/ttl/persistent";
    CuratorFramework other = ctx.client(1);
    PersistentTtlNode node = new PersistentTtlNode(ctx.client(0), path, 500, b("d"));
    node.start();
    try {
      check(node.waitForInitialCreate(WAIT_MS, TimeUnit.MILLISECONDS), "the initial create");
      waitFor(() -> {
        try {
          return other.checkExists().forPath(path + "/" + PersistentTtlNode.DEFAULT_CHILD_NODE_NAME) != null;
        } catch (Exception e) {
          return false;
        }
      }, "the touch child");
      check("d".equals(s(other.getData().forPath(path))), "the container's data");
      Thread.sleep(1500); // longer than the TTL: kept alive by the touches
      check(other.checkExists().forPath(path) != null, "the node outlives its TTL while the recipe runs");
    } finally {
      node.close();
    }
    CuratorCheck.waitFor(() -> {
      try {
        return other.checkExists().forPath(path) == null;
      } catch (Exception e) {
        return false;
      }
    }, 25_000, "the container to be reaped after close");
    return "kept alive past its TTL, reaped after close";
  }


  // ---------------------------------------------------------------- sessions, ACLs, configuration

  static String aclDigest(CuratorCheck.Ctx ctx) throws Exception {
    String path = "/curator/acl/secret";
    List<org.apache.zookeeper.data.ACL> creatorAll = org.apache.zookeeper.ZooDefs.Ids.CREATOR_ALL_ACL;
    CuratorFramework alice = org.apache.curator.framework.CuratorFrameworkFactory.builder()
        .connectString(ctx.connectString)
        .sessionTimeoutMs(CuratorCheck.SESSION_TIMEOUT_MS)
        .retryPolicy(new org.apache.curator.retry.ExponentialBackoffRetry(100, 10, 1000))
        .authorization("digest", b("alice:secret"))
        .aclProvider(new org.apache.curator.framework.api.ACLProvider() {
          public List<org.apache.zookeeper.data.ACL> getDefaultAcl() {
            return creatorAll;
          }

          public List<org.apache.zookeeper.data.ACL> getAclForPath(String p) {
            return creatorAll;
          }
        })
        .build();
    alice.start();
    try {
      alice.create().creatingParentsIfNeeded().forPath(path, b("s"));
      check("s".equals(s(alice.getData().forPath(path))), "the owner reads its node");
      List<org.apache.zookeeper.data.ACL> acl = alice.getACL().forPath(path);
      String want = org.apache.zookeeper.server.auth.DigestAuthenticationProvider.generateDigest("alice:secret");
      check(acl.size() == 1 && acl.get(0).getId().getScheme().equals("digest") && acl.get(0).getId().getId().equals(want)
          && acl.get(0).getPerms() == org.apache.zookeeper.ZooDefs.Perms.ALL, "ACL " + acl + ", want digest " + want + " ALL");
      CuratorCheck.sync(ctx.client(1), path);
      try {
        ctx.client(1).getData().forPath(path);
        throw new CuratorCheck.Failure("a session without the digest read the node");
      } catch (KeeperException.NoAuthException expected) {
        // refused, as the ACL says
      }
      try {
        ctx.client(1).setData().forPath(path, b("x"));
        throw new CuratorCheck.Failure("a session without the digest wrote the node");
      } catch (KeeperException.NoAuthException expected) {
        // refused
      }
    } finally {
      alice.close();
    }
    return "creator-only digest ACL set through Curator's ACLProvider, other sessions refused";
  }

  static String sessionExpiry(CuratorCheck.Ctx ctx) throws Exception {
    String path = "/curator/expiry/node";
    CuratorFramework victim = CuratorCheck.newClient(ctx.connectString);
    List<String> states = new CopyOnWriteArrayList<>();
    victim.getConnectionStateListenable().addListener((c, st) -> states.add(st.name()));
    victim.start();
    PersistentNode pn = null;
    org.apache.curator.framework.recipes.leader.LeaderLatch latch = null;
    try {
      check(victim.blockUntilConnected(10, TimeUnit.SECONDS), "the client connects");
      victim.create().creatingParentsIfNeeded().forPath("/curator/expiry");
      pn = new PersistentNode(victim, CreateMode.EPHEMERAL, false, path, b("e"));
      pn.start();
      check(pn.waitForInitialCreate(WAIT_MS, TimeUnit.MILLISECONDS), "the initial create");
      latch = new org.apache.curator.framework.recipes.leader.LeaderLatch(victim, "/curator/expiry/latch", "only");
      latch.start();
      org.apache.curator.framework.recipes.leader.LeaderLatch l = latch;
      waitFor(l::hasLeadership, "the single latch to lead");
      org.apache.zookeeper.ZooKeeper zk = victim.getZookeeperClient().getZooKeeper();
      long old = zk.getSessionId();
      // Expire the session as Curator's own test kit does: a second connection takes the session over
      // (same id and password) and closes it.
      CountDownLatch connected = new CountDownLatch(1);
      org.apache.zookeeper.ZooKeeper thief = new org.apache.zookeeper.ZooKeeper(ctx.connectString, CuratorCheck.SESSION_TIMEOUT_MS, e -> {
        if (e.getState() == org.apache.zookeeper.Watcher.Event.KeeperState.SyncConnected) connected.countDown();
      }, old, zk.getSessionPasswd());
      check(connected.await(WAIT_MS, TimeUnit.MILLISECONDS), "a second connection takes the session over");
      thief.close();
      CuratorCheck.waitFor(() -> states.contains("LOST") && states.lastIndexOf("RECONNECTED") > states.indexOf("LOST"), 30_000,
          "LOST then RECONNECTED (seen " + states + ")");
      long now = victim.getZookeeperClient().getZooKeeper().getSessionId();
      check(now != old, "Curator kept the expired session id");
      CuratorFramework other = ctx.client(1);
      waitFor(() -> {
        try {
          CuratorCheck.sync(other, path);
          Stat st = other.checkExists().forPath(path);
          return st != null && st.getEphemeralOwner() == now;
        } catch (Exception e) {
          return false;
        }
      }, "the ephemeral to be re-created by the new session");
      waitFor(l::hasLeadership, "the latch to lead again in the new session");
    } finally {
      if (latch != null) latch.close();
      if (pn != null) pn.close();
      victim.close();
    }
    return "session expired and replaced: " + states + "; ephemeral and latch restored";
  }

  static String ensembleConfig(CuratorCheck.Ctx ctx) throws Exception {
    CuratorFramework c = ctx.client(0);
    byte[] raw = c.getConfig().forEnsemble();
    java.util.Properties p = new java.util.Properties();
    p.load(new java.io.StringReader(s(raw)));
    // The same parser Curator's EnsembleTracker hands /zookeeper/config to.
    org.apache.zookeeper.server.quorum.flexible.QuorumMaj qv = new org.apache.zookeeper.server.quorum.flexible.QuorumMaj(p);
    java.util.Set<String> fromConfig = new java.util.TreeSet<>();
    for (org.apache.zookeeper.server.quorum.QuorumPeer.QuorumServer qs : qv.getAllMembers().values()) {
      check(qs.clientAddr != null, "server." + qs.id + " has no client address in /zookeeper/config: " + s(raw).trim());
      fromConfig.add(qs.clientAddr.getHostString() + ":" + qs.clientAddr.getPort());
    }
    java.util.Set<String> given = new java.util.TreeSet<>(List.of(ctx.connectString.split(",")));
    check(fromConfig.equals(given), "/zookeeper/config lists clients " + fromConfig + ", the ensemble is " + given);
    // Curator's ensemble tracker applies it to the connection string: still the same servers.
    java.util.Set<String> current = new java.util.TreeSet<>(List.of(c.getZookeeperClient().getCurrentConnectionString().split(",")));
    check(current.equals(given), "Curator's connection string became " + current);
    return "/zookeeper/config names the " + fromConfig.size() + " members' client ports (version " + Long.toHexString(qv.getVersion()) + ")";
  }

  static String groupMember(CuratorCheck.Ctx ctx) throws Exception {
    String path = "/curator/group";
    List<org.apache.curator.framework.recipes.nodes.GroupMember> members = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        org.apache.curator.framework.recipes.nodes.GroupMember g =
            new org.apache.curator.framework.recipes.nodes.GroupMember(ctx.client(i), path, "m" + i, b("payload" + i));
        g.start();
        members.add(g);
      }
      for (org.apache.curator.framework.recipes.nodes.GroupMember g : members) {
        waitFor(() -> g.getCurrentMembers().keySet().equals(java.util.Set.of("m0", "m1", "m2")), "every member to see all three");
      }
      check("payload2".equals(s(members.get(0).getCurrentMembers().get("m2"))), "m0 sees m2's payload");
      members.get(2).setThisData(b("changed"));
      waitFor(() -> "changed".equals(s(members.get(0).getCurrentMembers().get("m2"))), "m0 to see m2's new payload");
      members.remove(2).close();
      for (org.apache.curator.framework.recipes.nodes.GroupMember g : members) {
        waitFor(() -> g.getCurrentMembers().keySet().equals(java.util.Set.of("m0", "m1")), "the others to see m2 leave");
      }
    } finally {
      for (org.apache.curator.framework.recipes.nodes.GroupMember g : members) g.close();
    }
    return "3 members saw each other, a payload change and a departure";
  }
}
