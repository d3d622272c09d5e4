// Package scenarios reads scenario YAML, validates it with file:line
// messages (all of them at once), and builds a runnable plan: the catalog,
// the personas, the behaviour model and one recommender per variant.
package scenarios

import (
	"embed"
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/judges"
	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/personas"
	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/trajectory"
)

// SchemaVersion is the scenario format version this build reads.
const SchemaVersion = 1

//go:embed *.yaml
var builtin embed.FS

// Scenario is the YAML document. Every field is documented in
// docs/scenarios.md.
type Scenario struct {
	Version     int           `yaml:"version"`
	Name        string        `yaml:"name"`
	Description string        `yaml:"description"`
	Seed        uint64        `yaml:"seed"`
	Rounds      int           `yaml:"rounds"`
	SlateSize   int           `yaml:"slate_size"`
	Concurrency int           `yaml:"concurrency"`
	Replicates  int           `yaml:"replicates"`
	Cells       int           `yaml:"cells"`
	Catalog     CatalogSpec   `yaml:"catalog"`
	Personas    PersonasSpec  `yaml:"personas"`
	Behaviour   BehaviourSpec `yaml:"behaviour"`
	LLM         *llm.Config   `yaml:"llm"`
	Variants    []VariantSpec `yaml:"variants"`
	Judges      JudgesSpec    `yaml:"judges"`
	// Baseline names the variant the others are compared with, persona by
	// persona; Gates are the release checks; Inconclusive says whether a
	// gate the run is too small to decide fails the run ("fail", default)
	// or not ("pass").
	Baseline     string      `yaml:"baseline"`
	Gates        []GateSpec  `yaml:"gates"`
	Inconclusive string      `yaml:"inconclusive"`
	Metrics      MetricsSpec `yaml:"metrics"`
	// Funnel, Engagement and Returning model behaviour beyond the click
	// (docs/scenarios.md); Bands are the reference ranges the table and
	// the report place each variant in.
	Funnel     []string       `yaml:"funnel"`
	Engagement EngagementSpec `yaml:"engagement"`
	Returning  *ReturningSpec `yaml:"returning"`
	Bands      []BandSpec     `yaml:"bands"`
	Tolerance  ToleranceSpec  `yaml:"tolerance"`
	Output     OutputSpec     `yaml:"output"`
	// Conversation makes personas converse with the recommenders instead
	// of browsing slates.
	Conversation *ConversationSpec `yaml:"conversation"`
	doc          *config.Doc
	dir          string
	personaSrc   []personaFileRef
}

// CatalogSpec names exactly one catalog source.
type CatalogSpec struct {
	Synthetic    *catalog.SyntheticConfig `yaml:"synthetic"`
	File         string                   `yaml:"file"`
	MovieLens    string                   `yaml:"movielens"`
	Interactions string                   `yaml:"interactions"`
}

// PersonasSpec lists persona files and populations built from archetypes.
type PersonasSpec struct {
	Files      []string              `yaml:"files"`
	Inline     []personas.Spec       `yaml:"inline"`
	Population []personas.Population `yaml:"population"`
}

// BehaviourSpec picks the user model.
type BehaviourSpec struct {
	Model  string         `yaml:"model"`
	Params map[string]any `yaml:"params"`
}

// VariantSpec is one recommender under test.
type VariantSpec struct {
	Name        string         `yaml:"name"`
	Recommender string         `yaml:"recommender"`
	Params      map[string]any `yaml:"params"`
	Timeout     string         `yaml:"timeout"`
}

// JudgesSpec configures judging after the loop: the free grounding judge
// (on unless turned off) sees every explanation; the panel's judges see a
// stratified sample of Sample explanations per variant.
type JudgesSpec struct {
	Sample int `yaml:"sample"`
	// MinAgreement is the least Krippendorff's α, per judge and dimension,
	// that `recloop judges calibrate` accepts against human labels.
	MinAgreement float64 `yaml:"min_agreement"`
	// Pairwise compares every variant's explanations with the baseline's
	// (the first variant) where both explained the same item to the same
	// persona, blind and in both orders, with the first panel judge that can.
	Pairwise  bool        `yaml:"pairwise"`
	Rubric    string      `yaml:"rubric"`
	Grounding *bool       `yaml:"grounding"`
	Panel     []JudgeSpec `yaml:"panel"`
}

