package match

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Figures of the synthetic log after cleaning.
const (
	SimUsers       = 371   // users with at least MinRows cleaned submissions
	SimSubmissions = 46224 // cleaned submissions
	SimTaskCount   = 43    // tasks (Novice Guide aside)
)

// simCategory is one value of a profile attribute in the synthetic
// population: its share of the core users and its target mean pass rate.
type simCategory struct {
	value  string
	share  float64
	target float64
}

// The population and the targets. Each attribute's shares weight its targets
// to a mean of about 0.5, so that each category's mean pass rate lands near
// its own target whatever the other attributes are.
var (
	simGender = []simCategory{{"Female", 0.48, 0.55}, {"Male", 0.48, 0.45},
		{"Not Disclosure", 0.04, 0.50}}
	simAge = []simCategory{{"Under 18", 0.05, 0.53}, {"18-29", 0.50, 0.45},
		{"30-39", 0.25, 0.58}, {"40-50", 0.14, 0.53}, {"50+", 0.06, 0.52}}
	simEducation = []simCategory{{"High School", 0.20, 0.70}, {"Undergraduate", 0.46, 0.45},
		{"Postgraduate", 0.22, 0.47}, {"Ph.D.", 0.12, 0.42}}
	simMajor = []simCategory{{"Sports and Health", 0.08, 0.70}, {"Medicine", 0.12, 0.30},
		{"Philosophy and Social Sciences", 0.12, 0.50},
		{"Engineering and Technology", 0.20, 0.54}, {"Literature", 0.12, 0.50},
		{"Economics and Management", 0.16, 0.54}, {"Natural Sciences", 0.10, 0.65},
		{"Arts and Design", 0.10, 0.30}}
)

// simAffinity is a (major or education, task) interaction: a multiplier on
// how often the users pick the task and a shift of their pass probability.
type simAffinity struct {
	value string
	task  string
	pref  float64
	shift float64
}

var simAffinities = []simAffinity{
	{"Ph.D.", WeakCorrelationReasoning, 1, -0.25}, // its share is set apart, see simulate
	{"Medicine", "Medical Q&A Review", 0.3, 0.30},
	{"Arts and Design", "Image Caption Writing", 4, -0.12},
	{"Engineering and Technology", "Code Review Comments", 3, -0.10},
	{"Sports and Health", "Sports Commentary Writing", 0.5, 0.12},
	{"Natural Sciences", "Physics Problem Solving", 0.6, 0.15},
	{"Literature", "Poetry Composition", 3, -0.08},
	{"High School", "Everyday Dialogue", 0.5, 0.10},
}

// Shares of Weak Correlation Reasoning among a user's submissions, and the
// Ph.D. holders' share of all submissions.
const (
	simPhDShare = 0.14
	simWCRPhD   = 0.12
	simWCROther = 0.0045
)

type simUser struct {
	id        string
	profile   [4]string
	skill     float64
	rows      int // real rows (complete profile, reviewed, not onboarding)
	blank     int // index of a profile field left empty in every row, or -1
	weights   []float64
	extraBlnk bool // adds rows with one field blanked
}

