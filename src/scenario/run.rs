//! Plays a loaded scenario and judges it: the observer samples pods per
//! domain, tracks recovery after each failure and evaluates every expectation
//! at each instant of its window.

use std::collections::BTreeMap;

use super::plan::{Expectation, Loaded};
use super::report::{
    CostRow, DeploymentSample, ExpectationResult, ExplainedRow, FailureRow, IngressTier,
    LatencySummary, NodeRow, PendingRow, Report, RolloutRow, Sample, ScalingRow, SubnetRow,
    TimelineRow, TrafficRow,
};
use crate::kernel::SimTime;
use crate::model::kube::cluster::{NodeId, PodState};
use crate::model::network::ip_string;
use crate::sim::{Observer, World};

/// Runs a loaded scenario to its end; returns the report and the final world.
pub fn run(mut loaded: Loaded) -> (Report, World) {
    let end = SimTime::ZERO + loaded.duration;
    let mut obs = Judge::new(&loaded);
    let completed = loaded.world.run(end, &mut obs);
    obs.finish(&loaded.world, end);
    let report = build_report(&loaded, obs, end, completed);
    (report, loaded.world)
}

/// The kept event log, one line per record, with names instead of ids.
pub fn render_events(w: &World) -> String {
    use crate::sim::log::LogRecord as R;
    use std::fmt::Write;
    let pod = |p: &crate::model::kube::cluster::PodId| w.kube.pod(*p).name.clone();
    let node = |n: &NodeId| w.kube.node(*n).name.clone();
    let mut o = String::from("\nEvents\n");
    for (t, r) in w.log.records() {
        let line = match r {
            R::Action(i) => format!("action: {}", w.actions[*i as usize].1),
            R::Scaled(rs, n) => format!("replicaset {} wants {n} replicas", w.kube.rs(*rs).name),
            R::PodCreated(p) => format!("pod {} created", pod(p)),
            R::PodBound(p, n, ip) => format!(
                "pod {} bound to {} with IP {}",
                pod(p),
                node(n),
                ip_string(*ip)
            ),
            R::PodUnschedulable(p) => format!(
                "pod {} unschedulable: {}",
                pod(p),
                w.kube
                    .pod(*p)
                    .unschedulable_message()
                    .as_deref()
                    .unwrap_or("(message superseded)")
            ),
            R::PodReady(p) => format!("pod {} Ready", pod(p)),
            R::PodNotReady(p) => format!("pod {} not Ready (node not ready)", pod(p)),
            R::PodEvicted(p) => {
                format!("pod {} evicted by the taint manager (Terminating)", pod(p))
            }
            R::PodDeleted(p) => format!("pod {} deleted", pod(p)),
            R::NodeDown(n) => format!("node {} stopped heartbeating", node(n)),
            R::NodeUp(n) => format!("node {} heartbeats again", node(n)),
            R::NodeNotReady(n) => format!(
                "node {} Ready=Unknown; tainted node.kubernetes.io/unreachable:NoSchedule",
                node(n)
            ),
            R::NodeReady(n) => format!("node {} Ready=True", node(n)),
            R::NodeTainted(n) => format!(
                "node {} tainted node.kubernetes.io/unreachable:NoExecute",
                node(n)
            ),
            R::NodeUntainted(n) => format!("node {} NoExecute taint removed", node(n)),
            R::ZoneState(z, s) => format!("zone {z} is now {s:?}"),
            R::ExternalIps(s, n) => format!(
                "subnet {}: {n:+} addresses taken by timeline actions",
                w.network.subnets[*s as usize].name
            ),
            R::SecretReconciled(i, ok, v) => {
                let (spec, _) = &w.wiring.eso.externals[*i as usize];
                format!(
                    "ExternalSecret {}/{} reconciled: {} (Secret resourceVersion {v})",
                    spec.namespace,
                    spec.name,
                    if *ok { "synced" } else { "SecretSyncedError" }
                )
            }
            R::PodWaitingForSecret(p) => format!(
                "pod {} cannot start: {}",
                pod(p),
                w.wiring
                    .waiting
                    .get(p)
                    .map_or(String::new(), |x| format!("{} ({})", x.reason, x.message))
            ),
            R::PodEvictedByApi(p) => format!("pod {} evicted through the Eviction API", pod(p)),
            R::EvictionRefused(p, b) => format!(
                "eviction of pod {} refused (429): it would violate PodDisruptionBudget {}",
                pod(p),
                w.pdbs[*b as usize].name
            ),
            R::NodeCordoned(n, c) => format!(
                "node {} {}",
                node(n),
                if *c { "cordoned" } else { "uncordoned" }
            ),
            R::DbPrimary(d, up) => format!(
                "DB system {} read/write endpoint {}",
                w.wiring.databases[*d as usize].name,
                if *up { "answers" } else { "down" }
            ),
        };
        let _ = writeln!(o, "  {t}  {line}");
    }
    o
}

