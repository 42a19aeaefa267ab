// The extracting and formatting pipeline stages without HTTP: regexp, pattern, line_format and
// label_format, parsed by the grammar and run on single lines. Loki's documented behaviours are
// the expected values.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runLogQuery } from '../../../../src/genie/logs/store/evaluate.js';
import { compileRegex } from '../../../../src/genie/logs/store/literals.js';
import { LogQLError, type LogQuery, parseLogQL } from '../../../../src/genie/logs/store/logql.js';
import { processEntry, runPipeline } from '../../../../src/genie/logs/store/pipeline.js';
import { printf } from '../../../../src/genie/logs/store/template.js';
import { ArraySource } from './arraySource.js';

const log = (q: string): LogQuery => {
  const r = parseLogQL(q);
  assert.equal(r.kind, 'log', q);
  return r as LogQuery;
};

const refuses = (q: string, re: RegExp): void => {
  assert.throws(
    () => parseLogQL(q),
    (e: unknown) => e instanceof LogQLError && re.test(e.message),
    q,
  );
};

test('regexp: RE2 named groups become labels; unmatched groups are empty; no match adds nothing', () => {
  const q = log('{app="a"} | regexp "(?P<method>\\\\w+) (?P<path>/\\\\S*)(?: (?P<code>\\\\d+))?"');
  assert.deepEqual(processEntry(q.stages, 'GET /index.html 200', { app: 'a' }), {
    app: 'a',
    method: 'GET',
    path: '/index.html',
    code: '200',
  });
  assert.deepEqual(processEntry(q.stages, 'POST /x', { app: 'a' }), { app: 'a', method: 'POST', path: '/x', code: '' });
  assert.deepEqual(processEntry(q.stages, '---', { app: 'a' }), { app: 'a' });
  // A name the stream already has gets _extracted, as json and logfmt do.
  assert.deepEqual(processEntry(log('{app="a"} | regexp `(?P<app>\\w+)`').stages, 'web', { app: 'a' }), {
    app: 'a',
    app_extracted: 'web',
  });
  // JavaScript's own (?<name>) spelling, which Go 1.22's RE2 takes too, and a leading (?i).
  assert.deepEqual(processEntry(log('{app="a"} | regexp `(?i)level=(?<level>[a-z]+)`').stages, 'LEVEL=Warn', { app: 'a' }), {
    app: 'a',
    level: 'Warn',
  });
  // Extracted labels filter like any other.
  const f = log('{app="a"} | regexp `took (?P<ms>\\d+)ms` | ms > 100');
  assert.ok(processEntry(f.stages, 'took 250ms', { app: 'a' }));
  assert.equal(processEntry(f.stages, 'took 50ms', { app: 'a' }), undefined);
});

test('regexp: RE2 constructs are rewritten for JavaScript, and what RE2 lacks is refused', () => {
  assert.ok(compileRegex('^[[:digit:]]+[[:space:]]$').test('42 '));
  assert.equal(compileRegex('^[[:alpha:]]+$').test('a1'), false);
  assert.ok(compileRegex('\\Aab\\z').test('ab'));
  assert.equal(compileRegex('\\Aab\\z').test('ab\n'), false);
  assert.ok(compileRegex('^\\pL+$').test('héllo'));
  assert.ok(compileRegex('[]a]').test(']'));
  refuses('{app="a"} | regexp "(?P<x>a)(?=b)"', /lookaround/);
  refuses('{app="a"} | regexp "(?P<x>a)\\\\1"', /backreference/);
  refuses('{app="a"} | regexp "\\\\Q.*\\\\E(?P<x>a)"', /\\Q/);
  refuses('{app="a"} | regexp "[[:nope:]](?P<x>a)"', /unknown character class/);
  refuses('{app="a"} | regexp "(a)(b)"', /at least one named capture/);
  refuses('{app="a"} | regexp "(?P<x>a"', /invalid regular expression/);
  refuses('{app="a"} |~ "(?<=a)b"', /lookaround/);
});

test('pattern: <name> captures, <_> skips, literals anchor; partial lines keep what matched', () => {
  const q = log('{app="a"} | pattern `<ip> - <_> [<ts>] "<method> <path> <_>" <status> <size>`');
  const line = '10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326';
  assert.deepEqual(processEntry(q.stages, line, { app: 'a' }), {
    app: 'a',
    ip: '10.0.0.1',
    ts: '10/Oct/2000:13:55:36 -0700',
    method: 'GET',
    path: '/a.gif',
    status: '200',
    size: '2326',
  });
  // Loki: when a literal is missing, the capture before it takes the rest of the line.
  assert.deepEqual(processEntry(q.stages, '10.0.0.1 - frank', { app: 'a' }), { app: 'a', ip: '10.0.0.1' });
  assert.deepEqual(processEntry(q.stages, 'nothing here', { app: 'a' }), { app: 'a', ip: 'nothing here' });
  // A leading literal must start the line.
  const lead = log('{app="a"} | pattern `level=<level> <_>`');
  assert.deepEqual(processEntry(lead.stages, 'level=info msg', { app: 'a' }), { app: 'a', level: 'info' });
  assert.deepEqual(processEntry(lead.stages, 'x level=info msg', { app: 'a' }), { app: 'a' });
  // A `<` that starts no capture is literal text.
  assert.deepEqual(processEntry(log('{app="a"} | pattern `<a> <- <b>`').stages, '1 <- 2', { app: 'a' }), { app: 'a', a: '1', b: '2' });
  refuses('{app="a"} | pattern `<a><b>`', /consecutive capture/);
  refuses('{app="a"} | pattern `<a> <a>`', /duplicate capture name \(a\)/);
  refuses('{app="a"} | pattern `<_> x`', /at least one capture/);
});

