// Package export turns a run's trajectories into the events of the
// analytics tools teams already use (Segment, Amplitude, Mixpanel, a
// Parquet warehouse layout). Convert streams trajectory events into one
// neutral Event at a time; each format maps Events to its own conventions.
// Every Event says it is synthetic and which run, variant and world made it.
package export

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/recloop/recloop/internal/rng"
	"github.com/recloop/recloop/trajectory"
)

// Event names. Slates use Segment's ecommerce v2 names; what ecommerce has
// no name for gets one name per kind, never an id in a name.
const (
	ExperimentViewed = "Experiment Viewed"
	ListViewed       = "Product List Viewed"
	ProductClicked   = "Product Clicked"
	ProductsSearched = "Products Searched"
	ItemRated        = "Item Rated"
	SessionExited    = "Session Exited"
	UserReturned     = "User Returned"
	MessageSent      = "Chat Message Sent"
	MessageReceived  = "Chat Message Received"
)

// stageNames are the ecommerce and media names of well-known funnel
// stages; any other stage is "<Stage> Reached".
var stageNames = map[string]string{
	"play": "Item Played", "complete": "Item Completed", "add_to_cart": "Product Added",
	"purchase": "Order Completed", "checkout": "Checkout Started",
}

// StageEvent is the event name of reaching a funnel stage after the click.
func StageEvent(stage string) string {
	if n, ok := stageNames[stage]; ok {
		return n
	}
	words := strings.FieldsFunc(stage, func(r rune) bool { return r == '_' || r == '-' || r == '.' || unicode.IsSpace(r) })
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ") + " Reached"
}

// Event is one analytics event in a neutral shape.
type Event struct {
	// ID is stable across reruns and re-exports: a hash of the run seed,
	// variant, replicate, cell, persona, round, step, event name and
	// position. It is the messageId, insert_id and $insert_id.
	ID     string
	Name   string
	UserID string
	Time   time.Time
	// RoundStart is the time of the event's round: a persona's visit, the
	// session of the tools that have them.
	RoundStart time.Time

	// Where the event comes from. Every event is synthetic.
	RunID     string
	Scenario  string
	Variant   string
	Cell      int
	Replicate int
	Round     int
	// Step is the event's step within the round: 0 for a slate, the turn
	// index in a conversation.
	Step     int
	Segments []string

	// RecommendationID names the slate or reply the event is about, and
	// Impressions lists its items in order.
	RecommendationID string
	Impressions      []string

	// ListID is the list a product was shown in: "<variant>/<surface>".
	ListID   string
	Products []Product // Product List Viewed
	Product  *Product  // Product Clicked, stage events, Item Rated
	Query    string    // Products Searched
	Stage    string    // stage events: the funnel stage's name
	Rating   float64   // Item Rated
	Text     string    // chat messages
	Act      string    // a user's dialogue act
}

// Product is one recommended item as an analytics event shows it.
type Product struct {
	ProductID   string
	Position    int // 1-based
	Score       float64
	Explanation string
	Name        string
	Category    string
}

// Options shape the export.
type Options struct {
	// Start is the time of round 0; round r is Start + r × RoundEvery.
	Start      time.Time
	RoundEvery time.Duration
	// Item names an item and its first category, when the catalog is at
	// hand (nil: products carry their ids only).
	Item func(id string) (name, category string)
}

// Surfaces of the lists recloop shows.
const (
	SurfaceSlate = "recommendations"
	SurfaceChat  = "chat"
)

// ErrPartial is returned for a trajectory file without its run_end: a
// killed run, which would export as a truncated history.
var ErrPartial = errors.New("export: the run is partial (no run_end event)")

// Convert reads a run's trajectories and calls emit with each analytics
// event, in trajectory order. It holds one persona table and the events of
// one step, never the run.
func Convert(r io.Reader, opts Options, emit func(*Event) error) error {
	if opts.RoundEvery <= 0 {
		return errors.New("export: the time between rounds must be positive")
	}
	c := converter{opts: opts, emit: emit, personas: map[string]*personaInfo{}, seen: map[seenKey]int{}}
	rd := trajectory.NewReader(r)
	for {
		ev, err := rd.Next()
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, trajectory.ErrTruncated):
			if !c.ended {
				return ErrPartial
			}
			return nil
		case err != nil:
			return fmt.Errorf("export: %w", err)
		}
		if err := c.event(ev); err != nil {
			return err
		}
	}
}

