// Small shared pieces: links that route in-page, text that is always shown as text, confirmations,
// errors, tabs, pagination and uPlot charts.

import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { clip, errorText, HttpError, visible } from './lib.js';
import { navigate } from './store.js';

export function Link(props: { href: string; children: ComponentChildren; testid?: string; class?: string }): JSX.Element {
  const onClick = (e: MouseEvent): void => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(props.href);
  };
  return (
    <a href={props.href} onClick={onClick} data-testid={props.testid} class={props.class}>
      {props.children}
    </a>
  );
}

/** A value as text: Preact escapes it; control and bidi characters become visible escapes. */
export function Txt(props: { v: string | null | undefined; max?: number; testid?: string }): JSX.Element {
  if (props.v === null || props.v === undefined) return <span class="muted">null</span>;
  const text = props.max === undefined ? visible(props.v) : clip(props.v, props.max);
  return (
    <span class="txt" data-testid={props.testid}>
      {text}
    </span>
  );
}

export function Badge(props: { ok: boolean; yes?: string; no?: string; testid?: string }): JSX.Element {
  return (
    <span class={props.ok ? 'badge ok' : 'badge bad'} data-testid={props.testid}>
      {props.ok ? (props.yes ?? 'up') : (props.no ?? 'down')}
    </span>
  );
}

export function ErrorBox(props: { error: unknown; testid?: string }): JSX.Element | null {
  if (!props.error) return null;
  const e = props.error;
  const conflict = e instanceof HttpError && e.status === 409;
  return (
    <div class={conflict ? 'error conflict' : 'error'} role="alert" data-testid={props.testid ?? (conflict ? 'conflict' : 'error')}>
      {conflict ? 'Conflict: ' : ''}
      {visible(errorText(e))}
    </div>
  );
}

/** A button that asks "are you sure?" in the page (no window.confirm dialog) before acting. */
export function ConfirmButton(props: {
  label: string;
  question: string;
  onConfirm: () => void | Promise<void>;
  testid: string;
  danger?: boolean;
  disabled?: boolean;
}): JSX.Element {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button
        type="button"
        class={props.danger ? 'danger' : ''}
        disabled={props.disabled}
        data-testid={props.testid}
        onClick={() => setAsking(true)}
      >
        {props.label}
      </button>
    );
  }
  return (
    <span class="confirm" data-testid={`${props.testid}-confirm-box`}>
      {visible(props.question)}{' '}
      <button
        type="button"
        class="danger"
        data-testid={`${props.testid}-confirm`}
        onClick={async () => {
          setAsking(false);
          await props.onConfirm();
        }}
      >
        Yes, {props.label.toLowerCase()}
      </button>{' '}
      <button type="button" data-testid={`${props.testid}-cancel`} onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

export function Tabs(props: { tabs: { id: string; label: string; href: string }[]; current: string }): JSX.Element {
  return (
    <nav class="tabs">
      {props.tabs.map((t) => (
        <Link key={t.id} href={t.href} class={t.id === props.current ? 'tab current' : 'tab'} testid={`tab-${t.id}`}>
          {t.label}
        </Link>
      ))}
    </nav>
  );
}

/** Rows of a long list one page at a time (the DOM stays small with 1,000s of rows). */
export function usePage<T>(rows: readonly T[], pageSize: number, resetKey: string): { rows: T[]; pager: JSX.Element | null } {
  const [page, setPage] = useState(0);
  useEffect(() => setPage(0), [resetKey]);
  const pages = Math.max(1, Math.ceil(rows.length / pageSize));
  const p = Math.min(page, pages - 1);
  const slice = rows.slice(p * pageSize, (p + 1) * pageSize);
  const pager =
    pages <= 1 ? null : (
      <div class="pager" data-testid="pager">
        <button type="button" disabled={p === 0} onClick={() => setPage(p - 1)}>
          ‹ Prev
        </button>{' '}
        page {p + 1} of {pages} ({rows.length} rows){' '}
        <button type="button" disabled={p >= pages - 1} onClick={() => setPage(p + 1)} data-testid="pager-next">
          Next ›
        </button>
      </div>
    );
  return { rows: slice, pager };
}

export function Section(props: {
  title: string;
  children: ComponentChildren;
  testid?: string;
  right?: ComponentChildren;
  /** Spans the whole row of a .cards grid (wide tables). */
  wide?: boolean;
}): JSX.Element {
  return (
    <section class={props.wide ? 'card wide' : 'card'} data-testid={props.testid}>
      <h2>
        {props.title}
        {props.right ? <span class="right">{props.right}</span> : null}
      </h2>
      {props.children}
    </section>
  );
}

/** A small uPlot line chart of one series over time (seconds). */
export function Chart(props: { title: string; xs: number[]; ys: (number | null)[]; testid?: string }): JSX.Element {
  const ref = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    if (!ref.current) return;
    plot.current = new uPlot(
      {
        width: 420,
        height: 160,
        title: props.title,
        legend: { show: false },
        series: [{}, { label: props.title, stroke: '#2563eb', width: 1.5 }],
        axes: [{}, { size: 60 }],
      },
      [[], []],
      ref.current,
    );
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, [props.title]);
  useEffect(() => {
    plot.current?.setData([props.xs, props.ys] as uPlot.AlignedData);
  }, [props.xs, props.ys]);
  return <div class="chart" ref={ref} data-testid={props.testid} />;
}
