// The same client suite against our server (in-process), so every behaviour the suite checks
// on Apache ZooKeeper is checked on ours too.

import { startOurZooKeeper } from '../../helpers/ourZk.js';
import { clientSuite } from './suite.js';

clientSuite('ClusterGenie ZooKeeper', startOurZooKeeper, { existsChecksReadAcl: true });