type personaInfo struct {
	segments        []string
	cell, replicate int
}

type seenKey struct{ variant, persona string }

type converter struct {
	opts     Options
	emit     func(*Event) error
	run      *trajectory.RunInfo
	runID    string
	ended    bool
	personas map[string]*personaInfo
	// seen holds, per variant and persona, the last round it was active,
	// plus one: 0 means never seen.
	seen map[seenKey]int
	// sequence numbers the events of the current step.
	sequence int
	// proposals is the current dialogue's last list of proposals, which
	// a user's acceptance clicks in.
	proposals *Event
}

func (c *converter) event(ev *trajectory.Event) error {
	switch ev.Kind {
	case trajectory.KindRun:
		if ev.Run.Shard != nil {
			return fmt.Errorf("export: this is shard %d/%d of a run; merge the shards first (recloop merge)", ev.Run.Shard.Index, ev.Run.Shard.Count)
		}
		c.run = ev.Run
		c.runID = RunID(ev.Run)
	case trajectory.KindPersona:
		p := &personaInfo{}
		if pr := ev.Profile; pr != nil {
			p.segments, p.cell = pr.Segments, pr.Cell
		}
		if _, k, ok := strings.Cut(ev.Persona, "~r"); ok {
			p.replicate, _ = strconv.Atoi(k)
		}
		c.personas[ev.Persona] = p
	case trajectory.KindStep:
		return c.step(ev)
	case trajectory.KindTurn:
		return c.turn(ev)
	case trajectory.KindRunEnd:
		c.ended = true
	}
	return nil
}

// RunID names a run the same way every time it is exported or rerun: a
// hash of its scenario, seed, variants and population.
func RunID(run *trajectory.RunInfo) string {
	parts := []uint64{run.Seed, rng.StringKey(run.Scenario), uint64(run.Personas), uint64(run.Rounds), uint64(run.Items)}
	for _, v := range run.Variants {
		parts = append(parts, rng.StringKey(v.Name), rng.StringKey(v.Recommender))
	}
	return hexKey(rng.Key(parts...))
}

func hexKey(k uint64) string {
	var b [8]byte
	for i := range b {
		b[i] = byte(k >> (56 - 8*i))
	}
	return hex.EncodeToString(b[:])
}

// base starts an event of the given name for ev's persona, numbered within
// its step.
func (c *converter) base(ev *trajectory.Event, step int, name string) *Event {
	p := c.personas[ev.Persona]
	if p == nil {
		p = &personaInfo{}
	}
	seq := c.sequence
	c.sequence++
	id := rng.Key(c.run.Seed, rng.StringKey(ev.Variant), uint64(p.replicate), uint64(p.cell), rng.StringKey(ev.Persona),
		uint64(ev.Round), uint64(step), rng.StringKey(name), uint64(seq))
	round := c.opts.Start.Add(time.Duration(ev.Round) * c.opts.RoundEvery)
	return &Event{
		ID: hexKey(id) + hexKey(rng.Mix(id)), Name: name, UserID: ev.Persona,
		Time: round.Add(time.Duration(step)*time.Second + time.Duration(seq)*time.Millisecond), RoundStart: round,
		RunID: c.runID, Scenario: c.run.Scenario, Variant: ev.Variant, Cell: p.cell, Replicate: p.replicate,
		Round: ev.Round, Step: step, Segments: p.segments,
	}
}

// arrive emits what a persona's first appearance in a round says: the
// variant it was assigned (its first ever) or its coming back after a gap.
func (c *converter) arrive(ev *trajectory.Event) error {
	key := seenKey{ev.Variant, ev.Persona}
	last := c.seen[key]
	c.seen[key] = ev.Round + 1
	switch {
	case last == 0:
		return c.emit(c.base(ev, 0, ExperimentViewed))
	case last < ev.Round:
		return c.emit(c.base(ev, 0, UserReturned))
	}
	return nil
}

