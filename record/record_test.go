package record_test

import (
	"encoding/json"
	"errors"
	"fmt"
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
		obj  int    // the standard object filtered, person by default
		want string // a compact rendering of the tree
		err  string // substring of the error, if one is expected
	}{
		{in: "", want: "<nil>"},
		{in: "name.firstName[eq]:Ada", want: "name.firstName eq [Ada]"},
		{in: `name.firstName[eq]:"Ada, Countess"`, want: "name.firstName eq [Ada, Countess]"},
		{in: "name.firstName[eq]:Ada Lovelace", want: "name.firstName eq [Ada Lovelace]"},
		{in: "name.firstName[eq]:Ada,city[neq]:Paris", want: "and(name.firstName eq [Ada], city neq [Paris])"},
		{in: "or(city[eq]:A,and(city[eq]:B,jobTitle[is]:NULL))", want: "or(city eq [A], and(city eq [B], jobTitle is null))"},
		{in: "not(emails.primaryEmail[is]:NOT_NULL)", want: "not(emails.primaryEmail is notnull)"},
		{in: `city[in]:["A","B, C",D]`, want: "city in [A B, C D]"},
		{in: "createdAt[gte]:2025-01-01", want: "createdAt gte [2025-01-01T00:00:00.000Z]"},
		{in: "createdAt[lt]:2025-02-10T15:30:50+01:00", want: "createdAt lt [2025-02-10T14:30:50.000Z]"},
		{in: "companyId[eq]:0190C0DE-0000-7000-8000-000000000000", want: "companyId eq [0190c0de-0000-7000-8000-000000000000]"},
		{in: "name.firstName[ilike]:%ada%", want: "name.firstName ilike [%ada%]"},
		{in: "amount.amountMicros[gte]:1000000000", obj: 2, want: "amount.amountMicros gte [1e+09]"},
		{in: "createdBy.source[eq]:API", want: "createdBy.source eq [API]"},
		{in: "name[eq]:Ada", err: "composite field"},
		{in: "name.middleName[eq]:x", err: "unknown field"},
		{in: "city.x[eq]:x", err: "not a composite"},
		{in: "emails.additionalEmails[eq]:x", err: "is a list"},
		{in: "emails.primaryEmail[eq]:x", want: "emails.primaryEmail eq [x]"},
		{in: "shoeSize[eq]:44", err: `unknown field "shoeSize"`},
		{in: "city[near]:x", err: "unknown comparator"},
		{in: "city:x", err: "expected '['"},
		{in: "city[eq]", err: "expected ']:'"},
		{in: "city[eq]:", err: "expected a value"},
		{in: "or(city[eq]:x", err: "expected ')'"},
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
			f, err := record.ParseFilter(herald.StandardObjects()[tc.obj], tc.in)
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
		vals[i] = fmt.Sprint(v)
	}
	return f.Field + " " + f.Comparator + " [" + strings.Join(vals, " ") + "]"
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"name.firstName[eq]:Ada", `or(city[in]:["a",b],not(emails.primaryEmail[is]:NULL))`, "createdAt[gte]:2025-01-01"} {
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
		{"a full person", `{"name":{"lastName":"Lovelace","firstName":"Ada"},"emails":{"primaryEmail":"ada@example.com"},"companyId":null}`, true, "", `{"companyId":null,"emails":{"primaryEmail":"ada@example.com"},"name":{"firstName":"Ada","lastName":"Lovelace"}}`},
		{"an id on create", `{"id":"0190C0DE-0000-7000-8000-000000000000"}`, true, "", `{}`},
		{"an id on update", `{"id":"0190c0de-0000-7000-8000-000000000000"}`, false, "id", ""},
		{"unknown field", `{"shoeSize":44}`, true, "shoeSize", ""},
		{"number for text", `{"city":7}`, true, "city", ""},
		{"bad email", `{"emails":{"primaryEmail":"Ada <ada@example.com>"}}`, true, "emails.primaryEmail", ""},
		{"bad additional email", `{"emails":{"additionalEmails":["a@x.io","nope"]}}`, true, "emails.additionalEmails[1]", ""},
		{"additional emails not a list", `{"emails":{"additionalEmails":"a@x.io"}}`, true, "emails.additionalEmails", ""},
		{"unknown sub-field", `{"name":{"middleName":"X"}}`, true, "name.middleName", ""},
		{"a composite not an object", `{"name":"Ada"}`, true, "name", ""},
		{"a number for a name", `{"name":{"firstName":7}}`, true, "name.firstName", ""},
		{"a bad link", `{"linkedinLink":{"primaryLinkUrl":"not a url"}}`, true, "linkedinLink.primaryLinkUrl", ""},
		{"a bad secondary link", `{"xLink":{"secondaryLinks":[{"url":"x.com","label":"X","extra":1}]}}`, true, "xLink.secondaryLinks[0].extra", ""},
		{"phones", `{"phones":{"primaryPhoneNumber":"612345678","primaryPhoneCountryCode":"FR","primaryPhoneCallingCode":"+33","additionalPhones":[{"number":"1"}]}}`, true, "",
			`{"phones":{"primaryPhoneNumber":"612345678","primaryPhoneCountryCode":"FR","primaryPhoneCallingCode":"+33","additionalPhones":[{"number":"1","countryCode":"","callingCode":""}]}}`},
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
	in, _ := record.ParseInput(person, json.RawMessage(`{"name":{"firstName":"Ada"},"city":"London"}`), true)
	r, ev := record.New(person, "ws", "actor", in, time.Now())
	if ev.Name != "person.created" || ev.UpdatedFields != nil {
		t.Fatalf("created event %+v", ev)
	}
	upd, _ := record.ParseInput(person, json.RawMessage(`{"city":"Paris","name":{"firstName":"Ada"},"jobTitle":null}`), false)
	ev = record.Apply(person, r, upd, time.Now())
	if ev == nil || strings.Join(ev.UpdatedFields, ",") != "city" || string(ev.PreviousData) != `{"city":"London"}` {
		t.Fatalf("updated event %+v", ev)
	}
	if again := record.Apply(person, r, upd, time.Now()); again != nil {
		t.Fatalf("an update that changes nothing made an event: %+v", again)
	}
}

