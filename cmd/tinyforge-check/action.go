package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge-check/checker"
	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/internal/checkwire"
	"github.com/tinyforge/tinyforge-check/internal/secret"
	"github.com/tinyforge/tinyforge-check/providers"
	"github.com/tinyforge/tinyforge-check/tinyforge"
)

const actionUsage = `Usage: tinyforge-check action

Run one check as a CI step: lint the file, read the workload's live config from Tinyforge, set
the commit status, keep the one PR comment up to date, print annotations, and write the step
outputs and job summary. It is the default command when GITHUB_ACTIONS=true and no arguments
are given. The forge comes from the environment: GitHub or GitHub Enterprise (GITHUB_ACTIONS),
Gitea or Forgejo (GITEA_ACTIONS, FORGEJO_ACTIONS), or GitLab CI (GITLAB_CI).

Inputs come from INPUT_<NAME> variables (as the action runner sets them), else from these
variables (GitLab CI, or any runner):
  path            TINYFORGE_PATH            file path; default: Tinyforge's GitOps path, else .tinyforge.yml
  tinyforge-url   TINYFORGE_URL             Tinyforge base URL
  tinyforge-token TINYFORGE_TOKEN           Tinyforge viewer token (a secret)
  workload        TINYFORGE_WORKLOAD        workload id or name
  token           GITHUB_TOKEN; on GitLab TINYFORGE_FORGE_TOKEN, GITLAB_TOKEN, else CI_JOB_TOKEN
  job-token       (none)                    the job's own token (the action passes github.token);
                                            equal to token, it tells who the check writes as
  token-login     TINYFORGE_TOKEN_LOGIN     the user token writes as, when the forge cannot say:
                                            APP-SLUG[bot] for a GitHub App installation token
  fail-on         TINYFORGE_FAIL_ON         default invalid,error
  comment         TINYFORGE_COMMENT         auto, always or never; default auto
  status-context  TINYFORGE_STATUS_CONTEXT  default tinyforge/gitops
  report          TINYFORGE_REPORT          issue, status or none, for runs without a PR;
                                            default: issue on schedule and workflow_dispatch, else status
  issue-labels    TINYFORGE_ISSUE_LABELS    comma-separated labels for a drift issue it opens
  source-type     TINYFORGE_SOURCE_TYPE     dockerfile or static, for an offline lint
TINYFORGE_COMMENT_VERIFY_DELAY (a Go duration) raises the wait after writing the comment or
the issue before re-reading it to converge with racing runs; by default it is 3 of the run's own
round trips; 0s waits only until the re-read shows the run's writes.

Exit codes: 0 nothing to fail on, 1 invalid/no_file or drift (per fail-on), 2 usage error,
3 the check could not finish (with error in fail-on).
`

// actionDeadline bounds a whole action run, every request included.
const actionDeadline = 2 * time.Minute

// actionInput is one input of action.yml and the variable read when INPUT_<NAME> is empty.
type actionInput struct{ name, fallback string }

// actionInputs lists each input with its fallback variable, in action.yml order. The token
// input's fallbacks depend on the forge (see actionConfig).
func actionInputs() []actionInput {
	return []actionInput{
		{"path", "TINYFORGE_PATH"},
		{"tinyforge-url", "TINYFORGE_URL"},
		{"tinyforge-token", "TINYFORGE_TOKEN"},
		{"workload", "TINYFORGE_WORKLOAD"},
		{"token", ""},
		{"job-token", ""},
		{"token-login", "TINYFORGE_TOKEN_LOGIN"},
		{"fail-on", "TINYFORGE_FAIL_ON"},
		{"comment", "TINYFORGE_COMMENT"},
		{"status-context", "TINYFORGE_STATUS_CONTEXT"},
		{"report", "TINYFORGE_REPORT"},
		{"issue-labels", "TINYFORGE_ISSUE_LABELS"},
		{"source-type", "TINYFORGE_SOURCE_TYPE"},
	}
}

// actionConfig is everything the action reads from its environment.
type actionConfig struct {
	forge           checker.Forge
	forgeURL        string // the provider's BaseURL
	owner, repo     string
	token           string
	jobToken        bool   // token is GitHub's job token (or GitLab's CI_JOB_TOKEN)
	login           string // the identity token writes as (input token-login); "" asks the forge
	loginHint       string // the identity token probably has (a Gitea or Forgejo job token's)
	tinyforgeURL    string
	tinyforgeToken  string
	outputPath      string
	summaryPath     string
	githubActions   bool
	verifyDelay     time.Duration
	liveMissing     string
	in              checker.Inputs
	secretsForMasks []string
}

