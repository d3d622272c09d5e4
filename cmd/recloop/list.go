package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/recloop/recloop/personas"
	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/scenarios"
)

var listCommand = command{
	name:    "list",
	summary: "list built-in recommenders, behaviour models, persona archetypes and scenarios",
	run: func(_ context.Context, env *cliEnv, args []string) error {
		fs := newFlagSet(env, "list", "")
		markdown := fs.Bool("markdown", false, "print the parameter reference as Markdown")
		if _, err := parseFlags(fs, args); err != nil {
			return err
		}
		w := env.stdout
		if *markdown {
			fmt.Fprint(w, "## Recommenders\n\n")
			for _, name := range recommenders.Names() {
				spec, _ := recommenders.Lookup(name)
				fmt.Fprintln(w, spec.Markdown())
			}
			fmt.Fprint(w, "## Wrappers\n\nWritten around a recommender, for example `mmr(itemknn)`; the inner's parameters go under `inner:`.\n\n")
			for _, name := range recommenders.Wrappers() {
				spec, _ := recommenders.LookupWrapper(name)
				fmt.Fprintln(w, spec.Markdown())
			}
			fmt.Fprint(w, "## Behaviour models\n\n")
			for _, name := range personas.BehaviourNames() {
				spec, _ := personas.LookupBehaviour(name)
				fmt.Fprintln(w, spec.Markdown())
			}
			return nil
		}
		fmt.Fprintln(w, "Recommenders:")
		for _, name := range recommenders.Names() {
			spec, _ := recommenders.Lookup(name)
			fmt.Fprintf(w, "  %-10s %s (params: %s)\n", name, firstSentence(spec.Summary), strings.Join(spec.ParamNames(), ", "))
		}
		fmt.Fprintln(w, "Wrappers (write them around a recommender: mmr(itemknn), calibrated(explore(mf))):")
		for _, name := range recommenders.Wrappers() {
			spec, _ := recommenders.LookupWrapper(name)
			fmt.Fprintf(w, "  %-10s %s (params: %s, inner)\n", name, firstSentence(spec.Summary), strings.Join(spec.ParamNames(), ", "))
		}
		fmt.Fprintln(w, "Behaviour models:")
		for _, name := range personas.BehaviourNames() {
			spec, _ := personas.LookupBehaviour(name)
			fmt.Fprintf(w, "  %-10s %s\n", name, firstSentence(spec.Summary))
		}
		lib, err := personas.Library()
		if err != nil {
			return err
		}
		fmt.Fprintln(w, "Persona archetypes (built-in library):")
		for _, p := range lib {
			fmt.Fprintf(w, "  %-20s %s\n", p.ID, firstSentence(p.Description))
		}
		fmt.Fprintln(w, "Built-in scenarios:")
		for _, name := range scenarios.Builtins() {
			fmt.Fprintf(w, "  %s\n", name)
		}
		return nil
	},
}

// firstSentence keeps listings to a line each; --markdown has the rest.
func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}
