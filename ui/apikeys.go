package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
)

func (u *UI) keyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"/api-keys", u.authed(u.listKeys))
	mux.HandleFunc("POST "+Prefix+"/api-keys", u.authed(u.createKey))
	mux.HandleFunc("GET "+Prefix+"/api-keys/{id}/revoke", u.authed(u.confirmRevokeKey))
	mux.HandleFunc("POST "+Prefix+"/api-keys/{id}/revoke", u.authed(u.revokeKey))
}

type keysPage struct {
	Keys []apiKey
	// Created is a key just made, shown this once.
	Created *apiKey
	// Name and Error are the create form's input and its refusal.
	Name, Error string
}

func (u *UI) keys(r *http.Request, p *keysPage) error {
	var out struct {
		Data struct{ APIKeys []apiKey }
	}
	if err := u.call(r, "GET", "/rest/api-keys", nil, &out); err != nil {
		return err
	}
	p.Keys = out.Data.APIKeys
	return nil
}

func (u *UI) listKeys(w http.ResponseWriter, r *http.Request) {
	u.renderKeys(w, r, http.StatusOK, &keysPage{})
}

func (u *UI) renderKeys(w http.ResponseWriter, r *http.Request, status int, p *keysPage) {
	if err := u.keys(r, p); err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, status, "api-keys", page{Title: "API keys", Nav: "api-keys", Data: p})
}

// createKey answers with the page itself, not a redirect: the new key
// must not travel in a URL, and is shown this once.
func (u *UI) createKey(w http.ResponseWriter, r *http.Request) {
	p := &keysPage{Name: strings.TrimSpace(r.PostFormValue("name"))}
	var out struct {
		Data struct{ CreateAPIKey apiKey }
	}
	if err := u.call(r, "POST", "/rest/api-keys", map[string]string{"name": p.Name}, &out); err != nil {
		var e *apiError
		if errors.As(err, &e) && e.Status < 500 {
			p.Error = e.Message
			u.renderKeys(w, r, http.StatusUnprocessableEntity, p)
			return
		}
		u.fail(w, r, err)
		return
	}
	p.Created, p.Name = &out.Data.CreateAPIKey, ""
	u.renderKeys(w, r, http.StatusCreated, p)
}

func (u *UI) confirmRevokeKey(w http.ResponseWriter, r *http.Request) {
	p := &keysPage{}
	if err := u.keys(r, p); err != nil {
		u.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	if id == sessionOf(r).Key.ID {
		u.fail(w, r, &apiError{Status: http.StatusConflict, Message: "You are signed in with this key, so it cannot revoke itself: sign in with another key first."})
		return
	}
	for _, k := range p.Keys {
		if k.ID == id && k.RevokedAt == nil {
			u.render(w, r, http.StatusOK, "confirm", page{Title: "Revoke API key", Nav: "api-keys", Data: confirmation{
				Question: "Revoke the API key “" + k.Name + "” (" + k.Prefix + "…)?",
				Detail:   "Every request made with it is refused from now on (401), and UI sessions opened with it end. This cannot be undone.",
				Action:   Prefix + "/api-keys/" + url.PathEscape(id) + "/revoke", Button: "Revoke key", Cancel: Prefix + "/api-keys",
			}})
			return
		}
	}
	u.fail(w, r, &apiError{Status: http.StatusNotFound, Message: "There is no active API key " + id + " in this workspace."})
}

func (u *UI) revokeKey(w http.ResponseWriter, r *http.Request) {
	if err := u.call(r, "DELETE", "/rest/api-keys/"+url.PathEscape(r.PathValue("id")), nil, nil); err != nil {
		u.fail(w, r, err)
		return
	}
	http.Redirect(w, r, done(Prefix+"/api-keys", "revoked"), http.StatusSeeOther)
}
