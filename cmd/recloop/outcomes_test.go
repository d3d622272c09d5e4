package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recloop/recloop/llm/llmtest"
	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/runner"
)

// shopperPersonas answers like a shopper: it buys the first item (most of
// it consumed), adds the second to its cart but leaves it at once (a
// bounce, so the funnel stops at the click), and says what it would search.
func shopperPersonas(req llmtest.ChatRequest) any {
	schema := string(req.Schema())
	user := req.Messages[len(req.Messages)-1].Content
	switch {
	case strings.Contains(schema, "satisfaction"):
		return map[string]any{"satisfaction": 6, "review": "Fine."}
	case strings.Contains(schema, "summary"):
		return map[string]any{"summary": "I buy mysteries."}
	}
	ids := itemID.FindAllString(user, -1)
	var items []map[string]any
	if len(ids) > 0 {
		items = append(items, map[string]any{"item_id": ids[0], "action": "click", "rating": 5, "stage": "purchase", "completion": 0.8, "reason": "exactly what I wanted"})
	}
	if len(ids) > 1 {
		items = append(items, map[string]any{"item_id": ids[1], "action": "click", "rating": 2, "stage": "add_to_cart", "completion": 0.05, "reason": "not what it looked like"})
	}
	return map[string]any{"items": items, "exit": false, "feedback": "", "search": "cozy mystery"}
}

func TestLLMPersonasActThroughTheFunnelAndSearch(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", secretKey)
	server := llmtest.New(t)
	server.Answer(shopperPersonas)
	dir := t.TempDir()
	scenario := writeFile(t, dir, "shop.yaml", llmScenario(server.URL(), filepath.Join(dir, "cache"), "A shopper.",
		"funnel: [click, add_to_cart, purchase]\nengagement: {search: true}\nreturning: {}\n"))
	out := filepath.Join(dir, "out")
	if code, _, stderr := cli(t, context.Background(), "run", "--quiet", "--out", out, scenario); code != runner.ExitOK {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	var asked bool
	for _, req := range server.Requests() {
		if s := string(req.Schema()); strings.Contains(s, `"enum":["click","add_to_cart","purchase"]`) && strings.Contains(s, `"search"`) {
			asked = true
			if !strings.Contains(req.Messages[0].Content, "click, add_to_cart, purchase") {
				t.Errorf("the system prompt does not name the funnel:\n%s", req.Messages[0].Content)
			}
		}
	}
	if !asked {
		t.Fatal("no slate request asked for stages and a search")
	}
	traj := readFile(t, out, "trajectories.jsonl")
	for _, want := range []string{`"stage":3,"dwell":0.8`, `"stage":1,"dwell":0.05,"bounced":true`, `"query":"cozy mystery"`, `"funnel":["click","add_to_cart","purchase"]`} {
		if !bytes.Contains(traj, []byte(want)) {
			t.Errorf("trajectories lack %s", want)
		}
	}
	var res metrics.Results
	if err := json.Unmarshal(readFile(t, out, "results.json"), &res); err != nil {
		t.Fatal(err)
	}
	for _, v := range res.Variants {
		// Every visit: two clicks, one purchase, one bounce, one search.
		for _, tt := range []struct {
			metric string
			want   float64
		}{
			{metrics.BounceRate, 0.5},
			{metrics.SearchRate, 1},
			{metrics.MeanDwell, 0.425},
			// click-weight 1 is replaced by purchase 8; the bounce −1: 7 per visit.
			{metrics.WeightedOutcome, 7},
		} {
			m, ok := v.Metric(tt.metric)
			if !ok || float64(m.Value) != tt.want {
				t.Errorf("%s %s = %v, want %v", v.Name, tt.metric, m.Value, tt.want)
			}
		}
		if m, _ := v.Metric(metrics.Conversion); m.Value <= 0 {
			t.Errorf("%s: no conversion", v.Name)
		}
	}
}

// The built-in engagement scenario: the click-maximiser wins CTR and loses
// weighted outcome and retention, with CIs that exclude zero, and says so.
func TestEngagementScenarioShowsTheTradeOff(t *testing.T) {
	if testing.Short() {
		t.Skip("a 200-persona run")
	}
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := cli(t, context.Background(), "run", "--out", out, "engagement")
	if code != runner.ExitGateFailed {
		t.Fatalf("exit %d, want %d (the outcome gates fail): %s", code, runner.ExitGateFailed, stderr)
	}
	var res metrics.Results
	if err := json.Unmarshal(readFile(t, out, "results.json"), &res); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		metric string
		up     bool
	}{{metrics.CTR, true}, {metrics.WeightedOutcome, false}, {metrics.RoundsRetained, false}, {metrics.Conversion, false}} {
		var found bool
		for _, c := range res.Comparisons {
			if c.Metric != tt.metric || c.Segment != "" || c.Candidate != "click-trend" {
				continue
			}
			found = true
			if tt.up && !(c.CILow > 0) || !tt.up && !(c.CIHigh < 0) {
				t.Errorf("%s: click-trend − content = %v, 95%% CI [%v, %v]; want the CI on the %v side of 0", tt.metric, c.Diff, c.CILow, c.CIHigh, map[bool]string{true: "positive", false: "negative"}[tt.up])
			}
		}
		if !found {
			t.Errorf("no comparison on %s", tt.metric)
		}
	}
	assertOutput(t, stdout, "Trade-off: click-trend wins on clicks but loses on outcomes — weighted outcome falls",
		"rounds retained falls", "Outcomes beyond the click", "Retention by round")
	report := string(readFile(t, out, "report.html"))
	assertOutput(t, report, "Trade-off: click-trend wins on clicks", "Retention over rounds")
}

func assertOutput(t *testing.T, text string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
