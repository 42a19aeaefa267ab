// The znode browser: a lazy tree (children fetched on expand), the selected node's data, stat and
// ACL; create/edit/delete with a confirmation and the version check; subtree export and import.
// Watch streams (/api/zk/watch) keep the selected node and the latest expanded ones current.

import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Znode, ZnodeChange, ZnodeChildren, ZnodeCreate, ZnodeSet, ZnodeTree } from '../../api.js';
import { ConfirmButton, ErrorBox, Link, Section, Txt } from '../components.js';
import { download, enc, fmtBytes, fmtTime, getJson, HttpError, jsonText, send } from '../lib.js';
import { navigate, useEventSource, useRoute } from '../store.js';

/**
 * Expanded nodes watched besides the selected one. With the view stream that makes at most 4 SSE
 * connections, below the browser's ~6 per origin over HTTP/1.1.
 */
const watchedExpandedMax = 2;

const zkUrl = (p: string): string => `/zookeeper?path=${enc(p)}`;
const childPath = (parent: string, name: string): string => (parent === '/' ? `/${name}` : `${parent}/${name}`);
const parentOf = (p: string): string => (p.lastIndexOf('/') <= 0 ? '/' : p.slice(0, p.lastIndexOf('/')));

function Watch(props: { path: string; onChange: (c: ZnodeChange) => void }): null {
  useEventSource(`/api/zk/watch?path=${enc(props.path)}`, ['znode'], (_e, data) => {
    try {
      props.onChange(JSON.parse(data) as ZnodeChange);
    } catch {
      // skip a bad frame
    }
  });
  return null;
}

interface TreeState {
  children: Map<string, string[]>;
  expanded: string[];
}

function TreeNode(props: { path: string; name: string; tree: TreeState; selected: string; toggle: (p: string) => void }): JSX.Element {
  const kids = props.tree.children.get(props.path);
  const open = props.tree.expanded.includes(props.path);
  return (
    <li>
      <button type="button" class="toggle" onClick={() => props.toggle(props.path)} data-testid={`zk-toggle-${props.path}`}>
        {open ? '▾' : '▸'}
      </button>
      <Link href={zkUrl(props.path)} class={props.path === props.selected ? 'selected' : ''} testid={`zk-node-${props.path}`}>
        <Txt v={props.name} max={80} />
      </Link>
      {open && kids ? (
        <ul>
          {kids.map((k) => (
            <TreeNode key={k} path={childPath(props.path, k)} name={k} tree={props.tree} selected={props.selected} toggle={props.toggle} />
          ))}
          {kids.length === 0 ? <li class="muted">no children</li> : null}
        </ul>
      ) : null}
    </li>
  );
}

function NodeData(props: { node: Znode }): JSX.Element {
  const n = props.node;
  const text = n.json !== undefined ? jsonText(n.json, true) : n.data;
  return (
    <div>
      <p class="muted">
        {fmtBytes(n.dataBytes)} · {n.encoding === 'base64' ? 'binary, shown as base64' : n.json !== undefined ? 'JSON' : 'text'}
      </p>
      <pre class="value" data-testid="zk-data">
        <Txt v={text} />
      </pre>
      {n.truncated ? (
        <p data-testid="zk-truncated">
          Showing the first {fmtBytes(n.data.length)} of {fmtBytes(n.dataBytes)}.{' '}
          <a href={`/api/zk/node/raw?path=${enc(n.path)}`} download data-testid="zk-raw">
            Download whole value
          </a>
        </p>
      ) : null}
    </div>
  );
}

