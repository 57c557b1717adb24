package match

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// TestSimulatePatterns checks the research's patterns on the synthetic log,
// within the tolerances written next to each, for two seeds.
func TestSimulatePatterns(t *testing.T) {
	for _, seed := range []int64{42, 7} {
		subs := Simulate(seed)
		cl, cs := Clean(subs)
		if cs.MissingProfile == 0 || cs.Pending == 0 || cs.NoviceGuide == 0 || cs.UsersDropped == 0 {
			t.Errorf("seed %d: every cleaning step must drop rows: %+v", seed, cs)
		}
		st := computeSimStats(cl)
		if st.users != SimUsers || st.rows != SimSubmissions || st.tasks != SimTaskCount {
			t.Fatalf("seed %d: %d users, %d rows, %d tasks", seed, st.users, st.rows, st.tasks)
		}
		near := func(name string, got, want, tol float64) {
			t.Helper()
			if got < want-tol || got > want+tol {
				t.Errorf("seed %d: %s = %.3f, want %.2f +- %.2f", seed, name, got, want, tol)
			}
		}
		near("female mean", st.mean["Female"], 0.55, 0.04)
		near("male mean", st.mean["Male"], 0.45, 0.04)
		if st.sd["Male"] >= st.sd["Female"] {
			t.Errorf("seed %d: male sd %.3f should be below female %.3f", seed, st.sd["Male"], st.sd["Female"])
		}
		for _, age := range []string{"Under 18", "18-29", "40-50", "50+"} {
			if age != "18-29" && st.mean[age] <= st.mean["18-29"] {
				t.Errorf("seed %d: 18-29 (%.3f) should be lowest, %s %.3f", seed, st.mean["18-29"], age, st.mean[age])
			}
			if st.mean[age] >= st.mean["30-39"] {
				t.Errorf("seed %d: 30-39 (%.3f) should be best, %s %.3f", seed, st.mean["30-39"], age, st.mean[age])
			}
		}
		near("high school median", st.median["High School"], 0.70, 0.05)
		near("undergraduate median", st.median["Undergraduate"], 0.45, 0.05)
		near("sports and health", st.mean["Sports and Health"], 0.70, 0.05)
		near("natural sciences", st.mean["Natural Sciences"], 0.65, 0.05)
		near("medicine", st.mean["Medicine"], 0.30, 0.06)
		near("arts and design", st.mean["Arts and Design"], 0.30, 0.06)
		// Wide spread: Medicine's and Arts' sd above the other majors' mean sd.
		var others float64
		for _, c := range simMajor {
			if c.value != "Medicine" && c.value != "Arts and Design" {
				others += st.sd[c.value] / 6
			}
		}
		if st.sd["Medicine"] <= others || st.sd["Arts and Design"] <= others {
			t.Errorf("seed %d: sd Medicine %.3f, Arts %.3f, others %.3f", seed, st.sd["Medicine"],
				st.sd["Arts and Design"], others)
		}
		near("Ph.D. share of all", st.phdShareAll, 0.14, 0.02)
		near("Ph.D. share of WCR", st.phdShareWCR, 0.80, 0.05)
		if st.phdRateWCR >= st.phdRateAll {
			t.Errorf("seed %d: Ph.D. pass WCR %.3f, overall %.3f", seed, st.phdRateWCR, st.phdRateAll)
		}
	}
}

func TestSimulateDeterministic(t *testing.T) {
	var a, b, c bytes.Buffer
	WriteLog(&a, Simulate(3))
	WriteLog(&b, Simulate(3))
	WriteLog(&c, Simulate(4))
	if !bytes.Equal(a.Bytes(), b.Bytes()) || bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Error("same seed must give the same log, another seed another")
	}
	subs, err := ReadLog(&a)
	if err != nil || len(subs) == 0 {
		t.Fatalf("the log must read back: %v", err)
	}
}

