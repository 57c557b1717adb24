package match

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/template"
)

// Template kinds: the first part of a template key ("match.en").
const (
	KindMatchPrompt = "match"
	KindPairUsers   = "pair_users"
	KindPairTasks   = "pair_tasks"
	KindChoose      = "choose"
)

// Languages lists the supported prompt languages.
var Languages = []string{"en", "zh"}

// defaultTemplateText holds the built-in wording, keyed "kind.lang".
var defaultTemplateText = map[string]string{
	"match.en": `As an LLM data collection expert, you are recruiting users to complete ` +
		`high-quality data collection tasks. Based on the current user profile: {{.Profile}} ` +
		`and task requirements: {{.Task}} please assess whether there is a match between the ` +
		`two. Please respond with "Yes" or "No."`,
	"match.zh": `作为一名大模型数据采集专家，你正在招募用户完成高质量的数据采集任务。` +
		`请根据当前的用户画像：{{.Profile}}，以及任务要求：{{.Task}}，评估两者是否匹配。请回答“是”或“否”。`,
	"pair_users.en": `As an LLM data collection expert, you are now recruiting users for the ` +
		`task: {{.Task}}. For candidate A: {{.A}} and candidate B: {{.B}}, decide who is more ` +
		`suitable based on their background information and the task's demands. Please ` +
		`respond with "A" or "B."`,
	"pair_users.zh": `作为一名大模型数据采集专家，你正在为以下任务招募用户：{{.Task}}。` +
		`对于候选人A：{{.A}}，以及候选人B：{{.B}}，请根据他们的背景信息和任务需求，判断谁更合适。请回答“A”或“B”。`,
	"pair_tasks.en": `As an LLM data collection expert, you are now recommending tasks to the ` +
		`user: {{.Profile}}. For task A: {{.A}} and task B: {{.B}}, decide which task is more ` +
		`suitable for the user based on their background information and the tasks' demands. ` +
		`Please respond with "A" or "B."`,
	"pair_tasks.zh": `作为一名大模型数据采集专家，你正在为以下用户推荐任务：{{.Profile}}。` +
		`对于任务A：{{.A}}，以及任务B：{{.B}}，请根据用户的背景信息和任务需求，判断哪个任务更适合该用户。请回答“A”或“B”。`,
	"choose.en": `As an LLM data collection expert, given the user profile: {{.Profile}} and ` +
		`tasks {{.Tasks}}, please determine the most suitable task for the current user. ` +
		`Please respond with the name of the task.`,
	"choose.zh": `作为一名大模型数据采集专家，给定用户画像：{{.Profile}}，以及任务{{.Tasks}}，` +
		`请判断最适合当前用户的任务。请回答任务的名称。`,
}

// PromptData is what a prompt template executes on; see the package doc for
// the placeholders.
type PromptData struct {
	Lang    string
	Profile string
	Task    string
	A, B    string
	Tasks   string

	ProfileValue   Profile
	TaskValue      Task
	AValue, BValue any
	TaskList       []Task
}

// Templates holds one prompt template per kind and language. The zero value
// is not usable; use DefaultTemplates or LoadTemplates. A Templates is safe
// for concurrent use once built.
type Templates struct {
	t map[string]*template.Template
}

// DefaultTemplates returns the built-in prompts: the research's English
// wording and its Chinese counterparts.
func DefaultTemplates() *Templates {
	t := &Templates{t: make(map[string]*template.Template)}
	for k, text := range defaultTemplateText {
		t.t[k] = template.Must(template.New(k).Option("missingkey=error").Parse(text))
	}
	return t
}

// TemplateKeys returns the keys that a templates file may set, sorted.
func TemplateKeys() []string {
	keys := make([]string, 0, len(defaultTemplateText))
	for k := range defaultTemplateText {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// LoadTemplates reads a JSON object mapping template keys ("match.en",
// "pair_users.zh", ...) to text/template text, each replacing the built-in
// template of that key; keys left out keep the built-in wording. An unknown
// key, a template that does not parse, or one that fails on sample data
// (for example an unknown placeholder) is an error.
func LoadTemplates(path string) (*Templates, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("match: templates: %v", err)
	}
	return ParseTemplates(data)
}

// ParseTemplates is LoadTemplates on the file's contents.
func ParseTemplates(data []byte) (*Templates, error) {
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("match: templates: %v", err)
	}
	t := DefaultTemplates()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := defaultTemplateText[k]; !ok {
			return nil, fmt.Errorf("match: templates: unknown key %q (known: %s)",
				k, strings.Join(TemplateKeys(), ", "))
		}
		tpl, err := template.New(k).Option("missingkey=error").Parse(m[k])
		if err != nil {
			return nil, fmt.Errorf("match: templates: %v", err)
		}
		if err := tpl.Execute(new(bytes.Buffer), sampleData(k)); err != nil {
			return nil, fmt.Errorf("match: templates: %v", err)
		}
		t.t[k] = tpl
	}
	return t, nil
}

// sampleData returns the data that a template of key k sees, filled with
// sample values, to check a loaded template.
func sampleData(k string) PromptData {
	lang := k[strings.LastIndexByte(k, '.')+1:]
	p := Profile{Gender: "Female", Age: "18-29", Education: "Undergraduate", Major: "Literature"}
	t1 := Task{Name: "Task One", Description: "d", Example: "e"}
	t2 := Task{Name: "Task Two"}
	switch {
	case strings.HasPrefix(k, KindPairUsers+"."):
		return pairUsersData(lang, t1, p, p)
	case strings.HasPrefix(k, KindPairTasks+"."):
		return pairTasksData(lang, p, t1, t2)
	case strings.HasPrefix(k, KindChoose+"."):
		return chooseData(lang, p, []Task{t1, t2})
	}
	return matchData(lang, p, t1)
}

