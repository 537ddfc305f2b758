package checker

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/gitops"
)

// Tag says, for one declared field of a PR, how this branch relates to the base branch and live.
type Tag string

// The row tags.
const (
	// TagInSync: this branch equals live.
	TagInSync Tag = "in sync"
	// TagChanged: this PR changes the field, to a value that differs from live.
	TagChanged Tag = "changed by this PR"
	// TagDrifted: the base branch already declared this value and live differs.
	TagDrifted Tag = "already drifted"
	// TagReverts: the base branch differed from live and this PR brings it back to live.
	TagReverts Tag = "PR reverts drift"
	// TagDiffers: outside a PR, the file differs from live.
	TagDiffers Tag = "differs from live"
	// TagUnmanaged: the base branch declared the field and this PR removes it.
	TagUnmanaged Tag = "no longer managed by this PR"
)

// Placeholder values in rows.
const (
	// NotDeclared: the file does not declare the field.
	NotDeclared = "(not declared)"
	// NoBaseFile: the base branch has no file.
	NoBaseFile = "(no file)"
	// BaseInvalid: the base branch's file is invalid.
	BaseInvalid = "(invalid file)"
	// BaseUnavailable: the base branch's file could not be read.
	BaseUnavailable = "(unavailable)"
)

// Row is one declared field of the drift table.
type Row struct {
	// Field is the dotted path, e.g. "deploy.port".
	Field string
	// Base is the base branch's value on a PR (or a placeholder); "" outside a PR.
	Base string
	// Head is this branch's (or commit's) value, or NotDeclared.
	Head string
	// Live is the live value, gitops.Unset when missing.
	Live string
	// Drift reports whether Head differs from Live; false for an undeclared Head.
	Drift bool
	// Tag relates the three values.
	Tag Tag
}

// baseFile is the base branch's side of a PR's drift table: the base file's comparisons with
// live, or the placeholder every base cell shows when they are unknown.
type baseFile struct {
	// Comparisons are the fields the base file declares, compared with live.
	Comparisons []gitops.Comparison
	// Placeholder is NoBaseFile, BaseInvalid or BaseUnavailable, or "" when Comparisons hold
	// the base's values.
	Placeholder string
}

// readBase reads a PR's base branch file at path and compares it with live, for the drift
// table's base column; nil outside a PR. err is a read failure (other than a missing file) worth
// a warning: the base column then says BaseUnavailable.
func (c *Checker) readBase(ctx context.Context, pr *PullRequest, path string, live json.RawMessage, files *fileReads) (*baseFile, error) {
	if pr == nil {
		return nil, nil
	}
	if c.Files == nil || pr.BaseSHA == "" {
		return &baseFile{Placeholder: BaseUnavailable}, nil
	}
	data, err := files.start(ctx, pr.BaseSHA, path).wait(ctx)
	switch {
	case errors.Is(err, forge.ErrFileNotFound):
		return &baseFile{Placeholder: NoBaseFile}, nil
	case err != nil:
		return &baseFile{Placeholder: BaseUnavailable}, err
	}
	return compareBase(data, live), nil
}

// compareBase compares the base branch's file with live. The base file is linted without a
// source type: the base column shows what the base declared, whether or not it was valid for
// this workload.
func compareBase(data []byte, live json.RawMessage) *baseFile {
	spec, _ := gitops.Lint(data, "")
	if spec == nil {
		return &baseFile{Placeholder: BaseInvalid}
	}
	comps, err := gitops.Compare(spec, "", live)
	if err != nil {
		return &baseFile{Placeholder: BaseUnavailable}
	}
	return &baseFile{Comparisons: comps}
}

// rows builds the drift table from this branch's comparisons with live: outside a PR (base nil)
// one row per declared field, tagged in sync or differs; on a PR one row per field declared on
// this branch or the base, in schema order, tagged by how the three values relate.
func rows(head []gitops.Comparison, base *baseFile) []Row {
	if base == nil {
		return commitRows(head)
	}
	return prRows(head, *base)
}

// commitRows is the two-column table of a run without a PR.
func commitRows(head []gitops.Comparison) []Row {
	out := make([]Row, 0, len(head))
	for _, cp := range head {
		out = append(out, Row{Field: cp.Field, Head: cp.RepoValue, Live: cp.LiveValue, Drift: !cp.Equal,
			Tag: inSyncOr(cp.Equal, TagDiffers)})
	}
	return out
}

// prRows is the three-way table of a PR.
func prRows(head []gitops.Comparison, base baseFile) []Row {
	headBy, baseBy := byField(head), byField(base.Comparisons)
	var out []Row
	for _, f := range []string{gitops.FieldPort, gitops.FieldHealthcheck, gitops.FieldDeployStrategy} {
		h, b := headBy[f], baseBy[f]
		if h == nil && b == nil {
			continue
		}
		out = append(out, prRow(f, h, b, base.Placeholder))
	}
	return out
}

// byField indexes comparisons by field.
func byField(comps []gitops.Comparison) map[string]*gitops.Comparison {
	m := make(map[string]*gitops.Comparison, len(comps))
	for i := range comps {
		m[comps[i].Field] = &comps[i]
	}
	return m
}

// prRow is the row of one field that this branch (h) or the base (b) declares; nil means not
// declared there. placeholder, when set, stands for every base value.
func prRow(field string, h, b *gitops.Comparison, placeholder string) Row {
	row := Row{Field: field, Head: NotDeclared, Base: baseCell(b, placeholder)}
	if h == nil { // only the base declares it, so the base was read: no placeholder
		row.Live, row.Tag = b.LiveValue, TagUnmanaged
		return row
	}
	row.Head, row.Live, row.Drift = h.RepoValue, h.LiveValue, !h.Equal
	row.Tag = prTag(*h, b, placeholder)
	return row
}

// baseCell is what the base column shows for one field.
func baseCell(b *gitops.Comparison, placeholder string) string {
	switch {
	case placeholder != "":
		return placeholder
	case b != nil:
		return b.RepoValue
	}
	return NotDeclared
}

// prTag relates a field this branch declares (h) to the base (b, nil when the base does not
// declare it) and live.
func prTag(h gitops.Comparison, b *gitops.Comparison, placeholder string) Tag {
	switch {
	case placeholder != "" && placeholder != NoBaseFile: // the base is unknown: only live counts
		return inSyncOr(h.Equal, TagDiffers)
	case b != nil && b.RepoValue == h.RepoValue:
		return inSyncOr(h.Equal, TagDrifted)
	case h.Equal && b != nil && !b.Equal:
		return TagReverts
	case h.Equal:
		return TagInSync
	}
	return TagChanged
}

// inSyncOr is TagInSync when equal, else otherwise.
func inSyncOr(equal bool, otherwise Tag) Tag {
	if equal {
		return TagInSync
	}
	return otherwise
}