func (c *converter) product(id string, position int, score float64, explanation string) Product {
	p := Product{ProductID: id, Position: position, Score: score, Explanation: explanation}
	if c.opts.Item != nil {
		p.Name, p.Category = c.opts.Item(id)
	}
	return p
}

func (c *converter) step(ev *trajectory.Event) error {
	c.sequence = 0
	if err := c.arrive(ev); err != nil {
		return err
	}
	st := ev.Step
	if st.Error != nil && len(st.Slate) == 0 {
		return nil
	}
	list := c.base(ev, 0, ListViewed)
	list.RecommendationID = list.ID
	list.ListID = ev.Variant + "/" + SurfaceSlate
	for k, sh := range st.Slate {
		list.Impressions = append(list.Impressions, sh.Item)
		list.Products = append(list.Products, c.product(sh.Item, k+1, sh.Score, sh.Explanation))
	}
	if err := c.emit(list); err != nil {
		return err
	}
	for k := range st.Slate {
		if err := c.shown(ev, list, k); err != nil {
			return err
		}
	}
	if st.Query != "" {
		e := c.withList(c.base(ev, 0, ProductsSearched), list)
		e.Query = st.Query
		if err := c.emit(e); err != nil {
			return err
		}
	}
	if st.Exited {
		return c.emit(c.withList(c.base(ev, 0, SessionExited), list))
	}
	return nil
}

// withList ties an event to the list it follows.
func (c *converter) withList(e, list *Event) *Event {
	e.RecommendationID, e.Impressions, e.ListID = list.RecommendationID, list.Impressions, list.ListID
	return e
}

// shown emits what the persona did with slot k: the click, the funnel
// stages after it, the rating.
func (c *converter) shown(ev *trajectory.Event, list *Event, k int) error {
	sh := ev.Step.Slate[k]
	if !sh.Clicked {
		return nil
	}
	prod := list.Products[k]
	click := c.withList(c.base(ev, 0, ProductClicked), list)
	click.Product = &prod
	if err := c.emit(click); err != nil {
		return err
	}
	// The click is the funnel's first stage; a funnel that names it
	// otherwise ("play") gets that event too.
	for s := 1; s <= sh.Stage && s <= len(c.run.Funnel); s++ {
		stage := c.run.Funnel[s-1]
		if stage == "click" {
			continue
		}
		e := c.withList(c.base(ev, 0, StageEvent(stage)), list)
		e.Product, e.Stage = &prod, stage
		if err := c.emit(e); err != nil {
			return err
		}
	}
	if sh.Rating > 0 {
		e := c.withList(c.base(ev, 0, ItemRated), list)
		e.Product, e.Rating = &prod, sh.Rating
		return c.emit(e)
	}
	return nil
}

// turn exports one utterance of a conversation: the message, and for a
// recommender's proposals the list viewed; a user's acceptance is a click
// on the proposal it took.
func (c *converter) turn(ev *trajectory.Event) error {
	c.sequence = 0
	tu := ev.Turn
	if tu.Index == 0 {
		c.proposals = nil
		if err := c.arrive(ev); err != nil {
			return err
		}
	}
	name := MessageReceived
	if tu.Role == trajectory.RoleUser {
		name = MessageSent
	}
	msg := c.base(ev, tu.Index, name)
	msg.Text, msg.Act = tu.Text, tu.Act
	if err := c.emit(msg); err != nil {
		return err
	}
	if len(tu.Items) > 0 {
		list := c.base(ev, tu.Index, ListViewed)
		list.RecommendationID = list.ID
		list.ListID = ev.Variant + "/" + SurfaceChat
		for k, p := range tu.Items {
			list.Impressions = append(list.Impressions, p.Item)
			list.Products = append(list.Products, c.product(p.Item, k+1, p.Score, p.Explanation))
		}
		c.proposals = list
		return c.emit(list)
	}
	if tu.Accepted != "" {
		click := c.base(ev, tu.Index, ProductClicked)
		click.ListID = ev.Variant + "/" + SurfaceChat
		prod := c.product(tu.Accepted, 0, 0, "")
		if l := c.proposals; l != nil {
			c.withList(click, l)
			for _, p := range l.Products {
				if p.ProductID == tu.Accepted {
					prod = p
				}
			}
		}
		click.Product = &prod
		return c.emit(click)
	}
	return nil
}
