package panel

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tinyforge/tinyforge-check/gitops"
)

// texts returns a message's texts: the plain text, or every plural form's, keyed by form ("" for
// a plain text).
func texts(e entry) map[string]string {
	if e.Forms == nil {
		return map[string]string{"": e.Text}
	}
	return e.Forms
}

func TestCataloguesHaveSameKeys(t *testing.T) {
	cats, err := loadCatalogues()
	if err != nil {
		t.Fatal(err)
	}
	en := cats["en"]
	for _, lang := range languages[1:] {
		if diff := cmp.Diff(en.keys(), cats[lang].keys()); diff != "" {
			t.Errorf("%s keys differ from en (-en +%s):\n%s", lang, lang, diff)
		}
	}
	verbs := regexp.MustCompile(`%(\[\d+\])?[a-z]`)
	for _, lang := range languages {
		for k, e := range cats[lang].entries {
			enEntry := en.entries[k]
			if (e.Forms == nil) != (enEntry.Forms == nil) {
				t.Errorf("%s %s: plural in one language, plain in the other", lang, k)
				continue
			}
			want := enEntry.Text
			if enEntry.Forms != nil {
				want = enEntry.Forms["other"]
			}
			for form, v := range texts(e) {
				if strings.TrimSpace(v) == "" {
					t.Errorf("%s %s %s is empty", lang, k, form)
				}
				if diff := cmp.Diff(verbs.FindAllString(want, -1), verbs.FindAllString(v, -1)); diff != "" {
					t.Errorf("%s %s %s has other format verbs than en (-en +%s):\n%s", lang, k, form, lang, diff)
				}
				if e.Forms != nil && !strings.HasPrefix(verbs.FindString(v), "%d") {
					t.Errorf("%s %s %s: a plural message's first verb must be the count's %%d, got %q", lang, k, form, v)
				}
			}
			// A text without verbs is printed exactly as written: x/text must not read any
			// of it as a placeholder.
			if e.Forms == nil && !strings.Contains(e.Text, "%") {
				if got := cats[lang].T(k); got != e.Text {
					t.Errorf("%s %s prints as %q, want %q", lang, k, got, e.Text)
				}
			}
		}
	}
}

// TestPluralForms checks real plural forms: Russian picks one/few/many by CLDR's rules (1 and 21
// "one", 2 "few", 5 and 11 "many"), English one/other, in the list's drift label, the Sync result
// and the drift summary.
func TestPluralForms(t *testing.T) {
	cats, err := loadCatalogues()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		lang, key string
		n         int
		want      string
	}{
		{"en", "list.drift", 1, "drift: 1 field"},
		{"en", "list.drift", 2, "drift: 2 fields"},
		{"ru", "list.drift", 1, "расхождение: 1 поле"},
		{"ru", "list.drift", 2, "расхождение: 2 поля"},
		{"ru", "list.drift", 5, "расхождение: 5 полей"},
		{"ru", "list.drift", 11, "расхождение: 11 полей"},
		{"ru", "list.drift", 21, "расхождение: 21 поле"},
		{"en", "sync.done", 1, "Sync applied 1 change from commit abc."},
		{"en", "sync.done", 2, "Sync applied 2 changes from commit abc."},
		{"ru", "sync.done", 1, "Sync применил 1 изменение из коммита abc."},
		{"ru", "sync.done", 2, "Sync применил 2 изменения из коммита abc."},
		{"ru", "sync.done", 5, "Sync применил 5 изменений из коммита abc."},
		{"ru", "sync.done", 21, "Sync применил 21 изменение из коммита abc."},
		{"en", "gitops.invalid", 1, "The file has 1 error; fix it and push."},
		{"en", "gitops.invalid", 2, "The file has 2 errors; fix them and push."},
		{"ru", "gitops.invalid", 1, "В файле 1 ошибка; исправьте её и отправьте изменения."},
		{"ru", "gitops.invalid", 2, "В файле 2 ошибки; исправьте их и отправьте изменения."},
		{"ru", "gitops.invalid", 5, "В файле 5 ошибок; исправьте их и отправьте изменения."},
		{"ru", "gitops.invalid", 21, "В файле 21 ошибка; исправьте её и отправьте изменения."},
		{"ru", "login.rate_limited", 1, "Слишком много неудачных попыток входа с вашего адреса. Повторите через 1 минуту."},
		{"ru", "login.rate_limited", 2, "Слишком много неудачных попыток входа с вашего адреса. Повторите через 2 минуты."},
		{"ru", "login.rate_limited", 5, "Слишком много неудачных попыток входа с вашего адреса. Повторите через 5 минут."},
		{"ru", "login.rate_limited", 21, "Слишком много неудачных попыток входа с вашего адреса. Повторите через 21 минуту."},
		{"en", "login.rate_limited", 1, "Too many failed sign-ins from your address. Try again in 1 minute."},
		{"en", "login.rate_limited", 2, "Too many failed sign-ins from your address. Try again in 2 minutes."},
	}
	for _, tt := range tests {
		args := []any{tt.n}
		if tt.key == "sync.done" {
			args = append(args, "abc")
		}
		if got := cats[tt.lang].T(tt.key, args...); got != tt.want {
			t.Errorf("%s %s(%d) = %q, want %q", tt.lang, tt.key, tt.n, got, tt.want)
		}
	}
	// Every plural message has a distinct text for each Russian form the rules use.
	for _, k := range cats["ru"].keys() {
		e := cats["ru"].entries[k]
		if e.Forms == nil {
			continue
		}
		args := func(n int) []any {
			a := []any{n}
			for range strings.Count(e.Forms["other"], "%") - 1 {
				a = append(a, "x")
			}
			return a
		}
		one, few, many := cats["ru"].T(k, args(1)...), cats["ru"].T(k, args(2)...), cats["ru"].T(k, args(5)...)
		if strings.Replace(one, "1", "5", 1) == many || strings.Replace(few, "2", "5", 1) == many {
			t.Errorf("ru %s: the forms for 1, 2 and 5 are not all different: %q, %q, %q", k, one, few, many)
		}
	}
}

