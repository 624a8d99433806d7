//! Settings of a simulation run, with the twin's documented defaults.

use crate::kernel::{RandomStream, SimDuration};
use crate::model::kube::cluster::NodeCapacity;
use crate::model::kube::hpa::HpaConfig;
use crate::model::kube::lifecycle::LifecycleConfig;
use crate::model::kube::scheduler::SchedulerConfig;

/// How long a bound pod takes to become Ready on a virtual node (its container
/// instance starting). OKE publishes no figure (domain.md §3.8, UNCONFIRMED).
#[derive(Clone, Debug, PartialEq)]
pub enum StartupLatency {
    /// Always the same.
    Fixed(SimDuration),
    /// Uniform between the bounds.
    Uniform {
        /// Lower bound.
        min: SimDuration,
        /// Upper bound.
        max: SimDuration,
    },
    /// Log-normal with the given median and 99th percentile.
    LogNormal {
        /// Median.
        median: SimDuration,
        /// 99th percentile.
        p99: SimDuration,
    },
}

impl Default for StartupLatency {
    /// The twin's assumption: log-normal, median 25 s, p99 60 s.
    fn default() -> Self {
        StartupLatency::LogNormal {
            median: SimDuration::from_secs(25),
            p99: SimDuration::from_secs(60),
        }
    }
}

/// z-score of the 99th percentile of a standard normal.
const Z99: f64 = 2.326_347_874_040_841;

impl StartupLatency {
    /// One draw.
    pub fn sample(&self, rng: &mut RandomStream) -> SimDuration {
        match self {
            StartupLatency::Fixed(d) => *d,
            StartupLatency::Uniform { min, max } => {
                SimDuration(min.0 + rng.below(max.0.saturating_sub(min.0) + 1))
            }
            StartupLatency::LogNormal { median, p99 } => {
                let mu = (median.0.max(1) as f64).ln();
                let sigma = ((p99.0.max(median.0 + 1) as f64).ln() - mu) / Z99;
                let v = (mu + sigma * rng.standard_normal()).exp();
                SimDuration(v.round().clamp(1.0, 86_400_000.0) as u64)
            }
        }
    }
}

/// What happens to the pods of a virtual node that a pool resize (or a pool
/// deletion) removes. OKE documents cordon-and-drain with an eviction grace
/// period (default and maximum 60 min) for deleting a virtual node pool
/// (`overrideEvictionGraceDurationVnp`), and nothing for a resize; the twin's
/// default keeps the earlier behaviour (pods deleted at once).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeRemoval {
    /// The node's pods are deleted at once, without asking any budget.
    Delete,
    /// The node is cordoned and drained through the Eviction API (budgets
    /// apply); it goes once empty, or when the grace period ends.
    Drain {
        /// How long OKE keeps trying to evict (0: delete at once).
        eviction_grace: SimDuration,
        /// Delete the node at the end of the grace period even with pods left
        /// (otherwise it stays, cordoned).
        force_delete_after_grace: bool,
    },
}

/// Everything a run needs besides the scenario's objects.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Master seed.
    pub seed: u64,
    /// Node lifecycle controller flags.
    pub lifecycle: LifecycleConfig,
    /// Scheduler settings.
    pub scheduler: SchedulerConfig,
    /// Virtual time one scheduling cycle takes (binding is one API call; at the
    /// scheduler's default 50 QPS client limit that is 20 ms; UNCONFIRMED).
    pub scheduling_cycle: SimDuration,
    /// Pod start-up latency on virtual nodes.
    pub startup: StartupLatency,
    /// What a virtual node reports as allocatable (UNCONFIRMED defaults).
    pub node_capacity: NodeCapacity,
    /// When true, a pod evicted from an unreachable node gives its IP back at
    /// once; when false (default, as Kubernetes keeps such pods Terminating) only
    /// when the node returns.
    pub release_ip_on_eviction: bool,
    /// Keep every log record (needed for `--events`), not just the hash.
    pub keep_log: bool,
    /// Pods whose scheduling attempts are explained in the report.
    pub explain_pods: Vec<String>,
    /// Hard limit on processed events, against runaway scenarios.
    pub max_events: u64,
    /// Check every cross-model invariant after each instant (slow; for tests).
    pub check_invariants: bool,
    /// HPA controller flags (sync period, tolerance, readiness delays).
    pub hpa: HpaConfig,
    /// How a pool resize removes a virtual node's pods.
    pub virtual_node_removal: NodeRemoval,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            lifecycle: LifecycleConfig::default(),
            scheduler: SchedulerConfig::default(),
            scheduling_cycle: SimDuration::from_ms(20),
            startup: StartupLatency::default(),
            node_capacity: NodeCapacity {
                cpu_m: 1_000_000,
                memory: 4000 << 30,
                pods: 500,
            },
            release_ip_on_eviction: false,
            keep_log: true,
            explain_pods: Vec::new(),
            max_events: 50_000_000,
            check_invariants: false,
            hpa: HpaConfig::default(),
            virtual_node_removal: NodeRemoval::Delete,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::SeedTree;

    #[test]
    fn lognormal_hits_its_median_and_p99() {
        let mut rng = SeedTree::new(5).fork("startup");
        let d = StartupLatency::default();
        let mut xs: Vec<u64> = (0..20_000).map(|_| d.sample(&mut rng).0).collect();
        xs.sort();
        let median = xs[xs.len() / 2] as f64;
        let p99 = xs[xs.len() * 99 / 100] as f64;
        assert!((median - 25_000.0).abs() < 1_000.0, "median {median}");
        assert!((p99 - 60_000.0).abs() < 4_000.0, "p99 {p99}");
    }
}
