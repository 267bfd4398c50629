//! Sources as shops export them: a CSV dialect declared under `csv:` reads the same data as the
//! plain file.

use crate::support::*;

/// The tiny fixture's orders rewritten as a European spreadsheet exports them: `;` between
/// fields, `31/12/2026 23:59` timestamps and `682,64` decimals.
fn european_orders(plain: &str) -> String {
    let mut out = String::new();
    for (i, line) in plain.lines().enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        if i == 0 {
            out.push_str(&fields.join(";"));
        } else {
            // order_id,client,ordered_at,total,coupon_code
            let (date, time) = fields[2].split_once(' ').expect("timestamp");
            let ymd: Vec<&str> = date.split('-').collect();
            let stamp = format!("{}/{}/{} {}", ymd[2], ymd[1], ymd[0], &time[..5]);
            out.push_str(&[fields[0], fields[1], &stamp, &fields[3].replace('.', ","), fields.get(4).copied().unwrap_or("")].join(";"));
        }
        out.push('\n');
    }
    out
}

#[test]
fn a_csv_dialect_reads_the_same_data_as_the_plain_file() {
    let plain = fixture("tiny");
    segmenter(plain.path()).args(["--quiet", "run"]).assert().success();
    let european = fixture("tiny");
    let orders = std::fs::read_to_string(european.path().join("data/orders.csv")).expect("orders");
    assert!(orders.lines().all(|l| !l.contains(':') || l.matches(':').count() == 2), "timestamps carry seconds");
    std::fs::write(european.path().join("data/orders.csv"), european_orders(&orders)).expect("write");
    let yaml_path = european.path().join("segmenter.yaml");
    let yaml = std::fs::read_to_string(&yaml_path).expect("yaml").replace(
        "    types: { amount: \"DECIMAL(12,2)\" }\n",
        "    types: { amount: \"DECIMAL(12,2)\" }\n    csv: { delim: \";\", decimal_separator: \",\", timestampformat: \"%d/%m/%Y %H:%M\" }\n",
    );
    std::fs::write(&yaml_path, yaml).expect("write");
    segmenter(european.path()).args(["--quiet", "run"]).assert().success();
    let features = "SELECT customer_id, total_spent, recency_days, orders_12m, spend_12m, coupon_orders FROM customer_features ORDER BY ALL";
    let expected = rows(&plain.path().join("out/tiny.duckdb"), features);
    assert_eq!(rows(&european.path().join("out/tiny.duckdb"), features), expected);
    assert!(expected.iter().any(|r| r.contains(".")), "amounts have decimals: {expected:?}");
}

#[test]
fn csv_options_are_checked() {
    let dir = fixture("tiny");
    let yaml_path = dir.path().join("segmenter.yaml");
    let yaml = std::fs::read_to_string(&yaml_path).expect("yaml").replace(
        "  sessions: { path: data/sessions.csv, key: customer_id, time: started_at }\n",
        "  sessions: { path: data/sessions.csv, key: customer_id, time: started_at, csv: { delim: \";;\", decimal_separator: \"'\" } }\n",
    );
    std::fs::write(&yaml_path, yaml).expect("write");
    let out = segmenter(dir.path()).arg("validate").output().expect("validate");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error[")).collect();
    assert_eq!(
        errors,
        vec![
            "segmenter.yaml:12:90: error[E026]: `delim` must be one character (or \\t), not ';;'; hint: see docs/language.md, section Sources",
            "segmenter.yaml:12:115: error[E026]: `decimal_separator` must be '.' or ',', not '''; hint: see docs/language.md, section Sources",
        ]
    );
}

#[test]
fn values_a_csv_dialect_does_not_parse_name_the_source_column_and_an_example() {
    let dir = fixture("tiny");
    let orders = std::fs::read_to_string(dir.path().join("data/orders.csv")).expect("orders");
    // Day-first timestamps in an otherwise plain file, without a `csv:` block to say so.
    let day_first: String = orders
        .lines()
        .map(|line| match line.split(',').collect::<Vec<_>>().as_slice() {
            [id, client, stamp, rest @ ..] if stamp.len() == 19 => {
                let stamp = format!("{}/{}/{} {}", &stamp[8..10], &stamp[5..7], &stamp[0..4], &stamp[11..16]);
                format!("{id},{client},{stamp},{}\n", rest.join(","))
            }
            _ => format!("{line}\n"),
        })
        .collect();
    std::fs::write(dir.path().join("data/orders.csv"), day_first).expect("write");
    let out = segmenter(dir.path()).arg("run").output().expect("run");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: source 'orders' (data/orders.csv): column 'ordered_at' has 37 value(s) that are not TIMESTAMP, e.g. '01/01/2026 10:00'; describe the file's format under `csv:` (dateformat, timestampformat, decimal_separator, delim) or correct the values"
    );
}
