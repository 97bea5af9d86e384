// Command receiver receives Herald's webhooks with the verify package.
//
//	SECRET=whsec_... PORT=4003 go run ./examples/receive/go
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/heraldhq/herald/verify"
)

func main() {
	secret := os.Getenv("SECRET")
	http.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		// Verify the raw bytes: re-serialised JSON would not match.
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// One scheme is enough; this example checks both.
		if err := verify.Standard(secret, r.Header, body, 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if err := verify.Twenty(secret, r.Header, body); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var event struct{ ID, Event string }
		if err := json.Unmarshal(body, &event); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// Deliveries are at least once: dedupe on event.ID if it matters.
		fmt.Printf("verified %s %s\n", event.Event, event.ID)
		w.WriteHeader(http.StatusNoContent)
	})
	port := os.Getenv("PORT")
	if port == "" {
		port = "4003"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	log.Fatal(http.Serve(ln, nil))
}
