//! The report of a parameter sweep: total cost and settlement rate against each swept
//! parameter (mean, with the range of the simulations behind it), the distribution of total
//! cost, and the configurations, cheapest first, with only the parameters that vary. Every
//! chart is one `GROUP BY` over `sweep_points`, so a sweep of 10,000 points makes a light page.

use std::collections::BTreeMap;

use datafusion::prelude::SessionContext;

use super::html::{page, section, table};
use super::svg::{Band, LineChart, Series};
use super::{ReportError, Rows, literal, money};

/// Configurations listed at most in the table of configurations (the cheapest).
pub const BEST: usize = 200;
/// Bars of the total-cost histogram.
const BINS: usize = 20;

/// The mean settlement rate, summed exactly (as decimals): a sum of floats depends on the
/// order in which parallel partitions meet, and the same sweep must draw the same report.
const MEAN_RATE: &str = "CAST(avg(CAST(settlement_rate AS DECIMAL(38, 17))) AS DOUBLE)";
/// Separates list items joined in SQL (a control character no name contains).
const SEP: char = '\u{1f}';

/// One swept axis: a scenario parameter or an agent's policy file.
struct Axis {
    /// Shown on the chart and in the table.
    label: String,
    /// The SQL expression of its value in `sweep_points`.
    expr: String,
}

/// The sweep whose experiment id or name is `target`, if there is one: its experiment id.
pub async fn find(ctx: &SessionContext, target: &str) -> Result<Option<String>, ReportError> {
    let t = literal(target);
    let rows = Rows::query(ctx, &format!("SELECT DISTINCT experiment_id FROM sweep_points WHERE experiment_id = {t} OR sweep_name = {t} ORDER BY 1")).await?;
    Ok(rows.texts("experiment_id")?.into_iter().next())
}

/// The HTML report of the sweep recorded under `experiment_id`.
pub async fn report(ctx: &SessionContext, experiment_id: &str) -> Result<String, ReportError> {
    let exp = literal(experiment_id);
    let from = format!("FROM sweep_points WHERE experiment_id = {exp}");
    let meta = Rows::query(
        ctx,
        &format!(
            "SELECT min(sweep_name) AS name, min(scenario) AS scenario, count(*) AS points, count(DISTINCT configuration) AS configurations, \
             count(DISTINCT seed) AS seeds, avg(total_cost) AS cost, {MEAN_RATE} AS rate {from}"
        ),
    )
    .await?;
    let text = |c: &str| meta.first(c);
    let points: usize = text("points")?.parse().unwrap_or(0);
    if points == 0 {
        return Err(ReportError::NotFound(experiment_id.to_owned()));
    }
    let subtitle = format!(
        "experiment {experiment_id} · scenario {} · {points} simulations: {} configuration(s) × {} seed(s) · mean total cost {} · mean settlement rate {:.1}%",
        text("scenario")?,
        text("configurations")?,
        text("seeds")?,
        money(meta.numbers("cost")?[0]),
        meta.numbers("rate")?[0] * 100.0
    );
    let axes = axes(ctx, &from).await?;
    let mut sections = Vec::new();
    let mut varying = Vec::new();
    for axis in &axes {
        if let Some(s) = by_axis(ctx, &from, axis).await? {
            sections.push(s);
            varying.push(axis);
        }
    }
    if varying.len() >= 2 {
        sections.push(parallel(ctx, &from, &varying).await?);
    }
    sections.push(histogram(ctx, &from).await?);
    sections.push(best(ctx, &from, &varying).await?);
    Ok(page(&format!("Sweep {}", text("name")?), &subtitle, &sections))
}

/// The swept parameters and policy agents, in the sweep file's order.
async fn axes(ctx: &SessionContext, from: &str) -> Result<Vec<Axis>, ReportError> {
    let rows = Rows::query(
        ctx,
        &format!("SELECT array_to_string(parameter_names, '{SEP}') AS names, array_to_string(policy_agents, '{SEP}') AS agents {from} LIMIT 1"),
    )
    .await?;
    let split = |s: &str| s.split(SEP).filter(|n| !n.is_empty()).map(str::to_owned).collect::<Vec<_>>();
    let (names, agents) = (split(&rows.first("names")?), split(&rows.first("agents")?));
    let params = names.into_iter().enumerate().map(|(i, n)| Axis { label: n, expr: format!("array_element(parameter_values, {})", i + 1) });
    let policies =
        agents.into_iter().enumerate().map(|(i, a)| Axis { label: format!("policy of {a}"), expr: format!("array_element(policy_files, {})", i + 1) });
    Ok(params.chain(policies).collect())
}

