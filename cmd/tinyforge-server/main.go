// Command tinyforge-server is the reference Tinyforge GitOps server of docs/tinyforge-api.md on SQLite.
//
//	tinyforge-server serve --db PATH --addr HOST:PORT [--public-url URL] [--dev]
//	                       [--secret-key-file PATH] [--allow-forge-net CIDR]...
//	tinyforge-server token create --db PATH --role admin|viewer --name NAME [--workload ID|NAME]
//	tinyforge-server token list --db PATH
//	tinyforge-server token revoke --db PATH --id ID
//	tinyforge-server demo [--addr HOST:PORT]
//	tinyforge-server version
//
// The key that encrypts repo access tokens comes from TINYFORGE_SECRET_KEY (base64 of 32 bytes)
// or --secret-key-file; without one, serve refuses to start unless --dev.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/tinyforge/tinyforge-check/internal/buildinfo"
	"github.com/tinyforge/tinyforge-check/internal/checkwire"
	"github.com/tinyforge/tinyforge-check/providers"
	"github.com/tinyforge/tinyforge-check/tinyforge/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(a.run(ctx, os.Args[1:]))
}

// app is one invocation: its streams, environment and (for tests) hooks.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// listening, when set, is told the address serve listens on.
	listening func(addr net.Addr)
	// resolver and dial replace the forge client's DNS lookups and dials (tests); nil is the
	// real network.
	resolver providers.Resolver
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	// forgeRetryWait is the first wait before a forge request is retried; 0 means 200 ms.
	forgeRetryWait time.Duration
	// headTTL and maxForgeRequests are serve's --head-ttl and --max-forge-requests (0: the
	// server's defaults).
	headTTL          time.Duration
	maxForgeRequests int
}

const usage = `usage:
  tinyforge-server serve --db PATH --addr HOST:PORT [--public-url URL] [--dev] [--secret-key-file PATH] [--allow-forge-net CIDR]... [--head-ttl 30s] [--max-forge-requests 16]
  tinyforge-server token create --db PATH --role admin|viewer --name NAME [--workload ID|NAME]
  tinyforge-server token list --db PATH
  tinyforge-server token revoke --db PATH --id ID
  tinyforge-server demo [--addr HOST:PORT]
  tinyforge-server version
`

// run executes args and returns the exit code: 0 ok, 1 failure, 2 usage error.
func (a *app) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(a.stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return a.serve(ctx, args[1:])
	case "demo":
		return a.demo(ctx, args[1:])
	case "token":
		return a.token(ctx, args[1:])
	case "version", "--version":
		fmt.Fprintln(a.stdout, buildinfo.String("tinyforge-server"))
		return 0
	case "-h", "--help", "help":
		fmt.Fprint(a.stdout, usage)
		return 0
	}
	fmt.Fprintf(a.stderr, "unknown command %q\n%s", strings.Join(args, " "), usage)
	return 2
}

// token runs a token subcommand (create, list or revoke) with its arguments; it returns 2,
// with the usage, when args name none or an unknown one.
func (a *app) token(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprintf(a.stderr, "tinyforge-server token: give a subcommand: create, list or revoke\n%s", usage)
		return 2
	}
	switch args[0] {
	case "create":
		return a.tokenCreate(ctx, args[1:])
	case "list":
		return a.tokenList(ctx, args[1:])
	case "revoke":
		return a.tokenRevoke(ctx, args[1:])
	}
	fmt.Fprintf(a.stderr, "tinyforge-server token: unknown subcommand %q: use create, list or revoke\n%s", args[0], usage)
	return 2
}

// cidrList is a repeatable --allow-forge-net flag.
type cidrList []netip.Prefix

func (c *cidrList) String() string {
	var s []string
	for _, p := range *c {
		s = append(s, p.String())
	}
	return strings.Join(s, ",")
}

func (c *cidrList) Set(v string) error {
	p, err := netip.ParsePrefix(strings.TrimSpace(v))
	if err != nil {
		ip, ipErr := netip.ParseAddr(strings.TrimSpace(v))
		if ipErr != nil {
			return fmt.Errorf("%q is not a CIDR like 10.0.0.0/8 or an IP address", v)
		}
		p = netip.PrefixFrom(ip, ip.BitLen())
	}
	*c = append(*c, p.Masked())
	return nil
}

func (a *app) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parse prints the usage and the errors itself
	fs.Usage = func() {}
	return fs
}

