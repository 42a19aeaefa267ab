// /proc sampling of server processes (Linux): CPU time (utime + stime of the whole thread group,
// from /proc/<pid>/stat, in clock ticks) and memory (VmRSS / VmHWM from /proc/<pid>/status);
// PeakRss resets VmHWM between workloads (writing "5" to /proc/<pid>/clear_refs, Linux ≥ 4.0;
// needs the right to write that file: root or the process's owner).
// Synchronous on purpose: the load generator's onMeasureStart/onMeasureEnd hooks call it.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

let ticks: number | undefined;

/** /proc/<pid>/<file>, or undefined once the process is gone. */
function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Clock ticks per second (`getconf CLK_TCK`, normally 100). */
export function clockTicks(): number {
  if (ticks === undefined) {
    try {
      const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      ticks = Number.isInteger(n) && n > 0 ? n : 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** utime + stime of a process (all its threads) in seconds; undefined if it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  const text = readProc(pid, 'stat');
  if (text === undefined) return undefined;
  // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
  // The rest starts at field 3 (state); utime and stime are fields 14 and 15.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[14 - 3]);
  const stime = Number(rest[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return (utime + stime) / clockTicks();
}

/** Sum of cpuSeconds over processes; throws if one of them is gone (a measurement would be wrong). */
export function totalCpuSeconds(pids: readonly number[]): number {
  let sum = 0;
  for (const pid of pids) {
    const s = cpuSeconds(pid);
    if (s === undefined) throw new Error(`process ${pid} is gone: cannot read its CPU time`);
    sum += s;
  }
  return sum;
}

export interface MemorySample {
  /** Resident set size now (VmRSS), MB (2^20 bytes). */
  rssMb: number;
  /** Peak resident set size (VmHWM), MB. */
  hwmMb: number;
}

/** VmRSS and VmHWM of a process in MB; undefined if it is gone. */
export function memory(pid: number): MemorySample | undefined {
  const text = readProc(pid, 'status');
  if (text === undefined) return undefined;
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

/** CPU time of a measured interval: call start() and end() around it. */
export class CpuMeter {
  private startSec: number | undefined;
  private endSec: number | undefined;

  constructor(private readonly pids: readonly number[]) {}

  start(): void {
    this.startSec = totalCpuSeconds(this.pids);
  }

  end(): void {
    this.endSec = totalCpuSeconds(this.pids);
  }

  /** Seconds of CPU the processes used between start() and end() (NaN if either is missing). */
  get seconds(): number {
    return this.startSec === undefined || this.endSec === undefined ? NaN : this.endSec - this.startSec;
  }
}

/**
 * Peak RSS of a set of processes per interval: reset() before an interval sets each VmHWM back to
 * the current VmRSS, read() after it gives the peak within the interval. The peak over the whole
 * life of the processes is kept too (every VmHWM read, including the one just before each reset,
 * folds into it), so resetting loses nothing.
 *
 * If clear_refs cannot be written (not Linux, no permission), reset() records why and read()
 * returns the cumulative peak since each process started; `resetWorks` says which one you got.
 */
export class PeakRss {
  private readonly lifetime: number[];
  /** false once a reset failed; then every read() is the cumulative peak. */
  resetWorks = true;
  /** Why the reset failed (the first error). */
  resetError: string | undefined;

  constructor(private readonly pids: readonly number[]) {
    this.lifetime = pids.map(() => NaN);
  }

  /** Reset every process's VmHWM (after folding the current value into the lifetime peak). */
  reset(): void {
    this.read();
    if (!this.resetWorks) return;
    for (const pid of this.pids) {
      try {
        writeFileSync(`/proc/${pid}/clear_refs`, '5');
      } catch (e) {
        this.resetWorks = false;
        this.resetError = `/proc/${pid}/clear_refs: ${(e as Error).message}`;
        return;
      }
    }
  }

  /** VmHWM of every process now, MB (NaN for one that is gone); folds into the lifetime peak. */
  read(): number[] {
    return this.pids.map((pid, i) => {
      const hwm = memory(pid)?.hwmMb ?? NaN;
      if (Number.isFinite(hwm) && !(hwm <= this.lifetime[i]!)) this.lifetime[i] = hwm;
      return hwm;
    });
  }

  /** The peak of every process over everything read so far (call read() first for "until now"), MB. */
  lifetimePeak(): number[] {
    return [...this.lifetime];
  }
}
