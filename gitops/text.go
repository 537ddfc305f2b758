package gitops

import (
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Truncate shortens s to at most n runes (characters), the last of them "…" when it had to cut;
// n <= 0 gives "". It never splits a rune. Every width limit of the project (status
// descriptions, names in messages, values in diagnostics) is applied with it.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	return string([]rune(s)[:n-1]) + "…"
}

// ShortSHALength is how many hex digits of a commit or blob SHA are shown to people: git's
// default abbreviation.
const ShortSHALength = 7

// ShortSHA is sha abbreviated to ShortSHALength digits, for display; shorter input is returned
// as is.
func ShortSHA(sha string) string {
	if len(sha) > ShortSHALength {
		return sha[:ShortSHALength]
	}
	return sha
}

// IsSHA reports whether s is a commit SHA written in hexadecimal digits of either case: a full
// one (40 digits for SHA-1, 64 for SHA-256) when full is true, else one of ShortSHALength to 64
// digits, an abbreviation included.
func IsSHA(s string, full bool) bool {
	if full && len(s) != 40 && len(s) != 64 || len(s) < ShortSHALength || len(s) > 64 {
		return false
	}
	return strings.Trim(strings.ToLower(s), "0123456789abcdef") == ""
}

// PinnedURL is a workload's panel page pinned to the reviewed file and commit, the link of the PR
// comment and the commit status: page?file=<fileSHA>&commit=<commitSHA>#gitops, leaving out an
// empty value. It is "" when page is not an absolute http(s) URL without query or fragment: only
// such pages are linked.
func PinnedURL(page, fileSHA, commitSHA string) string {
	return PinnedPRURL(page, fileSHA, commitSHA, 0)
}

// PinnedPRURL is PinnedURL for a link made on pull request pr (its number; 0 for none), which it
// adds as pr=<pr>: the panel then says the file is proposed by that PR and, until it is merged,
// not on the branch a Sync applies.
func PinnedPRURL(page, fileSHA, commitSHA string, pr int) string {
	u, err := url.Parse(page)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" || u.RawQuery != "" {
		return ""
	}
	var q []string
	if fileSHA != "" {
		q = append(q, "file="+url.QueryEscape(fileSHA))
	}
	if commitSHA != "" {
		q = append(q, "commit="+url.QueryEscape(commitSHA))
	}
	if pr > 0 {
		q = append(q, "pr="+strconv.Itoa(pr))
	}
	s := u.String()
	if len(q) > 0 {
		s += "?" + strings.Join(q, "&")
	}
	return s + "#gitops"
}