// parse parses a subcommand's flags. -h and --help print the subcommand's usage and flags on
// stdout (exit 0); a bad flag prints the error and a one-line hint on stderr (exit 2). ok is
// false when the command must stop with code.
func (a *app) parse(fs *flag.FlagSet, args []string) (code int, ok bool) {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		for _, line := range strings.Split(usage, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "tinyforge-server "+fs.Name()+" ") {
				fmt.Fprintf(a.stdout, "usage:\n%s\n", line)
			}
		}
		fmt.Fprintln(a.stdout, "\nFlags:")
		fs.SetOutput(a.stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		return 0, false
	}
	fmt.Fprintf(a.stderr, "tinyforge-server %s: %v\nRun \"tinyforge-server %s -h\" for usage.\n", fs.Name(), err, fs.Name())
	return 2, false
}

func (a *app) serve(ctx context.Context, args []string) int {
	fs := a.flags("serve")
	db := fs.String("db", "", "SQLite database `path` (created if missing)")
	addr := fs.String("addr", "127.0.0.1:8080", "`host:port` to listen on")
	publicURL := fs.String("public-url", "", "the server's root `URL` as browsers see it, for ui_url (default http://ADDR)")
	dev := fs.Bool("dev", false, "development mode: without a secret key, create one in a 0600 file beside the database")
	keyFile := fs.String("secret-key-file", "", "`file` holding the base64 32-byte key that encrypts repo tokens (else TINYFORGE_SECRET_KEY)")
	var allow cidrList
	fs.DurationVar(&a.headTTL, "head-ttl", server.DefaultHeadTTL, "how long the workload list reuses a branch head read from the forge")
	fs.IntVar(&a.maxForgeRequests, "max-forge-requests", server.DefaultMaxForgeRequests, "the most forge requests in progress at once, server-wide")
	fs.Var(&allow, "allow-forge-net", "`CIDR` of private or loopback forge addresses the server may fetch from (repeatable); link-local is never allowed")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	if *db == "" || fs.NArg() > 0 {
		fmt.Fprintf(a.stderr, "serve needs --db PATH and no other arguments\n%s", usage)
		return 2
	}
	log := slog.New(slog.NewTextHandler(a.stderr, nil))
	key, err := a.secretKey(*keyFile, *db, *dev, log)
	if err != nil {
		fmt.Fprintln(a.stderr, "tinyforge-server:", err)
		return 1
	}
	cipher, err := server.NewCipher(key)
	if err != nil {
		fmt.Fprintln(a.stderr, "tinyforge-server:", err)
		return 1
	}
	st, err := server.Open(ctx, *db)
	if err != nil {
		fmt.Fprintln(a.stderr, "tinyforge-server:", err)
		return 1
	}
	defer st.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(a.stderr, "tinyforge-server: listen on %s: %v\n", *addr, err)
		return 1
	}
	pub := *publicURL
	if pub == "" {
		pub = "http://" + ln.Addr().String()
	}
	srv, err := a.newServer(st, cipher, pub, allow, log)
	if err != nil {
		ln.Close()
		fmt.Fprintln(a.stderr, "tinyforge-server:", err)
		return 1
	}
	hs := newHTTPServer(srv.Handler(), log)
	log.Info("tinyforge-server listening", "addr", ln.Addr().String(), "public_url", pub, "allow_forge_net", allow.String())
	if a.listening != nil {
		a.listening(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintln(a.stderr, "tinyforge-server:", err)
		return 1
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil {
		fmt.Fprintln(a.stderr, "tinyforge-server: shutdown:", err)
		return 1
	}
	return 0
}

// newServer is the reference server on st with the command's time budget; forges on a private or
// loopback address are reachable only inside allow.
func (a *app) newServer(st *server.Store, cipher *server.Cipher, pub string, allow []netip.Prefix, log *slog.Logger) (*server.Server, error) {
	return server.New(server.Config{Store: st, Cipher: cipher, PublicURL: pub, Logger: log,
		OpenForge: forgeOpener(a.forgeHTTPClient(allow, log)), FetchTimeout: fetchTimeout, LockWait: lockWait,
		SyncDeadline: syncDeadline, WriteTimeout: writeTimeout, HeadTTL: a.headTTL, MaxForgeRequests: a.maxForgeRequests})
}

// newHTTPServer serves h with the command's timeouts and size limits, logging its errors as
// warnings.
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: writeTimeout, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
}

