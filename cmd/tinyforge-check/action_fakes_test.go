package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tinyforge/tinyforge-check/tinyforge"
)

// fakeTinyforge is a Tinyforge API server honouring docs/tinyforge-api.md for the calls the action makes:
// GET /api/workloads?name= and GET /api/workloads/{id}, bearer tokens, JSON errors.
type fakeTinyforge struct {
	srv       *httptest.Server
	mu        sync.Mutex
	token     string
	workloads []tinyforge.Workload
	requests  []string
	conns     atomic.Int64 // connections clients opened
}

func newFakeTinyforge(t testing.TB, token string, workloads ...tinyforge.Workload) *fakeTinyforge {
	t.Helper()
	return startFakeTinyforge(t, token, false, workloads...)
}

// startFakeTinyforge starts the fake, over TLS with HTTP/2 when tls is set (httptest's
// certificate for 127.0.0.1), counting the connections clients open.
func startFakeTinyforge(t testing.TB, token string, tls bool, workloads ...tinyforge.Workload) *fakeTinyforge {
	t.Helper()
	f := &fakeTinyforge{token: token}
	mux := http.NewServeMux()
	f.srv = httptest.NewUnstartedServer(mux)
	f.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			f.conns.Add(1)
		}
	}
	if tls {
		f.srv.EnableHTTP2 = true
		f.srv.StartTLS()
	} else {
		f.srv.Start()
	}
	t.Cleanup(f.srv.Close)
	for i := range workloads {
		if workloads[i].UIURL == "" {
			workloads[i].UIURL = fmt.Sprintf("%s/apps/%d", f.srv.URL, workloads[i].ID)
		}
	}
	f.workloads = workloads
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			f.mu.Lock()
			f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
			f.mu.Unlock()
			if r.Header.Get("Authorization") != "Bearer "+f.token {
				fakeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or unknown token"})
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /api/workloads", auth(func(w http.ResponseWriter, r *http.Request) {
		if n := r.URL.Query().Get("name"); n != "" { // as the reference server: the whole workload
			out := []tinyforge.Workload{}
			for _, wl := range f.workloads {
				if wl.Name == n {
					out = append(out, wl)
				}
			}
			fakeJSON(w, http.StatusOK, out)
			return
		}
		out := []tinyforge.WorkloadSummary{}
		for _, wl := range f.workloads {
			out = append(out, tinyforge.WorkloadSummary{ID: wl.ID, Name: wl.Name, SourceType: wl.SourceType, GitOps: wl.GitOps})
		}
		fakeJSON(w, http.StatusOK, out)
	}))
	mux.HandleFunc("GET /api/workloads/{id}", auth(func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		for _, wl := range f.workloads {
			if wl.ID == id {
				fakeJSON(w, http.StatusOK, wl)
				return
			}
		}
		fakeJSON(w, http.StatusNotFound, map[string]string{"error": "no such workload"})
	}))
	return f
}

func (f *fakeTinyforge) resetLog() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = nil
}

func (f *fakeTinyforge) requestLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func fakeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
