package judges

import (
	_ "embed"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/recloop/recloop/config"
)

//go:embed rubrics/default.yaml
var defaultRubricYAML []byte

// defaultRubric is parsed once; DefaultRubric hands out copies so that no
// caller can change what the next one gets.
var defaultRubric = mustParseRubric("rubrics/default.yaml", defaultRubricYAML)

func mustParseRubric(file string, data []byte) Rubric {
	r, errs := ParseRubric(file, data)
	if err := errs.Err(); err != nil {
		panic(fmt.Sprintf("judges: embedded rubric: %v", err))
	}
	return r
}

// DefaultRubric is the built-in rubric: relevance, specificity,
// faithfulness and helpfulness, each anchored from 1 to 5.
func DefaultRubric() Rubric { return defaultRubric.deepCopy() }

// Every rubric dimension is scored from anchorMin to anchorMax, and each
// score in between must be described.
const (
	anchorMin = 1
	anchorMax = 5
)

var dimensionName = regexp.MustCompile(`^[a-z_]+$`)

// LoadRubric reads and validates a rubric file.
func LoadRubric(path string) (Rubric, config.Errors) {
	data, err := config.ReadFile(path, config.MaxYAMLBytes)
	if err != nil {
		return Rubric{}, config.Errors{{File: path, Msg: err.Error()}}
	}
	return ParseRubric(path, data)
}

// ParseRubric decodes a rubric strictly and reports every problem with its
// file, line and field: unknown fields, dimensions without a unique
// [a-z_]+ name or a description, and anchors other than exactly 1..5.
func ParseRubric(file string, data []byte) (Rubric, config.Errors) {
	var r Rubric
	doc := config.Parse(file, data, &r)
	if doc.Root == nil {
		return Rubric{}, doc.Errors()
	}
	if len(r.Dimensions) == 0 {
		doc.Add("dimensions", "a rubric needs at least one dimension")
	}
	seen := make(map[string]int, len(r.Dimensions))
	for i, d := range r.Dimensions {
		path := config.Index("dimensions", i)
		switch first, dup := seen[d.Name]; {
		case d.Name == "":
			doc.Add(config.Join(path, "name"), "a dimension needs a name")
		case !dimensionName.MatchString(d.Name):
			doc.Add(config.Join(path, "name"), "%q must be lower-case letters and underscores", d.Name)
		case dup:
			doc.Add(config.Join(path, "name"), "%q repeats dimensions[%d]", d.Name, first)
		default:
			seen[d.Name] = i
		}
		if strings.TrimSpace(d.Description) == "" {
			doc.Add(config.Join(path, "description"), "a dimension needs a description")
		}
		checkAnchors(doc, config.Join(path, "anchors"), d.Anchors)
	}
	if errs := doc.Errors(); len(errs) > 0 {
		return Rubric{}, errs
	}
	return r, nil
}

func checkAnchors(doc *config.Doc, path string, anchors map[int]string) {
	for _, score := range slices.Sorted(maps.Keys(anchors)) {
		field := config.Join(path, strconv.Itoa(score))
		switch {
		case score < anchorMin || score > anchorMax:
			doc.Add(field, "anchors are scores %d to %d, got %d", anchorMin, anchorMax, score)
		case strings.TrimSpace(anchors[score]) == "":
			doc.Add(field, "anchor %d needs a description", score)
		}
	}
	var missing []string
	for score := anchorMin; score <= anchorMax; score++ {
		if _, ok := anchors[score]; !ok {
			missing = append(missing, strconv.Itoa(score))
		}
	}
	if len(missing) > 0 {
		doc.Add(path, "missing anchor(s) %s", strings.Join(missing, ", "))
	}
}

// Merge overlays o on r: o's dimensions replace r's dimensions of the same
// name in place, and o's other dimensions follow r's, in o's order. o's name
// wins when it has one.
func (r Rubric) Merge(o Rubric) Rubric {
	out := r.deepCopy()
	if o.Name != "" {
		out.Name = o.Name
	}
	at := make(map[string]int, len(out.Dimensions))
	for i, d := range out.Dimensions {
		at[d.Name] = i
	}
	for _, d := range o.Dimensions {
		d.Anchors = maps.Clone(d.Anchors)
		if i, ok := at[d.Name]; ok {
			out.Dimensions[i] = d
			continue
		}
		at[d.Name] = len(out.Dimensions)
		out.Dimensions = append(out.Dimensions, d)
	}
	return out
}

func (r Rubric) deepCopy() Rubric {
	out := Rubric{Name: r.Name, Dimensions: make([]Dimension, len(r.Dimensions))}
	for i, d := range r.Dimensions {
		d.Anchors = maps.Clone(d.Anchors)
		out.Dimensions[i] = d
	}
	return out
}

// Markdown renders the rubric as one table per dimension, for docs and
// reports.
func (r Rubric) Markdown() string {
	var b strings.Builder
	for _, d := range r.Dimensions {
		fmt.Fprintf(&b, "#### `%s`\n\n%s\n\n| Score | Anchor |\n|---|---|\n", d.Name, d.Description)
		for score := anchorMin; score <= anchorMax; score++ {
			fmt.Fprintf(&b, "| %d | %s |\n", score, strings.ReplaceAll(d.Anchors[score], "|", `\|`))
		}
		b.WriteString("\n")
	}
	return b.String()
}
