package match

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
)

// testTable is a small pair table: group g1 with tasks a, b, c and group g2
// with task a.
func testTable(t *testing.T) *PairTable {
	t.Helper()
	ps := []Pair{
		{Group: "g1", Values: []string{"g1"}, Task: "a", N: 40, Passes: 20, PassRate: 0.5, GroupUsers: 2, EART: 3, ART: 6},
		{Group: "g1", Values: []string{"g1"}, Task: "b", N: 30, Passes: 24, PassRate: 0.8, GroupUsers: 2, EART: 2.4, ART: 3},
		{Group: "g1", Values: []string{"g1"}, Task: "c", N: 30, Passes: 24, PassRate: 0.8, GroupUsers: 2, EART: 0.8, ART: 1},
		{Group: "g2", Values: []string{"g2"}, Task: "a", N: 50, Passes: 10, PassRate: 0.2, GroupUsers: 1, EART: 0.3, ART: 1.5},
	}
	tab, err := NewPairTable([]string{"major"}, ps)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func TestScore(t *testing.T) {
	tab := testTable(t)
	p := &Profile{Major: "g1"}
	entries := []Entry{
		{ID: "m1", Kind: SetMatch, Group: "g1", Profile: p, Task: "a", Options: []string{"Yes", "No"}, Label: "Yes"},
		{ID: "m2", Kind: SetMatch, Group: "g1", Profile: p, Task: "b", Options: []string{"Yes", "No"}, Label: "No"},
		{ID: "t1", Kind: SetTPair, Task: "a", Candidates: []string{"g2", "g1"}, Options: []string{"A", "B"}, Label: "B"},
		{ID: "u1", Kind: SetUPair, Group: "g1", Profile: p, Candidates: []string{"a", "b"}, Options: []string{"A", "B"}, Label: "B"},
		{ID: "u2", Kind: SetUPair, Group: "g1", Profile: p, Candidates: []string{"c", "a"}, Options: []string{"A", "B"}, Label: "A"},
		{ID: "x1", Kind: SetUMulti, Group: "g1", Profile: p, Candidates: []string{"a", "b", "c"}, Options: []string{"a", "b", "c"}, Label: "b"},
	}
	preds := map[string]string{
		"m1": "Yes", // correct
		"m2": "yes", // outside options: invalid
		"t1": "A",   // wrong: g2 with a, EART 0.3
		"u1": "B",   // correct: b, EART 2.4
		// u2 missing: invalid
		"x1": "c", // wrong: c, EART 0.8
	}
	r, err := Score(entries, preds, tab)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]SetScore{
		SetMatch:  {N: 2, Correct: 1, Invalid: 1},
		SetTPair:  {N: 1, Correct: 0, SumART: 1.5, SumEART: 0.3},
		SetUPair:  {N: 2, Correct: 1, Invalid: 1, SumART: 3, SumEART: 2.4},
		SetUMulti: {N: 1, Correct: 0, SumART: 1, SumEART: 0.8},
	}
	for k, w := range want {
		if *r.Sets[k] != w {
			t.Errorf("%s: %+v, want %+v", k, *r.Sets[k], w)
		}
	}
	n, acc, eart := r.Overall()
	if n != 6 || acc != 2.0/6 || math.Abs(eart-(0.3+2.4+0.8)/4) > 1e-15 {
		t.Errorf("overall %d %v %v", n, acc, eart)
	}
	js, _ := r.MarshalJSON()
	if !strings.Contains(string(js), `"match":{"n":2,"acc":0.5,"invalid":1}`) ||
		!strings.Contains(string(js), `"u_pair":{"n":2,"acc":0.5,"invalid":1,"art":1.5,"eart":1.2}`) {
		t.Errorf("json %s", js)
	}
}

