package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/heraldhq/herald"
)

const objectColumns = `id, workspace_id, name_singular, name_plural, label_singular, label_plural, description, fields, created_at, updated_at`

func scanObject(s scanner) (*herald.Object, error) {
	o := herald.Object{Custom: true}
	var fields string
	if err := s.Scan(&o.ID, &o.WorkspaceID, &o.NameSingular, &o.NamePlural, &o.LabelSingular, &o.LabelPlural, &o.Description,
		&fields, timeScanner{&o.CreatedAt}, timeScanner{&o.UpdatedAt}); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(fields), &o.Fields); err != nil {
		return nil, fmt.Errorf("object %s: bad fields: %w", o.NameSingular, err)
	}
	return &o, nil
}

func objectFields(o *herald.Object) string {
	b, _ := json.Marshal(o.Fields) // fields are plain strings
	return string(b)
}

// ListObjects returns the workspace's custom objects, oldest first.
func (db *DB) ListObjects(ctx context.Context, workspaceID string) ([]*herald.Object, error) {
	objs, err := listObjects(ctx, db.read, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list objects: %w", err)
	}
	return objs, nil
}

func listObjects(ctx context.Context, q conn, workspaceID string) ([]*herald.Object, error) {
	return queryAll(ctx, q, scanObject, `SELECT `+objectColumns+` FROM objects WHERE workspace_id = ? ORDER BY created_at, id`, workspaceID)
}

// FindObject returns the custom object whose id, singular or plural name
// is name.
func (db *DB) FindObject(ctx context.Context, workspaceID, name string) (*herald.Object, error) {
	return findObject(ctx, db.read, workspaceID, name, false)
}

func findObject(ctx context.Context, q conn, workspaceID, name string, lock bool) (*herald.Object, error) {
	suffix := ""
	if lock {
		suffix = q.d.ForUpdate()
	}
	o, err := scanObject(q.QueryRowContext(ctx, `SELECT `+objectColumns+` FROM objects
		WHERE workspace_id = ? AND (name_plural = ? OR name_singular = ? OR id = ?)`+suffix, workspaceID, name, name, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("object " + name)
	}
	if err != nil {
		return nil, fmt.Errorf("find object %s: %w", name, err)
	}
	return o, nil
}

// CreateObject stores a new custom object with its event.
func (db *DB) CreateObject(ctx context.Context, o *herald.Object, ev *herald.Event) error {
	err := db.inTx(ctx, func(tx conn) error {
		// The unique indexes catch a name reused in the same role; this
		// catches a singular taken as another object's plural and back.
		var taken string
		err := tx.QueryRowContext(ctx, `SELECT name_singular FROM objects WHERE workspace_id = ?
			AND (name_singular IN (?, ?) OR name_plural IN (?, ?))`,
			o.WorkspaceID, o.NameSingular, o.NamePlural, o.NameSingular, o.NamePlural).Scan(&taken)
		if err == nil {
			return nameTaken(taken)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO objects (`+objectColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			o.ID, o.WorkspaceID, o.NameSingular, o.NamePlural, o.LabelSingular, o.LabelPlural, o.Description,
			objectFields(o), ms(o.CreatedAt), ms(o.UpdatedAt))
		if db.d.IsUniqueViolation(err) {
			return nameTaken(o.NameSingular)
		}
		if err != nil {
			return err
		}
		return writeEvents(ctx, tx, []*herald.Event{ev})
	})
	if err != nil {
		return fmt.Errorf("create object %s: %w", o.NameSingular, err)
	}
	return nil
}

func nameTaken(other string) error {
	return &herald.Error{Code: herald.ECONFLICT, Field: "nameSingular",
		Message: fmt.Sprintf("the object %s already uses this name as its singular or plural", other)}
}

// UpdateObject loads a custom object, lets fn change it, and saves it with
// fn's event; values of fields fn removed leave the object's records.
func (db *DB) UpdateObject(ctx context.Context, workspaceID, name string, fn func(*herald.Object) (*herald.Event, error)) (*herald.Object, error) {
	var out *herald.Object
	err := db.inTx(ctx, func(tx conn) error {
		o, err := findObject(ctx, tx, workspaceID, name, true)
		if err != nil {
			return err
		}
		before := slices.Clone(o.Fields)
		ev, err := fn(o)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE objects SET label_singular = ?, label_plural = ?, description = ?, fields = ?, updated_at = ?
			WHERE id = ?`, o.LabelSingular, o.LabelPlural, o.Description, objectFields(o), ms(o.UpdatedAt), o.ID); err != nil {
			return err
		}
		for _, f := range before {
			if _, kept := o.Field(f.Name); kept {
				continue
			}
			// Field names are identifiers (checked when the field was
			// made), so inlining them in the JSON path is safe.
			if _, err := tx.ExecContext(ctx, `UPDATE records SET data = `+tx.d.JSONRemove(f.Name)+`
				WHERE workspace_id = ? AND object = ?`, workspaceID, o.NameSingular); err != nil {
				return fmt.Errorf("remove field %s from records: %w", f.Name, err)
			}
		}
		out = o
		if ev == nil {
			return nil
		}
		return writeEvents(ctx, tx, []*herald.Event{ev})
	})
	if err != nil {
		return nil, fmt.Errorf("update object %s: %w", name, err)
	}
	return out, nil
}

// DeleteObject removes a custom object with fn's event, and its records
// when withRecords.
func (db *DB) DeleteObject(ctx context.Context, workspaceID, name string, withRecords bool, fn func(*herald.Object) (*herald.Event, error)) (*herald.Object, error) {
	var out *herald.Object
	err := db.inTx(ctx, func(tx conn) error {
		o, err := findObject(ctx, tx, workspaceID, name, true)
		if err != nil {
			return err
		}
		others, err := listObjects(ctx, tx, workspaceID)
		if err != nil {
			return err
		}
		for _, other := range others {
			for _, f := range other.Fields {
				if f.Type == herald.FieldRelation && f.Target == o.NameSingular && other.ID != o.ID {
					return herald.Errorf(herald.ECONFLICT, "%s.%s is a relation to %s: remove that field first", other.NameSingular, f.Name, o.NameSingular)
				}
			}
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM records WHERE workspace_id = ? AND object = ?`, workspaceID, o.NameSingular).Scan(&n); err != nil {
			return err
		}
		if n > 0 && !withRecords {
			return herald.Errorf(herald.ECONFLICT, "%s still has %d records: delete them first, or add ?withRecords=true to delete them with the object", o.NameSingular, n)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM records WHERE workspace_id = ? AND object = ?`, workspaceID, o.NameSingular); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM objects WHERE id = ?`, o.ID); err != nil {
			return err
		}
		ev, err := fn(o)
		if err != nil {
			return err
		}
		out = o
		return writeEvents(ctx, tx, []*herald.Event{ev})
	})
	if err != nil {
		return nil, fmt.Errorf("delete object %s: %w", name, err)
	}
	return out, nil
}

// ListEventTypes returns the custom event names the workspace published.
func (db *DB) ListEventTypes(ctx context.Context, workspaceID string) ([]string, error) {
	names, err := queryAll(ctx, db.read, scanString, `SELECT name FROM event_types WHERE workspace_id = ? ORDER BY name`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list event types: %w", err)
	}
	return names, nil
}
