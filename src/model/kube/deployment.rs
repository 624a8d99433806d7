//! The deployment controller's arithmetic (`pkg/controller/deployment` in
//! kube-controller-manager: `sync.go`, `rolling.go`, `recreate.go`,
//! `util/deployment_util.go`): how many replicas each ReplicaSet of a
//! Deployment should have during a rollout and when the Deployment is scaled
//! in the middle of one.
//!
//! It owns one `syncDeployment` pass over plain numbers: the Deployment's
//! replicas and strategy, and per ReplicaSet its `spec.replicas`, available
//! pods and the two annotations the controller writes
//! (`deployment.kubernetes.io/desired-replicas` and `.../max-replicas`).
//! It never creates pods or reads a clock; the simulation applies the new
//! `spec.replicas` through the ReplicaSet controller and calls [`sync`] again
//! whenever a pod of the Deployment changes, as the informers would.
//!
//! `available` counts pods Ready for `minReadySeconds` (the simulation counts
//! them). Not modelled: `progressDeadlineSeconds`,
//! pausing, rollbacks and `revisionHistoryLimit` clean-up (old ReplicaSets stay
//! at 0 replicas).

use thiserror::Error;

/// An `IntOrString` that is a count or a percentage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntOrPercent {
    /// An absolute number of pods.
    Int(i32),
    /// A percentage of the desired replicas.
    Percent(i32),
}

impl IntOrPercent {
    /// `intstr.GetScaledValueFromIntOrPercent`: a percentage of `total`,
    /// rounded up or down.
    pub fn scaled(self, total: i32, round_up: bool) -> i32 {
        match self {
            IntOrPercent::Int(v) => v,
            IntOrPercent::Percent(p) => {
                let product = i64::from(p) * i64::from(total);
                let v = if round_up {
                    (product + 99).div_euclid(100)
                } else {
                    product.div_euclid(100)
                };
                v as i32
            }
        }
    }

    /// True for `0` and `0%`.
    pub fn is_zero(self) -> bool {
        matches!(self, IntOrPercent::Int(0) | IntOrPercent::Percent(0))
    }
}

impl std::fmt::Display for IntOrPercent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IntOrPercent::Int(v) => write!(f, "{v}"),
            IntOrPercent::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// `spec.strategy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Kill every old pod before creating new ones.
    Recreate,
    /// Replace pods a few at a time.
    RollingUpdate {
        /// Pods above the desired count allowed during the update (default 25 %).
        max_surge: IntOrPercent,
        /// Pods below the desired count allowed during the update (default 25 %).
        max_unavailable: IntOrPercent,
    },
}

impl Default for Strategy {
    /// The API server's default: RollingUpdate, 25 % / 25 %.
    fn default() -> Self {
        Strategy::RollingUpdate {
            max_surge: IntOrPercent::Percent(25),
            max_unavailable: IntOrPercent::Percent(25),
        }
    }
}

/// A strategy the API server rejects (`ValidateRollingUpdateDeployment`).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum StrategyError {
    /// Both fenceposts zero.
    #[error("spec.strategy.rollingUpdate.maxUnavailable: may not be 0 when `maxSurge` is 0")]
    BothZero,
    /// A negative value.
    #[error("spec.strategy.rollingUpdate.{0}: must be greater than or equal to 0")]
    Negative(&'static str),
    /// `maxUnavailable` over 100 %.
    #[error("spec.strategy.rollingUpdate.maxUnavailable: must not be greater than 100%")]
    Over100,
}

impl Strategy {
    /// Checks the fields as the API server does.
    pub fn validate(&self) -> Result<(), StrategyError> {
        let Strategy::RollingUpdate {
            max_surge,
            max_unavailable,
        } = *self
        else {
            return Ok(());
        };
        let negative =
            |v: IntOrPercent| matches!(v, IntOrPercent::Int(x) | IntOrPercent::Percent(x) if x < 0);
        if negative(max_surge) {
            return Err(StrategyError::Negative("maxSurge"));
        }
        if negative(max_unavailable) {
            return Err(StrategyError::Negative("maxUnavailable"));
        }
        if matches!(max_unavailable, IntOrPercent::Percent(p) if p > 100) {
            return Err(StrategyError::Over100);
        }
        if max_surge.is_zero() && max_unavailable.is_zero() {
            return Err(StrategyError::BothZero);
        }
        Ok(())
    }