func TestReadPredictionsErrors(t *testing.T) {
	entries := []Entry{{ID: "a"}, {ID: "b"}}
	tests := []struct{ in, want string }{
		{`{"id":"a","answer":"A"}` + "\n" + `{"id":"zz","answer":"A"}`, "line 2: unknown id \"zz\""},
		{`{"id":"a","answer":"A"}` + "\n\n" + `{"id":"a","answer":"B"}`, "line 3: id \"a\" already on line 1"},
		{`{"answer":"A"}`, "line 1: missing id"},
		{`{"id":`, "line 1"},
	}
	for _, tt := range tests {
		if _, err := ReadPredictions(strings.NewReader(tt.in), entries); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: got %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestReassignTies(t *testing.T) {
	tab := testTable(t)
	rows, sum, err := Reassign(tab, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	// g1: b and c tie at 0.8, both beat a; by name b, c. Its pass rate
	// rises but its EART falls (2.16 -> 1.6): a group that gets worse.
	g1 := rows[0]
	if !slices.Equal(g1.TopTasks, []string{"b", "c"}) || g1.Submissions != 100 || g1.TasksKept != 3 ||
		g1.PassRateBefore != 0.68 || g1.PassRateAfter != 0.8 || g1.EARTAfter != (2.4+0.8)/2 {
		t.Errorf("g1 %+v", g1)
	}
	if want := (40*3 + 30*2.4 + 30*0.8) / 100; math.Abs(g1.EARTBefore-want) > 1e-15 {
		t.Errorf("g1 EART before %v, want %v", g1.EARTBefore, want)
	}
	// g2 has one task: k is capped, nothing changes.
	if g2 := rows[1]; !slices.Equal(g2.TopTasks, []string{"a"}) || g2.PassRateAfter != g2.PassRateBefore {
		t.Errorf("g2 %+v", g2)
	}
	if sum.Submissions != 150 || math.Abs(sum.Before.PassRate-78.0/150) > 1e-15 ||
		math.Abs(sum.After.PassRate-(100*0.8+50*0.2)/150) > 1e-15 || sum.GroupsWorse.EART != 1 {
		t.Errorf("summary %+v", sum)
	}
	// k = 1 with a tie: b before c by name.
	rows, _, _ = Reassign(tab, 1, nil)
	if rows[0].TopTasks[0] != "b" {
		t.Errorf("tie broken to %v", rows[0].TopTasks)
	}
	// A ranker's order wins.
	rank := func(g string, p Profile, tasks []string) ([]string, error) {
		out := slices.Clone(tasks)
		slices.Reverse(out)
		return out, nil
	}
	rows, sum, _ = Reassign(tab, 1, rank)
	if rows[0].TopTasks[0] != "c" || sum.Source != "model" {
		t.Errorf("ranked %v %s", rows[0].TopTasks, sum.Source)
	}
	var b bytes.Buffer
	if err := WriteReassign(&b, rows); err != nil || !strings.HasPrefix(b.String(), strings.Join(ReassignColumns, ",")) {
		t.Errorf("csv %v %q", err, b.String())
	}
}

func TestReadPairsErrors(t *testing.T) {
	head := "group,major," + strings.Join(pairColumns, ",") + "\n"
	ok := "g,g,a,30,15,0.5,60,1,0.5,1,2,1.2,0.6,aligned\n"
	tests := []struct{ name, in, want string }{
		{"empty", "", "empty file"},
		{"header", "group,task\n", "line 1"},
		{"quadrant", head + ok + "g,g,b,30,15,0.5,60,1,0.5,1,2,1.2,0.6,sideways\n", "line 3: unknown quadrant"},
		{"group key", head + "h,g,a,30,15,0.5,60,1,0.5,1,2,1.2,0.6,aligned\n", "line 2: group"},
		{"duplicate", head + ok + ok, "line 3: pair (g, a) already on line 2"},
		{"number", head + "g,g,a,x,15,0.5,60,1,0.5,1,2,1.2,0.6,aligned\n", "line 2: n"},
	}
	for _, tt := range tests {
		if _, err := ReadPairs(strings.NewReader(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.want)
		}
	}
}

// FuzzReadLog checks that the log parser never panics and that what it
// accepts survives a write and a read.
func FuzzReadLog(f *testing.F) {
	f.Add(logHeader + "S1,U1,Female,18-29,Ph.D.,Medicine,T,passed,1,1.50,10,2023-01-01T10:00:00\n")
	f.Add(logHeader + "S1,U1,,,,,Novice Guide,pending,0,0,0,2023-01-01\n")
	f.Add("a,b\n1,2\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		subs, err := ReadLog(strings.NewReader(in))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "match: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		var b bytes.Buffer
		if err := WriteLog(&b, subs); err != nil {
			t.Fatal(err)
		}
		back, err := ReadLog(&b)
		if err != nil || len(back) != len(subs) {
			t.Fatalf("round trip: %v (%d vs %d rows)", err, len(back), len(subs))
		}
		for i := range subs {
			if back[i].CashCents != subs[i].CashCents || back[i].Passed != subs[i].Passed {
				t.Fatalf("row %d changed", i)
			}
		}
	})
}
