package postgres_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	neturl "net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
	"github.com/heraldhq/herald/store/postgres"
	"github.com/heraldhq/herald/store/postgres/pgtest"
)

// TestFullDiskIsInsufficientStorage puts a database's tables on a small
// filesystem the test mounts (a tablespace on a tmpfs), fills it, and
// checks that a write refused for lack of space is INSUFFICIENT_STORAGE
// (507), not an internal error, and that writes go through again once
// the filesystem grows. It needs the throwaway local server and root;
// without them it skips loudly.
func TestFullDiskIsInsufficientStorage(t *testing.T) {
	t.Parallel()
	if os.Getenv(pgtest.EnvURL) != "" {
		t.Skip("\n\n*** SKIPPING: the full-disk test mounts a filesystem for a local test server, not " + pgtest.EnvURL + "\n\n")
	}
	dbURL := pgtest.NewDatabase(t)
	pg, err := user.Lookup("postgres")
	if err != nil {
		t.Skipf("\n\n*** SKIPPING: no postgres user to own the test's tablespace: %v\n\n", err)
	}
	// Not under t.TempDir(), which the server's user may not enter.
	parent, err := os.MkdirTemp("", "herald-small-disk-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(parent, "small")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("\n\n*** SKIPPING: cannot mount a small filesystem for the full-disk test (needs root): %v %s\n\n", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	uid, _ := strconv.Atoi(pg.Uid)
	gid, _ := strconv.Atoi(pg.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}

	u, err := neturl.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	admin, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	space := "small_" + name
	if _, err := admin.Exec(fmt.Sprintf(`CREATE TABLESPACE %s LOCATION '%s'`, space, dir)); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(fmt.Sprintf(`ALTER DATABASE %s SET TABLESPACE %s`, name, space)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Back to the default, so that the database and the tablespace can go.
		_, _ = admin.Exec(fmt.Sprintf(`ALTER DATABASE %s SET TABLESPACE pg_default`, name))
		_, _ = admin.Exec(`DROP TABLESPACE ` + space)
	})

	ctx := context.Background()
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ws, _, err := db.EnsureWorkspace(ctx, "full")
	if err != nil {
		t.Fatal(err)
	}
	person := herald.StandardObjects()[0]
	write := func() error {
		in, err := record.ParseInput(person, json.RawMessage(`{"name":{"firstName":"F"},"jobTitle":"`+strings.Repeat("x", 60<<10)+`"}`), true)
		if err != nil {
			t.Fatal(err)
		}
		recs, evs := make([]*herald.Record, 10), make([]*herald.Event, 10)
		for i := range recs {
			recs[i], evs[i] = record.New(person, ws.ID, "actor", &record.Input{Values: in.Values, Order: in.Order}, time.Now())
		}
		return db.CreateRecords(ctx, recs, evs)
	}
	var refused error
	for i := 0; i < 500 && refused == nil; i++ { // 12 MB of 600 KB writes fills long before
		refused = write()
	}
	if herald.ErrorCode(refused) != herald.EINSUFFICIENTSTORAGE || !strings.Contains(herald.ErrorMessage(refused), "no space left") {
		t.Fatalf("a write on a full disk: %v (code %s), want INSUFFICIENT_STORAGE", refused, herald.ErrorCode(refused))
	}
	if out, err := exec.Command("mount", "-o", "remount,size=64m", dir).CombinedOutput(); err != nil {
		t.Fatalf("grow the filesystem: %v %s", err, out)
	}
	if err := write(); err != nil {
		t.Fatalf("a write once there is room: %v", err)
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping once there is room: %v", err)
	}
}
