//! What a run costs: enhanced cluster hours, virtual node hours, and each
//! pod's OCPU and memory hours at its shape's compute price (domain.md §3.7).
//!
//! Prices are a table with defaults; the shape prices are the twin's
//! assumption from OCI's public list prices (UNCONFIRMED) and can be overridden.

use std::collections::BTreeMap;

use crate::kernel::SimDuration;

/// Price per OCPU-hour and per GB-hour of one pod shape, in USD.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShapePrice {
    /// USD per OCPU per hour.
    pub ocpu_hour: f64,
    /// USD per GB of memory per hour.
    pub gb_hour: f64,
}

/// The price table.
#[derive(Clone, Debug, PartialEq)]
pub struct Prices {
    /// Enhanced cluster, USD per hour (0.10; basic clusters are free).
    pub enhanced_cluster_hour: f64,
    /// Virtual node, USD per hour (0.015).
    pub virtual_node_hour: f64,
    /// Per pod shape.
    pub shapes: BTreeMap<String, ShapePrice>,
    /// Shortest billed pod lifetime (container instances bill per second with a
    /// one-minute minimum; that pods do the same is UNCONFIRMED).
    pub minimum_pod_billing: SimDuration,
}

impl Default for Prices {
    fn default() -> Self {
        let e = ShapePrice {
            ocpu_hour: 0.025,
            gb_hour: 0.0015,
        };
        Prices {
            enhanced_cluster_hour: 0.10,
            virtual_node_hour: 0.015,
            shapes: [
                ("Pod.Standard.E3.Flex".to_string(), e),
                ("Pod.Standard.E4.Flex".to_string(), e),
                (
                    "Pod.Standard.A1.Flex".to_string(),
                    ShapePrice {
                        ocpu_hour: 0.01,
                        gb_hour: 0.0015,
                    },
                ),
            ]
            .into(),
            minimum_pod_billing: SimDuration::from_secs(60),
        }
    }
}

/// The bill of a run, in USD.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bill {
    /// Enhanced cluster hours × price.
    pub cluster: f64,
    /// Virtual node hours × price.
    pub virtual_nodes: f64,
    /// Pod OCPU hours × price.
    pub pod_ocpu: f64,
    /// Pod memory GB hours × price.
    pub pod_memory: f64,
    /// OCPU hours consumed by pods.
    pub ocpu_hours: f64,
    /// GB hours consumed by pods.
    pub gb_hours: f64,
}

impl Bill {
    /// Everything together.
    pub fn total(&self) -> f64 {
        self.cluster + self.virtual_nodes + self.pod_ocpu + self.pod_memory
    }

    /// Adds one pod that ran `lived` with `ocpus` and `memory_gb` on `shape`.
    pub fn add_pod(
        &mut self,
        prices: &Prices,
        shape: &str,
        ocpus: u32,
        memory_gb: u32,
        lived: SimDuration,
    ) {
        let billed = lived.max(prices.minimum_pod_billing).as_secs_f64() / 3600.0;
        let p = prices.shapes.get(shape).copied().unwrap_or(ShapePrice {
            ocpu_hour: 0.0,
            gb_hour: 0.0,
        });
        self.ocpu_hours += f64::from(ocpus) * billed;
        self.gb_hours += f64::from(memory_gb) * billed;
        self.pod_ocpu += f64::from(ocpus) * billed * p.ocpu_hour;
        self.pod_memory += f64::from(memory_gb) * billed * p.gb_hour;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pod_hour_and_the_minimum() {
        let prices = Prices::default();
        let mut b = Bill::default();
        b.add_pod(
            &prices,
            "Pod.Standard.E4.Flex",
            1,
            2,
            SimDuration::from_secs(3600),
        );
        assert!((b.total() - (0.025 + 2.0 * 0.0015)).abs() < 1e-12);
        let mut short = Bill::default();
        short.add_pod(
            &prices,
            "Pod.Standard.E4.Flex",
            1,
            2,
            SimDuration::from_secs(5),
        );
        assert!(
            (short.ocpu_hours - 60.0 / 3600.0).abs() < 1e-12,
            "billed for one minute"
        );
    }
}
