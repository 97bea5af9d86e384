package ui

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/service"
	"github.com/heraldhq/herald/webhook"
)

func (u *UI) webhookRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"/webhooks", u.authed(u.listWebhooks))
	mux.HandleFunc("GET "+Prefix+"/webhooks/new", u.authed(u.newWebhook))
	mux.HandleFunc("POST "+Prefix+"/webhooks/new", u.authed(u.saveWebhook))
	mux.HandleFunc("GET "+Prefix+"/webhooks/{id}", u.authed(u.showWebhook))
	mux.HandleFunc("GET "+Prefix+"/webhooks/{id}/activity", u.authed(u.webhookActivity))
	mux.HandleFunc("GET "+Prefix+"/webhooks/{id}/edit", u.authed(u.editWebhook))
	mux.HandleFunc("POST "+Prefix+"/webhooks/{id}/edit", u.authed(u.saveWebhook))
	mux.HandleFunc("GET "+Prefix+"/webhooks/{id}/delete", u.authed(u.confirmDeleteWebhook))
	mux.HandleFunc("POST "+Prefix+"/webhooks/{id}/delete", u.authed(u.deleteWebhook))
	mux.HandleFunc("POST "+Prefix+"/webhooks/{id}/status", u.authed(u.setWebhookStatus))
	mux.HandleFunc("POST "+Prefix+"/webhooks/{id}/rotate-secret", u.authed(u.rotateSecret))
	mux.HandleFunc("POST "+Prefix+"/webhooks/{id}/test", u.authed(u.testWebhook))
	mux.HandleFunc("POST "+Prefix+"/webhooks/{id}/replay", u.authed(u.replay))
	mux.HandleFunc("POST "+Prefix+"/webhooks/{id}/recover", u.authed(u.recoverFailed))
	mux.HandleFunc("POST "+Prefix+"/webhooks/{id}/retry", u.authed(u.retryAll))
	mux.HandleFunc("GET "+Prefix+"/deliveries/{id}", u.authed(u.showDelivery))
	mux.HandleFunc("GET "+Prefix+"/event-types", u.authed(u.listEventTypes))
	mux.HandleFunc("POST "+Prefix+"/deliveries/{id}/retry", u.authed(u.retryDelivery))
}

func webhookPath(id string) string { return Prefix + "/webhooks/" + url.PathEscape(id) }

// workspace is the signed-in session's workspace.
func workspace(r *http.Request) string { return sessionOf(r).Key.WorkspaceID }

func (u *UI) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	hooks, err := u.Services.Webhooks.List(r.Context(), workspace(r))
	if err != nil {
		return err
	}
	u.render(w, r, http.StatusOK, "webhooks", page{Title: "Webhooks", Nav: "webhooks", Data: hooks})
	return nil
}

// webhookForm is the create and edit form: the webhook's fields and its
// event filter as object × action rows, as Twenty's settings page has.
type webhookForm struct {
	// ID is empty when creating.
	ID            string
	TargetURL     string
	Description   string
	PayloadFormat string
	// Headers are the custom headers, a "Name: value" a line (values
	// masked when editing).
	Headers string
	// Fields (comma-separated) and Condition limit what is sent.
	Fields, Condition string
	// ThrottleRate is the most requests a second, empty for no limit.
	ThrottleRate string
	Rows         []filterRow
	// Objects and Actions are the rows' choices, from the workspace's
	// event types (custom objects and events included).
	Objects, Actions []string
	// Error is the API's refusal; Field names the input it is about.
	Error, Field string
}

type filterRow struct{ Object, Action string }

// choices fills the form's object and action lists from the event
// types the workspace can emit, plus whatever its rows already hold.
func (u *UI) choices(r *http.Request, f *webhookForm) error {
	types, err := u.Services.Events.Types(r.Context(), workspace(r))
	if err != nil {
		return err
	}
	objects, actions := []string{}, []string{}
	for _, name := range types {
		if o, a, ok := herald.CutEventName(name); ok {
			objects, actions = append(objects, o), append(actions, a)
		}
	}
	for _, row := range f.Rows {
		objects, actions = append(objects, row.Object), append(actions, row.Action)
	}
	f.Objects, f.Actions = sortedChoices(objects), sortedChoices(actions)
	return nil
}

