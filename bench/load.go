package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
	"github.com/heraldhq/herald/webhook"
)

// NewClient returns an HTTP client keeping conns connections to one host.
func NewClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
}

// API drives a Herald's REST API with one key.
type API struct {
	URL, Key string
	Client   *http.Client
}

// Do makes a request and decodes a JSON answer into out (when not nil);
// any status but want is an error.
func (a *API) Do(ctx context.Context, method, path, body string, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, a.URL+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// CreateWebhook makes a webhook to url for one operation, signed with
// secret, and returns its id.
func (a *API) CreateWebhook(ctx context.Context, url, secret, operation string) (string, error) {
	var out struct {
		Data struct {
			CreateWebhook struct{ ID string } `json:"createWebhook"`
		} `json:"data"`
	}
	body := fmt.Sprintf(`{"targetUrl":%q,"secret":%q,"operations":[%q]}`, url, secret, operation)
	if err := a.Do(ctx, "POST", "/rest/webhooks", body, http.StatusCreated, &out); err != nil {
		return "", err
	}
	return out.Data.CreateWebhook.ID, nil
}

// personBody is the n-th person of a batch.
func personBody(n int) string {
	return fmt.Sprintf(`{"name":{"firstName":"Bench","lastName":"Person %d"},"emails":{"primaryEmail":"bench%d@example.com"},"city":"Paris"}`, n, n)
}

// batchBody is a batch of n people.
func batchBody(n int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(personBody(i))
	}
	b.WriteByte(']')
	return b.String()
}

// WriteEvents creates events people through the API, batch per request,
// from clients concurrent clients, as fast as Herald takes them.
func (a *API) WriteEvents(ctx context.Context, events, batch, clients int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				start := next.Add(int64(batch)) - int64(batch)
				if start >= int64(events) || ctx.Err() != nil {
					return
				}
				n := min(batch, events-int(start))
				path, body := "/rest/batch/people", batchBody(n)
				if n == 1 {
					path, body = "/rest/people", personBody(int(start))
				}
				if err := a.Do(ctx, "POST", path, body, http.StatusCreated, nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// CreatePeople creates n people, 60 a request, and returns their ids.
func (a *API) CreatePeople(ctx context.Context, n int) ([]string, error) {
	var ids []string
	for len(ids) < n {
		var out struct {
			Data struct {
				CreatePeople []struct{ ID string } `json:"createPeople"`
			} `json:"data"`
		}
		if err := a.Do(ctx, "POST", "/rest/batch/people", batchBody(min(60, n-len(ids))), http.StatusCreated, &out); err != nil {
			return nil, err
		}
		for _, p := range out.Data.CreatePeople {
			ids = append(ids, p.ID)
		}
	}
	return ids, nil
}

// UpdateEvents changes the people of ids events times in all, one update
// a request, from clients concurrent clients, each updating its own share
// of the people in turn (so each person's updates commit in order).
func (a *API) UpdateEvents(ctx context.Context, ids []string, events, clients int) error {
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := c; n < events && ctx.Err() == nil; n += clients {
				id := ids[(n/clients*clients+c)%len(ids)]
				if err := a.Do(ctx, "PATCH", "/rest/people/"+id, fmt.Sprintf(`{"jobTitle":"Version %d"}`, n), http.StatusOK, nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// WriteAtRate creates one person per request at rate requests a second
// for d, open loop: a slow answer does not delay the next request. It
// returns how many were created and the requests' latencies.
func (a *API) WriteAtRate(ctx context.Context, rate int, d time.Duration) (int, Latencies, error) {
	total := int(float64(rate) * d.Seconds())
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Int64
	var firstErr atomic.Value
	took := make([]time.Duration, total)
	for i := range total {
		if ctx.Err() != nil {
			break
		}
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			if err := a.Do(ctx, "POST", "/rest/people", personBody(i), http.StatusCreated, nil); err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
			took[i] = time.Since(t0)
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return total - int(failed.Load()), Percentiles(took), fmt.Errorf("%d of %d writes failed, first: %w", failed.Load(), total, err)
	}
	return total, Percentiles(took), nil
}

// ceilingSender signs and POSTs requests shaped like Herald's to one url,
// with no storage behind them.
type ceilingSender struct {
	client *http.Client
	// signer signs as Herald's delivery engine does.
	signer  webhook.Signer
	url     string
	secret  string
	hook    *herald.Webhook
	created *herald.Event
}

func newCeilingSender(url, secret string, conns int) (*ceilingSender, error) {
	// The body is as long as Herald's for the people WriteEvents creates:
	// the record as the API stores it, and ids of the same length.
	person := herald.StandardObjects()[0]
	in, err := record.ParseInput(person, json.RawMessage(personBody(0)), true)
	if err != nil {
		return nil, err
	}
	_, created := record.New(person, uuid.NewString(), uuid.NewString(), in, time.Now())
	return &ceilingSender{client: NewClient(conns), url: url, secret: secret,
		hook: &herald.Webhook{ID: uuid.NewString(), TargetURL: url, Secret: secret}, created: created}, nil
}

// send makes one request, its body built in buf, which it returns for
// the next.
func (s *ceilingSender) send(ctx context.Context, buf []byte) ([]byte, error) {
	now := time.Now()
	ev := *s.created
	ev.ID, ev.Timestamp = record.NewEventID(), herald.StoredTime(now)
	buf = webhook.AppendBody(buf[:0], &ev, s.hook)
	req, err := http.NewRequestWithContext(ctx, "POST", s.url, bytes.NewReader(buf))
	if err != nil {
		return buf, err
	}
	if err := s.signer.SetHeaders(req.Header, "bench", &ev, []string{s.secret}, now, buf); err != nil {
		return buf, err
	}
	// As the delivery engine sends: through the transport, without the
	// client's copy of the headers for redirects.
	resp, err := s.client.Transport.RoundTrip(req)
	if err != nil {
		return buf, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return buf, fmt.Errorf("ceiling: receiver answered %d", resp.StatusCode)
	}
	return buf, nil
}

// Ceiling sends n signed requests shaped like Herald's to url from conns
// connections, with no storage behind them: the most the machine and the
// receiver allow. It returns requests per second.
func Ceiling(ctx context.Context, url, secret string, n, conns int) (float64, error) {
	s, err := newCeilingSender(url, secret, conns)
	if err != nil {
		return 0, err
	}
	defer s.client.CloseIdleConnections()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	start := time.Now()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				var err error
				if buf, err = s.send(ctx, buf); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(n) / elapsed.Seconds(), nil
}

// CeilingAtRate sends the same requests as Ceiling at rate a second for
// d, open loop as WriteAtRate writes: what the bare exchange costs at
// that rate, where each request pays for waking what was idle. It
// returns how many it sent.
func CeilingAtRate(ctx context.Context, url, secret string, rate int, d time.Duration) (int, error) {
	s, err := newCeilingSender(url, secret, 64)
	if err != nil {
		return 0, err
	}
	defer s.client.CloseIdleConnections()
	total := int(float64(rate) * d.Seconds())
	interval := time.Second / time.Duration(rate)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	sent := 0
	for i := range total {
		if ctx.Err() != nil || firstErr.Load() != nil {
			break
		}
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
		sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.send(ctx, nil); err != nil {
				firstErr.CompareAndSwap(nil, err)
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return sent, err
	}
	return sent, ctx.Err()
}
