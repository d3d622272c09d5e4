package scenarios

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/internal/rng"
	"github.com/recloop/recloop/judges"
	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/personas"
	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/simulator"
)

// Plan is a validated scenario with everything built: ready to simulate.
type Plan struct {
	Scenario *Scenario
	// LLM is the language-model client, nil when the scenario has no llm: block.
	LLM          *llm.Stack
	Catalog      *catalog.Catalog
	Interactions []catalog.Interaction
	States       []*personas.State
	Behaviour    personas.Behaviour
	Variants     []simulator.Variant
	Metrics      metrics.Config
	// Judges is the panel that scores explanations after the loop.
	Judges []judges.Panelist
	// ChatUser plays the personas of a conversational scenario (nil for
	// a slate scenario).
	ChatUser  personas.ChatUser
	judge     personas.Relevance
	titles    *catalog.TitleIndex
	userModel string
	built     [][]recommenders.Recommender
	log       *slog.Logger
}

// Options override parts of a scenario from the command line.
type Options struct {
	// CacheMode replaces llm.cache.mode (readwrite, replay or off).
	CacheMode string
	// Rubric replaces judges.rubric (a path relative to the working directory).
	Rubric string
	// UserModel replaces conversation.user_model: the language model
	// that plays llm users.
	UserModel string
	// Logger receives the warnings of building and of everything built: the
	// LLM client, recommenders, the simulator's and the judges'
	// configurations. Nil discards them.
	Logger *slog.Logger
}

// Prepare loads a scenario and builds it, reporting every problem it can
// find in one go: the scenario's own fields, the catalog, and the personas
// checked against the catalog. Nothing is simulated. ctx bounds the build:
// external recommenders are started or contacted for the first world.
func Prepare(ctx context.Context, name string, opts Options) (*Plan, error) {
	s, errs := Load(name)
	if s == nil {
		return nil, errs.Err()
	}
	if opts.Rubric != "" {
		abs, err := filepath.Abs(opts.Rubric)
		if err != nil {
			return nil, err
		}
		s.Judges.Rubric = abs
		if _, rerrs := judges.LoadRubric(abs); len(rerrs) > 0 {
			errs = append(errs, rerrs...)
		}
	}
	if opts.CacheMode != "" {
		if s.LLM == nil {
			errs = append(errs, &config.Error{File: s.doc.File, Field: "llm", Msg: "--cache needs an llm: block in the scenario"})
		} else {
			s.LLM.Cache.Mode = opts.CacheMode
			s.validateLLMCacheMode(&errs)
		}
	}
	if opts.UserModel != "" {
		if c := s.Conversation; c == nil || c.User != UserLLM {
			errs = append(errs, &config.Error{File: s.doc.File, Field: "--user-model", Msg: "--user-model needs a conversational scenario whose users are played by an LLM (conversation: {user: llm})"})
		} else {
			c.UserModel = opts.UserModel
		}
	}
	return s.build(ctx, errs, opts.Logger)
}

func (s *Scenario) validateLLMCacheMode(errs *config.Errors) {
	switch s.LLM.Cache.Mode {
	case llm.CacheReadWrite, llm.CacheReplay, llm.CacheOff:
	default:
		*errs = append(*errs, &config.Error{Field: "--cache", Msg: fmt.Sprintf("unknown cache mode %q (want readwrite, replay or off)", s.LLM.Cache.Mode)})
	}
}

