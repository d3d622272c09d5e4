package reports

import (
	_ "embed"
	"regexp"
	"strings"
)

// The ECharts library is embedded, so a report opens offline from a file://
// URL and `go install` users need no Node. reports/assets/update-echarts.sh
// (make echarts) refreshes the pinned copy, its licence and its checksum,
// which a test compares with the copy.
var (
	//go:embed assets/echarts.min.js
	echartsJS string
	//go:embed assets/echarts.version
	echartsVersionFile string
)

// EChartsVersion is the version of the embedded ECharts build.
var EChartsVersion = strings.TrimSpace(echartsVersionFile)

// scriptBreakers are the sequences that end a <script> element or switch the
// HTML tokenizer into its "script data escaped" states.
var scriptBreakers = regexp.MustCompile(`(?i)<(/script|script|!--)`)

// inlineScript makes JavaScript safe to place inside <script>…</script>. The
// sequences can only occur in string, regular-expression or comment text,
// where \x3c means the same "<".
func inlineScript(js string) string {
	return scriptBreakers.ReplaceAllString(js, `\x3c$1`)
}

// echartsInline is the library as the report embeds it.
var echartsInline = inlineScript(echartsJS)