// env reads an environment variable without surrounding blanks (runners pad some values).
func (c *Command) env(k string) string { return strings.TrimSpace(c.Getenv(k)) }

// input returns an input's value: INPUT_<NAME> (hyphens kept, as runners set it, or as
// underscores), else its fallback variable, trimmed.
func (c *Command) input(name, fallback string) string {
	up := strings.ToUpper(name)
	for _, k := range []string{"INPUT_" + up, "INPUT_" + strings.ReplaceAll(up, "-", "_"), fallback} {
		if k == "" {
			continue
		}
		if v := c.env(k); v != "" {
			return v
		}
	}
	return ""
}

func (c *Command) runAction(args []string) int {
	flags := c.newFlagSet("action", actionUsage)
	if exit, ok := c.parseNoOperands(flags, args, "action takes no arguments; configure it with inputs (INPUT_*) or TINYFORGE_* variables"); !ok {
		return exit
	}
	cfg, err := c.actionConfig()
	// Masks come before any other output, and only on Actions runners: elsewhere the
	// ::add-mask:: line itself would print the secret.
	if cfg.githubActions {
		if err := checker.WriteMasks(c.Stdout, cfg.secretsForMasks); err != nil {
			fmt.Fprintf(c.Stderr, "tinyforge-check action: %v\n", err)
			return ExitError
		}
	}
	stdout := &redactWriter{w: c.Stdout, secrets: cfg.secretsForMasks}
	stderr := &redactWriter{w: c.Stderr, secrets: cfg.secretsForMasks}
	if err != nil {
		fmt.Fprintln(stderr, checker.Neutralize("tinyforge-check action: "+err.Error()))
		return ExitUsage
	}

	ctx, cancel := context.WithTimeout(context.Background(), actionDeadline)
	defer cancel()
	chk, err := c.actionChecker(cfg)
	if err != nil {
		fmt.Fprintln(stderr, checker.Neutralize("tinyforge-check action: "+err.Error()))
		return ExitUsage
	}
	report, err := chk.Run(ctx, cfg.in)
	if err != nil {
		fmt.Fprintln(stderr, checker.Neutralize("tinyforge-check action: "+err.Error()))
		return ExitUsage
	}
	if err := checker.WriteLog(stdout, report); err != nil {
		fmt.Fprintf(stderr, "tinyforge-check action: write the log: %v\n", err)
	}
	code := report.ExitCode()
	if cfg.summaryPath != "" {
		if err := appendFile(cfg.summaryPath, func(w io.Writer) error {
			_, err := io.WriteString(w, secret.Redact(checker.RenderSummary(report), cfg.secretsForMasks...)+"\n")
			return err
		}); err != nil {
			fmt.Fprintf(stderr, "tinyforge-check action: write the job summary: %v\n", err)
		}
	}
	if cfg.outputPath != "" {
		if err := appendFile(cfg.outputPath, func(w io.Writer) error {
			for _, o := range checker.Outputs(report) {
				if err := checker.WriteFileCommand(w, nil, o.Name, secret.Redact(o.Value, cfg.secretsForMasks...)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			fmt.Fprintf(stderr, "tinyforge-check action: write the step outputs: %v\n", err)
			if code == ExitOK {
				code = ExitError
			}
		}
	}
	return code
}

// appendFile appends to a runner file (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY). Runners make them
// regular files; anything else (a FIFO nobody reads, a device) is refused before it is opened,
// since opening or writing it could block the step past its deadline.
func appendFile(path string, write func(io.Writer) error) error {
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%s): the runner creates these files; check the variable that names it", path, st.Mode().Type())
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, unwrapPathError(err))
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// actionConfig reads the environment. It returns the secrets even with an error, so they
// can be masked before the error is printed.
func (c *Command) actionConfig() (actionConfig, error) {
	var cfg actionConfig
	cfg.githubActions = c.env("GITHUB_ACTIONS") == "true"
	switch {
	case c.env("GITLAB_CI") == "true":
		cfg.forge = checker.ForgeGitLab
	case c.env("FORGEJO_ACTIONS") == "true" || c.env("GITEA_ACTIONS") == "true":
		cfg.forge = checker.ForgeGitea
	case cfg.githubActions:
		cfg.forge = checker.ForgeGitHub
	}
	val := map[string]string{}
	for _, in := range actionInputs() {
		val[in.name] = c.input(in.name, in.fallback)
	}
	cfg.tinyforgeURL, cfg.tinyforgeToken = val["tinyforge-url"], val["tinyforge-token"]
	cfg.token = val["token"]
	if cfg.token == "" {
		switch cfg.forge {
		case checker.ForgeGitLab:
			for _, k := range []string{"TINYFORGE_FORGE_TOKEN", "GITLAB_TOKEN"} {
				if cfg.token = c.env(k); cfg.token != "" {
					break
				}
			}
			if cfg.token == "" {
				cfg.token, cfg.jobToken = c.env("CI_JOB_TOKEN"), true
			}
		default:
			cfg.token = c.env("GITHUB_TOKEN")
		}
	}
	cfg.jobIdentity(val["job-token"], c.env("FORGEJO_ACTIONS") == "true", c.env("ACT") == "true")
	if cfg.login = val["token-login"]; cfg.login != "" && !validLogin(cfg.login) {
		return cfg, fmt.Errorf("token-login %q is not a user name: give the login the token writes as, e.g. my-app[bot] for a GitHub App", gitops.Truncate(cfg.login, 40))
	}
	for _, s := range []string{cfg.tinyforgeToken, cfg.token, val["job-token"]} {
		if s != "" && !slices.Contains(cfg.secretsForMasks, s) {
			cfg.secretsForMasks = append(cfg.secretsForMasks, s)
		}
	}
	if cfg.forge == "" {
		return cfg, errors.New("not running in a CI job: set GITHUB_ACTIONS, GITEA_ACTIONS, FORGEJO_ACTIONS or GITLAB_CI, or use the lint and drift commands locally")
	}

	in := &cfg.in
	in.Forge = cfg.forge
	in.Secrets = cfg.secretsForMasks
	in.Path, in.Workload, in.SourceType = val["path"], val["workload"], val["source-type"]
	if err := checkSourceType(in.SourceType); err != nil {
		return cfg, fmt.Errorf("source-type: %w", err)
	}
	var err error
	if in.FailOn, err = checker.ParseFailOn(val["fail-on"]); err != nil {
		return cfg, err
	}
	if in.Comment, err = checker.ParseCommentMode(val["comment"]); err != nil {
		return cfg, err
	}
	if in.Report, err = checker.ParseReportMode(val["report"]); err != nil {
		return cfg, err
	}
	for _, l := range strings.Split(val["issue-labels"], ",") {
		if l = strings.TrimSpace(l); l != "" {
			in.IssueLabels = append(in.IssueLabels, l)
		}
	}
	in.StatusContext = val["status-context"]
	if in.StatusContext == "" {
		in.StatusContext = checker.DefaultStatusContext
	}
	cfg.verifyDelay = 0 // providers: a few measured round trips
	if d := c.env("TINYFORGE_COMMENT_VERIFY_DELAY"); d != "" {
		if cfg.verifyDelay, err = time.ParseDuration(d); err != nil || cfg.verifyDelay < 0 {
			return cfg, fmt.Errorf("TINYFORGE_COMMENT_VERIFY_DELAY %q: use a Go duration such as 2s or 0s", d)
		}
		if cfg.verifyDelay == 0 {
			cfg.verifyDelay = -1 // providers: negative disables the settle wait (the fence stays)
		}
	}
	switch {
	case cfg.tinyforgeURL == "" && cfg.tinyforgeToken == "":
		cfg.liveMissing = "no tinyforge-url and no tinyforge-token were given"
	case cfg.tinyforgeToken == "":
		cfg.liveMissing = "no tinyforge-token (fork PRs get no secrets)"
	case cfg.tinyforgeURL == "":
		return cfg, errors.New("tinyforge-token is set but tinyforge-url is not: give Tinyforge's base URL")
	case in.Workload == "":
		return cfg, errors.New("workload is empty: give the Tinyforge workload's id or name")
	}
	in.LiveMissingReason = cfg.liveMissing

	if cfg.forge == checker.ForgeGitLab {
		return cfg, c.gitlabEvent(&cfg)
	}
	return cfg, c.actionsEvent(&cfg)
}

// validLogin reports whether s can be a forge user name: letters, digits, '-', '_' and '.',
// at most 100 characters, optionally ending in "[bot]" (a GitHub App's user).
func validLogin(s string) bool {
	name := strings.TrimSuffix(s, "[bot]")
	if name == "" || len(s) > 100 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// jobIdentity notes what the job's own token (input job-token, which defaults to github.token)
// tells when token is that token. On GitHub it is github-actions[bot], so the comment and issue
// upserts need no GET /user (which answers that token 403 anyway); not under nektos/act
// (ACT=true), where github.token is whatever token the user passed. On Gitea and Forgejo the
// job user is gitea-actions or forgejo-actions, but a runner does not say for sure which server
// it serves, so that is only a hint: a scheduled run lists the issues by it while it asks the
// forge who it is, and lists again if the answer differs.
func (cfg *actionConfig) jobIdentity(jobToken string, forgejo, act bool) {
	if jobToken == "" || jobToken != cfg.token {
		return
	}
	switch {
	case cfg.forge == checker.ForgeGitHub && !act:
		cfg.jobToken = true
	case cfg.forge == checker.ForgeGitea && forgejo:
		cfg.loginHint = providers.ForgejoActionsLogin
	case cfg.forge == checker.ForgeGitea:
		cfg.loginHint = providers.GiteaActionsLogin
	}
}

// eventPayload is the part of GITHUB_EVENT_PATH the action reads; GitHub and Gitea share it.
type eventPayload struct {
	After       string `json:"after"`
	PullRequest *struct {
		Number   int `json:"number"`
		Comments int `json:"comments"`
		Head     struct {
			SHA  string `json:"sha"`
			Repo *struct {
				FullName string `json:"full_name"`
			} `json:"repo"`
		} `json:"head"`
		Base struct {
			SHA  string `json:"sha"`
			Repo *struct {
				FullName string `json:"full_name"`
			} `json:"repo"`
		} `json:"base"`
	} `json:"pull_request"`
}

// actionsEvent reads a GitHub or Gitea/Forgejo Actions run: repo, event payload, commit.
func (c *Command) actionsEvent(cfg *actionConfig) error {
	if cfg.forge == checker.ForgeGitea {
		cfg.forgeURL = c.env("GITHUB_SERVER_URL")
		if cfg.forgeURL == "" {
			return errors.New("GITHUB_SERVER_URL is empty: Gitea/Forgejo Actions set it to the forge's root URL")
		}
	} else {
		cfg.forgeURL = c.env("GITHUB_API_URL")
		if cfg.forgeURL == "" {
			cfg.forgeURL = "https://api.github.com"
		}
	}
	owner, repo, ok := strings.Cut(c.env("GITHUB_REPOSITORY"), "/")
	if !ok || owner == "" || repo == "" {
		return fmt.Errorf("GITHUB_REPOSITORY %q is not owner/repo", c.env("GITHUB_REPOSITORY"))
	}
	cfg.owner, cfg.repo = owner, repo
	cfg.outputPath, cfg.summaryPath = c.env("GITHUB_OUTPUT"), c.env("GITHUB_STEP_SUMMARY")
	if id := c.env("GITHUB_RUN_ID"); id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("GITHUB_RUN_ID %q is not a run number", id)
		}
		cfg.in.RunID = n
	}
	name := c.env("GITHUB_EVENT_NAME")
	var p eventPayload
	if path := c.env("GITHUB_EVENT_PATH"); path != "" {
		const maxEvent = 25 << 20
		data, err := c.readSpecFile(path, maxEvent)
		if err != nil {
			return fmt.Errorf("read the event payload: %w", err)
		}
		if len(data) > maxEvent {
			return fmt.Errorf("the event payload %s is larger than %d MiB: the check reads only the pull request and commit from it; check GITHUB_EVENT_PATH", path, maxEvent>>20)
		}
		if err := json.Unmarshal(data, &p); err != nil {
			return fmt.Errorf("the event payload %s cannot be read: %w", path, gitops.DescribeJSONError(err))
		}
	}
	ev := checker.Event{Name: name, CommitSHA: c.env("GITHUB_SHA")}
	isPR := strings.HasPrefix(name, "pull_request")
	if isPR {
		if p.PullRequest == nil || p.PullRequest.Number <= 0 || p.PullRequest.Head.SHA == "" {
			return fmt.Errorf("event %s has no pull_request with a number and head sha in GITHUB_EVENT_PATH", name)
		}
		pr := p.PullRequest
		fork := pr.Head.Repo != nil && pr.Base.Repo != nil && !strings.EqualFold(pr.Head.Repo.FullName, pr.Base.Repo.FullName)
		ev.PR = &checker.PullRequest{Number: pr.Number, HeadSHA: pr.Head.SHA, BaseSHA: pr.Base.SHA, Fork: fork, Comments: max(pr.Comments, 0)}
		if name != checker.EventPullRequestTarget {
			ev.Name = checker.EventPullRequest // Gitea's pull_request_sync & co. are checked alike
		}
	} else if p.After != "" && strings.Trim(p.After, "0") != "" {
		ev.CommitSHA = p.After
	}
	if ev.CommitSHA == "" && ev.PR == nil {
		return errors.New("GITHUB_SHA is empty: cannot tell which commit to report on")
	}
	cfg.in.Event = ev
	return nil
}

// gitlabEvent reads a GitLab CI job: project, merge request, commit.
func (c *Command) gitlabEvent(cfg *actionConfig) error {
	cfg.forgeURL = c.env("CI_SERVER_URL")
	if cfg.forgeURL == "" {
		return errors.New("CI_SERVER_URL is empty: GitLab CI sets it to the GitLab root URL")
	}
	path := c.env("CI_PROJECT_PATH")
	i := strings.LastIndexByte(path, '/')
	if i <= 0 || i == len(path)-1 {
		return fmt.Errorf("CI_PROJECT_PATH %q is not group/project", path)
	}
	cfg.owner, cfg.repo = path[:i], path[i+1:]
	if id := c.env("CI_PIPELINE_ID"); id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("CI_PIPELINE_ID %q is not a pipeline number", id)
		}
		cfg.in.RunID = n
	}
	ev := checker.Event{Name: checker.EventPush, CommitSHA: c.env("CI_COMMIT_SHA")}
	switch c.env("CI_PIPELINE_SOURCE") {
	case "schedule":
		ev.Name = checker.EventSchedule
	case "web", "api", "trigger":
		ev.Name = checker.EventWorkflowDispatch // started by hand or by API: checked like a dispatch
	}
	if ev.CommitSHA == "" {
		return errors.New("CI_COMMIT_SHA is empty: cannot tell which commit to report on")
	}
	if iid := c.env("CI_MERGE_REQUEST_IID"); iid != "" {
		n, err := strconv.Atoi(iid)
		if err != nil || n <= 0 {
			return fmt.Errorf("CI_MERGE_REQUEST_IID %q is not a merge request number", iid)
		}
		base := c.env("CI_MERGE_REQUEST_DIFF_BASE_SHA")
		fork := c.env("CI_MERGE_REQUEST_SOURCE_PROJECT_ID") != "" && c.env("CI_MERGE_REQUEST_SOURCE_PROJECT_ID") != c.env("CI_MERGE_REQUEST_PROJECT_ID")
		ev.Name = checker.EventMergeRequest
		ev.PR = &checker.PullRequest{Number: n, HeadSHA: ev.CommitSHA, BaseSHA: base, Fork: fork}
	}
	cfg.in.Event = ev
	return nil
}

