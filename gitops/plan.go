package gitops

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
)

// The source_config keys GitOps manages, in schema order.
const (
	KeyPort           = "port"
	KeyHealthcheck    = "healthcheck"
	KeyDeployStrategy = "deploy_strategy"
)

// Plan is what a Sync of a file would apply: only the fields the file declares, as source_config
// keys. The zero value changes nothing.
type Plan struct {
	// Patch maps a source_config key to its new value: an int for port, a string otherwise.
	Patch map[string]any
}

// BuildPlan maps the fields a Spec declares, and only those, to a source_config patch.
func BuildPlan(s *Spec) Plan {
	p := Plan{Patch: map[string]any{}}
	if s == nil {
		return p
	}
	if s.Deploy.Port != nil {
		p.Patch[KeyPort] = *s.Deploy.Port
	}
	if s.Deploy.Healthcheck != nil {
		p.Patch[KeyHealthcheck] = *s.Deploy.Healthcheck
	}
	if s.Deploy.DeployStrategy != nil {
		p.Patch[KeyDeployStrategy] = *s.Deploy.DeployStrategy
	}
	return p
}

// MergeAndValidate deep-copies the live source_config, overlays only the plan's keys (every other
// key, known or not, keeps its value), runs validate on the merged result and returns it. On any
// error it returns nil and the error: never a partial or empty config. An empty or null live
// config is treated as {}; any other non-object is an error.
func MergeAndValidate(live json.RawMessage, p Plan, validate func(json.RawMessage) error) (json.RawMessage, error) {
	cfg, err := decodeObject(live)
	if err != nil {
		return nil, err
	}
	for k, v := range p.Patch {
		cfg[k] = v
	}
	merged, err := marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode merged source_config: %w", err)
	}
	if validate != nil {
		if err := validate(merged); err != nil {
			return nil, err
		}
	}
	return merged, nil
}

// PreviewSync reports what a Sync of s would write over live: the merged source_config, or the
// reason Tinyforge would refuse it and what to do. The reason names the key, never its value.
func PreviewSync(s *Spec, live json.RawMessage) (json.RawMessage, error) {
	merged, err := MergeAndValidate(live, BuildPlan(s), ValidateSourceConfig)
	if err != nil && errors.Is(err, ErrInvalidSourceConfig) {
		// A valid file's own values always pass the validator, so the culprit is a live value
		// the file does not declare.
		return nil, fmt.Errorf("%w (a live value the file does not declare: fix it in Tinyforge, or declare the field in the file)", err)
	}
	return merged, err
}

// ErrInvalidSourceConfig is wrapped by every error of ValidateSourceConfig.
var ErrInvalidSourceConfig = errors.New("invalid source_config")

// ValidateSourceConfig is Tinyforge's source_config validator for the keys GitOps manages
// (docs/file-format.md, How the file is compared with live): when present and not null, port is an integral number or numeric string in
// 1..65535, healthcheck is "" or a path as in docs/file-format.md, deploy_strategy is "", "recreate" or
// "rolling". Other keys are ignored. Errors name the key, never the value.
func ValidateSourceConfig(cfg json.RawMessage) error {
	obj, err := decodeObject(cfg)
	if err != nil {
		return err
	}
	var problems []string
	if v, ok := obj[KeyPort]; ok && v != nil {
		if _, ok := portValue(v); !ok {
			problems = append(problems, "port must be an integer from 1 to 65535")
		}
	}
	if v, ok := obj[KeyHealthcheck]; ok && v != nil {
		s, isStr := v.(string)
		if !isStr {
			problems = append(problems, "healthcheck must be a string")
		} else if msg := healthcheckProblem(s); msg != "" {
			problems = append(problems, "healthcheck "+msg)
		}
	}
	if v, ok := obj[KeyDeployStrategy]; ok && v != nil {
		s, isStr := v.(string)
		if !isStr || (s != "" && !contains(strategies, s)) {
			problems = append(problems, "deploy_strategy must be \"\", \"recreate\" or \"rolling\"")
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidSourceConfig, strings.Join(problems, "; "))
	}
	return nil
}

// decodeObject decodes a JSON object keeping numbers as written (json.Number), so a merge never
// rewrites a value it does not touch.
func decodeObject(raw json.RawMessage) (map[string]any, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: the live source_config is not valid JSON: %v", ErrInvalidSourceConfig, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: the live source_config holds more than one JSON value", ErrInvalidSourceConfig)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: the live source_config must be a JSON object", ErrInvalidSourceConfig)
	}
	return obj, nil
}

// marshal encodes v as compact JSON without escaping <, > and &, which are legal in values.
func marshal(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

var jsonNumberRE = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// portValue returns the port a live value stands for: an integral JSON number, or a string of
// decimal digits, in 1..65535.
func portValue(v any) (int, bool) {
	var text string
	switch x := v.(type) {
	case json.Number:
		text = string(x)
	case string:
		if !decimalRE.MatchString(x) {
			return 0, false
		}
		text = x
	case int:
		return x, x >= 1 && x <= 65535
	default:
		return 0, false
	}
	n, ok := integralValue(text)
	if !ok || n < 1 || n > 65535 {
		return 0, false
	}
	return int(n), true
}

// integralValue parses a JSON number's text exactly and returns it when it is an integer that
// fits in int64. Exponents are bounded so a hostile "1e999999999" costs nothing.
func integralValue(text string) (int64, bool) {
	if len(text) > 64 || !jsonNumberRE.MatchString(text) {
		return 0, false
	}
	if i := strings.IndexAny(text, "eE"); i >= 0 {
		exp := strings.TrimLeft(text[i+1:], "+-0")
		if len(exp) > 2 {
			return 0, false
		}
	}
	r, ok := new(big.Rat).SetString(text)
	if !ok || !r.IsInt() || !r.Num().IsInt64() {
		return 0, false
	}
	return r.Num().Int64(), true
}
