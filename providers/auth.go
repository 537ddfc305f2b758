package providers

import (
	"net/http"
	"net/url"
	"strings"
)

// authTransport adds one credential header to requests for exactly one origin
// (scheme, host and port). Requests anywhere else, such as the target of a
// cross-origin redirect, never carry it: the header is set on a clone per
// request, so net/http's redirect logic has nothing to copy.
type authTransport struct {
	base   http.RoundTripper
	origin string
	header string
	value  string
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for _, h := range []string{"Authorization", "Private-Token", "Job-Token"} {
		req.Header.Del(h)
	}
	if t.value != "" && origin(req.URL) == t.origin {
		req.Header.Set(t.header, t.value)
	}
	return t.base.RoundTrip(req)
}

// origin returns scheme://host:port in lower case, with the default port made
// explicit, so "https://Example.com" and "https://example.com:443" match.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host + ":" + port
}

// withAuth returns a copy of hc whose transport authenticates requests to
// base's origin with header: value. hc itself is not modified.
func withAuth(hc *http.Client, base *url.URL, header, value string) *http.Client {
	if hc == nil {
		hc = NewHTTPClient(HTTPConfig{})
	}
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	c := *hc
	c.Transport = &authTransport{base: rt, origin: origin(base), header: header, value: value}
	return &c
}
