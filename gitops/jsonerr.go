package gitops

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// DescribeJSONError turns an error of encoding/json's decoder into words for a user: where the
// JSON is broken, or which field has which wrong kind of value. It never shows a Go type name.
// A nil error describes a null document.
func DescribeJSONError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		return errors.New("it is null")
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errors.New("the JSON ends too early")
	case errors.As(err, &syn):
		return fmt.Errorf("invalid JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ) && typ.Field != "":
		return fmt.Errorf("the field %q holds a JSON %s, which is the wrong kind of value", Truncate(typ.Field, 80), typ.Value)
	case errors.As(err, &typ):
		return fmt.Errorf("found a JSON %s where an object was expected", typ.Value)
	}
	return errors.New("the JSON does not have the expected shape")
}
