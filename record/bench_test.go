package record_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/heraldhq/herald/record"
)

// benchBody is the person herald bench writes.
var benchBody = json.RawMessage(`{"name":{"firstName":"Bench","lastName":"Person 7"},"emails":{"primaryEmail":"bench7@example.com"},"city":"Paris"}`)

// BenchmarkParseInput: validating one create body, as each record of a
// batch create is.
func BenchmarkParseInput(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := record.ParseInput(person, benchBody, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewRender: building a record and its event from a parsed body,
// and rendering the record for the API's answer.
func BenchmarkNewRender(b *testing.B) {
	in, err := record.ParseInput(person, benchBody, true)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		r, _ := record.New(person, "ws", "actor", in, now)
		_ = record.Render(person, r)
	}
}

// BenchmarkRenderStored: rendering a person as read back from a store,
// whose composite values are shown again in Twenty's form (an update's
// event, every read of the API).
func BenchmarkRenderStored(b *testing.B) {
	in, err := record.ParseInput(person, benchBody, true)
	if err != nil {
		b.Fatal(err)
	}
	r, _ := record.New(person, "ws", "actor", in, time.Now())
	b.ReportAllocs()
	for b.Loop() {
		_ = record.Render(person, r)
	}
}
