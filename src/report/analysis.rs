//! `segmenter report`: what the published tables say, read from the output database.
//!
//! Sizes and shares, feature profiles per segment, pairwise overlaps, the tier distribution,
//! the tier migration matrix and entered/exited counts between two `as_of` dates of history.

use crate::error::{Error, Result};
use duckdb::{params_from_iter, Connection};
use serde::Serialize;

/// Everything a report shows; `--format json` prints exactly this.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub project: String,
    pub as_of: String,
    /// The date the changes are measured against (the previous as_of in history), if any.
    pub compared_to: Option<String>,
    pub customers: i64,
    pub segments: Vec<SegmentRow>,
    pub profiles: Profiles,
    /// Pairs of segments sharing customers, largest overlap first.
    pub overlaps: Vec<Overlap>,
    pub tiers: Vec<TierRow>,
    /// Customers per (ladder, from tier, to tier) between `compared_to` and `as_of`.
    pub migrations: Vec<Migration>,
    /// The models' fits and holdout checks of this date (none without `models:`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<super::models::ModelSection>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SegmentRow {
    pub name: String,
    pub description: Option<String>,
    pub campaign: Option<String>,
    pub size: i64,
    pub share: f64,
    /// Members now who were not members on `compared_to` (None without a comparison date).
    pub entered: Option<i64>,
    pub exited: Option<i64>,
}

/// Average feature values per segment and for the whole population.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Profiles {
    pub features: Vec<String>,
    pub population: Vec<Option<f64>>,
    pub segments: Vec<(String, Vec<Option<f64>>)>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Overlap {
    pub a: String,
    pub b: String,
    pub both: i64,
    /// `both` as a share of the smaller segment.
    pub share_of_smaller: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TierRow {
    pub ladder: String,
    pub tier: String,
    pub rank: i32,
    pub size: i64,
    pub share: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Migration {
    pub ladder: String,
    pub from: String,
    pub to: String,
    pub customers: i64,
}

/// Features profiled by default, when the project has them; otherwise the first numeric ones.
const PROFILE_FEATURES: &[&str] = &["order_count", "total_spent", "aov", "recency_days", "tenure_days", "spend_12m"];

fn err(context: &str) -> impl Fn(duckdb::Error) -> Error + '_ {
    move |e| Error::Step { step: format!("report: {context}"), message: crate::execute::first_line(&e.to_string()) }
}

fn query<T, P: duckdb::Params>(
    conn: &Connection,
    context: &str,
    sql: &str,
    params: P,
    f: impl FnMut(&duckdb::Row<'_>) -> duckdb::Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare(sql).map_err(err(context))?;
    let rows = stmt.query_map(params, f).map_err(err(context))?;
    rows.collect::<duckdb::Result<Vec<T>>>().map_err(err(context))
}

/// A table or a view (`segment_members_history` is a view); an unreadable catalog counts as none.
fn table_exists(conn: &Connection, name: &str) -> bool {
    crate::execute::relation_exists(conn, name).unwrap_or(false)
}

/// Build the report from a database written by `segmenter run`. `compare` picks the earlier
/// date; by default the latest history date before the published one.
pub fn build(conn: &Connection, project: &str, compare: Option<&str>, top_overlaps: usize) -> Result<Report> {
    if !table_exists(conn, "segment_catalog") {
        return Err(Error::Usage("the output database has no results yet; run `segmenter run` first".into()));
    }
    let as_of: String = conn
        .query_row("SELECT coalesce(max(as_of)::VARCHAR, '') FROM segment_catalog", [], |r| r.get(0))
        .map_err(err("as_of"))?;
    let customers: i64 = conn.query_row("SELECT count(*) FROM customer_features", [], |r| r.get(0)).map_err(err("customers"))?;
    let has_history = table_exists(conn, "segment_members_history");
    let compared_to: Option<String> = match compare {
        Some(d) => {
            let known: i64 = if has_history {
                conn.query_row("SELECT count(*) FROM segment_members_history WHERE as_of = CAST(? AS DATE)", [d], |r| r.get(0))
                    .map_err(|_| Error::Usage(format!("--compare '{d}' is not a date (YYYY-MM-DD)")))?
            } else {
                0
            };
            if known == 0 {
                return Err(Error::Usage(format!("no history for {d}; run `segmenter run --as-of {d}` first")));
            }
            Some(d.to_string())
        }
        None if has_history => conn
            .query_row(
                "SELECT max(as_of)::VARCHAR FROM segment_members_history WHERE as_of < CAST(? AS DATE)",
                [&as_of],
                |r| r.get::<_, Option<String>>(0),
            )
            .map_err(err("previous as_of"))?,
        None => None,
    };

    let segments = query(
        conn,
        "segments",
        "SELECT name, description, campaign, size, CAST(share AS DOUBLE) FROM segment_catalog ORDER BY name",
        [],
        |r| Ok(SegmentRow { name: r.get(0)?, description: r.get(1)?, campaign: r.get(2)?, size: r.get(3)?, share: r.get(4)?, entered: None, exited: None }),
    )?;
    let mut segments = segments;
    if let Some(prev) = &compared_to {
        let moves = query(
            conn,
            "entered/exited",
            "WITH now AS (SELECT customer_id, segment FROM segment_members),
                  prev AS (SELECT customer_id, segment FROM segment_members_history WHERE as_of = CAST(? AS DATE))
             SELECT s.name,
                    (SELECT count(*) FROM (SELECT customer_id FROM now WHERE segment = s.name EXCEPT SELECT customer_id FROM prev WHERE segment = s.name)),
                    (SELECT count(*) FROM (SELECT customer_id FROM prev WHERE segment = s.name EXCEPT SELECT customer_id FROM now WHERE segment = s.name))
             FROM segment_catalog s ORDER BY s.name",
            [prev],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)),
        )?;
        for (name, entered, exited) in moves {
            if let Some(s) = segments.iter_mut().find(|s| s.name == name) {
                s.entered = Some(entered);
                s.exited = Some(exited);
            }
        }
    }

    let profiles = profiles(conn)?;
    let overlaps = query(
        conn,
        "overlaps",
        "WITH sizes AS (SELECT segment, count(*) AS n FROM segment_members GROUP BY segment)
         SELECT a.segment::VARCHAR, b.segment::VARCHAR, count(*) AS n_both,
                CAST(count(*) AS DOUBLE) / least(any_value(sa.n), any_value(sb.n)) AS share
         FROM segment_members a JOIN segment_members b ON a.customer_id = b.customer_id AND a.segment < b.segment
         JOIN sizes sa ON sa.segment = a.segment JOIN sizes sb ON sb.segment = b.segment
         GROUP BY a.segment, b.segment
         ORDER BY n_both DESC, a.segment, b.segment
         LIMIT ?",
        [top_overlaps as i64],
        |r| Ok(Overlap { a: r.get(0)?, b: r.get(1)?, both: r.get(2)?, share_of_smaller: r.get(3)? }),
    )?;
    let tiers = if table_exists(conn, "tier_catalog") {
        query(conn, "tiers", "SELECT ladder, tier, rank, size, CAST(share AS DOUBLE) FROM tier_catalog ORDER BY ladder, rank", [], |r| {
            Ok(TierRow { ladder: r.get(0)?, tier: r.get(1)?, rank: r.get(2)?, size: r.get(3)?, share: r.get(4)? })
        })?
    } else {
        Vec::new()
    };
    let migrations = match (&compared_to, table_exists(conn, "tier_history")) {
        (Some(prev), true) => query(
            conn,
            "migrations",
            "SELECT p.ladder, p.tier, n.tier, count(*)
             FROM (SELECT * FROM tier_history WHERE as_of = CAST(? AS DATE)) p
             JOIN tier_assignments n ON n.customer_id = p.customer_id AND n.ladder = p.ladder
             GROUP BY p.ladder, p.tier, p.rank, n.tier, n.rank
             ORDER BY p.ladder, p.rank, n.rank",
            [prev],
            |r| Ok(Migration { ladder: r.get(0)?, from: r.get(1)?, to: r.get(2)?, customers: r.get(3)? }),
        )?,
        _ => Vec::new(),
    };
    let models = super::models::read(conn, &as_of)?;
    Ok(Report { project: project.to_string(), as_of, compared_to, customers, segments, profiles, overlaps, tiers, migrations, models })
}

