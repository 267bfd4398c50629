use super::*;

/// One call of every portable function, as a rule would write it.
const EXAMPLES: &[&str] = &[
    "count(*)", "sum(amount)", "avg(amount)", "min(ordered_at)", "max(ordered_at)", "median(amount)",
    "stddev(amount)", "stddev_samp(amount)", "stddev_pop(amount)", "var_samp(amount)", "var_pop(amount)",
    "bool_or(clicked)", "bool_and(clicked)", "count_if(clicked)", "any_value(channel)",
    "quantile_cont(amount, 0.9)", "arg_max(category, n)", "arg_min(category, n)", "list(product_id)",
    "array_agg(product_id)", "string_agg(products, ';' ORDER BY created_at DESC, cart_id)",
    "date_diff('day', signup_date, DATE '2026-06-30')", "date_sub('year', birth_date, DATE '2026-06-30')",
    "date_trunc('month', ordered_at)", "year(ordered_at)", "month(ordered_at)", "day(ordered_at)",
    "dayofmonth(ordered_at)", "quarter(ordered_at)", "hour(ordered_at)", "minute(ordered_at)",
    "make_date(2026, 7, 4)", "last_day(ordered_at)", "current_date()", "dayofweek(ordered_at)",
    "isodow(ordered_at)", "lower(city)", "upper(city)", "length(city)", "strlen(city)", "trim(city)",
    "ltrim(city)", "rtrim(city)", "replace(city, '-', ' ')", "concat(city, ', ', country)",
    "substring(city, 1, 3)", "substr(city, 1, 3)", "lpad(code, 4, '0')", "rpad(code, 4, '0')",
    "left(city, 2)", "right(city, 2)", "split_part(email, '@', 2)", "starts_with(email, 'info')",
    "ends_with(email, '.com')", "contains(email, 'shop')", "regexp_matches(email, '^[a-z]+@')",
    "abs(amount)", "round(amount, 2)", "floor(amount)", "ceil(amount)", "ceiling(amount)", "sqrt(amount)",
    "exp(amount)", "ln(amount)", "log(amount)", "log10(amount)", "log2(amount)", "pow(amount, 2)",
    "power(amount, 2)", "sign(amount)", "greatest(3, order_count)", "least(3, order_count)",
    "coalesce(total_spent, 0)", "nullif(order_count, 0)", "if(order_count > 0, 1, 0)", "ifnull(total_spent, 0)",
    "list_contains(['US', 'CA'], country)",
];

fn parse(sql: &str) -> Expr {
    crate::compile::tree::parse(sql).unwrap_or_else(|| panic!("{sql} parses"))
}

fn spark(sql: &str) -> String {
    match to_spark(&parse(sql)) {
        Ok(e) => e.to_string(),
        Err(problems) => panic!("{sql}: {problems:?}"),
    }
}

fn problems(sql: &str) -> Vec<String> {
    match to_spark(&parse(sql)) {
        Ok(e) => panic!("{sql} printed as {e}"),
        Err(ps) => ps.into_iter().map(|p| format!("{}:{} {} ({})", p.line, p.col, p.what, p.hint)).collect(),
    }
}

/// Every portable function, printed for DuckDB and for Spark; `UPDATE_SNAPSHOTS=1` rewrites
/// the snapshot (review it with `git diff`).
#[test]
fn every_portable_function_prints_for_both_engines() {
    let mut covered: Vec<&str> = Vec::new();
    let mut table = String::from("# DuckDB => Spark, one call of every function in compile::spark::PORTABLE\n");
    for sql in EXAMPLES {
        let e = parse(sql);
        // trim, substring, floor and ceil parse as constructs of their own, not as calls.
        let name = sql.split('(').next().unwrap_or_default();
        covered.extend(PORTABLE.iter().filter(|p| p.name == name).map(|p| p.name));
        table.push_str(&format!("{e}\n  => {}\n", spark(sql)));
    }
    let missing: Vec<&str> = PORTABLE.iter().map(|p| p.name).filter(|n| !covered.contains(n)).collect();
    assert!(missing.is_empty(), "no example for {missing:?}");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/portable.txt");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &table).expect("write snapshot");
    }
    let expected = std::fs::read_to_string(&path).expect("snapshot file; run with UPDATE_SNAPSHOTS=1 to create it");
    assert!(table == expected, "printed functions changed; review `git diff` after UPDATE_SNAPSHOTS=1\n{table}");
}