#[derive(Clone, Debug, Default)]
struct Verdict {
    failed_at: Option<(SimTime, String)>,
    worst: Option<(i64, String)>,
    checked: bool,
}

struct RecoveryTrack {
    impacted_at: Option<SimTime>,
    min_ready: Option<(u32, u32)>,
    recovered_at: Option<SimTime>,
}

struct Judge {
    sample_every: u64,
    action_times: Vec<SimTime>,
    samples: Vec<Sample>,
    verdicts: Vec<Verdict>,
    expectations: Vec<(String, Expectation)>,
    failures: Vec<(SimTime, RecoveryTrack)>,
    /// Per topology key: node → domain index, and domain names.
    domains: BTreeMap<String, (Vec<Option<usize>>, Vec<String>)>,
    /// node → (AD, FD) column index, and column names.
    fd_columns: (Vec<usize>, Vec<String>),
    last_log_len: u64,
    /// Per time-to-ready expectation: when the count was first reached.
    reached: BTreeMap<usize, SimTime>,
    /// Per latency / error-rate expectation: what its window has seen.
    windows: BTreeMap<usize, WindowTraffic>,
    /// PodDisruptionBudgets' status over the run.
    pdbs: super::disruption::PdbTracker,
}

/// Traffic accumulated over one expectation's window.
struct WindowTraffic {
    offered: u64,
    errors: u64,
    latency: hdrhistogram::Histogram<u64>,
    last_at: Option<SimTime>,
}

impl Judge {
    fn new(l: &Loaded) -> Judge {
        let w = &l.world;
        let mut domains = BTreeMap::new();
        for (_, e) in &l.expectations {
            if let Expectation::MaxPodsPerDomain { key, .. } | Expectation::MaxSkew { key, .. } = e
            {
                domains
                    .entry(key.clone())
                    .or_insert_with(|| domain_index(w, key));
            }
        }
        let mut cols: Vec<(u8, u8)> = w
            .kube
            .nodes
            .iter()
            .map(|n| {
                (
                    n.virtual_node.availability_domain,
                    n.virtual_node.fault_domain.0,
                )
            })
            .collect();
        cols.sort();
        cols.dedup();
        let col_of = w
            .kube
            .nodes
            .iter()
            .map(|n| {
                cols.iter()
                    .position(|c| {
                        *c == (
                            n.virtual_node.availability_domain,
                            n.virtual_node.fault_domain.0,
                        )
                    })
                    .expect("listed")
            })
            .collect();
        let names = cols
            .iter()
            .map(|(a, f)| {
                format!(
                    "{}/FAULT-DOMAIN-{f}",
                    w.topology.ads[usize::from(*a) - 1].zone_label
                )
            })
            .collect();
        Judge {
            sample_every: l.sample_every.as_ms(),
            action_times: w.actions.iter().map(|(t, _, _)| *t).collect(),
            samples: Vec::new(),
            verdicts: vec![Verdict::default(); l.expectations.len()],
            expectations: l.expectations.clone(),
            failures: l
                .failures
                .iter()
                .map(|f| {
                    (
                        f.at,
                        RecoveryTrack {
                            impacted_at: None,
                            min_ready: None,
                            recovered_at: None,
                        },
                    )
                })
                .collect(),
            domains,
            fd_columns: (col_of, names),
            last_log_len: u64::MAX,
            windows: BTreeMap::new(),
            reached: BTreeMap::new(),
            pdbs: Default::default(),
        }
    }

    fn per_domain(&self, bound: &[u32], key: &str) -> Vec<u32> {
        let (of_node, names) = &self.domains[key];
        let mut counts = vec![0u32; names.len()];
        for (i, c) in bound.iter().enumerate() {
            if let Some(d) = of_node[i] {
                counts[d] += c;
            }
        }
        counts
    }

