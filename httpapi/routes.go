package httpapi

import "net/http"

// routes lists the whole API surface.
func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", s.healthz)
	m.HandleFunc("GET /readyz", s.readyz)
	if s.Metrics != nil {
		m.Handle("GET /metrics", s.Metrics)
	}

	// Webhooks, at both paths Twenty has used.
	for _, p := range []string{"/rest/webhooks", "/rest/metadata/webhooks"} {
		m.HandleFunc("GET "+p, s.authed(s.listWebhooks))
		m.HandleFunc("POST "+p, s.authed(s.createWebhook))
		m.HandleFunc("GET "+p+"/event-types", s.authed(s.eventTypes))
		m.HandleFunc("GET "+p+"/{id}", s.authed(s.getWebhook))
		m.HandleFunc("PATCH "+p+"/{id}", s.authed(s.updateWebhook))
		m.HandleFunc("DELETE "+p+"/{id}", s.authed(s.deleteWebhook))
		m.HandleFunc("POST "+p+"/{id}/test", s.authed(s.testWebhook))
		m.HandleFunc("POST "+p+"/{id}/rotate-secret", s.authed(s.rotateSecret))
		m.HandleFunc("POST "+p+"/{id}/replay", s.authed(s.replay))
		m.HandleFunc("GET "+p+"/{id}/deliveries", s.authed(s.listDeliveries))
	}
	m.HandleFunc("GET /rest/metadata/objects", s.authed(s.listObjects))
	m.HandleFunc("POST /rest/metadata/objects", s.authed(s.createObject))
	m.HandleFunc("GET /rest/metadata/objects/{id}", s.authed(s.getObject))
	m.HandleFunc("PATCH /rest/metadata/objects/{id}", s.authed(s.updateObject))
	m.HandleFunc("DELETE /rest/metadata/objects/{id}", s.authed(s.deleteObject))
	m.HandleFunc("POST /rest/events", s.authed(s.publishEvent))
	m.HandleFunc("GET /rest/deliveries/{id}", s.authed(s.getDelivery))
	m.HandleFunc("POST /rest/deliveries/{id}/retry", s.authed(s.retryDelivery))

	// Records of every object.
	m.HandleFunc("GET /rest/{plural}", s.authed(s.listRecords))
	m.HandleFunc("POST /rest/{plural}", s.authed(s.createRecord))
	m.HandleFunc("POST /rest/batch/{plural}", s.authed(s.createRecords))
	m.HandleFunc("GET /rest/{plural}/{id}", s.authed(s.getRecord))
	m.HandleFunc("PATCH /rest/{plural}/{id}", s.authed(s.updateRecord))
	m.HandleFunc("DELETE /rest/{plural}/{id}", s.authed(s.deleteRecord))
	m.HandleFunc("PATCH /rest/restore/{plural}/{id}", s.authed(s.restoreRecord))

	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.error(w, r, errorf404("no such endpoint: %s %s", r.Method, r.URL.Path))
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.Store.Ping(r.Context()); err != nil {
		s.Logger.Error("readiness: database unreachable", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unreachable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
