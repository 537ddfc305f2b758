package panel

import (
	"fmt"
	"time"
)

// timeText is a time as the panel shows it: a <time> element whose datetime and title hold the
// exact RFC 3339 time and whose text is a readable UTC time, which assets/panel.js replaces
// with the same moment in the browser's time zone.
type timeText struct {
	// RFC3339 is the time as the API gave it; "" when it could not be parsed.
	RFC3339 string
	// Text is the readable fallback, e.g. "2 Dec 2026, 14:05 UTC".
	Text string
}

// monthKeys are the catalogue keys of the months' short names, January first.
var monthKeys = [12]string{"time.jan", "time.feb", "time.mar", "time.apr", "time.may", "time.jun", "time.jul", "time.aug", "time.sep", "time.oct", "time.nov", "time.dec"}

// when turns an RFC 3339 time from the API into a timeText in the catalogue's language. A value
// that does not parse is shown as it is, without a datetime.
func (c *catalogue) when(s string) timeText {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return timeText{Text: s}
	}
	t = t.UTC()
	// fmt, not the catalogue's printer: a year is not a quantity ("2,026").
	return timeText{RFC3339: s, Text: fmt.Sprintf("%d %s %d, %02d:%02d UTC", t.Day(), c.T(monthKeys[t.Month()-1]), t.Year(), t.Hour(), t.Minute())}
}
