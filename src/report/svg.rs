//! Inline SVG line charts: axes with round ticks, a legend, one polyline per series. Each
//! series carries its values in a `data-values` attribute, so a test (or a reader's script)
//! can check the numbers drawn against the query they came from.

use std::fmt::Write;

use super::html::{escape, thousands};

/// Colours of successive series (Okabe–Ito, readable by colour-blind readers).
const PALETTE: [&str; 8] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"];

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 190.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 44.0;

/// One named line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Shown in the legend.
    pub name: String,
    /// (x, y) points, in x order.
    pub points: Vec<(f64, f64)>,
    /// Drawn dashed (limits and totals rather than measurements); dots drawn hollow.
    pub dashed: bool,
    /// Drawn in the colour of the series at this index (a limit beside its measurement).
    pub colour_of: Option<usize>,
    /// Drawn as separate dots, not a line (events rather than a path).
    pub dots: bool,
}

impl Series {
    /// A solid series.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
        Series { name: name.into(), points, dashed: false, colour_of: None, dots: false }
    }
}

/// A shaded range around a series (the spread of the simulations behind a mean).
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// What the range is, kept in `data-band`.
    pub name: String,
    /// (x, low, high) points, in x order.
    pub points: Vec<(f64, f64, f64)>,
    /// Drawn in the colour of the series at this index.
    pub colour_of: usize,
}

/// A line chart; `step` draws each value until the next x (a state held through a tick).
#[derive(Debug, Clone)]
pub struct LineChart {
    /// What the chart is called in `data-chart` (a stable key, not shown).
    pub key: String,
    /// Label of the x axis, with its unit.
    pub x_label: String,
    /// Label of the y axis, with its unit.
    pub y_label: String,
    /// The lines.
    pub series: Vec<Series>,
    /// Shaded ranges, drawn under the lines.
    pub bands: Vec<Band>,
    /// Draw steps instead of straight segments.
    pub step: bool,
}

impl LineChart {
    /// A step chart of `series` with no bands (what most report charts are).
    pub fn new(key: impl Into<String>, x_label: &str, y_label: &str, series: Vec<Series>) -> LineChart {
        LineChart { key: key.into(), x_label: x_label.to_owned(), y_label: y_label.to_owned(), series, bands: Vec::new(), step: true }
    }

