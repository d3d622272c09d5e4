package scenarios

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/judges"
	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/personas"
	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/recommenders/execrec"
	"github.com/recloop/recloop/recommenders/httprec"
	"github.com/recloop/recloop/recommenders/protocol"
)

// noLLM is a client that is never called: building a component makes no
// call, and the test only builds.
type noLLM struct{}

func (noLLM) Complete(context.Context, llm.Request) (llm.Response, error) {
	return llm.Response{}, errors.New("the component test makes no LLM calls")
}

// required are the parameters without a usable default: the external
// adapters need something to talk to. Everything else is the spec's
// default.
func required(t *testing.T) map[string]config.Params {
	return map[string]config.Params{
		httprec.Name: {"url": protocolServer(t)},
		execrec.Name: {"command": childCommand(t)},
	}
}

// TestEveryComponentBuildsFromItsDefaults builds every registered
// recommender, wrapper, behaviour and judge from its spec's defaults. A
// builder that reads a parameter its spec does not declare, or reads it as
// the wrong type, fails here with config.ErrParam.
func TestEveryComponentBuildsFromItsDefaults(t *testing.T) {
	cat, err := catalog.Synthetic(catalog.SyntheticConfig{Items: 60, Seed: 1}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	extra := required(t)
	withDefaults := func(spec config.Spec) config.Params {
		p := spec.Defaults()
		for k, v := range extra[spec.Name] {
			p[k] = v
		}
		return p
	}
	closeAfter := func(t *testing.T, r any) {
		if c, ok := r.(recommenders.Closer); ok {
			t.Cleanup(func() { _ = c.Close() })
		}
	}

	recEnv := recommenders.Env{Catalog: cat, Seed: 1, Variant: "v", LLM: noLLM{}, Dir: "."}
	names := recommenders.Names()
	for _, w := range recommenders.Wrappers() {
		names = append(names, w+"(popular)", w+"(mmr(itemknn))")
	}
	for _, name := range names {
		t.Run("recommender "+name, func(t *testing.T) {
			spec, ok := recommenders.Lookup(name)
			if !ok {
				t.Fatalf("%s has no spec", name)
			}
			r, err := recommenders.New(t.Context(), name, recEnv, withDefaults(spec))
			if err != nil {
				t.Fatal(err)
			}
			closeAfter(t, r)
			// Resolve nests the inner layers' defaults under inner:, which
			// the wrappers read.
			params, errs := recommenders.Resolve(nil, "", name, extra[spec.Name])
			if len(errs) > 0 {
				t.Fatal(errs.Err())
			}
			if r, err = recommenders.New(t.Context(), name, recEnv, params); err != nil {
				t.Fatalf("from Resolve: %v", err)
			}
			closeAfter(t, r)
		})
	}

	for _, name := range personas.BehaviourNames() {
		t.Run("behaviour "+name, func(t *testing.T) {
			spec, _ := personas.LookupBehaviour(name)
			env := personas.BehaviourEnv{Catalog: cat, Seed: 1, LLM: noLLM{}, Dir: "."}
			if _, err := personas.NewBehaviour(name, env, withDefaults(spec)); err != nil {
				t.Fatal(err)
			}
		})
	}

	for _, name := range judges.Names() {
		t.Run("judge "+name, func(t *testing.T) {
			spec, _ := judges.Lookup(name)
			env := judges.Env{Catalog: cat, LLM: noLLM{}, Rubric: judges.DefaultRubric(), Seed: 1, Dir: "."}
			if _, err := judges.New(name, env, withDefaults(spec)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// protocolServer is the least HTTP service the http adapter accepts: a
// healthy /health and acknowledged resets.
func protocolServer(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			_ = json.NewEncoder(w).Encode(protocol.HealthResponse{Type: protocol.TypeHealth, Protocol: protocol.Version, Status: "ok"})
			return
		}
		body, _ := io.ReadAll(r.Body)
		var env protocol.Envelope
		_ = json.Unmarshal(body, &env)
		_ = json.NewEncoder(w).Encode(protocol.Ack{Type: protocol.TypeAck, ID: env.ID})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

const childEnv = "RECLOOP_SCENARIOS_TEST_CHILD"

// childCommand runs this test binary as the least child the exec adapter
// accepts (TestExecChild).
func childCommand(t *testing.T) string {
	t.Setenv(childEnv, "1")
	return fmt.Sprintf("'%s' -test.run=^TestExecChild$", os.Args[0])
}

// TestExecChild is not a test: run by childCommand, it shakes hands, says
// it is healthy and acknowledges everything else.
func TestExecChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		return
	}
	out := json.NewEncoder(os.Stdout)
	_ = out.Encode(protocol.Handshake{Type: protocol.TypeHandshake, Protocol: protocol.Version, Name: "component-test"})
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(nil, 1<<24)
	for in.Scan() {
		var m protocol.Envelope
		_ = json.Unmarshal(in.Bytes(), &m)
		if m.Type == protocol.TypeHealth {
			_ = out.Encode(protocol.HealthResponse{Type: protocol.TypeHealth, ID: m.ID, Protocol: protocol.Version, Status: "ok"})
			continue
		}
		_ = out.Encode(protocol.Ack{Type: protocol.TypeAck, ID: m.ID})
	}
	os.Exit(0)
}
