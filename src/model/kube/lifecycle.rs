//! The node lifecycle controller's rules, as pure functions: zone disruption
//! states and the NoExecute tainting rate for each (docs/k8s-facts.md §6).
//!
//! The simulation layer owns the clocks and queues; this module only decides.

use crate::kernel::SimDuration;

/// Node lifecycle settings (kube-controller-manager flags).
#[derive(Clone, Debug, PartialEq)]
pub struct LifecycleConfig {
    /// `--node-monitor-period` (5 s).
    pub node_monitor_period: SimDuration,
    /// `--node-monitor-grace-period` (50 s since v1.32; 40 s before).
    pub node_monitor_grace_period: SimDuration,
    /// Interval at which a kubelet renews its node Lease (10 s: a quarter of the 40 s lease).
    pub lease_renew_interval: SimDuration,
    /// `--node-eviction-rate` in nodes per second (0.1).
    pub node_eviction_rate: f64,
    /// `--secondary-node-eviction-rate` (0.01).
    pub secondary_node_eviction_rate: f64,
    /// `--large-cluster-size-threshold` (50), compared with the zone's node count.
    pub large_cluster_size_threshold: usize,
    /// `--unhealthy-zone-threshold` (0.55).
    pub unhealthy_zone_threshold: f64,
    /// `--default-unreachable-toleration-seconds` / not-ready (300).
    pub default_toleration_seconds: i64,
    /// Period of the NoExecute tainting pass (`NodeEvictionPeriod`, 100 ms).
    pub tainting_pass_period: SimDuration,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        LifecycleConfig {
            node_monitor_period: SimDuration::from_secs(5),
            node_monitor_grace_period: SimDuration::from_secs(50),
            lease_renew_interval: SimDuration::from_secs(10),
            node_eviction_rate: 0.1,
            secondary_node_eviction_rate: 0.01,
            large_cluster_size_threshold: 50,
            unhealthy_zone_threshold: 0.55,
            default_toleration_seconds: 300,
            tainting_pass_period: SimDuration::from_ms(100),
        }
    }
}

/// A zone's disruption state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ZoneState {
    /// Not yet evaluated.
    Initial,
    /// Few nodes unhealthy.
    Normal,
    /// More than 2 and at least the threshold share of nodes unhealthy.
    PartialDisruption,
    /// No ready node at all.
    FullDisruption,
}

/// `ComputeZoneState`.
pub fn zone_state(ready: usize, not_ready: usize, unhealthy_threshold: f64) -> ZoneState {
    if ready == 0 && not_ready > 0 {
        ZoneState::FullDisruption
    } else if not_ready > 2 && not_ready as f64 / (not_ready + ready) as f64 >= unhealthy_threshold
    {
        ZoneState::PartialDisruption
    } else {
        ZoneState::Normal
    }
}

/// The NoExecute tainting rate (nodes per second) for a zone in `state` with
/// `zone_size` nodes, when not every zone is fully disrupted (`setLimiterInZone`).
pub fn tainting_rate(state: ZoneState, zone_size: usize, cfg: &LifecycleConfig) -> f64 {
    match state {
        ZoneState::Initial | ZoneState::Normal | ZoneState::FullDisruption => {
            cfg.node_eviction_rate
        }
        ZoneState::PartialDisruption => {
            if zone_size > cfg.large_cluster_size_threshold {
                cfg.secondary_node_eviction_rate
            } else {
                0.0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_states() {
        assert_eq!(zone_state(6, 3, 0.55), ZoneState::Normal);
        assert_eq!(zone_state(0, 3, 0.55), ZoneState::FullDisruption);
        // Two of two unhealthy with one ready: not more than 2, so Normal.
        assert_eq!(zone_state(1, 2, 0.55), ZoneState::Normal);
        assert_eq!(zone_state(2, 3, 0.55), ZoneState::PartialDisruption);
        assert_eq!(zone_state(3, 3, 0.55), ZoneState::Normal);
    }

    #[test]
    fn rates() {
        let c = LifecycleConfig::default();
        assert_eq!(tainting_rate(ZoneState::Normal, 9, &c), 0.1);
        assert_eq!(tainting_rate(ZoneState::FullDisruption, 9, &c), 0.1);
        assert_eq!(tainting_rate(ZoneState::PartialDisruption, 9, &c), 0.0);
        assert_eq!(tainting_rate(ZoneState::PartialDisruption, 51, &c), 0.01);
    }
}
