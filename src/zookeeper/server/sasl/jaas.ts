// JAAS login configuration files (the syntax of Java's default ConfigFile), as ZooKeeper reads
// them from -Djava.security.auth.login.config:
//
//   Server {
//     org.apache.zookeeper.server.auth.DigestLoginModule required
//       user_super="adminsecret"
//       user_bob="bobsecret";
//   };
//
// Sections of the same name are merged. `//` and `/* */` comments are allowed. Any syntax error
// names the file and line, and the server refuses to start (as Java's ConfigFile throws).

export class JaasError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JaasError';
  }
}

export type JaasFlag = 'required' | 'requisite' | 'sufficient' | 'optional';

export interface JaasEntry {
  loginModule: string;
  flag: JaasFlag;
  /** Option name -> value, in file order (a repeated name keeps the last value). */
  options: Map<string, string>;
  line: number;
}

/** Section name -> its login modules. */
export type JaasConfig = Map<string, JaasEntry[]>;

/** A JAAS file larger than this is refused (it holds a few user lines, not data). */
export const jaasFileBytesMax = 1024 * 1024;

interface Token {
  kind: 'word' | 'string' | 'punct';
  text: string;
  line: number;
}

const FLAGS: readonly JaasFlag[] = ['required', 'requisite', 'sufficient', 'optional'];

/** Parses the text of a JAAS file; `file` only names it in errors. */
export function parseJaas(text: string, file: string): JaasConfig {
  if (text.length > jaasFileBytesMax)
    throw new JaasError(`${file}: larger than ${jaasFileBytesMax} bytes; is this a JAAS login configuration?`);
  const toks = tokenize(text, file);
  let i = 0;
  const lastLine = toks.length > 0 ? toks[toks.length - 1]!.line : 1;
  const fail = (t: Token | undefined, what: string): never => {
    const where = t ? `line ${t.line}` : `line ${lastLine} (end of file)`;
    const got = t ? ` but found ${t.kind === 'string' ? `"${t.text}"` : `'${t.text}'`}` : '';
    throw new JaasError(`${file} ${where}: expected ${what}${got}`);
  };
  const punct = (p: string): void => {
    const t = toks[i];
    if (t?.kind !== 'punct' || t.text !== p) fail(t, `'${p}'`);
    i++;
  };
  const word = (what: string): Token => {
    const t = toks[i];
    if (t?.kind !== 'word') return fail(t, what);
    i++;
    return t;
  };
  const out: JaasConfig = new Map();
  while (i < toks.length) {
    const name = word('a section name (e.g. Server)');
    punct('{');
    const entries = out.get(name.text) ?? [];
    out.set(name.text, entries);
    while (!(toks[i]?.kind === 'punct' && toks[i]!.text === '}')) {
      const mod = word(`a login module class name or '}' to close section ${name.text}`);
      const flagTok = word(`a control flag (${FLAGS.join(', ')}) after ${mod.text}`);
      const flag = flagTok.text.toLowerCase() as JaasFlag;
      if (!FLAGS.includes(flag)) fail(flagTok, `a control flag (${FLAGS.join(', ')})`);
      const options = new Map<string, string>();
      while (!(toks[i]?.kind === 'punct' && toks[i]!.text === ';')) {
        const key = word(`an option name or ';' to end the ${mod.text} entry`);
        punct('=');
        const v = toks[i];
        if (!v || (v.kind !== 'word' && v.kind !== 'string')) fail(v, `a value for option ${key.text}`);
        i++;
        options.set(key.text, v!.text);
      }
      punct(';');
      entries.push({ loginModule: mod.text, flag, options, line: mod.line });
    }
    punct('}');
    punct(';');
  }
  return out;
}

/** Java StreamTokenizer's word characters as ConfigFile sets them up, plus what class names need. */
function isWordChar(c: string): boolean {
  return /[A-Za-z0-9_$.*-]/.test(c) || c.charCodeAt(0) >= 0xa0;
}

function tokenize(text: string, file: string): Token[] {
  const toks: Token[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f') {
      i++;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < n && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const start = line;
      i += 2;
      while (i < n && !(text[i] === '*' && text[i + 1] === '/')) {
        if (text[i] === '\n') line++;
        i++;
      }
      if (i >= n) throw new JaasError(`${file} line ${start}: comment opened with /* is never closed`);
      i += 2;
    } else if (c === '"') {
      const start = line;
      let s = '';
      i++;
      for (;;) {
        if (i >= n || text[i] === '\n') throw new JaasError(`${file} line ${start}: quoted value is not closed on its line`);
        const ch = text[i++]!;
        if (ch === '"') break;
        if (ch === '\\' && i < n) {
          const e = text[i++]!;
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
        } else {
          s += ch;
        }
      }
      toks.push({ kind: 'string', text: s, line: start });
    } else if (c === '{' || c === '}' || c === ';' || c === '=') {
      toks.push({ kind: 'punct', text: c, line });
      i++;
    } else if (isWordChar(c)) {
      const start = i;
      while (i < n && isWordChar(text[i]!)) i++;
      toks.push({ kind: 'word', text: text.slice(start, i), line });
    } else {
      throw new JaasError(`${file} line ${line}: unexpected character '${c}'`);
    }
  }
  return toks;
}

/** The login module ZooKeeper's DIGEST-MD5 server section names. */
export const DIGEST_LOGIN_MODULE = 'org.apache.zookeeper.server.auth.DigestLoginModule';

/**
 * SaslServerCallbackHandler: every `user_<name>="<password>"` option of every entry of the
 * section is a DIGEST-MD5 user.
 */
export function digestUsers(entries: readonly JaasEntry[]): Map<string, string> {
  const users = new Map<string, string>();
  for (const e of entries) {
    for (const [k, v] of e.options) if (k.startsWith('user_')) users.set(k.slice('user_'.length), v);
  }
  return users;
}
