// Reads a run's Parquet export with DuckDB, as an analyst would, and checks
// its row counts against the run itself: one product_list_viewed row per
// recommender answer that reached its persona (results.json: calls minus
// failed calls, less the chat replies that proposed nothing), one
// product_clicked row per clicked slot or accepted proposal (the
// trajectories), and a tracks table that holds every event of every other
// table.
//
//   node check.mjs <parquet-dir> <run-dir>
//
// Needs the npm package @duckdb/node-api (.ci/run installs it).
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";

const [parquetDir, runDir] = process.argv.slice(2);
if (!parquetDir || !runDir) {
  console.error("usage: check.mjs <parquet-dir> <run-dir>");
  process.exit(2);
}

const db = await DuckDBInstance.create(":memory:");
const conn = await db.connect();
async function count(sql) {
  const reader = await conn.runAndReadAll(sql);
  return Number(reader.getRowObjects()[0].n);
}
const file = (table) => join(parquetDir, `${table}.parquet`).replaceAll("'", "''");

const tables = readdirSync(parquetDir).filter((f) => f.endsWith(".parquet")).map((f) => f.slice(0, -".parquet".length));
const rows = {};
for (const t of tables) rows[t] = await count(`SELECT count(*) AS n FROM read_parquet('${file(t)}')`);

// What the run says.
const results = JSON.parse(readFileSync(join(runDir, "results.json"), "utf8"));
let answers = 0;
for (const v of results.variants) {
  const e = v.errors;
  answers += e.calls - e.errors - e.timeouts - e.invalid;
}
// DuckDB reads the trajectories as output.compress left them: plain, gzip
// or zstd.
const trajectories = ["", ".gz", ".zst"].map((ext) => join(runDir, "trajectories.jsonl" + ext)).find(existsSync);
if (!trajectories) {
  console.error(`check.mjs: ${runDir} has no trajectories.jsonl (nor .gz, .zst)`);
  process.exit(2);
}
const traj = (await conn.runAndReadAll(`SELECT
    coalesce(sum(len(list_filter(CAST(json->'$.step.slate[*].clicked' AS BOOLEAN[]), c -> c))), 0) AS clicked,
    count(*) FILTER (WHERE coalesce(json->>'$.turn.accepted', '') <> '') AS accepted,
    count(*) FILTER (WHERE json->>'$.turn.role' = 'recommender' AND json_extract(json, '$.turn.error') IS NULL
      AND coalesce(json_array_length(json, '$.turn.items'), 0) = 0) AS bare
  FROM read_ndjson_objects('${trajectories.replaceAll("'", "''")}') WHERE json->>'kind' IN ('step', 'turn')`)).getRowObjects()[0];
// A chat reply that proposed nothing (a question back) is a call that
// succeeded without a list.
const slates = answers - Number(traj.bare);
const clicks = Number(traj.clicked) + Number(traj.accepted);

const failures = [];
const expect = (what, got, want) => {
  if (got !== want) failures.push(`${what}: ${got} rows, want ${want}`);
};
expect("product_list_viewed", rows.product_list_viewed ?? 0, slates);
expect("product_clicked", rows.product_clicked ?? 0, clicks);
const others = tables.filter((t) => t !== "tracks").reduce((n, t) => n + rows[t], 0);
expect("tracks", rows.tracks ?? 0, others);
// Every row of every table is one event of tracks, under the same id.
for (const t of tables.filter((t) => t !== "tracks")) {
  const missing = await count(
    `SELECT count(*) AS n FROM read_parquet('${file(t)}') x ANTI JOIN read_parquet('${file("tracks")}') t USING (id)`);
  if (missing) failures.push(`${t}: ${missing} rows have no tracks row`);
}
const synthetic = await count(`SELECT count(*) AS n FROM read_parquet('${file("tracks")}') WHERE NOT synthetic`);
if (synthetic) failures.push(`tracks: ${synthetic} rows are not marked synthetic`);

console.log(JSON.stringify({ tables: rows, slates, clicks }, null, 2));
if (failures.length) {
  console.error("Parquet export check failed:\n  " + failures.join("\n  "));
  process.exit(1);
}