    /// `ResolveFenceposts`: (maxSurge rounded up, maxUnavailable rounded
    /// down) for `desired` replicas; both zero after rounding gives
    /// maxUnavailable 1. `(0, 0)` for Recreate.
    pub fn fenceposts(&self, desired: i32) -> (i32, i32) {
        let Strategy::RollingUpdate {
            max_surge,
            max_unavailable,
        } = *self
        else {
            return (0, 0);
        };
        let surge = max_surge.scaled(desired, true);
        let mut unavailable = max_unavailable.scaled(desired, false);
        if surge == 0 && unavailable == 0 {
            unavailable = 1;
        }
        (surge, unavailable)
    }
}

/// The Deployment as the controller reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeploymentView {
    /// `spec.replicas`.
    pub replicas: i32,
    /// `spec.strategy`.
    pub strategy: Strategy,
}

impl DeploymentView {
    /// `MaxSurge`: 0 unless RollingUpdate.
    pub fn max_surge(&self) -> i32 {
        self.strategy.fenceposts(self.replicas).0
    }

    /// `MaxUnavailable`: 0 unless RollingUpdate or with 0 replicas, at most
    /// the replicas.
    pub fn max_unavailable(&self) -> i32 {
        if self.replicas == 0 || self.strategy == Strategy::Recreate {
            return 0;
        }
        self.strategy.fenceposts(self.replicas).1.min(self.replicas)
    }
}

/// One ReplicaSet of the Deployment as the controller reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RsView {
    /// `spec.replicas`.
    pub replicas: i32,
    /// `status.availableReplicas` (pods Ready for at least `minReadySeconds`).
    pub available: i32,
    /// Pods of this ReplicaSet that still exist (for Recreate's wait).
    pub pods: i32,
    /// `deployment.kubernetes.io/desired-replicas`.
    pub desired_annotation: Option<i32>,
    /// `deployment.kubernetes.io/max-replicas`.
    pub max_annotation: Option<i32>,
}

impl RsView {
    /// A fresh ReplicaSet with `replicas` and no pods yet.
    pub fn new(replicas: i32) -> Self {
        RsView {
            replicas,
            available: 0,
            pods: 0,
            desired_annotation: None,
            max_annotation: None,
        }
    }
}

/// `GetReplicaCountForReplicaSets`.
fn total(rss: &[RsView]) -> i32 {
    rss.iter().map(|r| r.replicas).sum()
}

/// `scaleReplicaSet`: the new size, and both annotations brought up to date.
/// True when anything changed.
fn scale_to(rs: &mut RsView, replicas: i32, d: &DeploymentView) -> bool {
    let desired = Some(d.replicas);
    let max = Some(d.replicas + d.max_surge());
    let changed =
        rs.replicas != replicas || rs.desired_annotation != desired || rs.max_annotation != max;
    rs.replicas = replicas;
    rs.desired_annotation = desired;
    rs.max_annotation = max;
    changed
}

/// `NewRSNewReplicas`: what the new ReplicaSet may grow to now.
pub fn new_rs_new_replicas(d: &DeploymentView, rss: &[RsView], new: usize) -> i32 {
    match d.strategy {
        Strategy::Recreate => d.replicas,
        Strategy::RollingUpdate { max_surge, .. } => {
            let surge = max_surge.scaled(d.replicas, true);
            let current = total(rss);
            let max_total = d.replicas + surge;
            if current >= max_total {
                return rss[new].replicas;
            }
            let up = (max_total - current).min(d.replicas - rss[new].replicas);
            rss[new].replicas + up
        }
    }
}

/// The replicas a new ReplicaSet is created with (`getNewReplicaSet`): the
/// first scale-up of the rollout, with annotations. `rss` are the existing
/// (old) ReplicaSets.
pub fn create_new_rs(d: &DeploymentView, old: &[RsView]) -> RsView {
    let mut all = old.to_vec();
    all.push(RsView::new(0));
    let n = all.len() - 1;
    let replicas = new_rs_new_replicas(d, &all, n);
    let mut rs = RsView::new(0);
    scale_to(&mut rs, replicas, d);
    rs
}

/// What one sync did, for the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncKind {
    /// Nothing to do.
    Idle,
    /// A scaling event: proportional (or single-ReplicaSet) scaling.
    Scale,
    /// A rollout step.
    Rollout,
}