    fn sample(&mut self, w: &World, now: SimTime) {
        let deployments = w
            .deployments
            .iter()
            .map(|d| {
                let rs = w.kube.rs(d.rs);
                let mut per = vec![0u32; self.fd_columns.1.len()];
                for (i, c) in w.bound_on_nodes(d).iter().enumerate() {
                    per[self.fd_columns.0[i]] += c;
                }
                let ready = w.ready_of(d);
                let load = w.metrics.load_of(d.rs);
                let offered_rps =
                    load.map(|l| (w.metrics.offered_rps(l, now) * 10.0).round() / 10.0);
                let request = rs.template.cpu_request_m();
                let cpu_utilization = (load.is_some() && ready > 0 && request > 0).then(|| {
                    (w.metrics.cpu_per_pod(&w.kube, d.rs) / request as f64 * 100.0).round() as u32
                });
                let last = load.and_then(|l| l.traffic.last.as_ref());
                DeploymentSample {
                    offered_rps,
                    cpu_utilization,
                    p99_ms: last.and_then(|i| i.p99_ms).map(|v| v.round() as u64),
                    error_rate: last.filter(|i| i.offered > 0).map(|i| {
                        (i.errors.total() as f64 / i.offered as f64 * 10_000.0).round() / 10_000.0
                    }),
                    deployment: d.name.clone(),
                    desired: d.replicas,
                    ready,
                    pending: w.pending_of(d),
                    per_fault_domain: self.fd_columns.1.iter().cloned().zip(per).collect(),
                }
            })
            .collect();
        if self.samples.last().is_some_and(|s| s.at_ms == now.as_ms()) {
            self.samples.pop();
        }
        self.samples.push(Sample {
            at_ms: now.as_ms(),
            at: now.to_string(),
            deployments,
        });
    }

    fn track_failures(&mut self, w: &World, now: SimTime) {
        let short: Vec<(u32, u32)> = w
            .deployments
            .iter()
            .map(|d| (w.ready_of(d), d.replicas))
            .collect();
        let any_short = short.iter().any(|(r, want)| r < want);
        let any_pending = w.deployments.iter().any(|d| w.pending_of(d) > 0);
        let total_ready: u32 = short.iter().map(|s| s.0).sum();
        let total_want: u32 = short.iter().map(|s| s.1).sum();
        for (start, t) in &mut self.failures {
            if now < *start || t.recovered_at.is_some() {
                continue;
            }
            if any_short && t.impacted_at.is_none() {
                t.impacted_at = Some(now);
            }
            if t.impacted_at.is_some() {
                if t.min_ready.is_none_or(|(r, _)| total_ready < r) {
                    t.min_ready = Some((total_ready, total_want));
                }
                if !any_short && !any_pending {
                    t.recovered_at = Some(now);
                }
            }
        }
    }

    /// Adds the interval that just ended to every latency / error-rate window it falls in.
    fn accumulate_traffic(&mut self, w: &World, now: SimTime) {
        for (i, (_, e)) in self.expectations.iter().enumerate() {
            let (Expectation::Latency {
                deployment,
                after,
                until,
                ..
            }
            | Expectation::ErrorRate {
                deployment,
                after,
                until,
                ..
            }) = e
            else {
                continue;
            };
            if now <= *after || now > *until {
                continue;
            }
            let Some(load) = w.metrics.loads.iter().find(|l| &l.deployment == deployment) else {
                continue;
            };
            let Some(last) = load.traffic.last.as_ref().filter(|l| l.at == now) else {
                continue;
            };
            let acc = self.windows.entry(i).or_insert_with(|| WindowTraffic {
                offered: 0,
                errors: 0,
                latency: hdrhistogram::Histogram::new_with_bounds(1, 3_600_000, 3)
                    .expect("valid bounds"),
                last_at: None,
            });
            if acc.last_at == Some(now) {
                continue;
            }
            acc.last_at = Some(now);
            acc.offered += last.offered;
            acc.errors += last.errors.total();
            for (ms, n) in &load.traffic.last_latency {
                acc.latency.saturating_record_n((*ms).max(1), *n);
            }
        }
    }

