package match

import (
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// Attributes are the profile attributes that can group users, in their
// default order.
var Attributes = []string{"gender", "age", "education", "major"}

// MinRows is the least number of cleaned rows a user keeps (cleaning step
// 4), and MinPairN the least number of cleaned submissions of a kept pair.
const (
	MinRows  = 30
	MinPairN = 30
)

// CleanStats counts what each cleaning step dropped.
type CleanStats struct {
	Rows           int `json:"rows"`            // rows read
	MissingProfile int `json:"missing_profile"` // step 1: rows with an empty profile field
	Pending        int `json:"pending"`         // step 2: pending rows
	NoviceGuide    int `json:"novice_guide"`    // step 3: rows of the onboarding task
	FewRows        int `json:"few_rows"`        // step 4: rows of users under MinRows
	UsersDropped   int `json:"users_dropped"`   // step 4: users under MinRows
	Kept           int `json:"kept"`            // rows kept
	Users          int `json:"users"`           // users kept
}

// Clean applies GDBM.md's cleaning in its order: 1. drop rows with any of
// the four profile fields empty; 2. drop pending rows; 3. drop Novice Guide
// rows; 4. drop users with fewer than MinRows rows left after steps 1-3. It
// returns the kept rows in their input order.
func Clean(subs []Submission) ([]Submission, CleanStats) {
	st := CleanStats{Rows: len(subs)}
	var kept []Submission
	perUser := make(map[string]int)
	for _, s := range subs {
		switch {
		case s.Gender == "" || s.Age == "" || s.Education == "" || s.Major == "":
			st.MissingProfile++
		case s.State == StatePending:
			st.Pending++
		case s.Task == NoviceGuide:
			st.NoviceGuide++
		default:
			kept = append(kept, s)
			perUser[s.UserID]++
		}
	}
	out := kept[:0:0]
	for _, s := range kept {
		if perUser[s.UserID] < MinRows {
			st.FewRows++
			continue
		}
		out = append(out, s)
	}
	for _, n := range perUser {
		if n < MinRows {
			st.UsersDropped++
		} else {
			st.Users++
		}
	}
	st.Kept = len(out)
	return out, st
}

// ParseAttrs parses a comma-separated list of grouping attributes ("" means
// all four). Unknown and repeated names are errors; the order given is kept.
func ParseAttrs(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return slices.Clone(Attributes), nil
	}
	var attrs []string
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		if !slices.Contains(Attributes, a) {
			return nil, fmt.Errorf("match: unknown attribute %q (want %s)", a,
				strings.Join(Attributes, ", "))
		}
		if slices.Contains(attrs, a) {
			return nil, fmt.Errorf("match: attribute %q given twice", a)
		}
		attrs = append(attrs, a)
	}
	return attrs, nil
}

// Quadrants of the bias chart.
const (
	Underestimate = "underestimate"
	Overestimate  = "overestimate"
	Aligned       = "aligned"
)

// Pair is a kept (group, task) pair: a row of pairs.csv.
type Pair struct {
	Group         string   // the attribute values joined with "|"
	Values        []string // the attribute values, one per grouping attribute
	Task          string
	N             int // cleaned submissions of the group to the task
	Passes        int
	PassRate      float64 // Passes / N
	GroupTotal    int     // the group's cleaned submissions over every task
	GroupUsers    int
	Participation float64 // N / GroupTotal
	MeanCash      float64
	MeanPoints    float64
	ART           float64 // MeanCash + 0.1*MeanPoints
	EART          float64 // ART * PassRate
	Quadrant      string
}

// GroupProfile returns the profile of a group from its grouping attributes
// and their values; the other fields are empty.
func GroupProfile(attrs, values []string) Profile {
	var p Profile
	for i, a := range attrs {
		switch a {
		case "gender":
			p.Gender = values[i]
		case "age":
			p.Age = values[i]
		case "education":
			p.Education = values[i]
		case "major":
			p.Major = values[i]
		}
	}
	return p
}

// Analysis is the result of Analyze.
type Analysis struct {
	Attrs     []string
	Pairs     []Pair // sorted by attribute values (bytes, field by field), then task
	Groups    int    // groups in the cleaned data
	Users     int    // users in the cleaned data
	Rows      int    // cleaned submissions
	CentreX   *big.Rat
	CentreY   *big.Rat
	Quadrants map[string]int
}

type pairAcc struct {
	n, passes      int
	cents, points  int64
	groupKey, task string
}

type groupAcc struct {
	values []string
	total  int
	users  map[string]bool
}