/// One `syncDeployment` over `rss` (oldest first; `new` is the ReplicaSet
/// whose template matches the Deployment). Changes `replicas` and the
/// annotations in place and says what kind of step it took.
pub fn sync(d: &DeploymentView, rss: &mut [RsView], new: usize) -> SyncKind {
    if is_scaling_event(d, rss) {
        let changed = scale(d, rss, new);
        return if changed {
            SyncKind::Scale
        } else {
            SyncKind::Idle
        };
    }
    let changed = match d.strategy {
        Strategy::Recreate => rollout_recreate(d, rss, new),
        Strategy::RollingUpdate { .. } => rollout_rolling(d, rss, new),
    };
    if changed {
        SyncKind::Rollout
    } else {
        SyncKind::Idle
    }
}

/// `isScalingEvent`: an active ReplicaSet's desired-replicas annotation
/// differs from the Deployment's replicas.
fn is_scaling_event(d: &DeploymentView, rss: &[RsView]) -> bool {
    rss.iter()
        .filter(|r| r.replicas > 0)
        .any(|r| r.desired_annotation.is_some_and(|x| x != d.replicas))
}

/// `scale` (sync.go).
fn scale(d: &DeploymentView, rss: &mut [RsView], new: usize) -> bool {
    let active: Vec<usize> = (0..rss.len()).filter(|i| rss[*i].replicas > 0).collect();
    // FindActiveOrLatest: one active ReplicaSet takes the whole count; none
    // means the newest.
    match active.len() {
        0 => return scale_to(&mut rss[new], d.replicas, d),
        1 => {
            let i = active[0];
            if rss[i].replicas == d.replicas {
                return false;
            }
            return scale_to(&mut rss[i], d.replicas, d);
        }
        _ => {}
    }
    if is_saturated(d, &rss[new]) {
        let mut changed = false;
        for i in active.into_iter().filter(|i| *i != new) {
            changed |= scale_to(&mut rss[i], 0, d);
        }
        return changed;
    }
    if d.strategy == Strategy::Recreate {
        return false;
    }
    proportional(d, rss, active)
}

/// `IsSaturated`: the new ReplicaSet has all the replicas, all available.
fn is_saturated(d: &DeploymentView, rs: &RsView) -> bool {
    rs.replicas == d.replicas
        && rs.desired_annotation == Some(d.replicas)
        && rs.available == d.replicas
}

/// Proportional scaling of the active ReplicaSets (`scale`, rolling case).
fn proportional(d: &DeploymentView, rss: &mut [RsView], mut active: Vec<usize>) -> bool {
    let all_replicas: i32 = active.iter().map(|i| rss[*i].replicas).sum();
    let allowed = if d.replicas > 0 {
        d.replicas + d.max_surge()
    } else {
        0
    };
    let to_add = allowed - all_replicas;
    // Larger first; ties: newer first when adding, older first when removing
    // (ReplicaSetsBySizeNewer / BySizeOlder; index order is creation order).
    if to_add > 0 {
        active.sort_by(|a, b| rss[*b].replicas.cmp(&rss[*a].replicas).then(b.cmp(a)));
    } else if to_add < 0 {
        active.sort_by(|a, b| rss[*b].replicas.cmp(&rss[*a].replicas).then(a.cmp(b)));
    }
    let status_replicas = all_replicas;
    let mut added = 0;
    let mut sizes: Vec<i32> = Vec::with_capacity(active.len());
    for &i in &active {
        if to_add != 0 {
            let p = proportion(&rss[i], d, to_add, added, status_replicas);
            sizes.push(rss[i].replicas + p);
            added += p;
        } else {
            sizes.push(rss[i].replicas);
        }
    }
    let mut changed = false;
    for (k, &i) in active.iter().enumerate() {
        let mut size = sizes[k];
        if k == 0 && to_add != 0 {
            size = (size + to_add - added).max(0);
        }
        changed |= scale_to(&mut rss[i], size, d);
    }
    changed
}

/// `GetProportion`: this ReplicaSet's share of `to_add`, bounded by what is
/// left to add or remove.
fn proportion(rs: &RsView, d: &DeploymentView, to_add: i32, added: i32, status: i32) -> i32 {
    if rs.replicas == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = fraction(rs, d, status);
    let allowed = to_add - added;
    if to_add > 0 {
        fraction.min(allowed)
    } else {
        fraction.max(allowed)
    }
}

