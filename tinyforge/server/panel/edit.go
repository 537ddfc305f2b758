package panel

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"sort"
	"strconv"

	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/tinyforge"
)

// formKeys are the source_config keys the edit form shows as their own inputs, in schema
// order; every other key is edited as JSON.
var formKeys = []string{gitops.KeyPort, gitops.KeyHealthcheck, gitops.KeyDeployStrategy}

var digitsRE = regexp.MustCompile(`^[0-9]{1,5}$`)

// editForm is the edit form's values, as text.
type editForm struct {
	Port, Healthcheck, Strategy string
	// Other is the rest of source_config as a JSON object.
	Other   string
	Version int64
}

type editPage struct {
	base
	W    *tinyforge.Workload
	Form editForm
	// Managed maps the source_config keys the GitOps file declares; their inputs are
	// read-only under a banner.
	Managed map[string]bool
	// ManagedFields lists the file's fields for the banner, e.g. "deploy.port".
	ManagedFields []string
	// Path is the GitOps file's path, for the banner.
	Path string
}

func (p *Panel) editPage(w http.ResponseWriter, r *http.Request, rq request) {
	id, ok := p.pathID(w, r, rq)
	if !ok || !p.permit(w, r, rq, id, true) {
		return
	}
	p.showEdit(w, r, rq, id, nil, http.StatusOK, nil)
}

// showEdit renders the edit form with the live values, or with form (what was submitted) when
// it is not nil.
func (p *Panel) showEdit(w http.ResponseWriter, r *http.Request, rq request, id int64, form *editForm, status int, n *notice) {
	wl, err := p.backend.Workload(r.Context(), rq.s.p, id)
	if err != nil {
		p.backendError(w, r, rq, err)
		return
	}
	data := editPage{base: p.base(r, &rq, "edit"), W: wl}
	data.Notice = p.show(rq.lang, n)
	data.Managed, data.ManagedFields, data.Path = p.managed(r, rq, id)
	if form != nil {
		data.Form = *form
	} else {
		data.Form = formFromConfig(wl.SourceConfig, wl.Version)
	}
	p.render(w, rq.lang, "edit", status, data)
}

// managed returns the keys the GitOps file declares, when GitOps is enabled and the file could
// be read; an unreadable view locks nothing (the API is the authority either way).
func (p *Panel) managed(r *http.Request, rq request, id int64) (map[string]bool, []string, string) {
	view, err := p.backend.GitOps(r.Context(), rq.s.p, id)
	if err != nil || !view.Enabled {
		return map[string]bool{}, nil, ""
	}
	return managedKeys(view), view.ManagedFields, view.Path
}

// formFromConfig fills the form from a live source_config.
func formFromConfig(cfg json.RawMessage, version int64) editForm {
	f := editForm{Version: version, Other: "{}"}
	obj, err := decodeObject(cfg)
	if err != nil {
		f.Other = string(cfg)
		return f
	}
	f.Port, f.Healthcheck, f.Strategy = textOf(obj, gitops.KeyPort), textOf(obj, gitops.KeyHealthcheck), textOf(obj, gitops.KeyDeployStrategy)
	for _, k := range formKeys {
		delete(obj, k)
	}
	f.Other = prettyJSON(obj)
	return f
}

// textOf is a key's value as the form shows it; "" when missing or null.
func textOf(obj map[string]any, key string) string {
	v, ok := obj[key]
	if !ok || v == nil {
		return ""
	}
	return valueText(v)
}