// secretKey finds the repo-token key: --secret-key-file, else TINYFORGE_SECRET_KEY, else (only
// with --dev) a generated key file beside the database.
func (a *app) secretKey(keyFile, db string, dev bool, log *slog.Logger) ([]byte, error) {
	if keyFile != "" {
		return server.ReadKeyFile(keyFile)
	}
	if v := a.getenv("TINYFORGE_SECRET_KEY"); v != "" {
		k, err := server.ParseKey(v)
		if err != nil {
			return nil, fmt.Errorf("TINYFORGE_SECRET_KEY: %w", err)
		}
		return k, nil
	}
	if !dev {
		return nil, errors.New("no secret key to encrypt repo access tokens: set TINYFORGE_SECRET_KEY (base64 of 32 random bytes, e.g. `head -c 32 /dev/urandom | base64`) or pass --secret-key-file, or use --dev for a local trial")
	}
	path := server.DevKeyPath(db)
	k, created, err := server.EnsureDevKey(path)
	if err != nil {
		return nil, err
	}
	if created {
		log.Warn("DEV MODE: created a NEW secret key file; repo tokens are encrypted with it and are lost without it. Do not use --dev in production.", "key_file", path)
		fmt.Fprintf(a.stderr, "\n*** DEV MODE: generated secret key in %s (mode 0600). Keep it beside the database; never use --dev in production. ***\n\n", path)
	} else {
		log.Warn("DEV MODE: using the generated secret key file; do not use --dev in production", "key_file", path)
	}
	return k, nil
}

// The server's time budget. A Sync (and a PUT gitops, PATCH or POST of a workload) must finish
// within syncDeadline of its start: its wait for the workload's lock (at most lockWait), its
// fetch (at most fetchTimeout) and its database write, which is committed before the deadline
// or not at all. The deadline leaves room under writeTimeout for a refused Sync's audit row and
// the answer (server.New refuses to start otherwise), so a change is never applied after the
// HTTP server has cut its client off.
const (
	writeTimeout = 30 * time.Second
	syncDeadline = server.DefaultSyncDeadline
	lockWait     = server.DefaultLockWait
	fetchTimeout = server.DefaultFetchTimeout
)

// forgeHTTPClient is the shared client for all forge calls: SSRF-safe dials (private and
// loopback forges only inside allow, link-local never), 64 KiB-scale bodies, retries that fit
// in the server's 10 s fetch deadline.
func (a *app) forgeHTTPClient(allow []netip.Prefix, log *slog.Logger) *http.Client {
	d := &providers.SafeDialer{Allow: allow, Resolver: a.resolver, Dial: a.dial}
	wait := a.forgeRetryWait
	if wait <= 0 {
		wait = 200 * time.Millisecond
	}
	return providers.NewHTTPClient(providers.HTTPConfig{
		DialContext:    d.DialContext,
		AttemptTimeout: 5 * time.Second,
		Retries:        2,
		MinWait:        wait,
		MaxWait:        5 * wait,
		MaxRetryAfter:  3 * time.Second,
		MaxBodyBytes:   1 << 20,
		Logger:         log,
		UserAgent:      "tinyforge-server",
	})
}

// forgeOpener builds a provider for a workload's repo on the shared client hc.
// Every provider reads branch heads and files as the server needs, so what checkwire.OpenForge
// opens is a server.Forge.
var (
	_ server.Forge = (*providers.GitHub)(nil)
	_ server.Forge = (*providers.Gitea)(nil)
	_ server.Forge = (*providers.GitLab)(nil)
)

func forgeOpener(hc *http.Client) server.ForgeOpener {
	return func(provider, baseURL, token string) (server.Forge, error) {
		// The providers wrap forge.ErrFileNotFound and forge.ErrFileTooLarge, which are the
		// server's own sentinels: no error mapping is needed.
		f, err := checkwire.OpenForge(provider, providers.Options{BaseURL: baseURL, Token: token, HTTPClient: hc})
		if err != nil {
			return nil, err
		}
		sf, ok := f.(server.Forge)
		if !ok { // not with the three providers (checked above)
			return nil, fmt.Errorf("forge provider %q cannot read files", provider)
		}
		return sf, nil
	}
}

// withStore opens the database at db for a token command, runs use on it and closes it. Only
// token create (create) makes a database that is not there yet, and says so on stderr, naming
// the file: a typo in --db must not silently yield a token that the running server rejects. It
// returns use's exit code, or 1 when there is no store to open (the reason printed).
func (a *app) withStore(ctx context.Context, cmd, db string, create bool, use func(st *server.Store) int) int {
	if db == "" {
		fmt.Fprintf(a.stderr, "tinyforge-server %s: missing --db PATH: give the database the server runs with\n%s", cmd, usage)
		return 2
	}
	_, statErr := os.Stat(db)
	isNew := errors.Is(statErr, os.ErrNotExist)
	if isNew && !create {
		fmt.Fprintf(a.stderr, "tinyforge-server %s: there is no database at %s: check --db (it must be the file the server runs with)\n", cmd, db)
		return 1
	}
	st, err := server.Open(ctx, db)
	if err != nil {
		fmt.Fprintf(a.stderr, "tinyforge-server %s: %v\n", cmd, err)
		return 1
	}
	defer st.Close()
	if isNew {
		where := db
		if abs, err := filepath.Abs(db); err == nil {
			where = abs
		}
		fmt.Fprintf(a.stderr, "tinyforge-server %s: created a new database at %s, since none was there; "+
			"a server started with another --db will not know this token\n", cmd, where)
	}
	return use(st)
}

