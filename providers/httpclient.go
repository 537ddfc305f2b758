package providers

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/tinyforge/tinyforge-check/forge"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// HTTPConfig configures NewHTTPClient. The zero value gives production
// defaults; tests shrink the waits so retries take milliseconds.
type HTTPConfig struct {
	// AttemptTimeout bounds one attempt (connect, headers and body). Zero
	// means 15s. The caller's context bounds the whole run.
	AttemptTimeout time.Duration
	// Retries is how many times a retryable request is repeated. Zero means
	// 3; negative disables retries.
	Retries int
	// MinWait and MaxWait bound the exponential backoff between attempts
	// when the forge gives no Retry-After. Zero means 500ms and 5s.
	MinWait, MaxWait time.Duration
	// MaxRetryAfter caps how long a Retry-After (or rate-limit reset) is
	// honoured; a longer one fails fast with ErrRetryAfterTooLong. Zero
	// means 60s.
	MaxRetryAfter time.Duration
	// RetryAfterUnit is the duration of one Retry-After "second". Zero means
	// time.Second; tests set time.Millisecond so a Retry-After: 2 waits 2ms
	// while the cap still compares advertised seconds.
	RetryAfterUnit time.Duration
	// MaxBodyBytes caps every response body; reading past it fails with
	// ErrResponseTooLarge. Zero means 10 MiB.
	MaxBodyBytes int64
	// MaxRedirects bounds the redirects followed. Zero means 5; negative
	// follows none.
	MaxRedirects int
	// DialContext replaces the dialer, e.g. (&SafeDialer{...}).DialContext on
	// the server side. When set, no HTTP proxy is used (a proxy would bypass
	// the dial-time address checks).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// RootCAs, when set, is the only pool of certificate authorities TLS
	// connections trust (a forge with a private CA, tests); nil trusts the
	// system's roots (SSL_CERT_FILE and SSL_CERT_DIR on Linux).
	RootCAs *x509.CertPool
	// Transport replaces the base transport entirely (tests); DialContext and
	// RootCAs are then ignored.
	Transport http.RoundTripper
	// Logger receives one debug line per attempt (method, scheme, host, path,
	// status, duration: never query strings or headers). Nil discards.
	Logger *slog.Logger
	// UserAgent is sent when a request has none. Empty means
	// "tinyforge-check".
	UserAgent string
}

func (c HTTPConfig) withDefaults() HTTPConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.AttemptTimeout, 15*time.Second)
	def(&c.MinWait, 500*time.Millisecond)
	def(&c.MaxWait, 5*time.Second)
	def(&c.MaxRetryAfter, 60*time.Second)
	def(&c.RetryAfterUnit, time.Second)
	switch {
	case c.Retries == 0:
		c.Retries = 3
	case c.Retries < 0:
		c.Retries = 0
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 10 << 20
	}
	switch {
	case c.MaxRedirects == 0:
		c.MaxRedirects = 5
	case c.MaxRedirects < 0:
		c.MaxRedirects = 0
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.UserAgent == "" {
		c.UserAgent = "tinyforge-check"
	}
	return c
}

