package match

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var (
	testProfile = Profile{Gender: "Female", Age: "18-29", Education: "Undergraduate", Major: "Literature"}
	testTask    = Task{Name: "Poetry", Description: "write a poem", Example: "a haiku"}
)

func TestPromptsEnglish(t *testing.T) {
	tpl := DefaultTemplates()
	tests := []struct {
		name string
		run  func() (string, error)
		want string
	}{
		{"match", func() (string, error) { return tpl.Match("", testProfile, testTask) },
			`As an LLM data collection expert, you are recruiting users to complete high-quality data collection tasks. ` +
				`Based on the current user profile: gender: Female, age: 18-29, education: Undergraduate, major: Literature ` +
				`and task requirements: Poetry (write a poem; example: a haiku) please assess whether there is a match ` +
				`between the two. Please respond with "Yes" or "No."`},
		{"pair_users", func() (string, error) {
			return tpl.PairUsers("en", Task{Name: "T"}, Profile{Text: "likes poems"}, Profile{Major: "Medicine"})
		}, `As an LLM data collection expert, you are now recruiting users for the task: T. For candidate A: ` +
			`likes poems and candidate B: major: Medicine, decide who is more suitable based on their background ` +
			`information and the task's demands. Please respond with "A" or "B."`},
		{"choose", func() (string, error) {
			return tpl.Choose("en", Profile{Age: "50+", Text: "retired"}, []Task{{Name: "t1"}, {Name: "t2", Example: "x"}, {Name: "t3"}})
		}, `As an LLM data collection expert, given the user profile: age: 50+; retired and tasks A: t1, ` +
			`B: t2 (example: x), C: t3, please determine the most suitable task for the current user. Please ` +
			`respond with the name of the task.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.run()
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestPromptsChinese(t *testing.T) {
	tpl := DefaultTemplates()
	got, err := tpl.Match("zh", testProfile, Task{Name: "诗歌"})
	if err != nil {
		t.Fatal(err)
	}
	want := "作为一名大模型数据采集专家，你正在招募用户完成高质量的数据采集任务。请根据当前的用户画像：" +
		"性别：女，年龄：18-29岁，学历：本科，专业：文学，以及任务要求：诗歌，评估两者是否匹配。请回答“是”或“否”。"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	for _, f := range []func() (string, error){
		func() (string, error) { return tpl.PairUsers("zh", testTask, testProfile, testProfile) },
		func() (string, error) { return tpl.PairTasks("zh", testProfile, testTask, Task{Name: "B"}) },
		func() (string, error) { return tpl.Choose("zh", testProfile, []Task{testTask, {Name: "B"}}) },
	} {
		s, err := f()
		if err != nil || !strings.HasPrefix(s, "作为一名大模型数据采集专家") {
			t.Errorf("got %q, %v", s, err)
		}
	}
	if got := MatchOptions("zh"); got[0] != "是" || got[1] != "否" {
		t.Errorf("MatchOptions(zh) = %v", got)
	}
}

func TestPromptErrors(t *testing.T) {
	tpl := DefaultTemplates()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"unknown lang", second(tpl.Match("fr", testProfile, testTask)), "unknown language"},
		{"empty profile", second(tpl.Match("en", Profile{}, testTask)), "empty profile"},
		{"task without name", second(tpl.Match("en", testProfile, Task{Description: "d"})), "task without name"},
		{"empty list", second(tpl.Choose("en", testProfile, nil)), "empty task list"},
		{"duplicated", second(tpl.Choose("en", testProfile, []Task{{Name: "a"}, {Name: "a"}})), "duplicated task name"},
		{"pair B", second(tpl.PairUsers("en", testTask, testProfile, Profile{})), "candidate B"},
	}
	for _, tt := range tests {
		if tt.err == nil || !strings.HasPrefix(tt.err.Error(), "match: ") || !strings.Contains(tt.err.Error(), tt.want) {
			t.Errorf("%s: got %v, want match: ...%s", tt.name, tt.err, tt.want)
		}
	}
}

func second(_ string, err error) error { return err }

func TestLoadTemplates(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "t.json")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tpl, err := LoadTemplates(write(`{"match.en": "P={{.Profile}} T={{.TaskValue.Name}} {{.ProfileValue.Major}}"}`))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := tpl.Match("en", testProfile, testTask)
	if want := "P=gender: Female, age: 18-29, education: Undergraduate, major: Literature T=Poetry Literature"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, _ := tpl.Match("zh", testProfile, testTask); !strings.HasPrefix(got, "作为") {
		t.Errorf("zh should keep the default, got %q", got)
	}
	for _, bad := range []string{`{"match.fr": "x"}`, `{"match.en": "{{.Profile"}`, `{"choose.en": "{{.Nope}}"}`, `[1]`} {
		if _, err := LoadTemplates(write(bad)); err == nil || !strings.HasPrefix(err.Error(), "match: templates") {
			t.Errorf("%s: got %v, want an error", bad, err)
		}
	}
}

func TestOptionLabel(t *testing.T) {
	for i, want := range map[int]string{0: "A", 25: "Z", 26: "AA", 27: "AB", 51: "AZ", 52: "BA"} {
		if got := optionLabel(i); got != want {
			t.Errorf("optionLabel(%d) = %q, want %q", i, got, want)
		}
	}
}
