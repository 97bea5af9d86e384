// Package listen is a local webhook receiver for development, the way
// `stripe listen` is: it verifies each request's signatures, prints the
// event, answers 2xx, and can forward the request to the application being
// built.
package listen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/heraldhq/herald/verify"
)

// MaxBody bounds the request body read; Herald's own are far smaller.
const MaxBody = 8 << 20

// maxSeen bounds the event ids remembered to spot redeliveries.
const maxSeen = 10000

// Config is what a Handler is built from.
type Config struct {
	// Secret is the webhook's signing secret ("whsec_...").
	Secret string
	// Forward, when set, receives every verified request, and its answer
	// becomes the answer Herald gets.
	Forward string
	// Tolerance bounds the age of a Standard Webhooks timestamp; default
	// verify.DefaultTolerance.
	Tolerance time.Duration
	// Out receives the printed events.
	Out io.Writer
	// Client forwards; default a client with a 30s timeout.
	Client *http.Client
}

// Handler receives webhook requests.
type Handler struct {
	cfg    Config
	verify verify.Verifier
	mu     sync.Mutex // serialises printing and seen
	seen   map[string]bool
}

// New returns a receiver.
func New(cfg Config) (*Handler, error) {
	if cfg.Secret == "" {
		return nil, errors.New("a secret is required: pass the webhook's secret (whsec_...) with --secret")
	}
	if _, err := verify.StandardKey(cfg.Secret); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	if cfg.Tolerance <= 0 {
		cfg.Tolerance = verify.DefaultTolerance
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{
			Timeout:       30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	return &Handler{cfg: cfg, verify: verify.Verifier{Tolerance: cfg.Tolerance}, seen: map[string]bool{}}, nil
}

// forwardHeaders are copied to the forwarded request.
var forwardHeaders = []string{
	"Content-Type", "User-Agent",
	verify.HeaderTwentyTimestamp, verify.HeaderTwentySignature, verify.HeaderTwentyNonce,
	verify.HeaderStandardID, verify.HeaderStandardTimestamp, verify.HeaderStandardSignature,
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "herald listen accepts POST requests only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		http.Error(w, "reading body: "+err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	checks, err := h.check(r.Header, body)
	if err != nil {
		h.print(r.Header, body, "✗ "+err.Error(), "")
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if h.cfg.Forward == "" {
		h.print(r.Header, body, "✓ "+checks, "")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"received":true}`)
		return
	}
	code, answer, took, err := h.forward(r.Context(), r.Header, body)
	if err != nil {
		h.print(r.Header, body, "✓ "+checks, fmt.Sprintf("→ %s: %v", h.cfg.Forward, err))
		http.Error(w, "forwarding to "+h.cfg.Forward+": "+err.Error(), http.StatusBadGateway)
		return
	}
	h.print(r.Header, body, "✓ "+checks, fmt.Sprintf("→ %s answered %d in %s", h.cfg.Forward, code, took.Round(time.Millisecond)))
	w.WriteHeader(code)
	_, _ = w.Write(answer)
}

// check verifies every signature scheme whose headers are present; at
// least one must be. It returns which schemes passed.
func (h *Handler) check(hd http.Header, body []byte) (string, error) {
	var passed []string
	if hd.Get(verify.HeaderTwentySignature) != "" {
		if err := h.verify.Twenty(h.cfg.Secret, hd, body); err != nil {
			//lint:ignore ST1005 Twenty is a name, and the message is printed as it is.
			return "", fmt.Errorf("Twenty signature (%s): %w", verify.HeaderTwentySignature, err)
		}
		passed = append(passed, "Twenty")
	}
	if hd.Get(verify.HeaderStandardSignature) != "" || hd.Get("svix-signature") != "" {
		if err := h.verify.Standard(h.cfg.Secret, hd, body); err != nil {
			//lint:ignore ST1005 Standard Webhooks is a name, and the message is printed as it is.
			return "", fmt.Errorf("Standard Webhooks signature (%s): %w", verify.HeaderStandardSignature, err)
		}
		passed = append(passed, "Standard Webhooks")
	}
	if len(passed) == 0 {
		return "", fmt.Errorf("unsigned request: neither %s nor %s is present", verify.HeaderTwentySignature, verify.HeaderStandardSignature)
	}
	return strings.Join(passed, " and ") + " signatures verified", nil
}

func (h *Handler) forward(ctx context.Context, hd http.Header, body []byte) (int, []byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.cfg.Forward, bytes.NewReader(body))
	if err != nil {
		return 0, nil, 0, err
	}
	for _, k := range forwardHeaders {
		if v := hd.Values(k); len(v) > 0 {
			req.Header[k] = v
		}
	}
	start := time.Now()
	resp, err := h.cfg.Client.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, answer, time.Since(start), nil
}

// print writes one event: a summary line, the checks, the body indented.
func (h *Handler) print(hd http.Header, body []byte, checks, forwarded string) {
	var ev struct {
		ID        string `json:"id"`
		Event     string `json:"event"`
		EventName string `json:"eventName"` // Twenty's format
	}
	_ = json.Unmarshal(body, &ev)
	name := ev.Event + ev.EventName
	if name == "" {
		name = "(not a Herald event)"
	}
	id := hd.Get(verify.HeaderStandardID)
	if id == "" {
		id = ev.ID
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	note := ""
	if id != "" {
		if h.seen[id] {
			note = "  (redelivery: seen before)"
		}
		if len(h.seen) >= maxSeen {
			clear(h.seen)
		}
		h.seen[id] = true
	}
	// One write per event, so that a reader of a pipe never sees half of one.
	var entry bytes.Buffer
	fmt.Fprintf(&entry, "%s  %s  %s%s\n  %s\n", time.Now().UTC().Format(time.RFC3339), name, id, note, checks)
	if forwarded != "" {
		fmt.Fprintf(&entry, "  %s\n", forwarded)
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, body, "  ", "  ") == nil {
		fmt.Fprintf(&entry, "  %s\n\n", pretty.Bytes())
	} else {
		fmt.Fprintf(&entry, "  %q\n\n", body)
	}
	_, _ = h.cfg.Out.Write(entry.Bytes())
}
