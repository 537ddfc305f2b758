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
	verbs := regexp.MustCompile(`%[a-z]`)
	for _, lang := range languages {
		for k, v := range cats[lang] {
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s %s is empty", lang, k)
			}
			if diff := cmp.Diff(verbs.FindAllString(en[k], -1), verbs.FindAllString(v, -1)); diff != "" {
				t.Errorf("%s %s has other format verbs than en (-en +%s):\n%s", lang, k, lang, diff)
			}
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
	for k := range cats["en"] {
		ns, _, _ := strings.Cut(k, ".")
		namespaces[ns] = true
	}
	used := usedKeys(t, namespaces)
	if len(used) < 50 {
		t.Fatalf("found only %d used keys; the scan is broken", len(used))
	}
	for _, lang := range languages {
		for k, where := range used {
			if _, ok := cats[lang][k]; !ok {
				t.Errorf("%s uses %q, missing from i18n/%s.json", where, k, lang)
			}
		}
	}
	var unused []string
	for k := range cats["en"] {
		if _, ok := used[k]; !ok {
			unused = append(unused, k)
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Errorf("catalogue keys no page or code uses (remove them or use them): %q", unused)
	}
}
