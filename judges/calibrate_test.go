package judges

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recloop/recloop/llm/llmtest"
)

const exampleLabels = "examples/labels.jsonl"

func TestLoadExampleLabels(t *testing.T) {
	labels, err := LoadLabels(exampleLabels)
	if err != nil {
		t.Fatal(err)
	}
	if len(labels) != 12 {
		t.Fatalf("%d labels, want 12", len(labels))
	}
	c := labels[0].Case()
	if c.Persona != "ada" || c.Item.ID != "item-0101" || c.Item.Title != "The Lantern Case" ||
		len(c.History) != 3 || c.History[0].Title != "The Quiet Inspector" || c.Item.Attributes["year"] != float64(1998) {
		t.Errorf("first label's case %+v, item %+v", c, c.Item)
	}
}

func TestLoadLabelsErrors(t *testing.T) {
	good := `{"persona":"p","item":"i","explanation":"e","scores":{"relevance":3}}`
	tests := []struct {
		name, content, want string
	}{
		{"bad JSON on line 2", good + "\n{oops\n", "labels.jsonl:2:"},
		{"unknown field", "\n" + `{"item":"i","explanation":"e","scores":{"relevance":3},"colour":1}`, `labels.jsonl:2: json: unknown field "colour"`},
		{"score out of range", "# comment\n" + good + "\n" + `{"item":"i","explanation":"e","scores":{"relevance":6}}`, "labels.jsonl:3: scores.relevance: 6 is outside 1–5"},
		{"no item", `{"explanation":"e","scores":{"relevance":3}}`, "labels.jsonl:1: item is required"},
		{"no explanation", `{"item":"i","scores":{"relevance":3}}`, "labels.jsonl:1: explanation is required"},
		{"no scores", `{"item":"i","explanation":"e"}`, "labels.jsonl:1: scores are required"},
		{"two values", good + good, "labels.jsonl:1: more than one JSON value"},
		{"empty file", "\n# nothing\n", "labels.jsonl: no labels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "labels.jsonl")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadLabels(path)
			if !errors.Is(err, ErrLabels) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want ErrLabels mentioning %q", err, tt.want)
			}
		})
	}
}

// labelJudge is a scripted LLM judge over the example labels: it finds the
// explanation in the prompt and scores it with score(label).
func labelJudge(t *testing.T, labels []Label, score func(Label) [4]int) Judge {
	srv := llmtest.New(t)
	srv.Handle(func(r llmtest.ChatRequest) llmtest.Reply {
		user := r.Messages[len(r.Messages)-1].Content
		for _, l := range labels {
			if strings.HasSuffix(user, "Explanation:\n"+l.Explanation) {
				s := score(l)
				return answer("scripted", s[0], s[1], s[2], s[3])
			}
		}
		t.Errorf("prompt carries no known explanation:\n%s", user)
		return llmtest.Error(400, "", "unknown explanation")
	})
	return newJudge(t, newStack(t, srv), LLMOptions{})
}

func TestCalibrate(t *testing.T) {
	labels, err := LoadLabels(exampleLabels)
	if err != nil {
		t.Fatal(err)
	}
	human := func(l Label) [4]int {
		return [4]int{l.Scores[Relevance], l.Scores[Specificity], l.Scores[Faithfulness], l.Scores[Helpfulness]}
	}
	type want struct {
		alpha, kappa, mad, bias float64
	}
	tests := []struct {
		name  string
		score func(Label) [4]int
		want  map[string]want
	}{
		{"judge agrees with the humans", human, map[string]want{
			Relevance: {1, 1, 0, 0}, Specificity: {1, 1, 0, 0}, Faithfulness: {1, 1, 0, 0}, Helpfulness: {1, 1, 0, 0}}},
		// A judge that always says 3. Human scores from the file:
		//   relevance    5 1 2 4 5 2 3 2 5 4 1 5: Σ|h−3| = 17, Σ(3−h) = −3
		//   specificity  5 1 2 4 4 1 3 2 5 2 2 5: Σ|h−3| = 16, Σ(3−h) = 0
		//   faithfulness 5 5 1 5 5 4 1 1 5 5 3 5: Σ|h−3| = 21, Σ(3−h) = −9
		//   helpfulness  5 1 1 4 4 2 2 1 5 3 1 4: Σ|h−3| = 17, Σ(3−h) = 3
		// MAD = Σ|h−3|/12, bias = Σ(3−h)/12. κ = 0: with b ≡ 3 the expected
		// disagreement Σ_i a_i w(i,3)·12/12 equals the observed one. α is
		// near 0 (chance): 24 pairable values, and from the coincidence
		// matrix (worked in exact fractions)
		//   relevance, specificity, helpfulness: Σoδ² = 1932, Σnnδ² = 46080,
		//     α = 1 − 23·1932/46080 = 1644/46080 = 137/3840 ≈ 0.0357
		//   faithfulness: Σoδ² = 2176, Σnnδ² = 45024,
		//     α = 1 − 23·2176/45024 = −5024/45024 = −157/1407 ≈ −0.1116
		{"constant judge", func(Label) [4]int { return [4]int{3, 3, 3, 3} }, map[string]want{
			Relevance: {137.0 / 3840, 0, 17.0 / 12, -3.0 / 12}, Specificity: {137.0 / 3840, 0, 16.0 / 12, 0},
			Faithfulness: {-157.0 / 1407, 0, 21.0 / 12, -9.0 / 12}, Helpfulness: {137.0 / 3840, 0, 17.0 / 12, 3.0 / 12}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Calibrate(context.Background(), labelJudge(t, labels, tt.score), labels, Rubric{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Labels != 12 || len(res.Dimensions) != 4 {
				t.Fatalf("result %+v, want 12 labels over 4 dimensions", res)
			}
			for _, d := range res.Dimensions {
				w := tt.want[d.Dimension]
				if d.N != 12 || math.Abs(d.Alpha-w.alpha) > 1e-9 || math.Abs(d.Kappa-w.kappa) > 1e-9 ||
					math.Abs(d.MAD-w.mad) > 1e-9 || math.Abs(d.Bias-w.bias) > 1e-9 {
					t.Errorf("%s: %+v, want n 12 and %+v", d.Dimension, d, w)
				}
			}
		})
	}
}

func TestCalibrateSkipsUnscoredDimensions(t *testing.T) {
	labels := []Label{
		{Persona: "p", Item: "a", Explanation: "first", Scores: map[string]int{Relevance: 2}},
		{Persona: "p", Item: "b", Explanation: "second", Scores: map[string]int{Relevance: 4, Helpfulness: 5}},
	}
	j := labelJudge(t, labels, func(l Label) [4]int { return [4]int{l.Scores[Relevance], 1, 1, 4} })
	res, err := Calibrate(context.Background(), j, labels, Rubric{})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]DimensionAgreement{}
	for _, d := range res.Dimensions {
		byName[d.Dimension] = d
	}
	// helpfulness: only the second label, (human 5, judge 4): o_45 = o_54 = 1,
	// n_4 = n_5 = 1, n = 2, δ²_45 = (2 − 1)² = 1, α = 1 − 1·2/2 = 0; MAD 1,
	// bias −1. specificity: no human scores, so nothing is defined.
	if r, h, s := byName[Relevance], byName[Helpfulness], byName[Specificity]; r.N != 2 || r.Alpha != 1 ||
		h.N != 1 || h.MAD != 1 || h.Bias != -1 || h.Alpha != 0 || s.N != 0 || !math.IsNaN(s.MAD) || !math.IsNaN(s.Alpha) {
		t.Errorf("dimensions %+v", byName)
	}
}