// Simulate writes a synthetic platform log, deterministic for a seed. Its
// generative model:
//
//   - Core users: SimUsers users whose attributes come from fixed shares
//     (simGender, simAge, simEducation, simMajor), exact quotas shuffled per
//     attribute, so the attributes are independent.
//   - Skill: s = 0.5 + sum over the four attributes of (target - 0.5) + e,
//     with e normal, sd sqrt(g^2 + m^2), g = 0.03 for men, 0.14 for women,
//     0.08 otherwise (men are more concentrated), m = 0.25 for Medicine and
//     Arts and Design (wide spread), 0.03 otherwise. Then raking: 30 rounds
//     of shifting each category's skills so that its mean clamped skill is
//     its target; finally s is clamped to [0.03, 0.97].
//   - Submissions: each core user has 30 + x real rows, x proportional to
//     exp(0.9 z) (z standard normal), the Ph.D. holders' weights scaled so
//     that they make 14% of the rows, rounded (largest remainder) so that
//     the rows total SimSubmissions exactly.
//   - Task choice: each row picks a task with weight popularity(task) *
//     exp(0.9 z_major,task + 0.5 z_user,task) * affinity (simAffinities), a
//     categorical draw. Weak Correlation Reasoning takes a fixed share of a
//     user's rows: 12% for Ph.D. holders, 0.45% for the others, so Ph.D.
//     holders make about 80% of its submissions.
//   - Review: a row passes with probability clamp(s + difficulty(task) +
//     affinity shift, 0.02, 0.98), the difficulties centred on their
//     popularity-weighted mean; Ph.D. holders lose 0.25 on Weak
//     Correlation Reasoning, so they pass it less often than they pass
//     overall. A passed row earns the task's cash (15% of them get a 50%
//     bonus, rounded to the cent) and points; other rows earn 0.
//   - Rows that cleaning drops: 1-3 Novice Guide rows per user; about 3%
//     extra pending rows; for 10% of core users 1-2 rows with one profile
//     field blank; 20 users with a field blank in every row; 40 users with
//     5-29 real rows (one of them with 27 real rows and 3 Novice Guide
//     rows), who fall under MinRows.
//   - Times are uniform over 2023-03-01 .. 2023-09-01; rows are sorted by
//     time and numbered S0000001, ...; user ids U0001, ... are shuffled.
//
// All randomness comes from a PCG generator seeded with seed.
func Simulate(seed int64) []Submission {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	// Difficulties are centred on the popularity-weighted mean, so that
	// they shift no category's mean pass rate on average.
	tasks := SimTasks()
	var dSum, wSum float64
	for _, t := range tasks {
		dSum += t.Popularity * t.Difficulty
		wSum += t.Popularity
	}
	for i := range tasks {
		tasks[i].Difficulty -= dSum / wSum
	}
	majorTaste := make(map[string][]float64)
	for _, m := range simMajor {
		z := make([]float64, len(tasks))
		for i := range z {
			z[i] = rng.NormFloat64()
		}
		majorTaste[m.value] = z
	}

	core := simCore(rng)
	users := slices.Clone(core)
	// Users that cleaning drops: a field blank everywhere, or too few rows.
	for i := 0; i < 20; i++ {
		u := simRandomUser(rng)
		u.blank = rng.IntN(4)
		u.rows = 30 + rng.IntN(120)
		users = append(users, u)
	}
	for i := 0; i < 40; i++ {
		u := simRandomUser(rng)
		u.rows = 5 + rng.IntN(25)
		if i == 0 {
			u.rows = 27
		}
		users = append(users, u)
	}
	ids := rng.Perm(len(users))
	for i := range users {
		users[i].id = fmt.Sprintf("U%04d", ids[i]+1)
		users[i].weights = simWeights(rng, &users[i], majorTaste)
	}

	start := time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC)
	span := int64(184 * 24 * 3600)
	var subs []Submission
	for ui := range users {
		u := &users[ui]
		add := func(task int, state string, blank int) {
			s := Submission{UserID: u.id, Gender: u.profile[0], Age: u.profile[1],
				Education: u.profile[2], Major: u.profile[3], State: state}
			if blank >= 0 {
				*[]*string{&s.Gender, &s.Age, &s.Education, &s.Major}[blank] = ""
			}
			s.Submitted = start.Add(time.Duration(rng.Int64N(span)) * time.Second)
			if task < 0 {
				s.Task = NoviceGuide
				s.State, s.Passed, s.Points = StatePassed, true, 5
				subs = append(subs, s)
				return
			}
			t := &tasks[task]
			s.Task = t.Name
			if state == StatePending {
				subs = append(subs, s)
				return
			}
			p := u.skill + t.Difficulty + simShift(u, t.Name)
			p = min(max(p, 0.02), 0.98)
			if rng.Float64() < p {
				s.State, s.Passed = StatePassed, true
				s.CashCents, s.Points = t.CashCents, t.Points
				if rng.Float64() < 0.15 {
					s.CashCents = int64(math.Round(float64(t.CashCents) * 1.5))
				}
			} else {
				s.State = StateRejected
			}
			subs = append(subs, s)
		}
		for range u.rows {
			add(simPick(rng, u.weights), "", u.blank)
		}
		nNovice := 1 + rng.IntN(3)
		if ui == len(core)+20 {
			nNovice = 3 // the user with 27 real rows and 3 Novice Guide rows
		}
		for range nNovice {
			add(-1, "", u.blank)
		}
		for range int(0.03*float64(u.rows) + rng.Float64()) {
			add(simPick(rng, u.weights), StatePending, u.blank)
		}
		if u.extraBlnk {
			for range 1 + rng.IntN(2) {
				add(simPick(rng, u.weights), "", rng.IntN(4))
			}
		}
	}
	for i := range subs {
		subs[i].Line = i // a tie-breaker for the sort below
	}
	slices.SortStableFunc(subs, func(a, b Submission) int {
		if c := a.Submitted.Compare(b.Submitted); c != 0 {
			return c
		}
		return cmp.Compare(a.Line, b.Line)
	})
	for i := range subs {
		subs[i].ID = fmt.Sprintf("S%07d", i+1)
		subs[i].Line = i + 2
	}
	return subs
}

