package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/catalog"
)

// The OpenAPI 3 document is built from the registered routes and the
// workspace's objects, so records of custom objects are documented with
// their own fields, as Twenty's /rest/open-api does. Each route's
// description lives in opDocs below; a test checks that the two agree.

// doc is a JSON object of the document.
type doc = map[string]any

// opDoc describes one route.
type opDoc struct {
	summary string
	tag     string
	query   []param
	// body is the request body's schema (nil: none); bodyOptional says
	// it may be left out.
	body         func(o *herald.Object) doc
	bodyOptional bool
	status       int
	// resp is the success response's schema; nil for non-JSON answers.
	resp   func(o *herald.Object) doc
	public bool
}

type param struct{ name, typ, desc string }

func ref(name string) doc { return doc{"$ref": "#/components/schemas/" + name} }

func static(d doc) func(*herald.Object) doc { return func(*herald.Object) doc { return d } }

// data wraps v in the API's {"data": {key: v}} envelope.
func data(key string, v doc) doc {
	return obj(doc{"data": obj(doc{key: v})})
}

// withWarningsDoc adds the warnings a save may carry: a target whose name
// does not resolve yet is saved, and the caller told.
func withWarningsDoc(d doc) doc {
	d["properties"].(doc)["warnings"] = doc{"type": "array", "items": str(""),
		"description": "Present when the webhook was saved with something to note, such as a targetUrl whose host does not resolve yet"}
	return d
}

func obj(props doc, required ...string) doc {
	d := doc{"type": "object", "properties": props}
	if len(required) > 0 {
		d["required"] = required
	}
	return d
}

func arr(items doc) doc { return doc{"type": "array", "items": items} }

func str(format string) doc {
	if format == "" {
		return doc{"type": "string"}
	}
	return doc{"type": "string", "format": format}
}

var pageInfo = obj(doc{
	"hasNextPage": doc{"type": "boolean"}, "hasPreviousPage": doc{"type": "boolean"},
	"startCursor": nullable(str("")), "endCursor": nullable(str("")),
})

func nullable(d doc) doc {
	out := doc{"nullable": true}
	for k, v := range d {
		out[k] = v
	}
	return out
}

var (
	limitParam = param{"limit", "integer", "Page size, default 60; past 200 it is 200."}
	depthParam = param{"depth", "integer", "0 (default): relations as ids; 1: each relation's record nested under its name (companyId's as company); 2: theirs too."}
)

func recordData(prefix string, plural bool) func(o *herald.Object) doc {
	return func(o *herald.Object) doc {
		if plural {
			return data(prefix+capitalize(o.NamePlural), arr(ref(schemaName(o))))
		}
		return data(prefix+capitalize(o.NameSingular), ref(schemaName(o)))
	}
}

