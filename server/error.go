package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/taskmatch/taskmatch/engine"
)

// Error codes, the "code" of an error response.
const (
	CodeBadJSON          = "bad_json"               // 400: not one well-formed JSON object of the right shape
	CodeBadRequest       = "bad_request"            // 400: a field is missing or wrong
	CodeTooManyOptions   = "too_many_options"       // 400: more options (or tasks) than Limits.MaxOptions
	CodeTooManyTokens    = "too_many_option_tokens" // 400: more option tokens than Limits.MaxOptionTokens
	CodePromptTooLong    = "prompt_too_long"        // 400: more prompt tokens than the limit
	CodeNotFound         = "not_found"              // 404
	CodeMethodNotAllowed = "method_not_allowed"     // 405
	CodeReadTimeout      = "read_timeout"           // 408: the body did not arrive within the read timeout
	CodeBodyTooLarge     = "body_too_large"         // 413: more bytes than Limits.MaxBody
	CodeQueueFull        = "queue_full"             // 429: Config.Queue requests are already admitted
	CodeCanceled         = "canceled"               // 499 (logged only): the client went away
	CodeInternal         = "internal"               // 500
	CodeNonFinite        = "non_finite"             // 500: the model produced NaN or infinite log-probabilities
	CodeNotReady         = "not_ready"              // 503: the model is still loading
	CodeTimeout          = "timeout"                // 503: the request's deadline passed
)

// StatusClientClosed is the status logged for a request whose client went
// away before the answer (nginx's 499); no client ever sees it.
const StatusClientClosed = 499

// Error is a request's failure as the API reports it: an HTTP status and
// the body {"error": {"code": Code, "message": Message}}.
type Error struct {
	Status  int
	Code    string
	Message string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// MarshalJSON writes the error response body.
func (e *Error) MarshalJSON() ([]byte, error) {
	type body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	return marshal(struct {
		Error body `json:"error"`
	}{body{e.Code, e.Message}})
}

func errorf(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

func badRequest(msg string) *Error { return errorf(http.StatusBadRequest, CodeBadRequest, msg) }

// AsError turns any error from a Service into an *Error: request errors
// (engine.ErrBadRequest) give 400, non-finite model output
// (engine.ErrNonFinite) 500 with CodeNonFinite, a passed deadline 503, a
// canceled context 499 and anything else 500. AsError(nil) is nil.
func AsError(err error) *Error {
	var e *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return e
	case errors.Is(err, engine.ErrBadRequest):
		msg := strings.TrimPrefix(err.Error(), engine.ErrBadRequest.Error()+": ")
		return badRequest(msg)
	case errors.Is(err, engine.ErrNonFinite):
		return errorf(http.StatusInternalServerError, CodeNonFinite,
			"the model produced non-finite log-probabilities (broken weights?)")
	case errors.Is(err, context.DeadlineExceeded):
		return errorf(http.StatusServiceUnavailable, CodeTimeout, "the request's deadline passed")
	case errors.Is(err, context.Canceled):
		return errorf(StatusClientClosed, CodeCanceled, "the request was canceled")
	}
	return errorf(http.StatusInternalServerError, CodeInternal, err.Error())
}
