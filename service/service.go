// Package service holds Herald's rules: what a caller may create, change,
// send and see, for records, webhooks, deliveries, API keys, custom
// objects and custom events. Every transport calls it as plain Go: the
// REST API (httpapi) decodes a request, calls a service and renders the
// answer; the web UI (ui) does the same from its forms. So both share
// every rule and every error message, and the rules are tested without
// HTTP.
//
// Errors are *herald.Error with a code (and, for input, the field at
// fault); transports map codes to their own terms in one place each.
package service

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/heraldhq/herald"
)

// Deliverer is what the services need of the delivery engine: test sends
// are made at once, by the engine, in the caller's request.
type Deliverer interface {
	// SendNow makes one recorded attempt of a claim and returns it.
	SendNow(ctx context.Context, c *herald.Claim) (herald.Outcome, error)
	Owner() string
	LeaseUntil(now time.Time) time.Time
}

// Config is what the services are built from.
type Config struct {
	Store herald.Store
	// Deliverer sends test events; without it, a test send is
	// EUNAVAILABLE.
	Deliverer Deliverer
	// CheckTarget vets a webhook URL when it is saved (the SSRF guard),
	// and may accept it with a warning for the caller; nil accepts any
	// http or https URL.
	CheckTarget func(ctx context.Context, rawURL string) (warning string, err error)
	// SecretOverlap is how long the replaced secret still signs after a
	// rotation; default 24h.
	SecretOverlap time.Duration
	// DeliveryIDs makes the public delivery ids; serve passes the ones
	// made under the database's key, so that every process and every
	// restart agree. nil makes a random key, for these services alone.
	DeliveryIDs *herald.DeliveryIDs
}

// Services are Herald's rules, one value per concept.
type Services struct {
	Records    *Records
	Webhooks   *Webhooks
	Deliveries *Deliveries
	APIKeys    *APIKeys
	Objects    *Objects
	Events     *Events
}

// New returns the services over cfg's store.
func New(cfg Config) *Services {
	if cfg.SecretOverlap <= 0 {
		cfg.SecretOverlap = 24 * time.Hour
	}
	if cfg.DeliveryIDs == nil {
		key := make([]byte, herald.DeliveryIDKeySize)
		_, _ = rand.Read(key)
		cfg.DeliveryIDs, _ = herald.NewDeliveryIDs(key) // a key of the right size never fails
	}
	objects := newObjects(cfg.Store)
	return &Services{
		Records:    &Records{store: cfg.Store, objects: objects},
		Webhooks:   &Webhooks{cfg: cfg, objects: objects},
		Deliveries: &Deliveries{store: cfg.Store, ids: cfg.DeliveryIDs},
		APIKeys:    &APIKeys{store: cfg.Store},
		Objects:    objects,
		Events:     &Events{store: cfg.Store, objects: objects},
	}
}

// Page sizes, as Twenty's REST API.
const (
	// DefaultLimit is a page's size when the caller gives none.
	DefaultLimit = 60
	// MaxLimit is the largest page; larger asks are capped without a
	// word, as Twenty does (clients written for it ask for more).
	MaxLimit = 200
)

// pageSize applies DefaultLimit and MaxLimit to a caller's limit (0: none
// given).
func pageSize(limit int) int {
	if limit <= 0 {
		return DefaultLimit
	}
	return min(limit, MaxLimit)
}

func errorf404(format string, args ...any) error {
	return herald.Errorf(herald.ENOTFOUND, format, args...)
}
