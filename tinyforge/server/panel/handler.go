package panel

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/internal/secret"
	"github.com/tinyforge/tinyforge-check/tinyforge"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// pageNames are the page templates; each is parsed with layout.html.
var pageNames = []string{"list", "workload", "confirm", "edit", "login", "error"}

// Panel serves the panel pages. Build it with New; the zero value is not usable.
type Panel struct {
	backend  Backend
	secure   bool
	now      func() time.Time
	log      *slog.Logger
	sessions *sessions
	limiter  *limiter
	// listTimeout bounds the workload list's GitOps views.
	listTimeout time.Duration
	cats        map[string]*catalogue
	// pages maps language, then page name, to its parsed template set.
	pages map[string]map[string]*template.Template
	mux   *http.ServeMux
	cop   *http.CrossOriginProtection
	// known is the list's last known state of each workload.
	known *knownStates
}

// New returns the panel for cfg, mounting GET /apps, GET /apps/{id}, GET /apps/{id}/edit,
// GET /apps/{id}/sync (the confirm page without JavaScript), POST /apps/{id}/gitops,
// POST /apps/{id}/sync, POST /apps/{id}/edit, GET and POST /login, POST /logout,
// GET /lang/{lang}, GET /assets/ and GET / (a redirect to /apps). Mount it at "/" beside the
// API routes. It panics when cfg.Backend is nil: that is a wiring mistake, not a runtime state.
func New(cfg Config) http.Handler {
	p, err := build(cfg)
	if err != nil {
		panic("panel: " + err.Error())
	}
	return p
}

func build(cfg Config) (*Panel, error) {
	if cfg.Backend == nil {
		return nil, errors.New("Config.Backend is required")
	}
	p := &Panel{backend: cfg.Backend, secure: cfg.Secure, now: cfg.Now, log: cfg.Logger}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	idle := cfg.SessionIdle
	if idle <= 0 {
		idle = DefaultSessionIdle
	}
	maxFails, window := cfg.MaxFailedSignIns, cfg.FailedSignInWindow
	if maxFails <= 0 {
		maxFails = DefaultMaxFailedSignIns
	}
	if window <= 0 {
		window = DefaultFailedSignInWindow
	}
	p.known = &knownStates{m: map[int64]state{}}
	p.listTimeout = cfg.ListTimeout
	if p.listTimeout <= 0 {
		p.listTimeout = DefaultListTimeout
	}
	p.sessions = newSessions(idle)
	p.limiter = newLimiter(maxFails, window)
	cats, err := loadCatalogues()
	if err != nil {
		return nil, err
	}
	p.cats = cats
	if p.pages, err = parsePages(cats); err != nil {
		return nil, err
	}
	p.cop = http.NewCrossOriginProtection()
	p.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.renderError(w, r, nil, http.StatusForbidden, "error.cross_origin", "")
	}))
	p.routes()
	return p, nil
}

// parsePages parses layout.html with each page, once per language, with "t" (a message), "when"
// (a time) and "value" (a compared value) bound to that language's catalogue.
func parsePages(cats map[string]*catalogue) (map[string]map[string]*template.Template, error) {
	out := map[string]map[string]*template.Template{}
	for lang, cat := range cats {
		out[lang] = map[string]*template.Template{}
		funcs := template.FuncMap{
			"t":         cat.T,
			"when":      cat.when,
			"value":     cat.value,
			"short":     gitops.ShortSHA,
			"statusKey": func(s string) string { return "status." + s },
		}
		for _, name := range pageNames {
			t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/"+name+".html")
			if err != nil {
				return nil, fmt.Errorf("parse template %s: %w", name, err)
			}
			out[lang][name] = t
		}
	}
	return out, nil
}

