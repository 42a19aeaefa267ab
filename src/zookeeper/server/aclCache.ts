// Interned ACL lists (ZooKeeper's ReferenceCountedACLCache): every node holds an id into one
// shared table, so a tree of millions of nodes keeps one copy of each distinct list. Snapshots
// write the table as it is (persistence/snapshot.ts).

import type { AclT } from '../protocol/records.js';
import { aclKey } from './acl.js';

export class AclCache {
  private readonly ids = new Map<string, number>();
  private readonly lists: AclT[][] = [];

  /** The id of the interned copy of an ACL list, interning it if new. */
  idOf(acl: readonly AclT[]): number {
    // Most nodes share the first interned list (world:anyone, all permissions, in a fresh tree):
    // compare with it directly instead of building the key.
    if (acl.length === 1 && this.lists.length > 0) {
      const a = acl[0]!;
      const open = this.lists[0]!;
      if (a.perms === open[0]!.perms && a.id.id === open[0]!.id.id && a.id.scheme === open[0]!.id.scheme && open.length === 1) return 0;
    }
    const key = aclKey(acl);
    let id = this.ids.get(key);
    if (id === undefined) {
      const v = acl.map((a) => ({ perms: a.perms, id: { scheme: a.id.scheme, id: a.id.id } }));
      Object.freeze(v);
      id = this.lists.length;
      this.lists.push(v);
      this.ids.set(key, id);
    }
    return id;
  }

  /** The interned list with this id, or undefined. */
  at(id: number): AclT[] | undefined {
    return this.lists[id];
  }

  /** Every distinct ACL list, in id order. */
  values(): IterableIterator<AclT[]> {
    return this.lists.values();
  }

  clear(): void {
    this.ids.clear();
    this.lists.length = 0;
  }
}