    /// The chart as an `<svg>` element.
    pub fn render(&self) -> String {
        let points = || self.series.iter().flat_map(|s| s.points.iter().copied());
        let ranges = || self.bands.iter().flat_map(|b| b.points.iter().flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)]));
        let (x0, x1) = bounds(points().chain(ranges()).map(|p| p.0));
        let (y0, y1) = bounds(points().chain(ranges()).map(|p| p.1).chain([0.0]));
        let (xt, yt) = (ticks(x0, x1, 8), ticks(y0, y1, 6));
        let (x0, x1) = (xt[0].min(x0), xt[xt.len() - 1].max(x1));
        let (y0, y1) = (yt[0].min(y0), yt[yt.len() - 1].max(y1));
        let (pw, ph) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
        let sx = |x: f64| LEFT + if x1 > x0 { (x - x0) / (x1 - x0) * pw } else { pw / 2.0 };
        let sy = |y: f64| TOP + ph - if y1 > y0 { (y - y0) / (y1 - y0) * ph } else { ph / 2.0 };
        let mut s = String::new();
        let _ =
            write!(s, r#"<svg class="chart" data-chart="{}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" xmlns="http://www.w3.org/2000/svg">"#, escape(&self.key));
        let _ = write!(s, r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="#fff" stroke="#bbb"/>"##);
        for &t in &yt {
            let y = sy(t);
            let _ = write!(
                s,
                r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
                LEFT + pw,
                LEFT - 6.0,
                y + 4.0,
                number(t)
            );
        }
        for &t in &xt {
            let x = sx(t);
            let _ = write!(
                s,
                r##"<line x1="{x:.1}" x2="{x:.1}" y1="{}" y2="{}" stroke="#999"/><text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"##,
                TOP + ph,
                TOP + ph + 5.0,
                TOP + ph + 18.0,
                number(t)
            );
        }
        let _ = write!(s, r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#, LEFT + pw / 2.0, HEIGHT - 6.0, escape(&self.x_label));
        let _ = write!(s, r#"<text transform="translate(14 {}) rotate(-90)" text-anchor="middle">{}</text>"#, TOP + ph / 2.0, escape(&self.y_label));
        for band in &self.bands {
            let upper = band.points.iter().map(|&(x, _, hi)| format!("{:.1},{:.1}", sx(x), sy(hi)));
            let lower = band.points.iter().rev().map(|&(x, lo, _)| format!("{:.1},{:.1}", sx(x), sy(lo)));
            let values: Vec<String> =
                band.points.iter().map(|(x, lo, hi)| format!("[{},{},{}]", number_exact(*x), number_exact(*lo), number_exact(*hi))).collect();
            let _ = write!(
                s,
                r#"<polygon data-band="{}" data-values="[{}]" points="{}" fill="{}" fill-opacity="0.18" stroke="none"/>"#,
                escape(&band.name),
                values.join(","),
                upper.chain(lower).collect::<Vec<_>>().join(" "),
                PALETTE[band.colour_of % PALETTE.len()]
            );
        }
        for (i, series) in self.series.iter().enumerate() {
            let colour = PALETTE[series.colour_of.unwrap_or(i) % PALETTE.len()];
            let mut path = String::new();
            let mut last: Option<(f64, f64)> = None;
            for &(x, y) in &series.points {
                if let (true, Some((_, ly))) = (self.step, last) {
                    let _ = write!(path, "{:.1},{:.1} ", sx(x), sy(ly));
                }
                let _ = write!(path, "{:.1},{:.1} ", sx(x), sy(y));
                last = Some((x, y));
            }
            let values: Vec<String> = series.points.iter().map(|(x, y)| format!("[{},{}]", number_exact(*x), number_exact(*y))).collect();
            let dash = if series.dashed { r#" stroke-dasharray="5 4""# } else { "" };
            if series.dots {
                // Dashed dots are hollow (e.g. rejected proposals beside accepted ones).
                let paint = if series.dashed { format!(r#"fill="none" stroke="{colour}" stroke-width="1.5""#) } else { format!(r#"fill="{colour}""#) };
                let _ = write!(s, r#"<g data-series="{}" data-values="[{}]" {paint}>"#, escape(&series.name), values.join(","));
                for &(x, y) in &series.points {
                    let _ = write!(s, r#"<circle cx="{:.1}" cy="{:.1}" r="3.5"/>"#, sx(x), sy(y));
                }
                s.push_str("</g>");
                let (lx, ly) = (LEFT + pw + 21.0, TOP + 10.0 + i as f64 * 18.0);
                let _ = write!(s, r#"<circle cx="{lx}" cy="{ly}" r="3.5" {paint}/><text x="{}" y="{}">{}</text>"#, lx + 15.0, ly + 4.0, escape(&series.name));
                continue;
            }
            let _ = write!(
                s,
                r#"<polyline data-series="{}" data-values="[{}]" points="{}" fill="none" stroke="{colour}" stroke-width="1.6"{dash}/>"#,
                escape(&series.name),
                values.join(","),
                path.trim_end()
            );
            let ly = TOP + 10.0 + i as f64 * 18.0;
            let lx = LEFT + pw + 12.0;
            let _ = write!(
                s,
                r#"<line x1="{lx}" x2="{}" y1="{ly}" y2="{ly}" stroke="{colour}" stroke-width="3"{dash}/><text x="{}" y="{}">{}</text>"#,
                lx + 18.0,
                lx + 24.0,
                ly + 4.0,
                escape(&series.name)
            );
        }
        s.push_str("</svg>");
        s
    }
}

/// One vertical axis of a [`Parallel`] chart.
#[derive(Debug, Clone)]
pub struct Axis {
    /// Its name, written under it.
    pub name: String,
    /// Labels at positions from 0 (bottom) to 1 (top).
    pub labels: Vec<(f64, String)>,
}

/// A parallel-coordinates chart: one line per item across the axes, coloured by the last
/// axis (low: blue, high: vermilion).
#[derive(Debug, Clone)]
pub struct Parallel {
    /// What the chart is called in `data-chart`.
    pub key: String,
    /// The axes, left to right.
    pub axes: Vec<Axis>,
    /// Per item: its position on each axis (0..=1) and its values (kept in `data-values`).
    pub lines: Vec<(Vec<f64>, Vec<f64>)>,
}

impl Parallel {
    /// The chart as an `<svg>` element.
    pub fn render(&self) -> String {
        let (top, bottom, side) = (20.0, 60.0, 70.0);
        let ph = HEIGHT - top - bottom;
        let n = self.axes.len().max(2) as f64;
        let ax = |i: usize| side + i as f64 * (WIDTH - 2.0 * side) / (n - 1.0);
        let ay = |p: f64| top + ph - p.clamp(0.0, 1.0) * ph;
        let mut s = String::new();
        let _ =
            write!(s, r#"<svg class="chart" data-chart="{}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" xmlns="http://www.w3.org/2000/svg">"#, escape(&self.key));
        for (positions, values) in &self.lines {
            let heat = positions.last().copied().unwrap_or(0.0).clamp(0.0, 1.0);
            let (r, g, b) = (heat * 213.0, 114.0 - heat * 20.0, 178.0 * (1.0 - heat));
            let points: Vec<String> = positions.iter().enumerate().map(|(i, p)| format!("{:.1},{:.1}", ax(i), ay(*p))).collect();
            let values: Vec<String> = values.iter().map(|v| number_exact(*v)).collect();
            let _ = write!(
                s,
                r#"<polyline data-values="[{}]" points="{}" fill="none" stroke="rgb({r:.0},{g:.0},{b:.0})" stroke-opacity="0.55" stroke-width="1.2"/>"#,
                values.join(","),
                points.join(" ")
            );
        }
        for (i, axis) in self.axes.iter().enumerate() {
            let x = ax(i);
            let _ = write!(s, r##"<line x1="{x:.1}" x2="{x:.1}" y1="{top}" y2="{}" stroke="#444"/>"##, top + ph);
            for (p, label) in &axis.labels {
                let _ = write!(
                    s,
                    r##"<text x="{:.1}" y="{:.1}" text-anchor="end" paint-order="stroke" stroke="#fff" stroke-width="3">{}</text>"##,
                    x - 4.0,
                    ay(*p) + 4.0,
                    escape(label)
                );
            }
            let _ = write!(s, r#"<text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"#, top + ph + 20.0, escape(&axis.name));
        }
        s.push_str("</svg>");
        s
    }
}

/// Smallest and largest value (0..1 when there are none).
fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) }
}

/// Round tick values (1, 2 or 5 × 10^k apart) covering `lo..=hi`, about `n` of them.
pub fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = if hi > lo { hi - lo } else { lo.abs().max(1.0) };
    let raw = span / n.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(10.0 * magnitude);
    let first = (lo / step).floor() * step;
    let last = if hi > lo { (hi / step).ceil() * step } else { first + step };
    let count = ((last - first) / step).round() as usize;
    (0..=count).map(|i| first + i as f64 * step).collect()
}

/// A tick label: thousands separated, at most two decimals.
pub fn number(v: f64) -> String {
    let rounded = (v * 100.0).round() / 100.0;
    let (int, frac) = (rounded.trunc().abs() as u64, (rounded.fract().abs() * 100.0).round() as u64);
    let grouped = thousands(&int.to_string());
    let sign = if rounded < 0.0 { "-" } else { "" };
    match frac {
        0 => format!("{sign}{grouped}"),
        f if f % 10 == 0 => format!("{sign}{grouped}.{}", f / 10),
        f => format!("{sign}{grouped}.{f:02}"),
    }
}

/// A value as JSON writes it (integers without a decimal point).
fn number_exact(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 99.0, 8), [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(ticks(-930.5, 11_482.1, 6), [-5000.0, 0.0, 5000.0, 10_000.0, 15_000.0]);
        let t = ticks(5.0, 5.0, 6);
        assert!(t[0] <= 5.0 && *t.last().unwrap() >= 5.0 && t.len() >= 2, "{t:?}");
    }

    #[test]
    fn labels_group_thousands_and_keep_cents() {
        assert_eq!(number(1_234_567.0), "1,234,567");
        assert_eq!(number(-950.5), "-950.5");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(0.0), "0");
    }

    #[test]
    fn a_chart_carries_the_values_it_draws() {
        let chart = LineChart {
            bands: vec![Band { name: "spread".into(), points: vec![(0.0, 1.0, 2.0), (1.0, -3.0, -1.0)], colour_of: 0 }],
            ..LineChart::new("k", "tick", "balance (currency units)", vec![Series::new("A<1>", vec![(0.0, 1.5), (1.0, -2.0)])])
        };
        let svg = chart.render();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(r#"data-series="A&lt;1&gt;" data-values="[[0,1.5],[1,-2]]""#), "{svg}");
        assert!(svg.contains(r#"data-band="spread" data-values="[[0,1,2],[1,-3,-1]]""#), "{svg}");
        // A step chart holds 1.5 until x = 1, then drops: three vertices.
        let line = svg.split("<polyline").nth(1).unwrap();
        let points = line.split(r#"points=""#).nth(1).unwrap().split('"').next().unwrap();
        assert_eq!(points.split(' ').count(), 3);
        // The band is drawn as its upper edge, then its lower edge back: four vertices.
        let area = svg.split("<polygon").nth(1).unwrap();
        assert_eq!(area.split(r#"points=""#).nth(1).unwrap().split('"').next().unwrap().split(' ').count(), 4);
    }
}
