//! `simcash report`: the HTML stands alone, and the numbers drawn are the dataset's.

use crate::util::{csv, run_ok, simcash, stderr};

/// The `data-values` of the series `name` in the chart `chart`, as (x, y) pairs.
fn drawn(html: &str, chart: &str, name: &str) -> Vec<(f64, f64)> {
    let svg = html.split(&format!(r#"data-chart="{chart}""#)).nth(1).unwrap_or_else(|| panic!("no chart {chart}"));
    let svg = svg.split("</svg>").next().unwrap();
    let values = svg.split(&format!(r#"data-series="{name}" data-values=""#)).nth(1).unwrap_or_else(|| panic!("no series {name} in {chart}"));
    let values: Vec<Vec<f64>> = serde_json::from_str(values.split('"').next().unwrap()).unwrap();
    values.into_iter().map(|p| (p[0], p[1])).collect()
}

/// Rows of a two-column CSV query as numbers.
fn pairs(dir: &std::path::Path, q: &str) -> Vec<(f64, f64)> {
    csv(dir, q).iter().map(|l| l.split_once(',').map(|(a, b)| (a.parse().unwrap(), b.parse().unwrap())).unwrap()).collect()
}

#[test]
fn a_simulation_report_stands_alone_and_draws_what_sql_returns() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_ok(d, &["run", "--simulation-id", "sim-r"]);
    run_ok(d, &["report", "sim-r", "-o", "r.html", "--ticks", "3..4"]);
    let html = std::fs::read_to_string(d.join("r.html")).unwrap();

    // Self-contained: no scripts, nothing fetched (the only URL is SVG's namespace).
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    for outside in ["<script", "src=", "href=", "url(", "@import", "<link", "<iframe"] {
        assert!(!html.contains(outside), "the report refers outside itself: {outside}");
    }
    assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
    assert_eq!(html.matches("<table").count(), html.matches("</table>").count());

    // Balances: each agent's line is its agent_ticks balances, in currency units.
    for agent in ["BANK_A", "BANK_B", "BANK_C", "BANK_D"] {
        let sql = pairs(d, &format!("SELECT tick, balance / 100.0 FROM agent_ticks WHERE simulation_id = 'sim-r' AND agent = '{agent}' ORDER BY tick"));
        assert_eq!(drawn(&html, "balance", agent), sql, "{agent}");
        assert!(!sql.is_empty());
    }
    // Settlements: per tick, zero where none happened; the line adds up to the event count.
    let immediate = drawn(&html, "settlements", "RTGS immediate");
    let count = csv(d, "SELECT count(*) FROM simulation_events WHERE simulation_id = 'sim-r' AND event_type = 'RtgsImmediateSettlement'");
    assert_eq!(immediate.iter().map(|p| p.1).sum::<f64>(), count[0].parse::<f64>().unwrap());
    assert_eq!(immediate.len(), 200, "one point per tick of the 200");
    // Queue 2 sizes as the ticks view counts them.
    let q2 = pairs(d, "SELECT tick, queue2_size FROM ticks WHERE simulation_id = 'sim-r' ORDER BY tick");
    assert_eq!(drawn(&html, "queue_sizes", "Queue 2 (central)"), q2);
    // Costs: the dashed total of the costliest agent ends at its agent_costs total.
    let costliest = csv(d, "SELECT agent, total_cost / 100.0 FROM agent_costs WHERE simulation_id = 'sim-r' ORDER BY total_cost DESC LIMIT 1");
    let (agent, total) = costliest[0].split_once(',').unwrap();
    let line = drawn(&html, &format!("costs:{agent}"), "total");
    assert_eq!(line.last().unwrap().1, total.parse::<f64>().unwrap());
    // The event log lists exactly the chosen ticks' events.
    let events = csv(d, "SELECT count(*) FROM simulation_events WHERE simulation_id = 'sim-r' AND tick BETWEEN 3 AND 4");
    let log = html.split("<h2>Event log</h2>").nth(1).unwrap();
    assert_eq!(log.matches("<tr>").count() - 1, events[0].parse::<usize>().unwrap());
    assert!(log.contains("Events of ticks 3 to 4"));
}

#[test]
fn a_report_of_an_unknown_simulation_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_ok(d, &["run", "--simulation-id", "sim-r"]);
    let o = simcash(d, &["report", "sim-nope", "-o", "r.html"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("sim-nope") && stderr(&o).contains("simcash list"), "{}", stderr(&o));
    assert!(!d.join("r.html").exists());
    let o = simcash(d, &["report", "sim-r", "--ticks", "9..2"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// The `data-values` of the band `name` in the chart `chart`, as (x, low, high).
fn band(html: &str, chart: &str, name: &str) -> Vec<(f64, f64, f64)> {
    let svg = html.split(&format!(r#"data-chart="{chart}""#)).nth(1).unwrap_or_else(|| panic!("no chart {chart}"));
    let values = svg.split(&format!(r#"data-band="{name}" data-values=""#)).nth(1).unwrap();
    let values: Vec<Vec<f64>> = serde_json::from_str(values.split('"').next().unwrap()).unwrap();
    values.into_iter().map(|p| (p[0], p[1], p[2])).collect()
}

#[test]
fn a_sweep_report_draws_each_varying_axis_as_sql_aggregates_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sweeps = crate::util::data("sweeps");
    for file in ["full.yaml", "tiny.yaml", "release.json", "hold_low_priority.json"] {
        std::fs::copy(sweeps.join(file), d.join(file)).unwrap();
    }
    run_ok(d, &["sweep", "full.yaml"]);
    // By name; the experiment id works too.
    run_ok(d, &["report", "tiny-full", "-o", "s.html"]);
    let html = std::fs::read_to_string(d.join("s.html")).unwrap();
    let id = &csv(d, "SELECT DISTINCT experiment_id FROM sweep_points")[0];
    run_ok(d, &["report", id, "-o", "by-id.html"]);
    assert_eq!(std::fs::read_to_string(d.join("by-id.html")).unwrap(), html, "same sweep, same report");
    for outside in ["<script", "src=", "href=", "url(", "@import", "<link"] {
        assert!(!html.contains(outside), "{outside}");
    }

    // A numeric axis (true/false are not numbers: placed by rank) and a policy axis.
    let axis = "lsm_config.enable_cycles";
    let sql = csv(
        d,
        "SELECT array_element(parameter_values, 1) AS v, avg(total_cost) / 100.0, min(total_cost) / 100.0, max(total_cost) / 100.0 FROM sweep_points GROUP BY 1 ORDER BY 1",
    );
    let means = drawn(&html, &format!("cost:{axis}"), "mean");
    let ranges = band(&html, &format!("cost:{axis}"), "lowest to highest");
    assert_eq!(means.len(), 2);
    for (i, line) in sql.iter().enumerate() {
        let f: Vec<f64> = line.split(',').skip(1).map(|v| v.parse().unwrap()).collect();
        assert_eq!(means[i], ((i + 1) as f64, f[0]), "{line}");
        assert_eq!(ranges[i], ((i + 1) as f64, f[1], f[2]), "{line}");
    }
    assert!(html.contains("Along the axis: 1 = false, 2 = true."));
    assert!(html.contains(r#"data-chart="cost:policy of BANK_B""#));
    // A parameter with one value has no chart and no column.
    assert!(!html.contains("liquidity_allocation_fraction"), "single-valued parameters are left out");
    // The histogram counts every simulation once.
    let counted: f64 = drawn(&html, "cost_histogram", "simulations").iter().map(|p| p.1).sum();
    assert_eq!(counted, csv(d, "SELECT count(*) FROM sweep_points")[0].parse::<f64>().unwrap());
    // Parameters to cost: one line per configuration, ending at its mean total cost.
    let parallel = html.split(r#"data-chart="parallel""#).nth(1).unwrap().split("</svg>").next().unwrap();
    let ends: Vec<f64> =
        parallel.split(r#"<polyline data-values="["#).skip(1).map(|l| l.split(']').next().unwrap().rsplit(',').next().unwrap().parse().unwrap()).collect();
    let means: Vec<f64> =
        csv(d, "SELECT avg(total_cost) / 100.0 AS m FROM sweep_points GROUP BY configuration ORDER BY m").iter().map(|v| v.parse().unwrap()).collect();
    assert_eq!(ends, means);
    // The configurations: all four, cheapest first, as SQL orders them.
    let best = html.split("<h2>Configurations</h2>").nth(1).unwrap();
    assert!(best.contains("All 4 configurations, cheapest first"), "{best}");
    let order = csv(d, "SELECT configuration FROM sweep_points GROUP BY configuration ORDER BY avg(total_cost), configuration");
    let listed: Vec<&str> = best.split("<tr><td class=\"n\">").skip(1).map(|r| r.split('<').next().unwrap()).collect();
    assert_eq!(listed, order, "{best}");
}

#[test]
fn an_experiment_report_draws_costs_savings_and_parameters_as_the_views_hold_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = crate::util::data("experiments/exp3.yaml");
    run_ok(d, &["experiment", "run", file.to_str().unwrap(), "--max-iterations", "3", "--jobs", "2"]);
    let name = csv(d, "SELECT name FROM experiments")[0].clone();
    run_ok(d, &["report", &name, "-o", "e.html"]);
    let html = std::fs::read_to_string(d.join("e.html")).unwrap();
    for outside in ["<script", "src=", "href=", "url(", "@import", "<link"] {
        assert!(!html.contains(outside), "{outside}");
    }
    for agent in csv(d, "SELECT DISTINCT agent FROM experiment_iterations ORDER BY 1") {
        let q = |what: &str| {
            pairs(d, &format!("SELECT iteration, {what} FROM experiment_iterations WHERE agent = '{agent}' AND {what} IS NOT NULL ORDER BY iteration"))
        };
        assert_eq!(drawn(&html, "cost", &agent), q("cost / 100.0"), "{agent}");
        // Iterations that proposed nothing have no saving (not a saving of zero).
        let gains = q("(mean_old - mean_new) / 100.0");
        assert!(gains.len() < q("cost").len(), "exp3 stops proposing changes: {gains:?}");
        assert_eq!(drawn(&html, &format!("gain:{agent}"), "old − new, mean"), gains, "{agent}");
        // Every proposal is one dot: accepted ones filled, rejected ones hollow.
        let (yes, no) = (drawn(&html, "cost", &format!("{agent} accepted")), drawn(&html, "cost", &format!("{agent} rejected")));
        assert_eq!(yes.len() + no.len(), q("mean_new").len());
        assert_eq!(
            yes.iter().map(|p| p.0).collect::<Vec<_>>(),
            pairs(d, &format!("SELECT iteration, 0 FROM experiment_iterations WHERE agent = '{agent}' AND accepted ORDER BY 1"))
                .iter()
                .map(|p| p.0)
                .collect::<Vec<_>>()
        );
    }
    // The last proposal's samples: each histogram counts every sample once.
    for agent in csv(d, "SELECT DISTINCT agent FROM policy_evaluations ORDER BY 1") {
        let n: f64 = csv(d, &format!("SELECT count(*) FROM policy_evaluations WHERE agent = '{agent}' AND iteration = (SELECT max(iteration) FROM policy_evaluations WHERE agent = '{agent}')"))[0].parse().unwrap();
        for policy in ["current policy", "proposed policy"] {
            let counted: f64 = drawn(&html, &format!("samples:{agent}"), policy).iter().map(|p| p.1).sum();
            assert_eq!(counted, n, "{agent} {policy}");
        }
    }
    let parameter = csv(d, "SELECT DISTINCT parameter FROM policy_evolution ORDER BY 1");
    assert!(!parameter.is_empty());
    assert!(html.contains(&format!(r#"data-chart="parameter:{}""#, parameter[0])));
    assert!(html.contains("<h2>Final policies</h2>"));
}

#[test]
fn a_simulation_report_draws_every_node_of_each_agents_decision_trees() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let scenario = crate::util::data("simcash/scenarios/advanced_policy_crisis.yaml");
    run_ok(d, &["run", scenario.to_str().unwrap(), "--simulation-id", "sim-trees"]);
    run_ok(d, &["report", "sim-trees", "-o", "t.html"]);
    let html = std::fs::read_to_string(d.join("t.html")).unwrap();
    let policies: serde_json::Value =
        serde_json::from_str(&csv(d, "SELECT policies_json FROM simulations").join("\n").trim_matches('"').replace("\"\"", "\"")).unwrap();
    fn nodes(n: &serde_json::Value) -> usize {
        1 + ["on_true", "on_false"].iter().filter_map(|k| n.get(*k)).map(nodes).sum::<usize>()
    }
    let mut trees = 0;
    for (agent, policy) in policies.as_object().unwrap() {
        let doc = &policy["Tree"]["document"];
        let expected = nodes(&doc["payment_tree"]);
        let svg = html.split(&format!(r#"data-tree="{agent}:payment_tree""#)).nth(1).unwrap_or_else(|| panic!("no tree for {agent}"));
        assert_eq!(svg.split("</svg>").next().unwrap().matches(r#"<g class="node""#).count(), expected, "{agent}");
        trees += 1;
    }
    assert_eq!(trees, 4);
}
