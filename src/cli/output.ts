// Output helpers shared by the client commands: one JSON document for --json (scripts), aligned
// columns for people. Text goes to stdout; diagnostics to stderr.

/** Prints `value` as one JSON document (pretty when stdout is a terminal). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, process.stdout.isTTY ? 2 : undefined)}\n`);
}

/** Control characters (ANSI escapes included) shown as \xNN so hostile data cannot drive the terminal. */
export function safeText(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Rows as aligned columns under a header; cells are made terminal-safe. */
export function formatTable(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [header.map(String), ...rows.map((r) => r.map((c) => safeText(c === undefined || c === null ? '' : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return `${cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n')}\n`;
}

export function printTable(header: readonly string[], rows: readonly (readonly unknown[])[]): void {
  process.stdout.write(formatTable(header, rows));
}

/** One JSON document on one line (streams: `--json` output of watch/tail commands is NDJSON). */
export function printJsonLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Text for people: made terminal-safe when stdout is a terminal, as is when piped (scripts get the bytes they stored). */
export function showText(s: string): string {
  return process.stdout.isTTY ? safeText(s) : s;
}

export interface Progress {
  update(done: number): void;
  stop(): void;
}

/** A progress bar on stderr when it is a terminal (cli-progress); silent otherwise. */
export async function progressBar(total: number, label: string): Promise<Progress> {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const { SingleBar, Presets } = await import('cli-progress');
  const bar = new SingleBar(
    { stream: process.stderr, format: `${label} [{bar}] {value}/{total} ({percentage}%)`, hideCursor: true },
    Presets.shades_classic,
  );
  bar.start(total, 0);
  return { update: (done) => bar.update(done), stop: () => bar.stop() };
}
