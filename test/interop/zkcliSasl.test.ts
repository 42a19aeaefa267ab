// Interop: SASL DIGEST-MD5 logins of Apache ZooKeeper's own CLI (zkCli.sh / ZooKeeperMain, Java
// client 3.8.0 from the Debian package, its JAAS `Client` section passed with
// -Djava.security.auth.login.config) against our server, run through the real `clustergenie
// zookeeper` CLI with the server's JAAS file passed the same way, and against Apache ZooKeeper
// 3.8 started with the same files (differential): login, a node under a `sasl:<user>:cdrwa` ACL,
// its refusal to an unauthenticated session, the super user, and a wrong password.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOurZooKeeperProcess, type StartedZk } from '../helpers/ourZk.js';
import { startApacheZooKeeper, type ServerHandle } from '../helpers/apacheZk.js';
import { normalizeLines, ZkCliSession, zkCliScript } from './helpers/zkcli.js';

const SASL_PROVIDER = 'org.apache.zookeeper.server.auth.SASLAuthenticationProvider';
const MODULE = 'org.apache.zookeeper.server.auth.DigestLoginModule';

const SERVER_JAAS = `// DIGEST-MD5 users of the server
Server {
  ${MODULE} required
    user_super="adminsecret"
    user_bob="bobsecret";
};
`;

function clientJaas(user: string, password: string): string {
  return `Client {\n  ${MODULE} required\n    username="${user}"\n    password="${password}";\n};\n`;
}

describe('zkCli over SASL DIGEST-MD5: ours and Apache ZooKeeper 3.8', { timeout: 110_000 }, () => {
  let dir: string;
  let ours: StartedZk;
  let apache: ServerHandle;
  const jaas = (name: string): string => `-Djava.security.auth.login.config=${join(dir, name)}`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cg-zksasl-'));
    await writeFile(join(dir, 'server.jaas'), SERVER_JAAS);
    await writeFile(join(dir, 'bob.jaas'), clientJaas('bob', 'bobsecret'));
    await writeFile(join(dir, 'super.jaas'), clientJaas('super', 'adminsecret'));
    await writeFile(join(dir, 'wrong.jaas'), clientJaas('bob', 'not-the-password'));
    await writeFile(join(dir, 'nobody.jaas'), clientJaas('nobody', 'whatever'));
    const serverJaas = join(dir, 'server.jaas');
    const sysProps = { 'java.security.auth.login.config': serverJaas, 'zookeeper.superUser': 'super' };
    [ours, apache] = await Promise.all([
      startOurZooKeeperProcess({
        extraConfig: { 'authProvider.1': SASL_PROVIDER },
        defines: Object.entries(sysProps).map(([k, v]) => `-D${k}=${v}`),
      }),
      startApacheZooKeeper({ extraConfig: { 'authProvider.1': SASL_PROVIDER }, sysProps }),
    ]);
  });

  after(async () => {
    await Promise.all([ours?.stop(), apache?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** One SASL session: waits for SaslAuthenticated, runs the commands, quits. */
  async function saslScript(
    server: string,
    jaasFile: string,
    commands: readonly string[],
  ): Promise<{ outputs: string[][]; events: string[] }> {
    const s = await ZkCliSession.start(server, { flags: [jaas(jaasFile)] });
    try {
      await s.event(/state:SaslAuthenticated/);
      for (const c of commands) await s.run(c);
    } catch (e) {
      await s.killAndWait();
      throw e;
    }
    const t = await s.quit();
    return { outputs: t.outputs.map((o) => normalizeLines(o)), events: t.events };
  }

  it('a SASL user creates a node under its sasl ACL and reads it; others are refused', async () => {
    const cmds = [
      'create /s1 hello sasl:bob:cdrwa',
      'get /s1',
      'getAcl /s1',
      'whoami',
      'setAcl /s1 sasl:a@b@c:r',
      'setAcl /s1 sasl:bob@EXAMPLE.COM:r',
      'setAcl /s1 sasl:a/b/c:r',
    ];
    const run = (server: string) => saslScript(server, 'bob.jaas', cmds);
    const [o, a] = await Promise.all([run(ours.connectString), run(apache.connectString)]);
    assert.deepEqual(o.outputs[0], ['Created /s1']);
    assert.deepEqual(o.outputs[1], ['hello']);
    assert.deepEqual(o.outputs[2], ["'sasl,'bob", ': cdrwa']);
    assert.ok(o.outputs[3]!.includes('sasl: bob'), JSON.stringify(o.outputs[3]));
    // A Kerberos-malformed name is not a valid sasl ACL; a valid one is taken; then bob has no ADMIN.
    assert.deepEqual(o.outputs[4], ['Acl is not valid : /s1']);
    assert.deepEqual(o.outputs[5], []);
    assert.deepEqual(o.outputs[6], ['Insufficient permission : /s1']);
    assert.deepEqual(o.outputs, a.outputs);
    assert.deepEqual(o.events, a.events);

    // No SASL login (no JAAS file): the ACL refuses reads.
    const plain = ['get /s1', 'getAcl /s1'];
    const [po, pa] = await Promise.all([zkCliScript(ours.connectString, plain), zkCliScript(apache.connectString, plain)]);
    assert.deepEqual(normalizeLines(po.outputs[0]!), ['Insufficient permission : /s1']);
    assert.deepEqual(
      po.outputs.map((x) => normalizeLines(x)),
      pa.outputs.map((x) => normalizeLines(x)),
    );
  });

  it('zookeeper.superUser gets super rights over SASL', async () => {
    const cmds = ['create /s2 x sasl:bob:cdrwa', 'whoami'];
    const run = async (server: string) => {
      await saslScript(server, 'bob.jaas', [cmds[0]!]);
      return saslScript(server, 'super.jaas', ['get /s2', 'whoami', 'delete /s2']);
    };
    const [o, a] = await Promise.all([run(ours.connectString), run(apache.connectString)]);
    assert.deepEqual(o.outputs[0], ['x']);
    assert.deepEqual(o.outputs, a.outputs);
  });

  for (const who of ['wrong.jaas', 'nobody.jaas']) {
    it(`a failed login (${who === 'wrong.jaas' ? 'wrong password' : 'unknown user'}) ends in AuthFailed, not a loop`, async () => {
      const run = async (server: string) => {
        const s = await ZkCliSession.start(server, { flags: [jaas(who)] }).catch((e: Error) => e);
        if (s instanceof Error) return { started: false, events: [] as string[], raw: s.message };
        try {
          await s.event(/state:AuthFailed/);
        } finally {
          await s.killAndWait();
        }
        return { started: true, events: s.events, raw: '' };
      };
      const [o, a] = await Promise.all([run(ours.connectString), run(apache.connectString)]);
      assert.equal(o.started, a.started, `ours: ${o.raw}\napache: ${a.raw}`);
      assert.ok(
        o.events.some((e) => /state:AuthFailed/.test(e)),
        o.events.join('\n'),
      );
      assert.deepEqual(o.events, a.events);
    });
  }
});
