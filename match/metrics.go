package match

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
)

// Prediction is one line of a predictions file.
type Prediction struct {
	ID     string `json:"id"`
	Answer string `json:"answer"`
}

// ReadPredictions reads predictions JSONL ({"id": "...", "answer": "..."}
// per line; blank lines are skipped) for the given entries. Errors name the
// line: bad JSON, a missing id, an id that is not among the entries, an id
// given twice. Entries without a prediction are missing answers.
func ReadPredictions(r io.Reader, entries []Entry) (map[string]string, error) {
	known := make(map[string]bool, len(entries))
	for _, e := range entries {
		known[e.ID] = true
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	preds := make(map[string]string)
	lines := make(map[string]int)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var p struct {
			ID     *string `json:"id"`
			Answer *string `json:"answer"`
		}
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("match: predictions line %d: %v", line, err)
		}
		switch {
		case p.ID == nil || *p.ID == "":
			return nil, fmt.Errorf("match: predictions line %d: missing id", line)
		case !known[*p.ID]:
			return nil, fmt.Errorf("match: predictions line %d: unknown id %q", line, *p.ID)
		}
		if prev, dup := lines[*p.ID]; dup {
			return nil, fmt.Errorf("match: predictions line %d: id %q already on line %d",
				line, *p.ID, prev)
		}
		lines[*p.ID] = line
		if p.Answer != nil {
			preds[*p.ID] = *p.Answer
		} else {
			preds[*p.ID] = ""
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("match: predictions: %v", err)
	}
	return preds, nil
}

// SetScore holds one set's benchmark figures.
type SetScore struct {
	N       int
	Correct int
	Invalid int
	SumART  float64
	SumEART float64
}

// Acc returns Correct / N, 0 for an empty set.
func (s SetScore) Acc() float64 { return ratio(float64(s.Correct), s.N) }

// ART returns the mean ART over the set's entries.
func (s SetScore) ART() float64 { return ratio(s.SumART, s.N) }

// EART returns the mean EART over the set's entries.
func (s SetScore) EART() float64 { return ratio(s.SumEART, s.N) }

func ratio(x float64, n int) float64 {
	if n == 0 {
		return 0
	}
	return x / float64(n)
}

// Report is the benchmark result: per set, and pooled.
type Report struct {
	Sets map[string]*SetScore
}

// SetOrder is the order of the four sets in tables and files.
var SetOrder = []string{SetMatch, SetTPair, SetUPair, SetUMulti}

// EARTSets are the sets that overall EART pools.
var EARTSets = []string{SetTPair, SetUPair, SetUMulti}

// Overall returns the pooled figures: accuracy over all four sets (correct
// over entries) and EART over t_pair, u_pair and u_multi.
func (r *Report) Overall() (n int, acc, eart float64) {
	var correct, ne int
	var sumE float64
	for _, k := range SetOrder {
		if s := r.Sets[k]; s != nil {
			n += s.N
			correct += s.Correct
		}
	}
	for _, k := range EARTSets {
		if s := r.Sets[k]; s != nil {
			ne += s.N
			sumE += s.SumEART
		}
	}
	return n, ratio(float64(correct), n), ratio(sumE, ne)
}

// Pool returns the pooled mean of per-set means with their sizes:
// sum(mean * size) / sum(size). It is how the overall figures relate to the
// per-set ones.
func Pool(means []float64, sizes []int) float64 {
	var s float64
	var n int
	for i, m := range means {
		s += m * float64(sizes[i])
		n += sizes[i]
	}
	return ratio(s, n)
}

