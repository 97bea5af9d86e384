package record_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
)

var person = herald.StandardObjects()[0]

func TestParseFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string // a compact rendering of the tree
		err  string // substring of the error, if one is expected
	}{
		{in: "", want: "<nil>"},
		{in: "firstName[eq]:Ada", want: "firstName eq [Ada]"},
		{in: `firstName[eq]:"Ada, Countess"`, want: "firstName eq [Ada, Countess]"},
		{in: "firstName[eq]:Ada Lovelace", want: "firstName eq [Ada Lovelace]"},
		{in: "firstName[eq]:Ada,city[neq]:Paris", want: "and(firstName eq [Ada], city neq [Paris])"},
		{in: "or(city[eq]:A,and(city[eq]:B,jobTitle[is]:NULL))", want: "or(city eq [A], and(city eq [B], jobTitle is null))"},
		{in: "not(email[is]:NOT_NULL)", want: "not(email is notnull)"},
		{in: `city[in]:["A","B, C",D]`, want: "city in [A B, C D]"},
		{in: "createdAt[gte]:2025-01-01", want: "createdAt gte [2025-01-01T00:00:00.000Z]"},
		{in: "createdAt[lt]:2025-02-10T15:30:50+01:00", want: "createdAt lt [2025-02-10T14:30:50.000Z]"},
		{in: "companyId[eq]:0190C0DE-0000-7000-8000-000000000000", want: "companyId eq [0190c0de-0000-7000-8000-000000000000]"},
		{in: "firstName[ilike]:%ada%", want: "firstName ilike [%ada%]"},
		{in: "shoeSize[eq]:44", err: `unknown field "shoeSize"`},
		{in: "firstName[near]:x", err: "unknown comparator"},
		{in: "firstName:x", err: "expected '['"},
		{in: "firstName[eq]", err: "expected ']:'"},
		{in: "firstName[eq]:", err: "expected a value"},
		{in: "or(firstName[eq]:x", err: "expected ')'"},
		{in: "not(city[eq]:a,city[eq]:b)", err: "exactly one"},
		{in: "city[is]:maybe", err: "NULL or NOT_NULL"},
		{in: "createdAt[gt]:yesterday", err: "ISO 8601"},
		{in: "companyId[eq]:42", err: "UUID"},
		{in: `city[eq]:"open`, err: "unterminated"},
		{in: "city[in]:[a,b", err: "unterminated list"},
		{in: strings.Repeat("not(", 10) + "city[eq]:a" + strings.Repeat(")", 10), err: "nested deeper"},
		{in: strings.TrimSuffix(strings.Repeat("city[eq]:a,", 65), ","), err: "more than 64"},
		{in: "city[in]:[" + strings.TrimSuffix(strings.Repeat("a,", 32000), ",") + "]", err: "more than 1000 values"},
		{in: "city[in]:[" + strings.TrimSuffix(strings.Repeat("a,", 600), ",") + "],jobTitle[in]:[" + strings.TrimSuffix(strings.Repeat("b,", 401), ",") + "]", err: "more than 1000 values"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			f, err := record.ParseFilter(person, tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				if e, ok := err.(*herald.Error); !ok || e.Code != herald.EINVALID || e.Field != "filter" {
					t.Fatalf("error %#v is not an EINVALID on field filter", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := render(f); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func render(f *herald.Filter) string {
	if f == nil {
		return "<nil>"
	}
	if f.Op != "cmp" {
		parts := make([]string, len(f.Children))
		for i, c := range f.Children {
			parts[i] = render(c)
		}
		return f.Op + "(" + strings.Join(parts, ", ") + ")"
	}
	if f.Comparator == "is" {
		if f.IsNull {
			return f.Field + " is null"
		}
		return f.Field + " is notnull"
	}
	vals := make([]string, len(f.Values))
	for i, v := range f.Values {
		vals[i] = v.(string)
	}
	return f.Field + " " + f.Comparator + " [" + strings.Join(vals, " ") + "]"
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"firstName[eq]:Ada", `or(city[in]:["a",b],not(email[is]:NULL))`, "createdAt[gte]:2025-01-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		filter, err := record.ParseFilter(person, s)
		if err != nil {
			if herald.ErrorCode(err) != herald.EINVALID {
				t.Fatalf("non-EINVALID error %v", err)
			}
			return
		}
		_ = render(filter) // a tree that parses is well formed
	})
}

func TestParseInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		creating   bool
		field      string // the field named by the error; "" for success
		want       string // the canonical values on success
	}{
		{"a full person", `{"firstName":"Ada","email":"ada@example.com","companyId":null}`, true, "", `{"companyId":null,"email":"ada@example.com","firstName":"Ada"}`},
		{"an id on create", `{"id":"0190C0DE-0000-7000-8000-000000000000"}`, true, "", `{}`},
		{"an id on update", `{"id":"0190c0de-0000-7000-8000-000000000000"}`, false, "id", ""},
		{"unknown field", `{"shoeSize":44}`, true, "shoeSize", ""},
		{"number for text", `{"city":7}`, true, "city", ""},
		{"bad email", `{"email":"Ada <ada@example.com>"}`, true, "email", ""},
		{"bad relation", `{"companyId":"acme"}`, true, "companyId", ""},
		{"duplicate key", `{"city":"a","city":"b"}`, true, "city", ""},
		{"read-only", `{"updatedAt":"2025-01-01T00:00:00Z"}`, false, "updatedAt", ""},
		{"not an object", `["x"]`, true, "", "error"},
		{"two objects", `{} {}`, true, "", "error"},
		{"a value missing", `{"city":}`, true, "city", ""},
		{"unterminated", `{"city":"a"`, true, "", "error"},
		{"trailing text", `{"city":"a"} x`, true, "", "error"},
		{"not JSON", `city=a`, true, "", "error"},
		{"spaces around", " {\n \"city\" : \"Lyon\" } \n", true, "", `{"city":"Lyon"}`},
		// Refused, not silently turned into U+FFFD as encoding/json does.
		{"invalid UTF-8", "{\"city\":\"Ly\xffon\"}", true, "city", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := record.ParseInput(person, json.RawMessage(tc.body), tc.creating)
			switch {
			case tc.field != "":
				if e, ok := err.(*herald.Error); !ok || e.Field != tc.field {
					t.Fatalf("error %v, want one naming %s", err, tc.field)
				}
			case tc.want == "error":
				if herald.ErrorCode(err) != herald.EINVALID {
					t.Fatalf("error %v, want EINVALID", err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				got, _ := json.Marshal(in.Values)
				if string(got) != tc.want {
					t.Fatalf("values %s, want %s", got, tc.want)
				}
			}
		})
	}
	// Select fields take their default on create.
	task := herald.StandardObjects()[4]
	in, err := record.ParseInput(task, json.RawMessage(`{"title":"t"}`), true)
	if err != nil || string(in.Values["status"]) != `"TODO"` {
		t.Fatalf("task default status: %s, %v", in.Values["status"], err)
	}
	if _, err := record.ParseInput(task, json.RawMessage(`{"status":"LATER"}`), true); err == nil {
		t.Fatal("a select value outside its options was accepted")
	}
}

func TestApplyReportsOnlyChangedFields(t *testing.T) {
	t.Parallel()
	in, _ := record.ParseInput(person, json.RawMessage(`{"firstName":"Ada","city":"London"}`), true)
	r, ev := record.New(person, "ws", "actor", in, time.Now())
	if ev.Name != "person.created" || ev.UpdatedFields != nil {
		t.Fatalf("created event %+v", ev)
	}
	upd, _ := record.ParseInput(person, json.RawMessage(`{"city":"Paris","firstName":"Ada","jobTitle":null}`), false)
	ev = record.Apply(person, r, upd, time.Now())
	if ev == nil || strings.Join(ev.UpdatedFields, ",") != "city" || string(ev.PreviousData) != `{"city":"London"}` {
		t.Fatalf("updated event %+v", ev)
	}
	if again := record.Apply(person, r, upd, time.Now()); again != nil {
		t.Fatalf("an update that changes nothing made an event: %+v", again)
	}
}

func TestCheckJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, field, msg string
	}{
		{"a plain object", `{"a":1,"b":{"c":[1,2]}}`, "", ""},
		{"a duplicate at the top", `{"name":"a","name":"b"}`, "name", "given twice"},
		{"a duplicate inside", `{"emails":{"primaryEmail":"a@x.io","primaryEmail":"b@x.io"}}`, "emails.primaryEmail", "given twice"},
		{"a duplicate in an array's object", `{"items":[{"k":1,"k":2}]}`, "items.0.k", "given twice"},
		{"invalid UTF-8 in a value", "{\"city\":\"Ly\xffon\"}", "city", "not valid UTF-8"},
		{"invalid UTF-8 in a name", "{\"ci\xfft\":1}", "", "not valid UTF-8"},
		{"two values", `{} {}`, "", "single JSON value"},
		{"not JSON", `{"a":}`, "", "not valid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := record.CheckJSON([]byte(tc.body))
			if tc.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e, ok := err.(*herald.Error)
			if !ok || e.Code != herald.EINVALID || e.Field != tc.field || !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("error %#v, want EINVALID on %q saying %q", err, tc.field, tc.msg)
			}
		})
	}
}

