// Package prototest checks messages against the protocol's JSON Schemas,
// for the tests of the adapters and of recommenders that speak the
// protocol.
package prototest

import (
	"bytes"
	"fmt"
	"maps"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/recommenders/protocol"
)

var (
	once     sync.Once
	compiled map[string]*jsonschema.Schema
	errLoad  error
)

func load() {
	compiled = map[string]*jsonschema.Schema{}
	c := jsonschema.NewCompiler()
	for _, name := range protocol.SchemaNames {
		data, err := protocol.Schema(name)
		if err != nil {
			errLoad = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			errLoad = fmt.Errorf("schema %s: %w", name, err)
			return
		}
		if err := c.AddResource(name+".schema.json", doc); err != nil {
			errLoad = fmt.Errorf("schema %s: %w", name, err)
			return
		}
	}
	for _, name := range protocol.SchemaNames {
		s, err := c.Compile(name + ".schema.json")
		if err != nil {
			errLoad = fmt.Errorf("schema %s: %w", name, err)
			return
		}
		compiled[name] = s
	}
}

// Validate checks one encoded message against the named schema (one of
// protocol.SchemaNames).
func Validate(name string, data []byte) error {
	once.Do(load)
	if errLoad != nil {
		return errLoad
	}
	s, ok := compiled[name]
	if !ok {
		return fmt.Errorf("prototest: no schema %q", name)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("prototest: %s: not JSON: %w", name, err)
	}
	if err := s.Validate(inst); err != nil {
		return fmt.Errorf("prototest: %s: %w", name, err)
	}
	return nil
}

// SchemaFor names the schema of a message the host sends, by its type.
func SchemaFor(msgType string) string {
	switch msgType {
	case protocol.TypeRecommend:
		return "recommend_request"
	case protocol.TypeHealth:
		return "health_request"
	case protocol.TypeChat:
		return "chat_request"
	}
	return msgType
}