// simCore makes the core users: quota attributes, skills and row counts.
func simCore(rng *rand.Rand) []simUser {
	cols := [4][]string{}
	for a, cats := range [][]simCategory{simGender, simAge, simEducation, simMajor} {
		cols[a] = simQuota(rng, cats, SimUsers)
	}
	targets := make(map[string]float64)
	for _, cats := range [][]simCategory{simGender, simAge, simEducation, simMajor} {
		for _, c := range cats {
			targets[c.value] = c.target
		}
	}
	users := make([]simUser, SimUsers)
	weights := make([]float64, SimUsers)
	for i := range users {
		u := &users[i]
		u.blank = -1
		for a := range 4 {
			u.profile[a] = cols[a][i]
		}
		s := 0.5
		for _, v := range u.profile {
			s += targets[v] - 0.5
		}
		g := map[string]float64{"Male": 0.03, "Female": 0.14}[u.profile[0]]
		if g == 0 {
			g = 0.08
		}
		m := 0.03
		if u.profile[3] == "Medicine" || u.profile[3] == "Arts and Design" {
			m = 0.25
		}
		u.skill = s + rng.NormFloat64()*math.Hypot(g, m)
		u.extraBlnk = rng.Float64() < 0.10
		weights[i] = math.Exp(0.9 * rng.NormFloat64())
	}
	simRake(users, targets)
	// Ph.D. holders make simPhDShare of the rows: scale their weights.
	var phd, other float64
	nPhD := 0
	for i, u := range users {
		if u.profile[2] == "Ph.D." {
			phd += weights[i]
			nPhD++
		} else {
			other += weights[i]
		}
	}
	extraTotal := float64(SimSubmissions - SimUsers*MinRows)
	phdExtra := simPhDShare*SimSubmissions - float64(nPhD*MinRows)
	f := phdExtra / (extraTotal - phdExtra) * other / phd
	for i, u := range users {
		if u.profile[2] == "Ph.D." {
			weights[i] *= f
		}
	}
	extra := largestRemainder(weights, SimSubmissions-SimUsers*MinRows)
	for i := range users {
		users[i].rows = MinRows + extra[i]
	}
	return users
}

