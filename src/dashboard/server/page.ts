// The page shell: an index.html with no data in it (the page fetches JSON), an inline import map
// allowed by its hash in the CSP, and the vendor modules resolved from node_modules (no bundler).

import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const pkgDir = (name: string): string => dirname(require.resolve(`${name}/package.json`));

/** URL path → file on disk, for the vendor assets the import map names. */
export function vendorFiles(): Record<string, { file: string; type: string }> {
  const preact = pkgDir('preact');
  const uplot = pkgDir('uplot');
  const js = 'text/javascript; charset=utf-8';
  return {
    'preact.mjs': { file: join(preact, 'dist/preact.mjs'), type: js },
    'preact-hooks.mjs': { file: join(preact, 'hooks/dist/hooks.mjs'), type: js },
    'preact-jsx-runtime.mjs': { file: join(preact, 'jsx-runtime/dist/jsxRuntime.mjs'), type: js },
    'uplot.mjs': { file: join(uplot, 'dist/uPlot.esm.js'), type: js },
    'uplot.css': { file: join(uplot, 'dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
  };
}

export const importMap = JSON.stringify({
  imports: {
    preact: '/vendor/preact.mjs',
    'preact/hooks': '/vendor/preact-hooks.mjs',
    'preact/jsx-runtime': '/vendor/preact-jsx-runtime.mjs',
    uplot: '/vendor/uplot.mjs',
  },
});

export const importMapSha256 = createHash('sha256').update(importMap).digest('base64');

export const indexHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ClusterGenie</title>
<script type="importmap">${importMap}</script>
<link rel="stylesheet" href="/vendor/uplot.css">
<script type="module" src="/ui/main.js"></script>
</head>
<body>
<div id="app"></div>
</body>
</html>
`;