func prettyJSON(obj map[string]any) string {
	if len(obj) == 0 {
		return "{}"
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(obj); err != nil {
		return "{}"
	}
	return string(bytes.TrimRight(buf.Bytes(), "\n"))
}

// errForm is a problem with the submitted form; its key names the catalogue message.
type errForm struct{ key, field string }

func (e *errForm) Error() string { return e.key + ": " + e.field }

// buildConfig turns the submitted form into the new source_config. A value equal to the live
// one keeps the live value exactly (a number stays a number); a changed value of a field the
// GitOps file manages is refused; an emptied field is removed.
func buildConfig(live json.RawMessage, f editForm, managed map[string]bool) (json.RawMessage, error) {
	liveObj, err := decodeObject(live)
	if err != nil {
		liveObj = map[string]any{}
	}
	out, err := decodeObject(json.RawMessage(f.Other))
	if err != nil {
		return nil, &errForm{key: "edit.bad_json"}
	}
	keys := make([]string, 0, len(out))
	for k := range out {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, fk := range formKeys {
			if k == fk {
				return nil, &errForm{key: "edit.key_in_json", field: k}
			}
		}
	}
	submitted := map[string]string{gitops.KeyPort: f.Port, gitops.KeyHealthcheck: f.Healthcheck, gitops.KeyDeployStrategy: f.Strategy}
	for _, k := range formKeys {
		v := submitted[k]
		if v == textOf(liveObj, k) {
			if lv, ok := liveObj[k]; ok {
				out[k] = lv
			}
			continue
		}
		if managed[k] {
			return nil, &errForm{key: "edit.managed", field: k}
		}
		switch {
		case v == "":
			// an emptied field is removed from source_config
		case k == gitops.KeyPort:
			n, err := strconv.Atoi(v)
			if !digitsRE.MatchString(v) || err != nil || n < 1 || n > 65535 {
				return nil, &errForm{key: "edit.bad_port", field: k}
			}
			out[k] = json.Number(strconv.Itoa(n))
		default:
			out[k] = v
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, &errForm{key: "edit.bad_json"}
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// saveEdit saves the edit form with the version it was read at.
func (p *Panel) saveEdit(w http.ResponseWriter, r *http.Request, rq request) {
	id, ok := p.pathID(w, r, rq)
	if !ok || !p.permit(w, r, rq, id, true) {
		return
	}
	pf := r.PostForm
	f := editForm{Port: pf.Get("port"), Healthcheck: pf.Get("healthcheck"), Strategy: pf.Get("deploy_strategy"), Other: pf.Get("other")}
	version, err := strconv.ParseInt(pf.Get("version"), 10, 64)
	if err != nil || version < 0 {
		p.showEdit(w, r, rq, id, &f, http.StatusBadRequest, &notice{Kind: "error", Key: "edit.bad_version"})
		return
	}
	f.Version = version
	wl, err := p.backend.Workload(r.Context(), rq.s.p, id)
	if err != nil {
		p.backendError(w, r, rq, err)
		return
	}
	managed, _, _ := p.managed(r, rq, id)
	cfg, err := buildConfig(wl.SourceConfig, f, managed)
	var fe *errForm
	if errors.As(err, &fe) {
		status := http.StatusBadRequest
		if fe.key == "edit.managed" {
			status = http.StatusUnprocessableEntity
		}
		var args []any
		if fe.field != "" {
			args = append(args, fe.field)
		}
		p.showEdit(w, r, rq, id, &f, status, &notice{Kind: "error", Key: fe.key, Args: args})
		return
	}
	if err := p.backend.UpdateSourceConfig(r.Context(), rq.s.p, id, cfg, version); err != nil {
		status, key := errorStatus(err)
		if status == http.StatusUnauthorized || status == http.StatusNotFound {
			p.backendError(w, r, rq, err)
			return
		}
		if status == http.StatusConflict {
			// Show the config as it is now, with the new version, and say why.
			p.showEdit(w, r, rq, id, nil, status, &notice{Kind: "error", Key: "edit.stale", Detail: errorDetail(err, rq.s.p.Credential)})
			return
		}
		p.showEdit(w, r, rq, id, &f, status, &notice{Kind: "error", Key: key, Detail: errorDetail(err, rq.s.p.Credential)})
		return
	}
	p.sessions.setFlash(rq.s.id, &notice{Kind: "ok", Key: "edit.saved"})
	http.Redirect(w, r, "/apps/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}