    fn check(&mut self, w: &World, now: SimTime) {
        for (i, (_, e)) in self.expectations.iter().enumerate() {
            if let Expectation::TimeToReady {
                deployment,
                ready,
                after,
                ..
            } = e
            {
                let reached = w
                    .deployment(deployment)
                    .is_some_and(|d| w.ready_of(d) >= *ready);
                if now >= *after && reached {
                    self.reached.entry(i).or_insert(now);
                }
            }
        }
        for i in 0..self.expectations.len() {
            let (_, e) = &self.expectations[i];
            let observed: Option<(bool, i64, String)> = match e {
                Expectation::ReadyReplicas {
                    deployment,
                    min,
                    after,
                    until,
                } if now >= *after && now <= *until => {
                    let ready = w.deployment(deployment).map_or(0, |d| w.ready_of(d));
                    Some((ready >= *min, -i64::from(ready), format!("{ready} ready")))
                }
                Expectation::Replicas {
                    deployment,
                    min,
                    max,
                    after,
                    until,
                } if now >= *after && now <= *until => w.deployment(deployment).map(|d| {
                    let r = d.replicas;
                    (
                        r >= *min && r <= *max,
                        i64::from(r),
                        format!("{r} replicas"),
                    )
                }),
                Expectation::MaxPodsPerDomain {
                    deployment,
                    key,
                    max,
                    after,
                    until,
                } if now >= *after && now <= *until => w.deployment(deployment).map(|d| {
                    let counts = self.per_domain(&w.bound_on_nodes(d), key);
                    let (idx, top) = counts
                        .iter()
                        .enumerate()
                        .max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i)))
                        .map(|(i, c)| (i, *c))
                        .unwrap_or((0, 0));
                    let name = self.domains[key].1.get(idx).cloned().unwrap_or_default();
                    (top <= *max, i64::from(top), format!("{top} pods in {name}"))
                }),
                Expectation::MaxSkew {
                    deployment,
                    key,
                    max,
                    after,
                    until,
                } if now >= *after && now <= *until => w.deployment(deployment).map(|d| {
                    let counts = self.per_domain(&w.bound_on_nodes(d), key);
                    let hi = counts.iter().copied().max().unwrap_or(0);
                    let lo = counts.iter().copied().min().unwrap_or(0);
                    let skew = hi - lo;
                    (
                        skew <= *max,
                        i64::from(skew),
                        format!("skew {skew} ({counts:?})"),
                    )
                }),
                Expectation::PendingPods {
                    deployment,
                    count,
                    at,
                    reason,
                } if now == *at => w.deployment(deployment).map(|d| {
                    let pending: Vec<_> = w.pending_pods_of(d).collect();
                    let reasons_ok = reason.as_ref().is_none_or(|r| {
                        pending.iter().all(|p| {
                            w.kube
                                .pod(*p)
                                .unschedulable_message()
                                .as_deref()
                                .is_some_and(|m| m.contains(r.as_str()))
                        })
                    });
                    let msg = pending
                        .first()
                        .and_then(|p| w.kube.pod(*p).unschedulable_message())
                        .unwrap_or_default();
                    let detail = if msg.is_empty() {
                        format!("{} pending", pending.len())
                    } else {
                        format!("{} pending: {msg}", pending.len())
                    };
                    (
                        pending.len() as u32 == *count && reasons_ok,
                        pending.len() as i64,
                        detail,
                    )
                }),
                _ => None,
            };
            if let Some((ok, score, detail)) = observed {
                let v = &mut self.verdicts[i];
                v.checked = true;
                if !ok && v.failed_at.is_none() {
                    v.failed_at = Some((now, detail.clone()));
                }
                if v.worst.as_ref().is_none_or(|(s, _)| score > *s) {
                    v.worst = Some((score, detail));
                }
            }
        }
    }

    fn finish(&mut self, w: &World, end: SimTime) {
        if self.samples.last().is_none_or(|s| s.at_ms != end.as_ms()) {
            self.sample(w, end);
        }
    }
}

impl Observer for Judge {
    fn observe(&mut self, w: &World, now: SimTime) {
        let changed = w.log.len() != self.last_log_len;
        self.last_log_len = w.log.len();
        let on_grid = now.as_ms().is_multiple_of(self.sample_every);
        if on_grid || self.action_times.binary_search(&now).is_ok() {
            self.sample(w, now);
        }
        if changed {
            self.track_failures(w, now);
            self.pdbs.observe(w, now);
        }
        self.accumulate_traffic(w, now);
        self.check(w, now);
    }
}

