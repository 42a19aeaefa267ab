// Differential: adding a voter the ensemble was not started with, ours against a real Apache
// ZooKeeper 3.8 ensemble, both driven through Apache's zkCli.sh. Three members start from a
// zoo.cfg without server.4; the fourth starts from one listing all four (Apache's procedure for
// growing an ensemble), joins as a non-voting follower, and `reconfig -add` makes it a voter:
// then, with one of the first followers stopped, writes commit only if its acks count (3 of 4).
// Ids and ports are replaced by roles before comparing: L (the leader), A and B (the other two
// first members), J (the joiner).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProcessEnsemble } from '../../helpers/ourEnsemble.js';
import { zkCliScript } from '../../interop/helpers/zkcli.js';

const SUPER_DIGEST = 'super:D/InIHSb7yEEbrWz8b9l71RjZJU='; // super:test

interface Step {
  label: string;
  out: string;
}

async function run(flavor: 'apache' | 'clustergenie'): Promise<Step[]> {
  const ens = await ProcessEnsemble.start({
    size: 3,
    joiners: 1,
    flavor,
    extraConfig: flavor === 'apache' ? { reconfigEnabled: 'true' } : { reconfigEnabled: 'true', superDigest: SUPER_DIGEST },
    apacheSysProps: {
      'zookeeper.DigestAuthenticationProvider.superDigest': SUPER_DIGEST,
      'zookeeper.electionPortBindRetry': '30',
    },
  });
  try {
    const J = 4;
    const L = (await ens.leader())!;
    const [A, B] = [1, 2, 3].filter((id) => id !== L) as [number, number];
    const role = new Map<string, string>();
    for (const [id, name] of [
      [L, 'L'],
      [A, 'A'],
      [B, 'B'],
      [J, 'J'],
    ] as const) {
      const m = ens.member(id);
      role.set(String(id), name);
      role.set(String(m.clientPort), `c${name}`);
      role.set(String(m.quorumPort), `q${name}`);
      role.set(String(m.electionPort), `e${name}`);
    }
    const norm = (lines: string[]): string =>
      lines
        .map((l) =>
          l
            .replace(/\b\d{4,5}\b/g, (d) => role.get(d) ?? d)
            .replace(/server\.(\d+)=/g, (_, id: string) => `server.${role.get(id) ?? id}=`)
            .replace(/^version=[0-9a-f]+$/, 'version=V'),
        )
        .sort()
        .join('\n');
    const steps: Step[] = [];
    const cli = async (id: number, label: string, commands: string[]): Promise<void> => {
      const t = await zkCliScript(`127.0.0.1:${ens.member(id).clientPort}`, commands);
      commands.forEach((c, i) => {
        steps.push({ label: `${label}: ${norm([c])}`, out: norm(t.outputs[i] ?? []) });
      });
    };
    const modes = async (label: string): Promise<void> => {
      const ms = await ens.modes();
      steps.push({
        label,
        out: [...ms]
          .map(([id, m]) => `${role.get(String(id))}:${ens.isRunning(id) ? (m ?? 'not serving') : 'stopped'}`)
          .sort()
          .join(' '),
      });
    };

    // The joiner starts and follows without a vote; the others' configuration does not list it.
    ens.start(J);
    await ens.waitServing(4, 60_000, [J]);
    await modes('joined modes');
    await cli(J, 'on J before', ['config', 'create /j 1']);

    // reconfig -add: the joiner votes from now on, on every member.
    const j = ens.member(J);
    const add = `reconfig -add server.${J}=127.0.0.1:${j.quorumPort}:${j.electionPort}:participant;127.0.0.1:${j.clientPort}`;
    await cli(L, 'on L', ['addauth digest super:test', add, 'config']);
    await cli(J, 'on J after', ['config', 'get /j']);

    // One of the first followers stopped: L, B and J are 3 of 4 voters, so writes commit only with J's acks.
    await ens.stop(A);
    await modes('modes with A stopped');
    await cli(B, 'on B with A stopped', ['create /k 2', 'get /k']);
    await cli(J, 'on J with A stopped', ['get /k', 'config']);
    return steps;
  } catch (e) {
    throw new Error(`${flavor}: ${(e as Error).message}\n${ens.logs(2000)}`);
  } finally {
    await ens.close();
  }
}

test('adding a voter the ensemble was not started with matches a 3-node Apache ZooKeeper 3.8 ensemble', { timeout: 150_000 }, async (t) => {
  const apache = await run('apache');
  for (const s of apache) t.diagnostic(`apache: ${JSON.stringify(s)}`);
  const ours = await run('clustergenie');
  assert.deepEqual(ours, apache);
  const byLabel = new Map(apache.map((s) => [s.label, s.out]));
  // What the comparison rests on: the joiner was outside the configuration, then a voter whose acks count.
  assert.doesNotMatch(byLabel.get('on J before: config') ?? '', /server\.J=/);
  assert.match(byLabel.get(`on L: reconfig -add server.J=127.0.0.1:qJ:eJ:participant;127.0.0.1:cJ`) ?? '', /Committed new configuration/);
  assert.match(byLabel.get('on J after: config') ?? '', /server\.J=127\.0\.0\.1:qJ:eJ:participant;127\.0\.0\.1:cJ/);
  assert.equal(byLabel.get('on B with A stopped: create /k 2'), 'Created /k');
  assert.equal(byLabel.get('on J with A stopped: get /k'), '2');
});