// JudgeSpec is one judge on the panel.
type JudgeSpec struct {
	Name   string         `yaml:"name"`
	Params map[string]any `yaml:"params"`
}

// GateSpec is one gate: a check line, optionally named. In YAML it is
// either the check itself or {name: ..., check: ...}.
type GateSpec struct {
	Name    string
	Check   string
	unknown []string
}

// UnmarshalYAML accepts a bare check or a {name, check} mapping.
func (g *GateSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		g.Check = n.Value
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return errors.New(`a gate is a check such as "ctr[b] >= 0.05" or {name: ..., check: ...}`)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch key, val := n.Content[i].Value, n.Content[i+1].Value; key {
		case "name":
			g.Name = val
		case "check":
			g.Check = val
		default:
			g.unknown = append(g.unknown, key)
		}
	}
	return nil
}

// MetricsSpec tunes metric computation.
type MetricsSpec struct {
	ColdMaxHistory  *int `yaml:"cold_max_history"`
	SerendipityTopN *int `yaml:"serendipity_top_n"`
	Bootstrap       *int `yaml:"bootstrap"`
}

// ToleranceSpec says how many infrastructure failures a run may have before
// it exits with code 3.
type ToleranceSpec struct {
	RecommenderErrorRate *float64 `yaml:"recommender_error_rate"`
}

// OutputSpec says where results go.
type OutputSpec struct {
	Dir          string `yaml:"dir"`
	Trajectories *bool  `yaml:"trajectories"`
	Report       *bool  `yaml:"report"`
	// Verdicts is compact (default: the grounding judge's passes are
	// counted per variant, round and segment) or full (one line each).
	Verdicts string `yaml:"verdicts"`
	// Compress is none (default), gzip or zstd: how trajectories and
	// verdicts are written.
	Compress string `yaml:"compress"`
}

// Verdict storage (output.verdicts).
const (
	VerdictsCompact = "compact"
	VerdictsFull    = "full"
)

type personaFileRef struct {
	path string
	data []byte
}

// Defaults used when a field is omitted.
const (
	DefaultRounds          = 20
	DefaultSlateSize       = 10
	DefaultBehaviour       = "utility"
	DefaultErrorTolerance  = 0.05
	DefaultVariantTimeout  = 5 * time.Second
	defaultOutputDirPrefix = "out"
)

var variantName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Load reads and checks a scenario file without building it. name may also
// be the name of a built-in scenario ("quickstart"). The returned scenario is
// non-nil whenever the YAML itself parsed, even if fields are wrong, so that
// Prepare can go on to find the catalog-dependent problems too.
func Load(name string) (*Scenario, config.Errors) {
	data, err := config.ReadFile(name, config.MaxYAMLBytes)
	switch {
	case err == nil:
		return Parse(name, data, dirOf(name))
	case !os.IsNotExist(err) || strings.ContainsAny(name, `/\.`):
		return nil, config.Errors{{File: name, Msg: fmt.Sprintf("cannot read scenario: %v (built-in scenarios: %s)", err, strings.Join(Builtins(), ", "))}}
	}
	data, err = builtin.ReadFile(name + ".yaml")
	if err != nil {
		return nil, config.Errors{{File: name, Msg: fmt.Sprintf("no file or built-in scenario of that name (built-in scenarios: %s)", strings.Join(Builtins(), ", "))}}
	}
	return Parse("builtin:"+name+".yaml", data, ".")
}

