package ui

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/heraldhq/herald"
)

func (u *UI) keyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"/api-keys", u.authed(u.listKeys))
	mux.HandleFunc("POST "+Prefix+"/api-keys", u.authed(u.createKey))
	mux.HandleFunc("GET "+Prefix+"/api-keys/{id}/revoke", u.authed(u.confirmRevokeKey))
	mux.HandleFunc("POST "+Prefix+"/api-keys/{id}/revoke", u.authed(u.revokeKey))
}

type keysPage struct {
	Keys []*herald.APIKey
	// Created is a key just made, shown this once.
	Created *createdKey
	// Name and Error are the create form's input and its refusal.
	Name, Error string
}

// createdKey is a key with its secret, which only its creation shows.
type createdKey struct {
	*herald.APIKey
	Key string
}

func (u *UI) keys(r *http.Request, p *keysPage) (err error) {
	p.Keys, err = u.Services.APIKeys.List(r.Context(), workspace(r))
	return err
}

func (u *UI) listKeys(w http.ResponseWriter, r *http.Request) error {
	return u.renderKeys(w, r, http.StatusOK, &keysPage{})
}

func (u *UI) renderKeys(w http.ResponseWriter, r *http.Request, status int, p *keysPage) error {
	if err := u.keys(r, p); err != nil {
		return err
	}
	u.render(w, r, status, "api-keys", page{Title: "API keys", Nav: "api-keys", Data: p})
	return nil
}

// createKey answers with the page itself, not a redirect: the new key
// must not travel in a URL, and is shown this once.
func (u *UI) createKey(w http.ResponseWriter, r *http.Request) error {
	p := &keysPage{Name: strings.TrimSpace(r.PostFormValue("name"))}
	secret, key, err := u.Services.APIKeys.Create(r.Context(), workspace(r), p.Name)
	if err != nil {
		if p.Error, _ = refusal(err); p.Error != "" {
			return u.renderKeys(w, r, http.StatusUnprocessableEntity, p)
		}
		return err
	}
	p.Created, p.Name = &createdKey{key, secret}, ""
	return u.renderKeys(w, r, http.StatusCreated, p)
}

func (u *UI) confirmRevokeKey(w http.ResponseWriter, r *http.Request) error {
	p := &keysPage{}
	if err := u.keys(r, p); err != nil {
		return err
	}
	id := r.PathValue("id")
	if id == sessionOf(r).Key.ID {
		return herald.Errorf(herald.ECONFLICT, "You are signed in with this key, so it cannot revoke itself: sign in with another key first.")
	}
	for _, k := range p.Keys {
		if k.ID == id && k.RevokedAt == nil {
			u.render(w, r, http.StatusOK, "confirm", page{Title: "Revoke API key", Nav: "api-keys", Data: confirmation{
				Question: "Revoke the API key “" + k.Name + "” (" + k.Prefix + "…)?",
				Detail:   "Every request made with it is refused from now on (401), and UI sessions opened with it end. This cannot be undone.",
				Action:   Prefix + "/api-keys/" + url.PathEscape(id) + "/revoke", Button: "Revoke key", Cancel: Prefix + "/api-keys",
			}})
			return nil
		}
	}
	return herald.Errorf(herald.ENOTFOUND, "There is no active API key %s in this workspace.", id)
}

func (u *UI) revokeKey(w http.ResponseWriter, r *http.Request) error {
	if err := u.Services.APIKeys.Revoke(r.Context(), sessionOf(r).Key, r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, done(Prefix+"/api-keys", "revoked"), http.StatusSeeOther)
	return nil
}