func (p *Panel) routes() {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assetFS, "assets")
	files := http.StripPrefix("/assets/", http.FileServerFS(static))
	mux.Handle("GET /assets/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Files only: a folder (the listing http.FileServer would print) is not found.
		name := strings.TrimPrefix(r.URL.Path, "/assets/")
		if st, err := fs.Stat(static, strings.TrimSuffix(name, "/")); name == "" || err != nil || st.IsDir() {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/apps", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /login", p.loginPage)
	mux.HandleFunc("POST /login", p.login)
	mux.HandleFunc("POST /logout", p.authed(p.logout))
	mux.HandleFunc("GET /lang/{lang}", p.setLang)
	mux.HandleFunc("GET /apps", p.authed(p.listPage))
	mux.HandleFunc("GET /apps/{id}", p.authed(p.workloadPage))
	mux.HandleFunc("GET /apps/{id}/sync", p.authed(p.confirmPage))
	mux.HandleFunc("POST /apps/{id}/sync", p.authed(p.sync))
	mux.HandleFunc("POST /apps/{id}/gitops", p.authed(p.setGitOps))
	mux.HandleFunc("GET /apps/{id}/edit", p.authed(p.editPage))
	mux.HandleFunc("POST /apps/{id}/edit", p.authed(p.saveEdit))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p.renderError(w, r, nil, http.StatusNotFound, "error.not_found", "")
	})
	p.mux = mux
}

// ServeHTTP sets the security headers and serves the route.
func (p *Panel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	}
	p.cop.Handler(p.mux).ServeHTTP(w, r)
}

// sessionCookie is the session cookie's name: __Host- prefixed when Secure, which binds it to
// this host and path "/".
func (p *Panel) sessionCookie() string {
	if p.secure {
		return "__Host-tf_session"
	}
	return "tf_session"
}

// loginCookie holds the sign-in form's CSRF token before there is a session.
func (p *Panel) loginCookie() string {
	if p.secure {
		return "__Host-tf_login"
	}
	return "tf_login"
}

// request is one authenticated request's context.
type request struct {
	s    session
	lang string
}

type authedFunc func(w http.ResponseWriter, r *http.Request, rq request)

// authed resolves the session (sending a page request without one to the sign-in page), checks
// the CSRF token of every POST, and slides the session cookie's expiry.
func (p *Panel) authed(h authedFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var s session
		ok := false
		if c, err := r.Cookie(p.sessionCookie()); err == nil {
			s, ok = p.sessions.get(c.Value, p.now())
		}
		if !ok {
			if r.Method == http.MethodGet || r.Method == http.MethodHead { // HEAD is answered like GET
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			p.renderError(w, r, nil, http.StatusForbidden, "error.signed_out", "")
			return
		}
		rq := request{s: s, lang: p.lang(r)}
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				p.renderError(w, r, &rq, http.StatusRequestEntityTooLarge, "error.form", "")
				return
			}
			if !sameToken(r.PostForm.Get("csrf"), s.csrf) {
				p.renderError(w, r, &rq, http.StatusForbidden, "error.csrf", "")
				return
			}
		}
		p.setSessionCookie(w, s.id)
		h(w, r, rq)
	}
}

func (p *Panel) setSessionCookie(w http.ResponseWriter, id string) {
	http.SetCookie(w, &http.Cookie{
		Name: p.sessionCookie(), Value: id, Path: "/", HttpOnly: true, Secure: p.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(p.sessions.idle / time.Second),
	})
}

// lang is the request's language: the switch's cookie, else Accept-Language.
func (p *Panel) lang(r *http.Request) string {
	cookie := ""
	if c, err := r.Cookie(langCookie); err == nil {
		cookie = c.Value
	}
	return negotiate(cookie, r.Header.Get("Accept-Language"))
}

// base is what every page template gets.
type base struct {
	Lang string
	// Page is the page's name, for the <body> class.
	Page string
	// User is the signed-in principal; nil on the sign-in page.
	User *Principal
	CSRF string
	// Here is the current request URI, for the language switch's return.
	Here   string
	Notice *shownNotice
	// Languages lists the switch's choices.
	Languages []string
}

