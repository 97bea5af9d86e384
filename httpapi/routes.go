package httpapi

import (
	"net/http"

	"github.com/heraldhq/herald"
)

// handle registers a route and remembers its pattern, so that the OpenAPI
// document can be checked against the routes that exist.
func (s *Server) handle(pattern string, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, h)
	s.patterns = append(s.patterns, pattern)
}

// routes lists the whole API surface.
func (s *Server) routes() {
	s.handle("GET /healthz", s.healthz)
	s.handle("GET /readyz", s.readyz)
	if s.Metrics != nil {
		s.handle("GET /metrics", s.Metrics.ServeHTTP)
	}

	// Webhooks, at both paths Twenty has used.
	for _, p := range []string{"/rest/webhooks", "/rest/metadata/webhooks"} {
		s.handle("GET "+p, s.authed(s.listWebhooks))
		s.handle("POST "+p, s.authed(s.createWebhook))
		s.handle("GET "+p+"/event-types", s.authed(s.eventTypes))
		s.handle("GET "+p+"/{id}", s.authed(s.getWebhook))
		s.handle("PATCH "+p+"/{id}", s.authed(s.updateWebhook))
		s.handle("DELETE "+p+"/{id}", s.authed(s.deleteWebhook))
		s.handle("POST "+p+"/{id}/test", s.authed(s.testWebhook))
		s.handle("POST "+p+"/{id}/rotate-secret", s.authed(s.rotateSecret))
		s.handle("POST "+p+"/{id}/replay", s.authed(s.replay))
		s.handle("POST "+p+"/{id}/recover", s.authed(s.recoverFailed))
		s.handle("POST "+p+"/{id}/deliveries/retry", s.authed(s.retryDeliveries))
		s.handle("GET "+p+"/{id}/deliveries", s.authed(s.listDeliveries))
		s.handle("GET "+p+"/{id}/stats", s.authed(s.webhookHistogram))
	}
	s.handle("GET /rest/api-keys", s.authed(s.listAPIKeys))
	s.handle("POST /rest/api-keys", s.authed(s.createAPIKey))
	s.handle("DELETE /rest/api-keys/{id}", s.authed(s.revokeAPIKey))
	s.handle("GET /rest/metadata/objects", s.authed(s.listObjects))
	s.handle("POST /rest/metadata/objects", s.authed(s.createObject))
	s.handle("GET /rest/metadata/objects/{id}", s.authed(s.getObject))
	s.handle("PATCH /rest/metadata/objects/{id}", s.authed(s.updateObject))
	s.handle("DELETE /rest/metadata/objects/{id}", s.authed(s.deleteObject))
	s.handle("POST /rest/events", s.authed(s.publishEvent))
	s.handle("GET /rest/deliveries/{id}", s.authed(s.getDelivery))
	s.handle("POST /rest/deliveries/{id}/retry", s.authed(s.retryDelivery))

	// Records of every object.
	s.handle("GET /rest/{plural}", s.authed(s.listRecords))
	s.handle("POST /rest/{plural}", s.authed(s.createRecord))
	s.handle("POST /rest/batch/{plural}", s.authed(s.createRecords))
	s.handle("GET /rest/{plural}/{id}", s.authed(s.getRecord))
	s.handle("PATCH /rest/{plural}/{id}", s.authed(s.updateRecord))
	// An older alias of PATCH in Twenty's API, which published clients
	// (an n8n node among them) still send.
	s.handle("PUT /rest/{plural}/{id}", s.authed(s.updateRecord))
	s.handle("DELETE /rest/{plural}/{id}", s.authed(s.deleteRecord))
	s.handle("PATCH /rest/restore/{plural}/{id}", s.authed(s.restoreRecord))
	s.handle("GET /rest/open-api", s.openAPI)

	// Not a route: everything else is a JSON 404.
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.error(w, r, errorf404("no such endpoint: %s %s", r.Method, r.URL.Path))
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.Store.Ping(r.Context()); err != nil {
		status := "database unreachable"
		if herald.ErrorCode(err) == herald.EINSUFFICIENTSTORAGE {
			status = "storage full: " + herald.ErrorMessage(err)
		}
		s.Logger.Error("readiness: "+status, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": status})
		return
	}
	if s.Ready != nil {
		if err := s.Ready(); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
