//! The scenario side of voluntary disruption: the `drain_completes` and
//! `disruptions_blocked` expectations (resolved with located errors, judged
//! at the end), the budgets' status over the run, and the report's
//! PodDisruptionBudget and drain sections.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::file::{DisruptionsBlockedFile, DrainCompletesFile};
use super::plan::Expectation;
use super::source::{Document, ScenarioError};
use crate::kernel::{SimDuration, SimTime};
use crate::model::kube::disruption::PdbStatus;
use crate::sim::World;
use crate::sim::world::DrainOutcome;

/// Most status changes of one budget the text report lists.
const MAX_STATUS_LINES: usize = 40;

/// `a, b` or `none`, for "known:" hints.
fn known_list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = names.collect();
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

fn drain_index(doc: &Document, path: &str, name: &str, w: &World) -> Result<usize, ScenarioError> {
    w.drains.iter().position(|d| d.name == name).ok_or_else(|| {
        doc.error(
            &format!("{path}.drain"),
            format!(
                "no drain named `{name}` in the timeline (known: {})",
                known_list(w.drains.iter().map(|d| d.name.as_str()))
            ),
        )
    })
}

/// Resolves `drain_completes {drain, max}`.
pub fn drain_completes(
    doc: &Document,
    path: &str,
    f: &DrainCompletesFile,
    w: &World,
) -> Result<(String, Expectation), ScenarioError> {
    let drain = drain_index(doc, path, &f.drain, w)?;
    let max = SimDuration::parse(&f.max.0).map_err(|e| doc.error(&format!("{path}.max"), e))?;
    Ok((
        format!("drain_completes {} within {max}", f.drain),
        Expectation::DrainCompletes { drain, max },
    ))
}

/// Resolves `disruptions_blocked {drain, pdb, min}`.
pub fn disruptions_blocked(
    doc: &Document,
    path: &str,
    f: &DisruptionsBlockedFile,
    w: &World,
) -> Result<(String, Expectation), ScenarioError> {
    let drain = drain_index(doc, path, &f.drain, w)?;
    if let Some(p) = &f.pdb
        && !w.pdbs.iter().any(|b| &b.name == p)
    {
        return Err(doc.error(
            &format!("{path}.pdb"),
            format!(
                "no PodDisruptionBudget named `{p}` among the manifests (known: {})",
                known_list(w.pdbs.iter().map(|b| b.name.as_str()))
            ),
        ));
    }
    let min = f.min.unwrap_or(1);
    if min == 0 {
        return Err(doc.error(&format!("{path}.min"), "min must be at least 1"));
    }
    let by = f.pdb.as_deref().map_or("any budget".to_string(), |p| {
        format!("PodDisruptionBudget {p}")
    });
    Ok((
        format!(
            "disruptions_blocked {} >= {min} evictions refused by {by}",
            f.drain
        ),
        Expectation::DisruptionsBlocked {
            drain,
            pdb: f.pdb.clone(),
            min,
        },
    ))
}

/// Judges a drain expectation at the end of the run: (passed, evidence).
pub fn check(w: &World, e: &Expectation) -> Option<(bool, String)> {
    match e {
        Expectation::DrainCompletes { drain, max } => {
            let d = &w.drains[*drain];
            Some(match (&d.outcome, d.started) {
                (Some(DrainOutcome::Completed(t)), Some(s)) => {
                    let took = t.since(s);
                    (took <= *max, format!("completed in {took}"))
                }
                (Some(o), _) => (false, outcome_text(o)),
                (None, Some(_)) => (false, "not complete by the end of the run".to_string()),
                (None, None) => (false, "never started".to_string()),
            })
        }
        Expectation::DisruptionsBlocked { drain, pdb, min } => {
            let d = &w.drains[*drain];
            let n = match pdb {
                Some(p) => d.refused.get(p).copied().unwrap_or(0),
                None => d.total_refused(),
            };
            Some((n >= *min, format!("{n} evictions refused")))
        }
        _ => None,
    }
}

fn outcome_text(o: &DrainOutcome) -> String {
    match o {
        DrainOutcome::Completed(t) => format!("completed at {t}"),
        DrainOutcome::TimedOut {
            at,
            node,
            pods_left,
        } => {
            format!(
                "timed out at {at} on node {node} with {pods_left} pods left (global timeout reached)"
            )
        }
        DrainOutcome::Failed { at, pod, message } => {
            format!("failed at {at}: error when evicting pod {pod}: {message}")
        }
    }
}

/// Each budget's status as it changed over the run, and its lowest
/// `currentHealthy`.
#[derive(Default)]
pub struct PdbTracker {
    changes: Vec<Vec<(SimTime, PdbStatus)>>,
    lowest: Vec<Option<(i32, SimTime)>>,
    met: Vec<bool>,
}

impl PdbTracker {
    /// Records every budget's status after an instant.
    pub fn observe(&mut self, w: &World, now: SimTime) {
        if w.pdbs.is_empty() {
            return;
        }
        self.changes.resize_with(w.pdbs.len(), Vec::new);
        self.lowest.resize(w.pdbs.len(), None);
        self.met.resize(w.pdbs.len(), false);
        for i in 0..w.pdbs.len() {
            let s = w.pdb_status(i);
            let list = &mut self.changes[i];
            if list.last().is_none_or(|(_, last)| *last != s) {
                list.push((now, s));
            }
            // The lowest once the budget was first met (pods starting up
            // after the apply are not a disruption).
            if !self.met[i] {
                self.met[i] = s.expected_pods > 0 && s.current_healthy >= s.desired_healthy;
            }
            if self.met[i] && self.lowest[i].is_none_or(|(h, _)| s.current_healthy < h) {
                self.lowest[i] = Some((s.current_healthy, now));
            }
        }
    }

