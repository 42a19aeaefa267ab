// Every jute record ClusterGenie speaks, declared once. Field order is wire order
// (zookeeper.jute). Codecs are generated from these tables by schema.ts.

import { record, vector } from './schema.js';

// ---- org.apache.zookeeper.data
export const Id = record('Id', [
  ['scheme', 'ustring'],
  ['id', 'ustring'],
]);
export const ACL = record('ACL', [
  ['perms', 'int'],
  ['id', Id],
]);
export const Stat = record('Stat', [
  ['czxid', 'longN'],
  ['mzxid', 'longN'],
  ['ctime', 'longN'],
  ['mtime', 'longN'],
  ['version', 'int'],
  ['cversion', 'int'],
  ['aversion', 'int'],
  ['ephemeralOwner', 'long'],
  ['dataLength', 'int'],
  ['numChildren', 'int'],
  ['pzxid', 'longN'],
]);
export const StatPersisted = record('StatPersisted', [
  ['czxid', 'longN'],
  ['mzxid', 'longN'],
  ['ctime', 'longN'],
  ['mtime', 'longN'],
  ['version', 'int'],
  ['cversion', 'int'],
  ['aversion', 'int'],
  ['ephemeralOwner', 'long'],
  ['pzxid', 'longN'],
]);
export const ClientInfo = record('ClientInfo', [
  ['authScheme', 'ustring'],
  ['user', 'ustring'],
]);

// ---- org.apache.zookeeper.proto
// ConnectRequest/Response carry an optional trailing readOnly byte that the codecs in
// connect.ts handle; these tables are the mandatory part.
export const ConnectRequestBase = record('ConnectRequest', [
  ['protocolVersion', 'int'],
  ['lastZxidSeen', 'longN'],
  ['timeOut', 'int'],
  ['sessionId', 'long'],
  ['passwd', 'buffer'],
]);
export const ConnectResponseBase = record('ConnectResponse', [
  ['protocolVersion', 'int'],
  ['timeOut', 'int'],
  ['sessionId', 'long'],
  ['passwd', 'buffer'],
]);
export const SetWatches = record('SetWatches', [
  ['relativeZxid', 'longN'],
  ['dataWatches', vector('ustring')],
  ['existWatches', vector('ustring')],
  ['childWatches', vector('ustring')],
]);
export const SetWatches2 = record('SetWatches2', [
  ['relativeZxid', 'longN'],
  ['dataWatches', vector('ustring')],
  ['existWatches', vector('ustring')],
  ['childWatches', vector('ustring')],
  ['persistentWatches', vector('ustring')],
  ['persistentRecursiveWatches', vector('ustring')],
]);
export const RequestHeader = record('RequestHeader', [
  ['xid', 'int'],
  ['type', 'int'],
]);
export const MultiHeader = record('MultiHeader', [
  ['type', 'int'],
  ['done', 'bool'],
  ['err', 'int'],
]);
export const AuthPacket = record('AuthPacket', [
  ['type', 'int'],
  ['scheme', 'ustring'],
  ['auth', 'buffer'],
]);
export const ReplyHeader = record('ReplyHeader', [
  ['xid', 'int'],
  ['zxid', 'longN'],
  ['err', 'int'],
]);
export const GetDataRequest = record('GetDataRequest', [
  ['path', 'ustring'],
  ['watch', 'bool'],
]);
export const SetDataRequest = record('SetDataRequest', [
  ['path', 'ustring'],
  ['data', 'buffer'],
  ['version', 'int'],
]);
export const ReconfigRequest = record('ReconfigRequest', [
  // null (no joiners / leavers / new member list) means something else than "".
  ['joiningServers', 'ustringN'],
  ['leavingServers', 'ustringN'],
  ['newMembers', 'ustringN'],
  ['curConfigId', 'longN'],
]);
export const SetDataResponse = record('SetDataResponse', [['stat', Stat]]);
export const GetSASLRequest = record('GetSASLRequest', [['token', 'buffer']]);
export const SetSASLResponse = record('SetSASLResponse', [['token', 'buffer']]);
export const CreateRequest = record('CreateRequest', [
  ['path', 'ustring'],
  ['data', 'buffer'],
  ['acl', vector(ACL)],
  ['flags', 'int'],
]);
export const CreateTTLRequest = record('CreateTTLRequest', [
  ['path', 'ustring'],
  ['data', 'buffer'],
  ['acl', vector(ACL)],
  ['flags', 'int'],
  ['ttl', 'longN'],
]);
export const DeleteRequest = record('DeleteRequest', [
  ['path', 'ustring'],
  ['version', 'int'],
]);
export const GetChildrenRequest = record('GetChildrenRequest', [
  ['path', 'ustring'],
  ['watch', 'bool'],
]);
export const PathRequest = record('PathRequest', [['path', 'ustring']]); // getACL, sync, getAllChildrenNumber, deleteContainer
export const CheckVersionRequest = record('CheckVersionRequest', [
  ['path', 'ustring'],
  ['version', 'int'],
]);
export const SyncResponse = record('SyncResponse', [['path', 'ustring']]);
export const SetACLRequest = record('SetACLRequest', [
  ['path', 'ustring'],
  ['acl', vector(ACL)],
  ['version', 'int'],
]);
export const StatResponse = record('StatResponse', [['stat', Stat]]); // ExistsResponse, SetACLResponse
export const AddWatchRequest = record('AddWatchRequest', [
  ['path', 'ustring'],
  ['mode', 'int'],
]);
export const WatcherEvent = record('WatcherEvent', [
  ['type', 'int'],
  ['state', 'int'],
  ['path', 'ustring'],
]);
export const ErrorResponse = record('ErrorResponse', [['err', 'int']]);
export const CreateResponse = record('CreateResponse', [['path', 'ustring']]);
export const Create2Response = record('Create2Response', [
  ['path', 'ustring'],
  ['stat', Stat],
]);
export const GetDataResponse = record('GetDataResponse', [
  ['data', 'buffer'],
  ['stat', Stat],
]);
export const GetChildrenResponse = record('GetChildrenResponse', [['children', vector('ustring')]]);
export const GetAllChildrenNumberResponse = record('GetAllChildrenNumberResponse', [['totalNumber', 'int']]);
export const GetChildren2Response = record('GetChildren2Response', [
  ['children', vector('ustring')],
  ['stat', Stat],
]);
export const GetACLResponse = record('GetACLResponse', [
  ['acl', vector(ACL)],
  ['stat', Stat],
]);
export const WatchTypeRequest = record('WatchTypeRequest', [
  ['path', 'ustring'],
  ['type', 'int'],
]); // CheckWatchesRequest, RemoveWatchesRequest
export const GetEphemeralsRequest = record('GetEphemeralsRequest', [['prefixPath', 'ustring']]);
export const GetEphemeralsResponse = record('GetEphemeralsResponse', [['ephemerals', vector('ustring')]]);
export const WhoAmIResponse = record('WhoAmIResponse', [['clientInfo', vector(ClientInfo)]]);

