// A real full disk: the data directory (or only the dataLogDir) on a small tmpfs. One session
// writes (pipelined creates of ~1 KB) until the server refuses; then, with the disk still full:
//   * the server process is alive and refuses every further write with NOTREADONLY (-119);
//   * the writer's session reads, also after its connection is cut and it reconnects;
//   * a new session's handshake is answered or refused at once, never left hanging
//     (docs/STORAGE.md: refused, since createSession needs a txn); if accepted, it reads;
//   * `mntr` has a `zk_storage_error\t<reason>` line, `stat` and `srvr` a `Storage error: ` line;
// then the server is stopped (SIGTERM in one case, SIGKILL in the other), the filesystem grown
// (remount with a larger size, same path) and the server started again on the same directories:
//   * every acknowledged write is there with its data, no refused write is, and the writes that
//     got no answer (connection closed) appear only as a prefix of the issue order;
//   * writes work again and the storage error is gone from `mntr`.
//
// Needs root with CAP_SYS_ADMIN for `mount -t tmpfs`; when mounting fails the test fails and says
// so (it does not skip). The mount is always unmounted and the temp dir removed.
//
// A third case fills only the snapshot directory (dataDir on the tmpfs, dataLogDir elsewhere): a
// failed snapshot must cost nothing but recovery time -- writes go on, and a restart on the still
// full disk recovers everything from the log.
//
// The scenario also runs against Apache ZooKeeper 3.8 to validate the harness: Apache exits on a
// txn log I/O error instead of refusing writes, so only the durability half is checked there.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Err, ZooKeeperClient, ZooKeeperError } from '../../../src/zookeeper/client/index.js';
import { fourLetter } from '../../helpers/net.js';
import { RawClient } from '../../helpers/rawClient.js';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcpProxy.js';
import { nextEvent, waitFor } from '../../helpers/wait.js';
import { apacheLauncher, ourLauncher, type Launcher, type RunningServer } from './launchers.js';

const execFileP = promisify(execFile);

const SMALL = '512k';
const LARGE = '64m';
const RECORD_BYTES = 1000;
/** 8 MB of records for a 512 KB filesystem: reaching this without a refusal means the writes never hit the disk. */
const MAX_WRITES = 8000;
const WINDOW = 16;
/** Without a single reply for this long, the server is treated as hung. */
const STALL_MS = 20_000;

// ------------------------------------------------------------------------------- tmpfs

