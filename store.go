package herald

import (
	"context"
	"time"
)

// Store is everything Herald keeps. store/sqlite and store/postgres
// implement it, and store/storetest holds the behaviour both must show.
//
// Methods that change records take the events describing the change and
// write both in one transaction, together with one delivery per matching
// webhook (the transactional outbox): a change is never committed without
// its deliveries, nor the other way round.
type Store interface {
	WorkspaceStore
	ObjectStore
	RecordStore
	WebhookStore
	DeliveryStore
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	Close() error
}

// WorkspaceStore keeps workspaces and API keys.
type WorkspaceStore interface {
	// EnsureWorkspace returns the workspace called name, creating it if it
	// does not exist; created reports which happened.
	EnsureWorkspace(ctx context.Context, name string) (ws *Workspace, created bool, err error)
	FindWorkspace(ctx context.Context, name string) (*Workspace, error)
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// FindAPIKey returns the unrevoked key with this hash, or ENOTFOUND.
	FindAPIKey(ctx context.Context, hash string) (*APIKey, error)
	ListAPIKeys(ctx context.Context, workspaceID string) ([]*APIKey, error)
	RevokeAPIKey(ctx context.Context, workspaceID, id string, at time.Time) error
	// CreateSession stores a web UI session, and deletes the sessions
	// that expired before it began.
	CreateSession(ctx context.Context, s *Session) error
	// FindSession returns the API key of the session with this hash, or
	// ENOTFOUND when there is none, it expired, or its key was revoked.
	FindSession(ctx context.Context, hash string, now time.Time) (*APIKey, error)
	// DeleteSession ends a session; ending one that does not exist is
	// not an error (signing out twice).
	DeleteSession(ctx context.Context, hash string) error
	// Secret returns the installation's secret called name: size random
	// bytes, made on first use and the same for every process after.
	Secret(ctx context.Context, name string, size int) ([]byte, error)
}

// ObjectStore keeps custom objects. Each change is written with its
// metadata event in one transaction, as record changes are.
type ObjectStore interface {
	// ListObjects returns the workspace's custom objects, oldest first.
	ListObjects(ctx context.Context, workspaceID string) ([]*Object, error)
	// FindObject returns the custom object whose id, singular or plural
	// name is name, or ENOTFOUND.
	FindObject(ctx context.Context, workspaceID, name string) (*Object, error)
	// CreateObject stores a new custom object with its event. A name
	// another object of the workspace has, as singular or plural, is
	// ECONFLICT.
	CreateObject(ctx context.Context, o *Object, ev *Event) error
	// UpdateObject loads a custom object, lets fn change it and saves it
	// with fn's event. Values of fields fn removed are deleted from the
	// object's records, so a field added later under the same name starts
	// empty.
	UpdateObject(ctx context.Context, workspaceID, name string, fn func(*Object) (*Event, error)) (*Object, error)
	// DeleteObject removes a custom object with fn's event. While records
	// of it exist it is ECONFLICT, unless withRecords, which deletes them
	// too; while another object's relation field points to it, it is
	// ECONFLICT.
	DeleteObject(ctx context.Context, workspaceID, name string, withRecords bool, fn func(*Object) (*Event, error)) (*Object, error)
	// ListEventTypes returns the custom event names the workspace has
	// published, sorted.
	ListEventTypes(ctx context.Context, workspaceID string) ([]string, error)
}

// ChangeFunc inspects and changes a record inside the store's transaction
// and returns the event describing the change, or nil if nothing changed.
// An error aborts the transaction.
type ChangeFunc func(r *Record) (*Event, error)