// ---- org.apache.zookeeper.server.persistence / quorum
export const FileHeader = record('FileHeader', [
  ['magic', 'int'],
  ['version', 'int'],
  ['dbid', 'long'],
]);
export const LearnerInfo = record('LearnerInfo', [
  ['serverid', 'long'],
  ['protocolVersion', 'int'],
  ['configVersion', 'longN'],
]);
export const QuorumPacket = record('QuorumPacket', [
  ['type', 'int'],
  ['zxid', 'longN'],
  ['data', 'buffer'],
  ['authinfo', vector(Id)],
]);

// ---- org.apache.zookeeper.txn
export const TxnDigest = record('TxnDigest', [
  ['version', 'int'],
  ['treeDigest', 'long'],
]);
export const TxnHeader = record('TxnHeader', [
  ['clientId', 'long'],
  ['cxid', 'int'],
  ['zxid', 'longN'],
  ['time', 'longN'],
  ['type', 'int'],
]);
export const CreateTxn = record('CreateTxn', [
  ['path', 'ustring'],
  ['data', 'buffer'],
  ['acl', vector(ACL)],
  ['ephemeral', 'bool'],
  ['parentCVersion', 'int'],
]);
export const CreateTTLTxn = record('CreateTTLTxn', [
  ['path', 'ustring'],
  ['data', 'buffer'],
  ['acl', vector(ACL)],
  ['parentCVersion', 'int'],
  ['ttl', 'longN'],
]);
export const CreateContainerTxn = record('CreateContainerTxn', [
  ['path', 'ustring'],
  ['data', 'buffer'],
  ['acl', vector(ACL)],
  ['parentCVersion', 'int'],
]);
export const DeleteTxn = record('DeleteTxn', [['path', 'ustring']]);
export const SetDataTxn = record('SetDataTxn', [
  ['path', 'ustring'],
  ['data', 'buffer'],
  ['version', 'int'],
]);
export const CheckVersionTxn = record('CheckVersionTxn', [
  ['path', 'ustring'],
  ['version', 'int'],
]);
export const SetACLTxn = record('SetACLTxn', [
  ['path', 'ustring'],
  ['acl', vector(ACL)],
  ['version', 'int'],
]);
export const CreateSessionTxn = record('CreateSessionTxn', [['timeOut', 'int']]);
export const CloseSessionTxn = record('CloseSessionTxn', [['paths2Delete', vector('ustring')]]);
export const ErrorTxn = record('ErrorTxn', [['err', 'int']]);
export const Txn = record('Txn', [
  ['type', 'int'],
  ['data', 'buffer'],
]);
export const MultiTxn = record('MultiTxn', [['txns', vector(Txn)]]);

export type IdT = ReturnType<typeof Id.decode>;
export type AclT = ReturnType<typeof ACL.decode>;
export type StatT = ReturnType<typeof Stat.decode>;
export type TxnHeaderT = ReturnType<typeof TxnHeader.decode>;
