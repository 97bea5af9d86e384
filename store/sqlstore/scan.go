package sqlstore

import (
	"database/sql"
	"time"
)

// Scanners that read Unix-millisecond columns straight into time fields.

type timeScanner struct{ t *time.Time }

func (s timeScanner) Scan(v any) error {
	var n sql.NullInt64
	if err := n.Scan(v); err != nil {
		return err
	}
	*s.t = fromMS(n.Int64)
	return nil
}

type nullTimeScanner struct{ t **time.Time }

func (s nullTimeScanner) Scan(v any) error {
	var n sql.NullInt64
	if err := n.Scan(v); err != nil {
		return err
	}
	*s.t = fromNullMS(n)
	return nil
}

type durationScanner struct{ d *time.Duration }

func (s durationScanner) Scan(v any) error {
	var n sql.NullInt64
	if err := n.Scan(v); err != nil {
		return err
	}
	*s.d = time.Duration(n.Int64) * time.Microsecond
	return nil
}