async function sh(cmd: string, args: string[]): Promise<void> {
  try {
    await execFileP(cmd, args);
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(err.stderr || err.message).trim()}`);
  }
}

async function mountTmpfs(dir: string, size: string): Promise<void> {
  try {
    await sh('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  } catch (e) {
    throw new Error(
      `cannot mount a ${size} tmpfs at ${dir}: this test needs root with CAP_SYS_ADMIN (a privileged container or VM). ${(e as Error).message}`,
    );
  }
}

async function unmount(dir: string): Promise<void> {
  try {
    // A process that just exited may still hold the mount for a moment.
    await waitFor(
      async () => {
        await sh('umount', [dir]);
        return true;
      },
      { timeoutMs: 5_000, intervalMs: 100, what: `umount ${dir}` },
    );
  } catch {
    await sh('umount', ['-l', dir]);
  }
}

// ------------------------------------------------------------------------------- writes

type Outcome = 'pending' | 'acked' | 'unknown' | 'refused' | 'error';
interface W {
  i: number;
  path: string;
  data: string;
  outcome: Outcome;
  error?: string;
}

const dataFor = (i: number): string => `w${i}|${'x'.repeat(RECORD_BYTES)}`;

/** Pipelined creates until a refusal (or the server's exit, or `max` writes); every reply recorded. */
async function fillUntilRefused(
  c: ZooKeeperClient,
  srv: RunningServer,
  max = MAX_WRITES,
): Promise<{ writes: W[]; refusedAt: number | undefined; exited: boolean }> {
  const writes: W[] = [];
  let inflight = 0;
  let refusedAt: number | undefined;
  let lastReply = Date.now();
  let wake: (() => void) | undefined;
  const settle = (): void => {
    inflight--;
    lastReply = Date.now();
    wake?.();
  };
  const waitReply = async (): Promise<void> => {
    // Re-check the deadline every so often: replies may stop altogether.
    await new Promise<void>((r) => {
      const t = setTimeout(r, 1_000);
      wake = () => {
        clearTimeout(t);
        r();
      };
    });
    if (Date.now() - lastReply > STALL_MS) {
      throw new Error(
        `no reply for ${STALL_MS} ms with ${inflight} writes outstanding (${writes.length} issued): the server neither acknowledges nor refuses`,
      );
    }
  };
  for (let i = 0; i < max && refusedAt === undefined && srv.alive(); i++) {
    while (inflight >= WINDOW && refusedAt === undefined && srv.alive()) await waitReply();
    if (refusedAt !== undefined || !srv.alive()) break;
    const w: W = { i, path: `/full/n${String(i).padStart(6, '0')}`, data: dataFor(i), outcome: 'pending' };
    writes.push(w);
    inflight++;
    c.create(w.path, w.data)
      .then(
        () => {
          w.outcome = 'acked';
        },
        (e: unknown) => {
          if (e instanceof ZooKeeperError && e.code === Err.NOTREADONLY) {
            w.outcome = 'refused';
            refusedAt ??= i;
          } else if (e instanceof ZooKeeperError && (e.code === Err.CONNECTIONLOSS || e.code === Err.SESSIONEXPIRED)) {
            w.outcome = 'unknown';
          } else {
            w.outcome = 'error';
            w.error = e instanceof ZooKeeperError ? e.codeName : String(e);
          }
        },
      )
      .finally(settle);
  }
  while (inflight > 0 && srv.alive()) await waitReply();
  return { writes, refusedAt, exited: !srv.alive() };
}

const count = (ws: W[], o: Outcome): number => ws.filter((w) => w.outcome === o).length;
const outcomeText = (ws: W[]): string =>
  `${ws.length} writes: ${count(ws, 'acked')} acked, ${count(ws, 'unknown')} connection lost, ${count(ws, 'pending')} unanswered, ` +
  `${count(ws, 'refused')} refused, ${count(ws, 'error')} other errors`;

/** After the restart: acked present with data, refused absent, the rest a prefix. */
async function checkRecovered(c: ZooKeeperClient, writes: W[]): Promise<void> {
  const present = new Set(await c.getChildren('/full'));
  const byName = new Map(writes.map((w) => [w.path.slice('/full/'.length), w]));
  const unknownNames = [...present].filter((n) => !byName.has(n));
  assert.deepEqual(unknownNames, [], 'nodes nobody wrote');
  const lost = writes.filter((w) => w.outcome === 'acked' && !present.has(w.path.slice(6)));
  assert.equal(
    lost.length,
    0,
    `acknowledged writes lost: ${lost
      .slice(0, 5)
      .map((w) => w.path)
      .join(', ')}${lost.length > 5 ? ', ...' : ''} (${outcomeText(writes)})`,
  );
  const refusedThere = writes.filter((w) => w.outcome === 'refused' && present.has(w.path.slice(6)));
  assert.equal(
    refusedThere.length,
    0,
    `refused writes applied: ${refusedThere
      .slice(0, 5)
      .map((w) => w.path)
      .join(', ')}`,
  );
  // One session, one log: what survived is a prefix of the issue order.
  const firstMissing = writes.findIndex((w) => !present.has(w.path.slice(6)));
  if (firstMissing >= 0) {
    const after = writes.slice(firstMissing).filter((w) => present.has(w.path.slice(6)));
    assert.equal(
      after.length,
      0,
      `${writes[firstMissing]!.path} (${writes[firstMissing]!.outcome}) is missing but later writes survived: ${after
        .slice(0, 5)
        .map((w) => `${w.path} (${w.outcome})`)
        .join(', ')}`,
    );
  }
  // Data of everything present.
  const bad: string[] = [];
  for (let i = 0; i < writes.length; i += 500) {
    const chunk = writes.slice(i, i + 500).filter((w) => present.has(w.path.slice(6)));
    const got = await Promise.all(chunk.map((w) => c.getData(w.path)));
    chunk.forEach((w, j) => {
      if (got[j]!.data?.toString('utf8') !== w.data) bad.push(w.path);
    });
  }
  assert.deepEqual(bad, [], 'nodes with wrong data after the restart');
}

// ------------------------------------------------------------------------------- scenario

interface Scenario {
  launcher: Launcher;
  /** Which directory sits on the small filesystem. */
  onTmpfs: 'dataDir' | 'dataLogDir';
  stopWith: 'SIGTERM' | 'SIGKILL';
  /** Ours refuses writes and stays up; Apache (reference run only) exits. */
  degraded: boolean;
}

async function diskFull(s: Scenario, diag: (m: string) => void): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'cg-diskfull-'));
  const mnt = join(base, 'mnt');
  await mkdir(mnt);
  let mounted = false;
  let srv: RunningServer | undefined;
  let proxy: TcpProxy | undefined;
  const clients: ZooKeeperClient[] = [];
  const open = async (connectString: string, canBeReadOnly = false): Promise<ZooKeeperClient> => {
    const c = new ZooKeeperClient({ connectString, sessionTimeoutMs: 30_000, canBeReadOnly, closeTimeoutMs: 1_000 });
    clients.push(c);
    await c.connect({ timeoutMs: 15_000 });
    return c;
  };
  try {
    await mountTmpfs(mnt, SMALL);
    mounted = true;
    const dataDir = s.onTmpfs === 'dataDir' ? join(mnt, 'data') : join(base, 'data');
    const logDir = s.onTmpfs === 'dataLogDir' ? join(mnt, 'log') : undefined;
    const config: Record<string, string> = {
      forceSync: 'yes',
      preAllocSize: '16',
      snapCount: '100000',
      ...(logDir ? { dataLogDir: logDir } : {}),
    };
    srv = await s.launcher.start({ dataDir, config });
    // The writer goes through a proxy so the test can cut its connection.
    proxy = await startTcpProxy(srv.host, srv.port);
    const writer = await open(proxy.connectString);
    await writer.create('/full', null);

    const { writes, refusedAt, exited } = await fillUntilRefused(writer, srv);
    diag(
      `${s.launcher.name}, ${s.onTmpfs} on a ${SMALL} tmpfs: ${outcomeText(writes)}; ${exited ? 'the server exited' : 'the server is up'}`,
    );
    const errors = writes.filter((w) => w.outcome === 'error');
    assert.deepEqual(
      errors.map((w) => `${w.path}: ${w.error}`),
      [],
      'writes failed with an unexpected error',
    );

    if (s.degraded) {
      assert.ok(!exited, `the server exited when the disk filled up (${outcomeText(writes)}):\n${srv.logTail()}`);
      assert.notEqual(
        refusedAt,
        undefined,
        `no write was refused after ${writes.length} writes of ~${RECORD_BYTES} bytes into a ${SMALL} filesystem (${outcomeText(writes)})`,
      );
      assert.ok(count(writes, 'acked') > 0, 'some writes were acknowledged before the disk filled up');
      const lastAcked = [...writes].reverse().find((w) => w.outcome === 'acked')!;

      // Still refusing (not a one-off), and reads keep working on the writer's session.
      for (let k = 0; k < 3; k++) {
        await assert.rejects(
          writer.create(`/full/again${k}`, 'x'),
          (e: unknown) => e instanceof ZooKeeperError && e.code === Err.NOTREADONLY,
          'later writes are refused with NOTREADONLY',
        );
      }
      await assert.rejects(writer.setData('/full', 'x'), (e: unknown) => e instanceof ZooKeeperError && e.code === Err.NOTREADONLY);
      assert.equal(
        (await writer.getData(lastAcked.path)).data?.toString('utf8'),
        lastAcked.data,
        'the writer reads its last acknowledged write',
      );
      const kids = new Set(await writer.getChildren('/full'));
      assert.ok(
        writes.every((w) => w.outcome !== 'acked' || kids.has(w.path.slice(6))),
        'every acknowledged node is listed',
      );
      // Its session survives a reconnect (no txn needed) and keeps reading.
      const sessionId = writer.sessionId;
      const reconnected = nextEvent(writer, 'connected', 15_000);
      proxy.cut();
      await reconnected;
      assert.equal((await writer.getData(lastAcked.path)).data?.toString('utf8'), lastAcked.data, 'the writer reads after reconnecting');
      assert.equal(writer.sessionId, sessionId, 'the same session');
      assert.ok(proxy.acceptedCount >= 2, 'the writer did reconnect');

      // A new session needs a createSession txn. It may be refused (docs/STORAGE.md), but at once:
      // a handshake left hanging would stall every client that restarts during the outage.
      const raw = await RawClient.connect(srv.host, srv.port, { readOnly: true, timeoutMs: 5_000 }).catch((e: unknown) => {
        throw new Error(`a new session's handshake got neither an answer nor a close within 5 s: ${(e as Error).message}`);
      });
      const acceptedNew = raw.connectResponse !== undefined && raw.connectResponse.sessionId !== 0n;
      raw.destroy();
      if (acceptedNew) {
        const reader = await open(srv.connectString, true);
        assert.equal(
          (await reader.getData(lastAcked.path)).data?.toString('utf8'),
          lastAcked.data,
          'a new session reads during the failure',
        );
      }
      diag(`a new session during the failure: ${acceptedNew ? 'accepted, and it reads' : 'refused (connection closed)'}`);

      // The reason is visible to operators.
      const mntr = await fourLetter(srv.host, srv.port, 'mntr');
      assert.match(mntr, /^zk_storage_error\t\S.*$/m, `mntr shows the storage error:\n${mntr}`);
      for (const cmd of ['stat', 'srvr']) {
        const out = await fourLetter(srv.host, srv.port, cmd);
        assert.match(out, /^Storage error: \S.*$/m, `${cmd} shows the storage error:\n${out}`);
      }
      diag(`mntr: ${/^zk_storage_error\t.*$/m.exec(mntr)?.[0].replace('\t', ' ')}`);
      assert.ok(srv.alive(), 'the server process is still running');
    } else {
      assert.ok(exited || refusedAt !== undefined, `the reference neither refused nor exited (${outcomeText(writes)})`);
    }

    for (const c of clients.splice(0)) await c.close();
    if (s.stopWith === 'SIGKILL' && srv.alive()) {
      process.kill(srv.pid, 'SIGKILL');
      assert.ok(await srv.waitExit(10_000), 'the server exits on SIGKILL');
    } else if (srv.alive()) {
      process.kill(srv.pid, 'SIGTERM');
      assert.ok(await srv.waitExit(10_000), 'the server stops on SIGTERM with a full disk');
    }
    await srv.stop();
    srv = undefined;

    // Fix the disk: same path, more room.
    await sh('mount', ['-o', `remount,size=${LARGE}`, mnt]);
    srv = await s.launcher.start({ dataDir, config });
    const after = await open(srv.connectString);
    await checkRecovered(after, writes);
    await after.create('/full/after-fix', 'ok');
    assert.equal((await after.getData('/full/after-fix')).data?.toString('utf8'), 'ok');
    if (s.degraded) {
      const mntr = await fourLetter(srv.host, srv.port, 'mntr');
      assert.doesNotMatch(mntr, /^zk_storage_error/m, 'the storage error is gone after the restart');
    }
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    await proxy?.close();
    if (srv) await srv.stop().catch(() => undefined);
    if (mounted) await unmount(mnt);
    await rm(base, { recursive: true, force: true });
  }
}