// RecordStore keeps records and writes their events.
type RecordStore interface {
	// CreateRecords inserts records and their events atomically. An id
	// already taken is ECONFLICT.
	CreateRecords(ctx context.Context, recs []*Record, events []*Event) error
	// UpdateRecord loads a record (soft-deleted ones too), lets fn change
	// it, and saves it with fn's event. ENOTFOUND when it does not exist.
	UpdateRecord(ctx context.Context, workspaceID, object, id string, fn ChangeFunc) (*Record, error)
	// DestroyRecord removes a record for good, with fn's event.
	DestroyRecord(ctx context.Context, workspaceID, object, id string, fn ChangeFunc) (*Record, error)
	// FindRecord returns a record, soft-deleted or not, or ENOTFOUND.
	FindRecord(ctx context.Context, workspaceID, object, id string) (*Record, error)
	ListRecords(ctx context.Context, q RecordQuery) (*RecordPage, error)
	// PublishEvents writes events that change no record (custom events)
	// and fans them out.
	PublishEvents(ctx context.Context, events []*Event) error
}

// WebhookStore keeps webhook subscriptions.
type WebhookStore interface {
	CreateWebhook(ctx context.Context, w *Webhook) error
	FindWebhook(ctx context.Context, workspaceID, id string) (*Webhook, error)
	ListWebhooks(ctx context.Context, workspaceID string) ([]*Webhook, error)
	// UpdateWebhook loads a webhook, lets fn change it and saves it.
	UpdateWebhook(ctx context.Context, workspaceID, id string, fn func(*Webhook) error) (*Webhook, error)
	// DeleteWebhook removes a webhook with its deliveries and attempts.
	DeleteWebhook(ctx context.Context, workspaceID, id string) error
	// WebhookStats returns, per webhook of the workspace, its attempts
	// since a time and its pending deliveries. Webhooks with neither are
	// missing from the map.
	WebhookStats(ctx context.Context, workspaceID string, since time.Time) (map[string]WebhookStats, error)
	// AttemptHistogram counts a webhook's attempts since a time in buckets
	// of the given width, the first starting at since. Every bucket up to
	// now is present, empty ones too.
	AttemptHistogram(ctx context.Context, workspaceID, webhookID string, since, now time.Time, width time.Duration) ([]AttemptBucket, error)
}

