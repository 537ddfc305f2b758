package main

import (
	"cmp"
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

// actionInput is one input of action.yml, declared once: action.yml, host/action.yml and the
// inputs table of docs/action.md are checked against this (TestActionInputsDeclaredOnce).
type actionInput struct {
	name     string // the input's name in action.yml; INPUT_<NAME> carries it
	fallback string // the variable read when INPUT_<NAME> is empty; "" for none
	def      string // action.yml's default; the binary applies the same when the value is empty
	// parse stores a value (already trimmed, "" when unset) in cfg, or says why it is wrong.
	parse func(cfg *actionConfig, v string) error
}

// actionInputs lists each input, in action.yml order. The token input's fallbacks depend on
// the forge (see forgeToken), and job-token only tells who token writes as (see jobIdentity).
func actionInputs() []actionInput {
	return []actionInput{
		{"path", "TINYFORGE_PATH", "", func(cfg *actionConfig, v string) error { cfg.in.Path = v; return nil }},
		{"tinyforge-url", "TINYFORGE_URL", "", func(cfg *actionConfig, v string) error { cfg.tinyforgeURL = v; return nil }},
		{"tinyforge-token", "TINYFORGE_TOKEN", "", func(cfg *actionConfig, v string) error { cfg.tinyforgeToken = v; return nil }},
		{"workload", "TINYFORGE_WORKLOAD", "", func(cfg *actionConfig, v string) error { cfg.in.Workload = v; return nil }},
		{"token", "", "${{ github.token }}", func(cfg *actionConfig, v string) error { cfg.token = v; return nil }},
		{"job-token", "", "${{ github.token }}", func(cfg *actionConfig, v string) error { cfg.jobTokenInput = v; return nil }},
		{"token-login", "TINYFORGE_TOKEN_LOGIN", "", parseTokenLogin},
		{"fail-on", "TINYFORGE_FAIL_ON", checker.DefaultFailOn.String(), func(cfg *actionConfig, v string) (err error) {
			cfg.in.FailOn, err = checker.ParseFailOn(v)
			return err
		}},
		{"comment", "TINYFORGE_COMMENT", string(checker.CommentAuto), func(cfg *actionConfig, v string) (err error) {
			cfg.in.Comment, err = checker.ParseCommentMode(v)
			return err
		}},
		{"status-context", "TINYFORGE_STATUS_CONTEXT", checker.DefaultStatusContext, func(cfg *actionConfig, v string) error {
			cfg.in.StatusContext = cmp.Or(v, checker.DefaultStatusContext)
			return nil
		}},
		{"report", "TINYFORGE_REPORT", "", func(cfg *actionConfig, v string) (err error) {
			cfg.in.Report, err = checker.ParseReportMode(v)
			return err
		}},
		{"issue-labels", "TINYFORGE_ISSUE_LABELS", "", parseIssueLabels},
		{"source-type", "TINYFORGE_SOURCE_TYPE", "", func(cfg *actionConfig, v string) error {
			cfg.in.SourceType = v
			if err := checkSourceType(v); err != nil {
				return fmt.Errorf("source-type: %w", err)
			}
			return nil
		}},
	}
}

// parseTokenLogin takes input token-login: empty, or a user name.
func parseTokenLogin(cfg *actionConfig, v string) error {
	if cfg.login = v; v != "" && !validLogin(v) {
		return fmt.Errorf("token-login %q is not a user name: give the login the token writes as, e.g. my-app[bot] for a GitHub App", gitops.Truncate(v, 40))
	}
	return nil
}

// parseIssueLabels takes input issue-labels: comma-separated, blanks and empty items dropped.
func parseIssueLabels(cfg *actionConfig, v string) error {
	for _, l := range strings.Split(v, ",") {
		if l = strings.TrimSpace(l); l != "" {
			cfg.in.IssueLabels = append(cfg.in.IssueLabels, l)
		}
	}
	return nil
}

// actionConfig is everything the action reads from its environment.
type actionConfig struct {
	forge           checker.Forge
	forgeURL        string // the provider's BaseURL
	owner, repo     string
	token           string
	jobToken        bool   // token is the job token of GitHub, Gitea or Forgejo (asked which), or GitLab's CI_JOB_TOKEN
	jobTokenInput   string // input job-token: the job's own token, compared with token
	login           string // the identity token writes as (input token-login); "" asks the forge
	loginHint       string // the identity token probably has (a Gitea or Forgejo job token's)
	tinyforgeURL    string
	tinyforgeToken  string
	outputPath      string
	summaryPath     string
	githubActions   bool
	verifyDelay     time.Duration
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
	cfg := actionConfig{githubActions: c.env("GITHUB_ACTIONS") == "true"}
	cfg.forge = c.actionForge(cfg.githubActions)
	// Every input is parsed before the first error is returned, so that the secrets among them
	// are known (and masked) whatever the error.
	var inputErr error
	for _, in := range actionInputs() {
		if err := in.parse(&cfg, c.input(in.name, in.fallback)); err != nil && inputErr == nil {
			inputErr = err
		}
	}
	if cfg.token == "" {
		cfg.token, cfg.jobToken = c.forgeToken(cfg.forge)
	}
	// nektos/act sets ACT; so does Gitea's runner, which also names its version.
	nektosAct := c.env("ACT") == "true" && c.env("GITEA_ACTIONS_RUNNER_VERSION") == ""
	cfg.jobIdentity(cfg.jobTokenInput, c.env("FORGEJO_ACTIONS") == "true", nektosAct)
	cfg.secretsForMasks = secretsOf(cfg.tinyforgeToken, cfg.token, cfg.jobTokenInput)
	if cfg.forge == "" {
		return cfg, errors.New("not running in a CI job: set GITHUB_ACTIONS, GITEA_ACTIONS, FORGEJO_ACTIONS or GITLAB_CI, or use the lint and drift commands locally")
	}
	if inputErr != nil {
		return cfg, inputErr
	}
	cfg.in.Forge = cfg.forge
	cfg.in.Secrets = cfg.secretsForMasks
	var err error
	if cfg.verifyDelay, err = c.commentVerifyDelay(); err != nil {
		return cfg, err
	}
	if err := cfg.liveCredentials(); err != nil {
		return cfg, err
	}
	if cfg.forge == checker.ForgeGitLab {
		return cfg, c.gitlabEvent(&cfg)
	}
	return cfg, c.actionsEvent(&cfg)
}

// secretsOf lists the secrets among values once each, for masking and redaction.
func secretsOf(values ...string) []string {
	var out []string
	for _, s := range values {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// commentVerifyDelay reads TINYFORGE_COMMENT_VERIFY_DELAY: the least time to wait after writing
// the comment or issue before re-reading it. Unset is 0, which leaves the wait to the providers
// (a few of this run's measured round trips); a value only raises it; 0s is negative, which
// disables the settle wait (the read-your-write fence stays).
func (c *Command) commentVerifyDelay() (time.Duration, error) {
	d := c.env("TINYFORGE_COMMENT_VERIFY_DELAY")
	if d == "" {
		return 0, nil
	}
	delay, err := time.ParseDuration(d)
	if err != nil || delay < 0 {
		return 0, fmt.Errorf("TINYFORGE_COMMENT_VERIFY_DELAY %q: use a Go duration such as 2s or 0s", d)
	}
	if delay == 0 {
		delay = -1 // providers: negative disables the settle wait (the fence stays)
	}
	return delay, nil
}

// actionForge tells which forge's CI runs the job from the runner's variables; "" for none.
func (c *Command) actionForge(githubActions bool) checker.Forge {
	switch {
	case c.env("GITLAB_CI") == "true":
		return checker.ForgeGitLab
	case c.env("FORGEJO_ACTIONS") == "true" || c.env("GITEA_ACTIONS") == "true":
		return checker.ForgeGitea
	case githubActions:
		return checker.ForgeGitHub
	}
	return ""
}

// forgeToken is the token used when input token is empty, and whether it is the job's own:
// on GitLab TINYFORGE_FORGE_TOKEN, GITLAB_TOKEN, else CI_JOB_TOKEN; elsewhere GITHUB_TOKEN.
func (c *Command) forgeToken(forge checker.Forge) (token string, jobToken bool) {
	if forge != checker.ForgeGitLab {
		return c.env("GITHUB_TOKEN"), false
	}
	for _, k := range []string{"TINYFORGE_FORGE_TOKEN", "GITLAB_TOKEN"} {
		if t := c.env(k); t != "" {
			return t, false
		}
	}
	return c.env("CI_JOB_TOKEN"), true
}

// liveCredentials checks that the Tinyforge inputs go together, and notes in
// in.LiveMissingReason why the check lints only when they are absent.
func (cfg *actionConfig) liveCredentials() error {
	switch {
	case cfg.tinyforgeURL == "" && cfg.tinyforgeToken == "":
		cfg.in.LiveMissingReason = "no tinyforge-url and no tinyforge-token were given"
	case cfg.tinyforgeToken == "":
		cfg.in.LiveMissingReason = "no tinyforge-token (fork PRs get no secrets)"
	case cfg.tinyforgeURL == "":
		return errors.New("tinyforge-token is set but tinyforge-url is not: give Tinyforge's base URL")
	case cfg.in.Workload == "":
		return errors.New("workload is empty: give the Tinyforge workload's id or name")
	}
	return nil
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
// (nektosAct), where github.token is whatever token the user passed. On Forgejo (the runner
// sets FORGEJO_ACTIONS) it is forgejo-actions, known without a request. On a runner that only
// sets GITEA_ACTIONS the server may be Gitea (gitea-actions) or Forgejo: the provider asks GET
// /api/forgejo/v1/version in its first read round instead of GET /user, and a scheduled run
// lists its issues by gitea-actions meanwhile (again by forgejo-actions if Forgejo answers).
// Under nektos/act gitea-actions is only a hint and GET /user is asked. A token-login given
// stays.
func (cfg *actionConfig) jobIdentity(jobToken string, forgejo, nektosAct bool) {
	if jobToken == "" || jobToken != cfg.token {
		return
	}
	switch {
	case cfg.forge == checker.ForgeGitHub && !nektosAct:
		cfg.jobToken = true
	case cfg.forge != checker.ForgeGitea || cfg.login != "":
	case forgejo:
		cfg.login = providers.ForgejoActionsLogin
	case nektosAct:
		cfg.loginHint = providers.GiteaActionsLogin
	default:
		cfg.jobToken, cfg.loginHint = true, providers.GiteaActionsLogin
	}
}

// eventPayload is the part of GITHUB_EVENT_PATH the action reads; GitHub and Gitea share it.
type eventPayload struct {
	After string `json:"after"`
	// MergeGroup is GitHub's merge_group payload (schema merge-group of its REST description).
	MergeGroup *struct {
		HeadSHA string `json:"head_sha"`
		HeadRef string `json:"head_ref"`
	} `json:"merge_group"`
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
	if err := c.actionsRepo(cfg); err != nil {
		return err
	}
	p, err := c.eventPayload()
	if err != nil {
		return err
	}
	ev, err := actionsEventOf(c.env("GITHUB_EVENT_NAME"), c.env("GITHUB_SHA"), p)
	if err != nil {
		return err
	}
	cfg.in.Event = ev
	return nil
}

// actionsRepo reads where an Actions run reports: the forge's API root, the repo, the
// workspace, the runner files and the run id.
func (c *Command) actionsRepo(cfg *actionConfig) error {
	if cfg.forge == checker.ForgeGitea {
		cfg.forgeURL = c.env("GITHUB_SERVER_URL")
		if cfg.forgeURL == "" {
			return errors.New("GITHUB_SERVER_URL is empty: Gitea/Forgejo Actions set it to the forge's root URL")
		}
	} else {
		cfg.forgeURL = cmp.Or(c.env("GITHUB_API_URL"), "https://api.github.com")
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
	return nil
}

// eventPayload reads GITHUB_EVENT_PATH, at most 25 MiB; none gives a zero payload.
func (c *Command) eventPayload() (eventPayload, error) {
	var p eventPayload
	path := c.env("GITHUB_EVENT_PATH")
	if path == "" {
		return p, nil
	}
	const maxEvent = 25 << 20
	data, err := c.readSpecFile(path, maxEvent)
	if err != nil {
		return p, fmt.Errorf("read the event payload: %w", err)
	}
	if len(data) > maxEvent {
		return p, fmt.Errorf("the event payload %s is larger than %d MiB: the check reads only the pull request and commit from it; check GITHUB_EVENT_PATH", path, maxEvent>>20)
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return p, fmt.Errorf("the event payload %s cannot be read: %w", path, gitops.DescribeJSONError(err))
	}
	return p, nil
}

// actionsEventOf is the event of a run named name (GITHUB_EVENT_NAME) at commit sha
// (GITHUB_SHA) with payload p.
func actionsEventOf(name, sha string, p eventPayload) (checker.Event, error) {
	ev := checker.Event{Name: name, CommitSHA: sha}
	if strings.HasPrefix(name, "pull_request") {
		pr := p.PullRequest
		if pr == nil || pr.Number <= 0 || pr.Head.SHA == "" {
			return ev, fmt.Errorf("event %s has no pull_request with a number and head sha in GITHUB_EVENT_PATH", name)
		}
		fork := pr.Head.Repo != nil && pr.Base.Repo != nil && !strings.EqualFold(pr.Head.Repo.FullName, pr.Base.Repo.FullName)
		ev.PR = &checker.PullRequest{Number: pr.Number, HeadSHA: pr.Head.SHA, BaseSHA: pr.Base.SHA, Fork: fork, Comments: max(pr.Comments, 0)}
		if name != checker.EventPullRequestTarget {
			ev.Name = checker.EventPullRequest // Gitea's pull_request_sync & co. are checked alike
		}
		return ev, nil
	}
	switch {
	case name == checker.EventMergeGroup && p.MergeGroup != nil:
		// GITHUB_SHA is the group's head too; the payload says it and names the group.
		ev.CommitSHA = cmp.Or(p.MergeGroup.HeadSHA, sha)
		ev.MergeGroup = strings.TrimPrefix(p.MergeGroup.HeadRef, "refs/heads/")
	case p.After != "" && strings.Trim(p.After, "0") != "":
		ev.CommitSHA = p.After
	}
	if ev.CommitSHA == "" {
		return ev, errors.New("GITHUB_SHA is empty: cannot tell which commit to report on")
	}
	return ev, nil
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
	if cfg.in.LiveMissingReason == "" {
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
