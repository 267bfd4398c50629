//! Incremental runs: a sequence of daily runs (random appends, windows crossing, customers
//! appearing, orders dated ahead of the run) gives, table by table and row by row, what a full
//! computation of the same day gives; and every reason for a full scan is said.

use crate::support::*;
use std::path::Path;

/// A small deterministic generator (64-bit LCG, Knuth's constants): the same days every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

const PROJECT: &str = "name: incremental
sources:
  customers: { path: DATA/customers.csv, key: customer_id, time: signup_date }
  orders: { path: DATA/orders/*.csv, key: customer_id, time: ordered_at, types: { amount: \"DECIMAL(12,2)\" } }
  carts: { path: DATA/carts/*.csv, key: customer_id, time: created_at }
  ratings: { path: DATA/ratings/*.csv, key: customer_id }
vars: { as_of: \"2026-06-01\" }
output: { database: out/segments.duckdb }
";

const FEATURES: &str = "features:
  - { name: tenure_days, source: customers, expr: \"date_diff('day', signup_date, {{ as_of }})\" }
  - { name: order_count, source: orders, expr: count(*), default: 0 }
  - { name: total_spent, source: orders, expr: sum(amount), default: 0 }
  - { name: recency_days, source: orders, expr: \"date_diff('day', max(ordered_at), {{ as_of }})\" }
  - { name: first_order_days, source: orders, expr: \"date_diff('day', min(ordered_at), {{ as_of }})\" }
  - { name: orders_7d, source: orders, expr: count(*), window: 7d, default: 0 }
  - { name: spend_3d, source: orders, expr: sum(amount), window: 3d }
  - { name: coupon_orders, source: orders, expr: count(*), filter: coupon_code IS NOT NULL }
  - { name: order_days, source: orders, expr: count(DISTINCT CAST(ordered_at AS DATE)) }
  - { name: big_share, source: orders, expr: \"coalesce(sum(amount) FILTER (WHERE amount > 50), 0) / sum(amount)\" }
  - { name: top_category, source: orders, most_frequent: category }
  - { name: top_category_orders, source: orders, most_frequent_count: category }
  - { name: recent_categories, source: orders, expr: \"string_agg(category, ',' ORDER BY ordered_at DESC, order_id)\", window: 4d }
  - { name: open_carts, source: carts, expr: count(*), filter: \"status = 'open'\", window: 5d }
  - { name: avg_rating, source: ratings, expr: avg(score) }
  - { name: aov, expr: \"total_spent / nullif(order_count, 0)\" }
segments:
  - { name: buyers, where: order_count > 0 }
  - { name: recent, where: orders_7d > 0 }
  - { name: big_spenders, where: \"total_spent > {{ stat('avg', 'total_spent') }}\" }
  - { name: lapsing, where: recency_days > 3 }
  - { name: cart_open, where: open_carts > 0 }
  - { name: happy, where: avg_rating >= 4 }
";

const CATEGORIES: [&str; 4] = ["books", "garden", "toys", "tech"];

/// One day's files: `orders/<day>.csv` (some orders dated up to 2 days ahead, as late exports
/// are) and `carts/<day>.csv`, on the first day and every third `ratings/<day>.csv` (a source
/// without time: on the days between, nothing of it changes); new customers join the customers
/// file.
fn write_day(data: &Path, day: u32, rng: &mut Lcg, customers: &mut u64) {
    let date = |d: u32| format!("2026-06-{:02}", d);
    *customers += rng.next(4);
    let mut list = String::from("customer_id,signup_date\n");
    for c in 1..=*customers {
        list.push_str(&format!("{c},2026-05-{:02}\n", 1 + c % 28));
    }
    std::fs::write(data.join("customers.csv"), list).expect("customers");
    let mut orders = String::from("order_id,customer_id,ordered_at,amount,coupon_code,category\n");
    for i in 0..(5 + rng.next(10)) {
        let ahead = if rng.next(6) == 0 { rng.next(3) as u32 } else { 0 };
        let coupon = if rng.next(3) == 0 { "SAVE" } else { "" };
        orders.push_str(&format!(
            "{day}{i:03},{},{} {:02}:00:00,{}.{:02},{coupon},{}\n",
            1 + rng.next(*customers + 2),
            date(day + ahead),
            rng.next(24),
            1 + rng.next(120),
            rng.next(100),
            CATEGORIES[rng.next(4) as usize]
        ));
    }
    std::fs::write(data.join(format!("orders/{}.csv", date(day))), orders).expect("orders");
    let mut carts = String::from("cart_id,customer_id,created_at,status\n");
    for i in 0..(2 + rng.next(5)) {
        let status = if rng.next(2) == 0 { "open" } else { "bought" };
        carts.push_str(&format!("{day}{i:03},{},{} 12:00:00,{status}\n", 1 + rng.next(*customers), date(day)));
    }
    std::fs::write(data.join(format!("carts/{}.csv", date(day))), carts).expect("carts");
    if day == 1 || day % 3 == 0 {
        let mut ratings = String::from("customer_id,score\n");
        for _ in 0..(1 + rng.next(4)) {
            ratings.push_str(&format!("{},{}\n", 1 + rng.next(*customers), 1 + rng.next(5)));
        }
        std::fs::write(data.join(format!("ratings/{}.csv", date(day))), ratings).expect("ratings");
    }
}

/// A temporary folder with an empty `data/` of daily order and cart files.
fn data_folder() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(data.join("orders")).expect("mkdir");
    std::fs::create_dir_all(data.join("carts")).expect("mkdir");
    std::fs::create_dir_all(data.join("ratings")).expect("mkdir");
    (tmp, data)
}

fn project(root: &Path, data: &Path) {
    std::fs::create_dir_all(root.join("segments")).expect("mkdir");
    std::fs::write(root.join("segmenter.yaml"), PROJECT.replace("DATA", &data.display().to_string())).expect("project");
    std::fs::write(root.join("segments/defs.yaml"), FEATURES).expect("defs");
}

/// Run `args` in `root`; its stderr.
fn run(root: &Path, args: &[&str]) -> String {
    let out = segmenter(root).args(args).output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{args:?}: {stderr}");
    stderr
}

/// Rows of `table` in one database and not the other, both ways (none when equal).
fn differences(a: &Path, b: &Path, table: &str) -> Vec<String> {
    let conn = duckdb::Connection::open_in_memory().expect("duckdb");
    conn.execute_batch(&format!("ATTACH '{}' AS a (READ_ONLY); ATTACH '{}' AS b (READ_ONLY)", a.display(), b.display())).expect("attach");
    let sql = format!(
        "SELECT 'only incremental: ' || CAST(x AS VARCHAR) FROM (SELECT * FROM a.{table} EXCEPT ALL SELECT * FROM b.{table}) AS x \
         UNION ALL SELECT 'only full: ' || CAST(x AS VARCHAR) FROM (SELECT * FROM b.{table} EXCEPT ALL SELECT * FROM a.{table}) AS x"
    );
    let mut stmt = conn.prepare(&sql).expect("prepare");
    stmt.query_map([], |r| r.get::<_, String>(0)).expect("query").collect::<Result<Vec<_>, _>>().expect("rows")
}

/// The notes the manifest kept of the last run.
fn last_notes(db: &Path) -> String {
    rows(db, "SELECT warnings FROM runs ORDER BY started_at DESC LIMIT 1").join("")
}

const TABLES: [&str; 5] = ["customer_features", "segment_members", "segment_catalog", "feature_catalog", "segment_members_history"];

/// Ten days of appends, run on some of them (windows of 3, 4, 5 and 7 days cross; orders
/// dated ahead come into the time cut later): the incremental database equals a full run's
/// after every run, and the runs after the first are incremental.
#[test]
fn daily_incremental_runs_equal_full_runs_table_by_table() {
    let (tmp, data) = data_folder();
    let (inc, full) = (tmp.path().join("incremental"), tmp.path().join("full"));
    project(&inc, &data);
    project(&full, &data);
    let mut rng = Lcg(2026);
    let mut customers = 10;
    let mut runs = 0;
    for day in 1..=10u32 {
        write_day(&data, day, &mut rng, &mut customers);
        if day % 4 == 3 {
            continue; // a day without a run: the next run adds two days of files
        }
        let as_of = format!("2026-06-{day:02}");
        let stderr = run(&inc, &["run", "--as-of", &as_of]);
        run(&full, &["--quiet", "run", "--full", "--as-of", &as_of]);
        assert!(!stderr.contains("note:"), "{as_of}: {stderr}");
        let kept = last_notes(&inc.join("out/segments.duckdb"));
        if runs == 0 {
            assert!(!kept.contains("incremental") && !kept.contains("full scan"), "{kept}");
        } else {
            assert!(kept.contains("incremental: 5 scan(s) brought up to date from the state of ") && !kept.contains("full scan"), "{as_of}: {kept}");
        }
        runs += 1;
        for table in TABLES {
            let diff = differences(&inc.join("out/segments.duckdb"), &full.join("out/segments.duckdb"), table);
            assert!(diff.is_empty(), "{as_of}, {table}:\n{}", diff.join("\n"));
        }
    }
    // The data moved: customers, windows and late orders are all exercised.
    let db = inc.join("out/segments.duckdb");
    assert_eq!(rows(&db, "SELECT count(DISTINCT as_of) FROM segment_members_history"), vec!["8"]);
    let counts = rows(&db, "SELECT count(*) > 20, bool_or(orders_7d < order_count), bool_or(spend_3d IS NULL AND order_count > 0), count(avg_rating) > 5 FROM customer_features");
    assert_eq!(counts, vec!["true|true|true|true"]);
}

/// Each reason for a full scan is said on stderr and kept in the manifest; with `--full`, and
/// on a first run, there is no incremental line.
#[test]
fn every_full_scan_says_why() {
    let (tmp, data) = data_folder();
    let root = tmp.path().join("p");
    project(&root, &data);
    let (mut rng, mut customers) = (Lcg(7), 10);
    for day in 1..=3 {
        write_day(&data, day, &mut rng, &mut customers);
    }
    let notes = |stderr: &str| stderr.lines().filter(|l| l.starts_with("note:")).map(String::from).collect::<Vec<_>>();
    assert!(notes(&run(&root, &["run", "--as-of", "2026-06-03"])).is_empty());
    assert_eq!(notes(&run(&root, &["run", "--as-of", "2026-06-03", "--full"])), vec!["note: full scan: --full"]);
    // A file read before is rewritten: that source's scans are computed in full, the other's not.
    let orders = data.join("orders/2026-06-02.csv");
    let text = std::fs::read_to_string(&orders).expect("read");
    std::fs::write(&orders, text.replacen("SAVE", "SAVED", 1)).expect("write");
    let path = orders.display().to_string();
    assert_eq!(
        notes(&run(&root, &["run", "--as-of", "2026-06-04"])),
        vec![
            format!("note: full scan: agg_orders: {path} changed since the run of 2026-06-03"),
            format!("note: full scan: agg_orders__recent_categories: {path} changed since the run of 2026-06-03"),
            format!("note: full scan: agg_orders__top_category: {path} changed since the run of 2026-06-03"),
        ]
    );
    // A changed definition: only that scan.
    let defs = root.join("segments/defs.yaml");
    std::fs::write(&defs, FEATURES.replace("window: 5d", "window: 6d")).expect("defs");
    let stderr = run(&root, &["run", "--as-of", "2026-06-04"]);
    assert_eq!(notes(&stderr), ["note: full scan: agg_carts: its definitions changed since the run of 2026-06-04".to_string()]);
    assert!(last_notes(&root.join("out/segments.duckdb")).contains("incremental: 4 scan(s) brought up to date from the state of 2026-06-04"));
    // A stored value that depends on as_of, and the clock.
    let moving = FEATURES.replace("window: 6d", "window: 5d").replace(
        "  - { name: aov,",
        "  - { name: weighted, source: carts, expr: \"sum(date_diff('day', created_at, {{ as_of }}))\" }\n  - { name: aov,",
    );
    std::fs::write(&defs, &moving).expect("defs");
    run(&root, &["--quiet", "run", "--as-of", "2026-06-04"]);
    assert!(notes(&run(&root, &["run", "--as-of", "2026-06-05"]))
        .contains(&"note: full scan: agg_carts: a value it stores depends on as_of, not only on which rows it reads".to_string()));
    std::fs::write(&defs, moving.replace("{{ as_of }}))", "current_date))")).expect("defs");
    run(&root, &["--quiet", "run", "--as-of", "2026-06-05"]);
    assert!(notes(&run(&root, &["run", "--as-of", "2026-06-05"]))
        .contains(&"note: full scan: agg_carts: it calls a function of the clock or of chance (now(), current_date, random(), ...)".to_string()));
    let kept = last_notes(&root.join("out/segments.duckdb"));
    assert!(kept.contains("full scan: agg_carts: it calls a function of the clock"), "{kept}");
}

/// A backfill (an earlier as_of) computes its scans apart and leaves the state: the next run is
/// still incremental and still equal to a full one.
#[test]
fn a_backfill_leaves_the_state_alone() {
    let (tmp, data) = data_folder();
    let (inc, full) = (tmp.path().join("incremental"), tmp.path().join("full"));
    project(&inc, &data);
    project(&full, &data);
    let (mut rng, mut customers) = (Lcg(11), 10);
    for day in 1..=5 {
        write_day(&data, day, &mut rng, &mut customers);
    }
    run(&inc, &["--quiet", "run", "--as-of", "2026-06-05"]);
    run(&inc, &["--quiet", "run", "--as-of", "2026-06-02"]);
    write_day(&data, 6, &mut rng, &mut customers);
    run(&inc, &["run", "--as-of", "2026-06-06"]);
    let kept = last_notes(&inc.join("out/segments.duckdb"));
    assert!(kept.contains("incremental: 5 scan(s) brought up to date from the state of 2026-06-05"), "{kept}");
    run(&full, &["--quiet", "run", "--as-of", "2026-06-06"]);
    for table in ["customer_features", "segment_members"] {
        assert!(differences(&inc.join("out/segments.duckdb"), &full.join("out/segments.duckdb"), table).is_empty(), "{table}");
    }
}
