// Znode path rules, as ZooKeeper's PathUtils enforces them.

/** Returns an error message, or undefined if the path is valid. */
export function pathError(path: string): string | undefined {
  const n = path.length;
  if (n === 0) return 'Path length must be > 0';
  if (path.charCodeAt(0) !== 47) return 'Path must start with / character';
  if (n === 1) return undefined;
  if (path.charCodeAt(n - 1) === 47) return 'Path must not end with / character';
  let prev = 47;
  for (let i = 1; i < n; i++) {
    const c = path.charCodeAt(i);
    if (c === 0) return `null character not allowed @${i}`;
    if (c === 47) {
      if (prev === 47) return `empty node name specified @${i}`;
      if (prev === 46) {
        // "/./" or "/../"
        const p1 = path.charCodeAt(i - 2);
        if (p1 === 47 || (p1 === 46 && path.charCodeAt(i - 3) === 47)) return `relative paths not allowed @${i}`;
      }
    } else if ((c > 0 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) || (c >= 0xfff0 && c <= 0xffff)) {
      return `invalid character @${i}`;
    }
    prev = c;
  }
  if (prev === 46) {
    const p1 = path.charCodeAt(n - 2);
    if (p1 === 47 || (p1 === 46 && path.charCodeAt(n - 3) === 47)) return `relative paths not allowed @${n - 1}`;
  }
  return undefined;
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function joinPath(parent: string, child: string): string {
  return parent === '/' ? `/${child}` : `${parent}/${child}`;
}

/** The ten-digit zero-padded sequence suffix ZooKeeper appends (%010d, signed int). */
export function sequenceSuffix(n: number): string {
  if (n < 0) return `-${String(-n).padStart(9, '0')}`;
  return String(n).padStart(10, '0');
}
