package personas

import (
	"strings"

	"github.com/recloop/recloop/config"
)

// behaviourFile is a scenario fragment naming a behaviour and its
// parameters, as recloop fidelity --fit writes it.
type behaviourFile struct {
	Behaviour struct {
		Model  string         `yaml:"model"`
		Params map[string]any `yaml:"params"`
	} `yaml:"behaviour"`
}

// ParseBehaviourFile reads a behaviour file (behaviour: {model, params}) and
// checks its parameters against the behaviour's spec. It returns the
// behaviour's name (the utility model when the file names none) and its
// parameters with defaults filled in, or every problem, each located in file,
// in the order of the file.
func ParseBehaviourFile(file string, data []byte) (string, config.Params, config.Errors) {
	var f behaviourFile
	doc := config.Parse(file, data, &f)
	if errs := doc.Errors(); len(errs) > 0 {
		return "", nil, errs
	}
	name := f.Behaviour.Model
	if name == "" {
		name = UtilityName
	}
	spec, ok := LookupBehaviour(name)
	if !ok {
		doc.Add("behaviour.model", "unknown behaviour %q (known: %s)", name, strings.Join(BehaviourNames(), ", "))
		return "", nil, doc.Errors()
	}
	params, errs := spec.Resolve(doc, "behaviour.params", f.Behaviour.Params)
	if len(errs) > 0 {
		errs.Sort()
		return "", nil, errs
	}
	return name, params, nil
}
