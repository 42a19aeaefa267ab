#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';
main(process.argv.slice(2)).catch((e) => {
  console.error(`clustergenie: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
