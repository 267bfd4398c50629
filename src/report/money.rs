//! Money values in the project's currency (`report.currency` of segmenter.yaml).

/// `1234.5` as `$1,234.50` (USD), `€`, `£`, `¥` for EUR, GBP, JPY; other codes follow the
/// number (`1,234.50 CHF`); without a currency, the number with separators only.
pub fn format(value: f64, currency: Option<&str>) -> String {
    let number = grouped(value, 2);
    match currency.map(str::to_ascii_uppercase).as_deref() {
        None | Some("") => number,
        Some(code) => match symbol(code) {
            Some(s) if value < 0.0 => format!("-{s}{}", grouped(-value, 2)),
            Some(s) => format!("{s}{number}"),
            None => format!("{number} {code}"),
        },
    }
}

fn symbol(code: &str) -> Option<&'static str> {
    Some(match code {
        "USD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        "JPY" => "¥",
        _ => return None,
    })
}

/// A number with `decimals` places and a comma between thousands.
pub fn grouped(value: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, value.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    let sign = if value < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') { "-" } else { "" };
    if frac.is_empty() { format!("{sign}{out}") } else { format!("{sign}{out}.{frac}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_and_separators() {
        assert_eq!(format(1234.5, Some("USD")), "$1,234.50");
        assert_eq!(format(-1234567.0, Some("eur")), "-€1,234,567.00");
        assert_eq!(format(12.0, Some("CHF")), "12.00 CHF");
        assert_eq!(format(999.999, None), "1,000.00");
        assert_eq!(grouped(-0.001, 2), "0.00");
    }
}