// NewHTTPClient returns the client shared by all providers and the Tinyforge
// client: go-retryablehttp underneath with per-attempt timeouts; GET, HEAD,
// OPTIONS, PUT and DELETE retried on transport errors, 5xx, 429 and
// rate-limit 403s; POST and PATCH retried only on 429 and rate-limit 403s (the
// forge refused them unprocessed), never on 5xx or timeouts; Retry-After and
// X-RateLimit-Reset honoured up to MaxRetryAfter; response bodies capped;
// redirects bounded. It sends no credentials: providers add their token per
// request, for their own origin only, so a cross-origin redirect never carries
// it.
func NewHTTPClient(cfg HTTPConfig) *http.Client {
	cfg = cfg.withDefaults()
	base := cfg.Transport
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		if cfg.DialContext != nil {
			t.DialContext = cfg.DialContext
			t.Proxy = nil
		}
		// HTTP/2 where the server offers it, so a run's parallel requests share one
		// connection (one TLS handshake) per host: a transport with its own DialContext
		// only speaks it when asked to.
		t.ForceAttemptHTTP2 = true
		if cfg.RootCAs != nil {
			t.TLSClientConfig = &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
		}
		t.MaxResponseHeaderBytes = 64 << 10
		base = &firstConnGate{next: t}
	}
	rc := &retryablehttp.Client{
		HTTPClient: &http.Client{
			Transport: base,
			Timeout:   cfg.AttemptTimeout,
			// The outer client follows redirects, so the auth transport sees
			// every hop.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		RetryWaitMin: cfg.MinWait,
		RetryWaitMax: cfg.MaxWait,
		RetryMax:     cfg.Retries,
		CheckRetry:   checkRetry(cfg),
		Backoff:      backoff(cfg),
		ErrorHandler: func(resp *http.Response, err error, _ int) (*http.Response, error) {
			if err != nil {
				if resp != nil {
					resp.Body.Close()
				}
				return nil, err
			}
			return resp, nil // retries exhausted: hand over the last answer
		},
		RequestLogHook: func(_ retryablehttp.Logger, r *http.Request, attempt int) {
			if attempt > 0 {
				cfg.Logger.LogAttrs(r.Context(), slog.LevelDebug, "http retry",
					slog.String("method", r.Method), slog.String("url", safeURL(r)), slog.Int("attempt", attempt+1))
			}
		},
	}
	maxRedirects := cfg.MaxRedirects
	return &http.Client{
		Transport: &capTransport{
			base:  &retryablehttp.RoundTripper{Client: rc},
			max:   cfg.MaxBodyBytes,
			log:   cfg.Logger,
			agent: cfg.UserAgent,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return fmt.Errorf("stopped after %d redirects: check the forge URL", maxRedirects)
			}
			return nil
		},
	}
}

// firstConnGate lets the first request to a host open its connection alone and holds the
// others until it has one. A transport does not know before the TLS handshake whether a host
// speaks HTTP/2, so a round of parallel requests to a fresh host would otherwise dial (and
// handshake) once per request; held back for that one handshake, they all share the HTTP/2
// connection it made. They lose no round trip: each would have needed a handshake of its own.
// Against an HTTP/1.1 host they then dial in parallel, as before.
type firstConnGate struct {
	next  http.RoundTripper
	mu    sync.Mutex
	hosts map[string]chan struct{} // hosts whose first request is connecting; closed when it has a connection
}

func (g *firstConnGate) RoundTrip(req *http.Request) (*http.Response, error) {
	key := req.URL.Scheme + "://" + req.URL.Host
	g.mu.Lock()
	ready, seen := g.hosts[key]
	if !seen {
		if g.hosts == nil {
			g.hosts = map[string]chan struct{}{}
		}
		ready = make(chan struct{})
		g.hosts[key] = ready
	}
	g.mu.Unlock()
	if seen {
		select {
		case <-ready:
		case <-req.Context().Done():
			if req.Body != nil {
				req.Body.Close() // a RoundTripper closes the body, even on error
			}
			return nil, req.Context().Err()
		}
		return g.next.RoundTrip(req)
	}
	var once sync.Once
	release := func() {
		once.Do(func() {
			close(ready)
			// Forget the host: the map stays as small as the hosts being connected to
			// right now (a long-lived server's client meets many hosts over time).
			g.mu.Lock()
			delete(g.hosts, key)
			g.mu.Unlock()
		})
	}
	defer release() // also when the first request fails before connecting
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { release() }}
	return g.next.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
}

// safeURL renders a request URL for logs and errors: scheme, host and path,
// never the query string or userinfo.
func safeURL(r *http.Request) string {
	if r == nil || r.URL == nil {
		return ""
	}
	return r.URL.Scheme + "://" + r.URL.Host + r.URL.EscapedPath()
}

// capTransport caps response bodies, sets the User-Agent and logs each
// request without query strings or headers.
type capTransport struct {
	base  http.RoundTripper
	max   int64
	log   *slog.Logger
	agent string
}

func (t *capTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("User-Agent") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", t.agent)
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		t.log.LogAttrs(req.Context(), slog.LevelDebug, "http request failed",
			slog.String("method", req.Method), slog.String("url", safeURL(req)),
			slog.Duration("duration", time.Since(start)))
		return nil, err
	}
	t.log.LogAttrs(req.Context(), slog.LevelDebug, "http request",
		slog.String("method", req.Method), slog.String("url", safeURL(req)),
		slog.Int("status", resp.StatusCode), slog.Duration("duration", time.Since(start)))
	resp.Body = &cappedBody{rc: resp.Body, left: t.max}
	return resp, nil
}

// cappedBody fails with ErrResponseTooLarge once more than left bytes were
// read.
type cappedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, ErrResponseTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n - 1, ErrResponseTooLarge
	}
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }

