#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=16 --heap-growing-percent=50 --liftoff-only
// --max-semi-space-size=16: V8 otherwise grows its young generation to 128 MiB under churn (100 starts
// a second), and the engine's RSS with it; capped, RSS stays flat and the engine spends less CPU.
// --heap-growing-percent=50: the engine keeps a steady heap and allocates little that lives long, so V8
// set the old generation's limit ~15 % above it and, with the 16 MiB young generation, started a full
// collection every interval (a third of the engine's CPU at 10,000 processes); 50 % spaces them minutes
// apart for about the same RSS.
// --liftoff-only: Node strips the sources' types with a WebAssembly module, which V8 would also compile
// with its optimising tier, ~12 MiB of code kept for the whole run; the simulator runs no other wasm
// that matters (fetch's HTTP parser, for the few calls it makes).
// MALLOC_MMAP_THRESHOLD_=131072: glibc's malloc otherwise raises its mmap threshold to the size of the
// largest block freed (the OTLP packages' copies of each ~2 MiB request), so those blocks come
// from the main heap, where the small blocks that outlive them keep it from shrinking: under churn the
// heap grew by ~20 MiB in two minutes for ~25 MiB of live blocks. Fixed, every block of 128 KiB or more
// is mapped on its own and returned when freed.
// `npm start`, `npm run bench`, the Dockerfile and the chart pass the same flags and environment; a
// test keeps them in step.
// The package's command. Node 24 runs the TypeScript sources directly (type stripping); through npm
// (npx, npm start, npm exec) the project's own Node 24 from the `node` devDependency is the one used.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(
    `process-simulator needs Node 24 or newer (this is ${process.version}); run it through npm (npx process-simulator ...) so the project's Node 24 is used.\n`,
  );
  process.exit(2);
}
await import('../src/main.ts');
