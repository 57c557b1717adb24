package match

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// LogColumns are the columns of the platform's log, in the order Simulate
// writes them. ReadLog finds them by name in the header, in any order.
var LogColumns = []string{"submission_id", "user_id", "gender", "age", "education", "major",
	"task", "review_state", "passed", "cash", "points", "submitted_at"}

// Review states of a submission.
const (
	StatePassed   = "passed"
	StateRejected = "rejected"
	StatePending  = "pending"
)

// NoviceGuide is the onboarding task that cleaning drops.
const NoviceGuide = "Novice Guide"

// TimeLayout is how Simulate writes submitted_at (ISO 8601 without a zone).
const TimeLayout = "2006-01-02T15:04:05"

// Submission is one row of the log.
type Submission struct {
	ID        string
	UserID    string
	Gender    string
	Age       string
	Education string
	Major     string
	Task      string
	State     string // StatePassed, StateRejected or StatePending
	Passed    bool
	CashCents int64 // cash in integer cents
	Points    int64
	Submitted time.Time
	Line      int // line of the row in the CSV file, from 1
}

// attr returns the value of a profile attribute by name (see Attributes).
func (s *Submission) attr(i int) string {
	switch i {
	case 0:
		return s.Gender
	case 1:
		return s.Age
	case 2:
		return s.Education
	}
	return s.Major
}

// ReadLog reads and validates a log CSV with a header row. Every error names
// the line: a missing column, a row with the wrong number of fields, an
// empty submission_id, user_id or task, a duplicated submission_id, an
// unknown review_state, passed other than 0 or 1 or disagreeing with the
// state, cash that is not a non-negative amount with at most two decimals,
// points that are not a non-negative integer, a submitted_at that is not ISO
// 8601 without a zone. An empty file is an error; a header alone gives no
// rows. Extra columns are ignored.
func ReadLog(r io.Reader) ([]Submission, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("match: log: empty file")
	}
	if err != nil {
		return nil, fmt.Errorf("match: log: %v", err)
	}
	col := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("match: log line 1: duplicated column %q", h)
		}
		col[h] = i
	}
	idx := make([]int, len(LogColumns))
	for i, c := range LogColumns {
		j, ok := col[c]
		if !ok {
			return nil, fmt.Errorf("match: log line 1: missing column %q", c)
		}
		idx[i] = j
	}
	var subs []Submission
	seen := make(map[string]int)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("match: log: %v", err)
		}
		line, _ := cr.FieldPos(0)
		s, err := parseSubmission(rec, idx, line)
		if err != nil {
			return nil, fmt.Errorf("match: log line %d: %v", line, err)
		}
		if prev, dup := seen[s.ID]; dup {
			return nil, fmt.Errorf("match: log line %d: submission_id %q already on line %d",
				line, s.ID, prev)
		}
		seen[s.ID] = line
		subs = append(subs, s)
	}
	return subs, nil
}

func parseSubmission(rec []string, idx []int, line int) (Submission, error) {
	f := func(i int) string { return rec[idx[i]] }
	s := Submission{ID: f(0), UserID: f(1), Gender: f(2), Age: f(3), Education: f(4),
		Major: f(5), Task: f(6), State: f(7), Line: line}
	switch {
	case s.ID == "":
		return s, errors.New("empty submission_id")
	case s.UserID == "":
		return s, errors.New("empty user_id")
	case s.Task == "":
		return s, errors.New("empty task")
	}
	switch s.State {
	case StatePassed, StateRejected, StatePending:
	default:
		return s, fmt.Errorf("unknown review_state %q (want passed, rejected or pending)", s.State)
	}
	switch f(8) {
	case "1":
		s.Passed = true
	case "0":
	default:
		return s, fmt.Errorf("passed is %q, want 0 or 1", f(8))
	}
	if s.Passed != (s.State == StatePassed) {
		return s, fmt.Errorf("passed is %s but review_state is %s", f(8), s.State)
	}
	var err error
	if s.CashCents, err = ParseCents(f(9)); err != nil {
		return s, err
	}
	if s.Points, err = strconv.ParseInt(f(10), 10, 64); err != nil || s.Points < 0 {
		return s, fmt.Errorf("points %q is not a non-negative integer", f(10))
	}
	if s.Submitted, err = parseTime(f(11)); err != nil {
		return s, err
	}
	return s, nil
}

// ParseCents parses an amount with at most two decimals ("12", "12.5",
// "12.50") into integer cents, exactly.
func ParseCents(v string) (int64, error) {
	bad := fmt.Errorf("cash %q is not an amount with at most two decimals", v)
	whole, frac, hasDot := strings.Cut(v, ".")
	if whole == "" || len(frac) > 2 || (hasDot && frac == "") || len(whole) > 15 {
		return 0, bad
	}
	for _, c := range whole + frac {
		if c < '0' || c > '9' {
			return 0, bad
		}
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	var c int64
	if frac != "" {
		c, _ = strconv.ParseInt(frac, 10, 64)
		if len(frac) == 1 {
			c *= 10
		}
	}
	return w*100 + c, nil
}

// FormatCents writes cents with two decimals, e.g. 1250 as "12.50".
func FormatCents(c int64) string {
	return fmt.Sprintf("%d.%02d", c/100, c%100)
}

// parseTime accepts ISO 8601 without a zone: a date, or a date and time with
// "T" or a space, with optional fractional seconds.
func parseTime(v string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999",
		"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("submitted_at %q is not ISO 8601 without a zone", v)
}

// WriteLog writes subs as a log CSV with a header, in LogColumns order.
func WriteLog(w io.Writer, subs []Submission) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(LogColumns); err != nil {
		return err
	}
	rec := make([]string, len(LogColumns))
	for i := range subs {
		s := &subs[i]
		passed := "0"
		if s.Passed {
			passed = "1"
		}
		rec[0], rec[1], rec[2], rec[3], rec[4], rec[5] = s.ID, s.UserID, s.Gender, s.Age,
			s.Education, s.Major
		rec[6], rec[7], rec[8] = s.Task, s.State, passed
		rec[9] = FormatCents(s.CashCents)
		rec[10] = strconv.FormatInt(s.Points, 10)
		rec[11] = s.Submitted.Format(TimeLayout)
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
