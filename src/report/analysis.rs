//! `segmenter report`: what the published tables say, read from the output database.
//!
//! Sizes and shares, feature profiles per segment, pairwise overlaps, the tier distribution,
//! the tier migration matrix and entered/exited counts between two `as_of` dates of history.

use crate::compile::dialect::{Dialect, DuckDb};
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
    /// ISO code of money values (`report.currency` of segmenter.yaml).
    pub currency: Option<String>,
    /// The `runs` row of `as_of` (None in a database written before `runs` existed).
    pub run: Option<super::run_info::RunInfo>,
    /// Grouped by theme (see [`theme`]), largest first within a theme.
    pub segments: Vec<SegmentRow>,
    pub profiles: Profiles,
    /// Pairs of segments sharing customers, largest overlap first.
    pub overlaps: Vec<Overlap>,
    /// The most informative segments and their pairs (see [`super::overlap::informative`]).
    pub overlap_map: super::overlap::OverlapMap,
    pub tiers: Vec<TierRow>,
    /// Per ladder and level: how many customers are close to the next level.
    pub tier_gaps: Vec<super::gaps::TierGap>,
    /// Customers per (ladder, from tier, to tier) between `compared_to` and `as_of`; `(new)`
    /// as `from` for customers not there on `compared_to`, `(left)` as `to` for those gone.
    pub migrations: Vec<Migration>,
    /// Sizes of the largest segments on every as_of of history.
    pub trends: super::trends::Trends,
    /// Customers per recency × frequency score (None without a score with parts `r` and `f`).
    pub rfm: Option<super::rfm::RfmGrid>,
    /// The models' fits and holdout checks of this date (none without `models:`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<super::models::ModelSection>,
    /// Sections added by other modules (the hook of the Campaigns section); empty from [`build`].
    #[serde(skip)]
    pub extra_sections: Vec<super::section::ExtraSection>,
    /// The campaign results of the run, every group (none without `campaigns:`), for JSON.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub campaigns: Vec<super::campaigns::Campaign>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SegmentRow {
    pub name: String,
    /// The segment's first tag, or `other` without tags.
    pub theme: String,
    pub description: Option<String>,
    pub owner: Option<String>,
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
    /// Per feature: whether it is money (shown in the project's currency).
    pub money: Vec<bool>,
    pub population: Vec<Option<f64>>,
    pub segments: Vec<(String, Vec<Option<f64>>)>,
}

