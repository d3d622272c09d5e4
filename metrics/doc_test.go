package metrics

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// docPath is the page whose metric table is generated from the registry,
// between docBegin and docEnd.
const (
	docPath  = "../docs/metrics.md"
	docBegin = "<!-- metrics:begin -->\n"
	docEnd   = "<!-- metrics:end -->\n"
)

var (
	groupDoc  = map[Group]string{GroupEngagement: "engagement", GroupOutcomes: "outcomes", GroupBeyondAccuracy: "beyond accuracy", GroupFilterBubble: "filter bubble", GroupColdStart: "cold start", GroupOperations: "operations", GroupExplanations: "explanations", GroupConversations: "conversations"}
	scopeDoc  = map[Scope]string{ScopePersona: "per persona", ScopeGlobal: "global", ScopeRound: "per round", ScopeCohort: "cohort", ScopeVariant: "variant figure"}
	needsDoc  = map[Needs]string{NeedsNothing: "", NeedsFunnel: "`funnel:`", NeedsReturning: "`returning:`", NeedsConversation: "`conversation:`"}
	formatDoc = map[Format]string{FormatNumber: "number", FormatShare: "share (%)", FormatCount: "count"}
	betterDoc = map[Direction]string{Neutral: "–", HigherIsBetter: "↑ higher", LowerIsBetter: "↓ lower"}
)

// docTable is the Markdown table of every metric in the registry.
func docTable(t *testing.T) string {
	var b strings.Builder
	b.WriteString("| name | title | group | kind | needs | shown as | better | typical band | definition |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	// Placeholders such as <stage> must not read as HTML.
	cell := strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace
	for _, m := range All() {
		group, scope, needs, format, better := groupDoc[m.Group], scopeDoc[m.Scope], needsDoc[m.Needs], formatDoc[m.Format], betterDoc[m.Better]
		if group == "" || scope == "" || format == "" || better == "" {
			t.Fatalf("%s: the doc table has no words for its group, scope, format or direction", m.Name)
		}
		if m.Unit != "" {
			format += " (" + m.Unit + ")"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s | %s | %s |\n", m.Name, cell(m.Title), group, scope, needs,
			cell(format), better, bandDoc(m), cell(m.Def))
	}
	return b.String()
}

// bandDoc prints a metric's band in its unit: "5–20%", "≤ 200".
func bandDoc(m Metric) string {
	if m.Band == nil {
		return ""
	}
	f := func(x *float64) string {
		if m.Format == FormatShare {
			return strconv.FormatFloat(100**x, 'g', -1, 64)
		}
		return strconv.FormatFloat(*x, 'g', -1, 64)
	}
	var s string
	switch b := m.Band; {
	case b.Low != nil && b.High != nil:
		s = f(b.Low) + "–" + f(b.High)
	case b.High != nil:
		s = "≤ " + f(b.High)
	default:
		s = "≥ " + f(b.Low)
	}
	if m.Format == FormatShare {
		s += "%"
	}
	return s
}

// TestMetricsDoc fails when docs/metrics.md's table disagrees with the
// registry; go test -run TestMetricsDoc -update rewrites it (go generate
// ./metrics does the same).
func TestMetricsDoc(t *testing.T) {
	page, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	begin, end := bytes.Index(page, []byte(docBegin)), bytes.Index(page, []byte(docEnd))
	if begin < 0 || end < begin {
		t.Fatalf("%s has no %q … %q markers", docPath, strings.TrimSpace(docBegin), strings.TrimSpace(docEnd))
	}
	begin += len(docBegin)
	want := docTable(t)
	got := string(page[begin:end])
	if got == want {
		return
	}
	if !*update {
		t.Fatalf("%s's metric table differs from the registry (run go generate ./metrics):\n--- doc\n%s--- registry\n%s", docPath, got, want)
	}
	out := append(append(page[:begin:begin], want...), page[end:]...)
	if err := os.WriteFile(docPath, out, 0o644); err != nil {
		t.Fatal(err)
	}
}
