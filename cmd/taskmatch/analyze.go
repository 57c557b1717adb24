package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/taskmatch/taskmatch/match"
)

func init() {
	register("analyze", "clean a platform log, find biased (group, task) pairs, draw the bias chart", runAnalyze)
}

// analyzeSummary is analyze's summary.json.
type analyzeSummary struct {
	Log             string           `json:"log"`
	Attrs           []string         `json:"attrs"`
	Cleaning        match.CleanStats `json:"cleaning"`
	Users           int              `json:"users"`
	Submissions     int              `json:"submissions"`
	Groups          int              `json:"groups"`
	GroupsWithPairs int              `json:"groups_with_pairs"`
	Pairs           int              `json:"pairs"`
	Centre          struct {
		Participation float64 `json:"participation"`
		PassRate      float64 `json:"pass_rate"`
		// Exact values as fractions.
		ParticipationExact string `json:"participation_exact"`
		PassRateExact      string `json:"pass_rate_exact"`
	} `json:"centre"`
	Quadrants map[string]int `json:"quadrants"`
}

func runAnalyze(args []string, stdout, stderr io.Writer) int {
	c := newGDBMCmd("analyze", "--log log.csv --out DIR [--attrs gender,age,education,major]", stderr)
	logPath := c.fs.String("log", "", "platform log CSV (required)")
	out := c.fs.String("out", "", "output directory (required)")
	attrsFlag := c.fs.String("attrs", "gender,age,education,major",
		"grouping attributes, comma-separated (leave the flag out for all four; it may not be empty)")
	if code, ok := c.parse(args); !ok {
		return code
	}
	if *logPath == "" || *out == "" {
		return c.usageErr("--log and --out are required")
	}
	// match.ParseAttrs reads "" as all four; an explicit empty --attrs is
	// more likely a script's empty variable than a wish for the default.
	if strings.TrimSpace(*attrsFlag) == "" {
		return c.usageErr("--attrs is empty (leave it out to group by all four attributes)")
	}
	attrs, err := match.ParseAttrs(*attrsFlag)
	if err != nil {
		return c.usageErr("%s", err.Error()[len("match: "):])
	}
	f, err := os.Open(*logPath)
	if err != nil {
		return c.fail(err)
	}
	subs, err := match.ReadLog(f)
	f.Close()
	if err != nil {
		return c.fail(fmt.Errorf("%s: %s", *logPath, err.Error()[len("match: "):]))
	}
	cleaned, st := match.Clean(subs)
	a, err := match.Analyze(cleaned, attrs)
	if err != nil {
		return c.fail(err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return c.fail(err)
	}
	err = gdbmWriteFile(filepath.Join(*out, "pairs.csv"), func(w io.Writer) error {
		return match.WritePairs(w, attrs, a.Pairs)
	})
	if err != nil {
		return c.fail(err)
	}
	sum := analyzeSummary{Log: *logPath, Attrs: attrs, Cleaning: st, Users: a.Users,
		Submissions: a.Rows, Groups: a.Groups, Pairs: len(a.Pairs), Quadrants: a.Quadrants}
	seen := map[string]bool{}
	for _, p := range a.Pairs {
		seen[p.Group] = true
	}
	sum.GroupsWithPairs = len(seen)
	sum.Centre.Participation, _ = a.CentreX.Float64()
	sum.Centre.PassRate, _ = a.CentreY.Float64()
	sum.Centre.ParticipationExact = a.CentreX.String()
	sum.Centre.PassRateExact = a.CentreY.String()
	if err := match.WriteJSONFile(filepath.Join(*out, "summary.json"), sum); err != nil {
		return c.fail(err)
	}
	if err := match.BiasChart(filepath.Join(*out, "bias"), a.Pairs, a.CentreX, a.CentreY); err != nil {
		return c.fail(err)
	}
	fmt.Fprintf(stdout, "%d rows, %d kept (%d users); %d groups, %d pairs: %d underestimate, %d overestimate, %d aligned\n",
		st.Rows, st.Kept, st.Users, a.Groups, len(a.Pairs), a.Quadrants[match.Underestimate],
		a.Quadrants[match.Overestimate], a.Quadrants[match.Aligned])
	return 0
}
