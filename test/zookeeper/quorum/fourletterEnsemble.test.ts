// The four-letter words of an ensemble member, compared with a real 3-node Apache ZooKeeper 3.8
// ensemble launched the same way: srvr's Mode, and mntr's quorum gauges (names and values).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProcessEnsemble } from '../../helpers/ourEnsemble.js';
import { mntr as mntrOf } from '../../helpers/net.js';

/** The quorum part of mntr: the keys a quorum member adds, with their values. */
const QUORUM_KEYS = [
  'zk_server_state',
  'zk_peer_state',
  'zk_quorum_size',
  'zk_learners',
  'zk_synced_followers',
  'zk_synced_non_voting_followers',
  'zk_synced_observers',
  'zk_pending_syncs',
];

async function capture(
  flavor: 'apache' | 'clustergenie',
): Promise<{ leader: Map<string, string>; follower: Map<string, string>; modes: string[] }> {
  const ens = await ProcessEnsemble.start({ size: 3, flavor });
  try {
    const leader = (await ens.leader())!;
    const follower = ens.ids.find((id) => id !== leader)!;
    const mntr = (id: number): Promise<Map<string, string>> => mntrOf('127.0.0.1', ens.member(id).clientPort);
    const modes = [...(await ens.modes()).values()].map((m) => m ?? '-');
    return { leader: await mntr(leader), follower: await mntr(follower), modes: modes.sort() };
  } finally {
    await ens.close();
  }
}

test('srvr and mntr on leader and follower match a 3-node Apache ZooKeeper 3.8 ensemble', { timeout: 180_000 }, async () => {
  const apache = await capture('apache');
  const ours = await capture('clustergenie');
  assert.deepEqual(ours.modes, apache.modes);
  assert.deepEqual(apache.modes, ['follower', 'follower', 'leader']);
  for (const role of ['leader', 'follower'] as const) {
    const pick = (m: Map<string, string>): Record<string, string | undefined> =>
      Object.fromEntries(QUORUM_KEYS.filter((k) => apache[role].has(k)).map((k) => [k, m.get(k)]));
    // Uptime-like values differ by nature; the gauges above do not once the ensemble is idle.
    const expected = pick(apache[role]);
    assert.ok(Object.keys(expected).length >= (role === 'leader' ? 8 : 3), `Apache's ${role} mntr: ${JSON.stringify(expected)}`);
    assert.deepEqual(pick(ours[role]), expected, `${role} mntr`);
  }
  // Apache's leader does publish these; a follower does not (their gauges read null there).
  for (const k of ['zk_learners', 'zk_synced_followers', 'zk_pending_syncs']) assert.ok(apache.leader.has(k), `Apache's leader lacks ${k}`);
});
