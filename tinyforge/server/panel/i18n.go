package panel

import (
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tinyforge/tinyforge-check/gitops"
	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

// Languages the panel speaks; the first is the fallback.
var languages = []string{"en", "ru"}

// langCookie remembers the language chosen with the switch.
const langCookie = "tf_lang"

//go:embed i18n/*.json
var catalogueFS embed.FS

// entry is one message of a catalogue file: a plain text, or, for a message about a count,
// one text per CLDR plural form ("one", "few", "many", "other", ...). The count is always the
// message's first argument. Texts may hold fmt verbs.
type entry struct {
	Text  string
	Forms map[string]string
}

// UnmarshalJSON reads a JSON string as a plain text and a JSON object as plural forms.
func (e *entry) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '{' {
		return json.Unmarshal(data, &e.Forms)
	}
	return json.Unmarshal(data, &e.Text)
}

// catalogue is one language's messages, formatted with golang.org/x/text/message so that a
// count picks the plural form the language's CLDR rules ask for (Russian: 1, 21 "one"; 2, 22
// "few"; 5, 11 "many").
type catalogue struct {
	entries map[string]entry
	printer *message.Printer
}

// loadCatalogues reads every embedded catalogue, keyed by language.
func loadCatalogues() (map[string]*catalogue, error) {
	files := map[string][]byte{}
	for _, lang := range languages {
		data, err := catalogueFS.ReadFile("i18n/" + lang + ".json")
		if err != nil {
			return nil, fmt.Errorf("read the %s catalogue: %w", lang, err)
		}
		files[lang] = data
	}
	return parseCatalogues(files)
}

// parseCatalogues builds the catalogues from each language's JSON, checking every plural
// message against the language's plural rules: each form the rules use must be there, and no
// form the language does not have.
func parseCatalogues(files map[string][]byte) (map[string]*catalogue, error) {
	b := catalog.NewBuilder(catalog.Fallback(language.English))
	out := map[string]*catalogue{}
	for _, lang := range languages {
		tag := language.MustParse(lang)
		data, ok := files[lang]
		if !ok {
			return nil, fmt.Errorf("no %s catalogue", lang)
		}
		var entries map[string]entry
		if err := json.Unmarshal(data, &entries); err != nil {
			return nil, fmt.Errorf("parse i18n/%s.json: %w; fix the JSON", lang, err)
		}
		need := pluralForms(tag)
		for key, e := range entries {
			if e.Forms == nil {
				if err := b.SetString(tag, key, e.Text); err != nil {
					return nil, fmt.Errorf("i18n/%s.json %s: %w", lang, key, err)
				}
				continue
			}
			for _, f := range need {
				if e.Forms[f] == "" {
					return nil, fmt.Errorf("i18n/%s.json %s: the plural form %q is missing (%s needs %s)", lang, key, f, lang, strings.Join(need, ", "))
				}
			}
			cases := make([]any, 0, 2*len(e.Forms))
			for _, f := range sortedForms(e.Forms) {
				cases = append(cases, f, e.Forms[f])
			}
			if err := b.Set(tag, key, plural.Selectf(1, "%d", cases...)); err != nil {
				return nil, fmt.Errorf("i18n/%s.json %s: %w", lang, key, err)
			}
		}
		out[lang] = &catalogue{entries: entries, printer: message.NewPrinter(tag, message.Catalog(b))}
	}
	return out, nil
}

// pluralForms lists the plural forms a message about a whole count needs in a language: the
// forms CLDR's cardinal rules give the numbers 0 to 199 (the rules repeat beyond), plus "other",
// the catch-all every message must have.
func pluralForms(tag language.Tag) []string {
	names := map[plural.Form]string{plural.Zero: "zero", plural.One: "one", plural.Two: "two", plural.Few: "few", plural.Many: "many", plural.Other: "other"}
	set := map[string]bool{"other": true}
	for n := 0; n < 200; n++ {
		set[names[plural.Cardinal.MatchPlural(tag, n, 0, 0, 0, 0)]] = true
	}
	return sortedForms(set)
}

// formOrder is CLDR's order of plural forms; "other" comes last because it matches anything.
var formOrder = []string{"zero", "one", "two", "few", "many", "other"}

// sortedForms returns the keys of forms in CLDR order; unknown keys (refused later by
// plural.Selectf) come first, sorted.
func sortedForms[V any](forms map[string]V) []string {
	out := make([]string, 0, len(forms))
	for f := range forms {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := slices.Index(formOrder, out[i]), slices.Index(formOrder, out[j])
		if a != b {
			return a < b
		}
		return out[i] < out[j]
	})
	return out
}

// T returns the text of key with args applied; a plural message picks its form by the first
// argument. A missing key renders as the key itself, so a gap is visible rather than blank (the
// catalogue tests keep it from happening). Numbers are formatted for the language (1,000 or
// 1 000), so identifiers and years are passed as strings.
func (c *catalogue) T(key string, args ...any) string {
	if _, ok := c.entries[key]; !ok {
		return key
	}
	return c.printer.Sprintf(key, args...)
}

// value renders a compared value: gitops.Unset, the placeholder of a missing live value, in the
// catalogue's language, anything else as it is.
func (c *catalogue) value(v string) string {
	if v == gitops.Unset {
		return c.T("drift.unset")
	}
	return v
}

// keys returns the catalogue's keys, sorted.
func (c *catalogue) keys() []string {
	out := make([]string, 0, len(c.entries))
	for k := range c.entries {
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