// TestDatasetInvariants checks the datasets on the simulated log, grouped
// two ways: labels are the higher pass rate, candidates come from different
// segments, no entry twice, sizes min(target, possible), split sizes.
func TestDatasetInvariants(t *testing.T) {
	cl, _ := Clean(Simulate(42))
	for _, attrs := range [][]string{Attributes, {"education", "major"}} {
		a, err := Analyze(cl, attrs)
		if err != nil {
			t.Fatal(err)
		}
		tab, _ := NewPairTable(attrs, a.Pairs)
		sets, err := BuildDatasets(tab, DatasetOptions{Seed: 42})
		if err != nil {
			t.Fatal(err)
		}
		again, _ := BuildDatasets(tab, DatasetOptions{Seed: 42})
		for si, ds := range sets {
			spec := DefaultSets[si]
			if len(ds.Entries) != min(spec.Target, ds.Possible) || len(ds.Test) != TestSize(len(ds.Entries)) ||
				len(ds.Train)+len(ds.Test) != len(ds.Entries) {
				t.Errorf("%v %s: %d entries (possible %d), %d test, %d train", attrs, ds.Name,
					len(ds.Entries), ds.Possible, len(ds.Test), len(ds.Train))
			}
			if !slices.EqualFunc(ds.Entries, again[si].Entries, func(x, y Entry) bool {
				return x.ID == y.ID && x.Label == y.Label && slices.Equal(x.Candidates, y.Candidates)
			}) {
				t.Errorf("%s: same seed, different entries", ds.Name)
			}
			checkEntries(t, tab, ds)
		}
	}
}

func checkEntries(t *testing.T, tab *PairTable, ds Dataset) {
	t.Helper()
	seen := map[string]bool{}
	cutsOf := map[string][3]float64{}
	pop := func(key string, keep func(Pair) bool) [3]float64 {
		if c, ok := cutsOf[key]; ok {
			return c
		}
		var r []float64
		for _, p := range tab.Pairs {
			if keep(p) {
				r = append(r, p.PassRate)
			}
		}
		cutsOf[key] = Quartiles(r)
		return cutsOf[key]
	}
	for _, e := range ds.Entries {
		if err := e.check(); err != nil {
			t.Fatalf("%s: %v", e.ID, err)
		}
		var ps []*Pair
		var cuts [3]float64
		switch e.Kind {
		case SetMatch:
			p, _ := tab.Lookup(e.Group, e.Task)
			ps = []*Pair{p}
			cuts = pop("", func(Pair) bool { return true })
		case SetTPair:
			for _, g := range e.Candidates {
				p, _ := tab.Lookup(g, e.Task)
				ps = append(ps, p)
			}
			cuts = pop("t:"+e.Task, func(p Pair) bool { return p.Task == e.Task })
		default:
			for _, tk := range e.Candidates {
				p, _ := tab.Lookup(e.Group, tk)
				ps = append(ps, p)
			}
			cuts = pop("g:"+e.Group, func(p Pair) bool { return p.Group == e.Group })
		}
		segs := map[int]bool{}
		best := 0
		for i, p := range ps {
			if p == nil {
				t.Fatalf("%s: candidate %d is not a pair", e.ID, i)
			}
			segs[Segment(p.PassRate, cuts)] = true
			if p.PassRate > ps[best].PassRate {
				best = i
			}
		}
		if len(segs) != len(ps) {
			t.Errorf("%s: candidates share a segment", e.ID)
		}
		var want string
		switch e.Kind {
		case SetMatch:
			s := Segment(ps[0].PassRate, cuts)
			want = map[int]string{3: "Yes", 0: "No"}[s]
		case SetUMulti:
			want = e.Candidates[best]
		default:
			want = []string{"A", "B"}[best]
		}
		if e.Label != want {
			t.Errorf("%s: label %q, want %q", e.ID, e.Label, want)
		}
		sorted := slices.Clone(e.Candidates)
		slices.Sort(sorted)
		key := e.Kind + "|" + e.Group + "|" + e.Task + "|" + strings.Join(sorted, "|")
		if seen[key] {
			t.Errorf("%s: entry twice", e.ID)
		}
		seen[key] = true
	}
}