fn profiles(conn: &Connection) -> Result<Profiles> {
    let numeric: Vec<String> = query(
        conn,
        "feature types",
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'customer_features' AND column_name <> 'customer_id'
           AND (data_type LIKE 'DECIMAL%' OR data_type IN ('BIGINT','INTEGER','HUGEINT','DOUBLE','FLOAT','SMALLINT','TINYINT','UBIGINT','UINTEGER'))
         ORDER BY column_index",
        [],
        |r| r.get(0),
    )?;
    let mut features: Vec<String> = PROFILE_FEATURES.iter().filter(|f| numeric.iter().any(|n| n == *f)).map(|f| f.to_string()).collect();
    if features.is_empty() {
        features = numeric.into_iter().take(5).collect();
    }
    if features.is_empty() {
        return Ok(Profiles::default());
    }
    // Feature names come from the database's own column list and are quoted as identifiers.
    let avgs: Vec<String> = features.iter().map(|f| format!("round(avg(\"{}\")::DOUBLE, 2)", f.replace('"', "\"\""))).collect();
    let n = features.len();
    let read = move |r: &duckdb::Row<'_>, offset: usize| -> duckdb::Result<Vec<Option<f64>>> {
        (0..n).map(|i| r.get::<_, Option<f64>>(i + offset)).collect()
    };
    let population = query(conn, "profiles", &format!("SELECT {} FROM customer_features", avgs.join(", ")), [], |r| read(r, 0))?
        .into_iter()
        .next()
        .unwrap_or_default();
    let segments = query(
        conn,
        "profiles",
        &format!(
            "SELECT m.segment::VARCHAR, {} FROM segment_members m JOIN customer_features USING (customer_id) GROUP BY m.segment ORDER BY m.segment",
            avgs.join(", ")
        ),
        params_from_iter(Vec::<String>::new()),
        |r| Ok((r.get::<_, String>(0)?, read(r, 1)?)),
    )?;
    Ok(Profiles { features, population, segments })
}
