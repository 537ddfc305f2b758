package providers

import (
	"strings"
)

// linkNext returns the URL of the rel="next" entry of an RFC 8288 Link header
// (as GitHub and GitLab paginate), or "" when there is none or the header is
// malformed.
func linkNext(header string) string {
	for header != "" {
		header = strings.TrimLeft(header, " \t,")
		if !strings.HasPrefix(header, "<") {
			return ""
		}
		end := strings.IndexByte(header, '>')
		if end < 0 {
			return ""
		}
		target := header[1:end]
		rest := header[end+1:]
		// Parameters run until the next comma outside quotes.
		params, next := splitLinkParams(rest)
		for _, p := range params {
			k, v, ok := strings.Cut(p, "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
				continue
			}
			v = strings.Trim(strings.TrimSpace(v), `"`)
			for _, r := range strings.Fields(v) {
				if strings.EqualFold(r, "next") {
					return target
				}
			}
		}
		header = next
	}
	return ""
}

// splitLinkParams splits the ";param=value" list after one link target and
// returns the header remaining after the separating comma.
func splitLinkParams(s string) (params []string, rest string) {
	inQuote := false
	start := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			inQuote = !inQuote
		case c == ';' && !inQuote:
			if p := strings.TrimSpace(s[start:i]); p != "" {
				params = append(params, p)
			}
			start = i + 1
		case c == ',' && !inQuote:
			if p := strings.TrimSpace(s[start:i]); p != "" {
				params = append(params, p)
			}
			return params, s[i+1:]
		}
	}
	if p := strings.TrimSpace(s[start:]); p != "" {
		params = append(params, p)
	}
	return params, ""
}