/// `getReplicaSetFraction`: the ReplicaSet's size scaled by the ratio of the
/// new to the old maximum size of the Deployment, minus its size.
fn fraction(rs: &RsView, d: &DeploymentView, status: i32) -> i32 {
    if d.replicas == 0 {
        return -rs.replicas;
    }
    let max_now = d.replicas + d.max_surge();
    let before = match rs.max_annotation {
        Some(m) if m != 0 => m,
        // No annotation: the Deployment's current size (`status.replicas`).
        _ if status == 0 => return 0,
        _ => status,
    };
    let new_size = f64::from(rs.replicas) * f64::from(max_now) / f64::from(before);
    // integer.RoundToInt32: math.Round, halves away from zero.
    new_size.round() as i32 - rs.replicas
}

/// `rolloutRolling`: grow the new ReplicaSet within maxSurge; if it did not
/// grow, shrink old ones within maxUnavailable.
fn rollout_rolling(d: &DeploymentView, rss: &mut [RsView], new: usize) -> bool {
    if reconcile_new(d, rss, new) {
        return true;
    }
    reconcile_old(d, rss, new)
}

/// `reconcileNewReplicaSet`.
fn reconcile_new(d: &DeploymentView, rss: &mut [RsView], new: usize) -> bool {
    if rss[new].replicas == d.replicas {
        return false;
    }
    let target = if rss[new].replicas > d.replicas {
        d.replicas
    } else {
        new_rs_new_replicas(d, rss, new)
    };
    scale_to(&mut rss[new], target, d)
}

/// `reconcileOldReplicaSets`: clean up unhealthy old pods first, then scale
/// old ReplicaSets down as far as maxUnavailable allows.
fn reconcile_old(d: &DeploymentView, rss: &mut [RsView], new: usize) -> bool {
    let old: Vec<usize> = (0..rss.len())
        .filter(|i| *i != new && rss[*i].replicas > 0)
        .collect();
    let old_count: i32 = old.iter().map(|i| rss[*i].replicas).sum();
    if old_count == 0 {
        return false;
    }
    let all_count = total(rss);
    let min_available = d.replicas - d.max_unavailable();
    let new_unavailable = rss[new].replicas - rss[new].available;
    let max_scaled_down = all_count - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return false;
    }
    let mut changed = false;
    // cleanupUnhealthyReplicas: oldest first, unavailable pods go first.
    let mut cleaned = 0;
    for &i in &old {
        if cleaned >= max_scaled_down {
            break;
        }
        let rs = rss[i];
        if rs.replicas == 0 || rs.replicas == rs.available {
            continue;
        }
        let down = (max_scaled_down - cleaned).min(rs.replicas - rs.available);
        changed |= scale_to(&mut rss[i], rs.replicas - down, d);
        cleaned += down;
    }
    // scaleDownOldReplicaSetsForRollingUpdate.
    let available: i32 = rss.iter().map(|r| r.available).sum();
    if available <= min_available {
        return changed;
    }
    let to_remove = available - min_available;
    let mut removed = 0;
    for &i in &old {
        if removed >= to_remove {
            break;
        }
        if rss[i].replicas == 0 {
            continue;
        }
        let down = rss[i].replicas.min(to_remove - removed);
        let target = rss[i].replicas - down;
        changed |= scale_to(&mut rss[i], target, d);
        removed += down;
    }
    changed
}

/// `rolloutRecreate`: old ReplicaSets to 0; once none of their pods is left,
/// the new one to the full count.
fn rollout_recreate(d: &DeploymentView, rss: &mut [RsView], new: usize) -> bool {
    let mut changed = false;
    for (i, rs) in rss.iter_mut().enumerate() {
        if i != new && rs.replicas > 0 {
            changed |= scale_to(rs, 0, d);
        }
    }
    if changed {
        return true;
    }
    let old_pods = (0..rss.len()).any(|i| i != new && rss[i].pods > 0);
    if old_pods {
        return false;
    }
    if rss[new].replicas != d.replicas {
        return scale_to(&mut rss[new], d.replicas, d);
    }
    false
}