// shownNotice is a notice with its text resolved in the page's language.
type shownNotice struct {
	Kind, Text, Detail string
}

func (p *Panel) base(r *http.Request, rq *request, page string) base {
	b := base{Page: page, Here: r.URL.RequestURI(), Languages: languages}
	if rq != nil {
		b.Lang = rq.lang
		u := rq.s.p
		u.Credential = ""
		b.User = &u
		b.CSRF = rq.s.csrf
	} else {
		b.Lang = p.lang(r)
	}
	return b
}

func (p *Panel) show(lang string, n *notice) *shownNotice {
	if n == nil {
		return nil
	}
	return &shownNotice{Kind: n.Kind, Text: p.cats[lang].T(n.Key, n.Args...), Detail: n.Detail}
}

// render executes page into a buffer first, so a template error never sends half a page.
func (p *Panel) render(w http.ResponseWriter, lang, page string, status int, data any) {
	t := p.pages[lang][page]
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		p.log.Error("render page", "page", page, "err", err)
		http.Error(w, "internal error: the page could not be rendered; see the server log", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type errorPage struct {
	base
	Status int
	Title  string
}

// renderError shows an error page with status, a catalogue key and an optional detail.
func (p *Panel) renderError(w http.ResponseWriter, r *http.Request, rq *request, status int, key, detail string) {
	b := p.base(r, rq, "error")
	b.Notice = p.show(b.Lang, &notice{Kind: "error", Key: key, Detail: detail})
	p.render(w, b.Lang, "error", status, errorPage{base: b, Status: status})
}

// backendError shows a failed Backend call: the session ends on 401, other errors map to their
// status with the backend's (redacted) message.
func (p *Panel) backendError(w http.ResponseWriter, r *http.Request, rq request, err error) {
	status, key := errorStatus(err)
	if status == http.StatusUnauthorized {
		p.sessions.delete(rq.s.id)
		http.Redirect(w, r, "/login?expired=1&next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	if status >= 500 {
		p.log.Error("backend call failed", "path", r.URL.Path, "err", secret.Redact(err.Error(), rq.s.p.Credential))
	}
	p.renderError(w, r, &rq, status, key, errorDetail(err, rq.s.p.Credential))
}

// errorStatus maps a Backend error to the page's status and catalogue key.
func errorStatus(err error) (int, string) {
	switch {
	case errors.Is(err, tinyforge.ErrUnauthorized):
		return http.StatusUnauthorized, "error.signed_out"
	case errors.Is(err, tinyforge.ErrForbidden):
		return http.StatusForbidden, "error.forbidden"
	case errors.Is(err, tinyforge.ErrNotFound):
		return http.StatusNotFound, "error.not_found"
	case errors.Is(err, tinyforge.ErrConflict):
		return http.StatusConflict, "error.conflict"
	case errors.Is(err, tinyforge.ErrInvalid):
		var ae *tinyforge.APIError
		if errors.As(err, &ae) && ae.StatusCode == http.StatusBadRequest {
			return http.StatusBadRequest, "error.invalid"
		}
		return http.StatusUnprocessableEntity, "error.invalid"
	}
	return http.StatusBadGateway, "error.backend"
}

// errorDetail is the message of a Backend error a person may read: an APIError's server
// message, with the principal's credential redacted. Other errors stay in the log.
func errorDetail(err error, credential string) string {
	var ae *tinyforge.APIError
	if errors.As(err, &ae) {
		return secret.Redact(ae.Message, credential)
	}
	return ""
}

// workloadID parses the {id} path value; ids are positive integers.
func workloadID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// safeNext returns next when it is a local path (one leading "/", no scheme, host, backslash or
// control character), else "/apps". It keeps sign-in and the language switch from becoming
// open redirects.
func safeNext(next string) string {
	const fallback = "/apps"
	if next == "" || len(next) > 2048 || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\") {
		return fallback
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f {
			return fallback
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return fallback
	}
	return next
}