function StatTable(props: { node: Znode }): JSX.Element {
  const s = props.node.stat;
  const rows: [string, string][] = [
    ['version', String(s.version)],
    ['cversion', String(s.cversion)],
    ['aversion', String(s.aversion)],
    ['czxid', s.czxid],
    ['mzxid', s.mzxid],
    ['pzxid', s.pzxid],
    ['ctime', fmtTime(s.ctime)],
    ['mtime', fmtTime(s.mtime)],
    ['ephemeralOwner', s.ephemeralOwner],
    ['dataLength', String(s.dataLength)],
    ['numChildren', String(s.numChildren)],
  ];
  return (
    <table data-testid="zk-stat">
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td data-testid={`zk-stat-${k}`}>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const permNames: [number, string][] = [
  [1, 'read'],
  [2, 'write'],
  [4, 'create'],
  [8, 'delete'],
  [16, 'admin'],
];

function Editor(props: { node: Znode; reload: () => void }): JSX.Element {
  const n = props.node;
  const [draft, setDraft] = useState(n.encoding === 'utf8' ? n.data : '');
  const [base, setBase] = useState(n.stat.version);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState('');
  // A new node (or a reload after a conflict) starts a fresh edit.
  useEffect(() => {
    setDraft(n.encoding === 'utf8' ? n.data : '');
    setBase(n.stat.version);
    setError(null);
  }, [n.path]);
  if (n.truncated) return <p class="muted">The value is larger than the page shows; edit it with `clustergenie zk set`.</p>;
  return (
    <form
      data-testid="zk-edit"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(null);
        setSaved('');
        const body: ZnodeSet = { path: n.path, data: draft, encoding: 'utf8', version: base };
        try {
          const after = await send<Znode>('PUT', '/api/zk/node', body);
          setBase(after.stat.version);
          setSaved(`saved, now version ${after.stat.version}`);
          props.reload();
        } catch (err) {
          setError(err);
        }
      }}
    >
      <label>
        Data (editing version {base})
        <textarea value={draft} onInput={(e) => setDraft(e.currentTarget.value)} data-testid="zk-edit-data" />
      </label>
      <button type="submit" class="primary" data-testid="zk-save">
        Save (if still version {base})
      </button>{' '}
      {saved ? (
        <span class="ok" data-testid="zk-saved">
          {saved}
        </span>
      ) : null}
      {error instanceof HttpError && error.status === 409 ? (
        <div class="error conflict" data-testid="zk-conflict">
          Version conflict: the node changed since you loaded version {base} (it is now version {n.stat.version}). Your text is kept;{' '}
          <button
            type="button"
            data-testid="zk-conflict-reload"
            onClick={() => {
              setBase(n.stat.version);
              setError(null);
              props.reload();
            }}
          >
            edit on top of version {n.stat.version}
          </button>{' '}
          or reload the page to see the current data.
        </div>
      ) : (
        <ErrorBox error={error} />
      )}
    </form>
  );
}

function CreateChild(props: { parent: string; onCreated: (p: string) => void }): JSX.Element {
  const [name, setName] = useState('');
  const [data, setData] = useState('');
  const [sequential, setSequential] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <form
      data-testid="zk-create"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(null);
        const body: ZnodeCreate = {
          path: childPath(props.parent, name),
          data,
          encoding: 'utf8',
          mode: sequential ? 'persistent_sequential' : 'persistent',
        };
        try {
          const created = await send<Znode>('POST', '/api/zk/node', body);
          setName('');
          setData('');
          props.onCreated(created.path ?? body.path);
        } catch (err) {
          setError(err);
        }
      }}
    >
      <div class="row">
        <label>
          Child name under {props.parent}
          <input value={name} onInput={(e) => setName(e.currentTarget.value)} required data-testid="zk-create-name" />
        </label>
        <label>
          <span>
            <input type="checkbox" checked={sequential} onChange={(e) => setSequential(e.currentTarget.checked)} /> sequential
          </span>
        </label>
      </div>
      <label>
        Data
        <textarea value={data} onInput={(e) => setData(e.currentTarget.value)} data-testid="zk-create-data" />
      </label>
      <button type="submit" class="primary" data-testid="zk-create-submit">
        Create
      </button>
      <ErrorBox error={error} />
    </form>
  );
}