// opDocs documents every route, keyed by its ServeMux pattern. The two
// webhook prefixes share their entries.
var opDocs = map[string]opDoc{
	"GET /healthz":       {summary: "Liveness: the process answers", tag: "Operations", public: true, status: 200, resp: static(obj(doc{"status": str("")}))},
	"GET /readyz":        {summary: "Readiness: the database answers", tag: "Operations", public: true, status: 200, resp: static(obj(doc{"status": str("")}))},
	"GET /metrics":       {summary: "Prometheus metrics (text format)", tag: "Operations", public: true, status: 200},
	"GET /rest/open-api": {summary: "This document; with an API key it includes the workspace's custom objects", tag: "Operations", public: true, status: 200, resp: static(doc{"type": "object"})},
	"GET {wh}":           {summary: "List webhooks with their delivery health", tag: "Webhooks", status: 200, resp: static(obj(doc{"data": obj(doc{"webhooks": arr(ref("Webhook"))}), "pageInfo": pageInfo, "totalCount": doc{"type": "integer"}}))},
	"POST {wh}":          {summary: "Create a webhook; active at once", tag: "Webhooks", body: static(ref("WebhookInput")), status: 201, resp: static(withWarningsDoc(data("createWebhook", ref("Webhook"))))},
	"GET {wh}/event-types": {summary: "Every event name the workspace can emit; with include=catalog, each with its body's JSON Schema and an example in both payload formats", tag: "Webhooks",
		query: []param{{"include", "string", "catalog: add the catalog"}, {"name", "string", "One event type's catalog entry alone"}}, status: 200,
		resp: static(obj(doc{"data": obj(doc{"eventTypes": arr(str("")), "catalog": arr(obj(doc{
			"name": str(""), "description": str(""),
			"schemas":  obj(doc{"herald": doc{"type": "object"}, "twenty": doc{"type": "object"}}, "herald", "twenty"),
			"examples": obj(doc{"herald": doc{"type": "object"}, "twenty": doc{"type": "object"}}, "herald", "twenty"),
		}, "name", "description", "schemas", "examples"))}, "eventTypes")}))},
	"GET {wh}/{id}":                {summary: "Get a webhook with its delivery health", tag: "Webhooks", status: 200, resp: static(data("webhook", ref("Webhook")))},
	"PATCH {wh}/{id}":              {summary: "Change a webhook; status active re-enables it", tag: "Webhooks", body: static(ref("WebhookInput")), status: 200, resp: static(withWarningsDoc(data("updateWebhook", ref("Webhook"))))},
	"DELETE {wh}/{id}":             {summary: "Delete a webhook with its delivery log", tag: "Webhooks", status: 200, resp: static(data("deleteWebhook", obj(doc{"id": str("uuid")})))},
	"POST {wh}/{id}/test":          {summary: "Send a webhook.test event now and return the attempt", tag: "Webhooks", status: 200, resp: static(data("testWebhook", obj(doc{"deliveryId": str(""), "eventId": str(""), "status": str(""), "attempt": ref("Attempt")})))},
	"POST {wh}/{id}/rotate-secret": {summary: "Replace the secret; the old one keeps signing for the overlap (default 24h)", tag: "Webhooks", body: static(obj(doc{"secret": str("")})), bodyOptional: true, status: 200, resp: static(data("rotateWebhookSecret", ref("Webhook")))},
	"POST {wh}/{id}/recover":       {summary: "Send again every delivery that ended failed since a time, and nothing that succeeded", tag: "Webhooks", body: static(obj(doc{"since": str("date-time")}, "since")), status: 200, resp: static(data("recoverWebhook", obj(doc{"webhookId": str("uuid"), "since": str("date-time"), "recovered": doc{"type": "integer"}})))},
	"POST {wh}/{id}/deliveries/retry": {summary: "Send again every finished delivery the log's filters select (status, event); none that is pending", tag: "Webhooks",
		body: static(obj(doc{"status": doc{"type": "string", "enum": []string{"failed", "delivered", "skipped"}}, "event": str("")})), status: 200,
		resp: static(data("retryDeliveries", obj(doc{"webhookId": str("uuid"), "status": str(""), "event": str(""), "retried": doc{"type": "integer"}})))},
	"POST {wh}/{id}/replay": {summary: "Send again every matching event since a time", tag: "Webhooks", body: static(obj(doc{"since": str("date-time")}, "since")), status: 200, resp: static(data("replayWebhook", obj(doc{"webhookId": str("uuid"), "since": str("date-time"), "replayed": doc{"type": "integer"}})))},
	"GET {wh}/{id}/deliveries": {summary: "A webhook's deliveries, newest first", tag: "Deliveries",
		query:  []param{{"status", "string", "pending, delivered, failed or skipped"}, {"event", "string", "Event name, e.g. person.created"}, limitParam, {"starting_after", "string", "endCursor of the previous page"}},
		status: 200, resp: static(obj(doc{"data": obj(doc{"deliveries": arr(ref("Delivery"))}), "pageInfo": pageInfo}))},
	"GET {wh}/{id}/stats": {summary: "Attempts and failures over time, in buckets aligned to their width", tag: "Deliveries",
		query:  []param{{"window", "string", "How far back, e.g. 24h (default)"}, {"bucket", "string", "Bucket width, e.g. 1h (default) or 15m"}},
		status: 200, resp: static(data("webhookStats", obj(doc{"webhookId": str("uuid"), "window": str(""), "bucket": str(""), "buckets": arr(obj(doc{
			"start": str("date-time"), "attempts": doc{"type": "integer"}, "succeeded": doc{"type": "integer"}, "failed": doc{"type": "integer"},
		}))})))},
	"GET /rest/api-keys":               {summary: "List the workspace's API keys, revoked ones too", tag: "API keys", status: 200, resp: static(obj(doc{"data": obj(doc{"apiKeys": arr(ref("APIKey"))}), "totalCount": doc{"type": "integer"}}))},
	"POST /rest/api-keys":              {summary: "Create an API key; the key is in this answer only", tag: "API keys", body: static(obj(doc{"name": str("")}, "name")), status: 201, resp: static(data("createApiKey", ref("APIKey")))},
	"DELETE /rest/api-keys/{id}":       {summary: "Revoke an API key (not the one making the request)", tag: "API keys", status: 200, resp: static(data("revokeApiKey", obj(doc{"id": str("uuid")})))},
	"GET /rest/deliveries/{id}":        {summary: "A delivery with its request body and every attempt", tag: "Deliveries", status: 200, resp: static(data("delivery", ref("DeliveryDetail")))},
	"POST /rest/deliveries/{id}/retry": {summary: "Make a delivery due now, whatever its status", tag: "Deliveries", status: 202, resp: static(data("retryDelivery", ref("Delivery")))},
	"GET /rest/metadata/objects":       {summary: "List objects, standard and custom", tag: "Metadata", status: 200, resp: static(obj(doc{"data": obj(doc{"objects": arr(ref("Object"))}), "pageInfo": pageInfo, "totalCount": doc{"type": "integer"}}))},
	"POST /rest/metadata/objects":      {summary: "Create a custom object (emits metadata.object.created)", tag: "Metadata", body: static(ref("ObjectInput")), status: 201, resp: static(data("createOneObject", ref("Object")))},
	"GET /rest/metadata/objects/{id}":  {summary: "Get an object by id or name", tag: "Metadata", status: 200, resp: static(data("object", ref("Object")))},
	"PATCH /rest/metadata/objects/{id}": {summary: "Change a custom object's labels, description or fields (fields replaces the list)", tag: "Metadata",
		body: static(ref("ObjectInput")), status: 200, resp: static(data("updateOneObject", ref("Object")))},
	"DELETE /rest/metadata/objects/{id}": {summary: "Delete a custom object", tag: "Metadata",
		query:  []param{{"withRecords", "boolean", "Delete its records too; without it, an object with records is not deleted (409)"}},
		status: 200, resp: static(data("deleteOneObject", obj(doc{"id": str("uuid")})))},
	"POST /rest/events": {summary: "Publish a custom event, delivered like record events", tag: "Events", body: static(ref("EventInput")), status: 201,
		resp: static(data("publishEvent", obj(doc{"id": str(""), "event": str(""), "timestamp": str("date-time"), "data": doc{"type": "object"}})))},
	"GET /rest/{plural}": {summary: "List records", tag: "Records",
		query: []param{limitParam, {"starting_after", "string", "Cursor: records after it"}, {"ending_before", "string", "Cursor: records before it"},
			{"filter", "string", "Twenty's filter syntax, e.g. city[eq]:Paris,or(age[gte]:18,vip[eq]:true)"}, {"order_by", "string", "e.g. createdAt[DescNullsLast]"}, depthParam},
		status: 200, resp: func(o *herald.Object) doc {
			return obj(doc{"data": obj(doc{o.NamePlural: arr(ref(schemaName(o)))}), "pageInfo": pageInfo, "totalCount": doc{"type": "integer"}})
		}},
	"POST /rest/{plural}": {summary: "Create a record", tag: "Records", body: inputRef, status: 201, resp: recordData("create", false),
		query: []param{{"upsert", "boolean", "true: a record with the body's id is updated with the other fields instead (the answer is a creation's, as Twenty's)"}}},
	"POST /rest/batch/{plural}": {summary: "Create up to 60 records at once, all or none", tag: "Records", body: func(o *herald.Object) doc { return arr(inputRef(o)) }, status: 201, resp: recordData("create", true)},
	"GET /rest/{plural}/{id}":   {summary: "Get a record", tag: "Records", query: []param{depthParam}, status: 200, resp: func(o *herald.Object) doc { return data(o.NameSingular, ref(schemaName(o))) }},
	"PATCH /rest/{plural}/{id}": {summary: "Change a record's fields", tag: "Records", body: inputRef, status: 200, resp: recordData("update", false)},
	"PUT /rest/{plural}/{id}":   {summary: "Change a record's fields (an older alias of PATCH, as in Twenty)", tag: "Records", body: inputRef, status: 200, resp: recordData("update", false)},
	"DELETE /rest/{plural}/{id}": {summary: "Delete a record (soft unless soft_delete=false)", tag: "Records", query: []param{{"soft_delete", "boolean", "false destroys the record for good"}}, status: 200, resp: func(o *herald.Object) doc {
		return data("delete"+capitalize(o.NameSingular), obj(doc{"id": str("uuid")}))
	}},
	"PATCH /rest/restore/{plural}/{id}": {summary: "Restore a soft-deleted record", tag: "Records", status: 200, resp: recordData("restore", false)},
}