test('pipelines run inside log queries and keep the stored line', () => {
  const src = new ArraySource(
    [{ id: 1, labels: { app: 'a' } }],
    [
      { streamId: 1, tsNs: 1n, line: 'GET /a 200' },
      { streamId: 1, tsNs: 2n, line: 'GET /b 500' },
    ],
  );
  const r = runLogQuery(log('{app="a"} | pattern `<method> <path> <code>` | code >= 500'), src, {
    startNs: 0n,
    endNs: 10n,
    limit: 10,
    direction: 'forward',
  });
  assert.deepEqual(r.streams, [{ labels: { app: 'a', method: 'GET', path: '/b', code: '500' }, values: [['2', 'GET /b 500']] }]);
  assert.deepEqual(runPipeline(log('{app="a"} |= "x"').stages, 'y', { app: 'a' }), undefined);
});

test('line_format: label references, literal text, pipes and the common functions', () => {
  const run = (tmpl: string, labels: Record<string, string>, line = 'orig') =>
    runPipeline(log(`{app="a"} | line_format ${JSON.stringify(tmpl)}`).stages, line, { app: 'a', ...labels });
  assert.equal(run('{{.level}}: {{ .msg }}', { level: 'info', msg: 'hi' })?.line, 'info: hi');
  assert.equal(run('[{{ .missing }}]', {})?.line, '[]'); // Loki's missingkey=zero
  assert.equal(
    run('{{ .level | ToUpper }} {{ lower .msg }} {{ upper "x" }} {{ ToLower "Y" }}', { level: 'warn', msg: 'HI' })?.line,
    'WARN hi X y',
  );
  assert.equal(run('{{ .s | trim }}|{{ trunc 3 .s }}|{{ trunc -2 "abcdef" }}', { s: '  ab  ' })?.line, 'ab|  a|ef');
  assert.equal(run('{{ .missing | default "none" }} {{ default "d" .level }}', { level: 'x' })?.line, 'none x');
  assert.equal(run('{{ printf "%s=%d %v %-4s| %q" .k 42 .v .k "q" }}', { k: 'n', v: '7' })?.line, 'n=42 7 n   | "q"');
  assert.equal(run('{{ printf "%d" .v }}', { v: '7' })?.line, '%!d(string=7)'); // Go's, since labels are strings
  assert.equal(run('{{- " a" }} {{- /* gone */ -}} b', {})?.line, ' ab');
  assert.equal(run('{{ __line__ }}!', {}, 'raw')?.line, 'raw!');
  // The rewritten line is what later line filters see.
  assert.equal(runPipeline(log('{app="a"} | line_format "{{.x}}" |= "keep"').stages, 'keep', { app: 'a', x: 'drop' }), undefined);
  // A template that fails while running keeps the line and marks it, as Loki does.
  const bad = run('{{ trunc .n "abc" }}', { n: 'x' });
  assert.equal(bad?.line, 'orig');
  assert.equal(bad?.labels.__error__, 'TemplateFormatErr');
  assert.match(bad?.labels.__error_details__ ?? '', /trunc/);
  refuses('{a="b"} | line_format "{{ .x | title }}"', /template function title/);
  refuses('{a="b"} | line_format "{{ range .x }}{{ end }}"', /template action 'range'/);
  refuses('{a="b"} | line_format "{{ $x }}"', /template variable/);
  refuses('{a="b"} | line_format `{{ printf "%x" .a }}`', /printf verb %x/);
  refuses('{a="b"} | line_format "{{ .a "', /unclosed action/);
  assert.equal(printf('%05d|%.2f|%s', [-42, 1.5]), '-0042|1.50|%!s(MISSING)');
});

test('label_format: renames move the value, templates read the labels as they were before the stage', () => {
  const q = log('{app="a"} | logfmt | label_format lvl=level, desc="{{.level}}/{{.lvl}}", app="{{ .app | ToUpper }}"');
  assert.deepEqual(processEntry(q.stages, 'level=info', { app: 'a' }), { app: 'A', lvl: 'info', desc: 'info/' });
  // Renaming a label that is absent does nothing.
  assert.deepEqual(processEntry(log('{app="a"} | label_format x=nope').stages, '', { app: 'a' }), { app: 'a' });
  refuses('{a="b"} | label_format x=y, x="z"', /multiple label name 'x'/);
});
