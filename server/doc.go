// Package server serves the task-matching model over HTTP.
//
// A Service joins a loaded engine.Engine with the matching prompts of
// package match: it implements match.Asker (the four matching questions,
// each rendered as the user message of a chat and scored against its
// allowed answers) and scores raw requests (Score). Do and DoLine run the
// JSON request bodies of the HTTP API, strictly decoded, so that the HTTP
// handler and the "taskmatch score" command share one code path.
//
// A Handler is the http.Handler of the API:
//
//	POST /v1/match   {"profile": P, "task": T, "lang": "en"|"zh"}      -> "Yes" | "No" (是 | 否)
//	POST /v1/pair    {"task": T, "a": P, "b": P, "lang": ...}           -> "A" | "B"
//	                 {"profile": P, "a": T, "b": T, "lang": ...}        -> "A" | "B"
//	POST /v1/choose  {"profile": P, "tasks": [T, ...], "lang": ...}    -> a task name
//	POST /v1/score   {"messages": [...] | "prompt": "...", "options": [...],
//	                  "mode": "full"|"greedy", "token_logprobs": bool} -> an option
//	GET  /healthz    200 once the model is loaded, 503 before
//	GET  /v1/model   the model's description and limits (ModelInfo): max_body,
//	                 max_options, max_prompt_tokens, max_option_tokens
//
// Every answer is a Result: {"answer", "ranking": [{"option",
// "probability", "logprob", "tokens"}, ...], "prompt_tokens"}, best first.
// Every error is {"error": {"code", "message"}} with the status of its
// Error: 400 (bad JSON or fields, too many options, too many option tokens
// together, too long a prompt), 404, 405, 408 (the body did not arrive
// within the read timeout), 413 (body too large), 429 (queue full), 500
// (non_finite: the model produced NaN or infinite log-probabilities), 503
// (not ready, or the request's deadline passed). JSON never holds NaN or
// infinities.
//
// Request bodies are decoded strictly: a key must be one of the documented
// names exactly (case included), no object may hold a key twice, nothing
// may follow the body's object, and /v1/choose task names must differ
// once trimmed of white space and NFC-normalized.
//
// The handler admits at most Config.Queue requests at once (running plus
// waiting for a sequence of the engine); one more gets 429. Each request
// runs under Config.Timeout; a client that goes away cancels its work. It
// logs one line per request (id, endpoint, prompt tokens, latency, status)
// with log/slog. Serve runs a handler on a listener until its context ends,
// then finishes the requests in flight; ServeConfig bounds the reading of
// each request (ReadTimeout) and the wait for the requests in flight
// (ShutdownTimeout).
package server
