// Package faultstore wraps a real herald.Store so that tests can make its
// delivery writes fail on demand: the queue's claims, completions,
// releases and leases, as a full disk or a database that stops answering
// would. Everything else, and every call that is not failed, goes to the
// real store, so a test sees what the real store did.
package faultstore

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/heraldhq/herald"
)

// The methods that can be made to fail.
const (
	Claim    = "ClaimDeliveries"
	Complete = "CompleteDeliveries"
	Release  = "ReleaseClaims"
	Extend   = "ExtendLeases"
	Expire   = "ExpireLeases"
	Recover  = "RecoverClaims"
)

// Store is a herald.Store whose delivery writes fail when told to.
type Store struct {
	herald.Store

	mu sync.Mutex
	// failing counts the calls left to fail per method; negative fails
	// until Heal.
	failing map[string]int
	// refused are deliveries whose outcome CompleteDeliveries refuses,
	// failing any batch that holds one, as many more times as counted.
	refused map[int64]int
	// failed counts the calls that were failed, per method.
	failed map[string]int
}

// New wraps s.
func New(s herald.Store) *Store {
	return &Store{Store: s, failing: map[string]int{}, refused: map[int64]int{}, failed: map[string]int{}}
}

// Fail makes the next n calls of method fail; n < 0 fails them until Heal.
func (s *Store) Fail(method string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing[method] = n
}

// Heal ends every fault.
func (s *Store) Heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.failing)
	clear(s.refused)
}

// Refuse makes the next n CompleteDeliveries calls whose batch holds the
// delivery fail, as a row the database refuses would; n < 0 until Heal.
func (s *Store) Refuse(deliveryID int64, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refused[deliveryID] = n
}

// Failed returns how many calls of method were failed.
func (s *Store) Failed(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed[method]
}

// fault returns the error a call of method fails with, or nil.
func (s *Store) fault(method string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.failing[method]
	if !ok || n == 0 {
		return nil
	}
	if n > 0 {
		s.failing[method] = n - 1
	}
	s.failed[method]++
	return fmt.Errorf("%s: injected fault (as a full disk or a database that does not answer)", method)
}

func (s *Store) ClaimDeliveries(ctx context.Context, req herald.ClaimRequest) ([]*herald.Claim, error) {
	if err := s.fault(Claim); err != nil {
		return nil, err
	}
	return s.Store.ClaimDeliveries(ctx, req)
}

func (s *Store) CompleteDeliveries(ctx context.Context, outcomes []herald.Outcome) error {
	if err := s.fault(Complete); err != nil {
		return err
	}
	if err := s.refuse(outcomes); err != nil {
		return err
	}
	return s.Store.CompleteDeliveries(ctx, outcomes)
}

func (s *Store) refuse(outcomes []herald.Outcome) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, n := range s.refused {
		if n != 0 && slices.ContainsFunc(outcomes, func(o herald.Outcome) bool { return o.DeliveryID == id }) {
			if n > 0 {
				s.refused[id] = n - 1
			}
			s.failed[Complete]++
			return fmt.Errorf("%s: injected refusal of delivery %d's outcome (as a row the database refuses)", Complete, id)
		}
	}
	return nil
}

func (s *Store) ReleaseClaims(ctx context.Context, owner string, ids []int64) error {
	if err := s.fault(Release); err != nil {
		return err
	}
	return s.Store.ReleaseClaims(ctx, owner, ids)
}

func (s *Store) ExtendLeases(ctx context.Context, owner string, ids []int64, until time.Time) ([]int64, error) {
	if err := s.fault(Extend); err != nil {
		return nil, err
	}
	return s.Store.ExtendLeases(ctx, owner, ids, until)
}

func (s *Store) ExpireLeases(ctx context.Context, now time.Time) (int, error) {
	if err := s.fault(Expire); err != nil {
		return 0, err
	}
	return s.Store.ExpireLeases(ctx, now)
}

func (s *Store) RecoverClaims(ctx context.Context, now time.Time) (int, error) {
	if err := s.fault(Recover); err != nil {
		return 0, err
	}
	return s.Store.RecoverClaims(ctx, now)
}
