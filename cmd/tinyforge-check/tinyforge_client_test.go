package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/tinyforge/tinyforge-check/tinyforge"
)

// TestTinyforgeClientRetriesGetNotSync checks the wiring of the Tinyforge client to the shared
// HTTP client: a GET answered 503 is tried again, a Sync (POST) answered 503 is sent once, since
// the server may have applied it.
func TestTinyforgeClientRetriesGetNotSync(t *testing.T) {
	tests := []struct {
		name      string
		call      func(*tinyforge.Client) error
		wantCalls int32
	}{
		{"get is retried", func(c *tinyforge.Client) error { _, err := c.GetWorkload(t.Context(), 1); return err }, 4},
		{"sync is sent once", func(c *tinyforge.Client) error {
			_, err := c.Sync(t.Context(), 1, tinyforge.SyncRequest{})
			return err
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, `{"error":"busy"}`)
			}))
			defer srv.Close()
			c := &Command{Getenv: func(k string) string { return map[string]string{"TINYFORGE_TOKEN": "tok"}[k] }}
			client, err := c.tinyforgeClient(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.call(client); err == nil {
				t.Fatal("want an error")
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}