fn domain_index(w: &World, key: &str) -> (Vec<Option<usize>>, Vec<String>) {
    let mut names: Vec<String> = w
        .kube
        .nodes
        .iter()
        .filter_map(|n| n.labels.get(key).cloned())
        .collect();
    names.sort();
    names.dedup();
    let of_node = w
        .kube
        .nodes
        .iter()
        .map(|n| {
            n.labels
                .get(key)
                .and_then(|v| names.iter().position(|x| x == v))
        })
        .collect();
    (of_node, names)
}

/// The run's bill: the cluster and virtual nodes for the whole run, each pod
/// from binding to deletion (or the end) at its node pool's shape price.
fn bill(l: &Loaded, end: SimTime) -> crate::model::pricing::Bill {
    let w = &l.world;
    let hours = end.as_ms() as f64 / 3_600_000.0;
    let mut b = crate::model::pricing::Bill::default();
    let enhanced = w
        .oke
        .clusters
        .iter()
        .filter(|c| c.cluster_type == crate::model::oke::ClusterType::Enhanced)
        .count();
    b.cluster = enhanced as f64 * hours * l.prices.enhanced_cluster_hour;
    b.virtual_nodes = w.kube.nodes.len() as f64 * hours * l.prices.virtual_node_hour;
    for p in &w.kube.pods {
        let (Some(bound), Some(node)) = (p.bound_at, p.node) else {
            continue;
        };
        let Some(size) = w.kube.rs(p.rs).template.size else {
            continue;
        };
        let shape = w.oke.pools[w.kube.node(node).virtual_node.pool.0 as usize]
            .pod_shape
            .name;
        let gone = p.deleted_at.unwrap_or(end).min(end);
        b.add_pod(
            &l.prices,
            shape,
            size.ocpus,
            size.memory_gb,
            gone.since(bound),
        );
    }
    b
}

fn pending_duration_ms(end: SimTime, p: &crate::model::kube::cluster::Pod) -> u64 {
    let until = p.bound_at.or(p.deleted_at).unwrap_or(end);
    until.since(p.created_at).as_ms()
}

