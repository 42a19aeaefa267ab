// The client suite against a real Apache ZooKeeper 3.8 (Debian package jars).

import { startApacheZooKeeper } from '../../helpers/apacheZk.js';
import { clientSuite } from './suite.js';

clientSuite('Apache ZooKeeper 3.8', startApacheZooKeeper, { existsChecksReadAcl: false });