// Catalog is a small catalog for adapter tests.
//
//	id  categories  popularity  release
//	a   sci-fi      50          0
//	b   sci-fi      40          0
//	c   drama       30          0
//	d   drama       20          0
//	e   comedy      10          2
func Catalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.New([]catalog.Item{
		{ID: "a", Title: "Alpha", Categories: []string{"sci-fi"}, Popularity: 50},
		{ID: "b", Title: "Bravo", Categories: []string{"sci-fi"}, Popularity: 40},
		{ID: "c", Title: "Charlie", Categories: []string{"drama"}, Popularity: 30},
		{ID: "d", Title: "Delta", Categories: []string{"drama"}, Popularity: 20},
		{ID: "e", Title: "Echo", Categories: []string{"comedy"}, Popularity: 10, ReleaseRound: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// Request asks for a slate of 2 for a user who consumed a.
var Request = recommenders.Request{User: "u", Round: 0, K: 2, History: []recommenders.HistoryItem{{Item: "a", Round: -1}}}

// Build resolves params (raw over base) against spec, builds an adapter
// with factory under the test's context and closes it when the test ends.
func Build(t testing.TB, spec config.Spec, factory recommenders.Factory, env recommenders.Env, base, raw map[string]any) (*protocol.Adapter, error) {
	t.Helper()
	all := maps.Clone(base)
	maps.Copy(all, raw)
	p, errs := spec.Resolve(nil, "", all)
	if len(errs) > 0 {
		t.Fatal(errs.Err())
	}
	r, err := factory(t.Context(), env, p)
	if err != nil {
		return nil, err
	}
	a := r.(*protocol.Adapter)
	t.Cleanup(func() { _ = a.Close() })
	return a, nil
}

// ChatCatalog is a small catalog for conversations, with years:
//
//	id    categories      year  popularity  release
//	c94   comedy          1994  50          0
//	c97   comedy          1997  30          0
//	c04   comedy          2004  60          0
//	d95   drama           1995  40          0
//	h92   horror, comedy  1992  45          0
//	c98   comedy          1998  70          2
func ChatCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	item := func(id string, year, pop, release int, cats ...string) catalog.Item {
		return catalog.Item{ID: id, Title: "Title " + id, Categories: cats, Popularity: float64(pop), ReleaseRound: release,
			Attributes: map[string]any{"year": year}}
	}
	cat, err := catalog.New([]catalog.Item{
		item("c94", 1994, 50, 0, "comedy"),
		item("c97", 1997, 30, 0, "comedy"),
		item("c04", 2004, 60, 0, "comedy"),
		item("d95", 1995, 40, 0, "drama"),
		item("h92", 1992, 45, 0, "horror", "comedy"),
		item("c98", 1998, 70, 2, "comedy"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// PythonChatExample is the command that runs the Python conversational
// example from a package two levels below the repository root (the
// adapters' own), or skips the test when there is no python3.
func PythonChatExample(t testing.TB) []string {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not on PATH")
	}
	return []string{"python3", "../../examples/python-chat-recommender/recommender.py"}
}

// CheckPythonChatExample holds a short dialogue with the Python example
// over ChatCatalog through a (any transport): the example asks first,
// then proposes the 1990s comedies that are released and not horror,
// best known first, then has nothing more. It also asks for a slate,
// which the example answers with the most popular items.
func CheckPythonChatExample(t testing.TB, a *protocol.Adapter) {
	t.Helper()
	if !recommenders.Converses(a) {
		t.Fatal("the example did not declare the chat capability")
	}
	req := recommenders.ChatRequest{Conversation: "py/u/0", User: "u", Round: 0, K: 3,
		Context:  map[string]string{"name": "Dana"},
		Messages: []recommenders.ChatMessage{{Role: recommenders.SpeakerUser, Content: "Hi! Can you help me pick something?"}}}
	reply, err := a.Respond(t.Context(), req)
	if err != nil || len(reply.Items) != 0 || !strings.Contains(reply.Message, "genre") {
		t.Fatalf("first turn: want a question about genre, got %+v, %v", reply, err)
	}
	req.Turn++
	req.Messages = append(req.Messages,
		recommenders.ChatMessage{Role: recommenders.SpeakerRecommender, Content: reply.Message},
		recommenders.ChatMessage{Role: recommenders.SpeakerUser, Content: "I want a comedy from the 1990s, but not horror."})
	reply, err = a.Respond(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, it := range reply.Items {
		ids = append(ids, it.Item)
		if !strings.Contains(it.Explanation, "comedy") || !strings.Contains(it.Explanation, "1990") {
			t.Errorf("explanation %q names neither the genre nor the years asked for", it.Explanation)
		}
	}
	if strings.Join(ids, ",") != "c94,c97" || reply.Message == "" {
		t.Fatalf("second turn: want c94,c97, got %+v", reply)
	}
	req.Turn++
	req.Messages = append(req.Messages,
		recommenders.ChatMessage{Role: recommenders.SpeakerRecommender, Content: reply.Message, Items: reply.Items},
		recommenders.ChatMessage{Role: recommenders.SpeakerUser, Content: "Something else?"})
	if reply, err = a.Respond(t.Context(), req); err != nil || len(reply.Items) != 0 || reply.Message == "" {
		t.Fatalf("third turn: want a message without items (nothing else fits), got %+v, %v", reply, err)
	}
	slate, err := a.Recommend(t.Context(), recommenders.Request{User: "u", Round: 0, K: 2, History: []recommenders.HistoryItem{{Item: "c04", Round: -1}}})
	if err != nil || len(slate.Items) != 2 || slate.Items[0].Item != "c94" || slate.Items[1].Item != "h92" {
		t.Fatalf("slate %+v, %v", slate, err)
	}
	if v := a.Violations(); len(v) != 0 {
		t.Fatalf("violations %v", v)
	}
}