func inputRef(o *herald.Object) doc { return ref(schemaName(o) + "Input") }

// webhookPrefixes are the two paths webhooks are served at.
var webhookPrefixes = []string{"/rest/webhooks", "/rest/metadata/webhooks"}

// docKey maps a route pattern to its opDocs key.
func docKey(pattern string) string {
	method, path, _ := strings.Cut(pattern, " ")
	for _, p := range webhookPrefixes {
		if rest, ok := strings.CutPrefix(path, p); ok && (rest == "" || rest[0] == '/') {
			return method + " {wh}" + rest
		}
	}
	return pattern
}

func schemaName(o *herald.Object) string { return capitalize(o.NameSingular) }

// openAPI serves the document: standard objects for anyone, the caller's
// custom objects too when the request carries an API key.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	k, err := s.authenticate(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	objs := herald.StandardObjects()
	if k != nil {
		if objs, err = s.Services.Objects.List(r.Context(), k.WorkspaceID); err != nil {
			s.error(w, r, err)
			return
		}
	}
	var events []catalog.Entry
	if k != nil {
		events, err = s.Services.Events.Catalog(r.Context(), k.WorkspaceID)
	} else {
		events = catalog.Build(anonymousWorkspace, objs, nil)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.OpenAPI(r.Context(), objs, events))
}

