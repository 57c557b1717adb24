package match

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Dataset kinds, in the order of test.jsonl.
const (
	SetMatch  = "match"
	SetTPair  = "t_pair"
	SetUPair  = "u_pair"
	SetUMulti = "u_multi"
)

// SetSpec describes one of the four datasets (GDBM.md's table).
type SetSpec struct {
	Name     string
	Target   int   // target size
	K        int   // candidates per entry
	Segments []int // the segments candidates may come from
}

// DefaultSets are the four datasets with the research's target sizes.
var DefaultSets = []SetSpec{
	{Name: SetMatch, Target: 715, K: 1, Segments: []int{0, 3}},
	{Name: SetTPair, Target: 925, K: 2, Segments: []int{0, 1, 2, 3}},
	{Name: SetUPair, Target: 1580, K: 2, Segments: []int{0, 1, 2, 3}},
	{Name: SetUMulti, Target: 495, K: 3, Segments: []int{0, 1, 2, 3}},
}

// Entry is one dataset entry as written to the JSONL files and read by the
// benchmark. match entries have Group, Profile and Task; t_pair entries
// have Task, Candidates (group keys) and CandidateProfiles; u_pair and
// u_multi entries have Group, Profile and Candidates (task names). Lang is
// set only for Chinese datasets.
type Entry struct {
	ID                string    `json:"id"`
	Kind              string    `json:"kind"`
	Lang              string    `json:"lang,omitempty"`
	Group             string    `json:"group,omitempty"`
	Profile           *Profile  `json:"profile,omitempty"`
	Task              string    `json:"task,omitempty"`
	Candidates        []string  `json:"candidates,omitempty"`
	CandidateProfiles []Profile `json:"candidate_profiles,omitempty"`
	Options           []string  `json:"options"`
	Label             string    `json:"label"`

	pairs []int // the pair of each candidate, in candidate order
}

// Dataset is one built set with its split.
type Dataset struct {
	Name     string
	Target   int
	Possible int // distinct entries possible
	Entries  []Entry
	Train    []Entry
	Test     []Entry
}

// DatasetOptions configures BuildDatasets.
type DatasetOptions struct {
	Seed int64
	Lang string    // "en" (or "") or "zh": the words of the match options
	Sets []SetSpec // nil means DefaultSets
}

// TestSize returns the test size of a set of n entries: ceil(n / 5).
func TestSize(n int) int { return (n + 4) / 5 }

// dsContext is one context of a set with its population cut into segments.
type dsContext struct {
	name     string
	seg      [4][]int // pair indices per segment, in table order
	possible int
}

// BuildDatasets builds the four datasets from a pair table as GDBM.md
// defines them, with their seeded 8:2 split.
func BuildDatasets(tab *PairTable, opt DatasetOptions) ([]Dataset, error) {
	lang, err := CheckLang(opt.Lang)
	if err != nil {
		return nil, err
	}
	sets := opt.Sets
	if sets == nil {
		sets = DefaultSets
	}
	var out []Dataset
	for si, spec := range sets {
		ctxs := contexts(tab, spec)
		rng := rand.New(rand.NewPCG(uint64(opt.Seed), uint64(si)+1))
		ds := Dataset{Name: spec.Name, Target: spec.Target}
		for _, c := range ctxs {
			ds.Possible += c.possible
		}
		var picks [][]int
		var pctx []int
		if ds.Possible <= spec.Target {
			for ci, c := range ctxs {
				for _, items := range enumerate(c, spec) {
					picks, pctx = append(picks, items), append(pctx, ci)
				}
			}
		} else {
			picks, pctx = drawEntries(ctxs, spec, rng)
		}
		for i, items := range picks {
			rng.Shuffle(len(items), func(a, b int) { items[a], items[b] = items[b], items[a] })
			e := newEntry(tab, spec, lang, ctxs[pctx[i]], items)
			e.ID = fmt.Sprintf("%s-%04d", spec.Name, i+1)
			ds.Entries = append(ds.Entries, e)
		}
		split := rand.New(rand.NewPCG(uint64(opt.Seed), 100+uint64(si)))
		perm := split.Perm(len(ds.Entries))
		nt := TestSize(len(ds.Entries))
		test := slices.Clone(perm[:nt])
		slices.Sort(test)
		inTest := make([]bool, len(ds.Entries))
		for _, j := range test {
			inTest[j] = true
		}
		for j, e := range ds.Entries {
			if inTest[j] {
				ds.Test = append(ds.Test, e)
			} else {
				ds.Train = append(ds.Train, e)
			}
		}
		out = append(out, ds)
	}
	return out, nil
}