/// Cost and settlement rate against one axis; `None` when the axis has a single value.
async fn by_axis(ctx: &SessionContext, from: &str, axis: &Axis) -> Result<Option<String>, ReportError> {
    let rows = Rows::query(
        ctx,
        &format!(
            "SELECT {} AS v, count(*) AS n, avg(total_cost) / 100.0 AS mean, min(total_cost) / 100.0 AS lo, max(total_cost) / 100.0 AS hi, \
             {MEAN_RATE} * 100 AS rate, min(settlement_rate) * 100 AS rlo, max(settlement_rate) * 100 AS rhi {from} GROUP BY 1",
            axis.expr
        ),
    )
    .await?;
    if rows.len() < 2 {
        return Ok(None);
    }
    let values = rows.texts("v")?;
    // Numbers are placed by value; anything else by its rank, named in the text.
    let numeric: Option<Vec<f64>> = values.iter().map(|v| v.parse().ok()).collect();
    let (xs, key) = match numeric {
        Some(xs) => (xs, String::new()),
        None => {
            let mut sorted = values.clone();
            sorted.sort();
            let rank = |v: &String| sorted.iter().position(|s| s == v).unwrap_or(0) as f64 + 1.0;
            let key = sorted.iter().enumerate().map(|(i, v)| format!("{} = {v}", i + 1)).collect::<Vec<_>>().join(", ");
            (values.iter().map(rank).collect(), format!(" Along the axis: {key}."))
        }
    };
    let mut order: Vec<usize> = (0..xs.len()).collect();
    order.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let chart = |key: &str, y_label: &str, [mean, lo, hi]: [&str; 3]| -> Result<String, ReportError> {
        let (m, l, h) = (rows.numbers(mean)?, rows.numbers(lo)?, rows.numbers(hi)?);
        let mean = Series::new("mean", order.iter().map(|&i| (xs[i], m[i])).collect());
        let chart = LineChart {
            bands: vec![Band { name: "lowest to highest".into(), points: order.iter().map(|&i| (xs[i], l[i], h[i])).collect(), colour_of: 0 }],
            step: false,
            ..LineChart::new(format!("{key}:{}", axis.label), &axis.label, y_label, vec![mean])
        };
        Ok(chart.render())
    };
    let body = chart("cost", "total cost (currency units)", ["mean", "lo", "hi"])? + &chart("rate", "settlement rate (%)", ["rate", "rlo", "rhi"])?;
    let about = format!(
        "Total cost and settlement rate of the simulations at each value of {}: the mean, and shaded, the lowest to the highest simulation (over seeds and the other parameters).{key}",
        axis.label
    );
    Ok(Some(section(&format!("Against {}", axis.label), &about, &body)))
}

/// One axis of the parallel-coordinates chart, its value for every configuration.
struct Coordinate {
    name: String,
    /// Numbers, or for text values their rank in `categories`.
    values: Vec<f64>,
    /// The sorted text values; empty for a numeric axis.
    categories: Vec<String>,
}

/// Configurations a parallel-coordinates chart draws at most (the cheapest).
pub const PARALLEL_LINES: usize = 10_000;

/// Every configuration as a line from its parameter values to its mean total cost.
async fn parallel(ctx: &SessionContext, from: &str, varying: &[&Axis]) -> Result<String, ReportError> {
    let values: String = varying.iter().enumerate().map(|(i, a)| format!(", min({}) AS v{i}", a.expr)).collect();
    let rows = Rows::query(
        ctx,
        &format!(
            "SELECT configuration{values}, avg(total_cost) / 100.0 AS mean {from} GROUP BY configuration ORDER BY mean, configuration LIMIT {PARALLEL_LINES}"
        ),
    )
    .await?;
    // Each axis as numbers: values themselves, or ranks of sorted text (`categories`).
    let mut columns: Vec<Coordinate> = Vec::new();
    for (i, axis) in varying.iter().enumerate() {
        let text = rows.texts(&format!("v{i}"))?;
        let column = match text.iter().map(|v| v.parse().ok()).collect::<Option<Vec<f64>>>() {
            Some(values) => Coordinate { name: axis.label.clone(), values, categories: Vec::new() },
            None => {
                let mut categories = text.clone();
                categories.sort();
                categories.dedup();
                let values = text.iter().map(|v| categories.iter().position(|s| s == v).unwrap_or(0) as f64).collect();
                Coordinate { name: axis.label.clone(), values, categories }
            }
        };
        columns.push(column);
    }
    columns.push(Coordinate { name: "mean total cost (currency units)".into(), values: rows.numbers("mean")?, categories: Vec::new() });
    let bounds: Vec<(f64, f64)> =
        columns.iter().map(|c| c.values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(*x), hi.max(*x)))).collect();
    // Positions on an axis, 0 (its lowest value) to 1 (its highest).
    let position = |c: usize, v: f64| {
        let (lo, hi) = bounds[c];
        if hi > lo { (v - lo) / (hi - lo) } else { 0.5 }
    };
    let axes = columns
        .iter()
        .enumerate()
        .map(|(c, column)| {
            let labels = match column.categories.is_empty() {
                true => [bounds[c].0, bounds[c].1].iter().map(|v| (position(c, *v), super::svg::number(*v))).collect(),
                false => column.categories.iter().enumerate().map(|(k, name)| (position(c, k as f64), name.clone())).collect(),
            };
            super::svg::Axis { name: column.name.clone(), labels }
        })
        .collect();
    let lines = (0..rows.len())
        .map(|r| {
            let values: Vec<f64> = columns.iter().map(|c| c.values[r]).collect();
            (values.iter().enumerate().map(|(c, v)| position(c, *v)).collect(), values)
        })
        .collect();
    let chart = super::svg::Parallel { key: "parallel".into(), axes, lines };
    let about = format!(
        "Each configuration (the {PARALLEL_LINES} cheapest at most) as a line from its parameter values to its mean total cost; blue lines are cheap, vermilion ones costly. Text values are placed in sorted order."
    );
    Ok(section("Parameters to cost", &about, &chart.render()))
}

