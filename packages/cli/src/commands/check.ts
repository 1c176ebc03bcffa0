import path from 'node:path';
import type { CommandModule } from 'yargs';
import { backendInfo, checkOriginalFiles, initBackend, ORIGINAL_TOLERANCES, type CaseCheck } from '@flowformer/core';
import type { DiscoveredTask } from '../discover.ts';

interface CheckOriginalArgs {
  files: string[];
  json?: boolean;
  backend?: string;
}

const e2 = (x: number) => x.toExponential(2);

/** The human-readable report of one file. */
export function formatCheck(r: { file: string; check?: CaseCheck; error?: string }): string {
  const name = path.relative(process.cwd(), r.file) || r.file;
  if (r.error !== undefined) return `${name}: FAIL\n  ${r.error}`;
  const c = r.check!;
  const t = ORIGINAL_TOLERANCES;
  const lines = [`${name}: ${c.pass ? 'PASS' : 'FAIL'}  ${c.cls} (${c.model}/${c.case}) on ${c.backend}`];
  for (const o of c.outputs) lines.push(`  output ${o.name.padEnd(16)} rel ${e2(o.relErr)}  (limit ${t.outputs})`);
  lines.push(`  loss ${String(c.loss.ours).padEnd(18)} rel ${e2(c.loss.relErr)}  (limit ${t.loss}; original ${c.loss.ref})`);
  lines.push(`  worst gradient          rel ${e2(c.worstGrad.relErr)}  (limit ${t.grads}): ${c.worstGrad.name}`);
  if (c.worstZeroGrad) lines.push(`  zero gradients          max |g| ${e2(c.worstZeroGrad.maxAbs)}  (limit ${t.zeroGrads}): ${c.worstZeroGrad.name}`);
  const worstInter = c.intermediates.reduce((w, i) => (i.relErr > w.relErr ? i : w), { name: '-', relErr: 0 });
  lines.push(
    c.firstBadIntermediate
      ? `  first intermediate that disagrees: ${c.firstBadIntermediate.name} (rel ${e2(c.firstBadIntermediate.relErr)}, limit ${t.intermediates})`
      : `  intermediates           all ${c.intermediates.length} agree, worst rel ${e2(worstInter.relErr)} (${worstInter.name})`,
  );
  for (const f of c.failures) lines.push(`  - ${f}`);
  return lines.join('\n');
}

/** `flowformer check original FILE...`: our models against reference passes of the original PyTorch code. */
export function checkCommand(tasks: DiscoveredTask[]): CommandModule<object, CheckOriginalArgs> {
  const can = tasks.filter((t) => t.task.original).map((t) => `${t.task.name} (${t.task.original!.classes.join(', ')})`);
  return {
    command: 'check <what>',
    describe: 'Check our models against the original code: `check original FILE.safetensors...`',
    builder: (y) =>
      y
        .command({
          command: 'original <files..>',
          describe: `Build our model from a reference case's constructor arguments, load its weights, run its inputs forward and backward, and compare (tasks: ${can.join('; ') || 'none installed'})`,
          builder: (yy) =>
            yy
              .positional('files', { type: 'string', array: true, describe: 'reference cases (safetensors with param.*, input.*, output.*, loss, grad.*, inter.* and __metadata__.case)' })
              .option('json', { type: 'boolean', describe: 'print the comparison of every file as JSON' })
              .example('$0 check original fixtures/golden/models/*/*.safetensors', 'every vendored reference case on the default backend')
              .example('$0 check original fixtures/golden/models/uea/learnable.safetensors --backend wasm --json', 'one case on wasm, as JSON')
              .epilogue(
                'Tolerances (fixtures/golden/models/README.md): outputs and loss relative error < 1e-4, every non-zero gradient < 1e-3, ' +
                  'gradients that are zero in the original < 1e-7 in absolute value, intermediates < 1e-4. Exits 1 when any file misses them; ' +
                  'the first intermediate that disagrees locates the layer.',
              ) as never,
          handler: async (argv) => {
            const args = argv as unknown as CheckOriginalArgs;
            await initBackend(args.backend as never);
            const results = checkOriginalFiles(args.files, tasks.map((t) => t.task));
            if (args.json) console.log(JSON.stringify(results, null, 2));
            else for (const r of results) console.log(formatCheck(r));
            const failed = results.filter((r) => !r.check?.pass);
            if (!args.json) console.log(`${results.length - failed.length} of ${results.length} files pass on ${backendInfo().backend}`);
            if (failed.length > 0) process.exitCode = 1;
          },
        })
        .demandCommand(1, 'Name what to check: `original`.') as never,
    handler: () => {},
  };
}
