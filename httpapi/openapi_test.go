package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/store/sqlite"
)

// TestOpenAPICoversRoutes checks the document against the real routes:
// every route is documented, every documented operation reaches the route
// it describes, and the document is valid OpenAPI 3.
func TestOpenAPICoversRoutes(t *testing.T) {
	t.Parallel()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	s := New(Config{Store: store, Metrics: http.NotFoundHandler(), Version: "test"})

	used := map[string]bool{}
	for _, p := range s.patterns {
		if _, ok := opDocs[docKey(p)]; !ok {
			t.Errorf("route %s is not documented in opDocs", p)
		}
		used[docKey(p)] = true
	}
	for k := range opDocs {
		if !used[k] {
			t.Errorf("opDocs documents %s, which is no route", k)
		}
	}

	pet := &herald.Object{NameSingular: "pet", NamePlural: "pets", LabelSingular: "Pet", LabelPlural: "Pets", Custom: true, Fields: []herald.Field{
		{Name: "name", Type: herald.FieldText}, {Name: "age", Type: herald.FieldNumber},
		{Name: "kind", Type: herald.FieldSelect, Options: []string{"DOG", "CAT"}}, {Name: "ownerId", Type: herald.FieldRelation, Target: "person"},
	}}
	objs := append(herald.StandardObjects(), pet)
	raw, err := json.Marshal(s.OpenAPI(context.Background(), objs, catalog.Build("00000000-0000-4000-8000-000000000001", objs, []string{"invoice.paid"})))
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load the document: %v", err)
	}
	if err := loaded.Validate(context.Background()); err != nil {
		t.Fatalf("the document is not valid OpenAPI 3: %v", err)
	}

	// Every documented operation is routed to the pattern it documents,
	// not to the catch-all 404 or a 405.
	documented := map[string]int{}
	for path, item := range loaded.Paths.Map() {
		for method := range item.Operations() {
			concrete := strings.NewReplacer("{id}", "00000000-0000-0000-0000-000000000001").Replace(path)
			_, pattern := s.mux.Handler(httptest.NewRequest(method, concrete, nil))
			if !slices.Contains(s.patterns, pattern) {
				t.Errorf("documented %s %s reaches %q, not a route", method, path, pattern)
				continue
			}
			if want := strings.Replace(pattern, "{plural}", pluralIn(path, objs), 1); want != method+" "+path {
				t.Errorf("documented %s %s is served by %s", method, path, pattern)
			}
			documented[pattern]++
		}
	}
	// And every route is in the document: once, or once per object.
	for _, p := range s.patterns {
		want := 1
		if strings.Contains(p, "{plural}") {
			want = len(objs)
		}
		if documented[p] != want {
			t.Errorf("route %s appears %d times in the document, want %d", p, documented[p], want)
		}
	}
	if loaded.Paths.Value("/rest/pets/{id}") == nil || loaded.Paths.Value("/rest/batch/pets") == nil {
		t.Error("custom object pet has no paths")
	}
	petSchema := loaded.Components.Schemas["Pet"].Value
	if petSchema == nil || petSchema.Properties["age"].Value.Type.Slice()[0] != "number" || len(petSchema.Properties["kind"].Value.Enum) != 3 {
		t.Errorf("Pet schema lacks its typed fields: %+v", petSchema)
	}
}

// pluralIn finds which object's plural a concrete path names.
func pluralIn(path string, objs []*herald.Object) string {
	for _, seg := range strings.Split(path, "/") {
		for _, o := range objs {
			if seg == o.NamePlural {
				return seg
			}
		}
	}
	return "{plural}"
}
