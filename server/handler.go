package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// DefaultQueue is the default of Config.Queue.
const DefaultQueue = 64

// Config sets how a Handler admits, times and logs requests.
type Config struct {
	// Queue is the most scoring requests admitted at once, running plus
	// waiting for one of the engine's sequences; one more gets 429.
	// 0 means DefaultQueue.
	Queue int
	// Timeout is each scoring request's deadline; past it the work stops
	// and the client gets 503. 0 means none.
	Timeout time.Duration
	// Logger gets one line per request; nil means slog.Default().
	Logger *slog.Logger
}

// Handler is the http.Handler of the API (see the package doc). It answers
// 503 until SetService gives it a Service, so that a server can listen, and
// report its state on /healthz, while the model loads.
type Handler struct {
	cfg   Config
	log   *slog.Logger
	svc   atomic.Pointer[Service]
	queue chan struct{} // one token per admitted request
	ids   atomic.Uint64
	idPre string
	busy  atomic.Int64 // requests in ServeHTTP
}

// NewHandler returns a Handler with no Service yet.
func NewHandler(cfg Config) *Handler {
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	h := &Handler{cfg: cfg, log: cfg.Logger, queue: make(chan struct{}, cfg.Queue)}
	if h.log == nil {
		h.log = slog.Default()
	}
	var b [4]byte
	rand.Read(b[:])
	h.idPre = hex.EncodeToString(b[:])
	return h
}

// SetService makes the handler serve s; /healthz answers 200 from then on.
func (h *Handler) SetService(s *Service) { h.svc.Store(s) }

// Ready reports whether the handler has a Service.
func (h *Handler) Ready() bool { return h.svc.Load() != nil }

// Wait waits until no request is in the handler, or until ctx is done; it
// returns ctx.Err() in that case. After Serve returns, Wait tells when the
// Service's engine is no longer in use and may be closed.
func (h *Handler) Wait(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for h.busy.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// endpoints maps POST paths to request kinds.
var endpoints = map[string]string{
	"/v1/match":  KindMatch,
	"/v1/pair":   KindPair,
	"/v1/choose": KindChoose,
	"/v1/score":  KindScore,
}

// ServeHTTP answers one request and logs it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.busy.Add(1)
	defer h.busy.Add(-1)
	start := time.Now()
	id := r.Header.Get("X-Request-ID")
	if !goodID(id) {
		id = fmt.Sprintf("%s-%d", h.idPre, h.ids.Add(1))
	}
	w.Header().Set("X-Request-ID", id)

	status, tokens, code := h.serve(w, r)

	level := slog.LevelInfo
	if r.URL.Path == "/healthz" {
		level = slog.LevelDebug
	}
	attrs := []slog.Attr{
		slog.String("id", id),
		slog.String("endpoint", r.URL.Path),
		slog.Int("prompt_tokens", tokens),
		slog.Duration("latency", time.Since(start)),
		slog.Int("status", status),
	}
	if code != "" {
		attrs = append(attrs, slog.String("code", code))
	}
	h.log.LogAttrs(r.Context(), level, "request", attrs...)
}

// serve routes a request and writes its response. It returns the status,
// the prompt tokens and, for errors, the error code.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request) (int, int, string) {
	kind, post := endpoints[r.URL.Path]
	switch {
	case post && r.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		return h.fail(w, notAllowed(r.Method, "POST"))
	case post:
		return h.score(w, r, kind)
	case r.URL.Path != "/healthz" && r.URL.Path != "/v1/model":
		return h.fail(w, errorf(http.StatusNotFound, CodeNotFound, "no endpoint "+r.URL.Path))
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		w.Header().Set("Allow", "GET, HEAD")
		return h.fail(w, notAllowed(r.Method, "GET"))
	}
	svc := h.svc.Load()
	if svc == nil {
		return h.fail(w, errNotReady)
	}
	if r.URL.Path == "/healthz" {
		return h.write(w, http.StatusOK, map[string]string{"status": "ok"}), 0, ""
	}
	return h.write(w, http.StatusOK, svc.Info()), 0, ""
}

var errNotReady = errorf(http.StatusServiceUnavailable, CodeNotReady, "the model is loading")

func notAllowed(method, want string) *Error {
	return errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed,
		fmt.Sprintf("method %s is not allowed: use %s", method, want))
}

func tooLarge(limit int64) *Error {
	return errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge,
		fmt.Sprintf("the body is larger than %d bytes", limit))
}

