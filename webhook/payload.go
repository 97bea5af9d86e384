package webhook

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
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
// secrets (current first) at now. The Twenty signature uses the current
// secret; webhook-signature carries one signature per secret.
func SetHeaders(h http.Header, version string, ev *herald.Event, secrets []string, now time.Time, body []byte) error {
	if version == "" {
		version = defaultVersion
	}
	ms := strconv.FormatInt(now.UnixMilli(), 10)
	sec := now.Unix()
	sig := ""
	for i, s := range secrets {
		one, err := verify.SignStandard(s, ev.ID, sec, body)
		if err != nil {
			return err
		}
		if i > 0 {
			sig += " "
		}
		sig += one
	}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	// Direct map writes keep the lowercase Standard Webhooks names exactly
	// as DESIGN.md spells them (HTTP/1 header names are case-insensitive).
	h["Content-Type"] = []string{"application/json"}
	h["User-Agent"] = []string{"Herald-Webhooks/" + version}
	h[verify.HeaderTwentyTimestamp] = []string{ms}
	h[verify.HeaderTwentySignature] = []string{verify.SignTwenty(secrets[0], ms, body)}
	h[verify.HeaderTwentyNonce] = []string{hex.EncodeToString(nonce)}
	h[verify.HeaderStandardID] = []string{ev.ID}
	h[verify.HeaderStandardTimestamp] = []string{strconv.FormatInt(sec, 10)}
	h[verify.HeaderStandardSignature] = []string{sig}
	return nil
}
