// Client-side errors. Every failed operation rejects with a ZooKeeperError carrying the
// server's (or the client's) ZooKeeper error code, its name and the path involved.

import { Err, errName } from '../protocol/constants.js';
import type { OpResult } from './types.js';

export class ZooKeeperError extends Error {
  override name = 'ZooKeeperError';
  /** ZooKeeper error code (KeeperException.Code), e.g. -101. */
  readonly code: number;
  /** Symbolic name of the code, e.g. 'NONODE'. */
  readonly codeName: string;
  /** Client path of the operation (chroot stripped), if there was one. */
  readonly path: string | undefined;

  constructor(code: number, path?: string, detail?: string) {
    const codeName = errName(code);
    let msg = codeName;
    if (path !== undefined) msg += ` ${path}`;
    if (detail !== undefined) msg += `: ${detail}`;
    super(msg);
    this.code = code;
    this.codeName = codeName;
    this.path = path;
  }
}

/**
 * A failed multi: `code`/`path` are those of the first failing op; `results` has one entry per
 * op (earlier ops report OK=0, the failing op its code, later ops RUNTIMEINCONSISTENCY).
 */
export class MultiError extends ZooKeeperError {
  override name = 'MultiError';
  readonly results: OpResult[];
  /** Index of the first failing op. */
  readonly index: number;

  constructor(code: number, path: string | undefined, index: number, results: OpResult[]) {
    super(code, path, `multi op #${index} failed`);
    this.results = results;
    this.index = index;
  }
}

export function isZooKeeperError(e: unknown, code?: number): e is ZooKeeperError {
  return e instanceof ZooKeeperError && (code === undefined || e.code === code);
}

export const connectionLoss = (path?: string, detail?: string): ZooKeeperError => new ZooKeeperError(Err.CONNECTIONLOSS, path, detail);
export const badArguments = (path: string | undefined, detail: string): ZooKeeperError =>
  new ZooKeeperError(Err.BADARGUMENTS, path, detail);
