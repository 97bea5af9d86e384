// Package httpapi serves Herald's REST API (DESIGN.md §2, §4): records in
// Twenty's shapes, webhooks, deliveries, and the health endpoints.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
	"github.com/heraldhq/herald/service"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 1 << 20

// Config is what a Server is built from.
type Config struct {
	// Services are the rules every route calls; nil makes them from
	// Store with their defaults.
	Services *service.Services
	// Store is asked whether the database answers, for /readyz.
	Store  herald.Store
	Logger *slog.Logger
	// Metrics, when set, is served at GET /metrics without authentication,
	// as Prometheus scrapers expect.
	Metrics http.Handler
	// Ready, when set, says whether the process does its work beyond the
	// API (the delivery engine runs): /readyz is 503 with its error.
	Ready   func() error
	Version string
}

// Server is the REST API.
type Server struct {
	Config
	mux *http.ServeMux
	// patterns are the routes' ServeMux patterns, in registration order.
	patterns []string
}

// New returns the API handler.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Services == nil {
		cfg.Services = service.New(service.Config{Store: cfg.Store})
	}
	s := &Server{Config: cfg, mux: http.NewServeMux()}
	s.routes()
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

type ctxKey int

const keyCtxKey ctxKey = 0

// apiKey returns the key that authenticated the request.
func apiKey(r *http.Request) *herald.APIKey {
	return r.Context().Value(keyCtxKey).(*herald.APIKey)
}

// handlerFunc is a route's handler: it writes the answer, or returns the
// error to answer with (Server.error writes it, in one place).
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// authed wraps h with Bearer API key authentication, and answers its
// error.
func (s *Server) authed(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		k, err := s.authenticate(r)
		if err == nil && k == nil {
			err = herald.Errorf(herald.EUNAUTHENTICATED, "missing API key: send Authorization: Bearer <key>")
		}
		if err == nil {
			r = r.WithContext(context.WithValue(r.Context(), keyCtxKey, k))
			err = h(w, r)
		}
		if err != nil {
			s.error(w, r, err)
		}
	}
}

// authenticate returns the API key a request carries: nil when it carries
// none, an error when it is wrong.
func (s *Server) authenticate(r *http.Request) (*herald.APIKey, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, nil
	}
	token, ok := strings.CutPrefix(h, "Bearer ")
	token = strings.TrimSpace(token)
	if !ok || token == "" {
		return nil, herald.Errorf(herald.EUNAUTHENTICATED, "malformed Authorization header: send Authorization: Bearer <key>")
	}
	return s.Services.APIKeys.Authenticate(r.Context(), token)
}

var statusOf = map[string]int{
	herald.EINVALID:             http.StatusBadRequest,
	herald.EUNAUTHENTICATED:     http.StatusUnauthorized,
	herald.EFORBIDDEN:           http.StatusForbidden,
	herald.ENOTFOUND:            http.StatusNotFound,
	herald.ECONFLICT:            http.StatusConflict,
	herald.ETOOLARGE:            http.StatusRequestEntityTooLarge,
	herald.EUNPROCESSABLE:       http.StatusUnprocessableEntity,
	herald.ERATELIMITED:         http.StatusTooManyRequests,
	herald.EUNAVAILABLE:         http.StatusServiceUnavailable,
	herald.EINSUFFICIENTSTORAGE: http.StatusInsufficientStorage,
}

