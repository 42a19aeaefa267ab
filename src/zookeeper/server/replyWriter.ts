// The writer for everything a server sends to clients. Apache ZooKeeper's BinaryOutputArchive
// encodes strings one UTF-16 unit at a time, so a character outside the BMP (a surrogate pair)
// goes out as two 3-byte sequences (CESU-8) rather than one 4-byte UTF-8 sequence. Replies that
// echo such strings (sync paths, ACL ids, whoAmI users) must do the same to match byte for byte.
// Requests are decoded as standard UTF-8, as ZooKeeper does.

import { JuteWriter } from '../protocol/jute.js';

const SURROGATE = /[\ud800-\udfff]/;

export class ReplyWriter extends JuteWriter {
  override ustring(v: string | null | undefined): void {
    if (v == null || !SURROGATE.test(v)) {
      super.ustring(v);
      return;
    }
    this.ensure(4 + v.length * 3);
    const at = this.pos;
    let p = at + 4;
    const buf = this.buf;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c < 0x80) {
        buf[p++] = c;
      } else if (c < 0x800) {
        buf[p++] = 0xc0 | (c >> 6);
        buf[p++] = 0x80 | (c & 0x3f);
      } else {
        buf[p++] = 0xe0 | (c >> 12);
        buf[p++] = 0x80 | ((c >> 6) & 0x3f);
        buf[p++] = 0x80 | (c & 0x3f);
      }
    }
    buf.writeInt32BE(p - at - 4, at);
    this.pos = p;
  }
}