impl Profiles {
    /// A segment's average as an index against all customers (100 = the population's average).
    pub fn index(&self, feature: usize, value: Option<f64>) -> Option<f64> {
        let base = self.population.get(feature).copied().flatten()?;
        let v = value?;
        (base.abs() > 1e-12).then(|| v / base * 100.0)
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Overlap {
    pub a: String,
    pub b: String,
    pub both: i64,
    /// `both` as a share of the smaller segment.
    pub share_of_smaller: f64,
    /// Correlation of the two memberships over all customers (phi): 0 when they share as many
    /// customers as chance would give, 1 when they are the same audience, below 0 when they avoid
    /// each other.
    pub correlation: f64,
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

/// `from` of customers who were not in the ladder on the compared date.
pub const NEW: &str = "(new)";
/// `to` of customers who were in the ladder on the compared date and are no longer.
pub const LEFT: &str = "(left)";

/// The theme a segment is listed under: its first tag, `other` without tags.
pub fn theme(tags: &[String]) -> String {
    tags.first().cloned().unwrap_or_else(|| OTHER_THEME.to_string())
}

/// The theme of untagged segments, listed last.
pub const OTHER_THEME: &str = "other";

/// Themes alphabetically with `other` last; within a theme the largest segment first.
fn sort_segments(segments: &mut [SegmentRow]) {
    segments.sort_by(|a, b| {
        (a.theme == OTHER_THEME, &a.theme, std::cmp::Reverse(a.size), &a.name).cmp(&(b.theme == OTHER_THEME, &b.theme, std::cmp::Reverse(b.size), &b.name))
    });
}

/// Features profiled by default, when the project has them; otherwise the first numeric ones.
const PROFILE_FEATURES: &[&str] = &["order_count", "total_spent", "aov", "recency_days", "tenure_days", "spend_12m"];

pub(super) fn err(context: &str) -> impl Fn(duckdb::Error) -> Error + '_ {
    move |e| Error::Step { step: format!("report: {context}"), message: crate::execute::first_line(&e.to_string()) }
}

pub(super) fn query<T, P: duckdb::Params>(
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
pub(super) fn table_exists(conn: &Connection, name: &str) -> bool {
    crate::execute::relation_exists(conn, name).unwrap_or(false)
}

/// Segments the heat map shows at most (see [`super::overlap::informative`]).
const MAP_SEGMENTS: usize = 14;

/// Build the report from a database written by `segmenter run`. `compare` picks the earlier
/// date; by default the latest history date before the published one.
pub fn build(conn: &Connection, config: &crate::project::model::ProjectConfig, compare: Option<&str>, top_overlaps: usize) -> Result<Report> {
    if !table_exists(conn, "segment_catalog") {
        return Err(Error::Usage("the output database has no results yet; run `segmenter run` first".into()));
    }
    let as_of: String = conn
        .query_row(&format!("SELECT coalesce({}, '') FROM segment_catalog", DuckDb.cast("max(as_of)", "VARCHAR")), [], |r| r.get(0))
        .map_err(err("as_of"))?;
    let customers: i64 = conn.query_row("SELECT count(*) FROM customer_features", [], |r| r.get(0)).map_err(err("customers"))?;
    let compared_to = compared_date(conn, &as_of, compare)?;
    let mut segments = read_segments(conn)?;
    if let Some(prev) = &compared_to {
        entered_exited(conn, prev, &mut segments)?;
    }
    sort_segments(&mut segments);
    let pairs = read_overlaps(conn)?;
    let overlap_map = super::overlap::informative(&pairs, MAP_SEGMENTS);
    let overlaps = pairs.into_iter().take(top_overlaps).collect();
    let tiers = if table_exists(conn, "tier_catalog") {
        query(conn, "tiers", "SELECT ladder, tier, rank, size, CAST(share AS DOUBLE) FROM tier_catalog ORDER BY ladder, rank", [], |r| {
            Ok(TierRow { ladder: r.get(0)?, tier: r.get(1)?, rank: r.get(2)?, size: r.get(3)?, share: r.get(4)? })
        })?
    } else {
        Vec::new()
    };
    let migrations = match (&compared_to, table_exists(conn, "tier_history")) {
        (Some(prev), true) => migrations(conn, prev)?,
        _ => Vec::new(),
    };
    let sizes: Vec<(String, i64)> = segments.iter().map(|s| (s.name.clone(), s.size)).collect();
    Ok(Report {
        project: config.name.clone(),
        currency: config.report.currency.clone(),
        run: super::run_info::read(conn, &as_of)?,
        compared_to,
        customers,
        segments,
        profiles: profiles(conn)?,
        overlaps,
        overlap_map,
        tiers,
        tier_gaps: super::gaps::read(conn)?,
        migrations,
        trends: super::trends::read(conn, &sizes)?,
        rfm: super::rfm::read(conn)?,
        models: super::models::read(conn, &as_of)?,
        extra_sections: Vec::new(),
        campaigns: Vec::new(),
        as_of,
    })
}

/// `--compare DATE` checked against history, or the latest history date before `as_of`.
fn compared_date(conn: &Connection, as_of: &str, compare: Option<&str>) -> Result<Option<String>> {
    let has_history = table_exists(conn, "segment_members_history");
    match compare {
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
            Ok(Some(d.to_string()))
        }
        None if has_history => conn
            .query_row(&format!("SELECT {} FROM segment_members_history WHERE as_of < CAST(? AS DATE)", DuckDb.cast("max(as_of)", "VARCHAR")), [as_of], |r| r.get::<_, Option<String>>(0))
            .map_err(err("previous as_of")),
        None => Ok(None),
    }
}

fn read_segments(conn: &Connection) -> Result<Vec<SegmentRow>> {
    query(conn, "segments", "SELECT name, coalesce(tags, []), description, owner, campaign, size, CAST(share AS DOUBLE) FROM segment_catalog ORDER BY name", [], |r| {
        let tags: Vec<String> = match r.get::<_, duckdb::types::Value>(1)? {
            duckdb::types::Value::List(items) => items.into_iter().filter_map(|v| if let duckdb::types::Value::Text(t) = v { Some(t) } else { None }).collect(),
            _ => Vec::new(),
        };
        Ok(SegmentRow {
            name: r.get(0)?,
            theme: theme(&tags),
            description: r.get(2)?,
            owner: r.get(3)?,
            campaign: r.get(4)?,
            size: r.get(5)?,
            share: r.get(6)?,
            entered: None,
            exited: None,
        })
    })
}

fn entered_exited(conn: &Connection, prev: &str, segments: &mut [SegmentRow]) -> Result<()> {
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
    Ok(())
}

/// Every pair of segments sharing a customer, largest overlap first.
fn read_overlaps(conn: &Connection) -> Result<Vec<Overlap>> {
    query(
        conn,
        "overlaps",
        &format!(
            "WITH sizes AS (SELECT segment, CAST(count(*) AS DOUBLE) AS n FROM segment_members GROUP BY segment),
              pop AS (SELECT CAST(count(*) AS DOUBLE) AS n FROM customer_features)
         SELECT {}, {}, count(*) AS n_both,
                count(*) / least(any_value(sa.n), any_value(sb.n)),
                coalesce((any_value(pop.n) * count(*) - any_value(sa.n) * any_value(sb.n))
                  / nullif(sqrt(any_value(sa.n) * any_value(sb.n) * (any_value(pop.n) - any_value(sa.n)) * (any_value(pop.n) - any_value(sb.n))), 0), 0)
         FROM segment_members a JOIN segment_members b ON a.customer_id = b.customer_id AND a.segment < b.segment
         JOIN sizes sa ON sa.segment = a.segment JOIN sizes sb ON sb.segment = b.segment CROSS JOIN pop
         GROUP BY a.segment, b.segment
         ORDER BY n_both DESC, a.segment, b.segment",
            DuckDb.cast("a.segment", "VARCHAR"),
            DuckDb.cast("b.segment", "VARCHAR")
        ),
        [],
        |r| Ok(Overlap { a: r.get(0)?, b: r.get(1)?, both: r.get(2)?, share_of_smaller: r.get(3)?, correlation: r.get(4)? }),
    )
}

/// Tier moves since `prev`, with customers who joined (`(new)`) or left (`(left)`) the ladder.
fn migrations(conn: &Connection, prev: &str) -> Result<Vec<Migration>> {
    query(
        conn,
        "migrations",
        &format!(
            "WITH p AS (SELECT customer_id, {ladder} AS ladder, {tier} AS tier, rank FROM tier_history WHERE as_of = CAST(? AS DATE)),
              n AS (SELECT customer_id, {ladder} AS ladder, {tier} AS tier, rank FROM tier_assignments)
         SELECT coalesce(p.ladder, n.ladder) AS ladder, coalesce(p.tier, ?) AS from_tier, coalesce(n.tier, ?) AS to_tier, count(*)
         FROM p FULL JOIN n ON n.customer_id = p.customer_id AND n.ladder = p.ladder
         GROUP BY ALL
         ORDER BY ladder, coalesce(any_value(p.rank), 2147483647), coalesce(any_value(n.rank), 2147483647), from_tier, to_tier",
            ladder = DuckDb.cast("ladder", "VARCHAR"),
            tier = DuckDb.cast("tier", "VARCHAR")
        ),
        duckdb::params![prev, NEW, LEFT],
        |r| Ok(Migration { ladder: r.get(0)?, from: r.get(1)?, to: r.get(2)?, customers: r.get(3)? }),
    )
}

/// Whether a feature holds money: DECIMAL columns (sums of amounts) and names that say so.
fn is_money(name: &str, data_type: &str) -> bool {
    const MONEY_WORDS: &[&str] = &["spend", "spent", "aov", "clv", "revenue", "_value"];
    data_type.starts_with("DECIMAL") || MONEY_WORDS.iter().any(|w| name.contains(w))
}

fn profiles(conn: &Connection) -> Result<Profiles> {
    let numeric: Vec<(String, String)> = query(
        conn,
        "feature types",
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'customer_features' AND column_name <> 'customer_id'
           AND (data_type LIKE 'DECIMAL%' OR data_type IN ('BIGINT','INTEGER','HUGEINT','DOUBLE','FLOAT','SMALLINT','TINYINT','UBIGINT','UINTEGER'))
         ORDER BY column_index",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut chosen: Vec<&(String, String)> = PROFILE_FEATURES.iter().filter_map(|f| numeric.iter().find(|(n, _)| n == f)).collect();
    if chosen.is_empty() {
        chosen = numeric.iter().take(5).collect();
    }
    if chosen.is_empty() {
        return Ok(Profiles::default());
    }
    let money = chosen.iter().map(|(n, t)| is_money(n, t)).collect();
    let features: Vec<String> = chosen.into_iter().map(|(n, _)| n.clone()).collect();
    // Feature names come from the database's own column list and are quoted as identifiers.
    let avgs: Vec<String> = features.iter().map(|f| format!("round({}, 2)", DuckDb.cast(&format!("avg({})", DuckDb.ident(f)), "DOUBLE"))).collect();
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
            "SELECT {}, {} FROM segment_members m JOIN customer_features USING (customer_id) GROUP BY m.segment ORDER BY m.segment",
            DuckDb.cast("m.segment", "VARCHAR"),
            avgs.join(", ")
        ),
        params_from_iter(Vec::<String>::new()),
        |r| Ok((r.get::<_, String>(0)?, read(r, 1)?)),
    )?;
    Ok(Profiles { features, money, population, segments })
}
