//! The report of a policy-optimisation experiment: each optimised agent's cost per iteration
//! with its accepted and rejected proposals, the paired evaluation's improvement and its
//! confidence interval, how each policy parameter moved, and the final policies.

use std::fmt::Write;

use datafusion::prelude::SessionContext;

use super::html::{escape, page, section, table};
use super::svg::{Band, LineChart, Series};
use super::{ReportError, Rows, literal, money};

/// The experiment whose id or name is `target`, if there is one: its id.
pub async fn find(ctx: &SessionContext, target: &str) -> Result<Option<String>, ReportError> {
    let t = literal(target);
    let rows =
        Rows::query(ctx, &format!("SELECT experiment_id FROM experiments WHERE experiment_id = {t} OR name = {t} ORDER BY started_at DESC LIMIT 1")).await?;
    Ok(rows.texts("experiment_id")?.into_iter().next())
}

/// The HTML report of the experiment `experiment_id`.
pub async fn report(ctx: &SessionContext, experiment_id: &str) -> Result<String, ReportError> {
    let exp = literal(experiment_id);
    let meta = Rows::found(
        ctx,
        &format!(
            "SELECT name, scenario, mode, num_samples, status, convergence_reason, iterations, array_to_string(optimized_agents, ', ') AS agents \
             FROM experiments WHERE experiment_id = {exp}"
        ),
        experiment_id,
    )
    .await?;
    let text = |c: &str| meta.first(c);
    let subtitle = format!(
        "experiment {experiment_id} · scenario {} · {} evaluation, {} sample(s) · agents optimised: {} · {} iteration(s) · {}: {}",
        text("scenario")?,
        text("mode")?,
        text("num_samples")?,
        text("agents")?,
        text("iterations")?,
        text("status")?,
        text("convergence_reason")?,
    );
    let from = format!("FROM experiment_iterations WHERE experiment_id = {exp}");
    let agents = Rows::query(ctx, &format!("SELECT DISTINCT agent {from} ORDER BY agent")).await?.texts("agent")?;
    let mut sections = vec![costs(ctx, &from, &agents).await?, improvements(ctx, &from, &agents).await?];
    sections.push(samples(ctx, &exp, &agents).await?);
    sections.push(parameters(ctx, &exp).await?);
    sections.push(final_policies(ctx, &from).await?);
    Ok(page(&format!("Experiment {}", text("name")?), &subtitle, &sections))
}

async fn costs(ctx: &SessionContext, from: &str, agents: &[String]) -> Result<String, ReportError> {
    let rows = Rows::query(
        ctx,
        &format!("SELECT agent, iteration, cost / 100.0 AS cost, mean_new / 100.0 AS proposed, accepted, total_cost / 100.0 AS total {from} ORDER BY agent, iteration"),
    )
    .await?;
    let (agent, iteration, cost, proposed, accepted) =
        (rows.texts("agent")?, rows.numbers("iteration")?, rows.optional("cost")?, rows.optional("proposed")?, rows.texts("accepted")?);
    let mut series = Vec::new();
    for (k, a) in agents.iter().enumerate() {
        // Points of the rows of `a` that `keep`, where `y` is known (no proposal: no dot).
        let of = |keep: &dyn Fn(usize) -> bool, y: &[Option<f64>]| -> Vec<(f64, f64)> {
            (0..rows.len()).filter(|&i| agent[i] == *a && keep(i)).filter_map(|i| Some((iteration[i], y[i]?))).collect()
        };
        series.push(Series { colour_of: Some(k), ..Series::new(a.clone(), of(&|_| true, &cost)) });
        let accepted_new = of(&|i| accepted[i] == "true", &proposed);
        let rejected_new = of(&|i| accepted[i] != "true", &proposed);
        series.push(Series { colour_of: Some(k), dots: true, ..Series::new(format!("{a} accepted"), accepted_new) });
        // Dashed dots are drawn hollow.
        series.push(Series { colour_of: Some(k), dots: true, dashed: true, ..Series::new(format!("{a} rejected"), rejected_new) });
    }
    let chart = LineChart { step: false, ..LineChart::new("cost", "iteration", "mean cost per sample (currency units)", series) };
    let about = "Each agent's mean cost per evaluation sample with the policy it held at each iteration (line), and the mean cost of the policy proposed at that iteration (dots: filled when accepted, hollow when rejected).";
    Ok(section("Cost per iteration", about, &chart.render()))
}

async fn improvements(ctx: &SessionContext, from: &str, agents: &[String]) -> Result<String, ReportError> {
    let rows = Rows::query(
        ctx,
        &format!(
            "SELECT agent, iteration, (mean_old - mean_new) / 100.0 AS gain, ci_low / 100.0 AS lo, ci_high / 100.0 AS hi {from} ORDER BY agent, iteration"
        ),
    )
    .await?;
    let (agent, iteration, gain, lo, hi) =
        (rows.texts("agent")?, rows.numbers("iteration")?, rows.optional("gain")?, rows.optional("lo")?, rows.optional("hi")?);
    let mut charts = String::new();
    for a in agents {
        // Iterations without a proposal have no saving; deterministic evaluations no interval.
        let idx: Vec<usize> = (0..rows.len()).filter(|&i| agent[i] == *a && gain[i].is_some()).collect();
        let interval = idx.iter().filter_map(|&i| Some((iteration[i], lo[i]?, hi[i]?))).collect::<Vec<_>>();
        let saving = Series { dots: idx.len() == 1, ..Series::new("old − new, mean", idx.iter().filter_map(|&i| Some((iteration[i], gain[i]?))).collect()) };
        let chart = LineChart {
            bands: if interval.is_empty() { Vec::new() } else { vec![Band { name: "confidence interval".into(), points: interval, colour_of: 0 }] },
            step: false,
            ..LineChart::new(format!("gain:{a}"), "iteration", "cost saved per sample (currency units)", vec![saving])
        };
        charts.push_str(&format!("<h3>{}</h3>{}", escape(a), chart.render()));
    }
    let about = "How much the proposed policy saved over the current one in the paired evaluation (mean over samples of old cost minus new cost; iterations that proposed no change are left out), shaded: the confidence interval of that mean (bootstrap evaluations); above zero means the proposal was cheaper.";
    Ok(section("Paired evaluation", about, &charts))
}