fn build_report(l: &Loaded, j: Judge, end: SimTime, completed: bool) -> Report {
    let w = &l.world;
    let mut expectations = Vec::new();
    let (external_secrets, secret_versions, waiting, service_events) =
        super::wiring::secret_rows(w);
    let mut wiring = super::wiring::WiringReport {
        databases: super::wiring::database_rows(w),
        external_secrets,
        secret_versions,
        waiting,
        service_events,
        ..Default::default()
    };
    for (i, (label, e)) in l.expectations.iter().enumerate() {
        let v = &j.verdicts[i];
        let (passed, detail) = match e {
            Expectation::DrainCompletes { .. } | Expectation::DisruptionsBlocked { .. } => {
                super::disruption::check(w, e).expect("a drain expectation")
            }
            Expectation::ExternalSecret(c) => super::wiring::check_external_secret(w, c),
            Expectation::Reachable(c) => {
                let (ok, detail, row) = super::wiring::evaluate(w, label, c);
                wiring.reachability.push(row);
                (ok, detail)
            }
            Expectation::MaxPending { deployment, max } => {
                let worst = w
                    .kube
                    .pods
                    .iter()
                    .filter(|p| {
                        deployment
                            .as_ref()
                            .is_none_or(|d| &w.kube.rs(p.rs).deployment == d)
                    })
                    .map(|p| (pending_duration_ms(end, p), p.name.clone()))
                    .max();
                match worst {
                    None => (true, "no pods".to_string()),
                    Some((ms, name)) => (
                        ms <= max.as_ms(),
                        format!(
                            "longest pending {} ({name})",
                            crate::kernel::SimDuration(ms)
                        ),
                    ),
                }
            }
            Expectation::TimeToReady { after, max, .. } => match j.reached.get(&i) {
                Some(t) => (
                    t.since(*after) <= *max,
                    format!("reached after {}", t.since(*after)),
                ),
                None => (false, "never reached".to_string()),
            },
            Expectation::Latency {
                percentile, max, ..
            } => match j.windows.get(&i) {
                Some(acc) if !acc.latency.is_empty() => {
                    let v = acc.latency.value_at_quantile(percentile / 100.0);
                    (
                        v <= max.as_ms(),
                        format!(
                            "p{percentile} {v}ms over {} served requests",
                            acc.latency.len()
                        ),
                    )
                }
                _ => (false, "no request was served in the window".to_string()),
            },
            Expectation::ErrorRate { max, .. } => match j.windows.get(&i) {
                Some(acc) if acc.offered > 0 => {
                    let rate = acc.errors as f64 / acc.offered as f64;
                    (
                        rate <= *max,
                        format!(
                            "{} of {} requests failed ({:.4})",
                            acc.errors, acc.offered, rate
                        ),
                    )
                }
                _ => (false, "no request was offered in the window".to_string()),
            },
            Expectation::RecoveryTime {
                failure,
                max,
                never,
            } => {
                let idx = l
                    .failures
                    .iter()
                    .position(|f| &f.name == failure)
                    .expect("validated");
                let t = &j.failures[idx].1;
                let start = l.failures[idx].at;
                match (t.impacted_at, t.recovered_at) {
                    (None, _) => (!never, "no impact on ready replicas".to_string()),
                    (Some(_), None) => (*never, "not recovered by the end of the run".to_string()),
                    (Some(_), Some(r)) => {
                        let took = r.since(start);
                        (
                            !never && max.is_none_or(|m| took <= m),
                            format!("recovered in {took}"),
                        )
                    }
                }
            }
            _ => match (&v.failed_at, v.checked) {
                (_, false) => (false, "never observed in its window".to_string()),
                (Some((t, d)), _) => (false, format!("first violated at {t}: {d}")),
                (None, true) => (
                    true,
                    v.worst
                        .as_ref()
                        .map(|(_, d)| format!("worst: {d}"))
                        .unwrap_or_default(),
                ),
            },
        };
        expectations.push(ExpectationResult {
            expectation: label.clone(),
            passed,
            detail,
        });
    }
    let failures = l
        .failures
        .iter()
        .zip(&j.failures)
        .map(|(f, (_, t))| FailureRow {
            name: f.name.clone(),
            what: f.label.clone(),
            at: f.at.to_string(),
            until: f.until.map(|u| u.to_string()),
            impact_at: t.impacted_at.map(|x| x.to_string()),
            min_ready: t.min_ready.map(|(r, want)| format!("{r}/{want}")),
            recovered_at: t.recovered_at.map(|x| x.to_string()),
            recovery_ms: t.recovered_at.map(|r| r.since(f.at).as_ms()),
        })
        .collect();
    let pending_at_end = w
        .deployments
        .iter()
        .flat_map(|d| w.pending_pods_of(d).map(move |p| (d, p)))
        .map(|(d, p)| {
            let pod = w.kube.pod(p);
            PendingRow {
                pod: pod.name.clone(),
                deployment: d.name.clone(),
                since: pod.created_at.to_string(),
                message: pod
                    .unschedulable_message()
                    .clone()
                    .unwrap_or_else(|| "not yet attempted".into()),
            }
        })
        .collect();
    let explained = w
        .explained
        .iter()
        .map(|a| ExplainedRow::from_attempt(w, a))
        .collect();
    let nodes = w
        .kube
        .nodes
        .iter()
        .map(|n| NodeRow {
            name: n.name.clone(),
            pool: w.oke.pools[n.virtual_node.pool.0 as usize].name.clone(),
            availability_domain: w.topology.ads
                [usize::from(n.virtual_node.availability_domain) - 1]
                .name
                .clone(),
            fault_domain: n.virtual_node.fault_domain.to_string(),
            pods: n
                .pods
                .iter()
                .filter(|p| {
                    matches!(
                        w.kube.pod(**p).state,
                        PodState::Starting | PodState::Running
                    )
                })
                .count() as u32,
            ready: n.ready == crate::model::kube::cluster::NodeReady::True,
        })
        .collect();
    let subnets = w
        .network
        .subnets
        .iter()
        .map(|s| SubnetRow {
            name: s.name.clone(),
            cidr: s.cidr.to_string(),
            capacity: s.pool.capacity(),
            used: s.pool.used(),
        })
        .collect();
    let cluster = &w.oke.clusters[0];
    let passed = expectations.iter().filter(|e| e.passed).count();
    let failed = expectations.len() - passed;
    Report {
        scenario: l.name.clone(),
        description: l.description.clone(),
        file: l.file.clone(),
        seed: l.seed,
        reproduce: format!("ocisim run {} --seed {}", l.file, l.seed),
        region: w.topology.region.name.to_string(),
        availability_domains: w.topology.ads.iter().map(|a| a.name.clone()).collect(),
        cluster: format!(
            "{} ({}, {}, {} virtual nodes)",
            cluster.name,
            match cluster.cluster_type {
                crate::model::oke::ClusterType::Enhanced => "enhanced",
                crate::model::oke::ClusterType::Basic => "basic",
            },
            cluster.kubernetes_version,
            w.kube.nodes.len()
        ),
        duration: crate::kernel::SimDuration(end.as_ms()).to_string(),
        completed,
        events: w.events_processed,
        log_records: w.log.len(),
        log_hash: w.log.hash().to_string(),
        nodes,
        subnets,
        timeline: {
            let mut rows: Vec<(SimTime, usize)> = w
                .actions
                .iter()
                .enumerate()
                .map(|(i, (t, _, _))| (*t, i))
                .collect();
            rows.sort();
            rows.into_iter()
                .map(|(t, i)| TimelineRow {
                    at: t.to_string(),
                    action: w.actions[i].1.clone(),
                })
                .collect()
        },
        samples: j.samples,
        failures,
        pending_at_end,
        scheduling_latency: LatencySummary::from_histogram(&w.scheduling_latency),
        startup_latency: LatencySummary::from_histogram(&w.startup_latency),
        traffic: w
            .metrics
            .loads
            .iter()
            .map(|ld| {
                let t = &ld.traffic;
                TrafficRow {
                    deployment: ld.deployment.clone(),
                    offered: t.offered,
                    served: t.served,
                    failed_bandwidth: t.errors.bandwidth,
                    failed_dead_backend: t.errors.dead_backend,
                    failed_no_backend: t.errors.no_backend,
                    failed_overload: t.errors.overload,
                    failed_db_unavailable: t.errors.db_unavailable,
                    failed_db_unreachable: t.errors.db_unreachable,
                    failed_db_auth: t.errors.db_auth,
                    availability: if t.offered == 0 {
                        1.0
                    } else {
                        (t.served as f64 / t.offered as f64 * 1e6).round() / 1e6
                    },
                    latency: LatencySummary::from_histogram(&t.latency),
                    ingress: ld.via.map(|g| {
                        let e = &t.ingress_errors;
                        IngressTier {
                            controller: w.metrics.loads[g].deployment.clone(),
                            failed_bandwidth: e.bandwidth,
                            failed_dead_backend: e.dead_backend,
                            failed_no_backend: e.no_backend,
                            failed_overload: e.overload,
                        }
                    }),
                }
            })
            .collect(),
        cost: CostRow::from_bill(&bill(l, end)),
        scaling: {
            let mut rows: Vec<(crate::kernel::SimTime, usize, ScalingRow)> = w
                .hpas
                .iter()
                .enumerate()
                .flat_map(|(i, h)| {
                    h.decisions
                        .iter()
                        .map(move |(t, d)| (*t, i, ScalingRow::from_decision(&h.name, *t, d)))
                })
                .collect();
            rows.sort_by_key(|(t, i, _)| (*t, *i));
            rows.into_iter().map(|(_, _, r)| r).collect()
        },
        rollouts: rollout_rows(w),
        pdbs: j.pdbs.rows(w),
        drains: super::disruption::drain_rows(w),
        explained,
        wiring,
        expectations,
        passed,
        failed,
    }
}

/// The rollouts of every Deployment, in Deployment then start order.
fn rollout_rows(w: &World) -> Vec<RolloutRow> {
    use crate::model::kube::deployment::Strategy;
    let mut rows = Vec::new();
    for d in &w.deployments {
        let strategy = match d.strategy {
            Strategy::Recreate => "Recreate".to_string(),
            Strategy::RollingUpdate {
                max_surge,
                max_unavailable,
            } => format!("RollingUpdate maxSurge {max_surge} maxUnavailable {max_unavailable}"),
        };
        for r in &d.rollout.history {
            rows.push(RolloutRow {
                deployment: d.name.clone(),
                strategy: strategy.clone(),
                image: r.image.clone(),
                replica_sets: d.rss.iter().map(|rs| w.kube.rs(*rs).name.clone()).collect(),
                started: r.started.to_string(),
                completed: r.completed.map(|c| c.to_string()),
                duration_ms: r.completed.map(|c| c.since(r.started).as_ms()),
                steps: r
                    .steps
                    .iter()
                    .map(|(t, sizes, ready)| (t.to_string(), sizes.clone(), *ready))
                    .collect(),
            });
        }
    }
    rows
}