// A creation is Fresh (no earlier event can share its order key) only
// under an id New made; a client's id may be a destroyed record's.
func TestNewIsFreshOnlyUnderItsOwnID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body  string
		fresh bool
	}{
		{`{"city":"London"}`, true},
		{`{"id":"0d9f5e0c-7f6e-4c1a-9a53-3f1f4a0c2b11","city":"London"}`, false},
	} {
		in, err := record.ParseInput(person, json.RawMessage(tc.body), true)
		if err != nil {
			t.Fatal(err)
		}
		if _, ev := record.New(person, "ws", "actor", in, time.Now()); ev.Fresh != tc.fresh {
			t.Errorf("New(%s): Fresh %v, want %v", tc.body, ev.Fresh, tc.fresh)
		}
	}
	in, _ := record.ParseInput(person, json.RawMessage(`{}`), true)
	r, _ := record.New(person, "ws", "actor", in, time.Now())
	upd, _ := record.ParseInput(person, json.RawMessage(`{"city":"Paris"}`), false)
	if ev := record.Apply(person, r, upd, time.Now()); ev.Fresh {
		t.Error("an update is Fresh")
	}
}

// Composite fields are kept whole: a create fills the sub-fields it does
// not give with their empty value, an update changes only those it
// gives (as Twenty's), null empties them all, and events name the field.
func TestCompositeFields(t *testing.T) {
	t.Parallel()
	in, err := record.ParseInput(person, json.RawMessage(`{"name":{"lastName":"Lovelace"},"emails":{"primaryEmail":"ada@example.com"}}`), true)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := record.New(person, "ws", record.APIActor("billing sync"), in, time.Now())
	var shown struct {
		Name      map[string]any
		Emails    map[string]any
		Phones    map[string]any
		CreatedBy map[string]any
	}
	rendered := record.Render(person, r)
	if err := json.Unmarshal(rendered, &shown); err != nil {
		t.Fatal(err)
	}
	if shown.Name["firstName"] != "" || shown.Name["lastName"] != "Lovelace" || shown.Emails["additionalEmails"] != nil ||
		shown.Phones["primaryPhoneNumber"] != "" || shown.CreatedBy["source"] != "API" || shown.CreatedBy["name"] != "billing sync" {
		t.Fatalf("created: %s", rendered)
	}
	if !strings.Contains(string(rendered), `"name":{"firstName":"","lastName":"Lovelace"},"emails":{"primaryEmail":"ada@example.com","additionalEmails":null}`) {
		t.Fatalf("sub-fields not in Twenty's order: %s", rendered)
	}
	for _, tc := range []struct {
		patch, want, previous string
	}{
		{`{"name":{"firstName":"Ada"}}`, `{"firstName":"Ada","lastName":"Lovelace"}`, `{"name":{"firstName":"","lastName":"Lovelace"}}`},
		{`{"name":{"firstName":"Ada"}}`, "", ""}, // the same again: no event
		{`{"name":null}`, `{"firstName":"","lastName":""}`, `{"name":{"firstName":"Ada","lastName":"Lovelace"}}`},
	} {
		upd, err := record.ParseInput(person, json.RawMessage(tc.patch), false)
		if err != nil {
			t.Fatal(err)
		}
		ev := record.Apply(person, r, upd, time.Now())
		if tc.want == "" {
			if ev != nil {
				t.Fatalf("%s changed nothing, and made an event: %+v", tc.patch, ev)
			}
			continue
		}
		if ev == nil || strings.Join(ev.UpdatedFields, ",") != "name" || string(ev.PreviousData) != tc.previous || string(r.Values["name"]) != tc.want {
			t.Fatalf("%s: name %s, event %+v", tc.patch, r.Values["name"], ev)
		}
	}
	// A value kept in another shape (PostgreSQL's key order and spaces, or
	// a flat string from before the field was composite) shows as Twenty's.
	for stored, want := range map[string]string{
		`{"lastName": "L", "firstName": "A"}`: `{"firstName":"A","lastName":"L"}`,
		`"ada@example.com"`:                   `{"primaryEmail":"ada@example.com","additionalEmails":null}`,
		// Escapes and numbers JSON.stringify writes another way.
		`{"firstName": "A\u0026B \/ \u00e9", "lastName": "\"Q\""}`:                  `{"firstName":"A&B / é","lastName":"\"Q\""}`,
		`{"amountMicros": 1.50E9, "currencyCode": "EUR"}`:                           `{"amountMicros":1500000000,"currencyCode":"EUR"}`,
		`{"amountMicros": -0, "currencyCode": "EUR"}`:                               `{"amountMicros":0,"currencyCode":"EUR"}`,
		`{"amountMicros": 1000000000000000000000, "currencyCode": ""}`:              `{"amountMicros":1e+21,"currencyCode":""}`,
		`{"primaryEmail": "a@b.co", "additionalEmails": ["c\u0040d.co", "e@f.co"]}`: `{"primaryEmail":"a@b.co","additionalEmails":["c@d.co","e@f.co"]}`,
	} {
		typ := herald.FieldFullName
		switch {
		case stored[0] == '"' || strings.Contains(stored, "primaryEmail"):
			typ = herald.FieldEmails
		case strings.Contains(stored, "amountMicros"):
			typ = herald.FieldCurrency
		}
		if got := string(record.ShowComposite(typ, json.RawMessage(stored))); got != want {
			t.Fatalf("%s shows as %s, want %s", stored, got, want)
		}
	}
	// Sub-fields order records, and their cursors hold them.
	order, err := record.ParseOrder(person, "name.lastName[DescNullsLast],emails.primaryEmail")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := record.DecodeCursor(record.EncodeCursor(r, order), "starting_after", order); err != nil {
		t.Fatal(err)
	}
	if _, err := record.ParseOrder(person, "name"); err == nil {
		t.Fatal("an order on a composite field as a whole was accepted")
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
	for _, s := range []string{`{"name":{"firstName":"Ada"},"city":"Lyon"}`, `{"emails":{"primaryEmail":"ada@example.com"},"companyId":null}`,
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