// StatusCode is the HTTP status that answers err: by its herald code, and
// 500 for any other error. The web UI answers with the same.
func StatusCode(err error) int {
	if status, ok := statusOf[herald.ErrorCode(err)]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// error writes err as DESIGN.md §2's JSON error:
// {"statusCode","error","messages","code","field"}. Errors that are not
// *herald.Error are logged and shown as "internal error".
func (s *Server) error(w http.ResponseWriter, r *http.Request, err error) {
	code := herald.ErrorCode(err)
	status := StatusCode(err)
	if status == http.StatusInternalServerError {
		if errors.Is(r.Context().Err(), context.Canceled) {
			return // the client left; nobody reads the answer
		}
		s.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == http.StatusServiceUnavailable || status == http.StatusInsufficientStorage {
		// Passing conditions: say when to come back.
		w.Header().Set("Retry-After", "30")
	}
	body := ErrorJSON{StatusCode: status, Error: exceptionNames[status], Messages: []string{herald.ErrorMessage(err)}, Code: code}
	if body.Error == "" {
		body.Error = "HttpException"
	}
	var e *herald.Error
	if errors.As(err, &e) {
		body.Field = e.Field
	}
	writeJSON(w, status, body)
}

// ErrorJSON is an error answer in Twenty's shape, which clients read as
// messages[0], with Herald's code and the field at fault kept beside it.
type ErrorJSON struct {
	StatusCode int      `json:"statusCode"`
	Error      string   `json:"error"`
	Messages   []string `json:"messages"`
	Code       string   `json:"code"`
	Field      string   `json:"field,omitempty"`
}

// exceptionNames are the names Twenty's server (NestJS) gives its errors,
// by status.
var exceptionNames = map[int]string{
	http.StatusBadRequest:            "BadRequestException",
	http.StatusUnauthorized:          "UnauthorizedException",
	http.StatusForbidden:             "ForbiddenException",
	http.StatusNotFound:              "NotFoundException",
	http.StatusConflict:              "ConflictException",
	http.StatusRequestEntityTooLarge: "PayloadTooLargeException",
	http.StatusUnprocessableEntity:   "UnprocessableEntityException",
	http.StatusTooManyRequests:       "ThrottlerException",
	http.StatusInternalServerError:   "InternalServerErrorException",
	http.StatusServiceUnavailable:    "ServiceUnavailableException",
	http.StatusInsufficientStorage:   "InsufficientStorageException",
}

// envelope is the wrapping of every answer but errors: {"data": {name: v}}.
func envelope(name string, v any) map[string]any {
	return map[string]any{"data": map[string]any{name: v}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeData writes {"data":{name:value}} with value already JSON, such as
// rendered records: passing it through encoding/json would validate and
// compact every byte again (5 µs a record in a batch create).
func writeData(w http.ResponseWriter, status int, name string, value []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b := make([]byte, 0, len(value)+len(name)+16)
	b = append(b, `{"data":{`...)
	b = strconv.AppendQuote(b, name)
	b = append(b, ':')
	b = append(b, value...)
	b = append(b, "}}\n"...)
	_, _ = w.Write(b)
}

// readBody reads a request body of at most MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := readOptionalBody(w, r)
	if err == nil && len(b) == 0 {
		return nil, herald.Errorf(herald.EINVALID, "request body is empty: send a JSON object")
	}
	return b, err
}

// readOptionalBody reads a body of at most MaxBodyBytes; a blank one is nil.
func readOptionalBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, herald.Errorf(herald.ETOOLARGE, "request body is larger than %d bytes (1 MiB)", MaxBodyBytes)
	}
	if err != nil {
		return nil, herald.Errorf(herald.EINVALID, "reading request body: %v", err)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil, nil
	}
	if err := record.CheckJSON(b); err != nil {
		return nil, err
	}
	return b, nil
}

// decodeStrict decodes a JSON object into v, refusing unknown fields and
// values of the wrong type with an error naming the field.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case err == nil:
		if dec.More() {
			return herald.Errorf(herald.EINVALID, "body must hold a single JSON object")
		}
		return nil
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return herald.Errorf(herald.EINVALID, "body must be a JSON object")
		}
		return herald.FieldErrorf(typeErr.Field, "%s must be %s, not %s", typeErr.Field, jsonTypeName(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return herald.Errorf(herald.EINVALID, "body is not valid JSON: %v (at byte %d)", err, syntaxErr.Offset)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return herald.FieldErrorf(field, "unknown field %q", field)
	}
	return herald.Errorf(herald.EINVALID, "body is not valid JSON: %v", err)
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "bool":
		return "true or false"
	case "map", "struct", "ptr":
		return "an object"
	}
	return "a number"
}

// decodeOptional decodes a body that may be empty (then v is left as is).
// decodeBody reads a required JSON body strictly into v.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	return decodeStrict(body, v)
}

func decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	b, err := readOptionalBody(w, r)
	if err != nil || b == nil {
		return err
	}
	return decodeStrict(b, v)
}
