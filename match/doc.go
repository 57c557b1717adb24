// Package match holds the task-matching domain of taskmatch: user profiles
// and tasks, the four matching prompts (English and Chinese), and the GDBM
// workflow of ../shared/GDBM.md: reading the platform's submission log,
// cleaning it, grouping users, finding biased (group, task) pairs, building
// the instruction datasets, scoring predictions (accuracy, ART, EART) and
// reassigning groups to tasks. It also writes a synthetic log (Simulate).
//
// # Prompts
//
// A Profile is rendered as its non-empty fields in the order gender, age,
// education, major, e.g.
//
//	gender: Female, age: 18-29, education: Undergraduate, major: Literature
//
// followed by the free text (after "; " when fields come first); a profile
// with only Text renders as the text itself, verbatim. In Chinese the labels
// and the platform's known values are translated
// ("性别：女，年龄：18-29岁，学历：本科，专业：文学"); other values pass through.
// A Task renders as "name (description; example: ...)", leaving out the
// parts that are empty ("name" alone when it has only a name). The
// multi-choice prompt lists its tasks as "A: t1, B: t2, C: t3" (letters run
// A..Z, then AA, AB, ...; Chinese uses "A：t1，B：t2"). User text is inserted
// verbatim: keeping special tokens out of the prompt is the tokenizer's job.
//
// The prompts are Go text/template templates, one per kind and language,
// under the keys "match.en", "match.zh", "pair_users.en", "pair_users.zh",
// "pair_tasks.en", "pair_tasks.zh", "choose.en" and "choose.zh".
// LoadTemplates replaces any of them. A template sees a PromptData value:
//
//	{{.Profile}}  the rendered profile (match, pair_tasks, choose)
//	{{.Task}}     the rendered task (match, pair_users)
//	{{.A}} {{.B}} the rendered candidates: profiles for pair_users, tasks
//	              for pair_tasks
//	{{.Tasks}}    the rendered task list "A: t1, B: t2, ..." (choose)
//	{{.Lang}}     "en" or "zh"
//
// and the raw values for templates that render them differently:
// {{.ProfileValue}} (a Profile), {{.TaskValue}} (a Task), {{.AValue}} and
// {{.BValue}} (Profile or Task) and {{.TaskList}} ([]Task), e.g.
// {{.ProfileValue.Major}} or {{range .TaskList}}{{.Name}}; {{end}}.
//
// # GDBM
//
// ReadLog parses and validates the log CSV; Clean applies the four cleaning
// steps in their order; Analyze builds groups and pairs, the centre and the
// quadrants (compared exactly with math/big.Rat); WritePairs and ReadPairs
// handle pairs.csv; BiasChart draws the bias chart. BuildDatasets makes the
// four datasets with their 8:2 split; Score computes the benchmark metrics;
// Reassign computes the top-k reassignment. Asker is the interface to a
// matching model that Bench and Reassign use when one is given.
package match