/// `DeploymentComplete`: every replica updated and available, no old pod left.
pub fn complete(d: &DeploymentView, rss: &[RsView], new: usize) -> bool {
    let n = &rss[new];
    let old_left = (0..rss.len()).any(|i| i != new && (rss[i].replicas > 0 || rss[i].pods > 0));
    n.replicas == d.replicas && n.available >= d.replicas && n.pods == d.replicas && !old_left
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{any, prop_assert, prop_assert_eq, prop_assume, proptest};

    fn rolling(surge: IntOrPercent, unavailable: IntOrPercent, replicas: i32) -> DeploymentView {
        DeploymentView {
            replicas,
            strategy: Strategy::RollingUpdate {
                max_surge: surge,
                max_unavailable: unavailable,
            },
        }
    }

    fn steady(replicas: i32, d: &DeploymentView) -> RsView {
        let mut rs = RsView::new(0);
        scale_to(&mut rs, replicas, d);
        rs.available = replicas;
        rs.pods = replicas;
        rs
    }

    /// Plays a rollout to completion: each sync, then every ReplicaSet's
    /// pods converge to its replicas and `ready_new` of the new pods become
    /// available per step. Returns (old, new) replicas after each sync.
    fn play(d: &DeploymentView, old: i32, ready_per_step: i32) -> Vec<(i32, i32)> {
        let mut rss = vec![steady(old, d)];
        let created = create_new_rs(d, &rss);
        rss.push(created);
        let mut trace = vec![(rss[0].replicas, rss[1].replicas)];
        for _ in 0..500 {
            // Pods follow the ReplicaSets: old deletions at once, new ones
            // become available `ready_per_step` at a time.
            for rs in rss.iter_mut() {
                rs.pods = rs.replicas;
                rs.available = rs.available.min(rs.replicas);
            }
            let n = &mut rss[1];
            n.available = (n.available + ready_per_step).min(n.replicas);
            sync(d, &mut rss, 1);
            trace.push((rss[0].replicas, rss[1].replicas));
            if complete(d, &rss, 1) {
                break;
            }
        }
        trace.dedup();
        trace
    }

    #[test]
    fn docs_example_4_replicas_keeps_3_available_and_5_at_most() {
        let d = DeploymentView {
            replicas: 4,
            strategy: Strategy::default(),
        };
        assert_eq!(d.strategy.fenceposts(4), (1, 1));
        // maxSurge 25 % of 4 = 1 (up), maxUnavailable 1 (down).
        let t = play(&d, 4, 1);
        // Hand-computed: the new ReplicaSet is created at 1 (total 5 = 4 +
        // surge). Its pod available: 5 available - min 3 = 2 old pods go.
        // Total 3: the new one grows by 2 to 3. One more available: 4 - 3 =
        // 1 old pod goes (the 2 unavailable new pods count against the
        // budget). Total 4: new to 4. All available: the last old pod goes.
        assert_eq!(t, vec![(4, 1), (2, 1), (2, 3), (1, 3), (1, 4), (0, 4)]);
        for (o, n) in t {
            assert!(o + n <= 5, "at most 5 pods");
        }
    }

    #[test]
    fn percentages_round_surge_up_and_unavailable_down() {
        let s = Strategy::default();
        assert_eq!(s.fenceposts(10), (3, 2));
        assert_eq!(s.fenceposts(1), (1, 0));
        let s = Strategy::RollingUpdate {
            max_surge: IntOrPercent::Percent(0),
            max_unavailable: IntOrPercent::Percent(10),
        };
        // 10 % of 5 rounds down to 0 and surge is 0: unavailable becomes 1.
        assert_eq!(s.fenceposts(5), (0, 1));
    }

    #[test]
    fn both_zero_is_rejected() {
        let s = Strategy::RollingUpdate {
            max_surge: IntOrPercent::Int(0),
            max_unavailable: IntOrPercent::Percent(0),
        };
        assert_eq!(s.validate(), Err(StrategyError::BothZero));
        assert_eq!(
            StrategyError::BothZero.to_string(),
            "spec.strategy.rollingUpdate.maxUnavailable: may not be 0 when `maxSurge` is 0"
        );
    }

    #[test]
    fn surge_only_rollout_never_drops_below_the_desired_count() {
        let d = rolling(IntOrPercent::Int(2), IntOrPercent::Int(0), 6);
        let t = play(&d, 6, 2);
        assert_eq!(t.first(), Some(&(6, 2)));
        assert_eq!(t.last(), Some(&(0, 6)));
        assert_eq!(t, vec![(6, 2), (4, 2), (4, 4), (2, 4), (2, 6), (0, 6)]);
    }

    #[test]
    fn unready_new_pods_hold_the_old_replicas() {
        let d = rolling(IntOrPercent::Int(1), IntOrPercent::Int(0), 3);
        // New pods never become available: the rollout stalls at one surge pod.
        let t = play(&d, 3, 0);
        assert_eq!(t, vec![(3, 1)]);
    }

    #[test]
    fn recreate_scales_old_to_zero_then_new_to_full() {
        let d = DeploymentView {
            replicas: 5,
            strategy: Strategy::Recreate,
        };
        let mut rss = vec![steady(5, &d), RsView::new(0)];
        assert_eq!(sync(&d, &mut rss, 1), SyncKind::Rollout);
        assert_eq!((rss[0].replicas, rss[1].replicas), (0, 0));
        // Old pods still exist: the new ReplicaSet waits.
        assert_eq!(sync(&d, &mut rss, 1), SyncKind::Idle);
        rss[0].pods = 0;
        rss[0].available = 0;
        assert_eq!(sync(&d, &mut rss, 1), SyncKind::Rollout);
        assert_eq!(rss[1].replicas, 5);
    }

    #[test]
    fn hpa_scale_up_mid_rollout_is_proportional() {
        // 10 replicas, 25 %/25 %: max 13. Mid-rollout old 8, new 5 (= 13).
        let d0 = DeploymentView {
            replicas: 10,
            strategy: Strategy::default(),
        };
        let mut old = steady(8, &d0);
        old.available = 8;
        let mut new = steady(5, &d0);
        new.available = 2;
        let mut rss = vec![old, new];
        // The HPA asks for 20: max 20 + 5 = 25, 12 to add.
        let d = DeploymentView {
            replicas: 20,
            strategy: Strategy::default(),
        };
        assert_eq!(sync(&d, &mut rss, 1), SyncKind::Scale);
        // Hand-computed: larger first (old 8): 8 * 25 / 13 = 15.38 -> 15, +7;
        // new 5 * 25 / 13 = 9.6 -> 10, +5 (min with 12 - 7 = 5). No leftover.
        assert_eq!((rss[0].replicas, rss[1].replicas), (15, 10));
        assert_eq!(rss[0].desired_annotation, Some(20));
        assert_eq!(rss[0].max_annotation, Some(25));
    }

    #[test]
    fn scale_down_mid_rollout_takes_leftovers_from_the_largest() {
        let d0 = DeploymentView {
            replicas: 10,
            strategy: Strategy::default(),
        };
        let mut rss = vec![steady(7, &d0), steady(6, &d0)];
        rss[1].available = 3;
        let d = DeploymentView {
            replicas: 5,
            strategy: Strategy::default(),
        };
        // max 5 + 2 = 7; 13 -> 7: remove 6. Old (7): 7 * 7 / 13 = 3.77 -> 4, -3.
        // New (6): 6 * 7 / 13 = 3.23 -> 3, -3. Added -6: no leftover.
        sync(&d, &mut rss, 1);
        assert_eq!((rss[0].replicas, rss[1].replicas), (4, 3));
    }

    proptest! {
        #[test]
        fn a_rolling_update_stays_within_its_fenceposts(
            replicas in 1i32..40,
            surge in 0i32..60,
            unavailable in 0i32..60,
            percent in any::<bool>(),
            ready in 1i32..5,
        ) {
            let (s, u) = if percent {
                (IntOrPercent::Percent(surge), IntOrPercent::Percent(unavailable))
            } else {
                (IntOrPercent::Int(surge % 5), IntOrPercent::Int(unavailable % 5))
            };
            let strategy = Strategy::RollingUpdate { max_surge: s, max_unavailable: u };
            prop_assume!(strategy.validate().is_ok());
            let d = DeploymentView { replicas, strategy };
            let (max_surge, _) = strategy.fenceposts(replicas);
            let t = play(&d, replicas, ready);
            prop_assert_eq!(t.last().copied(), Some((0, replicas)));
            for (o, n) in t {
                prop_assert!(o + n <= replicas + max_surge, "{o} + {n}");
            }
        }
    }
}
