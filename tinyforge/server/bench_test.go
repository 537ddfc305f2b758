package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchEnv is newEnv for benchmarks: n dockerfile workloads with GitOps enabled on a file.
func benchEnv(b *testing.B, n int) *env {
	b.Helper()
	e := newEnv(b)
	e.forge.push("main", "c1", ".tinyforge.yml", []byte(goodFile))
	for i := range n {
		w := e.createWorkload(fmt.Sprintf("app-%d", i), "dockerfile", `{"port":3000}`)
		e.enable(w.ID)
	}
	return e
}

func benchDo(b *testing.B, e *env, method, path, token string) {
	req, _ := http.NewRequest(method, e.http.URL+path, strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.http.Client().Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Errorf("%s %s = %d", method, path, resp.StatusCode)
	}
}

// BenchmarkGitOpsViewCached is a repeated GET /gitops of an unchanged branch head: one
// BranchHead call, no download, lint + drift, over loopback HTTP.
func BenchmarkGitOpsViewCached(b *testing.B) {
	e := benchEnv(b, 1)
	_, loads0 := e.forge.counts()
	b.ResetTimer()
	for b.Loop() {
		benchDo(b, e, "GET", "/api/workloads/1/gitops", e.viewer)
	}
	b.StopTimer()
	if _, loads := e.forge.counts(); loads != loads0 {
		b.Fatalf("%d downloads during cached views", loads-loads0)
	}
}

// BenchmarkSyncParallel is Sync throughput with concurrent clients: on one workload (all
// serialized by its lock) and spread over 8 workloads (serialized only by SQLite's writer).
func BenchmarkSyncParallel(b *testing.B) {
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("workloads=%d", n), func(b *testing.B) {
			e := benchEnv(b, n)
			var next atomic.Int64
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := next.Add(1)%int64(n) + 1
					benchDo(b, e, "POST", fmt.Sprintf("/api/workloads/%d/gitops/sync", id), e.admin)
				}
			})
		})
	}
}

// BenchmarkListLoads is 100 loads of the panel's workload list by 20 viewers at once (5 each,
// one after another), with n GitOps-enabled workloads on n repos of a forge that answers every
// request in 50 ms, on a fresh server each op (the first loads find no head cached). It reports
// the forge requests the 100 loads cost (branch reads and downloads), the most forge requests in progress at once (the
// in-process fake's concurrent calls: each is one connection to a real forge) and the median
// list load. mode=bounded is the server's defaults (head TTL 30 s, cap 16); mode=no-cache reads
// every head anew (TTL 1 ns) with no cap, single-flight aside.
func BenchmarkListLoads(b *testing.B) {
	for _, mode := range []string{"bounded", "no-cache"} {
		for _, n := range []int{10, 100, 1000} {
			b.Run(fmt.Sprintf("mode=%s/workloads=%d", mode, n), func(b *testing.B) {
				var heads, loads, peak int
				var medians []time.Duration
				b.StopTimer()
				for range b.N {
					e := newEnv(b, func(c *Config) {
						if mode == "no-cache" {
							c.HeadTTL, c.MaxForgeRequests = time.Nanosecond, 1<<20
						}
					})
					e.benchWorkloads(n)
					sessions := make([]*http.Client, 20)
					for i := range sessions {
						sessions[i] = e.panelSession(e.viewer)
					}
					h0, l0 := e.forge.counts()
					e.forge.mu.Lock()
					e.forge.delay, e.forge.peak = 50*time.Millisecond, 0
					e.forge.mu.Unlock()
					b.StartTimer()
					took := make(chan time.Duration, 100)
					var wg sync.WaitGroup
					for _, s := range sessions {
						wg.Go(func() {
							for range 5 {
								start := time.Now()
								if _, err := getList(s, e.http.URL); err != nil {
									b.Error(err)
								}
								took <- time.Since(start)
							}
						})
					}
					wg.Wait()
					b.StopTimer()
					close(took)
					var all []time.Duration
					for d := range took {
						all = append(all, d)
					}
					slices.Sort(all)
					medians = append(medians, all[len(all)/2])
					h, l := e.forge.counts()
					e.forge.mu.Lock()
					heads, loads, peak = heads+h-h0, loads+l-l0, max(peak, e.forge.peak)
					e.forge.mu.Unlock()
					e.http.Close()
				}
				slices.Sort(medians)
				b.ReportMetric(float64(heads)/float64(len(medians)), "branch-reads/op")
				b.ReportMetric(float64(loads)/float64(len(medians)), "downloads/op")
				b.ReportMetric(float64(peak), "peak-forge-conns")
				b.ReportMetric(float64(medians[len(medians)/2].Milliseconds()), "list-median-ms")
			})
		}
	}
}

// benchWorkloads stores n GitOps-enabled workloads on n repos straight into the store (the API
// would take seconds for 1,000), the fake forge's "main" holding goodFile.
func (e *env) benchWorkloads(n int) {
	e.t.Helper()
	ctx := context.Background()
	e.forge.push("main", "c1", ".tinyforge.yml", []byte(goodFile))
	for i := range n {
		repo := Repo{Provider: "gitea", BaseURL: "https://gitea.example.com", Owner: "acme", Name: fmt.Sprintf("app-%d", i), Branch: "main"}
		w, err := e.store.CreateWorkload(ctx, NewWorkload{Name: fmt.Sprintf("app-%d", i), SourceType: "dockerfile", SourceConfig: json.RawMessage(`{"port":3000}`), Repo: repo}, e.srv.sealer(forgeCanary))
		if err != nil {
			e.t.Fatal(err)
		}
		if err := e.store.SetGitOps(ctx, w.ID, true, DefaultGitOpsPath, nil); err != nil {
			e.t.Fatal(err)
		}
	}
}
