// The dynamic configuration files Apache ZooKeeper 3.8 keeps beside zoo.cfg when reconfigEnabled
// is on (QuorumPeer.setQuorumVerifier with writeToDisk, QuorumPeerConfig.writeDynamicConfig,
// editStaticConfig and backupOldConfig), checked against a 3-node Apache 3.8 ensemble:
//   - `<zoo.cfg>.bak`: a copy of zoo.cfg as given, made at a start without dynamicConfigFile;
//   - `<zoo.cfg>.dynamic.<hex version>`: for each configuration this member commits, its
//     `server.N=...` lines sorted as strings, joined by "\n", no version, no final newline;
//   - zoo.cfg rewritten: every key but server.*, group*, weight*, dynamicConfigFile and peerType
//     (and clientPort* when this member's line carries its client address), as `key=value` lines
//     in java.util.Properties' iteration order, then `dynamicConfigFile=<canonical path>`.
// A restart then reads the membership from the dynamic file (src/zookeeper/config.ts).
// Text rendering is pure (renderDynamicFile, rewriteStaticConfig); DynamicConfigFiles does the I/O.

import { closeSync, copyFileSync, fsyncSync, openSync, readFileSync, realpathSync, renameSync, writeSync } from 'node:fs';
import type { Logger } from '../../util/log.js';
import { parseProperties } from '../config.js';
import { findMember, formatServerLine, formatVersion, javaPropertiesOrder, type QuorumVerifierConfig } from './config.js';

/** The dynamic file's text (writeDynamicConfig with needKeepVersion false). */
export function renderDynamicFile(qv: QuorumVerifierConfig): string {
  const lines = qv.members.map((m) => `server.${m.id}=${formatServerLine(m)}`);
  lines.sort();
  return lines.join('\n');
}

/** Keys editStaticConfig leaves out of the static file (startsWith, as Apache tests them). */
function dropsKey(key: string, eraseClientPort: boolean): boolean {
  return (
    key.startsWith('server.') ||
    key.startsWith('group') ||
    key.startsWith('weight') ||
    key.startsWith('dynamicConfigFile') ||
    key.startsWith('peerType') ||
    (eraseClientPort && key.startsWith('clientPort'))
  );
}

/** zoo.cfg's new text (editStaticConfig): `staticText` is the file as it is now. */
export function rewriteStaticConfig(staticText: string, dynamicPath: string, eraseClientPort: boolean): string {
  const last = new Map<string, string>();
  for (const e of parseProperties(staticText)) last.set(e.key, e.value);
  let out = '';
  for (const key of javaPropertiesOrder(parseProperties(staticText).map((e) => e.key))) {
    const k = key.trim();
    if (dropsKey(k, eraseClientPort)) continue;
    out += `${k}=${last.get(key)!.trim()}\n`;
  }
  return `${out}dynamicConfigFile=${dynamicPath}\n`;
}

/** QuorumPeer.needEraseClientInfoFromStaticConfig: this member's line in `qv` gives its client address. */
export function eraseClientInfo(qv: QuorumVerifierConfig, myId: number): boolean {
  const me = findMember(qv, myId);
  return me !== undefined && me.clientPort !== undefined && !me.clientFromStatic;
}

/** AtomicFileWritingIdiom: a temporary file, fsynced, renamed over the target. */
function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** The files of one member; every method logs and swallows I/O errors, as Apache logs them. */
export class DynamicConfigFiles {
  private writtenVersion: number;

  /**
   * `configPath`: the zoo.cfg this member was started with; `version`: the configuration version
   * its files hold now (the dynamic file's suffix, or 0 for server lines in zoo.cfg).
   */
  constructor(
    private readonly configPath: string,
    private readonly myId: number,
    version: number,
    private readonly log: Logger,
  ) {
    this.writtenVersion = version;
  }

  /** backupOldConfig: at a start whose membership is in zoo.cfg itself. */
  backup(): void {
    try {
      copyFileSync(this.configPath, `${this.configPath}.bak`);
    } catch (e) {
      this.log.warn({ error: (e as Error).message, path: `${this.configPath}.bak` }, 'cannot back up zoo.cfg');
    }
  }

  /** The configuration `qv` is committed here: its files, unless they are written already. */
  committed(qv: QuorumVerifierConfig): void {
    if (qv.version <= this.writtenVersion) return;
    const dynamicPath = `${this.configPath}.dynamic.${formatVersion(qv.version)}`;
    try {
      writeAtomic(dynamicPath, renderDynamicFile(qv));
      const staticText = readFileSync(this.configPath, 'utf8');
      writeAtomic(this.configPath, rewriteStaticConfig(staticText, realpathSync(dynamicPath), eraseClientInfo(qv, this.myId)));
      this.writtenVersion = qv.version;
      this.log.info({ path: dynamicPath }, 'dynamic configuration file written');
    } catch (e) {
      this.log.error({ error: (e as Error).message, path: dynamicPath }, 'cannot write the dynamic configuration file');
    }
  }
}