// Builtins lists the embedded scenarios.
func Builtins() []string {
	entries, _ := builtin.ReadDir(".")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// Builtin returns the YAML of an embedded scenario.
func Builtin(name string) ([]byte, bool) {
	data, err := builtin.ReadFile(name + ".yaml")
	return data, err == nil
}

func dirOf(file string) string {
	d := path.Dir(strings.ReplaceAll(file, `\`, "/"))
	if d == "" {
		return "."
	}
	return d
}

// Parse reads a scenario from bytes; relative paths in it resolve against
// dir. See Load for when the scenario is nil.
func Parse(file string, data []byte, dir string) (*Scenario, config.Errors) {
	s := &Scenario{dir: dir}
	s.doc = config.Parse(file, data, s)
	if s.doc.Root == nil {
		return nil, s.doc.Errors()
	}
	s.applyDefaults()
	s.validate()
	return s, s.doc.Errors()
}

// applyDefaults fills fields the YAML leaves out; a zero the user wrote
// stays, so that validation can reject it.
func (s *Scenario) applyDefaults() {
	if s.Rounds == 0 && !s.doc.Has("rounds") {
		s.Rounds = DefaultRounds
	}
	if s.SlateSize == 0 && !s.doc.Has("slate_size") {
		s.SlateSize = DefaultSlateSize
	}
	if s.Behaviour.Model == "" {
		s.Behaviour.Model = DefaultBehaviour
	}
	if s.Output.Dir == "" && s.Name != "" {
		s.Output.Dir = path.Join(defaultOutputDirPrefix, s.Name)
	}
}

// validate checks everything that does not need the catalog.
func (s *Scenario) validate() {
	d := s.doc
	if s.Version != 0 && s.Version != SchemaVersion {
		d.Add("version", "unsupported scenario version %d (this recloop reads version %d)", s.Version, SchemaVersion)
	}
	if s.Name == "" {
		d.Add("name", "is required")
	} else if !variantName.MatchString(s.Name) {
		d.Add("name", "must be letters, digits, '.', '_' or '-', got %q", s.Name)
	}
	if s.Rounds < 1 || s.Rounds > 100000 {
		d.Add("rounds", "must be between 1 and 100000, got %d", s.Rounds)
	}
	if s.SlateSize < 1 || s.SlateSize > 1000 {
		d.Add("slate_size", "must be between 1 and 1000, got %d", s.SlateSize)
	}
	if s.Replicates < 0 || s.Replicates > 100 {
		d.Add("replicates", "must be between 1 and 100 (plays of each persona), got %d", s.Replicates)
	}
	if s.Cells < 0 || s.Cells > 100000 {
		d.Add("cells", "must be between 1 and 100000 (independent worlds per variant), got %d", s.Cells)
	}
	if s.Concurrency < 0 {
		d.Add("concurrency", "must be ≥ 0 (0 means one per CPU), got %d", s.Concurrency)
	}
	s.checkEnvReferences()
	s.validateCatalog()
	s.validatePersonas()
	if spec, ok := personas.LookupBehaviour(s.Behaviour.Model); !ok {
		d.Add("behaviour.model", "unknown behaviour model %q (known: %s)", s.Behaviour.Model, strings.Join(personas.BehaviourNames(), ", "))
	} else {
		_, errs := spec.Resolve(d, "behaviour.params", s.Behaviour.Params)
		d.Append(errs...)
	}
	s.validateVariants()
	s.validateLLM()
	s.validateJudges()
	s.validateGates()
	s.validateOutcomes()
	s.validateConversation()
	if m := s.Metrics; m.ColdMaxHistory != nil && *m.ColdMaxHistory < 0 {
		d.Add("metrics.cold_max_history", "must be ≥ 0")
	}
	if m := s.Metrics; m.SerendipityTopN != nil && *m.SerendipityTopN < 0 {
		d.Add("metrics.serendipity_top_n", "must be ≥ 0")
	}
	if m := s.Metrics; m.Bootstrap != nil && (*m.Bootstrap < 0 || *m.Bootstrap > 1000000) {
		d.Add("metrics.bootstrap", "must be between 0 and 1000000")
	}
	if c := s.Output.Compress; c != "" && !slices.Contains(trajectory.Compressions, c) {
		d.Add("output.compress", "must be one of %s, got %q", strings.Join(trajectory.Compressions, ", "), c)
	}
	if v := s.Output.Verdicts; v != "" && v != VerdictsCompact && v != VerdictsFull {
		d.Add("output.verdicts", "must be %s or %s, got %q", VerdictsCompact, VerdictsFull, v)
	}
	if t := s.Tolerance.RecommenderErrorRate; t != nil && (*t < 0 || *t > 1) {
		d.Add("tolerance.recommender_error_rate", "must be between 0 and 1, got %g", *t)
	}
}

func (s *Scenario) validateCatalog() {
	c := s.Catalog
	sources := 0
	for _, set := range []bool{c.Synthetic != nil, c.File != "", c.MovieLens != ""} {
		if set {
			sources++
		}
	}
	switch {
	case sources == 0:
		s.doc.Add("catalog", "name one source: synthetic, file or movielens")
	case sources > 1:
		s.doc.Add("catalog", "name only one source: synthetic, file or movielens")
	}
	if c.Synthetic != nil {
		for _, e := range config.As(c.Synthetic.WithDefaults().Validate()) {
			s.doc.Add(config.Join("catalog.synthetic", e.Field), "%s", e.Msg)
		}
	}
	if c.Interactions != "" && c.MovieLens != "" {
		s.doc.Add("catalog.interactions", "movielens already brings its ratings; drop interactions")
	}
}

func (s *Scenario) validatePersonas() {
	p := s.Personas
	if len(p.Files) == 0 && len(p.Inline) == 0 && len(p.Population) == 0 {
		s.doc.Add("personas", "name persona files, inline personas or a population")
	}
	for i, pop := range p.Population {
		if pop.JoinRound < 0 || pop.JoinRound >= s.Rounds {
			s.doc.Add(config.Join(config.Index("personas.population", i), "join_round"), "must be between 0 and rounds-1 (%d), got %d", s.Rounds-1, pop.JoinRound)
		}
	}
	for i, f := range p.Files {
		data, err := config.ReadFile(s.resolve(f), config.MaxYAMLBytes)
		if err != nil {
			s.doc.Add(config.Index("personas.files", i), "cannot read persona file: %v", err)
			continue
		}
		s.personaSrc = append(s.personaSrc, personaFileRef{path: s.resolve(f), data: data})
	}
}

func (s *Scenario) validateVariants() {
	if len(s.Variants) == 0 {
		s.doc.Add("variants", "name at least one variant")
	}
	seen := map[string]bool{}
	for i, v := range s.Variants {
		at := config.Index("variants", i)
		switch {
		case v.Name == "":
			s.doc.Add(config.Join(at, "name"), "is required")
		case !variantName.MatchString(v.Name):
			s.doc.Add(config.Join(at, "name"), "must be letters, digits, '.', '_' or '-', got %q", v.Name)
		case seen[v.Name]:
			s.doc.Add(config.Join(at, "name"), "variant %q is named twice", v.Name)
		}
		seen[v.Name] = true
		if err := recommenders.Check(v.Recommender); err != nil {
			s.doc.Add(config.Join(at, "recommender"), "%s", strings.TrimPrefix(err.Error(), "recommenders: "))
		} else {
			_, errs := recommenders.Resolve(s.doc, config.Join(at, "params"), v.Recommender, v.Params)
			s.doc.Append(errs...)
		}
		if v.Timeout != "" {
			if d, err := time.ParseDuration(v.Timeout); err != nil || d <= 0 {
				s.doc.Add(config.Join(at, "timeout"), "must be a positive duration such as 500ms or 2s, got %q", v.Timeout)
			}
		}
	}
}

// resolve makes a path from the scenario relative to the working directory.
func (s *Scenario) resolve(p string) string {
	if path.IsAbs(p) || s.dir == "." {
		return p
	}
	return path.Join(s.dir, p)
}

// File is the scenario's file name.
func (s *Scenario) File() string { return s.doc.File }

// ErrorTolerance is the recommender error rate above which the run fails
// with exit code 3.
func (s *Scenario) ErrorTolerance() float64 {
	if s.Tolerance.RecommenderErrorRate != nil {
		return *s.Tolerance.RecommenderErrorRate
	}
	return DefaultErrorTolerance
}

// WriteTrajectories reports whether trajectories.jsonl is written (default yes).
func (s *Scenario) WriteTrajectories() bool {
	return s.Output.Trajectories == nil || *s.Output.Trajectories
}

// Compression is how the run's event files are written.
func (s *Scenario) Compression() string {
	if s.Output.Compress == "" {
		return trajectory.CompressNone
	}
	return s.Output.Compress
}

// FullVerdicts reports whether every grounding verdict is written out one
// by one (output.verdicts: full) rather than its passes as counts.
func (s *Scenario) FullVerdicts() bool { return s.Output.Verdicts == VerdictsFull }

// WriteReport reports whether report.html is written (default yes).
func (s *Scenario) WriteReport() bool { return s.Output.Report == nil || *s.Output.Report }

func (s *Scenario) validateLLM() {
	if s.LLM == nil {
		return
	}
	keyEnv := s.LLM.WithDefaults().APIKeyEnv
	for _, f := range []struct {
		name string
		v    *string
	}{{"base_url", &s.LLM.BaseURL}, {"model", &s.LLM.Model}} {
		v, err := expandEnv(*f.v, keyEnv)
		if err != nil {
			s.doc.Add(config.Join("llm", f.name), "%v", err)
			return
		}
		*f.v = v
	}
	err := s.LLM.Validate()
	var fields []error
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		fields = joined.Unwrap()
	} else if err != nil {
		fields = []error{err}
	}
	for _, e := range fields {
		var fe *llm.FieldError
		if errors.As(e, &fe) {
			s.doc.Add(config.Join("llm", fe.Field), "%s", fe.Msg)
		} else {
			s.doc.Add("llm", "%v", e)
		}
	}
}

func (s *Scenario) validateJudges() {
	j := s.Judges
	if j.MinAgreement < -1 || j.MinAgreement > 1 {
		s.doc.Add("judges.min_agreement", "must be between -1 and 1 (Krippendorff's α), got %g", j.MinAgreement)
	}
	if j.Sample < 0 {
		s.doc.Add("judges.sample", "must be ≥ 0 (0 means %d), got %d", 200, j.Sample)
	}
	for i, js := range j.Panel {
		at := config.Index("judges.panel", i)
		spec, ok := judges.Lookup(js.Name)
		if !ok {
			s.doc.Add(config.Join(at, "name"), "unknown judge %q (known: %s)", js.Name, strings.Join(judges.Names(), ", "))
			continue
		}
		_, errs := spec.Resolve(s.doc, config.Join(at, "params"), js.Params)
		s.doc.Append(errs...)
	}
	if j.Pairwise && len(j.Panel) == 0 {
		s.doc.Add("judges.pairwise", "needs a judge on the panel (for example {name: llm})")
	}
	if j.Rubric != "" {
		if _, errs := judges.LoadRubric(s.resolve(j.Rubric)); len(errs) > 0 {
			s.doc.Append(errs...)
		}
	}
}

// GroundingOn reports whether the grounding judge runs (default yes).
func (s *Scenario) GroundingOn() bool { return s.Judges.Grounding == nil || *s.Judges.Grounding }

func (s *Scenario) validateGates() {
	names := map[string]bool{}
	for _, v := range s.Variants {
		names[v.Name] = true
	}
	if s.Baseline != "" && !names[s.Baseline] {
		s.doc.Add("baseline", "%q is not a variant of this scenario", s.Baseline)
	}
	switch s.Inconclusive {
	case "", "fail", "pass":
	default:
		s.doc.Add("inconclusive", "must be fail or pass, got %q", s.Inconclusive)
	}
	for i, gs := range s.Gates {
		at := config.Index("gates", i)
		for _, k := range gs.unknown {
			s.doc.Add(config.Join(at, k), "unknown field (a gate has name and check)")
		}
		g, err := metrics.ParseGate(gs.Name, gs.Check)
		if err != nil {
			s.doc.Add(at, "%v", err)
			continue
		}
		switch {
		case g.Variant != "*" && !names[g.Variant]:
			s.doc.Add(at, "%q is not a variant of this scenario", g.Variant)
		case g.VsBaseline && s.Baseline == "":
			s.doc.Add(at, "compares with the baseline, but the scenario names no baseline:")
		case g.VsBaseline && g.Variant == s.Baseline:
			s.doc.Add(at, "compares the baseline with itself")
		}
		if !metrics.GateMetricKnown(g.Metric) {
			s.doc.Add(at, "unknown metric %q (see docs/metrics.md and docs/ci.md)", g.Metric)
		}
	}
}

// Gates are the scenario's gates, parsed (validation already checked them).
func (s *Scenario) ParsedGates() []metrics.Gate {
	var out []metrics.Gate
	for _, gs := range s.Gates {
		if g, err := metrics.ParseGate(gs.Name, gs.Check); err == nil {
			out = append(out, g)
		}
	}
	return out
}

// InconclusiveFails reports whether an inconclusive gate fails the run.
func (s *Scenario) InconclusiveFails() bool { return s.Inconclusive != "pass" }
