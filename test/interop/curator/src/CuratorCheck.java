// The Curator interop check: Apache Curator's recipes, unchanged, against one ZooKeeper ensemble
// (ours or Apache's), each scenario asserting what the recipe promises. test/interop/curator.test.ts
// compiles this against the jars of scripts/fetch-curator.sh and runs it once per server kind.
//
//   java -cp <classes>:<lib>/* CuratorCheck <connectString> [--ttl] [--failover] [--only a,b]
//
// Output (stdout), one line per scenario, then a summary:
//   RESULT <scenario> PASS|FAIL <detail on one line>
//   FAILOVER READY            (with --failover: kill the leader now, then write one line to stdin)
//   DONE passed=<n> failed=<m>
// Curator's own logging goes to stderr (slf4j-simple).

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;

public final class CuratorCheck {
  /** A scenario body: throws (Failure or anything else) to fail, returns a short detail to pass. */
  interface Scenario {
    String run(Ctx ctx) throws Exception;
  }

  /** An assertion that did not hold. */
  static final class Failure extends Exception {
    private static final long serialVersionUID = 1L;

    Failure(String message) {
      super(message);
    }
  }

  /** What every scenario gets: three independent clients (three sessions) on the same ensemble. */
  static final class Ctx {
    final String connectString;
    final List<CuratorFramework> clients = new ArrayList<>();
    final boolean ttl;

    Ctx(String connectString, boolean ttl) {
      this.connectString = connectString;
      this.ttl = ttl;
    }

    CuratorFramework client(int i) {
      return clients.get(i % clients.size());
    }
  }

  /** Each scenario's deadline; the failover has its own (it waits for the ensemble to recover). */
  static final long SCENARIO_DEADLINE_MS = 30_000;
  static final int SESSION_TIMEOUT_MS = 15_000;
  static final int CONNECTION_TIMEOUT_MS = 5_000;

  static CuratorFramework newClient(String connectString) {
    return CuratorFrameworkFactory.builder()
        .connectString(connectString)
        .sessionTimeoutMs(SESSION_TIMEOUT_MS)
        .connectionTimeoutMs(CONNECTION_TIMEOUT_MS)
        .retryPolicy(new ExponentialBackoffRetry(100, 10, 1000))
        .build();
  }

  static void check(boolean ok, String what) throws Failure {
    if (!ok) throw new Failure(what);
  }

  /** Polls `cond` every 20 ms until it holds; fails naming `what` after `timeoutMs`. */
  static void waitFor(BooleanSupplier cond, long timeoutMs, String what) throws Failure, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) throw new Failure("timed out after " + timeoutMs + " ms waiting for " + what);
      Thread.sleep(20);
    }
  }

  /**
   * Brings `c`'s server up to date with the leader (ZooKeeper's sync) before a read that must see
   * another session's writes: without it a follower may still serve an older state, which is
   * ZooKeeper's consistency model, not a failure.
   */
  static void sync(CuratorFramework c, String path) throws Exception {
    java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
    c.sync().inBackground((cf, event) -> done.countDown()).forPath(path);
    if (!done.await(10, TimeUnit.SECONDS)) throw new Failure("sync of " + path + " did not complete within 10 s");
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String str(byte[] b) {
    return b == null ? "null" : new String(b, StandardCharsets.UTF_8);
  }

  static String oneLine(String s) {
    return s == null ? "" : s.replaceAll("\\s+", " ").trim();
  }

  static synchronized void emit(String line) {
    System.out.println(line);
    System.out.flush();
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: CuratorCheck <connectString> [--ttl] [--failover] [--only a,b]");
      System.exit(2);
    }
    String connectString = args[0];
    boolean ttl = false;
    boolean failover = false;
    List<String> only = null;
    for (int i = 1; i < args.length; i++) {
      switch (args[i]) {
        case "--ttl" -> ttl = true;
        case "--failover" -> failover = true;
        case "--only" -> only = Arrays.asList(args[++i].split(","));
        default -> {
          System.err.println("unknown argument " + args[i]);
          System.exit(2);
        }
      }
    }
    Ctx ctx = new Ctx(connectString, ttl);
    for (int i = 0; i < 3; i++) {
      CuratorFramework c = newClient(connectString);
      c.start();
      ctx.clients.add(c);
    }
    for (CuratorFramework c : ctx.clients) {
      if (!c.blockUntilConnected(30, TimeUnit.SECONDS)) {
        emit("RESULT connect FAIL no connection to " + connectString + " within 30 s");
        emit("DONE passed=0 failed=1");
        System.exit(1);
      }
    }

    Map<String, Scenario> scenarios = new LinkedHashMap<>(Recipes.all());
    if (!ttl) {
      scenarios.remove("ttlNode");
      scenarios.remove("persistentTtlNode");
    }
    if (only != null) scenarios.keySet().retainAll(only);

    int passed = 0;
    int failed = 0;
    ExecutorService runner = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "scenario");
      t.setDaemon(true);
      return t;
    });
    for (Map.Entry<String, Scenario> e : scenarios.entrySet()) {
      if (run(runner, e.getKey(), () -> e.getValue().run(ctx), SCENARIO_DEADLINE_MS)) passed++;
      else failed++;
    }
    if (failover && (only == null || only.contains("failover"))) {
      BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      if (run(runner, "failover", () -> Failover.run(ctx, stdin), 120_000)) passed++;
      else failed++;
    }
    emit("DONE passed=" + passed + " failed=" + failed);
    // Recipes left behind by a failed scenario may still hold threads: exit without closing politely.
    for (CuratorFramework c : ctx.clients) {
      try {
        c.close();
      } catch (RuntimeException ignored) {
        // closing is best effort
      }
    }
    System.exit(0);
  }

  interface Body {
    String run() throws Exception;
  }

  private static boolean run(ExecutorService runner, String name, Body body, long deadlineMs) {
    long t0 = System.nanoTime();
    Future<String> f = runner.submit(body::run);
    try {
      String detail = f.get(deadlineMs, TimeUnit.MILLISECONDS);
      emit("RESULT " + name + " PASS " + oneLine(detail) + " (" + elapsed(t0) + " ms)");
      return true;
    } catch (TimeoutException e) {
      f.cancel(true);
      emit("RESULT " + name + " FAIL did not finish within " + deadlineMs + " ms");
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable c = e.getCause();
      String why = c instanceof Failure ? c.getMessage() : c.getClass().getName() + ": " + c.getMessage();
      emit("RESULT " + name + " FAIL " + oneLine(why) + " (" + elapsed(t0) + " ms)");
      if (!(c instanceof Failure)) c.printStackTrace();
    } catch (InterruptedException e) {
      emit("RESULT " + name + " FAIL interrupted");
    }
    return false;
  }

  private static long elapsed(long t0) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
  }
}