// anonymousWorkspace is the workspace id of the examples in the document
// served without an API key.
const anonymousWorkspace = "00000000-0000-4000-8000-000000000000"

// OpenAPI returns the OpenAPI 3.1 document of the API with objs' records,
// and in its webhooks every event of events: the requests Herald makes.
func (s *Server) OpenAPI(_ context.Context, objs []*herald.Object, events []catalog.Entry) doc {
	paths := doc{}
	for _, pattern := range s.patterns {
		method, path, _ := strings.Cut(pattern, " ")
		od, ok := opDocs[docKey(pattern)]
		if !ok {
			continue // the test reports it
		}
		if !strings.Contains(path, "{plural}") {
			addOp(paths, path, method, od, nil)
			continue
		}
		for _, o := range objs {
			addOp(paths, strings.Replace(path, "{plural}", o.NamePlural, 1), method, od, o)
		}
	}
	schemas := baseSchemas()
	for _, o := range objs {
		schemas[schemaName(o)], schemas[schemaName(o)+"Input"] = recordSchemas(o)
	}
	d := doc{
		"openapi": "3.1.0",
		"info": doc{
			"title": "Herald API", "version": s.Version,
			"description": "A headless CRM core whose every change is delivered as a signed webhook. " +
				"Errors are Twenty's {statusCode, error, messages}, with Herald's code and the field at fault beside them. " +
				"The webhooks section documents every request Herald sends, in both payload formats.",
		},
		"servers":    []doc{{"url": "/"}},
		"security":   []doc{{"bearerAuth": []string{}}},
		"paths":      paths,
		"components": doc{"schemas": schemas, "securitySchemes": doc{"bearerAuth": doc{"type": "http", "scheme": "bearer", "description": "An API key of the workspace"}}},
	}
	jsonSchema2020(d)
	d["webhooks"] = webhooksDoc(events)
	return d
}

