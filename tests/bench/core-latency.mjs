#!/usr/bin/env node
// How long a value takes to go from one core to another and back on this machine:
//   node tests/bench/core-latency.mjs [--rounds 200000]
//
// Two threads (this one and a worker) hand a flag in shared memory back and forth, each spinning
// until the other has written it; the mean round trip is printed in nanoseconds. On a virtual
// machine the host decides where the two virtual CPUs run: near each other (sharing a cache, a
// round trip of ~100 ns here) or far apart (~400 ns here, from one run to the next). Everything the
// threaded build's threads hand each other (a step's pieces, their gradients, the shared update)
// crosses that path, so its speed against one thread depends on it: steady.mjs prints this
// before and after each run.

import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

/** The mean round trip between two threads, in ns, over `rounds` hand-overs. */
export async function coreRoundTrip(rounds = 200_000) {
  const flag = new Int32Array(new SharedArrayBuffer(8));
  const source = `
    const { workerData: { flag, rounds } } = require('node:worker_threads');
    for (let i = 0; i < rounds; i++) {
      while (Atomics.load(flag, 0) !== 1);
      Atomics.store(flag, 0, 0);
    }`;
  const worker = new Worker(source, { eval: true, workerData: { flag, rounds } });
  const online = new Promise((resolve) => worker.once('online', resolve));
  const exited = new Promise((resolve, reject) => {
    worker.once('exit', resolve);
    worker.once('error', reject);
  });
  await online;
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) {
    Atomics.store(flag, 0, 1);
    while (Atomics.load(flag, 0) !== 0);
  }
  const ns = Number(process.hrtime.bigint() - started) / rounds;
  await exited;
  return Math.round(ns);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--rounds');
  const rounds = i >= 0 ? Number(process.argv[i + 1]) : 200_000;
  console.log(`round trip between two threads: ${await coreRoundTrip(rounds)} ns`);
}
