#!/usr/bin/env node
// Runs llama.cpp (through node-llama-cpp, CPU only) on a GGUF file, for
// comparison with taskmatch. Two commands, JSON out on stdout:
//
//   node llamacpp.mjs logprobs --model FILE.gguf < in.json
//       in.json: {"ids": [1, 2, 3]}  (or --ids 1,2,3)
//       out: {"n_tokens", "n_vocab", "logprobs": [...], "top": [{id, logprob}]}
//       logprobs is log_softmax of the logits at the last position,
//       over the whole vocabulary, indexed by token id.
//
//   node llamacpp.mjs bench --model FILE.gguf [--prompt-tokens 256]
//       [--decode 32] [--threads 2] [--seed 1]
//       out: {"prompt_tokens", "decode_tokens", "prefill_seconds",
//             "decode_seconds", "prefill_tokens_per_s", "decode_tokens_per_s"}
//       Times a prefill of random ids from an empty cache (logits for the
//       last position only), then decode steps of one token each with
//       logits and a greedy pick, as `taskmatch perf` does.
//
// The context uses an F32 KV cache and no flash attention, as the
// fixtures under shared/fixtures were made.
import {getLlama, LlamaLogLevel} from "node-llama-cpp";
import {parseArgs} from "node:util";
import {readFileSync} from "node:fs";

const {positionals, values: opts} = parseArgs({
    allowPositionals: true,
    options: {
        model: {type: "string"},
        ids: {type: "string"},
        "prompt-tokens": {type: "string", default: "256"},
        decode: {type: "string", default: "32"},
        threads: {type: "string", default: "2"},
        seed: {type: "string", default: "1"},
        top: {type: "string", default: "10"},
        "batch-size": {type: "string", default: "512"}
    }
});

function fail(msg) {
    process.stderr.write(`llamacpp: ${msg}\n`);
    process.exit(2);
}

const command = positionals[0];
if (command !== "logprobs" && command !== "bench")
    fail("usage: llamacpp.mjs logprobs|bench --model FILE.gguf [options]");
if (opts.model == null)
    fail("--model is required");
const threads = Number(opts.threads);

// openContext loads the model on the CPU and makes a context of at least
// size positions with one sequence.
async function openContext(size) {
    const llama = await getLlama({gpu: false, maxThreads: threads, logLevel: LlamaLogLevel.warn});
    const model = await llama.loadModel({modelPath: opts.model, gpuLayers: 0});
    const context = await model.createContext({
        contextSize: size,
        batchSize: Math.min(Number(opts["batch-size"]), size),
        threads,
        flashAttention: false,
        experimentalKvCacheKeyType: "F32",
        experimentalKvCacheValueType: "F32",
        sequences: 1
    });
    return {llama, model, context, sequence: context.getSequence()};
}

// vocabSize reads the vocabulary size from the embedding's shape
// ([n_embd, n_vocab] in ggml order).
function vocabSize(model) {
    const t = model.fileInfo.tensorInfo.find((t) => t.name === "token_embd.weight");
    return Number(t.dimensions[1]);
}

// greedy asks for the next token with every logit kept (temperature 0 is
// a plain argmax over the full vocabulary).
const greedy = (probabilities) => ({generateNext: {token: true, probabilities, options: {temperature: 0}}});

async function logprobs() {
    let ids;
    if (opts.ids != null)
        ids = opts.ids.split(",").map((s) => Number(s.trim()));
    else
        ids = JSON.parse(readFileSync(0, "utf8")).ids;
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every(Number.isInteger))
        fail("ids must be a non-empty list of integers");

    const {model, context, sequence} = await openContext(ids.length + 8);
    const nVocab = vocabSize(model);
    const input = ids.slice(0, -1);
    input.push([ids[ids.length - 1], greedy(true)]);
    const res = await sequence.controlledEvaluate(input);
    const probs = res[res.length - 1].next.probabilities;

    // node-llama-cpp returns float32 softmax probabilities. Take logs and
    // renormalise in float64, which removes the float32 rounding of the
    // softmax sum (a constant shift of every log-prob).
    const lp = new Float64Array(nVocab);
    lp.fill(-Infinity);
    let max = -Infinity;
    for (const [id, p] of probs) {
        lp[id] = Math.log(p);
        if (lp[id] > max) max = lp[id];
    }
    let sum = 0;
    for (const v of lp) sum += Math.exp(v - max);
    const lse = max + Math.log(sum);
    const out = Array.from(lp, (v) => v - lse);
    const top = [...probs.keys()].slice(0, Number(opts.top)).map((id) => ({id, logprob: out[id]}));

    process.stdout.write(JSON.stringify({
        n_tokens: ids.length, n_vocab: out.length, n_returned: probs.size, top, logprobs: out
    }) + "\n");
    await context.dispose();
}

// rng is a small seeded generator (mulberry32), so runs draw the same ids.
function rng(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

async function bench() {
    const n = Number(opts["prompt-tokens"]);
    const m = Number(opts.decode);
    const {model, context, sequence} = await openContext(n + m + 8);
    const nVocab = vocabSize(model);
    const rand = rng(Number(opts.seed));
    const ids = Array.from({length: n}, () => Math.floor(rand() * nVocab));

    // Prefill: all prompt positions, logits for the last one.
    const input = ids.slice(0, -1);
    input.push([ids[n - 1], greedy(false)]);
    const t0 = process.hrtime.bigint();
    let res = await sequence.controlledEvaluate(input);
    const t1 = process.hrtime.bigint();

    // Decode: one token per step, each with logits and a greedy pick.
    let next = res[res.length - 1].next.token;
    for (let i = 0; i < m; i++) {
        res = await sequence.controlledEvaluate([[next, greedy(false)]]);
        next = res[0].next.token;
    }
    const t2 = process.hrtime.bigint();

    const prefill = Number(t1 - t0) / 1e9;
    const decode = Number(t2 - t1) / 1e9;
    process.stdout.write(JSON.stringify({
        engine: "llama.cpp", model: opts.model, threads,
        prompt_tokens: n, decode_tokens: m,
        prefill_seconds: prefill, decode_seconds: decode,
        prefill_tokens_per_s: n / prefill, decode_tokens_per_s: m > 0 ? m / decode : 0
    }) + "\n");
    await context.dispose();
}

await (command === "logprobs" ? logprobs() : bench());
process.exit(0);
