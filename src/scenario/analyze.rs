//! `ocisim analyze`: the scenario once per single fault-domain and single
//! availability-domain failure, each its own deterministic run, spread over the
//! machine's cores; the worst case for capacity and for every expectation,
//! naming the failure that breaks it.

use std::path::Path;

use serde::Serialize;

use super::plan::{LoadOptions, Loaded, load};
use super::report::Report;
use super::run::run;
use super::source::ScenarioError;
use crate::kernel::{SimDuration, SimTime};
use crate::model::topology::FaultDomain;
use crate::sim::FailureScope;

/// How each failure is injected.
#[derive(Clone, Debug)]
pub struct AnalyzeOptions {
    /// When the failure starts (default: a third into the run).
    pub at: Option<SimDuration>,
    /// How long it lasts (default: to the end of the run).
    pub duration: Option<SimDuration>,
    /// Seed override.
    pub seed: Option<u64>,
    /// Worker threads (default: available cores).
    pub threads: Option<usize>,
}

/// One failure's outcome.
#[derive(Debug, Serialize)]
pub struct CaseRow {
    /// The failure, e.g. `PHX-AD-1/FAULT-DOMAIN-2`.
    pub failure: String,
    /// Fewest ready replicas over all Deployments after the failure (`ready/desired`).
    pub min_ready: Option<String>,
    /// The same as a fraction of desired, for ranking.
    pub min_ready_fraction: f64,
    /// Time from the failure to full recovery, if it recovered.
    pub recovery: Option<String>,
    /// Expectations that failed in this case.
    pub failed: Vec<String>,
    /// Log hash of the case's run.
    pub log_hash: String,
}

/// The analysis.
#[derive(Debug, Serialize)]
pub struct Analysis {
    /// Scenario name.
    pub scenario: String,
    /// When each failure started.
    pub at: String,
    /// How long each lasted (`None`: to the end).
    pub duration: Option<String>,
    /// One row per failure, ADs first, then FDs.
    pub cases: Vec<CaseRow>,
    /// The failure with the fewest ready replicas.
    pub worst_capacity: Option<String>,
    /// Per expectation: the failures that break it.
    pub broken: Vec<(String, Vec<String>)>,
}

/// Runs the analysis of the scenario at `path`.
pub fn analyze(path: &Path, opts: &AnalyzeOptions) -> Result<Analysis, ScenarioError> {
    let base = load(
        path,
        &LoadOptions {
            seed: opts.seed,
            ..LoadOptions::default()
        },
    )?;
    let duration = base.duration;
    let at = opts.at.unwrap_or(SimDuration(duration.as_ms() / 3));
    if at >= duration {
        return Err(ScenarioError {
            file: path.display().to_string(),
            line: None,
            field: None,
            message: format!("--at {at} is not before the end of the run ({duration})"),
        });
    }
    let until = opts
        .duration
        .map(|d| SimTime::ZERO + at + d)
        .filter(|u| *u < SimTime::ZERO + duration);
    let cases = failure_cases(&base);
    let expectations: Vec<String> = base.expectations.iter().map(|(l, _)| l.clone()).collect();
    let name = base.name.clone();
    drop(base);
    let threads = opts
        .threads
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .max(1);
    let reports = run_cases(path, opts.seed, &cases, SimTime::ZERO + at, until, threads)?;
    let rows: Vec<CaseRow> = cases
        .iter()
        .zip(&reports)
        .map(|((label, _), r)| case_row(label, r))
        .collect();
    let worst_capacity = rows
        .iter()
        .min_by(|a, b| a.min_ready_fraction.total_cmp(&b.min_ready_fraction))
        .filter(|r| r.min_ready.is_some())
        .map(|r| {
            format!(
                "{} (fewest ready {})",
                r.failure,
                r.min_ready.as_deref().unwrap_or("?")
            )
        });
    let broken = expectations
        .into_iter()
        .map(|e| {
            let by: Vec<String> = rows
                .iter()
                .filter(|r| r.failed.contains(&e))
                .map(|r| r.failure.clone())
                .collect();
            (e, by)
        })
        .collect();
    Ok(Analysis {
        scenario: name,
        at: (SimTime::ZERO + at).to_string(),
        duration: opts.duration.map(|d| d.to_string()),
        cases: rows,
        worst_capacity,
        broken,
    })
}

