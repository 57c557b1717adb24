package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Defaults of ServeConfig.
const (
	// DefaultReadTimeout bounds reading one request, headers and body.
	DefaultReadTimeout = 30 * time.Second
	// DefaultShutdownTimeout bounds the graceful shutdown.
	DefaultShutdownTimeout = 3 * time.Minute
)

// ErrShutdownTimeout is returned by Serve when requests were still running
// when ServeConfig.ShutdownTimeout passed: their contexts were canceled and
// their connections closed.
var ErrShutdownTimeout = errors.New(
	"server: requests still running when the shutdown timeout passed: closed their connections")

// ServeConfig sets how Serve reads requests and shuts down.
type ServeConfig struct {
	// ReadTimeout bounds reading one request, headers and body, from the
	// moment the server starts reading it; a body still arriving after it
	// fails (the request gets 408 read_timeout). 0 means
	// DefaultReadTimeout.
	ReadTimeout time.Duration
	// ShutdownTimeout bounds the graceful shutdown: requests still running
	// after it are canceled and their connections closed. Set it above the
	// read timeout plus the request timeout (Config.Timeout) so that a
	// request admitted before the shutdown can finish. 0 means
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Logger gets the http.Server's own errors at level Warn and the
	// shutdown's progress; nil means slog.Default().
	Logger *slog.Logger
}

// Serve serves h on ln until ctx is done, then shuts down gracefully: it
// stops accepting connections, waits for the requests in flight to finish
// and returns nil. When they have not finished within cfg.ShutdownTimeout,
// it cancels their contexts, closes their connections and returns
// ErrShutdownTimeout. It returns another error only when serving fails.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, cfg ServeConfig) error {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	// Every request's context descends from base, so that a shutdown that
	// runs out of time can stop the work of the requests still running.
	base, cancelAll := context.WithCancel(context.Background())
	defer cancelAll()
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(10*time.Second, cfg.ReadTimeout),
		ReadTimeout:       cfg.ReadTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing the requests in flight", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		logger.Warn("shutdown timeout passed: canceling the requests still running", "timeout", cfg.ShutdownTimeout)
		cancelAll()
		srv.Close()
		<-done
		return ErrShutdownTimeout
	}
	if err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
