package personas

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/recloop/recloop/catalog"
)

var update = flag.Bool("update", false, "rewrite the generated sections of docs/personas.md and docs/user-model.md")

// TestDocs keeps the generated tables in the docs equal to the code: the
// utility spec's parameter table and the library table.
func TestDocs(t *testing.T) {
	lib := mustLibrary(t)
	checkSection(t, "../docs/user-model.md", "utility-params", UtilitySpec.Markdown())
	checkSection(t, "../docs/personas.md", "library", libraryTable(lib))
	checkSection(t, "../docs/personas.md", "library-people", peopleTable(lib))
}

func peopleTable(lib []Persona) string {
	var b strings.Builder
	b.WriteString("| archetype | ages | occupations | wordings (how it watches × what it likes × what it would like) |\n")
	b.WriteString("|---|---|---|---|\n")
	for _, p := range lib {
		pool := archetypePeople[p.ID]
		fmt.Fprintf(&b, "| `%s` | %d–%d | %s | %d × %d × %d |\n", p.ID, pool.Ages[0], pool.Ages[1],
			strings.Join(pool.Occupations, ", "), len(pool.Habits), len(pool.Tastes), len(pool.Latent))
	}
	return b.String()
}

func checkSection(t *testing.T, path, name, want string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	begin, end := "<!-- "+name+":begin -->\n", "<!-- "+name+":end -->"
	doc := string(data)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s: markers for %s are missing", path, name)
	}
	got := doc[i+len(begin) : j]
	if got == want {
		return
	}
	if !*update {
		t.Fatalf("%s: the %s section is out of date (go test ./personas -run TestDocs -update)\ngot:\n%s\nwant:\n%s", path, name, got, want)
	}
	if err := os.WriteFile(path, []byte(doc[:i+len(begin)]+want+doc[j:]), 0o644); err != nil {
		t.Fatal(err)
	}
}

func libraryTable(lib []Persona) string {
	var b strings.Builder
	b.WriteString("| id | name | stated interests | latent interests | activity | conformity | curiosity | pickiness | mainstreamness | history_size | segments |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range lib {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %g | %g | %g | %g | %g | %d | %s |\n",
			p.ID, p.Name, tasteText(p.Interests), tasteText(p.LatentInterests),
			p.Traits.Activity, p.Traits.Conformity, p.Traits.Curiosity, p.Traits.Pickiness, p.Traits.Mainstreamness,
			p.HistorySize, strings.Join(p.Segments, ", "))
	}
	return b.String()
}

func tasteText(t catalog.Taste) string {
	part := func(m map[string]float64) string {
		var items []string
		for _, name := range slices.Sorted(maps.Keys(m)) {
			items = append(items, fmt.Sprintf("%s %g", name, m[name]))
		}
		return strings.Join(items, ", ")
	}
	return part(t.Categories) + "; " + part(t.Tags)
}
