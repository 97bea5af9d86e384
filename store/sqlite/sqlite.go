// Package sqlite implements herald.Store on an embedded SQLite file (WAL
// mode), through the pure-Go modernc.org/sqlite driver.
//
// SQLite allows one writer at a time. DB therefore writes through a pool of
// exactly one connection whose transactions start with BEGIN IMMEDIATE:
// writers queue in Go instead of failing with SQLITE_BUSY, and reads go
// through a separate pool that WAL lets run beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a herald.Store on one SQLite file.
type DB struct {
	*sqlstore.DB
	path  string
	write *sql.DB
	lock  *os.File
	// checkpointer copies the WAL into the database file in the
	// background; stopCheckpoints ends it.
	checkpointer    *sql.DB
	stopCheckpoints context.CancelFunc
	checkpointsDone chan struct{}
}

// checkpointEvery is how long the background checkpoint waits after a
// write before its pass. Each pass copies what came since the one before
// and syncs the file, and writes slow down meanwhile: at 1,000 events a
// second, the p99 of commit→receipt was 45–49 ms with a pass a second,
// 30–38 ms every 250 ms, 23–27 ms every 100 ms and 17–20 ms every 50 ms
// (interleaved pairs), for the same CPU.
const checkpointEvery = 50 * time.Millisecond

var (
	_ herald.Store        = (*DB)(nil)
	_ herald.EngineLocker = (*DB)(nil)
)

// Open opens (creating if needed) the database file at path and brings its
// schema up to date.
func Open(ctx context.Context, path string) (*DB, error) {
	// synchronous=NORMAL in WAL mode survives any process crash (kill -9):
	// a committed transaction is in the OS's page cache. Only a power loss
	// can take back the last commits.
	const pragmas = "_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)&_pragma=case_sensitive_like(1)" +
		// Statement journals (written for every insert that could fail
		// half-way, such as one checking a UNIQUE or foreign key) stay in
		// memory instead of a temp file: a pwrite per page saved.
		"&_pragma=temp_store(memory)"
	// The writer keeps a larger page cache than the default 2 MB: every
	// delivery touches several indexes, and re-reading their pages from
	// the OS costs a syscall each (fan-out to 100 webhooks spreads them
	// out most). Larger is not better, though: when a b-tree balance swaps
	// two pages, SQLite parks one at the pending-byte page number (262145),
	// and the commit then scans the cache's whole hash table to drop it.
	// Queue-like indexes free and reuse pages all the time, so most claim
	// and completion commits pay for that scan. 64 MB had the same delivery rates as 32 MB and cost
	// 70 MB more RSS. The writer never checkpoints at commit
	// (checkpointLoop does).
	// journal_size_limit: a WAL that grew past walRestartFrames under a
	// burst is cut back to that size when it starts over, instead of
	// keeping its largest size on disk for good (55–69 MB seen on a small
	// disk that then filled).
	write, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=cache_size(-32768)&_pragma=wal_autocheckpoint(0)&_txlock=immediate"+
		fmt.Sprintf("&_pragma=journal_size_limit(%d)", walRestartFrames*4096))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	db := &DB{path: path, write: write}
	if err := db.migrate(ctx); err != nil {
		write.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", "file:"+path+"?"+pragmas)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	read.SetMaxOpenConns(8)
	read.SetMaxIdleConns(8)
	if db.checkpointer, err = sql.Open("sqlite", "file:"+path+"?"+pragmas); err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.checkpointer.SetMaxOpenConns(1)
	// A single-record commit writes a dozen pages to the WAL; lingering
	// up to 5 ms for others to share it took herald bench --scenario rate
	// from 1,513 / 1,456 to 1,095 / 1,100 µs a delivery at 500/s, and its
	// p99 from 20 to 12–13 ms (at 1,000/s: 1,043 / 1,014 → 786 / 767 µs,
	// p99 51–53 → 28–31 ms), for p50 1.4 → 6.2 ms. 8 ms instead of 5
	// (herald bench --against, 3 rounds at once): at 500/s 0.868 / 0.884
	// / 0.892 the CPU, a group of 3.5 records becoming one of about 5,
	// for p99 8–9 → 11–12 ms; at 1,000/s, where groups were already
	// larger, the same CPU within the noise and p99 8–9 → 12–17 ms.
	db.DB = sqlstore.New(write, read, dialect{}, sqlstore.Options{SingleWriter: true, GroupLinger: 8 * time.Millisecond})
	ctx, db.stopCheckpoints = context.WithCancel(context.WithoutCancel(ctx))
	db.checkpointsDone = make(chan struct{})
	go db.checkpointLoop(ctx)
	return db, nil
}

