// Package design holds the tests that keep the code to DESIGN.md's
// architecture.
package design

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/recloop/recloop/"

// packageTable is DESIGN.md's package table, top to bottom: each package
// group and, in the table's own words, what it may import. A group covers
// its sub-packages (recommenders/httprec is recommenders). TestTableMatchesDesign
// keeps it equal to DESIGN.md wherever that file is at hand.
var packageTable = []struct{ group, mayImport string }{
	{"internal/rng", "— (leaf)"},
	{"config", "— (leaf)"},
	{"catalog", "config, internal/rng"},
	{"llm", "config, internal/rng"},
	{"trajectory", "catalog"},
	{"personas", "catalog, config, internal/rng, llm, trajectory"},
	{"recommenders", "catalog, config, internal/rng, llm"},
	{"simulator", "catalog, internal/rng, personas, recommenders, trajectory"},
	{"judges", "catalog, config, internal/rng, llm, personas, trajectory"},
	{"metrics", "catalog, config, internal/rng, trajectory"},
	{"fidelity", "everything above except judges"},
	{"reports", "metrics, trajectory, catalog, config, internal/rng, and the fidelity report leaf (not fidelity itself)"},
	{"scenarios", "all of the above except reports and runner"},
	{"runner", "all of the above"},
	{"cmd/recloop", "runner, and what it needs to print"},
}

// fidelityReportLeaf is where fidelity's report types live, so that reports
// can read them without depending on fidelity.
const fidelityReportLeaf = "fidelity/report"

// thirdParty says which groups alone may import a third-party module:
// only llm touches go-openai (DESIGN.md: "the rest of the code never
// touches go-openai types directly"), and only reports draws charts.
var thirdParty = map[string][]string{
	"github.com/sashabaranov/go-openai": {"llm"},
	"github.com/go-echarts/go-echarts":  {"reports"},
}

// rules is the allowed imports of every group, read from packageTable.
type rules map[string]map[string]bool

func parseRules(t testing.TB) rules {
	t.Helper()
	out := rules{}
	var above []string
	for _, row := range packageTable {
		allowed := map[string]bool{}
		text := row.mayImport
		switch {
		case text == "— (leaf)":
		case strings.HasPrefix(text, "everything above except "), strings.HasPrefix(text, "all of the above"):
			_, except, _ := strings.Cut(text, "except ")
			excluded := splitList(except)
			for _, g := range above {
				if !slices.Contains(excluded, g) {
					allowed[g] = true
				}
			}
		case text == "runner, and what it needs to print":
			// The CLI prints what the packages below runner describe (the
			// registries it lists, the results it tabulates), but the engine
			// that simulates and judges is runner's to drive.
			for _, g := range above {
				allowed[g] = g != "simulator" && g != "judges"
			}
		default:
			for _, g := range splitList(strings.ReplaceAll(text, "the fidelity report leaf (not fidelity itself)", fidelityReportLeaf)) {
				if g != fidelityReportLeaf && !slices.Contains(above, g) {
					t.Fatalf("%s may import %q, which is not a group above it", row.group, g)
				}
				allowed[g] = true
			}
		}
		out[row.group] = allowed
		above = append(above, row.group)
	}
	// The leaf is part of fidelity for whoever may import fidelity, and
	// adds nothing to what its reader, reports, may import.
	out["fidelity"][fidelityReportLeaf] = true
	for _, g := range above {
		if out[g]["fidelity"] {
			out[g][fidelityReportLeaf] = true
		}
	}
	out[fidelityReportLeaf] = map[string]bool{}
	for g, ok := range out["reports"] {
		out[fidelityReportLeaf][g] = ok && g != fidelityReportLeaf
	}
	return out
}

func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(strings.ReplaceAll(s, " and ", ", "), ",") {
		if part = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(part), "and ")); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// groupOf names the group a package belongs to: the longest group that is
// the package or a parent of it. An internal package the table does not
// list is a leaf of its own.
func (r rules) groupOf(pkg string) (string, bool) {
	best := ""
	for g := range r {
		if (pkg == g || strings.HasPrefix(pkg, g+"/")) && len(g) > len(best) {
			best = g
		}
	}
	return best, best != ""
}

// check returns every import edge the rules forbid. edges maps a package
// (relative to the module) to its imports (full paths).
func (r rules) check(edges map[string][]string) []string {
	var bad []string
	for pkg, imports := range edges {
		if strings.HasPrefix(pkg, "examples/") {
			continue // programs of the library's users, not part of it
		}
		from, listed := r.groupOf(pkg)
		unlistedLeaf := !listed && strings.HasPrefix(pkg, "internal/")
		if !listed && !unlistedLeaf {
			bad = append(bad, fmt.Sprintf("%s is in no group of DESIGN.md's package table", pkg))
			continue
		}
		for _, imp := range imports {
			if mod, ok := thirdPartyModule(imp); ok {
				if owners := thirdParty[mod]; owners != nil && !slices.Contains(owners, from) {
					bad = append(bad, fmt.Sprintf("%s imports %s, which only %s may", pkg, imp, strings.Join(owners, ", ")))
				}
				continue
			}
			dep, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue // the standard library
			}
			to, depListed := r.groupOf(dep)
			switch {
			case unlistedLeaf:
				bad = append(bad, fmt.Sprintf("%s imports %s, but an internal package the table does not list must stay a leaf", pkg, dep))
			case !depListed && strings.HasPrefix(dep, "internal/"):
				// Unlisted internal leaves serve every group.
			case to == from:
			case !r[from][to]:
				bad = append(bad, fmt.Sprintf("%s (group %s) imports %s (group %s), which DESIGN.md's table does not allow", pkg, from, dep, to))
			}
		}
	}
	slices.Sort(bad)
	return bad
}