// idempotent reports whether a request may be repeated after an ambiguous
// failure (the forge may have processed it).
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// rateLimited reports whether resp refuses the request for rate limiting: 429,
// or 403 with GitHub's rate-limit headers (primary: X-RateLimit-Remaining: 0;
// secondary: Retry-After).
func rateLimited(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		return true
	case http.StatusForbidden:
		return resp.Header.Get("Retry-After") != "" || resp.Header.Get("X-RateLimit-Remaining") == "0"
	}
	return false
}

// retryAfter returns the wait the forge asked for, in advertised seconds
// (Retry-After seconds or HTTP date, else X-RateLimit-Reset / RateLimit-Reset
// epoch seconds when nothing remains), and whether it asked at all.
func retryAfter(resp *http.Response, now time.Time) (float64, bool) {
	if v := strings.TrimSpace(resp.Header.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 && !math.IsInf(s, 0) && !math.IsNaN(s) {
			return s, true
		}
		if t, err := http.ParseTime(v); err == nil {
			return math.Max(0, t.Sub(now).Seconds()), true
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" || resp.Header.Get("RateLimit-Remaining") == "0" {
		reset := resp.Header.Get("X-RateLimit-Reset")
		if reset == "" {
			reset = resp.Header.Get("RateLimit-Reset")
		}
		if e, err := strconv.ParseInt(reset, 10, 64); err == nil {
			return math.Max(0, float64(e)-float64(now.Unix())), true
		}
	}
	return 0, false
}

// retryAfterError is ErrRetryAfterTooLong with the wait the forge asked for: a rate limit
// (then it is forge.ErrRateLimited too) or a 503, whose Backoff says how long to leave it.
type retryAfterError struct {
	wait        time.Duration
	rateLimited bool
	msg         string
}

func (e *retryAfterError) Error() string { return e.msg }

// Is matches ErrRetryAfterTooLong, and forge.ErrRateLimited for a rate limit.
func (e *retryAfterError) Is(target error) bool {
	return target == ErrRetryAfterTooLong || (e.rateLimited && target == forge.ErrRateLimited)
}

// Backoff is the wait the forge asked for.
func (e *retryAfterError) Backoff() time.Duration { return e.wait }

// retryAfterOf is the wait a rate-limited answer asked for (see retryAfter), 0 when it did not
// say or there is no answer.
func retryAfterOf(resp *http.Response) time.Duration {
	if resp == nil {
		return 0
	}
	s, ok := retryAfter(resp, time.Now())
	if !ok {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}

func checkRetry(cfg HTTPConfig) retryablehttp.CheckRetry {
	return func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if err != nil {
			if errors.Is(err, ErrAddressRefused) {
				// A policy refusal answers the same on every attempt: fail at once.
				return false, err
			}
			// No answer: only idempotent requests may be repeated.
			return idempotent(methodOf(resp, err)), nil
		}
		if rateLimited(resp) || resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" {
			if s, ok := retryAfter(resp, time.Now()); ok && s > cfg.MaxRetryAfter.Seconds() {
				return false, &retryAfterError{wait: time.Duration(s * float64(time.Second)), rateLimited: rateLimited(resp),
					msg: fmt.Sprintf("%s: %s %s answered %d asking to wait %.0fs, over the %s cap: try again later or raise the cap",
						ErrRetryAfterTooLong, resp.Request.Method, safeURL(resp.Request), resp.StatusCode, s, cfg.MaxRetryAfter)}
			}
			if rateLimited(resp) {
				return true, nil // refused unprocessed: safe for POST too
			}
		}
		if resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented {
			return idempotent(resp.Request.Method), nil
		}
		return false, nil
	}
}

// methodOf finds the request method of a failed attempt from the
// *url.Error the inner client returns; unknown counts as POST (not retried).
func methodOf(resp *http.Response, err error) string {
	if resp != nil && resp.Request != nil {
		return resp.Request.Method
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return strings.ToUpper(ue.Op)
	}
	return http.MethodPost
}

func backoff(cfg HTTPConfig) retryablehttp.Backoff {
	return func(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
		if resp != nil {
			if s, ok := retryAfter(resp, time.Now()); ok {
				return time.Duration(s * float64(cfg.RetryAfterUnit))
			}
		}
		d := min << attempt
		if d <= 0 || d > max {
			d = max
		}
		return d
	}
}
