//! PodDisruptionBudgets (`policy/v1`): the disruption controller's status
//! arithmetic (`pkg/controller/disruption/disruption.go`) and the Eviction
//! API's verdict on one pod (`pkg/registry/core/pod/storage/eviction.go`).
//!
//! It owns plain numbers only: what the controller counts for a budget
//! (pods its selector lists, their controllers' scale, Ready pods) and what
//! the eviction handler decides for one pod. It never finds pods, deletes
//! them or reads a clock; the simulation builds the [`PodsView`], applies the
//! verdict and retries as kubectl does. Facts and sources: docs/k8s-facts.md
//! §11.
//!
//! Only voluntary disruptions go through here. The taint eviction
//! controller and the deployment controller delete pods without asking a
//! budget, exactly as in Kubernetes.

use thiserror::Error;

use super::deployment::IntOrPercent;

/// `spec.minAvailable` or `spec.maxUnavailable` (the API server refuses both).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// `minAvailable`: pods that must stay healthy after an eviction.
    MinAvailable(IntOrPercent),
    /// `maxUnavailable`: pods that may be unhealthy after an eviction.
    MaxUnavailable(IntOrPercent),
    /// Neither set: valid for the API server; the controller then computes
    /// `expectedPods` 0 and allows no disruption at all.
    Unset,
}

/// `spec.unhealthyPodEvictionPolicy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnhealthyPodEvictionPolicy {
    /// The default: a Running but not Ready pod may be evicted only while the
    /// application meets its budget (`currentHealthy >= desiredHealthy > 0`).
    #[default]
    IfHealthyBudget,
    /// A Running but not Ready pod may always be evicted, without using up
    /// the budget.
    AlwaysAllow,
}

impl std::fmt::Display for UnhealthyPodEvictionPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UnhealthyPodEvictionPolicy::IfHealthyBudget => "IfHealthyBudget",
            UnhealthyPodEvictionPolicy::AlwaysAllow => "AlwaysAllow",
        })
    }
}

/// A budget as the API server accepted it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PdbSpec {
    /// minAvailable / maxUnavailable.
    pub budget: Budget,
    /// What happens to unhealthy pods.
    pub unhealthy_pod_eviction_policy: UnhealthyPodEvictionPolicy,
}

/// A spec the API server refuses (`ValidatePodDisruptionBudgetSpec`).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PdbSpecError {
    /// Both fields set.
    #[error("spec: minAvailable and maxUnavailable cannot be both set")]
    BothSet,
    /// A negative value (`ValidatePositiveIntOrPercent`).
    #[error("spec.{0}: must be greater than or equal to 0")]
    Negative(&'static str),
    /// Over 100 % (`IsNotMoreThan100Percent`).
    #[error("spec.{0}: must not be greater than 100%")]
    Over100(&'static str),
}

impl PdbSpec {
    /// Checks `min_available` / `max_unavailable` as the API server does and
    /// builds the spec.
    pub fn new(
        min_available: Option<IntOrPercent>,
        max_unavailable: Option<IntOrPercent>,
        policy: UnhealthyPodEvictionPolicy,
    ) -> Result<Self, PdbSpecError> {
        let check = |v: IntOrPercent, field: &'static str| match v {
            IntOrPercent::Int(x) | IntOrPercent::Percent(x) if x < 0 => {
                Err(PdbSpecError::Negative(field))
            }
            IntOrPercent::Percent(p) if p > 100 => Err(PdbSpecError::Over100(field)),
            _ => Ok(v),
        };
        let budget = match (min_available, max_unavailable) {
            (Some(_), Some(_)) => return Err(PdbSpecError::BothSet),
            (Some(m), None) => Budget::MinAvailable(check(m, "minAvailable")?),
            (None, Some(m)) => Budget::MaxUnavailable(check(m, "maxUnavailable")?),
            (None, None) => Budget::Unset,
        };
        Ok(PdbSpec {
            budget,
            unhealthy_pod_eviction_policy: policy,
        })
    }

    /// True when `expectedPods` comes from the controllers' scale rather than
    /// from the pods the selector lists (`getExpectedPodCount`): always for
    /// maxUnavailable, and for a percentage minAvailable.
    pub fn uses_scale(&self) -> bool {
        matches!(
            self.budget,
            Budget::MaxUnavailable(_) | Budget::MinAvailable(IntOrPercent::Percent(_))
        )
    }
}