/// How total cost is spread over the sweep's simulations.
async fn histogram(ctx: &SessionContext, from: &str) -> Result<String, ReportError> {
    let range = Rows::query(ctx, &format!("SELECT min(total_cost) AS lo, max(total_cost) AS hi {from}")).await?;
    let (lo, hi) = (range.numbers("lo")?[0], range.numbers("hi")?[0]);
    let width = ((hi - lo) / BINS as f64).max(1.0);
    let rows = Rows::query(
        ctx,
        &format!("SELECT least(CAST(floor((total_cost - {lo}) / {width}) AS BIGINT), {}) AS bin, count(*) AS n {from} GROUP BY 1 ORDER BY 1", BINS - 1),
    )
    .await?;
    let counts: BTreeMap<i64, f64> = rows.numbers("bin")?.into_iter().map(|b| b as i64).zip(rows.numbers("n")?).collect();
    // A step line over the bins' lower edges, closed at the last bin's upper edge.
    let mut points: Vec<(f64, f64)> = (0..BINS as i64).map(|b| ((lo + b as f64 * width) / 100.0, counts.get(&b).copied().unwrap_or(0.0))).collect();
    points.push(((lo + BINS as f64 * width) / 100.0, 0.0));
    let chart = LineChart::new("cost_histogram", "total cost (currency units)", "simulations", vec![Series::new("simulations", points)]);
    Ok(section("Distribution of total cost", &format!("How many simulations fall in each of {BINS} equal ranges of total cost."), &chart.render()))
}

/// The configurations, cheapest first (the [`BEST`] cheapest of a larger sweep), showing
/// only the axes that vary.
async fn best(ctx: &SessionContext, from: &str, varying: &[&Axis]) -> Result<String, ReportError> {
    let values: String = varying.iter().enumerate().map(|(i, a)| format!(", min({}) AS v{i}", a.expr)).collect();
    let rows = Rows::query(
        ctx,
        &format!(
            "SELECT configuration{values}, count(*) AS seeds, avg(total_cost) AS mean, stddev(total_cost) AS sd, {MEAN_RATE} * 100 AS rate, count(*) OVER () AS configurations \
             {from} GROUP BY configuration ORDER BY mean, configuration LIMIT {BEST}"
        ),
    )
    .await?;
    let columns: Vec<Vec<String>> = (0..varying.len()).map(|i| rows.texts(&format!("v{i}"))).collect::<Result<_, _>>()?;
    let (config, seeds) = (rows.texts("configuration")?, rows.texts("seeds")?);
    let (mean, sd, rate) = (rows.numbers("mean")?, rows.numbers("sd")?, rows.numbers("rate")?);
    let body: Vec<Vec<String>> = (0..rows.len())
        .map(|r| {
            let mut row = vec![config[r].clone()];
            row.extend(columns.iter().map(|c| c[r].clone()));
            row.extend([seeds[r].clone(), money(mean[r]), money(sd[r]), format!("{:.1}", rate[r])]);
            row
        })
        .collect();
    let mut headers: Vec<&str> = vec!["configuration"];
    headers.extend(varying.iter().map(|a| a.label.as_str()));
    headers.extend(["seeds", "mean total cost", "standard deviation", "settlement rate (%)"]);
    let total = rows.numbers("configurations")?.first().copied().unwrap_or(0.0) as usize;
    let which = if total > rows.len() {
        format!("The {} of {total} configurations with the lowest mean total cost", rows.len())
    } else {
        format!("All {total} configurations, cheapest first")
    };
    let about = format!("{which} (parameters that take one value in the whole sweep are left out; money in currency units).");
    Ok(section("Configurations", &about, &table(&headers, &body)))
}