func matchData(lang string, p Profile, t Task) PromptData {
	return PromptData{Lang: lang, Profile: renderProfile(lang, p), Task: renderTask(lang, t),
		ProfileValue: p, TaskValue: t}
}

func pairUsersData(lang string, t Task, a, b Profile) PromptData {
	return PromptData{Lang: lang, Task: renderTask(lang, t), TaskValue: t,
		A: renderProfile(lang, a), B: renderProfile(lang, b), AValue: a, BValue: b}
}

func pairTasksData(lang string, p Profile, a, b Task) PromptData {
	return PromptData{Lang: lang, Profile: renderProfile(lang, p), ProfileValue: p,
		A: renderTask(lang, a), B: renderTask(lang, b), AValue: a, BValue: b}
}

func chooseData(lang string, p Profile, tasks []Task) PromptData {
	return PromptData{Lang: lang, Profile: renderProfile(lang, p), ProfileValue: p,
		Tasks: renderTaskList(lang, tasks), TaskList: tasks}
}

// CheckLang returns the canonical language code: "" means "en"; anything
// other than "en" or "zh" is an error.
func CheckLang(lang string) (string, error) {
	switch lang {
	case "", "en":
		return "en", nil
	case "zh":
		return "zh", nil
	}
	return "", fmt.Errorf("match: unknown language %q (want en or zh)", lang)
}

func (t *Templates) exec(kind, lang string, data PromptData) (string, error) {
	tpl := t.t[kind+"."+lang]
	if tpl == nil {
		return "", fmt.Errorf("match: no template %s.%s", kind, lang)
	}
	var b strings.Builder
	if err := tpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("match: template %s.%s: %v", kind, lang, err)
	}
	return b.String(), nil
}

// Match renders the point-wise prompt: does profile p match task tk? Its
// answers are MatchOptions(lang).
func (t *Templates) Match(lang string, p Profile, tk Task) (string, error) {
	lang, err := CheckLang(lang)
	if err != nil {
		return "", err
	}
	if err := p.Validate(); err != nil {
		return "", err
	}
	if err := tk.Validate(); err != nil {
		return "", err
	}
	return t.exec(KindMatchPrompt, lang, matchData(lang, p, tk))
}

// PairUsers renders the pair-wise prompt that asks which of two users, a or
// b, suits task tk better. Its answers are PairOptions(lang).
func (t *Templates) PairUsers(lang string, tk Task, a, b Profile) (string, error) {
	lang, err := CheckLang(lang)
	if err != nil {
		return "", err
	}
	if err := tk.Validate(); err != nil {
		return "", err
	}
	if err := a.Validate(); err != nil {
		return "", fmt.Errorf("match: candidate A: %v", trimPrefix(err))
	}
	if err := b.Validate(); err != nil {
		return "", fmt.Errorf("match: candidate B: %v", trimPrefix(err))
	}
	return t.exec(KindPairUsers, lang, pairUsersData(lang, tk, a, b))
}

// PairTasks renders the pair-wise prompt that asks which of two tasks, a or
// b, suits user p better. Its answers are PairOptions(lang).
func (t *Templates) PairTasks(lang string, p Profile, a, b Task) (string, error) {
	lang, err := CheckLang(lang)
	if err != nil {
		return "", err
	}
	if err := p.Validate(); err != nil {
		return "", err
	}
	if err := a.Validate(); err != nil {
		return "", fmt.Errorf("match: task A: %v", trimPrefix(err))
	}
	if err := b.Validate(); err != nil {
		return "", fmt.Errorf("match: task B: %v", trimPrefix(err))
	}
	return t.exec(KindPairTasks, lang, pairTasksData(lang, p, a, b))
}

// Choose renders the multi-choice prompt: which of tasks suits user p best?
// Its answers are ChooseOptions(tasks). An empty list, a task without a name
// and two tasks with the same name are errors.
func (t *Templates) Choose(lang string, p Profile, tasks []Task) (string, error) {
	lang, err := CheckLang(lang)
	if err != nil {
		return "", err
	}
	if err := p.Validate(); err != nil {
		return "", err
	}
	if _, err := ChooseOptions(tasks); err != nil {
		return "", err
	}
	return t.exec(KindChoose, lang, chooseData(lang, p, tasks))
}

func trimPrefix(err error) string { return strings.TrimPrefix(err.Error(), "match: ") }

// MatchOptions returns the answers of the point-wise prompt: ["Yes", "No"]
// for English (and ""), ["是", "否"] for Chinese, nil for an unknown
// language.
func MatchOptions(lang string) []string {
	switch lang {
	case "", "en":
		return []string{"Yes", "No"}
	case "zh":
		return []string{"是", "否"}
	}
	return nil
}

// PairOptions returns the answers of the pair-wise prompts, ["A", "B"], in
// every language.
func PairOptions(lang string) []string { return []string{"A", "B"} }

// ChooseOptions returns the answers of the multi-choice prompt: the task
// names in order. An empty list, a task without a name and a duplicated name
// are errors.
func ChooseOptions(tasks []Task) ([]string, error) {
	if len(tasks) == 0 {
		return nil, fmt.Errorf("match: empty task list")
	}
	seen := make(map[string]bool, len(tasks))
	names := make([]string, len(tasks))
	for i, tk := range tasks {
		if err := tk.Validate(); err != nil {
			return nil, fmt.Errorf("match: task %d: %v", i+1, trimPrefix(err))
		}
		if seen[tk.Name] {
			return nil, fmt.Errorf("match: duplicated task name %q", tk.Name)
		}
		seen[tk.Name] = true
		names[i] = tk.Name
	}
	return names, nil
}