impl std::fmt::Display for PdbSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.budget {
            Budget::MinAvailable(v) => write!(f, "minAvailable {v}")?,
            Budget::MaxUnavailable(v) => write!(f, "maxUnavailable {v}")?,
            Budget::Unset => f.write_str("neither minAvailable nor maxUnavailable")?,
        }
        if self.unhealthy_pod_eviction_policy == UnhealthyPodEvictionPolicy::AlwaysAllow {
            f.write_str(", unhealthyPodEvictionPolicy AlwaysAllow")?;
        }
        Ok(())
    }
}

/// What the controller counts for one budget.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PodsView {
    /// Pods the selector lists in the namespace (terminating ones included,
    /// as the pod lister returns them).
    pub listed: i32,
    /// Listed pods without a deletionTimestamp whose Ready condition is True
    /// (`countHealthyPods`; Ready, not available: minReadySeconds plays no part).
    pub healthy: i32,
    /// Sum of `spec.replicas` of the controllers owning the listed pods, each
    /// controller once (`getExpectedScale`; a Deployment's scale for pods of
    /// its ReplicaSets).
    pub scale: i32,
}

/// `status` of a budget.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PdbStatus {
    /// `expectedPods`.
    pub expected_pods: i32,
    /// `currentHealthy`.
    pub current_healthy: i32,
    /// `desiredHealthy`.
    pub desired_healthy: i32,
    /// `disruptionsAllowed`.
    pub disruptions_allowed: i32,
}

/// The disruption controller's sync of one budget (`trySync`,
/// `getExpectedPodCount`, `updatePdbStatus`).
pub fn status(spec: &PdbSpec, pods: &PodsView) -> PdbStatus {
    let (expected, desired) = match spec.budget {
        Budget::MaxUnavailable(v) => {
            // Percentages of the scale round up here (GetScaledValueFromIntOrPercent(.., true)).
            let unavailable = v.scaled(pods.scale, true);
            (pods.scale, (pods.scale - unavailable).max(0))
        }
        Budget::MinAvailable(IntOrPercent::Int(n)) => (pods.listed, n),
        Budget::MinAvailable(p @ IntOrPercent::Percent(_)) => {
            (pods.scale, p.scaled(pods.scale, true))
        }
        Budget::Unset => (0, 0),
    };
    let mut allowed = pods.healthy - desired;
    // No disruption while the budget expects no pod: a budget whose first
    // pods appear before the controller has synced must be safe.
    if expected <= 0 || allowed <= 0 {
        allowed = 0;
    }
    PdbStatus {
        expected_pods: expected,
        current_healthy: pods.healthy,
        desired_healthy: desired,
        disruptions_allowed: allowed,
    }
}

/// The pod an eviction is asked for, as the handler sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodPhase {
    /// `status.phase` Pending (not bound, or its containers not started).
    Pending,
    /// Running, with its Ready condition.
    Running {
        /// Ready=True.
        ready: bool,
    },
    /// Already has a deletionTimestamp.
    Terminating,
}

/// The Eviction API's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// 201: the pod is deleted. `charged` is true when the budget's
    /// `disruptionsAllowed` was decremented.
    Evict {
        /// The budget paid for it.
        charged: bool,
    },
    /// 429 TooManyRequests: the budget allows no disruption now.
    TooManyRequests {
        /// The status message.
        message: String,
        /// The DisruptionBudget cause.
        cause: String,
    },
}

/// The message of a 429 refusal.
pub const VIOLATES_BUDGET: &str =
    "Cannot evict pod as it would violate the pod's disruption budget.";

/// The 500 answer when several budgets select the pod.
pub const MULTIPLE_BUDGETS: &str = "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.";

