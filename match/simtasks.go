package match

// SimTask is a task of the synthetic platform: its prompt description and
// its reward for a passed submission.
type SimTask struct {
	Name        string
	Description string
	Example     string
	CashCents   int64   // base cash of a passed submission, in cents
	Points      int64   // points of a passed submission
	Difficulty  float64 // added to the submitter's pass probability
	Popularity  float64 // relative share of submissions
}

// WeakCorrelationReasoning is the task where Ph.D. holders over-participate
// in the synthetic log.
const WeakCorrelationReasoning = "Weak Correlation Reasoning"

// simTasks is the synthetic platform's catalogue of 43 tasks (Novice Guide,
// the onboarding task, is not among them).
var simTasks = []SimTask{
	{"Weak Correlation Reasoning", "write questions whose answer needs reasoning over loosely related facts", "If the tide is high at noon, when may the fishing boats leave?", 450, 40, -0.05, 1.0},
	{"Everyday Dialogue", "write natural multi-turn conversations about daily life", "A: Are you coming to the market? B: After lunch.", 80, 10, 0.10, 3.0},
	{"Image Caption Writing", "describe a photo in two or three precise sentences", "A red bicycle leans against a stone wall at dusk.", 120, 12, 0.02, 2.5},
	{"Medical Q&A Review", "check answers to patients' questions for medical accuracy", "Is ibuprofen safe with an empty stomach?", 500, 45, -0.08, 0.8},
	{"Sports Commentary Writing", "write short play-by-play commentary for a match clip", "He cuts inside, shoots, and it curls just wide!", 150, 15, 0.04, 1.2},
	{"Code Review Comments", "write review comments that point out real bugs in a code diff", "The loop never updates i, so it never ends.", 400, 35, -0.06, 2.0},
	{"Poetry Composition", "write a short poem in a requested form and theme", "A haiku about the first snow.", 200, 18, -0.02, 1.5},
	{"Financial Report Q&A", "answer questions from a company's annual report", "What was the operating margin in 2022?", 380, 32, -0.05, 1.4},
	{"Scientific Fact Checking", "judge whether a claim is supported by a cited abstract", "Claim: vitamin C cures colds.", 350, 30, -0.04, 1.3},
	{"Physics Problem Solving", "solve and explain undergraduate physics problems", "A ball is dropped from 20 m; how long does it fall?", 420, 38, -0.07, 1.1},
	{"Legal Document Summaries", "summarise a contract clause in plain language", "The tenant may not sublet without written consent.", 360, 30, -0.05, 0.9},
	{"Recipe Writing", "write a recipe with quantities and steps", "Tomato soup for four people.", 90, 10, 0.08, 2.2},
	{"Travel Itinerary Planning", "plan a day-by-day itinerary for a stated budget", "Three days in Chengdu for under 2000 yuan.", 110, 12, 0.06, 2.0},
	{"Product Review Rating", "rate the helpfulness of product reviews", "Five stars, arrived fast.", 60, 6, 0.09, 3.2},
	{"Math Word Problems", "write grade-school math word problems with answers", "Tom has 3 apples and buys 5 more ...", 180, 16, 0.00, 2.0},
	{"Historical Event Explanation", "explain the causes of a historical event", "Why did the Silk Road decline?", 260, 22, -0.03, 1.1},
	{"Emotional Support Dialogue", "reply with empathy to a user in distress", "I failed my driving test again.", 140, 14, 0.03, 1.6},
	{"Translation Post-editing", "correct machine translations between Chinese and English", "He is a big shot -> 他是个大人物", 220, 20, -0.01, 1.8},
	{"Grammar Correction", "correct grammar errors and explain each fix", "She don't like apples.", 70, 8, 0.07, 2.4},
	{"News Headline Writing", "write a headline for a news paragraph", "City opens its first night library.", 80, 8, 0.06, 2.1},
	{"Advertising Copywriting", "write ad copy for a product and audience", "Running shoes for weekend joggers.", 160, 15, 0.02, 1.5},
	{"Fitness Plan Design", "design a weekly exercise plan for a goal", "Four weeks to run 5 km.", 170, 16, 0.02, 1.0},
	{"Nutrition Advice Review", "check dietary advice against guidelines", "Skip breakfast to lose weight?", 300, 26, -0.04, 0.9},
	{"Chemistry Q&A", "answer and explain chemistry questions", "Why does salt melt ice?", 380, 34, -0.06, 1.0},
	{"Biology Concept Explanation", "explain a biology concept for a high-school reader", "What does a ribosome do?", 300, 26, -0.03, 1.1},
	{"Art Critique Writing", "write a short critique of an artwork", "Van Gogh's The Starry Night.", 190, 18, -0.02, 1.2},
	{"Logo Description", "describe a logo's shapes, colours and meaning", "A green leaf inside a circle.", 90, 9, 0.05, 1.6},
	{"Music Review", "review a song's melody, lyrics and arrangement", "A folk ballad with a slow guitar intro.", 130, 12, 0.03, 1.4},
	{"Philosophical Argument Analysis", "lay out the premises and conclusion of an argument", "If free will exists, then ...", 330, 30, -0.06, 0.8},
	{"Survey Question Design", "write unbiased survey questions for a topic", "Questions about commuting habits.", 200, 18, 0.00, 1.1},
	{"Business Email Writing", "write a professional email for a situation", "Ask a supplier to move a delivery date.", 100, 10, 0.06, 2.3},
	{"Market Analysis Summaries", "summarise a market report into key points", "The EV battery market in 2023.", 320, 28, -0.04, 1.0},
	{"Engineering Specification Review", "find missing or conflicting requirements in a spec", "The pump must run 24/7 and be serviced daily.", 410, 36, -0.06, 0.9},
	{"Circuit Explanation", "explain what a simple circuit does", "An LED with a 220-ohm resistor on 5 V.", 360, 32, -0.05, 0.8},
	{"Short Story Continuation", "continue a story in the same voice", "The lighthouse keeper found a letter ...", 150, 14, 0.02, 1.8},
	{"Classical Chinese Translation", "translate classical Chinese into modern Chinese", "学而时习之，不亦说乎", 280, 25, -0.04, 0.9},
	{"Children's Story Writing", "write a short story for children aged 5-8", "A turtle who wants to fly.", 120, 12, 0.05, 1.5},
	{"Interview Question Writing", "write interview questions for a job role", "Questions for a junior accountant.", 110, 11, 0.05, 1.4},
	{"Data Table Interpretation", "describe the trends in a data table", "Monthly rainfall in three cities.", 240, 22, -0.02, 1.2},
	{"Common Sense QA", "write questions that need everyday common sense", "Can you dry clothes faster on a windy day?", 70, 8, 0.09, 2.8},
	{"Safety Refusal Judgement", "judge whether a model should refuse a request", "How do I pick a lock?", 230, 21, -0.02, 1.2},
	{"Environmental Policy Brief", "write a one-page brief on an environmental policy", "Plastic bag bans in coastal cities.", 290, 26, -0.03, 0.8},
	{"Sports Rules Q&A", "answer questions about the rules of a sport", "When is a volleyball serve a fault?", 140, 13, 0.04, 1.3},
}

// SimTasks returns a copy of the synthetic platform's 43-task catalogue.
func SimTasks() []SimTask {
	out := make([]SimTask, len(simTasks))
	copy(out, simTasks)
	return out
}