/// Bars of a sample-cost histogram.
const BINS: usize = 16;

/// The paired evaluation of each agent's last proposal: its samples' costs under the old and
/// the new policy, as two histograms over the same ranges.
async fn samples(ctx: &SessionContext, exp: &str, agents: &[String]) -> Result<String, ReportError> {
    let mut charts = String::new();
    for a in agents {
        let agent = literal(a);
        let rows = Rows::query(
            ctx,
            &format!(
                "SELECT iteration, old_cost / 100.0 AS old, new_cost / 100.0 AS new FROM policy_evaluations WHERE experiment_id = {exp} AND agent = {agent} \
                 AND iteration = (SELECT max(iteration) FROM policy_evaluations WHERE experiment_id = {exp} AND agent = {agent}) ORDER BY sample"
            ),
        )
        .await?;
        if rows.len() == 0 {
            continue;
        }
        let (old, new) = (rows.numbers("old")?, rows.numbers("new")?);
        let (lo, hi) = old.iter().chain(&new).fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
        let width = if hi > lo { (hi - lo) / BINS as f64 } else { 1.0 };
        let histogram = |values: &[f64]| -> Vec<(f64, f64)> {
            let mut counts = [0.0; BINS];
            for v in values {
                counts[(((v - lo) / width) as usize).min(BINS - 1)] += 1.0;
            }
            let mut points: Vec<(f64, f64)> = counts.iter().enumerate().map(|(b, c)| (lo + b as f64 * width, *c)).collect();
            points.push((lo + BINS as f64 * width, 0.0));
            points
        };
        let series = vec![Series::new("current policy", histogram(&old)), Series::new("proposed policy", histogram(&new))];
        let chart = LineChart::new(format!("samples:{a}"), "cost of a sample (currency units)", "samples", series);
        let iteration = rows.first("iteration")?;
        let _ = write!(charts, "<h3>{} (iteration {})</h3>{}", escape(a), escape(&iteration), chart.render());
    }
    if charts.is_empty() {
        charts.push_str("<p>No paired evaluations are stored.</p>");
    }
    let about = format!(
        "The costs of the evaluation samples of each agent's last proposal, under its current policy and under the proposed one ({BINS} equal ranges)."
    );
    Ok(section("Evaluation samples", &about, &charts))
}

async fn parameters(ctx: &SessionContext, exp: &str) -> Result<String, ReportError> {
    let rows = Rows::query(
        ctx,
        &format!("SELECT parameter, agent, iteration, value FROM policy_evolution WHERE experiment_id = {exp} ORDER BY parameter, agent, iteration"),
    )
    .await?;
    let (parameter, agent, iteration, value) = (rows.texts("parameter")?, rows.texts("agent")?, rows.numbers("iteration")?, rows.numbers("value")?);
    let mut names: Vec<&String> = parameter.iter().collect();
    names.dedup();
    let mut charts = String::new();
    for p in names {
        let mut agents: Vec<&String> = (0..rows.len()).filter(|&i| parameter[i] == *p).map(|i| &agent[i]).collect();
        agents.dedup();
        let series = agents
            .iter()
            .map(|a| Series::new((*a).clone(), (0..rows.len()).filter(|&i| parameter[i] == *p && agent[i] == **a).map(|i| (iteration[i], value[i])).collect()))
            .collect();
        let chart = LineChart::new(format!("parameter:{p}"), "iteration", p, series);
        charts.push_str(&format!("<h3>{}</h3>{}", escape(p), chart.render()));
    }
    if charts.is_empty() {
        charts.push_str("<p>The policies have no numeric parameters.</p>");
    }
    Ok(section("Policy parameters", "The value of each policy parameter in the policy each agent held at each iteration.", &charts))
}

async fn final_policies(ctx: &SessionContext, from: &str) -> Result<String, ReportError> {
    let rows = Rows::query(
        ctx,
        &format!(
            "SELECT i.agent, i.iteration, i.cost, i.next_policy_json FROM (SELECT * {from}) i \
             JOIN (SELECT agent, max(iteration) AS last {from} GROUP BY agent) l ON i.agent = l.agent AND i.iteration = l.last ORDER BY i.agent"
        ),
    )
    .await?;
    let (agent, iteration, cost, policy) = (rows.texts("agent")?, rows.texts("iteration")?, rows.numbers("cost")?, rows.texts("next_policy_json")?);
    let body: Vec<Vec<String>> = (0..rows.len()).map(|i| vec![agent[i].clone(), iteration[i].clone(), money(cost[i]), policy[i].clone()]).collect();
    let about = "The policy each agent holds after the last iteration (its JSON), and its mean cost per sample at that iteration in currency units.";
    Ok(section("Final policies", about, &table(&["agent", "last iteration", "mean cost", "policy"], &body)))
}
