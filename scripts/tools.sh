#!/usr/bin/env bash
# tools.sh builds the pinned external tools that CI needs from the Go module proxy and caches each
# binary by name and version outside the clone, so that a rerun on the same machine builds nothing:
#
#   goreleaser  v2.15.1   release config check and snapshot build (issue: ship prebuilt releases)
#   actionlint  v1.7.12   lints .github/workflows/ and examples/
#   act         v0.2.89   runs host/action.yml through a real workflow runner, host mode
#   gitea       v1.26.0   a real forge on loopback for the provider and action tests
#   toxiproxy   v2.5.0    latency on loopback for the round-trip benchmark (toxiproxy-server)
#   gocyclo     v0.6.0    cyclomatic complexity of cmd/, checker/ and providers/ (at most 15 a function)
#   staticcheck v0.8.2    static analysis of the whole module, tests included (staticcheck 2026.2.2; needs Go 1.26)
#   registry    v3.1.2    an OCI registry on loopback that receives the release rehearsal's image (distribution)
#   ko          v0.19.1   builds the release image from the release build's flags, without a Docker daemon
#   cyclonedx-gomod v1.10.0 the releases' SBOMs (GoReleaser sboms, one CycloneDX file per binary of each archive)
#   cosign      v2.6.5    signs and verifies in the release rehearsal (v3 needs Go 1.27; slow: minutes on 2 cores)
#
# Usage: bash scripts/tools.sh [NAME...]   (no names: all of them)
# Prints nothing but progress on stderr; the binaries land in $TINYFORGE_TOOLS/bin/NAME-VERSION and
# a symlink $TINYFORGE_TOOLS/bin/NAME points at the pinned version.
# TINYFORGE_TOOLS defaults to ~/.cache/tinyforge-check/tools.
set -euo pipefail
export PATH="/usr/local/go/bin:$PATH"

tools=${TINYFORGE_TOOLS:-$HOME/.cache/tinyforge-check/tools}
bin="$tools/bin"
mkdir -p "$bin"

GORELEASER_VERSION=v2.15.1
ACTIONLINT_VERSION=v1.7.12
ACT_VERSION=v0.2.89
GITEA_VERSION=v1.26.0
TOXIPROXY_VERSION=v2.5.0
GOCYCLO_VERSION=v0.6.0
STATICCHECK_VERSION=v0.8.2
REGISTRY_VERSION=v3.1.2
KO_VERSION=v0.19.1
COSIGN_VERSION=v2.6.5
CYCLONEDX_GOMOD_VERSION=v1.10.0

log() { printf 'tools: %s\n' "$*" >&2; }

# have NAME VERSION: true when the pinned binary is already cached.
have() { [[ -x "$bin/$1-$2" ]]; }

# link NAME VERSION points the unversioned name at the pinned binary.
link() { ln -sfn "$1-$2" "$bin/$1"; }

# goinstall NAME VERSION MODULE builds MODULE@VERSION with go install into a private GOBIN.
goinstall() {
  local name=$1 version=$2 module=$3
  if have "$name" "$version"; then link "$name" "$version"; return; fi
  log "building $name $version (go install $module@$version)"
  local start=$SECONDS tmp
  tmp=$(mktemp -d)
  CGO_ENABLED=0 GOBIN="$tmp" go install "$module@$version"
  local built
  built=$(ls "$tmp")
  mv "$tmp/$built" "$bin/$name-$version"
  rmdir "$tmp"
  link "$name" "$version"
  log "built $name $version in $((SECONDS - start)) s"
}

# gitea is built inside its module directory: its go.mod has replace directives, which
# go install refuses. The tags give it SQLite; templates and assets are read from the module
# directory at run time (see GITEA_MODULE_DIR below), so no bindata step is needed.
gitea() {
  local version=$GITEA_VERSION
  local dir
  dir=$(go mod download -json "code.gitea.io/gitea@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -d $dir ]] || { log "go mod download gave no directory for code.gitea.io/gitea@$version"; exit 1; }
  echo "$dir" >"$tools/gitea-$version.moduledir"
  if have gitea "$version"; then link gitea "$version"; return; fi
  log "building gitea $version in $dir (about 8 minutes on 2 cores)"
  local start=$SECONDS
  (cd "$dir" && CGO_ENABLED=1 GOFLAGS=-mod=mod go build -trimpath \
      -tags 'sqlite sqlite_unlock_notify' \
      -ldflags "-s -w -X main.Version=${version#v}" \
      -o "$bin/gitea-$version.tmp" .)
  mv "$bin/gitea-$version.tmp" "$bin/gitea-$version"
  link gitea "$version"
  log "built gitea $version in $((SECONDS - start)) s"
}

want=("$@")
((${#want[@]})) || want=(actionlint goreleaser act gitea toxiproxy gocyclo staticcheck registry ko cyclonedx-gomod cosign)
for t in "${want[@]}"; do
  case $t in
    goreleaser) goinstall goreleaser "$GORELEASER_VERSION" github.com/goreleaser/goreleaser/v2 ;;
    actionlint) goinstall actionlint "$ACTIONLINT_VERSION" github.com/rhysd/actionlint/cmd/actionlint ;;
    act) goinstall act "$ACT_VERSION" github.com/nektos/act ;;
    gitea) gitea ;;
    toxiproxy) goinstall toxiproxy-server "$TOXIPROXY_VERSION" github.com/Shopify/toxiproxy/v2/cmd/server ;;
    gocyclo) goinstall gocyclo "$GOCYCLO_VERSION" github.com/fzipp/gocyclo/cmd/gocyclo ;;
    staticcheck) goinstall staticcheck "$STATICCHECK_VERSION" honnef.co/go/tools/cmd/staticcheck ;;
    registry) goinstall registry "$REGISTRY_VERSION" github.com/distribution/distribution/v3/cmd/registry ;;
    ko) goinstall ko "$KO_VERSION" github.com/google/ko ;;
    cyclonedx-gomod) goinstall cyclonedx-gomod "$CYCLONEDX_GOMOD_VERSION" github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod ;;
    cosign) goinstall cosign "$COSIGN_VERSION" github.com/sigstore/cosign/v2/cmd/cosign ;;
    *) log "unknown tool $t (want goreleaser, actionlint, act, gitea, toxiproxy, gocyclo, staticcheck, registry, ko, cyclonedx-gomod or cosign)"; exit 2 ;;
  esac
done
echo "$bin"
