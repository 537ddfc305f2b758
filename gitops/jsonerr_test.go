package gitops

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDescribeJSONError(t *testing.T) {
	type payload struct {
		PR struct {
			Number int `json:"number"`
		} `json:"pull_request"`
	}
	tests := []struct{ in, want string }{
		{`{"pull_request": {"number": "7"}}`, `the field "pull_request.number" holds a JSON string, which is the wrong kind of value`},
		{`[1]`, `found a JSON array where an object was expected`},
		{`{"pull_request": `, `invalid JSON at byte 17: unexpected end of JSON input`},
		{`{"a" 1}`, `invalid JSON at byte 6: invalid character '1' after object key`},
	}
	for _, tt := range tests {
		var p payload
		err := DescribeJSONError(json.Unmarshal([]byte(tt.in), &p))
		if err.Error() != tt.want {
			t.Errorf("%s: got %q, want %q", tt.in, err, tt.want)
		}
		if strings.Contains(err.Error(), "int") || strings.Contains(err.Error(), "Go ") || strings.Contains(err.Error(), "struct") {
			t.Errorf("%s: a Go type name reaches the user: %q", tt.in, err)
		}
	}
	if got := DescribeJSONError(nil).Error(); got != "it is null" {
		t.Errorf("nil: %q", got)
	}
}