    /// The report's rows.
    pub fn rows(&self, w: &World) -> Vec<PdbRow> {
        w.pdbs
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let end = w.pdb_status(i);
                PdbRow {
                    name: b.name.clone(),
                    namespace: b.namespace.clone(),
                    spec: b.spec.to_string(),
                    changes: self
                        .changes
                        .get(i)
                        .map(|c| {
                            c.iter()
                                .map(|(t, s)| (t.to_string(), StatusRow::from(*s)))
                                .collect()
                        })
                        .unwrap_or_default(),
                    at_end: StatusRow::from(end),
                    lowest_healthy: self
                        .lowest
                        .get(i)
                        .copied()
                        .flatten()
                        .map(|(h, t)| (h, t.to_string())),
                }
            })
            .collect()
    }
}

/// A budget's status.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct StatusRow {
    /// `expectedPods`.
    pub expected: i32,
    /// `currentHealthy`.
    pub current_healthy: i32,
    /// `desiredHealthy`.
    pub desired_healthy: i32,
    /// `disruptionsAllowed`.
    pub disruptions_allowed: i32,
}

impl From<PdbStatus> for StatusRow {
    fn from(s: PdbStatus) -> Self {
        StatusRow {
            expected: s.expected_pods,
            current_healthy: s.current_healthy,
            desired_healthy: s.desired_healthy,
            disruptions_allowed: s.disruptions_allowed,
        }
    }
}

/// One PodDisruptionBudget in the report.
#[derive(Debug, Serialize)]
pub struct PdbRow {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// minAvailable / maxUnavailable and the policy.
    pub spec: String,
    /// Each change of its status: when, and the status.
    pub changes: Vec<(String, StatusRow)>,
    /// At the end of the run.
    pub at_end: StatusRow,
    /// The lowest currentHealthy once the budget was first met, and when.
    pub lowest_healthy: Option<(i32, String)>,
}

/// One drain in the report.
#[derive(Debug, Serialize)]
pub struct DrainRow {
    /// Its timeline name.
    pub name: String,
    /// When it started.
    pub started: Option<String>,
    /// Each node: name, when its drain began and ended.
    pub nodes: Vec<(String, String, Option<String>)>,
    /// Evictions accepted.
    pub evicted: u32,
    /// Evictions refused (429), by budget.
    pub refused: BTreeMap<String, u32>,
    /// How it ended.
    pub outcome: String,
    /// Start to completion, in ms, if it completed.
    pub duration_ms: Option<u64>,
}

/// The report's drain rows.
pub fn drain_rows(w: &World) -> Vec<DrainRow> {
    w.drains
        .iter()
        .map(|d| DrainRow {
            name: d.name.clone(),
            started: d.started.map(|t| t.to_string()),
            nodes: d
                .node_times
                .iter()
                .map(|(n, s, e)| (n.clone(), s.to_string(), e.map(|e| e.to_string())))
                .collect(),
            evicted: d.evicted,
            refused: d.refused.clone(),
            outcome: match (&d.outcome, d.started) {
                (Some(o), _) => outcome_text(o),
                (None, Some(_)) => "not complete by the end of the run".to_string(),
                (None, None) => "never started".to_string(),
            },
            duration_ms: match (&d.outcome, d.started) {
                (Some(DrainOutcome::Completed(t)), Some(s)) => Some(t.since(s).as_ms()),
                _ => None,
            },
        })
        .collect()
}

fn status_text(s: &StatusRow) -> String {
    format!(
        "expected {} healthy {} desired {} allowed {}",
        s.expected, s.current_healthy, s.desired_healthy, s.disruptions_allowed
    )
}

/// The text sections (nothing when the scenario has no budget and no drain).
pub fn render(pdbs: &[PdbRow], drains: &[DrainRow], o: &mut String) {
    if !pdbs.is_empty() {
        let _ = writeln!(
            o,
            "\nPodDisruptionBudgets (status as the disruption controller computes it)"
        );
        for p in pdbs {
            let _ = writeln!(o, "  {}/{} ({})", p.namespace, p.name, p.spec);
            for (at, s) in p.changes.iter().take(MAX_STATUS_LINES) {
                let _ = writeln!(o, "    {at}  {}", status_text(s));
            }
            if p.changes.len() > MAX_STATUS_LINES {
                let _ = writeln!(
                    o,
                    "    ... {} more changes",
                    p.changes.len() - MAX_STATUS_LINES
                );
            }
            let _ = writeln!(o, "    at the end: {}", status_text(&p.at_end));
            if let Some((h, at)) = &p.lowest_healthy {
                let _ = writeln!(o, "    lowest currentHealthy once met: {h} (first at {at})");
            }
        }
    }
    if !drains.is_empty() {
        let _ = writeln!(o, "\nDrains (kubectl drain through the Eviction API)");
        for d in drains {
            let refused: Vec<String> = d
                .refused
                .iter()
                .map(|(b, n)| format!("{n} by {b}"))
                .collect();
            let _ = writeln!(
                o,
                "  {} from {}: {} evicted, {} refused{}; {}",
                d.name,
                d.started.as_deref().unwrap_or("-"),
                d.evicted,
                d.refused.values().sum::<u32>(),
                if refused.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", refused.join(", "))
                },
                match d.duration_ms {
                    Some(ms) => format!("completed in {}", SimDuration::from_ms(ms)),
                    None => d.outcome.clone(),
                }
            );
            for (n, s, e) in &d.nodes {
                let _ = writeln!(o, "    node {n}: {s} to {}", e.as_deref().unwrap_or("-"));
            }
        }
    }
}
