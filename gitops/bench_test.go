package gitops

import (
	"encoding/json"
	"testing"
)

var benchFile = []byte(`# Deploy config read by Tinyforge on Sync.
version: 1
deploy:
  port: 8080
  healthcheck: /healthz
  deploy_strategy: rolling
`)

var benchLive = json.RawMessage(`{"port": 3000, "healthcheck": "/healthz", "deploy_strategy": "", "dockerfile_path": "Dockerfile", "build_args": {"GO_VERSION": "1.26"}}`)

// BenchmarkLint measures parsing and validating a typical file.
func BenchmarkLint(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if spec, diags := Lint(benchFile, SourceDockerfile); spec == nil {
			b.Fatal(diags)
		}
	}
}

// BenchmarkLintAndDrift measures what one check does with a file: lint, drift and Sync preview.
func BenchmarkLintAndDrift(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		spec, _ := Lint(benchFile, SourceDockerfile)
		d, err := Drift(spec, SourceDockerfile, benchLive)
		if err != nil || len(d) != 2 {
			b.Fatal(d, err)
		}
		if _, err := PreviewSync(spec, benchLive); err != nil {
			b.Fatal(err)
		}
	}
}
