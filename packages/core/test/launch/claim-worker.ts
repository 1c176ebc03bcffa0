/**
 * A claimant in its own process, for the racing tests: says it is ready (creates `<go>.<pid>`),
 * waits for the file `go` so that every claimant tries at the same moment, tries once, and if it
 * won holds the claim for `holdMs`, appending `start <pid> <t>` and `end <pid> <t>` to the log.
 * Prints `won`, `won-takeover` or `lost`.
 */
import fs from 'node:fs';
import { acquireClaim } from '../../src/launch/claims.ts';

const [root, key, go, holdMs, log] = process.argv.slice(2);
const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
fs.writeFileSync(`${go}.${process.pid}`, '');
while (!fs.existsSync(go!)) sleep(1);
const r = acquireClaim(root!, key!, 'race', { slurm: null });
if (!r.ok) {
  console.log('lost');
} else {
  fs.appendFileSync(log!, `start ${process.pid} ${Date.now()}\n`);
  sleep(Number(holdMs));
  fs.appendFileSync(log!, `end ${process.pid} ${Date.now()}\n`);
  r.claim.release();
  console.log(r.tookOver ? 'won-takeover' : 'won');
}
