// Package bench measures Herald end to end: a loopback receiver that
// verifies every signature and times each delivery from commit to receipt,
// API load generators, and the ceiling a bare signing HTTP client reaches
// against the same receiver.
package bench

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/verify"
)

// Receiver is a webhook endpoint on loopback. Each webhook of a run gets
// its own path (/w/<n>); /slow/... answers after SlowDelay.
type Receiver struct {
	URL       string
	Secret    string
	SlowDelay time.Duration

	srv  *http.Server
	bufs sync.Pool

	mu        sync.Mutex
	seen      map[string]struct{} // path + event id
	latencies []time.Duration     // commit → receipt, first receipt of each
	bad       int                 // requests whose signatures failed
	dups      int
	bodyBytes int64 // of the first receipts
	unique    atomic.Int64
}

// NewReceiver starts a receiver on 127.0.0.1.
func NewReceiver(secret string) (*Receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Receiver{URL: "http://" + ln.Addr().String(), Secret: secret, seen: map[string]struct{}{}}
	r.bufs.New = func() any { return new(bytes.Buffer) }
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// Close stops the receiver.
func (r *Receiver) Close() error { return r.srv.Close() }

var (
	idKey   = []byte(`"id":"`)
	timeKey = []byte(`"timestamp":"`)
)

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	buf := r.bufs.Get().(*bytes.Buffer)
	defer r.bufs.Put(buf)
	buf.Reset()
	if _, err := io.Copy(buf, req.Body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	body := buf.Bytes()
	if verify.Twenty(r.Secret, req.Header, body) != nil || verify.Standard(r.Secret, req.Header, body, 0) != nil {
		r.mu.Lock()
		r.bad++
		r.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	slow := strings.HasPrefix(req.URL.Path, "/slow")
	if slow && r.SlowDelay > 0 {
		time.Sleep(r.SlowDelay)
	}
	id := field(body, idKey)
	var latency time.Duration
	if ts, err := time.Parse(herald.TimeLayout, string(field(body, timeKey))); err == nil {
		latency = now.Sub(ts)
	}
	key := req.URL.Path + " " + string(id)
	r.mu.Lock()
	if _, ok := r.seen[key]; ok {
		r.dups++
	} else {
		r.seen[key] = struct{}{}
		r.bodyBytes += int64(len(body))
		if !slow { // latencies are the healthy endpoints'
			r.latencies = append(r.latencies, latency)
		}
		r.unique.Add(1)
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// field returns the string value after key in a Herald body; the keys
// Herald writes first are found without decoding the JSON.
func field(body, key []byte) []byte {
	i := bytes.Index(body, key)
	if i < 0 {
		return nil
	}
	rest := body[i+len(key):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return nil
	}
	return rest[:end]
}

// Unique is how many distinct (webhook, event) deliveries arrived.
func (r *Receiver) Unique() int64 { return r.unique.Load() }

// Stats is what a receiver saw.
type Stats struct {
	Unique     int64     `json:"unique"`
	Duplicates int       `json:"duplicates"`
	BadSigs    int       `json:"badSignatures"`
	Latency    Latencies `json:"latencyMs"`
	// BodyBytes is the mean size of a delivery's body.
	BodyBytes float64 `json:"bodyBytes"`
}

// Latencies are commit → receipt percentiles in milliseconds. The commit
// time is the event's timestamp, which has millisecond precision.
type Latencies struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Stats returns what arrived since the last Reset.
func (r *Receiver) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := Stats{Unique: r.unique.Load(), Duplicates: r.dups, BadSigs: r.bad, Latency: Percentiles(r.latencies)}
	if st.Unique > 0 {
		st.BodyBytes = float64(r.bodyBytes) / float64(st.Unique)
	}
	return st
}

// Reset forgets everything received.
func (r *Receiver) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = map[string]struct{}{}
	r.latencies, r.bad, r.dups, r.bodyBytes = nil, 0, 0, 0
	r.unique.Store(0)
}

// Percentiles summarises durations.
func Percentiles(ds []time.Duration) Latencies {
	if len(ds) == 0 {
		return Latencies{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) float64 {
		i := int(p * float64(len(s)-1))
		return ms(s[i])
	}
	return Latencies{P50: at(0.50), P95: at(0.95), P99: at(0.99), Max: ms(s[len(s)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
