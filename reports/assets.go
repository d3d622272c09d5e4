package reports

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"regexp"
	"strings"
)

// The ECharts library is embedded, so a report opens offline from a file://
// URL and `go install` users need no Node. reports/assets/update-echarts.sh
// (make echarts) refreshes the pinned copy, its licence and its checksum.
var (
	//go:embed assets/echarts.min.js
	echartsJS string
	//go:embed assets/echarts.sha256
	echartsSHA256File string
	//go:embed assets/echarts.version
	echartsVersionFile string
)

// EChartsVersion is the version of the embedded ECharts build.
var EChartsVersion = strings.TrimSpace(echartsVersionFile)

// echartsChecksum is the hex SHA-256 the checksum file records.
func echartsChecksum() string {
	fields := strings.Fields(echartsSHA256File)
	if len(fields) == 0 {
		return ""
	}
	return fields[0]
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

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