// build builds a plan whose parts log to log (nil: nowhere).
func (s *Scenario) build(ctx context.Context, errs config.Errors, log *slog.Logger) (*Plan, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Plan{Scenario: s, log: log}
	all, perrs := s.expandPersonas()
	errs = append(errs, perrs...)
	errs = append(errs, s.checkSize(len(all))...)
	if s.catalogUsable(errs) {
		cat, log, err := s.loadCatalog()
		if err != nil {
			errs = append(errs, asErrors(err)...)
		} else {
			p.Catalog, p.Interactions = cat, log
			if dropped := personas.Adapt(all, cat); len(dropped) > 0 {
				p.log.Warn("built-in personas: ignoring interests this catalog does not have",
					"count", len(dropped), "names", strings.Join(dropped, ", "))
			}
			if verrs := personas.Validate(all, cat, s.Rounds); len(verrs) > 0 {
				errs = append(errs, verrs...)
			} else if len(errs) == 0 {
				errs = append(errs, s.buildPersonas(p, all)...)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs.Err()
	}
	env := personas.BehaviourEnv{Catalog: p.Catalog, Seed: s.Seed, Dir: s.dir, Engagement: s.engagement()}
	if s.LLM != nil {
		stack, err := llm.New(*s.LLM, llm.WithLogger(p.log))
		if err != nil {
			return nil, s.located("llm", err)
		}
		p.LLM, env.LLM = stack, stack
	}
	params, err := s.behaviourParams()
	if err != nil {
		return nil, err
	}
	if p.Behaviour, err = personas.NewBehaviour(s.Behaviour.Model, env, params); err != nil {
		if errors.Is(err, personas.ErrTasteModel) || errors.Is(err, fs.ErrNotExist) {
			return nil, s.located("behaviour.params.taste_model", err)
		}
		return nil, s.located("behaviour", err)
	}
	if s.Conversational() {
		if err := s.buildConversation(p, env); err != nil {
			return nil, err
		}
	}
	for i := range s.Variants {
		variant, err := s.variant(ctx, p, i)
		if err != nil {
			p.Close()
			return nil, err
		}
		p.Variants = append(p.Variants, variant)
	}
	p.Metrics = s.metricsConfig()
	if err := s.buildJudges(p); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// behaviourParams resolves the behaviour's parameters. validate has
// reported every problem with them already, so an error here is one that
// slipped past it; it is returned, located, all the same.
func (s *Scenario) behaviourParams() (config.Params, error) {
	spec, ok := personas.LookupBehaviour(s.Behaviour.Model)
	if !ok {
		return nil, s.errorAt("behaviour.model", "unknown behaviour model %q", s.Behaviour.Model)
	}
	params, errs := spec.Resolve(s.doc, "behaviour.params", s.Behaviour.Params)
	return params, errs.Err()
}

func (s *Scenario) buildJudges(p *Plan) error {
	rubric := judges.DefaultRubric()
	if s.Judges.Rubric != "" {
		extra, errs := judges.LoadRubric(s.resolve(s.Judges.Rubric))
		if len(errs) > 0 {
			return errs.Err()
		}
		rubric = rubric.Merge(extra)
	}
	env := judges.Env{Catalog: p.Catalog, Rubric: rubric, Seed: s.Seed, Dir: s.dir}
	if p.LLM != nil {
		env.LLM = p.LLM
	}
	if s.GroundingOn() {
		j, err := judges.New("grounding", env, nil)
		if err != nil {
			return s.located("judges", err)
		}
		p.Judges = append(p.Judges, judges.Panelist{Name: "grounding", Judge: j})
	}
	for i, js := range s.Judges.Panel {
		at := config.Index("judges.panel", i)
		// validate checked the name and the parameters; errors that slip
		// past it are still returned, located.
		spec, ok := judges.Lookup(js.Name)
		if !ok {
			return s.errorAt(config.Join(at, "name"), "unknown judge %q", js.Name)
		}
		params, errs := spec.Resolve(s.doc, config.Join(at, "params"), js.Params)
		if err := errs.Err(); err != nil {
			return err
		}
		j, err := judges.New(js.Name, env, params)
		if err != nil {
			return s.located(at, err)
		}
		p.Judges = append(p.Judges, judges.Panelist{Name: js.Name, Judge: j, Sampled: true})
	}
	return nil
}

// JudgeConfig is the judging pass's configuration for this scenario.
func (p *Plan) JudgeConfig(concurrency int) judges.RunConfig {
	return judges.RunConfig{Sample: p.Scenario.Judges.Sample, Seed: p.Scenario.Seed, Concurrency: concurrency, Stop: StopsTheRun,
		Logger: p.log}
}

// catalogUsable reports whether the catalog section is sound enough to load.
func (s *Scenario) catalogUsable(errs config.Errors) bool {
	for _, e := range errs {
		if e.File == s.doc.File && strings.HasPrefix(e.Field, "catalog") {
			return false
		}
	}
	return true
}

func asErrors(err error) config.Errors {
	if es := config.As(err); len(es) > 0 {
		return es
	}
	return config.Errors{{Msg: err.Error()}}
}

// variant builds variant i's recommender for its first world at once, so
// that a bad configuration is reported before anything runs; every further
// world (cell or replicate) gets a fresh instance with a seed of its own.
// Errors are located in the scenario. validate has checked the parameters
// and the timeout; errors that slip past it are still returned, located.
func (s *Scenario) variant(ctx context.Context, p *Plan, i int) (simulator.Variant, error) {
	v := s.Variants[i]
	at := config.Index("variants", i)
	params, errs := recommenders.Resolve(s.doc, config.Join(at, "params"), v.Recommender, v.Params)
	if err := errs.Err(); err != nil {
		return simulator.Variant{}, err
	}
	timeout := DefaultVariantTimeout
	if v.Timeout != "" {
		var err error
		if timeout, err = time.ParseDuration(v.Timeout); err != nil {
			return simulator.Variant{}, s.located(config.Join(at, "timeout"), err)
		}
	}
	env := recommenders.Env{Catalog: p.Catalog, Interactions: p.Interactions, Seed: rng.Key(s.Seed, rng.StringKey(v.Name), rng.PurposeRecommender), Variant: v.Name, Dir: s.dir,
		Logger: p.log}
	if p.LLM != nil {
		env.LLM = p.LLM
	}
	first, err := recommenders.New(ctx, v.Recommender, env, params)
	if err != nil {
		return simulator.Variant{}, s.located(config.Join(at, "recommender"), err)
	}
	p.track(i, first)
	if err := s.checkConverses(i, first); err != nil {
		return simulator.Variant{}, err
	}
	var firstUsed bool
	build := func(ctx context.Context, at simulator.World) (recommenders.Recommender, error) {
		if at == (simulator.World{}) && !firstUsed {
			firstUsed = true
			return first, nil
		}
		worldEnv := env
		worldEnv.Seed = rng.Key(env.Seed, uint64(at.Cell), uint64(at.Replicate))
		r, err := recommenders.New(ctx, v.Recommender, worldEnv, params)
		if err == nil {
			p.track(i, r)
		}
		return r, err
	}
	return simulator.Variant{Name: v.Name, Recommender: v.Recommender, New: build, Timeout: timeout}, nil
}

func (p *Plan) track(variant int, r recommenders.Recommender) {
	for len(p.built) <= variant {
		p.built = append(p.built, nil)
	}
	p.built[variant] = append(p.built[variant], r)
}

// Recommenders lists every recommender built for variant i (one per world
// the run has played so far, at least one).
func (p *Plan) Recommenders(variant int) []recommenders.Recommender {
	if variant >= len(p.built) {
		return nil
	}
	return p.built[variant]
}

// Close releases recommenders that hold resources.
func (p *Plan) Close() error {
	var errs []error
	for _, rs := range p.built {
		for _, r := range rs {
			if c, ok := r.(recommenders.Closer); ok {
				errs = append(errs, c.Close())
			}
		}
	}
	p.built = nil
	return errors.Join(errs...)
}

func (s *Scenario) located(path string, err error) *config.Error {
	return s.errorAt(path, "%v", err)
}

func (s *Scenario) errorAt(path, format string, args ...any) *config.Error {
	line, col := s.doc.Line(path)
	return &config.Error{File: s.doc.File, Line: line, Column: col, Field: path, Msg: fmt.Sprintf(format, args...)}
}

func (s *Scenario) loadCatalog() (*catalog.Catalog, []catalog.Interaction, error) {
	c := s.Catalog
	var (
		cat *catalog.Catalog
		log []catalog.Interaction
		err error
		at  string
	)
	switch {
	case c.Synthetic != nil:
		at = "catalog.synthetic"
		cfg := c.Synthetic.WithDefaults()
		if cfg.Seed == 0 {
			cfg.Seed = rng.Key(s.Seed, rng.PurposeCatalog)
		}
		cat, err = catalog.Synthetic(cfg)
	case c.File != "":
		at = "catalog.file"
		cat, err = catalog.Load(s.resolve(c.File))
	case c.MovieLens != "":
		at = "catalog.movielens"
		cat, log, err = catalog.LoadMovieLens(s.resolve(c.MovieLens))
	}
	if err != nil {
		return nil, nil, s.wrapFileError(at, err)
	}
	if c.Interactions != "" {
		if log, err = catalog.LoadInteractions(s.resolve(c.Interactions)); err != nil {
			return nil, nil, s.wrapFileError("catalog.interactions", err)
		}
		if err := checkInteractions(cat, log); err != nil {
			return nil, nil, s.located("catalog.interactions", err)
		}
	}
	return cat, log, nil
}

// wrapFileError keeps located errors from the loaded file as they are (they
// name that file's lines) and locates anything else at the scenario field.
func (s *Scenario) wrapFileError(at string, err error) error {
	if es := config.As(err); len(es) > 0 && es[0].File != "" {
		return err
	}
	return s.located(at, err)
}

func checkInteractions(cat *catalog.Catalog, log []catalog.Interaction) error {
	unknown := 0
	first := ""
	for _, in := range log {
		if _, ok := cat.Index(in.Item); !ok {
			if unknown == 0 {
				first = in.Item
			}
			unknown++
		}
	}
	if unknown > 0 {
		return fmt.Errorf("%d interactions name items that are not in the catalog (first: %q)", unknown, first)
	}
	return nil
}

// expandPersonas parses the persona files and expands the populations; it
// needs no catalog, so its problems are found even when the catalog is bad.
func (s *Scenario) expandPersonas() ([]personas.Persona, config.Errors) {
	fromFiles, errs := personas.FromSpecs(s.doc, "personas.inline", s.Personas.Inline)
	for _, f := range s.personaSrc {
		ps, perrs := personas.Parse(f.path, f.data)
		errs = append(errs, perrs...)
		fromFiles = append(fromFiles, ps...)
	}
	library, err := personas.Library()
	if err != nil {
		return nil, append(errs, &config.Error{Msg: err.Error()})
	}
	archetypes := append(append([]personas.Persona{}, fromFiles...), library...)
	members, err := personas.Expand(s.Personas.Population, archetypes, s.Seed)
	if err != nil {
		for _, e := range asErrors(err) {
			if rest, ok := strings.CutPrefix(e.Field, "populations"); ok {
				errs = append(errs, s.errorAt("personas.population"+rest, "%s", e.Msg))
			} else {
				errs = append(errs, s.located("personas.population", e))
			}
		}
	}
	return append(fromFiles, members...), errs
}

// checkSize holds the scenario to the limits on personas and on persona
// states (personas × replicates × variants), before any state is built.
func (s *Scenario) checkSize(personaCount int) config.Errors {
	if personaCount > config.MaxPersonas {
		return config.Errors{s.errorAt("personas", "has %d personas, above the limit of %d", personaCount, config.MaxPersonas)}
	}
	plays := personaCount * max(1, s.Replicates) * max(1, len(s.Variants))
	if plays > config.MaxPlays {
		at := "personas"
		if s.Replicates > 1 {
			at = "replicates"
		}
		return config.Errors{s.errorAt(at, "%d personas × %d replicates × %d variants make %d persona states, above the limit of %d",
			personaCount, max(1, s.Replicates), max(1, len(s.Variants)), plays, config.MaxPlays)}
	}
	return nil
}

// buildPersonas builds the personas' starting states.
func (s *Scenario) buildPersonas(p *Plan, all []personas.Persona) config.Errors {
	states, err := personas.Build(all, p.Catalog, s.Seed)
	if err != nil {
		return config.Errors{s.located("personas", err)}
	}
	if s.Cells > len(states) {
		return config.Errors{s.errorAt("cells", "asks for %d cells but the scenario has only %d personas", s.Cells, len(states))}
	}
	for i, st := range states {
		st.Persona.Cell = i % max(1, s.Cells)
	}
	p.States = personas.Replicate(states, s.Replicates, s.Seed)
	return nil
}

func (s *Scenario) metricsConfig() metrics.Config {
	cfg := metrics.Config{Seed: s.Seed, Baseline: s.Baseline}
	if m := s.Metrics.ColdMaxHistory; m != nil {
		// metrics.Config reads 0 as "default"; a negative value means 0.
		cfg.ColdMaxHistory = *m
		if *m == 0 {
			cfg.ColdMaxHistory = -1
		}
	}
	if m := s.Metrics.SerendipityTopN; m != nil {
		cfg.SerendipityTopN = *m
	}
	if m := s.Metrics.Bootstrap; m != nil {
		cfg.Bootstrap = *m
	}
	cfg.OutcomeWeights = s.outcomeWeights()
	return cfg.WithDefaults()
}

// OutputDir is where results go, relative to the working directory.
func (s *Scenario) OutputDir() string { return filepath.FromSlash(s.Output.Dir) }

// SimulatorConfig is the loop's configuration for this scenario.
func (p *Plan) SimulatorConfig(concurrency int, tool string) simulator.Config {
	if concurrency <= 0 {
		concurrency = p.Scenario.Concurrency
	}
	return simulator.Config{
		Scenario: p.Scenario.Name, Seed: p.Scenario.Seed, Rounds: p.Scenario.Rounds, SlateSize: p.Scenario.SlateSize,
		Concurrency: concurrency, Behaviour: p.Behaviour, BehaviourName: p.Scenario.Behaviour.Model, Tool: tool,
		Fatal: StopsTheRun, Funnel: p.Scenario.Funnel, Returning: p.Scenario.returning(), Logger: p.log,
		Conversation: p.conversation(),
	}
}

// StopsTheRun picks the errors after which no further persona can be
// played: the budget is spent, a replay missed, the endpoint refuses the
// account, cannot be reached, answers 404, or has failed too many calls in a
// row. Anything else (a malformed answer) is recorded and the run goes on.
func StopsTheRun(err error) bool {
	return llm.Fatal(err)
}
