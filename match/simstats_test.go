package match

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// simStats holds the figures of a cleaned log that the synthetic log's
// patterns are stated in. Rates are per user (a user's passes / rows).
type simStats struct {
	users, rows, tasks int
	mean, sd, median   map[string]float64 // per attribute value
	phdShareAll        float64            // Ph.D. share of all submissions
	phdShareWCR        float64            // Ph.D. share of Weak Correlation Reasoning
	phdRateWCR         float64            // Ph.D. pass rate on it
	phdRateAll         float64            // Ph.D. pass rate overall
}

func computeSimStats(cl []Submission) simStats {
	type acc struct{ n, p int }
	per := map[string]*acc{}
	prof := map[string][4]string{}
	tasks := map[string]bool{}
	var phd, wcr, phdWCR, phdPass, phdWCRPass int
	for i := range cl {
		s := &cl[i]
		a := per[s.UserID]
		if a == nil {
			a = &acc{}
			per[s.UserID] = a
			prof[s.UserID] = [4]string{s.Gender, s.Age, s.Education, s.Major}
		}
		a.n++
		tasks[s.Task] = true
		pass := 0
		if s.Passed {
			a.p++
			pass = 1
		}
		isPhD := s.Education == "Ph.D."
		if isPhD {
			phd++
			phdPass += pass
		}
		if s.Task == WeakCorrelationReasoning {
			wcr++
			if isPhD {
				phdWCR++
				phdWCRPass += pass
			}
		}
	}
	rates := map[string][]float64{}
	for u, a := range per {
		for _, v := range prof[u] {
			rates[v] = append(rates[v], float64(a.p)/float64(a.n))
		}
	}
	st := simStats{users: len(per), rows: len(cl), tasks: len(tasks),
		mean: map[string]float64{}, sd: map[string]float64{}, median: map[string]float64{}}
	for v, r := range rates {
		var s, ss float64
		for _, x := range r {
			s += x
		}
		m := s / float64(len(r))
		for _, x := range r {
			ss += (x - m) * (x - m)
		}
		st.mean[v], st.sd[v] = m, math.Sqrt(ss/float64(len(r)))
		st.median[v] = Quantile7(r, 0.5)
	}
	st.phdShareAll = float64(phd) / float64(len(cl))
	st.phdShareWCR = float64(phdWCR) / float64(wcr)
	st.phdRateWCR = float64(phdWCRPass) / float64(phdWCR)
	st.phdRateAll = float64(phdPass) / float64(phd)
	return st
}

func (st simStats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "users %d rows %d tasks %d\n", st.users, st.rows, st.tasks)
	keys := make([]string, 0, len(st.mean))
	for k := range st.mean {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-32s mean %.3f median %.3f sd %.3f\n", k, st.mean[k], st.median[k], st.sd[k])
	}
	fmt.Fprintf(&b, "phd share all %.3f wcr %.3f; phd rate wcr %.3f all %.3f\n",
		st.phdShareAll, st.phdShareWCR, st.phdRateWCR, st.phdRateAll)
	return b.String()
}