func FuzzParseInput(f *testing.F) {
	for _, s := range []string{`{"firstName":"Ada","city":"Lyon"}`, `{"email":"ada@example.com","companyId":null}`,
		"{\"city\":\"Ly\xffon\"}", `{"city":"a","city":"b"}`, `{"id":"0190c0de-0000-7000-8000-000000000000"}`, `[1]`, `{"jobTitle":"\u2028"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		in, err := record.ParseInput(person, json.RawMessage(body), true)
		if err != nil {
			if herald.ErrorCode(err) != herald.EINVALID {
				t.Fatalf("non-EINVALID error %v", err)
			}
			return
		}
		// What was accepted is canonical: valid JSON that parses to itself.
		again, err := json.Marshal(in.Values)
		if err != nil {
			t.Fatal(err)
		}
		if record.CheckJSON(again) != nil {
			t.Fatalf("accepted values are not clean JSON: %s", again)
		}
		in2, err := record.ParseInput(person, again, true)
		if err != nil {
			t.Fatalf("accepted %q, refused its canonical form %s: %v", body, again, err)
		}
		if b, _ := json.Marshal(in2.Values); string(b) != string(again) {
			t.Fatalf("canonical form changed: %s → %s", again, b)
		}
	})
}

func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":{"b":1,"b":2}}`, "\"\xff\"", `[1,2,{"x":null}]`, `{} {}`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		err := record.CheckJSON([]byte(body))
		if err != nil {
			if herald.ErrorCode(err) != herald.EINVALID {
				t.Fatalf("non-EINVALID error %v", err)
			}
			return
		}
		// Accepted: encoding/json reads it (a number past float64's range,
		// such as 1E700, is JSON all the same, and refused where a number
		// is read), and the text is valid UTF-8.
		var v any
		err = json.Unmarshal([]byte(body), &v)
		if _, outOfRange := errors.AsType[*json.UnmarshalTypeError](err); err != nil && !outOfRange || !utf8.ValidString(body) {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", body, err)
		}
	})
}

func FuzzDecodeCursor(f *testing.F) {
	order, err := record.ParseOrder(person, "city[DescNullsLast]")
	if err != nil {
		f.Fatal(err)
	}
	in, _ := record.ParseInput(person, json.RawMessage(`{"city":"Lyon"}`), true)
	r, _ := record.New(person, "ws", "actor", in, time.Now())
	f.Add(record.EncodeCursor(r, order))
	f.Add("")
	f.Add("W251bGxd")
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, s string) {
		vals, err := record.DecodeCursor(s, "starting_after", order)
		if err != nil {
			if e, ok := err.(*herald.Error); !ok || e.Code != herald.EINVALID || e.Field != "starting_after" {
				t.Fatalf("error %v, want EINVALID on starting_after", err)
			}
			return
		}
		if len(vals) != len(order) || vals[len(vals)-1] == nil {
			t.Fatalf("accepted a cursor of %d values for %d terms: %v", len(vals), len(order), vals)
		}
	})
}