func thirdPartyModule(imp string) (string, bool) {
	if strings.HasPrefix(imp, module) || !strings.Contains(strings.Split(imp, "/")[0], ".") {
		return "", false
	}
	for mod := range thirdParty {
		if imp == mod || strings.HasPrefix(imp, mod+"/") {
			return mod, true
		}
	}
	return imp, true
}

// importEdges lists every package of the module with its non-test imports.
// It also reads every source file go list names: go test caches a result
// by the files a test opened, and a file that gains an import must make
// the test run again.
func importEdges(t *testing.T) map[string][]string {
	t.Helper()
	files := exec.Command("go", "list", "-f", `{{$dir := .Dir}}{{range .GoFiles}}{{$dir}}/{{.}}{{"\n"}}{{end}}`, module+"...")
	files.Dir = filepath.Join("..", "..")
	list, err := files.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for name := range strings.Lines(string(list)) {
		if _, err := os.ReadFile(strings.TrimSpace(name)); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"...")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	edges := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		edges[strings.TrimPrefix(fields[0], module)] = fields[1:]
	}
	if len(edges) < 10 {
		t.Fatalf("go list found only %d packages", len(edges))
	}
	return edges
}

func TestImportsFollowTheDesign(t *testing.T) {
	for _, v := range parseRules(t).check(importEdges(t)) {
		t.Error(v)
	}
}

// The check catches what it must: an arrow back up the table, a leaf that
// grows a dependency, reports reaching fidelity itself, go-openai outside
// llm, a package in no group.
func TestForbiddenEdgesAreCaught(t *testing.T) {
	r := parseRules(t)
	allowed := map[string][]string{
		"reports":                {module + "metrics", module + fidelityReportLeaf, "github.com/go-echarts/go-echarts/v2/charts"},
		fidelityReportLeaf:       {module + "metrics"},
		"recommenders/httprec":   {module + "recommenders/protocol", module + "recommenders"},
		"fidelity":               {module + "simulator", module + "internal/linalg"},
		"runner":                 {module + "reports", module + "judges"},
		"cmd/recloop":            {module + "runner", module + "reports", module + "scenarios"},
		"internal/linalg":        {"math"},
		"examples/go-library":    {module + "runner"},
		"llm":                    {"github.com/sashabaranov/go-openai"},
		"scenarios":              {module + "recommenders/execrec"},
		"metrics":                {module + "trajectory", "strings"},
		"recommenders/rectest":   {module + "internal/rng"},
		"llm/cache":              {"golang.org/x/sync/singleflight"},
		"simulator":              {module + "personas"},
		"judges":                 {module + "personas"},
		"trajectory":             {module + "catalog"},
		"personas":               {module + "llm"},
		"recommenders/protocol":  {module + "recommenders"},
		"catalog":                {module + "config"},
		"config":                 {"gopkg.in/yaml.v3"},
		"internal/rng":           {"math"},
		"recommenders/execrec":   {module + "recommenders/protocol"},
		"recommenders":           {module + "llm"},
		"fidelity/internal/none": {},
	}
	if v := r.check(allowed); len(v) > 0 {
		t.Fatalf("allowed edges were flagged: %v", v)
	}
	for _, tc := range []struct {
		pkg, imp, want string
	}{
		{"metrics", "simulator", "does not allow"},
		{"reports", "fidelity", "does not allow"},
		{fidelityReportLeaf, "fidelity", "does not allow"},
		{"config", "catalog", "does not allow"},
		{"scenarios", "runner", "does not allow"},
		{"fidelity", "judges", "does not allow"},
		{"cmd/recloop", "simulator", "does not allow"},
		{"internal/linalg", "config", "must stay a leaf"},
		{"recommenders", "github.com/sashabaranov/go-openai", "which only llm may"},
		{"metrics", "github.com/go-echarts/go-echarts/v2/opts", "which only reports may"},
		{"newthing", "config", "in no group"},
	} {
		imp := tc.imp
		if !strings.Contains(imp, ".") {
			imp = module + imp
		}
		v := r.check(map[string][]string{tc.pkg: {imp}})
		if len(v) != 1 || !strings.Contains(v[0], tc.want) {
			t.Errorf("%s → %s: got %q, want one violation saying %q", tc.pkg, tc.imp, v, tc.want)
		}
	}
}

// TestTableMatchesDesign compares packageTable with DESIGN.md's table,
// found in ../shared beside the repository (the project's shared documents
// are not copied into it). Where it is not at hand, the test says so.
func TestTableMatchesDesign(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "DESIGN.md"))
	if err != nil {
		t.Skipf("DESIGN.md not beside the repository (%v); packageTable is checked against it where it is", err)
	}
	var rows []string
	for line := range strings.SplitSeq(string(data), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		rows = append(rows, strings.Trim(strings.TrimSpace(cells[1]), "`")+": "+strings.TrimSpace(cells[3]))
	}
	var ours []string
	for _, row := range packageTable {
		ours = append(ours, row.group+": "+row.mayImport)
	}
	if !slices.Equal(rows, ours) {
		t.Errorf("packageTable differs from DESIGN.md's table:\nDESIGN.md: %q\nours:      %q", rows, ours)
	}
}