// actionChecker wires the checker to Tinyforge and the forge. It gives the checker no workspace:
// the action reads the file at the commit it reports on, through the forge API, so a file an
// earlier step wrote or changed in the checkout is never read or shown.
func (c *Command) actionChecker(cfg actionConfig) (*checker.Checker, error) {
	hc := providers.NewHTTPClient(providers.HTTPConfig{})
	chk := &checker.Checker{}
	if cfg.forge == checker.ForgeGitLab && cfg.jobToken {
		return nil, errors.New("CI_JOB_TOKEN cannot read repository files through GitLab's API, and the check reads the committed file that way (never the workspace): " +
			"set TINYFORGE_FORGE_TOKEN to a project access token (read_api to read; api to write the note and the status)")
	}
	if cfg.liveMissing == "" {
		tf, err := tinyforge.NewClient(cfg.tinyforgeURL, cfg.tinyforgeToken, hc)
		if err != nil {
			return nil, fmt.Errorf("tinyforge-url: %w", err)
		}
		chk.Live = checkwire.Live(tf)
	}
	if cfg.token == "" {
		return chk, nil
	}
	opts := providers.Options{BaseURL: cfg.forgeURL, Token: cfg.token, HTTPClient: hc, JobToken: cfg.jobToken, Login: cfg.login, LoginHint: cfg.loginHint, VerifyDelay: cfg.verifyDelay}
	f, err := checkwire.OpenRepo(cfg.forge, opts, cfg.owner, cfg.repo)
	if err != nil {
		return nil, err
	}
	chk.Files, chk.Status, chk.Comments, chk.Issues = f, f, f, f
	return chk, nil
}

// redactWriter replaces secrets in everything written through it (defence in depth: the
// report is already redacted).
type redactWriter struct {
	w       io.Writer
	secrets []string
}

func (r *redactWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(r.w, secret.Redact(string(p), r.secrets...)); err != nil {
		return 0, err
	}
	return len(p), nil
}
