package fidelity

import (
	"bytes"
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/personas"
)

// personaOut is a persona as from-logs writes it: the persona file schema,
// empty fields left out.
type personaOut struct {
	ID          string          `yaml:"id"`
	Name        string          `yaml:"name,omitempty"`
	Description string          `yaml:"description,omitempty"`
	Interests   catalog.Taste   `yaml:"interests"`
	Dislikes    *catalog.Taste  `yaml:"dislikes,omitempty"`
	Traits      personas.Traits `yaml:"traits"`
	RatingBias  float64         `yaml:"rating_bias,omitempty"`
	Evidence    *evidenceOut    `yaml:"evidence,omitempty"`
	History     []string        `yaml:"history,flow"`
	Segments    []string        `yaml:"segments,omitempty,flow"`
}

type evidenceOut struct {
	Liked    []string `yaml:"liked,omitempty,flow"`
	Disliked []string `yaml:"disliked,omitempty,flow"`
}

// PersonasYAML renders the dataset's personas as a persona file, with a
// header that records how it was derived so it can be derived again, and
// which taste model file (tasteFile, "" for none) holds their learned
// taste.
func PersonasYAML(ds *Dataset, source, tasteFile string) ([]byte, error) {
	var buf bytes.Buffer
	o := ds.Options
	fmt.Fprintf(&buf, "# Derived by recloop personas from-logs from %s.\n", source)
	if o.Split == GlobalTime {
		fmt.Fprintf(&buf, "# %d users (seed %d, sample %d); global-time split: the last %g of all interactions are held out;\n",
			len(ds.Users), o.Seed, o.Sample, o.HoldOut)
	} else {
		fmt.Fprintf(&buf, "# %d users (seed %d, sample %d); per user the last %g of the interactions (at least one) are held out;\n",
			len(ds.Users), o.Seed, o.Sample, o.HoldOut)
	}
	fmt.Fprintf(&buf, "# history is the rest, oldest first. liked: rating >= %g or unrated; disliked: rating <= %g.\n", o.LikeAt, o.DislikeAt)
	if tasteFile != "" {
		fmt.Fprintf(&buf, "# Their learned taste is in %s: name it in the scenario's behaviour, params: {taste_model: %s};\n", tasteFile, tasteFile)
		fmt.Fprintf(&buf, "# recloop fidelity --fit writes coefficients fitted to this log (fitted-behaviour.yaml) to go with it.\n")
	}
	fmt.Fprintf(&buf, "# Skipped %d users with fewer than %d interactions; %d rows named unknown items; %d repeats dropped.\n",
		ds.Skipped, o.MinInteractions, ds.Unknown, ds.Repeats)
	out := struct {
		Personas []personaOut `yaml:"personas"`
	}{}
	for i := range ds.Users {
		p := &ds.Users[i].Persona
		po := personaOut{
			ID: p.ID, Name: p.Name, Description: p.Description,
			Interests: p.Interests, Traits: p.Traits, RatingBias: p.RatingBias, History: p.History, Segments: p.Segments,
		}
		if !p.Evidence.IsZero() {
			po.Evidence = &evidenceOut{Liked: p.Evidence.Liked, Disliked: p.Evidence.Disliked}
		}
		if !p.Dislikes.IsZero() {
			d := p.Dislikes
			po.Dislikes = &d
		}
		out.Personas = append(out.Personas, po)
	}
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(out); err != nil {
		return nil, fmt.Errorf("fidelity: encoding personas: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