// score runs a POST to a scoring endpoint.
func (h *Handler) score(w http.ResponseWriter, r *http.Request, kind string) (int, int, string) {
	svc := h.svc.Load()
	if svc == nil {
		return h.fail(w, errNotReady)
	}
	lim := svc.Limits().MaxBody
	if r.ContentLength > lim {
		return h.fail(w, tooLarge(lim))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, lim))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return h.fail(w, tooLarge(lim))
	} else if errors.Is(err, os.ErrDeadlineExceeded) {
		// The server's read timeout (ServeConfig.ReadTimeout) passed.
		return h.fail(w, errorf(http.StatusRequestTimeout, CodeReadTimeout,
			"the body did not arrive within the read timeout"))
	} else if err != nil {
		return h.fail(w, errorf(http.StatusBadRequest, CodeBadJSON, "reading the body: "+err.Error()))
	}

	select {
	case h.queue <- struct{}{}:
		defer func() { <-h.queue }()
	default:
		return h.fail(w, errorf(http.StatusTooManyRequests, CodeQueueFull,
			fmt.Sprintf("%d requests are in flight or waiting: try again later", h.cfg.Queue)))
	}

	ctx := r.Context()
	if h.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.cfg.Timeout)
		defer cancel()
	}
	res, tokens, err := svc.do(ctx, kind, body)
	if err != nil {
		e := AsError(err)
		if r.Context().Err() != nil {
			// The client went away: nobody reads the answer.
			e = errorf(StatusClientClosed, CodeCanceled, "the client went away")
		}
		status, _, code := h.fail(w, e)
		return status, tokens, code
	}
	return h.write(w, http.StatusOK, res), tokens, ""
}

// fail writes an error response; it returns the status, no prompt tokens
// and the error code, for the request log.
func (h *Handler) fail(w http.ResponseWriter, e *Error) (int, int, string) {
	if e.Status == StatusClientClosed {
		return e.Status, 0, e.Code
	}
	return h.write(w, e.Status, e), 0, e.Code
}

// write writes v as the JSON response and returns the status written.
func (h *Handler) write(w http.ResponseWriter, status int, v any) int {
	data, err := marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data, _ = marshal(errorf(status, CodeInternal, "encoding the response: "+err.Error()))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(data)+1))
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
	return status
}

// goodID reports whether a client's X-Request-ID is short printable ASCII.
func goodID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// ModelInfo describes the loaded model and the limits: the body of
// GET /v1/model.
type ModelInfo struct {
	Architecture string   `json:"architecture"`           // e.g. "Qwen2ForCausalLM"
	ModelType    string   `json:"model_type"`             // e.g. "qwen2"
	Demo         bool     `json:"demo"`                   // the built-in demo model: its answers carry no meaning
	Adapters     []string `json:"adapters"`               // merged LoRA adapter directories
	MergedDType  string   `json:"merged_dtype,omitempty"` // how adapter-changed matrices are stored: "f32" or "base"
	Device       string   `json:"device"`
	DType        string   `json:"dtype"`
	Context      int      `json:"context"` // positions per sequence
	Vocab        int      `json:"vocab"`
	Hidden       int      `json:"hidden"`
	Layers       int      `json:"layers"`
	Heads        int      `json:"heads"`
	KVHeads      int      `json:"kv_heads"`
	Parameters   int64    `json:"parameters"`
	Limits       struct {
		MaxBody         int64 `json:"max_body"`
		MaxOptions      int   `json:"max_options"`
		MaxPromptTokens int   `json:"max_prompt_tokens"`
		MaxOptionTokens int   `json:"max_option_tokens"`
	} `json:"limits"`
}

// Info describes the Service's model and limits.
func (s *Service) Info() ModelInfo {
	e := s.engine
	c := e.Config
	info := ModelInfo{Architecture: c.Architecture, ModelType: c.ModelType, Demo: e.Demo,
		Adapters: append([]string{}, e.Adapters...), MergedDType: e.MergedDType, Device: e.Device, DType: e.DType,
		Context: e.ContextLen(), Vocab: c.Vocab, Hidden: c.Hidden, Layers: c.Layers,
		Heads: c.Heads, KVHeads: c.KVHeads, Parameters: c.ParamCount()}
	info.Limits.MaxBody = s.limits.MaxBody
	info.Limits.MaxOptions = s.limits.MaxOptions
	info.Limits.MaxPromptTokens = s.limits.MaxPromptTokens
	info.Limits.MaxOptionTokens = s.limits.MaxOptionTokens
	return info
}