// sortedChoices dedups a choice list, "*" (any) first.
func sortedChoices(list []string) []string {
	list = append(list, "*")
	slices.SortFunc(list, func(a, b string) int {
		if (a == "*") != (b == "*") {
			if a == "*" {
				return -1
			}
			return 1
		}
		return cmp.Compare(a, b)
	})
	return slices.Compact(list)
}

func rowsOf(ops []string) []filterRow {
	rows := make([]filterRow, 0, len(ops))
	for _, op := range ops {
		if o, a, ok := herald.CutEventName(op); ok {
			rows = append(rows, filterRow{o, a})
		}
	}
	return rows
}

func (u *UI) newWebhook(w http.ResponseWriter, r *http.Request) error {
	f := &webhookForm{PayloadFormat: herald.PayloadHerald, Rows: []filterRow{{"*", "*"}}}
	return u.renderForm(w, r, http.StatusOK, f)
}

func (u *UI) editWebhook(w http.ResponseWriter, r *http.Request) error {
	hook, err := u.Services.Webhooks.Find(r.Context(), workspace(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	f := &webhookForm{ID: hook.ID, TargetURL: hook.TargetURL, Description: hook.Description, PayloadFormat: hook.PayloadFormat,
		Rows: rowsOf(hook.Operations), Headers: formatHeaders(webhook.Masked(hook.Headers)),
		Fields: strings.Join(hook.Fields, ", "), Condition: hook.Condition}
	if hook.ThrottleRate > 0 {
		f.ThrottleRate = strconv.Itoa(hook.ThrottleRate)
	}
	return u.renderForm(w, r, http.StatusOK, f)
}

func (u *UI) renderForm(w http.ResponseWriter, r *http.Request, status int, f *webhookForm) error {
	if err := u.choices(r, f); err != nil {
		return err
	}
	title := "Create webhook"
	if f.ID != "" {
		title = "Edit webhook"
	}
	u.render(w, r, status, "webhook-form", page{Title: title, Nav: "webhooks", Data: f})
	return nil
}

// saveWebhook handles the form's buttons: add or remove a filter row
// (the form comes back with the change, nothing saved), or save.
func (u *UI) saveWebhook(w http.ResponseWriter, r *http.Request) error {
	f := &webhookForm{
		ID:            r.PathValue("id"),
		TargetURL:     strings.TrimSpace(r.PostFormValue("targetUrl")),
		Description:   r.PostFormValue("description"),
		PayloadFormat: r.PostFormValue("payloadFormat"),
		Headers:       r.PostFormValue("headers"),
		Fields:        r.PostFormValue("fields"),
		Condition:     strings.TrimSpace(r.PostFormValue("condition")),
		ThrottleRate:  strings.TrimSpace(r.PostFormValue("throttleRate")),
	}
	objects, actions := r.PostForm["object"], r.PostForm["action"]
	for i := range min(len(objects), len(actions)) {
		f.Rows = append(f.Rows, filterRow{objects[i], actions[i]})
	}
	intent := r.PostFormValue("intent")
	switch {
	case intent == "add-row":
		f.Rows = append(f.Rows, filterRow{"*", "*"})
		return u.renderForm(w, r, http.StatusOK, f)
	case strings.HasPrefix(intent, "remove-row-"):
		if i, err := strconv.Atoi(strings.TrimPrefix(intent, "remove-row-")); err == nil && i >= 0 && i < len(f.Rows) {
			f.Rows = slices.Delete(f.Rows, i, i+1)
		}
		return u.renderForm(w, r, http.StatusOK, f)
	}

	ops := []string{}
	for _, row := range f.Rows {
		ops = append(ops, row.Object+"."+row.Action)
	}
	if len(ops) == 0 {
		f.Error, f.Field = "Add at least one event filter row; object “All objects” and action “All actions” sends every event.", "operations"
		return u.renderForm(w, r, http.StatusUnprocessableEntity, f)
	}
	slices.Sort(ops)
	ops = slices.Compact(ops)
	in := service.WebhookInput{TargetURL: &f.TargetURL, Description: &f.Description, Operations: &ops}
	if _, given := r.PostForm["fields"]; given {
		fields := []string{}
		for _, name := range strings.Split(f.Fields, ",") {
			if name = strings.TrimSpace(name); name != "" {
				fields = append(fields, name)
			}
		}
		in.Fields = &fields
	}
	if _, given := r.PostForm["condition"]; given {
		in.Condition = &f.Condition
	}
	if _, given := r.PostForm["throttleRate"]; given {
		rate := 0
		if f.ThrottleRate != "" {
			var err error
			if rate, err = strconv.Atoi(f.ThrottleRate); err != nil {
				f.Error, f.Field = "The rate limit must be a whole number of requests a second, or empty for no limit.", "throttleRate"
				return u.renderForm(w, r, http.StatusUnprocessableEntity, f)
			}
		}
		in.ThrottleRate = &rate
	}
	if _, given := r.PostForm["headers"]; given {
		headers, err := parseHeaders(f.Headers)
		if err != nil {
			f.Error, f.Field = herald.ErrorMessage(err), "headers"
			return u.renderForm(w, r, http.StatusUnprocessableEntity, f)
		}
		in.Headers = &headers
	}
	if f.PayloadFormat != "" {
		in.PayloadFormat = &f.PayloadFormat
	}
	var saved *herald.Webhook
	var warnings []string
	var err error
	outcome := "created"
	if f.ID == "" {
		saved, warnings, err = u.Services.Webhooks.Create(r.Context(), workspace(r), in)
	} else {
		outcome = "updated"
		saved, warnings, err = u.Services.Webhooks.Update(r.Context(), workspace(r), f.ID, in)
	}
	if err != nil {
		if f.Error, f.Field = refusal(err); f.Error != "" {
			return u.renderForm(w, r, http.StatusUnprocessableEntity, f)
		}
		return err
	}
	if len(warnings) > 0 {
		http.Redirect(w, r, done(webhookPath(saved.ID), outcome+"-warning", "detail", strings.Join(warnings, "; ")), http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, done(webhookPath(saved.ID), outcome), http.StatusSeeOther)
	return nil
}

// parseHeaders reads the form's headers, a "Name: value" a line; blank
// lines are skipped.
func parseHeaders(text string) (map[string]string, error) {
	out := map[string]string{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, herald.FieldErrorf("headers", "Line %d of the headers is not “Name: value”.", i+1)
		}
		out[strings.TrimSpace(name)] = strings.TrimSpace(value)
	}
	return out, nil
}

// formatHeaders writes headers as the form shows them, sorted by name.
func formatHeaders(h map[string]string) string {
	lines := make([]string, 0, len(h))
	for name, value := range h {
		lines = append(lines, name+": "+value)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// webhookPage is a webhook with its recent activity.
type webhookPage struct {
	Hook service.Webhook
	// PreviousSecretUntil is set while a rotated-out secret still signs.
	PreviousSecretUntil *time.Time
	Activity            *activity
	// ReplayDefault is the replay form's preset time, an hour ago.
	ReplayDefault string
}

func (u *UI) showWebhook(w http.ResponseWriter, r *http.Request) error {
	hook, err := u.Services.Webhooks.Find(r.Context(), workspace(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	act, err := u.activity(r, hook.ID)
	if err != nil {
		return err
	}
	p := webhookPage{Hook: hook, Activity: act, ReplayDefault: time.Now().UTC().Add(-time.Hour).Format(datetimeLocal)}
	if len(hook.Secrets(time.Now())) > 1 {
		p.PreviousSecretUntil = hook.PreviousSecretExpiresAt
	}
	u.render(w, r, http.StatusOK, "webhook", page{Title: hook.TargetURL, Nav: "webhooks", Data: p})
	return nil
}

// webhookActivity is the chart and log alone, which htmx polls.
func (u *UI) webhookActivity(w http.ResponseWriter, r *http.Request) error {
	act, err := u.activity(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	u.renderBlock(w, r, "webhook", "activity", act)
	return nil
}

func (u *UI) confirmDeleteWebhook(w http.ResponseWriter, r *http.Request) error {
	hook, err := u.Services.Webhooks.Find(r.Context(), workspace(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	u.render(w, r, http.StatusOK, "confirm", page{Title: "Delete webhook", Nav: "webhooks", Data: confirmation{
		Question: "Delete the webhook to " + hook.TargetURL + "?",
		Detail:   "Its delivery log goes with it, and deliveries still waiting are dropped. Events from now on are not sent to this URL. This cannot be undone.",
		Action:   webhookPath(hook.ID) + "/delete", Button: "Delete webhook", Cancel: webhookPath(hook.ID),
	}})
	return nil
}

// confirmation asks before something that cannot be undone.
type confirmation struct {
	Question, Detail, Action, Button, Cancel string
}

func (u *UI) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := u.Services.Webhooks.Delete(r.Context(), workspace(r), r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, done(Prefix+"/webhooks", "deleted"), http.StatusSeeOther)
	return nil
}

func (u *UI) setWebhookStatus(w http.ResponseWriter, r *http.Request) error {
	id, status := r.PathValue("id"), r.PostFormValue("status")
	if _, _, err := u.Services.Webhooks.Update(r.Context(), workspace(r), id, service.WebhookInput{Status: &status}); err != nil {
		return err
	}
	outcome := "enabled"
	if status == herald.WebhookDisabled {
		outcome = "disabled"
	}
	http.Redirect(w, r, done(webhookPath(id), outcome), http.StatusSeeOther)
	return nil
}

func (u *UI) rotateSecret(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	hook, err := u.Services.Webhooks.RotateSecret(r.Context(), workspace(r), id, nil)
	if err != nil {
		return err
	}
	http.Redirect(w, r, done(webhookPath(id), "rotated", "detail", when(hook.PreviousSecretExpiresAt)), http.StatusSeeOther)
	return nil
}

func (u *UI) testWebhook(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	res, err := u.Services.Webhooks.Test(r.Context(), workspace(r), id)
	if err != nil {
		return err
	}
	a := &res.Outcome.Attempt
	http.Redirect(w, r, done(webhookPath(id), "tested", "detail", describeAttempt(a), "delivery", res.DeliveryID, "failed", strconv.FormatBool(!a.Succeeded())), http.StatusSeeOther)
	return nil
}

// datetimeLocal is the format of an <input type="datetime-local">.
const datetimeLocal = "2006-01-02T15:04"

func (u *UI) replay(w http.ResponseWriter, r *http.Request) error {
	return u.sendAgain(w, r, u.Services.Webhooks.Replay, "replayed")
}

func (u *UI) recoverFailed(w http.ResponseWriter, r *http.Request) error {
	return u.sendAgain(w, r, u.Services.Webhooks.Recover, "recovered")
}

// retryAll sends again every delivery the log's status filter shows, and
// comes back to that filter.
func (u *UI) retryAll(w http.ResponseWriter, r *http.Request) error {
	id, status := r.PathValue("id"), r.PostFormValue("status")
	n, err := u.Services.Deliveries.RetryAll(r.Context(), workspace(r), id, status, "")
	if err != nil {
		return err
	}
	http.Redirect(w, r, done(webhookPath(id), "retried-all", "detail", strconv.Itoa(n), "status", status), http.StatusSeeOther)
	return nil
}

// sendAgain runs a replay or a recovery from the form's time and says how
// many deliveries it queued.
func (u *UI) sendAgain(w http.ResponseWriter, r *http.Request, run func(ctx context.Context, workspaceID, id string, since time.Time) (int, error), outcome string) error {
	id := r.PathValue("id")
	since, err := time.Parse(datetimeLocal, r.PostFormValue("since"))
	if err != nil {
		return herald.FieldErrorf("since", "Pick the time to send again from (UTC), e.g. 2025-02-10 15:30.")
	}
	n, err := run(r.Context(), workspace(r), id, since)
	if err != nil {
		return err
	}
	http.Redirect(w, r, done(webhookPath(id), outcome, "detail", strconv.Itoa(n)), http.StatusSeeOther)
	return nil
}