// Score scores predictions on entries: an entry is correct when its answer
// equals its label; a missing answer or one outside its options is wrong,
// invalid, and scores ART = EART = 0. Otherwise ART and EART are those of
// the pair the answer selects (t_pair: the chosen group with the entry's
// task; u_pair, u_multi: the entry's group with the chosen task), looked up
// in tab; match has accuracy only. A selected pair missing from tab is an
// error.
func Score(entries []Entry, preds map[string]string, tab *PairTable) (*Report, error) {
	r := &Report{Sets: make(map[string]*SetScore)}
	for _, k := range SetOrder {
		r.Sets[k] = &SetScore{}
	}
	for i := range entries {
		e := &entries[i]
		s := r.Sets[e.Kind]
		if s == nil {
			return nil, fmt.Errorf("match: entry %s: unknown kind %q", e.ID, e.Kind)
		}
		s.N++
		ans, ok := preds[e.ID]
		idx := slices.Index(e.Options, ans)
		if !ok || idx < 0 {
			s.Invalid++
			continue
		}
		if ans == e.Label {
			s.Correct++
		}
		if e.Kind == SetMatch {
			continue
		}
		if idx >= len(e.Candidates) {
			return nil, fmt.Errorf("match: entry %s: option %d has no candidate", e.ID, idx+1)
		}
		group, task := e.Group, e.Candidates[idx]
		if e.Kind == SetTPair {
			group, task = e.Candidates[idx], e.Task
		}
		p, ok := tab.Lookup(group, task)
		if !ok {
			return nil, fmt.Errorf("match: entry %s: pair (%s, %s) is not in pairs.csv", e.ID, group, task)
		}
		s.SumART += p.ART
		s.SumEART += p.EART
	}
	return r, nil
}

type setJSON struct {
	N       int      `json:"n"`
	Acc     float64  `json:"acc"`
	Invalid int      `json:"invalid"`
	ART     *float64 `json:"art,omitempty"`
	EART    *float64 `json:"eart,omitempty"`
}

// MarshalJSON writes {"sets": {"match": {"n", "acc", "invalid"}, "t_pair":
// {"n", "acc", "invalid", "art", "eart"}, ...}, "overall": {"n", "acc",
// "eart"}}.
func (r *Report) MarshalJSON() ([]byte, error) {
	sets := make(orderedSets, 0, len(SetOrder))
	for _, k := range SetOrder {
		s := r.Sets[k]
		if s == nil {
			s = &SetScore{}
		}
		j := setJSON{N: s.N, Acc: s.Acc(), Invalid: s.Invalid}
		if k != SetMatch {
			art, eart := s.ART(), s.EART()
			j.ART, j.EART = &art, &eart
		}
		sets = append(sets, namedSet{k, j})
	}
	type overall struct {
		N    int     `json:"n"`
		Acc  float64 `json:"acc"`
		EART float64 `json:"eart"`
	}
	n, acc, eart := r.Overall()
	return json.Marshal(struct {
		Sets    orderedSets `json:"sets"`
		Overall overall     `json:"overall"`
	}{sets, overall{n, acc, eart}})
}

type namedSet struct {
	name string
	set  setJSON
}

// orderedSets is a JSON object whose keys keep SetOrder, as in the
// research's tables (match, t_pair, u_pair, u_multi).
type orderedSets []namedSet

// MarshalJSON writes the sets as one object, keys in order.
func (o orderedSets) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, s := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(s.name)
		v, err := json.Marshal(s.set)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// WriteTable prints the results in the research's layout: one row per set
// with Acc, and ART and EART where they apply, then the overall Acc and
// EART.
func (r *Report) WriteTable(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%-8s %6s %8s %8s %8s %8s\n", "set", "n", "Acc", "ART", "EART", "invalid")
	for _, k := range SetOrder {
		s := r.Sets[k]
		if s == nil {
			s = &SetScore{}
		}
		art, eart := fmt.Sprintf("%.3f", s.ART()), fmt.Sprintf("%.3f", s.EART())
		if k == SetMatch {
			art, eart = "-", "-"
		}
		fmt.Fprintf(&b, "%-8s %6d %8.3f %8s %8s %8d\n", k, s.N, s.Acc(), art, eart, s.Invalid)
	}
	n, acc, eart := r.Overall()
	fmt.Fprintf(&b, "%-8s %6d %8.3f %8s %8.3f\n", "overall", n, acc, "-", eart)
	_, err := w.Write(b.Bytes())
	return err
}
