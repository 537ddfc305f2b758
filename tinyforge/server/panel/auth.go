package panel

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge-check/internal/secret"
	"github.com/tinyforge/tinyforge-check/tinyforge"
)

type loginPage struct {
	base
	Next      string
	LoginCSRF string
}

// loginPage shows the sign-in form with a fresh login-CSRF token in a cookie and the form.
func (p *Panel) loginPage(w http.ResponseWriter, r *http.Request) {
	var n *notice
	if r.URL.Query().Get("expired") != "" {
		n = &notice{Kind: "warn", Key: "login.expired"}
	}
	p.showLogin(w, r, http.StatusOK, n)
}

func (p *Panel) showLogin(w http.ResponseWriter, r *http.Request, status int, n *notice) {
	b := p.base(r, nil, "login")
	b.Notice = p.show(b.Lang, n)
	next := r.URL.Query().Get("next")
	if r.Method == http.MethodPost {
		next = r.PostForm.Get("next")
	}
	tok := randomToken()
	http.SetCookie(w, &http.Cookie{
		Name: p.loginCookie(), Value: tok, Path: "/", HttpOnly: true, Secure: p.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: 3600,
	})
	p.render(w, b.Lang, "login", status, loginPage{base: b, Next: safeNext(next), LoginCSRF: tok})
}

// login exchanges an API token for a session: a login-CSRF check, a fresh session id (never a
// reused one), and a redirect to a local next path only. Only failures are throttled: past
// MaxFailedSignIns failures per client address per window, a wrong token is answered 429 (so
// guessing slows down), but a valid token still signs in. Behind a reverse proxy every user has
// the proxy's address, and one stranger's wrong tokens must not lock everyone else out. Tokens
// carry 256 random bits, so answering a guess while throttled reveals nothing useful.
func (p *Panel) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		p.renderError(w, r, nil, http.StatusRequestEntityTooLarge, "error.form", "")
		return
	}
	c, err := r.Cookie(p.loginCookie())
	if err != nil || !sameToken(c.Value, r.PostForm.Get("csrf")) {
		p.showLogin(w, r, http.StatusForbidden, &notice{Kind: "error", Key: "error.csrf"})
		return
	}
	ip, now := clientIP(r), p.now()
	token := strings.TrimSpace(r.PostForm.Get("token"))
	if token == "" {
		p.showLogin(w, r, http.StatusBadRequest, &notice{Kind: "error", Key: "login.empty"})
		return
	}
	pr, err := p.backend.Authenticate(r.Context(), token)
	if err != nil {
		if !errors.Is(err, tinyforge.ErrUnauthorized) {
			p.log.Error("sign-in: authenticate", "err", secret.Redact(err.Error(), token))
			p.showLogin(w, r, http.StatusBadGateway, &notice{Kind: "error", Key: "error.backend"})
			return
		}
		if blocked, wait := p.limiter.blocked(ip, now); blocked {
			minutes := int(math.Ceil(wait.Minutes()))
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
			p.showLogin(w, r, http.StatusTooManyRequests, &notice{Kind: "error", Key: "login.rate_limited", Args: []any{minutes}})
			return
		}
		p.limiter.fail(ip, now)
		p.showLogin(w, r, http.StatusUnauthorized, &notice{Kind: "error", Key: "login.bad_token"})
		return
	}
	// A success does not clear the address's failures: behind a proxy they are someone else's.
	if old, err := r.Cookie(p.sessionCookie()); err == nil {
		p.sessions.delete(old.Value)
	}
	s := p.sessions.create(pr, now)
	p.setSessionCookie(w, s.id)
	http.SetCookie(w, &http.Cookie{Name: p.loginCookie(), Value: "", Path: "/", HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	next := safeNext(r.PostForm.Get("next"))
	if isWorkloadPath(next) {
		next += "#gitops"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// isWorkloadPath reports whether next is a workload page (/apps/{id} with an optional query),
// where sign-in lands on the GitOps panel as the PR comment's link intends.
func isWorkloadPath(next string) bool {
	path, _, _ := strings.Cut(next, "?")
	rest, ok := strings.CutPrefix(path, "/apps/")
	if !ok || rest == "" || strings.Contains(next, "#") {
		return false
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// logout ends the session and clears its cookie.
func (p *Panel) logout(w http.ResponseWriter, r *http.Request, rq request) {
	p.sessions.delete(rq.s.id)
	http.SetCookie(w, &http.Cookie{Name: p.sessionCookie(), Value: "", Path: "/", HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// setLang remembers the chosen language for a year and returns to the local next path.
func (p *Panel) setLang(w http.ResponseWriter, r *http.Request) {
	lang := r.PathValue("lang")
	if !supported(lang) {
		p.renderError(w, r, nil, http.StatusNotFound, "error.not_found", "")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", Secure: p.secure, SameSite: http.SameSiteLaxMode, MaxAge: int((365 * 24 * time.Hour).Seconds())})
	http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
}