// Analyze groups cleaned submissions by attrs, keeps the (group, task) pairs
// with at least MinPairN submissions, computes their figures, the centre and
// the quadrants, exactly as GDBM.md defines them. It returns an error when
// no pair is kept (the centre is then undefined).
func Analyze(cleaned []Submission, attrs []string) (*Analysis, error) {
	ai := make([]int, len(attrs))
	for i, a := range attrs {
		ai[i] = slices.Index(Attributes, a)
		if ai[i] < 0 {
			return nil, fmt.Errorf("match: unknown attribute %q", a)
		}
	}
	groups := make(map[string]*groupAcc)
	pairs := make(map[[2]string]*pairAcc)
	users := make(map[string]bool)
	for i := range cleaned {
		s := &cleaned[i]
		vals := make([]string, len(attrs))
		for j, k := range ai {
			vals[j] = s.attr(k)
		}
		key := strings.Join(vals, "|")
		g := groups[key]
		if g == nil {
			g = &groupAcc{values: vals, users: make(map[string]bool)}
			groups[key] = g
		}
		g.total++
		g.users[s.UserID] = true
		users[s.UserID] = true
		p := pairs[[2]string{key, s.Task}]
		if p == nil {
			p = &pairAcc{groupKey: key, task: s.Task}
			pairs[[2]string{key, s.Task}] = p
		}
		p.n++
		if s.Passed {
			p.passes++
			p.cents += s.CashCents
			p.points += s.Points
		}
	}
	a := &Analysis{Attrs: slices.Clone(attrs), Groups: len(groups), Users: len(users),
		Rows: len(cleaned)}
	for _, p := range pairs {
		if p.n < MinPairN {
			continue
		}
		g := groups[p.groupKey]
		a.Pairs = append(a.Pairs, newPair(p, g))
	}
	if len(a.Pairs) == 0 {
		return nil, fmt.Errorf("match: no (group, task) pair has %d or more submissions", MinPairN)
	}
	SortPairs(a.Pairs)
	a.CentreX, a.CentreY, a.Quadrants = classify(a.Pairs)
	return a, nil
}

func newPair(p *pairAcc, g *groupAcc) Pair {
	q := Pair{Group: p.groupKey, Values: g.values, Task: p.task, N: p.n, Passes: p.passes,
		GroupTotal: g.total, GroupUsers: len(g.users)}
	q.PassRate = float64(p.passes) / float64(p.n)
	q.Participation = float64(p.n) / float64(g.total)
	if p.passes > 0 {
		q.MeanCash = float64(p.cents) / float64(100*int64(p.passes))
		q.MeanPoints = float64(p.points) / float64(p.passes)
	}
	q.ART = q.MeanCash + 0.1*q.MeanPoints
	q.EART = q.ART * q.PassRate
	return q
}

// SortPairs sorts pairs by their attribute values compared as byte strings,
// field by field, then by task name.
func SortPairs(ps []Pair) {
	slices.SortStableFunc(ps, func(a, b Pair) int {
		if c := slices.Compare(a.Values, b.Values); c != 0 {
			return c
		}
		return strings.Compare(a.Task, b.Task)
	})
}

// classify computes the centre (x0 = sum(n*participation)/sum(n), y0 =
// sum(passes)/sum(n)) as exact rationals and sets each pair's quadrant by
// exact comparison.
func classify(ps []Pair) (x0, y0 *big.Rat, counts map[string]int) {
	sumN, sumPasses := new(big.Int), new(big.Int)
	sumX := new(big.Rat)
	parts := make([]*big.Rat, len(ps))
	for i, p := range ps {
		parts[i] = big.NewRat(int64(p.N), int64(p.GroupTotal))
		sumX.Add(sumX, new(big.Rat).Mul(parts[i], big.NewRat(int64(p.N), 1)))
		sumN.Add(sumN, big.NewInt(int64(p.N)))
		sumPasses.Add(sumPasses, big.NewInt(int64(p.Passes)))
	}
	x0 = new(big.Rat).Quo(sumX, new(big.Rat).SetInt(sumN))
	y0 = new(big.Rat).SetFrac(sumPasses, sumN)
	counts = map[string]int{Underestimate: 0, Overestimate: 0, Aligned: 0}
	for i := range ps {
		rate := big.NewRat(int64(ps[i].Passes), int64(ps[i].N))
		cx, cy := parts[i].Cmp(x0), rate.Cmp(y0)
		switch {
		case cx < 0 && cy > 0:
			ps[i].Quadrant = Underestimate
		case cx > 0 && cy < 0:
			ps[i].Quadrant = Overestimate
		default:
			ps[i].Quadrant = Aligned
		}
		counts[ps[i].Quadrant]++
	}
	return x0, y0, counts
}