// webhooksDoc documents each event as the request Herald sends: its body
// in either payload format (the webhook's payloadFormat picks), with an
// example of each.
func webhooksDoc(events []catalog.Entry) doc {
	out := doc{}
	for _, e := range events {
		examples := doc{}
		var bodies []any
		for _, f := range catalog.Formats {
			bodies = append(bodies, e.Schemas[f])
			examples[f] = doc{"summary": "payloadFormat " + f, "value": json.RawMessage(e.Examples[f])}
		}
		out[e.Name] = doc{"post": doc{
			"summary": e.Name, "description": e.Description + " Signed as DESIGN.md §5 says: webhook-id, webhook-timestamp, webhook-signature and X-Twenty-Webhook-* headers.",
			"operationId": "event" + operationID("", strings.ReplaceAll(e.Name, ".", "/")),
			"tags":        []string{"Events"},
			"requestBody": doc{"required": true, "content": doc{"application/json": doc{"schema": doc{"oneOf": bodies}, "examples": examples}}},
			"responses":   doc{"2XX": doc{"description": "Any 2xx within the timeout acknowledges the delivery; anything else is retried"}},
			"security":    []doc{},
		}}
	}
	return out
}

// jsonSchema2020 rewrites OpenAPI 3.0's nullable into the JSON Schema
// 2020-12 that OpenAPI 3.1 speaks: a type list with "null", or anyOf for
// a reference.
func jsonSchema2020(v any) {
	switch v := v.(type) {
	case doc:
		if v["nullable"] == true {
			delete(v, "nullable")
			switch t := v["type"].(type) {
			case string:
				v["type"] = []string{t, "null"}
			case nil:
				if ref, ok := v["$ref"]; ok {
					delete(v, "$ref")
					v["anyOf"] = []any{doc{"$ref": ref}, doc{"type": "null"}}
				}
			}
		}
		for _, child := range v {
			jsonSchema2020(child)
		}
	case []any:
		for _, child := range v {
			jsonSchema2020(child)
		}
	case []doc:
		for _, child := range v {
			jsonSchema2020(child)
		}
	}
}

func addOp(paths doc, path, method string, od opDoc, o *herald.Object) {
	item, _ := paths[path].(doc)
	if item == nil {
		item = doc{}
		paths[path] = item
	}
	tag := od.tag
	summary := od.summary
	if o != nil {
		tag = o.LabelPlural
		summary += " (" + o.NameSingular + ")"
	}
	op := doc{"summary": summary, "tags": []string{tag}, "operationId": operationID(method, path)}
	var params []doc
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") {
			params = append(params, doc{"name": strings.Trim(seg, "{}"), "in": "path", "required": true, "schema": str("")})
		}
	}
	for _, q := range od.query {
		params = append(params, doc{"name": q.name, "in": "query", "description": q.desc, "schema": doc{"type": q.typ}})
	}
	if params != nil {
		op["parameters"] = params
	}
	if od.body != nil {
		op["requestBody"] = doc{"required": !od.bodyOptional, "content": doc{"application/json": doc{"schema": od.body(o)}}}
	}
	ok := doc{"description": http.StatusText(od.status)}
	if od.resp != nil {
		ok["content"] = doc{"application/json": doc{"schema": od.resp(o)}}
	} else {
		ok["content"] = doc{"text/plain": doc{"schema": str("")}}
	}
	responses := doc{fmt.Sprint(od.status): ok}
	if od.public {
		op["security"] = []doc{}
	} else {
		responses["401"] = errorResponse("No API key, or a wrong one")
	}
	responses["default"] = errorResponse("Any error: 400 bad input, 404, 409, 413, 422, ...")
	op["responses"] = responses
	item[strings.ToLower(method)] = op
}

func errorResponse(desc string) doc {
	return doc{"description": desc, "content": doc{"application/json": doc{"schema": ref("Error")}}}
}

// operationID names an operation from its method and concrete path, e.g.
// GET /rest/people/{id} → getRestPeopleId.
func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, seg := range strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == '-' || r == '{' || r == '}' }) {
		b.WriteString(capitalize(seg))
	}
	return b.String()
}