func (a *app) tokenCreate(ctx context.Context, args []string) int {
	fs := a.flags("token create")
	db := fs.String("db", "", "SQLite database `path` (created if missing)")
	role := fs.String("role", "", "`role`: admin or viewer")
	name := fs.String("name", "", "a `name` for the token (shown in the audit log)")
	workload := fs.String("workload", "", "limit the token to this workload, by `id or name` (default: all workloads)")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	if why := tokenCreateMistake(*db, *role, *name, fs.Args()); why != "" {
		fmt.Fprintf(a.stderr, "tinyforge-server token create: %s\n%s", why, usage)
		return 2
	}
	return a.withStore(ctx, "token create", *db, true, func(st *server.Store) int {
		var workloadID int64
		if *workload != "" {
			id, err := resolveWorkload(ctx, st, *workload)
			if err != nil {
				fmt.Fprintln(a.stderr, "tinyforge-server token create:", err)
				return 1
			}
			workloadID = id
		}
		secret, _, err := st.CreateToken(ctx, *name, *role, workloadID)
		if err != nil {
			fmt.Fprintln(a.stderr, "tinyforge-server:", err)
			return 1
		}
		fmt.Fprintln(a.stdout, secret)
		return 0
	})
}

// tokenCreateMistake names what is wrong with token create's flags, "" when nothing is.
func tokenCreateMistake(db, role, name string, rest []string) string {
	switch {
	case db == "":
		return "missing --db PATH: give the database the server runs with"
	case role == "":
		return "missing --role: use admin or viewer"
	case role != server.RoleAdmin && role != server.RoleViewer:
		return fmt.Sprintf("--role %q is no role: use admin or viewer", role)
	case name == "":
		return "missing --name NAME: a name for the token, shown in the audit log"
	case len(rest) > 0:
		return fmt.Sprintf("takes no arguments, got %q", rest[0])
	}
	return ""
}

// resolveWorkload turns --workload (an id, or a name) into the id of a workload that exists:
// a token limited to a workload that does not exist yet would gain that limit's rights over
// whichever workload later gets the id.
func resolveWorkload(ctx context.Context, st *server.Store, ref string) (int64, error) {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		if id <= 0 {
			return 0, fmt.Errorf("--workload %s: ids start at 1", ref)
		}
		if _, err := st.GetWorkload(ctx, id); err != nil {
			if errors.Is(err, server.ErrNotFound) {
				return 0, fmt.Errorf("there is no workload %d in this database: create it first, or check the id", id)
			}
			return 0, err
		}
		return id, nil
	}
	list, err := st.ListWorkloads(ctx, ref, 0)
	if err != nil {
		return 0, err
	}
	for _, w := range list {
		if w.Name == ref {
			return w.ID, nil
		}
	}
	return 0, fmt.Errorf("there is no workload named %q in this database: create it first, or check the name", ref)
}

func (a *app) tokenList(ctx context.Context, args []string) int {
	fs := a.flags("token list")
	db := fs.String("db", "", "SQLite database `path`")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	return a.withStore(ctx, "token list", *db, false, func(st *server.Store) int {
		toks, err := st.ListTokens(ctx)
		if err != nil {
			fmt.Fprintln(a.stderr, "tinyforge-server:", err)
			return 1
		}
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tROLE\tWORKLOAD\tCREATED\tREVOKED")
		for _, t := range toks {
			wl := "all"
			if t.WorkloadID != 0 {
				wl = fmt.Sprint(t.WorkloadID)
			}
			rev := "-"
			if t.RevokedAt != "" {
				rev = t.RevokedAt
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, wl, t.CreatedAt, rev)
		}
		tw.Flush()
		return 0
	})
}

func (a *app) tokenRevoke(ctx context.Context, args []string) int {
	fs := a.flags("token revoke")
	db := fs.String("db", "", "SQLite database `path`")
	id := fs.Int64("id", 0, "the token `id` (see token list)")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	if *id <= 0 {
		fmt.Fprintf(a.stderr, "tinyforge-server token revoke: missing --id ID: the token's id (see token list)\n%s", usage)
		return 2
	}
	return a.withStore(ctx, "token revoke", *db, false, func(st *server.Store) int {
		if err := st.RevokeToken(ctx, *id); err != nil {
			fmt.Fprintln(a.stderr, "tinyforge-server:", err)
			return 1
		}
		fmt.Fprintf(a.stdout, "token %d revoked\n", *id)
		return 0
	})
}
