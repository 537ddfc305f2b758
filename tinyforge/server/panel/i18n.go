package panel

import (
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Languages the panel speaks; the first is the fallback.
var languages = []string{"en", "ru"}

// langCookie remembers the language chosen with the switch.
const langCookie = "tf_lang"

//go:embed i18n/*.json
var catalogueFS embed.FS

// catalogue maps a message key to its text in one language; texts may hold fmt verbs.
type catalogue map[string]string

// loadCatalogues reads every embedded catalogue, keyed by language.
func loadCatalogues() (map[string]catalogue, error) {
	out := map[string]catalogue{}
	for _, lang := range languages {
		data, err := catalogueFS.ReadFile("i18n/" + lang + ".json")
		if err != nil {
			return nil, fmt.Errorf("read the %s catalogue: %w", lang, err)
		}
		var c catalogue
		if err := json.Unmarshal(data, &c); err != nil {
			return nil, fmt.Errorf("parse i18n/%s.json: %w; fix the JSON", lang, err)
		}
		out[lang] = c
	}
	return out, nil
}

// T returns the text of key with args applied; a missing key renders as the key itself, so a
// gap is visible rather than blank (the catalogue tests keep it from happening).
func (c catalogue) T(key string, args ...any) string {
	s, ok := c[key]
	if !ok {
		return key
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// keys returns the catalogue's keys, sorted.
func (c catalogue) keys() []string {
	out := make([]string, 0, len(c))
	for k := range c {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// supported reports whether lang is one of the panel's languages.
func supported(lang string) bool {
	for _, l := range languages {
		if l == lang {
			return true
		}
	}
	return false
}

// negotiate picks the language: the switch's cookie when valid, else the supported language the
// Accept-Language header ranks highest (ties keep header order), else English.
func negotiate(cookie, acceptLanguage string) string {
	if supported(cookie) {
		return cookie
	}
	best, bestQ := languages[0], 0.0
	if len(acceptLanguage) > 4096 {
		acceptLanguage = acceptLanguage[:4096]
	}
	for i, part := range strings.Split(acceptLanguage, ",") {
		if i >= 32 {
			break
		}
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if !supported(primary) {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.TrimSpace(k) == "q" {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				q = f
			}
		}
		if q > bestQ {
			best, bestQ = primary, q
		}
	}
	return best
}
