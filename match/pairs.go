package match

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// pairColumns are the pairs.csv columns after the attribute columns.
var pairColumns = []string{"task", "n", "passes", "pass_rate", "group_total", "group_users",
	"participation", "mean_cash", "mean_points", "art", "eart", "quadrant"}

// FormatFloat writes f as the shortest text that reads back to the same
// float64 (strconv 'g' with precision -1).
func FormatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// WritePairs writes pairs.csv: group, one column per grouping attribute,
// then task, n, passes, pass_rate, group_total, group_users, participation,
// mean_cash, mean_points, art, eart, quadrant; one row per pair in the given
// order.
func WritePairs(w io.Writer, attrs []string, pairs []Pair) error {
	cw := csv.NewWriter(w)
	header := append(append([]string{"group"}, attrs...), pairColumns...)
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, p := range pairs {
		rec := append([]string{p.Group}, p.Values...)
		rec = append(rec, p.Task, strconv.Itoa(p.N), strconv.Itoa(p.Passes),
			FormatFloat(p.PassRate), strconv.Itoa(p.GroupTotal), strconv.Itoa(p.GroupUsers),
			FormatFloat(p.Participation), FormatFloat(p.MeanCash), FormatFloat(p.MeanPoints),
			FormatFloat(p.ART), FormatFloat(p.EART), p.Quadrant)
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// PairTable is pairs.csv read back: the grouping attributes and the pairs in
// file order, with lookups by group and task.
type PairTable struct {
	Attrs []string
	Pairs []Pair
	index map[[2]string]int
}

// Lookup returns the pair of group and task.
func (t *PairTable) Lookup(group, task string) (*Pair, bool) {
	i, ok := t.index[[2]string{group, task}]
	if !ok {
		return nil, false
	}
	return &t.Pairs[i], true
}

// NewPairTable indexes pairs; a repeated (group, task) is an error.
func NewPairTable(attrs []string, pairs []Pair) (*PairTable, error) {
	t := &PairTable{Attrs: attrs, Pairs: pairs, index: make(map[[2]string]int, len(pairs))}
	for i, p := range pairs {
		k := [2]string{p.Group, p.Task}
		if _, dup := t.index[k]; dup {
			return nil, fmt.Errorf("match: pair (%s, %s) twice", p.Group, p.Task)
		}
		t.index[k] = i
	}
	return t, nil
}

// ReadPairs reads pairs.csv as WritePairs writes it. The attribute columns
// are those between "group" and "task". Errors name the line: a bad header,
// the wrong number of fields, a number that does not parse, passes outside
// 0..n, a group key that does not match its values, an unknown quadrant, a
// repeated (group, task). A file without pairs is an error.
func ReadPairs(r io.Reader) (*PairTable, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("match: pairs: empty file")
	}
	if err != nil {
		return nil, fmt.Errorf("match: pairs: %v", err)
	}
	ti := slices.Index(header, "task")
	if len(header) == 0 || header[0] != "group" || ti < 1 ||
		!slices.Equal(header[ti:], pairColumns) {
		return nil, fmt.Errorf("match: pairs line 1: header must be group, <attributes>, %s",
			strings.Join(pairColumns, ", "))
	}
	attrs := slices.Clone(header[1:ti])
	for _, a := range attrs {
		if !slices.Contains(Attributes, a) {
			return nil, fmt.Errorf("match: pairs line 1: unknown attribute column %q", a)
		}
	}
	var pairs []Pair
	lines := make(map[[2]string]int)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("match: pairs: %v", err)
		}
		line, _ := cr.FieldPos(0)
		p, err := parsePair(rec, len(attrs))
		if err != nil {
			return nil, fmt.Errorf("match: pairs line %d: %v", line, err)
		}
		k := [2]string{p.Group, p.Task}
		if prev, dup := lines[k]; dup {
			return nil, fmt.Errorf("match: pairs line %d: pair (%s, %s) already on line %d",
				line, p.Group, p.Task, prev)
		}
		lines[k] = line
		pairs = append(pairs, p)
	}
	if len(pairs) == 0 {
		return nil, errors.New("match: pairs: no pairs")
	}
	return NewPairTable(attrs, pairs)
}

func parsePair(rec []string, na int) (Pair, error) {
	p := Pair{Group: rec[0], Values: slices.Clone(rec[1 : 1+na])}
	f := rec[1+na:]
	p.Task = f[0]
	if p.Task == "" {
		return p, errors.New("empty task")
	}
	if strings.Join(p.Values, "|") != p.Group {
		return p, fmt.Errorf("group %q does not match its values %q", p.Group,
			strings.Join(p.Values, "|"))
	}
	ints := []*int{&p.N, &p.Passes, &p.GroupTotal, &p.GroupUsers}
	for i, j := range []int{1, 2, 4, 5} {
		v, err := strconv.Atoi(f[j])
		if err != nil || v < 0 {
			return p, fmt.Errorf("%s %q is not a non-negative integer", pairColumns[j], f[j])
		}
		*ints[i] = v
	}
	if p.N == 0 || p.Passes > p.N || p.GroupTotal < p.N {
		return p, fmt.Errorf("inconsistent counts n=%d passes=%d group_total=%d",
			p.N, p.Passes, p.GroupTotal)
	}
	floats := []*float64{&p.PassRate, &p.Participation, &p.MeanCash, &p.MeanPoints,
		&p.ART, &p.EART}
	for i, j := range []int{3, 6, 7, 8, 9, 10} {
		v, err := strconv.ParseFloat(f[j], 64)
		if err != nil || v != v || v-v != 0 {
			return p, fmt.Errorf("%s %q is not a finite number", pairColumns[j], f[j])
		}
		*floats[i] = v
	}
	p.Quadrant = f[11]
	switch p.Quadrant {
	case Underestimate, Overestimate, Aligned:
	default:
		return p, fmt.Errorf("unknown quadrant %q", p.Quadrant)
	}
	return p, nil
}
