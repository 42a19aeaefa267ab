// Public entry point of the ZooKeeper client.
//
//   const zk = new ZooKeeperClient({ connectString: '127.0.0.1:2181,127.0.0.1:2182/app', sessionTimeoutMs: 10_000 });
//   zk.on('expired', () => zk.connect());            // start a fresh session when asked
//   await zk.connect();
//   await zk.create('/brokers', null);               // OPEN_ACL_UNSAFE, PERSISTENT by default
//   const { data, stat } = await zk.getData('/brokers', (e) => console.log(e.type, e.path));
//   await zk.transaction().create('/a').setData('/brokers', 'x', stat.version).commit();
//   await zk.close();

export { ZooKeeperClient, Transaction } from './client.js';
export { ZooKeeperError, MultiError, isZooKeeperError } from './errors.js';
export { OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, CREATOR_ALL_ACL, digestAcl, digestId, ipAcl, worldAcl } from './acl.js';
export { Op, ReadOp } from './requests.js';
export { parseConnectString, Chroot, type HostPort, type ParsedConnectString } from './connectString.js';
export {
  EphemeralNode,
  LeaderElection,
  Lock,
  mkdirp,
  removeRecursive,
  retryOnConnectionLoss,
  waitConnected,
  type EphemeralNodeOptions,
  type LeaderElectionOptions,
  type LockOptions,
} from './recipes.js';
export {
  AddWatchMode,
  CreateMode,
  Err,
  EventType,
  KeeperState,
  Perms,
  WatcherType,
} from '../protocol/constants.js';
export type * from './types.js';