// simRake shifts skills, attribute by attribute, until each category's mean
// clamped skill is its target (a few rounds of raking), then clamps them.
func simRake(users []simUser, targets map[string]float64) {
	clamp := func(x float64) float64 { return min(max(x, 0.03), 0.97) }
	for range 30 {
		for a := range 4 {
			sum := map[string]float64{}
			cnt := map[string]int{}
			for _, u := range users {
				sum[u.profile[a]] += clamp(u.skill)
				cnt[u.profile[a]]++
			}
			for i := range users {
				v := users[i].profile[a]
				users[i].skill += targets[v] - sum[v]/float64(cnt[v])
			}
		}
	}
	for i := range users {
		users[i].skill = clamp(users[i].skill)
	}
}

// simRandomUser draws a user of the dropped kinds from the shares.
func simRandomUser(rng *rand.Rand) simUser {
	u := simUser{blank: -1}
	for a, cats := range [][]simCategory{simGender, simAge, simEducation, simMajor} {
		r := rng.Float64()
		u.profile[a] = cats[len(cats)-1].value
		for _, c := range cats {
			if r < c.share {
				u.profile[a] = c.value
				break
			}
			r -= c.share
		}
	}
	u.skill = min(max(0.5+0.1*rng.NormFloat64(), 0.03), 0.97)
	return u
}

// simQuota returns n values in the categories' shares (largest remainder),
// shuffled.
func simQuota(rng *rand.Rand, cats []simCategory, n int) []string {
	w := make([]float64, len(cats))
	for i, c := range cats {
		w[i] = c.share
	}
	counts := largestRemainder(w, n)
	var out []string
	for i, c := range cats {
		for range counts[i] {
			out = append(out, c.value)
		}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// largestRemainder splits total into integers proportional to w.
func largestRemainder(w []float64, total int) []int {
	var sum float64
	for _, x := range w {
		sum += x
	}
	out := make([]int, len(w))
	rem := make([]int, len(w))
	left := total
	for i, x := range w {
		q := x / sum * float64(total)
		out[i] = int(q)
		left -= out[i]
		rem[i] = i
	}
	frac := func(i int) float64 { q := w[i] / sum * float64(total); return q - math.Floor(q) }
	slices.SortStableFunc(rem, func(a, b int) int { return cmp.Compare(frac(b), frac(a)) })
	for i := 0; i < left; i++ {
		out[rem[i%len(rem)]]++
	}
	return out
}

// simWeights returns a user's task-choice weights, summing to 1.
func simWeights(rng *rand.Rand, u *simUser, majorTaste map[string][]float64) []float64 {
	w := make([]float64, len(simTasks))
	taste := majorTaste[u.profile[3]]
	var sum float64
	for i, t := range simTasks {
		w[i] = t.Popularity * math.Exp(0.9*taste[i]+0.5*rng.NormFloat64())
		for _, a := range simAffinities {
			if a.task == t.Name && (a.value == u.profile[2] || a.value == u.profile[3]) {
				w[i] *= a.pref
			}
		}
		if t.Name != WeakCorrelationReasoning {
			sum += w[i]
		}
	}
	wcr := simWCROther
	if u.profile[2] == "Ph.D." {
		wcr = simWCRPhD
	}
	for i, t := range simTasks {
		if t.Name == WeakCorrelationReasoning {
			w[i] = wcr
		} else {
			w[i] *= (1 - wcr) / sum
		}
	}
	return w
}

// simShift returns the affinity shift of a user on a task.
func simShift(u *simUser, task string) float64 {
	var s float64
	for _, a := range simAffinities {
		if a.task == task && (a.value == u.profile[2] || a.value == u.profile[3]) {
			s += a.shift
		}
	}
	return s
}

// simPick draws an index from weights summing to 1.
func simPick(rng *rand.Rand, w []float64) int {
	r := rng.Float64()
	for i, x := range w {
		if r < x {
			return i
		}
		r -= x
	}
	return len(w) - 1
}
