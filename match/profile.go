package match

import (
	"errors"
	"strings"
)

// Profile describes a contributor: the platform's four attributes, or free
// text, or both. The platform's values are listed in GDBM.md (gender Male /
// Female / Not Disclosure, age Under 18 / 18-29 / 30-39 / 40-50 / 50+, ...);
// other values pass through as text.
type Profile struct {
	Gender    string `json:"gender,omitempty"`
	Age       string `json:"age,omitempty"`
	Education string `json:"education,omitempty"`
	Major     string `json:"major,omitempty"`
	Text      string `json:"text,omitempty"`
}

// Task describes a data-collection task. Name is what the multi-choice prompt
// answers with.
type Task struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Example     string `json:"example,omitempty"`
}

// Validate reports whether p can be rendered: it returns an error when all
// its fields are empty or blank.
func (p Profile) Validate() error {
	for _, v := range []string{p.Gender, p.Age, p.Education, p.Major, p.Text} {
		if strings.TrimSpace(v) != "" {
			return nil
		}
	}
	return errors.New("match: empty profile")
}

// Validate reports whether t can be rendered: it returns an error when its
// name is empty or blank.
func (t Task) Validate() error {
	if strings.TrimSpace(t.Name) == "" {
		return errors.New("match: task without name")
	}
	return nil
}

// zhValues translates the platform's known profile values into Chinese.
var zhValues = map[string]string{
	"Male": "男", "Female": "女", "Not Disclosure": "未透露",
	"Under 18": "18岁以下", "18-29": "18-29岁", "30-39": "30-39岁",
	"40-50": "40-50岁", "50+": "50岁以上",
	"High School": "高中", "Undergraduate": "本科", "Postgraduate": "硕士研究生",
	"Ph.D.":                          "博士",
	"Sports and Health":              "体育与健康",
	"Medicine":                       "医学",
	"Philosophy and Social Sciences": "哲学与社会科学",
	"Engineering and Technology":     "工程与技术",
	"Literature":                     "文学",
	"Economics and Management":       "经济与管理",
	"Natural Sciences":               "自然科学",
	"Arts and Design":                "艺术与设计",
}

// renderProfile renders p as described in the package doc.
func renderProfile(lang string, p Profile) string {
	labels := [4]string{"gender", "age", "education", "major"}
	kv, sep, textSep := ": ", ", ", "; "
	if lang == "zh" {
		labels = [4]string{"性别", "年龄", "学历", "专业"}
		kv, sep, textSep = "：", "，", "；"
	}
	var parts []string
	for i, v := range [4]string{p.Gender, p.Age, p.Education, p.Major} {
		if v == "" {
			continue
		}
		if lang == "zh" {
			if z, ok := zhValues[v]; ok {
				v = z
			}
		}
		parts = append(parts, labels[i]+kv+v)
	}
	s := strings.Join(parts, sep)
	if p.Text != "" {
		if s != "" {
			s += textSep
		}
		s += p.Text
	}
	return s
}

// renderTask renders t as "name (description; example: ...)".
func renderTask(lang string, t Task) string {
	ex, sep, open, close := "example: ", "; ", " (", ")"
	if lang == "zh" {
		ex, sep, open, close = "示例：", "；", "（", "）"
	}
	var parts []string
	if t.Description != "" {
		parts = append(parts, t.Description)
	}
	if t.Example != "" {
		parts = append(parts, ex+t.Example)
	}
	if len(parts) == 0 {
		return t.Name
	}
	return t.Name + open + strings.Join(parts, sep) + close
}

// optionLabel returns the letter label of the i-th option: A..Z, AA, AB, ...
func optionLabel(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}

// renderTaskList renders tasks as "A: t1, B: t2, C: t3".
func renderTaskList(lang string, tasks []Task) string {
	kv, sep := ": ", ", "
	if lang == "zh" {
		kv, sep = "：", "，"
	}
	parts := make([]string, len(tasks))
	for i, t := range tasks {
		parts[i] = optionLabel(i) + kv + renderTask(lang, t)
	}
	return strings.Join(parts, sep)
}