/// The eviction handler's decision for a pod guarded by the budget `name`
/// (`canIgnorePDB`, the unhealthy-pod policy, `checkAndDecrement`). On a
/// charged eviction `status.disruptions_allowed` goes down by one, as the
/// handler writes it back before the controller's next sync.
pub fn evict(name: &str, spec: &PdbSpec, status: &mut PdbStatus, pod: PodPhase) -> Verdict {
    let ready = match pod {
        // Pending and terminating pods are deleted without a budget check.
        PodPhase::Pending | PodPhase::Terminating => return Verdict::Evict { charged: false },
        PodPhase::Running { ready } => ready,
    };
    if !ready {
        let free = match spec.unhealthy_pod_eviction_policy {
            UnhealthyPodEvictionPolicy::AlwaysAllow => true,
            UnhealthyPodEvictionPolicy::IfHealthyBudget => {
                status.current_healthy >= status.desired_healthy && status.desired_healthy > 0
            }
        };
        if free {
            return Verdict::Evict { charged: false };
        }
    }
    if status.disruptions_allowed <= 0 {
        return Verdict::TooManyRequests {
            message: VIOLATES_BUDGET.to_string(),
            cause: format!(
                "The disruption budget {name} needs {} healthy pods and has {} currently",
                status.desired_healthy, status.current_healthy
            ),
        };
    }
    status.disruptions_allowed -= 1;
    Verdict::Evict { charged: true }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{any, prop_assert, proptest};

    fn spec(min: Option<IntOrPercent>, max: Option<IntOrPercent>) -> PdbSpec {
        PdbSpec::new(min, max, UnhealthyPodEvictionPolicy::IfHealthyBudget).unwrap()
    }

    fn pods(listed: i32, healthy: i32, scale: i32) -> PodsView {
        PodsView {
            listed,
            healthy,
            scale,
        }
    }

    #[test]
    fn integer_min_available_counts_the_listed_pods() {
        // 6 replicas, one of them being replaced (7 pods listed), 6 Ready.
        let s = status(&spec(Some(IntOrPercent::Int(5)), None), &pods(7, 6, 6));
        assert_eq!(
            s,
            PdbStatus {
                expected_pods: 7,
                current_healthy: 6,
                desired_healthy: 5,
                disruptions_allowed: 1
            }
        );
    }

    #[test]
    fn percent_min_available_rounds_up_over_the_scale() {
        // 50 % of 5 = 2.5 -> 3.
        let s = status(&spec(Some(IntOrPercent::Percent(50)), None), &pods(5, 5, 5));
        assert_eq!(
            (s.expected_pods, s.desired_healthy, s.disruptions_allowed),
            (5, 3, 2)
        );
        // 100 % blocks every eviction.
        let s = status(
            &spec(Some(IntOrPercent::Percent(100)), None),
            &pods(4, 4, 4),
        );
        assert_eq!(s.disruptions_allowed, 0);
    }

    #[test]
    fn percent_max_unavailable_rounds_up_too() {
        // maxUnavailable 25 % of 6 = 1.5 -> 2 unavailable, so 4 desired.
        let s = status(&spec(None, Some(IntOrPercent::Percent(25))), &pods(6, 6, 6));
        assert_eq!((s.desired_healthy, s.disruptions_allowed), (4, 2));
        // An integer larger than the scale gives desiredHealthy 0, not negative.
        let s = status(&spec(None, Some(IntOrPercent::Int(9))), &pods(3, 2, 3));
        assert_eq!((s.desired_healthy, s.disruptions_allowed), (0, 2));
    }

    #[test]
    fn max_unavailable_uses_the_scale_not_the_pods() {
        // The Deployment wants 10 but only 7 pods exist, all Ready:
        // 10 - 1 = 9 desired, 7 healthy, nothing may go.
        let s = status(&spec(None, Some(IntOrPercent::Int(1))), &pods(7, 7, 10));
        assert_eq!(
            (s.expected_pods, s.desired_healthy, s.disruptions_allowed),
            (10, 9, 0)
        );
    }

    #[test]
    fn no_expected_pods_allows_nothing() {
        let s = status(&spec(Some(IntOrPercent::Int(0)), None), &pods(0, 0, 0));
        assert_eq!(s.disruptions_allowed, 0);
        let unset = spec(None, None);
        assert_eq!(unset.budget, Budget::Unset);
        assert_eq!(status(&unset, &pods(5, 5, 5)).disruptions_allowed, 0);
    }

    #[test]
    fn the_api_servers_validation() {
        let i = IntOrPercent::Int;
        assert_eq!(
            PdbSpec::new(Some(i(1)), Some(i(1)), Default::default()),
            Err(PdbSpecError::BothSet)
        );
        assert_eq!(
            PdbSpec::new(Some(i(-1)), None, Default::default()),
            Err(PdbSpecError::Negative("minAvailable"))
        );
        assert_eq!(
            PdbSpec::new(None, Some(IntOrPercent::Percent(101)), Default::default())
                .unwrap_err()
                .to_string(),
            "spec.maxUnavailable: must not be greater than 100%"
        );
    }

    #[test]
    fn eviction_is_refused_with_kubes_wording_when_nothing_is_allowed() {
        let s = spec(Some(IntOrPercent::Int(3)), None);
        let mut st = status(&s, &pods(3, 3, 3));
        let v = evict("web", &s, &mut st, PodPhase::Running { ready: true });
        assert_eq!(
            v,
            Verdict::TooManyRequests {
                message: "Cannot evict pod as it would violate the pod's disruption budget.".into(),
                cause: "The disruption budget web needs 3 healthy pods and has 3 currently".into()
            }
        );
    }

    #[test]
    fn a_charged_eviction_uses_up_the_budget_within_one_sync() {
        let s = spec(Some(IntOrPercent::Int(2)), None);
        let mut st = status(&s, &pods(4, 4, 4));
        let ready = PodPhase::Running { ready: true };
        assert_eq!(
            evict("b", &s, &mut st, ready),
            Verdict::Evict { charged: true }
        );
        assert_eq!(
            evict("b", &s, &mut st, ready),
            Verdict::Evict { charged: true }
        );
        assert!(matches!(
            evict("b", &s, &mut st, ready),
            Verdict::TooManyRequests { .. }
        ));
        // Pending and terminating pods never ask the budget.
        assert_eq!(
            evict("b", &s, &mut st, PodPhase::Pending),
            Verdict::Evict { charged: false }
        );
        assert_eq!(
            evict("b", &s, &mut st, PodPhase::Terminating),
            Verdict::Evict { charged: false }
        );
    }

    #[test]
    fn unhealthy_pods_follow_the_policy() {
        let unready = PodPhase::Running { ready: false };
        // IfHealthyBudget: 3 of 4 healthy, 3 desired: the budget is met, so the
        // unready pod goes for free.
        let s = spec(Some(IntOrPercent::Int(3)), None);
        let mut st = status(&s, &pods(4, 3, 4));
        assert_eq!(st.disruptions_allowed, 0);
        assert_eq!(
            evict("b", &s, &mut st, unready),
            Verdict::Evict { charged: false }
        );
        // 2 of 4 healthy: the application is disrupted; the unready pod waits.
        let mut st = status(&s, &pods(4, 2, 4));
        assert!(matches!(
            evict("b", &s, &mut st, unready),
            Verdict::TooManyRequests { .. }
        ));
        // AlwaysAllow lets it go even then.
        let always = PdbSpec {
            unhealthy_pod_eviction_policy: UnhealthyPodEvictionPolicy::AlwaysAllow,
            ..s
        };
        assert_eq!(
            evict("b", &always, &mut st, unready),
            Verdict::Evict { charged: false }
        );
    }

    proptest! {
        /// Evicting Ready pods one at a time, with the controller re-syncing
        /// after each deletion, never takes currentHealthy below
        /// desiredHealthy (when the budget was met to begin with), and the
        /// budget is used up exactly.
        #[test]
        fn evictions_never_take_healthy_below_desired(
            replicas in 0i32..60,
            value in 0i32..120,
            percent in any::<bool>(),
            max in any::<bool>(),
            attempts in 0usize..80,
        ) {
            let v = if percent { IntOrPercent::Percent(value.min(100)) } else { IntOrPercent::Int(value) };
            let s = if max { spec(None, Some(v)) } else { spec(Some(v), None) };
            // Evicted pods are gone and not replaced yet: healthy falls, the
            // scale stays.
            let mut healthy = replicas;
            let start = status(&s, &pods(replicas, healthy, replicas));
            let met = start.current_healthy >= start.desired_healthy;
            let mut evicted = 0;
            for _ in 0..attempts {
                let mut st = status(&s, &pods(healthy, healthy, replicas));
                match evict("b", &s, &mut st, PodPhase::Running { ready: true }) {
                    Verdict::Evict { charged } => {
                        prop_assert!(charged);
                        healthy -= 1;
                        evicted += 1;
                    }
                    Verdict::TooManyRequests { .. } => {}
                }
                let after = status(&s, &pods(healthy, healthy, replicas));
                if met {
                    prop_assert!(after.current_healthy >= after.desired_healthy);
                }
                prop_assert!(after.disruptions_allowed >= 0);
            }
            prop_assert!(evicted <= start.disruptions_allowed);
            if attempts as i32 >= start.disruptions_allowed {
                prop_assert!(evicted == start.disruptions_allowed);
            }
        }
    }
}
