//! The report page: one self-contained HTML document (inline CSS and SVG, no scripts, no
//! network), and the escaping and tables its sections are made of.

use std::fmt::Write;

/// Text made safe for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Digits of a whole number with commas between thousands ("1234567" → "1,234,567").
pub fn thousands(digits: &str) -> String {
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    grouped
}

/// A table with a header row; cells are text (escaped here). Numeric cells align right.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = String::from("<table><thead><tr>");
    for h in headers {
        let _ = write!(s, "<th>{}</th>", escape(h));
    }
    s.push_str("</tr></thead><tbody>");
    for row in rows {
        s.push_str("<tr>");
        for cell in row {
            let numeric = !cell.is_empty() && cell.trim_start_matches('-').chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',');
            let _ = write!(s, "<td{}>{}</td>", if numeric { r#" class="n""# } else { "" }, escape(cell));
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

/// One titled part of a report, with a sentence saying what it shows.
pub fn section(title: &str, about: &str, body: &str) -> String {
    format!("<section><h2>{}</h2><p class=\"about\">{}</p>{body}</section>", escape(title), escape(about))
}

/// Styles of the page: readable on screen, each section on its own page when printed.
const STYLE: &str = "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#222;max-width:980px;margin:24px auto;padding:0 16px}\
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 4px;border-bottom:1px solid #ddd;padding-bottom:4px}\
.about{color:#555;margin:2px 0 10px}.meta{color:#555}svg.chart{width:100%;height:auto;font-size:11px;font-family:inherit}svg.tree{width:100%;height:auto;font-family:inherit}h4{margin:10px 0 2px;font-size:13px}\
table{border-collapse:collapse;font-size:12.5px;margin:6px 0}th,td{border:1px solid #ddd;padding:3px 7px}th{background:#f4f4f4;text-align:left}\
td.n{text-align:right;font-variant-numeric:tabular-nums}section{break-inside:avoid-page}\
@media print{body{margin:0;max-width:none}section{break-before:page}}";

/// The whole document.
pub fn page(title: &str, subtitle: &str, sections: &[String]) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{}</title><style>{STYLE}</style></head><body><h1>{}</h1><p class=\"meta\">{}</p>",
        escape(title),
        escape(title),
        escape(subtitle)
    );
    for section in sections {
        s.push_str(section);
    }
    s.push_str("</body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_open_markup() {
        assert_eq!(escape(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        let t = table(&["agent", "cost"], &[vec!["<b>".into(), "-1,250.5".into()]]);
        assert!(t.contains("<td>&lt;b&gt;</td><td class=\"n\">-1,250.5</td>"), "{t}");
    }
}
