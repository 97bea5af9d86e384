package service

import (
	"sync"
	"time"

	"github.com/heraldhq/herald"
)

// keyCache keeps the API keys that authenticated recent requests, so that
// a request does not pay a database read to authenticate: on SQLite, with
// the writer committing all the time, that read cost as much as the write
// it authenticated. A key revoked through this server is forgotten at
// once; one revoked elsewhere (`herald apikey revoke`, another process)
// stops working within keyCacheTTL.
type keyCache struct {
	mu   sync.Mutex
	keys map[string]cachedKey // by hash
}

type cachedKey struct {
	key   *herald.APIKey
	until time.Time
}

const (
	keyCacheTTL = 5 * time.Second
	// keyCacheMax bounds the cache; past it, it starts over.
	keyCacheMax = 1024
)

func (c *keyCache) get(hash string, now time.Time) *herald.APIKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.keys[hash]; ok && now.Before(k.until) {
		return k.key
	}
	return nil
}

func (c *keyCache) put(hash string, k *herald.APIKey, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil || len(c.keys) >= keyCacheMax {
		c.keys = map[string]cachedKey{}
	}
	c.keys[hash] = cachedKey{key: k, until: now.Add(keyCacheTTL)}
}

// clear forgets every key: one was revoked.
func (c *keyCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = nil
}
