// Package herald holds Herald's domain types and the interfaces of its
// services. Subpackages implement them (store/sqlite, httpapi, delivery);
// cmd/herald wires them together. Nothing here imports a database driver.
package herald

import (
	"errors"
	"fmt"
)

// Error codes. The HTTP layer maps each to one status code in one place.
const (
	EINVALID         = "INVALID_ARGUMENT"  // 400
	EUNAUTHENTICATED = "UNAUTHENTICATED"   // 401
	EFORBIDDEN       = "FORBIDDEN"         // 403
	ENOTFOUND        = "NOT_FOUND"         // 404
	ECONFLICT        = "CONFLICT"          // 409
	ETOOLARGE        = "PAYLOAD_TOO_LARGE" // 413
	EUNPROCESSABLE   = "UNPROCESSABLE"     // 422
	ERATELIMITED     = "RATE_LIMITED"      // 429
	EUNAVAILABLE     = "UNAVAILABLE"       // 503
	// EINSUFFICIENTSTORAGE: the database has no space left to write.
	EINSUFFICIENTSTORAGE = "INSUFFICIENT_STORAGE" // 507
	EINTERNAL            = "INTERNAL"             // 500
)

// Error is a domain error that is safe to show to API clients. Any other
// error reaching the HTTP layer is reported as an internal error and logged.
type Error struct {
	Code    string
	Message string
	// Field names the request field at fault, when there is one.
	Field string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("herald: %s: %s (field %s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("herald: %s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an EINVALID *Error naming the offending field.
func FieldErrorf(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the *Error in err's chain, EINTERNAL for any
// other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
