package metrics

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzReadResults feeds arbitrary bytes through trajectory.ReadAll into an
// Aggregator, as recloop reads a run: it may reject them, but it must not
// panic, and whatever it accepts must encode as JSON.
func FuzzReadResults(f *testing.F) {
	cat := tinyCatalog(f)
	f.Add(encodeEvents(f, handStream()))
	f.Add(encodeEvents(f, goldenStream()))
	f.Add(`{"v":1,"kind":"step","variant":"A","round":3,"persona":"x","step":{"slate":[{"item":"a","clicked":true,"rating":9}],"error":null}}`)
	f.Add(`{"v":1,"kind":"persona_end","persona":"q","persona_end":{"exit_round":99,"slates_viewed":-4}}`)
	f.Add(`{"v":1,"kind":"run","run":{"rounds":2}}` + "\n" + `{"v":1,"kind":"step","round":1,"persona":"p","step":{"slate":[{"item":"zz"},{"item":"c","clicked":true}],"error":{"kind":"timeout"}}}`)
	f.Add(`{"v":1,"kind":"persona","persona":"p","profile":{"history":["a","a","q"],"latent_interests":{"tags":{"T1":2}}}}`)
	cfg := Config{Bootstrap: 20, SerendipityTopN: 2, Seed: 1}
	f.Fuzz(func(t *testing.T, in string) {
		res, err := readResults(cat, cfg, strings.NewReader(in))
		if err != nil {
			return
		}
		if _, err := json.Marshal(res); err != nil {
			t.Fatalf("results do not encode: %v", err)
		}
	})
}
