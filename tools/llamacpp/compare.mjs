#!/usr/bin/env node
// Compares llama.cpp's log-probs with taskmatch's logits at the last
// position:
//
//   node compare.mjs LLAMA.json TASKMATCH.json
//
// LLAMA.json is `llamacpp.mjs logprobs` output; TASKMATCH.json is
// `taskmatch logits --full` output. Prints JSON with the max and mean
// |log_softmax difference| over the vocabulary and the two argmaxes.
import {readFileSync} from "node:fs";

const [llamaPath, tmPath] = process.argv.slice(2);
if (llamaPath == null || tmPath == null) {
    process.stderr.write("usage: compare.mjs LLAMA.json TASKMATCH.json\n");
    process.exit(2);
}
const llama = JSON.parse(readFileSync(llamaPath, "utf8"));
const tm = JSON.parse(readFileSync(tmPath, "utf8"));
const logits = tm.logits;
if (logits == null || logits.length !== llama.logprobs.length) {
    process.stderr.write(`compare: vocabulary sizes differ or --full missing (${logits?.length} vs ${llama.logprobs.length})\n`);
    process.exit(1);
}

// log_softmax in float64.
let max = -Infinity;
for (const v of logits) if (v > max) max = v;
let sum = 0;
for (const v of logits) sum += Math.exp(v - max);
const lse = max + Math.log(sum);

let maxDiff = 0, meanDiff = 0, at = -1, amL = 0, amT = 0;
for (let i = 0; i < logits.length; i++) {
    const d = Math.abs((logits[i] - lse) - llama.logprobs[i]);
    meanDiff += d;
    if (d > maxDiff) { maxDiff = d; at = i; }
    if (llama.logprobs[i] > llama.logprobs[amL]) amL = i;
    if (logits[i] > logits[amT]) amT = i;
}
process.stdout.write(JSON.stringify({
    n_tokens: llama.n_tokens, n_vocab: logits.length,
    max_abs_diff: maxDiff, at_id: at, mean_abs_diff: meanDiff / logits.length,
    argmax_llamacpp: amL, argmax_taskmatch: amT,
    logprob_spread_llamacpp: llama.logprobs.reduce((a, b) => Math.max(a, b)) - llama.logprobs.reduce((a, b) => Math.min(a, b))
}) + "\n");