// checkpointLoop copies committed WAL frames into the database file, off
// the writer's path: SQLite's own automatic checkpoint runs in the commit
// that finds a thousand frames in the WAL, and every write waited while it
// copied them and synced the file (15 commits a second over 3 ms at 1,000
// events a second; 1.6 with this loop).
//
// A PASSIVE checkpoint never waits for the writer or readers, so writes go
// on while it copies. Under a steady stream of writes the WAL never starts
// over, though: that takes a write transaction that begins with every
// frame copied, and new frames keep coming. So, once the WAL is large,
// the loop takes the writer's turn for a second pass, which has only the
// frames written during the first to copy; the next write restarts the WAL.
func (db *DB) checkpointLoop(ctx context.Context) {
	defer close(db.checkpointsDone)
	wait := time.NewTimer(checkpointEvery)
	defer wait.Stop()
	left := 1 // the WAL may hold frames from before this process
	for {
		// With everything copied, the next pass waits for a write: an
		// idle process sleeps. A pass then waits checkpointEvery, for
		// the writes that follow to share it.
		if left == 0 {
			select {
			case <-ctx.Done():
				return
			case <-db.Written():
			}
		}
		wait.Reset(checkpointEvery)
		select {
		case <-ctx.Done():
			return
		case <-wait.C:
		}
		// Errors (SQLITE_BUSY while another checkpoint runs) are retried
		// after the next wait.
		var frames int
		var err error
		if frames, left, err = db.checkpoint(ctx); err != nil {
			left = 1
			continue
		}
		if frames >= walRestartFrames {
			_ = db.Exclusively(ctx, func() error { _, _, err := db.checkpoint(ctx); return err })
		}
	}
}

// walRestartFrames is the WAL size, in frames (pages: 32 MB), past which
// the checkpoint takes the writer's turn so that the WAL starts over. At
// 1,000 events a second that is every 2 s, for 20–29 ms (mostly the two
// syncs). Four times as many frames, so a quarter as many such passes,
// left the p99 as it was.
const walRestartFrames = 8192

// checkpoint runs a PASSIVE checkpoint and returns the WAL's size in
// frames when it started, and how many of them it left uncopied (those a
// reader still needed).
func (db *DB) checkpoint(ctx context.Context) (frames, left int, err error) {
	var busy, copied int
	err = db.checkpointer.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
	return frames, frames - copied, err
}

func (db *DB) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db.write, sub)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", db.path, err)
	}
	return nil
}

// LockEngine makes this process the only one delivering from the file: it
// holds an exclusive lock on a file beside the database until Close. Only
// then may RecoverClaims release every lease at start.
func (db *DB) LockEngine() error {
	f, err := os.OpenFile(db.path+".engine-lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("engine lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return fmt.Errorf("another herald serve is already delivering from %s (SQLite allows one; use PostgreSQL to run several): %w", db.path, err)
	}
	db.lock = f
	db.SetSingleEngine()
	return nil
}

// Close closes both pools and drops the engine lock.
func (db *DB) Close() error {
	db.stopCheckpoints()
	<-db.checkpointsDone
	err := errors.Join(db.checkpointer.Close(), db.DB.Close())
	if db.lock != nil {
		err = errors.Join(err, db.lock.Close())
	}
	return err
}

// minFreeBytes is the free space below which Ping reports the database's
// disk as full: a write may still fit (SQLite reuses its WAL's space), but
// the next larger one will not, and a process that answers ready on a
// disk about to refuse writes would be sent more of them.
const minFreeBytes = 1 << 20

// Ping checks that the database answers and its disk has room.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.DB.Ping(ctx); err != nil {
		return err
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(filepath.Dir(db.path), &st); err == nil && st.Bavail*uint64(st.Bsize) < minFreeBytes {
		return herald.Errorf(herald.EINSUFFICIENTSTORAGE, "the database's disk has less than %d KiB free", minFreeBytes>>10)
	}
	return nil
}