function ImportExport(props: { path: string; reload: () => void }): JSX.Element {
  const [error, setError] = useState<unknown>(null);
  const [overwrite, setOverwrite] = useState(false);
  const [result, setResult] = useState('');
  return (
    <div class="row" data-testid="zk-import-export">
      <button
        type="button"
        data-testid="zk-export"
        onClick={async () => {
          setError(null);
          try {
            const tree = await getJson<ZnodeTree>(`/api/zk/export?path=${enc(props.path)}`);
            const name = props.path === '/' ? 'root' : props.path.slice(1).replace(/\//g, '_');
            download(`znodes-${name}.json`, JSON.stringify(tree, null, 2));
          } catch (e) {
            setError(e);
          }
        }}
      >
        Export subtree (JSON)
      </button>
      <label>
        Import a subtree here (JSON from Export)
        <input
          type="file"
          accept="application/json,.json"
          data-testid="zk-import-file"
          onChange={async (e) => {
            setError(null);
            setResult('');
            const file = e.currentTarget.files?.[0];
            if (!file) return;
            try {
              const tree = JSON.parse(await file.text()) as ZnodeTree;
              const r = await send<{ created: number; updated: number; skipped: number }>('POST', '/api/zk/import', {
                path: props.path,
                tree,
                overwrite,
              });
              setResult(`imported: ${r.created} created, ${r.updated} updated, ${r.skipped} skipped`);
              props.reload();
            } catch (err) {
              setError(err);
            }
          }}
        />
      </label>
      <label>
        <span>
          <input type="checkbox" checked={overwrite} onChange={(e) => setOverwrite(e.currentTarget.checked)} /> overwrite existing data
        </span>
      </label>
      {result ? (
        <span class="ok" data-testid="zk-import-result">
          {result}
        </span>
      ) : null}
      <ErrorBox error={error} />
    </div>
  );
}

export function ZooKeeperPage(): JSX.Element {
  const { query } = useRoute();
  const selected = query.get('path') || '/';
  const [tree, setTree] = useState<TreeState>({ children: new Map(), expanded: ['/'] });
  const [node, setNode] = useState<Znode | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [missing, setMissing] = useState(false);

  const loadChildren = async (p: string): Promise<void> => {
    try {
      const c = await getJson<ZnodeChildren>(`/api/zk/children?path=${enc(p)}`);
      setTree((t) => ({ ...t, children: new Map(t.children).set(p, [...c.children].sort()) }));
    } catch (e) {
      if (e instanceof HttpError && e.status === 404) {
        setTree((t) => {
          const m = new Map(t.children);
          m.delete(p);
          return { children: m, expanded: t.expanded.filter((x) => x !== p) };
        });
      } else setError(e);
    }
  };
  const loadNode = async (): Promise<void> => {
    try {
      setNode(await getJson<Znode>(`/api/zk/node?path=${enc(selected)}`));
      setMissing(false);
      setError(null);
    } catch (e) {
      if (e instanceof HttpError && e.status === 404) {
        setNode(null);
        setMissing(true);
      } else setError(e);
    }
  };
  const toggle = (p: string): void => {
    const open = tree.expanded.includes(p);
    setTree((t) => ({ ...t, expanded: open ? t.expanded.filter((x) => x !== p) : [...t.expanded, p] }));
    if (!open) void loadChildren(p);
  };

  // On (re)load of a deep link, open the path's ancestors so the selected node shows in the tree.
  useEffect(() => {
    void loadNode();
    const ancestors: string[] = ['/'];
    for (let p = parentOf(selected); p !== '/'; p = parentOf(p)) ancestors.push(p);
    if (selected !== '/') ancestors.push(selected);
    setTree((t) => ({ ...t, expanded: [...new Set([...t.expanded, ...ancestors])] }));
    for (const a of ancestors) void loadChildren(a);
  }, [selected]);

  const onChange = (c: ZnodeChange): void => {
    if (c.path === selected) void loadNode();
    if (c.type === 'children' || c.type === 'created' || c.type === 'deleted') {
      void loadChildren(c.path);
      void loadChildren(parentOf(c.path));
    }
  };
  const watched = [selected, ...tree.expanded.filter((p) => p !== selected).slice(-watchedExpandedMax)];

  return (
    <div data-testid="zk-page">
      <h1>
        ZooKeeper <Txt v={selected} max={200} testid="zk-selected" />
      </h1>
      {watched.map((p) => (
        <Watch key={p} path={p} onChange={onChange} />
      ))}
      <ErrorBox error={error} />
      <div class="split">
        <div class="tree card" data-testid="zk-tree">
          <ul>
            <TreeNode path="/" name="/" tree={tree} selected={selected} toggle={toggle} />
          </ul>
        </div>
        <div class="detail">
          {missing ? (
            <p class="warn" data-testid="zk-missing">
              {selected} does not exist (deleted?). <Link href={zkUrl(parentOf(selected))}>Go to its parent</Link>
            </p>
          ) : null}
          {node ? (
            <>
              <Section title="Data" testid="zk-node">
                <NodeData node={node} />
              </Section>
              <div class="cards">
                <Section title="Stat">
                  <StatTable node={node} />
                </Section>
                <Section title="ACL">
                  <table data-testid="zk-acl">
                    <thead>
                      <tr>
                        <th>Scheme</th>
                        <th>Id</th>
                        <th>Permissions</th>
                      </tr>
                    </thead>
                    <tbody>
                      {node.acl.map((a) => (
                        <tr key={`${a.scheme}:${a.id}`}>
                          <td>{a.scheme}</td>
                          <td>
                            <Txt v={a.id} max={100} />
                          </td>
                          <td>
                            {permNames
                              .filter(([bit]) => a.perms & bit)
                              .map(([, n]) => n)
                              .join(', ')}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </Section>
              </div>
              <Section title="Edit">
                <Editor node={node} reload={() => void loadNode()} />
              </Section>
              <Section title="Create a child">
                <CreateChild
                  parent={node.path}
                  onCreated={(p) => {
                    void loadChildren(node.path);
                    navigate(zkUrl(p));
                  }}
                />
              </Section>
              <Section title="Delete, export, import">
                {node.path !== '/' ? (
                  <ConfirmButton
                    label="Delete"
                    danger
                    testid="zk-delete"
                    question={`Delete ${node.path} at version ${node.stat.version}${node.stat.numChildren ? ` and its ${node.stat.numChildren} children` : ''}?`}
                    onConfirm={async () => {
                      try {
                        const recursive = node.stat.numChildren > 0 ? '&recursive=1' : '';
                        await send('DELETE', `/api/zk/node?path=${enc(node.path)}&version=${node.stat.version}${recursive}`);
                        void loadChildren(parentOf(node.path));
                        navigate(zkUrl(parentOf(node.path)));
                      } catch (e) {
                        setError(e);
                      }
                    }}
                  />
                ) : null}
                <ImportExport path={node.path} reload={() => void loadChildren(node.path)} />
              </Section>
            </>
          ) : null}
        </div>
      </div>
    </div>
  );
}
