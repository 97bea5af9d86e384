package service

import (
	"context"
	"slices"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/metadata"
)

// Objects are the rules of a workspace's objects: the standard ones,
// which cannot change, and custom ones, whose changes are events too
// (metadata.*).
type Objects struct {
	store herald.Store
	// standard is herald.StandardObjects, made once: every record request
	// resolves its object, and making the catalog anew was a quarter of
	// the bytes a created record allocated. Its objects are shared, so
	// nothing changes them.
	standard []*herald.Object
}

func newObjects(store herald.Store) *Objects {
	return &Objects{store: store, standard: herald.StandardObjects()}
}

// List returns every object of the workspace, standard ones first.
func (s *Objects) List(ctx context.Context, workspaceID string) ([]*herald.Object, error) {
	custom, err := s.store.ListObjects(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	return append(slices.Clip(s.standard), custom...), nil
}

// ByPlural resolves a records path's object: a standard object, or a
// custom one of the workspace, by its plural name.
func (s *Objects) ByPlural(ctx context.Context, workspaceID, plural string) (*herald.Object, error) {
	for _, o := range s.standard {
		if o.NamePlural == plural {
			return o, nil
		}
	}
	o, err := s.store.FindObject(ctx, workspaceID, plural)
	if err == nil && o.NamePlural == plural {
		return o, nil
	}
	if err != nil && herald.ErrorCode(err) != herald.ENOTFOUND {
		return nil, err
	}
	return nil, errorf404("unknown object %q: use people, companies, opportunities, notes, tasks or a custom object's plural name (GET /rest/metadata/objects lists them)", plural)
}

// named returns the workspace's object whose singular name is name.
func (s *Objects) named(ctx context.Context, workspaceID, name string) (*herald.Object, error) {
	for _, o := range s.standard {
		if o.NameSingular == name {
			return o, nil
		}
	}
	return s.store.FindObject(ctx, workspaceID, name)
}

// Find returns an object by its id, singular or plural name.
func (s *Objects) Find(ctx context.Context, workspaceID, name string) (*herald.Object, error) {
	for _, o := range s.standard {
		if name == o.NameSingular || name == o.NamePlural || name == metadata.ID(workspaceID, o.NameSingular) {
			return o, nil
		}
	}
	return s.store.FindObject(ctx, workspaceID, name)
}

// objectSet is the workspace's objects, as metadata.Apply asks about them.
type objectSet []*herald.Object

func (os objectSet) Exists(name string) bool {
	return slices.ContainsFunc(os, func(o *herald.Object) bool { return o.NameSingular == name })
}

// Create makes a custom object, up to metadata.MaxObjects a workspace.
func (s *Objects) Create(ctx context.Context, workspaceID string, in *metadata.Input) (*herald.Object, error) {
	objs, err := s.List(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	if len(objs)-len(s.standard) >= metadata.MaxObjects {
		return nil, herald.Errorf(herald.EUNPROCESSABLE, "a workspace has at most %d custom objects", metadata.MaxObjects)
	}
	now := herald.Now()
	o := &herald.Object{WorkspaceID: workspaceID, Custom: true, CreatedAt: now, UpdatedAt: now}
	if err := metadata.Apply(in, o, objectSet(objs), true); err != nil {
		return nil, err
	}
	o.ID = metadata.ID(workspaceID, o.NameSingular)
	if err := s.store.CreateObject(ctx, o, metadata.NewEvent(o, nil, metadata.ActionCreated, now)); err != nil {
		return nil, err
	}
	return o, nil
}

// Update changes a custom object; a change that changes nothing sends no
// event.
func (s *Objects) Update(ctx context.Context, workspaceID, name string, in *metadata.Input) (*herald.Object, error) {
	if o, err := s.Find(ctx, workspaceID, name); err == nil && !o.Custom {
		return nil, herald.Errorf(herald.EFORBIDDEN, "%s is a standard object and cannot be changed", o.NameSingular)
	}
	objs, err := s.List(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	return s.store.UpdateObject(ctx, workspaceID, name, func(o *herald.Object) (*herald.Event, error) {
		before := *o
		if err := metadata.Apply(in, o, objectSet(objs), false); err != nil {
			return nil, err
		}
		now := herald.Now()
		o.UpdatedAt = now
		ev := metadata.NewEvent(o, &before, metadata.ActionUpdated, now)
		if len(ev.UpdatedFields) == 0 {
			return nil, nil
		}
		return ev, nil
	})
}

// Delete removes a custom object; with withRecords, its records too
// (otherwise an object that has records is ECONFLICT).
func (s *Objects) Delete(ctx context.Context, workspaceID, name string, withRecords bool) (*herald.Object, error) {
	if o, err := s.Find(ctx, workspaceID, name); err == nil && !o.Custom {
		return nil, herald.Errorf(herald.EFORBIDDEN, "%s is a standard object and cannot be deleted", o.NameSingular)
	}
	return s.store.DeleteObject(ctx, workspaceID, name, withRecords, func(o *herald.Object) (*herald.Event, error) {
		return metadata.NewEvent(o, nil, metadata.ActionDeleted, time.Now()), nil
	})
}