// TestCatalogueRefusesWrongPluralForms: a plural message must have every form its language's
// rules use, and none the language does not have.
func TestCatalogueRefusesWrongPluralForms(t *testing.T) {
	en := `{"m": {"one": "%d thing", "other": "%d things"}}`
	ru := `{"m": {"one": "%d вещь", "few": "%d вещи", "many": "%d вещей", "other": "%d вещи"}}`
	if _, err := parseCatalogues(map[string][]byte{"en": []byte(en), "ru": []byte(ru)}); err != nil {
		t.Fatalf("valid catalogues refused: %v", err)
	}
	tests := []struct{ name, en, ru, want string }{
		{"ru without few", en, `{"m": {"one": "%d вещь", "many": "%d вещей", "other": "%d вещи"}}`, `"few" is missing`},
		{"en without other", `{"m": {"one": "%d thing"}}`, ru, `"other" is missing`},
		{"en with few", `{"m": {"one": "%d thing", "few": "%d things", "other": "%d things"}}`, ru, "not supported"},
	}
	for _, tt := range tests {
		_, err := parseCatalogues(map[string][]byte{"en": []byte(tt.en), "ru": []byte(tt.ru)})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one saying %s", tt.name, err, tt.want)
		}
	}
}

// usedKeys collects every catalogue key the templates and the Go code use: `t "key"` in
// templates, key-like string literals in non-test Go files, and the keys built at render time
// from a prefix (status., role., severity.) expanded over their values.
func usedKeys(t *testing.T, namespaces map[string]bool) map[string]string {
	t.Helper()
	used := map[string]string{}
	tmpls, _ := filepath.Glob("templates/*.html")
	tRE := regexp.MustCompile(`\bt "([^"]+)"`)
	printRE := regexp.MustCompile(`\bt \(print "([a-z_]+\.)"`)
	dynamic := map[string][]string{
		"status.":   {string(gitops.StatusDisabled), string(gitops.StatusOK), string(gitops.StatusNoFile), string(gitops.StatusFetchFailed), string(gitops.StatusInvalid)},
		"role.":     {RoleViewer, RoleAdmin},
		"severity.": {string(gitops.SeverityError), string(gitops.SeverityWarning)},
	}
	for _, f := range tmpls {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range tRE.FindAllStringSubmatch(string(data), -1) {
			used[m[1]] = f
		}
		for _, m := range printRE.FindAllStringSubmatch(string(data), -1) {
			vals, ok := dynamic[m[1]]
			if !ok {
				t.Errorf("%s builds keys with prefix %q: list its values in this test", f, m[1])
			}
			for _, v := range vals {
				used[m[1]+v] = f
			}
		}
		if strings.Contains(string(data), "statusKey") {
			for _, v := range dynamic["status."] {
				used["status."+v] = f
			}
		}
	}
	gofiles, _ := filepath.Glob("*.go")
	litRE := regexp.MustCompile(`"([a-z]+)\.([a-z_]+)"`)
	for _, f := range gofiles {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range litRE.FindAllStringSubmatch(string(data), -1) {
			if namespaces[m[1]] {
				used[m[1]+"."+m[2]] = f
			}
		}
	}
	return used
}

func TestEveryUsedKeyExists(t *testing.T) {
	cats, err := loadCatalogues()
	if err != nil {
		t.Fatal(err)
	}
	namespaces := map[string]bool{}
	for _, k := range cats["en"].keys() {
		ns, _, _ := strings.Cut(k, ".")
		namespaces[ns] = true
	}
	used := usedKeys(t, namespaces)
	if len(used) < 50 {
		t.Fatalf("found only %d used keys; the scan is broken", len(used))
	}
	for _, lang := range languages {
		for k, where := range used {
			if _, ok := cats[lang].entries[k]; !ok {
				t.Errorf("%s uses %q, missing from i18n/%s.json", where, k, lang)
			}
		}
	}
	var unused []string
	for _, k := range cats["en"].keys() {
		if _, ok := used[k]; !ok {
			unused = append(unused, k)
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Errorf("catalogue keys no page or code uses (remove them or use them): %q", unused)
	}
}