// contexts returns the contexts of a set: one for match (all pairs), the
// tasks (sorted by name) for t_pair, the groups (in table order) otherwise.
func contexts(tab *PairTable, spec SetSpec) []*dsContext {
	var names []string
	members := make(map[string][]int)
	for i, p := range tab.Pairs {
		var key string
		switch spec.Name {
		case SetMatch:
			key = ""
		case SetTPair:
			key = p.Task
		default:
			key = p.Group
		}
		if _, ok := members[key]; !ok {
			names = append(names, key)
		}
		members[key] = append(members[key], i)
	}
	if spec.Name == SetTPair {
		slices.Sort(names)
	}
	ctxs := make([]*dsContext, 0, len(names))
	for _, name := range names {
		idx := members[name]
		rates := make([]float64, len(idx))
		for j, i := range idx {
			rates[j] = tab.Pairs[i].PassRate
		}
		cuts := Quartiles(rates)
		c := &dsContext{name: name}
		for _, i := range idx {
			s := Segment(tab.Pairs[i].PassRate, cuts)
			if slices.Contains(spec.Segments, s) {
				c.seg[s] = append(c.seg[s], i)
			}
		}
		for _, sub := range segSubsets(c, spec.K) {
			n := 1
			for _, s := range sub {
				n *= len(c.seg[s])
			}
			c.possible += n
		}
		ctxs = append(ctxs, c)
	}
	return ctxs
}

// segSubsets returns the k-subsets of c's non-empty segments, ascending.
func segSubsets(c *dsContext, k int) [][]int {
	var nonEmpty []int
	for s := range 4 {
		if len(c.seg[s]) > 0 {
			nonEmpty = append(nonEmpty, s)
		}
	}
	var out [][]int
	var rec func(start int, cur []int)
	rec = func(start int, cur []int) {
		if len(cur) == k {
			out = append(out, slices.Clone(cur))
			return
		}
		for i := start; i < len(nonEmpty); i++ {
			rec(i+1, append(cur, nonEmpty[i]))
		}
	}
	rec(0, nil)
	return out
}

// enumerate lists every entry of a context: per segment subset, the
// cartesian product of the segments' items.
func enumerate(c *dsContext, spec SetSpec) [][]int {
	var out [][]int
	for _, sub := range segSubsets(c, spec.K) {
		var rec func(d int, cur []int)
		rec = func(d int, cur []int) {
			if d == len(sub) {
				out = append(out, slices.Clone(cur))
				return
			}
			for _, i := range c.seg[sub[d]] {
				rec(d+1, append(cur, i))
			}
		}
		rec(0, nil)
	}
	return out
}

// drawEntries draws distinct entries until the target is reached: a context
// uniformly among those with entries, then spec.K distinct non-empty
// segments, then one item in each; repeats are skipped. The caller makes
// sure the possible entries outnumber the target.
func drawEntries(ctxs []*dsContext, spec SetSpec, rng *rand.Rand) (picks [][]int, pctx []int) {
	var eligible []int
	for i, c := range ctxs {
		if c.possible > 0 {
			eligible = append(eligible, i)
		}
	}
	seen := make(map[string]bool)
	for len(picks) < spec.Target {
		ci := eligible[rng.IntN(len(eligible))]
		c := ctxs[ci]
		var segs []int
		for s := range 4 {
			if len(c.seg[s]) > 0 {
				segs = append(segs, s)
			}
		}
		for i := 0; i < spec.K; i++ {
			j := i + rng.IntN(len(segs)-i)
			segs[i], segs[j] = segs[j], segs[i]
		}
		items := make([]int, spec.K)
		for i, s := range segs[:spec.K] {
			items[i] = c.seg[s][rng.IntN(len(c.seg[s]))]
		}
		sorted := slices.Clone(items)
		slices.Sort(sorted)
		var key strings.Builder
		key.WriteString(strconv.Itoa(ci))
		for _, i := range sorted {
			key.WriteString("," + strconv.Itoa(i))
		}
		if seen[key.String()] {
			continue
		}
		seen[key.String()] = true
		picks, pctx = append(picks, items), append(pctx, ci)
	}
	return picks, pctx
}

// newEntry makes the entry of a context and its candidates (pair indices in
// their final order). The label is the candidate with the higher pass rate.
func newEntry(tab *PairTable, spec SetSpec, lang string, c *dsContext, items []int) Entry {
	e := Entry{Kind: spec.Name, pairs: slices.Clone(items)}
	if lang == "zh" {
		e.Lang = lang
	}
	best := 0
	for i, it := range items {
		if tab.Pairs[it].PassRate > tab.Pairs[items[best]].PassRate {
			best = i
		}
	}
	first := &tab.Pairs[items[0]]
	switch spec.Name {
	case SetMatch:
		e.Group, e.Task = first.Group, first.Task
		p := GroupProfile(tab.Attrs, first.Values)
		e.Profile = &p
		e.Options = MatchOptions(lang)
		// The match population is cut once; c.seg tells the segment.
		if slices.Contains(c.seg[3], items[0]) {
			e.Label = e.Options[0]
		} else {
			e.Label = e.Options[1]
		}
		return e
	case SetTPair:
		e.Task = first.Task
		for _, it := range items {
			p := &tab.Pairs[it]
			e.Candidates = append(e.Candidates, p.Group)
			e.CandidateProfiles = append(e.CandidateProfiles, GroupProfile(tab.Attrs, p.Values))
		}
	default:
		e.Group = first.Group
		p := GroupProfile(tab.Attrs, first.Values)
		e.Profile = &p
		for _, it := range items {
			e.Candidates = append(e.Candidates, tab.Pairs[it].Task)
		}
	}
	if spec.Name == SetUMulti {
		e.Options = slices.Clone(e.Candidates)
		e.Label = e.Candidates[best]
	} else {
		e.Options = PairOptions(lang)
		e.Label = e.Options[best]
	}
	return e
}