test('disk full under dataDir: writes refused, reads served, error shown, nothing acknowledged lost (SIGTERM, then a bigger disk)', {
  timeout: 180_000,
}, async (t) => {
  await diskFull({ launcher: ourLauncher, onTmpfs: 'dataDir', stopWith: 'SIGTERM', degraded: true }, (m) => t.diagnostic(m));
});

test('disk full under dataLogDir only: the same, killed with SIGKILL before the disk is fixed', { timeout: 180_000 }, async (t) => {
  await diskFull({ launcher: ourLauncher, onTmpfs: 'dataLogDir', stopWith: 'SIGKILL', degraded: true }, (m) => t.diagnostic(m));
});

test('reference: Apache ZooKeeper 3.8 loses no acknowledged write when its log disk fills up', { timeout: 180_000 }, async (t) => {
  await diskFull({ launcher: apacheLauncher, onTmpfs: 'dataLogDir', stopWith: 'SIGKILL', degraded: false }, (m) => t.diagnostic(m));
});

test('snapshot disk full (dataDir on a small tmpfs, the log elsewhere): writes go on, a restart on the full disk recovers', {
  timeout: 180_000,
}, async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'cg-diskfull-'));
  const mnt = join(base, 'mnt');
  await mkdir(mnt);
  let mounted = false;
  let srv: RunningServer | undefined;
  const clients: ZooKeeperClient[] = [];
  const open = async (s: RunningServer): Promise<ZooKeeperClient> => {
    const c = new ZooKeeperClient({ connectString: s.connectString, sessionTimeoutMs: 30_000, closeTimeoutMs: 1_000 });
    clients.push(c);
    await c.connect({ timeoutMs: 15_000 });
    return c;
  };
  try {
    await mountTmpfs(mnt, '256k');
    mounted = true;
    const dataDir = join(mnt, 'data');
    const config = { forceSync: 'yes', snapCount: '200', preAllocSize: '64', dataLogDir: join(base, 'log') };
    srv = await ourLauncher.start({ dataDir, config });
    const writer = await open(srv);
    await writer.create('/full', null);
    // ~2 MB of data: snapshots of the growing tree stop fitting after a few hundred writes.
    const { writes, refusedAt, exited } = await fillUntilRefused(writer, srv, 2000);
    t.diagnostic(`snapshots on a 256k tmpfs: ${outcomeText(writes)}`);
    assert.ok(!exited, `the server exited when the snapshot disk filled up:\n${srv.logTail()}`);
    assert.equal(refusedAt, undefined, 'writes are not refused for a failed snapshot');
    assert.equal(count(writes, 'acked'), writes.length, `every write is acknowledged (${outcomeText(writes)})`);
    const fs = await statfs(mnt);
    assert.ok(
      fs.bavail * fs.bsize < 64 * 1024,
      `the snapshot filesystem did fill up (${fs.bavail * fs.bsize} bytes free; files: ${(await readdir(join(dataDir, 'version-2')).catch(() => [])).join(' ')})`,
    );
    const mntr = await fourLetter(srv.host, srv.port, 'mntr');
    t.diagnostic(`mntr storage error line: ${/^zk_storage_error\t.*$/m.exec(mntr)?.[0] ?? '(none)'}`);

    for (const c of clients.splice(0)) await c.close();
    process.kill(srv.pid, 'SIGKILL');
    assert.ok(await srv.waitExit(10_000));
    await srv.stop();
    srv = undefined;
    // Same disk, still full: recovery needs no room for a snapshot.
    srv = await ourLauncher.start({ dataDir, config });
    const after = await open(srv);
    await checkRecovered(after, writes);
    await after.create('/full/after-restart', 'ok');
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    if (srv) await srv.stop().catch(() => undefined);
    if (mounted) await unmount(mnt);
    await rm(base, { recursive: true, force: true });
  }
});