/// Every AD, then every FD with virtual nodes, as (label, scope).
fn failure_cases(l: &Loaded) -> Vec<(String, FailureScope)> {
    let w = &l.world;
    let mut ads: Vec<u8> = w
        .kube
        .nodes
        .iter()
        .map(|n| n.virtual_node.availability_domain)
        .collect();
    ads.sort();
    ads.dedup();
    let mut fds: Vec<(u8, FaultDomain)> = w
        .kube
        .nodes
        .iter()
        .map(|n| {
            (
                n.virtual_node.availability_domain,
                n.virtual_node.fault_domain,
            )
        })
        .collect();
    fds.sort();
    fds.dedup();
    let zone = |ad: u8| w.topology.ads[usize::from(ad) - 1].zone_label.clone();
    let mut cases: Vec<(String, FailureScope)> = ads
        .iter()
        .map(|ad| (zone(*ad), FailureScope::AvailabilityDomain { ad: *ad }))
        .collect();
    cases.extend(fds.into_iter().map(|(ad, fd)| {
        (
            format!("{}/{fd}", zone(ad)),
            FailureScope::FaultDomain { ad, fd },
        )
    }));
    cases
}

/// Runs each case in its own world, `threads` at a time; results in case order.
fn run_cases(
    path: &Path,
    seed: Option<u64>,
    cases: &[(String, FailureScope)],
    at: SimTime,
    until: Option<SimTime>,
    threads: usize,
) -> Result<Vec<Report>, ScenarioError> {
    let chunk = cases.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|(label, scope)| {
                            let mut l = load(
                                path,
                                &LoadOptions {
                                    seed,
                                    ..LoadOptions::default()
                                },
                            )?;
                            let what = format!("analyze: outage of {label}");
                            l.inject_failure(
                                &format!("outage of {label}"),
                                scope.clone(),
                                what,
                                at,
                                until,
                            );
                            Ok(run(l).0)
                        })
                        .collect::<Result<Vec<Report>, ScenarioError>>()
                })
            })
            .collect();
        let mut out = Vec::new();
        for h in handles {
            out.extend(h.join().expect("an analysis worker panicked")?);
        }
        Ok(out)
    })
}

fn case_row(label: &str, r: &Report) -> CaseRow {
    let f = r
        .failures
        .last()
        .expect("the injected failure is the last one");
    let fraction = f
        .min_ready
        .as_deref()
        .and_then(|m| m.split_once('/'))
        .and_then(|(a, b)| Some(a.parse::<f64>().ok()? / b.parse::<f64>().ok()?.max(1.0)))
        .unwrap_or(1.0);
    CaseRow {
        failure: label.to_string(),
        min_ready: f.min_ready.clone(),
        min_ready_fraction: fraction,
        recovery: match (&f.impact_at, f.recovery_ms) {
            (None, _) => Some("no impact".into()),
            (Some(_), Some(ms)) => Some(SimDuration(ms).to_string()),
            (Some(_), None) => None,
        },
        failed: r
            .expectations
            .iter()
            .filter(|e| !e.passed)
            .map(|e| e.expectation.clone())
            .collect(),
        log_hash: r.log_hash.clone(),
    }
}

impl Analysis {
    /// True when every expectation held under every failure.
    pub fn all_pass(&self) -> bool {
        self.cases.iter().all(|c| c.failed.is_empty())
    }

    /// As text.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut o = String::new();
        let until = self
            .duration
            .as_deref()
            .map(|d| format!(" for {d}"))
            .unwrap_or_else(|| " to the end".into());
        let _ = writeln!(
            o,
            "analysis   {}: every single AD and FD failure at {}{until}\n",
            self.scenario, self.at
        );
        let _ = writeln!(
            o,
            "  {:<34} {:>12} {:>14}  failed expectations",
            "failure", "fewest ready", "recovered in"
        );
        for c in &self.cases {
            let failed = if c.failed.is_empty() {
                "-".to_string()
            } else {
                c.failed.len().to_string()
            };
            let _ = writeln!(
                o,
                "  {:<34} {:>12} {:>14}  {failed}",
                c.failure,
                c.min_ready.as_deref().unwrap_or("-"),
                c.recovery.as_deref().unwrap_or("never")
            );
        }
        if let Some(w) = &self.worst_capacity {
            let _ = writeln!(o, "\nworst case for capacity: {w}");
        }
        let _ = writeln!(o, "\nExpectations");
        for (e, by) in &self.broken {
            if by.is_empty() {
                let _ = writeln!(o, "  HOLDS   {e}");
            } else {
                let _ = writeln!(o, "  BROKEN  {e}\n          by: {}", by.join(", "));
            }
        }
        o
    }
}
