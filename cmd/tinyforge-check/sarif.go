package main

import (
	"sort"

	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/internal/buildinfo"
)

// The subset of SARIF 2.1.0 that code scanning reads.
type sarifDoc struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string             `json:"id"`
	ShortDescription     sarifMessage       `json:"shortDescription"`
	HelpURI              string             `json:"helpUri"`
	DefaultConfiguration sarifConfiguration `json:"defaultConfiguration"`
}

type sarifConfiguration struct {
	Level string `json:"level"`
}

// ruleHelpURI is where each diagnostic code is explained, with an example.
const ruleHelpURI = "https://github.com/tinyforge/tinyforge-check/blob/main/docs/file-format.md#"

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	Level     string          `json:"level"`
	Message   sarifMessage    `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

// sarifLevel is SARIF's name for a severity.
func sarifLevel(s gitops.Severity) string {
	if s == gitops.SeverityWarning {
		return "warning"
	}
	return "error"
}

// sarifLog converts lint results to one SARIF run, whose driver lists every rule the tool has
// (gitops.Rules: id, summary, default level and a link to its explanation).
func sarifLog(results []fileResult) sarifDoc {
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name:           "tinyforge-check",
			InformationURI: "https://github.com/tinyforge/tinyforge-check",
			Version:        buildinfo.Version(),
			Rules:          []sarifRule{},
		}},
		Results: []sarifResult{},
	}
	for _, r := range results {
		for _, d := range r.Diagnostics {
			loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: r.Path}}}
			if d.Line > 0 {
				loc.PhysicalLocation.Region = &sarifRegion{StartLine: d.Line, StartColumn: d.Column}
			}
			run.Results = append(run.Results, sarifResult{RuleID: d.Code, Level: sarifLevel(d.Severity), Message: sarifMessage{Text: d.Message}, Locations: []sarifLocation{loc}})
		}
	}
	for _, r := range gitops.Rules() {
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{ID: r.Code, ShortDescription: sarifMessage{Text: r.Summary},
			HelpURI: ruleHelpURI + r.Code, DefaultConfiguration: sarifConfiguration{Level: sarifLevel(r.Severity)}})
	}
	sort.Slice(run.Tool.Driver.Rules, func(i, j int) bool { return run.Tool.Driver.Rules[i].ID < run.Tool.Driver.Rules[j].ID })
	return sarifDoc{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}}
}
