// What the request pipeline (zkserver.ts) needs to serve read-only, as Apache ZooKeeper 3.8's
// ReadOnlyZooKeeperServer does while an ensemble member is cut off from its quorum: which requests
// are refused with NOTREADONLY (ReadOnlyRequestProcessor's list). The sessions created meanwhile
// are local sessions (localSessions.ts); quorum/readOnly.ts decides when the mode starts and ends.

import { OpCode } from '../protocol/constants.js';

/**
 * Requests a read-only server answers with NOTREADONLY before looking at their bodies
 * (ReadOnlyRequestProcessor): every state change, `sync` (there is no leader to sync with) and
 * the old `check` op.
 */
export const READ_ONLY_REFUSED_OPS: ReadonlySet<number> = new Set([
  OpCode.sync,
  OpCode.create,
  OpCode.create2,
  OpCode.createTTL,
  OpCode.createContainer,
  OpCode.delete,
  OpCode.deleteContainer,
  OpCode.setData,
  OpCode.reconfig,
  OpCode.setACL,
  OpCode.multi,
  OpCode.check,
]);
