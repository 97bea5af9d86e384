package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"
	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
	"github.com/heraldhq/herald/verify"
)

// AppendBody appends the request body of ev for w to dst: DESIGN.md §5's
// shape with keys in order, or Twenty's own when w asks for it.
func AppendBody(dst []byte, ev *herald.Event, w *herald.Webhook) []byte {
	if w.PayloadFormat == herald.PayloadTwenty {
		return appendTwentyBody(dst, ev, w)
	}
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, ev.ID)
	dst = append(dst, `,"event":`...)
	dst = appendString(dst, ev.Name)
	dst = append(dst, `,"timestamp":"`...)
	dst = ev.Timestamp.UTC().AppendFormat(dst, herald.TimeLayout)
	dst = append(dst, `","data":`...)
	dst = appendRaw(dst, ev.Data)
	if ev.UpdatedFields != nil {
		dst = append(dst, `,"updatedFields":`...)
		dst = appendStrings(dst, ev.UpdatedFields)
		dst = append(dst, `,"previousData":`...)
		dst = appendRaw(dst, ev.PreviousData)
	}
	dst = append(dst, `,"objectMetadata":{"nameSingular":`...)
	dst = appendString(dst, ev.Object)
	dst = append(dst, `,"namePlural":`...)
	dst = appendString(dst, ev.ObjectPlural)
	dst = append(dst, `},"workspaceId":`...)
	dst = appendString(dst, ev.WorkspaceID)
	dst = append(dst, `,"webhookId":`...)
	dst = appendString(dst, w.ID)
	return append(dst, '}')
}

// appendTwentyBody writes the body Twenty's server sends, so receivers
// written for Twenty work unchanged.
func appendTwentyBody(dst []byte, ev *herald.Event, w *herald.Webhook) []byte {
	dst = append(dst, `{"targetUrl":`...)
	dst = appendString(dst, w.TargetURL)
	dst = append(dst, `,"eventName":`...)
	dst = appendString(dst, ev.Name)
	dst = append(dst, `,"objectMetadata":{"id":`...)
	dst = appendString(dst, ObjectMetadataID(ev.WorkspaceID, ev.Object))
	dst = append(dst, `,"nameSingular":`...)
	dst = appendString(dst, ev.Object)
	dst = append(dst, `},"workspaceId":`...)
	dst = appendString(dst, ev.WorkspaceID)
	dst = append(dst, `,"webhookId":`...)
	dst = appendString(dst, w.ID)
	dst = append(dst, `,"eventDate":"`...)
	dst = ev.Timestamp.UTC().AppendFormat(dst, herald.TimeLayout)
	dst = append(dst, `","record":`...)
	dst = appendRaw(dst, ev.Data)
	if ev.UpdatedFields != nil {
		dst = append(dst, `,"updatedFields":`...)
		dst = appendStrings(dst, ev.UpdatedFields)
	}
	return append(dst, '}')
}

// ObjectMetadataID is the stable id of an object within a workspace, as
// Twenty's payload carries it.
func ObjectMetadataID(workspaceID, object string) string {
	ns, err := uuid.Parse(workspaceID)
	if err != nil {
		ns = uuid.NameSpaceOID
	}
	return uuid.NewSHA1(ns, []byte(object)).String()
}

func appendRaw(dst []byte, raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return append(dst, "null"...)
	}
	if bytes.Contains(raw, []byte(`\u`)) {
		// Stored before values were kept as JavaScript writes them (with
		// & as \u0026, say): write it so now. What is kept since has no
		// \u but for control characters, so this costs a scan.
		if js, err := record.JSText(raw); err == nil {
			return append(dst, js...)
		}
	}
	return append(dst, raw...)
}

func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			// Escaped as JSON.stringify escapes (not <, > and &, nor U+2028
			// and U+2029); invalid UTF-8 becomes U+FFFD.
			dst, _ = jsontext.AppendQuote(dst, s)
			return dst
		}
	}
	// Ids, names and timestamps need no escaping: skip the encoder.
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

func appendStrings(dst []byte, ss []string) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s)
	}
	return append(dst, ']')
}

