package sqlstore_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
	"github.com/heraldhq/herald/store/postgres"
	"github.com/heraldhq/herald/store/postgres/pgtest"
	"github.com/heraldhq/herald/store/sqlite"
)

// Records written in the flat shapes Herald had before Twenty's composite
// fields keep every value, in the new place, once the store migrates.
func TestFlatRecordsMigrate(t *testing.T) {
	t.Parallel()
	for _, engine := range []struct {
		name, driver, dir string
		dsn               func(t *testing.T) string
		open              func(ctx context.Context, dsn string) (herald.Store, error)
	}{
		{"SQLite", "sqlite", "sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "herald.db") },
			func(ctx context.Context, dsn string) (herald.Store, error) { return sqlite.Open(ctx, dsn) }},
		{"PostgreSQL", "pgx", "postgres", func(t *testing.T) string { return pgtest.NewDatabase(t) },
			func(ctx context.Context, dsn string) (herald.Store, error) { return postgres.Open(ctx, dsn) }},
	} {
		t.Run(engine.name, func(t *testing.T) {
			t.Parallel()
			ctx, dsn := context.Background(), engine.dsn(t)
			s, err := engine.open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			ws, _, err := s.EnsureWorkspace(ctx, "old")
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			// The records as the previous version wrote them.
			raw := rawDB(t, engine.driver, dsn)
			for _, row := range [][2]string{
				{"person", `{"firstName":"Ada","lastName":null,"email":"ada@example.com","phone":"+44 20","city":"London"}`},
				{"company", `{"name":"Acme","domainName":"acme.com","address":"1 Main St","employees":12}`},
				{"opportunity", `{"name":"Deal","amount":1.5,"currencyCode":"EUR","stage":"NEW"}`},
				{"note", `{"title":"T","body":"Some *text*"}`},
			} {
				q := `INSERT INTO records (workspace_id, object, id, data, created_at, updated_at, created_by) VALUES ($1, $2, $3, $4, $5, $5, $6)`
				if engine.driver == "sqlite" {
					q = `INSERT INTO records (workspace_id, object, id, data, created_at, updated_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)`
				}
				if _, err := raw.ExecContext(ctx, q, ws.ID, row[0], row[0]+"-1", row[1], "2025-01-01T00:00:00.000Z", "0190c0de-0000-7000-8000-000000000000"); err != nil {
					t.Fatal(err)
				}
			}
			// The migration's Up part, as goose runs it, on those rows.
			up, err := os.ReadFile(filepath.Join("..", engine.dir, "migrations", "00009_twenty_shapes.sql"))
			if err != nil {
				t.Fatal(err)
			}
			sqlText, _, _ := strings.Cut(string(up), "-- +goose Down")
			if _, err := raw.ExecContext(ctx, sqlText); err != nil {
				t.Fatal(err)
			}
			s, err = engine.open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			want := map[string]string{
				"person": `"name":{"firstName":"Ada","lastName":""},"emails":{"primaryEmail":"ada@example.com","additionalEmails":null},` +
					`"linkedinLink":{"primaryLinkLabel":"","primaryLinkUrl":"","secondaryLinks":null},"xLink":{"primaryLinkLabel":"","primaryLinkUrl":"","secondaryLinks":null},` +
					`"jobTitle":null,"phones":{"primaryPhoneNumber":"+44 20","primaryPhoneCountryCode":"","primaryPhoneCallingCode":"","additionalPhones":null},"city":"London"`,
				"company": `"name":"Acme","domainName":{"primaryLinkLabel":"","primaryLinkUrl":"acme.com","secondaryLinks":null},"employees":12,` +
					`"linkedinLink":{"primaryLinkLabel":"","primaryLinkUrl":"","secondaryLinks":null},"xLink":{"primaryLinkLabel":"","primaryLinkUrl":"","secondaryLinks":null},` +
					`"annualRecurringRevenue":{"amountMicros":null,"currencyCode":""},"address":{"addressStreet1":"1 Main St","addressStreet2":"","addressCity":"",` +
					`"addressPostcode":"","addressState":"","addressCountry":"","addressLat":null,"addressLng":null}`,
				"opportunity": `"name":"Deal","amount":{"amountMicros":1500000,"currencyCode":"EUR"},"closeDate":null,"stage":"NEW"`,
				"note":        `"title":"T","bodyV2":{"blocknote":null,"markdown":"Some *text*"}`,
			}
			for _, o := range herald.StandardObjects()[:4] {
				r, err := s.FindRecord(ctx, ws.ID, o.NameSingular, o.NameSingular+"-1")
				if err != nil {
					t.Fatal(err)
				}
				shown := string(record.Render(o, r))
				if !json.Valid([]byte(shown)) || !strings.Contains(shown, want[o.NameSingular]) {
					t.Errorf("%s after the migration:\n%s\nwant it to hold\n%s", o.NameSingular, shown, want[o.NameSingular])
				}
				for _, gone := range []string{`"firstName":"Ada","lastName":null`, `"email":`, `"phone":`, `"currencyCode":"EUR","stage"`, `"body":`} {
					if strings.Contains(shown, gone) {
						t.Errorf("%s keeps its flat field %s: %s", o.NameSingular, gone, shown)
					}
				}
			}
		})
	}
}
