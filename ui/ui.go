// Package ui serves Herald's web UI, Settings → API & Webhooks: webhooks,
// their delivery logs and the workspace's API keys, as server-rendered
// pages embedded in the binary.
//
// Pages call the same services as the REST API (package service), as the
// signed-in session's key, so the UI and the API share every rule and
// every error message. A session is opened by
// pasting an API key; the browser keeps only a random token in an
// HttpOnly, SameSite cookie, and the store keeps its hash. Forms are
// protected against cross-site requests by http.CrossOriginProtection.
// htmx, vendored under static/, only refreshes the delivery log in place:
// every page works without JavaScript.
package ui

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/httpapi"
	"github.com/heraldhq/herald/service"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Prefix is the path the UI is served under.
const Prefix = "/ui"

// Sessions is what the UI needs of the store: API keys to sign in with
// and the sessions they open.
type Sessions interface {
	FindAPIKey(ctx context.Context, hash string) (*herald.APIKey, error)
	CreateSession(ctx context.Context, s *herald.Session) error
	FindSession(ctx context.Context, hash string, now time.Time) (*herald.APIKey, error)
	DeleteSession(ctx context.Context, hash string) error
}

// Config is what a UI is built from.
type Config struct {
	// Services are the rules pages call, the REST API's own.
	Services *service.Services
	Sessions Sessions
	Logger   *slog.Logger
	// SessionTTL is how long a sign-in lasts; default 12h.
	SessionTTL time.Duration
	// Version is Herald's, shown in the footer and used for the
	// User-Agent the delivery page shows.
	Version string
	// PublicURL, when set, is the address users reach Herald at, such as
	// https://crm.example.com behind a proxy that ends TLS: an https one
	// makes the session cookie Secure, and its origin is trusted by the
	// cross-origin check.
	PublicURL *url.URL
}

// UI is the web UI's handler, to be mounted at Prefix.
type UI struct {
	Config
	handler http.Handler
	pages   map[string]*template.Template
}

const cookieName = "herald_session"

// New returns the UI handler.
func New(cfg Config) (*UI, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	u := &UI{Config: cfg}
	if err := u.parseTemplates(); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET "+Prefix+"/static/", cacheFor(24*time.Hour, http.StripPrefix(Prefix+"/static/", http.FileServerFS(static))))
	mux.HandleFunc("GET "+Prefix+"/sign-in", u.signInPage)
	mux.HandleFunc("POST "+Prefix+"/sign-in", u.signIn)
	mux.HandleFunc("POST "+Prefix+"/sign-out", u.signOut)
	mux.HandleFunc("GET "+Prefix+"/{$}", u.authed(func(w http.ResponseWriter, r *http.Request) error {
		http.Redirect(w, r, Prefix+"/webhooks", http.StatusSeeOther)
		return nil
	}))
	u.webhookRoutes(mux)
	u.keyRoutes(mux)
	mux.HandleFunc(Prefix+"/", u.authed(func(w http.ResponseWriter, r *http.Request) error {
		return herald.Errorf(herald.ENOTFOUND, "There is no page at %s.", r.URL.Path)
	}))

	csrf := http.NewCrossOriginProtection()
	if cfg.PublicURL != nil {
		// A proxy may rewrite Host; the origin browsers send is the public one.
		if err := csrf.AddTrustedOrigin(cfg.PublicURL.Scheme + "://" + cfg.PublicURL.Host); err != nil {
			return nil, fmt.Errorf("public URL %s: %w", cfg.PublicURL, err)
		}
	}
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.render(w, r, http.StatusForbidden, "error", page{Title: "Request refused", Data: &pageError{Status: http.StatusForbidden,
			Message: "This form was sent from another site, so Herald refused it (cross-site request forgery protection). Open the page in Herald and send it again."}})
	}))
	u.handler = securityHeaders(u.limitForms(csrf.Handler(mux)))
	return u, nil
}

// Form limits: the sign-in form holds an API key, the others a webhook's
// fields at most. They are far above what the forms send, and far below
// what would cost memory.
const (
	maxSignInForm = 4 << 10
	maxForm       = 64 << 10
)

// limitForms reads the body of every form sent to the UI, before any
// handler or sign-in check: URL-encoded only (a multipart form is how a
// large upload reaches Go's temporary files), and refused with 413 past
// its limit before more of it is read.
func (u *UI) limitForms(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			h.ServeHTTP(w, r)
			return
		}
		limit := int64(maxForm)
		if r.URL.Path == Prefix+"/sign-in" {
			limit = maxSignInForm
		}
		refuse := func(status int, msg string) {
			// The rest of the body is not read: close the connection.
			w.Header().Set("Connection", "close")
			u.render(w, r, status, "error", page{Title: "Request refused", Data: &pageError{Status: status, Message: msg}})
		}
		if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/x-www-form-urlencoded") {
			refuse(http.StatusUnsupportedMediaType, "Herald's forms are sent URL-encoded (application/x-www-form-urlencoded); this one was "+ct+".")
			return
		}
		tooLarge := fmt.Sprintf("This form is larger than Herald accepts (%d KiB).", limit>>10)
		if r.ContentLength > limit {
			refuse(http.StatusRequestEntityTooLarge, tooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if err := r.ParseForm(); err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				refuse(http.StatusRequestEntityTooLarge, tooLarge)
				return
			}
			refuse(http.StatusBadRequest, "This form could not be read: "+err.Error())
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) { u.handler.ServeHTTP(w, r) }

