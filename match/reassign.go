package match

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// GroupReassign is one group's line of reassign.csv.
type GroupReassign struct {
	Group          string
	Users          int     // group_users
	Submissions    int     // N: the group's submissions over its kept pairs
	TasksKept      int     // the group's kept pairs
	PassRateBefore float64 // passes / N
	EARTBefore     float64 // sum(n * EART) / N
	TopTasks       []string
	PassRateAfter  float64 // mean of the top tasks' pass rates
	EARTAfter      float64 // mean of the top tasks' EARTs
}

// PlatformFigures are pass rate and EART over all groups, each group
// weighted by its N.
type PlatformFigures struct {
	PassRate float64 `json:"pass_rate"`
	EART     float64 `json:"eart"`
}

// ReassignSummary is the reassignment's summary.json.
type ReassignSummary struct {
	Top         int             `json:"top"`
	Source      string          `json:"source"` // "pass_rate" or "model"
	Groups      int             `json:"groups"`
	Submissions int             `json:"submissions"`
	Before      PlatformFigures `json:"before"`
	After       PlatformFigures `json:"after"`
	// GroupsWorse counts the groups whose figure after is below the one
	// before, per figure.
	GroupsWorse struct {
		PassRate int `json:"pass_rate"`
		EART     int `json:"eart"`
	} `json:"groups_worse"`
}

// Ranker orders a group's kept tasks, best first. Reassign keeps the first
// k of its answer.
type Ranker func(group string, p Profile, tasks []string) ([]string, error)

// Reassign computes GDBM.md's reassignment per group (in table order) over
// its kept pairs. The top-k tasks are those with the highest pass rate (ties
// by task name) or, when rank is not nil, the first k of its ranking; k is
// capped by the group's kept tasks. k < 1 is an error.
func Reassign(tab *PairTable, k int, rank Ranker) ([]GroupReassign, ReassignSummary, error) {
	sum := ReassignSummary{Top: k, Source: "pass_rate"}
	if rank != nil {
		sum.Source = "model"
	}
	if k < 1 {
		return nil, sum, fmt.Errorf("match: top must be at least 1, got %d", k)
	}
	var order []string
	members := make(map[string][]*Pair)
	for i := range tab.Pairs {
		p := &tab.Pairs[i]
		if _, ok := members[p.Group]; !ok {
			order = append(order, p.Group)
		}
		members[p.Group] = append(members[p.Group], p)
	}
	var out []GroupReassign
	var wBefore, wAfter PlatformFigures
	for _, g := range order {
		ps := members[g]
		r := GroupReassign{Group: g, Users: ps[0].GroupUsers, TasksKept: len(ps)}
		passes := 0
		var sumE float64
		for _, p := range ps {
			r.Submissions += p.N
			passes += p.Passes
			sumE += float64(p.N) * p.EART
		}
		r.PassRateBefore = float64(passes) / float64(r.Submissions)
		r.EARTBefore = sumE / float64(r.Submissions)
		top, err := topTasks(tab, ps, min(k, len(ps)), rank)
		if err != nil {
			return nil, sum, err
		}
		for _, p := range top {
			r.TopTasks = append(r.TopTasks, p.Task)
			r.PassRateAfter += p.PassRate
			r.EARTAfter += p.EART
		}
		r.PassRateAfter /= float64(len(top))
		r.EARTAfter /= float64(len(top))

		n := float64(r.Submissions)
		sum.Submissions += r.Submissions
		wBefore.PassRate += n * r.PassRateBefore
		wBefore.EART += n * r.EARTBefore
		wAfter.PassRate += n * r.PassRateAfter
		wAfter.EART += n * r.EARTAfter
		if r.PassRateAfter < r.PassRateBefore {
			sum.GroupsWorse.PassRate++
		}
		if r.EARTAfter < r.EARTBefore {
			sum.GroupsWorse.EART++
		}
		out = append(out, r)
	}
	sum.Groups = len(out)
	if sum.Submissions > 0 {
		n := float64(sum.Submissions)
		sum.Before = PlatformFigures{wBefore.PassRate / n, wBefore.EART / n}
		sum.After = PlatformFigures{wAfter.PassRate / n, wAfter.EART / n}
	}
	return out, sum, nil
}

func topTasks(tab *PairTable, ps []*Pair, k int, rank Ranker) ([]*Pair, error) {
	if rank == nil {
		sorted := slices.Clone(ps)
		slices.SortStableFunc(sorted, func(a, b *Pair) int {
			if c := cmp.Compare(b.PassRate, a.PassRate); c != 0 {
				return c
			}
			return cmp.Compare(a.Task, b.Task)
		})
		return sorted[:k], nil
	}
	names := make([]string, len(ps))
	byName := make(map[string]*Pair, len(ps))
	for i, p := range ps {
		names[i] = p.Task
		byName[p.Task] = p
	}
	slices.Sort(names)
	ranked, err := rank(ps[0].Group, GroupProfile(tab.Attrs, ps[0].Values), names)
	if err != nil {
		return nil, fmt.Errorf("match: group %s: %v", ps[0].Group, trimPrefix(err))
	}
	var top []*Pair
	seen := make(map[string]bool)
	for _, n := range ranked {
		p, ok := byName[n]
		if !ok || seen[n] {
			return nil, fmt.Errorf("match: group %s: ranking has unknown or repeated task %q", ps[0].Group, n)
		}
		seen[n] = true
		if len(top) < k {
			top = append(top, p)
		}
	}
	if len(top) < k {
		return nil, fmt.Errorf("match: group %s: ranking has %d tasks, want %d", ps[0].Group, len(top), k)
	}
	return top, nil
}

// AskerRanker returns a Ranker that asks a model the multi-choice question
// over the group's tasks (looked up in cat) and ranks them by its answer's
// ranking.
func AskerRanker(ctx context.Context, a Asker, lang string, cat TaskCatalogue) Ranker {
	return func(group string, p Profile, names []string) ([]string, error) {
		tasks := make([]Task, len(names))
		for i, n := range names {
			tasks[i] = cat.Get(n)
		}
		ans, err := a.Choose(ctx, lang, p, tasks)
		if err != nil {
			return nil, err
		}
		out := make([]string, len(ans.Ranking))
		for i, r := range ans.Ranking {
			out[i] = r.Option
		}
		return out, nil
	}
}

// ReassignColumns is the header of reassign.csv.
var ReassignColumns = []string{"group", "users", "submissions", "tasks_kept", "pass_rate_before",
	"eart_before", "top_tasks", "pass_rate_after", "eart_after"}

// WriteReassign writes reassign.csv: one row per group, top tasks joined by
// "; ", floats as FormatFloat writes them.
func WriteReassign(w io.Writer, rows []GroupReassign) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(ReassignColumns); err != nil {
		return err
	}
	for _, r := range rows {
		rec := []string{r.Group, strconv.Itoa(r.Users), strconv.Itoa(r.Submissions),
			strconv.Itoa(r.TasksKept), FormatFloat(r.PassRateBefore), FormatFloat(r.EARTBefore),
			strings.Join(r.TopTasks, "; "), FormatFloat(r.PassRateAfter), FormatFloat(r.EARTAfter)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