// DeliveryStore keeps deliveries and their attempts, and is the queue the
// delivery engine claims work from.
type DeliveryStore interface {
	ListDeliveries(ctx context.Context, q DeliveryQuery) ([]*Delivery, bool, error)
	// FindDelivery returns a delivery with its event and attempts.
	FindDelivery(ctx context.Context, workspaceID string, id int64) (*Delivery, *Event, []*Attempt, error)
	// RetryDelivery makes a delivery due now again, whatever its status.
	RetryDelivery(ctx context.Context, workspaceID string, id int64, now time.Time) (*Delivery, error)
	// ReplayDeliveries makes every event of the workspace that occurred
	// at or after since, and that the webhook's operations match, due
	// again for that webhook: finished deliveries start over with a fresh
	// retry schedule, missing ones are created, pending ones are left as
	// they are. It returns how many deliveries it made due.
	ReplayDeliveries(ctx context.Context, workspaceID, webhookID string, since, now time.Time) (int, error)
	// RetryDeliveries makes the webhook's finished deliveries that sel
	// selects due again, with a fresh retry schedule, each record's in
	// order; pending ones are left as they are. It returns how many it
	// made due. (A recovery is the failed ones since a time.)
	RetryDeliveries(ctx context.Context, sel RetrySelection, now time.Time) (int, error)
	// PruneDeliveries deletes up to limit finished deliveries completed
	// before the given time, with their attempts, and up to limit events
	// older than it that no delivery refers to any more. It returns how many
	// rows it deleted; callers repeat while it returns limit or more.
	PruneDeliveries(ctx context.Context, before time.Time, limit int) (int, error)
	// DeliverNow writes ev and one delivery of it to the given webhook,
	// already claimed by owner: the caller sends it itself (test events).
	DeliverNow(ctx context.Context, ev *Event, webhookID string, req ClaimRequest) (*Claim, error)

	// SetTaker makes t take the deliveries written from now on, as far as
	// it has room (see Taker); nil stops it.
	SetTaker(t Taker)

	// DueWebhooks returns the lanes of the active webhooks that have
	// unleased pending deliveries whose time has come (Limit unset).
	DueWebhooks(ctx context.Context, now time.Time) ([]Lane, error)
	// ClaimDeliveries leases due deliveries to req.Owner, up to each
	// lane's limit, oldest due first. A delivery is due when it is
	// pending, its next attempt time has come, it is not leased, its
	// webhook is active, and no earlier event of the same record is still
	// pending for the same webhook (per-record order). A throttled lane
	// gets the turns of the next ThrottleHorizon its webhook has left,
	// each claim's in NotBefore, the rate holding across every process
	// that claims.
	ClaimDeliveries(ctx context.Context, req ClaimRequest) ([]*Claim, error)
	// CompleteDeliveries records attempts and their deliveries' new state,
	// releasing the leases, in one transaction. An outcome is recorded only
	// under the claim it was made for: its delivery still leased to its
	// Owner, with no attempt recorded since (Attempt.Number is the claim's
	// Attempts + 1). Stale outcomes, of a lease that lapsed and was claimed
	// again, are ignored, so writing an outcome twice records it once.
	CompleteDeliveries(ctx context.Context, outcomes []Outcome) error
	// ExtendLeases pushes back the lease of each of ids that owner still
	// holds, and returns those. A lease that its holder stops extending
	// lapses, and ExpireLeases frees it: so a claim the engine lost track
	// of (its outcome could not be written, its release failed) is never
	// kept.
	ExtendLeases(ctx context.Context, owner string, ids []int64, until time.Time) ([]int64, error)
	// ReleaseClaims gives back leased deliveries without an attempt.
	ReleaseClaims(ctx context.Context, owner string, ids []int64) error
	// RecoverClaims makes deliveries whose lease holder is gone claimable,
	// when an engine starts: expired leases, or on a single-process engine
	// every lease.
	RecoverClaims(ctx context.Context, now time.Time) (int, error)
	// ExpireLeases makes deliveries whose lease lapsed before now
	// claimable: the takeover of a crashed or frozen process's work while
	// others run, and of claims a live engine no longer extends.
	ExpireLeases(ctx context.Context, now time.Time) (int, error)
	// DisableFailingWebhooks disables every active webhook whose attempts
	// have all failed since failingSince or earlier, and returns them.
	DisableFailingWebhooks(ctx context.Context, failingSince, now time.Time) ([]*Webhook, error)
	// QueueStats counts the pending deliveries and finds the oldest.
	QueueStats(ctx context.Context) (QueueStats, error)
	// NextDue returns when the earliest pending delivery becomes due.
	NextDue(ctx context.Context) (time.Time, bool, error)
}

// EngineLocker is a store that can make this process the only one
// delivering from its database, as SQLite needs: serve calls LockEngine
// before its engine starts, and fails if another process holds the lock.
type EngineLocker interface {
	LockEngine() error
}

// Vacuumer is a store that keeps its own tables vacuumed (PostgreSQL's
// deliveries table, which autovacuum falls behind on): Vacuuming says
// why it does not, when it cannot, so that serve can warn.
type Vacuumer interface {
	Vacuuming() error
}

// QueueStats describes the deliveries waiting to be sent.
type QueueStats struct {
	Pending int
	// OldestPending is when the oldest pending delivery was made; zero
	// when none is pending.
	OldestPending time.Time
}

type urgentKey struct{}

// Urgent marks store calls whose delay delays deliveries (the engine's
// claims and completions): a store with a single writer serves them ahead
// of others.
func Urgent(ctx context.Context) context.Context { return context.WithValue(ctx, urgentKey{}, true) }

// IsUrgent reports whether ctx was marked by Urgent.
func IsUrgent(ctx context.Context) bool { return ctx.Value(urgentKey{}) != nil }