// securityHeaders keeps pages from being framed, sniffed or running
// scripts other than the embedded ones.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

func cacheFor(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(d.Seconds())))
		h.ServeHTTP(w, r)
	})
}

type ctxKey int

const sessionKey ctxKey = 0

// session is the signed-in state of a request.
type session struct {
	Key  *herald.APIKey
	Hash string
}

func sessionOf(r *http.Request) *session {
	s, _ := r.Context().Value(sessionKey).(*session)
	return s
}

// handlerFunc is a page's handler: it writes the page, or returns the
// error to show (UI.fail shows it, in one place).
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// authed lets only signed-in requests through, and shows their handler's
// error; the others go to the sign-in page, which brings them back.
func (u *UI) authed(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(cookieName)
		if err == nil {
			hash := herald.HashAPIKey(c.Value)
			key, err := u.Sessions.FindSession(r.Context(), hash, time.Now())
			if err == nil {
				r = r.WithContext(context.WithValue(r.Context(), sessionKey, &session{Key: key, Hash: hash}))
				if err := h(w, r); err != nil {
					u.fail(w, r, err)
				}
				return
			}
			if herald.ErrorCode(err) != herald.ENOTFOUND {
				u.fail(w, r, err)
				return
			}
		}
		next := r.URL.RequestURI()
		if r.Method != http.MethodGet {
			next = Prefix + "/"
		}
		if r.Header.Get("HX-Request") == "true" {
			// htmx follows redirects itself and would put the sign-in
			// page inside the log: make it load the whole page instead.
			w.Header().Set("HX-Redirect", Prefix+"/sign-in")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, Prefix+"/sign-in?next="+url.QueryEscape(next), http.StatusSeeOther)
	}
}

func (u *UI) signInPage(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, http.StatusOK, "sign-in", page{Title: "Sign in", Data: signInData{Next: safeNext(r.URL.Query().Get("next"))}})
}

type signInData struct {
	Next, Error string
}

func (u *UI) signIn(w http.ResponseWriter, r *http.Request) {
	d := signInData{Next: safeNext(r.PostFormValue("next"))}
	token := strings.TrimSpace(r.PostFormValue("apiKey"))
	var key *herald.APIKey
	var err error
	switch {
	case token == "":
		d.Error = "Paste an API key to sign in."
	case !strings.HasPrefix(token, herald.APIKeyPrefix):
		d.Error = "That is not an API key: Herald's keys start with " + herald.APIKeyPrefix + "."
	default:
		key, err = u.Sessions.FindAPIKey(r.Context(), herald.HashAPIKey(token))
		if herald.ErrorCode(err) == herald.ENOTFOUND {
			d.Error, err = "That API key is not valid, or it was revoked.", nil
		}
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	if d.Error != "" {
		u.render(w, r, http.StatusUnauthorized, "sign-in", page{Title: "Sign in", Data: d})
		return
	}
	cookie, s := herald.NewSession(key, time.Now(), u.SessionTTL)
	if err := u.Sessions.CreateSession(r.Context(), s); err != nil {
		u.fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: cookie, Path: Prefix, Expires: s.ExpiresAt,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: u.secure(r),
	})
	next := d.Next
	if next == "" {
		next = Prefix + "/webhooks"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// safeNext keeps a post-sign-in redirect inside the UI.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix+"/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return ""
	}
	return next
}

func (u *UI) signOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil {
		if err := u.Sessions.DeleteSession(r.Context(), herald.HashAPIKey(c.Value)); err != nil {
			u.fail(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Path: Prefix, MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: u.secure(r)})
	http.Redirect(w, r, Prefix+"/sign-in", http.StatusSeeOther)
}

// secure reports whether the session cookie must only travel over TLS:
// the request came over TLS, or users reach Herald over https through a
// proxy that ends it (PublicURL).
func (u *UI) secure(r *http.Request) bool {
	return r.TLS != nil || u.PublicURL != nil && u.PublicURL.Scheme == "https"
}

// pageError is what the error page shows.
type pageError struct {
	Status  int
	Message string
}

// fail shows err as an error page: a service's own message and status
// for its errors (as the REST API answers them), a generic one (and a log
// line) for the rest.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := &pageError{Status: httpapi.StatusCode(err), Message: herald.ErrorMessage(err)}
	if e.Status == http.StatusInternalServerError {
		if errors.Is(r.Context().Err(), context.Canceled) {
			return
		}
		u.Logger.Error("ui request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e.Message = "Something went wrong on Herald's side; the details are in its log. Try again in a moment."
	}
	u.render(w, r, e.Status, "error", page{Title: http.StatusText(e.Status), Data: e})
}

// refusal is err's message when it is the caller's to mend (a form to
// correct), and "" when it is not: then the caller fails with err.
func refusal(err error) (message, field string) {
	var e *herald.Error
	if status := httpapi.StatusCode(err); status >= 500 || status == http.StatusNotFound || !errors.As(err, &e) {
		return "", ""
	}
	return e.Message, e.Field
}