#[test]
fn date_differences_count_like_duckdb() {
    assert_eq!(spark("date_diff('day', a, b)"), "datediff(b, a)");
    assert_eq!(spark("date_diff('month', a, b)"), "(year(b) - year(a)) * 12 + (month(b) - month(a))");
    assert_eq!(
        spark("date_sub('year', a, b)"),
        "year(b) - year(a) - CASE WHEN month(b) * 100 + dayofmonth(b) < month(a) * 100 + dayofmonth(a) THEN 1 ELSE 0 END"
    );
}

#[test]
fn casts_names_lists_and_strings_take_sparks_spelling() {
    assert_eq!(spark("x::INTEGER + CAST(y AS VARCHAR) = 'a'"), "CAST(x AS INT) + CAST(y AS STRING) = 'a'");
    assert_eq!(spark("\"Total Spent\" > 5"), "`Total Spent` > 5");
    assert_eq!(spark("country IN ('US', 'CA')"), "country IN ('US', 'CA')");
    assert_eq!(spark("city = 'O''Hare\\x'"), "city = concat('O', chr(39), 'Hare', chr(92), 'x')");
    assert_eq!(spark("sum(amount) FILTER (WHERE coupon_code IS NOT NULL)"), "sum(amount) FILTER (WHERE coupon_code IS NOT NULL)");
    assert_eq!(spark("a IS DISTINCT FROM b"), "NOT (a <=> b)");
}

#[test]
fn what_spark_cannot_run_is_reported_where_it_is() {
    assert_eq!(
        problems("order_count > 1\n  AND strftime(ordered_at, '%m') = '12'"),
        vec!["2:7 function `strftime` (compare dates with year(), month() and day() instead of formatting them)"]
    );
    assert_eq!(
        problems("quantile(amount, 0.9) > 1 AND list_filter(tags, t -> t = 'x')"),
        vec![
            "1:1 function `quantile` (use quantile_cont(x, q) (the continuous quantile))",
            "1:31 function `list_filter` (count or sum with FILTER (WHERE ...) in a feature instead)",
            "1:49 a lambda (`x -> ...`) (compute it in a feature with the portable functions (docs/language.md, Engines and portable functions))",
        ]
    );
    assert_eq!(problems("CAST(x AS HUGEINT) > 1"), vec!["1:6 type HUGEINT (cast to VARCHAR, INTEGER, BIGINT, DOUBLE, DECIMAL(p,s), DATE, TIMESTAMP or BOOLEAN)"]);
    assert_eq!(problems("date_diff('week', a, b) > 1"), vec!["1:1 date_diff with unit 'week' (write the unit as 'day', 'month' or 'year')"]);
}

/// docs/language.md lists exactly the portable set, with each function's Spark spelling.
#[test]
fn the_language_page_lists_the_portable_set() {
    let page = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/language.md")).expect("language.md");
    let rows: Vec<&str> = page.lines().filter(|l| l.starts_with("| `") && l.ends_with(" |")).collect();
    let mut missing = Vec::new();
    for p in PORTABLE {
        let spark = match p.spark {
            Spelling::Same => "same".to_string(),
            Spelling::Renamed(to) => format!("`{to}`"),
            Spelling::Rewritten(how) => how.to_string(),
        };
        let row = format!("| `{}` | {spark} |", p.name);
        if !rows.contains(&row.as_str()) {
            missing.push(row);
        }
    }
    assert!(missing.is_empty(), "rows missing from docs/language.md:\n{}", missing.join("\n"));
}
