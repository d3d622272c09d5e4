#!/bin/sh
# Refreshes the pinned ECharts build that reports embed (run by `make echarts`).
# go-echarts v2.7.3 builds its options for ECharts 5.4.3, so that is the pin.
# Needs npm; `go install` users never run this, they get the committed copy.
set -eu
version="${ECHARTS_VERSION:-5.4.3}"
dir="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "echarts@$version" >/dev/null)
tar -xzf "$work"/echarts-"$version".tgz -C "$work"
cp "$work/package/dist/echarts.min.js" "$dir/echarts.min.js"
cp "$work/package/LICENSE" "$dir/ECHARTS-LICENSE"
if [ -f "$work/package/NOTICE" ]; then cp "$work/package/NOTICE" "$dir/ECHARTS-NOTICE"; fi
echo "$version" > "$dir/echarts.version"
(cd "$dir" && sha256sum echarts.min.js > echarts.sha256)
echo "reports/assets: echarts $version, $(cut -d' ' -f1 "$dir/echarts.sha256")"
