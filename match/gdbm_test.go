package match

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

const logHeader = "submission_id,user_id,gender,age,education,major,task,review_state,passed,cash,points,submitted_at\n"

// rows builds submissions: n rows of user u on task with a profile, the
// first passes of them passed with cents and points.
func rows(u, task string, prof [4]string, n, passes int, cents, points int64) []Submission {
	var out []Submission
	for i := 0; i < n; i++ {
		s := Submission{ID: fmt.Sprintf("%s-%s-%d", u, task, i), UserID: u, Gender: prof[0],
			Age: prof[1], Education: prof[2], Major: prof[3], Task: task, State: StateRejected,
			Submitted: time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)}
		if i < passes {
			s.State, s.Passed, s.CashCents, s.Points = StatePassed, true, cents, points
		}
		out = append(out, s)
	}
	return out
}

var profA = [4]string{"Female", "18-29", "Ph.D.", "Medicine"}

func TestReadLogErrors(t *testing.T) {
	ok := "S1,U1,Female,18-29,Ph.D.,Medicine,T,passed,1,1.50,10,2023-01-01T10:00:00\n"
	tests := []struct {
		name, csv, want string
	}{
		{"empty file", "", "empty file"},
		{"missing column", strings.Replace(logHeader, ",points", "", 1), "line 1: missing column \"points\""},
		{"unknown state", logHeader + ok + "S2,U1,F,A,E,M,T,approved,1,1.00,1,2023-01-01\n", "line 3: unknown review_state"},
		{"passed disagrees", logHeader + ok + "S2,U1,F,A,E,M,T,rejected,1,0,0,2023-01-01\n", "line 3: passed is 1 but review_state is rejected"},
		{"passed not 0/1", logHeader + "S2,U1,F,A,E,M,T,rejected,no,0,0,2023-01-01\n", "line 2: passed"},
		{"bad cash", logHeader + "S2,U1,F,A,E,M,T,passed,1,1.234,0,2023-01-01\n", "line 2: cash"},
		{"bad points", logHeader + "S2,U1,F,A,E,M,T,passed,1,1.23,1.5,2023-01-01\n", "line 2: points"},
		{"bad time", logHeader + "S2,U1,F,A,E,M,T,passed,1,1.23,1,2023-01-01T10:00:00Z\n", "line 2: submitted_at"},
		{"wrong field count", logHeader + ok + "S2,U1\n", "line 3"},
		{"duplicate id", logHeader + ok + ok, "line 3: submission_id \"S1\" already on line 2"},
		{"empty user", logHeader + "S2,,F,A,E,M,T,passed,1,1.23,1,2023-01-01\n", "line 2: empty user_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadLog(strings.NewReader(tt.csv))
			if err == nil || !strings.HasPrefix(err.Error(), "match: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestReadLogValues(t *testing.T) {
	csv := logHeader +
		"S1,U1,Female,18-29,Ph.D.,Medicine,T,passed,1,1.5,10,2023-01-01T10:00:00\n" +
		"S2,U1,,18-29,Ph.D.,Medicine,Novice Guide,pending,0,0,0,2023-01-01 10:00:00.5\n" +
		"S3,U2,Male,50+,High School,Arts and Design,T,passed,1,12,0,2023-01-02\n"
	subs, err := ReadLog(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 3 || subs[0].CashCents != 150 || subs[2].CashCents != 1200 || subs[0].Points != 10 ||
		subs[1].Gender != "" || subs[1].State != StatePending || subs[2].Line != 4 {
		t.Errorf("got %+v", subs)
	}
	var b bytes.Buffer
	if err := WriteLog(&b, subs[:1]); err != nil {
		t.Fatal(err)
	}
	back, err := ReadLog(&b)
	if err != nil || back[0].CashCents != 150 {
		t.Errorf("round trip: %v %+v", err, back)
	}
}

func TestCleanOrder(t *testing.T) {
	var subs []Submission
	// U1: 27 real rows plus 3 Novice Guide rows: dropped (30 raw, 27 after step 3).
	subs = append(subs, rows("U1", "T", profA, 27, 10, 100, 1)...)
	subs = append(subs, rows("U1", NoviceGuide, profA, 3, 3, 0, 5)...)
	// U2: 30 real rows, plus 2 pending and 1 with a blank field: kept with 30.
	subs = append(subs, rows("U2", "T", profA, 30, 10, 100, 1)...)
	pend := rows("U2", "T2", profA, 2, 0, 0, 0)
	for i := range pend {
		pend[i].State = StatePending
	}
	subs = append(subs, pend...)
	blank := rows("U2", "T3", [4]string{"Female", "", "Ph.D.", "Medicine"}, 1, 0, 0, 0)
	subs = append(subs, blank...)
	// U3: a pending Novice Guide row with a blank field counts at step 1.
	nb := rows("U3", NoviceGuide, [4]string{"", "", "", ""}, 1, 0, 0, 0)
	nb[0].State = StatePending
	subs = append(subs, nb...)

	kept, st := Clean(subs)
	want := CleanStats{Rows: 64, MissingProfile: 2, Pending: 2, NoviceGuide: 3, FewRows: 27,
		UsersDropped: 1, Kept: 30, Users: 1}
	if st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	for _, s := range kept {
		if s.UserID != "U2" || s.Task != "T" {
			t.Fatalf("kept %+v", s)
		}
	}
}

func TestAnalyzeHandComputed(t *testing.T) {
	// Group G1 (one user, 100 rows): task A 40 rows (30 passed, 1.01 cash
	// and 3 points each), task B 30 rows (0 passed), task C 30 rows but in
	// another group... no: task C 29 rows is dropped, leaving group_total
	// 99 with participations 40/99 and 30/99 that sum to 70/99.
	p1 := [4]string{"Female", "18-29", "Ph.D.", "Medicine"}
	p2 := [4]string{"Male", "18-29", "Ph.D.", "Medicine"}
	var subs []Submission
	subs = append(subs, rows("U1", "A", p1, 40, 30, 101, 3)...)
	subs = append(subs, rows("U1", "B", p1, 30, 0, 0, 0)...)
	subs = append(subs, rows("U1", "C", p1, 29, 29, 50, 1)...)
	// Group G2: task A 60 rows, 20 passed with cash 0.07 and 0.03 alternating.
	g2 := rows("U2", "A", p2, 60, 20, 7, 10)
	for i := 0; i < 20; i += 2 {
		g2[i].CashCents = 3
	}
	subs = append(subs, g2...)
	a, err := Analyze(subs, Attributes)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Pairs) != 3 {
		t.Fatalf("got %d pairs, want 3", len(a.Pairs))
	}
	// Sorted by values: Female < Male; then task.
	pa, pb, pc := a.Pairs[0], a.Pairs[1], a.Pairs[2]
	if pa.Task != "A" || pb.Task != "B" || pc.Group != "Male|18-29|Ph.D.|Medicine" {
		t.Fatalf("order: %+v", a.Pairs)
	}
	checks := []struct {
		name      string
		got, want float64
	}{
		{"A participation", pa.Participation, 40.0 / 99},
		{"B participation", pb.Participation, 30.0 / 99},
		{"A pass rate", pa.PassRate, 0.75},
		{"A mean cash", pa.MeanCash, 3030.0 / 3000},
		{"A mean points", pa.MeanPoints, 3},
		{"A art", pa.ART, 3030.0/3000 + 0.1*3},
		{"A eart", pa.EART, (3030.0/3000 + 0.1*3) * 0.75},
		{"B mean cash", pb.MeanCash, 0},
		{"B eart", pb.EART, 0},
		{"G2 mean cash", pc.MeanCash, 100.0 / 2000},
		{"G2 participation", pc.Participation, 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if pa.GroupTotal != 99 || pa.GroupUsers != 1 {
		t.Errorf("group_total %d users %d", pa.GroupTotal, pa.GroupUsers)
	}
	// Centre: x0 = (40*40/99 + 30*30/99 + 60*1) / 130, y0 = 50/130.
	x0, _ := a.CentreX.Float64()
	if want := (1600.0/99 + 900.0/99 + 60) / 130; math.Abs(x0-want) > 1e-15 {
		t.Errorf("x0 = %v, want %v", x0, want)
	}
	if a.CentreY.String() != "5/13" {
		t.Errorf("y0 = %s, want 5/13", a.CentreY)
	}
	// A: x 0.404 < x0 0.655, y 0.75 > 0.385: underestimate. B: x < x0,
	// y 0 < y0: aligned. G2: x 1 > x0, y 1/3 < 5/13: overestimate.
	for i, want := range []string{Underestimate, Aligned, Overestimate} {
		if a.Pairs[i].Quadrant != want {
			t.Errorf("pair %d quadrant %s, want %s", i, a.Pairs[i].Quadrant, want)
		}
	}
}

func TestQuadrantTies(t *testing.T) {
	// Two groups, same task: rates 1/3 and 2/3 over n 30 and 60 gives
	// y0 = (10+40)/90 = 5/9; participations 1 each, so x0 = 1 and both
	// sit on the vertical line: aligned, even though 1/3 < y0.
	// Exact ties on y: a pair whose pass rate equals y0.
	tests := []struct {
		name  string
		pairs []Pair
		want  []string
	}{
		{"on x0", []Pair{{N: 30, Passes: 10, GroupTotal: 30}, {N: 60, Passes: 40, GroupTotal: 60}},
			[]string{Aligned, Aligned}},
		// x: 30/60, 30/30, 30/90 -> x0 = (15 + 30 + 10)/90 = 11/18; rates
		// 0.5, 0.5, 0.5 all equal y0 = 0.5: all aligned.
		{"on y0", []Pair{{N: 30, Passes: 15, GroupTotal: 60}, {N: 30, Passes: 15, GroupTotal: 30},
			{N: 30, Passes: 15, GroupTotal: 90}}, []string{Aligned, Aligned, Aligned}},
		// x 1 and 0.75, x0 = 0.875; rates 0.1 and 0.3, y0 = 0.2.
		{"off the lines", []Pair{{N: 30, Passes: 3, GroupTotal: 30}, {N: 30, Passes: 9, GroupTotal: 40}},
			[]string{Overestimate, Underestimate}},
		// Rates 7/30 and 7/30 + a third pair at 14/60: all equal y0 = 7/30,
		// which is not exactly representable; exact comparison says tie.
		{"inexact tie", []Pair{{N: 30, Passes: 7, GroupTotal: 31}, {N: 30, Passes: 7, GroupTotal: 90},
			{N: 60, Passes: 14, GroupTotal: 60}}, []string{Aligned, Aligned, Aligned}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, counts := classify(tt.pairs)
			for i, w := range tt.want {
				if tt.pairs[i].Quadrant != w {
					t.Errorf("pair %d: %s, want %s (%v)", i, tt.pairs[i].Quadrant, w, counts)
				}
			}
		})
	}
}

func TestQuartilesAndSegments(t *testing.T) {
	tests := []struct {
		xs   []float64
		want [3]float64
	}{
		{[]float64{4, 1, 3, 2}, [3]float64{1.75, 2.5, 3.25}},
		{[]float64{5}, [3]float64{5, 5, 5}},
		{[]float64{1, 2, 3, 4, 5}, [3]float64{2, 3, 4}},
		{[]float64{0.1, 0.9}, [3]float64{0.30000000000000004, 0.5, 0.7000000000000001}},
	}
	for _, tt := range tests {
		if got := Quartiles(tt.xs); got != tt.want {
			t.Errorf("Quartiles(%v) = %v, want %v", tt.xs, got, tt.want)
		}
	}
	cuts := [3]float64{2, 3, 4}
	for rate, want := range map[float64]int{1: 0, 2: 0, 2.5: 1, 3: 1, 3.5: 2, 4: 2, 4.5: 3} {
		if got := Segment(rate, cuts); got != want {
			t.Errorf("Segment(%v) = %d, want %d", rate, got, want)
		}
	}
}

func TestTestSize(t *testing.T) {
	for n, want := range map[int]int{715: 143, 925: 185, 1580: 316, 495: 99, 0: 0, 1: 1, 5: 1, 6: 2} {
		if got := TestSize(n); got != want {
			t.Errorf("TestSize(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestPool(t *testing.T) {
	acc := Pool([]float64{0.569, 0.660, 0.661, 0.424}, []int{143, 185, 316, 99})
	eart := Pool([]float64{1.674, 1.342, 1.499}, []int{185, 316, 99})
	if math.Round(acc*1000)/1000 != 0.611 || math.Round(eart*1000)/1000 != 1.470 {
		t.Errorf("pooled %v %v, want 0.611 1.470", acc, eart)
	}
	if plain := (0.569 + 0.660 + 0.661 + 0.424) / 4; math.Round(plain*1000)/1000 == 0.611 {
		t.Errorf("a plain mean should not give 0.611")
	}
}
