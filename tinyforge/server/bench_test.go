package server

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
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