// defaultVersion is the User-Agent version when the build sets none.
const defaultVersion = "dev"

// SetHeaders sets the headers of DESIGN.md §5 on h for body, signed with
// secrets (current first) at now, with fresh HMACs (Signer.SetHeaders).
func SetHeaders(h http.Header, version string, ev *herald.Event, secrets []string, now time.Time, body []byte) error {
	return (*Signer)(nil).SetHeaders(h, version, ev, secrets, now, body)
}

// Signer signs webhook requests. It keeps the keyed HMAC-SHA256 of each
// secret it signed with, to reuse: a signature then hashes its message
// alone, not the key's pads too in two new SHA-256 states (hmac.New was
// 2% of a fan-out's CPU). A Signer is safe for concurrent use; the zero
// value is ready, and a nil *Signer signs with fresh HMACs.
type Signer struct {
	mu   sync.Mutex
	macs map[macKey]*sync.Pool
}

// macKey names a keyed HMAC: a secret, and which scheme's key it makes.
type macKey struct {
	secret   string
	standard bool
}

// signerKeys bounds the secrets a Signer keeps HMACs for; past it, it
// starts over.
const signerKeys = 4096

// mac returns an HMAC keyed for k, new or reset, and the func that gives
// it back (resetting it: the first Reset of an HMAC keeps its keyed
// state, so later ones are a copy).
func (s *Signer) mac(k macKey) (hash.Hash, func(), error) {
	var pool *sync.Pool
	if s != nil {
		s.mu.Lock()
		pool = s.macs[k]
		if pool == nil {
			if s.macs == nil || len(s.macs) >= signerKeys {
				s.macs = make(map[macKey]*sync.Pool)
			}
			pool = &sync.Pool{}
			s.macs[k] = pool
		}
		s.mu.Unlock()
		if m, ok := pool.Get().(hash.Hash); ok {
			return m, func() { m.Reset(); pool.Put(m) }, nil
		}
	}
	key := []byte(k.secret)
	if k.standard {
		var err error
		if key, err = verify.StandardKey(k.secret); err != nil {
			return nil, nil, err
		}
	}
	m := hmac.New(sha256.New, key)
	if pool == nil {
		return m, func() {}, nil
	}
	return m, func() { m.Reset(); pool.Put(m) }, nil
}

// headerNames are the headers SetHeaders sets, in the order of its values.
var headerNames = [...]string{"Content-Type", "User-Agent", verify.HeaderTwentyTimestamp, verify.HeaderTwentySignature,
	verify.HeaderTwentyNonce, verify.HeaderStandardID, verify.HeaderStandardTimestamp, verify.HeaderStandardSignature}

// SetHeaders sets the headers of DESIGN.md §5 on h for body, signed with
// secrets (current first) at now. The Twenty signature uses the current
// secret; webhook-signature carries one signature per secret.
func (s *Signer) SetHeaders(h http.Header, version string, ev *herald.Event, secrets []string, now time.Time, body []byte) error {
	if version == "" {
		version = defaultVersion
	}
	ms := strconv.FormatInt(now.UnixMilli(), 10)
	sec := now.Unix()
	sig := ""
	for i, secret := range secrets {
		mac, done, err := s.mac(macKey{secret, true})
		if err != nil {
			return err
		}
		one := verify.SignStandardMAC(mac, ev.ID, sec, body)
		done()
		if i > 0 {
			sig += " "
		}
		sig += one
	}
	mac, done, err := s.mac(macKey{secrets[0], false})
	if err != nil {
		return err
	}
	twenty := verify.SignTwentyMAC(mac, ms, body)
	done()
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	// One slice holds every value; each header gets its own element.
	// Direct map writes keep the lowercase Standard Webhooks names exactly
	// as DESIGN.md spells them (HTTP/1 header names are case-insensitive).
	values := []string{"application/json", "Herald-Webhooks/" + version, ms, twenty,
		hex.EncodeToString(nonce[:]), ev.ID, strconv.FormatInt(sec, 10), sig}
	for i, name := range headerNames {
		h[name] = values[i : i+1 : i+1]
	}
	return nil
}
