package ui

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald"
)

// page is what every template gets; Data is the page's own.
type page struct {
	Title string
	// Nav names the menu entry to highlight.
	Nav     string
	Flash   *flash
	Session *session
	Version string
	Data    any
}

// flash is the one-line outcome of the previous action, shown on the
// page it led to.
type flash struct {
	Error bool
	Text  string
	// Link, when set, is where the message points (a delivery).
	Link, LinkText string
}

// parseTemplates builds each page from layout.html and its own file.
func (u *UI) parseTemplates() error {
	funcs := template.FuncMap{
		"when":      when,
		"ago":       ago,
		"percent":   func(f float64) string { return strconv.FormatFloat(math.Round(f*1000)/10, 'f', -1, 64) + "%" },
		"join":      strings.Join,
		"ms":        func(d time.Duration) string { return strconv.FormatFloat(ms(d), 'f', -1, 64) + " ms" },
		"truncate":  truncate,
		"operation": describeOperation,
		"deref":     func(f *float64) float64 { return *f },
		"hasPrefix": strings.HasPrefix,
	}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return fmt.Errorf("parse layout: %w", err)
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	u.pages = map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return fmt.Errorf("parse %s: %w", f, err)
		}
		u.pages[name] = t
	}
	return nil
}

// render writes a whole page.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.Session, p.Version = sessionOf(r), u.Version
	if p.Flash == nil {
		p.Flash = flashFrom(r.URL.Query())
	}
	u.execute(w, status, name, "layout.html", p)
}

// renderBlock writes one named block of a page: the part htmx refreshes.
func (u *UI) renderBlock(w http.ResponseWriter, r *http.Request, name, block string, data any) {
	u.execute(w, http.StatusOK, name, block, data)
}

func (u *UI) execute(w http.ResponseWriter, status int, name, tmpl string, data any) {
	t, ok := u.pages[name]
	if !ok {
		u.Logger.Error("ui: no such template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	// Into a buffer first: a template error must not leave half a page.
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, tmpl, data); err != nil {
		u.Logger.Error("ui: render", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// flashes are the outcomes a redirect can name with ?done=.
var flashes = map[string]string{
	"created": "Webhook created. It is active: matching events are delivered from now on.",
	"updated": "Webhook saved.",
	// A target saved with a warning (a name that does not resolve yet).
	"created-warning": "Webhook created, but note: %s.",
	"updated-warning": "Webhook saved, but note: %s.",
	"enabled":         "Webhook enabled: waiting deliveries are sent now.",
	"disabled":        "Webhook disabled: new events are logged as skipped until it is enabled.",
	"deleted":         "Webhook deleted, with its delivery log.",
	"rotated":         "Secret rotated. The previous secret keeps signing alongside the new one until %s, so receivers can switch without dropping a request.",
	"retried":         "Delivery queued: it is sent again now.",
	"replayed":        "%s deliveries queued to be sent again.",
	"retried-all":     "%s deliveries queued to be sent again, each record's in order.",
	"recovered":       "Failed deliveries queued to be sent again: %s; none that succeeded goes again.",
	"tested":          "Test event sent: %s.",
	"revoked":         "API key revoked: requests made with it now get 401.",
}

// flashFrom reads the outcome a redirect named.
func flashFrom(q url.Values) *flash {
	text, ok := flashes[q.Get("done")]
	if !ok {
		return nil
	}
	if strings.Contains(text, "%s") {
		text = fmt.Sprintf(text, q.Get("detail"))
	}
	f := &flash{Text: text, Error: q.Get("failed") == "true"}
	if id := q.Get("delivery"); id != "" {
		f.Link, f.LinkText = Prefix+"/deliveries/"+url.PathEscape(id), "Open delivery "+id
	}
	return f
}

// done returns the URL of to with an outcome to show there.
func done(to, what string, extra ...string) string {
	q := url.Values{"done": {what}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return to + "?" + q.Encode()
}

// when shows a time (a time.Time, or a *time.Time that may be nil) as a
// UTC wall-clock time.
func when(v any) string {
	t, ok := timeOf(v)
	if !ok {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// ago shows a time relative to now.
func ago(v any) string {
	t, ok := timeOf(v)
	if !ok {
		return ""
	}
	d := time.Since(t)
	switch {
	case d < 0:
		return "in " + roundDuration(-d)
	case d < 5*time.Second:
		return "just now"
	}
	return roundDuration(d) + " ago"
}

func roundDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h"
	}
	return strconv.Itoa(int(d.Hours()/24)) + "d"
}

// timeOf accepts a time.Time or a *time.Time (the nullable ones).
func timeOf(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, !t.IsZero()
	case *time.Time:
		if t != nil {
			return *t, true
		}
	}
	return time.Time{}, false
}

// ms is a duration in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func truncate(n int, s string) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// describeOperation says an operation filter in words: "*.created" is
// "created, any object".
func describeOperation(op string) string {
	obj, action, _ := herald.CutEventName(op)
	switch {
	case obj == "*" && action == "*":
		return "every event"
	case obj == "*":
		return action + " (any object)"
	case action == "*":
		return obj + " (any action)"
	}
	return op
}