// fieldSchema is the JSON schema of a field's value.
func fieldSchema(f herald.Field) doc {
	var d doc
	switch f.Type {
	case herald.FieldNumber:
		d = doc{"type": "number"}
	case herald.FieldBoolean:
		d = doc{"type": "boolean"}
	case herald.FieldDateTime:
		d = str("date-time")
	case herald.FieldRelation, herald.FieldUUID:
		d = str("uuid")
	case herald.FieldSelect:
		d = doc{"type": "string", "enum": append(append([]any{}, toAny(f.Options)...), nil)}
	case herald.FieldMultiSelect:
		d = doc{"type": "array", "items": doc{"type": "string", "enum": toAny(f.Options)}}
	case herald.FieldRating:
		d = doc{"type": "string", "enum": append(toAny(herald.RatingValues), nil)}
	default:
		if subs := herald.CompositeFields(f.Type); subs != nil {
			return compositeSchema(f, subs)
		}
		d = str("")
	}
	d["nullable"] = true
	if f.Description != "" {
		d["description"] = f.Description
	} else if f.Target != "" {
		d["description"] = "id of a " + f.Target
	}
	return d
}

// compositeSchema is the schema of a composite field: an object of its
// sub-fields, each optional in input.
func compositeSchema(f herald.Field, subs []herald.SubField) doc {
	props := doc{}
	for _, sub := range subs {
		switch sub.Type {
		case herald.FieldNumber:
			props[sub.Name] = doc{"type": "number", "nullable": true}
		case herald.FieldRawJSON:
			props[sub.Name] = doc{"type": []string{"array", "object", "null"}, "description": "a list (an object for context)"}
		case herald.FieldUUID:
			props[sub.Name] = doc{"type": "string", "format": "uuid", "nullable": true}
		default:
			props[sub.Name] = doc{"type": "string"}
		}
	}
	d := doc{"type": "object", "properties": props, "description": "A " + string(f.Type) + " value: an update changes the sub-fields it gives"}
	if f.Description != "" {
		d["description"] = f.Description
	}
	return d
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// recordSchemas returns the schema of o's records and of their input.
func recordSchemas(o *herald.Object) (rec, input doc) {
	props := doc{"id": str("uuid")}
	in := doc{"id": doc{"type": "string", "format": "uuid", "description": "Optional on create: the record's id"}}
	for _, f := range o.Fields {
		props[f.Name] = fieldSchema(f)
		in[f.Name] = fieldSchema(f)
	}
	props["createdAt"], props["updatedAt"] = str("date-time"), str("date-time")
	props["deletedAt"] = nullable(str("date-time"))
	props["createdBy"] = compositeSchema(herald.Field{Name: "createdBy", Type: herald.FieldActor, Description: "Who made the record: source API, and the name of the API key"},
		herald.CompositeFields(herald.FieldActor))
	rec = obj(props, "id", "createdAt", "updatedAt", "deletedAt", "createdBy")
	rec["description"] = o.Description
	input = obj(in)
	input["additionalProperties"] = false
	return rec, input
}

func baseSchemas() doc {
	fieldTypes := make([]any, len(herald.FieldTypes))
	for i, t := range herald.FieldTypes {
		fieldTypes[i] = string(t)
	}
	field := obj(doc{
		"name": str(""), "type": doc{"type": "string", "enum": fieldTypes, "description": "Also accepted: text, number, boolean, date-time, email, url, select, relation"},
		"label": str(""), "description": str(""), "options": arr(str("")), "defaultValue": str(""), "relationTarget": str(""),
	}, "name", "type")
	attempt := obj(doc{
		"number": doc{"type": "integer"}, "startedAt": str("date-time"), "statusCode": nullable(doc{"type": "integer"}),
		"latencyMs": doc{"type": "number"}, "error": str(""), "responseBody": str(""),
	})
	delivery := doc{
		"id": str(""), "webhookId": str("uuid"), "eventId": str(""), "event": str(""),
		"status":       doc{"type": "string", "enum": []string{"pending", "delivered", "failed", "skipped"}},
		"attemptCount": doc{"type": "integer"}, "nextAttemptAt": nullable(str("date-time")), "lastStatusCode": nullable(doc{"type": "integer"}),
		"lastError": str(""), "lastLatencyMs": doc{"type": "number"},
		"createdAt": str("date-time"), "updatedAt": str("date-time"), "completedAt": nullable(str("date-time")),
	}
	detail := doc{"payload": doc{"type": "object", "description": "The body Herald sends (DESIGN.md §5)"}, "attempts": arr(ref("Attempt"))}
	for k, v := range delivery {
		detail[k] = v
	}
	return doc{
		// Twenty's error shape; code and field are Herald's, kept beside it.
		"Error": obj(doc{"statusCode": doc{"type": "integer"}, "error": doc{"type": "string", "example": "BadRequestException"},
			"messages": arr(str("")), "code": doc{"type": "string", "example": "INVALID_ARGUMENT"}, "field": str("")},
			"statusCode", "error", "messages", "code"),
		"Webhook": obj(doc{
			"id": str("uuid"), "targetUrl": str("uri"), "operations": arr(str("")), "description": str(""),
			"secret": str(""), "status": doc{"type": "string", "enum": []string{"active", "disabled"}},
			"payloadFormat":  doc{"type": "string", "enum": []string{"herald", "twenty"}},
			"disabledReason": str(""), "disabledAt": nullable(str("date-time")), "previousSecretExpiresAt": str("date-time"),
			"health": obj(doc{
				"window": str(""), "attempts": doc{"type": "integer"}, "succeeded": doc{"type": "integer"},
				"successRate": nullable(doc{"type": "number"}), "pending": doc{"type": "integer"},
				"lastSuccessAt": nullable(str("date-time")), "lastFailureAt": nullable(str("date-time")),
				"lastError": str(""), "failingSince": nullable(str("date-time")),
			}),
			"headers": doc{"type": "object", "additionalProperties": str(""), "description": "Custom headers sent with every request; values are shown as ********"},
			"fields":  arr(str("")), "condition": str(""),
			"filteredEvents": doc{"type": "integer", "description": "Events that fields and condition left out"},
			"throttleRate":   nullable(doc{"type": "integer", "description": "The most requests a second the webhook is sent; null when not throttled"}),
			"createdAt":      str("date-time"), "updatedAt": str("date-time"),
		}),
		"WebhookInput": obj(doc{
			"targetUrl": str("uri"), "operations": arr(str("")), "description": str(""), "secret": str(""),
			"operation":     doc{"type": "string", "description": "Twenty's older single operation; the same as operations with one item"},
			"status":        doc{"type": "string", "enum": []string{"active", "disabled"}},
			"payloadFormat": doc{"type": "string", "enum": []string{"herald", "twenty"}},
			"headers": doc{"type": "object", "additionalProperties": str(""),
				"description": "Custom headers sent with every request, such as Authorization: they replace the webhook's; a value of ******** keeps the current one. At most 20; no hop-by-hop, framing or signature header"},
			"fields": doc{"type": "array", "items": str(""),
				"description": "Send only the updates that change one of these fields (other events are not limited); operations must name one object"},
			"condition": doc{"type": "string",
				"description": "Send only the events whose record passes this filter, in the filter syntax of GET /rest/{plural} (stage[eq]:CUSTOMER); on the state after the change, before it for deletes"},
			"throttleRate": doc{"type": "integer", "minimum": 0, "maximum": herald.MaxThrottleRate,
				"description": "Send at most this many requests a second; deliveries beyond it wait their turn, in order, and none is dropped. 0 removes the limit"},
		}),
		"APIKey": obj(doc{
			"id": str("uuid"), "name": str(""), "prefix": str(""), "createdAt": str("date-time"), "revokedAt": nullable(str("date-time")),
			"key": doc{"type": "string", "description": "The key itself: only in the answer to its creation"},
		}),
		"Attempt":        attempt,
		"Delivery":       obj(delivery),
		"DeliveryDetail": obj(detail),
		"Field":          field,
		"Object": obj(doc{
			"id": str("uuid"), "nameSingular": str(""), "namePlural": str(""), "labelSingular": str(""), "labelPlural": str(""),
			"description": str(""), "isCustom": doc{"type": "boolean"}, "fields": arr(ref("Field")),
			"createdAt": nullable(str("date-time")), "updatedAt": nullable(str("date-time")),
		}),
		"ObjectInput": obj(doc{
			"nameSingular": str(""), "namePlural": str(""), "labelSingular": str(""), "labelPlural": str(""),
			"description": str(""), "fields": arr(ref("Field")),
		}),
		"EventInput": obj(doc{"event": doc{"type": "string", "example": "invoice.paid"}, "data": doc{"type": "object"}}, "event"),
	}
}
